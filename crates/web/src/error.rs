//! What goes wrong in a request, as a page: a sign-in redirect, a refusal, a missing page, or
//! a failure with the request id to quote.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use cpts_app::AppError;

use crate::urls;

#[derive(Debug)]
pub enum WebError {
    /// Not signed in: to the sign-in page, then back to `next`.
    SignIn { next: String },
    App(AppError),
    /// Refused by the Origin or CSRF check.
    Csrf(&'static str),
    TooLarge,
    NotFound,
    Internal(String),
}

impl WebError {
    pub fn internal(e: impl std::fmt::Display) -> WebError {
        WebError::Internal(e.to_string())
    }
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> WebError {
        WebError::App(e)
    }
}

/// What an error page says; kept on the response so that `dress` can show it again inside the
/// signed-in layout (header, navigation, sign-out) when there is a user.
#[derive(Clone, Debug)]
pub struct ErrorView {
    pub title: &'static str,
    pub message: String,
    pub details: Vec<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
    details: Vec<String>,
}

#[derive(Template)]
#[template(path = "error_signed.html")]
struct SignedErrorPage {
    chrome: crate::pages::Chrome,
    title: &'static str,
    message: String,
    details: Vec<String>,
    request: String,
}

fn page(status: StatusCode, title: &'static str, message: String, details: Vec<String>) -> Response {
    let view = ErrorView { title, message, details };
    let body = ErrorPage { title, message: view.message.clone(), details: view.details.clone() }.render().unwrap_or_else(|_| title.to_owned());
    let mut res = (status, Html(body)).into_response();
    res.extensions_mut().insert(view);
    res
}

/// Seconds a client is told to wait before trying again when the database cannot answer.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// 503 with the reason, and when to try again.
pub fn unavailable(message: String) -> Response {
    let mut res = page(StatusCode::SERVICE_UNAVAILABLE, "Service momentanément indisponible", message, vec![]);
    res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(RETRY_AFTER_SECONDS));
    res
}

/// Outside the session layer: tower-sessions answers a bare, empty 500 when it cannot save the
/// session after the handler ran (the database went away in between). Said as what it is: the
/// database is unavailable; what the request did may have been recorded before.
pub async fn session_unsaved(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let res = next.run(req).await;
    let bare = res.status() == StatusCode::INTERNAL_SERVER_ERROR
        && res.extensions().get::<ErrorView>().is_none()
        && !res.headers().contains_key(axum::http::header::CONTENT_TYPE);
    if !bare {
        return res;
    }
    tracing::warn!("session non enregistrée : base de données indisponible");
    unavailable(
        "la session n'a pas pu être enregistrée : la base de données ne répond pas. Rechargez la page dans un instant ; ce que vous venez d'envoyer a pu être enregistré, vérifiez-le avant de recommencer".into(),
    )
}

/// An error page for a signed-in user, in the layout of every other page.
pub async fn dress(
    axum::extract::State(web): axum::extract::State<crate::Web>,
    session: tower_sessions::Session,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let request = req.extensions().get::<crate::guard::RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let res = next.run(req).await;
    let Some(view) = res.extensions().get::<ErrorView>().cloned() else { return res };
    let Ok(Some(login)) = session.get::<String>(crate::sessions::LOGIN).await else { return res };
    let (Ok(who), Ok(csrf)) = (web.app.principal(&login, &request).await, crate::sessions::csrf_token(&session).await) else {
        return res;
    };
    let chrome = crate::pages::Chrome::new(&crate::sessions::Signed { who, csrf }, "");
    let page = SignedErrorPage { chrome, title: view.title, message: view.message, details: view.details, request };
    match page.render() {
        Ok(body) => {
            let (mut parts, _) = res.into_parts();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(body))
        }
        Err(_) => res,
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn { next } => Redirect::to(&urls::sign_in(Some(&next))).into_response(),
            WebError::App(e) => match e {
                AppError::NotFound(m) => page(StatusCode::NOT_FOUND, "Introuvable", m, vec![]),
                AppError::Forbidden(m) => page(StatusCode::FORBIDDEN, "Non autorisé", m, vec![]),
                AppError::Conflict(m) => page(StatusCode::CONFLICT, "Modification concurrente", m, vec![]),
                AppError::Refused(reasons) => {
                    page(StatusCode::UNPROCESSABLE_ENTITY, "Refusé", "La demande est refusée :".into(), reasons)
                }
                AppError::Invalid(errors) => page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Données invalides",
                    "Les données envoyées sont invalides :".into(),
                    errors.iter().map(ToString::to_string).collect(),
                ),
                // The database cannot answer now (down, restarting, disk full): nothing was
                // written, the same request may succeed in a moment.
                AppError::Unavailable(m) => {
                    tracing::warn!("{m}");
                    unavailable(m)
                }
                e @ (AppError::Store(_) | AppError::Internal(_)) => {
                    tracing::error!("{e}");
                    page(StatusCode::INTERNAL_SERVER_ERROR, "Erreur", "Une erreur est survenue ; elle a été consignée.".into(), vec![])
                }
            },
            WebError::Csrf(m) => page(StatusCode::FORBIDDEN, "Demande refusée", m.into(), vec![]),
            WebError::TooLarge => page(StatusCode::PAYLOAD_TOO_LARGE, "Envoi trop volumineux", "Le formulaire envoyé est trop volumineux.".into(), vec![]),
            WebError::NotFound => page(StatusCode::NOT_FOUND, "Page introuvable", "Cette adresse ne correspond à aucune page.".into(), vec![]),
            WebError::Internal(m) => {
                tracing::error!("{m}");
                page(StatusCode::INTERNAL_SERVER_ERROR, "Erreur", "Une erreur est survenue ; elle a été consignée.".into(), vec![])
            }
        }
    }
}
