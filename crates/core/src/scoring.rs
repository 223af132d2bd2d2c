//! Scoring whole datasets ([`Network::evaluate`](crate::Network::evaluate)): the datasets
//! cut into pieces of [`PIECE`] samples, each piece's built-in sums kept apart and added in
//! piece order, whichever thread scored it. A second thread, when one is idle, takes pieces
//! as soon as it wakes (a thread idle through a training epoch wakes 15–45 µs after it is
//! asked, on this project's 2-core machine), so an evaluation too short to wait for it
//! still shares what is left; and the figures never depend on the thread count.

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use faer::Par;

use crate::data::{Batch, Dataset, Task};
use crate::float::Float;
use crate::layer::Dense;
use crate::loss::Loss;
use crate::metrics::{MetricSums, Written, predict_classes};
use crate::network::forward_through;

/// Samples of a dataset scored at once: one piece of an evaluation.
pub(crate) const PIECE: usize = 256;

/// The pieces of a dataset of `samples` samples: their first samples and lengths.
pub(crate) fn pieces(samples: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..samples)
        .step_by(PIECE)
        .map(move |start| (start, PIECE.min(samples - start)))
}

/// The predictions of a dataset being scored that its extra metrics read: the predicted
/// classes, and the output layer's scores and outputs laid out as the targets, allocated
/// whole and filled piece by piece. The buffers keep the largest size seen, so that
/// evaluating the same splits again allocates none of them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Kept {
    pub(crate) classes: Vec<u32>,
    pub(crate) scores: Vec<f64>,
    pub(crate) outputs: Vec<f64>,
    /// Whether an extra metric applies to the dataset.
    pub(crate) applies: bool,
    /// Samples whose classes are in use: all of them when an extra metric applies to
    /// classification data, otherwise none.
    pub(crate) samples: usize,
    /// Values of the scores and outputs in use: all of them when a metric that applies
    /// reads them, otherwise none.
    pub(crate) len: usize,
}

impl Kept {
    /// One [`Part`] per piece of a dataset of `task` and `samples` samples, each with its
    /// share of the predictions in use; `by_class` when its scores are scored laid out
    /// class by class.
    pub(crate) fn parts(&mut self, task: Task, samples: usize, by_class: bool) -> Vec<Part<'_>> {
        let mut classes = &mut self.classes[..self.samples];
        let mut scores = &mut self.scores[..self.len];
        let mut outputs = &mut self.outputs[..self.len];
        pieces(samples)
            .map(|(_, len)| {
                let values = len * task.outputs();
                Part {
                    task,
                    sums: MetricSums::new(task),
                    classes: front(&mut classes, len),
                    scores: front(&mut scores, values),
                    outputs: front(&mut outputs, values),
                    by_class,
                }
            })
            .collect()
    }
}

/// Room for a piece's scores laid out class by class and for their softmax: one per
/// thread scoring.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch<T> {
    by_class: Vec<T>,
    softmax: Vec<T>,
}

impl<T: Float> Scratch<T> {
    /// Makes room for `values` scores and, when `softmax`, their softmax.
    pub(crate) fn reserve(&mut self, values: usize, softmax: bool) {
        let wanted = [values, if softmax { values } else { 0 }];
        for (buffer, wanted) in [&mut self.by_class, &mut self.softmax]
            .into_iter()
            .zip(wanted)
        {
            if buffer.len() < wanted {
                buffer.resize(wanted, T::zero());
            }
        }
    }
}

/// What every piece is scored with: the network's loss and parameters, and the threads the
/// products may use.
#[derive(Clone, Copy)]
pub(crate) struct ScoreWith<'a, T> {
    pub(crate) loss: &'a dyn Loss<T>,
    pub(crate) params: &'a [T],
    pub(crate) par: Par,
}

/// One piece of a dataset being scored: its built-in sums, and its share of the [`Kept`]
/// predictions (each empty when not kept).
#[derive(Debug)]
pub(crate) struct Part<'k> {
    task: Task,
    sums: MetricSums,
    classes: &'k mut [u32],
    scores: &'k mut [f64],
    outputs: &'k mut [f64],
    /// Whether the scores are scored laid out class by class
    /// ([`MetricSums::add_by_class`]): when the data has several classes and the loss is
    /// their log loss, which is then scored from those scores alone.
    by_class: bool,
}

impl Part<'_> {
    /// The sums of `parts`, the pieces of a dataset of `task`, added in piece order.
    pub(crate) fn merged(task: Task, parts: impl IntoIterator<Item = Self>) -> MetricSums {
        let mut sums = MetricSums::new(task);
        for part in parts {
            sums.merge(&part.sums);
        }
        sums
    }

    /// Scores `batch`, this piece's samples, through `last` (the output layer) over its
    /// input `x` (the batch's outputs of the layer below), running the output layer's
    /// forward pass when its scores are not scored laid out class by class.
    pub(crate) fn score<T: Float>(
        &mut self,
        with: ScoreWith<'_, T>,
        last: &mut Dense<T>,
        x: &[T],
        batch: &Batch<'_, T>,
        scratch: &mut Scratch<T>,
    ) {
        let len = batch.len;
        if !self.by_class {
            last.forward_settled(with.params, x, len, with.par);
        }
        let last = &*last;
        let forwarded = (last.pre_activation(len), last.output(len));
        self.score_forwarded(with, last, x, batch, forwarded, scratch);
    }

    /// [`score`](Self::score) from the output layer's scores and outputs over the batch,
    /// `forwarded` by a forward pass already run (the noise pass's, or a training step's
    /// run ahead of it), which are read unless the scores are scored laid out class by
    /// class: then the product is computed again in `scratch` from `x`, so that every pass
    /// scores the same bits.
    pub(crate) fn score_forwarded<T: Float>(
        &mut self,
        with: ScoreWith<'_, T>,
        last: &Dense<T>,
        x: &[T],
        batch: &Batch<'_, T>,
        (z, a): (&[T], &[T]),
        scratch: &mut Scratch<T>,
    ) {
        let (len, loss) = (batch.len, with.loss);
        if !self.by_class {
            let activation = last.activation();
            let total = (!loss.is_log_loss(activation))
                .then(|| loss.total(activation, z, a, batch.y, last.units()));
            self.sums.add(batch, z, a, total);
            self.sums.add_mistakes(loss.mistakes(z, batch.y));
            predict_classes(self.task, z, self.classes);
            keep(
                [(&mut *self.scores, z), (&mut *self.outputs, a)],
                len,
                false,
            );
        } else {
            let n = last.units() * len;
            let zt = &mut scratch.by_class[..n];
            last.score_by_class(with.params, x, len, zt, with.par);
            // The loss is the log loss, which counts no mistakes; the softmax is computed
            // only to be kept.
            let softmax = if self.outputs.is_empty() {
                &mut [][..]
            } else {
                &mut scratch.softmax[..n]
            };
            let written = Written {
                classes: self.classes,
                softmax,
            };
            self.sums.add_by_class(batch, zt, None, written);
            let softmax = if self.outputs.is_empty() {
                &[][..]
            } else {
                &scratch.softmax[..n]
            };
            let zt = &scratch.by_class[..n];
            keep(
                [(&mut *self.scores, zt), (&mut *self.outputs, softmax)],
                len,
                true,
            );
        }
    }
}

/// The first `len` values of what is left of kept predictions, taken off it; empty when
/// they are not kept.
fn front<'k, V>(kept: &mut &'k mut [V], len: usize) -> &'k mut [V] {
    if kept.is_empty() {
        return &mut [];
    }
    let (these, rest) = std::mem::take(kept).split_at_mut(len);
    *kept = rest;
    these
}

/// Copies the scores and outputs of the `samples` samples just scored, each laid out as
/// their targets or (`by_class`) class by class, into the kept predictions they go to
/// (laid out as the targets; empty when not kept).
fn keep<T: Float>(into: [(&mut [f64], &[T]); 2], samples: usize, by_class: bool) {
    for (kept, values) in into {
        if kept.is_empty() {
            continue;
        }
        if by_class {
            let outputs = values.len() / samples;
            for (k, class) in values.chunks_exact(samples).enumerate() {
                for (v, &c) in kept[k..].iter_mut().step_by(outputs).zip(class) {
                    *v = c.f64();
                }
            }
        } else {
            for (v, &c) in kept.iter_mut().zip(values) {
                *v = c.f64();
            }
        }
    }
}

/// A piece of an evaluation: which dataset, which samples, and the part it is scored into
/// by whichever thread takes it.
pub(crate) struct Piece<'d, 'k, T> {
    data: &'d Dataset<T>,
    samples: Range<usize>,
    part: Mutex<Part<'k>>,
}

impl<'d, 'k, T: Float> Piece<'d, 'k, T> {
    /// The pieces of `datasets`, dataset by dataset, each with its share of the dataset's
    /// `kept` predictions and scored `by_class` as its dataset is.
    pub(crate) fn cut(
        datasets: &[&'d Dataset<T>],
        kept: &'k mut [Kept],
        by_class: &[bool],
    ) -> Vec<Self> {
        let parts = (kept.iter_mut().zip(datasets).zip(by_class))
            .map(|((kept, data), &by_class)| kept.parts(data.task(), data.len(), by_class));
        (datasets.iter().zip(parts))
            .flat_map(|(&data, parts)| {
                pieces(data.len())
                    .zip(parts)
                    .map(move |((start, len), part)| Piece {
                        data,
                        samples: start..start + len,
                        part: Mutex::new(part),
                    })
            })
            .collect()
    }

    /// The built-in sums of each of `datasets`, from `pieces` (as [`Piece::cut`] cut them)
    /// added in order.
    pub(crate) fn sums(datasets: &[&Dataset<T>], pieces: Vec<Self>) -> Vec<MetricSums> {
        let mut pieces = pieces.into_iter();
        datasets
            .iter()
            .map(|data| {
                let parts = pieces.by_ref().take(data.len().div_ceil(PIECE));
                let parts = parts.map(|p| p.part.into_inner().unwrap_or_else(|e| e.into_inner()));
                Part::merged(data.task(), parts)
            })
            .collect()
    }
}

/// Scores pieces through layers of its own: the network's, or its twin's for a second
/// thread.
pub(crate) struct Scorer<'a, T: Float> {
    pub(crate) layers: &'a mut [Dense<T>],
    pub(crate) scratch: &'a mut Scratch<T>,
    pub(crate) with: ScoreWith<'a, T>,
}

impl<T: Float> Scorer<'_, T> {
    /// Scores the pieces not yet taken, taking the next one through `next` each time, until
    /// none is left.
    pub(crate) fn take_from(&mut self, pieces: &[Piece<'_, '_, T>], next: &AtomicUsize) {
        while let Some(piece) = pieces.get(next.fetch_add(1, Ordering::Relaxed)) {
            let mut part = piece.part.lock().unwrap_or_else(|e| e.into_inner());
            self.score(piece.data, piece.samples.clone(), &mut part);
        }
    }

    /// Scores `samples` of `data` into `part`.
    fn score(&mut self, data: &Dataset<T>, samples: Range<usize>, part: &mut Part<'_>) {
        let ScoreWith { params, par, .. } = self.with;
        let len = samples.len();
        let batch = data.batch(samples.start, len);
        let (last, below) = self.layers.split_last_mut().expect("a network has layers");
        forward_through(below, params, batch.x, len, par);
        let x = below.last().map_or(batch.x, |l| l.output(len));
        part.score(self.with, last, x, &batch, self.scratch);
    }
}
