//! Learning-rate schedules: the learning rate of each epoch.
//!
//! A schedule gives a factor that multiplies the configured learning rate; it changes
//! between epochs, never within one.

use std::f64::consts::PI;
use std::fmt::Debug;

/// A learning-rate schedule.
pub trait Schedule: Send + Sync + Debug {
    /// The factor for `epoch` (counted from 0) of a run of at most `epochs` epochs.
    fn factor(&self, epoch: usize, epochs: usize) -> f64;
}

/// The parameters the built-in schedules read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleParameters {
    /// `step`: epochs between decays. Default 10.
    pub step_size: usize,
    /// `step` and `exponential`: the decay factor; `None` takes 0.5 for step and 0.95 for
    /// exponential.
    pub gamma: Option<f64>,
    /// `inverse_time`: the decay rate `k` in `1 / (1 + k·epoch)`. Default 0.1.
    pub decay: f64,
    /// `cosine`: the fraction of the learning rate reached at the last epoch. Default 0.
    pub final_fraction: f64,
}

impl Default for ScheduleParameters {
    fn default() -> Self {
        Self {
            step_size: 10,
            gamma: None,
            decay: 0.1,
            final_fraction: 0.0,
        }
    }
}

/// The learning rate as configured, every epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Constant;

impl Schedule for Constant {
    fn factor(&self, _epoch: usize, _epochs: usize) -> f64 {
        1.0
    }
}

/// `γ^⌊epoch / step_size⌋`: drops by `γ` every `step_size` epochs.
#[derive(Debug, Clone, Copy)]
pub struct StepDecay {
    step_size: usize,
    gamma: f64,
}

impl StepDecay {
    /// From the parameters (`step_size` of 0 is read as 1).
    pub fn new(p: &ScheduleParameters) -> Self {
        Self {
            step_size: p.step_size.max(1),
            gamma: p.gamma.unwrap_or(0.5),
        }
    }
}

impl Schedule for StepDecay {
    fn factor(&self, epoch: usize, _epochs: usize) -> f64 {
        self.gamma
            .powi(i32::try_from(epoch / self.step_size).unwrap_or(i32::MAX))
    }
}

/// `γ^epoch`.
#[derive(Debug, Clone, Copy)]
pub struct Exponential {
    gamma: f64,
}

impl Exponential {
    /// From the parameters.
    pub fn new(p: &ScheduleParameters) -> Self {
        Self {
            gamma: p.gamma.unwrap_or(0.95),
        }
    }
}

impl Schedule for Exponential {
    fn factor(&self, epoch: usize, _epochs: usize) -> f64 {
        self.gamma.powi(i32::try_from(epoch).unwrap_or(i32::MAX))
    }
}

/// `1 / (1 + k·epoch)`.
#[derive(Debug, Clone, Copy)]
pub struct InverseTime {
    decay: f64,
}

impl InverseTime {
    /// From the parameters.
    pub fn new(p: &ScheduleParameters) -> Self {
        Self { decay: p.decay }
    }
}

impl Schedule for InverseTime {
    fn factor(&self, epoch: usize, _epochs: usize) -> f64 {
        1.0 / (1.0 + self.decay * epoch as f64)
    }
}

/// Cosine annealing from 1 at the first epoch to `final_fraction` at the last.
#[derive(Debug, Clone, Copy)]
pub struct Cosine {
    final_fraction: f64,
}

impl Cosine {
    /// From the parameters.
    pub fn new(p: &ScheduleParameters) -> Self {
        Self {
            final_fraction: p.final_fraction,
        }
    }
}

impl Schedule for Cosine {
    fn factor(&self, epoch: usize, epochs: usize) -> f64 {
        let progress = if epochs > 1 {
            epoch as f64 / (epochs - 1) as f64
        } else {
            0.0
        };
        self.final_fraction
            + (1.0 - self.final_fraction) * 0.5 * (1.0 + (PI * progress.min(1.0)).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_by_hand() {
        let p = ScheduleParameters {
            step_size: 3,
            gamma: Some(0.1),
            decay: 0.5,
            final_fraction: 0.1,
        };
        let step = StepDecay::new(&p);
        assert_eq!(
            [0, 2, 3, 6].map(|e| step.factor(e, 10)),
            [1.0, 1.0, 0.1, 0.1f64.powi(2)]
        );
        assert!((Exponential::new(&p).factor(2, 10) - 0.01).abs() < 1e-15);
        assert_eq!(InverseTime::new(&p).factor(4, 10), 1.0 / 3.0);
        let cos = Cosine::new(&p);
        assert_eq!(cos.factor(0, 11), 1.0);
        assert!((cos.factor(5, 11) - 0.55).abs() < 1e-12);
        assert!((cos.factor(10, 11) - 0.1).abs() < 1e-12);
        assert_eq!(Constant.factor(99, 100), 1.0);
        assert_eq!(
            Exponential::new(&ScheduleParameters::default()).factor(1, 5),
            0.95
        );
    }
}
