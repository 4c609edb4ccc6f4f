//! The vendor's list of customers.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// One customer in the vendor's list, with a one-line summary of each entitlement.
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
