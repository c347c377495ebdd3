//! The app's side of the client-statistics sink: when to hand the sink a
//! batch, what its answers do to the clients engine, and the shared totals
//! it reads back for the Clients pane.

use rustc_hash::FxHashMap;

use super::state::State;
use crate::engines::Timestamp;
use crate::engines::clients::{BatchColumns, ClientId, ClientView};
use crate::sample::{FlushOutcome, SinkReport, StoredClient};

/// What the Clients pane knows about the sink.
#[derive(Debug, Clone, Default)]
pub struct SinkBoard {
    /// A sink is configured: batches wait for its answers (without one they
    /// are settled in memory so pending deltas stay small).
    pub enabled: bool,
    /// The shared totals last read back, by client name (replaced by each
    /// read, so bounded by the read's limit; names, not ids, so that they
    /// hold no interned name of the clients engine).
    pub stored: FxHashMap<String, StoredClient>,
    /// When they were read.
    pub stored_at: Option<Timestamp>,
    /// The last read-back or set-up failure (cleared by a good read).
    pub read_error: Option<String>,
    /// Batches found already written when retried (a lost commit reply).
    pub already_written: u64,
}

impl State {
    /// The batch to hand the sink now, if one is due (interval, size,
    /// retry); `None` without a sink.
    pub fn flush_due(&mut self, now: Timestamp) -> Option<BatchColumns> {
        if !self.sink.enabled || !self.clients.should_flush(now) {
            return None;
        }
        self.take_flush(now)
    }

    /// The next batch regardless of triggers and backoff (the final flush
    /// at shutdown); `None` when nothing is pending or a batch awaits its
    /// answer.
    pub fn take_flush(&mut self, now: Timestamp) -> Option<BatchColumns> {
        let b = self.clients.take_batch(now)?;
        Some(b.to_columns(self.clients.names()))
    }

    /// Whether a shutdown must still wait for the sink: a batch awaits its
    /// answer, or deltas are pending.
    pub fn sink_busy(&self) -> bool {
        self.sink.enabled
            && (self.clients.in_flight().is_some() || self.clients.flush_stats().pending_rows > 0)
    }

    pub(crate) fn sink_report(&mut self, r: &SinkReport, at: Timestamp) {
        match r {
            SinkReport::Flushed { seq, outcome } => {
                match outcome {
                    FlushOutcome::Written => {
                        self.clients.ack(*seq, at);
                    }
                    FlushOutcome::AlreadyWritten => {
                        self.sink.already_written += 1;
                        self.clients.ack(*seq, at);
                    }
                    FlushOutcome::Failed(e) => {
                        self.clients.nack(*seq, at);
                        self.clients.set_last_error(e);
                    }
                    FlushOutcome::InDoubt(e) => {
                        self.clients.nack_in_doubt(*seq, at);
                        self.clients.set_last_error(e);
                    }
                };
            }
            SinkReport::Stored(rows) => {
                self.sink.stored = rows.iter().map(|c| (c.name.clone(), c.clone())).collect();
                self.sink.stored_at = Some(at);
                self.sink.read_error = None;
            }
            SinkReport::ReadFailed(e) => self.sink.read_error = Some(e.clone()),
        }
    }

    /// The pane's rows with the stored totals: each local client gets its
    /// shared total, and clients only other consoles saw are added.
    pub(crate) fn with_stored(&self, mut clients: Vec<ClientView>) -> Vec<ClientView> {
        if self.sink.stored.is_empty() {
            return clients;
        }
        for c in &mut clients {
            c.stored = self.sink.stored.get(&c.name).map(|s| s.requests);
        }
        let local: rustc_hash::FxHashSet<&str> = clients.iter().map(|c| c.name.as_str()).collect();
        let mut only_stored: Vec<ClientView> = self
            .sink
            .stored
            .iter()
            .filter(|(name, _)| !local.contains(name.as_str()))
            .map(|(_, s)| ClientView {
                // Not a client of this console: an id no local client has,
                // so its table breakdown is empty.
                client: ClientId(u32::MAX),
                name: s.name.clone(),
                requests: 0,
                successes: 0,
                failures: 0,
                cached: 0,
                operations: 0,
                success_ratio: None,
                cached_ratio: None,
                requests_per_sec: 0.0,
                operations_per_sec: 0.0,
                last_seen: s.last_seen_ms.map(Timestamp),
                stored: Some(s.requests),
            })
            .collect();
        only_stored.sort_by(|a, b| b.stored.cmp(&a.stored).then_with(|| a.name.cmp(&b.name)));
        clients.extend(only_stored);
        clients
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::SessionInfo;
    use crate::engines::clients::{ClientDelta, RequestDelta};

    fn state_with_requests(n: i64) -> State {
        let mut s = State::new(SessionInfo::default(), 1000);
        s.sink.enabled = true;
        let c = s.clients.names_mut().client("api");
        let d = ClientDelta::Request(RequestDelta {
            client: c,
            d_req: n,
            d_succ: n,
            d_fail: 0,
            d_cached: 0,
        });
        s.clients.apply(&d, Timestamp(0));
        s
    }

    #[test]
    fn a_failed_flush_keeps_its_deltas_and_an_in_doubt_one_is_resent_whole() {
        let mut s = state_with_requests(5);
        let b = s.take_flush(Timestamp(0)).expect("batch");
        assert_eq!(b.clients.total_requests, vec![5]);
        let failed = FlushOutcome::Failed("connection refused".into());
        s.sink_report(
            &SinkReport::Flushed {
                seq: b.seq,
                outcome: failed,
            },
            Timestamp(1),
        );
        assert!(s.sink_busy());
        assert!(s.flush_due(Timestamp(2)).is_none(), "backing off");
        let again = s.flush_due(Timestamp(10_000)).expect("retry");
        assert_eq!(again.clients.total_requests, vec![5]);
        let doubt = FlushOutcome::InDoubt("connection reset".into());
        s.sink_report(
            &SinkReport::Flushed {
                seq: again.seq,
                outcome: doubt,
            },
            Timestamp(10_001),
        );
        let resent = s.flush_due(Timestamp(60_000)).expect("re-issue");
        assert_eq!(
            resent.seq, again.seq,
            "same number, so the sink can skip it"
        );
        let done = FlushOutcome::AlreadyWritten;
        s.sink_report(
            &SinkReport::Flushed {
                seq: resent.seq,
                outcome: done,
            },
            Timestamp(60_001),
        );
        assert!(!s.sink_busy());
        assert_eq!(s.sink.already_written, 1);
    }

    #[test]
    fn stored_totals_join_local_rows_and_add_clients_seen_elsewhere() {
        let mut s = state_with_requests(3);
        let stored = |name: &str, requests| StoredClient {
            name: name.into(),
            requests,
            ..StoredClient::default()
        };
        let rows = vec![stored("api", 30), stored("batch", 7)];
        s.sink_report(&SinkReport::Stored(rows), Timestamp(5));
        let view = s.with_stored(s.clients.clients_view(Timestamp(5)));
        let got: Vec<(&str, i64, Option<i64>)> = view
            .iter()
            .map(|c| (c.name.as_str(), c.requests, c.stored))
            .collect();
        assert_eq!(got, vec![("api", 3, Some(30)), ("batch", 0, Some(7))]);
    }
}
