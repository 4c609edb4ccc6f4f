//! One typed configuration, read from the environment and the command line at start.
//! Bad values fail fast with a message; secrets are never printed.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};

/// What `tessera --help` prints.
pub const USAGE: &str = "\
tessera — license entitlements portal

usage: tessera [--no-demo]        serve the portal and the enforcement API
       tessera admin create --email EMAIL --name NAME
                                 make a vendor admin (the first one of a deployment without
                                 the demo); the password is read from the terminal, or from
                                 the first line of standard input
       tessera audit verify [--checkpoint FILE]
                                 recompute the audit log's hash chain, and with a checkpoint
                                 check that nothing was cut or rewritten after it; exit 1 if not
       tessera audit checkpoint  sign a checkpoint of the audit log's head, print it and keep
                                 it; store the printed text somewhere else
       tessera migrate           apply this release's migrations to the database and exit (a
                                 server does so as it starts; this lets an upgrade be done,
                                 and seen done, before the new release serves)
       tessera backup FILE       write a copy of the SQLite database as of one moment to a new
                                 FILE, while the server goes on serving
       tessera restore FILE      put a backup in place of the SQLite database, once no server
                                 serves it; the backup's secret and audit chain are checked first

environment:
  DATABASE_URL          sqlite://data/tessera.db (default) or postgres://user@host/db
  LEPTOS_SITE_ADDR      address to listen on (default 127.0.0.1:3000)
  LEPTOS_SITE_ROOT      folder with the built site: pkg/ and static files (default target/site)
  TESSERA_DEMO          1 seeds demo data (public passwords) into a new database; 0 does not.
                        Unset, the demo is on for a loopback address only: on any other
                        the server refuses to start until TESSERA_DEMO says which
  TESSERA_SESSION_HOURS how long a sign-in lasts without activity, in hours (default 12)
  TESSERA_SESSION_MAX_HOURS  how long a sign-in lasts however active, in hours (default 168)
  TESSERA_COOKIE_SECURE 1 marks the session cookie Secure; it is, with the __Host- prefix,
                        whenever TESSERA_PUBLIC_URL is https
  TESSERA_FORWARDED     1: behind a proxy the deployment trusts, the client's address is the
                        last one in X-Forwarded-For (default 0: the connection's peer)
  TESSERA_API_RATE      enforcement API requests per second per API key (default 100000)
  TESSERA_BENCH_CUSTOMERS  benchmarks only: seed N bench customers and serve /bench/bare (default 0: off)
  TESSERA_BENCH_SCALE   benchmarks only: seed N more customers with 10 audit events and 100
                        usage events each into a new database (default 0: off)
  TESSERA_INSTANCE_TTL_SECS  seconds without a heartbeat before an instance's slot is freed (default 900)
  TESSERA_PUBLIC_URL    where this deployment is reached, the issuer of its licences
                        (default http://<LEPTOS_SITE_ADDR>)
  TESSERA_SECRET        the deployment's secret, 64 hex digits; protects license keys at rest.
                        Replicas must share it. Without it, TESSERA_SECRET_FILE is read, and
                        created with a new secret when missing
  TESSERA_SECRET_FILE   default: secret.key beside the SQLite database, else data/secret.key
  TESSERA_OIDC_ISSUER   the vendor's OpenID Connect provider, for staff's single sign-on; with
  TESSERA_OIDC_CLIENT_ID, TESSERA_OIDC_CLIENT_SECRET (all three, or none) and
  TESSERA_OIDC_NAME     its name on the sign-in page (default: the issuer's host). Register
                        <TESSERA_PUBLIC_URL>/auth/sso/callback with it as the redirect URI
  TESSERA_SHUTDOWN_SECS on SIGTERM or Ctrl-C: no new connections, and this long at most for
                        the requests in flight to finish (default 25, under the 30 that
                        orchestrators wait before they kill)
  TESSERA_METRICS_TOKEN serves GET /metrics (Prometheus) to Authorization: Bearer <it>, at
                        least 16 characters; unset, /metrics is not served
  RUST_LOG              log filter (default info)";

/// A secret as configured; its `Debug` shows none of it, so that no log of the
/// configuration carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(pub String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(***)")
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve,
    /// Recompute the audit chain and report the first broken link; with a checkpoint file,
    /// also whether the log still holds the event it names, as it was.
    AuditVerify {
        checkpoint: Option<std::path::PathBuf>,
    },
    /// Sign a checkpoint of the chain's head and print it.
    AuditCheckpoint,
    /// Write a backup of the SQLite database to a new file.
    Backup {
        file: std::path::PathBuf,
    },
    /// Put a backup in place of the SQLite database.
    Restore {
        file: std::path::PathBuf,
    },
    /// Apply the migrations and exit.
    Migrate,
    /// Make a vendor admin.
    AdminCreate {
        email: String,
        name: String,
    },
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
    /// Whether `TESSERA_DEMO` (or `--no-demo`) said so, rather than the default.
    pub demo_explicit: bool,
    /// How long a sign-in lasts without activity.
    pub session_idle: Duration,
    /// How long a sign-in lasts however active.
    pub session_lifetime: Duration,
    pub cookie_secure: bool,
    /// Whether the client's address is taken from `X-Forwarded-For` (a trusted proxy's).
    pub forwarded: bool,
    /// Seconds an instance's heartbeat may lapse before its slot is freed.
    pub instance_ttl: i64,
    /// Enforcement API requests per second per key, and the burst above it.
    pub api_rate: crate::api::rate_limit::RateLimit,
    /// Benchmark mode: seed this many bench customers into a new database and serve
    /// the bare `/bench/bare` handler beside the API. 0 (the default) is off.
    pub bench_customers: usize,
    /// Benchmarks only: seed this many customers at a vendor's size (ten audit events and
    /// a hundred usage events each) into a new database. 0 (the default) is off.
    pub bench_scale: i64,
    /// Where this deployment is reached; `None`: `http://<site_addr>`.
    pub public_url: Option<String>,
    /// The deployment's secret as given (64 hex digits), if given.
    pub secret: Option<SecretText>,
    /// Where the secret is kept when not given; `None`: beside the SQLite database, or
    /// `data/secret.key`.
    pub secret_file: Option<std::path::PathBuf>,
    /// The vendor's single sign-on provider, if configured.
    pub sso: Option<app::ssr::sso::SsoSettings>,
    /// The bearer token `GET /metrics` asks for; `None`: no metrics are served.
    pub metrics_token: Option<SecretText>,
    /// How webhook deliveries are retried, when a failing endpoint is disabled and
    /// whether endpoints may be on private networks.
    pub webhooks: app::store::webhooks::WebhookPolicy,
    /// How long requests in flight may take to finish once asked to stop.
    pub shutdown_grace: Duration,
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
        let max_hours: u64 = var("TESSERA_SESSION_MAX_HOURS")
            .map(|h| h.trim().parse())
            .transpose()
            .context("TESSERA_SESSION_MAX_HOURS must be a whole number of hours")?
            .unwrap_or(168);
        if max_hours < hours {
            bail!("TESSERA_SESSION_MAX_HOURS ({max_hours}) must be at least TESSERA_SESSION_HOURS ({hours})");
        }
        let mut config = Config {
            command: Command::Serve,
            database_url: var("DATABASE_URL").unwrap_or_else(|| "sqlite://data/tessera.db".into()),
            site_addr: site_addr.parse().with_context(|| format!("LEPTOS_SITE_ADDR {site_addr:?} is not host:port"))?,
            site_root: var("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            seed_demo: flag("TESSERA_DEMO", true)?,
            demo_explicit: var("TESSERA_DEMO").is_some(),
            session_idle: Duration::from_secs(hours * 3600),
            session_lifetime: Duration::from_secs(max_hours * 3600),
            cookie_secure: flag("TESSERA_COOKIE_SECURE", false)?,
            forwarded: flag("TESSERA_FORWARDED", false)?,
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
            bench_scale: var("TESSERA_BENCH_SCALE")
                .map(|v| v.trim().parse::<u32>())
                .transpose()
                .context("TESSERA_BENCH_SCALE must be a whole number")?
                .map_or(0, i64::from),
            public_url: match var("TESSERA_PUBLIC_URL") {
                Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                    bail!("TESSERA_PUBLIC_URL must start with http:// or https://, not {url:?}")
                }
                url => url.map(|u| u.trim().trim_end_matches('/').to_owned()),
            },
            shutdown_grace: Duration::from_secs(
                var("TESSERA_SHUTDOWN_SECS")
                    .map(|v| v.trim().parse::<u64>())
                    .transpose()
                    .context("TESSERA_SHUTDOWN_SECS must be a whole number of seconds")?
                    .unwrap_or(25),
            ),
            secret: var("TESSERA_SECRET").map(SecretText),
            secret_file: var("TESSERA_SECRET_FILE").map(std::path::PathBuf::from),
            metrics_token: match var("TESSERA_METRICS_TOKEN") {
                Some(t) if t.trim().len() < 16 => bail!("TESSERA_METRICS_TOKEN must be at least 16 characters"),
                t => t.map(|t| SecretText(t.trim().to_owned())),
            },
            webhooks: {
                let number = |name: &str, max: u64| -> anyhow::Result<Option<u64>> {
                    let n =
                        var(name).map(|v| v.trim().parse::<u64>()).transpose().with_context(|| format!("{name} must be a whole number"))?;
                    match n {
                        Some(n) if n > max => bail!("{name} is at most {max}"),
                        n => Ok(n.filter(|n| *n > 0)),
                    }
                };
                let defaults = app::store::webhooks::WebhookPolicy::default();
                app::store::webhooks::WebhookPolicy {
                    first_retry: number("TESSERA_WEBHOOK_FIRST_RETRY_SECS", 3600)?.map_or(defaults.first_retry, Duration::from_secs),
                    retry_for: number("TESSERA_WEBHOOK_RETRY_HOURS", 720)?.map_or(defaults.retry_for, |h| Duration::from_secs(h * 3600)),
                    disable_after: number("TESSERA_WEBHOOK_DISABLE_AFTER_HOURS", 8760)?
                        .map_or(defaults.disable_after, |h| Duration::from_secs(h * 3600)),
                    timeout: number("TESSERA_WEBHOOK_TIMEOUT_SECS", 300)?.map_or(defaults.timeout, Duration::from_secs),
                    allow_private: flag("TESSERA_WEBHOOK_PRIVATE_NETWORKS", false)?,
                }
            },
            sso: match (var("TESSERA_OIDC_ISSUER"), var("TESSERA_OIDC_CLIENT_ID"), var("TESSERA_OIDC_CLIENT_SECRET")) {
                (None, None, None) => None,
                (Some(issuer), Some(client_id), Some(client_secret)) => {
                    let issuer = issuer.trim().to_owned();
                    let host = app::ssr::sso::host_of(&issuer).to_owned();
                    if !app::ssr::sso::issuer_allowed(&issuer, app::ssr::sso::Reach::VENDOR) {
                        bail!("TESSERA_OIDC_ISSUER must start with https:// (http:// only on a loopback address), not {issuer:?}");
                    }
                    Some(app::ssr::sso::SsoSettings {
                        issuer,
                        client_id: client_id.trim().to_owned(),
                        client_secret: client_secret.trim().to_owned(),
                        name: var("TESSERA_OIDC_NAME").map(|n| n.trim().to_owned()).unwrap_or(host),
                    })
                }
                _ => bail!("single sign-on needs TESSERA_OIDC_ISSUER, TESSERA_OIDC_CLIENT_ID and TESSERA_OIDC_CLIENT_SECRET, all three"),
            },
        };
        let args: Vec<String> = args.collect();
        let mut rest = args.iter().map(String::as_str).peekable();
        if rest.peek() == Some(&"admin") {
            rest.next();
            if rest.next() != Some("create") {
                bail!("unknown admin command; try `tessera admin create --email EMAIL --name NAME`\n\n{USAGE}");
            }
            let (mut email, mut name) = (None, None);
            while let Some(arg) = rest.next() {
                match arg {
                    "--email" => email = rest.next().map(str::to_owned),
                    "--name" => name = rest.next().map(str::to_owned),
                    other => bail!("unknown argument {other:?} of `tessera admin create`\n\n{USAGE}"),
                }
            }
            let email = email.context("`tessera admin create` needs --email EMAIL")?;
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
            config.command = Command::AdminCreate { email, name };
            return Ok(config);
        }
        if rest.peek() == Some(&"migrate") {
            rest.next();
            if let Some(other) = rest.next() {
                bail!("unknown argument {other:?} of `tessera migrate`\n\n{USAGE}");
            }
            config.command = Command::Migrate;
            return Ok(config);
        }
        if let Some(&verb @ ("backup" | "restore")) = rest.peek() {
            rest.next();
            let file = rest.next().map(std::path::PathBuf::from).with_context(|| format!("`tessera {verb}` needs a FILE"))?;
            if let Some(other) = rest.next() {
                bail!("unknown argument {other:?} of `tessera {verb}`\n\n{USAGE}");
            }
            config.command = if verb == "backup" { Command::Backup { file } } else { Command::Restore { file } };
            return Ok(config);
        }
        if rest.peek() == Some(&"audit") {
            rest.next();
            match rest.next() {
                Some("verify") => {
                    let checkpoint = match rest.peek() {
                        Some(&"--checkpoint") => {
                            rest.next();
                            Some(rest.next().map(std::path::PathBuf::from).context("--checkpoint needs a file")?)
                        }
                        _ => None,
                    };
                    config.command = Command::AuditVerify { checkpoint };
                }
                Some("checkpoint") => config.command = Command::AuditCheckpoint,
                other => bail!("unknown audit command {other:?}; try `tessera audit verify` or `tessera audit checkpoint`\n\n{USAGE}"),
            }
        }
        for arg in rest {
            match arg {
                "--no-demo" => {
                    config.seed_demo = false;
                    config.demo_explicit = true;
                }
                "-h" | "--help" => config.command = Command::Help,
                other => bail!("unknown argument {other:?}\n\n{USAGE}"),
            }
        }
        Ok(config)
    }

    /// Refuses the demo, whose passwords are public, on an address other hosts can reach
    /// unless `TESSERA_DEMO` asked for it.
    pub fn check_demo(&self) -> anyhow::Result<()> {
        if self.seed_demo && !self.demo_explicit && !self.site_addr.ip().is_loopback() {
            bail!(
                "the demo data, whose passwords are public, is on by default only on a loopback address, and this server would \
                 listen on {}. For a real deployment set TESSERA_DEMO=0 and make the first admin with `tessera admin create \
                 --email …`; to show the demo on this address anyway, set TESSERA_DEMO=1",
                self.site_addr
            );
        }
        Ok(())
    }

    /// Whether the deployment is reached over https (its public URL says so).
    pub fn https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// How long sign-ins last.
    pub fn session_policy(&self) -> app::store::members::sign_ins::SessionPolicy {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        app::store::members::sign_ins::SessionPolicy { idle: secs(self.session_idle), lifetime: secs(self.session_lifetime) }
    }

    /// The issuer of licences: the public URL, or `http://<site_addr>`.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.site_addr))
    }

    /// The deployment's secret: `TESSERA_SECRET`, else the secret file, created with a new
    /// random secret (readable by its owner only) when missing. With SQLite the file is by
    /// default beside the database; with PostgreSQL one of the two must be given, since every
    /// replica needs the same secret.
    pub fn load_secret(&self) -> anyhow::Result<app::store::secret::Secret> {
        use app::store::secret::Secret;
        if let Some(SecretText(text)) = &self.secret {
            return Secret::parse(text).map_err(|e| anyhow::anyhow!("TESSERA_SECRET: {e}"));
        }
        let path = match &self.secret_file {
            Some(path) => path.clone(),
            None => {
                let Some(sqlite) = self.database_url.strip_prefix("sqlite://").or_else(|| self.database_url.strip_prefix("sqlite:")) else {
                    bail!("set TESSERA_SECRET (64 hex digits) or TESSERA_SECRET_FILE: with PostgreSQL every replica must share the secret");
                };
                let folder = std::path::Path::new(sqlite.split('?').next().unwrap_or_default()).parent().map(|d| d.to_path_buf());
                folder.filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| ".".into()).join("secret.key")
            }
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Secret::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let master = Secret::generate();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).with_context(|| format!("cannot create the secret file {}", path.display()))?;
                std::io::Write::write_all(&mut file, format!("{}\n", Secret::to_hex(&master)).as_bytes())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                tracing::info!(path = %path.display(), "created the deployment's secret: back it up with the database");
                Ok(Secret::from_bytes(master))
            }
            Err(e) => Err(anyhow::anyhow!("cannot read the secret file {}: {e}", path.display())),
        }
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
