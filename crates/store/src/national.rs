//! National read models: everything the lists and alerts need for all the CPTS of a scope,
//! in a fixed number of queries whatever their number (never a loop of queries per CPTS).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cpts_domain::activity::Report;
use cpts_domain::agreement::{Agreement, AmendmentRecord, Progress, parse_annex};
use cpts_domain::ledger::{Gates, Line};
use cpts_domain::lifecycle::Stage;
use cpts_engine::input::{ContractIn, YearIn};
use jiff::civil::Date;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::contracts::{LineRow, opt_date};
use crate::reports::dec;
use crate::{Backend, CptsRecord, Result, Store, StoreError, Visible, bound, date};

fn invalid(m: impl Into<String>) -> StoreError {
    StoreError::Invalid(m.into())
}

/// Annexes already parsed, by CPTS and contract number, with their text (a cached parse is
/// used only for the very same text). Shared by the clones of a store (the same database).
#[derive(Clone, Debug, Default)]
pub(crate) struct AnnexCache(Arc<std::sync::Mutex<Annexes>>);

type Annexes = HashMap<(String, i64), Arc<ParsedAnnex>>;

#[derive(Debug)]
struct ParsedAnnex {
    text: String,
    terms: ContractIn,
    progress: BTreeMap<String, Progress>,
}

impl AnnexCache {
    fn get(&self, id: &str, seq: i64, text: &str) -> Result<Arc<ParsedAnnex>> {
        let key = (id.to_string(), seq);
        if let Some(hit) = self.0.lock().ok().and_then(|m| m.get(&key).cloned()).filter(|p| p.text == text) {
            return Ok(hit);
        }
        let (terms, progress) = parse_annex(text).map_err(|es| {
            let why: Vec<String> = es.iter().map(ToString::to_string).collect();
            invalid(format!("annexe stockée du contrat n° {seq} de {id} illisible : {}", why.join(" ; ")))
        })?;
        let parsed = Arc::new(ParsedAnnex { text: text.to_string(), terms, progress });
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, parsed.clone());
        }
        Ok(parsed)
    }
}

/// What a scope's lists and alerts are computed from, by CPTS id.
#[derive(Debug, Default)]
pub struct ScopeData {
    pub records: Vec<CptsRecord>,
    /// Contracts with their versions, oldest first.
    pub contracts: HashMap<String, Vec<(Agreement, i64)>>,
    pub reports: HashMap<String, Vec<Report>>,
    /// Ledger lines by due date (cancelled ones included).
    pub lines: HashMap<String, Vec<Line>>,
    pub gates: HashMap<String, Gates>,
}

/// Money totals of a CPTS's live ledger lines (cancelled ones left out), in cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MoneyTotals {
    pub planned: i64,
    pub paid: i64,
}

/// One list row: a CPTS, its stage and its money.
#[derive(Clone, Debug)]
pub struct ListRow {
    pub record: CptsRecord,
    pub stage: Option<(Stage, Date)>,
    pub money: MoneyTotals,
}

impl Store {
    /// A query over the visible CPTS: `sql` has `{scope}` where the condition on `column` goes.
    async fn scoped(&self, sql: &str, column: &str, visible: &Visible) -> Result<Vec<AnyRow>> {
        let (clause, values) = visible.clause(column, 1);
        // Built from our SQL and numbered placeholders only: no user text in it.
        Ok(bound(sql.replace("{scope}", &clause), &values).fetch_all(&self.pool).await?)
    }

    /// The lifecycle stage each visible CPTS had reached on `on` (its last step dated by then).
    pub async fn stages_in(&self, visible: &Visible, on: Date) -> Result<HashMap<String, (Stage, Date)>> {
        let (clause, mut values) = visible.clause("cpts_id", 2);
        let sql = format!(
            "SELECT e.cpts_id, e.stage, e.event_date FROM lifecycle_event e
             JOIN (SELECT cpts_id, MAX(seq) AS seq FROM lifecycle_event WHERE event_date <= $1 AND {clause} GROUP BY cpts_id) m
               ON m.cpts_id = e.cpts_id AND m.seq = e.seq"
        );
        values.insert(0, on.to_string());
        let rows = bound(sql, &values).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let stage: String = r.try_get("stage")?;
                Ok((
                    r.try_get("cpts_id")?,
                    (
                        Stage::from_code(&stage).ok_or_else(|| invalid(format!("étape stockée inconnue « {stage} »")))?,
                        date(&r.try_get::<String, _>("event_date")?)?,
                    ),
                ))
            })
            .collect()
    }

    /// Each visible CPTS's live ledger totals, summed by the database.
    pub async fn money_in(&self, visible: &Visible) -> Result<HashMap<String, MoneyTotals>> {
        let rows = self
            .scoped(
                // PostgreSQL sums a BIGINT as a NUMERIC, which the Any driver cannot read: cast back.
                "SELECT cpts_id, CAST(SUM(amount) AS BIGINT) AS planned, CAST(SUM(paid) AS BIGINT) AS paid FROM ledger_line
                 WHERE cancelled_on IS NULL AND {scope} GROUP BY cpts_id",
                "cpts_id",
                visible,
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("cpts_id")?, MoneyTotals { planned: r.try_get("planned")?, paid: r.try_get("paid")? })))
            .collect()
    }

    /// The national list: every visible CPTS with its stage on `on` and its money (four queries).
    pub async fn list_rows(&self, visible: &Visible, on: Date) -> Result<Vec<ListRow>> {
        let records = self.list_cpts_in(visible).await?;
        let mut stages = self.stages_in(visible, on).await?;
        let mut money = self.money_in(visible).await?;
        Ok(records
            .into_iter()
            .map(|record| ListRow {
                stage: stages.remove(record.id.as_str()),
                money: money.remove(record.id.as_str()).unwrap_or_default(),
                record,
            })
            .collect())
    }

    /// Contracts of the visible CPTS (four queries), with the gates their validated years open.
    pub async fn contracts_in(
        &self,
        visible: &Visible,
        names: &HashMap<String, String>,
    ) -> Result<(HashMap<String, Vec<(Agreement, i64)>>, HashMap<String, Gates>)> {
        type Key = (String, i64);
        let key = |r: &AnyRow| -> Result<Key> { Ok((r.try_get("cpts_id")?, r.try_get("contract_seq")?)) };
        let year = |r: &AnyRow| u8::try_from(r.try_get::<i64, _>("year")?).map_err(|e| invalid(e.to_string()));
        // Each contract with its missions' progress as one JSON array built by the database
        // (thousands of progress rows through the driver cost far more).
        let progress = match self.backend {
            Backend::Sqlite => {
                "(SELECT json_group_array(json_array(p.mission, p.started, p.deployed)) FROM mission_progress p
                  WHERE p.cpts_id = c.cpts_id AND p.contract_seq = c.seq)"
            }
            Backend::Postgres => {
                "(SELECT CAST(json_agg(json_build_array(p.mission, p.started, p.deployed)) AS TEXT) FROM mission_progress p
                  WHERE p.cpts_id = c.cpts_id AND p.contract_seq = c.seq)"
            }
        };
        let sql = format!(
            "SELECT c.cpts_id, c.seq, c.annex, c.cpam, c.ars, c.terminated, c.termination_reason, c.version, {progress} AS progress
             FROM contract c WHERE {{scope}} ORDER BY c.cpts_id, c.seq"
        );
        // Independent queries, at once on separate connections: their round trips overlap.
        let (amendment_rows, release_rows, result_rows, contract_rows) = tokio::try_join!(
            self.scoped("SELECT * FROM amendment WHERE {scope} ORDER BY cpts_id, contract_seq, seq", "cpts_id", visible),
            self.scoped("SELECT * FROM year_release WHERE {scope}", "cpts_id", visible),
            self.scoped("SELECT * FROM year_result WHERE {scope}", "cpts_id", visible),
            self.scoped(&sql, "c.cpts_id", visible),
        )?;
        let mut amendments: HashMap<Key, Vec<AmendmentRecord>> = HashMap::new();
        for r in amendment_rows {
            let k = key(&r)?;
            let t: String = r.try_get("text")?;
            let parsed = AmendmentRecord::parse(&t).map_err(|es| {
                let why: Vec<String> = es.iter().map(ToString::to_string).collect();
                invalid(format!("avenant stocké du contrat n° {} de {} illisible : {}", k.1, k.0, why.join(" ; ")))
            })?;
            amendments.entry(k).or_default().push(parsed);
        }
        let mut released: HashMap<Key, BTreeMap<u8, Date>> = HashMap::new();
        let mut results: HashMap<Key, BTreeMap<u8, YearIn>> = HashMap::new();
        let mut gates: HashMap<String, Gates> = HashMap::new();
        for r in release_rows {
            let (k, y) = (key(&r)?, year(&r)?);
            let on = date(&r.try_get::<String, _>("released_on")?)?;
            released.entry(k.clone()).or_default().insert(y, on);
            let g = gates.entry(k.0.clone()).or_default();
            // Validation brings the results: balances and variable parts are both released.
            g.released.insert((k.1, y), on);
            g.reported.insert((k.1, y));
            results.entry(k).or_default().insert(
                y,
                YearIn {
                    values: BTreeMap::new(),
                    crisis_plan: r.try_get::<i64, _>("crisis_plan")? != 0,
                    crisis_declared: r.try_get::<i64, _>("crisis_declared")? != 0,
                },
            );
        }
        for r in result_rows {
            let v: String = r.try_get("value")?;
            let d = dec(&v)?;
            results.entry(key(&r)?).or_default().entry(year(&r)?).or_default().values.insert(r.try_get("indicator")?, d);
        }
        let mut out: HashMap<String, Vec<(Agreement, i64)>> = HashMap::new();
        for r in contract_rows {
            let id: String = r.try_get("cpts_id")?;
            let seq: i64 = r.try_get("seq")?;
            let k = (id.clone(), seq);
            let annex: String = r.try_get("annex")?;
            let parsed = self.annexes.get(&id, seq, &annex)?;
            let (terms, mut from_annex) = (parsed.terms.clone(), parsed.progress.clone());
            let stored: Vec<(String, Option<String>, Option<String>)> =
                match r.try_get::<Option<String>, _>("progress")? {
                    Some(json) => serde_json::from_str(&json)
                        .map_err(|e| invalid(format!("avancement des missions illisible : {e}")))?,
                    None => Vec::new(),
                };
            for (mission, started, deployed) in stored {
                from_annex.insert(mission, Progress { started: opt_date(started)?, deployed: opt_date(deployed)? });
            }
            let a = Agreement {
                seq,
                cpts_name: names.get(&id).cloned().unwrap_or_default(),
                annex,
                terms,
                cpam: r.try_get("cpam")?,
                ars: r.try_get("ars")?,
                progress: from_annex,
                amendments: amendments.remove(&k).unwrap_or_default(),
                terminated: opt_date(r.try_get("terminated")?)?,
                termination_reason: r.try_get("termination_reason")?,
                released: released.remove(&k).unwrap_or_default(),
                results: results.remove(&k).unwrap_or_default(),
            };
            out.entry(id).or_default().push((a, r.try_get("version")?));
        }
        Ok((out, gates))
    }

    /// The ledger lines of the visible CPTS that can raise an alert on `on` with a horizon up to
    /// `until`: live, not fully paid (or to repay), due by `until`, not held by a report year
    /// no one validated. Their long explanations are
    /// not read (alerts name a line by its source). The database returns one row per CPTS with
    /// its lines as a JSON array: a row through the driver costs far more than a JSON element
    /// (thousands of lines at national scale).
    pub async fn alerting_lines_in(&self, visible: &Visible, until: Date) -> Result<HashMap<String, Vec<Line>>> {
        let (clause, mut values) = visible.clause("cpts_id", 2);
        values.insert(0, until.to_string());
        let fields = "id, contract_seq, year, component, kind, convention_seq, installment, funder, due, amount, paid, cancelled_on, ''";
        // A line held by a report year no one validated can neither be due nor be announced
        // (`Planned::held_by`, stored with the line): left out. A validation recorded for a
        // later day still lets the line through, for the domain to decide.
        let filter = format!(
            "cancelled_on IS NULL AND paid <> amount AND due <= $1 AND {clause}
             AND (held_year IS NULL OR EXISTS (SELECT 1 FROM year_release r
                  WHERE r.cpts_id = l.cpts_id AND r.contract_seq = l.held_contract AND r.year = l.held_year))"
        );
        let sql = match self.backend {
            Backend::Sqlite => format!(
                "SELECT cpts_id, json_group_array(json_array({fields})) AS lines FROM ledger_line l WHERE {filter} GROUP BY cpts_id"
            ),
            Backend::Postgres => format!(
                "SELECT cpts_id, CAST(json_agg(json_build_array({fields})) AS TEXT) AS lines FROM ledger_line l WHERE {filter} GROUP BY cpts_id"
            ),
        };
        let mut out: HashMap<String, Vec<Line>> = HashMap::new();
        for r in bound(sql, &values).fetch_all(&self.pool).await? {
            let json: String = r.try_get("lines")?;
            let rows: Vec<LineRow> =
                serde_json::from_str(&json).map_err(|e| invalid(format!("lignes du grand livre illisibles : {e}")))?;
            let mut lines = rows.into_iter().map(LineRow::into_line).collect::<Result<Vec<_>>>()?;
            lines.sort_by_key(|l| (l.planned.due, l.id));
            out.insert(r.try_get("cpts_id")?, lines);
        }
        Ok(out)
    }

    /// The live ACI lines of the visible CPTS summed by (contract, year, component), in cents:
    /// what a ledger check compares with what the domain plans (one query).
    pub async fn aci_sums_in(&self, visible: &Visible) -> Result<HashMap<String, BTreeMap<(i64, u8, String), i64>>> {
        let (clause, values) = visible.clause("cpts_id", 1);
        let sql = format!(
            "SELECT cpts_id, contract_seq, year, component, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_line
             WHERE cancelled_on IS NULL AND contract_seq IS NOT NULL AND {clause}
             GROUP BY cpts_id, contract_seq, year, component"
        );
        let mut out: HashMap<String, BTreeMap<(i64, u8, String), i64>> = HashMap::new();
        for r in bound(sql, &values).fetch_all(&self.pool).await? {
            let year: i64 = r.try_get("year")?;
            let year = u8::try_from(year).map_err(|_| invalid(format!("année de contrat stockée hors bornes : {year}")))?;
            out.entry(r.try_get("cpts_id")?)
                .or_default()
                .insert((r.try_get("contract_seq")?, year, r.try_get("component")?), r.try_get("total")?);
        }
        Ok(out)
    }

    /// Everything a scope's alerts are computed from (nine queries whatever the number of CPTS,
    /// run at once on separate connections). Lines: those that may alert by `until`
    /// (`alerting_lines_in`).
    pub async fn scope_data(&self, visible: &Visible, until: Date) -> Result<ScopeData> {
        let (lines, data) = tokio::try_join!(self.alerting_lines_in(visible, until), self.scope_contracts(visible))?;
        Ok(ScopeData { lines, ..data })
    }

    /// `scope_data` but the ledger lines (eight queries, at once), for a caller that reads
    /// them beside.
    pub async fn scope_contracts(&self, visible: &Visible) -> Result<ScopeData> {
        let no_names = HashMap::new();
        let (records, (mut contracts, gates), stored_reports) = tokio::try_join!(
            self.list_cpts_in(visible),
            self.contracts_in(visible, &no_names),
            self.report_states_in(visible),
        )?;
        for r in &records {
            for (a, _) in contracts.get_mut(r.id.as_str()).into_iter().flatten() {
                a.cpts_name.clone_from(&r.identity.name);
            }
        }
        let mut reports: HashMap<String, Vec<Report>> = HashMap::new();
        for (id, r) in stored_reports {
            reports.entry(id.to_string()).or_default().push(r);
        }
        Ok(ScopeData { records, contracts, reports, lines: HashMap::new(), gates })
    }
}
