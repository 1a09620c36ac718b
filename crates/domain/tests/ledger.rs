//! The ledger under random sequences of valid and invalid operations: after each one the live
//! lines add up to the engine's entitlement, year by year and component by component; paid
//! amounts never exceed what a line says; money received per component never goes negative;
//! a refused operation changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

use std::collections::BTreeMap;

use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Book, Op};
use cpts_domain::ledger::{Gates, Line, Source, Status};
use cpts_engine::explain::Explanation;
use cpts_engine::input::YearIn;
use cpts_engine::money::Cents;
use cpts_engine::rate::Dec;
use cpts_engine::rules::RuleSet;
use cpts_engine::schedule::schedule;
use jiff::civil::{Date, date};
use proptest::prelude::*;

const ANNEX: &str = "signed: 2020-01-15
population: 38000
missions:
  - {code: acces_soins, fixed: 20000, variable: 10000, objectives: [{indicator: mt, target: 100, weight: 100}]}
  - {code: parcours, fixed: 15000, variable: 0}
  - {code: prevention, fixed: 12345.67, variable: 0}
  - {code: qualite, fixed: 9000, variable: 0}
";

fn day(offset: u16) -> Date {
    date(2020, 1, 1).checked_add(jiff::Span::new().days(i64::from(offset))).unwrap()
}

#[derive(Clone, Debug)]
enum Gen {
    Start(u8, u16),
    Deploy(u8, u16),
    Amend(u16, u32, Option<u32>),
    Terminate(u16),
    Release(u8, u16, u8),
    Pay(u8, u32, u16),
    Time(u16),
}

fn arb_op() -> impl Strategy<Value = Gen> {
    prop_oneof![
        3 => (0u8..6, 0u16..1900).prop_map(|(m, d)| Gen::Start(m, d)),
        1 => (0u8..6, 0u16..1900).prop_map(|(m, d)| Gen::Deploy(m, d)),
        1 => (0u16..2000, 1u32..100_000, proptest::option::of(0u32..50_000)).prop_map(|(d, p, e)| Gen::Amend(d, p, e)),
        1 => (300u16..2000).prop_map(Gen::Terminate),
        2 => (0u8..7, 0u16..2000, 0u8..150).prop_map(|(y, d, v)| Gen::Release(y, d, v)),
        8 => (0u8..60, 0u32..12_000_000, 0u16..2000).prop_map(|(l, a, d)| Gen::Pay(l, a, d)),
        3 => (1u16..400).prop_map(Gen::Time),
    ]
}

const CODES: [&str; 6] = ["acces_soins", "parcours", "prevention", "qualite", "crises", "inconnue"];

fn check_invariants(book: &Book, rules: &RuleSet) {
    let c = book.agreement.contract(rules).unwrap();
    let s = schedule(rules, &c, &mut Explanation::default()).unwrap();
    let live: Vec<&Line> = book.lines.iter().filter(|l| l.cancelled.is_none()).collect();
    let total = Cents::sum(live.iter().map(|l| l.planned.amount)).unwrap();
    assert_eq!(total, s.total_entitlement, "le grand livre ne fait pas les droits du moteur");
    // Per (year, component): live lines = engine payments of the group.
    let mut want: BTreeMap<(u8, String), i64> = BTreeMap::new();
    for p in &s.payments {
        *want.entry((p.year, p.component.code(rules))).or_default() += p.amount.get();
    }
    let mut got: BTreeMap<(u8, String), i64> = BTreeMap::new();
    let mut received: BTreeMap<(u8, String), i64> = BTreeMap::new();
    for l in &book.lines {
        let Source::Aci { year, component, .. } = &l.planned.source else { panic!("ligne hors ACI") };
        if l.cancelled.is_none() {
            *got.entry((*year, component.clone())).or_default() += l.planned.amount.get();
        }
        *received.entry((*year, component.clone())).or_default() += l.paid.get();
        assert!(l.paid.get().abs() <= l.planned.amount.get().abs(), "payé au-delà de la ligne : {l:?}");
        assert!(l.paid.get() == 0 || l.paid.get().signum() == l.planned.amount.get().signum(), "{l:?}");
        if l.cancelled.is_some() {
            assert_eq!(l.paid, Cents::ZERO, "une ligne payée a été annulée : {l:?}");
        }
    }
    got.retain(|_, v| *v != 0);
    want.retain(|_, v| *v != 0);
    assert_eq!(got, want);
    for (k, v) in received {
        assert!(v >= 0, "reçu négatif pour {k:?} : {v}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]
    #[test]
    fn ledger_adds_up_whatever_happens(ops in proptest::collection::vec(arb_op(), 1..40)) {
        let rules = RuleSet::builtin().unwrap();
        let (agreement, _) = Agreement::new(1, "CPTS propriété", ANNEX, "CPAM test", "ARS test", &rules).unwrap();
        let plan = Book::open(&agreement, &rules).unwrap();
        let lines = plan.into_iter().zip(1..).map(|(p, id)| Line { id, planned: p, paid: Cents::ZERO, cancelled: None }).collect();
        let mut book = Book { agreement, lines, gates: Gates::default() };
        let mut today = date(2020, 1, 20);
        check_invariants(&book, &rules);
        for g in ops {
            let op = match g {
                Gen::Time(d) => { today = today.checked_add(jiff::Span::new().days(i64::from(d))).unwrap(); continue }
                Gen::Start(m, d) => Op::Start { mission: CODES[usize::from(m)].into(), on: day(d) },
                Gen::Deploy(m, d) => Op::Deploy { mission: CODES[usize::from(m)].into(), on: day(d) },
                Gen::Amend(d, p, e) => Op::Amend { text: match e {
                    Some(e) => format!("effective: {}\npopulation: {p}\nmissions: [{{code: parcours, fixed: {e}}}]", day(d)),
                    None => format!("effective: {}\npopulation: {p}", day(d)),
                }},
                Gen::Terminate(d) => Op::Terminate { on: day(d), reason: "missions non mises en œuvre".into() },
                // Results between nothing and beyond the target: the variable part moves both ways.
                Gen::Release(y, d, v) => Op::Release { year: y, on: day(d), results: YearIn {
                    values: [("mt".to_string(), Dec::from_int(i64::from(v)))].into(), ..YearIn::default()
                }},
                Gen::Pay(l, a, d) => {
                    // Mostly a due line paid in full today (or a repayment), sometimes anything.
                    let open: Vec<&Line> = book.lines.iter().filter(|x| matches!(x.status(today, &book.gates), Status::Due | Status::ToRepay)).collect();
                    match open.get(usize::from(l) % open.len().max(1)) {
                        Some(x) if a % 4 != 0 => Op::Pay { line: x.id, amount: Cents::new(x.remaining().get().abs()), on: today },
                        _ => Op::Pay { line: i64::from(l % 40) + 1, amount: Cents::new(i64::from(a)), on: day(d).min(today) },
                    }
                }
            };
            let before = format!("{:?}", (&book.lines, &book.agreement.progress, &book.agreement.released, &book.agreement.results));
            match book.decide(&op, &rules, today) {
                Ok(o) => book.apply(o, today),
                Err(msg) => {
                    prop_assert!(!msg.is_empty());
                    let after = format!("{:?}", (&book.lines, &book.agreement.progress, &book.agreement.released, &book.agreement.results));
                    prop_assert_eq!(before, after);
                }
            }
            check_invariants(&book, &rules);
            // Statuses are consistent with the amounts.
            for l in &book.lines {
                let s = l.status(today, &book.gates);
                if l.planned.amount.is_negative() && l.cancelled.is_none() && l.paid != l.planned.amount {
                    prop_assert_eq!(s, Status::ToRepay);
                }
            }
        }
    }
}

#[test]
fn termination_after_advances_asks_for_repayment() {
    let rules = RuleSet::builtin().unwrap();
    let (agreement, _) = Agreement::new(1, "CPTS test", ANNEX, "CPAM test", "ARS test", &rules).unwrap();
    let plan = Book::open(&agreement, &rules).unwrap();
    let lines =
        plan.into_iter().zip(1..).map(|(p, id)| Line { id, planned: p, paid: Cents::ZERO, cancelled: None }).collect();
    let mut book = Book { agreement, lines, gates: Gates::default() };
    let today = date(2020, 7, 1);
    let o = book.decide(&Op::Start { mission: "acces_soins".into(), on: date(2020, 1, 15) }, &rules, today).unwrap();
    book.apply(o, today);
    // Pay every due line (operating in full, the access mission's advance).
    let gates = Gates::default();
    let due: Vec<(i64, Cents)> =
        book.lines.iter().filter(|l| l.status(today, &gates) == Status::Due).map(|l| (l.id, l.remaining())).collect();
    assert_eq!(due.len(), 2, "{:#?}", book.lines);
    for (id, amount) in due {
        let o = book.decide(&Op::Pay { line: id, amount, on: today }, &rules, today).unwrap();
        book.apply(o, today);
    }
    // A payment larger than due is refused.
    let first = book.lines[0].id;
    assert!(book.decide(&Op::Pay { line: first, amount: Cents::new(1), on: today }, &rules, today).is_err());
    // Terminated on 1 July 2020: the year is settled on that date.
    let o = book
        .decide(&Op::Terminate { on: date(2020, 7, 1), reason: "missions non mises en œuvre".into() }, &rules, today)
        .unwrap();
    book.apply(o, today);
    let to_repay: Vec<&Line> = book.lines.iter().filter(|l| l.status(today, &book.gates) == Status::ToRepay).collect();
    // Operating 50 000 paid in full; entitled to 50 000 × 168/366 = 22 950,82 → 27 049,18 to repay.
    let op = to_repay
        .iter()
        .find(|l| matches!(&l.planned.source, Source::Aci { component, .. } if component == "operating"))
        .unwrap();
    assert_eq!(op.planned.amount, Cents::new(-2_704_918));
    // Access: advance 75 % × 20 000 = 15 000 paid; entitled 20 000 × 168/366 = 9 180,33 → 5 819,67 to repay.
    let acc = to_repay
        .iter()
        .find(|l| matches!(&l.planned.source, Source::Aci { component, .. } if component == "acces_soins.fixed"))
        .unwrap();
    assert_eq!(acc.planned.amount, Cents::new(-581_967));
    check_invariants(&book, &rules);
}
