//! The web application: French, server-rendered pages over the application layer. Handlers
//! are thin: they parse a request into a typed command, call one `App` use case with the
//! signed-in principal, and render the typed result with a template. Every page and form works
//! without JavaScript.
//!
//! ```text
//! request → guard (request id, headers, Origin + CSRF) → session → page handler → App
//! ```

pub mod api;
mod chart;
mod error;
mod format;
mod forms;
mod guard;
mod map;
pub mod oidc;
pub(crate) mod pages;
mod sessions;
mod upload;
pub mod urls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use cpts_app::App;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub use cpts_app::accounts::SignInLimits as LoginLimits;
pub use sessions::random_token;

/// How the server runs: set by `cpts serve`, fixed by the tests.
#[derive(Clone, Debug)]
pub struct Config {
    /// The origin users type in their browser (scheme, host, port): state-changing requests
    /// must come from it (Origin check).
    pub origin: String,
    /// Cookies marked Secure: served over TLS (directly or behind a proxy).
    pub secure: bool,
    /// A session ends after this long without a request.
    pub idle: time::Duration,
    pub login: LoginLimits,
    /// OpenID Connect providers offered beside passwords (Pro Santé Connect, ProConnect).
    pub identity: Option<Arc<oidc::Identity>>,
}

impl Config {
    pub fn local(bind: SocketAddr) -> Config {
        Config { origin: format!("http://{bind}"), secure: false, idle: time::Duration::minutes(30), login: LoginLimits::default(), identity: None }
    }
}

/// What every handler receives.
#[derive(Clone)]
pub struct Web {
    pub app: Arc<App>,
    pub config: Arc<Config>,
}

/// The whole application as a router (the tests drive it in process).
pub fn router(app: Arc<App>, config: Config) -> Router {
    let sessions = SessionManagerLayer::new(sessions::DbSessions(app.store.clone()))
        .with_name("cpts_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure)
        .with_expiry(Expiry::OnInactivity(config.idle));
    let web = Web { app, config: Arc::new(config) };
    // The pages use the session cookie, hence the Origin and CSRF checks; the API takes no
    // cookie, only a bearer token (nothing a browser sends on its own), so it goes without.
    let pages = pages::routes()
        .layer(axum::middleware::from_fn_with_state(web.clone(), error::dress))
        .layer(axum::middleware::from_fn_with_state(web.clone(), guard::csrf))
        .layer(sessions)
        .layer(axum::middleware::from_fn(error::session_unsaved))
        .layer(axum::middleware::from_fn_with_state(web.clone(), guard::origin));
    // A provider's back-channel logout is a server-to-server POST: no cookie, no Origin; the
    // logout token's signature is its proof.
    let backchannel = Router::new().route("/oidc/{provider}/backchannel-logout", axum::routing::post(pages::backchannel_logout));
    pages.merge(api::routes()).merge(backchannel).layer(axum::middleware::from_fn_with_state(web.clone(), guard::headers)).with_state(web)
}

/// Serve on `listener` until Ctrl-C or SIGTERM. Expired sessions and old failed logins are purged every
/// few minutes.
pub async fn serve(app: Arc<App>, listener: tokio::net::TcpListener, config: Config) -> std::io::Result<()> {
    let purge = sessions::purge_task(app.store.clone(), config.login.window_seconds);
    let router = router(app, config);
    // Ctrl-C or SIGTERM (a service manager stopping it): finish the requests under way.
    let shutdown = async {
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
    };
    let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    purge.abort();
    served
}
