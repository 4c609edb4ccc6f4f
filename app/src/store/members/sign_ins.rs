//! Sign-ins: each browser a user is signed in on. The session cookie names a sign-in by a
//! random handle; a sign-in ends when its user signs out (there or everywhere), after the
//! idle timeout or the absolute lifetime, and whenever the user is removed or their role
//! changes. An ended sign-in signs no one in, whatever session still names it.

use sqlx::Row;

use crate::auth::{CurrentUser, CustomerRef, Role};
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::write::Write;
use crate::store::{Store, StoreError};

/// How long a sign-in lasts: `idle` seconds without a request, and `lifetime` seconds in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: i64,
    pub lifetime: i64,
}

impl Default for SessionPolicy {
    /// 12 hours idle, 7 days in all.
    fn default() -> Self {
        SessionPolicy { idle: 12 * 3600, lifetime: 7 * 86_400 }
    }
}

/// Where a sign-in came from, as the request told it.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub address: String,
    pub user_agent: String,
}

/// A live sign-in, as its user sees it in their list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRow {
    pub handle: String,
    pub started_at: i64,
    pub last_seen_at: i64,
    pub address: String,
    pub user_agent: String,
}

/// The user a live sign-in signs in, and when the sign-in was last seen.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: CurrentUser,
    pub last_seen_at: i64,
}

/// Ends every live sign-in of `user_id` inside `tx`; returns how many. Removal, a role
/// change and a re-invitation call it in their own transactions.
pub async fn end_all(tx: &mut Write<'_>, user_id: i64, at: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("UPDATE sign_ins SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL")
        .bind(user_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// At most this many characters of a client's description are kept.
const CLIENT_TEXT_MAX: usize = 200;

fn clipped(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(CLIENT_TEXT_MAX).collect()
}

/// Records sign-in `handle` of user `user_id` from `client` in `tx`, with a password
/// (`provider` `None`) or through single sign-on (the provider's issuer), audited; clears
/// the account's failed sign-ins. `NotFound` when the user is missing or disabled.
pub(crate) async fn insert_sign_in(
    tx: &mut Write<'_>,
    user_id: i64,
    handle: &str,
    client: &Client,
    provider: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    let user =
        sqlx::query("SELECT email, customer_id FROM users WHERE id = $1 AND disabled = 0").bind(user_id).fetch_optional(&mut **tx).await?;
    let Some(user) = user else { return Err(StoreError::NotFound) };
    let email: String = user.try_get("email")?;
    let customer_id: Option<i64> = user.try_get("customer_id")?;
    sqlx::query("INSERT INTO sign_ins (id, user_id, started_at, last_seen_at, address, user_agent) VALUES ($1, $2, $3, $3, $4, $5)")
        .bind(handle)
        .bind(user_id)
        .bind(at)
        .bind(clipped(&client.address))
        .bind(clipped(&client.user_agent))
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM sign_in_failures WHERE subject = $1")
        .bind(super::throttle::account_subject(&email))
        .execute(&mut **tx)
        .await?;
    audit::record(
        tx,
        NewAuditEvent {
            actor: &Actor::user(user_id, &email),
            customer_id,
            kind: EventKind::UserSignedIn,
            subject: format!("user:{user_id}"),
            before: None,
            after: Some(match provider {
                None => serde_json::json!({ "address": clipped(&client.address), "method": "password" }),
                Some(issuer) => serde_json::json!({ "address": clipped(&client.address), "method": "sso", "provider": issuer }),
            }),
        },
        at,
    )
    .await?;
    Ok(())
}

impl Store {
    /// Starts sign-in `handle` of user `user_id` from `client`, audited as
    /// `user.signed_in`, and forgets the account's failed attempts: one transaction.
    /// `NotFound` when the user does not exist or is disabled.
    pub async fn start_sign_in(&self, user_id: i64, handle: &str, client: &Client, at: i64) -> Result<(), StoreError> {
        self.start_sign_in_by(user_id, handle, client, None, at).await
    }

    /// [`Store::start_sign_in`] for a user who signed in with a password (`provider`
    /// `None`) or through the single sign-on of `provider` (its issuer), which the audit
    /// event names.
    pub async fn start_sign_in_by(
        &self,
        user_id: i64,
        handle: &str,
        client: &Client,
        provider: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_sign_in(&mut tx, user_id, handle, client, provider, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a refused single sign-on through `provider` (its issuer; `customer`'s own, or
    /// the vendor's): why, and the email the provider named, if it got that far. One audit
    /// event, and nothing else changes.
    pub async fn record_sso_refusal(
        &self,
        provider: &str,
        customer: Option<i64>,
        email: Option<&str>,
        reason: &str,
        client: &Client,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor: &Actor::system("single sign-on"),
                customer_id: customer,
                kind: EventKind::UserSsoRefused,
                subject: email.map_or_else(|| "sso".to_owned(), |e| format!("email:{}", clipped(e))),
                before: None,
                after: Some(serde_json::json!({
                    "method": "sso",
                    "provider": provider,
                    "reason": reason,
                    "address": clipped(&client.address),
                })),
            },
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user signed in by `handle` as of `now`, when the sign-in is live under `policy`
    /// and the user is neither removed nor disabled; `None` otherwise.
    pub async fn find_signed_in(&self, handle: &str, now: i64, policy: SessionPolicy) -> Result<Option<SignedIn>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, c.id AS customer_id, c.slug, c.name AS customer_name, s.last_seen_at
             FROM sign_ins s JOIN users u ON u.id = s.user_id LEFT JOIN customers c ON c.id = u.customer_id
             WHERE s.id = $1 AND s.ended_at IS NULL AND s.last_seen_at > $2 AND s.started_at > $3 AND u.disabled = 0",
        )
        .bind(handle)
        .bind(now - policy.idle)
        .bind(now - policy.lifetime)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let role: String = r.try_get("role")?;
        let Some(role) = Role::parse(&role) else { return Ok(None) };
        let customer = match r.try_get::<Option<i64>, _>("customer_id")? {
            Some(id) => Some(CustomerRef { id, slug: r.try_get("slug")?, name: r.try_get("customer_name")? }),
            None => None,
        };
        let user = CurrentUser { id: r.try_get("id")?, email: r.try_get("email")?, name: r.try_get("name")?, role, customer };
        Ok(Some(SignedIn { user, last_seen_at: r.try_get("last_seen_at")? }))
    }

    /// Records that sign-in `handle` was used at `now` (its idle time starts again).
    pub async fn touch_sign_in(&self, handle: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sign_ins SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL")
            .bind(handle)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The live sign-ins of `user_id` as of `now`, the most recently used first.
    pub async fn list_sign_ins(&self, user_id: i64, now: i64, policy: SessionPolicy) -> Result<Vec<SignInRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, started_at, last_seen_at, address, user_agent FROM sign_ins
             WHERE user_id = $1 AND ended_at IS NULL AND last_seen_at > $2 AND started_at > $3
             ORDER BY last_seen_at DESC, started_at DESC",
        )
        .bind(user_id)
        .bind(now - policy.idle)
        .bind(now - policy.lifetime)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SignInRow {
                    handle: r.try_get("id")?,
                    started_at: r.try_get("started_at")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                    address: r.try_get("address")?,
                    user_agent: r.try_get("user_agent")?,
                })
            })
            .collect()
    }

    /// Ends `actor`'s sign-ins as `ending` says, audited (`user.signed_out` for one,
    /// `user.signed_out_everywhere` for the others or all). Returns how many ended.
    pub async fn end_sign_ins(&self, actor: &Actor, customer_id: Option<i64>, ending: Ending<'_>, at: i64) -> Result<u64, StoreError> {
        let user_id = actor.user_id.ok_or(StoreError::NotFound)?;
        let mut tx = self.begin_write().await?;
        let ended = match ending {
            Ending::One(handle) => sqlx::query("UPDATE sign_ins SET ended_at = $3 WHERE id = $1 AND user_id = $2 AND ended_at IS NULL")
                .bind(handle)
                .bind(user_id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            Ending::AllBut(kept) => sqlx::query("UPDATE sign_ins SET ended_at = $3 WHERE user_id = $2 AND id <> $1 AND ended_at IS NULL")
                .bind(kept)
                .bind(user_id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            Ending::All => end_all(&mut tx, user_id, at).await?,
        };
        let kind = if matches!(ending, Ending::One(_)) { EventKind::UserSignedOut } else { EventKind::UserSignedOutEverywhere };
        let kept = matches!(ending, Ending::AllBut(_));
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id,
                kind,
                subject: format!("user:{user_id}"),
                before: None,
                after: Some(serde_json::json!({ "ended": ended, "kept_this_one": kept })),
            },
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }
}

impl Store {
    /// Sets `actor`'s password to `password_hash` and ends their sign-ins but `kept` (the
    /// browser that changed it), audited as `user.password_changed`: one transaction.
    /// Returns how many sign-ins ended.
    pub async fn change_password(
        &self,
        actor: &Actor,
        customer_id: Option<i64>,
        password_hash: &str,
        kept: &str,
        at: i64,
    ) -> Result<u64, StoreError> {
        let user_id = actor.user_id.ok_or(StoreError::NotFound)?;
        let mut tx = self.begin_write().await?;
        let set = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1 AND disabled = 0")
            .bind(user_id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        if set.rows_affected() != 1 {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        let ended = sqlx::query("UPDATE sign_ins SET ended_at = $3 WHERE user_id = $1 AND id <> $2 AND ended_at IS NULL")
            .bind(user_id)
            .bind(kept)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id,
                kind: EventKind::UserPasswordChanged,
                subject: format!("user:{user_id}"),
                before: None,
                after: Some(serde_json::json!({ "other_sign_ins_ended": ended })),
            },
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }
}

/// Which of a user's sign-ins to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending<'a> {
    /// This one: signing out.
    One(&'a str),
    /// Every one but this: signing out of the other browsers.
    AllBut(&'a str),
    /// Every one.
    All,
}
