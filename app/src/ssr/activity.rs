//! What the dashboard reads over the whole book, kept aside rather than read per request:
//! the charts of live entitlements and units metered each day over the last 90 days (a
//! scan of every entitlement and the days of usage, drawn at most every ten minutes), and
//! the customers near a limit (a scan of every snapshot in memory, read again in the
//! background once one has changed). Both are made in the background once there is one to
//! show, and made at once only the first time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{Mutex, RwLock};

use super::state::AppState;
use crate::dashboard::{Activity, CHART_DAYS};
use crate::store::{Store, StoreError};
use crate::usage::chart::{render_chart, Chart, DayValue};

/// Seconds a drawing is shown before it is drawn again.
pub const REDRAW_AFTER: i64 = 600;

/// Seconds after which the customers near a limit are read again even when no snapshot
/// changed (a new period starts, and usage counted in the last one stops counting).
pub const NEAR_LIMIT_AFTER: i64 = 60;

/// A value read over the whole book and kept: the last one made is handed out while a new
/// one is made in the background (one at a time); only the first is waited for, by every
/// request that finds none (one of them makes it).
#[derive(Debug)]
pub struct Kept<T> {
    value: RwLock<Option<T>>,
    renewing: AtomicBool,
    first: Mutex<()>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept { value: RwLock::new(None), renewing: AtomicBool::new(false), first: Mutex::new(()) }
    }
}

impl<T: Clone + Send + Sync + 'static> Kept<T> {
    /// The kept value, renewed in the background when `stale` says so; made now when there
    /// is none. `kept` finds this in the state (the background task holds the state, not a
    /// borrow of it); `make` answers `None` when it failed, having said why in the log.
    async fn get<Fut>(
        state: &AppState,
        kept: fn(&AppState) -> &Kept<T>,
        stale: impl FnOnce(&T) -> bool,
        make: fn(AppState) -> Fut,
    ) -> Option<T>
    where
        Fut: std::future::Future<Output = Option<T>> + Send + 'static,
    {
        let this = kept(state);
        if let Some(last) = this.value.read().await.clone() {
            if stale(&last) && !this.renewing.swap(true, Ordering::AcqRel) {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Some(fresh) = make(state.clone()).await {
                        *kept(&state).value.write().await = Some(fresh);
                    }
                    kept(&state).renewing.store(false, Ordering::Release);
                });
            }
            return Some(last);
        }
        let _first = this.first.lock().await;
        if let Some(last) = this.value.read().await.clone() {
            return Some(last);
        }
        let fresh = make(state.clone()).await?;
        *this.value.write().await = Some(fresh.clone());
        Some(fresh)
    }
}

/// The charts as of about `now`: the last drawing, drawn again in the background when it
/// is older than [`REDRAW_AFTER`]. `None` when the database could not be read for the
/// first drawing (the dashboard shows the rest).
pub async fn charts(state: &AppState, now: i64) -> Option<Activity> {
    let stale = |drawn: &Activity| now - drawn.as_of >= REDRAW_AFTER;
    Kept::get(
        state,
        |s| &s.activity,
        stale,
        |state| async move {
            draw(&state.store, crate::store::now())
                .await
                .map_err(|e| tracing::warn!(error = %e, "drawing the dashboard's charts failed"))
                .ok()
        },
    )
    .await
}

/// Reads the series and draws both charts.
pub async fn draw(store: &Store, now: i64) -> Result<Activity, StoreError> {
    let days = store.daily_activity(now, CHART_DAYS).await?;
    let live: Vec<DayValue> = days.iter().map(|&(day, live, _)| DayValue { day, value: live }).collect();
    let units: Vec<DayValue> = days.iter().map(|&(day, _, units)| DayValue { day, value: units }).collect();
    let entitlements_chart = render_chart(&Chart {
        title: "Live entitlements each day, last 90 days",
        unit: "entitlements",
        bars: &[],
        line: &live,
        limit: None,
    });
    let usage_chart =
        render_chart(&Chart { title: "Usage metered each day, last 90 days", unit: "units", bars: &units, line: &[], limit: None });
    let (live_today, units_today) = days.last().map_or((0, 0), |&(_, l, u)| (l, u));
    Ok(Activity { as_of: now, entitlements_chart, usage_chart, live_today, units_today })
}

/// What the customers near a limit were read as: the enforcer's count of changes then,
/// when, and the customers.
#[derive(Debug, Clone)]
pub struct NearLimitReading {
    changes: u64,
    at: i64,
    customers: Arc<Vec<i64>>,
}

/// The customers with a live entitlement at 80 % or more of a quota this period or with
/// every seat taken, by id: the last reading, read again in the background when a
/// snapshot changed since or it is a minute old (so a change shows a moment later).
pub async fn near_limit(state: &AppState, now: i64) -> Arc<Vec<i64>> {
    let changes = state.enforcer.changes();
    let stale = |last: &NearLimitReading| last.changes != changes || now - last.at >= NEAR_LIMIT_AFTER;
    let reading = Kept::get(state, |s| &s.near_limit, stale, |state| async move { read_near_limit(&state).await }).await;
    reading.map(|r| r.customers).unwrap_or_default()
}

/// Reads every snapshot, off the request threads.
async fn read_near_limit(state: &AppState) -> Option<NearLimitReading> {
    let enforcer = state.enforcer.clone();
    let changes = enforcer.changes();
    let now = crate::store::now();
    let customers = tokio::task::spawn_blocking(move || {
        let mut ids: Vec<i64> = enforcer.pressure(now, crate::customers::NEAR_LIMIT_PERCENT).into_iter().map(|p| p.customer_id).collect();
        ids.dedup();
        ids
    })
    .await
    .map_err(|e| tracing::warn!(error = %e, "reading the customers near a limit failed"))
    .ok()?;
    Some(NearLimitReading { changes, at: now, customers: Arc::new(customers) })
}
