//! Every API error in one stable JSON shape: the HTTP status, a stable machine code, a French
//! message, and the field or line errors of the input.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cpts_app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The HTTP status, repeated.
    #[schema(example = 422)]
    pub status: u16,
    /// Stable code: `unauthenticated`, `forbidden`, `not_found`, `bad_request`, `invalid`,
    /// `refused`, `conflict`, `too_large`, `unavailable` (503: the database cannot answer now;
    /// the message says whether anything may have been recorded; try again after
    /// `Retry-After` seconds), `internal`.
    #[schema(example = "invalid")]
    pub code: String,
    /// What went wrong, in French.
    pub message: String,
    /// The input's errors, by field (or column) and line; the rules' reasons for a refusal.
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorItem {
    /// The field or column concerned; absent for the whole input.
    pub field: Option<String>,
    /// The line of the file, when the input is a file.
    pub line: Option<u64>,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    errors: Vec<ErrorItem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), errors: Vec::new() }
    }

    pub fn unauthenticated(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", m)
    }

    pub fn bad_request(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "cette adresse ne correspond à aucune ressource de l'API")
    }

    pub fn field(field: &str, m: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "les données envoyées sont invalides");
        e.errors.push(ErrorItem { field: Some(field.into()), line: None, message: m.into() });
        e
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        let item = |message: String| ErrorItem { field: None, line: None, message };
        match e {
            AppError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            AppError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            AppError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            AppError::Refused(reasons) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "refused",
                message: "la demande est refusée par les règles".into(),
                errors: reasons.into_iter().map(item).collect(),
            },
            AppError::Invalid(errors) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid",
                message: "les données envoyées sont invalides".into(),
                errors: errors
                    .into_iter()
                    .map(|f| ErrorItem {
                        field: Some(f.field).filter(|f| !f.is_empty()),
                        line: f.line.and_then(|l| u64::try_from(l).ok()),
                        message: f.message,
                    })
                    .collect(),
            },
            AppError::Unavailable(m) => {
                tracing::warn!("{m}");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m)
            }
            e @ (AppError::Store(_) | AppError::Internal(_)) => {
                tracing::error!("{e}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "une erreur est survenue ; elle a été consignée (voir l'en-tête x-request-id)")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { status: self.status.as_u16(), code: self.code.into(), message: self.message, errors: self.errors };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"cpts\""));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(crate::error::RETRY_AFTER_SECONDS));
        }
        res
    }
}
