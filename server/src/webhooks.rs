//! The webhook dispatcher: gives each enabled endpoint its deliveries from the audit log,
//! then sends what is due, signed as the Standard Webhooks specification says, and
//! records each attempt. It wakes when a write commits on this replica and every second
//! for what other replicas wrote and for retries that have come due. Every replica runs
//! one; a delivery is taken by one dispatcher at a time (see
//! [`Store::take_due_webhooks`](app::store::Store::take_due_webhooks)).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::ssr::webhooks::{is_public, signature};
use app::store::webhooks::deliveries::{AttemptOutcome, Due, Settled, KEPT_RESPONSE};
use app::store::webhooks::WebhookPolicy;
use app::store::Store;

use crate::api::provision::events::Event;

/// How often the dispatcher looks without being woken.
const POLL: Duration = Duration::from_secs(1);
/// How many deliveries it tries at once, in all.
const IN_FLIGHT: usize = 32;
/// How many of one endpoint's it tries at once: a slow or silent endpoint holds these
/// and no more, and the others' deliveries go on.
const PER_ENDPOINT: usize = 4;
/// The user agent deliveries are sent with.
const USER_AGENT: &str = concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION"));

/// Sends webhook deliveries.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    store: Store,
    policy: WebhookPolicy,
    client: reqwest::Client,
}

/// Resolves an endpoint's host name, keeping only public addresses unless private ones
/// are allowed: an address that resolves to the deployment's own network is never called.
#[derive(Debug)]
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(public_addresses(name.as_str().to_owned()))
    }
}

/// The public addresses `host` resolves to; an error when it resolves to none.
async fn public_addresses(host: String) -> Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|a| is_public(a.ip())).collect();
    if found.is_empty() {
        return Err(format!("{host} resolves to no public address").into());
    }
    Ok(Box::new(found.into_iter()))
}

impl Dispatcher {
    /// A dispatcher for `store` under `policy`.
    pub fn new(store: Store, policy: WebhookPolicy) -> anyhow::Result<Dispatcher> {
        let mut client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the endpoint's name itself, past the address check.
            .no_proxy();
        if !policy.allow_private {
            client = client.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Dispatcher { store, policy, client: client.build()? })
    }

    /// Runs until the process ends: each time a write commits here, an attempt ends, or a
    /// second passes, gives the endpoints their new deliveries and takes what is due, as
    /// far as there is room in flight; an attempt never waits for another.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut flying = InFlight::default();
            loop {
                // Listen before looking, so that a commit in between wakes the wait.
                let committed = self.store.committed().notified();
                if let Err(e) = self.round(&mut flying).await {
                    tracing::warn!(error = %e, "webhook dispatch failed; trying again shortly");
                }
                tokio::select! {
                    _ = committed => {}
                    _ = tokio::time::sleep(POLL) => {}
                    Some(done) = flying.tasks.join_next(), if !flying.tasks.is_empty() => flying.finished(done),
                }
                while let Some(done) = flying.tasks.try_join_next() {
                    flying.finished(done);
                }
            }
        })
    }

    /// Gives the endpoints their new deliveries and starts as many due ones as there is
    /// room for.
    async fn round(&self, flying: &mut InFlight) -> Result<(), app::store::StoreError> {
        self.store.fan_out_webhooks(now_ms()).await?;
        let room = IN_FLIGHT.saturating_sub(flying.tasks.len());
        if room > 0 {
            let busy: Vec<(i64, i64)> = flying.per_endpoint.iter().map(|(e, n)| (*e, *n as i64)).collect();
            let lease = self.policy.timeout.saturating_add(Duration::from_secs(60));
            let due = self.store.take_due_webhooks(now_ms(), lease, room as i64, PER_ENDPOINT as i64, &busy).await?;
            for d in due {
                *flying.per_endpoint.entry(d.endpoint_id).or_default() += 1;
                let this = self.clone();
                flying.tasks.spawn(async move {
                    let endpoint = d.endpoint_id;
                    if let Err(e) = this.deliver(d).await {
                        tracing::warn!(error = %e, "recording a webhook attempt failed");
                    }
                    endpoint
                });
            }
        }
        let (pending, behind) = self.store.webhook_backlog().await?;
        metrics::gauge!("tessera_webhook_backlog", "stage" => "pending").set(pending as f64);
        metrics::gauge!("tessera_webhook_backlog", "stage" => "not_fanned_out").set(behind as f64);
        Ok(())
    }

    /// Makes one attempt of `due` and records it.
    async fn deliver(&self, due: Due) -> Result<(), app::store::StoreError> {
        let outcome = self.attempt(&due).await;
        let seconds = outcome.duration_ms as f64 / 1000.0;
        metrics::histogram!("tessera_webhook_attempt_duration_seconds").record(seconds);
        let (settled, disabled) = self.store.record_webhook_attempt(&due, &outcome, &self.policy, now_ms()).await?;
        let label = match settled {
            Settled::Delivered => "delivered",
            Settled::Retrying(_) => "retrying",
            Settled::GaveUp => "failed",
            Settled::Gone => "gone",
            Settled::Superseded => "superseded",
        };
        metrics::counter!("tessera_webhook_deliveries_total", "outcome" => label).increment(1);
        if disabled {
            metrics::counter!("tessera_webhook_endpoints_disabled_total").increment(1);
            tracing::warn!(endpoint = due.endpoint_id, "a webhook endpoint failed for too long and was disabled");
        }
        tracing::debug!(delivery = due.delivery_id, attempt = due.attempt, status = ?outcome.status, outcome = label, "webhook attempt");
        Ok(())
    }

    /// Sends `due` once.
    async fn attempt(&self, due: &Due) -> AttemptOutcome {
        let started = Instant::now();
        let elapsed = |started: Instant| i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        if !self.policy.allow_private && host_is_private(&due.url) {
            return AttemptOutcome {
                error: Some("the address is on a loopback or private network, which this deployment does not send to".into()),
                ..AttemptOutcome::default()
            };
        }
        if due.secrets.is_empty() {
            return AttemptOutcome {
                error: Some("no signing secret of this endpoint opens under the deployment's secret: rotate it".into()),
                ..AttemptOutcome::default()
            };
        }
        let id = message_id(due.event.seq);
        let body = match serde_json::to_vec(&Event::from(due.event.clone())) {
            Ok(body) => body,
            Err(e) => return AttemptOutcome { error: Some(format!("the event could not be written: {e}")), ..AttemptOutcome::default() },
        };
        let timestamp = chrono::Utc::now().timestamp();
        let sent = self
            .client
            .post(&due.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature(&due.secrets, &id, timestamp, &body))
            .body(body)
            .send()
            .await;
        match sent {
            Err(e) => AttemptOutcome { error: Some(describe(&e)), duration_ms: elapsed(started), ..AttemptOutcome::default() },
            Ok(response) => {
                let status = response.status();
                let text = read_start(response).await;
                let error = (!status.is_success()).then(|| match status.as_u16() {
                    300..=399 => "the endpoint answered with a redirect, which is not followed".to_owned(),
                    s => format!("the endpoint answered {s}"),
                });
                AttemptOutcome { status: Some(status.as_u16()), error, response: text, duration_ms: elapsed(started) }
            }
        }
    }
}

/// The attempts under way, in all and per endpoint.
#[derive(Default)]
struct InFlight {
    tasks: tokio::task::JoinSet<i64>,
    per_endpoint: std::collections::HashMap<i64, usize>,
}

impl InFlight {
    /// Notes that an attempt to an endpoint ended.
    fn finished(&mut self, done: Result<i64, tokio::task::JoinError>) {
        let Ok(endpoint) = done else { return };
        if let Some(n) = self.per_endpoint.get_mut(&endpoint) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_endpoint.remove(&endpoint);
            }
        }
    }
}

/// The `webhook-id` of the event with sequence number `seq`: the same for every attempt,
/// every endpoint and a resend, so that a receiver can tell a repeat.
pub fn message_id(seq: i64) -> String {
    format!("evt_{seq}")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Whether the URL's host is an IP address off the public internet.
fn host_is_private(url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)) else { return true };
    match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(ip) => !is_public(ip),
        Err(_) => false,
    }
}

/// What went wrong with a request, in a sentence.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".to_owned()
    } else if e.is_connect() {
        let mut source: Option<&dyn std::error::Error> = Some(e);
        let mut last = e.to_string();
        while let Some(s) = source {
            last = s.to_string();
            source = s.source();
        }
        format!("could not connect: {last}")
    } else {
        e.to_string()
    }
}

/// The start of a response's body, for the delivery log.
async fn read_start(mut response: reqwest::Response) -> String {
    let mut kept = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        kept.extend_from_slice(&chunk);
        if kept.len() >= KEPT_RESPONSE * 4 {
            break;
        }
    }
    String::from_utf8_lossy(&kept).chars().take(KEPT_RESPONSE).collect()
}
