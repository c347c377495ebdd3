//! Counter deltas spread over the time they cover.
//!
//! A cumulative counter read every 10 s (Postgres table and statement
//! statistics) says what happened between two reads, not when. Recorded
//! at the read, a steady load fills one bucket in two when reads and
//! buckets drift apart, and leaves a false gap now and then. Spread over
//! the interval instead, each base bucket gets its share by the time it
//! overlaps, and the shares add up to the delta exactly.

use super::{Heatmap, RowId};
use crate::engines::Timestamp;
use crate::engines::counters::SetDelta;

impl Heatmap {
    /// Count one baseline's outcome of hit/miss counters read at `to`
    /// whose previous read was at `from`: the delta is spread over
    /// `from..to` in proportion to the time each base bucket covers (an
    /// interval longer than the base level keeps is spread in roll-up
    /// buckets). Without a usable `from` (none, or not before `to`) it
    /// counts at `to`, as [`Heatmap::record_delta`] does. A reset is a gap
    /// at `to`; a baseline counts nothing. The row is known up to `to`
    /// ([`RowView::through`](super::RowView)): after it, not yet read.
    pub fn record_delta_over(
        &mut self,
        row: RowId,
        d: SetDelta<2>,
        from: Option<Timestamp>,
        to: Timestamp,
    ) {
        if let Some(r) = self.rows.get_mut(row.0 as usize) {
            r.through = r.through.max(Some(to));
        }
        let (SetDelta::Values([hits, misses]), Some(from)) = (d, from) else {
            return self.record_delta(row, d, to);
        };
        if from >= to || hits.saturating_add(misses) == 0 {
            return self.record_delta(row, d, to);
        }
        for (at, [h, m]) in self.pieces(from, to, [hits, misses]) {
            self.record_delta(row, SetDelta::Values([h, m]), at);
        }
    }

    /// `totals` split over `from..to` (`from < to`) at bucket boundaries:
    /// each piece stamped with the start of the time it covers, its
    /// counts in proportion to that time (largest-remainder rounding by
    /// cumulative shares, so the pieces sum to `totals` exactly). Pieces
    /// with nothing in them are left out.
    pub(super) fn pieces(
        &self,
        from: Timestamp,
        to: Timestamp,
        totals: [u64; 2],
    ) -> Vec<(Timestamp, [u64; 2])> {
        let (a, b) = (from.as_millis(), to.as_millis());
        let span = i128::from(b) - i128::from(a);
        let base = &self.levels[0];
        let base_ms = base.res_secs().max(1) * 1000;
        // Pieces of the base width while the base level keeps them, else
        // of the roll-up width: at most a level's retention of pieces.
        let (step, kept) = if i128::from(base_ms) * i128::from(base.retention()) >= span {
            (base_ms, base.retention())
        } else {
            let roll = &self.levels[1];
            (roll.res_secs().max(1) * 1000, roll.retention())
        };
        // What lies before every level's reach is one piece at `from`:
        // counted in the row's totals, never drawn.
        let cutoff = b.saturating_sub(step.saturating_mul(kept));
        let mut out = Vec::new();
        let mut start = a;
        let mut given = [0u64; 2];
        while start < b {
            let end = if start < cutoff {
                cutoff
            } else {
                start
                    .div_euclid(step)
                    .saturating_add(1)
                    .saturating_mul(step)
                    .min(b)
            };
            let covered = i128::from(end) - i128::from(a);
            let mut piece = [0u64; 2];
            for k in 0..2 {
                let upto = i128::from(totals[k]).saturating_mul(covered) / span;
                let upto = u64::try_from(upto).unwrap_or(totals[k]);
                piece[k] = upto.saturating_sub(given[k]);
                given[k] = upto;
            }
            if piece != [0, 0] {
                out.push((Timestamp(start), piece));
            }
            if end <= start {
                break;
            }
            start = end;
        }
        out
    }
}
