//! Behaviour tests of the clients engine: seed behaviours kept, seed defects
//! fixed, and the flush plan's state machine.

use super::*;
use crate::engines::Timestamp;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn req(c: u32, d_req: i64, d_succ: i64, d_fail: i64, d_cached: i64) -> ClientDelta {
    ClientDelta::Request(RequestDelta {
        client: ClientId(c),
        d_req,
        d_succ,
        d_fail,
        d_cached,
    })
}

/// The next batch, failing the test when there is none.
fn take(e: &mut ClientsEngine, now: Timestamp) -> FlushBatch {
    let b = e.take_batch(now);
    assert!(b.is_some(), "expected a batch at {now:?}");
    b.unwrap_or_default()
}

fn op(c: u32, d_op: i64) -> ClientDelta {
    ClientDelta::Operation(OperationDelta {
        client: ClientId(c),
        d_op,
    })
}

fn key(c: u32, table: u32, operation: Operation) -> TableKey {
    TableKey {
        client: ClientId(c),
        table: TableId(table),
        operation,
    }
}

fn tab(k: TableKey, d_total: i64, d_err: i64) -> ClientDelta {
    ClientDelta::Table(TableDelta {
        key: k,
        d_total,
        d_err,
    })
}

#[test]
fn seed_merge_deltas_accumulates() {
    let mut e = ClientsEngine::default();
    e.apply(&req(1, 1, 1, 0, 0), t(0));
    e.apply(&req(1, 1, 0, 1, 1), t(1));
    e.apply(&op(1, 3), t(2));
    let want = ClientAccum {
        d_req: 2,
        d_succ: 1,
        d_fail: 1,
        d_cached: 1,
        d_op: 3,
    };
    assert_eq!(e.pending_client(ClientId(1)), want);
    let tot = e.client_totals(ClientId(1)).copied().unwrap_or_default();
    assert_eq!(
        (tot.requests, tot.successes, tot.failures, tot.cached),
        (2, 1, 1, 1)
    );
    assert_eq!(tot.operations, 3);
    assert_eq!(e.pending_rows(), 1);
}

#[test]
fn seed_last_seen_dedupes_per_flush_batch() {
    let mut e = ClientsEngine::default();
    e.apply(&ClientDelta::LastSeen(ClientId(4)), t(0));
    e.apply(&ClientDelta::LastSeen(ClientId(4)), t(1));
    e.apply(&ClientDelta::LastSeen(ClientId(2)), t(2));
    assert_eq!(e.flush_stats().pending_last_seen, 2);
    // Last-seen touches are not client rows (the seed's size measure).
    assert_eq!(e.pending_rows(), 0);
    let b = e.take_batch(t(3));
    assert_eq!(b.map(|b| b.last_seen), Some(vec![ClientId(2), ClientId(4)]));
    // The next batch starts a new dedupe set.
    e.ack(1, t(4));
    e.apply(&ClientDelta::LastSeen(ClientId(4)), t(5));
    assert_eq!(
        e.take_batch(t(6)).map(|b| b.last_seen),
        Some(vec![ClientId(4)])
    );
}

#[test]
fn seed_table_merge_accumulates() {
    let mut e = ClientsEngine::default();
    let k = key(0, 0, Operation::Insert);
    e.apply(&tab(k, 1, 0), t(0));
    e.apply(&tab(k, 1, 1), t(1));
    assert_eq!(
        e.pending_table(&k),
        TableAccum {
            d_total: 2,
            d_err: 1
        }
    );
    let tot = e.table_totals(&k).copied().unwrap_or_default();
    assert_eq!((tot.total, tot.errors), (2, 1));
}

#[test]
fn seed_skips_all_zero_rows() {
    let mut e = ClientsEngine::default();
    let k = key(0, 0, Operation::Get);
    e.apply(&tab(k, 1, 0), t(0));
    e.apply(&tab(k, -1, 0), t(0));
    e.apply(&req(0, 1, 1, 0, 0), t(0));
    e.apply(&req(0, -1, -1, 0, 0), t(0));
    // Everything nets to zero: nothing to write, no batch number used.
    assert_eq!(e.take_batch(t(1)), None);
    assert_eq!(e.pending_rows(), 0);
    e.apply(&op(0, 1), t(2));
    assert_eq!(e.take_batch(t(3)).map(|b| b.seq), Some(1));
}

#[test]
fn fixes_seed_zero_request_row_drops_outcome_counts() {
    // The seed skipped a client row with d_req == 0 && d_op == 0 even when it
    // carried success/failure/cached counts; those were lost.
    let mut e = ClientsEngine::default();
    e.apply(&req(3, 0, 0, 0, 2), t(0));
    e.apply(&req(5, 0, 1, 1, 0), t(0));
    let b = take(&mut e, t(1));
    assert_eq!(b.clients.len(), 2);
    assert_eq!(b.clients[0].delta.d_cached, 2);
    assert_eq!(b.clients[1].delta.d_fail, 1);
}

#[test]
fn fixes_seed_failed_flush_loses_deltas() {
    let mut e = ClientsEngine::default();
    let k = key(1, 2, Operation::Select);
    e.apply(&req(1, 1, 1, 0, 0), t(0));
    e.apply(&tab(k, 3, 1), t(0));
    e.apply(&ClientDelta::LastSeen(ClientId(1)), t(0));
    let b1 = take(&mut e, t(250));
    // Newer deltas while the batch is out.
    e.apply(&req(1, 2, 1, 1, 0), t(260));
    e.apply(&tab(k, 1, 0), t(260));
    assert_eq!(e.nack(b1.seq, t(300)), Settlement::Requeued);
    assert_eq!(e.in_flight(), None);
    // Old and new merged back together, nothing lost.
    assert_eq!(
        e.pending_client(ClientId(1)),
        ClientAccum {
            d_req: 3,
            d_succ: 2,
            d_fail: 1,
            d_cached: 0,
            d_op: 0
        }
    );
    assert_eq!(
        e.pending_table(&k),
        TableAccum {
            d_total: 4,
            d_err: 1
        }
    );
    assert!(e.pending_last_seen(ClientId(1)));
    assert_eq!(e.pending_rows(), 2);
    // Totals were counted once, at apply time, and are not touched by the nack.
    assert_eq!(e.client_totals(ClientId(1)).map(|t| t.requests), Some(3));
    // Retry after the backoff with a new number; a late ack of the old
    // number cannot complete it.
    assert!(!e.should_flush(t(549)));
    assert!(e.should_flush(t(550)));
    let b2 = take(&mut e, t(550));
    assert_eq!(b2.seq, 2);
    assert_eq!(b2.clients[0].delta.d_req, 3);
    assert_eq!(b2.tables[0].delta.d_total, 4);
    assert_eq!(e.ack(b1.seq, t(560)), Settlement::Stale);
    assert_eq!(e.ack(b2.seq, t(560)), Settlement::Acked);
    let s = e.flush_stats();
    assert_eq!((s.batches_ok, s.batches_failed, s.retries), (1, 1, 1));
    assert_eq!(s.rows_flushed, 2);
}

#[test]
fn fixes_seed_lost_commit_reply_would_count_twice() {
    // A flush whose outcome is unknown is re-issued whole, with its number,
    // so a sink recording applied numbers can skip it; newer deltas wait.
    let mut e = ClientsEngine::default();
    e.apply(&op(0, 5), t(0));
    let b1 = take(&mut e, t(0));
    e.apply(&op(0, 7), t(10));
    assert_eq!(e.nack_in_doubt(b1.seq, t(20)), Settlement::Parked);
    assert_eq!(e.in_flight().map(|b| b.seq), Some(b1.seq));
    assert!(!e.should_flush(t(269)));
    assert!(e.should_flush(t(270)));
    // A nack for the parked batch is a duplicate.
    assert_eq!(e.nack(b1.seq, t(30)), Settlement::Stale);
    let again = take(&mut e, t(270));
    assert_eq!(again.seq, b1.seq);
    assert_eq!(again.clients, b1.clients);
    assert_eq!(again.attempt, 2);
    assert_eq!(e.take_batch(t(270)), None, "one batch in flight");
    assert_eq!(e.ack(again.seq, t(280)), Settlement::Acked);
    let b2 = take(&mut e, t(600));
    assert_eq!(b2.seq, 2);
    assert_eq!(b2.clients[0].delta.d_op, 7);
}

#[test]
fn parked_batch_can_be_acked_when_sink_learns_it_committed() {
    let mut e = ClientsEngine::default();
    e.apply(&op(0, 1), t(0));
    let b = take(&mut e, t(0));
    e.nack_in_doubt(b.seq, t(1));
    assert_eq!(e.ack(b.seq, t(2)), Settlement::Acked);
    assert_eq!(e.in_flight(), None);
    assert_eq!(e.flush_stats().consecutive_failures, 0);
    assert_eq!(e.flush_stats().next_retry_at, None);
}

#[test]
fn fixes_seed_full_channel_only_logged() {
    let mut e = ClientsEngine::default();
    e.note_dropped(3);
    e.note_dropped(u64::MAX);
    assert_eq!(e.flush_stats().dropped_deltas, u64::MAX);
}

#[test]
fn seed_interval_trigger_250ms() {
    let mut e = ClientsEngine::default();
    assert!(!e.should_flush(t(10_000)), "nothing pending");
    e.apply(&op(0, 1), t(1000));
    assert!(!e.should_flush(t(1249)));
    assert_eq!(e.next_flush_at(t(1000)), Some(t(1250)));
    assert!(e.should_flush(t(1250)));
    let b = take(&mut e, t(1250));
    assert!(!e.should_flush(t(9999)), "batch awaits its answer");
    e.ack(b.seq, t(1260));
    e.apply(&op(0, 1), t(1300));
    assert!(!e.should_flush(t(1499)));
    assert!(e.should_flush(t(1500)));
}

#[test]
fn seed_size_trigger_counts_clients_and_table_rows() {
    let cfg = ClientsConfig {
        flush_max_clients: 4,
        ..ClientsConfig::default()
    };
    let mut e = ClientsEngine::new(cfg);
    e.apply(&req(0, 1, 1, 0, 0), t(0));
    e.apply(&op(0, 1), t(0));
    e.apply(&op(1, 1), t(0));
    e.apply(&tab(key(0, 0, Operation::Set), 1, 0), t(0));
    assert_eq!(e.pending_rows(), 3);
    assert!(!e.should_flush(t(1)));
    e.apply(&tab(key(0, 1, Operation::Set), 1, 0), t(0));
    assert!(e.should_flush(t(1)));
    assert_eq!(e.take_batch(t(1)).map(|b| b.rows()), Some(4));
}

#[test]
fn backoff_doubles_caps_and_resets_on_success() {
    let mut e = ClientsEngine::default();
    let mut now = 0;
    let mut waits = Vec::new();
    for _ in 0..10 {
        e.apply(&op(0, 1), t(now));
        let b = take(&mut e, t(now));
        e.nack(b.seq, t(now));
        e.set_last_error("connection refused");
        let due = e.flush_stats().next_retry_at.unwrap_or_default();
        waits.push(due.as_millis() - now);
        now = due.as_millis();
    }
    assert_eq!(
        waits,
        [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
    );
    assert_eq!(
        e.flush_stats().last_error.as_deref(),
        Some("connection refused")
    );
    let b = take(&mut e, t(now));
    assert_eq!(b.clients[0].delta.d_op, 10);
    e.ack(b.seq, t(now));
    let s = e.flush_stats();
    assert_eq!((s.consecutive_failures, s.last_error), (0, None));
    e.apply(&op(0, 1), t(now));
    let b = take(&mut e, t(now));
    e.nack(b.seq, t(now));
    assert_eq!(e.flush_stats().next_retry_at, Some(t(now + 250)));
}

#[test]
fn stale_and_unknown_settlements_are_ignored_and_reported() {
    let mut e = ClientsEngine::default();
    assert_eq!(e.ack(1, t(0)), Settlement::Unknown);
    assert_eq!(e.nack(0, t(0)), Settlement::Unknown);
    e.apply(&op(0, 1), t(0));
    let b = take(&mut e, t(0));
    assert_eq!(e.ack(b.seq + 1, t(0)), Settlement::Unknown);
    assert_eq!(e.nack_in_doubt(u64::MAX, t(0)), Settlement::Unknown);
    assert_eq!(e.ack(b.seq, t(0)), Settlement::Acked);
    assert_eq!(e.ack(b.seq, t(0)), Settlement::Stale);
    assert_eq!(e.nack(b.seq, t(0)), Settlement::Stale);
    let s = e.flush_stats();
    assert_eq!(s.ignored_settlements, 6);
    assert_eq!((s.batches_ok, s.batches_failed), (1, 0));
    assert!(Settlement::Stale.is_ignored() && !Settlement::Acked.is_ignored());
}

#[test]
fn sequence_numbers_increase_and_rows_are_sorted() {
    let mut e = ClientsEngine::default();
    let mut last = 0;
    for round in 0..5u32 {
        for c in [9, 3, 7] {
            e.apply(&op(c + round, 1), t(0));
            e.apply(&tab(key(c, 9 - c, Operation::Other(c)), 1, 0), t(0));
            e.apply(&ClientDelta::LastSeen(ClientId(c)), t(0));
        }
        let b = take(&mut e, t(0));
        assert!(b.seq > last);
        last = b.seq;
        assert!(b.clients.windows(2).all(|w| w[0].client < w[1].client));
        assert!(b.tables.windows(2).all(|w| w[0].key < w[1].key));
        assert!(b.last_seen.windows(2).all(|w| w[0] < w[1]));
        e.ack(b.seq, t(0));
    }
}

#[test]
fn shutdown_flush_ignores_backoff() {
    let mut e = ClientsEngine::default();
    e.apply(&op(0, 1), t(0));
    let b = take(&mut e, t(0));
    e.nack(b.seq, t(0));
    assert!(!e.should_flush(t(1)));
    assert!(e.take_batch(t(1)).is_some());
    assert_eq!(e.flush_stats().next_retry_at, None);
}

#[test]
fn hostile_ids_and_values_never_panic() {
    let mut e = ClientsEngine::default();
    let big = u32::MAX;
    e.apply(&req(big, i64::MAX, i64::MIN, i64::MAX, 1), t(i64::MIN));
    e.apply(&req(big, i64::MAX, i64::MIN, 1, 1), t(i64::MAX));
    e.apply(
        &tab(key(big, big, Operation::Other(big)), i64::MIN, 1),
        t(0),
    );
    e.apply(&ClientDelta::LastSeen(ClientId(big)), t(0));
    let tot = e.client_totals(ClientId(big)).copied().unwrap_or_default();
    assert_eq!(tot.requests, i64::MAX);
    let view = e.clients_view(t(i64::MIN));
    assert!(view.iter().all(|v| v.requests_per_sec.is_finite()));
    let b = take(&mut e, t(0));
    assert_eq!(b.last_seen, vec![ClientId(big)]);
    let cols = b.to_columns(e.names());
    assert_eq!(cols.clients.client_name, vec![String::new()]);
    e.nack(b.seq, t(i64::MAX));
    let s = e.flush_stats();
    assert_eq!(s.next_retry_at, Some(t(i64::MAX)));
    e.set_last_error(&"x".repeat(10_000));
    assert_eq!(
        e.flush_stats().last_error.map(|s| s.len()),
        Some(MAX_ERROR_CHARS)
    );
}

#[test]
fn fixes_seed_one_round_trip_per_row() {
    // One batch carries every row as parallel column arrays for a single
    // UNNEST upsert per table.
    let mut e = ClientsEngine::default();
    let names = e.names_mut();
    let a = names.client("a");
    let b = names.client("b");
    let users = names.table("users");
    let sel = names.operation("select");
    for c in [a, b] {
        e.apply(
            &ClientDelta::Request(RequestDelta::from_status(c, 200, true)),
            t(0),
        );
        e.apply(
            &ClientDelta::Table(TableDelta::one(
                TableKey {
                    client: c,
                    table: users,
                    operation: sel,
                },
                false,
            )),
            t(0),
        );
    }
    let batch = take(&mut e, t(0));
    let cols = batch.to_columns(e.names());
    assert_eq!(cols.clients.client_name, vec!["a", "b"]);
    assert_eq!(cols.clients.total_cached_requests, vec![1, 1]);
    assert_eq!(cols.tables.client_name, vec!["a", "b"]);
    assert_eq!(cols.tables.table_name, vec!["users", "users"]);
    assert_eq!(cols.tables.operation, vec!["select", "select"]);
}

#[test]
fn doubted_batch_is_never_merged_back() {
    // Attempt 1 may have committed (reply lost); attempt 2 rolls back. Merging
    // the batch back into pending would write attempt 1's deltas again under a
    // new number, so it stays parked under its own number.
    let mut e = ClientsEngine::default();
    e.apply(&op(0, 1), t(0));
    let b = take(&mut e, t(0));
    assert_eq!(e.nack_in_doubt(b.seq, t(0)), Settlement::Parked);
    let again = take(&mut e, t(250));
    assert_eq!(e.nack(again.seq, t(250)), Settlement::Parked);
    assert_eq!(e.pending_client(ClientId(0)), ClientAccum::default());
    assert_eq!(e.flush_stats().next_retry_at, Some(t(750)));
    let third = take(&mut e, t(750));
    assert_eq!((third.seq, third.attempt), (b.seq, 3));
}
