//! The PostgreSQL source: one task per endpoint (a primary or a replica),
//! with its own small pool, so a slow or dead server never delays another
//! source, or the UI.
//!
//! Per tick: a `SELECT 1` (the health check: its round trip is labelled as
//! such) and one refresh (`queries::tick_sql`); every `tables_every` also the
//! busiest tables and the database size (`queries::tables_sql`); every 5 s
//! at most the sessions (`activity`, for the Sessions pane). Each refresh
//! is one read-only transaction with `SET LOCAL statement_timeout`, sent with
//! the simple protocol in one round trip: nothing prepared, nothing left set
//! on the session, so PgBouncer in transaction pooling is fine.
//!
//! The role (`pg_is_in_recovery()`) is read every tick: a promotion or a
//! demotion re-announces the source with its new kind. A changed
//! `stats_reset` or postmaster start, and every reconnect, bumps the
//! generation, so the app takes a new baseline (a gap, never a spike).

pub mod activity;
pub mod queries;

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Row};
use tokio::sync::mpsc;

use crate::fault::{Fault, Kind};
use crate::redact::{redact_url, scrub};
use crate::sample::{Body, Sample, SourceId, SourceKind, SourceStatus, Statements, TableCounters};
use crate::sources::clock::wall_now;
use crate::sources::pace::Pace;

/// How one endpoint is watched.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// Source id in the app's table.
    pub id: SourceId,
    /// `postgres://…` URL (may hold a password: never shown or logged as is).
    pub url: String,
    /// Refresh interval (follows the console's `+` / `-`).
    pub poll: Pace,
    /// How often the per-table counters and the database size are read.
    pub tables_every: Duration,
    /// Busiest tables sent at most.
    pub tables_limit: u32,
    /// `SET LOCAL statement_timeout` of every refresh.
    pub statement_timeout: Duration,
    /// The pool's acquire (and connect) timeout.
    pub acquire_timeout: Duration,
    /// Pause between reconnect attempts (recovery within 2 s needs ≤ 1 s).
    pub retry: Duration,
}

impl PgConfig {
    /// Defaults for `url`: 1 s refresh, tables every 10 s (200 of them),
    /// 1 s statement timeout, 3 s acquire timeout, 1 s between retries.
    pub fn new(id: SourceId, url: &str) -> Self {
        Self {
            id,
            url: url.to_string(),
            poll: Pace::fixed(Duration::from_secs(1)),
            tables_every: Duration::from_secs(10),
            tables_limit: 200,
            statement_timeout: Duration::from_secs(1),
            acquire_timeout: Duration::from_secs(3),
            retry: Duration::from_secs(1),
        }
    }
}

/// Connection options from a URL (`sslmode`, `sslrootcert`, `PGPASSWORD`
/// and `~/.pgpass` as libpq reads them), naming the console
/// `application_name=heliostat`. No `extra_float_digits` startup parameter
/// and no statement cache: PgBouncer rejects the one and cannot keep the
/// other in transaction pooling. Every connection heliostat makes starts
/// here (the warm executor and the stats sink set their own
/// `application_name`; the sink turns its statement cache back on).
pub fn connect_options(url: &str) -> Result<PgConnectOptions, Fault> {
    let opts = PgConnectOptions::from_str(url).map_err(|e| {
        Fault::Config(format!(
            "bad Postgres URL {}: {}",
            redact_url(url),
            scrub(&e.to_string(), url)
        ))
    })?;
    Ok(tls_files(opts, url)?
        .application_name("heliostat")
        .extra_float_digits(None)
        .statement_cache_capacity(0))
}

/// The URL's (or `PGSSLROOTCERT`'s) TLS files, read here, capped and only
/// if they are regular files, then handed to sqlx as PEM: sqlx would read
/// whatever the path names, `/dev/zero` included, without a limit.
fn tls_files(mut opts: PgConnectOptions, url: &str) -> Result<PgConnectOptions, Fault> {
    if matches!(opts.get_ssl_mode(), sqlx::postgres::PgSslMode::Disable) {
        return Ok(opts);
    }
    let (mut ca, mut cert, mut key) = (std::env::var("PGSSLROOTCERT").ok(), None, None);
    if let Ok(u) = url::Url::parse(url) {
        for (k, v) in u.query_pairs() {
            match &*k {
                "sslrootcert" | "ssl-root-cert" | "ssl-ca" => ca = Some(v.into_owned()),
                "sslcert" | "ssl-cert" => cert = Some(v.into_owned()),
                "sslkey" | "ssl-key" => key = Some(v.into_owned()),
                _ => {}
            }
        }
    }
    let read = |what: &str, p: &str| {
        crate::files::read_capped(std::path::Path::new(p), crate::files::MAX_PEM_BYTES, "PEM")
            .map_err(|e| Fault::Config(format!("{what} {p}: {e}")))
    };
    if let Some(p) = ca.filter(|p| !p.is_empty()) {
        opts = opts.ssl_root_cert_from_pem(read("sslrootcert", &p)?);
    }
    if let Some(p) = cert {
        opts = opts.ssl_client_cert_from_pem(read("sslcert", &p)?);
    }
    if let Some(p) = key {
        opts = opts.ssl_client_key_from_pem(read("sslkey", &p)?);
    }
    Ok(opts)
}

/// Why a pool gave up waiting for a connection. sqlx's pool retries a
/// refused connection until its acquire timeout and then reports only that
/// it timed out; one direct attempt (at most `wait`) names the cause: the
/// connection refused, a failed login, TLS. Any other error is described
/// as it is.
pub async fn explain(e: &sqlx::Error, opts: &PgConnectOptions, wait: Duration) -> Fault {
    if !matches!(e, sqlx::Error::PoolTimedOut) {
        return fault(e);
    }
    match tokio::time::timeout(wait, opts.connect()).await {
        Err(_) => Fault::Timeout("timed out connecting".to_string()),
        Ok(Err(e)) => fault(&e),
        Ok(Ok(c)) => {
            let _ = c.close().await;
            fault(e)
        }
    }
}

/// [`explain`] for a pool's error, with the pool's own options and timeout.
pub async fn explain_pool(e: &sqlx::Error, pool: &PgPool) -> Fault {
    explain(
        e,
        &pool.connect_options(),
        pool.options().get_acquire_timeout(),
    )
    .await
}

/// `host:port/database` (or the socket directory), never a password.
pub fn display_name(opts: &PgConnectOptions) -> String {
    let host = match opts.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => format!("{}:{}", opts.get_host(), opts.get_port()),
    };
    match opts.get_database() {
        Some(db) => format!("{host}/{db}"),
        None => host,
    }
}

/// Start watching one endpoint; the task ends when the receiver goes away.
pub fn spawn_postgres(cfg: PgConfig, tx: mpsc::Sender<Vec<Sample>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run_endpoint(cfg, tx))
}

/// What the task remembers across reconnects.
#[derive(Debug)]
struct Run {
    generation: u32,
    kind: SourceKind,
    epoch: Option<u64>,
    size_bytes: u64,
}

/// Watch one endpoint until the receiver goes away: connect, refresh, and
/// on any failure report it and retry every `retry`.
pub async fn run_endpoint(cfg: PgConfig, tx: mpsc::Sender<Vec<Sample>>) {
    let out = crate::sources::Reporter::new(cfg.id, tx.clone());
    let send = |generation: u32, bodies: Vec<Body>| out.send(generation, bodies);
    let opts = connect_options(&cfg.url);
    let name = opts
        .as_ref()
        .map_or_else(|_| redact_url(&cfg.url), display_name);
    let mut run = Run {
        generation: 0,
        kind: SourceKind::PgPrimary,
        epoch: None,
        size_bytes: 0,
    };
    let hello = Body::Hello {
        name: name.clone(),
        kind: run.kind,
    };
    if !send(0, vec![hello]).await {
        return;
    }
    let opts = match opts {
        Ok(o) => o,
        Err(msg) => {
            let msg = msg.to_string();
            let _ = send(0, vec![Body::Status(SourceStatus::Error(msg))]).await;
            return;
        }
    };
    loop {
        let reason = match connect(&cfg, &opts).await {
            Ok((pool, probe)) => {
                run.generation += 1;
                run.epoch = None;
                tracing::info!(endpoint = %name, version = probe.version, "connected");
                if !send(run.generation, vec![Body::Status(SourceStatus::Connected)]).await {
                    return;
                }
                let outcome = poll_loop(&cfg, &pool, probe, &name, &mut run, &send).await;
                pool.close().await;
                match outcome {
                    Ok(()) => return,
                    Err(Stop::Unsupported(msg)) => {
                        let _ = send(run.generation, vec![Body::Status(SourceStatus::Error(msg))])
                            .await;
                        return;
                    }
                    Err(Stop::Failed(e)) => e,
                }
            }
            Err(e) => e,
        };
        tracing::warn!(endpoint = %name, error = %reason, "endpoint unavailable");
        let retry_at = wall_now().add_millis(i64::try_from(cfg.retry.as_millis()).unwrap_or(1000));
        let bodies = vec![
            Body::Health {
                ok: false,
                rtt_us: None,
            },
            Body::Status(SourceStatus::Retrying {
                at: retry_at,
                reason: reason.to_string(),
            }),
        ];
        if !send(run.generation, bodies).await {
            return;
        }
        tokio::time::sleep(cfg.retry).await;
    }
}

/// Why polling stopped.
#[derive(Debug)]
enum Stop {
    /// Retry: the reason for the status line.
    Failed(Fault),
    /// Never retry (a server too old).
    Unsupported(String),
}

/// A pool of 2 with the acquire timeout, and what the server is. When the
/// pool gives up (it retries refused connections until its timeout), one
/// direct attempt says why.
async fn connect(cfg: &PgConfig, opts: &PgConnectOptions) -> Result<(PgPool, Probe), Fault> {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .acquire_timeout(cfg.acquire_timeout)
        // The refresh itself finds a dead connection; a ping per acquire
        // would double the round trips.
        .test_before_acquire(false)
        .connect_with(opts.clone())
        .await;
    let pool = match pool {
        Ok(p) => p,
        Err(e) => return Err(explain(&e, opts, cfg.acquire_timeout).await),
    };
    let probe = sqlx::raw_sql(queries::PROBE_SQL)
        .fetch_one(&pool)
        .await
        .and_then(|row| {
            let v: i64 = row.try_get("v")?;
            let schema: Option<String> = row.try_get("pss_schema")?;
            let can_read: Option<bool> = row.try_get("can_read")?;
            let loaded: bool = row.try_get("pss_loaded")?;
            let can_read = can_read.unwrap_or(false);
            Ok(Probe {
                version: u32::try_from(v).unwrap_or(0),
                statements: queries::statements_access(schema.clone(), loaded, can_read),
                pss: (schema, loaded),
                can_read,
            })
        });
    match probe {
        Ok(p) => Ok((pool, p)),
        Err(e) => {
            pool.close().await;
            Err(fault(&e))
        }
    }
}

/// What a connection learnt about its server once.
#[derive(Debug)]
struct Probe {
    version: u32,
    /// The schema of `pg_stat_statements`, or why it cannot be read.
    statements: Result<String, String>,
    /// Where `pg_stat_statements` is installed, and whether it is loaded:
    /// access is decided again when the role's privileges change.
    pss: (Option<String>, bool),
    /// The role read every session and statement at connect.
    can_read: bool,
}

async fn poll_loop<F, Fut>(
    cfg: &PgConfig,
    pool: &PgPool,
    probe: Probe,
    name: &str,
    run: &mut Run,
    send: &F,
) -> Result<(), Stop>
where
    F: Fn(u32, Vec<Body>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let version = probe.version;
    let mut statements = probe.statements;
    let mut can_read = probe.can_read;
    let mut texts: HashMap<i64, String> = HashMap::new();
    let Some(tick_sql) = queries::tick_sql(version, cfg.statement_timeout) else {
        return Err(Stop::Unsupported(format!(
            "PostgreSQL {} is not supported (10 or later)",
            version / 10_000
        )));
    };
    let tables_sql = queries::tables_sql(cfg.tables_limit, cfg.statement_timeout);
    // A server that never answers still ends the refresh.
    let limit = cfg.statement_timeout + cfg.acquire_timeout;
    let mut tick = cfg.poll.ticker();
    let mut tables_due = Instant::now();
    let mut sessions_due = activity::ActivityReader::default();
    loop {
        tick.tick().await;
        let started = Instant::now();
        timed(limit, sqlx::raw_sql("SELECT 1").execute(pool)).await?;
        let rtt_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);

        let mut tables: Option<Vec<TableCounters>> = None;
        let mut extra: Option<Statements> = None;
        if Instant::now() >= tables_due {
            tables_due = Instant::now() + cfg.tables_every;
            let rows = timed(limit, sqlx::raw_sql(&tables_sql).fetch_all(pool)).await?;
            let (size, list) = queries::parse_tables(&rows).map_err(|e| Stop::Failed(fault(&e)))?;
            run.size_bytes = size;
            tables = Some(list);
            let st = read_statements(cfg, pool, version, &statements, &mut texts).await?;
            extra = Some(st);
        }
        let row = timed(limit, sqlx::raw_sql(&tick_sql).fetch_one(pool)).await?;
        let (recovery, stats) = queries::parse_tick(&row, version, run.size_bytes)
            .map_err(|e| Stop::Failed(fault(&e)))?;
        // Privileges are checked at every refresh, not only at connect: a
        // revoked CONNECT ends this connection now, so the reconnect shows
        // the server's refusal; a lost pg_read_all_stats is said at once.
        if !queries::may_connect(&row).map_err(|e| Stop::Failed(fault(&e)))? {
            return Err(Stop::Failed(Fault::Permission(
                "the role's CONNECT privilege on this database was revoked".to_string(),
            )));
        }
        let reads_all = queries::reads_all_stats(&row).map_err(|e| Stop::Failed(fault(&e)))?;
        if reads_all != can_read {
            tracing::warn!(endpoint = %name, reads_all, "the role's pg_read_all_stats changed");
            can_read = reads_all;
            statements = queries::statements_access(probe.pss.0.clone(), probe.pss.1, can_read);
        }

        let sessions = if sessions_due.due() {
            let read = activity::read(pool, cfg.statement_timeout);
            Some(timed(limit, read).await?)
        } else {
            None
        };

        let mut bodies = Vec::with_capacity(5);
        let kind = if recovery {
            SourceKind::PgReplica
        } else {
            SourceKind::PgPrimary
        };
        if kind != run.kind {
            tracing::info!(endpoint = %name, from = ?run.kind, to = ?kind, "role changed");
            run.kind = kind;
            bodies.push(Body::Hello {
                name: name.to_string(),
                kind,
            });
        }
        if run.epoch.is_some_and(|e| e != stats.epoch) {
            // `pg_stat_reset()` or a restart: table counters restart too.
            run.generation += 1;
        }
        run.epoch = Some(stats.epoch);
        bodies.push(Body::Health {
            ok: true,
            rtt_us: Some(rtt_us),
        });
        bodies.push(Body::Postgres(stats));
        if let Some(t) = tables {
            bodies.push(Body::Tables(t));
        }
        if let Some(st) = extra {
            bodies.push(Body::Statements(st));
        }
        bodies.extend(sessions.map(Body::PgSessions));
        if !send(run.generation, bodies).await {
            return Ok(());
        }
    }
}

/// Texts fetched for new statements at most per refresh.
const NEW_TEXTS: usize = 200;

/// Read `pg_stat_statements` when it can be: counters without texts, then
/// the texts of ids not seen before on this connection.
async fn read_statements(
    cfg: &PgConfig,
    pool: &PgPool,
    version: u32,
    access: &Result<String, String>,
    texts: &mut HashMap<i64, String>,
) -> Result<Statements, Stop> {
    let schema = match access {
        Ok(s) => s.clone(),
        Err(why) => {
            return Ok(Statements {
                unavailable: Some(why.clone()),
                rows: Vec::new(),
            });
        }
    };
    let limit = cfg.statement_timeout + cfg.acquire_timeout;
    let sql = queries::statements_sql(&schema, version, cfg.tables_limit, cfg.statement_timeout);
    let rows = timed(limit, sqlx::raw_sql(&sql).fetch_all(pool)).await?;
    let mut list = queries::parse_statements(&rows).map_err(|e| Stop::Failed(fault(&e)))?;
    let new: Vec<i64> = list
        .iter()
        .map(|s| s.queryid)
        .filter(|id| !texts.contains_key(id))
        .take(NEW_TEXTS)
        .collect();
    if !new.is_empty() {
        let sql = queries::texts_sql(&schema, &new, cfg.statement_timeout);
        let rows = timed(limit, sqlx::raw_sql(&sql).fetch_all(pool)).await?;
        let found = queries::parse_texts(&rows).map_err(|e| Stop::Failed(fault(&e)))?;
        texts.extend(found);
    }
    // Forget ids gone from the busiest list, so the map stays bounded.
    if texts.len() > 4 * NEW_TEXTS {
        let keep: std::collections::HashSet<i64> = list.iter().map(|s| s.queryid).collect();
        texts.retain(|id, _| keep.contains(id));
    }
    list.retain_mut(|s| match texts.get(&s.queryid) {
        Some(t) => {
            s.text.clone_from(t);
            true
        }
        None => false,
    });
    Ok(Statements {
        unavailable: None,
        rows: list,
    })
}

async fn timed<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, Stop> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Stop::Failed(fault(&e))),
        Err(_) => Err(Stop::Failed(Fault::Timeout("timed out".to_string()))),
    }
}

/// A short reason for the status line; never contains the URL's password.
pub fn fault(e: &sqlx::Error) -> Fault {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            let msg = clip(db.message(), 70);
            match code.as_ref() {
                "28P01" => Fault::Auth("authentication failed (wrong password)".to_string()),
                "28000" => Fault::Auth(format!("not authorized: {msg}")),
                "42501" if msg.starts_with("permission denied") => Fault::Permission(msg),
                "42501" => Fault::Permission(format!("permission denied: {msg}")),
                "57P01" | "57P02" | "57P03" => {
                    Fault::Closed(format!("server restarting ({code}): {msg}"))
                }
                "57014" => {
                    Fault::Timeout("statement timeout (a refresh took too long)".to_string())
                }
                "3D000" => Fault::Config(format!("no such database: {msg}")),
                _ => Fault::Server(format!("{code}: {msg}")),
            }
        }
        sqlx::Error::PoolTimedOut => {
            Fault::Timeout("timed out waiting for a connection".to_string())
        }
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                Fault::Refused("connection refused".to_string())
            }
            std::io::ErrorKind::TimedOut => Fault::Timeout("timed out".to_string()),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                Fault::Closed("connection closed by the server".to_string())
            }
            k => tls_or(Kind::from(k), &io.to_string()),
        },
        sqlx::Error::Tls(t) => Fault::Tls(format!("TLS: {}", clip(&t.to_string(), 90))),
        sqlx::Error::Configuration(c) => tls_or(Kind::Config, &c.to_string()),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::RowNotFound
        | sqlx::Error::Protocol(_) => tls_or(Kind::Protocol, &e.to_string()),
        other => tls_or(Kind::Io, &other.to_string()),
    }
}

/// [`fault`]'s reason.
pub fn describe(e: &sqlx::Error) -> String {
    fault(e).to_string()
}

/// A certificate problem says TLS (rustls reports it as an I/O error);
/// anything else is of `kind`.
fn tls_or(kind: Kind, text: &str) -> Fault {
    let lower = text.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        Fault::Tls(format!("TLS: {}", clip(text, 90)))
    } else {
        Fault::new(kind, clip(text, 80))
    }
}

fn clip(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_show_credentials_and_the_console_names_itself() {
        let o = connect_options("postgres://app:s3cret@db.example:6432/shop?sslmode=require");
        let o = o.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(display_name(&o), "db.example:6432/shop");
        assert_eq!(o.get_application_name(), Some("heliostat"));
        let bad = connect_options("postgres://app:s3cret@db/x?sslmode=sometimes");
        let msg = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.starts_with("bad Postgres URL"), "{msg}");
        assert!(!msg.contains("s3cret"), "{msg}");
    }

    #[test]
    fn io_errors_read_plainly() {
        let refused = sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert_eq!(describe(&refused), "connection refused");
        assert_eq!(
            describe(&sqlx::Error::PoolTimedOut),
            "timed out waiting for a connection"
        );
    }

    /// A server's error with a SQLSTATE, as sqlx hands it over.
    #[derive(Debug)]
    struct Db(&'static str, String);

    impl std::fmt::Display for Db {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.1)
        }
    }

    impl std::error::Error for Db {}

    impl sqlx::error::DatabaseError for Db {
        fn message(&self) -> &str {
            &self.1
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn db(code: &'static str, msg: &str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Db(code, msg.to_string())))
    }

    #[test]
    fn sqlstates_and_io_errors_map_to_kinds() {
        use crate::fault::Kind;
        let cases = [
            (
                db("28P01", "password authentication failed for user \"app\""),
                Kind::Auth,
            ),
            (db("28000", "no pg_hba.conf entry"), Kind::Auth),
            (
                db("42501", "permission denied for table users"),
                Kind::Permission,
            ),
            (
                db(
                    "57P01",
                    "terminating connection due to administrator command",
                ),
                Kind::Closed,
            ),
            (
                db("57014", "canceling statement due to statement timeout"),
                Kind::Timeout,
            ),
            (
                db("3D000", "database \"nope\" does not exist"),
                Kind::Config,
            ),
            (
                db("22P02", "invalid input syntax for type integer"),
                Kind::Server,
            ),
            (sqlx::Error::PoolTimedOut, Kind::Timeout),
            (
                sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
                Kind::Refused,
            ),
            (
                sqlx::Error::Io(std::io::ErrorKind::UnexpectedEof.into()),
                Kind::Closed,
            ),
            (
                sqlx::Error::Protocol("unexpected message".into()),
                Kind::Protocol,
            ),
            (sqlx::Error::RowNotFound, Kind::Protocol),
        ];
        for (e, kind) in cases {
            assert_eq!(fault(&e).kind(), kind, "{e}");
        }
        assert_eq!(
            fault(&db("42501", "permission denied for table users")).to_string(),
            "permission denied for table users"
        );
        assert_eq!(
            fault(&db("22P02", "invalid input syntax")).to_string(),
            "22P02: invalid input syntax"
        );
    }

    #[test]
    fn a_failed_login_and_a_bad_url_never_show_the_password() {
        let f = fault(&db(
            "28P01",
            "password authentication failed for user \"app\"",
        ));
        assert_eq!(f.to_string(), "authentication failed (wrong password)");
        for url in [
            "postgres://app:hunter2@db/x?sslmode=sometimes",
            "postgres://db/x?password=hunter2&sslmode=nope",
        ] {
            let e = connect_options(url)
                .err()
                .unwrap_or_else(|| panic!("{url} is refused"));
            assert_eq!(e.kind(), crate::fault::Kind::Config, "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }
}
