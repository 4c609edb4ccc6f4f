//! Customers: the tenants.

use sqlx::Row;

use super::write::Write;
use super::{Store, StoreError};
use crate::auth::CustomerRef;
use crate::customers::CustomerSummary;

/// Creates a customer; `Duplicate(Unique::CustomerSlug)` when the slug is taken.
pub async fn create_customer(tx: &mut Write<'_>, slug: &str, name: &str, at: i64) -> Result<i64, StoreError> {
    let row = sqlx::query("INSERT INTO customers (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(slug)
        .bind(name)
        .bind(at)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("id")?)
}

impl Store {
    /// The customer with `slug`; `NotFound` when there is none.
    pub async fn find_customer_by_slug(&self, slug: &str) -> Result<CustomerRef, StoreError> {
        let row = sqlx::query("SELECT id, slug, name FROM customers WHERE slug = $1")
            .bind(slug)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(CustomerRef { id: row.try_get("id")?, slug: row.try_get("slug")?, name: row.try_get("name")? })
    }

    /// Every customer by name, with its user count and a line per entitlement.
    pub async fn list_customers(&self) -> Result<Vec<CustomerSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.slug, c.name, (SELECT COUNT(*) FROM users u WHERE u.customer_id = c.id) AS users
             FROM customers c ORDER BY c.name, c.id",
        )
        .fetch_all(self.pool())
        .await?;
        let lines = sqlx::query(
            "SELECT e.customer_id, p.name AS product, pl.name AS plan, e.status
             FROM entitlements e JOIN products p ON p.id = e.product_id JOIN plans pl ON pl.id = e.plan_id
             ORDER BY p.name",
        )
        .fetch_all(self.pool())
        .await?;
        let mut by_customer: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
        for l in &lines {
            let (product, plan, status): (String, String, String) = (l.try_get("product")?, l.try_get("plan")?, l.try_get("status")?);
            by_customer.entry(l.try_get("customer_id")?).or_default().push(format!("{product} · {plan} · {status}"));
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get("id")?;
            out.push(CustomerSummary {
                id,
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
                users: r.try_get("users")?,
                entitlements: by_customer.remove(&id).unwrap_or_default(),
            });
        }
        Ok(out)
    }
}
