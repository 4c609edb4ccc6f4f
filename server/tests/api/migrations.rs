//! A database the previous release left behind (`tests/fixtures/previous-release`, made by
//! `scripts/release-fixture.sh` from the commit in its `COMMIT` file: the demo data and a
//! little use) upgraded by this release, on SQLite and on PostgreSQL: `tessera migrate`
//! applies every migration, every row of the previous release is as it was and what the
//! migrations fill in is there; then the server starts on it without seeding the demo again,
//! the audit chain whole and searched by actor, the same signing key, the same answers, and
//! new writes taken.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Client, StatusCode};
use serde_json::json;
use sqlx::{AnyPool, Row};

use crate::helpers::{drop_postgres, json, postgres_database, published_kids, sign_in_at, start_tessera, tessera, unique_dir};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/previous-release");
const MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");

/// Every table's rows, each row its columns as text (NULL as `None`), keyed by column name.
type Tables = BTreeMap<String, Vec<BTreeMap<String, Option<String>>>>;

#[tokio::test]
async fn a_database_of_the_previous_release_is_upgraded_with_every_row_and_answer_as_it_was() {
    sqlx::any::install_default_drivers();
    let dir = unique_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}/tessera.db?mode=rwc", dir.display());
    let sql = std::fs::read_to_string(format!("{FIXTURE}/sqlite.sql")).unwrap_or_else(|e| panic!("the SQLite fixture: {e}"));
    let pool = AnyPool::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::raw_sql(&sql).execute(&pool).await.unwrap_or_else(|e| panic!("loading the SQLite fixture: {e}"));
    pool.close().await;
    upgrade("SQLite", &url, "sqlite").await;

    let Some((url, name)) = postgres_database().await else { return };
    let loaded = std::process::Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-f", &format!("{FIXTURE}/postgres.sql"), &url])
        .output()
        .unwrap_or_else(|e| panic!("psql: {e}"));
    assert!(loaded.status.success(), "loading the PostgreSQL fixture: {}", String::from_utf8_lossy(&loaded.stderr));
    upgrade("PostgreSQL", &url, "postgres").await;
    drop_postgres(&name).await;
}

async fn upgrade(engine: &str, url: &str, migrations: &str) {
    let pool = AnyPool::connect(url).await.unwrap_or_else(|e| panic!("{e}"));
    let sqlite = migrations == "sqlite";
    let before = tables(&pool, sqlite).await;
    let applied_before = applied(&pool).await;
    assert!(!applied_before.is_empty() && before["customers"].len() >= 4, "{engine}: the fixture holds the previous release's demo");
    let head = max(&pool, "SELECT MAX(seq) FROM audit_events").await;
    let kids = strings(&pool, "SELECT kid FROM signing_keys WHERE active = 1").await;
    assert_eq!(kids.len(), 1, "{engine}: the previous release signed with one key");

    // This release's migrations, applied by `tessera migrate` as an operator upgrading
    // would, before the new release serves.
    let files = versions(migrations);
    let (ok, said) = tessera(url, &["migrate"]);
    let missing = files.difference(&applied_before).count();
    assert!(ok && said.contains(&format!("applied {missing} migration")), "{engine}: {said}");
    let applied_after = applied(&pool).await;
    assert_eq!(applied_after, files, "{engine}: every migration of this release, each once and successfully");
    assert!(applied_before.is_subset(&applied_after), "{engine}: the previous release's migrations kept: {applied_before:?}");
    let (ok, said) = tessera(url, &["migrate"]);
    assert!(ok && said.contains("up to date"), "{engine}: {said}");

    // Every row of the previous release as it was, in the columns it had.
    let after = tables(&pool, sqlite).await;
    for (table, rows) in &before {
        let columns: BTreeSet<&String> = rows.first().map(|r| r.keys().collect()).unwrap_or_default();
        let now: Vec<BTreeMap<String, Option<String>>> = after
            .get(table)
            .unwrap_or_else(|| panic!("{engine}: table {table} is gone"))
            .iter()
            .map(|row| row.iter().filter(|(c, _)| columns.contains(c)).map(|(c, v)| (c.clone(), v.clone())).collect())
            .collect();
        assert_eq!(&now, rows, "{engine}: {table} as the previous release left it");
    }
    // What the migrations filled in: everyone who acted, listed for the search by actor.
    let actors = strings(&pool, "SELECT DISTINCT actor FROM audit_events ORDER BY actor").await;
    assert_eq!(strings(&pool, "SELECT actor FROM audit_actors ORDER BY actor").await, actors, "{engine}: every actor listed once");
    let (ok, said) = tessera(url, &["audit", "verify"]);
    assert!(ok && said.contains("audit chain intact"), "{engine}: {said}");

    // This release serves it, with the demo on as the previous one had it: the demo is not
    // seeded again.
    let server = {
        let url = url.to_owned();
        let mut started = tokio::task::spawn_blocking(move || start_tessera(1, &url, true, &[])).await.unwrap_or_else(|e| panic!("{e}"));
        started.pop().unwrap_or_else(|| panic!("one process"))
    };
    for table in ["customers", "users", "entitlements", "plans"] {
        let now = max(&pool, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(now, before[table].len() as i64, "{engine}: {table} as many as before");
    }

    // The same key signs, and the same answers come back: Ada may export (by the vendor's
    // key and by Initech's license key from the previous release), Umbrella is suspended.
    let listed = published_kids(&server.url("/.well-known/jwks.json")).await;
    assert_eq!(listed, kids, "{engine}: the previous release's signing key, and no new one");
    assert_eq!(server.check_ada().await, (StatusCode::OK, "ok".to_owned()), "{engine}");
    let key = app::store::seed::demo_license_key().to_string();
    let (status, answer) = server.check(&key, &json!({"feature": "reports.export", "user": "ada@initech.example"})).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::OK, Some("ok")), "{engine}: the license key: {answer}");
    let umbrella = json!({"customer": "umbrella", "feature": "reports.export", "user": "al@umbrella.example"});
    let (status, answer) = server.check("tsk_demo_acme", &umbrella).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::OK, Some("suspended")), "{engine}: {answer}");

    // The previous release's passwords sign in, and its events are found by who acted.
    let staff = sign_in_at(&server.url(""), "staff@tessera.example").await;
    let ada_events = max(&pool, &format!("SELECT COUNT(*) FROM audit_events WHERE actor = 'ada@initech.example' AND seq <= {head}")).await;
    assert!(ada_events > 0, "{engine}: the fixture has Ada's sign-in");
    let found = json(
        staff.post(server.url("/api/list_audit")).form(&[("actor", "ada@initech.example")]).send().await.unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    let old = found["events"].as_array().map_or(0, |e| e.iter().filter(|e| e["seq"].as_i64().is_some_and(|s| s <= head)).count());
    assert_eq!(old as i64, ada_events, "{engine}: every event of Ada's from the previous release: {found}");

    // New writes are taken, audited onto the same chain.
    let used = json!({"events": [{"event_id": "after-upgrade-1", "customer": "initech", "feature": "api.calls", "quantity": 3}]});
    let r = Client::new()
        .post(server.url("/api/v1/usage"))
        .bearer_auth("tsk_demo_acme")
        .json(&used)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK, "{engine}");
    sign_in_at(&server.url(""), "ada@initech.example").await;
    assert!(max(&pool, "SELECT MAX(seq) FROM audit_events").await > head, "{engine}: the sign-in audited after the upgrade");
    let (ok, said) = tessera(url, &["audit", "verify"]);
    assert!(ok, "{engine}: {said}");
    drop(server);
    pool.close().await;
}

/// The versions of this release's migrations for `engine` (`sqlite`, `postgres`).
fn versions(engine: &str) -> BTreeSet<i64> {
    std::fs::read_dir(format!("{MIGRATIONS}/{engine}"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|f| f.ok()?.file_name().to_str()?.split('_').next()?.parse().ok())
        .collect()
}

#[tokio::test]
async fn tessera_migrate_makes_a_new_database_current_and_then_finds_nothing_to_do() {
    let dir = unique_dir();
    let sqlite = format!("sqlite://{}/new.db", dir.display());
    let pg = postgres_database().await;
    let mut urls = vec![(sqlite, "sqlite")];
    urls.extend(pg.iter().map(|(url, _)| (url.clone(), "postgres")));
    for (url, engine) in urls {
        let (ok, said) = tessera(&url, &["migrate"]);
        assert!(ok && said.contains(&format!("applied {} migrations", versions(engine).len())), "{engine}: {said}");
        let (ok, said) = tessera(&url, &["migrate"]);
        assert!(ok && said.contains("up to date"), "{engine}: {said}");
    }
    if let Some((_, name)) = pg {
        drop_postgres(&name).await;
    }
}

/// The versions of the migrations applied successfully.
async fn applied(pool: &AnyPool) -> BTreeSet<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .collect()
}

async fn max(pool: &AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}")).unwrap_or(0)
}

async fn strings(pool: &AnyPool, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every table but the migrations' own, every row, every column as text.
async fn tables(pool: &AnyPool, sqlite: bool) -> Tables {
    let names = if sqlite {
        strings(pool, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'")
            .await
    } else {
        strings(pool, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'").await
    };
    let mut out = Tables::new();
    for table in names {
        let columns = if sqlite {
            strings(pool, &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")).await
        } else {
            strings(
                pool,
                &format!(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'
                     ORDER BY ordinal_position"
                ),
            )
            .await
        };
        // As SQL literals on SQLite (a blob as `X'…'`), as PostgreSQL's text of each type.
        let select: Vec<String> =
            columns.iter().map(|c| if sqlite { format!(r#"quote("{c}")"#) } else { format!(r#"CAST("{c}" AS TEXT)"#) }).collect();
        let order: Vec<String> = (1..=columns.len()).map(|i| i.to_string()).collect();
        let sql = format!("SELECT {} FROM {table} ORDER BY {}", select.join(", "), order.join(", "));
        let rows = sqlx::query(&sql).fetch_all(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let rows = rows
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.clone(), row.try_get::<Option<String>, _>(i).unwrap_or_else(|e| panic!("{table}.{c}: {e}"))))
                    .collect()
            })
            .collect();
        out.insert(table, rows);
    }
    out
}
