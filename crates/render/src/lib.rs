//! Documents and tables, written and read. Written: PDF (A4, the PDF standard font Helvetica,
//! so nothing is embedded and the file opens everywhere), CSV (`;`, UTF-8 with BOM, for Excel),
//! XLSX (one sheet per table) and plain text. Read: CSV and XLSX tables (`read_table`). Pure:
//! bytes in memory, the caller reads and writes files.

mod metrics;
mod pdf;
mod read;

pub use pdf::pdf;
pub use read::{LIMITS, XlsxLimits, read_table, read_table_with};

use std::borrow::Cow;

use cpts_domain::document::{Block, Document, Table};

/// A CSV writer whose every cell goes through `inert`.
struct Csv<'a>(csv::Writer<&'a mut Vec<u8>>);

impl Csv<'_> {
    fn row<'c>(&mut self, cells: impl IntoIterator<Item = &'c String>) -> csv::Result<()> {
        self.0.write_record(cells.into_iter().map(|c| Field(inert(c))))
    }
}

struct Field<'c>(Cow<'c, str>);

impl AsRef<[u8]> for Field<'_> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// CSV bytes for Excel in French settings: UTF-8 with BOM, `;`, rows of any length.
fn write_csv(rows: impl FnOnce(&mut Csv<'_>) -> csv::Result<()>) -> Result<Vec<u8>, String> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = Csv(csv::WriterBuilder::new().delimiter(b';').flexible(true).from_writer(&mut out));
        rows(&mut w).map_err(|e| e.to_string())?;
        w.0.flush().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// A cell Excel or LibreOffice would run as a formula (`=`, `+`, `-`, `@`, a tab or a carriage
/// return first: OWASP « CSV injection ») is written after a `'`, which makes it text; a number
/// (`-12,5`, `+3`, `-1 234,50 €`, `-5 %`) stays as is, so numeric columns keep their figures.
pub fn inert(cell: &str) -> Cow<'_, str> {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && !is_number(cell) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// A signed decimal number as written in France or plainly (digits grouped by spaces,
/// decimal comma or point), with an optional `%` or `€`: nothing a spreadsheet could run.
fn is_number(cell: &str) -> bool {
    let body = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let body = body.trim_end_matches(['%', '€']).trim_end_matches([' ', '\u{a0}', '\u{202f}']);
    let mut digits = 0;
    let mut separators = 0;
    for c in body.chars() {
        match c {
            '0'..='9' => digits += 1,
            ',' | '.' => separators += 1,
            ' ' | '\u{a0}' | '\u{202f}' if digits > 0 => {}
            _ => return false,
        }
    }
    digits > 0 && separators <= 1 && body.starts_with(|c: char| c.is_ascii_digit())
}

/// A CSV file of one table.
pub fn table_csv(header: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    write_csv(|w| {
        w.row(header)?;
        rows.iter().try_for_each(|r| w.row(r))
    })
}

/// A document's tables as one CSV: each table preceded by its name, a blank line between.
pub fn csv(doc: &Document) -> Result<Vec<u8>, String> {
    write_csv(|w| {
        w.row([&doc.title])?;
        let blank = String::new();
        for t in tables(doc) {
            w.row([&blank])?;
            w.row([&t.name])?;
            w.row(&t.header)?;
            t.rows.iter().try_for_each(|r| w.row(r))?;
        }
        Ok(())
    })
}

fn tables(doc: &Document) -> impl Iterator<Item = &Table> {
    doc.blocks.iter().filter_map(|b| match b {
        Block::Table(t) => Some(t),
        _ => None,
    })
}

/// Sheets (name, header, rows) as an XLSX workbook.
pub fn sheets_xlsx<'a>(
    sheets: impl IntoIterator<Item = (&'a str, &'a [String], &'a [Vec<String>])>,
) -> Result<Vec<u8>, String> {
    let w = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let mut names = std::collections::BTreeSet::new();
    for (name, header, rows) in sheets {
        let sheet = book.add_worksheet();
        // Excel: at most 31 characters, unique, none of []:*?/\
        let mut n: String = name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(28).collect();
        while !names.insert(n.clone()) {
            n.push('+');
        }
        sheet.set_name(&n).map_err(w)?;
        for (c, h) in (0u16..).zip(header) {
            sheet.write_string_with_format(0, c, h, &bold).map_err(w)?;
        }
        for (r, row) in (1u32..).zip(rows) {
            for (c, v) in (0u16..).zip(row) {
                sheet.write_string(r, c, v).map_err(w)?;
            }
        }
        sheet.autofit();
    }
    book.save_to_buffer().map_err(w)
}

/// A document's tables as an XLSX workbook, one sheet each.
pub fn xlsx(doc: &Document) -> Result<Vec<u8>, String> {
    sheets_xlsx(tables(doc).map(|t| (t.name.as_str(), t.header.as_slice(), t.rows.as_slice())))
}

/// Plain text for a terminal.
pub fn text(doc: &Document) -> String {
    let mut out = format!("{}\n", doc.title);
    for l in &doc.subtitle {
        out.push_str(&format!("{l}\n"));
    }
    for b in &doc.blocks {
        match b {
            Block::Heading(h) => out.push_str(&format!("\n{h}\n{}\n", "─".repeat(h.chars().count()))),
            Block::Text(t) => out.push_str(&format!("{t}\n")),
            Block::Table(t) => out.push_str(&text_table(t)),
        }
    }
    out
}

fn text_table(t: &Table) -> String {
    let n = t.header.len();
    let mut widths: Vec<usize> = t.header.iter().map(|h| h.chars().count()).collect();
    for r in &t.rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate().take(n) {
            let pad = w.saturating_sub(c.chars().count());
            let right = t.right.get(i).copied().unwrap_or(false);
            if i > 0 {
                s.push_str("  ");
            }
            if right {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            }
        }
        format!("{}\n", s.trim_end())
    };
    let mut out = line(&t.header);
    out.push_str(&format!("{}\n", "-".repeat(widths.iter().sum::<usize>() + 2 * n.saturating_sub(1))));
    for r in &t.rows {
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_would_run_as_formulas_are_written_as_text() {
        let header = vec!["Nom".to_string(), "Montant".to_string()];
        let hostile =
            ["=HYPERLINK(\"http://x\";\"clic\")", "=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", "\tx", "\rx"];
        let numbers = ["-12,5", "+3", "-1 234,50 €", "-5 %", "-240\u{a0}000,00 €", "12.5", "-0.5"];
        let rows: Vec<Vec<String>> =
            hostile.iter().zip(numbers).map(|(h, n)| vec![(*h).to_string(), n.to_string()]).collect();
        let bytes = table_csv(&header, &rows).unwrap();
        let back = read_table(&bytes).unwrap();
        for ((_, cells), (h, n)) in back.rows.iter().zip(hostile.iter().zip(numbers)) {
            assert_eq!(cells[0], format!("'{h}"), "{h}");
            assert_eq!(cells[1], n, "{n}");
        }
        assert_eq!(inert("Martin"), "Martin");
        assert_eq!(inert("-"), "'-");
        assert_eq!(inert("-1,2,3"), "'-1,2,3");
    }

    #[test]
    fn a_report_csv_neutralises_formulas_and_keeps_its_figures() {
        let mut t = Table::new("Dépenses", &[("Poste", 3, false), ("Montant", 1, true)]);
        t.rows.push(vec!["=HYPERLINK(\"http://x\")".into(), "-1 234,50 €".into()]);
        let doc = Document { title: "@Rapport".into(), blocks: vec![Block::Table(t)], ..Default::default() };
        let text = String::from_utf8(csv(&doc).unwrap()).unwrap();
        assert!(text.starts_with("\u{feff}'@Rapport"), "{text}");
        assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\";-1 234,50 €"), "{text}");
    }

    #[test]
    fn xlsx_exports_write_formula_text_as_a_string_cell() {
        use std::io::Read;
        let header = vec!["Nom".to_string()];
        let rows = vec![vec!["=HYPERLINK(\"http://x\")".to_string()], vec!["-12,5".to_string()]];
        let bytes = sheets_xlsx([("Membres", header.as_slice(), rows.as_slice())]).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let mut sheet = String::new();
        zip.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut sheet).unwrap();
        assert!(!sheet.contains("<f>"), "{sheet}");
        let back = read_table(&bytes).unwrap();
        assert_eq!(back.rows[0].1, ["=HYPERLINK(\"http://x\")"]);
        assert_eq!(back.rows[1].1, ["-12,5"]);
    }
}
