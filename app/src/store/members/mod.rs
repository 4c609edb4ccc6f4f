//! Customers, the tenants, and their people: a customer made by vendor staff with its
//! first admin, found and listed, and opened read-only by staff. Accounts and sign-in are
//! in [`users`]; how a customer admin invites and removes people, in [`invitations`].

pub mod invitations;
pub mod providers;
pub mod sign_ins;
pub mod throttle;
pub mod users;

use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::events::EventKind;
use super::write::Write;
use super::{Store, StoreError};
use crate::auth::CustomerRef;

/// A new customer and the admin who gets its first invitation.
#[derive(Debug, Clone)]
pub struct NewCustomer<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub admin_email: &'a str,
    pub admin_name: &'a str,
    /// The hash of the admin's invitation token, and when it expires.
    pub token_hash: &'a str,
    pub expires_at: i64,
}

/// Why a change to someone's membership was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleRefusal {
    /// The organisation would be left without an admin.
    LastAdmin,
}

/// Whether taking user `user_id` out of customer `customer_id`'s admins (by a new role or
/// by removal) would leave it without one. Locks the customer's row first, so that two
/// such changes at once are counted one after the other.
pub(crate) async fn leaves_no_admin(tx: &mut Write<'_>, customer_id: i64, user_id: i64) -> Result<bool, StoreError> {
    sqlx::query("UPDATE customers SET id = id WHERE id = $1").bind(customer_id).execute(&mut **tx).await?;
    let admins: Vec<i64> = sqlx::query_scalar("SELECT id FROM users WHERE customer_id = $1 AND role = 'customer_admin' AND disabled = 0")
        .bind(customer_id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(admins == [user_id])
}

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

    /// The id of the user with `email` in customer `customer_id`; `NotFound` otherwise.
    pub async fn find_customer_user(&self, customer_id: i64, email: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT id FROM users WHERE customer_id = $1 AND email = $2")
            .bind(customer_id)
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Creates a customer and its first admin (invited: they set their password through
    /// the link), with audit events. `Duplicate(Unique::CustomerSlug)` when the slug is
    /// taken, `Duplicate(Unique::UserEmail)` when the email is.
    pub async fn create_customer_with_admin(
        &self,
        actor: &Actor,
        c: &NewCustomer<'_>,
        reason: &str,
        now: i64,
    ) -> Result<(i64, i64), StoreError> {
        use super::provisioning::{NewAdmin, NewOrganisation};
        let admin = NewAdmin { email: c.admin_email, name: c.admin_name, token_hash: c.token_hash, expires_at: c.expires_at };
        let organisation = NewOrganisation { slug: c.slug, name: c.name, external_id: None, admin: Some(admin) };
        let (customer, admin) = self.create_organisation(actor, &organisation, reason, now).await?;
        Ok((customer, admin.unwrap_or_default()))
    }

    /// Records that `actor` opened customer `customer_id`'s portal read-only.
    pub async fn record_view_as(&self, actor: &Actor, customer_id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::CustomerViewedAs,
                subject: format!("customer:{customer_id}"),
                before: None,
                after: Some(serde_json::json!({ "read_only": true })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
