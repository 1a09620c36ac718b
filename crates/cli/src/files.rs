//! Tables as French users write them: CSV (`;` or `,`, UTF-8 with or without BOM) or XLSX
//! (first sheet), read into text cells with their line numbers; headers matched without
//! accents, case or punctuation. Used by every import (members, indicator values).

use std::collections::BTreeMap;
use std::path::Path;

use cpts_domain::geo::fold;
pub use cpts_domain::values::LineError;
use jiff::civil::Date;

/// A table read from a file: header, then (line number, cells).
pub struct RawTable {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

fn err(line: usize, column: &str, message: impl Into<String>) -> LineError {
    LineError::new(line, column, message)
}

/// Read a CSV or XLSX file (by content, not only by name).
pub fn read_table(path: &Path) -> Result<RawTable, LineError> {
    let bytes = std::fs::read(path).map_err(|e| err(0, "", format!("lecture impossible : {e}")))?;
    if bytes.starts_with(b"PK") {
        return read_xlsx(bytes);
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        err(
            bytes.get(..e.valid_up_to()).map_or(0, |b| b.iter().filter(|c| **c == b'\n').count() + 1),
            "",
            "le fichier n'est pas en UTF-8 (probablement Windows-1252 / Latin-1) : dans Excel, « Enregistrer sous » → « CSV UTF-8 (délimité par des points-virgules) »",
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains(';') || !first.contains(',') { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| err(1, "", format!("en-tête illisible : {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    let mut lines = Lines { text, offset: 0, line: 1 };
    for record in reader.records() {
        let record = record
            .map_err(|e| err(e.position().map_or(0, |p| lines.at(p.byte())), "", format!("ligne illisible : {e}")))?;
        let line = record.position().map_or(0, |p| lines.at(p.byte()));
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(RawTable { header, rows })
}

/// Line numbers counted from the text itself (the csv crate's own drift with CRLF endings and
/// blank lines), incrementally: records come in order.
struct Lines<'a> {
    text: &'a str,
    /// Bytes counted so far, and the line after them.
    offset: usize,
    line: usize,
}

impl Lines<'_> {
    /// The line of a record starting at byte `offset`. The csv crate's offset may point at the
    /// line feed ending the previous line, hence the byte itself is counted.
    fn at(&mut self, offset: u64) -> usize {
        let end = usize::try_from(offset).unwrap_or(usize::MAX).saturating_add(1).min(self.text.len());
        if end > self.offset {
            let b = self.text.as_bytes().get(self.offset..end).unwrap_or(&[]);
            self.line += b.iter().filter(|c| **c == b'\n').count();
            self.offset = end;
        }
        self.line
    }
}

/// Excel's day serial (1 = 1900-01-01, with its 1900 leap-year bug) to a civil date.
fn excel_date(serial: f64) -> Option<Date> {
    let days = serial.floor();
    if !(1.0..=2_958_465.0).contains(&days) {
        return None;
    }
    // Whole days only, within range: the conversion is exact.
    #[allow(clippy::as_conversions, clippy::cast_possible_truncation)]
    let days = days as i64;
    jiff::civil::date(1899, 12, 30).checked_add(jiff::Span::new().days(days)).ok()
}

fn read_xlsx(bytes: Vec<u8>) -> Result<RawTable, LineError> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| err(0, "", format!("classeur XLSX illisible : {e}")))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| err(0, "", "classeur sans feuille"))?
        .map_err(|e| err(0, "", format!("feuille illisible : {e}")))?;
    let mut rows = range.rows().enumerate().map(|(i, r)| {
        let cells = r
            .iter()
            .map(|c| match c {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
                Data::Float(f) => f.to_string(),
                Data::Int(i) => i.to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTime(d) => excel_date(d.as_f64()).map_or_else(|| d.as_f64().to_string(), |x| x.to_string()),
                Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                Data::Error(e) => format!("#ERREUR {e:?}"),
            })
            .collect::<Vec<_>>();
        (i + 1, cells)
    });
    let header = rows.next().map(|(_, h)| h).ok_or_else(|| err(1, "", "feuille vide"))?;
    Ok(RawTable { header, rows: rows.filter(|(_, c)| c.iter().any(|x| !x.trim().is_empty())).collect() })
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

/// Find each column (label, accepted headers folded, required) in the header: unknown and
/// missing required columns are errors. Returns the position of each column found.
pub fn columns<'a>(
    table: &RawTable,
    spec: &[(&'a str, &[&str], bool)],
) -> Result<BTreeMap<&'a str, usize>, Vec<LineError>> {
    let folded: Vec<String> = table.header.iter().map(|h| key(h)).collect();
    let mut errors = Vec::new();
    let mut index = BTreeMap::new();
    for (label, aliases, required) in spec {
        match folded.iter().position(|h| aliases.contains(&h.as_str())) {
            Some(i) => {
                index.insert(*label, i);
            }
            None if *required => errors.push(err(1, label, "colonne absente de l'en-tête")),
            None => {}
        }
    }
    let expected: Vec<&str> = spec.iter().map(|c| c.0).collect();
    for (i, h) in table.header.iter().enumerate() {
        if !index.values().any(|v| *v == i) && !h.trim().is_empty() {
            errors.push(err(1, h, format!("colonne inconnue (colonnes attendues : {})", expected.join(", "))));
        }
    }
    if errors.is_empty() { Ok(index) } else { Err(errors) }
}

/// Write one table as CSV (`;`, UTF-8 with BOM for Excel) or XLSX, by the file's extension.
pub fn write_table(path: &Path, sheet: &str, header: &[String], rows: &[Vec<String>]) -> Result<(), String> {
    let bytes = if is_xlsx(path) {
        cpts_render::sheets_xlsx([(sheet, header, rows)])?
    } else {
        cpts_render::table_csv(header, rows)?
    };
    std::fs::write(path, bytes).map_err(|e| e.to_string())
}

pub fn is_xlsx(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
}
