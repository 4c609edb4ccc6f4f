//! The usage page's data: per-day usage, seats and instances, with charts.

use leptos::prelude::*;

use super::UsageReport;
use crate::error::AppError;

/// Usage of `customer`'s entitlements (a slug; a customer admin's own when `None`) over
/// the last `days` days (30 or 90), with the charts rendered. Customer admins of that
/// organisation and vendor admins/staff. Errors: `Invalid` on `days` for another window.
#[server(prefix = "/api", endpoint = "get_usage")]
pub async fn get_usage(customer: Option<String>, days: i64) -> Result<UsageReport, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    if !super::WINDOWS.contains(&days) {
        return Err(AppError::invalid("days", "Show 30 or 90 days."));
    }
    let Caller { state, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    super::report::build(&state, customer.id, days, crate::store::now()).await
}
