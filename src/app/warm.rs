//! Warming from the console: the confirm dialog (a dry run from the servers
//! when live), starting jobs and preloads, their progress, and the
//! automatic rounds of the background-refresh and predictive strategies.

use rustc_hash::{FxHashMap, FxHashSet};

use super::actions::Effect;
use super::state::State;
use super::ui_state::{Confirm, Mode, Pending};
use crate::action::Pane;
use crate::engines::Timestamp;
use crate::engines::warming::CandidateReason;
use crate::ops::warm::console::{WarmCmd, rule_for};
use crate::ops::warm::rules::Rule;
use crate::sample::{WarmDry, WarmProgress};

impl Effect {
    /// The live warm service's command for a warming effect; `None` for the
    /// other effects.
    pub fn warm_cmd(self) -> Option<WarmCmd> {
        Some(match self {
            Effect::Warm { job, keys, refresh } => WarmCmd::Warm { job, keys, refresh },
            Effect::CancelWarm(job) => WarmCmd::Cancel(job),
            Effect::Preload { job, rule } => WarmCmd::Preload { job, rule },
            Effect::DryRun { id, keys } => WarmCmd::DryRun { id, keys },
            Effect::Probe(keys) => WarmCmd::Probe(keys),
            _ => return None,
        })
    }
}

/// What the app knows about live warming.
#[derive(Debug, Clone, Default)]
pub struct WarmBoard {
    /// The config file's warm rules (live warming needs one per key pattern).
    pub rules: Vec<Rule>,
    /// The dry run the open dialog waits for.
    pub dry_pending: Option<u64>,
    /// Dry-run requests so far (their ids).
    dry_seq: u64,
    /// A probe round's answers arrived: plan its jobs at the next tick.
    pub round_answered: bool,
    /// The start-up preloads were asked for.
    preloaded: bool,
    /// A job ended: probe the hot keys at the next round, not an interval
    /// later, so the queue stops listing keys that were just written.
    probe_now: bool,
    /// Key hash → when the job that wrote it ran (start, end). The key
    /// sampler's idle time cannot tell the console's own `SET` from a real
    /// access; a touch inside that window is taken as the write, so a
    /// refresh never counts as use (or the refresh cap would never apply).
    pub(crate) written: FxHashMap<u64, (Timestamp, Timestamp)>,
    /// When `written` was last pruned (a scan at most once a second, not
    /// on every sampler batch).
    pruned_at: Option<Timestamp>,
}

/// Slack around a job's window for clocks and the sampler's whole seconds.
const WRITE_SLACK_MS: i64 = 1_500;

impl WarmBoard {
    /// Whether a key last touched at `touched` was touched by warming.
    pub(crate) fn touched_by_warming(&self, hash: u64, touched: Timestamp) -> bool {
        self.written.get(&hash).is_some_and(|&(from, to)| {
            touched.as_millis() >= from.as_millis() - WRITE_SLACK_MS
                && touched.as_millis() <= to.as_millis() + WRITE_SLACK_MS
        })
    }

    /// Forget windows older than any idle time the sampler credits.
    pub(crate) fn prune_written(&mut self, now: Timestamp, keep_ms: i64) {
        if self.written.is_empty() || self.pruned_at.is_some_and(|t| now.millis_since(t) < 1_000) {
            return;
        }
        self.pruned_at = Some(now);
        self.written
            .retain(|_, (_, to)| now.as_millis() - to.as_millis() <= keep_ms + WRITE_SLACK_MS);
    }
}

impl State {
    /// Whether warming acts on real servers (not the demo's simulation).
    fn live_warming(&self) -> bool {
        !self.session.demo
    }

    fn refuse_read_only(&mut self, now: Timestamp) -> bool {
        if self.session.writes_allowed {
            return false;
        }
        let why = self
            .session
            .read_only_reason
            .clone()
            .unwrap_or_else(|| "writes are off in this context".to_string());
        self.ui.set_status(
            format!("read-only: warming writes to Redis and {why}"),
            true,
            now,
        );
        true
    }

    /// `w` / `W`: the confirm dialog for the marked, selected or all
    /// candidates. Live, its counts come from a dry run on the servers.
    pub(crate) fn ask_warm(&mut self, all: bool, now: Timestamp) -> Vec<Effect> {
        if self.refuse_read_only(now) {
            return Vec::new();
        }
        if self.live_warming() && self.warm.rules.is_empty() {
            self.ui.set_status(
                "no [[warm.rules]] in the config file: live warming needs a rule (key pattern, query, target)",
                true,
                now,
            );
            return Vec::new();
        }
        let d = &self.derived.candidates;
        let picked: Vec<_> = if all {
            d.iter().collect()
        } else if !self.ui.marked.is_empty() {
            d.iter()
                .filter(|c| self.ui.marked.contains(&c.key_hash))
                .collect()
        } else {
            d.get(self.ui.selected(Pane::Warming)).into_iter().collect()
        };
        let keys: Vec<(u64, String)> = picked
            .iter()
            .filter_map(|c| c.name.clone().map(|n| (c.key_hash, n)))
            .collect();
        if keys.is_empty() {
            self.ui.set_status(
                "nothing to warm: the queue is empty or the keys have no names",
                true,
                now,
            );
            return Vec::new();
        }
        let label = if all {
            "whole queue".to_string()
        } else {
            format!("{} selected", keys.len())
        };
        let title = format!("Warm {} keys?", keys.len());
        if self.live_warming() {
            self.warm.dry_seq += 1;
            let id = self.warm.dry_seq;
            self.warm.dry_pending = Some(id);
            let names: Vec<String> = keys.iter().map(|(_, n)| n.clone()).collect();
            self.open_confirm(
                title,
                vec![
                    "dry run: asking the database and Redis what would happen…".to_string(),
                    "y to warm, n or Esc to cancel".to_string(),
                ],
                Pending::Warm { label, keys },
            );
            return vec![Effect::DryRun { id, keys: names }];
        }
        let count =
            |f: fn(&CandidateReason) -> bool| picked.iter().filter(|c| f(&c.reason)).count();
        let missing = count(|r| matches!(r, CandidateReason::MissingHot { .. }));
        let expiring = count(|r| matches!(r, CandidateReason::Expiring { .. }));
        let predicted = count(|r| {
            matches!(
                r,
                CandidateReason::Predicted { .. } | CandidateReason::Preload
            )
        });
        let lines = vec![
            "target: the demo's simulated cache".to_string(),
            format!(
                "{missing} missing (would be new), {expiring} expiring (refreshed), {predicted} predicted or preload"
            ),
            format!(
                "batches of {} keys, pipelined",
                self.warming.config().batch_size
            ),
            "y to warm, n or Esc to cancel".to_string(),
        ];
        self.open_confirm(title, lines, Pending::Warm { label, keys });
        Vec::new()
    }

    /// `R`: preload the rule of the selected candidate's key (else the first
    /// rule with a `hot_keys_query`).
    pub(crate) fn ask_preload(&mut self, now: Timestamp) {
        if self.refuse_read_only(now) {
            return;
        }
        let selected = self
            .derived
            .candidates
            .get(self.ui.selected(Pane::Warming))
            .and_then(|c| c.name.as_deref())
            .and_then(|k| rule_for(&self.warm.rules, k))
            .filter(|r| r.hot_keys_query.is_some());
        let Some(rule) =
            selected.or_else(|| self.warm.rules.iter().find(|r| r.hot_keys_query.is_some()))
        else {
            let msg = if self.live_warming() {
                "no warm rule has a hot_keys_query to preload from"
            } else {
                "preload runs a warm rule's hot_keys_query; the demo has no rules"
            };
            self.ui.set_status(msg, true, now);
            return;
        };
        let rate = rule
            .max_keys_per_s
            .map_or("no rate limit".to_string(), |n| {
                format!("at most {n} keys/s")
            });
        let lines = vec![
            format!(
                "runs hot_keys_query on {} and warms every key it returns",
                crate::config::redact_url(&rule.postgres)
            ),
            format!(
                "into {} ({} mode), {rate}, batches of {}",
                crate::config::redact_url(&rule.redis),
                format!("{:?}", rule.mode).to_lowercase(),
                rule.batch
            ),
            "y to preload, n or Esc to cancel".to_string(),
        ];
        let name = rule.name.clone();
        self.open_confirm(
            format!("Preload rule `{name}`?"),
            lines,
            Pending::Preload { rule: name },
        );
    }

    fn open_confirm(&mut self, title: String, lines: Vec<String>, action: Pending) {
        self.ui.confirm = Some(Confirm {
            title,
            lines,
            action,
        });
        self.ui.mode = Mode::Confirm;
    }

    /// "y" in the dialog: start the job.
    pub(crate) fn confirm(&mut self, now: Timestamp) -> Vec<Effect> {
        let Some(c) = self.ui.confirm.take() else {
            return Vec::new();
        };
        self.ui.mode = Mode::Normal;
        self.warm.dry_pending = None;
        match c.action {
            Pending::Warm { label, keys } => {
                self.ui.marked.clear();
                vec![self.start_job(label, keys, false, now)]
            }
            Pending::Preload { rule } => {
                let id = self.jobs.submit(format!("preload {rule}"), 0, now);
                let _ = self.jobs.start(id, now);
                self.ui
                    .set_status(format!("warm job {id} started: preload {rule}"), false, now);
                vec![Effect::Preload { job: id, rule }]
            }
        }
    }

    fn start_job(
        &mut self,
        label: String,
        keys: Vec<(u64, String)>,
        refresh: bool,
        now: Timestamp,
    ) -> Effect {
        let id = self.jobs.submit(label, keys.len() as u64, now);
        let _ = self.jobs.start(id, now);
        self.job_keys
            .insert(id, keys.iter().map(|(h, _)| *h).collect());
        self.ui.set_status(
            format!("warm job {id} started: {} keys", keys.len()),
            false,
            now,
        );
        Effect::Warm {
            job: id,
            keys: keys.into_iter().map(|(_, n)| n).collect(),
            refresh,
        }
    }

    /// A dry run arrived: it replaces the dialog's placeholder lines.
    pub(crate) fn warm_dry(&mut self, d: &WarmDry) {
        if self.warm.dry_pending != Some(d.id) {
            return;
        }
        self.warm.dry_pending = None;
        if let Some(c) = self.ui.confirm.as_mut() {
            let mut lines = d.lines.clone();
            if d.unmatched > 0 {
                let example = d
                    .unmatched_example
                    .as_deref()
                    .map_or_else(String::new, |k| {
                        let shown = crate::ui::widgets::key_label(
                            k,
                            self.session.redact_keys,
                            &self.session.key_delimiter,
                        );
                        format!(" (e.g. {shown})")
                    });
                lines.push(format!(
                    "{} keys match no warm rule and will be skipped{example}",
                    d.unmatched
                ));
            }
            lines.push(if d.failed {
                "the dry run failed: y still tries, n or Esc to cancel".to_string()
            } else {
                "y to warm, n or Esc to cancel".to_string()
            });
            c.lines = lines;
        }
    }

    /// The automatic strategies, once per data tick (live, with rules, where
    /// writes are allowed): preload at start; every refresh interval a
    /// probe of the hot keys (`PTTL`), and when its answers are in, one job
    /// for the expiring keys (background refresh) and the missing hot ones
    /// (predictive). The engine caps refreshes without a real access.
    pub fn warm_round(&mut self, now: Timestamp) -> Vec<Effect> {
        if !self.live_warming() || self.warm.rules.is_empty() || !self.session.writes_allowed {
            return Vec::new();
        }
        let strategy = self.warming.config().strategy;
        let mut out = Vec::new();
        if !self.warm.preloaded {
            self.warm.preloaded = true;
            if strategy.includes_preload() {
                for r in self
                    .warm
                    .rules
                    .iter()
                    .filter(|r| r.hot_keys_query.is_some())
                {
                    let rule = r.name.clone();
                    let id = self.jobs.submit(format!("preload {rule} (start)"), 0, now);
                    let _ = self.jobs.start(id, now);
                    out.push(Effect::Preload { job: id, rule });
                }
            }
        }
        let (refresh, predictive) = (
            strategy.includes_refresh(),
            strategy.includes_predictive() && self.warming.config().enable_prediction,
        );
        if !refresh && !predictive {
            return out;
        }
        if self.warm.round_answered {
            self.warm.round_answered = false;
            let busy: FxHashSet<u64> = self.job_keys.values().flatten().copied().collect();
            // Expiring keys are overwritten (refresh); missing ones filled.
            let mut expiring = Vec::new();
            let mut missing = Vec::new();
            for c in self.warming.plan(now) {
                let Some(name) = c.name else { continue };
                if busy.contains(&c.key_hash) || rule_for(&self.warm.rules, &name).is_none() {
                    continue;
                }
                match c.reason {
                    CandidateReason::Expiring { .. } if refresh => {
                        expiring.push((c.key_hash, name));
                    }
                    CandidateReason::MissingHot { .. } | CandidateReason::Predicted { .. }
                        if predictive =>
                    {
                        missing.push((c.key_hash, name));
                    }
                    _ => {}
                }
            }
            if !expiring.is_empty() {
                out.push(self.start_job("background refresh".into(), expiring, true, now));
            }
            if !missing.is_empty() {
                out.push(self.start_job("predictive".into(), missing, false, now));
            }
        }
        if self.warming.refresh_due(now) || std::mem::take(&mut self.warm.probe_now) {
            self.warming.begin_round(now);
            let keys: Vec<String> = self
                .warming
                .probe_list(now)
                .into_iter()
                .filter_map(|e| e.name)
                .filter(|n| rule_for(&self.warm.rules, n).is_some())
                .collect();
            if !keys.is_empty() {
                out.push(Effect::Probe(keys));
            }
        }
        out
    }

    pub(crate) fn warm_progress(&mut self, p: &WarmProgress, at: Timestamp) {
        if let Some(total) = p.total {
            let _ = self.jobs.set_total(p.job, total);
        }
        let Some(job) = self.jobs.get(p.job) else {
            return;
        };
        let (done, errors) = (job.progress.done, job.progress.errors);
        let _ = self.jobs.advance(
            p.job,
            u64::from(p.done).saturating_sub(done),
            u64::from(p.errors).saturating_sub(errors),
            at,
        );
        self.warm.probe_now |= p.finished.is_some();
        if p.finished.is_some() {
            // Whatever it wrote (all of it, or part before a cancel or a
            // failure) was written while it ran.
            let from = self
                .jobs
                .get(p.job)
                .and_then(|j| j.started_at)
                .unwrap_or(at);
            for &h in self.job_keys.get(&p.job).into_iter().flatten() {
                self.warm.written.insert(h, (from, at));
            }
        }
        match &p.finished {
            None => {}
            Some(Ok(())) => {
                let _ = self.jobs.finish(p.job, at);
                for h in self.job_keys.remove(&p.job).unwrap_or_default() {
                    self.warming.note_refreshed(h, at);
                }
                let msg = format!(
                    "warm job {} done: {} keys, {} errors",
                    p.job, p.done, p.errors
                );
                self.ui.set_status(msg, false, at);
            }
            Some(Err(reason)) if reason == "cancelled" => {
                let _ = self.jobs.mark_cancelled(p.job, at);
                self.job_keys.remove(&p.job);
                self.ui.set_status(
                    format!("warm job {} cancelled after {} keys", p.job, p.done),
                    false,
                    at,
                );
            }
            Some(Err(reason)) => {
                let _ = self.jobs.fail(p.job, reason.clone(), at);
                self.job_keys.remove(&p.job);
                self.ui
                    .set_status(format!("warm job {} failed: {reason}", p.job), true, at);
            }
        }
    }
}
