//! A customer's entitlements as the portal shows them.

pub mod api;
pub mod pages;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use tessera_engine::{days_between, EntitlementStatus, FeatureGrant};

/// One entitlement (customer × product) with everything its page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitlementView {
    pub id: i64,
    pub customer: String,
    pub product: String,
    pub plan: String,
    /// The plan's catalog key (`team`) and its rank among the product's plans.
    pub plan_key: String,
    pub plan_rank: i64,
    /// The names of the add-ons on top of the plan.
    pub addons: Vec<String>,
    pub status: EntitlementStatus,
    /// Why it is suspended or cancelled, when staff said.
    pub status_reason: Option<String>,
    pub seats_used: i64,
    pub seats_cap: i64,
    pub instances_cap: i64,
    pub features: Vec<FeatureGrant>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub renews_on: Option<NaiveDate>,
    pub trial_ends_on: Option<NaiveDate>,
    pub auto_renew: bool,
    /// Days the entitlement stays usable (with a warning) after it ends.
    pub grace_days: i64,
    /// Bumped by every change to the entitlement itself.
    pub version: i64,
    /// Whole days from today to the date that matters next (trial end, renewal or end).
    pub days_left: Option<i64>,
}

impl EntitlementView {
    /// Seats assigned beyond the cap (after a downgrade or a seat reduction): the ones
    /// assigned last are held back until the customer admin frees as many.
    pub fn held_back(&self) -> i64 {
        (self.seats_used - self.seats_cap).max(0)
    }

    /// The date that matters next: the trial's end on a trial, else renewal, else the end.
    pub fn next_date(&self) -> Option<NaiveDate> {
        match self.status {
            EntitlementStatus::Trial => self.trial_ends_on.or(self.ends_on),
            _ => self.renews_on.or(self.ends_on),
        }
    }
}

impl EntitlementView {
    /// What ends within `days` days, if anything: (what, the date, days left). A trial's
    /// end, a fixed end, or a renewal date that will not renew by itself.
    pub fn ending_within(&self, days: i64) -> Option<(&'static str, NaiveDate, i64)> {
        let left = self.days_left?;
        if !(0..=days).contains(&left) {
            return None;
        }
        match self.status {
            EntitlementStatus::Trial => self.next_date().map(|d| ("Trial ends", d, left)),
            EntitlementStatus::Cancelled => None,
            _ if self.ends_on.is_some() && self.renews_on.is_none() => self.ends_on.map(|d| ("Ends", d, left)),
            _ if !self.auto_renew => self.renews_on.map(|d| ("Renewal due", d, left)),
            _ => None,
        }
    }
}

/// An entitlement's license key, for its organisation's admins and vendor staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseKeyView {
    pub entitlement: i64,
    /// `TLK-XXXXXXXX-XXXXXXXX-XXXXXXXX-XXXXXXXX`.
    pub key: String,
    /// The key's public id (`lk_…`), which names it without revealing it.
    pub key_id: String,
    /// Unix seconds.
    pub created_at: i64,
}
