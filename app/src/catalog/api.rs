//! The catalog for the vendor's console: read by vendor users, changed by vendor admins.

use std::collections::HashMap;

use leptos::prelude::*;

use super::{CatalogView, IssuedKey, KeysView};
use crate::error::AppError;

/// Every product with its features, plans (newest versions, with how many entitlements
/// are on them and on older ones), add-ons and approval rules. Vendor users only.
#[server(prefix = "/api", endpoint = "get_catalog")]
pub async fn get_catalog() -> Result<CatalogView, AppError> {
    use super::{AddonDef, FeatureDef, PlanVersion, ProductCatalog};
    use crate::ssr::{auth, internal, AppState};
    auth::require_vendor().await?;
    let state = AppState::current()?;
    let store = &state.store;
    let fail = |e| internal("catalog", e);
    let rules = store.list_rules().await.map_err(fail)?;
    let mut products = Vec::new();
    for (id, key, name) in store.list_products().await.map_err(fail)? {
        let counts = store.plan_version_counts(id).await.map_err(fail)?;
        let features = store.list_features(id).await.map_err(fail)?;
        let plans = store.list_plans(id).await.map_err(fail)?;
        let addons = store.list_addons(id).await.map_err(fail)?;
        products.push(ProductCatalog {
            id,
            key,
            name,
            features: features.into_iter().map(|(_, key, name, metered, unit)| FeatureDef { key, name, metered, unit }).collect(),
            plans: plans
                .into_iter()
                .map(|p| {
                    let (on_this_version, on_older_versions) = counts.get(&p.key).copied().unwrap_or_default();
                    PlanVersion {
                        features: p.features.iter().map(|f| f.grant()).collect(),
                        rules: p
                            .features
                            .iter()
                            .map(|f| (f.key.clone(), super::preset_of(&f.rule).unwrap_or("custom").to_owned()))
                            .collect(),
                        key: p.key,
                        name: p.name,
                        version: p.version,
                        rank: p.rank,
                        seats: p.seats,
                        instances: p.instances,
                        trial_days: p.trial_days,
                        grace_days: p.grace_days,
                        on_this_version,
                        on_older_versions,
                    }
                })
                .collect(),
            addons: addons
                .into_iter()
                .map(|a| AddonDef {
                    features: a.features.iter().map(|f| f.grant()).collect(),
                    key: a.key,
                    name: a.name,
                    seats: a.seats,
                    instances: a.instances,
                })
                .collect(),
            rules: rules.iter().filter(|r| r.product_id == id).cloned().collect(),
        });
    }
    Ok(CatalogView { products })
}

/// Saves plan `key` of `product`: version 1 of a new plan, or the next version of an
/// existing one (entitlements stay on their version until moved). `features` lists the
/// feature keys it grants; `quotas` maps metered feature keys to a monthly quota (none =
/// unlimited); `rules` maps feature keys to what each requires (a preset of
/// [`super::RULE_PRESETS`]; `custom` or none keeps the rule of the version before).
/// Vendor admins only; audited with `reason`. Errors: `Invalid` on the field at fault.
#[server(prefix = "/api", endpoint = "save_plan")]
#[allow(clippy::too_many_arguments)]
pub async fn save_plan(
    product: String,
    key: String,
    name: String,
    rank: String,
    seats: String,
    instances: String,
    trial_days: String,
    grace_days: String,
    features: Option<Vec<String>>,
    quotas: Option<HashMap<String, String>>,
    rules: Option<HashMap<String, String>>,
    reason: String,
) -> Result<i64, AppError> {
    use crate::store::catalog_admin::PlanDraft;
    let (user, state) = ssr_catalog::require_admin().await?;
    let reason = ssr_catalog::reason(&reason)?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let key = ssr_catalog::key("key", &key)?;
    let name = ssr_catalog::name("name", &name)?;
    let whole = |field: &str, raw: &str, hi: i64| ssr_catalog::whole(field, raw, hi);
    let known = state.store.list_features(product_id).await.map_err(|e| crate::ssr::internal("features", e))?;
    let quotas = quotas.unwrap_or_default();
    let mut chosen: Vec<(i64, Option<i64>, Option<String>)> = Vec::new();
    for f in features.unwrap_or_default() {
        let (id, fkey, metered, quota) = ssr_catalog::chosen_feature(&known, &f, &quotas)?;
        let rule = match rules.as_ref().and_then(|r| r.get(fkey)).map(|r| r.trim()).filter(|r| !r.is_empty() && *r != "custom") {
            Some(name) => {
                let rule = super::preset_rule(name).ok_or_else(|| AppError::invalid("rules", format!("There is no rule {name}.")))?;
                if rule == crate::engine::Requirement::Quota && !metered {
                    return Err(AppError::invalid("rules", format!("{fkey} is not metered: it has no quota to require.")));
                }
                Some(serde_json::to_string(&rule).map_err(|e| crate::ssr::internal("rule", e))?)
            }
            None => None,
        };
        if !chosen.iter().any(|(c, ..)| *c == id) {
            chosen.push((id, quota, rule));
        }
    }
    let draft = PlanDraft {
        key,
        name,
        rank: whole("rank", &rank, 1_000)?,
        seats: whole("seats", &seats, 1_000_000)?,
        instances: whole("instances", &instances, 1_000_000)?,
        trial_days: whole("trial_days", &trial_days, 365)?,
        grace_days: whole("grace_days", &grace_days, 365)?,
        features: chosen,
    };
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    let (_, version) = state
        .store
        .save_plan_version(&actor, product_id, &draft, &reason, crate::store::now())
        .await
        .map_err(|e| crate::ssr::internal("save plan", e))?;
    Ok(version)
}

/// Moves every entitlement on an older version of plan `plan` of `product` to its newest
/// version; returns how many customers moved. Vendor admins only; audited per
/// entitlement with `reason`; the next API check sees the new version.
#[server(prefix = "/api", endpoint = "move_plan_version")]
pub async fn move_plan_version(product: String, plan: String, reason: String) -> Result<usize, AppError> {
    let (user, state) = ssr_catalog::require_admin().await?;
    let reason = ssr_catalog::reason(&reason)?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    let moved = state
        .store
        .move_to_newest_version(&actor, product_id, plan.trim(), &reason, crate::store::now())
        .await
        .map_err(|e| crate::ssr::from_store("Plan", e))?;
    Ok(moved.len())
}

/// Adds product `key` named `name`; its features, plans and add-ons follow. Vendor admins
/// only; audited with `reason`. Errors: `Invalid` on the field at fault, on `key` when
/// taken.
#[server(prefix = "/api", endpoint = "add_product")]
pub async fn add_product(key: String, name: String, reason: String) -> Result<(), AppError> {
    use crate::store::StoreError;
    let (user, state) = ssr_catalog::require_admin().await?;
    let reason = ssr_catalog::reason(&reason)?;
    let key = ssr_catalog::key("key", &key)?;
    let name = ssr_catalog::name("name", &name)?;
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    match state.store.add_product(&actor, &key, &name, &reason, crate::store::now()).await {
        Ok(_) => {}
        Err(StoreError::Conflict { .. }) => return Err(AppError::invalid("key", "A product has this key already.")),
        Err(e) => return Err(crate::ssr::internal("add product", e)),
    }
    Ok(())
}

/// Adds feature `key` (`name`; `metered` counts usage in `unit`) to `product`. Vendor
/// admins only; audited with `reason`. Errors: `Invalid` on the field at fault, on `key`
/// when the product has it already.
#[server(prefix = "/api", endpoint = "add_feature")]
pub async fn add_feature(
    product: String,
    key: String,
    name: String,
    metered: Option<String>,
    unit: Option<String>,
    reason: String,
) -> Result<(), AppError> {
    use crate::store::catalog::NewFeature;
    use crate::store::StoreError;
    let (user, state) = ssr_catalog::require_admin().await?;
    let reason = ssr_catalog::reason(&reason)?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let key = ssr_catalog::key("key", &key)?;
    let name = ssr_catalog::name("name", &name)?;
    let metered = metered.is_some_and(|v| matches!(v.as_str(), "on" | "true" | "1"));
    let unit = unit.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty() && metered);
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    let f = NewFeature { key: &key, name: &name, metered, unit: unit.as_deref() };
    match state.store.add_feature(&actor, product_id, &f, &reason, crate::store::now()).await {
        Ok(_) => {}
        Err(StoreError::Conflict { .. }) => return Err(AppError::invalid("key", "This product has a feature with this key already.")),
        Err(e) => return Err(crate::ssr::internal("add feature", e)),
    }
    Ok(())
}

/// Adds add-on `key` to `product`: extra `seats` and `instances`, and `features` (keys)
/// with monthly `quotas` for metered ones that add to the plan's. Vendor admins only;
/// audited with `reason`. Errors: `Invalid` on the field at fault, on `key` when taken.
#[server(prefix = "/api", endpoint = "add_addon")]
#[allow(clippy::too_many_arguments)]
pub async fn add_addon(
    product: String,
    key: String,
    name: String,
    seats: String,
    instances: String,
    features: Option<Vec<String>>,
    quotas: Option<HashMap<String, String>>,
    reason: String,
) -> Result<(), AppError> {
    use crate::engine::Requirement;
    use crate::store::catalog::NewAddon;
    use crate::store::StoreError;
    let (user, state) = ssr_catalog::require_admin().await?;
    let reason = ssr_catalog::reason(&reason)?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let key = ssr_catalog::key("key", &key)?;
    let name = ssr_catalog::name("name", &name)?;
    let seats = ssr_catalog::whole("seats", &seats, 1_000_000)?;
    let instances = ssr_catalog::whole("instances", &instances, 1_000_000)?;
    let known = state.store.list_features(product_id).await.map_err(|e| crate::ssr::internal("features", e))?;
    let quotas = quotas.unwrap_or_default();
    let mut chosen: Vec<(&str, Option<i64>, Requirement)> = Vec::new();
    for f in features.as_deref().unwrap_or_default() {
        let (_, fkey, metered, quota) = ssr_catalog::chosen_feature(&known, f, &quotas)?;
        let rule = if metered { Requirement::Quota } else { Requirement::Any(vec![Requirement::Seat, Requirement::Instance]) };
        if !chosen.iter().any(|(k, ..)| *k == fkey) {
            chosen.push((fkey, quota, rule));
        }
    }
    if chosen.is_empty() && seats == 0 && instances == 0 {
        return Err(AppError::invalid("features", "An add-on brings at least a feature, seats or instances."));
    }
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    let a = NewAddon { key: &key, name: &name, seats, instances, features: chosen };
    match state.store.add_catalog_addon(&actor, product_id, &a, &reason, crate::store::now()).await {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict { .. }) => Err(AppError::invalid("key", "This product has an add-on with this key already.")),
        Err(e) => Err(crate::ssr::internal("add addon", e)),
    }
}

/// Adds an approval rule to `product`: requests of `kind` (on plan `plan` only, when
/// given) asking for `min_seats`–`max_seats` seats or moving at least `min_rank_jump`
/// tiers, where given, are approved automatically (`effect` = `auto_approve`) or need
/// two approvals (`two_approvals`). Applies to requests filed from now on. Vendor admins
/// only; audited. Errors: `Invalid` on the field at fault.
#[server(prefix = "/api", endpoint = "add_rule")]
#[allow(clippy::too_many_arguments)]
pub async fn add_rule(
    product: String,
    effect: String,
    kind: String,
    plan: Option<String>,
    min_seats: Option<String>,
    max_seats: Option<String>,
    min_rank_jump: Option<String>,
) -> Result<i64, AppError> {
    use super::{ApprovalRule, RuleEffect};
    use crate::requests::RequestKind;
    let (user, state) = ssr_catalog::require_admin().await?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let effect =
        RuleEffect::parse(effect.trim()).ok_or_else(|| AppError::invalid("effect", "Approve automatically, or ask for two approvals."))?;
    let kind = RequestKind::parse(kind.trim()).ok_or_else(|| AppError::invalid("kind", "Choose the kind of request."))?;
    let plan = plan.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
    if let Some(p) = &plan {
        let plans = state.store.list_plans(product_id).await.map_err(|e| crate::ssr::internal("plans", e))?;
        if !plans.iter().any(|x| &x.key == p) {
            return Err(AppError::invalid("plan", "There is no such plan for this product."));
        }
    }
    let positive = |field: &str, raw: Option<String>| -> Result<Option<i64>, AppError> {
        match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .map(Some)
                .ok_or_else(|| AppError::invalid(field, "A whole number from 1.")),
        }
    };
    let rule = ApprovalRule {
        id: 0,
        product_id,
        effect,
        kind,
        plan_key: plan,
        min_seats: positive("min_seats", min_seats)?,
        max_seats: positive("max_seats", max_seats)?,
        min_rank_jump: positive("min_rank_jump", min_rank_jump)?,
    };
    if rule.min_seats.zip(rule.max_seats).is_some_and(|(lo, hi)| lo > hi) {
        return Err(AppError::invalid("max_seats", "The most seats cannot be fewer than the fewest."));
    }
    if kind != RequestKind::Seats && (rule.min_seats.is_some() || rule.max_seats.is_some()) {
        return Err(AppError::invalid("kind", "Seat bounds only apply to requests for more seats."));
    }
    if kind != RequestKind::Plan && rule.min_rank_jump.is_some() {
        return Err(AppError::invalid("kind", "A tier jump only applies to plan changes."));
    }
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    state.store.create_rule(&actor, &rule, crate::store::now()).await.map_err(|e| crate::ssr::internal("add rule", e))
}

/// Retires approval rule `id`: requests filed from now on no longer follow it. Vendor
/// admins only; audited. Errors: `NotFound` for an unknown or retired rule.
#[server(prefix = "/api", endpoint = "retire_rule")]
pub async fn retire_rule(id: i64) -> Result<(), AppError> {
    let (user, state) = ssr_catalog::require_admin().await?;
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    state.store.retire_rule(&actor, id, crate::store::now()).await.map_err(|e| crate::ssr::from_store("Rule", e))
}

/// API keys (never the keys, only their first characters) and signing keys. Vendor
/// admins only.
#[server(prefix = "/api", endpoint = "get_keys")]
pub async fn get_keys() -> Result<KeysView, AppError> {
    use super::{ApiKeyView, SigningKeyView};
    let (_, state) = ssr_catalog::require_admin().await?;
    let fail = |e| crate::ssr::internal("keys", e);
    let api_keys = state.store.list_api_keys().await.map_err(fail)?;
    let signing = state.store.list_signing_key_rows().await.map_err(fail)?;
    Ok(KeysView {
        api_keys: api_keys
            .into_iter()
            .map(|k| ApiKeyView {
                id: k.id,
                product: k.product,
                name: k.name,
                prefix: k.prefix,
                created_at: k.created_at,
                revoked_at: k.revoked_at,
            })
            .collect(),
        signing_keys: signing
            .into_iter()
            .map(|k| SigningKeyView { kid: k.kid, created_at: k.created_at, active: k.active, retired_at: k.retired_at })
            .collect(),
    })
}

/// Creates an API key named `name` for `product`; the key is shown once, in the answer.
/// Vendor admins only; audited. Errors: `Invalid` on `product` or `name`.
#[server(prefix = "/api", endpoint = "create_api_key")]
pub async fn create_api_key(product: String, name: String) -> Result<IssuedKey, AppError> {
    let (user, state) = ssr_catalog::require_admin().await?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let name = ssr_catalog::name("name", &name)?;
    ssr_catalog::issue(&state, &user, product_id, name, None).await
}

/// Replaces API key `id` with a new one of the same name and product: the old key stops
/// working at once; the new one is shown once. Vendor admins only; audited. Errors:
/// `NotFound` for an unknown or revoked key.
#[server(prefix = "/api", endpoint = "rotate_api_key")]
pub async fn rotate_api_key(id: i64) -> Result<IssuedKey, AppError> {
    let (user, state) = ssr_catalog::require_admin().await?;
    let keys = state.store.list_api_keys().await.map_err(|e| crate::ssr::internal("keys", e))?;
    let old = keys.into_iter().find(|k| k.id == id && k.revoked_at.is_none()).ok_or_else(|| AppError::NotFound("API key".into()))?;
    let products = state.store.list_products().await.map_err(|e| crate::ssr::internal("products", e))?;
    let product_id = products
        .iter()
        .find(|(_, _, name)| *name == old.product)
        .map(|(id, ..)| *id)
        .ok_or_else(|| AppError::NotFound("Product".into()))?;
    ssr_catalog::issue(&state, &user, product_id, old.name, Some(id)).await
}

/// Revokes API key `id` at once. Vendor admins only; audited. Errors: `NotFound` for an
/// unknown or revoked key.
#[server(prefix = "/api", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    let (user, state) = ssr_catalog::require_admin().await?;
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    state.store.revoke_api_key(&actor, id, crate::store::now()).await.map_err(|e| crate::ssr::from_store("API key", e))?;
    Ok(())
}

/// Makes a new signing key the one that signs tokens; tokens signed before keep
/// verifying through the JWKS. Returns the new key's id. Vendor admins only; audited.
#[server(prefix = "/api", endpoint = "rotate_signing_key")]
pub async fn rotate_signing_key() -> Result<String, AppError> {
    let (user, state) = ssr_catalog::require_admin().await?;
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    let kid = state.tokens.rotate(&state.store, &actor).await.map_err(|e| crate::ssr::internal("rotate signing key", e))?;
    // Other replicas re-read the signing keys on the catalog notice this sends.
    Ok(kid)
}

/// Retires signing key `kid`: it leaves the JWKS and tokens it signed stop verifying.
/// Vendor admins only; audited. Errors: `NotFound` for an unknown or retired key;
/// `Invalid` on `kid` for the key that signs now (rotate first).
#[server(prefix = "/api", endpoint = "retire_signing_key")]
pub async fn retire_signing_key(kid: String) -> Result<(), AppError> {
    use crate::store::StoreError;
    let (user, state) = ssr_catalog::require_admin().await?;
    let actor = crate::store::audit::Actor::user(user.id, &user.email);
    match state.store.retire_signing_key(&actor, kid.trim(), crate::store::now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => return Err(AppError::invalid("kid", "This key signs tokens now: rotate to a new key first.")),
        Err(e) => return Err(crate::ssr::from_store("Signing key", e)),
    }
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr_catalog {
    use super::IssuedKey;
    use crate::auth::CurrentUser;
    use crate::error::AppError;
    use crate::ssr::{auth, internal, AppState};

    pub async fn require_admin() -> Result<(CurrentUser, AppState), AppError> {
        let user = auth::require_vendor_admin().await?;
        Ok((user, AppState::current()?))
    }

    /// The product's feature named `key` in a form, as (id, key, metered, its monthly quota
    /// from `quotas` when metered; none = unlimited). `Invalid` for an unknown feature or a
    /// quota that is not a whole number.
    pub fn chosen_feature<'k>(
        known: &'k [(i64, String, String, bool, Option<String>)],
        key: &str,
        quotas: &std::collections::HashMap<String, String>,
    ) -> Result<(i64, &'k str, bool, Option<i64>), AppError> {
        let (id, fkey, _, metered, _) =
            known.iter().find(|k| k.1 == key.trim()).ok_or_else(|| AppError::invalid("features", format!("There is no feature {key}.")))?;
        let quota = match quotas.get(fkey).map(|q| q.trim()).filter(|q| !q.is_empty() && *metered) {
            Some(q) => Some(
                q.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| AppError::invalid("quotas", format!("The quota of {fkey} is a whole number.")))?,
            ),
            None => None,
        };
        Ok((*id, fkey.as_str(), *metered, quota))
    }

    pub fn reason(raw: &str) -> Result<String, AppError> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > 500 {
            return Err(AppError::invalid("reason", "Give the reason (up to 500 characters); it goes into the audit log."));
        }
        Ok(t.to_owned())
    }

    /// A catalog key: lower-case letters, digits, dots and dashes, 1–40 long.
    pub fn key(field: &str, raw: &str) -> Result<String, AppError> {
        let k = raw.trim();
        let ok = (1..=40).contains(&k.len()) && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if ok {
            Ok(k.to_owned())
        } else {
            Err(AppError::invalid(field, "Use 1 to 40 lower-case letters, digits, dots and dashes."))
        }
    }

    pub fn name(field: &str, raw: &str) -> Result<String, AppError> {
        let n = raw.trim();
        if n.is_empty() || n.chars().count() > 80 {
            return Err(AppError::invalid(field, "Enter a name of up to 80 characters."));
        }
        Ok(n.to_owned())
    }

    pub fn whole(field: &str, raw: &str, hi: i64) -> Result<i64, AppError> {
        raw.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=hi).contains(n))
            .ok_or_else(|| AppError::invalid(field, format!("A whole number from 0 to {hi}.")))
    }

    pub async fn product_id(state: &AppState, key: &str) -> Result<i64, AppError> {
        let products = state.store.list_products().await.map_err(|e| internal("products", e))?;
        products
            .into_iter()
            .find(|(_, k, _)| k == key.trim())
            .map(|(id, ..)| id)
            .ok_or_else(|| AppError::invalid("product", "There is no such product."))
    }

    /// Makes a new API key for `product_id` (revoking `replaces`), audited, and makes the
    /// enforcement API take it at once.
    pub async fn issue(
        state: &AppState,
        user: &CurrentUser,
        product_id: i64,
        name: String,
        replaces: Option<i64>,
    ) -> Result<IssuedKey, AppError> {
        let (token, _) = crate::ssr::new_token();
        let key = format!("tsk_{token}");
        let actor = crate::store::audit::Actor::user(user.id, &user.email);
        state
            .store
            .issue_api_key(&actor, product_id, &name, &key, replaces, crate::store::now())
            .await
            .map_err(|e| crate::ssr::from_store("API key", e))?;
        Ok(IssuedKey { name, key })
    }
}
