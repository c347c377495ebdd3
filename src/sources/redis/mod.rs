//! The Redis source: one task per node, each with its own connection, so a
//! slow or dead node never delays another node, or the UI.
//!
//! Per poll: one `PING` (the health check: its round trip is labelled as
//! such, never as command latency) and one `INFO`; every 5 s at most a
//! `CLIENT LIST` (`clients`) for the Sessions pane. The console names itself
//! (`CLIENT SETNAME heliostat`), asks for `CLIENT NO-TOUCH` (tried after
//! every connect, kept where the server accepts it), never sends `KEYS` or
//! `MONITOR`, and subtracts its own commands from the command rate.
//!
//! `url` parses URLs; `endpoint` connects (TLS, unix sockets, Sentinel,
//! auth) and asks the server what it is (`HELLO`, `INFO`); `launch` decides
//! per configured URL whether it is one node, a Sentinel service or a Redis
//! Cluster (then `cluster` discovers and follows the nodes, each polled by
//! its own `run_node`); `sentinel` finds and follows a service's master.

pub mod clients;
pub mod cluster;
pub mod diag;
pub mod endpoint;
pub mod info;
pub mod keyevents;
pub mod launch;
pub mod registry;
pub mod sampler;
mod sentinel;
pub mod url;
pub mod valkey;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use tokio::sync::{Notify, mpsc};

use crate::fault::Fault;
use crate::redact::redact_url;
use crate::sample::{Body, RedisRole, RedisStats, Sample, SourceId, SourceKind, SourceStatus};
pub use crate::sources::clock::wall_now;
use crate::sources::pace::Pace;
use endpoint::Endpoint;
use info::Info;
pub use launch::{LaunchOptions, SourceIds, launch};

/// How one node is polled.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Source id in the app's table.
    pub id: SourceId,
    /// `redis://…` URL (may hold a password: never shown or logged as is).
    pub url: String,
    /// Poll interval (follows the console's `+` / `-`).
    pub poll: Pace,
    /// Connect and response timeout.
    pub timeout: Duration,
    /// Pause between reconnect attempts (recovery within 2 s needs ≤ 1 s).
    pub retry: Duration,
    /// Listen to keyspace notifications (`--key-events`): misses, expiries, evictions.
    pub key_events: bool,
    /// Display name; `None`: from the URL ([`display_name`]).
    pub name: Option<String>,
    /// Connect here instead of the URL's host and port, with the URL's
    /// credentials and TLS settings (a node found by cluster discovery).
    pub addr: Option<(String, u16)>,
    /// Told whenever this node's connection fails, so a topology
    /// supervisor looks again at once (a failover, a node gone).
    pub topology: Option<Arc<Notify>>,
    /// The key sampler (budget 0 = no sampler).
    pub sampler: sampler::SamplerConfig,
    /// Where the console remembers how to reach this node again (for the
    /// Sessions pane's `CLIENT KILL`); `None`: nowhere.
    pub registry: Option<registry::Registry>,
}

impl NodeConfig {
    /// Defaults for `url`: 1 s polls, 1 s timeouts, 1 s between retries.
    pub fn new(id: SourceId, url: &str) -> Self {
        Self {
            id,
            url: url.to_string(),
            poll: Pace::fixed(Duration::from_secs(1)),
            timeout: Duration::from_secs(1),
            retry: Duration::from_secs(1),
            key_events: false,
            name: None,
            addr: None,
            topology: None,
            sampler: sampler::SamplerConfig::default(),
            registry: None,
        }
    }

    /// The node is whichever a Sentinel names master: a node that turns
    /// into a replica (a failover) means asking the Sentinels again.
    pub fn follows_master(&self) -> bool {
        let scheme = self.url.split_once("://").map_or("", |(s, _)| s);
        scheme.eq_ignore_ascii_case("redis+sentinel")
            || scheme.eq_ignore_ascii_case("rediss+sentinel")
    }
}

/// `host:port` of a URL (the socket path of a unix URL, `SERVICE
/// (sentinel)` of a Sentinel URL), without scheme, user or password.
pub fn display_name(url: &str) -> String {
    if let Ok(ep) = Endpoint::parse(url) {
        return ep.display_name();
    }
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let host = rest.split(['/', '?']).next().unwrap_or(rest);
    if host.is_empty() {
        redact_url(url)
    } else {
        host.to_string()
    }
}

/// Commands the console sends per poll (PING + INFO).
const OWN_PER_POLL: u64 = 2;

/// What the console itself sent one node, shared by that node's tasks (the
/// poller, the key sampler): monotonic for the console's run, so the app can
/// take it out of the node's figures (the observer effect).
#[derive(Debug, Default)]
pub struct OwnLoad {
    commands: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Read-held by a task from sending commands until they are counted,
    /// write-held by the poller around `INFO`: the totals it reads then
    /// match what that `INFO` saw exactly, even with a batch in flight.
    gate: tokio::sync::RwLock<()>,
    /// Of `commands`, the key sampler's.
    sampler: AtomicU64,
    /// The node's command rate as the poller reads it (the sampler's
    /// budget follows it).
    rate: std::sync::Mutex<sampler::budget::NodeRate>,
    /// Start of the clock `rate` is read on.
    epoch: std::sync::OnceLock<Instant>,
}

impl OwnLoad {
    /// Count `commands` sent, of which `hits` and `misses` were keyspace
    /// lookups the server counts in `keyspace_hits` / `keyspace_misses`.
    pub fn add(&self, commands: u64, hits: u64, misses: u64) {
        self.commands.fetch_add(commands, Ordering::Relaxed);
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses.fetch_add(misses, Ordering::Relaxed);
    }

    /// Count what the key sampler sent, as [`OwnLoad::add`] does; also kept
    /// apart, so the sampler's budget can leave room for the rest.
    pub fn add_sampler(&self, commands: u64, hits: u64, misses: u64) {
        self.sampler.fetch_add(commands, Ordering::Relaxed);
        self.add(commands, hits, misses);
    }

    /// The poller read `total_commands_processed` (`total`) while the own
    /// totals were settled: update the node's rate.
    pub fn observe_node(&self, total: u64) {
        let secs = self.epoch.get_or_init(Instant::now).elapsed().as_secs_f64();
        let console = self.commands.load(Ordering::Relaxed);
        let sampler = self.sampler.load(Ordering::Relaxed);
        if let Ok(mut r) = self.rate.lock() {
            r.observe(secs, total, console, sampler);
        }
    }

    /// The node's rate so far (commands/s for everyone but the console, and
    /// the console's besides the sampler).
    pub fn node_rate(&self) -> sampler::budget::NodeRate {
        self.rate.lock().map(|r| *r).unwrap_or_default()
    }

    /// Hold while this task's commands are in flight and not yet counted
    /// (one round trip; never across a sleep).
    pub async fn in_flight(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.gate.read().await
    }

    /// Hold around reading the server's counters: waits for in-flight
    /// batches to be counted, and keeps new ones from starting.
    pub async fn settled(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.gate.write().await
    }

    /// `(commands, hits, misses)` so far.
    pub fn totals(&self) -> (u64, u64, u64) {
        (
            self.commands.load(Ordering::Relaxed),
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

/// The tasks watching one node; dropping this does not stop them, `abort` does
/// (a node that left a cluster).
#[derive(Debug)]
pub struct NodeTasks {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    own: Arc<OwnLoad>,
}

impl NodeTasks {
    /// Stop every task of the node.
    pub fn abort(&self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }

    /// Stop every task and wait until they are gone, so none sends another
    /// sample after this returns.
    pub async fn stop(self) {
        self.abort();
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// The node's own-load counter, for commands other tasks (the topology
    /// supervisor) send it.
    pub fn own(&self) -> &Arc<OwnLoad> {
        &self.own
    }
}

/// Start watching one node: its poller (and, sharing its [`OwnLoad`], any
/// other per-node task), each with its own connection.
pub fn spawn_node(cfg: NodeConfig, tx: mpsc::Sender<Vec<Sample>>) -> NodeTasks {
    if let Some(r) = &cfg.registry {
        r.add_redis(&cfg);
    }
    let own = Arc::new(OwnLoad::default());
    let mut tasks = Vec::with_capacity(3);
    if cfg.sampler.budget > 0 {
        tasks.push(tokio::spawn(sampler::run_sampler(
            cfg.clone(),
            own.clone(),
            tx.clone(),
        )));
    }
    if cfg.key_events {
        tasks.push(tokio::spawn(keyevents::run_key_events(
            cfg.clone(),
            Arc::clone(&own),
            tx.clone(),
        )));
    }
    tasks.push(tokio::spawn(run_node(cfg, own.clone(), tx)));
    NodeTasks { tasks, own }
}

/// Poll one node until the receiver goes away: connect, poll, and on any
/// failure report it and retry every `retry`. `own` is shared with the
/// node's other tasks.
pub async fn run_node(cfg: NodeConfig, own: Arc<OwnLoad>, tx: mpsc::Sender<Vec<Sample>>) {
    let name = cfg.name.clone().unwrap_or_else(|| display_name(&cfg.url));
    let mut generation = 0u32;
    let out = crate::sources::Reporter::new(cfg.id, tx.clone());
    let send = |generation: u32, bodies: Vec<Body>| out.send(generation, bodies);
    if !send(
        0,
        vec![Body::Hello {
            name: name.clone(),
            kind: SourceKind::Redis,
        }],
    )
    .await
    {
        return;
    }
    let ep = match Endpoint::parse(&cfg.url) {
        Ok(ep) => ep,
        Err(e) => {
            let msg = format!("bad Redis URL {}: {e}", redact_url(&cfg.url));
            let _ = send(0, vec![Body::Status(SourceStatus::Error(msg))]).await;
            return;
        }
    };
    let mut diag = diag::Diag::default();
    let mut uptime = Uptime::default();
    loop {
        let reason = match connect(&cfg, &own).await {
            Ok((mut conn, server)) => {
                generation += 1;
                diag.offer(valkey::Offers::of(&server));
                if !send(generation, vec![Body::Status(SourceStatus::Connected)]).await {
                    return;
                }
                let polled = poll_loop(
                    &cfg,
                    &mut conn,
                    &own,
                    (&mut diag, &mut uptime),
                    generation,
                    &send,
                );
                let outcome = if ep.is_sentinel() && cfg.addr.is_none() {
                    // Leave a master the Sentinels no longer name, at once.
                    let moved =
                        sentinel::until_moved(&ep, &server.addr, cfg.poll.every(), cfg.timeout);
                    tokio::select! {
                        r = polled => r,
                        why = moved => Err(why),
                    }
                } else {
                    polled.await
                };
                match outcome {
                    Ok(()) => return,
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        tracing::warn!(node = %name, error = %reason, "node unavailable");
        if let Some(n) = &cfg.topology {
            n.notify_one();
        }
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
        if !send(generation, bodies).await {
            return;
        }
        tokio::time::sleep(cfg.retry).await;
    }
}

async fn connect(
    cfg: &NodeConfig,
    own: &OwnLoad,
) -> Result<(MultiplexedConnection, endpoint::Server), Fault> {
    let (conn, server) = endpoint::connect(cfg).await?;
    own.add(server.commands, 0, 0);
    tracing::info!(
        node = %cfg.name.clone().unwrap_or_else(|| display_name(&cfg.url)),
        addr = %server.addr,
        server = %server.software,
        version = %server.version,
        mode = ?server.mode,
        role = ?server.role,
        hello = server.hello,
        no_touch = server.no_touch,
        "connected"
    );
    Ok((conn, server))
}

async fn poll_loop<F, Fut>(
    cfg: &NodeConfig,
    conn: &mut MultiplexedConnection,
    own: &OwnLoad,
    (diag, uptime): (&mut diag::Diag, &mut Uptime),
    generation: u32,
    send: &F,
) -> Result<(), Fault>
where
    F: Fn(u32, Vec<Body>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut tick = cfg.poll.ticker();
    let mut clients = clients::ClientsReader::default();
    loop {
        tick.tick().await;
        let started = Instant::now();
        let _: String = redis::cmd("PING")
            .query_async(conn)
            .await
            .map_err(|e| fault(&e))?;
        let rtt_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        // Wait for the node's other tasks to count what they have in
        // flight, so the own totals match this INFO exactly.
        let settled = own.settled().await;
        // `all`: the default sections plus commandstats and latencystats.
        let text: String = redis::cmd("INFO")
            .arg("all")
            .query_async(conn)
            .await
            .map_err(|e| fault(&e))?;
        let info = Info::parse(&text);
        own.add(OWN_PER_POLL, 0, 0);
        // Read before the diagnostics below: this INFO has not seen them.
        let (own_commands, own_hits, own_misses) = own.totals();
        own.observe_node(info.commands);
        drop(settled);
        if cfg.follows_master() && info.redis_role() == Some(RedisRole::Replica) {
            return Err(Fault::Server(
                "no longer the master (failover): asking Sentinel again".into(),
            ));
        }
        let run = uptime.run(&info);
        let extra = diag.poll(conn, run, own).await.map_err(|e| fault(&e))?;
        let listed = clients
            .poll(conn, own, info.connected_clients)
            .await
            .map_err(|e| fault(&e))?;

        let mut commandstats: Vec<(String, u64, u64)> = info
            .commandstats
            .iter()
            .map(|(k, &(c, us))| (k.clone(), c, us))
            .collect();
        commandstats.sort_unstable();
        let mut latencystats: Vec<(String, [u64; 3])> = info
            .latencystats
            .iter()
            .map(|(k, &p)| (k.clone(), p))
            .collect();
        latencystats.sort_unstable();
        let stats = RedisStats {
            run_id: run,
            keyspace_hits: info.keyspace_hits,
            keyspace_misses: info.keyspace_misses,
            commands: info.commands,
            evicted_keys: info.evicted_keys,
            expired_keys: info.expired_keys,
            used_memory: info.used_memory,
            maxmemory: info.maxmemory,
            connected_clients: info.connected_clients,
            keys: info.keys,
            used_memory_rss: info.used_memory_rss,
            fragmentation_milli: info
                .fragmentation
                .map(|f| (f * 1000.0).round().clamp(0.0, f64::from(u32::MAX)) as u32),
            blocked_clients: info.blocked_clients,
            rejected_connections: info.rejected_connections,
            master_link_up: info.master_link_up,
            role: info.redis_role(),
            own_commands,
            own_hits,
            own_misses,
            uptime_s: info.uptime_s,
            commandstats,
            latencystats,
            commands_dropped: info.commands_dropped,
            replicas: u32::try_from(info.replica_offsets.len()).unwrap_or(u32::MAX),
            replica_lag_bytes: info.replica_lag_bytes(),
        };
        let mut bodies = vec![
            Body::Health {
                ok: true,
                rtt_us: Some(rtt_us),
            },
            Body::Redis(stats),
        ];
        bodies.extend(extra);
        bodies.extend(listed.map(Body::RedisClients));
        if !send(generation, bodies).await {
            return Ok(());
        }
    }
}

/// Which run of the server the figures belong to: a new `run_id`, or an
/// uptime that went backwards under the same one, starts a new run (the app
/// shows a gap and takes a new baseline instead of a spike).
#[derive(Debug, Default)]
struct Uptime {
    run_id: u64,
    uptime_s: u64,
    restarts: u64,
}

impl Uptime {
    fn run(&mut self, info: &Info) -> u64 {
        if info.run_id == self.run_id && info.uptime_s < self.uptime_s {
            self.restarts += 1;
        }
        self.run_id = info.run_id;
        self.uptime_s = info.uptime_s;
        info.run_id ^ self.restarts
    }
}

/// What kind of failure `e` is, with a short reason for the status line
/// (never the URL's password: the client library keeps only that AUTH was
/// refused, and server replies are the server's words about a command).
pub fn fault(e: &redis::RedisError) -> Fault {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let code = e.code();
    if e.is_timeout() {
        Fault::Timeout("timed out".to_string())
    } else if e.is_connection_refusal() {
        Fault::Refused("connection refused".to_string())
    } else if code == Some("NOAUTH") || text.contains("NOAUTH") {
        Fault::Auth("authentication failed: the server asks for a password (NOAUTH)".to_string())
    } else if e.kind() == redis::ErrorKind::AuthenticationFailed
        || code == Some("WRONGPASS")
        || text.contains("WRONGPASS")
    {
        Fault::Auth("authentication failed: wrong user or password (WRONGPASS)".to_string())
    } else if code == Some("NOPERM") || lower.contains("noperm") {
        let words = e.detail().map_or(text.as_str(), str::trim);
        Fault::Permission(format!("permission denied (ACL): {}", clip(words, 90)))
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        Fault::Tls(format!("TLS: {}", clip(&text, 90)))
    } else if lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
    {
        Fault::Refused("unknown host".to_string())
    } else if e.is_connection_dropped() {
        Fault::Closed(clip(&text, 80))
    } else if code.is_some() {
        Fault::Server(clip(&text, 80))
    } else if e.is_io_error() {
        Fault::Io(clip(&text, 80))
    } else {
        Fault::Protocol(clip(&text, 80))
    }
}

/// [`fault`]'s reason.
pub(crate) fn describe(e: &redis::RedisError) -> String {
    fault(e).to_string()
}

fn clip(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_timed_out_connections_read_plainly() {
        let refused =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(describe(&refused), "connection refused");
        let timeout = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert_eq!(describe(&timeout), "timed out");
        let auth = redis::RedisError::from((
            redis::ErrorKind::AuthenticationFailed,
            "Password authentication failed",
        ));
        assert_eq!(
            describe(&auth),
            "authentication failed: wrong user or password (WRONGPASS)"
        );
    }

    #[test]
    fn redis_errors_map_to_kinds() {
        use crate::fault::Kind;
        use redis::{ErrorKind as E, ServerErrorKind as S};
        let io = |k| redis::RedisError::from(std::io::Error::from(k));
        let server = |k, code: &'static str, detail: &str| {
            redis::RedisError::from((E::Server(k), code, detail.to_string()))
        };
        let cases = [
            (io(std::io::ErrorKind::ConnectionRefused), Kind::Refused),
            (io(std::io::ErrorKind::TimedOut), Kind::Timeout),
            (io(std::io::ErrorKind::ConnectionReset), Kind::Closed),
            (io(std::io::ErrorKind::PermissionDenied), Kind::Io),
            (
                redis::RedisError::from((E::AuthenticationFailed, "auth")),
                Kind::Auth,
            ),
            (
                server(
                    S::NoPerm,
                    "NOPERM",
                    "User u has no permissions to run the 'info' command",
                ),
                Kind::Permission,
            ),
            (
                server(
                    S::ReadOnly,
                    "READONLY",
                    "You can't write against a read only replica.",
                ),
                Kind::Server,
            ),
            (
                redis::RedisError::from((E::UnexpectedReturnType, "wanted a string")),
                Kind::Protocol,
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(fault(&e).kind(), kind, "{e}");
        }
        let noperm = fault(&server(S::NoPerm, "NOPERM", "no permissions to run 'scan'"));
        assert_eq!(
            noperm.to_string(),
            "permission denied (ACL): no permissions to run 'scan'"
        );
    }

    #[test]
    fn a_refused_password_is_never_shown() {
        let e = redis::RedisError::from((
            redis::ErrorKind::AuthenticationFailed,
            "Password authentication failed",
            "password hunter2 refused".to_string(),
        ));
        let f = fault(&e);
        assert_eq!(f.kind(), crate::fault::Kind::Auth);
        assert!(!f.to_string().contains("hunter2"), "{f}");
    }

    #[test]
    fn display_names_never_show_credentials() {
        assert_eq!(
            display_name("redis://:secret@cache-1:6379/0"),
            "cache-1:6379"
        );
        assert_eq!(display_name("rediss://user:pw@h:6380"), "h:6380");
        assert_eq!(display_name("redis://127.0.0.1:7000"), "127.0.0.1:7000");
        assert_eq!(
            display_name("unix:///run/redis.sock?pass=pw"),
            "/run/redis.sock"
        );
        assert_eq!(
            display_name("redis+sentinel://:pw@s1,s2/cache"),
            "cache (sentinel)"
        );
    }
}
