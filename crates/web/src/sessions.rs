//! Sessions kept in the store (every server process on the same database shares them), and
//! the signed-in user as an extractor. The cookie holds a random id; the table holds a hash
//! of it, so a copy of the table opens no session.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use blake2::{Blake2s256, Digest};
use cpts_app::{AppError, Principal};
use cpts_store::{SessionRow, Store};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::Session;

use crate::error::WebError;
use crate::guard::RequestId;
use crate::Web;

/// Session keys.
pub const LOGIN: &str = "login";
pub const CSRF: &str = "csrf";
/// When the session was last written (Unix seconds): it is written again, with a new expiry,
/// once it is older than a quarter of the idle delay (a minute at most).
pub const SEEN: &str = "seen";
/// A sign-in through an OpenID Connect provider under way (`oidc::Flow`).
pub const FLOW: &str = "oidc_flow";
/// The session was opened through a provider (`oidc::Opened`).
pub const OPENED: &str = "oidc";

#[derive(Clone)]
pub struct DbSessions(pub Store);

impl std::fmt::Debug for DbSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessions")
    }
}

fn key(id: &Id) -> String {
    let digest = Blake2s256::digest(id.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Marks a store error that means « the database cannot answer now » through tower-sessions,
/// whose errors carry only text: `WebError::session` turns it back into a 503.
const UNAVAILABLE: &str = "[indisponible] ";

fn backend(e: cpts_store::StoreError) -> session_store::Error {
    match e {
        cpts_store::StoreError::Unavailable(m) => session_store::Error::Backend(format!("{UNAVAILABLE}{m}")),
        e => session_store::Error::Backend(e.to_string()),
    }
}

/// A session read or write that failed: 503 when the database cannot answer now, else 500.
pub fn session_error(e: tower_sessions::session::Error) -> WebError {
    let text = e.to_string();
    match text.split_once(UNAVAILABLE) {
        Some((_, m)) => WebError::App(cpts_app::AppError::Unavailable(m.to_owned())),
        None => WebError::Internal(text),
    }
}

fn row(r: &Record) -> session_store::Result<SessionRow> {
    // A provider's back-channel logout names the session by its sid or subject: kept in
    // columns, prefixed by the provider.
    let opened = r.data.get(OPENED);
    let tagged = |k: &str| {
        let o = opened?;
        Some(format!("{} {}", o.get("provider")?.as_str()?, o.get(k)?.as_str()?))
    };
    Ok(SessionRow {
        oidc_sid: tagged("sid"),
        oidc_sub: tagged("sub"),
        login: r.data.get(LOGIN).and_then(|v| v.as_str()).map(str::to_owned),
        data: serde_json::to_string(&r.data).map_err(|e| session_store::Error::Encode(e.to_string()))?,
        expires_at: r.expiry_date.unix_timestamp(),
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[async_trait::async_trait]
impl SessionStore for DbSessions {
    async fn create(&self, r: &mut Record) -> session_store::Result<()> {
        // A collision of 128-bit random ids is not expected; drawing again costs nothing.
        while !self.0.create_session(&key(&r.id), &row(r)?).await.map_err(backend)? {
            r.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, r: &Record) -> session_store::Result<()> {
        self.0.save_session(&key(&r.id), &row(r)?).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(s) = self.0.session(&key(id), now()).await.map_err(backend)? else { return Ok(None) };
        let data: HashMap<String, serde_json::Value> =
            serde_json::from_str(&s.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(s.expires_at)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete_session(&key(id)).await.map_err(backend)
    }
}

/// Purge expired sessions and failed logins older than the throttling window (seconds), every
/// 5 minutes.
pub fn purge_task(store: Store, window_seconds: i64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let t = now();
            if let Err(e) = store.purge_sessions(t, t - window_seconds).await {
                tracing::warn!("purge des sessions impossible : {e}");
            }
        }
    })
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, WebError> {
    if let Some(t) = session.get::<String>(CSRF).await.map_err(session_error)? {
        return Ok(t);
    }
    let t = random_token();
    session.insert(CSRF, &t).await.map_err(session_error)?;
    Ok(t)
}

pub fn random_token() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signed-in user of a page: the principal (reloaded from the store on every request, so
/// a revoked grant or a disabled account takes effect at once) and the session's CSRF token.
pub struct Signed {
    pub who: Principal,
    pub csrf: String,
}

impl FromRequestParts<Web> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Signed, WebError> {
        let session = Session::from_request_parts(parts, web).await.map_err(|(_, m)| WebError::internal(m))?;
        let next = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
        let Some(login) = session.get::<String>(LOGIN).await.map_err(session_error)? else {
            return Err(WebError::SignIn { next });
        };
        let request = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let who = match web.app.principal(&login, &request).await {
            Ok(p) => p,
            Err(AppError::Forbidden(_) | AppError::NotFound(_)) => {
                // Disabled or deleted since: the session ends.
                session.flush().await.map_err(session_error)?;
                return Err(WebError::SignIn { next });
            }
            // The database cannot answer: the session stays, the error is said.
            Err(e) => return Err(e.into()),
        };
        let csrf = csrf_token(&session).await?;
        // Keep an active session alive: the store only learns a new expiry when the session
        // is written, and tower-sessions writes only a modified one.
        let every = (web.config.idle.whole_seconds() / 4).clamp(1, 60);
        let seen = session.get::<i64>(SEEN).await.map_err(session_error)?.unwrap_or(0);
        if now() - seen >= every {
            session.insert(SEEN, now()).await.map_err(session_error)?;
        }
        Ok(Signed { who, csrf })
    }
}
