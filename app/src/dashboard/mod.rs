//! The vendor console's landing page: what needs the staff now (approvals waiting, trials
//! and terms ending, renewals coming, customers near their limits), the latest changes, and
//! the book of entitlements and usage over time.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

use crate::audit::AuditEventView;

/// Days the dashboard's charts span.
pub const CHART_DAYS: i64 = 90;

/// What the dashboard shows, as of a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Change requests waiting for a decision, and those waiting more than two days.
    pub pending: i64,
    pub overdue: i64,
    /// Entitlements whose trial ends within 14 days.
    pub trials_ending: i64,
    /// Entitlements whose term ends within 30 days.
    pub terms_ending: i64,
    /// Entitlements renewing within 30 days.
    pub renewing: i64,
    /// Customers with an entitlement at 80 % or more of a quota this period or at its seat cap.
    pub near_limit: i64,
    /// The latest audit events, newest first.
    pub latest: Vec<AuditEventView>,
    /// The charts, when drawn.
    pub activity: Option<Activity>,
}

/// The charts of the book over the last 90 days, drawn on the server in the background
/// (at most every ten minutes, not per request), with the moment they were drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Unix seconds.
    pub as_of: i64,
    /// Live entitlements each day, as SVG.
    pub entitlements_chart: String,
    /// Units of usage metered each day, as SVG.
    pub usage_chart: String,
    /// The figures of the last day: live entitlements and units metered.
    pub live_today: i64,
    pub units_today: i64,
}
