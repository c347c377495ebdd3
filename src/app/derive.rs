//! Derived data for the panes, computed once per data tick (and when the
//! user changes a view parameter), so `render` only reads.

use super::panes::{BackendSort, ClientSort, HeatSort, OptimizerSort, WarmSort};
use super::state::{State, TickTotals};
use crate::action::Pane;
use crate::engines::clients::{ClientView, TableView};
use crate::engines::heatmap::{HeatmapView, RowView};
use crate::engines::keyspace::{Cliff, KeyspaceView};
use crate::engines::optimizer::{Recommendation, WorkloadPattern};
use crate::engines::pool::{BackendId, HealthState, Op, PoolStats, Route, RoutingRole};
use crate::engines::warming::{Candidate, CandidateReason, ErrorBound, WarmJob};
use crate::engines::{Timestamp, cmp_f64, ratio};
use crate::sample::{RedisRole, SourceId, SourceKind, SourceStatus};
use crate::sort::{Direction, by_figure};

/// Heatmap columns computed per tick; the pane shows the newest that fit.
pub const HEAT_COLUMNS: usize = 240;

/// Heatmap rows given cells per tick (after the filter and sort); the rest
/// are counted in the view's `more_rows`.
pub const HEAT_ROWS: usize = 500;

/// One row of the Backends pane.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendRow {
    /// The source behind it.
    pub source: SourceId,
    /// Pool id.
    pub backend: BackendId,
    /// Name.
    pub name: String,
    /// Redis, primary or replica.
    pub kind: SourceKind,
    /// Health state machine's state.
    pub health: HealthState,
    /// Whether any health check has been recorded yet (before the first,
    /// the state machine's `Healthy` means "not known yet").
    pub checked: bool,
    /// Connection state of the source.
    pub status: SourceStatus,
    /// Health-check round trip percentiles (ms), measured over the window.
    pub p50_ms: Option<f64>,
    /// 99th percentile of the window.
    pub p99_ms: Option<f64>,
    /// Worst round trip (µs) per group of checks, for the sparkline.
    pub rtt_us: Vec<u64>,
    /// Commands or transactions per second; `None` while there is no
    /// current rate (before two readings, or the source is down or silent).
    pub ops_per_sec: Option<f64>,
    /// Why the figures are not current (down: the reason; or silent), and
    /// how old the latest ones are (ms).
    pub stale: Option<(String, Option<u64>)>,
    /// What parts of the source fail while it is connected (sampler,
    /// notifications, a privilege), in the server's words where given.
    pub problems: Vec<String>,
    /// Redis: `XADD`s per second of the event stream living on this node,
    /// taken out of `ops_per_sec`.
    pub stream_xadd_per_sec: f64,
    /// Failed health checks.
    pub errors: u64,
    /// Used bytes.
    pub used: u64,
    /// Capacity bytes (0 = unknown).
    pub capacity: u64,
    /// Drained in the what-if model.
    pub drained: bool,
    /// How the pool model routes to it.
    pub routing: Option<RoutingRole>,
    /// Replication lag (Postgres replicas).
    pub lag_bytes: u64,
    /// Postgres shared-buffer hit ratio over the last interval.
    pub buffer_ratio: Option<f64>,
    /// Redis: evictions and expirations per second, fragmentation, clients.
    pub redis_detail: Option<String>,
    /// Lines for the selected row's detail: Redis (observer effect,
    /// commands, latency, replication, slow log) or Postgres (sessions,
    /// waits and blockers, rates, replication and slots).
    pub detail: Vec<String>,
    /// What needs acting on (Postgres: an inactive slot holding WAL).
    pub alert: Option<String>,
    /// Redis: primary or replica, as the node's own `INFO` says.
    pub redis_role: Option<RedisRole>,
    /// Commands per second the console itself sent (already taken out of
    /// `ops_per_sec`): the observer effect.
    pub own_ops_per_sec: f64,
}

/// A TTL cliff on a node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeCliff {
    /// The node's display name.
    pub node: String,
    /// Its prefix delimiter.
    pub delimiter: String,
    /// The cliff.
    pub cliff: Cliff,
}

/// One sampled Redis node's keyspace.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeKeyspace {
    /// The node.
    pub source: SourceId,
    /// Its display name.
    pub name: String,
    /// Estimates at the tick.
    pub view: KeyspaceView,
}

/// What every pane shows, computed at the data tick.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    /// When it was computed.
    pub at: Timestamp,
    /// Heatmap grid (filtered and sorted).
    pub heatmap: Option<HeatmapView>,
    /// Warming candidates (filtered and sorted).
    pub candidates: Vec<Candidate>,
    /// Candidates in the queue before the filter: "N of M shown".
    pub queue_len: usize,
    /// The tracker's error bound.
    pub bound: Option<ErrorBound>,
    /// Running and recent jobs, newest first.
    pub jobs: Vec<WarmJob>,
    /// Backends pane rows.
    pub backends: Vec<BackendRow>,
    /// Cache pool totals.
    pub pool: Option<PoolStats>,
    /// Database pool totals.
    pub db_pool: Option<PoolStats>,
    /// Routing preview: the sample key and where the cache model sends it.
    pub route: Option<(String, Route)>,
    /// Where the database model sends a read.
    pub db_route: Option<Route>,
    /// Optimizer ranking.
    pub ranking: Vec<Recommendation>,
    /// Detected workload.
    pub workload: Option<WorkloadPattern>,
    /// Clients (filtered and sorted).
    pub clients: Vec<ClientView>,
    /// Per-table breakdown of the selected client.
    pub client_tables: Vec<TableView>,
    /// Cache operations per second: Σ the live Redis nodes' latest rates
    /// (`None`: no node has a current rate).
    pub ops_per_sec: Option<f64>,
    /// Redis nodes whose figures are not current (down or silent): left
    /// out of `ops_per_sec` and `hit_ratio`.
    pub stale_nodes: usize,
    /// `XADD`s per second of the event stream on watched nodes: its own
    /// traffic, taken out of `ops_per_sec` and shown apart.
    pub stream_xadd_per_sec: f64,
    /// Cache hit ratio of the live nodes over the last ten refresh
    /// intervals (ratio of sums).
    pub hit_ratio: Option<f64>,
    /// Per-tick cache hit ratio, newest last (`None` = no traffic or a gap).
    pub hit_series: Vec<Option<f64>>,
    /// Postgres shared-buffer hit ratio over the last interval, all live
    /// endpoints.
    pub pg_buffer_ratio: Option<f64>,
    /// Key-sampler estimates, per sampled node (by source id).
    pub keyspace: Vec<NodeKeyspace>,
    /// TTL cliffs ahead on any node, soonest first.
    pub cliffs: Vec<NodeCliff>,
    /// The Sessions pane's rows (of the list it shows).
    pub sessions: super::sessions::SessionRows,
}

impl Derived {
    /// The keyspace estimates of `source`, if it is sampled.
    pub fn keyspace_of(&self, source: SourceId) -> Option<&KeyspaceView> {
        self.keyspace
            .iter()
            .find(|k| k.source == source)
            .map(|k| &k.view)
    }
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

impl Derived {
    /// Compute from the engines and the UI's view parameters.
    pub fn compute(state: &mut State, now: Timestamp) -> Derived {
        // A backend whose figures are not current ranks last, saying why.
        for (o, why) in state
            .sources
            .iter()
            .filter_map(|s| Some((s.opt_id?, s.stale(now, state.refresh_ms))))
            .collect::<Vec<_>>()
        {
            state.optimizer.set_unavailable(o, why);
        }
        let heat = heatmap_view(state, now);
        let ui = &state.ui;

        let mut candidates = state.warming.plan(now);
        let queue_len = candidates.len();
        // On a redacted screen the filter sees what the screen shows, so it
        // cannot be used to probe for hidden key names.
        let (redact, delim) = (state.session.redact_keys, &state.session.key_delimiter);
        candidates.retain(|c| {
            let name = c.name.as_deref().unwrap_or("");
            if redact {
                ui.matches(
                    Pane::Warming,
                    &crate::engines::keyspace::redacted(name, true, delim),
                )
            } else {
                ui.matches(Pane::Warming, name)
            }
        });
        sort_candidates(&mut candidates, ui.panes.warming.order());
        candidates.truncate(500);

        let mut jobs: Vec<WarmJob> = state.jobs.active().to_vec();
        jobs.extend(state.jobs.recent().cloned());

        let workload = state.optimizer.workload(now);
        let mut ranking = state.optimizer.rank(&workload, now);
        ranking.retain(|r| ui.matches(Pane::Optimizer, &r.name));
        // The ranking's own order is the score's (unavailable ones last).
        let (key, dir) = ui.panes.optimizer.order();
        match key {
            OptimizerSort::Latency => ranking.sort_by(|a, b| {
                let lat = |r: &Recommendation| {
                    Some(r.predicted_latency_ms).filter(|_| r.unavailable.is_none())
                };
                by_figure(lat(a), lat(b), dir).then_with(|| a.name.cmp(&b.name))
            }),
            OptimizerSort::Name => ranking.sort_by(|a, b| dir.apply(a.name.cmp(&b.name))),
            OptimizerSort::Score if dir == Direction::Ascending => ranking.sort_by(|a, b| {
                let score = |r: &Recommendation| Some(r.score).filter(|_| r.unavailable.is_none());
                by_figure(score(a), score(b), dir).then_with(|| a.name.cmp(&b.name))
            }),
            OptimizerSort::Score => {}
        }

        let mut clients = state.with_stored(state.clients.clients_view(now));
        clients.retain(|c| ui.matches(Pane::Clients, &c.name));
        let (key, dir) = ui.panes.clients.order();
        match key {
            ClientSort::Failures => clients.sort_by(|a, b| {
                dir.apply(a.failures.cmp(&b.failures))
                    .then_with(|| a.name.cmp(&b.name))
            }),
            ClientSort::Name => clients.sort_by(|a, b| dir.apply(a.name.cmp(&b.name))),
            // The engine's order: the most requests per second first.
            ClientSort::Requests if dir == Direction::Ascending => clients.reverse(),
            ClientSort::Requests => {}
        }
        let sel = ui
            .selected(Pane::Clients)
            .min(clients.len().saturating_sub(1));
        let client_tables = clients
            .get(sel)
            .map(|c| state.clients.tables_view(Some(c.client)))
            .unwrap_or_default();

        let mut backends = backend_rows(state, now);
        backends.retain(|b| state.ui.matches(Pane::Backends, &b.name));
        // Rows with no measurement (or no current rate) last either way.
        let (key, dir) = state.ui.panes.backends.order();
        match key {
            BackendSort::Latency => backends.sort_by(|a, b| {
                by_figure(a.p50_ms, b.p50_ms, dir).then_with(|| a.name.cmp(&b.name))
            }),
            BackendSort::Ops => backends.sort_by(|a, b| {
                by_figure(a.ops_per_sec, b.ops_per_sec, dir).then_with(|| a.name.cmp(&b.name))
            }),
            BackendSort::Name => backends.sort_by(|a, b| dir.apply(a.name.cmp(&b.name))),
        }
        // The demo has a `users:` table; a live console previews only a
        // key it has seen, never a made-up one.
        let sample_key = candidates
            .get(state.ui.selected(Pane::Warming))
            .and_then(|c| c.name.clone())
            .or_else(|| state.session.demo.then(|| "users:1000".to_string()));
        let route = sample_key.map(|k| {
            (
                state.pool.preview(&k, 1024),
                state.db_pool.preview(&k, 1024),
                k,
            )
        });

        let refresh = state.refresh_ms;
        let nodes = || state.sources.iter().filter(|s| s.kind == SourceKind::Redis);
        let live = || nodes().filter(|s| s.stale(now, refresh).is_none());
        let stale_nodes = nodes().count() - live().count();
        // A fold from +0: an empty float sum is -0 (shown as "-0").
        let ops_per_sec = live()
            .filter_map(|s| s.live_ops(now, refresh))
            .fold(None, |a: Option<f64>, x| Some(a.unwrap_or(0.0) + x));
        let stream_xadd_per_sec = live()
            .filter(|s| s.rates_at.is_some())
            .fold(0.0, |a, s| a + s.stream_xadd_per_sec);
        // The ratio over the last ten refresh intervals, of live nodes only.
        let since = now.add_millis(-i64::try_from(10 * refresh).unwrap_or(i64::MAX));
        let recent = live()
            .flat_map(|s| s.recent_lookups.iter())
            .filter(|(at, ..)| *at > since)
            .fold(TickTotals::default(), |mut a, (_, h, m)| {
                a.hits += h;
                a.misses += m;
                a
            });
        let (bh, br) = state
            .sources
            .iter()
            .filter(|s| matches!(s.kind, SourceKind::PgPrimary | SourceKind::PgReplica))
            .filter(|s| s.live_ops(now, refresh).is_some())
            .fold((0, 0), |(h, r), s| (h + s.buffer.0, r + s.buffer.1));
        let keyspace: Vec<NodeKeyspace> = state
            .keyspace
            .nodes
            .iter()
            .map(|(id, e)| NodeKeyspace {
                source: *id,
                name: state
                    .source(*id)
                    .map_or_else(|| format!("node {}", id.0), |s| s.name.clone()),
                view: e.view(now),
            })
            .collect();
        let mut cliffs: Vec<NodeCliff> = keyspace
            .iter()
            .flat_map(|k| {
                k.view.cliffs.iter().map(|c| NodeCliff {
                    node: k.name.clone(),
                    delimiter: k.view.delimiter.clone(),
                    cliff: c.clone(),
                })
            })
            .collect();
        cliffs.sort_by(|a, b| {
            a.cliff
                .at
                .cmp(&b.cliff.at)
                .then_with(|| a.node.cmp(&b.node))
        });
        let hit_series = state
            .history
            .iter()
            .map(|t| {
                if t.gap {
                    None
                } else {
                    ratio(t.hits, t.hits + t.misses)
                }
            })
            .collect();
        Derived {
            at: now,
            heatmap: Some(heat),
            candidates,
            queue_len,
            bound: Some(state.warming.tracker().error_bound(now)),
            jobs,
            backends,
            pool: Some(state.pool.stats()),
            db_pool: Some(state.db_pool.stats()),
            db_route: route.as_ref().map(|(_, db, _)| db.clone()),
            route: route.map(|(r, _, k)| (k, r)),
            ranking,
            workload: Some(workload),
            clients,
            client_tables,
            ops_per_sec,
            stale_nodes,
            stream_xadd_per_sec,
            hit_ratio: ratio(recent.hits, recent.hits + recent.misses),
            hit_series,
            pg_buffer_ratio: ratio(bh, bh + br),
            keyspace,
            cliffs,
            sessions: super::sessions::SessionRows::compute(state, &state.ui.panes.sessions, now),
        }
    }
}

/// The heatmap grid at `now` as the user asks for it: the zoom's column
/// width, ending where the time axis was scrolled to (or now, its bucket
/// still filling), filtered and sorted, cells for the rows a pane can reach.
pub fn heatmap_view(state: &State, now: Timestamp) -> HeatmapView {
    let ui = &state.ui;
    let zooms = state.heatmap.zoom_levels();
    let res = zooms
        .get(ui.heat_zoom.min(zooms.len().saturating_sub(1)))
        .copied()
        .unwrap_or(10);
    let end = ui.heat_end.unwrap_or(now);
    let mut heat = state.heatmap.view_rows(end, now, res, HEAT_COLUMNS);
    heat.rows.retain(|r| ui.matches(Pane::Heatmap, &r.name));
    sort_heat(&mut heat.rows, ui.panes.heatmap.order());
    // Cells only for the rows a pane can reach: each costs HEAT_COLUMNS
    // cells, and the heatmap may hold ten thousand rows.
    state.heatmap.fill_cells(&mut heat, HEAT_ROWS);
    heat
}

fn sort_heat(rows: &mut [RowView], (key, dir): (HeatSort, Direction)) {
    match key {
        HeatSort::HitRatio => rows.sort_by(|a, b| {
            by_figure(a.hit_ratio, b.hit_ratio, dir).then_with(|| a.name.cmp(&b.name))
        }),
        HeatSort::Saved => rows.sort_by(|a, b| {
            dir.apply(a.window.saved_us.cmp(&b.window.saved_us))
                .then_with(|| a.name.cmp(&b.name))
        }),
        HeatSort::Name => rows.sort_by(|a, b| {
            dir.apply(a.name.cmp(&b.name))
                .then_with(|| a.measure.cmp(&b.measure))
        }),
        // The engine's order is the busiest first.
        HeatSort::Accesses if dir == Direction::Ascending => rows.reverse(),
        HeatSort::Accesses => {}
    }
}

fn sort_candidates(c: &mut [Candidate], (key, dir): (WarmSort, Direction)) {
    // Missing keys have no time left: first when the soonest come first.
    let left = |c: &Candidate| match c.reason {
        CandidateReason::Expiring { time_left_ms } => Some(time_left_ms as f64),
        CandidateReason::MissingHot { .. } => Some(0.0),
        _ => None,
    };
    match key {
        WarmSort::TimeLeft => {
            c.sort_by(|a, b| by_figure(left(a), left(b), dir).then_with(|| a.name.cmp(&b.name)));
        }
        WarmSort::Rate => {
            c.sort_by(|a, b| {
                by_figure(Some(a.rate), Some(b.rate), dir).then_with(|| a.name.cmp(&b.name))
            });
        }
        WarmSort::Key => c.sort_by(|a, b| dir.apply(a.name.cmp(&b.name))),
        // The planner's order is the best score first.
        WarmSort::Score if dir == Direction::Ascending => c.reverse(),
        WarmSort::Score => {}
    }
}

fn backend_rows(state: &State, now: Timestamp) -> Vec<BackendRow> {
    state
        .sources
        .iter()
        .filter_map(|s| {
            let id = s.backend?;
            let pool = state.pool_for(s.kind);
            let b = pool.backend(id)?;
            let mut sorted: Vec<f64> = s.rtt_history.iter().copied().collect();
            sorted.sort_by(|a, b| cmp_f64(*a, *b));
            let op = if s.kind == SourceKind::Redis {
                Op::Write
            } else {
                Op::Read
            };
            let stale = s.stale(now, state.refresh_ms);
            Some(BackendRow {
                detail: if s.kind == SourceKind::Redis {
                    super::node_detail::node_detail(
                        s,
                        state.session.redact_keys,
                        &state.session.key_delimiter,
                        now,
                    )
                } else {
                    super::pg_detail::pg_detail(s)
                },
                alert: super::pg_detail::pg_alert(s),
                source: s.id,
                backend: id,
                name: s.name.clone(),
                kind: s.kind,
                health: b.state(),
                checked: b.health().checks() > 0 || b.health().last_transition().is_some(),
                status: s.status.clone(),
                // Round trips of a source that is down or silent are history.
                p50_ms: percentile(&sorted, 0.50).filter(|_| stale.is_none()),
                p99_ms: percentile(&sorted, 0.99).filter(|_| stale.is_none()),
                rtt_us: s.rtt_groups.iter().copied().collect(),
                ops_per_sec: s.live_ops(now, state.refresh_ms),
                stale: stale.clone().map(|why| (why, s.figures_age_ms(now))),
                stream_xadd_per_sec: s.stream_xadd_per_sec,
                problems: s.problems(),
                errors: s.errors,
                used: s.used,
                capacity: s.capacity,
                drained: b.is_drained(),
                routing: pool.routing_role(id, op),
                lag_bytes: s.lag_bytes,
                buffer_ratio: ratio(s.buffer.0, s.buffer.0 + s.buffer.1),
                redis_role: s.redis_info.as_ref().and_then(|r| r.role),
                redis_detail: s.redis_info.as_ref().map(|r| {
                    let frag = r.fragmentation_milli.map_or("–".to_string(), |f| {
                        format!("{:.2}", f64::from(f) / 1000.0)
                    });
                    let link = match r.master_link_up {
                        Some(true) => " link up",
                        Some(false) => " LINK DOWN",
                        None => "",
                    };
                    format!(
                        "evict {:.0}/s expire {:.0}/s frag {frag} clients {}/{} blocked{link}",
                        s.evicted_per_sec,
                        s.expired_per_sec,
                        r.connected_clients,
                        r.blocked_clients
                    )
                }),
                own_ops_per_sec: s.own_ops_per_sec,
            })
        })
        .collect()
}
