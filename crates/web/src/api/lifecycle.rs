//! A CPTS's lifecycle over the API: the steps recorded and those possible next (with the
//! parties the caller may act for), recording a step, the check of the statutes.

use axum::extract::State;
use axum::http::StatusCode;
use cpts_app::lifecycle::{StepBy, step_action};
use cpts_domain::lifecycle::{Actor, Event, Step};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Path, Query};
use super::members::date_field;
use super::{cpts_id, date_param};
use crate::Web;

#[derive(Serialize, ToSchema)]
pub struct StepEventOut {
    /// Step code (`declaration`, `validation-projet`…).
    pub step: String,
    pub step_label: String,
    pub date: Date,
    /// `cpts`, `ars` or `cpam`: the party that acted.
    pub actor: String,
    /// The person or office that acted.
    pub by: String,
    pub document: Option<String>,
    pub note: Option<String>,
    /// For co-signed steps, every party that signed.
    pub signatories: Vec<String>,
}

fn event_out(e: &Event) -> StepEventOut {
    StepEventOut {
        step: e.step.code().into(),
        step_label: e.step.label().into(),
        date: e.date,
        actor: e.actor.code().into(),
        by: e.by.clone(),
        document: e.document.clone(),
        note: e.note.clone(),
        signatories: e.signatories.iter().map(|a| a.code().to_owned()).collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct NextStep {
    pub step: String,
    pub label: String,
    /// False for the signature, renewal and termination: they come with the contract.
    pub recordable: bool,
}

#[derive(Serialize, ToSchema)]
pub struct StatutesOut {
    /// When the statutes were checked against the ACI's criteria.
    pub checked_on: Date,
    pub document: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LifecycleOut {
    pub id: String,
    pub name: String,
    /// The day the view is of.
    pub on: Date,
    /// The stage the recorded steps reached (code); absent before any step.
    pub stage: Option<String>,
    pub stage_label: Option<String>,
    /// The stage on `on`: « échu » once the term of the contract in force is over.
    pub now: Option<String>,
    pub now_label: Option<String>,
    /// The term (exclusive) of the last contract signed by `on`.
    pub contract_end: Option<Date>,
    pub statutes: Option<StatutesOut>,
    /// The steps recorded by `on`, in order.
    pub history: Vec<StepEventOut>,
    /// The steps that may follow.
    pub next: Vec<NextStep>,
    /// The parties (`cpts`, `ars`, `cpam`) the caller may record a step for.
    pub may_act_as: Vec<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnQuery {
    /// As of this date (YYYY-MM-DD; default today).
    pub on: Option<String>,
}

/// The lifecycle of a CPTS: history, stage, next steps.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/lifecycle", tag = "cycle", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), OnQuery),
    responses((status = 200, body = LifecycleOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn show(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<OnQuery>) -> Result<axum::Json<LifecycleOut>, ApiError> {
    let id = cpts_id(&id)?;
    let on = date_param("on", q.on.as_deref())?;
    let life = web.app.lifecycle(&p, &id, on).await?;
    let rights = web.app.rights(&p, &id).await?;
    Ok(axum::Json(LifecycleOut {
        id: life.id.to_string(),
        name: life.name,
        on: life.on,
        stage: life.stage.map(|s| s.code().into()),
        stage_label: life.stage.map(|s| s.label().into()),
        now: life.now.map(|s| s.code().into()),
        now_label: life.now.map(|s| s.label().into()),
        contract_end: life.contract_end,
        statutes: life.statutes.map(|(checked_on, document)| StatutesOut { checked_on, document }),
        history: life.history.iter().map(event_out).collect(),
        next: life
            .next
            .iter()
            .map(|s| NextStep { step: s.code().into(), label: s.label().into(), recordable: !matches!(s, Step::Sign | Step::Renew | Step::Terminate) })
            .collect(),
        may_act_as: Actor::ALL.into_iter().filter(|a| rights.may(step_action(*a))).map(|a| a.code().to_owned()).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepIn {
    /// Step code (see `next` of the lifecycle).
    pub step: String,
    /// The party acting: `cpts`, `ars` or `cpam` (one the caller may act for).
    pub actor: String,
    #[schema(format = Date, example = "2021-10-25")]
    pub on: String,
    /// The person or office that acted (default: the caller's name).
    pub by: Option<String>,
    pub document: Option<String>,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StepOut {
    pub event: StepEventOut,
    /// The stage reached (code).
    pub stage: String,
    pub stage_label: String,
}

/// Record the next step of the lifecycle (not the signature nor the termination: they come
/// with the contract).
#[utoipa::path(post, path = "/api/v1/cpts/{id}/lifecycle/steps", tag = "cycle", security(("jeton" = [])), request_body = StepIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 201, body = StepOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody, description = "Données invalides, ou étape refusée par les règles")))]
pub async fn record(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Json(b): Json<StepIn>) -> Result<(StatusCode, axum::Json<StepOut>), ApiError> {
    let id = cpts_id(&id)?;
    let step = Step::parse(&b.step).map_err(|e| ApiError::field("step", e))?;
    let actor = Actor::parse(&b.actor).map_err(|e| ApiError::field("actor", e))?;
    let on = date_field("on", &b.on)?;
    let opt = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let by = StepBy { on, actor, by: opt(b.by).unwrap_or_else(|| p.name.clone()), document: opt(b.document), note: opt(b.note) };
    let done = web.app.record_step(&p, &id, step, &by).await.map_err(|e| super::registry::renamed(e, &[("par", "by")]))?;
    Ok((StatusCode::CREATED, axum::Json(StepOut { event: event_out(&done.event), stage: done.stage.code().into(), stage_label: done.stage.label().into() })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatutesIn {
    /// When the statutes were checked (not in the future).
    #[schema(format = Date, example = "2021-10-25")]
    pub checked_on: String,
    /// Reference of the document.
    pub document: Option<String>,
}

/// Record that the statutes were checked against the ACI's criteria (a condition of the
/// contract's signature).
#[utoipa::path(put, path = "/api/v1/cpts/{id}/statutes", tag = "cycle", security(("jeton" = [])), request_body = StatutesIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 204, description = "Vérification enregistrée"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn statutes(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Json(b): Json<StatutesIn>) -> Result<StatusCode, ApiError> {
    let id = cpts_id(&id)?;
    let on = date_field("checked_on", &b.checked_on)?;
    let document = b.document.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    web.app.set_statutes(&p, &id, on, document.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
