//! Checkpoints: a run's [`TrainState`] saved to `<out>/checkpoints/<run_id>.safetensors`
//! every `training.checkpoint_every` epochs (and when the run is interrupted), so that a run
//! killed midway continues from its last checkpoint with the numbers an uninterrupted run
//! would have had. The file is written to a temporary name and renamed, so a kill while
//! saving leaves the previous checkpoint (it is not flushed to disk: see [`save`]); it is
//! removed once the run is journaled as done.
//!
//! The format is safetensors: the parameters (`params`) and the optimizer's buffers
//! (`rule.<name>`) in the run's precision; the shuffle order (`order`, U64); the records so
//! far (`records`, U64, one row per epoch: [`RECORD_COLUMNS`] words, then two per extra
//! metric and part — a presence flag and the f64 bits — floats as their bits), the
//! records' gradient noise scales when measured (`noise_scale`, U64: f64 bits, NaN for
//! none) and their evaluation seconds (`evaluation_seconds`, likewise), and
//! string metadata: `format`, `run_id`, `precision`, the optimizer's buffer names and
//! counters, the samples seen, the convergence tracker (`best` as the hex bits of an f64, empty before a trained epoch,
//! `stalled`) and the shuffle stream's position.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use descent_core::Float;
use descent_core::metrics::Metrics;
use descent_optim::batching::ShuffleState;
use descent_optim::rules::RuleState;
use descent_optim::trainer::{EpochRecord, TrainState};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::CHECKPOINTS;

/// The format's name and version, in the metadata.
const FORMAT: &str = "descent-train-state/1";

/// Words of one part (train, validation, test) of a record row: a presence mask (bit 0 the
/// part, bits 1–4 accuracy, log loss, mse, r2, bit 5 the perceptron's mistakes), then the
/// loss, accuracy, log loss, mse and r2 as f64 bits and the mistakes.
const PART_WORDS: usize = 7;

/// Columns of a record row before the extra metrics: epoch, updates, seconds, then the
/// three parts (see `PART_WORDS`).
pub const RECORD_COLUMNS: usize = 3 + 3 * PART_WORDS;

/// A number of each record kept beside the record rows, read and written through these
/// functions.
type RecordFloat = (
    &'static str,
    fn(&EpochRecord) -> Option<f64>,
    fn(&mut EpochRecord, Option<f64>),
);

/// The numbers kept beside the record rows, one tensor each (`U64`: one f64's bits per
/// record, NaN for none), written when some record has one. Checkpoints from before a
/// number was kept lack its tensor, and read back as none (evaluation seconds: 0).
const RECORD_FLOATS: [RecordFloat; 2] = [
    ("noise_scale", |r| r.noise_scale, |r, v| r.noise_scale = v),
    (
        "evaluation_seconds",
        |r| Some(r.evaluation_seconds),
        |r, v| r.evaluation_seconds = v.unwrap_or(0.0),
    ),
];

/// What can go wrong with a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read, written or removed.
    #[error("cannot {action} the checkpoint {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The file is not a checkpoint of this run.
    #[error("the checkpoint {} cannot be used: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// A float a checkpoint stores exactly.
pub trait Stored: Float {
    /// Its safetensors type.
    const DTYPE: Dtype;
    /// Appends its little-endian bytes.
    fn put_le(self, out: &mut Vec<u8>);
    /// Reads it back from exactly its size in little-endian bytes.
    fn get_le(bytes: &[u8]) -> Self;
}

impl Stored for f32 {
    const DTYPE: Dtype = Dtype::F32;
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get_le(bytes: &[u8]) -> Self {
        let mut b = [0; 4];
        b.copy_from_slice(bytes);
        f32::from_le_bytes(b)
    }
}

impl Stored for f64 {
    const DTYPE: Dtype = Dtype::F64;
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get_le(bytes: &[u8]) -> Self {
        let mut b = [0; 8];
        b.copy_from_slice(bytes);
        f64::from_le_bytes(b)
    }
}

/// The checkpoint of run `run_id` in the output directory `dir`.
pub fn path(dir: &Path, run_id: &str) -> PathBuf {
    dir.join(CHECKPOINTS).join(format!("{run_id}.safetensors"))
}

/// Saves `state` of run `run_id` to `path`, atomically.
///
/// # Errors
/// When the directory or the file cannot be written.
pub fn save<T: Stored>(
    path: &Path,
    run_id: &str,
    state: &TrainState<T>,
) -> Result<(), CheckpointError> {
    let bytes = encode(run_id, state).map_err(|reason| CheckpointError::Invalid {
        path: path.to_path_buf(),
        reason,
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| CheckpointError::Io {
            action: "create the directory of",
            path: path.to_path_buf(),
            source,
        })?;
    }
    // Written and renamed, not flushed to disk: a checkpoint must survive its process being
    // killed, which the rename guarantees, not a machine crash, after which a garbled file is
    // refused by `load` and the run starts over. Skipping the flush keeps a checkpoint per
    // epoch cheap.
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(".tmp-{}", name.unwrap_or_default()));
    let io = |action| {
        move |source| CheckpointError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    std::fs::write(&temporary, &bytes).map_err(io("write"))?;
    std::fs::rename(&temporary, path).map_err(io("rename into place"))
}

/// The state saved at `path` for run `run_id`, or `None` when there is no checkpoint.
///
/// # Errors
/// When the file cannot be read, or is not a checkpoint of this run in this precision.
pub fn load<T: Stored>(
    path: &Path,
    run_id: &str,
) -> Result<Option<TrainState<T>>, CheckpointError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CheckpointError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    decode(&bytes, run_id)
        .map(Some)
        .map_err(|reason| CheckpointError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
}

/// Removes the checkpoint at `path`, if there is one.
///
/// # Errors
/// When it exists but cannot be removed.
pub fn remove(path: &Path) -> Result<(), CheckpointError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CheckpointError::Io {
            action: "remove",
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// The bytes of a safetensors file with its JSON header's keys in sorted order: the crate
/// writes the metadata from a `HashMap`, whose order changes from run to run, and the same
/// state saved twice should be the same bytes. The header keeps its length (the same keys
/// and values), so the tensors' offsets stand.
pub(crate) fn sorted_header(mut bytes: Vec<u8>) -> Vec<u8> {
    let len = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .and_then(|b| usize::try_from(u64::from_le_bytes(b)).ok());
    let Some(len) = len.filter(|&len| bytes.len() >= 8 + len) else {
        return bytes;
    };
    let Ok(header) = serde_json::from_slice::<serde_json::Value>(&bytes[8..8 + len]) else {
        return bytes;
    };
    let mut text = crate::config::run_id::sorted(header)
        .to_string()
        .into_bytes();
    if text.len() <= len {
        text.resize(len, b' ');
        bytes[8..8 + len].copy_from_slice(&text);
    }
    bytes
}

/// Values as their little-endian bytes, for a tensor.
pub(crate) fn floats<T: Stored>(values: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(std::mem::size_of_val(values));
    values.iter().for_each(|v| v.put_le(&mut out));
    out
}

fn words(values: impl IntoIterator<Item = u64>) -> Vec<u8> {
    values.into_iter().flat_map(u64::to_le_bytes).collect()
}

/// The parts of a record: train, validation, test.
fn parts(r: &EpochRecord) -> [Option<&Metrics>; 3] {
    [Some(&r.train), r.validation.as_ref(), r.test.as_ref()]
}

/// The most extra metrics any part of any record has: the width of the extra columns.
fn extra_count(records: &[EpochRecord]) -> usize {
    records
        .iter()
        .flat_map(parts)
        .flatten()
        .map(|m| m.extra.len())
        .max()
        .unwrap_or(0)
}

/// One record as a row of [`RECORD_COLUMNS`] words and `extras` pairs per part.
fn record_row(r: &EpochRecord, extras: usize) -> Vec<u64> {
    let mut row = vec![r.epoch as u64, r.updates, r.seconds.to_bits()];
    for part in parts(r) {
        let m = part.cloned().unwrap_or_default();
        let options = [m.accuracy, m.log_loss, m.mse, m.r2];
        let mask = options
            .iter()
            .enumerate()
            .fold(u64::from(part.is_some()), |mask, (i, o)| {
                mask | (u64::from(o.is_some()) << (i + 1))
            });
        let mask = mask | (u64::from(m.mistakes.is_some()) << (options.len() + 1));
        row.push(mask);
        row.push(m.loss.to_bits());
        row.extend(options.iter().map(|o| o.unwrap_or(0.0).to_bits()));
        row.push(m.mistakes.unwrap_or(0));
    }
    for part in parts(r) {
        let extra = part.map_or(&[][..], |m| &m.extra[..]);
        for i in 0..extras {
            let v = extra.get(i).copied().flatten();
            row.extend([u64::from(v.is_some()), v.unwrap_or(0.0).to_bits()]);
        }
    }
    row
}

/// A record back from its row, with `extras` extra metrics per part.
fn record_of(row: &[u64], extras: usize) -> Result<EpochRecord, String> {
    let part = |k: usize| {
        let block = &row[3 + PART_WORDS * k..3 + PART_WORDS * (k + 1)];
        let mask = block[0];
        let option = |i: usize| ((mask >> (i + 1)) & 1 == 1).then(|| f64::from_bits(block[2 + i]));
        let pairs = &row[RECORD_COLUMNS + 2 * extras * k..RECORD_COLUMNS + 2 * extras * (k + 1)];
        let extra: Vec<Option<f64>> = pairs
            .chunks_exact(2)
            .map(|p| (p[0] == 1).then(|| f64::from_bits(p[1])))
            .collect();
        (mask & 1 == 1).then(|| Metrics {
            loss: f64::from_bits(block[1]),
            accuracy: option(0),
            log_loss: option(1),
            mse: option(2),
            r2: option(3),
            mistakes: ((mask >> 5) & 1 == 1).then_some(block[6]),
            extra: if extra.iter().all(Option::is_none) {
                Vec::new()
            } else {
                extra
            },
        })
    };
    Ok(EpochRecord {
        epoch: usize::try_from(row[0]).map_err(|_| "an epoch out of range".to_owned())?,
        updates: row[1],
        seconds: f64::from_bits(row[2]),
        evaluation_seconds: 0.0,
        train: part(0).ok_or("a record without training metrics")?,
        validation: part(1),
        test: part(2),
        noise_scale: None,
    })
}

fn encode<T: Stored>(run_id: &str, state: &TrainState<T>) -> Result<Vec<u8>, String> {
    let n = state.params.len();
    let extras = extra_count(&state.records);
    let mut data: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> =
        vec![("params".into(), T::DTYPE, vec![n], floats(&state.params))];
    for (name, buffer) in &state.rule.buffers {
        data.push((
            format!("rule.{name}"),
            T::DTYPE,
            vec![buffer.len()],
            floats(buffer),
        ));
    }
    data.push((
        "order".into(),
        Dtype::U64,
        vec![state.shuffle.order.len()],
        words(state.shuffle.order.iter().map(|&i| i as u64)),
    ));
    data.push((
        "records".into(),
        Dtype::U64,
        vec![state.records.len(), RECORD_COLUMNS + 6 * extras],
        words(state.records.iter().flat_map(|r| record_row(r, extras))),
    ));
    for (name, value, _) in RECORD_FLOATS {
        if state.records.iter().any(|r| value(r).is_some()) {
            data.push((
                name.into(),
                Dtype::U64,
                vec![state.records.len()],
                words(
                    state
                        .records
                        .iter()
                        .map(|r| value(r).unwrap_or(f64::NAN).to_bits()),
                ),
            ));
        }
    }
    let mut metadata = HashMap::from([
        ("format".to_owned(), FORMAT.to_owned()),
        ("run_id".to_owned(), run_id.to_owned()),
        ("precision".to_owned(), T::NAME.to_owned()),
        ("samples".to_owned(), state.samples.to_string()),
        (
            "best".to_owned(),
            state
                .best
                .map_or_else(String::new, |b| format!("{:016x}", b.to_bits())),
        ),
        ("stalled".to_owned(), state.stalled.to_string()),
        (
            "shuffle.position".to_owned(),
            state.shuffle.position.to_string(),
        ),
        (
            "rule.buffers".to_owned(),
            state
                .rule
                .buffers
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ]);
    for (name, value) in &state.rule.counters {
        metadata.insert(format!("rule.counter.{name}"), value.to_string());
    }
    let views = data
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, Some(metadata))
        .map(sorted_header)
        .map_err(|e| e.to_string())
}

fn decode<T: Stored>(bytes: &[u8], run_id: &str) -> Result<TrainState<T>, String> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let empty = HashMap::new();
    let meta = header.metadata().as_ref().unwrap_or(&empty);
    let text = |key: &str| {
        meta.get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("no `{key}` in its metadata"))
    };
    let number = |key: &str| -> Result<u128, String> {
        text(key)?
            .parse()
            .map_err(|_| format!("`{key}` is not a number"))
    };
    if text("format")? != FORMAT {
        return Err(format!("its format is not {FORMAT}"));
    }
    if text("run_id")? != run_id {
        return Err(format!("it belongs to run {}", text("run_id")?));
    }
    if text("precision")? != T::NAME {
        return Err(format!("it was saved in {}", text("precision")?));
    }
    let tensor = |name: &str, dtype: Dtype| {
        let view = tensors
            .tensor(name)
            .map_err(|_| format!("no tensor `{name}`"))?;
        if view.dtype() != dtype {
            return Err(format!("tensor `{name}` is not {dtype:?}"));
        }
        Ok(view)
    };
    let floats = |name: &str| -> Result<Vec<T>, String> {
        let size = std::mem::size_of::<T>();
        Ok(tensor(name, T::DTYPE)?
            .data()
            .chunks_exact(size)
            .map(T::get_le)
            .collect())
    };
    let words = |name: &str| -> Result<Vec<u64>, String> {
        Ok(tensor(name, Dtype::U64)?
            .data()
            .chunks_exact(8)
            .map(|b| {
                let mut w = [0; 8];
                w.copy_from_slice(b);
                u64::from_le_bytes(w)
            })
            .collect())
    };
    let mut rule = RuleState::default();
    for name in text("rule.buffers")?.split(',').filter(|n| !n.is_empty()) {
        rule.buffers
            .push((name.to_owned(), floats(&format!("rule.{name}"))?));
    }
    for (key, value) in meta {
        if let Some(name) = key.strip_prefix("rule.counter.") {
            let value = value
                .parse()
                .map_err(|_| format!("`{key}` is not a number"))?;
            rule.counters.push((name.to_owned(), value));
        }
    }
    rule.counters.sort();
    let columns = tensor("records", Dtype::U64)?
        .shape()
        .get(1)
        .copied()
        .filter(|&c| c >= RECORD_COLUMNS && (c - RECORD_COLUMNS).is_multiple_of(6))
        .ok_or("its records have the wrong number of columns")?;
    let extras = (columns - RECORD_COLUMNS) / 6;
    let mut records = words("records")?
        .chunks_exact(columns)
        .map(|row| record_of(row, extras))
        .collect::<Result<Vec<_>, _>>()?;
    for (name, _, set) in RECORD_FLOATS {
        if tensors.names().contains(&name) {
            let values = words(name)?;
            if values.len() != records.len() {
                return Err(format!("its `{name}` is not one value per record"));
            }
            for (record, bits) in records.iter_mut().zip(values) {
                set(record, Some(f64::from_bits(bits)).filter(|v| !v.is_nan()));
            }
        }
    }
    let order = words("order")?
        .into_iter()
        .map(|i| usize::try_from(i).map_err(|_| "a sample index out of range".to_owned()))
        .collect::<Result<Vec<_>, _>>()?;
    let best = match text("best")? {
        "" => None,
        bits => Some(f64::from_bits(
            u64::from_str_radix(bits, 16).map_err(|_| "`best` is not hex bits")?,
        )),
    };
    let out_of_range = |key: &str| format!("`{key}` is out of range");
    Ok(TrainState {
        params: floats("params")?,
        rule,
        shuffle: ShuffleState {
            order,
            position: number("shuffle.position")?,
        },
        samples: u64::try_from(number("samples")?).map_err(|_| out_of_range("samples"))?,
        best,
        stalled: usize::try_from(number("stalled")?).map_err(|_| out_of_range("stalled"))?,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> TrainState<f32> {
        let metrics = |loss| Metrics {
            loss,
            accuracy: Some(0.5),
            log_loss: None,
            mse: None,
            r2: Some(f64::NAN),
            mistakes: Some(3),
            extra: vec![None, Some(loss / 2.0)],
        };
        TrainState {
            params: vec![1.5, -0.0, f32::MIN_POSITIVE, 3.0e-39],
            rule: RuleState {
                buffers: vec![("m".into(), vec![0.1; 4]), ("v".into(), vec![0.2; 4])],
                counters: vec![("step".into(), 12)],
            },
            shuffle: ShuffleState {
                order: vec![2, 0, 1],
                position: u128::from(u64::MAX) + 7,
            },
            samples: 99,
            best: Some(0.1 + 0.2),
            stalled: 2,
            records: (0..3)
                .map(|epoch| EpochRecord {
                    epoch,
                    updates: epoch as u64 * 3,
                    seconds: epoch as f64 / 7.0,
                    evaluation_seconds: epoch as f64 / 11.0,
                    train: metrics(1.0 / (epoch as f64 + 1.0)),
                    validation: None,
                    test: (epoch > 0).then(|| metrics(f64::INFINITY)),
                    noise_scale: (epoch > 0).then(|| 40.0 / (epoch as f64 + 0.5)),
                })
                .collect(),
        }
    }

    /// Compares through the bits, so that NaN equals itself.
    fn bits(s: &TrainState<f32>) -> String {
        format!("{s:?}")
    }

    #[test]
    fn a_state_reads_back_bit_for_bit() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = path(dir.path(), "abc");
        assert!(
            load::<f32>(&file, "abc")
                .expect("no file is no state")
                .is_none()
        );
        save(&file, "abc", &state()).expect("saves");
        let back = load::<f32>(&file, "abc").expect("loads").expect("a state");
        assert_eq!(bits(&back), bits(&state()));
        assert_eq!(back.params[1].to_bits(), (-0.0f32).to_bits());
        remove(&file).expect("removes");
        assert!(!file.exists());
        remove(&file).expect("removing nothing is fine");
    }

    #[test]
    fn another_runs_or_precisions_checkpoint_is_refused() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = path(dir.path(), "abc");
        save(&file, "abc", &state()).expect("saves");
        let e = load::<f32>(&file, "xyz").expect_err("another run");
        assert!(e.to_string().contains("belongs to run abc"), "{e}");
        let e = load::<f64>(&file, "abc").expect_err("another precision");
        assert!(e.to_string().contains("saved in f32"), "{e}");
        std::fs::write(&file, b"not a checkpoint").expect("write");
        assert!(load::<f32>(&file, "abc").is_err());
    }
}
