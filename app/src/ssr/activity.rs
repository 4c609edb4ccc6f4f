//! The dashboard's charts of the book: live entitlements and units metered each day over
//! the last 90 days. Reading them scans every entitlement and the days of usage, so they
//! are drawn at most every ten minutes, in the background once there is a drawing to show.

use std::sync::atomic::{AtomicBool, Ordering};

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
