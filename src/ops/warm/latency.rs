//! The latency guard: a warm job pauses when the target answers much more
//! slowly than it did when the job started (another load, a slow command,
//! a failing disk), so warming never adds to a server in trouble.
//!
//! It watches a `PING` after each batch, while the job's own writes are not
//! in flight, so what it sees is the server's queue, not ours. One slow
//! answer is noise; two in a row pause the job.

use std::time::Duration;

/// Slack above the baseline that never trips (loopback RTTs are tiny, so a
/// pure ratio would trip on scheduler noise).
const SLACK: Duration = Duration::from_millis(20);
/// How many times the baseline is too slow.
const RATIO: u32 = 10;
/// Slow answers in a row that pause the job.
const STRIKES: u8 = 2;

/// Round trips compared with the job's start.
#[derive(Debug, Clone)]
pub struct LatencyGuard {
    baseline: Duration,
    strikes: u8,
}

impl LatencyGuard {
    /// A guard for a target whose round trip was `baseline` at the start.
    pub fn new(baseline: Duration) -> Self {
        Self {
            baseline,
            strikes: 0,
        }
    }

    /// The slowest round trip that is still fine.
    pub fn limit(&self) -> Duration {
        (self.baseline * RATIO).max(self.baseline + SLACK)
    }

    /// Feed one round trip; why the job should pause, if it should.
    pub fn observe(&mut self, rtt: Duration) -> Option<String> {
        if rtt <= self.limit() {
            self.strikes = 0;
            return None;
        }
        self.strikes += 1;
        (self.strikes >= STRIKES).then(|| {
            format!(
                "the target's latency degraded: PING took {:.1} ms, {:.1} ms at the start",
                rtt.as_secs_f64() * 1e3,
                self.baseline.as_secs_f64() * 1e3
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_slow_answers_in_a_row_trip_and_one_does_not() {
        let ms = Duration::from_millis;
        let mut g = LatencyGuard::new(Duration::from_micros(200));
        assert_eq!(g.limit(), Duration::from_micros(20_200));
        assert_eq!(g.observe(ms(15)), None);
        assert_eq!(g.observe(ms(80)), None, "one spike is noise");
        assert_eq!(g.observe(ms(1)), None, "and it resets");
        assert_eq!(g.observe(ms(80)), None);
        let why = g.observe(ms(90)).expect("two in a row");
        assert!(why.contains("90.0 ms") && why.contains("0.2 ms"), "{why}");
        let mut slow_start = LatencyGuard::new(ms(30));
        assert_eq!(slow_start.limit(), ms(300));
        assert_eq!(slow_start.observe(ms(250)), None);
    }
}
