//! What the warming engine last learned about a key, and how long that
//! holds: a TTL holds until it runs out (then the key is missing), a key
//! seen missing is missing for two refresh intervals, a key seen present
//! without a TTL (or warmed by us) is present for the longer of two
//! intervals and the decay half-life. Past that the key's presence is
//! unknown again, and a hot key becomes "predicted": candidates change
//! reason as knowledge ages instead of vanishing and coming back with
//! each key-sampler pass.

use super::candidate::{Signal, TtlState};
use crate::engines::Timestamp;

/// Last thing known about a probed key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Probe {
    Ttl(TtlState),
    /// We wrote it ourselves; no candidate until a newer probe or staleness.
    Warmed,
}

#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub probe: Probe,
    pub at: Timestamp,
    pub name: Option<Box<str>>,
    /// Which signal told.
    pub signal: Signal,
}

/// What an observation says at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// There (and not expiring soon).
    Present,
    /// Expiring in this many ms, under the refresh threshold.
    Expiring(u64),
    /// Seen missing, or its TTL ran out.
    Missing,
    /// Too old to say.
    Unknown,
}

/// How long each kind of knowledge holds, ms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Horizon {
    /// A key seen missing stays missing this long (two refresh intervals).
    pub missing_ms: u64,
    /// A key seen present without a TTL (or warmed) stays present this long.
    pub present_ms: u64,
    /// Keys expiring in less than this are refresh candidates.
    pub threshold_ms: u64,
}

impl Observation {
    /// What it says at `now`.
    pub fn known(&self, now: Timestamp, h: Horizon) -> Known {
        let age = now.millis_since(self.at);
        match self.probe {
            Probe::Ttl(TtlState::Missing) if age <= h.missing_ms => Known::Missing,
            Probe::Ttl(TtlState::ExpiresIn(ms)) if age < ms => match ms - age {
                left if left < h.threshold_ms => Known::Expiring(left),
                _ => Known::Present,
            },
            // Its TTL ran out: missing since then, for as long as a key
            // seen missing is.
            Probe::Ttl(TtlState::ExpiresIn(ms)) if age - ms <= h.missing_ms => Known::Missing,
            Probe::Ttl(TtlState::Persistent) | Probe::Warmed if age <= h.present_ms => {
                Known::Present
            }
            _ => Known::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_secs(1_700_000_000);
    const H: Horizon = Horizon {
        missing_ms: 120_000,
        present_ms: 600_000,
        threshold_ms: 300_000,
    };

    fn obs(probe: Probe) -> Observation {
        Observation {
            probe,
            at: T0,
            name: None,
            signal: Signal::SamplerTtl,
        }
    }

    #[test]
    fn a_ttl_holds_until_it_runs_out_then_the_key_is_missing_for_a_while() {
        let o = obs(Probe::Ttl(TtlState::ExpiresIn(400_000)));
        assert_eq!(o.known(T0, H), Known::Present);
        assert_eq!(o.known(T0.add_secs(150), H), Known::Expiring(250_000));
        // Long after the sighting, but before the TTL ran out: still known.
        assert_eq!(o.known(T0.add_secs(399), H), Known::Expiring(1_000));
        assert_eq!(o.known(T0.add_secs(400), H), Known::Missing);
        assert_eq!(o.known(T0.add_secs(520), H), Known::Missing);
        assert_eq!(o.known(T0.add_secs(521), H), Known::Unknown);
    }

    #[test]
    fn missing_and_present_sightings_age_into_unknown() {
        let m = obs(Probe::Ttl(TtlState::Missing));
        assert_eq!(m.known(T0.add_secs(120), H), Known::Missing);
        assert_eq!(m.known(T0.add_secs(121), H), Known::Unknown);
        for p in [Probe::Ttl(TtlState::Persistent), Probe::Warmed] {
            let o = obs(p);
            assert_eq!(o.known(T0.add_secs(600), H), Known::Present);
            assert_eq!(o.known(T0.add_secs(601), H), Known::Unknown);
        }
        // Time going backwards is not a sighting from the future.
        assert_eq!(m.known(T0.add_secs(-5), H), Known::Missing);
    }
}
