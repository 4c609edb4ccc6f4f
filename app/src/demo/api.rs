//! The demo's data and controls, for sales and vendor admins.

use leptos::prelude::*;

use super::DemoView;
use crate::error::AppError;

/// The demo customer, its plans and what the product would allow its user now.
/// Sales and vendor admins only. Errors: `NotFound` when the database has no demo.
#[server(prefix = "/api", endpoint = "get_demo")]
pub async fn get_demo() -> Result<DemoView, AppError> {
    use crate::ssr::auth::{Guard, Roles};
    let caller = Guard::new().role(Roles::DEMO).caller().await?;
    ssr_demo::view(&caller.state).await
}

/// Switches the demo customer to plan `plan` (a key) at once: the portal and the
/// enforcement API answer with it from the next request. Only the demo customer changes.
/// Errors: `Invalid` on `plan` for an unknown plan; roles as [`get_demo`].
#[server(prefix = "/api", endpoint = "switch_demo_plan")]
pub async fn switch_demo_plan(plan: String) -> Result<DemoView, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::StoreResultExt;
    let Caller { state, actor, .. } = Guard::new().role(Roles::DEMO).caller().await?;
    state
        .store
        .switch_demo_plan(&actor, plan.trim(), crate::store::now())
        .await
        .or_when_missing(|| AppError::invalid("plan", "There is no such plan."))?;
    ssr_demo::view(&state).await
}

/// Restores the demo data as it started. Roles as [`get_demo`].
#[server(prefix = "/api", endpoint = "reset_demo")]
pub async fn reset_demo() -> Result<DemoView, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::StoreResultExt;
    let Caller { state, actor, .. } = Guard::new().role(Roles::DEMO).caller().await?;
    state.store.reset_demo(&actor, crate::store::now()).await.or_not_found("Demo")?;
    ssr_demo::view(&state).await
}

#[cfg(feature = "ssr")]
mod ssr_demo {
    use crate::error::AppError;
    use crate::ssr::enforcer::CheckInput;
    use crate::ssr::{internal, AppState, StoreResultExt};
    use crate::store::demo::DEMO_USER;

    /// The demo now, with every feature of its product checked as the API would.
    /// Errors: `NotFound` when the database has no demo.
    pub async fn view(state: &AppState) -> Result<crate::demo::DemoView, AppError> {
        let (customer_id, entitlement_id) = state.store.demo_customer().await.or_not_found("Demo")?;
        let now = crate::store::now();
        let entitlements = state.store.list_entitlements(customer_id, crate::store::day_of(now)).await?;
        let e = entitlements.into_iter().find(|e| e.id == entitlement_id).ok_or_else(|| AppError::NotFound("Demo".into()))?;
        let facts = state.store.entitlement_facts(entitlement_id).await.or_not_found("Demo")?;
        let products = state.store.list_products().await?;
        let product_key = products.iter().find(|p| p.0 == facts.product_id).map(|p| p.1.clone()).unwrap_or_default();
        let plans = state.store.list_plans(facts.product_id).await?;
        let snapshot = state.enforcer.customer(&customer_id.to_string()).await.map_err(|e| internal("demo snapshot", e))?;
        // Every feature any plan has, in catalog order, answered as the API would.
        let mut answers: Vec<crate::demo::FeatureAnswer> = Vec::new();
        for f in plans.iter().flat_map(|p| &p.features) {
            if answers.iter().any(|a| a.key == f.key) {
                continue;
            }
            let input = CheckInput { feature: f.key.clone(), user: Some(DEMO_USER.to_owned()), ..Default::default() };
            let outcome = state.enforcer.check(&snapshot, &product_key, input, now).map_err(|e| internal("demo check", e))?;
            answers.push(crate::demo::FeatureAnswer {
                key: f.key.clone(),
                name: f.name.clone(),
                allowed: outcome.decision.allowed,
                code: outcome.decision.code.as_str().to_owned(),
                remaining: outcome.decision.remaining,
            });
        }
        Ok(crate::demo::DemoView {
            customer: e.customer.clone(),
            slug: crate::store::demo::DEMO_SLUG.to_owned(),
            user: DEMO_USER.to_owned(),
            product: e.product.clone(),
            plan: e.plan.clone(),
            plans: plans.iter().map(|p| (p.key.clone(), p.name.clone(), p.key == e.plan_key)).collect(),
            seats_cap: e.seats_cap,
            instances_cap: e.instances_cap,
            answers,
        })
    }
}
