//! Drawing a prepared figure: the page layout (title, panels, legend, notes), each panel's
//! axes, and the two kinds of content (curves with bands, final values with error bars).

use std::path::{Path, PathBuf};

use plotters::coord::combinators::{LogCoord, WithKeyPoints};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::Plot;
use super::canvas::{Area, Chart, DrawError, Drawn};
use super::figure::{Axis, Figure, Key, Lines, Points, XTicks};
use super::text::{Line, font, width};
use crate::outdir::atomic::AtomicFile;
use crate::outdir::error::{OutputError, Result};

/// Size of a figure with up to four panels; more panels make the image grow.
const BASE_SIZE: (u32, u32) = (1200, 800);
/// Minimum size of one panel, in pixels.
const PANEL_SIZE: (u32, u32) = (455, 330);
/// Height of the title strip, in pixels.
const TITLE_HEIGHT: u32 = 56;
/// Height of one line of notes under the panels, in pixels.
const NOTE_HEIGHT: u32 = 24;
/// Width of the legend column right of the panels (wider if a label needs it), in pixels.
const LEGEND_WIDTH: u32 = 290;
/// Text sizes, in pixels.
const TITLE_SIZE: f64 = 26.0;
const CAPTION_SIZE: f64 = 19.0;
const AXIS_TITLE_SIZE: f64 = 18.0;
const TICK_SIZE: f64 = 16.0;
const LEGEND_SIZE: f64 = 17.0;
const NOTE_SIZE: f64 = 16.0;

/// The Okabe–Ito palette (distinguishable with the common colour-vision deficiencies), in
/// the order groups take it; yellow comes last as it is faint on white.
pub(super) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// Grey for legend symbols that stand for every group.
const GREY: RGBColor = RGBColor(90, 90, 90);

/// What goes inside each panel.
pub(super) trait PanelContent {
    /// Draws panel `panel` onto its chart.
    fn draw<X, Y>(&self, panel: usize, chart: &mut Chart<'_, '_, X, Y>) -> Drawn
    where
        X: Ranged<ValueType = f64>,
        Y: Ranged<ValueType = f64>;

    /// The label of the x tick at `x` (empty for no label).
    fn x_label(&self, x: f64) -> String;

    /// How many x ticks to ask plotters for on a linear x axis.
    fn x_ticks(&self, axis: Axis) -> usize;
}

impl Figure {
    /// Draws the figure to its PNG in `dir` through a temporary file.
    pub(super) fn draw<C: PanelContent>(&self, dir: &Path, content: &C) -> Result<Plot> {
        let path: PathBuf = dir.join(&self.file);
        let pending = AtomicFile::new(&path);
        self.render(pending.path(), content)
            .map_err(|DrawError(message)| OutputError::Plot {
                path: path.clone(),
                message,
            })?;
        pending.commit()?;
        Ok(Plot {
            file: self.file.clone(),
            caption: self.caption.clone(),
        })
    }

    /// The grid of panels (columns, rows), the legend width and the image size.
    fn layout(&self) -> ((usize, usize), u32, (u32, u32)) {
        let count = self.panels.len().max(1);
        let columns = (count as f64).sqrt().ceil() as usize;
        let rows = count.div_ceil(columns);
        let legend = self.legend_width();
        let width = BASE_SIZE.0.max(legend + PANEL_SIZE.0 * columns as u32);
        let height = BASE_SIZE
            .1
            .max(self.chrome_height() + PANEL_SIZE.1 * rows as u32);
        ((columns, rows), legend, (width, height))
    }

    /// Height of the title and notes strips.
    fn chrome_height(&self) -> u32 {
        TITLE_HEIGHT + NOTE_HEIGHT * (self.notes.len() as u32 + 1)
    }

    /// The legend column's width: room for the longest label.
    fn legend_width(&self) -> u32 {
        let widest = self
            .legend
            .iter()
            .map(|key| width(key.label(), LEGEND_SIZE))
            .fold(0.0, f64::max);
        LEGEND_WIDTH.max(widest.ceil() as u32 + 72)
    }

    /// Draws title, legend, notes and panels onto a bitmap at `path`.
    fn render<C: PanelContent>(&self, path: &Path, content: &C) -> Drawn {
        let ((columns, rows), legend_width, size) = self.layout();
        let root = BitMapBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (title, rest) = root.split_vertically(TITLE_HEIGHT);
        let (body, notes) = rest.split_vertically(size.1 - self.chrome_height());
        let (panels, legend) = body.split_horizontally(size.0 - legend_width);
        let centre = (size.0 as i32 / 2, TITLE_HEIGHT as i32 / 2);
        Line::centred(TITLE_SIZE).draw(&title, &self.title, centre)?;
        draw_legend(&legend, &self.legend)?;
        for (line, note) in self.notes.iter().enumerate() {
            let y = NOTE_HEIGHT as i32 * line as i32 + NOTE_HEIGHT as i32 / 2;
            Line::left(NOTE_SIZE).draw(&notes, note, (16, y))?;
        }
        let areas = panels.split_evenly((rows, columns));
        for (panel, area) in areas.iter().enumerate().take(self.panels.len()) {
            let Axis { low, high, log } = self.x_axis;
            if log {
                self.with_y(
                    area,
                    panel,
                    log_coordinates(low, high, MAX_X_TICKS),
                    content,
                )?;
            } else {
                self.with_y(area, panel, low..high, content)?;
            }
        }
        root.present()?;
        Ok(())
    }

    /// Draws one panel with x coordinates `x` and the figure's y axis.
    fn with_y<C, X>(&self, area: &Area<'_>, panel: usize, x: X, content: &C) -> Drawn
    where
        C: PanelContent,
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let Axis { low, high, log } = self.y_axis;
        if log {
            self.draw_panel(
                area,
                panel,
                (x, log_coordinates(low, high, MAX_Y_TICKS)),
                content,
            )
        } else {
            self.draw_panel(area, panel, (x, low..high), content)
        }
    }

    /// Draws one panel: its title, axes with their titles, grid and content.
    fn draw_panel<C, X, Y>(
        &self,
        area: &Area<'_>,
        panel: usize,
        (x, y): (X, Y),
        content: &C,
    ) -> Drawn
    where
        C: PanelContent,
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let title = &self.panels[panel];
        let top = if title.is_empty() { 14 } else { 40 };
        let mut chart = ChartBuilder::on(area)
            .margin_top(top)
            .margin_left(10)
            .margin_right(20)
            .margin_bottom(8)
            .x_label_area_size(56)
            .y_label_area_size(86)
            .build_cartesian_2d(x, y)?;
        let x_label = |x: &f64| content.x_label(*x);
        let y_label = |y: &f64| tick_label(*y);
        chart
            .configure_mesh()
            .x_labels(content.x_ticks(self.x_axis))
            .y_labels(8)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(font(TICK_SIZE))
            .max_light_lines(1)
            .draw()?;
        content.draw(panel, &mut chart)?;

        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let (origin_x, origin_y) = area.get_base_pixel();
        let middle_x = (xs.start + xs.end) / 2 - origin_x;
        let middle_y = (ys.start + ys.end) / 2 - origin_y;
        if !title.is_empty() {
            Line::centred(CAPTION_SIZE).draw(area, title, (middle_x, 20))?;
        }
        let below = ys.end - origin_y + 42;
        Line::centred(AXIS_TITLE_SIZE).draw(area, &self.x_desc, (middle_x, below))?;
        Line::up(AXIS_TITLE_SIZE).draw(area, &self.y_desc, (22, middle_y))
    }
}

impl Key {
    /// The text of the entry.
    fn label(&self) -> &str {
        match self {
            Key::Line(label, _) => label,
            Key::Band => "band: min–max over seeds",
            Key::Mean => "mean over seeds",
            Key::Spread => "±1 std over seeds",
            Key::Seed => "single seed",
        }
    }

    /// Draws the entry's symbol centred on `(x, y)`.
    fn draw_symbol(&self, area: &Area<'_>, (x, y): (i32, i32)) -> Drawn {
        let swatch = |colour: RGBColor| {
            Rectangle::new([(x - 18, y - 7), (x + 18, y + 7)], colour.mix(0.2).filled())
        };
        match self {
            Key::Line(_, colour) => {
                area.draw(&swatch(*colour))?;
                let stroke = colour.stroke_width(3);
                area.draw(&PathElement::new(vec![(x - 18, y), (x + 18, y)], stroke))
            }
            Key::Band => area.draw(&swatch(GREY)),
            Key::Mean => area.draw(&Circle::new((x, y), 6, GREY.filled())),
            Key::Spread => {
                let stroke = GREY.stroke_width(2);
                area.draw(&PathElement::new(vec![(x, y - 10), (x, y + 10)], stroke))
            }
            Key::Seed => area.draw(&Circle::new((x, y), 5, GREY.stroke_width(2))),
        }?;
        Ok(())
    }
}

/// Draws the legend entries, one per line, at the top of the legend column.
fn draw_legend(area: &Area<'_>, keys: &[Key]) -> Drawn {
    for (line, key) in keys.iter().enumerate() {
        let y = 40 + 30 * line as i32;
        key.draw_symbol(area, (30, y))?;
        Line::left(LEGEND_SIZE).draw(area, key.label(), (58, y))?;
    }
    Ok(())
}

impl PanelContent for Lines {
    fn draw<X, Y>(&self, panel: usize, chart: &mut Chart<'_, '_, X, Y>) -> Drawn
    where
        X: Ranged<ValueType = f64>,
        Y: Ranged<ValueType = f64>,
    {
        let bands = &self.bands[panel];
        // Bands first, so that no band covers another group's line.
        for (group, band) in bands.iter().enumerate() {
            let Some(band) = band.as_ref().filter(|band| band.x.len() > 1) else {
                continue;
            };
            let upper = band.x.iter().copied().zip(band.high.iter().copied());
            let lower = band.x.iter().copied().zip(band.low.iter().copied()).rev();
            let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
            chart.draw_series([Polygon::new(
                outline,
                self.colours[group].mix(0.18).filled(),
            )])?;
        }
        for (group, band) in bands.iter().enumerate() {
            let Some(band) = band else { continue };
            let points = band.x.iter().copied().zip(band.mean.iter().copied());
            let style = self.colours[group].stroke_width(2);
            if band.x.len() > 1 {
                chart.draw_series(LineSeries::new(points, style))?;
            } else {
                chart.draw_series(points.map(|point| Circle::new(point, 4, style.filled())))?;
            }
        }
        Ok(())
    }

    fn x_label(&self, x: f64) -> String {
        match &self.x_ticks {
            XTicks::Numbers => tick_label(x),
            _ if x.fract() != 0.0 => String::new(),
            XTicks::Whole => tick_label(x),
            XTicks::Names(names) => usize::try_from(x as i64)
                .ok()
                .and_then(|i| names.get(i))
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn x_ticks(&self, Axis { low, high, .. }: Axis) -> usize {
        match self.x_ticks {
            XTicks::Numbers => 10,
            // At most one tick per integer, so that plotters picks whole steps.
            _ => ((high - low).floor() as usize + 1).clamp(2, 10),
        }
    }
}

impl PanelContent for Points {
    fn draw<X, Y>(&self, panel: usize, chart: &mut Chart<'_, '_, X, Y>) -> Drawn
    where
        X: Ranged<ValueType = f64>,
        Y: Ranged<ValueType = f64>,
    {
        let y_range = chart.y_range();
        let inside = |value: f64| value.clamp(y_range.start, y_range.end);
        for (group, cell) in self.cells[panel].iter().enumerate() {
            let Some(cell) = cell else { continue };
            let (x, colour) = (group as f64, self.colours[group]);
            // Single seeds to the right of the mean, spread a little so equal values show.
            let count = cell.seeds.len() as f64;
            let seeds = cell.seeds.iter().enumerate().map(|(i, &seed)| {
                let spread = 0.08 * (i as f64 - (count - 1.0) / 2.0) / count;
                Circle::new((x + 0.2 + spread, inside(seed)), 5, colour.stroke_width(2))
            });
            chart.draw_series(seeds)?;
            let Some(mean) = cell.stats.mean else {
                continue;
            };
            if let Some(std) = cell.stats.std {
                let (low, high) = (inside(mean - std), inside(mean + std));
                let segment = |from: (f64, f64), to: (f64, f64)| {
                    PathElement::new(vec![from, to], colour.stroke_width(2))
                };
                chart.draw_series([
                    segment((x, low), (x, high)),
                    segment((x - 0.06, low), (x + 0.06, low)),
                    segment((x - 0.06, high), (x + 0.06, high)),
                ])?;
            }
            chart.draw_series([Circle::new((x, inside(mean)), 6, colour.filled())])?;
        }
        Ok(())
    }

    fn x_label(&self, x: f64) -> String {
        let index = x.round();
        if (x - index).abs() > 1e-6 || index < 0.0 {
            return String::new();
        }
        self.labels.get(index as usize).cloned().unwrap_or_default()
    }

    fn x_ticks(&self, _axis: Axis) -> usize {
        self.labels.len().max(1)
    }
}

/// A tick label: up to four decimals without trailing zeros; scientific outside 1e-3..1e5.
pub(super) fn tick_label(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&magnitude) {
        format!("{value:.1e}")
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// At most this many labelled ticks on a log x axis (panels are narrow).
const MAX_X_TICKS: usize = 7;
/// At most this many labelled ticks on a log y axis.
const MAX_Y_TICKS: usize = 13;

/// Log coordinates from `low` to `high` with ticks at [`log_ticks`].
pub(super) fn log_coordinates(
    low: f64,
    high: f64,
    max_ticks: usize,
) -> WithKeyPoints<LogCoord<f64>> {
    (low..high)
        .log_scale()
        .with_key_points(log_ticks(low, high, max_ticks))
}

/// Ticks for a log axis from `low` to `high`, about `max_ticks` at most: 1, 2 and 5 times
/// each power of ten when they fit, else the powers of ten (every n-th one when even those
/// are too many).
fn log_ticks(low: f64, high: f64, max_ticks: usize) -> Vec<f64> {
    let first = low.log10().floor() as i32;
    let last = high.log10().ceil() as i32;
    let decades = (last - first).max(1) as usize;
    let mantissas: &[f64] = if 3 * decades <= max_ticks {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    (first..=last)
        .step_by(decades / max_ticks.max(1) + 1)
        .flat_map(|exponent| mantissas.iter().map(move |m| m * 10f64.powi(exponent)))
        .filter(|tick| (low..=high).contains(tick))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(12.0), "12");
        assert_eq!(tick_label(0.00012), "1.2e-4");
    }

    #[test]
    fn log_ticks_fall_on_one_two_five() {
        assert_eq!(
            log_ticks(0.15, 60.0, 13),
            [0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
        );
        assert_eq!(log_ticks(1.0, 8000.0, 7), [1.0, 10.0, 100.0, 1000.0]);
        let wide = log_ticks(1e-7, 1e3, 13);
        assert_eq!(wide.len(), 11, "{wide:?}");
        assert!(
            wide.iter()
                .all(|t| (t.log10() - t.log10().round()).abs() < 1e-9)
        );
    }
}
