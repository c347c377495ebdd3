//! What a warm job did: its keys counted by outcome, and its failures by
//! kind, each with the first reason of that kind, so the reason a job
//! gives is the one that failed it (what stopped it first, then the rest),
//! not merely the first thing that went wrong. Reasons name the rule and
//! never a key: key names may be confidential (`--redact-keys`), and a
//! reason reaches the status line, the job list, the log and `warm_jobs`.

use super::write::Outcome;
use crate::engines::warming::Tally;

/// Unwritten keys a report lists, at most (automatic jobs are far smaller;
/// a larger manual job lists its first ones).
pub const MAX_UNWRITTEN: usize = 10_000;

/// Add key hashes to an unwritten list, up to [`MAX_UNWRITTEN`].
pub fn note_unwritten(list: &mut Vec<u64>, hashes: impl IntoIterator<Item = u64>) {
    let room = MAX_UNWRITTEN.saturating_sub(list.len());
    list.extend(hashes.into_iter().take(room));
}

/// A kind of failure a job counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The query listing the keys (`hot_keys_query`) failed; the keys it
    /// gave before are still warmed.
    KeyQuery,
    /// A batch's query failed (its keys not written), or the query cannot
    /// serve the rule at all (then the job ends).
    Query,
    /// A round trip to Redis failed (connection lost, timeout): the job ends.
    Redis,
    /// Redis refused writes (OOM, READONLY, NOPERM, …).
    Write,
    /// Rows without a usable TTL (`ttl_column` NULL, not a number, not
    /// positive, or beyond the longest TTL).
    Ttl,
}

/// One kind of failure in one rule's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// Its kind.
    pub kind: Failure,
    /// Keys it hit (writes, TTLs) or batches (queries, round trips).
    pub count: u64,
    /// Its first reason, naming the rule.
    pub reason: String,
    /// It ended the job: the keys after it were not tried.
    pub ended: bool,
}

impl Failed {
    /// The reason with its count.
    fn describe(&self) -> String {
        match self.kind {
            Failure::Write | Failure::Ttl => {
                let s = if self.count == 1 { "" } else { "s" };
                format!("{} ({} key{s})", self.reason, self.count)
            }
            Failure::Query if self.count > 1 => {
                format!("{} ({} batches)", self.reason, self.count)
            }
            _ => self.reason.clone(),
        }
    }
}

/// How a job ended, or stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Keys asked for (each once: a key given twice is one key).
    pub keys: u64,
    /// What the writes did.
    pub written: Outcome,
    /// Keys the rule's pattern does not match.
    pub no_rule: u64,
    /// Keys whose row the query did not return.
    pub no_row: u64,
    /// Keys whose row has a NULL `value`: the database has nothing to
    /// cache for them, so nothing is written (not a failure, as no row).
    pub null_value: u64,
    /// Keys whose row has no usable TTL: not written, a failure.
    pub no_ttl: u64,
    /// Batches whose query failed (their keys are not written), and a
    /// failed key query.
    pub query_errors: u64,
    /// Round trips lost to a Redis failure (connection, timeout).
    pub redis_errors: u64,
    /// Failures by kind (one entry per kind and rule, and one for what
    /// ended the job), in the order they first happened.
    pub failures: Vec<Failed>,
    /// Stopped by a cancel.
    pub cancelled: bool,
    /// Stopped by a guard, and why.
    pub paused: Option<String>,
    /// Keys without a usable row (no row, a NULL value, no usable TTL), by
    /// hash (`engines::intern::key_hash`), at most [`MAX_UNWRITTEN`]; the
    /// keys Redis refused are in `written.unwritten`. See
    /// [`Report::unwritten_keys`].
    pub unwritten: Vec<u64>,
}

impl Report {
    /// Keys dealt with so far (written or not).
    pub fn done(&self) -> u64 {
        self.written.total() + self.no_rule + self.no_row + self.null_value + self.no_ttl
    }

    /// The keys dealt with, by outcome, in the words the console and the
    /// headless summary share.
    pub fn tally(&self) -> Tally {
        let w = &self.written;
        Tally {
            written: w.written,
            left_alone: w.existed + w.absent,
            type_conflict: w.type_conflict,
            no_row: self.no_row,
            null_value: self.null_value,
            no_ttl: self.no_ttl,
            no_rule: self.no_rule,
            refused: w.errors,
        }
    }

    /// Every key dealt with but not written for a reason of its own (no
    /// row, a NULL value, no usable TTL, a type conflict, refused), by hash.
    pub fn unwritten_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.unwritten
            .iter()
            .chain(&self.written.unwritten)
            .copied()
    }

    /// Whether anything failed.
    pub fn failed(&self) -> bool {
        self.query_errors > 0
            || self.redis_errors > 0
            || self.written.errors > 0
            || self.no_ttl > 0
            || self.paused.is_some()
            || !self.failures.is_empty()
    }

    /// Why the job failed, if it did: what ended it (a failure, a guard),
    /// then every other kind of failure with its first reason and count.
    pub fn reason(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(
            self.failures
                .iter()
                .filter(|f| f.ended)
                .map(Failed::describe),
        );
        parts.extend(self.paused.iter().map(|p| format!("paused: {p}")));
        parts.extend(
            self.failures
                .iter()
                .filter(|f| !f.ended)
                .map(Failed::describe),
        );
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// The failure that ended the job, if one did.
    pub fn ended_by(&self) -> Option<&Failed> {
        self.failures.iter().find(|f| f.ended)
    }

    /// Add another job's report (a job over several rules): counts add up,
    /// failures are kept per rule, the first pause is kept.
    pub fn add(&mut self, r: &Report) {
        self.keys += r.keys;
        self.written.add(&r.written);
        self.no_rule += r.no_rule;
        self.no_row += r.no_row;
        self.null_value += r.null_value;
        self.no_ttl += r.no_ttl;
        self.query_errors += r.query_errors;
        self.redis_errors += r.redis_errors;
        self.failures.extend(r.failures.iter().cloned());
        note_unwritten(&mut self.unwritten, r.unwritten.iter().copied());
        self.cancelled |= r.cancelled;
        if self.paused.is_none() {
            self.paused.clone_from(&r.paused);
        }
    }

    /// Count `count` keys or batches of `kind`; `reason` (asked only for
    /// the first of its kind, or for one that ends the job) names the
    /// rule and no key.
    pub fn fail(
        &mut self,
        kind: Failure,
        count: u64,
        ended: bool,
        reason: impl FnOnce() -> String,
    ) {
        if !ended
            && let Some(f) = self
                .failures
                .iter_mut()
                .find(|f| f.kind == kind && !f.ended)
        {
            f.count += count;
            return;
        }
        self.failures.push(Failed {
            kind,
            count,
            reason: reason(),
            ended,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_what_ended_the_job_then_the_rest_with_counts() {
        let mut r = Report::default();
        r.fail(Failure::Ttl, 2, false, || "rule `u`: no usable TTL".into());
        r.fail(Failure::Ttl, 3, false, || unreachable!("asked once"));
        r.fail(Failure::Redis, 1, true, || "rule `u`: redis: gone".into());
        assert!(r.failed());
        assert_eq!(
            r.reason().as_deref(),
            Some("rule `u`: redis: gone; rule `u`: no usable TTL (5 keys)")
        );
        assert_eq!(r.ended_by().map(|f| f.kind), Some(Failure::Redis));
        assert_eq!(Report::default().reason(), None);
        assert!(!Report::default().failed());
    }

    #[test]
    fn an_ending_failure_keeps_its_own_reason_beside_earlier_ones_of_its_kind() {
        let mut r = Report::default();
        r.fail(Failure::Write, 1, false, || "rule `u`: OOM".into());
        r.fail(Failure::Write, 100, true, || "rule `u`: READONLY".into());
        r.paused = None;
        assert_eq!(
            r.reason().as_deref(),
            Some("rule `u`: READONLY (100 keys); rule `u`: OOM (1 key)")
        );
        let mut total = Report {
            paused: Some("evicting".into()),
            ..Report::default()
        };
        total.add(&r);
        assert_eq!(total.failures.len(), 2, "kept per rule, not merged");
        assert!(total.reason().unwrap().contains("paused: evicting"));
    }
}
