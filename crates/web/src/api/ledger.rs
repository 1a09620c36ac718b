//! A CPTS's ledger: every funder's lines with their status, « pourquoi ce montant » for one
//! line, payments (ACI lines by the Assurance Maladie, convention lines by their funder), and
//! the funding conventions with their payments.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cpts_app::ledger::Pay;
use cpts_domain::alerts::line_source;
use cpts_domain::ledger::{Convention, FunderKind, Gates, Line, Payment, Source, Status};
use cpts_engine::money::Cents;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Page, PageQuery, Path, Query};
use super::{cpts_id, date_param};
use crate::Web;

pub fn routes(r: OpenApiRouter<Web>) -> OpenApiRouter<Web> {
    r.routes(routes!(book))
        .routes(routes!(lines))
        .routes(routes!(line))
        .routes(routes!(pay))
        .routes(routes!(conventions, add_convention))
        .routes(routes!(convention_payments))
}

fn status_code(s: Status) -> &'static str {
    match s {
        Status::Planned => "planned",
        Status::Due => "due",
        Status::Paid => "paid",
        Status::Cancelled => "cancelled",
        Status::ToRepay => "to_repay",
    }
}

/// A contract year (its activity report).
#[derive(Serialize, ToSchema)]
pub struct YearRef {
    pub contract: i64,
    pub year: u8,
}

#[derive(Serialize, ToSchema)]
pub struct LineOut {
    /// The line's number in the CPTS's ledger.
    pub line: i64,
    pub due: Date,
    pub funder: String,
    /// `aci` or `convention`.
    pub source: String,
    /// What the line pays, in French.
    pub what: String,
    /// ACI lines: contract, contract year, component code and payment kind
    /// (`one_off`, `full`, `advance`, `balance`, `settlement`, `repayment`).
    #[schema(nullable)]
    pub contract: Option<i64>,
    #[schema(nullable)]
    pub year: Option<u8>,
    #[schema(nullable)]
    pub component: Option<String>,
    #[schema(nullable)]
    pub kind: Option<String>,
    /// Convention lines: the convention's number and the installment's.
    #[schema(nullable)]
    pub convention: Option<i64>,
    #[schema(nullable)]
    pub installment: Option<u32>,
    /// Negative: the CPTS owes it back.
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub remaining_cents: i64,
    /// `planned`, `due`, `paid`, `cancelled` or `to_repay`, on the date asked.
    pub status: String,
    pub status_label: String,
    #[schema(nullable)]
    pub cancelled: Option<Date>,
    /// Why it is not due yet, in French.
    #[schema(nullable)]
    pub waiting_for: Option<String>,
    /// The activity report whose validation holds the line back, while it does.
    #[schema(nullable)]
    pub held_by: Option<YearRef>,
}

fn line_out(web: &Web, l: &Line, status: Status, waiting_for: Option<String>, held_by: Option<(i64, u8)>) -> LineOut {
    let (contract, year, component, kind, convention, installment) = match &l.planned.source {
        Source::Aci { contract, year, component, kind } => {
            (Some(*contract), Some(*year), Some(component.clone()), Some(kind.code().to_owned()), None, None)
        }
        Source::Convention { convention, installment } => (None, None, None, None, Some(*convention), Some(*installment)),
    };
    LineOut {
        line: l.id,
        due: l.planned.due,
        funder: l.planned.funder.clone(),
        source: if convention.is_some() { "convention" } else { "aci" }.into(),
        what: line_source(&web.app.rules, l),
        contract,
        year,
        component,
        kind,
        convention,
        installment,
        amount_cents: l.planned.amount.get(),
        paid_cents: l.paid.get(),
        remaining_cents: l.remaining().get(),
        status: status_code(status).into(),
        status_label: status.label().into(),
        cancelled: l.cancelled,
        waiting_for,
        held_by: held_by.map(|(contract, year)| YearRef { contract, year }),
    }
}

fn listed(web: &Web, l: &Line, gates: &Gates, on: Date) -> LineOut {
    let status = l.status(on, gates);
    let waiting = if matches!(status, Status::Planned) { l.waiting_for(gates, on) } else { None };
    line_out(web, l, status, waiting, l.held_on(gates, on))
}

#[derive(Serialize, ToSchema)]
pub struct FunderOut {
    pub funder: String,
    /// Planned over the live lines (cancelled ones left out), in cents.
    pub planned_cents: i64,
    pub paid_cents: i64,
    pub left_cents: i64,
    /// Lines due on the date (payable now).
    pub due_lines: u64,
}

#[derive(Serialize, ToSchema)]
pub struct BookOut {
    pub name: String,
    pub on: Date,
    pub funders: Vec<FunderOut>,
    /// Lines in the ledger, cancelled ones included (see `/ledger/lines`).
    pub lines: u64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnQuery {
    /// Statuses as of this date (YYYY-MM-DD; default today).
    pub on: Option<String>,
}

/// The ledger by funder: planned, paid and left on every funder's lines.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/ledger", tag = "grand-livre", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), OnQuery),
    responses((status = 200, body = BookOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn book(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<OnQuery>) -> Result<Json<BookOut>, ApiError> {
    let id = cpts_id(&id)?;
    let on = date_param("on", q.on.as_deref())?.unwrap_or_else(|| web.app.clock.today());
    let v = web.app.ledger(&p, &id).await?;
    let mut funders: BTreeMap<&str, (i64, i64, u64)> = BTreeMap::new();
    for l in &v.lines {
        let status = l.status(on, &v.gates);
        if status != Status::Cancelled {
            let f = funders.entry(l.planned.funder.as_str()).or_default();
            f.0 = f.0.saturating_add(l.planned.amount.get());
            f.1 = f.1.saturating_add(l.paid.get());
            f.2 += u64::from(status == Status::Due);
        }
    }
    Ok(Json(BookOut {
        name: v.name.clone(),
        on,
        funders: funders
            .into_iter()
            .map(|(f, (planned, paid, due))| FunderOut { funder: f.into(), planned_cents: planned, paid_cents: paid, left_cents: planned.saturating_sub(paid), due_lines: due })
            .collect(),
        lines: u64::try_from(v.lines.len()).unwrap_or(u64::MAX),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinesQuery {
    /// Statuses as of this date (YYYY-MM-DD; default today).
    pub on: Option<String>,
    /// Only this funder's lines (its name as listed).
    pub funder: Option<String>,
    /// Only lines in this status: `planned`, `due`, `paid`, `cancelled` or `to_repay`.
    pub status: Option<String>,
    #[param(minimum = 1)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

/// The ledger's lines by due date, with their status, what they pay and what holds them back.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/ledger/lines", tag = "grand-livre", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), LinesQuery),
    responses((status = 200, body = Page<LineOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn lines(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<LinesQuery>) -> Result<Json<Page<LineOut>>, ApiError> {
    let id = cpts_id(&id)?;
    let on = date_param("on", q.on.as_deref())?.unwrap_or_else(|| web.app.clock.today());
    let wanted = q.status.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = wanted
        && !["planned", "due", "paid", "cancelled", "to_repay"].contains(&s)
    {
        return Err(ApiError::field("status", "attendu planned, due, paid, cancelled ou to_repay"));
    }
    let v = web.app.ledger(&p, &id).await?;
    let all: Vec<LineOut> = v
        .lines
        .iter()
        .filter(|l| q.funder.as_deref().is_none_or(|f| f.is_empty() || l.planned.funder == f))
        .map(|l| listed(&web, l, &v.gates, on))
        .filter(|l| wanted.is_none_or(|s| l.status == s))
        .collect();
    Ok(Json(PageQuery { page: q.page, per_page: q.per_page }.of(all)?))
}

#[derive(Serialize, ToSchema)]
pub struct PaymentOut {
    pub line: i64,
    pub on: Date,
    /// Signed like its line (a repayment received is negative).
    pub amount_cents: i64,
    pub by: String,
    #[schema(nullable)]
    pub reference: Option<String>,
}

fn payment_out(p: &Payment) -> PaymentOut {
    PaymentOut { line: p.line, on: p.on, amount_cents: p.amount.get(), by: p.by.clone(), reference: p.reference.clone() }
}

#[derive(Serialize, ToSchema)]
pub struct LineDetail {
    #[serde(flatten)]
    pub line: LineOut,
    /// « Pourquoi ce montant » : the engine's explanation, with its sources (ACI articles,
    /// amendments) and the grade of each value ([S] from the signed contract, [U] entered).
    pub explanation: String,
    pub payments: Vec<PaymentOut>,
}

/// One line and why it has this amount (its status as of today), with its payments.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/ledger/lines/{line}", tag = "grand-livre", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("line" = i64, Path, description = "Numéro de la ligne")),
    responses((status = 200, body = LineDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn line(State(web): State<Web>, Caller(p): Caller, Path((id, n)): Path<(String, i64)>) -> Result<Json<LineDetail>, ApiError> {
    let id = cpts_id(&id)?;
    let v = web.app.ledger_line(&p, &id, n).await?;
    Ok(Json(LineDetail {
        line: line_out(&web, &v.line, v.status, v.waiting_for.clone().filter(|_| v.status == Status::Planned), v.held_by),
        explanation: v.line.planned.explanation.clone(),
        payments: v.payments.iter().map(payment_out).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayIn {
    /// The line paid.
    pub line: i64,
    pub on: Date,
    /// Amount in cents, positive (for a line to repay: the amount repaid); default what remains.
    #[schema(nullable)]
    pub amount_cents: Option<i64>,
    /// Who paid: the funder's office or agent (for a repayment, the CPTS).
    pub by: String,
    /// The transfer's reference.
    #[schema(nullable)]
    pub reference: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PaidOut {
    pub payment: PaymentOut,
    /// What was recorded, in French.
    pub summary: String,
}

/// Record a payment on a line: an ACI line (paid by the Assurance Maladie, in one transfer) or a
/// convention's installment (by its funder).
#[utoipa::path(post, path = "/api/v1/cpts/{id}/ledger/payments", tag = "grand-livre", security(("jeton" = [])), request_body = PayIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 201, body = PaidOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn pay(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, super::extract::Json(b): super::extract::Json<PayIn>) -> Result<(StatusCode, Json<PaidOut>), ApiError> {
    let id = cpts_id(&id)?;
    let reference = b.reference.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    let cmd = Pay { id, line: b.line, on: b.on, amount: b.amount_cents.map(Cents::new), by: b.by.trim().to_owned(), reference };
    let paid = web.app.pay(&p, cmd).await?;
    Ok((StatusCode::CREATED, Json(PaidOut { payment: payment_out(&paid.payment), summary: paid.summary })))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallmentIo {
    pub on: Date,
    pub amount_cents: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ConventionOut {
    pub number: i64,
    /// `ars`, `collectivite`, `europe`, `prive` or `autre`.
    pub kind: String,
    pub kind_label: String,
    pub funder: String,
    pub purpose: String,
    pub amount_cents: i64,
    pub start: Date,
    pub end: Date,
    pub installments: Vec<InstallmentIo>,
    pub deliverables: Vec<String>,
}

/// The funding conventions of a CPTS (ARS/FIR, local authorities, European funds, private partners), by number.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/conventions", tag = "grand-livre", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 200, body = Vec<ConventionOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn conventions(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>) -> Result<Json<Vec<ConventionOut>>, ApiError> {
    let id = cpts_id(&id)?;
    Ok(Json(
        web.app
            .conventions(&p, &id)
            .await?
            .into_iter()
            .map(|(n, c)| ConventionOut {
                number: n,
                kind: c.kind.code().into(),
                kind_label: c.kind.label().into(),
                funder: c.funder,
                purpose: c.purpose,
                amount_cents: c.amount.get(),
                start: c.start,
                end: c.end,
                installments: c.installments.iter().map(|(d, a)| InstallmentIo { on: *d, amount_cents: a.get() }).collect(),
                deliverables: c.deliverables,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConventionIn {
    /// `ars`, `collectivite`, `europe`, `prive` or `autre` (who may add it depends on it).
    pub kind: String,
    pub funder: String,
    pub purpose: String,
    pub amount_cents: i64,
    pub start: Date,
    pub end: Date,
    /// The dated installments; they add up to the amount.
    pub installments: Vec<InstallmentIo>,
    #[serde(default)]
    pub deliverables: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConventionAdded {
    /// The convention's number; its installments are ledger lines.
    pub number: i64,
}

/// Add a funding convention; its installments become ledger lines.
#[utoipa::path(post, path = "/api/v1/cpts/{id}/conventions", tag = "grand-livre", security(("jeton" = [])), request_body = ConventionIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 201, body = ConventionAdded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_convention(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, super::extract::Json(b): super::extract::Json<ConventionIn>) -> Result<(StatusCode, Json<ConventionAdded>), ApiError> {
    let id = cpts_id(&id)?;
    let kind = FunderKind::parse(&b.kind).map_err(|e| ApiError::field("kind", e))?;
    let c = Convention {
        kind,
        funder: b.funder.trim().to_owned(),
        purpose: b.purpose.trim().to_owned(),
        amount: Cents::new(b.amount_cents),
        start: b.start,
        end: b.end,
        deliverables: b.deliverables.iter().map(|d| d.trim()).filter(|d| !d.is_empty()).map(str::to_owned).collect(),
        installments: b.installments.iter().map(|i| (i.on, Cents::new(i.amount_cents))).collect(),
    };
    let number = web.app.add_convention(&p, &id, &c).await?;
    Ok((StatusCode::CREATED, Json(ConventionAdded { number })))
}

/// The payments received on a convention's installments.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/conventions/{number}/payments", tag = "grand-livre", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("number" = i64, Path, description = "Numéro de la convention")),
    responses((status = 200, body = Vec<PaymentOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn convention_payments(State(web): State<Web>, Caller(p): Caller, Path((id, number)): Path<(String, i64)>) -> Result<Json<Vec<PaymentOut>>, ApiError> {
    let id = cpts_id(&id)?;
    let v = web.app.ledger(&p, &id).await?;
    let lines: Vec<i64> = v
        .lines
        .iter()
        .filter(|l| matches!(l.planned.source, Source::Convention { convention, .. } if convention == number))
        .map(|l| l.id)
        .collect();
    if lines.is_empty() {
        return Err(cpts_app::AppError::NotFound(format!("convention n° {number} introuvable")).into());
    }
    Ok(Json(v.payments.iter().filter(|p| lines.contains(&p.line)).map(payment_out).collect()))
}
