//! The customer's entitlements.

mod card;
pub mod list;

pub use card::EntitlementCard;
pub use list::EntitlementsPage;
