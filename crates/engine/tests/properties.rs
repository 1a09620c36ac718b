//! Invariants of the engine, on generated contracts:
//! more achievement never pays less; payments add up to the entitlement, year by year;
//! a pro-rated year never exceeds a full year; indicator shares add up to the variable part.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

use cpts_engine::compute::{NoTrace, compute_year, year_core};
use cpts_engine::contract::Contract;
use cpts_engine::explain::{Detail, Explanation};
use cpts_engine::input::load_case;
use cpts_engine::money::Cents;
use cpts_engine::rules::RuleSet;
use cpts_engine::schedule::schedule;
use jiff::civil::{Date, date};
use proptest::prelude::*;

fn rules() -> RuleSet {
    RuleSet::builtin().unwrap()
}

fn day(offset: i64) -> Date {
    date(2019, 8, 24).checked_add(jiff::Span::new().days(offset)).unwrap()
}

#[derive(Debug, Clone)]
struct Gen {
    signed: i64,
    population: u64,
    starts: [i64; 3],
    envelopes: [(u32, u32); 3],
    rules: [u8; 3],
    values: [(u32, u32); 3],
    terminated: Option<i64>,
}

fn arb_contract() -> impl Strategy<Value = Gen> {
    (
        0i64..2500,
        1u64..400_000,
        [0i64..1800, 0i64..1800, 0i64..1800],
        [(0u32..200_000, 0u32..200_000), (0u32..200_000, 0u32..200_000), (0u32..200_000, 0u32..200_000)],
        [0u8..3, 0u8..3, 0u8..3],
        [(0u32..2000, 0u32..2000), (0u32..2000, 0u32..2000), (0u32..2000, 0u32..2000)],
        proptest::option::of(1i64..1826),
    )
        .prop_map(|(signed, population, starts, envelopes, rules, values, terminated)| Gen {
            signed,
            population,
            starts,
            envelopes,
            rules,
            values,
            terminated,
        })
}

/// A contract whose three socle missions start at `starts` days after signature,
/// with one indicator each (target 1000), values `vals` in years 1 and 2.
fn yaml(g: &Gen, vals: [u32; 3]) -> String {
    let signed = day(g.signed);
    let population = if [40_000, 80_000, 175_000].contains(&g.population) { g.population + 1 } else { g.population };
    let mut s = format!("cpts: généré\ncontract:\n  signed: {signed}\n  population: {population}\n  missions:\n");
    for (i, code) in ["acces_soins", "parcours", "prevention"].iter().enumerate() {
        let start = signed.checked_add(jiff::Span::new().days(g.starts[i])).unwrap();
        let rule = match g.rules[i] {
            0 => "linear",
            1 => "threshold\n        floor: 40",
            _ => "all_or_nothing",
        };
        s.push_str(&format!(
            "    - code: {code}\n      start: {start}\n      fixed: {}\n      variable: {}\n      objectives:\n      - indicator: i{i}\n        target: 1000\n        weight: 100\n        rule: {rule}\n",
            g.envelopes[i].0, g.envelopes[i].1
        ));
    }
    if let Some(t) = g.terminated {
        s.push_str(&format!("  terminated: {}\n", signed.checked_add(jiff::Span::new().days(t)).unwrap()));
    }
    s.push_str("years:\n");
    for y in [1, 2] {
        s.push_str(&format!("  {y}:\n    values: {{i0: {}, i1: {}, i2: {}}}\n", vals[0], vals[1], vals[2]));
    }
    s
}

fn contract(rules: &RuleSet, g: &Gen, vals: [u32; 3]) -> Contract {
    load_case(&yaml(g, vals), rules).unwrap_or_else(|e| panic!("{e:?}\n{}", yaml(g, vals)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn more_achievement_never_pays_less(g in arb_contract()) {
        let r = rules();
        let low = [g.values[0].0.min(g.values[0].1), g.values[1].0.min(g.values[1].1), g.values[2].0.min(g.values[2].1)];
        let high = [g.values[0].0.max(g.values[0].1), g.values[1].0.max(g.values[1].1), g.values[2].0.max(g.values[2].1)];
        let (a, b) = (contract(&r, &g, low), contract(&r, &g, high));
        for n in 1..=a.last_year().min(2) {
            let ya = compute_year(&r, &a, n, &mut NoTrace).unwrap();
            let yb = compute_year(&r, &b, n, &mut NoTrace).unwrap();
            prop_assert!(yb.variable >= ya.variable, "year {n}: {} < {}", yb.variable, ya.variable);
            prop_assert!(yb.total >= ya.total);
        }
    }

    #[test]
    fn payments_add_up_to_the_entitlement_each_year(g in arb_contract()) {
        let r = rules();
        let c = contract(&r, &g, [g.values[0].0, g.values[1].0, g.values[2].0]);
        let s = schedule(&r, &c, &mut NoTrace).unwrap();
        prop_assert_eq!(s.total_paid, s.total_entitlement);
        for y in &s.years {
            let paid = Cents::sum(s.payments.iter().filter(|p| p.year == y.year).map(|p| p.amount)).unwrap();
            prop_assert_eq!(paid, y.total, "year {}", y.year);
        }
        // Nothing is paid after the termination, and repayments only happen then.
        if let Some(t) = c.terminated {
            prop_assert!(s.payments.iter().all(|p| p.date <= t));
        } else {
            prop_assert_eq!(s.repaid, Cents::ZERO);
        }
        // Explained and unexplained runs agree.
        let explained = schedule(&r, &c, &mut Explanation::default()).unwrap();
        prop_assert_eq!(explained.payments, s.payments);
    }

    #[test]
    fn a_prorated_year_never_exceeds_a_full_year(g in arb_contract()) {
        let r = rules();
        let c = contract(&r, &g, [1000, 1000, 1000]);
        for n in 1..=c.last_year() {
            let mut parts = Vec::new();
            year_core(&r, &c, n, &mut NoTrace, |cm, my| parts.push((cm.fixed.unwrap(), cm.variable.unwrap(), *my))).unwrap();
            for (fixed, variable, my) in parts {
                prop_assert!(my.fixed <= fixed && my.fixed >= Cents::ZERO);
                prop_assert!(my.variable <= variable && my.variable >= Cents::ZERO);
            }
        }
    }

    #[test]
    fn indicator_shares_add_up_to_the_variable_part(g in arb_contract()) {
        let r = rules();
        let c = contract(&r, &g, [g.values[0].0, g.values[1].0, g.values[2].0]);
        let mut ex = Explanation::default();
        let y = compute_year(&r, &c, 1, &mut ex).unwrap();
        let lines = Cents::sum(ex.lines.iter().map(|l| l.amount)).unwrap();
        prop_assert_eq!(lines, y.total);
        for l in &ex.lines {
            if let Detail::Variable { indicators, hypothesis: false, .. } = &l.detail {
                let shares = Cents::sum(ex.indicators_of(indicators).iter().map(|i| i.amount)).unwrap();
                prop_assert_eq!(shares, l.amount);
            }
        }
    }

    #[test]
    fn one_rounding_stays_within_half_a_cent(amount in -10_000_000_000i64..10_000_000_000, num in 0i128..1_000_000, den in 1i128..1_000_000) {
        let got = Cents::new(amount).mul_ratio(num, den).unwrap().get();
        // |got − amount·num/den| ≤ 1/2  ⇔  |2·got·den − 2·amount·num| ≤ den
        let err = (2 * i128::from(got) * den - 2 * i128::from(amount) * num).abs();
        prop_assert!(err <= den);
    }
}
