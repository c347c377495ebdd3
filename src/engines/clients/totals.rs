//! In-memory totals for display, windowed rates, and the per-client storage.
//!
//! Totals count every delta at `apply` time; they are what the Clients pane
//! shows and are independent of whether the sink has flushed yet.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::delta::{ClientAccum, TableAccum};
use crate::engines::Timestamp;

/// Seconds a client's rates are measured over.
pub const RATE_WINDOW_SECS: usize = 10;

/// Events per second over the last [`RATE_WINDOW_SECS`] seconds ending at
/// `now`: a ring of per-second counts. A rate over a stated window, so it
/// reads the true rate as soon as the window has filled (an exponential
/// decay with a 10 s half-life read 29 % of it after 5 s and 75 % after
/// 20 s), and 0 one window after the traffic stopped. Before the window
/// has filled it is measured from the client's first second (at least one
/// second), so it starts near the true rate too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WindowRate {
    /// Events per second, by unix second modulo the window.
    counts: [u32; RATE_WINDOW_SECS],
    /// The unix second of the newest bucket.
    head: i64,
    /// The first second anything was counted (the window starts no earlier).
    first: Option<i64>,
}

const N: i64 = RATE_WINDOW_SECS as i64;

fn slot(sec: i64) -> usize {
    // In 0..N by `rem_euclid`.
    usize::try_from(sec.rem_euclid(N)).unwrap_or(0)
}

impl WindowRate {
    /// Adds `n` events at `now`. Negative corrections and counts older
    /// than the window change nothing; a clock going backwards within the
    /// window counts in its own second.
    #[inline]
    pub fn add(&mut self, n: i64, now: Timestamp) {
        let sec = now.as_millis().div_euclid(1000);
        match self.first {
            None => {
                self.first = Some(sec);
                self.head = sec;
            }
            Some(first) => {
                self.first = Some(first.min(sec));
                if sec > self.head {
                    if sec.saturating_sub(self.head) >= N {
                        self.counts = [0; RATE_WINDOW_SECS];
                    } else {
                        for s in self.head + 1..=sec {
                            self.counts[slot(s)] = 0;
                        }
                    }
                    self.head = sec;
                } else if sec <= self.head.saturating_sub(N) {
                    return;
                }
            }
        }
        let add = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        let c = &mut self.counts[slot(sec)];
        *c = c.saturating_add(add);
    }

    /// Events per second over the window ending at `now` (never negative,
    /// never NaN or infinite).
    pub fn per_sec(&self, now: Timestamp) -> f64 {
        let Some(first) = self.first else {
            return 0.0;
        };
        let now_ms = now.as_millis();
        let sec = now_ms.div_euclid(1000);
        // Whole seconds sec-N+1 ..= sec; the current one only so far.
        let lo = sec.saturating_sub(N - 1);
        let sum: u64 = (lo.max(self.head.saturating_sub(N - 1))..=sec.min(self.head))
            .map(|s| u64::from(self.counts[slot(s)]))
            .sum();
        let start_ms = lo.max(first).saturating_mul(1000);
        let span_ms = now_ms.saturating_sub(start_ms).max(1000);
        let v = sum as f64 * 1000.0 / span_ms as f64;
        if v.is_finite() { v.max(0.0) } else { 0.0 }
    }
}

/// Running totals for one client (the `client_statistics` columns, in memory).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ClientTotals {
    /// Requests.
    pub requests: i64,
    /// Successful requests.
    pub successes: i64,
    /// Failed requests.
    pub failures: i64,
    /// Cached requests.
    pub cached: i64,
    /// Operations.
    pub operations: i64,
    /// First delta of any kind.
    pub first_seen: Option<Timestamp>,
    /// Latest delta of any kind (including a bare last-seen touch).
    pub last_seen: Option<Timestamp>,
    /// Latest delta with requests > 0 (the seed's `last_request_at` rule).
    pub last_request_at: Option<Timestamp>,
    /// Latest delta with operations > 0 (the seed's `last_operation_at` rule).
    pub last_operation_at: Option<Timestamp>,
    /// Requests per second over the last [`RATE_WINDOW_SECS`].
    pub request_rate: WindowRate,
    /// Operations per second over the last [`RATE_WINDOW_SECS`].
    pub operation_rate: WindowRate,
}

impl ClientTotals {
    /// Marks activity at `now`.
    #[inline]
    pub(crate) fn touch(&mut self, now: Timestamp) {
        if self.first_seen.is_none() {
            self.first_seen = Some(now);
        }
        if self.last_seen.is_none_or(|t| now > t) {
            self.last_seen = Some(now);
        }
    }

    /// Counts a request/operation delta at `now`.
    #[inline]
    pub(crate) fn add(&mut self, d: &ClientAccum, now: Timestamp) {
        self.touch(now);
        self.requests = self.requests.saturating_add(d.d_req);
        self.successes = self.successes.saturating_add(d.d_succ);
        self.failures = self.failures.saturating_add(d.d_fail);
        self.cached = self.cached.saturating_add(d.d_cached);
        self.operations = self.operations.saturating_add(d.d_op);
        if d.d_req != 0 {
            self.request_rate.add(d.d_req, now);
            if d.d_req > 0 && self.last_request_at.is_none_or(|t| now > t) {
                self.last_request_at = Some(now);
            }
        }
        if d.d_op != 0 {
            self.operation_rate.add(d.d_op, now);
            if d.d_op > 0 && self.last_operation_at.is_none_or(|t| now > t) {
                self.last_operation_at = Some(now);
            }
        }
    }
}

/// Running totals for one (client, table, operation) row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableTotals {
    /// Operations.
    pub total: i64,
    /// Failed operations.
    pub errors: i64,
    /// Latest delta for this row.
    pub last_at: Option<Timestamp>,
}

impl TableTotals {
    /// Counts a table delta at `now`.
    #[inline]
    pub(crate) fn add(&mut self, d: &TableAccum, now: Timestamp) {
        self.total = self.total.saturating_add(d.d_total);
        self.errors = self.errors.saturating_add(d.d_err);
        if self.last_at.is_none_or(|t| now > t) {
            self.last_at = Some(now);
        }
    }
}

/// Everything the engine keeps for one client: totals and pending deltas in
/// one place, so a delta touches one cache line region.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ClientSlot {
    pub totals: ClientTotals,
    pub pending: ClientAccum,
    /// `pending` counts as a pending row (a request/operation delta arrived).
    pub has_acc: bool,
    /// A last-seen touch is pending.
    pub seen: bool,
    /// The id is in the engine's pending-id list.
    pub queued: bool,
}

/// Totals and pending deltas of one table row.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TableEntry {
    pub totals: TableTotals,
    pub pending: TableAccum,
    /// The key is in the engine's pending-key list.
    pub queued: bool,
}

/// Per-client storage: a `Vec` indexed by id for the dense ids an interner
/// hands out, and a map above `dense_limit`, so a hostile id (`u32::MAX`)
/// cannot make the engine allocate gigabytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slots {
    dense: Vec<ClientSlot>,
    sparse: FxHashMap<u32, ClientSlot>,
    dense_limit: u32,
}

impl Slots {
    /// Empty storage with a dense part of at most `dense_limit` ids.
    pub fn new(dense_limit: u32) -> Self {
        Self {
            dense: Vec::new(),
            sparse: FxHashMap::default(),
            dense_limit,
        }
    }

    /// The slot of `id`, created empty if needed.
    #[inline]
    pub fn slot_mut(&mut self, id: u32) -> &mut ClientSlot {
        let i = id as usize;
        if id < self.dense_limit {
            if i >= self.dense.len() {
                self.dense.resize_with(i + 1, ClientSlot::default);
            }
            // In bounds: the vector was just grown past `i`.
            return &mut self.dense[i];
        }
        self.sparse.entry(id).or_default()
    }

    /// The slot of `id` if it exists.
    pub fn get(&self, id: u32) -> Option<&ClientSlot> {
        if id < self.dense_limit {
            self.dense.get(id as usize)
        } else {
            self.sparse.get(&id)
        }
    }

    /// Every slot that has seen a delta, with its id (unordered).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &ClientSlot)> {
        let dense = (0u32..).zip(self.dense.iter());
        let sparse = self.sparse.iter().map(|(id, s)| (*id, s));
        dense
            .chain(sparse)
            .filter(|(_, s)| s.totals.first_seen.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_rate_reads_the_true_rate_at_once_and_zero_one_window_after() {
        let t0 = 1_736_150_400_000;
        let at = |ms: i64| Timestamp::from_millis(t0 + ms);
        let mut r = WindowRate::default();
        // 5 000 events/s in 250 ms flushes, for 30 s: the true rate after
        // 2 s, 5 s and 30 s (a 10 s half-life decay read 13 %, 29 %, 88 %).
        for i in 1..=120 {
            r.add(1250, at(250 * i));
            if matches!(i, 8 | 20 | 120) {
                let v = r.per_sec(at(250 * i));
                assert!((v - 5000.0).abs() < 300.0, "after {} ms: {v}", 250 * i);
            }
        }
        // Stopped at 30 s: falling, and 0 one window later.
        let falling = r.per_sec(at(35_000));
        assert!(falling > 1000.0 && falling < 4000.0, "{falling}");
        assert_eq!(r.per_sec(at(30_000 + 1000 * N)), 0.0);
    }

    #[test]
    fn a_window_rate_survives_skew_and_garbage() {
        let mut r = WindowRate::default();
        r.add(5, Timestamp::from_secs(100));
        r.add(5, Timestamp::from_secs(1));
        assert!(r.per_sec(Timestamp::from_secs(0)).is_finite());
        r.add(-100, Timestamp::from_secs(100));
        assert!(r.per_sec(Timestamp::from_secs(100)) >= 0.0);
        r.add(i64::MAX, Timestamp(i64::MAX));
        assert!(r.per_sec(Timestamp(i64::MIN)).is_finite());
        assert!(r.per_sec(Timestamp(i64::MAX)).is_finite());
        let mut neg = WindowRate::default();
        neg.add(-3, Timestamp::from_secs(5));
        assert_eq!(neg.per_sec(Timestamp::from_secs(5)), 0.0);
    }

    #[test]
    fn hostile_ids_go_to_the_sparse_map() {
        let mut s = Slots::new(16);
        s.slot_mut(u32::MAX).totals.touch(Timestamp(1));
        s.slot_mut(3).totals.touch(Timestamp(1));
        assert!(s.dense.len() <= 16);
        assert_eq!(s.iter().count(), 2);
        assert!(s.get(u32::MAX).is_some());
        assert!(s.get(2).is_some_and(|x| x.totals.first_seen.is_none()));
        assert!(s.get(99).is_none());
    }

    #[test]
    fn last_request_at_follows_seed_rule() {
        let mut t = ClientTotals::default();
        let ops_only = ClientAccum {
            d_op: 1,
            ..ClientAccum::default()
        };
        t.add(&ops_only, Timestamp(5));
        assert_eq!(t.last_request_at, None);
        assert_eq!(t.last_operation_at, Some(Timestamp(5)));
        assert_eq!(t.last_seen, Some(Timestamp(5)));
        // An older timestamp never moves "last" backwards.
        t.add(&ops_only, Timestamp(2));
        assert_eq!(t.last_operation_at, Some(Timestamp(5)));
        assert_eq!(t.first_seen, Some(Timestamp(5)));
    }
}
