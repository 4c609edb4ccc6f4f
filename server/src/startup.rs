//! Building the application: store, sessions, routes and layers; and serving it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use app::app::{shell, App};
use app::error::AppError;
use app::ssr::enforcer::Enforcer;
use app::ssr::session::SessionBackend;
use app::ssr::tokens::TokenSigner;
use app::ssr::AppState;
use app::store::{seed, Store};
use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Everything a running server is made of.
pub struct Application {
    pub state: AppState,
    pub sessions: SessionBackend,
    pub config: Config,
}

impl Application {
    /// Connects and migrates the store, seeds the demo data into a new database when
    /// asked, and opens the session store.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let secret = config.load_secret()?;
        let store = Store::connect(&config.database_url, secret)
            .await
            .with_context(|| format!("cannot open the database {}", config.database_for_log()))?;
        // Replicas starting together on one database take turns: the first migrates, seeds
        // and makes the first signing key; the others find it done.
        let start = store.start_lock().await.context("cannot take the database's start lock")?;
        first_start(&store, &config).await?;
        // The session store makes its tables when they are missing.
        let sessions = SessionBackend::connect(&config.database_url).await.context("cannot open the session store")?;
        start.release().await.context("cannot release the database's start lock")?;
        // A built site names its files by their content (hash.txt says how): Leptos's loader
        // and the stylesheet link then ask for those names.
        let hash_file = std::fs::canonicalize(std::path::Path::new(&config.site_root).join("hash.txt")).ok();
        let leptos_options = LeptosOptions::builder()
            .output_name("tessera")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .hash_files(hash_file.is_some())
            .hash_file(std::sync::Arc::<str>::from(hash_file.map(|p| p.display().to_string()).unwrap_or_else(|| "hash.txt".into())))
            .site_addr(config.site_addr)
            .env(match std::env::var("LEPTOS_ENV").as_deref() {
                Ok("DEV") | Ok("dev") | Ok("development") => Env::DEV,
                _ => Env::PROD,
            })
            .build();
        // Other replicas' changes reach this one's checks through the database; listening
        // starts before loading, so that nothing changed in between is missed.
        let listener = match store.engine() {
            app::store::Engine::Postgres => {
                Some(app::ssr::changes::subscribe(&config.database_url).await.context("cannot listen for changes")?)
            }
            app::store::Engine::Sqlite => None,
        };
        let enforcer = Arc::new(Enforcer::load(store.clone(), config.instance_ttl).await.context("cannot load entitlements")?);
        let tokens = Arc::new(TokenSigner::load(&store).await.context("cannot load the signing keys")?);
        app::ssr::changes::Refresher::install(&store, &enforcer, &tokens);
        if let Some(listener) = listener {
            tokio::spawn(app::ssr::changes::follow(listener, enforcer.clone(), tokens.clone(), store.clone()));
        }
        let state = AppState::new(app::ssr::state::Parts {
            leptos_options,
            store,
            enforcer,
            tokens,
            limiter: app::ssr::rate_limit::RateLimiter::new(config.api_rate),
            public_url: config.public_url(),
            sessions: config.session_policy(),
            hashing: Default::default(),
            sso: match &config.sso {
                Some(settings) => Some(Arc::new(
                    app::ssr::sso::Provider::new(
                        settings.clone(),
                        app::ssr::sso::Reach::VENDOR,
                        &config.public_url(),
                        app::ssr::sso::CALLBACK_PATH,
                    )
                    .map_err(anyhow::Error::msg)?,
                )),
                None => None,
            },
            customer_sso: Default::default(),
            webhooks: config.webhooks,
            activity: Default::default(),
            near_limit: Default::default(),
        });
        crate::webhooks::Dispatcher::new(state.store.clone(), config.webhooks)?.spawn();
        Ok(Application { state, sessions, config })
    }

    /// The router with every route and layer.
    pub fn router(&self) -> Router {
        router(self.state.clone(), self.sessions.clone(), &self.config)
    }
}

/// The whole HTTP surface: health, the enforcement API, the portal's pages, server
/// functions and CSV downloads (behind sessions), static files.
pub fn router(state: AppState, sessions: SessionBackend, config: &Config) -> Router {
    let routes = generate_route_list(App);
    // Over https the cookie is `__Host-`: Secure, for this host only, on every path.
    let https = config.https();
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(if https { "__Host-tessera_session" } else { "tessera_session" })
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(https || config.cookie_secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::try_from(config.session_idle)
                .unwrap_or(tower_sessions::cookie::time::Duration::hours(12)),
        ));
    // The bundle's files are named by their content: cached for a year, sent precompressed.
    let pkg =
        tower_http::services::ServeDir::new(std::path::Path::new(&config.site_root).join("pkg")).precompressed_br().precompressed_gzip();
    let portal = Router::new()
        .nest("/pkg", Router::new().fallback_service(pkg).layer(middleware::map_response(immutable)))
        .route(app::ssr::sso::START_PATH, get(app::ssr::sso::start).post(app::ssr::sso::start_by_email))
        .route(app::ssr::sso::CALLBACK_PATH, get(app::ssr::sso::callback))
        .route(app::ssr::sso::CUSTOMER_CALLBACK_ROUTE, get(app::ssr::sso::callback))
        .merge(app::ssr::exports::router())
        .leptos_routes_with_context(&state, routes, crate::boundary::provide_nonce, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(crate::boundary::provide_nonce, shell))
        .layer(middleware::from_fn(server_fn_status))
        .layer(middleware::from_fn(app::ssr::outcome::keep))
        .layer(session_layer)
        .layer(middleware::from_fn_with_state(state.clone(), busy_sign_in))
        .layer(middleware::from_fn_with_state(
            crate::boundary::Boundary::new(&config.public_url(), config.forwarded),
            crate::boundary::guard,
        ));
    let mut router = Router::new().route("/health", get(health)).route("/readyz", get(crate::metrics::readyz));
    if config.bench_customers > 0 {
        router = router.route("/bench/bare", axum::routing::post(bare));
    }
    let metrics = match &config.metrics_token {
        Some(token) => {
            Router::new().route("/metrics", get(crate::metrics::scrape)).with_state(crate::metrics::Scrape::new(&token.0, state.clone()))
        }
        None => Router::new(),
    };
    crate::trace::traced(
        router
            .route("/.well-known/jwks.json", get(crate::api::tokens::jwks))
            .merge(crate::api::router(&state))
            .merge(portal)
            .route_layer(middleware::from_fn(crate::metrics::track))
            .with_state(state)
            .merge(metrics),
    )
}

/// A bundle file found is the same forever under its name; anything else is not cached.
async fn immutable(mut res: Response) -> Response {
    let value = if res.status() == StatusCode::OK { "public, max-age=31536000, immutable" } else { "no-store" };
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    res.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

async fn health() -> &'static str {
    "ok"
}

#[derive(serde::Deserialize, serde::Serialize)]
struct BareBody {
    customer: String,
    feature: String,
    user: Option<String>,
}

/// The yardstick of `make bench`: parses a check-shaped body and answers JSON, doing
/// nothing else, so that a check's cost reads as a ratio to it.
async fn bare(axum::Json(body): axum::Json<BareBody>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"allowed": true, "code": "ok", "customer": body.customer, "feature": body.feature}))
}

/// Gives a failed server function the HTTP status of its error (400, 401, 403, 404…)
/// instead of a blanket 500, so that clients and logs can tell bad input from faults.
async fn server_fn_status(req: Request<Body>, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR || !response.headers().contains_key("serverfnerror") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, 64 * 1024).await else {
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = error.retry_after() {
            parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// While the password hashing budget is spent, a sign-in from a script (one that does not
/// ask for a page) is answered 429 here, before a session is read or the server function
/// parses it: a flood of guesses then costs little more than its connections. The answer
/// is the server function's own for `AppError::Busy`. A browser's form post goes on to
/// the server function, which gives the same answer in the page's words.
async fn busy_sign_in(axum::extract::State(state): axum::extract::State<AppState>, req: Request<Body>, next: Next) -> Response {
    const PATH: &str = "/api/sign_in";
    let wants_page = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if req.method() != axum::http::Method::POST || req.uri().path() != PATH || wants_page || !state.hashing.is_spent() {
        return next.run(req).await;
    }
    let error = AppError::Busy;
    let body = serde_json::to_string(&error).unwrap_or_default();
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let headers = res.headers_mut();
    headers.insert("serverfnerror", HeaderValue::from_static(PATH));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::RETRY_AFTER, HeaderValue::from(error.retry_after().unwrap_or(1).max(1)));
    res
}

/// What a server does before it serves, under the start lock: migrations, the demo and
/// bench data when asked for and not there yet, licence keys for entitlements without one,
/// the first signing key.
async fn first_start(store: &Store, config: &Config) -> anyhow::Result<()> {
    store.migrate().await.context("cannot migrate the database")?;
    check_secret(store).await?;
    let sealed = store.seal_signing_keys().await.context("cannot seal the signing keys")?;
    if sealed > 0 {
        tracing::info!(keys = sealed, "sealed signing keys stored before they were sealed under the deployment's secret");
    }
    if config.seed_demo && store.is_empty().await.context("cannot read the database")? {
        let hashes = tokio::task::spawn_blocking(|| {
            seed::DEMO_USERS.iter().map(|_| app::ssr::password::hash_password(seed::DEMO_PASSWORD)).collect::<Result<Vec<_>, _>>()
        })
        .await?
        .map_err(|e| anyhow::anyhow!("cannot hash the demo passwords: {e}"))?;
        seed::seed_demo(store, &hashes, app::store::now()).await.context("cannot seed the demo data")?;
        tracing::info!("seeded the demo data");
    }
    if config.bench_customers > 0 && store.find_customer_id("bench-0001").await?.is_none() {
        seed::seed_bench_customers(store, config.bench_customers, app::store::now()).await.context("cannot seed bench customers")?;
        tracing::info!(customers = config.bench_customers, "seeded bench customers");
    }
    if config.bench_scale > 0 && store.find_customer_id("scale-1").await?.is_none() {
        let scale = seed::Scale::of(config.bench_scale);
        seed::seed_bench_scale(store, scale, app::store::now()).await.context("cannot seed the bench at scale")?;
        tracing::info!(customers = scale.customers, audit = scale.audit_events, usage = scale.usage_events, "seeded the bench at scale");
    }
    let keyed = store.ensure_license_keys(app::store::now()).await.context("cannot give entitlements their license keys")?;
    if keyed > 0 {
        tracing::info!(entitlements = keyed, "gave entitlements without one a license key");
    }
    if TokenSigner::first_key(store).await.context("cannot make the first signing key")? {
        tracing::info!("made the first signing key");
    }
    Ok(())
}

/// Builds the application, prints where it listens and the demo sign-ins, and serves
/// until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    config.check_demo()?;
    // While this is held, `tessera restore` refuses to replace the database; taken before
    // the database is opened, so that a restore under way is waited for.
    let _serving = app::store::backup::serving(&config.database_url).await.context("cannot mark the database as served")?;
    let app = Application::build(config).await?;
    let listener =
        tokio::net::TcpListener::bind(app.config.site_addr).await.with_context(|| format!("cannot listen on {}", app.config.site_addr))?;
    let addr = listener.local_addr()?;
    tokio::spawn(app.sessions.clone().continuously_delete_expired(Duration::from_secs(3600)));
    tokio::spawn(sweep(app.state.clone(), Duration::from_secs(60)));
    println!("Tessera is serving on http://{addr}");
    if app.config.seed_demo {
        println!("Demo sign-ins (password {}):", seed::DEMO_PASSWORD);
        for (email, _, role, customer) in seed::DEMO_USERS {
            println!("  {email:<24} {}{}", role.label(), customer.map(|c| format!(" of {c}")).unwrap_or_default());
        }
        println!("Demo API key (Acme Analytics): {}", seed::DEMO_API_KEY);
        println!("  curl -s http://{addr}/api/v1/check -H 'Authorization: Bearer {}' \\", seed::DEMO_API_KEY);
        println!("       -H 'Content-Type: application/json' -d '{{\"customer\":\"initech\",\"feature\":\"reports.export\",\"user\":\"ada@initech.example\"}}'");
        println!("Demo license key (Initech's Acme Analytics entitlement): {}", seed::demo_license_key());
        println!("  curl -s http://{addr}/api/v1/check -H 'Authorization: Bearer {}' \\", seed::demo_license_key());
        println!("       -H 'Content-Type: application/json' -d '{{\"feature\":\"reports.export\",\"user\":\"ada@initech.example\"}}'");
    }
    // Asked to stop: no new connections, the requests in flight finish (a write in flight
    // commits and is answered, or is neither), for at most the grace period.
    use std::future::IntoFuture as _;
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signalled = {
        let stopping = stopping.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("stopping: no new connections; finishing the requests in flight");
            stopping.notify_one();
        }
    };
    let serving = axum::serve(listener, app.router().into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(signalled)
        .into_future();
    let grace = app.config.shutdown_grace;
    tokio::select! {
        served = serving => served?,
        () = async { stopping.notified().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(seconds = grace.as_secs(), "requests still in flight after the grace period: stopping without them");
        }
    }
    // Connections still held by background work are not waited for long.
    let _ = tokio::time::timeout(Duration::from_secs(5), app.state.store.close()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Stops with a message that says what to do when the deployment's secret is not the one
/// the database was set up with.
async fn check_secret(store: &Store) -> anyhow::Result<()> {
    match store.check_secret().await {
        Ok(()) => Ok(()),
        Err(app::store::StoreError::WrongSecret) => anyhow::bail!(
            "the deployment's secret (TESSERA_SECRET, or the secret file) is not the one this database was set up with: \
             license keys and signing keys cannot be opened under it. Start with the secret the database was made with"
        ),
        Err(e) => Err(anyhow::Error::new(e).context("cannot read the database")),
    }
}

/// `tessera backup FILE`: a copy of the SQLite database as of one moment, written to a new
/// file while the server goes on.
pub async fn backup(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let store = connect(config).await?;
    let bytes = store.backup(file).await?;
    println!("backed up {} to {} ({bytes} bytes)", config.database_for_log(), file.display());
    Ok(())
}

/// `tessera restore FILE`: the backup in place of the SQLite database, once no server
/// serves it and the backup is checked.
pub async fn restore(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let restored = app::store::backup::restore(&config.database_url, file, config.load_secret()?).await?;
    println!(
        "restored {} from {} ({} bytes): {} audit events, the chain whole",
        config.database_for_log(),
        file.display(),
        restored.bytes,
        restored.events
    );
    Ok(())
}

/// Opens the configured database (for a command; the server opens it in [`Application::build`]).
async fn connect(config: &Config) -> anyhow::Result<Store> {
    Store::connect(&config.database_url, config.load_secret()?)
        .await
        .with_context(|| format!("cannot open the database {}", config.database_for_log()))
}

/// Opens the configured database for an audit command, checking the secret.
async fn open_for_audit(config: &Config) -> anyhow::Result<Store> {
    let store = connect(config).await?;
    check_secret(&store).await?;
    Ok(store)
}

/// Opens the configured database and applies the migrations it lacks, under the start lock
/// (a server starting at the same moment may be migrating it too), then checks the secret:
/// the store, and how many migrations were applied.
async fn open_migrated(config: &Config) -> anyhow::Result<(Store, usize)> {
    let store = connect(config).await?;
    let start = store.start_lock().await.context("cannot take the database's start lock")?;
    let pending = store.pending_migrations().await.context("cannot read the database's migrations")?;
    store.migrate().await.context("cannot migrate the database")?;
    start.release().await.context("cannot release the database's start lock")?;
    check_secret(&store).await?;
    Ok((store, pending))
}

/// `tessera audit verify [--checkpoint FILE]`: recomputes the audit chain of the configured
/// database and, given a checkpoint, checks that the event it names is still there as it
/// was; prints what it found. Returns false when anything does not hold.
pub async fn verify_audit(config: &Config, checkpoint: Option<&std::path::Path>) -> anyhow::Result<bool> {
    use app::ssr::checkpoints::{self, Standing};
    let store = open_for_audit(config).await?;
    let report = store.audit_report().await.context("cannot read the audit log")?;
    let chain_holds = match (report.broken_at, report.head_matches) {
        (Some(seq), _) => {
            println!(
                "audit chain BROKEN at event #{seq}: it was edited, inserted or an event before it was removed ({} events read)",
                report.events
            );
            false
        }
        (None, false) => {
            println!("audit chain BROKEN after event #{}: events were removed from the end (the recorded tip differs)", report.events);
            false
        }
        (None, true) => {
            println!("audit chain intact: {} events", report.events);
            true
        }
    };
    let Some(path) = checkpoint else { return Ok(chain_holds) };
    let token = std::fs::read_to_string(path).with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
    let keys = store.list_public_keys().await.context("cannot read the signing keys")?;
    let claims = match checkpoints::verify(&token, &keys) {
        Ok(claims) => claims,
        Err(e) => {
            println!("checkpoint REFUSED: {e}");
            return Ok(false);
        }
    };
    let at = chrono::DateTime::from_timestamp(claims.iat, 0).map(|t| t.to_rfc3339()).unwrap_or_default();
    match checkpoints::standing(&store, &claims).await.context("cannot read the audit log")? {
        Standing::Holds => {
            println!("checkpoint holds: event #{} is as it was when the checkpoint was signed ({at})", claims.seq);
            Ok(chain_holds)
        }
        Standing::Truncated => {
            println!("audit log TRUNCATED: event #{} of the checkpoint signed {at} is gone", claims.seq);
            Ok(false)
        }
        Standing::Rewritten => {
            println!("audit log REWRITTEN: event #{} differs from the checkpoint signed {at}", claims.seq);
            Ok(false)
        }
    }
}

/// `tessera audit checkpoint`: signs a checkpoint of the chain's head, keeps it and prints
/// it, to be stored somewhere the database's owner cannot reach.
pub async fn checkpoint_audit(config: &Config) -> anyhow::Result<()> {
    let store = open_for_audit(config).await?;
    let signer = TokenSigner::load(&store).await.context("cannot load the signing keys")?;
    match app::ssr::checkpoints::write(&store, &signer, &config.public_url(), app::store::now()).await? {
        Some(checkpoint) => {
            eprintln!("checkpoint of event #{} ({}):", checkpoint.claims.seq, checkpoint.claims.hash);
            println!("{}", checkpoint.token);
            Ok(())
        }
        None => anyhow::bail!("the audit log is empty: there is nothing to checkpoint"),
    }
}

/// `tessera migrate`: applies the migrations this release has and the database lacks,
/// under the start lock (a server starting meanwhile waits), and says what it did.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let (store, pending) = open_migrated(config).await?;
    store.close().await;
    match pending {
        0 => println!("{} is up to date: no migration to apply", config.database_for_log()),
        n => println!("{}: applied {n} migration{}", config.database_for_log(), if n == 1 { "" } else { "s" }),
    }
    Ok(())
}

/// `tessera admin create`: makes a vendor admin with a password read from the terminal
/// (asked twice, not shown) or from the first line of standard input.
pub async fn create_admin(config: &Config, email: &str, name: &str) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    let email = app::ssr::forms::email("email", email).map_err(|e| anyhow::anyhow!("{e}"))?.into_inner();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        anyhow::bail!("--name must be 1 to 100 characters");
    }
    let (store, _) = open_migrated(config).await?;
    let read_line = |prompt: &str| -> anyhow::Result<String> {
        let stdin = std::io::stdin();
        let terminal = stdin.is_terminal();
        if terminal {
            eprint!("{prompt}");
            std::io::stderr().flush()?;
            // Not shown as it is typed.
            let _ = std::process::Command::new("stty").arg("-echo").stdin(std::process::Stdio::inherit()).status();
        }
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        if terminal {
            let _ = std::process::Command::new("stty").arg("echo").stdin(std::process::Stdio::inherit()).status();
            eprintln!();
        }
        read?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let password = read_line("Password: ")?;
    let confirm = if std::io::stdin().is_terminal() { read_line("Repeat it: ")? } else { password.clone() };
    app::ssr::password::check_new_password(&password, &confirm, &email, app::seats::api::MIN_PASSWORD)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = tokio::task::spawn_blocking(move || app::ssr::password::hash_password(&password))
        .await?
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    match store.create_vendor_admin(&email, name, &hash, app::store::now()).await {
        Ok(id) => {
            println!("{email} is a vendor admin (user {id}): sign in at {}/signin", config.public_url());
            Ok(())
        }
        Err(app::store::StoreError::Duplicate(_)) => anyhow::bail!("{email} has an account already"),
        Err(e) => Err(anyhow::Error::new(e).context("cannot create the admin")),
    }
}

/// How long settled webhook deliveries stay in the log.
const WEBHOOK_LOG_KEPT: i64 = 30 * 86_400;

/// How often the server signs a checkpoint of the audit log, when it has grown.
const CHECKPOINT_EVERY: i64 = 3600;

/// Every `every`, runs [`sweep_once`].
pub async fn sweep(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        sweep_once(&state, app::store::now()).await;
    }
}

/// The periodic chores, as of `now`: deactivates instances whose heartbeat lapsed (each
/// with its audit event, so the history and the instances page show them gone) and
/// applies approved changes whose renewal date has come (the write path refreshes the
/// customers they touch). Checks already treat a lapsed instance as gone; this makes it a
/// recorded fact. Notices due are recorded (trials and terms ending, quotas reached).
/// Idempotency keys older than a day and settled webhook deliveries older
/// than a month are forgotten.
pub async fn sweep_once(state: &AppState, now: i64) {
    let ttl = state.enforcer.instance_ttl();
    if let Err(e) = state.store.sweep_lapsed_instances(now, ttl).await {
        tracing::warn!(error = %e, "sweeping lapsed instances failed");
    }
    if let Err(e) = state.store.apply_due_changes(now).await {
        tracing::warn!(error = %e, "applying scheduled changes failed");
    }
    if let Err(e) = state.store.purge_idempotency_keys(now).await {
        tracing::warn!(error = %e, "forgetting day-old idempotency keys failed");
    }
    if let Err(e) = state.store.record_notices(now).await {
        tracing::warn!(error = %e, "recording the notices due failed");
    }
    if let Err(e) = state.store.purge_notices(now - 400 * 86_400).await {
        tracing::warn!(error = %e, "forgetting old notices failed");
    }
    if let Err(e) = state.store.purge_webhook_deliveries(now - WEBHOOK_LOG_KEPT).await {
        tracing::warn!(error = %e, "forgetting month-old webhook deliveries failed");
    }
    match app::ssr::checkpoints::write_if_due(&state.store, &state.tokens, &state.public_url, now, CHECKPOINT_EVERY).await {
        Ok(Some(c)) => tracing::info!(seq = c.claims.seq, "signed a checkpoint of the audit log"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "writing the audit checkpoint failed"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
