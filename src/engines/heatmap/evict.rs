//! Keeping the heatmap's rows under `max_rows`: past the cap the least
//! recently used eighth of the rows is forgotten at once (one sort per
//! eighth of the cap, not one scan per new name) and their ids go to new
//! names. A reused id's old figures stay in the closed buckets until they
//! age out, hidden from views by the row's `hide` marks; its open-bucket
//! figures are cleared.

use super::{Heatmap, Measure, Row, RowId, RowKind, RowRef};

impl Heatmap {
    /// Rows that name something (the hidden totals excluded).
    pub(super) fn live_rows(&self) -> usize {
        self.rows.len() - self.free.len() - Measure::ALL.len()
    }

    /// Rows forgotten to stay under `max_rows` since the start.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Rows' figures left out of closed buckets by the per-bucket caps
    /// (base and roll-up level).
    pub fn dropped_cells(&self) -> u64 {
        self.levels
            .iter()
            .map(super::Level::dropped_cells)
            .fold(0, u64::saturating_add)
    }

    /// Fingerprints forgotten to stay under their caps.
    pub fn fingerprints_evicted(&self) -> u64 {
        self.fingerprints.evicted()
    }

    pub(super) fn row_ref(&self, id: RowId) -> RowRef {
        RowRef {
            id,
            generation: self.rows.get(id.0 as usize).map_or(0, |r| r.generation),
        }
    }

    /// Whether a stored id still names the row it named.
    pub(super) fn is_current(&self, r: RowRef) -> bool {
        self.rows
            .get(r.id.0 as usize)
            .is_some_and(|row| row.live && row.generation == r.generation)
    }

    /// Whether buckets up to `index` of level `level` are hidden for `row`
    /// (they hold a former name's figures).
    pub(super) fn hidden(&self, row: u32, level: usize, index: i64) -> bool {
        self.rows
            .get(row as usize)
            .and_then(|r| r.hide.get(level))
            .is_some_and(|&h| index <= h)
    }

    /// Forget the least recently used eighth of the rows (at least one).
    pub(super) fn evict_rows(&mut self) {
        let cap = self.config.max_rows.max(1) as usize;
        let n = (cap / 8).max(1);
        let mut ranked: Vec<(i64, u32)> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.live && r.kind != RowKind::Total)
            .map(|(i, r)| (last_touch(r), i as u32))
            .collect();
        let n = n.min(ranked.len());
        if n == 0 {
            return;
        }
        if n < ranked.len() {
            ranked.select_nth_unstable(n - 1);
        }
        for &(touched, i) in &ranked[..n] {
            let Some(r) = self.rows.get_mut(i as usize) else {
                continue;
            };
            r.live = false;
            if let Some(names) = self.index.get_mut(&(r.kind, r.measure)) {
                names.remove(&r.name);
            }
            r.name = "".into();
            // Closed buckets up to the last one it was used in hold its
            // figures; the open one is cleared below.
            for (h, l) in r.hide.iter_mut().zip(&self.levels) {
                let open = l.open_index().unwrap_or(i64::MIN);
                *h = l.index_of(touched).min(open.saturating_sub(1)).max(*h);
            }
            for l in &mut self.levels {
                l.clear_open(i);
            }
            self.counters.remove(&RowId(i));
            self.free.push(RowId(i));
        }
        self.evicted = self.evicted.saturating_add(n as u64);
    }

    /// Put a new name into a forgotten row's id.
    pub(super) fn reuse(&mut self, id: RowId, mut row: Row) {
        if let Some(old) = self.rows.get_mut(id.0 as usize) {
            row.hide = old.hide;
            row.generation = old.generation.wrapping_add(1);
            *old = row;
        }
    }
}

/// When a row was last used: its last access, or when it was made.
fn last_touch(r: &Row) -> i64 {
    r.totals
        .last_access
        .map_or(r.made, |t| t.as_millis().max(r.made))
}
