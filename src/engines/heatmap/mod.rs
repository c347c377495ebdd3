//! Cache heatmap: per-table, per-key-prefix and per-query-fingerprint heat
//! over time, temperatures and recommendations (seed: HeliosProxy heatmap).
//!
//! Rows are interned once; the ingest path works on [`RowId`]s and writes into
//! the dense open bucket of each time level (fine base resolution and a
//! coarser roll-up). Views are computed on demand (once per data tick), never
//! per row or per frame.

mod axis;
mod buckets;
mod evict;
pub mod fingerprint;
mod fingerprinter;
mod spread;
mod view;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub use axis::{scroll_back, scroll_forward};
pub use buckets::{Cell, Level};
pub use fingerprint::{Fingerprint, Fingerprinter, QueryId};
pub use view::{
    HeatmapView, Priority, Quartiles, Recommendation, RowView, Temperature, TopFingerprint,
};

use super::Timestamp;
use super::counters::{CumulativeSet, SetDelta};

/// What a row names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RowKind {
    /// A database table.
    Table,
    /// A Redis key prefix (keys grouped by delimiter).
    Prefix,
    /// A normalised query.
    Fingerprint,
    /// Hidden per-measure totals (every access counted once).
    Total,
}

/// What a row's hits and misses measure. These never share a column: a
/// Redis cache hit and a Postgres buffer hit are different quantities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Measure {
    /// Cache lookups from access events: hit = served from Redis.
    Cache,
    /// Postgres shared-buffer block reads: hit = found in shared buffers.
    Buffer,
    /// Access estimates from Redis key sampling: no hit/miss information.
    Sampled,
}

impl Measure {
    const ALL: [Measure; 3] = [Measure::Cache, Measure::Buffer, Measure::Sampled];

    fn total_row(self) -> RowId {
        RowId(self as u32)
    }
}

/// Dense id of a heatmap row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowId(pub u32);

/// Tunables; defaults follow the seed (300 s × 7 days) on top of a 10 s base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeatmapConfig {
    /// Base bucket width (seconds).
    pub base_resolution_s: u32,
    /// Base buckets kept (default 360 = 1 h of 10 s buckets).
    pub base_retention: u32,
    /// Roll-up bucket width (seconds; the seed's 300).
    pub rollup_resolution_s: u32,
    /// Roll-up buckets kept (the seed's 2016 = 7 days of 5 min).
    pub rollup_retention: u32,
    /// Rows kept: past this, the least recently used eighth is forgotten
    /// and its ids go to new names.
    pub max_rows: u32,
    /// Rows a closed base bucket keeps (its busiest), bounding the
    /// history's memory whatever the number of rows.
    pub base_cells_per_bucket: u32,
    /// Rows a closed roll-up bucket keeps (its busiest).
    pub rollup_cells_per_bucket: u32,
    /// Distinct query fingerprints kept (least recently used go first).
    pub max_fingerprints: u32,
    /// Hot needs at least this many accesses per minute in the window.
    pub hot_floor_per_min: f64,
    /// Warm needs at least this many accesses per minute in the window.
    pub warm_floor_per_min: f64,
    /// Seed: a hit ratio under this is "low" …
    pub low_hit_ratio: f64,
    /// … once a row has at least this many accesses (seed: 100).
    pub min_accesses_for_advice: u64,
    /// Events stamped further than this (seconds) ahead of the latest
    /// `advance(now)` are dropped and counted, so one sample from a skewed
    /// clock cannot roll the time axis forward and erase the history.
    pub max_future_s: u32,
    /// Seed: idle longer than this (seconds) …
    pub idle_secs: u64,
    /// … with fewer than this many accesses → suggest a lower TTL (seed: 1000).
    pub idle_max_accesses: u64,
}

impl Default for HeatmapConfig {
    fn default() -> Self {
        Self {
            base_resolution_s: 10,
            base_retention: 360,
            rollup_resolution_s: 300,
            rollup_retention: 2016,
            max_rows: 10_000,
            base_cells_per_bucket: 1_000,
            rollup_cells_per_bucket: 250,
            max_fingerprints: 10_000,
            hot_floor_per_min: 60.0,
            warm_floor_per_min: 6.0,
            low_hit_ratio: 0.5,
            min_accesses_for_advice: 100,
            max_future_s: 120,
            idle_secs: 3600,
            idle_max_accesses: 1000,
        }
    }
}

/// All-time figures of one row (since the heatmap started or was cleared).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowTotals {
    /// Accesses.
    pub accesses: u64,
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Time saved by hits, microseconds.
    pub saved_us: u64,
    /// Last access, if any.
    pub last_access: Option<Timestamp>,
}

/// Longest row name in bytes; longer names are cut (`…#` and a hash of
/// the whole keep them apart).
pub const MAX_ROW_NAME: usize = 256;

#[derive(Debug, Clone)]
struct Row {
    kind: RowKind,
    measure: Measure,
    name: Box<str>,
    totals: RowTotals,
    /// Per level: buckets up to this index hold a former name's figures
    /// (the id was reused), so views leave them out.
    hide: [i64; 2],
    /// Bumped whenever the id changes names, so a stored id can tell.
    generation: u32,
    /// False between eviction and reuse.
    live: bool,
    /// When it was made (the latest `advance`), ms: a row not used yet
    /// counts as used then, so a row just made is not the first to go.
    made: i64,
    /// Fed by counters read now and then: the latest read. What happened
    /// after it is not known yet (not "nothing").
    through: Option<Timestamp>,
}

/// A row id as stored for later use, with the row's generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowRef {
    id: RowId,
    generation: u32,
}

impl Default for RowRef {
    /// Names no row: never current.
    fn default() -> Self {
        Self {
            id: RowId(u32::MAX),
            generation: u32::MAX,
        }
    }
}

/// The heatmap engine.
#[derive(Debug, Clone)]
pub struct Heatmap {
    config: HeatmapConfig,
    rows: Vec<Row>,
    /// (kind, measure) → name → row: looked up by `&str`, no allocation.
    index: FxHashMap<(RowKind, Measure), FxHashMap<Box<str>, RowId>>,
    levels: [Level; 2],
    fingerprints: Fingerprinter,
    /// Query id → (fingerprint row, table rows), as of when they were made.
    query_rows: Vec<(RowRef, Vec<RowRef>)>,
    counters: FxHashMap<RowId, CumulativeSet<2>>,
    first_seen: Option<Timestamp>,
    horizon: Option<Timestamp>,
    dropped_future: u64,
    /// Ids of forgotten rows, handed to new names first.
    free: Vec<RowId>,
    /// Rows forgotten so far.
    evicted: u64,
}

impl Default for Heatmap {
    fn default() -> Self {
        Self::new(HeatmapConfig::default())
    }
}

impl Heatmap {
    /// An empty heatmap.
    pub fn new(config: HeatmapConfig) -> Self {
        let levels = [
            Level::new(config.base_resolution_s, config.base_retention)
                .with_max_cells(config.base_cells_per_bucket as usize),
            Level::new(config.rollup_resolution_s, config.rollup_retention)
                .with_max_cells(config.rollup_cells_per_bucket as usize),
        ];
        let fingerprints = Fingerprinter::new(100_000)
            .with_max_prints(config.max_fingerprints as usize, FINGERPRINT_BYTES);
        let mut h = Self {
            config,
            rows: Vec::new(),
            index: FxHashMap::default(),
            levels,
            fingerprints,
            query_rows: Vec::new(),
            counters: FxHashMap::default(),
            first_seen: None,
            horizon: None,
            dropped_future: 0,
            free: Vec::new(),
            evicted: 0,
        };
        for m in Measure::ALL {
            h.row(RowKind::Total, m, "(total)");
        }
        h
    }

    /// The configuration in force.
    pub fn config(&self) -> &HeatmapConfig {
        &self.config
    }

    /// The id of the row (kind, measure, name), creating it on first use.
    /// Names are cut to [`MAX_ROW_NAME`] bytes. Past `max_rows`, the least
    /// recently used rows are forgotten first (see [`Heatmap::evicted`]).
    pub fn row(&mut self, kind: RowKind, measure: Measure, name: &str) -> RowId {
        let name = crate::engines::bounded::name(name, MAX_ROW_NAME);
        if let Some(&id) = self.index.get(&(kind, measure)).and_then(|m| m.get(&*name)) {
            return id;
        }
        if kind != RowKind::Total && self.live_rows() >= self.config.max_rows.max(1) as usize {
            self.evict_rows();
        }
        let row = Row {
            kind,
            measure,
            name: (*name).into(),
            totals: RowTotals::default(),
            hide: [i64::MIN; 2],
            generation: 0,
            live: true,
            made: self.horizon.map_or(i64::MIN, Timestamp::as_millis),
            through: None,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.reuse(id, row);
                id
            }
            None => {
                self.rows.push(row);
                RowId(u32::try_from(self.rows.len() - 1).unwrap_or(u32::MAX))
            }
        };
        self.index
            .entry((kind, measure))
            .or_default()
            .insert((*name).into(), id);
        for l in &mut self.levels {
            l.ensure_rows(self.rows.len());
        }
        id
    }

    /// The id of a query's fingerprint, fingerprinting it the first time its
    /// raw text is seen (and creating its fingerprint and table rows).
    pub fn query(&mut self, sql: &str) -> QueryId {
        let (id, new) = self.fingerprints.id(sql);
        if new {
            let rows = self.query_row_refs(id);
            let slot = id as usize;
            if slot >= self.query_rows.len() {
                self.query_rows.resize_with(slot + 1, Default::default);
            }
            self.query_rows[slot] = rows;
        }
        id
    }

    /// Current rows of a fingerprint and its tables (made if needed).
    fn query_row_refs(&mut self, id: QueryId) -> (RowRef, Vec<RowRef>) {
        let Some(fp) = self.fingerprints.get(id).cloned() else {
            return Default::default();
        };
        let fp_row = self.row(RowKind::Fingerprint, Measure::Cache, &fp.text);
        let tables: Vec<RowId> = fp
            .tables
            .iter()
            .map(|t| self.row(RowKind::Table, Measure::Cache, t))
            .collect();
        let r = |id: RowId| self.row_ref(id);
        (r(fp_row), tables.into_iter().map(r).collect())
    }

    /// The fingerprint behind a query id.
    pub fn fingerprint(&self, id: QueryId) -> Option<&Fingerprint> {
        self.fingerprints.get(id)
    }

    /// Record `n` accesses of `row` at `at`, `hits` of them hits, saving
    /// `saved_us` in total. The hot path: no hashing, no allocation.
    #[inline]
    pub fn record(&mut self, row: RowId, accesses: u32, hits: u32, saved_us: u64, at: Timestamp) {
        let measure = match self.rows.get(row.0 as usize) {
            Some(r) if r.live => r.measure,
            _ => return,
        };
        if !self.accept(at) {
            return;
        }
        let misses = if measure == Measure::Sampled {
            0
        } else {
            accesses.saturating_sub(hits)
        };
        let hits = if measure == Measure::Sampled {
            0
        } else {
            hits.min(accesses)
        };
        let cell = Cell {
            accesses,
            hits,
            misses,
            gap: false,
            saved_us,
        };
        self.add(row, &cell, at);
        self.add(measure.total_row(), &cell, at);
    }

    /// Record one access through a query: its fingerprint row and every table
    /// it touches (each table once), as the seed does.
    #[inline]
    pub fn record_query(&mut self, q: QueryId, hit: bool, saved_us: u64, at: Timestamp) {
        let saved = if hit { saved_us } else { 0 };
        self.record_query_n(q, 1, u32::from(hit), saved, at);
    }

    /// Record `count` accesses through a query, `hits` of them hits, saving
    /// `saved_us` in total (aggregated input: one call per sample, not per access).
    pub fn record_query_n(
        &mut self,
        q: QueryId,
        count: u32,
        hits: u32,
        saved_us: u64,
        at: Timestamp,
    ) {
        if !self.accept(at) {
            return;
        }
        // A row the query used may have been forgotten (its id given to
        // another name) since: find or make the query's rows again.
        let stale = self.query_rows.get(q as usize).is_some_and(|(fp, tables)| {
            std::iter::once(fp)
                .chain(tables)
                .any(|r| !self.is_current(*r))
        });
        if stale {
            let rows = self.query_row_refs(q);
            if let Some(slot) = self.query_rows.get_mut(q as usize) {
                *slot = rows;
            }
        }
        let Some((fp_row, tables)) = self.query_rows.get(q as usize) else {
            return;
        };
        let hits = hits.min(count);
        let cell = Cell {
            accesses: count,
            hits,
            misses: count - hits,
            gap: false,
            saved_us,
        };
        let rows = &self.rows;
        let current = |r: &&RowRef| {
            rows.get(r.id.0 as usize)
                .is_some_and(|row| row.live && row.generation == r.generation)
        };
        let ids: Vec<RowId> = tables
            .iter()
            .chain(std::iter::once(fp_row))
            .filter(current)
            .map(|r| r.id)
            .collect();
        for t in ids {
            add_to(&mut self.levels, &mut self.rows, t, &cell, at);
        }
        add_to(
            &mut self.levels,
            &mut self.rows,
            Measure::Cache.total_row(),
            &cell,
            at,
        );
    }

    /// Apply cumulative hit/miss counters (e.g. Postgres `heap_blks_hit` /
    /// `heap_blks_read`) observed at `at` in run `epoch`. A reset (negative
    /// delta or new epoch) marks a gap and counts nothing. One baseline per
    /// row: counters of several servers feeding one row keep their own
    /// baselines and give [`Heatmap::record_delta`] their deltas instead.
    pub fn record_cumulative(
        &mut self,
        row: RowId,
        hits: u64,
        misses: u64,
        epoch: u64,
        at: Timestamp,
    ) {
        if row.0 as usize >= self.rows.len() {
            return;
        }
        let d = self
            .counters
            .entry(row)
            .or_default()
            .observe([hits, misses], epoch);
        self.record_delta(row, d, at);
    }

    /// Count one baseline's outcome of hit/miss counters (a
    /// [`CumulativeSet`] the caller keeps, e.g. per server): deltas are
    /// accesses, a reset is a gap that counts nothing, a baseline nothing.
    pub fn record_delta(&mut self, row: RowId, d: SetDelta<2>, at: Timestamp) {
        if row.0 as usize >= self.rows.len() {
            return;
        }
        match d {
            SetDelta::Baseline => {}
            SetDelta::Reset => {
                let gap = Cell {
                    gap: true,
                    ..Cell::default()
                };
                self.add(row, &gap, at);
            }
            SetDelta::Values([h, m]) => {
                let h32 = u32::try_from(h).unwrap_or(u32::MAX);
                let a32 = u32::try_from(h.saturating_add(m)).unwrap_or(u32::MAX);
                if a32 > 0 {
                    self.record(row, a32, h32, 0, at);
                }
            }
        }
    }

    /// Whether an event at `at` may be counted (not too far in the future);
    /// notes the first event's time for rate floors.
    #[inline]
    fn accept(&mut self, at: Timestamp) -> bool {
        if let Some(h) = self.horizon {
            if at > h.add_secs(i64::from(self.config.max_future_s)) {
                self.dropped_future = self.dropped_future.saturating_add(1);
                return false;
            }
        }
        if self.first_seen.is_none_or(|f| at < f) {
            self.first_seen = Some(at);
        }
        true
    }

    /// Events dropped for being stamped too far in the future.
    pub fn dropped_future(&self) -> u64 {
        self.dropped_future
    }

    /// When the first counted event happened.
    pub fn first_seen(&self) -> Option<Timestamp> {
        self.first_seen
    }

    fn add(&mut self, row: RowId, cell: &Cell, at: Timestamp) {
        add_to(&mut self.levels, &mut self.rows, row, cell, at);
    }

    /// Move the time axis to `now` so quiet periods show as empty columns.
    pub fn advance(&mut self, now: Timestamp) {
        if self.horizon.is_none_or(|h| now > h) {
            self.horizon = Some(now);
        }
        for l in &mut self.levels {
            l.advance(now.as_millis());
        }
    }

    /// All-time figures of a row.
    pub fn totals(&self, row: RowId) -> Option<RowTotals> {
        self.rows.get(row.0 as usize).map(|r| r.totals)
    }

    /// The name, kind and measure of a row.
    pub fn describe(&self, row: RowId) -> Option<(&str, RowKind, Measure)> {
        self.rows
            .get(row.0 as usize)
            .map(|r| (&*r.name, r.kind, r.measure))
    }

    /// Number of visible rows (excluding the hidden totals).
    pub fn row_count(&self) -> usize {
        self.live_rows()
    }

    /// The time levels (base, roll-up).
    pub fn levels(&self) -> &[Level; 2] {
        &self.levels
    }

    /// Approximate bytes held by the time buckets, the rows and their
    /// index, and the fingerprints.
    pub fn approx_bytes(&self) -> usize {
        let levels: usize = self.levels.iter().map(Level::approx_bytes).sum();
        let rows: usize = self
            .rows
            .iter()
            .map(|r| std::mem::size_of::<Row>() + 2 * (r.name.len() + 24))
            .sum();
        let queries: usize = self
            .query_rows
            .iter()
            .map(|(_, t)| 32 + t.capacity() * std::mem::size_of::<RowRef>())
            .sum();
        levels + rows + queries + self.fingerprints.approx_bytes()
    }

    /// Forget every row and bucket (the seed's `clear`).
    pub fn clear(&mut self) {
        *self = Self::new(self.config.clone());
    }
}

/// Bytes of fingerprint text kept at most (least recently used go first).
const FINGERPRINT_BYTES: usize = 4 << 20;

/// Add `cell` for `row` into every level and the row's totals. A free
/// function so callers can hold other fields (the query table lists) borrowed.
#[inline]
fn add_to(levels: &mut [Level; 2], rows: &mut [Row], row: RowId, cell: &Cell, at: Timestamp) {
    let ms = at.as_millis();
    for l in levels.iter_mut() {
        l.add(row.0, ms, cell);
    }
    if let Some(r) = rows.get_mut(row.0 as usize) {
        let t = &mut r.totals;
        t.accesses = t.accesses.saturating_add(u64::from(cell.accesses));
        t.hits = t.hits.saturating_add(u64::from(cell.hits));
        t.misses = t.misses.saturating_add(u64::from(cell.misses));
        t.saved_us = t.saved_us.saturating_add(cell.saved_us);
        if cell.accesses > 0 && t.last_access.is_none_or(|l| at > l) {
            t.last_access = Some(at);
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod time_tests;
