//! heliostat: a terminal console for the cache layer of a data platform.
//!
//! Layout (see `docs/ARCHITECTURE.md`): `sources` send `sample::Sample`s,
//! `engines` are pure state machines fed by them, `app` holds state and maps
//! actions to effects, `ui` renders from state.

pub mod action;
pub mod app;
pub mod cli;
pub mod config;
pub mod engines;
pub mod export;
pub mod fault;
pub mod files;
pub mod keymap;
pub mod ops;
pub mod redact;
pub mod sample;
pub mod snapshot;
pub mod sort;
pub mod sources;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod ui;
pub mod units;

#[cfg(test)]
mod layering_tests;
