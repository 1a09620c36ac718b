//! What the scope's readers follow, over the API: the alerts (filtered as on the alerts page),
//! the audit log, and the dashboard's figures.

use axum::extract::State;
use cpts_app::audit::AuditQuery;
use cpts_app::dashboard::{ALERT_HORIZON_DAYS, StageGroup};
use cpts_app::national::AlertFilter;
use cpts_domain::calendar::Urgency;
use cpts_domain::ids::CptsId;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Page, PageQuery, Path, Query};
use super::{cpts_id, date_param};
use crate::Web;

#[derive(Serialize, ToSchema)]
pub struct AlertOut {
    pub cpts: String,
    pub cpts_name: String,
    /// The deadline (or the day the alert is of, when none is known).
    pub date: Date,
    /// `retard`, `a-venir` or `a-faire`.
    pub urgency: String,
    pub urgency_label: String,
    pub text: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// `retard` (late), `a-venir` (due within 30 days) or `a-faire` (no deadline known).
    pub urgency: Option<String>,
    /// Part of the CPTS's name or id.
    pub q: Option<String>,
    /// From 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

async fn alert_page(web: &Web, p: &cpts_app::Principal, id: Option<&CptsId>, q: AlertQuery) -> Result<Page<AlertOut>, ApiError> {
    let urgency = q.urgency.unwrap_or_default();
    if !urgency.is_empty() && Urgency::from_code(&urgency).is_none() {
        let codes: Vec<&str> = Urgency::ALL.iter().map(|u| u.code()).collect();
        return Err(ApiError::field("urgency", format!("urgence inconnue : {}", codes.join(", "))));
    }
    let all = web.app.alerts(p, id, ALERT_HORIZON_DAYS, web.app.clock.today()).await?;
    let filter = AlertFilter { text: q.q.unwrap_or_default(), urgency };
    let items: Vec<AlertOut> = filter
        .apply(&all)
        .map(|(c, a)| AlertOut {
            cpts: c.record.id.to_string(),
            cpts_name: c.record.identity.name.clone(),
            date: a.date,
            urgency: a.urgency.code().into(),
            urgency_label: a.urgency.label().into(),
            text: a.text.clone(),
        })
        .collect();
    PageQuery { page: q.page, per_page: q.per_page }.of(items)
}

/// The alerts of the caller's scope (late, due within 30 days, to do), CPTS by CPTS.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alertes", security(("jeton" = [])), params(AlertQuery),
    responses((status = 200, body = Page<AlertOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn alerts(State(web): State<Web>, Caller(p): Caller, Query(q): Query<AlertQuery>) -> Result<axum::Json<Page<AlertOut>>, ApiError> {
    Ok(axum::Json(alert_page(&web, &p, None, q).await?))
}

/// The alerts of one CPTS.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/alerts", tag = "alertes", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), AlertQuery),
    responses((status = 200, body = Page<AlertOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn cpts_alerts(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<AlertQuery>) -> Result<axum::Json<Page<AlertOut>>, ApiError> {
    let id = cpts_id(&id)?;
    Ok(axum::Json(alert_page(&web, &p, Some(&id), q).await?))
}

/// One row of the audit log.
#[derive(Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    pub login: String,
    /// The role the write was allowed under.
    pub role: String,
    /// Action code (`identite`, `membres`…).
    pub action: String,
    pub cpts: Option<String>,
    /// The state before the write, as recorded (JSON).
    pub before: Option<serde_json::Value>,
    /// The state after.
    pub after: Option<serde_json::Value>,
    /// The request or batch the write belongs to.
    pub batch: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only the writes of this account.
    pub login: Option<String>,
    /// Only the writes on or after this day (YYYY-MM-DD).
    pub since: Option<String>,
    /// From 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

fn json_of(s: Option<String>) -> Option<serde_json::Value> {
    s.map(|j| serde_json::from_str(&j).unwrap_or(serde_json::Value::String(j)))
}

async fn audit_page(web: &Web, p: &cpts_app::Principal, cpts: Option<CptsId>, q: AuditParams) -> Result<Page<AuditOut>, ApiError> {
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(100);
    // The bounds checked as for any list.
    PageQuery { page: Some(page), per_page: Some(per_page) }.of(Vec::<()>::new())?;
    let since = date_param("since", q.since.as_deref())?;
    let query = AuditQuery {
        cpts,
        login: q.login.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()),
        since,
        limit: Some(i64::from(per_page)),
        offset: Some(i64::from(page - 1) * i64::from(per_page)),
    };
    let got = web.app.audit_page(p, &query).await?;
    let items = got
        .entries
        .into_iter()
        .map(|e| AuditOut {
            id: e.id,
            at: e.at,
            login: e.login,
            role: e.role,
            action: e.action,
            cpts: e.cpts,
            before: json_of(e.before),
            after: json_of(e.after),
            batch: e.batch,
        })
        .collect();
    Ok(Page { items, page, per_page, total: got.total })
}

/// The audit log, newest first: everything for the national level, else the writes on the CPTS
/// of the caller's scope.
#[utoipa::path(get, path = "/api/v1/audit", tag = "journal", security(("jeton" = [])), params(AuditParams),
    responses((status = 200, body = Page<AuditOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn audit(State(web): State<Web>, Caller(p): Caller, Query(q): Query<AuditParams>) -> Result<axum::Json<Page<AuditOut>>, ApiError> {
    Ok(axum::Json(audit_page(&web, &p, None, q).await?))
}

/// The audit log of one CPTS, newest first.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/audit", tag = "journal", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), AuditParams),
    responses((status = 200, body = Page<AuditOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn cpts_audit(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<AuditParams>) -> Result<axum::Json<Page<AuditOut>>, ApiError> {
    let id = cpts_id(&id)?;
    Ok(axum::Json(audit_page(&web, &p, Some(id), q).await?))
}

#[derive(Serialize, ToSchema)]
pub struct StageOut {
    /// Stage group code (`signe`, `adhesion`…), or `aucune` when no step is recorded.
    pub stage: String,
    pub label: String,
    pub cpts: u64,
    /// The population of their territories.
    pub population: u64,
}

#[derive(Serialize, ToSchema)]
pub struct AreaOut {
    /// Département code.
    pub code: String,
    pub name: String,
    /// Région code.
    pub region: String,
    pub population: u64,
    /// Inhabitants living on a commune of at least one CPTS.
    pub covered: u64,
    /// CPTS with a commune in it.
    pub cpts: u64,
}

#[derive(Serialize, ToSchema)]
pub struct MoneyOut {
    /// `aci`, or the convention's funder kind (`ars`, `collectivite`…).
    pub funder: String,
    pub funder_label: String,
    /// The ACI component (operating allocation, a mission's code); absent for a convention.
    pub component: Option<String>,
    pub component_label: String,
    pub planned_cents: i64,
    /// Of which falling due on or before the dashboard's day.
    pub past_due_cents: i64,
    pub paid_cents: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AlertCounts {
    pub late: u64,
    pub soon: u64,
    pub todo: u64,
    /// CPTS with at least one alert.
    pub cpts: u64,
    /// The horizon of `soon`, in days.
    pub horizon_days: i64,
}

#[derive(Serialize, ToSchema)]
pub struct DashboardOut {
    pub on: Date,
    /// CPTS in the scope.
    pub cpts: u64,
    /// Population of the scope's départements.
    pub population: u64,
    pub covered: u64,
    pub stages: Vec<StageOut>,
    pub departements: Vec<AreaOut>,
    pub planned_cents: i64,
    pub paid_cents: i64,
    /// The money by funder and part of the contract.
    pub money: Vec<MoneyOut>,
    pub alerts: AlertCounts,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// The figures as of this date (YYYY-MM-DD; default today).
    pub on: Option<String>,
}

fn n(x: usize) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

/// The figures of the dashboard over the caller's scope: CPTS by stage, coverage by
/// département, money by funder and part, alert counts.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "tableau-de-bord", security(("jeton" = [])), params(DashboardQuery),
    responses((status = 200, body = DashboardOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn dashboard(State(web): State<Web>, Caller(p): Caller, Query(q): Query<DashboardQuery>) -> Result<axum::Json<DashboardOut>, ApiError> {
    let on = date_param("on", q.on.as_deref())?.unwrap_or_else(|| web.app.clock.today());
    let d = web.app.dashboard(&p, on, ALERT_HORIZON_DAYS).await?;
    let rules = &web.app.rules;
    let stages = StageGroup::ALL
        .into_iter()
        .map(Some)
        .chain([None])
        .filter_map(|g| {
            let c = d.by_stage.get(&g)?;
            Some(StageOut {
                stage: g.map_or("aucune", StageGroup::code).into(),
                label: g.map_or("aucune étape enregistrée", StageGroup::label).into(),
                cpts: n(c.cpts),
                population: c.population,
            })
        })
        .collect();
    let count = |u: Urgency| n(d.alerts.iter().flat_map(|c| &c.alerts).filter(|a| a.urgency == u).count());
    Ok(axum::Json(DashboardOut {
        on: d.on,
        cpts: n(d.cpts.len()),
        population: d.population(),
        covered: d.covered(),
        stages,
        departements: d
            .departements
            .iter()
            .map(|a| AreaOut { code: a.code.clone(), name: a.name.clone(), region: a.region.clone(), population: a.population, covered: a.covered, cpts: n(a.cpts) })
            .collect(),
        planned_cents: d.money.planned,
        paid_cents: d.money.paid,
        money: d
            .by_source
            .iter()
            .map(|m| MoneyOut {
                funder_label: match m.funder.as_str() {
                    "aci" => "Assurance Maladie (ACI)".to_owned(),
                    kind => cpts_domain::ledger::FunderKind::parse(kind).map_or_else(|_| kind.to_owned(), |k| k.label().to_owned()),
                },
                component_label: m.component.as_deref().map_or_else(|| "convention".to_owned(), |c| cpts_domain::ledger::component_label(rules, c)),
                funder: m.funder.clone(),
                component: m.component.clone(),
                planned_cents: m.planned,
                past_due_cents: m.past_due,
                paid_cents: m.paid,
            })
            .collect(),
        alerts: AlertCounts { late: count(Urgency::Late), soon: count(Urgency::Soon), todo: count(Urgency::ToDo), cpts: n(d.alerts.len()), horizon_days: ALERT_HORIZON_DAYS },
    }))
}
