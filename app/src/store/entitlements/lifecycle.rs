//! What vendor staff do to an entitlement over its life: grant it with its add-ons, amend
//! its terms, suspend and resume it, move its trial end, renew and cancel it, and move it
//! to its plan's newest version. Each is one transaction with its audit event, and each
//! carries the reason staff gave.

use sqlx::Row;

use super::{AmendRefusal, DecideAmendRefusal, StatusRefusal};
use crate::engine::EntitlementStatus;
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::keys::license_keys;
use crate::store::usage::history;
use crate::store::write::Write;
use crate::store::{flag, Store, StoreError};

/// An entitlement to grant.
#[derive(Debug, Clone)]
pub struct NewEntitlement {
    pub customer_id: i64,
    pub product_id: i64,
    pub plan_id: i64,
    pub status: EntitlementStatus,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub renews_at: Option<i64>,
    pub trial_ends_at: Option<i64>,
    pub grace_days: i64,
    pub auto_renew: bool,
    pub status_reason: Option<String>,
}

/// Grants an entitlement with a new license key; `Duplicate(Unique::CustomerProduct)` when
/// the customer has one for that product already.
pub async fn create_entitlement(tx: &mut Write<'_>, e: &NewEntitlement, at: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO entitlements (customer_id, product_id, plan_id, status, starts_at, ends_at, renews_at,
                                   trial_ends_at, grace_days, auto_renew, status_reason, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(e.customer_id)
    .bind(e.product_id)
    .bind(e.plan_id)
    .bind(e.status.as_str())
    .bind(e.starts_at)
    .bind(e.ends_at)
    .bind(e.renews_at)
    .bind(e.trial_ends_at)
    .bind(e.grace_days)
    .bind(i64::from(e.auto_renew))
    .bind(e.status_reason.as_deref())
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    let id = row.try_get("id")?;
    license_keys::create_license_key(tx, id, &license_keys::random_key(), at).await?;
    Ok(id)
}

/// Adds add-on `addon_id` to entitlement `entitlement_id`; `Conflict` when it has it.
pub async fn add_addon(tx: &mut Write<'_>, entitlement_id: i64, addon_id: i64, at: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO entitlement_addons (entitlement_id, addon_id, added_at) VALUES ($1, $2, $3) ON CONFLICT (entitlement_id, addon_id) DO NOTHING")
        .bind(entitlement_id)
        .bind(addon_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
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
    /// Its id in the vendor's CRM or billing system.
    pub external_id: Option<String>,
}

/// Changed terms of an entitlement: its plan (any version), limits and regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub plan_id: i64,
    pub seats_override: Option<i64>,
    pub instances_override: Option<i64>,
    pub regions: Option<String>,
}

/// What amending an entitlement came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amended {
    /// The terms are set; the entitlement's customer.
    Applied { customer: i64 },
    /// The approval rules send such a change to two people: it waits as `proposal` for a
    /// second member of staff.
    Proposed { proposal: i64, customer: i64 },
}

/// A change of terms proposed by one member of staff, waiting for a second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedAmendment {
    pub id: i64,
    pub entitlement_id: i64,
    pub product: String,
    /// The plan it moves to.
    pub plan: String,
    pub seats: Option<i64>,
    pub instances: Option<i64>,
    pub regions: Option<String>,
    pub reason: String,
    pub proposed_by: String,
    pub proposed_at: i64,
}

fn terms_json(t: &Terms) -> serde_json::Value {
    serde_json::json!({
        "plan_id": t.plan_id,
        "seats_override": t.seats_override,
        "instances_override": t.instances_override,
        "regions": t.regions,
    })
}

/// Whether entitlement `id` has terms `t` already.
async fn unchanged(tx: &mut Write<'_>, id: i64, t: &Terms) -> Result<bool, StoreError> {
    let same: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM entitlements WHERE id = $1 AND plan_id = $2 AND COALESCE(seats_override, -1) = $3
           AND COALESCE(instances_override, -1) = $4 AND COALESCE(regions, '') = $5",
    )
    .bind(id)
    .bind(t.plan_id)
    .bind(t.seats_override.unwrap_or(-1))
    .bind(t.instances_override.unwrap_or(-1))
    .bind(t.regions.as_deref().unwrap_or(""))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(same.is_some())
}

/// Sets entitlement `id`'s terms to `t`, bumping its version, with the day's history.
async fn apply_terms(tx: &mut Write<'_>, id: i64, t: &Terms, now: i64) -> Result<(), StoreError> {
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
    .execute(&mut **tx)
    .await?;
    history::record_day(tx, id, now).await
}

/// Whether the product's approval rules would send this change to two people, as they
/// would a customer's request for it: a move of plan by its jump in tiers, more seats by
/// how many more.
async fn needs_two_approvals(tx: &mut Write<'_>, id: i64, t: &Terms) -> Result<bool, StoreError> {
    use crate::engine::approvals::{route, Ask};
    use crate::engine::requests::RequestKind;
    let now = sqlx::query(
        "SELECT e.product_id, e.plan_id, pl.key, pl.rank, COALESCE(e.seats_override, pl.seats) AS seats
         FROM entitlements e JOIN plans pl ON pl.id = e.plan_id WHERE e.id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let target = sqlx::query("SELECT rank, seats FROM plans WHERE id = $1").bind(t.plan_id).fetch_one(&mut **tx).await?;
    let rules = crate::store::requests::rules::rules_of(&mut **tx, now.try_get("product_id")?).await?;
    let plan_key: String = now.try_get("key")?;
    let mut asks = Vec::new();
    if t.plan_id != now.try_get::<i64, _>("plan_id")? {
        let jump = target.try_get::<i64, _>("rank")? - now.try_get::<i64, _>("rank")?;
        asks.push(Ask { kind: RequestKind::Plan, plan_key: &plan_key, seats: None, rank_jump: Some(jump) });
    }
    let more_seats = t.seats_override.unwrap_or(target.try_get("seats")?) - now.try_get::<i64, _>("seats")?;
    if more_seats > 0 {
        asks.push(Ask { kind: RequestKind::Seats, plan_key: &plan_key, seats: Some(more_seats), rank_jump: None });
    }
    Ok(asks.iter().any(|ask| route(&rules, ask).0 >= 2))
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
            "auto_renew": flag(&r, "auto_renew")?,
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

/// Grants entitlement `g` inside `tx` (see [`Store::grant_entitlement`]); returns its id.
pub(crate) async fn grant_in(tx: &mut Write<'_>, actor: &Actor, g: &Grant, reason: &str, now: i64) -> Result<i64, StoreError> {
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
    let id = create_entitlement(tx, &new, now).await?;
    sqlx::query("UPDATE entitlements SET seats_override = $2, instances_override = $3, regions = $4, external_id = $5 WHERE id = $1")
        .bind(id)
        .bind(g.seats_override)
        .bind(g.instances_override)
        .bind(g.regions.as_deref())
        .bind(g.external_id.as_deref())
        .execute(&mut **tx)
        .await?;
    for addon in &g.addon_ids {
        add_addon(tx, id, *addon, now).await?;
    }
    history::record_day(tx, id, now).await?;
    let (_, after) = terms_of(tx, id).await?.ok_or(StoreError::NotFound)?;
    audit::record(
        tx,
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
    Ok(id)
}

impl Store {
    /// Grants entitlement `g` (a trial when it has a trial end, else active) with its
    /// add-ons, audited. `Duplicate(Unique::CustomerProduct)` when the customer has one for
    /// that product already.
    pub async fn grant_entitlement(&self, actor: &Actor, g: &Grant, reason: &str, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        match grant_in(&mut tx, actor, g, reason, now).await {
            Ok(id) => {
                tx.commit().await?;
                Ok(id)
            }
            Err(e) => tx.roll_back(Err(e)).await,
        }
    }

    /// Sets entitlement `id`'s terms to `t` for staff's `reason`, bumping its version, with
    /// its audit event; or, when the approval rules send such a change to two people (a
    /// jump of tiers, a large number of seats), records it as proposed (audited) for a
    /// second member of staff to decide. `NotFound` for an unknown entitlement; refused
    /// when nothing would change or a proposal for it is pending.
    pub async fn amend_entitlement(
        &self,
        actor: &Actor,
        id: i64,
        expected: Option<i64>,
        t: &Terms,
        reason: &str,
        now: i64,
    ) -> Result<Result<Amended, AmendRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Err(e) = tx.expect_version(id, expected).await {
            return tx.roll_back(Err(e)).await;
        }
        let Some((customer, before)) = terms_of(&mut tx, id).await? else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        if unchanged(&mut tx, id, t).await? {
            return tx.roll_back(Ok(Err(AmendRefusal::Unchanged))).await;
        }
        let pending: Option<i64> =
            sqlx::query_scalar("SELECT id FROM proposed_amendments WHERE entitlement_id = $1 AND status = 'pending'")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if pending.is_some() {
            return tx.roll_back(Ok(Err(AmendRefusal::ProposalPending))).await;
        }
        // The two-person rule is for people; the vendor's systems (an API key, acting on a
        // purchase) apply a change of terms directly.
        if actor.user_id.is_some() && needs_two_approvals(&mut tx, id, t).await? {
            let proposal: i64 = sqlx::query_scalar(
                "INSERT INTO proposed_amendments (entitlement_id, terms_json, reason, proposed_by, proposed_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(id)
            .bind(terms_json(t).to_string())
            .bind(reason)
            .bind(actor.user_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor,
                    customer_id: Some(customer),
                    kind: EventKind::EntitlementAmendmentProposed,
                    subject: format!("entitlement:{id}"),
                    before: Some(before),
                    after: Some(serde_json::json!({ "proposal": proposal, "terms": terms_json(t), "reason": reason })),
                },
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(Ok(Amended::Proposed { proposal, customer }));
        }
        apply_terms(&mut tx, id, t, now).await?;
        finish(tx, actor, customer, id, EventKind::EntitlementAmended, before, reason, now).await?;
        Ok(Ok(Amended::Applied { customer }))
    }

    /// Decides proposed change `proposal` as a second member of staff (`actor`, not the one
    /// who proposed it): approved, the terms are set (audited as `entitlement.amended`, with
    /// both names); rejected, it is dropped (audited). One transaction. Returns the
    /// entitlement's customer; `NotFound` for an unknown proposal.
    pub async fn decide_amendment(
        &self,
        actor: &Actor,
        proposal: i64,
        approve: bool,
        comment: &str,
        now: i64,
    ) -> Result<Result<i64, DecideAmendRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT a.entitlement_id, a.terms_json, a.reason, a.proposed_by, a.status, u.email
             FROM proposed_amendments a JOIN users u ON u.id = a.proposed_by WHERE a.id = $1",
        )
        .bind(proposal)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return tx.roll_back(Err(StoreError::NotFound)).await };
        if row.try_get::<String, _>("status")? != "pending" {
            return tx.roll_back(Ok(Err(DecideAmendRefusal::NotPending))).await;
        }
        if Some(row.try_get::<i64, _>("proposed_by")?) == actor.user_id {
            return tx.roll_back(Ok(Err(DecideAmendRefusal::OwnProposal))).await;
        }
        let claimed = sqlx::query(
            "UPDATE proposed_amendments SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND status = 'pending'",
        )
        .bind(proposal)
        .bind(if approve { "applied" } else { "rejected" })
        .bind(actor.user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            return tx.roll_back(Ok(Err(DecideAmendRefusal::NotPending))).await;
        }
        let id: i64 = row.try_get("entitlement_id")?;
        let proposer: String = row.try_get("email")?;
        let reason: String = row.try_get("reason")?;
        let Some((customer, before)) = terms_of(&mut tx, id).await? else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        if !approve {
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor,
                    customer_id: Some(customer),
                    kind: EventKind::EntitlementAmendmentRejected,
                    subject: format!("entitlement:{id}"),
                    before: None,
                    after: Some(serde_json::json!({ "proposal": proposal, "proposed_by": proposer, "comment": comment })),
                },
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(Ok(customer));
        }
        let terms: serde_json::Value = serde_json::from_str(&row.try_get::<String, _>("terms_json")?).unwrap_or_default();
        let t = Terms {
            plan_id: terms["plan_id"].as_i64().unwrap_or_default(),
            seats_override: terms["seats_override"].as_i64(),
            instances_override: terms["instances_override"].as_i64(),
            regions: terms["regions"].as_str().map(str::to_owned),
        };
        apply_terms(&mut tx, id, &t, now).await?;
        let why = format!(
            "{reason} (proposed by {proposer}, approved by {}{})",
            actor.label,
            if comment.is_empty() { String::new() } else { format!(": {comment}") }
        );
        finish(tx, actor, customer, id, EventKind::EntitlementAmended, before, &why, now).await?;
        Ok(Ok(customer))
    }

    /// The proposed changes of `customer_id`'s entitlements waiting for a second approval,
    /// oldest first.
    pub async fn list_proposed_amendments(&self, customer_id: i64) -> Result<Vec<ProposedAmendment>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.entitlement_id, p.name AS product, a.terms_json, a.reason, u.email, a.proposed_at
             FROM proposed_amendments a JOIN entitlements e ON e.id = a.entitlement_id JOIN products p ON p.id = e.product_id
             JOIN users u ON u.id = a.proposed_by
             WHERE e.customer_id = $1 AND a.status = 'pending' ORDER BY a.id",
        )
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let terms: serde_json::Value = serde_json::from_str(&r.try_get::<String, _>("terms_json")?).unwrap_or_default();
            let plan: Option<String> = sqlx::query_scalar("SELECT name FROM plans WHERE id = $1")
                .bind(terms["plan_id"].as_i64().unwrap_or_default())
                .fetch_optional(self.pool())
                .await?;
            out.push(ProposedAmendment {
                id: r.try_get("id")?,
                entitlement_id: r.try_get("entitlement_id")?,
                product: r.try_get("product")?,
                plan: plan.unwrap_or_default(),
                seats: terms["seats_override"].as_i64(),
                instances: terms["instances_override"].as_i64(),
                regions: terms["regions"].as_str().map(str::to_owned),
                reason: r.try_get("reason")?,
                proposed_by: r.try_get("email")?,
                proposed_at: r.try_get("proposed_at")?,
            });
        }
        Ok(out)
    }

    /// Suspends (`suspend`) or resumes entitlement `entitlement_id` with staff's `reason`,
    /// bumping its version, with its audit event. Returns the customer, or `NotFound`;
    /// refused with [`StatusRefusal::NotActive`] (suspend) or
    /// [`StatusRefusal::NotSuspended`] (resume) when its status does not allow it.
    pub async fn set_suspended(
        &self,
        actor: &Actor,
        entitlement_id: i64,
        expected: Option<i64>,
        suspend: bool,
        reason: &str,
        now: i64,
    ) -> Result<Result<i64, StatusRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Err(e) = tx.expect_version(entitlement_id, expected).await {
            return tx.roll_back(Err(e)).await;
        }
        let (from, to, why) = if suspend { ("active", "suspended", Some(reason)) } else { ("suspended", "active", None) };
        let row = sqlx::query(
            "UPDATE entitlements SET status = $3, status_reason = $4, version = version + 1, updated_at = $5
             WHERE id = $1 AND status = $2 RETURNING customer_id",
        )
        .bind(entitlement_id)
        .bind(from)
        .bind(to)
        .bind(why)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM entitlements WHERE id = $1").bind(entitlement_id).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return tx.roll_back(Err(StoreError::NotFound)).await;
            }
            let refusal = if suspend { StatusRefusal::NotActive } else { StatusRefusal::NotSuspended };
            return tx.roll_back(Ok(Err(refusal))).await;
        };
        let customer: i64 = row.try_get("customer_id")?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: if suspend { EventKind::EntitlementSuspended } else { EventKind::EntitlementResumed },
                subject: format!("entitlement:{entitlement_id}"),
                before: Some(serde_json::json!({ "status": from })),
                after: Some(serde_json::json!({ "status": to, "reason": reason })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(customer))
    }

    /// Moves the trial end of entitlement `entitlement_id` (staff extending or ending a
    /// trial), bumping its version, with its audit event. `NotFound` when there is none.
    pub async fn set_trial_end(
        &self,
        actor: &Actor,
        entitlement_id: i64,
        expected: Option<i64>,
        trial_ends_at: i64,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if let Err(e) = tx.expect_version(entitlement_id, expected).await {
            return tx.roll_back(Err(e)).await;
        }
        let before =
            sqlx::query("UPDATE entitlements SET updated_at = $2 WHERE id = $1 RETURNING customer_id, trial_ends_at, ends_at, version")
                .bind(entitlement_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(before) = before else { return tx.roll_back(Err(StoreError::NotFound)).await };
        let customer: i64 = before.try_get("customer_id")?;
        let old: Option<i64> = before.try_get("trial_ends_at")?;
        let ends_at: Option<i64> = before.try_get("ends_at")?;
        let new_end = crate::engine::dates::end_after_trial_move(ends_at, old, trial_ends_at);
        sqlx::query("UPDATE entitlements SET trial_ends_at = $2, ends_at = $3, version = version + 1 WHERE id = $1")
            .bind(entitlement_id)
            .bind(trial_ends_at)
            .bind(new_end)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: EventKind::EntitlementTrialEndSet,
                subject: format!("entitlement:{entitlement_id}"),
                before: Some(serde_json::json!({ "trial_ends_at": old })),
                after: Some(serde_json::json!({ "trial_ends_at": trial_ends_at, "reason": reason })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Renews entitlement `id` for `days` more from the date it would have renewed or
    /// ended (or from now, when that has passed), active again unless suspended; bumps
    /// its version, audited; returns the customer. `NotFound`; refused with
    /// [`StatusRefusal::RenewingCancelled`] for a cancelled one.
    pub async fn renew_entitlement(
        &self,
        actor: &Actor,
        id: i64,
        expected: Option<i64>,
        days: i64,
        reason: &str,
        now: i64,
    ) -> Result<Result<i64, StatusRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Err(e) = tx.expect_version(id, expected).await {
            return tx.roll_back(Err(e)).await;
        }
        match renew_in(&mut tx, actor, id, days, reason, now).await {
            Ok(Ok(customer)) => {
                tx.commit().await?;
                Ok(Ok(customer))
            }
            other => tx.roll_back(other).await,
        }
    }

    /// Cancels entitlement `id` at once with `reason` (shown to the customer): nothing is
    /// allowed any more and it will not renew; bumps its version, audited; returns the
    /// customer. `NotFound`; refused with [`StatusRefusal::CancelledAlready`] when it is
    /// cancelled already.
    pub async fn cancel_entitlement(
        &self,
        actor: &Actor,
        id: i64,
        expected: Option<i64>,
        reason: &str,
        now: i64,
    ) -> Result<Result<i64, StatusRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Err(e) = tx.expect_version(id, expected).await {
            return tx.roll_back(Err(e)).await;
        }
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
            history::record_day(&mut tx, id, now).await?;
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
    record_change(&mut tx, actor, customer, id, kind, before, reason, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Records the audit event of `kind` for a change of entitlement `id` from `before` to
/// its terms now.
#[allow(clippy::too_many_arguments)]
async fn record_change(
    tx: &mut Write<'_>,
    actor: &Actor,
    customer: i64,
    id: i64,
    kind: EventKind,
    before: serde_json::Value,
    reason: &str,
    now: i64,
) -> Result<(), StoreError> {
    let (_, after) = terms_of(tx, id).await?.ok_or(StoreError::NotFound)?;
    audit::record(
        tx,
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
    Ok(())
}

/// Renews entitlement `id` for `days` inside `tx` (see [`Store::renew_entitlement`]).
pub(crate) async fn renew_in(
    tx: &mut Write<'_>,
    actor: &Actor,
    id: i64,
    days: i64,
    reason: &str,
    now: i64,
) -> Result<Result<i64, StatusRefusal>, StoreError> {
    let (customer, before, cancelled) = current_terms(tx, id).await?;
    if cancelled {
        return Ok(Err(StatusRefusal::RenewingCancelled));
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
    .execute(&mut **tx)
    .await?;
    record_change(tx, actor, customer, id, EventKind::EntitlementRenewed, before, reason, now).await?;
    Ok(Ok(customer))
}

/// Sets entitlement `id`'s terms to `t` inside `tx`, audited as `entitlement.amended`
/// (no approval rules: the caller has decided); `Ok(false)` when it has them already.
pub(crate) async fn set_terms_in(
    tx: &mut Write<'_>,
    actor: &Actor,
    id: i64,
    t: &Terms,
    reason: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let (customer, before) = terms_of(tx, id).await?.ok_or(StoreError::NotFound)?;
    if unchanged(tx, id, t).await? {
        return Ok(false);
    }
    apply_terms(tx, id, t, now).await?;
    record_change(tx, actor, customer, id, EventKind::EntitlementAmended, before, reason, now).await?;
    Ok(true)
}
