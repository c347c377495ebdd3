//! `LinearLatencyModel`: an ordinary least-squares fit (with a small ridge
//! term) of a backend's latency against its load and the event size.
//!
//! The seed's "ML predictor" averaged past latencies and set coefficients to
//! 0.1 × a correlation, which is not a fit. Here the normal equations of the
//! standardized features are solved by Gaussian elimination with partial
//! pivoting; a singular system yields no fit (and the EWMA figures are used),
//! never a panic. The history is bounded and the fit is cached until new
//! points arrive.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::perf::sane;

/// Number of features: load (events/s) and event size (bytes).
pub const FEATURES: usize = 2;

/// A fitted model: `latency = intercept + Σ coefficients[j] · x[j]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearFit {
    /// Latency at zero load and zero size (ms).
    pub intercept: f64,
    /// ms per unit of each feature (load, size).
    pub coefficients: [f64; FEATURES],
    /// Coefficient of determination on the training points, in [0, 1].
    pub r2: f64,
    /// Root mean squared residual (ms).
    pub rmse: f64,
    /// Points the fit used.
    pub points: usize,
    /// Smallest value of each feature in the training points.
    pub x_min: [f64; FEATURES],
    /// Largest value of each feature in the training points.
    pub x_max: [f64; FEATURES],
}

impl LinearFit {
    /// The predicted latency at `x`, clamped to `[0, MAX_FIGURE]`; `None`
    /// if the inputs or the result are not numbers. Each feature is clamped
    /// to the range seen in training: a straight line fitted on 80 ops/s says
    /// nothing about 2,000 ops/s, so the model never extrapolates.
    pub fn predict(&self, x: [f64; FEATURES]) -> Option<f64> {
        let mut y = self.intercept;
        for (j, (c, v)) in self.coefficients.iter().zip(x).enumerate() {
            let v = sane(v)?.clamp(self.x_min[j], self.x_max[j].max(self.x_min[j]));
            y += c * v;
        }
        if y.is_finite() { sane(y) } else { None }
    }
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting.
/// `None` when the matrix is singular (pivot below `1e-12` of the scale).
pub fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
    let scale = a
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..N {
        let pivot =
            (col..N).max_by(|&i, &j| crate::engines::cmp_f64(a[i][col].abs(), a[j][col].abs()))?;
        let pv = a[pivot][col];
        if !pv.is_finite() || pv.abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..N {
            let f = a[row][col] / pv;
            let pivot_row = a[col];
            for (dst, src) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *dst -= f * src;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let mut s = b[row];
        for k in row + 1..N {
            s -= a[row][k] * x[k];
        }
        x[row] = s / a[row][row];
        if !x[row].is_finite() {
            return None;
        }
    }
    Some(x)
}

/// A bounded history of (features, latency) points with a cached fit.
#[derive(Debug, Clone)]
pub struct LinearLatencyModel {
    points: VecDeque<([f64; FEATURES], f64)>,
    cap: usize,
    dirty: bool,
    new_since_fit: u32,
    fit: Option<LinearFit>,
}

impl LinearLatencyModel {
    /// An empty model keeping at most `cap` points (at least 2).
    pub fn new(cap: usize) -> Self {
        Self {
            points: VecDeque::new(),
            cap: cap.max(2),
            dirty: false,
            new_since_fit: 0,
            fit: None,
        }
    }

    /// Adds a point; NaN inputs are rejected (returns false).
    pub fn push(&mut self, x: [f64; FEATURES], latency_ms: f64) -> bool {
        let (Some(a), Some(b), Some(y)) = (sane(x[0]), sane(x[1]), sane(latency_ms)) else {
            return false;
        };
        if self.points.len() >= self.cap {
            self.points.pop_front();
        }
        self.points.push_back(([a, b], y));
        self.dirty = true;
        self.new_since_fit = self.new_since_fit.saturating_add(1);
        true
    }

    /// Points held.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when no point is held.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// True when points arrived since the last fit.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Points added since the last fit.
    pub fn new_since_fit(&self) -> u32 {
        self.new_since_fit
    }

    /// The cached fit, if one was made.
    pub fn fit(&self) -> Option<&LinearFit> {
        self.fit.as_ref()
    }

    /// Refits when new points arrived and at least `min_samples` are held;
    /// below that the model has no fit. Returns true if a fit was computed.
    pub fn refit(&mut self, min_samples: usize, ridge: f64) -> bool {
        if !self.dirty {
            return false;
        }
        self.dirty = false;
        self.new_since_fit = 0;
        if self.points.len() < min_samples.max(2) {
            self.fit = None;
            return false;
        }
        self.fit = self.compute(ridge);
        self.fit.is_some()
    }

    fn compute(&self, ridge: f64) -> Option<LinearFit> {
        let n = self.points.len() as f64;
        let mut mx = [0.0; FEATURES];
        let mut my = 0.0;
        for (x, y) in &self.points {
            for j in 0..FEATURES {
                mx[j] += x[j];
            }
            my += y;
        }
        mx = mx.map(|v| v / n);
        my /= n;
        let mut sx = [0.0; FEATURES];
        for (x, _) in &self.points {
            for j in 0..FEATURES {
                sx[j] += (x[j] - mx[j]).powi(2) / n;
            }
        }
        // A constant feature gets scale 1: its column is all zeros and the
        // ridge term pins its coefficient to 0.
        let mut sd = [1.0; FEATURES];
        for j in 0..FEATURES {
            let v = sx[j].sqrt();
            // Rounding noise around a constant is not spread.
            if v > 1e-9 * mx[j].abs().max(1.0) {
                sd[j] = v;
            }
        }
        let lambda = if ridge.is_finite() && ridge > 0.0 {
            ridge
        } else {
            1e-9
        };
        let mut a = [[0.0; FEATURES]; FEATURES];
        let mut b = [0.0; FEATURES];
        for (x, y) in &self.points {
            let z: [f64; FEATURES] = std::array::from_fn(|j| (x[j] - mx[j]) / sd[j]);
            for i in 0..FEATURES {
                for k in 0..FEATURES {
                    a[i][k] += z[i] * z[k];
                }
                b[i] += z[i] * (y - my);
            }
        }
        for (i, row) in a.iter_mut().enumerate() {
            row[i] += lambda * n;
        }
        let beta = solve(a, b)?;
        let coefficients: [f64; FEATURES] = std::array::from_fn(|j| beta[j] / sd[j]);
        let intercept = my - (0..FEATURES).map(|j| coefficients[j] * mx[j]).sum::<f64>();
        let mut x_min = [f64::INFINITY; FEATURES];
        let mut x_max = [f64::NEG_INFINITY; FEATURES];
        for (x, _) in &self.points {
            for j in 0..FEATURES {
                x_min[j] = x_min[j].min(x[j]);
                x_max[j] = x_max[j].max(x[j]);
            }
        }
        let mut fit = LinearFit {
            intercept,
            coefficients,
            r2: 0.0,
            rmse: 0.0,
            points: self.points.len(),
            x_min,
            x_max,
        };
        let (mut ss_res, mut ss_tot) = (0.0, 0.0);
        for (x, y) in &self.points {
            let raw = intercept + coefficients.iter().zip(x).map(|(c, v)| c * v).sum::<f64>();
            ss_res += (y - raw).powi(2);
            ss_tot += (y - my).powi(2);
        }
        fit.rmse = (ss_res / n).sqrt();
        // Rounding noise around a constant latency is not variance to explain.
        let tol = 1e-12 * n * (1.0 + my * my);
        fit.r2 = if ss_tot > tol {
            (1.0 - ss_res / ss_tot).clamp(0.0, 1.0)
        } else if ss_res <= tol {
            1.0
        } else {
            0.0
        };
        let finite = fit.intercept.is_finite()
            && fit.coefficients.iter().all(|c| c.is_finite())
            && fit.rmse.is_finite()
            && fit.r2.is_finite();
        finite.then_some(fit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_seed_predictor_not_a_fit() {
        // latency = 2 + 0.01·rate + 0.003·size, exactly.
        let mut m = LinearLatencyModel::new(1000);
        for i in 0..200 {
            let rate = 100.0 + (i * 37 % 101) as f64 * 50.0;
            let size = 200.0 + (i * 53 % 89) as f64 * 20.0;
            assert!(m.push([rate, size], 2.0 + 0.01 * rate + 0.003 * size));
        }
        assert!(m.refit(100, 1e-9));
        let fit = m.fit().copied();
        let Some(fit) = fit else {
            unreachable!("a fit was computed")
        };
        assert!((fit.intercept - 2.0).abs() < 1e-6, "{fit:?}");
        assert!((fit.coefficients[0] - 0.01).abs() < 1e-9, "{fit:?}");
        assert!((fit.coefficients[1] - 0.003).abs() < 1e-9, "{fit:?}");
        assert!(fit.r2 > 0.999_999);
        assert!(fit.rmse < 1e-6);
        let y = fit.predict([1000.0, 1000.0]).unwrap_or(f64::NAN);
        assert!((y - 15.0).abs() < 1e-5);
    }

    #[test]
    fn noisy_fit_reports_partial_r2() {
        let mut m = LinearLatencyModel::new(1000);
        let mut s: u64 = 7;
        for i in 0..300 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            let noise = ((s >> 33) % 1000) as f64 / 100.0 - 5.0;
            let rate = i as f64 * 10.0;
            m.push([rate, 0.0], 1.0 + 0.002 * rate + noise);
        }
        assert!(m.refit(100, 1e-6));
        let r2 = m.fit().map_or(-1.0, |f| f.r2);
        assert!(r2 > 0.1 && r2 < 0.99, "{r2}");
        // A constant feature gets a zero coefficient, not a singular solve.
        assert_eq!(m.fit().map(|f| f.coefficients[1]), Some(0.0));
    }

    #[test]
    fn singular_systems_give_no_solution() {
        assert_eq!(solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0]), None);
        assert_eq!(solve([[0.0, 0.0], [0.0, 0.0]], [1.0, 2.0]), None);
        assert_eq!(solve([[f64::NAN, 0.0], [0.0, 1.0]], [1.0, 2.0]), None);
        // Needs a row swap (zero in the first pivot position).
        assert_eq!(
            solve([[0.0, 1.0], [1.0, 0.0]], [3.0, 4.0]),
            Some([4.0, 3.0])
        );
        let x = solve(
            [[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]],
            [3.0, 5.0, 5.0],
        );
        assert_eq!(
            x.map(|v| v.map(|c| (c * 1e9).round() / 1e9)),
            Some([1.0, 1.0, 1.0])
        );
    }

    #[test]
    fn prediction_never_extrapolates_beyond_the_training_range() {
        let mut m = LinearLatencyModel::new(200);
        for i in 0..100 {
            m.push(
                [80.0 + (i % 40) as f64, 100.0],
                0.5 + 0.01 * (i % 40) as f64,
            );
        }
        assert!(m.refit(50, 1e-9));
        let fit = m.fit().expect("fit");
        let at_edge = fit.predict([119.0, 100.0]).expect("y");
        let far = fit.predict([2_300.0, 100.0]).expect("y");
        assert!((far - at_edge).abs() < 0.02, "{far} vs {at_edge}");
    }

    #[test]
    fn refits_only_when_dirty_and_enough_points() {
        let mut m = LinearLatencyModel::new(50);
        for i in 0..20 {
            m.push([i as f64, 0.0], i as f64);
        }
        assert!(!m.refit(100, 1e-6));
        assert!(m.fit().is_none());
        assert!(!m.is_dirty());
        for i in 0..100 {
            m.push([i as f64, 1.0], 3.0 * i as f64);
        }
        assert_eq!(m.len(), 50);
        assert!(m.refit(30, 1e-6));
        assert!(!m.refit(30, 1e-6), "no new data, no refit");
        assert!(!m.push([f64::NAN, 0.0], 1.0));
        assert!(!m.is_dirty());
        m.push([5.0, 0.0], 1.0);
        assert!(m.is_dirty());
    }

    #[test]
    fn constant_latency_fits_with_full_r2() {
        let mut m = LinearLatencyModel::new(100);
        for i in 0..100 {
            m.push([i as f64, 0.0], 4.0);
        }
        assert!(m.refit(10, 1e-6));
        assert_eq!(m.fit().map(|f| f.r2), Some(1.0));
        let y = m.fit().and_then(|f| f.predict([1e9, 0.0])).unwrap_or(0.0);
        assert!((y - 4.0).abs() < 1e-9);
    }

    #[test]
    fn constant_nonzero_feature_does_not_blow_up_predictions() {
        let mut m = LinearLatencyModel::new(200);
        for i in 0..150 {
            m.push([i as f64 * 3.0, 0.1], 1.0 + 0.5 * i as f64 * 3.0);
        }
        assert!(m.refit(100, 1e-9));
        let y = m
            .fit()
            .and_then(|f| f.predict([30.0, 1e6]))
            .unwrap_or(f64::NAN);
        assert!((y - 16.0).abs() < 1e-3, "{y}");
    }
}
