//! Virtual time for engines: a millisecond timestamp passed in by the caller.
//!
//! Engines never read the wall clock; every method that depends on time takes
//! `now: Timestamp`, which makes engines and screens deterministic under test.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (may be virtual, e.g. in the demo).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The timestamp `secs` seconds after the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// The timestamp `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (floored).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Seconds since the epoch as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// `self - earlier` in milliseconds, never negative (clock skew gives 0).
    pub const fn millis_since(self, earlier: Timestamp) -> u64 {
        let d = self.0.saturating_sub(earlier.0);
        if d < 0 { 0 } else { d as u64 }
    }

    /// `self - earlier` in seconds, never negative.
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        self.millis_since(earlier) as f64 / 1000.0
    }

    /// This timestamp moved by `ms` milliseconds (saturating).
    pub const fn add_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// This timestamp moved by `secs` seconds (saturating).
    pub const fn add_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1000)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_never_goes_negative() {
        let a = Timestamp::from_secs(10);
        let b = Timestamp::from_secs(20);
        assert_eq!(a.millis_since(b), 0);
        assert_eq!(b.millis_since(a), 10_000);
        assert_eq!(Timestamp(i64::MIN).millis_since(Timestamp(i64::MAX)), 0);
        assert_eq!(
            Timestamp(i64::MAX).millis_since(Timestamp(i64::MIN)),
            i64::MAX as u64
        );
    }

    #[test]
    fn floors_negative_seconds() {
        assert_eq!(Timestamp(-1).as_secs(), -1);
        assert_eq!(Timestamp(1999).as_secs(), 1);
    }
}
