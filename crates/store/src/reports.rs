//! Indicator values (with their provenance and history) and activity reports with their
//! review. The domain checks values (`values::check`) and decides report acts
//! (`Report::act`); this persists them, each in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use cpts_domain::activity::{Act, Content, Report, ReportEvent, Status};
use cpts_domain::agreement::Agreement;
use cpts_domain::book::Outcome;
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::Actor;
use cpts_domain::values::{Entry, Period, Reading};
use cpts_engine::rate::Dec;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tracing::Instrument;

use serde_json::{Value, json};

use crate::{Backend, Result, Stamp, Store, StoreError, Visible, date};

fn invalid(m: impl Into<String>) -> StoreError {
    StoreError::Invalid(m.into())
}

pub(crate) fn dec(s: &str) -> Result<Dec> {
    Dec::parse(s).map_err(|e| invalid(format!("valeur stockée illisible : {e}")))
}

/// Who entered a set of values, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// `saisie` (typed) or `import`.
    pub source: String,
    pub file: Option<String>,
    pub by: String,
    pub role: Actor,
}

/// A stored value with its provenance; `replaced` when a later batch corrected it.
#[derive(Clone, Debug)]
pub struct StoredValue {
    pub entry: Entry,
    pub batch: i64,
    pub provenance: Provenance,
    pub recorded_at: String,
    pub replaced_by: Option<i64>,
}

/// An instant stored as RFC 3339 text (a `Stamp`'s).
fn instant(s: &str) -> Result<jiff::Timestamp> {
    s.parse().map_err(|e| invalid(format!("instant stocké illisible « {s} » : {e}")))
}

fn entry_of(r: &AnyRow) -> Result<Entry> {
    let opt = |c: &str| -> Result<Option<Dec>> { r.try_get::<Option<String>, _>(c)?.map(|s| dec(&s)).transpose() };
    Ok(Entry {
        cpts: r.try_get::<String, _>("cpts_id")?.parse().map_err(invalid)?,
        indicator: r.try_get("indicator")?,
        period: Period::parse(&r.try_get::<String, _>("period")?).map_err(invalid)?,
        reading: Reading {
            value: dec(&r.try_get::<String, _>("value")?)?,
            numerator: opt("numerator")?,
            denominator: opt("denominator")?,
        },
    })
}

/// The current periods per (CPTS, indicator) of these CPTS, read by the pool or inside a
/// transaction: one query per `IDS_PER_QUERY` of them.
async fn current_periods(
    db: &mut sqlx::AnyConnection,
    ids: &[CptsId],
) -> Result<BTreeMap<(CptsId, String), Vec<Period>>> {
    let mut out: BTreeMap<(CptsId, String), Vec<Period>> = BTreeMap::new();
    for chunk in ids.chunks(crate::IDS_PER_QUERY) {
        let (clause, values) = Visible::of(chunk).clause("cpts_id", 1);
        let sql = format!("SELECT cpts_id, indicator, period FROM indicator_value WHERE {clause} AND replaced_by IS NULL");
        for r in crate::bound(sql, &values).fetch_all(&mut *db).await? {
            let id: String = r.try_get("cpts_id")?;
            let period: String = r.try_get("period")?;
            out.entry((id.parse().map_err(invalid)?, r.try_get("indicator")?))
                .or_default()
                .push(Period::parse(&period).map_err(invalid)?);
        }
    }
    Ok(out)
}

/// `(?, ?, …), (…)` or `($1, $2, …)` for a multi-row insert of `rows` × `cols`.
pub(crate) fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    let mut sql = String::new();
    for i in 0..rows {
        sql.push_str(if i > 0 { ", (" } else { "(" });
        for k in 1..=cols {
            if k > 1 {
                sql.push_str(", ");
            }
            // SQLite: anonymous `?` (sqlx resolves `$N` by name there, quadratic in a long
            // statement); PostgreSQL needs `$N`.
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", i * cols + k)),
            }
        }
        sql.push(')');
    }
    sql
}

/// Rows per multi-row insert (7 parameters each: within every engine's limit).
const VALUES_PER_INSERT: usize = 1000;

/// A batch of values being written (`Store::begin_values`).
pub struct ValuesTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
    batch: i64,
    provenance: Provenance,
    taken: BTreeSet<CptsId>,
    /// Per CPTS: values written, of which corrections (for its audit row).
    counts: BTreeMap<CptsId, (usize, usize)>,
    written: usize,
}

impl std::fmt::Debug for ValuesTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValuesTx").field("batch", &self.batch).field("written", &self.written).finish_non_exhaustive()
    }
}

impl ValuesTx {
    /// The batch number (given back if the batch is not committed).
    pub fn batch(&self) -> i64 {
        self.batch
    }

    /// Values written so far.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Take these CPTS for the batch (each must exist; on PostgreSQL its row is locked until
    /// the end) and read their current periods per indicator, in the transaction: what was
    /// stored before the batch, which no other writer changes until it ends.
    pub async fn take(&mut self, ids: &[CptsId]) -> Result<BTreeMap<(CptsId, String), Vec<Period>>> {
        let new: Vec<CptsId> = ids.iter().filter(|id| !self.taken.contains(*id)).cloned().collect();
        Store::lock_many(&mut self.tx, self.backend, &new).await?;
        let out = current_periods(&mut self.tx, &new).await?;
        self.taken.extend(new);
        Ok(out)
    }

    /// The current values of these CPTS, read in the transaction (the batch's own included).
    pub async fn current(&mut self, ids: &[CptsId]) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for id in ids {
            let rows = sqlx::query("SELECT * FROM indicator_value WHERE cpts_id = $1 AND replaced_by IS NULL")
                .bind(id.as_str())
                .fetch_all(&mut *self.tx)
                .await?;
            for r in &rows {
                out.push(entry_of(r)?);
            }
        }
        Ok(out)
    }

    /// Write checked values of taken CPTS; `replaces` says which correct a stored value (the
    /// stored row is then marked replaced by this batch; were it wrong, the unique index on
    /// current values refuses the batch). Returns the values written so far.
    pub async fn write(&mut self, entries: &[Entry], replaces: impl Fn(&Entry) -> bool) -> Result<usize> {
        for e in entries {
            if !self.taken.contains(&e.cpts) {
                return Err(invalid(format!("valeurs de {} écrites sans que la CPTS soit prise : rien n'a été enregistré", e.cpts)));
            }
            let fix = replaces(e);
            if fix {
                sqlx::query("UPDATE indicator_value SET replaced_by = $1 WHERE cpts_id = $2 AND indicator = $3 AND period = $4 AND replaced_by IS NULL")
                    .bind(self.batch)
                    .bind(e.cpts.as_str())
                    .bind(&e.indicator)
                    .bind(e.period.to_string())
                    .execute(&mut *self.tx)
                    .await?;
            }
            match self.counts.get_mut(&e.cpts) {
                Some((n, fixed)) => {
                    *n += 1;
                    *fixed += usize::from(fix);
                }
                None => {
                    self.counts.insert(e.cpts.clone(), (1, usize::from(fix)));
                }
            }
        }
        for chunk in entries.chunks(VALUES_PER_INSERT) {
            let sql = format!(
                "INSERT INTO indicator_value (cpts_id, indicator, period, value, numerator, denominator, batch) VALUES {}",
                placeholders(self.backend, chunk.len(), 7)
            );
            let bind = tracing::debug_span!(parent: None, "store.values.bind").entered();
            // Built only from placeholders: no user text goes into the SQL.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                q = q
                    .bind(e.cpts.as_str())
                    .bind(&e.indicator)
                    .bind(e.period.to_string())
                    .bind(e.reading.value.to_string())
                    .bind(e.reading.numerator.map(|d| d.to_string()))
                    .bind(e.reading.denominator.map(|d| d.to_string()))
                    .bind(self.batch);
            }
            drop(bind);
            q.execute(&mut *self.tx).instrument(tracing::debug_span!(parent: None, "store.values.insert")).await.map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => invalid(
                    "une valeur a été enregistrée entre-temps pour la même période : import refusé, rien n'a été enregistré",
                ),
                _ => StoreError::from(e),
            })?;
            self.written += chunk.len();
        }
        Ok(self.written)
    }

    /// Store the batch: its row count, one audit row per CPTS (what each one's scope may
    /// read; its values listed by indicator and period, as one JSON array the database
    /// builds per CPTS: a second copy kept in memory would double the import's), then commit.
    /// Returns the batch number.
    pub async fn commit(mut self, stamp: &Stamp) -> Result<i64> {
        let batch = self.batch;
        sqlx::query("UPDATE value_batch SET rows_count = $1 WHERE id = $2")
            .bind(i64::try_from(self.written).unwrap_or(i64::MAX))
            .bind(batch)
            .execute(&mut *self.tx)
            .await?;
        let p = &self.provenance;
        // What each CPTS got, as the database writes it: one JSON array per CPTS, by indicator
        // and period, found by the current-values index (cpts_id first).
        let detail = match self.backend {
            Backend::Sqlite => "SELECT json_group_array(json_array(indicator, period, value) ORDER BY indicator, period) AS detail FROM indicator_value WHERE cpts_id = $1 AND replaced_by IS NULL AND batch = $2",
            Backend::Postgres => "SELECT COALESCE(json_agg(json_build_array(indicator, period, value) ORDER BY indicator, period), '[]')::text AS detail FROM indicator_value WHERE cpts_id = $1 AND replaced_by IS NULL AND batch = $2",
        };
        for (id, (n, corrected)) in &self.counts {
            let row = sqlx::query(detail)
                .bind(id.as_str())
                .bind(batch)
                .fetch_one(&mut *self.tx)
                .instrument(tracing::debug_span!(parent: None, "store.values.read_back"))
                .await?;
            let values: String = row.try_get("detail")?;
            let rest = json!({
                "lot": batch,
                "source": p.source,
                "fichier": p.file,
                "saisi_par": p.by,
                "valeurs": n,
                "remplacees": corrected,
            })
            .to_string();
            // The detail last, where `json!` put it when it was built here.
            let after = format!("{},\"detail\":{values}}}", rest.strip_suffix('}').unwrap_or(&rest));
            Store::audit_json(&mut self.tx, stamp, Some(id), None, Some(after))
                .instrument(tracing::debug_span!(parent: None, "store.values.audit"))
                .await?;
        }
        self.tx.commit().instrument(tracing::debug_span!(parent: None, "store.values.sql_commit")).await?;
        Ok(batch)
    }
}

impl Store {
    /// Store checked values as one batch: all or nothing. Values for a period already stored
    /// replace it (the previous row stays, marked replaced). Returns the batch number.
    pub async fn add_values(&self, stamp: &Stamp, p: &Provenance, entries: &[Entry]) -> Result<i64> {
        self.add_values_with_progress(stamp, p, entries, |_| {}).await
    }

    /// As `add_values`, calling `progress` with the rows written so far (not yet committed).
    pub async fn add_values_with_progress(
        &self,
        stamp: &Stamp,
        p: &Provenance,
        entries: &[Entry],
        mut progress: impl FnMut(usize),
    ) -> Result<i64> {
        let mut cpts: Vec<CptsId> = entries.iter().map(|e| e.cpts.clone()).collect();
        cpts.sort();
        cpts.dedup();
        let mut tx = self.begin_values(stamp.at, p).await?;
        let stored = tx.take(&cpts).await?;
        let replaces =
            |e: &Entry| stored.get(&(e.cpts.clone(), e.indicator.clone())).is_some_and(|ps| ps.contains(&e.period));
        for chunk in entries.chunks(VALUES_PER_INSERT) {
            progress(tx.write(chunk, replaces).await?);
        }
        tx.commit(stamp).await
    }

    /// A batch of values written in parts, all in one transaction (an import read as a
    /// stream): `ValuesTx::take` each CPTS before writing its values, `write` them in
    /// chunks, `commit` at the end; dropped without `commit`, nothing is stored.
    ///
    /// The batch number is claimed first (the counter row, locked until the end on
    /// PostgreSQL; `BEGIN IMMEDIATE` on SQLite): batches are written one at a time, so CPTS
    /// taken in file order never wait on each other's locks across two imports.
    pub async fn begin_values(&self, at: jiff::Timestamp, p: &Provenance) -> Result<ValuesTx> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE value_batch_counter SET n = n + 1").execute(&mut *tx).await?;
        let row = sqlx::query("SELECT n FROM value_batch_counter").fetch_one(&mut *tx).await?;
        let batch: i64 = row.try_get("n")?;
        // The row count is set at `commit`; the row comes first, the values refer to it.
        sqlx::query("INSERT INTO value_batch (id, source, file, by_name, role, rows_count, recorded_at) VALUES ($1, $2, $3, $4, $5, 0, $6)")
            .bind(batch)
            .bind(&p.source)
            .bind(p.file.as_deref())
            .bind(&p.by)
            .bind(p.role.code())
            .bind(at.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(ValuesTx {
            tx,
            backend: self.backend,
            batch,
            provenance: p.clone(),
            taken: BTreeSet::new(),
            counts: BTreeMap::new(),
            written: 0,
        })
    }

    /// Current values of a CPTS, by indicator and period.
    pub async fn values(&self, id: &CptsId) -> Result<Vec<Entry>> {
        let rows = sqlx::query("SELECT * FROM indicator_value WHERE cpts_id = $1 AND replaced_by IS NULL")
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut out = rows.iter().map(entry_of).collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| (&a.indicator, a.period).cmp(&(&b.indicator, b.period)));
        Ok(out)
    }

    /// Current periods per (CPTS, indicator), to check new values against.
    pub async fn value_periods(&self, ids: &[CptsId]) -> Result<BTreeMap<(CptsId, String), Vec<Period>>> {
        current_periods(&mut *self.pool.acquire().await?, ids).await
    }

    /// The values of a CPTS as they stood at the instant `at`: each (indicator, period)'s last
    /// value recorded by then, unless a batch recorded by then removed it. What a validated
    /// report was judged on, whatever was corrected since.
    pub async fn values_as_of(&self, id: &CptsId, at: jiff::Timestamp) -> Result<Vec<Entry>> {
        let batches = sqlx::query(
            "SELECT id, recorded_at FROM value_batch WHERE id IN (SELECT replaced_by FROM indicator_value WHERE cpts_id = $1)",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut replaced_at = BTreeMap::new();
        for r in &batches {
            replaced_at.insert(r.try_get::<i64, _>("id")?, instant(&r.try_get::<String, _>("recorded_at")?)?);
        }
        // By batch within each (indicator, period): a value, then what replaced or removed it.
        let mut current: BTreeMap<(String, Period), Entry> = BTreeMap::new();
        for v in self.value_history(id, None).await? {
            if instant(&v.recorded_at)? > at {
                continue;
            }
            let key = (v.entry.indicator.clone(), v.entry.period);
            if v.replaced_by.and_then(|b| replaced_at.get(&b)).is_some_and(|t| *t <= at) {
                current.remove(&key);
            } else {
                current.insert(key, v.entry);
            }
        }
        Ok(current.into_values().collect())
    }

    /// When the CPAM's validation of this report version was recorded (None: not validated).
    pub async fn report_validated_at(&self, id: &CptsId, contract: i64, year: u8, version: i64) -> Result<Option<jiff::Timestamp>> {
        let row = sqlx::query(
            "SELECT recorded_at FROM report_event WHERE cpts_id = $1 AND contract_seq = $2 AND year = $3 AND version = $4 AND act = $5 ORDER BY seq DESC LIMIT 1",
        )
        .bind(id.as_str())
        .bind(contract)
        .bind(i64::from(year))
        .bind(version)
        .bind(Act::Valider.code())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| instant(&r.try_get::<String, _>("recorded_at")?)).transpose()
    }

    /// Every value ever stored for a CPTS (corrected ones included) with its provenance, oldest first.
    pub async fn value_history(&self, id: &CptsId, indicator: Option<&str>) -> Result<Vec<StoredValue>> {
        let rows = sqlx::query(
            "SELECT v.*, b.source, b.file, b.by_name, b.role, b.recorded_at FROM indicator_value v JOIN value_batch b ON b.id = v.batch WHERE v.cpts_id = $1 ORDER BY v.indicator, v.period, v.batch",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let entry = entry_of(r)?;
            if indicator.is_some_and(|i| i != entry.indicator) {
                continue;
            }
            let role: String = r.try_get("role")?;
            out.push(StoredValue {
                entry,
                batch: r.try_get("batch")?,
                provenance: Provenance {
                    source: r.try_get("source")?,
                    file: r.try_get("file")?,
                    by: r.try_get("by_name")?,
                    role: Actor::parse(&role).map_err(invalid)?,
                },
                recorded_at: r.try_get("recorded_at")?,
                replaced_by: r.try_get("replaced_by")?,
            });
        }
        Ok(out)
    }

    /// Every version of every report of a CPTS, by contract, year and version.
    pub async fn reports(&self, id: &CptsId) -> Result<Vec<Report>> {
        Ok(self.reports_in(&Visible::one(id)).await?.into_iter().map(|(_, r)| r).collect())
    }

    /// Every version of every report of the visible CPTS, by CPTS, contract, year and
    /// version: three queries whatever the number of CPTS.
    pub async fn reports_in(&self, visible: &Visible) -> Result<Vec<(CptsId, Report)>> {
        self.reports_read(visible, true).await
    }

    /// `reports_in` without what the CPTS wrote nor the frozen results (left empty): the states
    /// and acts that alerts and lists need. Parsing every report's text costs most of a
    /// national read otherwise.
    pub async fn report_states_in(&self, visible: &Visible) -> Result<Vec<(CptsId, Report)>> {
        self.reports_read(visible, false).await
    }

    async fn reports_read(&self, visible: &Visible, whole: bool) -> Result<Vec<(CptsId, Report)>> {
        let (clause, values) = visible.clause("cpts_id", 1);
        let fetch = |sql: &str| crate::bound(sql.replace("{clause}", &clause), &values).fetch_all(&self.pool);
        let (columns, results_sql) = if whole {
            ("*", "SELECT * FROM report_result WHERE {clause}")
        } else {
            ("cpts_id, contract_seq, year, version, status, '' AS content", "SELECT * FROM report_result WHERE 1 = 0 AND {clause}")
        };
        // At once, on separate connections.
        let (rows, results, events) = tokio::try_join!(
            fetch(&format!("SELECT {columns} FROM activity_report WHERE {{clause}} ORDER BY cpts_id, contract_seq, year, version")),
            fetch(results_sql),
            fetch("SELECT * FROM report_event WHERE {clause} ORDER BY seq"),
        )?;
        type Key = (String, i64, i64, i64);
        let key = |r: &AnyRow| -> Result<Key> {
            Ok((r.try_get("cpts_id")?, r.try_get("contract_seq")?, r.try_get("year")?, r.try_get("version")?))
        };
        // Results and events by report, read once each.
        let mut by_results: BTreeMap<Key, Vec<&AnyRow>> = BTreeMap::new();
        for x in &results {
            by_results.entry(key(x)?).or_default().push(x);
        }
        let mut by_events: BTreeMap<Key, Vec<&AnyRow>> = BTreeMap::new();
        for e in &events {
            by_events.entry(key(e)?).or_default().push(e);
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let k = key(r)?;
            let text: String = r.try_get("content")?;
            let status: String = r.try_get("status")?;
            let mut report = Report {
                contract: k.1,
                year: u8::try_from(k.2).map_err(|e| invalid(e.to_string()))?,
                version: k.3,
                status: Status::from_code(&status)
                    .ok_or_else(|| invalid(format!("statut stocké inconnu « {status} »")))?,
                content: if whole { yaml_content(&text)? } else { Default::default() },
                text,
                results: BTreeMap::new(),
                events: Vec::new(),
            };
            for x in by_results.get(&k).into_iter().flatten() {
                report.results.insert(x.try_get("indicator")?, dec(&x.try_get::<String, _>("value")?)?);
            }
            for e in by_events.get(&k).into_iter().flatten() {
                let act: String = e.try_get("act")?;
                let role: String = e.try_get("role")?;
                report.events.push(ReportEvent {
                    act: Act::from_code(&act).ok_or_else(|| invalid(format!("étape stockée inconnue « {act} »")))?,
                    on: date(&e.try_get::<String, _>("event_date")?)?,
                    role: Actor::parse(&role).map_err(invalid)?,
                    by: e.try_get("by_name")?,
                    text: e.try_get("text")?,
                });
            }
            let id: CptsId = k.0.parse().map_err(invalid)?;
            out.push((id, report));
        }
        Ok(out)
    }

    /// Save a report decided by the domain: a new version (`before` None) or the next state of
    /// `before`, refused if the report moved since it was read. On validation the contract's
    /// outcome (results, released balances) is written in the same transaction.
    pub async fn save_report(
        &self,
        stamp: &Stamp,
        id: &CptsId,
        before: Option<&Report>,
        after: &Report,
        outcome: Option<(i64, &Agreement, &Outcome)>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        let year = i64::from(after.year);
        let steps = |r: &Report| i64::try_from(r.events.len()).unwrap_or(i64::MAX);
        let k = (id.as_str(), after.contract, year, after.version);
        match before {
            None => {
                sqlx::query("INSERT INTO activity_report (cpts_id, contract_seq, year, version, status, content, steps) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(k.0).bind(k.1).bind(k.2).bind(k.3)
                    .bind(after.status.code())
                    .bind(&after.text)
                    .bind(steps(after))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match &e {
                        sqlx::Error::Database(d) if d.is_unique_violation() => invalid(format!(
                            "la version {} du rapport de l'année {} existe déjà : rien n'a été enregistré",
                            after.version, after.year
                        )),
                        _ => StoreError::from(e),
                    })?;
            }
            Some(b) => {
                let done = sqlx::query("UPDATE activity_report SET status = $1, content = $2, steps = $3 WHERE cpts_id = $4 AND contract_seq = $5 AND year = $6 AND version = $7 AND steps = $8 AND status <> 'valide'")
                    .bind(after.status.code())
                    .bind(&after.text)
                    .bind(steps(after))
                    .bind(k.0).bind(k.1).bind(k.2).bind(k.3)
                    .bind(steps(b))
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(invalid(
                        "le rapport a changé entre-temps (ou il est validé) : rien n'a été enregistré ; rechargez puis recommencez",
                    ));
                }
            }
        }
        if before.is_none_or(|b| b.results != after.results) {
            sqlx::query(
                "DELETE FROM report_result WHERE cpts_id = $1 AND contract_seq = $2 AND year = $3 AND version = $4",
            )
            .bind(k.0)
            .bind(k.1)
            .bind(k.2)
            .bind(k.3)
            .execute(&mut *tx)
            .await?;
            for (indicator, value) in &after.results {
                sqlx::query("INSERT INTO report_result (cpts_id, contract_seq, year, version, indicator, value) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(k.0).bind(k.1).bind(k.2).bind(k.3)
                    .bind(indicator)
                    .bind(value.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let known = before.map_or(0, |b| b.events.len());
        for (seq, e) in (1i64..).zip(&after.events).skip(known) {
            sqlx::query("INSERT INTO report_event (cpts_id, contract_seq, year, version, seq, act, event_date, role, by_name, text, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                .bind(k.0).bind(k.1).bind(k.2).bind(k.3)
                .bind(seq)
                .bind(e.act.code())
                .bind(e.on.to_string())
                .bind(e.role.code())
                .bind(&e.by)
                .bind(e.text.as_deref())
                .bind(stamp.at.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let report_json = |r: &Report| {
            json!({
                "annee": r.year,
                "contrat": r.contract,
                "version": r.version,
                "statut": r.status.code(),
                "etapes": r.events.iter().map(|e| json!({ "acte": e.act.code(), "date": e.on.to_string(), "role": e.role.code(), "par": e.by, "texte": e.text })).collect::<Vec<_>>(),
                "resultats": r.results.iter().map(|(k, v)| (k.clone(), Value::from(v.to_string()))).collect::<serde_json::Map<_, _>>(),
            })
        };
        let mut after_json = report_json(after);
        if let Some((version, agreement, o)) = outcome {
            Store::write_outcome(&mut tx, stamp, id, version, agreement, o, None).await?;
            let (_, a) = crate::contracts::outcome_json(agreement, o, None);
            if let Some(m) = after_json.as_object_mut() {
                m.insert("contrat_apres".into(), a);
            }
        }
        Store::audit(&mut tx, stamp, Some(id), before.map(report_json), Some(after_json)).await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) fn yaml_content(text: &str) -> Result<Content> {
    // Stored drafts were checked when written; only their syntax is read back here.
    Content::read(text).map_err(|e| invalid(format!("rapport stocké illisible : {e}")))
}
