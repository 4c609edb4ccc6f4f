//! Keeping replicas that share a PostgreSQL database consistent: each announces the
//! customers it changed (NOTIFY, see [`Store::announce`](crate::store::Store::announce)),
//! and every other one reloads them before its next check.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;

use super::enforcer::{Change, Enforcer, CHANGES_CHANNEL};
use super::tokens::TokenSigner;
use crate::store::{ChangeListener, Changes, Store, StoreError};

/// Starts listening for change notices on `url`'s database. Listening starts before this
/// returns, so no change made afterwards is missed.
pub async fn subscribe(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    Ok(listener)
}

/// Applies every notice `listener` receives to `enforcer` (and, for a catalog notice, which
/// key rotations send too, re-reads the signing keys of `tokens`), for as long as the
/// process runs. After a lost connection everything is reloaded, since notices may have
/// been missed meanwhile.
pub async fn follow(mut listener: PgListener, enforcer: Arc<Enforcer>, tokens: Arc<TokenSigner>, store: Store) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notice)) => {
                if let Err(e) = enforcer.apply_notice(notice.payload()).await {
                    tracing::warn!(error = %e, "applying a change notice failed; reloading everything");
                    reload_all(&enforcer, &tokens, &store).await;
                } else if matches!(Change::parse(notice.payload()), Some((replica, Change::Catalog)) if replica != enforcer.replica()) {
                    if let Err(e) = tokens.reload(&store).await {
                        tracing::warn!(error = %e, "reloading the signing keys failed");
                    }
                }
            }
            Ok(None) => {
                tracing::warn!("the change channel was interrupted; reloading everything");
                reload_all(&enforcer, &tokens, &store).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the change channel failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn reload_all(enforcer: &Enforcer, tokens: &TokenSigner, store: &Store) {
    if let Err(e) = enforcer.reload_all().await {
        tracing::error!(error = %e, "reloading entitlements failed");
    }
    if let Err(e) = tokens.reload(store).await {
        tracing::error!(error = %e, "reloading the signing keys failed");
    }
}

/// The store's listener: re-reads, after every committed write, what it touched: the
/// customers' snapshots, the catalog and API keys, the signing keys; and announces each
/// to the other replicas. It holds the parts weakly, so a dropped application is freed.
#[derive(Debug)]
pub struct Refresher {
    enforcer: Weak<Enforcer>,
    tokens: Weak<TokenSigner>,
}

impl Refresher {
    /// Makes `store` tell `enforcer` and `tokens` of every write from now on.
    pub fn install(store: &Store, enforcer: &Arc<Enforcer>, tokens: &Arc<TokenSigner>) {
        let refresher = Refresher { enforcer: Arc::downgrade(enforcer), tokens: Arc::downgrade(tokens) };
        store.set_listener(Arc::new(refresher));
    }
}

#[async_trait::async_trait]
impl ChangeListener for Refresher {
    async fn applied(&self, store: &Store, changes: &Changes) -> Result<(), StoreError> {
        let Some(enforcer) = self.enforcer.upgrade() else { return Ok(()) };
        if changes.signing_keys {
            if let Some(tokens) = self.tokens.upgrade() {
                tokens.reload(store).await?;
            }
        }
        // Other replicas re-read the signing keys on the catalog notice.
        if changes.catalog || changes.signing_keys {
            enforcer.reload_keys_and_catalog().await?;
        }
        // Every customer is refreshed even when one fails; the first failure is reported.
        let mut first_error = None;
        for customer in &changes.customers {
            if let Err(e) = enforcer.refresh(*customer).await {
                tracing::error!(customer.id = *customer, error = %e, "refreshing a customer after a write failed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
