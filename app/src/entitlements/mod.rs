//! A customer's entitlements as the portal shows them.

pub mod api;
pub mod pages;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The lifecycle state of an entitlement.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementStatus {
    Trial,
    Active,
    Suspended,
    Expired,
    Cancelled,
}

impl EntitlementStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EntitlementStatus::Trial => "trial",
            EntitlementStatus::Active => "active",
            EntitlementStatus::Suspended => "suspended",
            EntitlementStatus::Expired => "expired",
            EntitlementStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored status; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        use EntitlementStatus::*;
        [Trial, Active, Suspended, Expired, Cancelled].into_iter().find(|x| x.as_str() == s)
    }

    /// The words shown to people.
    pub fn label(self) -> &'static str {
        match self {
            EntitlementStatus::Trial => "Trial",
            EntitlementStatus::Active => "Active",
            EntitlementStatus::Suspended => "Suspended",
            EntitlementStatus::Expired => "Expired",
            EntitlementStatus::Cancelled => "Cancelled",
        }
    }
}

/// A feature an entitlement unlocks, with its quota when metered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureGrant {
    pub key: String,
    pub name: String,
    /// The metered quota per period, e.g. 10,000 a month.
    pub quota: Option<i64>,
    pub quota_period: Option<String>,
}

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

/// Whole days from `today` to `date` (negative when past).
pub fn days_between(today: NaiveDate, date: NaiveDate) -> i64 {
    (date - today).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_stored_name() {
        use EntitlementStatus::*;
        for s in [Trial, Active, Suspended, Expired, Cancelled] {
            assert_eq!(EntitlementStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(EntitlementStatus::parse("paused"), None);
    }

    #[test]
    fn days_between_counts_whole_days_and_goes_negative_in_the_past() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let (Some(a), Some(b)) = (d("2026-11-23"), d("2027-01-07")) else { panic!("dates") };
        assert_eq!(days_between(a, b), 45);
        assert_eq!(days_between(b, a), -45);
    }
}
