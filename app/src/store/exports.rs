//! What the CSV exports read: entitlements, seats and daily usage, a page at a time after
//! a key (keyset paging), so that an export of any size streams in bounded memory. Each
//! reader is confined by an [`ExportScope`]: one customer's rows (a customer admin's own)
//! and one product's (an API key's), or every customer's and product's.

use sqlx::Row;

use super::{flag, Store, StoreError, INSTANCES_CAP, SEATS_CAP};

/// Whose rows an export reads: `None` for every customer, or every product.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportScope {
    pub customer_id: Option<i64>,
    pub product_id: Option<i64>,
}

/// One entitlement as its export row shows it. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementExport {
    pub id: i64,
    pub customer_slug: String,
    pub customer_name: String,
    /// The product's key.
    pub product: String,
    pub plan_key: String,
    pub plan_name: String,
    pub plan_version: i64,
    pub status: String,
    pub seats_cap: i64,
    pub seats_used: i64,
    pub instances_cap: i64,
    /// Instances activated and not deactivated.
    pub instances_active: i64,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub renews_at: Option<i64>,
    pub trial_ends_at: Option<i64>,
    pub auto_renew: bool,
    /// Comma-separated region codes; `None` for anywhere.
    pub regions: Option<String>,
    /// Its id in the vendor's CRM or billing.
    pub external_id: Option<String>,
}

/// One seat: who holds it, of which entitlement. `assigned_at` is Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SeatExport {
    /// The seat's own id: the key pages follow.
    pub id: i64,
    pub entitlement_id: i64,
    pub customer_slug: String,
    /// The product's key.
    pub product: String,
    pub email: String,
    pub name: String,
    /// `customer_admin` or `customer_member`.
    pub role: String,
    pub assigned_at: i64,
}

/// Units of one feature used under one entitlement on one day.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageExport {
    pub entitlement_id: i64,
    pub customer_slug: String,
    /// The product's key.
    pub product: String,
    pub feature_id: i64,
    /// The feature's key.
    pub feature: String,
    /// 00:00 UTC of the day, Unix seconds.
    pub day: i64,
    pub quantity: i64,
}

/// Where a page of usage rows starts: after this entitlement, day and feature (the order
/// the rows come in). The default starts before the first row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageKey {
    pub entitlement_id: i64,
    pub day: i64,
    pub feature_id: i64,
}

impl UsageExport {
    /// The key of this row: the next page starts after it.
    pub fn key(&self) -> UsageKey {
        UsageKey { entitlement_id: self.entitlement_id, day: self.day, feature_id: self.feature_id }
    }
}

/// A scope's ids as bound: -1 for "every".
fn binds(scope: &ExportScope) -> (i64, i64) {
    (scope.customer_id.unwrap_or(-1), scope.product_id.unwrap_or(-1))
}

fn entitlement_row(r: &sqlx::any::AnyRow) -> Result<EntitlementExport, StoreError> {
    Ok(EntitlementExport {
        id: r.try_get("id")?,
        customer_slug: r.try_get("customer_slug")?,
        customer_name: r.try_get("customer_name")?,
        product: r.try_get("product")?,
        plan_key: r.try_get("plan_key")?,
        plan_name: r.try_get("plan_name")?,
        plan_version: r.try_get("plan_version")?,
        status: r.try_get("status")?,
        seats_cap: r.try_get("seats_cap")?,
        seats_used: r.try_get("seats_used")?,
        instances_cap: r.try_get("instances_cap")?,
        instances_active: r.try_get("instances_active")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        renews_at: r.try_get("renews_at")?,
        trial_ends_at: r.try_get("trial_ends_at")?,
        auto_renew: flag(r, "auto_renew")?,
        regions: r.try_get("regions")?,
        external_id: r.try_get("external_id")?,
    })
}

impl Store {
    /// The entitlements of `scope` with an id after `after`, by id, at most `limit`.
    pub async fn export_entitlements(&self, scope: &ExportScope, after: i64, limit: i64) -> Result<Vec<EntitlementExport>, StoreError> {
        let (customer, product) = binds(scope);
        let sql = format!(
            "SELECT e.id, c.slug AS customer_slug, c.name AS customer_name, p.key AS product, pl.key AS plan_key, pl.name AS plan_name,
                    pl.version AS plan_version, e.status, {SEATS_CAP} AS seats_cap,
                    (SELECT COUNT(*) FROM seats s WHERE s.entitlement_id = e.id) AS seats_used, {INSTANCES_CAP} AS instances_cap,
                    (SELECT COUNT(*) FROM instances i WHERE i.entitlement_id = e.id AND i.deactivated_at IS NULL) AS instances_active,
                    e.starts_at, e.ends_at, e.renews_at, e.trial_ends_at, e.auto_renew, e.regions, e.external_id
             FROM entitlements e JOIN customers c ON c.id = e.customer_id JOIN products p ON p.id = e.product_id
             JOIN plans pl ON pl.id = e.plan_id
             WHERE e.id > $1 AND ($2 < 0 OR e.customer_id = $2) AND ($3 < 0 OR e.product_id = $3)
             ORDER BY e.id LIMIT $4"
        );
        let rows = sqlx::query(&sql).bind(after).bind(customer).bind(product).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(entitlement_row).collect()
    }

    /// The seats of `scope`'s entitlements with a seat id after `after`, by seat id, at
    /// most `limit`.
    pub async fn export_seats(&self, scope: &ExportScope, after: i64, limit: i64) -> Result<Vec<SeatExport>, StoreError> {
        let (customer, product) = binds(scope);
        Ok(sqlx::query_as::<_, SeatExport>(
            "SELECT s.id, s.entitlement_id, c.slug AS customer_slug, p.key AS product, u.email, u.name, u.role, s.assigned_at
             FROM seats s JOIN entitlements e ON e.id = s.entitlement_id JOIN customers c ON c.id = e.customer_id
             JOIN products p ON p.id = e.product_id JOIN users u ON u.id = s.user_id
             WHERE s.id > $1 AND ($2 < 0 OR e.customer_id = $2) AND ($3 < 0 OR e.product_id = $3)
             ORDER BY s.id LIMIT $4",
        )
        .bind(after)
        .bind(customer)
        .bind(product)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Daily usage of `scope`'s entitlements on the days from `first_day` to `last_day`
    /// (00:00 UTC of each, both included), after `after`, by entitlement, day and feature,
    /// at most `limit`.
    pub async fn export_usage(
        &self,
        scope: &ExportScope,
        first_day: i64,
        last_day: i64,
        after: UsageKey,
        limit: i64,
    ) -> Result<Vec<UsageExport>, StoreError> {
        let (customer, product) = binds(scope);
        Ok(sqlx::query_as::<_, UsageExport>(
            "SELECT ud.entitlement_id, c.slug AS customer_slug, p.key AS product, f.id AS feature_id, f.key AS feature, ud.day, ud.quantity
             FROM usage_daily ud JOIN entitlements e ON e.id = ud.entitlement_id JOIN customers c ON c.id = e.customer_id
             JOIN products p ON p.id = e.product_id JOIN features f ON f.id = ud.feature_id
             WHERE ud.day >= $1 AND ud.day <= $2 AND ($3 < 0 OR e.customer_id = $3) AND ($4 < 0 OR e.product_id = $4)
               AND (ud.entitlement_id > $5 OR (ud.entitlement_id = $5 AND (ud.day > $6 OR (ud.day = $6 AND ud.feature_id > $7))))
             ORDER BY ud.entitlement_id, ud.day, ud.feature_id LIMIT $8",
        )
        .bind(first_day)
        .bind(last_day)
        .bind(customer)
        .bind(product)
        .bind(after.entitlement_id)
        .bind(after.day)
        .bind(after.feature_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
