//! Cache warming from the database into Redis: key patterns of warm rules
//! (`pattern`) and the writer with its safety modes (`write`).

pub mod dry;
pub mod job;
pub mod pattern;
pub mod pg;
pub mod rules;
pub mod slot;
pub mod target;
pub mod write;
