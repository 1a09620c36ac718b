//! Lifecycle, contracts and the ledger on both engines: a contract signed with its schedule,
//! mission starts, payments, an amendment and a termination persist exactly what the domain
//! decided; refused or conflicting writes leave the store as it was.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

mod common;

use common::{areas, ev, identity, stamp, stores};
use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Book, Op};
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind, Payment, Source, Status};
use cpts_domain::lifecycle::{Actor, Step};
use cpts_engine::explain::Explanation;
use cpts_engine::money::Cents;
use cpts_engine::rules::RuleSet;
use cpts_engine::schedule::schedule;
use cpts_store::StoreError;
use jiff::civil::{Date, date};

const ANNEX: &str = "signed: 2020-01-15
population: 38000
missions:
  - {code: acces_soins, fixed: 20000, variable: 0}
  - {code: parcours, fixed: 15000, variable: 0}
  - {code: prevention, fixed: 12000, variable: 0}
";

fn pay(line: i64, amount: Cents, on: Date) -> Payment {
    Payment { line, amount, on, by: "CPAM Paris (75)".into(), reference: Some("VIR-2020-0042".into()) }
}

#[tokio::test]
async fn a_contract_and_its_ledger_live_and_end() {
    let rules = RuleSet::builtin().unwrap();
    let today = date(2021, 6, 1);
    for (engine, store) in stores().await {
        let id: CptsId = "cpts-a".parse().unwrap();
        store.create_cpts(&stamp(), &id, &identity("CPTS A"), &areas()).await.unwrap();
        // History: a step recorded against a stale history length is refused.
        store.record_event(&stamp(), &id, &ev(Step::Declare, date(2019, 1, 1), Actor::Cpts), 0).await.unwrap();
        let stale = store.record_event(&stamp(), &id, &ev(Step::Formalise, date(2019, 2, 1), Actor::Cpts), 0).await;
        assert!(matches!(stale, Err(StoreError::Invalid(_))), "{engine}");
        assert_eq!(store.lifecycle(&id).await.unwrap().len(), 1, "{engine}");

        let (a, _) = Agreement::new(1, "CPTS A", ANNEX, "CPAM Paris (75)", "ARS Île-de-France", &rules).unwrap();
        let plan = Book::open(&a, &rules).unwrap();
        store.sign_contract(&stamp(), &id, &ev(Step::Sign, date(2020, 1, 15), Actor::Cpam), 1, &a, &plan).await.unwrap();
        let (book, v) = store.book(&id, "CPTS A", Some(1)).await.unwrap();
        assert_eq!(book.lines.len(), plan.len(), "{engine}");
        assert_eq!(book.agreement.annex, ANNEX);

        let mut version = v;
        let mut apply = async |op: Op| {
            let (book, v) = store.book(&id, "CPTS A", Some(1)).await.unwrap();
            assert_eq!(v, version);
            let o = book.decide(&op, &rules, today).unwrap();
            store.save_outcome(&stamp(), &id, v, &book.agreement, &o, None).await.unwrap();
            version += 1;
        };
        apply(Op::Start { mission: "acces_soins".into(), on: date(2020, 3, 1) }).await;
        let (book, v) = store.book(&id, "CPTS A", Some(1)).await.unwrap();
        let first = book.lines.iter().find(|l| l.planned.due == date(2020, 1, 15)).unwrap().id;
        let o = book
            .decide(&Op::Pay(pay(first, Cents::new(5_000_000), date(2020, 1, 20))), &rules, today)
            .unwrap();
        store.save_outcome(&stamp(), &id, v, &book.agreement, &o, None).await.unwrap();
        // The same decision saved again: refused by the line (already paid), nothing written. A
        // payment does not take the contract's version (payments on other lines go through).
        let again = store.save_outcome(&stamp(), &id, v, &book.agreement, &o, None).await;
        assert!(matches!(again, Err(StoreError::Invalid(_))), "{engine}: {again:?}");
        // Who paid and the transfer's reference are kept with the payment.
        let records = store.payment_records(&id).await.unwrap();
        assert_eq!(records, vec![pay(first, Cents::new(5_000_000), date(2020, 1, 20))], "{engine}");

        // Amendment then termination; the ledger adds up to the engine's entitlement throughout.
        let (book, v) = store.book(&id, "CPTS A", Some(1)).await.unwrap();
        let o = book
            .decide(&Op::Amend { text: "effective: 2021-01-15\npopulation: 45000\n".into() }, &rules, today)
            .unwrap();
        store.save_outcome(&stamp(), &id, v, &book.agreement, &o, None).await.unwrap();
        let (book, v) = store.book(&id, "CPTS A", Some(1)).await.unwrap();
        assert_eq!(book.agreement.amendments.len(), 1);
        let o = book
            .decide(
                &Op::Terminate { on: date(2021, 3, 1), reason: "missions non mises en œuvre".into() },
                &rules,
                today,
            )
            .unwrap();
        let term = ev(Step::Terminate, date(2021, 3, 1), Actor::Cpam);
        store.save_outcome(&stamp(), &id, v, &book.agreement, &o, Some((&term, 2))).await.unwrap();
        let (book, _) = store.book(&id, "CPTS A", Some(1)).await.unwrap();
        assert_eq!(book.agreement.terminated, Some(date(2021, 3, 1)), "{engine}");
        let c = book.agreement.contract(&rules).unwrap();
        let s = schedule(&rules, &c, &mut Explanation::default()).unwrap();
        let live = Cents::sum(book.lines.iter().filter(|l| l.cancelled.is_none()).map(|l| l.planned.amount)).unwrap();
        assert_eq!(live, s.total_entitlement, "{engine}");
        assert_eq!(store.lifecycle(&id).await.unwrap().len(), 3, "{engine}");
        // A refused operation (start after termination) is decided before any write.
        assert!(book.decide(&Op::Start { mission: "parcours".into(), on: date(2021, 4, 1) }, &rules, today).is_err());
        let statuses: Vec<Status> = book.lines.iter().map(|l| l.status(today, &book.gates)).collect();
        assert!(statuses.contains(&Status::Paid) && statuses.contains(&Status::Cancelled), "{engine}: {statuses:?}");
    }
}

#[tokio::test]
async fn conventions_and_their_payments() {
    for (engine, store) in stores().await {
        let id: CptsId = "cpts-b".parse().unwrap();
        store.create_cpts(&stamp(), &id, &identity("CPTS B"), &areas()).await.unwrap();
        let mut c = Convention {
            kind: FunderKind::Ars,
            funder: "ARS Île-de-France".into(),
            purpose: "Phase 1".into(),
            amount: Cents::new(3_000_000),
            start: date(2021, 3, 1),
            end: date(2021, 2, 1),
            deliverables: vec!["diagnostic".into(), "projet de santé".into()],
            installments: vec![(date(2021, 3, 1), Cents::new(1_500_000)), (date(2022, 3, 1), Cents::new(1_500_000))],
        };
        // End before start: refused, nothing stored.
        let e = store.add_convention(&stamp(), &id, &c).await.unwrap_err();
        assert!(e.to_string().contains("avant le début"), "{engine}: {e}");
        assert!(store.conventions(&id).await.unwrap().is_empty());
        assert!(store.ledger(&id).await.unwrap().is_empty());
        c.end = date(2022, 3, 1);
        assert_eq!(store.add_convention(&stamp(), &id, &c).await.unwrap(), 1);
        let back = store.conventions(&id).await.unwrap();
        assert_eq!(back, vec![(1, c.clone())], "{engine}");
        let lines = store.ledger(&id).await.unwrap();
        assert_eq!(lines.len(), 2);
        assert!(matches!(lines[0].planned.source, Source::Convention { convention: 1, installment: 1 }));
        store.pay_line(&stamp(), &id, &pay(lines[0].id, Cents::new(1_500_000), date(2021, 3, 10))).await.unwrap();
        // Overpaying is refused by the store itself, whatever the caller checked.
        assert!(store.pay_line(&stamp(), &id, &pay(lines[0].id, Cents::new(1), date(2021, 3, 11))).await.is_err(), "{engine}");
        let lines = store.ledger(&id).await.unwrap();
        assert_eq!(lines[0].paid, Cents::new(1_500_000));
        assert_eq!(store.payment_records(&id).await.unwrap().len(), 1, "{engine}");
    }
}

async fn stored(store: &cpts_store::Store) -> Vec<Vec<Option<i64>>> {
    store.fetch_raw_for_tests("SELECT id, held_contract, held_year FROM ledger_line ORDER BY id").await.unwrap()
}

#[tokio::test]
async fn lines_held_by_a_report_are_stored_as_the_domain_says_and_filled_in_for_older_stores() {
    use cpts_engine::input::YearIn;
    use cpts_store::{Store, Visible};
    let rules = RuleSet::builtin().unwrap();
    let today = date(2022, 6, 1);
    for (engine, url, store) in common::stores_with_urls().await {
        let id: CptsId = "cpts-h".parse().unwrap();
        store.create_cpts(&stamp(), &id, &identity("CPTS H"), &areas()).await.unwrap();
        let (a, _) = Agreement::new(1, "CPTS H", ANNEX, "CPAM Paris (75)", "ARS Île-de-France", &rules).unwrap();
        let plan = Book::open(&a, &rules).unwrap();
        store.sign_contract(&stamp(), &id, &ev(Step::Sign, date(2020, 1, 15), Actor::Cpam), 0, &a, &plan).await.unwrap();
        let (book, v) = store.book(&id, "CPTS H", Some(1)).await.unwrap();
        // What the domain says of each line, as (id, contract, year).
        let want: Vec<Vec<Option<i64>>> = book
            .lines
            .iter()
            .map(|l| {
                let held = l.planned.held_by();
                vec![Some(l.id), held.map(|h| h.0), held.map(|h| i64::from(h.1))]
            })
            .collect();
        assert!(want.iter().any(|w| w[2].is_some()) && want.iter().any(|w| w[2].is_none()), "{engine}: {want:?}");
        assert_eq!(stored(&store).await, want, "{engine}: written with the line");

        // The national read leaves out the lines held by a report no one validated; once the
        // year is validated, its lines come back.
        let until = date(2030, 1, 1);
        let read = store.alerting_lines_in(&Visible::one(&id), until).await.unwrap().remove("cpts-h").unwrap();
        assert!(read.iter().all(|l| l.planned.held_by().is_none()), "{engine}: {read:?}");
        let o = book.decide(&Op::Release { year: 2, on: date(2022, 3, 1), results: YearIn::default() }, &rules, today).unwrap();
        store.save_outcome(&stamp(), &id, v, &book.agreement, &o, None).await.unwrap();
        let read = store.alerting_lines_in(&Visible::one(&id), until).await.unwrap().remove("cpts-h").unwrap();
        assert!(read.iter().any(|l| l.planned.held_by().is_some_and(|h| h.1 == 2)), "{engine}: {read:?}");
        assert!(read.iter().all(|l| l.planned.held_by().is_none_or(|h| h.1 == 2)), "{engine}: {read:?}");
        let want: Vec<Vec<Option<i64>>> = {
            let (book, _) = store.book(&id, "CPTS H", Some(1)).await.unwrap();
            book.lines
                .iter()
                .map(|l| {
                    let held = l.planned.held_by();
                    vec![Some(l.id), held.map(|h| h.0), held.map(|h| i64::from(h.1))]
                })
                .collect()
        };
        assert_eq!(stored(&store).await, want, "{engine}: lines written by a release");

        // A store from before the columns: opening it fills them in, the domain deciding.
        for sql in [
            "ALTER TABLE ledger_line DROP COLUMN held_contract",
            "ALTER TABLE ledger_line DROP COLUMN held_year",
            "DELETE FROM schema_version WHERE version = 9",
        ] {
            store.execute_raw_for_tests(sql).await.unwrap();
        }
        store.close().await;
        let store = Store::open(&url).await.unwrap();
        assert_eq!(stored(&store).await, want, "{engine}: filled in for an older store");
        store.close().await;
    }
}
