//! The entitlements a signed-in user may see.

use leptos::prelude::*;

use super::EntitlementView;
use crate::error::AppError;

/// The entitlements of `customer` (a slug). Customer users may name only their own
/// organisation (or none); vendor users may name any. Errors: `Unauthenticated`,
/// `Forbidden` for another tenant, `NotFound` for an unknown slug.
#[server(prefix = "/api", endpoint = "list_entitlements")]
pub async fn list_entitlements(customer: Option<String>) -> Result<Vec<EntitlementView>, AppError> {
    use crate::ssr::auth::{Caller, Guard};
    let Caller { state, scope: customer, .. } = Guard::new().customer(customer.as_deref()).await?;
    let today = crate::store::day_of(crate::store::now());
    Ok(state.store.list_entitlements(customer.id, today).await?)
}

/// Gives the user with `email` (of the entitlement's organisation) a seat of
/// `entitlement`. Customer admins of that organisation and vendor admins/staff only.
/// Errors: `Forbidden` for anyone else (another tenant included), `NotFound` for an
/// unknown entitlement or user, `Invalid` on `email` when every seat is taken or the
/// user holds one already.
#[server(prefix = "/api", endpoint = "assign_seat")]
pub async fn assign_seat(entitlement: i64, email: String) -> Result<(), AppError> {
    use crate::store::entitlements::seats::SeatChange;
    let (caller, user) = ssr_seats::seat_holder(entitlement, &email).await?;
    let change = caller
        .state
        .store
        .assign_seat(
            &caller.actor,
            crate::engine::CustomerId(caller.scope.customer_id),
            crate::engine::EntitlementId(entitlement),
            crate::engine::UserId(user),
            crate::store::now(),
        )
        .await?;
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
    use crate::store::entitlements::seats::SeatChange;
    let (caller, user) = ssr_seats::seat_holder(entitlement, &email).await?;
    let change = caller
        .state
        .store
        .free_seat(
            &caller.actor,
            crate::engine::CustomerId(caller.scope.customer_id),
            crate::engine::EntitlementId(entitlement),
            crate::engine::UserId(user),
            crate::store::now(),
        )
        .await?;
    match change {
        SeatChange::Done => Ok(()),
        _ => Err(AppError::invalid("email", "This user holds no seat.")),
    }
}

/// The license key of `entitlement`: the credential its organisation's admin types into
/// the vendor's software. Customer admins of its organisation and vendor admins/staff.
/// A reading by vendor staff is audited. Errors: `Forbidden` for anyone else (members and
/// other tenants alike), `NotFound` when it has no key.
#[server(prefix = "/api", endpoint = "get_license_key")]
pub async fn get_license_key(entitlement: i64) -> Result<super::LicenseKeyView, AppError> {
    use crate::ssr::auth::{Guard, Roles};
    use crate::ssr::StoreResultExt;
    let caller = Guard::new().role(Roles::MANAGERS).entitlement(entitlement).await?;
    let id = crate::engine::EntitlementId(entitlement);
    let store = &caller.state.store;
    let row = match caller.own_customer() {
        Some(_) => store.license_key(id).await,
        None => {
            let customer = crate::engine::CustomerId(caller.scope.customer_id);
            store.reveal_license_key(&caller.actor, customer, id, crate::store::now()).await
        }
    }
    .or_not_found("License key")?;
    Ok(ssr_seats::key_view(row))
}

/// Replaces the license key of `entitlement` with a new one: the old key stops working at
/// once. Same rules as [`get_license_key`]; audited.
#[server(prefix = "/api", endpoint = "regenerate_license_key")]
pub async fn regenerate_license_key(entitlement: i64) -> Result<super::LicenseKeyView, AppError> {
    use crate::ssr::auth::{Guard, Roles};
    use crate::ssr::StoreResultExt;
    let caller = Guard::new().role(Roles::MANAGERS).entitlement(entitlement).await?;
    let row = caller
        .state
        .store
        .regenerate_license_key(
            &caller.actor,
            crate::engine::CustomerId(caller.scope.customer_id),
            crate::engine::EntitlementId(entitlement),
            crate::store::now(),
        )
        .await
        .or_not_found("Entitlement")?;
    Ok(ssr_seats::key_view(row))
}

#[cfg(feature = "ssr")]
mod ssr_seats {
    use crate::error::AppError;
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::{forms, StoreResultExt};
    use crate::store::entitlements::EntitlementFacts;
    use crate::store::keys::license_keys::LicenseKeyRow;

    /// A license key as the card shows it.
    pub fn key_view(row: LicenseKeyRow) -> super::super::LicenseKeyView {
        super::super::LicenseKeyView {
            entitlement: row.entitlement_id,
            key: row.key.to_string(),
            key_id: row.key.id(),
            created_at: row.created_at,
        }
    }

    /// The caller, when they may change seats of `entitlement` (its organisation's admins,
    /// vendor admins and staff), and the id of the user with `email` in that organisation.
    /// Errors: `Forbidden` for anyone else, another tenant's and an unknown entitlement
    /// alike; `Invalid` on `email` when it is malformed or no user of the organisation has it.
    pub async fn seat_holder(entitlement: i64, email: &str) -> Result<(Caller<EntitlementFacts>, i64), AppError> {
        let caller = Guard::new().role(Roles::MANAGERS).entitlement(entitlement).await?;
        let email = forms::email("email", email)?;
        let user = caller
            .state
            .store
            .find_customer_user(caller.scope.customer_id, email.as_str())
            .await
            .or_when_missing(|| AppError::invalid("email", "No user with this email in the organisation."))?;
        Ok((caller, user))
    }
}
