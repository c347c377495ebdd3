//! How many commands a second the key sampler may send: by default a share
//! of what the node runs for everyone else, so the observer effect stays a
//! small, stated fraction whatever the load (issue 13: the fixed 1000/s of
//! old was a quarter of a 3k ops/s node's commands).
//!
//! The node's rate comes from the poller's `INFO` (`total_commands_processed`
//! less the console's own commands, see [`super::super::OwnLoad`]), smoothed
//! over about ten seconds ([`NodeRate`]). The budget is
//! `share × others − the console's other commands` (the poller's `PING`,
//! `INFO`, `SLOWLOG` …), so the console as a whole sends at most `share` of
//! what the node runs for others; then at least `floor` (a pass still
//! progresses on an idle node) and at most `cap`. Pure: time is a
//! parameter.

/// Default share of the node's command rate the console may use.
pub const DEFAULT_SHARE: f64 = 0.05;
/// Default least budget (commands/s): an idle node is still sampled.
pub const DEFAULT_FLOOR: u32 = 20;
/// Default cap and the fixed budget of old (commands/s).
pub const DEFAULT_CAP: u32 = 1000;
/// Largest share accepted.
pub const MAX_SHARE: f64 = 0.5;
/// Smoothing time of the node's rate (seconds).
const TAU_SECS: f64 = 10.0;

/// The budget follows the node: `share` of its commands, within
/// `floor ..= cap` (the cap is the sampler config's `budget`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Follow {
    /// Share of the node's other commands (0 < share ≤ [`MAX_SHARE`]).
    pub share: f64,
    /// Least budget (commands/s).
    pub floor: u32,
}

impl Default for Follow {
    fn default() -> Self {
        Self {
            share: DEFAULT_SHARE,
            floor: DEFAULT_FLOOR,
        }
    }
}

impl Follow {
    /// The budget (commands/s) for a node running `others` commands/s for
    /// everyone but the console (`None`: not known yet — the floor), while
    /// the console's other tasks send `console` commands/s; at most `cap`.
    pub fn budget(&self, others: Option<f64>, console: f64, cap: u32) -> u32 {
        let floor = self.floor.min(cap);
        let Some(others) = others.filter(|r| r.is_finite() && *r > 0.0) else {
            return floor;
        };
        let room = self.share * others - console.max(0.0);
        let room = room.clamp(0.0, f64::from(cap));
        (room.floor() as u32).clamp(floor, cap)
    }
}

/// The rates the poller measures, smoothed: the node's commands for
/// everyone but the console, and the console's commands other than the
/// sampler's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NodeRate {
    /// `(seconds, total commands, console's commands, sampler's commands)`
    /// of the last reading.
    last: Option<(f64, u64, u64, u64)>,
    others: Option<f64>,
    console: f64,
}

impl NodeRate {
    /// One `INFO` reading at `secs` (any monotonic clock): the server's
    /// `total_commands_processed`, and the console's and the sampler's
    /// commands counted by then. A counter that went backwards (a restart)
    /// starts over.
    pub fn observe(&mut self, secs: f64, total: u64, console: u64, sampler: u64) {
        let reading = (secs, total, console, sampler);
        let Some((t0, n0, c0, s0)) = self.last else {
            self.last = Some(reading);
            return;
        };
        if total < n0 || console < c0 || sampler < s0 || secs < t0 {
            *self = Self {
                last: Some(reading),
                ..Self::default()
            };
            return;
        }
        let dt = secs - t0;
        if dt < 0.05 {
            return;
        }
        self.last = Some(reading);
        let own = console - c0;
        let others = (total - n0).saturating_sub(own) as f64 / dt;
        let console = own.saturating_sub(sampler - s0) as f64 / dt;
        let a = 1.0 - (-dt / TAU_SECS).exp();
        match self.others {
            Some(o) => {
                self.others = Some(o + a * (others - o));
                self.console += a * (console - self.console);
            }
            None => {
                self.others = Some(others);
                self.console = console;
            }
        }
    }

    /// Commands/s the node runs for everyone but the console, once two
    /// readings are known.
    pub fn others(&self) -> Option<f64> {
        self.others
    }

    /// Commands/s the console sends besides the sampler's.
    pub fn console(&self) -> f64 {
        self.console
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_a_share_within_floor_and_cap() {
        let f = Follow::default();
        // Unknown or idle: the floor.
        assert_eq!(f.budget(None, 2.4, 1000), 20);
        assert_eq!(f.budget(Some(0.0), 2.4, 1000), 20);
        // 3k ops/s: 5 % = 150, less the poller's 2.4.
        assert_eq!(f.budget(Some(3000.0), 2.4, 1000), 147);
        // Busy: the cap.
        assert_eq!(f.budget(Some(1e6), 2.4, 1000), 1000);
        // A cap below the floor wins.
        assert_eq!(f.budget(Some(3000.0), 2.4, 10), 10);
        assert_eq!(f.budget(None, 0.0, 10), 10);
        assert_eq!(f.budget(Some(f64::NAN), 0.0, 1000), 20);
    }

    #[test]
    fn the_node_rate_excludes_the_console_and_starts_over_on_a_restart() {
        let mut r = NodeRate::default();
        r.observe(0.0, 1000, 100, 50);
        assert_eq!(r.others(), None);
        // 10 s: 3000 commands, 300 of them the console's, 200 the sampler's.
        r.observe(10.0, 4000, 400, 250);
        assert_eq!(r.others(), Some(270.0));
        assert!((r.console() - 10.0).abs() < 1e-9);
        // Smoothed: a sudden idle second moves it part of the way.
        r.observe(11.0, 4000, 400, 250);
        let o = r.others().unwrap();
        assert!(o < 270.0 && o > 200.0, "{o}");
        // A restart: the counter went backwards.
        r.observe(12.0, 10, 401, 250);
        assert_eq!(r.others(), None);
        r.observe(13.0, 110, 402, 250);
        assert_eq!(r.others(), Some(99.0));
    }
}
