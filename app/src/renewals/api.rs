//! What ends soon, for the banner.

use leptos::prelude::*;

use super::RenewalNotice;
use crate::error::AppError;

/// The signed-in customer user's entitlements that end within
/// [`NOTICE_DAYS`](super::NOTICE_DAYS) days (trial ends, fixed ends, renewals that will
/// not happen by themselves), soonest first; empty for vendor users and visitors.
#[server(prefix = "/api", endpoint = "renewal_notices")]
pub async fn renewal_notices() -> Result<Vec<RenewalNotice>, AppError> {
    let Some(user) = crate::ssr::auth::current_user().await? else { return Ok(vec![]) };
    let Some(customer) = user.customer else { return Ok(vec![]) };
    let state = crate::ssr::AppState::current()?;
    let today = crate::store::day_of(crate::store::now());
    let views = state.store.list_entitlements(customer.id, today).await?;
    let mut notices: Vec<RenewalNotice> = views
        .iter()
        .filter_map(|v| {
            let (what, on, days_left) = v.ending_within(super::NOTICE_DAYS)?;
            Some(RenewalNotice {
                entitlement_id: v.id,
                product: v.product.clone(),
                what: what.to_owned(),
                on,
                days_left,
                grace_days: v.grace_days,
            })
        })
        .collect();
    notices.sort_by_key(|n| n.days_left);
    Ok(notices)
}
