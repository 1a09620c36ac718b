//! The ACI contract: signature (with its lifecycle step and its ledger), the contract as in
//! force on a date, the deployment calendar, mission starts and deployments, amendments and
//! termination. Every change to a signed contract goes through `App::decide`: load the book,
//! let the domain decide (`Book::decide`), save the outcome.

use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Book, Op, Outcome};
use cpts_domain::calendar::{MissionDates, calendar};
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Planned, is_lettre_line};
use cpts_domain::lifecycle::{self, Actor, Eligibility, Event, Step};
use cpts_domain::registry::parties;
use cpts_domain::text::Kind;
use cpts_engine::contract::Contract;
use cpts_engine::money::Cents;
use jiff::civil::Date;

use crate::lifecycle::{StepBy, check_texts, refused};
use crate::policy::{Action, Principal};
use crate::{App, AppError, FieldError, Result};

/// Sign the ACI contract (or renew it, when one was signed before): the annex (YAML), who
/// signs for whom, and the other signatory.
#[derive(Clone, Debug)]
pub struct SignContract {
    pub id: CptsId,
    /// The annex of the signed contract: signature date, missions, envelopes, objectives;
    /// without a population, the territory's INSEE population is written in.
    pub annex: String,
    pub by: StepBy,
    pub cosigner: Actor,
}

/// A contract signed, with the ledger lines it opened.
#[derive(Clone, Debug)]
pub struct Signed {
    pub name: String,
    pub agreement: Agreement,
    pub contract: Contract,
    pub lines: Vec<Planned>,
    pub total: Cents,
}

/// A contract as in force on a date.
#[derive(Clone, Debug)]
pub struct ContractView {
    pub agreement: Agreement,
    pub contract: Contract,
    /// The stored version of the contract (what an edit starts from).
    pub version: i64,
    pub on: Date,
}

/// The deployment calendar of the current contract on a date.
#[derive(Clone, Debug)]
pub struct CalendarView {
    pub name: String,
    pub on: Date,
    pub signed: Date,
    pub missions: Vec<MissionDates>,
}

/// Terminate the contract in force.
#[derive(Clone, Debug)]
pub struct Terminate {
    pub id: CptsId,
    pub reason: String,
    pub by: StepBy,
}

/// An operation decided on a contract and saved.
#[derive(Clone, Debug)]
pub struct Decided {
    pub name: String,
    pub outcome: Outcome,
}

/// The agreement's engine contract; a stored one that no longer validates is a failure of the system.
pub(crate) fn contract_of(app: &App, a: &Agreement) -> Result<Contract> {
    a.contract(&app.rules).map_err(|es| AppError::Internal(format!("contrat stocké invalide : {es:?}")))
}

impl App {
    /// Sign the ACI contract, or renew it: the lifecycle step, the contract and its ledger
    /// lines, in one write. The parties (CPAM, ARS) follow from the seat and the territory.
    pub async fn sign_contract(&self, p: &Principal, cmd: SignContract) -> Result<Signed> {
        let stamp = self.authorize(p, Action::SignContract, &cmd.id).await?;
        let id = &cmd.id;
        check_texts(&[("annexe", Some(&cmd.annex), Kind::Document)])?;
        let r = self.store.get_cpts(id).await?;
        let history = self.store.lifecycle(id).await?;
        let previous = self.store.contracts(id, &r.identity.name).await?;
        let step = if previous.is_empty() { Step::Sign } else { Step::Renew };
        let event = cmd.by.event(step, vec![cmd.by.actor, cmd.cosigner])?;
        // Population: the annex's if given, else the territory's INSEE population.
        let summary = r
            .territory
            .summary(&self.geo, &self.rules, cmd.by.on, None)
            .map_err(|e| AppError::refused(format!("territoire : {e}")))?;
        let (cpam, ars) = parties(&self.geo, r.identity.seat.as_ref(), &summary).map_err(AppError::refused)?;
        let annex = if cmd.annex.lines().any(|l| l.starts_with("population:")) {
            cmd.annex.clone()
        } else {
            format!(
                "{}\npopulation: {}\npopulation_source: \"{}\"\n",
                cmd.annex,
                summary.population,
                cpts_domain::geo::SOURCE.replace('"', "'")
            )
        };
        let seq = previous.last().map_or(1, |(a, _)| a.seq + 1);
        // The lettre d'intention line written when the ARS validated the letter: the annex
        // gives its date, or takes the recorded one (and must not contradict it, below).
        let ledger = self.store.ledger(id).await?;
        let lettre = ledger.iter().find(|l| l.cancelled.is_none() && is_lettre_line(&self.rules, seq, &l.planned));
        let annex = match lettre {
            Some(l) if !annex.lines().any(|l| l.starts_with("lettre_intention_validated:")) => {
                format!("{annex}\nlettre_intention_validated: {}\n", l.planned.due)
            }
            _ => annex,
        };
        let (agreement, contract) =
            Agreement::new(seq, &r.identity.name, &annex, &cpam, &ars, &self.rules).map_err(|es| {
                AppError::Invalid(
                    es.into_iter().map(|e| FieldError { field: e.field, line: e.line, message: e.message }).collect(),
                )
            })?;
        if agreement.signed() != cmd.by.on {
            return Err(AppError::refused(format!(
                "date de signature de l'annexe ({}) différente de la date de signature déclarée ({})",
                cpts_engine::dates::fr(agreement.signed()),
                cpts_engine::dates::fr(cmd.by.on)
            )));
        }
        // A renewal starts when the previous contract has ended (term reached or terminated).
        if let Some((prev, _)) = previous.last()
            && let Some(end) = prev.contract(&self.rules).ok().and_then(|c| Agreement::end(&c))
            && agreement.signed() < end
        {
            return Err(AppError::refused(format!(
                "le contrat n° {} court jusqu'au {} inclus : le renouvellement prend effet le {} au plus tôt",
                prev.seq,
                cpts_engine::dates::day_before(end).map_or_else(|| cpts_engine::dates::fr(end), cpts_engine::dates::fr),
                cpts_engine::dates::fr(end)
            )));
        }
        let facts = self.eligibility(&r, Some((&agreement, &contract))).await?;
        lifecycle::check(&history, &event, &facts, self.clock.today()).map_err(refused)?;
        let mut lines = Book::open(&agreement, &self.rules).map_err(AppError::Internal)?;
        // That line stays: the plan's own is dropped, the annex saying the same date.
        if let Some(l) = lettre {
            if contract.lettre_intention != Some(l.planned.due) {
                return Err(AppError::refused(format!(
                    "l'annexe date la validation de la lettre d'intention du {} ; l'ARS l'a validée le {} (ligne n° {} du grand livre)",
                    contract.lettre_intention.map_or_else(|| "?".into(), cpts_engine::dates::fr),
                    cpts_engine::dates::fr(l.planned.due),
                    l.id
                )));
            }
            lines.retain(|p| !is_lettre_line(&self.rules, seq, p));
        }
        self.store.sign_contract(&stamp, id, &event, history.len(), &agreement, &lines).await?;
        let total = Cents::sum(lines.iter().map(|l| l.amount)).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(Signed { name: r.identity.name, agreement, contract, lines, total })
    }

    /// A contract (`seq`, default the latest) as in force on `on` (default today).
    pub async fn contract(
        &self,
        p: &Principal,
        id: &CptsId,
        seq: Option<i64>,
        on: Option<Date>,
    ) -> Result<ContractView> {
        self.authorize(p, Action::Read, id).await?;
        let r = self.store.get_cpts(id).await?;
        let (agreement, version) = self.store.agreement(id, &r.identity.name, seq).await?;
        let contract = contract_of(self, &agreement)?;
        Ok(ContractView { agreement, contract, version, on: on.unwrap_or_else(|| self.clock.today()) })
    }

    /// Every contract of a CPTS, oldest first, with its version.
    pub async fn contracts(&self, p: &Principal, id: &CptsId) -> Result<Vec<(Agreement, i64)>> {
        self.authorize(p, Action::Read, id).await?;
        let r = self.store.get_cpts(id).await?;
        Ok(self.store.contracts(id, &r.identity.name).await?)
    }

    /// The deployment calendar of the current contract on `on` (default today).
    pub async fn calendar(&self, p: &Principal, id: &CptsId, on: Option<Date>) -> Result<CalendarView> {
        self.authorize(p, Action::Read, id).await?;
        let on = on.unwrap_or_else(|| self.clock.today());
        let r = self.store.get_cpts(id).await?;
        let (a, _) = self.store.agreement(id, &r.identity.name, None).await?;
        let c = contract_of(self, &a)?;
        let missions = calendar(&self.rules, &c, &|code| a.progress.get(code).copied().unwrap_or_default(), on);
        Ok(CalendarView { name: r.identity.name, on, signed: a.signed(), missions })
    }

    /// A contract's book (agreement, ACI lines, gates); `seq` None: the latest contract.
    pub async fn book(&self, p: &Principal, id: &CptsId, seq: Option<i64>) -> Result<Book> {
        self.authorize(p, Action::Read, id).await?;
        let r = self.store.get_cpts(id).await?;
        Ok(self.store.book(id, &r.identity.name, seq).await?.0)
    }

    /// Record the start of a mission of the current contract.
    pub async fn start_mission(&self, p: &Principal, id: &CptsId, mission: &str, on: Date) -> Result<Decided> {
        self.decide(p, Action::MissionProgress, id, None, Op::Start { mission: mission.into(), on }, None).await
    }

    /// Record the full deployment of a mission of the current contract.
    pub async fn deploy_mission(&self, p: &Principal, id: &CptsId, mission: &str, on: Date) -> Result<Decided> {
        self.decide(p, Action::MissionProgress, id, None, Op::Deploy { mission: mission.into(), on }, None).await
    }

    /// Record an amendment (YAML: effective, reason, population, missions) to the current contract.
    pub async fn amend_contract(&self, p: &Principal, id: &CptsId, text: &str) -> Result<Decided> {
        self.authorize(p, Action::AmendContract, id).await?;
        check_texts(&[("avenant", Some(text), Kind::Document)])?;
        self.decide(p, Action::AmendContract, id, None, Op::Amend { text: text.into() }, None).await
    }

    /// Terminate the current contract: its schedule is settled on the date, the excess is to repay.
    pub async fn terminate_contract(&self, p: &Principal, cmd: Terminate) -> Result<Decided> {
        self.authorize(p, Action::TerminateContract, &cmd.id).await?;
        check_texts(&[("motif", Some(&cmd.reason), Kind::Line)])?;
        let event = cmd.by.event(Step::Terminate, vec![])?;
        let op = Op::Terminate { on: cmd.by.on, reason: cmd.reason };
        self.decide(p, Action::TerminateContract, &cmd.id, None, op, Some(event)).await
    }

    /// THE way a signed contract changes: ask the policy, load the book (`seq` None: the latest
    /// contract), check the lifecycle step that comes with the operation, let the domain
    /// decide, save the outcome (refused if the contract changed in between).
    pub(crate) async fn decide(
        &self,
        p: &Principal,
        action: Action,
        id: &CptsId,
        seq: Option<i64>,
        op: Op,
        event: Option<Event>,
    ) -> Result<Decided> {
        let stamp = self.authorize(p, action, id).await?;
        let r = self.store.get_cpts(id).await?;
        let (book, version) = self.store.book(id, &r.identity.name, seq).await?;
        let today = self.clock.today();
        let history = self.store.lifecycle(id).await?;
        if let Some(ev) = &event {
            lifecycle::check(&history, ev, &Eligibility::default(), today).map_err(refused)?;
        }
        let outcome = book.decide(&op, &self.rules, today).map_err(AppError::refused)?;
        let step = event.as_ref().map(|e| (e, history.len()));
        self.store.save_outcome(&stamp, id, version, &book.agreement, &outcome, step).await?;
        Ok(Decided { name: r.identity.name, outcome })
    }
}
