//! Products, features and plans: the catalog that entitlements point into.

use std::collections::HashMap;

use sqlx::{Any, Row, Transaction};

use super::StoreError;
use crate::engine::Requirement;

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

/// Creates a product; `Conflict` when its key is taken.
pub async fn create_product(tx: &mut Transaction<'_, Any>, key: &str, name: &str, at: i64) -> Result<i64, StoreError> {
    let row = sqlx::query("INSERT INTO products (key, name, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(key)
        .bind(name)
        .bind(at)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("id")?)
}

/// Creates a feature of `product_id`; `Conflict` when the product has that key already.
pub async fn create_feature(tx: &mut Transaction<'_, Any>, product_id: i64, f: &NewFeature<'_>) -> Result<i64, StoreError> {
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
pub async fn create_plan(tx: &mut Transaction<'_, Any>, product_id: i64, p: &NewPlan<'_>, at: i64) -> Result<i64, StoreError> {
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

/// The id of the newest version of plan `key` of product `product_id`.
pub async fn find_plan_id(tx: &mut Transaction<'_, Any>, product_id: i64, key: &str) -> Result<i64, StoreError> {
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
