//! The entitlements a signed-in user may see.

use leptos::prelude::*;

use super::EntitlementView;
use crate::error::AppError;

/// The entitlements of `customer` (a slug). Customer users may name only their own
/// organisation (or none); vendor users may name any. Errors: `Unauthenticated`,
/// `Forbidden` for another tenant, `NotFound` for an unknown slug.
#[server(prefix = "/api", endpoint = "list_entitlements")]
pub async fn list_entitlements(customer: Option<String>) -> Result<Vec<EntitlementView>, AppError> {
    use crate::ssr::{auth, from_store, AppState};
    let user = auth::require_user().await?;
    let customer = auth::customer_in_scope(&user, customer.as_deref()).await?;
    let state = AppState::current()?;
    let today = crate::store::day_of(crate::store::now());
    state.store.list_entitlements(customer.id, today).await.map_err(|e| from_store("Entitlements", e))
}

/// Gives the user with `email` (of the entitlement's organisation) a seat of
/// `entitlement`. Customer admins of that organisation and vendor admins/staff only.
/// Errors: `Forbidden` for anyone else (another tenant included), `NotFound` for an
/// unknown entitlement or user, `Invalid` on `email` when every seat is taken or the
/// user holds one already.
#[server(prefix = "/api", endpoint = "assign_seat")]
pub async fn assign_seat(entitlement: i64, email: String) -> Result<(), AppError> {
    use crate::store::seats::SeatChange;
    let (state, actor, customer, user) = ssr_seats::authorise(entitlement, &email).await?;
    let change = state
        .store
        .assign_seat(&actor, customer, entitlement, user, crate::store::now())
        .await
        .map_err(|e| crate::ssr::internal("assign seat", e))?;
    match change {
        SeatChange::Done => Ok(()),
        SeatChange::AtCap => Err(AppError::invalid("email", "Every seat is taken. Free one or request more seats.")),
        SeatChange::Unchanged => Err(AppError::invalid("email", "This user already holds a seat.")),
    }
}

/// Frees the seat the user with `email` holds in `entitlement`. Same rules as
/// [`assign_seat`]; `Invalid` on `email` when the user holds no seat.
#[server(prefix = "/api", endpoint = "free_seat")]
pub async fn free_seat(entitlement: i64, email: String) -> Result<(), AppError> {
    use crate::store::seats::SeatChange;
    let (state, actor, customer, user) = ssr_seats::authorise(entitlement, &email).await?;
    let change = state
        .store
        .free_seat(&actor, customer, entitlement, user, crate::store::now())
        .await
        .map_err(|e| crate::ssr::internal("free seat", e))?;
    match change {
        SeatChange::Done => Ok(()),
        _ => Err(AppError::invalid("email", "This user holds no seat.")),
    }
}

#[cfg(feature = "ssr")]
mod ssr_seats {
    use crate::auth::Role;
    use crate::error::AppError;
    use crate::ssr::{auth, from_store, AppState};
    use crate::store::audit::Actor;

    /// Checks that the caller may change seats of `entitlement`, and resolves `email` to
    /// a user of the same organisation: (state, actor, customer id, user id).
    pub async fn authorise(entitlement: i64, email: &str) -> Result<(AppState, Actor, i64, i64), AppError> {
        let user = auth::require_user().await?;
        let state = AppState::current()?;
        let customer = state.store.entitlement_customer(entitlement).await;
        let allowed = match (&customer, user.role, &user.customer) {
            (Ok(c), Role::CustomerAdmin, Some(own)) => *c == own.id,
            (Ok(_), Role::VendorAdmin | Role::VendorStaff, None) => true,
            _ => false,
        };
        // Another tenant's entitlement and one that does not exist look the same.
        if !allowed {
            return Err(AppError::Forbidden);
        }
        let customer = customer.map_err(|e| from_store("Entitlement", e))?;
        let email = crate::auth::api::parse_email(email)?;
        let target = state
            .store
            .find_customer_user(customer, &email)
            .await
            .map_err(|_| AppError::invalid("email", "No user with this email in the organisation."))?;
        Ok((state.clone(), Actor::user(user.id, &user.email), customer, target))
    }
}
