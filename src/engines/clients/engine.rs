//! The clients engine: merges deltas into display totals and pending
//! accumulators, and runs the flush plan (numbered batches, ack / nack,
//! backoff) so that no delta is lost or counted twice.

use rustc_hash::FxHashMap;

use super::caps::CapStats;
use super::delta::{ClientAccum, ClientDelta, ClientId, ClientNames, TableAccum, TableKey};
use super::flush::{
    ClientRow, ClientsConfig, FlushBatch, FlushStats, Settlement, TableRow, bounded_error,
};
use super::totals::{ClientTotals, Slots, TableEntry, TableTotals};
use crate::engines::Timestamp;

/// The batch handed to the sink and not yet acknowledged.
#[derive(Debug, Clone)]
struct InFlight {
    batch: FlushBatch,
    /// Failed in doubt: waiting to be re-issued unchanged (same number).
    parked: bool,
    /// Some attempt failed in doubt, so some attempt may have committed: the
    /// batch may only ever be acked or re-issued, never merged back.
    doubted: bool,
}

/// Per-client and per-(client, table, operation) statistics with a lossless
/// flush plan.
///
/// Every delta is counted twice over, on purpose: into totals (what the pane
/// shows, at once) and into pending accumulators (what the sink still has to
/// write). Pending deltas move into at most one numbered in-flight batch at a
/// time; the sink answers `ack` (written), `nack` (not written: deltas go back
/// to pending) or `nack_in_doubt` (unknown, e.g. the commit reply was lost: the
/// same batch is re-issued with the same number, so a sink that records the
/// number in its transaction never applies it twice).
#[derive(Debug, Clone)]
pub struct ClientsEngine {
    pub(super) config: ClientsConfig,
    pub(super) names: ClientNames,
    pub(super) slots: Slots,
    pub(super) tables: FxHashMap<TableKey, TableEntry>,
    /// Ids whose slot holds pending deltas or a last-seen touch.
    pending_clients: Vec<u32>,
    /// Keys whose entry holds pending deltas.
    pending_tables: Vec<TableKey>,
    /// Slots with `has_acc` set.
    pending_acc_rows: usize,
    /// Slots with `seen` set.
    pending_seen: usize,
    in_flight: Option<InFlight>,
    next_seq: u64,
    last_flush_at: Option<Timestamp>,
    /// No new attempt before this (set by a failure, cleared by a send).
    retry_at: Option<Timestamp>,
    stats: FlushStats,
    /// What the caps dropped.
    pub(super) caps: CapStats,
    /// A trim could not get under a cap (everything over it owes the
    /// sink): no new attempt before the next acknowledgement.
    pub(super) trim_blocked: bool,
}

/// Names an interner holds for a cap of `cap` entries: room for a quarter
/// more, held by entries that owe the sink deltas and cannot go yet.
fn name_limit(cap: usize) -> usize {
    cap.max(1).saturating_add(cap / 4).saturating_add(1)
}

impl Default for ClientsEngine {
    fn default() -> Self {
        Self::new(ClientsConfig::default())
    }
}

impl ClientsEngine {
    /// An empty engine.
    pub fn new(config: ClientsConfig) -> Self {
        Self {
            slots: Slots::new(config.dense_client_limit),
            names: ClientNames::with_limits(
                name_limit(config.max_clients),
                name_limit(config.max_table_rows),
                config.max_operations.saturating_add(1),
            ),
            config,
            tables: FxHashMap::default(),
            pending_clients: Vec::new(),
            pending_tables: Vec::new(),
            pending_acc_rows: 0,
            pending_seen: 0,
            in_flight: None,
            next_seq: 1,
            last_flush_at: None,
            retry_at: None,
            stats: FlushStats::default(),
            caps: CapStats::default(),
            trim_blocked: false,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientsConfig {
        &self.config
    }

    /// Names behind the ids, for display and for [`FlushBatch::to_columns`].
    pub fn names(&self) -> &ClientNames {
        &self.names
    }

    /// The interners, for turning names into ids at the edge.
    pub fn names_mut(&mut self) -> &mut ClientNames {
        &mut self.names
    }

    /// Merges one delta into totals and pending accumulators, then keeps
    /// the caps.
    pub fn apply(&mut self, delta: &ClientDelta, now: Timestamp) {
        self.merge(delta, now);
        self.trim();
    }

    /// Applies a slice of deltas that all arrived at `now`; the caps are
    /// kept after the whole slice, so no id it names is released before
    /// its delta is merged.
    pub fn apply_all(&mut self, deltas: &[ClientDelta], now: Timestamp) {
        for d in deltas {
            self.merge(d, now);
        }
        self.trim();
    }

    #[inline]
    fn merge(&mut self, delta: &ClientDelta, now: Timestamp) {
        if self.last_flush_at.is_none() {
            // The first delta starts the first flush interval.
            self.last_flush_at = Some(now);
        }
        match *delta {
            ClientDelta::Request(d) => {
                let acc = ClientAccum {
                    d_req: d.d_req,
                    d_succ: d.d_succ,
                    d_fail: d.d_fail,
                    d_cached: d.d_cached,
                    d_op: 0,
                };
                self.add_client(d.client, &acc, now);
            }
            ClientDelta::Operation(d) => {
                let acc = ClientAccum {
                    d_op: d.d_op,
                    ..ClientAccum::default()
                };
                self.add_client(d.client, &acc, now);
            }
            ClientDelta::Table(d) => {
                let acc = TableAccum {
                    d_total: d.d_total,
                    d_err: d.d_err,
                };
                if !self.tables.contains_key(&d.key) && !self.room_for_row() {
                    self.caps.rows_refused = self.caps.rows_refused.saturating_add(1);
                    self.slots.slot_mut(d.key.client.0).totals.touch(now);
                    return;
                }
                let e = self.tables.entry(d.key).or_default();
                e.totals.add(&acc, now);
                e.pending.merge(&acc);
                if !e.queued {
                    e.queued = true;
                    self.pending_tables.push(d.key);
                }
                self.slots.slot_mut(d.key.client.0).totals.touch(now);
            }
            ClientDelta::LastSeen(c) => {
                let slot = self.slots.slot_mut(c.0);
                slot.totals.touch(now);
                if !slot.seen {
                    slot.seen = true;
                    self.pending_seen += 1;
                }
                if !slot.queued {
                    slot.queued = true;
                    self.pending_clients.push(c.0);
                }
            }
        }
    }

    #[inline]
    fn add_client(&mut self, client: ClientId, acc: &ClientAccum, now: Timestamp) {
        let slot = self.slots.slot_mut(client.0);
        slot.totals.add(acc, now);
        slot.pending.merge(acc);
        if !slot.has_acc {
            slot.has_acc = true;
            self.pending_acc_rows += 1;
        }
        if !slot.queued {
            slot.queued = true;
            self.pending_clients.push(client.0);
        }
    }

    /// Counts deltas the feeder dropped because the inbound channel was full
    /// (the seed only logged them; here they are shown).
    pub fn note_dropped(&mut self, n: u64) {
        self.stats.dropped_deltas = self.stats.dropped_deltas.saturating_add(n);
    }

    /// Records the sink's latest error for display (cleared by the next ack).
    pub fn set_last_error(&mut self, text: &str) {
        self.stats.last_error = Some(bounded_error(text));
    }

    /// Client ids with pending deltas or a pending last-seen touch.
    pub(super) fn pending_client_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.pending_clients.iter().copied()
    }

    /// Pending client + table rows: the measure of the size trigger.
    pub fn pending_rows(&self) -> usize {
        self.pending_acc_rows
            .saturating_add(self.pending_tables.len())
    }

    fn pending_is_empty(&self) -> bool {
        self.pending_clients.is_empty() && self.pending_tables.is_empty()
    }

    /// True when the caller should call [`take_batch`](Self::take_batch) now:
    /// a parked batch whose retry is due, or pending deltas and either the
    /// interval elapsed or the size trigger reached — but never while a batch
    /// awaits its answer or a failure's backoff runs.
    pub fn should_flush(&self, now: Timestamp) -> bool {
        self.next_flush_at(now).is_some_and(|at| now >= at)
    }

    /// When the next flush is due (`None`: nothing to do until an answer or a
    /// new delta arrives). Lets the caller sleep instead of polling.
    pub fn next_flush_at(&self, now: Timestamp) -> Option<Timestamp> {
        if let Some(f) = &self.in_flight {
            return if f.parked {
                Some(self.retry_at.unwrap_or(now))
            } else {
                None
            };
        }
        if self.pending_is_empty() {
            return None;
        }
        if let Some(at) = self.retry_at {
            return Some(at);
        }
        if self.pending_rows() >= self.config.flush_max_clients {
            return Some(now);
        }
        let last = self.last_flush_at.unwrap_or(now);
        let interval = i64::try_from(self.config.flush_interval_ms).unwrap_or(i64::MAX);
        Some(last.add_millis(interval))
    }

    /// The next batch to send, ignoring triggers and backoff (the caller gates
    /// with [`should_flush`](Self::should_flush); a shutdown flush does not).
    ///
    /// Re-issues a parked batch unchanged; otherwise moves every pending delta
    /// into a new batch with the next number, skipping all-zero rows. `None`
    /// when a batch already awaits its answer or nothing is pending.
    pub fn take_batch(&mut self, now: Timestamp) -> Option<FlushBatch> {
        if let Some(f) = &mut self.in_flight {
            if !f.parked {
                return None;
            }
            f.parked = false;
            f.batch.attempt = f.batch.attempt.saturating_add(1);
            self.stats.retries = self.stats.retries.saturating_add(1);
            self.retry_at = None;
            self.last_flush_at = Some(now);
            return Some(f.batch.clone());
        }
        self.last_flush_at = Some(now);
        let batch = self.cut(now)?;
        if self.stats.consecutive_failures > 0 {
            self.stats.retries = self.stats.retries.saturating_add(1);
        }
        self.retry_at = None;
        self.next_seq = self.next_seq.saturating_add(1);
        self.in_flight = Some(InFlight {
            batch: batch.clone(),
            parked: false,
            doubted: false,
        });
        Some(batch)
    }

    /// Moves pending deltas into a batch numbered `next_seq`.
    fn cut(&mut self, now: Timestamp) -> Option<FlushBatch> {
        if self.pending_is_empty() {
            return None;
        }
        let mut ids = std::mem::take(&mut self.pending_clients);
        let mut clients = Vec::with_capacity(self.pending_acc_rows);
        let mut last_seen = Vec::with_capacity(self.pending_seen);
        for &id in &ids {
            let slot = self.slots.slot_mut(id);
            if slot.has_acc && !slot.pending.is_zero() {
                clients.push(ClientRow {
                    client: ClientId(id),
                    delta: slot.pending,
                });
            }
            if slot.seen {
                last_seen.push(ClientId(id));
            }
            slot.pending = ClientAccum::default();
            slot.has_acc = false;
            slot.seen = false;
            slot.queued = false;
        }
        ids.clear();
        self.pending_clients = ids;
        self.pending_acc_rows = 0;
        self.pending_seen = 0;

        let mut keys = std::mem::take(&mut self.pending_tables);
        let mut tables = Vec::with_capacity(keys.len());
        for key in &keys {
            if let Some(e) = self.tables.get_mut(key) {
                if !e.pending.is_zero() {
                    tables.push(TableRow {
                        key: *key,
                        delta: e.pending,
                    });
                }
                e.pending = TableAccum::default();
                e.queued = false;
            }
        }
        keys.clear();
        self.pending_tables = keys;

        if clients.is_empty() && tables.is_empty() && last_seen.is_empty() {
            return None;
        }
        clients.sort_unstable_by_key(|r| r.client);
        tables.sort_unstable_by_key(|r| r.key);
        last_seen.sort_unstable();
        Some(FlushBatch {
            seq: self.next_seq,
            created_at: now,
            attempt: 1,
            clients,
            tables,
            last_seen,
        })
    }

    /// The sink wrote batch `seq`: it is done and the backoff resets.
    /// Accepted while the batch is parked too (the sink found out it had
    /// committed after all). Anything else is ignored and reported.
    pub fn ack(&mut self, seq: u64, now: Timestamp) -> Settlement {
        match &self.in_flight {
            Some(f) if f.batch.seq == seq => {
                let rows = u64::try_from(f.batch.rows()).unwrap_or(u64::MAX);
                self.in_flight = None;
                let s = &mut self.stats;
                s.batches_ok = s.batches_ok.saturating_add(1);
                s.rows_flushed = s.rows_flushed.saturating_add(rows);
                s.consecutive_failures = 0;
                s.last_error = None;
                s.last_ok_at = Some(now);
                self.retry_at = None;
                // What the batch held may go now.
                self.trim_blocked = false;
                self.trim();
                Settlement::Acked
            }
            _ => self.ignore(seq),
        }
    }

    /// The sink did NOT write batch `seq` (its transaction rolled back): the
    /// deltas go back into pending, merged with newer ones, and a retry is
    /// scheduled after an exponential backoff.
    ///
    /// A batch that was ever in doubt is parked instead (as by
    /// [`nack_in_doubt`](Self::nack_in_doubt)): this attempt rolled back, but
    /// an earlier one may have committed, so only its own number may retry it.
    pub fn nack(&mut self, seq: u64, now: Timestamp) -> Settlement {
        if !self.awaits_answer(seq) {
            return self.ignore(seq);
        }
        if self.in_flight.as_ref().is_some_and(|f| f.doubted) {
            return self.nack_in_doubt(seq, now);
        }
        let Some(f) = self.in_flight.take() else {
            return self.ignore(seq);
        };
        self.requeue(&f.batch);
        self.fail(now);
        Settlement::Requeued
    }

    /// The sink cannot tell whether batch `seq` was written (e.g. the commit
    /// reply was lost): the batch is kept unchanged and re-issued with the
    /// same number after the backoff, so a sink that records applied numbers
    /// in the same transaction skips it if it had committed.
    pub fn nack_in_doubt(&mut self, seq: u64, now: Timestamp) -> Settlement {
        if !self.awaits_answer(seq) {
            return self.ignore(seq);
        }
        if let Some(f) = &mut self.in_flight {
            f.parked = true;
            f.doubted = true;
        }
        self.fail(now);
        Settlement::Parked
    }

    fn awaits_answer(&self, seq: u64) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|f| !f.parked && f.batch.seq == seq)
    }

    fn fail(&mut self, now: Timestamp) {
        let s = &mut self.stats;
        s.batches_failed = s.batches_failed.saturating_add(1);
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        let wait = self.config.backoff_ms(s.consecutive_failures);
        self.retry_at = Some(now.add_millis(i64::try_from(wait).unwrap_or(i64::MAX)));
    }

    fn ignore(&mut self, seq: u64) -> Settlement {
        self.stats.ignored_settlements = self.stats.ignored_settlements.saturating_add(1);
        if seq == 0 || seq >= self.next_seq {
            Settlement::Unknown
        } else {
            Settlement::Stale
        }
    }

    /// Puts a failed batch's deltas back into pending (totals are untouched:
    /// they counted the deltas when they arrived).
    fn requeue(&mut self, batch: &FlushBatch) {
        for r in &batch.clients {
            let slot = self.slots.slot_mut(r.client.0);
            slot.pending.merge(&r.delta);
            if !slot.has_acc {
                slot.has_acc = true;
                self.pending_acc_rows += 1;
            }
            if !slot.queued {
                slot.queued = true;
                self.pending_clients.push(r.client.0);
            }
        }
        for r in &batch.tables {
            let e = self.tables.entry(r.key).or_default();
            e.pending.merge(&r.delta);
            if !e.queued {
                e.queued = true;
                self.pending_tables.push(r.key);
            }
        }
        for c in &batch.last_seen {
            let slot = self.slots.slot_mut(c.0);
            if !slot.seen {
                slot.seen = true;
                self.pending_seen += 1;
            }
            if !slot.queued {
                slot.queued = true;
                self.pending_clients.push(c.0);
            }
        }
    }

    /// The batch awaiting an answer or a re-issue.
    pub fn in_flight(&self) -> Option<&FlushBatch> {
        self.in_flight.as_ref().map(|f| &f.batch)
    }

    /// Deltas of `client` not yet handed to the sink.
    pub fn pending_client(&self, client: ClientId) -> ClientAccum {
        self.slots
            .get(client.0)
            .map(|s| s.pending)
            .unwrap_or_default()
    }

    /// Deltas of a table row not yet handed to the sink.
    pub fn pending_table(&self, key: &TableKey) -> TableAccum {
        self.tables.get(key).map(|e| e.pending).unwrap_or_default()
    }

    /// True when a last-seen touch of `client` is pending.
    pub fn pending_last_seen(&self, client: ClientId) -> bool {
        self.slots.get(client.0).is_some_and(|s| s.seen)
    }

    /// Display totals of `client`.
    pub fn client_totals(&self, client: ClientId) -> Option<&ClientTotals> {
        self.slots
            .get(client.0)
            .map(|s| &s.totals)
            .filter(|t| t.first_seen.is_some())
    }

    /// Display totals of a table row.
    pub fn table_totals(&self, key: &TableKey) -> Option<&TableTotals> {
        self.tables.get(key).map(|e| &e.totals)
    }

    /// Sink health and backlog for display.
    pub fn flush_stats(&self) -> FlushStats {
        FlushStats {
            pending_rows: self.pending_rows(),
            pending_last_seen: self.pending_seen,
            in_flight_seq: self.in_flight.as_ref().map(|f| f.batch.seq),
            next_retry_at: self.retry_at,
            ..self.stats.clone()
        }
    }
}
