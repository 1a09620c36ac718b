//! What is late or due soon for one CPTS: its reports, the contract in force (missions, end),
//! and its ledger lines. Pure: the application loads everything for many CPTS at once (a few
//! queries whatever their number) and asks this for each.

use std::fmt::Write as _;

use cpts_engine::dates::{days_between, fr};
use cpts_engine::money::Cents;
use cpts_engine::rules::RuleSet;
use jiff::civil::Date;

use crate::activity::{Report, report_alerts};
use crate::agreement::Agreement;
use crate::calendar::{Alert, Urgency, calendar, contract_alerts};
use crate::ledger::{Gates, Line, Source, Status, component_label};

/// A ledger line's origin, in words.
pub fn line_source(rules: &RuleSet, l: &Line) -> String {
    let mut out = String::new();
    push_source(&mut out, rules, l, &mut Labels::default());
    out
}

/// Component labels already written, by code (a CPTS's lines name a dozen components).
#[derive(Default)]
struct Labels(Vec<(String, String)>);

impl Labels {
    fn get(&mut self, rules: &RuleSet, code: &str) -> &str {
        let i = match self.0.iter().position(|(c, _)| c == code) {
            Some(i) => i,
            None => {
                self.0.push((code.to_string(), component_label(rules, code)));
                self.0.len() - 1
            }
        };
        self.0.get(i).map_or("", |(_, label)| label.as_str())
    }
}

/// `line_source`, written at the end of `out`.
fn push_source(out: &mut String, rules: &RuleSet, l: &Line, labels: &mut Labels) {
    // Writing to a String cannot fail.
    let _ = match &l.planned.source {
        Source::Aci { contract, year, component, kind } => {
            write!(out, "ACI n° {contract}, année {year} — {} — {}", labels.get(rules, component), kind.label_fr())
        }
        Source::Convention { convention, installment } => {
            write!(out, "convention n° {convention}, versement {installment}")
        }
    };
}

/// The alerts of one CPTS on `on`, deadlines within `days` days, by date.
pub fn cpts_alerts(
    rules: &RuleSet,
    contracts: &[Agreement],
    reports: &[Report],
    lines: &[Line],
    gates: &Gates,
    days: i64,
    on: Date,
) -> Vec<Alert> {
    merged(contract_alerts_of(rules, contracts, reports, days, on), line_alerts(rules, lines, gates, days, on))
}

/// `cpts_alerts` in two halves, for a caller that computes the first while the ledger lines
/// are still being read: the contracts' and reports' alerts, then the lines', then `merged`.
pub fn contract_alerts_of(rules: &RuleSet, contracts: &[Agreement], reports: &[Report], days: i64, on: Date) -> Vec<Alert> {
    let mut out = Vec::new();
    // Only contracts signed by `on` count; the last of them is the one in force.
    let known: Vec<&Agreement> = contracts.iter().filter(|a| a.signed() <= on).collect();
    for (i, a) in known.iter().enumerate() {
        let Ok(mut c) = a.contract(rules) else { continue };
        // A termination recorded for a later day was not known on `on`.
        if c.terminated.is_some_and(|t| t > on) {
            c.terminated = None;
        }
        let mine: Vec<Report> = reports.iter().filter(|x| x.contract == a.seq).cloned().collect();
        out.extend(report_alerts(&c, &mine, on));
        if i + 1 == known.len() {
            let cal = calendar(rules, &c, &|code| a.progress.get(code).copied().unwrap_or_default(), on);
            out.extend(contract_alerts(&c, a.seq, &cal, on, days));
        }
    }
    out
}

/// The ledger lines' alerts (see `cpts_alerts`). Each text is written in one buffer (thousands
/// of them on a national list).
pub fn line_alerts(rules: &RuleSet, lines: &[Line], gates: &Gates, days: i64, on: Date) -> Vec<Alert> {
    let mut out = Vec::new();
    let mut labels = Labels::default();
    for l in lines {
        let mut text = String::with_capacity(128);
        // Writing to a String cannot fail.
        let urgency = match l.status(on, gates) {
            Status::Due => {
                let _ = write!(text, "ligne n° {} exigible et non payée : {} (", l.id, l.remaining());
                Urgency::Late
            }
            Status::ToRepay => {
                let _ = write!(text, "ligne n° {} : {} à reverser (", l.id, Cents::new(l.remaining().get().abs()));
                Urgency::Late
            }
            Status::Planned
                if days_between(on, l.planned.due) <= days && l.waiting_for(gates, on).is_none() =>
            {
                let _ = write!(text, "ligne n° {} : {} exigible le {} (", l.id, l.planned.amount, fr(l.planned.due));
                Urgency::Soon
            }
            _ => continue,
        };
        push_source(&mut text, rules, l, &mut labels);
        text.push(')');
        out.push(Alert { date: l.planned.due, urgency, text });
    }
    out
}

/// The two halves of `cpts_alerts` together, by date (the contracts' first on the same day).
pub fn merged(mut contract: Vec<Alert>, lines: Vec<Alert>) -> Vec<Alert> {
    contract.extend(lines);
    contract.sort_by_key(|a| a.date);
    contract
}
