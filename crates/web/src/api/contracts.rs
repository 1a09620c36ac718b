//! A CPTS's ACI contracts: the list, the contract in force with its missions and envelopes, the
//! deployment calendar, and the acts of the contract page (signature, amendment, termination,
//! mission start and deployment), each through the use case the page calls.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cpts_app::contracts::{Decided, SignContract, Terminate};
use cpts_app::lifecycle::StepBy;
use cpts_domain::agreement::Agreement;
use cpts_domain::calendar::MissionStatus;
use cpts_domain::lifecycle::Actor;
use cpts_engine::contract::Part;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Path, Query};
use super::funding::CaseIn;
use super::{cpts_id, date_param};
use crate::Web;

pub fn routes(r: OpenApiRouter<Web>) -> OpenApiRouter<Web> {
    r.routes(routes!(list))
        .routes(routes!(current, sign))
        .routes(routes!(calendar))
        .routes(routes!(amend))
        .routes(routes!(terminate))
        .routes(routes!(mission))
}

/// A decimal as text with a decimal point (`12.5`): exact, whatever the client's floats.
pub(super) fn dec(d: cpts_engine::rate::Dec) -> String {
    d.to_string().replace(',', ".")
}

/// A case file or annex sent as YAML text, or as a JSON object (written back as YAML: the
/// use cases read YAML and may add lines to it).
pub(super) fn yaml_text(c: &CaseIn) -> Result<String, ApiError> {
    match c {
        CaseIn::Text(t) => Ok(t.clone()),
        CaseIn::Object(o) => yaml_serde::to_string(&serde_json::Value::Object(o.clone()))
            .map_err(|e| ApiError::field("annex", format!("objet illisible : {e}"))),
    }
}

fn actor(field: &str, s: Option<&str>, default: Actor) -> Result<Actor, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => Actor::parse(s).map_err(|e| ApiError::field(field, e)),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContractItem {
    /// Number of the contract for its CPTS (1, then 2 after a renewal).
    pub seq: i64,
    pub signed: Date,
    /// The parties besides the CPTS.
    pub cpam: String,
    pub ars: String,
    pub amendments: u64,
    #[schema(nullable)]
    pub terminated: Option<Date>,
    #[schema(nullable)]
    pub termination_reason: Option<String>,
    /// Stored version of the contract.
    pub version: i64,
}

fn item(a: &Agreement, version: i64) -> ContractItem {
    ContractItem {
        seq: a.seq,
        signed: a.signed(),
        cpam: a.cpam.clone(),
        ars: a.ars.clone(),
        amendments: u64::try_from(a.amendments.len()).unwrap_or(u64::MAX),
        terminated: a.terminated,
        termination_reason: a.termination_reason.clone(),
        version,
    }
}

/// The contracts of a CPTS, oldest first.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/contracts", tag = "contrats", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 200, body = Vec<ContractItem>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>) -> Result<Json<Vec<ContractItem>>, ApiError> {
    let id = cpts_id(&id)?;
    Ok(Json(web.app.contracts(&p, &id).await?.iter().map(|(a, v)| item(a, *v)).collect()))
}

/// A mission's yearly envelopes for the contract year in force, in cents; `null`: the national grid.
#[derive(Serialize, ToSchema)]
pub struct EnvelopesOut {
    #[schema(nullable)]
    pub fixed_cents: Option<i64>,
    #[schema(nullable)]
    pub variable_cents: Option<i64>,
    #[schema(nullable)]
    pub activation_cents: Option<i64>,
    /// Effective date of the amendment that set the latest of them, if one did.
    #[schema(nullable)]
    pub amended_on: Option<Date>,
}

#[derive(Serialize, ToSchema)]
pub struct ObjectiveOut {
    pub indicator: String,
    #[schema(nullable)]
    pub label: Option<String>,
    /// Decimal, as text (`12.5`).
    pub baseline: String,
    /// The target of each contract year (index 0: year 1), decimals as text.
    pub targets: Vec<String>,
    /// Share of the mission's variable envelope, in billionths (1 000 000 000 = 100 %).
    pub weight_nano: i64,
    pub weight_label: String,
    /// How the achievement is paid, in French.
    pub rule: String,
}

#[derive(Serialize, ToSchema)]
pub struct MissionOut {
    /// Mission code of the rules (`acces_soins`...).
    pub code: String,
    pub label: String,
    /// Actual start date, once started.
    #[schema(nullable)]
    pub start: Option<Date>,
    pub envelopes: EnvelopesOut,
    pub objectives: Vec<ObjectiveOut>,
}

#[derive(Serialize, ToSchema)]
pub struct ContractOut {
    pub seq: i64,
    pub signed: Date,
    /// The date the contract is shown on.
    pub on: Date,
    /// The contract year holding `on`; absent outside the contract.
    #[schema(nullable)]
    pub year: Option<u8>,
    pub years: u8,
    pub population: u64,
    #[schema(nullable)]
    pub population_source: Option<String>,
    #[schema(nullable)]
    pub lettre_intention: Option<Date>,
    pub cpam: String,
    pub ars: String,
    #[schema(nullable)]
    pub terminated: Option<Date>,
    #[schema(nullable)]
    pub termination_reason: Option<String>,
    /// The annex as signed (YAML).
    pub annex: String,
    /// The amendments' texts (YAML), in order.
    pub amendments: Vec<String>,
    pub missions: Vec<MissionOut>,
    /// Stored version of the contract.
    pub version: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractQuery {
    /// Contract number (default: the latest).
    #[param(minimum = 1)]
    pub seq: Option<i64>,
    /// As in force on this date (YYYY-MM-DD; default today).
    pub on: Option<String>,
}

/// The contract in force (the latest, or the one named) with its missions, envelopes and objectives.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/contract", tag = "contrats", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ContractQuery),
    responses((status = 200, body = ContractOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn current(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<ContractQuery>) -> Result<Json<ContractOut>, ApiError> {
    let id = cpts_id(&id)?;
    let on = date_param("on", q.on.as_deref())?;
    let v = web.app.contract(&p, &id, q.seq, on).await?;
    let (a, c) = (&v.agreement, &v.contract);
    let year = c.year_of(v.on);
    let year_start = year.and_then(|y| c.year_bounds(y)).map_or(c.signed, |(s, _)| s);
    let missions = c
        .missions
        .iter()
        .map(|m| {
            let def = web.app.rules.mission(m.mission);
            let (fixed, f_on) = m.envelope_on(Part::Fixed, year_start);
            let (variable, v_on) = m.envelope_on(Part::Variable, year_start);
            let (activation, a_on) = m.envelope_on(Part::Activation, year_start);
            MissionOut {
                code: def.map(|d| d.code.clone()).unwrap_or_default(),
                label: def.map(|d| d.label.clone()).unwrap_or_default(),
                start: m.start,
                envelopes: EnvelopesOut {
                    fixed_cents: fixed.map(|x| x.get()),
                    variable_cents: variable.map(|x| x.get()),
                    activation_cents: activation.map(|x| x.get()),
                    amended_on: [f_on, v_on, a_on].into_iter().flatten().max(),
                },
                objectives: m
                    .objectives
                    .iter()
                    .map(|o| ObjectiveOut {
                        indicator: o.indicator.clone(),
                        label: o.label.clone(),
                        baseline: dec(o.baseline),
                        targets: o.targets.iter().map(|t| dec(*t)).collect(),
                        weight_nano: o.weight.nano(),
                        weight_label: o.weight.to_string(),
                        rule: o.rule.label_fr(),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Json(ContractOut {
        seq: a.seq,
        signed: a.signed(),
        on: v.on,
        year,
        years: c.years(),
        population: c.population,
        population_source: c.population_source.clone(),
        lettre_intention: c.lettre_intention,
        cpam: a.cpam.clone(),
        ars: a.ars.clone(),
        terminated: a.terminated,
        termination_reason: a.termination_reason.clone(),
        annex: a.annex.clone(),
        amendments: a.amendments.iter().map(|x| x.text.clone()).collect(),
        missions,
        version: v.version,
    }))
}

fn status_code(s: MissionStatus) -> &'static str {
    match s {
        MissionStatus::Upcoming => "upcoming",
        MissionStatus::Overdue => "overdue",
        MissionStatus::Started => "started",
        MissionStatus::Late => "late",
        MissionStatus::Deployed => "deployed",
    }
}

#[derive(Serialize, ToSchema)]
pub struct MissionDatesOut {
    pub code: String,
    pub label: String,
    /// A mission of the socle (every CPTS runs it).
    pub socle: bool,
    #[schema(nullable)]
    pub start_deadline: Option<Date>,
    #[schema(nullable)]
    pub started: Option<Date>,
    #[schema(nullable)]
    pub deploy_deadline: Option<Date>,
    #[schema(nullable)]
    pub deployed: Option<Date>,
    /// `upcoming`, `overdue`, `started`, `late` or `deployed`.
    pub status: String,
    pub status_label: String,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarOut {
    pub on: Date,
    pub signed: Date,
    pub missions: Vec<MissionDatesOut>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnQuery {
    /// As it stood on this date (YYYY-MM-DD; default today): later starts are not counted.
    pub on: Option<String>,
}

/// The deployment calendar of the current contract: each mission's deadlines and progress.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/contract/calendar", tag = "contrats", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), OnQuery),
    responses((status = 200, body = CalendarOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn calendar(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<OnQuery>) -> Result<Json<CalendarOut>, ApiError> {
    let id = cpts_id(&id)?;
    let on = date_param("on", q.on.as_deref())?;
    let v = web.app.calendar(&p, &id, on).await?;
    Ok(Json(CalendarOut {
        on: v.on,
        signed: v.signed,
        missions: v
            .missions
            .iter()
            .map(|m| MissionDatesOut {
                code: m.code.clone(),
                label: m.label.clone(),
                socle: m.socle,
                start_deadline: m.start_deadline,
                started: m.progress.started,
                deploy_deadline: m.deploy_deadline,
                deployed: m.progress.deployed,
                status: status_code(m.status).into(),
                status_label: m.status.label().into(),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The annex of the signed contract (signature date, missions, envelopes, objectives), as
    /// YAML text or the same content as a JSON object; without a population, the territory's
    /// INSEE population is written in.
    pub annex: CaseIn,
    /// Signature date: the annex's `signed`.
    pub on: Date,
    /// Who signs (a person or a service).
    pub by: String,
    /// The party recorded as signing: `cpam` (default) or `ars`; the other co-signs.
    #[schema(nullable)]
    pub actor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SignedOut {
    pub seq: i64,
    pub signed: Date,
    pub cpam: String,
    pub ars: String,
    /// Ledger lines opened by the signature.
    pub lines: u64,
    /// Their total, in cents.
    pub total_cents: i64,
}

/// Sign the ACI contract (or renew it): the lifecycle step, the contract and its ledger lines in one write.
#[utoipa::path(post, path = "/api/v1/cpts/{id}/contract", tag = "contrats", security(("jeton" = [])), request_body = SignIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 201, body = SignedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn sign(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, super::extract::Json(b): super::extract::Json<SignIn>) -> Result<(StatusCode, Json<SignedOut>), ApiError> {
    let id = cpts_id(&id)?;
    let annex = yaml_text(&b.annex)?;
    let actor = actor("actor", b.actor.as_deref(), Actor::Cpam)?;
    let cosigner = if actor == Actor::Ars { Actor::Cpam } else { Actor::Ars };
    let by = StepBy { on: b.on, actor, by: b.by.trim().to_owned(), document: None, note: None };
    let s = web.app.sign_contract(&p, SignContract { id, annex, by, cosigner }).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignedOut {
            seq: s.agreement.seq,
            signed: s.agreement.signed(),
            cpam: s.agreement.cpam.clone(),
            ars: s.agreement.ars.clone(),
            lines: u64::try_from(s.lines.len()).unwrap_or(u64::MAX),
            total_cents: s.total.get(),
        }),
    ))
}

/// A change decided on the contract and saved.
#[derive(Serialize, ToSchema)]
pub struct DecidedOut {
    /// What was done, in French.
    pub summary: String,
    /// Ledger lines cancelled and inserted to follow the contract.
    pub cancelled_lines: u64,
    pub inserted_lines: u64,
}

fn decided(d: &Decided) -> Json<DecidedOut> {
    let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
    Json(DecidedOut {
        summary: d.outcome.summary.clone(),
        cancelled_lines: n(d.outcome.changes.cancel.len()),
        inserted_lines: n(d.outcome.changes.insert.len()),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendIn {
    /// The amendment (effective, reason, population, missions), as YAML text or a JSON object.
    pub amendment: CaseIn,
}

/// Record an amendment (avenant) to the current contract; the ledger follows.
#[utoipa::path(post, path = "/api/v1/cpts/{id}/contract/amendments", tag = "contrats", security(("jeton" = [])), request_body = AmendIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 200, body = DecidedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn amend(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, super::extract::Json(b): super::extract::Json<AmendIn>) -> Result<Json<DecidedOut>, ApiError> {
    let id = cpts_id(&id)?;
    let text = yaml_text(&b.amendment).map_err(|_| ApiError::field("amendment", "objet illisible"))?;
    Ok(decided(&web.app.amend_contract(&p, &id, &text).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminateIn {
    pub on: Date,
    pub reason: String,
    /// Who records it for the CPAM.
    pub by: String,
}

/// Terminate the current contract: its schedule is settled on the date, any excess is to repay.
#[utoipa::path(post, path = "/api/v1/cpts/{id}/contract/termination", tag = "contrats", security(("jeton" = [])), request_body = TerminateIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 200, body = DecidedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn terminate(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, super::extract::Json(b): super::extract::Json<TerminateIn>) -> Result<Json<DecidedOut>, ApiError> {
    let id = cpts_id(&id)?;
    let by = StepBy { on: b.on, actor: Actor::Cpam, by: b.by.trim().to_owned(), document: None, note: None };
    Ok(decided(&web.app.terminate_contract(&p, Terminate { id, reason: b.reason.trim().to_owned(), by }).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MissionIn {
    pub on: Date,
}

/// Record a mission's start (`start`) or full deployment (`deploy`) in the current contract.
#[utoipa::path(post, path = "/api/v1/cpts/{id}/contract/missions/{code}/{act}", tag = "contrats", security(("jeton" = [])), request_body = MissionIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("code" = String, Path, description = "Code de la mission (`acces_soins`...)"),
        ("act" = String, Path, description = "`start` (démarrage) ou `deploy` (déploiement complet)")),
    responses((status = 200, body = DecidedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mission(
    State(web): State<Web>,
    Caller(p): Caller,
    Path((id, code, act)): Path<(String, String, String)>,
    super::extract::Json(b): super::extract::Json<MissionIn>,
) -> Result<Json<DecidedOut>, ApiError> {
    let id = cpts_id(&id)?;
    let d = match act.as_str() {
        "start" => web.app.start_mission(&p, &id, &code, b.on).await?,
        "deploy" => web.app.deploy_mission(&p, &id, &code, b.on).await?,
        _ => return Err(ApiError::not_found()),
    };
    Ok(decided(&d))
}
