//! Writing warmed values to Redis, one pipeline per batch, in the rule's
//! mode:
//! - **fill** (`SET key value NX PX ttl`) never overwrites anything;
//! - **refresh** (`SET key value XX GET PX ttl`) overwrites only keys that
//!   exist *and* are strings. The server itself refuses a `SET … GET` on
//!   another type (`WRONGTYPE`, nothing written), so a hash, list or set the
//!   application owns is never touched, with no read-then-write race.
//!
//! Every key's outcome is counted by kind.

use redis::Value;
use redis::aio::ConnectionLike;

use crate::engines::intern::key_hash;

/// How a rule writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only keys that do not exist (`SET … NX`).
    #[default]
    Fill,
    /// Only existing string keys (`SET … XX GET`).
    Refresh,
}

/// One key to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The key (produced by the rule's pattern).
    pub key: String,
    /// The value read from the database.
    pub value: Vec<u8>,
    /// Time to live in ms (0: no expiry).
    pub ttl_ms: u64,
}

/// What happened to a batch's keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Written (new in fill mode, overwritten in refresh mode).
    pub written: u64,
    /// Fill: the key already existed, left alone.
    pub existed: u64,
    /// Refresh: the key does not exist, not created.
    pub absent: u64,
    /// Refresh: the key holds a non-string value, left alone.
    pub type_conflict: u64,
    /// The server refused the write for another reason (OOM, READONLY, …).
    pub errors: u64,
    /// Of those, the refusals that have nothing to do with the key (see
    /// [`keyless`]): when every key of a batch gets one, every later key
    /// would too.
    pub keyless: u64,
    /// The first such reason (never holding the key's name).
    pub first_error: Option<String>,
    /// The keys refused or in a type conflict, by hash (see
    /// [`super::report::note_unwritten`]): automatic warming leaves them
    /// out for a while. A key a cluster kept redirecting is counted as an
    /// error but not listed.
    pub unwritten: Vec<u64>,
    /// Keys a cluster node redirected (`MOVED` / `ASK`): not written, not
    /// counted above; the caller retries them where the redirect says.
    pub redirected: Vec<Redirect>,
}

/// Why a key must go elsewhere: its slot moved for good, or (during a
/// migration) this one key is already on the importing node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `MOVED`: the slot has a new owner; the slot map is stale.
    Moved,
    /// `ASK`: the slot is migrating; send `ASKING` then the write to `addr`,
    /// and keep the slot map as it is.
    Ask,
}

/// One redirected key of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Its index in the batch.
    pub index: usize,
    /// `MOVED` or `ASK`.
    pub kind: RedirectKind,
    /// The key's slot, as the node said.
    pub slot: u16,
    /// Where to send it (`host`, `port`).
    pub addr: (String, u16),
}

impl Redirect {
    /// The redirect a reply carries, if it is a well-formed `MOVED` / `ASK`.
    pub fn from_error(index: usize, e: &redis::RedisError) -> Option<Redirect> {
        let kind = match e.code()? {
            "MOVED" => RedirectKind::Moved,
            "ASK" => RedirectKind::Ask,
            _ => return None,
        };
        let (addr, slot) = e.redirect_node()?;
        let (host, port) = addr.rsplit_once(':')?;
        Some(Redirect {
            index,
            kind,
            slot,
            addr: (host.to_string(), port.parse().ok()?),
        })
    }
}

impl Outcome {
    /// Count redirected keys as errors (a target that cannot retry them).
    pub fn settle_redirects(&mut self) {
        if !self.redirected.is_empty() {
            self.errors += self.redirected.len() as u64;
            self.redirected.clear();
            if self.first_error.is_none() {
                self.first_error = Some("MOVED: the key's slot is served elsewhere".into());
            }
        }
    }

    /// Add another batch's counts (not its redirects, which are per batch).
    pub fn add(&mut self, o: &Outcome) {
        self.written += o.written;
        self.existed += o.existed;
        self.absent += o.absent;
        self.type_conflict += o.type_conflict;
        self.errors += o.errors;
        self.keyless += o.keyless;
        if self.first_error.is_none() {
            self.first_error.clone_from(&o.first_error);
        }
        super::report::note_unwritten(&mut self.unwritten, o.unwritten.iter().copied());
    }

    /// Keys accounted for.
    pub fn total(&self) -> u64 {
        self.written + self.existed + self.absent + self.type_conflict + self.errors
    }

    /// Whether every key was refused for a reason that is not the key's:
    /// the server is a replica now, the user may not write, the command is
    /// not understood, memory is full. Going on would fail every key.
    pub fn all_refused_keyless(&self) -> bool {
        self.errors > 0 && self.errors == self.total() && self.keyless == self.errors
    }
}

/// Whether a refusal is the same for every key: `READONLY` (a replica, an
/// old master after a failover), `NOPERM` / `NOAUTH` (the user may not
/// write), `OOM`, `MISCONF` (writes stopped on a failed save),
/// `MASTERDOWN`, `NOREPLICAS`, or `ERR` for an unknown command, a syntax
/// error or a wrong number of arguments (an old server).
pub fn keyless(e: &redis::RedisError) -> bool {
    match e.code() {
        Some(
            "READONLY" | "NOPERM" | "NOAUTH" | "OOM" | "MISCONF" | "MASTERDOWN" | "NOREPLICAS",
        ) => true,
        Some("ERR") => e.detail().is_some_and(|d| {
            let d = d.to_ascii_lowercase();
            [
                "syntax error",
                "unknown command",
                "wrong number of arguments",
            ]
            .iter()
            .any(|m| d.starts_with(m))
        }),
        _ => false,
    }
}

/// A server's refusal as text, without `key` (a few refusals quote it;
/// key names are not for messages, `--redact-keys`).
fn refusal(e: &redis::RedisError, key: &str) -> String {
    let why = match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => e.to_string(),
    };
    let why = if key.is_empty() {
        why
    } else {
        why.replace(key, "…")
    };
    why.chars().take(120).collect()
}

/// Write `items` in one pipeline. `Err` only when the round trip itself
/// failed (connection lost, timeout): then nothing is known of the batch.
pub async fn write_batch<C: ConnectionLike>(
    conn: &mut C,
    mode: Mode,
    items: &[Item],
) -> redis::RedisResult<Outcome> {
    Ok(write_pipeline(conn, mode, items, false, None).await?.0)
}

/// [`write_batch`] to the importing node of a slot migration: each `SET`
/// preceded by `ASKING` (which holds for the next command only), in the
/// same pipeline, so nothing else on the connection comes between them.
pub async fn write_batch_asking<C: ConnectionLike>(
    conn: &mut C,
    mode: Mode,
    items: &[Item],
) -> redis::RedisResult<Outcome> {
    Ok(write_pipeline(conn, mode, items, true, None).await?.0)
}

/// [`write_batch`], then `then` at the end of the same pipeline: it runs
/// after the writes, at no extra round trip. Its reply comes back as is.
pub async fn write_batch_then<C: ConnectionLike>(
    conn: &mut C,
    mode: Mode,
    items: &[Item],
    then: &redis::Cmd,
) -> redis::RedisResult<(Outcome, redis::RedisResult<Value>)> {
    let (o, last) = write_pipeline(conn, mode, items, false, Some(then)).await?;
    let last = last.unwrap_or_else(|| {
        Err(redis::RedisError::from(std::io::Error::other(
            "no reply to the command after the writes",
        )))
    });
    Ok((o, last))
}

/// Key and value bytes per pipeline, at most: a batch of large values goes
/// in several round trips, each well within the connection's response
/// timeout (and the server's query buffer).
pub const MAX_PIPELINE_BYTES: usize = 2 << 20;

/// Where the pipeline that starts at `start` ends: at least one item, then
/// as many as fit in `max` bytes.
fn chunk_end(items: &[Item], start: usize, max: usize) -> usize {
    let mut bytes = 0;
    for (i, it) in items.iter().enumerate().skip(start) {
        bytes += it.key.len() + it.value.len();
        if bytes > max && i > start {
            return i;
        }
    }
    items.len()
}

async fn write_pipeline<C: ConnectionLike>(
    conn: &mut C,
    mode: Mode,
    items: &[Item],
    asking: bool,
    then: Option<&redis::Cmd>,
) -> redis::RedisResult<(Outcome, Option<redis::RedisResult<Value>>)> {
    let mut out = Outcome::default();
    let mut start = 0;
    loop {
        let end = chunk_end(items, start, MAX_PIPELINE_BYTES);
        let last_chunk = end == items.len();
        let then = if last_chunk { then } else { None };
        let (o, last) = write_chunk(conn, mode, &items[start..end], start, asking, then).await?;
        out.add(&o);
        out.redirected.extend(o.redirected);
        if last_chunk {
            return Ok((out, last));
        }
        start = end;
    }
}

/// One pipeline: `items` (the batch's from index `base` on), then `then`.
async fn write_chunk<C: ConnectionLike>(
    conn: &mut C,
    mode: Mode,
    items: &[Item],
    base: usize,
    asking: bool,
    then: Option<&redis::Cmd>,
) -> redis::RedisResult<(Outcome, Option<redis::RedisResult<Value>>)> {
    let mut out = Outcome::default();
    if items.is_empty() && then.is_none() {
        return Ok((out, None));
    }
    let mut pipe = redis::Pipeline::with_capacity(items.len() * (1 + usize::from(asking)) + 1);
    pipe.ignore_errors();
    for it in items {
        if asking {
            pipe.cmd("ASKING").ignore();
        }
        // Sized up front: one allocation per buffer, not one per growth.
        let mut cmd = redis::Cmd::with_capacity(7, it.key.len() + it.value.len() + 32);
        cmd.arg("SET").arg(&it.key).arg(&it.value[..]);
        match mode {
            Mode::Fill => cmd.arg("NX"),
            Mode::Refresh => cmd.arg("XX").arg("GET"),
        };
        if it.ttl_ms > 0 {
            cmd.arg("PX").arg(it.ttl_ms);
        }
        pipe.add_command(cmd);
    }
    if let Some(c) = then {
        pipe.add_command(c.clone());
    }
    let mut replies: Vec<redis::RedisResult<Value>> = pipe.query_async(conn).await?;
    let last = match then {
        Some(_) if replies.len() > items.len() => replies.pop(),
        _ => None,
    };
    let key_of = |i: usize| items.get(i).map_or("", |it| it.key.as_str());
    for (i, r) in replies.into_iter().enumerate() {
        match (mode, r) {
            (_, Err(e)) if e.code() == Some("WRONGTYPE") => {
                out.type_conflict += 1;
                super::report::note_unwritten(&mut out.unwritten, [key_hash(key_of(i))]);
            }
            (_, Err(e)) if let Some(r) = Redirect::from_error(base + i, &e) => {
                out.redirected.push(r);
            }
            (_, Err(e)) => {
                out.errors += 1;
                super::report::note_unwritten(&mut out.unwritten, [key_hash(key_of(i))]);
                out.keyless += u64::from(keyless(&e));
                if out.first_error.is_none() {
                    let key = items.get(i).map_or("", |it| it.key.as_str());
                    out.first_error = Some(refusal(&e, key));
                }
            }
            (Mode::Fill, Ok(Value::Nil)) => out.existed += 1,
            (Mode::Refresh, Ok(Value::Nil)) => out.absent += 1,
            (_, Ok(_)) => out.written += 1,
        }
    }
    Ok((out, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(reply: &str) -> redis::RedisError {
        redis::parse_redis_value(reply.as_bytes())
            .unwrap()
            .extract_error()
            .unwrap_err()
    }

    #[test]
    fn redirects_say_where_the_key_goes() {
        assert_eq!(
            Redirect::from_error(3, &server_error("-ASK 5474 127.0.0.1:7001\r\n")),
            Some(Redirect {
                index: 3,
                kind: RedirectKind::Ask,
                slot: 5474,
                addr: ("127.0.0.1".into(), 7001),
            })
        );
        let moved = Redirect::from_error(0, &server_error("-MOVED 12 ::1:7002\r\n")).unwrap();
        assert_eq!(moved.kind, RedirectKind::Moved);
        assert_eq!(
            moved.addr,
            ("::1".into(), 7002),
            "the port follows the last colon"
        );
        assert_eq!(Redirect::from_error(0, &server_error("-OOM no\r\n")), None);
        assert_eq!(
            Redirect::from_error(0, &server_error("-MOVED garbage\r\n")),
            None,
            "a malformed redirect is an error like any other"
        );
    }

    #[test]
    fn refusals_that_every_key_would_get_are_told_apart() {
        for reply in [
            "-READONLY You can't write against a read only replica.\r\n",
            "-NOPERM User warm has no permissions to run the 'set' command\r\n",
            "-NOAUTH Authentication required.\r\n",
            "-OOM command not allowed when used memory > 'maxmemory'.\r\n",
            "-ERR syntax error\r\n",
            "-ERR unknown command 'SET', with args beginning with:\r\n",
        ] {
            assert!(keyless(&server_error(reply)), "{reply}");
        }
        for reply in [
            "-ERR invalid expire time in 'set' command\r\n",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            "-MOVED 12 127.0.0.1:7002\r\n",
        ] {
            assert!(!keyless(&server_error(reply)), "{reply}");
        }
        let quoting = server_error("-ERR no such key 'user:secret:7' here\r\n");
        assert_eq!(
            refusal(&quoting, "user:secret:7"),
            "ERR no such key '…' here",
            "a key in a refusal is not repeated"
        );
        let all = Outcome {
            errors: 3,
            keyless: 3,
            ..Outcome::default()
        };
        assert!(all.all_refused_keyless());
        let some = Outcome {
            written: 1,
            ..all.clone()
        };
        assert!(!some.all_refused_keyless(), "one key went through");
        assert!(!Outcome::default().all_refused_keyless());
    }

    #[test]
    fn large_batches_go_in_pipelines_of_bounded_size() {
        let items: Vec<Item> = [10, 10, 10, 50, 5]
            .iter()
            .enumerate()
            .map(|(i, &n)| Item {
                key: format!("k{i}"),
                value: vec![b'x'; n],
                ttl_ms: 0,
            })
            .collect();
        // 12 bytes each for the first three (key + value).
        assert_eq!(chunk_end(&items, 0, 24), 2);
        assert_eq!(chunk_end(&items, 2, 24), 3, "the next item would not fit");
        assert_eq!(chunk_end(&items, 3, 24), 4, "one item too big goes alone");
        assert_eq!(chunk_end(&items, 4, 24), 5);
        assert_eq!(
            chunk_end(&items, 0, 1 << 20),
            5,
            "small batches: one pipeline"
        );
    }

    #[test]
    fn outcomes_add_up() {
        let mut a = Outcome {
            written: 2,
            errors: 1,
            first_error: Some("OOM".into()),
            ..Outcome::default()
        };
        a.add(&Outcome {
            existed: 3,
            type_conflict: 1,
            first_error: Some("later".into()),
            ..Outcome::default()
        });
        assert_eq!(a.total(), 7);
        assert_eq!(
            a.first_error.as_deref(),
            Some("OOM"),
            "the first reason is kept"
        );
    }
}
