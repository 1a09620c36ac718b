//! The funding engine on a contract sent in the request: the per-request what-if of a draft
//! contract or avenant, under the rules in force or a reform (shipped, or inline).

use axum::Json;
use axum::extract::State;
use cpts_app::simulation::Reform;
use cpts_engine::report::{ScheduleReport, YearReport};
use cpts_engine::simulate::Totals;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::Caller;
use crate::Web;

/// A case file: its YAML text (as `cpts funding` reads it), or the same content as a JSON object.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CaseIn {
    Text(String),
    Object(serde_json::Map<String, serde_json::Value>),
}

impl CaseIn {
    /// As text for the engine's reader (JSON is YAML).
    fn text(&self) -> String {
        match self {
            CaseIn::Text(t) => t.clone(),
            CaseIn::Object(o) => serde_json::Value::Object(o.clone()).to_string(),
        }
    }
}

/// A reform: one shipped with cpts by id, or inline parameter changes (a reform file's content,
/// YAML text or JSON object).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReformIn {
    /// Id of a shipped reform (see `cpts funding simulate --help`).
    pub builtin: Option<String>,
    /// A reform file's content.
    pub inline: Option<CaseIn>,
}

impl ReformIn {
    fn reform(&self) -> Result<Reform, ApiError> {
        match (&self.builtin, &self.inline) {
            (Some(id), None) => Ok(Reform::Builtin(id.clone())),
            (None, Some(r)) => Ok(Reform::Text { name: "réforme de la requête".into(), text: r.text() }),
            _ => Err(ApiError::field("reform", "donnez soit `builtin` (une réforme livrée), soit `inline` (les changements de paramètres)")),
        }
    }
}

fn reform(r: Option<&ReformIn>) -> Result<Option<Reform>, ApiError> {
    r.map(ReformIn::reform).transpose()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearIn {
    pub case: CaseIn,
    /// Contract year, from 1 (signature to first anniversary).
    #[schema(minimum = 1, maximum = 255)]
    pub year: u8,
    pub reform: Option<ReformIn>,
}

/// One contract year computed and explained.
#[utoipa::path(post, path = "/api/v1/funding/year", tag = "financement", security(("jeton" = [])), request_body = YearIn,
    responses((status = 200, body = YearReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn year(State(web): State<Web>, Caller(p): Caller, super::extract::Json(b): super::extract::Json<YearIn>) -> Result<Json<YearReport>, ApiError> {
    Ok(Json(web.app.funding_year(&p, &b.case.text(), b.year, reform(b.reform.as_ref())?.as_ref())?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    pub case: CaseIn,
    pub reform: Option<ReformIn>,
}

/// The dated schedule of payments over the whole contract.
#[utoipa::path(post, path = "/api/v1/funding/schedule", tag = "financement", security(("jeton" = [])), request_body = ScheduleIn,
    responses((status = 200, body = ScheduleReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn schedule(State(web): State<Web>, Caller(p): Caller, super::extract::Json(b): super::extract::Json<ScheduleIn>) -> Result<Json<ScheduleReport>, ApiError> {
    Ok(Json(web.app.funding_schedule(&p, &b.case.text(), reform(b.reform.as_ref())?.as_ref())?))
}

/// Entitlements summed over a contract's whole duration, in cents.
#[derive(Serialize, ToSchema)]
pub struct TotalsOut {
    pub operating_cents: i64,
    pub fixed_cents: i64,
    pub variable_cents: i64,
    pub activation_cents: i64,
    /// The one-off payment at the validation of the lettre d'intention.
    pub lettre_intention_cents: i64,
    pub total_cents: i64,
}

impl From<&Totals> for TotalsOut {
    fn from(t: &Totals) -> TotalsOut {
        TotalsOut {
            operating_cents: t.operating.get(),
            fixed_cents: t.fixed.get(),
            variable_cents: t.variable.get(),
            activation_cents: t.activation.get(),
            lettre_intention_cents: t.lettre_intention.get(),
            total_cents: t.total.get(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TierChange {
    pub year: u8,
    pub baseline: u8,
    pub reform: u8,
}

/// One contract under both rule sets; or why it could not be computed.
#[derive(Serialize, ToSchema)]
pub struct CaseOut {
    pub cpts: String,
    pub baseline: Option<TotalsOut>,
    pub reform: Option<TotalsOut>,
    pub diff: Option<TotalsOut>,
    pub tier_changes: Vec<TierChange>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SimulationOut {
    /// Id of the reform, when it names one.
    pub reform: Option<String>,
    pub reform_label: Option<String>,
    pub cases: Vec<CaseOut>,
    pub baseline: TotalsOut,
    pub reformed: TotalsOut,
    /// Reform minus rules in force.
    pub diff: TotalsOut,
}

pub fn simulation_out(info: Option<&cpts_engine::rules::ReformInfo>, sim: &cpts_engine::simulate::Simulation) -> SimulationOut {
    SimulationOut {
        reform: info.map(|i| i.id.clone()),
        reform_label: info.map(|i| i.label.clone()),
        cases: sim
            .cases
            .iter()
            .map(|c| match c {
                Ok(d) => CaseOut {
                    cpts: d.name.clone(),
                    baseline: Some((&d.baseline).into()),
                    reform: Some((&d.reform).into()),
                    diff: Some((&d.diff).into()),
                    tier_changes: d.tier_changes.iter().map(|(y, a, b)| TierChange { year: *y, baseline: a.0, reform: b.0 }).collect(),
                    error: None,
                },
                Err((name, e)) => CaseOut { cpts: name.clone(), baseline: None, reform: None, diff: None, tier_changes: vec![], error: Some(e.to_string()) },
            })
            .collect(),
        baseline: (&sim.baseline).into(),
        reformed: (&sim.reform).into(),
        diff: (&sim.diff).into(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateIn {
    /// The contracts to compare (1 to 1 000).
    pub cases: Vec<CaseIn>,
    pub reform: ReformIn,
}

/// A reform against the rules in force on the contracts sent.
#[utoipa::path(post, path = "/api/v1/funding/simulate", tag = "financement", security(("jeton" = [])), request_body = SimulateIn,
    responses((status = 200, body = SimulationOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn simulate(State(web): State<Web>, Caller(p): Caller, super::extract::Json(b): super::extract::Json<SimulateIn>) -> Result<Json<SimulationOut>, ApiError> {
    let texts: Vec<String> = b.cases.iter().map(CaseIn::text).collect();
    let (rules, sim) = web.app.funding_simulate(&p, &texts, &b.reform.reform()?)?;
    Ok(Json(simulation_out(rules.reform.as_ref(), &sim)))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeSimulationQuery {
    /// Id of a shipped reform.
    pub reform: String,
}

/// A shipped reform simulated on the current contract of every CPTS of the caller's scope.
#[utoipa::path(get, path = "/api/v1/simulation", tag = "financement", security(("jeton" = [])), params(ScopeSimulationQuery),
    responses((status = 200, body = SimulationOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn scope(State(web): State<Web>, Caller(p): Caller, super::extract::Query(q): super::extract::Query<ScopeSimulationQuery>) -> Result<Json<SimulationOut>, ApiError> {
    let v = web.app.simulate(&p, &Reform::Builtin(q.reform)).await?;
    Ok(Json(simulation_out(v.reform.as_ref(), &v.simulation)))
}
