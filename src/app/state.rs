//! Application state: the engines, the sources table and what the panes show.
//! `apply` feeds samples to the engines; `tick` recomputes derived data once
//! per data tick so rendering only reads.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::derive::Derived;
use super::keyspace::KeyspaceBoard;
pub use super::source::SourceState;
use super::ui_state::UiState;
use crate::engines::Timestamp;
use crate::engines::clients::{ClientsConfig, ClientsEngine};
use crate::engines::heatmap::{Heatmap, HeatmapConfig};
use crate::engines::optimizer::{BackendKind, Optimizer, OptimizerConfig};
use crate::engines::pool::{BackendConfig, Pool, PoolConfig};
use crate::engines::warming::{JobBoard, WarmingConfig, WarmingEngine};
use crate::sample::{Body, Sample, SourceId, SourceKind, SourceStatus};

/// Health checks per sparkline point.
pub const RTT_GROUP: u32 = 5;

/// How long a status message stays (ms).
pub const STATUS_MS: u64 = 6_000;

/// How many per-tick points the header sparklines keep.
pub const HISTORY: usize = 120;

/// Per data tick: the cache's hits and misses summed over Redis nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickTotals {
    /// Σ Δkeyspace_hits.
    pub hits: u64,
    /// Σ Δkeyspace_misses.
    pub misses: u64,
    /// Σ Δcommands.
    pub commands: u64,
    /// A reset happened (restart): this point is a gap.
    pub gap: bool,
    /// How many node reports went into this point.
    pub reports: u32,
}

/// Static facts about the session shown in the header.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Context name, if any.
    pub context: Option<String>,
    /// Banner label and colour name (e.g. a red PROD).
    pub banner: Option<(String, String)>,
    /// Running the built-in demo.
    pub demo: bool,
    /// Writes are allowed in this context.
    pub writes_allowed: bool,
    /// Automatic warming (preload at start, background refresh,
    /// predictive) starts jobs by itself: `auto_warm = true` or
    /// `--auto-warm`, live, with writes allowed. Off, the rounds only plan.
    pub auto_warm: bool,
    /// Key names are shown only up to their prefix.
    pub redact_keys: bool,
    /// Key prefix delimiter (`--key-delimiter`): keys named by access
    /// events, probes and expiry notifications group by it as the
    /// sampler's do, and redaction keeps the part before it.
    pub key_delimiter: String,
    /// Why writes are off, for the status line (e.g. "--read-only was given").
    pub read_only_reason: Option<String>,
    /// Disk the Postgres databases may use (`--pg-capacity`): the size is
    /// shown against it, and the pool model counts it as capacity.
    pub pg_capacity: Option<u64>,
    /// Listening to keyspace notifications (`--key-events`).
    pub key_events: bool,
    /// The access-event stream this console reads (`--events`): its key
    /// is left out of the key sampler's batches (heliostat's input, not
    /// the application's data).
    pub event_stream: Option<String>,
}

impl Default for SessionInfo {
    fn default() -> Self {
        Self {
            context: None,
            banner: None,
            demo: false,
            writes_allowed: false,
            auto_warm: false,
            redact_keys: false,
            key_delimiter: crate::engines::keyspace::DEFAULT_DELIMITER.to_string(),
            read_only_reason: None,
            pg_capacity: None,
            key_events: false,
            event_stream: None,
        }
    }
}

/// The whole application state.
#[derive(Debug)]
pub struct State {
    /// Session facts.
    pub session: SessionInfo,
    /// Virtual or wall-clock time of the latest data tick.
    pub now: Timestamp,
    /// Data refresh interval in ms.
    pub refresh_ms: u64,
    /// Sources by id.
    pub sources: Vec<SourceState>,
    /// Cache heatmap engine.
    pub heatmap: Heatmap,
    /// Warming engine.
    pub warming: WarmingEngine,
    /// Warm jobs.
    pub jobs: JobBoard,
    /// Backend optimizer.
    pub optimizer: Optimizer,
    /// What-if pool model of the cache nodes (keys route among them).
    pub pool: Pool,
    /// What-if pool model of the database endpoints (reads route among them).
    pub db_pool: Pool,
    /// Client statistics.
    pub clients: ClientsEngine,
    /// Per-node keyspace estimates from the key samplers.
    pub keyspace: KeyspaceBoard,
    /// Totals accumulated since the last tick.
    pub pending: TickTotals,
    /// Per-tick totals, newest last.
    pub history: VecDeque<TickTotals>,
    /// Derived data for the panes (recomputed at each data tick).
    pub derived: Derived,
    /// Navigation, selection, dialogs.
    pub ui: UiState,
    /// `pg_stat_statements` rates by fingerprint row.
    pub pg_statements: crate::engines::statements::StatementBoard<SourceId>,
    /// Per endpoint, per table: its block counters' baseline (rows are
    /// shared by endpoints, counters are not).
    pub(crate) pg_tables:
        crate::engines::statements::PerEndpoint<SourceId, u64, super::pg::TableSeen>,
    /// Live warming: rules, the dialog's dry run, the strategies' rounds.
    pub warm: super::warm::WarmBoard,
    /// The client-statistics sink's state and the totals it read back.
    pub sink: super::sink::SinkBoard,
    /// The latest `CLIENT LIST` / `pg_stat_activity` per source.
    pub sessions: crate::engines::sessions::SessionsEngine<SourceId>,
    /// Job id → keys (their hashes), for `note_refreshed` when done.
    pub(crate) job_keys: FxHashMap<u64, Vec<u64>>,
    last_tick: Option<Timestamp>,
}

impl State {
    /// Empty state for a session.
    pub fn new(session: SessionInfo, refresh_ms: u64) -> Self {
        Self {
            session,
            now: Timestamp(0),
            refresh_ms,
            sources: Vec::new(),
            heatmap: Heatmap::new(HeatmapConfig::default()),
            warming: WarmingEngine::new(&WarmingConfig::default()),
            jobs: JobBoard::new(20),
            optimizer: Optimizer::new(OptimizerConfig::default()),
            pool: Pool::new(PoolConfig {
                strategy: crate::engines::pool::RoutingStrategy::ConsistentHash,
                ..PoolConfig::default()
            }),
            db_pool: Pool::new(PoolConfig {
                strategy: crate::engines::pool::RoutingStrategy::LatencyAware,
                ..PoolConfig::default()
            }),
            clients: ClientsEngine::new(ClientsConfig::default()),
            keyspace: KeyspaceBoard::default(),
            pending: TickTotals::default(),
            history: VecDeque::new(),
            derived: Derived::default(),
            ui: UiState::default(),
            sink: super::sink::SinkBoard::default(),
            warm: super::warm::WarmBoard::default(),
            pg_statements: crate::engines::statements::StatementBoard::default(),
            pg_tables: FxHashMap::default(),
            sessions: crate::engines::sessions::SessionsEngine::new(),
            job_keys: FxHashMap::default(),
            last_tick: None,
        }
    }

    /// Add backends the user declared with static figures to the optimizer,
    /// so the seed's kinds (Kafka, NATS, …) rank beside measured instances.
    pub fn declare(&mut self, declared: &[crate::config::DeclaredBackend], now: Timestamp) {
        use crate::config::DeclaredKind as K;
        for b in declared {
            let kind = match b.kind {
                K::Kafka => BackendKind::Kafka,
                K::Nats => BackendKind::Nats,
                K::Pulsar => BackendKind::Pulsar,
                K::Kinesis => BackendKind::Kinesis,
                K::Memory => BackendKind::Memory,
                K::Redis => BackendKind::Redis,
            };
            let figures = crate::engines::optimizer::StaticFigures {
                latency_ms: b.latency_ms,
                latency_p99_ms: b.p99_ms,
                throughput_eps: b.throughput_eps,
                reliability: b.reliability,
                cost_per_hour: b.cost_per_hour,
            };
            self.optimizer.declare_static(&b.name, kind, figures, now);
        }
    }

    /// The source with id `id`, if it said hello.
    pub fn source(&self, id: SourceId) -> Option<&SourceState> {
        self.sources.iter().find(|s| s.id == id)
    }

    pub(crate) fn source_mut(&mut self, id: SourceId) -> Option<&mut SourceState> {
        self.sources.iter_mut().find(|s| s.id == id)
    }

    /// Feed one sample to the engines.
    pub fn apply(&mut self, s: &Sample) {
        let at = s.at;
        // A key sampler or a notification listener reconnects on its own:
        // its samples carry no generation.
        if let Some(src) = self.source_mut(s.source).filter(|_| {
            !matches!(
                s.body,
                Body::Keyspace(_) | Body::KeyEvents(_) | Body::SamplerStatus(_)
            )
        }) {
            src.generation = s.generation;
        }
        match &s.body {
            Body::Hello { name, kind } => self.hello(s.source, name, *kind, at),
            Body::Status(st) => {
                if let Some(src) = self.source_mut(s.source) {
                    if src.status != *st {
                        src.status_at = Some(at);
                    }
                    src.status = st.clone();
                    // A source that gave up (a URL that does not parse, an
                    // unsupported server) is down, not "never checked": the
                    // routing model must not send anything there.
                    let (backend, kind) = (src.backend, src.kind);
                    if let (SourceStatus::Error(_), Some(b)) = (st, backend) {
                        self.pool_for_mut(kind).set_backend_health(b, false, at);
                    }
                }
            }
            Body::Health { ok, rtt_us } => self.health(s.source, *ok, *rtt_us, at),
            Body::Redis(r) => self.redis(s.source, r, at),
            Body::Postgres(p) => self.postgres(s.source, p, at),
            Body::Tables(tables) => self.tables(s.source, s.generation, tables, at),
            Body::Accesses(aggs) => self.accesses(aggs, at),
            Body::Keys(keys) => {
                self.keys(keys, at);
                // The answer to a refresh / predictive round's probe.
                self.warm.round_answered |= s.source == crate::ops::warm::console::WARM_SOURCE;
            }
            Body::KeyAccesses(keys) => self.key_accesses(keys, at),
            Body::Stream(st) => self.stream(s.source, st, at),
            Body::Slowlog(e) => {
                if let Some(src) = self.source_mut(s.source) {
                    src.add_slow(e);
                }
            }
            Body::KeyEvents(e) => self.key_events(s.source, e, at),
            Body::CommandLog(log) => {
                if let Some(src) = self.source_mut(s.source) {
                    src.add_large(log);
                }
            }
            Body::SlotStats(st) => {
                if let Some(src) = self.source_mut(s.source) {
                    src.slot_stats = Some((st.clone(), at));
                }
            }
            Body::Latency(e) => {
                if let Some(src) = self.source_mut(s.source) {
                    src.latency_events.clone_from(e);
                }
            }
            Body::Keyspace(k) => {
                let k = self.without_own_stream(s.source, k);
                self.keyspace_sample(s.source, &k, at);
            }
            Body::WarmProgress(p) => self.warm_progress(p, at),
            Body::Statements(st) => self.statements(s.source, s.generation, st, at),
            Body::Sink(r) => self.sink_report(r, at),
            Body::WarmDry(d) => self.warm_dry(d),
            Body::SamplerStatus(problem) => {
                if let Some(src) = self.source_mut(s.source) {
                    src.sampler_problem.clone_from(problem);
                }
            }
            Body::RedisClients(l) => self.sessions.apply_redis(s.source, at, l),
            Body::PgSessions(l) => self.sessions.apply_pg(s.source, at, l),
            Body::SessionOp { text, ok } => self.ui.set_status(text.clone(), !ok, at),
        }
    }

    fn hello(&mut self, id: SourceId, name: &str, kind: SourceKind, at: Timestamp) {
        // A renamed source (a cluster node found behind its seed URL, a node
        // that moved) gives up its old pool backend unless another source shares it.
        if let Some(old) = self
            .source(id)
            .filter(|s| s.name != name)
            .and_then(|s| s.backend.map(|b| (b, s.kind)))
            && !self
                .sources
                .iter()
                .any(|s| s.id != id && s.backend == Some(old.0) && s.kind == old.1)
        {
            self.pool_for_mut(old.1).remove_backend(old.0);
        }
        let was = self.source(id).map(|s| s.kind);
        // A Postgres source announces itself before it knows its role; the
        // role read at its first refresh is news only after a refresh.
        let refreshed = self.source(id).is_some_and(|s| s.last_stats_at.is_some());
        if was.is_none() {
            self.sources
                .push(SourceState::new(id, name.to_string(), kind));
            self.sources.sort_by_key(|s| s.id);
        }
        let (backend, opt) = match kind {
            SourceKind::Events => (None, None),
            _ => {
                let opt_kind = match kind {
                    SourceKind::PgPrimary => BackendKind::PostgresPrimary,
                    SourceKind::PgReplica => BackendKind::PostgresReplica,
                    _ => BackendKind::Redis,
                };
                let mut cfg = BackendConfig::new(name);
                cfg.kind = kind.label().to_string();
                cfg.priority = if kind == SourceKind::Redis { 100 } else { 50 };
                let pool = self.pool_for_mut(kind);
                let b = match pool.id(name) {
                    // A promotion or demotion: the same backend, its new role.
                    Some(b) if was.is_some_and(|w| w != kind) => {
                        pool.update_backend(cfg).unwrap_or(b)
                    }
                    Some(b) => b,
                    None => pool.add_backend(cfg),
                };
                (Some(b), Some(self.optimizer.register(name, opt_kind)))
            }
        };
        if let Some(w) = was.filter(|&w| refreshed && w != kind && w != SourceKind::Redis) {
            let what = if kind == SourceKind::PgPrimary {
                "promoted to primary"
            } else {
                "now a replica"
            };
            self.ui
                .set_status(format!("{name}: {what} (was {})", w.label()), false, at);
        }
        if let Some(src) = self.source_mut(id) {
            src.name = name.to_string();
            src.kind = kind;
            src.backend = backend;
            src.opt_id = opt;
        }
    }

    /// The pool model a source of `kind` belongs to.
    pub fn pool_for(&self, kind: SourceKind) -> &Pool {
        if kind == SourceKind::Redis {
            &self.pool
        } else {
            &self.db_pool
        }
    }

    /// The pool model a source of `kind` belongs to, mutably.
    pub fn pool_for_mut(&mut self, kind: SourceKind) -> &mut Pool {
        if kind == SourceKind::Redis {
            &mut self.pool
        } else {
            &mut self.db_pool
        }
    }

    fn health(&mut self, id: SourceId, ok: bool, rtt_us: Option<u64>, at: Timestamp) {
        let rtt_ms = rtt_us.map(|u| u as f64 / 1000.0);
        let Some(src) = self.source_mut(id) else {
            return;
        };
        src.rtt_ms = rtt_ms.or(src.rtt_ms);
        if let Some(ms) = rtt_ms {
            src.rtt_history.push_back(ms);
            let us = (ms * 1000.0) as u64;
            src.rtt_group = (src.rtt_group.0.max(us), src.rtt_group.1 + 1);
            if src.rtt_group.1 >= RTT_GROUP {
                src.rtt_groups.push_back(src.rtt_group.0);
                src.rtt_group = (0, 0);
                if src.rtt_groups.len() > HISTORY {
                    src.rtt_groups.pop_front();
                }
            }
            if src.rtt_history.len() > HISTORY {
                src.rtt_history.pop_front();
            }
        }
        if !ok {
            src.errors += 1;
        }
        let (backend, kind) = (src.backend, src.kind);
        if let Some(b) = backend {
            self.pool_for_mut(kind).record_check(b, ok, rtt_ms, at);
        }
    }

    /// Close the data tick at `now` and recompute derived data (unless
    /// paused: data keeps flowing, the screen holds).
    pub fn tick(&mut self, now: Timestamp) {
        self.close_tick(now);
        if !self.ui.paused {
            self.optimizer.refresh();
            // The Warming selection stays on its key as the queue reorders.
            let picked = self
                .derived
                .candidates
                .get(self.ui.panes.warming.selected)
                .map(|c| c.key_hash);
            self.derived = Derived::compute(self, now);
            if let Some(i) =
                picked.and_then(|h| self.derived.candidates.iter().position(|c| c.key_hash == h))
            {
                self.ui.panes.warming.selected = i;
            }
        }
    }

    /// Close the data tick at `now` without recomputing what the panes show
    /// (for simulating ahead, where only the last tick is looked at).
    pub fn close_tick(&mut self, now: Timestamp) {
        self.now = now;
        // A message stays long enough to read, then makes room again.
        if self
            .ui
            .status
            .as_ref()
            .is_some_and(|s| now.millis_since(s.at) >= STATUS_MS)
        {
            self.ui.status = None;
        }
        self.heatmap.advance(now);
        self.keyspace_heat(self.last_tick, now);
        if self.last_tick.is_some() {
            // A tick in which no node reported is not a point (it would
            // draw as a gap, which means a reset).
            let t = std::mem::take(&mut self.pending);
            if t.reports > 0 || t.gap {
                self.history.push_back(t);
            }
            if self.history.len() > HISTORY {
                self.history.pop_front();
            }
        } else {
            self.pending = TickTotals::default();
        }
        self.last_tick = Some(now);
        // Without a stats sink, flush batches are settled in memory so
        // pending deltas stay small.
        while !self.sink.enabled
            && let Some(b) = self.clients.take_batch(now)
        {
            self.clients.ack(b.seq, now);
        }
    }
}
