//! Clients: per-client and per-(client, table, operation) statistics, shown
//! live and flushed to a sink in numbered batches that are never lost and
//! never counted twice.
//!
//! Seed: athena's `client_stats.rs` batcher. Kept: the delta kinds and their
//! merge, the request classification (success 200..400, failure >= 400), the
//! flush triggers (250 ms interval, 2000 pending rows), the 50 000 channel
//! capacity, the zero-row skip and the per-batch last-seen dedupe. Fixed:
//! a failed flush loses nothing (`nack` requeues, `nack_in_doubt` re-issues the
//! same numbered batch, both with exponential backoff); a full inbound channel
//! is counted and shown (`note_dropped`); rows carrying only
//! success/failure/cached counts are no longer dropped; one batch (sorted
//! column arrays) per flush instead of one round trip per row.
//!
//! Flow: `apply` on the hot path; when `should_flush(now)`, `take_batch(now)`,
//! give `batch.to_columns(engine.names())` to the sink task, and feed its
//! answer back with `ack` / `nack` / `nack_in_doubt`.

mod caps;
mod delta;
mod engine;
mod flush;
mod totals;
mod view;

#[cfg(test)]
mod captests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use caps::CapStats;
pub use delta::{
    ClientAccum, ClientDelta, ClientId, ClientNames, Operation, OperationDelta, RequestDelta,
    TableAccum, TableDelta, TableId, TableKey,
};
pub use engine::ClientsEngine;
pub use flush::{
    BatchColumns, ClientColumns, ClientRow, ClientsConfig, FlushBatch, FlushStats, MAX_ERROR_CHARS,
    Settlement, TableColumns, TableRow,
};
pub use totals::{ClientTotals, RATE_WINDOW_SECS, TableTotals, WindowRate};
pub use view::{ClientView, TableView};
