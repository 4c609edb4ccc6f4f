//! `POST /api/v1/check` and `POST /api/v1/checks`: may this user / instance use this
//! feature now? A refusal is still a 200, with `allowed: false` and its code.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Caller, Problem};
use app::ssr::enforcer::{CheckInput, CheckOutcome};
use app::ssr::AppState;
use tessera_engine::{Limits, ReasonCode};

/// The most checks one `/checks` call may carry.
pub const MAX_BATCH: usize = 1_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/check", post(check)).route("/api/v1/checks", post(checks))
}

/// One check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    /// Customer slug (`initech`) or id. The document asks for it, as a vendor API key must
    /// send it; a license key may leave it out (its own customer), and naming another
    /// customer is 403 `wrong_customer`.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 64, pattern = r"\S")]
    pub customer: Option<String>,
    /// Feature key (`reports.export`).
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    pub feature: String,
    /// The user's email or external id.
    #[schema(max_length = 320)]
    pub user: Option<String>,
    /// An activated instance's id (`ins_…`).
    #[schema(max_length = 128)]
    pub instance: Option<String>,
    #[schema(max_length = 64)]
    pub region: Option<String>,
    /// Units about to be consumed (metered features); default 1.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    #[serde(default, deserialize_with = "super::whole_or_none")]
    pub quantity: Option<i64>,
    /// The product; when given it must be the key's.
    #[schema(max_length = 128)]
    pub product: Option<String>,
}

/// The answer to one check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckResponse {
    pub allowed: bool,
    pub code: ReasonCode,
    pub plan: Option<String>,
    pub limits: Limits,
    /// Units left this period for a metered feature; null otherwise.
    pub remaining: Option<i64>,
    pub warnings: Vec<ReasonCode>,
    /// When the entitlement (or its trial) ends, RFC 3339; null when open-ended.
    pub expires_at: Option<String>,
}

/// `{ "checks": [...] }` → `{ "results": [...] }`, in order.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecksBody {
    #[schema(max_items = 1000)]
    pub checks: Vec<CheckBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChecksResponse {
    pub results: Vec<CheckResponse>,
}

/// May this user / instance use this feature now?
#[utoipa::path(post, path = "/api/v1/check", tag = "enforcement", request_body = CheckBody, security(("api_key" = [])),
    responses((status = 200, description = "The decision (a refusal is still a 200)", body = CheckResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid key", body = Problem),
              (status = 403, description = "`wrong_scope`: the key is for another product; `wrong_customer`: a license key naming another customer; `missing_scope`", body = Problem),
              (status = 404, description = "Unknown customer or feature", body = Problem)))]
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<Json<CheckResponse>, ApiError> {
    caller.enforce()?;
    Ok(Json(answer(&state, &caller, body, app::store::now()).await?))
}

/// Up to 1,000 checks in one call, answered in order.
#[utoipa::path(post, path = "/api/v1/checks", tag = "enforcement", request_body = ChecksBody, security(("api_key" = [])),
    responses((status = 200, description = "One decision per check, in order", body = ChecksResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid key", body = Problem),
              (status = 403, description = "`wrong_scope`, `wrong_customer` or `missing_scope`, as for one check", body = Problem),
              (status = 404, description = "Unknown customer or feature in one of the checks", body = Problem)))]
pub async fn checks(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChecksBody>,
) -> Result<Json<ChecksResponse>, ApiError> {
    caller.enforce()?;
    if body.checks.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!("At most {MAX_BATCH} checks per call; this one has {}.", body.checks.len())));
    }
    let now = app::store::now();
    let mut results = Vec::with_capacity(body.checks.len());
    for (i, c) in body.checks.into_iter().enumerate() {
        let r = answer(&state, &caller, c, now).await.map_err(|mut e| {
            e.message = format!("checks[{i}]: {}", e.message);
            e
        })?;
        results.push(r);
    }
    Ok(Json(ChecksResponse { results }))
}

async fn answer(state: &AppState, caller: &Caller, body: CheckBody, now: i64) -> Result<CheckResponse, ApiError> {
    let product = caller.product();
    if body.feature.trim().is_empty() {
        return Err(ApiError::bad_request("`feature` must name a feature key."));
    }
    if let Some(q) = body.quantity {
        if !(0..=1_000_000_000_000).contains(&q) {
            return Err(ApiError::bad_request("`quantity` must be between 0 and 10^12."));
        }
    }
    if body.product.as_deref().is_some_and(|p| p != product) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "wrong_scope", format!("This key is for product {product:?}.")));
    }
    let customer = caller.customer(state, body.customer.as_deref()).await?;
    let input =
        CheckInput { feature: body.feature, user: body.user, instance: body.instance, region: body.region, quantity: body.quantity };
    let started = std::time::Instant::now();
    let CheckOutcome { decision, plan, expires_at } = state.enforcer.check(&customer, product, input, now)?;
    metrics::histogram!("tessera_engine_evaluation_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("tessera_check_decisions_total", "code" => decision.code.as_str()).increment(1);
    Ok(CheckResponse {
        allowed: decision.allowed,
        code: decision.code,
        plan,
        limits: decision.limits,
        remaining: decision.remaining,
        warnings: decision.warnings,
        expires_at: expires_at.and_then(|t| chrono::DateTime::from_timestamp(t, 0)).map(|t| t.to_rfc3339()),
    })
}
