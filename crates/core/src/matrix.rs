//! Column-major matrices stored in plain slices.
//!
//! descent keeps every matrix as a contiguous column-major `[T]` whose columns are samples
//! (or, for weights, input units). A batch of consecutive samples is then a sub-slice, and
//! faer sees any of these buffers through a zero-copy [`MatRef`] / [`MatMut`].

use faer::{MatMut, MatRef};

/// A `rows × cols` view of the first `rows * cols` elements of `data`.
#[inline]
pub fn view<T>(data: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    MatRef::from_column_major_slice(&data[..rows * cols], rows, cols)
}

/// A mutable `rows × cols` view of the first `rows * cols` elements of `data`.
#[inline]
pub fn view_mut<T>(data: &mut [T], rows: usize, cols: usize) -> MatMut<'_, T> {
    MatMut::from_column_major_slice_mut(&mut data[..rows * cols], rows, cols)
}
