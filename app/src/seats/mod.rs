//! Seats and the people who hold them: the customer admin's seats page, invitations and
//! removing users.

pub mod api;
pub mod pages;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::auth::Role;

/// One user of the organisation as the seats page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The day they got a seat of this entitlement; `None` without one.
    pub seat_since: Option<NaiveDate>,
    /// They hold one of the seats assigned last beyond the cap (after a downgrade or a seat
    /// reduction): assigned, but not usable until seats are freed.
    pub held_back: bool,
    /// They have not set a password through their invitation yet.
    pub invited: bool,
    /// When their open invitation link stops working; `None` when none is open.
    pub invitation_expires_on: Option<NaiveDate>,
}

/// An entitlement's seats and the organisation's users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatsView {
    pub entitlement_id: i64,
    pub customer: String,
    pub product: String,
    pub plan: String,
    pub seats_used: i64,
    pub seats_cap: i64,
    pub members: Vec<Member>,
    /// The signed-in user's id, whom the page does not offer to remove.
    pub me: i64,
}

impl SeatsView {
    /// Every seat is taken.
    pub fn at_cap(&self) -> bool {
        self.seats_used >= self.seats_cap
    }

    /// Seats assigned beyond the cap: held back until the admin frees as many.
    pub fn held_back(&self) -> i64 {
        (self.seats_used - self.seats_cap).max(0)
    }
}

/// A fresh invitation link, shown once to the admin who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub email: String,
    /// The path of the link (`/invite/…`); the page puts the site's origin in front.
    pub path: String,
    pub expires_on: NaiveDate,
    /// A seat was asked for and given (false when none was asked for or none was free).
    pub seated: bool,
}

/// What the invitation page shows to the person who opens the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationInfo {
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub expires_on: NaiveDate,
    /// A link to set a new password (the user has one), not to join.
    pub reset: bool,
    /// The organisation's provider, when it signs the invited person's domain in through
    /// it only: they continue there instead of choosing a password.
    pub sso: Option<String>,
}
