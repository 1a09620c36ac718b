//! Member files as French users write them (read into a `RawTable` by `cpts_render::read_table`):
//! headers with or without accents, dates JJ/MM/AAAA. Every bad cell is reported with its line
//! and column; nothing is kept unless the whole file is valid.

use std::collections::BTreeMap;

use cpts_engine::dates::parse_french;

use crate::geo::Geo;
use crate::ids::Rpps;
use crate::registry::{Member, Profession};
use crate::table::{ColumnSpec, LineError, RawTable, columns};

/// The columns of a member file, with the headers accepted for each (folded).
pub const COLUMNS: &[ColumnSpec<'static>] = &[
    ("Nom", &["nom", "nom de famille"], true),
    ("Prénom", &["prenom"], true),
    ("Profession", &["profession"], true),
    ("RPPS", &["rpps", "numero rpps", "n rpps"], false),
    ("Commune d'exercice", &["commune d exercice", "commune", "code insee", "commune d exercice code insee"], true),
    ("Date d'adhésion", &["date d adhesion", "adhesion", "date adhesion"], true),
    ("Date de départ", &["date de depart", "depart", "date depart"], false),
];

/// The header of an export, read back by `members_from`.
pub const HEADER: [&str; 7] =
    ["Nom", "Prénom", "Profession", "RPPS", "Commune d'exercice", "Date d'adhésion", "Date de départ"];

/// Turn a table into members; every error is collected (in line order).
pub fn members_from(table: &RawTable, geo: &Geo) -> Result<Vec<Member>, Vec<LineError>> {
    let index = columns(table, COLUMNS)?;
    let mut errors = Vec::new();
    let mut members = Vec::with_capacity(table.rows.len());
    let mut seen_rpps: BTreeMap<String, usize> = BTreeMap::new();
    for (line, cells) in &table.rows {
        let err = |column: &str, message: String| LineError::new(*line, column, message);
        let cell = |label: &str| index.get(label).and_then(|i| cells.get(*i)).map_or("", |s| s.trim());
        let before = errors.len();
        let mut need = |label: &str| {
            let v = cell(label);
            if v.is_empty() {
                errors.push(err(label, "valeur manquante".into()));
            }
            v
        };
        let (last, first, prof, commune, joined) =
            (need("Nom"), need("Prénom"), need("Profession"), need("Commune d'exercice"), need("Date d'adhésion"));
        // A missing cell is reported once, as missing, not again as unreadable.
        let profession = match prof {
            "" => None,
            p => Profession::parse(p).map_err(|e| errors.push(err("Profession", e))).ok(),
        };
        let rpps: Option<Rpps> = match cell("RPPS") {
            "" => None,
            r => r.parse().map_err(|e| errors.push(err("RPPS", e))).ok(),
        };
        let commune = match commune {
            "" => None,
            c => geo.resolve(c).map(|c| c.code.clone()).map_err(|e| errors.push(err("Commune d'exercice", e))).ok(),
        };
        let joined = match joined {
            "" => None,
            d => parse_french(d).map_err(|e| errors.push(err("Date d'adhésion", e))).ok(),
        };
        let left = match cell("Date de départ") {
            "" => None,
            d => parse_french(d).map_err(|e| errors.push(err("Date de départ", e))).ok(),
        };
        if let Some(r) = &rpps
            && let Some(other) = seen_rpps.insert(r.to_string(), *line)
        {
            errors.push(err("RPPS", format!("RPPS {r} déjà présent ligne {other} : membre en double")));
        }
        if errors.len() != before {
            continue;
        }
        if let (Some(profession), Some(commune), Some(joined)) = (profession, commune, joined) {
            let m =
                Member { last_name: last.into(), first_name: first.into(), profession, rpps, commune, joined, left };
            match m.validate(geo) {
                Ok(()) => members.push(m),
                Err(e) => errors.push(err("", e)),
            }
        }
    }
    if table.rows.is_empty() {
        errors.push(LineError::new(2, "", "aucune ligne de membre"));
    }
    if errors.is_empty() { Ok(members) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&str]]) -> RawTable {
        let cells = |r: &[&str]| r.iter().map(|c| (*c).to_string()).collect::<Vec<_>>();
        RawTable { header: cells(&HEADER), rows: rows.iter().zip(2..).map(|(r, l)| (l, cells(r))).collect() }
    }

    #[test]
    fn a_missing_cell_is_one_error_and_long_cells_are_quoted_short() {
        let geo = Geo::builtin().unwrap();
        let e = members_from(&table(&[&["Martin", "Anne", "", "", "75118", "01/03/2021", ""]]), &geo).unwrap_err();
        assert_eq!(e, [LineError::new(2, "Profession", "valeur manquante")]);
        let long = "z".repeat(5_000);
        let e = members_from(&table(&[&["Martin", "Anne", &long, "", "75118", "01/03/2021", ""]]), &geo).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].message.len() < 1_000 && e[0].message.contains("… »"), "{}", e[0].message);
        let ok = members_from(&table(&[&["Martin", "Anne", "infirmier", "", "75118", "1/3/2021", ""]]), &geo).unwrap();
        assert_eq!(ok[0].joined, jiff::civil::date(2021, 3, 1));
    }
}
