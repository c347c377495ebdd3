//! heliostat: a terminal console for the cache layer of a data platform.
//!
//! Layout (see `docs/ARCHITECTURE.md`): `engines` are pure state machines fed
//! by samples; sources, ops and the UI are built on top of them.

pub mod engines;
