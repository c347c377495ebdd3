//! The warm executor: keys → the rule's query, batch by batch → values
//! written to Redis in the rule's mode, at the rule's rate, with guards
//! that pause when the target is in trouble, and cancellation between
//! batches. The database side is a [`Rows`] implementation; the Redis side
//! a connection to the target.
//!
//! Without a rate limit the database and Redis work at the same time: while
//! batch n is written (and the guards' `INFO` read after it), batch n + 1
//! is already being selected. Batch n + 1 is written only once batch n's
//! outcome and the guards allow it, so a cancel or a guard still stops
//! within one batch. Keys may arrive while the job runs ([`run_feed`]):
//! a preload starts writing before its hot-keys query has finished.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::time::Instant;

use rustc_hash::FxHashMap;

use super::latency::LatencyGuard;
use super::rules::{Rule, Ttl};
use super::target::Target;
use super::write::{Item, Outcome};
use crate::sources::redis::info::Info;
use crate::sources::redis::sampler::Pacer;

/// One result row of a rule's query: its columns as text, and the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// Columns by name (the pattern's placeholders, a TTL column). A list,
    /// not a map: rows have a few columns, and their names are shared
    /// between the rows of a result.
    pub columns: Vec<(Arc<str>, String)>,
    /// The `value` column.
    pub value: Vec<u8>,
}

impl Row {
    /// A column's text, if the row has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where a rule's rows come from (Postgres in the console).
pub trait Rows {
    /// Run the rule's query with `$1` = `values`.
    fn fetch(
        &mut self,
        rule: &Rule,
        values: &[String],
    ) -> impl std::future::Future<Output = Result<Vec<Row>, String>>;
}

/// How a job ended, or stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Keys asked for.
    pub keys: u64,
    /// What the writes did.
    pub written: Outcome,
    /// Keys the rule's pattern does not match.
    pub no_rule: u64,
    /// Keys whose row the query did not return.
    pub no_row: u64,
    /// Batches whose query failed (their keys are not written).
    pub query_errors: u64,
    /// Batches lost to a Redis failure (connection, timeout).
    pub redis_errors: u64,
    /// The first failure's reason.
    pub first_error: Option<String>,
    /// Stopped by a cancel (between batches).
    pub cancelled: bool,
    /// Stopped by a guard, and why.
    pub paused: Option<String>,
}

impl Report {
    /// Keys dealt with so far (written or not).
    pub fn done(&self) -> u64 {
        self.written.total() + self.no_rule + self.no_row
    }

    /// Whether anything failed.
    pub fn failed(&self) -> bool {
        self.query_errors > 0
            || self.redis_errors > 0
            || self.written.errors > 0
            || self.paused.is_some()
    }

    /// Add another job's report (a job over several rules): counts add up,
    /// the first error and the first pause are kept.
    pub fn add(&mut self, r: &Report) {
        self.keys += r.keys;
        self.written.add(&r.written);
        self.no_rule += r.no_rule;
        self.no_row += r.no_row;
        self.query_errors += r.query_errors;
        self.redis_errors += r.redis_errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&r.first_error);
        }
        self.cancelled |= r.cancelled;
        if self.paused.is_none() {
            self.paused.clone_from(&r.paused);
        }
    }

    fn error(&mut self, e: String) {
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }
}

/// Why the target is not fit to take writes now, if it is not: keys being
/// evicted since `before`, or memory above 90 % of `maxmemory`.
pub fn guard(before: Option<&Info>, now: &Info) -> Option<String> {
    if let Some(b) = before
        && now.evicted_keys > b.evicted_keys
        && now.run_id == b.run_id
    {
        return Some(format!(
            "the target is evicting keys ({} since the last batch)",
            now.evicted_keys - b.evicted_keys
        ));
    }
    if now.maxmemory > 0 && now.used_memory * 10 > now.maxmemory * 9 {
        return Some(format!(
            "the target's memory is above 90 % of maxmemory ({} of {} bytes)",
            now.used_memory, now.maxmemory
        ));
    }
    None
}

/// Which guard trips on `now` (per node), compared with `before`.
fn tripped(before: Option<&[(String, Info)]>, now: &[(String, Info)]) -> Option<String> {
    now.iter().find_map(|(addr, info)| {
        let prev = before
            .and_then(|l| l.iter().find(|(a, _)| a == addr))
            .map(|(_, i)| i);
        guard(prev, info).map(|w| {
            if addr.is_empty() {
                w
            } else {
                format!("{addr}: {w}")
            }
        })
    })
}

/// Keys arriving while a job runs, in chunks (a hot-keys query read as it
/// streams, so the first batches are written before the last keys are
/// known). The senders dropping ends them; an `Err` is a failed key query.
pub type KeyFeed = tokio::sync::mpsc::UnboundedReceiver<Result<Vec<String>, String>>;

/// A batch: keys the rule matches, and the value the query is asked for
/// per key (the pattern's first column), side by side.
struct Batch {
    keys: Vec<String>,
    values: Vec<String>,
}

/// Keys received and not yet in a batch.
struct Feed {
    rx: KeyFeed,
    pending: VecDeque<(String, String)>,
    ended: bool,
}

impl Feed {
    /// The next batch of up to `size` keys, waiting for more keys while
    /// fewer are at hand; `None` when none are left. Keys received are
    /// counted in `report` (and those the rule does not match, and a failed
    /// key query: the keys received before it are still warmed).
    async fn next(&mut self, rule: &Rule, size: usize, report: &mut Report) -> Option<Batch> {
        while self.pending.len() < size && !self.ended {
            match self.rx.recv().await {
                Some(Ok(chunk)) => {
                    report.keys += chunk.len() as u64;
                    for k in chunk {
                        match rule.key.first_value(&k).map(str::to_string) {
                            Some(v) => self.pending.push_back((k, v)),
                            None => report.no_rule += 1,
                        }
                    }
                }
                Some(Err(e)) => {
                    report.query_errors += 1;
                    report.error(e);
                    self.ended = true;
                }
                None => self.ended = true,
            }
        }
        if self.pending.is_empty() {
            return None;
        }
        let n = size.min(self.pending.len());
        let (keys, values) = self.pending.drain(..n).unzip();
        Some(Batch { keys, values })
    }
}

/// Run `rule` for `keys`, reporting after every batch through `progress`.
pub async fn run<R: Rows>(
    rule: &Rule,
    keys: &[String],
    rows: &mut R,
    redis: &mut Target,
    cancel: &Arc<AtomicBool>,
    progress: impl FnMut(&Report),
) -> Report {
    let (tx, feed) = tokio::sync::mpsc::unbounded_channel();
    // The receiver is right here: the send cannot fail.
    let _ = tx.send(Ok(keys.to_vec()));
    drop(tx);
    run_feed(rule, feed, rows, redis, cancel, progress).await
}

/// [`run`] for keys that arrive while the job runs.
pub async fn run_feed<R: Rows>(
    rule: &Rule,
    feed: KeyFeed,
    rows: &mut R,
    redis: &mut Target,
    cancel: &Arc<AtomicBool>,
    mut progress: impl FnMut(&Report),
) -> Report {
    let mut report = Report::default();
    let size = rule.batch.max(1);
    let mut feed = Feed {
        rx: feed,
        pending: VecDeque::new(),
        ended: false,
    };
    let mut pacer = rule
        .max_keys_per_s
        .map(|n| Pacer::new(u32::try_from(n).unwrap_or(u32::MAX), Instant::now()));
    let Some(first) = feed.next(rule, size, &mut report).await else {
        return finish(report, progress);
    };
    // The guards look before the first batch, then after each write.
    let mut last_info = match redis.info().await {
        Ok(infos) => infos,
        Err(e) => {
            report.redis_errors += 1;
            report.error(format!("redis: {e}"));
            return finish(report, progress);
        }
    };
    if let Some(why) = tripped(None, &last_info) {
        report.paused = Some(why);
        return finish(report, progress);
    }
    // The round trip before any write is the latency guard's baseline.
    let mut latency = {
        let mut best = None;
        for _ in 0..3 {
            if let Ok(rtt) = redis.ping().await {
                best = Some(best.map_or(rtt, |b: std::time::Duration| b.min(rtt)));
            }
        }
        best.map(LatencyGuard::new)
    };
    // Without a rate limit the next batch is selected while one is written;
    // a paced job reads each batch just before writing it, so a row is not
    // held back for a whole pacing interval.
    let prefetch = pacer.is_none();
    let mut fetched = None;
    let mut current = Some(first);
    while let Some(batch) = current.take() {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            break;
        }
        if let Some(p) = &pacer {
            tokio::time::sleep_until(p.ready_at()).await;
        }
        let started = Instant::now();
        let found = match fetched.take() {
            Some(f) => f,
            None => rows.fetch(rule, &batch.values).await,
        };
        let items = match found {
            Ok(found) => Some(prepare(rule, &batch.keys, found, &mut report)),
            Err(e) => {
                report.query_errors += 1;
                report.error(format!("query: {e}"));
                None
            }
        };
        // This batch's write (then the guards' look at the target), and the
        // next batch's keys and (without a rate limit) its query, at the
        // same time.
        let write = async {
            let items = items?;
            Some(match redis.write_then_info(rule.mode, items).await {
                Ok((o, infos)) => (Ok(o), Some(infos)),
                Err(e) => (Err(e), None),
            })
        };
        let read = async {
            let next = feed.next(rule, size, &mut report).await;
            let found = match &next {
                Some(b) if prefetch => Some(rows.fetch(rule, &b.values).await),
                _ => None,
            };
            (next, found)
        };
        let (wrote, (next, found)) = tokio::join!(write, read);
        current = next;
        fetched = found;
        let Some((written, info)) = wrote else {
            // The query failed: nothing to write, nothing new to look at.
            progress(&report);
            continue;
        };
        match written {
            Ok(o) => report.written.add(&o),
            Err(e) => {
                report.redis_errors += 1;
                report.error(format!("redis: {e}"));
                break;
            }
        }
        if let Some(p) = &mut pacer {
            p.charge(started, batch.keys.len() as u64);
        }
        progress(&report);
        // The guards matter only when another batch follows.
        if let Some(infos) = info.filter(|_| current.is_some()) {
            if let Some(why) = tripped(Some(&last_info), &infos) {
                report.paused = Some(why);
                break;
            }
            last_info = infos;
            if let Some(g) = &mut latency
                && let Ok(rtt) = redis.ping().await
                && let Some(why) = g.observe(rtt)
            {
                report.paused = Some(why);
                break;
            }
        }
    }
    finish(report, progress)
}

fn finish(mut report: Report, mut progress: impl FnMut(&Report)) -> Report {
    if let Some(e) = report.written.first_error.clone() {
        report.error(format!("redis: {e}"));
    }
    progress(&report);
    report
}

/// A batch's rows → the items to write: only keys this batch asked for,
/// made by the rule's own pattern, each once; the rest counted.
fn prepare(rule: &Rule, asked: &[String], rows: Vec<Row>, report: &mut Report) -> Vec<Item> {
    let index: FxHashMap<&str, usize> = asked
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut seen = vec![false; asked.len()];
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(key) = rule.key.render(|c| row.get(c)) else {
            let first = rule.key.columns().next().unwrap_or("id");
            report.error(format!(
                "query: a row lacks the pattern's columns (needs {first})"
            ));
            continue;
        };
        let Some(&i) = index.get(key.as_str()) else {
            continue;
        };
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        let base = match &rule.ttl {
            Ttl::Fixed(s) => Some(*s),
            Ttl::Column(c) => row.get(c).and_then(|v| v.trim().parse().ok()),
        };
        let Some(base) = base.filter(|&s| s > 0) else {
            report.no_row += 1;
            report.error(format!("row for {key}: no usable TTL"));
            continue;
        };
        let ttl_ms = rule.ttl_ms(&key, base);
        items.push(Item {
            key,
            value: row.value,
            ttl_ms,
        });
    }
    report.no_row += seen.iter().filter(|s| !**s).count() as u64;
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_trip_on_evictions_and_full_memory() {
        let base = Info {
            maxmemory: 1000,
            used_memory: 500,
            ..Info::default()
        };
        assert_eq!(guard(None, &base), None);
        let evicting = Info {
            evicted_keys: 3,
            ..base.clone()
        };
        assert!(guard(Some(&base), &evicting).unwrap().contains("evicting"));
        let full = Info {
            used_memory: 950,
            ..base.clone()
        };
        assert!(guard(Some(&base), &full).unwrap().contains("90 %"));
        let unlimited = Info {
            maxmemory: 0,
            used_memory: u64::MAX / 20,
            ..base
        };
        assert_eq!(
            guard(None, &unlimited),
            None,
            "no maxmemory, no memory guard"
        );
    }
}
