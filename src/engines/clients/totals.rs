//! In-memory totals for display, decayed rates, and the per-client storage.
//!
//! Totals count every delta at `apply` time; they are what the Clients pane
//! shows and are independent of whether the sink has flushed yet.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::delta::{ClientAccum, TableAccum};
use crate::engines::Timestamp;

/// An exponentially decayed event count that reads as events per second.
///
/// With a steady rate `r`, the decayed sum converges to `r · h / ln 2` (`h` the
/// half-life in seconds), so `rate = sum · ln 2 / h`. Decay is applied lazily
/// when time moves, so many deltas at one `now` cost one multiply-add each.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DecayedRate {
    sum: f64,
    at: Timestamp,
}

impl DecayedRate {
    /// Adds `n` events at `now` (a clock going backwards decays nothing).
    #[inline]
    pub fn add(&mut self, n: i64, now: Timestamp, half_life_ms: u64) {
        if now > self.at {
            self.sum *= decay(now.millis_since(self.at), half_life_ms);
            self.at = now;
        }
        self.sum += n as f64;
        if !self.sum.is_finite() {
            self.sum = 0.0;
        }
    }

    /// Events per second at `now` (never negative, never NaN or infinite).
    pub fn per_sec(&self, now: Timestamp, half_life_ms: u64) -> f64 {
        let h = half_life_ms.max(1) as f64 / 1000.0;
        let v =
            self.sum * decay(now.millis_since(self.at), half_life_ms) * std::f64::consts::LN_2 / h;
        if v.is_finite() { v.max(0.0) } else { 0.0 }
    }
}

/// The factor `2^(-dt / half_life)`.
#[inline]
fn decay(dt_ms: u64, half_life_ms: u64) -> f64 {
    if dt_ms == 0 {
        return 1.0;
    }
    (-(dt_ms as f64) / half_life_ms.max(1) as f64).exp2()
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
    /// Decayed requests per second.
    pub request_rate: DecayedRate,
    /// Decayed operations per second.
    pub operation_rate: DecayedRate,
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
    pub(crate) fn add(&mut self, d: &ClientAccum, now: Timestamp, half_life_ms: u64) {
        self.touch(now);
        self.requests = self.requests.saturating_add(d.d_req);
        self.successes = self.successes.saturating_add(d.d_succ);
        self.failures = self.failures.saturating_add(d.d_fail);
        self.cached = self.cached.saturating_add(d.d_cached);
        self.operations = self.operations.saturating_add(d.d_op);
        if d.d_req != 0 {
            self.request_rate.add(d.d_req, now, half_life_ms);
            if d.d_req > 0 && self.last_request_at.is_none_or(|t| now > t) {
                self.last_request_at = Some(now);
            }
        }
        if d.d_op != 0 {
            self.operation_rate.add(d.d_op, now, half_life_ms);
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
    fn decayed_rate_converges_to_steady_rate() {
        let h = 10_000;
        let mut r = DecayedRate::default();
        // 100 events/s, one event every 10 ms, for 200 s.
        for i in 0..20_000 {
            r.add(1, Timestamp::from_millis(i * 10), h);
        }
        let now = Timestamp::from_millis(199_990);
        let v = r.per_sec(now, h);
        assert!((v - 100.0).abs() < 1.0, "rate {v}");
        // One half-life later with no traffic: half the rate.
        let later = r.per_sec(now.add_millis(10_000), h);
        assert!((later - v / 2.0).abs() < 0.5, "later {later}");
    }

    #[test]
    fn decayed_rate_survives_skew_and_garbage() {
        let mut r = DecayedRate::default();
        r.add(5, Timestamp::from_secs(100), 0);
        r.add(5, Timestamp::from_secs(1), 0);
        assert!(r.per_sec(Timestamp::from_secs(0), 0).is_finite());
        r.add(-100, Timestamp::from_secs(100), 1000);
        assert_eq!(r.per_sec(Timestamp::from_secs(100), 1000), 0.0);
        r.add(i64::MAX, Timestamp(i64::MAX), u64::MAX);
        assert!(r.per_sec(Timestamp(i64::MIN), u64::MAX).is_finite());
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
        t.add(&ops_only, Timestamp(5), 1000);
        assert_eq!(t.last_request_at, None);
        assert_eq!(t.last_operation_at, Some(Timestamp(5)));
        assert_eq!(t.last_seen, Some(Timestamp(5)));
        // An older timestamp never moves "last" backwards.
        t.add(&ops_only, Timestamp(2), 1000);
        assert_eq!(t.last_operation_at, Some(Timestamp(5)));
        assert_eq!(t.first_seen, Some(Timestamp(5)));
    }
}
