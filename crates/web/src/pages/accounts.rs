//! User administration (national level): accounts, their roles and scopes, passwords,
//! disabling. A password change or a disabled account ends that account's sessions.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cpts_app::accounts::{AccountView, NewAccount};
use cpts_app::{AppError, Role};
use serde::Deserialize;

use super::{Chrome, Choice};
use crate::error::WebError;
use crate::forms::Errors;
use crate::sessions::Signed;
use crate::{Web, urls};

pub struct Row {
    pub login: String,
    pub name: String,
    pub active: bool,
    pub has_password: bool,
    pub grants: Vec<(String, String, String)>,
}

#[derive(Deserialize, Default, Clone)]
pub struct NewForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    roles: Vec<Choice>,
    form: NewForm,
    errors: Errors,
    done: Option<String>,
}

fn row(a: AccountView) -> Row {
    Row {
        grants: a.grants.iter().map(|g| (g.role.label().to_owned(), g.role.code().to_owned(), g.scope.code().to_owned())).collect(),
        login: a.login,
        name: a.name,
        active: a.active,
        has_password: a.has_password,
    }
}

async fn view(web: &Web, s: &Signed, form: NewForm, errors: Errors, done: Option<String>) -> Result<AccountsPage, WebError> {
    let rows = web.app.accounts(&s.who).await?.into_iter().map(row).collect();
    let roles = Role::ALL.into_iter().map(|r| Choice::new(r.code(), r.label(), form.role == r.code())).collect();
    Ok(AccountsPage { chrome: Chrome::new(s, urls::ACCOUNTS), rows, roles, form, errors, done })
}

#[derive(Deserialize)]
pub struct Done {
    fait: Option<String>,
}

pub async fn page(State(web): State<Web>, s: Signed, Query(q): Query<Done>) -> Result<AccountsPage, WebError> {
    let done = q.fait.map(|l| format!("Enregistré pour le compte « {l} »."));
    view(&web, &s, NewForm::default(), Errors::default(), done).await
}

/// The field ids of the creation form, by the application's field names.
const FIELDS: [(&str, &str); 5] =
    [("identifiant", "login"), ("nom", "name"), ("mot de passe", "password"), ("rôle", "role"), ("périmètre", "scope")];

fn back(login: &str) -> Response {
    Redirect::to(&format!("{}?fait={}", urls::ACCOUNTS, urls::enc(login))).into_response()
}

/// A refusal the user can fix comes back on the page (422), anything else is an error page.
async fn again(web: &Web, s: &Signed, form: NewForm, e: AppError) -> Result<Response, WebError> {
    match e {
        AppError::Invalid(_) | AppError::Refused(_) | AppError::Conflict(_) => {
            let page = view(web, s, form, Errors::of(&e, &FIELDS), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        e => Err(e.into()),
    }
}

pub async fn create(State(web): State<Web>, s: Signed, Form(f): Form<NewForm>) -> Result<Response, WebError> {
    let grant = match web.app.parse_grant(&f.role, Some(f.scope.as_str())).await {
        Ok(g) => g,
        Err(e) => return again(&web, &s, f, e).await,
    };
    let new = NewAccount {
        login: f.login.trim().to_owned(),
        name: f.name.trim().to_owned(),
        password: Some(f.password.clone()).filter(|p| !p.is_empty()),
        grants: vec![grant],
    };
    match web.app.add_account(&s.who, new).await {
        Ok(a) => Ok(back(&a.login)),
        // The password typed is not sent back.
        Err(e) => again(&web, &s, NewForm { password: String::new(), ..f }, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct Act {
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    password: String,
}

/// One act on an account: `grant`, `revoke`, `password`, `disable`, `enable`.
pub async fn act(State(web): State<Web>, s: Signed, Path((login, act)): Path<(String, String)>, Form(f): Form<Act>) -> Result<Response, WebError> {
    let app = &web.app;
    let done = match act.as_str() {
        "role" | "retrait" => match app.parse_grant(&f.role, Some(f.scope.as_str())).await {
            Ok(g) if act == "role" => app.grant(&s.who, &login, &g).await,
            Ok(g) => app.revoke(&s.who, &login, &g).await,
            Err(e) => Err(e),
        },
        "mot-de-passe" => app.set_password(&s.who, &login, &f.password).await,
        "desactiver" => app.set_active(&s.who, &login, false).await,
        "activer" => app.set_active(&s.who, &login, true).await,
        _ => return Err(WebError::NotFound),
    };
    match done {
        Ok(()) => Ok(back(&login)),
        Err(e) => again(&web, &s, NewForm::default(), e).await,
    }
}
