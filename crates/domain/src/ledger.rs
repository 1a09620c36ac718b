//! The money ledger of a CPTS: dated lines from every funder with a status. ACI lines are
//! generated from the engine's schedule and reconciled with what was already paid whenever
//! the contract changes; other funders' lines come from their conventions.
//!
//! Invariant (property-tested): for each contract year and component, the live lines add up
//! to the engine's entitlement; paid amounts are never touched, differences go to the last
//! line (balance, or a line to repay).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;

use cpts_engine::compute::EngineError;
use cpts_engine::contract::Contract;
use cpts_engine::dates::fr;
use cpts_engine::explain::{Component, Explanation};
use cpts_engine::money::Cents;
use cpts_engine::rules::RuleSet;
use cpts_engine::schedule::{PaymentKind, schedule};

use crate::text::{self, Kind};

/// A line's status, derived on a date.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Planned,
    Due,
    Paid,
    Cancelled,
    ToRepay,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Planned => "prévu",
            Status::Due => "exigible",
            Status::Paid => "payé",
            Status::Cancelled => "annulé",
            Status::ToRepay => "à reverser",
        }
    }
}

/// Where a line comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A payment of an ACI contract's schedule.
    Aci { contract: i64, year: u8, component: String, kind: PaymentKind },
    /// An installment of another funder's convention.
    Convention { convention: i64, installment: u32 },
}

/// A line to insert (its amount is what the funder owes; negative: the CPTS owes it back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub source: Source,
    pub funder: String,
    pub due: Date,
    pub amount: Cents,
    /// The engine's explanation of the amount, in French.
    pub explanation: String,
}

impl Planned {
    /// The ACI report year whose validation fixes this line's amount (balances, settlements,
    /// variable parts and crisis activations are all paid as balances or settlements).
    pub fn gated_by(&self) -> Option<(i64, u8)> {
        match &self.source {
            Source::Aci { contract, year, kind: PaymentKind::Balance | PaymentKind::Settlement, .. } => {
                Some((*contract, *year))
            }
            _ => None,
        }
    }

    /// The report year (contract, year) that holds this line back until it is validated:
    /// before that, the line is neither due nor announced (`Line::status`, `Line::waiting_for`).
    /// A line the CPTS must repay is claimed whatever its gate: held by nothing. Stored with
    /// the line, so that national reads leave out in the database the lines still waiting for
    /// a report no one validated.
    pub fn held_by(&self) -> Option<(i64, u8)> {
        if self.amount.is_negative() { None } else { self.gated_by() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    pub planned: Planned,
    /// Paid so far, with the sign of the amount (a repayment received is negative).
    pub paid: Cents,
    pub cancelled: Option<Date>,
}

/// What gates a line beyond its date.
#[derive(Clone, Debug, Default)]
pub struct Gates {
    /// ACI contract years whose activity report is validated (contract seq, year), with the
    /// validation date: a balance is fixed, so payable, from that day on.
    pub released: BTreeMap<(i64, u8), Date>,
    /// Contract years whose indicator results are known (else the variable part is a hypothesis).
    pub reported: BTreeSet<(i64, u8)>,
}

impl Gates {
    /// The year's report was validated on or before `on`.
    pub fn released_on(&self, contract: i64, year: u8, on: Date) -> bool {
        self.released.get(&(contract, year)).is_some_and(|d| *d <= on)
    }
}

/// A payment as the funder made it: on which line, how much, when, who paid and the
/// transfer's reference. Once decided, `amount` carries the line's sign (a repayment is negative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub line: i64,
    pub amount: Cents,
    pub on: Date,
    /// Who paid (the funder's agent or service; for a repayment, the CPTS).
    pub by: String,
    /// The bank transfer's reference, when known.
    pub reference: Option<String>,
}

/// A ledger as it stood at the end of `on`: what was paid after is not paid yet, a line
/// cancelled after is still live, and the lines of a contract signed after (`signed_after`
/// says which contract numbers) did not exist. Lines and payments keep their order.
pub fn as_of(lines: &[Line], payments: &[Payment], on: Date, signed_after: impl Fn(i64) -> bool) -> (Vec<Line>, Vec<Payment>) {
    let payments: Vec<Payment> = payments.iter().filter(|p| p.on <= on).cloned().collect();
    let lines = lines
        .iter()
        .filter(|l| !matches!(l.planned.source, Source::Aci { contract, .. } if signed_after(contract)))
        .map(|l| Line {
            paid: Cents::sum(payments.iter().filter(|p| p.line == l.id).map(|p| p.amount)).unwrap_or(l.paid),
            cancelled: l.cancelled.filter(|c| *c <= on),
            ..l.clone()
        })
        .collect();
    (lines, payments)
}

impl Payment {
    /// Paid before the line's due date (allowed for a line whose amount is fixed; shown).
    pub fn early(&self, line: &Line) -> bool {
        self.on < line.planned.due
    }
}

impl Line {
    pub fn remaining(&self) -> Cents {
        Cents::new(self.planned.amount.get().saturating_sub(self.paid.get()))
    }

    /// The ACI report year whose validation fixes this line's amount (balances, settlements,
    /// variable parts and crisis activations are all paid as balances or settlements).
    pub fn gated_by(&self) -> Option<(i64, u8)> {
        self.planned.gated_by()
    }

    /// Why the line is not due yet on `on` (None: due, if its date has come).
    pub fn waiting_for(&self, gates: &Gates, on: Date) -> Option<String> {
        let Source::Aci { contract, year, component, .. } = &self.planned.source else { return None };
        if self.gated_by().is_some() && !gates.released_on(*contract, *year, on) {
            return Some(format!("rapport d'activité de l'année {year} à valider"));
        }
        let results = component.ends_with(".variable");
        if results && !gates.reported.contains(&(*contract, *year)) {
            return Some(format!("résultats des indicateurs de l'année {year} à saisir"));
        }
        None
    }

    /// The report year (contract, year) whose validation still holds the line back on `on`.
    pub fn held_on(&self, gates: &Gates, on: Date) -> Option<(i64, u8)> {
        if self.status(on, gates) != Status::Planned {
            return None;
        }
        self.planned.held_by().filter(|(c, y)| !gates.released_on(*c, *y, on))
    }

    pub fn status(&self, today: Date, gates: &Gates) -> Status {
        if self.cancelled.is_some() {
            return Status::Cancelled;
        }
        if self.paid == self.planned.amount {
            return Status::Paid;
        }
        if self.planned.amount.is_negative() {
            return Status::ToRepay;
        }
        if self.planned.due <= today && self.waiting_for(gates, today).is_none() { Status::Due } else { Status::Planned }
    }

    /// Decide a payment on this line (a positive amount; for a line to repay, the amount
    /// repaid). Returns the payment to record, its amount signed like the line's.
    ///
    /// Rules (rules/aci/README.md, « Conventions »): a balance is paid only once the report
    /// that fixes it is validated, and not dated before that validation; a payment before the
    /// due date is accepted for any other line (its amount is fixed: the ledger records what
    /// the funder did); an ACI line is paid in one transfer, while a convention's installment
    /// and a repayment may come in parts.
    pub fn pay(&self, p: &Payment, today: Date, gates: &Gates) -> Result<Payment, String> {
        text::check("payé par", &p.by, Kind::Name)?;
        if p.by.trim().is_empty() {
            return Err("payeur manquant : qui a fait le virement (service ou agent du financeur) ?".into());
        }
        text::check_opt("référence du virement", p.reference.as_deref(), Kind::Line)?;
        if p.line != self.id {
            return Err(format!("paiement de la ligne n° {} présenté sur la ligne n° {}", p.line, self.id));
        }
        let (amount, on) = (p.amount, p.on);
        if self.cancelled.is_some() {
            return Err("ligne annulée : aucun paiement possible".into());
        }
        if self.paid == self.planned.amount {
            return Err("ligne déjà entièrement réglée".into());
        }
        if amount.get() <= 0 {
            return Err(format!("montant {amount} : attendu un montant positif"));
        }
        if on > today {
            return Err(format!("paiement daté du {} dans le futur", fr(on)));
        }
        let remaining = self.remaining();
        let signed = if self.planned.amount.is_negative() { Cents::new(-amount.get()) } else { amount };
        if signed.get().unsigned_abs() > remaining.get().unsigned_abs() {
            return Err(format!("paiement de {amount} supérieur au reste dû ({})", Cents::new(remaining.get().abs())));
        }
        if let Some((contract, year)) = self.gated_by() {
            match gates.released.get(&(contract, year)) {
                None => {
                    return Err(format!(
                        "ligne non exigible : ce solde est fixé par le rapport d'activité de l'année {year}, pas encore validé"
                    ));
                }
                Some(v) if on < *v => {
                    return Err(format!(
                        "paiement daté du {} avant la validation du rapport d'activité de l'année {year} le {} : ce solde n'était pas encore fixé",
                        fr(on),
                        fr(*v)
                    ));
                }
                Some(_) => {}
            }
        }
        if !self.planned.amount.is_negative() {
            if let Some(w) = self.waiting_for(gates, today) {
                return Err(format!("ligne non exigible : {w}"));
            }
            if matches!(self.planned.source, Source::Aci { .. }) && signed != remaining {
                return Err(format!(
                    "paiement partiel de {amount} refusé : une ligne ACI se règle en une fois, pour son montant ({remaining}) \
                     (convention cpts : un versement partiel ne pourrait pas être rapproché lors d'un recalcul de l'échéancier) ; \
                     seuls les versements des conventions et les remboursements peuvent être fractionnés"
                ));
            }
        }
        Ok(Payment {
            line: self.id,
            amount: signed,
            on,
            by: p.by.trim().to_string(),
            reference: p.reference.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string),
        })
    }
}

/// The funder of ACI money.
pub fn aci_funder(cpam: &str) -> String {
    format!("{cpam} — ACI")
}

/// The ACI lines of a contract, from the engine's schedule, each with its explanation.
pub fn aci_plan(rules: &RuleSet, c: &Contract, seq: i64, cpam: &str) -> Result<Vec<Planned>, EngineError> {
    let mut ex = Explanation::default();
    let s = schedule(rules, c, &mut ex)?;
    let funder = aci_funder(cpam);
    Ok(s.payments
        .iter()
        .map(|p| {
            let mut explanation = p.text();
            // The year's computation of the component, for lines that settle it.
            if p.kind.settles() {
                for l in ex.lines.iter().filter(|l| l.year == p.year && l.component == p.component) {
                    explanation.push('\n');
                    explanation.push_str(&l.text(c, &ex));
                }
            }
            planned(rules, seq, &funder, p, explanation)
        })
        .collect())
}

fn planned(rules: &RuleSet, seq: i64, funder: &str, p: &cpts_engine::schedule::Payment, explanation: String) -> Planned {
    Planned {
        source: Source::Aci { contract: seq, year: p.year, component: p.component.code(rules), kind: p.kind },
        funder: funder.to_string(),
        due: p.date,
        amount: p.amount,
        explanation,
    }
}

/// The lettre d'intention line of contract `seq` (to come), written when the ARS validates the
/// letter: the same line the contract's plan holds, so signing finds it already there.
pub fn lettre_line(rules: &RuleSet, seq: i64, cpam: &str, p: &cpts_engine::schedule::Payment) -> Planned {
    planned(rules, seq, &aci_funder(cpam), p, p.text())
}

/// Is this the lettre d'intention line of contract `seq`?
pub fn is_lettre_line(rules: &RuleSet, seq: i64, p: &Planned) -> bool {
    matches!(&p.source, Source::Aci { contract, year: 0, component, .. }
        if *contract == seq && *component == cpts_engine::explain::Component::LettreIntention.code(rules))
}

/// Changes that bring a contract's live lines in line with a new plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub cancel: Vec<i64>,
    pub insert: Vec<Planned>,
}

fn key(p: &Planned) -> Option<(u8, &str)> {
    match &p.source {
        Source::Aci { year, component, .. } => Some((*year, component.as_str())),
        Source::Convention { .. } => None,
    }
}

fn kind(p: &Planned) -> Option<PaymentKind> {
    match &p.source {
        Source::Aci { kind, .. } => Some(*kind),
        Source::Convention { .. } => None,
    }
}

fn settles(k: Option<PaymentKind>) -> bool {
    k.is_some_and(PaymentKind::settles)
}

/// Reconcile a contract's live (not cancelled) lines with the engine's new plan.
///
/// Per (year, component): lines with a payment stay as they are; an unpaid line identical to
/// a planned one stays; other unpaid lines are cancelled; planned lines of a kind already
/// paid are dropped; the last settling line takes whatever makes the group add up to the
/// entitlement (a line to repay when negative). `today` dates adjustments with no planned date.
pub fn reconcile(live: &[Line], plan: &[Planned], terminated: bool, today: Date) -> Result<Changes, String> {
    type Group<'a> = (Vec<&'a Line>, Vec<&'a Planned>);
    let mut groups: BTreeMap<(u8, String), Group> = BTreeMap::new();
    for l in live.iter().filter(|l| l.cancelled.is_none()) {
        let k = key(&l.planned).ok_or("ligne de convention dans un rapprochement ACI")?;
        groups.entry((k.0, k.1.to_string())).or_default().0.push(l);
    }
    for p in plan {
        let k = key(p).ok_or("ligne de convention dans un plan ACI")?;
        groups.entry((k.0, k.1.to_string())).or_default().1.push(p);
    }
    let mut out = Changes::default();
    for ((year, component), (lines, planned)) in groups {
        let entitlement = Cents::sum(planned.iter().map(|p| p.amount)).map_err(|e| e.to_string())?;
        let frozen: Vec<&Line> = lines.iter().copied().filter(|l| l.paid != Cents::ZERO).collect();
        let frozen_kinds: BTreeSet<PaymentKind> = frozen.iter().filter_map(|l| kind(&l.planned)).collect();
        // Planned lines still to come: a kind already paid is not paid twice.
        let mut wanted: Vec<Planned> = planned
            .iter()
            .filter(|p| !kind(p).is_some_and(|k| frozen_kinds.contains(&k)))
            .map(|p| (*p).clone())
            .collect();
        let fixed_sum = Cents::sum(frozen.iter().map(|l| l.planned.amount)).map_err(|e| e.to_string())?;
        // One settling line carries the rest.
        let template =
            wanted.iter().rev().find(|p| settles(kind(p))).cloned().or_else(|| planned.last().map(|p| (*p).clone()));
        wanted.retain(|p| !settles(kind(p)));
        wanted.sort_by_key(|p| p.due);
        let mut others = Cents::sum(wanted.iter().map(|p| p.amount)).map_err(|e| e.to_string())?;
        let mut rest =
            entitlement.checked_sub(fixed_sum).and_then(|r| r.checked_sub(others)).map_err(|e| e.to_string())?;
        // Advances not paid yet are not paid at all when the year owes less than them
        // (termination): only money actually received is to repay.
        while rest.is_negative() {
            let Some(last) = wanted.pop() else { break };
            others = others.checked_sub(last.amount).map_err(|e| e.to_string())?;
            rest = rest.checked_add(last.amount).map_err(|e| e.to_string())?;
        }
        if rest != Cents::ZERO {
            let base = template.ok_or("groupe sans ligne de référence")?;
            let settle_kind = match kind(&base) {
                _ if rest.is_negative() => PaymentKind::Repayment,
                Some(k @ (PaymentKind::Balance | PaymentKind::Settlement)) => k,
                _ if terminated => PaymentKind::Settlement,
                _ => PaymentKind::Balance,
            };
            let same = kind(&base) == Some(settle_kind) && base.amount == rest;
            let explanation = if same && !frozen.iter().any(|l| settles(kind(&l.planned))) {
                base.explanation.clone()
            } else {
                format!(
                    "Régularisation : droit de l'année {entitlement} − déjà versé ou prévu {} = {rest}.\n{}",
                    fixed_sum.checked_add(others).map_err(|e| e.to_string())?,
                    base.explanation
                )
            };
            wanted.push(Planned {
                source: Source::Aci {
                    contract: match &base.source {
                        Source::Aci { contract, .. } => *contract,
                        Source::Convention { .. } => 0,
                    },
                    year,
                    component: component.clone(),
                    kind: settle_kind,
                },
                funder: base.funder.clone(),
                due: if settles(kind(&base)) { base.due } else { today.max(base.due) },
                amount: rest,
                explanation,
            });
        }
        // Keep unpaid lines identical to a wanted one; cancel the others; insert the rest.
        let mut unpaid: Vec<&Line> = lines.iter().copied().filter(|l| l.paid == Cents::ZERO).collect();
        for w in wanted {
            if let Some(i) = unpaid.iter().position(|l| l.planned == w) {
                unpaid.remove(i);
            } else {
                out.insert.push(w);
            }
        }
        out.cancel.extend(unpaid.iter().map(|l| l.id));
    }
    Ok(out)
}

/// Kinds of funders besides the ACI.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FunderKind {
    Ars,
    Collectivite,
    Europe,
    Prive,
    Autre,
}

impl FunderKind {
    pub const ALL: [FunderKind; 5] =
        [FunderKind::Ars, FunderKind::Collectivite, FunderKind::Europe, FunderKind::Prive, FunderKind::Autre];

    pub fn code(self) -> &'static str {
        match self {
            FunderKind::Ars => "ars",
            FunderKind::Collectivite => "collectivite",
            FunderKind::Europe => "europe",
            FunderKind::Prive => "prive",
            FunderKind::Autre => "autre",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FunderKind::Ars => "ARS (fonds d'intervention régional)",
            FunderKind::Collectivite => "collectivité territoriale",
            FunderKind::Europe => "fonds européens",
            FunderKind::Prive => "partenaire privé",
            FunderKind::Autre => "autre financeur",
        }
    }

    /// Short form for ledger lines.
    pub fn short(self) -> &'static str {
        match self {
            FunderKind::Ars => "FIR",
            FunderKind::Collectivite => "collectivité",
            FunderKind::Europe => "fonds européens",
            FunderKind::Prive => "partenaire privé",
            FunderKind::Autre => "autre financeur",
        }
    }

    pub fn parse(s: &str) -> Result<FunderKind, String> {
        let s = s.trim().to_lowercase();
        FunderKind::ALL.into_iter().find(|k| k.code() == s).ok_or_else(|| {
            format!("type de financeur inconnu « {s} » (attendu : ars, collectivite, europe, prive, autre)")
        })
    }
}

/// A funding convention with another funder (ARS phase 1 grant, collectivité, EU, private).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Convention {
    pub kind: FunderKind,
    pub funder: String,
    pub purpose: String,
    pub amount: Cents,
    pub start: Date,
    pub end: Date,
    pub deliverables: Vec<String>,
    /// Dated installments; they add up to the amount.
    pub installments: Vec<(Date, Cents)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConventionError(pub Vec<String>);

impl fmt::Display for ConventionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "convention refusée : {}", self.0.join(" ; "))
    }
}

impl Convention {
    pub fn validate(&self) -> Result<(), ConventionError> {
        let mut why = Vec::new();
        if self.funder.trim().is_empty() {
            why.push("financeur non nommé".to_string());
        }
        if self.purpose.trim().is_empty() {
            why.push("objet de la convention manquant".into());
        }
        if self.end < self.start {
            why.push(format!("fin le {} avant le début le {}", fr(self.end), fr(self.start)));
        }
        if self.amount.get() <= 0 {
            why.push(format!("montant {} : attendu un montant positif", self.amount));
        }
        if self.installments.is_empty() {
            why.push("aucune échéance de versement".into());
        }
        for (d, a) in &self.installments {
            if a.get() <= 0 {
                why.push(format!("échéance du {} : montant {a} non positif", fr(*d)));
            }
            if *d < self.start {
                why.push(format!("échéance du {} avant le début de la convention", fr(*d)));
            }
        }
        match Cents::sum(self.installments.iter().map(|(_, a)| *a)) {
            Ok(total) if total != self.amount && !self.installments.is_empty() => why.push(format!(
                "les échéances font {total} pour une convention de {} : elles doivent faire le montant",
                self.amount
            )),
            Err(e) => why.push(e.to_string()),
            _ => {}
        }
        if why.is_empty() { Ok(()) } else { Err(ConventionError(why)) }
    }

    pub fn funder_label(&self) -> String {
        format!("{} — {}", self.funder, self.kind.short())
    }

    /// The convention's ledger lines.
    pub fn plan(&self, seq: i64) -> Vec<Planned> {
        let n = self.installments.len();
        self.installments
            .iter()
            .zip(1u32..)
            .map(|((due, amount), i)| Planned {
                source: Source::Convention { convention: seq, installment: i },
                funder: self.funder_label(),
                due: *due,
                amount: *amount,
                explanation: format!("Convention « {} » : versement {i} sur {n}.", self.purpose),
            })
            .collect()
    }
}

/// A component's label from its stored code (the code itself if unknown).
pub fn component_label(rules: &RuleSet, code: &str) -> String {
    Component::from_code(rules, code).map_or_else(|| code.to_string(), |c| c.label(rules))
}
