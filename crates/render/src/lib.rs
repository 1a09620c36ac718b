//! Rendering of domain documents: PDF (A4, the PDF standard font Helvetica, so nothing is
//! embedded and the file opens everywhere), CSV (`;`, UTF-8 with BOM, for Excel), XLSX (one
//! sheet per table) and plain text. Pure: bytes in memory, the caller writes them.

mod metrics;
mod pdf;

pub use pdf::pdf;

use cpts_domain::document::{Block, Document, Table};

/// CSV bytes for Excel in French settings: UTF-8 with BOM, `;`, rows of any length.
fn write_csv(rows: impl FnOnce(&mut csv::Writer<&mut Vec<u8>>) -> csv::Result<()>) -> Result<Vec<u8>, String> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::WriterBuilder::new().delimiter(b';').flexible(true).from_writer(&mut out);
        rows(&mut w).map_err(|e| e.to_string())?;
        w.flush().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// A CSV file of one table.
pub fn table_csv(header: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    write_csv(|w| {
        w.write_record(header)?;
        rows.iter().try_for_each(|r| w.write_record(r))
    })
}

/// A document's tables as one CSV: each table preceded by its name, a blank line between.
pub fn csv(doc: &Document) -> Result<Vec<u8>, String> {
    write_csv(|w| {
        w.write_record([doc.title.as_str()])?;
        for t in tables(doc) {
            w.write_record([""])?;
            w.write_record([t.name.as_str()])?;
            w.write_record(&t.header)?;
            t.rows.iter().try_for_each(|r| w.write_record(r))?;
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
