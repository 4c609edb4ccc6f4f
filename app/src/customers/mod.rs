//! The vendor's list of customers.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// What a change of an entitlement's terms by staff came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AmendOutcome {
    /// The terms are set.
    Applied,
    /// The approval rules send such a change to two people: it waits for a second member
    /// of staff.
    Proposed,
}

/// A change of terms one member of staff proposed, waiting for another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedAmendmentView {
    pub id: i64,
    pub product: String,
    /// What it changes, in words.
    pub summary: String,
    pub reason: String,
    pub proposed_by: String,
    pub proposed_on: chrono::NaiveDate,
}

/// A customer's portal as vendor staff may view it: its name, and whether they opened it
/// (the opening recorded in the audit log) in this session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewAs {
    pub name: String,
    pub opened: bool,
}

/// One customer in the vendor's list, with a one-line summary of each entitlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSummary {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub users: i64,
    /// "Acme Analytics · Team · active", one per entitlement.
    pub entitlements: Vec<String>,
}

/// A customer just created, with the link its first admin sets a password through
/// (shown once, to the staff member who made it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedCustomer {
    pub slug: String,
    pub name: String,
    pub admin_email: String,
    /// The path of the invitation link (`/invite/…`).
    pub path: String,
    pub expires_on: chrono::NaiveDate,
}

/// The share of a quota at which a customer is near its limit.
pub const NEAR_LIMIT_PERCENT: i64 = 80;

/// Customers per page of the vendor's list.
pub const CUSTOMERS_PAGE: i64 = 50;

/// A page of the vendor's customer list, by name, and the customer the next page starts
/// after (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPage {
    pub customers: Vec<CustomerSummary>,
    pub next_after: Option<i64>,
}

/// The customers that need attention soon, as the list filters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CustomerFilter {
    /// A trial ends within 14 days.
    TrialEnding,
    /// A term ends within 30 days.
    TermEnding,
    /// An entitlement renews within 30 days.
    Renewing,
    /// An entitlement is at 80 % or more of a quota this period, or every seat is taken.
    NearLimit,
}

impl CustomerFilter {
    pub const ALL: [CustomerFilter; 4] =
        [CustomerFilter::TrialEnding, CustomerFilter::TermEnding, CustomerFilter::Renewing, CustomerFilter::NearLimit];

    /// The value in the list's address (`/customers?show=trial-ending`).
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerFilter::TrialEnding => "trial-ending",
            CustomerFilter::TermEnding => "term-ending",
            CustomerFilter::Renewing => "renewing",
            CustomerFilter::NearLimit => "near-limit",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerFilter> {
        CustomerFilter::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// How the list names it.
    pub fn label(self) -> &'static str {
        match self {
            CustomerFilter::TrialEnding => "A trial ends within 14 days",
            CustomerFilter::TermEnding => "A term ends within 30 days",
            CustomerFilter::Renewing => "Renews within 30 days",
            CustomerFilter::NearLimit => "At 80 % of a quota or at the seat cap",
        }
    }
}
