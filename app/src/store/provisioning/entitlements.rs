//! Entitlements as the provisioning API reads them, an add-on added by an order, and the
//! catalog's SKUs: what an order's line sells.

use sqlx::Row;

use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::usage::history;
use crate::store::write::Write;
use crate::store::{flag, Store, StoreError, INSTANCES_CAP, SEATS_CAP};

/// An entitlement as the API shows it. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementRecord {
    pub id: i64,
    pub external_id: Option<String>,
    pub customer_id: i64,
    pub customer_slug: String,
    pub product: String,
    pub plan: String,
    pub plan_version: i64,
    /// The add-ons' keys.
    pub addons: Vec<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub seats_cap: i64,
    pub seats_used: i64,
    pub seats_override: Option<i64>,
    pub instances_cap: i64,
    pub instances_override: Option<i64>,
    /// Comma-separated region codes; `None` for anywhere.
    pub regions: Option<String>,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub renews_at: Option<i64>,
    pub trial_ends_at: Option<i64>,
    pub auto_renew: bool,
    pub grace_days: i64,
    /// Bumped by every change: the API's `ETag`.
    pub version: i64,
}

/// What a SKU sells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sold {
    /// A plan, by key (its newest version at the time of the order).
    Plan(String),
    /// An add-on, by key.
    Addon(String),
}

/// A SKU of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuRecord {
    pub sku: String,
    pub product_id: i64,
    pub product: String,
    pub sells: Sold,
}

fn select(filter: &str) -> String {
    format!(
        "SELECT e.id, e.external_id, e.customer_id, c.slug AS customer_slug, p.key AS product, pl.key AS plan, pl.version AS plan_version,
                e.status, e.status_reason, {SEATS_CAP} AS seats_cap, (SELECT COUNT(*) FROM seats s WHERE s.entitlement_id = e.id) AS seats_used,
                e.seats_override, {INSTANCES_CAP} AS instances_cap, e.instances_override, e.regions, e.starts_at, e.ends_at,
                e.renews_at, e.trial_ends_at, e.auto_renew, e.grace_days, e.version
         FROM entitlements e JOIN customers c ON c.id = e.customer_id JOIN products p ON p.id = e.product_id
         JOIN plans pl ON pl.id = e.plan_id
         WHERE {filter} ORDER BY e.id"
    )
}

fn record(r: &sqlx::any::AnyRow, addons: Vec<String>) -> Result<EntitlementRecord, StoreError> {
    Ok(EntitlementRecord {
        id: r.try_get("id")?,
        external_id: r.try_get("external_id")?,
        customer_id: r.try_get("customer_id")?,
        customer_slug: r.try_get("customer_slug")?,
        product: r.try_get("product")?,
        plan: r.try_get("plan")?,
        plan_version: r.try_get("plan_version")?,
        addons,
        status: r.try_get("status")?,
        status_reason: r.try_get("status_reason")?,
        seats_cap: r.try_get("seats_cap")?,
        seats_used: r.try_get("seats_used")?,
        seats_override: r.try_get("seats_override")?,
        instances_cap: r.try_get("instances_cap")?,
        instances_override: r.try_get("instances_override")?,
        regions: r.try_get("regions")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        renews_at: r.try_get("renews_at")?,
        trial_ends_at: r.try_get("trial_ends_at")?,
        auto_renew: flag(r, "auto_renew")?,
        grace_days: r.try_get("grace_days")?,
        version: r.try_get("version")?,
    })
}

/// The add-on keys of the entitlements `ids`, by entitlement.
async fn addons_of<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<String>>, StoreError> {
    let mut by_entitlement: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    let (Some(first), Some(last)) = (ids.iter().min(), ids.iter().max()) else { return Ok(by_entitlement) };
    let rows = sqlx::query(
        "SELECT ea.entitlement_id, a.key FROM entitlement_addons ea JOIN addons a ON a.id = ea.addon_id
         WHERE ea.entitlement_id BETWEEN $1 AND $2 ORDER BY a.key",
    )
    .bind(first)
    .bind(last)
    .fetch_all(ex)
    .await?;
    for r in rows {
        let id: i64 = r.try_get("entitlement_id")?;
        if ids.contains(&id) {
            by_entitlement.entry(id).or_default().push(r.try_get("key")?);
        }
    }
    Ok(by_entitlement)
}

/// Entitlement `id` as it is inside `tx`; `NotFound` when there is none.
pub(crate) async fn record_in(tx: &mut Write<'_>, id: i64) -> Result<EntitlementRecord, StoreError> {
    let row = sqlx::query(&select("e.id = $1")).bind(id).fetch_optional(&mut **tx).await?.ok_or(StoreError::NotFound)?;
    let mut addons = addons_of(&mut **tx, &[id]).await?;
    record(&row, addons.remove(&id).unwrap_or_default())
}

/// Adds add-on `addon_id` to entitlement `id` inside `tx`, audited as
/// `entitlement.addon_added`; `Ok(false)` when it has it already.
pub(crate) async fn add_addon_in(
    tx: &mut Write<'_>,
    actor: &Actor,
    id: i64,
    addon_id: i64,
    reason: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let added = sqlx::query(
        "INSERT INTO entitlement_addons (entitlement_id, addon_id, added_at) VALUES ($1, $2, $3)
         ON CONFLICT (entitlement_id, addon_id) DO NOTHING",
    )
    .bind(id)
    .bind(addon_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if added.rows_affected() == 0 {
        return Ok(false);
    }
    let row = sqlx::query(
        "UPDATE entitlements SET version = version + 1, updated_at = $2 WHERE id = $1 RETURNING customer_id,
                (SELECT key FROM addons WHERE id = $3) AS addon",
    )
    .bind(id)
    .bind(now)
    .bind(addon_id)
    .fetch_one(&mut **tx)
    .await?;
    history::record_day(tx, id, now).await?;
    let customer: i64 = row.try_get("customer_id")?;
    audit::record(
        tx,
        NewAuditEvent {
            actor,
            customer_id: Some(customer),
            kind: EventKind::EntitlementAddonAdded,
            subject: format!("entitlement:{id}"),
            before: None,
            after: Some(serde_json::json!({ "addon": row.try_get::<String, _>("addon")?, "reason": reason })),
        },
        now,
    )
    .await?;
    Ok(true)
}

/// The SKU `sku` inside `tx`, if the catalog has it.
pub(crate) async fn sku_in(tx: &mut Write<'_>, sku: &str) -> Result<Option<SkuRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT s.sku, s.product_id, p.key AS product, s.plan_key, s.addon_key FROM skus s JOIN products p ON p.id = s.product_id WHERE s.sku = $1",
    )
    .bind(sku)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(sku_record).transpose()
}

fn sku_record(r: &sqlx::any::AnyRow) -> Result<SkuRecord, StoreError> {
    let plan: Option<String> = r.try_get("plan_key")?;
    let addon: Option<String> = r.try_get("addon_key")?;
    Ok(SkuRecord {
        sku: r.try_get("sku")?,
        product_id: r.try_get("product_id")?,
        product: r.try_get("product")?,
        sells: match (plan, addon) {
            (Some(plan), _) => Sold::Plan(plan),
            (None, addon) => Sold::Addon(addon.unwrap_or_default()),
        },
    })
}

/// Stores SKU `sku` for `sells` of `product_id` inside `tx`, replacing what it sold.
pub(crate) async fn set_sku_in(tx: &mut Write<'_>, product_id: i64, sku: &str, sells: &Sold, now: i64) -> Result<(), StoreError> {
    let (plan, addon) = match sells {
        Sold::Plan(key) => (Some(key.as_str()), None),
        Sold::Addon(key) => (None, Some(key.as_str())),
    };
    sqlx::query(
        "INSERT INTO skus (sku, product_id, plan_key, addon_key, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (sku) DO UPDATE SET product_id = excluded.product_id, plan_key = excluded.plan_key, addon_key = excluded.addon_key",
    )
    .bind(sku)
    .bind(product_id)
    .bind(plan)
    .bind(addon)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Entitlement `id`; `NotFound` when there is none.
    pub async fn entitlement_record(&self, id: i64) -> Result<EntitlementRecord, StoreError> {
        let row = sqlx::query(&select("e.id = $1")).bind(id).fetch_optional(self.pool()).await?.ok_or(StoreError::NotFound)?;
        let mut addons = addons_of(self.pool(), &[id]).await?;
        record(&row, addons.remove(&id).unwrap_or_default())
    }

    /// Entitlements of product `product_id` (of customer `customer`, when named) by id
    /// after `after`, at most `limit`.
    pub async fn list_entitlement_records(
        &self,
        product_id: i64,
        customer: Option<i64>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EntitlementRecord>, StoreError> {
        let sql = format!("{} LIMIT $4", select("e.product_id = $1 AND ($2 < 0 OR e.customer_id = $2) AND e.id > $3"));
        let rows = sqlx::query(&sql).bind(product_id).bind(customer.unwrap_or(-1)).bind(after).bind(limit).fetch_all(self.pool()).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        let mut addons = addons_of(self.pool(), &ids).await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                record(r, addons.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    /// The SKUs of product `product_id`, by SKU.
    pub async fn list_skus(&self, product_id: i64) -> Result<Vec<SkuRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.sku, s.product_id, p.key AS product, s.plan_key, s.addon_key FROM skus s JOIN products p ON p.id = s.product_id
             WHERE s.product_id = $1 ORDER BY s.sku",
        )
        .bind(product_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(sku_record).collect()
    }

    /// Sets SKU `sku` to sell `sells` of product `product_id`, audited as `catalog.sku_set`.
    /// `NotFound` when the product has no such plan or add-on; `Duplicate(Sku)` when the
    /// SKU sells something of another product.
    pub async fn set_sku(&self, actor: &Actor, product_id: i64, sku: &str, sells: &Sold, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> = match sells {
            Sold::Plan(key) => {
                sqlx::query_scalar("SELECT MAX(id) FROM plans WHERE product_id = $1 AND key = $2")
                    .bind(product_id)
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?
            }
            Sold::Addon(key) => {
                sqlx::query_scalar("SELECT id FROM addons WHERE product_id = $1 AND key = $2")
                    .bind(product_id)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?
            }
        };
        if exists.is_none() {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        let before = sku_in(&mut tx, sku).await?;
        if before.as_ref().is_some_and(|b| b.product_id != product_id) {
            return tx.roll_back(Err(StoreError::Duplicate(crate::store::Unique::Sku))).await;
        }
        if before.as_ref().is_some_and(|b| &b.sells == sells) {
            return tx.roll_back(Ok(())).await;
        }
        set_sku_in(&mut tx, product_id, sku, sells, now).await?;
        let describe = |s: &Sold| match s {
            Sold::Plan(key) => serde_json::json!({ "plan": key }),
            Sold::Addon(key) => serde_json::json!({ "addon": key }),
        };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::CatalogSkuSet,
                subject: format!("sku:{sku}"),
                before: before.as_ref().map(|b| describe(&b.sells)),
                after: Some(describe(sells)),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes SKU `sku` of product `product_id`, audited as `catalog.sku_removed`;
    /// `NotFound` when the product has no such SKU.
    pub async fn remove_sku(&self, actor: &Actor, product_id: i64, sku: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let removed =
            sqlx::query("DELETE FROM skus WHERE sku = $1 AND product_id = $2").bind(sku).bind(product_id).execute(&mut *tx).await?;
        if removed.rows_affected() == 0 {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::CatalogSkuRemoved,
                subject: format!("sku:{sku}"),
                before: None,
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
