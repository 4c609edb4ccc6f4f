//! The vendor's view of its customers.

use leptos::prelude::*;

use super::{CreatedCustomer, CustomerPage};
use crate::error::AppError;

/// A page of customers by name, each with a summary of its entitlements: those whose name
/// or slug holds `search` (any case) or with a user whose email it is; those `show`
/// names (`trial-ending`, `term-ending`, `renewing`, `near-limit`); the page starting after
/// customer `after`. Vendor users only, and for sales only the demo customer.
/// Errors: `Unauthenticated`, `Forbidden` for customer users; `Invalid` on `show` for a
/// filter there is not.
#[server(prefix = "/api", endpoint = "list_customers")]
pub async fn list_customers(search: Option<String>, show: Option<String>, after: Option<i64>) -> Result<CustomerPage, AppError> {
    use super::{CustomerFilter, CUSTOMERS_PAGE};
    use crate::ssr::auth::{Guard, Roles};
    use crate::ssr::forms;
    use crate::store::console::CustomerQuery;
    let caller = Guard::new().role(Roles::VENDOR).caller().await?;
    let filter = match forms::optional(show.as_deref()) {
        Some(s) => Some(CustomerFilter::parse(s).ok_or_else(|| AppError::invalid("show", "No such list of customers."))?),
        None => None,
    };
    let now = crate::store::now();
    let state = &caller.state;
    let mut among = match filter {
        Some(CustomerFilter::NearLimit) => Some(crate::ssr::activity::near_limit(state, now).await.to_vec()),
        _ => None,
    };
    // Sales demo the product: they see the demo customer and nothing of real ones.
    if caller.is_sales() {
        let demo = match state.store.find_customer_by_slug(crate::store::demo::DEMO_SLUG).await {
            Ok(c) => vec![c.id],
            Err(crate::store::StoreError::NotFound) => vec![],
            Err(e) => return Err(e.into()),
        };
        among = Some(among.map_or(demo.clone(), |ids| ids.into_iter().filter(|id| demo.contains(id)).collect()));
    }
    let query = CustomerQuery { search: forms::optional(search.as_deref()).map(str::to_owned), filter, among, after, now };
    let mut customers = state.store.search_customers(&query, CUSTOMERS_PAGE + 1).await?;
    let more = customers.len() as i64 > CUSTOMERS_PAGE;
    customers.truncate(CUSTOMERS_PAGE as usize);
    let next_after = if more { customers.last().map(|c| c.id) } else { None };
    Ok(CustomerPage { customers, next_after })
}

/// Suspends (`action` = `suspend`) or resumes (`resume`) entitlement `entitlement`,
/// extends its trial by `days` (`extend_trial`, 1–90), renews it for `days` more
/// (`renew`, 1–1,100, a year when empty) or cancels it (`cancel`), with a `reason` that is
/// recorded in the audit log (and shown to the customer for a suspension or a
/// cancellation). Vendor admins and staff only; the next API check sees the change.
/// Errors: `Invalid` on `reason` (empty or too long), `days`, `action` (unknown, or not
/// possible in the entitlement's state); `NotFound` for an unknown entitlement.
#[server(prefix = "/api", endpoint = "change_entitlement")]
pub async fn change_entitlement(entitlement: i64, action: String, reason: String, days: Option<i64>) -> Result<(), AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::{forms, StoreResultExt};
    use ssr_console::Action;
    let Caller { state, actor, .. } = Guard::new().role(Roles::STAFF).caller().await?;
    let reason = forms::reason(&reason)?;
    let action = Action::parse(&action, days)?;
    let now = crate::store::now();
    match action {
        Action::Suspend | Action::Resume => {
            state
                .store
                .set_suspended(&actor, entitlement, None, action == Action::Suspend, reason.as_str(), now)
                .await
                .or_not_found("Entitlement")??;
        }
        Action::ExtendTrial(days) => {
            let facts = state.store.entitlement_facts(entitlement).await.or_not_found("Entitlement")?;
            let current = state
                .store
                .list_entitlements(facts.customer_id, crate::store::day_of(now))
                .await?
                .into_iter()
                .find(|e| e.id == entitlement)
                .and_then(|e| e.trial_ends_on)
                .ok_or_else(|| AppError::invalid("action", "This entitlement cannot be given a longer trial in its present state."))?;
            let ends_at = crate::engine::dates::extended_trial_end(current, days, now);
            state.store.set_trial_end(&actor, entitlement, None, ends_at, reason.as_str(), now).await.or_not_found("Entitlement")?;
        }
        Action::Renew(days) => {
            state.store.renew_entitlement(&actor, entitlement, None, days, reason.as_str(), now).await.or_not_found("Entitlement")??;
        }
        Action::Cancel => {
            state.store.cancel_entitlement(&actor, entitlement, None, reason.as_str(), now).await.or_not_found("Entitlement")??;
        }
    }
    Ok(())
}

/// Creates customer `name` (its address in the portal is `slug`: lower-case letters,
/// digits and dashes) with its first admin `admin_name` <`admin_email`>, who gets an
/// invitation link to set a password. Vendor admins and staff only; audited with
/// `reason`. Errors: `Invalid` on `slug` (malformed or taken), `name`, `admin_email`
/// (malformed or taken), `admin_name`, `reason`.
#[server(prefix = "/api", endpoint = "create_customer")]
pub async fn create_customer(
    slug: String,
    name: String,
    admin_email: String,
    admin_name: String,
    reason: String,
) -> Result<CreatedCustomer, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::forms;
    use crate::store::members::NewCustomer;
    let Caller { state, actor, .. } = Guard::new().role(Roles::STAFF).caller().await?;
    let slug = forms::slug("slug", &slug)?;
    let name = forms::text("name", &name, 120, "Enter the customer's name (up to 120 characters).")?;
    let admin_email = forms::email("admin_email", &admin_email)?;
    let admin_name = forms::text("admin_name", &admin_name, 120, "Enter the admin's name (up to 120 characters).")?;
    let reason = forms::reason(&reason)?;
    let (token, hash) = crate::ssr::new_token();
    let now = crate::store::now();
    let expires_at = now + crate::seats::api::INVITATION_DAYS * 86_400;
    let new = NewCustomer {
        slug: slug.as_str(),
        name: &name,
        admin_email: admin_email.as_str(),
        admin_name: &admin_name,
        token_hash: &hash,
        expires_at,
    };
    state.store.create_customer_with_admin(&actor, &new, reason.as_str(), now).await?;
    Ok(CreatedCustomer {
        slug: slug.into_inner(),
        name,
        admin_email: admin_email.into_inner(),
        path: format!("/invite/{token}"),
        expires_on: crate::store::day_of(expires_at),
    })
}

/// Grants `customer` (a slug) an entitlement to `product` on the newest version of
/// `plan`, with `addons` (keys), optional `seats` and `instances` caps that override the
/// plan's, `starts` (a date, today when empty), optional `ends` and `renews` dates, a
/// trial of `trial_days` (none when empty or 0), `regions` (comma-separated codes;
/// anywhere when empty) and whether it renews by itself (`auto_renew`). Vendor admins and
/// staff only; audited with `reason`; the next API check sees it. Errors: `Invalid` on the
/// field at fault (the product when the customer has it already); `NotFound` for an
/// unknown customer.
#[server(prefix = "/api", endpoint = "grant_entitlement")]
#[allow(clippy::too_many_arguments)]
pub async fn grant_entitlement(
    customer: String,
    product: String,
    plan: String,
    addons: Option<Vec<String>>,
    seats: Option<String>,
    instances: Option<String>,
    starts: Option<String>,
    ends: Option<String>,
    renews: Option<String>,
    trial_days: Option<String>,
    regions: Option<String>,
    auto_renew: Option<String>,
    reason: String,
) -> Result<i64, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::{forms, StoreResultExt};
    use crate::store::entitlements::lifecycle::Grant;
    let Caller { state, actor, .. } = Guard::new().role(Roles::STAFF).caller().await?;
    let reason = forms::reason(&reason)?;
    let customer = state.store.find_customer_by_slug(customer.trim()).await.or_not_found("Customer")?;
    let (product_id, plan_row, addon_rows) =
        ssr_console::catalog_choice(&state, &product, &plan, addons.as_deref().unwrap_or_default()).await?;
    let now = crate::store::now();
    let starts_at = ssr_console::date("starts", starts.as_deref())?.unwrap_or(now);
    let ends_at = ssr_console::date("ends", ends.as_deref())?;
    let renews_at = ssr_console::date("renews", renews.as_deref())?;
    if ends_at.is_some_and(|e| e <= starts_at) {
        return Err(AppError::invalid("ends", "The end must come after the start."));
    }
    if renews_at.is_some_and(|r| r <= starts_at) {
        return Err(AppError::invalid("renews", "The renewal must come after the start."));
    }
    let trial_days = forms::number("trial_days", trial_days.as_deref(), 0..=90, "A trial runs 0 to 90 days.")?.unwrap_or(0);
    let (seats_override, instances_override) = ssr_console::caps(seats.as_deref(), instances.as_deref())?;
    let grant = Grant {
        customer_id: customer.id,
        product_id,
        plan_id: plan_row.id,
        addon_ids: addon_rows.iter().map(|a| a.id).collect(),
        seats_override,
        instances_override,
        starts_at,
        ends_at,
        renews_at,
        trial_ends_at: (trial_days > 0).then(|| crate::engine::dates::trial_ends_at(starts_at, trial_days, now)),
        grace_days: plan_row.grace_days,
        auto_renew: forms::checkbox(auto_renew.as_deref()),
        regions: forms::regions(regions.as_deref())?,
        external_id: None,
    };
    Ok(state.store.grant_entitlement(&actor, &grant, reason.as_str(), now).await?)
}

/// Sets the terms of entitlement `entitlement`: moves it to the newest version of `plan`,
/// sets or clears (empty) the `seats` and `instances` caps that override the plan's, and
/// its `regions`. Fewer seats than are assigned holds back the seats assigned last until
/// the customer frees as many. Vendor admins and staff only; audited with `reason`; the
/// next API check sees it. Errors: `Invalid` on the field at fault, or on `plan` when
/// nothing would change; `NotFound` for an unknown entitlement.
#[server(prefix = "/api", endpoint = "amend_entitlement")]
pub async fn amend_entitlement(
    entitlement: i64,
    plan: String,
    seats: Option<String>,
    instances: Option<String>,
    regions: Option<String>,
    reason: String,
) -> Result<super::AmendOutcome, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::{forms, StoreResultExt};
    use crate::store::entitlements::lifecycle::{Amended, Terms};
    let Caller { state, actor, .. } = Guard::new().role(Roles::STAFF).caller().await?;
    let reason = forms::reason(&reason)?;
    let facts = state.store.entitlement_facts(entitlement).await.or_not_found("Entitlement")?;
    let plans = state.store.list_plans(facts.product_id).await?;
    let plan =
        plans.iter().find(|p| p.key == plan.trim()).ok_or_else(|| AppError::invalid("plan", "There is no such plan for this product."))?;
    let (seats_override, instances_override) = ssr_console::caps(seats.as_deref(), instances.as_deref())?;
    let terms = Terms { plan_id: plan.id, seats_override, instances_override, regions: forms::regions(regions.as_deref())? };
    let amended = state
        .store
        .amend_entitlement(&actor, entitlement, None, &terms, reason.as_str(), crate::store::now())
        .await
        .or_not_found("Entitlement")??;
    Ok(match amended {
        Amended::Applied { .. } => super::AmendOutcome::Applied,
        Amended::Proposed { .. } => super::AmendOutcome::Proposed,
    })
}

/// The changes of terms proposed for `customer`'s entitlements that wait for a second
/// member of staff, oldest first. Vendor admins and staff only.
#[server(prefix = "/api", endpoint = "list_proposed_amendments")]
pub async fn list_proposed_amendments(customer: String) -> Result<Vec<super::ProposedAmendmentView>, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    let Caller { state, scope: found, .. } = Guard::new().role(Roles::STAFF).customer(Some(customer.trim())).await?;
    let rows = state.store.list_proposed_amendments(found.id).await?;
    Ok(rows
        .into_iter()
        .map(|a| {
            let mut summary = format!("{} plan", a.plan);
            if let Some(seats) = a.seats {
                summary.push_str(&format!(", {seats} seats"));
            }
            if let Some(instances) = a.instances {
                summary.push_str(&format!(", {instances} instances"));
            }
            if let Some(regions) = a.regions.filter(|r| !r.is_empty()) {
                summary.push_str(&format!(", regions {regions}"));
            }
            super::ProposedAmendmentView {
                id: a.id,
                product: a.product,
                summary,
                reason: a.reason,
                proposed_by: a.proposed_by,
                proposed_on: crate::store::day_of(a.proposed_at),
            }
        })
        .collect())
}

/// Decides proposed change `id` as the second member of staff: `decision` is `approve`
/// (the terms are set now) or `reject`, with an optional `comment`; audited. Vendor admins
/// and staff, but not the one who proposed it. Errors: `Invalid` on `decision` (unknown,
/// one's own proposal, decided already); `NotFound` for an unknown proposal.
#[server(prefix = "/api", endpoint = "decide_amendment")]
pub async fn decide_amendment(id: i64, decision: String, comment: Option<String>) -> Result<(), AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::StoreResultExt;
    let Caller { state, actor, .. } = Guard::new().role(Roles::STAFF).caller().await?;
    let approve = match decision.trim() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::invalid("decision", "Approve or reject.")),
    };
    let comment = comment.unwrap_or_default();
    let comment = comment.trim();
    if comment.chars().count() > 500 {
        return Err(AppError::invalid("comment", "Keep the comment under 500 characters."));
    }
    state.store.decide_amendment(&actor, id, approve, comment, crate::store::now()).await.or_not_found("Proposal")??;
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr_console {
    use crate::error::AppError;
    use crate::ssr::{forms, AppState};
    use crate::store::catalog::{AddonRow, PlanRow};

    /// What staff do to an entitlement from the console, with the days it takes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Action {
        /// Suspend an active entitlement.
        Suspend,
        /// Resume a suspended one.
        Resume,
        /// Extend the trial by this many days.
        ExtendTrial(i64),
        /// Renew for this many days more.
        Renew(i64),
        /// Cancel it at once.
        Cancel,
    }

    impl Action {
        /// `action` (`suspend`, `resume`, `extend_trial`, `renew`, `cancel`) with its `days`:
        /// 1 to 90 to extend a trial, 1 to 1,100 to renew (a year when none). `Invalid` on
        /// `action` for another action, on `days` outside its range.
        pub fn parse(action: &str, days: Option<i64>) -> Result<Action, AppError> {
            Ok(match action {
                "suspend" => Action::Suspend,
                "resume" => Action::Resume,
                "extend_trial" => Action::ExtendTrial(forms::days("days", days, 1..=90, "Extend by 1 to 90 days.")?),
                "renew" => Action::Renew(forms::days("days", Some(days.unwrap_or(365)), 1..=1_100, "Renew for 1 to 1,100 days.")?),
                "cancel" => Action::Cancel,
                _ => return Err(AppError::invalid("action", "Suspend, resume, extend the trial, renew or cancel.")),
            })
        }
    }

    /// The seat and instance caps that override the plan's; `None` where empty.
    pub fn caps(seats: Option<&str>, instances: Option<&str>) -> Result<(Option<i64>, Option<i64>), AppError> {
        Ok((
            forms::number("seats", seats, 0..=1_000_000, "Seats are a whole number from 0 to 1,000,000.")?,
            forms::number("instances", instances, 0..=1_000_000, "Instances are a whole number from 0 to 1,000,000.")?,
        ))
    }

    /// An optional date (YYYY-MM-DD) as the Unix second its day starts; `None` when empty.
    pub fn date(field: &str, raw: Option<&str>) -> Result<Option<i64>, AppError> {
        Ok(forms::date(field, raw, "Enter a date like 2027-01-31.")?.map(crate::engine::dates::start_of_day))
    }

    /// The product `product` (key), its plan `plan` (key, newest version) and add-ons `addons` (keys).
    pub async fn catalog_choice(
        state: &AppState,
        product: &str,
        plan: &str,
        addons: &[String],
    ) -> Result<(i64, PlanRow, Vec<AddonRow>), AppError> {
        let products = state.store.list_products().await?;
        let (product_id, ..) = products
            .into_iter()
            .find(|(_, key, _)| key == product.trim())
            .ok_or_else(|| AppError::invalid("product", "There is no such product."))?;
        let plans = state.store.list_plans(product_id).await?;
        let plan = plans
            .into_iter()
            .find(|p| p.key == plan.trim())
            .ok_or_else(|| AppError::invalid("plan", "There is no such plan for this product."))?;
        let all = state.store.list_addons(product_id).await?;
        let mut chosen = Vec::new();
        for key in addons.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
            let a = all
                .iter()
                .find(|a| a.key == key)
                .ok_or_else(|| AppError::invalid("addons", format!("There is no add-on {key} for this product.")))?;
            if !chosen.iter().any(|c: &AddonRow| c.id == a.id) {
                chosen.push(a.clone());
            }
        }
        Ok((product_id, plan, chosen))
    }
}

/// Whether the caller has opened `customer`'s portal in this session (within the hour),
/// and the customer's name. Reading changes nothing: the opening itself is
/// [`open_customer_portal`]'s, a POST, so that no link from anywhere writes to the audit
/// log in a staff member's name. Vendor admins and staff only. Errors: `NotFound` for an
/// unknown customer.
#[server(prefix = "/api", endpoint = "view_as_customer")]
pub async fn view_as_customer(customer: String) -> Result<super::ViewAs, AppError> {
    use crate::ssr::auth::{session, Caller, Guard, Roles};
    let Caller { scope: found, .. } = Guard::new().role(Roles::STAFF).customer(Some(customer.trim())).await?;
    let opened: Option<(String, i64)> = session().await?.get(VIEWING_KEY).await.map_err(|e| crate::ssr::internal("session read", e))?;
    let opened = opened.is_some_and(|(slug, at)| slug == found.slug && crate::store::now() - at < VIEWING_SECS);
    Ok(super::ViewAs { name: found.name, opened })
}

/// The session key naming the customer whose portal the caller opened, and when.
#[cfg(feature = "ssr")]
const VIEWING_KEY: &str = "viewing";
/// How long an opening lasts before the portal asks again.
#[cfg(feature = "ssr")]
const VIEWING_SECS: i64 = 3600;

/// Opens `customer`'s portal for vendor staff to see it as the customer does, read-only:
/// the opening is recorded in the audit log and the browser goes to the portal. Vendor
/// admins and staff only. Errors: `NotFound` for an unknown customer.
#[server(prefix = "/api", endpoint = "open_customer_portal")]
pub async fn open_customer_portal(customer: String) -> Result<(), AppError> {
    use crate::ssr::auth::{session, Caller, Guard, Roles};
    let Caller { state, actor, scope: found, .. } = Guard::new().role(Roles::STAFF).customer(Some(customer.trim())).await?;
    let now = crate::store::now();
    state.store.record_view_as(&actor, found.id, now).await?;
    session().await?.insert(VIEWING_KEY, (&found.slug, now)).await.map_err(|e| crate::ssr::internal("session write", e))?;
    leptos_axum::redirect(&format!("/customers/{}/portal", found.slug));
    Ok(())
}
