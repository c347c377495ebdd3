//! The selected Redis node's diagnostic lines in the Backends pane: its
//! busiest commands, latency percentiles, replication, slow log, latency
//! spikes and keyspace notifications: exact misses per key and row,
//! expiries and evictions, the flags a server leaves out (why
//! notifications fail is among the source's problems, shown first).

use super::source::SourceState;
use crate::engines::Timestamp;
use crate::sample::RedisStats;

/// Slow-log entries shown.
const SLOW_SHOWN: usize = 3;

fn us(ns_or_us: f64) -> String {
    if ns_or_us >= 1000.0 {
        format!("{:.1}ms", ns_or_us / 1000.0)
    } else {
        if ns_or_us < 1.0 {
            // The server reports whole microseconds: 0.0µs would claim a zero.
            "<1µs".to_string()
        } else {
            format!("{ns_or_us:.1}µs")
        }
    }
}

fn rate(x: f64) -> String {
    if x >= 1000.0 {
        format!("{:.1}k/s", x / 1000.0)
    } else {
        format!("{x:.0}/s")
    }
}

fn ago(now: Timestamp, at: Timestamp) -> String {
    let s = now.millis_since(at) / 1000;
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        _ => format!("{}h ago", s / 3600),
    }
}

fn key_shown(key: &str, redact: bool, delim: &str) -> String {
    let k = crate::engines::keyspace::redacted(key, redact, delim);
    k.chars().take(32).collect()
}

/// Lines describing a Redis node, most useful first; empty for other sources.
/// With `redact`, a key shows only up to its prefix by `delim`.
pub fn node_detail(src: &SourceState, redact: bool, delim: &str, now: Timestamp) -> Vec<String> {
    let Some(r) = &src.redis_info else {
        return Vec::new();
    };
    // The console's own load leads the detail, drawn by the pane with the
    // key sampler's lines.
    let mut out = Vec::new();
    if !src.top_commands.is_empty() {
        let cmds: Vec<String> = src
            .top_commands
            .iter()
            .map(|c| format!("{} {} {}", c.name, rate(c.per_sec), us(c.us_per_call)))
            .collect();
        let untracked = if r.commands_dropped > 0 {
            format!(" · {} more not tracked", r.commands_dropped)
        } else {
            String::new()
        };
        out.push(format!(
            "commands (heliostat's included): {}{untracked}",
            cmds.join(" · ")
        ));
    }
    if let Some(line) = latency_line(src, r) {
        out.push(line);
    }
    out.push(replication_line(r));
    if src.slowlog.is_empty() {
        out.push("slow log: nothing new since heliostat started".to_string());
    }
    for e in src.slowlog.iter().rev().take(SLOW_SHOWN) {
        let key = e
            .key
            .as_deref()
            .map(|k| format!(" {}", key_shown(k, redact, delim)))
            .unwrap_or_default();
        out.push(format!(
            "slow: {} {}{key} by {} {}",
            us(e.duration_us as f64),
            e.command,
            e.client,
            ago(now, e.at)
        ));
    }
    out.extend(valkey_lines(src, redact, delim, now));
    if let Some(b) = &src.key_events {
        out.extend(super::keyevents::detail_lines(b, redact, delim, now));
    }
    for e in src.latency_events.iter().take(2) {
        out.push(format!(
            "latency spike: {} {}ms (worst {}ms) {}",
            e.event,
            e.latest_ms,
            e.max_ms,
            ago(now, e.at)
        ));
    }
    out
}

fn bytes(n: u64) -> String {
    crate::units::bytes(n)
}

/// Valkey's own exact signals, each naming its source: `COMMANDLOG`'s
/// large requests and replies, and `CLUSTER SLOT-STATS`.
fn valkey_lines(src: &SourceState, redact: bool, delim: &str, now: Timestamp) -> Vec<String> {
    let mut out = Vec::new();
    for (what, log) in [
        ("large replies", &src.large_replies),
        ("large requests", &src.large_requests),
    ] {
        let parts: Vec<String> = log
            .iter()
            .rev()
            .take(2)
            .map(|e| {
                let key = e
                    .key
                    .as_deref()
                    .map(|k| format!(" {}", key_shown(k, redact, delim)))
                    .unwrap_or_default();
                format!(
                    "{} {}{key} by {} {}",
                    bytes(e.bytes),
                    e.command,
                    e.client,
                    ago(now, e.at)
                )
            })
            .collect();
        if !parts.is_empty() {
            out.push(format!("{what} (COMMANDLOG): {}", parts.join(" · ")));
        }
    }
    if let Some((st, at)) = &src.slot_stats {
        let list = |v: &[crate::sample::SlotCount], f: &dyn Fn(u64) -> String| {
            v.iter()
                .take(4)
                .map(|c| format!("{} {}", c.slot, f(c.value)))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let keys = if st.by_keys.is_empty() {
            "no keys".to_string()
        } else {
            list(&st.by_keys, &|n| format!("{n} keys"))
        };
        let cpu = if st.counts_cpu {
            match list(&st.by_cpu, &us_total) {
                s if s.is_empty() => "; no CPU time yet".to_string(),
                s => format!("; most CPU: {s}"),
            }
        } else {
            "; CPU per slot: off on the server (cluster-slot-stats-enabled)".to_string()
        };
        out.push(format!(
            "slots with most keys (CLUSTER SLOT-STATS, exact, {}): {keys}{cpu}",
            ago(now, *at)
        ));
    }
    out
}

fn us_total(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1}s", n as f64 / 1e6)
    } else {
        us(n as f64)
    }
}

/// Server-side percentiles of the busiest commands (`INFO latencystats`).
fn latency_line(src: &SourceState, r: &RedisStats) -> Option<String> {
    let parts: Vec<String> = src
        .top_commands
        .iter()
        .filter_map(|c| {
            let (_, p) = r.latencystats.iter().find(|(n, _)| *n == c.name)?;
            Some(format!(
                "{} p50 {} p99 {} p99.9 {}",
                c.name,
                us(p[0] as f64 / 1000.0),
                us(p[1] as f64 / 1000.0),
                us(p[2] as f64 / 1000.0)
            ))
        })
        .take(2)
        .collect();
    (!parts.is_empty()).then(|| format!("server latency: {}", parts.join(" · ")))
}

fn replication_line(r: &RedisStats) -> String {
    match (r.master_link_up, r.replica_lag_bytes) {
        (Some(true), _) => "replica: link to primary up".to_string(),
        (Some(false), _) => "replica: LINK TO PRIMARY DOWN".to_string(),
        (None, Some(lag)) => format!(
            "primary: {} replica(s), slowest {lag} bytes behind",
            r.replicas
        ),
        (None, None) => "primary: no replicas".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{SlowEntry, SourceId, SourceKind};

    #[test]
    fn the_detail_names_the_observer_effect_and_hides_redacted_keys() {
        let mut s = SourceState::new(SourceId(0), "n".into(), SourceKind::Redis);
        s.redis_info = Some(RedisStats {
            latencystats: vec![("get".into(), [1_000, 2_000, 3_000])],
            ..RedisStats::default()
        });
        s.ops_per_sec = 998.0;
        s.own_ops_per_sec = 2.0;
        s.observe_commands(&[("get".into(), 100, 100)], 1.0, true);
        s.observe_commands(&[("get".into(), 600, 1100)], 1.0, false);
        s.add_slow(&[SlowEntry {
            id: 1,
            at: Timestamp(0),
            duration_us: 12_500,
            command: "SET".into(),
            key: Some("user:42".into()),
            client: "api".into(),
        }]);
        let lines = node_detail(&s, true, ":", Timestamp(5_000));
        let text = lines.join("\n");
        assert!(text.contains("get 500/s 2.0µs"), "{text}");
        assert!(text.contains("get p50 1.0µs p99 2.0µs"), "{text}");
        assert!(
            text.contains("slow: 12.5ms SET user:… by api 5s ago"),
            "{text}"
        );
        assert!(!text.contains("user:42"));
    }

    #[test]
    fn a_percentile_under_a_microsecond_is_not_shown_as_zero() {
        assert_eq!(us(0.0), "<1µs");
        assert_eq!(us(0.4), "<1µs");
        assert_eq!(us(1.0), "1.0µs");
        assert_eq!(us(2_500.0), "2.5ms");
    }
}
