//! Warming from the console: the confirm dialog (a dry run from the servers
//! when live), starting jobs and preloads on "y", and their progress and
//! results. The automatic rounds are in `warm_round.rs`.

use rustc_hash::{FxHashMap, FxHashSet};

use super::actions::Effect;
use super::state::State;
use super::ui_state::{Confirm, Mode, Pending};
use super::warm_round::AutoRounds;
use crate::action::Pane;
use crate::engines::Timestamp;
use crate::engines::warming::CandidateReason;
use crate::ops::warm::console::{WarmCmd, rule_for};
use crate::ops::warm::rules::Rule;
use crate::sample::{WarmDry, WarmProgress};

/// Keys a confirm dialog names, at most (then "and N more").
const KEYS_NAMED: usize = 3;

impl Effect {
    /// The live warm service's command for a warming effect; `None` for the
    /// other effects.
    pub fn warm_cmd(self) -> Option<WarmCmd> {
        Some(match self {
            Effect::Warm { job, keys, refresh } => WarmCmd::Warm { job, keys, refresh },
            Effect::CancelWarm(job) => WarmCmd::Cancel(job),
            Effect::Preload { job, rule } => WarmCmd::Preload { job, rule },
            Effect::DryRun { id, keys, refresh } => WarmCmd::DryRun { id, keys, refresh },
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
    /// The start-up preloads were asked for (automatic warming only).
    pub(crate) preloaded: bool,
    /// The automatic rounds: their plan, jobs, backoff.
    pub auto: AutoRounds,
    /// Key hash → when the job that wrote it ran (start, end). The key
    /// sampler's idle time cannot tell the console's own `SET` from a real
    /// access; a touch inside that window is taken as the write, so a
    /// refresh never counts as use (or the refresh cap would never apply).
    pub(crate) written: FxHashMap<u64, (Timestamp, Timestamp)>,
    /// When `written` was last pruned (a scan at most once a second, not
    /// on every sampler batch).
    pruned_at: Option<Timestamp>,
}

/// Keys whose warming window is remembered (their writes are not use).
pub const WRITTEN_KEPT: usize = 200_000;

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

/// "keys: a, b, c and 27 more", each shown as the screen shows keys
/// (only up to its prefix where keys are redacted).
pub(crate) fn keys_line(names: &[&str], redact: bool, delim: &str) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(KEYS_NAMED)
        .map(|k| crate::engines::keyspace::redacted(k, redact, delim))
        .collect();
    let more = names.len().saturating_sub(KEYS_NAMED);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("keys: {}{tail}", shown.join(", "))
}

impl State {
    /// Whether warming acts on real servers (not the demo's simulation).
    pub(crate) fn live_warming(&self) -> bool {
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
            format!(
                "read-only: warming writes to Redis; {}",
                why.strip_prefix("read-only: ").unwrap_or(&why)
            ),
            true,
            now,
        );
        true
    }

    fn key_shown(&self, key: &str) -> String {
        crate::engines::keyspace::redacted(
            key,
            self.session.redact_keys,
            &self.session.key_delimiter,
        )
    }

    /// `w` / `W`: the confirm dialog for the marked, selected or all
    /// candidates, naming the keys. Keys about to expire are refreshed
    /// (refresh mode), the others warmed in their rule's mode, as the
    /// automatic round would. Live, keys no rule matches are left out (and
    /// said so), and the counts come from a dry run on the servers: "y"
    /// waits for it, and is not offered when it failed.
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
        let named: Vec<(u64, String, bool)> = picked
            .iter()
            .filter_map(|c| {
                let expiring = matches!(c.reason, CandidateReason::Expiring { .. });
                c.name.clone().map(|n| (c.key_hash, n, expiring))
            })
            .collect();
        if named.is_empty() {
            self.ui.set_status(
                "nothing to warm: the queue is empty or the keys have no names",
                true,
                now,
            );
            return Vec::new();
        }
        let live = self.live_warming();
        let (matched, unmatched): (Vec<_>, Vec<_>) = named
            .into_iter()
            .partition(|(_, n, _)| !live || rule_for(&self.warm.rules, n).is_some());
        let skipped = unmatched.first().map(|(_, example, _)| {
            format!(
                "{} keys match no warm rule and are skipped (e.g. {})",
                unmatched.len(),
                self.key_shown(example)
            )
        });
        if matched.is_empty() {
            let rules: Vec<String> = self
                .warm
                .rules
                .iter()
                .map(|r| format!("`{}` ({})", r.name, r.key))
                .collect();
            let lines = vec![
                skipped.unwrap_or_default(),
                format!("warm rules: {}", rules.join(", ")),
                "nothing to warm: n or Esc to close".to_string(),
            ];
            self.open_confirm("Nothing to warm".to_string(), lines, Pending::Nothing);
            return Vec::new();
        }
        let names: Vec<&str> = matched.iter().map(|(_, n, _)| n.as_str()).collect();
        let mut lines = vec![keys_line(
            &names,
            self.session.redact_keys,
            &self.session.key_delimiter,
        )];
        lines.extend(skipped);
        let label = if all {
            "whole queue".to_string()
        } else {
            format!("{} selected", matched.len())
        };
        let title = format!("Warm {} keys?", matched.len());
        // The demo's simulated cache has one way to warm: one job.
        let (refresh, keys): (Vec<_>, Vec<_>) =
            matched.into_iter().partition(|(_, _, e)| live && *e);
        let strip = |v: Vec<(u64, String, bool)>| -> Vec<(u64, String)> {
            v.into_iter().map(|(h, n, _)| (h, n)).collect()
        };
        let (refresh, keys) = (strip(refresh), strip(keys));
        if live {
            self.warm.dry_seq += 1;
            let id = self.warm.dry_seq;
            let names = |v: &[(u64, String)]| v.iter().map(|(_, n)| n.clone()).collect();
            let effect = Effect::DryRun {
                id,
                keys: names(&keys),
                refresh: names(&refresh),
            };
            lines.push("dry run: asking the database and Redis what would happen…".to_string());
            lines.push("y once the dry run answers, n or Esc to cancel".to_string());
            self.open_confirm(
                title,
                lines,
                Pending::Warm {
                    label,
                    keys,
                    refresh,
                },
            );
            self.warm.dry_pending = Some(id);
            return vec![effect];
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
        lines.extend([
            "target: the demo's simulated cache".to_string(),
            format!(
                "{missing} missing (would be new), {expiring} expiring (refreshed), {predicted} predicted or preload"
            ),
            format!(
                "batches of {} keys, pipelined",
                self.warming.config().batch_size
            ),
            "y to warm, n or Esc to cancel".to_string(),
        ]);
        let pending = Pending::Warm {
            label,
            keys,
            refresh,
        };
        self.open_confirm(title, lines, pending);
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
        // A dry run still on its way belongs to a dialog no longer open.
        self.warm.dry_pending = None;
        self.ui.confirm = Some(Confirm {
            title,
            lines,
            action,
        });
        self.ui.mode = Mode::Confirm;
    }

    /// "y" in the dialog: start the job (not before the dry run answered).
    pub(crate) fn confirm(&mut self, now: Timestamp) -> Vec<Effect> {
        if self.warm.dry_pending.is_some() && self.ui.confirm.is_some() {
            self.ui.set_status(
                "waiting for the dry run: y once it answers (n or Esc cancels)",
                false,
                now,
            );
            return Vec::new();
        }
        let Some(c) = self.ui.confirm.take() else {
            return Vec::new();
        };
        self.ui.mode = Mode::Normal;
        self.warm.dry_pending = None;
        match c.action {
            Pending::Warm {
                label,
                keys,
                refresh,
            } => {
                self.ui.marked.clear();
                let mut out = Vec::new();
                if !keys.is_empty() {
                    out.push(self.start_job(label.clone(), keys, false, now));
                }
                if !refresh.is_empty() {
                    out.push(self.start_job(format!("{label} (refresh)"), refresh, true, now));
                }
                out
            }
            Pending::Preload { rule } => {
                vec![self.start_preload(format!("preload {rule}"), rule, now)]
            }
            Pending::Session(op) => self.session_confirmed(op, now),
            Pending::Nothing => Vec::new(),
        }
    }

    pub(crate) fn start_preload(&mut self, label: String, rule: String, now: Timestamp) -> Effect {
        let id = self.jobs.submit_open(label.clone(), now);
        let _ = self.jobs.start(id, now);
        self.ui
            .set_status(format!("warm job {id} started: {label}"), false, now);
        Effect::Preload { job: id, rule }
    }

    pub(crate) fn start_job(
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

    /// A dry run arrived: it replaces the dialog's placeholder lines. A
    /// failed one keeps its reasons and offers no "y".
    pub(crate) fn warm_dry(&mut self, d: &WarmDry) {
        if self.warm.dry_pending != Some(d.id) {
            return;
        }
        self.warm.dry_pending = None;
        let example = d.unmatched_example.as_deref().map(|k| self.key_shown(k));
        let Some(c) = self.ui.confirm.as_mut() else {
            return;
        };
        // The keys (and skipped) lines stay; the placeholder goes.
        c.lines
            .retain(|l| l.starts_with("keys: ") || l.contains("match no warm rule"));
        c.lines.extend(d.lines.iter().cloned());
        if d.unmatched > 0 {
            let example = example.map_or_else(String::new, |k| format!(" (e.g. {k})"));
            c.lines.push(format!(
                "{} keys match no warm rule and are skipped{example}",
                d.unmatched
            ));
        }
        if d.failed {
            c.lines
                .push("the dry run failed (above), so y is not offered: n or Esc to close".into());
            c.action = Pending::Nothing;
        } else {
            c.lines.push("y to warm, n or Esc to cancel".to_string());
        }
    }

    pub(crate) fn warm_progress(&mut self, p: &WarmProgress, at: Timestamp) {
        if let Some(total) = p.total {
            let _ = self.jobs.set_total(p.job, total);
        }
        if self.jobs.get(p.job).is_none() {
            return;
        }
        let _ = self.jobs.report(p.job, p.tally, at);
        let Some(finished) = &p.finished else {
            return;
        };
        // Whatever it wrote (all of it, or part before a cancel or a
        // failure) was written while it ran.
        let from = self
            .jobs
            .get(p.job)
            .and_then(|j| j.started_at)
            .unwrap_or(at);
        let keys = self.job_keys.remove(&p.job).unwrap_or_default();
        for &h in &keys {
            self.warm.written.insert(h, (from, at));
        }
        // The oldest windows go first past the cap (a million-key preload
        // must not keep a million windows).
        crate::engines::bounded::trim(&mut self.warm.written, WRITTEN_KEPT, |_, &(_, to)| {
            Some(to.as_millis())
        });
        let unwritten: FxHashSet<u64> = p.unwritten.iter().copied().collect();
        let counts = p.tally.describe();
        let failed = match finished {
            Ok(()) => {
                let _ = self.jobs.finish(p.job, at);
                for &h in keys.iter().filter(|h| !unwritten.contains(h)) {
                    self.warming.note_refreshed(h, at);
                }
                let msg = format!("warm job {} done: {counts}", p.job);
                self.ui.set_status(msg, p.tally.errors() > 0, at);
                false
            }
            Err(reason) if reason == "cancelled" => {
                let _ = self.jobs.mark_cancelled(p.job, at);
                self.ui
                    .set_status(format!("warm job {} cancelled: {counts}", p.job), false, at);
                false
            }
            Err(reason) => {
                let _ = self.jobs.fail(p.job, reason.clone(), at);
                self.ui.set_status(
                    format!("warm job {} failed: {reason} ({counts})", p.job),
                    true,
                    at,
                );
                true
            }
        };
        let ok = finished.is_ok();
        self.warm.auto.job_ended(p.job, failed, ok, keys, unwritten);
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_million_written_keys_keep_the_newest_windows_under_the_cap() {
        let mut b = WarmBoard::default();
        for i in 0..1_000_000u64 {
            let t = Timestamp::from_millis(i as i64);
            b.written.insert(i, (t, t));
            crate::engines::bounded::trim(&mut b.written, WRITTEN_KEPT, |_, &(_, to)| {
                Some(to.as_millis())
            });
        }
        assert!(b.written.len() <= WRITTEN_KEPT);
        assert!(b.written.contains_key(&999_999), "the newest stays");
        assert!(!b.written.contains_key(&0), "the oldest went");
    }

    use super::*;
    use crate::action::Action;
    use crate::app::state::SessionInfo;
    use crate::ops::warm::rules::RuleSpec;
    use crate::sample::{Body, KeyAccess, Sample, SourceId};

    const T0: Timestamp = Timestamp::from_secs(1_736_150_400);

    fn live() -> State {
        let session = SessionInfo {
            writes_allowed: true,
            ..SessionInfo::default()
        };
        let mut st = State::new(session, 1000);
        let spec = RuleSpec {
            name: "users".into(),
            key: "user:${id}".into(),
            redis: "redis://cache-1:6379".into(),
            postgres: "postgres://app@db/app".into(),
            query: "SELECT id::text AS id, v AS value FROM t WHERE id = ANY($1::text[]::int[])"
                .into(),
            hot_keys_query: Some("SELECT id::text AS id FROM t".into()),
            ttl: Some(600),
            ttl_column: None,
            ttl_jitter: None,
            mode: crate::ops::warm::write::Mode::Fill,
            max_keys_per_s: None,
            batch: None,
            contexts: Vec::new(),
        };
        st.warm.rules = vec![Rule::from_spec(spec).expect("rule")];
        let keys = (1..=4)
            .map(|i| KeyAccess {
                key: format!("user:{i}"),
                count: 20,
                hits: 0,
                misses: 20,
            })
            .collect();
        st.apply(&Sample {
            source: SourceId(0),
            generation: 0,
            at: T0,
            body: Body::KeyAccesses(keys),
        });
        st.tick(T0);
        st.handle(Action::Focus(Pane::Warming), T0);
        st
    }

    #[test]
    fn y_waits_for_the_dry_run_and_a_dialog_closed_before_it_answered_holds_nothing_back() {
        let mut st = live();
        let fx = st.handle(Action::WarmAll, T0);
        let [Effect::DryRun { id, keys, .. }] = fx.as_slice() else {
            panic!("{fx:?}");
        };
        let id = *id;
        assert_eq!(keys.len(), 4);
        let lines = st.ui.confirm.as_ref().map(|c| c.lines.join("\n"));
        assert!(
            lines
                .as_deref()
                .is_some_and(|l| l.starts_with("keys: user:") && l.contains("and 1 more")),
            "{lines:?}"
        );
        assert!(
            st.handle(Action::Confirm, T0).is_empty(),
            "not before the dry run"
        );
        assert!(st.ui.confirm.is_some());
        st.handle(Action::Deny, T0);
        // The late answer fills no other dialog, and R's "y" is not held.
        st.handle(Action::Preload, T0);
        st.warm_dry(&WarmDry {
            id,
            lines: vec!["  4 keys: 4 new".into()],
            failed: false,
            unmatched: 0,
            unmatched_example: None,
        });
        let lines = st.ui.confirm.as_ref().map(|c| c.lines.join("\n"));
        assert!(
            lines.as_deref().is_some_and(|l| !l.contains("4 new")),
            "{lines:?}"
        );
        let fx = st.handle(Action::Confirm, T0);
        assert!(matches!(fx.as_slice(), [Effect::Preload { .. }]), "{fx:?}");
    }
}
