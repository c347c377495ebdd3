//! Warm jobs in the demo: they act on its simulated cache, batch by batch,
//! and report progress as samples like a real executor would.

use super::world::{HOT_KEYS, TABLES};
use super::{Demo, DemoJob, WARM_BATCH, WARM_RATE};
use crate::engines::Timestamp;
use crate::engines::warming::Tally;
use crate::sample::{Body, Sample, SourceId, WarmProgress};

impl Demo {
    /// Queue a warm job over `keys` (progress comes back as samples).
    pub fn submit_warm(&mut self, job: u64, keys: Vec<String>) {
        self.jobs.push(DemoJob {
            id: job,
            keys,
            next: 0,
            tally: Tally::default(),
            cancelled: false,
        });
    }

    /// Ask a job to stop; it stops at the next batch boundary.
    pub fn cancel_warm(&mut self, job: u64) {
        self.jobs
            .iter_mut()
            .filter(|j| j.id == job)
            .for_each(|j| j.cancelled = true);
    }

    pub(super) fn step_jobs(&mut self, now: Timestamp, dt_s: f64, out: &mut Vec<Sample>) {
        let mut budget = ((WARM_RATE as f64) * dt_s.max(0.25)) as usize;
        let mut jobs = std::mem::take(&mut self.jobs);
        for job in &mut jobs {
            let mut finished = None;
            if job.cancelled {
                finished = Some(Err("cancelled".to_string()));
            } else {
                while budget > 0 && job.next < job.keys.len() {
                    let n = WARM_BATCH.min(budget).min(job.keys.len() - job.next);
                    let batch = &job.keys[job.next..job.next + n];
                    let t = self.warm(batch, now);
                    job.tally.add(&t);
                    job.next += n;
                    budget -= n;
                }
                if job.next >= job.keys.len() {
                    finished = Some(Ok(()));
                }
            }
            let done = finished.is_some();
            out.push(Sample {
                source: SourceId(0),
                generation: self.nodes[0].run as u32,
                at: now,
                body: Body::WarmProgress(WarmProgress {
                    job: job.id,
                    tally: job.tally,
                    finished,
                    total: None,
                    unwritten: Vec::new(),
                }),
            });
            if done {
                job.keys.clear();
            }
        }
        jobs.retain(|j| !j.keys.is_empty());
        self.jobs = jobs;
    }

    /// Warm keys in the simulated cache (demo warming acts on it for real):
    /// written (missing keys filled), keys of no table (no rule match), and
    /// keys of a node that is down (refused).
    pub fn warm(&mut self, keys: &[String], now: Timestamp) -> Tally {
        let ms = now.as_millis();
        let mut t = Tally::default();
        for key in keys {
            let found = TABLES.iter().position(|t| {
                key.strip_prefix(t.name)
                    .and_then(|r| r.strip_prefix(':'))
                    .is_some()
            });
            let Some(ti) = found else {
                t.no_rule += 1;
                continue;
            };
            let ttl_ms = i64::from(TABLES[ti].ttl_s) * 1000;
            let table = &mut self.tables[ti];
            if self.nodes[table.node].down_until > ms {
                t.refused += 1;
                continue;
            }
            match (0..HOT_KEYS).find(|&k| Self::key_name(ti, k) == *key) {
                Some(k) => {
                    table.keys[k].expire_at = ms + ttl_ms;
                    t.written += 1;
                }
                None => {
                    table.tail_fill = (table.tail_fill + 0.0005).min(1.0);
                    t.written += 1;
                }
            }
        }
        t
    }
}
