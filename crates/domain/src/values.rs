//! Indicator values: per CPTS, indicator and period (month, quarter, calendar year), checked
//! against the contracts in force, then aggregated into contract years for the engine.
//!
//! Placement rule: a period counts in the contract year in which it begins. So every contract
//! year holds exactly twelve months, four quarters, or one calendar year, whatever the
//! signature day; a period beginning before the signature or after the end is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;

use cpts_engine::contract::Contract;
use cpts_engine::dates::fr;
use cpts_engine::input::{MAX_INDICATOR_VALUE, check_indicator_value};
use cpts_engine::money::group_thousands;
use cpts_engine::rate::Dec;

/// The engine's bound on indicator numbers, for messages.
const MAX_VALUE: u64 = MAX_INDICATOR_VALUE.unsigned_abs();

use crate::agreement::Agreement;
use crate::ids::CptsId;
use crate::indicators::{Catalogue, Periodicity, Unit};

/// A period values are given for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Month(i16, i8),
    Quarter(i16, i8),
    Year(i16),
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

impl Period {
    /// `2021-03`, `03/2021`, `2021-T1` (or `T1 2021`, `2021-Q1`), `2021`.
    pub fn parse(text: &str) -> Result<Period, String> {
        let s = text.trim().to_uppercase();
        let bad = || {
            format!(
                "période « {} » illisible : attendu 2021-03 (mois), 2021-T1 (trimestre) ou 2021 (année)",
                text.trim()
            )
        };
        let year = |y: &str| y.trim().parse::<i16>().ok().filter(|y| (1900..=2200).contains(y));
        let p = if let Some(y) = year(&s).filter(|_| s.len() == 4) {
            Period::Year(y)
        } else if let Some((a, b)) = s.split_once(['-', '/', ' ']) {
            let (a, b) = (a.trim(), b.trim());
            let quarter =
                |q: &str| q.strip_prefix('T').or_else(|| q.strip_prefix('Q')).and_then(|n| n.parse::<i8>().ok());
            if let (Some(y), Some(q)) = (year(a), quarter(b)) {
                Period::Quarter(y, q)
            } else if let (Some(q), Some(y)) = (quarter(a), year(b)) {
                Period::Quarter(y, q)
            } else if let (Some(y), Ok(m)) = (year(a), b.parse::<i8>()) {
                Period::Month(y, m)
            } else if let (Ok(m), Some(y)) = (a.parse::<i8>(), year(b)) {
                Period::Month(y, m)
            } else {
                return Err(bad());
            }
        } else {
            return Err(bad());
        };
        match p {
            Period::Month(_, m) if !(1..=12).contains(&m) => {
                Err(format!("période « {} » : mois {m} impossible", text.trim()))
            }
            Period::Quarter(_, q) if !(1..=4).contains(&q) => {
                Err(format!("période « {} » : trimestre {q} impossible (T1 à T4)", text.trim()))
            }
            p => Ok(p),
        }
    }

    pub fn first_day(self) -> Date {
        let (y, m) = match self {
            Period::Month(y, m) => (y, m),
            Period::Quarter(y, q) => (y, (q - 1) * 3 + 1),
            Period::Year(y) => (y, 1),
        };
        jiff::civil::date(y, m, 1)
    }

    /// First day after the period.
    pub fn end(self) -> Date {
        let (y, m) = match self {
            Period::Month(y, 12) | Period::Quarter(y, 4) | Period::Year(y) => (y + 1, 1),
            Period::Month(y, m) => (y, m + 1),
            Period::Quarter(y, q) => (y, q * 3 + 1),
        };
        jiff::civil::date(y, m, 1)
    }

    /// The months the period covers.
    pub fn months(self) -> Vec<Period> {
        let (y, from, n) = match self {
            Period::Month(y, m) => (y, m, 1),
            Period::Quarter(y, q) => (y, (q - 1) * 3 + 1, 3),
            Period::Year(y) => (y, 1, 12),
        };
        (from..from + n).map(|m| Period::Month(y, m)).collect()
    }

    pub fn periodicity(self) -> Periodicity {
        match self {
            Period::Month(..) => Periodicity::Mois,
            Period::Quarter(..) => Periodicity::Trimestre,
            Period::Year(_) => Periodicity::Annee,
        }
    }

    pub fn overlaps(self, other: Period) -> bool {
        self.first_day() < other.end() && other.first_day() < self.end()
    }

    /// In words: « mars 2021 », « 1er trimestre 2021 », « année 2021 ».
    pub fn label(self) -> String {
        match self {
            Period::Month(y, m) => {
                format!("{} {y}", MONTHS.get(usize::try_from(m - 1).unwrap_or(0)).copied().unwrap_or(""))
            }
            Period::Quarter(y, 1) => format!("1er trimestre {y}"),
            Period::Quarter(y, q) => format!("{q}e trimestre {y}"),
            Period::Year(y) => format!("année {y}"),
        }
    }
}

impl fmt::Display for Period {
    /// The canonical code, as exported: `2021-03`, `2021-T1`, `2021`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
            Period::Quarter(y, q) => write!(f, "{y}-T{q}"),
            Period::Year(y) => write!(f, "{y}"),
        }
    }
}

impl std::str::FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Period::parse(s)
    }
}

/// A value as given: for a share, the rate and, when known, its numerator and denominator.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    pub value: Dec,
    pub numerator: Option<Dec>,
    pub denominator: Option<Dec>,
}

/// A checked value of one CPTS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub cpts: CptsId,
    pub indicator: String,
    pub period: Period,
    pub reading: Reading,
}

/// A value row as read from a file or typed, cells untouched.
#[derive(Clone, Debug, Default)]
pub struct RawValue {
    /// Line in the file (1 = header), 0 when typed.
    pub line: usize,
    pub cpts: String,
    pub indicator: String,
    pub period: String,
    pub value: String,
    pub numerator: String,
    pub denominator: String,
}

pub use crate::table::LineError;

/// What the platform knows of an indicator of a contract: the catalogue's entry, or, for a
/// contract-specific indicator, a count entered at any period.
#[derive(Copy, Clone, Debug)]
pub struct Kind {
    pub unit: Unit,
    pub finest: Periodicity,
    /// In the national catalogue (else contract-specific).
    pub national: bool,
}

pub fn kind(catalogue: &Catalogue, code: &str) -> Kind {
    catalogue.get(code).map_or(Kind { unit: Unit::Nombre, finest: Periodicity::Mois, national: false }, |i| Kind {
        unit: i.unit,
        finest: i.periodicity,
        national: true,
    })
}

/// The contracts of one CPTS (every one, renewals included), to place periods.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// The CPTS's name: a values file may name the CPTS by it instead of its identifier.
    pub name: String,
    pub contracts: Vec<(i64, Contract)>,
    /// (contract number, contract year) whose activity report is validated: their results
    /// are fixed, a value entered for them changes neither the report nor the ledger.
    pub validated: BTreeSet<(i64, u8)>,
}

impl Scope {
    pub fn of(agreements: &[Agreement], rules: &cpts_engine::rules::RuleSet) -> Result<Scope, String> {
        let mut contracts = Vec::new();
        let mut validated = BTreeSet::new();
        for a in agreements {
            validated.extend(a.released.keys().map(|y| (a.seq, *y)));
            let c = a.contract(rules).map_err(|e| {
                format!("contrat n° {} : {}", a.seq, e.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ; "))
            })?;
            contracts.push((a.seq, c));
        }
        let name = agreements.first().map(|a| a.cpts_name.clone()).unwrap_or_default();
        Ok(Scope { name, contracts, validated })
    }

    /// The contract (number and terms) and the contract year in which a period counts.
    pub fn place(&self, p: Period) -> Result<(i64, &Contract, u8), String> {
        let day = p.first_day();
        for (seq, c) in &self.contracts {
            let end = Agreement::end(c).unwrap_or(day);
            if c.signed <= day && day < end {
                let year = c.year_of(day).ok_or_else(|| format!("période {p} hors des années du contrat n° {seq}"))?;
                return Ok((*seq, c, year));
            }
        }
        Err(match self.contracts.iter().map(|(_, c)| c.signed).min() {
            None => "aucun contrat signé : les valeurs suivent les objectifs du contrat".into(),
            Some(first) if day < first => format!(
                "la période {p} commence le {}, avant le contrat signé le {} (une période compte dans l'année de contrat où elle commence)",
                fr(day),
                fr(first)
            ),
            Some(_) => format!("la période {p} commence le {}, hors de tout contrat en vigueur", fr(day)),
        })
    }
}

fn objective_indicators(c: &Contract) -> impl Iterator<Item = &str> {
    c.missions.iter().flat_map(|m| m.objectives.iter().map(|o| o.indicator.as_str()))
}

/// Check one row in its scope: every problem is reported.
/// The CPTS a cell names: its identifier, or its exact name (what people type in a sheet).
fn resolve_cpts(cell: &str, scopes: &BTreeMap<CptsId, Scope>) -> Result<CptsId, String> {
    let cell = cell.trim();
    if let Ok(id) = cell.parse::<CptsId>()
        && scopes.contains_key(&id)
    {
        return Ok(id);
    }
    if let Some((id, _)) = scopes.iter().find(|(_, s)| !s.name.is_empty() && s.name == cell) {
        return Ok(id.clone());
    }
    if cell.is_empty() {
        return Err("valeur manquante : l'identifiant de la CPTS (ex. cpts-paris-18) ou son nom exact".into());
    }
    // A name that differs only by case or spacing: say which identifier it is.
    let loose = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if let Some((id, s)) = scopes.iter().find(|(_, s)| !s.name.is_empty() && loose(&s.name) == loose(cell)) {
        return Err(format!(
            "CPTS « {cell} » inconnue : indiquez son identifiant « {id} » ou son nom exact « {} »",
            s.name
        ));
    }
    Err(format!("CPTS « {cell} » inconnue : indiquez l'identifiant de la CPTS (ex. cpts-paris-18) ou son nom exact"))
}

/// Check one row in its scope: every problem is reported except an unknown CPTS
/// (`cpts` is `None`), reported once per distinct cell by `check`.
fn check_row(
    r: &RawValue,
    cpts: Option<CptsId>,
    scopes: &BTreeMap<CptsId, Scope>,
    catalogue: &Catalogue,
    errors: &mut Vec<LineError>,
) -> Option<Entry> {
    let before = errors.len();
    let mut fail = |column: &str, m: String| errors.push(LineError::new(r.line, column, m));
    let indicator = r.indicator.trim();
    if indicator.is_empty() {
        fail("Indicateur", "valeur manquante".into());
    }
    let period = Period::parse(&r.period).map_err(|e| fail("Période", e)).ok();
    let k = kind(catalogue, indicator);
    if let (Some(id), Some(p)) = (&cpts, period) {
        match scopes.get(id).map(|s| s.place(p)) {
            Some(Ok((seq, c, _))) if !indicator.is_empty() && !objective_indicators(c).any(|i| i == indicator) => {
                // Refused, whether a typo or a national indicator the contract does not follow:
                // a value counts only for an objective of the contract. The codes are listed.
                let mut codes: Vec<&str> = objective_indicators(c).collect();
                codes.sort_unstable();
                codes.dedup();
                let known =
                    if k.national { "indicateur du catalogue national" } else { "code inconnu du catalogue national" };
                fail(
                    "Indicateur",
                    format!(
                        "indicateur « {indicator} » absent des objectifs du contrat n° {seq} ({known}) ; indicateurs du contrat : {}",
                        codes.join(", ")
                    ),
                );
            }
            Some(Err(e)) => fail("Période", e),
            _ => {}
        }
        if p.periodicity() < k.finest {
            fail(
                "Période",
                format!("période {p} trop fine pour « {indicator} » : valeurs par {} au plus fin", k.finest.label()),
            );
        }
    }
    let number = |cell: &str, column: &str, fail: &mut dyn FnMut(&str, String)| -> Option<Dec> {
        match cell.trim() {
            "" => None,
            t => match Dec::parse(t) {
                Ok(d) if d.is_negative() => {
                    fail(column, format!("« {t} » négatif"));
                    None
                }
                // The engine's range for indicator numbers: sums and rates stay exact.
                Ok(d) if check_indicator_value(d).is_err() => {
                    fail(column, format!("« {t} » hors limites (au plus {})", group_thousands(MAX_VALUE)));
                    None
                }
                Ok(d) => Some(d),
                Err(e) => {
                    fail(column, e);
                    None
                }
            },
        }
    };
    let value = number(&r.value, "Valeur", &mut fail);
    let num = number(&r.numerator, "Numérateur", &mut fail);
    let den = number(&r.denominator, "Dénominateur", &mut fail);
    let reading = match k.unit {
        Unit::Nombre => {
            if num.is_some() || den.is_some() {
                fail("Numérateur", format!("« {indicator} » est un nombre : pas de numérateur ni de dénominateur"));
            }
            if value.is_none() && r.value.trim().is_empty() {
                fail("Valeur", "valeur manquante".into());
            }
            // The national counts are counts of people, slots, meetings…: whole numbers.
            if k.national
                && let Some(v) = value.filter(|v| v.scale() > 0)
            {
                fail("Valeur", format!("« {indicator} » se compte en nombre entier ({v} donné)"));
            }
            value.map(|value| Reading { value, numerator: None, denominator: None })
        }
        Unit::Pourcentage => match (num, den) {
            (Some(n), Some(d)) => {
                let (nn, dn) = (n.to_nano_units(), d.to_nano_units());
                if dn == 0 {
                    fail("Dénominateur", "dénominateur nul".into());
                    None
                } else if nn > dn {
                    fail("Numérateur", format!("numérateur {n} supérieur au dénominateur {d}"));
                    None
                } else {
                    let rate = Dec::percent(nn, dn);
                    // A typed rate must agree with its counts to 0.01 point.
                    if let (Some(v), Some(rt)) = (value, rate)
                        && (v.to_nano_units() - rt.to_nano_units()).abs() > 10_000_000
                    {
                        fail("Valeur", format!("taux {v} % incohérent avec {n} / {d} = {rt} %"));
                    }
                    rate.map(|value| Reading { value, numerator: Some(n), denominator: Some(d) })
                }
            }
            (None, None) => match value {
                Some(v) if v.to_nano_units() > Dec::from_int(100).to_nano_units() => {
                    fail("Valeur", format!("pourcentage {v} supérieur à 100"));
                    None
                }
                Some(v) => Some(Reading { value: v, numerator: None, denominator: None }),
                None => {
                    if r.value.trim().is_empty() {
                        fail("Valeur", "valeur manquante (un taux, ou son numérateur et son dénominateur)".into());
                    }
                    None
                }
            },
            _ => {
                fail("Dénominateur", "numérateur et dénominateur vont ensemble".into());
                None
            }
        },
    };
    if errors.len() != before || cpts.is_none() {
        return None;
    }
    Some(Entry { cpts: cpts?, indicator: indicator.to_string(), period: period?, reading: reading? })
}

/// Check rows (a file, or one typed value) against the CPTS's contracts and the values already
/// stored (`existing`: current periods per CPTS and indicator). All or nothing: every problem
/// is reported. A row for a period already stored corrects it; periods must not overlap
/// (2021-T1 and 2021-03 for the same indicator), in the rows or with what is stored.
pub fn check(
    rows: &[RawValue],
    scopes: &BTreeMap<CptsId, Scope>,
    existing: &BTreeMap<(CptsId, String), Vec<Period>>,
    catalogue: &Catalogue,
) -> Result<Vec<Entry>, Vec<LineError>> {
    let mut checker = Checker::new(catalogue);
    let entries = checker.rows(rows, scopes);
    checker.finish(existing).map(|()| entries)
}

/// Errors a check keeps before it stops reading a file: every one of them is listed or
/// counted; past that, the file is clearly not the one meant (or not fixed yet).
pub const MAX_ERRORS_KEPT: usize = 1_000;

/// `check` by chunks of rows, for a file read as a stream: the state kept between chunks is
/// the periods given per CPTS and indicator (duplicates and overlaps span the whole file)
/// and the errors, a few bytes per value, never the rows themselves.
#[derive(Debug)]
pub struct Checker<'c> {
    catalogue: &'c Catalogue,
    errors: Vec<LineError>,
    rows: usize,
    /// Per CPTS and indicator, the periods given, sorted, with their line (u32: a file of
    /// more lines is refused long before, see `limits::MAX_ROWS`).
    given: BTreeMap<CptsId, BTreeMap<String, Vec<(Period, u32)>>>,
    /// An unknown CPTS is said once per distinct cell: its message, first line, other lines.
    unknown: BTreeMap<String, (String, usize, usize)>,
}

impl<'c> Checker<'c> {
    pub fn new(catalogue: &'c Catalogue) -> Checker<'c> {
        Checker { catalogue, errors: Vec::new(), rows: 0, given: BTreeMap::new(), unknown: BTreeMap::new() }
    }

    /// Check a chunk of rows; `scopes` must hold every CPTS the chunk names that the caller
    /// knows. Returns the chunk's valid entries, in file order; they are all good only when
    /// `finish` says so (a later row may duplicate or overlap one).
    pub fn rows(&mut self, rows: &[RawValue], scopes: &BTreeMap<CptsId, Scope>) -> Vec<Entry> {
        let mut entries = Vec::with_capacity(rows.len());
        self.rows += rows.len();
        for r in rows {
            let cpts = match resolve_cpts(&r.cpts, scopes) {
                Ok(id) => Some(id),
                Err(m) => {
                    let cell = r.cpts.trim();
                    match self.unknown.get_mut(cell) {
                        Some((_, _, others)) => *others += 1,
                        None => {
                            self.unknown.insert(cell.to_string(), (m, r.line, 0));
                        }
                    }
                    None
                }
            };
            let Some(e) = check_row(r, cpts, scopes, self.catalogue, &mut self.errors) else { continue };
            let line = u32::try_from(r.line).unwrap_or(u32::MAX);
            let list = self.given.entry(e.cpts.clone()).or_default();
            let list = match list.get_mut(e.indicator.as_str()) {
                Some(l) => l,
                None => list.entry(e.indicator.clone()).or_default(),
            };
            // Files come sorted by period more often than not: appending is the common case.
            let at = match list.last() {
                Some((last, _)) if *last < e.period => Err(list.len()),
                None => Err(0),
                Some(_) => list.binary_search_by_key(&e.period, |(p, _)| *p),
            };
            match at {
                Ok(first) => {
                    let first = list.get(first).map_or(0, |(_, l)| *l);
                    self.errors.push(LineError::new(
                        r.line,
                        "Période",
                        format!("même CPTS, indicateur et période que la ligne {first}"),
                    ));
                }
                Err(at) => {
                    list.insert(at, (e.period, line));
                    entries.push(e);
                }
            }
        }
        entries
    }

    /// Errors found so far (an unknown CPTS counted once).
    pub fn error_count(&self) -> usize {
        self.errors.len() + self.unknown.len()
    }

    /// `MAX_ERRORS_KEPT` errors found: reading further would only add to a list nobody reads.
    pub fn full(&self) -> bool {
        self.error_count() >= MAX_ERRORS_KEPT
    }

    /// The end of the file: overlaps between periods (given, or already stored), the unknown
    /// CPTS, an empty file. Every error, sorted by line.
    pub fn finish(self, existing: &BTreeMap<(CptsId, String), Vec<Period>>) -> Result<(), Vec<LineError>> {
        let Checker { mut errors, rows, given, unknown, .. } = self;
        // Overlaps, per CPTS and indicator: sort every period (stored and new) and sweep.
        for (cpts, indicators) in &given {
            for (ind, new) in indicators {
                let mut list: Vec<(Period, Option<usize>)> =
                    new.iter().map(|(p, l)| (*p, usize::try_from(*l).ok())).collect();
                if let Some(old) = existing.get(&(cpts.clone(), ind.clone())) {
                    list.extend(
                        old.iter().filter(|p| new.binary_search_by_key(*p, |(q, _)| *q).is_err()).map(|p| (*p, None)),
                    );
                }
                overlaps(&mut list, ind, &mut errors);
            }
        }
        for (message, first, others) in unknown.into_values() {
            let message = match others {
                0 => message,
                1 => format!("{message} (et 1 autre ligne)"),
                n => format!("{message} (et {n} autres lignes)"),
            };
            errors.push(LineError::new(first, "CPTS", message));
        }
        if rows == 0 {
            errors.push(LineError::new(2, "", "aucune valeur"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            errors.sort_by_key(|e| e.line);
            Err(errors)
        }
    }
}

/// Overlapping periods of one CPTS and indicator (with their line in the file, None: already
/// stored), each said on the later line of the file, naming the other period.
fn overlaps(list: &mut [(Period, Option<usize>)], ind: &str, errors: &mut Vec<LineError>) {
    list.sort_by_key(|(p, _)| (p.first_day(), p.end()));
    let mut reach: Option<(Period, Option<usize>)> = None;
    for (p, line) in list.iter() {
        if let Some((q, qline)) = reach
            && q.end() > p.first_day()
        {
            let (at, this, other) = match (*line, qline) {
                (Some(l), Some(o)) if l > o => (l, *p, format!("{q} (ligne {o})")),
                (Some(l), Some(o)) => (o, q, format!("{p} (ligne {l})")),
                (Some(l), None) => (l, *p, format!("{q}, déjà enregistrée")),
                (None, Some(o)) => (o, q, format!("{p}, déjà enregistrée")),
                (None, None) => continue,
            };
            errors.push(LineError::new(
                at,
                "Période",
                format!("{this} chevauche {other} pour « {ind} » : une période ne se compte qu'une fois"),
            ));
        }
        if reach.is_none_or(|(q, _)| p.end() > q.end()) {
            reach = Some((*p, *line));
        }
    }
}

/// Same figures, whatever their writing (`7` and `7,0`).
fn same(a: &Reading, b: &Reading) -> bool {
    let n = |d: Option<Dec>| d.map(Dec::to_nano_units);
    a.value.to_nano_units() == b.value.to_nano_units()
        && n(a.numerator) == n(b.numerator)
        && n(a.denominator) == n(b.denominator)
}

/// Split checked entries into those to store and the number left out because the current
/// value (`current`, of the same CPTS) is already the same: re-importing an export is not a
/// correction and adds nothing to the history.
pub fn without_unchanged(entries: Vec<Entry>, current: &[Entry]) -> (Vec<Entry>, usize) {
    let now: BTreeMap<(&CptsId, &str, Period), &Reading> =
        current.iter().map(|e| ((&e.cpts, e.indicator.as_str(), e.period), &e.reading)).collect();
    let (unchanged, changed): (Vec<Entry>, Vec<Entry>) = entries
        .into_iter()
        .partition(|e| now.get(&(&e.cpts, e.indicator.as_str(), e.period)).is_some_and(|r| same(r, &e.reading)));
    (changed, unchanged.len())
}

/// Warnings for entries counting in a contract year whose report is validated: the values
/// are stored, but the validated report keeps its results and the ledger its amounts.
/// One line per CPTS, contract and year.
pub fn validated_warnings(entries: &[Entry], scopes: &BTreeMap<CptsId, Scope>) -> Vec<String> {
    let mut hits = ValidatedHits::new();
    validated_hits(entries, scopes, &mut hits);
    warnings_of(&hits)
}

/// Entries counting in a validated contract year, per CPTS, contract and year.
pub type ValidatedHits = BTreeMap<(CptsId, i64, u8), usize>;

/// Count into `hits` the entries counting in a validated contract year (chunk after chunk).
pub fn validated_hits(entries: &[Entry], scopes: &BTreeMap<CptsId, Scope>, hits: &mut ValidatedHits) {
    for e in entries {
        let Some(scope) = scopes.get(&e.cpts) else { continue };
        if let Ok((seq, _, year)) = scope.place(e.period)
            && scope.validated.contains(&(seq, year))
        {
            match hits.get_mut(&(e.cpts.clone(), seq, year)) {
                Some(n) => *n += 1,
                None => {
                    hits.insert((e.cpts.clone(), seq, year), 1);
                }
            }
        }
    }
}

/// The warnings of `validated_hits`.
pub fn warnings_of(hits: &ValidatedHits) -> Vec<String> {
    hits.iter()
        .map(|((cpts, seq, year), n)| {
            format!(
                "Attention : {n} valeur(s) de {cpts} comptent dans l'année {year} du contrat n° {seq}, dont le rapport est validé : \
                 elles sont enregistrées, mais le rapport validé garde ses résultats et le grand livre ses montants."
            )
        })
        .collect()
}

/// An indicator's value over a contract year, from the periods that count in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearValue {
    pub indicator: String,
    pub value: Option<Dec>,
    pub numerator: Option<Dec>,
    pub denominator: Option<Dec>,
    pub periods: Vec<Period>,
    /// Months of the year no value covers (empty once the periods add up to the year).
    pub missing: Vec<Period>,
    /// Months the year counts (12, fewer for a year cut by a termination).
    pub months: usize,
    /// Why no yearly value can be computed, if so.
    pub problem: Option<String>,
}

impl YearValue {
    /// « 9/12 mois »: months given by the periods that count in the year.
    pub fn coverage(&self) -> String {
        format!("{}/{} mois", self.covered_months().min(self.months), self.months)
    }

    fn covered_months(&self) -> usize {
        self.periods.iter().map(|p| p.months().len()).sum::<usize>()
    }
}

/// The months beginning in contract year `year` (the placement rule).
fn months_of_year(c: &Contract, year: u8) -> Vec<Period> {
    let Some((start, end)) = c.year_bounds(year) else { return Vec::new() };
    let end = c.terminated.map_or(end, |t| t.min(end));
    let mut out = Vec::new();
    let mut m = Period::Month(start.year(), start.month());
    if m.first_day() < start {
        m = Period::Month(m.end().year(), m.end().month());
    }
    while m.first_day() < end {
        out.push(m);
        m = Period::Month(m.end().year(), m.end().month());
    }
    out
}

/// Each objective indicator of the contract over year `year`, from a CPTS's current values.
pub fn year_values(c: &Contract, year: u8, catalogue: &Catalogue, values: &[Entry]) -> Vec<YearValue> {
    let Some((start, end)) = c.year_bounds(year) else { return Vec::new() };
    let end = c.terminated.map_or(end, |t| t.min(end));
    let months = months_of_year(c, year);
    let mut out = Vec::new();
    let mut done = BTreeSet::new();
    for ind in objective_indicators(c) {
        if !done.insert(ind) {
            continue;
        }
        let mut mine: Vec<&Entry> =
            values.iter().filter(|e| e.indicator == ind && (start..end).contains(&e.period.first_day())).collect();
        mine.sort_by_key(|e| e.period);
        // Periods count where they begin: a calendar year or quarter stands for the months of
        // the contract year it begins in, so only a shortfall in months is missing.
        let covered: BTreeSet<Period> = mine.iter().flat_map(|e| e.period.months()).collect();
        let given: usize = mine.iter().map(|e| e.period.months().len()).sum();
        let missing = if given >= months.len() {
            Vec::new()
        } else {
            months.iter().filter(|m| !covered.contains(m)).copied().collect()
        };
        // Checked: `None` when a period lacks the number or the sum leaves the engine's range.
        let max = Dec::from_int(MAX_INDICATOR_VALUE).to_nano_units();
        let sum = |f: &dyn Fn(&Reading) -> Option<Dec>| -> Option<i128> {
            mine.iter()
                .try_fold(0_i128, |acc, e| acc.checked_add(f(&e.reading)?.to_nano_units()))
                .filter(|total| *total <= max)
        };
        let mut yv = YearValue {
            indicator: ind.to_string(),
            value: None,
            numerator: None,
            denominator: None,
            periods: mine.iter().map(|e| e.period).collect(),
            missing,
            months: months.len(),
            problem: None,
        };
        match (mine.as_slice(), kind(catalogue, ind).unit) {
            ([], _) => yv.problem = Some("aucune valeur".into()),
            (_, Unit::Nombre) => yv.value = sum(&|r| Some(r.value)).and_then(Dec::from_nano_units),
            ([one], Unit::Pourcentage) => {
                yv.value = Some(one.reading.value);
                (yv.numerator, yv.denominator) = (one.reading.numerator, one.reading.denominator);
            }
            (_, Unit::Pourcentage) => match (sum(&|r| r.numerator), sum(&|r| r.denominator)) {
                (Some(n), Some(d)) => {
                    yv.value = Dec::percent(n, d);
                    yv.numerator = Dec::from_nano_units(n);
                    yv.denominator = Dec::from_nano_units(d);
                }
                _ => {
                    yv.problem = Some(
                        "taux donnés sans numérateur ni dénominateur sur plusieurs périodes : donnez-les, ou un seul taux pour l'année"
                            .into(),
                    );
                }
            },
        }
        if yv.value.is_none() && yv.problem.is_none() {
            yv.problem = Some(format!(
                "somme de l'année au-delà de {} : vérifiez les valeurs saisies",
                group_thousands(MAX_VALUE)
            ));
        }
        out.push(yv);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_as_typed_and_print_canonically() {
        for (typed, code) in [
            ("2021-03", "2021-03"),
            ("03/2021", "2021-03"),
            ("3/2021", "2021-03"),
            ("2021-T1", "2021-T1"),
            ("t2 2021", "2021-T2"),
            ("2021-Q4", "2021-T4"),
            ("2021", "2021"),
        ] {
            assert_eq!(Period::parse(typed).map(|p| p.to_string()), Ok(code.to_string()), "{typed}");
        }
        for bad in ["2021-13", "2021-T5", "mars", "", "21-03", "2021-00"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Period::Quarter(2021, 4).end(), jiff::civil::date(2022, 1, 1));
        assert_eq!(Period::Month(2021, 3).label(), "mars 2021");
        assert!(Period::Quarter(2021, 1).overlaps(Period::Month(2021, 3)));
        assert!(!Period::Quarter(2021, 1).overlaps(Period::Month(2021, 4)));
        assert_eq!(Period::Year(2021).months().len(), 12);
    }
}
