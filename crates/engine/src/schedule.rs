//! The dated payment schedule of a whole contract, from the yearly entitlements.
//!
//! Payments follow the ACI (art. 9) and the model contract (art. 6): the first
//! year's operating allocation in full at signature; later years 75 % at the
//! anniversary that opens them; each mission's fixed part 75 % from its start,
//! pro-rated to the next anniversary; balances (and the variable part) at the
//! anniversary that closes the year; on termination, the year is settled on
//! the termination date and any excess advance is to be repaid.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::compute::{EngineError, MissionYear, Trace, YearAmounts, tier_of, year_core};
use crate::contract::Contract;
use crate::dates::{days_between, fr};
use crate::explain::{Component, Detail, Flags, Line, Prorata};
use crate::money::Cents;
use crate::rate::Fraction;
use crate::rules::{BoundarySide, MissionIdx, ParamId, ParamKey, ParamRef, Refs, RuleSet};

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PaymentKind {
    /// Paid once, before the contract (lettre d'intention).
    OneOff,
    /// First year's operating allocation, in full at signature.
    Full,
    Advance,
    Balance,
    /// Balance due to the CPTS on termination.
    Settlement,
    /// Excess advance to repay on termination (negative amount).
    Repayment,
}

impl PaymentKind {
    pub const ALL: [PaymentKind; 6] = [
        PaymentKind::OneOff,
        PaymentKind::Full,
        PaymentKind::Advance,
        PaymentKind::Balance,
        PaymentKind::Settlement,
        PaymentKind::Repayment,
    ];

    /// Stable code (as in the JSON output).
    pub fn code(self) -> &'static str {
        match self {
            PaymentKind::OneOff => "one_off",
            PaymentKind::Full => "full",
            PaymentKind::Advance => "advance",
            PaymentKind::Balance => "balance",
            PaymentKind::Settlement => "settlement",
            PaymentKind::Repayment => "repayment",
        }
    }

    pub fn from_code(s: &str) -> Option<PaymentKind> {
        PaymentKind::ALL.into_iter().find(|k| k.code() == s)
    }

    /// Settles a year (entitlement minus what was advanced), as opposed to paying ahead.
    pub fn settles(self) -> bool {
        matches!(self, PaymentKind::Balance | PaymentKind::Settlement | PaymentKind::Repayment)
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            PaymentKind::OneOff => "versement unique",
            PaymentKind::Full => "versement intégral",
            PaymentKind::Advance => "avance",
            PaymentKind::Balance => "solde",
            PaymentKind::Settlement => "solde de résiliation",
            PaymentKind::Repayment => "à reverser",
        }
    }
}

/// The numbers a payment was computed from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Basis {
    OneOff,
    Full {
        annual: Cents,
    },
    Advance {
        annual: Cents,
        rate: Fraction,
        prorata: Prorata,
    },
    /// Entitlement of the year minus what was advanced.
    Settle {
        entitlement: Cents,
        advanced: Cents,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub date: Date,
    /// Contract year the money belongs to (0 before the contract).
    pub year: u8,
    pub component: Component,
    pub kind: PaymentKind,
    /// Negative for a repayment.
    pub amount: Cents,
    pub basis: Basis,
}

impl Payment {
    /// The computation in words, in French.
    pub fn text(&self) -> String {
        match self.basis {
            Basis::OneOff => "Montant fixé par l'avenant 2 pour la taille de la CPTS.".into(),
            Basis::Full { annual } => {
                format!(
                    "Dotation de fonctionnement de la 1re année ({annual}) versée en entier à la signature, avant le démarrage des missions."
                )
            }
            Basis::Advance { annual, rate, prorata } => {
                let mut s = format!("Avance de {rate} × {annual} par an");
                if !prorata.is_full() {
                    s.push_str(&format!(
                        " × {}/{} jours (du démarrage le {} à l'anniversaire du {})",
                        prorata.days,
                        prorata.year_days,
                        fr(prorata.from),
                        fr(prorata.to)
                    ));
                }
                s.push_str(&format!(" = {}.", self.amount));
                s
            }
            Basis::Settle { entitlement, advanced } => match self.kind {
                PaymentKind::Repayment => format!(
                    "Résiliation : droit de l'année {entitlement} − déjà versé {advanced} = {} à reverser.",
                    self.amount
                ),
                _ => format!("Droit de l'année {entitlement} − déjà versé {advanced} = {}.", self.amount),
            },
        }
    }
}

/// A contract's schedule and the yearly entitlements it pays.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub payments: Vec<Payment>,
    pub years: Vec<YearAmounts>,
    pub lettre_intention: Cents,
    pub total_entitlement: Cents,
    /// Sum of all payments (repayments counted negative): equals `total_entitlement`.
    pub total_paid: Cents,
    /// Sum of repayments, as a positive amount.
    pub repaid: Cents,
}

/// Build the schedule of a whole contract (up to its termination, if any).
pub fn schedule<T: Trace>(rules: &RuleSet, c: &Contract, trace: &mut T) -> Result<Schedule, EngineError> {
    let rate_at = rules
        .params
        .advance_rate
        .at(c.signed)
        .ok_or(EngineError::NoRule { what: "taux des avances", date: c.signed })?;
    let rate = rate_at.entry.value.map(|p| p.0).ok_or_else(|| EngineError::Unknown {
        what: "taux des avances".into(),
        date: c.signed,
        help: "complétez les règles",
    })?;
    let mut payments = Vec::new();
    let lettre_intention = match lettre_intention_payment(rules, c, trace)? {
        Some(p) => {
            let amount = p.amount;
            payments.push(p);
            amount
        }
        None => Cents::ZERO,
    };

    let mut years = Vec::new();
    for n in 1..=c.last_year() {
        let mut missions: Vec<(MissionIdx, MissionYear)> = Vec::new();
        let y = year_core(rules, c, n, trace, |cm, my| missions.push((cm.mission, *my)))?;
        let close = c.terminated.filter(|t| *t < y.end).unwrap_or(y.end);
        let terminated = close < y.end;
        let year_days = days_between(y.start, y.end);

        // Operating allocation: in full at signature for year 1, else an advance.
        let op_annual = y.operating_annual;
        let op_paid = if n == 1 {
            payments.push(Payment {
                date: y.start,
                year: n,
                component: Component::Operating,
                kind: PaymentKind::Full,
                amount: op_annual,
                basis: Basis::Full { annual: op_annual },
            });
            op_annual
        } else {
            let full = Prorata { from: y.start, to: y.end, days: year_days, year_days };
            advance(&mut payments, n, Component::Operating, op_annual, rate, full)?
        };
        settle(&mut payments, n, Component::Operating, close, terminated, y.operating, op_paid)?;

        for (m, my) in &missions {
            let Some(from) = my.fixed_from else { continue };
            let prorata = Prorata { from, to: y.end, days: days_between(from, y.end), year_days };
            let paid = advance(&mut payments, n, Component::Fixed(*m), my.fixed_annual, rate, prorata)?;
            settle(&mut payments, n, Component::Fixed(*m), close, terminated, my.fixed, paid)?;
            settle(&mut payments, n, Component::Variable(*m), close, terminated, my.variable, Cents::ZERO)?;
            settle(&mut payments, n, Component::Activation(*m), close, terminated, my.activation, Cents::ZERO)?;
        }
        years.push(y);
    }
    payments.sort_by_key(|a| (a.date, a.year, a.component, a.kind));

    let total_entitlement = Cents::sum(years.iter().map(|y| y.total))?.checked_add(lettre_intention)?;
    let total_paid = Cents::sum(payments.iter().map(|p| p.amount))?;
    let repaid = Cents::ZERO.checked_sub(Cents::sum(payments.iter().map(|p| p.amount).filter(|a| a.is_negative()))?)?;
    Ok(Schedule { payments, years, lettre_intention, total_entitlement, total_paid, repaid })
}

fn advance(
    payments: &mut Vec<Payment>,
    year: u8,
    component: Component,
    annual: Cents,
    rate: Fraction,
    prorata: Prorata,
) -> Result<Cents, EngineError> {
    let amount = annual.mul_ratio(
        i128::from(rate.nano()) * i128::from(prorata.days),
        i128::from(Fraction::DENOM) * i128::from(prorata.year_days),
    )?;
    if amount != Cents::ZERO {
        payments.push(Payment {
            date: prorata.from,
            year,
            component,
            kind: PaymentKind::Advance,
            amount,
            basis: Basis::Advance { annual, rate, prorata },
        });
    }
    Ok(amount)
}

fn settle(
    payments: &mut Vec<Payment>,
    year: u8,
    component: Component,
    date: Date,
    terminated: bool,
    entitlement: Cents,
    advanced: Cents,
) -> Result<(), EngineError> {
    let amount = entitlement.checked_sub(advanced)?;
    let kind = match (terminated, amount.is_negative()) {
        (_, true) => PaymentKind::Repayment,
        (true, false) => PaymentKind::Settlement,
        (false, false) => PaymentKind::Balance,
    };
    if amount != Cents::ZERO {
        payments.push(Payment { date, year, component, kind, amount, basis: Basis::Settle { entitlement, advanced } });
    }
    Ok(())
}

/// The one-off payment at the ARS's validation of the lettre d'intention (avenant 2), if the
/// contract has one: paid before the contract, outside its years, and part of every total of
/// the contract's entitlement (schedule, yearly table, simulation), always shown as its own line.
pub fn lettre_intention_payment<T: Trace>(
    rules: &RuleSet,
    c: &Contract,
    trace: &mut T,
) -> Result<Option<Payment>, EngineError> {
    let Some(date) = c.lettre_intention else { return Ok(None) };
    lettre_intention_amount(rules, c.population, date, c.tier_at_boundary, trace)
}

/// The payment due when the ARS validates the lettre d'intention on `date`, for a CPTS of
/// `population` (its tier on that date); None before avenant 2 created it. The same amount
/// whether it is known at the validation (from the territory) or at the signature (the annex).
pub fn lettre_intention_amount<T: Trace>(
    rules: &RuleSet,
    population: u64,
    date: Date,
    side: Option<BoundarySide>,
    trace: &mut T,
) -> Result<Option<Payment>, EngineError> {
    // Before avenant 2 the payment did not exist: nothing is due.
    let Some(at) = rules.params.lettre_intention_payment.at(date) else { return Ok(None) };
    let tier = tier_of(rules, population, date, side, trace)?;
    let amount = *at.entry.value.as_ref().and_then(|v| v.get(tier)).ok_or_else(|| EngineError::Unknown {
        what: format!("versement à la validation de la lettre d'intention ({tier})"),
        date,
        help: "complétez les règles",
    })?;
    trace.line(|| Line {
        year: 0,
        component: Component::LettreIntention,
        amount,
        detail: Detail::OneOff { date, tier },
        params: Refs::one(ParamRef::new(ParamId::National(ParamKey::lettre_intention_payment), at.index).for_tier(tier)),
        flags: Flags { secondary: at.entry.meta.grade_for(tier) == crate::rules::Grade::S, ..Flags::default() },
    });
    Ok(Some(Payment {
        date,
        year: 0,
        component: Component::LettreIntention,
        kind: PaymentKind::OneOff,
        amount,
        basis: Basis::OneOff,
    }))
}
