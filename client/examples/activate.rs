//! Activates this machine, checks a feature, reports usage and prints what came back.
//!
//! ```sh
//! TESSERA_URL=http://127.0.0.1:3000 TESSERA_PRODUCT=acme-analytics \
//! TESSERA_LICENSE_KEY=TLK-… cargo run -p tessera-client --example activate -- my-host-1
//! ```
//!
//! Optional: `TESSERA_JWKS` (a JWKS file shipped with the software; without it the keys
//! are fetched from the server), `TESSERA_REGION`, `TESSERA_FEATURE` (default
//! `dashboards`), `TESSERA_USER` (an email, for features that need a seat),
//! `TESSERA_METERED` (default `api.calls`), `TESSERA_STATE` (the state file; default one in
//! the temporary directory).

use std::sync::Arc;
use std::time::Duration;

use tessera_client::{Client, Config, Source, UsageStatus};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let fingerprint = std::env::args().nth(1).unwrap_or_else(|| "example-host".to_owned());
    let server = env("TESSERA_URL").unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
    let product = env("TESSERA_PRODUCT").unwrap_or_else(|| "acme-analytics".to_owned());
    let key = env("TESSERA_LICENSE_KEY").ok_or("set TESSERA_LICENSE_KEY to the license key (TLK-…)")?;
    let jwks = match env("TESSERA_JWKS") {
        Some(path) => std::fs::read_to_string(&path).map_err(|e| format!("cannot read the JWKS {path}: {e}"))?,
        None => String::new(),
    };
    let feature = env("TESSERA_FEATURE").unwrap_or_else(|| "dashboards".to_owned());
    let metered = env("TESSERA_METERED").unwrap_or_else(|| "api.calls".to_owned());
    let user = env("TESSERA_USER");

    let mut config = Config::new(server, product, key, jwks);
    config.region = env("TESSERA_REGION");
    config.state_file =
        Some(env("TESSERA_STATE").map_or_else(|| std::env::temp_dir().join("tessera-example-state.json"), std::path::PathBuf::from));
    config.timeout = Duration::from_secs(5);
    let client = Arc::new(Client::new(config)?);
    println!("license key {}", client.key_id());

    match client.refresh_jwks().await {
        Ok(()) => println!("fetched the server's signing keys"),
        Err(e) if e.is_offline() => println!("offline, keeping the shipped signing keys: {e}"),
        Err(e) => return Err(e.into()),
    }

    match client.activate(&fingerprint, Some("tessera-client example")).await {
        Ok(a) => {
            println!(
                "instance {} of {} ({}; {} slots; heartbeat every {} s at most)",
                a.instance,
                a.customer,
                if a.created { "new" } else { "already active" },
                a.instances_cap,
                a.heartbeat_ttl
            );
            match (&a.licence, &a.licence_refused) {
                (Some(l), _) => println!("offline licence {} valid until {} (refresh at {})", l.jti, l.exp, l.refresh_at),
                (None, Some(code)) => println!("no offline licence: {code}"),
                (None, None) => println!("no offline licence yet"),
            }
        }
        Err(e) if e.is_offline() => println!("offline; answering from the stored licence, if any: {e}"),
        Err(e) => return Err(e.into()),
    }
    let heartbeat = Arc::clone(&client).spawn_heartbeat(Duration::from_secs(60));

    match client.check(&feature, user.as_deref()).await {
        Ok(answer) => println!(
            "{feature}: {} ({}){}{}",
            if answer.allowed { "allowed" } else { "refused" },
            answer.code.as_str(),
            answer.remaining.map(|r| format!(", {r} left")).unwrap_or_default(),
            if answer.source == Source::Licence { ", from the offline licence" } else { "" }
        ),
        Err(e) => println!("{feature}: no answer: {e}"),
    }

    match client.report_usage(&metered, 1).await {
        Ok(UsageStatus::Sent { accepted, duplicates, dropped }) => {
            println!("usage of {metered} sent: {accepted} accepted, {duplicates} duplicates, {dropped} dropped")
        }
        Ok(UsageStatus::Queued { queued }) => println!("usage of {metered} queued ({queued} waiting)"),
        Err(e) => println!("usage of {metered} not reported: {e}"),
    }

    heartbeat.abort();
    Ok(())
}
