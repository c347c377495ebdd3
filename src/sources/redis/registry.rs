//! How to reach each source again: the node or endpoint a source id
//! watches, for the ops that act on one of its sessions (cancel,
//! terminate, `CLIENT KILL`). Filled as sources start (a cluster's nodes
//! as they are found); one registry per console. It lives with the Redis
//! source because a node registers itself as it starts; Postgres
//! endpoints are registered by whoever starts them.

use std::sync::{Arc, Mutex, PoisonError};

use rustc_hash::FxHashMap;

use super::NodeConfig;
use crate::sample::SourceId;

/// Where a source connects.
#[derive(Debug, Clone)]
pub enum Target {
    /// A Redis node (its URL with the node's address, auth, TLS).
    Redis(Box<NodeConfig>),
    /// A Postgres endpoint's URL.
    Postgres(String),
}

/// Source id → where it connects. Keys are the console's own source ids
/// (a `u16`), so the map is bounded by their number.
#[derive(Debug, Clone, Default)]
pub struct Registry(Arc<Mutex<FxHashMap<SourceId, Target>>>);

impl Registry {
    /// Remember that source `id` polls the node `cfg` describes.
    pub fn add_redis(&self, cfg: &NodeConfig) {
        let mut node = cfg.clone();
        // What the poller needs to follow its cluster is not an op's concern,
        // and the registry must not hold itself.
        node.topology = None;
        node.registry = None;
        self.lock().insert(cfg.id, Target::Redis(Box::new(node)));
    }

    /// Remember that source `id` polls the endpoint `url`.
    pub fn add_postgres(&self, id: SourceId, url: &str) {
        self.lock().insert(id, Target::Postgres(url.to_string()));
    }

    /// Where source `id` connects, if it started.
    pub fn get(&self, id: SourceId) -> Option<Target> {
        self.lock().get(&id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FxHashMap<SourceId, Target>> {
        // A panic elsewhere while holding the lock leaves a consistent map.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_each_source_without_itself() {
        let r = Registry::default();
        let mut cfg = NodeConfig::new(SourceId(3), "redis://:pw@h:6379");
        cfg.registry = Some(r.clone());
        r.add_redis(&cfg);
        r.add_postgres(SourceId(4), "postgres://u@db/app");
        match r.get(SourceId(3)) {
            Some(Target::Redis(n)) => {
                assert_eq!(n.url, "redis://:pw@h:6379");
                assert!(n.registry.is_none(), "no cycle through the registry");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(r.get(SourceId(4)), Some(Target::Postgres(u)) if u.ends_with("/app")));
        assert!(r.get(SourceId(5)).is_none());
    }
}
