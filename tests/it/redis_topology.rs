//! Connecting and topology against real, throw-away servers: a 3-master
//! Redis Cluster found from one node and followed (a node down and back, a
//! replica added, a failover, a node removed), a Sentinel failover, unix
//! sockets, passwords (URL, `REDISCLI_AUTH`, a least-privilege ACL user,
//! a wrong one) and TLS (CA file, wrong CA, client certificate).
//!
//! Samples go through the app's real `State`, so what is asserted is what
//! the Backends pane would show.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clap::Parser as _;

use crate::support;
use crate::support::RedisServer;
use crate::support::cluster::Cluster;
use crate::support::sentinel::SentinelSet;
use crate::support::tls::Pki;
use heliostat::app::source::SourceState;
use heliostat::app::state::{SessionInfo, State};
use heliostat::sample::{Body, RedisRole, Sample, SourceId, SourceKind, SourceStatus};
use heliostat::sources::redis::{LaunchOptions, SourceIds, launch};
use tokio::sync::mpsc;

/// The least-privilege ACL documented in docs/SECURITY.md (poller + cluster discovery).
const ACL: &[&str] = &[
    "on",
    ">acl-pw",
    "-@all",
    "+ping",
    "+info",
    "+hello",
    "+client|setname",
    "+cluster|shards",
    "+cluster|nodes",
    "+cluster|myid",
];

fn fast() -> LaunchOptions {
    LaunchOptions {
        poll: heliostat::sources::pace::Pace::fixed(Duration::from_millis(200)),
        timeout: Duration::from_millis(500),
        retry: Duration::from_millis(300),
        topology: Duration::from_millis(500),
        key_events: false,
        ..LaunchOptions::default()
    }
}

/// Launched URLs and the app state their samples build.
struct Watch {
    rt: tokio::runtime::Runtime,
    rx: mpsc::Receiver<Vec<Sample>>,
    state: State,
    /// Every status reason seen, to check none shows a secret.
    reasons: Vec<String>,
    /// When each source last sent `INFO` figures.
    last_stats: HashMap<SourceId, Instant>,
}

impl Watch {
    fn new(urls: &[String]) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel(256);
        let ids = SourceIds::new();
        {
            let _in_rt = rt.enter();
            for u in urls {
                launch(u, &fast(), &ids, tx.clone());
            }
        }
        Watch {
            rt,
            rx,
            state: State::new(SessionInfo::default(), 1000),
            reasons: Vec::new(),
            last_stats: HashMap::new(),
        }
    }

    /// Apply samples until `done` holds for the state; panics (showing the
    /// sources) after `limit`. Returns how long it took.
    fn until(
        &mut self,
        what: &str,
        limit: Duration,
        mut done: impl FnMut(&State) -> bool,
    ) -> Duration {
        let start = Instant::now();
        let end = tokio::time::Instant::now() + limit;
        let Watch {
            rt,
            rx,
            state,
            reasons,
            last_stats,
        } = self;
        let ok = rt.block_on(async {
            loop {
                if done(state) {
                    return true;
                }
                match tokio::time::timeout_at(end, rx.recv()).await {
                    Ok(Some(batch)) => {
                        for s in &batch {
                            if let Body::Status(
                                SourceStatus::Retrying { reason, .. } | SourceStatus::Error(reason),
                            ) = &s.body
                            {
                                reasons.push(reason.clone());
                            }
                            if matches!(s.body, Body::Redis(_)) {
                                last_stats.insert(s.source, Instant::now());
                            }
                            state.apply(s);
                        }
                    }
                    _ => return false,
                }
            }
        });
        assert!(
            ok,
            "timed out waiting for {what}; sources: {}",
            self.describe()
        );
        start.elapsed()
    }

    /// Keep polling for `d` (the tasks only run inside `until`).
    fn run_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        self.until("time to pass", d + Duration::from_secs(1), |_| {
            Instant::now() >= end
        });
    }

    fn describe(&self) -> String {
        self.state
            .sources
            .iter()
            .map(|s| {
                format!(
                    "\n  {} {:?} {:?} role {:?}",
                    s.id.0,
                    s.name,
                    s.status,
                    s.redis_info.as_ref().and_then(|r| r.role)
                )
            })
            .collect()
    }

    fn stats_at(&self, part: &str) -> Instant {
        let id = self.by_name(part).map(|s| s.id).unwrap();
        self.last_stats[&id]
    }

    fn by_name(&self, part: &str) -> Option<&SourceState> {
        self.state.sources.iter().find(|s| s.name.contains(part))
    }
}

fn role(s: &SourceState) -> Option<RedisRole> {
    s.redis_info.as_ref().and_then(|r| r.role)
}

fn polled(s: &SourceState) -> bool {
    s.status == SourceStatus::Connected && s.redis_info.is_some()
}

fn short(id: &str) -> String {
    id.chars().take(6).collect()
}

#[test]
fn a_cluster_is_found_from_one_node_even_one_down_at_start_and_every_node_polled() {
    let mut cluster = Cluster::start(3);
    let ids: Vec<String> = (0..3).map(|i| cluster.node_id(i)).collect();
    let seed_port = cluster.nodes[0].port;
    // The seed is down when the console starts: it shows as a plain node retrying.
    cluster.nodes[0].kill();
    let mut w = Watch::new(&[cluster.nodes[0].url()]);
    w.until(
        "the seed to show it is down",
        Duration::from_secs(5),
        |st| {
            st.source(SourceId(0))
                .is_some_and(|s| matches!(s.status, SourceStatus::Retrying { .. }))
        },
    );
    assert_eq!(
        w.state.source(SourceId(0)).map(|s| s.name.clone()),
        Some(format!("127.0.0.1:{seed_port}"))
    );
    cluster.nodes[0].restart();
    w.until("all three nodes polled", Duration::from_secs(10), |st| {
        st.sources.iter().filter(|s| polled(s)).count() == 3
    });
    // One source per node id, the seed's kept under its first source id.
    for (i, id) in ids.iter().enumerate() {
        let s = w.by_name(&short(id)).expect("a source per node id");
        assert!(
            s.name
                .ends_with(&format!(":{} {}", cluster.nodes[i].port, short(id))),
            "{}",
            s.name
        );
        assert_eq!(role(s), Some(RedisRole::Primary));
        assert_eq!(s.kind, SourceKind::Redis);
    }
    assert_eq!(w.by_name(&short(&ids[0])).map(|s| s.id), Some(SourceId(0)));
    assert_eq!(w.state.sources.len(), 3, "{}", w.describe());
    assert_eq!(
        w.state.pool.len(),
        3,
        "the renamed seed left no stale backend"
    );

    // A node down: it shows its status, the others keep polling.
    let down = w.by_name(&short(&ids[2])).map(|s| s.id).unwrap();
    cluster.nodes[2].kill();
    w.until("node 3 to show it is down", Duration::from_secs(5), |st| {
        st.source(down)
            .is_some_and(|s| matches!(s.status, SourceStatus::Retrying { .. }))
    });
    let before: Vec<Instant> = [0, 1]
        .iter()
        .map(|i| w.stats_at(&short(&ids[*i])))
        .collect();
    w.run_for(Duration::from_millis(800));
    for (i, b) in [0, 1].iter().zip(&before) {
        assert!(
            w.stats_at(&short(&ids[*i])) > *b,
            "node {i} kept polling while another was down"
        );
    }
    // Back (same node id, same port): polling resumes within 2 s, same source.
    let old_run = w
        .state
        .source(down)
        .and_then(|s| s.redis_info.as_ref())
        .map(|r| r.run_id);
    cluster.nodes[2].restart();
    let took = w.until("node 3 polled again", Duration::from_secs(5), |st| {
        st.source(down)
            .is_some_and(|s| polled(s) && s.redis_info.as_ref().map(|r| r.run_id) != old_run)
    });
    assert!(took < Duration::from_secs(2), "resumed after {took:?}");
    assert_eq!(w.state.sources.len(), 3, "{}", w.describe());
}

#[test]
fn cluster_changes_are_followed_replica_added_failover_node_removed() {
    let mut cluster = Cluster::start(3);
    for n in &cluster.nodes {
        let mut args = vec!["ACL", "SETUSER", "heliostat"];
        args.extend_from_slice(ACL);
        let _: () = n.cmd(&args).unwrap();
    }
    let url = format!(
        "redis://heliostat:acl-pw@127.0.0.1:{}",
        cluster.nodes[1].port
    );
    let mut w = Watch::new(&[url]);
    w.until("all three nodes polled", Duration::from_secs(10), |st| {
        st.sources.iter().filter(|s| polled(s)).count() == 3
    });
    // A new node joins as a replica of node 0: a new source, role replica.
    let r = cluster.add_replica(0);
    let mut args = vec!["ACL", "SETUSER", "heliostat"];
    args.extend_from_slice(ACL);
    let _: () = cluster.nodes[r].cmd(&args).unwrap();
    let rid = short(&cluster.node_id(r));
    let pid = short(&cluster.node_id(0));
    w.until("the replica to be polled", Duration::from_secs(10), |st| {
        st.sources
            .iter()
            .any(|s| s.name.contains(&rid) && polled(s) && role(s) == Some(RedisRole::Replica))
    });
    assert_eq!(w.state.sources.len(), 4);
    // A failover: the replica takes over, each node's role follows.
    let _: () = cluster.nodes[r].cmd(&["CLUSTER", "FAILOVER"]).unwrap();
    let took = w.until("the roles to swap", Duration::from_secs(15), |st| {
        let is = |id: &str, want| {
            st.sources
                .iter()
                .any(|s| s.name.contains(id) && role(s) == Some(want))
        };
        is(&rid, RedisRole::Primary) && is(&pid, RedisRole::Replica)
    });
    eprintln!("cluster failover followed in {took:?}");
    // The old primary, now a replica, leaves the cluster: marked so, not polled.
    cluster.remove(0);
    w.until("node 0 to be marked gone", Duration::from_secs(10), |st| {
        st.sources.iter().any(|s| {
            s.name.contains(&pid)
                && matches!(&s.status, SourceStatus::Error(e) if e.contains("left the cluster"))
        })
    });
    w.run_for(Duration::from_millis(600));
    let gone = w.by_name(&pid).unwrap();
    assert!(
        matches!(&gone.status, SourceStatus::Error(_)),
        "{:?}",
        gone.status
    );
    assert_eq!(w.state.sources.len(), 4, "no source appeared twice");
    assert!(w.reasons.iter().all(|r| !r.contains("acl-pw")));
}

#[test]
fn a_sentinel_failover_is_followed_to_the_new_master() {
    let set = SentinelSet::start();
    // The Sentinel-side ACL documented in docs/SECURITY.md.
    let _: () = set
        .sentinel
        .cmd(&[
            "ACL",
            "SETUSER",
            "heliostat",
            "on",
            ">s-pw",
            "-@all",
            "+ping",
            "+sentinel|get-master-addr-by-name",
        ])
        .unwrap();
    let url = format!(
        "{}?sentinel_user=heliostat&sentinel_password=s-pw",
        set.url()
    );
    let mut w = Watch::new(&[url]);
    w.until("the master polled", Duration::from_secs(5), |st| {
        st.source(SourceId(0))
            .is_some_and(|s| polled(s) && role(s) == Some(RedisRole::Primary))
    });
    let src = w.state.source(SourceId(0)).unwrap();
    assert_eq!(src.name, "mymaster (sentinel)");
    let first_run = src.redis_info.as_ref().unwrap().run_id;
    set.failover();
    let took = w.until("the new master polled", Duration::from_secs(15), |st| {
        st.source(SourceId(0)).is_some_and(|s| {
            polled(s)
                && role(s) == Some(RedisRole::Primary)
                && s.redis_info.as_ref().is_some_and(|r| r.run_id != first_run)
        })
    });
    assert_eq!(
        set.master_port(),
        Some(set.replica.port),
        "the Sentinel moved the master"
    );
    // The poller watches the Sentinel for the next failover: as the ACL user.
    w.run_for(Duration::from_millis(600));
    let clients: String = set.sentinel.cmd(&["CLIENT", "LIST"]).unwrap();
    assert!(
        clients.lines().any(|l| l.contains("user=heliostat")),
        "the Sentinel is asked as the ACL user: {clients}"
    );
    assert!(took < Duration::from_secs(10), "followed after {took:?}");
    eprintln!("sentinel failover followed in {took:?}");
    assert_eq!(w.state.sources.len(), 1);
}

#[test]
fn unix_sockets_and_passwords_from_the_url_or_rediscli_auth() {
    let sock = RedisServer::start_with_socket(&["--requirepass", "s3cret"]);
    let path = sock.socket().display().to_string();
    // REDISCLI_AUTH fills in the password of URLs that have none, as in main.
    let cli = heliostat::cli::Cli::try_parse_from([
        "heliostat".to_string(),
        "--redis".to_string(),
        format!("unix://{path}"),
        "--redis".to_string(),
        format!("redis+unix://{path}?db=1"),
    ])
    .unwrap();
    let mut env = heliostat::config::Env::default();
    env.vars.insert("REDISCLI_AUTH".into(), "s3cret".into());
    let settings = heliostat::config::resolve_with(&cli, &env, None).unwrap();
    let heliostat::config::Mode::Live { redis, .. } = settings.mode else {
        panic!("live mode")
    };
    let mut urls = redis.clone();
    urls.push(format!("redis://:s3cret@127.0.0.1:{}/2", sock.port));
    urls.push(format!("redis://:hunter2x@127.0.0.1:{}", sock.port));
    urls.push(format!("redis://127.0.0.1:{}", sock.port));
    let mut w = Watch::new(&urls);
    w.until("three sources polled, two refused", Duration::from_secs(5), |st| {
        st.sources.iter().filter(|s| polled(s)).count() == 3
            && st
                .sources
                .iter()
                .filter(|s| matches!(&s.status, SourceStatus::Retrying { reason, .. } if reason.starts_with("authentication failed")))
                .count()
                == 2
    });
    assert_eq!(w.state.source(SourceId(0)).unwrap().name, path);
    assert!(
        w.reasons
            .iter()
            .all(|r| !r.contains("hunter2x") && !r.contains("s3cret"))
    );
}

#[test]
fn a_least_privilege_acl_user_is_enough_to_poll() {
    let server = RedisServer::start();
    let mut args = vec!["ACL", "SETUSER", "heliostat"];
    args.extend_from_slice(ACL);
    let _: () = server.cmd(&args).unwrap();
    let mut w = Watch::new(&[format!(
        "redis://heliostat:acl-pw@127.0.0.1:{}",
        server.port
    )]);
    w.until("polled as the ACL user", Duration::from_secs(5), |st| {
        st.source(SourceId(0))
            .is_some_and(|s| polled(s) && s.redis_info.as_ref().is_some_and(|r| r.own_commands > 2))
    });
    let clients: String = server.cmd(&["CLIENT", "LIST"]).unwrap();
    assert!(
        clients
            .lines()
            .any(|l| l.contains("name=heliostat") && l.contains("user=heliostat")),
        "{clients}"
    );
}

#[test]
fn tls_with_a_ca_file_and_a_client_certificate_and_a_wrong_ca_says_so() {
    let pki = Pki::new();
    let tls_port = support::free_port();
    let mtls_port = support::free_port();
    let files = |port: u16, auth_clients: &'static str| -> Vec<String> {
        vec![
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            pki.server_cert.display().to_string(),
            "--tls-key-file".into(),
            pki.server_key.display().to_string(),
            "--tls-ca-cert-file".into(),
            pki.ca.display().to_string(),
            "--tls-auth-clients".into(),
            auth_clients.into(),
        ]
    };
    let a = files(tls_port, "no");
    let b = files(mtls_port, "yes");
    let server = RedisServer::start_with(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let mtls = RedisServer::start_with(&b.iter().map(String::as_str).collect::<Vec<_>>());
    let ca = pki.ca.display();
    let urls = [
        format!("rediss://127.0.0.1:{tls_port}?tls_ca={ca}"),
        format!(
            "rediss://127.0.0.1:{tls_port}?tls_ca={}",
            pki.other_ca.display()
        ),
        format!(
            "rediss://127.0.0.1:{mtls_port}?tls_ca={ca}&tls_cert={}&tls_key={}",
            pki.client_cert.display(),
            pki.client_key.display()
        ),
        format!("rediss://127.0.0.1:{mtls_port}?tls_ca={ca}"),
        format!("rediss://localhost:{tls_port}?tls_ca={ca}"),
    ];
    let mut w = Watch::new(&urls);
    let retrying = |st: &State, id: u16| {
        st.source(SourceId(id)).and_then(|s| match &s.status {
            SourceStatus::Retrying { reason, .. } => Some(reason.clone()),
            _ => None,
        })
    };
    w.until(
        "TLS sources polled or refused",
        Duration::from_secs(5),
        |st| {
            [0, 2, 4]
                .iter()
                .all(|i| st.source(SourceId(*i)).is_some_and(polled))
                && retrying(st, 1).is_some()
                && retrying(st, 3).is_some()
        },
    );
    let wrong_ca = retrying(&w.state, 1).unwrap();
    assert!(
        wrong_ca.starts_with("TLS:") && wrong_ca.to_lowercase().contains("certificate"),
        "{wrong_ca}"
    );
    let no_cert = retrying(&w.state, 3).unwrap();
    assert!(no_cert.contains("client certificate"), "{no_cert}");
    eprintln!("wrong CA: {wrong_ca}\nno client certificate: {no_cert}");
    drop(mtls);
    drop(server);
}

#[test]
fn a_renamed_source_keeps_one_backend() {
    let mut st = State::new(SessionInfo::default(), 1000);
    let hello = |name: &str| Sample {
        source: SourceId(0),
        generation: 0,
        at: heliostat::sources::redis::wall_now(),
        body: Body::Hello {
            name: name.into(),
            kind: SourceKind::Redis,
        },
    };
    st.apply(&hello("127.0.0.1:7000"));
    st.apply(&hello("127.0.0.1:7000 a1b2c3"));
    st.apply(&hello("127.0.0.1:7000 a1b2c3"));
    assert_eq!(st.pool.len(), 1);
    assert!(st.pool.id("127.0.0.1:7000 a1b2c3").is_some());
    assert!(st.pool.id("127.0.0.1:7000").is_none());
}
