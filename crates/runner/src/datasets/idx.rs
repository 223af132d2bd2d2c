//! Gzip-compressed IDX files: the format of MNIST and Fashion-MNIST.
//!
//! After decompression an IDX file is a big-endian `u32` magic number (`0x00000803` for
//! `u8` images of 3 dimensions, `0x00000801` for `u8` labels of 1 dimension), one big-endian
//! `u32` per dimension, then the `u8` values in row-major order. The files are decompressed
//! as a stream and each pixel is converted straight into the dataset's final buffer, so
//! loading never holds a second copy of the images, and a limited load stops reading early.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use descent_core::Float;
use descent_core::data::Dataset;
use flate2::read::GzDecoder;

use super::error::{DatasetError, Result};

/// The magic number of an IDX file of `u8` images (3 dimensions: count, rows, columns).
const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of `u8` labels (1 dimension: count).
const LABELS_MAGIC: u32 = 0x0000_0801;
/// MNIST and Fashion-MNIST both have ten classes, labelled 0-9.
pub(super) const CLASSES: usize = 10;
/// How many pixels are decompressed at a time before conversion.
const CHUNK: usize = 1 << 16;

/// The training and test parts of a dataset that comes with an official split.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficialSplit<T> {
    /// The training samples (the `train-*` files).
    pub train: Dataset<T>,
    /// The test samples (the `t10k-*` files), kept apart for the final evaluation.
    pub test: Dataset<T>,
}

/// Loads the official split from a directory holding the four MNIST-layout files
/// (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`,
/// `t10k-labels-idx1-ubyte.gz`). `train_limit` keeps only the first samples of the training
/// part; the test part is always complete.
///
/// # Errors
/// As [`load_idx`], for any of the four files.
pub fn load_idx_split<T: Float>(
    dir: &Path,
    train_limit: Option<usize>,
) -> Result<OfficialSplit<T>> {
    let part = |prefix: &str, limit| {
        let images = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
        let labels = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
        load_idx(&images, &labels, limit)
    };
    Ok(OfficialSplit {
        train: part("train", train_limit)?,
        test: part("t10k", None)?,
    })
}

/// Loads gzip-compressed IDX images and their labels as a 10-class dataset: one sample per
/// image, its pixels in row-major order scaled from `0..=255` to `[0, 1]` (value / 255), and
/// feature names `pixel_R_C`. `limit` keeps only the first `limit` samples (all when it is
/// `None` or larger than the files).
///
/// # Errors
/// A file that cannot be opened or decompressed, a wrong magic number, a file shorter than
/// its header announces, a header too large for memory, images and labels of different
/// counts, a label outside 0-9, or a `limit` of 0.
pub fn load_idx<T: Float>(
    images: &Path,
    labels: &Path,
    limit: Option<usize>,
) -> Result<Dataset<T>> {
    let (mut label_file, [label_count]) = IdxReader::open(labels, LABELS_MAGIC, "labels")?;
    let (mut image_file, [count, rows, cols]) = IdxReader::open(images, IMAGES_MAGIC, "images")?;
    if label_count != count {
        return Err(DatasetError::CountMismatch {
            images_path: images.to_owned(),
            images: count,
            labels_path: labels.to_owned(),
            labels: label_count,
        });
    }
    let samples = limit.map_or(count, |limit| limit.min(count));
    let label_values = label_file.read_labels(samples)?;
    let pixels = image_file.read_pixels::<T>(samples, rows * cols)?;
    let dataset = Dataset::classification(rows * cols, pixels, label_values, CLASSES)?;
    Ok(dataset.with_feature_names(pixel_names(rows, cols))?)
}

/// `pixel_R_C` for each pixel of a `rows × cols` image, row-major (as digits.csv names them).
fn pixel_names(rows: usize, cols: usize) -> Vec<String> {
    (0..rows)
        .flat_map(|r| (0..cols).map(move |c| format!("pixel_{r}_{c}")))
        .collect()
}

/// An open IDX file, read as a stream of decompressed bytes.
struct IdxReader {
    path: PathBuf,
    stream: GzDecoder<BufReader<File>>,
}

impl IdxReader {
    /// Opens `path`, checks that its magic number is `magic` and reads its `D` dimensions
    /// (the sample count first). The low byte of each magic number used here is its `D`.
    fn open<const D: usize>(
        path: &Path,
        magic: u32,
        kind: &'static str,
    ) -> Result<(Self, [usize; D])> {
        let file = File::open(path).map_err(|source| DatasetError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut reader = Self {
            path: path.to_owned(),
            stream: GzDecoder::new(BufReader::new(file)),
        };
        let found = reader.read_u32()?;
        if found != magic {
            return Err(DatasetError::BadMagic {
                path: path.to_owned(),
                kind,
                found,
                expected: magic,
            });
        }
        let mut dims = [0; D];
        for dim in &mut dims {
            *dim = reader.read_u32()? as usize;
        }
        Ok((reader, dims))
    }

    /// One big-endian `u32` of the header.
    fn read_u32(&mut self) -> Result<u32> {
        let mut bytes = [0; 4];
        self.read_exact(&mut bytes, "header")?;
        Ok(u32::from_be_bytes(bytes))
    }

    /// The first `samples` labels, each checked to be a class 0-9.
    fn read_labels(&mut self, samples: usize) -> Result<Vec<u32>> {
        let labels = self.read_values(samples, "labels", u32::from)?;
        match labels.iter().position(|&l| l as usize >= CLASSES) {
            Some(index) => Err(DatasetError::BadLabel {
                path: self.path.clone(),
                index,
                label: labels[index],
            }),
            None => Ok(labels),
        }
    }

    /// The first `samples` images of `pixels` bytes each, scaled to `[0, 1]`.
    fn read_pixels<T: Float>(&mut self, samples: usize, pixels: usize) -> Result<Vec<T>> {
        let total = samples
            .checked_mul(pixels)
            .ok_or_else(|| self.too_large())?;
        let scale: Vec<T> = (0..=u8::MAX).map(|v| T::of(f64::from(v) / 255.0)).collect();
        self.read_values(total, "pixels", |v| scale[usize::from(v)])
    }

    /// The next `total` bytes, each converted by `convert`, decompressed chunk by chunk
    /// straight into a buffer of exactly `total` values.
    fn read_values<V>(
        &mut self,
        total: usize,
        part: &'static str,
        convert: impl Fn(u8) -> V,
    ) -> Result<Vec<V>> {
        let mut values = self.allocate(total)?;
        let mut chunk = vec![0; CHUNK.min(total)];
        while values.len() < total {
            let take = (total - values.len()).min(CHUNK);
            self.read_exact(&mut chunk[..take], part)?;
            values.extend(chunk[..take].iter().map(|&v| convert(v)));
        }
        Ok(values)
    }

    /// An empty buffer with room for exactly `len` values, or an error when a corrupt header
    /// asks for more memory than there is.
    fn allocate<V>(&self, len: usize) -> Result<Vec<V>> {
        let mut buffer = Vec::new();
        buffer
            .try_reserve_exact(len)
            .map_err(|_| self.too_large())?;
        Ok(buffer)
    }

    fn too_large(&self) -> DatasetError {
        DatasetError::TooLarge {
            path: self.path.clone(),
        }
    }

    /// Fills `buffer`, reporting an early end of the file as truncation of `part`.
    fn read_exact(&mut self, buffer: &mut [u8], part: &'static str) -> Result<()> {
        self.stream
            .read_exact(buffer)
            .map_err(|source| match source.kind() {
                io::ErrorKind::UnexpectedEof => DatasetError::Truncated {
                    path: self.path.clone(),
                    part,
                },
                _ => DatasetError::Io {
                    path: self.path.clone(),
                    source,
                },
            })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Instant;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::super::Shipped;
    use super::super::test_files::TempFile;
    use super::*;

    /// The counts of each class 0-9.
    fn class_counts<T: Float>(d: &Dataset<T>) -> Vec<usize> {
        let mut counts = vec![0; CLASSES];
        d.labels().iter().for_each(|&l| counts[l as usize] += 1);
        counts
    }

    /// An uncompressed IDX file: magic, dimensions, values.
    fn idx(magic: u32, dims: &[u32], values: &[u8]) -> Vec<u8> {
        let header = std::iter::once(magic)
            .chain(dims.iter().copied())
            .flat_map(u32::to_be_bytes);
        header.chain(values.iter().copied()).collect()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).expect("writing to memory");
        encoder.finish().expect("writing to memory")
    }

    /// Two 2×2 images with their labels, gzipped, as temporary files.
    fn tiny(name: &str, labels: &[u8]) -> (TempFile, TempFile) {
        let images = TempFile::new(
            &format!("{name}-images.gz"),
            &gzip(&idx(
                IMAGES_MAGIC,
                &[2, 2, 2],
                &[0, 51, 102, 255, 255, 0, 0, 0],
            )),
        );
        let labels = TempFile::new(
            &format!("{name}-labels.gz"),
            &gzip(&idx(LABELS_MAGIC, &[labels.len() as u32], labels)),
        );
        (images, labels)
    }

    #[test]
    fn mnist_has_the_official_split_labels_and_class_counts() {
        let start = Instant::now();
        let split = load_idx_split::<f32>(&Shipped::Mnist.locate(None).unwrap(), None).unwrap();
        eprintln!(
            "mnist, all 70000 samples: {:.2} s",
            start.elapsed().as_secs_f64()
        );
        let (train, test) = (&split.train, &split.test);
        assert_eq!(
            (train.len(), train.features(), test.len(), test.features()),
            (60000, 784, 10000, 784)
        );
        assert_eq!(&train.labels()[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
        assert_eq!(
            class_counts(train),
            vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
        );
        assert_eq!(
            test.task(),
            descent_core::data::Task::Multiclass { classes: 10 }
        );
        assert_eq!(train.feature_names()[28 + 3], "pixel_1_3");
    }

    #[test]
    fn pixels_are_scaled_to_the_unit_interval() {
        let (images, labels) = tiny("scaled", &[3, 9]);
        let d = load_idx::<f64>(images.path(), labels.path(), None).unwrap();
        assert_eq!(d.x(), &[0.0, 0.2, 0.4, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(d.labels(), &[3, 9]);
        assert_eq!(
            d.feature_names(),
            &["pixel_0_0", "pixel_0_1", "pixel_1_0", "pixel_1_1"]
        );
    }

    #[test]
    fn a_limit_keeps_the_first_samples() {
        let (images, labels) = tiny("limited", &[3, 9]);
        let d = load_idx::<f32>(images.path(), labels.path(), Some(1)).unwrap();
        assert_eq!((d.x(), d.labels()), (&[0.0, 0.2, 0.4, 1.0][..], &[3][..]));
        let all = load_idx::<f32>(images.path(), labels.path(), Some(5)).unwrap();
        assert_eq!(all.len(), 2);
        assert!(matches!(
            load_idx::<f32>(images.path(), labels.path(), Some(0)),
            Err(DatasetError::Core(_))
        ));
    }

    #[test]
    fn fashion_mnist_test_part_has_a_thousand_of_each_class() {
        let dir = Shipped::FashionMnist.locate(None).unwrap();
        let test = load_idx::<f32>(
            &dir.join("t10k-images-idx3-ubyte.gz"),
            &dir.join("t10k-labels-idx1-ubyte.gz"),
            None,
        )
        .unwrap();
        assert_eq!(class_counts(&test), vec![1000; CLASSES]);
        let max = test.x().iter().copied().fold(0.0, f32::max);
        let min = test.x().iter().copied().fold(1.0, f32::min);
        assert_eq!((min, max), (0.0, 1.0));
    }

    #[test]
    fn a_wrong_magic_number_is_reported() {
        let (images, labels) = tiny("magic", &[3, 9]);
        // The files swapped: the labels file is not an images file.
        let err = load_idx::<f32>(labels.path(), images.path(), None).unwrap_err();
        assert!(
            matches!(
                &err,
                DatasetError::BadMagic {
                    kind: "labels",
                    found: IMAGES_MAGIC,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("0x00000803"), "{err}");
    }

    #[test]
    fn a_file_shorter_than_its_header_says_is_truncated() {
        let (images, _) = tiny("short", &[3, 9]);
        let short = TempFile::new("short-labels.gz", &gzip(&idx(LABELS_MAGIC, &[2], &[3])));
        let err = load_idx::<f32>(images.path(), short.path(), None).unwrap_err();
        assert!(
            matches!(err, DatasetError::Truncated { part: "labels", .. }),
            "{err:?}"
        );
        let header_only = TempFile::new("header-labels.gz", &gzip(&LABELS_MAGIC.to_be_bytes()));
        let err = load_idx::<f32>(images.path(), header_only.path(), None).unwrap_err();
        assert!(
            matches!(err, DatasetError::Truncated { part: "header", .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_cut_off_gzip_stream_is_truncated() {
        let dir = Shipped::Mnist.locate(None).unwrap();
        let labels = std::fs::read(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let cut = TempFile::new("cut-labels.gz", &labels[..labels.len() / 2]);
        let images = dir.join("t10k-images-idx3-ubyte.gz");
        let err = load_idx::<f32>(&images, cut.path(), None).unwrap_err();
        assert!(
            matches!(err, DatasetError::Truncated { part: "labels", .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&cut.path().display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_is_not_gzip_is_named() {
        let (images, _) = tiny("plain", &[3, 9]);
        let plain = TempFile::new("plain-labels", &idx(LABELS_MAGIC, &[2], &[3, 9]));
        let err = load_idx::<f32>(images.path(), plain.path(), None).unwrap_err();
        assert!(matches!(err, DatasetError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("plain-labels"), "{err}");
    }

    #[test]
    fn counts_and_labels_are_checked() {
        let (images, labels) = tiny("three", &[1, 2, 3]);
        let err = load_idx::<f32>(images.path(), labels.path(), None).unwrap_err();
        assert!(
            matches!(
                err,
                DatasetError::CountMismatch {
                    images: 2,
                    labels: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        let (images, labels) = tiny("label", &[1, 10]);
        let err = load_idx::<f32>(images.path(), labels.path(), None).unwrap_err();
        assert!(
            matches!(
                err,
                DatasetError::BadLabel {
                    index: 1,
                    label: 10,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_header_too_large_for_memory_is_an_error() {
        let images = TempFile::new(
            "huge-images.gz",
            &gzip(&idx(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[])),
        );
        let labels = TempFile::new(
            "huge-labels.gz",
            &gzip(&idx(LABELS_MAGIC, &[u32::MAX], &[])),
        );
        let err = load_idx::<f32>(images.path(), labels.path(), None).unwrap_err();
        // Depending on the machine's overcommit policy, the buffer for 2^32 labels is refused
        // (TooLarge) or reserved, and then the file runs out (Truncated).
        assert!(
            matches!(
                err,
                DatasetError::Truncated { .. } | DatasetError::TooLarge { .. }
            ),
            "{err:?}"
        );
        let err = load_idx::<f32>(images.path(), labels.path(), Some(2)).unwrap_err();
        assert!(
            matches!(err, DatasetError::Truncated { part: "labels", .. }),
            "{err:?}"
        );
    }
}
