//! Faults an operator meets: a server stopped (SIGTERM) or killed (SIGKILL) in the middle of
//! writes, then started again on the same database. Real processes, on SQLite and
//! PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{drop_postgres, postgres_database, sign_in_at, start_tessera, tessera, unique_dir, Process};

/// Events in each usage batch a writer sends.
const BATCH: usize = 20;

/// Which streams of writes have had one answered: a bit each.
#[derive(Clone, Default)]
struct Progress(std::sync::Arc<std::sync::atomic::AtomicUsize>);

const USAGE: usize = 1;
const INSTANCES: usize = 2;
const SEATS: usize = 4;
const APPROVALS: usize = 8;

impl Progress {
    fn answered(&self, stream: usize) {
        self.0.fetch_or(stream, std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits until every stream of `streams` has had a write answered, or `within` passes.
    async fn wait_for(&self, streams: usize, within: Duration) {
        let until = std::time::Instant::now() + within;
        while self.0.load(std::sync::atomic::Ordering::Relaxed) & streams != streams && std::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A fresh database of each engine: its URL, its name on PostgreSQL.
async fn databases() -> Vec<(String, Option<String>)> {
    let mut all = vec![(format!("sqlite://{}/tessera.db", unique_dir().display()), None)];
    if let Some((url, name)) = postgres_database().await {
        all.push((url, Some(name)));
    }
    all
}

async fn start(url: &str, env: &'static [(&'static str, &'static str)]) -> Process {
    let url = url.to_owned();
    let mut started = tokio::task::spawn_blocking(move || start_tessera(1, &url, true, env)).await.unwrap_or_else(|e| panic!("{e}"));
    started.pop().unwrap_or_else(|| panic!("one process"))
}

/// Sends batches of usage events (ids `<writer>-<batch>-<n>`) one after another until the
/// server stops answering; the batches sent and those acknowledged.
async fn usage_writer(client: Client, url: String, writer: &'static str, progress: Progress) -> (Vec<String>, Vec<String>) {
    let (mut sent, mut acked) = (Vec::new(), Vec::new());
    for batch in 0..100_000 {
        let name = format!("{writer}-{batch}");
        let events: Vec<_> = (0..BATCH)
            .map(|n| json!({"event_id": format!("{name}-{n}"), "customer": "initech", "feature": "api.calls", "quantity": 1}))
            .collect();
        sent.push(name.clone());
        match client.post(&url).bearer_auth("tsk_demo_acme").json(&json!({ "events": events })).send().await {
            Ok(r) if r.status() == StatusCode::OK => {
                acked.push(name);
                progress.answered(USAGE);
            }
            Ok(r) => panic!("{name}: {}", r.status()),
            Err(_) => break,
        }
    }
    (sent, acked)
}

/// The batches the writers sent and those acknowledged, all together.
async fn joined(writers: Vec<tokio::task::JoinHandle<(Vec<String>, Vec<String>)>>) -> (Vec<String>, Vec<String>) {
    let (mut sent, mut acked) = (Vec::new(), Vec::new());
    for writer in writers {
        let (s, a) = writer.await.unwrap_or_else(|e| panic!("{e}"));
        sent.extend(s);
        acked.extend(a);
    }
    (sent, acked)
}

/// Every usage event id of the writers' batches in the database, counted by batch.
async fn stored_batches(store: &sqlx::AnyPool) -> BTreeMap<String, usize> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT event_id FROM usage_events WHERE event_id LIKE 'w%'")
        .fetch_all(store)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut batches = BTreeMap::new();
    for id in ids {
        let batch = id.rsplit_once('-').map(|(batch, _)| batch.to_owned()).unwrap_or_default();
        *batches.entry(batch).or_insert(0) += 1;
    }
    batches
}

/// The database of `url`, as someone with it in hand reads it.
async fn open(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Every batch acknowledged is there whole; every other is whole or absent.
async fn assert_batches(store: &sqlx::AnyPool, sent: &[String], acked: &[String], what: &str) {
    let stored = stored_batches(store).await;
    for batch in acked {
        assert_eq!(stored.get(batch), Some(&BATCH), "{what}: acknowledged batch {batch}");
    }
    for batch in sent {
        assert!(matches!(stored.get(batch), None | Some(&BATCH)), "{what}: batch {batch} half written: {:?}", stored.get(batch));
    }
}

#[tokio::test]
async fn sigterm_refuses_new_connections_finishes_the_requests_in_flight_and_exits_within_its_grace() {
    for (url, pg) in databases().await {
        let what = if pg.is_some() { "postgres" } else { "sqlite" };
        let mut server = start(&url, &[("TESSERA_SHUTDOWN_SECS", "10")]).await;
        let usage = server.url("/api/v1/usage");
        let progress = Progress::default();
        let writers: Vec<_> =
            ["wa", "wb", "wc"].into_iter().map(|w| tokio::spawn(usage_writer(Client::new(), usage.clone(), w, progress.clone()))).collect();
        progress.wait_for(USAGE, Duration::from_secs(60)).await;
        // Batches of 10,000 events, on connections already open, still being written when
        // the signal comes: each is committed and answered, or neither.
        let mut in_flight = Vec::new();
        for big in 0..3 {
            let client = Client::new();
            assert!(client.get(server.url("/health")).send().await.is_ok_and(|r| r.status() == StatusCode::OK));
            let events: Vec<_> = (0..10_000)
                .map(|n| json!({"event_id": format!("big{big}-{n}"), "customer": "initech", "feature": "api.calls", "quantity": 1}))
                .collect();
            let usage = usage.clone();
            in_flight.push(tokio::spawn(async move {
                let answer = client.post(&usage).bearer_auth("tsk_demo_acme").json(&json!({ "events": events })).send().await;
                (answer.map(|r| r.status()), std::time::Instant::now())
            }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let asked = std::time::Instant::now();
        server.signal("TERM");
        let status = server.exited(Duration::from_secs(15)).await;
        let took = asked.elapsed();
        assert!(status.is_some_and(|s| s.success()), "{what}: exits, and cleanly: {status:?}");
        assert!(took < Duration::from_secs(11), "{what}: within its grace of 10 s: {took:?}");
        assert!(Client::new().get(server.url("/health")).send().await.is_err(), "{what}: nothing listens any more");
        let mut answers = Vec::new();
        for big in in_flight {
            answers.push(big.await.unwrap_or_else(|e| panic!("{e}")));
        }

        let (sent, acked) = joined(writers).await;
        assert!(!acked.is_empty(), "{what}: the writers were answered before the signal");
        eprintln!("{what}: stopped in {took:?}; {} of {} batches acknowledged", acked.len(), sent.len());
        let store = open(&url).await;
        assert_batches(&store, &sent, &acked, what).await;
        for (big, (answer, at)) in answers.iter().enumerate() {
            let stored: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM usage_events WHERE event_id LIKE 'big{big}-%'"))
                .fetch_one(&store)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let after = at.checked_duration_since(asked);
            eprintln!("{what}: batch in flight {big}: {answer:?}, answered {after:?} after the signal");
            match answer {
                Ok(status) => assert_eq!((*status, stored), (StatusCode::OK, 10_000), "{what}: an answered batch is committed whole"),
                Err(e) => assert_eq!(stored, 0, "{what}: a batch not answered ({e}) is not committed in part"),
            }
        }
        store.close().await;
        drop(server);
        if let Some(name) = pg {
            drop_postgres(&name).await;
        }
    }
}

/// Activates instances of Initech one after another, deactivating the oldest it holds when
/// every slot is taken, until the server stops answering; how many activations were
/// acknowledged, and the instances whose activation was and whose deactivation was not.
async fn instance_churn(client: Client, base: String, churner: &'static str, progress: Progress) -> (usize, BTreeSet<String>) {
    let mut live = std::collections::VecDeque::new();
    let mut activated_n = 0;
    for n in 0..100_000 {
        let activated = client
            .post(format!("{base}/api/v1/instances"))
            .bearer_auth("tsk_demo_acme")
            .json(&json!({"customer": "initech", "fingerprint": format!("{churner}-{n}")}))
            .send()
            .await;
        let Ok(r) = activated else { break };
        match r.status() {
            StatusCode::CREATED => {
                let Ok(body) = r.json::<serde_json::Value>().await else { break };
                live.push_back(body["id"].as_str().unwrap_or_default().to_owned());
                activated_n += 1;
                progress.answered(INSTANCES);
            }
            StatusCode::CONFLICT => {
                // Every slot taken by the other churner: try again.
                let Some(oldest) = live.front().cloned() else { continue };
                let freed = client.delete(format!("{base}/api/v1/instances/{oldest}")).bearer_auth("tsk_demo_acme").send().await;
                match freed {
                    Ok(r) if r.status() == StatusCode::NO_CONTENT => {
                        live.pop_front();
                    }
                    Ok(r) => panic!("deactivate {oldest}: {}", r.status()),
                    // Not acknowledged: it may or may not be deactivated.
                    Err(_) => {
                        live.pop_front();
                        break;
                    }
                }
            }
            status => panic!("activate: {status}"),
        }
    }
    (activated_n, live.into_iter().collect())
}

/// Assigns and frees Cy's seat in turn until the server stops answering; how many of each
/// were acknowledged.
async fn seat_churn(base: String, progress: Progress) -> (i64, i64) {
    let ada = sign_in_at(&base, "ada@initech.example").await;
    let entitlement = {
        let r = ada.post(format!("{base}/api/list_entitlements")).header("accept", "application/json").form(&[("", ""); 0]).send().await;
        let list: serde_json::Value = r.unwrap_or_else(|e| panic!("{e}")).json().await.unwrap_or_else(|e| panic!("{e}"));
        list[0]["id"].to_string()
    };
    let (mut assigned, mut freed) = (0, 0);
    for n in 0..100_000 {
        let call = if n % 2 == 0 { "assign_seat" } else { "free_seat" };
        let r = ada
            .post(format!("{base}/api/{call}"))
            .header("accept", "application/json")
            .form(&[("entitlement", entitlement.as_str()), ("email", "cy@initech.example")])
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => {
                *(if n % 2 == 0 { &mut assigned } else { &mut freed }) += 1;
                progress.answered(SEATS);
            }
            Ok(r) => panic!("{call}: {}", r.status()),
            Err(_) => break,
        }
    }
    (assigned, freed)
}

/// Ada asks for six more seats and staff approve, in turn, until the server stops
/// answering; the requests whose filing and whose approval were acknowledged.
async fn approval_churn(base: String, progress: Progress) -> (Vec<i64>, Vec<i64>) {
    let ada = sign_in_at(&base, "ada@initech.example").await;
    let staff = sign_in_at(&base, "staff@tessera.example").await;
    let call = |client: &Client, name: &str, form: Vec<(&str, String)>| {
        client.post(format!("{base}/api/{name}")).header("accept", "application/json").form(&form).send()
    };
    let Ok(r) = call(&ada, "list_entitlements", Vec::new()).await else { return Default::default() };
    let list: serde_json::Value = r.json().await.unwrap_or_default();
    let entitlement = list[0]["id"].to_string();
    let (mut filed, mut approved) = (Vec::new(), Vec::new());
    loop {
        let form =
            vec![("entitlement", entitlement.clone()), ("kind", "seats".into()), ("seats", "6".into()), ("reason", "New hires".into())];
        let id = match call(&ada, "file_request", form).await {
            Ok(r) if r.status().is_success() => match r.json::<i64>().await {
                Ok(id) => id,
                Err(_) => break,
            },
            Ok(r) => panic!("file_request: {}", r.status()),
            Err(_) => break,
        };
        filed.push(id);
        let form = vec![("id", id.to_string()), ("decision", "approve".into()), ("comment", "Granted".into())];
        match call(&staff, "decide_request", form).await {
            Ok(r) if r.status().is_success() => {
                approved.push(id);
                progress.answered(APPROVALS);
            }
            Ok(r) => panic!("decide_request: {}", r.status()),
            Err(_) => break,
        }
    }
    (filed, approved)
}

#[tokio::test]
async fn a_server_killed_in_the_middle_of_writes_keeps_every_acknowledged_write_whole_and_within_its_caps() {
    for (url, pg) in databases().await {
        let what = if pg.is_some() { "postgres" } else { "sqlite" };
        let server = start(&url, &[]).await;
        let base = server.url("");
        let usage = server.url("/api/v1/usage");
        let progress = Progress::default();
        let writers: Vec<_> =
            ["wa", "wb"].into_iter().map(|w| tokio::spawn(usage_writer(Client::new(), usage.clone(), w, progress.clone()))).collect();
        let instances: Vec<_> = ["ca", "cb"]
            .into_iter()
            .map(|churner| tokio::spawn(instance_churn(Client::new(), base.clone(), churner, progress.clone())))
            .collect();
        let seats = tokio::spawn(seat_churn(base.clone(), progress.clone()));
        let approvals = tokio::spawn(approval_churn(base.clone(), progress.clone()));
        // Killed once every stream has had a write answered (sign-ins first take a while on a
        // busy machine), and a moment later, in the middle of the next ones.
        progress.wait_for(USAGE | INSTANCES | SEATS | APPROVALS, Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.signal("KILL");
        drop(server);

        let (sent, acked) = joined(writers).await;
        let (mut activated, mut live) = (0, BTreeSet::new());
        for churner in instances {
            let (n, held) = churner.await.unwrap_or_else(|e| panic!("{e}"));
            activated += n;
            live.extend(held);
        }
        let (assigned, freed) = seats.await.unwrap_or_else(|e| panic!("{e}"));
        let (filed, approved) = approvals.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(!acked.is_empty() && assigned > 0 && !approved.is_empty(), "{what}: writes were answered before the kill");
        eprintln!(
            "{what}: killed after {} of {} batches, {activated} activations ({} live), {assigned} + {freed} seat changes, {} of {} requests approved",
            acked.len(),
            sent.len(),
            live.len(),
            approved.len(),
            filed.len()
        );

        // Started again on the same database, it serves, and holds what it acknowledged.
        let server = start(&url, &[]).await;
        assert_eq!(server.check_ada().await.0, StatusCode::OK, "{what}");
        let store = open(&url).await;
        assert_batches(&store, &sent, &acked, what).await;
        let count = |sql: String| {
            let store = store.clone();
            async move { sqlx::query_scalar::<_, i64>(&sql).fetch_one(&store).await.unwrap_or_else(|e| panic!("{sql}: {e}")) }
        };
        for id in &live {
            let n = count(format!("SELECT COUNT(*) FROM instances WHERE public_id = '{id}' AND deactivated_at IS NULL")).await;
            assert_eq!(n, 1, "{what}: acknowledged instance {id} is live");
        }
        let over_instances = count(format!(
            "SELECT COUNT(*) FROM entitlements e JOIN plans pl ON pl.id = e.plan_id
             WHERE (SELECT COUNT(*) FROM instances i WHERE i.entitlement_id = e.id AND i.deactivated_at IS NULL) > {}",
            app::store::INSTANCES_CAP
        ))
        .await;
        assert_eq!(over_instances, 0, "{what}: no entitlement over its instance cap");
        let over_seats = count(format!(
            "SELECT COUNT(*) FROM entitlements e JOIN plans pl ON pl.id = e.plan_id
             WHERE (SELECT COUNT(*) FROM seats s WHERE s.entitlement_id = e.id) > {}",
            app::store::SEATS_CAP
        ))
        .await;
        assert_eq!(over_seats, 0, "{what}: no entitlement over its seat cap");
        // Each seat change acknowledged is in the audit log; at most the one in flight
        // besides.
        let changes = count("SELECT COUNT(*) FROM audit_events WHERE kind IN ('seat.assigned', 'seat.freed')".into()).await;
        assert!(
            (assigned + freed..=assigned + freed + 1).contains(&changes),
            "{what}: {assigned} + {freed} acknowledged, {changes} audited"
        );
        // Every request filed is there, every approval acknowledged too, and each approval
        // came with its six seats: 10 on Team, and six for each approved.
        for id in &filed {
            assert_eq!(count(format!("SELECT COUNT(*) FROM change_requests WHERE id = {id}")).await, 1, "{what}: request {id} filed");
        }
        for id in &approved {
            let n = count(format!("SELECT COUNT(*) FROM change_requests WHERE id = {id} AND status = 'approved'")).await;
            assert_eq!(n, 1, "{what}: request {id} approved");
        }
        let approved_seats = count(
            "SELECT CAST(COALESCE(SUM(seats), 0) AS BIGINT) FROM change_requests WHERE status = 'approved' AND kind = 'seats'".into(),
        )
        .await;
        let cap = count(format!(
            "SELECT {} FROM entitlements e JOIN plans pl ON pl.id = e.plan_id JOIN customers c ON c.id = e.customer_id
             WHERE c.slug = 'initech'",
            app::store::SEATS_CAP
        ))
        .await;
        assert_eq!(cap, 10 + approved_seats, "{what}: the seats of every approval, and of no other");
        let (verified, said) = tessera(&url, &["audit", "verify"]);
        assert!(verified, "{what}: tessera audit verify: {said}");
        store.close().await;
        drop(server);
        if let Some(name) = pg {
            drop_postgres(&name).await;
        }
    }
}
