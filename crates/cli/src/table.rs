//! Plain-text tables for the terminal (widths in characters, amounts right-aligned).
//! Every cell is escaped (stored text may hold terminal escapes) and cut to `CELL_MAX`.

use cpts_domain::text::escape;

/// Widest cell shown: beyond it one long value would pad every row of its column (a 50 MB name
/// made `members list` print 1 GB). Wide enough for every label and explanation cpts prints.
pub const CELL_MAX: usize = 120;

/// A cell as printed: control characters escaped, cut with « … » beyond `CELL_MAX` characters.
fn display(cell: &str) -> String {
    // Only the start can be shown: never escape more than that.
    let head: String = cell.chars().take(CELL_MAX.saturating_add(1)).collect();
    let escaped = escape(&head, false);
    if escaped.chars().count() <= CELL_MAX {
        return escaped.into_owned();
    }
    let mut cut: String = escaped.chars().take(CELL_MAX.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

pub struct Table {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns: (title, right-aligned).
    pub fn new(cols: &[(&str, bool)]) -> Self {
        Table {
            header: cols.iter().map(|c| c.0.to_string()).collect(),
            right: cols.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let n = self.header.len();
        let mut widths = vec![0usize; n];
        let shown = |r: &Vec<String>| r.iter().map(|c| display(c)).collect::<Vec<String>>();
        let header = shown(&self.header);
        let rows: Vec<Vec<String>> = self.rows.iter().map(shown).collect();
        for r in std::iter::once(&header).chain(&rows) {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |r: &Vec<String>| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .zip(&self.right)
                .map(|((c, w), right)| {
                    let pad = w.saturating_sub(c.chars().count());
                    if *right { format!("{}{c}", " ".repeat(pad)) } else { format!("{c}{}", " ".repeat(pad)) }
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        };
        let mut out = line(&header);
        out.push('\n');
        out.push_str(&widths.iter().map(|w| "─".repeat(*w)).collect::<Vec<_>>().join("  "));
        for r in &rows {
            out.push('\n');
            out.push_str(&line(r));
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped_and_cut_so_one_value_cannot_flood_the_table() {
        let mut t = Table::new(&[("Nom", false), ("N", true)]);
        t.row(vec!["x".repeat(1_000_000), "1".into()]);
        t.row(vec!["a\u{1b}]52;c;ZXZpbA==\u{7}b".into(), "2".into()]);
        let out = t.render();
        assert!(out.lines().all(|l| l.chars().count() <= CELL_MAX + 10), "{}", out.len());
        assert!(out.contains(&format!("{}… ", "x".repeat(CELL_MAX - 1))), "{out}");
        assert!(out.contains("a\\u{1b}]52;c;ZXZpbA==\\u{7}b"), "{out}");
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'));
    }
}
