//! Cheaper exact signals Valkey offers, used when the server has them
//! (detected from `HELLO`/`INFO`: software `valkey` and its version):
//!
//! * `COMMANDLOG GET n large-request|large-reply` (Valkey ≥ 8.1): commands
//!   whose request or reply passed the server's size thresholds, with their
//!   size in bytes, read with the slow log (the `slow` log is the slow log:
//!   `SLOWLOG` reads the same entries);
//! * `CLUSTER SLOT-STATS ORDERBY key-count LIMIT n` (Valkey ≥ 8.0, cluster
//!   mode): the slots with the most keys, exactly; with the server's
//!   `cluster-slot-stats-enabled` on (heliostat never changes it), the
//!   busiest slots by CPU time too.
//!
//! Each is one command every [`super::diag::EVERY`] polls; one the server
//! or the ACL refuses is not asked again on that connection.

use redis::Value;

use super::diag::{int, parse_slowlog, text};
use super::endpoint::{Server, ServerMode};
use crate::sample::{LargeEntry, SlotCount, SlotStats};

/// Entries asked for per log and read.
pub const LOG_N: u32 = 16;
/// Slots listed per ordering.
pub const SLOTS_N: u32 = 8;

/// What this server offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offers {
    /// `COMMANDLOG` (Valkey ≥ 8.1).
    pub commandlog: bool,
    /// `CLUSTER SLOT-STATS` (Valkey ≥ 8.0 in cluster mode).
    pub slot_stats: bool,
}

/// `(major, minor)` of a version string like `8.1.8`.
fn major_minor(v: &str) -> (u32, u32) {
    let mut it = v.split('.').map(|p| p.trim().parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

impl Offers {
    /// What `server` offers, by its software and version.
    pub fn of(server: &Server) -> Self {
        Self::from_parts(&server.software, &server.version, server.mode)
    }

    /// What software `software` at `version` in `mode` offers.
    pub fn from_parts(software: &str, version: &str, mode: ServerMode) -> Self {
        if !software.eq_ignore_ascii_case("valkey") {
            return Self::default();
        }
        let v = major_minor(version);
        Self {
            commandlog: v >= (8, 1),
            slot_stats: v >= (8, 0) && mode == ServerMode::Cluster,
        }
    }
}

/// A `COMMANDLOG GET … large-*` reply → entries (sizes in bytes).
pub fn parse_large(v: &Value) -> Vec<LargeEntry> {
    parse_slowlog(v)
        .into_iter()
        .map(|e| LargeEntry {
            id: e.id,
            at: e.at,
            bytes: e.duration_us,
            command: e.command,
            key: e.key,
            client: e.client,
        })
        .collect()
}

/// One slot's fields (`key-count`, `cpu-usec`, …) from RESP2 (a flat
/// list) or RESP3 (a map).
fn fields(v: &Value) -> Vec<(String, u64)> {
    let pair =
        |k: &Value, v: &Value| Some((text(Some(k))?, u64::try_from(int(Some(v))?).unwrap_or(0)));
    match v {
        Value::Map(m) => m.iter().filter_map(|(k, v)| pair(k, v)).collect(),
        Value::Array(a) => a
            .chunks(2)
            .filter_map(|c| pair(c.first()?, c.get(1)?))
            .collect(),
        _ => Vec::new(),
    }
}

/// A `CLUSTER SLOT-STATS ORDERBY …` reply → per slot `(slot, fields)`.
fn slots(v: &Value) -> Vec<(u16, Vec<(String, u64)>)> {
    let rows: Vec<(&Value, &Value)> = match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|r| match r {
                Value::Array(p) if p.len() == 2 => Some((&p[0], &p[1])),
                _ => None,
            })
            .collect(),
        Value::Map(m) => m.iter().map(|(k, v)| (k, v)).collect(),
        _ => Vec::new(),
    };
    rows.into_iter()
        .filter_map(|(s, f)| Some((u16::try_from(int(Some(s))?).ok()?, fields(f))))
        .collect()
}

/// The slots with the most keys (a `key-count` ordering), and whether the
/// server also counts CPU and network per slot.
pub fn parse_slot_stats(v: &Value) -> SlotStats {
    let rows = slots(v);
    let get = |f: &[(String, u64)], k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    SlotStats {
        by_keys: rows
            .iter()
            .filter_map(|(s, f)| {
                Some(SlotCount {
                    slot: *s,
                    value: get(f, "key-count")?,
                })
            })
            .filter(|c| c.value > 0)
            .collect(),
        by_cpu: Vec::new(),
        counts_cpu: rows.iter().any(|(_, f)| get(f, "cpu-usec").is_some()),
    }
}

/// The slots with the most CPU time (a `cpu-usec` ordering).
pub fn parse_slot_cpu(v: &Value) -> Vec<SlotCount> {
    slots(v)
        .into_iter()
        .filter_map(|(s, f)| {
            let us = f.iter().find(|(n, _)| n == "cpu-usec")?.1;
            (us > 0).then_some(SlotCount { slot: s, value: us })
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
    fn valkey_signals_are_used_by_software_and_version() {
        let o = |s, v, m| Offers::from_parts(s, v, m);
        assert_eq!(
            o("valkey", "8.1.8", ServerMode::Cluster),
            Offers {
                commandlog: true,
                slot_stats: true
            }
        );
        assert_eq!(
            o("valkey", "8.0.2", ServerMode::Cluster),
            Offers {
                commandlog: false,
                slot_stats: true
            }
        );
        assert_eq!(
            o("valkey", "8.1.0", ServerMode::Standalone),
            Offers {
                commandlog: true,
                slot_stats: false
            }
        );
        assert_eq!(o("valkey", "7.2.5", ServerMode::Cluster), Offers::default());
        assert_eq!(o("redis", "8.2.0", ServerMode::Cluster), Offers::default());
    }

    #[test]
    fn slot_stats_parse_in_resp2_and_resp3() {
        let resp2 = Value::Array(vec![
            Value::Array(vec![
                Value::Int(15495),
                Value::Array(vec![
                    b("key-count"),
                    Value::Int(3),
                    b("cpu-usec"),
                    Value::Int(40),
                ]),
            ]),
            Value::Array(vec![
                Value::Int(1),
                Value::Array(vec![b("key-count"), Value::Int(0)]),
            ]),
        ]);
        let s = parse_slot_stats(&resp2);
        assert_eq!(
            s.by_keys,
            [SlotCount {
                slot: 15495,
                value: 3
            }]
        );
        assert!(s.counts_cpu);
        assert_eq!(
            parse_slot_cpu(&resp2),
            [SlotCount {
                slot: 15495,
                value: 40
            }]
        );
        let resp3 = Value::Array(vec![Value::Array(vec![
            Value::Int(7),
            Value::Map(vec![(b("key-count"), Value::Int(9))]),
        ])]);
        let s = parse_slot_stats(&resp3);
        assert_eq!(s.by_keys, [SlotCount { slot: 7, value: 9 }]);
        assert!(!s.counts_cpu);
    }

    #[test]
    fn large_entries_keep_size_command_and_key_only() {
        let v = Value::Array(vec![Value::Array(vec![
            Value::Int(3),
            Value::Int(1_700_000_000),
            Value::Int(65_536),
            Value::Array(vec![b("set"), b("big:1"), b("s3cret")]),
            b("127.0.0.1:5000"),
            b("app"),
        ])]);
        let e = parse_large(&v);
        assert_eq!((e[0].bytes, e[0].command.as_str()), (65_536, "SET"));
        assert_eq!(e[0].key.as_deref(), Some("big:1"));
        assert!(!format!("{e:?}").contains("s3cret"));
    }
}
