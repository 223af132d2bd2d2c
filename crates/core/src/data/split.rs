//! Train / validation / test splits, stratified for classification.

use rand::seq::SliceRandom;

use super::{Dataset, Standardizer};
use crate::error::{CoreError, Result};
use crate::float::Float;
use crate::random::{Stream, rng};

/// A dataset cut into the part a model trains on and the parts it is judged on.
#[derive(Debug, Clone, PartialEq)]
pub struct Split<T> {
    /// The samples the model learns from.
    pub train: Dataset<T>,
    /// Samples for choosing hyperparameters, if any were held out.
    pub validation: Option<Dataset<T>>,
    /// Samples for the final judgement, if any were held out.
    pub test: Option<Dataset<T>>,
}

/// The sample indices of each part of a split: what [`Dataset::split`] cuts, available
/// before the features are built (a file's categories and fill values are learned from the
/// training rows only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    /// Training samples, in the order the training part holds them.
    pub train: Vec<usize>,
    /// Validation samples.
    pub validation: Vec<usize>,
    /// Test samples.
    pub test: Vec<usize>,
}

/// Cuts `len` samples into training, validation and test indices with `seed`, stratified
/// by `classes` (each sample's class, for classification; `None` for regression). Each
/// part is shuffled; with both fractions 0 nothing is held out and the training part is the
/// samples in order. See [`Dataset::split`].
///
/// # Errors
/// When a fraction is outside `[0, 1)`, they add up to 1 or more, or the training part
/// would be empty.
pub fn split_indices(
    len: usize,
    classes: Option<&[u32]>,
    test_fraction: f64,
    validation_fraction: f64,
    seed: u64,
) -> Result<SplitIndices> {
    for (name, f) in [
        ("test_fraction", test_fraction),
        ("validation_fraction", validation_fraction),
    ] {
        if !(0.0..1.0).contains(&f) {
            return Err(CoreError::InvalidParameter {
                name: name.into(),
                reason: format!("{f} is outside [0, 1)"),
            });
        }
    }
    if test_fraction + validation_fraction >= 1.0 {
        return Err(CoreError::InvalidParameter {
            name: "test_fraction + validation_fraction".into(),
            reason: format!(
                "{} leaves nothing to train on",
                test_fraction + validation_fraction
            ),
        });
    }
    if test_fraction == 0.0 && validation_fraction == 0.0 {
        return Ok(SplitIndices {
            train: (0..len).collect(),
            validation: Vec::new(),
            test: Vec::new(),
        });
    }
    let mut rng = rng(seed, Stream::Split);
    let strata: Vec<Vec<usize>> = match classes {
        Some(labels) => {
            let count = labels
                .iter()
                .map(|&l| l as usize + 1)
                .max()
                .unwrap_or(0)
                .max(2);
            let mut by_class = vec![Vec::new(); count];
            for (i, &l) in labels.iter().enumerate() {
                by_class[l as usize].push(i);
            }
            by_class
        }
        None => vec![(0..len).collect()],
    };
    let (mut train, mut validation, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for mut stratum in strata {
        stratum.shuffle(&mut rng);
        let n = stratum.len() as f64;
        let n_test = (n * test_fraction).round() as usize;
        let n_val = ((n * validation_fraction).round() as usize).min(stratum.len() - n_test);
        test.extend_from_slice(&stratum[..n_test]);
        validation.extend_from_slice(&stratum[n_test..n_test + n_val]);
        train.extend_from_slice(&stratum[n_test + n_val..]);
    }
    // Classes too small to give a part a sample each (rounded down to none) still give a
    // part that was asked for one sample: the last of the training samples.
    for (part, fraction) in [
        (&mut test, test_fraction),
        (&mut validation, validation_fraction),
    ] {
        if fraction > 0.0 && part.is_empty() && train.len() > 1 {
            part.extend(train.pop());
        }
    }
    if train.is_empty() {
        return Err(CoreError::Data(format!(
            "{len} samples leave none to train on after the split"
        )));
    }
    for part in [&mut train, &mut validation, &mut test] {
        part.shuffle(&mut rng);
    }
    Ok(SplitIndices {
        train,
        validation,
        test,
    })
}

impl<T: Float> Dataset<T> {
    /// Holds out `test_fraction` and `validation_fraction` of the samples, drawn with
    /// `seed`. Classification splits are stratified: each class is cut in the same
    /// proportions (rounded per class; a part asked for keeps at least one sample). Each part is shuffled, so data stored sorted by
    /// class (iris, wine) reaches the model mixed. With both fractions 0 nothing is held
    /// out and the training part is the data as given, in its order.
    ///
    /// # Errors
    /// As [`split_indices`].
    pub fn split(
        &self,
        test_fraction: f64,
        validation_fraction: f64,
        seed: u64,
    ) -> Result<Split<T>> {
        let classes = self.task().is_classification().then(|| self.labels());
        let parts = split_indices(
            self.len(),
            classes,
            test_fraction,
            validation_fraction,
            seed,
        )?;
        if test_fraction == 0.0 && validation_fraction == 0.0 {
            return Ok(Split {
                train: self.clone(),
                validation: None,
                test: None,
            });
        }
        let part = |idx: &[usize]| (!idx.is_empty()).then(|| self.subset(idx));
        Ok(Split {
            train: self.subset(&parts.train),
            validation: part(&parts.validation),
            test: part(&parts.test),
        })
    }
}

impl<T: Float> Split<T> {
    /// Z-scores every part's features with the training part's mean and standard deviation
    /// and returns the statistics used.
    pub fn standardize(&mut self) -> Standardizer {
        self.standardize_only(&vec![true; self.train.features()])
    }

    /// Z-scores the features where `numeric` is true (one-hot columns are left as they
    /// are), with the training part's statistics; returns the statistics used.
    pub fn standardize_only(&mut self, numeric: &[bool]) -> Standardizer {
        let s = Standardizer::fit(&self.train).only(numeric);
        for part in [
            Some(&mut self.train),
            self.validation.as_mut(),
            self.test.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            s.apply(part);
        }
        s
    }

    /// The held-out parts that exist, with their names (`validation`, `test`).
    pub fn held_out(&self) -> impl Iterator<Item = (&'static str, &Dataset<T>)> {
        [
            ("validation", self.validation.as_ref()),
            ("test", self.test.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, d)| d.map(|d| (n, d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(counts: &[usize]) -> Dataset<f64> {
        let labels: Vec<u32> = counts
            .iter()
            .enumerate()
            .flat_map(|(c, &n)| std::iter::repeat_n(c as u32, n))
            .collect();
        let x = (0..labels.len()).map(|i| i as f64).collect();
        Dataset::classification(1, x, labels, counts.len()).unwrap()
    }

    fn count(d: &Dataset<f64>, class: u32) -> usize {
        d.labels().iter().filter(|&&l| l == class).count()
    }

    #[test]
    fn classification_splits_are_stratified_and_partition_the_data() {
        let d = labelled(&[50, 30, 20]);
        let s = d.split(0.2, 0.1, 3).unwrap();
        let test = s.test.as_ref().unwrap();
        let val = s.validation.as_ref().unwrap();
        assert_eq!([count(test, 0), count(test, 1), count(test, 2)], [10, 6, 4]);
        assert_eq!([count(val, 0), count(val, 1), count(val, 2)], [5, 3, 2]);
        let mut all: Vec<f64> = [&s.train, test, val]
            .iter()
            .flat_map(|p| p.x().to_vec())
            .collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, (0..100).map(|i| i as f64).collect::<Vec<_>>());
        // each sample keeps its own label
        for p in [&s.train, test, val] {
            for (x, &l) in p.x().iter().zip(p.labels()) {
                assert_eq!(d.labels()[*x as usize], l);
            }
        }
    }

    #[test]
    fn a_part_asked_for_keeps_a_sample_when_every_class_rounds_to_none() {
        // Four classes of 2 or 3: 10 % of each rounds to 0, yet a test part was asked for.
        let d = labelled(&[3, 3, 2, 2]);
        let s = d.split(0.1, 0.1, 5).unwrap();
        let (test, val) = (s.test.as_ref().unwrap(), s.validation.as_ref().unwrap());
        assert_eq!((test.len(), val.len(), s.train.len()), (1, 1, 8));
        // Larger classes are cut as before.
        let d = labelled(&[50, 30, 20]);
        assert_eq!(d.split(0.2, 0.1, 3).unwrap().test.unwrap().len(), 20);
    }

    #[test]
    fn the_split_depends_on_its_seed_only() {
        let d = labelled(&[40, 40]);
        assert_eq!(
            d.split(0.25, 0.0, 1).unwrap(),
            d.split(0.25, 0.0, 1).unwrap()
        );
        assert_ne!(
            d.split(0.25, 0.0, 1).unwrap().train.x(),
            d.split(0.25, 0.0, 2).unwrap().train.x()
        );
        let train = d.split(0.25, 0.0, 1).unwrap().train;
        assert!(
            train.labels()[..10].contains(&1),
            "sorted input reaches training mixed"
        );
    }

    #[test]
    fn nothing_held_out_keeps_every_sample_in_order() {
        let d = labelled(&[5, 3, 2]);
        let s = d.split(0.0, 0.0, 7).unwrap();
        assert_eq!(s.train, d);
        assert!(s.validation.is_none() && s.test.is_none());
    }

    #[test]
    fn bad_fractions_are_refused() {
        let d = labelled(&[5, 5]);
        assert!(d.split(1.0, 0.0, 0).is_err());
        assert!(d.split(0.5, 0.5, 0).is_err());
        assert!(d.split(-0.1, 0.0, 0).is_err());
    }
}
