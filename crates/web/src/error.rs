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

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
    details: Vec<String>,
}

fn page(status: StatusCode, title: &'static str, message: String, details: Vec<String>) -> Response {
    let body = ErrorPage { title, message, details }.render().unwrap_or_else(|_| title.to_owned());
    (status, Html(body)).into_response()
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
