//! The write path: every change to the store goes through a [`Write`]. It takes the
//! writer's turn, holds the transaction, records each audit event with its typed kind and
//! collects what the change touched; [`Write::commit`] commits and then hands that
//! [`Changes`] to the store's listener (the enforcement snapshots, the signing keys, the
//! other replicas), so no caller refreshes anything by hand.

use std::fmt::Debug;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::{Any, AnyConnection, Transaction};
use tracing::Instrument;

use super::events::{Changes, EventKind};
use super::{Store, StoreError};

/// Told of every committed write, before the write returns to its caller.
#[async_trait::async_trait]
pub trait ChangeListener: Send + Sync + Debug {
    /// Re-reads whatever `changes` touched. An error is reported to the writer's caller
    /// (the change itself has committed).
    async fn applied(&self, store: &Store, changes: &Changes) -> Result<(), StoreError>;
}

/// One write in progress: the writer's turn, the transaction and what it has touched.
/// Dropped without [`commit`](Write::commit), it rolls back and touches nothing.
#[must_use = "a write that is not committed rolls back"]
pub struct Write<'s> {
    // Field order is drop order: the transaction ends before the turn is given back.
    tx: Transaction<'static, Any>,
    changes: Changes,
    store: &'s Store,
    /// The write's span: its commit and the refresh after it are traced under it.
    span: tracing::Span,
    started: std::time::Instant,
    _turn: Option<tokio::sync::MutexGuard<'s, ()>>,
}

impl Debug for Write<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Write").field("changes", &self.changes).finish_non_exhaustive()
    }
}

impl Store {
    /// Starts a write: waits for the writer's turn (SQLite takes one writer at a time)
    /// and opens its transaction.
    pub async fn begin_write(&self) -> Result<Write<'_>, StoreError> {
        let started = std::time::Instant::now();
        let span = tracing::debug_span!("store.write");
        let turn = self.write_turn().instrument(span.clone()).await;
        // On SQLite the write lock is taken at once: a transaction that read first and wrote
        // later would fail (SQLITE_BUSY, no waiting) if another connection, such as the
        // sessions' pool, committed in between; taken at the start, it waits its turn.
        let tx = match self.engine {
            super::Engine::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").instrument(span.clone()).await?,
            super::Engine::Postgres => self.pool().begin().instrument(span.clone()).await?,
        };
        Ok(Write { tx, changes: Changes::default(), store: self, span, started, _turn: turn })
    }

    /// Sets who is told of committed writes (once, at start-up; later calls are ignored).
    pub fn set_listener(&self, listener: Arc<dyn ChangeListener>) {
        let _ = self.listener.set(listener);
    }

    /// Tells the listener of `changes` as if a write had made them (after a background
    /// job changed what enforcement reads without an audited event).
    pub async fn publish(&self, changes: &Changes) -> Result<(), StoreError> {
        match self.listener.get() {
            Some(listener) if !changes.is_empty() => listener.applied(self, changes).instrument(tracing::debug_span!("refresh")).await,
            _ => Ok(()),
        }
    }
}

impl<'s> Write<'s> {
    /// The store this write belongs to.
    pub(crate) fn store(&self) -> &'s Store {
        self.store
    }

    /// Notes that this write changed `customer` in a way enforcement reads, without an
    /// event of its own (a heartbeat that revived an instance).
    pub fn touch_customer(&mut self, customer: i64) {
        self.changes.customers.insert(customer);
    }

    /// Locks entitlement `id` for the rest of this write and checks it is at `expected`
    /// (the version a caller read, sent back as `If-Match`); nothing to check when `None`.
    /// `VersionMoved` when it has moved on, `NotFound` when there is no such entitlement.
    pub async fn expect_version(&mut self, id: i64, expected: Option<i64>) -> Result<(), StoreError> {
        let Some(expected) = expected else { return Ok(()) };
        // A no-op update takes the row's lock on both engines, so no other write moves
        // the version between this check and this write's own change.
        let current: Option<i64> = sqlx::query_scalar("UPDATE entitlements SET version = version WHERE id = $1 RETURNING version")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        match current {
            None => Err(StoreError::NotFound),
            Some(current) if current != expected => Err(StoreError::VersionMoved { current }),
            Some(_) => Ok(()),
        }
    }

    /// Notes an event recorded in this write; called by the audit log only.
    pub(super) fn note(&mut self, kind: EventKind, customer: Option<i64>) {
        self.changes.note(kind, customer);
    }

    /// Commits, then has the listener re-read what the write touched before returning
    /// what it changed.
    pub async fn commit(self) -> Result<Changes, StoreError> {
        let Write { tx, changes, store, span, started, _turn } = self;
        tx.commit().instrument(span.clone()).await?;
        drop(_turn);
        if !changes.events.is_empty() {
            store.committed.notify_waiters();
        }
        for kind in &changes.events {
            metrics::counter!("tessera_events_total", "type" => kind.as_str()).increment(1);
            if matches!(kind, EventKind::UserSignInFailed | EventKind::UserSsoRefused) {
                metrics::counter!("tessera_sign_in_failures_total", "method" => if *kind == EventKind::UserSsoRefused { "sso" } else { "password" })
                    .increment(1);
            }
        }
        tracing::debug!(
            parent: &span,
            events = ?changes.events,
            customers = ?changes.customers,
            elapsed_us = started.elapsed().as_micros() as u64,
            "write committed"
        );
        store.publish(&changes).instrument(span).await?;
        Ok(changes)
    }

    /// Ends the write without changing anything and returns `result`: an early answer
    /// gives its locks back now, not whenever its connection is next used.
    pub async fn roll_back<T>(self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.tx.rollback().await?;
        result
    }
}

impl Deref for Write<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Write<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}
