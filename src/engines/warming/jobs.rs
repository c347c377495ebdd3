//! Warm jobs: a state machine per job (queued → running → done / failed /
//! cancelled) and a board of running jobs plus a bounded list of results.
//! Invalid transitions are errors, never panics, so a confused executor
//! cannot take the console down.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::eta::RateWindow;
use super::tally::Tally;
use crate::engines::Timestamp;

/// Identifier of a warm job on a [`JobBoard`].
pub type JobId = u64;

/// Where a job is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    /// Created, not started.
    Queued,
    /// Executing; progress is in [`WarmJob::progress`].
    Running,
    /// Finished (possibly with per-key errors, see the progress).
    Done,
    /// Stopped by an error that ended the whole job.
    Failed {
        /// Why the job failed.
        reason: String,
    },
    /// Stopped at a batch boundary after a cancel request.
    Cancelled,
}

impl JobState {
    /// True for Done, Failed and Cancelled.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed { .. } | JobState::Cancelled
        )
    }

    /// Short name for messages and the jobs list.
    pub fn label(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed { .. } => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// Keys processed so far: `done` counts every key handled (written,
/// skipped or failed), `errors` the failed ones among them, `tally` the
/// handled ones by outcome (when the executor reports them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    /// Keys handled.
    pub done: u64,
    /// Keys planned (raised to `done` if the executor handles more).
    pub total: u64,
    /// Whether `total` is known (a preload learns it from its query).
    pub total_known: bool,
    /// Keys that failed.
    pub errors: u64,
    /// The handled keys by outcome.
    pub tally: Tally,
}

/// A rejected job transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The action is not allowed in the job's current state.
    #[error("cannot {action} a {from} warm job")]
    InvalidTransition {
        /// State the job was in.
        from: &'static str,
        /// What was attempted.
        action: &'static str,
    },
    /// No such job on the board.
    #[error("no warm job #{0}")]
    UnknownJob(JobId),
}

/// One warm job (a rule's keys, the queue, or a preload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmJob {
    /// Board-assigned id.
    pub id: JobId,
    /// What is being warmed (rule name, "queue", …).
    pub label: String,
    /// Current state.
    pub state: JobState,
    /// Keys handled so far.
    pub progress: JobProgress,
    /// When the job was created.
    pub created_at: Timestamp,
    /// When it started running.
    pub started_at: Option<Timestamp>,
    /// When it reached a terminal state.
    pub finished_at: Option<Timestamp>,
    /// Last progress report.
    pub updated_at: Timestamp,
    /// Set by [`WarmJob::cancel`]; the executor checks it between batches.
    pub cancel_requested: bool,
    /// Recent progress, for the measured rate and the ETA.
    pub rate: RateWindow,
}

impl WarmJob {
    /// A queued job of `total` keys.
    pub fn new(id: JobId, label: impl Into<String>, total: u64, now: Timestamp) -> Self {
        Self {
            id,
            label: label.into(),
            state: JobState::Queued,
            progress: JobProgress {
                total,
                total_known: true,
                ..JobProgress::default()
            },
            created_at: now,
            started_at: None,
            finished_at: None,
            updated_at: now,
            cancel_requested: false,
            rate: RateWindow::default(),
        }
    }

    fn invalid(&self, action: &'static str) -> JobError {
        JobError::InvalidTransition {
            from: self.state.label(),
            action,
        }
    }

    /// Queued → Running.
    pub fn start(&mut self, now: Timestamp) -> Result<(), JobError> {
        if self.state != JobState::Queued {
            return Err(self.invalid("start"));
        }
        self.state = JobState::Running;
        self.started_at = Some(now);
        self.updated_at = now;
        self.rate = RateWindow::starting(now.as_millis());
        Ok(())
    }

    /// Add progress while Running (saturating; `total` grows to `done`
    /// if exceeded, `errors` never exceeds `done`).
    pub fn advance(
        &mut self,
        done_delta: u64,
        errors_delta: u64,
        now: Timestamp,
    ) -> Result<(), JobError> {
        if self.state != JobState::Running {
            return Err(self.invalid("advance"));
        }
        let p = &mut self.progress;
        p.done = p.done.saturating_add(done_delta);
        p.errors = p.errors.saturating_add(errors_delta).min(p.done);
        p.total = p.total.max(p.done);
        self.updated_at = now;
        self.rate.record(now.as_millis(), p.done);
        Ok(())
    }

    /// The executor's cumulative tally while Running: `done` and `errors`
    /// follow it (never backwards).
    pub fn report(&mut self, tally: Tally, now: Timestamp) -> Result<(), JobError> {
        let p = self.progress;
        let done = tally.handled().saturating_sub(p.done);
        let errors = tally.errors().saturating_sub(p.errors);
        self.advance(done, errors, now)?;
        self.progress.tally = tally;
        Ok(())
    }

    /// Running → Done.
    pub fn finish(&mut self, now: Timestamp) -> Result<(), JobError> {
        if self.state != JobState::Running {
            return Err(self.invalid("finish"));
        }
        self.end(JobState::Done, now);
        Ok(())
    }

    /// Queued or Running → Failed.
    pub fn fail(&mut self, reason: impl Into<String>, now: Timestamp) -> Result<(), JobError> {
        if self.state.is_terminal() {
            return Err(self.invalid("fail"));
        }
        self.end(
            JobState::Failed {
                reason: reason.into(),
            },
            now,
        );
        Ok(())
    }

    /// Request cancellation: a queued job is cancelled at once, a running
    /// one when the executor next checks [`WarmJob::should_stop`].
    pub fn cancel(&mut self, now: Timestamp) -> Result<(), JobError> {
        match self.state {
            JobState::Queued => {
                self.cancel_requested = true;
                self.end(JobState::Cancelled, now);
                Ok(())
            }
            JobState::Running => {
                self.cancel_requested = true;
                Ok(())
            }
            _ => Err(self.invalid("cancel")),
        }
    }

    /// True when the executor should stop at this batch boundary.
    pub fn should_stop(&self) -> bool {
        self.cancel_requested
    }

    /// Running → Cancelled, by the executor honouring a cancel request.
    pub fn mark_cancelled(&mut self, now: Timestamp) -> Result<(), JobError> {
        if self.state != JobState::Running || !self.cancel_requested {
            return Err(self.invalid("mark cancelled"));
        }
        self.end(JobState::Cancelled, now);
        Ok(())
    }

    fn end(&mut self, state: JobState, now: Timestamp) {
        self.state = state;
        self.finished_at = Some(now);
        self.updated_at = now;
    }

    /// Fraction done in [0, 1]; `None` when the job has no keys.
    pub fn fraction(&self) -> Option<f64> {
        crate::engines::ratio(self.progress.done, self.progress.total)
    }

    /// Keys handled per second: while running, measured over the recent
    /// progress (see [`RateWindow`]); once finished, over the whole run.
    /// `None` before start or when no time has passed.
    pub fn keys_per_sec(&self, now: Timestamp) -> Option<f64> {
        let start = self.started_at?;
        if let Some(end) = self.finished_at {
            let ms = end.millis_since(start);
            return (ms > 0).then(|| self.progress.done as f64 * 1e3 / ms as f64);
        }
        if now.millis_since(start) == 0 {
            return None;
        }
        self.rate.rate(now.as_millis())
    }

    /// Estimated milliseconds left while Running, at the measured rate;
    /// `None` without a rate or while the total is not known.
    pub fn eta_ms(&self, now: Timestamp) -> Option<u64> {
        if self.state != JobState::Running {
            return None;
        }
        let p = &self.progress;
        self.rate
            .eta_ms(now.as_millis(), p.total_known.then_some(p.total))
    }
}

/// Running jobs and the most recent finished ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobBoard {
    next_id: JobId,
    active: Vec<WarmJob>,
    recent: VecDeque<WarmJob>,
    recent_limit: usize,
}

impl Default for JobBoard {
    fn default() -> Self {
        Self::new(20)
    }
}

impl JobBoard {
    /// A board keeping at most `recent_limit` finished jobs (at least 1).
    pub fn new(recent_limit: usize) -> Self {
        Self {
            next_id: 1,
            active: Vec::new(),
            recent: VecDeque::new(),
            recent_limit: recent_limit.max(1),
        }
    }

    /// Create a queued job of `total` keys; returns its id.
    pub fn submit(&mut self, label: impl Into<String>, total: u64, now: Timestamp) -> JobId {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.active.push(WarmJob::new(id, label, total, now));
        id
    }

    /// Create a queued job whose keys are not known yet (a preload):
    /// no ETA until [`JobBoard::set_total`].
    pub fn submit_open(&mut self, label: impl Into<String>, now: Timestamp) -> JobId {
        let id = self.submit(label, 0, now);
        if let Some(j) = self.active.last_mut() {
            j.progress.total_known = false;
        }
        id
    }

    /// A job, active or recent.
    pub fn get(&self, id: JobId) -> Option<&WarmJob> {
        self.active
            .iter()
            .find(|j| j.id == id)
            .or_else(|| self.recent.iter().find(|j| j.id == id))
    }

    /// Jobs not yet finished, in submission order.
    pub fn active(&self) -> &[WarmJob] {
        &self.active
    }

    /// Finished jobs, newest first.
    pub fn recent(&self) -> impl Iterator<Item = &WarmJob> {
        self.recent.iter()
    }

    /// See [`WarmJob::start`].
    pub fn start(&mut self, id: JobId, now: Timestamp) -> Result<(), JobError> {
        self.apply(id, |j| j.start(now))
    }

    /// See [`WarmJob::report`].
    pub fn report(&mut self, id: JobId, tally: Tally, now: Timestamp) -> Result<(), JobError> {
        self.apply(id, |j| j.report(tally, now))
    }

    /// See [`WarmJob::advance`].
    pub fn advance(
        &mut self,
        id: JobId,
        done: u64,
        errors: u64,
        now: Timestamp,
    ) -> Result<(), JobError> {
        self.apply(id, |j| j.advance(done, errors, now))
    }

    /// Set a job's planned keys once they are known (a preload learns them
    /// from its query); never below what is done.
    pub fn set_total(&mut self, id: JobId, total: u64) -> Result<(), JobError> {
        self.apply(id, |j| {
            j.progress.total = total.max(j.progress.done);
            j.progress.total_known = true;
            Ok(())
        })
    }

    /// See [`WarmJob::finish`].
    pub fn finish(&mut self, id: JobId, now: Timestamp) -> Result<(), JobError> {
        self.apply(id, |j| j.finish(now))
    }

    /// See [`WarmJob::fail`].
    pub fn fail(
        &mut self,
        id: JobId,
        reason: impl Into<String>,
        now: Timestamp,
    ) -> Result<(), JobError> {
        let reason = reason.into();
        self.apply(id, |j| j.fail(reason, now))
    }

    /// See [`WarmJob::cancel`].
    pub fn cancel(&mut self, id: JobId, now: Timestamp) -> Result<(), JobError> {
        self.apply(id, |j| j.cancel(now))
    }

    /// Request cancellation of every active job (returns how many).
    pub fn cancel_all(&mut self, now: Timestamp) -> usize {
        let ids: Vec<JobId> = self.active.iter().map(|j| j.id).collect();
        ids.into_iter()
            .filter(|id| self.cancel(*id, now).is_ok())
            .count()
    }

    /// See [`WarmJob::mark_cancelled`].
    pub fn mark_cancelled(&mut self, id: JobId, now: Timestamp) -> Result<(), JobError> {
        self.apply(id, |j| j.mark_cancelled(now))
    }

    /// Run a transition on an active job, retiring it when it ends.
    fn apply(
        &mut self,
        id: JobId,
        f: impl FnOnce(&mut WarmJob) -> Result<(), JobError>,
    ) -> Result<(), JobError> {
        let Some(idx) = self.active.iter().position(|j| j.id == id) else {
            return match self.recent.iter().find(|j| j.id == id) {
                Some(j) => {
                    let mut copy = j.clone();
                    f(&mut copy)
                }
                None => Err(JobError::UnknownJob(id)),
            };
        };
        let job = self.active.get_mut(idx).ok_or(JobError::UnknownJob(id))?;
        f(job)?;
        if job.state.is_terminal() {
            let done = self.active.remove(idx);
            self.recent.push_front(done);
            self.recent.truncate(self.recent_limit);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

    #[test]
    fn job_lifecycle_progress_rate_and_eta() -> Result<(), Box<dyn std::error::Error>> {
        let mut b = JobBoard::new(5);
        let id = b.submit("users", 1000, T0);
        assert_eq!(b.get(id).map(|j| j.state.clone()), Some(JobState::Queued));
        b.start(id, T0)?;
        b.advance(id, 400, 10, T0.add_secs(2))?;
        let j = b.get(id).cloned().ok_or("job")?;
        assert_eq!(j.state, JobState::Running);
        assert_eq!(
            (j.progress.done, j.progress.total, j.progress.errors),
            (400, 1000, 10)
        );
        assert_eq!(j.fraction(), Some(0.4));
        assert_eq!(j.keys_per_sec(T0.add_secs(2)), Some(200.0));
        assert_eq!(j.eta_ms(T0.add_secs(2)), Some(3000));
        assert_eq!(j.keys_per_sec(T0), None);
        b.advance(id, 700, 0, T0.add_secs(4))?;
        b.finish(id, T0.add_secs(4))?;
        assert!(b.active().is_empty());
        let done = b.recent().next().cloned().ok_or("recent")?;
        assert_eq!(done.state, JobState::Done);
        assert_eq!(done.progress.total, 1100, "total grows to done");
        assert_eq!(done.eta_ms(T0.add_secs(9)), None);
        assert_eq!(
            done.keys_per_sec(T0.add_secs(9)),
            Some(275.0),
            "rate frozen at finish"
        );
        Ok(())
    }

    #[test]
    fn a_preload_has_no_eta_until_its_keys_are_known_and_follows_the_tally()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut b = JobBoard::default();
        let id = b.submit_open("preload users", T0);
        b.start(id, T0)?;
        let left_alone = |n| Tally {
            left_alone: n,
            ..Tally::default()
        };
        b.report(id, left_alone(500), T0.add_secs(1))?;
        let j = b.get(id).ok_or("job")?;
        assert_eq!(
            j.eta_ms(T0.add_secs(1)),
            None,
            "not 0 s: the total is unknown"
        );
        b.set_total(id, 2_000)?;
        let j = b.get(id).ok_or("job")?;
        assert_eq!(
            j.eta_ms(T0.add_secs(1)),
            Some(3_000),
            "500 keys/s, 1500 left"
        );
        let no_ttl = Tally {
            no_ttl: 5,
            ..left_alone(600)
        };
        b.report(id, no_ttl, T0.add_secs(2))?;
        let j = b.get(id).ok_or("job")?;
        assert_eq!((j.progress.done, j.progress.errors), (605, 5));
        assert_eq!(j.progress.tally, no_ttl);
        Ok(())
    }

    #[test]
    fn invalid_transitions_are_errors_not_panics() {
        let mut j = WarmJob::new(1, "x", 10, T0);
        assert_eq!(
            j.finish(T0),
            Err(JobError::InvalidTransition {
                from: "queued",
                action: "finish"
            })
        );
        assert!(j.advance(1, 0, T0).is_err());
        assert!(j.mark_cancelled(T0).is_err());
        assert!(j.start(T0).is_ok());
        assert!(j.start(T0).is_err());
        assert!(j.mark_cancelled(T0).is_err(), "no cancel requested");
        assert!(j.fail("postgres down", T0).is_ok());
        assert_eq!(
            j.state,
            JobState::Failed {
                reason: "postgres down".into()
            }
        );
        for r in [j.start(T0), j.finish(T0), j.cancel(T0), j.fail("again", T0)] {
            assert!(r.is_err());
        }
        assert_eq!(
            j.cancel(T0).map_err(|e| e.to_string()),
            Err("cannot cancel a failed warm job".to_string())
        );
        let mut b = JobBoard::default();
        assert_eq!(b.start(77, T0), Err(JobError::UnknownJob(77)));
    }

    #[test]
    fn cancel_is_honoured_at_a_batch_boundary() -> Result<(), Box<dyn std::error::Error>> {
        let mut b = JobBoard::new(3);
        let queued = b.submit("q", 5, T0);
        assert!(b.cancel(queued, T0).is_ok());
        assert_eq!(
            b.get(queued).map(|j| j.state.clone()),
            Some(JobState::Cancelled)
        );
        let run = b.submit("r", 500, T0);
        b.start(run, T0)?;
        assert!(b.get(run).is_some_and(|j| !j.should_stop()));
        assert_eq!(b.cancel_all(T0), 1);
        assert!(
            b.get(run)
                .is_some_and(|j| j.should_stop() && j.state == JobState::Running)
        );
        b.advance(run, 100, 0, T0.add_secs(1))?;
        b.mark_cancelled(run, T0.add_secs(1))?;
        let j = b.get(run).cloned().ok_or("job")?;
        assert_eq!((j.state, j.progress.done), (JobState::Cancelled, 100));
        assert!(b.cancel(run, T0).is_err());
        Ok(())
    }

    #[test]
    fn recent_list_is_bounded_newest_first() -> Result<(), Box<dyn std::error::Error>> {
        let mut b = JobBoard::new(2);
        for i in 0..5 {
            let id = b.submit(format!("j{i}"), 0, T0);
            b.fail(id, "x", T0)?;
        }
        let labels: Vec<&str> = b.recent().map(|j| j.label.as_str()).collect();
        assert_eq!(labels, ["j4", "j3"]);
        assert_eq!(b.get(1), None);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn prop_random_transitions_keep_invariants(
            ops in proptest::collection::vec((0u8..7, 0u64..3, any::<u64>(), any::<u64>(), any::<i64>()), 0..80),
        ) {
            let mut b = JobBoard::new(4);
            for (op, id, x, y, t) in ops {
                let now = Timestamp(t);
                let id = id + 1;
                let _ = match op {
                    0 => { b.submit("j", x, now); Ok(()) }
                    1 => b.start(id, now),
                    2 => b.advance(id, x, y, now),
                    3 => b.finish(id, now),
                    4 => b.fail(id, "f", now),
                    5 => b.cancel(id, now),
                    _ => b.mark_cancelled(id, now),
                };
                prop_assert!(b.recent().count() <= 4);
                for j in b.active().iter().chain(b.recent()) {
                    prop_assert!(j.progress.errors <= j.progress.done);
                    prop_assert!(j.progress.done <= j.progress.total);
                    prop_assert_eq!(j.state.is_terminal(), j.finished_at.is_some());
                    if let Some(f) = j.fraction() { prop_assert!((0.0..=1.0).contains(&f)); }
                    if let Some(r) = j.keys_per_sec(now) { prop_assert!(r.is_finite() && r >= 0.0); }
                    let _ = j.eta_ms(now);
                }
                for j in b.active() {
                    prop_assert!(!j.state.is_terminal());
                }
            }
        }
    }
}
