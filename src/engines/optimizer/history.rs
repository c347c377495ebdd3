//! Decision history: a ring of at most `cap` decisions (seed: 1000) and the
//! seed's statistics over it, with every average guarded against an empty
//! or zero denominator.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::cost::CostModel;
use super::pattern::WorkloadPattern;
use super::perf::sane;
use super::rank::Recommendation;
use crate::engines::Timestamp;

/// A backend chosen for a workload, with what was predicted at the time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// When the decision was made.
    pub at: Timestamp,
    /// The chosen backend's id.
    pub backend: u32,
    /// The workload it was chosen for.
    pub workload_pattern: WorkloadPattern,
    /// Predicted latency (ms).
    pub predicted_latency_ms: f64,
    /// Predicted throughput (events/s).
    pub predicted_throughput_eps: f64,
    /// The cost breakdown.
    pub cost_model: CostModel,
    /// Confidence in [0, 1].
    pub confidence: f64,
    /// Why (free text for the UI).
    pub reason: String,
}

impl Decision {
    /// A decision taking `rec` for `pattern`.
    pub fn from_recommendation(
        rec: &Recommendation,
        pattern: &WorkloadPattern,
        at: Timestamp,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            at,
            backend: rec.backend,
            workload_pattern: pattern.clone(),
            predicted_latency_ms: rec.predicted_latency_ms,
            predicted_throughput_eps: rec.predicted_throughput_eps,
            cost_model: rec.cost,
            confidence: rec.confidence,
            reason: reason.into(),
        }
    }
}

/// Change between the oldest and the newest ten decisions, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Improvements {
    /// Latency drop (positive = faster); `None` with no older decisions or
    /// an older average of 0 (the seed divided by it).
    pub latency_percent: Option<f64>,
    /// Throughput gain; `None` likewise.
    pub throughput_percent: Option<f64>,
}

/// Decisions per backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendUsage {
    /// Backend id.
    pub backend: u32,
    /// Backend name.
    pub name: String,
    /// Decisions that chose it.
    pub decisions: usize,
}

/// The seed's optimization statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizationStats {
    /// Decisions held (at most the history cap).
    pub total_decisions: usize,
    /// Usage per backend, most used first, ties by name.
    pub backend_usage: Vec<BackendUsage>,
    /// Mean confidence; `None` with no decisions.
    pub average_confidence: Option<f64>,
    /// Oldest-vs-newest comparison.
    pub performance_improvements: Improvements,
    /// Backends with figures to rank.
    pub active_backends: usize,
    /// Time of the newest decision.
    pub last_optimization: Option<Timestamp>,
}

/// A ring of decisions.
#[derive(Debug, Clone)]
pub struct DecisionHistory {
    ring: VecDeque<Decision>,
    cap: usize,
}

/// How many decisions each side of the improvement comparison uses (seed).
const COMPARE: usize = 10;

impl DecisionHistory {
    /// An empty history holding at most `cap` decisions (at least 1).
    pub fn new(cap: usize) -> Self {
        Self {
            ring: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Appends a decision, dropping the oldest beyond the cap. Figures are
    /// clamped so the statistics stay finite.
    pub fn push(&mut self, mut d: Decision) {
        d.confidence = sane(d.confidence).unwrap_or(0.0).min(1.0);
        d.predicted_latency_ms = sane(d.predicted_latency_ms).unwrap_or(0.0);
        d.predicted_throughput_eps = sane(d.predicted_throughput_eps).unwrap_or(0.0);
        while self.ring.len() >= self.cap {
            self.ring.pop_front();
        }
        self.ring.push_back(d);
    }

    /// Decisions held, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Decision> + ExactSizeIterator {
        self.ring.iter()
    }

    /// Decisions held.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// The seed's statistics; `name` resolves backend ids.
    pub fn stats<'a>(
        &self,
        active_backends: usize,
        name: impl Fn(u32) -> &'a str,
    ) -> OptimizationStats {
        let mut usage: FxHashMap<u32, usize> = FxHashMap::default();
        for d in &self.ring {
            *usage.entry(d.backend).or_insert(0) += 1;
        }
        let mut backend_usage: Vec<BackendUsage> = usage
            .into_iter()
            .map(|(backend, decisions)| BackendUsage {
                backend,
                name: name(backend).to_owned(),
                decisions,
            })
            .collect();
        backend_usage.sort_by(|a, b| {
            b.decisions
                .cmp(&a.decisions)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.backend.cmp(&b.backend))
        });
        let n = self.ring.len();
        let average_confidence =
            (n > 0).then(|| self.ring.iter().map(|d| d.confidence).sum::<f64>() / n as f64);
        OptimizationStats {
            total_decisions: n,
            backend_usage,
            average_confidence,
            performance_improvements: self.improvements(),
            active_backends,
            last_optimization: self.ring.back().map(|d| d.at),
        }
    }

    /// The seed compared the newest ten decisions with the oldest
    /// `min(10, len - 10)`: with exactly ten there are no older ones (the
    /// seed divided by zero) and an older average of 0 is not a baseline.
    fn improvements(&self) -> Improvements {
        let n = self.ring.len();
        if n < COMPARE {
            return Improvements::default();
        }
        let older_n = COMPARE.min(n - COMPARE);
        if older_n == 0 {
            return Improvements::default();
        }
        let mean = |it: &mut dyn Iterator<Item = &Decision>, f: fn(&Decision) -> f64, k: usize| {
            it.map(f).sum::<f64>() / k as f64
        };
        let lat = |d: &Decision| d.predicted_latency_ms;
        let thr = |d: &Decision| d.predicted_throughput_eps;
        let recent_lat = mean(&mut self.ring.iter().skip(n - COMPARE), lat, COMPARE);
        let older_lat = mean(&mut self.ring.iter().take(older_n), lat, older_n);
        let recent_thr = mean(&mut self.ring.iter().skip(n - COMPARE), thr, COMPARE);
        let older_thr = mean(&mut self.ring.iter().take(older_n), thr, older_n);
        let pct =
            |num: f64, base: f64| Some(num / base * 100.0).filter(|v| base > 0.0 && v.is_finite());
        Improvements {
            latency_percent: pct(older_lat - recent_lat, older_lat),
            throughput_percent: pct(recent_thr - older_thr, older_thr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(i: i64, backend: u32, latency: f64, throughput: f64) -> Decision {
        Decision {
            at: Timestamp::from_secs(i),
            backend,
            workload_pattern: WorkloadPattern::default(),
            predicted_latency_ms: latency,
            predicted_throughput_eps: throughput,
            cost_model: CostModel::default(),
            confidence: 0.5,
            reason: String::new(),
        }
    }

    #[test]
    fn seed_history_cap_is_a_ring() {
        let mut h = DecisionHistory::new(1000);
        for i in 0..1500 {
            h.push(decision(i, 0, 1.0, 1.0));
        }
        assert_eq!(h.len(), 1000);
        assert_eq!(
            h.iter().next().map(|d| d.at),
            Some(Timestamp::from_secs(500))
        );
        assert_eq!(
            h.iter().last().map(|d| d.at),
            Some(Timestamp::from_secs(1499))
        );
    }

    #[test]
    fn fixes_seed_improvements_divide_by_empty_or_zero_baseline() {
        let mut h = DecisionHistory::new(1000);
        for i in 0..10 {
            h.push(decision(i, 0, 10.0, 10.0));
        }
        // Exactly ten: the seed averaged an empty older slice (0 / 0).
        assert_eq!(
            h.stats(1, |_| "a").performance_improvements,
            Improvements::default()
        );
        let mut h = DecisionHistory::new(1000);
        for i in 0..20 {
            h.push(decision(i, 0, 0.0, 0.0));
        }
        let imp = h.stats(1, |_| "a").performance_improvements;
        assert_eq!(imp.latency_percent, None);
        assert_eq!(imp.throughput_percent, None);
    }

    #[test]
    fn seed_improvements_compare_oldest_and_newest_ten() {
        let mut h = DecisionHistory::new(1000);
        for i in 0..10 {
            h.push(decision(i, 0, 100.0, 1000.0));
        }
        for i in 10..15 {
            h.push(decision(i, 1, 70.0, 1200.0));
        }
        for i in 15..25 {
            h.push(decision(i, 1, 50.0, 1500.0));
        }
        let imp = h.stats(2, |_| "x").performance_improvements;
        assert_eq!(imp.latency_percent, Some(50.0));
        assert_eq!(imp.throughput_percent, Some(50.0));
    }

    #[test]
    fn stats_usage_and_confidence() {
        let mut h = DecisionHistory::new(10);
        assert_eq!(h.stats(0, |_| "").average_confidence, None);
        h.push(decision(1, 1, 1.0, 1.0));
        h.push(decision(2, 0, 1.0, 1.0));
        h.push(Decision {
            confidence: f64::NAN,
            ..decision(3, 2, f64::INFINITY, f64::NAN)
        });
        h.push(decision(4, 2, 1.0, 1.0));
        let names = ["b", "a", "c"];
        let s = h.stats(3, |id| names.get(id as usize).copied().unwrap_or(""));
        assert_eq!(s.total_decisions, 4);
        let order: Vec<(&str, usize)> = s
            .backend_usage
            .iter()
            .map(|u| (u.name.as_str(), u.decisions))
            .collect();
        assert_eq!(order, vec![("c", 2), ("a", 1), ("b", 1)]);
        assert_eq!(s.average_confidence, Some(1.5 / 4.0));
        assert_eq!(s.last_optimization, Some(Timestamp::from_secs(4)));
        assert_eq!(s.active_backends, 3);
    }
}
