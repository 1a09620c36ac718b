//! Lifecycle history, ACI contracts, the ledger and other funders' conventions.
//! The domain decides (`Book::decide`, `lifecycle::check`); this persists its outcomes,
//! each in one transaction guarded by a version, so a refused or interrupted write leaves
//! nothing behind.


use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Book, Outcome};
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind, Gates, Line, Payment, Planned, Source};
use cpts_domain::lifecycle::{Actor, Event, Step};
use cpts_engine::money::Cents;
use cpts_engine::schedule::PaymentKind;
use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use serde_json::{Value, json};

use crate::{Result, Stamp, Store, StoreError, date};

fn event_json(ev: &Event) -> Value {
    json!({
        "etape": ev.step.code(),
        "date": ev.date.to_string(),
        "acteur": ev.actor.code(),
        "par": ev.by,
        "document": ev.document,
        "note": ev.note,
        "signataires": ev.signatories.iter().map(|a| a.code()).collect::<Vec<_>>(),
    })
}

fn planned_json(p: &Planned) -> Value {
    json!({ "financeur": p.funder, "echeance": p.due.to_string(), "montant_centimes": p.amount.get(), "objet": p.explanation })
}

fn payment_json(p: &Payment) -> Value {
    json!({ "ligne": p.line, "montant_centimes": p.amount.get(), "date": p.on.to_string(), "par": p.by, "reference": p.reference })
}

fn progress_json(a: &Agreement) -> Value {
    a.progress
        .iter()
        .map(|(code, p)| {
            (code.clone(), json!({ "debut": p.started.map(|d| d.to_string()), "deploiement": p.deployed.map(|d| d.to_string()) }))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// What an outcome changed, before and after, for the audit log.
pub(crate) fn outcome_json(before: &Agreement, o: &Outcome, event: Option<&Event>) -> (Value, Value) {
    let a = &o.agreement;
    let released = |a: &Agreement| -> Value {
        a.released.iter().map(|(y, d)| (y.to_string(), Value::from(d.to_string()))).collect::<serde_json::Map<_, _>>().into()
    };
    (
        json!({
            "contrat": before.seq,
            "missions": progress_json(before),
            "avenants": before.amendments.len(),
            "resiliation": before.terminated.map(|d| d.to_string()),
            "annees_validees": released(before),
        }),
        json!({
            "contrat": a.seq,
            "resume": o.summary,
            "etape": event.map(event_json),
            "missions": progress_json(a),
            "avenants": a.amendments.len(),
            "resiliation": a.terminated.map(|d| d.to_string()),
            "motif": a.termination_reason,
            "annees_validees": released(a),
            "lignes_annulees": o.changes.cancel,
            "lignes_ajoutees": o.changes.insert.iter().map(planned_json).collect::<Vec<_>>(),
            "paiement": o.payment.as_ref().map(payment_json),
        }),
    )
}

pub(crate) fn opt_date(v: Option<String>) -> Result<Option<Date>> {
    v.map(|s| date(&s)).transpose()
}

fn invalid(m: impl Into<String>) -> StoreError {
    StoreError::Invalid(m.into())
}

fn event_of(r: &AnyRow) -> Result<Event> {
    let step: String = r.try_get("step")?;
    let actor: String = r.try_get("actor")?;
    let signatories: String = r.try_get("signatories")?;
    Ok(Event {
        step: Step::parse(&step).map_err(invalid)?,
        date: date(&r.try_get::<String, _>("event_date")?)?,
        actor: Actor::parse(&actor).map_err(invalid)?,
        by: r.try_get("by_name")?,
        document: r.try_get("document")?,
        note: r.try_get("note")?,
        signatories: signatories
            .split(',')
            .filter(|s| !s.is_empty())
            .map(Actor::parse)
            .collect::<std::result::Result<_, _>>()
            .map_err(invalid)?,
    })
}

/// A ledger line's columns as stored (from a row, or from a JSON array the database built).
#[derive(serde::Deserialize)]
pub(crate) struct LineRow(
    pub i64,
    pub Option<i64>,
    pub Option<i64>,
    pub Option<String>,
    pub Option<String>,
    pub Option<i64>,
    pub Option<i64>,
    pub String,
    pub String,
    pub i64,
    pub i64,
    pub Option<String>,
    pub String,
);

impl LineRow {
    pub(crate) fn into_line(self) -> Result<Line> {
        let LineRow(id, contract_seq, year, component, kind, convention_seq, installment, funder, due, amount, paid, cancelled, explanation) =
            self;
        let source = match contract_seq {
            Some(contract) => {
                let kind = kind.unwrap_or_default();
                Source::Aci {
                    contract,
                    year: u8::try_from(year.unwrap_or(0)).map_err(|e| invalid(e.to_string()))?,
                    component: component.unwrap_or_default(),
                    kind: PaymentKind::from_code(&kind)
                        .ok_or_else(|| invalid(format!("nature stockée inconnue « {kind} »")))?,
                }
            }
            None => Source::Convention {
                convention: convention_seq.unwrap_or(0),
                installment: u32::try_from(installment.unwrap_or(0)).map_err(|e| invalid(e.to_string()))?,
            },
        };
        Ok(Line {
            id,
            planned: Planned { source, funder, due: date(&due)?, amount: Cents::new(amount), explanation },
            paid: Cents::new(paid),
            cancelled: opt_date(cancelled)?,
        })
    }
}

pub(crate) fn line_of(r: &AnyRow) -> Result<Line> {
    LineRow(
        r.try_get("id")?,
        r.try_get("contract_seq")?,
        r.try_get("year")?,
        r.try_get("component")?,
        r.try_get("kind")?,
        r.try_get("convention_seq")?,
        r.try_get("installment")?,
        r.try_get("funder")?,
        r.try_get("due")?,
        r.try_get("amount")?,
        r.try_get("paid")?,
        r.try_get("cancelled_on")?,
        r.try_get("explanation")?,
    )
    .into_line()
}

impl Store {
    async fn insert_event(tx: &mut Transaction<'_, Any>, stamp: &Stamp, id: &CptsId, ev: &Event, expected: usize) -> Result<()> {
        let seq = Store::next_seq(tx, "lifecycle_event", id).await?;
        if usize::try_from(seq - 1).ok() != Some(expected) {
            return Err(StoreError::Invalid(
                "l'historique a changé entre-temps (une autre étape vient d'être enregistrée) : rien n'a été enregistré ; recommencez".into(),
            ));
        }
        let signatories: Vec<&str> = ev.signatories.iter().map(|a| a.code()).collect();
        sqlx::query("INSERT INTO lifecycle_event (cpts_id, seq, step, stage, event_date, actor, by_name, document, note, signatories, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(id.as_str())
            .bind(seq)
            .bind(ev.step.code())
            .bind(ev.step.edge().1.code())
            .bind(ev.date.to_string())
            .bind(ev.actor.code())
            .bind(&ev.by)
            .bind(ev.document.as_deref())
            .bind(ev.note.as_deref())
            .bind(signatories.join(","))
            .bind(stamp.at.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The dated history of a CPTS's life.
    pub async fn lifecycle(&self, id: &CptsId) -> Result<Vec<Event>> {
        let rows = sqlx::query("SELECT * FROM lifecycle_event WHERE cpts_id = $1 ORDER BY seq")
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_of).collect()
    }

    /// Record a step checked by the domain; `expected` is the history length it was checked against.
    pub async fn record_event(&self, stamp: &Stamp, id: &CptsId, ev: &Event, expected: usize) -> Result<()> {
        self.record_event_with_lines(stamp, id, ev, expected, &[]).await
    }

    /// Record a step and the ledger lines it makes due (the lettre d'intention payment at the
    /// ARS's validation of the letter), at once.
    pub async fn record_event_with_lines(
        &self,
        stamp: &Stamp,
        id: &CptsId,
        ev: &Event,
        expected: usize,
        lines: &[Planned],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        Store::insert_event(&mut tx, stamp, id, ev, expected).await?;
        if !lines.is_empty() {
            Store::insert_lines(&mut tx, stamp, id, lines).await?;
        }
        let mut after = event_json(ev);
        if !lines.is_empty()
            && let Some(m) = after.as_object_mut()
        {
            m.insert("lignes_ajoutees".into(), lines.iter().map(planned_json).collect::<Vec<_>>().into());
        }
        Store::audit(&mut tx, stamp, Some(id), None, Some(after)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn statutes(&self, id: &CptsId) -> Result<Option<(Date, Option<String>)>> {
        let row = sqlx::query("SELECT * FROM statutes WHERE cpts_id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((date(&r.try_get::<String, _>("checked_on")?)?, r.try_get("document")?))).transpose()
    }

    pub async fn set_statutes(&self, stamp: &Stamp, id: &CptsId, on: Date, document: Option<&str>) -> Result<()> {
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        let before = sqlx::query("SELECT checked_on, document FROM statutes WHERE cpts_id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| -> Result<Value> {
                Ok(json!({ "verifies_le": r.try_get::<String, _>("checked_on")?, "document": r.try_get::<Option<String>, _>("document")? }))
            })
            .transpose()?;
        Store::audit(&mut tx, stamp, Some(id), before, Some(json!({ "verifies_le": on.to_string(), "document": document })))
            .await?;
        sqlx::query("DELETE FROM statutes WHERE cpts_id = $1").bind(id.as_str()).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO statutes (cpts_id, checked_on, document) VALUES ($1, $2, $3)")
            .bind(id.as_str())
            .bind(on.to_string())
            .bind(document)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn next_line_id(tx: &mut Transaction<'_, Any>, id: &CptsId) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM ledger_line WHERE cpts_id = $1")
            .bind(id.as_str())
            .fetch_one(&mut **tx)
            .await?;
        Ok(row.try_get::<i64, _>("n")? + 1)
    }

    async fn insert_lines(tx: &mut Transaction<'_, Any>, stamp: &Stamp, id: &CptsId, lines: &[Planned]) -> Result<()> {
        let first = Store::next_line_id(tx, id).await?;
        let created = stamp.at.to_string();
        for (n, p) in (first..).zip(lines) {
            let (contract, year, component, kind, convention, installment) = match &p.source {
                Source::Aci { contract, year, component, kind } => {
                    (Some(*contract), Some(i64::from(*year)), Some(component.as_str()), Some(kind.code()), None, None)
                }
                Source::Convention { convention, installment } => {
                    (None, None, None, None, Some(*convention), Some(i64::from(*installment)))
                }
            };
            let held = p.held_by();
            sqlx::query("INSERT INTO ledger_line (cpts_id, id, contract_seq, year, component, kind, convention_seq, installment, funder, due, amount, paid, cancelled_on, explanation, created_at, held_contract, held_year) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, NULL, $12, $13, $14, $15)")
                .bind(id.as_str())
                .bind(n)
                .bind(contract)
                .bind(year)
                .bind(component)
                .bind(kind)
                .bind(convention)
                .bind(installment)
                .bind(&p.funder)
                .bind(p.due.to_string())
                .bind(p.amount.get())
                .bind(&p.explanation)
                .bind(&created)
                .bind(held.map(|h| h.0))
                .bind(held.map(|h| i64::from(h.1)))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Sign a contract: the lifecycle step, the contract, its mission starts and its ledger lines, at once.
    pub async fn sign_contract(
        &self,
        stamp: &Stamp,
        id: &CptsId,
        ev: &Event,
        expected_events: usize,
        a: &Agreement,
        lines: &[Planned],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        Store::insert_event(&mut tx, stamp, id, ev, expected_events).await?;
        let seq = Store::next_seq(&mut tx, "contract", id).await?;
        if seq != a.seq {
            return Err(invalid(format!("numéro de contrat attendu {seq}, reçu {}", a.seq)));
        }
        sqlx::query("INSERT INTO contract (cpts_id, seq, annex, signed, cpam, ars, terminated, termination_reason, version, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, 1, $7)")
            .bind(id.as_str())
            .bind(seq)
            .bind(&a.annex)
            .bind(a.signed().to_string())
            .bind(&a.cpam)
            .bind(&a.ars)
            .bind(stamp.at.to_string())
            .execute(&mut *tx)
            .await?;
        Store::write_progress(&mut tx, id, a).await?;
        Store::insert_lines(&mut tx, stamp, id, lines).await?;
        let after = json!({
            "contrat": seq,
            "etape": event_json(ev),
            "cpam": a.cpam,
            "ars": a.ars,
            "annexe": a.annex,
            "missions": progress_json(a),
            "lignes_ajoutees": lines.iter().map(planned_json).collect::<Vec<_>>(),
        });
        Store::audit(&mut tx, stamp, Some(id), None, Some(after)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn write_progress(tx: &mut Transaction<'_, Any>, id: &CptsId, a: &Agreement) -> Result<()> {
        sqlx::query("DELETE FROM mission_progress WHERE cpts_id = $1 AND contract_seq = $2")
            .bind(id.as_str())
            .bind(a.seq)
            .execute(&mut **tx)
            .await?;
        for (code, p) in &a.progress {
            sqlx::query("INSERT INTO mission_progress (cpts_id, contract_seq, mission, started, deployed) VALUES ($1, $2, $3, $4, $5)")
                .bind(id.as_str())
                .bind(a.seq)
                .bind(code)
                .bind(p.started.map(|d| d.to_string()))
                .bind(p.deployed.map(|d| d.to_string()))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Every contract of a CPTS with its version, oldest first.
    pub async fn contracts(&self, id: &CptsId, cpts_name: &str) -> Result<Vec<(Agreement, i64)>> {
        let names = std::collections::HashMap::from([(id.to_string(), cpts_name.to_string())]);
        let (mut all, _) = self.contracts_in(&crate::Visible::one(id), &names).await?;
        Ok(all.remove(id.as_str()).unwrap_or_default())
    }

    /// Every ledger line of a CPTS (all funders, cancelled ones included), by due date.
    pub async fn ledger(&self, id: &CptsId) -> Result<Vec<Line>> {
        let rows = sqlx::query("SELECT * FROM ledger_line WHERE cpts_id = $1 ORDER BY due, id")
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(line_of).collect()
    }

    /// What releases lines beyond their dates.
    pub async fn gates(&self, id: &CptsId) -> Result<Gates> {
        let rows = sqlx::query("SELECT contract_seq, year, released_on FROM year_release WHERE cpts_id = $1")
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut g = Gates::default();
        for r in &rows {
            let y = u8::try_from(r.try_get::<i64, _>("year")?).map_err(|e| invalid(e.to_string()))?;
            // Validation brings the results: balances and variable parts are both released.
            g.released.insert((r.try_get("contract_seq")?, y), date(&r.try_get::<String, _>("released_on")?)?);
            g.reported.insert((r.try_get("contract_seq")?, y));
        }
        Ok(g)
    }

    /// One contract of a CPTS with its version; `seq` None: the latest.
    pub async fn agreement(&self, id: &CptsId, cpts_name: &str, seq: Option<i64>) -> Result<(Agreement, i64)> {
        let contracts = self.contracts(id, cpts_name).await?;
        let found = match seq {
            Some(s) => contracts.into_iter().find(|(a, _)| a.seq == s),
            None => contracts.into_iter().last(),
        };
        found.ok_or_else(|| match seq {
            Some(s) => invalid(format!("contrat n° {s} introuvable pour {id}")),
            None => invalid(format!("aucun contrat ACI pour {id}")),
        })
    }

    /// A contract's book (agreement, its ACI lines, gates) and version; `seq` None: the latest contract.
    pub async fn book(&self, id: &CptsId, cpts_name: &str, seq: Option<i64>) -> Result<(Book, i64)> {
        let (agreement, version) = self.agreement(id, cpts_name, seq).await?;
        let seq = agreement.seq;
        let lines = self
            .ledger(id)
            .await?
            .into_iter()
            .filter(|l| matches!(l.planned.source, Source::Aci { contract, .. } if contract == seq))
            .collect();
        let gates = self.gates(id).await?;
        Ok((Book { agreement, lines, gates }, version))
    }

    /// Persist a decided outcome: refused (nothing written) if the contract changed since `version`.
    pub async fn save_outcome(
        &self,
        stamp: &Stamp,
        id: &CptsId,
        version: i64,
        before: &Agreement,
        o: &Outcome,
        event: Option<(&Event, usize)>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        Store::write_outcome(&mut tx, stamp, id, version, before, o, event).await?;
        let (b, a) = outcome_json(before, o, event.map(|(e, _)| e));
        Store::audit(&mut tx, stamp, Some(id), Some(b), Some(a)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An outcome's writes, inside the caller's transaction (the CPTS already locked).
    pub(crate) async fn write_outcome(
        tx: &mut Transaction<'_, Any>,
        stamp: &Stamp,
        id: &CptsId,
        version: i64,
        before: &Agreement,
        o: &Outcome,
        event: Option<(&Event, usize)>,
    ) -> Result<()> {
        let a = &o.agreement;
        // A payment changes one line, and `insert_payment` guards that line itself (still live,
        // not overpaid): it neither checks nor bumps the contract's version. Otherwise two
        // payments on two lines of one contract, or a payment and a mission start, would
        // conflict although they touch different things (found by the app's concurrency test).
        let payment_only = o.payment.is_some() && o.changes.cancel.is_empty() && o.changes.insert.is_empty();
        if payment_only && event.is_none() {
            if let Some(p) = &o.payment {
                Store::insert_payment(tx, stamp, id, p).await?;
            }
            return Ok(());
        }
        let done = sqlx::query("UPDATE contract SET version = version + 1, terminated = $1, termination_reason = $2 WHERE cpts_id = $3 AND seq = $4 AND version = $5")
            .bind(a.terminated.map(|d| d.to_string()))
            .bind(a.termination_reason.as_deref())
            .bind(id.as_str())
            .bind(a.seq)
            .bind(version)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict {
                id: format!("{id} (contrat n° {})", a.seq),
                expected: version,
                actual: version + 1,
            });
        }
        if let Some((ev, expected)) = event {
            Store::insert_event(tx, stamp, id, ev, expected).await?;
        }
        if a.progress != before.progress {
            Store::write_progress(tx, id, a).await?;
        }
        for (n, am) in (1i64..).zip(&a.amendments).skip(before.amendments.len()) {
            sqlx::query("INSERT INTO amendment (cpts_id, contract_seq, seq, effective, text, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id.as_str())
                .bind(a.seq)
                .bind(n)
                .bind(am.parsed.effective.to_string())
                .bind(&am.text)
                .bind(stamp.at.to_string())
                .execute(&mut **tx)
                .await?;
        }
        for (y, on) in &a.released {
            let results = a.results.get(y);
            if before.released.get(y) == Some(on) && before.results.get(y) == results {
                continue;
            }
            // A new version of a validated report replaces the year's results.
            for sql in [
                "DELETE FROM year_result WHERE cpts_id = $1 AND contract_seq = $2 AND year = $3",
                "DELETE FROM year_release WHERE cpts_id = $1 AND contract_seq = $2 AND year = $3",
            ] {
                sqlx::query(sql).bind(id.as_str()).bind(a.seq).bind(i64::from(*y)).execute(&mut **tx).await?;
            }
            let flag = |f: fn(&cpts_engine::input::YearIn) -> bool| i64::from(results.is_some_and(f));
            sqlx::query("INSERT INTO year_release (cpts_id, contract_seq, year, released_on, crisis_plan, crisis_declared) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id.as_str())
                .bind(a.seq)
                .bind(i64::from(*y))
                .bind(on.to_string())
                .bind(flag(|r| r.crisis_plan))
                .bind(flag(|r| r.crisis_declared))
                .execute(&mut **tx)
                .await?;
            for (indicator, value) in results.map(|r| &r.values).into_iter().flatten() {
                sqlx::query("INSERT INTO year_result (cpts_id, contract_seq, year, indicator, value) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id.as_str())
                    .bind(a.seq)
                    .bind(i64::from(*y))
                    .bind(indicator)
                    .bind(value.to_string())
                    .execute(&mut **tx)
                    .await?;
            }
        }
        for line in &o.changes.cancel {
            let done = sqlx::query("UPDATE ledger_line SET cancelled_on = $1 WHERE cpts_id = $2 AND id = $3 AND paid = 0 AND cancelled_on IS NULL")
                .bind(o.on.to_string())
                .bind(id.as_str())
                .bind(*line)
                .execute(&mut **tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(invalid(format!("ligne n° {line} payée ou annulée entre-temps : rien n'a été enregistré")));
            }
        }
        Store::insert_lines(tx, stamp, id, &o.changes.insert).await?;
        if let Some(p) = &o.payment {
            Store::insert_payment(tx, stamp, id, p).await?;
        }
        Ok(())
    }

    async fn insert_payment(tx: &mut Transaction<'_, Any>, stamp: &Stamp, id: &CptsId, p: &Payment) -> Result<()> {
        let (line, amount) = (p.line, p.amount);
        // Guarded: the line must still be live and not be overpaid by this payment.
        let done = sqlx::query("UPDATE ledger_line SET paid = paid + $1 WHERE cpts_id = $2 AND id = $3 AND cancelled_on IS NULL AND ABS(paid + $1) <= ABS(amount)")
            .bind(amount.get())
            .bind(id.as_str())
            .bind(line)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(invalid(format!("ligne n° {line} réglée ou annulée entre-temps : rien n'a été enregistré")));
        }
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM payment WHERE cpts_id = $1 AND line_id = $2")
            .bind(id.as_str())
            .bind(line)
            .fetch_one(&mut **tx)
            .await?;
        let seq = row.try_get::<i64, _>("n")? + 1;
        sqlx::query("INSERT INTO payment (cpts_id, line_id, seq, paid_on, amount, recorded_at, paid_by, reference) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(id.as_str())
            .bind(line)
            .bind(seq)
            .bind(p.on.to_string())
            .bind(amount.get())
            .bind(stamp.at.to_string())
            .bind(&p.by)
            .bind(p.reference.as_deref())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Record a payment on a convention's line (decided by `Line::pay`).
    pub async fn pay_line(&self, stamp: &Stamp, id: &CptsId, p: &Payment) -> Result<()> {
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        Store::insert_payment(&mut tx, stamp, id, p).await?;
        Store::audit(&mut tx, stamp, Some(id), None, Some(payment_json(p))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Payments recorded on a CPTS's lines with who paid and the transfer's reference, by date
    /// (`by` is empty for payments recorded before the payer was asked for).
    pub async fn payment_records(&self, id: &CptsId) -> Result<Vec<Payment>> {
        let rows = sqlx::query(
            "SELECT line_id, paid_on, amount, paid_by, reference FROM payment WHERE cpts_id = $1 ORDER BY paid_on, line_id, seq",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Payment {
                    line: r.try_get("line_id")?,
                    amount: Cents::new(r.try_get("amount")?),
                    on: date(&r.try_get::<String, _>("paid_on")?)?,
                    by: r.try_get::<Option<String>, _>("paid_by")?.unwrap_or_default(),
                    reference: r.try_get("reference")?,
                })
            })
            .collect()
    }

    /// Add a validated convention and its installments as ledger lines.
    pub async fn add_convention(&self, stamp: &Stamp, id: &CptsId, c: &Convention) -> Result<i64> {
        c.validate().map_err(|e| invalid(e.to_string()))?;
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        let seq = Store::next_seq(&mut tx, "convention", id).await?;
        sqlx::query("INSERT INTO convention (cpts_id, seq, kind, funder, purpose, amount, start_on, end_on, deliverables, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(id.as_str())
            .bind(seq)
            .bind(c.kind.code())
            .bind(&c.funder)
            .bind(&c.purpose)
            .bind(c.amount.get())
            .bind(c.start.to_string())
            .bind(c.end.to_string())
            .bind(c.deliverables.join("\n"))
            .bind(stamp.at.to_string())
            .execute(&mut *tx)
            .await?;
        let lines = c.plan(seq);
        Store::insert_lines(&mut tx, stamp, id, &lines).await?;
        let after = json!({
            "convention": seq,
            "nature": c.kind.code(),
            "financeur": c.funder,
            "objet": c.purpose,
            "montant_centimes": c.amount.get(),
            "debut": c.start.to_string(),
            "fin": c.end.to_string(),
            "livrables": c.deliverables,
            "lignes_ajoutees": lines.iter().map(planned_json).collect::<Vec<_>>(),
        });
        Store::audit(&mut tx, stamp, Some(id), None, Some(after)).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// The funder kind of one convention (what the policy asks about its payments).
    pub async fn convention_kind(&self, id: &CptsId, seq: i64) -> Result<Option<FunderKind>> {
        let row = sqlx::query("SELECT kind FROM convention WHERE cpts_id = $1 AND seq = $2")
            .bind(id.as_str())
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| FunderKind::parse(&r.try_get::<String, _>("kind")?).map_err(invalid)).transpose()
    }

    pub async fn conventions(&self, id: &CptsId) -> Result<Vec<(i64, Convention)>> {
        let rows = sqlx::query("SELECT * FROM convention WHERE cpts_id = $1 ORDER BY seq")
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        let lines = self.ledger(id).await?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get("seq")?;
                let kind: String = r.try_get("kind")?;
                let deliverables: String = r.try_get("deliverables")?;
                Ok((
                    seq,
                    Convention {
                        kind: FunderKind::parse(&kind).map_err(invalid)?,
                        funder: r.try_get("funder")?,
                        purpose: r.try_get("purpose")?,
                        amount: Cents::new(r.try_get("amount")?),
                        start: date(&r.try_get::<String, _>("start_on")?)?,
                        end: date(&r.try_get::<String, _>("end_on")?)?,
                        deliverables: deliverables.lines().map(str::to_string).filter(|s| !s.is_empty()).collect(),
                        installments: lines
                            .iter()
                            .filter(|l| matches!(l.planned.source, Source::Convention { convention, .. } if convention == seq))
                            .map(|l| (l.planned.due, l.planned.amount))
                            .collect(),
                    },
                ))
            })
            .collect()
    }
}
