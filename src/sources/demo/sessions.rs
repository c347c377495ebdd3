//! The demo's sessions: what `CLIENT LIST` and `pg_stat_activity` would
//! show every 5 s on its servers. A few named clients per Redis node and
//! heliostat's own; on `redis-a` a pub/sub consumer that stopped reading,
//! its output buffer growing until the server drops it (every 15 min,
//! its `client-output-buffer-limit`) and it reconnects. On the Postgres
//! primary: web sessions, a `batch-etl` transaction left idle for two of
//! every ten minutes, and a `checkout` update waiting on its row lock
//! meanwhile; a long report on a replica. Deterministic: a seed and the
//! virtual clock give the same lists (its own RNG, so the rest of the
//! demo draws the same numbers as before).

use super::rng::DemoRng;
use super::world::{CLIENTS, TABLES};
use super::{PG_NODES, REDIS_NODES};
use crate::engines::Timestamp;
use crate::engines::sessions::{ClientList, PgSession, PgSessionList, PgState, RedisClient};
use crate::sample::{Body, Sample, SourceId};
use crate::sources::postgres::activity::redact;

/// The stalled consumer's buffer grows by this many bytes a second.
const STALL_BYTES_PER_S: u64 = 40 * 1024;
/// …for this long, then the server drops it and it reconnects.
const STALL_CYCLE_S: u64 = 900;
/// The batch transaction's cycle and how long it stays idle in it.
const BATCH_CYCLE_S: u64 = 600;
const BATCH_IDLE_S: u64 = 120;

/// Generates the lists.
#[derive(Debug, Clone)]
pub struct DemoSessions {
    rng: DemoRng,
    start: Option<Timestamp>,
}

impl DemoSessions {
    /// Lists for the demo seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: DemoRng::new(seed ^ 0x5e55_1045),
            start: None,
        }
    }

    /// The lists at `now` of the nodes that are up (`runs[i]`: `redis-i`'s
    /// run, its samples' generation; `None`: down), and of every Postgres
    /// endpoint.
    pub fn step(&mut self, now: Timestamp, runs: &[Option<u32>]) -> Vec<Sample> {
        let start = *self.start.get_or_insert(now);
        let t = now.millis_since(start) / 1000;
        let mut out = Vec::new();
        for (i, _) in REDIS_NODES.iter().enumerate() {
            if let Some(run) = runs.get(i).copied().flatten() {
                let list = self.redis(i, t);
                let mut s = sample(i as u16, now, Body::RedisClients(list));
                s.generation = run;
                out.push(s);
            }
        }
        for (i, _) in PG_NODES.iter().enumerate() {
            let list = self.postgres(i, t);
            out.push(sample(3 + i as u16, now, Body::PgSessions(list)));
        }
        out
    }

    fn redis(&mut self, node: usize, t: u64) -> ClientList {
        let mut rows = vec![RedisClient {
            id: 3,
            addr: "10.0.9.9:41000".into(),
            name: "heliostat".into(),
            age_s: t,
            flags: "N".into(),
            cmd: "client|list".into(),
            tot_mem: Some(22_400),
            own: true,
            ..RedisClient::default()
        }];
        let mut id = 10;
        for (ci, (name, share)) in CLIENTS.iter().enumerate() {
            let conns = 1 + (share * 10.0) as u64;
            for k in 0..conns {
                id += 1;
                let (cmd, flags) = if *name == "batch-etl" {
                    ("set", "N")
                } else {
                    (["get", "mget", "expire"][(k % 3) as usize], "N")
                };
                rows.push(RedisClient {
                    id,
                    addr: format!("10.0.{}.{}:{}", ci + 1, 10 + k, 50_000 + id),
                    laddr: Some(format!("10.0.0.{}:6379", node + 1)),
                    name: (*name).into(),
                    user: Some("app".into()),
                    age_s: t + 3_600,
                    idle_s: self.rng.below(3),
                    flags: flags.into(),
                    cmd: cmd.into(),
                    tot_mem: Some(20_000 + self.rng.below(40_000)),
                    qbuf: self.rng.below(2) * 26,
                    ..RedisClient::default()
                });
            }
        }
        // An unnamed monitoring probe.
        rows.push(RedisClient {
            id: 90,
            addr: "10.0.7.17:33000".into(),
            age_s: t + 86_400,
            idle_s: 5 + self.rng.below(10),
            flags: "N".into(),
            cmd: "ping".into(),
            tot_mem: Some(18_000),
            ..RedisClient::default()
        });
        if node == 0 {
            let cycle = t / STALL_CYCLE_S;
            let into = t % STALL_CYCLE_S;
            let omem = into * STALL_BYTES_PER_S;
            rows.push(RedisClient {
                id: 1_000 + cycle,
                addr: format!("10.0.8.4:{}", 44_000 + cycle % 1_000),
                name: "events-fanout".into(),
                user: Some("app".into()),
                age_s: into,
                idle_s: into,
                flags: "P".into(),
                cmd: "subscribe".into(),
                omem,
                tot_mem: Some(omem + 21_000),
                sub: 1,
                ..RedisClient::default()
            });
        }
        ClientList {
            total: rows.len() as u32,
            rows,
            cut: 0,
            note: None,
        }
    }

    fn postgres(&mut self, endpoint: usize, t: u64) -> PgSessionList {
        let mut rows = vec![PgSession {
            pid: 4_100 + endpoint as u32,
            user: Some("heliostat".into()),
            database: Some("shop".into()),
            application: "heliostat".into(),
            client: Some("10.0.9.9:52000".into()),
            state: PgState::Active,
            query_ms: Some(0),
            xact_ms: Some(0),
            state_ms: Some(0),
            query: Some(redact(
                "SELECT pid, usename FROM pg_stat_activity LIMIT 500",
            )),
            own: true,
            ..PgSession::default()
        }];
        let web = if endpoint == 0 { 6 } else { 3 };
        for k in 0..web {
            let active = self.rng.chance(0.3);
            let table = &TABLES[(k as usize * 3) % TABLES.len()];
            let ms = self.rng.below(if active { 40 } else { 9_000 });
            rows.push(PgSession {
                pid: 5_000 + 100 * endpoint as u32 + k,
                user: Some("app".into()),
                database: Some("shop".into()),
                application: "web".into(),
                client: Some(format!("10.0.1.{}:{}", 10 + k, 51_000 + k)),
                state: if active {
                    PgState::Active
                } else {
                    PgState::Idle
                },
                query_ms: Some(ms),
                xact_ms: active.then_some(ms),
                state_ms: Some(ms),
                query: Some(redact(table.query)),
                ..PgSession::default()
            });
        }
        let into = t % BATCH_CYCLE_S;
        if endpoint == 0 && into < BATCH_IDLE_S {
            let batch_pid = 6_001;
            rows.push(PgSession {
                pid: batch_pid,
                user: Some("etl".into()),
                database: Some("shop".into()),
                application: "batch-etl".into(),
                client: Some("10.0.5.10:40100".into()),
                state: PgState::IdleInTransaction,
                query_ms: Some(into * 1000),
                xact_ms: Some(into * 1000 + 1_500),
                state_ms: Some(into * 1000),
                query: Some(redact(
                    "UPDATE orders SET status = 'exported' WHERE batch_id = 77 AND status = 'paid'",
                )),
                ..PgSession::default()
            });
            let waited = into.saturating_sub(20);
            if into >= 20 {
                rows.push(PgSession {
                    pid: 6_020,
                    user: Some("app".into()),
                    database: Some("shop".into()),
                    application: "checkout".into(),
                    client: Some("10.0.4.11:40200".into()),
                    state: PgState::Active,
                    wait: Some(("Lock".into(), "transactionid".into())),
                    query_ms: Some(waited * 1000),
                    xact_ms: Some(waited * 1000 + 3),
                    state_ms: Some(waited * 1000),
                    blocked_by: vec![batch_pid],
                    query: Some(redact(
                        "UPDATE orders SET status = 'shipped' WHERE id = 90211",
                    )),
                    ..PgSession::default()
                });
            }
        }
        if endpoint == 1 {
            let ms = (t % 300) * 1000;
            rows.push(PgSession {
                pid: 7_300,
                user: Some("analyst".into()),
                database: Some("shop".into()),
                application: "search".into(),
                client: Some("10.0.3.40:47000".into()),
                state: PgState::Active,
                wait: Some(("IO".into(), "DataFileRead".into())),
                query_ms: Some(ms),
                xact_ms: Some(ms),
                state_ms: Some(ms),
                query: Some(redact(TABLES[TABLES.len() - 1].query)),
                ..PgSession::default()
            });
        }
        PgSessionList {
            total: rows.len() as u32,
            rows,
            cut: 0,
            note: None,
        }
    }
}

fn sample(source: u16, at: Timestamp, body: Body) -> Sample {
    Sample {
        source: SourceId(source),
        generation: 0,
        at,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(seed: u64, secs: u64) -> Vec<Sample> {
        let mut d = DemoSessions::new(seed);
        let t0 = Timestamp::from_secs(1_736_154_000);
        let mut last = Vec::new();
        for s in (0..=secs).step_by(5) {
            last = d.step(t0.add_secs(s as i64), &[Some(0), Some(0), Some(0)]);
        }
        last
    }

    #[test]
    fn the_demo_shows_a_growing_buffer_an_idle_transaction_and_a_blocked_session() {
        let at = |secs| lists(1, secs);
        let omem = |samples: &[Sample]| {
            samples.iter().find_map(|s| match &s.body {
                Body::RedisClients(l) if s.source == SourceId(0) => l
                    .rows
                    .iter()
                    .find(|c| c.name == "events-fanout")
                    .map(|c| c.omem),
                _ => None,
            })
        };
        let (early, later) = (omem(&at(60)), omem(&at(300)));
        assert!(
            later > early && later.unwrap_or(0) > 10 << 20,
            "{early:?} {later:?}"
        );
        let primary = at(60);
        let pg = primary
            .iter()
            .find_map(|s| match &s.body {
                Body::PgSessions(l) if s.source == SourceId(3) => Some(l.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let batch = pg.rows.iter().find(|r| r.state.idle_in_transaction());
        let blocked = pg.rows.iter().find(|r| r.blocked());
        assert_eq!(
            blocked.map(|b| b.blocked_by.clone()),
            batch.map(|b| vec![b.pid])
        );
        assert!(pg.rows.iter().any(|r| r.own));
        for r in &pg.rows {
            let q = r.query.clone().unwrap_or_default();
            assert!(!q.contains("90211") && !q.contains("exported"), "{q}");
        }
        assert_eq!(
            lists(9, 200),
            lists(9, 200),
            "a seed and a time give the same lists"
        );
    }

    #[test]
    fn a_node_that_is_down_lists_nothing_and_lists_carry_the_nodes_run() {
        let mut d = DemoSessions::new(1);
        let s = d.step(Timestamp(0), &[None, Some(4), Some(0)]);
        let redis = |id| {
            s.iter()
                .find(|x| x.source == SourceId(id) && matches!(x.body, Body::RedisClients(_)))
        };
        assert!(redis(0).is_none());
        assert_eq!(redis(1).map(|x| x.generation), Some(4));
    }
}
