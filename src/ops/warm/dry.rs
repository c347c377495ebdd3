//! A dry run: what a warm job would do, read from the servers, nothing
//! written. Large key sets are sampled evenly and the counts scaled. Rows
//! are judged as the job judges them ([`usable`]), and keys given twice
//! count once, as in the job.

use rustc_hash::{FxHashMap, FxHashSet};

use super::job::{Rows, Unusable, usable};
use super::rules::Rule;
use super::target::Target;
use super::write::Mode;

/// Keys looked at, at most.
pub const SAMPLE: usize = 10_000;

/// What a job would do with its keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DryRun {
    /// Keys asked for (each once).
    pub keys: u64,
    /// Keys looked at (all, or an even sample).
    pub looked_at: u64,
    /// Would be written as new keys (fill).
    pub new: u64,
    /// Would overwrite an existing string (refresh).
    pub overwrite: u64,
    /// Already there, left alone (fill), or absent and not created (refresh).
    pub skipped: u64,
    /// Hold another type, left alone (refresh).
    pub type_conflict: u64,
    /// No row in the database.
    pub no_row: u64,
    /// A row whose value is NULL: not written.
    pub null_value: u64,
    /// A row without a usable TTL: not written, the job would fail.
    pub no_ttl: u64,
    /// Not matched by the rule's pattern.
    pub no_rule: u64,
}

impl DryRun {
    /// Counts scaled from the sample to all keys.
    pub fn scaled(&self) -> DryRun {
        if self.looked_at == 0 || self.looked_at == self.keys {
            return self.clone();
        }
        let f = self.keys as f64 / self.looked_at as f64;
        let s = |n: u64| (n as f64 * f).round() as u64;
        DryRun {
            keys: self.keys,
            looked_at: self.looked_at,
            new: s(self.new),
            overwrite: s(self.overwrite),
            skipped: s(self.skipped),
            type_conflict: s(self.type_conflict),
            no_row: s(self.no_row),
            null_value: s(self.null_value),
            no_ttl: s(self.no_ttl),
            no_rule: s(self.no_rule),
        }
    }
}

/// Look at (a sample of) `keys` as `rule` would warm them.
pub async fn dry_run<R: Rows>(
    rule: &Rule,
    keys: &[String],
    rows: &mut R,
    target: &mut Target,
) -> Result<DryRun, String> {
    let mut once = FxHashSet::default();
    let keys: Vec<&String> = keys.iter().filter(|k| once.insert(k.as_str())).collect();
    let step = keys.len().div_ceil(SAMPLE).max(1);
    let sample: Vec<&String> = keys.iter().copied().step_by(step).collect();
    let mut d = DryRun {
        keys: keys.len() as u64,
        looked_at: sample.len() as u64,
        ..DryRun::default()
    };
    let mut wanted: Vec<(&str, String)> = Vec::new();
    for k in sample {
        match rule.key.first_value(k) {
            Some(v) => wanted.push((k.as_str(), v.to_string())),
            None => d.no_rule += 1,
        }
    }
    for batch in wanted.chunks(rule.batch.max(1)) {
        let values: Vec<String> = batch.iter().map(|(_, v)| v.clone()).collect();
        let found = rows.fetch(rule, &values).await.map_err(|e| e.to_string())?;
        let mut made: FxHashMap<String, &super::job::Row> = FxHashMap::default();
        for r in &found {
            if let Some(k) = rule.key.render(|c| r.get(c)) {
                made.entry(k).or_insert(r);
            }
        }
        let mut to_write: Vec<String> = Vec::new();
        for (k, _) in batch {
            match made.get(*k).map(|r| usable(rule, k, r)) {
                None => d.no_row += 1,
                Some(Err(Unusable::NullValue)) => d.null_value += 1,
                Some(Err(Unusable::NoTtl)) => d.no_ttl += 1,
                Some(Ok(_)) => to_write.push((*k).to_string()),
            }
        }
        let types = target.types(&to_write).await.map_err(|e| e.to_string())?;
        for t in types {
            match (rule.mode, t.as_str()) {
                (Mode::Fill, "none") => d.new += 1,
                (Mode::Fill, _) => d.skipped += 1,
                (Mode::Refresh, "string") => d.overwrite += 1,
                (Mode::Refresh, "none") => d.skipped += 1,
                (Mode::Refresh, _) => d.type_conflict += 1,
            }
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_scales_to_all_keys() {
        let d = DryRun {
            keys: 100_000,
            looked_at: 10_000,
            new: 9_000,
            no_row: 1_000,
            ..DryRun::default()
        };
        let s = d.scaled();
        assert_eq!((s.new, s.no_row), (90_000, 10_000));
        assert_eq!(
            DryRun {
                keys: 5,
                looked_at: 5,
                new: 5,
                ..DryRun::default()
            }
            .scaled()
            .new,
            5
        );
    }
}
