//! Entitlements of the API key's product: `/api/v1/entitlements…`, their license keys and
//! usage, and the catalog's SKUs (`/api/v1/skus…`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::customers::find;
use super::{answer, if_match, next_cursor, reason, time, time_opt, when, PageQuery};
use crate::api::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem, Scope};
use app::ssr::{forms, AppState};
use app::store::entitlements::lifecycle::{Grant, Terms};
use app::store::entitlements::StatusRefusal;
use app::store::keys::api_keys::ApiKey;
use app::store::provisioning::entitlements::{EntitlementRecord, SkuRecord, Sold};
use app::store::StoreError;
use tessera_engine::{CustomerId, EntitlementId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/entitlements", get(list).post(grant))
        .route("/api/v1/entitlements/{id}", get(read).patch(change))
        .route("/api/v1/entitlements/{id}/{action}", post(act))
        .route("/api/v1/entitlements/{id}/license-key", get(license_key))
        .route("/api/v1/entitlements/{id}/license-key/regenerate", post(regenerate))
        .route("/api/v1/entitlements/{id}/usage", get(usage))
        .route("/api/v1/skus", get(skus))
        .route("/api/v1/skus/{sku}", put(set_sku).delete(remove_sku))
}

/// An entitlement: a customer's right to the product, on a plan with add-ons and caps.
/// Its `ETag` is its `version`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Entitlement {
    pub id: i64,
    /// Its id in the CRM or billing.
    pub external_id: Option<String>,
    pub customer: EntitlementCustomer,
    pub product: String,
    pub plan: String,
    pub plan_version: i64,
    pub addons: Vec<String>,
    /// `trial`, `active`, `suspended`, `expired` or `cancelled`.
    pub status: String,
    pub status_reason: Option<String>,
    pub seats: Cap,
    pub instances: Cap,
    /// Region codes it may be used in; null for anywhere.
    pub regions: Option<Vec<String>>,
    /// RFC 3339.
    pub starts_at: String,
    pub ends_at: Option<String>,
    pub renews_at: Option<String>,
    pub trial_ends_at: Option<String>,
    pub auto_renew: bool,
    pub grace_days: i64,
    pub version: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntitlementCustomer {
    pub id: i64,
    pub slug: String,
}

/// A cap: what the plan, its add-ons and any override allow, and what is used of it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Cap {
    pub cap: i64,
    /// Set instead of the plan's own; null when the plan's applies.
    pub r#override: Option<i64>,
    /// Seats assigned (null for instances: see the instances endpoints).
    pub used: Option<i64>,
}

impl From<EntitlementRecord> for Entitlement {
    fn from(e: EntitlementRecord) -> Entitlement {
        Entitlement {
            id: e.id,
            external_id: e.external_id,
            customer: EntitlementCustomer { id: e.customer_id, slug: e.customer_slug },
            product: e.product,
            plan: e.plan,
            plan_version: e.plan_version,
            addons: e.addons,
            status: e.status,
            status_reason: e.status_reason,
            seats: Cap { cap: e.seats_cap, r#override: e.seats_override, used: Some(e.seats_used) },
            instances: Cap { cap: e.instances_cap, r#override: e.instances_override, used: None },
            regions: e.regions.map(|r| r.split(',').map(str::to_owned).collect()),
            starts_at: time(e.starts_at),
            ends_at: time_opt(e.ends_at),
            renews_at: time_opt(e.renews_at),
            trial_ends_at: time_opt(e.trial_ends_at),
            auto_renew: e.auto_renew,
            grace_days: e.grace_days,
            version: e.version,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntitlementList {
    pub data: Vec<Entitlement>,
    /// The cursor of the next page (`after`); null on the last.
    pub next: Option<String>,
}

/// Entitlement `id` if it is of the key's product; 404 `unknown_entitlement` otherwise.
async fn owned(state: &AppState, key: &ApiKey, id: i64) -> Result<EntitlementRecord, ApiError> {
    match state.store.entitlement_record(id).await {
        Ok(e) if *e.product == *key.product_key => Ok(e),
        Ok(_) | Err(StoreError::NotFound) => Err(unknown_entitlement()),
        Err(e) => Err(e.into()),
    }
}

fn unknown_entitlement() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_entitlement", "No such entitlement of this API key's product.")
}

/// The entitlement as it is now, with its `ETag`.
async fn current(state: &AppState, id: i64, status: StatusCode) -> Result<Response, ApiError> {
    let e = state.store.entitlement_record(id).await?;
    let version = e.version;
    Ok(answer(status, &Entitlement::from(e), Some(version)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntitlementFilter {
    /// Only this customer's (id or slug).
    #[param(max_length = 64)]
    pub customer: Option<String>,
}

/// The product's entitlements by id, a page at a time.
#[utoipa::path(get, path = "/api/v1/entitlements", tag = "provisioning", params(EntitlementFilter, PageQuery), security(("api_key" = [])),
    responses((status = 200, body = EntitlementList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<EntitlementFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<EntitlementList>, ApiError> {
    let key = caller.reader()?;
    let (after, limit) = page.bounds()?;
    let customer = match super::param("customer", filter.customer.as_deref(), 64)? {
        Some(c) => Some(find(&state, c).await?.id),
        None => None,
    };
    let found = state.store.list_entitlement_records(key.product_id, customer, after, limit).await?;
    let next = next_cursor(&found, limit, |e| e.id);
    Ok(Json(EntitlementList { data: found.into_iter().map(Entitlement::from).collect(), next }))
}

/// An entitlement to grant.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// Id or slug.
    #[schema(max_length = 64)]
    pub customer: String,
    /// The plan's key (its newest version is granted).
    #[schema(max_length = 40)]
    pub plan: String,
    #[schema(max_items = 50)]
    pub addons: Option<Vec<String>>,
    /// Caps that override the plan's.
    #[schema(minimum = 0, maximum = 1_000_000)]
    #[serde(default, deserialize_with = "crate::api::whole_or_none")]
    pub seats: Option<i64>,
    #[schema(minimum = 0, maximum = 1_000_000)]
    #[serde(default, deserialize_with = "crate::api::whole_or_none")]
    pub instances: Option<i64>,
    /// A date (`2027-01-31`) or an RFC 3339 time; now when absent.
    #[schema(max_length = 40)]
    pub starts: Option<String>,
    #[schema(max_length = 40)]
    pub ends: Option<String>,
    #[schema(max_length = 40)]
    pub renews: Option<String>,
    /// A trial of this many days first (0–90).
    #[schema(minimum = 0, maximum = 90)]
    #[serde(default, deserialize_with = "crate::api::whole_or_none")]
    pub trial_days: Option<i64>,
    /// Region codes; anywhere when absent or empty.
    #[schema(max_items = 50)]
    pub regions: Option<Vec<String>>,
    /// Renews by itself (the default).
    pub auto_renew: Option<bool>,
    #[schema(max_length = 200)]
    pub external_id: Option<String>,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

fn caps(seats: Option<i64>, instances: Option<i64>) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let check = |field: &str, n: Option<i64>| match n {
        Some(n) if !(0..=1_000_000).contains(&n) => Err(ApiError::invalid(field, "A cap is a whole number from 0 to 1,000,000.")),
        other => Ok(other),
    };
    Ok((check("seats", seats)?, check("instances", instances)?))
}

fn regions(codes: Option<&[String]>) -> Result<Option<String>, ApiError> {
    Ok(forms::regions(codes.map(|c| c.join(",")).as_deref())?)
}

/// Grants the product to a customer.
#[utoipa::path(post, path = "/api/v1/entitlements", tag = "provisioning", request_body = GrantBody,
    security(("api_key" = [])),
    responses((status = 201, body = Entitlement, headers(("ETag" = String, description = "The version"))), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "The customer has this product already, or the external id is taken", body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn grant(caller: Caller, State(state): State<AppState>, ApiJson(body): ApiJson<GrantBody>) -> Result<Response, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let customer = find(&state, &body.customer).await?;
    let plans = state.store.list_plans(key.product_id).await?;
    let plan = plans
        .iter()
        .find(|p| p.key == body.plan.trim())
        .ok_or_else(|| ApiError::invalid("plan", "There is no such plan for this product."))?;
    let all = state.store.list_addons(key.product_id).await?;
    let mut addon_ids = Vec::new();
    for k in body.addons.iter().flatten() {
        let a = all
            .iter()
            .find(|a| a.key == k.trim())
            .ok_or_else(|| ApiError::invalid("addons", format!("There is no add-on {k:?} for this product.")))?;
        if !addon_ids.contains(&a.id) {
            addon_ids.push(a.id);
        }
    }
    let now = app::store::now();
    let starts_at = body.starts.as_deref().map(|s| when("starts", s)).transpose()?.unwrap_or(now);
    let ends_at = body.ends.as_deref().map(|s| when("ends", s)).transpose()?;
    let renews_at = body.renews.as_deref().map(|s| when("renews", s)).transpose()?;
    if ends_at.is_some_and(|e| e <= starts_at) {
        return Err(ApiError::invalid("ends", "The end must come after the start."));
    }
    if renews_at.is_some_and(|r| r <= starts_at) {
        return Err(ApiError::invalid("renews", "The renewal must come after the start."));
    }
    let trial_days = body.trial_days.unwrap_or(0);
    if !(0..=90).contains(&trial_days) {
        return Err(ApiError::invalid("trial_days", "A trial runs 0 to 90 days."));
    }
    let (seats_override, instances_override) = caps(body.seats, body.instances)?;
    let grant = Grant {
        customer_id: customer.id,
        product_id: key.product_id,
        plan_id: plan.id,
        addon_ids,
        seats_override,
        instances_override,
        starts_at,
        ends_at,
        renews_at,
        trial_ends_at: (trial_days > 0).then(|| app::engine::dates::trial_ends_at(starts_at, trial_days, now)),
        grace_days: plan.grace_days,
        auto_renew: body.auto_renew.unwrap_or(true),
        regions: regions(body.regions.as_deref())?,
        external_id: body.external_id.as_deref().map(super::customers::external_id).transpose()?,
    };
    let reason = reason(body.reason.as_deref(), "granted through the provisioning API")?;
    let id = state.store.grant_entitlement(&caller.actor(), &grant, &reason, now).await?;
    current(&state, id, StatusCode::CREATED).await
}

/// An entitlement, with its version as `ETag`.
#[utoipa::path(get, path = "/api/v1/entitlements/{id}", tag = "provisioning", params(("id" = i64, Path)), security(("api_key" = [])),
    responses((status = 200, body = Entitlement, headers(("ETag" = String, description = "The version"))), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn read(caller: Caller, State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    let key = caller.reader()?;
    let e = owned(&state, key, id).await?;
    let version = e.version;
    Ok(answer(StatusCode::OK, &Entitlement::from(e), Some(version)))
}

/// A change of plan, caps or regions: what the body leaves out stays as it is; a null
/// cap falls back to the plan's.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitlementChange {
    /// A plan's key: the entitlement moves to its newest version.
    #[schema(max_length = 40)]
    pub plan: Option<String>,
    #[serde(default, deserialize_with = "super::customers::present_whole")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000)]
    pub seats: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::customers::present_whole")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000)]
    pub instances: Option<Option<i64>>,
    /// Region codes; empty or null for anywhere.
    #[serde(default, deserialize_with = "super::customers::present")]
    #[schema(value_type = Option<Vec<String>>, max_items = 50)]
    pub regions: Option<Option<Vec<String>>>,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Changes an entitlement's plan, caps or regions; `If-Match` refuses it (412) when the
/// entitlement changed since it was read.
#[utoipa::path(patch, path = "/api/v1/entitlements/{id}", tag = "provisioning", request_body = EntitlementChange,
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "The ETag read")),
    security(("api_key" = [])),
    responses((status = 200, body = Entitlement, headers(("ETag" = String, description = "The version"))), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Nothing would change", body = Problem), (status = 412, description = "The entitlement changed since it was read", body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn change(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<EntitlementChange>,
) -> Result<Response, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let e = owned(&state, key, id).await?;
    let plans = state.store.list_plans(key.product_id).await?;
    let plan_id = match body.plan.as_deref() {
        Some(p) => plans
            .iter()
            .find(|row| row.key == p.trim())
            .map(|row| row.id)
            .ok_or_else(|| ApiError::invalid("plan", "There is no such plan for this product."))?,
        None => state.store.entitlement_facts(id).await?.plan_id,
    };
    let (seats, instances) = caps(body.seats.flatten(), body.instances.flatten())?;
    let terms = Terms {
        plan_id,
        seats_override: if body.seats.is_some() { seats } else { e.seats_override },
        instances_override: if body.instances.is_some() { instances } else { e.instances_override },
        regions: match &body.regions {
            Some(codes) => regions(codes.as_deref())?,
            None => e.regions.clone(),
        },
    };
    let reason = reason(body.reason.as_deref(), "changed through the provisioning API")?;
    // The body is checked first: a request the document does not allow is a 400 whatever
    // version it names.
    let expected = if_match(&headers)?;
    match state.store.amend_entitlement(&caller.actor(), id, expected, &terms, &reason, app::store::now()).await? {
        Ok(_) => current(&state, id, StatusCode::OK).await,
        Err(refusal) => Err(ApiError::new(StatusCode::CONFLICT, "unchanged", app::error::AppError::from(refusal).to_string())),
    }
}

/// What an action on an entitlement takes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// For the audit log; shown to the customer for a suspension or a cancellation.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// `renew`: days more (1–1,100; a year when absent). `extend-trial`: days more (1–90).
    #[schema(minimum = 1, maximum = 1_100)]
    #[serde(default, deserialize_with = "crate::api::whole_or_none")]
    pub days: Option<i64>,
}

/// Suspends, resumes, renews, cancels an entitlement or extends its trial (`action`:
/// `suspend`, `resume`, `renew`, `extend-trial`, `cancel`); `If-Match` refuses it (412)
/// when the entitlement changed since it was read.
#[utoipa::path(post, path = "/api/v1/entitlements/{id}/{action}", tag = "provisioning", request_body = ActionBody,
    params(("id" = i64, Path), ("action" = String, Path, description = "suspend, resume, renew, extend-trial or cancel", pattern = "^(suspend|resume|renew|extend-trial|cancel)$"),
           ("If-Match" = Option<String>, Header, description = "The ETag read")),
    security(("api_key" = [])),
    responses((status = 200, body = Entitlement, headers(("ETag" = String, description = "The version"))), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Not possible in the entitlement's state", body = Problem), (status = 412, description = "The entitlement changed since it was read", body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn act(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((id, action)): ApiPath<(i64, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ActionBody>,
) -> Result<Response, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let e = owned(&state, key, id).await?;
    let actor = caller.actor();
    let now = app::store::now();
    if body.days.is_some_and(|d| !(1..=1_100).contains(&d)) {
        return Err(ApiError::bad_request("`days` is 1 to 1,100."));
    }
    let days = |range: std::ops::RangeInclusive<i64>, default: Option<i64>, message: &str| {
        body.days.or(default).filter(|d| range.contains(d)).ok_or_else(|| ApiError::invalid("days", message))
    };
    let refused = |r: StatusRefusal| ApiError::new(StatusCode::CONFLICT, "invalid_state", app::error::AppError::from(r).to_string());
    match action.as_str() {
        "suspend" | "resume" => {
            let suspend = action == "suspend";
            let reason = reason(
                body.reason.as_deref(),
                if suspend { "suspended through the provisioning API" } else { "resumed through the provisioning API" },
            )?;
            state.store.set_suspended(&actor, id, if_match(&headers)?, suspend, &reason, now).await?.map_err(refused)?;
        }
        "renew" => {
            let days = days(1..=1_100, Some(365), "Renew for 1 to 1,100 days.")?;
            let reason = reason(body.reason.as_deref(), "renewed through the provisioning API")?;
            state.store.renew_entitlement(&actor, id, if_match(&headers)?, days, &reason, now).await?.map_err(refused)?;
        }
        "extend-trial" => {
            let days = days(1..=90, None, "Extend by 1 to 90 days.")?;
            let trial_end = e.trial_ends_at.filter(|_| e.status == "trial").ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "invalid_state",
                    "This entitlement cannot be given a longer trial in its present state.",
                )
            })?;
            let ends_at = trial_end.max(now).saturating_add(days * 86_400);
            let reason = reason(body.reason.as_deref(), "trial extended through the provisioning API")?;
            state.store.set_trial_end(&actor, id, if_match(&headers)?, ends_at, &reason, now).await?;
        }
        "cancel" => {
            let reason = reason(body.reason.as_deref(), "cancelled through the provisioning API")?;
            state.store.cancel_entitlement(&actor, id, if_match(&headers)?, &reason, now).await?.map_err(refused)?;
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such action: suspend, resume, renew, extend-trial or cancel.",
            ))
        }
    }
    current(&state, id, StatusCode::OK).await
}

/// An entitlement's license key: whoever holds it acts for that entitlement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LicenseKey {
    pub entitlement: i64,
    /// `TLK-…`.
    pub key: String,
    /// Its public id, as licences and the audit log name it.
    pub key_id: String,
    /// RFC 3339.
    pub created_at: String,
}

/// An entitlement's license key (reading it is audited).
#[utoipa::path(get, path = "/api/v1/entitlements/{id}/license-key", tag = "provisioning", params(("id" = i64, Path)), security(("api_key" = [])),
    responses((status = 200, body = LicenseKey), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn license_key(caller: Caller, State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Result<Json<LicenseKey>, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let e = owned(&state, key, id).await?;
    let row = state.store.reveal_license_key(&caller.actor(), CustomerId(e.customer_id), EntitlementId(id), app::store::now()).await?;
    Ok(Json(LicenseKey { entitlement: id, key: row.key.to_string(), key_id: row.key.id(), created_at: time(row.created_at) }))
}

/// Replaces an entitlement's license key: the old one stops working at once.
#[utoipa::path(post, path = "/api/v1/entitlements/{id}/license-key/regenerate", tag = "provisioning",
    params(("id" = i64, Path)), security(("api_key" = [])),
    responses((status = 200, body = LicenseKey), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn regenerate(caller: Caller, State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Result<Json<LicenseKey>, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let e = owned(&state, key, id).await?;
    let row = state.store.regenerate_license_key(&caller.actor(), CustomerId(e.customer_id), EntitlementId(id), app::store::now()).await?;
    Ok(Json(LicenseKey { entitlement: id, key: row.key.to_string(), key_id: row.key.id(), created_at: time(row.created_at) }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// From this date (`2027-01-31`) or RFC 3339 time; 30 days ago when absent.
    #[param(max_length = 40)]
    pub from: Option<String>,
    /// Before this date or time; now when absent.
    #[param(max_length = 40)]
    pub to: Option<String>,
    /// `day` (the default), `month` or `year`.
    #[param(pattern = "^(day|month|year)$")]
    pub per: Option<String>,
}

/// Units of a metered feature used in one day, month or year.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageTotal {
    pub feature: String,
    /// The period's first day, `2027-01-01`.
    pub period: String,
    pub quantity: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageRollup {
    pub entitlement: i64,
    /// `day`, `month` or `year`.
    pub per: String,
    pub data: Vec<UsageTotal>,
}

/// Usage of an entitlement's metered features, per feature and per day, month or year.
#[utoipa::path(get, path = "/api/v1/entitlements/{id}/usage", tag = "provisioning", params(("id" = i64, Path), UsageQuery), security(("api_key" = [])),
    responses((status = 200, body = UsageRollup), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn usage(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Json<UsageRollup>, ApiError> {
    use chrono::Datelike;
    let key = caller.reader()?;
    owned(&state, key, id).await?;
    let now = app::store::now();
    let from = super::param("from", q.from.as_deref(), 40)?.map(|f| when("from", f)).transpose()?.unwrap_or(now - 30 * 86_400);
    let to = super::param("to", q.to.as_deref(), 40)?.map(|t| when("to", t)).transpose()?.unwrap_or(now + 1);
    let per = q.per.as_deref().unwrap_or("day");
    if !matches!(per, "day" | "month" | "year") {
        return Err(ApiError::bad_request("`per` is day, month or year."));
    }
    let features: std::collections::HashMap<i64, String> =
        state.store.list_feature_keys().await?.remove(&*key.product_key).unwrap_or_default().into_iter().map(|(k, id)| (id, k)).collect();
    let from_day = from - from.rem_euclid(86_400);
    let mut totals: std::collections::BTreeMap<(String, String), i64> = std::collections::BTreeMap::new();
    for (feature, day, quantity) in state.store.usage_by_day(id, from_day).await? {
        if day >= to {
            continue;
        }
        let date = chrono::DateTime::from_timestamp(day, 0).unwrap_or_default().date_naive();
        let start = match per {
            "month" => date.with_day(1),
            "year" => date.with_ordinal(1),
            _ => Some(date),
        }
        .unwrap_or(date);
        let name = features.get(&feature).cloned().unwrap_or_else(|| feature.to_string());
        *totals.entry((start.to_string(), name)).or_default() += quantity;
    }
    let data = totals.into_iter().map(|((period, feature), quantity)| UsageTotal { feature, period, quantity }).collect();
    Ok(Json(UsageRollup { entitlement: id, per: per.to_owned(), data }))
}

/// A SKU: what an order line names.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Sku {
    pub sku: String,
    pub product: String,
    /// The plan it sells (seats: the order's quantity), or null.
    pub plan: Option<String>,
    /// The add-on it sells, or null.
    pub addon: Option<String>,
}

impl From<SkuRecord> for Sku {
    fn from(s: SkuRecord) -> Sku {
        let (plan, addon) = match s.sells {
            Sold::Plan(p) => (Some(p), None),
            Sold::Addon(a) => (None, Some(a)),
        };
        Sku { sku: s.sku, product: s.product, plan, addon }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkuList {
    pub data: Vec<Sku>,
}

/// The product's SKUs.
#[utoipa::path(get, path = "/api/v1/skus", tag = "provisioning", security(("api_key" = [])),
    responses((status = 200, body = SkuList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 429, body = Problem)))]
pub async fn skus(caller: Caller, State(state): State<AppState>) -> Result<Json<SkuList>, ApiError> {
    let key = caller.reader()?;
    Ok(Json(SkuList { data: state.store.list_skus(key.product_id).await?.into_iter().map(Sku::from).collect() }))
}

/// What a SKU sells: a plan or an add-on (one of the two).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuBody {
    #[schema(max_length = 40)]
    pub plan: Option<String>,
    #[schema(max_length = 40)]
    pub addon: Option<String>,
}

fn sku_name(raw: &str) -> Result<String, ApiError> {
    let sku = raw.trim();
    let valid = (1..=64).contains(&sku.len()) && sku.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        Ok(sku.to_owned())
    } else {
        Err(ApiError::invalid("sku", "A SKU is 1 to 64 letters, digits, dashes, dots and underscores."))
    }
}

/// Sets what a SKU sells.
#[utoipa::path(put, path = "/api/v1/skus/{sku}", tag = "provisioning", request_body = SkuBody,
    params(("sku" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Sku), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, description = "The SKU sells another product's", body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn set_sku(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<SkuBody>,
) -> Result<Json<Sku>, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let sku = sku_name(&sku)?;
    let sells = match (body.plan.as_deref(), body.addon.as_deref()) {
        (Some(plan), None) => Sold::Plan(plan.trim().to_owned()),
        (None, Some(addon)) => Sold::Addon(addon.trim().to_owned()),
        _ => return Err(ApiError::invalid("plan", "Name a plan or an add-on, not both.")),
    };
    match state.store.set_sku(&caller.actor(), key.product_id, &sku, &sells, app::store::now()).await {
        Err(StoreError::NotFound) => {
            let field = if matches!(sells, Sold::Plan(_)) { "plan" } else { "addon" };
            return Err(ApiError::invalid(field, "This product has no such plan or add-on."));
        }
        other => other?,
    }
    let found = state.store.list_skus(key.product_id).await?.into_iter().find(|s| s.sku == sku).ok_or(StoreError::NotFound)?;
    Ok(Json(found.into()))
}

/// Removes a SKU: orders naming it are refused from now on.
#[utoipa::path(delete, path = "/api/v1/skus/{sku}", tag = "provisioning",
    params(("sku" = String, Path)), security(("api_key" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 429, body = Problem)))]
pub async fn remove_sku(caller: Caller, State(state): State<AppState>, ApiPath(sku): ApiPath<String>) -> Result<StatusCode, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    match state.store.remove_sku(&caller.actor(), key.product_id, sku.trim(), app::store::now()).await {
        Err(StoreError::NotFound) => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_sku", "This product has no such SKU.")),
        other => other.map(|_| StatusCode::NO_CONTENT).map_err(ApiError::from),
    }
}
