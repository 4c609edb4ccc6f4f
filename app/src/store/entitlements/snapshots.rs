//! Loading what the engine evaluates: one customer's entitlements as snapshots.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::Row;

use crate::engine::{EntitlementStatus, FeatureRule, Period, Quota, Requirement, Snapshot, Usage};
use crate::store::catalog;
use crate::store::{Store, StoreError};

/// One customer as enforcement sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSnapshot {
    pub customer_id: i64,
    pub slug: String,
    /// Product key → that product's entitlement.
    pub entitlements: HashMap<String, Snapshot>,
    /// Lower-case email and external id → user id, for the customer's users.
    pub users: HashMap<String, i64>,
    /// User id → email, for what licences say about seat holders.
    pub emails: HashMap<i64, String>,
    /// Live instances' public ids (`ins_…`) → their ids in the snapshots.
    pub instance_ids: HashMap<String, i64>,
    /// Product key → what an offline licence of that entitlement needs beyond the engine.
    pub licensing: HashMap<String, LicensingTerms>,
    /// The keyed hashes of the live license keys, with the product of each one's entitlement.
    pub license_keys: Vec<(String, String)>,
}

/// What an entitlement's plan says about licences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensingTerms {
    pub plan_version: i64,
    /// How long a site may stay offline; 0 = online only.
    pub offline_days: i64,
    /// When the entitlement started: usage is not dated before it.
    pub starts_at: i64,
}

fn decode(what: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(format!("stored {what} is not valid").into()))
}

impl Store {
    /// The ids of every customer.
    pub async fn list_customer_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM customers ORDER BY id").fetch_all(self.pool()).await?)
    }

    /// The id of the customer with `slug`, if any.
    pub async fn find_customer_id(&self, slug: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM customers WHERE slug = $1").bind(slug).fetch_optional(self.pool()).await?)
    }

    /// Loads customer `customer_id` for the engine, with usage counted in the quota
    /// periods that contain `now`. `NotFound` when there is no such customer.
    pub async fn load_customer_snapshot(&self, customer_id: i64, now: i64) -> Result<CustomerSnapshot, StoreError> {
        let pool = self.pool();
        let slug: String = sqlx::query_scalar("SELECT slug FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql = format!(
            "SELECT e.id, p.key AS product, pl.key AS plan, pl.version AS plan_version, pl.offline_days, e.starts_at, e.status, e.ends_at, e.trial_ends_at, e.grace_days,
                    {} AS seats_cap, {} AS instances_cap, e.regions
             FROM entitlements e JOIN products p ON p.id = e.product_id JOIN plans pl ON pl.id = e.plan_id
             WHERE e.customer_id = $1",
            crate::store::SEATS_CAP,
            crate::store::INSTANCES_CAP
        );
        let rows = sqlx::query(&sql).bind(customer_id).fetch_all(pool).await?;
        let mut features = catalog::entitlement_features(pool, customer_id).await?;
        // Oldest seat first: when more seats are assigned than the cap allows (after a
        // downgrade), the ones assigned last are held back.
        let seats = sqlx::query(
            "SELECT s.entitlement_id, s.user_id FROM seats s JOIN entitlements e ON e.id = s.entitlement_id
             WHERE e.customer_id = $1 ORDER BY s.assigned_at, s.id",
        )
        .bind(customer_id)
        .fetch_all(pool)
        .await?;
        let instances = sqlx::query(
            "SELECT i.id, i.public_id, i.entitlement_id, i.last_heartbeat_at, i.offline_until FROM instances i
             JOIN entitlements e ON e.id = i.entitlement_id WHERE e.customer_id = $1 AND i.deactivated_at IS NULL",
        )
        .bind(customer_id)
        .fetch_all(pool)
        .await?;
        let usage = sqlx::query(
            "SELECT d.entitlement_id, f.key, d.day, d.quantity FROM usage_daily d
             JOIN features f ON f.id = d.feature_id JOIN entitlements e ON e.id = d.entitlement_id
             WHERE e.customer_id = $1 AND d.day >= $2",
        )
        .bind(customer_id)
        .bind(Period::Year.start(now))
        .fetch_all(pool)
        .await?;
        let users = sqlx::query("SELECT id, email, external_id FROM users WHERE customer_id = $1 AND disabled = 0")
            .bind(customer_id)
            .fetch_all(pool)
            .await?;
        let keys = sqlx::query(
            "SELECT k.lookup, p.key AS product FROM license_keys k JOIN entitlements e ON e.id = k.entitlement_id
             JOIN products p ON p.id = e.product_id WHERE e.customer_id = $1 AND k.revoked_at IS NULL",
        )
        .bind(customer_id)
        .fetch_all(pool)
        .await?;
        let mut licensing = HashMap::new();

        let mut entitlements = HashMap::new();
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let mut rules = BTreeMap::new();
            for f in features.remove(&id).unwrap_or_default().into_values() {
                let quota = f
                    .quota
                    .map(|limit| Quota { limit, period: f.quota_period.as_deref().and_then(Period::parse).unwrap_or(Period::Month) });
                rules.insert(f.key, FeatureRule { requires: Requirement::parse(&f.rule).map_err(|_| decode("rule"))?, quota });
            }
            let mut used: HashMap<String, Usage> = HashMap::new();
            for u in usage.iter().filter(|u| u.try_get::<i64, _>("entitlement_id").ok() == Some(id)) {
                let key: String = u.try_get("key")?;
                let Some(period) = rules.get(&key).and_then(|r| r.quota.as_ref()).map(|q| q.period) else { continue };
                let start = period.start(now);
                if u.try_get::<i64, _>("day")? >= start {
                    let counted = used.entry(key).or_insert(Usage { period_start: start, used: 0 });
                    counted.used = counted.used.saturating_add(u.try_get::<i64, _>("quantity")?);
                }
            }
            let status: String = r.try_get("status")?;
            let regions: Option<String> = r.try_get("regions")?;
            let seats_cap: i64 = r.try_get("seats_cap")?;
            let snapshot = Snapshot {
                entitlement_id: id,
                customer_id,
                plan: r.try_get("plan")?,
                status: EntitlementStatus::parse(&status).ok_or_else(|| decode("status"))?,
                ends_at: r.try_get("ends_at")?,
                trial_ends_at: r.try_get("trial_ends_at")?,
                grace_days: r.try_get("grace_days")?,
                seats_cap,
                instances_cap: r.try_get("instances_cap")?,
                regions: regions.map(|s| s.split(',').map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect()),
                features: rules,
                seat_holders: seats
                    .iter()
                    .filter(|s| s.try_get::<i64, _>("entitlement_id").ok() == Some(id))
                    .take(usize::try_from(seats_cap).unwrap_or(0))
                    .map(|s| s.try_get("user_id"))
                    .collect::<Result<HashSet<i64>, _>>()?,
                instances: instances
                    .iter()
                    .filter(|i| i.try_get::<i64, _>("entitlement_id").ok() == Some(id))
                    // A slot held by an offline licence counts as seen until the hold ends.
                    .map(|i| {
                        let beat: i64 = i.try_get("last_heartbeat_at")?;
                        Ok((i.try_get("id")?, beat.max(i.try_get::<Option<i64>, _>("offline_until")?.unwrap_or(beat))))
                    })
                    .collect::<Result<HashMap<i64, i64>, sqlx::Error>>()?,
                usage: used,
            };
            let product: String = r.try_get("product")?;
            licensing.insert(
                product.clone(),
                LicensingTerms {
                    plan_version: r.try_get("plan_version")?,
                    offline_days: r.try_get("offline_days")?,
                    starts_at: r.try_get("starts_at")?,
                },
            );
            entitlements.insert(product, snapshot);
        }
        let mut by_name = HashMap::new();
        let mut emails = HashMap::new();
        for u in users {
            let id: i64 = u.try_get("id")?;
            let email: String = u.try_get("email")?;
            by_name.insert(email.to_lowercase(), id);
            emails.insert(id, email);
            if let Some(ext) = u.try_get::<Option<String>, _>("external_id")? {
                by_name.insert(ext.to_lowercase(), id);
            }
        }
        let instance_ids = instances
            .iter()
            .map(|i| Ok((i.try_get::<Option<String>, _>("public_id")?.unwrap_or_default(), i.try_get("id")?)))
            .collect::<Result<HashMap<String, i64>, sqlx::Error>>()?;
        let license_keys = keys.iter().map(|k| Ok((k.try_get("lookup")?, k.try_get("product")?))).collect::<Result<_, sqlx::Error>>()?;
        Ok(CustomerSnapshot { customer_id, slug, entitlements, users: by_name, emails, instance_ids, licensing, license_keys })
    }
}
