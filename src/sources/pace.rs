//! Poll pacing that follows the console's refresh rate: `+` / `-` change
//! how often the Redis and Postgres pollers ask, not only how often the
//! screen is redrawn.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

/// The refresh interval as the console sets it; pollers hold a [`Pace`].
pub type PaceSender = watch::Sender<Duration>;

/// A poll interval that may change while a poller runs.
#[derive(Debug, Clone)]
pub struct Pace {
    every: Duration,
    changes: Option<watch::Receiver<Duration>>,
}

impl Pace {
    /// A fixed interval.
    pub fn fixed(every: Duration) -> Self {
        Self {
            every,
            changes: None,
        }
    }

    /// An interval that starts at `every` and follows what is sent.
    pub fn following(every: Duration) -> (PaceSender, Self) {
        let (tx, rx) = watch::channel(every);
        (
            tx,
            Self {
                every,
                changes: Some(rx),
            },
        )
    }

    /// The interval now.
    pub fn every(&self) -> Duration {
        self.every
    }

    /// A ticker: the first tick is immediate, then one per interval; a tick
    /// that comes late moves the next ones (like `MissedTickBehavior::Delay`),
    /// and a new interval applies from the last tick.
    pub fn ticker(&self) -> Ticker {
        Ticker {
            pace: self.clone(),
            next: Instant::now(),
            last: None,
        }
    }
}

/// Ticks at the [`Pace`]'s current interval.
#[derive(Debug)]
pub struct Ticker {
    pace: Pace,
    next: Instant,
    last: Option<Instant>,
}

impl Ticker {
    /// Wait for the next tick.
    pub async fn tick(&mut self) {
        loop {
            let Some(rx) = &mut self.pace.changes else {
                sleep_until(self.next).await;
                break;
            };
            tokio::select! {
                () = sleep_until(self.next) => break,
                changed = rx.changed() => match changed {
                    Ok(()) => {
                        let every = *rx.borrow_and_update();
                        self.pace.every = every;
                        if let Some(last) = self.last {
                            self.next = last + every;
                        }
                    }
                    // The console is gone: keep the last interval.
                    Err(_) => self.pace.changes = None,
                },
            }
        }
        let now = Instant::now();
        self.last = Some(now);
        let next = self.next + self.pace.every;
        self.next = if next < now {
            now + self.pace.every
        } else {
            next
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ticks_follow_a_changed_interval_from_the_last_tick() {
        let (tx, pace) = Pace::following(Duration::from_secs(1));
        let mut t = pace.ticker();
        let t0 = Instant::now();
        t.tick().await;
        assert_eq!(t0.elapsed(), Duration::ZERO);
        t.tick().await;
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
        tx.send(Duration::from_millis(250)).ok();
        t.tick().await;
        assert_eq!(t0.elapsed(), Duration::from_millis(1250));
        t.tick().await;
        assert_eq!(t0.elapsed(), Duration::from_millis(1500));
        // Slower while waiting: the next tick moves out.
        let waiting = tokio::spawn(async move {
            t.tick().await;
            t
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        tx.send(Duration::from_secs(10)).ok();
        let mut t = waiting.await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_millis(11_500));
        drop(tx);
        t.tick().await;
        assert_eq!(t0.elapsed(), Duration::from_millis(21_500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_tick_moves_the_next_and_fixed_pace_never_changes() {
        let mut t = Pace::fixed(Duration::from_secs(1)).ticker();
        let t0 = Instant::now();
        t.tick().await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        t.tick().await;
        assert_eq!(t0.elapsed(), Duration::from_millis(2500));
        t.tick().await;
        assert_eq!(t0.elapsed(), Duration::from_millis(3500));
    }
}
