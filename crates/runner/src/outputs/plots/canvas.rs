//! The bitmap drawing surface the figures are drawn on, and the result of drawing calls.

use plotters::coord::Shift;
use plotters::prelude::*;

/// A plotters failure, as text (its error types are generic over the backend).
pub(super) struct DrawError(pub(super) String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        DrawError(error.to_string())
    }
}

/// The result of drawing calls.
pub(super) type Drawn = std::result::Result<(), DrawError>;

/// A drawing area of the bitmap, in pixels.
pub(super) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// A panel's chart; each axis linear or logarithmic.
pub(super) type Chart<'a, 'b, X, Y> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<X, Y>>;
