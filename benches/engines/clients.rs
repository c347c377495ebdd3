//! Benchmarks of the clients engine: mixed delta ingest, with and without the
//! flush plan running.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use heliostat::engines::Timestamp;
use heliostat::engines::clients::{
    ClientDelta, ClientId, ClientsEngine, Operation, OperationDelta, RequestDelta, TableDelta,
    TableId, TableKey,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Zipf};

const CLIENTS: u32 = 1000;
const TABLES: u32 = 50;
const DELTAS: usize = 100_000;
/// Deltas applied per `now` (the app loop applies a channel drain at once).
const CHUNK: usize = 1000;

/// 40 % requests, 20 % operations, 30 % table rows, 10 % last-seen touches;
/// clients Zipf(1.1) over 1000, tables uniform over 50, six operations.
fn workload() -> Vec<ClientDelta> {
    let mut rng = StdRng::seed_from_u64(7);
    let zipf = Zipf::new(f64::from(CLIENTS), 1.1).unwrap_or_else(|_| unreachable!());
    let ops = [
        Operation::Select,
        Operation::Insert,
        Operation::Update,
        Operation::Delete,
        Operation::Get,
        Operation::Set,
    ];
    let statuses = [200, 200, 200, 304, 404, 500];
    (0..DELTAS)
        .map(|_| {
            let client = ClientId((zipf.sample(&mut rng) as u32).saturating_sub(1));
            match rng.random_range(0..10u32) {
                0..=3 => {
                    let status = statuses[rng.random_range(0..statuses.len())];
                    let cached = rng.random_range(0..3u32) == 0;
                    ClientDelta::Request(RequestDelta::from_status(client, status, cached))
                }
                4 | 5 => ClientDelta::Operation(OperationDelta { client, d_op: 1 }),
                6..=8 => {
                    let key = TableKey {
                        client,
                        table: TableId(rng.random_range(0..TABLES)),
                        operation: ops[rng.random_range(0..ops.len())],
                    };
                    ClientDelta::Table(TableDelta::one(key, rng.random_range(0..20u32) == 0))
                }
                _ => ClientDelta::LastSeen(client),
            }
        })
        .collect()
}

/// Registers the `clients/*` benchmarks.
pub fn benches(c: &mut Criterion) {
    let deltas = workload();
    let mut g = c.benchmark_group("clients");
    g.throughput(Throughput::Elements(DELTAS as u64));

    let mut engine = ClientsEngine::default();
    let mut now = Timestamp::from_secs(1_000_000);
    g.bench_function("apply_mixed", |b| {
        b.iter(|| {
            for chunk in deltas.chunks(CHUNK) {
                now = now.add_millis(1);
                for d in chunk {
                    engine.apply(black_box(d), now);
                }
            }
        })
    });
    black_box(engine.flush_stats());

    // Same ingest with the flush plan cutting and acknowledging batches on its
    // own triggers, as the app loop would.
    let mut engine = ClientsEngine::default();
    let mut now = Timestamp::from_secs(1_000_000);
    g.bench_function("apply_mixed_flushing", |b| {
        b.iter(|| {
            for chunk in deltas.chunks(CHUNK) {
                now = now.add_millis(5);
                for d in chunk {
                    engine.apply(black_box(d), now);
                }
                if engine.should_flush(now)
                    && let Some(batch) = engine.take_batch(now)
                {
                    black_box(batch.rows());
                    engine.ack(batch.seq, now);
                }
            }
        })
    });
    black_box(engine.flush_stats());
    g.finish();
}
