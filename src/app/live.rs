//! Starting the live sources, shared by the console and `snapshot --redis`
//! / `--postgres`.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval};

use super::state::{SessionInfo, State};
use crate::config::DeclaredBackend;
use crate::sample::{Sample, SourceId};
use crate::sources::clock::wall_now;
use crate::sources::events::{EventsConfig, run_events};
use crate::sources::pace::Pace;
use crate::sources::postgres::{PgConfig, spawn_postgres};
use crate::sources::redis::registry::Registry;
use crate::sources::redis::sampler::SamplerConfig;
use crate::sources::redis::{LaunchOptions, SourceIds, launch};

/// The access-event stream's source id: after every node (ids are handed out
/// from 0), so it is listed last.
pub const EVENTS_SOURCE: SourceId = SourceId(u16::MAX - 1);

/// Which real servers to watch.
#[derive(Debug, Clone, Default)]
pub struct LiveSpec {
    /// Redis URLs.
    pub redis: Vec<String>,
    /// PostgreSQL URLs (primaries and replicas: each says what it is).
    pub postgres: Vec<String>,
    /// How often Postgres per-table counters are read (`None`: every 10 s).
    pub pg_tables_every: Option<Duration>,
    /// The access-event stream, if any.
    pub events: Option<EventsSpec>,
    /// Listen to keyspace notifications (misses, expiries, evictions) on every node.
    pub key_events: bool,
    /// The key sampler each node gets (budget 0: none).
    pub sampler: SamplerConfig,
}

/// Where the access events come from.
#[derive(Debug, Clone)]
pub struct EventsSpec {
    /// Redis holding the stream.
    pub url: String,
    /// Stream key.
    pub stream: String,
    /// Read what is already in the stream too.
    pub catch_up: bool,
}

/// Start one task per source; they stop when the receiver is dropped.
/// Returns where each source connects, as sources start (for the ops on
/// their sessions).
pub fn spawn_live(spec: &LiveSpec, poll: &Pace, tx: &mpsc::Sender<Vec<Sample>>) -> Registry {
    // One id allocator for every node: cluster supervisors add the nodes they find.
    let ids = SourceIds::new();
    let registry = Registry::default();
    let opts = LaunchOptions {
        poll: poll.clone(),
        key_events: spec.key_events,
        sampler: spec.sampler.clone(),
        registry: Some(registry.clone()),
        ..LaunchOptions::default()
    };
    for url in &spec.redis {
        launch(url, &opts, &ids, tx.clone());
    }
    for url in &spec.postgres {
        let mut cfg = PgConfig::new(ids.next(), url);
        cfg.poll = poll.clone();
        if let Some(every) = spec.pg_tables_every {
            cfg.tables_every = every;
        }
        registry.add_postgres(cfg.id, &cfg.url);
        spawn_postgres(cfg, tx.clone());
    }
    if let Some(ev) = &spec.events {
        let mut cfg = EventsConfig::new(EVENTS_SOURCE, &ev.url, &ev.stream);
        cfg.from_start = ev.catch_up;
        cfg.delimiter.clone_from(&spec.sampler.delimiter);
        // Its own thread: parsing a busy stream is real CPU work, and must
        // not delay the health checks or the UI on the main thread.
        let tx = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("heliostat-events".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(run_events(cfg, tx)),
                    Err(e) => tracing::error!(error = %e, "event reader: no runtime"),
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "event reader: no thread");
        }
    }
    registry
}

/// Watch the servers for `wait`, ticking every `refresh`, and return what
/// the console would show then (for `snapshot --redis … --wait N`).
pub async fn observe(
    spec: &LiveSpec,
    wait: Duration,
    refresh: Duration,
    session: SessionInfo,
    declared: &[DeclaredBackend],
) -> State {
    let refresh_ms = u64::try_from(refresh.as_millis()).unwrap_or(1000);
    let mut state = State::new(session, refresh_ms);
    state.declare(declared, wall_now());
    let (tx, mut rx) = mpsc::channel::<Vec<Sample>>(256);
    // A short look still sees table traffic: a few table reads in the wait.
    let mut spec = spec.clone();
    if spec.pg_tables_every.is_none() {
        let every = (wait / 4).clamp(
            refresh.min(Duration::from_secs(10)),
            Duration::from_secs(10),
        );
        spec.pg_tables_every = Some(every);
    }
    let _sources = spawn_live(&spec, &Pace::fixed(refresh), &tx);
    drop(tx);
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    let mut tick = interval(refresh);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut deadline => break,
            batch = rx.recv() => match batch {
                Some(samples) => samples.iter().for_each(|s| state.apply(s)),
                None => break,
            },
            _ = tick.tick() => state.tick(wall_now()),
        }
    }
    // Whatever arrived by the deadline counts.
    while let Ok(samples) = rx.try_recv() {
        samples.iter().for_each(|s| state.apply(s));
    }
    state.tick(wall_now());
    state
}
