//! An order from the vendor's CRM or billing: a customer (by the CRM's id), a SKU, a
//! quantity and a term, turned by the catalog into a new or changed entitlement, in one
//! transaction with every event it causes.

use sqlx::Row;

use super::entitlements::{add_addon_in, record_in, sku_in, EntitlementRecord, Sold};
use super::{create_organisation_in, NewOrganisation};
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::catalog::find_plan_id;
use crate::store::entitlements::lifecycle::{grant_in, renew_in, set_terms_in, Grant, Terms};
use crate::store::events::EventKind;
use crate::store::{Store, StoreError};

/// An order.
#[derive(Debug, Clone)]
pub struct Order<'a> {
    /// The product of the API key placing it; a SKU of another product is refused.
    pub product_id: i64,
    /// The customer's id in the CRM.
    pub customer_external_id: &'a str,
    /// The customer to create when no customer has that id (its `external_id` is set to
    /// it); `None` refuses an order for an unknown customer.
    pub new_customer: Option<NewOrganisation<'a>>,
    pub sku: &'a str,
    /// Seats, for a plan's SKU; 1 for an add-on's.
    pub quantity: i64,
    /// Days the order pays for: a new entitlement renews after them, an existing one is
    /// renewed for them. `None` for no term (no renewal date; nothing renewed).
    pub term_days: Option<i64>,
    /// The entitlement's id in the CRM or billing (set on a new entitlement, or on an
    /// existing one that has none).
    pub external_id: Option<&'a str>,
    pub reason: &'a str,
}

/// What an order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub customer_id: i64,
    /// The customer was created by this order, with this admin invited (if named).
    pub created_customer: Option<Option<i64>>,
    /// The entitlement was granted by this order (else changed, or left as it was).
    pub granted: bool,
    pub entitlement: EntitlementRecord,
    /// The events the order recorded, in order.
    pub events: Vec<EventKind>,
}

/// Why an order was refused; nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRefusal {
    /// No SKU of the catalog is called that (or it is another product's).
    UnknownSku,
    /// No customer has the CRM id and the order does not say how to create one.
    UnknownCustomer,
    /// An add-on's SKU for a customer without an entitlement to its product.
    NoEntitlement,
    /// A quantity the SKU cannot take: at least 1 seat for a plan, exactly 1 add-on.
    Quantity,
    /// The customer's entitlement is cancelled: a new one is granted by staff.
    Cancelled,
}

impl Store {
    /// Places `order` in one transaction: creates the customer when it is new (with its
    /// admin's invitation), then, for a plan's SKU, grants the entitlement (active, the
    /// quantity as its seats, renewing after the term) or moves an existing one to that
    /// plan and seats and renews it for the term; for an add-on's SKU, adds the add-on to
    /// the existing entitlement. Records `order.placed` beside the events of each change.
    /// `Duplicate(..)` when a new customer's slug, external id or admin's email is taken.
    pub async fn place_order(&self, actor: &Actor, order: &Order<'_>, now: i64) -> Result<Result<Placed, OrderRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let sku = match sku_in(&mut tx, order.sku).await? {
            Some(sku) if sku.product_id == order.product_id => sku,
            _ => return tx.roll_back(Ok(Err(OrderRefusal::UnknownSku))).await,
        };
        let quantity_ok = match sku.sells {
            Sold::Plan(_) => (1..=1_000_000).contains(&order.quantity),
            Sold::Addon(_) => order.quantity == 1,
        };
        if !quantity_ok {
            return tx.roll_back(Ok(Err(OrderRefusal::Quantity))).await;
        }
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE external_id = $1")
            .bind(order.customer_external_id)
            .fetch_optional(&mut *tx)
            .await?;
        let (customer, created_customer) = match (known, &order.new_customer) {
            (Some(id), _) => (id, None),
            (None, Some(new)) => {
                let new = NewOrganisation { external_id: Some(order.customer_external_id), ..new.clone() };
                match create_organisation_in(&mut tx, actor, &new, order.reason, now).await {
                    Ok((id, admin)) => (id, Some(admin)),
                    Err(e) => return tx.roll_back(Err(e)).await,
                }
            }
            (None, None) => return tx.roll_back(Ok(Err(OrderRefusal::UnknownCustomer))).await,
        };
        let existing = sqlx::query("SELECT id, status, external_id FROM entitlements WHERE customer_id = $1 AND product_id = $2")
            .bind(customer)
            .bind(order.product_id)
            .fetch_optional(&mut *tx)
            .await?;
        let mut granted = false;
        let entitlement = match (&sku.sells, existing) {
            (Sold::Plan(plan), None) => {
                let plan_id = find_plan_id(&mut tx, order.product_id, plan).await?;
                let grace_days: i64 =
                    sqlx::query_scalar("SELECT grace_days FROM plans WHERE id = $1").bind(plan_id).fetch_one(&mut *tx).await?;
                let grant = Grant {
                    customer_id: customer,
                    product_id: order.product_id,
                    plan_id,
                    addon_ids: Vec::new(),
                    seats_override: Some(order.quantity),
                    instances_override: None,
                    starts_at: now,
                    ends_at: None,
                    renews_at: order.term_days.map(|d| now + d * 86_400),
                    trial_ends_at: None,
                    grace_days,
                    auto_renew: true,
                    regions: None,
                    external_id: order.external_id.map(str::to_owned),
                };
                granted = true;
                match grant_in(&mut tx, actor, &grant, order.reason, now).await {
                    Ok(id) => id,
                    Err(e) => return tx.roll_back(Err(e)).await,
                }
            }
            (Sold::Addon(_), None) => return tx.roll_back(Ok(Err(OrderRefusal::NoEntitlement))).await,
            (sells, Some(row)) => {
                let id: i64 = row.try_get("id")?;
                if row.try_get::<String, _>("status")? == "cancelled" {
                    return tx.roll_back(Ok(Err(OrderRefusal::Cancelled))).await;
                }
                match sells {
                    Sold::Plan(plan) => {
                        let plan_id = find_plan_id(&mut tx, order.product_id, plan).await?;
                        let current = sqlx::query("SELECT instances_override, regions FROM entitlements WHERE id = $1")
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?;
                        let terms = Terms {
                            plan_id,
                            seats_override: Some(order.quantity),
                            instances_override: current.try_get("instances_override")?,
                            regions: current.try_get("regions")?,
                        };
                        set_terms_in(&mut tx, actor, id, &terms, order.reason, now).await?;
                        if let Some(days) = order.term_days {
                            if renew_in(&mut tx, actor, id, days, order.reason, now).await?.is_err() {
                                return tx.roll_back(Ok(Err(OrderRefusal::Cancelled))).await;
                            }
                        }
                    }
                    Sold::Addon(addon) => {
                        let addon_id: i64 = sqlx::query_scalar("SELECT id FROM addons WHERE product_id = $1 AND key = $2")
                            .bind(order.product_id)
                            .bind(addon)
                            .fetch_one(&mut *tx)
                            .await?;
                        add_addon_in(&mut tx, actor, id, addon_id, order.reason, now).await?;
                    }
                }
                if let (Some(external), None) = (order.external_id, row.try_get::<Option<String>, _>("external_id")?) {
                    let set = sqlx::query("UPDATE entitlements SET external_id = $2 WHERE id = $1")
                        .bind(id)
                        .bind(external)
                        .execute(&mut *tx)
                        .await;
                    if let Err(e) = set {
                        return tx.roll_back(Err(e.into())).await;
                    }
                }
                id
            }
        };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: EventKind::OrderPlaced,
                subject: format!("entitlement:{entitlement}"),
                before: None,
                after: Some(serde_json::json!({
                    "customer_external_id": order.customer_external_id,
                    "sku": order.sku,
                    "quantity": order.quantity,
                    "term_days": order.term_days,
                    "external_id": order.external_id,
                    "reason": order.reason,
                })),
            },
            now,
        )
        .await?;
        let record = record_in(&mut tx, entitlement).await?;
        let changes = tx.commit().await?;
        Ok(Ok(Placed { customer_id: customer, created_customer, granted, entitlement: record, events: changes.events }))
    }
}
