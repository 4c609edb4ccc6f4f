//! Fresh migrated databases for store tests: a SQLite file always, and a throw-away
//! PostgreSQL database when one is reachable (`TESSERA_TEST_PG`, default the local server).

use super::entitlements::instances::InstanceQuery;
use super::Store;

/// Every instance of a customer (the tests' customers have a few).
pub const ALL_INSTANCES: InstanceQuery<'static> = InstanceQuery { search: None, after: None, limit: 1_000 };

/// A migrated store that removes its database when dropped.
pub struct TestDb {
    pub store: Store,
    pub name: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Postgres { admin_url: String, db: String },
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}_{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), nanos)
}

/// A random deployment secret.
fn test_secret() -> crate::store::secret::Secret {
    crate::store::secret::Secret::from_bytes(crate::store::secret::Secret::generate())
}

/// A fresh SQLite store in the temp folder.
pub async fn sqlite() -> TestDb {
    let path = std::env::temp_dir().join(format!("{}.db", unique("tessera_test")));
    let store = Store::connect(&format!("sqlite://{}", path.display()), test_secret()).await.unwrap_or_else(|e| panic!("sqlite: {e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrate: {e}"));
    TestDb { store, name: "sqlite".into(), cleanup: Cleanup::File(path) }
}

/// A fresh PostgreSQL store, or `None` when no server answers.
pub async fn postgres() -> Option<TestDb> {
    let base = std::env::var("TESSERA_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let admin_url = format!("{base}/postgres");
    sqlx::any::install_default_drivers();
    let mut admin = match <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipping PostgreSQL: {e}");
            return None;
        }
    };
    let db = unique("tessera_test");
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut admin).await.unwrap_or_else(|e| panic!("create db: {e}"));
    let store = Store::connect(&format!("{base}/{db}"), test_secret()).await.unwrap_or_else(|e| panic!("pg: {e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrate: {e}"));
    Some(TestDb { store, name: "postgres".into(), cleanup: Cleanup::Postgres { admin_url, db } })
}

/// Every engine this machine has: SQLite, then PostgreSQL if reachable.
pub async fn all() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    dbs.extend(postgres().await);
    dbs
}

impl TestDb {
    /// Closes the pool and removes the database.
    pub async fn drop_db(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, db } => {
                if let Ok(mut admin) = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&mut admin).await;
                }
            }
        }
    }
}

/// Every engine this machine has, each seeded with the demo data at `now` (with stand-in
/// password hashes). PostgreSQL must be there when `TESSERA_REQUIRE_PG=1`.
pub async fn seeded(now: i64) -> Vec<TestDb> {
    let dbs = all().await;
    if std::env::var("TESSERA_REQUIRE_PG").is_ok_and(|v| v == "1") {
        assert!(dbs.iter().any(|d| d.name == "postgres"), "PostgreSQL is required here but did not answer");
    }
    let hashes: Vec<String> = super::seed::DEMO_USERS.iter().map(|(e, ..)| format!("hash-of-{e}")).collect();
    for db in &dbs {
        super::seed::seed_demo(&db.store, &hashes, now).await.unwrap_or_else(|e| panic!("{}: seed: {e}", db.name));
    }
    dbs
}
