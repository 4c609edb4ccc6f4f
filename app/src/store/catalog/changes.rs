//! The vendor admin's changes to the catalog: products, features, plans (a change makes a
//! new version; entitlements keep theirs until moved) and add-ons. Each is one
//! transaction with its audit event; the steps inside one also serve the seed.

use sqlx::Row;

use crate::engine::Requirement;
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::write::Write;
use crate::store::{flag, Store, StoreError};

/// A feature to create under a product.
#[derive(Debug, Clone)]
pub struct NewFeature<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub metered: bool,
    pub unit: Option<&'a str>,
}

/// A plan to create: its limits and, per feature key, an optional quota per period.
#[derive(Debug, Clone)]
pub struct NewPlan<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub rank: i64,
    pub seats: i64,
    pub instances: i64,
    pub trial_days: i64,
    pub grace_days: i64,
    /// (feature key, quota per `month` if metered, what the feature requires)
    pub features: Vec<(&'a str, Option<i64>, Requirement)>,
}

/// Creates a product; `Duplicate(Unique::ProductKey)` when its key is taken.
pub async fn create_product(tx: &mut Write<'_>, key: &str, name: &str, at: i64) -> Result<i64, StoreError> {
    let row = sqlx::query("INSERT INTO products (key, name, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(key)
        .bind(name)
        .bind(at)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("id")?)
}

/// Creates a feature of `product_id`; `Duplicate(Unique::FeatureKey)` when the product has
/// that key already.
pub async fn create_feature(tx: &mut Write<'_>, product_id: i64, f: &NewFeature<'_>) -> Result<i64, StoreError> {
    let row = sqlx::query("INSERT INTO features (product_id, key, name, metered, unit) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(product_id)
        .bind(f.key)
        .bind(f.name)
        .bind(i64::from(f.metered))
        .bind(f.unit)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("id")?)
}

/// Creates a plan of `product_id` with its features; `NotFound` when a feature key is
/// not one of the product's.
pub async fn create_plan(tx: &mut Write<'_>, product_id: i64, p: &NewPlan<'_>, at: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO plans (product_id, key, name, rank, seats, instances, trial_days, grace_days, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(product_id)
    .bind(p.key)
    .bind(p.name)
    .bind(p.rank)
    .bind(p.seats)
    .bind(p.instances)
    .bind(p.trial_days)
    .bind(p.grace_days)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    let plan_id: i64 = row.try_get("id")?;
    for (key, quota, rule) in &p.features {
        let period = quota.map(|_| "month");
        let rule = serde_json::to_string(rule).map_err(|e| StoreError::Db(sqlx::Error::Encode(e.into())))?;
        let done = sqlx::query(
            "INSERT INTO plan_features (plan_id, feature_id, quota, quota_period, rule)
             SELECT $1, id, $2, $3, $4 FROM features WHERE product_id = $5 AND key = $6",
        )
        .bind(plan_id)
        .bind(*quota)
        .bind(period)
        .bind(rule)
        .bind(product_id)
        .bind(*key)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(plan_id)
}

/// An add-on to create: extra seats and instances, and features with an optional quota
/// per month that add to the plan's.
#[derive(Debug, Clone)]
pub struct NewAddon<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub seats: i64,
    pub instances: i64,
    /// (feature key, quota per `month` if metered, what the feature requires)
    pub features: Vec<(&'a str, Option<i64>, Requirement)>,
}

/// Creates an add-on of `product_id`; `Duplicate(Unique::AddonKey)` when the key is taken,
/// `NotFound` when a feature key is not one of the product's.
pub async fn create_addon(tx: &mut Write<'_>, product_id: i64, a: &NewAddon<'_>, at: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO addons (product_id, key, name, seats, instances, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(product_id)
    .bind(a.key)
    .bind(a.name)
    .bind(a.seats)
    .bind(a.instances)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    let addon_id: i64 = row.try_get("id")?;
    for (key, quota, rule) in &a.features {
        let rule = serde_json::to_string(rule).map_err(|e| StoreError::Db(sqlx::Error::Encode(e.into())))?;
        let done = sqlx::query(
            "INSERT INTO addon_features (addon_id, feature_id, quota, quota_period, rule)
             SELECT $1, id, $2, $3, $4 FROM features WHERE product_id = $5 AND key = $6",
        )
        .bind(addon_id)
        .bind(*quota)
        .bind(quota.map(|_| "month"))
        .bind(rule)
        .bind(product_id)
        .bind(*key)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(addon_id)
}

/// A plan as a vendor admin saves it: a new plan, or the next version of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDraft {
    pub key: String,
    pub name: String,
    pub rank: i64,
    pub seats: i64,
    pub instances: i64,
    pub trial_days: i64,
    pub grace_days: i64,
    /// How long a site may stay offline on an offline licence; 0 = online only.
    pub offline_days: i64,
    /// (feature id, monthly quota for a metered feature, the rule as JSON: `None` keeps
    /// the rule of the version before, or the default for a new feature)
    pub features: Vec<(i64, Option<i64>, Option<String>)>,
}

/// What a plan feature requires when no earlier version said: quota left for a metered
/// feature, a seated user or a live instance otherwise.
fn default_rule(metered: bool) -> Requirement {
    if metered {
        Requirement::Quota
    } else {
        Requirement::Any(vec![Requirement::Seat, Requirement::Instance])
    }
}

impl Store {
    /// Saves `draft` as version 1 of a new plan of `product_id`, or as the next version
    /// of the plan with its key. Each feature keeps the rule it had in the version before
    /// (a default one when new). Audited; returns (plan id, version). `NotFound` when a
    /// feature is not the product's.
    pub async fn save_plan_version(
        &self,
        actor: &Actor,
        product_id: i64,
        draft: &PlanDraft,
        reason: &str,
        now: i64,
    ) -> Result<(i64, i64), StoreError> {
        let mut tx = self.begin_write().await?;
        let previous = sqlx::query(
            "SELECT id, version, name, seats, instances, rank FROM plans WHERE product_id = $1 AND key = $2 ORDER BY version DESC LIMIT 1",
        )
        .bind(product_id)
        .bind(&draft.key)
        .fetch_optional(&mut *tx)
        .await?;
        let (previous_id, version) = match &previous {
            Some(p) => (Some(p.try_get::<i64, _>("id")?), p.try_get::<i64, _>("version")? + 1),
            None => (None, 1),
        };
        let plan_id: i64 = sqlx::query_scalar(
            "INSERT INTO plans (product_id, key, name, version, rank, seats, instances, trial_days, grace_days, offline_days, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(product_id)
        .bind(&draft.key)
        .bind(&draft.name)
        .bind(version)
        .bind(draft.rank)
        .bind(draft.seats)
        .bind(draft.instances)
        .bind(draft.trial_days)
        .bind(draft.grace_days)
        .bind(draft.offline_days)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (feature, quota, chosen_rule) in &draft.features {
            let f = sqlx::query("SELECT metered FROM features WHERE id = $1 AND product_id = $2")
                .bind(feature)
                .bind(product_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(f) = f else {
                return tx.roll_back(Err(StoreError::NotFound)).await;
            };
            let metered = flag(&f, "metered")?;
            let kept: Option<String> = match previous_id {
                Some(p) => {
                    sqlx::query_scalar("SELECT rule FROM plan_features WHERE plan_id = $1 AND feature_id = $2")
                        .bind(p)
                        .bind(feature)
                        .fetch_optional(&mut *tx)
                        .await?
                }
                None => None,
            };
            let rule = match chosen_rule.clone().or(kept) {
                Some(r) => r,
                None => serde_json::to_string(&default_rule(metered)).map_err(|e| StoreError::Db(sqlx::Error::Encode(e.into())))?,
            };
            let quota = if metered { *quota } else { None };
            sqlx::query("INSERT INTO plan_features (plan_id, feature_id, quota, quota_period, rule) VALUES ($1, $2, $3, $4, $5)")
                .bind(plan_id)
                .bind(feature)
                .bind(quota)
                .bind(quota.map(|_| "month"))
                .bind(rule)
                .execute(&mut *tx)
                .await?;
        }
        let before = match &previous {
            Some(p) => Some(serde_json::json!({
                "version": version - 1, "name": p.try_get::<String, _>("name")?, "rank": p.try_get::<i64, _>("rank")?,
                "seats": p.try_get::<i64, _>("seats")?, "instances": p.try_get::<i64, _>("instances")?,
            })),
            None => None,
        };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::CatalogPlanSaved,
                subject: format!("plan:{}", draft.key),
                before,
                after: Some(serde_json::json!({
                    "version": version, "name": draft.name, "rank": draft.rank, "seats": draft.seats, "instances": draft.instances,
                    "trial_days": draft.trial_days, "grace_days": draft.grace_days,
                    "features": draft.features.iter().map(|(f, q, r)| serde_json::json!({ "feature": f, "quota": q, "rule": r })).collect::<Vec<_>>(),
                    "reason": reason,
                })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((plan_id, version))
    }

    /// Adds product `key` named `name`, audited; `Duplicate(Unique::ProductKey)` when the
    /// key is taken.
    pub async fn add_product(&self, actor: &Actor, key: &str, name: &str, reason: &str, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = match create_product(&mut tx, key, name, now).await {
            Ok(id) => id,
            Err(e) => return tx.roll_back(Err(e)).await,
        };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::CatalogProductAdded,
                subject: format!("product:{key}"),
                before: None,
                after: Some(serde_json::json!({ "key": key, "name": name, "reason": reason })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds feature `f` to `product_id`, audited; `Duplicate(Unique::FeatureKey)` when the
    /// product has the key already.
    pub async fn add_feature(&self, actor: &Actor, product_id: i64, f: &NewFeature<'_>, reason: &str, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = match create_feature(&mut tx, product_id, f).await {
            Ok(id) => id,
            Err(e) => return tx.roll_back(Err(e)).await,
        };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::CatalogFeatureAdded,
                subject: format!("feature:{}", f.key),
                before: None,
                after: Some(serde_json::json!({ "product": product_id, "key": f.key, "name": f.name, "metered": f.metered, "unit": f.unit, "reason": reason })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds add-on `a` to `product_id` (its features with default rules), audited;
    /// `Duplicate(Unique::AddonKey)` when the key is taken, `NotFound` for a feature not the
    /// product's.
    pub async fn add_catalog_addon(
        &self,
        actor: &Actor,
        product_id: i64,
        a: &NewAddon<'_>,
        reason: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = match create_addon(&mut tx, product_id, a, now).await {
            Ok(id) => id,
            Err(e) => return tx.roll_back(Err(e)).await,
        };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::CatalogAddonAdded,
                subject: format!("addon:{}", a.key),
                before: None,
                after: Some(serde_json::json!({
                    "product": product_id, "key": a.key, "name": a.name, "seats": a.seats, "instances": a.instances,
                    "features": a.features.iter().map(|(k, q, _)| serde_json::json!({ "feature": k, "quota": q })).collect::<Vec<_>>(),
                    "reason": reason,
                })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}
