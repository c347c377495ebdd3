//! Where warmed values go: one Redis node, or a Redis Cluster whose writes
//! are grouped by slot owner (one pipeline per node). A `MOVED` key is
//! retried on the slot's new owner; an `ASK` key (its slot is migrating) is
//! retried with `ASKING` on the importing node.

use redis::Value;
use redis::aio::MultiplexedConnection;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::slot::key_slot;
use super::write::{
    Item, Mode, Outcome, Redirect, RedirectKind, write_batch, write_batch_asking, write_batch_then,
};
use crate::fault::Fault;
use crate::sources::redis::endpoint::{self, ServerMode};
use crate::sources::redis::info::Info;
use crate::sources::redis::{NodeConfig, fault};

/// Redirect rounds per batch before a still-redirected key counts as an
/// error (a slot moving twice during one batch is already rare).
pub const MAX_REDIRECTS: usize = 4;

/// A node's address: host and port.
pub type Addr = (String, u16);

/// A slot range and the primary serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRange {
    /// First slot.
    pub start: u16,
    /// Last slot (inclusive).
    pub end: u16,
    /// Primary's address.
    pub addr: Addr,
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
        seed: Box<NodeConfig>,
        /// Slot ownership.
        slots: Vec<SlotRange>,
        /// Open connections by address.
        conns: BTreeMap<Addr, MultiplexedConnection>,
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
    pub async fn open(url: &str) -> Result<Target, Fault> {
        let seed = NodeConfig::new(crate::sample::SourceId(0), url);
        let (mut conn, server) = endpoint::connect(&seed).await?;
        if server.mode != ServerMode::Cluster {
            return Ok(Target::Node(conn));
        }
        let slots = load_slots(&mut conn).await?;
        let mut t = Target::Cluster {
            seed: Box::new(seed),
            slots,
            conns: BTreeMap::new(),
        };
        // Every primary from the start, so the guards watch them all.
        let addrs: Vec<Addr> = match &t {
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

    /// Per node, one pipeline. A `MOVED` key goes again to its slot's new
    /// owner (the map re-read, then corrected by what the nodes said); an
    /// `ASK` key (its slot is migrating and the key is not on the source)
    /// goes with `ASKING` to the importing node, the map left as it is.
    /// A key still redirected after [`MAX_REDIRECTS`] rounds is an error.
    async fn write_cluster(&mut self, mode: Mode, items: Vec<Item>) -> redis::RedisResult<Outcome> {
        let mut out = Outcome::default();
        // Each key, and the node an `ASK` sent it to (`None`: its slot's owner).
        let mut pending: Vec<(Item, Option<Addr>)> = items.into_iter().map(|i| (i, None)).collect();
        for round in 0..=MAX_REDIRECTS {
            if pending.is_empty() {
                break;
            }
            let mut groups: FxHashMap<(Addr, bool), Vec<Item>> = FxHashMap::default();
            for (it, ask) in pending.drain(..) {
                let to = match ask {
                    Some(addr) => (addr, true),
                    None => (self.owner(key_slot(it.key.as_bytes())), false),
                };
                groups.entry(to).or_default().push(it);
            }
            let mut moved: Vec<(u16, Addr)> = Vec::new();
            for ((addr, asking), batch) in groups {
                let conn = self.conn(&addr).await.map_err(io_error)?;
                let mut o = if asking {
                    write_batch_asking(conn, mode, &batch).await?
                } else {
                    write_batch(conn, mode, &batch).await?
                };
                if round == MAX_REDIRECTS {
                    o.settle_redirects();
                } else {
                    let mut batch: Vec<Option<Item>> = batch.into_iter().map(Some).collect();
                    for r in o.redirected.drain(..) {
                        let Some(it) = batch.get_mut(r.index).and_then(Option::take) else {
                            continue;
                        };
                        match r.kind {
                            RedirectKind::Ask => pending.push((it, Some(r.addr))),
                            RedirectKind::Moved => {
                                moved.push((r.slot, r.addr));
                                pending.push((it, None));
                            }
                        }
                    }
                }
                out.add(&o);
            }
            if !moved.is_empty() {
                tracing::debug!(slots = moved.len(), "warm: MOVED, re-reading the slot map");
                // A node that cannot say is no reason to stop: the redirects
                // themselves name the new owners.
                if let Err(e) = self.refresh().await {
                    tracing::warn!("warm: re-reading the slot map: {e}");
                }
                if let Target::Cluster { slots, .. } = self {
                    for (slot, addr) in moved {
                        assign(slots, slot, addr);
                    }
                }
            }
        }
        Ok(out)
    }

    fn owner(&self, slot: u16) -> Addr {
        match self {
            Target::Cluster { slots, seed, .. } => slots
                .iter()
                .find(|r| r.start <= slot && slot <= r.end)
                .map(|r| r.addr.clone())
                .unwrap_or_else(|| seed_addr(seed)),
            Target::Node(_) => (String::new(), 0),
        }
    }

    async fn conn(&mut self, addr: &Addr) -> Result<&mut MultiplexedConnection, Fault> {
        let Target::Cluster { seed, conns, .. } = self else {
            return Err(Fault::Config("not a cluster".into()));
        };
        if !conns.contains_key(addr) {
            let mut cfg = seed.clone();
            cfg.addr = Some(addr.clone());
            let c = endpoint::open(&cfg).await?;
            conns.insert(addr.clone(), c);
        }
        conns
            .get_mut(addr)
            .ok_or_else(|| Fault::Closed("no connection".to_string()))
    }

    /// Re-read the slot map from a node already connected (the seed when
    /// none answers).
    async fn refresh(&mut self) -> Result<(), Fault> {
        let Target::Cluster { seed, slots, conns } = self else {
            return Ok(());
        };
        for c in conns.values_mut() {
            if let Ok(fresh) = load_slots(c).await
                && !fresh.is_empty()
            {
                *slots = fresh;
                return Ok(());
            }
        }
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
        // Each key's index, and the node an `ASK` sent it to (`None`: its
        // slot's owner): a migrating or moved slot is followed as writes are.
        let mut pending: Vec<(usize, Option<Addr>)> = (0..keys.len()).map(|i| (i, None)).collect();
        for round in 0..=MAX_REDIRECTS {
            if pending.is_empty() {
                break;
            }
            let mut groups: BTreeMap<(Addr, bool), Vec<usize>> = BTreeMap::new();
            for (i, ask) in pending.drain(..) {
                let to = match ask {
                    Some(a) => (a, true),
                    None => (self.owner(key_slot(keys[i].as_bytes())), false),
                };
                groups.entry(to).or_default().push(i);
            }
            let mut moved: Vec<(u16, Addr)> = Vec::new();
            for ((addr, asking), idx) in groups {
                let conn = match self {
                    Target::Node(c) => c,
                    Target::Cluster { .. } => self.conn(&addr).await.map_err(io_error)?,
                };
                let mut pipe = redis::pipe();
                pipe.ignore_errors();
                for &i in &idx {
                    if asking {
                        pipe.cmd("ASKING").ignore();
                    }
                    pipe.cmd(cmd).arg(&keys[i]);
                }
                let answers: Vec<redis::RedisResult<Value>> = pipe.query_async(conn).await?;
                for (i, a) in idx.into_iter().zip(answers) {
                    match a {
                        Ok(v) => out[i] = redis::from_redis_value(v)?,
                        Err(e) => match Redirect::from_error(i, &e) {
                            Some(r) if round < MAX_REDIRECTS => match r.kind {
                                RedirectKind::Ask => pending.push((i, Some(r.addr))),
                                RedirectKind::Moved => {
                                    moved.push((r.slot, r.addr));
                                    pending.push((i, None));
                                }
                            },
                            _ => return Err(e),
                        },
                    }
                }
            }
            if let Target::Cluster { slots, .. } = self {
                for (slot, addr) in moved {
                    assign(slots, slot, addr);
                }
            }
        }
        Ok(out)
    }

    /// [`Target::write`], then [`Target::info`], the look taken after the
    /// writes; on one node, in the writes' own round trip.
    pub async fn write_then_info(
        &mut self,
        mode: Mode,
        items: Vec<Item>,
    ) -> redis::RedisResult<(Outcome, Vec<(String, Info)>)> {
        match self {
            Target::Node(c) => {
                let (mut o, reply) = write_batch_then(c, mode, &items, &info_cmd()).await?;
                o.settle_redirects();
                let text: String = redis::from_redis_value(reply?)?;
                Ok((o, vec![(String::new(), Info::parse(&text))]))
            }
            Target::Cluster { .. } => {
                let o = self.write_cluster(mode, items).await?;
                Ok((o, self.info().await?))
            }
        }
    }

    /// The slowest `PING` round trip over the nodes written to, for the
    /// latency guard.
    pub async fn ping(&mut self) -> redis::RedisResult<std::time::Duration> {
        let mut worst = std::time::Duration::ZERO;
        let mut one = |d: std::time::Duration| worst = worst.max(d);
        match self {
            Target::Node(c) => one(ping_of(c).await?),
            Target::Cluster { conns, .. } => {
                for c in conns.values_mut() {
                    one(ping_of(c).await?);
                }
            }
        }
        Ok(worst)
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

/// Make `addr` the owner of `slot` (what a `MOVED` says), splitting the
/// range that held it.
pub fn assign(slots: &mut Vec<SlotRange>, slot: u16, addr: Addr) {
    let mut out = Vec::with_capacity(slots.len() + 2);
    for r in slots.drain(..) {
        if r.start <= slot && slot <= r.end {
            if r.start < slot {
                out.push(SlotRange {
                    end: slot - 1,
                    ..r.clone()
                });
            }
            if slot < r.end {
                out.push(SlotRange {
                    start: slot + 1,
                    ..r.clone()
                });
            }
        } else {
            out.push(r);
        }
    }
    out.push(SlotRange {
        start: slot,
        end: slot,
        addr,
    });
    out.sort_by_key(|r| r.start);
    *slots = out;
}

fn seed_addr(seed: &NodeConfig) -> Addr {
    seed.addr.clone().unwrap_or_else(|| {
        let name = crate::sources::redis::display_name(&seed.url);
        match name.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().unwrap_or(6379)),
            None => (name, 6379),
        }
    })
}

fn io_error(e: Fault) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(e.to_string()))
}

async fn load_slots(c: &mut MultiplexedConnection) -> Result<Vec<SlotRange>, Fault> {
    let v: Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(c)
        .await
        .map_err(|e| fault(&e))?;
    Ok(parse_slots(&v))
}

/// The sections the guards read.
fn info_cmd() -> redis::Cmd {
    let mut c = redis::cmd("INFO");
    c.arg("memory").arg("stats").arg("server");
    c
}

async fn ping_of(c: &mut MultiplexedConnection) -> redis::RedisResult<std::time::Duration> {
    let t = std::time::Instant::now();
    let _: String = redis::cmd("PING").query_async(c).await?;
    Ok(t.elapsed())
}

async fn info_of(c: &mut MultiplexedConnection) -> redis::RedisResult<Info> {
    let text: String = info_cmd().query_async(c).await?;
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

    #[test]
    fn a_moved_slot_is_split_out_of_its_range() {
        let a = |p: u16| ("127.0.0.1".to_string(), p);
        let range = |start, end, p| SlotRange {
            start,
            end,
            addr: a(p),
        };
        let mut slots = vec![range(0, 99, 1), range(100, 199, 2)];
        assign(&mut slots, 50, a(2));
        assert_eq!(
            slots,
            [
                range(0, 49, 1),
                range(50, 50, 2),
                range(51, 99, 1),
                range(100, 199, 2)
            ]
        );
        assign(&mut slots, 0, a(3));
        assign(&mut slots, 199, a(3));
        assert_eq!(slots.first(), Some(&range(0, 0, 3)));
        assert_eq!(slots.last(), Some(&range(199, 199, 3)));
        assert_eq!(slots[1], range(1, 49, 1));
        let covered: u32 = slots.iter().map(|r| u32::from(r.end - r.start) + 1).sum();
        assert_eq!(covered, 200, "every slot still has exactly one owner");
    }
}
