//! A contract's book: the agreement and its ACI ledger lines. Operations are decided here
//! (pure): an operation either yields the new agreement and the ledger changes to persist,
//! or a refusal that leaves everything as it was. The store persists outcomes atomically.

use jiff::civil::Date;

use cpts_engine::dates::fr;
use cpts_engine::input::YearIn;
use cpts_engine::money::Cents;
use cpts_engine::rules::RuleSet;

use crate::agreement::Agreement;
use crate::ledger::{Changes, Gates, Line, Planned, aci_plan, reconcile};

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
    Pay {
        line: i64,
        amount: Cents,
        on: Date,
    },
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
    /// A payment to record: line, signed amount, date.
    pub payment: Option<(i64, Cents, Date)>,
    /// Summary for the user, in French.
    pub summary: String,
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
        if let Op::Pay { line, amount, on } = op {
            let l = self
                .lines
                .iter()
                .find(|l| l.id == *line)
                .ok_or_else(|| format!("ligne n° {line} introuvable dans ce contrat"))?;
            let signed = l.check_payment(*amount, *on, today, &self.gates)?;
            return Ok(Outcome {
                agreement: a.clone(),
                changes: Changes::default(),
                payment: Some((*line, signed, *on)),
                summary: format!("Paiement de {amount} enregistré sur la ligne n° {line}."),
            });
        }
        let future = |d: Date| {
            if d > today {
                Err(format!("date du {} dans le futur : on enregistre ce qui a eu lieu", fr(d)))
            } else {
                Ok(())
            }
        };
        let (next, c, summary) = match op {
            Op::Start { mission, on } => {
                future(*on)?;
                let (n, c) = a.start_mission(mission, *on, rules).map_err(joined)?;
                (n, c, format!("Mission « {mission} » démarrée le {}.", fr(*on)))
            }
            Op::Deploy { mission, on } => {
                future(*on)?;
                let (n, c) = a.deploy_mission(mission, *on, rules).map_err(joined)?;
                (n, c, format!("Mission « {mission} » entièrement déployée le {}.", fr(*on)))
            }
            Op::Amend { text } => {
                let (n, c) = a.amend(text, rules).map_err(joined)?;
                (n, c, "Avenant enregistré ; l'échéancier est recalculé.".to_string())
            }
            Op::Terminate { on, reason } => {
                let (n, c) = a.terminate(*on, reason, rules).map_err(joined)?;
                (n, c, format!("Contrat résilié le {}.", fr(*on)))
            }
            Op::Release { year, on, results } => {
                future(*on)?;
                let (n, c) = a.release_year(*year, *on, results.clone(), rules).map_err(joined)?;
                (n, c, format!("Rapport de l'année {year} validé : ses soldes deviennent exigibles."))
            }
            Op::Pay { .. } => return Err("opération inattendue".into()),
        };
        let plan = aci_plan(rules, &c, next.seq, &next.cpam).map_err(|e| e.to_string())?;
        let changes = reconcile(&self.lines, &plan, c.terminated.is_some(), today)?;
        Ok(Outcome { agreement: next, changes, payment: None, summary })
    }

    /// Apply an outcome in memory (the store does the same in a transaction).
    pub fn apply(&mut self, o: Outcome, today: Date) {
        for l in &mut self.lines {
            if o.changes.cancel.contains(&l.id) {
                l.cancelled = Some(today);
            }
        }
        let first = self.lines.iter().map(|l| l.id).max().unwrap_or(0) + 1;
        for (id, p) in (first..).zip(o.changes.insert) {
            self.lines.push(Line { id, planned: p, paid: Cents::ZERO, cancelled: None });
        }
        if let Some((id, amount, _)) = o.payment
            && let Some(l) = self.lines.iter_mut().find(|l| l.id == id)
        {
            l.paid = Cents::new(l.paid.get().saturating_add(amount.get()));
        }
        for y in o.agreement.released.keys() {
            self.gates.released.insert((o.agreement.seq, *y));
        }
        for y in o.agreement.results.keys() {
            self.gates.reported.insert((o.agreement.seq, *y));
        }
        self.agreement = o.agreement;
    }
}
