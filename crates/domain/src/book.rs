//! A contract's book: the agreement and its ACI ledger lines. Operations are decided here
//! (pure): an operation either yields the new agreement and the ledger changes to persist,
//! or a refusal that leaves everything as it was. The store persists outcomes atomically.

use jiff::civil::Date;

use cpts_engine::dates::fr;
use cpts_engine::input::YearIn;
use cpts_engine::money::Cents;
use cpts_engine::rules::RuleSet;
use cpts_engine::schedule::PaymentKind;

use crate::agreement::Agreement;
use crate::ledger::{Changes, Gates, Line, Payment, Planned, Source, aci_plan, reconcile};

/// What can happen to a signed contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Start {
        mission: String,
        on: Date,
    },
    Deploy {
        mission: String,
        on: Date,
    },
    Amend {
        text: String,
    },
    Terminate {
        on: Date,
        reason: String,
    },
    /// The year's activity report is validated with these results.
    Release {
        year: u8,
        on: Date,
        results: YearIn,
    },
    /// A funder's payment (or the CPTS's repayment) on one of the contract's lines.
    Pay(Payment),
}

#[derive(Clone, Debug)]
pub struct Book {
    pub agreement: Agreement,
    /// The contract's ACI lines, cancelled ones included (history).
    pub lines: Vec<Line>,
    pub gates: Gates,
}

/// A decided operation, ready to persist.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub agreement: Agreement,
    pub changes: Changes,
    /// A payment to record (amount signed like its line).
    pub payment: Option<Payment>,
    /// Summary for the user, in French.
    pub summary: String,
    /// The day it takes effect: the act's date (a report validated on 01/02/2022 cancels the
    /// lines it replaces that day, even when entered years later), today for an amendment.
    pub on: Date,
}

/// What the user is told once a payment is recorded.
pub fn paid_summary(l: &Line, p: &Payment) -> String {
    let mut s = format!("Paiement de {} enregistré sur la ligne n° {} (par {}", Cents::new(p.amount.get().abs()), p.line, p.by);
    if let Some(r) = &p.reference {
        s.push_str(&format!(", virement {r}"));
    }
    s.push(')');
    if p.early(l) {
        s.push_str(&format!(", avant l'échéance du {}", fr(l.planned.due)));
    }
    let rest = Cents::new(l.remaining().get().saturating_sub(p.amount.get()).abs());
    if rest != Cents::ZERO {
        s.push_str(&format!(" ; reste dû {rest}"));
    }
    s.push('.');
    s
}

fn joined(es: Vec<cpts_engine::input::InputError>) -> String {
    es.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ; ")
}

impl Book {
    /// The ledger lines of a newly signed agreement.
    pub fn open(agreement: &Agreement, rules: &RuleSet) -> Result<Vec<Planned>, String> {
        let c = agreement.contract(rules).map_err(joined)?;
        aci_plan(rules, &c, agreement.seq, &agreement.cpam).map_err(|e| e.to_string())
    }

    pub fn decide(&self, op: &Op, rules: &RuleSet, today: Date) -> Result<Outcome, String> {
        let a = &self.agreement;
        if let Op::Pay(p) = op {
            let line = p.line;
            let l = self
                .lines
                .iter()
                .find(|l| l.id == line)
                .ok_or_else(|| format!("ligne n° {line} introuvable dans ce contrat"))?;
            // No ACI money before the contract, except the lettre d'intention payment, owed
            // from the letter's validation (its due date).
            let opens = match &l.planned.source {
                Source::Aci { kind: PaymentKind::OneOff, .. } => l.planned.due,
                _ => a.signed(),
            };
            if p.on < opens {
                return Err(format!(
                    "paiement daté du {} avant {} ({}) : rien n'était dû",
                    fr(p.on),
                    if opens == a.signed() { "la signature du contrat" } else { "la validation de la lettre d'intention" },
                    fr(opens)
                ));
            }
            let paid = l.pay(p, today, &self.gates)?;
            let summary = paid_summary(l, &paid);
            let on = paid.on;
            return Ok(Outcome { agreement: a.clone(), changes: Changes::default(), payment: Some(paid), summary, on });
        }
        let future = |d: Date| {
            if d > today {
                Err(format!("date du {} dans le futur : on enregistre ce qui a eu lieu", fr(d)))
            } else {
                Ok(())
            }
        };
        let (next, c, summary, effective) = match op {
            Op::Start { mission, on } => {
                future(*on)?;
                let (n, c) = a.start_mission(mission, *on, rules).map_err(joined)?;
                (n, c, format!("Mission « {mission} » démarrée le {}.", fr(*on)), *on)
            }
            Op::Deploy { mission, on } => {
                future(*on)?;
                let (n, c) = a.deploy_mission(mission, *on, rules).map_err(joined)?;
                (n, c, format!("Mission « {mission} » entièrement déployée le {}.", fr(*on)), *on)
            }
            Op::Amend { text } => {
                let (n, c) = a.amend(text, rules).map_err(joined)?;
                (n, c, "Avenant enregistré ; l'échéancier est recalculé.".to_string(), today)
            }
            Op::Terminate { on, reason } => {
                let (n, c) = a.terminate(*on, reason, rules).map_err(joined)?;
                (n, c, format!("Contrat résilié le {}.", fr(*on)), *on)
            }
            Op::Release { year, on, results } => {
                future(*on)?;
                let (n, c) = a.release_year(*year, *on, results.clone(), rules).map_err(joined)?;
                (n, c, format!("Rapport de l'année {year} validé : ses soldes deviennent exigibles."), *on)
            }
            Op::Pay(_) => return Err("opération inattendue".into()),
        };
        let plan = aci_plan(rules, &c, next.seq, &next.cpam).map_err(|e| e.to_string())?;
        let changes = reconcile(&self.lines, &plan, c.terminated.is_some(), today)?;
        Ok(Outcome { agreement: next, changes, payment: None, summary, on: effective })
    }

    /// Apply an outcome in memory (the store does the same in a transaction).
    pub fn apply(&mut self, o: Outcome) {
        for l in &mut self.lines {
            if o.changes.cancel.contains(&l.id) {
                l.cancelled = Some(o.on);
            }
        }
        let first = self.lines.iter().map(|l| l.id).max().unwrap_or(0) + 1;
        for (id, p) in (first..).zip(o.changes.insert) {
            self.lines.push(Line { id, planned: p, paid: Cents::ZERO, cancelled: None });
        }
        if let Some(p) = &o.payment
            && let Some(l) = self.lines.iter_mut().find(|l| l.id == p.line)
        {
            l.paid = Cents::new(l.paid.get().saturating_add(p.amount.get()));
        }
        for (y, on) in &o.agreement.released {
            self.gates.released.insert((o.agreement.seq, *y), *on);
        }
        for y in o.agreement.results.keys() {
            self.gates.reported.insert((o.agreement.seq, *y));
        }
        self.agreement = o.agreement;
    }
}
