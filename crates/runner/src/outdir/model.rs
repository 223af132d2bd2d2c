//! Saved models: a run's final parameters in `<out>/models/<run_id>.safetensors`, with what
//! it takes to use them on new rows (`descent predict`).
//!
//! The tensors are each layer's weights `layers.<l>.weight`, shape `[inputs, units]`
//! (so that a row of inputs times the matrix gives the layer's scores: `z = x W + b`), and
//! biases `layers.<l>.bias`, shape `[units]`, in the run's precision. The metadata holds
//! `format`, `run_id`, `model` (JSON: input width, each layer's units and activation, the
//! loss, the task, how the run ended) and `preprocessing` (JSON: the input columns and
//! their encoding, the class names, the standardisation's means and standard deviations).
//! The file is written through a temporary name and renamed; a failed run writes none.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use descent_core::Network;
use descent_core::data::Task;
use safetensors::tensor::{SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use super::MODELS;
use super::atomic::write_atomically;
use super::checkpoint::{Stored, floats, sorted_header};
use super::journal::Status;
use crate::encoding::Preprocessing;

/// The format's name and version, in the metadata.
const FORMAT: &str = "descent-model/1";

/// What can go wrong with a model file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read or written.
    #[error("cannot {action} the model {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write the model {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: super::error::OutputError,
    },
    /// The file is not a descent model, or not one this precision can load.
    #[error("{} is not a descent model: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// One layer of a saved model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedLayer {
    /// Its neurons.
    pub units: usize,
    /// Its activation's registered name.
    pub activation: String,
}

/// A saved model's shape and meaning: enough to rebuild its network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The run it comes from.
    pub run_id: String,
    /// The number of inputs (features after encoding).
    pub inputs: usize,
    /// The layers, input side first.
    pub layers: Vec<SavedLayer>,
    /// The loss it trained with.
    pub loss: String,
    /// `regression`, `binary` or `multiclass`.
    pub task: String,
    /// `f32` or `f64`: the type of its tensors.
    pub precision: String,
    /// How its run ended, as `runs.csv` says (a diverged run's parameters give no numbers);
    /// absent from models saved before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

impl ModelInfo {
    /// The model of `net`, trained as run `run_id` for `task`, which ended with `status`.
    pub fn of<T: Stored>(net: &Network<T>, run_id: &str, task: Task, status: Status) -> Self {
        Self {
            run_id: run_id.to_owned(),
            inputs: net.inputs(),
            layers: net
                .layers()
                .iter()
                .map(|l| SavedLayer {
                    units: l.units(),
                    activation: l.activation().name().to_owned(),
                })
                .collect(),
            loss: net.loss().name().to_owned(),
            task: match task {
                Task::Regression => "regression",
                Task::Binary => "binary",
                Task::Multiclass { .. } => "multiclass",
            }
            .to_owned(),
            precision: T::NAME.to_owned(),
            status: Some(status),
        }
    }
}

/// A model as read back: what it is, how to prepare its inputs, and its parameters in the
/// layout of [`Network::params`].
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel<T> {
    /// Its shape and meaning.
    pub info: ModelInfo,
    /// How a row of a table becomes its input.
    pub preprocessing: Preprocessing,
    /// The parameters.
    pub params: Vec<T>,
}

/// The model file of run `run_id` in output directory `dir`.
pub fn path(dir: &Path, run_id: &str) -> PathBuf {
    dir.join(MODELS).join(format!("{run_id}.safetensors"))
}

/// Writes `net`'s parameters with `info` and `preprocessing` to `path`, atomically.
///
/// # Errors
/// When the file cannot be written.
pub fn save<T: Stored>(
    path: &Path,
    net: &Network<T>,
    info: &ModelInfo,
    preprocessing: &Preprocessing,
) -> Result<(), ModelError> {
    let invalid = |reason: String| ModelError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (l, layer) in net.layers().iter().enumerate() {
        let params = &net.params()[layer.offset()..layer.offset() + layer.param_len()];
        let (w, b) = params.split_at(layer.units() * layer.inputs());
        tensors.push((
            format!("layers.{l}.weight"),
            vec![layer.inputs(), layer.units()],
            floats(w),
        ));
        tensors.push((format!("layers.{l}.bias"), vec![layer.units()], floats(b)));
    }
    let views = tensors
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(T::DTYPE, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| invalid(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = HashMap::from([
        ("format".to_owned(), FORMAT.to_owned()),
        ("run_id".to_owned(), info.run_id.clone()),
        (
            "model".to_owned(),
            serde_json::to_string(info).map_err(|e| invalid(e.to_string()))?,
        ),
        (
            "preprocessing".to_owned(),
            serde_json::to_string(preprocessing).map_err(|e| invalid(e.to_string()))?,
        ),
    ]);
    let data = safetensors::serialize(views, Some(metadata))
        .map(sorted_header)
        .map_err(|e| invalid(e.to_string()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ModelError::Io {
            action: "create the directory of",
            path: path.to_owned(),
            source,
        })?;
    }
    write_atomically(path, &data).map_err(|source| ModelError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Reads the model at `path` in precision `T` (its [`ModelInfo::precision`]).
///
/// # Errors
/// When the file cannot be read, is not a descent model, or holds another precision.
pub fn load<T: Stored>(path: &Path) -> Result<SavedModel<T>, ModelError> {
    decode(path, &read(path)?)
}

/// The bytes of the model file at `path`, for [`read_metadata`] and [`decode`].
///
/// # Errors
/// When the file cannot be read.
pub fn read(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|source| ModelError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })
}

/// The model in `bytes` (read from `path`) in precision `T`.
///
/// # Errors
/// When the bytes are not a descent model, or hold another precision.
pub fn decode<T: Stored>(path: &Path, bytes: &[u8]) -> Result<SavedModel<T>, ModelError> {
    let invalid = |reason: String| ModelError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let (info, preprocessing) = read_metadata(path, bytes)?;
    if info.precision != T::NAME {
        return Err(invalid(format!("its tensors are {}", info.precision)));
    }
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| invalid(e.to_string()))?;
    let mut params = Vec::new();
    let mut inputs = info.inputs;
    for (l, layer) in info.layers.iter().enumerate() {
        for (name, shape) in [
            (format!("layers.{l}.weight"), vec![inputs, layer.units]),
            (format!("layers.{l}.bias"), vec![layer.units]),
        ] {
            let view = tensors
                .tensor(&name)
                .map_err(|_| invalid(format!("no tensor `{name}`")))?;
            if view.dtype() != T::DTYPE || view.shape() != shape.as_slice() {
                return Err(invalid(format!(
                    "tensor `{name}` is {:?} {:?}, expected {:?} {shape:?}",
                    view.dtype(),
                    view.shape(),
                    T::DTYPE
                )));
            }
            let size = std::mem::size_of::<T>();
            params.extend(view.data().chunks_exact(size).map(T::get_le));
        }
        inputs = layer.units;
    }
    Ok(SavedModel {
        info,
        preprocessing,
        params,
    })
}

/// The model's description and preprocessing, from its metadata.
///
/// # Errors
/// When the bytes are not a descent model.
pub fn read_metadata(path: &Path, bytes: &[u8]) -> Result<(ModelInfo, Preprocessing), ModelError> {
    let invalid = |reason: String| ModelError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| invalid(e.to_string()))?;
    let meta = header
        .metadata()
        .as_ref()
        .ok_or_else(|| invalid("no metadata".into()))?;
    let text = |key: &str| {
        meta.get(key)
            .ok_or_else(|| invalid(format!("no `{key}` in its metadata")))
    };
    if text("format")? != FORMAT {
        return Err(invalid(format!("its format is not {FORMAT}")));
    }
    let info = serde_json::from_str(text("model")?).map_err(|e| invalid(e.to_string()))?;
    let preprocessing =
        serde_json::from_str(text("preprocessing")?).map_err(|e| invalid(e.to_string()))?;
    Ok((info, preprocessing))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use descent_core::LayerSpec;
    use descent_core::activation::{Pointwise, Relu, Sigmoid};
    use descent_core::init::Init;
    use descent_core::loss::LogLoss;

    use super::*;
    use crate::encoding::{Encoding, InputColumn};

    fn net() -> Network<f32> {
        let layer = |units, activation| LayerSpec::new(units, activation, Init::Xavier);
        Network::new(
            3,
            vec![
                layer(4, Arc::new(Pointwise(Relu))),
                layer(1, Arc::new(Pointwise(Sigmoid))),
            ],
            Arc::new(LogLoss),
            7,
        )
        .expect("a network")
    }

    #[test]
    fn a_model_reads_back_bit_for_bit_with_its_preprocessing() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = path(dir.path(), "abc");
        let mut net = net();
        net.params_mut()[0] = -0.0;
        net.params_mut()[1] = f32::MIN_POSITIVE / 2.0;
        let info = ModelInfo::of(&net, "abc", Task::Binary, Status::MaxEpochs);
        let preprocessing = Preprocessing {
            encoding: Encoding {
                columns: vec![
                    InputColumn::Numeric {
                        name: "a".into(),
                        fill: Some(0.5),
                    },
                    InputColumn::Categorical {
                        name: "b".into(),
                        categories: vec!["x".into(), "y".into()],
                        fill: None,
                    },
                ],
                target: Some("label".into()),
                classes: vec!["no".into(), "yes".into()],
            },
            mean: vec![1.0, 0.0, 0.0],
            std: vec![2.0, 1.0, 1.0],
        };
        save(&file, &net, &info, &preprocessing).expect("saves");
        // The same model saved again is the same bytes (the metadata's order is fixed).
        let first = std::fs::read(&file).expect("read");
        for _ in 0..8 {
            save(&file, &net, &info, &preprocessing).expect("saves");
            assert_eq!(std::fs::read(&file).expect("read"), first);
        }
        let back = load::<f32>(&file).expect("loads");
        assert_eq!((&back.info, &back.preprocessing), (&info, &preprocessing));
        let bits = |p: &[f32]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.params), bits(net.params()));
        assert_eq!(info.layers[1].activation, "sigmoid");
        let e = load::<f64>(&file).expect_err("another precision");
        assert!(e.to_string().contains("its tensors are f32"), "{e}");
        std::fs::write(&file, b"not a model").expect("write");
        assert!(load::<f32>(&file).is_err());
    }
}
