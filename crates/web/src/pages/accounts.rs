//! User administration (national level): accounts, their roles and scopes, passwords,
//! disabling. A password change or a disabled account ends that account's sessions.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cpts_app::accounts::{AccountView, NewAccount};
use cpts_app::identities::Provider;
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
    /// Linked identities: (provider code, provider label, key).
    pub identities: Vec<(String, &'static str, String)>,
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

fn row(a: AccountView, links: &[cpts_store::IdentityLink]) -> Row {
    Row {
        identities: links
            .iter()
            .filter(|l| l.login == a.login)
            .map(|l| (l.provider.clone(), Provider::parse(&l.provider).map(Provider::label).unwrap_or("?"), l.subject.clone()))
            .collect(),
        grants: a.grants.iter().map(|g| (g.role.label().to_owned(), g.role.code().to_owned(), g.scope.code().to_owned())).collect(),
        login: a.login,
        name: a.name,
        active: a.active,
        has_password: a.has_password,
    }
}

async fn view(web: &Web, s: &Signed, form: NewForm, errors: Errors, done: Option<String>) -> Result<AccountsPage, WebError> {
    let links = web.app.identity_links(&s.who).await?;
    let rows = web.app.accounts(&s.who).await?.into_iter().map(|a| row(a, &links)).collect();
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
    #[serde(default)]
    provider: String,
    #[serde(default)]
    identity: String,
}

/// One act on an account: `role`, `retrait`, `mot-de-passe`, `desactiver`, `activer`,
/// `identite` (link a Pro Santé Connect or ProConnect identity), `identite-retrait`.
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
        "identite" => match Provider::parse(&f.provider) {
            Ok(p) => app.link_identity(&s.who, &login, p, &f.identity).await.map(|_| ()),
            Err(e) => Err(e),
        },
        "identite-retrait" => match Provider::parse(&f.provider) {
            Ok(p) => app.unlink_identity(&s.who, p, &f.identity).await,
            Err(e) => Err(e),
        },
        _ => return Err(WebError::NotFound),
    };
    match done {
        Ok(()) => Ok(back(&login)),
        Err(e) => again(&web, &s, NewForm::default(), e).await,
    }
}
