//! The entitlement store: the only place with SQL. One code path serves SQLite and
//! PostgreSQL through sqlx's `Any` driver; times are Unix seconds, flags 0/1.
//!
//! One module per aggregate (entitlements, requests, catalog, keys, members, usage),
//! beside the write path, the event catalog and the audit log every change goes through.

pub mod audit;
pub mod backup;
pub mod catalog;
pub mod console;
pub mod demo;
pub mod entitlements;
pub mod events;
pub mod exports;
pub mod keys;
pub mod members;
pub mod notices;
pub mod provisioning;
pub mod requests;
pub mod secret;
pub mod seed;
pub mod start;
pub mod usage;
pub mod webhooks;
pub mod write;

pub use events::{Changes, EventKind};
pub use tessera_engine::day_of;
pub use write::{ChangeListener, Write};

use chrono::Utc;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database engine a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule of the schema was broken; [`Unique`] says which.
    #[error("duplicate {0:?}")]
    Duplicate(Unique),
    /// A reference rule was broken, or a uniqueness rule [`Unique`] does not name;
    /// `constraint` is what the database called it.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The entitlement is no longer at the version the caller expected (`If-Match`): it is
    /// at `current` now, and nothing was changed.
    #[error("the entitlement is at version {current} now")]
    VersionMoved { current: i64 },
    /// The database URL is not one Tessera can use.
    #[error("unsupported database URL: {0}")]
    BadUrl(String),
    /// Any other database failure.
    #[error(transparent)]
    Db(sqlx::Error),
    /// Applying the migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The deployment's secret is not the one this database was set up with: what it
    /// protects cannot be opened, and nothing must be written under it.
    #[error("the deployment's secret is not the one this database was set up with")]
    WrongSecret,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() || db.is_foreign_key_violation() => {
                match Unique::broken_by(&**db) {
                    Some(rule) if db.is_unique_violation() => StoreError::Duplicate(rule),
                    // PostgreSQL names the constraint; SQLite only says which columns.
                    _ => StoreError::Conflict { constraint: db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned()) },
                }
            }
            _ => StoreError::Db(e),
        }
    }
}

/// A uniqueness rule of the schema, named for what it keeps unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// A product's key.
    ProductKey,
    /// A feature's key within its product.
    FeatureKey,
    /// A plan's version within its product and key.
    PlanVersion,
    /// An add-on's key within its product.
    AddonKey,
    /// A customer's slug.
    CustomerSlug,
    /// A user's email, across every customer and the vendor.
    UserEmail,
    /// One entitlement per customer and product.
    CustomerProduct,
    /// One seat per user and entitlement.
    Seat,
    /// An API key's hash.
    ApiKey,
    /// An invitation token's hash.
    InvitationToken,
    /// A usage event's id within its entitlement.
    UsageEvent,
    /// One approval per person and request.
    RequestApproval,
    /// A customer's id in the vendor's CRM.
    CustomerExternalId,
    /// An entitlement's id in the vendor's CRM or billing.
    EntitlementExternalId,
    /// A SKU of the catalog.
    Sku,
}

/// Each rule of [`Unique`]: its constraint's name (as PostgreSQL reports it) and its
/// columns (as SQLite reports them), from the migrations.
const UNIQUE_RULES: &[(&str, &str, Unique)] = &[
    ("products_key_unique", "products.key", Unique::ProductKey),
    ("features_product_key_unique", "features.product_id, features.key", Unique::FeatureKey),
    ("plans_product_key_version_unique", "plans.product_id, plans.key, plans.version", Unique::PlanVersion),
    ("addons_product_key_unique", "addons.product_id, addons.key", Unique::AddonKey),
    ("customers_slug_unique", "customers.slug", Unique::CustomerSlug),
    ("users_email_unique", "users.email", Unique::UserEmail),
    ("entitlements_customer_product_unique", "entitlements.customer_id, entitlements.product_id", Unique::CustomerProduct),
    ("seats_entitlement_user_unique", "seats.entitlement_id, seats.user_id", Unique::Seat),
    ("api_keys_hash_unique", "api_keys.key_hash", Unique::ApiKey),
    ("invitations_token_unique", "invitations.token_hash", Unique::InvitationToken),
    ("usage_events_event_unique", "usage_events.entitlement_id, usage_events.event_id", Unique::UsageEvent),
    ("request_approvals_pkey", "request_approvals.request_id, request_approvals.approver", Unique::RequestApproval),
    ("customers_external_id_unique", "customers.external_id", Unique::CustomerExternalId),
    ("entitlements_external_id_unique", "entitlements.external_id", Unique::EntitlementExternalId),
    ("skus_pkey", "skus.sku", Unique::Sku),
];

impl Unique {
    /// The form field and the words for a duplicate a person can cause by what they
    /// typed; `None` for one only a fault can cause.
    pub fn field(self) -> Option<(&'static str, &'static str)> {
        match self {
            Unique::CustomerSlug => Some(("slug", "Another customer has this address already.")),
            Unique::UserEmail => Some(("admin_email", "This email belongs to another user already.")),
            Unique::CustomerProduct => Some(("product", "This customer has this product already: change its entitlement instead.")),
            Unique::ProductKey => Some(("key", "A product has this key already.")),
            Unique::FeatureKey => Some(("key", "This product has a feature with this key already.")),
            Unique::AddonKey => Some(("key", "This product has an add-on with this key already.")),
            Unique::CustomerExternalId => Some(("external_id", "Another customer has this external id already.")),
            Unique::EntitlementExternalId => Some(("external_id", "Another entitlement has this external id already.")),
            Unique::Sku => Some(("sku", "This SKU sells something else already.")),
            Unique::PlanVersion
            | Unique::Seat
            | Unique::ApiKey
            | Unique::InvitationToken
            | Unique::UsageEvent
            | Unique::RequestApproval => None,
        }
    }

    /// The rule a unique violation broke. PostgreSQL names the constraint; SQLite names
    /// none and says `UNIQUE constraint failed: table.column, …` instead. This is the one
    /// place that reads a database error's text.
    fn broken_by(db: &dyn sqlx::error::DatabaseError) -> Option<Unique> {
        let columns = db.message().strip_prefix("UNIQUE constraint failed: ");
        UNIQUE_RULES.iter().find(|(name, cols, _)| db.constraint() == Some(*name) || columns == Some(*cols)).map(|(.., rule)| *rule)
    }
}

/// The store: a pool over one database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    /// SQLite takes one writer at a time; queueing writers here instead of in SQLite's
    /// busy handler (which sleeps and retries) keeps write latency even under load.
    sqlite_writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Woken after every committed write that recorded events (the event feed waits on it).
    committed: std::sync::Arc<tokio::sync::Notify>,
    /// Told of every committed write (see [`write`]).
    listener: std::sync::Arc<std::sync::OnceLock<std::sync::Arc<dyn ChangeListener>>>,
    /// The deployment's secret, which protects license keys at rest.
    secret: std::sync::Arc<secret::Secret>,
    /// The database's file, on SQLite.
    sqlite_file: Option<std::path::PathBuf>,
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a SQLite file and
    /// its folder when missing; `secret` protects credentials at rest. Fails on an unknown
    /// scheme or an unreachable database.
    pub async fn connect(url: &str, secret: secret::Secret) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (engine, url) = normalise_url(url)?;
        let max = if engine == Engine::Sqlite { 8 } else { 16 };
        let pool = AnyPoolOptions::new().max_connections(max).connect(&url).await?;
        if engine == Engine::Sqlite {
            // WAL lets readers go on while one writer commits; it is a property of the file.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        Ok(Store {
            pool,
            engine,
            sqlite_writer: Default::default(),
            committed: Default::default(),
            listener: Default::default(),
            secret: std::sync::Arc::new(secret),
            sqlite_file: sqlite_path(&url).map(Into::into),
        })
    }

    /// Applies the migrations of this store's engine that are not applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.engine {
            Engine::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Engine::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// How many migrations of this build are not applied to the database (0 when it is
    /// up to date); an error when the database does not answer.
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        let migrator = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        let tracked: i64 = sqlx::query_scalar(match self.engine {
            Engine::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Engine::Postgres => "SELECT COUNT(*) FROM pg_tables WHERE tablename = '_sqlx_migrations' AND schemaname = current_schema()",
        })
        .fetch_one(&self.pool)
        .await?;
        if tracked == 0 {
            // A new database: everything is to apply.
            return Ok(migrator.iter().count());
        }
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE").fetch_all(&self.pool).await?;
        Ok(migrator.iter().filter(|m| !applied.contains(&m.version)).count())
    }

    /// The pool's connections: open in all, and idle.
    pub fn pool_state(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Waits for this process's turn to write when the engine is SQLite (`None` on
    /// PostgreSQL, whose writers do not block each other's whole database).
    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.engine {
            Engine::Sqlite => Some(self.sqlite_writer.lock().await),
            Engine::Postgres => None,
        }
    }

    /// Woken after each committed write that recorded events in this process; others'
    /// writes (another replica's) are seen only by reading.
    pub fn committed(&self) -> &tokio::sync::Notify {
        &self.committed
    }

    /// The engine behind this store.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Checks that the deployment's secret is the one this database was set up with (the
    /// first start records a keyed hash of a fixed text under it). `WrongSecret` if not.
    pub async fn check_secret(&self) -> Result<(), StoreError> {
        let check = self.secret.lookup(b"tessera deployment secret check v1");
        let stored: Option<String> =
            sqlx::query_scalar("SELECT secret_check FROM deployment WHERE id = 1").fetch_optional(&self.pool).await?;
        match stored {
            Some(stored) if stored == check => Ok(()),
            Some(_) => Err(StoreError::WrongSecret),
            None => {
                sqlx::query("INSERT INTO deployment (id, secret_check) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
                    .bind(&check)
                    .execute(&self.pool)
                    .await?;
                let stored: String = sqlx::query_scalar("SELECT secret_check FROM deployment WHERE id = 1").fetch_one(&self.pool).await?;
                if stored == check {
                    Ok(())
                } else {
                    Err(StoreError::WrongSecret)
                }
            }
        }
    }

    /// The deployment's secret, for the store's modules.
    pub(crate) fn secret(&self) -> &secret::Secret {
        &self.secret
    }

    /// The pool, for the store's modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Tells every process listening on `channel` (PostgreSQL's NOTIFY) that something
    /// changed; a no-op on SQLite, which only one process serves.
    pub async fn announce(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Tells the engine of `url` and returns the URL sqlx should open; a SQLite file gets
/// `mode=rwc` (create when missing) and its parent folder is created.
pub fn normalise_url(url: &str) -> Result<(Engine, String), StoreError> {
    if let Some(path) = sqlite_path(url) {
        if path.is_empty() || path.contains(":memory:") {
            return Err(StoreError::BadUrl(
                "SQLite needs a file path (each pooled connection to :memory: would see its own database)".into(),
            ));
        }
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::BadUrl(format!("cannot create {}: {e}", parent.display())))?;
            }
        }
        let url = if url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        Ok((Engine::Sqlite, url))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Engine::Postgres, url.to_owned()))
    } else {
        Err(StoreError::BadUrl("expected sqlite://… or postgres://…".into()))
    }
}

/// The file of a `sqlite://path?…` URL.
pub(crate) fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    rest.split('?').next()
}

/// SQL for the seat cap of entitlement `e` on plan `pl`: the override, else the plan's,
/// plus what every add-on brings.
pub const SEATS_CAP: &str = "(COALESCE(e.seats_override, pl.seats) + (SELECT CAST(COALESCE(SUM(a.seats), 0) AS BIGINT) \
     FROM entitlement_addons ea JOIN addons a ON a.id = ea.addon_id WHERE ea.entitlement_id = e.id))";

/// SQL for the instance cap of entitlement `e` on plan `pl`, as [`SEATS_CAP`].
pub const INSTANCES_CAP: &str = "(COALESCE(e.instances_override, pl.instances) + (SELECT CAST(COALESCE(SUM(a.instances), 0) AS BIGINT) \
     FROM entitlement_addons ea JOIN addons a ON a.id = ea.addon_id WHERE ea.entitlement_id = e.id))";

/// Now, as Unix seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Reads an `INTEGER`/`BIGINT` 0/1 column as a bool.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
