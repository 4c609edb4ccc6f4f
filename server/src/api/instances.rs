//! Instances: `POST /instances` (activate), `POST /instances/{id}/heartbeat`,
//! `DELETE /instances/{id}`. Caps are per entitlement; a lapsed heartbeat frees a slot.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Caller, Problem};
use app::ssr::AppState;
use app::store::audit::Actor;
use app::store::entitlements::instances::{Activation, Heartbeat};
use app::store::StoreError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instances", post(activate))
        .route("/api/v1/instances/{id}/heartbeat", post(heartbeat))
        .route("/api/v1/instances/{id}", delete(deactivate))
}

/// An activation request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    /// Customer slug or id.
    pub customer: String,
    /// A stable identifier of the machine, container or process.
    pub fingerprint: String,
    pub name: Option<String>,
}

/// An active instance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceResponse {
    pub id: i64,
    pub customer: String,
    pub fingerprint: String,
    pub name: Option<String>,
    /// Seconds within which the next heartbeat must come.
    pub heartbeat_ttl: i64,
    pub instances_cap: i64,
}

/// An instance id from the path; anything but a number names no instance.
fn instance_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "unknown_instance", format!("No instance {raw:?}.")))
}

fn caller_actor(key_id: i64) -> Actor {
    Actor { user_id: None, label: format!("api-key:{key_id}") }
}

/// Activates an instance (or finds the live one with the same fingerprint).
#[utoipa::path(post, path = "/api/v1/instances", tag = "instances", request_body = ActivateBody, security(("api_key" = [])),
    responses((status = 201, description = "Activated", body = InstanceResponse),
              (status = 200, description = "Already active with this fingerprint", body = InstanceResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid API key", body = Problem),
              (status = 404, description = "Unknown customer", body = Problem),
              (status = 409, description = "`instance_limit`: every slot is taken; `not_entitled`", body = Problem)))]
pub async fn activate(
    State(state): State<AppState>,
    Caller(key): Caller,
    ApiJson(body): ApiJson<ActivateBody>,
) -> Result<(StatusCode, Json<InstanceResponse>), ApiError> {
    let fingerprint = body.fingerprint.trim();
    if fingerprint.is_empty() || fingerprint.len() > 256 {
        return Err(ApiError::bad_request("`fingerprint` must be 1 to 256 characters."));
    }
    let name = body.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.len() > 256) {
        return Err(ApiError::bad_request("`name` must be at most 256 characters."));
    }
    let customer = state.enforcer.customer(body.customer.trim()).await?;
    let Some(snap) = customer.entitlements.get(&*key.product_key) else {
        return Err(ApiError::new(StatusCode::CONFLICT, "not_entitled", "This customer has no entitlement to the product."));
    };
    let now = app::store::now();
    let ttl = state.enforcer.instance_ttl();
    let result = state
        .store
        .activate_instance(
            &caller_actor(key.id),
            customer.customer_id,
            snap.entitlement_id,
            snap.instances_cap,
            fingerprint,
            name,
            now,
            ttl,
        )
        .await?;
    match result {
        Activation::AtCap => Err(ApiError::new(
            StatusCode::CONFLICT,
            "instance_limit",
            format!("All {} instance slots are in use; deactivate one or wait for one to lapse.", snap.instances_cap),
        )),
        Activation::Active { id, created } => Ok((
            if created { StatusCode::CREATED } else { StatusCode::OK },
            Json(InstanceResponse {
                id,
                customer: customer.slug.clone(),
                fingerprint: fingerprint.to_owned(),
                name: name.map(str::to_owned),
                heartbeat_ttl: ttl,
                instances_cap: snap.instances_cap,
            }),
        )),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeartbeatResponse {
    id: i64,
    alive: bool,
    heartbeat_ttl: i64,
}

/// Keeps an instance alive.
#[utoipa::path(post, path = "/api/v1/instances/{id}/heartbeat", tag = "instances", params(("id" = i64, Path, description = "Instance id")),
    security(("api_key" = [])),
    responses((status = 200, description = "Alive", body = HeartbeatResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid API key", body = Problem),
              (status = 404, description = "Unknown instance", body = Problem),
              (status = 410, description = "`instance_lapsed`: activate again", body = Problem)))]
pub async fn heartbeat(
    State(state): State<AppState>,
    Caller(key): Caller,
    Path(id): Path<String>,
) -> Result<Json<HeartbeatResponse>, ApiError> {
    let id = instance_id(&id)?;
    let now = app::store::now();
    let ttl = state.enforcer.instance_ttl();
    let (beat, _) = state.store.heartbeat_instance(key.product_id, id, now, ttl).await?;
    match beat {
        Heartbeat::Alive => Ok(Json(HeartbeatResponse { id, alive: true, heartbeat_ttl: ttl })),
        Heartbeat::Lapsed => {
            Err(ApiError::new(StatusCode::GONE, "instance_lapsed", "This instance lapsed or was deactivated; activate it again."))
        }
        Heartbeat::NotFound => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_instance", format!("No instance {id}."))),
    }
}

/// Deactivates an instance and frees its slot at once.
#[utoipa::path(delete, path = "/api/v1/instances/{id}", tag = "instances", params(("id" = i64, Path, description = "Instance id")),
    security(("api_key" = [])),
    responses((status = 204, description = "Deactivated"), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid API key", body = Problem), (status = 404, description = "Unknown instance", body = Problem)))]
pub async fn deactivate(State(state): State<AppState>, Caller(key): Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = instance_id(&id)?;
    match state.store.deactivate_instance(&caller_actor(key.id), Some(key.product_id), None, id, app::store::now()).await {
        Err(StoreError::NotFound) => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_instance", format!("No active instance {id}."))),
        done => Ok(done.map(|_| StatusCode::NO_CONTENT)?),
    }
}
