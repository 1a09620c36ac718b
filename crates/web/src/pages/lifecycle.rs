//! A CPTS's lifecycle: its history, and the form to record the next step (for whoever may act
//! as the CPTS, the ARS or the CPAM on it).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cpts_app::lifecycle::{StepBy, step_action};
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::{Actor, Step};
use serde::Deserialize;

use super::{Chrome, Choice, cpts_id};
use crate::error::WebError;
use crate::forms::{self, Errors};
use crate::sessions::Signed;
use crate::{Web, format, urls};

pub struct StepRow {
    pub date: String,
    pub step: &'static str,
    pub by: String,
    pub document: String,
    pub note: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct StepForm {
    #[serde(default)]
    step: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    by: String,
    #[serde(default)]
    document: String,
    #[serde(default)]
    note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "lifecycle.html")]
pub struct LifecyclePage {
    chrome: Chrome,
    id: String,
    name: String,
    stage: String,
    history: Vec<StepRow>,
    steps: Vec<Choice>,
    actors: Vec<Choice>,
    form: StepForm,
    errors: Errors,
    done: Option<String>,
    /// When the statutes were checked against the ACI's criteria, and the document.
    statutes: String,
    may_statutes: bool,
}

/// The steps of a lifecycle, as tables show them.
pub fn history_rows(history: &[cpts_domain::lifecycle::Event]) -> Vec<StepRow> {
    history
        .iter()
        .map(|e| StepRow {
            date: format::date(e.date),
            step: e.step.label(),
            by: format!("{} ({})", e.by, e.actor.label()),
            document: e.document.clone().unwrap_or_default(),
            note: e.note.clone().unwrap_or_default(),
        })
        .collect()
}

/// The steps a form can record: the signature, renewal and termination come with the contract.
fn recordable(s: &Step) -> bool {
    !matches!(s, Step::Sign | Step::Renew | Step::Terminate)
}

async fn view(web: &Web, s: &Signed, id: &CptsId, form: StepForm, errors: Errors, done: Option<String>) -> Result<LifecyclePage, WebError> {
    let app = &web.app;
    let life = app.lifecycle(&s.who, id, None).await?;
    let rights = app.rights(&s.who, id).await?;
    // Act as: the parties this user may act for on this CPTS.
    let actors: Vec<Actor> = Actor::ALL.into_iter().filter(|a| rights.may(step_action(*a))).collect();
    let steps = if actors.is_empty() {
        Vec::new()
    } else {
        life.next.iter().filter(|s| recordable(s)).map(|st| Choice::new(st.code(), st.label(), form.step == st.code())).collect()
    };
    let history = history_rows(&life.history);
    Ok(LifecyclePage {
        chrome: Chrome::new(s, urls::CPTS_LIST),
        id: id.to_string(),
        name: life.name.clone(),
        stage: life.now.map_or_else(|| "aucune étape enregistrée".into(), |st| st.label().to_owned()),
        history,
        actors: actors.iter().map(|a| Choice::new(a.code(), a.label(), form.actor == a.code())).collect(),
        steps,
        statutes: life.statutes.as_ref().map_or_else(String::new, |(d, doc)| match doc {
            Some(doc) => format!("{} ({doc})", format::date(*d)),
            None => format::date(*d),
        }),
        may_statutes: rights.may(cpts_app::Action::EditGovernance),
        form,
        errors,
        done,
    })
}

pub async fn record(State(web): State<Web>, s: Signed, Path(id): Path<String>, Form(f): Form<StepForm>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let mut errors = Errors::default();
    let step = Step::parse(&f.step).map_err(|e| errors.push("step", e)).ok();
    let actor = Actor::parse(&f.actor).map_err(|e| errors.push("actor", e)).ok();
    let on = forms::date(&mut errors, "on", &f.on);
    let (Some(step), Some(actor), Some(on)) = (step, actor, on) else {
        let page = view(&web, &s, &id, f, errors, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let by = StepBy { on, actor, by: f.by.trim().to_owned(), document: forms::opt(&f.document), note: forms::opt(&f.note) };
    match web.app.record_step(&s.who, &id, step, &by).await {
        Ok(_) => Ok(Redirect::to(&format!("{}?fait=1", urls::cpts_part(id.as_str(), "cycle"))).into_response()),
        Err(e @ (cpts_app::AppError::Invalid(_) | cpts_app::AppError::Refused(_) | cpts_app::AppError::Conflict(_))) => {
            let status = if matches!(e, cpts_app::AppError::Conflict(_)) { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
            let errors = Errors::of(&e, &[("par", "by"), ("document", "document"), ("note", "note")]);
            let page = view(&web, &s, &id, f, errors, None).await?;
            Ok((status, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct Done {
    fait: Option<String>,
}

pub async fn page(
    State(web): State<Web>,
    s: Signed,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<Done>,
) -> Result<LifecyclePage, WebError> {
    let id = cpts_id(&id)?;
    let form = StepForm { on: format::date(web.app.clock.today()), by: s.who.name.clone(), ..StepForm::default() };
    let done = q.fait.map(|f| if f == "statuts" { "Vérification des statuts enregistrée.".to_owned() } else { "Étape enregistrée.".to_owned() });
    view(&web, &s, &id, form, Errors::default(), done).await
}

/// Record that the statutes were checked (a condition of the contract's signature).
pub async fn statutes(State(web): State<Web>, s: Signed, Path(id): Path<String>, Form(f): Form<StepForm>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let mut errors = Errors::default();
    let Some(on) = forms::date(&mut errors, "statutes-on", &f.on) else {
        let page = view(&web, &s, &id, f, errors, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    match web.app.set_statutes(&s.who, &id, on, forms::opt(&f.document).as_deref()).await {
        Ok(()) => Ok(Redirect::to(&format!("{}?fait=statuts", urls::cpts_part(id.as_str(), "cycle"))).into_response()),
        Err(e @ (cpts_app::AppError::Invalid(_) | cpts_app::AppError::Refused(_))) => {
            let page = view(&web, &s, &id, f, Errors::of(&e, &[("document", "statutes-document")]), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
