//! The ledger under random sequences of valid and invalid operations: after each one the live
//! lines add up to the engine's entitlement, year by year and component by component; paid
//! amounts never exceed what a line says; money received per component never goes negative;
//! a refused operation changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

use std::collections::BTreeMap;

use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Book, Op};
use cpts_domain::ledger::{Convention, FunderKind, Gates, Line, Payment, Source, Status};
use cpts_engine::explain::Explanation;
use cpts_engine::input::YearIn;
use cpts_engine::money::Cents;
use cpts_engine::rate::Dec;
use cpts_engine::rules::RuleSet;
use cpts_engine::schedule::{PaymentKind, schedule};
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

fn pay(line: i64, amount: Cents, on: Date) -> Payment {
    Payment { line, amount, on, by: "CPAM test".into(), reference: Some("VIR-1".into()) }
}

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
                        Some(x) if a % 4 != 0 => Op::Pay(pay(x.id, Cents::new(x.remaining().get().abs()), today)),
                        _ => Op::Pay(pay(i64::from(l % 40) + 1, Cents::new(i64::from(a)), day(d).min(today))),
                    }
                }
            };
            let before = format!("{:?}", (&book.lines, &book.agreement.progress, &book.agreement.released, &book.agreement.results));
            match book.decide(&op, &rules, today) {
                Ok(o) => book.apply(o),
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
                // A line held by a report no one validated is neither due nor announced (it
                // waits): what lets national reads leave it out in the database.
                if let Some(gate) = l.planned.held_by().filter(|g| !book.gates.released.contains_key(g)) {
                    prop_assert!(!matches!(s, Status::Due | Status::ToRepay), "{:?} {:?}", gate, l);
                    prop_assert!(l.waiting_for(&book.gates, today).is_some(), "{:?} {:?}", gate, l);
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
    book.apply(o);
    // Pay every due line (operating in full, the access mission's advance).
    let gates = Gates::default();
    let due: Vec<(i64, Cents)> =
        book.lines.iter().filter(|l| l.status(today, &gates) == Status::Due).map(|l| (l.id, l.remaining())).collect();
    assert_eq!(due.len(), 2, "{:#?}", book.lines);
    for (id, amount) in due {
        let o = book.decide(&Op::Pay(pay(id, amount, today)), &rules, today).unwrap();
        book.apply(o);
    }
    // A payment larger than due is refused.
    let first = book.lines[0].id;
    assert!(book.decide(&Op::Pay(pay(first, Cents::new(1), today)), &rules, today).is_err());
    // Terminated on 1 July 2020: the year is settled on that date.
    let o = book
        .decide(&Op::Terminate { on: date(2020, 7, 1), reason: "missions non mises en œuvre".into() }, &rules, today)
        .unwrap();
    book.apply(o);
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

fn open_book(rules: &RuleSet) -> Book {
    let (agreement, _) = Agreement::new(1, "CPTS test", ANNEX, "CPAM test", "ARS test", rules).unwrap();
    let plan = Book::open(&agreement, rules).unwrap();
    let lines =
        plan.into_iter().zip(1..).map(|(p, id)| Line { id, planned: p, paid: Cents::ZERO, cancelled: None }).collect();
    Book { agreement, lines, gates: Gates::default() }
}

fn line_of<'a>(book: &'a Book, year: u8, component: &str, kind: PaymentKind) -> &'a Line {
    book.lines
        .iter()
        .find(|l| {
            l.cancelled.is_none()
                && matches!(&l.planned.source, Source::Aci { year: y, component: c, kind: k, .. } if *y == year && c == component && *k == kind)
        })
        .unwrap_or_else(|| panic!("no {component} {kind:?} line for year {year}: {:#?}", book.lines))
}

#[test]
fn a_balance_is_paid_only_once_its_report_is_validated_and_not_dated_before() {
    let rules = RuleSet::builtin().unwrap();
    let mut book = open_book(&rules);
    let today = date(2021, 12, 1);
    let o = book.decide(&Op::Start { mission: "acces_soins".into(), on: date(2020, 1, 15) }, &rules, today).unwrap();
    book.apply(o);
    let balance = line_of(&book, 1, "acces_soins.variable", PaymentKind::Balance).id;
    // Before the year-1 report is validated: refused, whatever the payment's date.
    let e = book.decide(&Op::Pay(pay(balance, Cents::new(1), date(2021, 2, 1))), &rules, today).unwrap_err();
    assert!(e.contains("rapport d'activité de l'année 1, pas encore validé"), "{e}");
    let results = YearIn { values: BTreeMap::from([("mt".to_string(), Dec::parse("80").unwrap())]), ..YearIn::default() };
    let o = book.decide(&Op::Release { year: 1, on: date(2021, 11, 29), results }, &rules, today).unwrap();
    let replaced = o.changes.cancel.clone();
    assert!(!replaced.is_empty(), "the planned variable balance is replaced by the computed one");
    book.apply(o);
    assert_eq!(book.gates.released.get(&(1, 1)), Some(&date(2021, 11, 29)));
    // Cancelled on the validation's date, not on the day it was entered (`today`).
    for l in book.lines.iter().filter(|l| replaced.contains(&l.id)) {
        assert_eq!(l.cancelled, Some(date(2021, 11, 29)), "line {}", l.id);
    }
    let l = line_of(&book, 1, "acces_soins.variable", PaymentKind::Balance).clone();
    // Validated on 29/11/2021: a payment dated 10/12/2020 (before the validation) is refused…
    let e = book.decide(&Op::Pay(pay(l.id, l.remaining(), date(2020, 12, 10))), &rules, today).unwrap_err();
    assert!(e.contains("avant la validation du rapport d'activité de l'année 1 le 29/11/2021"), "{e}");
    // …and the balance is not due as of a date before the validation either.
    assert_eq!(l.status(date(2021, 6, 1), &book.gates), Status::Planned);
    assert_eq!(l.status(date(2021, 11, 29), &book.gates), Status::Due);
    // On or after the validation: accepted, with who paid and the transfer's reference.
    let o = book.decide(&Op::Pay(pay(l.id, l.remaining(), date(2021, 11, 30))), &rules, today).unwrap();
    let p = o.payment.clone().unwrap();
    assert_eq!((p.by.as_str(), p.reference.as_deref()), ("CPAM test", Some("VIR-1")));
    assert!(o.summary.contains("par CPAM test, virement VIR-1"), "{}", o.summary);
}

#[test]
fn early_and_partial_payments_follow_explicit_rules() {
    let rules = RuleSet::builtin().unwrap();
    let mut book = open_book(&rules);
    let today = date(2021, 3, 1);
    let o = book.decide(&Op::Start { mission: "acces_soins".into(), on: date(2020, 1, 15) }, &rules, today).unwrap();
    book.apply(o);
    // The year-2 operating advance, due at the anniversary of 15/01/2021, paid three days before: accepted.
    let adv = line_of(&book, 2, "operating", PaymentKind::Advance).clone();
    assert_eq!(adv.planned.due, date(2021, 1, 15));
    let early = pay(adv.id, adv.remaining(), date(2021, 1, 12));
    let o = book.decide(&Op::Pay(early.clone()), &rules, today).unwrap();
    assert!(o.summary.contains("avant l'échéance du 15/01/2021"), "{}", o.summary);
    assert!(o.payment.as_ref().unwrap().early(&adv));
    // An ACI line is paid in one transfer: a part is refused, saying why.
    let full = line_of(&book, 1, "operating", PaymentKind::Full).clone();
    let e = book.decide(&Op::Pay(pay(full.id, Cents::new(100_000), today)), &rules, today).unwrap_err();
    assert!(e.contains("paiement partiel") && e.contains("se règle en une fois"), "{e}");
    // Nothing is owed before the signature (15/01/2020).
    let e = book.decide(&Op::Pay(pay(full.id, full.remaining(), date(2020, 1, 10))), &rules, today).unwrap_err();
    assert!(e.contains("avant la signature du contrat"), "{e}");
    // Who paid is required.
    let mut nobody = pay(full.id, full.remaining(), today);
    nobody.by = "  ".into();
    assert!(book.decide(&Op::Pay(nobody), &rules, today).unwrap_err().contains("payeur manquant"));

    // A convention's installment may be paid early and in parts.
    let conv = Convention {
        kind: FunderKind::Ars,
        funder: "ARS test".into(),
        purpose: "Phase 1".into(),
        amount: Cents::new(3_000_000),
        start: date(2021, 1, 1),
        end: date(2022, 1, 1),
        deliverables: vec![],
        installments: vec![(date(2021, 3, 4), Cents::new(3_000_000))],
    };
    let planned = conv.plan(1).remove(0);
    let line = Line { id: 99, planned, paid: Cents::ZERO, cancelled: None };
    let part = line.pay(&pay(99, Cents::new(1_000_000), date(2021, 3, 1)), today, &Gates::default()).unwrap();
    assert_eq!(part.amount, Cents::new(1_000_000));
}

#[test]
fn a_year_is_released_after_its_last_day_which_a_refusal_names() {
    let rules = RuleSet::builtin().unwrap();
    let (agreement, _) = Agreement::new(1, "CPTS test", ANNEX, "CPAM test", "ARS test", &rules).unwrap();
    // Signed 15/01/2020: year 1 runs to 14/01/2021 inclusive.
    let e = agreement.release_year(1, date(2021, 1, 14), YearIn::default(), &rules).unwrap_err();
    assert!(e[0].message.contains("avant la fin de l'année 1 (dernier jour : 14/01/2021)"), "{e:?}");
    assert!(agreement.release_year(1, date(2021, 1, 15), YearIn::default(), &rules).is_ok());
}

#[test]
fn an_objective_named_by_code_is_explained_with_the_catalogues_label() {
    let rules = RuleSet::builtin().unwrap();
    let annex = "signed: 2020-01-15
population: 38000
missions:
  - {code: acces_soins, fixed: 20000, variable: 10000, objectives: [{indicator: patients_sans_mt_aides, target: 100, weight: 100}]}
";
    let (agreement, c) = Agreement::new(1, "CPTS test", annex, "CPAM test", "ARS test", &rules).unwrap();
    let label = "Patients sans médecin traitant aidés à en trouver un";
    assert_eq!(c.missions[0].objectives[0].label.as_deref(), Some(label));
    let plan = Book::open(&agreement, &rules).unwrap();
    let lines = plan.into_iter().zip(1..).map(|(p, id)| Line { id, planned: p, paid: Cents::ZERO, cancelled: None }).collect();
    let mut book = Book { agreement, lines, gates: Gates::default() };
    let today = date(2021, 3, 1);
    let o = book.decide(&Op::Start { mission: "acces_soins".into(), on: date(2020, 1, 15) }, &rules, today).unwrap();
    book.apply(o);
    let results = YearIn { values: [("patients_sans_mt_aides".to_string(), Dec::from_int(80))].into(), ..YearIn::default() };
    let o = book.decide(&Op::Release { year: 1, on: date(2021, 2, 1), results }, &rules, today).unwrap();
    book.apply(o);
    let explained: Vec<&str> = book.lines.iter().map(|l| l.planned.explanation.as_str()).collect();
    let variable: Vec<&&str> = explained.iter().filter(|e| e.contains("atteinte") || e.contains("patients_sans_mt_aides")).collect();
    assert!(!variable.is_empty(), "{explained:#?}");
    assert!(variable.iter().all(|e| e.contains(label) && !e.contains("patients_sans_mt_aides")), "{variable:#?}");
}

/// A ledger « as of » a date shows nothing that came after it: later payments unpaid, later
/// cancellations live, later contracts absent (issue 12, item 11).
#[test]
fn a_ledger_as_of_a_date_ignores_what_came_after() {
    let rules = RuleSet::builtin().unwrap();
    let book = open_book(&rules);
    let full = line_of(&book, 1, "operating", PaymentKind::Full).clone();
    let paid = Line { paid: full.planned.amount, ..full.clone() };
    let cancelled = Line { id: 2, cancelled: Some(date(2021, 6, 1)), ..full.clone() };
    let later = Line { id: 3, planned: cpts_domain::ledger::Planned { source: Source::Aci { contract: 2, year: 1, component: "operating".into(), kind: PaymentKind::Full }, ..full.planned.clone() }, ..full.clone() };
    let payments = vec![pay(full.id, full.planned.amount, date(2020, 3, 1))];
    let lines = vec![paid.clone(), cancelled, later];
    let (before, shown) = cpts_domain::ledger::as_of(&lines, &payments, date(2020, 2, 1), |c| c == 2);
    assert!(shown.is_empty());
    assert_eq!(before.len(), 2, "the second contract, signed later, is not there yet");
    assert_eq!(before[0].paid, Cents::ZERO);
    assert_eq!(before[0].status(date(2020, 2, 1), &Gates::default()), Status::Due);
    assert_eq!(before[1].cancelled, None);
    let (after, shown) = cpts_domain::ledger::as_of(&lines, &payments, date(2021, 12, 31), |_| false);
    assert_eq!((after.len(), shown.len(), after[0].paid, after[1].cancelled), (3, 1, full.planned.amount, Some(date(2021, 6, 1))));
}
