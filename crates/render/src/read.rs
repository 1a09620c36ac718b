//! Tables read from bytes: CSV (`;` or `,`, UTF-8 with or without BOM) or XLSX (first sheet),
//! told apart by content. Every cell is text with its line number, as the spreadsheet numbers
//! it. The bytes may be hostile (a web upload, an API body): nothing is allocated from a
//! number the file declares, every size is capped (`LIMITS`, and `cpts_domain::table::limits`),
//! and file content quoted back in an error is shortened.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use cpts_domain::table::limits::{MAX_CELL_CHARS, MAX_COLUMNS, MAX_ROWS};
use cpts_domain::table::{LineError, RawTable};

/// Sanity limits on an XLSX workbook (a zip of XML parts), checked before calamine reads it.
#[derive(Clone, Copy, Debug)]
pub struct XlsxLimits {
    /// Bytes of all parts once decompressed: a zip bomb (1 MB holding 1 GB) stops here.
    pub unzipped: u64,
    /// Bytes of one XML token (a tag, a text, a comment): the XML reader holds one whole, so
    /// this bounds its memory. A cell of `MAX_CELL_CHARS` characters, escaped, fits.
    pub xml_token: usize,
    /// Shared strings (distinct texts) of the workbook, counted and as declared: calamine
    /// reserves the declared count up front.
    pub shared_strings: u64,
}

/// The limits used by `read_table`. 512 MiB decompressed holds a sheet of more than
/// 2 M rows of six cells (about 200 bytes of XML a row); 512 KiB per token holds the longest
/// cell (32 767 characters written as 9-byte character references would be 295 KB); 8 M shared
/// strings is more than the distinct texts of `MAX_ROWS` members (names and first names).
pub const LIMITS: XlsxLimits = XlsxLimits { unzipped: 512 << 20, xml_token: 512 << 10, shared_strings: 8_000_000 };

fn fail(message: impl Into<String>) -> LineError {
    LineError::new(0, "", message)
}

/// Read a CSV or XLSX table (by content, not by name).
pub fn read_table(bytes: &[u8]) -> Result<RawTable, LineError> {
    read_table_with(bytes, &LIMITS)
}

/// `read_table` with other XLSX limits (tests use small ones).
pub fn read_table_with(bytes: &[u8], limits: &XlsxLimits) -> Result<RawTable, LineError> {
    if bytes.starts_with(b"PK") {
        return read_xlsx(bytes, limits);
    }
    let mut rows = read_table_rows_with(bytes, limits)?;
    let header = std::mem::take(&mut rows.header);
    Ok(RawTable { header, rows: rows.collect::<Result<_, _>>()? })
}

/// A row of a table (line, cells), or why the table cannot be read further.
pub type Row = Result<(usize, Vec<String>), LineError>;

/// A table read row by row: its header, then its non-blank rows on demand (as `RawTable`'s,
/// with their line). A CSV is parsed from its reader as rows are asked for, so memory holds
/// the longest row, not the file; an XLSX is read whole first (calamine loads the sheet, and
/// Excel stops at 1 048 576 rows). A read error ends the rows.
pub struct TableRows<'a> {
    pub header: Vec<String>,
    rows: Box<dyn Iterator<Item = Row> + Send + 'a>,
    count: usize,
    done: bool,
}

impl std::fmt::Debug for TableRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableRows").field("header", &self.header).field("count", &self.count).finish_non_exhaustive()
    }
}

impl Iterator for TableRows<'_> {
    type Item = Result<(usize, Vec<String>), LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            match self.rows.next()? {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok((line, cells)) => {
                    let cells = trimmed(cells);
                    if blank(&cells) {
                        continue;
                    }
                    if self.count >= MAX_ROWS {
                        self.done = true;
                        return Some(Err(too_many_rows()));
                    }
                    self.count += 1;
                    return Some(Ok((line, cells)));
                }
            }
        }
    }
}

/// Read a CSV (row by row) or XLSX (whole) table from a reader, told apart by content.
pub fn read_table_rows<'a, R: Read + Send + 'a>(reader: R) -> Result<TableRows<'a>, LineError> {
    read_table_rows_with(reader, &LIMITS)
}

/// `read_table_rows` with other XLSX limits.
pub fn read_table_rows_with<'a, R: Read + Send + 'a>(
    mut reader: R,
    limits: &XlsxLimits,
) -> Result<TableRows<'a>, LineError> {
    let mut head = Vec::with_capacity(HEAD);
    (&mut reader).take(HEAD_BYTES).read_to_end(&mut head).map_err(read_failed)?;
    if head.starts_with(b"PK") {
        reader.read_to_end(&mut head).map_err(read_failed)?;
        let t = read_xlsx(&head, limits)?;
        return Ok(TableRows { header: t.header, rows: Box::new(t.rows.into_iter().map(Ok)), count: 0, done: false });
    }
    let delimiter = check_head(&head)?;
    table_rows(CsvRows::new(Cursor::new(head).chain(reader), delimiter))
}

/// The bytes looked at before reading a CSV: its encoding, binary content, delimiter.
const HEAD: usize = 1 << 16;
const HEAD_BYTES: u64 = 1 << 16;

fn read_failed(e: std::io::Error) -> LineError {
    fail(format!("lecture impossible : {e}"))
}

const SAVE_AS: &str = "dans Excel, « Enregistrer sous » → « CSV UTF-8 (délimité par des points-virgules) »";

/// The start of a CSV file: refused when it is UTF-16, an old Excel workbook or binary;
/// else its delimiter, from its first non-blank line (`;`, or `,` when the line has no `;`).
fn check_head(bytes: &[u8]) -> Result<u8, LineError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) || utf16_without_bom(bytes) {
        return Err(fail(format!("le fichier est en UTF-16 (« Texte Unicode ») et non en UTF-8 : {SAVE_AS}")));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Err(fail(
            "classeur Excel 97-2003 (.xls) : enregistrez-le au format .xlsx ou en CSV UTF-8 (délimité par des points-virgules)",
        ));
    }
    // Text tables hold no control characters but tab and line ends: anything else is binary.
    if bytes.iter().any(|b| matches!(b, 0x00..=0x08 | 0x0B | 0x0C | 0x0E..=0x1F | 0x7F)) {
        return Err(fail("ce fichier n'est pas un tableau CSV ou XLSX (contenu binaire)"));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or_default(),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    Ok(if first.contains(';') || !first.contains(',') { b';' } else { b',' })
}

fn not_utf8(line: usize) -> LineError {
    LineError::new(line, "", format!("le fichier n'est pas en UTF-8 (probablement Windows-1252 / Latin-1) : {SAVE_AS}"))
}

/// UTF-16 without its byte-order mark: ASCII text with a NUL every other byte.
fn utf16_without_bom(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(512)).unwrap_or_default();
    let pairs = head.len() / 2;
    let nul_at = |odd: usize| head.iter().skip(odd).step_by(2).filter(|b| **b == 0).count();
    pairs >= 2 && (nul_at(0) * 10 >= pairs * 9 || nul_at(1) * 10 >= pairs * 9)
}

/// Column letters of a 0-based column (0 = A, 26 = AA).
fn column_name(mut c: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A'.saturating_add(u8::try_from(c % 26).unwrap_or(0))));
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    out.iter().rev().collect()
}

fn too_long(line: usize, column: usize) -> LineError {
    LineError::new(
        line,
        &column_name(column),
        format!("cellule de plus de {MAX_CELL_CHARS} caractères (le maximum d'Excel) : est-ce bien le bon fichier ?"),
    )
}

fn too_wide(line: usize) -> LineError {
    LineError::new(line, "", format!("plus de {MAX_COLUMNS} colonnes : un tableau d'import en compte au plus sept"))
}

fn too_many_rows() -> LineError {
    fail(format!("plus de {MAX_ROWS} lignes : découpez le fichier"))
}

fn check_cell(text: &str, line: usize, column: usize) -> Result<(), LineError> {
    if text.len() > MAX_CELL_CHARS && text.chars().count() > MAX_CELL_CHARS {
        return Err(too_long(line, column));
    }
    Ok(())
}

/// Cells without their trailing empty ones (`a;;;;` holds one cell, not a vector of empty ones).
fn trimmed(mut cells: Vec<String>) -> Vec<String> {
    let kept = cells.iter().rposition(|c| !c.is_empty()).map_or(0, |i| i + 1);
    if kept < cells.len() {
        cells.truncate(kept);
        cells.shrink_to_fit();
    }
    cells
}

fn blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

/// The header (first non-blank row), then the rows after it (`TableRows`).
fn table_rows<'a>(
    mut rows: impl Iterator<Item = Result<(usize, Vec<String>), LineError>> + Send + 'a,
) -> Result<TableRows<'a>, LineError> {
    let header = loop {
        match rows.next() {
            None => return Err(fail("fichier vide : aucun en-tête")),
            Some(r) => {
                let cells = trimmed(r?.1);
                if !blank(&cells) {
                    break cells;
                }
            }
        }
    };
    Ok(TableRows { header, rows: Box::new(rows), count: 0, done: false })
}

/// Bytes read at a time; a row longer than what is buffered makes the buffer grow (up to
/// the limits of a row: `MAX_COLUMNS` cells of `MAX_CELL_CHARS`).
const CHUNK: usize = 1 << 16;

/// CSV as Excel writes it (RFC 4180: `"` quotes a cell, `""` is a quote inside it), read here
/// rather than by the csv crate so that every row knows its line in the file (blank lines
/// and CRLF included) and a quote left open is reported where it was opened. Read from a
/// reader through a window of text: a row that reaches the end of the window is parsed
/// again once more is read, so memory holds a few rows, not the file.
struct CsvRows<R> {
    reader: R,
    /// Text read, parsed up to `at`.
    buf: String,
    at: usize,
    line: usize,
    delimiter: u8,
    /// The reader is exhausted: `buf` holds the rest of the file.
    eof: bool,
    /// Bytes read after the text of `buf`: a character cut by the read.
    pending: Vec<u8>,
    /// Line ends in all the text read (the line of an encoding error).
    newlines: usize,
    started: bool,
    failed: bool,
    /// `CHUNK` (tests use tiny windows to cut rows everywhere).
    chunk: usize,
}

impl<R: Read> CsvRows<R> {
    fn new(reader: R, delimiter: u8) -> Self {
        CsvRows {
            chunk: CHUNK,
            reader,
            buf: String::new(),
            at: 0,
            line: 1,
            delimiter,
            eof: false,
            pending: Vec::new(),
            newlines: 0,
            started: false,
            failed: false,
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.as_bytes()
    }

    /// Drop the text parsed, read more (at least as much as the window holds): the window
    /// doubles while one row does not fit.
    fn refill(&mut self) -> Result<(), LineError> {
        if self.eof {
            return Ok(());
        }
        self.buf.drain(..self.at);
        self.at = 0;
        let want = self.buf.len().max(self.chunk);
        let mut bytes = std::mem::take(&mut self.pending);
        let before = bytes.len();
        (&mut self.reader).take(u64::try_from(want).unwrap_or(u64::MAX)).read_to_end(&mut bytes).map_err(read_failed)?;
        self.eof = bytes.len() - before < want;
        let valid = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(e) if e.error_len().is_none() && !self.eof => e.valid_up_to(),
            Err(e) => {
                let before = bytes.get(..e.valid_up_to()).unwrap_or_default();
                return Err(not_utf8(self.newlines + before.iter().filter(|c| **c == b'\n').count() + 1));
            }
        };
        let (text, rest) = bytes.split_at(valid);
        let mut text = std::str::from_utf8(text).unwrap_or_default();
        if !self.started && !text.is_empty() {
            self.started = true;
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        self.newlines += text.bytes().filter(|c| *c == b'\n').count();
        self.buf.push_str(text);
        self.pending = rest.to_vec();
        Ok(())
    }

    /// Consume a line end at `at`, if there is one (CRLF, LF or a lone CR).
    fn line_end(&mut self) -> bool {
        match self.bytes().get(self.at) {
            Some(b'\r') => {
                self.at += if self.bytes().get(self.at + 1) == Some(&b'\n') { 2 } else { 1 };
                self.line += 1;
                true
            }
            Some(b'\n') => {
                self.at += 1;
                self.line += 1;
                true
            }
            _ => false,
        }
    }

    fn slice(&self, from: usize, to: usize) -> &str {
        // `from` and `to` are at ASCII bytes (delimiters, quotes, line ends) or the ends.
        self.buf.get(from..to).unwrap_or_default()
    }

    /// One row from `at`; None when it runs past the window before the end of the file.
    fn record(&mut self) -> Result<Option<(usize, Vec<String>)>, LineError> {
        let line = self.line;
        let mut cells = Vec::new();
        loop {
            if cells.len() >= MAX_COLUMNS {
                return Err(too_wide(line));
            }
            let column = cells.len();
            let mut cell = String::new();
            if self.bytes().get(self.at) == Some(&b'"') {
                let opened = self.line;
                let start = self.at;
                self.at += 1;
                loop {
                    let Some(q) = self.bytes().get(self.at..).and_then(|b| b.iter().position(|c| *c == b'"')) else {
                        // More to read, unless the cell is already longer than any cell can be.
                        if !self.eof && self.buf.len() - start <= MAX_CELL_CHARS.saturating_mul(8) + 2 {
                            return Ok(None);
                        }
                        return Err(LineError::new(
                            opened,
                            &column_name(column),
                            "guillemet ouvert ici et jamais fermé : la cellule court jusqu'à la fin du fichier ; fermez-le ou retirez-le",
                        ));
                    };
                    let part = self.slice(self.at, self.at + q);
                    let ends = part.matches('\n').count() + part.matches('\r').count() - part.matches("\r\n").count();
                    cell.push_str(part);
                    self.line += ends;
                    self.at += q + 1;
                    // Bytes only here (a cell of `""` quotes loops once per quote); characters below.
                    if cell.len() > MAX_CELL_CHARS.saturating_mul(4) {
                        return Err(too_long(opened, column));
                    }
                    if self.bytes().get(self.at) == Some(&b'"') {
                        cell.push('"');
                        self.at += 1;
                    } else {
                        break;
                    }
                }
            }
            // Unquoted text, or what follows a closing quote, up to the delimiter or line end.
            let rest = self.bytes().get(self.at..).unwrap_or_default();
            let n = rest.iter().position(|c| *c == self.delimiter || *c == b'\n' || *c == b'\r').unwrap_or(rest.len());
            cell.push_str(self.slice(self.at, self.at + n));
            self.at += n;
            check_cell(&cell, line, column)?;
            cells.push(cell);
            if self.bytes().get(self.at) == Some(&self.delimiter) {
                self.at += 1;
                continue;
            }
            self.line_end();
            return Ok(Some((line, cells)));
        }
    }

    fn step(&mut self) -> Result<Option<(usize, Vec<String>)>, LineError> {
        loop {
            // Blank lines, two bytes ahead in the window so that a CRLF is never cut.
            loop {
                if !self.eof && self.buf.len() - self.at < 2 {
                    self.refill()?;
                }
                if !self.line_end() {
                    break;
                }
            }
            if self.at >= self.buf.len() {
                if self.eof {
                    return Ok(None);
                }
                self.refill()?;
                continue;
            }
            let (at, line) = (self.at, self.line);
            match self.record()? {
                // A row that ends before the window does is whole (its line end included).
                Some(r) if self.eof || self.at < self.buf.len() => return Ok(Some(r)),
                _ => {
                    self.at = at;
                    self.line = line;
                    self.refill()?;
                }
            }
        }
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<(usize, Vec<String>), LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.step();
        if r.is_err() {
            self.failed = true;
        }
        r.transpose()
    }
}

/// Excel's day serial (1 = 1900-01-01, with its 1900 leap-year bug) to a civil date.
fn excel_date(serial: f64) -> Option<jiff::civil::Date> {
    let days = serial.floor();
    if !(1.0..=2_958_465.0).contains(&days) {
        return None;
    }
    // Whole days only, within range: the conversion is exact.
    #[allow(clippy::as_conversions, clippy::cast_possible_truncation)]
    let days = days as i64;
    jiff::civil::date(1899, 12, 30).checked_add(jiff::Span::new().days(days)).ok()
}

fn unreadable(e: impl std::fmt::Display) -> LineError {
    fail(format!("classeur XLSX illisible : enregistrez-le à nouveau depuis Excel ou LibreOffice (détail : {e})"))
}

/// The first sheet, cell by cell (calamine's streaming reader: a cell declared at XFD1048576
/// costs one cell, not a grid), after `check_zip`.
fn read_xlsx(bytes: &[u8], limits: &XlsxLimits) -> Result<RawTable, LineError> {
    use calamine::{DataRef, Reader, Xlsx};
    check_zip(bytes, limits)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let first = book.sheet_names().first().cloned().ok_or_else(|| fail("classeur sans feuille"))?;
    let mut reader = book.worksheet_cells_reader(&first).map_err(unreadable)?;
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let (r, c) = cell.get_position();
        let line = usize::try_from(r).map_or(usize::MAX, |r| r.saturating_add(1));
        let column = usize::try_from(c).unwrap_or(usize::MAX);
        let text = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
            DataRef::SharedString(s) => (*s).to_string(),
            DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            DataRef::Float(f) => f.to_string(),
            DataRef::Int(i) => i.to_string(),
            DataRef::Bool(b) => b.to_string(),
            DataRef::DateTime(d) => excel_date(d.as_f64()).map_or_else(|| d.as_f64().to_string(), |x| x.to_string()),
            DataRef::Error(e) => format!("#ERREUR {e:?}"),
        };
        if column >= MAX_COLUMNS {
            return Err(too_wide(line));
        }
        check_cell(&text, line, column)?;
        if !rows.contains_key(&r) && rows.len() > MAX_ROWS {
            return Err(too_many_rows());
        }
        let row = rows.entry(r).or_default();
        if row.len() <= column {
            row.resize(column + 1, String::new());
        }
        if let Some(slot) = row.get_mut(column) {
            *slot = text;
        }
    }
    let mut rows = table_rows(
        rows.into_iter().map(|(r, cells)| Ok((usize::try_from(r).map_or(usize::MAX, |r| r.saturating_add(1)), cells))),
    )?;
    let header = std::mem::take(&mut rows.header);
    Ok(RawTable { header, rows: rows.collect::<Result<_, _>>()? })
}

/// Every part of the zip read once through a bounded reader, before calamine opens it: the
/// real decompressed size (not the sizes the zip declares), the longest XML token, cell
/// references calamine would overflow on, and the shared-string count it would reserve.
fn check_zip(bytes: &[u8], limits: &XlsxLimits) -> Result<(), LineError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 << 10];
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(unreadable)?;
        let name = part.name().map_or_else(|_| String::new(), |n| shorten_name(&n));
        let mut lexer = Lexer::new(name.ends_with("sharedStrings.xml"), limits);
        loop {
            let n = part.read(&mut buf).map_err(unreadable)?;
            if n == 0 {
                break;
            }
            total = total.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
            if total > limits.unzipped {
                return Err(fail(format!(
                    "classeur XLSX de plus de {} Mo une fois décompressé : découpez-le ou enregistrez-le en CSV",
                    limits.unzipped >> 20
                )));
            }
            lexer
                .feed(buf.get(..n).unwrap_or_default())
                .map_err(|m| fail(format!("classeur XLSX refusé ({name}) : {m}")))?;
        }
        lexer.finish().map_err(|m| fail(format!("classeur XLSX refusé ({name}) : {m}")))?;
    }
    Ok(())
}

fn shorten_name(name: &str) -> String {
    cpts_domain::table::shorten(name)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// Just after `<`, until the kind of token is known (`<!--`, `<![CDATA[`, `<?`, a tag).
    Open,
    Tag(Option<u8>),
    Comment,
    Cdata,
    Pi,
}

/// A byte-level XML lexer, as the XML reader will split the part: it measures tokens and
/// looks inside the tags calamine parses numbers from (`c`, `row`, `dimension`, `sst`).
struct Lexer<'a> {
    limits: &'a XlsxLimits,
    state: State,
    span: usize,
    tag: Vec<u8>,
    last: [u8; 2],
    shared: bool,
    strings: u64,
    declared: u64,
}

const DOCTYPE: &[u8] = b"<!DOCTYPE";

impl<'a> Lexer<'a> {
    fn new(shared: bool, limits: &'a XlsxLimits) -> Self {
        Lexer { limits, state: State::Text, span: 0, tag: Vec::new(), last: [0; 2], shared, strings: 0, declared: 0 }
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<(), String> {
        for &b in bytes {
            self.span += 1;
            if self.span > self.limits.xml_token {
                return Err(format!("élément XML de plus de {} Ko", self.limits.xml_token >> 10));
            }
            match self.state {
                State::Text => {
                    if b == b'<' {
                        self.state = State::Open;
                        self.span = 1;
                        self.tag.clear();
                        self.tag.push(b);
                    }
                }
                State::Open => {
                    self.tag.push(b);
                    let t = self.tag.as_slice();
                    if t == b"<!--" {
                        self.state = State::Comment;
                    } else if t == b"<![CDATA[" {
                        self.state = State::Cdata;
                    } else if t == b"<?" {
                        self.state = State::Pi;
                    } else if t.len() == DOCTYPE.len() && t.eq_ignore_ascii_case(DOCTYPE) {
                        return Err("déclaration DOCTYPE".into());
                    } else if !(b"<!--".starts_with(t)
                        || b"<![CDATA[".starts_with(t)
                        || DOCTYPE.get(..t.len()).is_some_and(|d| d.eq_ignore_ascii_case(t)))
                    {
                        self.state = State::Tag(None);
                        self.tag.pop();
                        self.tag_byte(b)?;
                    }
                    self.last = [0, 0];
                }
                State::Tag(_) => self.tag_byte(b)?,
                State::Comment | State::Cdata | State::Pi => {
                    let end = match self.state {
                        State::Comment => self.last == *b"--",
                        State::Cdata => self.last == *b"]]",
                        _ => self.last.get(1) == Some(&b'?'),
                    };
                    if b == b'>' && end {
                        self.state = State::Text;
                        self.span = 0;
                    }
                    self.last = [self.last.get(1).copied().unwrap_or(0), b];
                }
            }
        }
        Ok(())
    }

    fn tag_byte(&mut self, b: u8) -> Result<(), String> {
        let State::Tag(quote) = self.state else { return Ok(()) };
        self.tag.push(b);
        match (quote, b) {
            (Some(q), _) if q == b => self.state = State::Tag(None),
            (Some(_), _) => {}
            (None, b'"' | b'\'') => self.state = State::Tag(Some(b)),
            (None, b'>') => {
                self.state = State::Text;
                self.span = 0;
                self.end_tag()?;
            }
            (None, _) => {}
        }
        Ok(())
    }

    /// A whole tag is in `self.tag`: check what calamine will parse in it.
    fn end_tag(&mut self) -> Result<(), String> {
        let t = self.tag.get(1..).unwrap_or_default();
        if t.first() == Some(&b'/') {
            return Ok(());
        }
        let name_len = t.iter().position(|c| c.is_ascii_whitespace() || *c == b'/' || *c == b'>').unwrap_or(t.len());
        let name = t.get(..name_len).unwrap_or_default();
        let local = name.rsplit(|c| *c == b':').next().unwrap_or_default();
        let attrs = attributes(t.get(name_len..).unwrap_or_default());
        match local {
            b"si" if self.shared => self.strings += 1,
            b"sst" if self.shared => {
                for (_, v) in attrs.iter().filter(|(k, _)| *k == b"uniqueCount") {
                    let digits = String::from_utf8_lossy(v);
                    let n = digits.trim().trim_start_matches('+').trim_start_matches('0');
                    let n = if n.is_empty() { Some(0) } else { n.parse::<u64>().ok() };
                    // Unparsable counts are ignored by calamine, except too large ones.
                    let too_big = n.is_none() && digits.trim().bytes().all(|c| c.is_ascii_digit() || c == b'+');
                    self.declared = self.declared.max(n.unwrap_or(if too_big { u64::MAX } else { 0 }));
                }
            }
            b"c" | b"row" => {
                for (_, v) in attrs.iter().filter(|(k, _)| *k == b"r") {
                    cell_ref(v)?;
                }
            }
            b"dimension" => {
                for (_, v) in attrs.iter().filter(|(k, _)| *k == b"ref") {
                    let parts: Vec<(u32, u32)> = v.split(|c| *c == b':').map(cell_ref).collect::<Result<_, _>>()?;
                    if let [a, b] = parts.as_slice()
                        && (a.0 > b.0 || a.1 > b.1)
                    {
                        return Err("dimension de feuille à l'envers".into());
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), String> {
        let most = self.limits.shared_strings;
        if self.strings > most || self.declared > most {
            return Err(format!("plus de {most} textes partagés"));
        }
        // A declared count far above the real one only serves to make the reader allocate.
        if self.declared > self.strings.saturating_add(1024) {
            return Err(format!(
                "le classeur annonce {} textes partagés et en contient {} : fichier corrompu",
                self.declared, self.strings
            ));
        }
        Ok(())
    }
}

/// A cell reference as calamine reads it (`XFD1048576`): at most three letters and seven
/// digits, so its arithmetic cannot overflow. Returns (column, row) as numbers.
fn cell_ref(r: &[u8]) -> Result<(u32, u32), String> {
    let letters = r.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let digits = r.get(letters..).unwrap_or_default();
    let bad = || format!("référence de cellule « {} » hors d'une feuille", String::from_utf8_lossy(r));
    if letters > 3 || digits.len() > 7 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let col = r.iter().take(letters).fold(0u32, |n, c| n * 26 + u32::from(c.to_ascii_uppercase() - b'A') + 1);
    let row = digits.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
    Ok((col, row))
}

/// The attributes of a tag (after its name), as (name, value) byte slices.
fn attributes(mut s: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    loop {
        let skip = s.iter().take_while(|c| c.is_ascii_whitespace() || **c == b'/' || **c == b'>').count();
        s = s.get(skip..).unwrap_or_default();
        let Some(eq) = s.iter().position(|c| *c == b'=') else { return out };
        let key = s.get(..eq).unwrap_or_default().trim_ascii();
        s = s.get(eq + 1..).unwrap_or_default().trim_ascii_start();
        let Some(&q) = s.first().filter(|q| **q == b'"' || **q == b'\'') else { return out };
        s = s.get(1..).unwrap_or_default();
        let end = s.iter().position(|c| *c == q).unwrap_or(s.len());
        out.push((key, s.get(..end).unwrap_or_default()));
        s = s.get(end + 1..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<RawTable, LineError> {
        read_table(text.as_bytes())
    }

    fn lines(t: &RawTable) -> Vec<usize> {
        t.rows.iter().map(|(l, _)| *l).collect()
    }

    #[test]
    fn csv_rows_keep_their_line_after_blank_lines_and_crlf() {
        let t = csv("\u{feff}A;B\n\n\nx;1\n\ny;2\n").unwrap();
        assert_eq!(t.header, ["A", "B"]);
        assert_eq!(lines(&t), [4, 6]);
        let t = csv("A;B\r\n\r\n\r\nx;1\r\n\r\ny;2\r\n").unwrap();
        assert_eq!(lines(&t), [4, 6]);
        // A quoted cell over two lines: the next row is numbered after it; `;;` rows are blank.
        let t = csv("A;B\n\"x\ny\";\"a \"\"b\"\"\"\n;;\nz;3;;").unwrap();
        assert_eq!(t.rows, [(2, vec!["x\ny".to_string(), "a \"b\"".to_string()]), (5, vec!["z".into(), "3".into()])]);
        let t = csv("A,B\nx,\"1,5\"\n").unwrap();
        assert_eq!(t.rows, [(2, vec!["x".to_string(), "1,5".to_string()])]);
    }

    #[test]
    fn a_csv_read_through_any_window_gives_the_same_rows_and_errors() {
        // Rows cut anywhere: in a CRLF, inside a quoted cell over lines, inside an accent.
        let mut text = String::from("\u{feff}CPTS;Indicateur;Période;Valeur\r\n\r\n");
        for i in 0..40 {
            text.push_str(&format!("cpts-é{i};\"ind\r\n{i}\";2021-{:02};\"1\"\"5\"\r\n\n;;\r", i % 12 + 1));
        }
        text.push_str("fin;x;2021-01\n");
        let whole = read_table(text.as_bytes()).unwrap();
        assert_eq!(whole.rows.len(), 41);
        let bad = format!("{text}a;\"b\nc;d\n");
        let latin = [text.as_bytes(), b"caf\xe9;1\n"].concat();
        for chunk in [1, 2, 3, 5, 7, 64, 1000] {
            let rows = |bytes: &[u8]| -> Vec<Result<(usize, Vec<String>), LineError>> {
                let mut csv = CsvRows::new(bytes, b';');
                csv.chunk = chunk;
                csv.filter(|r| r.as_ref().map_or(true, |(_, c)| !blank(&trimmed(c.clone())))).map(|r| r.map(|(l, c)| (l, trimmed(c)))).collect()
            };
            let got = rows(text.as_bytes());
            assert_eq!(got.first().cloned().unwrap().unwrap().1, whole.header, "window {chunk}");
            let got: Vec<_> = got.into_iter().skip(1).map(Result::unwrap).collect();
            assert_eq!(got, whole.rows, "window {chunk}");
            let e = rows(bad.as_bytes()).pop().unwrap().unwrap_err();
            assert_eq!((e.line, e.column.as_str()), (read_table(bad.as_bytes()).unwrap_err().line, "B"), "window {chunk}");
            let e = rows(&latin).pop().unwrap().unwrap_err();
            assert_eq!(e, read_table(&latin).unwrap_err(), "window {chunk}");
        }
        // Through the public reader: the header, then the rows one by one.
        let mut t = read_table_rows(text.as_bytes()).unwrap();
        assert_eq!(t.header, whole.header);
        assert_eq!(t.next().unwrap().unwrap(), whole.rows[0]);
        assert_eq!(t.count(), 40);
    }

    #[test]
    fn an_unclosed_quote_is_reported_where_it_opens() {
        let e = csv("Nom;Prénom\nMartin;Anne\nDurand;\"Paul\nPetit;Léa\n").unwrap_err();
        assert_eq!((e.line, e.column.as_str()), (3, "B"));
        assert!(e.message.contains("guillemet ouvert ici et jamais fermé"), "{e}");
    }

    #[test]
    fn encodings_and_binary_files_are_named() {
        let utf16: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain("Nom;Prénom\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert!(read_table(&utf16).unwrap_err().message.contains("UTF-16"));
        let no_bom: Vec<u8> = "Nom;Prenom\n".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert!(read_table(&no_bom).unwrap_err().message.contains("UTF-16"));
        let random: Vec<u8> = (0u32..300).map(|i| u8::try_from(i.wrapping_mul(2_654_435_761) >> 24).unwrap()).collect();
        assert!(
            read_table(&random).unwrap_err().message.contains("pas un tableau"),
            "{}",
            read_table(&random).unwrap_err()
        );
        assert!(read_table(b"Nom;Pr\xe9nom\n").unwrap_err().message.contains("Windows-1252"));
        assert!(
            read_table(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]).unwrap_err().message.contains(".xls")
        );
    }

    #[test]
    fn csv_sizes_are_capped() {
        let wide = format!("{}\n", vec!["a"; MAX_COLUMNS + 1].join(";"));
        assert!(csv(&wide).unwrap_err().message.contains("colonnes"));
        let long = format!("A\n{}\n", "x".repeat(MAX_CELL_CHARS + 1));
        let e = csv(&long).unwrap_err();
        assert_eq!((e.line, e.column.as_str()), (2, "A"));
        assert!(e.message.contains("32767 caractères"), "{e}");
        // A quoted cell of escaped quotes is refused in linear time, where it opens.
        let quotes = format!("A;B\nx;\"{}\"\n", "\"\"".repeat(4 * MAX_CELL_CHARS));
        let e = csv(&quotes).unwrap_err();
        assert_eq!((e.line, e.column.as_str()), (2, "B"));
        let accents = format!("A\n{}\n", "é".repeat(MAX_CELL_CHARS));
        assert!(csv(&accents).is_ok());
        assert!(csv("").unwrap_err().message.contains("fichier vide"));
    }

    /// An XLSX built part by part, hostile where the test says.
    fn xlsx(sheet: &str, shared: &str) -> Vec<u8> {
        use std::io::Write;
        let mut out = Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut out);
        let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let parts = [
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
            ),
            (
                "_rels/.rels",
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
            ),
            (
                "xl/workbook.xml",
                r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="F" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
            ),
            (
                "xl/_rels/workbook.xml.rels",
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
            ),
            ("xl/sharedStrings.xml", shared),
        ];
        for (name, text) in parts {
            z.start_file(name, o).unwrap();
            z.write_all(text.as_bytes()).unwrap();
        }
        z.start_file("xl/worksheets/sheet1.xml", o).unwrap();
        z.write_all(format!(r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet}</sheetData></worksheet>"#).as_bytes()).unwrap();
        z.finish().unwrap();
        out.into_inner()
    }

    const SST: &str = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2"><si><t>Nom</t></si><si><t>Martin</t></si></sst>"#;

    #[test]
    fn a_plain_xlsx_reads_with_spreadsheet_line_numbers() {
        let sheet = r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>N</t></is></c></row><row r="4"><c r="A4" t="s"><v>1</v></c><c r="B4"><v>12.5</v></c></row>"#;
        let t = read_table(&xlsx(sheet, SST)).unwrap();
        assert_eq!(t.header, ["Nom", "N"]);
        assert_eq!(t.rows, [(4, vec!["Martin".to_string(), "12.5".to_string()])]);
    }

    #[test]
    fn a_cell_at_the_last_column_and_row_is_refused_without_allocating_the_grid() {
        let sheet =
            r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#;
        let e = read_table(&xlsx(sheet, SST)).unwrap_err();
        assert_eq!(e.line, 1_048_576);
        assert!(e.message.contains("plus de 64 colonnes"), "{e}");
        // A sparse far row is fine: one row, not a million.
        let sheet =
            r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="1048576"><c r="A1048576" t="s"><v>1</v></c></row>"#;
        assert_eq!(lines(&read_table(&xlsx(sheet, SST)).unwrap()), [1_048_576]);
        // References calamine would overflow on are refused before it reads them.
        for r in ["AAAAAAAA1", "A99999999999", "A1x"] {
            let sheet = format!(r#"<row r="1"><c r="{r}"><v>1</v></c></row>"#);
            assert!(read_table(&xlsx(&sheet, SST)).unwrap_err().message.contains("hors d'une feuille"), "{r}");
        }
    }

    #[test]
    fn a_declared_shared_string_count_is_not_trusted() {
        let sheet = r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#;
        for n in ["18446744073709551615", "4000000000", "99999999999999999999999"] {
            let sst = SST.replace(r#"uniqueCount="2""#, &format!(r#"uniqueCount="{n}""#));
            let e = read_table(&xlsx(sheet, &sst)).unwrap_err();
            assert!(e.message.contains("textes partagés"), "{n}: {e}");
        }
    }

    #[test]
    fn zip_bombs_and_huge_tokens_stop_at_the_limits() {
        let small = XlsxLimits { unzipped: 64 << 10, xml_token: 4 << 10, shared_strings: 100 };
        let sheet = r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#;
        let padded = format!("{sheet}{}", "<x/>          ".repeat(10_000));
        assert!(read_table_with(&xlsx(&padded, SST), &small).unwrap_err().message.contains("décompressé"));
        let spaces = format!("{sheet}{}", " ".repeat(8 << 10));
        assert!(
            read_table_with(&xlsx(&spaces, SST), &small).unwrap_err().message.contains("élément XML de plus de 4 Ko")
        );
        let comment = format!("{sheet}<!--{}-->", "<a>".repeat(4 << 10));
        assert!(read_table_with(&xlsx(&comment, SST), &small).unwrap_err().message.contains("élément XML"));
        let many: String = (0..101).map(|_| "<si><t>x</t></si>").collect();
        let sst = format!(r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{many}</sst>"#);
        assert!(read_table_with(&xlsx(sheet, &sst), &small).unwrap_err().message.contains("plus de 100 textes"));
        // The same workbooks within the limits read fine.
        assert!(read_table_with(&xlsx(&padded, SST), &LIMITS).is_ok());
        // A cell longer than Excel allows is refused, named by its place.
        let long = format!(
            r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="B2" t="inlineStr"><is><t>{}</t></is></c></row>"#,
            "y".repeat(MAX_CELL_CHARS + 1)
        );
        let e = read_table(&xlsx(&long, SST)).unwrap_err();
        assert_eq!((e.line, e.column.as_str()), (2, "B"));
    }

    #[test]
    fn column_names_are_spreadsheet_letters() {
        assert_eq!([0, 25, 26, 701, 16_383].map(column_name), ["A", "Z", "AA", "ZZ", "XFD"]);
    }
}
