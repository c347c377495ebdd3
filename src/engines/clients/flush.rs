//! The flush plan's vocabulary: configuration, numbered batches, the columns a
//! sink binds as `UNNEST` arrays, settlement outcomes and flush statistics.

use serde::{Deserialize, Serialize};

use super::delta::{ClientAccum, ClientId, ClientNames, TableAccum, TableKey};
use crate::engines::Timestamp;

/// Longest error text kept for display (bounded memory on hostile errors).
pub const MAX_ERROR_CHARS: usize = 512;

/// Flush triggers, retry policy and display settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientsConfig {
    /// Inbound channel size for whoever feeds the engine (the seed's 50 000).
    pub channel_capacity: usize,
    /// Flush when this long has passed since the last flush (seed: 250 ms).
    pub flush_interval_ms: u64,
    /// Flush at once when this many client + table rows are pending (seed: 2000).
    pub flush_max_clients: usize,
    /// Delay before the first retry after a failed flush.
    pub retry_base_ms: u64,
    /// Cap of the doubling retry delay.
    pub retry_max_ms: u64,
    /// Client ids below this live in a `Vec`; larger ids in a map.
    pub dense_client_limit: u32,
    /// Clients kept: past this, the least recently seen ones without
    /// pending deltas are forgotten (with their table rows).
    pub max_clients: usize,
    /// (client, table, operation) rows kept: past this, the least recently
    /// updated ones without pending deltas are forgotten.
    pub max_table_rows: usize,
    /// Operation names kept besides the built-in ones; further names count
    /// as `(other)`.
    pub max_operations: usize,
}

impl Default for ClientsConfig {
    fn default() -> Self {
        Self {
            channel_capacity: 50_000,
            flush_interval_ms: 250,
            flush_max_clients: 2_000,
            retry_base_ms: 250,
            retry_max_ms: 30_000,
            dense_client_limit: 1 << 16,
            max_clients: 10_000,
            max_table_rows: 20_000,
            max_operations: 256,
        }
    }
}

impl ClientsConfig {
    /// The wait before retry number `failures` (1 = first failure): base
    /// doubled per consecutive failure, capped; overflow-free.
    pub fn backoff_ms(&self, failures: u32) -> u64 {
        let shift = failures.saturating_sub(1).min(62);
        self.retry_base_ms
            .saturating_mul(1u64 << shift)
            .min(self.retry_max_ms.max(self.retry_base_ms))
    }
}

/// One `client_statistics` upsert row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRow {
    /// The client.
    pub client: ClientId,
    /// The deltas to add.
    pub delta: ClientAccum,
}

/// One `client_table_statistics` upsert row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRow {
    /// The (client, table, operation) row.
    pub key: TableKey,
    /// The deltas to add.
    pub delta: TableAccum,
}

/// A numbered set of deltas handed to a sink; settle it with
/// `ack` / `nack` / `nack_in_doubt` on the engine.
///
/// Rows are sorted by id, so two sinks (or two consoles) upserting the same
/// rows take row locks in the same order and cannot deadlock each other.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlushBatch {
    /// Sequence number: increases with every new batch; a re-issued in-doubt
    /// batch keeps its number so the sink can recognise it.
    pub seq: u64,
    /// When the batch was first cut.
    pub created_at: Timestamp,
    /// 1 on the first send, +1 on every re-issue of the same batch.
    pub attempt: u32,
    /// Client rows, no all-zero row, sorted by client id.
    pub clients: Vec<ClientRow>,
    /// Table rows, no all-zero row, sorted by key.
    pub tables: Vec<TableRow>,
    /// Clients to touch `last_seen_at` for, deduplicated and sorted.
    pub last_seen: Vec<ClientId>,
}

impl FlushBatch {
    /// Rows in the batch (client + table rows; last-seen touches excluded).
    pub fn rows(&self) -> usize {
        self.clients.len().saturating_add(self.tables.len())
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty() && self.tables.is_empty() && self.last_seen.is_empty()
    }

    /// The batch as column arrays named after the seed's table columns, ready
    /// to bind to one `INSERT … SELECT FROM UNNEST(…) ON CONFLICT` per table.
    pub fn to_columns(&self, names: &ClientNames) -> BatchColumns {
        let mut c = ClientColumns::default();
        for r in &self.clients {
            c.client_name.push(names.client_name(r.client).to_owned());
            c.total_requests.push(r.delta.d_req);
            c.successful_requests.push(r.delta.d_succ);
            c.failed_requests.push(r.delta.d_fail);
            c.total_cached_requests.push(r.delta.d_cached);
            c.total_operations.push(r.delta.d_op);
        }
        let mut t = TableColumns::default();
        for r in &self.tables {
            t.client_name
                .push(names.client_name(r.key.client).to_owned());
            t.table_name.push(names.table_name(r.key.table).to_owned());
            t.operation
                .push(names.operation_name(r.key.operation).to_owned());
            t.total_operations.push(r.delta.d_total);
            t.error_operations.push(r.delta.d_err);
        }
        BatchColumns {
            seq: self.seq,
            clients: c,
            tables: t,
            last_seen: self
                .last_seen
                .iter()
                .map(|id| names.client_name(*id).to_owned())
                .collect(),
        }
    }
}

/// A batch resolved to names, column by column.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchColumns {
    /// The batch's sequence number (record it in the same transaction).
    pub seq: u64,
    /// `client_statistics` arrays.
    pub clients: ClientColumns,
    /// `client_table_statistics` arrays.
    pub tables: TableColumns,
    /// Client names whose `last_seen_at` to touch.
    pub last_seen: Vec<String>,
}

/// Parallel arrays for `client_statistics`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientColumns {
    /// `client_name`.
    pub client_name: Vec<String>,
    /// `total_requests` delta.
    pub total_requests: Vec<i64>,
    /// `successful_requests` delta.
    pub successful_requests: Vec<i64>,
    /// `failed_requests` delta.
    pub failed_requests: Vec<i64>,
    /// `total_cached_requests` delta.
    pub total_cached_requests: Vec<i64>,
    /// `total_operations` delta.
    pub total_operations: Vec<i64>,
}

/// Parallel arrays for `client_table_statistics`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableColumns {
    /// `client_name`.
    pub client_name: Vec<String>,
    /// `table_name`.
    pub table_name: Vec<String>,
    /// `operation`.
    pub operation: Vec<String>,
    /// `total_operations` delta.
    pub total_operations: Vec<i64>,
    /// `error_operations` delta.
    pub error_operations: Vec<i64>,
}

/// What an `ack` / `nack` / `nack_in_doubt` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Settlement {
    /// The in-flight batch is done; the retry delay is reset.
    Acked,
    /// The batch's deltas went back into pending (merged with newer ones); a
    /// retry is scheduled.
    Requeued,
    /// The batch is kept whole and will be re-issued with the same number
    /// after the retry delay.
    Parked,
    /// The number was issued before but is not the batch awaiting an answer
    /// (already settled, or a duplicate): ignored.
    Stale,
    /// The number was never issued: ignored.
    Unknown,
}

impl Settlement {
    /// True when the call changed nothing.
    pub fn is_ignored(self) -> bool {
        matches!(self, Self::Stale | Self::Unknown)
    }
}

/// Sink health for display.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlushStats {
    /// Batches acknowledged.
    pub batches_ok: u64,
    /// Batches that failed (`nack` or `nack_in_doubt`).
    pub batches_failed: u64,
    /// Batches handed out while a failure was unresolved (retry attempts).
    pub retries: u64,
    /// Failures since the last success (drives the backoff).
    pub consecutive_failures: u32,
    /// Rows written by acknowledged batches.
    pub rows_flushed: u64,
    /// The caller's last error text (cleared on success).
    pub last_error: Option<String>,
    /// When the last batch was acknowledged.
    pub last_ok_at: Option<Timestamp>,
    /// Pending client + table rows (the size trigger's measure).
    pub pending_rows: usize,
    /// Pending last-seen touches.
    pub pending_last_seen: usize,
    /// The batch awaiting an answer or a re-issue.
    pub in_flight_seq: Option<u64>,
    /// When the next retry is allowed, while backing off.
    pub next_retry_at: Option<Timestamp>,
    /// Deltas dropped because the inbound channel was full.
    pub dropped_deltas: u64,
    /// Acks/nacks ignored as stale or unknown.
    pub ignored_settlements: u64,
}

/// Cuts `text` to at most [`MAX_ERROR_CHARS`] characters.
pub(crate) fn bounded_error(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => text.get(..cut).unwrap_or_default().to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_cap_without_overflow() {
        let c = ClientsConfig::default();
        assert_eq!(c.backoff_ms(0), 250);
        assert_eq!(c.backoff_ms(1), 250);
        assert_eq!(c.backoff_ms(2), 500);
        assert_eq!(c.backoff_ms(3), 1000);
        assert_eq!(c.backoff_ms(8), 30_000);
        assert_eq!(c.backoff_ms(u32::MAX), 30_000);
        let hostile = ClientsConfig {
            retry_base_ms: u64::MAX,
            retry_max_ms: 0,
            ..ClientsConfig::default()
        };
        assert_eq!(hostile.backoff_ms(40), u64::MAX);
    }

    #[test]
    fn seed_defaults_kept() {
        let c = ClientsConfig::default();
        assert_eq!(c.channel_capacity, 50_000);
        assert_eq!(c.flush_interval_ms, 250);
        assert_eq!(c.flush_max_clients, 2_000);
    }

    #[test]
    fn columns_resolve_names_in_row_order() {
        let mut n = ClientNames::new();
        let a = n.client("a");
        let b = n.client("b");
        let t = n.table("users");
        let op = n.operation("merge");
        let batch = FlushBatch {
            seq: 7,
            created_at: Timestamp(0),
            attempt: 1,
            clients: vec![ClientRow {
                client: b,
                delta: ClientAccum {
                    d_req: 2,
                    d_succ: 1,
                    d_fail: 1,
                    d_cached: 0,
                    d_op: 3,
                },
            }],
            tables: vec![TableRow {
                key: TableKey {
                    client: a,
                    table: t,
                    operation: op,
                },
                delta: TableAccum {
                    d_total: 4,
                    d_err: 1,
                },
            }],
            last_seen: vec![a, b, ClientId(99)],
        };
        let cols = batch.to_columns(&n);
        assert_eq!(cols.seq, 7);
        assert_eq!(cols.clients.client_name, vec!["b"]);
        assert_eq!(cols.clients.total_operations, vec![3]);
        assert_eq!(cols.tables.operation, vec!["merge"]);
        assert_eq!(cols.tables.table_name, vec!["users"]);
        assert_eq!(cols.tables.error_operations, vec![1]);
        assert_eq!(cols.last_seen, vec!["a", "b", ""]);
        assert_eq!(batch.rows(), 2);
    }

    #[test]
    fn error_text_is_bounded_on_char_boundary() {
        let long = "é".repeat(MAX_ERROR_CHARS + 10);
        assert_eq!(bounded_error(&long).chars().count(), MAX_ERROR_CHARS);
        assert_eq!(bounded_error("short"), "short");
    }
}
