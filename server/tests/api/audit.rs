//! `tessera audit verify` against a real database: intact, then an edited event, then
//! events cut off the end.

use std::process::Command;

use sqlx::Connection;

use crate::helpers::spawn_app;

fn verify(database_url: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap_or_else(|e| panic!("run tessera: {e}"));
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn audit_verify_finds_an_edited_event_and_a_cut_off_end() {
    let app = spawn_app().await;
    // Some history beyond the seed: sign-ins are audited.
    for email in ["ada@initech.example", "grace@globex.example", "staff@tessera.example"] {
        app.client_for(email).await;
    }
    let url = app.database_url();
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&mut db).await.unwrap_or_else(|e| panic!("{e}"));
    let (ok, said) = verify(&url);
    assert!(ok && said.contains(&format!("intact: {count} events")), "{said}");

    // Someone rewrites who signed in.
    let seq: i64 = sqlx::query_scalar("SELECT MIN(seq) FROM audit_events WHERE kind = 'user.signed_in'").fetch_one(&mut db).await.unwrap_or_else(|e| panic!("{e}"));
    let actor: String = sqlx::query_scalar("SELECT actor FROM audit_events WHERE seq = $1").bind(seq).fetch_one(&mut db).await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("UPDATE audit_events SET actor = 'someone-else' WHERE seq = $1").bind(seq).execute(&mut db).await.unwrap_or_else(|e| panic!("{e}"));
    let (ok, said) = verify(&url);
    assert!(!ok && said.contains(&format!("BROKEN at event #{seq}")), "{said}");

    sqlx::query("UPDATE audit_events SET actor = $2 WHERE seq = $1").bind(seq).bind(&actor).execute(&mut db).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(verify(&url).0, "restored, the chain holds again");
    sqlx::query("DELETE FROM audit_events WHERE seq = $1").bind(count).execute(&mut db).await.unwrap_or_else(|e| panic!("{e}"));
    let (ok, said) = verify(&url);
    assert!(!ok && said.contains("removed from the end"), "{said}");
}
