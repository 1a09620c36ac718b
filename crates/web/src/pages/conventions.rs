//! Funding conventions other than the ACI (ARS/FIR, local authorities, European funds, private
//! partners): the list, and the form that adds one with its dated installments. ARS agents add
//! the ARS's; the coordinator the others (the policy decides).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cpts_app::ledger::convention_action;
use cpts_app::AppError;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind};
use cpts_engine::money::Cents;
use serde::Deserialize;

use super::{Chrome, Choice, cpts_id};
use crate::error::WebError;
use crate::forms::{self, Errors};
use crate::sessions::Signed;
use crate::{Web, format, urls};

pub struct Row {
    pub n: i64,
    pub funder: String,
    pub purpose: String,
    pub amount: String,
    pub period: String,
    pub installments: String,
    pub deliverables: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct ConventionForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    funder: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    /// One installment a line: « JJ/MM/AAAA = montant ».
    #[serde(default)]
    installments: String,
    /// One deliverable a line.
    #[serde(default)]
    deliverables: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "conventions.html")]
pub struct ConventionsPage {
    chrome: Chrome,
    id: String,
    name: String,
    rows: Vec<Row>,
    kinds: Vec<Choice>,
    form: ConventionForm,
    errors: Errors,
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct Done {
    fait: Option<i64>,
}

async fn view(web: &Web, s: &Signed, id: &CptsId, form: ConventionForm, errors: Errors, done: Option<String>) -> Result<ConventionsPage, WebError> {
    let app = &web.app;
    let name = app.show_cpts(&s.who, id, None).await?.cpts.record.identity.name;
    let rows = app
        .conventions(&s.who, id)
        .await?
        .into_iter()
        .map(|(n, c)| Row {
            n,
            funder: c.funder_label(),
            purpose: c.purpose.clone(),
            amount: format::cents_of(c.amount),
            period: format!("du {} au {}", format::date(c.start), format::date(c.end)),
            installments: c.installments.iter().map(|(d, a)| format!("{} : {a}", format::date(*d))).collect::<Vec<_>>().join(" ; "),
            deliverables: c.deliverables.join(" ; "),
        })
        .collect();
    let rights = app.rights(&s.who, id).await?;
    // The kinds of funder this user may add a convention for.
    let kinds = FunderKind::ALL
        .into_iter()
        .filter(|k| rights.may(convention_action(*k)))
        .map(|k| Choice::new(k.code(), k.label(), form.kind == k.code()))
        .collect();
    Ok(ConventionsPage { chrome: Chrome::new(s, urls::CPTS_LIST), id: id.to_string(), name, rows, kinds, form, errors, done })
}

pub async fn page(State(web): State<Web>, s: Signed, Path(id): Path<String>, Query(q): Query<Done>) -> Result<ConventionsPage, WebError> {
    let id = cpts_id(&id)?;
    let done = q.fait.map(|n| format!("Convention n° {n} enregistrée ; ses échéances sont au grand livre."));
    view(&web, &s, &id, ConventionForm::default(), Errors::default(), done).await
}

fn euros(errors: &mut Errors, field: &str, text: &str) -> Option<Cents> {
    Cents::parse_euros(text.trim()).map_err(|e| errors.push(field, e)).ok()
}

pub async fn add(State(web): State<Web>, s: Signed, Path(id): Path<String>, Form(f): Form<ConventionForm>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let mut errors = Errors::default();
    let kind = FunderKind::parse(&f.kind).map_err(|e| errors.push("kind", e)).ok();
    let amount = euros(&mut errors, "amount", &f.amount);
    let start = forms::date(&mut errors, "start", &f.start);
    let end = forms::date(&mut errors, "end", &f.end);
    let mut installments = Vec::new();
    for (i, line) in f.installments.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let n = i + 1;
        match line.split_once('=') {
            Some((d, a)) => match (cpts_engine::dates::parse_french(d.trim()), Cents::parse_euros(a.trim())) {
                (Ok(d), Ok(a)) => installments.push((d, a)),
                (Err(e), _) | (_, Err(e)) => errors.push("installments", format!("échéance {n} : {e}")),
            },
            None => errors.push("installments", format!("échéance {n} : attendu « JJ/MM/AAAA = montant »")),
        }
    }
    if installments.is_empty() && errors.get("installments").is_none() {
        errors.push("installments", "au moins une échéance de versement");
    }
    let (Some(kind), Some(amount), Some(start), Some(end), true) = (kind, amount, start, end, errors.is_empty()) else {
        let page = view(&web, &s, &id, f, errors, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let c = Convention {
        kind,
        funder: f.funder.trim().to_owned(),
        purpose: f.purpose.trim().to_owned(),
        amount,
        start,
        end,
        deliverables: f.deliverables.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
        installments,
    };
    match web.app.add_convention(&s.who, &id, &c).await {
        Ok(n) => Ok(Redirect::to(&format!("{}?fait={n}", urls::cpts_part(id.as_str(), "conventions"))).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Refused(_) | AppError::Conflict(_))) => {
            let fields = [("financeur", "funder"), ("objet", "purpose"), ("livrable", "deliverables")];
            let page = view(&web, &s, &id, f, Errors::of(&e, &fields), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
