//! The selected Postgres endpoint's detail lines in the Backends pane:
//! sessions by state, waiting and blocked sessions, the oldest transaction,
//! tuple rates, deadlocks and temp files, replication and slots; and the
//! endpoint's alert (an inactive replication slot holding WAL).

use super::source::SourceState;
use crate::sample::SourceKind;
use crate::units::bytes;

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

/// `server_version_num` as people write it: 150020 is 15.20 (since 10
/// the minor is the last four digits), 90624 is 9.6.24.
fn version(v: u32) -> String {
    if v >= 100_000 {
        format!("{}.{}", v / 10_000, v % 10_000)
    } else {
        format!("{}.{}.{}", v / 10_000, v / 100 % 100, v % 100)
    }
}

/// What needs someone to act on a Postgres endpoint, if anything: an
/// inactive replication slot keeps WAL until the disk fills. Shown in the
/// header, first in the endpoint's detail, and once in the status line.
pub fn pg_alert(src: &SourceState) -> Option<String> {
    let d = src.pg_detail.as_ref()?;
    if d.inactive_slots == 0 {
        return None;
    }
    // The source reports the inactive slot holding the most WAL first.
    let mut s = match &d.worst_slot {
        Some((name, held, false)) => {
            format!("slot {name} inactive, retains {} of WAL", bytes(*held))
        }
        _ => format!("{} inactive replication slot(s)", d.inactive_slots),
    };
    if d.inactive_slots > 1 && matches!(d.worst_slot, Some((_, _, false))) {
        s.push_str(&format!(" ({} inactive slots)", d.inactive_slots));
    }
    Some(s)
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
        "server {} · rtt = SELECT 1 round trip · buf = shared buffers, not the Redis hit ratio",
        version(d.version)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{PgDetail, SourceId};

    #[test]
    fn versions_read_as_people_write_them() {
        assert_eq!(version(150_020), "15.20");
        assert_eq!(version(100_005), "10.5");
        assert_eq!(version(90_624), "9.6.24");
    }

    #[test]
    fn an_inactive_slot_is_an_alert_and_an_active_one_is_not() {
        let mut src = SourceState::new(SourceId(1), "db".into(), SourceKind::PgPrimary);
        assert_eq!(pg_alert(&src), None);
        src.pg_detail = Some(PgDetail {
            slots: 1,
            worst_slot: Some(("standby".into(), 4096, true)),
            ..PgDetail::default()
        });
        assert_eq!(pg_alert(&src), None);
        src.pg_detail = Some(PgDetail {
            slots: 3,
            inactive_slots: 2,
            worst_slot: Some(("old".into(), 3 << 20, false)),
            ..PgDetail::default()
        });
        assert_eq!(
            pg_alert(&src).as_deref(),
            Some("slot old inactive, retains 3.0 MiB of WAL (2 inactive slots)")
        );
        let lines = pg_detail(&src);
        assert!(
            lines
                .iter()
                .any(|l| l == "slots: 3 (2 inactive) · old (INACTIVE) retains 3.0 MiB of WAL"),
            "{lines:?}"
        );
    }
}
