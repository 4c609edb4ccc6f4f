//! Vendor staff's side of change requests: the approval queue and deciding a request.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

use crate::entitlements::EntitlementView;
use crate::requests::{ChangePreview, ChangeRequestView, RequestKind};

/// Pending requests older than this many days are marked overdue in the queue.
pub const OVERDUE_DAYS: i64 = 2;

/// Requests per page of the queue.
pub const QUEUE_PAGE: i64 = 50;

/// A page of the queue, oldest first, and the request the next page starts after (`None`
/// on the last page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePage {
    pub requests: Vec<QueueItem>,
    pub next_after: Option<i64>,
}

/// One pending request in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    pub id: i64,
    pub customer: String,
    pub customer_slug: String,
    pub kind: RequestKind,
    pub summary: String,
    pub requested_by: String,
    /// Unix seconds.
    pub created_at: i64,
    pub overdue: bool,
    /// Approvals given so far and needed in all (2 when a catalog rule asks for two).
    pub approvals: i64,
    pub approvals_needed: i64,
}

/// A request as the staff decide it: what is asked, what the customer has now, and what
/// the change would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDetail {
    pub request: ChangeRequestView,
    pub customer: String,
    pub customer_slug: String,
    pub entitlement: EntitlementView,
    /// What approving would change; `None` when the request cannot apply any more
    /// (e.g. the plan was changed to the one asked for meanwhile).
    pub preview: Option<ChangePreview>,
    /// The entitlement's version when the request was filed, and now.
    pub filed_version: i64,
    pub current_version: i64,
    /// Who approved so far (name, Unix seconds), when it needs more than one approval.
    pub approvals: Vec<(String, i64)>,
}

/// What a decision came to, for the page to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecisionOutcome {
    /// Approved and applied now.
    Approved,
    /// Approved, to apply on the renewal date the customer asked for.
    Scheduled {
        on: chrono::NaiveDate,
    },
    /// This approval is recorded; the request needs another person's too.
    Recorded {
        have: i64,
        needed: i64,
    },
    Rejected,
}
