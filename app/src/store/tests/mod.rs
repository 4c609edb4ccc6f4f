//! Store tests: the database URL rules here, and round-trips on fresh migrated databases,
//! on SQLite and PostgreSQL, in the modules below.

mod basics;
mod console;
mod exports;
mod self_service;
mod staff;

use super::*;

#[test]
fn sqlite_urls_get_create_mode_and_memory_is_refused() {
    let dir = std::env::temp_dir().join(format!("tessera-url-{}", std::process::id()));
    let url = format!("sqlite://{}/t.db", dir.display());
    let (engine, opened) = normalise_url(&url).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(engine, Engine::Sqlite);
    assert!(opened.ends_with("?mode=rwc"));
    assert!(dir.is_dir());
    assert!(matches!(normalise_url("sqlite::memory:"), Err(StoreError::BadUrl(_))));
    assert!(matches!(normalise_url("mysql://x"), Err(StoreError::BadUrl(_))));
    assert_eq!(normalise_url("postgres://h/db").map(|x| x.0).ok(), Some(Engine::Postgres));
}
