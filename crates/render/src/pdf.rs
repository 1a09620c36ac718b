//! A small A4 layout: title, headings, wrapped paragraphs and tables whose header repeats on
//! each page, a footer with page numbers. Text is set in Helvetica (a PDF standard font,
//! WinAnsi encoding: every French character and €), measured with its AFM widths. The few
//! signs WinAnsi lacks (→, ≥, ≤) are set in Symbol, the standard font that has them, so a reader
//! sees the same arrow as on screen and not « -> ».

use cpts_domain::document::{Block, Document, Table};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::metrics::WIN_ANSI;

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 50.0;
const TOP: f32 = PAGE_H - 56.0;
const BOTTOM: f32 = 60.0;
const BODY: f32 = 9.5;
const CELL: f32 = 8.0;
const PAD: f32 = 3.0;

/// Signs set in the Symbol font (its built-in encoding): code and width (Adobe Core 14 AFM).
const SYMBOL: [(char, u8, u16); 3] = [('→', 0xAE, 987), ('≤', 0xA3, 549), ('≥', 0xB3, 549)];

/// Which font sets a character, its code there and its width (1/1000 em); `?` for what no
/// font can show.
fn glyph(c: char, bold: bool) -> (bool, u8, u16) {
    if let Some(&(_, code, w)) = SYMBOL.iter().find(|g| g.0 == c) {
        return (true, code, w);
    }
    let c = match c {
        '\u{202f}' | '\u{2009}' => '\u{a0}',
        '\u{2212}' => '-',
        c => c,
    };
    match WIN_ANSI.binary_search_by_key(&u32::from(c), |g| g.0) {
        Ok(i) => WIN_ANSI.get(i).map_or((false, b'?', 556), |g| (false, g.1, if bold { g.3 } else { g.2 })),
        Err(_) => (false, b'?', if bold { 611 } else { 556 }),
    }
}

/// Text as the fonts can set it: spaces inside amounts (`1 234,56 €`, `75 %`) made
/// non-breaking so lines never cut them.
fn normalize(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| chars.get(j));
        let next = chars.get(i + 1);
        match c {
            ' ' if prev.is_some_and(char::is_ascii_digit)
                && next.is_some_and(|n| n.is_ascii_digit() || *n == '€' || *n == '%') =>
            {
                out.push('\u{a0}');
            }
            c => out.push(*c),
        }
    }
    out
}

/// Runs of one font: (in Symbol, codes).
fn encode(s: &str) -> Vec<(bool, Vec<u8>)> {
    let mut runs: Vec<(bool, Vec<u8>)> = Vec::new();
    for c in s.chars() {
        let (symbol, code, _) = glyph(c, false);
        match runs.last_mut() {
            Some((f, codes)) if *f == symbol => codes.push(code),
            _ => runs.push((symbol, vec![code])),
        }
    }
    runs
}

fn width(s: &str, bold: bool, size: f32) -> f32 {
    s.chars().map(|c| f32::from(glyph(c, bold).2)).sum::<f32>() * size / 1000.0
}

/// Set a line of text at (x, y), switching to Symbol for the signs WinAnsi lacks.
fn put(page: &mut Content, x: f32, y: f32, s: &str, bold: bool, size: f32) {
    page.begin_text();
    page.next_line(x, y);
    for (symbol, codes) in encode(s) {
        let font: &[u8] = match (symbol, bold) {
            (true, _) => b"F3",
            (false, true) => b"F2",
            (false, false) => b"F1",
        };
        page.set_font(Name(font), size);
        page.show(Str(&codes));
    }
    page.end_text();
}

/// Lines of at most `max` points; words longer than a line are cut.
fn wrap(s: &str, bold: bool, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in normalize(s).split('\n') {
        let mut line = String::new();
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if width(&candidate, bold, size) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                if !line.is_empty() && width(&format!("{line}{c}"), bold, size) > max {
                    lines.push(std::mem::take(&mut line));
                }
                line.push(c);
            }
        }
        lines.push(line);
    }
    lines
}

/// A table row's cells wrapped to their columns, and the row's height.
fn cell_lines(cols: &[(f32, f32)], cells: &[String], header: bool) -> (Vec<Vec<String>>, f32) {
    let wrapped: Vec<Vec<String>> = cols
        .iter()
        .enumerate()
        .map(|(i, (_, w))| wrap(cells.get(i).map_or("", String::as_str), header, CELL, w - 2.0 * PAD))
        .collect();
    let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
    (wrapped, f32::from(u16::try_from(n).unwrap_or(u16::MAX)) * CELL * 1.25 + 2.0 * PAD)
}

/// Height of a paragraph set at `size` across the page.
fn height(s: &str, size: f32) -> f32 {
    let n = wrap(s, false, size, PAGE_W - 2.0 * MARGIN).len();
    f32::from(u16::try_from(n).unwrap_or(u16::MAX)) * size * 1.3
}

/// Columns of a table across the page: (x, width).
fn columns(t: &Table) -> Vec<(f32, f32)> {
    let total: f32 = t.widths.iter().map(|w| f32::from(*w)).sum::<f32>().max(1.0);
    let mut x = MARGIN;
    (0..t.header.len())
        .map(|i| {
            let w = f32::from(t.widths.get(i).copied().unwrap_or(1)) / total * (PAGE_W - 2.0 * MARGIN);
            let c = (x, w);
            x += w;
            c
        })
        .collect()
}

/// Height of a whole table.
fn table_height(t: &Table) -> f32 {
    let cols = columns(t);
    std::iter::once(&t.header).chain(&t.rows).map(|r| cell_lines(&cols, r, false).1).sum()
}

struct Pager {
    pages: Vec<Content>,
    page: Content,
    y: f32,
}

impl Pager {
    fn new() -> Pager {
        Pager { pages: Vec::new(), page: Content::new(), y: TOP }
    }

    fn break_page(&mut self) {
        let done = std::mem::replace(&mut self.page, Content::new());
        self.pages.push(done);
        self.y = TOP;
    }

    /// Make room for `h` points, on a new page if needed. Returns whether it broke.
    fn room(&mut self, h: f32) -> bool {
        if self.y - h < BOTTOM && self.y < TOP {
            self.break_page();
            return true;
        }
        false
    }

    fn show(&mut self, x: f32, y: f32, s: &str, bold: bool, size: f32) {
        put(&mut self.page, x, y, s, bold, size);
    }

    fn paragraph(&mut self, s: &str, bold: bool, size: f32, gap: f32) {
        let leading = size * 1.3;
        for line in wrap(s, bold, size, PAGE_W - 2.0 * MARGIN) {
            self.room(leading);
            self.y -= leading;
            self.show(MARGIN, self.y, &line, bold, size);
        }
        self.y -= gap;
    }

    fn rule(&mut self, x1: f32, x2: f32, y: f32, gray: f32) {
        self.page.set_stroke_gray(gray).set_line_width(0.5).move_to(x1, y).line_to(x2, y).stroke();
    }

    fn row(&mut self, t: &Table, cols: &[(f32, f32)], cells: &[String], header: bool) {
        let leading = CELL * 1.25;
        let (wrapped, h) = cell_lines(cols, cells, header);
        if self.room(h) && !header {
            self.row(t, cols, &t.header, true);
        }
        let top = self.y;
        if header {
            self.page.set_fill_gray(0.9).rect(MARGIN, top - h, PAGE_W - 2.0 * MARGIN, h).fill_nonzero();
            self.page.set_fill_gray(0.0);
        }
        for (i, ((x, w), lines)) in cols.iter().zip(&wrapped).enumerate() {
            let right = t.right.get(i).copied().unwrap_or(false) && !header;
            let mut y = top - PAD;
            for l in lines {
                y -= leading;
                let lx = if right { x + w - PAD - width(l, header, CELL) } else { x + PAD };
                self.show(lx, y + 2.0, l, header, CELL);
            }
        }
        self.y = top - h;
        self.rule(MARGIN, PAGE_W - MARGIN, self.y, if header { 0.4 } else { 0.75 });
    }

    fn table(&mut self, t: &Table) {
        let cols = columns(t);
        self.room(table_start(t));
        self.row(t, &cols, &t.header, true);
        for r in &t.rows {
            self.row(t, &cols, r, false);
        }
        self.y -= 10.0;
    }
}

/// Room a table needs on the page where it starts: its header with at least a few rows, or the
/// whole of a short table (a signature block).
fn table_start(t: &Table) -> f32 {
    let whole = table_height(t);
    if whole < (TOP - BOTTOM) / 4.0 { whole } else { 4.0 * CELL * 1.25 + 4.0 * PAD }
}

/// The document as a PDF file.
pub fn pdf(doc: &Document) -> Vec<u8> {
    let mut p = Pager::new();
    p.paragraph(&doc.title, true, 16.0, 4.0);
    for l in &doc.subtitle {
        p.paragraph(l, false, BODY, 0.0);
    }
    p.y -= 8.0;
    for (i, b) in doc.blocks.iter().enumerate() {
        match b {
            Block::Heading(h) => {
                // A short section (a signature block) starts on the page that can hold it whole.
                let rest = doc.blocks.get(i + 1..).unwrap_or(&[]);
                let section: f32 = rest
                    .iter()
                    .take_while(|b| !matches!(b, Block::Heading(_)))
                    .map(|b| match b {
                        Block::Text(t) => height(t, BODY) + 4.0,
                        Block::Table(t) => table_height(t) + 10.0,
                        Block::Heading(_) => 0.0,
                    })
                    .sum::<f32>()
                    + 30.0;
                // A long one: the heading with the start of what follows (no heading alone at a
                // page's foot).
                let start = match rest.first() {
                    Some(Block::Table(t)) => table_start(t) + 10.0,
                    Some(Block::Text(t)) => height(t, BODY).min(3.0 * BODY * 1.3),
                    _ => 0.0,
                };
                p.room(if section < (TOP - BOTTOM) / 4.0 { section } else { 30.0 + start });
                p.y -= 6.0;
                p.paragraph(h, true, 12.0, 3.0);
            }
            Block::Text(t) => p.paragraph(t, false, BODY, 4.0),
            Block::Table(t) => p.table(t),
        }
    }
    p.break_page();

    let mut pdf = Pdf::new();
    let (catalog, tree, regular, bold, info) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5));
    let symbol = Ref::new(6);
    let mut next = 7;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let count = p.pages.len();
    let ids: Vec<(Ref, Ref)> = (0..count).map(|_| (alloc(), alloc())).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(ids.iter().map(|(page, _)| *page)).count(i32::try_from(count).unwrap_or(i32::MAX));
    for (font, name) in [(regular, b"Helvetica".as_slice()), (bold, b"Helvetica-Bold".as_slice())] {
        pdf.type1_font(font).base_font(Name(name)).encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    // Symbol keeps its built-in encoding.
    pdf.type1_font(symbol).base_font(Name(b"Symbol"));
    for (n, (mut content, (page_id, content_id))) in p.pages.into_iter().zip(&ids).enumerate() {
        // Footer: the document's line, then the page number.
        let size = 7.5;
        let number = format!("page {} / {count}", n + 1);
        content.set_fill_gray(0.35);
        for (x, s) in [(MARGIN, doc.footer.as_str()), (PAGE_W - MARGIN - width(&number, false, size), number.as_str())]
        {
            put(&mut content, x, 32.0, s, false, size);
        }
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).parent(tree).contents(*content_id);
        page.resources().fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold).pair(Name(b"F3"), symbol);
        page.finish();
        pdf.stream(*content_id, &content.finish());
    }
    pdf.document_info(info).title(TextStr(&doc.title)).creator(TextStr("cpts")).producer(TextStr("cpts-render"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_text_is_encoded_in_win_ansi_and_measured() {
        assert_eq!(encode("été €"), vec![(false, vec![0xE9, b't', 0xE9, b' ', 0x80])]);
        // → is not in WinAnsi: Symbol sets it (arrowright); what no font has is `?`.
        assert_eq!(encode("œ→x"), vec![(false, vec![0x9C]), (true, vec![0xAE]), (false, vec![b'x'])]);
        assert_eq!(encode("≥≤"), vec![(true, vec![0xB3, 0xA3])]);
        assert_eq!(encode("✓"), vec![(false, vec![b'?'])]);
        // Helvetica: « a » is 556/1000 em, « i » 222.
        assert!((width("ai", false, 10.0) - 7.78).abs() < 1e-4);
        assert_eq!(wrap("un deux trois", false, 10.0, 30.0), vec!["un", "deux", "trois"]);
        // Amounts are never cut; arrows stay arrows.
        assert_eq!(wrap("5 049,18 € → x", false, 10.0, 60.0), vec!["5\u{a0}049,18\u{a0}€ →", "x"]);
    }

    #[test]
    fn a_heading_is_never_left_alone_at_the_foot_of_a_page() {
        // Whatever fills the page before it, a heading and the header of the long table it
        // introduces are drawn in the same page's content stream.
        for filler in 30..70 {
            let mut d = cpts_domain::document::Document { title: "Titre".into(), ..Default::default() };
            for i in 0..filler {
                d.text(format!("Paragraphe de remplissage {i}"));
            }
            d.heading("Section suivante");
            let mut t = cpts_domain::document::Table::new("t", &[("Colonne", 50, false), ("Autre", 50, false)]);
            for i in 0..60 {
                t.row(vec![format!("ligne {i}"), "x".into()]);
            }
            d.table(t);
            let bytes = pdf(&d);
            let text = String::from_utf8_lossy(&bytes);
            let page = text.split("endstream").find(|p| p.contains("(Section suivante)")).unwrap();
            assert!(page.contains("(Colonne)"), "{filler} paragraphs: the heading ends a page alone");
        }
    }
}
