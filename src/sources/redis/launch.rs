//! Starting the watch of one configured Redis URL: a Sentinel service or a
//! unix socket is one node; a TCP URL may turn out to be a Redis Cluster
//! node, so a topology supervisor asks the server first and then polls one
//! node or every node of the cluster.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::endpoint::{Endpoint, Target};
use super::{NodeConfig, cluster, spawn_node};
use crate::sample::{Sample, SourceId};
use crate::sources::pace::Pace;

/// Hands out source ids, shared by everything that starts sources (the
/// supervisors add nodes they discover), so every source has its own id.
#[derive(Debug, Clone, Default)]
pub struct SourceIds(Arc<AtomicU16>);

impl SourceIds {
    /// Ids from 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next free id (saturates at `u16::MAX`: 65 535 sources is far
    /// beyond what a console shows).
    pub fn next(&self) -> SourceId {
        let prev = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(1))
            })
            .unwrap_or(u16::MAX);
        SourceId(prev)
    }
}

/// How sources started by [`launch`] poll.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Poll interval per node (follows the console's `+` / `-`).
    pub poll: Pace,
    /// Connect and response timeout.
    pub timeout: Duration,
    /// Pause between reconnect attempts.
    pub retry: Duration,
    /// How often a cluster's topology is read again (also read at once,
    /// at most every `retry`, when a node's connection fails).
    pub topology: Duration,
    /// Listen to keyspace notifications (misses, expiries, evictions) on every node.
    pub key_events: bool,
    /// The key sampler each node gets (budget 0: none).
    pub sampler: super::sampler::SamplerConfig,
    /// Where each node started is remembered (`None`: nowhere).
    pub registry: Option<crate::sources::redis::registry::Registry>,
}

impl Default for LaunchOptions {
    /// 1 s polls, timeouts and retries; topology every 5 s.
    fn default() -> Self {
        Self {
            poll: Pace::fixed(Duration::from_secs(1)),
            timeout: Duration::from_secs(1),
            retry: Duration::from_secs(1),
            topology: Duration::from_secs(5),
            key_events: false,
            sampler: super::sampler::SamplerConfig::default(),
            registry: None,
        }
    }
}

/// Start watching `url`. Its first source id is taken now (so URLs keep
/// their order on screen); nodes discovered later take theirs from `ids`.
pub fn launch(url: &str, opts: &LaunchOptions, ids: &SourceIds, tx: mpsc::Sender<Vec<Sample>>) {
    let mut cfg = NodeConfig::new(ids.next(), url);
    cfg.poll = opts.poll.clone();
    cfg.timeout = opts.timeout;
    cfg.retry = opts.retry;
    cfg.key_events = opts.key_events;
    cfg.sampler = opts.sampler.clone();
    cfg.registry = opts.registry.clone();
    let tcp = Endpoint::parse(url).is_ok_and(|ep| matches!(ep.target, Target::Tcp { .. }));
    if tcp {
        tokio::spawn(cluster::supervise(cfg, opts.topology, ids.clone(), tx));
    } else {
        // A Sentinel service, a unix socket, or a bad URL (the node reports it).
        spawn_node(cfg, tx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_handed_out_once_each_across_clones() {
        let ids = SourceIds::new();
        let other = ids.clone();
        assert_eq!(ids.next(), SourceId(0));
        assert_eq!(other.next(), SourceId(1));
        assert_eq!(ids.next(), SourceId(2));
        let full = SourceIds(Arc::new(AtomicU16::new(u16::MAX)));
        assert_eq!(full.next(), SourceId(u16::MAX));
        assert_eq!(full.next(), SourceId(u16::MAX));
    }
}
