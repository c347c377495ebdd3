//! Strengths and weaknesses as data: static text per kind, or a measured
//! figure against its target. Rendering happens only when the UI shows a
//! remark (`Display`), so ranking formats no floats.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One strength or weakness of a backend for a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Remark {
    /// Qualitative text (the seed's per-kind lists, and notes).
    Text(Cow<'static, str>),
    /// Tail latency against the 10 ms real-time target.
    P99VsRealtimeTarget {
        /// Predicted or measured p99 (ms).
        p99_ms: f64,
    },
    /// Reliability against the consistency level's target.
    Reliability {
        /// Success rate in [0, 1].
        rate: f64,
        /// The target in [0, 1].
        target: f64,
    },
    /// Throughput against 1.5× the workload's event rate.
    ThroughputVsDemand {
        /// Throughput (events/s).
        eps: f64,
        /// 1.5 × the event rate (events/s).
        needed_eps: f64,
    },
    /// High CPU usage.
    Cpu {
        /// CPU (%).
        percent: f64,
    },
}

/// The seed's real-time latency target (ms).
pub const REALTIME_P99_TARGET_MS: f64 = 10.0;

impl Remark {
    /// A static text remark (no allocation).
    pub const fn text(t: &'static str) -> Self {
        Remark::Text(Cow::Borrowed(t))
    }
}

impl fmt::Display for Remark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remark::Text(t) => f.write_str(t),
            Remark::P99VsRealtimeTarget { p99_ms } => {
                let rel = if *p99_ms > REALTIME_P99_TARGET_MS {
                    ">"
                } else {
                    "within"
                };
                write!(f, "p99 {p99_ms:.1} ms {rel} 10 ms realtime target")
            }
            Remark::Reliability { rate, target } => {
                if rate < target {
                    write!(
                        f,
                        "reliability {:.1} % < {:.1} % target",
                        rate * 100.0,
                        target * 100.0
                    )
                } else {
                    write!(f, "reliability {:.2} %", rate * 100.0)
                }
            }
            Remark::ThroughputVsDemand { eps, needed_eps } => {
                if eps < needed_eps {
                    write!(f, "throughput {eps:.0}/s < 1.5× demand ({needed_eps:.0}/s)")
                } else {
                    write!(f, "throughput {eps:.0}/s ≥ 1.5× demand")
                }
            }
            Remark::Cpu { percent } => write!(f, "CPU {percent:.0} %"),
        }
    }
}
