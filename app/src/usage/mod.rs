//! Usage as the customer admin sees it: metered features per day against their quota,
//! and seats used and live instances over time, as charts with their numbers.

pub mod api;
#[cfg(feature = "ssr")]
pub mod chart;
pub mod pages;
#[cfg(feature = "ssr")]
mod report;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The windows the usage page offers, in days.
pub const WINDOWS: [i64; 2] = [30, 90];

/// One day of a metered feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayUsage {
    pub day: NaiveDate,
    pub used: i64,
    /// Used from the start of the quota period that holds this day, through this day.
    pub period_to_date: i64,
}

/// A metered feature over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureUsage {
    pub key: String,
    pub name: String,
    pub unit: Option<String>,
    /// Units per period; `None` when unlimited.
    pub quota: Option<i64>,
    /// `day`, `month` or `year`.
    pub period: String,
    pub period_start: NaiveDate,
    /// Used so far in the current period.
    pub period_total: i64,
    /// Left in the current period; `None` when unlimited.
    pub remaining: Option<i64>,
    pub days: Vec<DayUsage>,
    /// The chart, as SVG rendered on the server.
    pub chart: String,
}

/// Seats used and live instances of one day (the day's peak).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCapacity {
    pub day: NaiveDate,
    pub seats: i64,
    pub instances: i64,
}

/// One entitlement's usage over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitlementUsage {
    pub entitlement_id: i64,
    pub product: String,
    pub plan: String,
    pub features: Vec<FeatureUsage>,
    pub capacity: Vec<DayCapacity>,
    pub seats_cap: i64,
    pub instances_cap: i64,
    pub seats_chart: String,
    pub instances_chart: String,
}

/// The usage page's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    pub days: i64,
    /// The window's first and last days.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub entitlements: Vec<EntitlementUsage>,
}
