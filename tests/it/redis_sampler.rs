//! The key sampler against real, throw-away `redis-server`s: it finds the
//! prefixes, TTLs and counts a test created (LFU and LRU policies), keeps
//! to its budget, does not move the hit ratio the console reports, and its
//! estimates from part of the keyspace bracket the truth.

use crate::support::runtime;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::RedisServer;
use heliostat::app::state::{SessionInfo, State, TickTotals};
use heliostat::engines::Timestamp;
use heliostat::engines::keyspace::{
    Basis, HeatMode, KeyHeat, KeyspaceConfig, KeyspaceEngine, KeyspaceView, PrefixView,
};
use heliostat::sample::{Body, KeyspaceSample, RedisStats, Sample, SourceId};
use heliostat::sources::redis::sampler::{ElementCounts, run_sampler};
use heliostat::sources::redis::{NodeConfig, OwnLoad, spawn_node};
use tokio::sync::mpsc;

fn node(url: &str, budget: u32) -> NodeConfig {
    let mut c = NodeConfig::new(SourceId(0), url);
    c.poll = heliostat::sources::pace::Pace::fixed(Duration::from_millis(100));
    c.retry = Duration::from_millis(250);
    c.timeout = Duration::from_millis(1000);
    c.sampler.budget = budget;
    c.sampler.follow = None;
    c.sampler.min_pass = Duration::from_secs(60);
    c
}

/// `count` keys `prefix:i`, as hashes of 3 fields when `hash`, with a TTL
/// in seconds when given; pipelined.
fn fill(c: &mut redis::Connection, prefix: &str, count: usize, ttl: Option<u64>, hash: bool) {
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let mut p = redis::pipe();
        for i in chunk {
            let k = format!("{prefix}:{i}");
            if hash {
                p.cmd("HSET")
                    .arg(&k)
                    .arg("a")
                    .arg(1)
                    .arg("b")
                    .arg(2)
                    .arg("c")
                    .arg(3)
                    .ignore();
            } else {
                p.cmd("SET").arg(&k).arg("value").ignore();
            }
            if let Some(s) = ttl {
                p.cmd("EXPIRE").arg(&k).arg(s).ignore();
            }
        }
        let () = p.query(c).unwrap();
    }
}

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let text: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    text.lines()
        .find_map(|l| l.trim_end().strip_prefix(&format!("{field}:")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

/// `(total_commands_processed, keyspace_hits, keyspace_misses)`.
fn counters(c: &mut redis::Connection) -> (u64, u64, u64) {
    (
        info_field(c, "stats", "total_commands_processed"),
        info_field(c, "stats", "keyspace_hits"),
        info_field(c, "stats", "keyspace_misses"),
    )
}

/// What the server counted since `before`, less the three INFOs that
/// `counters` itself sent then (an INFO reply never counts itself, so the
/// INFOs sent now do not show yet).
fn counted_since(c: &mut redis::Connection, before: (u64, u64, u64)) -> (u64, u64, u64) {
    let after = counters(c);
    (
        after.0 - before.0 - 3,
        after.1 - before.1,
        after.2 - before.2,
    )
}

fn keyspace(s: &Sample) -> Option<&KeyspaceSample> {
    match &s.body {
        Body::Keyspace(k) => Some(k),
        _ => None,
    }
}

/// Feed batches to an engine until a pass completes (or `limit` passes, or
/// `enough` says stop); returns the engine and when the last batch came.
async fn sample_until(
    rx: &mut mpsc::Receiver<Vec<Sample>>,
    config: KeyspaceConfig,
    limit: Duration,
    mut enough: impl FnMut(&KeyspaceEngine, &KeyspaceSample) -> bool,
) -> (KeyspaceEngine, Timestamp) {
    let mut e = KeyspaceEngine::new(config);
    let mut last = Timestamp(0);
    let end = tokio::time::Instant::now() + limit;
    while let Ok(Some(batch)) = tokio::time::timeout_at(end, rx.recv()).await {
        for s in &batch {
            if let Some(k) = keyspace(s) {
                e.ingest(k, s.at);
                last = s.at;
                if enough(&e, k) {
                    return (e, last);
                }
            }
        }
    }
    (e, last)
}

fn prefix<'a>(v: &'a KeyspaceView, name: &str) -> &'a PrefixView {
    v.prefixes
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no prefix {name}: {:?}", v.prefixes))
}

/// 2000 `user` strings without TTL, 1200 `session` strings expiring in
/// 30 min, 300 `cart` hashes (3 fields) expiring in 2 h.
fn three_prefixes(server: &RedisServer) -> redis::Connection {
    let mut c = server.client();
    fill(&mut c, "user", 2000, None, false);
    fill(&mut c, "session", 1200, Some(1800), false);
    fill(&mut c, "cart", 300, Some(7200), true);
    c
}

fn census(lfu: bool) {
    let server = if lfu {
        RedisServer::start_with(&["--maxmemory-policy", "allkeys-lfu"])
    } else {
        RedisServer::start()
    };
    let mut c = three_prefixes(&server);
    if !lfu {
        // Let the new keys go idle, so only the one read below is recent.
        std::thread::sleep(Duration::from_secs(3));
    }
    // Make user:7 hot (LFU: counter well above 5; LRU: idle ~0 s).
    for _ in 0..2000 {
        let _: Option<String> = redis::cmd("GET").arg("user:7").query(&mut c).unwrap();
    }
    let before = counters(&mut c);
    let own = Arc::new(OwnLoad::default());
    let rt = runtime();
    rt.block_on(async {
        let mut cfg = node(&server.url(), 50_000);
        cfg.sampler.memory = true;
        cfg.sampler.elements = ElementCounts::On;
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(run_sampler(cfg, own.clone(), tx));
        let (e, at) = sample_until(
            &mut rx,
            KeyspaceConfig::default(),
            Duration::from_secs(20),
            |_, k| k.pass_done,
        )
        .await;
        task.abort();
        let v = e.view(at);
        assert!(matches!(v.basis, Basis::Complete { .. }), "{:?}", v.basis);
        assert_eq!((v.db_keys, v.sampled, v.coverage), (3500, 3500, 1.0));
        let want = if lfu {
            HeatMode::LfuCounter
        } else {
            HeatMode::IdleTime
        };
        assert_eq!(v.heat, Some(want));
        let names: Vec<&str> = v.prefixes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["user:*", "session:*", "cart:*"]);
        let (user, session, cart) = (
            prefix(&v, "user:*"),
            prefix(&v, "session:*"),
            prefix(&v, "cart:*"),
        );
        // A complete pass is a census: exact counts, no error bar.
        assert_eq!((user.keys.lo, user.keys.hi), (2000.0, 2000.0));
        assert_eq!(session.keys.value, 1200.0);
        assert_eq!(cart.keys.value, 300.0);
        // TTL histogram: none / <1m / <10m / <1h / <1d / ≥1d / gone.
        assert_eq!(user.ttl[0].value, 2000.0);
        assert_eq!(session.ttl[3].value, 1200.0, "{:?}", session.ttl);
        assert_eq!(cart.ttl[4].value, 300.0, "{:?}", cart.ttl);
        assert_eq!(cart.avg_elements, Some(3.0));
        assert_eq!(user.avg_elements, Some(5.0), "STRLEN of \"value\"");
        let mem = cart.memory.expect("MEMORY USAGE was on");
        assert!(mem.value > 300.0 * 20.0 && mem.lo == mem.hi, "{mem:?}");
        assert!(
            v.big.first().is_some_and(|b| b.key.starts_with("cart:")),
            "{:?}",
            v.big
        );
        let hot = v.hot.first().expect("a hot key");
        assert_eq!(hot.key, "user:7", "{:?}", v.hot);
        match hot.heat {
            KeyHeat::LfuFreq(c) => assert!(lfu && c > 10, "counter {c}"),
            KeyHeat::IdleSecs(s) => assert!(!lfu && s < 5, "idle {s}"),
        }
        assert!(v.cliffs.is_empty() || v.cliffs.iter().all(|c| c.prefix != "user"));
    });
    // Every command, hit and miss the sampler caused is in its own count:
    // the table in sources::redis::sampler::pipeline holds.
    assert_eq!(counted_since(&mut c, before), own.totals());
    // The sampler never used KEYS or MONITOR.
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut c)
        .unwrap();
    assert!(stats.contains("cmdstat_scan:") && stats.contains("cmdstat_pttl:"));
    assert!(!stats.contains("cmdstat_keys:") && !stats.contains("cmdstat_monitor:"));
    let object = if lfu {
        "object|freq"
    } else {
        "object|idletime"
    };
    assert!(stats.contains(&format!("cmdstat_{object}:")), "{stats}");
}

#[test]
fn finds_prefixes_ttls_and_counts_under_an_lru_policy() {
    census(false);
}

#[test]
fn finds_prefixes_ttls_and_counts_under_an_lfu_policy() {
    census(true);
}

#[test]
fn the_sampler_names_itself_and_a_bulk_write_shows_as_a_ttl_cliff() {
    let server = RedisServer::start();
    let mut c = server.client();
    fill(&mut c, "user", 500, None, false);
    // 400 keys written at once with a 20-minute TTL: one cliff.
    fill(&mut c, "promo", 400, Some(1200), false);
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(run_sampler(
            node(&server.url(), 20_000),
            Arc::new(OwnLoad::default()),
            tx,
        ));
        let (e, at) = sample_until(
            &mut rx,
            KeyspaceConfig::default(),
            Duration::from_secs(20),
            |_, k| k.pass_done,
        )
        .await;
        let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
        task.abort();
        assert!(clients.contains("name=heliostat"), "{clients}");
        let v = e.view(at);
        assert_eq!(v.cliffs.len(), 1, "{:?}", v.cliffs);
        assert_eq!(
            (v.cliffs[0].prefix.as_str(), v.cliffs[0].sampled),
            ("promo:*", 400)
        );
    });
}

#[test]
fn the_budget_is_kept_whatever_the_keyspace() {
    let server = RedisServer::start();
    let mut c = server.client();
    // Big enough that a pass outlasts the measurement.
    fill(&mut c, "item", 20_000, None, false);
    let budget = 500u32;
    let rt = runtime();
    let rate = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(1024);
        let task = tokio::spawn(run_sampler(
            node(&server.url(), budget),
            Arc::new(OwnLoad::default()),
            tx,
        ));
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = info_field(&mut c, "stats", "total_commands_processed");
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(4)).await;
        let after = info_field(&mut c, "stats", "total_commands_processed");
        let secs = t0.elapsed().as_secs_f64();
        task.abort();
        // One of the two INFOs is inside the window.
        (after - before - 1) as f64 / secs
    });
    let b = f64::from(budget);
    assert!(
        rate <= b * 1.1 && rate >= b * 0.85,
        "{rate:.0} cmd/s against a budget of {budget}"
    );
}

fn stats_of(s: &Sample) -> Option<&RedisStats> {
    match &s.body {
        Body::Redis(r) => Some(r),
        _ => None,
    }
}

/// The console's own lookups (3 per sampled key) are subtracted: the hits
/// and misses the app derives are exactly the test client's.
#[test]
fn the_samplers_lookups_do_not_move_the_hit_ratio() {
    let server = RedisServer::start_with(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = three_prefixes(&server);
    let rt = runtime();
    rt.block_on(async {
        let mut cfg = node(&server.url(), 5000);
        cfg.sampler.min_pass = Duration::from_millis(100);
        cfg.sampler.elements = ElementCounts::On;
        let (tx, mut rx) = mpsc::channel(1024);
        let tasks = spawn_node(cfg, tx);
        let mut state = State::new(SessionInfo::default(), 1000);
        let mut polls = 0;
        let mut baseline: Option<RedisStats> = None;
        let mut batches_in_window = 0;
        let mut client_done = false;
        let mut last: Option<RedisStats> = None;
        let end = tokio::time::Instant::now() + Duration::from_secs(20);
        while let Ok(Some(batch)) = tokio::time::timeout_at(end, rx.recv()).await {
            for s in &batch {
                state.apply(s);
                if baseline.is_some() && keyspace(s).is_some_and(|k| !k.keys.is_empty()) {
                    batches_in_window += 1;
                }
                let Some(r) = stats_of(s) else { continue };
                polls += 1;
                if polls == 3 {
                    // Baseline: from here on, only the test client's GETs
                    // and the console's own commands reach the server.
                    baseline = Some(r.clone());
                    state.pending = TickTotals::default();
                } else if polls == 5 && !client_done {
                    for i in 0..600 {
                        let _: Option<String> = redis::cmd("GET")
                            .arg(format!("user:{i}"))
                            .query(&mut c)
                            .unwrap();
                    }
                    for i in 0..300 {
                        let _: Option<String> = redis::cmd("GET")
                            .arg(format!("nope:{i}"))
                            .query(&mut c)
                            .unwrap();
                    }
                    client_done = true;
                } else if polls >= 12 {
                    last = Some(r.clone());
                }
            }
            if last.is_some() {
                break;
            }
        }
        tasks.abort();
        let (b, a) = (baseline.expect("baseline"), last.expect("later poll"));
        assert!(batches_in_window >= 3, "the sampler ran during the window");
        let own_lookups = (a.own_hits - b.own_hits) + (a.own_misses - b.own_misses);
        assert!(
            own_lookups > 100,
            "the sampler looked keys up: {own_lookups}"
        );
        let raw_hits = a.keyspace_hits - b.keyspace_hits;
        assert!(
            raw_hits > 600,
            "the server saw the sampler's hits too: {raw_hits}"
        );
        // What the app derives (State subtracts the own_* counters).
        assert_eq!(state.pending.hits, 600, "hits heliostat reports");
        assert_eq!(state.pending.misses, 300, "misses heliostat reports");
        assert_eq!(
            state.pending.commands, 900,
            "every command the console sent is subtracted"
        );
    });
}

/// Part of a pass is a sample: each prefix's 99.9% interval holds the
/// number of keys the test created, and the coverage says how much was seen.
#[test]
fn estimates_from_part_of_the_keyspace_bracket_the_truth() {
    let server = RedisServer::start();
    let mut c = server.client();
    fill(&mut c, "a", 12_000, None, false);
    fill(&mut c, "b", 6000, Some(3000), false);
    fill(&mut c, "c", 2000, None, false);
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(1024);
        let task = tokio::spawn(run_sampler(
            node(&server.url(), 4000),
            Arc::new(OwnLoad::default()),
            tx,
        ));
        let config = KeyspaceConfig {
            z: 3.29,
            ..KeyspaceConfig::default()
        };
        let (e, at) = sample_until(&mut rx, config, Duration::from_secs(20), |e, _| {
            e.view(Timestamp(0)).sampled >= 2000
        })
        .await;
        task.abort();
        let v = e.view(at);
        assert_eq!(v.basis, Basis::Partial);
        assert!((0.05..0.5).contains(&v.coverage), "coverage {}", v.coverage);
        for (name, truth) in [("a:*", 12_000.0), ("b:*", 6000.0), ("c:*", 2000.0)] {
            let p = prefix(&v, name);
            // The interval assumes a uniform sample; SCAN's hash order comes
            // in correlated batches, so allow 10 % beyond the nominal bounds.
            assert!(
                p.keys.lo * 0.9 <= truth && truth <= p.keys.hi * 1.1,
                "{name}: {truth} outside {:?}",
                p.keys
            );
            assert!(p.keys.hi - p.keys.lo > 0.0, "a sample has an error bar");
        }
        let b = prefix(&v, "b:*");
        assert!(
            b.ttl[3].lo <= 6000.0 && 6000.0 <= b.ttl[3].hi,
            "{:?}",
            b.ttl[3]
        );
    });
}

/// The least-privilege ACL of docs/SECURITY.md is enough (the policy comes
/// from INFO, never CONFIG); a user refused OBJECT, MEMORY and the length
/// commands still gets TTLs, types and counts, and the refused commands,
/// which the server does not count, are not counted as the console's.
#[test]
fn works_under_a_least_privilege_acl_and_skips_what_it_is_refused() {
    let server = RedisServer::start_with(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = server.client();
    fill(&mut c, "user", 300, Some(300), false);
    fill(&mut c, "cart", 100, None, true);
    let full = "+ping +info +client|setname +scan +dbsize +pttl +type +object|freq \
                +object|idletime +memory|usage +strlen +hlen +llen +scard +zcard +xlen";
    let narrow = "+info +client|setname +scan +dbsize +pttl +type";
    for (user, perms) in [("heliostat", full), ("narrow", narrow)] {
        let mut acl = redis::cmd("ACL");
        acl.arg("SETUSER")
            .arg(user)
            .arg("on")
            .arg(">pw")
            .arg("-@all")
            .arg("~*");
        for p in perms.split_whitespace() {
            acl.arg(p);
        }
        let () = acl.query(&mut c).unwrap();
        let before = counters(&mut c);
        let own = Arc::new(OwnLoad::default());
        let url = format!("redis://{user}:pw@127.0.0.1:{}", server.port);
        let rt = runtime();
        let v = rt.block_on(async {
            let mut cfg = node(&url, 20_000);
            cfg.sampler.memory = true;
            cfg.sampler.elements = ElementCounts::On;
            let (tx, mut rx) = mpsc::channel(64);
            let task = tokio::spawn(run_sampler(cfg, own.clone(), tx));
            let (e, at) = sample_until(
                &mut rx,
                KeyspaceConfig::default(),
                Duration::from_secs(20),
                |_, k| k.pass_done,
            )
            .await;
            task.abort();
            e.view(at)
        });
        assert!(
            matches!(v.basis, Basis::Complete { .. }),
            "{user}: {:?}",
            v.basis
        );
        assert_eq!(prefix(&v, "user:*").keys.value, 300.0, "{user}");
        assert_eq!(prefix(&v, "user:*").ttl[2].value, 300.0, "{user}: < 10 min");
        assert_eq!(prefix(&v, "cart:*").keys.value, 100.0, "{user}");
        if user == "heliostat" {
            assert_eq!(v.heat, Some(HeatMode::LfuCounter));
            assert!(prefix(&v, "cart:*").memory.is_some());
            assert_eq!(prefix(&v, "cart:*").avg_elements, Some(3.0));
        } else {
            assert_eq!(v.heat, None, "OBJECT refused: no heat");
            assert!(prefix(&v, "cart:*").memory.is_none());
            assert_eq!(prefix(&v, "cart:*").avg_elements, None);
        }
        assert_eq!(counted_since(&mut c, before), own.totals(), "{user}");
    }
}
