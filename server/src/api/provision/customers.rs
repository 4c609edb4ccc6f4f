//! Customers and their people, for the vendor's CRM: `/api/v1/customers…`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{answer, next_cursor, reason, time, Invitation, PageQuery};
use crate::api::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem, Scope};
use app::auth::Role;
use app::ssr::{forms, AppState};
use app::store::members::invitations::Invite;
use app::store::provisioning::{CustomerRecord, NewAdmin, NewOrganisation, RoleRefusal, UserRecord};
use tessera_engine::{CustomerId, UserId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/customers", get(list).post(create))
        .route("/api/v1/customers/{customer}", get(read).patch(update))
        .route("/api/v1/customers/{customer}/users", get(list_users).post(invite))
        .route("/api/v1/customers/{customer}/users/{user}", patch(set_role).delete(remove))
}

/// A customer (a tenant): its people sign in to its portal at `/` with their own accounts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Customer {
    pub id: i64,
    /// Its address in the portal, also accepted wherever a customer is named.
    pub slug: String,
    pub name: String,
    /// Its id in the CRM.
    pub external_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<CustomerRecord> for Customer {
    fn from(c: CustomerRecord) -> Customer {
        Customer { id: c.id, slug: c.slug, name: c.name, external_id: c.external_id, created_at: time(c.created_at) }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerList {
    pub data: Vec<Customer>,
    /// The cursor of the next page (`after`); null on the last.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerSearch {
    /// Part of the name or slug, or the whole external id.
    #[param(max_length = 200)]
    pub search: Option<String>,
}

/// The customer `reference` names (id or slug); 404 `unknown_customer` otherwise.
pub async fn find(state: &AppState, reference: &str) -> Result<CustomerRecord, ApiError> {
    match state.store.customer_record(reference.trim()).await {
        Err(app::store::StoreError::NotFound) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_customer", format!("No customer {:?}.", reference.trim())))
        }
        other => Ok(other?),
    }
}

/// Customers by id, a page at a time.
#[utoipa::path(get, path = "/api/v1/customers", tag = "provisioning", params(CustomerSearch, PageQuery), security(("api_key" = [])),
    responses((status = 200, body = CustomerList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 429, body = Problem)))]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(search): ApiQuery<CustomerSearch>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<CustomerList>, ApiError> {
    caller.reader()?;
    let (after, limit) = page.bounds()?;
    let search = super::param("search", search.search.as_deref(), 200)?;
    let found = state.store.list_customer_records(search, after, limit).await?;
    let next = next_cursor(&found, limit, |c| c.id);
    Ok(Json(CustomerList { data: found.into_iter().map(Customer::from).collect(), next }))
}

/// The customer's first admin, invited by the call that creates it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdminBody {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 120)]
    pub name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerBody {
    /// Lower-case letters, digits and dashes.
    #[schema(max_length = 40)]
    pub slug: String,
    #[schema(max_length = 120)]
    pub name: String,
    #[schema(max_length = 200)]
    pub external_id: Option<String>,
    pub admin: Option<NewAdminBody>,
    /// For the audit log.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedCustomer {
    pub customer: Customer,
    /// The admin's invitation, when the call named one.
    pub invitation: Option<Invitation>,
}

/// A customer's external id as sent: trimmed, 1 to 200 characters.
pub fn external_id(raw: &str) -> Result<String, ApiError> {
    Ok(forms::text("external_id", raw, 200, "An external id is 1 to 200 characters.")?)
}

/// Creates a customer, with its first admin invited when the body names one.
#[utoipa::path(post, path = "/api/v1/customers", tag = "provisioning", request_body = NewCustomerBody,
    security(("api_key" = [])),
    responses((status = 201, body = CreatedCustomer), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, description = "The slug, external id or admin's email is taken", body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn create(caller: Caller, State(state): State<AppState>, ApiJson(body): ApiJson<NewCustomerBody>) -> Result<Response, ApiError> {
    caller.vendor(Scope::Provision)?;
    let slug = forms::slug("slug", &body.slug)?;
    let name = forms::text("name", &body.name, 120, "A name is 1 to 120 characters.")?;
    let external = body.external_id.as_deref().map(external_id).transpose()?;
    let reason = reason(body.reason.as_deref(), "created through the provisioning API")?;
    let admin = match &body.admin {
        None => None,
        Some(a) => Some((
            forms::email("admin.email", &a.email)?.into_inner(),
            forms::text("admin.name", &a.name, 120, "A name is 1 to 120 characters.")?,
        )),
    };
    let (token, hash) = app::ssr::new_token();
    let now = app::store::now();
    let expires_at = now + app::seats::api::INVITATION_DAYS * 86_400;
    let organisation = NewOrganisation {
        slug: slug.as_str(),
        name: &name,
        external_id: external.as_deref(),
        admin: admin.as_ref().map(|(email, name)| NewAdmin { email, name, token_hash: &hash, expires_at }),
    };
    let (id, _) = match state.store.create_organisation(&caller.actor(), &organisation, &reason, now).await {
        Err(app::store::StoreError::Duplicate(app::store::Unique::UserEmail)) => {
            return Err(ApiError {
                status: StatusCode::CONFLICT,
                ..ApiError::invalid("admin.email", "This email belongs to another user already.")
            })
        }
        other => other?,
    };
    let customer = state.store.customer_record(&id.to_string()).await?;
    let invitation = admin.map(|(email, _)| Invitation::new(&state, &email, &token, expires_at));
    Ok(answer(StatusCode::CREATED, &CreatedCustomer { customer: customer.into(), invitation }, None))
}

/// A customer, by id or slug.
#[utoipa::path(get, path = "/api/v1/customers/{customer}", tag = "provisioning", params(("customer" = String, Path, description = "Id or slug")),
    security(("api_key" = [])),
    responses((status = 200, body = Customer), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn read(caller: Caller, State(state): State<AppState>, ApiPath(customer): ApiPath<String>) -> Result<Json<Customer>, ApiError> {
    caller.reader()?;
    Ok(Json(find(&state, &customer).await?.into()))
}

/// A change of a customer: what the body leaves out stays as it is; a null
/// `external_id` removes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerChange {
    #[schema(max_length = 120)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub external_id: Option<Option<String>>,
}

/// A field that may be absent (`None`), null (`Some(None)`) or a value.
pub fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// As [`present`], for a whole number (`3` or `3.0`).
pub fn present_whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    crate::api::whole_or_none(d).map(Some)
}

/// Changes a customer's name or external id.
#[utoipa::path(patch, path = "/api/v1/customers/{customer}", tag = "provisioning", request_body = CustomerChange,
    params(("customer" = String, Path, description = "Id or slug")),
    security(("api_key" = [])),
    responses((status = 200, body = Customer), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn update(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(customer): ApiPath<String>,
    ApiJson(body): ApiJson<CustomerChange>,
) -> Result<Json<Customer>, ApiError> {
    caller.vendor(Scope::Provision)?;
    let found = find(&state, &customer).await?;
    let name = body.name.as_deref().map(|n| forms::text("name", n, 120, "A name is 1 to 120 characters.")).transpose()?;
    let external = match &body.external_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(e)) => Some(Some(external_id(e)?)),
    };
    let external = external.as_ref().map(|e| e.as_deref());
    let updated = state.store.update_customer(&caller.actor(), found.id, name.as_deref(), external, app::store::now()).await?;
    Ok(Json(updated.into()))
}

/// A person of a customer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// `customer_admin` or `customer_member`.
    pub role: String,
    /// `invited` (has not joined yet) or `active`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
}

impl From<UserRecord> for User {
    fn from(u: UserRecord) -> User {
        User {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role.as_str().to_owned(),
            status: if u.invited { "invited" } else { "active" }.to_owned(),
            created_at: time(u.created_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserList {
    pub data: Vec<User>,
}

/// The people of a customer who have not been removed, by id.
#[utoipa::path(get, path = "/api/v1/customers/{customer}/users", tag = "provisioning", params(("customer" = String, Path, description = "Id or slug")),
    security(("api_key" = [])),
    responses((status = 200, body = UserList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn list_users(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(customer): ApiPath<String>,
) -> Result<Json<UserList>, ApiError> {
    caller.reader()?;
    let found = find(&state, &customer).await?;
    Ok(Json(UserList { data: state.store.list_user_records(found.id).await?.into_iter().map(User::from).collect() }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 120)]
    pub name: String,
    /// `customer_admin` or `customer_member` (the default).
    #[schema(max_length = 40)]
    pub role: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitedUser {
    pub user: User,
    pub invitation: Invitation,
}

fn customer_role(field: &str, raw: Option<&str>) -> Result<Role, ApiError> {
    match raw.map(str::trim).unwrap_or("customer_member") {
        "customer_admin" => Ok(Role::CustomerAdmin),
        "customer_member" => Ok(Role::CustomerMember),
        _ => Err(ApiError::invalid(field, "A role is `customer_admin` or `customer_member`.")),
    }
}

/// Invites someone to a customer; the answer carries their invitation link.
#[utoipa::path(post, path = "/api/v1/customers/{customer}/users", tag = "provisioning", request_body = InviteBody,
    params(("customer" = String, Path, description = "Id or slug")),
    security(("api_key" = [])),
    responses((status = 201, body = InvitedUser), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, description = "A member already, or another organisation's", body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn invite(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(customer): ApiPath<String>,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<Response, ApiError> {
    caller.vendor(Scope::Provision)?;
    let found = find(&state, &customer).await?;
    let email = forms::email("email", &body.email)?.into_inner();
    let name = forms::text("name", &body.name, 120, "A name is 1 to 120 characters.")?;
    let role = customer_role("role", body.role.as_deref())?;
    let (token, hash) = app::ssr::new_token();
    let now = app::store::now();
    let expires_at = now + app::seats::api::INVITATION_DAYS * 86_400;
    let taken = |message: &str| ApiError { status: StatusCode::CONFLICT, ..ApiError::invalid("email", message) };
    let user = match state.store.invite_user(&caller.actor(), found.id, &email, &name, role, &hash, expires_at, now).await? {
        Invite::Invited(id) => id,
        Invite::AlreadyMember => return Err(taken("This person is a member of this organisation already.")),
        Invite::TakenElsewhere => return Err(taken("This email belongs to another organisation's user.")),
    };
    let record =
        state.store.list_user_records(found.id).await?.into_iter().find(|u| u.id == user).ok_or(app::store::StoreError::NotFound)?;
    let invitation = Invitation::new(&state, &email, &token, expires_at);
    Ok(answer(StatusCode::CREATED, &InvitedUser { user: record.into(), invitation }, None))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `customer_admin` or `customer_member`.
    #[schema(max_length = 40)]
    pub role: String,
}

/// Makes a person an admin or a member of their organisation.
#[utoipa::path(patch, path = "/api/v1/customers/{customer}/users/{user}", tag = "provisioning", request_body = RoleChange,
    params(("customer" = String, Path, description = "Id or slug"), ("user" = i64, Path)),
    security(("api_key" = [])),
    responses((status = 200, body = User), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, description = "It would leave the organisation without an admin", body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn set_role(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((customer, user)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<RoleChange>,
) -> Result<Json<User>, ApiError> {
    caller.vendor(Scope::Provision)?;
    let found = find(&state, &customer).await?;
    let role = customer_role("role", Some(&body.role))?;
    match state.store.set_user_role(&caller.actor(), found.id, user, role, app::store::now()).await {
        Err(app::store::StoreError::NotFound) => return Err(unknown_user()),
        Ok(Err(RoleRefusal::LastAdmin)) => return Err(last_admin()),
        other => other?.ok(),
    };
    let record = state.store.list_user_records(found.id).await?.into_iter().find(|u| u.id == user).ok_or_else(unknown_user)?;
    Ok(Json(record.into()))
}

fn last_admin() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "last_admin", "The organisation would be left without an admin.")
}

fn unknown_user() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_user", "No such user in this organisation.")
}

/// Removes a person from their organisation: their seats are freed and their sign-ins end.
#[utoipa::path(delete, path = "/api/v1/customers/{customer}/users/{user}", tag = "provisioning",
    params(("customer" = String, Path, description = "Id or slug"), ("user" = i64, Path)),
    security(("api_key" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "They are the organisation's last admin", body = Problem), (status = 429, body = Problem)))]
pub async fn remove(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((customer, user)): ApiPath<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    caller.vendor(Scope::Provision)?;
    let found = find(&state, &customer).await?;
    match state.store.remove_user(&caller.actor(), CustomerId(found.id), UserId(user), app::store::now()).await {
        Err(app::store::StoreError::NotFound) => Err(unknown_user()),
        Ok(Err(RoleRefusal::LastAdmin)) => Err(last_admin()),
        other => other.map(|_| StatusCode::NO_CONTENT).map_err(ApiError::from),
    }
}
