//! A CPTS's activity reports: every version with its status, one version (content, sections
//! of its document, frozen results, variable amounts, review thread), the acts of the review
//! through `App::report_act` as the report page, and the document as PDF, CSV or XLSX.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cpts_app::reports::{ReportAct, ReportRef, action_of};
use cpts_domain::activity::{Act, Report};
use cpts_domain::document::Block;
use cpts_domain::ids::CptsId;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contracts::dec;
use super::cpts_id;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Page, PageQuery, Path, Query};
use super::values::{AchievementOut, achievement_out};
use crate::Web;

pub fn routes(r: OpenApiRouter<Web>) -> OpenApiRouter<Web> {
    r.routes(routes!(list)).routes(routes!(show)).routes(routes!(act)).routes(routes!(document))
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    /// `rediger`, `soumettre`, `commenter`, `repondre`, `valider` or `a-corriger`.
    pub act: String,
    pub act_label: String,
    pub on: Date,
    /// The party: `cpts`, `cpam` or `ars`.
    pub role: String,
    pub by: String,
    /// The comment, answer or correction asked; the draft's YAML for `rediger`.
    #[schema(nullable)]
    pub text: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportItem {
    pub contract: i64,
    pub year: u8,
    pub version: i64,
    /// `brouillon`, `soumis`, `en_revue`, `a_corriger` or `valide`.
    pub status: String,
    pub status_label: String,
    /// The last act, if any.
    #[schema(nullable)]
    pub last: Option<EventOut>,
}

fn event(e: &cpts_domain::activity::ReportEvent) -> EventOut {
    EventOut { act: e.act.code().into(), act_label: e.act.label().into(), on: e.on, role: e.role.code().into(), by: e.by.clone(), text: e.text.clone() }
}

fn item(r: &Report) -> ReportItem {
    ReportItem {
        contract: r.contract,
        year: r.year,
        version: r.version,
        status: r.status.code().into(),
        status_label: r.status.label().into(),
        last: r.events.last().map(event),
    }
}

/// Every version of every report of a CPTS, by contract, year and version.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/reports", tag = "rapports", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), PageQuery),
    responses((status = 200, body = Page<ReportItem>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<PageQuery>) -> Result<Json<Page<ReportItem>>, ApiError> {
    let id = cpts_id(&id)?;
    let all = web.app.reports(&p, Some(&id)).await?.iter().map(|(_, r)| item(r)).collect();
    Ok(Json(q.of(all)?))
}

fn year_ref(id: &str, contract: &str, year: &str) -> Result<ReportRef, ApiError> {
    let cpts = cpts_id(id)?;
    match (contract.parse::<i64>(), year.parse::<u8>()) {
        (Ok(c), Ok(y)) => Ok(ReportRef { cpts, year: y, contract: Some(c) }),
        _ => Err(ApiError::not_found()),
    }
}

/// A table of the report's document.
#[derive(Serialize, ToSchema)]
pub struct TableOut {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A section of the document: its heading, then its paragraphs and tables in order.
#[derive(Serialize, ToSchema)]
pub struct SectionOut {
    pub heading: String,
    pub texts: Vec<String>,
    pub tables: Vec<TableOut>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportOut {
    #[serde(flatten)]
    pub item: ReportItem,
    /// The draft as written (YAML).
    pub text: String,
    /// Indicator results frozen at submission (decimals as text), by indicator.
    pub results: std::collections::BTreeMap<String, String>,
    pub events: Vec<EventOut>,
    pub title: String,
    pub subtitle: Vec<String>,
    /// The document's sections, as the PDF shows them.
    pub sections: Vec<SectionOut>,
    /// The year's results and variable amounts, as the document computes them.
    pub achievement: AchievementOut,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// The version (default: the latest).
    #[param(minimum = 1)]
    pub version: Option<i64>,
}

/// One version of a year's report (the latest by default): status, content, document sections,
/// frozen results, variable amounts and review thread.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/reports/{contract}/{year}", tag = "rapports", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("contract" = i64, Path, description = "Numéro du contrat"),
        ("year" = u8, Path, description = "Année du contrat, à partir de 1"), VersionQuery),
    responses((status = 200, body = ReportOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn show(
    State(web): State<Web>,
    Caller(p): Caller,
    Path((id, contract, year)): Path<(String, String, String)>,
    Query(q): Query<VersionQuery>,
) -> Result<Json<ReportOut>, ApiError> {
    let target = year_ref(&id, &contract, &year)?;
    let d = web.app.report_document(&p, &target, q.version).await?;
    let mut sections: Vec<SectionOut> = Vec::new();
    for b in &d.document.blocks {
        if let Block::Heading(h) = b {
            sections.push(SectionOut { heading: h.clone(), texts: vec![], tables: vec![] });
            continue;
        }
        if sections.is_empty() {
            sections.push(SectionOut { heading: String::new(), texts: vec![], tables: vec![] });
        }
        let Some(s) = sections.last_mut() else { continue };
        match b {
            Block::Text(t) => s.texts.push(t.clone()),
            Block::Table(t) => s.tables.push(TableOut { name: t.name.clone(), header: t.header.clone(), rows: t.rows.clone() }),
            Block::Heading(_) => {}
        }
    }
    let r = &d.report;
    Ok(Json(ReportOut {
        item: item(r),
        text: r.text.clone(),
        results: r.results.iter().map(|(k, v)| (k.clone(), dec(*v))).collect(),
        events: r.events.iter().map(event).collect(),
        title: d.document.title.clone(),
        subtitle: d.document.subtitle.clone(),
        sections,
        achievement: achievement_out(&d.achievement, &[]),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActIn {
    /// `rediger` (draft, the CPTS), `soumettre`, `repondre` (the CPTS); `commenter`,
    /// `a-corriger`, `valider` (the CPAM).
    pub act: String,
    /// The draft's YAML (`rediger`: summary, actions, expenses, crisis_plan, crisis_declared), or
    /// the comment, answer or correction asked.
    #[schema(nullable)]
    pub text: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActedOut {
    pub report: ReportItem,
    /// On validation: ledger lines inserted and cancelled, and the year's balances now due (cents).
    #[schema(nullable)]
    pub inserted_lines: Option<u64>,
    #[schema(nullable)]
    pub cancelled_lines: Option<u64>,
    pub due_cents: Vec<i64>,
    /// On submission: the indicators whose year is not fully covered by values.
    pub incomplete: Vec<String>,
}

/// One act on a year's report (dated today, by the caller for the party its role acts for).
#[utoipa::path(post, path = "/api/v1/cpts/{id}/reports/{contract}/{year}/acts", tag = "rapports", security(("jeton" = [])), request_body = ActIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("contract" = i64, Path, description = "Numéro du contrat"),
        ("year" = u8, Path, description = "Année du contrat, à partir de 1")),
    responses((status = 200, body = ActedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn act(
    State(web): State<Web>,
    Caller(p): Caller,
    Path((id, contract, year)): Path<(String, String, String)>,
    super::extract::Json(b): super::extract::Json<ActIn>,
) -> Result<Json<ActedOut>, ApiError> {
    let target = year_ref(&id, &contract, &year)?;
    let act = Act::from_code(b.act.trim()).ok_or_else(|| ApiError::field("act", "attendu rediger, soumettre, commenter, repondre, a-corriger ou valider"))?;
    let cpts: &CptsId = &target.cpts;
    let role = web.app.rights(&p, cpts).await?.role(action_of(act));
    let otherwise = act.roles().first().copied().unwrap_or(cpts_domain::lifecycle::Actor::Cpts);
    let text = b.text.map(|t| t.replace("\r\n", "\n")).filter(|t| !t.trim().is_empty());
    let cmd = ReportAct { target, act, text, source: None, role: crate::pages::actor_of(role, otherwise), by: p.name.clone(), on: None };
    let done = web.app.report_act(&p, cmd).await?;
    let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
    Ok(Json(ActedOut {
        report: item(&done.report),
        inserted_lines: done.released.as_ref().map(|r| n(r.inserted)),
        cancelled_lines: done.released.as_ref().map(|r| n(r.cancelled)),
        due_cents: done.released.as_ref().map(|r| r.due.iter().map(|l| l.amount.get()).collect()).unwrap_or_default(),
        incomplete: done.incomplete.iter().map(|v| v.indicator.clone()).collect(),
    }))
}

/// A report version's document, as `cpts report export` writes it: PDF, CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/reports/{contract}/{year}/versions/{version}/{format}", tag = "rapports", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("contract" = i64, Path, description = "Numéro du contrat"),
        ("year" = u8, Path, description = "Année du contrat, à partir de 1"), ("version" = i64, Path, description = "Version du rapport"),
        ("format" = String, Path, description = "`pdf`, `csv` ou `xlsx`")),
    responses(
        (status = 200, description = "Le document", content(("application/pdf"), (String = "text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn document(
    State(web): State<Web>,
    Caller(p): Caller,
    Path((id, contract, year, version, format)): Path<(String, String, String, String, String)>,
) -> Result<Response, ApiError> {
    let target = year_ref(&id, &contract, &year)?;
    let version: i64 = version.parse().map_err(|_| ApiError::not_found())?;
    let kind = match format.as_str() {
        "pdf" => "application/pdf",
        "csv" => "text/csv; charset=utf-8",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => return Err(ApiError::not_found()),
    };
    let d = web.app.report_document(&p, &target, Some(version)).await?;
    let internal = |e: String| ApiError::from(cpts_app::AppError::Internal(e));
    let bytes = match format.as_str() {
        "pdf" => cpts_render::pdf(&d.document),
        "csv" => cpts_render::csv(&d.document).map_err(|e| internal(e.to_string()))?,
        _ => cpts_render::xlsx(&d.document).map_err(|e| internal(e.to_string()))?,
    };
    let name = format!("{}-contrat{contract}-annee{year}-v{version}.{format}", target.cpts.as_str());
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, kind.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}
