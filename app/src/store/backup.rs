//! Backups of the SQLite database while it serves, and putting one back.
//!
//! `tessera backup FILE` writes a copy as of one moment (`VACUUM INTO`, one read
//! transaction: the server's writes go on meanwhile and are not in it). `tessera restore
//! FILE` puts a backup in place of the database once no server serves it: it checks the
//! backup first (made under this deployment's secret, its audit chain whole), then swaps it
//! in at once. PostgreSQL's own tools back up a PostgreSQL database (README, "Backups").

use std::path::{Path, PathBuf};

use super::start::{beside, lock_file};
use super::{normalise_url, sqlite_path, Engine, Store, StoreError};

/// Why a backup or a restore was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Nothing was changed; the words say why.
    #[error("{0}")]
    Refused(String),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The audit events of the backup, every link checked.
    pub events: i64,
    pub bytes: u64,
}

const WITH_POSTGRES: &str = "a PostgreSQL database is backed up and restored with PostgreSQL's own tools: \
     pg_dump --format=custom and pg_restore (README, \"Backups\")";

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::File { path: path.to_owned(), source }
}

/// The file that says the database `database` is served: each server holds it shared.
fn serving_marker(database: &Path) -> Result<std::fs::File, BackupError> {
    lock_file(database, ".serving").map_err(file_error(&beside(database, ".serving")))
}

impl Store {
    /// Writes a copy of the database as of one moment to `file`, a new file, while the
    /// server goes on; its size in bytes.
    pub async fn backup(&self, file: &Path) -> Result<u64, BackupError> {
        if self.engine != Engine::Sqlite {
            return Err(BackupError::Refused(WITH_POSTGRES.into()));
        }
        if file.exists() {
            return Err(BackupError::Refused(format!("{} exists already: a backup never replaces a file", file.display())));
        }
        // Written under another name first, so that a backup cut short is never taken for one.
        let partial = beside(file, ".partial");
        let _ = std::fs::remove_file(&partial);
        sqlx::query("VACUUM INTO $1").bind(partial.to_string_lossy().into_owned()).execute(self.pool()).await.map_err(StoreError::from)?;
        std::fs::rename(&partial, file).map_err(file_error(file))?;
        Ok(std::fs::metadata(file).map_err(file_error(file))?.len())
    }
}

/// Marks the SQLite database of `database_url` as served by this process while the
/// returned file is held, so that a restore refuses to replace it; `None` on PostgreSQL.
/// Taken before the database is opened: a server started while a restore is under way
/// waits for it to finish, and then opens the restored file, never the one it replaces.
pub async fn serving(database_url: &str) -> Result<Option<std::fs::File>, BackupError> {
    let (engine, _) = normalise_url(database_url)?;
    let database = match (engine, sqlite_path(database_url)) {
        (Engine::Sqlite, Some(path)) => PathBuf::from(path),
        _ => return Ok(None),
    };
    let marker = serving_marker(&database)?;
    match marker.try_lock_shared() {
        Ok(()) => return Ok(Some(marker)),
        Err(std::fs::TryLockError::WouldBlock) => {
            tracing::warn!(database = %database.display(), "a restore of the database is under way: waiting for it to finish");
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(file_error(&database)(e)),
    }
    let marker = tokio::task::spawn_blocking(move || marker.lock_shared().map(|()| marker))
        .await
        .map_err(|e| BackupError::File { path: database.clone(), source: std::io::Error::other(e) })?
        .map_err(file_error(&database))?;
    Ok(Some(marker))
}

/// Puts the backup `file` in place of the SQLite database of `database_url`, refusing
/// while a server serves it and refusing a backup made under another secret or whose audit
/// chain is broken; the database is then the backup, whole, or unchanged.
pub async fn restore(database_url: &str, file: &Path, secret: super::secret::Secret) -> Result<Restored, BackupError> {
    let (engine, _) = normalise_url(database_url)?;
    let database = match (engine, sqlite_path(database_url)) {
        (Engine::Sqlite, Some(path)) => PathBuf::from(path),
        _ => return Err(BackupError::Refused(WITH_POSTGRES.into())),
    };
    if !file.is_file() {
        return Err(BackupError::Refused(format!("{} is not a backup file", file.display())));
    }
    let marker = serving_marker(&database)?;
    if marker.try_lock().is_err() {
        return Err(BackupError::Refused(format!("a server is serving {}: stop it, then restore", database.display())));
    }
    // The copy is checked where it will be swapped in from.
    let restoring = beside(&database, ".restoring");
    let bytes = std::fs::copy(file, &restoring).map_err(file_error(&restoring))?;
    let checked = check_backup(&restoring, secret).await;
    let events = match checked {
        Ok(events) => events,
        Err(e) => {
            for leftover in [restoring.clone(), beside(&restoring, "-wal"), beside(&restoring, "-shm")] {
                let _ = std::fs::remove_file(leftover);
            }
            return Err(e);
        }
    };
    for stale in [beside(&database, "-wal"), beside(&database, "-shm")] {
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(file_error(&stale)(e)),
            _ => {}
        }
    }
    std::fs::rename(&restoring, &database).map_err(file_error(&database))?;
    drop(marker);
    Ok(Restored { events, bytes })
}

/// The audit events of the backup at `path`, once its secret and its chain are checked.
async fn check_backup(path: &Path, secret: super::secret::Secret) -> Result<i64, BackupError> {
    let store = Store::connect(&format!("sqlite://{}", path.display()), secret).await?;
    let checked = async {
        match store.check_secret().await {
            Err(StoreError::WrongSecret) => {
                return Err(BackupError::Refused("the backup was made under another deployment's secret: its keys would not open".into()))
            }
            other => other?,
        }
        let report = store.audit_report().await?;
        if report.broken_at.is_some() || !report.head_matches {
            return Err(BackupError::Refused(format!(
                "the backup's audit chain is broken (at event #{}): it was changed after it was made",
                report.broken_at.unwrap_or(report.events + 1)
            )));
        }
        Ok(report.events)
    }
    .await;
    // Closed, its WAL folded into the file, before the file is moved.
    store.close().await;
    checked
}
