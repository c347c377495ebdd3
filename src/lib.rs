//! heliostat: a terminal console for the cache layer of a data platform.
//!
//! Layout (see `docs/ARCHITECTURE.md`): `sources` send `sample::Sample`s,
//! `engines` are pure state machines fed by them, `ops` do effects, `ui`
//! renders from state.

pub mod engines;
pub mod sample;
pub mod sources;
