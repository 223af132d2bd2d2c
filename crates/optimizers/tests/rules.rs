//! Each update rule's first steps equal values computed by hand.
//!
//! One parameter starting at 1.0, learning rate 0.1, gradients 0.5 then −1.0.

use descent_optim::rules::{
    Adagrad, Adam, HALVED_PASS, Hyperparameters, Momentum, Rmsprop, Sgd, UpdateRule,
};

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

/// The textbook form of each rule, one parameter at a time, to hold the vectorised passes
/// to: `(rule name, its state buffers' count, one step of one parameter)`.
mod reference {
    use descent_core::Float;

    /// One step of one parameter `p` with gradient `g`, state `s`, learning rate `lr`, at
    /// step `t` (from 1), weight decay `wd`.
    pub(super) type Step<T> = fn(p: &mut T, g: T, s: &mut [T; 2], lr: T, t: i32, wd: T);

    fn c<T: Float>(x: f64) -> T {
        T::of(x)
    }

    pub(super) fn sgd<T: Float>(p: &mut T, g: T, _: &mut [T; 2], lr: T, _: i32, wd: T) {
        let g = g + wd * *p;
        *p -= lr * g;
    }

    pub(super) fn momentum<T: Float>(p: &mut T, g: T, s: &mut [T; 2], lr: T, _: i32, wd: T) {
        let g = g + wd * *p;
        s[0] = c::<T>(0.9) * s[0] + g;
        *p -= lr * s[0];
    }

    pub(super) fn nesterov<T: Float>(p: &mut T, g: T, s: &mut [T; 2], lr: T, _: i32, wd: T) {
        let g = g + wd * *p;
        s[0] = c::<T>(0.9) * s[0] + g;
        *p -= lr * (g + c::<T>(0.9) * s[0]);
    }

    pub(super) fn rmsprop<T: Float>(p: &mut T, g: T, s: &mut [T; 2], lr: T, _: i32, wd: T) {
        let g = g + wd * *p;
        s[0] = c::<T>(0.99) * s[0] + (T::one() - c::<T>(0.99)) * g * g;
        *p -= lr * g / (s[0].sqrt() + c::<T>(1e-8));
    }

    pub(super) fn adagrad<T: Float>(p: &mut T, g: T, s: &mut [T; 2], lr: T, _: i32, wd: T) {
        let g = g + wd * *p;
        s[0] += g * g;
        *p -= lr * g / (s[0].sqrt() + c::<T>(1e-10));
    }

    /// Bias-corrected Adam with the corrections divided, as the paper writes them.
    pub(super) fn adam<T: Float>(p: &mut T, g: T, s: &mut [T; 2], lr: T, t: i32, wd: T) {
        let (b1, b2) = (c::<T>(0.9), c::<T>(0.999));
        let g = g + wd * *p;
        s[0] = b1 * s[0] + (T::one() - b1) * g;
        s[1] = b2 * s[1] + (T::one() - b2) * g * g;
        let m_hat = s[0] / (T::one() - b1.powi(t));
        let v_hat = s[1] / (T::one() - b2.powi(t));
        *p -= lr * m_hat / (v_hat.sqrt() + c::<T>(1e-8));
    }
}

/// Runs `steps` steps of `rule` and of its reference on `len` random parameters and
/// gradients (a length that leaves every vector width a remainder) and returns the largest
/// difference between the two, in units in the last place of the parameter or, for a
/// parameter smaller than the learning rate, of the learning rate.
fn against_reference<T: descent_core::Float>(
    rule: &mut dyn UpdateRule<T>,
    step: reference::Step<T>,
    weight_decay: f64,
) -> f64 {
    use rand::{RngExt, SeedableRng};
    let (len, steps, lr) = (1037, 5, T::of(0.01));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut ours: Vec<T> = (0..len)
        .map(|_| T::of(rng.random_range(-1.0..1.0)))
        .collect();
    let mut theirs = ours.clone();
    let mut state = vec![[T::zero(); 2]; len];
    let mut worst = 0.0_f64;
    for t in 1..=steps {
        let grads: Vec<T> = (0..len)
            .map(|_| T::of(rng.random_range(-2.0..2.0)))
            .collect();
        rule.update(&mut ours, &grads, lr);
        for ((p, &g), s) in theirs.iter_mut().zip(&grads).zip(&mut state) {
            step(p, g, s, lr, t, T::of(weight_decay));
        }
        for (a, b) in ours.iter().zip(&theirs) {
            // A step's rounding is relative to the step (about η), not to a parameter near 0.
            let ulp = b.f64().abs().max(lr.f64()) * T::epsilon().f64();
            worst = worst.max((a.f64() - b.f64()).abs() / ulp);
        }
    }
    worst
}

/// A constructor of an update rule for `len` parameters.
type Make<T> = fn(usize, &Hyperparameters) -> Box<dyn UpdateRule<T>>;

/// The built-in rules by name.
fn built_in<T: descent_core::Float>() -> [(&'static str, Make<T>); 6] {
    [
        ("sgd", |n, h| Box::new(Sgd::new(n, h))),
        ("momentum", |n, h| Box::new(Momentum::new(n, h))),
        ("nesterov", |n, h| Box::new(Momentum::nesterov(n, h))),
        ("rmsprop", |n, h| Box::new(Rmsprop::new(n, h))),
        ("adagrad", |n, h| Box::new(Adagrad::new(n, h))),
        ("adam", |n, h| Box::new(Adam::new(n, h))),
    ]
}

/// Every rule's vectorised pass takes the textbook steps on random data, in `f32` and
/// `f64`, with and without weight decay: bit for bit where the formula is computed in the
/// same order, and Adam (which multiplies by `1/(1 − βᵗ)` instead of dividing) within
/// 4 units in the last place (of the parameter, or of `η` where that is larger) after five
/// steps.
#[test]
fn every_rule_takes_the_textbook_steps_on_random_data() {
    fn check<T: descent_core::Float>() {
        // The textbook step of each of `built_in`'s rules, in its order, and the bound.
        let references: [(reference::Step<T>, f64); 6] = [
            (reference::sgd::<T>, 0.0),
            (reference::momentum::<T>, 0.0),
            (reference::nesterov::<T>, 0.0),
            (reference::rmsprop::<T>, 0.0),
            (reference::adagrad::<T>, 0.0),
            (reference::adam::<T>, 4.0),
        ];
        let rules = built_in::<T>().into_iter().zip(references);
        for ((name, make), (step, bound)) in rules {
            for weight_decay in [0.0, 0.1] {
                let h = Hyperparameters { weight_decay, ..H };
                let worst = against_reference(make(1037, &h).as_mut(), step, weight_decay);
                assert!(
                    worst <= bound,
                    "{name} in {} with weight decay {weight_decay}: {worst} ulp",
                    T::NAME
                );
            }
        }
    }
    check::<f32>();
    check::<f64>();
}

/// A pass long enough to be cut in halves (`HALVED_PASS`) gives the same bits whether its
/// halves run on one thread or side by side on two: every rule treats each parameter on its
/// own.
#[test]
fn halved_passes_give_the_same_bits_on_one_thread_and_two() {
    use rand::{RngExt, SeedableRng};
    let len = HALVED_PASS + 1037;
    let h = Hyperparameters {
        weight_decay: 0.1,
        ..H
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let start: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
    let grads: Vec<Vec<f32>> = (0..3)
        .map(|_| (0..len).map(|_| rng.random_range(-2.0..2.0)).collect())
        .collect();
    let steps = |make: Make<f32>, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool");
        let (mut rule, mut params) = (make(len, &h), start.clone());
        pool.install(|| {
            for g in &grads {
                rule.update(&mut params, g, 0.01);
            }
        });
        params
    };
    // With weight decay, SGD takes its own pass too (plain SGD is fused into the products).
    for (name, make) in built_in::<f32>() {
        let one = steps(make, 1);
        assert!(one != start, "{name} did not move");
        assert!(
            one == steps(make, 2),
            "{name}: two threads changed the steps"
        );
    }
}

/// A state that decays (the moments of a parameter whose gradient has become zero) ends at
/// zero instead of in subnormal numbers, on which the CPU is slow; the parameter takes the
/// textbook steps all the same, bit for bit.
#[test]
fn decaying_state_is_flushed_to_zero_and_steps_are_unchanged() {
    type Make = fn(usize, &Hyperparameters) -> Box<dyn UpdateRule<f32>>;
    let rules: [(&str, Make, reference::Step<f32>); 4] = [
        (
            "momentum",
            |n, h| Box::new(Momentum::new(n, h)),
            reference::momentum::<f32>,
        ),
        (
            "rmsprop",
            |n, h| Box::new(Rmsprop::new(n, h)),
            reference::rmsprop::<f32>,
        ),
        (
            "adagrad",
            |n, h| Box::new(Adagrad::new(n, h)),
            reference::adagrad::<f32>,
        ),
        (
            "adam",
            |n, h| Box::new(Adam::new(n, h)),
            reference::adam::<f32>,
        ),
    ];
    for (name, make, step) in rules {
        let mut rule = make(1, &H);
        let (mut ours, mut theirs, mut state) = ([0.5_f32], 0.5_f32, [0.0_f32; 2]);
        // A gradient of 1e-20 (whose square is subnormal), then zeros for long enough that
        // every decaying state would be subnormal.
        for t in 1..=2000 {
            let g = if t == 1 { 1e-20 } else { 0.0 };
            rule.update(&mut ours, &[g], 1e-3);
            step(&mut theirs, g, &mut state, 1e-3, t, 0.0);
            assert_eq!(ours[0].to_bits(), theirs.to_bits(), "{name} at step {t}");
        }
        let saved = rule.state().expect("a state");
        for (buffer, values) in &saved.buffers {
            assert!(
                values.iter().all(|v| *v == 0.0 || v.is_normal()),
                "{name}'s {buffer}: {values:?}"
            );
        }
    }
}

/// Every built-in rule is piecewise, and a step taken in pieces — out of order, of uneven
/// lengths, some shorter than a vector — has the bits of the whole step, state included, for
/// several steps in a row (so each step's counters advance once, in `begin`).
#[test]
fn a_step_in_pieces_is_the_whole_step() {
    use rand::{RngExt, SeedableRng};
    let len = 1037;
    let h = Hyperparameters {
        weight_decay: 0.1,
        ..H
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let start: Vec<f64> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
    // Pieces [a, b) in the order they are taken: the back first, as back-propagation does.
    let cuts = [0, 3, 64, 65, 500, 1000, len];
    let mut order: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    order.reverse();
    order.swap(1, 4);
    for (name, make) in built_in::<f64>() {
        let (mut whole, mut pieces) = (make(len, &h), make(len, &h));
        let (mut a, mut b) = (start.clone(), start.clone());
        for step in 0..3 {
            let grads: Vec<f64> = (0..len).map(|_| rng.random_range(-2.0..2.0)).collect();
            let lr = 0.01 * f64::from(step + 1);
            whole.update(&mut a, &grads, lr);
            let rule = pieces.piecewise().expect("a built-in rule is piecewise");
            rule.begin(lr);
            for &(lo, hi) in &order {
                rule.piece(&mut b[lo..hi], &grads[lo..hi], lo);
            }
            assert!(a == b, "{name}, step {step}: the pieces differ");
        }
        assert!(a != start, "{name} did not move");
        assert_eq!(whole.state(), pieces.state(), "{name}: the states differ");
    }
}
