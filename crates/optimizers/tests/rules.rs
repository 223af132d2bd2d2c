//! Each update rule's first steps equal values computed by hand.
//!
//! One parameter starting at 1.0, learning rate 0.1, gradients 0.5 then −1.0.

use descent_optim::rules::{Adagrad, Adam, Hyperparameters, Momentum, Rmsprop, Sgd, UpdateRule};

fn two_steps(rule: &mut dyn UpdateRule<f64>) -> [f64; 2] {
    let mut p = [1.0];
    rule.update(&mut p, &[0.5], 0.1);
    let first = p[0];
    rule.update(&mut p, &[-1.0], 0.1);
    [first, p[0]]
}

fn close(got: [f64; 2], want: [f64; 2]) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "got {got:?}, want {want:?}");
    }
}

const H: Hyperparameters = Hyperparameters {
    momentum: 0.9,
    beta1: 0.9,
    beta2: 0.999,
    rho: 0.99,
    epsilon: None,
    weight_decay: 0.0,
};

#[test]
fn sgd() {
    // 1 − 0.1·0.5 = 0.95; 0.95 + 0.1·1 = 1.05
    close(two_steps(&mut Sgd::new(1, &H)), [0.95, 1.05]);
}

#[test]
fn sgd_with_weight_decay() {
    // g₁ = 0.5 + 0.1·1 = 0.6 → 0.94; g₂ = −1 + 0.1·0.94 = −0.906 → 0.94 + 0.0906
    let h = Hyperparameters {
        weight_decay: 0.1,
        ..H
    };
    close(two_steps(&mut Sgd::new(1, &h)), [0.94, 1.0306]);
}

#[test]
fn momentum() {
    // v₁ = 0.5 → 0.95; v₂ = 0.45 − 1 = −0.55 → 0.95 + 0.055
    close(two_steps(&mut Momentum::new(1, &H)), [0.95, 1.005]);
}

#[test]
fn nesterov() {
    // v₁ = 0.5, step g + μv = 0.95 → 0.905; v₂ = −0.55, step −1 − 0.495 = −1.495 → 1.0545
    close(two_steps(&mut Momentum::nesterov(1, &H)), [0.905, 1.0545]);
}

#[test]
fn adam_with_bias_correction() {
    // t=1: m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25 → 1 − 0.1·0.5/(0.5 + 1e-8)
    // t=2: m = 0.045 − 0.1 = −0.055, v = 0.00024975 + 0.001 = 0.00124975,
    //      m̂ = −0.055/0.19, v̂ = 0.00124975/0.001999 → p − 0.1·m̂/(√v̂ + 1e-8)
    let first = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8);
    let second = first - 0.1 * (-0.055 / 0.19) / ((0.00124975_f64 / 0.001999).sqrt() + 1e-8);
    close(two_steps(&mut Adam::new(1, &H)), [first, second]);
    assert!((second - 0.9366103542405654).abs() < 1e-12);
}

#[test]
fn rmsprop() {
    // s₁ = 0.01·0.25 = 0.0025 → 1 − 0.1·0.5/(0.05 + 1e-8) ≈ 0
    // s₂ = 0.99·0.0025 + 0.01 = 0.012475 → p + 0.1/(√0.012475 + 1e-8)
    let first = 1.0 - 0.05 / (0.05 + 1e-8);
    let second = first + 0.1 / (0.012475_f64.sqrt() + 1e-8);
    close(two_steps(&mut Rmsprop::new(1, &H)), [first, second]);
}

#[test]
fn adagrad() {
    // s₁ = 0.25 → 1 − 0.1·0.5/(0.5 + 1e-10); s₂ = 1.25 → p + 0.1/(√1.25 + 1e-10)
    let first = 1.0 - 0.05 / (0.5 + 1e-10);
    let second = first + 0.1 / (1.25_f64.sqrt() + 1e-10);
    close(two_steps(&mut Adagrad::new(1, &H)), [first, second]);
}
