//! `tessera-load`: a small load generator for `make bench`. Keep-alive HTTP/1.1
//! connections on loopback, each sending requests one after another; prints requests/s
//! and latency percentiles. `--mode engine` times the engine in-process instead.
//!
//! usage: tessera-load --mode check|check-key|bare|checks|usage|tokens|licences|provision|webhooks|propagation|sign-in-flood|soak|engine
//!        [--rate N] [--url http://127.0.0.1:3000] [--connections 32] [--seconds 10] [--customers 1000]
//!        [--key tsk_demo_acme] [--peer HOST:PORT] [--changes 200]
//!        [--peak-seconds 20] [--window 60] [--server-pid PID] (soak)
//!
//! `--rate N` paces the requests (N a second over all connections) and times each from
//! when it was due (less the timer's millisecond tick), as an open-loop load would see it.
//!
//! `check-key` sends the checks of `check` authorised by each bench customer's license key
//! instead of the vendor's API key; `licences` first activates one instance per customer
//! with its license key, then asks for offline licences for them.
//!
//! `propagation --peer HOST:PORT` suspends and resumes a bench customer's entitlement through
//! one replica (`--url`), `--changes` times (200 unless given), and after each change's
//! answer asks the other replica (`--peer`) the customer's check until its answer changes:
//! the time from the one to the other, p50 and p99.
//!
//! `soak` mixes checks, tokens, usage, instances and portal pages, first as fast as it can
//! for `--peak-seconds`, then at half that rate (or `--rate`) for `--seconds`, reported a
//! `--window` at a time with the memory of the server `--server-pid` (see `soak.rs`).
//!
//! `provision` creates customers through the provisioning API (one write and its audit
//! event each). `webhooks` runs a webhook receiver on loopback, adds an endpoint for it,
//! and measures how fast the dispatcher drains a backlog of deliveries and, at `--rate`
//! writes a second (20 unless given), the time from a write's answer to its delivery.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod soak;

/// The resolution of the runtime's timer: a paced request may be sent this much after it
/// was due without the server having kept it waiting.
const TIMER_TICK: Duration = Duration::from_millis(1);

#[derive(Clone)]
struct Opts {
    mode: String,
    host: String,
    connections: usize,
    seconds: u64,
    customers: usize,
    key: String,
    /// Each bench customer's license key, in customer order (`check-key`, `licences`).
    license_keys: Arc<Vec<String>>,
    /// (license key, instance id) per customer (`licences`).
    instances: Arc<Vec<(String, String)>>,
    /// Requests per second over all connections; 0: as fast as answers come.
    rate: f64,
    /// The other replica (`propagation`).
    peer: String,
    /// Changes to make (`propagation`).
    changes: usize,
    /// How long the mix runs as fast as it can before the soak (`soak`).
    peak_seconds: u64,
    /// The soak's report, a window of this many seconds at a time.
    window: u64,
    /// The server's process, whose memory the soak reads.
    server_pid: Option<u32>,
}

fn parse() -> anyhow::Result<Opts> {
    let mut o = Opts {
        mode: "check".into(),
        host: "127.0.0.1:3000".into(),
        connections: 32,
        seconds: 10,
        customers: 1000,
        key: "tsk_demo_acme".into(),
        license_keys: Arc::default(),
        instances: Arc::default(),
        rate: 0.0,
        peer: String::new(),
        changes: 200,
        peak_seconds: 20,
        window: 60,
        server_pid: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || args.next().context("missing value");
        match a.as_str() {
            "--mode" => o.mode = v()?,
            "--url" => o.host = v()?.trim_start_matches("http://").trim_end_matches('/').to_owned(),
            "--connections" => o.connections = v()?.parse()?,
            "--seconds" => o.seconds = v()?.parse()?,
            "--customers" => o.customers = v()?.parse()?,
            "--key" => o.key = v()?,
            "--rate" => o.rate = v()?.parse()?,
            "--peer" => o.peer = v()?.trim_start_matches("http://").trim_end_matches('/').to_owned(),
            "--changes" => o.changes = v()?.parse()?,
            "--peak-seconds" => o.peak_seconds = v()?.parse()?,
            "--window" => o.window = v()?.parse()?,
            "--server-pid" => o.server_pid = Some(v()?.parse()?),
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(o)
}

/// Request number `n` of connection `c` for the mode: (path, JSON body, units of work it
/// carries, the bearer credential).
fn request(o: &Opts, c: usize, n: u64) -> (String, String, u64, &str) {
    let index = (c * 7919 + n as usize) % o.customers.max(1);
    let customer = format!("bench-{:04}", index + 1);
    let user = format!("u{}@{customer}.example", n % 3);
    let (path, body, units) = match o.mode.as_str() {
        "bare" => ("/bench/bare", format!(r#"{{"customer":"{customer}","feature":"reports.export","user":"{user}"}}"#), 1),
        "check-key" => {
            let key = o.license_keys[index % o.license_keys.len()].as_str();
            return ("/api/v1/check".into(), format!(r#"{{"feature":"reports.export","user":"{user}"}}"#), 1, key);
        }
        "licences" => {
            let (key, instance) = &o.instances[index % o.instances.len()];
            return (format!("/api/v1/instances/{instance}/licence"), String::new(), 1, key.as_str());
        }
        "checks" => {
            let items: Vec<String> = (0..1_000)
                .map(|i| {
                    let customer = format!("bench-{:04}", (c * 131 + i) % o.customers.max(1) + 1);
                    format!(r#"{{"customer":"{customer}","feature":"reports.export","user":"u{}@{customer}.example"}}"#, i % 3)
                })
                .collect();
            ("/api/v1/checks", format!(r#"{{"checks":[{}]}}"#, items.join(",")), 1_000)
        }
        "usage" => {
            let items: Vec<String> = (0..1_000)
                .map(|i| {
                    let customer = format!("bench-{:04}", (c * 131 + i) % o.customers.max(1) + 1);
                    format!(r#"{{"event_id":"c{c}-n{n}-i{i}","customer":"{customer}","feature":"api.calls","quantity":1}}"#)
                })
                .collect();
            ("/api/v1/usage", format!(r#"{{"events":[{}]}}"#, items.join(",")), 1_000)
        }
        "tokens" => ("/api/v1/tokens", format!(r#"{{"customer":"{customer}"}}"#), 1),
        "provision" => {
            let slug = format!("load-{}-{c}-{n}", run_id());
            ("/api/v1/customers", format!(r#"{{"slug":"{slug}","name":"Load {c} {n}"}}"#), 1)
        }
        _ => ("/api/v1/check", format!(r#"{{"customer":"{customer}","feature":"reports.export","user":"{user}"}}"#), 1),
    };
    (path.to_owned(), body, units, o.key.as_str())
}

/// Reads one HTTP/1.1 response into `buf`, its body sized by Content-Length or sent in
/// chunks (a page drawn by the server); returns its status and where the body starts (a
/// chunked body is joined up in place).
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<(u16, usize)> {
    buf.clear();
    let end = loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            break end;
        }
        fill(stream, buf).await?;
    };
    let head = std::str::from_utf8(&buf[..end]).context("header")?.to_ascii_lowercase();
    let status: u16 = head.get(9..12).context("status")?.parse()?;
    let start = end + 4;
    if head.lines().any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked")) {
        let mut body = Vec::new();
        let mut at = start;
        loop {
            let line = loop {
                if let Some(line) = find(&buf[at..], b"\r\n") {
                    break at + line;
                }
                fill(stream, buf).await?;
            };
            let size_text = std::str::from_utf8(&buf[at..line]).context("chunk size")?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16).context("chunk size")?;
            at = line + 2;
            while buf.len() < at + size + 2 {
                fill(stream, buf).await?;
            }
            body.extend_from_slice(&buf[at..at + size]);
            at += size + 2;
            if size == 0 {
                break;
            }
        }
        buf.truncate(start);
        buf.extend_from_slice(&body);
        return Ok((status, start));
    }
    let len: usize = match head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        Some(len) => len.trim().parse()?,
        // These have no body, and may say so by saying nothing.
        None if status == 204 || status == 304 || status < 200 => 0,
        None => bail!("an answer {status} with neither a length nor chunks"),
    };
    while buf.len() < start + len {
        fill(stream, buf).await?;
    }
    Ok((status, start))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads what has arrived on `stream` onto the end of `buf`.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<()> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        bail!("closed");
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// Paces one connection's requests: its share of `rate` a second over `connections`,
/// evenly spaced (`rate` 0: as fast as answers come).
struct Pace {
    interval: Option<Duration>,
    next: tokio::time::Instant,
}

impl Pace {
    fn new(rate: f64, connections: usize) -> Self {
        Self { interval: (rate > 0.0).then(|| Duration::from_secs_f64(connections as f64 / rate)), next: tokio::time::Instant::now() }
    }

    /// Waits until the next request is due; when it was due, if paced.
    async fn due(&mut self) -> Option<tokio::time::Instant> {
        let interval = self.interval?;
        let due = self.next;
        self.next += interval;
        tokio::time::sleep_until(due).await;
        Some(due)
    }

    /// How long a request sent at `start` took: paced, from when it was due, so that a stall
    /// is counted in full and not hidden by the requests it held back, less the timer's own
    /// tick (it wakes up to a millisecond late).
    fn took(start: Instant, due: Option<tokio::time::Instant>) -> u32 {
        let took = match due {
            Some(due) => start.elapsed().max(due.elapsed().saturating_sub(TIMER_TICK)),
            None => start.elapsed(),
        };
        took.as_micros().min(u128::from(u32::MAX)) as u32
    }
}

async fn connection(o: Opts, c: usize, deadline: Instant, done: Arc<AtomicU64>, errors: Arc<AtomicU64>) -> anyhow::Result<Vec<u32>> {
    let mut stream = TcpStream::connect(&o.host).await?;
    stream.set_nodelay(true)?;
    let mut latencies = Vec::with_capacity(100_000);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut n = 0u64;
    let mut units_of = 1;
    let mut pace = Pace::new(o.rate, o.connections);
    while Instant::now() < deadline {
        let due = pace.due().await;
        let req = if o.mode == "sign-in-flood" {
            sign_in_guess(&o.host, c, n)
        } else {
            let (path, body, units, key) = request(&o, c, n);
            units_of = units;
            post(&o.host, &path, key, &body)
        };
        let start = Instant::now();
        stream.write_all(req.as_bytes()).await?;
        let (status, _) = read_response(&mut stream, &mut buf).await?;
        latencies.push(Pace::took(start, due));
        if (200..300).contains(&status) {
            done.fetch_add(units_of, Ordering::Relaxed);
        } else {
            errors.fetch_add(1, Ordering::Relaxed);
        }
        n += 1;
    }
    Ok(latencies)
}

/// A wrong password for a new account from a new address each time (the server trusts
/// `X-Forwarded-For` in the benchmark), as a credential-stuffing run spread over many
/// machines would send it: every one costs a password hash unless the server refuses it.
fn sign_in_guess(host: &str, c: usize, n: u64) -> String {
    let body = format!("email=guess{n}-{c}%40flood.example&password=wrong-{n}");
    let address = format!("10.{}.{}.{}", c % 250, (n / 250) % 250, n % 250);
    format!(
        "POST /api/sign_in HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nAccept: application/json\r\nX-Forwarded-For: {address}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn post(host: &str, path: &str, key: &str, body: &str) -> String {
    send("POST", host, path, key, body)
}

fn send(method: &str, host: &str, path: &str, key: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A tag of this run, so that what it creates does not collide with an earlier run's.
fn run_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() % 0xff_ffff))
    })
}

/// When each delivery arrived at the receiver, by the customer name its event carries.
type Arrivals = Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>>;

/// A webhook receiver on loopback: answers every request 204 and notes when the event of
/// each customer (by name) arrived. Returns its port.
async fn receiver(arrivals: Arrivals) -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(16 * 1024);
                let mut chunk = [0u8; 16 * 1024];
                loop {
                    // One request: its head, then as much body as it says.
                    let end = loop {
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end;
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize =
                        head.lines().find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse().ok())).unwrap_or(0);
                    while buf.len() < end + 4 + len {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let at = Instant::now();
                    let event: serde_json::Value = serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap_or_default();
                    if let Some(name) = event["data"]["after"]["name"].as_str() {
                        if let Ok(mut a) = arrivals.lock() {
                            a.entry(name.to_owned()).or_insert(at);
                        }
                    }
                    buf.drain(..end + 4 + len);
                    if stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(port)
}

/// Sends one request on `stream` and reads its answer: (status, JSON body).
async fn call(stream: &mut TcpStream, buf: &mut Vec<u8>, req: String) -> anyhow::Result<(u16, serde_json::Value)> {
    stream.write_all(req.as_bytes()).await?;
    let (status, start) = read_response(stream, buf).await?;
    Ok((status, serde_json::from_slice(&buf[start..]).unwrap_or_default()))
}

/// `--mode webhooks`: the dispatcher's throughput over a backlog, and the time from a
/// write's answer to its delivery at a steady rate.
async fn webhooks_bench(o: &Opts) -> anyhow::Result<()> {
    let arrivals: Arrivals = Arc::default();
    let port = receiver(arrivals.clone()).await?;
    let mut stream = TcpStream::connect(&o.host).await?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(16 * 1024);
    let hook = format!(r#"{{"url":"http://127.0.0.1:{port}/hook","event_types":["customer.created"]}}"#);
    let (status, made) = call(&mut stream, &mut buf, post(&o.host, "/api/v1/webhooks", &o.key, &hook)).await?;
    if status != 201 {
        bail!("the endpoint was refused ({status} {made}); the server needs TESSERA_WEBHOOK_PRIVATE_NETWORKS=1");
    }
    let endpoint = format!("/api/v1/webhooks/{}", made["endpoint"]["id"]);
    let create = |name: &str| {
        let slug = name.to_ascii_lowercase().replace(' ', "-");
        post(&o.host, "/api/v1/customers", &o.key, &format!(r#"{{"slug":"{slug}","name":"{name}"}}"#))
    };

    // Throughput: a backlog made while the endpoint is disabled, drained once enabled.
    let backlog = 2_000;
    call(&mut stream, &mut buf, send("PATCH", &o.host, &endpoint, &o.key, r#"{"enabled":false}"#)).await?;
    for i in 0..backlog {
        let (status, answer) = call(&mut stream, &mut buf, create(&format!("Hook {} B{i}", run_id()))).await?;
        if status != 201 {
            bail!("a customer was refused: {status} {answer}");
        }
    }
    let start = Instant::now();
    call(&mut stream, &mut buf, send("PATCH", &o.host, &endpoint, &o.key, r#"{"enabled":true}"#)).await?;
    let deadline = start + Duration::from_secs(300);
    loop {
        let got = arrivals.lock().map(|a| a.len()).unwrap_or(0);
        if got >= backlog || Instant::now() > deadline {
            let last = arrivals.lock().map(|a| a.values().max().copied()).ok().flatten().unwrap_or(start);
            let secs = last.duration_since(start).as_secs_f64().max(1e-6);
            println!(
                "webhooks: a backlog of {backlog} deliveries drained in {secs:.2} s: {:.0} deliveries/s ({got} arrived)",
                got as f64 / secs
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Latency: writes at a steady rate, each timed from its answer to its delivery.
    let rate = if o.rate > 0.0 { o.rate } else { 20.0 };
    let count = (rate * o.seconds as f64) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut answered = Vec::with_capacity(count);
    let mut next = tokio::time::Instant::now();
    for i in 0..count {
        tokio::time::sleep_until(next).await;
        next += interval;
        let name = format!("Hook {} L{i}", run_id());
        let (status, answer) = call(&mut stream, &mut buf, create(&name)).await?;
        if status != 201 {
            bail!("a customer was refused: {status} {answer}");
        }
        answered.push((name, Instant::now()));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && !answered.iter().all(|(n, _)| arrivals.lock().map(|a| a.contains_key(n)).unwrap_or(false)) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let arrived = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let mut latencies: Vec<u32> = answered
        .iter()
        .filter_map(|(n, at)| arrived.get(n).map(|got| got.saturating_duration_since(*at).as_micros().min(u128::from(u32::MAX)) as u32))
        .collect();
    latencies.sort_unstable();
    println!(
        "webhooks: {} writes at {rate:.0}/s, {} delivered: from the write's answer to its delivery p50 {:.1} ms, p99 {:.1} ms",
        answered.len(),
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    Ok(())
}

/// Activates one instance per bench customer with its license key (or finds the one
/// already there): (key, instance id) pairs.
async fn activate_instances(o: &Opts) -> anyhow::Result<Vec<(String, String)>> {
    let mut stream = TcpStream::connect(&o.host).await?;
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut out = Vec::with_capacity(o.license_keys.len());
    for key in o.license_keys.iter() {
        let body = r#"{"fingerprint":"tessera-load","name":"Load generator"}"#;
        stream.write_all(post(&o.host, "/api/v1/instances", key, body).as_bytes()).await?;
        let (status, start) = read_response(&mut stream, &mut buf).await?;
        let answer: serde_json::Value = serde_json::from_slice(&buf[start..]).context("activation answer")?;
        match answer["id"].as_str() {
            Some(id) if status == 200 || status == 201 => out.push((key.clone(), id.to_owned())),
            _ => bail!("activation refused: {status} {answer}"),
        }
    }
    Ok(out)
}

/// `--mode propagation`: the time from a change's answer on one replica to the first
/// changed answer of a check on another.
async fn propagation_bench(o: &Opts) -> anyhow::Result<()> {
    if o.peer.is_empty() {
        bail!("--mode propagation needs --peer HOST:PORT, the other replica");
    }
    let mut writer = TcpStream::connect(&o.host).await?;
    let mut reader = TcpStream::connect(&o.peer).await?;
    writer.set_nodelay(true)?;
    reader.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(16 * 1024);
    let customer = "bench-0001";
    let (status, list) =
        call(&mut writer, &mut buf, send("GET", &o.host, &format!("/api/v1/entitlements?customer={customer}"), &o.key, "")).await?;
    let Some(id) = list["data"][0]["id"].as_i64() else { bail!("no entitlement of {customer}: {status} {list}") };
    let check = format!(r#"{{"customer":"{customer}","feature":"reports.export","user":"u0@{customer}.example"}}"#);
    let mut took = Vec::with_capacity(o.changes);
    let mut asked = 0u64;
    for n in 0..o.changes {
        let (action, expected) = if n % 2 == 0 { ("suspend", "suspended") } else { ("resume", "ok") };
        let path = format!("/api/v1/entitlements/{id}/{action}");
        let (status, answer) = call(&mut writer, &mut buf, post(&o.host, &path, &o.key, r#"{"reason":"propagation bench"}"#)).await?;
        if status != 200 {
            bail!("{action}: {status} {answer}");
        }
        let changed = Instant::now();
        loop {
            let (_, answer) = call(&mut reader, &mut buf, post(&o.peer, "/api/v1/check", &o.key, &check)).await?;
            asked += 1;
            if answer["code"] == expected {
                break;
            }
            if changed.elapsed() > Duration::from_secs(30) {
                bail!("the peer still answers {} 30 s after {action}", answer["code"]);
            }
        }
        took.push(changed.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
    took.sort_unstable();
    println!(
        "propagation: {} changes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({asked} checks asked of the peer)",
        took.len(),
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        took.last().map_or(0.0, |m| f64::from(*m) / 1000.0)
    );
    Ok(())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

fn engine_bench() {
    use std::collections::{BTreeMap, HashMap, HashSet};
    use tessera_engine::*;
    let now = 1_795_435_200;
    let mut features = BTreeMap::new();
    features.insert(
        "dashboards".to_owned(),
        FeatureRule { requires: Requirement::Any(vec![Requirement::Seat, Requirement::Instance]), quota: None },
    );
    features.insert(
        "api.calls".to_owned(),
        FeatureRule { requires: Requirement::Quota, quota: Some(Quota { limit: 10_000, period: Period::Month }) },
    );
    let snap = Snapshot {
        entitlement_id: 1,
        customer_id: 1,
        plan: "team".into(),
        status: app::entitlements::EntitlementStatus::Active,
        ends_at: None,
        trial_ends_at: None,
        grace_days: 7,
        seats_cap: 10,
        instances_cap: 3,
        regions: None,
        features,
        seat_holders: (1..=8).collect::<HashSet<i64>>(),
        instances: HashMap::from([(1, now)]),
        usage: HashMap::from([("api.calls".to_owned(), Usage { period_start: Period::Month.start(now), used: 500 })]),
    };
    let requests = [
        CheckRequest { feature: "dashboards".into(), user_id: Some(3), ..Default::default() },
        CheckRequest { feature: "dashboards".into(), user_id: Some(30), instance_id: Some(1), ..Default::default() },
        CheckRequest { feature: "api.calls".into(), quantity: Some(5), ..Default::default() },
        CheckRequest { feature: "sso".into(), user_id: Some(3), ..Default::default() },
    ];
    let mut times = Vec::with_capacity(1_000_000);
    let mut allowed = 0u64;
    for i in 0..1_000_000usize {
        let req = &requests[i % requests.len()];
        let start = Instant::now();
        let d = evaluate(std::hint::black_box(&snap), std::hint::black_box(req), now, 900);
        let ns = start.elapsed().as_nanos() as u32;
        allowed += u64::from(d.allowed);
        times.push(ns);
    }
    times.sort_unstable();
    let p = |q: f64| f64::from(times[((times.len() - 1) as f64 * q) as usize]) / 1000.0;
    println!("engine: {} decisions ({allowed} allowed) p50 {:.3} us  p99 {:.3} us", times.len(), p(0.5), p(0.99));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut o = parse()?;
    if matches!(o.mode.as_str(), "check-key" | "licences") {
        o.license_keys =
            Arc::new((1..=o.customers.max(1)).map(|i| app::store::seed::bench_license_key(&format!("bench-{i:04}")).to_string()).collect());
    }
    if o.mode == "licences" {
        o.instances = Arc::new(activate_instances(&o).await?);
    }
    if o.mode == "engine" {
        engine_bench();
        return Ok(());
    }
    if o.mode == "webhooks" {
        return webhooks_bench(&o).await;
    }
    if o.mode == "propagation" {
        return propagation_bench(&o).await;
    }
    if o.mode == "soak" {
        return soak::soak(&o).await;
    }
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> =
        (0..o.connections).map(|c| tokio::spawn(connection(o.clone(), c, deadline, done.clone(), errors.clone()))).collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "{}: {} requests, {:.0} req/s, {:.0} units/s, p50 {:.2} ms, p99 {:.2} ms, errors {}",
        o.mode,
        all.len(),
        all.len() as f64 / secs,
        done.load(Ordering::Relaxed) as f64 / secs,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        errors.load(Ordering::Relaxed)
    );
    Ok(())
}
