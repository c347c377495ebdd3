//! A throw-away Redis Cluster: N cluster-enabled `redis-server`s on free
//! loopback ports, slots split evenly with `CLUSTER ADDSLOTSRANGE`, joined
//! with `CLUSTER MEET`, ready when every node says `cluster_state:ok` and
//! knows every other. Killed on drop (each node is a `RedisServer`).

use std::time::Duration;

use super::{RedisServer, wait_for};

/// A cluster of our own.
pub struct Cluster {
    /// The nodes, in start order (the first `masters` own the slots).
    pub nodes: Vec<RedisServer>,
}

impl Cluster {
    /// Start `masters` nodes and form a cluster of them, all slots served.
    pub fn start(masters: usize) -> Self {
        let nodes: Vec<RedisServer> = (0..masters)
            .map(|_| RedisServer::start_cluster_node(&[]))
            .collect();
        let per = 16384 / masters;
        for (i, n) in nodes.iter().enumerate() {
            let first = i * per;
            let last = if i + 1 == masters {
                16383
            } else {
                first + per - 1
            };
            let _: () = n
                .cmd(&[
                    "CLUSTER",
                    "ADDSLOTSRANGE",
                    &first.to_string(),
                    &last.to_string(),
                ])
                .unwrap();
        }
        let c = Cluster { nodes };
        for n in &c.nodes[1..] {
            c.meet(n);
        }
        c.wait_formed();
        c
    }

    fn meet(&self, n: &RedisServer) {
        let first = &self.nodes[0];
        let bus = first.bus_port.unwrap().to_string();
        let _: () = n
            .cmd(&[
                "CLUSTER",
                "MEET",
                "127.0.0.1",
                &first.port.to_string(),
                &bus,
            ])
            .unwrap();
    }

    /// Wait until every running node says `cluster_state:ok` and lists
    /// every running node as connected.
    pub fn wait_formed(&self) {
        let ports: Vec<u16> = self.nodes.iter().map(|n| n.port).collect();
        wait_for("the cluster to form", Duration::from_secs(20), || {
            self.nodes.iter().all(|n| {
                let nodes: String = n.cmd(&["CLUSTER", "NODES"]).unwrap_or_default();
                let info: String = n.cmd(&["CLUSTER", "INFO"]).unwrap_or_default();
                info.contains("cluster_state:ok")
                    && ports.iter().all(|p| {
                        nodes.lines().any(|l| {
                            l.contains(&format!("127.0.0.1:{p}@"))
                                && l.contains(" connected")
                                && !l.contains("handshake")
                        })
                    })
            })
        });
    }

    /// Start one more node and join it as a replica of node `of`; returns
    /// its index. Waits until it replicates and every node knows it.
    pub fn add_replica(&mut self, of: usize) -> usize {
        let n = RedisServer::start_cluster_node(&[]);
        self.meet(&n);
        self.nodes.push(n);
        self.wait_formed();
        let primary = self.node_id(of);
        let i = self.nodes.len() - 1;
        let _: () = self.nodes[i]
            .cmd(&["CLUSTER", "REPLICATE", &primary])
            .unwrap();
        wait_for("the replica to sync", Duration::from_secs(20), || {
            self.nodes[i]
                .info("replication")
                .contains("master_link_status:up")
        });
        i
    }

    /// Node `i`'s id.
    pub fn node_id(&self, i: usize) -> String {
        self.nodes[i].cmd(&["CLUSTER", "MYID"]).unwrap()
    }

    /// Kill node `i` and make every other node forget it, so it leaves
    /// the cluster for good.
    pub fn remove(&mut self, i: usize) -> String {
        let id = self.node_id(i);
        self.nodes[i].kill();
        for (j, n) in self.nodes.iter().enumerate() {
            if j != i {
                let _: () = n.cmd(&["CLUSTER", "FORGET", &id]).unwrap();
            }
        }
        id
    }

    /// The index of the node that owns `slot` (as node 0 sees the map).
    pub fn owner_of(&self, slot: u16) -> usize {
        let ranges: redis::Value = self.nodes[0].cmd(&["CLUSTER", "SLOTS"]).unwrap();
        let redis::Value::Array(ranges) = ranges else {
            panic!("CLUSTER SLOTS: {ranges:?}");
        };
        for r in ranges {
            let redis::Value::Array(f) = r else { continue };
            let int = |v: &redis::Value| match v {
                redis::Value::Int(n) => *n,
                other => panic!("CLUSTER SLOTS field {other:?}"),
            };
            let (start, end) = (int(&f[0]), int(&f[1]));
            if (start..=end).contains(&i64::from(slot)) {
                let redis::Value::Array(primary) = &f[2] else {
                    panic!("CLUSTER SLOTS primary {:?}", f[2]);
                };
                let port = int(&primary[1]);
                return self
                    .nodes
                    .iter()
                    .position(|n| i64::from(n.port) == port)
                    .expect("the owner is one of ours");
            }
        }
        panic!("slot {slot} has no owner");
    }

    /// Start migrating `slot` from node `from` to node `to` (`IMPORTING` on
    /// the destination first, then `MIGRATING` on the source, as
    /// `redis-cli --cluster reshard` does).
    pub fn begin_migration(&self, slot: u16, from: usize, to: usize) {
        let s = slot.to_string();
        let (from_id, to_id) = (self.node_id(from), self.node_id(to));
        let _: () = self.nodes[to]
            .cmd(&["CLUSTER", "SETSLOT", &s, "IMPORTING", &from_id])
            .unwrap();
        let _: () = self.nodes[from]
            .cmd(&["CLUSTER", "SETSLOT", &s, "MIGRATING", &to_id])
            .unwrap();
    }

    /// `MIGRATE` `keys` from node `from` to node `to` (all at once).
    pub fn migrate_keys(&self, from: usize, to: usize, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        let port = self.nodes[to].port.to_string();
        let mut args = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "10000", "KEYS"];
        args.extend(keys.iter().map(String::as_str));
        let reply: String = self.nodes[from].cmd(&args).unwrap();
        assert_eq!(reply, "OK", "MIGRATE {keys:?}");
    }

    /// The keys node `i` holds in `slot` (no redirection, whatever the
    /// slot's state).
    pub fn keys_in_slot(&self, i: usize, slot: u16) -> Vec<String> {
        self.nodes[i]
            .cmd(&["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "1000000"])
            .unwrap()
    }

    /// End a migration: node `to` owns `slot`, as every node is told (so no
    /// node answers from a stale map while gossip catches up).
    pub fn finish_migration(&self, slot: u16, to: usize) {
        let (s, id) = (slot.to_string(), self.node_id(to));
        for n in &self.nodes {
            let _: () = n.cmd(&["CLUSTER", "SETSLOT", &s, "NODE", &id]).unwrap();
        }
    }

    /// Move `slot` from node `from` to node `to` with all its keys.
    pub fn move_slot(&self, slot: u16, from: usize, to: usize) {
        self.begin_migration(slot, from, to);
        self.migrate_keys(from, to, &self.keys_in_slot(from, slot));
        self.finish_migration(slot, to);
    }
}
