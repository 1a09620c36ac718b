//! Member files as French users write them: CSV (`;` or `,`, UTF-8 with or without BOM,
//! headers with or without accents) or XLSX. Parsing reports every bad cell with its line
//! and column; nothing is stored unless the whole file is valid.

use std::collections::BTreeMap;
use std::path::Path;

use cpts_domain::geo::{Geo, fold};
use cpts_domain::registry::{Member, Profession};
use jiff::civil::Date;

/// One problem in a file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub column: String,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "ligne {} : {}", self.line, self.message)
        } else {
            write!(f, "ligne {}, colonne « {} » : {}", self.line, self.column, self.message)
        }
    }
}

/// The columns of a member file, with the headers accepted for each (folded).
const COLUMNS: &[(&str, &[&str], bool)] = &[
    ("Nom", &["nom", "nom de famille"], true),
    ("Prénom", &["prenom"], true),
    ("Profession", &["profession"], true),
    ("RPPS", &["rpps", "numero rpps", "n rpps"], false),
    ("Commune d'exercice", &["commune d exercice", "commune", "code insee", "commune d exercice code insee"], true),
    ("Date d'adhésion", &["date d adhesion", "adhesion", "date adhesion"], true),
    ("Date de départ", &["date de depart", "depart", "date depart"], false),
];

/// A table read from a file: header, then (line number, cells).
pub struct RawTable {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

fn err(line: usize, column: &str, message: impl Into<String>) -> LineError {
    LineError { line, column: column.into(), message: message.into() }
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
    for record in reader.records() {
        let record = record.map_err(|e| {
            err(
                e.position().map_or(0, |p| usize::try_from(p.line()).unwrap_or(0)),
                "",
                format!("ligne illisible : {e}"),
            )
        })?;
        let line = record.position().map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(RawTable { header, rows })
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

/// A date as typed in France: 01/03/2021, 1/3/2021, 2021-03-01.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let s = s.trim();
    if let Ok(d) = s.parse::<Date>() {
        return Ok(d);
    }
    let parts: Vec<&str> = s.split(['/', '.', '-']).collect();
    if let [d, m, y] = parts.as_slice()
        && let (Ok(d), Ok(m), Ok(y)) = (d.parse::<i8>(), m.parse::<i8>(), y.parse::<i16>())
        && y > 999
    {
        return Date::new(y, m, d).map_err(|_| format!("date impossible « {s} »"));
    }
    Err(format!("date « {s} » illisible : attendu JJ/MM/AAAA"))
}

/// Turn a table into members; every error is collected.
pub fn members_from(table: &RawTable, geo: &Geo) -> Result<Vec<Member>, Vec<LineError>> {
    let mut errors = Vec::new();
    // Headers compared without accents, case or punctuation (« N° RPPS » = « n rpps »).
    let key = |h: &str| {
        fold(h)
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let folded: Vec<String> = table.header.iter().map(|h| key(h)).collect();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (label, aliases, required) in COLUMNS {
        match folded.iter().position(|h| aliases.contains(&h.as_str())) {
            Some(i) => {
                index.insert(label, i);
            }
            None if *required => errors.push(err(1, label, "colonne absente de l'en-tête")),
            None => {}
        }
    }
    for (i, h) in table.header.iter().enumerate() {
        if !index.values().any(|v| *v == i) && !h.trim().is_empty() {
            errors.push(err(1, h, "colonne inconnue (colonnes attendues : Nom, Prénom, Profession, RPPS, Commune d'exercice, Date d'adhésion, Date de départ)"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut members = Vec::with_capacity(table.rows.len());
    let mut seen_rpps: BTreeMap<String, usize> = BTreeMap::new();
    for (line, cells) in &table.rows {
        let cell = |label: &str| index.get(label).and_then(|i| cells.get(*i)).map_or("", |s| s.trim());
        let before = errors.len();
        let mut need = |label: &str| {
            let v = cell(label);
            if v.is_empty() {
                errors.push(err(*line, label, "valeur manquante"));
            }
            v
        };
        let (last, first, prof, commune, joined) =
            (need("Nom"), need("Prénom"), need("Profession"), need("Commune d'exercice"), need("Date d'adhésion"));
        let profession = Profession::parse(prof).map_err(|e| errors.push(err(*line, "Profession", e))).ok();
        let rpps: Option<cpts_domain::ids::Rpps> = match cell("RPPS") {
            "" => None,
            r => r.parse().map_err(|e| errors.push(err(*line, "RPPS", e))).ok(),
        };
        let commune = if commune.is_empty() {
            None
        } else {
            geo.resolve(commune)
                .map(|c| c.code.clone())
                .map_err(|e| errors.push(err(*line, "Commune d'exercice", e)))
                .ok()
        };
        let joined = if joined.is_empty() {
            None
        } else {
            parse_date(joined).map_err(|e| errors.push(err(*line, "Date d'adhésion", e))).ok()
        };
        let left = match cell("Date de départ") {
            "" => None,
            d => parse_date(d).map_err(|e| errors.push(err(*line, "Date de départ", e))).ok(),
        };
        if let Some(r) = &rpps
            && let Some(other) = seen_rpps.insert(r.to_string(), *line)
        {
            errors.push(err(*line, "RPPS", format!("RPPS {r} déjà présent ligne {other} : membre en double")));
        }
        if errors.len() != before {
            continue;
        }
        if let (Some(profession), Some(commune), Some(joined)) = (profession, commune, joined) {
            let m =
                Member { last_name: last.into(), first_name: first.into(), profession, rpps, commune, joined, left };
            match m.validate(geo) {
                Ok(()) => members.push(m),
                Err(e) => errors.push(err(*line, "", e)),
            }
        }
    }
    if table.rows.is_empty() {
        errors.push(err(2, "", "aucune ligne de membre"));
    }
    if errors.is_empty() { Ok(members) } else { Err(errors) }
}

fn fr_date(d: Date) -> String {
    cpts_engine::dates::fr(d)
}

const HEADER: [&str; 7] =
    ["Nom", "Prénom", "Profession", "RPPS", "Commune d'exercice", "Date d'adhésion", "Date de départ"];

fn row(m: &Member, geo: &Geo) -> [String; 7] {
    let commune = geo.commune(&m.commune).map_or(m.commune.to_string(), |c| format!("{} ({})", c.name, c.code));
    [
        m.last_name.clone(),
        m.first_name.clone(),
        m.profession.label().to_string(),
        m.rpps.as_ref().map_or(String::new(), ToString::to_string),
        commune,
        fr_date(m.joined),
        m.left.map_or(String::new(), fr_date),
    ]
}

/// Write members as CSV (UTF-8 with BOM for Excel, `;`) or XLSX, by the file's extension.
pub fn export(path: &Path, members: &[Member], geo: &Geo) -> Result<(), String> {
    let xlsx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let w = |e: rust_xlsxwriter::XlsxError| e.to_string();
        sheet.set_name("Membres").map_err(w)?;
        for (c, h) in (0u16..).zip(HEADER) {
            sheet.write_string_with_format(0, c, h, &bold).map_err(w)?;
        }
        for (r, m) in (1u32..).zip(members) {
            for (c, v) in (0u16..).zip(row(m, geo)) {
                sheet.write_string(r, c, v).map_err(w)?;
            }
        }
        sheet.autofit();
        book.save(path).map_err(w)
    } else {
        let mut out = Vec::from("\u{feff}".as_bytes());
        {
            let mut wtr = csv::WriterBuilder::new().delimiter(b';').from_writer(&mut out);
            wtr.write_record(HEADER).map_err(|e| e.to_string())?;
            for m in members {
                wtr.write_record(row(m, geo)).map_err(|e| e.to_string())?;
            }
            wtr.flush().map_err(|e| e.to_string())?;
        }
        std::fs::write(path, out).map_err(|e| e.to_string())
    }
}
