//! Runs as aligned plain-text tables, for the terminal (`descent check`, a merge's missing
//! runs).

use crate::config::RunSpec;
use crate::outputs::tables::swept_cells;

/// Runs as an aligned text table: run id, variant, seed and the value of each grid axis.
pub fn spec_table(axes: &[String], runs: &[&RunSpec]) -> String {
    let mut header = vec!["run_id".to_owned(), "variant".to_owned(), "seed".to_owned()];
    header.extend(axes.iter().cloned());
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let mut row = vec![r.run_id.clone(), r.variant.clone(), r.seed.to_string()];
            row.extend(swept_cells(axes, &r.swept));
            row
        })
        .collect();
    aligned(&header, &rows)
}

/// `rows` under `header`, each column padded to its widest cell.
fn aligned(header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut s = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(header);
    for r in rows {
        out.push_str(&line(r));
    }
    out
}
