//! Indicator values and activity reports on both engines: checked values stored as one batch
//! (all or nothing) with their provenance, corrections keeping the previous value; a report
//! drafted, reviewed and validated, its validation releasing the year's balance in the same
//! transaction; stale or forbidden writes leave the store as it was. Golden figures: those of
//! the domain's `tests/report.rs` (access mission variable part 10 000 € → 7 040 €).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

mod common;

#[path = "../../../tests/reports/golden.rs"]
mod golden;

use std::collections::BTreeMap;

use golden::{ANNEX, live, row, year_one};

use common::{areas, ev, identity, stamp, stores};
use cpts_domain::activity::{Act, Context, Report, ReportEvent, Status};
use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Book, Op};
use cpts_domain::ids::CptsId;
use cpts_domain::indicators::Catalogue;
use cpts_domain::ledger::{Line, Status as LineStatus};
use cpts_domain::lifecycle::{Actor, Step};
use cpts_domain::values::{Entry, Period, Reading, Scope, check, year_values};
use cpts_engine::rate::Dec;
use cpts_engine::rules::RuleSet;
use cpts_store::{Provenance, Store, StoreError};
use jiff::civil::date;

const NAME: &str = "CPTS test";

const DRAFT: &str = "summary: Première année.
actions:
  - {title: Cellule médecin traitant, mission: acces_soins, from: 2021-02-01, professionals: 12}
expenses:
  - {item: Coordination, amount: 45000}
";

struct Setup {
    rules: RuleSet,
    catalogue: Catalogue,
    agreement: Agreement,
    scopes: BTreeMap<CptsId, Scope>,
}

fn setup() -> Setup {
    let rules = RuleSet::builtin().unwrap();
    let catalogue = Catalogue::builtin(&rules).unwrap();
    let (agreement, _) = Agreement::new(1, NAME, ANNEX, "CPAM test", "ARS test", &rules).unwrap();
    let scope = Scope::of(std::slice::from_ref(&agreement), &rules).unwrap();
    let scopes = [(id(), scope)].into();
    Setup { rules, catalogue, agreement, scopes }
}

fn id() -> CptsId {
    "cpts-test".parse().unwrap()
}

fn import() -> Provenance {
    Provenance {
        source: "import".into(),
        file: Some("valeurs-2021.csv".into()),
        by: "Coordinatrice".into(),
        role: Actor::Cpts,
    }
}

fn typed() -> Provenance {
    Provenance { source: "saisie".into(), file: None, by: "Agent CPAM".into(), role: Actor::Cpam }
}

fn sorted(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| (&a.indicator, a.period).cmp(&(&b.indicator, b.period)));
    entries
}

/// A CPTS with its contract signed (and its ledger opened).
async fn signed(store: &Store, s: &Setup) {
    store.create_cpts(&stamp(), &id(), &identity(NAME), &areas()).await.unwrap();
    let plan = Book::open(&s.agreement, &s.rules).unwrap();
    store.sign_contract(&stamp(), &id(), &ev(Step::Sign, date(2021, 1, 1), Actor::Cpam), 0, &s.agreement, &plan).await.unwrap();
}

fn total(lines: &[Line]) -> i64 {
    lines.iter().map(|l| l.planned.amount.get()).sum()
}

#[tokio::test]
async fn values_round_trip_and_a_correction_keeps_the_previous_value() {
    let s = setup();
    for (engine, store) in stores().await {
        signed(&store, &s).await;
        let none = store.value_periods(&[id()]).await.unwrap();
        assert!(none.is_empty(), "{engine}: {none:?}");
        let entries = check(&year_one(), &s.scopes, &none, &s.catalogue).unwrap();
        assert_eq!(entries.len(), 24);
        let b1 = store.add_values(&stamp(), &import(), &entries).await.unwrap();
        let expected = sorted(entries.clone());
        assert_eq!(store.values(&id()).await.unwrap(), expected, "{engine}");

        let periods = store.value_periods(&[id()]).await.unwrap();
        assert_eq!(periods.len(), 2, "{engine}: {periods:?}");
        let months: Vec<Period> = (1..=12).map(|m| Period::Month(2021, m)).collect();
        assert_eq!(periods[&(id(), "patients_sans_mt_aides".to_string())], months, "{engine}");
        assert_eq!(periods[&(id(), "snp_taux_reponse".to_string())], months, "{engine}");
        // Stored periods count: a quarter over stored months is refused before any write.
        let e = check(&[row(0, "patients_sans_mt_aides", "2021-T1", "9", "", "")], &s.scopes, &periods, &s.catalogue)
            .unwrap_err();
        assert!(e[0].message.contains("déjà enregistrée"), "{engine}: {e:?}");

        let history = store.value_history(&id(), None).await.unwrap();
        assert_eq!(history.len(), 24, "{engine}");
        for h in &history {
            assert_eq!((h.batch, h.replaced_by), (b1, None), "{engine}: {h:?}");
            assert_eq!(h.provenance, import(), "{engine}");
            assert!(!h.recorded_at.is_empty());
        }

        // A correction of one month of each indicator (the same period: it replaces).
        let fix = check(
            &[
                row(0, "patients_sans_mt_aides", "2021-03", "9", "", ""),
                row(0, "snp_taux_reponse", "2021-06", "", "2", "3"),
            ],
            &s.scopes,
            &periods,
            &s.catalogue,
        )
        .unwrap();
        let b2 = store.add_values(&stamp(), &typed(), &fix).await.unwrap();
        assert!(b2 > b1, "{engine}: {b1} then {b2}");
        let now = store.values(&id()).await.unwrap();
        assert_eq!(now.len(), 24, "{engine}");
        let expected: Vec<Entry> = expected
            .iter()
            .map(|e| fix.iter().find(|f| f.indicator == e.indicator && f.period == e.period).unwrap_or(e).clone())
            .collect();
        assert_eq!(now, expected, "{engine}");
        let march = now.iter().find(|e| e.indicator == "patients_sans_mt_aides" && e.period == Period::Month(2021, 3));
        assert_eq!(march.unwrap().reading.value, Dec::from_int(9), "{engine}");
        let june = now.iter().find(|e| e.indicator == "snp_taux_reponse" && e.period == Period::Month(2021, 6));
        let june = june.unwrap().reading;
        assert_eq!(
            june,
            Reading {
                value: Dec::parse("66,66").unwrap(),
                numerator: Some(Dec::from_int(2)),
                denominator: Some(Dec::from_int(3))
            },
            "{engine}"
        );

        // History: the corrected value stays, marked replaced by the second batch.
        let patients = store.value_history(&id(), Some("patients_sans_mt_aides")).await.unwrap();
        assert_eq!(patients.len(), 13, "{engine}");
        assert!(patients.iter().all(|h| h.entry.indicator == "patients_sans_mt_aides"), "{engine}");
        let march: Vec<_> = patients.iter().filter(|h| h.entry.period == Period::Month(2021, 3)).collect();
        assert_eq!(march.len(), 2, "{engine}: {march:?}");
        assert_eq!(
            (march[0].batch, march[0].replaced_by, march[0].entry.reading.value),
            (b1, Some(b2), Dec::from_int(7)),
            "{engine}"
        );
        assert_eq!(march[0].provenance, import(), "{engine}");
        assert_eq!(
            (march[1].batch, march[1].replaced_by, march[1].entry.reading.value),
            (b2, None, Dec::from_int(9)),
            "{engine}"
        );
        assert_eq!(march[1].provenance, typed(), "{engine}");
        assert!(
            patients.iter().filter(|h| h.entry.period != Period::Month(2021, 3)).all(|h| h.replaced_by.is_none()),
            "{engine}"
        );
        let all = store.value_history(&id(), None).await.unwrap();
        assert_eq!(all.len(), 26, "{engine}");
        assert_eq!(all.iter().filter(|h| h.replaced_by == Some(b2)).count(), 2, "{engine}");
        let snp_june: Vec<_> = all
            .iter()
            .filter(|h| h.entry.indicator == "snp_taux_reponse" && h.entry.period == Period::Month(2021, 6))
            .collect();
        assert_eq!(snp_june.len(), 2, "{engine}");
        assert_eq!(snp_june[0].entry.reading.value, Dec::from_int(65), "{engine}");
        assert_eq!(snp_june[0].replaced_by, Some(b2), "{engine}");
        assert_eq!(snp_june[1].entry.reading, june, "{engine}");
        // Still one current value per period.
        assert_eq!(store.value_periods(&[id()]).await.unwrap(), periods, "{engine}");

        // Each batch's audit row holds what it wrote, as the database read it back: every
        // (indicator, period, value), sorted, the corrections counted.
        let filter = cpts_store::AuditFilter { cpts: Some(id().to_string()), limit: 100, ..Default::default() };
        let log = store.audit_log(&filter).await.unwrap();
        let detail_of = |batch: i64| {
            let after = log.iter().filter_map(|e| e.after.as_deref()).map(|a| serde_json::from_str::<serde_json::Value>(a).unwrap());
            after.into_iter().find(|a| a["lot"] == batch).unwrap_or_else(|| panic!("{engine}: no audit row for batch {batch}"))
        };
        let first = detail_of(b1);
        assert_eq!((first["valeurs"].as_u64(), first["remplacees"].as_u64()), (Some(24), Some(0)), "{engine}");
        let triples: Vec<(String, String)> = first["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t[0].as_str().unwrap().to_owned(), t[1].as_str().unwrap().to_owned()))
            .collect();
        let mut keys: Vec<(String, String)> = entries.iter().map(|e| (e.indicator.clone(), e.period.to_string())).collect();
        keys.sort();
        assert_eq!(triples, keys, "{engine}");
        let second = detail_of(b2);
        assert_eq!((second["valeurs"].as_u64(), second["remplacees"].as_u64()), (Some(2), Some(2)), "{engine}");
        let fixed = second["detail"].as_array().unwrap();
        assert_eq!(fixed.len(), 2, "{engine}");
        assert_eq!((fixed[0][0].as_str(), fixed[0][1].as_str()), (Some("patients_sans_mt_aides"), Some("2021-03")), "{engine}");
        assert!(fixed[0][2].as_str().is_some_and(|v| v.starts_with('9')), "{engine}: {fixed:?}");
        assert_eq!((fixed[1][0].as_str(), fixed[1][1].as_str()), (Some("snp_taux_reponse"), Some("2021-06")), "{engine}");
    }
}

#[tokio::test]
async fn a_batch_is_stored_all_or_nothing() {
    let s = setup();
    for (engine, store) in stores().await {
        signed(&store, &s).await;
        let entries = check(&year_one(), &s.scopes, &BTreeMap::new(), &s.catalogue).unwrap();
        let b1 = store.add_values(&stamp(), &import(), &entries).await.unwrap();
        let values = store.values(&id()).await.unwrap();
        let history = store.value_history(&id(), None).await.unwrap();
        let version = store.get_cpts(&id()).await.unwrap().version;

        // A correction for the known CPTS, and a value for a CPTS the store does not know
        // (sorted after the known one, so the known one is claimed first).
        let fix = check(
            &[row(0, "patients_sans_mt_aides", "2021-03", "9", "", "")],
            &s.scopes,
            &store.value_periods(&[id()]).await.unwrap(),
            &s.catalogue,
        )
        .unwrap();
        let unknown = Entry {
            cpts: "cpts-zzz-inconnue".parse().unwrap(),
            indicator: "patients_sans_mt_aides".into(),
            period: Period::Month(2021, 4),
            reading: Reading { value: Dec::from_int(3), numerator: None, denominator: None },
        };
        let batch = [fix.clone(), vec![unknown.clone()]].concat();
        let e = store.add_values(&stamp(), &typed(), &batch).await;
        assert!(matches!(e, Err(StoreError::NotFound(_))), "{engine}: {e:?}");
        assert_eq!(store.values(&id()).await.unwrap(), values, "{engine}");
        let after = store.value_history(&id(), None).await.unwrap();
        assert_eq!(after.len(), history.len(), "{engine}");
        assert!(after.iter().all(|h| h.batch == b1 && h.replaced_by.is_none()), "{engine}: {after:?}");
        assert!(store.value_history(&unknown.cpts, None).await.unwrap().is_empty(), "{engine}");
        assert_eq!(store.get_cpts(&id()).await.unwrap().version, version, "{engine}");

        // A batch failing after its corrections were marked (two current values for one
        // period, which `check` would have refused): the marks are undone too.
        let mut twice = unknown.clone();
        twice.cpts = id();
        let batch = [fix.clone(), vec![twice.clone(), twice]].concat();
        let e = store.add_values(&stamp(), &typed(), &batch).await;
        assert!(matches!(e, Err(StoreError::Invalid(_))), "{engine}: {e:?}");
        assert!(e.unwrap_err().to_string().contains("rien n'a été enregistré"), "{engine}");
        assert_eq!(store.values(&id()).await.unwrap(), values, "{engine}");
        let after = store.value_history(&id(), None).await.unwrap();
        assert_eq!(after.len(), history.len(), "{engine}");
        assert!(after.iter().all(|h| h.batch == b1 && h.replaced_by.is_none()), "{engine}: {after:?}");
        assert_eq!(store.get_cpts(&id()).await.unwrap().version, version, "{engine}");

        // The valid part alone then goes through, with no trace of the refused batches.
        let b2 = store.add_values(&stamp(), &typed(), &fix).await.unwrap();
        let after = store.value_history(&id(), None).await.unwrap();
        assert_eq!(after.len(), history.len() + 1, "{engine}");
        assert_eq!(after.iter().filter(|h| h.batch == b2).count(), 1, "{engine}");
        assert_eq!(after.iter().filter(|h| h.replaced_by == Some(b2)).count(), 1, "{engine}");
        assert!(after.iter().all(|h| h.batch == b1 || h.batch == b2), "{engine}");
    }
}

#[tokio::test]
async fn a_report_is_reviewed_then_validated_and_releases_the_balance() {
    let s = setup();
    let rules = &s.rules;
    let today = date(2022, 2, 15);
    let c = s.agreement.contract(rules).unwrap();
    for (engine, store) in stores().await {
        signed(&store, &s).await;
        let entries = check(&year_one(), &s.scopes, &BTreeMap::new(), &s.catalogue).unwrap();
        store.add_values(&stamp(), &import(), &entries).await.unwrap();
        let stored = store.values(&id()).await.unwrap();
        let values = year_values(&c, 1, &s.catalogue, &stored);
        let ctx = Context { rules, contract: &c, values: &values, today };

        // Draft: a new version.
        let draft = Report::draft(1, 1, 1, DRAFT, &ctx).unwrap();
        store.save_report(&stamp(), &id(), None, &draft, None).await.unwrap();
        assert_eq!(store.reports(&id()).await.unwrap(), vec![draft.clone()], "{engine}");
        // The same version again: refused.
        let e = store.save_report(&stamp(), &id(), None, &draft, None).await;
        assert!(matches!(e, Err(StoreError::Invalid(_))), "{engine}: {e:?}");
        assert_eq!(store.reports(&id()).await.unwrap(), vec![draft.clone()], "{engine}");

        // Submitted: the results are frozen.
        let submitted = draft.act(Act::Soumettre, Actor::Cpts, "Coordinatrice", date(2022, 1, 20), None, &ctx).unwrap();
        store.save_report(&stamp(), &id(), Some(&draft), &submitted, None).await.unwrap();
        assert_eq!(store.reports(&id()).await.unwrap(), vec![submitted.clone()], "{engine}");

        // A rewrite decided on the stale draft (another tab): refused, nothing written.
        let rewrite = "summary: Autre texte.\n";
        let stale = draft.act(Act::Rediger, Actor::Cpts, "Coordinatrice", date(2022, 1, 21), Some(rewrite), &ctx);
        let stale = stale.unwrap();
        let e = store.save_report(&stamp(), &id(), Some(&draft), &stale, None).await;
        assert!(matches!(e, Err(StoreError::Invalid(_))), "{engine}: {e:?}");
        assert_eq!(store.reports(&id()).await.unwrap(), vec![submitted.clone()], "{engine}");

        // Review: a comment and its answer.
        let commented = submitted
            .act(Act::Commenter, Actor::Ars, "Agent ARS", date(2022, 1, 25), Some("Détail des créneaux ?"), &ctx)
            .unwrap();
        store.save_report(&stamp(), &id(), Some(&submitted), &commented, None).await.unwrap();
        let answered = commented
            .act(Act::Repondre, Actor::Cpts, "Coordinatrice", date(2022, 1, 26), Some("Voir annexe."), &ctx)
            .unwrap();
        store.save_report(&stamp(), &id(), Some(&commented), &answered, None).await.unwrap();
        assert_eq!(store.reports(&id()).await.unwrap(), vec![answered.clone()], "{engine}");

        let (book, version) = store.book(&id(), NAME, Some(1)).await.unwrap();
        let ledger = store.ledger(&id()).await.unwrap();
        let variable = live(&ledger, 1, "acces_soins.variable");
        assert_eq!(total(&variable), 1_000_000, "{engine}");
        let on = date(2022, 2, 1);

        // Validation decided on a stale copy (before the answer), with its outcome: refused,
        // neither the report nor the contract moves.
        let late = commented.act(Act::Valider, Actor::Cpam, "Agent CPAM", on, None, &ctx).unwrap();
        let o = book.decide(&Op::Release { year: 1, on, results: late.year_in() }, rules, today).unwrap();
        let e = store.save_report(&stamp(), &id(), Some(&commented), &late, Some((version, &book.agreement, &o))).await;
        assert!(matches!(e, Err(StoreError::Invalid(_))), "{engine}: {e:?}");
        // Validation against a contract that moved since it was read: refused, report included.
        let validated = answered.act(Act::Valider, Actor::Cpam, "Agent CPAM", on, None, &ctx).unwrap();
        let o = book.decide(&Op::Release { year: 1, on, results: validated.year_in() }, rules, today).unwrap();
        let e = store
            .save_report(&stamp(), &id(), Some(&answered), &validated, Some((version + 1, &book.agreement, &o)))
            .await;
        assert!(matches!(e, Err(StoreError::Conflict { .. })), "{engine}: {e:?}");
        assert_eq!(store.reports(&id()).await.unwrap(), vec![answered.clone()], "{engine}");
        let (a, v) = store.agreement(&id(), NAME, Some(1)).await.unwrap();
        assert_eq!(v, version, "{engine}");
        assert!(a.released.is_empty() && a.results.is_empty(), "{engine}: {a:?}");
        let g = store.gates(&id()).await.unwrap();
        assert!(g.released.is_empty() && g.reported.is_empty(), "{engine}: {g:?}");
        assert_eq!(store.ledger(&id()).await.unwrap(), ledger, "{engine}");

        // Validation, with the contract's outcome in the same transaction.
        store
            .save_report(&stamp(), &id(), Some(&answered), &validated, Some((version, &book.agreement, &o)))
            .await
            .unwrap();
        let reports = store.reports(&id()).await.unwrap();
        assert_eq!(reports, vec![validated.clone()], "{engine}");
        let r = &reports[0];
        assert_eq!(r.status, Status::Valide, "{engine}");
        assert_eq!(r.events.len(), 4, "{engine}");
        let acts: Vec<Act> = r.events.iter().map(|e| e.act).collect();
        assert_eq!(acts, [Act::Soumettre, Act::Commenter, Act::Repondre, Act::Valider], "{engine}");
        assert_eq!(r.events[1].text.as_deref(), Some("Détail des créneaux ?"), "{engine}");
        assert_eq!(r.results.len(), 2, "{engine}");
        assert_eq!(r.results["patients_sans_mt_aides"], Dec::from_int(84), "{engine}");
        assert_eq!(r.results["snp_taux_reponse"], Dec::from_int(65), "{engine}");
        assert_eq!(r.text, DRAFT, "{engine}");

        let (a, v) = store.agreement(&id(), NAME, Some(1)).await.unwrap();
        assert_eq!(v, version + 1, "{engine}");
        assert_eq!(a.results[&1], validated.year_in(), "{engine}");
        assert_eq!(a.results[&1].values["patients_sans_mt_aides"], Dec::from_int(84), "{engine}");
        assert_eq!(a.released[&1], on, "{engine}");
        let gates = store.gates(&id()).await.unwrap();
        assert!(gates.released.contains_key(&(1, 1)) && gates.reported.contains(&(1, 1)), "{engine}: {gates:?}");
        // 0.6 × 84 % + 0.4 × (65 − 50)/(80 − 50) = 70.4 % of 10 000 € = 7 040 €, now due.
        let ledger = store.ledger(&id()).await.unwrap();
        let variable = live(&ledger, 1, "acces_soins.variable");
        assert_eq!(total(&variable), 704_000, "{engine}");
        assert!(variable.iter().all(|l| l.status(today, &gates) == LineStatus::Due), "{engine}: {variable:?}");
        // The book read back is the one the domain decided.
        let (reloaded, _) = store.book(&id(), NAME, Some(1)).await.unwrap();
        let mut decided = book.clone();
        decided.apply(o);
        assert_eq!(total(&live(&reloaded.lines, 1, "acces_soins.variable")), 704_000, "{engine}");
        assert_eq!(reloaded.lines.len(), decided.lines.len(), "{engine}");

        // Validated: the domain refuses any act, and the store refuses a modified copy even
        // when the domain is bypassed.
        let e = validated.act(Act::Commenter, Actor::Cpam, "Agent", today, Some("x"), &ctx).unwrap_err();
        assert!(e.0[0].contains("ne change plus"), "{e:?}");
        let mut forged = validated.clone();
        forged.status = Status::EnRevue;
        forged.events.push(ReportEvent {
            act: Act::Commenter,
            on: today,
            role: Actor::Cpam,
            by: "Agent".into(),
            text: Some("après coup".into()),
        });
        let e = store.save_report(&stamp(), &id(), Some(&validated), &forged, None).await;
        assert!(matches!(e, Err(StoreError::Invalid(_))), "{engine}: {e:?}");
        // Even keeping the status and the number of steps: a validated report never changes.
        let mut rewritten = validated.clone();
        rewritten.text = "summary: Réécrit.\n".into();
        rewritten.content.summary = "Réécrit.".into();
        rewritten.results.insert("patients_sans_mt_aides".into(), Dec::from_int(100));
        let e = store.save_report(&stamp(), &id(), Some(&validated), &rewritten, None).await;
        assert!(matches!(e, Err(StoreError::Invalid(_))), "{engine}: {e:?}");
        assert_eq!(store.reports(&id()).await.unwrap(), vec![validated.clone()], "{engine}");

        // A correction is a new version; the validated one stays.
        let next = validated.next_version(&ctx).unwrap();
        store.save_report(&stamp(), &id(), None, &next, None).await.unwrap();
        assert_eq!(store.reports(&id()).await.unwrap(), vec![validated.clone(), next], "{engine}");
        assert_eq!(store.agreement(&id(), NAME, Some(1)).await.unwrap().0.results[&1], validated.year_in());
    }
}
