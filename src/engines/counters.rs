//! Cumulative server counters turned into deltas, with reset detection.
//!
//! Servers report running totals (`keyspace_hits`, `heap_blks_hit`, …) that
//! start again from zero when the server restarts or its statistics are reset.
//! A negative delta, a new server run id or a new stats-reset marker starts a
//! new baseline: the caller is told it is a gap, never a burst of traffic.

use serde::{Deserialize, Serialize};

/// What one observation of a cumulative counter means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delta {
    /// The first observation: a baseline, no traffic to count yet.
    Baseline,
    /// Traffic since the previous observation.
    Value(u64),
    /// The counter was reset (restart, stats reset, wrap): a new baseline and a
    /// gap in the time series; nothing is counted.
    Reset,
}

impl Delta {
    /// The traffic to count (0 for a baseline or a reset).
    pub fn value(self) -> u64 {
        match self {
            Delta::Value(v) => v,
            Delta::Baseline | Delta::Reset => 0,
        }
    }

    /// True when this observation breaks the series (a gap must be drawn).
    pub fn is_gap(self) -> bool {
        matches!(self, Delta::Reset)
    }
}

/// One cumulative counter with its baseline and the epoch it belongs to.
///
/// The epoch is anything that identifies a run of the counter: a hash of the
/// Redis `run_id`, Postgres `stats_reset`, a source generation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cumulative {
    last: Option<(u64, u64)>,
}

impl Cumulative {
    /// A counter with no baseline yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record the counter's current `value` in run `epoch`.
    pub fn observe(&mut self, value: u64, epoch: u64) -> Delta {
        let out = match self.last {
            None => Delta::Baseline,
            Some((_, last_epoch)) if last_epoch != epoch => Delta::Reset,
            Some((last, _)) if value < last => Delta::Reset,
            Some((last, _)) => Delta::Value(value - last),
        };
        self.last = Some((value, epoch));
        out
    }

    /// Forget the baseline (e.g. after a reconnect whose epoch is unknown).
    pub fn forget(&mut self) {
        self.last = None;
    }
}

/// Several counters of one source observed together (hits, misses, …): a reset
/// of any of them is a reset of all, so a partial reset never shows as traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CumulativeSet<const N: usize> {
    last: Option<([u64; N], u64)>,
}

impl<const N: usize> CumulativeSet<N> {
    /// A set with no baseline yet.
    pub fn new() -> Self {
        Self { last: None }
    }

    /// Record the current values; `None` for a baseline or a reset (the gap
    /// flag says which), otherwise the deltas.
    pub fn observe(&mut self, values: [u64; N], epoch: u64) -> SetDelta<N> {
        let out = match self.last {
            None => SetDelta::Baseline,
            Some((_, e)) if e != epoch => SetDelta::Reset,
            Some((last, _)) => {
                let mut d = [0u64; N];
                let mut reset = false;
                for i in 0..N {
                    match values[i].checked_sub(last[i]) {
                        Some(v) => d[i] = v,
                        None => reset = true,
                    }
                }
                if reset {
                    SetDelta::Reset
                } else {
                    SetDelta::Values(d)
                }
            }
        };
        self.last = Some((values, epoch));
        out
    }
}

/// The outcome of [`CumulativeSet::observe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetDelta<const N: usize> {
    /// First observation: nothing to count.
    Baseline,
    /// Traffic since the previous observation.
    Values([u64; N]),
    /// A reset of any counter: new baseline, a gap, nothing counted.
    Reset,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn negative_delta_is_a_reset_not_traffic() {
        let mut c = Cumulative::new();
        assert_eq!(c.observe(100, 1), Delta::Baseline);
        assert_eq!(c.observe(150, 1), Delta::Value(50));
        assert_eq!(c.observe(10, 1), Delta::Reset);
        assert_eq!(c.observe(25, 1), Delta::Value(15));
    }

    #[test]
    fn new_run_id_is_a_reset_even_when_the_counter_grew() {
        let mut c = Cumulative::new();
        c.observe(100, 1);
        assert_eq!(c.observe(5000, 2), Delta::Reset);
        assert_eq!(c.observe(5001, 2), Delta::Value(1));
    }

    #[test]
    fn set_resets_together() {
        let mut s = CumulativeSet::<2>::new();
        assert_eq!(s.observe([10, 10], 0), SetDelta::Baseline);
        assert_eq!(s.observe([20, 5], 0), SetDelta::Reset);
        assert_eq!(s.observe([21, 7], 0), SetDelta::Values([1, 2]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Reset handling: the sum of counted deltas never exceeds the sum of
        /// the real increments, whatever resets happen in between.
        #[test]
        fn counted_traffic_never_exceeds_real_traffic(
            steps in proptest::collection::vec((0u64..1000, any::<bool>()), 1..64)
        ) {
            let mut c = Cumulative::new();
            let (mut value, mut epoch, mut real, mut counted) = (0u64, 0u64, 0u64, 0u64);
            for (inc, restart) in steps {
                if restart { value = 0; epoch += 1; } else { value += inc; real += inc; }
                counted += c.observe(value, epoch).value();
            }
            prop_assert!(counted <= real);
        }
    }
}
