//! The selected Postgres endpoint's detail lines in the Backends pane:
//! sessions by state, waiting and blocked sessions, the oldest transaction,
//! tuple rates, deadlocks and temp files, replication and slots.

use super::source::SourceState;
use crate::sample::SourceKind;
use crate::ui::widgets::bytes;

fn rate(x: f64) -> String {
    if x >= 1000.0 {
        format!("{:.1}k/s", x / 1000.0)
    } else {
        format!("{x:.0}/s")
    }
}

fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{:.1}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Lines describing a Postgres endpoint, most useful first; empty for other
/// sources and before the first refresh of a live server.
pub fn pg_detail(src: &SourceState) -> Vec<String> {
    let Some(d) = &src.pg_detail else {
        return Vec::new();
    };
    let r = &src.pg_rates;
    let mut out = Vec::new();
    let mut sessions = format!(
        "sessions: {} active · {} idle · {} idle in transaction",
        d.active, d.idle, d.idle_in_xact
    );
    if d.oldest_xact_ms > 0 {
        sessions.push_str(&format!(" · oldest transaction {}", age(d.oldest_xact_ms)));
    }
    out.push(sessions);
    if d.waiting > 0 || d.blocked > 0 {
        let mut w = format!("waiting {}", d.waiting);
        if let Some(ev) = &d.top_wait {
            w.push_str(&format!(" (mostly {ev})"));
        }
        w.push_str(&format!(" · blocked {}", d.blocked));
        if !d.blockers.is_empty() {
            let pids: Vec<String> = d.blockers.iter().map(u32::to_string).collect();
            w.push_str(&format!(" by pid {}", pids.join(", ")));
        }
        out.push(w);
    }
    let mut rows = format!(
        "rows read {} · written {} · rollbacks {}",
        rate(r.tup_read),
        rate(r.tup_written),
        rate(r.rollbacks)
    );
    rows.push_str(&format!(
        " · deadlocks {} · temp files {}",
        r.deadlocks, r.temp_files
    ));
    if src.kind == SourceKind::PgReplica {
        rows.push_str(&format!(" · recovery conflicts {}", r.conflicts));
    }
    rows.push_str(" (since watched)");
    out.push(rows);
    let lag_time = d
        .lag_ms
        .map(|ms| format!(", {}", age(ms)))
        .unwrap_or_default();
    match src.kind {
        SourceKind::PgReplica => out.push(format!(
            "replica: replay behind receive by {}{lag_time}",
            bytes(src.lag_bytes)
        )),
        _ if d.replicas > 0 => out.push(format!(
            "primary: {} replica(s), slowest {} behind{lag_time}",
            d.replicas,
            bytes(src.lag_bytes)
        )),
        _ => {}
    }
    if d.slots > 0 {
        let mut s = format!("slots: {} ({} inactive)", d.slots, d.inactive_slots);
        if let Some((name, held, active)) = &d.worst_slot {
            let state = if *active { "active" } else { "INACTIVE" };
            s.push_str(&format!(
                " · {name} ({state}) retains {} of WAL",
                bytes(*held)
            ));
        }
        out.push(s);
    }
    match &src.pg_statements_note {
        Some(why) => out.push(why.clone()),
        None if src.pg_statements > 0 => out.push(format!(
            "pg_stat_statements: {} statements → heatmap query rows (shared-buffer blocks)",
            src.pg_statements
        )),
        None => {}
    }
    out.push(format!(
        "server {}.{} · rtt = SELECT 1 round trip · buf = shared buffers, not the Redis hit ratio",
        d.version / 10_000,
        d.version % 10_000 / 100
    ));
    out
}
