//! What the console knows about one source: status, health history and the
//! figures derived from its cumulative counters.

use std::collections::VecDeque;

use crate::engines::Timestamp;
use crate::engines::counters::CumulativeSet;
use crate::engines::pool::BackendId;
use rustc_hash::FxHashMap;

use crate::sample::{
    CommandLog, LargeEntry, LatencyEvent, RedisStats, SlotStats, SlowEntry, SourceId, SourceKind,
    SourceStatus,
};

/// Slow-log entries kept per node.
pub const SLOWLOG_KEPT: usize = 50;
/// `COMMANDLOG` large entries kept per log.
pub const LARGE_KEPT: usize = 20;

/// Commands whose cumulative stats are kept per node.
pub const MAX_COMMANDS: usize = crate::sources::redis::info::MAX_COMMANDS;

/// Readings a figure may miss before it is stale: a source silent for
/// this many refresh intervals (and at least [`STALE_MIN_MS`]) shows `–`.
pub const STALE_INTERVALS: u64 = 2;

/// The shortest silence that makes figures stale, ms: a poll that takes a
/// little longer than a fast refresh interval is not an outage.
pub const STALE_MIN_MS: u64 = 2_000;

/// Recent lookup readings kept per node for the header's hit ratio.
pub const LOOKUPS_KEPT: usize = 32;

/// How old a source's figures may be at `refresh_ms` before they are stale.
pub fn stale_after_ms(refresh_ms: u64) -> u64 {
    STALE_INTERVALS.saturating_mul(refresh_ms).max(STALE_MIN_MS)
}

/// `14s`, `3m`, `2h`: an age for the screen.
pub fn age(ms: u64) -> String {
    match ms / 1000 {
        s @ 0..120 => format!("{s}s"),
        s @ 120..7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

/// One command's rate over the last interval (`INFO commandstats` deltas).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRate {
    /// Command name (`get`, `client|setname`…).
    pub name: String,
    /// Calls per second.
    pub per_sec: f64,
    /// Mean µs per call over the interval.
    pub us_per_call: f64,
}

/// A Postgres endpoint's rates over the last interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PgRates {
    /// Rows read per second (`tup_returned + tup_fetched`).
    pub tup_read: f64,
    /// Rows written per second (inserted, updated, deleted).
    pub tup_written: f64,
    /// Rollbacks per second.
    pub rollbacks: f64,
    /// Deadlocks since the console started watching (this server run).
    pub deadlocks: u64,
    /// Temporary files since then.
    pub temp_files: u64,
    /// Recovery conflicts since then (replicas).
    pub conflicts: u64,
}

/// Everything about one source that the header and Backends pane show.
#[derive(Debug, Clone)]
pub struct SourceState {
    /// Source id.
    pub id: SourceId,
    /// Display name (never contains a secret).
    pub name: String,
    /// What it watches.
    pub kind: SourceKind,
    /// Connection state.
    pub status: SourceStatus,
    /// When `status` last changed.
    pub status_at: Option<Timestamp>,
    /// Generation of the latest sample (bumped on reconnect or reset).
    pub generation: u32,
    /// Pool backend (Redis and Postgres sources).
    pub backend: Option<BackendId>,
    /// Optimizer backend id.
    pub opt_id: Option<u32>,
    /// Last health-check round trip, ms.
    pub rtt_ms: Option<f64>,
    /// Recent round trips (ms), newest last.
    pub rtt_history: VecDeque<f64>,
    /// Worst round trip (µs) of each group of [`RTT_GROUP`] checks, newest
    /// last: the sparkline moves once per group, not on every check.
    pub rtt_groups: VecDeque<u64>,
    pub(crate) rtt_group: (u64, u32),
    /// Operations (Redis commands or Postgres transactions) per second,
    /// over the interval between the last two readings (see `rates_at`).
    pub ops_per_sec: f64,
    /// When the rates were last computed from two readings of one run
    /// (`None`: fewer than two readings since connecting, or a gap): no
    /// rate is shown before.
    pub rates_at: Option<Timestamp>,
    /// Redis: the latest readings' (at, hits, misses) with the console's
    /// own lookups taken out, newest last: the header's hit ratio sums
    /// those of live nodes only.
    pub recent_lookups: VecDeque<(Timestamp, u64, u64)>,
    /// Redis: `XADD`s per second on this node while the access-event
    /// stream lives here: the stream's own traffic, taken out of
    /// `ops_per_sec` and shown apart.
    pub stream_xadd_per_sec: f64,
    /// Redis: the event reader's command count at the previous reading,
    /// while the stream lives here.
    pub(crate) stream_reader_seen: Option<u64>,
    /// Redis: why the key sampler is not sampling, if it is not.
    pub sampler_problem: Option<String>,
    /// Postgres: what the role cannot see (no `pg_read_all_stats`), as
    /// the latest refresh found.
    pub pg_privilege_note: Option<String>,
    /// Errors seen (failed checks).
    pub errors: u64,
    /// Used bytes and capacity (Redis memory, Postgres database size).
    pub used: u64,
    /// Capacity in bytes (0 = unknown / unlimited).
    pub capacity: u64,
    /// Replication lag in bytes (Postgres).
    pub lag_bytes: u64,
    /// Redis: keys evicted and expired per second over the last interval.
    pub evicted_per_sec: f64,
    /// Keys expired per second.
    pub expired_per_sec: f64,
    /// Redis: the last `INFO` figures (memory, fragmentation, clients, link).
    pub redis_info: Option<RedisStats>,
    /// Redis: the busiest commands over the last interval.
    pub top_commands: Vec<CommandRate>,
    pub(crate) command_totals: FxHashMap<String, (u64, u64)>,
    /// Redis: the newest slow-log entries, oldest first (at most [`SLOWLOG_KEPT`]).
    pub slowlog: VecDeque<SlowEntry>,
    /// Valkey: the newest `COMMANDLOG` large-request entries, oldest first
    /// (at most [`LARGE_KEPT`]).
    pub large_requests: VecDeque<LargeEntry>,
    /// Valkey: the newest `COMMANDLOG` large-reply entries, oldest first.
    pub large_replies: VecDeque<LargeEntry>,
    /// Valkey: `CLUSTER SLOT-STATS` as last read, and when.
    pub slot_stats: Option<(SlotStats, Timestamp)>,
    /// Redis: `LATENCY LATEST` as last read.
    pub latency_events: Vec<LatencyEvent>,
    /// Redis: keyspace notifications (`--key-events`): exact misses per
    /// key and per prefix row, expiries and evictions per row, and what
    /// the server publishes.
    pub key_events: Option<crate::engines::keyevents::KeyEventBoard>,
    /// Access-event stream: entries read, malformed, lag.
    pub stream: Option<crate::sample::StreamStats>,
    /// Buffer-cache hits and reads in the last interval (Postgres only).
    pub buffer: (u64, u64),
    /// Postgres: the last refresh's activity and replication figures.
    pub pg_detail: Option<crate::sample::PgDetail>,
    /// Postgres: rates over the last interval.
    pub pg_rates: PgRates,
    pub(crate) pg_detail_counters: CumulativeSet<5>,
    /// Postgres: why `pg_stat_statements` cannot be read, if it cannot.
    pub pg_statements_note: Option<String>,
    /// Postgres: statements in the last `pg_stat_statements` read.
    pub pg_statements: usize,
    /// Postgres: the inactive slot last announced in the status line.
    pub(crate) pg_alerted: Option<String>,
    /// Commands per second heliostat itself sent (the observer effect).
    pub own_ops_per_sec: f64,
    pub(crate) redis_counters: CumulativeSet<8>,
    pub(crate) pg_counters: CumulativeSet<4>,
    pub(crate) last_stats_at: Option<Timestamp>,
}

impl SourceState {
    pub(crate) fn new(id: SourceId, name: String, kind: SourceKind) -> Self {
        Self {
            id,
            name,
            kind,
            status: SourceStatus::Connected,
            status_at: None,
            generation: 0,
            backend: None,
            opt_id: None,
            rtt_ms: None,
            rtt_history: VecDeque::new(),
            rtt_groups: VecDeque::new(),
            rtt_group: (0, 0),
            ops_per_sec: 0.0,
            rates_at: None,
            recent_lookups: VecDeque::new(),
            stream_xadd_per_sec: 0.0,
            stream_reader_seen: None,
            sampler_problem: None,
            pg_privilege_note: None,
            own_ops_per_sec: 0.0,
            errors: 0,
            used: 0,
            capacity: 0,
            lag_bytes: 0,
            evicted_per_sec: 0.0,
            expired_per_sec: 0.0,
            redis_info: None,
            top_commands: Vec::new(),
            command_totals: FxHashMap::default(),
            slowlog: VecDeque::new(),
            large_requests: VecDeque::new(),
            large_replies: VecDeque::new(),
            slot_stats: None,
            key_events: None,
            latency_events: Vec::new(),
            stream: None,
            buffer: (0, 0),
            pg_detail: None,
            pg_rates: PgRates::default(),
            pg_detail_counters: CumulativeSet::new(),
            pg_statements_note: None,
            pg_statements: 0,
            pg_alerted: None,
            redis_counters: CumulativeSet::new(),
            pg_counters: CumulativeSet::new(),
            last_stats_at: None,
        }
    }
}

impl SourceState {
    /// Why this source's figures are not current at `now`: it is down (its
    /// reason), or it has sent none for longer than [`stale_after_ms`].
    /// `None` while they are current (or before the first reading).
    pub fn stale(&self, now: Timestamp, refresh_ms: u64) -> Option<String> {
        match &self.status {
            SourceStatus::Retrying { reason, .. } => return Some(format!("down: {reason}")),
            SourceStatus::Error(e) => return Some(e.clone()),
            SourceStatus::Connected => {}
        }
        // Silent since the latest reading, or since (re)connecting.
        let since = match (self.last_stats_at, self.status_at) {
            (Some(l), Some(c)) => l.max(c),
            (l, c) => l.or(c)?,
        };
        let silent = now.millis_since(since);
        (silent > stale_after_ms(refresh_ms)).then(|| format!("silent for {}", age(silent)))
    }

    /// The operation rate when it is current at `now`: two readings of one
    /// run exist and the source is neither down nor silent.
    pub fn live_ops(&self, now: Timestamp, refresh_ms: u64) -> Option<f64> {
        (self.rates_at.is_some() && self.stale(now, refresh_ms).is_none())
            .then_some(self.ops_per_sec)
    }

    /// What parts of this source fail while it is connected (the key
    /// sampler, keyspace notifications, a privilege the role lacks), in
    /// the server's words where it gave any; the most telling first.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.sampler_problem {
            out.push(format!("key sampler: {p}"));
        }
        if let Some(p) = &self.pg_privilege_note {
            out.push(p.clone());
        }
        if let Some(n) = self.key_events.as_ref().and_then(|k| k.note.as_ref()) {
            out.push(format!("keyspace notifications: {n}"));
        }
        out
    }

    /// How old the latest figures are at `now`.
    pub fn figures_age_ms(&self, now: Timestamp) -> Option<u64> {
        self.last_stats_at.map(|t| now.millis_since(t))
    }

    /// Note one reading's lookups (Redis), keeping the newest few.
    pub(crate) fn note_lookups(&mut self, at: Timestamp, hits: u64, misses: u64) {
        self.recent_lookups.push_back((at, hits, misses));
        while self.recent_lookups.len() > LOOKUPS_KEPT {
            self.recent_lookups.pop_front();
        }
    }

    /// Turn cumulative commandstats into the interval's busiest commands;
    /// after a reset (`fresh`) there is only a new baseline.
    pub(crate) fn observe_commands(&mut self, stats: &[(String, u64, u64)], dt: f64, fresh: bool) {
        let mut rates = Vec::new();
        // Only the latest INFO's commands are kept (it lists every command
        // called since the last reset, at most MAX_COMMANDS of them), so a
        // name that is gone is forgotten.
        let mut old = std::mem::take(&mut self.command_totals);
        for (name, calls, usec) in stats.iter().take(MAX_COMMANDS) {
            self.command_totals.insert(name.clone(), (*calls, *usec));
            let before = old.remove(name);
            if let (false, Some((c0, u0))) = (fresh, before)
                && *calls > c0
                && dt > 0.0
            {
                let dc = calls - c0;
                rates.push(CommandRate {
                    name: name.clone(),
                    per_sec: dc as f64 / dt,
                    us_per_call: usec.saturating_sub(u0) as f64 / dc as f64,
                });
            }
        }
        rates.sort_by(|a, b| b.per_sec.total_cmp(&a.per_sec).then(a.name.cmp(&b.name)));
        rates.truncate(5);
        self.top_commands = rates;
    }

    /// Keep new `COMMANDLOG` large entries (already newer than the last
    /// seen), the newest [`LARGE_KEPT`] of each log.
    pub(crate) fn add_large(&mut self, log: &CommandLog) {
        for (kept, new) in [
            (&mut self.large_requests, &log.large_request),
            (&mut self.large_replies, &log.large_reply),
        ] {
            kept.extend(new.iter().cloned());
            while kept.len() > LARGE_KEPT {
                kept.pop_front();
            }
        }
    }

    /// Keep new slow-log entries (already newer than the last seen).
    pub(crate) fn add_slow(&mut self, entries: &[SlowEntry]) {
        self.slowlog.extend(entries.iter().cloned());
        while self.slowlog.len() > SLOWLOG_KEPT {
            self.slowlog.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> SourceState {
        SourceState::new(SourceId(1), "cache-1:6379".into(), SourceKind::Redis)
    }

    #[test]
    fn only_the_latest_infos_commands_are_kept() {
        let mut s = node();
        for round in 0..1_000u64 {
            let stats: Vec<(String, u64, u64)> = (0..1_000)
                .map(|i| (format!("cmd{}", round * 1_000 + i), 10, 10))
                .collect();
            s.observe_commands(&stats, 1.0, false);
            assert!(s.command_totals.len() <= MAX_COMMANDS);
        }
        assert!(s.command_totals.contains_key("cmd999999"));
        assert!(
            !s.command_totals.contains_key("cmd0"),
            "gone from INFO: forgotten"
        );
        // A command seen in two INFOs has a rate.
        let again = vec![("cmd999999".to_string(), 30, 50)];
        s.observe_commands(&again, 2.0, false);
        assert_eq!(s.top_commands.len(), 1);
        assert_eq!(s.top_commands[0].per_sec, 10.0);
    }
}
