//! A CPTS's funding: the payment schedule of every funder, what was paid, « pourquoi ce
//! montant » for each line (the engine's explanation), and the payment form for the funders.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cpts_app::ledger::Pay;
use cpts_app::{Action, AppError};
use cpts_domain::alerts::line_source;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Source, Status};
use cpts_engine::money::Cents;
use serde::Deserialize;

use super::{Chrome, cpts_id};
use crate::error::WebError;
use crate::forms::{self, Errors};
use crate::sessions::Signed;
use crate::{Web, format, urls};

pub struct FunderRow {
    pub funder: String,
    pub planned: String,
    pub paid: String,
    pub left: String,
}

/// The lines falling due in one calendar year, with their totals.
pub struct YearGroup {
    pub year: i16,
    pub lines: Vec<LineRow>,
    pub planned: String,
    pub paid: String,
}

#[derive(Clone)]
pub struct LineRow {
    pub year: i16,
    pub planned_cents: i64,
    pub paid_cents: i64,
    pub n: i64,
    pub due: String,
    pub funder: String,
    pub what: String,
    pub amount: String,
    pub paid: String,
    pub status: &'static str,
    /// Still to pay (planned, due or to repay).
    pub open: bool,
    pub href: String,
    /// The payment form is offered (due, and the viewer may pay this funder's lines).
    pub payable: bool,
    pub remaining: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct PayForm {
    #[serde(default)]
    line: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    by: String,
    #[serde(default)]
    reference: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger.html")]
pub struct LedgerPage {
    chrome: Chrome,
    id: String,
    name: String,
    on: String,
    funders: Vec<FunderRow>,
    lines: Vec<LineRow>,
    years: Vec<YearGroup>,
    any_payable: bool,
    form: PayForm,
    errors: Errors,
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct Done {
    paye: Option<i64>,
}

/// The ledger's rows on `on`: the totals by funder and every line, the payment form offered on
/// the due lines of the funders this user pays for (`aci`, `conventions`).
pub fn rows(app: &cpts_app::App, id: &CptsId, ledger: &cpts_app::ledger::LedgerView, on: jiff::civil::Date, aci: bool, conventions: bool) -> (Vec<FunderRow>, Vec<LineRow>) {
    let mut funders: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let lines = ledger
        .lines
        .iter()
        .map(|l| {
            let status = l.status(on, &ledger.gates);
            if status != Status::Cancelled {
                let f = funders.entry(l.planned.funder.clone()).or_default();
                f.0 += l.planned.amount.get();
                f.1 += l.paid.get();
            }
            let payer = match l.planned.source {
                Source::Aci { .. } => aci,
                Source::Convention { .. } => conventions,
            };
            LineRow {
                year: l.planned.due.year(),
                planned_cents: if status == Status::Cancelled { 0 } else { l.planned.amount.get() },
                paid_cents: l.paid.get(),
                n: l.id,
                due: format::date(l.planned.due),
                funder: l.planned.funder.clone(),
                what: line_source(&app.rules, l),
                amount: format::cents_of(l.planned.amount),
                paid: format::cents_of(l.paid),
                status: status.label(),
                open: matches!(status, Status::Planned | Status::Due | Status::ToRepay),
                href: format!("{}/lignes/{}", urls::cpts_part(id.as_str(), "financement"), l.id),
                payable: payer && matches!(status, Status::Due | Status::ToRepay),
                remaining: format::cents_of(Cents::new(l.remaining().get().abs())),
            }
        })
        .collect();
    let funders = funders
        .into_iter()
        .map(|(funder, (p, d))| FunderRow { funder, planned: format::money(p), paid: format::money(d), left: format::money(p - d) })
        .collect();
    (funders, lines)
}

async fn view(web: &Web, s: &Signed, id: &CptsId, form: PayForm, errors: Errors, done: Option<String>) -> Result<LedgerPage, WebError> {
    let app = &web.app;
    let on = app.clock.today();
    let ledger = app.ledger(&s.who, id).await?;
    let rights = app.rights(&s.who, id).await?;
    let may = |a: Action| rights.may(a);
    let (aci, conventions) = (may(Action::PayAci), may(Action::ConventionArs) || may(Action::ConventionOther));
    let (funders, lines) = rows(app, id, &ledger, on, aci, conventions);
    Ok(LedgerPage {
        chrome: Chrome::new(s, urls::CPTS_LIST),
        id: id.to_string(),
        name: ledger.name.clone(),
        on: format::date(on),
        funders,
        any_payable: lines.iter().any(|l| l.payable),
        years: by_year(&lines),
        lines,
        form,
        errors,
        done,
    })
}

fn by_year(lines: &[LineRow]) -> Vec<YearGroup> {
    let mut years: BTreeMap<i16, Vec<&LineRow>> = BTreeMap::new();
    for l in lines {
        years.entry(l.year).or_default().push(l);
    }
    years
        .into_iter()
        .map(|(year, ls)| YearGroup {
            year,
            planned: format::money(ls.iter().map(|l| l.planned_cents).sum()),
            paid: format::money(ls.iter().map(|l| l.paid_cents).sum()),
            lines: ls.into_iter().cloned().collect(),
        })
        .collect()
}

pub async fn page(State(web): State<Web>, s: Signed, Path(id): Path<String>, Query(q): Query<Done>) -> Result<LedgerPage, WebError> {
    let id = cpts_id(&id)?;
    let form = PayForm { on: format::date(web.app.clock.today()), by: s.who.name.clone(), ..PayForm::default() };
    let done = q.paye.map(|n| format!("Versement enregistré sur la ligne n° {n}."));
    view(&web, &s, &id, form, Errors::default(), done).await
}

pub async fn pay(State(web): State<Web>, s: Signed, Path(id): Path<String>, Form(f): Form<PayForm>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let mut errors = Errors::default();
    let line = f.line.trim().parse::<i64>().map_err(|_| errors.push("line", "ligne inconnue")).ok();
    let on = forms::date(&mut errors, "pay-on", &f.on);
    let amount = match f.amount.trim() {
        "" => None,
        a => Cents::parse_euros(a).map_err(|e| errors.push("pay-amount", e)).ok(),
    };
    let refused = |errors: Errors| async {
        let page = view(&web, &s, &id, f.clone(), errors, None).await?;
        Ok::<_, WebError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let (Some(line), Some(on)) = (line, on) else { return refused(errors).await };
    if !errors.is_empty() {
        return refused(errors).await;
    }
    let cmd = Pay { id: id.clone(), line, on, amount, by: f.by.trim().to_owned(), reference: forms::opt(&f.reference) };
    match web.app.pay(&s.who, cmd).await {
        Ok(_) => Ok(Redirect::to(&format!("{}?paye={line}", urls::cpts_part(id.as_str(), "financement"))).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Refused(_) | AppError::Conflict(_))) => {
            refused(Errors::of(&e, &[("par", "pay-by"), ("référence", "pay-reference")])).await
        }
        Err(e) => Err(e.into()),
    }
}

pub struct PaymentRow {
    pub on: String,
    pub amount: String,
    pub by: String,
    pub reference: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger_line.html")]
pub struct LinePage {
    chrome: Chrome,
    id: String,
    n: i64,
    what: String,
    funder: String,
    due: String,
    amount: String,
    paid: String,
    status: &'static str,
    explanation: String,
    payments: Vec<PaymentRow>,
}

pub async fn line(State(web): State<Web>, s: Signed, Path((id, n)): Path<(String, i64)>) -> Result<LinePage, WebError> {
    let id = cpts_id(&id)?;
    let app = &web.app;
    let v = app.ledger_line(&s.who, &id, n).await?;
    let l = &v.line;
    Ok(LinePage {
        chrome: Chrome::new(&s, urls::CPTS_LIST),
        id: id.to_string(),
        n,
        what: line_source(&app.rules, l),
        funder: l.planned.funder.clone(),
        due: format::date(l.planned.due),
        amount: format::cents_of(l.planned.amount),
        paid: format::cents_of(l.paid),
        status: v.status.label(),
        explanation: l.planned.explanation.clone(),
        payments: v
            .payments
            .iter()
            .map(|p| PaymentRow {
                on: format::date(p.on),
                amount: format::cents_of(p.amount),
                by: p.by.clone(),
                reference: p.reference.clone().unwrap_or_default(),
            })
            .collect(),
    })
}
