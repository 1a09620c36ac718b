//! Indicator values: entered one by one or imported (rows read at the edge, cells untouched),
//! checked against the catalogue and each CPTS's contracts, stored as one batch with their
//! provenance; listed, with their history.
//!
//! An import may touch several CPTS: the principal needs the right to import on EACH of them,
//! else nothing is stored. A CPTS the principal cannot read is unknown to it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use cpts_domain::agreement::Agreement;
use cpts_domain::ids::CptsId;
use cpts_domain::indicators::Catalogue;
use cpts_domain::table::{ColumnSpec, LineError, RawTable, columns, header_columns};
use cpts_domain::text::Kind;
use cpts_domain::values::{self, Checker, Entry, MAX_ERRORS_KEPT, Period, RawValue, Scope, ValidatedHits};
use cpts_store::{Areas, CptsRecord, IDS_PER_QUERY, Provenance, Stamp, StoredValue, ValuesTx, Visible};

use tracing::{Instrument, debug_span};

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

/// Rows of a values table (CSV or XLSX read by `cpts_render::read_table`), cells untouched;
/// the line errors of its header otherwise.
pub fn value_rows(table: &RawTable) -> std::result::Result<Vec<RawValue>, Vec<LineError>> {
    let columns = ValueColumns(columns(table, VALUE_COLUMNS)?);
    Ok(table.rows.iter().map(|(line, cells)| columns.row(*line, cells.clone())).collect())
}

/// Where each column of a values table is (a table read row by row).
#[derive(Clone, Debug)]
pub struct ValueColumns(BTreeMap<&'static str, usize>);

impl ValueColumns {
    /// The columns of a header; its line errors otherwise.
    pub fn of(header: &[String]) -> std::result::Result<ValueColumns, Vec<LineError>> {
        header_columns(header, VALUE_COLUMNS).map(ValueColumns)
    }

    /// A row of the table as a value row, cells untouched.
    pub fn row(&self, line: usize, mut cells: Vec<String>) -> RawValue {
        let mut cell = |c: &str| self.0.get(c).and_then(|i| cells.get_mut(*i)).map(std::mem::take).unwrap_or_default();
        RawValue {
            line,
            cpts: cell("CPTS"),
            indicator: cell("Indicateur"),
            period: cell("Période"),
            value: cell("Valeur"),
            numerator: cell("Numérateur"),
            denominator: cell("Dénominateur"),
        }
    }
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
        let all: Vec<&CptsId> = ids.iter().collect();
        let mut out = BTreeMap::new();
        for chunk in all.chunks(IDS_PER_QUERY) {
            out.extend(self.store.areas_in(&Visible::of(chunk.iter().copied())).await?);
        }
        Ok(out)
    }

    /// Check values against the catalogue, the contracts of their CPTS and the values stored:
    /// all or nothing (every faulty line is said). Reads only; holds every value (a file
    /// read as a stream goes through `import_values_from`).
    pub async fn check_values(&self, p: &Principal, rows: &[RawValue]) -> Result<CheckedValues> {
        let mut entries = Vec::new();
        let done = self.stream_values(p, rows.iter().cloned().map(Ok), CHUNK_ROWS, None, Some(&mut entries), |_| {}).await?;
        let stamp = done.role.map(|role| self.stamp(p, role, Action::ImportValues));
        let warnings = values::warnings_of(&done.hits);
        Ok(CheckedValues { entries, corrected: done.corrected, unchanged: done.unchanged, warnings, stamp })
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
        self.import_values_from(p, cmd.rows.into_iter().map(Ok), &cmd.provenance, |_| {}).await
    }

    /// `import_values` for rows read as a stream (a file read row by row; a read error ends
    /// it): read, checked and written by chunks of `CHUNK_ROWS`, all in one transaction, so
    /// memory holds a chunk and a few bytes per value, not the file. Still all or nothing: a
    /// faulty row anywhere, a CPTS the principal may not import into, a read error, and the
    /// transaction is rolled back; every faulty line is said (up to `MAX_ERRORS_KEPT`, then
    /// the check stops). `progress` is told the rows written so far (not yet committed).
    pub async fn import_values_from(
        &self,
        p: &Principal,
        rows: impl Iterator<Item = ReadRow>,
        provenance: &Provenance,
        progress: impl FnMut(usize),
    ) -> Result<ValuesImported> {
        self.import_values_in_chunks(p, rows, provenance, CHUNK_ROWS, progress).await
    }

    /// `import_values_from` by chunks of `chunk_rows` (tests cut files everywhere).
    #[doc(hidden)]
    pub async fn import_values_in_chunks(
        &self,
        p: &Principal,
        rows: impl Iterator<Item = ReadRow>,
        provenance: &Provenance,
        chunk_rows: usize,
        progress: impl FnMut(usize),
    ) -> Result<ValuesImported> {
        let by = &provenance.by;
        cpts_domain::text::check("saisi par", by, Kind::Name).map_err(|e| AppError::field("saisi par", e))?;
        if by.trim().is_empty() {
            return Err(AppError::field("saisi par", "indiquez qui saisit"));
        }
        let at = self.clock.now();
        let mut batch = Batch { at, provenance, tx: None };
        let done = self.stream_values(p, rows, chunk_rows, Some(&mut batch), None, progress).await?;
        let warnings = values::warnings_of(&done.hits);
        let stored = batch.tx.as_ref().map_or(0, ValuesTx::written);
        let batch = match (batch.tx, done.role) {
            // Every value unchanged: nothing stored, no batch (its number given back).
            (None, _) => None,
            (Some(_), _) if stored == 0 => None,
            (Some(tx), Some(role)) => Some(
                tx.commit(&Stamp { at, ..self.stamp(p, role, Action::ImportValues) })
                    .instrument(debug_span!("values.commit"))
                    .await?,
            ),
            (Some(_), None) => return Err(AppError::Internal("valeurs contrôlées sans CPTS autorisée".into())),
        };
        Ok(ValuesImported {
            batch,
            stored,
            cpts: done.cpts.len(),
            corrected: done.corrected,
            unchanged: done.unchanged,
            warnings,
        })
    }

    /// The one check of values, chunk by chunk: the CPTS each chunk names (the policy, their
    /// contracts and stored periods) learnt as they come, the chunk checked, then, while no
    /// error was found, its values written into `tx` or kept in `keep` (a check only).
    async fn stream_values(
        &self,
        p: &Principal,
        rows: impl Iterator<Item = ReadRow>,
        chunk_rows: usize,
        mut batch: Option<&mut Batch<'_>>,
        mut keep: Option<&mut Vec<Entry>>,
        mut progress: impl FnMut(usize),
    ) -> Result<Streamed> {
        let catalogue = self.catalogue()?;
        let mut checker = Checker::new(&catalogue);
        let mut known = Known::new(p);
        let mut done = Streamed::default();
        let mut rows = rows.fuse();
        let mut last = 0;
        loop {
            let chunk_rows = chunk_rows.max(1);
            let mut chunk = Vec::with_capacity(chunk_rows);
            let mut failed = None;
            let read = debug_span!("values.read").entered();
            for r in rows.by_ref() {
                match r {
                    Ok(r) => chunk.push(r),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                if chunk.len() >= chunk_rows {
                    break;
                }
            }
            drop(read);
            let end = chunk.len() < chunk_rows || failed.is_some();
            if !chunk.is_empty() {
                last = chunk.last().map_or(last, |r| r.line);
                known
                    .learn(self, &chunk, batch.as_deref_mut().and_then(|b| b.tx.as_mut()))
                    .instrument(debug_span!("values.learn"))
                    .await?;
                let entries = debug_span!("values.check").in_scope(|| checker.rows(&chunk, &known.scopes));
                drop(chunk);
                // Once a row is faulty nothing will be stored: the rest is only checked.
                if checker.error_count() == 0 {
                    let tx = batch.as_deref_mut().and_then(|b| b.tx.as_mut());
                    let entries =
                        self.changed(entries, &known, tx, &mut done).instrument(debug_span!("values.changed")).await?;
                    debug_span!("values.hits").in_scope(|| {
                        values::validated_hits(&entries, &known.scopes, &mut done.hits);
                        for e in &entries {
                            if !done.cpts.contains(&e.cpts) {
                                done.cpts.insert(e.cpts.clone());
                            }
                        }
                    });
                    if let Some(b) = batch.as_deref_mut()
                        && !entries.is_empty()
                    {
                        let tx = match &mut b.tx {
                            Some(tx) => tx,
                            None => {
                                // The transaction from the first value to write: the CPTS
                                // learnt so far taken (locked) then.
                                let mut tx = self.store.begin_values(b.at, b.provenance).await?;
                                let ids: Vec<CptsId> = known.scopes.keys().cloned().collect();
                                tx.take(&ids).await?;
                                b.tx.insert(tx)
                            }
                        };
                        progress(
                            tx.write(&entries, |e| known.stored(e)).instrument(debug_span!("values.write")).await?,
                        );
                    }
                    if let Some(keep) = keep.as_deref_mut() {
                        keep.extend(entries);
                    }
                }
            }
            let stop = match failed {
                Some(e) => Some(e),
                // Rows are left to read (at the end, every error found is said).
                None if checker.full() && !end => Some(LineError::new(
                    last,
                    "",
                    format!(
                        "contrôle arrêté à la ligne {last} après {MAX_ERRORS_KEPT} erreurs : corrigez-les, puis importez à nouveau le fichier"
                    ),
                )),
                None => None,
            };
            if let Some(e) = stop {
                let mut errors = checker.finish(&known.existing).err().unwrap_or_default();
                errors.push(e);
                errors.sort_by_key(|e| e.line);
                return Err(line_errors(errors));
            }
            if end {
                break;
            }
        }
        debug_span!("values.finish").in_scope(|| checker.finish(&known.existing)).map_err(line_errors)?;
        done.role = known.role;
        Ok(done)
    }

    /// Checked entries without those equal to the current value (counted unchanged); those
    /// left that replace a stored value counted as corrections. Current values are read only
    /// for the CPTS with a stored period among the entries.
    async fn changed(
        &self,
        entries: Vec<Entry>,
        known: &Known<'_>,
        tx: Option<&mut ValuesTx>,
        done: &mut Streamed,
    ) -> Result<Vec<Entry>> {
        let (stored, mut fresh): (Vec<Entry>, Vec<Entry>) = entries.into_iter().partition(|e| known.stored(e));
        if stored.is_empty() {
            return Ok(fresh);
        }
        let ids: Vec<CptsId> = stored.iter().map(|e| e.cpts.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let current = match tx {
            Some(tx) => tx.current(&ids).await?,
            None => {
                let mut all = Vec::new();
                for id in &ids {
                    all.extend(self.store.values(id).await?);
                }
                all
            }
        };
        let (changed, unchanged) = values::without_unchanged(stored, &current);
        done.unchanged += unchanged;
        done.corrected += changed.len();
        fresh.extend(changed);
        Ok(fresh)
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

/// A row of a values file as read; a read error ends the file.
pub type ReadRow = std::result::Result<RawValue, LineError>;

/// Rows read, checked and written at a time by `import_values_from`: a few MB of rows and
/// entries, and a few queries per chunk beside the inserts.
pub const CHUNK_ROWS: usize = 10_000;

/// The batch an import writes: its transaction begun with the first value to write, so
/// that a file refused at once, or a typed value, holds no write lock while it is checked.
struct Batch<'a> {
    at: jiff::Timestamp,
    provenance: &'a Provenance,
    tx: Option<ValuesTx>,
}

/// What `stream_values` found beside the values.
#[derive(Default)]
struct Streamed {
    /// CPTS with values to store.
    cpts: BTreeSet<CptsId>,
    corrected: usize,
    unchanged: usize,
    hits: ValidatedHits,
    /// The widest role the import needed (None: no CPTS named).
    role: Option<Role>,
}

/// The CPTS of a stream as they come: the cells already looked at, the readable CPTS named
/// with their contracts, the periods stored before the import, the roles it needs.
struct Known<'p> {
    p: &'p Principal,
    read: Visible,
    /// The policy need not be asked CPTS by CPTS's areas (the principal sees and imports everywhere).
    everywhere: bool,
    cells: HashSet<String>,
    /// The readable CPTS (identifier, name), listed once when first needed.
    listing: Option<Vec<(CptsId, String)>>,
    scopes: BTreeMap<CptsId, Scope>,
    existing: BTreeMap<(CptsId, String), Vec<Period>>,
    /// CPTS with a value stored before the import (the others' values are all new).
    with_values: BTreeSet<CptsId>,
    role: Option<Role>,
}

impl<'p> Known<'p> {
    fn new(p: &'p Principal) -> Known<'p> {
        let read = p.visible(Action::Read);
        let everywhere = read.all && p.visible(Action::ImportValues).all;
        Known {
            p,
            read,
            everywhere,
            cells: HashSet::new(),
            listing: None,
            scopes: BTreeMap::new(),
            existing: BTreeMap::new(),
            with_values: BTreeSet::new(),
            role: None,
        }
    }

    /// A value for a period stored before the import (a correction, or unchanged).
    fn stored(&self, e: &Entry) -> bool {
        self.with_values.contains(&e.cpts)
            && self.existing.get(&(e.cpts.clone(), e.indicator.clone())).is_some_and(|ps| ps.contains(&e.period))
    }

    /// The readable CPTS, listed once (one query, however many CPTS the file names).
    async fn list(&mut self, app: &App) -> Result<()> {
        if self.listing.is_none() {
            let all = app.store.list_cpts_in(&self.read).await?;
            self.listing = Some(all.into_iter().map(|r| (r.id, r.identity.name)).collect());
        }
        Ok(())
    }

    /// Learn the CPTS a chunk names that were not seen yet: found among those the principal
    /// can read (by identifier, or by name: the check suggests the identifier of a near
    /// one), the policy on each (one it may read but not import into refuses the whole
    /// import; for a principal that does not see every CPTS, one it cannot see is « introuvable »
    /// as in every other use case), then their contracts, and, taken by the batch, their
    /// stored periods.
    async fn learn(&mut self, app: &App, rows: &[RawValue], tx: Option<&mut ValuesTx>) -> Result<()> {
        let cells: BTreeSet<&str> =
            rows.iter().map(|r| r.cpts.trim()).filter(|c| !self.cells.contains(*c)).collect();
        if cells.is_empty() {
            return Ok(());
        }
        let ids: BTreeSet<CptsId> =
            cells.iter().filter_map(|c| c.parse().ok()).filter(|id| !self.scopes.contains_key(id)).collect();
        let mut names: BTreeMap<CptsId, String> = BTreeMap::new();
        if ids.len() > FEW {
            self.list(app).await?;
            let listing = self.listing.as_deref().unwrap_or_default();
            names.extend(listing.iter().filter(|(id, _)| ids.contains(id)).cloned());
        } else {
            for id in &ids {
                if let Ok(r) = app.store.get_cpts(id).await {
                    names.insert(id.clone(), r.identity.name);
                }
            }
        }
        // Cells that are not a known identifier may be a CPTS's name.
        let others: BTreeSet<String> = cells
            .iter()
            .filter(|c| c.parse::<CptsId>().map_or(true, |id| !names.contains_key(&id) && !self.scopes.contains_key(&id)))
            .map(|c| loose(c))
            .collect();
        if !others.is_empty() {
            self.list(app).await?;
            let listing = self.listing.as_deref().unwrap_or_default();
            names.extend(
                listing
                    .iter()
                    .filter(|(id, name)| !self.scopes.contains_key(id) && others.contains(&loose(name)))
                    .cloned(),
            );
        }
        let found: BTreeSet<CptsId> = names.keys().cloned().collect();
        let areas = if self.everywhere { BTreeMap::new() } else { app.areas_of_many(&found).await? };
        let none = Areas::default();
        for id in &found {
            let a = areas.get(id.as_str()).unwrap_or(&none);
            match self.p.allowed_on(Action::ImportValues, id, a) {
                Some(role) => self.role = self.role.max(Some(role)),
                None if self.p.allowed_on(Action::Read, id, a).is_none() => {
                    names.remove(id);
                }
                None => return Err(AppError::forbidden(self.p, Action::ImportValues)),
            }
        }
        if !self.read.all
            && let Some(id) = ids.iter().find(|id| !names.contains_key(*id))
        {
            return Err(AppError::NotFound(format!("CPTS « {id} » introuvable")));
        }
        // Their contracts, a few queries for up to `IDS_PER_QUERY` CPTS.
        let by_id: HashMap<String, String> = names.iter().map(|(id, name)| (id.to_string(), name.clone())).collect();
        let listed: Vec<&CptsId> = names.keys().collect();
        for chunk in listed.chunks(IDS_PER_QUERY) {
            let (mut contracts, _) = app.store.contracts_in(&Visible::of(chunk.iter().copied()), &by_id).await?;
            for id in chunk {
                let agreements: Vec<Agreement> =
                    contracts.remove(id.as_str()).unwrap_or_default().into_iter().map(|(a, _)| a).collect();
                let name = names.get(*id).cloned().unwrap_or_default();
                let scope = Scope { name, ..Scope::of(&agreements, &app.rules).map_err(AppError::Internal)? };
                self.scopes.insert((*id).clone(), scope);
            }
        }
        let new: Vec<CptsId> = names.into_keys().collect();
        let stored = match tx {
            Some(tx) => tx.take(&new).await?,
            None => app.store.value_periods(&new).await?,
        };
        self.with_values.extend(stored.keys().map(|(id, _)| id.clone()));
        self.existing.extend(stored);
        self.cells.extend(cells.into_iter().map(str::to_string));
        Ok(())
    }
}
