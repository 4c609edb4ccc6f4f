//! `POST /usage`: a batch of metered usage events, idempotent by `event_id`.
//! Answered only after the batch is committed.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Caller, Problem};
use app::ssr::AppState;
use app::store::usage::NewUsage;

/// The most events one call may carry.
pub const MAX_EVENTS: usize = 10_000;

/// How far back usage may be dated: a billing month and a few days to send it late.
pub const BACKDATE_DAYS: i64 = 35;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/usage", post(record))
}

/// One usage event.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageEventBody {
    /// The client's id for this event; a retry with the same id counts once.
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    pub event_id: String,
    /// Customer slug (`initech`) or id. The document asks for it, as a vendor API key must
    /// send it; a license key may leave it out (its own customer), and naming another
    /// customer is 403 `wrong_customer`.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 64, pattern = r"\S")]
    pub customer: Option<String>,
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    pub feature: String,
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    #[serde(deserialize_with = "super::whole")]
    pub quantity: i64,
    /// When it happened (RFC 3339); now when absent. At most 5 minutes ahead, at most 35
    /// days back, and not before the entitlement started (422 otherwise).
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageBody {
    #[schema(min_items = 1, max_items = 10_000)]
    pub events: Vec<UsageEventBody>,
}

/// What the batch came to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageResponse {
    pub accepted: i64,
    pub duplicates: i64,
}

/// Records a batch of usage events; a retried event id counts once. Answered after commit.
#[utoipa::path(post, path = "/api/v1/usage", tag = "usage", request_body = UsageBody, security(("api_key" = [])),
    responses((status = 200, description = "Committed", body = UsageResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid key", body = Problem),
              (status = 403, description = "`wrong_customer`: a license key naming another customer; `missing_scope`", body = Problem),
              (status = 404, description = "Unknown customer or feature", body = Problem),
              (status = 409, description = "`not_entitled`", body = Problem),
              (status = 413, description = "`payload_too_large`: a body over 2 MiB", body = Problem),
              (status = 422, description = "`usage_too_old`: dated more than 35 days ago; `usage_before_entitlement`: dated before the entitlement started; `usage_in_future`: more than 5 minutes ahead", body = Problem)))]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<UsageBody>,
) -> Result<Json<UsageResponse>, ApiError> {
    caller.enforce()?;
    let product = caller.product();
    if body.events.is_empty() || body.events.len() > MAX_EVENTS {
        return Err(ApiError::bad_request(format!("Send 1 to {MAX_EVENTS} events per call.")));
    }
    let now = app::store::now();
    let mut events = Vec::with_capacity(body.events.len());
    let mut features: HashMap<i64, String> = HashMap::new();
    for (i, e) in body.events.into_iter().enumerate() {
        let bad = |m: String| ApiError::bad_request(format!("events[{i}]: {m}"));
        let event_id = e.event_id.trim();
        if event_id.is_empty() || event_id.len() > 128 {
            return Err(bad("`event_id` must be 1 to 128 characters.".into()));
        }
        if !(0..=1_000_000_000_000).contains(&e.quantity) {
            return Err(bad("`quantity` must be between 0 and 10^12.".into()));
        }
        let at = match e.at.as_deref() {
            None => now,
            Some(t) => {
                chrono::DateTime::parse_from_rfc3339(t).map_err(|_| bad(format!("`at` {t:?} is not an RFC 3339 time.")))?.timestamp()
            }
        };
        if at > now + 300 {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "usage_in_future",
                format!("events[{i}]: `at` is in the future."),
            ));
        }
        let at_event = |mut err: ApiError| {
            err.message = format!("events[{i}]: {}", err.message);
            err
        };
        let customer = caller.customer(&state, e.customer.as_deref()).await.map_err(at_event)?;
        let feature_id = state.enforcer.feature_id(product, &e.feature).map_err(|e| at_event(ApiError::from(e)))?;
        let Some(snap) = customer.entitlements.get(product) else {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "not_entitled",
                format!("events[{i}]: this customer has no entitlement to the product."),
            ));
        };
        if at < now - BACKDATE_DAYS * 86_400 {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "usage_too_old",
                format!("events[{i}]: `at` is more than {BACKDATE_DAYS} days ago; usage is reported within {BACKDATE_DAYS} days."),
            ));
        }
        if customer.licensing.get(product).is_some_and(|terms| at < terms.starts_at) {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "usage_before_entitlement",
                format!("events[{i}]: `at` is before the entitlement started."),
            ));
        }
        features.entry(feature_id).or_insert_with(|| e.feature.clone());
        events.push(NewUsage {
            event_id: event_id.to_owned(),
            customer_id: customer.customer_id,
            entitlement_id: snap.entitlement_id,
            feature_id,
            quantity: e.quantity,
            at,
        });
    }
    let receipt = state.store.record_usage(&caller.actor(), &events, now).await?;
    // Committed: now the counters the next check reads, one update per customer.
    let owners: HashMap<i64, i64> = events.iter().map(|e| (e.entitlement_id, e.customer_id)).collect();
    let mut by_customer: HashMap<i64, Vec<(&str, i64, i64)>> = HashMap::new();
    for (entitlement, feature_id, at, quantity) in &receipt.counted {
        if let (Some(customer), Some(feature)) = (owners.get(entitlement), features.get(feature_id)) {
            by_customer.entry(*customer).or_default().push((feature.as_str(), *at, *quantity));
        }
    }
    let mut crossed = Vec::new();
    for (customer, counted) in by_customer {
        crossed.extend(state.enforcer.apply_usage(customer, product, &counted, now));
    }
    // A quota this use took across 80% or 100% is noticed now, so that the event that says
    // so follows the use's own (the sweep notices what another replica's use crossed).
    if !crossed.is_empty() {
        if let Err(e) = state.store.quota_notices(&crossed, now).await {
            tracing::warn!(error = %e, "recording quota notices failed; the sweep records them");
        }
    }
    metrics::counter!("tessera_usage_events_total", "outcome" => "counted").increment(receipt.accepted.max(0) as u64);
    metrics::counter!("tessera_usage_events_total", "outcome" => "duplicate").increment(receipt.duplicates.max(0) as u64);
    Ok(Json(UsageResponse { accepted: receipt.accepted, duplicates: receipt.duplicates }))
}
