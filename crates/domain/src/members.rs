//! Member files as French users write them (read into a `RawTable` by `cpts_render::read_table`):
//! headers with or without accents, dates JJ/MM/AAAA. Every bad cell is reported with its line
//! and column; nothing is kept unless the whole file is valid.

use std::collections::BTreeMap;

use cpts_engine::dates::{fr, parse_french};
use jiff::civil::Date;

use crate::geo::{Geo, fold};
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
    // The member's number in the store (exports carry it): a re-import corrects that member.
    ("N°", &["n", "no", "numero", "n membre", "numero de membre"], false),
];

/// The header of an export, read back by `members_from` and `numbers_from`.
pub const HEADER: [&str; 8] =
    ["Nom", "Prénom", "Profession", "RPPS", "Commune d'exercice", "Date d'adhésion", "Date de départ", "N°"];

/// The members' numbers given in the file (column « N° », optional), one per row.
pub fn numbers_from(table: &RawTable) -> Result<Vec<Option<i64>>, Vec<LineError>> {
    let index = columns(table, COLUMNS)?;
    let mut errors = Vec::new();
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    let numbers = table
        .rows
        .iter()
        .map(|(line, cells)| {
            let cell = index.get("N°").and_then(|i| cells.get(*i)).map_or("", |s| s.trim());
            if cell.is_empty() {
                return None;
            }
            match cell.parse::<i64>() {
                Ok(n) if n > 0 => {
                    if let Some(other) = seen.insert(n, *line) {
                        errors.push(LineError::new(*line, "N°", format!("n° {n} déjà donné ligne {other}")));
                    }
                    Some(n)
                }
                _ => {
                    errors.push(LineError::new(*line, "N°", format!("« {cell} » n'est pas un numéro de membre")));
                    None
                }
            }
        })
        .collect();
    if errors.is_empty() { Ok(numbers) } else { Err(errors) }
}

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

/// How an import treats the members already stored.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImportMode {
    /// Add the file's new members; members already stored and unchanged are skipped; a stored
    /// member that the file changes is refused (an addition never modifies).
    Add,
    /// The file is the whole list: new members added, stored ones corrected, stored members
    /// absent from the file end their membership (they stay in the list as former members).
    Replace,
}

impl ImportMode {
    pub fn parse(s: &str) -> Result<Self, String> {
        match fold(s.trim()).as_str() {
            "ajout" => Ok(ImportMode::Add),
            "remplacement" => Ok(ImportMode::Replace),
            _ => Err(format!("mode d'import « {} » inconnu : ajout ou remplacement", s.trim())),
        }
    }
}

/// A stored member changed by an import: its number, the state before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberChange {
    pub seq: i64,
    pub before: Member,
    pub after: Member,
}

impl MemberChange {
    /// The labels of the columns that differ, in file order.
    pub fn fields(&self) -> Vec<&'static str> {
        differences(&self.before, &self.after)
    }
}

/// What an import would do, computed before anything is written (shown, then applied as a whole).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportPlan {
    /// New members, with their line in the file.
    pub added: Vec<(usize, Member)>,
    /// Stored members corrected by the file.
    pub changed: Vec<MemberChange>,
    /// Stored members absent from the file (replacement): their membership ends.
    pub ended: Vec<MemberChange>,
    /// Lines identical to a stored member.
    pub unchanged: usize,
}

impl ImportPlan {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.ended.is_empty()
    }
}

/// The column labels where two members differ.
pub fn differences(a: &Member, b: &Member) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |label: &'static str, differs: bool| {
        if differs {
            out.push(label);
        }
    };
    check("Nom", a.last_name != b.last_name);
    check("Prénom", a.first_name != b.first_name);
    check("Profession", a.profession != b.profession);
    check("RPPS", a.rpps != b.rpps);
    check("Commune d'exercice", a.commune != b.commune);
    check("Date d'adhésion", a.joined != b.joined);
    check("Date de départ", a.left != b.left);
    out
}

/// The same person without an RPPS: names as people type them (case, accents), and the profession.
fn name_key(m: &Member) -> (String, String, &'static str) {
    (fold(&m.last_name), fold(&m.first_name), m.profession.code())
}

/// Compare a file (`incoming`: line, number if given, member) with the stored members (`stored`,
/// with their numbers). A line is the stored member with its number (see below), else with its RPPS; failing that, the stored member with the
/// same name and profession whose RPPS does not contradict it (homonyms pair in order). In
/// replacement, active stored members absent from the file leave on `ended_on`.
pub fn plan_import(
    stored: &[(i64, Member)],
    incoming: &[(usize, Option<i64>, Member)],
    mode: ImportMode,
    ended_on: Date,
) -> Result<ImportPlan, Vec<LineError>> {
    let mut taken = vec![false; stored.len()];
    let mut matched: Vec<Option<usize>> = vec![None; incoming.len()];
    let mut errors = Vec::new();
    // A number first: the line is that member, corrected. It must share its RPPS or one of its
    // names, so that another CPTS's export never rewrites this one's members.
    let by_seq: BTreeMap<i64, usize> = stored.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect();
    for (slot, (line, num, m)) in matched.iter_mut().zip(incoming) {
        let Some((i, (n, s))) = num.and_then(|n| by_seq.get(&n)).and_then(|i| stored.get(*i).map(|s| (*i, s))) else {
            continue;
        };
        let shares = (m.rpps.is_some() && s.rpps == m.rpps)
            || fold(&s.last_name) == fold(&m.last_name)
            || fold(&s.first_name) == fold(&m.first_name);
        if !shares {
            errors.push(LineError::new(
                *line,
                "N°",
                format!(
                    "le membre n° {n} de cette CPTS est {} {}, sans nom ni RPPS en commun : fichier d'une autre CPTS ? laissez « N° » vide pour ajouter ce membre",
                    s.first_name, s.last_name
                ),
            ));
        } else if let Some(t) = taken.get_mut(i) {
            *t = true;
            *slot = Some(i);
        }
    }
    // Indexed: lists of 300 000 members are compared in one pass.
    let by_rpps: BTreeMap<&str, usize> =
        stored.iter().enumerate().filter_map(|(i, (_, m))| m.rpps.as_ref().map(|r| (r.as_str(), i))).collect();
    let mut by_name: BTreeMap<(String, String, &str), Vec<usize>> = BTreeMap::new();
    for (i, (_, m)) in stored.iter().enumerate() {
        by_name.entry(name_key(m)).or_default().push(i);
    }
    // RPPS first, so that a name match never takes a member another line names by RPPS.
    for (slot, (_, _, m)) in matched.iter_mut().zip(incoming) {
        if slot.is_some() {
            continue;
        }
        if let Some(i) = m.rpps.as_ref().and_then(|r| by_rpps.get(r.as_str()))
            && let Some(t) = taken.get_mut(*i)
            && !*t
        {
            *t = true;
            *slot = Some(*i);
        }
    }
    for (slot, (_, _, m)) in matched.iter_mut().zip(incoming) {
        if slot.is_some() {
            continue;
        }
        let candidates = by_name.get(&name_key(m)).map_or(&[][..], Vec::as_slice);
        let found = candidates.iter().copied().find(|i| {
            !taken.get(*i).copied().unwrap_or(true)
                && stored.get(*i).is_some_and(|(_, s)| s.rpps.is_none() || m.rpps.is_none() || s.rpps == m.rpps)
        });
        if let Some(i) = found
            && let Some(t) = taken.get_mut(i)
        {
            *t = true;
            *slot = Some(i);
        }
    }
    let mut plan = ImportPlan::default();
    for ((line, _, m), slot) in incoming.iter().zip(&matched) {
        match slot.and_then(|i| stored.get(i)) {
            None => plan.added.push((*line, m.clone())),
            Some((_, s)) if s == m => plan.unchanged += 1,
            Some((seq, s)) => {
                let change = MemberChange { seq: *seq, before: s.clone(), after: m.clone() };
                if mode == ImportMode::Add {
                    errors.push(LineError::new(
                        *line,
                        "",
                        format!(
                            "diffère du membre enregistré n° {seq} ({}) : un ajout ne modifie pas les membres enregistrés",
                            change.fields().join(", ")
                        ),
                    ));
                } else {
                    plan.changed.push(change);
                }
            }
        }
    }
    if mode == ImportMode::Replace {
        for ((seq, s), t) in stored.iter().zip(&taken) {
            if *t || s.left.is_some() {
                continue;
            }
            if ended_on < s.joined {
                errors.push(LineError::new(
                    0,
                    "",
                    format!(
                        "membre n° {seq} ({} {}) absent du fichier : son départ au {} serait avant son adhésion le {}",
                        s.first_name,
                        s.last_name,
                        fr(ended_on),
                        fr(s.joined)
                    ),
                ));
                continue;
            }
            let after = Member { left: Some(ended_on), ..s.clone() };
            plan.ended.push(MemberChange { seq: *seq, before: s.clone(), after });
        }
    }
    if errors.is_empty() { Ok(plan) } else { Err(errors) }
}

/// A member as an export writes it: the import's columns (`HEADER`), so that an export reads
/// back, its number last (a re-imported, edited export corrects members instead of adding them).
pub fn export_row(n: i64, m: &crate::registry::Member, geo: &crate::geo::Geo) -> Vec<String> {
    let commune = geo.commune(&m.commune).map_or(m.commune.to_string(), |c| format!("{} ({})", c.name, c.code));
    vec![
        m.last_name.clone(),
        m.first_name.clone(),
        m.profession.label().to_string(),
        m.rpps.as_ref().map_or(String::new(), ToString::to_string),
        commune,
        cpts_engine::dates::fr(m.joined),
        m.left.map_or(String::new(), cpts_engine::dates::fr),
        n.to_string(),
    ]
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

    fn member(last: &str, rpps: Option<&str>) -> Member {
        Member {
            last_name: last.into(),
            first_name: "Anne".into(),
            profession: Profession::parse("infirmier").unwrap(),
            rpps: rpps.map(|r| r.parse().unwrap()),
            commune: "75118".parse().unwrap(),
            joined: jiff::civil::date(2021, 3, 1),
            left: None,
        }
    }

    #[test]
    fn reimporting_the_same_list_changes_nothing_even_without_rpps() {
        let stored = vec![(1, member("Martin", Some("10000000009"))), (2, member("Durand", None))];
        let incoming = vec![(2, None, stored[0].1.clone()), (3, None, member("DURAND", None))];
        let day = jiff::civil::date(2024, 1, 1);
        let plan = plan_import(&stored, &incoming, ImportMode::Add, day).unwrap_err();
        // « DURAND » is the stored Durand, with another spelling: a change, refused in an addition.
        assert_eq!(plan.len(), 1);
        assert!(plan[0].to_string().contains("ligne 3 : diffère du membre enregistré n° 2 (Nom)"), "{}", plan[0]);
        let same: Vec<(usize, Option<i64>, Member)> = stored.iter().zip(2..).map(|((_, m), l)| (l, None, m.clone())).collect();
        let plan = plan_import(&stored, &same, ImportMode::Add, day).unwrap();
        assert!(plan.is_empty() && plan.unchanged == 2, "{plan:?}");
    }

    #[test]
    fn replacement_adds_corrects_and_ends_absent_members() {
        let gone = Member { left: Some(jiff::civil::date(2022, 1, 1)), ..member("Parti", None) };
        let stored = vec![(1, member("Martin", Some("10000000009"))), (2, member("Durand", None)), (3, gone)];
        let corrected = Member { last_name: "Martin-Roy".into(), ..member("Martin", Some("10000000009")) };
        let incoming = vec![(2, None, corrected.clone()), (3, None, member("Leroy", None))];
        let day = jiff::civil::date(2024, 1, 1);
        let plan = plan_import(&stored, &incoming, ImportMode::Replace, day).unwrap();
        assert_eq!(plan.added, [(3, member("Leroy", None))]);
        assert_eq!(plan.changed.len(), 1);
        assert_eq!((plan.changed[0].seq, plan.changed[0].fields()), (1, vec!["Nom"]));
        // Durand is absent: ends on the given day; the former member stays as he was.
        assert_eq!(plan.ended.len(), 1);
        assert_eq!((plan.ended[0].seq, plan.ended[0].after.left), (2, Some(day)));
        // A departure before the adhesion is refused, not invented.
        let e = plan_import(&stored, &incoming, ImportMode::Replace, jiff::civil::date(2020, 1, 1)).unwrap_err();
        assert!(e[0].to_string().contains("membre n° 2 (Anne Durand) absent du fichier"), "{}", e[0]);
        assert_eq!(ImportMode::parse("Remplacement"), Ok(ImportMode::Replace));
        // By its number, a member without RPPS is renamed, not duplicated; another CPTS's number is refused.
        let renamed = Member { first_name: "Paul".into(), ..member("Durand", None) };
        let plan = plan_import(&stored, &[(2, Some(2), renamed)], ImportMode::Replace, day).unwrap();
        assert_eq!((plan.added.len(), plan.changed.len(), plan.changed[0].fields()), (0, 1, vec!["Prénom"]));
        let other = Member { first_name: "Zoé".into(), ..member("Autre", None) };
        let e = plan_import(&stored, &[(2, Some(2), other)], ImportMode::Add, day);
        assert!(e.unwrap_err()[0].to_string().contains("fichier d'une autre CPTS"));
        assert!(ImportMode::parse("tout").is_err());
    }

    #[test]
    fn a_member_is_active_from_adhesion_until_departure() {
        let m = Member { left: Some(jiff::civil::date(2023, 6, 1)), ..member("Martin", None) };
        assert!(!m.active_on(jiff::civil::date(2021, 2, 28)));
        assert!(m.active_on(jiff::civil::date(2023, 5, 31)));
        assert!(!m.active_on(jiff::civil::date(2023, 6, 1)));
    }
}

