//! Serializable, explained results for the CLI and, later, the API: every amount
//! with its explanation in French, its flags and the sourced values it used.

use jiff::civil::Date;
use serde::Serialize;

use crate::compute::{EngineError, YearAmounts, year_core};
use crate::contract::Contract;
use crate::explain::{Explanation, Line, SourceView};
use crate::money::Cents;
use crate::rules::RuleSet;
use crate::schedule::{Payment, PaymentKind, Schedule, schedule};

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineReport {
    pub year: u8,
    pub component: String,
    pub label: String,
    pub amount_cents: Cents,
    pub amount: String,
    pub explanation: String,
    pub flags: Vec<&'static str>,
    pub sources: Vec<SourceView>,
}

impl LineReport {
    pub fn new(rules: &RuleSet, c: &Contract, ex: &Explanation, l: &Line) -> Self {
        LineReport {
            year: l.year,
            component: l.component.code(rules),
            label: l.component.label(rules),
            amount_cents: l.amount,
            amount: l.amount.to_string(),
            explanation: l.text(c, ex),
            flags: l.flags.labels(),
            sources: SourceView::collect(rules, &l.params),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RulesUsed {
    /// `null` for the rules in force, else the reform's id.
    pub reform: Option<String>,
    pub label: String,
    pub version: Option<String>,
}

impl RulesUsed {
    pub fn new(rules: &RuleSet, on: Date) -> Self {
        RulesUsed {
            reform: rules.reform.as_ref().map(|r| r.id.clone()),
            label: rules.reform.as_ref().map_or_else(|| "règles en vigueur".to_string(), |r| r.label.clone()),
            version: rules.version_at(on).map(|v| v.label.clone()),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct YearReport {
    pub cpts: String,
    pub year: u8,
    pub start: Date,
    /// Last day of the contract year.
    pub end: Date,
    pub tier: u8,
    pub tier_explanation: String,
    pub rules: RulesUsed,
    pub total_cents: Cents,
    pub total: String,
    pub lines: Vec<LineReport>,
    pub warnings: Vec<String>,
    /// True when a value from a secondary source, a contract-typed figure, a
    /// convention or a hypothesis was used somewhere: read the flags.
    pub flagged: bool,
}

fn flagged(lines: &[LineReport]) -> bool {
    lines.iter().any(|l| !l.flags.is_empty())
}

/// Compute and explain one contract year.
pub fn year_report(rules: &RuleSet, c: &Contract, n: u8) -> Result<YearReport, EngineError> {
    let mut ex = Explanation::default();
    let y: YearAmounts = year_core(rules, c, n, &mut ex, |_, _| {})?;
    let lines: Vec<LineReport> = ex.lines.iter().map(|l| LineReport::new(rules, c, &ex, l)).collect();
    Ok(YearReport {
        cpts: c.name.clone(),
        year: n,
        start: y.start,
        end: crate::dates::day_before(y.end).unwrap_or(y.end),
        tier: y.tier.0,
        tier_explanation: ex.tiers.first().map(|t| t.text(rules, c)).unwrap_or_default(),
        rules: RulesUsed::new(rules, y.start),
        total_cents: y.total,
        total: y.total.to_string(),
        flagged: flagged(&lines),
        lines,
        warnings: ex.warnings.iter().map(|w| w.text(rules)).collect(),
    })
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentReport {
    pub date: Date,
    pub year: u8,
    pub component: String,
    pub label: String,
    pub kind: PaymentKind,
    pub kind_label: &'static str,
    pub amount_cents: Cents,
    pub amount: String,
    pub explanation: String,
}

impl PaymentReport {
    fn new(rules: &RuleSet, p: &Payment) -> Self {
        PaymentReport {
            date: p.date,
            year: p.year,
            component: p.component.code(rules),
            label: p.component.label(rules),
            kind: p.kind,
            kind_label: p.kind.label_fr(),
            amount_cents: p.amount,
            amount: p.amount.to_string(),
            explanation: p.text(),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct YearTotal {
    pub year: u8,
    pub start: Date,
    pub tier: u8,
    pub total_cents: Cents,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleReport {
    pub cpts: String,
    pub signed: Date,
    pub end: Option<Date>,
    pub terminated: Option<Date>,
    pub rules: RulesUsed,
    pub total_entitlement_cents: Cents,
    pub total_paid_cents: Cents,
    pub repaid_cents: Cents,
    pub years: Vec<YearTotal>,
    pub payments: Vec<PaymentReport>,
    /// The explanation of every yearly entitlement.
    pub lines: Vec<LineReport>,
    pub warnings: Vec<String>,
    pub flagged: bool,
}

/// Compute and explain a whole contract's schedule.
pub fn schedule_report(rules: &RuleSet, c: &Contract) -> Result<ScheduleReport, EngineError> {
    let mut ex = Explanation::default();
    let s: Schedule = schedule(rules, c, &mut ex)?;
    let lines: Vec<LineReport> = ex.lines.iter().map(|l| LineReport::new(rules, c, &ex, l)).collect();
    Ok(ScheduleReport {
        cpts: c.name.clone(),
        signed: c.signed,
        end: c.anniversaries.last().copied().and_then(crate::dates::day_before),
        terminated: c.terminated,
        rules: RulesUsed::new(rules, c.signed),
        total_entitlement_cents: s.total_entitlement,
        total_paid_cents: s.total_paid,
        repaid_cents: s.repaid,
        years: s
            .years
            .iter()
            .map(|y| YearTotal { year: y.year, start: y.start, tier: y.tier.0, total_cents: y.total })
            .collect(),
        payments: s.payments.iter().map(|p| PaymentReport::new(rules, p)).collect(),
        flagged: flagged(&lines),
        lines,
        warnings: ex.warnings.iter().map(|w| w.text(rules)).collect(),
    })
}
