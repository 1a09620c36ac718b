//! A CPTS's ACI contract: the contracts signed, the deployment calendar of the missions, and
//! the acts of the contract (signature from the annex, mission starts and deployments,
//! amendments, termination) for those the policy allows.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cpts_app::contracts::{SignContract, Terminate};
use cpts_app::lifecycle::StepBy;
use cpts_app::{Action, AppError};
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::Actor;
use serde::Deserialize;

use super::{Chrome, cpts_id};
use crate::error::WebError;
use crate::forms::{self, Errors};
use crate::sessions::Signed;
use crate::{Web, format, urls};

pub struct ContractRow {
    pub seq: i64,
    pub signed: String,
    pub cpam: String,
    pub ars: String,
    pub amendments: usize,
    pub terminated: String,
}

pub struct MissionRow {
    pub code: String,
    pub label: String,
    pub socle: bool,
    pub start_deadline: String,
    pub started: String,
    pub deploy_deadline: String,
    pub deployed: String,
    pub status: &'static str,
    pub can_start: bool,
    pub can_deploy: bool,
}

/// What the forms of the page hold (each form sends its own fields).
#[derive(Deserialize, Default, Clone)]
pub struct ContractForm {
    #[serde(default)]
    annex: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    by: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    mission: String,
    #[serde(default)]
    act: String,
    /// Signed on behalf of: cpam or ars.
    #[serde(default)]
    actor: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "contract.html")]
pub struct ContractPage {
    chrome: Chrome,
    id: String,
    name: String,
    on: String,
    contracts: Vec<ContractRow>,
    missions: Vec<MissionRow>,
    may_sign: bool,
    signers: Vec<super::Choice>,
    may_amend: bool,
    may_terminate: bool,
    form: ContractForm,
    /// Which form the errors and the values belong to.
    open: String,
    errors: Errors,
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct Done {
    fait: Option<String>,
}

async fn view(web: &Web, s: &Signed, id: &CptsId, form: ContractForm, open: &str, errors: Errors, done: Option<String>) -> Result<ContractPage, WebError> {
    let app = &web.app;
    let today = app.clock.today();
    let contracts = app.contracts(&s.who, id).await?;
    let name = app.show_cpts(&s.who, id, None).await?.cpts.record.identity.name;
    let rights = app.rights(&s.who, id).await?;
    let live = contracts.last().is_some_and(|(a, _)| a.terminated.is_none());
    let progress = rights.may(Action::MissionProgress);
    let missions = match contracts.is_empty() {
        true => Vec::new(),
        false => app
            .calendar(&s.who, id, None)
            .await?
            .missions
            .iter()
            .map(|m| {
                let d = |x: Option<jiff::civil::Date>| x.map(format::date).unwrap_or_default();
                MissionRow {
                    code: m.code.clone(),
                    label: m.label.clone(),
                    socle: m.socle,
                    start_deadline: d(m.start_deadline),
                    started: d(m.progress.started),
                    deploy_deadline: d(m.deploy_deadline),
                    deployed: d(m.progress.deployed),
                    status: m.status.label(),
                    can_start: live && progress && m.progress.started.is_none(),
                    can_deploy: live && progress && m.progress.started.is_some() && m.progress.deployed.is_none(),
                }
            })
            .collect(),
    };
    Ok(ContractPage {
        chrome: Chrome::new(s, urls::CPTS_LIST),
        id: id.to_string(),
        name,
        on: format::date(today),
        contracts: contracts
            .iter()
            .map(|(a, _)| ContractRow {
                seq: a.seq,
                signed: format::date(a.signed()),
                cpam: a.cpam.clone(),
                ars: a.ars.clone(),
                amendments: a.amendments.len(),
                terminated: a.terminated.map(format::date).unwrap_or_default(),
            })
            .collect(),
        missions,
        may_sign: rights.may(Action::SignContract),
        signers: signers(s).into_iter().map(|a| super::Choice::new(a.code(), a.label(), form.actor == a.code())).collect(),
        may_amend: live && rights.may(Action::AmendContract),
        may_terminate: live && rights.may(Action::TerminateContract),
        form,
        open: open.into(),
        errors,
        done,
    })
}

/// The parties a user may sign for: the CPAM (its agents), the ARS (its agents), both (national).
fn signers(s: &Signed) -> Vec<Actor> {
    use cpts_app::Role;
    let holds = |r: Role| s.who.grants.iter().any(|g| g.role == r);
    let national = holds(Role::AdminNational);
    [(Actor::Cpam, Role::AgentCpam), (Actor::Ars, Role::AgentArs)]
        .into_iter()
        .filter(|(_, r)| national || holds(*r))
        .map(|(a, _)| a)
        .collect()
}

fn here(id: &CptsId, done: &str) -> Response {
    Redirect::to(&format!("{}?fait={done}", urls::cpts_part(id.as_str(), "contrat"))).into_response()
}

pub async fn page(State(web): State<Web>, s: Signed, Path(id): Path<String>, Query(q): Query<Done>) -> Result<ContractPage, WebError> {
    let id = cpts_id(&id)?;
    let done = q.fait.map(|f| match f.as_str() {
        "signature" => "Contrat signé : son échéancier est ouvert au financement.".to_owned(),
        "mission" => "Mission mise à jour.".to_owned(),
        "avenant" => "Avenant enregistré.".to_owned(),
        "resiliation" => "Résiliation enregistrée.".to_owned(),
        _ => "Enregistré.".to_owned(),
    });
    let form = ContractForm { on: format::date(web.app.clock.today()), by: s.who.name.clone(), ..ContractForm::default() };
    view(&web, &s, &id, form, "", Errors::default(), done).await
}

/// The acts of the page: `signature`, `mission`, `avenant`, `resiliation`.
pub async fn act(State(web): State<Web>, s: Signed, Path((id, act)): Path<(String, String)>, Form(f): Form<ContractForm>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let app = &web.app;
    let mut errors = Errors::default();
    let field = |name: &str| format!("{act}-{name}");
    let on = if act == "avenant" { None } else { forms::date(&mut errors, &field("on"), &f.on) };
    let result = match (act.as_str(), on) {
        (_, None) if act != "avenant" => None,
        ("signature", Some(on)) => {
            // The CPAM and the ARS both sign: one records it for its party, the other co-signs.
            let actor = Actor::parse(&f.actor).unwrap_or(Actor::Cpam);
            let cosigner = if actor == Actor::Ars { Actor::Cpam } else { Actor::Ars };
            let by = StepBy { on, actor, by: f.by.trim().to_owned(), document: None, note: None };
            Some(app.sign_contract(&s.who, SignContract { id: id.clone(), annex: f.annex.clone(), by, cosigner }).await.map(|_| ()))
        }
        ("mission", Some(on)) => Some(match f.act.as_str() {
            "demarrer" => app.start_mission(&s.who, &id, &f.mission, on).await.map(|_| ()),
            "deployer" => app.deploy_mission(&s.who, &id, &f.mission, on).await.map(|_| ()),
            _ => return Err(WebError::NotFound),
        }),
        ("avenant", _) => Some(app.amend_contract(&s.who, &id, &f.annex).await.map(|_| ())),
        ("resiliation", Some(on)) => {
            let by = StepBy { on, actor: Actor::Cpam, by: f.by.trim().to_owned(), document: None, note: None };
            Some(app.terminate_contract(&s.who, Terminate { id: id.clone(), reason: f.reason.trim().to_owned(), by }).await.map(|_| ()))
        }
        _ => return Err(WebError::NotFound),
    };
    match result {
        Some(Ok(())) => Ok(here(&id, &act)),
        Some(Err(e @ (AppError::Invalid(_) | AppError::Refused(_) | AppError::Conflict(_)))) => {
            let fields = [("annexe", field("annex")), ("par", field("by")), ("motif", field("reason"))];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (*a, b.as_str())).collect();
            let status = if matches!(e, AppError::Conflict(_)) { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
            let page = view(&web, &s, &id, f, &act, Errors::of(&e, &fields), None).await?;
            Ok((status, page).into_response())
        }
        Some(Err(e)) => Err(e.into()),
        None => {
            let page = view(&web, &s, &id, f, &act, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
