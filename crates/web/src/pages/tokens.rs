//! « Jetons d'API »: a user creates tokens for their machine clients (shown once), sees when
//! each was last used, and revokes them.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cpts_app::AppError;
use serde::Deserialize;

use super::Chrome;
use crate::error::WebError;
use crate::forms::Errors;
use crate::sessions::Signed;
use crate::{Web, format, urls};

pub struct Row {
    pub prefix: String,
    pub label: String,
    pub created: String,
    pub used: String,
    pub revoked: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    chrome: Chrome,
    rows: Vec<Row>,
    label: String,
    errors: Errors,
    /// The secret of the token just created: shown this once.
    secret: Option<String>,
}

/// An instant as stored (RFC 3339) as a reader says it, in Paris time.
fn instant(s: &str) -> String {
    s.parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| t.in_tz("Europe/Paris").ok())
        .map_or_else(|| s.to_owned(), |z| format!("{} à {}", format::date(z.date()), z.strftime("%H:%M")))
}

async fn view(web: &Web, s: &Signed, label: String, errors: Errors, secret: Option<String>) -> Result<TokensPage, WebError> {
    let rows = web
        .app
        .tokens(&s.who)
        .await?
        .into_iter()
        .map(|t| Row {
            created: instant(&t.created_at),
            used: t.last_used_at.as_deref().map_or_else(|| "jamais".into(), instant),
            revoked: t.revoked_at.as_deref().map(instant),
            prefix: t.prefix,
            label: t.label,
        })
        .collect();
    Ok(TokensPage { chrome: Chrome::new(s, urls::TOKENS), rows, label, errors, secret })
}

pub async fn page(State(web): State<Web>, s: Signed) -> Result<TokensPage, WebError> {
    view(&web, &s, String::new(), Errors::default(), None).await
}

#[derive(Deserialize, Default)]
pub struct NewToken {
    #[serde(default)]
    label: String,
}

/// Create a token and show its secret in the answer itself (not after a redirect: it must
/// never be stored, not even in the session).
pub async fn create(State(web): State<Web>, s: Signed, Form(f): Form<NewToken>) -> Result<Response, WebError> {
    match web.app.create_token(&s.who, &f.label).await {
        Ok(t) => Ok(view(&web, &s, String::new(), Errors::default(), Some(t.secret)).await?.into_response()),
        Err(e @ AppError::Invalid(_)) => {
            let page = view(&web, &s, f.label, Errors::of(&e, &[("libellé", "label")]), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(State(web): State<Web>, s: Signed, Path(prefix): Path<String>) -> Result<Redirect, WebError> {
    web.app.revoke_token(&s.who, &prefix).await?;
    Ok(Redirect::to(urls::TOKENS))
}
