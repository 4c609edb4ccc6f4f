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
