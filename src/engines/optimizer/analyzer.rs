//! Workload analysis from the events' own timestamps over a bounded window.
//!
//! The seed stamped every event with the wall clock at analysis time, so all
//! inter-arrival intervals were 0, and it kept every event of the hour in a
//! `Vec`. Here memory is fixed: a ring of per-bucket counts (default 3600 ×
//! 1 s) for the rate, sizes and seasonality, and a bounded ring of
//! inter-arrival gaps for the coefficient of variation. Aggregated samples
//! (`record_count(ts, n)`) are spread evenly over the time since the
//! previous sample: exact for single events, an estimate for aggregates.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::pattern::{
    ConsistencyLevel, DEFAULT_EVENT_SIZE_BYTES, PatternType, Seasonality, TemporalDistribution,
    WorkloadPattern, batch_size_for_rate, classify, temporal_from_moments,
};
use crate::engines::Timestamp;

/// Knobs of the pattern analyzer (serde: recorded with sessions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternConfig {
    /// How far back the analysis looks (seed: 1 h).
    pub analysis_window_secs: u32,
    /// Width of a count bucket (ms).
    pub bucket_ms: u32,
    /// Most inter-arrival gaps kept for the CV.
    pub max_intervals: usize,
    /// Width of the points of the seasonality series (s).
    pub season_bucket_secs: u32,
    /// Autocorrelation at the cycle's lag needed to call it seasonal.
    pub season_threshold: f64,
    /// Fewest series points before seasonality is tried.
    pub min_season_points: usize,
    /// Consistency reported when no transaction was seen in the window.
    pub default_consistency: ConsistencyLevel,
}

impl Default for PatternConfig {
    fn default() -> Self {
        Self {
            analysis_window_secs: 3600,
            bucket_ms: 1000,
            max_intervals: 4096,
            season_bucket_secs: 10,
            season_threshold: 0.6,
            min_season_points: 36,
            default_consistency: ConsistencyLevel::AtLeastOnce,
        }
    }
}

const MAX_BUCKETS: i64 = 100_000;
const MAX_INTERVALS: usize = 1 << 20;
const MAX_SEASON_POINTS: i64 = 720;
/// The seed's minimum number of events before the distribution is judged.
const MIN_EVENTS_FOR_DISTRIBUTION: f64 = 10.0;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    count: u64,
    bytes: u64,
    sized: u64,
}

#[derive(Debug, Clone, Copy)]
struct Gap {
    end_ms: i64,
    interval_ms: f64,
    weight: u64,
}

/// Bounded-memory workload analyzer fed with event timestamps.
#[derive(Debug, Clone)]
pub struct PatternAnalyzer {
    cfg: PatternConfig,
    window_ms: i64,
    bucket_ms: i64,
    buckets: Vec<Bucket>,
    head: Option<i64>,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    gaps: VecDeque<Gap>,
    last_transaction: Option<Timestamp>,
    late_events: u64,
}

impl Default for PatternAnalyzer {
    fn default() -> Self {
        Self::new(PatternConfig::default())
    }
}

impl PatternAnalyzer {
    /// An empty analyzer; out-of-range knobs are clamped to usable values.
    pub fn new(cfg: PatternConfig) -> Self {
        let window_ms = i64::from(cfg.analysis_window_secs.max(1)) * 1000;
        let min_bucket = (window_ms + MAX_BUCKETS - 1) / MAX_BUCKETS;
        let bucket_ms = i64::from(cfg.bucket_ms).max(10).max(min_bucket);
        let n = ((window_ms + bucket_ms - 1) / bucket_ms).clamp(1, MAX_BUCKETS);
        let mut cfg = cfg;
        cfg.max_intervals = cfg.max_intervals.clamp(16, MAX_INTERVALS);
        if !cfg.season_threshold.is_finite() {
            cfg.season_threshold = PatternConfig::default().season_threshold;
        }
        cfg.min_season_points = cfg.min_season_points.max(6);
        Self {
            cfg,
            window_ms,
            bucket_ms,
            buckets: vec![Bucket::default(); n as usize],
            head: None,
            first_ts: None,
            last_ts: None,
            gaps: VecDeque::new(),
            last_transaction: None,
            late_events: 0,
        }
    }

    /// The (sanitized) configuration in use.
    pub fn config(&self) -> &PatternConfig {
        &self.cfg
    }

    /// One event at `ts` (its own timestamp, not the time it was received).
    pub fn record(&mut self, ts: Timestamp) {
        self.add(ts, 1, 0, 0);
    }

    /// `n` events that happened since the previous sample, reported at `ts`
    /// (spread evenly over that interval; the very first sample has no
    /// previous one, so it adds to the count but not to the intervals).
    pub fn record_count(&mut self, ts: Timestamp, n: u64) {
        self.add(ts, n, 0, 0);
    }

    /// Like `record_count`, with the total size of the `n` events in bytes.
    pub fn record_sized(&mut self, ts: Timestamp, n: u64, total_bytes: u64) {
        self.add(ts, n, total_bytes, n);
    }

    /// A transactional event at `ts`: the seed then asks for exactly-once.
    pub fn record_transaction(&mut self, ts: Timestamp) {
        self.last_transaction = Some(self.last_transaction.map_or(ts, |t| t.max(ts)));
    }

    /// Events dropped because they were older than the window on arrival.
    pub fn late_events(&self) -> u64 {
        self.late_events
    }

    /// Inter-arrival gaps currently held (bounded by `max_intervals`).
    pub fn gap_count(&self) -> usize {
        self.gaps.len()
    }

    /// Count buckets held (fixed at construction).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    fn slot(&self, b: i64) -> usize {
        b.rem_euclid(self.buckets.len() as i64) as usize
    }

    fn add(&mut self, ts: Timestamp, n: u64, bytes: u64, sized: u64) {
        if n == 0 {
            return;
        }
        let nb = self.buckets.len() as i64;
        let b = ts.as_millis().div_euclid(self.bucket_ms);
        match self.head {
            None => self.head = Some(b),
            Some(h) if b > h => {
                let adv = b.saturating_sub(h).min(nb);
                for i in 1..=adv {
                    let s = self.slot(h.saturating_add(i));
                    if let Some(bk) = self.buckets.get_mut(s) {
                        *bk = Bucket::default();
                    }
                }
                self.head = Some(b);
            }
            Some(h) if b <= h.saturating_sub(nb) => {
                self.late_events = self.late_events.saturating_add(n);
                return;
            }
            Some(_) => {}
        }
        let s = self.slot(b);
        if let Some(bk) = self.buckets.get_mut(s) {
            bk.count = bk.count.saturating_add(n);
            bk.bytes = bk.bytes.saturating_add(bytes);
            bk.sized = bk.sized.saturating_add(sized);
        }
        self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
        match self.last_ts {
            Some(last) if ts >= last => {
                let gap = ts.millis_since(last) as f64;
                self.gaps.push_back(Gap {
                    end_ms: ts.as_millis(),
                    interval_ms: gap / n as f64,
                    weight: n,
                });
                self.last_ts = Some(ts);
            }
            // Out of order: counted in its bucket, but it has no interval.
            Some(_) => {}
            None => self.last_ts = Some(ts),
        }
        let horizon = ts.as_millis().saturating_sub(self.window_ms);
        while self.gaps.front().is_some_and(|g| g.end_ms < horizon)
            || self.gaps.len() > self.cfg.max_intervals
        {
            self.gaps.pop_front();
        }
    }

    /// Events in bucket `b` (0 outside what the ring holds).
    fn bucket_at(&self, b: i64) -> Bucket {
        match self.head {
            Some(h) if b <= h && b > h.saturating_sub(self.buckets.len() as i64) => {
                self.buckets.get(self.slot(b)).copied().unwrap_or_default()
            }
            _ => Bucket::default(),
        }
    }

    /// The workload over the window ending at `now`. No events or a zero
    /// time span give [`WorkloadPattern::idle`] (rate 0), never NaN.
    pub fn analyze(&self, now: Timestamp) -> WorkloadPattern {
        let consistency = match self.last_transaction {
            Some(t) if now.millis_since(t) <= self.window_ms as u64 => {
                ConsistencyLevel::ExactlyOnce
            }
            _ => self.cfg.default_consistency,
        };
        let idle = WorkloadPattern::idle(consistency);
        let (Some(head), Some(first)) = (self.head, self.first_ts) else {
            return idle;
        };
        let nb = self.buckets.len() as i64;
        let now_b = now.as_millis().div_euclid(self.bucket_ms);
        let lo = now_b
            .saturating_sub(nb - 1)
            .max(head.saturating_sub(nb - 1));
        let hi = now_b.min(head);
        let (mut count, mut bytes, mut sized) = (0u64, 0u64, 0u64);
        if lo <= hi {
            for b in lo..=hi {
                let bk = self.bucket_at(b);
                count = count.saturating_add(bk.count);
                bytes = bytes.saturating_add(bk.bytes);
                sized = sized.saturating_add(bk.sized);
            }
        }
        let start = first.max(now.add_millis(-self.window_ms));
        let coverage_ms = now.millis_since(start);
        if count == 0 || coverage_ms == 0 {
            return idle;
        }
        let event_rate = count as f64 / (coverage_ms as f64 / 1000.0);
        let (temporal_distribution, inter_arrival_cv) = self.distribution(now);
        let seasonality = self.seasonality(start, now);
        let pattern_type = if seasonality.is_some() {
            PatternType::Seasonal
        } else {
            classify(event_rate, &temporal_distribution)
        };
        let event_size_bytes = bytes.checked_div(sized).unwrap_or(DEFAULT_EVENT_SIZE_BYTES);
        WorkloadPattern {
            pattern_type,
            event_rate,
            batch_size: batch_size_for_rate(event_rate),
            event_size_bytes,
            temporal_distribution,
            consistency_requirements: consistency,
            inter_arrival_cv,
            seasonality,
        }
    }

    /// Weighted mean and deviation of the inter-arrival gaps in the window.
    fn distribution(&self, now: Timestamp) -> (TemporalDistribution, Option<f64>) {
        let horizon = now.as_millis().saturating_sub(self.window_ms);
        let now_ms = now.as_millis();
        let in_window = || {
            self.gaps
                .iter()
                .filter(move |g| g.end_ms >= horizon && g.end_ms <= now_ms)
        };
        let (mut w, mut sum) = (0.0f64, 0.0f64);
        for g in in_window() {
            w += g.weight as f64;
            sum += g.weight as f64 * g.interval_ms;
        }
        // The seed judged nothing below 10 events (intervals + 1).
        if w + 1.0 < MIN_EVENTS_FOR_DISTRIBUTION {
            return (TemporalDistribution::Uniform, None);
        }
        let mean = sum / w;
        let var = in_window()
            .map(|g| g.weight as f64 * (g.interval_ms - mean).powi(2))
            .sum::<f64>()
            / w;
        temporal_from_moments(mean, var.max(0.0).sqrt())
    }

    /// A repeating cycle in the per-interval counts: the first peak of the
    /// autocorrelation, after it has dipped below zero, at a lag of at most a
    /// third of the series (three cycles seen) reaching `season_threshold`.
    /// The dip rules out trends; the threshold rules out noise.
    fn seasonality(&self, start: Timestamp, now: Timestamp) -> Option<Seasonality> {
        // Only complete buckets: the one holding `start` and `now` are partial.
        let end = now.as_millis().div_euclid(self.bucket_ms) - 1;
        let first = start.as_millis().div_euclid(self.bucket_ms) + 1;
        let span = end.saturating_sub(first).saturating_add(1);
        let per_point = (i64::from(self.cfg.season_bucket_secs) * 1000 / self.bucket_ms).max(1);
        let per_point = per_point.max((span + MAX_SEASON_POINTS - 1) / MAX_SEASON_POINTS);
        let points = span / per_point;
        if points < self.cfg.min_season_points as i64 {
            return None;
        }
        let series: Vec<f64> = (0..points)
            .map(|p| {
                let from = end - (points - p) * per_point + 1;
                (from..from + per_point)
                    .map(|b| self.bucket_at(b).count as f64)
                    .sum()
            })
            .collect();
        let n = series.len();
        let mean = series.iter().sum::<f64>() / n as f64;
        let c0 = series.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        if !(c0.is_finite() && c0 > 1e-9 * (1.0 + mean * mean)) {
            return None;
        }
        let acf = |lag: usize| -> f64 {
            let m = n - lag;
            let ck = series
                .iter()
                .zip(series.iter().skip(lag))
                .map(|(a, b)| (a - mean) * (b - mean))
                .sum::<f64>()
                / m as f64;
            (ck / c0).clamp(-1.0, 1.0)
        };
        let max_lag = n / 3;
        let mut dipped = false;
        let mut lag = 1;
        while lag <= max_lag {
            let r = acf(lag);
            if !dipped {
                dipped = r < 0.0;
            } else if r >= self.cfg.season_threshold {
                // Climb to the local peak: the fundamental period.
                let (mut best_lag, mut best) = (lag, r);
                while best_lag < max_lag {
                    let next = acf(best_lag + 1);
                    if next <= best {
                        break;
                    }
                    best_lag += 1;
                    best = next;
                }
                let secs = (best_lag as i64 * per_point * self.bucket_ms) as f64 / 1000.0;
                return Some(Seasonality {
                    period_secs: secs,
                    autocorrelation: best,
                });
            }
            lag += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: i64) -> Timestamp {
        Timestamp::from_millis(x)
    }

    #[test]
    fn fixes_seed_intervals_from_wall_clock() {
        // Events recorded in one go but stamped 8 ms apart: the seed stamped
        // them all with the analysis time (intervals 0, rate = n / window).
        let mut a = PatternAnalyzer::default();
        for i in 0..3500 {
            a.record(ms(1_000_000 + i * 8));
        }
        let p = a.analyze(ms(1_000_000 + 3499 * 8));
        assert!((p.event_rate - 125.0).abs() < 0.1, "{}", p.event_rate);
        assert_eq!(p.temporal_distribution, TemporalDistribution::Uniform);
        assert_eq!(p.inter_arrival_cv, Some(0.0));
        assert_eq!(p.pattern_type, PatternType::Steady);
        assert_eq!(p.batch_size, 100);
    }

    #[test]
    fn seed_slow_regular_events_are_realtime() {
        let mut a = PatternAnalyzer::default();
        for i in 0..10 {
            a.record(Timestamp::from_secs(100 + i));
        }
        let p = a.analyze(Timestamp::from_secs(109));
        assert_eq!(p.pattern_type, PatternType::RealTime);
        assert!((p.event_rate - 10.0 / 9.0).abs() < 1e-9);
        assert_eq!(p.batch_size, 10);
    }

    #[test]
    fn clumped_events_are_bursty() {
        let mut a = PatternAnalyzer::default();
        for burst in 0..20 {
            for i in 0..10 {
                a.record(ms(burst * 1000 + i));
            }
        }
        let p = a.analyze(ms(20_000));
        assert!(matches!(
            p.temporal_distribution,
            TemporalDistribution::Exponential { .. }
        ));
        assert_eq!(p.pattern_type, PatternType::Bursty);
        assert!(p.inter_arrival_cv.unwrap_or(0.0) > 1.0);
    }

    #[test]
    fn aggregated_high_rate_is_batch_oriented() {
        let mut a = PatternAnalyzer::default();
        for s in 0..=60 {
            a.record_count(Timestamp::from_secs(s), 20_000);
        }
        let p = a.analyze(Timestamp::from_secs(60));
        assert!(p.event_rate > 10_000.0);
        assert_eq!(p.pattern_type, PatternType::BatchOriented);
        assert_eq!(p.batch_size, 1000);
    }

    #[test]
    fn fixes_seed_zero_event_rate_division_in_analyzer() {
        let a = PatternAnalyzer::default();
        let p = a.analyze(ms(0));
        assert_eq!(p.event_rate, 0.0);
        let mut a = PatternAnalyzer::default();
        a.record_count(ms(5000), 100);
        // Zero time span: rate 0, not n / 0.
        assert_eq!(a.analyze(ms(5000)).event_rate, 0.0);
        assert_eq!(a.analyze(ms(5000)).pattern_type, PatternType::Steady);
        assert_eq!(a.analyze(ms(6000)).event_rate, 100.0);
        // Every event at the same instant: zero mean interval, no NaN CV.
        let mut a = PatternAnalyzer::default();
        for _ in 0..50 {
            a.record(ms(7000));
        }
        let p = a.analyze(ms(8000));
        assert!(p.event_rate.is_finite());
        assert_eq!(p.inter_arrival_cv, None);
    }

    #[test]
    fn events_older_than_the_window_stop_counting() {
        let mut a = PatternAnalyzer::default();
        for i in 0..100 {
            a.record(ms(i * 10));
        }
        assert!(a.analyze(ms(1000)).event_rate > 0.0);
        let later = Timestamp::from_secs(2 * 3600);
        assert_eq!(a.analyze(later).event_rate, 0.0);
        a.record(later);
        a.record(ms(0));
        assert_eq!(a.late_events(), 1);
    }

    #[test]
    fn memory_is_bounded() {
        let mut a = PatternAnalyzer::new(PatternConfig {
            max_intervals: 100,
            ..PatternConfig::default()
        });
        let buckets = a.bucket_count();
        for i in 0..10_000 {
            a.record(ms(i));
        }
        assert_eq!(a.gap_count(), 100);
        assert_eq!(a.bucket_count(), buckets);
        assert_eq!(buckets, 3600);
    }

    fn seasonal_run(f: impl Fn(i64) -> u64) -> WorkloadPattern {
        let mut a = PatternAnalyzer::default();
        for s in 0..3600 {
            a.record_count(Timestamp::from_secs(s), f(s));
        }
        a.analyze(Timestamp::from_secs(3600))
    }

    #[test]
    fn detects_seasonal_cycles_the_seed_never_reported() {
        let p = seasonal_run(|s| if (s / 60) % 2 == 0 { 100 } else { 10 });
        assert_eq!(p.pattern_type, PatternType::Seasonal);
        let season = p.seasonality.map(|s| s.period_secs);
        assert_eq!(season, Some(120.0));
    }

    #[test]
    fn steady_trend_and_noise_are_not_seasonal() {
        assert_eq!(seasonal_run(|_| 50).seasonality, None);
        assert_eq!(seasonal_run(|s| 10 + s as u64 / 10).seasonality, None);
        let mut x: u64 = 12345;
        let noise: Vec<u64> = (0..3600)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 33) % 200
            })
            .collect();
        let p = seasonal_run(|s| noise[s as usize]);
        assert_eq!(p.seasonality, None);
        assert_ne!(p.pattern_type, PatternType::Seasonal);
    }

    #[test]
    fn event_size_and_consistency() {
        let mut a = PatternAnalyzer::default();
        a.record_count(ms(0), 10);
        assert_eq!(a.analyze(ms(1000)).event_size_bytes, 1024);
        a.record_sized(ms(500), 4, 800);
        assert_eq!(a.analyze(ms(1000)).event_size_bytes, 200);
        assert_eq!(
            a.analyze(ms(1000)).consistency_requirements,
            ConsistencyLevel::AtLeastOnce
        );
        a.record_transaction(ms(900));
        assert_eq!(
            a.analyze(ms(1000)).consistency_requirements,
            ConsistencyLevel::ExactlyOnce
        );
        let later = ms(900 + 3_600_001);
        assert_eq!(
            a.analyze(later).consistency_requirements,
            ConsistencyLevel::AtLeastOnce
        );
    }

    #[test]
    fn hostile_timestamps_do_not_panic() {
        let mut a = PatternAnalyzer::default();
        for ts in [i64::MAX, i64::MIN, 0, -1, i64::MAX - 1, i64::MIN + 1] {
            a.record_count(ms(ts), u64::MAX);
            for now in [i64::MAX, i64::MIN, 0] {
                let p = a.analyze(ms(now));
                assert!(p.event_rate.is_finite() && p.event_rate >= 0.0);
            }
        }
    }
}
