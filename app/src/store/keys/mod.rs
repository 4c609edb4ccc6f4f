//! Keys: the API keys the vendor's software authenticates with, and the signing keys of
//! offline licence tokens.

pub mod api_keys;
pub mod signing;
