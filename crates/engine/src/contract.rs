//! A signed ACI contract and its yearly facts, validated: what the engine computes on.

use jiff::civil::Date;

use crate::money::Cents;
use crate::rate::{Dec, Fraction};
use crate::rules::{BoundarySide, MissionIdx};

/// How an indicator's result turns into an achievement rate.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PayoutRule {
    /// Proportional from the baseline to the target, capped at 100 %.
    Linear,
    /// Proportional, but nothing below `floor` of the way to the target.
    Threshold { floor: Fraction },
    /// 100 % when the target is reached, else 0 %.
    AllOrNothing,
}

impl PayoutRule {
    pub fn label_fr(&self) -> String {
        match self {
            PayoutRule::Linear => "linéaire jusqu'à la cible".into(),
            PayoutRule::Threshold { floor } => format!("linéaire au-delà d'un seuil de {floor}"),
            PayoutRule::AllOrNothing => "tout ou rien".into(),
        }
    }

    /// Achievement for a progress ratio (`num/den` of the way from baseline to target).
    pub fn achievement(&self, num: i128, den: i128) -> Fraction {
        let progress = Fraction::ratio_capped(num, den);
        match self {
            PayoutRule::Linear => progress,
            PayoutRule::Threshold { floor } => {
                if progress >= *floor {
                    progress
                } else {
                    Fraction::ZERO
                }
            }
            PayoutRule::AllOrNothing => {
                if progress == Fraction::ONE {
                    Fraction::ONE
                } else {
                    Fraction::ZERO
                }
            }
        }
    }
}

/// One objective of a mission: an indicator with its target(s), weight and rule,
/// and the values observed each contract year.
#[derive(Clone, Debug)]
pub struct Objective {
    pub indicator: String,
    pub label: Option<String>,
    pub baseline: Dec,
    /// One target per contract year (index 0 = year 1).
    pub targets: Vec<Dec>,
    /// Share of the mission's variable envelope (the weights of a mission add up to 1).
    pub weight: Fraction,
    pub rule: PayoutRule,
    /// Observed value per contract year, `None` until reported.
    pub values: Vec<Option<Dec>>,
    /// Achievement per contract year, derived from the values by `Contract::refresh`.
    pub achieved: Vec<Fraction>,
}

impl Objective {
    pub fn target(&self, year: u8) -> Option<Dec> {
        usize::from(year).checked_sub(1).and_then(|i| self.targets.get(i)).copied()
    }

    pub fn value(&self, year: u8) -> Option<Dec> {
        usize::from(year).checked_sub(1).and_then(|i| self.values.get(i)).copied().flatten()
    }

    pub fn achievement(&self, year: u8) -> Fraction {
        usize::from(year).checked_sub(1).and_then(|i| self.achieved.get(i)).copied().unwrap_or(Fraction::ZERO)
    }

    /// The payout rule applied to year `year`'s value (0 when not reported).
    fn compute(&self, year: u8) -> Fraction {
        match (self.value(year), self.target(year)) {
            (Some(v), Some(t)) => {
                let base = self.baseline.to_nano_units();
                self.rule.achievement(v.to_nano_units() - base, t.to_nano_units() - base)
            }
            _ => Fraction::ZERO,
        }
    }
}

/// A mission as written in the contract.
#[derive(Clone, Debug)]
pub struct ContractMission {
    pub mission: MissionIdx,
    /// Actual start date, once the mission has started.
    pub start: Option<Date>,
    /// Yearly envelopes typed from the signed contract (`None`: take the national grid).
    pub fixed: Option<Cents>,
    pub variable: Option<Cents>,
    pub activation: Option<Cents>,
    pub objectives: Vec<Objective>,
    /// Envelopes changed by contract amendments, by effective date (ascending).
    pub amended: Vec<EnvelopeChange>,
    /// Σ weight × achievement per contract year, in 10⁻¹⁸ (derived by `Contract::refresh`).
    pub weighted: Vec<i128>,
}

/// A mission's envelopes as changed by an amendment (`None`: unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeChange {
    pub effective: Date,
    pub fixed: Option<Cents>,
    pub variable: Option<Cents>,
    pub activation: Option<Cents>,
}

/// A contract amendment (avenant au contrat) changing the population covered, hence
/// possibly the tier. Envelope changes are kept on each mission (`ContractMission::amended`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PopulationChange {
    pub effective: Date,
    pub population: u64,
    pub tier_at_boundary: Option<BoundarySide>,
}

/// Which envelope of a mission.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Fixed,
    Variable,
    Activation,
}

impl ContractMission {
    /// The envelope written in the contract for a year starting on `year_start`: the signed
    /// figure, or the last amendment effective on or before that day (convention cpts: a
    /// year keeps the terms of its first day, as for the national rules).
    pub fn envelope_on(&self, part: Part, year_start: Date) -> (Option<Cents>, Option<Date>) {
        let pick = |c: &EnvelopeChange| match part {
            Part::Fixed => c.fixed,
            Part::Variable => c.variable,
            Part::Activation => c.activation,
        };
        let amended =
            self.amended.iter().rev().filter(|c| c.effective <= year_start).find_map(|c| Some((pick(c)?, c.effective)));
        match amended {
            Some((v, on)) => (Some(v), Some(on)),
            None => (
                match part {
                    Part::Fixed => self.fixed,
                    Part::Variable => self.variable,
                    Part::Activation => self.activation,
                },
                None,
            ),
        }
    }

    pub fn weighted_achievement(&self, year: u8) -> i128 {
        usize::from(year).checked_sub(1).and_then(|i| self.weighted.get(i)).copied().unwrap_or(0)
    }
}

/// Facts of one contract year.
#[derive(Clone, Debug, Default)]
pub struct YearFacts {
    /// Whether the year's results were given (else the variable part is a 100 % hypothesis).
    pub reported: bool,
    /// Crisis plan written (year 1) or updated (later years).
    pub crisis_plan: bool,
    /// A crisis declared by the authorities during the year.
    pub crisis_declared: bool,
}

/// A validated contract.
#[derive(Clone, Debug)]
pub struct Contract {
    pub name: String,
    pub signed: Date,
    /// `anniversaries[0]` = signature, `anniversaries[n]` = end of year n.
    pub anniversaries: Vec<Date>,
    pub population: u64,
    pub population_source: Option<String>,
    pub tier_at_boundary: Option<BoundarySide>,
    /// Population amendments, by effective date (ascending).
    pub population_changes: Vec<PopulationChange>,
    pub lettre_intention: Option<Date>,
    pub missions: Vec<ContractMission>,
    pub terminated: Option<Date>,
    /// Index 0 = year 1.
    pub years: Vec<YearFacts>,
}

impl Contract {
    /// Derive each indicator's achievement and each mission's weighted achievement
    /// from the values. They depend on the contract only (not on the ACI rules), so
    /// they are computed once when values change, not in every computation.
    pub fn refresh(&mut self) {
        let years = self.years();
        for m in &mut self.missions {
            m.weighted.clear();
            for o in &mut m.objectives {
                o.achieved = (1..=years).map(|y| o.compute(y)).collect();
            }
            for y in 1..=years {
                let w = m
                    .objectives
                    .iter()
                    .map(|o| i128::from(o.weight.nano()) * i128::from(o.achievement(y).nano()))
                    .sum();
                m.weighted.push(w);
            }
        }
    }

    /// Population and boundary side for a year starting on `year_start`, with the
    /// effective date of the amendment that set them (same convention as envelopes).
    pub fn population_on(&self, year_start: Date) -> (u64, Option<BoundarySide>, Option<Date>) {
        match self.population_changes.iter().rev().find(|c| c.effective <= year_start) {
            Some(c) => (c.population, c.tier_at_boundary.or(self.tier_at_boundary), Some(c.effective)),
            None => (self.population, self.tier_at_boundary, None),
        }
    }

    /// The first amendment taking effect strictly inside (start, end): its terms only apply from the next year.
    pub fn amendment_within(&self, start: Date, end: Date) -> Option<Date> {
        let inside = |d: Date| d > start && d < end;
        self.population_changes
            .iter()
            .map(|c| c.effective)
            .chain(self.missions.iter().flat_map(|m| m.amended.iter().map(|c| c.effective)))
            .filter(|d| inside(*d))
            .min()
    }

    pub fn years(&self) -> u8 {
        u8::try_from(self.anniversaries.len().saturating_sub(1)).unwrap_or(u8::MAX)
    }

    /// First day and end (exclusive) of contract year `n` (1-based).
    pub fn year_bounds(&self, n: u8) -> Option<(Date, Date)> {
        let i = usize::from(n);
        Some((*self.anniversaries.get(i.checked_sub(1)?)?, *self.anniversaries.get(i)?))
    }

    pub fn facts(&self, n: u8) -> Option<&YearFacts> {
        usize::from(n).checked_sub(1).and_then(|i| self.years.get(i))
    }

    /// The contract year containing `d`, if within the contract.
    pub fn year_of(&self, d: Date) -> Option<u8> {
        (1..=self.years()).find(|n| self.year_bounds(*n).is_some_and(|(a, b)| a <= d && d < b))
    }

    /// Last contract year with entitlements: the one holding the day before the
    /// termination (a termination on an anniversary closes the year before), or the last.
    pub fn last_year(&self) -> u8 {
        self.terminated.and_then(crate::dates::day_before).and_then(|d| self.year_of(d)).unwrap_or(self.years())
    }
}
