//! The backend optimizer: tracks each backend instance (a monitored Redis
//! node, a Postgres primary or replica, or a streaming backend a user
//! declared with static figures), analyses the workload from the events'
//! own timestamps, and ranks backends with the seed's cost model and score.
//!
//! Seed behaviour kept: EWMA (α = 0.1) of latency, throughput and
//! reliability; the six workload classes and their thresholds; the cost
//! model with weights 0.3 / 0.3 / 0.3 / 0.1; confidence from samples and
//! recency; strengths and weaknesses per kind; a decision history of at
//! most 1000. Defects fixed: NaN-safe ordering, no division by a zero event
//! rate, inter-arrival intervals from event timestamps, measured
//! percentiles, a real least-squares latency fit, bounded memory throughout.

mod analyzer;
mod cost;
mod history;
mod kind;
mod model;
mod pattern;
mod perf;
mod rank;
mod remark;

pub use analyzer::{PatternAnalyzer, PatternConfig};
pub use cost::{CostModel, Figures, Weights, confidence, cost, measured_remarks, score};
pub use history::{BackendUsage, Decision, DecisionHistory, Improvements, OptimizationStats};
pub use kind::BackendKind;
pub use model::{FEATURES, LinearFit, LinearLatencyModel, solve};
pub use pattern::{
    ConsistencyLevel, DEFAULT_EVENT_SIZE_BYTES, PatternType, Seasonality, TemporalDistribution,
    WorkloadPattern, batch_size_for_rate, classify, temporal_from_moments,
};
pub use perf::{
    BackendPerformance, Ewma, FigureSource, LatencyWindow, MAX_FIGURE, Measurement, Percentiles,
    ResourceUsage, StaticFigures,
};
pub use rank::{PredictionSource, Recommendation};
pub use remark::{REALTIME_P99_TARGET_MS, Remark};

use serde::{Deserialize, Serialize};

use crate::engines::Timestamp;
use crate::engines::intern::Interner;
use perf::sane;

/// Optimizer settings (serde: part of the config file and of recordings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// Use each backend's latency fit when it has one (seed flag).
    pub enable_ml_prediction: bool,
    /// Points needed before a backend's latency is fitted (seed: 100).
    pub min_samples_for_prediction: usize,
    /// Score weight of latency (seed: 0.3).
    pub cost_weight_latency: f64,
    /// Score weight of throughput (seed: 0.3).
    pub cost_weight_throughput: f64,
    /// Score weight of reliability (seed: 0.3).
    pub cost_weight_reliability: f64,
    /// Score weight of resource usage / cost (seed: 0.1).
    pub cost_weight_resource_usage: f64,
    /// EWMA smoothing factor (seed: 0.1).
    pub ewma_alpha: f64,
    /// Recent latency samples kept per backend for percentiles.
    pub latency_window: usize,
    /// Points kept per backend for the latency fit.
    pub model_history: usize,
    /// New points that trigger a refit during `observe` (`refresh` refits
    /// whenever anything is new).
    pub refit_every: u32,
    /// Ridge term on the standardized features (keeps the system solvable).
    pub ridge: f64,
    /// Decisions kept (seed: 1000).
    pub max_decisions: usize,
    /// Workload analysis settings.
    pub pattern: PatternConfig,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            enable_ml_prediction: true,
            min_samples_for_prediction: 100,
            cost_weight_latency: 0.3,
            cost_weight_throughput: 0.3,
            cost_weight_reliability: 0.3,
            cost_weight_resource_usage: 0.1,
            ewma_alpha: 0.1,
            latency_window: 256,
            model_history: 1000,
            refit_every: 16,
            ridge: 1e-6,
            max_decisions: 1000,
            pattern: PatternConfig::default(),
        }
    }
}

/// Everything tracked for one backend.
#[derive(Debug, Clone)]
struct BackendState {
    kind: BackendKind,
    source: FigureSource,
    latency: Ewma,
    throughput: Ewma,
    reliability: Ewma,
    window: LatencyWindow,
    declared_p99: Option<f64>,
    resources: ResourceUsage,
    cost_per_hour: Option<f64>,
    setup_complexity: u8,
    sample_count: u64,
    last_updated: Option<Timestamp>,
    model: LinearLatencyModel,
    /// Why its figures are not current (down, silent), if they are not.
    unavailable: Option<String>,
}

/// The seed's default setup complexity (maintenance cost 0.5).
const DEFAULT_SETUP_COMPLEXITY: u8 = 5;

/// The optimizer engine. Backends are identified by dense `u32` ids
/// assigned in registration order.
#[derive(Debug, Clone)]
pub struct Optimizer {
    config: OptimizerConfig,
    weights: Weights,
    alpha: f64,
    names: Interner,
    backends: Vec<BackendState>,
    analyzer: PatternAnalyzer,
    history: DecisionHistory,
}

impl Default for Optimizer {
    fn default() -> Self {
        Self::new(OptimizerConfig::default())
    }
}

impl Optimizer {
    /// An optimizer with no backends; unusable settings are clamped (α to
    /// (0, 1], sizes to at least 1, weights as [`Weights::sanitized`]).
    pub fn new(mut config: OptimizerConfig) -> Self {
        let weights = Weights {
            latency: config.cost_weight_latency,
            throughput: config.cost_weight_throughput,
            reliability: config.cost_weight_reliability,
            resource_usage: config.cost_weight_resource_usage,
        }
        .sanitized();
        let alpha = if config.ewma_alpha.is_finite() && config.ewma_alpha > 0.0 {
            config.ewma_alpha.min(1.0)
        } else {
            0.1
        };
        config.latency_window = config.latency_window.clamp(1, 65_536);
        config.model_history = config.model_history.clamp(2, 100_000);
        config.refit_every = config.refit_every.max(1);
        let analyzer = PatternAnalyzer::new(config.pattern.clone());
        let history = DecisionHistory::new(config.max_decisions);
        Self {
            config,
            weights,
            alpha,
            names: Interner::new(),
            backends: Vec::new(),
            analyzer,
            history,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The sanitized score weights.
    pub fn weights(&self) -> Weights {
        self.weights
    }

    /// The id of `name`, registering it as `kind` if new; an existing
    /// backend keeps its figures and takes the new kind.
    pub fn register(&mut self, name: &str, kind: BackendKind) -> u32 {
        let id = self.names.intern(name);
        match self.backends.get_mut(id as usize) {
            Some(st) => st.kind = kind,
            None => self.backends.push(BackendState {
                kind,
                source: FigureSource::None,
                latency: Ewma::default(),
                throughput: Ewma::default(),
                reliability: Ewma::default(),
                window: LatencyWindow::new(self.config.latency_window),
                declared_p99: None,
                resources: ResourceUsage::default(),
                cost_per_hour: None,
                setup_complexity: DEFAULT_SETUP_COMPLEXITY,
                sample_count: 0,
                last_updated: None,
                model: LinearLatencyModel::new(self.config.model_history),
                unavailable: None,
            }),
        }
        id
    }

    /// Declares a backend heliostat does not monitor (e.g. a Kafka cluster)
    /// with static figures. A later `observe` replaces them with
    /// measurements (the declared cost per hour is kept).
    pub fn declare_static(
        &mut self,
        name: &str,
        kind: BackendKind,
        figures: StaticFigures,
        now: Timestamp,
    ) -> u32 {
        let id = self.register(name, kind);
        if let Some(st) = self.backends.get_mut(id as usize) {
            st.source = FigureSource::Declared;
            st.latency.set(figures.latency_ms);
            st.declared_p99 = figures
                .latency_p99_ms
                .and_then(sane)
                .or_else(|| sane(figures.latency_ms));
            st.throughput.set(figures.throughput_eps);
            st.reliability.set(figures.reliability.clamp(0.0, 1.0));
            st.cost_per_hour = figures.cost_per_hour.and_then(sane);
            st.last_updated = Some(now);
        }
        id
    }

    /// Folds a measurement into backend `id` (false for an unknown id).
    /// NaN fields are ignored, others clamped to `[0, MAX_FIGURE]`
    /// (success rate to [0, 1]); the first sample initialises each EWMA.
    pub fn observe(&mut self, id: u32, m: &Measurement, now: Timestamp) -> bool {
        let Some(st) = self.backends.get_mut(id as usize) else {
            return false;
        };
        let a = self.alpha;
        if st.source == FigureSource::Declared {
            st.latency = Ewma::default();
            st.throughput = Ewma::default();
            st.reliability = Ewma::default();
            st.declared_p99 = None;
        }
        st.source = FigureSource::Measured;
        st.latency.update(m.latency_ms, a);
        if let Some(l) = sane(m.latency_ms) {
            st.window.push(l);
        }
        st.throughput.update(m.throughput_eps, a);
        if !m.success_rate.is_nan() {
            st.reliability.update(m.success_rate.clamp(0.0, 1.0), a);
        }
        let r = |x: f64| sane(x).unwrap_or(0.0);
        st.resources = ResourceUsage {
            cpu_usage_percent: r(m.cpu_percent),
            memory_usage_mb: r(m.memory_mb),
            network_usage_mbps: r(m.network_mbps),
            disk_io_ops_per_sec: r(m.disk_iops),
            connection_count: m.connections,
        };
        st.sample_count = st.sample_count.saturating_add(1);
        st.last_updated = Some(st.last_updated.map_or(now, |t| t.max(now)));
        if !self.config.enable_ml_prediction {
            return true;
        }
        st.model
            .push([m.throughput_eps, m.event_size_bytes], m.latency_ms);
        let min = self.config.min_samples_for_prediction;
        let due = st.model.new_since_fit() >= self.config.refit_every
            || (st.model.fit().is_none() && st.model.len() >= min);
        if st.model.is_dirty() && due {
            st.model.refit(min, self.config.ridge);
        }
        true
    }

    /// Once per data tick: selects each backend's latency percentiles (kept
    /// until its next sample) and refits every model that has new points;
    /// cheap when nothing changed.
    pub fn refresh(&mut self) {
        let (min, ridge) = (self.config.min_samples_for_prediction, self.config.ridge);
        let fit = self.config.enable_ml_prediction;
        for st in &mut self.backends {
            st.window.settle();
            if fit {
                st.model.refit(min, ridge);
            }
        }
    }

    /// Marks backend `id` as not measured now (`Some(why)`: down, or its
    /// figures stale), or as current again (`None`). An unavailable backend
    /// ranks after every available one, with the reason: its last figures
    /// describe a past it is no longer in. The caller decides from the time
    /// it passes (the engine reads no clock).
    pub fn set_unavailable(&mut self, id: u32, why: Option<String>) {
        if let Some(st) = self.backends.get_mut(id as usize) {
            st.unavailable = why;
        }
    }

    /// Sets the hourly cost of backend `id` (`None`: the kind's baseline).
    pub fn set_cost_per_hour(&mut self, id: u32, cost: Option<f64>) {
        if let Some(st) = self.backends.get_mut(id as usize) {
            st.cost_per_hour = cost.and_then(sane);
        }
    }

    /// Sets the seed's setup complexity (0–10) of backend `id`.
    pub fn set_setup_complexity(&mut self, id: u32, complexity: u8) {
        if let Some(st) = self.backends.get_mut(id as usize) {
            st.setup_complexity = complexity.min(10);
        }
    }

    /// The id of a registered name.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.names.get(name)
    }

    /// The name of `id` ("" when unknown).
    pub fn name(&self, id: u32) -> &str {
        self.names.name(id)
    }

    /// Backends registered.
    pub fn len(&self) -> usize {
        self.backends.len()
    }

    /// True when no backend is registered.
    pub fn is_empty(&self) -> bool {
        self.backends.is_empty()
    }

    /// A snapshot of backend `id`'s figures.
    pub fn performance(&self, id: u32) -> Option<BackendPerformance> {
        let st = self.backends.get(id as usize)?;
        let percentiles = match st.declared_p99 {
            Some(p99) => st.latency.get().map(|l| Percentiles {
                p50: l,
                p95: p99.max(l),
                p99: p99.max(l),
                samples: 0,
            }),
            None => st.window.percentiles(),
        };
        Some(BackendPerformance {
            name: self.names.name(id).to_owned(),
            kind: st.kind,
            source: st.source,
            latency_ewma_ms: st.latency.get(),
            percentiles,
            throughput_eps: st.throughput.get(),
            reliability: st.reliability.get(),
            resource_usage: st.resources,
            cost_per_hour: st.cost_per_hour,
            setup_complexity: st.setup_complexity,
            sample_count: st.sample_count,
            last_updated: st.last_updated,
        })
    }

    /// Backend `id`'s latency model (for showing the fit).
    pub fn model(&self, id: u32) -> Option<&LinearLatencyModel> {
        self.backends.get(id as usize).map(|st| &st.model)
    }

    /// The workload analyzer (read side).
    pub fn analyzer(&self) -> &PatternAnalyzer {
        &self.analyzer
    }

    /// The workload analyzer, to record events into.
    pub fn analyzer_mut(&mut self) -> &mut PatternAnalyzer {
        &mut self.analyzer
    }

    /// The workload over the analysis window ending at `now`.
    pub fn workload(&self, now: Timestamp) -> WorkloadPattern {
        self.analyzer.analyze(now)
    }

    /// Records a decision (the oldest beyond the cap is dropped).
    pub fn record_decision(&mut self, decision: Decision) {
        self.history.push(decision);
    }

    /// The decision history, oldest first.
    pub fn history(&self) -> &DecisionHistory {
        &self.history
    }

    /// The seed's statistics over the decision history.
    pub fn stats(&self) -> OptimizationStats {
        let active = self
            .backends
            .iter()
            .filter(|st| st.latency.get().is_some())
            .count();
        self.history.stats(active, |id| self.names.name(id))
    }
}

#[cfg(test)]
mod tests;
