//! The warm writer against a real, throw-away `redis-server`: fill never
//! overwrites, refresh never creates a key or touches a non-string one,
//! TTLs are set, a second fill changes nothing, and refusals are counted;
//! a large batch goes in several pipelines, redirects keep their index.

use crate::support;
use crate::support::runtime;

use crate::support::RedisServer;
use heliostat::ops::warm::write::{Item, Mode, Outcome, write_batch};

fn item(key: &str, value: &str, ttl_ms: u64) -> Item {
    Item {
        key: key.into(),
        value: value.as_bytes().to_vec(),
        ttl_ms,
    }
}

async fn write(server: &RedisServer, mode: Mode, items: &[Item]) -> Outcome {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    write_batch(&mut conn, mode, items).await.unwrap()
}

#[test]
fn fill_never_overwrites_and_a_second_run_changes_nothing() {
    let server = RedisServer::start();
    let mut c = server.client();
    let _: () = redis::cmd("SET")
        .arg("user:1")
        .arg("old")
        .query(&mut c)
        .unwrap();
    let items: Vec<Item> = (1..=100)
        .map(|i| item(&format!("user:{i}"), &format!("v{i}"), 60_000))
        .collect();
    let rt = runtime();
    let first = rt.block_on(write(&server, Mode::Fill, &items));
    assert_eq!((first.written, first.existed), (99, 1));
    let old: String = redis::cmd("GET").arg("user:1").query(&mut c).unwrap();
    assert_eq!(old, "old", "fill left the existing key alone");
    let v: String = redis::cmd("GET").arg("user:50").query(&mut c).unwrap();
    assert_eq!(v, "v50");
    let ttl: i64 = redis::cmd("PTTL").arg("user:50").query(&mut c).unwrap();
    assert!((59_000..=60_000).contains(&ttl), "ttl {ttl}");
    let again = rt.block_on(write(&server, Mode::Fill, &items));
    assert_eq!((again.written, again.existed), (0, 100));
    // Key material that looks like SQL (or anything) is just a key.
    let odd = "user:1'; DROP TABLE users;--";
    let o = rt.block_on(write(&server, Mode::Fill, &[item(odd, "x", 0)]));
    assert_eq!(o.written, 1);
    let ttl: i64 = redis::cmd("PTTL").arg(odd).query(&mut c).unwrap();
    assert_eq!(ttl, -1, "ttl 0 means no expiry");
}

#[test]
fn refresh_overwrites_only_existing_strings() {
    let server = RedisServer::start();
    let mut c = server.client();
    let _: () = redis::cmd("SET")
        .arg("user:1")
        .arg("old")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("user:2")
        .arg("f")
        .arg("app-owned")
        .query(&mut c)
        .unwrap();
    let rt = runtime();
    let o = rt.block_on(write(
        &server,
        Mode::Refresh,
        &[
            item("user:1", "new", 30_000),
            item("user:2", "new", 30_000),
            item("user:3", "new", 30_000),
        ],
    ));
    assert_eq!(
        (o.written, o.type_conflict, o.absent, o.errors),
        (1, 1, 1, 0)
    );
    let v: String = redis::cmd("GET").arg("user:1").query(&mut c).unwrap();
    assert_eq!(v, "new");
    let ttl: i64 = redis::cmd("PTTL").arg("user:1").query(&mut c).unwrap();
    assert!(ttl > 29_000, "the refresh sets the TTL too: {ttl}");
    let h: String = redis::cmd("HGET")
        .arg("user:2")
        .arg("f")
        .query(&mut c)
        .unwrap();
    assert_eq!(h, "app-owned", "a hash the application owns is untouched");
    let exists: i64 = redis::cmd("EXISTS").arg("user:3").query(&mut c).unwrap();
    assert_eq!(exists, 0, "refresh never creates a key");
}

#[test]
fn refusals_are_counted_with_their_reason() {
    let server =
        RedisServer::start_with(&["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"]);
    let big = "x".repeat(64 * 1024);
    let rt = runtime();
    let mut o = Outcome::default();
    for batch in 0..20 {
        let items: Vec<Item> = (0..5)
            .map(|i| item(&format!("big:{batch}:{i}"), &big, 0))
            .collect();
        o.add(&rt.block_on(write(&server, Mode::Fill, &items)));
    }
    assert!(o.errors > 0 && o.written > 0, "{o:?}");
    assert_eq!(o.total(), 100, "every key is accounted for");
    assert_eq!(o.keyless, o.errors, "OOM has nothing to do with the key");
    assert!(o.first_error.unwrap().starts_with("OOM"));
    // A full batch refused, every key for the same server-wide reason.
    let full: Vec<Item> = (0..5)
        .map(|i| item(&format!("more:{i}"), &big, 0))
        .collect();
    let refused = rt.block_on(write(&server, Mode::Fill, &full));
    assert!(refused.all_refused_keyless(), "{refused:?}");
}

#[test]
fn a_refusal_that_depends_on_the_key_is_not_taken_for_one_every_key_gets() {
    let server = RedisServer::start();
    let rt = runtime();
    // A TTL Redis refuses (beyond what it can add to now) is per item.
    let items = vec![
        item("bad:ttl:secret-name", "v", u64::MAX / 2),
        item("bad:ttl:2", "v", u64::MAX / 2),
    ];
    let o = rt.block_on(write(&server, Mode::Fill, &items));
    assert_eq!((o.errors, o.keyless), (2, 0), "{o:?}");
    assert!(!o.all_refused_keyless());
    let why = o.first_error.unwrap();
    assert!(!why.contains("secret-name"), "{why}");
}

#[test]
fn a_batch_beyond_one_pipeline_goes_in_several_and_what_follows_runs_after_it() {
    use heliostat::ops::warm::write::{MAX_PIPELINE_BYTES, write_batch_then};
    let server = RedisServer::start();
    let _: () = redis::cmd("SET")
        .arg("big:70")
        .arg("old")
        .query(&mut server.client())
        .unwrap();
    let big = "x".repeat(64 * 1024);
    let items: Vec<Item> = (0..100)
        .map(|i| item(&format!("big:{i}"), &big, 60_000))
        .collect();
    assert!(items.len() * big.len() > 3 * MAX_PIPELINE_BYTES);
    let rt = runtime();
    let (o, after) = rt.block_on(async {
        let client = redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        write_batch_then(&mut conn, Mode::Fill, &items, &redis::cmd("DBSIZE"))
            .await
            .unwrap()
    });
    assert_eq!((o.written, o.existed, o.errors), (99, 1, 0), "{o:?}");
    assert_eq!(
        after.unwrap(),
        redis::Value::Int(100),
        "the command after the writes saw all of them"
    );
}

#[test]
fn redirected_keys_keep_their_index_across_pipelines() {
    use heliostat::ops::warm::slot::key_slot;
    use heliostat::ops::warm::write::RedirectKind;
    let cluster = support::cluster::Cluster::start(3);
    let big = "x".repeat(64 * 1024);
    // 6.4 MB over all slots: several pipelines to node 0, which writes
    // what it owns and sends the rest elsewhere with `MOVED`.
    let items: Vec<Item> = (0..100)
        .map(|i| item(&format!("k:{i}"), &big, 60_000))
        .collect();
    let owners: Vec<usize> = items
        .iter()
        .map(|it| cluster.owner_of(key_slot(it.key.as_bytes())))
        .collect();
    let o = runtime().block_on(async {
        let client = redis::Client::open(cluster.nodes[0].url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        write_batch(&mut conn, Mode::Fill, &items).await.unwrap()
    });
    let mine = owners.iter().filter(|&&n| n == 0).count();
    assert!(mine > 10 && mine < 90, "{mine} of 100 on node 0");
    assert_eq!(o.written as usize, mine, "{o:?}");
    let mut redirected: Vec<usize> = o.redirected.iter().map(|r| r.index).collect();
    redirected.sort_unstable();
    let elsewhere: Vec<usize> = (0..100).filter(|&i| owners[i] != 0).collect();
    assert_eq!(redirected, elsewhere);
    for r in &o.redirected {
        assert_eq!(r.kind, RedirectKind::Moved);
        assert_eq!(r.slot, key_slot(items[r.index].key.as_bytes()));
        assert_eq!(r.addr.1, cluster.nodes[owners[r.index]].port);
    }
}
