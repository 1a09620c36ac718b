//! What an API handler takes from a request: the caller (an API token's owner), and a body,
//! a query or a path whose rejection is an `ApiError` in the one JSON shape (axum's own are
//! plain text).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use cpts_app::{AppError, Principal};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use crate::Web;
use crate::guard::RequestId;

/// The principal of a request: the owner of the API token in `Authorization: Bearer …`, with
/// the rights the owner holds now.
pub struct Caller(pub Principal);

impl FromRequestParts<Web> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Caller, ApiError> {
        let request = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| ApiError::unauthenticated("jeton d'API absent : envoyez l'en-tête « Authorization: Bearer <jeton> »"))?;
        web.app.token_principal(token, &request).await.map(Caller).map_err(|e| match e {
            AppError::Forbidden(m) => ApiError::unauthenticated(m),
            e => e.into(),
        })
    }
}

/// A JSON body.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Json<T>, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| Json(v))
            .map_err(|e| ApiError::bad_request(format!("corps JSON refusé : {}", e.body_text())))
    }
}

/// Query parameters.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Query<T>, ApiError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Query)
            .map_err(|e| ApiError::bad_request(format!("paramètres de requête refusés : {e}")))
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e| ApiError::bad_request(format!("adresse refusée : {}", e.body_text())))
    }
}

/// The largest page a list returns.
pub const MAX_PER_PAGE: u32 = 500;

/// Which page of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// From 1.
    #[param(minimum = 1, example = 1)]
    pub page: Option<u32>,
    /// Items per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500, example = 100)]
    pub per_page: Option<u32>,
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Items in the whole list.
    pub total: u64,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), page: self.page, per_page: self.per_page, total: self.total }
    }
}

impl PageQuery {
    /// This page of `all`, or a 422 naming the parameter out of bounds.
    pub fn of<T>(&self, all: Vec<T>) -> Result<Page<T>, ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(100);
        if page == 0 {
            return Err(ApiError::field("page", "les pages commencent à 1"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::field("per_page", format!("1 à {MAX_PER_PAGE} éléments par page")));
        }
        let total = u64::try_from(all.len()).unwrap_or(u64::MAX);
        let skip = usize::try_from(u64::from(page - 1) * u64::from(per_page)).unwrap_or(usize::MAX);
        let take = usize::try_from(per_page).unwrap_or(usize::MAX);
        Ok(Page { items: all.into_iter().skip(skip).take(take).collect(), page, per_page, total })
    }
}
