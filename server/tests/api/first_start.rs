//! A deployment without the demo: empty at first, its first vendor admin made with
//! `tessera admin create`, and the demo refused on an address others can reach.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::helpers::{json, spawn_app_with};

/// Runs `tessera admin create` on `database_url` with `stdin` as its input.
fn admin_create(database_url: &str, email: &str, stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["admin", "create", "--email", email, "--name", "Root Admin"])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run tessera: {e}"));
    child.stdin.take().map(|mut input| input.write_all(stdin.as_bytes()));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn without_the_demo_the_database_starts_empty_and_the_first_admin_is_made_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("tessera-first-{}", std::process::id()));
    let url = format!("sqlite://{}/tessera.db", dir.display());

    let (ok, said) = admin_create(&url, "root@vendor.example", "password123\n");
    assert!(!ok && said.contains("most common passwords"), "{said}");
    let (ok, said) = admin_create(&url, "root@vendor.example", "a long admin passphrase\n");
    assert!(ok && said.contains("root@vendor.example is a vendor admin"), "{said}");
    let (ok, said) = admin_create(&url, "ROOT@vendor.example", "another long passphrase\n");
    assert!(!ok && said.contains("has an account already"), "{said}");

    let app = spawn_app_with(|c| {
        c.database_url = url.clone();
        c.seed_demo = false;
    })
    .await;
    let r = app.call("sign_in", &[("email", "ada@initech.example"), ("password", "tessera-demo")]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no demo users");
    let r = app.call("sign_in", &[("email", "root@vendor.example"), ("password", "a long admin passphrase")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["role"], "vendor_admin");
    assert_eq!(
        json(app.call("list_customers", &[]).await).await,
        serde_json::json!({"customers": [], "next_after": null}),
        "no demo customers"
    );
    let events = app.state.store.list_audit_events(None, 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(events.iter().any(|e| e.kind == "user.created"));
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_demo_is_refused_on_an_address_others_can_reach_unless_asked_for() {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("LEPTOS_SITE_ADDR", "0.0.0.0:0")
        .env_remove("TESSERA_DEMO")
        .env("DATABASE_URL", "sqlite:///nonexistent-folder-never-made/tessera.db")
        .env("RUST_LOG", "error")
        .output()
        .unwrap_or_else(|e| panic!("run tessera: {e}"));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains("passwords are public") && said.contains("TESSERA_DEMO=0"), "{said}");
    assert!(!std::path::Path::new("/nonexistent-folder-never-made").exists(), "refused before touching anything");
}

#[tokio::test]
async fn replicas_started_together_on_an_empty_database_all_serve_and_the_first_start_is_done_once() {
    use crate::helpers::{drop_postgres, postgres_database, start_tessera, unique_dir, REPLICA_SECRET};
    use sqlx::Row;
    let dir = unique_dir();
    let mut databases =
        vec![(format!("sqlite://{}/demo.db", dir.display()), true, None), (format!("sqlite://{}/bare.db", dir.display()), false, None)];
    for demo in [true, false] {
        if let Some((url, name)) = postgres_database().await {
            databases.push((url, demo, Some(name)));
        }
    }
    for (url, demo, pg) in databases {
        let engine = if pg.is_some() { "postgres" } else { "sqlite" };
        let replicas = tokio::task::spawn_blocking({
            let url = url.clone();
            move || start_tessera(4, &url, demo, &[])
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let client = reqwest::Client::new();
        for replica in &replicas {
            let health = client.get(replica.url("/health")).send().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(health.status(), StatusCode::OK, "{engine} demo={demo}: {}", replica.url("/"));
            let jwks = json(client.get(replica.url("/.well-known/jwks.json")).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
            assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1), "{engine} demo={demo}: one signing key, the same everywhere");
        }

        let store = app::store::Store::connect(&url, app::store::secret::Secret::parse(REPLICA_SECRET).unwrap_or_else(|e| panic!("{e}")))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let pool = sqlx::AnyPool::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move { sqlx::query(sql).fetch_one(&pool).await.and_then(|r| r.try_get::<i64, _>(0)).unwrap_or_else(|e| panic!("{sql}: {e}")) }
        };
        let migrations =
            std::fs::read_dir(format!("{}/../migrations/{engine}", env!("CARGO_MANIFEST_DIR"))).map(Iterator::count).unwrap_or_default();
        assert_eq!(count("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE").await, migrations as i64, "{engine} demo={demo}");
        assert_eq!(count("SELECT COUNT(*) FROM signing_keys").await, 1, "{engine} demo={demo}: one first signing key");
        assert_eq!(count("SELECT COUNT(*) FROM signing_keys WHERE active = 1").await, 1, "{engine} demo={demo}");
        assert_eq!(
            count("SELECT COUNT(*) FROM audit_events WHERE kind = 'signing_key.created'").await,
            1,
            "{engine} demo={demo}: its making audited once"
        );
        let (seeded, customers) = if demo { (1, 4) } else { (0, 0) };
        assert_eq!(
            count("SELECT COUNT(*) FROM audit_events WHERE kind = 'demo.seeded'").await,
            seeded,
            "{engine} demo={demo}: seeded once"
        );
        assert_eq!(count("SELECT COUNT(*) FROM customers").await, customers, "{engine} demo={demo}: Initech, Globex, Umbrella, Demo");
        assert_eq!(store.verify_audit_chain().await.unwrap_or_else(|e| panic!("{e}")), None, "{engine} demo={demo}: the audit chain holds");
        store.close().await;
        pool.close().await;
        drop(replicas);
        if let Some(name) = pg {
            drop_postgres(&name).await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
