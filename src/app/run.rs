//! The live event loop: one `tokio::select!` over terminal events, samples,
//! the data tick, the frame deadline and termination signals. It redraws
//! only when something changed, at most 30 times a second.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval, sleep_until};

use super::actions::Effect;
use super::driver::DemoDriver;
use super::live::{LiveSpec, spawn_live};
use super::sessions::SessionOps;
use super::state::{SessionInfo, State};
use crate::action::Pane;
use crate::config::StatsSink;
use crate::engines::Timestamp;
use crate::keymap::{Keymap, Resolved};
use crate::ops::sink::{SinkCmd, SinkConfig, instance_id, spawn_sink};
use crate::ops::warm::console::{JobLog, WarmCmd, spawn_warm_service};
use crate::ops::warm::rules::Rule;
use crate::sample::Sample;
use crate::snapshot::{Format, encode, render_buffer};
use crate::sources::clock::wall_now;
use crate::sources::demo::Demo;
use crate::sources::pace::Pace;
use crate::terminal::{Term, TerminalGuard, draw_synced};
use crate::theme::{ColorMode, Theme, builtin_names};
use crate::ui::{Chrome, render};

/// Where the samples come from.
#[derive(Debug, Clone)]
pub enum Feed {
    /// The built-in demo workload (virtual clock, warm-up first).
    Demo,
    /// Real servers (wall clock), one task each.
    Live(LiveSpec),
}

/// Frames are at least this far apart (30 frames/s).
const FRAME: Duration = Duration::from_millis(33);
/// Seconds of demo simulated before the first frame, so panes have history.
pub const DEMO_WARMUP_SECS: i64 = 900;

/// What the loop needs to start.
#[derive(Debug)]
pub struct RunOptions {
    /// Session facts for the header.
    pub session: SessionInfo,
    /// Demo seed.
    pub seed: u64,
    /// Data tick.
    pub refresh: Duration,
    /// Theme (already downgraded to the colour tier).
    pub theme: Theme,
    /// Colour tier, for themes picked with `t`.
    pub color: ColorMode,
    /// Key bindings.
    pub keymap: Keymap,
    /// Where `S` saves screens.
    pub screens_dir: PathBuf,
    /// Backends declared with static figures in the config file.
    pub declared: Vec<crate::config::DeclaredBackend>,
    /// Where client statistics are flushed (live sources only).
    pub sink: Option<StatsSink>,
    /// Warm rules from the config file (live warming).
    pub warm_rules: Vec<Rule>,
    /// A warning for the status line at start (already printed to stderr).
    pub notice: Option<String>,
}

/// Where warm effects go: the demo's simulated cache, or the live warm
/// service (the same executor as `heliostat warm`).
enum Warmer {
    Demo(mpsc::Sender<Effect>),
    Live(mpsc::Sender<WarmCmd>),
}

impl Warmer {
    async fn send(&self, fx: Effect) {
        match self {
            Warmer::Demo(tx) => {
                let _ = tx.send(fx).await;
            }
            Warmer::Live(tx) => {
                if let Some(cmd) = fx.warm_cmd() {
                    let _ = tx.send(cmd).await;
                }
            }
        }
    }
}

/// Build the hint bar and help overlay from the keymap.
pub fn chrome(keymap: &Keymap, focus: Pane) -> Chrome {
    Chrome {
        hints: keymap
            .hints(focus)
            .into_iter()
            .map(|(k, l)| (k, l.to_string()))
            .collect(),
        help: keymap
            .help()
            .into_iter()
            .map(|s| {
                (
                    s.title.to_string(),
                    s.rows
                        .into_iter()
                        .map(|(k, d)| (k, d.to_string()))
                        .collect(),
                )
            })
            .collect(),
    }
}

/// The console's "now".
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// The demo's virtual time, advancing with the monotonic clock.
    Virtual { base: Timestamp, started: Instant },
    /// The wall clock, as the sources stamp their samples: a monotonic
    /// offset would fall behind after a suspend or a VM pause, and every
    /// sample would then look like it came from the future.
    Wall,
}

impl Clock {
    fn now(&self) -> Timestamp {
        match self {
            Clock::Virtual { base, started } => {
                let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
                base.add_millis(ms)
            }
            Clock::Wall => wall_now(),
        }
    }
}

async fn demo_task(
    mut demo: Demo,
    mut now: Timestamp,
    tx: mpsc::Sender<Vec<Sample>>,
    mut cmds: mpsc::Receiver<Effect>,
) {
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                now = now.add_secs(1);
                // Samples are never dropped: the bounded channel applies back-pressure.
                if tx.send(demo.step(now)).await.is_err() {
                    break;
                }
            }
            cmd = cmds.recv() => match cmd {
                Some(Effect::Warm { job, keys, .. }) => demo.submit_warm(job, keys),
                Some(Effect::CancelWarm(job)) => demo.cancel_warm(job),
                Some(_) => {}
                None => break,
            },
        }
    }
}

/// Run the console until the user quits or a signal arrives. The terminal
/// is restored on every way out.
pub async fn run(opts: RunOptions, feed: Feed) -> anyhow::Result<()> {
    let refresh_ms = u64::try_from(opts.refresh.as_millis()).unwrap_or(1000);
    let (sample_tx, mut sample_rx) = mpsc::channel::<Vec<Sample>>(256);
    // `+` / `-` change how often the live pollers ask, not only the redraws.
    let (pace_tx, pace) = Pace::following(opts.refresh);
    let sink_id = instance_id();
    // At most one batch is ever in flight, so the channel never fills.
    let sink_tx = opts.sink.as_ref().map(|s| {
        let (tx, rx) = mpsc::channel::<SinkCmd>(4);
        let cfg = SinkConfig {
            url: s.url.clone(),
            schema: s.schema.clone(),
            sink_id: sink_id.clone(),
            read_every: s.read_every,
            read_limit: 500,
        };
        spawn_sink(cfg, rx, sample_tx.clone());
        tx
    });
    let (mut state, clock, warmer, session_ops) = match feed {
        Feed::Demo => {
            let mut driver = DemoDriver::new(opts.seed, opts.session, refresh_ms);
            driver
                .state
                .declare(&opts.declared, crate::sources::demo::DEMO_EPOCH);
            driver.advance(DEMO_WARMUP_SECS);
            let start = driver.now();
            let DemoDriver { demo, state, .. } = driver;
            let (cmd_tx, cmd_rx) = mpsc::channel::<Effect>(64);
            tokio::spawn(demo_task(demo, start, sample_tx, cmd_rx));
            (
                state,
                Clock::Virtual {
                    base: start,
                    started: Instant::now(),
                },
                Warmer::Demo(cmd_tx),
                None,
            )
        }
        Feed::Live(spec) => {
            let log = opts.sink.as_ref().map(|s| JobLog {
                url: s.url.clone(),
                schema: s.schema.clone(),
                sink_id: sink_id.clone(),
                context: opts.session.context.clone(),
            });
            let mut state = State::new(opts.session, refresh_ms);
            let now = wall_now();
            state.declare(&opts.declared, now);
            state.warm.rules.clone_from(&opts.warm_rules);
            let registry = spawn_live(&spec, &pace, &sample_tx);
            let (warm_tx, warm_rx) = mpsc::channel::<WarmCmd>(64);
            spawn_warm_service(opts.warm_rules, log, warm_rx, sample_tx.clone());
            let ops = SessionOps {
                registry,
                tx: sample_tx,
            };
            (state, Clock::Wall, Warmer::Live(warm_tx), Some(ops))
        }
    };
    state.ui.theme = opts.theme.name.clone();
    if let Some(n) = &opts.notice {
        state.ui.set_status(n.clone(), true, clock.now());
    }
    state.sink.enabled = sink_tx.is_some();
    let mut flush_tick = interval(SINK_TICK);
    flush_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let mut theme = opts.theme;
    let keymap = opts.keymap;
    let mut chrome_for = state.ui.focus;
    let mut chrome_now = chrome(&keymap, chrome_for);
    let (guard, mut term) = TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let mut data_tick = interval(opts.refresh);
    data_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    // Ctrl-C arrives as a key in raw mode; SIGINT from elsewhere (kill -INT) still restores.
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    // SIGQUIT would dump core with the terminal raw; SIGTSTP would stop it
    // raw too: both are handled so the terminal is always given back.
    let mut sigquit = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::quit())?;
    let mut sigtstp = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(
        rustix::process::Signal::TSTP.as_raw(),
    ))?;
    state.ui.page = page_rows(term.size().map(|s| s.height).unwrap_or(24));
    let mut dirty = true;
    // Why the loop ended, when it was not the user's choice.
    let mut failed: Option<anyhow::Error> = None;
    let mut next_frame = tokio::time::Instant::now();

    'main: loop {
        // A task or thread that panicked leaves data missing: stop cleanly and say so.
        if let Some(msg) = crate::terminal::panicked() {
            failed = Some(anyhow::anyhow!(
                "internal error, the console stopped: {msg} (the log has more)"
            ));
            break;
        }
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(key))) => for key in keymap.split_meta(state.ui.mode, state.ui.focus, key) {
                    let now = clock.now();
                    match keymap.resolve(state.ui.mode, state.ui.focus, key) {
                        Resolved::Action(a) => {
                            for fx in state.handle(a, now) {
                                match fx {
                                    Effect::Quit => break 'main,
                                    Effect::Suspend => {
                                        suspend(&mut term);
                                    }
                                    Effect::Warm { .. }
                                    | Effect::CancelWarm(_)
                                    | Effect::Preload { .. }
                                    | Effect::DryRun { .. }
                                    | Effect::Probe(_) => warmer.send(fx).await,
                                    Effect::Session(op) => {
                                        if let Some(ops) = &session_ops {
                                            ops.start(op);
                                        }
                                    }
                                    Effect::Refresh(ms) => {
                                        pace_tx.send_replace(Duration::from_millis(ms));
                                        data_tick = interval(Duration::from_millis(ms));
                                        data_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
                                    }
                                    Effect::CycleTheme => {
                                        theme = next_theme(&theme, opts.color);
                                        state.ui.theme = theme.name.clone();
                                        state.ui.set_status(format!("theme: {}", theme.name), false, now);
                                    }
                                    Effect::SaveScreen => {
                                        let size = term.size().unwrap_or_default();
                                        let msg = save_screen(&state, &theme, &chrome_now, size.width, size.height, &opts.screens_dir, now);
                                        match msg {
                                            Ok(path) => state.ui.set_status(format!("screen saved: {path}.txt and .svg"), false, now),
                                            Err(e) => state.ui.set_status(format!("could not save the screen: {e}"), true, now),
                                        }
                                    }
                                }
                            }
                        }
                        Resolved::Filter(edit) => state.filter_input(edit, now),
                        // Only presses: releases and repeats resolve to nothing too.
                        Resolved::Nothing if key.kind == crossterm::event::KeyEventKind::Press => {
                            state.no_action(&crate::keymap::Key::from_event(&key).to_string(), now);
                        }
                        Resolved::Nothing => continue,
                    }
                    if state.ui.focus != chrome_for {
                        chrome_for = state.ui.focus;
                        chrome_now = chrome(&keymap, chrome_for);
                    }
                    dirty = true;
                },
                Some(Ok(Event::Resize(_, h))) => {
                    let _ = term.autoresize();
                    state.ui.page = page_rows(h);
                    dirty = true;
                }
                Some(Ok(Event::Paste(text))) => {
                    state.filter_paste(&text, clock.now());
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    failed = Some(anyhow::anyhow!("terminal input failed: {e}"));
                    break;
                }
                None => break,
            },
            batch = sample_rx.recv() => match batch {
                Some(samples) => samples.iter().for_each(|s| state.apply(s)),
                None => break,
            },
            _ = flush_tick.tick(), if sink_tx.is_some() => {
                if let (Some(tx), Some(b)) = (&sink_tx, state.flush_due(clock.now())) {
                    let _ = tx.send(SinkCmd::Flush(b)).await;
                }
            }
            _ = data_tick.tick() => {
                let had_status = state.ui.status.is_some();
                state.tick(clock.now());
                for fx in state.warm_round(clock.now()) {
                    warmer.send(fx).await;
                }
                // Paused: the screen holds; redraw only if a message came or went
                // (a key pressed since the last frame still redraws).
                dirty |= !state.ui.paused || had_status != state.ui.status.is_some();
            }
            _ = sleep_until(next_frame), if dirty => {
                if let Err(e) = draw_synced(&mut term, |f| render(f, &state, &theme, &chrome_now)) {
                    tracing::warn!(error = %e, "draw failed");
                }
                dirty = false;
                next_frame = tokio::time::Instant::now() + FRAME;
            }
            _ = sigterm.recv() => {
                tracing::info!("SIGTERM: restoring the terminal and exiting");
                break;
            }
            _ = sighup.recv() => {
                tracing::info!("SIGHUP: the terminal went away; exiting");
                break;
            }
            _ = sigint.recv() => {
                tracing::info!("SIGINT: restoring the terminal and exiting");
                break;
            }
            _ = sigquit.recv() => {
                tracing::info!("SIGQUIT: restoring the terminal and exiting");
                break;
            }
            _ = sigtstp.recv() => {
                suspend(&mut term);
                dirty = true;
            }
        }
    }
    drop(guard);
    let flushed = match sink_tx {
        Some(tx) => final_flush(&mut state, &tx, &mut sample_rx, clock).await,
        None => Ok(()),
    };
    match (failed, flushed) {
        (None, flushed) => flushed,
        (Some(e), Ok(())) => Err(e),
        (Some(e), Err(f)) => Err(anyhow::anyhow!("{e:#}; {f:#}")),
    }
}

/// How often the loop asks whether a sink flush is due (the engine's
/// interval is 250 ms by default).
const SINK_TICK: Duration = Duration::from_millis(100);

/// How long quitting waits for the sink to write what is pending.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// Write what the sink has not written yet (a few attempts, at most
/// `FINAL_FLUSH`); an error says how much could not be written.
async fn final_flush(
    state: &mut State,
    tx: &mpsc::Sender<SinkCmd>,
    rx: &mut mpsc::Receiver<Vec<Sample>>,
    clock: Clock,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + FINAL_FLUSH;
    let mut sends = 0;
    while state.sink_busy() && sends <= 3 {
        if let Some(b) = state.take_flush(clock.now()) {
            sends += 1;
            if tx.send(SinkCmd::Flush(b)).await.is_err() {
                break;
            }
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            // Only the sink's answers: what arrives after quitting is not shown or stored.
            Ok(Some(samples)) => samples
                .iter()
                .filter(|s| matches!(s.body, crate::sample::Body::Sink(_)))
                .for_each(|s| state.apply(s)),
            Ok(None) | Err(_) => break,
        }
    }
    if state.sink_busy() {
        let fs = state.clients.flush_stats();
        let rows = fs.pending_rows + state.clients.in_flight().map_or(0, |b| b.rows());
        anyhow::bail!(
            "stats sink: {rows} client statistics rows were not written ({})",
            fs.last_error.as_deref().unwrap_or("no answer in time")
        );
    }
    Ok(())
}

/// Rows a page key moves: about half the pane area of a terminal `h` tall.
/// Suspend (Ctrl-Z, SIGTSTP) and come back; a failure is logged, the loop
/// goes on with whatever terminal it has.
fn suspend(term: &mut Term) {
    tracing::info!("suspended");
    if let Err(e) = crate::terminal::suspend(term) {
        tracing::warn!(error = %e, "suspending failed");
    }
    tracing::info!("resumed");
}

fn page_rows(h: u16) -> usize {
    usize::from(h.saturating_sub(10) / 2).max(1)
}

fn next_theme(current: &Theme, color: ColorMode) -> Theme {
    let names = builtin_names();
    let i = names
        .iter()
        .position(|n| *n == current.name)
        .map_or(0, |i| (i + 1) % names.len());
    Theme::builtin(names[i])
        .unwrap_or_default()
        .downgrade(color)
}

fn save_screen(
    state: &State,
    theme: &Theme,
    chrome: &Chrome,
    w: u16,
    h: u16,
    dir: &std::path::Path,
    now: Timestamp,
) -> std::io::Result<String> {
    use std::io::Write as _;
    crate::files::private_dir(dir)?;
    let stamp = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now.as_millis())
        .map(|d| d.format("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_else(|| now.as_millis().to_string());
    // Several saves in one second get -2, -3…: an earlier screen is never
    // overwritten, and the files are private (they show keys and hosts).
    let (base, files) =
        crate::files::create_private_set(&dir.join(format!("heliostat-{stamp}")), &["txt", "svg"])?;
    let buf = render_buffer(state, theme, chrome, w, h);
    for (mut f, format) in files.into_iter().zip([Format::Txt, Format::Svg]) {
        f.write_all(encode(&buf, theme, format).as_bytes())?;
    }
    Ok(base.display().to_string())
}
