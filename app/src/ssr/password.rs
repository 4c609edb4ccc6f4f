//! Password hashing with argon2id.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::error::AppError;

/// The turns of argon2 work: at most [`PER_SECOND`] hashes a second (with a burst of
/// [`BURST`]), on their own threads (half the machine's cores, at least one) that run at the
/// lowest scheduling priority, and at most [`QUEUE_MAX`] queued or running, so that a flood
/// of sign-ins takes a bounded share of the machine (each hash holds argon2's 19 MiB) and the
/// enforcement API's threads are always served first.
#[derive(Debug)]
pub struct HashGate {
    jobs: mpsc::Sender<Job>,
    /// Hashes queued or running.
    waiting: Arc<AtomicUsize>,
    /// Tokens left and when they were last counted.
    budget: Mutex<(f64, Instant)>,
}

type Job = Box<dyn FnOnce() + Send>;

/// Hashes that may be queued or running; past this, a request is answered `Busy` at once.
pub const QUEUE_MAX: usize = 32;
/// Hashes a second, on average: ten sign-ins a second is 36,000 an hour.
pub const PER_SECOND: f64 = 10.0;
/// Hashes that may come at once after a quiet spell.
pub const BURST: f64 = 20.0;

impl Default for HashGate {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..(cores / 2).max(1) {
            let queue = Arc::clone(&queue);
            let worker = std::thread::Builder::new().name(format!("password-hash-{n}")).spawn(move || {
                lowest_priority();
                // Each job is taken with the lock held and run without it; the loop ends when
                // the gate is dropped.
                loop {
                    let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok(job) = next else { break };
                    job();
                }
            });
            if let Err(e) = worker {
                tracing::error!("password hashing thread not started: {e}");
            }
        }
        HashGate { jobs, waiting: Arc::new(AtomicUsize::new(0)), budget: Mutex::new((BURST, Instant::now())) }
    }
}

/// The hashes in a budget of `tokens` counted at `then`, at `now`: refilled at
/// [`PER_SECOND`] up to [`BURST`].
fn refilled((tokens, then): (f64, Instant), now: Instant) -> f64 {
    (tokens + now.saturating_duration_since(then).as_secs_f64() * PER_SECOND).min(BURST)
}

/// Lowers the calling thread to the lowest scheduling priority, where the system allows
/// it: Linux's idle policy (`SCHED_IDLE`: it runs only on a core nothing else wants, and any
/// other thread that wakes takes the core from it at once), at nice 19; elsewhere the thread
/// keeps its priority.
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no arguments; setpriority reads only its three integers and,
        // on Linux, applies to the one thread named by its id; sched_setscheduler with pid 0
        // applies to the calling thread and reads the parameter it is given, which lives
        // through the call.
        let (niced, idle) = unsafe {
            let thread = libc::syscall(libc::SYS_gettid);
            let niced = libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, 19);
            let param = libc::sched_param { sched_priority: 0 };
            (niced, libc::sched_setscheduler(0, libc::SCHED_IDLE, &param))
        };
        if niced != 0 || idle != 0 {
            tracing::warn!("password hashing runs above the lowest priority: {}", std::io::Error::last_os_error());
        }
    }
}

/// Counts a hash out of the queue when its job ends, however it ends.
struct Done(Arc<AtomicUsize>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashGate {
    /// Takes one hash from the budget; false when it is spent.
    fn spend(&self) -> bool {
        let mut budget = self.budget.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let tokens = refilled(*budget, now);
        let (left, spent) = if tokens >= 1.0 { (tokens - 1.0, true) } else { (tokens, false) };
        *budget = (left, now);
        spent
    }

    /// Whether a hash asked for now would be refused (the budget spent or the queue full):
    /// a flood is then answered before anything else is read for it.
    pub fn is_spent(&self) -> bool {
        let budget = *self.budget.lock().unwrap_or_else(PoisonError::into_inner);
        refilled(budget, Instant::now()) < 1.0 || self.waiting.load(Ordering::Acquire) >= QUEUE_MAX
    }

    /// Runs `work` (a password hash or verification) on a hashing thread in its turn.
    /// `Busy` when the budget is spent or the queue is full. A request that goes away
    /// leaves its hash to finish, still counted, so the bound holds.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        if !self.spend() {
            tracing::warn!("password hashing budget spent: a request was answered busy");
            return Err(AppError::Busy);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= QUEUE_MAX {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!("password hashing queue full: a request was answered busy");
            return Err(AppError::Busy);
        }
        let done = Done(Arc::clone(&self.waiting));
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            drop(done);
            // Whoever asked may have gone: the answer is then dropped.
            let _ = answer.send(outcome);
        });
        self.jobs.send(job).map_err(|e| super::internal("password hashing", e))?;
        match answered.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(super::internal("password hashing", "the hash panicked")),
            Err(e) => Err(super::internal("password hashing", e)),
        }
    }
}

/// The most common passwords of 10 or more characters (10 is the shortest allowed), from
/// the 30,000 of zxcvbn's frequency list (MIT), one per line.
const COMMON: &str = include_str!("common-passwords.txt");

/// Whether `password` is one of the most common ones (any case, surrounding spaces aside).
pub fn is_common(password: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| COMMON.lines().map(str::trim).filter(|l| !l.is_empty()).collect());
    set.contains(password.trim().to_lowercase().as_str())
}

/// Checks a new password for the account `email`, typed twice: long enough (at least
/// `min` characters) but not absurdly, not one of the most common, not the email or
/// its name part, and the same both times. Errors: `Invalid` on `password` or `confirm`.
pub fn check_new_password(password: &str, confirm: &str, email: &str, min: usize) -> Result<(), AppError> {
    if password.chars().count() < min {
        return Err(AppError::invalid("password", format!("Use at least {min} characters.")));
    }
    if password.len() > 1024 {
        return Err(AppError::invalid("password", "That password is too long."));
    }
    let lower = password.trim().to_lowercase();
    let email = email.trim().to_lowercase();
    let name = email.split('@').next().unwrap_or_default();
    if lower == email || (!name.is_empty() && lower == name) {
        return Err(AppError::invalid("password", "Choose a password that is not your email address."));
    }
    if is_common(password) {
        return Err(AppError::invalid("password", "That is one of the most common passwords, which are tried first: choose another."));
    }
    if password != confirm {
        return Err(AppError::invalid("confirm", "The two passwords differ."));
    }
    Ok(())
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
    fn new_passwords_must_be_long_uncommon_not_the_email_and_typed_twice_alike() {
        let check = |p: &str, c: &str| {
            check_new_password(p, c, "ada.lovelace@initech.example", 10).err().and_then(|e| e.for_field_name().map(str::to_owned))
        };
        assert_eq!(check("analytical engine 1843", "analytical engine 1843"), None);
        assert_eq!(check("short", "short"), Some("password".into()));
        assert_eq!(check("Password123", "Password123"), Some("password".into()), "common, whatever the case");
        assert_eq!(check("qwertyuiop", "qwertyuiop"), Some("password".into()));
        assert_eq!(check("ADA.lovelace@initech.example", "ADA.lovelace@initech.example"), Some("password".into()));
        assert_eq!(check("analytical engine 1843", "analytical engine 1842"), Some("confirm".into()));
        assert!(COMMON.lines().count() > 1_000 && COMMON.lines().all(|l| l.chars().count() >= 10));
    }

    #[test]
    fn the_hashing_budget_allows_a_burst_then_a_steady_rate() {
        let gate = HashGate::default();
        assert!(!gate.is_spent());
        let spent = (0..100).filter(|_| gate.spend()).count();
        assert_eq!(spent, BURST as usize, "a burst, then nothing until the budget refills");
        assert!(gate.is_spent(), "spent, as the next sign-in is told before anything is read for it");
        std::thread::sleep(std::time::Duration::from_millis(250));
        let refilled = (0..100).filter(|_| gate.spend()).count();
        assert!((1..=4).contains(&refilled), "about {PER_SECOND} a second: {refilled} after 250 ms");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_on_threads_of_the_lowest_priority_and_answer_in_turn() {
        let gate = HashGate::default();
        // SAFETY: as in `lowest_priority`, on the thread that runs the job.
        let nice = gate.run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::syscall(libc::SYS_gettid) as libc::id_t) }).await;
        assert_eq!(nice.unwrap_or_else(|e| panic!("{e}")), 19);
        // SAFETY: sched_getscheduler with pid 0 reads the calling thread's policy.
        let policy = gate.run(|| unsafe { libc::sched_getscheduler(0) }).await;
        assert_eq!(policy.unwrap_or_else(|e| panic!("{e}")), libc::SCHED_IDLE, "the idle policy");
        let hash = gate.run(|| hash_password("correct horse battery")).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(verify_password("correct horse battery", &hash.unwrap_or_else(|e| panic!("{e}"))));
        let failed = gate.run(|| -> u8 { panic!("a hash that fails") }).await;
        assert!(matches!(failed, Err(AppError::Internal)), "a failed hash is an error, and the thread lives on");
        assert_eq!(gate.run(|| 7).await.unwrap_or_else(|e| panic!("{e}")), 7);
        assert_eq!(gate.waiting.load(Ordering::Acquire), 0, "every hash is counted out");
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let a = hash_password("pw").unwrap_or_else(|e| panic!("{e}"));
        let b = hash_password("pw").unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b);
    }
}
