//! Redis Cluster: from any one node, find all nodes (`CLUSTER SHARDS`, or
//! `CLUSTER NODES` where SHARDS is missing or refused), identify each by its
//! node id (not its address), poll each as its own source, and follow the
//! topology: read again every few seconds and as soon as a node's
//! connection fails. New nodes get a fresh source; a node that moved is
//! re-polled at its new address under the same source; a node that left is
//! stopped and marked so. Roles (primary / replica, failovers) come from
//! each node's own `INFO`.
//!
//! The supervisor is also what decides that a TCP URL is a single node: if
//! the server says it is not a cluster node, the URL is polled as one node
//! and the supervisor ends.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use redis::aio::MultiplexedConnection;
use tokio::sync::{Notify, mpsc};

use super::endpoint::{self, Endpoint, ServerMode, Target, host_port, pairs, text};
use super::{NodeConfig, NodeTasks, fault, spawn_node, wall_now};
use crate::fault::Fault;
use crate::sample::{Body, Sample, SourceId, SourceStatus};

/// One node as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// Node id (40 hex characters).
    pub id: String,
    /// Address clients should use.
    pub host: String,
    /// Port clients should use (the TLS port for a TLS seed, when given).
    pub port: u16,
    /// Listed as a primary.
    pub primary: bool,
}

/// Cluster nodes watched at most (Redis Cluster's own limit is about a
/// thousand): each is a task and a connection.
pub const MAX_CLUSTER_NODES: usize = 1_000;

/// The first [`MAX_CLUSTER_NODES`] nodes a server listed.
fn capped(mut nodes: Vec<ClusterNode>) -> Vec<ClusterNode> {
    if nodes.len() > MAX_CLUSTER_NODES {
        tracing::warn!(
            listed = nodes.len(),
            kept = MAX_CLUSTER_NODES,
            "cluster lists more nodes than are watched"
        );
        nodes.truncate(MAX_CLUSTER_NODES);
    }
    nodes
}

/// Parse a `CLUSTER NODES` reply. Nodes still in handshake or without an
/// address are left out (they get a source once they have one).
pub fn parse_nodes(text: &str) -> Vec<ClusterNode> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (id, addr, flags) = (f.next()?, f.next()?, f.next()?);
            if flags.split(',').any(|x| x == "handshake" || x == "noaddr") {
                return None;
            }
            let (addr, hostname) = addr.split_once(',').unwrap_or((addr, ""));
            let addr = addr.split_once('@').map_or(addr, |(a, _)| a);
            let (ip, port) = addr.rsplit_once(':')?;
            let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
            let host = if ip.is_empty() { hostname } else { ip };
            (!host.is_empty() && !id.is_empty()).then(|| ClusterNode {
                id: id.to_string(),
                host: host.to_string(),
                port,
                primary: flags.split(',').any(|x| x == "master"),
            })
        })
        .collect()
}

/// Parse a `CLUSTER SHARDS` reply (RESP2 arrays or RESP3 maps). With
/// `tls`, a node's `tls-port` is preferred.
pub fn parse_shards(v: &Value, tls: bool) -> Vec<ClusterNode> {
    let Value::Array(shards) = v else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for shard in shards {
        for (k, nodes) in pairs(shard) {
            let (true, Value::Array(nodes)) = (k == "nodes", nodes) else {
                continue;
            };
            for node in nodes {
                let f: BTreeMap<String, String> = pairs(node)
                    .into_iter()
                    .filter_map(|(k, v)| text(v).map(|t| (k, t)))
                    .collect();
                let get = |k: &str| f.get(k).map(String::as_str).filter(|s| !s.is_empty());
                let port = |k: &str| {
                    get(k)
                        .and_then(|p| p.parse::<u16>().ok())
                        .filter(|p| *p > 0)
                };
                let port = if tls {
                    port("tls-port").or_else(|| port("port"))
                } else {
                    port("port").or_else(|| port("tls-port"))
                };
                let host = get("endpoint").filter(|e| *e != "?").or_else(|| get("ip"));
                if let (Some(id), Some(host), Some(port)) = (get("id"), host, port) {
                    out.push(ClusterNode {
                        id: id.to_string(),
                        host: host.to_string(),
                        port,
                        primary: get("role") == Some("master"),
                    });
                }
            }
        }
    }
    out
}

/// Did a `CLUSTER SHARDS` reply list any shard (even one whose nodes
/// have no address yet)?
fn shards_listed(v: &Value) -> bool {
    matches!(v, Value::Array(a) if !a.is_empty())
}

/// The display name of a cluster node: its address and the start of its id.
pub fn node_name(host: &str, port: u16, id: &str) -> String {
    let short: String = id.chars().take(6).collect();
    format!("{} {short}", host_port(host, port))
}

/// What one look at the seed or the cluster found.
enum Found {
    /// The seed is not a cluster node.
    Standalone,
    /// The cluster's nodes.
    Cluster(Vec<ClusterNode>),
}

/// The supervisor's own connection to one cluster node.
struct Probe {
    conn: MultiplexedConnection,
    /// That node's id (`CLUSTER MYID`).
    node: String,
    /// Where it was reached, and whether it is a primary: a node that
    /// never met another lists itself without an address.
    at: (String, u16, bool),
    /// `CLUSTER SHARDS` still worth trying.
    shards: bool,
}

impl Probe {
    /// The node's own entry, where a listing (not empty) left it out for
    /// want of an address it knows (a one-node cluster): where it was
    /// reached.
    fn with_self(&self, mut nodes: Vec<ClusterNode>) -> Vec<ClusterNode> {
        if !nodes.iter().any(|n| n.id == self.node) {
            nodes.push(ClusterNode {
                id: self.node.clone(),
                host: self.at.0.clone(),
                port: self.at.1,
                primary: self.at.2,
            });
        }
        nodes
    }
}

struct Running {
    id: SourceId,
    host: String,
    port: u16,
    tasks: NodeTasks,
}

struct Supervisor {
    seed: NodeConfig,
    seed_addr: Option<(String, u16)>,
    tls: bool,
    ids: super::SourceIds,
    tx: mpsc::Sender<Vec<Sample>>,
    notify: Arc<Notify>,
    /// By node id.
    members: BTreeMap<String, Running>,
    /// The seed polled as a plain node while the supervisor cannot tell
    /// what it is (it is down): it shows its own status meanwhile.
    plain: Option<NodeTasks>,
    /// The seed's node id, once a connection to it said.
    seed_node: Option<String>,
    seed_id_used: bool,
    probe: Option<Probe>,
}

/// Watch the URL in `seed`: one node, or every node of its cluster.
pub async fn supervise(
    seed: NodeConfig,
    every: Duration,
    ids: super::SourceIds,
    tx: mpsc::Sender<Vec<Sample>>,
) {
    let ep = Endpoint::parse(&seed.url).ok();
    let seed_addr = match ep.as_ref().map(|e| &e.target) {
        Some(Target::Tcp { host, port }) => Some((host.clone(), *port)),
        _ => None,
    };
    let mut sup = Supervisor {
        tls: ep.as_ref().is_some_and(|e| e.tls),
        seed,
        seed_addr,
        ids,
        tx,
        notify: Arc::new(Notify::new()),
        members: BTreeMap::new(),
        plain: None,
        seed_node: None,
        seed_id_used: false,
        probe: None,
    };
    loop {
        match sup.discover().await {
            Ok(Found::Standalone) if sup.members.is_empty() => {
                if sup.plain.is_none() {
                    sup.plain = Some(spawn_node(sup.seed.clone(), sup.tx.clone()));
                }
                tracing::info!(node = %super::display_name(&sup.seed.url), "not a cluster node");
                // The plain node's tasks outlive the supervisor.
                return;
            }
            Ok(Found::Standalone) => {}
            Ok(Found::Cluster(nodes)) => sup.reconcile(nodes).await,
            Err(e) => {
                tracing::warn!(seed = %super::display_name(&sup.seed.url), error = %e, "cluster topology unreadable");
                if sup.members.is_empty() && sup.plain.is_none() {
                    sup.plain = Some(spawn_node(sup.seed.clone(), sup.tx.clone()));
                }
            }
        }
        if sup.tx.is_closed() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = sup.notify.notified() => {
                // A node failed: look again soon, but not more than once per retry pause.
                tokio::time::sleep(sup.seed.retry).await;
            }
        }
    }
}

impl Supervisor {
    /// Addresses to ask, the seed first.
    fn candidates(&self) -> Vec<(String, u16)> {
        let mut out: Vec<(String, u16)> = self.seed_addr.iter().cloned().collect();
        for m in self.members.values() {
            let a = (m.host.clone(), m.port);
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// Count `n` commands the supervisor made `node` execute, so the
    /// node's figures leave them out.
    fn charge(&self, node: &str, n: u64) {
        if let Some(m) = self.members.get(node) {
            m.tasks.own().add(n, 0, 0);
        }
    }

    async fn discover(&mut self) -> Result<Found, Fault> {
        let mut last = Fault::Config("no address to ask".into());
        if let Some(mut p) = self.probe.take() {
            match self.read(&mut p).await {
                Ok(nodes) => {
                    self.probe = Some(p);
                    return Ok(Found::Cluster(nodes));
                }
                Err(e) => last = e,
            }
        }
        for (i, (host, port)) in self.candidates().into_iter().enumerate() {
            let is_seed = i == 0 && self.seed_addr.is_some();
            let mut cfg = self.seed.clone();
            cfg.addr = Some((host.clone(), port));
            let (mut conn, server) = match endpoint::connect(&cfg).await {
                Ok(c) => c,
                Err(e) => {
                    last = e.context(host_port(&host, port));
                    continue;
                }
            };
            if server.mode != ServerMode::Cluster {
                if is_seed {
                    return Ok(Found::Standalone);
                }
                continue;
            }
            let node: String = match redis::cmd("CLUSTER")
                .arg("MYID")
                .query_async(&mut conn)
                .await
            {
                Ok(id) => id,
                Err(e) => {
                    last = fault(&e);
                    continue;
                }
            };
            self.charge(&node, server.commands + 1);
            if is_seed {
                self.seed_node = Some(node.clone());
            }
            let primary = server.role != Some(crate::sample::RedisRole::Replica);
            let mut p = Probe {
                conn,
                node,
                at: (host.clone(), port, primary),
                shards: true,
            };
            match self.read(&mut p).await {
                Ok(nodes) => {
                    self.probe = Some(p);
                    return Ok(Found::Cluster(nodes));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The cluster's nodes as `p`'s node sees them.
    async fn read(&self, p: &mut Probe) -> Result<Vec<ClusterNode>, Fault> {
        if p.shards {
            match redis::cmd("CLUSTER")
                .arg("SHARDS")
                .query_async::<Value>(&mut p.conn)
                .await
            {
                Ok(v) => {
                    self.charge(&p.node, 1);
                    let nodes = parse_shards(&v, self.tls);
                    if !nodes.is_empty() || shards_listed(&v) {
                        return Ok(capped(p.with_self(nodes)));
                    }
                    p.shards = false;
                }
                // Older than 7.0, or not allowed by the ACL: CLUSTER NODES instead.
                Err(e) if e.kind() != redis::ErrorKind::Io && !e.is_timeout() => p.shards = false,
                Err(e) => return Err(fault(&e)),
            }
        }
        let text: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(&mut p.conn)
            .await
            .map_err(|e| fault(&e))?;
        self.charge(&p.node, 1);
        let nodes = parse_nodes(&text);
        let listed = text.lines().any(|l| !l.trim().is_empty());
        Ok(capped(if listed { p.with_self(nodes) } else { nodes }))
    }

    fn node_config(&self, id: SourceId, n: &ClusterNode) -> NodeConfig {
        let mut cfg = self.seed.clone();
        cfg.id = id;
        cfg.addr = Some((n.host.clone(), n.port));
        cfg.name = Some(node_name(&n.host, n.port, &n.id));
        cfg.topology = Some(self.notify.clone());
        cfg
    }

    async fn reconcile(&mut self, nodes: Vec<ClusterNode>) {
        for n in &nodes {
            let id = match self.members.get(&n.id) {
                Some(m) if m.host == n.host && m.port == n.port => continue,
                Some(_) => match self.members.remove(&n.id) {
                    Some(old) => {
                        tracing::info!(node = %n.id, to = %host_port(&n.host, n.port), "cluster node moved");
                        old.tasks.stop().await;
                        old.id
                    }
                    None => continue,
                },
                None if !self.seed_id_used && self.seed_node.as_deref() == Some(n.id.as_str()) => {
                    self.seed_id_used = true;
                    if let Some(plain) = self.plain.take() {
                        plain.stop().await;
                    }
                    self.seed.id
                }
                None => self.ids.next(),
            };
            tracing::info!(node = %n.id, addr = %host_port(&n.host, n.port), source = id.0, "polling cluster node");
            let tasks = spawn_node(self.node_config(id, n), self.tx.clone());
            self.members.insert(
                n.id.clone(),
                Running {
                    id,
                    host: n.host.clone(),
                    port: n.port,
                    tasks,
                },
            );
        }
        let gone: Vec<String> = self
            .members
            .keys()
            .filter(|k| !nodes.iter().any(|n| &n.id == *k))
            .cloned()
            .collect();
        for key in gone {
            let Some(m) = self.members.remove(&key) else {
                continue;
            };
            tracing::info!(node = %key, "cluster node left");
            if self.probe.as_ref().is_some_and(|p| p.node == key) {
                self.probe = None;
            }
            m.tasks.stop().await;
            let at = wall_now();
            let short: String = key.chars().take(6).collect();
            let bodies = [
                Body::Health {
                    ok: false,
                    rtt_us: None,
                },
                Body::Status(SourceStatus::Error(format!(
                    "left the cluster (node {short} is no longer listed)"
                ))),
            ];
            let samples = bodies
                .into_iter()
                .map(|body| Sample {
                    source: m.id,
                    generation: 0,
                    at,
                    body,
                })
                .collect();
            let _ = self.tx.send(samples).await;
        }
    }
}

#[cfg(test)]
mod tests;
