//! Inbound deltas on interned ids, the request classification, and the
//! accumulators deltas merge into.
//!
//! Names are interned once at the edge ([`ClientNames`]); everything after that
//! works on `u32` ids so the hot path never hashes or allocates a string.

use serde::{Deserialize, Serialize};

use crate::engines::intern::Interner;

/// A client, as an id from [`ClientNames::client`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct ClientId(pub u32);

/// A table, as an id from [`ClientNames::table`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct TableId(pub u32);

/// The operation of a table delta: the common ones need no interning, any
/// other name is an id in [`ClientNames`]'s operation interner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// SQL `select`.
    Select,
    /// SQL `insert`.
    Insert,
    /// SQL `update`.
    Update,
    /// SQL `delete`.
    Delete,
    /// Cache `get`.
    Get,
    /// Cache `set`.
    Set,
    /// Any other operation name, interned.
    Other(u32),
}

impl Operation {
    /// The operation named exactly `name` if it is one of the built-in ones.
    ///
    /// Matching is exact (case-sensitive) so the name written to the database
    /// is always the one the caller sent, as in the seed.
    pub fn builtin(name: &str) -> Option<Self> {
        Some(match name {
            "select" => Self::Select,
            "insert" => Self::Insert,
            "update" => Self::Update,
            "delete" => Self::Delete,
            "get" => Self::Get,
            "set" => Self::Set,
            _ => return None,
        })
    }

    /// The built-in name, or `None` for [`Operation::Other`].
    pub fn builtin_name(self) -> Option<&'static str> {
        Some(match self {
            Self::Select => "select",
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Get => "get",
            Self::Set => "set",
            Self::Other(_) => return None,
        })
    }
}

/// One (client, table, operation) row: the key of table statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TableKey {
    /// Who ran the operation.
    pub client: ClientId,
    /// On which table.
    pub table: TableId,
    /// Which operation.
    pub operation: Operation,
}

/// Request-level counts for one client (the seed's `RequestDelta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDelta {
    /// The client.
    pub client: ClientId,
    /// Requests.
    pub d_req: i64,
    /// Successful requests (status 200..400).
    pub d_succ: i64,
    /// Failed requests (status >= 400).
    pub d_fail: i64,
    /// Requests answered from the cache.
    pub d_cached: i64,
}

impl RequestDelta {
    /// One request classified as the seed does: success for 200..400, failure
    /// for >= 400, neither below 200 (still counted as a request).
    pub fn from_status(client: ClientId, status_code: i32, cached: bool) -> Self {
        Self {
            client,
            d_req: 1,
            d_succ: i64::from((200..400).contains(&status_code)),
            d_fail: i64::from(status_code >= 400),
            d_cached: i64::from(cached),
        }
    }
}

/// Operation count for one client (the seed's `OperationDelta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationDelta {
    /// The client.
    pub client: ClientId,
    /// Operations.
    pub d_op: i64,
}

/// Counts for one (client, table, operation) row (the seed's `TableDelta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDelta {
    /// The row.
    pub key: TableKey,
    /// Operations.
    pub d_total: i64,
    /// Failed operations.
    pub d_err: i64,
}

impl TableDelta {
    /// One operation on a table, failed or not (the seed's enqueue helper).
    pub fn one(key: TableKey, is_error: bool) -> Self {
        Self {
            key,
            d_total: 1,
            d_err: i64::from(is_error),
        }
    }
}

/// Anything the clients engine ingests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientDelta {
    /// Request-level counts.
    Request(RequestDelta),
    /// Operation count.
    Operation(OperationDelta),
    /// Per-table counts.
    Table(TableDelta),
    /// A `last_seen_at` touch, deduplicated per flush batch.
    LastSeen(ClientId),
}

impl ClientDelta {
    /// The client this delta belongs to.
    pub fn client(&self) -> ClientId {
        match self {
            Self::Request(d) => d.client,
            Self::Operation(d) => d.client,
            Self::Table(d) => d.key.client,
            Self::LastSeen(c) => *c,
        }
    }
}

/// Pending per-client deltas (one `client_statistics` upsert row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientAccum {
    /// Requests.
    pub d_req: i64,
    /// Successful requests.
    pub d_succ: i64,
    /// Failed requests.
    pub d_fail: i64,
    /// Cached requests.
    pub d_cached: i64,
    /// Operations.
    pub d_op: i64,
}

impl ClientAccum {
    /// Adds `other` field by field (saturating: hostile input cannot wrap).
    #[inline]
    pub fn merge(&mut self, other: &ClientAccum) {
        self.d_req = self.d_req.saturating_add(other.d_req);
        self.d_succ = self.d_succ.saturating_add(other.d_succ);
        self.d_fail = self.d_fail.saturating_add(other.d_fail);
        self.d_cached = self.d_cached.saturating_add(other.d_cached);
        self.d_op = self.d_op.saturating_add(other.d_op);
    }

    /// True when writing this row would change nothing.
    ///
    /// Every field counts: the seed skipped rows with `d_req == 0 && d_op == 0`
    /// and so silently lost success/failure/cached counts that arrived alone.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// Pending per-table deltas (one `client_table_statistics` upsert row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableAccum {
    /// Operations.
    pub d_total: i64,
    /// Failed operations.
    pub d_err: i64,
}

impl TableAccum {
    /// Adds `other` (saturating).
    #[inline]
    pub fn merge(&mut self, other: &TableAccum) {
        self.d_total = self.d_total.saturating_add(other.d_total);
        self.d_err = self.d_err.saturating_add(other.d_err);
    }

    /// True when writing this row would change nothing (the seed's skip rule).
    pub fn is_zero(&self) -> bool {
        self.d_total == 0 && self.d_err == 0
    }
}

/// The interners that turn names into ids at the edge and back for display
/// and for the sink.
#[derive(Debug, Clone, Default)]
pub struct ClientNames {
    clients: Interner,
    tables: Interner,
    operations: Interner,
}

impl ClientNames {
    /// Empty interners.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty interners holding at most `clients`, `tables` and
    /// `operations` names (further names count as `(other)`).
    pub fn with_limits(clients: usize, tables: usize, operations: usize) -> Self {
        Self {
            clients: Interner::with_limit(clients),
            tables: Interner::with_limit(tables),
            operations: Interner::with_limit(operations),
        }
    }

    /// Client names held.
    pub fn clients_len(&self) -> usize {
        self.clients.len()
    }

    /// Table names held.
    pub fn tables_len(&self) -> usize {
        self.tables.len()
    }

    /// New names that counted as `(other)` because an interner was full.
    pub fn overflowed(&self) -> u64 {
        self.clients
            .overflowed()
            .saturating_add(self.tables.overflowed())
            .saturating_add(self.operations.overflowed())
    }

    /// Forget every name `keep` does not vouch for: `keep` says whether a
    /// client, table or operation id is still referred to.
    pub(super) fn release_unused(
        &mut self,
        clients: impl Fn(u32) -> bool,
        tables: impl Fn(u32) -> bool,
        operations: impl Fn(u32) -> bool,
    ) {
        fn sweep(i: &mut Interner, keep: impl Fn(u32) -> bool) {
            let gone: Vec<u32> = i.ids().filter(|&id| !keep(id)).collect();
            for id in gone {
                i.release(id);
            }
        }
        sweep(&mut self.clients, clients);
        sweep(&mut self.tables, tables);
        sweep(&mut self.operations, operations);
    }

    /// The id of a client name, if it is held.
    pub fn client_id(&self, name: &str) -> Option<ClientId> {
        self.clients.get(name).map(ClientId)
    }

    /// The id of client `name` (assigned on first use).
    pub fn client(&mut self, name: &str) -> ClientId {
        ClientId(self.clients.intern(name))
    }

    /// The id of table `name` (assigned on first use).
    pub fn table(&mut self, name: &str) -> TableId {
        TableId(self.tables.intern(name))
    }

    /// The operation called `name`: built-in or interned.
    pub fn operation(&mut self, name: &str) -> Operation {
        Operation::builtin(name).unwrap_or_else(|| Operation::Other(self.operations.intern(name)))
    }

    /// The name of a client ("" for an unknown id).
    pub fn client_name(&self, id: ClientId) -> &str {
        self.clients.name(id.0)
    }

    /// The name of a table ("" for an unknown id).
    pub fn table_name(&self, id: TableId) -> &str {
        self.tables.name(id.0)
    }

    /// The name of an operation ("" for an unknown interned id).
    pub fn operation_name(&self, op: Operation) -> &str {
        match op {
            Operation::Other(id) => self.operations.name(id),
            builtin => builtin.builtin_name().unwrap_or(""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_classification_success_fail_cached() {
        let c = ClientId(3);
        let ok = RequestDelta::from_status(c, 200, false);
        assert_eq!((ok.d_req, ok.d_succ, ok.d_fail, ok.d_cached), (1, 1, 0, 0));
        let redirect = RequestDelta::from_status(c, 399, true);
        assert_eq!(
            (redirect.d_succ, redirect.d_fail, redirect.d_cached),
            (1, 0, 1)
        );
        let not_found = RequestDelta::from_status(c, 400, false);
        assert_eq!((not_found.d_succ, not_found.d_fail), (0, 1));
        let server = RequestDelta::from_status(c, 503, true);
        assert_eq!((server.d_succ, server.d_fail, server.d_cached), (0, 1, 1));
        // Informational: a request, neither success nor failure.
        let info = RequestDelta::from_status(c, 101, false);
        assert_eq!((info.d_req, info.d_succ, info.d_fail), (1, 0, 0));
        let neg = RequestDelta::from_status(c, -1, false);
        assert_eq!((neg.d_req, neg.d_succ, neg.d_fail), (1, 0, 0));
    }

    #[test]
    fn merge_saturates_instead_of_wrapping() {
        let mut a = ClientAccum {
            d_req: i64::MAX,
            d_op: i64::MIN,
            ..ClientAccum::default()
        };
        a.merge(&ClientAccum {
            d_req: 5,
            d_op: -5,
            ..ClientAccum::default()
        });
        assert_eq!((a.d_req, a.d_op), (i64::MAX, i64::MIN));
        let mut t = TableAccum {
            d_total: i64::MAX,
            d_err: 0,
        };
        t.merge(&TableAccum {
            d_total: 1,
            d_err: 1,
        });
        assert_eq!((t.d_total, t.d_err), (i64::MAX, 1));
    }

    #[test]
    fn operations_builtin_or_interned_and_names_round_trip() {
        let mut n = ClientNames::new();
        assert_eq!(n.operation("select"), Operation::Select);
        assert_eq!(n.operation("set"), Operation::Set);
        let upsert = n.operation("upsert");
        assert_eq!(upsert, Operation::Other(0));
        // Exact match keeps the caller's spelling for the database.
        let shout = n.operation("SELECT");
        assert_eq!(shout, Operation::Other(1));
        assert_eq!(n.operation_name(shout), "SELECT");
        assert_eq!(n.operation_name(Operation::Delete), "delete");
        assert_eq!(n.operation_name(Operation::Other(42)), "");
        let c = n.client("api");
        let t = n.table("users");
        assert_eq!(n.client_name(c), "api");
        assert_eq!(n.table_name(t), "users");
        assert_eq!(n.client_name(ClientId(9)), "");
    }

    #[test]
    fn zero_rules() {
        assert!(ClientAccum::default().is_zero());
        let only_cached = ClientAccum {
            d_cached: 1,
            ..ClientAccum::default()
        };
        assert!(!only_cached.is_zero());
        assert!(TableAccum::default().is_zero());
        assert!(
            !TableAccum {
                d_total: 0,
                d_err: 1
            }
            .is_zero()
        );
    }
}
