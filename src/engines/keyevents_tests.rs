use super::*;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn setup(flags: Option<&str>, version: &str) -> KeyEventSetup {
    KeyEventSetup {
        flags: flags.map(str::to_string),
        refused: flags
            .is_none()
            .then(|| "NOPERM this user has no permissions to run the 'config|get' command".into()),
        version: version.into(),
    }
}

fn row(k: &str) -> String {
    crate::engines::keyspace::key_row(k, ":")
}

#[test]
fn flags_publish_keyevent_channels_only_with_e() {
    assert!(publishes("Ex", Kind::Expired));
    assert!(!publishes("Ex", Kind::Miss));
    assert!(publishes("AKE", Kind::Evicted));
    assert!(!publishes("AKE", Kind::Miss), "A leaves out m");
    assert!(publishes("Em", Kind::Miss));
    assert!(
        !publishes("Km", Kind::Miss),
        "keyspace channels, not keyevent"
    );
    assert!(!publishes("", Kind::Expired));
}

#[test]
fn advice_names_the_missing_flags_what_they_add_and_cost() {
    let lines = advice(&setup(Some("Ex"), "7.0.15"));
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(
        lines[0],
        "miss events off: notify-keyspace-events is `Ex`, needs `Em` (Redis ≥ 6) — adds exact misses per key; costs one pub/sub message per miss"
    );
    assert!(lines[1].starts_with("evicted events off: notify-keyspace-events is `Ex`, needs `Ee`"));
    assert!(lines[2].contains("`Exme`") && lines[2].contains("never changes"));
    // Everything on: nothing to say.
    assert!(advice(&setup(Some("AKEm"), "7.2.4")).is_empty());
    // Off entirely: E comes first in the suggested value.
    let off = advice(&setup(Some(""), "6.2.0"));
    assert!(off[0].contains("is empty, needs `Em`"), "{off:#?}");
    assert!(off.last().is_some_and(|l| l.contains("`Emxe`")), "{off:#?}");
    // Too old for misses: said so, not suggested.
    let old = advice(&setup(Some("Ex"), "5.0.7"));
    assert!(old[0].contains("need Redis ≥ 6.0 (this server is 5.0.7)"));
    assert!(old.last().is_some_and(|l| l.contains("`Exe`")));
    // CONFIG GET refused: the server's words, and what each kind needs.
    let refused = advice(&setup(None, "7.0.15"));
    assert_eq!(refused.len(), 1);
    assert!(refused[0].contains("NOPERM") && refused[0].contains("`Em`"));
}

#[test]
fn misses_are_counted_per_key_and_per_row_exactly() {
    let mut b = KeyEventBoard::default();
    let e = KeyEvents {
        missed: vec![("ux:product:2".into(), 40), ("ux:user:1".into(), 2)],
        expired: vec!["ux:product:2".into(), "session:9".into()],
        evicted: vec!["big".into()],
        ..KeyEvents::default()
    };
    b.apply(&e, T0, row);
    b.apply(&e, T0.add_secs(1), row);
    assert_eq!(b.totals, [84, 4, 2]);
    let top = b.top_keys(1);
    assert_eq!(top[0].0, "ux:product:2");
    assert_eq!(top[0].1.count, 80);
    assert_eq!(top[0].1.last, T0.add_secs(1));
    assert_eq!(b.top_prefixes(Kind::Miss, 5), vec![("ux:*", 84)]);
    assert_eq!(
        b.top_prefixes(Kind::Expired, 5),
        vec![("session:*", 2), ("ux:*", 2)]
    );
    assert_eq!(b.top_prefixes(Kind::Evicted, 5), vec![("(none)", 2)]);
    assert_eq!(b.dropped, 0);
}

#[test]
fn a_million_distinct_missed_keys_stay_capped_and_every_miss_is_counted() {
    let mut b = KeyEventBoard::default();
    for chunk in 0..100u64 {
        let mut missed: Vec<(String, u32)> = (0..10_000)
            .map(|i| (format!("p{}:k", chunk * 10_000 + i), 1))
            .collect();
        missed.push(("hot:key".into(), 50));
        let e = KeyEvents {
            missed,
            dropped: 3,
            ..KeyEvents::default()
        };
        b.apply(&e, T0.add_millis(chunk as i64 * 500), row);
        assert!(b.missed_keys.len() <= KEYS_KEPT);
        assert!(b.by_prefix.len() <= PREFIXES_KEPT);
    }
    assert_eq!(b.missed_keys.get("hot:key").map(|m| m.count), Some(5_000));
    assert_eq!(b.totals[0], 100 * 10_050);
    let by_key: u64 = b.missed_keys.values().map(|m| m.count).sum();
    let by_row: u64 = b.by_prefix.values().flatten().sum();
    assert!(b.dropped >= 300);
    // Keys and rows are capped separately; each cap's dropped share is
    // counted, so neither side loses a miss silently.
    assert!(by_key + b.dropped >= b.totals[0] + 300);
    assert!(by_row + b.dropped >= b.totals[0] + 300);
    assert_eq!(b.top_prefixes(Kind::Miss, 1), vec![("hot:*", 5_000)]);
}

#[test]
fn a_very_long_key_is_cut_with_a_hash() {
    let mut b = KeyEventBoard::default();
    let long = "k".repeat(5_000);
    let e = KeyEvents {
        missed: vec![(long.clone(), 1), (format!("{long}x"), 1)],
        ..KeyEvents::default()
    };
    b.apply(&e, T0, row);
    assert_eq!(b.missed_keys.len(), 2, "distinct long keys stay apart");
    assert!(b.missed_keys.keys().all(|k| k.len() <= KEY_BYTES));
}

#[test]
fn the_rate_is_over_the_last_ten_seconds_and_a_pause_says_when_it_ends() {
    let mut b = KeyEventBoard::default();
    assert_eq!(b.per_sec(T0), None, "not listening yet");
    let first = KeyEvents {
        setup: Some(setup(Some("Exm"), "7.0.15")),
        ..KeyEvents::default()
    };
    b.apply(&first, T0, row);
    assert_eq!(b.per_sec(T0), Some(0.0));
    for i in 1..=40 {
        let e = KeyEvents {
            missed: vec![("a".into(), 50)],
            ..KeyEvents::default()
        };
        b.apply(&e, T0.add_millis(i * 500), row);
    }
    // 20 s of 100/s: the last 10 s hold 20 flushes of 50.
    let r = b.per_sec(T0.add_secs(20)).unwrap_or(0.0);
    assert!((r - 100.0).abs() < 1e-9, "{r}");
    assert_eq!(b.publishes(Kind::Miss), Some(true));
    assert_eq!(b.publishes(Kind::Evicted), Some(false));
    let stop = KeyEvents {
        stopped: Some(KeyEventsStopped {
            per_sec: 5_001,
            limit: 5_000,
            resume_after_s: 300,
        }),
        ..KeyEvents::default()
    };
    b.apply(&stop, T0.add_secs(30), row);
    assert_eq!(
        b.per_sec(T0.add_secs(31)),
        None,
        "not listening while paused"
    );
    let line = b.stopped_line(T0.add_secs(90)).unwrap_or_default();
    assert!(
        line.contains("5001 notifications/s over the limit of 5000/s")
            && line.contains("listening again in 240s"),
        "{line}"
    );
    // Subscribing again clears the pause.
    b.apply(&first, T0.add_secs(331), row);
    assert_eq!(b.stopped_line(T0.add_secs(331)), None);
}
