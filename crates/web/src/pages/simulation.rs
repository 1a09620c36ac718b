//! Reform simulation for the user's scope: a shipped reform, or one pasted as YAML; the
//! difference per CPTS and in total, with the reform's source and note.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cpts_app::AppError;
use cpts_app::simulation::{Reform, SimulationView, builtin_reforms};
use serde::Deserialize;

use super::{Chrome, Choice};
use crate::error::WebError;
use crate::forms::Errors;
use crate::sessions::Signed;
use crate::{Web, format, urls};

pub struct Row {
    pub name: String,
    pub baseline: String,
    pub reform: String,
    pub diff: String,
    pub tiers: String,
    pub error: String,
}

pub struct Outcome {
    pub label: String,
    pub source: String,
    pub note: String,
    pub rows: Vec<Row>,
    pub baseline: String,
    pub reform: String,
    pub diff: String,
    pub without_contract: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "simulation.html")]
pub struct SimulationPage {
    chrome: Chrome,
    reforms: Vec<Choice>,
    text: String,
    outcome: Option<Outcome>,
    errors: Errors,
}

fn outcome(v: &SimulationView) -> Outcome {
    let s = &v.simulation;
    let rows = s
        .cases
        .iter()
        .map(|c| match c {
            Ok(c) => Row {
                name: c.name.clone(),
                baseline: format::cents_of(c.baseline.total),
                reform: format::cents_of(c.reform.total),
                diff: format::cents_of(c.diff.total),
                tiers: c.tier_changes.iter().map(|(y, a, b)| format!("année {y} : {a} → {b}")).collect::<Vec<_>>().join(" ; "),
                error: String::new(),
            },
            Err((name, e)) => Row {
                name: name.clone(),
                baseline: String::new(),
                reform: String::new(),
                diff: String::new(),
                tiers: String::new(),
                error: e.to_string(),
            },
        })
        .collect();
    let info = v.reform.as_ref();
    Outcome {
        label: info.map(|r| r.label.clone()).unwrap_or_default(),
        source: info.map(|r| format!("{} [{:?}]", r.source, r.grade)).unwrap_or_default(),
        note: info.and_then(|r| r.note.clone()).unwrap_or_default(),
        rows,
        baseline: format::cents_of(s.baseline.total),
        reform: format::cents_of(s.reform.total),
        diff: format::cents_of(s.diff.total),
        without_contract: v.without_contract,
    }
}

#[derive(Deserialize, Default)]
pub struct Choose {
    #[serde(default)]
    reforme: String,
}

async fn run(web: &Web, s: &Signed, chosen: &str, text: String, reform: Option<Reform>) -> Result<Response, WebError> {
    let reforms = builtin_reforms(&web.app).into_iter().map(|(id, label)| Choice::new(&id, &label, id == chosen)).collect();
    let page = |outcome, errors| SimulationPage { chrome: Chrome::new(s, urls::SIMULATION), reforms, text: text.clone(), outcome, errors };
    let Some(reform) = reform else { return Ok(page(None, Errors::default()).into_response()) };
    match web.app.simulate(&s.who, &reform).await {
        Ok(v) => Ok(page(Some(outcome(&v)), Errors::default()).into_response()),
        Err(e @ AppError::Invalid(_)) => Ok((StatusCode::UNPROCESSABLE_ENTITY, page(None, Errors::of(&e, &[("réforme", "texte")]))).into_response()),
        Err(e) => Err(e.into()),
    }
}

pub async fn page(State(web): State<Web>, s: Signed, Query(q): Query<Choose>) -> Result<Response, WebError> {
    let reform = (!q.reforme.is_empty()).then(|| Reform::Builtin(q.reforme.clone()));
    run(&web, &s, &q.reforme, String::new(), reform).await
}

#[derive(Deserialize, Default)]
pub struct Pasted {
    #[serde(default)]
    texte: String,
}

/// A reform pasted as text (POST: it can be long; nothing is written).
pub async fn pasted(State(web): State<Web>, s: Signed, Form(f): Form<Pasted>) -> Result<Response, WebError> {
    let reform = Reform::Text { name: "réforme saisie".into(), text: f.texte.clone() };
    run(&web, &s, "", f.texte, Some(reform)).await
}
