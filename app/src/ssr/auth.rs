//! Who is calling: the session's user, loaded fresh from the store on every call, and
//! the checks server functions start with.

use tower_sessions::Session;

use super::{internal, AppState};
use crate::auth::{CurrentUser, CustomerRef};
use crate::error::AppError;

/// The session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";

/// The request's session.
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| internal("session layer", e))
}

/// The signed-in user, or `None`. A user removed or disabled since signing in is
/// treated as signed out.
pub async fn current_user() -> Result<Option<CurrentUser>, AppError> {
    let session = session().await?;
    let Some(id) = session.get::<i64>(USER_ID_KEY).await.map_err(|e| internal("session read", e))? else {
        return Ok(None);
    };
    let state = AppState::current()?;
    state.store.find_current_user(id).await.map_err(|e| internal("load user", e))
}

/// The signed-in user; `Unauthenticated` when there is none.
pub async fn require_user() -> Result<CurrentUser, AppError> {
    current_user().await?.ok_or(AppError::Unauthenticated)
}

/// A signed-in vendor admin or vendor staff; `Forbidden` for anyone else (sales included).
pub async fn require_staff() -> Result<CurrentUser, AppError> {
    use crate::auth::Role;
    let user = require_user().await?;
    if matches!(user.role, Role::VendorAdmin | Role::VendorStaff) {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

/// A signed-in vendor admin; `Forbidden` for anyone else.
pub async fn require_vendor_admin() -> Result<CurrentUser, AppError> {
    let user = require_user().await?;
    if user.role == crate::auth::Role::VendorAdmin {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

/// A signed-in vendor user (admin, staff or sales); `Forbidden` for customer users.
pub async fn require_vendor() -> Result<CurrentUser, AppError> {
    let user = require_user().await?;
    if user.role.is_vendor() {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

/// Resolves which customer `user` is asking about. Customer users may only name their
/// own organisation (or none, meaning their own); vendor users must name one.
/// `Forbidden` for another tenant; `NotFound` for an unknown slug asked by a vendor.
pub async fn customer_in_scope(user: &CurrentUser, requested: Option<&str>) -> Result<CustomerRef, AppError> {
    match (&user.customer, requested) {
        (Some(own), None) => Ok(own.clone()),
        (Some(own), Some(slug)) if slug == own.slug => Ok(own.clone()),
        (Some(_), Some(_)) => Err(AppError::Forbidden),
        (None, None) => Err(AppError::invalid("customer", "Choose a customer.")),
        (None, Some(slug)) => {
            let state = AppState::current()?;
            state.store.find_customer_by_slug(slug).await.map_err(|e| super::from_store("Customer", e))
        }
    }
}

/// May `user` manage customer `customer_id` (seats, users, instances)? Its own customer
/// admins and vendor admins/staff may; members, sales and other tenants may not.
pub fn may_manage(user: &CurrentUser, customer_id: i64) -> bool {
    use crate::auth::Role;
    match (user.role, &user.customer) {
        (Role::CustomerAdmin, Some(own)) => own.id == customer_id,
        (Role::VendorAdmin | Role::VendorStaff, None) => true,
        _ => false,
    }
}

/// The customer a manager asks about: a customer admin's own organisation (a slug naming
/// another is `Forbidden`), or the one a vendor admin/staff names. Members and sales are
/// `Forbidden`; an unknown slug is `NotFound`.
pub async fn managed_customer(requested: Option<&str>) -> Result<(CurrentUser, CustomerRef), AppError> {
    use crate::auth::Role;
    let user = require_user().await?;
    if !matches!(user.role, Role::CustomerAdmin | Role::VendorAdmin | Role::VendorStaff) {
        return Err(AppError::Forbidden);
    }
    let customer = customer_in_scope(&user, requested).await?;
    Ok((user, customer))
}

/// The signed-in customer admin and their organisation; `Forbidden` for anyone else.
pub async fn require_customer_admin() -> Result<(CurrentUser, CustomerRef), AppError> {
    let user = require_user().await?;
    match (user.role, user.customer.clone()) {
        (crate::auth::Role::CustomerAdmin, Some(own)) => Ok((user, own)),
        _ => Err(AppError::Forbidden),
    }
}
