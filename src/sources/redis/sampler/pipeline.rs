//! The sampler's round trips and their exact cost to the server.
//!
//! Which commands the server counts, measured on Redis 7.0.15 (`INFO stats`
//! before and after each command, on an existing and a missing key; the
//! logic is the same in 6.x and 7.x: a command that runs is counted in
//! `total_commands_processed`, a lookup through `lookupKeyRead*` counts a
//! keyspace hit when the key exists and a miss when not):
//!
//! | command                      | counted | keyspace hit / miss                      | touches LRU/LFU (7.0) |
//! |------------------------------|---------|------------------------------------------|-----------------------|
//! | `SCAN`, `DBSIZE`, `INFO`     | yes     | none                                     | no                    |
//! | `CLIENT SETNAME`             | yes     | none                                     | no                    |
//! | `PTTL`                       | yes     | hit / miss (−2, expired keys included)   | no                    |
//! | `TYPE`                       | yes     | hit / miss (`none`)                      | no                    |
//! | `OBJECT FREQ` / `IDLETIME`   | yes     | hit / miss, also when it errors for the wrong policy | no        |
//! | `MEMORY USAGE … SAMPLES 5`   | yes     | none                                     | no                    |
//! | `STRLEN` `HLEN` `LLEN` `SCARD` `ZCARD` `XLEN` | yes | hit / miss, hit also on `WRONGTYPE` | **yes** (not with `CLIENT NO-TOUCH`, ≥ 7.2) |
//! | refused before running: `NOPERM` (ACL), unknown command or subcommand (`CLIENT NO-TOUCH` before 7.2, `CLIENT SETINFO` before 7.2), wrong arity | no | none | no |
//!
//! So a sampled key costs 3 lookups (PTTL, TYPE, OBJECT), 4 with its
//! length, each a hit unless the key vanished since `SCAN` returned it.

use redis::aio::MultiplexedConnection;
use redis::{Pipeline, Value};

use super::Probes;
use crate::engines::keyspace::{KeyHeat, KeyKind, SampledKey};
use crate::fault::Fault;
use crate::sources::redis::fault;

/// What one round trip cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Commands sent (what the budget pays for).
    pub sent: u64,
    /// Commands the server ran and counts in `total_commands_processed`.
    pub counted: u64,
    /// Keyspace hits they caused.
    pub hits: u64,
    /// Keyspace misses they caused.
    pub misses: u64,
}

impl Tally {
    /// Commands that look nothing up.
    pub fn plain(sent: u64, counted: u64) -> Self {
        Self {
            sent,
            counted,
            ..Self::default()
        }
    }

    fn lookup(&mut self, v: &Value, hit: bool) {
        if ran(v) {
            self.counted += 1;
            if hit {
                self.hits += 1;
            } else {
                self.misses += 1;
            }
        }
    }

    fn other(&mut self, v: &Value) {
        self.counted += u64::from(ran(v));
    }
}

/// Did the command run (and count)? Errors raised while running
/// (`WRONGTYPE`, `OBJECT FREQ` under the wrong policy) did; refusals before
/// running (ACL, unknown command or subcommand, arity, loading…) did not.
pub fn ran(v: &Value) -> bool {
    match v {
        Value::ServerError(e) => match e.code() {
            "WRONGTYPE" => true,
            "ERR" => !e.details().is_some_and(|d| {
                d.starts_with("unknown command")
                    || d.starts_with("unknown subcommand")
                    || d.starts_with("wrong number of arguments")
            }),
            _ => false,
        },
        _ => true,
    }
}

/// The ACL refuses the command itself (not just some keys): stop asking it.
fn command_refused(v: &Value) -> bool {
    matches!(v, Value::ServerError(e) if e.code() == "NOPERM"
        && e.details().is_some_and(|d| d.contains("run the")))
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::SimpleString(s) => Some(s),
        Value::BulkString(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// One `SCAN` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanStep {
    /// Cursor for the next step; 0 ends the pass.
    pub cursor: u64,
    /// Keys returned (raw bytes: names need not be UTF-8).
    pub keys: Vec<Vec<u8>>,
    /// `DBSIZE` (0 when refused).
    pub db_keys: u64,
    /// Why `DBSIZE` was refused (the ACL), in the server's words.
    pub dbsize_refused: Option<String>,
}

/// Why a step could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// The server refused `SCAN` (ACL): sampling cannot work on this node.
    Refused(String),
    /// The connection failed or timed out.
    Failed(Fault),
}

/// A server error as the server put it (`NOPERM User … has no permissions
/// to run the 'dbsize' command`): no key is ever in it (only commands are
/// refused as a whole here).
pub fn server_words(e: &redis::ServerError) -> String {
    let text = format!("{} {}", e.code(), e.details().unwrap_or(""));
    text.trim().chars().take(100).collect()
}

/// Decode a `SCAN` reply: `[cursor, [key, …]]`.
pub fn parse_scan(v: &Value) -> Option<(u64, Vec<Vec<u8>>)> {
    let Value::Array(parts) = v else {
        return None;
    };
    let cursor = u64::try_from(int(parts.first()?)?).ok()?;
    let Value::Array(keys) = parts.get(1)? else {
        return None;
    };
    let keys = keys
        .iter()
        .filter_map(|k| match k {
            Value::BulkString(b) => Some(b.clone()),
            Value::SimpleString(s) => Some(s.clone().into_bytes()),
            _ => None,
        })
        .collect();
    Some((cursor, keys))
}

async fn send(conn: &mut MultiplexedConnection, p: &Pipeline) -> Result<Vec<Value>, Fault> {
    p.query_async::<Vec<Value>>(conn)
        .await
        .map_err(|e| fault(&e))
}

/// `SCAN cursor COUNT count` and `DBSIZE`, pipelined (2 commands).
pub async fn scan_step(
    conn: &mut MultiplexedConnection,
    cursor: u64,
    count: u32,
) -> Result<ScanStep, StepError> {
    let mut p = redis::pipe();
    p.ignore_errors();
    p.cmd("SCAN").arg(cursor).arg("COUNT").arg(count);
    p.cmd("DBSIZE");
    let replies = send(conn, &p).await.map_err(StepError::Failed)?;
    let scan = replies.first().unwrap_or(&Value::Nil);
    if let Value::ServerError(e) = scan {
        return Err(StepError::Refused(format!(
            "SCAN refused: {}",
            server_words(e)
        )));
    }
    let (cursor, keys) = parse_scan(scan)
        .ok_or_else(|| StepError::Failed(Fault::Protocol("unexpected SCAN reply".to_string())))?;
    let dbsize = replies.get(1).unwrap_or(&Value::Nil);
    let db_keys = int(dbsize).and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    let dbsize_refused = match dbsize {
        Value::ServerError(e) => Some(server_words(e)),
        _ => None,
    };
    Ok(ScanStep {
        cursor,
        keys,
        db_keys,
        dbsize_refused,
    })
}

/// The replies for one key (`PTTL`, `TYPE`, then `OBJECT` and `MEMORY
/// USAGE` when asked) as a [`SampledKey`], and their cost added to `t`.
pub fn read_key(name: &[u8], r: &[Value], lfu: bool, probes: &Probes, t: &mut Tally) -> SampledKey {
    let nil = Value::Nil;
    let pttl = r.first().unwrap_or(&nil);
    let kind_v = r.get(1).unwrap_or(&nil);
    let mut i = 2;
    let mut next = |on: bool| {
        on.then(|| {
            i += 1;
            r.get(i - 1).unwrap_or(&nil)
        })
    };
    let object = next(probes.object);
    let memory = next(probes.memory);
    let ttl = int(pttl);
    let kind = text(kind_v).map(KeyKind::from_type);
    // Existence as the lookups saw it: TYPE's answer, else PTTL's.
    let exists = match (kind, ttl) {
        (Some(k), _) => k != KeyKind::Missing,
        (None, Some(p)) => p != -2,
        (None, None) => true,
    };
    t.lookup(pttl, ttl.map_or(exists, |p| p != -2));
    t.lookup(kind_v, exists);
    let heat = object.and_then(|v| {
        t.lookup(
            v,
            if matches!(v, Value::Nil) {
                false
            } else {
                exists
            },
        );
        let n = int(v)?;
        if lfu {
            Some(KeyHeat::LfuFreq(
                u8::try_from(n.clamp(0, 255)).unwrap_or(u8::MAX),
            ))
        } else {
            u64::try_from(n).ok().map(KeyHeat::IdleSecs)
        }
    });
    let memory = memory.and_then(|v| {
        t.other(v);
        int(v).and_then(|n| u64::try_from(n).ok())
    });
    let kind = match (kind, exists) {
        (_, false) => KeyKind::Missing,
        (Some(k), true) => k,
        (None, true) => KeyKind::Other,
    };
    SampledKey {
        key: String::from_utf8_lossy(name).into_owned(),
        kind,
        ttl_ms: if kind == KeyKind::Missing {
            None
        } else {
            Some(ttl.unwrap_or(-1).max(-1))
        },
        heat,
        memory,
        elements: None,
    }
}

/// Per key `PTTL`, `TYPE`, and `OBJECT FREQ` (`lfu`) or `OBJECT IDLETIME`,
/// and `MEMORY USAGE key SAMPLES 5`, as `probes` says; one pipeline. A
/// probe the ACL refuses is turned off for the rest of the connection.
pub async fn probe_keys(
    conn: &mut MultiplexedConnection,
    keys: &[Vec<u8>],
    lfu: bool,
    probes: &mut Probes,
) -> (Tally, Result<Vec<SampledKey>, Fault>) {
    let per = 2 + usize::from(probes.object) + usize::from(probes.memory);
    let mut p = redis::pipe();
    p.ignore_errors();
    for k in keys {
        p.cmd("PTTL").arg(k);
        p.cmd("TYPE").arg(k);
        if probes.object {
            p.cmd("OBJECT")
                .arg(if lfu { "FREQ" } else { "IDLETIME" })
                .arg(k);
        }
        if probes.memory {
            p.cmd("MEMORY").arg("USAGE").arg(k).arg("SAMPLES").arg(5);
        }
    }
    let sent = (keys.len() * per) as u64;
    let mut t = Tally::plain(sent, 0);
    let replies = match send(conn, &p).await {
        Ok(r) => r,
        // Probably ran; what it looked up is unknown.
        Err(e) => return (Tally::plain(sent, sent), Err(e)),
    };
    let mut out = Vec::with_capacity(keys.len());
    let before = *probes;
    for (k, r) in keys.iter().zip(replies.chunks(per)) {
        out.push(read_key(k, r, lfu, &before, &mut t));
        if before.object && r.get(2).is_some_and(command_refused) {
            probes.object = false;
        }
        if before.memory && r.get(per - 1).is_some_and(command_refused) {
            probes.memory = false;
        }
    }
    if *probes != before {
        tracing::warn!(
            ?probes,
            "the ACL refuses some key-sampler probes; they are off"
        );
    }
    (t, Ok(out))
}

/// The length command's reply for a key of `kind` as (elements, hit).
pub fn read_length(kind: KeyKind, v: &Value) -> (Option<u64>, bool) {
    match v {
        Value::ServerError(e) if e.code() == "WRONGTYPE" => (None, true),
        _ => match int(v) {
            // Aggregates never exist empty; an empty string does.
            Some(0) => (Some(0), kind == KeyKind::String),
            Some(n) => (u64::try_from(n).ok(), true),
            None => (None, true),
        },
    }
}

/// `STRLEN` / `HLEN` / `LLEN` / `SCARD` / `ZCARD` / `XLEN` by type, one
/// pipeline, for the keys that exist; fills `elements` in `found`.
pub async fn size_keys(
    conn: &mut MultiplexedConnection,
    raw: &[Vec<u8>],
    found: &mut [SampledKey],
    probes: &mut Probes,
) -> (Tally, Result<(), Fault>) {
    let mut p = redis::pipe();
    p.ignore_errors();
    let mut asked = Vec::new();
    for (i, (k, f)) in raw.iter().zip(found.iter()).enumerate() {
        if let Some(cmd) = f.kind.length_command() {
            p.cmd(cmd).arg(k);
            asked.push(i);
        }
    }
    let sent = asked.len() as u64;
    if sent == 0 {
        return (Tally::default(), Ok(()));
    }
    let replies = match send(conn, &p).await {
        Ok(r) => r,
        Err(e) => return (Tally::plain(sent, sent), Err(e)),
    };
    let mut t = Tally::plain(sent, 0);
    for (&i, v) in asked.iter().zip(&replies) {
        if command_refused(v) {
            probes.elements = false;
        }
        if let Some(f) = found.get_mut(i) {
            let (n, hit) = read_length(f.kind, v);
            t.lookup(v, hit);
            f.elements = n;
        }
    }
    (t, Ok(()))
}

#[cfg(test)]
mod tests;
