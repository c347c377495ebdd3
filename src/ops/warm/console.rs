//! Warming from the console: the same executor as `heliostat warm`, driven
//! by the app loop's commands. Each job runs in its own task (keys grouped
//! by the first rule whose pattern matches them), reports cumulative
//! progress as `WarmProgress` samples, stops between batches when
//! cancelled, and is logged (and written to `warm_jobs` when a stats sink
//! is configured). Dry runs fill the confirm dialog; probes (`PTTL`) feed
//! the refresh and predictive rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustc_hash::FxHashMap;
use tokio::sync::mpsc;

use super::dry::dry_run;
use super::job::{Report, run};
use super::log::{WarmJobRecord, record_warm_job};
use super::pg::PgRows;
use super::rules::Rule;
use super::target::Target;
use super::write::Mode;
use crate::engines::warming::Tally;
use crate::redact::redact_url;
use crate::sample::{Body, KeyObs, Sample, SourceId, WarmDry, WarmProgress};
use crate::sources::Reporter;
use crate::sources::clock::wall_now;

/// Warm samples come as this source.
pub const WARM_SOURCE: SourceId = SourceId(u16::MAX - 3);

/// What the app loop asks of the warm service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarmCmd {
    /// Warm `keys` as job `job`.
    Warm {
        /// Job id on the app's board.
        job: u64,
        /// Key names.
        keys: Vec<String>,
        /// Refresh mode (overwrite existing strings only) for every rule.
        refresh: bool,
    },
    /// Run rule `rule`'s `hot_keys_query` and warm what it returns.
    Preload {
        /// Job id on the app's board.
        job: u64,
        /// Rule name.
        rule: String,
    },
    /// Stop job `job` at its next batch.
    Cancel(u64),
    /// Compute the confirm dialog's counts for `keys` (in their rule's
    /// mode) and `refresh` (in refresh mode).
    DryRun {
        /// The app's request number, echoed back.
        id: u64,
        /// Key names.
        keys: Vec<String>,
        /// Key names warmed in refresh mode.
        refresh: Vec<String>,
    },
    /// `PTTL` of each key (grouped by rule; keys of no rule are skipped).
    Probe(Vec<String>),
}

/// Where finished jobs are recorded, besides the log.
#[derive(Debug, Clone)]
pub struct JobLog {
    /// The stats sink's URL.
    pub url: String,
    /// Its schema.
    pub schema: String,
    /// This console's id.
    pub sink_id: String,
    /// The context name, if any.
    pub context: Option<String>,
}

/// Start the service; it stops when `cmds` closes.
pub fn spawn_warm_service(
    rules: Vec<Rule>,
    log: Option<JobLog>,
    cmds: mpsc::Receiver<WarmCmd>,
    tx: mpsc::Sender<Vec<Sample>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(serve(
        Arc::new(rules),
        log.map(Arc::new),
        cmds,
        Reporter::new(WARM_SOURCE, tx),
    ))
}

/// The first rule whose pattern matches `key`.
pub fn rule_for<'r>(rules: &'r [Rule], key: &str) -> Option<&'r Rule> {
    rules
        .iter()
        .find(|r| r.key.parse_key(key).is_some_and(|v| !v.is_empty()))
}

/// Keys grouped by rule (index into `rules`), and the keys no rule matches.
fn by_rule(rules: &[Rule], keys: Vec<String>) -> (Vec<(usize, Vec<String>)>, Vec<String>) {
    let mut groups: Vec<(usize, Vec<String>)> = Vec::new();
    let mut none = Vec::new();
    for k in keys {
        match rules
            .iter()
            .position(|r| r.key.parse_key(&k).is_some_and(|v| !v.is_empty()))
        {
            Some(i) => match groups.iter_mut().find(|(j, _)| *j == i) {
                Some((_, g)) => g.push(k),
                None => groups.push((i, vec![k])),
            },
            None => none.push(k),
        }
    }
    (groups, none)
}

/// A rule's hot keys: its `hot_keys_query` rendered through its pattern.
pub async fn hot_keys(rule: &Rule, rows: &PgRows) -> Result<Vec<String>, String> {
    let Some(q) = &rule.hot_keys_query else {
        return Err(format!(
            "rule `{}` has no hot_keys_query to preload from",
            rule.name
        ));
    };
    rows.keys(q, &rule.key)
        .await
        .map_err(|e| format!("rule `{}`: {e}", rule.name))
}

async fn serve(
    rules: Arc<Vec<Rule>>,
    log: Option<Arc<JobLog>>,
    mut cmds: mpsc::Receiver<WarmCmd>,
    tx: Reporter,
) {
    let mut cancels: FxHashMap<u64, Arc<AtomicBool>> = FxHashMap::default();
    // Probes reuse one target per rule (they come every refresh round).
    let mut probe_targets: FxHashMap<usize, Target> = FxHashMap::default();
    while let Some(cmd) = cmds.recv().await {
        cancels.retain(|_, c| Arc::strong_count(c) > 1);
        match cmd {
            WarmCmd::Warm { job, keys, refresh } => {
                let cancel = Arc::new(AtomicBool::new(false));
                cancels.insert(job, cancel.clone());
                let (tx, log) = (tx.clone(), log.clone());
                let rules = if refresh {
                    Arc::new(refreshing(&rules))
                } else {
                    rules.clone()
                };
                tokio::spawn(async move {
                    let label = format!("{} keys", keys.len());
                    run_job(&rules, job, Source::Keys(keys), &cancel, &tx, log, label).await;
                });
            }
            WarmCmd::Preload { job, rule } => {
                let cancel = Arc::new(AtomicBool::new(false));
                cancels.insert(job, cancel.clone());
                let (rules, tx, log) = (rules.clone(), tx.clone(), log.clone());
                tokio::spawn(async move {
                    let label = format!("preload `{rule}`");
                    run_job(&rules, job, Source::Preload(rule), &cancel, &tx, log, label).await;
                });
            }
            WarmCmd::Cancel(job) => {
                if let Some(c) = cancels.get(&job) {
                    c.store(true, Ordering::Relaxed);
                }
            }
            WarmCmd::DryRun { id, keys, refresh } => {
                let (rules, tx) = (rules.clone(), tx.clone());
                tokio::spawn(async move {
                    let d = dry(&rules, id, keys, refresh).await;
                    let _ = tx.one(Body::WarmDry(d)).await;
                });
            }
            WarmCmd::Probe(keys) => {
                let obs = probe(&rules, &mut probe_targets, keys).await;
                if !obs.is_empty() && !tx.one(Body::Keys(obs)).await {
                    return;
                }
            }
        }
    }
}

async fn probe(
    rules: &[Rule],
    targets: &mut FxHashMap<usize, Target>,
    keys: Vec<String>,
) -> Vec<KeyObs> {
    let (groups, _) = by_rule(rules, keys);
    let mut out = Vec::new();
    for (i, keys) in groups {
        let Some(rule) = rules.get(i) else { continue };
        let t = match targets.entry(i) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => match Target::open(&rule.redis).await {
                Ok(t) => v.insert(t),
                Err(e) => {
                    tracing::warn!(rule = %rule.name, error = %e, "warm probe: cannot reach the target");
                    continue;
                }
            },
        };
        match t.pttl(&keys).await {
            Ok(ttls) => out.extend(keys.into_iter().zip(ttls).map(|(key, ms)| KeyObs {
                key,
                node: WARM_SOURCE,
                ttl_ms: (ms != -2).then_some(ms),
                accesses: 0,
            })),
            Err(e) => {
                tracing::warn!(rule = %rule.name, error = %e, "warm probe failed");
                targets.remove(&i);
            }
        }
    }
    out
}

/// `rules` with every mode set to refresh (a background refresh).
fn refreshing(rules: &[Rule]) -> Vec<Rule> {
    let mut r = rules.to_vec();
    r.iter_mut().for_each(|r| r.mode = Mode::Refresh);
    r
}

async fn dry(rules: &[Rule], id: u64, keys: Vec<String>, refresh: Vec<String>) -> WarmDry {
    let refresh_rules = refreshing(rules);
    let mut lines = Vec::new();
    let mut none = Vec::new();
    let mut looked = false;
    let mut failed = false;
    let mut groups = Vec::new();
    for (rules, keys) in [(&refresh_rules[..], refresh), (rules, keys)] {
        let (g, n) = by_rule(rules, keys);
        none.extend(n);
        groups.extend(g.into_iter().map(|(i, keys)| (rules, i, keys)));
    }
    for (rules, i, keys) in groups {
        let Some(rule) = rules.get(i) else { continue };
        looked = true;
        let rate = rule
            .max_keys_per_s
            .map_or("no rate limit".to_string(), |n| format!("≤ {n} keys/s"));
        lines.push(format!(
            "rule `{}` ({} mode) → {} · {rate}",
            rule.name,
            format!("{:?}", rule.mode).to_lowercase(),
            redact_url(&rule.redis)
        ));
        let counted = async {
            // The dry run's answer is a line of text (`Body::WarmDry`).
            let mut rows = PgRows::connect(&rule.postgres)
                .await
                .map_err(|e| e.to_string())?;
            let mut target = Target::open(&rule.redis).await.map_err(|e| e.to_string())?;
            dry_run(rule, &keys, &mut rows, &mut target).await
        };
        match counted.await {
            Ok(d) => {
                let s = d.scaled();
                let how = if d.looked_at < d.keys {
                    format!(" (estimated from {} of them)", d.looked_at)
                } else {
                    String::new()
                };
                let mut line = format!(
                    "  {} keys{how}: {} new, {} overwritten, {} left alone, {} type conflict, {} no row",
                    s.keys, s.new, s.overwrite, s.skipped, s.type_conflict, s.no_row
                );
                // Rare kinds, said only when they occur.
                if s.null_value > 0 {
                    line.push_str(&format!(", {} null value", s.null_value));
                }
                if s.no_ttl > 0 {
                    line.push_str(&format!(", {} no usable TTL", s.no_ttl));
                }
                lines.push(line);
            }
            Err(e) => {
                failed = true;
                lines.push(format!("  cannot look: {e}"));
            }
        }
    }
    if rules.is_empty() {
        lines.push("no [[warm.rules]] in the config file: nothing can be warmed".to_string());
    }
    if !looked {
        failed = true;
        lines.push("no key matches a warm rule: nothing to look at".to_string());
    }
    WarmDry {
        id,
        lines,
        failed,
        unmatched: none.len() as u64,
        // The key goes back as data, never into a line: the app shows it
        // redacted where keys are.
        unmatched_example: none.into_iter().next(),
    }
}

enum Source {
    Keys(Vec<String>),
    Preload(String),
}

/// Run one job to its end and report it.
async fn run_job(
    rules: &[Rule],
    job: u64,
    source: Source,
    cancel: &Arc<AtomicBool>,
    tx: &Reporter,
    log: Option<Arc<JobLog>>,
    label: String,
) {
    let started = wall_now();
    let progress = |tally: Tally, total: Option<u64>, finished| WarmProgress {
        job,
        tally,
        finished,
        total,
        unwritten: Vec::new(),
    };
    let mut total = Report::default();
    let mut rule_names: Vec<String> = Vec::new();
    let result = async {
        let groups = match source {
            Source::Keys(keys) => {
                let (groups, none) = by_rule(rules, keys);
                total.no_rule = none.len() as u64;
                total.keys = none.len() as u64;
                groups
            }
            Source::Preload(name) => {
                let i = rules
                    .iter()
                    .position(|r| r.name == name)
                    .ok_or_else(|| format!("no warm rule named `{name}`"))?;
                let rule = &rules[i];
                let rows = PgRows::connect(&rule.postgres)
                    .await
                    .map_err(|e| format!("rule `{}`: {e}", rule.name))?;
                let keys = hot_keys(rule, &rows).await?;
                let n = keys.len() as u64;
                let _ = tx
                    .one(Body::WarmProgress(progress(
                        Tally::default(),
                        Some(n),
                        None,
                    )))
                    .await;
                vec![(i, keys)]
            }
        };
        for (i, keys) in groups {
            let Some(rule) = rules.get(i) else { continue };
            rule_names.push(rule.name.clone());
            let base = total.clone();
            let mut rows = PgRows::connect(&rule.postgres)
                .await
                .map_err(|e| format!("rule `{}`: database: {e}", rule.name))?;
            let mut target = Target::open(&rule.redis)
                .await
                .map_err(|e| format!("rule `{}`: Redis: {e}", rule.name))?;
            let r = run(rule, &keys, &mut rows, &mut target, cancel, |r| {
                let mut tally = base.tally();
                tally.add(&r.tally());
                let p = progress(tally, None, None);
                // Progress is cumulative: one dropped while the channel is full is harmless.
                let _ = tx.try_one(Body::WarmProgress(p));
            })
            .await;
            total.add(&r);
            if r.cancelled || r.paused.is_some() {
                break;
            }
        }
        Ok::<(), String>(())
    }
    .await;
    let outcome = match (&result, total.cancelled, &total.paused) {
        (Err(e), _, _) => Err(e.clone()),
        (Ok(()), true, _) => Err("cancelled".to_string()),
        // What ended the job first (a failure, a guard), then the rest.
        (Ok(()), false, _) if total.failed() => Err(total
            .reason()
            .unwrap_or_else(|| format!("{} keys failed", total.tally().errors()))),
        (Ok(()), false, _) => Ok(()),
    };
    let tally = total.tally();
    tracing::info!(job, %label, rules = ?rule_names, keys = total.keys, written = tally.written,
        errors = tally.errors(), outcome = ?outcome, "warm job ended: {}", tally.describe());
    let mut end = progress(tally, None, Some(outcome.clone()));
    end.unwritten = total.unwritten_keys().collect();
    let _ = tx.one(Body::WarmProgress(end)).await;
    if let Some(log) = log {
        // Decided by what happened, not by the reason's words.
        let ended = match &outcome {
            Ok(()) => "done",
            Err(_) if result.is_ok() && total.cancelled => "cancelled",
            Err(_) => "failed",
        };
        let rec = WarmJobRecord {
            sink_id: log.sink_id.clone(),
            job,
            context: log.context.clone(),
            rule: if rule_names.is_empty() {
                label
            } else {
                rule_names.join(",")
            },
            started_ms: started.as_millis(),
            report: total,
            outcome: ended.to_string(),
            reason: outcome.err(),
        };
        if let Err(e) = record_warm_job(&log.url, &log.schema, &rec).await {
            tracing::warn!(job, error = %e, "could not record the warm job in warm_jobs");
        }
    }
}
