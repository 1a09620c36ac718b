//! The engine: one contract year computed from the rules in force and the contract.
//! Pure: no I/O, no allocation unless a trace is requested.

use std::fmt;

use jiff::civil::Date;

use crate::contract::{Contract, ContractMission, Part, YearFacts};
use crate::dates::{self, days_between};
use crate::explain::{
    Component, Detail, EnvelopeOrigin, Explanation, Flags, IndicatorTrace, Line, Prorata, TierTrace, Warning,
};
use crate::money::{Cents, Overflow};
use crate::rate::Fraction;
use crate::rules::{
    BoundarySide, Delay, Grade, MissionIdx, MissionParam, ParamId, ParamKey, ParamRef, Refs, RuleSet, Tier,
};

/// Why a computation could not be made. Said in French.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    Overflow,
    YearOutOfContract { year: u8, years: u8 },
    YearAfterTermination { year: u8, terminated: Date },
    NoRule { what: &'static str, date: Date },
    Unknown { what: String, date: Date, help: &'static str },
    TierAtBoundary { population: u64, threshold: u64 },
    MissingEnvelope { mission: String, part: &'static str, date: Date },
    MissingTarget { indicator: String, year: u8 },
}

impl From<Overflow> for EngineError {
    fn from(_: Overflow) -> Self {
        EngineError::Overflow
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use dates::fr;
        match self {
            EngineError::Overflow => write!(f, "{}", Overflow),
            EngineError::YearOutOfContract { year, years } => {
                write!(f, "année de contrat {year} inexistante : le contrat compte {years} années")
            }
            EngineError::YearAfterTermination { year, terminated } => {
                write!(f, "année {year} : le contrat a été résilié le {}, rien n'est dû", fr(*terminated))
            }
            EngineError::NoRule { what, date } => {
                write!(f, "aucune règle « {what} » en vigueur au {} (date antérieure à l'ACI ?)", fr(*date))
            }
            EngineError::Unknown { what, date, help } => {
                write!(f, "{what} au {} : valeur inconnue nationalement [U] ; {help}", fr(*date))
            }
            EngineError::TierAtBoundary { population, threshold } => write!(
                f,
                "population de {population} habitants égale au seuil {threshold} : la taille retenue à l'égalité n'est pas connue nationalement [U] ; indiquez celle de votre contrat (contract.tier_at_boundary: lower ou upper)"
            ),
            EngineError::MissingEnvelope { mission, part, date } => write!(
                f,
                "mission « {mission} » : enveloppe {part} manquante ; le montant national n'est pas connu [U] au {} : saisissez le montant de votre contrat signé (contract.missions[…].{})",
                fr(*date),
                match *part {
                    "fixe" => "fixed",
                    "variable" => "variable",
                    _ => "activation",
                }
            ),
            EngineError::MissingTarget { indicator, year } => {
                write!(f, "indicateur « {indicator} » : pas de cible pour l'année {year}")
            }
        }
    }
}

impl std::error::Error for EngineError {}

/// Where explanations go. `NoTrace` makes the engine record nothing (batch speed);
/// `Explanation` records every line. Closures are only called when recording.
pub trait Trace {
    const ON: bool;
    fn line(&mut self, f: impl FnOnce() -> Line);
    fn indicator(&mut self, f: impl FnOnce() -> IndicatorTrace);
    /// Number of indicator records so far (to delimit a line's records).
    fn indicators_len(&self) -> u32;
    fn warn(&mut self, f: impl FnOnce() -> Warning);
    fn tier(&mut self, f: impl FnOnce() -> TierTrace);
}

pub struct NoTrace;

impl Trace for NoTrace {
    const ON: bool = false;
    #[inline(always)]
    fn line(&mut self, _: impl FnOnce() -> Line) {}
    #[inline(always)]
    fn indicator(&mut self, _: impl FnOnce() -> IndicatorTrace) {}
    #[inline(always)]
    fn indicators_len(&self) -> u32 {
        0
    }
    #[inline(always)]
    fn warn(&mut self, _: impl FnOnce() -> Warning) {}
    #[inline(always)]
    fn tier(&mut self, _: impl FnOnce() -> TierTrace) {}
}

impl Trace for Explanation {
    const ON: bool = true;
    fn line(&mut self, f: impl FnOnce() -> Line) {
        if self.lines.capacity() == 0 {
            self.lines.reserve(16); // a year has about ten lines: one allocation
        }
        self.lines.push(f());
    }
    fn indicator(&mut self, f: impl FnOnce() -> IndicatorTrace) {
        self.indicators.push(f());
    }
    fn indicators_len(&self) -> u32 {
        u32::try_from(self.indicators.len()).unwrap_or(u32::MAX)
    }
    fn warn(&mut self, f: impl FnOnce() -> Warning) {
        let w = f();
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }
    fn tier(&mut self, f: impl FnOnce() -> TierTrace) {
        self.tiers.push(f());
    }
}

/// The amounts of one contract year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YearAmounts {
    pub year: u8,
    pub start: Date,
    /// End of the year, exclusive (the next anniversary).
    pub end: Date,
    pub tier: Tier,
    pub operating: Cents,
    /// The yearly operating allocation before any pro-rata (what advances are computed on).
    pub operating_annual: Cents,
    pub fixed: Cents,
    pub variable: Cents,
    pub activation: Cents,
    pub total: Cents,
}

/// One mission's amounts in a year (used by the schedule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MissionYear {
    pub fixed: Cents,
    /// The fixed part's yearly envelope and the day it started counting this year.
    pub fixed_annual: Cents,
    pub fixed_from: Option<Date>,
    pub variable: Cents,
    pub activation: Cents,
}

const NANO2: i128 = 1_000_000_000_000_000_000; // 10⁻⁹ × 10⁻⁹ units of a weighted achievement

fn flag_grade(grade: Grade) -> Flags {
    Flags { secondary: grade == Grade::S, ..Flags::default() }
}

fn national(key: ParamKey, index: u16) -> ParamRef {
    ParamRef::new(ParamId::National(key), index)
}

/// The tier of a population on a date.
pub fn tier_of<T: Trace>(
    rules: &RuleSet,
    population: u64,
    date: Date,
    contract_side: Option<BoundarySide>,
    trace: &mut T,
) -> Result<Tier, EngineError> {
    let at = rules.params.tier_thresholds.at(date).ok_or(EngineError::NoRule { what: "seuils de taille", date })?;
    let thresholds = at.entry.value.as_ref().ok_or_else(|| EngineError::Unknown {
        what: "seuils de taille".into(),
        date,
        help: "complétez les règles",
    })?;
    let mut refs = Refs::default();
    let mut tier: u8 = 1;
    let mut at_boundary = false;
    for t in &thresholds.0 {
        if population > *t {
            tier = tier.saturating_add(1);
        } else if population == *t {
            at_boundary = true;
            let national_rule = rules.params.tier_at_boundary.at(date);
            let side = contract_side.or_else(|| national_rule.as_ref().and_then(|r| r.entry.value));
            if T::ON
                && let Some(r) = national_rule
            {
                refs.push(national(ParamKey::tier_at_boundary, r.index));
            }
            match side {
                Some(BoundarySide::Upper) => tier = tier.saturating_add(1),
                Some(BoundarySide::Lower) => {}
                None => return Err(EngineError::TierAtBoundary { population, threshold: *t }),
            }
        }
    }
    let tier = Tier(tier);
    trace.tier(|| {
        let mut params = Refs::one(national(ParamKey::tier_thresholds, at.index));
        refs.iter().for_each(|r| params.push(r));
        TierTrace { population, tier, thresholds: at.index, at_boundary, params, date }
    });
    Ok(tier)
}

/// A mission's deadline (start or full deployment), counted from the signature or,
/// for a mission created later, from the day it came into force (convention cpts).
pub fn deadline(rules: &RuleSet, c: &Contract, m: MissionIdx, which: MissionParam) -> Option<(Date, ParamRef)> {
    let def = rules.mission(m)?;
    let base = def.available_from().map_or(c.signed, |a| a.max(c.signed));
    let p = match which {
        MissionParam::DeploymentDelay => &def.deployment_delay,
        _ => &def.start_delay,
    };
    let at = p.at(base)?;
    match at.entry.value? {
        Delay::Months(n) => {
            Some((dates::add_months(base, n)?, ParamRef::new(ParamId::Mission(m, which), at.index)))
        }
        Delay::Free => None,
    }
}

struct Envelope {
    amount: Cents,
    origin: EnvelopeOrigin,
    param: Option<ParamRef>,
}

fn envelope<T: Trace>(
    rules: &RuleSet,
    cm: &ContractMission,
    tier: Tier,
    date: Date,
    part: Part,
    trace: &mut T,
) -> Result<Envelope, EngineError> {
    let (typed, amended) = cm.envelope_on(part, date);
    let origin = amended.map_or(EnvelopeOrigin::Contract, |effective| EnvelopeOrigin::Amendment { effective });
    if let (Some(amount), false) = (typed, T::ON) {
        // Batch path: the contract's figure is used; the grid only feeds the trace.
        return Ok(Envelope { amount, origin, param: None });
    }
    let def = rules.mission(cm.mission);
    let grid = def.and_then(|d| d.envelopes.at(date));
    let param =
        grid.as_ref().map(|g| ParamRef::new(ParamId::Mission(cm.mission, MissionParam::Envelopes), g.index));
    let national = grid.and_then(|g| g.entry.value.as_ref()).and_then(|v| v.get(tier)).and_then(|e| match part {
        Part::Fixed => Some(e.fixed),
        Part::Variable => e.variable,
        Part::Activation => e.activation,
    });
    match (typed, national) {
        (Some(amount), n) => {
            if let Some(n) = n.filter(|n| *n != amount) {
                trace.warn(|| Warning::ContractEnvelopeDiffers { mission: cm.mission, contract: amount, national: n });
            }
            Ok(Envelope { amount, origin, param })
        }
        (None, Some(amount)) => Ok(Envelope { amount, origin: EnvelopeOrigin::National, param }),
        (None, None) => Err(EngineError::MissingEnvelope {
            mission: def.map_or_else(String::new, |d| d.code.clone()),
            part: match part {
                Part::Fixed => "fixe",
                Part::Variable => "variable",
                Part::Activation => "activation",
            },
            date,
        }),
    }
}

/// Compute contract year `n` (1-based).
pub fn compute_year<T: Trace>(rules: &RuleSet, c: &Contract, n: u8, trace: &mut T) -> Result<YearAmounts, EngineError> {
    year_core(rules, c, n, trace, |_, _| {})
}

/// Compute year `n`, handing each mission's amounts to `each`.
pub fn year_core<T: Trace>(
    rules: &RuleSet,
    c: &Contract,
    n: u8,
    trace: &mut T,
    mut each: impl FnMut(&ContractMission, &MissionYear),
) -> Result<YearAmounts, EngineError> {
    let (start, end) = c.year_bounds(n).ok_or(EngineError::YearOutOfContract { year: n, years: c.years() })?;
    let cut = match c.terminated {
        Some(t) if t <= start => return Err(EngineError::YearAfterTermination { year: n, terminated: t }),
        Some(t) if t < end => t,
        _ => end,
    };
    let terminated_here = cut < end;
    // Day counts are only needed for partial years.
    let year_days =
        if terminated_here || c.missions.iter().any(|m| m.start.is_some_and(|s| s > start && s < end)) || T::ON {
            days_between(start, end)
        } else {
            0
        };
    let default_facts = YearFacts::default();
    let facts = c.facts(n).unwrap_or(&default_facts);
    let (population, side, _) = c.population_on(start);
    let tier = tier_of(rules, population, start, side, trace)?;
    if T::ON
        && let Some(on) = c.amendment_within(start, end)
    {
        trace.warn(|| Warning::AmendmentWithinYear { year: n, on });
    }

    // Operating allocation.
    let op_at = rules
        .params
        .operating_allocation
        .at(start)
        .ok_or(EngineError::NoRule { what: "dotation de fonctionnement", date: start })?;
    let op_annual = *op_at.entry.value.as_ref().and_then(|v| v.get(tier)).ok_or_else(|| EngineError::Unknown {
        what: format!("dotation de fonctionnement ({tier})"),
        date: start,
        help: "complétez les règles",
    })?;
    let op_prorata = Prorata {
        from: start,
        to: cut,
        days: if terminated_here { days_between(start, cut) } else { year_days },
        year_days,
    };
    let operating =
        if terminated_here { op_annual.mul_ratio(op_prorata.days.into(), year_days.into())? } else { op_annual };
    // Values are those in force on the year's first day; say so when they change within it.
    let changes_on = op_at.entry.meta.until.and_then(dates::day_after).filter(|d| *d < cut);
    if let Some(on) = changes_on {
        trace.warn(|| Warning::RuleChangesWithinYear { year: n, on });
    }
    trace.line(|| Line {
        year: n,
        component: Component::Operating,
        amount: operating,
        detail: Detail::Yearly { annual: op_annual, origin: EnvelopeOrigin::National, prorata: op_prorata, tier },
        params: Refs::one(national(ParamKey::operating_allocation, op_at.index).for_tier(tier)),
        // The grade of the tier's value: the 2019 allocation is official for some tiers only.
        flags: Flags {
            convention: terminated_here || changes_on.is_some(),
            ..flag_grade(op_at.entry.meta.grade_for(tier))
        },
    });

    let mut fixed_total = Cents::ZERO;
    let mut variable_total = Cents::ZERO;
    let mut activation_total = Cents::ZERO;
    let mut full_year_max = op_annual;
    let mut hypothesis = false;

    for cm in &c.missions {
        let Some(def) = rules.mission(cm.mission) else { continue };
        let mut my = MissionYear::default();
        let fixed_env = envelope(rules, cm, tier, start, Part::Fixed, trace)?;
        full_year_max = full_year_max.checked_add(fixed_env.amount)?;
        let var_env = if def.variable_part {
            let e = envelope(rules, cm, tier, start, Part::Variable, trace)?;
            full_year_max = full_year_max.checked_add(e.amount)?;
            Some(e)
        } else {
            None
        };

        let start_deadline = if T::ON { deadline(rules, c, cm.mission, MissionParam::StartDelay) } else { None };
        match (start_deadline, cm.start) {
            (Some((d, _)), Some(s)) if s > d => {
                trace.warn(|| Warning::LateStart { mission: cm.mission, start: s, deadline: d })
            }
            (Some((d, _)), None) if d < cut => {
                trace.warn(|| Warning::NotStartedPastDeadline { mission: cm.mission, deadline: d })
            }
            _ => {}
        }

        let active_from = cm.start.map(|s| s.max(start)).filter(|s| *s < cut);
        let Some(from) = active_from else {
            trace.line(|| Line {
                year: n,
                component: Component::Fixed(cm.mission),
                amount: Cents::ZERO,
                detail: Detail::NotStarted { deadline: start_deadline.map(|d| d.0) },
                params: start_deadline.map(|d| d.1).into(),
                flags: Flags::default(),
            });
            each(cm, &my);
            continue;
        };
        let full = from == start && cut == end;
        let prorata =
            Prorata { from, to: cut, days: if full { year_days } else { days_between(from, cut) }, year_days };
        let partial = !full;

        // Fixed part.
        my.fixed_annual = fixed_env.amount;
        my.fixed_from = Some(from);
        my.fixed =
            if partial { fixed_env.amount.mul_ratio(prorata.days.into(), year_days.into())? } else { fixed_env.amount };
        fixed_total = fixed_total.checked_add(my.fixed)?;
        trace.line(|| Line {
            year: n,
            component: Component::Fixed(cm.mission),
            amount: my.fixed,
            detail: Detail::Yearly { annual: fixed_env.amount, origin: fixed_env.origin, prorata, tier },
            params: fixed_env.param.into(),
            flags: Flags {
                contract_typed: fixed_env.origin.is_contract(),
                convention: terminated_here,
                ..Flags::default()
            },
        });

        // Variable part.
        if let Some(env) = var_env {
            let first = trace.indicators_len();
            let (amount, weighted) = variable_part(cm, n, facts.reported, env.amount, prorata, full, trace)?;
            let traces = first..trace.indicators_len();
            hypothesis |= !facts.reported && env.amount.get() > 0;
            my.variable = amount;
            variable_total = variable_total.checked_add(amount)?;
            trace.line(|| Line {
                year: n,
                component: Component::Variable(cm.mission),
                amount,
                detail: Detail::Variable {
                    envelope: env.amount,
                    origin: env.origin,
                    prorata,
                    achievement: Fraction::from_nano(
                        i64::try_from(weighted / i128::from(Fraction::DENOM)).unwrap_or(0),
                    ),
                    hypothesis: !facts.reported,
                    indicators: traces,
                },
                params: env.param.into(),
                flags: Flags {
                    contract_typed: env.origin.is_contract(),
                    convention: partial,
                    hypothesis: !facts.reported,
                    ..Flags::default()
                },
            });
        }

        // Crisis activation: due in full when a crisis was declared and the plan exists.
        if def.activation_part {
            let pays = facts.crisis_declared && facts.crisis_plan;
            let env = if pays { Some(envelope(rules, cm, tier, start, Part::Activation, trace)?) } else { None };
            my.activation = env.as_ref().map_or(Cents::ZERO, |e| e.amount);
            activation_total = activation_total.checked_add(my.activation)?;
            if facts.crisis_declared && !facts.crisis_plan {
                trace.warn(|| Warning::CrisisWithoutPlan { year: n });
            }
            trace.line(|| Line {
                year: n,
                component: Component::Activation(cm.mission),
                amount: my.activation,
                detail: Detail::Activation {
                    envelope: env.as_ref().map(|e| e.amount),
                    origin: env.as_ref().map_or(EnvelopeOrigin::Contract, |e| e.origin),
                    plan: facts.crisis_plan,
                    declared: facts.crisis_declared,
                },
                params: env.as_ref().and_then(|e| e.param).into(),
                flags: Flags {
                    contract_typed: env.as_ref().is_some_and(|e| e.origin.is_contract()),
                    convention: pays,
                    ..Flags::default()
                },
            });
        }
        each(cm, &my);
    }

    if T::ON {
        if hypothesis {
            trace.warn(|| Warning::Hypothesis { year: n });
        }
        for mission in crate::input::missing_socles(rules, c, start) {
            trace.warn(|| Warning::MissingSocle { mission, on: start });
        }
        match rules
            .params
            .max_total
            .at(start)
            .and_then(|m| m.entry.value.as_ref().and_then(|v| v.get(tier)).copied().flatten())
        {
            Some(max) if full_year_max > max => {
                trace.warn(|| Warning::AboveNationalMaximum { year: n, tier, total: full_year_max, maximum: max })
            }
            Some(_) => {}
            None => trace.warn(|| Warning::NationalMaximumUnknown { year: n, tier }),
        }
    }

    let total = Cents::sum([operating, fixed_total, variable_total, activation_total])?;
    Ok(YearAmounts {
        year: n,
        start,
        end,
        tier,
        operating,
        operating_annual: op_annual,
        fixed: fixed_total,
        variable: variable_total,
        activation: activation_total,
        total,
    })
}

/// The variable part: envelope × pro-rata × Σ weight × achievement, rounded once.
/// With a trace, each indicator's share is the difference of cumulative roundings,
/// so the shares add up to the amount exactly.
fn variable_part<T: Trace>(
    cm: &ContractMission,
    year: u8,
    reported: bool,
    envelope: Cents,
    prorata: Prorata,
    full: bool,
    trace: &mut T,
) -> Result<(Cents, i128), EngineError> {
    let weighted = if reported { cm.weighted_achievement(year) } else { NANO2 };
    let amount = match (weighted, full) {
        (0, _) => Cents::ZERO,
        (NANO2, true) => envelope,
        (w, true) => envelope.mul_ratio(w, NANO2)?,
        (w, false) => envelope.mul_ratio(i128::from(prorata.days) * w, i128::from(prorata.year_days) * NANO2)?,
    };
    if T::ON && reported {
        let (days, den) =
            if full { (1, NANO2) } else { (i128::from(prorata.days), i128::from(prorata.year_days) * NANO2) };
        let mut cumulative_w: i128 = 0;
        let mut paid_so_far = Cents::ZERO;
        for (i, o) in cm.objectives.iter().enumerate() {
            let target =
                o.target(year).ok_or_else(|| EngineError::MissingTarget { indicator: o.indicator.clone(), year })?;
            let achievement = o.achievement(year);
            cumulative_w += i128::from(o.weight.nano()) * i128::from(achievement.nano());
            // The last cumulative share is the amount itself: no need to round it again.
            let cumulative =
                if i + 1 == cm.objectives.len() { amount } else { envelope.mul_ratio(days * cumulative_w, den)? };
            let share = cumulative.checked_sub(paid_so_far)?;
            trace.indicator(|| IndicatorTrace {
                objective: u16::try_from(i).unwrap_or(u16::MAX),
                baseline: o.baseline,
                target,
                value: o.value(year),
                rule: o.rule,
                weight: o.weight,
                achievement,
                amount: share,
            });
            paid_so_far = cumulative;
        }
    }
    Ok((amount, weighted))
}
