//! What the console knows about one source: status, health history and the
//! figures derived from its cumulative counters.

use std::collections::VecDeque;

use crate::engines::Timestamp;
use crate::engines::counters::CumulativeSet;
use crate::engines::pool::BackendId;
use crate::sample::{RedisStats, SourceId, SourceKind, SourceStatus};

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
    /// Operations (Redis commands or Postgres transactions) per second.
    pub ops_per_sec: f64,
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
    /// Access-event stream: entries read, malformed, lag.
    pub stream: Option<crate::sample::StreamStats>,
    /// Buffer-cache hits and reads in the last interval (Postgres only).
    pub buffer: (u64, u64),
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
            generation: 0,
            backend: None,
            opt_id: None,
            rtt_ms: None,
            rtt_history: VecDeque::new(),
            rtt_groups: VecDeque::new(),
            rtt_group: (0, 0),
            ops_per_sec: 0.0,
            own_ops_per_sec: 0.0,
            errors: 0,
            used: 0,
            capacity: 0,
            lag_bytes: 0,
            evicted_per_sec: 0.0,
            expired_per_sec: 0.0,
            redis_info: None,
            stream: None,
            buffer: (0, 0),
            redis_counters: CumulativeSet::new(),
            pg_counters: CumulativeSet::new(),
            last_stats_at: None,
        }
    }
}
