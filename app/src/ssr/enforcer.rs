//! Answers checks from memory. Snapshots of each customer are loaded once and replaced
//! by every write before that write returns, so the next check sees it; no database
//! query sits on the check path.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::engine::{self, CheckRequest, Decision, LicenseKey, ReasonCode};
use crate::store::entitlements::snapshots::CustomerSnapshot;
use crate::store::keys::api_keys::{hash_api_key, ApiKey};
use crate::store::{Store, StoreError};

/// What a check can fail with (as opposed to being answered "no").
#[derive(Debug, thiserror::Error)]
pub enum EnforceError {
    #[error("unknown customer {0:?}")]
    UnknownCustomer(String),
    #[error("unknown feature {0:?}")]
    UnknownFeature(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One check of an already resolved customer, as the API receives it: names rather
/// than ids.
#[derive(Debug, Clone, Default)]
pub struct CheckInput {
    pub feature: String,
    /// Email or external id.
    pub user: Option<String>,
    /// An instance's public id (`ins_…`).
    pub instance: Option<String>,
    pub region: Option<String>,
    pub quantity: Option<i64>,
}

/// A decision with the entitlement facts the API reports beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub decision: Decision,
    pub plan: Option<String>,
    pub expires_at: Option<i64>,
}

/// The in-memory enforcement state.
#[derive(Debug)]
pub struct Enforcer {
    store: Store,
    instance_ttl: i64,
    customers: RwLock<HashMap<i64, Arc<CustomerSnapshot>>>,
    /// Counts every change of a customer's snapshot, so that what is read over all of them
    /// (the customers near a limit) knows when it is out of date.
    changes: std::sync::atomic::AtomicU64,
    slugs: RwLock<HashMap<String, i64>>,
    api_keys: RwLock<HashMap<String, ApiKey>>,
    /// Keys already verified against their hash, so a busy caller is not hashed on
    /// every request; emptied whenever keys are reloaded (a revocation takes effect).
    verified: RwLock<HashMap<String, ApiKey>>,
    /// Product key → (feature key → feature id).
    catalog: RwLock<HashMap<String, HashMap<String, i64>>>,
    /// Live license keys by keyed hash: whom each acts for.
    license_keys: RwLock<HashMap<String, LicenseHolder>>,
    /// This process among the replicas sharing a PostgreSQL database, so that it can
    /// skip its own change notices.
    replica: String,
}

/// What a license key acts for: one customer's entitlement to one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseHolder {
    pub customer_id: i64,
    pub product_key: Arc<str>,
}

/// The PostgreSQL channel on which replicas announce what they changed.
pub const CHANGES_CHANNEL: &str = "tessera_changes";

/// A change notice: which replica changed what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Customer(i64),
    /// API keys or the catalog.
    Catalog,
}

impl Change {
    /// The notice's payload: `<replica> customer <id>` or `<replica> catalog`.
    pub fn payload(&self, replica: &str) -> String {
        match self {
            Change::Customer(id) => format!("{replica} customer {id}"),
            Change::Catalog => format!("{replica} catalog"),
        }
    }

    /// Parses a payload into (replica, change); `None` for anything else.
    pub fn parse(payload: &str) -> Option<(&str, Change)> {
        let mut parts = payload.split(' ');
        let replica = parts.next()?;
        let change = match (parts.next()?, parts.next()) {
            ("customer", Some(id)) => Change::Customer(id.parse().ok()?),
            ("catalog", None) => Change::Catalog,
            _ => return None,
        };
        parts.next().is_none().then_some((replica, change))
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Enforcer {
    /// Loads API keys, the catalog and every customer.
    pub async fn load(store: Store, instance_ttl: i64) -> Result<Enforcer, StoreError> {
        let enforcer = Enforcer {
            store,
            instance_ttl,
            customers: RwLock::default(),
            changes: Default::default(),
            slugs: RwLock::default(),
            api_keys: RwLock::default(),
            verified: RwLock::default(),
            catalog: RwLock::default(),
            license_keys: RwLock::default(),
            replica: {
                use rand::Rng;
                format!("{:016x}", rand::thread_rng().gen::<u64>())
            },
        };
        enforcer.reload_all().await?;
        Ok(enforcer)
    }

    /// Re-reads everything: keys, catalog and every customer (at start, and after a
    /// lost connection to the change channel, when notices may have been missed).
    pub async fn reload_all(&self) -> Result<(), StoreError> {
        use futures::{StreamExt, TryStreamExt};
        self.load_keys_and_catalog().await?;
        // Eight customers at a time: until this ends, a replica that lost its change feed
        // may answer from snapshots older than the database.
        futures::stream::iter(self.store.list_customer_ids().await?).map(|id| self.reload(id)).buffer_unordered(8).try_collect::<()>().await
    }

    /// This replica's id in change notices.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Applies a change notice from another replica; notices of this one are skipped.
    pub async fn apply_notice(&self, payload: &str) -> Result<(), StoreError> {
        match Change::parse(payload) {
            Some((replica, _)) if replica == self.replica => Ok(()),
            Some((_, Change::Customer(id))) => self.reload(id).await,
            Some((_, Change::Catalog)) => self.load_keys_and_catalog().await,
            None => {
                tracing::warn!(payload, "ignoring a change notice that is not one");
                Ok(())
            }
        }
    }

    /// Seconds a heartbeat may lapse before an instance's slot is free.
    pub fn instance_ttl(&self) -> i64 {
        self.instance_ttl
    }

    /// Re-reads API keys and the catalog after either changed, here and (on PostgreSQL)
    /// on every other replica.
    pub async fn reload_keys_and_catalog(&self) -> Result<(), StoreError> {
        self.load_keys_and_catalog().await?;
        self.store.announce(CHANGES_CHANNEL, &Change::Catalog.payload(&self.replica)).await
    }

    async fn load_keys_and_catalog(&self) -> Result<(), StoreError> {
        metrics::counter!("tessera_snapshot_reloads_total", "what" => "catalog").increment(1);
        let keys = self.store.list_active_api_keys().await?.into_iter().collect();
        let catalog = self.store.list_feature_keys().await?;
        *write(&self.api_keys) = keys;
        write(&self.verified).clear();
        *write(&self.catalog) = catalog;
        Ok(())
    }

    /// Re-reads one customer here and (on PostgreSQL) on every other replica; every
    /// write calls this before it returns.
    pub async fn refresh(&self, customer_id: i64) -> Result<(), StoreError> {
        self.reload(customer_id).await?;
        self.store.announce(CHANGES_CHANNEL, &Change::Customer(customer_id).payload(&self.replica)).await
    }

    /// Re-reads one customer in this replica only.
    async fn reload(&self, customer_id: i64) -> Result<(), StoreError> {
        metrics::counter!("tessera_snapshot_reloads_total", "what" => "customer").increment(1);
        let found = match self.store.load_customer_snapshot(customer_id, crate::store::now()).await {
            Ok(snap) => Some(Arc::new(snap)),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        {
            // The customer's keys and slug are swapped under the keys' lock, for what the
            // snapshot being replaced held: the cost of one customer, not of every one.
            let mut keys = write(&self.license_keys);
            let mut customers = write(&self.customers);
            let old = match &found {
                Some(snap) => customers.insert(customer_id, snap.clone()),
                None => customers.remove(&customer_id),
            };
            // Let go before the slugs are taken: `customer()` holds the slugs while it
            // reads the customers, so holding both the other way round could deadlock.
            drop(customers);
            let mut slugs = write(&self.slugs);
            if let Some(old) = &old {
                // Only where they still name this customer: a slug given up may be another's now.
                for (lookup, _) in &old.license_keys {
                    if keys.get(lookup).is_some_and(|holder| holder.customer_id == customer_id) {
                        keys.remove(lookup);
                    }
                }
                if slugs.get(&old.slug) == Some(&customer_id) {
                    slugs.remove(&old.slug);
                }
            }
            if let Some(snap) = &found {
                for (lookup, product) in &snap.license_keys {
                    keys.insert(lookup.clone(), LicenseHolder { customer_id, product_key: product.as_str().into() });
                }
                slugs.insert(snap.slug.clone(), customer_id);
            }
        }
        self.changed();
        Ok(())
    }

    /// The id of feature `key` of `product`; `UnknownFeature` when it has none.
    pub fn feature_id(&self, product: &str, key: &str) -> Result<i64, EnforceError> {
        read(&self.catalog).get(product).and_then(|f| f.get(key).copied()).ok_or_else(|| EnforceError::UnknownFeature(key.to_owned()))
    }

    /// The API key `key` stands for, unless unknown or revoked.
    pub fn api_key(&self, key: &str) -> Option<ApiKey> {
        if let Some(k) = read(&self.verified).get(key) {
            return Some(k.clone());
        }
        let found = read(&self.api_keys).get(&hash_api_key(key)).cloned()?;
        write(&self.verified).insert(key.to_owned(), found.clone());
        Some(found)
    }

    /// Whom license key `key` acts for, unless unknown or replaced.
    pub fn license_key(&self, key: &LicenseKey) -> Option<LicenseHolder> {
        read(&self.license_keys).get(&self.store.license_key_lookup(key)).cloned()
    }

    /// The customer with id `customer_id`, from memory (loaded once when missing).
    pub async fn customer_by_id(&self, customer_id: i64) -> Result<Arc<CustomerSnapshot>, EnforceError> {
        if let Some(c) = read(&self.customers).get(&customer_id).cloned() {
            return Ok(c);
        }
        self.reload(customer_id).await?;
        read(&self.customers).get(&customer_id).cloned().ok_or_else(|| EnforceError::UnknownCustomer(customer_id.to_string()))
    }

    /// The id of the entitlement of customer `customer_id` to `product`, from memory.
    pub fn entitlement_of(&self, customer_id: i64, product: &str) -> Option<i64> {
        read(&self.customers).get(&customer_id).and_then(|c| c.entitlements.get(product)).map(|s| s.entitlement_id)
    }

    /// Adds committed usage, as (feature key, at, quantity), to the in-memory counters of
    /// `customer_id`, so that the next check sees it without reloading the customer.
    /// Returns the entitlement when this use took a feature's use this period across one
    /// of the quota thresholds that are noticed (80% and 100%).
    pub fn apply_usage(&self, customer_id: i64, product: &str, counted: &[(&str, i64, i64)], now: i64) -> Option<i64> {
        let mut customers = write(&self.customers);
        self.changed();
        let customer = customers.get_mut(&customer_id)?;
        let customer = Arc::make_mut(customer);
        let snap = customer.entitlements.get_mut(product)?;
        let mut crossed = false;
        for (feature, at, quantity) in counted {
            let Some(quota) = snap.features.get(*feature).and_then(|r| r.quota.as_ref()).map(|q| (q.period, q.limit)) else { continue };
            let (period, limit) = quota;
            let start = period.start(now);
            if *at < start {
                continue;
            }
            if !snap.usage.contains_key(*feature) {
                snap.usage.insert((*feature).to_owned(), engine::Usage { period_start: start, used: 0 });
            }
            let Some(usage) = snap.usage.get_mut(*feature) else { continue };
            if usage.period_start != start {
                *usage = engine::Usage { period_start: start, used: 0 };
            }
            let before = usage.used;
            usage.used = usage.used.saturating_add(*quantity);
            let share = |used: i64, percent: i64| i128::from(used) * 100 >= i128::from(limit) * i128::from(percent);
            crossed |= limit > 0 && crate::store::notices::QUOTA_THRESHOLDS.iter().any(|p| !share(before, *p) && share(usage.used, *p));
        }
        crossed.then_some(snap.entitlement_id)
    }

    /// The customer named by slug or numeric id, from memory; a customer created since
    /// start is loaded once.
    pub async fn customer(&self, reference: &str) -> Result<Arc<CustomerSnapshot>, EnforceError> {
        let cached = {
            let slugs = read(&self.slugs);
            let id = slugs.get(reference).copied().or_else(|| reference.parse::<i64>().ok());
            id.and_then(|id| read(&self.customers).get(&id).cloned())
        };
        if let Some(c) = cached {
            return Ok(c);
        }
        let id = match reference.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => self.store.find_customer_id(reference).await?,
        };
        let Some(id) = id else { return Err(EnforceError::UnknownCustomer(reference.to_owned())) };
        self.reload(id).await?;
        read(&self.customers).get(&id).cloned().ok_or_else(|| EnforceError::UnknownCustomer(reference.to_owned()))
    }

    /// Answers one check for `product` at `now`.
    pub fn check(&self, customer: &CustomerSnapshot, product: &str, input: CheckInput, now: i64) -> Result<CheckOutcome, EnforceError> {
        self.feature_id(product, &input.feature)?;
        let Some(snap) = customer.entitlements.get(product) else {
            return Ok(CheckOutcome {
                decision: Decision {
                    allowed: false,
                    code: ReasonCode::NotEntitled,
                    limits: engine::Limits { seats: 0, instances: 0, quota: None, period: None },
                    remaining: None,
                    warnings: vec![],
                },
                plan: None,
                expires_at: None,
            });
        };
        let user_id = input.user.as_deref().map(str::trim).and_then(|u| {
            // Most callers send the address as stored; lower-case only when that misses.
            customer.users.get(u).or_else(|| customer.users.get(&u.to_lowercase())).copied()
        });
        // An instance of another entitlement, or no instance at all, is simply not one of this one's.
        let instance_id = input.instance.as_deref().map(|i| customer.instance_ids.get(i.trim()).copied().unwrap_or(-1));
        let request = CheckRequest { feature: input.feature, user_id, instance_id, region: input.region, quantity: input.quantity };
        let decision = engine::evaluate(snap, &request, now, self.instance_ttl);
        Ok(CheckOutcome { decision, plan: Some(snap.plan.clone()), expires_at: snap.expires_at() })
    }

    fn changed(&self) {
        self.changes.fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// How many times a customer's snapshot changed since loading.
    pub fn changes(&self) -> u64 {
        self.changes.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Live entitlements near their limits at `now`, from memory: each metered feature at
    /// `percent` or more of its quota this period, and each entitlement whose seats are all
    /// taken. Ordered by customer and product.
    pub fn pressure(&self, now: i64, percent: i64) -> Vec<Pressure> {
        let customers = read(&self.customers);
        let mut found = Vec::new();
        for customer in customers.values() {
            for (product, snap) in &customer.entitlements {
                if !matches!(snap.status, engine::EntitlementStatus::Trial | engine::EntitlementStatus::Active) {
                    continue;
                }
                let seats = snap.seat_holders.len() as i64;
                if snap.seats_cap > 0 && seats >= snap.seats_cap {
                    found.push(Pressure {
                        customer_id: customer.customer_id,
                        product: product.clone(),
                        limit: Limit::Seats { used: seats, cap: snap.seats_cap },
                    });
                }
                for (feature, rule) in &snap.features {
                    let Some(quota) = rule.quota.as_ref().filter(|q| q.limit > 0) else { continue };
                    let used = snap.usage.get(feature).filter(|u| u.period_start == quota.period.start(now)).map_or(0, |u| u.used);
                    if i128::from(used) * 100 >= i128::from(quota.limit) * i128::from(percent) {
                        found.push(Pressure {
                            customer_id: customer.customer_id,
                            product: product.clone(),
                            limit: Limit::Quota { feature: feature.clone(), used, quota: quota.limit },
                        });
                    }
                }
            }
        }
        found.sort_by(|a, b| (a.customer_id, &a.product).cmp(&(b.customer_id, &b.product)));
        found
    }
}

/// An entitlement near one of its limits (see [`Enforcer::pressure`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pressure {
    pub customer_id: i64,
    pub product: String,
    pub limit: Limit,
}

/// Which limit, and how near.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    Seats { used: i64, cap: i64 },
    Quota { feature: String, used: i64, quota: i64 },
}

#[cfg(test)]
mod tests {
    use super::Change;

    #[test]
    fn change_notices_round_trip_and_junk_is_refused() {
        for c in [Change::Customer(42), Change::Catalog] {
            assert_eq!(Change::parse(&c.payload("r1")), Some(("r1", c.clone())));
        }
        for junk in ["", "r1", "r1 customer", "r1 customer x", "r1 catalog extra", "r1 customer 1 2", "r1 seats 3"] {
            assert_eq!(Change::parse(junk), None, "{junk:?}");
        }
    }
}
