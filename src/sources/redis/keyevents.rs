//! Keyspace notifications (`--key-events`): one connection per node
//! subscribed to the `__keyevent@*__` channels of key misses (`keymiss`,
//! Redis ≥ 6.0), expiries (`expired`) and evictions (`evicted`). Only when
//! asked for; heliostat never changes `notify-keyspace-events`: it reads it
//! (`CONFIG GET`, where the ACL allows) so the panes can say which flags
//! are off, what they would add and what they cost.
//!
//! A busy node can publish more than a subscriber's output buffer holds
//! (`client-output-buffer-limit pubsub`, 32 MiB / 8 MiB for 60 s by
//! default), after which the server drops the connection. So the listener
//! counts notifications per second and unsubscribes above
//! [`MAX_EVENTS_PER_SEC`], saying so, and subscribes again after
//! [`RESUME_AFTER`].

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rustc_hash::FxHashMap;
use tokio::sync::mpsc;

use super::{NodeConfig, OwnLoad, describe, fault};
use crate::fault::Fault;
use crate::sample::{Body, KeyEventSetup, KeyEvents, KeyEventsStopped, Sample};

/// Most notifications per second listened to; above it the listener
/// unsubscribes (stated in README and docs/EVENTS.md).
pub const MAX_EVENTS_PER_SEC: u64 = 5_000;
/// How long the listener stays away after going over the limit.
pub const RESUME_AFTER: Duration = Duration::from_secs(300);
/// Most keys named per flush; the rest are counted, not named.
const MAX_PER_FLUSH: usize = 10_000;
/// How often keys are handed to the app.
const FLUSH: Duration = Duration::from_millis(500);
/// The channels: key misses, expiries, evictions, in every database.
pub const PATTERNS: [&str; 3] = [
    "__keyevent@*__:keymiss",
    "__keyevent@*__:expired",
    "__keyevent@*__:evicted",
];

/// Why one subscription ended without an error.
enum Ended {
    /// The app went away.
    Closed,
    /// Over the limit: stay away for a while.
    TooMany(u64),
}

/// Listen until the receiver goes away, reconnecting after failures.
pub async fn run_key_events(
    cfg: NodeConfig,
    own: std::sync::Arc<OwnLoad>,
    tx: mpsc::Sender<Vec<Sample>>,
) {
    let out = crate::sources::Reporter::new(cfg.id, tx.clone());
    let send = |body: KeyEvents| out.one(Body::KeyEvents(body));
    loop {
        let outcome = match super::endpoint::node_client(&cfg).await {
            Ok(client) => listen(&client, &cfg, &own, &send).await,
            Err(e) => Err(e),
        };
        let (body, pause) = match outcome {
            Ok(Ended::Closed) => return,
            Ok(Ended::TooMany(per_sec)) => {
                tracing::warn!(per_sec, "keyspace notifications over the limit: paused");
                let stopped = KeyEventsStopped {
                    per_sec,
                    limit: MAX_EVENTS_PER_SEC,
                    resume_after_s: RESUME_AFTER.as_secs(),
                };
                let body = KeyEvents {
                    stopped: Some(stopped),
                    ..KeyEvents::default()
                };
                (body, RESUME_AFTER)
            }
            Err(note) => {
                tracing::warn!(error = %note, "keyspace notifications unavailable");
                let body = KeyEvents {
                    note: Some(note.to_string()),
                    ..KeyEvents::default()
                };
                (body, cfg.retry.max(Duration::from_secs(1)))
            }
        };
        if !send(body).await {
            return;
        }
        tokio::time::sleep(pause).await;
    }
}

/// `notify-keyspace-events` as the server has it, or why it could not be read.
async fn setup(cfg: &NodeConfig, own: &OwnLoad) -> Result<KeyEventSetup, Fault> {
    let (mut c, server) = super::endpoint::connect(cfg).await?;
    own.add(server.commands.saturating_add(1), 0, 0);
    let read = redis::cmd("CONFIG")
        .arg("GET")
        .arg("notify-keyspace-events")
        .query_async::<Vec<String>>(&mut c)
        .await;
    // A restricted ACL may refuse CONFIG: listening is all that can be done.
    let (flags, refused) = match read {
        Ok(v) => (Some(v.get(1).cloned().unwrap_or_default()), None),
        Err(e) => (None, Some(describe(&e))),
    };
    Ok(KeyEventSetup {
        flags,
        refused,
        version: server.version,
    })
}

/// One flush's worth of notifications.
#[derive(Default)]
struct Batch {
    missed: FxHashMap<String, u32>,
    expired: Vec<String>,
    evicted: Vec<String>,
    named: usize,
    dropped: u64,
}

impl Batch {
    fn add(&mut self, channel: &str, key: String) {
        let kind = channel.rsplit(':').next().unwrap_or("");
        if !["keymiss", "expired", "evicted"].contains(&kind) {
            return;
        }
        if self.named >= MAX_PER_FLUSH {
            if let Some(n) = self.missed.get_mut(&key).filter(|_| kind == "keymiss") {
                *n = n.saturating_add(1);
            } else {
                self.dropped += 1;
            }
            return;
        }
        match kind {
            "keymiss" => {
                let n = self.missed.entry(key).or_insert_with(|| {
                    self.named += 1;
                    0
                });
                *n = n.saturating_add(1);
            }
            "expired" => {
                self.named += 1;
                self.expired.push(key);
            }
            "evicted" => {
                self.named += 1;
                self.evicted.push(key);
            }
            _ => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.named == 0 && self.dropped == 0
    }

    fn take(&mut self) -> KeyEvents {
        let b = std::mem::take(self);
        let mut missed: Vec<(String, u32)> = b.missed.into_iter().collect();
        missed.sort_unstable();
        KeyEvents {
            missed,
            expired: b.expired,
            evicted: b.evicted,
            dropped: b.dropped,
            ..KeyEvents::default()
        }
    }
}

/// Counts notifications per wall-clock second.
struct RateGate {
    window: Instant,
    count: u64,
}

impl RateGate {
    /// Count one; `Some(count)` once a second holds more than the limit.
    fn over(&mut self, now: Instant) -> Option<u64> {
        if now.duration_since(self.window) >= Duration::from_secs(1) {
            self.window = now;
            self.count = 0;
        }
        self.count += 1;
        (self.count > MAX_EVENTS_PER_SEC).then_some(self.count)
    }
}

async fn listen<F, Fut>(
    client: &redis::Client,
    cfg: &NodeConfig,
    own: &OwnLoad,
    send: &F,
) -> Result<Ended, Fault>
where
    F: Fn(KeyEvents) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let setup = setup(cfg, own).await?;
    let mut pubsub = match tokio::time::timeout(cfg.timeout, client.get_async_pubsub()).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(fault(&e)),
        Err(_) => return Err(Fault::Timeout("timed out".into())),
    };
    own.add(1, 0, 0);
    pubsub
        .psubscribe(&PATTERNS[..])
        .await
        .map_err(|e| fault(&e))?;
    let first = KeyEvents {
        setup: Some(setup),
        ..KeyEvents::default()
    };
    if !send(first).await {
        return Ok(Ended::Closed);
    }
    let mut messages = pubsub.on_message();
    let mut tick = tokio::time::interval(FLUSH);
    let mut batch = Batch::default();
    let mut gate = RateGate {
        window: Instant::now(),
        count: 0,
    };
    loop {
        tokio::select! {
            msg = messages.next() => {
                let Some(msg) = msg else {
                    return Err(Fault::Closed("notification connection closed".into()));
                };
                if let Some(n) = gate.over(Instant::now()) {
                    // Dropping the connection unsubscribes; what was
                    // counted so far still goes to the app.
                    if !batch.is_empty() && !send(batch.take()).await {
                        return Ok(Ended::Closed);
                    }
                    return Ok(Ended::TooMany(n));
                }
                if let Ok(k) = msg.get_payload::<String>() {
                    batch.add(msg.get_channel_name(), k);
                }
            }
            _ = tick.tick() => {
                if batch.is_empty() {
                    continue;
                }
                if !send(batch.take()).await {
                    return Ok(Ended::Closed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flush_names_at_most_its_cap_and_counts_the_rest() {
        let mut b = Batch::default();
        for i in 0..MAX_PER_FLUSH + 50 {
            b.add("__keyevent@0__:expired", format!("k{i}"));
        }
        b.add("__keyevent@0__:keymiss", "late".into());
        b.add("__keyevent@0__:other", "x".into());
        let e = b.take();
        assert_eq!(e.expired.len(), MAX_PER_FLUSH);
        assert_eq!(e.dropped, 51);
        assert!(e.missed.is_empty());
        assert!(b.is_empty());
    }

    #[test]
    fn misses_of_one_key_are_counted_once_named() {
        let mut b = Batch::default();
        for _ in 0..3 {
            b.add("__keyevent@0__:keymiss", "ux:product:2".into());
        }
        b.add("__keyevent@3__:evicted", "old".into());
        let e = b.take();
        assert_eq!(e.missed, vec![("ux:product:2".to_string(), 3)]);
        assert_eq!(e.evicted, vec!["old".to_string()]);
    }

    #[test]
    fn the_gate_trips_only_above_the_limit_within_one_second() {
        let t0 = Instant::now();
        let mut g = RateGate {
            window: t0,
            count: 0,
        };
        for _ in 0..MAX_EVENTS_PER_SEC {
            assert_eq!(g.over(t0), None);
        }
        // A new second starts over.
        let t1 = t0 + Duration::from_millis(1_001);
        assert_eq!(g.over(t1), None);
        for _ in 1..MAX_EVENTS_PER_SEC {
            assert_eq!(g.over(t1), None);
        }
        assert_eq!(g.over(t1), Some(MAX_EVENTS_PER_SEC + 1));
    }
}
