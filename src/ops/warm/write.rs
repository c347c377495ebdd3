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
    /// The first such reason.
    pub first_error: Option<String>,
    /// Indices (in the batch) of keys a cluster node redirected (`MOVED` /
    /// `ASK`): not written, not counted above; the caller retries them.
    pub redirected: Vec<usize>,
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
        if self.first_error.is_none() {
            self.first_error.clone_from(&o.first_error);
        }
    }

    /// Keys accounted for.
    pub fn total(&self) -> u64 {
        self.written + self.existed + self.absent + self.type_conflict + self.errors
    }
}

/// Write `items` in one pipeline. `Err` only when the round trip itself
/// failed (connection lost, timeout): then nothing is known of the batch.
pub async fn write_batch<C: ConnectionLike>(
    conn: &mut C,
    mode: Mode,
    items: &[Item],
) -> redis::RedisResult<Outcome> {
    let mut out = Outcome::default();
    if items.is_empty() {
        return Ok(out);
    }
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for it in items {
        let cmd = pipe.cmd("SET").arg(&it.key).arg(&it.value[..]);
        match mode {
            Mode::Fill => cmd.arg("NX"),
            Mode::Refresh => cmd.arg("XX").arg("GET"),
        };
        if it.ttl_ms > 0 {
            cmd.arg("PX").arg(it.ttl_ms);
        }
    }
    let replies: Vec<redis::RedisResult<Value>> = pipe.query_async(conn).await?;
    for (i, r) in replies.into_iter().enumerate() {
        match (mode, r) {
            (_, Err(e)) if e.code() == Some("WRONGTYPE") => out.type_conflict += 1,
            (_, Err(e)) if matches!(e.code(), Some("MOVED" | "ASK")) => out.redirected.push(i),
            (_, Err(e)) => {
                out.errors += 1;
                if out.first_error.is_none() {
                    let why = match (e.code(), e.detail()) {
                        (Some(code), Some(detail)) => format!("{code} {detail}"),
                        _ => e.to_string(),
                    };
                    out.first_error = Some(why.chars().take(120).collect());
                }
            }
            (Mode::Fill, Ok(Value::Nil)) => out.existed += 1,
            (Mode::Refresh, Ok(Value::Nil)) => out.absent += 1,
            (_, Ok(_)) => out.written += 1,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
