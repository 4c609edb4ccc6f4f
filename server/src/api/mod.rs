//! The enforcement API under `/api/v1`: JSON over HTTP for the vendor's software,
//! authenticated by `Authorization: Bearer <api key>`.

mod check;
mod instances;
mod openapi;
pub mod rate_limit;
pub mod tokens;
mod usage;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;

use app::ssr::enforcer::EnforceError;
use app::ssr::AppState;
use app::store::keys::api_keys::ApiKey;
use app::store::StoreError;

/// Every route of the enforcement API, under `/api/v1`. The routes carry the full path
/// (no nested router) and the per-key rate limit is spent by the [`Caller`] extractor,
/// so that a check passes through no layer it does not need.
pub fn router() -> Router<AppState> {
    let unknown = || async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint.") };
    Router::new()
        .merge(check::router())
        .merge(instances::router())
        .merge(usage::router())
        .merge(tokens::router())
        .route("/api/v1/openapi.json", axum::routing::get(openapi::document))
        .route("/api/v1", axum::routing::any(unknown))
        .route("/api/v1/", axum::routing::any(unknown))
        .route("/api/v1/{*rest}", axum::routing::any(unknown))
}

/// A JSON problem: a stable `code`, a human `message`, and the HTTP status.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before trying again (429).
    pub retry_after: Option<u64>,
}

/// A JSON problem as sent.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// Stable, machine-readable: `bad_request`, `unauthorized`, `unknown_customer`, `instance_limit`…
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    /// 400 with code `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 500; the cause is logged here, once, and not sent.
    pub fn internal(err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "enforcement API failure");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(Problem { code: self.code, message: &self.message })).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        res
    }
}

impl From<StoreError> for ApiError {
    /// 404 `not_found` for a missing row (a handler that knows what is missing says so
    /// itself); anything else is a 500, logged once, here.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found."),
            other => ApiError::internal(other),
        }
    }
}

impl From<EnforceError> for ApiError {
    fn from(e: EnforceError) -> Self {
        match e {
            EnforceError::UnknownCustomer(c) => ApiError::new(StatusCode::NOT_FOUND, "unknown_customer", format!("No customer {c:?}.")),
            EnforceError::UnknownFeature(f) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_feature", format!("No feature {f:?} in this product."))
            }
            EnforceError::Store(e) => ApiError::internal(e),
        }
    }
}

/// The caller's API key, from `Authorization: Bearer …`; 401 when missing, unknown or revoked.
pub struct Caller(pub ApiKey);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("Send the API key as `Authorization: Bearer <key>`."))?;
        let key = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| unauthorized("Send the API key as `Authorization: Bearer <key>`."))?;
        let key = state.enforcer.api_key(key).ok_or_else(|| unauthorized("This API key is not valid."))?;
        if let Err(wait) = state.limiter.take(key.id) {
            let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests for this API key; slow down.");
            e.retry_after = Some(wait.ceil().max(1.0) as u64);
            return Err(e);
        }
        Ok(Caller(key))
    }
}

/// A JSON body whose rejection is a JSON problem (400) rather than plain text.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
        if !json {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "Send JSON with `Content-Type: application/json`."));
        }
        let body = axum::body::Bytes::from_request(req, state).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
        serde_json::from_slice(&body).map(ApiJson).map_err(|e| ApiError::bad_request(format!("The JSON body is not valid: {e}")))
    }
}
