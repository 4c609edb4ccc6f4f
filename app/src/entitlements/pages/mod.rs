//! The customer's entitlements.

mod card;
pub mod list;

pub use card::{EntitlementCard, ViewingAs};
pub use list::EntitlementsPage;
