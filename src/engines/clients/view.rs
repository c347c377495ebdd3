//! Display rows for the Clients pane, in a deterministic order.

use serde::{Deserialize, Serialize};

use super::delta::{ClientId, TableKey};
use super::engine::ClientsEngine;
use crate::engines::{Timestamp, cmp_f64, ratio};

/// One client as the pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientView {
    /// The client id.
    pub client: ClientId,
    /// The client name.
    pub name: String,
    /// Requests.
    pub requests: i64,
    /// Successful requests.
    pub successes: i64,
    /// Failed requests.
    pub failures: i64,
    /// Cached requests.
    pub cached: i64,
    /// Operations.
    pub operations: i64,
    /// Σsuccesses / Σrequests ("n/a" without requests).
    pub success_ratio: Option<f64>,
    /// Σcached / Σrequests ("n/a" without requests).
    pub cached_ratio: Option<f64>,
    /// Requests per second over the window ending at `now`.
    pub requests_per_sec: f64,
    /// Operations per second over the window ending at `now`.
    pub operations_per_sec: f64,
    /// Latest delta of any kind.
    pub last_seen: Option<Timestamp>,
    /// Requests of this client as stored by every console's stats sink
    /// (filled in by the app; `None` without a sink or a read-back).
    pub stored: Option<i64>,
}

/// One (client, table, operation) row as the pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableView {
    /// The row's ids.
    pub key: TableKey,
    /// The client name.
    pub client: String,
    /// The table name.
    pub table: String,
    /// The operation name.
    pub operation: String,
    /// Operations.
    pub total: i64,
    /// Failed operations.
    pub errors: i64,
    /// Σerrors / Σtotal ("n/a" without operations).
    pub error_ratio: Option<f64>,
    /// Latest delta for this row.
    pub last_at: Option<Timestamp>,
}

/// A count as a ratio operand: negative totals (corrections) count as zero.
fn nonneg(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl ClientsEngine {
    /// Every client, busiest first (windowed request rate, then all-time
    /// requests, then name and id for ties).
    pub fn clients_view(&self, now: Timestamp) -> Vec<ClientView> {
        let mut out: Vec<ClientView> = self
            .slots
            .iter()
            .map(|(id, s)| {
                let t = &s.totals;
                let client = ClientId(id);
                ClientView {
                    client,
                    name: self.names.client_name(client).to_owned(),
                    requests: t.requests,
                    successes: t.successes,
                    failures: t.failures,
                    cached: t.cached,
                    operations: t.operations,
                    success_ratio: ratio(nonneg(t.successes), nonneg(t.requests)),
                    cached_ratio: ratio(nonneg(t.cached), nonneg(t.requests)),
                    requests_per_sec: t.request_rate.per_sec(now),
                    operations_per_sec: t.operation_rate.per_sec(now),
                    last_seen: t.last_seen,
                    stored: None,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            cmp_f64(b.requests_per_sec, a.requests_per_sec)
                .then(b.requests.cmp(&a.requests))
                .then_with(|| a.name.cmp(&b.name))
                .then(a.client.cmp(&b.client))
        });
        out
    }

    /// Table rows (of one client, or all), most operations first, ties by
    /// client, table and operation name, then ids.
    pub fn tables_view(&self, client: Option<ClientId>) -> Vec<TableView> {
        let mut out: Vec<TableView> = self
            .tables
            .iter()
            .filter(|(k, _)| client.is_none_or(|c| k.client == c))
            .map(|(k, e)| TableView {
                key: *k,
                client: self.names.client_name(k.client).to_owned(),
                table: self.names.table_name(k.table).to_owned(),
                operation: self.names.operation_name(k.operation).to_owned(),
                total: e.totals.total,
                errors: e.totals.errors,
                error_ratio: ratio(nonneg(e.totals.errors), nonneg(e.totals.total)),
                last_at: e.totals.last_at,
            })
            .collect();
        out.sort_by(|a, b| {
            b.total
                .cmp(&a.total)
                .then_with(|| a.client.cmp(&b.client))
                .then_with(|| a.table.cmp(&b.table))
                .then_with(|| a.operation.cmp(&b.operation))
                .then(a.key.cmp(&b.key))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::clients::{ClientDelta, Operation, RequestDelta, TableDelta};

    #[test]
    fn views_are_ordered_and_ratios_are_of_sums() {
        let mut e = ClientsEngine::default();
        let n = e.names_mut();
        let a = n.client("alpha");
        let b = n.client("beta");
        let t = n.table("users");
        let now = Timestamp::from_secs(100);
        for status in [200, 200, 500, 304] {
            e.apply(
                &ClientDelta::Request(RequestDelta::from_status(b, status, status == 304)),
                now,
            );
        }
        e.apply(
            &ClientDelta::Request(RequestDelta::from_status(a, 200, false)),
            now,
        );
        let v = e.clients_view(now);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].name, "beta");
        assert_eq!(v[0].success_ratio, Some(0.75));
        assert_eq!(v[0].cached_ratio, Some(0.25));
        assert!(v[0].requests_per_sec > v[1].requests_per_sec);

        for (client, op, err) in [(a, Operation::Select, true), (b, Operation::Insert, false)] {
            let key = TableKey {
                client,
                table: t,
                operation: op,
            };
            e.apply(&ClientDelta::Table(TableDelta::one(key, err)), now);
        }
        let rows = e.tables_view(None);
        // Equal totals: ordered by client name.
        assert_eq!(rows[0].client, "alpha");
        assert_eq!(rows[0].operation, "select");
        assert_eq!(rows[0].error_ratio, Some(1.0));
        assert_eq!(rows[1].error_ratio, Some(0.0));
        assert_eq!(e.tables_view(Some(b)).len(), 1);
    }

    #[test]
    fn na_ratios_and_negative_totals_stay_in_range() {
        let mut e = ClientsEngine::default();
        let c = ClientId(0);
        let now = Timestamp(0);
        e.apply(&ClientDelta::LastSeen(c), now);
        let v = e.clients_view(now);
        assert_eq!(v[0].success_ratio, None);
        e.apply(
            &ClientDelta::Request(RequestDelta {
                client: c,
                d_req: -3,
                d_succ: 5,
                d_fail: 0,
                d_cached: 0,
            }),
            now,
        );
        let v = e.clients_view(now);
        assert_eq!(v[0].success_ratio, None);
        assert_eq!(v[0].requests_per_sec, 0.0);
    }
}
