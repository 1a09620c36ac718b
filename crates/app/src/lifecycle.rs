//! The life of a CPTS: its dated steps and the check of its statutes. The application gathers
//! the facts from the store (territory, legal form, statutes, the contract's term) and the
//! domain (`lifecycle::check`) decides.

use cpts_domain::agreement::Agreement;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Planned, lettre_line};
use cpts_domain::lifecycle::{self, Actor, Eligibility, Event, Refusal, Stage, Step};
use cpts_domain::registry::parties;
use cpts_domain::text::Kind;
use cpts_engine::contract::Contract;
use cpts_engine::compute::NoTrace;
use cpts_engine::input::missing_socles;
use cpts_engine::schedule::lettre_intention_amount;
use cpts_store::CptsRecord;
use jiff::civil::Date;

use crate::policy::{Action, Principal};
use crate::{App, AppError, FieldError, Result};

/// Who acts in a step, when, with which document. The declared actor is the domain's (the CPTS,
/// the ARS, the CPAM); the policy checks that the principal may act as such.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepBy {
    pub on: Date,
    pub actor: Actor,
    /// The person or office that acted.
    pub by: String,
    pub document: Option<String>,
    pub note: Option<String>,
}

impl StepBy {
    /// The event of `step` taken so, its free texts checked.
    pub fn event(&self, step: Step, signatories: Vec<Actor>) -> Result<Event> {
        check_texts(&[
            ("par", Some(&self.by), Kind::Name),
            ("document", self.document.as_deref(), Kind::Line),
            ("note", self.note.as_deref(), Kind::Text),
        ])?;
        Ok(Event {
            step,
            date: self.on,
            actor: self.actor,
            by: self.by.clone(),
            document: self.document.clone(),
            note: self.note.clone(),
            signatories,
        })
    }
}

/// The action a step taken by `actor` asks the policy for.
pub fn step_action(actor: Actor) -> Action {
    match actor {
        Actor::Cpts => Action::StepCpts,
        Actor::Ars => Action::StepArs,
        Actor::Cpam => Action::StepCpam,
    }
}

/// User texts, each checked by the domain's one text check; every error at once.
pub(crate) fn check_texts(fields: &[(&str, Option<&str>, Kind)]) -> Result<()> {
    let errors: Vec<FieldError> = fields
        .iter()
        .filter_map(|(field, value, kind)| {
            let e = cpts_domain::text::check_opt(field, *value, *kind).err()?;
            let message = e.strip_prefix(&format!("{field} : ")).map_or(e.clone(), str::to_string);
            Some(FieldError { field: (*field).to_string(), line: None, message })
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(AppError::Invalid(errors)) }
}

/// A step refused by the domain, said as it says it (« refusé : … »).
pub(crate) fn refused(r: Refusal) -> AppError {
    AppError::refused(r.to_string())
}

/// Where a CPTS stands on a date.
#[derive(Clone, Debug)]
pub struct LifecycleView {
    pub id: CptsId,
    pub name: String,
    pub on: Date,
    /// The steps recorded by `on`.
    pub history: Vec<Event>,
    /// The stage those steps reached.
    pub stage: Option<Stage>,
    /// The stage on `on`: « échu » once the term of the contract in force is over.
    pub now: Option<Stage>,
    /// The term (exclusive) of the last contract signed by `on`.
    pub contract_end: Option<Date>,
    /// When the statutes were checked, and the document.
    pub statutes: Option<(Date, Option<String>)>,
    /// The steps that may follow `stage`.
    pub next: Vec<Step>,
}

/// A step recorded.
#[derive(Clone, Debug)]
pub struct StepRecorded {
    pub name: String,
    pub event: Event,
    pub stage: Stage,
}

/// The steps that may follow `stage` (the first ones before any step).
pub fn next_steps(stage: Option<Stage>) -> Vec<Step> {
    Step::ALL
        .iter()
        .copied()
        .filter(|s| match stage {
            None => s.edge().0.is_empty(),
            Some(st) => s.edge().0.contains(&st),
        })
        .collect()
}

impl App {
    /// What the contract guards need, from the registry.
    pub(crate) async fn eligibility(
        &self,
        r: &CptsRecord,
        agreement: Option<(&Agreement, &Contract)>,
    ) -> Result<Eligibility> {
        let statutes = self.store.statutes(&r.id).await?;
        let mut e = Eligibility {
            has_territory: !r.territory.communes.is_empty(),
            association: r.identity.legal_form.to_lowercase().contains("association"),
            statutes_checked: statutes.map(|s| s.0),
            ..Eligibility::default()
        };
        if let Some((a, c)) = agreement {
            e.contract_given = true;
            e.missing_socles = missing_socles(&self.rules, c, a.signed())
                .filter_map(|m| self.rules.mission(m).map(|d| d.code.clone()))
                .collect();
        }
        Ok(e)
    }

    /// The lifecycle of a CPTS as of `on` (default: today).
    pub async fn lifecycle(&self, p: &Principal, id: &CptsId, on: Option<Date>) -> Result<LifecycleView> {
        self.authorize(p, Action::Read, id).await?;
        let r = self.store.get_cpts(id).await?;
        self.lifecycle_of(&r, on.unwrap_or_else(|| self.clock.today())).await
    }

    /// The lifecycle of the CPTS read as `r`, as of `on`.
    pub(crate) async fn lifecycle_of(&self, r: &CptsRecord, on: Date) -> Result<LifecycleView> {
        let id = &r.id;
        let all = self.store.lifecycle(id).await?;
        // What was recorded by `on`; the term of the last contract signed by then.
        let history: Vec<Event> = all.into_iter().take_while(|e| e.date <= on).collect();
        let contracts = self.store.contracts(id, &r.identity.name).await?;
        let contract_end = contracts
            .iter()
            .rfind(|(a, _)| a.signed() <= on)
            .and_then(|(a, _)| a.contract(&self.rules).ok())
            .and_then(|c| c.anniversaries.last().copied());
        let stage = lifecycle::stage(&history);
        Ok(LifecycleView {
            id: id.clone(),
            name: r.identity.name.clone(),
            on,
            now: lifecycle::stage_on(&history, contract_end, on),
            stage,
            contract_end,
            statutes: self.store.statutes(id).await?,
            history,
            next: next_steps(stage),
        })
    }

    /// Record a step of the lifecycle (not the signature nor the termination: they come with
    /// the contract). The policy is asked for the declared actor's action.
    pub async fn record_step(&self, p: &Principal, id: &CptsId, step: Step, by: &StepBy) -> Result<StepRecorded> {
        let stamp = self.authorize(p, step_action(by.actor), id).await?;
        if matches!(step, Step::Sign | Step::Renew | Step::Terminate) {
            return Err(AppError::refused(format!(
                "« {} » s'enregistre avec le contrat et son échéancier (signature ou résiliation du contrat)",
                step.code()
            )));
        }
        let r = self.store.get_cpts(id).await?;
        let history = self.store.lifecycle(id).await?;
        let mut facts = self.eligibility(&r, None).await?;
        if step == Step::Expire {
            let (a, _) = self.store.agreement(id, &r.identity.name, None).await?;
            facts.contract_end = a.contract(&self.rules).ok().and_then(|c| Agreement::end(&c));
        }
        let event = by.event(step, vec![])?;
        let stage = lifecycle::check(&history, &event, &facts, self.clock.today()).map_err(refused)?;
        let lines = if step == Step::ValidateLetter { self.lettre_lines(&r, event.date).await? } else { Vec::new() };
        self.store.record_event_with_lines(&stamp, id, &event, history.len(), &lines).await?;
        Ok(StepRecorded { name: r.identity.name, event, stage })
    }

    /// The lettre d'intention payment the ARS's validation on `on` makes due (avenant 2; none
    /// before it), as the line of the contract to come: its tier is the territory's on that day.
    async fn lettre_lines(&self, r: &CptsRecord, on: Date) -> Result<Vec<Planned>> {
        if self.rules.params.lettre_intention_payment.at(on).is_none() {
            return Ok(Vec::new());
        }
        let why = |e: String| {
            AppError::refused(format!(
                "le versement à la validation de la lettre d'intention dépend de la taille de la CPTS : {e}"
            ))
        };
        let summary = r.territory.summary(&self.geo, &self.rules, on, None).map_err(|e| why(format!("territoire : {e}")))?;
        let (cpam, _) = parties(&self.geo, r.identity.seat.as_ref(), &summary).map_err(why)?;
        let seq = self.store.contracts(&r.id, &r.identity.name).await?.last().map_or(1, |(a, _)| a.seq + 1);
        let payment = lettre_intention_amount(&self.rules, summary.population, on, None, &mut NoTrace)
            .map_err(|e| why(e.to_string()))?;
        Ok(payment.iter().map(|p| lettre_line(&self.rules, seq, &cpam, p)).collect())
    }

    /// Record that the statutes were checked against the ACI's criteria.
    pub async fn set_statutes(&self, p: &Principal, id: &CptsId, on: Date, document: Option<&str>) -> Result<()> {
        let stamp = self.authorize(p, Action::EditGovernance, id).await?;
        check_texts(&[("document", document, Kind::Line)])?;
        if on > self.clock.today() {
            return Err(AppError::invalid("date de vérification dans le futur"));
        }
        Ok(self.store.set_statutes(&stamp, id, on, document).await?)
    }
}
