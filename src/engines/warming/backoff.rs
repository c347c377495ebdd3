//! Backoff for automatic warming (`auto_warm`): a rule whose automatic job
//! failed waits longer before its next one, and a key that could not be
//! warmed (no row, a NULL value, no usable TTL, refused) is not tried again
//! before its own delay. Delays double with each failure in a row, from the
//! refresh interval up to a cap; a success starts over.
//!
//! The per-key map is keyed by outside data (key names, hashed), so it is
//! bounded: when full, delays long past are forgotten first, then the ones
//! that end soonest.

use rustc_hash::FxHashMap;

use crate::engines::Timestamp;

/// The longest delay, whatever the failures.
pub const MAX_DELAY_MS: u64 = 3_600_000;

/// Keys whose failures are remembered, at most.
pub const DEFAULT_KEY_CAP: usize = 100_000;

/// The delay after `fails` failures in a row: `base_ms` × 2^(fails − 1),
/// at least `base_ms`, at most [`MAX_DELAY_MS`] (or `base_ms`, if larger).
pub fn delay_ms(base_ms: u64, fails: u32) -> u64 {
    let factor = 1u64 << fails.saturating_sub(1).min(32);
    base_ms
        .saturating_mul(factor)
        .min(MAX_DELAY_MS.max(base_ms))
        .max(base_ms)
}

fn after(now: Timestamp, ms: u64) -> Timestamp {
    now.add_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// One rule's automatic rounds: when the next may start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundBackoff {
    fails: u32,
    not_before: Option<Timestamp>,
}

impl RoundBackoff {
    /// Whether a round may start at `now`.
    pub fn ready(&self, now: Timestamp) -> bool {
        self.not_before.is_none_or(|t| now >= t)
    }

    /// An automatic job of the rule failed at `now`: the next waits
    /// 2 × `interval_ms` after one failure, 4 × after two, … (capped).
    pub fn failed(&mut self, now: Timestamp, interval_ms: u64) {
        self.fails = self.fails.saturating_add(1);
        self.not_before = Some(after(now, delay_ms(interval_ms, self.fails + 1)));
    }

    /// A job went through: back to the plain interval.
    pub fn succeeded(&mut self) {
        *self = Self::default();
    }

    /// Failures in a row.
    pub fn fails(&self) -> u32 {
        self.fails
    }

    /// When the next round may start, while backing off.
    pub fn not_before(&self) -> Option<Timestamp> {
        self.not_before
    }
}

#[derive(Debug, Clone, Copy)]
struct KeyEntry {
    fails: u32,
    until: Timestamp,
}

/// Keys (by hash) that failed, and until when they are left out.
#[derive(Debug, Clone)]
pub struct KeyBackoff {
    map: FxHashMap<u64, KeyEntry>,
    cap: usize,
}

impl Default for KeyBackoff {
    fn default() -> Self {
        Self::new(DEFAULT_KEY_CAP)
    }
}

impl KeyBackoff {
    /// A map remembering at most `cap` keys (at least 1).
    pub fn new(cap: usize) -> Self {
        Self {
            map: FxHashMap::default(),
            cap: cap.max(1),
        }
    }

    /// The key failed at `now`: left out for 2 × `interval_ms` after its
    /// first failure, 4 × after its second, … (capped).
    pub fn failed(&mut self, hash: u64, now: Timestamp, interval_ms: u64) {
        if !self.map.contains_key(&hash) && self.map.len() >= self.cap {
            self.make_room(now);
        }
        let e = self.map.entry(hash).or_insert(KeyEntry {
            fails: 0,
            until: now,
        });
        e.fails = e.fails.saturating_add(1);
        e.until = after(now, delay_ms(interval_ms, e.fails + 1));
    }

    /// The key was warmed (or found there): forget its failures.
    pub fn succeeded(&mut self, hash: u64) {
        self.map.remove(&hash);
    }

    /// Whether the key is still left out at `now`.
    pub fn blocked(&self, hash: u64, now: Timestamp) -> bool {
        self.map.get(&hash).is_some_and(|e| now < e.until)
    }

    /// The key's failures in a row (0 when none is remembered).
    pub fn fails(&self, hash: u64) -> u32 {
        self.map.get(&hash).map_or(0, |e| e.fails)
    }

    /// Keys left out at `now`.
    pub fn blocked_count(&self, now: Timestamp) -> usize {
        self.map.values().filter(|e| now < e.until).count()
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Forget delays that ended longer than the longest delay ago (their
    /// doubling would start over anyway); if that is not enough, the
    /// eighth that ends soonest.
    fn make_room(&mut self, now: Timestamp) {
        let stale = i64::try_from(MAX_DELAY_MS).unwrap_or(i64::MAX);
        self.map
            .retain(|_, e| now.as_millis().saturating_sub(e.until.as_millis()) < stale);
        if self.map.len() < self.cap {
            return;
        }
        let mut ends: Vec<i64> = self.map.values().map(|e| e.until.as_millis()).collect();
        let n = (self.cap / 8).max(1).min(ends.len() - 1);
        let (_, &mut cut, _) = ends.select_nth_unstable(n);
        self.map.retain(|_, e| e.until.as_millis() > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_secs(1_700_000_000);
    const MIN: u64 = 60_000;

    #[test]
    fn delays_double_from_the_interval_up_to_the_cap() {
        assert_eq!(delay_ms(MIN, 0), MIN);
        assert_eq!(delay_ms(MIN, 1), MIN);
        assert_eq!(delay_ms(MIN, 2), 2 * MIN);
        assert_eq!(delay_ms(MIN, 4), 8 * MIN);
        assert_eq!(delay_ms(MIN, 40), MAX_DELAY_MS);
        assert_eq!(
            delay_ms(2 * MAX_DELAY_MS, 3),
            2 * MAX_DELAY_MS,
            "never below the interval"
        );
    }

    #[test]
    fn a_failing_rule_waits_longer_each_time_and_a_success_resets_it() {
        let mut r = RoundBackoff::default();
        assert!(r.ready(T0));
        r.failed(T0, MIN);
        assert!(!r.ready(T0.add_secs(119)));
        assert!(r.ready(T0.add_secs(120)), "2 intervals after one failure");
        let t1 = T0.add_secs(120);
        r.failed(t1, MIN);
        assert!(!r.ready(t1.add_secs(239)) && r.ready(t1.add_secs(240)));
        assert_eq!(r.fails(), 2);
        r.succeeded();
        assert!(r.ready(t1) && r.not_before().is_none());
    }

    #[test]
    fn a_failed_key_is_left_out_for_its_own_doubling_delay() {
        let mut k = KeyBackoff::default();
        let h = 42;
        k.failed(h, T0, MIN);
        assert!(k.blocked(h, T0.add_secs(119)) && !k.blocked(h, T0.add_secs(120)));
        let t1 = T0.add_secs(120);
        k.failed(h, t1, MIN);
        assert!(k.blocked(h, t1.add_secs(239)) && !k.blocked(h, t1.add_secs(240)));
        assert_eq!(k.fails(h), 2);
        assert!(!k.blocked(7, T0), "other keys are not held back");
        k.succeeded(h);
        assert!(!k.blocked(h, t1) && k.is_empty());
    }

    #[test]
    fn a_million_distinct_failing_keys_stay_within_the_cap() {
        let cap = 10_000;
        let mut k = KeyBackoff::new(cap);
        for i in 0..1_000_000u64 {
            let now = T0.add_millis(i as i64);
            k.failed(i.wrapping_mul(0x9E37_79B9_7F4A_7C15), now, MIN);
            assert!(k.len() <= cap);
        }
        let now = T0.add_millis(1_000_000);
        // The newest failures are the ones kept, and still left out.
        let last = 999_999u64.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        assert!(k.blocked(last, now));
        assert!(k.len() > cap / 2, "{}", k.len());
        assert_eq!(k.blocked_count(now), k.len());
    }
}
