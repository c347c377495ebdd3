//! Cache warming from the database into Redis: rules, the executor and
//! its target, dry runs, and the console's warm service.

pub mod console;
pub mod dry;
pub mod job;
pub mod latency;
pub mod log;
pub mod pattern;
pub mod pg;
pub mod report;
pub mod rules;
pub mod slot;
pub mod target;
pub mod write;
