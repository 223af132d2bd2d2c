//! Buffers whose size comes from the user (samples, features, classes, layer widths),
//! reserved fallibly: a size whose product overflows, or that the allocator refuses, is a
//! [`CoreError::TooLarge`] rather than a panic ("capacity overflow") or an abort ("memory
//! allocation failed").

use crate::error::{CoreError, Result};

/// An empty vector with room for exactly `dims[0] × dims[1] × …` values; `what` names the
/// buffer in the error (e.g. "the blobs dataset's features").
///
/// # Errors
/// [`CoreError::TooLarge`] when the product overflows or the memory cannot be reserved.
pub(crate) fn with_capacity<T>(dims: &[usize], what: &str) -> Result<Vec<T>> {
    let mut buffer = Vec::new();
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| buffer.try_reserve_exact(n).ok())
        .ok_or_else(|| CoreError::TooLarge {
            what: what.to_owned(),
            values: dims
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" × "),
        })?;
    Ok(buffer)
}

/// `dims[0] × dims[1] × …` copies of `value` (see [`with_capacity`]).
///
/// # Errors
/// [`CoreError::TooLarge`] when the product overflows or the memory cannot be reserved.
pub(crate) fn filled<T: Clone>(dims: &[usize], value: T, what: &str) -> Result<Vec<T>> {
    let mut buffer = with_capacity(dims, what)?;
    // The product did not overflow, or the reservation would have failed.
    buffer.resize(dims.iter().product(), value);
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_that_overflow_or_exceed_memory_are_errors() {
        let err = with_capacity::<f64>(&[usize::MAX, 2], "x").unwrap_err();
        assert!(
            err.to_string().contains(&format!("{} × 2", usize::MAX)),
            "{err}"
        );
        // Fits a usize, but not a Vec<f64> (more than isize::MAX bytes).
        assert!(matches!(
            with_capacity::<f64>(&[1 << 62], "x"),
            Err(CoreError::TooLarge { .. })
        ));
        assert_eq!(filled(&[2, 3], 0.5, "x").unwrap(), vec![0.5; 6]);
        assert!(with_capacity::<u8>(&[], "x").unwrap().capacity() >= 1);
    }
}
