//! Property test of the flush plan: over random interleavings of apply, take,
//! good flushes, failed flushes (known and in doubt) and stray answers, what
//! the sink wrote + pending + in flight equals exactly what was applied.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::engines::Timestamp;

/// A client id above the dense limit, to exercise the sparse storage.
const SPARSE_CLIENT: u32 = 70_000;

#[derive(Debug, Clone)]
enum Step {
    Apply(ClientDelta),
    Take,
    Ack,
    Nack,
    /// `committed`: the sink's transaction did commit, only the reply was lost.
    NackInDoubt {
        committed: bool,
    },
    /// An answer for a number that is not awaiting one.
    Stray {
        pick: u8,
        kind: u8,
    },
    Advance(u16),
}

fn client() -> impl Strategy<Value = ClientId> {
    prop_oneof![6 => 0u32..5, 1 => Just(SPARSE_CLIENT)].prop_map(ClientId)
}

fn delta() -> impl Strategy<Value = ClientDelta> {
    let v = || -3i64..=6;
    let operation = prop_oneof![
        Just(Operation::Select),
        Just(Operation::Get),
        (0u32..2).prop_map(Operation::Other)
    ];
    prop_oneof![
        (client(), v(), v(), v(), v()).prop_map(|(client, d_req, d_succ, d_fail, d_cached)| {
            ClientDelta::Request(RequestDelta {
                client,
                d_req,
                d_succ,
                d_fail,
                d_cached,
            })
        }),
        (client(), v())
            .prop_map(|(client, d_op)| ClientDelta::Operation(OperationDelta { client, d_op })),
        (client(), 0u32..3, operation, v(), v()).prop_map(
            |(client, t, operation, d_total, d_err)| {
                ClientDelta::Table(TableDelta {
                    key: TableKey {
                        client,
                        table: TableId(t),
                        operation,
                    },
                    d_total,
                    d_err,
                })
            }
        ),
        client().prop_map(ClientDelta::LastSeen),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => delta().prop_map(Step::Apply),
        3 => Just(Step::Take),
        2 => Just(Step::Ack),
        1 => Just(Step::Nack),
        1 => any::<bool>().prop_map(|committed| Step::NackInDoubt { committed }),
        1 => (any::<u8>(), 0u8..3).prop_map(|(pick, kind)| Step::Stray { pick, kind }),
        2 => (0u16..400).prop_map(Step::Advance),
    ]
}

/// Sums per client and per table row, plus last-seen clients.
#[derive(Debug, Default, Clone, PartialEq)]
struct Sums {
    clients: BTreeMap<ClientId, ClientAccum>,
    tables: BTreeMap<TableKey, TableAccum>,
    seen: BTreeSet<ClientId>,
}

impl Sums {
    fn client(&mut self, c: ClientId, d: &ClientAccum) {
        self.clients.entry(c).or_default().merge(d);
    }

    fn table(&mut self, k: TableKey, d: &TableAccum) {
        self.tables.entry(k).or_default().merge(d);
    }

    fn apply(&mut self, d: &ClientDelta) {
        match *d {
            ClientDelta::Request(r) => self.client(
                r.client,
                &ClientAccum {
                    d_req: r.d_req,
                    d_succ: r.d_succ,
                    d_fail: r.d_fail,
                    d_cached: r.d_cached,
                    d_op: 0,
                },
            ),
            ClientDelta::Operation(o) => self.client(
                o.client,
                &ClientAccum {
                    d_op: o.d_op,
                    ..ClientAccum::default()
                },
            ),
            ClientDelta::Table(t) => self.table(
                t.key,
                &TableAccum {
                    d_total: t.d_total,
                    d_err: t.d_err,
                },
            ),
            ClientDelta::LastSeen(c) => {
                self.seen.insert(c);
            }
        }
    }

    fn batch(&mut self, b: &FlushBatch) {
        for r in &b.clients {
            self.client(r.client, &r.delta);
        }
        for r in &b.tables {
            self.table(r.key, &r.delta);
        }
        self.seen.extend(b.last_seen.iter().copied());
    }
}

/// The sink's database: rows written and batch numbers recorded with them.
#[derive(Debug, Default)]
struct Db {
    sums: Sums,
    applied: BTreeSet<u64>,
}

impl Db {
    /// Applies `b` unless its number is already recorded (idempotent retry).
    fn write(&mut self, b: &FlushBatch) {
        if self.applied.insert(b.seq) {
            self.sums.batch(b);
        }
    }
}

/// Written + pending + in flight (unless already written), per row.
fn accounted(e: &ClientsEngine, db: &Db, applied: &Sums) -> Sums {
    let mut s = db.sums.clone();
    let clients: BTreeSet<ClientId> = applied
        .clients
        .keys()
        .chain(applied.seen.iter())
        .copied()
        .collect();
    for c in &clients {
        s.client(*c, &e.pending_client(*c));
        if e.pending_last_seen(*c) {
            s.seen.insert(*c);
        }
    }
    for k in applied.tables.keys() {
        s.table(*k, &e.pending_table(k));
    }
    if let Some(b) = e.in_flight().filter(|b| !db.applied.contains(&b.seq)) {
        s.batch(b);
    }
    s
}

/// Zero sums and absent rows are the same thing.
fn normalised(mut s: Sums) -> Sums {
    s.clients.retain(|_, d| !d.is_zero());
    s.tables.retain(|_, d| !d.is_zero());
    s
}

fn check(e: &ClientsEngine, db: &Db, applied: &Sums) -> Result<(), TestCaseError> {
    let got = normalised(accounted(e, db, applied));
    let want = normalised(applied.clone());
    prop_assert_eq!(&got.clients, &want.clients);
    prop_assert_eq!(&got.tables, &want.tables);
    // Every touched client is touched somewhere, and nothing else is.
    prop_assert_eq!(&got.seen, &want.seen);
    // Display totals count every delta exactly once, whatever the flushes did.
    for (c, d) in &want.clients {
        let t = e.client_totals(*c).copied().unwrap_or_default();
        prop_assert_eq!(
            (t.requests, t.successes, t.failures, t.cached, t.operations),
            (d.d_req, d.d_succ, d.d_fail, d.d_cached, d.d_op)
        );
    }
    for (k, d) in &want.tables {
        let t = e.table_totals(k).copied().unwrap_or_default();
        prop_assert_eq!((t.total, t.errors), (d.d_total, d.d_err));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn totals_preserved_over_random_flush_interleavings(
        steps in proptest::collection::vec(step(), 1..120)
    ) {
        let mut e = ClientsEngine::default();
        let mut db = Db::default();
        let mut applied = Sums::default();
        let mut out: Option<FlushBatch> = None;
        let mut settled: Vec<u64> = Vec::new();
        let mut last_new_seq = 0u64;
        let mut now = Timestamp::from_secs(1000);
        for s in steps {
            match s {
                Step::Apply(d) => {
                    e.apply(&d, now);
                    applied.apply(&d);
                }
                Step::Take => {
                    let parked = e.in_flight().cloned();
                    let b = e.take_batch(now);
                    match (&out, b) {
                        (Some(_), b) => prop_assert_eq!(b, None, "two batches in flight"),
                        (None, Some(b)) => {
                            if let Some(p) = parked {
                                // A re-issue is the same batch under the same number.
                                prop_assert_eq!(b.seq, p.seq);
                                prop_assert_eq!(&b.clients, &p.clients);
                                prop_assert_eq!(&b.tables, &p.tables);
                            } else {
                                prop_assert!(b.seq > last_new_seq);
                                last_new_seq = b.seq;
                            }
                            prop_assert!(!b.is_empty());
                            prop_assert!(b.clients.iter().all(|r| !r.delta.is_zero()));
                            prop_assert!(b.tables.iter().all(|r| !r.delta.is_zero()));
                            out = Some(b);
                        }
                        (None, None) => {}
                    }
                }
                Step::Ack => {
                    if let Some(b) = out.take() {
                        db.write(&b);
                        prop_assert_eq!(e.ack(b.seq, now), Settlement::Acked);
                        settled.push(b.seq);
                    }
                }
                Step::Nack => {
                    if let Some(b) = out.take() {
                        // Once in doubt (re-issued), a batch is never merged back.
                        if b.attempt > 1 {
                            prop_assert_eq!(e.nack(b.seq, now), Settlement::Parked);
                        } else {
                            prop_assert_eq!(e.nack(b.seq, now), Settlement::Requeued);
                            settled.push(b.seq);
                        }
                    }
                }
                Step::NackInDoubt { committed } => {
                    if let Some(b) = out.take() {
                        if committed {
                            db.write(&b);
                        }
                        prop_assert_eq!(e.nack_in_doubt(b.seq, now), Settlement::Parked);
                    }
                }
                Step::Stray { pick, kind } => {
                    let awaiting = out.as_ref().map(|b| b.seq);
                    let seq = if settled.is_empty() || pick % 4 == 0 {
                        last_new_seq.saturating_add(1 + u64::from(pick))
                    } else {
                        settled[usize::from(pick) % settled.len()]
                    };
                    if Some(seq) != awaiting && e.in_flight().map(|b| b.seq) != Some(seq) {
                        let before = e.flush_stats().ignored_settlements;
                        let r = match kind {
                            0 => e.ack(seq, now),
                            1 => e.nack(seq, now),
                            _ => e.nack_in_doubt(seq, now),
                        };
                        prop_assert!(r.is_ignored(), "{:?} for stray {}", r, seq);
                        prop_assert_eq!(e.flush_stats().ignored_settlements, before + 1);
                    }
                }
                Step::Advance(ms) => now = now.add_millis(i64::from(ms)),
            }
            check(&e, &db, &applied)?;
        }
        // Drain: answer and flush until nothing is left; the database then
        // holds exactly what was applied.
        for _ in 0..4 {
            if let Some(b) = out.take() {
                db.write(&b);
                prop_assert_eq!(e.ack(b.seq, now), Settlement::Acked);
            }
            out = e.take_batch(now);
        }
        prop_assert_eq!(out, None);
        prop_assert_eq!(e.in_flight(), None);
        prop_assert_eq!(e.pending_rows(), 0);
        let got = normalised(db.sums);
        let want = normalised(applied);
        prop_assert_eq!(got, want);
    }
}
