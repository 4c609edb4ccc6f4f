//! One typed configuration, read from the environment and the command line at start.
//! Bad values fail fast with a message; secrets are never printed.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};

/// What `tessera --help` prints.
pub const USAGE: &str = "\
tessera — license entitlements portal

usage: tessera [--no-demo]        serve the portal and the enforcement API
       tessera audit verify      recompute the audit log's hash chain; exit 1 if it is broken

environment:
  DATABASE_URL          sqlite://data/tessera.db (default) or postgres://user@host/db
  LEPTOS_SITE_ADDR      address to listen on (default 127.0.0.1:3000)
  LEPTOS_SITE_ROOT      folder with the built site: pkg/ and static files (default target/site)
  TESSERA_DEMO          1 (default) seeds demo data into a new database; 0 does not
  TESSERA_SESSION_HOURS sign-in lifetime without activity, in hours (default 12)
  TESSERA_COOKIE_SECURE 1 marks the session cookie Secure (serve behind https)
  TESSERA_API_RATE      enforcement API requests per second per API key (default 100000)
  TESSERA_BENCH_CUSTOMERS  benchmarks only: seed N bench customers and serve /bench/bare (default 0: off)
  TESSERA_INSTANCE_TTL_SECS  seconds without a heartbeat before an instance's slot is freed (default 900)
  RUST_LOG              log filter (default info)";

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve,
    /// Recompute the audit chain and report the first broken link.
    AuditVerify,
    Help,
}

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub command: Command,
    pub database_url: String,
    pub site_addr: SocketAddr,
    pub site_root: String,
    pub seed_demo: bool,
    pub session_idle: Duration,
    pub cookie_secure: bool,
    /// Seconds an instance's heartbeat may lapse before its slot is freed.
    pub instance_ttl: i64,
    /// Enforcement API requests per second per key, and the burst above it.
    pub api_rate: crate::api::rate_limit::RateLimit,
    /// Benchmark mode: seed this many bench customers into a new database and serve
    /// the bare `/bench/bare` handler beside the API. 0 (the default) is off.
    pub bench_customers: usize,
}

impl Config {
    /// Reads the environment, then the arguments (which win).
    pub fn from_env_and_args(args: impl Iterator<Item = String>) -> anyhow::Result<Config> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let flag = |name: &str, default: bool| -> anyhow::Result<bool> {
            match var(name).as_deref().map(str::trim) {
                None => Ok(default),
                Some("1" | "true" | "yes" | "on") => Ok(true),
                Some("0" | "false" | "no" | "off") => Ok(false),
                Some(other) => bail!("{name} must be 1 or 0, not {other:?}"),
            }
        };
        let site_addr = var("LEPTOS_SITE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        let hours: u64 = var("TESSERA_SESSION_HOURS")
            .map(|h| h.trim().parse())
            .transpose()
            .context("TESSERA_SESSION_HOURS must be a whole number of hours")?
            .unwrap_or(12);
        if hours == 0 {
            bail!("TESSERA_SESSION_HOURS must be at least 1");
        }
        let mut config = Config {
            command: Command::Serve,
            database_url: var("DATABASE_URL").unwrap_or_else(|| "sqlite://data/tessera.db".into()),
            site_addr: site_addr.parse().with_context(|| format!("LEPTOS_SITE_ADDR {site_addr:?} is not host:port"))?,
            site_root: var("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            seed_demo: flag("TESSERA_DEMO", true)?,
            session_idle: Duration::from_secs(hours * 3600),
            cookie_secure: flag("TESSERA_COOKIE_SECURE", false)?,
            instance_ttl: var("TESSERA_INSTANCE_TTL_SECS")
                .map(|v| v.trim().parse::<i64>())
                .transpose()
                .context("TESSERA_INSTANCE_TTL_SECS must be a whole number of seconds")?
                .filter(|v| *v > 0)
                .unwrap_or(tessera_engine::DEFAULT_INSTANCE_TTL),
            api_rate: {
                let rate: f64 = var("TESSERA_API_RATE")
                    .map(|v| v.trim().parse::<f64>())
                    .transpose()
                    .context("TESSERA_API_RATE must be a number of requests per second")?
                    .filter(|v| *v > 0.0)
                    .unwrap_or(100_000.0);
                crate::api::rate_limit::RateLimit { per_second: rate, burst: rate.max(1.0) }
            },
            bench_customers: var("TESSERA_BENCH_CUSTOMERS")
                .map(|v| v.trim().parse::<usize>())
                .transpose()
                .context("TESSERA_BENCH_CUSTOMERS must be a whole number")?
                .unwrap_or(0),
        };
        let args: Vec<String> = args.collect();
        let mut rest = args.iter().map(String::as_str).peekable();
        if rest.peek() == Some(&"audit") {
            rest.next();
            match rest.next() {
                Some("verify") => config.command = Command::AuditVerify,
                other => bail!("unknown audit command {other:?}; try `tessera audit verify`\n\n{USAGE}"),
            }
        }
        for arg in rest {
            match arg {
                "--no-demo" => config.seed_demo = false,
                "-h" | "--help" => config.command = Command::Help,
                other => bail!("unknown argument {other:?}\n\n{USAGE}"),
            }
        }
        Ok(config)
    }

    /// The database URL with any password hidden, for logs.
    pub fn database_for_log(&self) -> String {
        match self.database_url.split_once('@') {
            Some((scheme_user, host)) if scheme_user.matches(':').count() >= 2 => {
                let cut = scheme_user.rfind(':').unwrap_or(scheme_user.len());
                format!("{}:***@{host}", &scheme_user[..cut])
            }
            _ => self.database_url.clone(),
        }
    }
}
