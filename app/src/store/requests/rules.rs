//! Approval rules as the catalog keeps them: created and retired by vendor admins, each
//! with its audit event; read when a request is filed.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::engine::{ApprovalRule, RequestKind, RuleEffect};
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::write::Write;
use crate::store::{Store, StoreError};

const RULE_SELECT: &str =
    "SELECT id, product_id, effect, kind, plan_key, min_seats, max_seats, min_rank_jump FROM approval_rules WHERE retired_at IS NULL";

fn rule_of(r: &AnyRow) -> Result<ApprovalRule, StoreError> {
    let bad = |what: &str| StoreError::Db(sqlx::Error::Decode(format!("stored rule {what}").into()));
    let effect: String = r.try_get("effect")?;
    let kind: String = r.try_get("kind")?;
    Ok(ApprovalRule {
        id: r.try_get("id")?,
        product_id: r.try_get("product_id")?,
        effect: RuleEffect::parse(&effect).ok_or_else(|| bad("effect"))?,
        kind: RequestKind::parse(&kind).ok_or_else(|| bad("kind"))?,
        plan_key: r.try_get("plan_key")?,
        min_seats: r.try_get("min_seats")?,
        max_seats: r.try_get("max_seats")?,
        min_rank_jump: r.try_get("min_rank_jump")?,
    })
}

/// The rules in force for product `product_id`, oldest first.
pub async fn rules_of<'e, E: Executor<'e, Database = Any>>(ex: E, product_id: i64) -> Result<Vec<ApprovalRule>, StoreError> {
    let sql = format!("{RULE_SELECT} AND product_id = $1 ORDER BY id");
    let rows = sqlx::query(&sql).bind(product_id).fetch_all(ex).await?;
    rows.iter().map(rule_of).collect()
}

/// Adds a rule (its `id` is ignored) inside `tx`, with its audit event; returns its id.
pub async fn add_rule(tx: &mut Write<'_>, actor: &Actor, rule: &ApprovalRule, now: i64) -> Result<i64, StoreError> {
    let id = insert_rule(tx, rule, now).await?;
    audit::record(
        tx,
        NewAuditEvent {
            actor,
            customer_id: None,
            kind: EventKind::CatalogRuleAdded,
            subject: format!("rule:{id}"),
            before: None,
            after: Some(serde_json::json!({ "rule": rule.describe(), "product": rule.product_id })),
        },
        now,
    )
    .await?;
    Ok(id)
}

/// Inserts a rule inside `tx` without an audit event of its own (the seed records one
/// for everything it makes); returns its id.
pub async fn insert_rule(tx: &mut Write<'_>, rule: &ApprovalRule, now: i64) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO approval_rules (product_id, effect, kind, plan_key, min_seats, max_seats, min_rank_jump, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(rule.product_id)
    .bind(rule.effect.as_str())
    .bind(rule.kind.as_str())
    .bind(rule.plan_key.as_deref())
    .bind(rule.min_seats)
    .bind(rule.max_seats)
    .bind(rule.min_rank_jump)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

impl Store {
    /// Every rule in force, by product then age.
    pub async fn list_rules(&self) -> Result<Vec<ApprovalRule>, StoreError> {
        let sql = format!("{RULE_SELECT} ORDER BY product_id, id");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(rule_of).collect()
    }

    /// Adds approval rule `rule`, audited; returns its id.
    pub async fn create_rule(&self, actor: &Actor, rule: &ApprovalRule, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = add_rule(&mut tx, actor, rule, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Retires rule `id`: requests filed from now on no longer follow it. Audited;
    /// `NotFound` when no such rule is in force.
    pub async fn retire_rule(&self, actor: &Actor, id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = format!("{RULE_SELECT} AND id = $1");
        let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await? else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        let rule = rule_of(&row)?;
        sqlx::query("UPDATE approval_rules SET retired_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::CatalogRuleRetired,
                subject: format!("rule:{id}"),
                before: Some(serde_json::json!({ "rule": rule.describe(), "product": rule.product_id })),
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
