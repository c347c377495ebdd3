//! Ranking: every backend with figures gets a predicted latency (from its
//! fitted model, or its EWMA when there is no fit), the seed's cost and
//! score, a confidence and remarks, sorted best first with a total order.
//!
//! Nothing heavy runs here (no sorting of sample windows, no refits): the
//! percentiles and fits are maintained at `observe` / `refresh` time.

use serde::{Deserialize, Serialize};

use super::cost::{self, CostModel, Figures};
use super::kind::BackendKind;
use super::pattern::WorkloadPattern;
use super::perf::{FigureSource, sane};
use super::remark::Remark;
use super::{BackendState, Optimizer};
use crate::engines::{Timestamp, cmp_f64};

/// Where a recommendation's latency figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PredictionSource {
    /// The backend's `LinearLatencyModel` at the workload's rate and size.
    Model,
    /// The EWMA of measurements (no fit yet, or prediction disabled).
    Ewma,
    /// Figures the user declared.
    Declared,
}

/// One ranked backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Backend id.
    pub backend: u32,
    /// Backend name.
    pub name: String,
    /// Backend kind.
    pub kind: BackendKind,
    /// The seed's weighted score in [0, 1]; higher is better.
    pub score: f64,
    /// Predicted typical latency (ms).
    pub predicted_latency_ms: f64,
    /// Predicted tail latency (ms): the model's latency plus the measured
    /// p99 − p50 spread, or the measured p99.
    pub predicted_p99_ms: f64,
    /// Predicted throughput (events/s): the EWMA or declared figure.
    pub predicted_throughput_eps: f64,
    /// The cost model's total.
    pub predicted_cost: f64,
    /// The cost breakdown.
    pub cost: CostModel,
    /// Confidence in [0, 1] (samples and recency).
    pub confidence: f64,
    /// Why it fits the workload.
    pub strengths: Vec<Remark>,
    /// Why it may not.
    pub weaknesses: Vec<Remark>,
    /// Where the latency figure comes from.
    pub predicted_by: PredictionSource,
    /// R² of the fit when the model predicted.
    pub model_r2: Option<f64>,
    /// Why the backend is not measured now (down, stale figures): it ranks
    /// after every available backend, whatever its score.
    #[serde(default)]
    pub unavailable: Option<String>,
}

impl Optimizer {
    /// Every backend with figures, best first (available before
    /// unavailable, then score descending, ties by name, then id). Backends
    /// never observed nor declared are left out.
    pub fn rank(&self, pattern: &WorkloadPattern, now: Timestamp) -> Vec<Recommendation> {
        let mut out: Vec<Recommendation> = self
            .backends
            .iter()
            .enumerate()
            .filter_map(|(id, st)| self.recommend(id as u32, st, pattern, now))
            .collect();
        out.sort_by(|a, b| {
            a.unavailable
                .is_some()
                .cmp(&b.unavailable.is_some())
                .then_with(|| cmp_f64(b.score, a.score))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.backend.cmp(&b.backend))
        });
        out
    }

    fn recommend(
        &self,
        id: u32,
        st: &BackendState,
        pattern: &WorkloadPattern,
        now: Timestamp,
    ) -> Option<Recommendation> {
        let ewma_latency = st.latency.get()?;
        let measured = st.window.percentiles();
        let p99 = st
            .declared_p99
            .or(measured.map(|p| p.p99))
            .unwrap_or(ewma_latency);
        let mut latency = (ewma_latency, p99);
        let mut predicted_by = match st.source {
            FigureSource::Declared => PredictionSource::Declared,
            _ => PredictionSource::Ewma,
        };
        let mut model_r2 = None;
        if st.source == FigureSource::Measured && self.config.enable_ml_prediction {
            let x = [
                sane(pattern.event_rate).unwrap_or(0.0),
                pattern.event_size_bytes as f64,
            ];
            if let Some((fit, y)) = st.model.fit().and_then(|f| Some((f, f.predict(x)?))) {
                let spread = measured.map_or(0.0, |p| (p.p99 - p.p50).max(0.0));
                latency = (y, sane(y + spread).unwrap_or(y));
                predicted_by = PredictionSource::Model;
                model_r2 = Some(fit.r2);
            }
        }
        let figures = Figures {
            kind: st.kind,
            latency_ms: latency.0,
            p99_ms: latency.1,
            throughput_eps: st.throughput.get().unwrap_or(0.0),
            reliability: st.reliability.get().unwrap_or(0.0),
            resources: st.resources,
            base_cost: st.cost_per_hour.unwrap_or_else(|| st.kind.baseline_cost()),
            setup_complexity: st.setup_complexity,
        };
        let cost = cost::cost(&figures, pattern, &self.weights);
        let score = cost::score(&figures, &cost, pattern, &self.weights);
        let mut strengths = Vec::with_capacity(8);
        let mut weaknesses = Vec::with_capacity(8);
        st.kind.strengths(pattern, &mut strengths);
        st.kind.weaknesses(pattern, &mut weaknesses);
        cost::measured_remarks(&figures, pattern, &mut strengths, &mut weaknesses);
        if st.source == FigureSource::Declared {
            weaknesses.push(Remark::text("figures declared, not measured"));
        }
        Some(Recommendation {
            backend: id,
            name: self.names.name(id).to_owned(),
            kind: st.kind,
            score,
            predicted_latency_ms: figures.latency_ms,
            predicted_p99_ms: figures.p99_ms,
            predicted_throughput_eps: figures.throughput_eps,
            predicted_cost: cost.total_cost,
            cost,
            confidence: cost::confidence(st.sample_count, st.last_updated, now),
            strengths,
            weaknesses,
            predicted_by,
            model_r2,
            unavailable: st.unavailable.clone(),
        })
    }
}
