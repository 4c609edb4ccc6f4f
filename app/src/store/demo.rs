//! The sales demo: one customer flagged `demo`, whose plan sales switch live and reset.
//! Nothing here can touch a customer that is not flagged.

use crate::engine::{EntitlementId, UserId};
use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::entitlements::lifecycle::{create_entitlement, NewEntitlement};
use super::entitlements::seats::assign_seat;
use super::events::EventKind;
use super::members::create_customer;
use super::members::users::{create_user, NewUser};
use super::write::Write;
use super::{Store, StoreError};
use crate::auth::Role;
use crate::engine::EntitlementStatus;

/// The demo customer's slug.
pub const DEMO_SLUG: &str = "demo";
/// The demo customer's user whom the "what the product allows" panel asks about.
pub const DEMO_USER: &str = "pat@demo.example";
/// The plan the demo starts on and returns to on reset.
const START_PLAN: &str = "team";

/// Creates the demo customer (flagged), its user with a seat, on the start plan of
/// `product_id`. Part of the demo seed.
pub async fn create_demo_customer(tx: &mut Write<'_>, product_id: i64, now: i64) -> Result<i64, StoreError> {
    let customer = create_customer(tx, DEMO_SLUG, "Demo Co", now).await?;
    sqlx::query("UPDATE customers SET demo = 1 WHERE id = $1").bind(customer).execute(&mut **tx).await?;
    let user = NewUser { customer_id: Some(customer), email: DEMO_USER, name: "Pat Demo", role: Role::CustomerMember, password_hash: None };
    let user = create_user(tx, &user, now).await?;
    let plan = super::catalog::find_plan_id(tx, product_id, START_PLAN).await?;
    let entitlement = create_entitlement(
        tx,
        &NewEntitlement {
            customer_id: customer,
            product_id,
            plan_id: plan,
            status: EntitlementStatus::Active,
            starts_at: now,
            ends_at: None,
            renews_at: Some(now + 365 * 86_400),
            trial_ends_at: None,
            grace_days: 7,
            auto_renew: true,
            status_reason: None,
        },
        now,
    )
    .await?;
    assign_seat(tx, EntitlementId(entitlement), UserId(user), now).await?;
    Ok(customer)
}

impl Store {
    /// The demo customer's id and its entitlement's id; `NotFound` without a demo.
    pub async fn demo_customer(&self) -> Result<(i64, i64), StoreError> {
        let r = sqlx::query("SELECT c.id, e.id AS entitlement FROM customers c JOIN entitlements e ON e.customer_id = c.id WHERE c.demo = 1 ORDER BY e.id LIMIT 1")
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((r.try_get("id")?, r.try_get("entitlement")?))
    }

    /// Switches the demo customer's entitlement to plan `plan_key` of its product, with
    /// its audit event. `NotFound` without a demo or for an unknown plan.
    pub async fn switch_demo_plan(&self, actor: &Actor, plan_key: &str, now: i64) -> Result<i64, StoreError> {
        let (customer, entitlement) = self.demo_customer().await?;
        let mut tx = self.begin_write().await?;
        let plan: i64 = sqlx::query_scalar(
            "SELECT p.id FROM plans p JOIN entitlements e ON e.product_id = p.product_id
             WHERE e.id = $1 AND p.key = $2 ORDER BY p.version DESC LIMIT 1",
        )
        .bind(entitlement)
        .bind(plan_key)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE entitlements SET plan_id = $2, version = version + 1, updated_at = $3 WHERE id = $1")
            .bind(entitlement)
            .bind(plan)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: EventKind::DemoPlanSwitched,
                subject: format!("entitlement:{entitlement}"),
                before: None,
                after: Some(serde_json::json!({ "plan": plan_key })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Puts the demo back as it started: the start plan, active, no overrides or add-ons,
    /// no instances, the demo user seated. One transaction with its audit event.
    pub async fn reset_demo(&self, actor: &Actor, now: i64) -> Result<i64, StoreError> {
        let (customer, entitlement) = self.demo_customer().await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE entitlements SET
                plan_id = (SELECT p.id FROM plans p WHERE p.product_id = entitlements.product_id AND p.key = $2 ORDER BY p.version DESC LIMIT 1),
                status = 'active', status_reason = NULL, seats_override = NULL, instances_override = NULL,
                trial_ends_at = NULL, ends_at = NULL, version = version + 1, updated_at = $3
             WHERE id = $1",
        )
        .bind(entitlement)
        .bind(START_PLAN)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM entitlement_addons WHERE entitlement_id = $1").bind(entitlement).execute(&mut *tx).await?;
        sqlx::query("UPDATE instances SET deactivated_at = $2 WHERE entitlement_id = $1 AND deactivated_at IS NULL")
            .bind(entitlement)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM seats WHERE entitlement_id = $1").bind(entitlement).execute(&mut *tx).await?;
        let user: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(DEMO_USER).fetch_one(&mut *tx).await?;
        assign_seat(&mut tx, EntitlementId(entitlement), UserId(user), now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: EventKind::DemoReset,
                subject: format!("entitlement:{entitlement}"),
                before: None,
                after: Some(serde_json::json!({ "plan": START_PLAN })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(customer)
    }
}
