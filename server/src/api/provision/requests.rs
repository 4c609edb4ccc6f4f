//! Change requests of the product's customers, decided by the vendor's systems under the
//! same approval rules as staff: `/api/v1/requests…`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::customers::find;
use super::{answer, time, time_opt};
use crate::api::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem, Scope};
use app::requests::ChangeRequestView;
use app::ssr::AppState;
use app::store::keys::api_keys::ApiKey;
use app::store::requests::decisions::Decided;
use app::store::requests::QueueQuery;
use app::store::StoreError;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/requests", get(list)).route("/api/v1/requests/{id}/{decision}", post(decide))
}

/// A customer admin's request for a change of their entitlement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeRequest {
    pub id: i64,
    pub entitlement: i64,
    pub customer: String,
    /// `plan`, `seats`, `addon` or `renewal`.
    pub kind: String,
    pub current_plan: String,
    pub target_plan: Option<String>,
    pub seats: Option<i64>,
    pub addon: Option<String>,
    pub at_renewal: bool,
    pub reason: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub status: String,
    pub requested_by: String,
    /// RFC 3339.
    pub created_at: String,
    pub decided_at: Option<String>,
    pub comment: Option<String>,
    pub approvals: i64,
    pub approvals_needed: i64,
}

fn request(view: ChangeRequestView, customer: String) -> ChangeRequest {
    ChangeRequest {
        id: view.id,
        entitlement: view.entitlement_id,
        customer,
        kind: view.kind.as_str().to_owned(),
        current_plan: view.current_plan,
        target_plan: view.target_plan,
        seats: view.seats,
        addon: view.addon,
        at_renewal: view.at_renewal,
        reason: view.reason,
        status: view.status.as_str().to_owned(),
        requested_by: view.requested_by,
        created_at: time(view.created_at),
        decided_at: time_opt(view.decided_at),
        comment: view.comment,
        approvals: view.approvals,
        approvals_needed: view.approvals_needed,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestList {
    pub data: Vec<ChangeRequest>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestFilter {
    /// Only this customer's (id or slug): then every request of theirs, newest first,
    /// unless `status` is `pending`.
    #[param(max_length = 64)]
    pub customer: Option<String>,
    /// `pending` (the default without a customer) or `any` (with a customer only: 422
    /// without one).
    #[param(pattern = "^(pending|any)$")]
    pub status: Option<String>,
}

fn of_product(state: &AppState, key: &ApiKey, customer: i64, entitlement: i64) -> bool {
    state.enforcer.entitlement_of(customer, &key.product_key) == Some(entitlement)
}

/// Change requests of the product: pending ones, oldest first, or a customer's.
#[utoipa::path(get, path = "/api/v1/requests", tag = "provisioning", params(RequestFilter), security(("api_key" = [])),
    responses((status = 200, body = RequestList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<RequestFilter>,
) -> Result<Json<RequestList>, ApiError> {
    let key = caller.reader()?;
    let customer = match super::param("customer", filter.customer.as_deref(), 64)? {
        Some(c) => Some(find(&state, c).await?),
        None => None,
    };
    let pending = match filter.status.as_deref() {
        None => customer.is_none(),
        Some("pending") => true,
        Some("any") => false,
        Some(_) => return Err(ApiError::bad_request("`status` is pending or any.")),
    };
    let data = match (&customer, pending) {
        (Some(c), false) => state
            .store
            .list_requests(c.id)
            .await?
            .into_iter()
            .filter(|r| of_product(&state, key, c.id, r.entitlement_id))
            .map(|r| request(r, c.slug.clone()))
            .collect(),
        (None, false) => return Err(ApiError::invalid("customer", "Every request of any status is listed for one `customer` at a time.")),
        (c, true) => state
            .store
            .list_pending_requests(
                c.as_ref().map(|c| c.slug.as_str()),
                None,
                &QueueQuery { created_before: None, after: None, limit: i64::MAX },
            )
            .await?
            .into_iter()
            .filter(|(r, facts)| of_product(&state, key, facts.customer_id, r.entitlement_id))
            .map(|(r, facts)| request(r, facts.customer_slug))
            .collect(),
    };
    Ok(Json(RequestList { data }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Shown to the customer; needed to reject.
    #[schema(max_length = 500)]
    pub comment: Option<String>,
    /// The entitlement's current version, to approve a request filed before it changed.
    #[serde(default, deserialize_with = "crate::api::whole_or_none")]
    pub confirm_version: Option<i64>,
}

/// Approves or rejects a pending request (`decision`: `approve` or `reject`) as the API
/// key. A request that needs two approvals takes one from the vendor's systems (any of
/// their API keys) and one from a person: the first is answered 202.
#[utoipa::path(post, path = "/api/v1/requests/{id}/{decision}", tag = "provisioning", request_body = DecisionBody,
    params(("id" = i64, Path), ("decision" = String, Path, pattern = "^(approve|reject)$")),
    security(("api_key" = [])),
    responses((status = 200, description = "Decided", body = ChangeRequest), (status = 202, description = "An approval recorded; another is needed", body = ChangeRequest),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Decided already, approved already by the vendor's systems, or the entitlement changed since", body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn decide(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((id, decision)): ApiPath<(i64, String)>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Response, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "Approve or reject.")),
    };
    let unknown = || ApiError::new(StatusCode::NOT_FOUND, "unknown_request", "No such change request of this API key's product.");
    let (view, facts) = match state.store.find_request(id).await {
        Err(StoreError::NotFound) => return Err(unknown()),
        other => other?,
    };
    if !of_product(&state, key, facts.customer_id, view.entitlement_id) {
        return Err(unknown());
    }
    let comment = body.comment.as_deref().map(str::trim).unwrap_or("");
    if comment.chars().count() > 500 {
        return Err(ApiError::invalid("comment", "Keep the comment under 500 characters."));
    }
    if !approve && comment.is_empty() {
        return Err(ApiError::invalid("comment", "Say why the request is rejected: the customer sees it."));
    }
    let conflict = |code: &'static str, message: String| ApiError::new(StatusCode::CONFLICT, code, message);
    let (decided, _) = state.store.decide_request(&caller.actor(), id, approve, comment, body.confirm_version, app::store::now()).await?;
    let status = match decided {
        Decided::Done => StatusCode::OK,
        Decided::Recorded { .. } => StatusCode::ACCEPTED,
        Decided::NotPending(s) => return Err(conflict("not_pending", format!("This request is {} already.", s.as_str()))),
        Decided::Moved { current, .. } => {
            return Err(conflict(
                "entitlement_moved",
                format!(
                    "The entitlement changed since the request was filed: send `confirm_version: {current}` to approve it as it is now."
                ),
            ))
        }
        Decided::ApprovedAlready => {
            return Err(conflict(
                "approved_already",
                "The vendor's systems approved this request already; a person gives the second approval.".into(),
            ))
        }
        Decided::OwnRequest | Decided::OwnOrganisation => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "This key may not decide this request."))
        }
    };
    let (view, facts) = state.store.find_request(id).await?;
    Ok(answer(status, &request(view, facts.customer_slug), None))
}
