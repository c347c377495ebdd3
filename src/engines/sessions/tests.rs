use proptest::prelude::*;

use super::*;

fn client(id: u64, name: &str, addr: &str, omem: u64, tot: Option<u64>, idle: u64) -> RedisClient {
    RedisClient {
        id,
        addr: addr.into(),
        name: name.into(),
        omem,
        tot_mem: tot,
        idle_s: idle,
        own: is_own_name(name),
        ..RedisClient::default()
    }
}

fn list(rows: Vec<RedisClient>) -> ClientList {
    ClientList {
        total: rows.len() as u32,
        rows,
        cut: 0,
        note: None,
    }
}

fn session(pid: u32, state: PgState, query_ms: u64, xact_ms: Option<u64>) -> PgSession {
    PgSession {
        pid,
        user: Some("app".into()),
        application: "shop".into(),
        state,
        query_ms: Some(query_ms),
        xact_ms,
        state_ms: Some(query_ms),
        query: Some("SELECT * FROM orders WHERE id = ?".into()),
        ..PgSession::default()
    }
}

const T0: Timestamp = Timestamp(1_000_000);

#[test]
fn clients_group_by_name_or_host_across_nodes_biggest_memory_first() {
    let mut e: SessionsEngine<u16> = SessionsEngine::new();
    e.apply_redis(
        0,
        T0,
        &list(vec![
            client(1, "api", "10.0.0.1:5000", 10, Some(30_000), 1),
            client(2, "api", "10.0.0.2:5001", 20, Some(40_000), 9),
            client(3, "", "10.0.0.7:6000", 5_000_000, Some(5_100_000), 0),
            client(4, "heliostat", "127.0.0.1:7", 0, Some(20_000), 0),
        ]),
    );
    e.apply_redis(
        1,
        T0,
        &list(vec![client(1, "api", "10.0.0.1:5002", 0, None, 300)]),
    );
    let v = e.redis_view(T0.add_millis(2_000), &Query::default());
    let labels: Vec<&str> = v.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, ["10.0.0.7", "api", "heliostat"]);
    let api = &v.groups[1];
    assert_eq!((api.clients, api.nodes, api.omem), (3, 2, 30));
    // tot-mem sums the clients that report it; memory falls back to omem+qbuf.
    assert_eq!(
        (api.tot_mem, api.memory, api.max_idle_s),
        (Some(70_000), 70_000, 300)
    );
    assert!(v.groups[0].by_host && !api.by_host && !api.own && v.groups[2].own);
    assert_eq!(
        v.clients[0].1.id, 3,
        "the client with the biggest buffer leads"
    );
    assert_eq!(v.sources.len(), 2);
    assert_eq!((v.sources[0].age_ms, v.sources[0].stale), (2_000, false));
    let by_idle = e.redis_view(
        T0,
        &Query {
            sort: ClientSort::Idle,
            ..Query::default()
        },
    );
    assert_eq!(by_idle.groups[0].label, "api");
    assert_eq!((by_idle.clients[0].0, by_idle.clients[0].1.id), (1, 1));
}

#[test]
fn filters_match_any_field_case_insensitively() {
    let mut e: SessionsEngine<u16> = SessionsEngine::new();
    let mut c = client(7, "Worker", "10.1.1.1:1", 0, None, 0);
    c.cmd = "blpop".into();
    e.apply_redis(
        0,
        T0,
        &list(vec![c, client(8, "api", "10.2.2.2:1", 0, None, 0)]),
    );
    let q = |f: &str| Query {
        filter: f.into(),
        ..Query::default()
    };
    let ids = |f: &str| -> Vec<u64> {
        e.redis_view(T0, &q(f))
            .clients
            .iter()
            .map(|(_, c)| c.id)
            .collect()
    };
    assert_eq!(ids("work"), [7]);
    assert_eq!(ids("BLPOP"), [7]);
    assert_eq!(ids("10.2."), [8]);
    assert!(ids("nothing").is_empty());
    assert_eq!(e.redis_view(T0, &q("work")).groups.len(), 1);

    e.apply_pg(
        3,
        T0,
        &PgSessionList {
            rows: vec![
                session(10, PgState::Active, 5, None),
                PgSession {
                    wait: Some(("Lock".into(), "transactionid".into())),
                    ..session(11, PgState::Active, 1, None)
                },
            ],
            total: 2,
            ..PgSessionList::default()
        },
    );
    let pids = |f: &str| -> Vec<u32> {
        e.pg_view(
            T0,
            &Query {
                filter: f.into(),
                ..Query::default()
            },
        )
        .sessions
        .iter()
        .map(|(_, s)| s.pid)
        .collect()
    };
    assert_eq!(pids("transactionid"), [11]);
    assert_eq!(pids("ORDERS"), [10, 11]);
    assert_eq!(pids("11"), [11]);
}

#[test]
fn postgres_sessions_sort_by_duration_with_idle_ones_last() {
    let mut e: SessionsEngine<u16> = SessionsEngine::new();
    let idle_long = PgSession {
        state_ms: Some(9_000_000),
        ..session(1, PgState::Idle, 9_000_000, None)
    };
    let in_xact = PgSession {
        state_ms: Some(100),
        ..session(2, PgState::IdleInTransaction, 100, Some(60_000))
    };
    let running = session(3, PgState::Active, 30_000, Some(30_000));
    let blocked = PgSession {
        blocked_by: vec![2],
        ..session(4, PgState::Active, 20_000, Some(20_000))
    };
    e.apply_pg(
        5,
        T0,
        &PgSessionList {
            rows: vec![idle_long, in_xact, running, blocked],
            total: 4,
            ..PgSessionList::default()
        },
    );
    let order = |q: Query<PgSort>| -> Vec<u32> {
        e.pg_view(T0, &q)
            .sessions
            .iter()
            .map(|(_, s)| s.pid)
            .collect()
    };
    assert_eq!(order(Query::default()), [2, 3, 4, 1]);
    assert_eq!(
        order(Query {
            descending: false,
            ..Query::default()
        }),
        [4, 3, 2, 1]
    );
    assert_eq!(
        order(Query {
            sort: PgSort::Pid,
            descending: false,
            ..Query::default()
        }),
        [1, 2, 3, 4]
    );
    let s = e.session(5, 2).map(|s| s.state.idle_in_transaction());
    assert_eq!(s, Some(true));
    assert!(e.session(5, 4).is_some_and(PgSession::blocked));
}

#[test]
fn a_list_knows_its_age_note_and_cut_rows_and_older_lists_are_ignored() {
    let mut e: SessionsEngine<u16> = SessionsEngine::new();
    let skipped = ClientList {
        total: 6_000,
        note: Some("6000 clients > 5000, CLIENT LIST skipped".into()),
        ..ClientList::default()
    };
    e.apply_redis(0, T0, &skipped);
    e.apply_redis(
        0,
        T0.add_millis(-5_000),
        &list(vec![client(1, "x", "a:1", 0, None, 0)]),
    );
    let v = e.redis_view(T0.add_millis(STALE_MS as i64 + 1), &Query::default());
    assert!(
        v.clients.is_empty(),
        "the older list did not replace the newer"
    );
    let s = &v.sources[0];
    assert!(s.stale);
    assert_eq!(
        s.note.as_deref(),
        Some("6000 clients > 5000, CLIENT LIST skipped")
    );
    // A list longer than the cap (not from a reader) is cut and counted.
    let big = list(
        (0..MAX_CLIENTS as u64 + 10)
            .map(|i| client(i, "a", "h:1", 0, None, 0))
            .collect(),
    );
    e.apply_redis(1, T0, &big);
    let v = e.redis_view(T0, &Query::default());
    assert_eq!(v.sources[1].cut, 10);
    assert_eq!(v.clients.len(), MAX_CLIENTS);
    e.forget(1);
    assert_eq!(e.redis_sources(), 1);
}

#[test]
fn a_million_distinct_group_names_and_sources_stay_bounded() {
    let mut e: SessionsEngine<u64> = SessionsEngine::new();
    // A million distinct sources, each with a client of its own name.
    for i in 0..1_000_000u64 {
        let l = list(vec![client(i, &format!("app-{i}"), "h:1", i, None, 0)]);
        e.apply_redis(i, Timestamp(i as i64), &l);
        if i % 1_000 == 0 {
            e.apply_pg(i, Timestamp(i as i64), &PgSessionList::default());
        }
        assert!(e.redis_sources() <= MAX_SOURCES);
    }
    assert!(e.pg_sources() <= MAX_SOURCES);
    // The newest sources stay.
    assert!(e.client(999_999, 999_999).is_some());
    assert!(e.client(0, 0).is_none());
    // One node with a million distinct names (more than a reader keeps):
    // groups stay under their cap, the rest folded into (other).
    let many = ClientList {
        rows: (0..1_000_000u64)
            .map(|i| client(i, &format!("n{i}"), "h:1", i, None, 0))
            .collect(),
        total: 1_000_000,
        ..ClientList::default()
    };
    let mut e: SessionsEngine<u64> = SessionsEngine::new();
    e.apply_redis(0, T0, &many);
    let v = e.redis_view(T0, &Query::default());
    assert_eq!(v.sources[0].cut, 1_000_000 - MAX_CLIENTS as u32);
    for n in [10usize, MAX_GROUPS + 500] {
        let rows: Vec<RedisClient> = (0..n as u64)
            .map(|i| client(i, &format!("n{i}"), "h:1", i, None, 0))
            .collect();
        let mut e: SessionsEngine<u64> = SessionsEngine::new();
        for (s, chunk) in rows.chunks(MAX_CLIENTS).enumerate() {
            e.apply_redis(s as u64, T0, &list(chunk.to_vec()));
        }
        let v = e.redis_view(T0, &Query::default());
        assert!(v.groups.len() <= MAX_GROUPS + 1);
        let total: u32 = v.groups.iter().map(|g| g.clients).sum();
        assert_eq!(total as usize, n, "every client is in a group");
        let other = v.groups.iter().find(|g| g.label == OTHER_GROUP);
        assert_eq!(
            other.map(|g| g.clients as usize),
            (n > MAX_GROUPS).then(|| n - MAX_GROUPS)
        );
        // The smallest were folded: the biggest client has its own group.
        assert!(v.groups.iter().any(|g| g.label == format!("n{}", n - 1)));
        assert_eq!(v.groups.iter().any(|g| g.label == "n0"), n <= MAX_GROUPS);
    }
}

fn arb_client() -> impl Strategy<Value = RedisClient> {
    (
        0u64..50,
        prop::sample::select(vec!["", "api", "heliostat", "w"]),
        prop::sample::select(vec!["10.0.0.1:1", "[::1]:6379", "/tmp/r.sock", "x:"]),
        any::<u64>(),
        prop::option::of(any::<u64>()),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(id, name, addr, omem, tot, idle, qbuf)| RedisClient {
            qbuf,
            ..client(id, name, addr, omem, tot, idle)
        })
}

proptest! {
    #[test]
    fn views_are_sorted_and_groups_account_for_every_client(
        lists in prop::collection::vec(prop::collection::vec(arb_client(), 0..30), 0..4),
        sort in prop::sample::select(vec![
            ClientSort::Memory, ClientSort::OutputBuffer, ClientSort::Idle,
            ClientSort::Age, ClientSort::Clients, ClientSort::Name,
        ]),
        descending in any::<bool>(),
        filter in prop::sample::select(vec!["", "api", "10.", "zz"]),
    ) {
        let mut e: SessionsEngine<u8> = SessionsEngine::new();
        for (i, rows) in lists.iter().enumerate() {
            e.apply_redis(i as u8, T0, &list(rows.clone()));
        }
        let q = Query { filter: filter.into(), sort, descending };
        let v = e.redis_view(T0, &q);
        let grouped: u32 = v.groups.iter().map(|g| g.clients).sum();
        prop_assert_eq!(grouped as usize, v.clients.len());
        if sort == ClientSort::Memory {
            for w in v.clients.windows(2) {
                let (a, b) = (w[0].1.memory(), w[1].1.memory());
                let ok = if descending { a >= b } else { a <= b };
                prop_assert!(ok);
            }
        }
        for g in &v.groups {
            prop_assert_eq!(g.own, g.label == "heliostat");
        }
        // The same lists in another order give the same view.
        let mut r: SessionsEngine<u8> = SessionsEngine::new();
        for (i, rows) in lists.iter().enumerate().rev() {
            r.apply_redis(i as u8, T0, &list(rows.clone()));
        }
        prop_assert_eq!(r.redis_view(T0, &q), v);
    }

    #[test]
    fn duration_order_holds_for_any_sessions(
        rows in prop::collection::vec(
            (any::<u32>(), 0usize..4, prop::option::of(any::<u64>()), prop::option::of(any::<u64>())),
            0..40),
        descending in any::<bool>(),
    ) {
        let states = [PgState::Active, PgState::Idle, PgState::IdleInTransaction, PgState::Unknown];
        let rows: Vec<PgSession> = rows.into_iter().map(|(pid, st, q, x)| PgSession {
            pid, state: states[st], query_ms: q, xact_ms: x, state_ms: q,
            ..PgSession::default()
        }).collect();
        let mut e: SessionsEngine<u8> = SessionsEngine::new();
        e.apply_pg(0, T0, &PgSessionList { rows, ..PgSessionList::default() });
        let v = e.pg_view(T0, &Query { descending, ..Query::default() });
        for w in v.sessions.windows(2) {
            let (a, b) = (w[0].1, w[1].1);
            let (ia, ib) = (a.state == PgState::Idle, b.state == PgState::Idle);
            prop_assert!(ia <= ib, "idle sessions come last");
            if ia == ib {
                let (da, db) = (a.duration_ms(), b.duration_ms());
                let ok = if descending { da >= db } else { da <= db };
                prop_assert!(ok);
            }
        }
    }
}
