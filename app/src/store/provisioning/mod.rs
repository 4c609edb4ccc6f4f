//! What the vendor's back office (CRM, billing) reads and changes through the provisioning
//! API: customers with the CRM's own ids, their people, entitlements as records, SKUs and
//! [`orders`], with [`idempotency`] for retried calls and the [`feed`] of events. Every
//! change is one transaction with its audit event, made in the API key's name.

pub mod entitlements;
pub mod feed;
pub mod idempotency;
pub mod orders;

use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::events::EventKind;
use super::members::users::{create_user, NewUser};
pub use super::members::RoleRefusal;
use super::members::{create_customer, invitations, leaves_no_admin};
use super::write::Write;
use super::{Store, StoreError};
use crate::auth::Role;

/// A customer as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRecord {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
}

/// A new customer, with the admin who gets its first invitation when there is one.
#[derive(Debug, Clone)]
pub struct NewOrganisation<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub external_id: Option<&'a str>,
    pub admin: Option<NewAdmin<'a>>,
}

/// A customer's first admin: invited, they set a password (or sign in through their
/// organisation's provider) by the link whose token hashes to `token_hash`.
#[derive(Debug, Clone)]
pub struct NewAdmin<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub expires_at: i64,
}

/// A person of a customer as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Has not joined yet: no password and no single sign-on.
    pub invited: bool,
    pub created_at: i64,
}

const CUSTOMER_COLUMNS: &str = "SELECT id, slug, name, external_id, created_at FROM customers";

fn customer_record(r: &sqlx::any::AnyRow) -> Result<CustomerRecord, StoreError> {
    Ok(CustomerRecord {
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        external_id: r.try_get("external_id")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Creates customer `c` inside `tx`, with its admin's invitation when it names one, and
/// their audit events. Returns the customer's id and the admin's.
/// `Duplicate(CustomerSlug | CustomerExternalId | UserEmail)` when one is taken.
pub(crate) async fn create_organisation_in(
    tx: &mut Write<'_>,
    actor: &Actor,
    c: &NewOrganisation<'_>,
    reason: &str,
    now: i64,
) -> Result<(i64, Option<i64>), StoreError> {
    let customer = create_customer(tx, c.slug, c.name, now).await?;
    if let Some(external_id) = c.external_id {
        sqlx::query("UPDATE customers SET external_id = $2 WHERE id = $1").bind(customer).bind(external_id).execute(&mut **tx).await?;
    }
    audit::record(
        tx,
        NewAuditEvent {
            actor,
            customer_id: Some(customer),
            kind: EventKind::CustomerCreated,
            subject: format!("customer:{customer}"),
            before: None,
            after: Some(serde_json::json!({ "slug": c.slug, "name": c.name, "external_id": c.external_id, "reason": reason })),
        },
        now,
    )
    .await?;
    let Some(admin) = &c.admin else { return Ok((customer, None)) };
    let email = admin.email.trim().to_lowercase();
    let user = NewUser { customer_id: Some(customer), email: &email, name: admin.name, role: Role::CustomerAdmin, password_hash: None };
    let user_id = create_user(tx, &user, now).await?;
    invitations::insert_invitation(tx, customer, user_id, admin.token_hash, actor.user_id, admin.expires_at, now).await?;
    audit::record(
        tx,
        NewAuditEvent {
            actor,
            customer_id: Some(customer),
            kind: EventKind::UserInvited,
            subject: format!("user:{user_id}"),
            before: None,
            after: Some(
                serde_json::json!({ "email": email, "name": admin.name, "role": "customer_admin", "expires_at": admin.expires_at }),
            ),
        },
        now,
    )
    .await?;
    Ok((customer, Some(user_id)))
}

impl Store {
    /// Creates customer `c` (and its first admin's invitation, when it names one), audited.
    pub async fn create_organisation(
        &self,
        actor: &Actor,
        c: &NewOrganisation<'_>,
        reason: &str,
        now: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        let mut tx = self.begin_write().await?;
        match create_organisation_in(&mut tx, actor, c, reason, now).await {
            Ok(made) => {
                tx.commit().await?;
                Ok(made)
            }
            Err(e) => tx.roll_back(Err(e)).await,
        }
    }

    /// The customer `reference` names: its id (digits) or its slug. `NotFound` otherwise.
    pub async fn customer_record(&self, reference: &str) -> Result<CustomerRecord, StoreError> {
        let id = reference.parse::<i64>().unwrap_or(-1);
        // An all-digit slug never hides the customer with that id.
        let row =
            sqlx::query(&format!("{CUSTOMER_COLUMNS} WHERE id = $1 OR slug = $2 ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1"))
                .bind(id)
                .bind(reference)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        customer_record(&row)
    }

    /// The customer whose CRM id is `external_id`, if any.
    pub async fn customer_by_external_id(&self, external_id: &str) -> Result<Option<CustomerRecord>, StoreError> {
        let row = sqlx::query(&format!("{CUSTOMER_COLUMNS} WHERE external_id = $1")).bind(external_id).fetch_optional(self.pool()).await?;
        row.as_ref().map(customer_record).transpose()
    }

    /// Customers by id after `after`, at most `limit`; `search` matches part of the name or
    /// slug (any case) or the whole external id.
    pub async fn list_customer_records(&self, search: Option<&str>, after: i64, limit: i64) -> Result<Vec<CustomerRecord>, StoreError> {
        let search = search.map(str::trim).unwrap_or_default();
        let like = format!("%{}%", search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let rows = sqlx::query(&format!(
            "{CUSTOMER_COLUMNS} WHERE id > $1 AND ($2 = '' OR LOWER(name) LIKE $3 ESCAPE '\\' OR slug LIKE $3 ESCAPE '\\' OR external_id = $2)
             ORDER BY id LIMIT $4"
        ))
        .bind(after)
        .bind(search)
        .bind(like)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(customer_record).collect()
    }

    /// Sets customer `id`'s name and external id (`None` leaves one as it is; an inner
    /// `None` clears the external id), audited as `customer.updated` when anything
    /// changed. Returns the customer as it is now. `NotFound`;
    /// `Duplicate(CustomerExternalId)` when another customer has that external id.
    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: i64,
        name: Option<&str>,
        external_id: Option<Option<&str>>,
        now: i64,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let before = sqlx::query(&format!("{CUSTOMER_COLUMNS} WHERE id = $1")).bind(id).fetch_optional(&mut *tx).await?;
        let Some(before) = before.as_ref().map(customer_record).transpose()? else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        let new_name = name.unwrap_or(&before.name);
        let new_external = external_id.unwrap_or(before.external_id.as_deref());
        if new_name == before.name && new_external == before.external_id.as_deref() {
            return tx.roll_back(Ok(before)).await;
        }
        let updated = sqlx::query("UPDATE customers SET name = $2, external_id = $3 WHERE id = $1")
            .bind(id)
            .bind(new_name)
            .bind(new_external)
            .execute(&mut *tx)
            .await;
        if let Err(e) = updated {
            return tx.roll_back(Err(e.into())).await;
        }
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(id),
                kind: EventKind::CustomerUpdated,
                subject: format!("customer:{id}"),
                before: Some(serde_json::json!({ "name": before.name, "external_id": before.external_id })),
                after: Some(serde_json::json!({ "name": new_name, "external_id": new_external })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(CustomerRecord { name: new_name.to_owned(), external_id: new_external.map(str::to_owned), ..before })
    }

    /// The people of customer `customer_id` who have not been removed, by id.
    pub async fn list_user_records(&self, customer_id: i64) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, email, name, role, created_at, CASE WHEN password_hash IS NULL AND sso_at IS NULL THEN 1 ELSE 0 END AS invited
             FROM users WHERE customer_id = $1 AND disabled = 0 ORDER BY id",
        )
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(UserRecord {
                    id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    name: r.try_get("name")?,
                    role: Role::parse(&role).ok_or_else(|| StoreError::Db(sqlx::Error::Decode("stored role".into())))?,
                    invited: super::flag(r, "invited")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Makes user `user_id` of customer `customer_id` an admin or a member (`role`, a
    /// customer role), audited as `user.role_changed` when it changes. `NotFound` when
    /// there is no such active user; refused when it would leave the organisation without
    /// an admin.
    pub async fn set_user_role(
        &self,
        actor: &Actor,
        customer_id: i64,
        user_id: i64,
        role: Role,
        now: i64,
    ) -> Result<Result<(), RoleRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let current: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND customer_id = $2 AND disabled = 0")
            .bind(user_id)
            .bind(customer_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(current) = current else { return tx.roll_back(Err(StoreError::NotFound)).await };
        if current == role.as_str() {
            return tx.roll_back(Ok(Ok(()))).await;
        }
        if current == Role::CustomerAdmin.as_str() && leaves_no_admin(&mut tx, customer_id, user_id).await? {
            return tx.roll_back(Ok(Err(RoleRefusal::LastAdmin))).await;
        }
        sqlx::query("UPDATE users SET role = $2 WHERE id = $1").bind(user_id).bind(role.as_str()).execute(&mut *tx).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::UserRoleChanged,
                subject: format!("user:{user_id}"),
                before: Some(serde_json::json!({ "role": current })),
                after: Some(serde_json::json!({ "role": role.as_str() })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}
