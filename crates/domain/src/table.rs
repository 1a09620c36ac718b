//! Tables read from files (CSV, XLSX), before any meaning is given to their cells: the header,
//! the rows with their line numbers, header matching, and the errors reported per line and
//! column. The bytes are read by `cpts_render::read_table`; imports (members, indicator values)
//! turn a `RawTable` into domain values.

use std::collections::BTreeMap;
use std::fmt;

use crate::geo::fold;

/// Sanity limits on outside input (not ACI rules): one place, each with why.
pub mod limits {
    /// Characters in one cell: Excel's own maximum (32 767), so no real spreadsheet is refused.
    pub const MAX_CELL_CHARS: usize = 32_767;
    /// Columns of a table: imports use at most seven; room for a few extra columns of notes,
    /// which are reported as unknown. A sheet claiming column XFD is refused, not allocated.
    pub const MAX_COLUMNS: usize = 64;
    /// Data rows of a table: above the largest import benchmarked (2.4 M values,
    /// docs/benchmarks.md) and Excel's 1 048 576 rows, well below what memory allows.
    pub const MAX_ROWS: usize = 5_000_000;
    /// Characters of one error message: the longest real one (a list of the professions) is
    /// about 400; anything beyond is file content.
    pub const MAX_MESSAGE_CHARS: usize = 1_000;
    /// Errors listed for one file; the rest are counted. A file with a million bad rows
    /// would otherwise print a hundred megabytes.
    pub const MAX_ERRORS_SHOWN: usize = 100;
}

/// A quotation of file content, cut like every quotation in cpts.
pub use cpts_engine::yaml::excerpt as shorten;
use limits::{MAX_ERRORS_SHOWN, MAX_MESSAGE_CHARS};

/// A table read from a file: header, then (line number, cells). Line numbers are the file's
/// (1 = the header in a CSV, the spreadsheet's row number in an XLSX).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawTable {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// One problem in a file or form: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub column: String,
    pub message: String,
}

impl LineError {
    /// The column and the message are shortened where they quote file content (see `bounded`):
    /// a hostile cell of a gigabyte must not come back whole in the error.
    pub fn new(line: usize, column: &str, message: impl Into<String>) -> LineError {
        LineError { line, column: shorten(column), message: bounded(&message.into()) }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column.is_empty()) {
            (0, true) => write!(f, "{}", self.message),
            (0, false) => write!(f, "{} : {}", self.column, self.message),
            (_, true) => write!(f, "ligne {} : {}", self.line, self.message),
            (_, false) => write!(f, "ligne {}, colonne « {} » : {}", self.line, self.column, self.message),
        }
    }
}

/// A message whose quotations (between « and ») are shortened, and which is cut at
/// `MAX_MESSAGE_CHARS` characters whatever it quotes.
pub fn bounded(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS * 4));
    let mut rest = message;
    while let Some((before, after)) = rest.split_once('«') {
        out.push_str(before);
        out.push('«');
        match after.split_once('»') {
            Some((quoted, tail)) => {
                // French quotation marks hold their spaces: « x ». Only the quoted text is cut.
                let inner = quoted.trim_matches(' ');
                let pad = if inner.len() < quoted.len() { " " } else { "" };
                out.push_str(pad);
                out.push_str(&shorten(inner));
                out.push_str(pad);
                out.push('»');
                rest = tail;
            }
            None => {
                out.push_str(&shorten(after));
                rest = "";
            }
        }
        if out.len() > MAX_MESSAGE_CHARS * 4 {
            break;
        }
    }
    out.push_str(rest.get(..rest.len().min(MAX_MESSAGE_CHARS * 4)).unwrap_or_default());
    match out.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", out.get(..at).unwrap_or_default()),
        None => out,
    }
}

/// The errors of a file, one per line (« - ligne 3, colonne … »): the first
/// `MAX_ERRORS_SHOWN`, then how many more.
pub fn error_list(errors: &[LineError]) -> String {
    let mut out: Vec<String> = errors.iter().take(MAX_ERRORS_SHOWN).map(|e| format!("  - {e}")).collect();
    match errors.len().saturating_sub(MAX_ERRORS_SHOWN) {
        0 => {}
        1 => out.push("  … et 1 autre erreur".into()),
        more => out.push(format!("  … et {more} autres erreurs")),
    }
    out.join("\n")
}

/// A header compared without accents, case or punctuation (« N° RPPS » = « n rpps »).
fn key(h: &str) -> String {
    fold(h)
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A column of an import: its label, the headers accepted for it (folded by `key`), required.
pub type ColumnSpec<'a> = (&'a str, &'a [&'a str], bool);

/// Find each column (label, accepted headers folded, required) in the header: unknown and
/// missing required columns are errors. Returns the position of each column found.
pub fn columns<'a>(table: &RawTable, spec: &[ColumnSpec<'a>]) -> Result<BTreeMap<&'a str, usize>, Vec<LineError>> {
    header_columns(&table.header, spec)
}

/// `columns` of a header alone (a table read as a stream of rows).
pub fn header_columns<'a>(header: &[String], spec: &[ColumnSpec<'a>]) -> Result<BTreeMap<&'a str, usize>, Vec<LineError>> {
    let folded: Vec<String> = header.iter().map(|h| key(h)).collect();
    let mut errors = Vec::new();
    let mut index = BTreeMap::new();
    for (label, aliases, required) in spec {
        match folded.iter().position(|h| aliases.contains(&h.as_str())) {
            Some(i) => {
                index.insert(*label, i);
            }
            None if *required => errors.push(LineError::new(1, label, "colonne absente de l'en-tête")),
            None => {}
        }
    }
    let expected: Vec<&str> = spec.iter().map(|c| c.0).collect();
    for (i, h) in header.iter().enumerate() {
        if !index.values().any(|v| *v == i) && !h.trim().is_empty() {
            errors.push(LineError::new(
                1,
                h,
                format!("colonne inconnue (colonnes attendues : {})", expected.join(", ")),
            ));
        }
    }
    if errors.is_empty() { Ok(index) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpts_engine::yaml::MAX_QUOTE as MAX_QUOTE_CHARS;

    #[test]
    fn quoted_content_is_shortened_and_messages_bounded() {
        let cell = "x".repeat(10_000);
        let e = LineError::new(3, &cell, format!("« {cell} » inconnu ; valeurs possibles : a, b"));
        assert_eq!(e.column.chars().count(), MAX_QUOTE_CHARS + 1);
        assert!(e.message.ends_with("… » inconnu ; valeurs possibles : a, b"), "{}", e.message);
        assert!(e.message.chars().count() < 2 * MAX_QUOTE_CHARS);
        // An unclosed quotation, or content outside guillemets, is bounded all the same.
        let e = LineError::new(3, "", format!("« {cell}"));
        assert!(e.message.chars().count() <= MAX_QUOTE_CHARS + 3);
        let e = LineError::new(3, "", cell.clone());
        assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS + 1);
        // Short messages are untouched, accents included.
        assert_eq!(LineError::new(2, "Nom", "« Éloïse » déjà là").message, "« Éloïse » déjà là");
    }

    #[test]
    fn long_error_lists_show_the_first_and_count_the_rest() {
        let errors: Vec<LineError> = (2..=1_001).map(|l| LineError::new(l, "CPTS", "inconnue")).collect();
        let text = error_list(&errors);
        assert_eq!(text.lines().count(), MAX_ERRORS_SHOWN + 1);
        assert!(text.starts_with("  - ligne 2, colonne « CPTS » : inconnue"), "{text}");
        assert!(text.ends_with("  … et 900 autres erreurs"), "{text}");
        assert_eq!(error_list(errors.get(..2).unwrap_or_default()).lines().count(), 2);
    }
}
