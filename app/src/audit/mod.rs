//! The audit log as people browse it: every change, by anyone, with who, when, what and
//! before → after.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// One audit event as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    pub actor: String,
    pub customer: Option<String>,
    pub kind: String,
    pub subject: String,
    /// JSON, as recorded.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A page of events, newest first, and where the next (older) page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    pub next_before: Option<i64>,
}
