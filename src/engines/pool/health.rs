//! The health state machine driven by measured checks, measured latency and
//! the bounded log of transitions.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::backend::BackendId;
use crate::engines::Timestamp;

/// Where a backend stands, from the checks the monitor ran against it.
///
/// ```text
///   Healthy --fail--> Suspect --fail x N (consecutive)--> Down
///      ^                 |                                 |  ^
///      +------ok---------+                             ok  |  | fail
///      +------ok x M (consecutive since Down)-- Recovering <+--+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum HealthState {
    /// Passing checks (also the state of a backend never checked yet).
    #[default]
    Healthy,
    /// At least one failed check, fewer than the failure threshold in a row.
    Suspect,
    /// The failure threshold of consecutive failed checks was reached.
    Down,
    /// Was down; good checks are accumulating towards the recovery threshold.
    Recovering,
}

impl HealthState {
    /// A short label for the screen.
    pub fn label(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Suspect => "suspect",
            HealthState::Down => "down",
            HealthState::Recovering => "recovering",
        }
    }
}

/// Health of one backend: state, streaks and check history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    state: HealthState,
    consecutive_failures: u32,
    consecutive_successes: u32,
    last_transition: Option<Timestamp>,
    last_check: Option<Timestamp>,
    checks: u64,
    failed_checks: u64,
}

impl Health {
    /// The current state.
    pub fn state(&self) -> HealthState {
        self.state
    }

    /// Failed checks in a row (0 after a good one).
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Good checks in a row (0 after a failed one).
    pub fn consecutive_successes(&self) -> u32 {
        self.consecutive_successes
    }

    /// When the state last changed (`None`: never, since the backend was added).
    pub fn last_transition(&self) -> Option<Timestamp> {
        self.last_transition
    }

    /// When the last check was recorded (the seed's `last_health_check`).
    pub fn last_check(&self) -> Option<Timestamp> {
        self.last_check
    }

    /// Checks recorded.
    pub fn checks(&self) -> u64 {
        self.checks
    }

    /// Failed checks recorded.
    pub fn failed_checks(&self) -> u64 {
        self.failed_checks
    }

    /// Apply one check; returns `(from, to)` when the state changed.
    ///
    /// `fail_n` and `ok_m` are the failure and recovery thresholds (0 acts as 1).
    pub(crate) fn observe(
        &mut self,
        ok: bool,
        now: Timestamp,
        fail_n: u32,
        ok_m: u32,
    ) -> Option<(HealthState, HealthState)> {
        let (fail_n, ok_m) = (fail_n.max(1), ok_m.max(1));
        self.last_check = Some(now);
        self.checks = self.checks.saturating_add(1);
        if ok {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
        } else {
            self.failed_checks = self.failed_checks.saturating_add(1);
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
        }
        let next = match (self.state, ok) {
            (HealthState::Healthy | HealthState::Suspect, true) => HealthState::Healthy,
            (HealthState::Healthy | HealthState::Suspect, false) => {
                if self.consecutive_failures >= fail_n {
                    HealthState::Down
                } else {
                    HealthState::Suspect
                }
            }
            (HealthState::Down | HealthState::Recovering, true) => {
                if self.consecutive_successes >= ok_m {
                    HealthState::Healthy
                } else {
                    HealthState::Recovering
                }
            }
            (HealthState::Down | HealthState::Recovering, false) => HealthState::Down,
        };
        self.move_to(next, now)
    }

    /// The seed's manual `set_backend_health`: straight to `Healthy` or `Down`.
    pub(crate) fn force(
        &mut self,
        healthy: bool,
        now: Timestamp,
    ) -> Option<(HealthState, HealthState)> {
        self.last_check = Some(now);
        self.consecutive_failures = 0;
        self.consecutive_successes = 0;
        let next = if healthy {
            HealthState::Healthy
        } else {
            HealthState::Down
        };
        self.move_to(next, now)
    }

    fn move_to(&mut self, next: HealthState, now: Timestamp) -> Option<(HealthState, HealthState)> {
        if next == self.state {
            return None;
        }
        let from = self.state;
        self.state = next;
        self.last_transition = Some(now);
        Some((from, next))
    }
}

/// Latency measured by health-check round trips, as an EWMA.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    prior: Option<f64>,
    ewma: Option<f64>,
    last: Option<f64>,
    samples: u64,
}

impl Latency {
    /// A latency with an optional configured prior and no measurement.
    pub(crate) fn with_prior(prior: Option<f64>) -> Self {
        Self {
            prior,
            ..Self::default()
        }
    }

    /// Replace the configured prior (the measurement, if any, still wins).
    pub(crate) fn set_prior(&mut self, prior: Option<f64>) {
        self.prior = prior;
    }

    /// Fold in one round trip; unusable figures (NaN, ∞, < 0) are ignored.
    /// The first sample replaces the prior outright. Returns true if the
    /// figure used for routing changed.
    pub(crate) fn observe(&mut self, ms: f64, alpha: f64) -> bool {
        if !ms.is_finite() || ms < 0.0 {
            return false;
        }
        let before = self.effective();
        let next = match self.ewma {
            None => ms,
            Some(e) => e + alpha * (ms - e),
        };
        self.ewma = Some(next);
        self.last = Some(ms);
        self.samples = self.samples.saturating_add(1);
        before != Some(next)
    }

    /// The measured EWMA in ms (`None` until the first good check).
    pub fn measured_ms(&self) -> Option<f64> {
        self.ewma
    }

    /// The most recent round trip in ms.
    pub fn last_ms(&self) -> Option<f64> {
        self.last
    }

    /// Round trips folded in.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// What latency-aware routing uses: the EWMA, else the prior.
    pub fn effective(&self) -> Option<f64> {
        self.ewma.or(self.prior)
    }

    /// True while routing runs on the configured prior (nothing measured yet).
    pub fn is_prior(&self) -> bool {
        self.ewma.is_none() && self.prior.is_some()
    }
}

/// Why a health transition happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransitionCause {
    /// A recorded health check.
    Check,
    /// The manual override (`set_backend_health`).
    Manual,
}

/// One health transition, for the event list on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthEvent {
    /// When it happened.
    pub at: Timestamp,
    /// Which backend (its name stays resolvable after removal).
    pub backend: BackendId,
    /// State before.
    pub from: HealthState,
    /// State after.
    pub to: HealthState,
    /// What caused it.
    pub cause: TransitionCause,
}

/// A ring of the most recent transitions: memory bounded by its capacity.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventLog {
    cap: usize,
    events: VecDeque<HealthEvent>,
}

impl EventLog {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            events: VecDeque::with_capacity(cap.min(1024)),
        }
    }

    pub(crate) fn push(&mut self, ev: HealthEvent) {
        if self.cap == 0 {
            return;
        }
        while self.events.len() >= self.cap {
            self.events.pop_front();
        }
        self.events.push_back(ev);
    }

    pub(crate) fn set_capacity(&mut self, cap: usize) {
        self.cap = cap;
        while self.events.len() > cap {
            self.events.pop_front();
        }
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &HealthEvent> + ExactSizeIterator {
        self.events.iter()
    }
}
