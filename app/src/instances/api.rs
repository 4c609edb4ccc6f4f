//! Listing and deactivating an organisation's instances.

use leptos::prelude::*;

use super::InstancesView;
use crate::error::AppError;

/// A page of the active instances of `customer` (a slug; a customer admin's own when
/// `None`), in the order they were activated: `search` matches part of a name, a
/// fingerprint or an instance id; `after` is the instance the page starts after. The
/// counts against each cap are of every live instance. Customer admins of that
/// organisation and vendor admins/staff.
#[server(prefix = "/api", endpoint = "list_instances")]
pub async fn list_instances(customer: Option<String>, search: Option<String>, after: Option<i64>) -> Result<InstancesView, AppError> {
    use super::INSTANCES_PAGE;
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::store::entitlements::instances::InstanceQuery;
    let Caller { state, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    let now = crate::store::now();
    let ttl = state.enforcer.instance_ttl();
    let entitlements = state.store.list_entitlements(customer.id, crate::store::day_of(now)).await?;
    let query = InstanceQuery { search: search.as_deref(), after, limit: INSTANCES_PAGE + 1 };
    let mut rows = state.store.list_instances(customer.id, &query).await?;
    let more = rows.len() as i64 > INSTANCES_PAGE;
    rows.truncate(INSTANCES_PAGE as usize);
    let next_after = if more { rows.last().map(|i| i.id) } else { None };
    let live = state.store.live_instance_counts(customer.id, now, ttl).await?;
    let product_of = |entitlement: i64| entitlements.iter().find(|e| e.id == entitlement).map(|e| e.product.clone()).unwrap_or_default();
    let instances: Vec<super::InstanceView> = rows
        .into_iter()
        .map(|i| super::InstanceView {
            id: i.id,
            live: i.last_heartbeat_at >= now - ttl || i.offline_until.is_some_and(|until| until >= now),
            public_id: i.public_id,
            product: product_of(i.entitlement_id),
            name: i.name,
            fingerprint: i.fingerprint,
            activated_at: i.activated_at,
            last_heartbeat_at: i.last_heartbeat_at,
        })
        .collect();
    let caps = entitlements
        .iter()
        .map(|e| {
            let count = live.iter().filter(|(entitlement, _)| *entitlement == e.id).map(|(_, n)| n).sum();
            (e.product.clone(), count, e.instances_cap)
        })
        .collect();
    Ok(InstancesView { instances, caps, ttl, now, next_after })
}

/// Deactivates instance `id` and frees its slot at once (the next activation through
/// the API may take it). Customer admins of its organisation and vendor admins/staff.
/// Errors: `NotFound` for an unknown, already deactivated or another tenant's instance;
/// `Invalid` on `id` when its offline licence is valid and the entitlement has freed as
/// many licensed instances early within 30 days as its cap.
#[server(prefix = "/api", endpoint = "deactivate_instance")]
pub async fn deactivate_instance(id: i64) -> Result<(), AppError> {
    use crate::ssr::auth::{Guard, Roles};
    use crate::ssr::StoreResultExt;
    let caller = Guard::new().role(Roles::MANAGERS).caller().await?;
    // A customer admin reaches only their own organisation's instances; another's is not found.
    let within = caller.own_customer().map(|own| own.id);
    let done =
        caller.state.store.deactivate_instance(&caller.actor, None, within, id, crate::store::now()).await.or_not_found("Instance")?;
    match done {
        crate::store::entitlements::instances::Deactivation::HeldByLicence { until } => {
            Err(AppError::invalid("id", crate::ssr::licences::held_by_licence(until)))
        }
        _ => Ok(()),
    }
}

/// Answers an air-gapped machine's activation request (the text of its file): takes a
/// slot of the organisation's entitlement, held until the licence expires, and returns
/// the licence to carry back. Customer admins of the organisation whose license key wrote
/// the request, and vendor admins/staff (`customer` names the organisation they act in).
/// Errors: `Invalid` on `request` with what is wrong (malformed, altered, used already,
/// expired, another organisation's key, no free slot, entitlement not usable).
#[server(prefix = "/api", endpoint = "activate_offline")]
pub async fn activate_offline(customer: Option<String>, request: String) -> Result<super::OfflineLicenceView, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::licences::{self, Within};
    let Caller { state, actor, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    let within = Within { customer_id: Some(customer.id), product_id: None };
    let issued = licences::activate_offline(&state, &actor, within, &request, crate::store::now())
        .await?
        .map_err(|refusal| AppError::invalid("request", refusal.message()))?;
    let claims = issued.claims;
    Ok(super::OfflineLicenceView {
        file_name: format!("{}-{}.jwt", claims.aud, claims.instance),
        instance: claims.instance,
        fingerprint: claims.fingerprint,
        expires_at: claims.exp,
        licence: issued.licence,
    })
}

/// Takes an air-gapped machine's deactivation receipt (the text of its file) and frees
/// the slot of the instance it names; returns that instance's id. Same rules as
/// [`activate_offline`]. Errors: `Invalid` on `receipt` with what is wrong.
#[server(prefix = "/api", endpoint = "deactivate_offline")]
pub async fn deactivate_offline(customer: Option<String>, receipt: String) -> Result<String, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::licences::{self, Within};
    let Caller { state, actor, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    let within = Within { customer_id: Some(customer.id), product_id: None };
    licences::deactivate_offline(&state, &actor, within, &receipt, crate::store::now())
        .await?
        .map_err(|refusal| AppError::invalid("receipt", refusal.message()))
}
