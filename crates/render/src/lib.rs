//! Documents and tables, written and read. Written: PDF (A4, the PDF standard font Helvetica,
//! so nothing is embedded and the file opens everywhere), CSV (`;`, UTF-8 with BOM, for Excel),
//! XLSX (one sheet per table) and plain text. Read: CSV and XLSX tables (`read_table`). Pure:
//! bytes in memory, the caller reads and writes files.

mod metrics;
mod pdf;
mod read;

pub use pdf::pdf;
pub use read::{LIMITS, TableRows, XlsxLimits, read_table, read_table_rows, read_table_rows_with, read_table_with};

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

/// A document's tables as one CSV: its title and header lines (parties, period, version and
/// status), then each table preceded by its name, a blank line between.
pub fn csv(doc: &Document) -> Result<Vec<u8>, String> {
    write_csv(|w| {
        w.row([&doc.title])?;
        doc.subtitle.iter().try_for_each(|l| w.row([l]))?;
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

/// Sheets (name, header, rows) as an XLSX workbook, every cell as text (member and value
/// exports, which are read back as they were written).
pub fn sheets_xlsx<'a>(
    sheets: impl IntoIterator<Item = (&'a str, &'a [String], &'a [Vec<String>])>,
) -> Result<Vec<u8>, String> {
    workbook(sheets.into_iter().map(|(n, h, r)| Sheet { name: n, lines: &[], header: h, rows: r, right: &[] }))
}

/// One sheet: lines above the table (a document's title and header), the table, and which of
/// its columns are numeric (right-aligned), whose figures are written as numbers.
struct Sheet<'a> {
    name: &'a str,
    lines: &'a [String],
    header: &'a [String],
    rows: &'a [Vec<String>],
    right: &'a [bool],
}

fn workbook<'a>(sheets: impl IntoIterator<Item = Sheet<'a>>) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::Format;
    let w = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let euros = Format::new().set_num_format("#,##0.00\\ \"€\"");
    let rate = Format::new().set_num_format("0.00\\ %");
    let mut names = std::collections::BTreeSet::new();
    for s in sheets {
        let sheet = book.add_worksheet();
        // Excel: at most 31 characters, unique, none of []:*?/\
        let mut n: String = s.name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(28).collect();
        while !names.insert(n.clone()) {
            n.push('+');
        }
        sheet.set_name(&n).map_err(w)?;
        let mut first = 0u32;
        for (r, l) in (0u32..).zip(s.lines) {
            if r == 0 { sheet.write_string_with_format(r, 0, l, &bold) } else { sheet.write_string(r, 0, l) }
                .map_err(w)?;
            first = r.saturating_add(2);
        }
        if s.header.is_empty() {
            continue;
        }
        for (c, h) in (0u16..).zip(s.header) {
            sheet.write_string_with_format(first, c, h, &bold).map_err(w)?;
        }
        for (r, row) in (first.saturating_add(1)..).zip(s.rows) {
            for (c, v) in (0u16..).zip(row) {
                let numeric = s.right.get(usize::from(c)).copied().unwrap_or(false);
                match typed(v, numeric) {
                    Typed::Date(y, m, d) => {
                        let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(y, m, d).map_err(w)?;
                        sheet.write_datetime_with_format(r, c, &dt, &date).map_err(w)?
                    }
                    Typed::Amount(x) => sheet.write_number_with_format(r, c, x, &euros).map_err(w)?,
                    Typed::Rate(x) => sheet.write_number_with_format(r, c, x, &rate).map_err(w)?,
                    Typed::Number(x) => sheet.write_number(r, c, x).map_err(w)?,
                    Typed::Text => sheet.write_string(r, c, v).map_err(w)?,
                };
            }
        }
        sheet.autofit();
    }
    book.save_to_buffer().map_err(w)
}

/// A cell as a spreadsheet should hold it.
#[derive(Debug, PartialEq)]
enum Typed {
    /// A date written JJ/MM/AAAA (any column).
    Date(u16, u8, u8),
    /// In a numeric column: euros (`1 234,50 €`), a rate (`80 %`, as 0.8) or a plain number.
    Amount(f64),
    Rate(f64),
    Number(f64),
    Text,
}

fn typed(cell: &str, numeric: bool) -> Typed {
    if let [d1, d2, b'/', m1, m2, b'/', y1, y2, y3, y4] = cell.as_bytes()
        && [d1, d2, m1, m2, y1, y2, y3, y4].iter().all(|c| c.is_ascii_digit())
        && let (Some(d), Some(m), Some(y)) = (cell.get(0..2), cell.get(3..5), cell.get(6..10))
        && let (Ok(d), Ok(m), Ok(y)) = (d.parse::<u8>(), m.parse::<u8>(), y.parse::<u16>())
        && jiff::civil::Date::new(
            i16::try_from(y).unwrap_or(0),
            i8::try_from(m).unwrap_or(0),
            i8::try_from(d).unwrap_or(0),
        )
        .is_ok()
    {
        return Typed::Date(y, m, d);
    }
    if !numeric || !is_number(cell) {
        return Typed::Text;
    }
    let body = cell.trim_end_matches(['%', '€']);
    let digits: String = body
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    // A rate is parsed already divided by 100 (`79.99e-2`): exact to the last digit shown.
    let rate = cell.ends_with('%');
    let digits = if rate { format!("{digits}e-2") } else { digits };
    match digits.parse::<f64>() {
        Ok(x) if x.is_finite() && cell.ends_with('€') => Typed::Amount(x),
        Ok(x) if x.is_finite() && rate => Typed::Rate(x),
        Ok(x) if x.is_finite() => Typed::Number(x),
        _ => Typed::Text,
    }
}

/// A document as an XLSX workbook: a first sheet with its title and header lines, then one
/// sheet per table, numbers, amounts, rates and dates as such.
pub fn xlsx(doc: &Document) -> Result<Vec<u8>, String> {
    let mut lines = vec![doc.title.clone()];
    lines.extend(doc.subtitle.iter().cloned());
    let head = Sheet { name: "Rapport", lines: &lines, header: &[], rows: &[], right: &[] };
    workbook(std::iter::once(head).chain(tables(doc).map(|t| Sheet {
        name: t.name.as_str(),
        lines: &[],
        header: &t.header,
        rows: &t.rows,
        right: &t.right,
    })))
}

/// One table as an XLSX workbook of one sheet, typed like a document's tables.
pub fn table_xlsx(t: &Table) -> Result<Vec<u8>, String> {
    workbook([Sheet { name: &t.name, lines: &[], header: &t.header, rows: &t.rows, right: &t.right }])
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

    #[test]
    fn a_report_xlsx_has_its_header_and_real_numbers_amounts_rates_and_dates() {
        use std::io::Read;
        let mut t = Table::new(
            "Recettes",
            &[("Date", 1, false), ("Objet", 3, false), ("Montant", 1, true), ("Taux", 1, true), ("Nb", 1, true)],
        );
        t.row(vec!["15/01/2025".into(), "Solde".into(), "1 234,50 €".into(), "80 %".into(), "12".into()]);
        t.row(vec!["31/02/2025".into(), "=1+1".into(), "–".into(), "79,99 %".into(), "-3,5".into()]);
        let doc = Document {
            title: "Rapport d'activité CPTS X – année 1".into(),
            subtitle: vec!["Contrat ACI n° 1".into(), "Version 2 – statut : validé".into()],
            blocks: vec![Block::Table(t)],
            ..Default::default()
        };
        let bytes = xlsx(&doc).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let mut head = String::new();
        zip.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut head).unwrap();
        let mut strings = String::new();
        zip.by_name("xl/sharedStrings.xml").unwrap().read_to_string(&mut strings).unwrap();
        assert!(strings.contains("Version 2 – statut : validé") && strings.contains("Contrat ACI n° 1"), "{strings}");
        let mut sheet = String::new();
        zip.by_name("xl/worksheets/sheet2.xml").unwrap().read_to_string(&mut sheet).unwrap();
        // 15/01/2025 is Excel serial 45672; amounts, rates and counts are numbers (no t="s").
        for v in ["<v>45672</v>", "<v>1234.5</v>", "<v>0.8</v>", "<v>12</v>", "<v>0.7999</v>", "<v>-3.5</v>"] {
            assert!(sheet.contains(v), "{v}: {sheet}");
        }
        assert!(!sheet.contains("<f>"), "{sheet}");
        // Not a date (31 February), a dash, a formula: text.
        assert!(strings.contains("31/02/2025") && strings.contains("=1+1") && strings.contains("–"), "{strings}");
        assert_eq!(typed("1 234,50 €", false), Typed::Text);
        assert_eq!(typed("75118", false), Typed::Text);
    }

    #[test]
    fn a_report_csv_carries_its_header_lines() {
        let doc = Document {
            title: "Rapport".into(),
            subtitle: vec!["Contrat ACI n° 1 signé le 15/01/2024".into(), "Version 1 – statut : soumis".into()],
            ..Default::default()
        };
        let text = String::from_utf8(csv(&doc).unwrap()).unwrap();
        assert!(
            text.contains("Rapport\nContrat ACI n° 1 signé le 15/01/2024\nVersion 1 – statut : soumis"),
            "{text:?}"
        );
    }
}
