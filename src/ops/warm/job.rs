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
//!
//! A job ends early, with the reason, when going on could only fail the
//! same way: Redis is gone, Redis refused every key of a batch for a
//! reason that is not the key's (`READONLY`, `NOPERM`, …), or the query
//! lacks a column the rule needs. A cancel is honoured between batches and
//! during the rate limit's wait.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::xxh3_128;

use super::latency::LatencyGuard;
use super::report::note_unwritten;
pub use super::report::{Failed, Failure, Report};
use super::rules::{MAX_TTL_S, Rule, Ttl};
use super::target::Target;
use super::write::Item;
use crate::engines::intern::key_hash;
use crate::sources::redis::info::Info;
use crate::sources::redis::sampler::Pacer;

/// How often a wait looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// One result row of a rule's query: its columns as text, and the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// Columns by name (the pattern's placeholders, a TTL column). A list,
    /// not a map: rows have a few columns, and their names are shared
    /// between the rows of a result.
    pub columns: Vec<(Arc<str>, String)>,
    /// The `value` column; `None` when NULL (nothing to cache: never
    /// written, not even as an empty string).
    pub value: Option<Vec<u8>>,
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

/// Why a batch's rows could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// This batch's query failed (a timeout, a lost connection): the next
    /// batch may fare better.
    #[error("{0}")]
    Batch(String),
    /// The query cannot serve the rule for any batch (its result lacks a
    /// column the rule needs): the job ends.
    #[error("{0}")]
    Rule(String),
}

impl From<String> for FetchError {
    fn from(e: String) -> Self {
        FetchError::Batch(e)
    }
}

/// Where a rule's rows come from (Postgres in the console).
pub trait Rows {
    /// Run the rule's query with `$1` = `values`.
    fn fetch(
        &mut self,
        rule: &Rule,
        values: &[String],
    ) -> impl std::future::Future<Output = Result<Vec<Row>, FetchError>>;
}

/// Why a row that answers a key is not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Its `value` is NULL.
    NullValue,
    /// It has no usable TTL.
    NoTtl,
}

/// What `row` (the row of `key`) would write: its value and TTL in ms
/// (the rule's jitter applied), or why not. The job and the dry run both
/// decide by this.
pub fn usable<'r>(rule: &Rule, key: &str, row: &'r Row) -> Result<(&'r [u8], u64), Unusable> {
    let value = row.value.as_deref().ok_or(Unusable::NullValue)?;
    let base = rule.base_ttl_ms(|c| row.get(c)).ok_or(Unusable::NoTtl)?;
    Ok((value, rule.jittered_ms(key, base)))
}

/// The reason given for rows without a usable TTL.
fn no_ttl_reason(rule: &Rule) -> String {
    let years = MAX_TTL_S / (365 * 86_400);
    match &rule.ttl {
        Ttl::Column(c) => format!(
            "rule `{}`: no usable TTL in column `{c}` (NULL, not a number, not above 0, or over {years} years)",
            rule.name
        ),
        Ttl::Fixed(s) => format!(
            "rule `{}`: ttl {s} is not between 1 s and {years} years",
            rule.name
        ),
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
    /// Every key received (its 128-bit digest: no copy of the key, and
    /// no collision in practice), so a key given twice is dealt with once.
    seen: FxHashSet<u128>,
    ended: bool,
}

impl Feed {
    fn new(rx: KeyFeed) -> Feed {
        Feed {
            rx,
            pending: VecDeque::new(),
            seen: FxHashSet::default(),
            ended: false,
        }
    }

    /// The next batch of up to `size` keys, waiting for more keys while
    /// fewer are at hand; `None` when none are left. Keys received are
    /// counted in `report`, each once, in the order they came (and those
    /// the rule does not match, and a failed key query: the keys received
    /// before it are still warmed).
    async fn next(&mut self, rule: &Rule, size: usize, report: &mut Report) -> Option<Batch> {
        while self.pending.len() < size && !self.ended {
            match self.rx.recv().await {
                Some(Ok(chunk)) => {
                    for k in chunk {
                        if !self.seen.insert(xxh3_128(k.as_bytes())) {
                            continue;
                        }
                        report.keys += 1;
                        match rule.key.first_value(&k).map(str::to_string) {
                            Some(v) => self.pending.push_back((k, v)),
                            None => report.no_rule += 1,
                        }
                    }
                }
                Some(Err(e)) => {
                    report.query_errors += 1;
                    report.fail(Failure::KeyQuery, 1, false, || {
                        format!("rule `{}`: {e}", rule.name)
                    });
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

/// Sleep until `at`; `true` (at once) when `cancel` is set meanwhile.
async fn wait_until(at: Instant, cancel: &AtomicBool) -> bool {
    let cancelled = async {
        while !cancel.load(Ordering::Relaxed) {
            tokio::time::sleep(CANCEL_POLL).await;
        }
    };
    tokio::select! {
        () = tokio::time::sleep_until(at) => cancel.load(Ordering::Relaxed),
        () = cancelled => true,
    }
}

/// `msg` without the batch's keys, nor its values where quoted (a
/// Postgres error quotes the input it could not read): messages do not
/// hold key names.
fn scrub(msg: &str, batch: &Batch) -> String {
    let mut out = msg.to_string();
    for k in batch.keys.iter().filter(|k| !k.is_empty()) {
        if out.contains(k.as_str()) {
            out = out.replace(k.as_str(), "…");
        }
    }
    for v in &batch.values {
        let quoted = format!("\"{v}\"");
        if out.contains(&quoted) {
            out = out.replace(&quoted, "\"…\"");
        }
    }
    out
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
    // Never more than a second's allowance: the first batch goes at once.
    let size = rule.batch_size();
    let mut feed = Feed::new(feed);
    let mut pacer = rule
        .max_keys_per_s
        .map(|n| Pacer::new(u32::try_from(n).unwrap_or(u32::MAX), Instant::now()));
    let Some(first) = feed.next(rule, size, &mut report).await else {
        return finish(report, progress);
    };
    let redis_failed = |report: &mut Report, e: &dyn std::fmt::Display, batch: Option<&Batch>| {
        report.redis_errors += 1;
        report.fail(Failure::Redis, 1, true, || {
            let e = match batch {
                Some(b) => scrub(&e.to_string(), b),
                None => e.to_string(),
            };
            format!("rule `{}`: redis: {e}", rule.name)
        });
    };
    // The guards look before the first batch, then after each write.
    let mut last_info = match redis.info().await {
        Ok(infos) => infos,
        Err(e) => {
            redis_failed(&mut report, &e, None);
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
        if let Some(p) = &pacer
            && wait_until(p.ready_at(), cancel).await
        {
            report.cancelled = true;
            break;
        }
        let started = Instant::now();
        let found = match fetched.take() {
            Some(f) => f,
            None => rows.fetch(rule, &batch.values).await,
        };
        let items = match found {
            Ok(found) => Some(prepare(rule, &batch.keys, found, &mut report)),
            Err(FetchError::Batch(e)) => {
                report.query_errors += 1;
                report.fail(Failure::Query, 1, false, || {
                    format!("rule `{}`: query: {}", rule.name, scrub(&e, &batch))
                });
                None
            }
            Err(FetchError::Rule(e)) => {
                // Every batch would fail the same way.
                report.query_errors += 1;
                report.fail(Failure::Query, 1, true, || {
                    format!("rule `{}`: {e}", rule.name)
                });
                break;
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
        let o = match written {
            Ok(o) => o,
            Err(e) => {
                redis_failed(&mut report, &e, Some(&batch));
                break;
            }
        };
        report.written.add(&o);
        if o.errors > 0 {
            let why = o.first_error.as_deref().unwrap_or("refused");
            if o.all_refused_keyless() {
                // The same answer for any key: the rest would be refused too.
                report.fail(Failure::Write, o.errors, true, || {
                    format!(
                        "rule `{}`: Redis refused every write of a batch, job stopped: {why}",
                        rule.name
                    )
                });
                break;
            }
            report.fail(Failure::Write, o.errors, false, || {
                format!("rule `{}`: Redis refused writes: {why}", rule.name)
            });
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

fn finish(report: Report, mut progress: impl FnMut(&Report)) -> Report {
    progress(&report);
    report
}

/// A batch's rows → the items to write: only keys this batch asked for,
/// made by the rule's own pattern, each once, with a value and a usable
/// TTL; the rest counted.
fn prepare(rule: &Rule, asked: &[String], rows: Vec<Row>, report: &mut Report) -> Vec<Item> {
    let mut index: FxHashMap<&str, usize> = FxHashMap::default();
    index.reserve(asked.len());
    for (i, k) in asked.iter().enumerate() {
        index.entry(k.as_str()).or_insert(i);
    }
    let mut seen = vec![false; asked.len()];
    let mut items = Vec::with_capacity(rows.len());
    let mut no_ttl = 0;
    for row in rows {
        // A row with NULL in the pattern's columns names no key: the key
        // it was meant for counts as having no row.
        let Some(key) = rule.key.render(|c| row.get(c)) else {
            continue;
        };
        let Some(&i) = index.get(key.as_str()) else {
            continue;
        };
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        match usable(rule, &key, &row) {
            Ok((_, ttl_ms)) => items.push(Item {
                key,
                value: row.value.unwrap_or_default(),
                ttl_ms,
            }),
            Err(why) => {
                match why {
                    Unusable::NullValue => report.null_value += 1,
                    Unusable::NoTtl => no_ttl += 1,
                }
                note_unwritten(&mut report.unwritten, [key_hash(&key)]);
            }
        }
    }
    if no_ttl > 0 {
        report.no_ttl += no_ttl;
        report.fail(Failure::Ttl, no_ttl, false, || no_ttl_reason(rule));
    }
    let missing = asked.iter().zip(&seen).filter(|(_, s)| !**s);
    report.no_row += missing.clone().count() as u64;
    note_unwritten(&mut report.unwritten, missing.map(|(k, _)| key_hash(k)));
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
