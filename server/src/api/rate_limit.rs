//! Per-API-key rate limits: the buckets live with the application state
//! (`app::ssr::rate_limit`); the `Caller` extractor spends one token per request.

pub use app::ssr::rate_limit::{RateLimit, RateLimiter};
