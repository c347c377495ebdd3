//! Access tracker: Space-Saving heavy hitters (Metwally, Agrawal, El Abbadi
//! 2005) over forward-decayed weights (Cormode, Shkapenyuk, Srivastava, Xu
//! 2009).
//!
//! * Memory is bounded by `capacity` tracked keys whatever the key
//!   cardinality: an untracked key replaces the current minimum and inherits
//!   its count as overestimation error ε.
//! * Forward decay: an access at time t weighs `exp(λ(t − L))` for a landmark
//!   L, so counts only grow and the heap order never has to be recomputed as
//!   time passes. The decayed count at `now` is `count · exp(−λ(now − L))`.
//!   When `λ(t − L)` gets large every count is rescaled to a new landmark
//!   (one O(capacity) pass every ~2.5 days with a 10 min half-life), long
//!   before `f64` could overflow. Rescaling is a common factor, so it keeps
//!   the heap order.
//! * Rates: a stream of r accesses/s has a decayed count of
//!   `r (1 − e^{−λ·age}) / λ` after `age` seconds, so the rate reported is
//!   `λ · decayed / (1 − e^{−λ·age})` with `age` the tracker's age (at least
//!   1 s). Young trackers therefore report count/elapsed, old ones the
//!   exponentially weighted rate, without a warm-up dip.

use super::estimate::{ErrorBound, KeyEstimate};
use crate::engines::intern::key_hash;
use crate::engines::{Timestamp, cmp_f64};
use rustc_hash::FxHashMap;

/// Rescale every count once `λ(t − L)` passes this (e^256 ≈ 1.5e111, which
/// leaves ~1e170 of headroom for sums of up to 2^64 weights).
const RESCALE_EXPONENT: f64 = 256.0;

/// The signal code of a key until one is noted (the key sampler's heat).
const DEFAULT_VIA: u8 = 5;

/// Largest weight accepted by [`AccessTracker::record_weighted`].
const MAX_EXTERNAL_WEIGHT: f64 = 1e12;

/// Per-slot bookkeeping; the count lives in the heap entry for locality.
#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u64,
    /// Space-Saving ε: the minimum count when this key took the slot.
    err: f64,
    heap_pos: u32,
    refreshes: u8,
    /// Which signal last reported the key's accesses (a `Signal` code).
    via: u8,
}

/// Min-heap entry: the slot's forward-decayed count and its slot index.
#[derive(Debug, Clone, Copy)]
struct HeapEntry {
    count: f64,
    slot: u32,
}

/// Bounded-memory tracker of the most accessed keys with decayed rates.
#[derive(Debug, Clone)]
pub struct AccessTracker {
    capacity: usize,
    lambda_per_ms: f64,
    landmark: i64,
    start: Option<i64>,
    latest: i64,
    slots: Vec<Slot>,
    names: Vec<Option<Box<str>>>,
    name_bytes: usize,
    heap: Vec<HeapEntry>,
    index: FxHashMap<u64, u32>,
    total: f64,
    events: u64,
    evictions: u64,
    cached_at: Option<i64>,
    cached_weight: f64,
}

impl AccessTracker {
    /// A tracker for at most `capacity` keys (clamped to 1..=2^26) whose
    /// rates halve every `half_life_secs` (clamped to 1 s..10 years).
    pub fn new(capacity: usize, half_life_secs: u64) -> Self {
        let capacity = capacity.clamp(1, super::config::MAX_TRACKER_CAPACITY);
        let half_life_ms = half_life_secs.clamp(1, super::config::MAX_HALF_LIFE_SECS) as f64 * 1e3;
        Self {
            capacity,
            lambda_per_ms: std::f64::consts::LN_2 / half_life_ms,
            landmark: 0,
            start: None,
            latest: i64::MIN,
            slots: Vec::new(),
            names: Vec::new(),
            name_bytes: 0,
            heap: Vec::new(),
            index: FxHashMap::default(),
            total: 0.0,
            events: 0,
            evictions: 0,
            cached_at: None,
            cached_weight: 1.0,
        }
    }

    /// Forget everything (capacity and half-life are kept).
    pub fn reset(&mut self) {
        *self = Self {
            capacity: self.capacity,
            lambda_per_ms: self.lambda_per_ms,
            ..Self::new(1, 1)
        };
    }

    /// Most keys tracked at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True before the first access.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Accesses recorded since creation or reset.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Record one access to `key_hash` (the hot path: no allocation, no
    /// hashing besides the index lookup).
    #[inline]
    pub fn record(&mut self, key_hash: u64, now: Timestamp) {
        let w = self.weight_at(now.as_millis());
        self.events = self.events.saturating_add(1);
        self.add(key_hash, w);
    }

    /// Record `count` accesses at once (e.g. a sampled stream scaled by its
    /// sampling ratio). Non-finite or negative counts are ignored; counts are
    /// capped at 1e12.
    pub fn record_weighted(&mut self, key_hash: u64, count: f64, now: Timestamp) {
        if !(count.is_finite() && count > 0.0) {
            return;
        }
        let w = self.weight_at(now.as_millis()) * count.min(MAX_EXTERNAL_WEIGHT);
        self.events = self
            .events
            .saturating_add(count.min(MAX_EXTERNAL_WEIGHT) as u64);
        self.add(key_hash, w);
    }

    /// Record one access by name; the name is kept while the key is tracked
    /// (and dropped with its slot). Returns the key hash.
    pub fn record_named(&mut self, name: &str, now: Timestamp) -> u64 {
        let hash = key_hash(name);
        let w = self.weight_at(now.as_millis());
        self.events = self.events.saturating_add(1);
        if let Some(slot) = self.add(hash, w) {
            self.store_name(slot, name);
        }
        hash
    }

    /// Attach a name to a tracked key that has none. Returns whether the key
    /// is tracked.
    pub fn set_name(&mut self, key_hash: u64, name: &str) -> bool {
        match self.index.get(&key_hash) {
            Some(&slot) => {
                self.store_name(slot, name);
                true
            }
            None => false,
        }
    }

    /// The name of a tracked key, if known.
    pub fn name(&self, key_hash: u64) -> Option<&str> {
        let slot = *self.index.get(&key_hash)?;
        self.names.get(slot as usize)?.as_deref()
    }

    /// True when `key_hash` holds a slot.
    pub fn is_tracked(&self, key_hash: u64) -> bool {
        self.index.contains_key(&key_hash)
    }

    /// Note that warming wrote `key_hash` (not a real access). Returns the
    /// refreshes since the last real access, or `None` when untracked.
    pub fn note_refreshed(&mut self, key_hash: u64) -> Option<u8> {
        let slot = *self.index.get(&key_hash)?;
        let s = self.slots.get_mut(slot as usize)?;
        s.refreshes = s.refreshes.saturating_add(1);
        Some(s.refreshes)
    }

    /// Note which signal reported a tracked key's accesses (a `Signal`
    /// code; what the warming queue names as having found it).
    pub fn set_via(&mut self, key_hash: u64, via: u8) {
        if let Some(&slot) = self.index.get(&key_hash)
            && let Some(s) = self.slots.get_mut(slot as usize)
        {
            s.via = via;
        }
    }

    /// The signal code noted for a tracked key.
    pub fn via(&self, key_hash: u64) -> Option<u8> {
        let slot = *self.index.get(&key_hash)?;
        Some(self.slots.get(slot as usize)?.via)
    }

    /// Refreshes noted since the last real access (`None` when untracked).
    pub fn refreshes(&self, key_hash: u64) -> Option<u8> {
        let slot = *self.index.get(&key_hash)?;
        Some(self.slots.get(slot as usize)?.refreshes)
    }

    /// The estimated rate of one key, if tracked.
    pub fn estimate(&self, key_hash: u64, now: Timestamp) -> Option<KeyEstimate> {
        let slot = *self.index.get(&key_hash)?;
        let pos = self.slots.get(slot as usize)?.heap_pos as usize;
        let count = self.heap.get(pos)?.count;
        Some(self.make_estimate(slot, count, self.rate_factor(now)))
    }

    /// The `k` keys with the highest decayed rate, highest first; ties by
    /// name (named keys first), then by hash. Costs O(capacity + k log k).
    pub fn top_k(&self, k: usize, now: Timestamp) -> Vec<KeyEstimate> {
        let k = k.min(self.heap.len());
        if k == 0 {
            return Vec::new();
        }
        // One decay factor applies to every key, so ranking by count is
        // ranking by rate.
        let mut entries: Vec<HeapEntry> = self.heap.clone();
        let cmp = |a: &HeapEntry, b: &HeapEntry| self.rank_cmp(a, b);
        if k < entries.len() {
            entries.select_nth_unstable_by(k - 1, cmp);
            entries.truncate(k);
        }
        entries.sort_unstable_by(cmp);
        let f = self.rate_factor(now);
        entries
            .iter()
            .map(|e| self.make_estimate(e.slot, e.count, f))
            .collect()
    }

    /// Decayed rate of all recorded accesses (accesses/s).
    pub fn total_rate(&self, now: Timestamp) -> f64 {
        finite_or_zero(self.total * self.rate_factor(now))
    }

    /// The Space-Saving guarantees, converted to rates at `now`.
    pub fn error_bound(&self, now: Timestamp) -> ErrorBound {
        let f = self.rate_factor(now);
        let full = self.heap.len() >= self.capacity;
        let min = match (full, self.heap.first()) {
            (true, Some(e)) => e.count,
            _ => 0.0,
        };
        ErrorBound {
            tracked: self.heap.len(),
            capacity: self.capacity,
            untracked_max_rate: finite_or_zero(min * f),
            max_error_rate: finite_or_zero(self.total * f / self.capacity as f64),
            total_rate: finite_or_zero(self.total * f),
            events: self.events,
            evictions: self.evictions,
        }
    }

    /// Approximate heap memory held by the tracker, in bytes.
    pub fn approx_bytes(&self) -> usize {
        use std::mem::size_of;
        let cap = self.index.capacity();
        let buckets = if cap == 0 {
            0
        } else {
            (cap.saturating_mul(8) / 7).next_power_of_two()
        };
        size_of::<Self>()
            + self.slots.capacity() * size_of::<Slot>()
            + self.heap.capacity() * size_of::<HeapEntry>()
            + self.names.capacity() * size_of::<Option<Box<str>>>()
            + buckets * (size_of::<(u64, u32)>() + 1)
            + self.name_bytes
    }

    // ----- internals -----

    /// Forward-decay weight of an access at `now_ms`, rescaling first when
    /// the exponent grows too large.
    #[inline]
    fn weight_at(&mut self, now_ms: i64) -> f64 {
        if self.cached_at == Some(now_ms) {
            return self.cached_weight;
        }
        if self.start.is_none() {
            self.start = Some(now_ms);
            self.landmark = now_ms;
        }
        self.latest = self.latest.max(now_ms);
        let mut exponent = self.lambda_per_ms * now_ms.saturating_sub(self.landmark) as f64;
        if exponent > RESCALE_EXPONENT {
            self.rescale(now_ms);
            exponent = 0.0;
        }
        let w = exponent.exp();
        let w = if w.is_finite() { w } else { 0.0 };
        self.cached_at = Some(now_ms);
        self.cached_weight = w;
        w
    }

    /// Move the landmark to `new_landmark`, scaling every count by the same
    /// factor (heap order is preserved).
    fn rescale(&mut self, new_landmark: i64) {
        let shift = new_landmark.saturating_sub(self.landmark) as f64;
        let factor = (-self.lambda_per_ms * shift).exp();
        let factor = if factor.is_finite() { factor } else { 0.0 };
        for e in &mut self.heap {
            e.count *= factor;
        }
        for s in &mut self.slots {
            s.err *= factor;
        }
        self.total *= factor;
        self.landmark = new_landmark;
        self.cached_at = None;
    }

    /// Multiplier from a stored count to accesses/s at `now` (see module doc).
    fn rate_factor(&self, now: Timestamp) -> f64 {
        let Some(start) = self.start else {
            return 0.0;
        };
        let q = now.as_millis().max(self.latest);
        let decay = (-self.lambda_per_ms * q.saturating_sub(self.landmark) as f64).exp();
        let age_ms = q.saturating_sub(start).max(1000) as f64;
        let warm = -(-self.lambda_per_ms * age_ms).exp_m1();
        finite_or_zero(decay * self.lambda_per_ms * 1e3 / warm)
    }

    /// Space-Saving update with weight `w`; returns the key's slot.
    #[inline]
    fn add(&mut self, hash: u64, w: f64) -> Option<u32> {
        self.total += w;
        if let Some(&slot) = self.index.get(&hash) {
            let s = self.slots.get_mut(slot as usize)?;
            s.refreshes = 0;
            let pos = s.heap_pos as usize;
            self.heap.get_mut(pos)?.count += w;
            self.sift_down(pos);
            return Some(slot);
        }
        if w <= 0.0 {
            return None;
        }
        if self.heap.len() < self.capacity {
            return self.insert_new(hash, w);
        }
        let root = self.heap.first_mut()?;
        let min = root.count;
        root.count = min + w;
        let slot = root.slot;
        let s = self.slots.get_mut(slot as usize)?;
        let old = s.hash;
        *s = Slot {
            hash,
            err: min,
            heap_pos: 0,
            refreshes: 0,
            via: DEFAULT_VIA,
        };
        self.index.remove(&old);
        self.index.insert(hash, slot);
        if let Some(name) = self.names.get_mut(slot as usize).and_then(Option::take) {
            self.name_bytes = self.name_bytes.saturating_sub(name_cost(&name));
        }
        self.evictions = self.evictions.saturating_add(1);
        self.sift_down(0);
        Some(slot)
    }

    fn insert_new(&mut self, hash: u64, w: f64) -> Option<u32> {
        let slot = u32::try_from(self.slots.len()).ok()?;
        let pos = self.heap.len();
        self.reserve_one();
        self.slots.push(Slot {
            hash,
            err: 0.0,
            heap_pos: u32::try_from(pos).ok()?,
            refreshes: 0,
            via: DEFAULT_VIA,
        });
        self.names.push(None);
        self.heap.push(HeapEntry { count: w, slot });
        self.index.insert(hash, slot);
        self.sift_up(pos);
        Some(slot)
    }

    /// Grow the slot arrays geometrically but never past `capacity`, so a
    /// full tracker holds no slack.
    fn reserve_one(&mut self) {
        if self.slots.len() < self.slots.capacity() {
            return;
        }
        let len = self.slots.len();
        let extra = len.max(1024).min(self.capacity.saturating_sub(len)).max(1);
        self.slots.reserve_exact(extra);
        self.heap.reserve_exact(extra);
        self.names.reserve_exact(extra);
    }

    fn store_name(&mut self, slot: u32, name: &str) {
        if let Some(entry) = self.names.get_mut(slot as usize) {
            if entry.is_none() {
                let boxed: Box<str> = name.into();
                self.name_bytes = self.name_bytes.saturating_add(name_cost(&boxed));
                *entry = Some(boxed);
            }
        }
    }

    fn set_pos(&mut self, slot: u32, pos: usize) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.heap_pos = pos as u32;
        }
    }

    /// Restore the heap below `pos` after its count grew.
    #[inline]
    fn sift_down(&mut self, mut pos: usize) {
        let len = self.heap.len();
        let Some(&entry) = self.heap.get(pos) else {
            return;
        };
        loop {
            let left = 2 * pos + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let mut child = left;
            if right < len && self.heap[right].count < self.heap[left].count {
                child = right;
            }
            let c = self.heap[child];
            if c.count >= entry.count {
                break;
            }
            self.heap[pos] = c;
            self.set_pos(c.slot, pos);
            pos = child;
        }
        self.heap[pos] = entry;
        self.set_pos(entry.slot, pos);
    }

    /// Restore the heap above `pos` after an insertion.
    fn sift_up(&mut self, mut pos: usize) {
        let Some(&entry) = self.heap.get(pos) else {
            return;
        };
        while pos > 0 {
            let parent = (pos - 1) / 2;
            let p = self.heap[parent];
            if p.count <= entry.count {
                break;
            }
            self.heap[pos] = p;
            self.set_pos(p.slot, pos);
            pos = parent;
        }
        self.heap[pos] = entry;
        self.set_pos(entry.slot, pos);
    }

    /// Ranking order: count desc, then named before unnamed, name asc, hash asc.
    fn rank_cmp(&self, a: &HeapEntry, b: &HeapEntry) -> std::cmp::Ordering {
        let slot_of = |e: &HeapEntry| self.slots.get(e.slot as usize).map_or(0, |s| s.hash);
        let name_of = |e: &HeapEntry| self.names.get(e.slot as usize).and_then(|n| n.as_deref());
        cmp_f64(b.count, a.count)
            .then_with(|| match (name_of(a), name_of(b)) {
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| slot_of(a).cmp(&slot_of(b)))
    }

    fn make_estimate(&self, slot: u32, count: f64, factor: f64) -> KeyEstimate {
        let s = self.slots.get(slot as usize);
        let rate = finite_or_zero(count * factor);
        let error = finite_or_zero(s.map_or(0.0, |s| s.err) * factor).min(rate);
        KeyEstimate {
            key_hash: s.map_or(0, |s| s.hash),
            name: self
                .names
                .get(slot as usize)
                .and_then(|n| n.as_deref())
                .map(str::to_owned),
            rate,
            error,
            guaranteed_rate: (rate - error).max(0.0),
            refreshes_since_access: s.map_or(0, |s| s.refreshes),
        }
    }

    /// Check every structural invariant (tests only).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        if self.heap.len() > self.capacity {
            return Err("over capacity".into());
        }
        let n = self.heap.len();
        if self.slots.len() != n || self.names.len() != n || self.index.len() != n {
            return Err("length mismatch".into());
        }
        for (pos, e) in self.heap.iter().enumerate() {
            if pos > 0 && self.heap[(pos - 1) / 2].count > e.count {
                return Err(format!("heap order broken at {pos}"));
            }
            let s = self.slots[e.slot as usize];
            if s.heap_pos as usize != pos {
                return Err(format!("heap_pos stale at {pos}"));
            }
            if self.index.get(&s.hash) != Some(&e.slot) {
                return Err("index mismatch".into());
            }
            if !(e.count.is_finite() && e.count >= 0.0 && s.err >= 0.0 && s.err <= e.count) {
                return Err(format!("bad count {} err {}", e.count, s.err));
            }
        }
        Ok(())
    }
}

/// Heap bytes a stored name costs (allocation rounded like malloc does).
fn name_cost(name: &str) -> usize {
    (name.len().saturating_add(15) & !15).saturating_add(16)
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { 0.0 }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
