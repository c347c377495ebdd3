//! Sources talk to the outside world (or simulate it) and send `Sample`s.

pub mod clock;
pub mod demo;
pub mod events;
pub mod pace;
pub mod postgres;
pub mod redis;

use tokio::sync::mpsc;

use crate::sample::{Body, Sample, SourceId};

/// How a source task (or an op) sends what it saw: samples stamped with
/// its id, a generation and the wall clock, over the app's bounded channel
/// (back-pressure, never dropped).
#[derive(Debug, Clone)]
pub struct Reporter {
    id: SourceId,
    tx: mpsc::Sender<Vec<Sample>>,
}

impl Reporter {
    /// A reporter for source `id`.
    pub fn new(id: SourceId, tx: mpsc::Sender<Vec<Sample>>) -> Self {
        Self { id, tx }
    }

    /// Send `bodies` as one batch of `generation`; false once the app is gone.
    pub async fn send(&self, generation: u32, bodies: Vec<Body>) -> bool {
        let at = clock::wall_now();
        let samples: Vec<Sample> = bodies
            .into_iter()
            .map(|body| Sample {
                source: self.id,
                generation,
                at,
                body,
            })
            .collect();
        self.tx.send(samples).await.is_ok()
    }

    /// Send one body of generation 0 (tasks without runs of their own).
    pub async fn one(&self, body: Body) -> bool {
        self.send(0, vec![body]).await
    }

    /// Send one body without waiting; false when the channel is full or
    /// closed (for cumulative figures, where a dropped one is harmless).
    pub fn try_one(&self, body: Body) -> bool {
        let s = Sample {
            source: self.id,
            generation: 0,
            at: clock::wall_now(),
            body,
        };
        self.tx.try_send(vec![s]).is_ok()
    }
}
