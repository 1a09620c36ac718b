//! Sign in and out. A failed sign-in says nothing of which part was wrong; too many failures
//! for an account or from an address within the window are refused before any hash is tried.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use cpts_app::accounts::SignIn;
use cpts_app::identities::{ExternalSignIn, Provider};
use serde::Deserialize;
use tower_sessions::Session;

use crate::error::WebError;
use crate::guard::{RequestId, same};
use crate::oidc::{FLOW_TTL, Flow, Identity, OidcError, Opened};
use crate::sessions::{FLOW, LOGIN, OPENED, csrf_token};
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
    providers: Vec<ProviderLink>,
}

/// A « Se connecter avec … » link of the sign-in page.
struct ProviderLink {
    href: String,
    label: &'static str,
}

fn provider_links(web: &Web, next: &str) -> Vec<ProviderLink> {
    let Some(identity) = &web.config.identity else { return Vec::new() };
    identity
        .providers()
        .into_iter()
        .map(|p| ProviderLink {
            href: if next == urls::HOME { format!("/connexion/{}", p.code()) } else { format!("/connexion/{}?suite={}", p.code(), urls::enc(next)) },
            label: p.label(),
        })
        .collect()
}

fn next_or_home(n: Option<String>) -> String {
    n.filter(|n| urls::safe_next(n)).unwrap_or_else(|| urls::HOME.into())
}

pub async fn form(State(web): State<Web>, session: Session, Query(q): Query<Next>) -> Result<Response, WebError> {
    if session.get::<String>(LOGIN).await.map_err(crate::sessions::session_error)?.is_some() {
        return Ok(Redirect::to(&next_or_home(q.suite)).into_response());
    }
    let csrf = csrf_token(&session).await?;
    let next = next_or_home(q.suite);
    let providers = provider_links(&web, &next);
    Ok(LoginPage { csrf, next, login: String::new(), error: None, providers }.into_response())
}

/// The sign-in page again with a message, and no session opened.
async fn refused_page(web: &Web, session: &Session, status: StatusCode, next: String, error: String) -> Result<Response, WebError> {
    let csrf = csrf_token(session).await?;
    let providers = provider_links(web, &next);
    Ok((status, LoginPage { csrf, next, login: String::new(), error: Some(error), providers }).into_response())
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
    let providers = provider_links(&web, &next);
    Ok((status, LoginPage { csrf, next, login, error: Some(error), providers }).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "signed_out.html")]
struct SignedOutPage {
    provider: &'static str,
    to: String,
}

/// Sign out. A session opened through a provider is ended there too (RP-initiated logout):
/// a page sends the browser to the provider's end-session endpoint (a redirect would answer a
/// form whose CSP `form-action` is 'self').
pub async fn sign_out(State(web): State<Web>, session: Session) -> Result<Response, WebError> {
    let opened = session.get::<Opened>(OPENED).await.map_err(crate::sessions::session_error)?;
    session.flush().await.map_err(crate::sessions::session_error)?;
    if let (Some(identity), Some(o)) = (&web.config.identity, opened)
        && let Some(to) = identity.end_session_url(&o).await
    {
        let provider = Provider::parse(&o.provider).map(Provider::label).unwrap_or("le fournisseur d'identité");
        return Ok(SignedOutPage { provider, to }.into_response());
    }
    Ok(Redirect::to(urls::SIGN_IN).into_response())
}

fn provider_of(web: &Web, code: &str) -> Result<(Arc<Identity>, Provider), WebError> {
    let identity = web.config.identity.clone().ok_or(WebError::NotFound)?;
    let p = Provider::parse(code).ok().filter(|p| identity.has(*p)).ok_or(WebError::NotFound)?;
    Ok((identity, p))
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// « Se connecter avec … »: a new flow (state, nonce, PKCE verifier) in the session, and the
/// browser sent to the provider.
pub async fn provider_start(
    State(web): State<Web>,
    session: Session,
    Path(code): Path<String>,
    Query(q): Query<Next>,
) -> Result<Response, WebError> {
    let (identity, p) = provider_of(&web, &code)?;
    let next = next_or_home(q.suite);
    match identity.start(p, next.clone(), unix_now()).await {
        Ok((to, flow)) => {
            session.insert(FLOW, &flow).await.map_err(crate::sessions::session_error)?;
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => refused_page(&web, &session, StatusCode::BAD_GATEWAY, next, format!("Connexion avec {p} impossible pour l'instant : {e}. Réessayez plus tard ou connectez-vous avec votre mot de passe.")).await,
    }
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// The provider sends the browser back here. The flow is taken out of the session first: a
/// callback is good once.
pub async fn provider_callback(
    State(web): State<Web>,
    session: Session,
    Path(code): Path<String>,
    axum::Extension(request): axum::Extension<RequestId>,
    Query(q): Query<Callback>,
) -> Result<Response, WebError> {
    let (identity, p) = provider_of(&web, &code)?;
    let flow = session.remove::<Flow>(FLOW).await.map_err(crate::sessions::session_error)?;
    let matches = |f: &Flow| f.provider == p.code() && q.state.as_deref().is_some_and(|s| same(s, &f.state));
    let Some(flow) = flow.filter(matches) else {
        let m = format!("Connexion avec {p} refusée : la réponse ne correspond à aucune demande de connexion en cours (état inconnu, expiré ou déjà utilisé). Recommencez depuis cette page.");
        return refused_page(&web, &session, StatusCode::BAD_REQUEST, urls::HOME.into(), m).await;
    };
    let next = flow.next.clone();
    if unix_now() - flow.started > FLOW_TTL {
        let m = format!("Connexion avec {p} refusée : la demande a expiré. Recommencez.");
        return refused_page(&web, &session, StatusCode::BAD_REQUEST, next, m).await;
    }
    if q.iss.as_deref().is_some_and(|i| Some(i) != identity.issuer(p)) {
        let m = format!("Connexion avec {p} refusée : la réponse vient d'un autre fournisseur d'identité. Recommencez.");
        return refused_page(&web, &session, StatusCode::BAD_REQUEST, next, m).await;
    }
    if let Some(e) = q.error {
        let why = q.error_description.unwrap_or(e);
        let m = format!("{p} n'a pas confirmé votre identité ({}). Recommencez, ou connectez-vous avec votre mot de passe.", cpts_domain::text::quoted(&why));
        return refused_page(&web, &session, StatusCode::FORBIDDEN, next, m).await;
    }
    let Some(auth_code) = q.code.filter(|c| !c.is_empty()) else {
        return refused_page(&web, &session, StatusCode::BAD_REQUEST, next, format!("{p} n'a pas donné de code d'autorisation. Recommencez.")).await;
    };
    let vouched = match identity.finish(p, &flow, &auth_code).await {
        Ok(v) => v,
        Err(e @ OidcError::Unavailable(_)) => {
            return refused_page(&web, &session, StatusCode::BAD_GATEWAY, next, format!("Connexion avec {p} impossible pour l'instant : {e}.")).await;
        }
        Err(e @ OidcError::Refused(_)) => {
            tracing::warn!(request = %request.0, "connexion {} refusée : {e}", p.code());
            return refused_page(&web, &session, StatusCode::FORBIDDEN, next, format!("Connexion refusée : {e}. Recommencez.")).await;
        }
    };
    let keys = crate::oidc::link_keys(p, &vouched);
    match web.app.external_sign_in(p, &keys, &request.0).await? {
        ExternalSignIn::Accepted(principal) => {
            session.cycle_id().await.map_err(crate::sessions::session_error)?;
            session.insert(LOGIN, &principal.login).await.map_err(crate::sessions::session_error)?;
            session.insert(crate::sessions::CSRF, crate::sessions::random_token()).await.map_err(crate::sessions::session_error)?;
            let opened = Opened { provider: p.code().into(), sub: vouched.sub, sid: vouched.sid, id_token: vouched.id_token };
            session.insert(OPENED, &opened).await.map_err(crate::sessions::session_error)?;
            Ok(Redirect::to(&next).into_response())
        }
        ExternalSignIn::Unlinked => {
            let what = match p {
                Provider::Psc => "votre RPPS",
                Provider::ProConnect => "votre identité ProConnect (adresse électronique)",
            };
            let m = format!(
                "Identité reconnue par {p} : {}, mais aucun compte cpts n'y est rattaché : demandez à votre administrateur de rattacher {what} à votre compte cpts.",
                crate::oidc::shown_identity(p, &vouched)
            );
            refused_page(&web, &session, StatusCode::FORBIDDEN, next, m).await
        }
    }
}

#[derive(Deserialize)]
pub struct LogoutToken {
    logout_token: String,
}

/// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the provider posts a signed
/// logout token; the sessions it names end. 200 on success, 400 otherwise.
pub async fn backchannel_logout(State(web): State<Web>, Path(code): Path<String>, Form(f): Form<LogoutToken>) -> Response {
    let Ok((identity, p)) = provider_of(&web, &code) else { return StatusCode::NOT_FOUND.into_response() };
    let bad = |m: String| (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({ "error": "invalid_request", "error_description": m }))).into_response();
    let (sid, sub) = match identity.logout_token(p, &f.logout_token).await {
        Ok(x) => x,
        Err(e) => return bad(e.to_string()),
    };
    match web.app.external_logout(p, sid.as_deref(), sub.as_deref()).await {
        Ok(n) => {
            tracing::info!("déconnexion {} par le fournisseur : {n} session(s) fermée(s)", p.code());
            StatusCode::OK.into_response()
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}
