//! `spawn_app()`: the whole application on a free loopback port with a fresh demo
//! database, and a cookie-keeping client to talk to it.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use server::config::{Command, Config};
use server::startup::Application;

pub const PASSWORD: &str = "tessera-demo";

/// A running application and a browser-like client with its own cookie jar.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    pub state: app::ssr::AppState,
    dir: std::path::PathBuf,
    /// The database it was started on.
    database: String,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn unique_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!("tessera-it-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
}

/// Starts the application with the demo data.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the application with the demo data and `tweak` applied to its configuration.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_at(|config, _| tweak(config)).await
}

/// Starts the application with the demo data and `tweak` applied to its configuration,
/// told the address it will listen on.
pub async fn spawn_app_at(tweak: impl FnOnce(&mut Config, SocketAddr)) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let dir = unique_dir();
    let mut config = Config {
        command: Command::Serve,
        database_url: format!("sqlite://{}/tessera.db", dir.display()),
        site_addr: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        site_root: dir.join("site").display().to_string(),
        seed_demo: true,
        demo_explicit: true,
        session_idle: Duration::from_secs(3600),
        session_lifetime: Duration::from_secs(7 * 86_400),
        cookie_secure: false,
        forwarded: false,
        instance_ttl: 900,
        api_rate: server::api::rate_limit::RateLimit { per_second: 100_000.0, burst: 100_000.0 },
        bench_customers: 0,
        bench_scale: 0,
        public_url: None,
        secret: None,
        secret_file: None,
        sso: None,
        metrics_token: None,
        webhooks: app::store::webhooks::WebhookPolicy { allow_private: true, ..Default::default() },
        shutdown_grace: Duration::from_secs(5),
    };
    tweak(&mut config, addr);
    if config.database_url.starts_with("postgres") && config.secret.is_none() {
        // Replicas share the deployment's secret, as they must.
        config.secret = Some(server::config::SecretText("7e55e7a5".repeat(8)));
    }
    let database = config.database_url.clone();
    let app = Application::build(config).await.unwrap_or_else(|e| panic!("build: {e:#}"));
    let router = app.router();
    let state = app.state.clone();
    tokio::spawn(async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await });
    TestApp { addr, client: new_client(), dir, state, database }
}

/// A client with an empty cookie jar that does not follow redirects.
pub fn new_client() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap_or_else(|e| panic!("client: {e}"))
}

impl TestApp {
    /// The application's database.
    pub fn database_url(&self) -> String {
        self.database.clone()
    }

    /// Runs `sql` on the application's database with `binds`, as someone with the
    /// database in hand (an attacker with a backup, or a test moving the clock) would.
    pub async fn sql(&self, sql: &str, binds: &[i64]) {
        let pool = sqlx::AnyPool::connect(&self.database_url()).await.unwrap_or_else(|e| panic!("{e}"));
        let mut query = sqlx::query(sql);
        for b in binds {
            query = query.bind(*b);
        }
        query.execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
    }

    /// The strings `sql` selects from the application's database.
    pub async fn sql_strings(&self, sql: &str) -> Vec<String> {
        let pool = sqlx::AnyPool::connect(&self.database_url()).await.unwrap_or_else(|e| panic!("{e}"));
        let rows = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        rows
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Calls the server function at `/api/<name>` with form fields, as the UI does.
    pub async fn call(&self, name: &str, form: &[(&str, &str)]) -> Response {
        self.call_as(&self.client, name, form).await
    }

    /// Same as [`TestApp::call`] with another client (another browser).
    pub async fn call_as(&self, client: &Client, name: &str, form: &[(&str, &str)]) -> Response {
        client
            .post(self.url(&format!("/api/{name}")))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// Signs `client` in as `email` with the demo password; panics unless it works.
    pub async fn sign_in_as(&self, client: &Client, email: &str) {
        let r = self.call_as(client, "sign_in", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(r.status(), StatusCode::OK, "sign in as {email}: {}", r.text().await.unwrap_or_default());
    }

    /// A new client signed in as `email`.
    pub async fn client_for(&self, email: &str) -> Client {
        let client = new_client();
        self.sign_in_as(&client, email).await;
        client
    }
}

/// The JSON body of a response.
pub async fn json(r: Response) -> serde_json::Value {
    r.json().await.unwrap_or_else(|e| panic!("json: {e}"))
}

/// The sequence number of the newest audit event (every event has the next one); 0
/// before the first.
pub async fn audit_head(app: &TestApp) -> i64 {
    let newest = app.state.store.list_audit_events(None, 1).await.unwrap_or_else(|e| panic!("audit log: {e}"));
    newest.first().map_or(0, |e| e.seq)
}

/// The kinds of the audit events recorded after event `seq`, oldest first.
pub async fn audit_kinds_since(app: &TestApp, seq: i64) -> Vec<String> {
    let newest = app.state.store.list_audit_events(None, 1_000).await.unwrap_or_else(|e| panic!("audit log: {e}"));
    newest.into_iter().rev().filter(|e| e.seq > seq).map(|e| e.kind).collect()
}

/// Every `endpoint = "…"` the application declares: the name of every server function.
pub fn declared_server_functions() -> BTreeSet<String> {
    fn walk(dir: &std::path::Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for part in text.split("endpoint = \"").skip(1) {
                    if let Some(name) = part.split('"').next() {
                        out.insert(name.to_owned());
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src"), &mut out);
    out
}

/// A fresh, empty PostgreSQL database on the local server, as a URL, and its name for
/// [`drop_postgres`]; `None` when no server answers (a failure when `TESSERA_REQUIRE_PG=1`).
pub async fn postgres_database() -> Option<(String, String)> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let base = std::env::var("TESSERA_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let mut admin = match sqlx::AnyConnection::connect(&format!("{base}/postgres")).await {
        Ok(c) => c,
        Err(e) => {
            assert!(std::env::var("TESSERA_REQUIRE_PG").map_or(true, |v| v != "1"), "PostgreSQL is required here: {e}");
            eprintln!("skipping: no PostgreSQL ({e})");
            return None;
        }
    };
    let name = unique_dir().file_name().map(|n| n.to_string_lossy().replace('-', "_")).unwrap_or_default();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap_or_else(|e| panic!("create database: {e}"));
    Some((format!("{base}/{name}"), name))
}

/// Drops a database made by [`postgres_database`].
pub async fn drop_postgres(name: &str) {
    use sqlx::Connection;
    let base = std::env::var("TESSERA_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    if let Ok(mut admin) = sqlx::AnyConnection::connect(&format!("{base}/postgres")).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
    }
}

/// What Python's `script` prints, given `input` on its standard input: how the tests read
/// a file with a third party's own parser. Panics, saying that `parser` refused it, when
/// the script fails.
pub fn python(script: &str, input: &str, parser: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    child.stdin.take().unwrap_or_else(|| panic!("stdin")).write_all(input.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{parser} refused it: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The secret of the deployments [`start_tessera`] starts (replicas share it).
pub const REPLICA_SECRET: &str = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2";

/// The key ids the JWKS at `url` publishes, sorted.
pub async fn published_kids(url: &str) -> Vec<String> {
    let jwks = json(reqwest::get(url).await.unwrap_or_else(|e| panic!("{url}: {e}"))).await;
    let mut kids: Vec<String> =
        jwks["keys"].as_array().map(|k| k.iter().map(|k| k["kid"].as_str().unwrap_or_default().to_owned()).collect()).unwrap_or_default();
    kids.sort();
    kids
}

/// Runs `tessera <args>` on `database_url` under [`REPLICA_SECRET`], as an operator would:
/// whether it succeeded, and what it said.
pub fn tessera(database_url: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("TESSERA_SECRET", REPLICA_SECRET)
        .env("RUST_LOG", "error")
        .output()
        .unwrap_or_else(|e| panic!("run tessera: {e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A `tessera` process serving on a port of its own choosing; killed when dropped.
pub struct Process {
    child: std::process::Child,
    /// `http://host:port`.
    base: String,
}

impl Process {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Its answer to the demo's check (Initech, `reports.export`, Ada): status and code.
    pub async fn check_ada(&self) -> (StatusCode, String) {
        let body = serde_json::json!({"customer": "initech", "feature": "reports.export", "user": "ada@initech.example"});
        let (status, answer) = self.check("tsk_demo_acme", &body).await;
        (status, answer["code"].as_str().unwrap_or_default().to_owned())
    }

    /// Its answer to the check `body` authorised by `key`: status and JSON.
    pub async fn check(&self, key: &str, body: &serde_json::Value) -> (StatusCode, serde_json::Value) {
        let r = Client::new().post(self.url("/api/v1/check")).bearer_auth(key).json(body).send().await.unwrap_or_else(|e| panic!("{e}"));
        (r.status(), r.json().await.unwrap_or_default())
    }

    /// Sends it `signal` (`TERM`, `KILL`, …) as an operator or an orchestrator would.
    pub fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{signal}");
    }

    /// Waits up to `within` for it to exit; its exit status, or `None` while it still runs.
    pub async fn exited(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
                return Some(status);
            }
            if std::time::Instant::now() > until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `n` `tessera` processes on `database_url` at the same moment, with the demo or
/// without and `env` besides, and waits until each serves; panics with what one said if it
/// stops before. Blocks: call it from `spawn_blocking`.
pub fn start_tessera(n: usize, database_url: &str, demo: bool, env: &[(&str, &str)]) -> Vec<Process> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let children: Vec<std::process::Child> = (0..n)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_tessera"))
                .env("DATABASE_URL", database_url)
                .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
                .env("TESSERA_DEMO", if demo { "1" } else { "0" })
                .env("TESSERA_SECRET", REPLICA_SECRET)
                .env("RUST_LOG", "warn")
                .envs(env.iter().copied())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("run tessera: {e}"))
        })
        .collect();
    children
        .into_iter()
        .map(|mut child| {
            let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout is piped"));
            let mut lines = std::io::BufReader::new(stdout).lines().map_while(Result::ok);
            let serving = lines.find_map(|line| line.strip_prefix("Tessera is serving on ").map(str::to_owned));
            match serving {
                Some(base) => {
                    // The rest of what it prints is read, so that it never waits on a full pipe.
                    std::thread::spawn(move || lines.for_each(drop));
                    if let Some(stderr) = child.stderr.take() {
                        std::thread::spawn(move || std::io::BufReader::new(stderr).lines().map_while(Result::ok).for_each(drop));
                    }
                    Process { child, base }
                }
                None => {
                    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
                    panic!("tessera stopped before serving: {}", String::from_utf8_lossy(&out.stderr));
                }
            }
        })
        .collect()
}

/// Signs a new client in as `email` (the demo password) on the server at `base`.
pub async fn sign_in_at(base: &str, email: &str) -> Client {
    let client = new_client();
    let r = client
        .post(format!("{base}/api/sign_in"))
        .header("accept", "application/json")
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("sign in: {e}"));
    assert_eq!(r.status(), StatusCode::OK, "sign in as {email}");
    client
}
