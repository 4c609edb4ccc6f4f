//! Failed sign-ins, counted in a row per account and per client address. A few failures
//! are free; after them each attempt must wait twice as long as the last (up to a minute),
//! and enough failures lock the subject for a while. A waiting or locked subject is
//! answered without a password being checked at all, so that guessing costs the guesser
//! time and the server nothing. The counts live in the database, so every replica sees
//! the same ones.

use sqlx::Row;

use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::{Store, StoreError};

/// When failures slow a subject down and when they lock it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures in a row that cost no wait.
    pub free: i64,
    /// Failures in a row that lock the subject.
    pub lock_after: i64,
    /// How long a lock lasts, in seconds.
    pub lock_secs: i64,
    /// The longest wait between attempts before the lock, in seconds.
    pub max_wait: i64,
    /// Failures older than this (seconds) are forgotten.
    pub window: i64,
}

impl ThrottlePolicy {
    /// One account: 3 free failures, then waits of 1, 2, 4… seconds; locked for 15
    /// minutes at the 10th.
    pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy { free: 3, lock_after: 10, lock_secs: 15 * 60, max_wait: 60, window: 3600 };
    /// One client address, which may be many people behind one network: 20 free failures,
    /// locked for 15 minutes at the 50th.
    pub const ADDRESS: ThrottlePolicy = ThrottlePolicy { free: 20, lock_after: 50, lock_secs: 15 * 60, max_wait: 60, window: 3600 };
}

/// A subject's failures in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub count: i64,
    pub last_at: i64,
    pub locked_until: Option<i64>,
}

/// Why a sign-in is answered before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Too soon after the last failure: try again in `secs`.
    Wait { secs: i64 },
    /// Locked after too many failures, for `secs` more.
    Locked { secs: i64 },
}

impl Hold {
    /// Seconds until another attempt is heard.
    pub fn secs(self) -> i64 {
        match self {
            Hold::Wait { secs } | Hold::Locked { secs } => secs,
        }
    }
}

impl Failures {
    /// The failures that still count at `now`: none once a lock has run out or the last
    /// failure is older than the window.
    pub fn current(self, policy: ThrottlePolicy, now: i64) -> Failures {
        let lock_over = self.locked_until.is_some_and(|until| until <= now);
        if lock_over || now - self.last_at > policy.window {
            Failures::default()
        } else {
            self
        }
    }

    /// What holds the next attempt at `now`, if anything.
    pub fn hold(self, policy: ThrottlePolicy, now: i64) -> Option<Hold> {
        let f = self.current(policy, now);
        if let Some(until) = f.locked_until.filter(|until| *until > now) {
            return Some(Hold::Locked { secs: until - now });
        }
        if f.count < policy.free {
            return None;
        }
        let wait = 1i64.checked_shl((f.count - policy.free).min(30) as u32).unwrap_or(i64::MAX).min(policy.max_wait);
        let ready = f.last_at.saturating_add(wait);
        (ready > now).then_some(Hold::Wait { secs: ready - now })
    }

    /// The failures after one more at `now`: counted, and locked when that makes enough.
    pub fn after_failure(self, policy: ThrottlePolicy, now: i64) -> Failures {
        let f = self.current(policy, now);
        let count = f.count.saturating_add(1);
        let locked_until = (count >= policy.lock_after).then_some(now + policy.lock_secs);
        Failures { count, last_at: now, locked_until }
    }
}

/// The subject that counts an account's failures (any email, known or not, so that a
/// lock says nothing of which emails have accounts).
pub fn account_subject(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

/// The subject that counts a client address's failures.
pub fn address_subject(address: &str) -> String {
    format!("address:{address}")
}

/// A failed sign-in to record.
#[derive(Debug, Clone)]
pub struct FailedSignIn<'a> {
    /// The email tried, as typed (lowercased).
    pub email: &'a str,
    /// The account's user and organisation, when the email has one.
    pub user: Option<(i64, Option<i64>)>,
    pub address: &'a str,
}

/// `subject`'s failures in a row, read with `ex` (the pool, or a write's transaction).
async fn failures_of<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(ex: E, subject: &str) -> Result<Failures, StoreError> {
    let row = sqlx::query("SELECT failures, last_failure_at, locked_until FROM sign_in_failures WHERE subject = $1")
        .bind(subject)
        .fetch_optional(ex)
        .await?;
    row.map(|r| {
        Ok(Failures { count: r.try_get("failures")?, last_at: r.try_get("last_failure_at")?, locked_until: r.try_get("locked_until")? })
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

impl Store {
    /// What holds a sign-in to `email` from `address` at `now`: the longer of the two
    /// subjects' holds, with a lock before a wait.
    pub async fn sign_in_hold(&self, email: &str, address: &str, now: i64) -> Result<Option<Hold>, StoreError> {
        let account = self.failures(&account_subject(email)).await?.hold(ThrottlePolicy::ACCOUNT, now);
        let from = self.failures(&address_subject(address)).await?.hold(ThrottlePolicy::ADDRESS, now);
        Ok(match (account, from) {
            (Some(a), Some(b)) => Some(match (a, b) {
                (Hold::Locked { .. }, Hold::Wait { .. }) => a,
                (Hold::Wait { .. }, Hold::Locked { .. }) => b,
                _ if a.secs() >= b.secs() => a,
                _ => b,
            }),
            (a, b) => a.or(b),
        })
    }

    async fn failures(&self, subject: &str) -> Result<Failures, StoreError> {
        failures_of(self.pool(), subject).await
    }

    /// Counts a failed sign-in against its account and its address, audited as
    /// `user.sign_in_failed`, and as `user.sign_in_locked` when it locks either: one
    /// transaction. Returns the hold the next attempt meets.
    pub async fn record_sign_in_failure(&self, failed: &FailedSignIn<'_>, now: i64) -> Result<Option<Hold>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut next: Option<Hold> = None;
        let mut locked = Vec::new();
        for (subject, policy) in
            [(account_subject(failed.email), ThrottlePolicy::ACCOUNT), (address_subject(failed.address), ThrottlePolicy::ADDRESS)]
        {
            let before = failures_of(&mut *tx, &subject).await?;
            let after = before.after_failure(policy, now);
            sqlx::query(
                "INSERT INTO sign_in_failures (subject, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (subject) DO UPDATE SET failures = $2, last_failure_at = $3, locked_until = $4",
            )
            .bind(&subject)
            .bind(after.count)
            .bind(after.last_at)
            .bind(after.locked_until)
            .execute(&mut *tx)
            .await?;
            if after.locked_until.is_some() && before.current(policy, now).locked_until.is_none() {
                locked.push((subject, after));
            }
            let hold = after.hold(policy, now);
            next = match (next, hold) {
                (Some(Hold::Locked { .. }), _) => next,
                (_, Some(Hold::Locked { .. })) => hold,
                (Some(a), Some(b)) if b.secs() > a.secs() => hold,
                (None, _) => hold,
                _ => next,
            };
        }
        let actor = match failed.user {
            Some((id, _)) => Actor { user_id: Some(id), label: failed.email.to_owned() },
            None => Actor::system("sign-in"),
        };
        let customer_id = failed.user.and_then(|(_, customer)| customer);
        let subject = match failed.user {
            Some((id, _)) => format!("user:{id}"),
            None => "user:unknown".to_owned(),
        };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor: &actor,
                customer_id,
                kind: EventKind::UserSignInFailed,
                subject: subject.clone(),
                before: None,
                after: Some(serde_json::json!({ "email": failed.email, "address": failed.address })),
            },
            now,
        )
        .await?;
        for (what, after) in locked {
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor: &Actor::system("sign-in"),
                    customer_id,
                    kind: EventKind::UserSignInLocked,
                    subject: subject.clone(),
                    before: None,
                    after: Some(serde_json::json!({ "locked": what, "failures": after.count, "until": after.locked_until })),
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_wait_longer_each_time_then_lock_and_are_forgotten_after() {
        let p = ThrottlePolicy::ACCOUNT;
        let mut f = Failures::default();
        let mut now = 1_000;
        let mut waits = Vec::new();
        for _ in 0..p.lock_after - 1 {
            f = f.after_failure(p, now);
            let hold = f.hold(p, now);
            waits.push(hold.map(Hold::secs).unwrap_or(0));
            assert!(!matches!(hold, Some(Hold::Locked { .. })));
            now += hold.map(Hold::secs).unwrap_or(0);
            assert_eq!(f.hold(p, now), None, "after the wait, the next attempt is heard");
        }
        assert_eq!(waits, vec![0, 0, 1, 2, 4, 8, 16, 32, 60]);
        f = f.after_failure(p, now);
        assert_eq!(f.hold(p, now), Some(Hold::Locked { secs: p.lock_secs }));
        assert_eq!(f.hold(p, now + p.lock_secs - 1), Some(Hold::Locked { secs: 1 }));
        assert_eq!(f.hold(p, now + p.lock_secs), None, "the lock runs out");
        assert_eq!(f.after_failure(p, now + p.lock_secs).count, 1, "and the count starts again");
        let old = Failures { count: 5, last_at: 0, locked_until: None };
        assert_eq!(old.hold(p, p.window + 1), None, "failures older than the window are forgotten");
    }
}
