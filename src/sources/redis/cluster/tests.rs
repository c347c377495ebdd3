use super::*;

const NODES: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,cache-4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460
6ec23923021cf3ffec47632106199cb7f496ce01 :0@0 master,noaddr - 0 0 5 disconnected
9999999999999999999999999999999999999999 127.0.0.1:30009@31009 handshake - 0 0 0 connected
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ::1:30010@31010 master,fail - 0 0 6 disconnected
";

#[test]
fn cluster_nodes_lines_give_ids_addresses_and_roles() {
    let n = parse_nodes(NODES);
    assert_eq!(n.len(), 5, "{n:?}");
    assert_eq!(n[0].id, "07c37dfeb235213a872192d90877d0cd55635b91");
    assert_eq!(
        (n[0].host.as_str(), n[0].port, n[0].primary),
        ("127.0.0.1", 30004, false)
    );
    assert!(n[3].primary && n[3].port == 30001);
    assert_eq!((n[4].host.as_str(), n[4].port), ("::1", 30010));
    assert!(parse_nodes("garbage\n\n x y\n").is_empty());
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn node(fields: &[(&str, Value)]) -> Value {
    Value::Array(
        fields
            .iter()
            .flat_map(|(k, v)| [bulk(k), v.clone()])
            .collect(),
    )
}

#[test]
fn cluster_shards_replies_give_every_node_of_every_shard() {
    let primary = node(&[
        ("id", bulk("aaaa1111")),
        ("port", Value::Int(7000)),
        ("tls-port", Value::Int(8000)),
        ("ip", bulk("10.0.0.1")),
        ("endpoint", bulk("10.0.0.1")),
        ("role", bulk("master")),
        ("health", bulk("online")),
    ]);
    let replica = node(&[
        ("id", bulk("bbbb2222")),
        ("port", Value::Int(7001)),
        ("ip", bulk("10.0.0.2")),
        ("endpoint", bulk("?")),
        ("role", bulk("replica")),
    ]);
    let shard = Value::Array(vec![
        bulk("slots"),
        Value::Array(vec![Value::Int(0), Value::Int(16383)]),
        bulk("nodes"),
        Value::Array(vec![primary, replica]),
    ]);
    let reply = Value::Array(vec![shard]);
    let plain = parse_shards(&reply, false);
    assert_eq!(plain.len(), 2);
    assert_eq!(
        (plain[0].host.as_str(), plain[0].port, plain[0].primary),
        ("10.0.0.1", 7000, true)
    );
    assert_eq!(
        (plain[1].host.as_str(), plain[1].port, plain[1].primary),
        ("10.0.0.2", 7001, false)
    );
    let tls = parse_shards(&reply, true);
    assert_eq!(tls[0].port, 8000, "the TLS port for a TLS seed");
    assert_eq!(tls[1].port, 7001, "no TLS port given: the plain one");
    assert!(parse_shards(&Value::Nil, false).is_empty());
    // RESP3 maps parse the same way.
    let map = Value::Map(vec![(
        bulk("nodes"),
        Value::Array(vec![Value::Map(vec![
            (bulk("id"), bulk("cccc")),
            (bulk("port"), Value::Int(7002)),
            (bulk("ip"), bulk("h")),
            (bulk("role"), bulk("master")),
        ])]),
    )]);
    assert_eq!(parse_shards(&Value::Array(vec![map]), false)[0].port, 7002);
}

#[test]
fn node_names_carry_the_address_and_a_short_id() {
    assert_eq!(
        node_name("127.0.0.1", 7000, "a1b2c3d4e5f6"),
        "127.0.0.1:7000 a1b2c3"
    );
    assert_eq!(node_name("::1", 7000, "ab"), "[::1]:7000 ab");
}
