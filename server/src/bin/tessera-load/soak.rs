//! `--mode soak`: what a deployment serves all day, for a long while. Each connection mixes
//! checks, token requests, usage batches, instance activations and releases, and portal
//! pages of signed-in customer admins. First the mix runs as fast as answers come for
//! `--peak-seconds` (the peak); then it is paced at half of that (or `--rate`) for
//! `--seconds`, reported a `--window` at a time: requests, errors, p50 and p99 of each
//! kind, and the server's resident memory (`--server-pid`). Exits non-zero unless no
//! request failed, the p99 held steady and the memory stayed flat.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::{call, percentile, post, read_response, run_id, send, Opts, Pace};

/// The pages of the customer's portal that the soak's admins open, in turn.
const PAGES: [&str; 5] = ["/entitlements", "/usage", "/instances", "/renewals", "/requests"];

/// Demo customer admins whose sessions open the portal's pages.
const ADMINS: [&str; 2] = ["ada@initech.example", "grace@globex.example"];

/// The demo's password.
const PASSWORD: &str = "tessera-demo";

/// Events in each usage batch.
const BATCH: usize = 10;

/// A window's p99 counts as steady while it stays within this many times the median
/// window's.
const P99_SPREAD: f64 = 2.0;

/// The server's resident memory may end this much above where it stood after the first
/// window (its caches warm), and still count as flat.
const MEMORY_GROWTH: f64 = 0.10;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Check,
    Token,
    Usage,
    Instance,
    Page,
}

impl Kind {
    /// Request `n` of a connection: of every hundred, 70 checks, 10 token requests, 8 usage
    /// batches, 6 instance activations or releases and 6 portal pages.
    fn of(n: u64) -> Self {
        match n % 100 {
            0..70 => Self::Check,
            70..80 => Self::Token,
            80..88 => Self::Usage,
            88..94 => Self::Instance,
            _ => Self::Page,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Token => "token",
            Self::Usage => "usage",
            Self::Instance => "instance",
            Self::Page => "page",
        }
    }
}

/// One answered request: its kind, how long it took (µs), whether it succeeded.
type Answer = (Kind, u32, bool);

/// What a window saw.
struct Window {
    requests: usize,
    errors: usize,
    p99: f64,
    rss_kib: Option<u64>,
}

pub async fn soak(o: &Opts) -> anyhow::Result<()> {
    if o.connections > o.customers {
        // Each connection churns the instances of a customer of its own.
        bail!("--connections {} is more than the {} --customers: two would share one customer's instance cap", o.connections, o.customers);
    }
    let cookies = sign_in(o).await?;
    let peak_secs = o.peak_seconds.max(1);
    let (tx, rx) = mpsc::unbounded_channel();
    let peak = tokio::spawn(collect(rx, Duration::from_secs(peak_secs), None, true));
    run(o, &cookies, "peak", 0.0, Duration::from_secs(peak_secs), tx).await?;
    let windows = peak.await??;
    let peak_rate = windows.iter().map(|w| w.requests).sum::<usize>() as f64 / peak_secs as f64;
    let rate = if o.rate > 0.0 { o.rate } else { peak_rate / 2.0 };
    println!("soak: the peak of the mix {peak_rate:.0} req/s over {} connections; soaking at {rate:.0} req/s", o.connections);

    let (tx, rx) = mpsc::unbounded_channel();
    let window = Duration::from_secs(o.window.max(1));
    let report = tokio::spawn(collect(rx, window, o.server_pid, false));
    run(o, &cookies, "soak", rate, Duration::from_secs(o.seconds), tx).await?;
    let windows = report.await??;
    verdict(o, rate, &windows)
}

/// Signs each of [`ADMINS`] in: their session cookies.
async fn sign_in(o: &Opts) -> anyhow::Result<Vec<String>> {
    let mut stream = TcpStream::connect(&o.host).await?;
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut cookies = Vec::new();
    for email in ADMINS {
        let body = format!("email={}&password={}", email.replace('@', "%40"), PASSWORD);
        let req = format!(
            "POST /api/sign_in HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nAccept: application/json\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len(),
            host = o.host
        );
        stream.write_all(req.as_bytes()).await?;
        let (status, start) = read_response(&mut stream, &mut buf).await?;
        let head = String::from_utf8_lossy(&buf[..start]);
        let cookie = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then(|| value.trim().split(';').next().unwrap_or_default().to_owned())
        });
        match cookie {
            Some(cookie) if status == 200 => cookies.push(cookie),
            _ => bail!("{email} could not sign in: {status}"),
        }
    }
    Ok(cookies)
}

/// Runs the mix over `o.connections` for `length` at `rate` (0: as fast as answers come),
/// sending every answer to `tx`; `phase` tells its usage events from another run's.
async fn run(
    o: &Opts,
    cookies: &[String],
    phase: &'static str,
    rate: f64,
    length: Duration,
    tx: mpsc::UnboundedSender<Answer>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + length;
    let tasks: Vec<_> = (0..o.connections)
        .map(|c| {
            let (o, tx) = (o.clone(), tx.clone());
            let cookie = cookies[c % cookies.len()].clone();
            tokio::spawn(async move { connection(&o, c, &cookie, phase, rate, deadline, tx).await })
        })
        .collect();
    drop(tx);
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn connection(
    o: &Opts,
    c: usize,
    cookie: &str,
    phase: &str,
    rate: f64,
    deadline: Instant,
    tx: mpsc::UnboundedSender<Answer>,
) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(&o.host).await?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(64 * 1024);
    // Each connection activates and releases instances of a customer of its own, so that
    // no two contend for one customer's cap.
    let own = format!("bench-{:04}", c % o.customers.max(1) + 1);
    let license_key = app::store::seed::bench_license_key(&own).to_string();
    let mut instance: Option<String> = None;
    let mut pace = Pace::new(rate, o.connections);
    // Each connection starts at another point of the hundred, so the kinds interleave.
    let mut n = (c as u64 * 37) % 100;
    while Instant::now() < deadline {
        let due = pace.due().await;
        let kind = Kind::of(n);
        let customer = format!("bench-{:04}", (c * 7919 + n as usize) % o.customers.max(1) + 1);
        let req = match kind {
            Kind::Check => {
                let body = format!(r#"{{"customer":"{customer}","feature":"reports.export","user":"u{}@{customer}.example"}}"#, n % 3);
                post(&o.host, "/api/v1/check", &o.key, &body)
            }
            Kind::Token => post(&o.host, "/api/v1/tokens", &o.key, &format!(r#"{{"customer":"{customer}"}}"#)),
            Kind::Usage => {
                let events: Vec<String> = (0..BATCH)
                    .map(|i| {
                        format!(
                            r#"{{"event_id":"soak-{}-{phase}-c{c}-n{n}-i{i}","customer":"{customer}","feature":"api.calls","quantity":1}}"#,
                            run_id()
                        )
                    })
                    .collect();
                post(&o.host, "/api/v1/usage", &o.key, &format!(r#"{{"events":[{}]}}"#, events.join(",")))
            }
            Kind::Instance => match &instance {
                None => post(&o.host, "/api/v1/instances", &license_key, &format!(r#"{{"fingerprint":"soak-{c}","name":"Soak {c}"}}"#)),
                Some(id) => send("DELETE", &o.host, &format!("/api/v1/instances/{id}"), &license_key, ""),
            },
            Kind::Page => {
                let path = PAGES[(n / 100) as usize % PAGES.len()];
                format!("GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/html\r\nCookie: {cookie}\r\n\r\n", o.host)
            }
        };
        let start = Instant::now();
        stream.write_all(req.as_bytes()).await?;
        let (status, body) = read_response(&mut stream, &mut buf).await?;
        let took = Pace::took(start, due);
        let ok = (200..300).contains(&status);
        if kind == Kind::Instance {
            // A release answered either way is not tried again: the next turn activates.
            instance = match instance {
                None if ok => {
                    let answer: serde_json::Value = serde_json::from_slice(&buf[body..]).unwrap_or_default();
                    Some(answer["id"].as_str().context("an activation without an id")?.to_owned())
                }
                _ => None,
            };
        }
        if !ok {
            eprintln!(
                "soak: {} answered {status}: {}",
                kind.name(),
                String::from_utf8_lossy(&buf[body..]).chars().take(300).collect::<String>()
            );
        }
        if tx.send((kind, took, ok)).is_err() {
            break;
        }
        n += 1;
    }
    // Its instance released, so that the next run starts where this one did.
    if let Some(id) = instance {
        let (status, answer) =
            call(&mut stream, &mut buf, send("DELETE", &o.host, &format!("/api/v1/instances/{id}"), &license_key, "")).await?;
        if status != 204 {
            bail!("releasing instance {id}: {status} {answer}");
        }
    }
    Ok(())
}

/// Gathers answers a `window` at a time until every sender is gone; prints each window
/// (unless `quiet`) with the resident memory of `pid`.
async fn collect(mut rx: mpsc::UnboundedReceiver<Answer>, window: Duration, pid: Option<u32>, quiet: bool) -> anyhow::Result<Vec<Window>> {
    let mut windows = Vec::new();
    let mut seen: BTreeMap<Kind, (Vec<u32>, usize)> = BTreeMap::new();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + window, window);
    let mut open = true;
    while open {
        tokio::select! {
            answer = rx.recv() => match answer {
                Some((kind, took, ok)) => {
                    let (latencies, errors) = seen.entry(kind).or_default();
                    latencies.push(took);
                    *errors += usize::from(!ok);
                    continue;
                }
                None => open = false,
            },
            _ = tick.tick() => {}
        }
        // A window ends (or the last, shorter one when the run does); one in which nothing
        // was answered is a window too.
        if !open && seen.is_empty() {
            break;
        }
        let mut all: Vec<u32> = seen.values().flat_map(|(l, _)| l.iter().copied()).collect();
        all.sort_unstable();
        let errors = seen.values().map(|(_, e)| e).sum();
        let rss_kib = pid.and_then(resident_kib);
        let w = Window { requests: all.len(), errors, p99: percentile(&all, 0.99), rss_kib };
        if !quiet {
            let kinds: Vec<String> = seen
                .iter_mut()
                .map(|(kind, (latencies, _))| {
                    latencies.sort_unstable();
                    format!("{} {} p99 {:.2}", kind.name(), latencies.len(), percentile(latencies, 0.99))
                })
                .collect();
            println!(
                "window {}: {} requests, errors {}, p50 {:.2} ms, p99 {:.2} ms ({}), server memory {}",
                windows.len() + 1,
                w.requests,
                w.errors,
                percentile(&all, 0.5),
                w.p99,
                kinds.join(", "),
                w.rss_kib.map_or("unknown".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
            );
        }
        windows.push(w);
        seen.clear();
    }
    Ok(windows)
}

/// The resident memory of process `pid`, in KiB (Linux's `/proc`).
fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()
}

/// The summary, and an error unless no request failed, every whole window's p99 stayed
/// within [`P99_SPREAD`] times the median window's, and the memory at the end was within
/// [`MEMORY_GROWTH`] of where it stood after the first window.
fn verdict(o: &Opts, rate: f64, windows: &[Window]) -> anyhow::Result<()> {
    // The last window may be a sliver of the run; whole windows are judged.
    let whole = &windows[..windows.len().min((o.seconds / o.window.max(1)) as usize)];
    let requests: usize = windows.iter().map(|w| w.requests).sum();
    let errors: usize = windows.iter().map(|w| w.errors).sum();
    let mut p99s: Vec<f64> = whole.iter().map(|w| w.p99).collect();
    p99s.sort_by(f64::total_cmp);
    let median = p99s.get(p99s.len() / 2).copied().unwrap_or_default();
    let worst = p99s.last().copied().unwrap_or_default();
    let first = whole.first().and_then(|w| w.rss_kib);
    let last = whole.last().and_then(|w| w.rss_kib);
    let growth = first.zip(last).map(|(a, b)| b as f64 / a.max(1) as f64 - 1.0);
    println!(
        "soak: {requests} requests in {} s at {rate:.0} req/s, errors {errors}; p99 per window {:.2}–{worst:.2} ms, median {median:.2} ms \
         (worst / median {:.2}); server memory after the first window {}, at the end {} ({})",
        o.seconds,
        p99s.first().copied().unwrap_or_default(),
        worst / median.max(1e-9),
        first.map_or("unknown".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        last.map_or("unknown".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        growth.map_or("not measured".to_owned(), |g| format!("{:+.1} %", g * 100.0)),
    );
    let mut failed = Vec::new();
    if errors > 0 {
        failed.push(format!("{errors} requests failed"));
    }
    if worst > median * P99_SPREAD {
        failed.push(format!("a window's p99 of {worst:.2} ms is over {P99_SPREAD} times the median window's {median:.2} ms"));
    }
    match growth {
        Some(g) if g > MEMORY_GROWTH => failed.push(format!("the server's memory grew by {:.1} %", g * 100.0)),
        None if o.server_pid.is_some() => failed.push("the server's memory could not be read".to_owned()),
        _ => {}
    }
    if let Some(n) = whole.iter().position(|w| w.requests == 0) {
        failed.push(format!("nothing was answered in window {}", n + 1));
    }
    if whole.len() < 2 {
        failed.push("fewer than two whole windows to compare".to_owned());
    }
    if !failed.is_empty() {
        bail!("soak failed: {}", failed.join("; "));
    }
    println!("soak passed: no errors, p99 steady, memory flat");
    Ok(())
}
