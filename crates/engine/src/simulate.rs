//! Reform simulation: the same contracts under the rules in force and under a
//! reform, year by year, without explanations (batch speed).

use crate::compute::{EngineError, NoTrace, YearAmounts, compute_year};
use crate::contract::Contract;
use crate::money::{Cents, Overflow};
use crate::rules::{RuleSet, Tier};
use crate::schedule::lettre_intention_payment;

/// Sums over a contract's years, plus the lettre d'intention payment made before them: `total`
/// is the whole contract's entitlement, the same as its schedule's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub operating: Cents,
    pub fixed: Cents,
    pub variable: Cents,
    pub activation: Cents,
    /// The one-off payment at the validation of the lettre d'intention (outside the contract years).
    pub lettre_intention: Cents,
    pub total: Cents,
}

impl From<&YearAmounts> for Totals {
    fn from(y: &YearAmounts) -> Self {
        Totals {
            operating: y.operating,
            fixed: y.fixed,
            variable: y.variable,
            activation: y.activation,
            lettre_intention: Cents::ZERO,
            total: y.total,
        }
    }
}

impl Totals {
    pub fn sum(&mut self, o: &Totals) -> Result<(), Overflow> {
        self.operating = self.operating.checked_add(o.operating)?;
        self.fixed = self.fixed.checked_add(o.fixed)?;
        self.variable = self.variable.checked_add(o.variable)?;
        self.activation = self.activation.checked_add(o.activation)?;
        self.lettre_intention = self.lettre_intention.checked_add(o.lettre_intention)?;
        self.total = self.total.checked_add(o.total)?;
        Ok(())
    }

    pub fn minus(&self, o: &Totals) -> Result<Totals, Overflow> {
        Ok(Totals {
            operating: self.operating.checked_sub(o.operating)?,
            fixed: self.fixed.checked_sub(o.fixed)?,
            variable: self.variable.checked_sub(o.variable)?,
            activation: self.activation.checked_sub(o.activation)?,
            lettre_intention: self.lettre_intention.checked_sub(o.lettre_intention)?,
            total: self.total.checked_sub(o.total)?,
        })
    }
}

/// One contract under both rule sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseDiff {
    pub name: String,
    pub baseline: Totals,
    pub reform: Totals,
    pub diff: Totals,
    /// Years whose tier differs: (year, baseline tier, reform tier).
    pub tier_changes: Vec<(u8, Tier, Tier)>,
}

/// Result of a simulation over several contracts.
#[derive(Clone, Debug, Default)]
pub struct Simulation {
    pub cases: Vec<Result<CaseDiff, (String, EngineError)>>,
    pub baseline: Totals,
    pub reform: Totals,
    pub diff: Totals,
}

fn totals(rules: &RuleSet, c: &Contract, tiers: &mut Vec<Tier>) -> Result<Totals, EngineError> {
    let mut t = Totals::default();
    for n in 1..=c.last_year() {
        let y = compute_year(rules, c, n, &mut NoTrace)?;
        tiers.push(y.tier);
        t.sum(&Totals::from(&y))?;
    }
    if let Some(p) = lettre_intention_payment(rules, c, &mut NoTrace)? {
        t.sum(&Totals { lettre_intention: p.amount, total: p.amount, ..Totals::default() })?;
    }
    Ok(t)
}

/// Compare every contract's whole-contract entitlements under `baseline` and `reform`.
pub fn simulate(baseline: &RuleSet, reform: &RuleSet, contracts: &[Contract]) -> Result<Simulation, Overflow> {
    let mut sim = Simulation::default();
    let (mut bt, mut rt) = (Vec::new(), Vec::new());
    for c in contracts {
        bt.clear();
        rt.clear();
        let pair = totals(baseline, c, &mut bt).and_then(|b| Ok((b, totals(reform, c, &mut rt)?)));
        match pair {
            Ok((b, r)) => {
                let diff = r.minus(&b)?;
                sim.baseline.sum(&b)?;
                sim.reform.sum(&r)?;
                let tier_changes =
                    bt.iter().zip(&rt).zip(1u8..).filter(|((a, b), _)| a != b).map(|((a, b), n)| (n, *a, *b)).collect();
                sim.cases.push(Ok(CaseDiff { name: c.name.clone(), baseline: b, reform: r, diff, tier_changes }));
            }
            Err(e) => sim.cases.push(Err((c.name.clone(), e))),
        }
    }
    sim.diff = sim.reform.minus(&sim.baseline)?;
    Ok(sim)
}
