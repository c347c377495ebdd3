//! The warming strategies' rounds (live, with rules, where writes are
//! allowed). Every refresh interval the hot keys are probed with `PTTL` (a
//! read); when the answers are in, the round plans per rule a refresh-mode
//! job for the keys about to expire and a job in the rule's mode for the
//! missing hot ones.
//!
//! Who pulls the trigger: writes allowed means the operator *may* write,
//! never that heliostat writes by itself. Without `auto_warm` the round
//! only plans — the Warming pane says what it would do, and `w` / `W` do it
//! after a y/n. With it (shown as AUTO-WARM), the round starts its jobs
//! itself, and preloads every rule's `hot_keys_query` at start, within
//! bounds: one job at a time per rule (its refresh job, then its fill job),
//! a rule whose automatic job failed sits out rounds for a doubling delay,
//! and a key that could not be warmed (no row, a NULL value, no usable
//! TTL, refused) is left out for its own doubling delay.

use rustc_hash::{FxHashMap, FxHashSet};

use super::actions::Effect;
use super::state::State;
use crate::engines::Timestamp;
use crate::engines::warming::{CandidateReason, KeyBackoff, RoundBackoff};
use crate::ops::warm::rules::Rule;

/// What the last answered round found to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundPlan {
    /// When its answers were planned.
    pub at: Timestamp,
    /// Keys about to expire, to refresh.
    pub refresh: usize,
    /// Missing or predicted hot keys, to fill.
    pub fill: usize,
    /// Keys left out, still in their backoff after failing.
    pub held_back: usize,
    /// Rules sitting out this round after a failed job.
    pub rules_waiting: usize,
    /// The round started its jobs itself (`auto_warm`); otherwise it only
    /// planned.
    pub auto: bool,
}

/// A job a round planned for one rule, waiting for the rule to be idle.
#[derive(Debug, Clone)]
struct AutoJob {
    rule: usize,
    refresh: bool,
    keys: Vec<(u64, String)>,
}

/// An automatic job that ended, settled at the next round.
#[derive(Debug, Clone)]
struct Ended {
    rule: usize,
    failed: bool,
    ok: bool,
    keys: Vec<u64>,
    unwritten: FxHashSet<u64>,
}

/// The automatic rounds' bookkeeping.
#[derive(Debug, Clone, Default)]
pub struct AutoRounds {
    /// The last answered round, shown in the Warming pane.
    pub plan: Option<RoundPlan>,
    /// Per rule (by index): its backoff after failed automatic jobs.
    rules: Vec<RoundBackoff>,
    /// Running automatic jobs → their rule.
    running: FxHashMap<u64, usize>,
    /// Planned jobs waiting for their rule's running job to end (at most
    /// two per rule: a round replaces the previous one's).
    queued: Vec<AutoJob>,
    /// Keys that failed, left out for a while (bounded).
    pub keys: KeyBackoff,
    ended: Vec<Ended>,
}

impl AutoRounds {
    /// A job ended; an automatic one is settled at the next round.
    pub(crate) fn job_ended(
        &mut self,
        job: u64,
        failed: bool,
        ok: bool,
        keys: Vec<u64>,
        unwritten: FxHashSet<u64>,
    ) {
        if let Some(rule) = self.running.remove(&job) {
            self.ended.push(Ended {
                rule,
                failed,
                ok,
                keys,
                unwritten,
            });
        }
    }

    /// Whether rule `rule` is backing off at `now`, and until when.
    pub fn rule_waits_until(&self, rule: usize, now: Timestamp) -> Option<Timestamp> {
        self.rules
            .get(rule)
            .filter(|b| !b.ready(now))
            .and_then(RoundBackoff::not_before)
    }

    fn backoff(&mut self, rule: usize) -> &mut RoundBackoff {
        if self.rules.len() <= rule {
            self.rules.resize(rule + 1, RoundBackoff::default());
        }
        &mut self.rules[rule]
    }

    /// Failed jobs back their rule off, failed keys back off one by one,
    /// keys warmed (or found there) are forgotten.
    fn settle(&mut self, now: Timestamp, interval_ms: u64) {
        for e in std::mem::take(&mut self.ended) {
            if e.failed {
                self.backoff(e.rule).failed(now, interval_ms);
            } else if e.ok {
                self.backoff(e.rule).succeeded();
            }
            for h in e.keys {
                if e.unwritten.contains(&h) {
                    self.keys.failed(h, now, interval_ms);
                } else if e.ok {
                    self.keys.succeeded(h);
                }
            }
        }
    }
}

/// The index of the first rule whose pattern matches `key`.
fn rule_index(rules: &[Rule], key: &str) -> Option<usize> {
    rules
        .iter()
        .position(|r| r.key.parse_key(key).is_some_and(|v| !v.is_empty()))
}

impl State {
    /// One round step, per data tick: settle the automatic jobs that
    /// ended; plan when a probe's answers are in (and, with `auto_warm`,
    /// queue the plan's jobs); start queued jobs of idle rules; probe the
    /// hot keys every refresh interval. With `auto_warm`, also preload at
    /// start.
    pub fn warm_round(&mut self, now: Timestamp) -> Vec<Effect> {
        if !self.live_warming() || self.warm.rules.is_empty() || !self.session.writes_allowed {
            return Vec::new();
        }
        let auto = self.session.auto_warm;
        let interval = self.warming.config().refresh_interval_ms();
        self.warm.auto.settle(now, interval);
        let strategy = self.warming.config().strategy;
        let mut out = Vec::new();
        if auto && !self.warm.preloaded {
            self.warm.preloaded = true;
            if strategy.includes_preload() {
                let preloads: Vec<(usize, String)> = self
                    .warm
                    .rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.hot_keys_query.is_some())
                    .map(|(i, r)| (i, r.name.clone()))
                    .collect();
                for (i, rule) in preloads {
                    let fx = self.start_preload(format!("auto preload {rule}"), rule, now);
                    if let Effect::Preload { job, .. } = &fx {
                        self.warm.auto.running.insert(*job, i);
                    }
                    out.push(fx);
                }
            }
        }
        let (refresh, predictive) = (
            strategy.includes_refresh(),
            strategy.includes_predictive() && self.warming.config().enable_prediction,
        );
        if !refresh && !predictive {
            self.warm.auto.plan = None;
            self.warm.auto.queued.clear();
            return out;
        }
        if std::mem::take(&mut self.warm.round_answered) {
            self.plan_round(now, refresh, predictive, auto);
        }
        if auto {
            out.extend(self.start_queued(now));
        }
        if self.warming.refresh_due(now) {
            self.warming.begin_round(now);
            let keys: Vec<String> = self
                .warming
                .probe_list(now)
                .into_iter()
                .filter_map(|e| e.name)
                .filter(|n| rule_index(&self.warm.rules, n).is_some())
                .collect();
            if !keys.is_empty() {
                out.push(Effect::Probe(keys));
            }
        }
        out
    }

    /// The round's plan from the queue: per rule, the expiring keys
    /// (refresh) and the missing or predicted hot ones (fill), minus keys a
    /// job is warming and, when automatic, keys backing off.
    fn plan_round(&mut self, now: Timestamp, refresh: bool, predictive: bool, auto: bool) {
        let busy: FxHashSet<u64> = self.job_keys.values().flatten().copied().collect();
        let n = self.warm.rules.len();
        let mut expiring: Vec<Vec<(u64, String)>> = vec![Vec::new(); n];
        let mut missing: Vec<Vec<(u64, String)>> = vec![Vec::new(); n];
        let mut held_back = 0;
        for c in self.warming.plan(now) {
            let Some(name) = c.name else { continue };
            if busy.contains(&c.key_hash) {
                continue;
            }
            let Some(i) = rule_index(&self.warm.rules, &name) else {
                continue;
            };
            let into = match c.reason {
                CandidateReason::Expiring { .. } if refresh => &mut expiring,
                CandidateReason::MissingHot { .. } | CandidateReason::Predicted { .. }
                    if predictive =>
                {
                    &mut missing
                }
                _ => continue,
            };
            if auto && self.warm.auto.keys.blocked(c.key_hash, now) {
                held_back += 1;
                continue;
            }
            into[i].push((c.key_hash, name));
        }
        let mut plan = RoundPlan {
            at: now,
            refresh: expiring.iter().map(Vec::len).sum(),
            fill: missing.iter().map(Vec::len).sum(),
            held_back,
            rules_waiting: 0,
            auto,
        };
        if auto {
            let rounds = &mut self.warm.auto;
            rounds.queued.clear();
            for (rule, (exp, miss)) in expiring.into_iter().zip(missing).enumerate() {
                if exp.is_empty() && miss.is_empty() {
                    continue;
                }
                if rounds.rule_waits_until(rule, now).is_some() {
                    plan.rules_waiting += 1;
                    continue;
                }
                for (refresh, keys) in [(true, exp), (false, miss)] {
                    if !keys.is_empty() {
                        rounds.queued.push(AutoJob {
                            rule,
                            refresh,
                            keys,
                        });
                    }
                }
            }
        }
        self.warm.auto.plan = Some(plan);
    }

    /// Start the first queued job of each rule that has none running.
    fn start_queued(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.warm.auto.queued.len() {
            let rule = self.warm.auto.queued[i].rule;
            if self.warm.auto.running.values().any(|&r| r == rule) {
                i += 1;
                continue;
            }
            let job = self.warm.auto.queued.remove(i);
            let name = self
                .warm
                .rules
                .get(rule)
                .map_or_else(String::new, |r| r.name.clone());
            let what = if job.refresh { "refresh" } else { "fill" };
            let fx = self.start_job(format!("auto {what} {name}"), job.keys, job.refresh, now);
            if let Effect::Warm { job: id, .. } = &fx {
                self.warm.auto.running.insert(*id, rule);
            }
            out.push(fx);
        }
        out
    }
}
