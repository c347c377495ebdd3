//! Caps on what outside data names: clients, (client, table, operation)
//! rows and the names behind their ids. Past a cap the least recently seen
//! entries that hold nothing the sink still has to write are forgotten, in
//! batches of an eighth of the cap; their names are released so ids are
//! handed out again. Entries with pending or in-flight deltas always stay,
//! so nothing owed to the sink is lost; a new row that finds the table
//! hard-full of such entries is refused and counted.

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use super::delta::{Operation, TableKey};
use super::engine::ClientsEngine;
use super::totals::ClientSlot;
use crate::engines::bounded;

/// What the caps dropped, for display.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapStats {
    /// Clients forgotten (least recently seen first).
    pub clients_evicted: u64,
    /// Table rows forgotten (least recently updated first).
    pub rows_evicted: u64,
    /// Table deltas refused: a new row while every kept row held pending
    /// deltas (the sink was behind).
    pub rows_refused: u64,
    /// New names that counted as `(other)` because their interner was full.
    pub names_overflowed: u64,
}

impl CapStats {
    /// Everything dropped, in one figure.
    pub fn dropped(&self) -> u64 {
        self.clients_evicted
            .saturating_add(self.rows_evicted)
            .saturating_add(self.rows_refused)
            .saturating_add(self.names_overflowed)
    }
}

impl ClientsEngine {
    /// Whether a new table row may be created now: below the hard cap
    /// (the cap and a quarter, room for rows pinned by pending deltas).
    pub(super) fn room_for_row(&self) -> bool {
        let cap = self.config.max_table_rows.max(1);
        self.tables.len() < cap.saturating_add(cap / 4)
    }

    /// Bring rows and clients back under their caps (cheap when under).
    /// When the entries over a cap all owe the sink, trying again before
    /// the sink answers could only fail the same way (at the cost of a scan
    /// per delta): the next trim waits for an acknowledgement.
    pub(super) fn trim(&mut self) {
        let over_rows = self.tables.len() > self.config.max_table_rows.max(1);
        let over_clients = self.names.clients_len() > self.config.max_clients.max(1);
        if (!over_rows && !over_clients) || self.trim_blocked {
            return;
        }
        let (in_flight_rows, in_flight_clients) = self.in_flight_ids();
        if over_rows {
            let n = bounded::trim(
                &mut self.tables,
                self.config.max_table_rows.max(1),
                |k, e| (!e.queued && !in_flight_rows.contains(k)).then_some(e.totals.last_at),
            );
            self.caps.rows_evicted = self.caps.rows_evicted.saturating_add(n as u64);
        }
        if over_clients {
            self.evict_clients(&in_flight_clients);
        }
        self.release_names(&in_flight_rows, &in_flight_clients);
        self.trim_blocked = self.tables.len() > self.config.max_table_rows.max(1)
            || self.names.clients_len() > self.config.max_clients.max(1);
    }

    /// Table keys and client ids of the batch awaiting its answer.
    fn in_flight_ids(&self) -> (FxHashSet<TableKey>, FxHashSet<u32>) {
        let Some(b) = self.in_flight() else {
            return Default::default();
        };
        let rows = b.tables.iter().map(|r| r.key).collect();
        let clients = b
            .clients
            .iter()
            .map(|r| r.client.0)
            .chain(b.last_seen.iter().map(|c| c.0))
            .chain(b.tables.iter().map(|r| r.key.client.0))
            .collect();
        (rows, clients)
    }

    /// Forget the least recently seen clients that owe the sink nothing,
    /// with their table rows, down to seven eighths of the cap.
    fn evict_clients(&mut self, in_flight: &FxHashSet<u32>) {
        let cap = self.config.max_clients.max(1);
        let target = cap - cap / 8;
        let held = self.names.clients_len();
        if held <= target {
            return;
        }
        // Per client: does any of its rows owe the sink something?
        let mut pinned_rows: FxHashSet<u32> = FxHashSet::default();
        for (k, e) in &self.tables {
            if e.queued {
                pinned_rows.insert(k.client.0);
            }
        }
        let mut ranked: Vec<_> = self
            .slots
            .iter()
            .filter(|(id, s)| !s.queued && !in_flight.contains(id) && !pinned_rows.contains(id))
            .map(|(id, s)| (s.totals.last_seen, id))
            .collect();
        let n = (held - target).min(ranked.len());
        if n == 0 {
            return;
        }
        if n < ranked.len() {
            ranked.select_nth_unstable(n - 1);
        }
        let gone: FxHashSet<u32> = ranked[..n].iter().map(|&(_, id)| id).collect();
        let before = self.tables.len();
        self.tables.retain(|k, _| !gone.contains(&k.client.0));
        self.caps.rows_evicted = self
            .caps
            .rows_evicted
            .saturating_add((before - self.tables.len()) as u64);
        for &id in &gone {
            *self.slots.slot_mut(id) = ClientSlot::default();
        }
        self.caps.clients_evicted = self.caps.clients_evicted.saturating_add(n as u64);
    }

    /// Release every name no kept row, live client, pending delta or
    /// in-flight batch refers to.
    fn release_names(&mut self, in_flight_rows: &FxHashSet<TableKey>, in_flight: &FxHashSet<u32>) {
        let mut clients: FxHashSet<u32> = in_flight.clone();
        let mut tables: FxHashSet<u32> = FxHashSet::default();
        let mut ops: FxHashSet<u32> = FxHashSet::default();
        for k in self.tables.keys().chain(in_flight_rows.iter()) {
            clients.insert(k.client.0);
            tables.insert(k.table.0);
            if let Operation::Other(o) = k.operation {
                ops.insert(o);
            }
        }
        clients.extend(self.slots.iter().map(|(id, _)| id));
        clients.extend(self.pending_client_ids());
        self.names.release_unused(
            |id| clients.contains(&id),
            |id| tables.contains(&id),
            |id| ops.contains(&id),
        );
        self.caps.names_overflowed = self.names.overflowed();
    }

    /// What the caps dropped so far.
    pub fn cap_stats(&self) -> CapStats {
        CapStats {
            names_overflowed: self.names.overflowed(),
            ..self.caps
        }
    }

    /// How many clients and table rows are held (for tests and display).
    pub fn held(&self) -> (usize, usize) {
        (self.names.clients_len(), self.tables.len())
    }
}
