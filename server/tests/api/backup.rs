//! `tessera backup` while the server serves and writes go on, and `tessera restore`: refused
//! while a server serves, then the database as it was at the backup, its audit chain whole.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{drop_postgres, postgres_database, start_tessera, tessera, unique_dir, Process};

async fn start(url: &str) -> Process {
    let url = url.to_owned();
    let mut started = tokio::task::spawn_blocking(move || start_tessera(1, &url, true, &[])).await.unwrap_or_else(|e| panic!("{e}"));
    started.pop().unwrap_or_else(|| panic!("one process"))
}

/// Records one usage event `id`; whether it was acknowledged.
async fn record(server: &Process, id: &str) -> bool {
    let body = json!({"events": [{"event_id": id, "customer": "initech", "feature": "api.calls", "quantity": 1}]});
    let r = Client::new().post(server.url("/api/v1/usage")).bearer_auth("tsk_demo_acme").json(&body).send().await;
    r.is_ok_and(|r| r.status() == StatusCode::OK)
}

async fn stored(url: &str, pattern: &str) -> i64 {
    let pool = sqlx::AnyPool::connect(url).await.unwrap_or_else(|e| panic!("{e}"));
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM usage_events WHERE event_id LIKE $1")
        .bind(pattern)
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    pool.close().await;
    n
}

#[tokio::test]
async fn a_backup_taken_while_serving_is_restored_once_the_server_stops_with_its_audit_chain_whole() {
    sqlx::any::install_default_drivers();
    let dir = unique_dir();
    let url = format!("sqlite://{}/tessera.db", dir.display());
    let backup = dir.join("tessera.backup");
    let backup_path = backup.to_string_lossy().into_owned();
    let server = start(&url).await;
    assert!(record(&server, "before-1").await);

    // Written while usage keeps arriving.
    let writer = tokio::spawn({
        let usage = server.url("/api/v1/usage");
        async move {
            let client = Client::new();
            for n in 0..200 {
                let body =
                    json!({"events": [{"event_id": format!("during-{n}"), "customer": "initech", "feature": "api.calls", "quantity": 1}]});
                let _ = client.post(&usage).bearer_auth("tsk_demo_acme").json(&body).send().await;
            }
        }
    });
    let (ok, said) = tokio::task::spawn_blocking({
        let (url, backup_path) = (url.clone(), backup_path.clone());
        move || tessera(&url, &["backup", &backup_path])
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(ok && said.contains("backed up"), "{said}");
    writer.await.unwrap_or_else(|e| panic!("{e}"));
    let (ok, said) = tessera(&url, &["backup", &backup_path]);
    assert!(!ok && said.contains("exists already"), "a backup never replaces a file: {said}");
    assert!(record(&server, "after-1").await);

    // Refused while the server serves; nothing changed.
    let (ok, said) = tessera(&url, &["restore", &backup_path]);
    assert!(!ok && said.contains("a server is serving"), "{said}");
    assert_eq!(stored(&url, "after-%").await, 1);

    server.signal("TERM");
    let mut server = server;
    assert!(server.exited(Duration::from_secs(15)).await.is_some_and(|s| s.success()));
    drop(server);

    // A backup that was changed after it was made is refused, and nothing changes.
    let tampered = dir.join("tampered.backup");
    std::fs::copy(&backup, &tampered).unwrap_or_else(|e| panic!("{e}"));
    let tampered_url = format!("sqlite://{}", tampered.display());
    let pool = sqlx::AnyPool::connect(&tampered_url).await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("DROP TRIGGER audit_events_no_update").execute(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("UPDATE audit_events SET actor = 'mallory@initech.example' WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    pool.close().await;
    let (ok, said) = tessera(&url, &["restore", &tampered.to_string_lossy()]);
    assert!(!ok && said.contains("audit chain is broken"), "{said}");
    assert_eq!(stored(&url, "after-%").await, 1, "nothing changed");

    let (ok, said) = tessera(&url, &["restore", &backup_path]);
    assert!(ok && said.contains("the chain whole"), "{said}");
    assert_eq!(stored(&url, "before-%").await, 1, "what was there before the backup is there");
    assert_eq!(stored(&url, "after-%").await, 0, "what came after is not");
    let (ok, said) = tessera(&url, &["audit", "verify"]);
    assert!(ok, "{said}");

    // A server started while a restore swaps a file in (holding `<database>.serving` alone
    // meanwhile, as `tessera restore` does) waits for it and opens the file swapped in: what
    // it records is in the database's file afterwards, not in the one replaced.
    let restoring = std::fs::OpenOptions::new().write(true).open(dir.join("tessera.db.serving")).unwrap_or_else(|e| panic!("{e}"));
    restoring.lock().unwrap_or_else(|e| panic!("{e}"));
    let starting = tokio::spawn({
        let url = url.clone();
        async move { start(&url).await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!starting.is_finished(), "no server serves while a restore holds the database");
    let swapped_in = dir.join("swapped-in.db");
    std::fs::copy(&backup, &swapped_in).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&swapped_in, dir.join("tessera.db")).unwrap_or_else(|e| panic!("{e}"));
    for stale in ["tessera.db-wal", "tessera.db-shm"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    restoring.unlock().unwrap_or_else(|e| panic!("{e}"));
    let mut server = starting.await.unwrap_or_else(|e| panic!("{e}"));

    // The restored database serves: a check, and usage recorded again.
    assert_eq!(server.check_ada().await, (StatusCode::OK, "ok".to_owned()));
    assert!(record(&server, "after-restore").await);
    server.signal("TERM");
    assert!(server.exited(Duration::from_secs(15)).await.is_some_and(|s| s.success()));
    drop(server);
    assert_eq!(stored(&url, "after-restore").await, 1, "the server wrote to the file swapped in while it waited");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgresql_is_backed_up_with_its_own_tools() {
    let Some((url, name)) = postgres_database().await else { return };
    let file = unique_dir().join("pg.backup");
    for verb in ["backup", "restore"] {
        let (ok, said) = tessera(&url, &[verb, &file.to_string_lossy()]);
        assert!(!ok && said.contains("pg_dump"), "{verb}: {said}");
    }
    drop_postgres(&name).await;
}
