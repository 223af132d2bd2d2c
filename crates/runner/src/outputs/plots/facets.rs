//! Which line (group) and which panel each run belongs to: one line per value of `group_by`,
//! one panel per combination of the other configuration columns that vary, so that nothing
//! is averaged over silently.

use plotters::style::{BLACK, Color, HSLColor, RGBColor};
use polars::prelude::DataFrame;

use super::draw::PALETTE;

use crate::outdir::error::Result;
use crate::outputs::tables::{config_columns, display_names, distinct, labels};

/// The lines and panels of a figure, and which run belongs to which.
pub(super) struct Facets {
    /// Display name of the `group_by` column (`batch_size`).
    pub(super) group_name: String,
    /// The values of `group_by`, in order of first appearance (the grid order).
    pub(super) groups: Vec<String>,
    /// Display names of the columns that split panels (`learning_rate`).
    pub(super) panel_names: Vec<String>,
    /// Panel titles (`learning_rate = 0.1`); a single empty title when nothing else varies.
    pub(super) panels: Vec<String>,
    /// Per runs row: index into `groups`.
    group_of: Vec<usize>,
    /// Per runs row: index into `panels`.
    panel_of: Vec<usize>,
    /// Number of diverged runs, for the notes.
    diverged: usize,
    /// Number of failed runs, for the notes.
    failed: usize,
}

impl Facets {
    /// Assigns each run to its group (its `group_by` value) and panel (its values of the
    /// other configuration columns that take more than one value), leaving the columns
    /// `hidden` out of both (unless one is `group_by`): a swept key drawn along the x axis,
    /// or a search's sampled keys, which its `trial` column already tells apart.
    pub(super) fn hiding(runs: &DataFrame, group_by: &str, hidden: &[&str]) -> Result<Self> {
        let columns: Vec<String> = config_columns(runs)?
            .into_iter()
            .filter(|c| !hidden.contains(&c.as_str()) || c == group_by)
            .collect();
        let names = display_names(&columns);
        let mut group_name = group_by.to_string();
        let mut group_values = vec![String::new(); runs.height()];
        let mut panel_names = Vec::new();
        let mut panel_keys: Vec<Vec<String>> = vec![Vec::new(); runs.height()];
        for (column, name) in columns.iter().zip(&names) {
            let values = labels(runs, column)?;
            if column == group_by {
                group_name = name.clone();
                group_values = values;
            } else if distinct(&values).0.len() > 1 {
                panel_names.push(name.clone());
                for (key, value) in panel_keys.iter_mut().zip(values) {
                    key.push(format!("{name} = {value}"));
                }
            }
        }
        let (groups, group_of) = distinct(&group_values);
        let (panel_keys, panel_of) = distinct(&panel_keys);
        let mut panels: Vec<String> = panel_keys.iter().map(|key| key.join(", ")).collect();
        if panels.is_empty() {
            // No runs at all: one empty panel, so that a figure still has a frame.
            panels.push(String::new());
        }
        let statuses = labels(runs, "status")?;
        let count = |status: &str| statuses.iter().filter(|s| *s == status).count();
        Ok(Facets {
            group_name,
            groups,
            panel_names,
            panels,
            group_of,
            panel_of,
            diverged: count("diverged"),
            failed: count("failed"),
        })
    }

    /// The runs rows of each panel and group: `[panel][group] -> rows`.
    pub(super) fn cells(&self) -> Vec<Vec<Vec<usize>>> {
        let mut cells = vec![vec![Vec::new(); self.groups.len()]; self.panels.len()];
        for (row, (&panel, &group)) in self.panel_of.iter().zip(&self.group_of).enumerate() {
            cells[panel][group].push(row);
        }
        cells
    }

    /// The runs rows of each group, whatever their panel.
    pub(super) fn group_rows(&self) -> Vec<Vec<usize>> {
        let mut rows = vec![Vec::new(); self.groups.len()];
        for (row, &group) in self.group_of.iter().enumerate() {
            rows[group].push(row);
        }
        rows
    }

    /// Each group's colour, all different: a sequential colour map (viridis, dark to light
    /// in increasing order of value) when every group is a number, so the legend reads as an
    /// axis; otherwise the Okabe–Ito palette, then hues spaced by the golden angle beyond its
    /// eight colours.
    pub(super) fn colours(&self) -> Vec<RGBColor> {
        let n = self.groups.len();
        // A batch of `full` is the largest of batch sizes: it ranks after every number.
        let numbers: Option<Vec<f64>> = self
            .groups
            .iter()
            .map(|g| match g.as_str() {
                "full" => Some(f64::INFINITY),
                g => g.parse::<f64>().ok(),
            })
            .collect();
        match numbers.filter(|_| n > 1) {
            Some(values) => {
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
                let mut colours = vec![BLACK; n];
                for (rank, &group) in order.iter().enumerate() {
                    colours[group] = viridis(rank as f64 / (n - 1) as f64);
                }
                colours
            }
            None => (0..n)
                .map(|i| {
                    PALETTE.get(i).copied().unwrap_or_else(|| {
                        let hue = ((i - PALETTE.len()) as f64 * 137.508) % 360.0;
                        let (r, g, b) = HSLColor(hue / 360.0, 0.65, 0.42).to_rgba().rgb();
                        RGBColor(r, g, b)
                    })
                })
                .collect(),
        }
    }

    /// The legend label of group `index` (`batch_size = 32`).
    pub(super) fn group_label(&self, index: usize) -> String {
        format!("{} = {}", self.group_name, self.groups[index])
    }

    /// A note on the runs that ended badly, if any.
    pub(super) fn status_note(&self) -> Option<String> {
        (self.diverged + self.failed > 0).then(|| {
            format!(
                "This sweep has {} diverged and {} failed run(s); see the report.",
                self.diverged, self.failed
            )
        })
    }
}

/// The viridis colour map at `t` in [0, 1] (dark purple to yellow-green), interpolated
/// between eight of its stops; its last, yellow stop is left out to stay visible on white.
pub(super) fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 8] = [
        (68, 1, 84),
        (71, 45, 123),
        (59, 82, 139),
        (44, 114, 142),
        (33, 145, 140),
        (40, 174, 128),
        (94, 201, 98),
        (173, 220, 48),
    ];
    let x = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::tables::runs_frame;
    use crate::test_fixtures::{sweep, with_learning_rates};

    #[test]
    fn other_swept_keys_become_panels_not_averages() {
        let runs = runs_frame(&with_learning_rates()).expect("runs");
        let facets = Facets::hiding(&runs, "training.batch_size", &[]).expect("facets");
        assert_eq!(facets.groups, ["8", "full"]);
        assert_eq!(facets.panel_names, ["learning_rate"]);
        assert_eq!(
            facets.panels,
            ["learning_rate = 0.1", "learning_rate = 0.01"]
        );
        let cells = facets.cells();
        assert_eq!(
            cells[1][0],
            [6, 7, 8],
            "lr 0.01, batch 8: the three seeds of the copy"
        );
        assert_eq!(cells[0][1], [3, 4, 5]);
    }

    #[test]
    fn a_key_with_one_value_splits_nothing() {
        let runs = runs_frame(&sweep()).expect("runs");
        let facets = Facets::hiding(&runs, "training.batch_size", &[]).expect("facets");
        assert_eq!(facets.panels, [""]);
        assert_eq!(facets.group_label(1), "batch_size = full");
        assert_eq!(facets.status_note(), None);
    }

    #[test]
    fn grouping_by_variant_puts_every_swept_key_in_panels() {
        let mut records = with_learning_rates();
        for record in &mut records[6..] {
            record.variant = "mlp".to_string();
        }
        let runs = runs_frame(&records).expect("runs");
        let facets = Facets::hiding(&runs, "variant", &[]).expect("facets");
        assert_eq!(facets.groups, ["base", "mlp"]);
        // The learning rate moves together with the variant here, but batch size and
        // learning rate both vary, so both split panels.
        assert_eq!(facets.panel_names, ["learning_rate", "batch_size"]);
        assert_eq!(facets.panels.len(), 4);
    }

    #[test]
    fn groups_never_share_a_colour_and_numbers_follow_a_sequential_map() {
        let with = |groups: Vec<String>| Facets {
            group_name: "g".into(),
            groups,
            panel_names: Vec::new(),
            panels: vec![String::new()],
            group_of: Vec::new(),
            panel_of: Vec::new(),
            diverged: 0,
            failed: 0,
        };
        // Ten learning rates, listed out of order.
        let rates = [0.1, 0.001, 0.3, 0.0001, 1.0, 0.03, 0.01, 3.0, 0.003, 0.0003];
        let numeric = with(rates.iter().map(|r| r.to_string()).collect()).colours();
        let names = with((0..12).map(|i| format!("variant-{i}")).collect()).colours();
        for colours in [&numeric, &names] {
            let distinct: std::collections::BTreeSet<(u8, u8, u8)> =
                colours.iter().map(|c| (c.0, c.1, c.2)).collect();
            assert_eq!(distinct.len(), colours.len(), "{colours:?}");
        }
        // Lighter as the value grows: luminance in the order of the values.
        let luminance = |c: &RGBColor| {
            0.2126 * f64::from(c.0) + 0.7152 * f64::from(c.1) + 0.0722 * f64::from(c.2)
        };
        let mut by_value: Vec<(f64, f64)> = rates
            .iter()
            .zip(&numeric)
            .map(|(&r, c)| (r, luminance(c)))
            .collect();
        by_value.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(by_value.windows(2).all(|w| w[0].1 < w[1].1), "{by_value:?}");
        assert_eq!(names[..8], PALETTE);
        // Batch sizes with `full` are numbers too, `full` the largest (the lightest).
        let batches = with(["1", "full", "32"].map(String::from).to_vec()).colours();
        assert!(luminance(&batches[0]) < luminance(&batches[2]));
        assert!(luminance(&batches[2]) < luminance(&batches[1]));
    }
}
