//! `POST /tokens`: a signed license token for offline use, and the JWKS that verifies it.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Caller, Problem};
use app::ssr::tokens::Jwks;
use app::ssr::AppState;
use tessera_engine::{self as engine, Period};

/// How long a token is valid at most; a client refreshes it while online.
pub const TOKEN_TTL: i64 = 24 * 3600;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/tokens", post(issue))
}

/// `GET /.well-known/jwks.json`: the public keys of every token not yet retired.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "tokens",
    responses((status = 200, description = "JSON Web Key Set (OKP / Ed25519)", content_type = "application/json", body = Object)))]
pub async fn jwks(State(state): State<AppState>) -> Json<Jwks> {
    Json(state.tokens.jwks())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// Customer slug or id.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    pub customer: String,
    /// An active instance (`ins_…`) to name in the token.
    #[schema(max_length = 128)]
    pub instance: Option<String>,
}

/// What a feature grants, in a token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeatureClaim {
    pub quota: Option<i64>,
    pub period: Option<Period>,
}

/// The claims of a license token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LicenseClaims {
    pub iss: &'static str,
    /// The customer's slug.
    pub sub: String,
    /// The product's key.
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub plan: String,
    pub status: app::entitlements::EntitlementStatus,
    pub features: BTreeMap<String, FeatureClaim>,
    pub seats: i64,
    pub instances: i64,
    /// When the entitlement (or its trial) ends; null when open-ended.
    pub entitlement_expires_at: Option<i64>,
    pub instance: Option<String>,
    pub warnings: Vec<engine::ReasonCode>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub token: String,
    pub expires_at: String,
}

/// A signed token (JWT, EdDSA) of a customer's entitlement, valid a day at most, for the
/// vendor's servers. Machines at a customer's site use offline licences instead
/// (`POST /api/v1/instances/{id}/licence`). Vendor API keys with `enforce` only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenBody, security(("api_key" = [])),
    responses((status = 200, description = "Signed", body = TokenResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid API key", body = Problem),
              (status = 403, description = "`missing_scope` (license keys too)", body = Problem),
              (status = 404, description = "Unknown customer or instance", body = Problem),
              (status = 409, description = "Not usable now: `suspended`, `expired`, `trial_ended`, `not_entitled`", body = Problem)))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Json<TokenResponse>, ApiError> {
    let key = caller.vendor(super::Scope::Enforce)?;
    let customer = state.enforcer.customer(body.customer.trim()).await?;
    let Some(snap) = customer.entitlements.get(&*key.product_key) else {
        return Err(ApiError::new(StatusCode::CONFLICT, "not_entitled", "This customer has no entitlement to the product."));
    };
    let now = app::store::now();
    let warnings = engine::usable(snap, now).map_err(|code| {
        ApiError::new(StatusCode::CONFLICT, code.as_str(), format!("The entitlement is not usable now ({}).", code.as_str()))
    })?;
    if let Some(id) = body.instance.as_deref() {
        let alive = customer
            .instance_ids
            .get(id.trim())
            .and_then(|i| snap.instances.get(i))
            .is_some_and(|beat| now - beat <= state.enforcer.instance_ttl());
        if !alive {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_instance", format!("No active instance {id:?}.")));
        }
    }
    let entitlement_end = snap.expires_at();
    // Never valid past the entitlement's end (plus grace when already in it).
    let hard_end = entitlement_end.map(|end| if end > now { end } else { end + snap.grace_days * 86_400 });
    let exp = hard_end.map_or(now + TOKEN_TTL, |end| end.min(now + TOKEN_TTL));
    let claims = LicenseClaims {
        iss: "tessera",
        sub: customer.slug.clone(),
        aud: key.product_key.to_string(),
        iat: now,
        nbf: now,
        exp,
        plan: snap.plan.clone(),
        status: snap.status,
        features: snap
            .features
            .iter()
            .map(|(k, r)| {
                (k.clone(), FeatureClaim { quota: r.quota.as_ref().map(|q| q.limit), period: r.quota.as_ref().map(|q| q.period) })
            })
            .collect(),
        seats: snap.seats_cap,
        instances: snap.instances_cap,
        entitlement_expires_at: entitlement_end,
        instance: body.instance,
        warnings,
    };
    let token = state.tokens.sign(&claims).ok_or_else(|| ApiError::internal("no signing key"))?;
    let expires_at = chrono::DateTime::from_timestamp(exp, 0).map(|t| t.to_rfc3339()).unwrap_or_default();
    Ok(Json(TokenResponse { token, expires_at }))
}
