//! The caps: a million distinct clients, tables and operations stay within
//! bounds; nothing the sink still has to write is forgotten.

use super::*;
use crate::engines::Timestamp;

fn small() -> ClientsEngine {
    ClientsEngine::new(ClientsConfig {
        max_clients: 1_000,
        max_table_rows: 2_000,
        max_operations: 16,
        ..ClientsConfig::default()
    })
}

/// One event of client `c` on table `t` with operation `op`, as the app
/// turns an access aggregate into deltas.
fn event(e: &mut ClientsEngine, c: &str, t: &str, op: &str, now: Timestamp) {
    let n = e.names_mut();
    let client = n.client(c);
    let key = TableKey {
        client,
        table: n.table(t),
        operation: n.operation(op),
    };
    e.apply_all(
        &[
            ClientDelta::Table(TableDelta::one(key, false)),
            ClientDelta::Request(RequestDelta::from_status(client, 200, false)),
            ClientDelta::LastSeen(client),
        ],
        now,
    );
}

/// What the app does at a tick without a sink: settle pending deltas.
fn settle(e: &mut ClientsEngine, now: Timestamp) {
    while let Some(b) = e.take_batch(now) {
        e.ack(b.seq, now);
    }
}

#[test]
fn a_million_distinct_clients_tables_and_operations_stay_under_the_caps() {
    let mut e = small();
    for i in 0..1_000_000u32 {
        let now = Timestamp::from_millis(i64::from(i));
        let name = i.to_string();
        event(&mut e, &name, &name, &name, now);
        if i % 1000 == 999 {
            settle(&mut e, now);
        }
        let (clients, rows) = e.held();
        assert!(clients <= 1_251 && rows <= 2_500, "{i}: {clients} {rows}");
    }
    let stats = e.cap_stats();
    assert!(stats.clients_evicted > 900_000, "{stats:?}");
    assert!(stats.rows_evicted > 900_000, "{stats:?}");
    assert!(stats.names_overflowed > 0, "operations past 16 are (other)");
    // The newest are kept, with their names.
    let newest = e.names().client_id("999999").expect("the newest client");
    let view = e.tables_view(Some(newest));
    assert_eq!(view.len(), 1);
    assert_eq!(view[0].table, "999999");
    assert_eq!(view[0].operation, "(other)");
    assert!(e.clients_view(Timestamp::from_secs(1000)).len() <= 1_251);
}

#[test]
fn deltas_owed_to_the_sink_are_never_forgotten() {
    let mut e = small();
    let t0 = Timestamp::from_secs(1);
    event(&mut e, "api", "users", "get", t0);
    // The batch goes out; no answer yet.
    let first = e.take_batch(t0).expect("a batch");
    let sent = first.to_columns(e.names());
    // A flood of new clients and tables while the sink is silent: pending
    // rows cannot go, so past the hard cap new rows are refused.
    for i in 0..10_000 {
        event(&mut e, &format!("c{i}"), &format!("t{i}"), "get", t0);
    }
    let (clients, rows) = e.held();
    assert!(clients <= 1_251 && rows <= 2_500, "{clients} {rows}");
    assert!(e.cap_stats().rows_refused > 0);
    // The in-flight batch still names what it named, after a failure too.
    e.nack(first.seq, t0.add_secs(1));
    let again = e.take_batch(t0.add_secs(60)).expect("a retry");
    let cols = again.to_columns(e.names());
    let at = |c: &BatchColumns, name: &str| c.tables.table_name.iter().position(|t| t == name);
    let i = at(&cols, "users").expect("users is still in the batch");
    assert_eq!(cols.tables.client_name[i], "api");
    assert_eq!(sent.tables.table_name, ["users"]);
    let api = cols.clients.client_name.iter().position(|c| c == "api");
    assert_eq!(api.map(|i| cols.clients.total_requests[i]), Some(1));
    // Once the sink has them, old rows make room again.
    e.ack(again.seq, t0.add_secs(61));
    settle(&mut e, t0.add_secs(62));
    event(&mut e, "late", "late_table", "get", t0.add_secs(63));
    let late = e.names().client_id("late").expect("room again");
    assert_eq!(e.tables_view(Some(late)).len(), 1);
}
