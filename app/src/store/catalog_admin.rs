//! The vendor admin's changes to the catalog: plan versions (a change makes a new
//! version; entitlements keep theirs until moved), features, add-ons, API keys and
//! signing keys. Each is one transaction with its audit event.

use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::catalog::{NewAddon, NewFeature};
use super::events::EventKind;
use super::{Store, StoreError};
use crate::engine::Requirement;

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
    /// (feature id, monthly quota for a metered feature, the rule as JSON: `None` keeps
    /// the rule of the version before, or the default for a new feature)
    pub features: Vec<(i64, Option<i64>, Option<String>)>,
}

/// An API key as the catalog page lists it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: i64,
    pub product: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A signing key as the catalog page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    pub kid: String,
    pub created_at: i64,
    pub active: bool,
    pub retired_at: Option<i64>,
}

/// Why a vendor admin could not retire a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RetireKeyRefusal {
    /// It is the key that signs tokens now: rotate to a new one first.
    #[error("the key signs tokens now")]
    SigningNow,
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
            "INSERT INTO plans (product_id, key, name, version, rank, seats, instances, trial_days, grace_days, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
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
            let metered = super::flag(&f, "metered")?;
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

    /// Moves every entitlement on an older version of plan `key` of `product_id` to its
    /// newest version, each with its version bumped and its audit event, in one
    /// transaction. Returns the customers moved (none when all are current).
    pub async fn move_to_newest_version(
        &self,
        actor: &Actor,
        product_id: i64,
        key: &str,
        reason: &str,
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let newest = sqlx::query("SELECT id, version FROM plans WHERE product_id = $1 AND key = $2 ORDER BY version DESC LIMIT 1")
            .bind(product_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(newest) = newest else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        let (newest_id, newest_version): (i64, i64) = (newest.try_get("id")?, newest.try_get("version")?);
        let moving = sqlx::query(
            "SELECT e.id, e.customer_id, pl.version FROM entitlements e JOIN plans pl ON pl.id = e.plan_id
             WHERE pl.product_id = $1 AND pl.key = $2 AND pl.id <> $3 ORDER BY e.id",
        )
        .bind(product_id)
        .bind(key)
        .bind(newest_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut customers = Vec::new();
        for e in &moving {
            let (id, customer, from): (i64, i64, i64) = (e.try_get("id")?, e.try_get("customer_id")?, e.try_get("version")?);
            sqlx::query("UPDATE entitlements SET plan_id = $2, version = version + 1, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(newest_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            super::usage_history::record_day(&mut tx, id, now).await?;
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor,
                    customer_id: Some(customer),
                    kind: EventKind::EntitlementPlanVersionMoved,
                    subject: format!("entitlement:{id}"),
                    before: Some(serde_json::json!({ "plan": key, "plan_version": from })),
                    after: Some(serde_json::json!({ "plan": key, "plan_version": newest_version, "reason": reason })),
                },
                now,
            )
            .await?;
            customers.push(customer);
        }
        tx.commit().await?;
        customers.dedup();
        Ok(customers)
    }

    /// Adds product `key` named `name`, audited; `Duplicate(Unique::ProductKey)` when the
    /// key is taken.
    pub async fn add_product(&self, actor: &Actor, key: &str, name: &str, reason: &str, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = match super::catalog::create_product(&mut tx, key, name, now).await {
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
        let id = match super::catalog::create_feature(&mut tx, product_id, f).await {
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
        let id = match super::catalog::create_addon(&mut tx, product_id, a, now).await {
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

    /// Every API key, newest first, without the keys themselves.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.id, p.name AS product, k.name, k.prefix, k.created_at, k.revoked_at FROM api_keys k JOIN products p ON p.id = k.product_id
             ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiKeyRow {
                    id: r.try_get("id")?,
                    product: r.try_get("product")?,
                    name: r.try_get("name")?,
                    prefix: r.try_get("prefix")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Stores API key `key` (only its hash and prefix) named `name` for `product_id`;
    /// with `replaces`, revokes that key in the same transaction (a rotation). Audited;
    /// returns the new key's id. `NotFound` when `replaces` is not a live key.
    pub async fn issue_api_key(
        &self,
        actor: &Actor,
        product_id: i64,
        name: &str,
        key: &str,
        replaces: Option<i64>,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(old) = replaces {
            let done =
                sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND product_id = $3 AND revoked_at IS NULL RETURNING id")
                    .bind(old)
                    .bind(now)
                    .bind(product_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_none() {
                return tx.roll_back(Err(StoreError::NotFound)).await;
            }
        }
        let id = super::api_keys::create_api_key(&mut tx, product_id, name, key, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: if replaces.is_some() { EventKind::ApiKeyRotated } else { EventKind::ApiKeyCreated },
                subject: format!("api_key:{id}"),
                before: replaces.map(|old| serde_json::json!({ "revoked": old })),
                after: Some(serde_json::json!({ "product": product_id, "name": name, "prefix": key.chars().take(8).collect::<String>() })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Revokes API key `id` at once, audited; `NotFound` when it is not a live key.
    pub async fn revoke_api_key(&self, actor: &Actor, id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING name, prefix")
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = done else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::ApiKeyRevoked,
                subject: format!("api_key:{id}"),
                before: Some(
                    serde_json::json!({ "name": row.try_get::<String, _>("name")?, "prefix": row.try_get::<String, _>("prefix")? }),
                ),
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every signing key, the active one first, then by age.
    pub async fn list_signing_key_rows(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        let rows = sqlx::query("SELECT kid, created_at, active, retired_at FROM signing_keys ORDER BY active DESC, retired_at IS NOT NULL, created_at DESC, kid")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get("kid")?,
                    created_at: r.try_get("created_at")?,
                    active: super::flag(r, "active")?,
                    retired_at: r.try_get("retired_at")?,
                })
            })
            .collect()
    }

    /// Retires signing key `kid`: it leaves the JWKS, so tokens it signed stop verifying.
    /// Audited. `NotFound` for an unknown or retired key; refused with
    /// [`RetireKeyRefusal::SigningNow`] for the key that signs now (rotate first).
    pub async fn retire_signing_key(&self, actor: &Actor, kid: &str, now: i64) -> Result<Result<(), RetireKeyRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("SELECT active FROM signing_keys WHERE kid = $1 AND retired_at IS NULL").bind(kid).fetch_optional(&mut *tx).await?;
        let Some(row) = row else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        if super::flag(&row, "active")? {
            return tx.roll_back(Ok(Err(RetireKeyRefusal::SigningNow))).await;
        }
        sqlx::query("UPDATE signing_keys SET retired_at = $2 WHERE kid = $1").bind(kid).bind(now).execute(&mut *tx).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::SigningKeyRetired,
                subject: format!("signing_key:{kid}"),
                before: None,
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}
