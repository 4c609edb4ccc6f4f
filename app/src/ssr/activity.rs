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

/// The last drawing, and whether a new one is under way.
#[derive(Debug, Default)]
pub struct ActivityCache {
    drawn: RwLock<Option<Activity>>,
    redrawing: AtomicBool,
    /// Held while the first drawing is made, so requests that find none wait for it
    /// rather than each making one.
    first: Mutex<()>,
}

/// The charts as of about `now`: the last drawing, redrawn in the background when it is
/// older than [`REDRAW_AFTER`]; drawn now when there is none. `None` when the database
/// could not be read for the first drawing (the dashboard shows the rest).
pub async fn charts(state: &AppState, now: i64) -> Option<Activity> {
    let cache = &state.activity;
    if let Some(drawn) = cache.drawn.read().await.clone() {
        if now - drawn.as_of >= REDRAW_AFTER && !cache.redrawing.swap(true, Ordering::AcqRel) {
            let state = state.clone();
            tokio::spawn(async move {
                match draw(&state.store, crate::store::now()).await {
                    Ok(fresh) => *state.activity.drawn.write().await = Some(fresh),
                    Err(e) => tracing::warn!(error = %e, "drawing the dashboard's charts failed"),
                }
                state.activity.redrawing.store(false, Ordering::Release);
            });
        }
        return Some(drawn);
    }
    let _first = cache.first.lock().await;
    if let Some(drawn) = cache.drawn.read().await.clone() {
        return Some(drawn);
    }
    match draw(&state.store, now).await {
        Ok(fresh) => {
            *cache.drawn.write().await = Some(fresh.clone());
            Some(fresh)
        }
        Err(e) => {
            tracing::warn!(error = %e, "drawing the dashboard's charts failed");
            None
        }
    }
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

/// Seconds after which the customers near a limit are read again even when no snapshot
/// changed (a new period starts, and usage counted in the last one stops counting).
pub const NEAR_LIMIT_AFTER: i64 = 60;

/// The last reading of the customers near a limit, and whether a new one is under way.
#[derive(Debug, Default)]
pub struct NearLimit {
    read: RwLock<Option<NearLimitReading>>,
    reading: AtomicBool,
    first: Mutex<()>,
}

#[derive(Debug, Clone)]
struct NearLimitReading {
    /// The enforcer's count of changes it was read at, and when.
    changes: u64,
    at: i64,
    customers: Arc<Vec<i64>>,
}

/// The customers with a live entitlement at 80 % or more of a quota this period or with
/// every seat taken, by id: the last reading, read again in the background when a
/// snapshot changed since or it is a minute old (so a change shows a moment later).
pub async fn near_limit(state: &AppState, now: i64) -> Arc<Vec<i64>> {
    let cache = &state.near_limit;
    let changes = state.enforcer.changes();
    if let Some(last) = cache.read.read().await.clone() {
        let stale = last.changes != changes || now - last.at >= NEAR_LIMIT_AFTER;
        if stale && !cache.reading.swap(true, Ordering::AcqRel) {
            let state = state.clone();
            tokio::spawn(async move {
                let fresh = read_near_limit(&state).await;
                *state.near_limit.read.write().await = Some(fresh);
                state.near_limit.reading.store(false, Ordering::Release);
            });
        }
        return last.customers;
    }
    let _first = cache.first.lock().await;
    if let Some(last) = cache.read.read().await.clone() {
        return last.customers;
    }
    let fresh = read_near_limit(state).await;
    let customers = fresh.customers.clone();
    *cache.read.write().await = Some(fresh);
    customers
}

/// Reads every snapshot, off the request threads.
async fn read_near_limit(state: &AppState) -> NearLimitReading {
    let enforcer = state.enforcer.clone();
    let changes = enforcer.changes();
    let now = crate::store::now();
    let customers = tokio::task::spawn_blocking(move || {
        let mut ids: Vec<i64> = enforcer.pressure(now, crate::customers::NEAR_LIMIT_PERCENT).into_iter().map(|p| p.customer_id).collect();
        ids.dedup();
        ids
    })
    .await
    .unwrap_or_default();
    NearLimitReading { changes, at: now, customers: Arc::new(customers) }
}
