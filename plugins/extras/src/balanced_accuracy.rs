//! Balanced accuracy: the mean over classes of the fraction of each class found.

use descent_runner::plugin::{Metric, Predictions, Reads, Task};

/// The mean over the classes present in the targets of each class's recall (Brodersen et
/// al. 2010): plain accuracy when the classes are balanced, and not fooled by always
/// predicting the majority class when they are not (that scores `1 / classes`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BalancedAccuracy;

impl Metric for BalancedAccuracy {
    fn applies_to(&self, task: Task) -> bool {
        task.is_classification()
    }

    fn compute(&self, p: &Predictions<'_>) -> f64 {
        let mut found = vec![0usize; p.classes()];
        let mut total = vec![0usize; p.classes()];
        for (i, &label) in p.labels.iter().enumerate() {
            total[label as usize] += 1;
            found[label as usize] += usize::from(p.predicted_class(i) == label);
        }
        let recalls: Vec<f64> = found
            .iter()
            .zip(&total)
            .filter(|&(_, &n)| n > 0)
            .map(|(&f, &n)| f as f64 / n as f64)
            .collect();
        recalls.iter().sum::<f64>() / recalls.len().max(1) as f64
    }

    fn higher_is_better(&self) -> bool {
        true
    }

    fn reads(&self) -> Reads {
        Reads::Classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use descent_runner::plugin::predict_classes;

    /// Balanced accuracy of the classes `scores` predict, as evaluation keeps them for it.
    fn balanced(task: Task, scores: &[f64], labels: &[u32]) -> f64 {
        let mut predicted = vec![0; labels.len()];
        predict_classes(task, scores, &mut predicted);
        BalancedAccuracy.compute(&Predictions {
            task,
            predicted: &predicted,
            scores: &[],
            outputs: &[],
            targets: &[],
            labels,
            loss: 0.0,
        })
    }

    #[test]
    fn the_majority_class_alone_scores_one_over_the_classes() {
        // Nine of class 0, one of class 1, and every score says class 0: accuracy would
        // be 0.9, balanced accuracy is (1 + 0) / 2.
        let labels = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let scores = [-1.0; 10];
        assert_eq!(balanced(Task::Binary, &scores, &labels), 0.5);
    }

    #[test]
    fn recalls_of_three_classes_by_hand() {
        // Class 0: 2 of 2 found; class 1: 1 of 2; class 2: 0 of 1 (argmax of each row).
        let scores = [
            3.0, 0.0, 0.0, // 0 → 0
            1.0, 0.0, 0.0, // 0 → 0
            0.0, 2.0, 0.0, // 1 → 1
            5.0, 0.0, 0.0, // 1 → 0
            0.0, 1.0, 0.0, // 2 → 1
        ];
        let labels = [0, 0, 1, 1, 2];
        let p = balanced(Task::Multiclass { classes: 3 }, &scores, &labels);
        let expected = (1.0 + 0.5 + 0.0) / 3.0;
        assert!((p - expected).abs() < 1e-15);
        assert!(!BalancedAccuracy.applies_to(Task::Regression));
    }
}
