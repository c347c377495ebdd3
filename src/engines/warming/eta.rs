//! A job's rate measured over its recent progress, and the time left at that
//! rate. The ETA needs a known total: while a preload's keys still arrive,
//! the keys left are unknown and so is the ETA (never "0 s" for want of a
//! total). A job that stopped moving sees its rate fall, and its ETA grow,
//! as time passes without progress.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// How far back the rate looks.
pub const WINDOW_MS: i64 = 10_000;

/// Progress points kept, at most (a fast job reports after every batch).
const MAX_POINTS: usize = 64;

/// Recent (time in ms, keys done) points of one job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    points: VecDeque<(i64, u64)>,
}

impl RateWindow {
    /// A window whose first point is the job's start.
    pub fn starting(at_ms: i64) -> Self {
        let mut w = Self::default();
        w.record(at_ms, 0);
        w
    }

    /// Note `done` keys at `at_ms` (cumulative; a point older than the last
    /// is ignored).
    pub fn record(&mut self, at_ms: i64, done: u64) {
        if self.points.back().is_some_and(|&(t, _)| at_ms < t) {
            return;
        }
        self.points.push_back((at_ms, done));
        // Keep one point at or before the window's start, so the span
        // covers the whole window once the job has run that long.
        while self.points.len() > MAX_POINTS
            || self
                .points
                .get(1)
                .is_some_and(|&(t, _)| at_ms.saturating_sub(t) >= WINDOW_MS)
        {
            self.points.pop_front();
        }
    }

    /// Keys per second from the oldest point kept up to `now_ms`; `None`
    /// before any time has passed.
    pub fn rate(&self, now_ms: i64) -> Option<f64> {
        let &(t0, d0) = self.points.front()?;
        let &(_, d1) = self.points.back()?;
        let ms = now_ms
            .max(self.points.back().map_or(t0, |p| p.0))
            .saturating_sub(t0);
        (ms > 0).then(|| d1.saturating_sub(d0) as f64 * 1e3 / ms as f64)
    }

    /// Milliseconds until `total` keys are done at the measured rate;
    /// `None` when the total is unknown, or nothing has moved yet.
    pub fn eta_ms(&self, now_ms: i64, total: Option<u64>) -> Option<u64> {
        let total = total?;
        let done = self.points.back().map_or(0, |p| p.1);
        let left = total.saturating_sub(done);
        if left == 0 {
            return Some(0);
        }
        let rate = self.rate(now_ms).filter(|r| *r > 0.0)?;
        let ms = left as f64 / rate * 1e3;
        ms.is_finite().then(|| ms.min(u64::MAX as f64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_follows_the_measured_rate() {
        let mut w = RateWindow::starting(0);
        assert_eq!(w.eta_ms(0, Some(1000)), None, "no time has passed");
        assert_eq!(w.eta_ms(500, Some(1000)), None, "nothing moved yet");
        w.record(2_000, 400);
        assert_eq!(w.rate(2_000), Some(200.0));
        assert_eq!(w.eta_ms(2_000, Some(1000)), Some(3_000));
        // 100 keys/s from here on: the window forgets the faster start.
        for s in 3..=30 {
            w.record(s * 1000, 400 + 100 * (s as u64 - 2));
        }
        let r = w.rate(30_000).unwrap();
        assert!((r - 100.0).abs() < 1e-9, "{r}");
        assert_eq!(w.eta_ms(30_000, Some(3_300)), Some(1_000));
    }

    #[test]
    fn unknown_totals_and_stalls_give_no_false_zero() {
        let mut w = RateWindow::starting(0);
        w.record(1_000, 500);
        // A preload whose keys still arrive: the total is not known.
        assert_eq!(w.eta_ms(1_000, None), None);
        // Stalled for 9 s: the rate falls and the ETA grows.
        let fresh = w.eta_ms(1_000, Some(1_000)).unwrap();
        let stalled = w.eta_ms(10_000, Some(1_000)).unwrap();
        assert_eq!(fresh, 1_000);
        assert!(stalled >= 9 * fresh, "{stalled}");
        assert_eq!(w.eta_ms(10_000, Some(500)), Some(0), "all done");
        // A point from the past (clock skew) is ignored.
        w.record(500, 9_999);
        assert_eq!(w.rate(1_000), Some(500.0));
    }

    #[test]
    fn the_window_stays_bounded_however_many_reports() {
        let mut w = RateWindow::starting(0);
        for i in 1..100_000u64 {
            w.record(i as i64, i * 10);
        }
        assert!(w.points.len() <= MAX_POINTS);
        let r = w.rate(100_000).unwrap();
        assert!((r - 10_000.0).abs() < 200.0, "{r}");
    }
}
