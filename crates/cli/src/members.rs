//! Member files as French users write them: CSV (`;` or `,`, UTF-8 with or without BOM,
//! headers with or without accents) or XLSX. Parsing reports every bad cell with its line
//! and column; nothing is stored unless the whole file is valid.

use std::collections::BTreeMap;
use std::path::Path;

use cpts_domain::geo::Geo;

use crate::files::{LineError, RawTable, columns};
use cpts_domain::registry::{Member, Profession};
use jiff::civil::Date;

fn err(line: usize, column: &str, message: impl Into<String>) -> LineError {
    LineError::new(line, column, message)
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
    let index = columns(table, COLUMNS)?;
    let mut errors = Vec::new();
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
    let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    let rows: Vec<Vec<String>> = members.iter().map(|m| row(m, geo).to_vec()).collect();
    crate::files::write_table(path, "Membres", &header, &rows)
}
