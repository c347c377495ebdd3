//! Diagnostics read less often than `INFO`: `SLOWLOG GET` (entries newer
//! than the last seen id) and `LATENCY LATEST`. Each is one O(1)-ish command
//! every few polls; a server or ACL that refuses one stops it being asked.

use redis::Value;
use redis::aio::MultiplexedConnection;

use super::OwnLoad;
use super::valkey::{self, Offers};
use crate::engines::Timestamp;
use crate::sample::{Body, CommandLog, LargeEntry, LatencyEvent, SlowEntry};

/// Diagnostics are read once every this many polls.
pub const EVERY: u32 = 5;
/// Slow-log entries asked for per read.
const SLOWLOG_N: u32 = 32;

/// What has been read so far from one node.
#[derive(Debug, Clone)]
pub struct Diag {
    polls: u32,
    last_slow: Option<u64>,
    run_id: u64,
    slowlog: bool,
    latency: bool,
    /// What the server offers beyond Redis (Valkey); switched off for the
    /// connection when refused.
    offers: Offers,
    /// Last `COMMANDLOG` ids seen: large-request, large-reply.
    last_large: [Option<u64>; 2],
}

impl Default for Diag {
    fn default() -> Self {
        Self {
            polls: 0,
            last_slow: None,
            run_id: 0,
            slowlog: true,
            latency: true,
            offers: Offers::default(),
            last_large: [None, None],
        }
    }
}

/// The server (or its ACL) refuses the command: stop asking it.
pub(crate) fn refused(e: &redis::RedisError) -> bool {
    // The client shows `NOPERM` as `NoPerm: …`: match the code, not the text.
    let t = e.to_string().to_ascii_lowercase();
    e.code() == Some("NOPERM")
        || t.contains("noperm")
        || t.contains("unknown command")
        || t.contains("unknown subcommand")
}

impl Diag {
    /// A (re)connected server offers these.
    pub fn offer(&mut self, offers: Offers) {
        self.offers = offers;
    }

    /// Read what is due this poll. A new `run_id` (a restart) starts the
    /// slow log over, as its ids do.
    pub async fn poll(
        &mut self,
        conn: &mut MultiplexedConnection,
        run_id: u64,
        own: &OwnLoad,
    ) -> Result<Vec<Body>, redis::RedisError> {
        if run_id != self.run_id {
            self.run_id = run_id;
            self.last_slow = None;
            self.last_large = [None, None];
        }
        self.polls = self.polls.wrapping_add(1);
        let mut out = Vec::new();
        if self.polls % EVERY != 1 {
            return Ok(out);
        }
        if self.slowlog {
            own.add(1, 0, 0);
            match redis::cmd("SLOWLOG")
                .arg("GET")
                .arg(SLOWLOG_N)
                .query_async::<Value>(conn)
                .await
            {
                Ok(v) => {
                    let mut entries = parse_slowlog(&v);
                    entries.retain(|e| self.last_slow.is_none_or(|l| e.id > l));
                    entries.sort_by_key(|e| e.id);
                    if let Some(last) = entries.last() {
                        self.last_slow = Some(last.id);
                    }
                    if !entries.is_empty() {
                        out.push(Body::Slowlog(entries));
                    }
                }
                Err(e) if refused(&e) => self.slowlog = false,
                Err(e) => return Err(e),
            }
        }
        if self.latency {
            own.add(1, 0, 0);
            match redis::cmd("LATENCY")
                .arg("LATEST")
                .query_async::<Value>(conn)
                .await
            {
                Ok(v) => out.push(Body::Latency(parse_latency(&v))),
                Err(e) if refused(&e) => self.latency = false,
                Err(e) => return Err(e),
            }
        }
        if self.offers.commandlog {
            let mut log = CommandLog::default();
            for (i, kind) in ["large-request", "large-reply"].into_iter().enumerate() {
                own.add(1, 0, 0);
                match redis::cmd("COMMANDLOG")
                    .arg("GET")
                    .arg(valkey::LOG_N)
                    .arg(kind)
                    .query_async::<Value>(conn)
                    .await
                {
                    Ok(v) => {
                        let fresh = newer(valkey::parse_large(&v), &mut self.last_large[i]);
                        if i == 0 {
                            log.large_request = fresh;
                        } else {
                            log.large_reply = fresh;
                        }
                    }
                    Err(e) if refused(&e) => {
                        self.offers.commandlog = false;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            if !log.large_request.is_empty() || !log.large_reply.is_empty() {
                out.push(Body::CommandLog(log));
            }
        }
        if self.offers.slot_stats {
            self.slot_stats(conn, own, &mut out).await?;
        }
        Ok(out)
    }

    /// `CLUSTER SLOT-STATS ORDERBY key-count`, and by `cpu-usec` where the
    /// server counts it.
    async fn slot_stats(
        &mut self,
        conn: &mut MultiplexedConnection,
        own: &OwnLoad,
        out: &mut Vec<Body>,
    ) -> Result<(), redis::RedisError> {
        let ask = |order: &'static str| {
            let mut c = redis::cmd("CLUSTER");
            c.arg("SLOT-STATS")
                .arg("ORDERBY")
                .arg(order)
                .arg("LIMIT")
                .arg(valkey::SLOTS_N);
            c
        };
        own.add(1, 0, 0);
        let mut stats = match ask("key-count").query_async::<Value>(conn).await {
            Ok(v) => valkey::parse_slot_stats(&v),
            Err(e) if refused(&e) || e.to_string().contains("CLUSTERDOWN") => {
                self.offers.slot_stats = !refused(&e);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if stats.counts_cpu {
            own.add(1, 0, 0);
            match ask("cpu-usec").query_async::<Value>(conn).await {
                Ok(v) => stats.by_cpu = valkey::parse_slot_cpu(&v),
                Err(e) if refused(&e) => {}
                Err(e) => return Err(e),
            }
        }
        out.push(Body::SlotStats(stats));
        Ok(())
    }
}

pub(crate) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Int(n) => Some(*n),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// `SLOWLOG GET` reply → entries (any order). Malformed entries are skipped.
pub fn parse_slowlog(v: &Value) -> Vec<SlowEntry> {
    let Value::Array(entries) = v else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let Value::Array(f) = e else { return None };
            let args = match f.get(3) {
                Some(Value::Array(a)) => a.as_slice(),
                _ => &[],
            };
            let addr = text(f.get(4)).unwrap_or_default();
            let name = text(f.get(5)).unwrap_or_default();
            Some(SlowEntry {
                id: u64::try_from(int(f.first())?).ok()?,
                at: Timestamp(int(f.get(1))?.saturating_mul(1000)),
                duration_us: u64::try_from(int(f.get(2))?).unwrap_or(0),
                command: short(&text(args.first())?.to_ascii_uppercase()),
                // A script or a long value is not a key worth showing.
                key: text(args.get(1))
                    .filter(|k| k.len() <= 64 && !k.chars().any(char::is_whitespace)),
                client: short(if name.is_empty() { &addr } else { &name }),
            })
        })
        .collect()
}

/// Entries newer than `last` (which moves to the newest), oldest first,
/// without the console's own (its `INFO` replies are large: they are not
/// the application's).
fn newer(mut entries: Vec<LargeEntry>, last: &mut Option<u64>) -> Vec<LargeEntry> {
    entries.retain(|e| last.is_none_or(|l| e.id > l));
    entries.sort_by_key(|e| e.id);
    if let Some(e) = entries.last() {
        *last = Some(e.id);
    }
    entries.retain(|e| e.client != "heliostat");
    entries
}

/// Longest command, client or event name kept from the slow log and
/// `LATENCY LATEST`, in bytes (a server could send any length).
pub const NAME_BYTES: usize = 64;

/// Rows of one `LATENCY LATEST` kept (Redis knows a few dozen events).
pub const LATENCY_ROWS: usize = 64;

fn short(s: &str) -> String {
    crate::engines::bounded::name(s, NAME_BYTES).into_owned()
}

/// `LATENCY LATEST` reply → events.
pub fn parse_latency(v: &Value) -> Vec<LatencyEvent> {
    let Value::Array(rows) = v else {
        return Vec::new();
    };
    rows.iter()
        .take(LATENCY_ROWS)
        .filter_map(|r| {
            let Value::Array(f) = r else { return None };
            Some(LatencyEvent {
                event: short(&text(f.first())?),
                at: Timestamp(int(f.get(1))?.saturating_mul(1000)),
                latest_ms: u64::try_from(int(f.get(2))?).unwrap_or(0),
                max_ms: u64::try_from(int(f.get(3))?).unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn slowlog_entries_keep_the_command_and_key_only() {
        let v = Value::Array(vec![
            Value::Array(vec![
                Value::Int(14),
                Value::Int(1_700_000_000),
                Value::Int(12_500),
                Value::Array(vec![b("set"), b("user:1"), b("s3cret-value")]),
                b("127.0.0.1:5000"),
                b(""),
            ]),
            Value::Array(vec![Value::Int(13)]),
        ]);
        let e = parse_slowlog(&v);
        assert_eq!(e.len(), 1, "the malformed entry is skipped");
        assert_eq!(e[0].id, 14);
        assert_eq!(e[0].command, "SET");
        assert_eq!(e[0].key.as_deref(), Some("user:1"));
        assert_eq!(e[0].client, "127.0.0.1:5000", "unnamed: the address");
        assert_eq!(e[0].at, Timestamp(1_700_000_000_000));
        assert!(
            !format!("{e:?}").contains("s3cret"),
            "values are never kept"
        );
    }

    #[test]
    fn latency_latest_rows_parse() {
        let v = Value::Array(vec![Value::Array(vec![
            b("command"),
            Value::Int(1_700_000_000),
            Value::Int(12),
            Value::Int(40),
        ])]);
        let e = parse_latency(&v);
        assert_eq!(e[0].event, "command");
        assert_eq!((e[0].latest_ms, e[0].max_ms), (12, 40));
    }
}
