//! The vendor's view of its customers.

use leptos::prelude::*;

use super::CustomerSummary;
use crate::error::AppError;

/// Every customer with a summary of its entitlements; vendor users only.
/// Errors: `Unauthenticated`, `Forbidden` for customer users.
#[server(prefix = "/api", endpoint = "list_customers")]
pub async fn list_customers() -> Result<Vec<CustomerSummary>, AppError> {
    use crate::ssr::{auth, from_store, AppState};
    auth::require_vendor().await?;
    let state = AppState::current()?;
    state.store.list_customers().await.map_err(|e| from_store("Customers", e))
}

/// Suspends (`action` = `suspend`) or resumes (`resume`) entitlement `entitlement`, or
/// extends its trial by `days` (`extend_trial`), with a `reason` that is recorded in the
/// audit log (and shown to the customer for a suspension). Vendor admins and staff only;
/// the next API check sees the change. Errors: `Invalid` on `reason` (empty or too long),
/// `days` (not 1–90), `action` (unknown, or not possible in the entitlement's state);
/// `NotFound` for an unknown entitlement.
#[server(prefix = "/api", endpoint = "change_entitlement")]
pub async fn change_entitlement(entitlement: i64, action: String, reason: String, days: Option<i64>) -> Result<(), AppError> {
    use crate::auth::Role;
    use crate::ssr::{auth, from_store, internal, AppState};
    use crate::store::StoreError;
    let user = auth::require_user().await?;
    if !matches!(user.role, Role::VendorAdmin | Role::VendorStaff) {
        return Err(AppError::Forbidden);
    }
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid("reason", "Give the reason (up to 500 characters); it goes into the audit log."));
    }
    let state = AppState::current()?;
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    let now = crate::store::now();
    let not_now = |what: &str| AppError::invalid("action", format!("This entitlement cannot be {what} in its present state."));
    let customer = match action.as_str() {
        "suspend" | "resume" => match state.store.set_suspended(&actor, entitlement, action == "suspend", &reason, now).await {
            Ok(c) => c,
            Err(StoreError::Conflict { .. }) => return Err(not_now(if action == "suspend" { "suspended" } else { "resumed" })),
            Err(e) => return Err(from_store("Entitlement", e)),
        },
        "extend_trial" => {
            let days = days.filter(|d| (1..=90).contains(d)).ok_or_else(|| AppError::invalid("days", "Extend by 1 to 90 days."))?;
            let view = state
                .store
                .entitlement_facts(entitlement)
                .await
                .map_err(|e| from_store("Entitlement", e))?;
            let current = state
                .store
                .list_entitlements(view.customer_id, crate::store::day_of(now))
                .await
                .map_err(|e| internal("entitlements", e))?
                .into_iter()
                .find(|e| e.id == entitlement)
                .and_then(|e| e.trial_ends_on)
                .ok_or_else(|| not_now("given a longer trial"))?;
            let base = current.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or(now).max(now);
            state
                .store
                .set_trial_end(&actor, entitlement, base + days * 86_400, &reason, now)
                .await
                .map_err(|e| from_store("Entitlement", e))?;
            view.customer_id
        }
        _ => return Err(AppError::invalid("action", "Suspend, resume or extend the trial.")),
    };
    state.enforcer.refresh(customer).await.map_err(|e| internal("refresh", e))?;
    Ok(())
}
