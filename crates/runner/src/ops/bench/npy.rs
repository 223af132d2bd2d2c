//! Reading NumPy `.npy` arrays: the data, initial weights and shuffles that the peer
//! benchmark scripts dump, so descent can train on exactly the same inputs.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// An array read from a `.npy` file (C order, little-endian).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The shape.
    pub shape: Vec<usize>,
    /// The values, widened to `f64` (`<f4`, `<f8`, `<i8` and `<i4` are read).
    pub data: Vec<f64>,
}

/// Reads a version 1–3 `.npy` file.
///
/// # Errors
/// An unreadable file, a bad magic or header, Fortran order, or an unsupported dtype.
pub fn read(path: &Path) -> Result<Array> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&bytes)
        .with_context(|| format!("{} is not a .npy array descent can read", path.display()))
}

fn parse(bytes: &[u8]) -> Result<Array> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("no .npy magic");
    }
    let (header_len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => bail!("unsupported .npy version {v}"),
    };
    let header = std::str::from_utf8(
        bytes
            .get(start..start + header_len)
            .context("truncated header")?,
    )?;
    let field = |key: &str| {
        let at = header
            .find(&format!("'{key}'"))
            .with_context(|| format!("header has no {key}"))?;
        Ok::<&str, anyhow::Error>(header[at + key.len() + 2..].trim_start_matches([':', ' ']))
    };
    let descr = field("descr")?
        .trim_start_matches('\'')
        .split('\'')
        .next()
        .unwrap_or_default();
    if field("fortran_order")?.starts_with("True") {
        bail!("Fortran-ordered arrays are not supported");
    }
    let shape_text = field("shape")?;
    let inner = shape_text
        .trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or_default();
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let count: usize = shape.iter().product();
    let body = &bytes[start + header_len..];
    let (width, convert): (usize, fn(&[u8]) -> f64) = match descr {
        "<f4" => (4, |b| {
            f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }),
        "<f8" => (8, |b| {
            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        }),
        "<i8" => (8, |b| {
            i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f64
        }),
        "<i4" => (4, |b| {
            f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }),
        other => bail!("unsupported dtype {other}"),
    };
    if body.len() < count * width {
        bail!(
            "{} values of {width} bytes need {} bytes, the file has {}",
            count,
            count * width,
            body.len()
        );
    }
    Ok(Array {
        shape,
        data: body.chunks_exact(width).take(count).map(convert).collect(),
    })
}

/// The bytes of a version 1 `.npy` file of dtype `descr` and `shape` (Python's tuple
/// text), as NumPy writes it: for tests.
#[cfg(test)]
pub(crate) fn encode(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::encode as npy;

    #[test]
    fn arrays_as_numpy_writes_them() {
        let body: Vec<u8> = [1.5f32, -2.0, 3.25, 0.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse(&npy("<f4", "(2, 3)", &body)).unwrap();
        assert_eq!(
            (a.shape.clone(), a.data.clone()),
            (vec![2, 3], vec![1.5, -2.0, 3.25, 0.0, 5.0, 6.0])
        );
        let ints: Vec<u8> = [4i64, 0, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            parse(&npy("<i8", "(3,)", &ints)).unwrap().data,
            vec![4.0, 0.0, 2.0]
        );
        assert!(parse(&npy("<u2", "(1,)", &[0, 0])).is_err());
        assert!(
            parse(&npy("<f4", "(4,)", &body[..8])).is_err(),
            "a short body is refused"
        );
        assert!(parse(b"not numpy").is_err());
    }
}
