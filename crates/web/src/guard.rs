//! What every request goes through: a request id, the security headers, and for every
//! state-changing request an Origin check and a CSRF token check (the session's token, sent in
//! the form's `_csrf` field, or in the action URL for file uploads).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::Web;
use crate::error::WebError;
use crate::sessions::CSRF;

/// The id of this request: in logs, in the audit rows it writes, on error pages.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The largest urlencoded form read (values typed in a form stay far below).
const FORM_LIMIT: usize = 2 * 1024 * 1024;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn headers(State(web): State<Web>, mut req: Request, next: Next) -> Response {
    let id = RequestId(format!("web-{}", &crate::sessions::random_token()[..16]));
    req.extensions_mut().insert(id.clone());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages hold a CPTS's data: no shared or back-button cache.
        set(h, header::CACHE_CONTROL, "no-store");
    }
    if web.config.secure {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        h.insert("x-request-id", v);
    }
    res
}

fn changes_state(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A state-changing request must come from our own pages: its Origin (or, from browsers that
/// send none, its Referer) is the server's origin.
pub async fn origin(State(web): State<Web>, req: Request, next: Next) -> Response {
    if changes_state(req.method()) {
        let h = req.headers();
        // Ours: the configured origin, or this server as the browser addressed it (its Host).
        let scheme = if web.config.secure { "https" } else { "http" };
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).map(|host| format!("{scheme}://{host}"));
        let ours = |o: &str| o == web.config.origin || host.as_deref() == Some(o);
        let ok = match h.get(header::ORIGIN) {
            Some(o) => o.to_str().is_ok_and(ours),
            None => h.get(header::REFERER).and_then(|r| r.to_str().ok()).is_some_and(|r| {
                // The origin of a Referer: up to the first '/' after « scheme:// ».
                let cut = r.find("://").map(|i| i + 3).and_then(|i| r.get(i..)?.find('/').map(|j| i + j));
                ours(cut.and_then(|c| r.get(..c)).unwrap_or(r))
            }),
        };
        if !ok {
            return WebError::Csrf("la demande ne vient pas d'une page de cette application (origine refusée)").into_response();
        }
    }
    next.run(req).await
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Constant-time comparison (the token must not leak through timing).
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn csrf(session: Session, req: Request, next: Next) -> Response {
    if !changes_state(req.method()) {
        return next.run(req).await;
    }
    let expected = match session.get::<String>(CSRF).await {
        Ok(Some(t)) => t,
        Ok(None) => return WebError::Csrf("session expirée : rechargez la page et recommencez").into_response(),
        Err(e) => return crate::sessions::session_error(e).into_response(),
    };
    let from_query: Vec<(String, String)> =
        req.uri().query().map(|q| form_urlencoded_pairs(q.as_bytes())).unwrap_or_default();
    if let Some(t) = field(&from_query, "_csrf") {
        if same(t, &expected) {
            return next.run(req).await;
        }
        return WebError::Csrf("jeton de formulaire invalide : rechargez la page et recommencez").into_response();
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return WebError::Csrf("jeton de formulaire absent").into_response();
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(b) => b,
        Err(_) => return WebError::TooLarge.into_response(),
    };
    let pairs = form_urlencoded_pairs(&bytes);
    match field(&pairs, "_csrf") {
        Some(t) if same(t, &expected) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        _ => WebError::Csrf("jeton de formulaire invalide : rechargez la page et recommencez").into_response(),
    }
}

fn form_urlencoded_pairs(b: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(b).unwrap_or_default()
}
