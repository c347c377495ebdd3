use super::*;

fn err(line: &str) -> Value {
    redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap_or(Value::Nil)
}

fn status(s: &str) -> Value {
    Value::SimpleString(s.to_string())
}

const ALL: Probes = Probes {
    object: true,
    memory: true,
    elements: true,
};

#[test]
fn refusals_do_not_count_and_runtime_errors_do() {
    assert!(matches!(err("NOPERM x"), Value::ServerError(_)));
    assert!(!ran(&err(
        "NOPERM this user has no permissions to run the 'object|freq' command"
    )));
    assert!(!ran(&err(
        "ERR unknown subcommand 'NO-TOUCH'. Try CLIENT HELP."
    )));
    assert!(!ran(&err(
        "ERR unknown command 'FOO', with args beginning with: "
    )));
    assert!(!ran(&err(
        "ERR wrong number of arguments for 'get' command"
    )));
    assert!(!ran(&err("LOADING Redis is loading the dataset in memory")));
    assert!(ran(&err(
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    )));
    assert!(ran(&err(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked."
    )));
    assert!(ran(&Value::Int(3)) && ran(&Value::Nil));
    assert!(command_refused(&err(
        "NOPERM this user has no permissions to run the 'memory|usage' command"
    )));
    assert!(!command_refused(&err(
        "NOPERM this user has no permissions to access one of the keys used as arguments"
    )));
}

#[test]
fn an_existing_key_costs_hits_and_reads_back() {
    let mut t = Tally::default();
    let r = [
        Value::Int(90_000),
        status("hash"),
        Value::Int(12),
        Value::Int(240),
    ];
    let k = read_key(b"user:1", &r, true, &ALL, &mut t);
    assert_eq!(
        k,
        SampledKey {
            key: "user:1".into(),
            kind: KeyKind::Hash,
            ttl_ms: Some(90_000),
            heat: Some(KeyHeat::LfuFreq(12)),
            memory: Some(240),
            elements: None,
        }
    );
    // PTTL, TYPE, OBJECT are lookups; MEMORY USAGE is not.
    assert_eq!((t.counted, t.hits, t.misses), (4, 3, 0));
}

#[test]
fn a_key_gone_since_scan_costs_misses() {
    let mut t = Tally::default();
    let r = [Value::Int(-2), status("none"), Value::Nil, Value::Nil];
    let k = read_key(b"user:2", &r, false, &ALL, &mut t);
    assert_eq!((k.kind, k.ttl_ms, k.heat), (KeyKind::Missing, None, None));
    assert_eq!((t.counted, t.hits, t.misses), (4, 0, 3));
}

#[test]
fn object_under_the_wrong_policy_still_looks_the_key_up() {
    let mut t = Tally::default();
    let probes = Probes {
        object: true,
        memory: false,
        elements: false,
    };
    let wrong = err("ERR An LFU maxmemory policy is not selected, access frequency not tracked.");
    let r = [Value::Int(-1), status("string"), wrong];
    let k = read_key(b"k", &r, true, &probes, &mut t);
    assert_eq!((k.ttl_ms, k.heat), (Some(-1), None));
    assert_eq!((t.counted, t.hits, t.misses), (3, 3, 0));
    // A refused OBJECT is neither counted nor a lookup.
    let mut t = Tally::default();
    let refused = err("NOPERM this user has no permissions to run the 'object|idletime' command");
    let r = [Value::Int(5000), status("set"), refused];
    let k = read_key(b"k", &r, false, &probes, &mut t);
    assert_eq!((k.kind, k.heat), (KeyKind::Set, None));
    assert_eq!((t.counted, t.hits, t.misses), (2, 2, 0));
}

#[test]
fn idle_times_and_odd_counters_are_read_safely() {
    let probes = Probes {
        object: true,
        memory: false,
        elements: false,
    };
    let mut t = Tally::default();
    let k = read_key(
        b"k",
        &[Value::Int(-1), status("zset"), Value::Int(42)],
        false,
        &probes,
        &mut t,
    );
    assert_eq!(k.heat, Some(KeyHeat::IdleSecs(42)));
    let k = read_key(
        b"k",
        &[Value::Int(-1), status("zset"), Value::Int(999)],
        true,
        &probes,
        &mut t,
    );
    assert_eq!(k.heat, Some(KeyHeat::LfuFreq(255)));
    // Short or garbled replies never panic.
    let k = read_key(b"\xff\xfe", &[], true, &ALL, &mut t);
    assert_eq!(k.key, "\u{fffd}\u{fffd}");
    assert_eq!(k.kind, KeyKind::Other);
}

#[test]
fn lengths_count_as_lookups_even_on_the_wrong_type() {
    assert_eq!(read_length(KeyKind::Hash, &Value::Int(7)), (Some(7), true));
    assert_eq!(
        read_length(KeyKind::String, &Value::Int(0)),
        (Some(0), true)
    );
    assert_eq!(read_length(KeyKind::List, &Value::Int(0)), (Some(0), false));
    let wrong = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(read_length(KeyKind::Set, &wrong), (None, true));
}

#[test]
fn scan_replies_decode() {
    let v = Value::Array(vec![
        Value::BulkString(b"1536".to_vec()),
        Value::Array(vec![
            Value::BulkString(b"a:1".to_vec()),
            Value::BulkString(b"b:\xff".to_vec()),
        ]),
    ]);
    assert_eq!(
        parse_scan(&v),
        Some((1536, vec![b"a:1".to_vec(), b"b:\xff".to_vec()]))
    );
    assert_eq!(parse_scan(&Value::Nil), None);
    assert_eq!(parse_scan(&Value::Array(vec![Value::Int(0)])), None);
}
