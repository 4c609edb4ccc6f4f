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
