//! What the heatmap pane draws: a grid of rows × time columns, temperatures by
//! quartile (computed once per view), recommendations and top fingerprints.

use serde::{Deserialize, Serialize};

use super::{Cell, Heatmap, Level, Measure, RowId, RowKind, RowTotals};
use crate::engines::{Timestamp, cmp_f64, ratio};

/// Temperature classification (seed: by quartiles of accesses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Temperature {
    /// Top quartile and above the hot floor.
    Hot,
    /// Second quartile and above the warm floor.
    Warm,
    /// Some accesses in the window.
    Cold,
    /// No accesses in the window (or bottom quartile).
    Frozen,
}

/// Priority of a recommendation (seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    /// Act soon.
    High,
    /// Worth a look.
    Medium,
    /// Nice to have.
    Low,
}

/// A cache tuning suggestion for one row (seed rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The row it is about.
    pub row: RowId,
    /// Its name.
    pub name: String,
    /// What is wrong.
    pub issue: String,
    /// What to do.
    pub suggestion: String,
    /// How urgent.
    pub priority: Priority,
}

/// Access-count quartiles of one row kind over the view's window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Quartiles {
    /// 25th percentile.
    pub p25: u64,
    /// Median.
    pub p50: u64,
    /// 75th percentile.
    pub p75: u64,
}

/// One row of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowView {
    /// Row id (stable for the session).
    pub id: RowId,
    /// Table, prefix or fingerprint.
    pub kind: RowKind,
    /// What its hits mean.
    pub measure: Measure,
    /// Display name.
    pub name: String,
    /// One cell per column, oldest first.
    pub cells: Vec<Cell>,
    /// Sum over the window.
    pub window: Cell,
    /// Σhits / Σ(hits + misses) over the window; `None` = n/a.
    pub hit_ratio: Option<f64>,
    /// Temperature over the window.
    pub temperature: Temperature,
    /// All-time figures.
    pub totals: RowTotals,
    /// For rows fed by counters read now and then (Postgres statistics):
    /// the latest read. Time after it is not known yet, not idle.
    pub through: Option<Timestamp>,
}

/// A query fingerprint ranked by the time the cache saved it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopFingerprint {
    /// Fingerprint row.
    pub row: RowId,
    /// Normalised text.
    pub text: String,
    /// Time saved, all time, microseconds.
    pub saved_us: u64,
    /// Time saved in the view's window, microseconds.
    pub window_saved_us: u64,
    /// Hit ratio over the window.
    pub hit_ratio: Option<f64>,
}

/// Everything the heatmap pane shows, computed once per data tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatmapView {
    /// Column width in seconds.
    pub resolution_s: u32,
    /// The width asked for: wider `resolution_s` means the time shown is
    /// only kept in wider buckets (older than the base level's hour).
    pub asked_s: u32,
    /// Start of the oldest column.
    pub start: Timestamp,
    /// Number of columns.
    pub columns: usize,
    /// Milliseconds of the newest column that had passed when the view
    /// was made: less than a column while that bucket is still filling
    /// (drawn, marked partial, its rate over the time it covers).
    pub last_ms: i64,
    /// Rows, by window accesses (descending), then name.
    pub rows: Vec<RowView>,
    /// Quartiles per row kind.
    pub quartiles: Vec<(RowKind, Quartiles)>,
    /// Per-measure totals per column (each access counted once).
    pub totals: Vec<(Measure, Vec<Cell>)>,
    /// Recommendations, most urgent first.
    pub recommendations: Vec<Recommendation>,
    /// Fingerprints by time saved.
    pub top_fingerprints: Vec<TopFingerprint>,
    /// Rows left out by [`Heatmap::fill_cells`]'s limit.
    pub more_rows: usize,
    /// Where the columns come from, for [`Heatmap::fill_cells`].
    #[serde(skip)]
    span: Span,
}

impl HeatmapView {
    /// Whether the newest column is a bucket still filling.
    pub fn is_partial(&self) -> bool {
        self.last_ms < i64::from(self.resolution_s).saturating_mul(1000)
    }

    /// Start of column `col`.
    pub fn column_start(&self, col: usize) -> Timestamp {
        let res_ms = i64::from(self.resolution_s).saturating_mul(1000);
        self.start.add_millis(res_ms.saturating_mul(col as i64))
    }

    /// Where the view ends: the end of its newest column, or the time that
    /// column has reached while it is still filling.
    pub fn end(&self) -> Timestamp {
        self.column_start(self.columns.saturating_sub(1))
            .add_millis(self.last_ms)
    }

    /// Seconds column `col` covers: a whole column, or what has passed of
    /// the newest while it fills (at least a second, so a bucket a few
    /// milliseconds old does not read as a burst).
    pub fn column_secs(&self, col: usize) -> f64 {
        let whole = f64::from(self.resolution_s.max(1));
        if col + 1 == self.columns && self.is_partial() {
            (self.last_ms as f64 / 1000.0).clamp(1.0, whole)
        } else {
            whole
        }
    }

    /// Accesses per second of `cell` in column `col`.
    pub fn rate(&self, col: usize, cell: &Cell) -> f64 {
        f64::from(cell.accesses) / self.column_secs(col)
    }

    /// Milliseconds of column `col` known for `row`: all that has passed
    /// of it, or for a row read now and then, up to its latest read (0:
    /// the column is after it, not read yet).
    pub fn known_ms(&self, row: &RowView, col: usize) -> i64 {
        let start = self.column_start(col);
        let whole = i64::from(self.resolution_s).saturating_mul(1000);
        let passed = if col + 1 == self.columns {
            self.last_ms
        } else {
            whole
        };
        match row.through {
            Some(t) => t
                .as_millis()
                .saturating_sub(start.as_millis())
                .clamp(0, passed),
            None => passed,
        }
    }

    /// Accesses per second of `row`'s cell in column `col`, over the part
    /// of the column known for it (at least a second); `None` when none
    /// of it is known yet.
    pub fn row_rate(&self, row: &RowView, col: usize) -> Option<f64> {
        let known = self.known_ms(row, col);
        let cell = row.cells.get(col)?;
        if row.through.is_some() && known == 0 && cell.accesses == 0 {
            return None;
        }
        Some(f64::from(cell.accesses) / (known as f64 / 1000.0).max(1.0))
    }
}

/// Recommendations a view keeps (the most urgent).
pub const MAX_RECOMMENDATIONS: usize = 100;

/// Where a view's columns come from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Span {
    level: usize,
    from: i64,
    to: i64,
    per: i64,
}

impl Heatmap {
    /// The zoom steps the time axis offers, in seconds per column.
    pub fn zoom_levels(&self) -> Vec<u32> {
        let base = self.config.base_resolution_s.max(1);
        let roll = self.config.rollup_resolution_s.max(1);
        let mut z = vec![base, base * 3, base * 6, roll, roll * 3, roll * 12];
        z.sort_unstable();
        z.dedup();
        z
    }

    /// The grid for `columns` columns of `resolution_s` seconds ending at
    /// `now` (its bucket, still filling, included), with every row's cells.
    pub fn view(&self, now: Timestamp, resolution_s: u32, columns: usize) -> HeatmapView {
        let mut v = self.view_rows(now, now, resolution_s, columns);
        self.fill_cells(&mut v, usize::MAX);
        v
    }

    /// The level, bucket range and buckets per column of a view whose
    /// newest column holds `end`, and that column's width and start (ms).
    ///
    /// The finest level whose width divides the request and that still
    /// holds the whole span; else the dividing level holding most of it;
    /// else (the time is older than every dividing level keeps) the finest
    /// level holding any of it, at its own width; else the coarsest.
    fn span(&self, end: Timestamp, resolution_s: u32, columns: usize) -> (Span, i64, i64) {
        let want = i64::from(resolution_s.max(1));
        let cols = columns as i64;
        let geometry = |l: &Level| {
            let res = if want % l.res_secs() == 0 {
                want
            } else {
                l.res_secs().max(want)
            };
            let per = (res / l.res_secs()).max(1);
            let res = per * l.res_secs();
            let res_ms = res.saturating_mul(1000);
            let end_col = end.as_millis().div_euclid(res_ms).saturating_add(1);
            let from_col = end_col.saturating_sub(cols);
            (res, per, from_col, end_col)
        };
        // Buckets of from..to the level still holds (all, before any data).
        let held = |l: &Level, from: i64, to: i64| match l.open_index() {
            None => to - from,
            Some(open) => {
                let oldest = open.saturating_sub(l.retention()).saturating_add(1);
                (to - from.max(oldest)).clamp(0, to - from)
            }
        };
        let cover = |i: usize| {
            let l = &self.levels[i];
            let (_, per, from_col, end_col) = geometry(l);
            let (from, to) = (from_col.saturating_mul(per), end_col.saturating_mul(per));
            (held(l, from, to), to - from)
        };
        let n = self.levels.len();
        let divides = |i: usize| want % self.levels[i].res_secs() == 0;
        let pick = (0..n)
            .find(|&i| divides(i) && cover(i).0 == cover(i).1)
            .or_else(|| {
                // Most of the span held (as a share), the finer on a tie.
                (0..n)
                    .filter(|&i| divides(i) && cover(i).0 > 0)
                    .max_by(|&x, &y| {
                        let (hx, tx) = cover(x);
                        let (hy, ty) = cover(y);
                        (i128::from(hx) * i128::from(ty))
                            .cmp(&(i128::from(hy) * i128::from(tx)))
                            .then(y.cmp(&x))
                    })
            })
            .or_else(|| (0..n).find(|&i| cover(i).0 > 0))
            .unwrap_or(n - 1);
        let level = &self.levels[pick];
        let (res, per, from_col, end_col) = geometry(level);
        let (from, to) = (from_col.saturating_mul(per), end_col.saturating_mul(per));
        let s = Span {
            level: pick,
            from,
            to,
            per,
        };
        (s, res, from_col.saturating_mul(res.saturating_mul(1000)))
    }

    /// The grid's rows with their window sums, temperatures and all-time
    /// figures but no cells yet (the per-measure totals have theirs): what
    /// filtering and sorting need, at a few dozen bytes per row. Give the
    /// rows to be shown their cells with [`Heatmap::fill_cells`].
    ///
    /// The newest column holds `end` (`now` for a live view, earlier when
    /// scrolled back); the bucket still filling at `now` is counted, and
    /// [`HeatmapView::last_ms`] says how much of it has passed.
    pub fn view_rows(
        &self,
        end: Timestamp,
        now: Timestamp,
        resolution_s: u32,
        columns: usize,
    ) -> HeatmapView {
        let columns = columns.clamp(1, 4096);
        let end = end.min(now);
        let (sp, res, start) = self.span(end, resolution_s, columns);
        let n = self.rows.len();
        let mut windows = vec![Cell::default(); n];
        let mut totals_cells: Vec<(usize, Vec<Cell>)> = Vec::new();
        let total_ids: Vec<usize> = (0..n)
            .filter(|&i| self.rows[i].kind == RowKind::Total)
            .collect();
        for &i in &total_ids {
            totals_cells.push((i, vec![Cell::default(); columns]));
        }
        self.levels[sp.level].scan(sp.from, sp.to, sp.per, |col, idx, row, cell| {
            let r = row as usize;
            if r >= n || self.hidden(row, sp.level, idx) {
                return;
            }
            if let Some(w) = windows.get_mut(r) {
                w.merge(cell);
            }
            if let Some((_, cells)) = totals_cells.iter_mut().find(|(i, _)| *i == r) {
                if let Some(c) = cells.get_mut(col) {
                    c.merge(cell);
                }
            }
        });
        let mut rows = Vec::with_capacity(self.live_rows());
        for (i, window) in windows.into_iter().enumerate() {
            let r = &self.rows[i];
            if r.kind == RowKind::Total || !r.live {
                continue;
            }
            let hit_ratio = match r.measure {
                Measure::Sampled => None,
                _ => window.hit_ratio(),
            };
            rows.push(RowView {
                id: RowId(i as u32),
                kind: r.kind,
                measure: r.measure,
                name: r.name.to_string(),
                cells: Vec::new(),
                window,
                hit_ratio,
                temperature: Temperature::Frozen,
                totals: r.totals,
                through: r.through,
            });
        }
        let totals = totals_cells
            .into_iter()
            .map(|(i, cells)| (self.rows[i].measure, cells))
            .collect();
        // How much of the newest column has passed: data up to the latest
        // of `now` and the time axis (a held screen asks about an earlier
        // `now` than the buckets have reached).
        let res_ms = res.saturating_mul(1000);
        let last_start = start.saturating_add(res_ms.saturating_mul(columns as i64 - 1));
        let reached = self.horizon.map_or(now, |h| h.max(now));
        let last_ms = reached
            .as_millis()
            .saturating_sub(last_start)
            .clamp(0, res_ms);
        let window_end = Timestamp(last_start.saturating_add(last_ms));
        let span_s = window_end.millis_since(Timestamp(start)) / 1000;
        let quartiles = self.classify(&mut rows, window_end, span_s as i64);
        rows.sort_by(|a, b| {
            b.window
                .accesses
                .cmp(&a.window.accesses)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.id.cmp(&b.id))
        });
        let top_fingerprints = top_fingerprints(&rows, 10);
        HeatmapView {
            resolution_s: u32::try_from(res).unwrap_or(u32::MAX),
            asked_s: resolution_s.max(1),
            start: Timestamp(start),
            columns,
            last_ms,
            rows,
            quartiles,
            totals,
            recommendations: self.recommendations(now),
            top_fingerprints,
            more_rows: 0,
            span: sp,
        }
    }

    /// Keep the first `limit` rows of `view` (as filtered and sorted by the
    /// caller) and give them their cells; the rest are counted in
    /// `more_rows`. Cells cost `columns` × 24 bytes a row: only the rows a
    /// pane can show should have them.
    pub fn fill_cells(&self, view: &mut HeatmapView, limit: usize) {
        if view.rows.len() > limit {
            view.more_rows += view.rows.len() - limit;
            view.rows.truncate(limit);
        }
        let (columns, sp) = (view.columns, view.span);
        let mut slot = vec![u32::MAX; self.rows.len()];
        for (k, r) in view.rows.iter_mut().enumerate() {
            if let Some(s) = slot.get_mut(r.id.0 as usize) {
                *s = k as u32;
            }
            r.cells = vec![Cell::default(); columns];
        }
        self.levels[sp.level].scan(sp.from, sp.to, sp.per, |col, idx, row, cell| {
            let Some(&k) = slot.get(row as usize) else {
                return;
            };
            if k == u32::MAX || self.hidden(row, sp.level, idx) {
                return;
            }
            if let Some(c) = view
                .rows
                .get_mut(k as usize)
                .and_then(|r| r.cells.get_mut(col))
            {
                c.merge(cell);
            }
        });
    }

    /// Quartiles once per kind, then a temperature per row, with absolute
    /// floors so an idle system is not a quarter Hot.
    fn classify(
        &self,
        rows: &mut [RowView],
        now: Timestamp,
        span_s: i64,
    ) -> Vec<(RowKind, Quartiles)> {
        let observed_s = self.first_seen().map_or(0.0, |f| now.secs_since(f));
        let minutes =
            (observed_s.min(span_s as f64)).max(self.config.base_resolution_s as f64) / 60.0;
        let mut out = Vec::new();
        for kind in [RowKind::Table, RowKind::Prefix, RowKind::Fingerprint] {
            let mut acc: Vec<u64> = rows
                .iter()
                .filter(|r| r.kind == kind)
                .map(|r| u64::from(r.window.accesses))
                .collect();
            if acc.is_empty() {
                continue;
            }
            acc.sort_unstable();
            let at = |num: usize| acc.get(acc.len() * num / 4).copied().unwrap_or(0);
            let q = Quartiles {
                p25: at(1),
                p50: at(2),
                p75: at(3),
            };
            for r in rows.iter_mut().filter(|r| r.kind == kind) {
                let a = u64::from(r.window.accesses);
                let per_min = a as f64 / minutes;
                r.temperature = if a == 0 {
                    Temperature::Frozen
                } else if a >= q.p75 && per_min >= self.config.hot_floor_per_min {
                    Temperature::Hot
                } else if a >= q.p50 && per_min >= self.config.warm_floor_per_min {
                    Temperature::Warm
                } else if a >= q.p25 {
                    Temperature::Cold
                } else {
                    Temperature::Frozen
                };
            }
            out.push((kind, q));
        }
        out
    }

    /// The seed's two rules on all-time figures of cache rows: a low hit ratio
    /// once there is enough data, and idle rows whose TTL could be lower.
    pub fn recommendations(&self, now: Timestamp) -> Vec<Recommendation> {
        let c = &self.config;
        let mut recs = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            if !r.live
                || r.measure != Measure::Cache
                || !matches!(r.kind, RowKind::Table | RowKind::Prefix)
            {
                continue;
            }
            let t = &r.totals;
            let total = t.hits.saturating_add(t.misses);
            if total < c.min_accesses_for_advice {
                continue;
            }
            let id = RowId(i as u32);
            if let Some(hr) = ratio(t.hits, total) {
                if hr < c.low_hit_ratio {
                    recs.push(Recommendation {
                        row: id,
                        name: r.name.to_string(),
                        issue: "Low cache hit ratio".into(),
                        suggestion: format!(
                            "Consider increasing TTL or cache size for '{}' (current hit ratio: {:.1}%)",
                            r.name,
                            hr * 100.0
                        ),
                        priority: Priority::High,
                    });
                }
            }
            if let Some(last) = t.last_access {
                let idle = now.millis_since(last) / 1000;
                if idle > c.idle_secs && total < c.idle_max_accesses {
                    recs.push(Recommendation {
                        row: id,
                        name: r.name.to_string(),
                        issue: "Cold data in cache".into(),
                        suggestion: format!(
                            "'{}' hasn't been accessed in {} minutes, consider reducing TTL",
                            r.name,
                            idle / 60
                        ),
                        priority: Priority::Medium,
                    });
                }
            }
        }
        recs.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        recs.truncate(MAX_RECOMMENDATIONS);
        recs
    }
}

fn top_fingerprints(rows: &[RowView], n: usize) -> Vec<TopFingerprint> {
    let mut fps: Vec<TopFingerprint> = rows
        .iter()
        .filter(|r| r.kind == RowKind::Fingerprint)
        .map(|r| TopFingerprint {
            row: r.id,
            text: r.name.clone(),
            saved_us: r.totals.saved_us,
            window_saved_us: r.window.saved_us,
            hit_ratio: r.hit_ratio,
        })
        .collect();
    fps.sort_by(|a, b| {
        b.saved_us
            .cmp(&a.saved_us)
            .then_with(|| cmp_f64(b.hit_ratio.unwrap_or(0.0), a.hit_ratio.unwrap_or(0.0)))
            .then_with(|| a.text.cmp(&b.text))
    });
    fps.truncate(n);
    fps
}
