//! Sources talk to the outside world (or simulate it) and send `Sample`s.

pub mod demo;
pub mod events;
pub mod postgres;
pub mod redis;
