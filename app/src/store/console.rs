//! What vendor staff do to customers from the console: create a customer with its first
//! admin, grant an entitlement, amend its terms, renew and cancel it. Each is one
//! transaction with its audit event, and each carries the reason staff gave.

use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::entitlements::{create_entitlement, NewEntitlement, StatusRefusal};
use super::events::EventKind;
use super::users::{create_user, NewUser};
use super::write::Write;
use super::{Store, StoreError};
use crate::auth::Role;
use crate::entitlements::EntitlementStatus;

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

/// An entitlement as staff grant it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub customer_id: i64,
    pub product_id: i64,
    pub plan_id: i64,
    pub addon_ids: Vec<i64>,
    pub seats_override: Option<i64>,
    pub instances_override: Option<i64>,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub renews_at: Option<i64>,
    pub trial_ends_at: Option<i64>,
    pub grace_days: i64,
    pub auto_renew: bool,
    /// Comma-separated region codes; `None` for anywhere.
    pub regions: Option<String>,
}

/// Changed terms of an entitlement: its plan (any version), limits and regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub plan_id: i64,
    pub seats_override: Option<i64>,
    pub instances_override: Option<i64>,
    pub regions: Option<String>,
}

/// The terms an entitlement has now, as the audit event records them.
async fn terms_of(tx: &mut Write<'_>, entitlement_id: i64) -> Result<Option<(i64, serde_json::Value)>, StoreError> {
    let row = sqlx::query(
        "SELECT e.customer_id, e.plan_id, pl.key AS plan, pl.version AS plan_version, e.status, e.seats_override, e.instances_override,
                e.regions, e.starts_at, e.ends_at, e.renews_at, e.trial_ends_at, e.auto_renew, e.version
         FROM entitlements e JOIN plans pl ON pl.id = e.plan_id WHERE e.id = $1",
    )
    .bind(entitlement_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some((
        r.try_get("customer_id")?,
        serde_json::json!({
            "plan": r.try_get::<String, _>("plan")?,
            "plan_version": r.try_get::<i64, _>("plan_version")?,
            "status": r.try_get::<String, _>("status")?,
            "seats_override": r.try_get::<Option<i64>, _>("seats_override")?,
            "instances_override": r.try_get::<Option<i64>, _>("instances_override")?,
            "regions": r.try_get::<Option<String>, _>("regions")?,
            "starts_at": r.try_get::<i64, _>("starts_at")?,
            "ends_at": r.try_get::<Option<i64>, _>("ends_at")?,
            "renews_at": r.try_get::<Option<i64>, _>("renews_at")?,
            "trial_ends_at": r.try_get::<Option<i64>, _>("trial_ends_at")?,
            "auto_renew": super::flag(&r, "auto_renew")?,
            "version": r.try_get::<i64, _>("version")?,
        }),
    )))
}

/// The customer and terms of entitlement `id`, and whether it is cancelled; `NotFound`
/// when there is none.
async fn current_terms(tx: &mut Write<'_>, id: i64) -> Result<(i64, serde_json::Value, bool), StoreError> {
    let (customer, terms) = terms_of(tx, id).await?.ok_or(StoreError::NotFound)?;
    let cancelled = terms["status"] == "cancelled";
    Ok((customer, terms, cancelled))
}

/// Why staff could not amend an entitlement's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmendRefusal {
    /// The terms asked for are the ones it has.
    #[error("the entitlement has these terms already")]
    Unchanged,
}

impl Store {
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
        let mut tx = self.begin_write().await?;
        let email = c.admin_email.trim().to_lowercase();
        let customer = match super::customers::create_customer(&mut tx, c.slug, c.name, now).await {
            Ok(id) => id,
            Err(e) => return tx.roll_back(Err(e)).await,
        };
        let user =
            NewUser { customer_id: Some(customer), email: &email, name: c.admin_name, role: Role::CustomerAdmin, password_hash: None };
        let user_id = match create_user(&mut tx, &user, now).await {
            Ok(id) => id,
            Err(e) => return tx.roll_back(Err(e)).await,
        };
        super::members::insert_invitation(&mut tx, customer, user_id, c.token_hash, actor.user_id, c.expires_at, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: EventKind::CustomerCreated,
                subject: format!("customer:{customer}"),
                before: None,
                after: Some(serde_json::json!({ "slug": c.slug, "name": c.name, "reason": reason })),
            },
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: EventKind::UserInvited,
                subject: format!("user:{user_id}"),
                before: None,
                after: Some(
                    serde_json::json!({ "email": email, "name": c.admin_name, "role": "customer_admin", "expires_at": c.expires_at }),
                ),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((customer, user_id))
    }

    /// Grants entitlement `g` (a trial when it has a trial end, else active) with its
    /// add-ons, audited. `Duplicate(Unique::CustomerProduct)` when the customer has one for
    /// that product already.
    pub async fn grant_entitlement(&self, actor: &Actor, g: &Grant, reason: &str, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let status = if g.trial_ends_at.is_some_and(|t| t > now) { EntitlementStatus::Trial } else { EntitlementStatus::Active };
        let new = NewEntitlement {
            customer_id: g.customer_id,
            product_id: g.product_id,
            plan_id: g.plan_id,
            status,
            starts_at: g.starts_at,
            ends_at: g.ends_at,
            renews_at: g.renews_at,
            trial_ends_at: g.trial_ends_at,
            grace_days: g.grace_days,
            auto_renew: g.auto_renew,
            status_reason: None,
        };
        let id = match create_entitlement(&mut tx, &new, now).await {
            Ok(id) => id,
            Err(e) => return tx.roll_back(Err(e)).await,
        };
        sqlx::query("UPDATE entitlements SET seats_override = $2, instances_override = $3, regions = $4 WHERE id = $1")
            .bind(id)
            .bind(g.seats_override)
            .bind(g.instances_override)
            .bind(g.regions.as_deref())
            .execute(&mut *tx)
            .await?;
        for addon in &g.addon_ids {
            super::catalog::add_addon(&mut tx, id, *addon, now).await?;
        }
        super::usage_history::record_day(&mut tx, id, now).await?;
        let (_, after) = terms_of(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(g.customer_id),
                kind: EventKind::EntitlementGranted,
                subject: format!("entitlement:{id}"),
                before: None,
                after: Some(serde_json::json!({ "terms": after, "addons": g.addon_ids, "reason": reason })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Sets the plan, limits and regions of entitlement `id`, bumping its version,
    /// audited; returns the customer. `NotFound` when there is none; refused with
    /// [`AmendRefusal::Unchanged`] when nothing would change.
    pub async fn amend_entitlement(
        &self,
        actor: &Actor,
        id: i64,
        t: &Terms,
        reason: &str,
        now: i64,
    ) -> Result<Result<i64, AmendRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some((customer, before)) = terms_of(&mut tx, id).await? else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        let same: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM entitlements WHERE id = $1 AND plan_id = $2 AND COALESCE(seats_override, -1) = $3
               AND COALESCE(instances_override, -1) = $4 AND COALESCE(regions, '') = $5",
        )
        .bind(id)
        .bind(t.plan_id)
        .bind(t.seats_override.unwrap_or(-1))
        .bind(t.instances_override.unwrap_or(-1))
        .bind(t.regions.as_deref().unwrap_or(""))
        .fetch_optional(&mut *tx)
        .await?;
        if same.is_some() {
            return tx.roll_back(Ok(Err(AmendRefusal::Unchanged))).await;
        }
        sqlx::query(
            "UPDATE entitlements SET plan_id = $2, seats_override = $3, instances_override = $4, regions = $5,
                    version = version + 1, updated_at = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(t.plan_id)
        .bind(t.seats_override)
        .bind(t.instances_override)
        .bind(t.regions.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        super::usage_history::record_day(&mut tx, id, now).await?;
        finish(tx, actor, customer, id, EventKind::EntitlementAmended, before, reason, now).await?;
        Ok(Ok(customer))
    }

    /// Renews entitlement `id` for `days` more from the date it would have renewed or
    /// ended (or from now, when that has passed), active again unless suspended; bumps
    /// its version, audited; returns the customer. `NotFound`; refused with
    /// [`StatusRefusal::RenewingCancelled`] for a cancelled one.
    pub async fn renew_entitlement(
        &self,
        actor: &Actor,
        id: i64,
        days: i64,
        reason: &str,
        now: i64,
    ) -> Result<Result<i64, StatusRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let (customer, before, cancelled) = match current_terms(&mut tx, id).await {
            Ok(found) => found,
            Err(e) => return tx.roll_back(Err(e)).await,
        };
        if cancelled {
            return tx.roll_back(Ok(Err(StatusRefusal::RenewingCancelled))).await;
        }
        let term = days * 86_400;
        sqlx::query(
            "UPDATE entitlements SET
                renews_at = CASE WHEN renews_at IS NULL AND ends_at IS NOT NULL THEN NULL
                                 ELSE (CASE WHEN COALESCE(renews_at, trial_ends_at, $2) > $2 THEN COALESCE(renews_at, trial_ends_at, $2) ELSE $2 END) + $3 END,
                ends_at = CASE WHEN ends_at IS NULL THEN NULL
                               ELSE (CASE WHEN ends_at > $2 THEN ends_at ELSE $2 END) + $3 END,
                trial_ends_at = NULL,
                status = CASE WHEN status = 'suspended' THEN 'suspended' ELSE 'active' END,
                version = version + 1, updated_at = $2
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(term)
        .execute(&mut *tx)
        .await?;
        finish(tx, actor, customer, id, EventKind::EntitlementRenewed, before, reason, now).await?;
        Ok(Ok(customer))
    }

    /// Cancels entitlement `id` at once with `reason` (shown to the customer): nothing is
    /// allowed any more and it will not renew; bumps its version, audited; returns the
    /// customer. `NotFound`; refused with [`StatusRefusal::CancelledAlready`] when it is
    /// cancelled already.
    pub async fn cancel_entitlement(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
        now: i64,
    ) -> Result<Result<i64, StatusRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let (customer, before, cancelled) = match current_terms(&mut tx, id).await {
            Ok(found) => found,
            Err(e) => return tx.roll_back(Err(e)).await,
        };
        if cancelled {
            return tx.roll_back(Ok(Err(StatusRefusal::CancelledAlready))).await;
        }
        sqlx::query(
            "UPDATE entitlements SET status = 'cancelled', status_reason = $2, auto_renew = 0, version = version + 1, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        finish(tx, actor, customer, id, EventKind::EntitlementCancelled, before, reason, now).await?;
        Ok(Ok(customer))
    }
}

impl Store {
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

/// Records the audit event of a change to entitlement `id` (its terms before and after)
/// and commits.
#[allow(clippy::too_many_arguments)]
async fn finish(
    mut tx: Write<'_>,
    actor: &Actor,
    customer: i64,
    id: i64,
    kind: EventKind,
    before: serde_json::Value,
    reason: &str,
    now: i64,
) -> Result<(), StoreError> {
    let (_, after) = terms_of(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
    audit::record(
        &mut tx,
        NewAuditEvent {
            actor,
            customer_id: Some(customer),
            kind,
            subject: format!("entitlement:{id}"),
            before: Some(before),
            after: Some(serde_json::json!({ "terms": after, "reason": reason })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
