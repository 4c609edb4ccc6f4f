//! Webhook endpoints and their delivery logs, for the vendor's systems:
//! `/api/v1/webhooks…`. An API key sees and manages the endpoints its product's keys made
//! (vendor admins manage every endpoint in the console); an endpoint's signing secret is
//! in the answer that makes or rotates it, and never again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{answer, param, time, time_opt, MAX_PAGE};
use crate::api::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem, Scope};
use app::ssr::AppState;
use app::store::keys::api_keys::ApiKey;
use app::store::webhooks::deliveries::{AttemptRow, DeliveryCounts, DeliveryRow, STATUSES};
use app::store::webhooks::{Endpoint, EndpointChange, NewEndpoint, DEFAULT_OVERLAP, MAX_OVERLAP};
use app::store::StoreError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route("/api/v1/webhooks/{endpoint}", get(read).patch(update).delete(remove))
        .route("/api/v1/webhooks/{endpoint}/rotate-secret", post(rotate))
        .route("/api/v1/webhooks/{endpoint}/deliveries", get(deliveries))
        .route("/api/v1/webhooks/{endpoint}/deliveries/{delivery}", get(delivery))
        .route("/api/v1/webhooks/{endpoint}/deliveries/{delivery}/resend", post(resend))
}

/// Where published events are sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// The event types it receives; empty for every type the feed publishes.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled, while it is.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (RFC 3339); null after a success.
    pub failing_since: Option<String>,
    /// Until when the secret before the last rotation signs too (RFC 3339).
    pub previous_secret_until: Option<String>,
    pub deliveries: Counts,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// How many deliveries stand where.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

fn endpoint(e: Endpoint, counts: DeliveryCounts) -> WebhookEndpoint {
    WebhookEndpoint {
        id: e.id,
        url: e.url,
        description: e.description,
        event_types: e.event_types,
        enabled: e.enabled,
        disabled_reason: e.disabled_reason,
        failing_since: time_opt(e.failing_since),
        previous_secret_until: time_opt(e.previous_until.filter(|u| *u > app::store::now())),
        deliveries: Counts { pending: counts.pending, delivered: counts.delivered, failed: counts.failed },
        created_at: time(e.created_at),
        updated_at: time(e.updated_at),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookEndpointList {
    pub data: Vec<WebhookEndpoint>,
}

/// Endpoint `id` of `key`'s product (one its keys made); 404 `unknown_webhook` otherwise.
async fn find(state: &AppState, key: &ApiKey, id: i64) -> Result<Endpoint, ApiError> {
    match state.store.webhook_endpoint(id).await {
        Ok(e) if e.product_id == Some(key.product_id) => Ok(e),
        Ok(_) | Err(StoreError::NotFound) => Err(unknown(id)),
        Err(e) => Err(e.into()),
    }
}

fn unknown(id: i64) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_webhook", format!("No webhook endpoint {id} of this API key's product."))
}

async fn with_counts(state: &AppState, e: Endpoint) -> Result<WebhookEndpoint, ApiError> {
    let counts = state.store.webhook_delivery_counts(e.id).await?;
    Ok(endpoint(e, counts))
}

/// The webhook endpoints the API key's product's keys made.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("api_key" = [])),
    responses((status = 200, body = WebhookEndpointList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 429, body = Problem)))]
pub async fn list(caller: Caller, State(state): State<AppState>) -> Result<Json<WebhookEndpointList>, ApiError> {
    let key = caller.reader()?;
    let mut counts = state.store.all_webhook_delivery_counts().await?;
    let found = state.store.list_webhook_endpoints(Some(key.product_id)).await?;
    let data = found.into_iter().map(|e| {
        let c = counts.remove(&e.id).unwrap_or_default();
        endpoint(e, c)
    });
    Ok(Json(WebhookEndpointList { data: data.collect() }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    /// Where deliveries are posted: `https://` (or `http://`), no credentials.
    #[schema(max_length = 2000)]
    pub url: String,
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// Event types of the catalog that the feed publishes; absent or empty for all.
    #[schema(max_items = 100)]
    pub event_types: Option<Vec<String>>,
}

/// A webhook endpoint with its signing secret: the only time the secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

fn description(raw: Option<&str>) -> Result<String, ApiError> {
    let d = raw.unwrap_or("").trim();
    if d.chars().count() > app::ssr::webhooks::MAX_DESCRIPTION {
        return Err(ApiError::invalid("description", "A description is at most 200 characters."));
    }
    Ok(d.to_owned())
}

fn event_types(raw: &[String]) -> Result<Vec<app::store::EventKind>, ApiError> {
    if raw.len() > 100 {
        return Err(ApiError::invalid("event_types", "Name at most 100 event types."));
    }
    Ok(app::ssr::webhooks::event_types("event_types", raw.iter().map(String::as_str))?)
}

/// Adds an endpoint; it receives the events committed from now on. The answer holds its
/// signing secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhookBody, security(("api_key" = [])),
    responses((status = 201, body = WebhookWithSecret), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn create(caller: Caller, State(state): State<AppState>, ApiJson(body): ApiJson<NewWebhookBody>) -> Result<Response, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let url = app::ssr::webhooks::endpoint_url("url", &body.url, state.webhooks.allow_private)?;
    let description = description(body.description.as_deref())?;
    let types = event_types(body.event_types.as_deref().unwrap_or_default())?;
    let new = NewEndpoint { product_id: Some(key.product_id), url: &url, description: &description, event_types: &types };
    let (made, secret) = state.store.create_webhook_endpoint(&caller.actor(), &new, app::store::now()).await?;
    let body = WebhookWithSecret { endpoint: endpoint(made, DeliveryCounts::default()), secret };
    Ok(answer(StatusCode::CREATED, &body, None))
}

/// A webhook endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks/{endpoint}", tag = "webhooks", params(("endpoint" = i64, Path)), security(("api_key" = [])),
    responses((status = 200, body = WebhookEndpoint), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn read(caller: Caller, State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Result<Json<WebhookEndpoint>, ApiError> {
    let key = caller.reader()?;
    let found = find(&state, key, id).await?;
    Ok(Json(with_counts(&state, found).await?))
}

/// A change of an endpoint: what the body leaves out stays as it is. `enabled: false`
/// stops deliveries; `enabled: true` goes on from the event it had reached.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    #[schema(max_length = 200)]
    pub description: Option<String>,
    #[schema(max_items = 100)]
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// Changes an endpoint's address, description, types, or enables or disables it.
#[utoipa::path(patch, path = "/api/v1/webhooks/{endpoint}", tag = "webhooks", request_body = WebhookChange, params(("endpoint" = i64, Path)),
    security(("api_key" = [])),
    responses((status = 200, body = WebhookEndpoint), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn update(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<WebhookChange>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let change = EndpointChange {
        url: body.url.as_deref().map(|u| app::ssr::webhooks::endpoint_url("url", u, state.webhooks.allow_private)).transpose()?,
        description: body.description.as_deref().map(|d| description(Some(d))).transpose()?,
        event_types: body.event_types.as_deref().map(event_types).transpose()?,
        enabled: body.enabled,
    };
    find(&state, key, id).await?;
    let changed = match state.store.update_webhook_endpoint(&caller.actor(), id, &change, app::store::now()).await {
        Err(StoreError::NotFound) => return Err(unknown(id)),
        other => other?,
    };
    Ok(Json(with_counts(&state, changed).await?))
}

/// Removes an endpoint and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{endpoint}", tag = "webhooks", params(("endpoint" = i64, Path)), security(("api_key" = [])),
    responses((status = 204, description = "Removed"), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn remove(caller: Caller, State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    find(&state, key, id).await?;
    match state.store.remove_webhook_endpoint(&caller.actor(), id, app::store::now()).await {
        Err(StoreError::NotFound) => Err(unknown(id)),
        other => other.map(|()| StatusCode::NO_CONTENT).map_err(ApiError::from),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the secret before this one still signs (both signatures are sent), in
    /// seconds: 0 to 604800, 86400 when absent.
    #[serde(default, deserialize_with = "crate::api::whole_or_none")]
    #[schema(minimum = 0, maximum = 604800)]
    pub overlap_seconds: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    /// The new `whsec_…` secret, shown this once.
    pub secret: String,
    /// Until when the secret before it signs too (RFC 3339); null when it stopped at once.
    pub previous_secret_until: Option<String>,
}

/// Gives an endpoint a new signing secret; the one before keeps signing for the overlap.
#[utoipa::path(post, path = "/api/v1/webhooks/{endpoint}/rotate-secret", tag = "webhooks", request_body = RotateBody, params(("endpoint" = i64, Path)),
    security(("api_key" = [])),
    responses((status = 200, body = RotatedSecret), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn rotate(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RotateBody>,
) -> Result<Json<RotatedSecret>, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP);
    if !(0..=MAX_OVERLAP).contains(&overlap) {
        return Err(ApiError::invalid("overlap_seconds", "An overlap is 0 to 604800 seconds (a week)."));
    }
    find(&state, key, id).await?;
    let (secret, until) = match state.store.rotate_webhook_secret(&caller.actor(), id, overlap, app::store::now()).await {
        Err(StoreError::NotFound) => return Err(unknown(id)),
        other => other?,
    };
    Ok(Json(RotatedSecret { secret, previous_secret_until: time_opt(until) }))
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i64,
    /// The event's id in the feed; its `webhook-id` is `evt_` and this.
    pub event_id: String,
    pub event_type: String,
    /// `pending` (to be tried, or tried again), `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    /// When it is tried next, while pending (RFC 3339).
    pub next_attempt_at: Option<String>,
    pub last_attempt_at: Option<String>,
    /// The receiver's status code at the last attempt.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
}

fn delivery_body(d: DeliveryRow) -> Delivery {
    Delivery {
        id: d.id,
        event_id: d.event_seq.to_string(),
        event_type: d.kind,
        next_attempt_at: (d.status == "pending").then(|| time(d.next_attempt_ms.div_euclid(1000))),
        status: d.status,
        attempts: d.attempts,
        last_attempt_at: time_opt(d.last_attempt_at),
        last_status: d.last_status,
        last_error: d.last_error,
        created_at: time(d.created_at),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    pub data: Vec<Delivery>,
    /// The cursor of the next (older) page (`after`); null on the last.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries in this state.
    #[param(max_length = 9, pattern = "^(pending|delivered|failed)$")]
    pub status: Option<String>,
    /// The cursor: the `next` of the page before.
    #[param(max_length = 20, pattern = "^[0-9]+$")]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// An endpoint's delivery log, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/webhooks/{endpoint}/deliveries", tag = "webhooks", params(("endpoint" = i64, Path), DeliveryQuery),
    security(("api_key" = [])),
    responses((status = 200, body = DeliveryList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn deliveries(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let key = caller.reader()?;
    let status = param("status", q.status.as_deref(), 9)?;
    if let Some(s) = status.filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::bad_request(format!("`status` is pending, delivered or failed, not {s:?}.")));
    }
    let before = super::cursor(q.after.as_deref())?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request("`limit` is 1 to 200."));
    }
    find(&state, key, id).await?;
    let found = state.store.list_webhook_deliveries(id, status, before, limit).await?;
    let next = super::next_cursor(&found, limit, |d| d.id);
    Ok(Json(DeliveryList { data: found.into_iter().map(delivery_body).collect(), next }))
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    pub attempt: i64,
    /// RFC 3339.
    pub at: String,
    pub duration_ms: i64,
    /// The receiver's status code, when it answered.
    pub status: Option<i64>,
    pub error: Option<String>,
    /// The start of the receiver's answer (1 KiB at most).
    pub response: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

fn attempt(a: AttemptRow) -> Attempt {
    Attempt { attempt: a.attempt, at: time(a.at), duration_ms: a.duration_ms, status: a.status, error: a.error, response: a.response }
}

async fn find_delivery(state: &AppState, key: &ApiKey, endpoint: i64, id: i64) -> Result<(DeliveryRow, Vec<AttemptRow>), ApiError> {
    find(state, key, endpoint).await?;
    match state.store.webhook_delivery(endpoint, id).await {
        Err(StoreError::NotFound) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_delivery", format!("Endpoint {endpoint} has no delivery {id}.")))
        }
        other => Ok(other?),
    }
}

/// A delivery with each of its attempts.
#[utoipa::path(get, path = "/api/v1/webhooks/{endpoint}/deliveries/{delivery}", tag = "webhooks",
    params(("endpoint" = i64, Path), ("delivery" = i64, Path)), security(("api_key" = [])),
    responses((status = 200, body = DeliveryDetail), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn delivery(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((endpoint, id)): ApiPath<(i64, i64)>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let key = caller.reader()?;
    let (d, attempts) = find_delivery(&state, key, endpoint, id).await?;
    Ok(Json(DeliveryDetail { delivery: delivery_body(d), attempts: attempts.into_iter().map(attempt).collect() }))
}

/// Sends a delivery again now, with a new retry window, whatever became of it (its
/// `webhook-id` stays the same, so a receiver that has it already can tell).
#[utoipa::path(post, path = "/api/v1/webhooks/{endpoint}/deliveries/{delivery}/resend", tag = "webhooks",
    params(("endpoint" = i64, Path), ("delivery" = i64, Path)), security(("api_key" = [])),
    responses((status = 202, body = Delivery), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn resend(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((endpoint, id)): ApiPath<(i64, i64)>,
) -> Result<Response, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    find_delivery(&state, key, endpoint, id).await?;
    let resent = state.store.resend_webhook_delivery(&caller.actor(), endpoint, id, chrono::Utc::now().timestamp_millis()).await?;
    Ok(answer(StatusCode::ACCEPTED, &delivery_body(resent), None))
}
