//! Sign in and out. A failed sign-in says nothing of which part was wrong; too many failures
//! for an account or from an address within the window are refused before any hash is tried.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use cpts_app::accounts::SignIn;
use serde::Deserialize;
use tower_sessions::Session;

use crate::error::WebError;
use crate::guard::RequestId;
use crate::sessions::{LOGIN, csrf_token};
use crate::{Web, urls};

#[derive(Deserialize)]
pub struct Next {
    suite: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    login: String,
    error: Option<String>,
}

fn next_or_home(n: Option<String>) -> String {
    n.filter(|n| urls::safe_next(n)).unwrap_or_else(|| urls::HOME.into())
}

pub async fn form(session: Session, Query(q): Query<Next>) -> Result<Response, WebError> {
    if session.get::<String>(LOGIN).await.map_err(crate::sessions::session_error)?.is_some() {
        return Ok(Redirect::to(&next_or_home(q.suite)).into_response());
    }
    let csrf = csrf_token(&session).await?;
    Ok(LoginPage { csrf, next: next_or_home(q.suite), login: String::new(), error: None }.into_response())
}

#[derive(Deserialize)]
pub struct Credentials {
    login: String,
    password: String,
    suite: Option<String>,
}

pub async fn submit(
    State(web): State<Web>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Extension(request): axum::Extension<RequestId>,
    Form(c): Form<Credentials>,
) -> Result<Response, WebError> {
    let login = c.login.trim().to_owned();
    let address = peer.ip().to_string();
    let limits = web.config.login.clone();
    let next = next_or_home(c.suite);
    // argon2 takes tens of milliseconds of CPU: off the async workers.
    let app = web.app.clone();
    let (l, pw, r) = (login.clone(), c.password, request.0.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        tokio::runtime::Handle::current().block_on(app.sign_in(&l, &pw, &address, &limits, &r))
    })
    .await
    .map_err(WebError::internal)??;
    let (error, status) = match outcome {
        SignIn::Accepted(p) => {
            // A new id at sign-in: a session id planted before cannot be ridden after.
            session.cycle_id().await.map_err(crate::sessions::session_error)?;
            session.insert(LOGIN, &p.login).await.map_err(crate::sessions::session_error)?;
            session.insert(crate::sessions::CSRF, crate::sessions::random_token()).await.map_err(crate::sessions::session_error)?;
            return Ok(Redirect::to(&next).into_response());
        }
        SignIn::Refused(m) => (format!("Connexion refusée : {m}."), StatusCode::UNAUTHORIZED),
        SignIn::Throttled => {
            let minutes = web.config.login.window_seconds / 60;
            (
                format!("Trop d'essais infructueux : réessayez dans {minutes} minutes, ou demandez à votre administrateur de vérifier votre compte."),
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
    };
    let csrf = csrf_token(&session).await?;
    Ok((status, LoginPage { csrf, next, login, error: Some(error) }).into_response())
}

pub async fn sign_out(session: Session) -> Result<Response, WebError> {
    session.flush().await.map_err(crate::sessions::session_error)?;
    Ok(Redirect::to(urls::SIGN_IN).into_response())
}
