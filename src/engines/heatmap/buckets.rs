//! Time buckets at one resolution: a dense open bucket for fast ingest and a
//! ring of sparse closed buckets (idle rows cost nothing per bucket).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// What one row did in one time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Accesses (for cache and buffer rows, hits + misses; for sampled rows an estimate).
    pub accesses: u32,
    /// Hits in this bucket only.
    pub hits: u32,
    /// Misses in this bucket only.
    pub misses: u32,
    /// A counter reset happened here: the series is broken, nothing was counted.
    pub gap: bool,
    /// Time saved by hits in this bucket, in microseconds.
    pub saved_us: u64,
}

impl Cell {
    /// Add `o` into `self` (saturating: a bucket never wraps).
    pub fn merge(&mut self, o: &Cell) {
        self.accesses = self.accesses.saturating_add(o.accesses);
        self.hits = self.hits.saturating_add(o.hits);
        self.misses = self.misses.saturating_add(o.misses);
        self.saved_us = self.saved_us.saturating_add(o.saved_us);
        self.gap |= o.gap;
    }

    /// This bucket's own hit ratio, hits / (hits + misses); `None` when empty.
    pub fn hit_ratio(&self) -> Option<f64> {
        super::super::ratio(
            u64::from(self.hits),
            u64::from(self.hits) + u64::from(self.misses),
        )
    }

    fn is_empty(&self) -> bool {
        *self == Cell::default()
    }
}

#[derive(Debug, Clone)]
struct Closed {
    index: i64,
    /// Sorted by row id.
    cells: Vec<(u32, Cell)>,
}

/// One resolution level of the heatmap's time axis.
#[derive(Debug, Clone)]
pub struct Level {
    res_ms: i64,
    retention: i64,
    open_index: Option<i64>,
    open: Vec<Cell>,
    touched: Vec<u32>,
    /// Per row: listed in `touched` (a row whose open cell was cleared and
    /// filled again is listed once, however often that happens).
    listed: Vec<bool>,
    closed: VecDeque<Closed>,
    dropped_late: u64,
    /// Cells a closed bucket keeps: the busiest rows of the bucket.
    max_cells: usize,
    dropped_cells: u64,
}

impl Level {
    /// A level of `res_secs`-second buckets keeping the newest `retention` buckets.
    pub fn new(res_secs: u32, retention: u32) -> Self {
        Self {
            res_ms: i64::from(res_secs.max(1)) * 1000,
            retention: i64::from(retention.max(1)),
            open_index: None,
            open: Vec::new(),
            touched: Vec::new(),
            listed: Vec::new(),
            closed: VecDeque::new(),
            dropped_late: 0,
            max_cells: usize::MAX,
            dropped_cells: 0,
        }
    }

    /// The same level, whose closed buckets keep at most `max_cells` cells
    /// (the rows with the most accesses in the bucket), so its memory is
    /// bounded by `retention × max_cells` however many rows there are.
    pub fn with_max_cells(mut self, max_cells: usize) -> Self {
        self.max_cells = max_cells.max(1);
        self
    }

    /// Cells left out of closed buckets by the per-bucket cap (each a
    /// row's figures for one bucket; the rows' totals still count them).
    pub fn dropped_cells(&self) -> u64 {
        self.dropped_cells
    }

    /// Forget what `row` did in the open bucket (its id goes to another
    /// name; what it did in closed buckets is hidden by the caller).
    pub fn clear_open(&mut self, row: u32) {
        if let Some(c) = self.open.get_mut(row as usize) {
            *c = Cell::default();
        }
    }

    /// Bucket width in seconds.
    pub fn res_secs(&self) -> i64 {
        self.res_ms / 1000
    }

    /// How many buckets are kept.
    pub fn retention(&self) -> i64 {
        self.retention
    }

    /// The bucket index holding millisecond time `ms`.
    pub fn index_of(&self, ms: i64) -> i64 {
        ms.div_euclid(self.res_ms)
    }

    /// Events too old for this level's retention that were not kept.
    pub fn dropped_late(&self) -> u64 {
        self.dropped_late
    }

    /// Bytes held by closed buckets (approximate).
    pub fn approx_bytes(&self) -> usize {
        let cells: usize = self.closed.iter().map(|b| b.cells.capacity()).sum();
        cells * std::mem::size_of::<(u32, Cell)>()
            + self.open.capacity() * std::mem::size_of::<Cell>()
            + self.listed.capacity()
            + self.touched.capacity() * 4
            + self.closed.capacity() * std::mem::size_of::<Closed>()
    }

    /// Make room for row ids below `rows` in the dense open bucket.
    pub fn ensure_rows(&mut self, rows: usize) {
        if self.open.len() < rows {
            self.open.resize(rows, Cell::default());
            self.listed.resize(rows, false);
        }
    }

    /// Add `delta` for `row` at millisecond time `ms`.
    #[inline]
    pub fn add(&mut self, row: u32, ms: i64, delta: &Cell) {
        let idx = self.index_of(ms);
        match self.open_index {
            Some(open) if open == idx => self.add_open(row, delta),
            Some(open) if idx < open => self.add_late(row, idx, open, delta),
            _ => {
                self.roll_to(idx);
                self.add_open(row, delta);
            }
        }
    }

    #[inline]
    fn add_open(&mut self, row: u32, delta: &Cell) {
        let r = row as usize;
        if r >= self.open.len() {
            self.ensure_rows(r + 1);
        }
        if let Some(listed) = self.listed.get_mut(r).filter(|l| !**l) {
            *listed = true;
            self.touched.push(row);
        }
        self.open[r].merge(delta);
    }

    fn add_late(&mut self, row: u32, idx: i64, open: i64, delta: &Cell) {
        if idx <= open - self.retention {
            self.dropped_late = self.dropped_late.saturating_add(1);
            return;
        }
        let pos = self.closed.partition_point(|b| b.index < idx);
        if self.closed.get(pos).is_none_or(|b| b.index != idx) {
            self.closed.insert(
                pos,
                Closed {
                    index: idx,
                    cells: Vec::new(),
                },
            );
        }
        if let Some(b) = self.closed.get_mut(pos) {
            match b.cells.binary_search_by_key(&row, |(r, _)| *r) {
                Ok(i) => b.cells[i].1.merge(delta),
                Err(_) if b.cells.len() >= self.max_cells => {
                    self.dropped_cells = self.dropped_cells.saturating_add(1);
                }
                Err(i) => b.cells.insert(i, (row, *delta)),
            }
        }
    }

    /// Close the open bucket and open bucket `idx` (moving forward in time).
    fn roll_to(&mut self, idx: i64) {
        if let Some(open) = self.open_index {
            if !self.touched.is_empty() {
                self.touched.sort_unstable();
                let mut cells = Vec::with_capacity(self.touched.len());
                for &r in &self.touched {
                    if let Some(l) = self.listed.get_mut(r as usize) {
                        *l = false;
                    }
                    if let Some(c) = self.open.get_mut(r as usize) {
                        let c = std::mem::take(c);
                        if !c.is_empty() {
                            cells.push((r, c));
                        }
                    }
                }
                self.touched.clear();
                self.keep_busiest(&mut cells);
                if !cells.is_empty() {
                    self.closed.push_back(Closed { index: open, cells });
                }
            }
        }
        self.open_index = Some(idx);
        let oldest = idx - self.retention;
        while self.closed.front().is_some_and(|b| b.index <= oldest) {
            self.closed.pop_front();
        }
    }

    /// Keep the `max_cells` busiest cells (most accesses, then most time
    /// saved, then the lower row id), sorted by row id again.
    fn keep_busiest(&mut self, cells: &mut Vec<(u32, Cell)>) {
        if cells.len() <= self.max_cells {
            return;
        }
        let dropped = cells.len() - self.max_cells;
        cells.select_nth_unstable_by(self.max_cells - 1, |a, b| {
            (b.1.accesses, b.1.saved_us, a.0).cmp(&(a.1.accesses, a.1.saved_us, b.0))
        });
        cells.truncate(self.max_cells);
        cells.sort_unstable_by_key(|(r, _)| *r);
        cells.shrink_to_fit();
        self.dropped_cells = self.dropped_cells.saturating_add(dropped as u64);
    }

    /// Advance the open bucket to the one holding `ms`, so that a quiet period
    /// shows as empty buckets and old ones age out.
    pub fn advance(&mut self, ms: i64) {
        let idx = self.index_of(ms);
        if self.open_index.is_none_or(|open| idx > open) {
            self.roll_to(idx);
        }
    }

    /// Sum cells of buckets `from..to` (bucket indices of this level), calling
    /// `f(column, index, row, cell)` where `column = (index - from) / per_column`.
    pub fn scan(
        &self,
        from: i64,
        to: i64,
        per_column: i64,
        mut f: impl FnMut(usize, i64, u32, &Cell),
    ) {
        let per = per_column.max(1);
        let col = |index: i64| (index.saturating_sub(from) / per).max(0) as usize;
        let start = self.closed.partition_point(|b| b.index < from);
        for b in self.closed.iter().skip(start) {
            if b.index >= to {
                break;
            }
            let c = col(b.index);
            for (r, cell) in &b.cells {
                f(c, b.index, *r, cell);
            }
        }
        if let Some(open) = self.open_index {
            if open >= from && open < to {
                let c = col(open);
                for &r in &self.touched {
                    if let Some(cell) = self.open.get(r as usize).filter(|c| !c.is_empty()) {
                        f(c, open, r, cell);
                    }
                }
            }
        }
    }

    /// The index of the open (newest) bucket, if any data arrived.
    pub fn open_index(&self) -> Option<i64> {
        self.open_index
    }

    /// Number of closed buckets stored (empty periods store none).
    pub fn stored_buckets(&self) -> usize {
        self.closed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit() -> Cell {
        Cell {
            accesses: 1,
            hits: 1,
            ..Cell::default()
        }
    }

    fn collect(l: &Level, from: i64, to: i64, per: i64) -> Vec<(usize, u32, u32)> {
        let mut v = Vec::new();
        l.scan(from, to, per, |c, _, r, cell| v.push((c, r, cell.accesses)));
        v.sort_unstable();
        v
    }

    #[test]
    fn fixes_seed_vec_remove_zero_with_bounded_ring() {
        let mut l = Level::new(10, 3);
        for s in 0..100 {
            l.add(0, s * 10_000, &hit());
        }
        assert!(l.stored_buckets() <= 3);
        assert_eq!(
            collect(&l, 96, 100, 1),
            vec![(1, 0, 1), (2, 0, 1), (3, 0, 1)]
        );
    }

    #[test]
    fn fixes_seed_empty_periods_produce_empty_buckets() {
        let mut l = Level::new(10, 100);
        l.add(0, 0, &hit());
        l.add(0, 500_000, &hit()); // 50 buckets later
        assert_eq!(l.stored_buckets(), 1);
        let v = collect(&l, 0, 51, 1);
        assert_eq!(v, vec![(0, 0, 1), (50, 0, 1)]);
    }

    #[test]
    fn late_events_land_in_their_bucket_or_are_counted_as_dropped() {
        let mut l = Level::new(10, 5);
        l.add(1, 100_000, &hit());
        l.add(1, 75_000, &hit()); // bucket 7, three back
        l.add(2, 75_000, &hit());
        l.add(1, 0, &hit()); // beyond retention
        assert_eq!(l.dropped_late(), 1);
        assert_eq!(collect(&l, 7, 8, 1), vec![(0, 1, 1), (0, 2, 1)]);
    }

    #[test]
    fn closed_buckets_keep_their_busiest_cells_whatever_the_rows() {
        let mut l = Level::new(10, 100).with_max_cells(50);
        let busy = Cell {
            accesses: 1000,
            ..hit()
        };
        // A million row figures over 100 buckets: 10 000 rows in each.
        let one = hit();
        for i in 0..1_000_000u32 {
            let ms = i64::from(i / 10_000) * 10_000;
            l.add(i % 20_000, ms, if i % 10_000 == 7 { &busy } else { &one });
        }
        l.advance(1_000_000);
        assert_eq!(l.stored_buckets(), 99, "the oldest aged out");
        let stored: usize = l.closed.iter().map(|b| b.cells.len()).sum();
        assert!(stored <= 100 * 50, "{stored}");
        assert!(l.dropped_cells() > 0);
        // The busy row of each bucket is among the kept ones.
        assert!(
            l.closed
                .iter()
                .all(|b| b.cells.iter().any(|(r, _)| r % 10_000 == 7))
        );
        // Late events into a full bucket are dropped and counted too.
        let before = l.dropped_cells();
        l.add(19_999, 10_000, &hit());
        assert_eq!(l.dropped_cells(), before + 1);
        let open = 20_000 * std::mem::size_of::<Cell>();
        // The dense open bucket grows by doubling: up to twice the rows.
        assert!(
            l.approx_bytes() < 2 * open + 100 * 50 * 40 + 100 * 64,
            "{}",
            l.approx_bytes()
        );
    }

    #[test]
    fn a_row_cleared_and_refilled_a_million_times_is_listed_once() {
        let mut l = Level::new(300, 10);
        for _ in 0..1_000_000 {
            l.add(3, 1_000, &hit());
            l.clear_open(3);
        }
        l.add(3, 1_000, &hit());
        assert_eq!(l.touched.len(), 1);
        assert_eq!(collect(&l, 0, 1, 1), vec![(0, 3, 1)]);
        l.advance(400_000);
        assert!(l.touched.is_empty());
        assert_eq!(collect(&l, 0, 1, 1), vec![(0, 3, 1)]);
    }

    #[test]
    fn no_panic_at_extreme_times() {
        let mut l = Level::new(10, 5);
        l.add(0, i64::MAX, &hit());
        l.add(0, i64::MIN, &hit());
        l.advance(i64::MAX);
        let _ = collect(&l, i64::MAX / 10_000 - 2, i64::MAX / 10_000 + 1, 1);
    }
}
