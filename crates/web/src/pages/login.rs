//! Sign in and out. A failed sign-in says nothing of which part was wrong; too many failures
//! for an account or from an address within the window are refused before any hash is tried.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
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
    if session.get::<String>(LOGIN).await.map_err(WebError::internal)?.is_some() {
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

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
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
    let limits = &web.config.login;
    let store = &web.app.store;
    let (by_login, by_address) =
        store.login_failures(&login, &address, now() - limits.window.whole_seconds()).await.map_err(WebError::internal)?;
    let next = next_or_home(c.suite);
    let again = |error: String, status: StatusCode, csrf: String| {
        (status, LoginPage { csrf, next: next.clone(), login: login.clone(), error: Some(error) }).into_response()
    };
    if by_login >= limits.per_login || by_address >= limits.per_address {
        let csrf = csrf_token(&session).await?;
        let minutes = limits.window.whole_minutes();
        return Ok(again(
            format!("Trop d'essais infructueux : réessayez dans {minutes} minutes, ou demandez à votre administrateur de vérifier votre compte."),
            StatusCode::TOO_MANY_REQUESTS,
            csrf,
        ));
    }
    // argon2 takes tens of milliseconds of CPU: off the async workers.
    let app = web.app.clone();
    let (l, pw, r) = (login.clone(), c.password, request.0.clone());
    let outcome = tokio::task::spawn_blocking(move || tokio::runtime::Handle::current().block_on(app.authenticate(&l, &pw, &r)))
        .await
        .map_err(WebError::internal)?;
    match outcome {
        Ok(p) => {
            store.clear_login_failures(&p.login).await.map_err(WebError::internal)?;
            // A new id at sign-in: a session id planted before cannot be ridden after.
            session.cycle_id().await.map_err(WebError::internal)?;
            session.insert(LOGIN, &p.login).await.map_err(WebError::internal)?;
            session.insert(crate::sessions::CSRF, crate::sessions::random_token()).await.map_err(WebError::internal)?;
            Ok(Redirect::to(&next).into_response())
        }
        Err(cpts_app::AppError::Forbidden(m)) => {
            store.record_login_failure(&login, &address, now()).await.map_err(WebError::internal)?;
            let csrf = csrf_token(&session).await?;
            Ok(again(format!("Connexion refusée : {m}."), StatusCode::UNAUTHORIZED, csrf))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn sign_out(session: Session) -> Result<Response, WebError> {
    session.flush().await.map_err(WebError::internal)?;
    Ok(Redirect::to(urls::SIGN_IN).into_response())
}
