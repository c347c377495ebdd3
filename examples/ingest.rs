//! Measures end-to-end ingestion of an access-event stream: reads STREAM on
//! URL from its first entry, through the reader and the app state, until
//! every entry present at start has been applied, and prints events/s.
//!
//! `cargo run --release --example ingest -- redis://127.0.0.1:6379 heliostat:events`
//! (`scripts/measure-events` sets up a throw-away server and the events.)

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use heliostat::app::state::{SessionInfo, State};
use heliostat::sample::Body;
use heliostat::sample::SourceId;
use heliostat::sources::events::{EventsConfig, run_events};
use heliostat::sources::redis::wall_now;
use tokio::sync::mpsc;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let stream = args.next().unwrap_or_else(|| "heliostat:events".into());
    let total: u64 = {
        let mut c = redis::Client::open(url.as_str())?.get_connection()?;
        redis::cmd("XLEN").arg(&stream).query(&mut c)?
    };
    anyhow::ensure!(total > 0, "{stream} is empty: emit some events first");
    // The reader runs on its own thread, as in the console.
    let (tx, mut rx) = mpsc::channel(256);
    let mut cfg = EventsConfig::new(SourceId(0), &url, &stream);
    cfg.from_start = true;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(run_events(cfg, tx));
        Ok::<(), String>(())
    });
    let mut state = State::new(SessionInfo::default(), 1000);
    let started = Instant::now();
    let mut read = 0;
    while read < total {
        let Some(batch) = rx.blocking_recv() else {
            anyhow::bail!("the reader stopped after {read} of {total} events");
        };
        for s in &batch {
            if let Body::Stream(st) = &s.body {
                read = st.read;
            }
            state.apply(s);
        }
        if started.elapsed() > Duration::from_secs(120) {
            anyhow::bail!("gave up after 120 s: {read} of {total} events");
        }
    }
    state.tick(wall_now());
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{total} events in {secs:.2} s: {:.0} events/s end to end (reader thread + app state)",
        total as f64 / secs
    );
    Ok(())
}
