//! The enforcement API under `/api/v1`: JSON over HTTP for the vendor's software,
//! authenticated by `Authorization: Bearer <key>`: a vendor API key (within its scopes)
//! or a customer's license key (for its own entitlement).

mod check;
mod idempotency;
mod instances;
mod openapi;
pub(crate) mod provision;
pub mod rate_limit;
pub mod tokens;
mod usage;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;

use std::sync::Arc;

use app::ssr::enforcer::{EnforceError, LicenseHolder};
use app::ssr::AppState;
use app::store::audit::Actor;
use app::store::entitlements::instances::InstanceRef;
use app::store::entitlements::snapshots::CustomerSnapshot;
use app::store::keys::api_keys::{ApiKey, Scopes};
use app::store::StoreError;
use tessera_engine::LicenseKey;

/// Every route of the enforcement API, under `/api/v1`. The routes carry the full path
/// (no nested router) and the per-key rate limit is spent by the [`Caller`] extractor,
/// so that a check passes through no layer it does not need.
pub fn router(state: &AppState) -> Router<AppState> {
    let unknown = || async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint.") };
    Router::new()
        .merge(check::router())
        .merge(instances::router())
        .merge(usage::router())
        .merge(tokens::router())
        .merge(provision::router(state.clone()))
        .route("/api/v1/openapi.json", axum::routing::get(openapi::document))
        .route("/api/v1", axum::routing::any(unknown))
        .route("/api/v1/", axum::routing::any(unknown))
        .route("/api/v1/{*rest}", axum::routing::any(unknown))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This endpoint does not take that method; see the Allow header.",
            )
        })
}

/// A JSON problem: a stable `code`, a human `message`, and the HTTP status.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before trying again (429).
    pub retry_after: Option<u64>,
    /// The body field at fault (422 `invalid`).
    pub field: Option<String>,
}

/// A JSON problem as sent.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// Stable, machine-readable: `bad_request`, `unauthorized`, `unknown_customer`, `instance_limit`…
    code: &'a str,
    message: &'a str,
    /// The body field at fault, for `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None, field: None }
    }

    /// 400 with code `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422 `invalid`: `field` of the body is not acceptable, as `message` says.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError { field: Some(field.to_owned()), ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message) }
    }

    /// 500; the cause is logged here, once, and not sent.
    pub fn internal(err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "enforcement API failure");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res =
            (self.status, Json(Problem { code: self.code, message: &self.message, field: self.field.as_deref() })).into_response();
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
            StoreError::VersionMoved { current } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                format!("The entitlement changed: it is at version {current} now. Read it again and retry with its ETag."),
            ),
            StoreError::Duplicate(rule) => match app::store::Unique::field(rule) {
                Some((field, message)) => ApiError { status: StatusCode::CONFLICT, ..ApiError::invalid(field, message) },
                None => ApiError::internal(StoreError::Duplicate(rule)),
            },
            other => ApiError::internal(other),
        }
    }
}

impl From<app::error::AppError> for ApiError {
    /// What the checks shared with the portal's forms refuse: a field at fault is 422
    /// `invalid` naming it; a missing row 404.
    fn from(e: app::error::AppError) -> Self {
        use app::error::AppError;
        match e {
            AppError::Invalid { field, message } => ApiError::invalid(&field, message),
            AppError::NotFound(what) => ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} was not found.")),
            AppError::Forbidden => ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            AppError::BadRequest(m) => ApiError::bad_request(m),
            AppError::Internal => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
            other => ApiError::bad_request(other.to_string()),
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

/// Who is calling, from `Authorization: Bearer …`: the vendor's API key (server-side, for
/// any customer of its product, within its scopes) or a customer's license key (for its
/// own entitlement only). 401 when missing, malformed, unknown or revoked.
#[derive(Debug, Clone)]
pub enum Caller {
    Vendor(ApiKey),
    License { key: LicenseKey, holder: LicenseHolder },
}

/// A scope a vendor API key may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Enforce,
    Provision,
    Read,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Enforce => "enforce",
            Scope::Provision => "provision",
            Scope::Read => "read",
        }
    }

    fn held_by(self, scopes: Scopes) -> bool {
        match self {
            Scope::Enforce => scopes.enforce,
            Scope::Provision => scopes.provision,
            Scope::Read => scopes.read,
        }
    }
}

fn missing_scope(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "missing_scope", message)
}

impl Caller {
    /// The product the caller acts for.
    pub fn product(&self) -> &str {
        match self {
            Caller::Vendor(key) => &key.product_key,
            Caller::License { holder, .. } => &holder.product_key,
        }
    }

    /// Who the audit log names.
    pub fn actor(&self) -> Actor {
        match self {
            Caller::Vendor(key) => Actor::api_key(key.id),
            Caller::License { key, .. } => Actor { user_id: None, label: format!("license-key:{}", key.id()) },
        }
    }

    /// For what a license key may do for its own entitlement (checks, its instances, its
    /// usage, their licences): a vendor key needs `enforce`.
    pub fn enforce(&self) -> Result<(), ApiError> {
        match self {
            Caller::Vendor(key) if !Scope::Enforce.held_by(key.scopes) => {
                Err(missing_scope("This API key lacks the `enforce` scope.".into()))
            }
            _ => Ok(()),
        }
    }

    /// For what only a vendor API key with `scope` may do.
    pub fn vendor(&self, scope: Scope) -> Result<&ApiKey, ApiError> {
        match self {
            Caller::Vendor(key) if scope.held_by(key.scopes) => Ok(key),
            Caller::Vendor(_) => Err(missing_scope(format!("This API key lacks the `{}` scope.", scope.name()))),
            Caller::License { .. } => {
                Err(missing_scope(format!("A license key cannot do this; it takes a vendor API key with the `{}` scope.", scope.name())))
            }
        }
    }

    /// For reading what the provisioning API manages: a vendor API key with `read` or
    /// `provision`.
    pub fn reader(&self) -> Result<&ApiKey, ApiError> {
        match self {
            Caller::Vendor(key) if key.scopes.read || key.scopes.provision => Ok(key),
            _ => self.vendor(Scope::Read),
        }
    }

    /// The customer a call is about. A vendor key names it (`customer`: slug or id); a
    /// license key acts for its own, which `customer` may name or leave out (naming
    /// another is 403 `wrong_customer`).
    pub async fn customer(&self, state: &AppState, named: Option<&str>) -> Result<Arc<CustomerSnapshot>, ApiError> {
        let named = named.map(str::trim).filter(|n| !n.is_empty());
        match self {
            Caller::Vendor(_) => {
                let named = named.ok_or_else(|| ApiError::bad_request("`customer` must name a customer (slug or id)."))?;
                Ok(state.enforcer.customer(named).await?)
            }
            Caller::License { holder, .. } => {
                let own = state.enforcer.customer_by_id(holder.customer_id).await?;
                match named {
                    Some(n) if n != own.slug && n != own.customer_id.to_string() => {
                        Err(ApiError::new(StatusCode::FORBIDDEN, "wrong_customer", "This license key acts for its own organisation only."))
                    }
                    _ => Ok(own),
                }
            }
        }
    }

    /// Whether `instance` is the caller's to act on: of the API key's product, or of the
    /// license key's own entitlement. Callers answer 404 otherwise, as for no instance.
    pub fn owns(&self, instance: &InstanceRef, state: &AppState) -> bool {
        match self {
            Caller::Vendor(key) => instance.product_id == key.product_id,
            Caller::License { holder, .. } => {
                instance.customer_id == holder.customer_id
                    && state.enforcer.entitlement_of(holder.customer_id, &holder.product_key) == Some(instance.entitlement_id)
            }
        }
    }

    /// The rate limiter's bucket: API keys by id, license keys by customer (negative, so
    /// the two never share one).
    fn bucket(&self) -> i64 {
        match self {
            Caller::Vendor(key) => key.id,
            Caller::License { holder, .. } => -holder.customer_id,
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = |code: &'static str, m: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, m);
        let send = "Send an API key or a license key as `Authorization: Bearer <key>`.";
        let key = bearer(&parts.headers).ok_or_else(|| unauthorized("unauthorized", send))?;
        let caller = if key.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("TLK")) {
            let parsed = LicenseKey::parse(key)
                .map_err(|e| unauthorized("invalid_license_key", &format!("This is not a valid license key: {e}.")))?;
            let holder =
                state.enforcer.license_key(&parsed).ok_or_else(|| unauthorized("unauthorized", "This license key is not valid."))?;
            Caller::License { key: parsed, holder }
        } else {
            Caller::Vendor(state.enforcer.api_key(key).ok_or_else(|| unauthorized("unauthorized", "This API key is not valid."))?)
        };
        if let Err(wait) = state.limiter.take(caller.bucket()) {
            let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests for this key; slow down.");
            e.retry_after = Some(wait.ceil().max(1.0) as u64);
            return Err(e);
        }
        Ok(caller)
    }
}

/// The token of `Authorization: Bearer <token>`, trimmed; `None` when there is none.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (!token.is_empty()).then_some(token)
}

/// A whole number as JSON writes it: `3`, or `3.0` (JSON Schema's `integer` holds both).
pub fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error as _;
    use serde::Deserialize as _;
    let n = serde_json::Number::deserialize(d)?;
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18).map(|f| f as i64))
        .ok_or_else(|| D::Error::custom(format!("{n} is not a whole number")))
}

/// As [`whole`], for a number that may be absent or null.
pub fn whole_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole")] i64);
    use serde::Deserialize as _;
    Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
}

/// The largest body the API reads (axum's default limit): larger is 413 `payload_too_large`.
pub const BODY_LIMIT: usize = 2 << 20;

/// Path segments whose rejection (a number out of range, say) is a JSON problem (400).
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::bad_request(format!("The address is not valid: {}", e.body_text())))
    }
}

/// A query string whose rejection (a repeated or malformed parameter) is a JSON problem (400).
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request(format!("The query is not valid: {}", e.body_text())))
    }
}

/// A JSON body whose rejection is a JSON problem (400, or 413 when too large) rather than
/// plain text.
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
        let body = axum::body::Bytes::from_request(req, state).await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The body is larger than the {} MiB this API accepts.", BODY_LIMIT >> 20),
            ),
            _ => ApiError::bad_request(e.body_text()),
        })?;
        serde_json::from_slice(&body).map(ApiJson).map_err(|e| ApiError::bad_request(format!("The JSON body is not valid: {e}")))
    }
}
