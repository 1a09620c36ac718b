//! Indicator values: entered one by one or imported (rows read at the edge, cells untouched),
//! checked against the catalogue and each CPTS's contracts, stored as one batch with their
//! provenance; listed, with their history.
//!
//! An import may touch several CPTS: the principal needs the right to import on EACH of them,
//! else nothing is stored. A CPTS the principal cannot read is unknown to it.

use std::collections::{BTreeMap, BTreeSet};

use cpts_domain::agreement::Agreement;
use cpts_domain::ids::CptsId;
use cpts_domain::indicators::Catalogue;
use cpts_domain::table::{ColumnSpec, LineError, RawTable, columns};
use cpts_domain::text::Kind;
use cpts_domain::values::{self, Entry, RawValue, Scope};
use cpts_store::{Areas, CptsRecord, Provenance, Stamp, StoredValue, Visible};

use crate::policy::{Action, Principal, Role};
use crate::{App, AppError, FieldError, Result};

/// The columns of a values file (import and export): name, accepted headers, required.
pub const VALUE_COLUMNS: &[ColumnSpec<'static>] = &[
    ("CPTS", &["cpts", "identifiant", "identifiant cpts", "id cpts"], true),
    ("Indicateur", &["indicateur", "code indicateur", "code"], true),
    ("Période", &["periode"], true),
    ("Valeur", &["valeur", "taux"], false),
    ("Numérateur", &["numerateur"], false),
    ("Dénominateur", &["denominateur"], false),
];

/// The header of an export, which an import reads back.
pub const VALUE_HEADER: [&str; 6] = ["CPTS", "Indicateur", "Période", "Valeur", "Numérateur", "Dénominateur"];

/// Above this many CPTS named, they are found by one listing rather than one by one.
const FEW: usize = 16;
/// Identifiers bound per query.
const CHUNK: usize = 500;

/// Rows of a values table (CSV or XLSX read by `cpts_render::read_table`), cells untouched;
/// the line errors of its header otherwise.
pub fn value_rows(table: &RawTable) -> std::result::Result<Vec<RawValue>, Vec<LineError>> {
    let index = columns(table, VALUE_COLUMNS)?;
    Ok(table
        .rows
        .iter()
        .map(|(line, cells)| {
            let cell = |c: &str| index.get(c).and_then(|i| cells.get(*i)).cloned().unwrap_or_default();
            RawValue {
                line: *line,
                cpts: cell("CPTS"),
                indicator: cell("Indicateur"),
                period: cell("Période"),
                value: cell("Valeur"),
                numerator: cell("Numérateur"),
                denominator: cell("Dénominateur"),
            }
        })
        .collect())
}

/// A value as a row of the export (`VALUE_HEADER`'s columns).
pub fn export_row(e: &Entry) -> Vec<String> {
    let opt = |d: Option<cpts_engine::rate::Dec>| d.map_or_else(String::new, |d| d.to_string());
    vec![
        e.cpts.to_string(),
        e.indicator.clone(),
        e.period.to_string(),
        e.reading.value.to_string(),
        opt(e.reading.numerator),
        opt(e.reading.denominator),
    ]
}

/// Line errors as the application's field errors (the column is the field).
pub fn line_errors(errors: Vec<LineError>) -> AppError {
    AppError::Invalid(
        errors.into_iter().map(|e| FieldError { field: e.column, line: Some(e.line), message: e.message }).collect(),
    )
}

/// Values to store: typed one by one or read from a file, with who enters them.
#[derive(Clone, Debug)]
pub struct ImportValues {
    pub rows: Vec<RawValue>,
    pub provenance: Provenance,
}

/// Values checked, ready to store (made by `App::check_values` only).
#[derive(Debug)]
pub struct CheckedValues {
    entries: Vec<Entry>,
    corrected: usize,
    unchanged: usize,
    warnings: Vec<String>,
    stamp: Option<Stamp>,
}

impl CheckedValues {
    /// The values that will be stored (those identical to the current ones left out).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// What an import stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuesImported {
    /// The batch number; None when every value was unchanged (nothing stored).
    pub batch: Option<i64>,
    pub stored: usize,
    /// CPTS concerned by the stored values.
    pub cpts: usize,
    /// Of `stored`, values replacing one already stored for the period.
    pub corrected: usize,
    /// Values identical to the current ones, not stored again.
    pub unchanged: usize,
    /// Values counting in a year whose report is validated (stored all the same).
    pub warnings: Vec<String>,
}

fn loose(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl App {
    pub(crate) fn catalogue(&self) -> Result<Catalogue> {
        Catalogue::builtin(&self.rules).map_err(AppError::Internal)
    }

    /// Read a CPTS: the policy first (out of scope: « introuvable »), then its record.
    pub(crate) async fn readable(&self, p: &Principal, id: &CptsId) -> Result<CptsRecord> {
        self.authorize(p, Action::Read, id).await?;
        Ok(self.store.get_cpts(id).await?)
    }

    /// The areas of these CPTS, a few queries whatever their number.
    async fn areas_of_many(&self, ids: &BTreeSet<CptsId>) -> Result<BTreeMap<String, Areas>> {
        let all: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let mut out = BTreeMap::new();
        for chunk in all.chunks(CHUNK) {
            let v = Visible { cpts: chunk.iter().cloned().collect(), ..Visible::default() };
            out.extend(self.store.areas_in(&v).await?);
        }
        Ok(out)
    }

    /// Check values against the catalogue, the contracts of their CPTS and the values stored:
    /// all or nothing (every faulty line is said). Reads only.
    pub async fn check_values(&self, p: &Principal, rows: &[RawValue]) -> Result<CheckedValues> {
        let read = p.visible(Action::Read);
        let ids: BTreeSet<CptsId> = rows.iter().filter_map(|r| r.cpts.trim().parse().ok()).collect();
        // The CPTS named, among those the principal can read (one listing for many, so a file
        // naming 100 000 unknown CPTS costs one query, not 100 000).
        let mut names: BTreeMap<CptsId, String> = BTreeMap::new();
        let mut listing: Option<Vec<CptsRecord>> = None;
        if ids.len() > FEW {
            let all = self.store.list_cpts_in(&read).await?;
            names.extend(all.iter().filter(|r| ids.contains(&r.id)).map(|r| (r.id.clone(), r.identity.name.clone())));
            listing = Some(all);
        } else {
            for id in &ids {
                if let Ok(r) = self.store.get_cpts(id).await {
                    names.insert(id.clone(), r.identity.name);
                }
            }
        }
        // Cells that are not a known identifier may be a CPTS's name: one listing of the
        // readable CPTS resolves them (the check suggests the identifier of near ones).
        let others: BTreeSet<String> = rows
            .iter()
            .filter(|r| r.cpts.trim().parse::<CptsId>().map_or(true, |id| !names.contains_key(&id)))
            .map(|r| loose(&r.cpts))
            .collect();
        if !others.is_empty() {
            let all = match listing {
                Some(all) => all,
                None => self.store.list_cpts_in(&read).await?,
            };
            names.extend(
                all.into_iter().filter(|r| others.contains(&loose(&r.identity.name))).map(|r| (r.id, r.identity.name)),
            );
        }
        // The policy on each CPTS named: one the principal cannot read does not exist for it;
        // one it reads but may not import into refuses the whole import.
        let known: BTreeSet<CptsId> = names.keys().cloned().collect();
        let areas = if read.all && p.visible(Action::ImportValues).all {
            BTreeMap::new()
        } else {
            self.areas_of_many(&known).await?
        };
        let none = Areas::default();
        let mut roles: Vec<Role> = Vec::new();
        for id in &known {
            let a = areas.get(id.as_str()).unwrap_or(&none);
            match p.allowed_on(Action::ImportValues, id, a) {
                Some(role) => roles.push(role),
                None if p.allowed_on(Action::Read, id, a).is_none() => {
                    names.remove(id);
                }
                None => return Err(AppError::forbidden(p, Action::ImportValues)),
            }
        }
        // A principal that does not see every CPTS is told of an identifier it cannot see as
        // of one that does not exist, the whole import refused (as every other use case).
        if !read.all
            && let Some(id) = ids.iter().find(|id| !names.contains_key(*id))
        {
            return Err(AppError::NotFound(format!("CPTS « {id} » introuvable")));
        }
        let mut scopes = BTreeMap::new();
        for (id, name) in &names {
            let agreements: Vec<Agreement> =
                self.store.contracts(id, name).await?.into_iter().map(|(a, _)| a).collect();
            let scope = Scope { name: name.clone(), ..Scope::of(&agreements, &self.rules).map_err(AppError::Internal)? };
            scopes.insert(id.clone(), scope);
        }
        let ids: Vec<CptsId> = scopes.keys().cloned().collect();
        let existing = self.store.value_periods(&ids).await?;
        let entries = values::check(rows, &scopes, &existing, &self.catalogue()?).map_err(line_errors)?;
        let mut current = Vec::new();
        for id in entries.iter().map(|e| &e.cpts).collect::<BTreeSet<_>>() {
            current.extend(self.store.values(id).await?);
        }
        let (entries, unchanged) = values::without_unchanged(entries, &current);
        let warnings = values::validated_warnings(&entries, &scopes);
        let corrected = entries
            .iter()
            .filter(|e| existing.get(&(e.cpts.clone(), e.indicator.clone())).is_some_and(|ps| ps.contains(&e.period)))
            .count();
        // One audit stamp for the batch: the widest of the roles it needed.
        let stamp = roles.into_iter().max().map(|role| self.stamp(p, role, Action::ImportValues));
        Ok(CheckedValues { entries, corrected, unchanged, warnings, stamp })
    }

    /// Store checked values as one batch, `progress` told the rows written so far.
    pub async fn save_values(
        &self,
        checked: CheckedValues,
        provenance: &Provenance,
        progress: impl FnMut(usize),
    ) -> Result<ValuesImported> {
        let CheckedValues { entries, corrected, unchanged, warnings, stamp } = checked;
        let cpts = entries.iter().map(|e| &e.cpts).collect::<BTreeSet<_>>().len();
        let batch = match (&stamp, entries.is_empty()) {
            (_, true) => None,
            (Some(stamp), false) => {
                Some(self.store.add_values_with_progress(stamp, provenance, &entries, progress).await?)
            }
            (None, false) => return Err(AppError::Internal("valeurs contrôlées sans CPTS autorisée".into())),
        };
        Ok(ValuesImported { batch, stored: entries.len(), cpts, corrected, unchanged, warnings })
    }

    /// Enter or import values (`ImportValues` on each CPTS concerned): checked, then stored as
    /// one batch; a period already stored is corrected (its previous value stays in the history).
    pub async fn import_values(&self, p: &Principal, cmd: ImportValues) -> Result<ValuesImported> {
        let by = &cmd.provenance.by;
        cpts_domain::text::check("saisi par", by, Kind::Name).map_err(|e| AppError::field("saisi par", e))?;
        if by.trim().is_empty() {
            return Err(AppError::field("saisi par", "indiquez qui saisit"));
        }
        let checked = self.check_values(p, &cmd.rows).await?;
        self.save_values(checked, &cmd.provenance, |_| {}).await
    }

    /// The current values of a CPTS (one indicator's, if given), by indicator and period.
    pub async fn values(&self, p: &Principal, id: &CptsId, indicator: Option<&str>) -> Result<Vec<Entry>> {
        self.readable(p, id).await?;
        let mut all = self.store.values(id).await?;
        all.retain(|e| indicator.is_none_or(|i| i == e.indicator));
        Ok(all)
    }

    /// Every value ever stored for a CPTS, corrected ones included, with its provenance.
    pub async fn value_history(&self, p: &Principal, id: &CptsId, indicator: Option<&str>) -> Result<Vec<StoredValue>> {
        self.readable(p, id).await?;
        Ok(self.store.value_history(id, indicator).await?)
    }
}
