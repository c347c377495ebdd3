//! The key sampler: one task per node, on its own connection (never the
//! poller's, so a long pipeline cannot delay the health check), walking the
//! keyspace with `SCAN cursor COUNT n` and asking, per key, `PTTL`, `TYPE`
//! and `OBJECT FREQ` (LFU policies) or `OBJECT IDLETIME` (others), plus
//! `MEMORY USAGE … SAMPLES 5` and an element count when asked. Never `KEYS`,
//! never `MONITOR`; every command O(1).
//!
//! Gentle by construction: a budget in commands per second (every command
//! counts, `SCAN` and `INFO` included) enforced by pacing each round trip.
//! By default the budget follows the node ([`budget`]): 5 % of the commands
//! it runs for others, at least 20/s, at most 1000/s, read again before
//! each round trip;
//! a pass over a small keyspace is not repeated more often than
//! `min_pass`; `CLIENT SETNAME heliostat` and, where the server has it,
//! `CLIENT NO-TOUCH ON` after every connect. Everything sent goes into the
//! node's [`OwnLoad`], with the keyspace hits and misses the lookups cause
//! (see [`pipeline`] for which commands count as which), so the console's
//! figures exclude the console.

pub mod budget;
pub mod pipeline;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::info::Info;
use super::{NodeConfig, OwnLoad, display_name, fault, wall_now};
use crate::engines::keyspace::BudgetRule;
use crate::fault::Fault;
use crate::sample::{Body, KeyspaceSample, Sample};
pub use budget::Follow;
use pipeline::{StepError, Tally, probe_keys, scan_step, size_keys};

/// Default cap of the budget: commands per second per node.
pub const DEFAULT_BUDGET: u32 = budget::DEFAULT_CAP;
/// Largest budget accepted.
pub const MAX_BUDGET: u32 = 1_000_000;
/// A pass starts at most this often: a tiny keyspace is not walked in a loop.
pub const DEFAULT_MIN_PASS: Duration = Duration::from_secs(10);

/// Whether to ask each key's length or element count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ElementCounts {
    /// Only where `CLIENT NO-TOUCH` exists (Redis ≥ 7.2): before it,
    /// `STRLEN`/`HLEN`/… update the key's LRU/LFU data, so sampling would
    /// make keys look used and change what the server evicts.
    #[default]
    Auto,
    /// Always (on older servers this touches every sampled key).
    On,
    /// Never.
    Off,
}

/// How a node's keyspace is sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    /// Commands per second, every command counted; 0 turns the sampler
    /// off. With `follow`, the cap of the budget; without, the budget.
    pub budget: u32,
    /// The budget follows the node's command rate (a share, a floor);
    /// `None`: `budget` is a fixed rate.
    pub follow: Option<Follow>,
    /// Prefix delimiter (keys group by their first segment).
    pub delimiter: String,
    /// Ask `MEMORY USAGE key SAMPLES 5` per key.
    pub memory: bool,
    /// Ask each key's length or element count.
    pub elements: ElementCounts,
    /// A pass starts at most this often.
    pub min_pass: Duration,
}

impl SamplerConfig {
    /// A fixed budget of `budget` commands per second (0: off).
    pub fn fixed(budget: u32) -> Self {
        Self {
            budget,
            follow: None,
            ..Self::default()
        }
    }

    /// The budget now, for a node whose rate the poller measured as `rate`.
    pub fn budget_now(&self, rate: &budget::NodeRate) -> u32 {
        match &self.follow {
            Some(f) => f.budget(rate.others(), rate.console(), self.budget),
            None => self.budget,
        }
    }

    /// How the budget is set, as the samples carry it (`None`: fixed).
    pub fn rule(&self) -> Option<BudgetRule> {
        self.follow.map(|f| BudgetRule {
            share_bp: (f.share * 10_000.0).round().clamp(0.0, 10_000.0) as u32,
            floor: f.floor.min(self.budget),
            cap: self.budget,
        })
    }
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self {
            budget: DEFAULT_BUDGET,
            follow: Some(Follow::default()),
            delimiter: crate::engines::keyspace::DEFAULT_DELIMITER.to_string(),
            memory: false,
            elements: ElementCounts::Auto,
            min_pass: DEFAULT_MIN_PASS,
        }
    }
}

/// Spends the budget: each round trip waits until the commands before it
/// are paid for at `budget` per second. Time left unused (a pause between
/// passes, a slow server) is not saved up, so the walk never bursts.
#[derive(Debug, Clone)]
pub struct Pacer {
    per_cmd: Duration,
    next: Instant,
}

impl Pacer {
    /// A pacer for `budget` commands per second (at least 1).
    pub fn new(budget: u32, now: Instant) -> Self {
        Self {
            per_cmd: Self::per_cmd(budget),
            next: now,
        }
    }

    fn per_cmd(budget: u32) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(budget.max(1)))
    }

    /// Spend at `budget` commands per second from now on.
    pub fn set_budget(&mut self, budget: u32) {
        self.per_cmd = Self::per_cmd(budget);
    }

    /// When the next round trip may start.
    pub fn ready_at(&self) -> Instant {
        self.next
    }

    /// `commands` went out in a round trip that started at `at`.
    pub fn charge(&mut self, at: Instant, commands: u64) {
        let cost = self
            .per_cmd
            .saturating_mul(u32::try_from(commands).unwrap_or(u32::MAX));
        self.next = self.next.max(at) + cost;
    }
}

/// What this connection may and should ask, learned at connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probes {
    /// Ask `OBJECT FREQ|IDLETIME` (off once the ACL refuses it).
    pub object: bool,
    /// Ask `MEMORY USAGE` (configured, and not refused).
    pub memory: bool,
    /// Ask lengths / element counts.
    pub elements: bool,
}

/// The walk's state across reconnects.
#[derive(Debug)]
struct Walk {
    pass: u64,
    sent: u64,
    pacer: Pacer,
    /// A failure was reported: the next batch clears it.
    failing: bool,
}

impl Walk {
    /// Account for one round trip that started at `at`.
    fn spend(&mut self, own: &OwnLoad, at: Instant, t: Tally) {
        self.sent += t.sent;
        self.pacer.charge(at, t.sent);
        own.add_sampler(t.counted, t.hits, t.misses);
    }

    /// The budget now (it follows the node's rate), put in force.
    fn budget(&mut self, s: &SamplerConfig, own: &OwnLoad) -> u32 {
        let b = s.budget_now(&own.node_rate());
        self.pacer.set_budget(b);
        b
    }
}

/// Tell the app why the sampler is not sampling (`None`: it is again).
async fn report(cfg: &NodeConfig, tx: &mpsc::Sender<Vec<Sample>>, problem: Option<String>) -> bool {
    let s = Sample {
        source: cfg.id,
        generation: 0,
        at: wall_now(),
        body: Body::SamplerStatus(problem),
    };
    tx.send(vec![s]).await.is_ok()
}

/// Sample one node until the receiver goes away, retrying every `retry`
/// after a failure. Why it is not sampling (a refused `SCAN`, a failing
/// connection) is reported as the sampler's status, cleared by the next
/// batch.
pub async fn run_sampler(cfg: NodeConfig, own: Arc<OwnLoad>, tx: mpsc::Sender<Vec<Sample>>) {
    if cfg.sampler.budget == 0 {
        return;
    }
    let name = display_name(&cfg.url);
    let mut walk = Walk {
        pass: 0,
        sent: 0,
        pacer: Pacer::new(cfg.sampler.budget_now(&own.node_rate()), Instant::now()),
        failing: false,
    };
    loop {
        let reason = match connect(&cfg, &own, &mut walk).await {
            Ok((mut conn, mut probes)) => {
                tracing::info!(node = %name, ?probes, budget = cfg.sampler.budget, follow = ?cfg.sampler.follow, "key sampler connected");
                match walk_passes(&cfg, &mut conn, &own, &mut walk, &mut probes, &tx).await {
                    Ok(None) => return,
                    Ok(Some(refused)) => {
                        tracing::warn!(node = %name, error = %refused, "key sampler stopped");
                        let _ = report(&cfg, &tx, Some(format!("stopped: {refused}"))).await;
                        return;
                    }
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        tracing::debug!(node = %name, error = %reason, "key sampler disconnected");
        walk.failing = true;
        if !report(&cfg, &tx, Some(format!("{reason}; retrying"))).await {
            return;
        }
        tokio::time::sleep(cfg.retry).await;
    }
}

/// A connection of the sampler's own, opened as the poller's are (TLS, unix
/// socket, the master a Sentinel names, a cluster node's address), named
/// and (where the server takes it) NO-TOUCH; returns what it should probe.
async fn connect(
    cfg: &NodeConfig,
    own: &OwnLoad,
    walk: &mut Walk,
) -> Result<(MultiplexedConnection, Probes), Fault> {
    let started = Instant::now();
    let _flight = own.in_flight().await;
    let (mut conn, server) = super::endpoint::connect(cfg).await?;
    let mut tally = Tally {
        sent: server.commands,
        counted: server.commands,
        ..Tally::default()
    };
    // A cluster replica answers key commands only after READONLY (else MOVED).
    if server.mode == super::endpoint::ServerMode::Cluster
        && server.role == Some(crate::sample::RedisRole::Replica)
    {
        let r: redis::RedisResult<()> = redis::cmd("READONLY").query_async(&mut conn).await;
        tally.sent += 1;
        tally.counted += u64::from(r.is_ok());
    }
    let no_touch = server.no_touch;
    walk.spend(own, started, tally);
    let s = &cfg.sampler;
    let probes = Probes {
        object: true,
        memory: s.memory,
        elements: match s.elements {
            ElementCounts::On => true,
            ElementCounts::Off => false,
            ElementCounts::Auto => no_touch,
        },
    };
    Ok((conn, probes))
}

/// SCAN COUNT so that one batch costs about a tenth of a second of budget,
/// and at least 20 commands (a small budget pays a batch over more time
/// rather than spending most of it on `SCAN` and `DBSIZE`).
pub fn scan_count(budget: u32, per_key: u32) -> u32 {
    let per_key = per_key.max(1);
    let target = (budget / 10).max(20).max(per_key + 2);
    ((target - 2) / per_key).clamp(1, 1000)
}

/// What the ACL refused of the probes (they are off for the connection),
/// said as the sampler's coverage line shows it.
fn probes_refused(probes: &Probes, configured: &Probes, out: &mut Vec<String>) {
    let lost = [
        (
            configured.object && !probes.object,
            "OBJECT: NOPERM (no heat readings)",
        ),
        (
            configured.memory && !probes.memory,
            "MEMORY USAGE: NOPERM (no sizes)",
        ),
        (
            configured.elements && !probes.elements,
            "length commands: NOPERM (no element counts)",
        ),
    ];
    for (gone, what) in lost {
        if gone && !out.iter().any(|r| r == what) {
            out.push(what.to_string());
        }
    }
}

/// Walk pass after pass; `Ok(None)` when the receiver went away,
/// `Ok(Some(why))` when it should stop for good (the server refuses `SCAN`).
async fn walk_passes(
    cfg: &NodeConfig,
    conn: &mut MultiplexedConnection,
    own: &OwnLoad,
    walk: &mut Walk,
    probes: &mut Probes,
    tx: &mpsc::Sender<Vec<Sample>>,
) -> Result<Option<String>, Fault> {
    let s = &cfg.sampler;
    let configured = *probes;
    let mut refused: Vec<String> = Vec::new();
    loop {
        walk.pass += 1;
        let pass_started = Instant::now();
        // The policy decides FREQ or IDLETIME; it can change at run time, so
        // it is read again each pass (INFO, not CONFIG GET: a read-only ACL
        // may refuse CONFIG).
        tokio::time::sleep_until(walk.pacer.ready_at()).await;
        let at = Instant::now();
        let text = {
            let _flight = own.in_flight().await;
            let r: redis::RedisResult<String> =
                redis::cmd("INFO").arg("memory").query_async(conn).await;
            walk.spend(own, at, Tally::plain(1, 1));
            r.map_err(|e| fault(&e))?
        };
        let lfu = Info::parse(&text).lfu();
        let mut cursor = 0u64;
        loop {
            let per_key = 2
                + u32::from(probes.object)
                + u32::from(probes.memory)
                + u32::from(probes.elements);
            let budget = walk.budget(s, own);
            let count = scan_count(budget, per_key);
            tokio::time::sleep_until(walk.pacer.ready_at()).await;
            let at = Instant::now();
            let step = {
                let _flight = own.in_flight().await;
                let r = scan_step(conn, cursor, count).await;
                walk.spend(own, at, Tally::plain(2, 2));
                match r {
                    Ok(step) => step,
                    Err(StepError::Failed(e)) => return Err(e),
                    Err(StepError::Refused(e)) => return Ok(Some(e)),
                }
            };
            // Refusals stay for the connection: the ACL does not change
            // between two steps often, and a reconnect asks again.
            if let Some(why) = &step.dbsize_refused
                && !refused.iter().any(|r| r.starts_with("DBSIZE"))
            {
                refused.push(format!("DBSIZE: {why}"));
            }
            let mut keys = Vec::new();
            if !step.keys.is_empty() {
                tokio::time::sleep_until(walk.pacer.ready_at()).await;
                let at = Instant::now();
                let _flight = own.in_flight().await;
                let (tally, found) = probe_keys(conn, &step.keys, lfu, probes).await;
                walk.spend(own, at, tally);
                keys = found?;
            }
            if probes.elements && !keys.is_empty() {
                tokio::time::sleep_until(walk.pacer.ready_at()).await;
                let at = Instant::now();
                let _flight = own.in_flight().await;
                let (tally, r) = size_keys(conn, &step.keys, &mut keys, probes).await;
                walk.spend(own, at, tally);
                r?;
            }
            cursor = step.cursor;
            probes_refused(probes, &configured, &mut refused);
            if walk.failing {
                walk.failing = false;
                if !report(cfg, tx, None).await {
                    return Ok(None);
                }
            }
            let sample = KeyspaceSample {
                pass: walk.pass,
                pass_done: cursor == 0,
                db_keys: step.db_keys,
                budget,
                rule: s.rule(),
                sent: walk.sent,
                delimiter: s.delimiter.clone(),
                keys,
                refused: refused.clone(),
            };
            let out = vec![Sample {
                source: cfg.id,
                generation: 0,
                at: wall_now(),
                body: Body::Keyspace(sample),
            }];
            if tx.send(out).await.is_err() {
                return Ok(None);
            }
            if cursor == 0 {
                break;
            }
        }
        tokio::time::sleep_until(pass_started + s.min_pass).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_spends_the_budget_and_never_saves_it_up() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1000, t0);
        p.charge(t0, 100);
        assert_eq!(p.ready_at(), t0 + Duration::from_millis(100));
        // A round trip that started late is charged from when it started.
        let late = t0 + Duration::from_secs(5);
        p.charge(late, 10);
        assert_eq!(p.ready_at(), late + Duration::from_millis(10));
        // Back-to-back round trips queue up.
        p.charge(late, 10);
        assert_eq!(p.ready_at(), late + Duration::from_millis(20));
        let zero = Pacer::new(0, t0);
        assert_eq!(zero.per_cmd, Duration::from_secs(1));
    }

    #[test]
    fn batches_cost_about_a_tenth_of_a_second_of_budget() {
        assert_eq!(scan_count(1000, 3), 32);
        assert_eq!(scan_count(10, 3), 6);
        assert_eq!(scan_count(20, 3), 6);
        assert_eq!(scan_count(1_000_000, 3), 1000);
        assert_eq!(scan_count(1000, 0), 98);
    }
}
