//! Plain-text tables for the terminal (widths in characters, amounts right-aligned).
//! Every cell is escaped (stored text may hold terminal escapes) and cut to `CELL_MAX`.
//! On a terminal, a table wider than it has its widest text columns wrapped onto more lines;
//! into a pipe or a file, each row stays on one line (for grep, cut, awk).

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

/// Text columns are first narrowed down to this, then down to their longest word (no word
/// cut), then, on a terminal still too narrow, down to `WRAP_FLOOR`, cutting words.
const WRAP_MIN: usize = 14;
/// A text column is never wrapped narrower than this.
const WRAP_FLOOR: usize = 8;

/// The terminal's width in columns when standard output is one; None when it is a pipe or a
/// file (or the width is unknown).
fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let from_env = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    from_env.or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
}

/// `text` cut into lines of at most `width` characters, at spaces where it can.
fn wrapped(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        let used = line.chars().count();
        if used > 0 && used + 1 + word.len() <= width {
            line.push(' ');
            line.extend(&word);
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
        }
        while word.len() > width {
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
        line.extend(&word);
    }
    lines.push(line);
    lines
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

    /// The table, fitted to the terminal when printed on one.
    pub fn render(&self) -> String {
        self.render_within(terminal_width())
    }

    /// The table; with `max` columns, its widest text columns narrowed in turn (down to
    /// `WRAP_MIN`, then their longest word, then `WRAP_FLOOR`) and their cells wrapped until
    /// the rows fit.
    pub fn render_within(&self, max: Option<usize>) -> String {
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
        if let Some(max) = max {
            let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
            let text = |i: usize| !self.right.get(i).copied().unwrap_or(true);
            let longest_word = |i: usize| {
                std::iter::once(&header)
                    .chain(&rows)
                    .filter_map(|r| r.get(i))
                    .flat_map(|c| c.split(' '))
                    .map(|w| w.chars().count())
                    .max()
                    .unwrap_or(0)
                    .clamp(WRAP_FLOOR, WRAP_MIN)
            };
            let words: Vec<usize> = (0..n).map(longest_word).collect();
            // Each stage narrows the text columns down to its floor before the next one starts.
            let stages: [&dyn Fn(usize) -> usize; 3] =
                [&|_| WRAP_MIN, &|i| words.get(i).copied().unwrap_or(WRAP_MIN), &|_| WRAP_FLOOR];
            for floor in stages {
                while total(&widths) > max {
                    // One character at a time off the widest: the text columns end up balanced.
                    let widest = (0..n)
                        .filter(|&i| text(i) && widths.get(i).is_some_and(|w| *w > floor(i)))
                        .max_by_key(|&i| widths.get(i).copied().unwrap_or(0));
                    let Some(w) = widest.and_then(|i| widths.get_mut(i)) else { break };
                    *w -= 1;
                }
            }
        }
        let line = |r: &Vec<String>| {
            let cells: Vec<Vec<String>> = r.iter().zip(&widths).map(|(c, w)| if c.chars().count() > *w { wrapped(c, *w) } else { vec![c.clone()] }).collect();
            let height = cells.iter().map(Vec::len).max().unwrap_or(1);
            let mut lines = Vec::with_capacity(height);
            for k in 0..height {
                let parts: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .zip(&self.right)
                    .map(|((c, w), right)| {
                        let c = c.get(k).map_or("", String::as_str);
                        let pad = w.saturating_sub(c.chars().count());
                        if *right { format!("{}{c}", " ".repeat(pad)) } else { format!("{c}{}", " ".repeat(pad)) }
                    })
                    .collect();
                lines.push(parts.join("  ").trim_end().to_string());
            }
            lines.join("\n")
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

    #[test]
    fn on_a_narrow_terminal_the_widest_text_column_wraps_and_amounts_stay_whole() {
        let mut t = Table::new(&[("N°", true), ("Objet", false), ("Montant", true), ("Statut", false)]);
        let object = "ACI n° 1, année 2 — Parcours pluriprofessionnels – part fixe — solde";
        let status = "prévu (rapport d'activité de l'année 2 à valider)";
        t.row(vec!["15".into(), object.into(), "3 750,00 €".into(), status.into()]);
        t.row(vec!["16".into(), "court".into(), "12 500,00 €".into(), "exigible".into()]);
        // Into a pipe: one line per row, whatever its width.
        let flat = t.render_within(None);
        assert_eq!(flat.lines().count(), 4);
        assert!(flat.lines().any(|l| l.chars().count() > 80), "{flat}");
        // On an 80-column terminal: every line fits, no word is lost, amounts are not cut.
        let fitted = t.render_within(Some(80));
        assert!(fitted.lines().all(|l| l.chars().count() <= 80), "{fitted}");
        assert!(fitted.lines().count() > 4, "{fitted}");
        assert!(fitted.contains("3 750,00 €") && fitted.contains("12 500,00 €"), "{fitted}");
        // Every character is still there (a word longer than its column is split, not lost).
        let chars = |s: &str| {
            let mut c: Vec<char> = s.chars().filter(|c| !c.is_whitespace() && *c != '─').collect();
            c.sort_unstable();
            c
        };
        assert_eq!(chars(&fitted), chars(&flat));
        // Too narrow to fit: columns stop shrinking at WRAP_FLOOR rather than vanish.
        let tight = t.render_within(Some(20));
        assert!(tight.contains("3 750,00 €"), "{tight}");
        assert!(tight.lines().nth(1).is_some_and(|l| l.starts_with("──  ────────  ")), "{tight}");
    }

    #[test]
    fn a_ledger_fits_eighty_columns_with_its_words_whole() {
        // Seven columns, three of them amounts or dates that are never cut.
        let mut t = Table::new(crate::contracts::LEDGER_COLUMNS);
        t.row(
            [
                "12",
                "30/04/2022",
                "Assurance Maladie (CPAM 75)",
                "ACI n° 1, année 1 — fonctionnement — solde",
                "148 000,00 €",
                "0,00 €",
                "prévu (rapport de l'année 1 à valider)",
            ]
            .map(String::from)
            .to_vec(),
        );
        let fitted = t.render_within(Some(80));
        assert!(fitted.lines().all(|l| l.chars().count() <= 80), "{fitted}");
        for word in ["30/04/2022", "Assurance", "fonctionnement", "148 000,00 €", "valider)"] {
            assert!(fitted.contains(word), "{word} cut:\n{fitted}");
        }
    }

    #[test]
    fn wrapping_cuts_at_spaces_and_splits_only_words_longer_than_the_column() {
        assert_eq!(wrapped("a bc def", 4), ["a bc", "def"]);
        assert_eq!(wrapped("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrapped("", 4), [""]);
    }
}
