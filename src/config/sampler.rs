//! The key sampler's settings: the `[sampler]` table (and a context's
//! `[contexts.NAME.sampler]`), the flags, and how they combine into a
//! [`SamplerConfig`].
//!
//! The budget either follows the node (`share`, `floor`, `cap`; the
//! default: 5 % of the node's commands, 20 to 1000 per second) or is fixed
//! (`budget = N`, `--sample-budget N`). The most specific place that says
//! anything about the budget wins: the flags, then the context, then the
//! top-level table; within the following mode, each of share, floor and cap
//! comes from the most specific place that sets it.

use serde::Deserialize;

use crate::cli::{check_budget, check_delimiter, parse_share};
use crate::sources::redis::sampler::budget::DEFAULT_CAP;
use crate::sources::redis::sampler::{ElementCounts, Follow, SamplerConfig};

/// The table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSampler {
    budget: Option<u64>,
    share: Option<String>,
    floor: Option<u64>,
    cap: Option<u64>,
    delimiter: Option<String>,
    memory: Option<bool>,
    elements: Option<ElementCounts>,
}

/// How one place (flags, context, file) sets the budget.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetSpec {
    /// A fixed budget (commands/s, 0 = off).
    pub fixed: Option<u32>,
    /// Share of the node's commands (0..=0.5).
    pub share: Option<f64>,
    /// Least budget when following.
    pub floor: Option<u32>,
    /// Greatest budget when following.
    pub cap: Option<u32>,
}

impl BudgetSpec {
    fn follows(&self) -> bool {
        self.share.is_some() || self.floor.is_some() || self.cap.is_some()
    }

    fn is_empty(&self) -> bool {
        self.fixed.is_none() && !self.follows()
    }
}

/// The `[sampler]` table: the Redis key sampler's settings (command-line
/// flags win).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplerFile {
    /// The budget, as this table sets it.
    pub budget: BudgetSpec,
    /// Key prefix delimiter.
    pub delimiter: Option<String>,
    /// Ask `MEMORY USAGE` per key.
    pub memory: Option<bool>,
    /// Ask lengths / element counts.
    pub elements: Option<ElementCounts>,
}

/// Check a table; `Err((key, message))` names the key at fault.
pub(super) fn check(raw: RawSampler) -> Result<SamplerFile, (&'static str, String)> {
    let budget = raw
        .budget
        .map(check_budget)
        .transpose()
        .map_err(|m| ("budget", m))?;
    let share = raw
        .share
        .as_deref()
        .map(parse_share)
        .transpose()
        .map_err(|m| ("share", m))?;
    let floor = raw
        .floor
        .map(check_budget)
        .transpose()
        .map_err(|m| ("floor", m))?;
    let cap = raw
        .cap
        .map(check_budget)
        .transpose()
        .map_err(|m| ("cap", m))?;
    let spec = BudgetSpec {
        fixed: budget,
        share,
        floor,
        cap,
    };
    if spec.fixed.is_some() && spec.follows() {
        let m = "budget is a fixed rate; share, floor and cap make it follow the node: \
                 set one or the other"
            .to_string();
        return Err(("budget", m));
    }
    if let (Some(f), Some(c)) = (floor, cap)
        && f > c
    {
        return Err(("floor", format!("floor {f} is above cap {c}")));
    }
    let delimiter = raw
        .delimiter
        .as_deref()
        .map(check_delimiter)
        .transpose()
        .map_err(|m| ("delimiter", m))?;
    Ok(SamplerFile {
        budget: spec,
        delimiter,
        memory: raw.memory,
        elements: raw.elements,
    })
}

/// The budget from the places that may set it, most specific first.
pub fn resolve_budget(layers: &[BudgetSpec], base: &mut SamplerConfig) {
    let mut follow = BudgetSpec::default();
    for l in layers.iter().filter(|l| !l.is_empty()) {
        if let Some(n) = l.fixed {
            if !follow.follows() {
                base.budget = n;
                base.follow = None;
                return;
            }
            break;
        }
        follow.share = follow.share.or(l.share);
        follow.floor = follow.floor.or(l.floor);
        follow.cap = follow.cap.or(l.cap);
    }
    let d = Follow::default();
    base.budget = follow.cap.unwrap_or(DEFAULT_CAP);
    base.follow = Some(Follow {
        share: follow.share.unwrap_or(d.share),
        floor: follow.floor.unwrap_or(d.floor),
    });
}

/// Everything but the budget: the first place that sets a field wins.
pub fn resolve_rest(files: &[&SamplerFile], cli: &crate::cli::Cli, base: &mut SamplerConfig) {
    if let Some(d) = cli
        .key_delimiter
        .clone()
        .or_else(|| first(files, |s| s.delimiter.clone()))
    {
        base.delimiter = d;
    }
    base.memory = cli.sample_memory || first(files, |s| s.memory).unwrap_or(base.memory);
    if let Some(e) = cli.sample_elements.or_else(|| first(files, |s| s.elements)) {
        base.elements = e;
    }
}

fn first<T>(files: &[&SamplerFile], f: impl Fn(&SamplerFile) -> Option<T>) -> Option<T> {
    files.iter().find_map(|s| f(s))
}

/// What the flags say of the budget.
pub fn cli_budget(cli: &crate::cli::Cli) -> BudgetSpec {
    let (fixed, share) = match cli.sample_budget {
        Some(crate::cli::SampleBudget::Fixed(n)) => (Some(n), None),
        Some(crate::cli::SampleBudget::Share(s)) => (None, Some(s)),
        None => (None, None),
    };
    BudgetSpec {
        fixed,
        share,
        floor: cli.sample_floor,
        cap: cli.sample_cap,
    }
}
