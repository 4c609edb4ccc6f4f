//! `tessera audit verify` against a real database: intact, then an edited event, then
//! events cut off the end.

use std::process::Command;

use sqlx::Connection;

use crate::helpers::spawn_app;

fn verify(database_url: &str) -> (bool, String) {
    tessera(&["audit", "verify"], database_url)
}

/// Drops the triggers that keep the log append-only, as the database's owner can.
async fn drop_guards(db: &mut sqlx::AnyConnection) {
    for trigger in ["audit_events_no_update", "audit_events_no_delete", "audit_head_forward_only"] {
        sqlx::query(&format!("DROP TRIGGER {trigger}")).execute(&mut *db).await.unwrap_or_else(|e| panic!("{e}"));
    }
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

    // The log refuses changes; someone who owns the database drops that guard first.
    let refused = sqlx::query("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 1").execute(&mut db).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("append-only")));
    drop_guards(&mut db).await;

    // Someone rewrites who signed in.
    let seq: i64 = sqlx::query_scalar("SELECT MIN(seq) FROM audit_events WHERE kind = 'user.signed_in'")
        .fetch_one(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let actor: String = sqlx::query_scalar("SELECT actor FROM audit_events WHERE seq = $1")
        .bind(seq)
        .fetch_one(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("UPDATE audit_events SET actor = 'someone-else' WHERE seq = $1")
        .bind(seq)
        .execute(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (ok, said) = verify(&url);
    assert!(!ok && said.contains(&format!("BROKEN at event #{seq}")), "{said}");

    sqlx::query("UPDATE audit_events SET actor = $2 WHERE seq = $1")
        .bind(seq)
        .bind(&actor)
        .execute(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(verify(&url).0, "restored, the chain holds again");
    sqlx::query("DELETE FROM audit_events WHERE seq = $1").bind(count).execute(&mut db).await.unwrap_or_else(|e| panic!("{e}"));
    let (ok, said) = verify(&url);
    assert!(!ok && said.contains("removed from the end"), "{said}");
}

#[tokio::test]
async fn the_audit_log_filters_and_each_customer_admin_reads_only_their_own() {
    use crate::helpers::json;
    use reqwest::StatusCode;
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let r = app.call_as(&ada, "assign_seat", &[("entitlement", &ent), ("email", "cy@initech.example")]).await;
    assert!(r.status().is_success());
    let grace = app.client_for("grace@globex.example").await;

    let own = json(app.call_as(&ada, "list_audit", &[]).await).await;
    let customers: Vec<_> = own["events"].as_array().map(|e| e.iter().map(|e| e["customer"].clone()).collect()).unwrap_or_default();
    assert!(!customers.is_empty() && customers.iter().all(|c| c == "Initech"), "{customers:?}");
    assert!(own["events"].as_array().is_some_and(|e| e.iter().any(|e| e["kind"] == "seat.assigned")));
    assert_eq!(app.call_as(&grace, "list_audit", &[("customer", "initech")]).await.status(), StatusCode::FORBIDDEN);
    let globex = json(app.call_as(&grace, "list_audit", &[]).await).await;
    assert!(globex["events"].as_array().is_some_and(|e| e.iter().all(|e| e["customer"] == "Globex")));

    let staff = app.client_for("staff@tessera.example").await;
    let seats = json(app.call_as(&staff, "list_audit", &[("kind", "seat."), ("actor", "ADA@")]).await).await;
    let kinds: Vec<_> = seats["events"].as_array().map(|e| e.iter().map(|e| e["kind"].clone()).collect()).unwrap_or_default();
    assert_eq!(kinds, ["seat.assigned"]);
    let r = app.call_as(&staff, "list_audit", &[("from", "yesterday")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let none = json(app.call_as(&staff, "list_audit", &[("from", "2001-01-01"), ("to", "2001-01-02")]).await).await;
    assert_eq!(none["events"], serde_json::json!([]));
    for email in ["bob@initech.example", "sales@tessera.example"] {
        let client = app.client_for(email).await;
        assert_eq!(app.call_as(&client, "list_audit", &[]).await.status(), StatusCode::FORBIDDEN, "{email}");
    }
}

/// Runs `tessera args…` on `database_url`: whether it succeeded, and what it printed.
fn tessera(args: &[&str], database_url: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap_or_else(|e| panic!("run tessera: {e}"));
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn a_signed_checkpoint_finds_a_log_cut_back_and_its_head_moved_to_match() {
    let app = spawn_app().await;
    let url = app.database_url();
    for email in ["ada@initech.example", "staff@tessera.example"] {
        app.client_for(email).await;
    }
    let (ok, checkpoint) = tessera(&["audit", "checkpoint"], &url);
    assert!(ok && checkpoint.split('.').count() == 3, "a JWT: {checkpoint}");
    let file = std::env::temp_dir().join(format!("tessera-checkpoint-{}.jwt", std::process::id()));
    std::fs::write(&file, &checkpoint).unwrap_or_else(|e| panic!("{e}"));
    let path = file.display().to_string();
    let with_checkpoint = |url: &str| tessera(&["audit", "verify", "--checkpoint", &path], url);

    // More history after the checkpoint: it still holds.
    for email in ["ada@initech.example", "grace@globex.example"] {
        app.client_for(email).await;
    }
    let (ok, said) = with_checkpoint(&url);
    assert!(ok && said.contains("checkpoint holds"), "{said}");

    // The owner of the database cuts the log back to before the checkpoint and moves the
    // head to match: the chain alone verifies, the checkpoint does not.
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    drop_guards(&mut db).await;
    let signed: i64 =
        sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoints").fetch_one(&mut db).await.unwrap_or_else(|e| panic!("{e}"));
    let keep = signed - 1;
    assert!(keep >= 1);
    sqlx::query("DELETE FROM audit_events WHERE seq > $1").bind(keep).execute(&mut db).await.unwrap_or_else(|e| panic!("{e}"));
    let hash: String = sqlx::query_scalar("SELECT hash FROM audit_events WHERE seq = $1")
        .bind(keep)
        .fetch_one(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(keep)
        .bind(hash)
        .execute(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (ok, said) = verify(&url);
    assert!(ok && said.contains("intact"), "without a checkpoint the cut does not show: {said}");
    let (ok, said) = with_checkpoint(&url);
    assert!(!ok && said.contains("TRUNCATED"), "{said}");

    // A checkpoint altered by hand does not verify.
    let mut forged = checkpoint.trim().to_owned();
    forged.replace_range(forged.len() - 4.., "AAAA");
    std::fs::write(&file, forged).unwrap_or_else(|e| panic!("{e}"));
    let (ok, said) = with_checkpoint(&url);
    assert!(!ok && said.contains("REFUSED"), "{said}");
    let _ = std::fs::remove_file(&file);
}
