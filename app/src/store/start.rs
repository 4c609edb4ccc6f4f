//! The start lock: the work a server does before it serves (migrations, the demo data, the
//! first signing key, licence keys for entitlements without one) is done by one process at
//! a time. Replicas started together on one database wait for each other instead of racing:
//! the first does the work, the others find it done.
//!
//! On PostgreSQL it is an advisory lock, held by one session; on SQLite a lock of the file
//! `<database>.lock` beside the database. Either goes with the process however it ends, so
//! a crash in the middle of a start never leaves it held.

use sqlx::pool::PoolConnection;
use sqlx::Any;

use super::{Engine, Store, StoreError};

/// The start lock among PostgreSQL's advisory locks: `TESSERA` and a version.
const ADVISORY_KEY: i64 = 0x5445_5353_4552_4101;

/// The start lock, held until [`StartLock::release`].
#[must_use = "the start lock is held until released"]
pub struct StartLock {
    held: Option<Held>,
}

enum Held {
    Postgres(PoolConnection<Any>),
    Sqlite(std::fs::File),
}

impl Store {
    /// Waits until no other process is starting on this database, then holds the start
    /// lock.
    pub async fn start_lock(&self) -> Result<StartLock, StoreError> {
        let held = match (self.engine, &self.sqlite_file) {
            (Engine::Sqlite, Some(database)) => {
                let database = database.clone();
                let file = tokio::task::spawn_blocking(move || {
                    let file = lock_file(&database, ".lock")?;
                    file.lock()?;
                    Ok::<_, std::io::Error>(file)
                })
                .await
                .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
                .map_err(sqlx::Error::Io)?;
                Held::Sqlite(file)
            }
            _ => {
                let mut conn = self.pool.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock($1)").bind(ADVISORY_KEY).execute(&mut *conn).await?;
                Held::Postgres(conn)
            }
        };
        Ok(StartLock { held: Some(held) })
    }
}

/// `path` with `suffix` added to its name.
pub(crate) fn beside(path: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// The file beside the SQLite `database` whose OS lock stands for something about it
/// (`.lock`: a server starting; `.serving`: servers serving), made when missing.
pub(crate) fn lock_file(database: &std::path::Path, suffix: &str) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(beside(database, suffix))
}

impl StartLock {
    /// Lets the next process start.
    pub async fn release(mut self) -> Result<(), StoreError> {
        match self.held.take() {
            Some(Held::Postgres(mut conn)) => {
                sqlx::query("SELECT pg_advisory_unlock($1)").bind(ADVISORY_KEY).execute(&mut *conn).await?;
            }
            Some(Held::Sqlite(file)) => file.unlock().map_err(sqlx::Error::Io)?,
            None => {}
        }
        Ok(())
    }
}

impl Drop for StartLock {
    /// A start that failed lets go too: the lock's session is closed rather than put back
    /// into the pool still holding it (the file's lock goes with the file).
    fn drop(&mut self) {
        if let Some(Held::Postgres(conn)) = self.held.take() {
            drop(conn.detach());
        }
    }
}
