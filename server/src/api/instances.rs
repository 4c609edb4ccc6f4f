//! Instances: `POST /instances` (activate), `POST /instances/{id}/heartbeat`,
//! `DELETE /instances/{id}`, `POST /instances/{id}/licence` (an offline licence), and the
//! air-gapped flow: `POST /offline/activations` and `POST /offline/deactivations`. Caps are
//! per entitlement; a lapsed heartbeat frees a slot unless an offline licence holds it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Caller, Problem, Scope};
use app::ssr::licences::{self, IssuedLicence, LicenceRefusal, OfflineRefusal, Within};
use app::ssr::AppState;
use app::store::entitlements::instances::{Activation, Deactivation, Heartbeat, InstanceRef, NewInstance};
use app::store::StoreError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instances", post(activate))
        .route("/api/v1/instances/{id}/heartbeat", post(heartbeat))
        .route("/api/v1/instances/{id}", delete(deactivate))
        .route("/api/v1/instances/{id}/licence", post(licence))
        .route("/api/v1/offline/activations", post(offline_activation))
        .route("/api/v1/offline/deactivations", post(offline_deactivation))
}

/// An activation request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    /// Customer slug (`initech`) or id. The document asks for it, as a vendor API key must
    /// send it; a license key may leave it out (its own customer), and naming another
    /// customer is 403 `wrong_customer`.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 64, pattern = r"\S")]
    pub customer: Option<String>,
    /// A stable identifier of the machine, container or process.
    #[schema(min_length = 1, max_length = 256, pattern = r"\S")]
    pub fingerprint: String,
    #[schema(max_length = 256)]
    pub name: Option<String>,
}

/// An active instance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceResponse {
    /// Opaque (`ins_…`).
    pub id: String,
    pub customer: String,
    pub fingerprint: String,
    pub name: Option<String>,
    /// Seconds within which the next heartbeat must come.
    pub heartbeat_ttl: i64,
    pub instances_cap: i64,
}

fn unknown_instance(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_instance", format!("No instance {id:?}."))
}

/// The instance `id` names when it is the caller's; 404 `unknown_instance` otherwise,
/// whether it exists or not.
async fn own_instance(state: &AppState, caller: &Caller, id: &str) -> Result<InstanceRef, ApiError> {
    let id = id.trim();
    if !id.starts_with("ins_") || id.len() > 64 {
        return Err(unknown_instance(id));
    }
    match state.store.find_instance(id).await {
        Ok(instance) if caller.owns(&instance, state) => Ok(instance),
        Ok(_) | Err(StoreError::NotFound) => Err(unknown_instance(id)),
        Err(e) => Err(e.into()),
    }
}

/// Activates an instance (or finds the live one with the same fingerprint).
#[utoipa::path(post, path = "/api/v1/instances", tag = "instances", request_body = ActivateBody, security(("api_key" = [])),
    responses((status = 201, description = "Activated", body = InstanceResponse),
              (status = 200, description = "Already active with this fingerprint", body = InstanceResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid key", body = Problem),
              (status = 403, description = "`wrong_customer`, `missing_scope`", body = Problem),
              (status = 404, description = "Unknown customer", body = Problem),
              (status = 409, description = "`instance_limit`: every slot is taken; `not_entitled`", body = Problem)))]
pub async fn activate(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ActivateBody>,
) -> Result<(StatusCode, Json<InstanceResponse>), ApiError> {
    caller.enforce()?;
    let fingerprint = body.fingerprint.trim();
    if fingerprint.is_empty() || fingerprint.len() > 256 {
        return Err(ApiError::bad_request("`fingerprint` must be 1 to 256 characters."));
    }
    let name = body.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.len() > 256) {
        return Err(ApiError::bad_request("`name` must be at most 256 characters."));
    }
    let customer = caller.customer(&state, body.customer.as_deref()).await?;
    let Some(snap) = customer.entitlements.get(caller.product()) else {
        return Err(ApiError::new(StatusCode::CONFLICT, "not_entitled", "This customer has no entitlement to the product."));
    };
    let now = app::store::now();
    let ttl = state.enforcer.instance_ttl();
    let new = NewInstance {
        customer_id: customer.customer_id,
        entitlement_id: snap.entitlement_id,
        cap: snap.instances_cap,
        fingerprint,
        name,
        offline: None,
    };
    match state.store.activate_instance(&caller.actor(), &new, now, ttl).await? {
        Activation::Active { public_id, created, .. } => Ok((
            if created { StatusCode::CREATED } else { StatusCode::OK },
            Json(InstanceResponse {
                id: public_id,
                customer: customer.slug.clone(),
                fingerprint: fingerprint.to_owned(),
                name: name.map(str::to_owned),
                heartbeat_ttl: ttl,
                instances_cap: snap.instances_cap,
            }),
        )),
        Activation::AtCap | Activation::Replayed => Err(ApiError::new(
            StatusCode::CONFLICT,
            "instance_limit",
            format!("All {} instance slots are taken; deactivate one or wait for one to lapse.", snap.instances_cap),
        )),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeartbeatResponse {
    id: String,
    alive: bool,
    heartbeat_ttl: i64,
}

/// Keeps an instance alive.
#[utoipa::path(post, path = "/api/v1/instances/{id}/heartbeat", tag = "instances", params(("id" = String, Path, description = "Instance id (`ins_…`)")),
    security(("api_key" = [])),
    responses((status = 200, description = "Alive", body = HeartbeatResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid key", body = Problem),
              (status = 403, description = "`missing_scope`", body = Problem),
              (status = 404, description = "Unknown instance (or another's)", body = Problem),
              (status = 410, description = "`instance_lapsed`: activate again", body = Problem)))]
pub async fn heartbeat(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<HeartbeatResponse>, ApiError> {
    caller.enforce()?;
    let instance = own_instance(&state, &caller, &id).await?;
    let now = app::store::now();
    let ttl = state.enforcer.instance_ttl();
    let (beat, _) = state.store.heartbeat_instance(instance.product_id, instance.id, now, ttl).await?;
    match beat {
        Heartbeat::Alive => Ok(Json(HeartbeatResponse { id: instance.public_id, alive: true, heartbeat_ttl: ttl })),
        Heartbeat::Lapsed => {
            Err(ApiError::new(StatusCode::GONE, "instance_lapsed", "This instance lapsed or was deactivated; activate it again."))
        }
        Heartbeat::NotFound => Err(unknown_instance(&id)),
    }
}

/// Deactivates an instance and frees its slot at once.
#[utoipa::path(delete, path = "/api/v1/instances/{id}", tag = "instances", params(("id" = String, Path, description = "Instance id (`ins_…`)")),
    security(("api_key" = [])),
    responses((status = 204, description = "Deactivated"), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid key", body = Problem),
              (status = 403, description = "`missing_scope`", body = Problem), (status = 404, description = "Unknown instance (or another's)", body = Problem),
              (status = 409, description = "`held_by_licence`: its offline licence is valid, and as many licensed instances as the cap were freed early in 30 days", body = Problem)))]
pub async fn deactivate(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    caller.enforce()?;
    let instance = own_instance(&state, &caller, &id).await?;
    let done = state
        .store
        .deactivate_instance(&caller.actor(), Some(instance.product_id), Some(instance.customer_id), instance.id, app::store::now())
        .await;
    match done {
        Err(StoreError::NotFound) => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_instance", format!("No active instance {id:?}."))),
        Ok(Deactivation::HeldByLicence { until }) => {
            Err(ApiError::new(StatusCode::CONFLICT, "held_by_licence", app::ssr::licences::held_by_licence(until)))
        }
        done => Ok(done.map(|_| StatusCode::NO_CONTENT)?),
    }
}

/// An offline licence.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LicenceResponse {
    /// A compact JWT (EdDSA, `typ: tessera-licence+jwt`), verifiable with the JWKS.
    pub licence: String,
    /// The instance it is bound to.
    pub instance: String,
    pub expires_at: String,
    /// When a client that is online should fetch a fresh one.
    pub refresh_at: String,
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map(|t| t.to_rfc3339()).unwrap_or_default()
}

impl From<IssuedLicence> for LicenceResponse {
    fn from(issued: IssuedLicence) -> Self {
        LicenceResponse {
            expires_at: rfc3339(issued.claims.exp),
            refresh_at: rfc3339(issued.claims.refresh_at),
            instance: issued.claims.instance,
            licence: issued.licence,
        }
    }
}

impl From<LicenceRefusal> for ApiError {
    fn from(r: LicenceRefusal) -> Self {
        let status = if r == LicenceRefusal::Lapsed { StatusCode::GONE } else { StatusCode::CONFLICT };
        ApiError::new(status, r.code(), r.message())
    }
}

impl From<OfflineRefusal> for ApiError {
    fn from(r: OfflineRefusal) -> Self {
        let status = match &r {
            OfflineRefusal::Malformed(_) | OfflineRefusal::Signature | OfflineRefusal::Expired | OfflineRefusal::FromTheFuture => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            OfflineRefusal::UnknownKey | OfflineRefusal::UnknownInstance => StatusCode::NOT_FOUND,
            OfflineRefusal::WrongCustomer => StatusCode::FORBIDDEN,
            OfflineRefusal::Replayed | OfflineRefusal::AtCap(_) | OfflineRefusal::HeldByLicence(_) => StatusCode::CONFLICT,
            OfflineRefusal::Licence(l) => return ApiError::from(l.clone()),
        };
        ApiError::new(status, r.code(), r.message())
    }
}

/// A signed offline licence for a live instance: bound to its fingerprint, valid for the
/// plan's offline days (never past the entitlement's end, plus grace when in it). The
/// instance holds its slot until the licence expires.
#[utoipa::path(post, path = "/api/v1/instances/{id}/licence", tag = "licences", params(("id" = String, Path, description = "Instance id (`ins_…`)")),
    security(("api_key" = [])),
    responses((status = 200, description = "Signed", body = LicenceResponse), (status = 401, description = "Missing or invalid key", body = Problem),
              (status = 403, description = "`missing_scope`", body = Problem),
              (status = 404, description = "Unknown instance (or another's)", body = Problem),
              (status = 409, description = "Not issued: `suspended`, `expired`, `trial_ended`, `not_entitled`, `online_only`", body = Problem),
              (status = 410, description = "`instance_lapsed`: activate again", body = Problem)))]
pub async fn licence(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<LicenceResponse>, ApiError> {
    caller.enforce()?;
    let instance = own_instance(&state, &caller, &id).await?;
    let customer = state.enforcer.customer_by_id(instance.customer_id).await?;
    let product = customer
        .entitlements
        .iter()
        .find(|(_, s)| s.entitlement_id == instance.entitlement_id)
        .map(|(p, _)| p.clone())
        .ok_or(LicenceRefusal::NotEntitled)?;
    let issued = licences::issue_licence(&state, &caller.actor(), &customer, &product, &instance, app::store::now()).await??;
    Ok(Json(issued.into()))
}

/// An air-gapped document, as the machine wrote it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineDocumentBody {
    /// The text of an activation request or a deactivation receipt. One that is not a
    /// document, or whose seal does not verify, is 422.
    #[schema(min_length = 1, max_length = 65536)]
    pub document: String,
}

/// An air-gapped activation request answered: the machine's licence (its `nonce` echoes
/// the request's). The slot is taken as for an online activation. Vendor API keys with
/// `enforce` only (the customer's admin uploads in the portal).
#[utoipa::path(post, path = "/api/v1/offline/activations", tag = "licences", request_body = OfflineDocumentBody, security(("api_key" = [])),
    responses((status = 200, description = "Signed", body = LicenceResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid key", body = Problem),
              (status = 403, description = "`missing_scope`", body = Problem),
              (status = 404, description = "`unknown_license_key`", body = Problem),
              (status = 409, description = "`replayed`, `instance_limit`, or not issued: `suspended`, `expired`, `trial_ended`, `online_only`", body = Problem),
              (status = 422, description = "`malformed_document`, `bad_signature`, `document_expired`, `clock_skew`", body = Problem)))]
pub async fn offline_activation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<OfflineDocumentBody>,
) -> Result<Json<LicenceResponse>, ApiError> {
    let within = Within { customer_id: None, product_id: Some(caller.vendor(Scope::Enforce)?.product_id) };
    let issued = licences::activate_offline(&state, &caller.actor(), within, &body.document, app::store::now()).await??;
    Ok(Json(issued.into()))
}

/// The instance an air-gapped deactivation receipt freed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeactivationResponse {
    pub instance: String,
}

/// An air-gapped deactivation receipt: frees the slot of the instance it names, once.
#[utoipa::path(post, path = "/api/v1/offline/deactivations", tag = "licences", request_body = OfflineDocumentBody, security(("api_key" = [])),
    responses((status = 200, description = "Freed", body = DeactivationResponse), (status = 400, description = "Bad input", body = Problem), (status = 401, description = "Missing or invalid key", body = Problem),
              (status = 403, description = "`missing_scope`", body = Problem),
              (status = 404, description = "`unknown_license_key`, `unknown_instance`", body = Problem),
              (status = 409, description = "`replayed`", body = Problem),
              (status = 422, description = "`malformed_document`, `bad_signature`, `document_expired`, `clock_skew`", body = Problem)))]
pub async fn offline_deactivation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<OfflineDocumentBody>,
) -> Result<Json<DeactivationResponse>, ApiError> {
    let within = Within { customer_id: None, product_id: Some(caller.vendor(Scope::Enforce)?.product_id) };
    let instance = licences::deactivate_offline(&state, &caller.actor(), within, &body.document, app::store::now()).await??;
    Ok(Json(DeactivationResponse { instance }))
}
