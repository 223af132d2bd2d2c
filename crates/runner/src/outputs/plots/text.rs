//! Text in the figures: the embedded font and a text setter that places each glyph itself.
//!
//! Plotters 0.3.7 with `ab_glyph` draws each glyph at the pen position without its left side
//! bearing, so narrow letters shift and words look broken ("fi xture", "m ean"). Titles,
//! captions, axis titles, legends and notes are therefore laid out here with the font's own
//! metrics (advance, kerning, bearing) and drawn one glyph at a time; plotters still draws the
//! tick labels, which are digits of equal width.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{Area, Drawn};
use crate::outdir::error::{OutputError, Result};

/// DejaVu Sans, embedded so figures look the same on every machine (Bitstream Vera licence,
/// see `assets/DejaVu-LICENSE.txt`).
const DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// The font, parsed once; `None` if the embedded bytes were not a font.
fn font_ref() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok())
        .as_ref()
}

/// Registers the embedded font as plotters' `sans-serif` (used for tick labels), once per
/// process.
pub(super) fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    match (registered, font_ref()) {
        (true, Some(_)) => Ok(()),
        _ => Err(OutputError::Font),
    }
}

/// Plotters' text style in the embedded font at `size` pixels.
pub(super) fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size))
}

/// Which way a line of text runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// Left to right.
    Across,
    /// Bottom to top (a y axis title).
    Up,
}

/// A line of text to set: its size, how it hangs on its anchor point, and its direction.
#[derive(Clone, Copy)]
pub(super) struct Line {
    /// Size in pixels.
    pub(super) size: f64,
    /// Which end (or the middle) of the line sits on the anchor, along the line.
    pub(super) along: HPos,
    /// Where the anchor sits across the line.
    pub(super) across: VPos,
    /// The direction the line runs.
    pub(super) direction: Direction,
    /// The ink.
    pub(super) colour: RGBColor,
}

impl Line {
    /// Left-aligned text, vertically centred on the anchor, at `size` pixels.
    pub(super) fn left(size: f64) -> Self {
        Line {
            size,
            along: HPos::Left,
            across: VPos::Center,
            direction: Direction::Across,
            colour: BLACK,
        }
    }

    /// The same line in `colour`.
    pub(super) fn coloured(self, colour: RGBColor) -> Self {
        Line { colour, ..self }
    }

    /// Text centred on the anchor at `size` pixels.
    pub(super) fn centred(size: f64) -> Self {
        Line {
            along: HPos::Center,
            ..Line::left(size)
        }
    }

    /// Text running upwards, centred on the anchor, at `size` pixels.
    pub(super) fn up(size: f64) -> Self {
        Line {
            direction: Direction::Up,
            ..Line::centred(size)
        }
    }

    /// Draws `text` on `area` with its anchor at `anchor` (pixels of `area`).
    pub(super) fn draw(&self, area: &Area<'_>, text: &str, anchor: (i32, i32)) -> Drawn {
        let Some(font) = font_ref() else {
            return Ok(());
        };
        let (glyphs, width) = layout(font, self.size as f32, text);
        let start = match self.along {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let style = font_style(self.size, self.across).color(&self.colour);
        let style = match self.direction {
            Direction::Across => style,
            Direction::Up => style.transform(FontTransform::Rotate270),
        };
        for (glyph, offset) in glyphs {
            let shift = (start + offset).round() as i32;
            let position = match self.direction {
                Direction::Across => (anchor.0 + shift, anchor.1),
                Direction::Up => (anchor.0, anchor.1 - shift),
            };
            area.draw(&Text::new(glyph.to_string(), position, style.clone()))?;
        }
        Ok(())
    }
}

/// Plotters' style for one glyph: anchored at its left edge.
fn font_style(size: f64, across: VPos) -> TextStyle<'static> {
    font(size).pos(Pos::new(HPos::Left, across))
}

/// Where each visible glyph of `text` starts (its ink, from the start of the line) and the
/// width of the line, in pixels at `size`.
fn layout(font: &FontRef<'static>, size: f32, text: &str) -> (Vec<(char, f32)>, f32) {
    let scaled = font.as_scaled(size);
    let mut pen = 0.0f32;
    let mut previous = None;
    let mut glyphs = Vec::new();
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            pen += scaled.kern(previous, id);
        }
        if let Some(outline) = scaled.outline_glyph(scaled.scaled_glyph(c)) {
            glyphs.push((c, pen + outline.px_bounds().min.x));
        }
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    (glyphs, pen)
}

/// The width of `text` in pixels at `size`, for sizing the legend.
pub(super) fn width(text: &str, size: f64) -> f64 {
    font_ref().map_or(0.0, |font| f64::from(layout(font, size as f32, text).1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_start_at_their_ink_not_at_the_pen() {
        let font = font_ref().expect("embedded font parses");
        // `i` has a wide left side bearing: its ink starts well after the end of `f`'s advance.
        let (glyphs, width) = layout(font, 20.0, "fi");
        let advance_f = font.as_scaled(20.0).h_advance(font.glyph_id('f'));
        assert_eq!(glyphs.len(), 2);
        assert!(glyphs[1].1 > advance_f, "{glyphs:?}");
        assert!(width > glyphs[1].1);
        // Spaces have no ink but take room.
        let (glyphs, spaced) = layout(font, 20.0, "f i");
        assert_eq!(glyphs.len(), 2);
        assert!(spaced > width);
    }
}
