//! Password hashing with argon2id.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::sync::Semaphore;

use crate::error::AppError;

/// The turns of argon2 work: at most half the machine's cores at once (at least one), so
/// that a flood of sign-ins leaves the rest to enforcement and pages (each hash holds
/// argon2's 19 MiB), and at most [`QUEUE_MAX`] waiting for a turn.
#[derive(Debug)]
pub struct HashGate {
    turns: Semaphore,
    waiting: AtomicUsize,
}

/// Hashes that may wait for their turn; past this, a request is answered `Busy` at once.
pub const QUEUE_MAX: usize = 32;

impl Default for HashGate {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        HashGate { turns: Semaphore::new((cores / 2).max(1)), waiting: AtomicUsize::new(0) }
    }
}

impl HashGate {
    /// Runs `work` (a password hash or verification) on a blocking thread in its turn.
    /// `Busy` when the queue is full.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= QUEUE_MAX {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!("password hashing queue full: a request was answered busy");
            return Err(AppError::Busy);
        }
        let turn = self.turns.acquire().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let _turn = turn.map_err(|e| super::internal("password hashing", e))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| super::internal("password hashing", e))
    }
}

/// Hashes `password` with argon2id and a fresh salt, in PHC string form.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// True when `password` matches the PHC `hash`; false for a wrong password or a
/// malformed hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Spends the same work as a real verification, for an email that has no password,
/// so that timing does not tell which emails exist.
pub fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("not-a-password").ok()) {
        let _ = verify_password(password, hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let hash = hash_password("correct horse").unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("Correct horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let a = hash_password("pw").unwrap_or_else(|e| panic!("{e}"));
        let b = hash_password("pw").unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b);
    }
}
