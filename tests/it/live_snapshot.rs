//! `heliostat snapshot --redis URL --wait N` against a real, throw-away
//! `redis-server`: the binary watches it, samples its keys and renders what
//! the console would show, prefixes included; `heliostat emit` publishes
//! events the same snapshot reads.

use std::process::Command;

use crate::support::RedisServer;

fn heliostat(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_heliostat"))
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("DATABASE_URL")
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("heliostat-no-config"),
        )
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_live_snapshot_shows_the_prefixes_and_the_events() {
    let server = RedisServer::start();
    let mut c = server.client();
    let _: () = redis::cmd("EVAL")
        .arg(
            "for i=1,300 do redis.call('set','user:'..i,'x','EX',3600) end \
             for i=1,120 do redis.call('set','cart:'..i,'x') end",
        )
        .arg(0)
        .query(&mut c)
        .unwrap();
    let url = server.url();
    let (ok, _, err) = heliostat(&[
        "emit",
        "--redis",
        &url,
        "--events",
        "ev",
        "client=api",
        "table=orders",
        "hit=1",
        "--count",
        "50",
    ]);
    assert!(ok, "emit failed: {err}");
    let (ok, out, err) = heliostat(&[
        "snapshot",
        "--redis",
        &url,
        "--events",
        "ev",
        "--events-catch-up",
        "--wait",
        "2.5",
        "--size",
        "160x45",
        "--pane",
        "backends",
        // A census within the wait: the default budget follows the idle
        // node (20 commands/s) and would walk these 420 keys in ~70 s.
        "--sample-budget",
        "1000",
    ]);
    assert!(ok, "snapshot failed: {err}");
    assert!(out.contains("user:*"), "{out}");
    assert!(out.contains("cart:*"), "{out}");
    assert!(
        out.contains("300"),
        "the census counts user:* exactly: {out}"
    );
    assert!(out.contains("events ev"), "the stream is a source: {out}");

    let (ok, _, err) = heliostat(&["emit", "--redis", &url, "--events", "ev", "hit=maybe"]);
    assert!(!ok && err.contains("hit must be 1 or 0"), "{err}");
    let (ok, _, err) = heliostat(&["snapshot", "--redis", "redis://:pw@[bad", "--wait", "0"]);
    assert!(!ok, "a bad URL is refused");
    assert!(!err.contains("pw@"), "no password in the message: {err}");
}

#[test]
fn warm_refuses_watch_without_from_queue() {
    let (ok, _, err) = heliostat(&["warm", "--rule", "x", "--keys", "a", "--watch", "5"]);
    assert!(!ok);
    assert!(
        err.contains("--watch") && err.contains("needs --from-queue"),
        "{err}"
    );
}
