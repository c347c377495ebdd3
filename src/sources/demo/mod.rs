//! The built-in demo workload: a source like any other, as a synchronous
//! `step(now)` core that the live app and the `snapshot` command both drive
//! (no timers inside), seeded so a seed and a time give the same screens.
//!
//! It emits aggregated samples per tick (one `Accesses` sample, not one
//! message per simulated access), with cumulative counters like real servers.

mod jobs;
pub mod rng;
mod sessions;
pub mod world;

use crate::engines::Timestamp;
use crate::sample::{
    AccessAgg, Body, KeyObs, PgStats, RedisStats, Sample, SourceId, SourceKind, SourceStatus,
    TableCounters,
};
use rng::{DemoRng, ZipfTable};
use world::{CLIENTS, HOT_KEYS, HOT_SHARE, KeySim, NodeSim, PgSim, TABLES, TableSim};

/// The demo's fixed epoch: virtual time 0 is Monday 2025-01-06 09:00 UTC.
pub const DEMO_EPOCH: Timestamp = Timestamp::from_secs(1_736_154_000);

/// Redis node names (sources 0..3).
pub const REDIS_NODES: [&str; 3] = ["redis-a", "redis-b", "redis-c"];
/// Postgres endpoints (sources 3..6): a primary and two replicas.
pub const PG_NODES: [&str; 3] = ["pg-primary", "pg-replica-1", "pg-replica-2"];
/// The access-event source (source 6).
pub const EVENTS: &str = "events";

/// Accesses per second at the daily peak.
const PEAK_RATE: f64 = 2_600.0;

/// The demo's sources, in `SourceId` order.
pub fn sources() -> Vec<(SourceId, &'static str, SourceKind)> {
    let mut v: Vec<(SourceId, &'static str, SourceKind)> = REDIS_NODES
        .iter()
        .enumerate()
        .map(|(i, n)| (SourceId(i as u16), *n, SourceKind::Redis))
        .collect();
    for (i, n) in PG_NODES.iter().enumerate() {
        let kind = if i == 0 {
            SourceKind::PgPrimary
        } else {
            SourceKind::PgReplica
        };
        v.push((SourceId(3 + i as u16), n, kind));
    }
    v.push((SourceId(6), EVENTS, SourceKind::Events));
    v
}

/// The simulation.
#[derive(Debug, Clone)]
pub struct Demo {
    rng: DemoRng,
    last: Option<Timestamp>,
    tables: Vec<TableSim>,
    nodes: Vec<NodeSim>,
    pg: Vec<PgSim>,
    key_zipf: ZipfTable,
    table_zipf: ZipfTable,
    burst_until: i64,
    next_failure: i64,
    ticks: u64,
    jobs: Vec<DemoJob>,
    sessions: sessions::DemoSessions,
}

/// A warm job the demo is running against its simulated cache.
#[derive(Debug, Clone)]
struct DemoJob {
    id: u64,
    keys: Vec<String>,
    next: usize,
    tally: crate::engines::warming::Tally,
    cancelled: bool,
}

/// Keys the demo warms per second (in batches of [`WARM_BATCH`]).
pub const WARM_RATE: usize = 300;
/// Keys per simulated pipeline round trip.
pub const WARM_BATCH: usize = 100;

impl Demo {
    /// A demo seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = DemoRng::new(seed);
        let tables = TABLES
            .iter()
            .enumerate()
            .map(|(i, spec)| TableSim {
                node: i % REDIS_NODES.len(),
                tail_fill: spec.cap * 0.9,
                keys: vec![KeySim::default(); HOT_KEYS],
                next_cliff: 0,
            })
            .collect();
        let first_failure = 600_000 + rng.below(600_000) as i64;
        Self {
            rng,
            last: None,
            tables,
            nodes: vec![NodeSim::default(); REDIS_NODES.len()],
            pg: vec![PgSim::default(); PG_NODES.len()],
            key_zipf: ZipfTable::new(HOT_KEYS, 1.1),
            table_zipf: ZipfTable::new(TABLES.len(), 1.1),
            burst_until: 0,
            next_failure: DEMO_EPOCH.as_millis() + first_failure,
            ticks: 0,
            jobs: Vec::new(),
            sessions: sessions::DemoSessions::new(seed),
        }
    }

    /// The key name of hot key `k` of table `t`.
    pub fn key_name(t: usize, k: usize) -> String {
        let name = TABLES.get(t).map_or("unknown", |s| s.name);
        format!("{name}:{}", 1000 + k * 7)
    }

    /// Simulate up to `now` and return what the sources observed this tick.
    pub fn step(&mut self, now: Timestamp) -> Vec<Sample> {
        let ms = now.as_millis();
        let dt_s = self
            .last
            .map_or(1.0, |l| now.secs_since(l))
            .clamp(0.0, 10.0);
        let first = self.last.is_none();
        self.last = Some(now);
        self.ticks += 1;
        let mut out = Vec::new();
        let sample = |source: u16, body: Body| Sample {
            source: SourceId(source),
            generation: 0,
            at: now,
            body,
        };
        if first {
            for (id, name, kind) in sources() {
                out.push(sample(
                    id.0,
                    Body::Hello {
                        name: name.into(),
                        kind,
                    },
                ));
                out.push(sample(id.0, Body::Status(SourceStatus::Connected)));
            }
        }
        self.schedule_events(ms, &mut out);

        let burst = if ms < self.burst_until { 2.4 } else { 1.0 };
        let rate = PEAK_RATE * world::daily_factor(ms) * burst;
        let mut aggs = Vec::new();
        let mut node_traffic = [(0u64, 0u64); 3];
        let mut db_reads = 0u64;
        let mut table_reads = vec![0u64; TABLES.len()];
        for (ti, spec) in TABLES.iter().enumerate() {
            let n = self.rng.count(rate * dt_s * self.table_zipf.share(ti));
            let (hits, misses) = self.access_table(ti, n, ms);
            let node = self.tables[ti].node;
            let down = self.nodes[node].down_until > ms;
            if !down {
                node_traffic[node].0 += u64::from(hits);
                node_traffic[node].1 += u64::from(misses);
            }
            db_reads += u64::from(misses);
            table_reads[ti] = u64::from(misses);
            self.split_by_client(ti, spec, n, hits, down, &mut aggs);
        }
        out.push(sample(6, Body::Accesses(aggs)));

        for (i, node) in self.nodes.iter_mut().enumerate() {
            let id = i as u16;
            // Every sample of a node carries its run: a restart is visible.
            let sample = |source: u16, body: Body| Sample {
                source: SourceId(source),
                generation: node.run as u32,
                at: now,
                body,
            };
            if node.down_until > ms {
                out.push(sample(
                    id,
                    Body::Health {
                        ok: false,
                        rtt_us: None,
                    },
                ));
                continue;
            }
            let (h, m) = node_traffic[i];
            node.hits += h;
            node.misses += m;
            node.commands += h + 2 * m + 1;
            node.expired += self.rng.below(3 + m / 4);
            let rtt = 150.0 + 40.0 * self.rng.noise().abs() + if burst > 1.0 { 120.0 } else { 0.0 };
            out.push(sample(
                id,
                Body::Health {
                    ok: true,
                    rtt_us: Some(rtt as u64),
                },
            ));
            let keys: u64 = 40_000
                + (self
                    .tables
                    .iter()
                    .filter(|t| t.node == i)
                    .map(|t| t.tail_fill)
                    .sum::<f64>()
                    * 20_000.0) as u64;
            out.push(sample(
                id,
                Body::Redis(RedisStats {
                    run_id: node.run,
                    keyspace_hits: node.hits,
                    keyspace_misses: node.misses,
                    commands: node.commands,
                    evicted_keys: 0,
                    expired_keys: node.expired,
                    used_memory: keys * 1_400,
                    maxmemory: 512 * 1024 * 1024,
                    connected_clients: 40 + self.rng.below(8),
                    keys,
                    used_memory_rss: keys * 1_400 + 24 * 1024 * 1024,
                    fragmentation_milli: Some(1_080 + (self.rng.below(60) as u32)),
                    blocked_clients: 0,
                    rejected_connections: 0,
                    master_link_up: None,
                    ..RedisStats::default()
                }),
            ));
        }
        self.step_postgres(now, db_reads, &table_reads, burst, &mut out);
        if self.ticks % 5 == 1 {
            out.extend(self.key_samples(now));
            let runs: Vec<Option<u32>> = (self.nodes.iter())
                .map(|n| (n.down_until <= ms).then_some(n.run as u32))
                .collect();
            out.extend(self.sessions.step(now, &runs));
        }
        self.step_jobs(now, dt_s, &mut out);
        out
    }

    fn schedule_events(&mut self, ms: i64, out: &mut Vec<Sample>) {
        let now = Timestamp(ms);
        if ms >= self.burst_until && self.rng.chance(1.0 / 900.0) {
            self.burst_until = ms + 30_000 + self.rng.below(60_000) as i64;
        }
        // redis-c fails for 45 s now and then; it restarts empty (no persistence).
        let victim = REDIS_NODES.len() - 1;
        let node = &mut self.nodes[victim];
        if node.down_until == 0 && ms >= self.next_failure {
            node.down_until = ms + 45_000;
        }
        if node.down_until != 0 && ms < node.down_until {
            // Down: the next attempt is due every 5 s from the failure; say when.
            let start = node.down_until - 45_000;
            if (ms - start) / 1000 % 5 == 0 {
                out.push(Sample {
                    source: SourceId(victim as u16),
                    generation: node.run as u32,
                    at: now,
                    body: Body::Status(SourceStatus::Retrying {
                        at: now.add_secs(5),
                        reason: "connection refused".into(),
                    }),
                });
            }
        } else if node.down_until != 0 && ms >= node.down_until {
            node.down_until = 0;
            node.run += 1;
            node.hits = 0;
            node.misses = 0;
            node.commands = 0;
            node.expired = 0;
            self.next_failure = ms + 1_200_000 + self.rng.below(1_200_000) as i64;
            for t in self.tables.iter_mut().filter(|t| t.node == victim) {
                t.tail_fill = 0.0;
                t.keys.iter_mut().for_each(|k| k.expire_at = 0);
            }
            let run = self.nodes[victim].run as u32;
            out.push(Sample {
                source: SourceId(victim as u16),
                generation: run,
                at: now,
                body: Body::Status(SourceStatus::Connected),
            });
        }
    }

    /// Serve `n` accesses of table `ti`: hot keys by their own state, the
    /// tail by its fill level. Misses refill the cache (cache-aside).
    fn access_table(&mut self, ti: usize, n: u32, ms: i64) -> (u32, u32) {
        let spec = TABLES[ti];
        let node_down = self.nodes[self.tables[ti].node].down_until > ms;
        let ttl_ms = i64::from(spec.ttl_s) * 1000;
        let hot = self.rng.binomial(n, HOT_SHARE);
        let mut hits = 0u32;
        for k in 0..HOT_KEYS {
            let c = self.rng.binomial(hot, self.key_zipf.share(k));
            let jitter = if spec.cliff {
                0
            } else {
                self.rng.below(ttl_ms as u64 / 5 + 1) as i64
            };
            let key = &mut self.tables[ti].keys[k];
            key.accesses = key.accesses.saturating_add(c);
            if c == 0 {
                continue;
            }
            if node_down {
                continue;
            }
            if key.expire_at > ms {
                hits += c;
            } else {
                hits += c - 1;
                key.expire_at = ms + ttl_ms - jitter;
            }
        }
        let table = &mut self.tables[ti];
        if spec.cliff && ms >= table.next_cliff {
            // A batch job reloads the whole table with one TTL: a cliff later.
            table.next_cliff = ms + ttl_ms;
            table
                .keys
                .iter_mut()
                .for_each(|k| k.expire_at = ms + ttl_ms);
            table.tail_fill = spec.cap;
        }
        let tail = n.saturating_sub(hot);
        let tail_hits = if node_down {
            0
        } else {
            // tail_fill already settles at the table's cap (cache-aside refill).
            self.rng.binomial(tail, table.tail_fill)
        };
        let tail_misses = tail - tail_hits;
        if !node_down {
            let refill = f64::from(tail_misses) / 4_000.0;
            let decay = (-1.0 / f64::from(spec.ttl_s.max(1))).exp();
            table.tail_fill = ((table.tail_fill + refill) * decay).clamp(0.0, spec.cap);
        }
        hits += tail_hits;
        (hits.min(n), n - hits.min(n))
    }

    fn split_by_client(
        &mut self,
        ti: usize,
        spec: &world::TableSpec,
        n: u32,
        hits: u32,
        down: bool,
        aggs: &mut Vec<AccessAgg>,
    ) {
        let (mut left_n, mut left_h) = (n, hits);
        let mut left_w = 1.0;
        for (ci, (client, w)) in CLIENTS.iter().enumerate() {
            let last = ci + 1 == CLIENTS.len();
            let p = if left_w > 0.0 { w / left_w } else { 1.0 };
            let c = if last {
                left_n
            } else {
                self.rng.binomial(left_n, p)
            };
            let h = if last || left_n == 0 {
                left_h.min(c)
            } else {
                self.rng
                    .binomial(c, f64::from(left_h) / f64::from(left_n))
                    .min(left_h)
            };
            left_n -= c;
            left_h -= h;
            left_w -= w;
            if c == 0 {
                continue;
            }
            let err_p = if down { 0.02 } else { 0.001 } + if ti == 14 { 0.004 } else { 0.0 };
            let errors = self.rng.binomial(c, err_p);
            let cost = u64::from(spec.cost_us);
            aggs.push(AccessAgg {
                client: (*client).into(),
                table: spec.name.into(),
                query: Some(spec.query.into()),
                op: if ti == 4 && ci == 3 {
                    "set".into()
                } else {
                    "get".into()
                },
                count: c,
                lookups: c,
                hits: h,
                errors,
                saved_us: u64::from(h) * cost,
                latency_us: u64::from(h) * 250 + u64::from(c - h) * (cost + 300),
            });
        }
    }

    fn step_postgres(
        &mut self,
        now: Timestamp,
        db_reads: u64,
        table_reads: &[u64],
        burst: f64,
        out: &mut Vec<Sample>,
    ) {
        let shares = [0.2, 0.4, 0.4];
        for (i, pg) in self.pg.iter_mut().enumerate() {
            let id = (3 + i) as u16;
            let reads = (db_reads as f64 * shares[i]) as u64 + if i == 0 { 40 } else { 0 };
            pg.xacts += reads + self.rng.below(5);
            pg.rollbacks += self.rng.below(2);
            let blocks = reads * 4;
            let miss = ((blocks as f64) * (0.012 + 0.01 * self.rng.unit())) as u64;
            pg.blks_read += miss;
            pg.blks_hit += blocks - miss.min(blocks);
            pg.lag = if i == 0 {
                0
            } else {
                (pg.lag as f64 * 0.7 + 2_000.0 * self.rng.unit() * burst) as u64
            };
            let rtt =
                420.0 + 90.0 * self.rng.noise().abs() + 150.0 * (burst - 1.0) + i as f64 * 60.0;
            out.push(Sample {
                source: SourceId(id),
                generation: 0,
                at: now,
                body: Body::Health {
                    ok: true,
                    rtt_us: Some(rtt as u64),
                },
            });
            out.push(Sample {
                source: SourceId(id),
                generation: 0,
                at: now,
                body: Body::Postgres(PgStats {
                    epoch: 0,
                    xacts: pg.xacts,
                    rollbacks: pg.rollbacks,
                    blks_hit: pg.blks_hit,
                    blks_read: pg.blks_read,
                    connections: 24 + self.rng.below(10) + (i == 0) as u64 * 12,
                    lag_bytes: pg.lag,
                    size_bytes: 38 * 1024 * 1024 * 1024,
                    detail: None,
                }),
            });
        }
        // Per-table block counters (cumulative, like pg_statio_user_tables):
        // reads follow the cache misses; how many hit shared buffers differs per table.
        let p = &mut self.pg[0];
        p.tables.resize(TABLES.len(), (0, 0));
        for (i, reads) in table_reads.iter().enumerate() {
            let blocks = reads * 4 + 2;
            let miss_share = 0.002 + 0.004 * (i % 7) as f64;
            let miss = (blocks as f64 * miss_share).round() as u64;
            let t = &mut p.tables[i];
            t.0 += blocks - miss.min(blocks);
            t.1 += miss;
        }
        if self.ticks % 10 == 1 {
            let counters = TABLES
                .iter()
                .zip(&self.pg[0].tables)
                .map(|(t, &(hit, read))| TableCounters {
                    table: t.name.into(),
                    blks_hit: hit,
                    blks_read: read,
                    ..TableCounters::default()
                })
                .collect();
            out.push(Sample {
                source: SourceId(3),
                generation: 0,
                at: now,
                body: Body::Tables(counters),
            });
        }
    }

    /// What a key sampler would see of the hot keys; resets access counts.
    fn key_samples(&mut self, now: Timestamp) -> Vec<Sample> {
        let ms = now.as_millis();
        let mut per_node: Vec<Vec<KeyObs>> = vec![Vec::new(); REDIS_NODES.len()];
        for (ti, table) in self.tables.iter_mut().enumerate() {
            if self.nodes[table.node].down_until > ms {
                continue;
            }
            for (k, key) in table.keys.iter_mut().enumerate() {
                let ttl_ms = (key.expire_at > ms).then(|| key.expire_at - ms);
                per_node[table.node].push(KeyObs {
                    key: Self::key_name(ti, k),
                    node: SourceId(table.node as u16),
                    ttl_ms,
                    accesses: std::mem::take(&mut key.accesses),
                });
            }
        }
        per_node
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, keys)| Sample {
                source: SourceId(i as u16),
                generation: self.nodes[i].run as u32,
                at: now,
                body: Body::Keys(keys),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, secs: i64) -> Vec<Sample> {
        let mut d = Demo::new(seed);
        let mut last = Vec::new();
        for s in 0..secs {
            last = d.step(DEMO_EPOCH.add_secs(s));
        }
        last
    }

    #[test]
    fn same_seed_same_samples() {
        assert_eq!(run(7, 120), run(7, 120));
        assert_ne!(run(7, 120), run(8, 120));
    }

    #[test]
    fn emits_every_kind_of_sample() {
        let mut d = Demo::new(1);
        let first = d.step(DEMO_EPOCH);
        let has = |f: &dyn Fn(&Body) -> bool| first.iter().any(|s| f(&s.body));
        assert!(has(&|b| matches!(b, Body::Hello { .. })));
        assert!(has(&|b| matches!(b, Body::Accesses(a) if !a.is_empty())));
        assert!(has(&|b| matches!(b, Body::Redis(_))));
        assert!(has(&|b| matches!(b, Body::Postgres(_))));
        assert!(has(&|b| matches!(b, Body::Tables(_))));
        assert!(has(&|b| matches!(b, Body::Keys(_))));
    }

    #[test]
    fn a_node_fails_and_comes_back_with_a_new_run() {
        let mut d = Demo::new(3);
        let (mut down, mut back) = (false, false);
        for s in 0..2400 {
            for smp in d.step(DEMO_EPOCH.add_secs(s)) {
                match smp.body {
                    Body::Health { ok: false, .. } => down = true,
                    Body::Redis(r) if down && r.run_id > 0 => back = true,
                    _ => {}
                }
            }
        }
        assert!(down && back);
    }

    #[test]
    fn warm_jobs_progress_in_batches_and_cancel() {
        let mut d = Demo::new(1);
        d.step(DEMO_EPOCH);
        let keys: Vec<String> = (0..700).map(|i| format!("users:{i}")).collect();
        d.submit_warm(1, keys);
        let progress = |samples: Vec<Sample>| {
            samples.into_iter().find_map(|s| match s.body {
                Body::WarmProgress(p) => Some(p),
                _ => None,
            })
        };
        let p = progress(d.step(DEMO_EPOCH.add_secs(1))).expect("progress");
        assert_eq!(
            (p.tally.handled(), p.finished.clone()),
            (WARM_RATE as u64, None)
        );
        d.cancel_warm(1);
        let p = progress(d.step(DEMO_EPOCH.add_secs(2))).expect("progress");
        assert_eq!(p.finished, Some(Err("cancelled".into())));
        assert!(progress(d.step(DEMO_EPOCH.add_secs(3))).is_none());
    }

    #[test]
    fn warming_fills_missing_keys() {
        let mut d = Demo::new(1);
        d.step(DEMO_EPOCH);
        let key = Demo::key_name(0, 39);
        let t = d.warm(&[key, "nope:1".into()], DEMO_EPOCH);
        assert_eq!((t.written, t.no_rule), (1, 1));
        assert!(d.tables[0].keys[39].expire_at > DEMO_EPOCH.as_millis());
    }
}
