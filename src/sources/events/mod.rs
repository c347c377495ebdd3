//! The access-event stream reader (`--events STREAM`): applications or
//! proxies `XADD` one entry per cache access (schema in `docs/EVENTS.md`);
//! this task reads them with plain `XREAD` from the last id it saw, so any
//! number of consoles each see every event with a read-only account, and
//! nothing is acknowledged or deleted.
//!
//! It has its own connection: a blocking read never delays a node's health
//! check. Events are folded into aggregates and flushed to the app about
//! four times a second.

pub mod agg;
pub mod emit;
pub mod schema;
pub mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use tokio::sync::mpsc;

use crate::fault::{Fault, Kind};
use crate::redact::redact_url;
use crate::sample::{Body, Sample, SourceId, SourceKind, SourceStatus};
use crate::sources::clock::wall_now;
use crate::sources::redis::endpoint::node_client;
use crate::sources::redis::info::Info;
use crate::sources::redis::{NodeConfig, display_name, fault};
use agg::Aggregator;
use schema::EventRef;
use wire::{Cursor, Part, Wire};

/// How the stream is read.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// Source id in the app's table.
    pub id: SourceId,
    /// Redis holding the stream (may hold a password: never shown as is).
    pub url: String,
    /// Stream key.
    pub stream: String,
    /// Read the entries already in the stream first (else only new ones).
    pub from_start: bool,
    /// Entries per `XREAD`.
    pub batch: usize,
    /// Longest `XREAD … BLOCK` when idle.
    pub block: Duration,
    /// Aggregates are handed to the app at least this often while events flow.
    pub flush: Duration,
    /// Connect timeout, and response timeout on top of the block time.
    pub timeout: Duration,
    /// Pause between reconnect attempts.
    pub retry: Duration,
    /// Key prefix delimiter: a key-only event counts for its key's prefix
    /// row, grouped as the key sampler groups keys.
    pub delimiter: String,
}

impl EventsConfig {
    /// Defaults: new entries only, 10 000 per read, flush every 250 ms,
    /// blocking at most 500 ms (so the figures go out every second even
    /// when nothing arrives).
    pub fn new(id: SourceId, url: &str, stream: &str) -> Self {
        Self {
            id,
            url: url.to_string(),
            stream: stream.to_string(),
            from_start: false,
            batch: 10_000,
            block: Duration::from_millis(500),
            flush: Duration::from_millis(250),
            timeout: Duration::from_secs(1),
            retry: Duration::from_secs(1),
            delimiter: crate::engines::keyspace::DEFAULT_DELIMITER.to_string(),
        }
    }
}

/// Read the stream until the receiver goes away, reconnecting after
/// failures without losing the position (entries still in the stream are
/// read after a reconnect).
pub async fn run_events(cfg: EventsConfig, tx: mpsc::Sender<Vec<Sample>>) {
    let mut generation = 0u32;
    let out = crate::sources::Reporter::new(cfg.id, tx.clone());
    let send = |generation: u32, bodies: Vec<Body>| out.send(generation, bodies);
    let hello = Body::Hello {
        name: format!("events {}", cfg.stream),
        kind: SourceKind::Events,
    };
    if !send(0, vec![hello]).await {
        return;
    }
    let mut agg = Aggregator::with_delimiter(&cfg.delimiter);
    let mut last: Option<String> = None;
    // Commands this reader sent the stream's server (its own load there).
    let sent = AtomicU64::new(0);
    loop {
        // Resolved on every attempt: TLS files, a unix socket, or the master a
        // Sentinel names now.
        let mut node = NodeConfig::new(cfg.id, &cfg.url);
        node.timeout = cfg.timeout;
        let client = match node_client(&node).await {
            Ok(c) => c,
            // A bad URL or an unreadable TLS file: trying again will not help.
            Err(e) if e.kind() == Kind::Config => {
                let msg = format!("{e} ({})", redact_url(&cfg.url));
                let _ = send(0, vec![Body::Status(SourceStatus::Error(msg))]).await;
                return;
            }
            Err(e) => {
                if !retry(&cfg, generation, e, &send).await {
                    return;
                }
                continue;
            }
        };
        // CLIENT SETNAME, INFO and (the first time) XREVRANGE.
        sent.fetch_add(
            2 + u64::from(last.is_none() && !cfg.from_start),
            Ordering::Relaxed,
        );
        let reason = match connect(&client, &cfg, &mut last).await {
            Ok((mut conn, run)) => {
                generation += 1;
                if !send(generation, vec![Body::Status(SourceStatus::Connected)]).await {
                    return;
                }
                let pos = last.get_or_insert_with(|| "0-0".to_string());
                // The reader waits while the app has more than a few
                // batches to catch up on, so the channel never holds more
                // than those few of its aggregates.
                let busy = || tx.max_capacity() - tx.capacity() > QUEUED_BATCHES;
                let server = (Some(display_name(&cfg.url)), run);
                let reading = Reading {
                    cfg: &cfg,
                    generation,
                    server,
                    sent: &sent,
                };
                match read_loop(&reading, &mut conn, pos, &mut agg, &send, busy).await {
                    Ok(()) => return,
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        if !retry(&cfg, generation, reason, &send).await {
            return;
        }
    }
}

/// Show the failure and its retry countdown, then wait; false when the app
/// has gone away.
async fn retry<F, Fut>(cfg: &EventsConfig, generation: u32, reason: Fault, send: &F) -> bool
where
    F: Fn(u32, Vec<Body>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tracing::warn!(stream = %cfg.stream, error = %reason, "event stream unavailable");
    let retry_at = wall_now().add_millis(i64::try_from(cfg.retry.as_millis()).unwrap_or(1000));
    let status = Body::Status(SourceStatus::Retrying {
        at: retry_at,
        reason: reason.to_string(),
    });
    if !send(generation, vec![status]).await {
        return false;
    }
    tokio::time::sleep(cfg.retry).await;
    true
}

/// The reader's connection: the in-place RESP reader for TCP and unix
/// sockets, the general client otherwise (TLS).
enum Conn {
    Wire(Wire),
    Client(MultiplexedConnection),
}

/// One connection's reading: the settings, its generation and the server
/// holding the stream (address, `run_id` hash when `INFO` is allowed).
struct Reading<'a> {
    cfg: &'a EventsConfig,
    generation: u32,
    server: (Option<String>, Option<u64>),
    /// Commands sent so far, across reconnects.
    sent: &'a AtomicU64,
}

/// The `run_id` hash of the server in an `INFO server` reply, as a node's
/// poller computes it: it tells which watched node holds the stream.
fn run_of(text: &str) -> Option<u64> {
    Some(Info::parse(text).run_id).filter(|&r| r != 0)
}

/// Connect and, the first time, find where to start: after the newest entry
/// (only new events) or at the beginning (catch up). Also returns the
/// server's `run_id` hash, when the ACL allows `INFO` (a courtesy).
async fn connect(
    client: &redis::Client,
    cfg: &EventsConfig,
    last: &mut Option<String>,
) -> Result<(Conn, Option<u64>), Fault> {
    let info = client.get_connection_info();
    let mut run = None;
    let mut conn = if wire::supports(info) {
        let mut w = Wire::connect(info, cfg.timeout).await?;
        // Naming is a courtesy: a restricted ACL may refuse it.
        let _ = w.simple(&["CLIENT", "SETNAME", "heliostat-events"]).await;
        let end = w.call(&["INFO", "server"], Duration::ZERO).await?;
        if let Some(Part::Str(text)) = Cursor::new(&w.reply()[..end]).next_part() {
            run = run_of(&String::from_utf8_lossy(text));
        }
        w.consume(end);
        Conn::Wire(w)
    } else {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(cfg.timeout))
            .set_response_timeout(Some(cfg.block + cfg.timeout));
        let mut c = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| describe(fault(&e), &cfg.stream))?;
        let _: Result<(), _> = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg("heliostat-events")
            .query_async(&mut c)
            .await;
        let text: Option<String> = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut c)
            .await
            .ok();
        run = text.as_deref().and_then(run_of);
        Conn::Client(c)
    };
    if last.is_none() && !cfg.from_start {
        let args = ["XREVRANGE", cfg.stream.as_str(), "+", "-", "COUNT", "1"];
        let newest = match &mut conn {
            Conn::Wire(w) => {
                let end = w.call(&args, Duration::ZERO).await?;
                let id = newest_id_wire(&w.reply()[..end]);
                w.consume(end);
                id.map_err(|e| describe(e, &cfg.stream))?
            }
            Conn::Client(c) => {
                let v: Value = redis::cmd(args[0])
                    .arg(&args[1..])
                    .query_async(c)
                    .await
                    .map_err(|e| describe(fault(&e), &cfg.stream))?;
                newest_id(&v)
            }
        };
        *last = Some(newest.unwrap_or_else(|| "0-0".to_string()));
    }
    Ok((conn, run))
}

fn newest_id(v: &Value) -> Option<String> {
    let Value::Array(entries) = v else {
        return None;
    };
    match entries.first()? {
        Value::Array(e) => match e.first()? {
            Value::BulkString(id) => String::from_utf8(id.clone()).ok(),
            _ => None,
        },
        _ => None,
    }
}

fn newest_id_wire(reply: &[u8]) -> Result<Option<String>, Fault> {
    let mut c = Cursor::new(reply);
    match c.next_part() {
        Some(Part::Error(e)) => Err(Fault::Server(String::from_utf8_lossy(e).into_owned())),
        Some(Part::Array(n)) if n > 0 => match (c.next_part(), c.next_part()) {
            (Some(Part::Array(_)), Some(Part::Str(id))) => {
                Ok(Some(String::from_utf8_lossy(id).into_owned()))
            }
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

async fn read_loop<F, Fut>(
    reading: &Reading<'_>,
    conn: &mut Conn,
    last: &mut String,
    agg: &mut Aggregator,
    send: &F,
    busy: impl Fn() -> bool,
) -> Result<(), Fault>
where
    F: Fn(u32, Vec<Body>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let (cfg, generation) = (reading.cfg, reading.generation);
    let mut last_flush = Instant::now();
    let mut stats_sent = Instant::now();
    let mut first = true;
    // Entries per read: fewer when entries are large, so one reply stays
    // near REPLY_BYTES (a reply is held whole while it is read).
    let mut batch = cfg.batch.max(1);
    loop {
        // The app is behind: leave the backlog in the stream (bounded by
        // its MAXLEN) rather than in this process, until it catches up.
        // Due at the interval, or before a read could overflow the
        // aggregator's caps (catching up on a backlog): flushing early
        // beats dropping key accesses.
        let due = |agg: &Aggregator, last: Instant, next: usize| {
            !agg.is_empty() && (last.elapsed() >= cfg.flush || agg.room() < next)
        };
        if due(agg, last_flush, batch) && busy() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        // With aggregates waiting, block no longer than the flush deadline.
        let block = if agg.is_empty() {
            cfg.block
        } else {
            cfg.flush.saturating_sub(last_flush.elapsed())
        };
        let block_ms = u64::try_from(block.as_millis()).unwrap_or(1000).max(1);
        let (count, block_ms) = (batch.to_string(), block_ms.to_string());
        let read_before = agg.stats().read;
        let args = [
            "XREAD",
            "COUNT",
            &count,
            "BLOCK",
            &block_ms,
            "STREAMS",
            &cfg.stream,
            last.as_str(),
        ];
        reading.sent.fetch_add(1, Ordering::Relaxed);
        let bytes = match conn {
            Conn::Wire(w) => {
                let end = w.call(&args, block).await?;
                let out = ingest_wire(&w.reply()[..end], last, agg);
                w.consume(end);
                out.map_err(|e| describe(e, &cfg.stream))?;
                end
            }
            Conn::Client(c) => {
                let reply: Value = redis::cmd("XREAD")
                    .arg(&args[1..])
                    .query_async(c)
                    .await
                    .map_err(|e| describe(fault(&e), &cfg.stream))?;
                ingest(&reply, last, agg);
                value_bytes(&reply)
            }
        };
        batch = next_batch(cfg.batch, bytes, agg.stats().read - read_before, batch);
        if agg.is_empty() {
            last_flush = Instant::now();
        }
        let flush_due = due(agg, last_flush, batch);
        // The figures go out every second also when nothing arrived: the
        // rate then reads 0, and a reader that stopped reporting is stale.
        let stats_due = first || stats_sent.elapsed() >= Duration::from_secs(1);
        if flush_due || stats_due {
            first = false;
            let mut bodies = Vec::with_capacity(3);
            if flush_due {
                let f = agg.flush();
                last_flush = Instant::now();
                if !f.accesses.is_empty() {
                    bodies.push(Body::Accesses(f.accesses));
                }
                if !f.keys.is_empty() {
                    bodies.push(Body::KeyAccesses(f.keys));
                }
            }
            let mut stats = agg.stats().clone();
            (stats.node, stats.node_run) = reading.server.clone();
            stats.commands = reading.sent.load(Ordering::Relaxed);
            bodies.push(Body::Stream(stats));
            stats_sent = Instant::now();
            if !send(generation, bodies).await {
                return Ok(());
            }
        }
    }
}

/// Batches of samples (from any source) the app may have queued for the
/// reader to hand it more aggregates; beyond, it stops reading until the
/// app catches up.
pub const QUEUED_BATCHES: usize = 8;

/// Bytes an `XREAD` reply aims at: entries per read shrink when they are
/// large (a 1 MB entry is read 16 at a time, not 10 000).
pub const REPLY_BYTES: usize = 16 << 20;

/// Entries to ask for next: as many as fit [`REPLY_BYTES`] at the size the
/// last reply's entries had, between 1 and `max`; unchanged after an
/// empty reply.
pub fn next_batch(max: usize, bytes: usize, entries: u64, current: usize) -> usize {
    let Some(per) = usize::try_from(entries)
        .ok()
        .filter(|&n| n > 0)
        .map(|n| (bytes / n).max(1))
    else {
        return current;
    };
    (REPLY_BYTES / per).clamp(1, max.max(1))
}

/// Bytes of the strings in a reply (what the general client held).
fn value_bytes(v: &Value) -> usize {
    match v {
        Value::BulkString(b) => b.len(),
        Value::Array(a) => a.iter().map(value_bytes).sum(),
        _ => 0,
    }
}

/// Fold an `XREAD` reply into the aggregates and move `last` to its newest id.
pub fn ingest(reply: &Value, last: &mut String, agg: &mut Aggregator) {
    // RESP2: [[stream, [[id, [f, v, …]], …]]]; nil when the block timed out.
    let Value::Array(streams) = reply else {
        return;
    };
    for s in streams {
        let Value::Array(parts) = s else { continue };
        let Some(Value::Array(entries)) = parts.get(1) else {
            continue;
        };
        for entry in entries {
            let Value::Array(e) = entry else { continue };
            let (Some(Value::BulkString(id)), fields) = (e.first(), e.get(1)) else {
                continue;
            };
            let id = String::from_utf8_lossy(id);
            let parsed = match fields {
                Some(Value::Array(kv)) => EventRef::parse(pairs(kv)),
                _ => Err(schema::Malformed::Shape),
            };
            agg.add(&id, parsed);
            last.clear();
            last.push_str(&id);
        }
    }
    if let Some(ms) = last
        .split_once('-')
        .and_then(|(ms, _)| ms.parse::<i64>().ok())
    {
        agg.set_lag(wall_now().as_millis() - ms);
    }
}

/// Fold an `XREAD` reply read in place (see [`wire`]) into the aggregates.
pub fn ingest_wire(reply: &[u8], last: &mut String, agg: &mut Aggregator) -> Result<(), Fault> {
    let mut c = Cursor::new(reply);
    let streams = match c.next_part() {
        Some(Part::Array(n)) => n,
        Some(Part::Error(e)) => return Err(Fault::Server(String::from_utf8_lossy(e).into_owned())),
        _ => return Ok(()),
    };
    let mut pairs: Vec<(&[u8], &[u8])> = Vec::with_capacity(16);
    for _ in 0..streams {
        let (Some(Part::Array(2)), Some(Part::Str(_)), Some(Part::Array(entries))) =
            (c.next_part(), c.next_part(), c.next_part())
        else {
            return Err(Fault::Protocol("unexpected XREAD reply".into()));
        };
        for _ in 0..entries {
            let (Some(Part::Array(2)), Some(Part::Str(id))) = (c.next_part(), c.next_part()) else {
                return Err(Fault::Protocol("unexpected XREAD entry".into()));
            };
            let id = std::str::from_utf8(id).unwrap_or("?");
            pairs.clear();
            let parsed = match c.next_part() {
                Some(Part::Array(n)) => {
                    let mut shape_ok = n % 2 == 0;
                    for _ in 0..n / 2 {
                        match (c.next_part(), c.next_part()) {
                            (Some(Part::Str(f)), Some(Part::Str(v))) => pairs.push((f, v)),
                            _ => shape_ok = false,
                        }
                    }
                    if n % 2 == 1 {
                        c.skip();
                    }
                    if shape_ok {
                        EventRef::parse(pairs.iter().copied())
                    } else {
                        Err(schema::Malformed::Shape)
                    }
                }
                _ => Err(schema::Malformed::Shape),
            };
            agg.add(id, parsed);
            last.clear();
            last.push_str(id);
        }
    }
    if let Some(ms) = last
        .split_once('-')
        .and_then(|(ms, _)| ms.parse::<i64>().ok())
    {
        agg.set_lag(wall_now().as_millis() - ms);
    }
    Ok(())
}

fn pairs(kv: &[Value]) -> impl Iterator<Item = (&[u8], &[u8])> {
    kv.chunks_exact(2).filter_map(|p| match (&p[0], &p[1]) {
        (Value::BulkString(f), Value::BulkString(v)) => Some((f.as_slice(), v.as_slice())),
        _ => None,
    })
}

/// The reader's words for a failure, by kind: a refusal names the
/// stream and the ACL rights reading it needs.
fn describe(f: Fault, stream: &str) -> Fault {
    let clip = |r: &str, n: usize| r.chars().take(n).collect::<String>();
    let server_code = |code: &str| f.kind() == Kind::Server && f.reason().starts_with(code);
    match f.kind() {
        Kind::Timeout => Fault::Timeout("timed out".to_string()),
        Kind::Refused if f.reason().eq_ignore_ascii_case("connection refused") => f,
        Kind::Refused if f.reason().contains("Connection refused") => {
            Fault::Refused("connection refused".to_string())
        }
        Kind::Auth if f.reason().starts_with("authentication failed") => {
            Fault::Auth(clip(f.reason(), 100))
        }
        Kind::Auth => Fault::Auth("authentication failed".to_string()),
        _ if server_code("NOAUTH") || server_code("WRONGPASS") => {
            Fault::Auth("authentication failed".to_string())
        }
        _ if f.reason().contains("WRONGTYPE") => {
            Fault::Protocol(format!("{stream} is not a stream"))
        }
        Kind::Permission => Fault::Permission(format!(
            "no permission to read {stream} (needs +xread +xrevrange)"
        )),
        _ if server_code("NOPERM") => Fault::Permission(format!(
            "no permission to read {stream} (needs +xread +xrevrange)"
        )),
        _ => {
            let kind = f.kind();
            Fault::new(kind, clip(f.reason(), 80))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn an_xread_reply_is_folded_and_the_position_moves() {
        let entry = |id: &str, kv: &[&str]| {
            Value::Array(vec![
                bulk(id),
                Value::Array(kv.iter().map(|s| bulk(s)).collect()),
            ])
        };
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("ev"),
            Value::Array(vec![
                entry("5-0", &["table", "users", "hit", "1"]),
                entry("5-1", &["hit", "maybe", "table", "users"]),
                entry("6-0", &["table", "users", "hit", "0", "dangling"]),
                Value::Array(vec![bulk("7-0"), Value::Nil]),
            ]),
        ])]);
        let mut last = "0-0".to_string();
        let mut agg = Aggregator::new();
        ingest(&reply, &mut last, &mut agg);
        assert_eq!(last, "7-0");
        assert_eq!(agg.stats().read, 4);
        assert_eq!(agg.stats().malformed, 2);
        let f = agg.flush();
        assert_eq!((f.accesses[0].count, f.accesses[0].hits), (2, 1));
        ingest(&Value::Nil, &mut last, &mut agg);
        assert_eq!(last, "7-0", "a timed-out block changes nothing");
    }

    #[test]
    fn large_entries_are_read_fewer_at_a_time() {
        assert_eq!(next_batch(10_000, 2_000_000, 10_000, 10_000), 10_000);
        assert_eq!(
            next_batch(10_000, 16 << 20, 16, 10_000),
            16,
            "1 MiB entries"
        );
        assert_eq!(next_batch(10_000, 600 << 20, 1, 16), 1, "never below one");
        assert_eq!(
            next_batch(10_000, 0, 0, 16),
            16,
            "an empty reply says nothing"
        );
        assert_eq!(
            next_batch(10_000, 300, 3, 1),
            10_000,
            "small again: back up"
        );
    }

    #[test]
    fn the_newest_id_is_read_from_xrevrange() {
        let v = Value::Array(vec![Value::Array(vec![bulk("9-3"), Value::Array(vec![])])]);
        assert_eq!(newest_id(&v).as_deref(), Some("9-3"));
        assert_eq!(newest_id(&Value::Array(vec![])), None);
    }
}
