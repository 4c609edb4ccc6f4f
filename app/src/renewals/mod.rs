//! Renewals: when each entitlement renews or ends, and the banner that warns of what
//! ends soon on every page of the portal.

pub mod api;
pub mod pages;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How many days ahead the banner warns.
pub const NOTICE_DAYS: i64 = 30;

/// Something that ends soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalNotice {
    pub entitlement_id: i64,
    pub product: String,
    /// "Trial ends", "Ends" or "Renewal due".
    pub what: String,
    pub on: NaiveDate,
    pub days_left: i64,
    /// Days it stays usable, with a warning, after that date.
    pub grace_days: i64,
}
