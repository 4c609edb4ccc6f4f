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
