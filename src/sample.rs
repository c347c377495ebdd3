//! `Sample`: what a source sends the app loop. The same shape from the demo,
//! from real servers and (later) from a recorded session, so it is serde-able.
//!
//! Counters are cumulative, exactly as servers report them; the app turns them
//! into deltas with reset detection, so a restart shows as a gap, not a spike.

use serde::{Deserialize, Serialize};

pub use crate::engines::statements::StatementCounters;

use crate::engines::Timestamp;
pub use crate::engines::keyevents::{KeyEventSetup, KeyEvents, KeyEventsStopped};
pub use crate::engines::keyspace::{KeyHeat, KeyKind, KeyspaceSample, SampledKey};
pub use crate::engines::sessions::{ClientList, PgSession, PgSessionList, PgState, RedisClient};

mod diag;
pub use diag::{CommandLog, LargeEntry, LatencyEvent, SlotCount, SlotStats, SlowEntry};

/// Index of a source in the app's source table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceId(pub u16);

/// What kind of endpoint a source watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceKind {
    /// A Redis (or Valkey) node.
    Redis,
    /// A Postgres primary.
    PgPrimary,
    /// A Postgres replica.
    PgReplica,
    /// An access-event stream.
    Events,
}

impl SourceKind {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Redis => "redis",
            SourceKind::PgPrimary => "pg primary",
            SourceKind::PgReplica => "pg replica",
            SourceKind::Events => "events",
        }
    }
}

/// What a Redis node is in its replication set, as its own `INFO` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RedisRole {
    /// `role:master`: takes writes (a cluster shard's or Sentinel's primary).
    Primary,
    /// `role:slave`: replicates a primary.
    Replica,
}

/// A source's connection state, as shown in the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceStatus {
    /// Polling normally.
    Connected,
    /// Lost; the next attempt is at `at`.
    Retrying {
        /// When the next attempt happens.
        at: Timestamp,
        /// Why the last attempt failed (never contains a secret).
        reason: String,
    },
    /// Given up or misconfigured.
    Error(String),
}

/// One sample from one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Which source sent it.
    pub source: SourceId,
    /// Bumped on reconnect or a detected stats reset.
    pub generation: u32,
    /// When it was observed (virtual time in the demo).
    pub at: Timestamp,
    /// What was observed.
    pub body: Body,
}

/// The observations a sample can carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// The source announces itself (first sample, and after a reconnect).
    Hello {
        /// Display name (host:port or a configured name; never a secret).
        name: String,
        /// What it watches.
        kind: SourceKind,
    },
    /// Connection state changed.
    Status(SourceStatus),
    /// A health check: `PING` or `SELECT 1` round trip.
    Health {
        /// Whether the check succeeded.
        ok: bool,
        /// Round-trip time in microseconds, when it succeeded.
        rtt_us: Option<u64>,
    },
    /// Cumulative Redis `INFO` figures.
    Redis(RedisStats),
    /// Cumulative Postgres database figures.
    Postgres(PgStats),
    /// Cumulative per-table block counters (`pg_statio_user_tables`).
    Tables(Vec<TableCounters>),
    /// Aggregated cache accesses since the previous sample (access events or
    /// the demo); never dropped by the channel.
    Accesses(Vec<AccessAgg>),
    /// Key-sampler observations (TTL and access counts of sampled keys).
    Keys(Vec<KeyObs>),
    /// Accesses per key since the previous sample (access events); never
    /// dropped.
    KeyAccesses(Vec<KeyAccess>),
    /// Cumulative figures of an access-event stream reader.
    Stream(StreamStats),
    /// `SLOWLOG GET` entries newer than the last seen, oldest first.
    Slowlog(Vec<SlowEntry>),
    /// Valkey ≥ 8.1 `COMMANDLOG` large-request / large-reply entries newer
    /// than the last seen, oldest first.
    CommandLog(CommandLog),
    /// Valkey ≥ 8.0 `CLUSTER SLOT-STATS`: the node's slots with the most
    /// keys (and CPU time, where the server counts it).
    SlotStats(SlotStats),
    /// `LATENCY LATEST`: the latest spike of each monitored event.
    Latency(Vec<LatencyEvent>),
    /// Keyspace notifications since the previous sample (`--key-events`):
    /// keys that missed, expired, were evicted; or what the server publishes.
    KeyEvents(KeyEvents),
    /// One batch of a Redis node's key sampler (`SCAN` + per-key `PTTL`,
    /// `TYPE`, `OBJECT FREQ|IDLETIME`, optional sizes): feeds the keyspace
    /// estimates, the warming engine (TTLs, hot keys) and the heatmap's
    /// sampled prefix rows. Carries its own TTLs, so a sampler sends no
    /// `Keys`; its `generation` is 0 and does not touch the source's.
    Keyspace(KeyspaceSample),
    /// Progress of a warm job running against this source; never dropped.
    WarmProgress(WarmProgress),
    /// `pg_stat_statements` of a Postgres endpoint (cumulative, busiest
    /// first), or why it cannot be read.
    Statements(Statements),
    /// What the client-statistics sink did; never dropped.
    Sink(SinkReport),
    /// A warm dry run for the confirm dialog.
    WarmDry(WarmDry),
    /// Why a Redis node's key sampler is not sampling (`None`: it is
    /// again); its `generation` is 0 and does not touch the source's.
    SamplerStatus(Option<String>),
    /// A Redis node's `CLIENT LIST` (every 5 s at most), or why not.
    RedisClients(ClientList),
    /// A Postgres endpoint's `pg_stat_activity` (every 5 s at most).
    PgSessions(PgSessionList),
    /// What a cancel, terminate or `CLIENT KILL` did, in words (`ok`
    /// false: why not).
    SessionOp {
        /// For the status line.
        text: String,
        /// It did what was asked.
        ok: bool,
    },
}

/// What the client-statistics sink reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SinkReport {
    /// The answer for flush batch `seq`.
    Flushed {
        /// The batch's number.
        seq: u64,
        /// What happened to it.
        outcome: FlushOutcome,
    },
    /// The shared totals as stored (every console's flushes), busiest first.
    Stored(Vec<StoredClient>),
    /// Reading the totals back (or setting up the tables) failed.
    ReadFailed(String),
}

/// How one flush ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlushOutcome {
    /// Committed.
    Written,
    /// An earlier attempt of this batch had committed: nothing written now.
    AlreadyWritten,
    /// Not written (never sent, or the server rolled it back).
    Failed(String),
    /// Unknown whether it committed (the connection broke after sending).
    InDoubt(String),
}

/// One client's totals as stored by every console's sink together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClient {
    /// `client_name`.
    pub name: String,
    /// `total_requests`.
    pub requests: i64,
    /// `successful_requests`.
    pub successes: i64,
    /// `failed_requests`.
    pub failures: i64,
    /// `total_cached_requests`.
    pub cached: i64,
    /// `total_operations`.
    pub operations: i64,
    /// `last_seen_at` (else the last request), as unix ms.
    pub last_seen_ms: Option<i64>,
}

/// What `pg_stat_statements` said, on the slower cadence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statements {
    /// Why there are no rows: not installed, not preloaded, or the role
    /// lacks `pg_read_all_stats` (`None`: readable).
    pub unavailable: Option<String>,
    /// Per normalised statement (busiest by total time first).
    pub rows: Vec<StatementCounters>,
}

/// How far a warm job got (cumulative for the job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmProgress {
    /// The job (ids come from the app's job board).
    pub job: u64,
    /// Keys dealt with so far, by outcome.
    pub tally: crate::engines::warming::Tally,
    /// Set when the job ended: `Ok(())` done, `Err(reason)` failed or cancelled.
    pub finished: Option<Result<(), String>>,
    /// Keys the job has, once known (a preload learns them from its query).
    #[serde(default)]
    pub total: Option<u64>,
    /// With `finished`: the keys not written for a reason of their own (no
    /// row, a NULL value, no usable TTL, refused), by hash, bounded.
    #[serde(default)]
    pub unwritten: Vec<u64>,
}

/// A dry run for the confirm dialog, computed from the servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmDry {
    /// Which dialog asked (the app's request number).
    pub id: u64,
    /// The dialog's lines: per rule the target, rate limit and counts.
    pub lines: Vec<String>,
    /// Nothing could be looked at (no rule, servers unreachable).
    pub failed: bool,
    /// Keys that match no warm rule (skipped), and one of them: the app
    /// words the line, so the example can be redacted as the screen is.
    #[serde(default)]
    pub unmatched: u64,
    /// One of the unmatched keys, as an example.
    #[serde(default)]
    pub unmatched_example: Option<String>,
}

/// Cumulative counters and gauges from Redis `INFO`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisStats {
    /// Hash of `run_id`: a change is a restart.
    pub run_id: u64,
    /// `keyspace_hits`.
    pub keyspace_hits: u64,
    /// `keyspace_misses`.
    pub keyspace_misses: u64,
    /// `total_commands_processed`.
    pub commands: u64,
    /// `evicted_keys`.
    pub evicted_keys: u64,
    /// `expired_keys`.
    pub expired_keys: u64,
    /// `used_memory` in bytes.
    pub used_memory: u64,
    /// `maxmemory` in bytes (0 = unlimited).
    pub maxmemory: u64,
    /// `connected_clients`.
    pub connected_clients: u64,
    /// Keys in all databases.
    pub keys: u64,
    /// `used_memory_rss` in bytes.
    pub used_memory_rss: u64,
    /// `mem_fragmentation_ratio` in thousandths (1200 = 1.2), when reported.
    pub fragmentation_milli: Option<u32>,
    /// `blocked_clients`.
    pub blocked_clients: u64,
    /// `rejected_connections` (cumulative).
    pub rejected_connections: u64,
    /// `master_link_status` on a replica (`None` on a primary).
    pub master_link_up: Option<bool>,
    /// `role`, when the server said (the demo leaves it out): a failover
    /// shows as a change here.
    #[serde(default)]
    pub role: Option<RedisRole>,
    /// Commands heliostat itself sent this node (cumulative for the
    /// console's run, never reset): subtracted from `commands`.
    pub own_commands: u64,
    /// Keyspace hits heliostat's own lookups caused (subtracted).
    pub own_hits: u64,
    /// Keyspace misses heliostat's own lookups caused (subtracted).
    pub own_misses: u64,
    /// `uptime_in_seconds`.
    pub uptime_s: u64,
    /// Per-command cumulative (name, calls, µs) from `INFO commandstats`.
    pub commandstats: Vec<(String, u64, u64)>,
    /// Per-command latency percentiles (name, [p50, p99, p99.9] in ns) from
    /// `INFO latencystats` (Redis ≥ 7; since the last stats reset).
    pub latencystats: Vec<(String, [u64; 3])>,
    /// Commands past the per-`INFO` cap, left out of the two lists above.
    #[serde(default)]
    pub commands_dropped: u64,
    /// Replicas attached (a primary).
    pub replicas: u32,
    /// Bytes the slowest replica is behind (a primary with replicas).
    pub replica_lag_bytes: Option<u64>,
}

/// Cumulative counters and gauges from Postgres statistics views.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgStats {
    /// Hash of `stats_reset` and postmaster start: a change is a reset.
    pub epoch: u64,
    /// `xact_commit + xact_rollback`.
    pub xacts: u64,
    /// `xact_rollback`.
    pub rollbacks: u64,
    /// `blks_hit` (shared buffers).
    pub blks_hit: u64,
    /// `blks_read`.
    pub blks_read: u64,
    /// Connections in `pg_stat_activity`.
    pub connections: u64,
    /// Replication lag in bytes (replica) or the worst replica's (primary).
    pub lag_bytes: u64,
    /// Database size in bytes.
    pub size_bytes: u64,
    /// What a live server adds (activity, tuples, replication); the demo
    /// leaves it out.
    #[serde(default)]
    pub detail: Option<PgDetail>,
}

/// The rest of a Postgres refresh: cumulative counters of
/// `pg_stat_database` beyond the core ones, gauges from `pg_stat_activity`
/// and replication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgDetail {
    /// `server_version_num` (150004 = 15.4).
    pub version: u32,
    /// `tup_returned + tup_fetched` (cumulative).
    pub tup_read: u64,
    /// `tup_inserted + tup_updated + tup_deleted` (cumulative).
    pub tup_written: u64,
    /// `deadlocks` (cumulative).
    pub deadlocks: u64,
    /// `temp_files` (cumulative).
    pub temp_files: u64,
    /// `conflicts`: queries cancelled by recovery conflicts (replicas).
    pub conflicts: u64,
    /// Client sessions running a statement.
    pub active: u32,
    /// Idle client sessions.
    pub idle: u32,
    /// Sessions idle inside a transaction (they hold locks and snapshots).
    pub idle_in_xact: u32,
    /// Active sessions waiting on something (`wait_event` set).
    pub waiting: u32,
    /// The most common `wait_event` among them.
    pub top_wait: Option<String>,
    /// Sessions blocked by another (`pg_blocking_pids`).
    pub blocked: u32,
    /// The pids blocking them (at most a few), so the blocker can be found.
    pub blockers: Vec<u32>,
    /// Age of the oldest open transaction, ms (0 = none).
    pub oldest_xact_ms: u64,
    /// Replicas streaming from this primary (`pg_stat_replication`).
    pub replicas: u32,
    /// Replication lag in time, ms: the slowest replica's `replay_lag` on a
    /// primary, the time since the last replayed transaction on a replica
    /// that is behind (0 when received = replayed).
    pub lag_ms: Option<u64>,
    /// Replication slots.
    pub slots: u32,
    /// Slots nobody is reading: they keep WAL until the disk fills.
    pub inactive_slots: u32,
    /// The slot most worth a look: the inactive one retaining the most WAL,
    /// else the active one retaining the most. Name, bytes, active.
    pub worst_slot: Option<(String, u64, bool)>,
    /// What this role cannot see, checked at every refresh (no
    /// `pg_read_all_stats`: other roles' sessions and statements are
    /// hidden, so the session figures are partial).
    #[serde(default)]
    pub hidden: Option<String>,
}

/// Cumulative block counters of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCounters {
    /// Table name (schema-qualified unless `public`).
    pub table: String,
    /// `heap_blks_hit + idx_blks_hit`.
    pub blks_hit: u64,
    /// `heap_blks_read + idx_blks_read`.
    pub blks_read: u64,
    /// `seq_scan` (`pg_stat_user_tables`; 0 from the demo).
    #[serde(default)]
    pub seq_scan: u64,
    /// `idx_scan`.
    #[serde(default)]
    pub idx_scan: u64,
}

/// Cache accesses of one (client, table, query, operation) since the last sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessAgg {
    /// Application client name.
    pub client: String,
    /// Table (or key prefix) accessed.
    pub table: String,
    /// Query text, if known (fingerprinted by the app, cached).
    pub query: Option<String>,
    /// Operation (get, set, select, …).
    pub op: String,
    /// Accesses.
    pub count: u32,
    /// Cache lookups among them (writes are accesses but not lookups): the
    /// denominator of hit ratios.
    pub lookups: u32,
    /// Cache hits among them.
    pub hits: u32,
    /// Failed requests among them.
    pub errors: u32,
    /// Time saved by the hits, microseconds.
    pub saved_us: u64,
    /// Summed latency, microseconds.
    pub latency_us: u64,
}

/// Accesses of one key since the previous sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAccess {
    /// Key name.
    pub key: String,
    /// Accesses (scaled by the events' sample rate).
    pub count: u32,
    /// Lookups that hit.
    pub hits: u32,
    /// Lookups that missed.
    pub misses: u32,
}

/// How an access-event stream reader is doing (cumulative for its run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamStats {
    /// Stream entries read.
    pub read: u64,
    /// Entries skipped as malformed.
    pub malformed: u64,
    /// Why the latest malformed entry was skipped (id and reason).
    pub last_malformed: Option<String>,
    /// How far behind the newest entry read is: wall clock minus the
    /// entry id's millisecond part (the stream's server clock).
    pub lag_ms: Option<i64>,
    /// Tables named past the per-event limit, dropped.
    pub tables_dropped: u64,
    /// Key accesses dropped because a flush already held its most keys.
    pub keys_dropped: u64,
    /// Events counted in the `(other)` group because a flush already held
    /// its most groups.
    pub groups_folded: u64,
    /// The server holding the stream, by its address (`host:port`, as a
    /// node source is named): its `XADD`s are the stream's own traffic.
    #[serde(default)]
    pub node: Option<String>,
    /// The same server's `run_id` hash, when `INFO` is allowed (a surer
    /// match than the address: `localhost` and `127.0.0.1` are one node).
    #[serde(default)]
    pub node_run: Option<u64>,
    /// Commands the reader sent that server (cumulative for the console's
    /// run): the console's own load there, taken out like the pollers'.
    #[serde(default)]
    pub commands: u64,
}

impl StreamStats {
    /// Everything the reader's limits dropped (tables and key accesses).
    pub fn dropped(&self) -> u64 {
        self.tables_dropped.saturating_add(self.keys_dropped)
    }
}

/// What the key sampler saw of one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyObs {
    /// Key name.
    pub key: String,
    /// Which node holds it (a source id of a Redis node).
    pub node: SourceId,
    /// Remaining TTL in ms; `None` = missing (TTL -2); `Some(-1)` = no expiry.
    pub ttl_ms: Option<i64>,
    /// Accesses seen since the previous sample (from events or the demo).
    pub accesses: u32,
}
