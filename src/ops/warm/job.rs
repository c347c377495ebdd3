//! The warm executor: keys → the rule's query, batch by batch → values
//! written to Redis in the rule's mode, at the rule's rate, with guards
//! that pause when the target is in trouble, and cancellation between
//! batches. The database side is a [`Rows`] implementation; the Redis side
//! a connection to the target.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::time::Instant;

use rustc_hash::{FxHashMap, FxHashSet};

use super::rules::{Rule, Ttl};
use super::target::Target;
use super::write::{Item, Outcome};
use crate::sources::redis::info::Info;
use crate::sources::redis::sampler::Pacer;

/// One result row of a rule's query: its columns as text, and the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// Columns by name (the pattern's placeholders, a TTL column).
    pub columns: FxHashMap<String, String>,
    /// The `value` column.
    pub value: Vec<u8>,
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

/// Run `rule` for `keys`, reporting after every batch through `progress`.
pub async fn run<R: Rows>(
    rule: &Rule,
    keys: &[String],
    rows: &mut R,
    redis: &mut Target,
    cancel: &Arc<AtomicBool>,
    mut progress: impl FnMut(&Report),
) -> Report {
    let mut report = Report {
        keys: keys.len() as u64,
        ..Report::default()
    };
    // The value the query is asked for, per key (the pattern's first column).
    let mut wanted: Vec<(&str, String)> = Vec::with_capacity(keys.len());
    for k in keys {
        match rule.key.parse_key(k) {
            Some(vals) if !vals.is_empty() => wanted.push((k.as_str(), vals[0].to_string())),
            _ => report.no_rule += 1,
        }
    }
    let first_col = rule.key.columns().next().unwrap_or("id").to_string();
    let mut pacer = rule
        .max_keys_per_s
        .map(|n| Pacer::new(u32::try_from(n).unwrap_or(u32::MAX), Instant::now()));
    let mut last_info: Option<Vec<(String, Info)>> = None;
    for batch in wanted.chunks(rule.batch) {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            break;
        }
        match redis.info().await {
            Ok(infos) => {
                let why = infos.iter().find_map(|(addr, now)| {
                    let before = last_info
                        .as_ref()
                        .and_then(|l| l.iter().find(|(a, _)| a == addr))
                        .map(|(_, i)| i);
                    guard(before, now).map(|w| {
                        if addr.is_empty() {
                            w
                        } else {
                            format!("{addr}: {w}")
                        }
                    })
                });
                if let Some(why) = why {
                    report.paused = Some(why);
                    break;
                }
                last_info = Some(infos);
            }
            Err(e) => {
                report.redis_errors += 1;
                report.error(format!("redis: {e}"));
                break;
            }
        }
        if let Some(p) = &pacer {
            tokio::time::sleep_until(p.ready_at()).await;
        }
        let started = Instant::now();
        let values: Vec<String> = batch.iter().map(|(_, v)| v.clone()).collect();
        let rows = match rows.fetch(rule, &values).await {
            Ok(r) => r,
            Err(e) => {
                report.query_errors += 1;
                report.error(format!("query: {e}"));
                continue;
            }
        };
        let asked: FxHashSet<&str> = batch.iter().map(|(k, _)| *k).collect();
        let mut items = Vec::with_capacity(rows.len());
        let mut seen: FxHashSet<String> = FxHashSet::default();
        for row in rows {
            // Only keys this batch asked for, made by the rule's own pattern.
            let Some(key) = rule.key.render(|c| row.columns.get(c).map(String::as_str)) else {
                report.error(format!(
                    "query: a row lacks the pattern's columns (needs {first_col})"
                ));
                continue;
            };
            if !asked.contains(key.as_str()) || !seen.insert(key.clone()) {
                continue;
            }
            let base = match &rule.ttl {
                Ttl::Fixed(s) => Some(*s),
                Ttl::Column(c) => row.columns.get(c).and_then(|v| v.trim().parse().ok()),
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
        report.no_row += (batch.len() - seen.len()) as u64;
        match redis.write(rule.mode, items).await {
            Ok(o) => report.written.add(&o),
            Err(e) => {
                report.redis_errors += 1;
                report.error(format!("redis: {e}"));
                break;
            }
        }
        if let Some(p) = &mut pacer {
            p.charge(started, batch.len() as u64);
        }
        progress(&report);
    }
    if let Some(e) = report.written.first_error.clone() {
        report.error(format!("redis: {e}"));
    }
    progress(&report);
    report
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
