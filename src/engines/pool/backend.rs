//! One backend of the model: its configuration, health, latency and counters.

use serde::{Deserialize, Serialize};

use super::config::BackendConfig;
use super::health::{Health, HealthState, Latency};
use crate::engines::Timestamp;
use crate::engines::intern::key_hash;

/// Dense handle of a backend inside one pool (its interned name).
///
/// A removed and re-added name gets the same id back.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct BackendId(pub u32);

impl BackendId {
    /// Index into dense per-backend vectors.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Traffic counters of one backend, as the seed kept them (saturating).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendStats {
    /// Read operations.
    pub reads: u64,
    /// Write operations.
    pub writes: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Errors.
    pub errors: u64,
}

impl BackendStats {
    /// Count one read of `bytes`.
    pub fn record_read(&mut self, bytes: u64) {
        self.reads = self.reads.saturating_add(1);
        self.bytes_read = self.bytes_read.saturating_add(bytes);
    }

    /// Count one write of `bytes`.
    pub fn record_write(&mut self, bytes: u64) {
        self.writes = self.writes.saturating_add(1);
        self.bytes_written = self.bytes_written.saturating_add(bytes);
    }

    /// Count one error.
    pub fn record_error(&mut self) {
        self.errors = self.errors.saturating_add(1);
    }
}

/// A backend as the pool holds it; read it through the accessors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backend {
    pub(crate) config: BackendConfig,
    pub(crate) name_hash: u64,
    pub(crate) health: Health,
    pub(crate) latency: Latency,
    pub(crate) stats: BackendStats,
    pub(crate) drained: bool,
}

impl Backend {
    pub(crate) fn new(config: BackendConfig) -> Self {
        Self {
            name_hash: key_hash(&config.name),
            latency: Latency::with_prior(config.clean_prior()),
            health: Health::default(),
            stats: BackendStats::default(),
            drained: false,
            config,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &BackendConfig {
        &self.config
    }

    /// Its health state machine.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Shortcut for `health().state()`.
    pub fn state(&self) -> HealthState {
        self.health.state()
    }

    /// Its measured latency.
    pub fn latency(&self) -> &Latency {
        &self.latency
    }

    /// Its traffic counters.
    pub fn stats(&self) -> &BackendStats {
        &self.stats
    }

    /// True when drained in the what-if model (receives no new routes).
    pub fn is_drained(&self) -> bool {
        self.drained
    }

    /// Stable 64-bit hash of its name, the rendezvous-hashing identity.
    pub fn name_hash(&self) -> u64 {
        self.name_hash
    }

    /// True when no check arrived within two check intervals of `now`
    /// (never checked counts as overdue).
    pub fn check_overdue(&self, now: Timestamp, interval_ms: u64) -> bool {
        match self.health.last_check() {
            None => true,
            Some(t) => now.millis_since(t) > interval_ms.saturating_mul(2),
        }
    }
}
