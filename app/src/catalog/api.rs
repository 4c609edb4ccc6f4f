//! The catalog for the vendor's console: read by vendor users, changed by vendor admins.

use std::collections::HashMap;

use leptos::prelude::*;

use super::{CatalogView, IssuedKey, KeysView};
use crate::error::AppError;

/// Every product with its features, plans (newest versions, with how many entitlements
/// are on them and on older ones, unless `counts` is false: a form that only offers the
/// plans need not count every entitlement), add-ons and approval rules. Vendor users only.
#[server(prefix = "/api", endpoint = "get_catalog")]
pub async fn get_catalog(counts: Option<bool>) -> Result<CatalogView, AppError> {
    use super::{AddonDef, FeatureDef, PlanVersion, ProductCatalog};
    use crate::ssr::auth::{Guard, Roles};
    let caller = Guard::new().role(Roles::VENDOR).caller().await?;
    let store = &caller.state.store;
    let rules = store.list_rules().await?;
    let with_counts = counts.unwrap_or(true);
    let mut products = Vec::new();
    for (id, key, name) in store.list_products().await? {
        let counts = if with_counts { store.plan_version_counts(id).await? } else { Default::default() };
        let features = store.list_features(id).await?;
        let plans = store.list_plans(id).await?;
        let addons = store.list_addons(id).await?;
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
                        offline_days: p.offline_days,
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
/// [`super::RULE_PRESETS`]; `custom` or none keeps the rule of the version before);
/// `offline_days` is how long a site may stay offline on a licence (30 when not given;
/// 0 = online only). Vendor admins only; audited with `reason`. Errors: `Invalid` on the field at fault.
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
    offline_days: Option<String>,
    features: Option<Vec<String>>,
    quotas: Option<HashMap<String, String>>,
    rules: Option<HashMap<String, String>>,
    reason: String,
) -> Result<i64, AppError> {
    use crate::ssr::auth::Caller;
    use crate::ssr::forms::{self, whole};
    use crate::store::catalog::changes::PlanDraft;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    let reason = forms::reason(&reason)?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let key = forms::key("key", &key)?;
    let name = ssr_catalog::name("name", &name)?;
    let known = state.store.list_features(product_id).await?;
    let quotas = quotas.unwrap_or_default();
    let mut chosen: Vec<(i64, Option<i64>, Option<String>)> = Vec::new();
    for f in features.unwrap_or_default() {
        let (id, fkey, metered, quota) = ssr_catalog::chosen_feature(&known, &f, &quotas)?;
        let rule = match forms::optional(rules.as_ref().and_then(|r| r.get(fkey)).map(String::as_str)).filter(|r| *r != "custom") {
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
        offline_days: match forms::optional(offline_days.as_deref()) {
            Some(days) => whole("offline_days", days, 3650)?,
            None => 30,
        },
        features: chosen,
    };
    let (_, version) = state.store.save_plan_version(&actor, product_id, &draft, reason.as_str(), crate::store::now()).await?;
    Ok(version)
}

/// Moves every entitlement on an older version of plan `plan` of `product` to its newest
/// version; returns how many customers moved. Vendor admins only; audited per
/// entitlement with `reason`; the next API check sees the new version.
#[server(prefix = "/api", endpoint = "move_plan_version")]
pub async fn move_plan_version(product: String, plan: String, reason: String) -> Result<usize, AppError> {
    use crate::ssr::auth::Caller;
    use crate::ssr::StoreResultExt;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    let reason = crate::ssr::forms::reason(&reason)?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let moved = state
        .store
        .move_to_newest_version(&actor, product_id, plan.trim(), reason.as_str(), crate::store::now())
        .await
        .or_not_found("Plan")?;
    Ok(moved.len())
}

/// Adds product `key` named `name`; its features, plans and add-ons follow. Vendor admins
/// only; audited with `reason`. Errors: `Invalid` on the field at fault, on `key` when
/// taken.
#[server(prefix = "/api", endpoint = "add_product")]
pub async fn add_product(key: String, name: String, reason: String) -> Result<(), AppError> {
    use crate::ssr::auth::Caller;
    use crate::ssr::forms;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    let reason = forms::reason(&reason)?;
    let key = forms::key("key", &key)?;
    let name = ssr_catalog::name("name", &name)?;
    state.store.add_product(&actor, &key, &name, reason.as_str(), crate::store::now()).await?;
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
    use crate::ssr::auth::Caller;
    use crate::ssr::forms;
    use crate::store::catalog::changes::NewFeature;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    let reason = forms::reason(&reason)?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let key = forms::key("key", &key)?;
    let name = ssr_catalog::name("name", &name)?;
    let metered = forms::checkbox(metered.as_deref());
    let unit = forms::optional(unit.as_deref()).filter(|_| metered);
    let f = NewFeature { key: &key, name: &name, metered, unit };
    state.store.add_feature(&actor, product_id, &f, reason.as_str(), crate::store::now()).await?;
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
    use crate::ssr::auth::Caller;
    use crate::ssr::forms;
    use crate::store::catalog::changes::NewAddon;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    let reason = forms::reason(&reason)?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let key = forms::key("key", &key)?;
    let name = ssr_catalog::name("name", &name)?;
    let seats = forms::whole("seats", &seats, 1_000_000)?;
    let instances = forms::whole("instances", &instances, 1_000_000)?;
    let known = state.store.list_features(product_id).await?;
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
    let a = NewAddon { key: &key, name: &name, seats, instances, features: chosen };
    state.store.add_catalog_addon(&actor, product_id, &a, reason.as_str(), crate::store::now()).await?;
    Ok(())
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
    use crate::ssr::auth::Caller;
    use crate::ssr::forms;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    let product_id = ssr_catalog::product_id(&state, &product).await?;
    let effect =
        RuleEffect::parse(effect.trim()).ok_or_else(|| AppError::invalid("effect", "Approve automatically, or ask for two approvals."))?;
    let kind = RequestKind::parse(kind.trim()).ok_or_else(|| AppError::invalid("kind", "Choose the kind of request."))?;
    let plan = forms::optional(plan.as_deref()).map(str::to_owned);
    if let Some(p) = &plan {
        let plans = state.store.list_plans(product_id).await?;
        if !plans.iter().any(|x| &x.key == p) {
            return Err(AppError::invalid("plan", "There is no such plan for this product."));
        }
    }
    let positive = |field: &str, raw: Option<String>| forms::number(field, raw.as_deref(), 1..=1_000_000, "A whole number from 1.");
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
    Ok(state.store.create_rule(&actor, &rule, crate::store::now()).await?)
}

/// Retires approval rule `id`: requests filed from now on no longer follow it. Vendor
/// admins only; audited. Errors: `NotFound` for an unknown or retired rule.
#[server(prefix = "/api", endpoint = "retire_rule")]
pub async fn retire_rule(id: i64) -> Result<(), AppError> {
    use crate::ssr::auth::Caller;
    use crate::ssr::StoreResultExt;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    state.store.retire_rule(&actor, id, crate::store::now()).await.or_not_found("Rule")
}

/// API keys (never the keys, only their first characters) and signing keys. Vendor
/// admins only.
#[server(prefix = "/api", endpoint = "get_keys")]
pub async fn get_keys() -> Result<KeysView, AppError> {
    use super::{ApiKeyView, SigningKeyView};
    let state = ssr_catalog::admin().await?.state;
    let api_keys = state.store.list_api_keys().await?;
    let signing = state.store.list_signing_key_rows().await?;
    Ok(KeysView {
        api_keys: api_keys
            .into_iter()
            .map(|k| ApiKeyView {
                id: k.id,
                product: k.product,
                name: k.name,
                prefix: k.prefix,
                scopes: k.scopes.names().into_iter().map(str::to_owned).collect(),
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

/// Creates an API key named `name` for `product` with the scopes ticked (`enforce`,
/// `provision`, `read`: a checkbox sent is on); the key is shown once, in the answer.
/// Vendor admins only; audited. Errors: `Invalid` on `product` or `name`, and on
/// `enforce` when no scope is ticked.
#[server(prefix = "/api", endpoint = "create_api_key")]
pub async fn create_api_key(
    product: String,
    name: String,
    enforce: Option<String>,
    provision: Option<String>,
    read: Option<String>,
) -> Result<IssuedKey, AppError> {
    let caller = ssr_catalog::admin().await?;
    let product_id = ssr_catalog::product_id(&caller.state, &product).await?;
    let name = ssr_catalog::name("name", &name)?;
    let scopes = ssr_catalog::scopes(enforce, provision, read)?;
    ssr_catalog::issue(&caller, product_id, name, scopes, None).await
}

/// Sets what live API key `id` may do (a checkbox sent is on). Vendor admins only;
/// audited. Errors: `NotFound` for an unknown or revoked key; `Invalid` on `enforce`
/// when no scope is ticked.
#[server(prefix = "/api", endpoint = "set_api_key_scopes")]
pub async fn set_api_key_scopes(id: i64, enforce: Option<String>, provision: Option<String>, read: Option<String>) -> Result<(), AppError> {
    use crate::ssr::StoreResultExt;
    let caller = ssr_catalog::admin().await?;
    let scopes = ssr_catalog::scopes(enforce, provision, read)?;
    caller.state.store.set_api_key_scopes(&caller.actor, id, scopes, crate::store::now()).await.or_not_found("API key")
}

/// Replaces API key `id` with a new one of the same name and product: the old key stops
/// working at once; the new one is shown once. Vendor admins only; audited. Errors:
/// `NotFound` for an unknown or revoked key.
#[server(prefix = "/api", endpoint = "rotate_api_key")]
pub async fn rotate_api_key(id: i64) -> Result<IssuedKey, AppError> {
    let caller = ssr_catalog::admin().await?;
    let keys = caller.state.store.list_api_keys().await?;
    let old = keys.into_iter().find(|k| k.id == id && k.revoked_at.is_none()).ok_or_else(|| AppError::NotFound("API key".into()))?;
    let products = caller.state.store.list_products().await?;
    let product_id = products
        .iter()
        .find(|(_, _, name)| *name == old.product)
        .map(|(id, ..)| *id)
        .ok_or_else(|| AppError::NotFound("Product".into()))?;
    ssr_catalog::issue(&caller, product_id, old.name, old.scopes, Some(id)).await
}

/// Revokes API key `id` at once. Vendor admins only; audited. Errors: `NotFound` for an
/// unknown or revoked key.
#[server(prefix = "/api", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    use crate::ssr::auth::Caller;
    use crate::ssr::StoreResultExt;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    state.store.revoke_api_key(&actor, id, crate::store::now()).await.or_not_found("API key")
}

/// Makes a new signing key the one that signs tokens; tokens signed before keep
/// verifying through the JWKS. Returns the new key's id. Vendor admins only; audited.
#[server(prefix = "/api", endpoint = "rotate_signing_key")]
pub async fn rotate_signing_key() -> Result<String, AppError> {
    use crate::ssr::auth::Caller;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    // Other replicas re-read the signing keys on the catalog notice this sends.
    Ok(state.tokens.rotate(&state.store, &actor).await?)
}

/// Retires signing key `kid`: it leaves the JWKS and tokens it signed stop verifying.
/// Vendor admins only; audited. Errors: `NotFound` for an unknown or retired key;
/// `Invalid` on `kid` for the key that signs now (rotate first).
#[server(prefix = "/api", endpoint = "retire_signing_key")]
pub async fn retire_signing_key(kid: String) -> Result<(), AppError> {
    use crate::ssr::auth::Caller;
    use crate::ssr::StoreResultExt;
    let Caller { state, actor, .. } = ssr_catalog::admin().await?;
    Ok(state.store.retire_signing_key(&actor, kid.trim(), crate::store::now()).await.or_not_found("Signing key")??)
}

#[cfg(feature = "ssr")]
mod ssr_catalog {
    use super::IssuedKey;
    use crate::error::AppError;
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::{AppState, StoreResultExt};
    use crate::store::keys::api_keys::Scopes;

    /// The signed-in vendor admin: only they change the catalog and the keys.
    /// `Unauthenticated` or `Forbidden` for anyone else.
    pub async fn admin() -> Result<Caller, AppError> {
        Guard::new().role(Roles::VENDOR_ADMIN).caller().await
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
        let quota = match crate::ssr::forms::optional(quotas.get(fkey).map(String::as_str)).filter(|_| *metered) {
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

    /// A catalog name (of a product, feature, plan, add-on or API key): trimmed, 1 to 80
    /// characters; `Invalid` on `field` otherwise.
    pub fn name(field: &str, raw: &str) -> Result<String, AppError> {
        crate::ssr::forms::text(field, raw, 80, "Enter a name of up to 80 characters.")
    }

    /// The id of the product with key `key`; `Invalid` on `product` when there is none.
    pub async fn product_id(state: &AppState, key: &str) -> Result<i64, AppError> {
        let products = state.store.list_products().await?;
        products
            .into_iter()
            .find(|(_, k, _)| k == key.trim())
            .map(|(id, ..)| id)
            .ok_or_else(|| AppError::invalid("product", "There is no such product."))
    }

    /// The scopes ticked in a form; `Invalid` on `enforce` when none is.
    pub fn scopes(enforce: Option<String>, provision: Option<String>, read: Option<String>) -> Result<Scopes, AppError> {
        use crate::ssr::forms::checkbox;
        let scopes =
            Scopes { enforce: checkbox(enforce.as_deref()), provision: checkbox(provision.as_deref()), read: checkbox(read.as_deref()) };
        if scopes.is_empty() {
            return Err(AppError::invalid("enforce", "Tick at least one scope."));
        }
        Ok(scopes)
    }

    /// Makes a new API key for `product_id` with `scopes` (revoking `replaces`), audited,
    /// and makes the enforcement API take it at once.
    pub async fn issue(
        caller: &Caller,
        product_id: i64,
        name: String,
        scopes: Scopes,
        replaces: Option<i64>,
    ) -> Result<IssuedKey, AppError> {
        let (token, _) = crate::ssr::new_token();
        let key = format!("tsk_{token}");
        caller
            .state
            .store
            .issue_api_key(&caller.actor, product_id, &name, &key, scopes, replaces, crate::store::now())
            .await
            .or_not_found("API key")?;
        Ok(IssuedKey { name, key })
    }
}
