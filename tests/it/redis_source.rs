//! The Redis source against real, throw-away `redis-server`s.

use crate::support::runtime;

use std::time::{Duration, Instant};

use crate::support::RedisServer;
use heliostat::sample::{Body, RedisStats, Sample, SourceId, SourceStatus};
use heliostat::sources::redis::{NodeConfig, run_node};
use tokio::sync::mpsc;

fn fast(url: &str) -> NodeConfig {
    let mut c = NodeConfig::new(SourceId(0), url);
    c.poll = heliostat::sources::pace::Pace::fixed(Duration::from_millis(100));
    c.retry = Duration::from_millis(250);
    c.timeout = Duration::from_millis(500);
    c
}

/// Receive samples until `done` says so or `limit` passes.
async fn collect(
    rx: &mut mpsc::Receiver<Vec<Sample>>,
    limit: Duration,
    mut done: impl FnMut(&Sample) -> bool,
) -> Vec<Sample> {
    let end = tokio::time::Instant::now() + limit;
    let mut out = Vec::new();
    while let Ok(Some(batch)) = tokio::time::timeout_at(end, rx.recv()).await {
        for s in batch {
            let stop = done(&s);
            out.push(s);
            if stop {
                return out;
            }
        }
    }
    out
}

fn stats(samples: &[Sample]) -> Vec<RedisStats> {
    samples
        .iter()
        .filter_map(|s| match &s.body {
            Body::Redis(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn info_counts_exactly_what_clients_did_and_not_the_console_itself() {
    let server = RedisServer::start();
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_node(fast(&server.url()), Default::default(), tx));
        // Wait for two polls so there is a baseline.
        let mut polls = 0;
        collect(&mut rx, Duration::from_secs(5), |s| {
            polls += usize::from(matches!(s.body, Body::Redis(_)));
            polls == 2
        })
        .await;
        let before = stats(
            &collect(&mut rx, Duration::from_secs(2), |s| {
                matches!(s.body, Body::Redis(_))
            })
            .await,
        );
        let mut c = server.client();
        for i in 0..10 {
            let _: () = redis::cmd("SET")
                .arg(format!("user:{i}"))
                .arg("x")
                .query(&mut c)
                .unwrap();
        }
        for i in 0..60 {
            let _: Option<String> = redis::cmd("GET")
                .arg(format!("user:{}", i % 10))
                .query(&mut c)
                .unwrap();
        }
        for i in 0..30 {
            let _: Option<String> = redis::cmd("GET")
                .arg(format!("missing:{i}"))
                .query(&mut c)
                .unwrap();
        }
        // Several polls later, the console's own PING/INFO must not show.
        let mut n = 0;
        let after = stats(
            &collect(&mut rx, Duration::from_secs(3), |s| {
                n += usize::from(matches!(s.body, Body::Redis(_)));
                n == 4
            })
            .await,
        );
        let (b, a) = (
            before.last().expect("baseline"),
            after.last().expect("later"),
        );
        assert_eq!(a.keyspace_hits - b.keyspace_hits, 60);
        assert_eq!(a.keyspace_misses - b.keyspace_misses, 30);
        assert_eq!(
            (a.commands - a.own_commands) - (b.commands - b.own_commands),
            100,
            "the console's own commands are subtracted"
        );
        assert_eq!(a.keys, 10);
        assert!(a.used_memory_rss > 0 && a.used_memory > 0);
        assert!(a.fragmentation_milli.is_some());
        assert_eq!(a.master_link_up, None, "a primary has no master link");
        assert_eq!(a.run_id, b.run_id);
    });
}

#[test]
fn a_restart_is_a_new_run_and_polling_resumes_within_two_seconds() {
    let mut server = RedisServer::start();
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_node(fast(&server.url()), Default::default(), tx));
        let first = collect(&mut rx, Duration::from_secs(5), |s| {
            matches!(s.body, Body::Redis(_))
        })
        .await;
        let run1 = stats(&first).last().expect("stats").run_id;
        server.kill();
        let down = collect(&mut rx, Duration::from_secs(5), |s| {
            matches!(s.body, Body::Status(SourceStatus::Retrying { .. }))
        })
        .await;
        assert!(
            down.iter()
                .any(|s| matches!(&s.body, Body::Status(SourceStatus::Retrying { .. })))
        );
        server.restart();
        let back_at = Instant::now();
        let back = collect(&mut rx, Duration::from_secs(5), |s| {
            matches!(s.body, Body::Redis(_))
        })
        .await;
        let took = back_at.elapsed();
        assert!(took < Duration::from_secs(2), "resumed after {took:?}");
        let run2 = stats(&back).last().expect("stats after restart").run_id;
        assert_ne!(run1, run2, "a restart shows as a new run");
        let gens: Vec<u32> = first
            .iter()
            .chain(back.iter())
            .map(|s| s.generation)
            .collect();
        assert!(
            gens.last() > gens.first(),
            "the generation moves on a reconnect"
        );
    });
}

#[test]
fn a_silent_node_times_out_and_a_bad_url_never_shows_its_password() {
    let rt = runtime();
    rt.block_on(async {
        // A listener that never answers: held for the whole test, so no other
        // test can take the port, and the node must time out.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_node(
            fast(&format!("redis://:hunter2@127.0.0.1:{port}")),
            Default::default(),
            tx,
        ));
        let got = collect(&mut rx, Duration::from_secs(3), |s| {
            matches!(s.body, Body::Status(_))
        })
        .await;
        let status = got.iter().find_map(|s| match &s.body {
            Body::Status(SourceStatus::Retrying { reason, .. }) => Some(reason.clone()),
            _ => None,
        });
        // Usually "connection refused"; another test may grab the freed port
        // meanwhile, so only the status and the redaction are asserted here.
        let reason = status.expect("a retrying status with a reason");
        assert!(
            !reason.is_empty() && !reason.contains("hunter2"),
            "{reason}"
        );
        let hello = got.iter().find_map(|s| match &s.body {
            Body::Hello { name, .. } => Some(name.clone()),
            _ => None,
        });
        assert_eq!(hello, Some(format!("127.0.0.1:{port}")));
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_node(
            fast("redis://:hunter2@[bad"),
            Default::default(),
            tx,
        ));
        let got = collect(&mut rx, Duration::from_secs(3), |s| {
            matches!(s.body, Body::Status(_))
        })
        .await;
        let text = format!("{got:?}");
        assert!(text.contains("bad Redis URL"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    });
}

/// Feed a node's samples into the app state for `polls` polls, ticking
/// after each, and return the state.
async fn run_state(
    rx: &mut mpsc::Receiver<Vec<Sample>>,
    state: &mut heliostat::app::state::State,
    polls: usize,
) {
    let mut n = 0;
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while n < polls {
        let Ok(Some(batch)) = tokio::time::timeout_at(end, rx.recv()).await else {
            panic!("no samples");
        };
        for s in &batch {
            state.apply(s);
            if matches!(s.body, Body::Redis(_)) {
                n += 1;
                state.tick(s.at);
            }
        }
    }
}

#[test]
fn a_stats_reset_and_a_restart_are_gaps_never_spikes_and_slow_commands_show() {
    use heliostat::app::state::{SessionInfo, State};
    let mut server = RedisServer::start_with(&["--slowlog-log-slower-than", "0"]);
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_node(fast(&server.url()), Default::default(), tx));
        let mut state = State::new(SessionInfo::default(), 100);
        run_state(&mut rx, &mut state, 2).await;
        let mut c = server.client();
        for i in 0..500 {
            let _: Option<String> = redis::cmd("GET")
                .arg(format!("k{i}"))
                .query(&mut c)
                .unwrap();
        }
        run_state(&mut rx, &mut state, 3).await;
        let counted: u64 = state.history.iter().map(|t| t.misses).sum();
        assert_eq!(counted, 500, "every miss counted once");
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
        run_state(&mut rx, &mut state, 3).await;
        assert!(state.history.iter().any(|t| t.gap), "the reset is a gap");
        let after: u64 = state.history.iter().map(|t| t.misses).sum();
        assert_eq!(after, 500, "nothing counted across the reset");
        let node = &state.sources[0];
        assert!(
            node.top_commands.iter().all(|c| c.per_sec < 1000.0),
            "no spike: {:?}",
            node.top_commands
        );
        assert!(
            node.slowlog.iter().any(|e| e.command == "GET"),
            "every command is slow at threshold 0: {:?}",
            node.slowlog
        );
        assert!(
            node.slowlog
                .iter()
                .all(|e| e.command != "CONFIG" || e.key.as_deref() == Some("RESETSTAT")),
        );
        let gaps = state.history.iter().filter(|t| t.gap).count();
        server.restart();
        let mut c = server.client();
        for i in 0..50 {
            let _: Option<String> = redis::cmd("GET")
                .arg(format!("k{i}"))
                .query(&mut c)
                .unwrap();
        }
        run_state(&mut rx, &mut state, 6).await;
        assert!(
            state.history.iter().filter(|t| t.gap).count() > gaps,
            "the restart is a gap"
        );
        let total: u64 = state.history.iter().map(|t| t.misses).sum();
        assert!(
            (500..=550).contains(&total),
            "after the restart only real misses count: {total}"
        );
    });
}

#[test]
fn key_notifications_arrive_when_asked_and_say_which_flags_are_off() {
    use heliostat::engines::keyevents::advice;
    use heliostat::sources::redis::spawn_node;
    let on = RedisServer::start_with(&["--notify-keyspace-events", "Exm", "--hz", "100"]);
    let off = RedisServer::start();
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let mut cfg = fast(&on.url());
        cfg.key_events = true;
        spawn_node(cfg, tx.clone());
        let mut cfg = fast(&off.url());
        cfg.id = SourceId(1);
        cfg.key_events = true;
        spawn_node(cfg, tx);
        // Let the listener subscribe before the keys expire.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut c = on.client();
        for i in 0..20 {
            let _: () = redis::cmd("SET")
                .arg(format!("session:{i}"))
                .arg("x")
                .arg("PX")
                .arg(50)
                .query(&mut c)
                .unwrap();
        }
        for _ in 0..7 {
            let _: Option<String> = redis::cmd("GET").arg("absent:1").query(&mut c).unwrap();
        }
        let (mut expired, mut missed) = (Vec::new(), 0u32);
        let (mut setup_on, mut setup_off) = (None, None);
        let end = tokio::time::Instant::now() + Duration::from_secs(5);
        while expired.len() < 20 || missed < 7 || setup_off.is_none() {
            let Ok(Some(batch)) = tokio::time::timeout_at(end, rx.recv()).await else {
                break;
            };
            for s in batch {
                if let Body::KeyEvents(e) = s.body {
                    if s.source == SourceId(0) {
                        expired.extend(e.expired);
                        missed += e
                            .missed
                            .iter()
                            .filter(|(k, _)| k == "absent:1")
                            .map(|(_, n)| n)
                            .sum::<u32>();
                        setup_on = setup_on.or(e.setup);
                    } else {
                        setup_off = setup_off.or(e.setup);
                    }
                }
            }
        }
        expired.sort();
        expired.dedup();
        assert_eq!(expired.len(), 20, "{expired:?}");
        assert!(expired.iter().all(|k| k.starts_with("session:")));
        assert_eq!(missed, 7, "every miss named, exactly");
        let on = setup_on.expect("the listener says what the server publishes");
        assert_eq!(
            on.flags.as_deref().map(|f| f.contains('m')),
            Some(true),
            "{on:?}"
        );
        let lines = advice(&on);
        assert!(lines[0].starts_with("evicted events off"), "{lines:?}");
        let off = setup_off.expect("a node without notifications says what it publishes");
        assert_eq!(off.flags.as_deref(), Some(""));
        let lines = advice(&off).join("\n");
        assert!(
            lines.contains("miss events off: notify-keyspace-events is empty, needs `Em`"),
            "{lines}"
        );
    });
}

#[test]
fn the_poll_interval_follows_the_consoles_refresh_setting() {
    let server = RedisServer::start();
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let (pace, following) =
            heliostat::sources::pace::Pace::following(Duration::from_millis(500));
        let mut cfg = fast(&server.url());
        cfg.poll = following;
        tokio::spawn(run_node(cfg, Default::default(), tx));
        let polls = |samples: &[Sample]| {
            samples
                .iter()
                .filter(|s| matches!(s.body, Body::Redis(_)))
                .count()
        };
        collect(&mut rx, Duration::from_secs(5), |s| {
            matches!(s.body, Body::Redis(_))
        })
        .await;
        let slow = polls(&collect(&mut rx, Duration::from_secs(2), |_| false).await);
        pace.send_replace(Duration::from_millis(100));
        let quick = polls(&collect(&mut rx, Duration::from_secs(2), |_| false).await);
        // 4 polls at 500 ms, 20 at 100 ms; room for a loaded machine.
        assert!((3..=5).contains(&slow), "{slow} polls in 2 s at 500 ms");
        assert!(quick >= 12, "{quick} polls in 2 s at 100 ms");
    });
}
