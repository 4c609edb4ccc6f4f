//! Keys: the vendor's API keys, the license keys of entitlements, and the signing keys of
//! offline licences.

pub mod api_keys;
pub mod license_keys;
pub mod signing;
