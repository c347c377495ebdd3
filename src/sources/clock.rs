//! The wall clock, read where the world is observed: sources stamp what
//! they saw, ops when they started, the live loop its ticks. Engines never
//! read it (time is their parameter), and it lives here rather than in a
//! leaf because its answer is the engines' `Timestamp`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::engines::Timestamp;

/// Wall-clock time now, unix ms (0 before the epoch).
pub fn wall_now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_clock_is_after_2020() {
        assert!(wall_now().as_millis() > 1_577_836_800_000);
    }
}
