//! The vendor's view of its customers.

use leptos::prelude::*;

use super::{CreatedCustomer, CustomerSummary};
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

/// Suspends (`action` = `suspend`) or resumes (`resume`) entitlement `entitlement`,
/// extends its trial by `days` (`extend_trial`, 1–90), renews it for `days` more
/// (`renew`, 1–1,100, a year when empty) or cancels it (`cancel`), with a `reason` that is
/// recorded in the audit log (and shown to the customer for a suspension or a
/// cancellation). Vendor admins and staff only; the next API check sees the change.
/// Errors: `Invalid` on `reason` (empty or too long), `days`, `action` (unknown, or not
/// possible in the entitlement's state); `NotFound` for an unknown entitlement.
#[server(prefix = "/api", endpoint = "change_entitlement")]
pub async fn change_entitlement(entitlement: i64, action: String, reason: String, days: Option<i64>) -> Result<(), AppError> {
    use crate::ssr::{auth, from_store, internal, AppState};
    use crate::store::StoreError;
    let user = auth::require_staff().await?;
    let reason = ssr_console::reason(&reason)?;
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
            let view = state.store.entitlement_facts(entitlement).await.map_err(|e| from_store("Entitlement", e))?;
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
        "renew" => {
            let days = days.unwrap_or(365);
            if !(1..=1_100).contains(&days) {
                return Err(AppError::invalid("days", "Renew for 1 to 1,100 days."));
            }
            match state.store.renew_entitlement(&actor, entitlement, days, &reason, now).await {
                Ok(c) => c,
                Err(StoreError::Conflict { .. }) => return Err(not_now("renewed")),
                Err(e) => return Err(from_store("Entitlement", e)),
            }
        }
        "cancel" => match state.store.cancel_entitlement(&actor, entitlement, &reason, now).await {
            Ok(c) => c,
            Err(StoreError::Conflict { .. }) => return Err(not_now("cancelled")),
            Err(e) => return Err(from_store("Entitlement", e)),
        },
        _ => return Err(AppError::invalid("action", "Suspend, resume, extend the trial, renew or cancel.")),
    };
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
    use crate::ssr::{auth, internal, AppState};
    use crate::store::console::NewCustomer;
    use crate::store::StoreError;
    let user = auth::require_staff().await?;
    let slug = slug.trim().to_lowercase();
    let slug_ok = (2..=40).contains(&slug.len())
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if !slug_ok {
        return Err(AppError::invalid("slug", "Use 2 to 40 lower-case letters, digits and dashes, e.g. initech."));
    }
    let name = ssr_console::text("name", &name, 120, "Enter the customer's name (up to 120 characters).")?;
    let admin_email = crate::auth::api::parse_email(&admin_email).map_err(|e| AppError::invalid("admin_email", e.to_string()))?;
    let admin_name = ssr_console::text("admin_name", &admin_name, 120, "Enter the admin's name (up to 120 characters).")?;
    let reason = ssr_console::reason(&reason)?;
    let state = AppState::current()?;
    let (token, hash) = crate::ssr::new_token();
    let now = crate::store::now();
    let expires_at = now + crate::seats::api::INVITATION_DAYS * 86_400;
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    let new = NewCustomer { slug: &slug, name: &name, admin_email: &admin_email, admin_name: &admin_name, token_hash: &hash, expires_at };
    let (customer, _) = match state.store.create_customer_with_admin(&actor, &new, &reason, now).await {
        Ok(ids) => ids,
        Err(StoreError::Conflict { constraint }) if constraint == "slug" => {
            return Err(AppError::invalid("slug", "Another customer has this address already."))
        }
        Err(StoreError::Conflict { .. }) => return Err(AppError::invalid("admin_email", "This email belongs to another user already.")),
        Err(e) => return Err(internal("create customer", e)),
    };
    Ok(CreatedCustomer { slug, name, admin_email, path: format!("/invite/{token}"), expires_on: crate::store::day_of(expires_at) })
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
    use crate::ssr::{auth, from_store, internal, AppState};
    use crate::store::console::Grant;
    use crate::store::StoreError;
    let user = auth::require_staff().await?;
    let reason = ssr_console::reason(&reason)?;
    let state = AppState::current()?;
    let customer = state.store.find_customer_by_slug(customer.trim()).await.map_err(|e| from_store("Customer", e))?;
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
    let trial_days = ssr_console::number("trial_days", trial_days.as_deref(), 0, 90, "A trial runs 0 to 90 days.")?.unwrap_or(0);
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
        trial_ends_at: (trial_days > 0).then(|| starts_at.max(now) + trial_days * 86_400),
        grace_days: plan_row.grace_days,
        auto_renew: auto_renew.is_some_and(|v| matches!(v.as_str(), "on" | "true" | "1")),
        regions: ssr_console::regions(regions.as_deref())?,
    };
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    let id = match state.store.grant_entitlement(&actor, &grant, &reason, now).await {
        Ok(id) => id,
        Err(StoreError::Conflict { .. }) => {
            return Err(AppError::invalid("product", "This customer has this product already: change its entitlement instead."))
        }
        Err(e) => return Err(internal("grant entitlement", e)),
    };
    Ok(id)
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
) -> Result<(), AppError> {
    use crate::ssr::{auth, from_store, internal, AppState};
    use crate::store::console::Terms;
    use crate::store::StoreError;
    let user = auth::require_staff().await?;
    let reason = ssr_console::reason(&reason)?;
    let state = AppState::current()?;
    let facts = state.store.entitlement_facts(entitlement).await.map_err(|e| from_store("Entitlement", e))?;
    let plans = state.store.list_plans(facts.product_id).await.map_err(|e| internal("list plans", e))?;
    let plan =
        plans.iter().find(|p| p.key == plan.trim()).ok_or_else(|| AppError::invalid("plan", "There is no such plan for this product."))?;
    let (seats_override, instances_override) = ssr_console::caps(seats.as_deref(), instances.as_deref())?;
    let terms = Terms { plan_id: plan.id, seats_override, instances_override, regions: ssr_console::regions(regions.as_deref())? };
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    let customer = match state.store.amend_entitlement(&actor, entitlement, &terms, &reason, crate::store::now()).await {
        Ok(c) => c,
        Err(StoreError::Conflict { .. }) => return Err(AppError::invalid("plan", "These are the terms it has already.")),
        Err(e) => return Err(from_store("Entitlement", e)),
    };
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr_console {
    use crate::error::AppError;
    use crate::ssr::{internal, AppState};
    use crate::store::catalog::{AddonRow, PlanRow};

    /// A trimmed reason for the audit log; `Invalid` when empty or over 500 characters.
    pub fn reason(raw: &str) -> Result<String, AppError> {
        text("reason", raw, 500, "Give the reason (up to 500 characters); it goes into the audit log.")
    }

    /// A trimmed, non-empty text of at most `max` characters.
    pub fn text(field: &str, raw: &str, max: usize, message: &str) -> Result<String, AppError> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > max {
            return Err(AppError::invalid(field, message));
        }
        Ok(t.to_owned())
    }

    /// An optional whole number in `lo..=hi`; `None` when empty.
    pub fn number(field: &str, raw: Option<&str>, lo: i64, hi: i64, message: &str) -> Result<Option<i64>, AppError> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => match s.parse::<i64>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
                _ => Err(AppError::invalid(field, message)),
            },
        }
    }

    /// The seat and instance caps that override the plan's; `None` where empty.
    pub fn caps(seats: Option<&str>, instances: Option<&str>) -> Result<(Option<i64>, Option<i64>), AppError> {
        Ok((
            number("seats", seats, 0, 1_000_000, "Seats are a whole number from 0 to 1,000,000.")?,
            number("instances", instances, 0, 1_000_000, "Instances are a whole number from 0 to 1,000,000.")?,
        ))
    }

    /// An optional date (YYYY-MM-DD) as the Unix second its day starts; `None` when empty.
    pub fn date(field: &str, raw: Option<&str>) -> Result<Option<i64>, AppError> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| Some(t.and_utc().timestamp()))
                .ok_or_else(|| AppError::invalid(field, "Enter a date like 2027-01-31.")),
        }
    }

    /// Region codes (letters, digits, dashes), comma-separated, normalised; `None` when empty.
    pub fn regions(raw: Option<&str>) -> Result<Option<String>, AppError> {
        let codes: Vec<String> = raw.unwrap_or("").split(',').map(|r| r.trim().to_lowercase()).filter(|r| !r.is_empty()).collect();
        if codes.is_empty() {
            return Ok(None);
        }
        let ok = codes.len() <= 50 && codes.iter().all(|c| c.len() <= 20 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-'));
        if !ok {
            return Err(AppError::invalid("regions", "List region codes separated by commas, e.g. eu, us-east."));
        }
        Ok(Some(codes.join(",")))
    }

    /// The product `product` (key), its plan `plan` (key, newest version) and add-ons `addons` (keys).
    pub async fn catalog_choice(
        state: &AppState,
        product: &str,
        plan: &str,
        addons: &[String],
    ) -> Result<(i64, PlanRow, Vec<AddonRow>), AppError> {
        let products = state.store.list_products().await.map_err(|e| internal("list products", e))?;
        let (product_id, ..) = products
            .into_iter()
            .find(|(_, key, _)| key == product.trim())
            .ok_or_else(|| AppError::invalid("product", "There is no such product."))?;
        let plans = state.store.list_plans(product_id).await.map_err(|e| internal("list plans", e))?;
        let plan = plans
            .into_iter()
            .find(|p| p.key == plan.trim())
            .ok_or_else(|| AppError::invalid("plan", "There is no such plan for this product."))?;
        let all = state.store.list_addons(product_id).await.map_err(|e| internal("list addons", e))?;
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

/// Opens `customer`'s portal for vendor staff to see it as the customer does, read-only;
/// every opening is recorded in the audit log. Returns the customer's name. Vendor
/// admins and staff only. Errors: `NotFound` for an unknown customer.
#[server(prefix = "/api", endpoint = "view_as_customer")]
pub async fn view_as_customer(customer: String) -> Result<String, AppError> {
    use crate::ssr::{auth, from_store, internal, AppState};
    let user = auth::require_staff().await?;
    let state = AppState::current()?;
    let found = state.store.find_customer_by_slug(customer.trim()).await.map_err(|e| from_store("Customer", e))?;
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    state.store.record_view_as(&actor, found.id, crate::store::now()).await.map_err(|e| internal("record view", e))?;
    Ok(found.name)
}
