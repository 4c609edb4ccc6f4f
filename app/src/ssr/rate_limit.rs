//! Per-API-key rate limiting: a token bucket per key, refilled continuously. Over the
//! limit the enforcement API answers 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// Requests per second per key, and the burst allowed above it.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every key seen.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Arc<RwLock<HashMap<i64, Arc<Mutex<Bucket>>>>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter { limit, buckets: Arc::default() }
    }

    /// Takes one token for `key`; `Err(seconds to wait)` when none is left.
    pub fn take(&self, key: i64) -> Result<(), f64> {
        let bucket = {
            let read = self.buckets.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            read.get(&key).cloned()
        };
        let bucket = bucket.unwrap_or_else(|| {
            let mut write = self.buckets.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            write.entry(key).or_insert_with(|| Arc::new(Mutex::new(Bucket { tokens: self.limit.burst, at: Instant::now() }))).clone()
        });
        let mut b = bucket.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.limit.per_second).min(self.limit.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - b.tokens) / self.limit.per_second)
        }
    }
}
