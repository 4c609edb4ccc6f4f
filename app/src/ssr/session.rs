//! Session storage in the same database as everything else: tower-sessions' sqlx
//! stores, one per engine, behind one type.

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::str::FromStr;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::store::{normalise_url, Engine, StoreError};

/// The session store of the configured engine.
#[derive(Debug, Clone)]
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionBackend {
    /// Opens a small pool of its own on `database_url` and creates the session table.
    pub async fn connect(database_url: &str) -> Result<SessionBackend, StoreError> {
        let (engine, url) = normalise_url(database_url)?;
        let backend = match engine {
            Engine::Sqlite => {
                let options = SqliteConnectOptions::from_str(&url)?.create_if_missing(true);
                let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
                SessionBackend::Sqlite(SqliteStore::new(pool))
            }
            Engine::Postgres => {
                let pool = PgPoolOptions::new().max_connections(4).connect(&url).await?;
                SessionBackend::Postgres(PostgresStore::new(pool))
            }
        };
        match &backend {
            SessionBackend::Sqlite(s) => s.migrate().await?,
            SessionBackend::Postgres(s) => s.migrate().await?,
        }
        Ok(backend)
    }
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.create(record).await,
            SessionBackend::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.save(record).await,
            SessionBackend::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            SessionBackend::Sqlite(s) => s.load(id).await,
            SessionBackend::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete(id).await,
            SessionBackend::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete_expired().await,
            SessionBackend::Postgres(s) => s.delete_expired().await,
        }
    }
}
