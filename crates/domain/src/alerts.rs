//! What is late or due soon for one CPTS: its reports, the contract in force (missions, end),
//! and its ledger lines. Pure: the application loads everything for many CPTS at once (a few
//! queries whatever their number) and asks this for each.

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
    match &l.planned.source {
        Source::Aci { contract, year, component, kind } => {
            format!("ACI n° {contract}, année {year} — {} — {}", component_label(rules, component), kind.label_fr())
        }
        Source::Convention { convention, installment } => {
            format!("convention n° {convention}, versement {installment}")
        }
    }
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

/// The ledger lines' alerts (see `cpts_alerts`).
pub fn line_alerts(rules: &RuleSet, lines: &[Line], gates: &Gates, days: i64, on: Date) -> Vec<Alert> {
    let mut out = Vec::new();
    for l in lines {
        match l.status(on, gates) {
            Status::Due => out.push(Alert {
                date: l.planned.due,
                urgency: Urgency::Late,
                text: format!("ligne n° {} exigible et non payée : {} ({})", l.id, l.remaining(), line_source(rules, l)),
            }),
            Status::ToRepay => out.push(Alert {
                date: l.planned.due,
                urgency: Urgency::Late,
                text: format!(
                    "ligne n° {} : {} à reverser ({})",
                    l.id,
                    Cents::new(l.remaining().get().abs()),
                    line_source(rules, l)
                ),
            }),
            Status::Planned
                if days_between(on, l.planned.due) <= days && l.waiting_for(gates, on).is_none() =>
            {
                out.push(Alert {
                    date: l.planned.due,
                    urgency: Urgency::Soon,
                    text: format!(
                        "ligne n° {} : {} exigible le {} ({})",
                        l.id,
                        l.planned.amount,
                        fr(l.planned.due),
                        line_source(rules, l)
                    ),
                })
            }
            _ => {}
        }
    }
    out
}

/// The two halves of `cpts_alerts` together, by date (the contracts' first on the same day).
pub fn merged(mut contract: Vec<Alert>, lines: Vec<Alert>) -> Vec<Alert> {
    contract.extend(lines);
    contract.sort_by_key(|a| a.date);
    contract
}
