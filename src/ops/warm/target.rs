//! Where warmed values go: one Redis node, or a Redis Cluster whose writes
//! are grouped by slot owner (one pipeline per node) and retried once after
//! a `MOVED` / `ASK` with a fresh slot map.

use redis::Value;
use redis::aio::MultiplexedConnection;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::slot::key_slot;
use super::write::{Item, Mode, Outcome, write_batch};
use crate::sources::redis::NodeConfig;
use crate::sources::redis::endpoint::{self, ServerMode};
use crate::sources::redis::info::Info;

/// A slot range and the primary serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRange {
    /// First slot.
    pub start: u16,
    /// Last slot (inclusive).
    pub end: u16,
    /// Primary's address.
    pub addr: (String, u16),
}

/// `CLUSTER SLOTS` → ranges and their primaries.
pub fn parse_slots(v: &Value) -> Vec<SlotRange> {
    let Value::Array(ranges) = v else {
        return Vec::new();
    };
    let int = |v: Option<&Value>| match v {
        Some(Value::Int(n)) => u16::try_from(*n).ok(),
        _ => None,
    };
    ranges
        .iter()
        .filter_map(|r| {
            let Value::Array(f) = r else { return None };
            let Some(Value::Array(primary)) = f.get(2) else {
                return None;
            };
            let host = match primary.first()? {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                Value::SimpleString(s) => s.clone(),
                _ => return None,
            };
            Some(SlotRange {
                start: int(f.first())?,
                end: int(f.get(1))?,
                addr: (host, int(primary.get(1))?),
            })
        })
        .collect()
}

/// A write target.
pub enum Target {
    /// One node (standalone, or the master a Sentinel names).
    Node(MultiplexedConnection),
    /// A cluster: connections per primary, opened on first use.
    Cluster {
        /// How to reach nodes (URL credentials and TLS).
        seed: NodeConfig,
        /// Slot ownership.
        slots: Vec<SlotRange>,
        /// Open connections by address.
        conns: BTreeMap<(String, u16), MultiplexedConnection>,
    },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Node(_) => f.write_str("Target::Node"),
            Target::Cluster { slots, .. } => write!(f, "Target::Cluster({} ranges)", slots.len()),
        }
    }
}

impl Target {
    /// Connect to `url` (any node of a cluster, a Sentinel URL, a node).
    pub async fn open(url: &str) -> Result<Target, String> {
        let seed = NodeConfig::new(crate::sample::SourceId(0), url);
        let (mut conn, server) = endpoint::connect(&seed).await?;
        if server.mode != ServerMode::Cluster {
            return Ok(Target::Node(conn));
        }
        let slots = load_slots(&mut conn).await?;
        let mut t = Target::Cluster {
            seed,
            slots,
            conns: BTreeMap::new(),
        };
        // Every primary from the start, so the guards watch them all.
        let addrs: Vec<(String, u16)> = match &t {
            Target::Cluster { slots, .. } => slots.iter().map(|r| r.addr.clone()).collect(),
            Target::Node(_) => Vec::new(),
        };
        for a in addrs {
            t.conn(&a).await?;
        }
        Ok(t)
    }

    /// Write `items` in `mode`: per node, one pipeline each.
    pub async fn write(&mut self, mode: Mode, items: Vec<Item>) -> redis::RedisResult<Outcome> {
        match self {
            Target::Node(c) => {
                let mut o = write_batch(c, mode, &items).await?;
                o.settle_redirects();
                Ok(o)
            }
            Target::Cluster { .. } => self.write_cluster(mode, items).await,
        }
    }

    async fn write_cluster(&mut self, mode: Mode, items: Vec<Item>) -> redis::RedisResult<Outcome> {
        let mut out = Outcome::default();
        let mut pending = items;
        for attempt in 0..2 {
            let mut by_node: FxHashMap<(String, u16), Vec<Item>> = FxHashMap::default();
            for it in pending.drain(..) {
                let addr = self.owner(key_slot(it.key.as_bytes()));
                by_node.entry(addr).or_default().push(it);
            }
            let mut moved = Vec::new();
            for (addr, batch) in by_node {
                let conn = self.conn(&addr).await.map_err(io_error)?;
                let mut o = write_batch(conn, mode, &batch).await?;
                // A slot moved under us: re-read the map and try those keys again.
                if attempt == 0 {
                    let mut batch: Vec<Option<Item>> = batch.into_iter().map(Some).collect();
                    moved.extend(o.redirected.drain(..).filter_map(|i| batch[i].take()));
                } else {
                    o.settle_redirects();
                }
                out.add(&o);
            }
            if moved.is_empty() {
                break;
            }
            self.refresh().await.map_err(io_error)?;
            pending = moved;
        }
        Ok(out)
    }

    fn owner(&self, slot: u16) -> (String, u16) {
        match self {
            Target::Cluster { slots, seed, .. } => slots
                .iter()
                .find(|r| r.start <= slot && slot <= r.end)
                .map(|r| r.addr.clone())
                .unwrap_or_else(|| seed_addr(seed)),
            Target::Node(_) => (String::new(), 0),
        }
    }

    async fn conn(&mut self, addr: &(String, u16)) -> Result<&mut MultiplexedConnection, String> {
        let Target::Cluster { seed, conns, .. } = self else {
            return Err("not a cluster".into());
        };
        if !conns.contains_key(addr) {
            let mut cfg = seed.clone();
            cfg.addr = Some(addr.clone());
            let c = endpoint::open(&cfg).await?;
            conns.insert(addr.clone(), c);
        }
        conns
            .get_mut(addr)
            .ok_or_else(|| "no connection".to_string())
    }

    async fn refresh(&mut self) -> Result<(), String> {
        let Target::Cluster { seed, slots, .. } = self else {
            return Ok(());
        };
        let mut c = endpoint::open(seed).await?;
        *slots = load_slots(&mut c).await?;
        Ok(())
    }

    /// Each key's `TYPE` (`none` when absent), for dry runs.
    pub async fn types(&mut self, keys: &[String]) -> redis::RedisResult<Vec<String>> {
        self.per_key("TYPE", keys).await
    }

    /// Each key's `PTTL` (-2 absent, -1 no expiry), for the refresh and
    /// predictive rounds.
    pub async fn pttl(&mut self, keys: &[String]) -> redis::RedisResult<Vec<i64>> {
        self.per_key("PTTL", keys).await
    }

    /// `cmd key` for every key, one pipeline per owning node, answers in
    /// key order.
    async fn per_key<T: redis::FromRedisValue + Default + Clone>(
        &mut self,
        cmd: &str,
        keys: &[String],
    ) -> redis::RedisResult<Vec<T>> {
        let mut out = vec![T::default(); keys.len()];
        let mut groups: BTreeMap<(String, u16), Vec<usize>> = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            groups
                .entry(self.owner(key_slot(k.as_bytes())))
                .or_default()
                .push(i);
        }
        for (addr, idx) in groups {
            let conn = match self {
                Target::Node(c) => c,
                Target::Cluster { .. } => self.conn(&addr).await.map_err(io_error)?,
            };
            let mut pipe = redis::pipe();
            for &i in &idx {
                pipe.cmd(cmd).arg(&keys[i]);
            }
            let answers: Vec<T> = pipe.query_async(conn).await?;
            for (i, t) in idx.into_iter().zip(answers) {
                out[i] = t;
            }
        }
        Ok(out)
    }

    /// `INFO` of every node written to, by address, for the job's guards.
    pub async fn info(&mut self) -> redis::RedisResult<Vec<(String, Info)>> {
        let mut out = Vec::new();
        match self {
            Target::Node(c) => out.push((String::new(), info_of(c).await?)),
            Target::Cluster { conns, .. } => {
                for ((h, p), c) in conns.iter_mut() {
                    out.push((format!("{h}:{p}"), info_of(c).await?));
                }
            }
        }
        Ok(out)
    }
}

fn seed_addr(seed: &NodeConfig) -> (String, u16) {
    seed.addr.clone().unwrap_or_else(|| {
        let name = crate::sources::redis::display_name(&seed.url);
        match name.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().unwrap_or(6379)),
            None => (name, 6379),
        }
    })
}

fn io_error(e: String) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(e))
}

async fn load_slots(c: &mut MultiplexedConnection) -> Result<Vec<SlotRange>, String> {
    let v: Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(c)
        .await
        .map_err(|e| e.to_string())?;
    Ok(parse_slots(&v))
}

async fn info_of(c: &mut MultiplexedConnection) -> redis::RedisResult<Info> {
    let text: String = redis::cmd("INFO")
        .arg("memory")
        .arg("stats")
        .arg("server")
        .query_async(c)
        .await?;
    Ok(Info::parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn cluster_slots_replies_parse() {
        let v = Value::Array(vec![Value::Array(vec![
            Value::Int(0),
            Value::Int(5460),
            Value::Array(vec![b("127.0.0.1"), Value::Int(7000), b("id0")]),
            Value::Array(vec![b("127.0.0.1"), Value::Int(7003), b("id3")]),
        ])]);
        assert_eq!(
            parse_slots(&v),
            [SlotRange {
                start: 0,
                end: 5460,
                addr: ("127.0.0.1".into(), 7000)
            }]
        );
    }
}
