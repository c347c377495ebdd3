//! When sampled keys expire: absolute expiry instants (observation time +
//! `PTTL`), binned, so the histogram and the cliffs are always relative to
//! the `now` they are asked for, however long ago a key was seen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engines::Timestamp;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Expiries further than this after observation are only counted.
const FAR_MS: i64 = 30 * DAY_MS;

/// TTL histogram buckets, relative to `now`.
pub const TTL_LABELS: [&str; TTL_BUCKETS] = ["none", "<1m", "<10m", "<1h", "<1d", "≥1d", "gone"];

/// Number of TTL buckets: no expiry, < 1 min, < 10 min, < 1 h, < 1 day,
/// ≥ 1 day, and expired since it was seen.
pub const TTL_BUCKETS: usize = 7;

/// Upper bounds (ms from now) of the expiring buckets 1..=4.
const BOUNDS: [i64; 4] = [MINUTE_MS, 10 * MINUTE_MS, HOUR_MS, DAY_MS];

/// Expiry instants of one prefix's sampled keys: by minute when the key
/// expired within a day of being seen (cliffs are looked for there), by
/// hour within 30 days, beyond that only counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpiryBins {
    minutes: BTreeMap<i64, u32>,
    hours: BTreeMap<i64, u32>,
    far: u64,
    persistent: u64,
}

impl ExpiryBins {
    /// Add a key seen at `observed` with `PTTL` `ttl_ms` (−1 = no expiry;
    /// other negative values are ignored).
    pub fn add(&mut self, observed: Timestamp, ttl_ms: i64) {
        match ttl_ms {
            -1 => self.persistent += 1,
            t if t < 0 => {}
            t if t < DAY_MS => {
                let at = observed.as_millis().saturating_add(t);
                *self.minutes.entry(at.div_euclid(MINUTE_MS)).or_default() += 1;
            }
            t if t < FAR_MS => {
                let at = observed.as_millis().saturating_add(t);
                *self.hours.entry(at.div_euclid(HOUR_MS)).or_default() += 1;
            }
            _ => self.far += 1,
        }
    }

    /// Add another prefix's bins (rows made of several tree paths).
    pub fn merge(&mut self, o: &ExpiryBins) {
        for (&m, &n) in &o.minutes {
            *self.minutes.entry(m).or_default() += n;
        }
        for (&h, &n) in &o.hours {
            *self.hours.entry(h).or_default() += n;
        }
        self.far += o.far;
        self.persistent += o.persistent;
    }

    /// Bins held (bounds memory: at most 1 441 minutes per day of
    /// observation plus 720 hours).
    pub fn bins(&self) -> usize {
        self.minutes.len() + self.hours.len()
    }

    /// Keys per bucket at `now` (see [`TTL_LABELS`]). A bin counts at its
    /// middle (± 30 s for minutes, ± 30 min for hours).
    pub fn histogram(&self, now: Timestamp) -> [u64; TTL_BUCKETS] {
        let mut h = [0u64; TTL_BUCKETS];
        h[0] = self.persistent;
        h[5] = self.far;
        let now = now.as_millis();
        let mut put = |mid: i64, n: u32| {
            let left = mid.saturating_sub(now);
            let b = if left < 0 {
                6
            } else {
                BOUNDS.iter().position(|&b| left < b).map_or(5, |i| i + 1)
            };
            h[b] += u64::from(n);
        };
        for (&m, &n) in &self.minutes {
            put(m.saturating_mul(MINUTE_MS).saturating_add(MINUTE_MS / 2), n);
        }
        for (&hr, &n) in &self.hours {
            put(hr.saturating_mul(HOUR_MS).saturating_add(HOUR_MS / 2), n);
        }
        h
    }

    /// Minute bins (start instant, keys) from the minute holding `now` on.
    pub fn upcoming_minutes(&self, now: Timestamp) -> impl Iterator<Item = (i64, u32)> + '_ {
        let from = now.as_millis().div_euclid(MINUTE_MS);
        self.minutes.range(from..).map(|(&m, &n)| (m, n))
    }

    /// The count of the minute bin `m` (0 when empty).
    fn minute(&self, m: i64) -> u32 {
        self.minutes.get(&m).copied().unwrap_or(0)
    }
}

/// When a minute counts as a TTL cliff.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CliffRule {
    /// At least this many sampled keys expire in the minute.
    pub min_sampled: u32,
    /// And, scaled to the whole keyspace, at least this many keys.
    pub min_keys: f64,
    /// And at least this many times the mean of the ten minutes on either
    /// side (so a steady stream of expiries is not a cliff).
    pub factor: f64,
}

impl Default for CliffRule {
    fn default() -> Self {
        Self {
            min_sampled: 5,
            min_keys: 100.0,
            factor: 10.0,
        }
    }
}

/// Minutes on either side a cliff is compared with.
const NEIGHBOURS: i64 = 10;

/// Cliffs among the upcoming minute bins: `(first minute's start ms,
/// sampled keys, minutes)`, adjacent cliff minutes merged (a bulk write
/// that straddles a minute boundary is one cliff). `scale` is keyspace /
/// sample.
pub fn find_cliffs(
    bins: &ExpiryBins,
    now: Timestamp,
    scale: f64,
    rule: &CliffRule,
) -> Vec<(i64, u64, u32)> {
    let mut flagged: Vec<(i64, u32)> = Vec::new();
    for (m, n) in bins.upcoming_minutes(now) {
        if n < rule.min_sampled.max(1) || f64::from(n) * scale < rule.min_keys {
            continue;
        }
        let around: u64 = (m - NEIGHBOURS..=m + NEIGHBOURS)
            .filter(|&x| x != m)
            .map(|x| u64::from(bins.minute(x)))
            .sum();
        let mean = around as f64 / (2 * NEIGHBOURS) as f64;
        if f64::from(n) >= rule.factor * mean {
            flagged.push((m, n));
        }
    }
    let mut out: Vec<(i64, u64, u32)> = Vec::new();
    let mut prev: Option<i64> = None;
    for (m, n) in flagged {
        match (prev, out.last_mut()) {
            (Some(p), Some(last)) if p + 1 == m => {
                last.1 += u64::from(n);
                last.2 += 1;
            }
            _ => out.push((m.saturating_mul(MINUTE_MS), u64::from(n), 1)),
        }
        prev = Some(m);
    }
    out
}
