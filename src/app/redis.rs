//! Redis figures: a node's `INFO` into rates (the console's own load and
//! the event stream's `XADD`s taken out, a restart a gap), the tick's
//! cache totals, the pool model's memory and the optimizer's measurement.

use super::state::{State, TickTotals};
use crate::engines::Timestamp;
use crate::engines::counters::SetDelta;
use crate::engines::optimizer::Measurement;
use crate::sample::{RedisStats, SourceId, SourceKind};

impl State {
    /// When the access-event stream lives on the node `name` whose server
    /// run is `run_id`, the commands its reader has sent there so far: the
    /// reader names the server it reads (its `run_id` when `INFO` is
    /// allowed, else its address).
    fn stream_reader_on(&self, name: &str, run_id: u64) -> Option<u64> {
        self.sources
            .iter()
            .filter(|s| s.kind == SourceKind::Events)
            .filter_map(|s| s.stream.as_ref())
            .find(|st| match st.node_run {
                Some(run) => run == run_id,
                None => st.node.as_deref() == Some(name),
            })
            .map(|st| st.commands)
    }

    pub(super) fn redis(&mut self, id: SourceId, r: &RedisStats, at: Timestamp) {
        let limit = super::source::stale_after_ms(self.refresh_ms);
        let reader = self
            .source(id)
            .and_then(|s| self.stream_reader_on(&s.name, r.run_id));
        let Some(src) = self.source_mut(id) else {
            return;
        };
        let last = src.last_stats_at;
        let dt = last.map_or(0.0, |l| at.secs_since(l));
        src.last_stats_at = Some(at);
        let vals = [
            r.keyspace_hits,
            r.keyspace_misses,
            r.commands,
            r.evicted_keys,
            r.expired_keys,
            r.own_hits,
            r.own_misses,
            r.own_commands,
        ];
        let mut tick = TickTotals::default();
        let xadd_before = src.command_totals.get("xadd").map_or(0, |c| c.0);
        // The event reader's own XREADs are the console's load, like the
        // pollers' (counted by the reader, so only close to this INFO).
        let reader_cmds = match (reader, src.stream_reader_seen) {
            (Some(now), Some(before)) => now.saturating_sub(before),
            _ => 0,
        };
        src.stream_reader_seen = reader;
        let mut delta = src.redis_counters.observe(vals, r.run_id);
        // Readings further apart than a refresh or two (an outage the
        // connection survived, a stalled poll) are a gap: their average is
        // not a current rate.
        if last.is_some_and(|l| at.millis_since(l) > limit) && matches!(delta, SetDelta::Values(_))
        {
            delta = SetDelta::Baseline;
        }
        src.observe_commands(&r.commandstats, dt, !matches!(delta, SetDelta::Values(_)));
        match delta {
            SetDelta::Values([h, m, c, ev, ex, oh, om, oc]) => {
                let per_sec = |n: u64| if dt > 0.0 { n as f64 / dt } else { 0.0 };
                // The event stream's XADDs are its own traffic, not the
                // application's cache operations: taken out and shown apart
                // (same INFO, so the subtraction is exact).
                let xadd = if reader.is_some() {
                    src.command_totals
                        .get("xadd")
                        .map_or(0, |c| c.0)
                        .saturating_sub(xadd_before)
                } else {
                    0
                };
                // The console's own load is taken out, so watching does not move the figures.
                let oc = oc + reader_cmds;
                let (h, m, c) = (
                    h.saturating_sub(oh),
                    m.saturating_sub(om),
                    c.saturating_sub(oc).saturating_sub(xadd),
                );
                src.ops_per_sec = per_sec(c);
                src.stream_xadd_per_sec = per_sec(xadd);
                src.own_ops_per_sec = per_sec(oc);
                src.evicted_per_sec = per_sec(ev);
                src.expired_per_sec = per_sec(ex);
                src.rates_at = (dt > 0.0).then_some(at);
                src.note_lookups(at, h, m);
                tick = TickTotals {
                    hits: h,
                    misses: m,
                    commands: c,
                    gap: false,
                    reports: 1,
                };
            }
            SetDelta::Reset => {
                src.rates_at = None;
                tick.gap = true;
            }
            SetDelta::Baseline => src.rates_at = None,
        }
        src.used = r.used_memory;
        src.capacity = r.maxmemory;
        src.redis_info = Some(r.clone());
        // Only a current rate is a measurement (not the last one before a gap).
        let ops = src.rates_at.map(|_| src.ops_per_sec);
        let (backend, opt, rtt) = (src.backend, src.opt_id, src.rtt_ms);
        self.pending.hits += tick.hits;
        self.pending.misses += tick.misses;
        self.pending.commands += tick.commands;
        self.pending.reports += tick.reports;
        self.pending.gap |= tick.gap;
        if let Some(b) = backend {
            self.pool.set_used(b, r.used_memory);
            let mut cfg = self.pool.backend(b).map(|x| x.config().clone());
            if let Some(c) = cfg.as_mut().filter(|c| c.capacity != r.maxmemory) {
                c.capacity = r.maxmemory;
                let _ = self.pool.update_backend(c.clone());
            }
        }
        if let (Some(o), Some(lat), Some(ops)) = (opt, rtt, ops) {
            let m = Measurement {
                latency_ms: lat,
                throughput_eps: ops,
                success_rate: 1.0,
                memory_mb: r.used_memory as f64 / 1_048_576.0,
                connections: u32::try_from(r.connected_clients).unwrap_or(u32::MAX),
                ..Measurement::default()
            };
            self.optimizer.observe(o, &m, at);
        }
    }
}
