//! The five analytics engines: pure, synchronous, IO-free state machines.
//!
//! Every engine takes time as a parameter (`now: Timestamp`), never reads the
//! clock, never panics on any input, and works on interned ids on its hot path.

pub mod bounded;
pub mod clients;
pub mod counters;
pub mod heatmap;
pub mod intern;
pub mod keyevents;
pub mod keyspace;
pub mod optimizer;
pub mod pool;
pub mod sessions;
pub mod statements;
pub mod time;
pub mod warming;

pub use time::Timestamp;

/// A ratio of sums, or `None` ("n/a") when the denominator is zero.
///
/// Hit ratios are always Σhits / Σ(hits + misses) over a window and a set of
/// nodes, never an average of per-node or per-bucket ratios.
pub fn ratio(num: u64, den: u64) -> Option<f64> {
    if den == 0 {
        None
    } else {
        Some((num as f64 / den as f64).clamp(0.0, 1.0))
    }
}

/// Total order on `f64` for rankings: NaN sorts below every number, so a bad
/// figure sinks to the bottom instead of panicking a sort.
pub fn cmp_f64(a: f64, b: f64) -> std::cmp::Ordering {
    let key = |x: f64| if x.is_nan() { f64::NEG_INFINITY } else { x };
    key(a).total_cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn ratio_is_na_on_empty_denominator() {
        assert_eq!(ratio(0, 0), None);
        assert_eq!(ratio(1, 4), Some(0.25));
        assert_eq!(ratio(9, 4), Some(1.0));
    }

    #[test]
    fn nan_sorts_lowest() {
        assert_eq!(cmp_f64(f64::NAN, -1e300), Ordering::Less);
        assert_eq!(cmp_f64(1.0, f64::NAN), Ordering::Greater);
        let mut v = [2.0, f64::NAN, 1.0];
        v.sort_by(|a, b| cmp_f64(*b, *a));
        assert_eq!(v[0], 2.0);
        assert!(v[2].is_nan());
    }
}
