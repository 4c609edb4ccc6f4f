//! The catalog that entitlements point into: products, their features, plans (in their
//! versions) and add-ons, as the portal and enforcement read them. The vendor admin's
//! changes to it are in [`changes`].

pub mod changes;

use std::collections::HashMap;

use sqlx::Row;

use super::write::Write;
use super::StoreError;
use crate::engine::FeatureGrant;

/// The id of the newest version of plan `key` of product `product_id`.
pub async fn find_plan_id(tx: &mut Write<'_>, product_id: i64, key: &str) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT id FROM plans WHERE product_id = $1 AND key = $2 ORDER BY version DESC LIMIT 1")
        .bind(product_id)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(row.try_get("id")?)
}

impl super::Store {
    /// Product key → (feature key → feature id).
    pub async fn list_feature_keys(&self) -> Result<HashMap<String, HashMap<String, i64>>, StoreError> {
        let rows = sqlx::query("SELECT p.key AS product, f.key, f.id FROM features f JOIN products p ON p.id = f.product_id")
            .fetch_all(self.pool())
            .await?;
        let mut out: HashMap<String, HashMap<String, i64>> = HashMap::new();
        for r in rows {
            out.entry(r.try_get("product")?).or_default().insert(r.try_get("key")?, r.try_get("id")?);
        }
        Ok(out)
    }
}

/// A feature as an entitlement has it, from its plan, its add-ons, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedFeature {
    pub feature_id: i64,
    pub key: String,
    pub name: String,
    pub unit: Option<String>,
    /// Counted in usage events.
    pub metered: bool,
    /// Units per period; `None` for unmetered use.
    pub quota: Option<i64>,
    pub quota_period: Option<String>,
    /// The rule as stored (JSON, see `engine::rules`).
    pub rule: String,
}

impl GrantedFeature {
    /// What the portal shows of it.
    pub fn grant(&self) -> FeatureGrant {
        FeatureGrant { key: self.key.clone(), name: self.name.clone(), quota: self.quota, quota_period: self.quota_period.clone() }
    }

    /// Adds what an add-on brings to what the entitlement has: quotas add up; an
    /// unlimited feature stays unlimited.
    fn merge(&mut self, addon: GrantedFeature) {
        if let (Some(q), Some(extra)) = (self.quota, addon.quota) {
            self.quota = Some(q.saturating_add(extra));
        }
    }
}

fn granted(r: &sqlx::any::AnyRow) -> Result<GrantedFeature, sqlx::Error> {
    Ok(GrantedFeature {
        feature_id: r.try_get("feature_id")?,
        key: r.try_get("key")?,
        name: r.try_get("name")?,
        unit: r.try_get("unit")?,
        metered: super::flag(r, "metered")?,
        quota: r.try_get("quota")?,
        quota_period: r.try_get("quota_period")?,
        rule: r.try_get("rule")?,
    })
}

/// The features among `rows` whose `owner` column (a plan or add-on id) is `id`.
fn features_of(rows: &[sqlx::any::AnyRow], owner: &str, id: i64) -> Result<Vec<GrantedFeature>, sqlx::Error> {
    rows.iter().filter(|f| f.try_get::<i64, _>(owner).ok() == Some(id)).map(granted).collect()
}

/// Every feature of every entitlement of customer `customer_id`: entitlement id →
/// (feature id → feature), plan and add-ons merged.
pub async fn entitlement_features(
    pool: &sqlx::AnyPool,
    customer_id: i64,
) -> Result<HashMap<i64, std::collections::BTreeMap<i64, GrantedFeature>>, StoreError> {
    let rows = sqlx::query(
        "SELECT e.id AS entitlement_id, f.id AS feature_id, f.key, f.name, f.unit, f.metered, pf.quota, pf.quota_period, pf.rule, 0 AS from_addon
         FROM entitlements e JOIN plan_features pf ON pf.plan_id = e.plan_id JOIN features f ON f.id = pf.feature_id
         WHERE e.customer_id = $1
         UNION ALL
         SELECT e.id, f.id, f.key, f.name, f.unit, f.metered, af.quota, af.quota_period, af.rule, 1
         FROM entitlement_addons ea JOIN entitlements e ON e.id = ea.entitlement_id
         JOIN addon_features af ON af.addon_id = ea.addon_id JOIN features f ON f.id = af.feature_id
         WHERE e.customer_id = $1
         ORDER BY 10, 2",
    )
    .bind(customer_id)
    .fetch_all(pool)
    .await?;
    let mut out: HashMap<i64, std::collections::BTreeMap<i64, GrantedFeature>> = HashMap::new();
    for r in &rows {
        let feature = granted(r)?;
        let features = out.entry(r.try_get("entitlement_id")?).or_default();
        match features.get_mut(&feature.feature_id) {
            Some(have) => have.merge(feature),
            None => {
                features.insert(feature.feature_id, feature);
            }
        }
    }
    Ok(out)
}

/// A plan as a customer may choose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub rank: i64,
    pub seats: i64,
    pub instances: i64,
    pub version: i64,
    pub trial_days: i64,
    pub grace_days: i64,
    pub offline_days: i64,
    pub features: Vec<GrantedFeature>,
}

/// An add-on as a customer may choose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddonRow {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub seats: i64,
    pub instances: i64,
    pub features: Vec<GrantedFeature>,
}

impl super::Store {
    /// Every product: (id, key, name), by name.
    pub async fn list_products(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, key, name FROM products ORDER BY name").fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("key")?, r.try_get("name")?))).collect()
    }

    /// The newest version of every plan of `product_id`, by rank, with its features.
    pub async fn list_plans(&self, product_id: i64) -> Result<Vec<PlanRow>, StoreError> {
        let plans = sqlx::query(
            "SELECT id, key, name, rank, seats, instances, version, trial_days, grace_days, offline_days FROM plans p
             WHERE product_id = $1 AND version = (SELECT MAX(version) FROM plans q WHERE q.product_id = p.product_id AND q.key = p.key)
             ORDER BY rank, id",
        )
        .bind(product_id)
        .fetch_all(self.pool())
        .await?;
        let features = sqlx::query(
            "SELECT pf.plan_id, f.id AS feature_id, f.key, f.name, f.unit, f.metered, pf.quota, pf.quota_period, pf.rule
             FROM plan_features pf JOIN features f ON f.id = pf.feature_id JOIN plans p ON p.id = pf.plan_id
             WHERE p.product_id = $1 ORDER BY f.id",
        )
        .bind(product_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(plans.len());
        for p in plans {
            let id: i64 = p.try_get("id")?;
            out.push(PlanRow {
                id,
                key: p.try_get("key")?,
                name: p.try_get("name")?,
                rank: p.try_get("rank")?,
                seats: p.try_get("seats")?,
                instances: p.try_get("instances")?,
                version: p.try_get("version")?,
                trial_days: p.try_get("trial_days")?,
                grace_days: p.try_get("grace_days")?,
                offline_days: p.try_get("offline_days")?,
                features: features_of(&features, "plan_id", id)?,
            });
        }
        Ok(out)
    }

    /// Every add-on of `product_id`, by name, with its features.
    pub async fn list_addons(&self, product_id: i64) -> Result<Vec<AddonRow>, StoreError> {
        let addons = sqlx::query("SELECT id, key, name, seats, instances FROM addons WHERE product_id = $1 ORDER BY name")
            .bind(product_id)
            .fetch_all(self.pool())
            .await?;
        let features = sqlx::query(
            "SELECT af.addon_id, f.id AS feature_id, f.key, f.name, f.unit, f.metered, af.quota, af.quota_period, af.rule
             FROM addon_features af JOIN features f ON f.id = af.feature_id JOIN addons a ON a.id = af.addon_id
             WHERE a.product_id = $1 ORDER BY f.id",
        )
        .bind(product_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(addons.len());
        for a in addons {
            let id: i64 = a.try_get("id")?;
            out.push(AddonRow {
                id,
                key: a.try_get("key")?,
                name: a.try_get("name")?,
                seats: a.try_get("seats")?,
                instances: a.try_get("instances")?,
                features: features_of(&features, "addon_id", id)?,
            });
        }
        Ok(out)
    }

    /// The features of `product_id`: (id, key, name, metered, unit), in the order made.
    pub async fn list_features(&self, product_id: i64) -> Result<Vec<(i64, String, String, bool, Option<String>)>, StoreError> {
        let rows = sqlx::query("SELECT id, key, name, metered, unit FROM features WHERE product_id = $1 ORDER BY id")
            .bind(product_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("key")?, r.try_get("name")?, super::flag(r, "metered")?, r.try_get("unit")?)))
            .collect()
    }

    /// Per plan key of `product_id`: entitlements on its newest version and on older ones.
    pub async fn plan_version_counts(&self, product_id: i64) -> Result<std::collections::HashMap<String, (i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT pl.key, CAST(CASE WHEN pl.version = (SELECT MAX(q.version) FROM plans q WHERE q.product_id = pl.product_id AND q.key = pl.key)
                                 THEN 1 ELSE 0 END AS BIGINT) AS newest, COUNT(e.id) AS n
             FROM plans pl JOIN entitlements e ON e.plan_id = pl.id WHERE pl.product_id = $1 GROUP BY pl.key, newest",
        )
        .bind(product_id)
        .fetch_all(self.pool())
        .await?;
        let mut out: std::collections::HashMap<String, (i64, i64)> = std::collections::HashMap::new();
        for r in rows {
            let entry = out.entry(r.try_get("key")?).or_default();
            let n: i64 = r.try_get("n")?;
            if r.try_get::<i64, _>("newest")? == 1 {
                entry.0 += n;
            } else {
                entry.1 += n;
            }
        }
        Ok(out)
    }
}
