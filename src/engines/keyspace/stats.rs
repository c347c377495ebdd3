//! Scaling a sample of the keyspace up to the whole, with error bars.
//!
//! `SCAN` visits keys in hash-table order, which has nothing to do with
//! their names, so the keys seen so far in a pass are treated as a simple
//! random sample drawn without replacement from the `N` keys of the
//! database. Proportions get a Wilson score interval (good for small counts
//! and proportions near 0 or 1) with the finite-population correction, so
//! the interval closes as the pass nears the whole keyspace; totals (bytes)
//! get the normal interval of the expansion estimator.

use serde::{Deserialize, Serialize};

/// z of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_985;

/// A scaled estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Estimate {
    /// Point estimate.
    pub value: f64,
    /// Lower bound of the interval.
    pub lo: f64,
    /// Upper bound of the interval.
    pub hi: f64,
}

impl Estimate {
    /// An exact figure (no sampling error).
    pub fn exact(v: f64) -> Self {
        Self {
            value: v,
            lo: v,
            hi: v,
        }
    }

    /// Half the interval's width (the "±" shown).
    pub fn half_width(&self) -> f64 {
        (self.hi - self.lo) / 2.0
    }

    /// Sum of estimates of disjoint parts (e.g. one prefix on several
    /// nodes): values add, bounds add (conservative: as if fully correlated).
    pub fn add(&self, o: &Estimate) -> Estimate {
        Estimate {
            value: self.value + o.value,
            lo: self.lo + o.lo,
            hi: self.hi + o.hi,
        }
    }
}

/// The effective sample size after the finite-population correction:
/// `n · (N − 1) / (N − n)`; infinite for a census.
fn effective_n(n: u64, population: u64) -> f64 {
    if population <= n {
        f64::INFINITY
    } else {
        n as f64 * (population.saturating_sub(1)) as f64 / (population - n) as f64
    }
}

/// Wilson score interval of the proportion `k / n` for a sample of `n`
/// drawn without replacement from `population`, at `z`: `(p̂, lo, hi)`,
/// all in [0, 1]. No sample gives `(0, 0, 1)`.
pub fn wilson(k: u64, n: u64, population: u64, z: f64) -> (f64, f64, f64) {
    if n == 0 {
        return (0.0, 0.0, 1.0);
    }
    let p = (k.min(n) as f64 / n as f64).clamp(0.0, 1.0);
    let ne = effective_n(n, population);
    if !ne.is_finite() || !z.is_finite() || z <= 0.0 {
        return (p, p, p);
    }
    let z2 = z * z;
    let denom = 1.0 + z2 / ne;
    let center = (p + z2 / (2.0 * ne)) / denom;
    let half = z / denom * (p * (1.0 - p) / ne + z2 / (4.0 * ne * ne)).sqrt();
    let lo = (center - half).clamp(0.0, p);
    let hi = (center + half).clamp(p, 1.0);
    (p, lo, hi)
}

/// How many of the `population` keys have a property that `k` of the `n`
/// sampled keys had. The bounds are clamped to what the sample proves: at
/// least `k` (seen), at most `population − (n − k)` (the others were seen
/// without it). A census larger than `population` (keys added meanwhile,
/// or returned twice by `SCAN` during a rehash) scales to `n`.
pub fn scaled_count(k: u64, n: u64, population: u64, z: f64) -> Estimate {
    let k = k.min(n);
    let pop = population.max(n);
    let (p, lo, hi) = wilson(k, n, pop, z);
    let popf = pop as f64;
    let floor = k as f64;
    let ceil = (pop - (n - k)) as f64;
    Estimate {
        value: (p * popf).clamp(floor, ceil),
        lo: (lo * popf).clamp(floor, ceil),
        hi: (hi * popf).clamp(floor, ceil),
    }
}

/// The total over `population` keys of a quantity `y` (bytes of one
/// prefix: `y` is a key's size when it has the prefix, else 0), from its
/// sum and sum of squares over `n` sampled keys: `N · ȳ`, with the normal
/// interval `± z · N · sqrt((1 − n/N) · s² / n)`. The lower bound is at
/// least the sampled sum.
pub fn scaled_total(sum: f64, sum_sq: f64, n: u64, population: u64, z: f64) -> Estimate {
    if n == 0 || !sum.is_finite() || !sum_sq.is_finite() {
        return Estimate::default();
    }
    let pop = population.max(n) as f64;
    let nf = n as f64;
    let mean = sum / nf;
    let value = pop * mean;
    let var_y = if n > 1 {
        ((sum_sq - nf * mean * mean) / (nf - 1.0)).max(0.0)
    } else {
        // One observation says nothing about spread: as wide as the value.
        mean * mean
    };
    let fpc = (1.0 - nf / pop).max(0.0);
    let half = if z.is_finite() && z > 0.0 {
        z * pop * (fpc * var_y / nf).sqrt()
    } else {
        0.0
    };
    Estimate {
        value,
        lo: (value - half).max(sum.min(value)),
        hi: value + half,
    }
}
