//! The `heliostat` binary: parse the command line, resolve settings, then run
//! the console or one of its subcommands. Errors end here, as plain text.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
mod emit;
mod warm_cmd;

use heliostat::app::live::{EventsSpec, LiveSpec, observe};
use heliostat::app::run::{Feed, RunOptions, chrome, run};
use heliostat::app::state::SessionInfo;
use heliostat::cli::{Cli, ColorMode as ColorFlag, Command, SnapshotArgs, SnapshotFormat};
use heliostat::config::{self, Env, Mode, Settings};
use heliostat::snapshot::{Format, demo_state, encode, render_buffer};
use heliostat::text::escape_controls;
use heliostat::theme::{ColorMode, Theme, detect_color_mode};
use tracing_appender::non_blocking::WorkerGuard;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Messages quote arguments, files and servers: no control
            // byte among them reaches the terminal.
            eprintln!("heliostat: {}", escape_controls(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    let env = Env::from_process();
    let settings = config::resolve(&cli, &env)?;
    if cli.command.is_some() {
        for w in &settings.warnings {
            eprintln!("heliostat: warning: {}", escape_controls(w));
        }
    }
    match &cli.command {
        Some(Command::Snapshot(args)) => snapshot(args, &settings),
        Some(Command::Emit(args)) => emit::emit(args, &settings),
        Some(Command::Warm(args)) => {
            let live = live_spec(&settings)?;
            let searched = env.default_config_path();
            warm_cmd::warm(args, &settings, live, cli.allow_writes, searched)
        }
        None => console(settings, &env),
    }
}

/// The colour tier for the live console: from `--color`, the config and the
/// terminal (NO_COLOR is already folded into `settings.color`).
fn color_tier(flag: ColorFlag) -> ColorMode {
    let flag = match flag {
        ColorFlag::Auto => "auto",
        ColorFlag::Always => "always",
        ColorFlag::Never => "never",
    };
    detect_color_mode(flag, &|k: &str| {
        if k == "NO_COLOR" {
            None
        } else {
            std::env::var(k).ok()
        }
    })
}

fn session(settings: &Settings) -> SessionInfo {
    SessionInfo {
        context: settings.context.clone(),
        banner: settings
            .banner
            .as_ref()
            .map(|b| (b.label.clone(), b.color.clone().unwrap_or_default())),
        demo: settings.is_demo(),
        writes_allowed: settings.writes_allowed,
        auto_warm: settings.auto_warm,
        redact_keys: settings.redact_keys,
        key_delimiter: settings.sampler.delimiter.clone(),
        read_only_reason: settings.read_only_reason.clone(),
        pg_capacity: settings.pg_capacity,
        key_events: settings.key_events,
        event_stream: event_stream(settings),
    }
}

/// The access-event stream the console reads, if any.
pub(crate) fn event_stream(settings: &Settings) -> Option<String> {
    match &settings.mode {
        Mode::Live { events, .. } => events.clone(),
        Mode::Demo => None,
    }
}

fn state_dir(env: &Env) -> PathBuf {
    // The XDG spec: a relative value is invalid and ignored.
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env.home.as_ref().map(|h| h.join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("heliostat")
}

/// Logs go to a rolling file, never to the terminal the console draws on:
/// `STEM.YYYY-MM-DD.EXT` beside `PATH` (`heliostat.2026-11-24.log`). A path
/// the user gave must be a file name in a directory that exists (only the
/// default state directory is created, 0700); a wrong one stops the console
/// before it starts. When the default file cannot be made the console runs
/// without logs, and says so before it takes the terminal.
fn init_logging(settings: &Settings, env: &Env) -> Option<WorkerGuard> {
    let path = match &settings.log_file {
        Some(p) => p.clone(),
        None => state_dir(env).join("heliostat.log"),
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let made = if settings.log_file.is_none() {
        heliostat::files::private_dir(&dir).map_err(|e| e.to_string())
    } else {
        Ok(())
    };
    let prefix = path
        .file_stem()
        .map_or_else(|| "heliostat".into(), |s| s.to_string_lossy().into_owned());
    let suffix = path
        .extension()
        .map_or_else(|| "log".into(), |s| s.to_string_lossy().into_owned());
    let appender = made.and_then(|()| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix(prefix)
            .filename_suffix(suffix)
            .max_log_files(7)
            .build(&dir)
            .map_err(|e| e.to_string())
    });
    let appender = match appender {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "heliostat: no log file in {}: {e}",
                escape_controls(&dir.display().to_string())
            );
            return None;
        }
    };
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("heliostat=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok();
    Some(guard)
}

/// A log file path the user gave is checked before anything else happens.
fn check_log_file(settings: &Settings) -> anyhow::Result<()> {
    match &settings.log_file {
        Some(p) => heliostat::files::check_log_path(p).map_err(|e| {
            anyhow::anyhow!(
                "log file {}: {e}",
                escape_controls(&p.display().to_string())
            )
        }),
        None => Ok(()),
    }
}

/// The live servers to watch; `None` in demo mode.
fn live_spec(settings: &Settings) -> anyhow::Result<Option<LiveSpec>> {
    let mode = &settings.mode;
    match mode {
        Mode::Demo => Ok(None),
        Mode::Live {
            redis,
            postgres,
            events,
            events_redis,
            events_catch_up,
            ..
        } => {
            let events = match events {
                None => None,
                Some(stream) => {
                    let Some(url) = events_redis.as_ref().or(redis.first()) else {
                        bail!("--events needs a Redis: add --redis URL or --events-redis URL");
                    };
                    Some(EventsSpec {
                        url: url.clone(),
                        stream: stream.clone(),
                        catch_up: *events_catch_up,
                    })
                }
            };
            Ok(Some(LiveSpec {
                redis: redis.clone(),
                postgres: postgres.clone(),
                pg_tables_every: None,
                events,
                key_events: settings.key_events,
                sampler: settings.sampler.clone(),
            }))
        }
    }
}

fn console(mut settings: Settings, env: &Env) -> anyhow::Result<()> {
    check_log_file(&settings)?;
    let feed = match live_spec(&settings)? {
        None if settings.stats_sink.as_ref().is_some_and(|s| s.from_flag) => bail!(
            "--stats-sink stores what access events say about real clients; the demo's clients are simulated (give --redis/--postgres/--events)"
        ),
        None => {
            // A `[stats_sink]` in the file is for live contexts: the demo's
            // simulated clients must not reach it.
            settings.stats_sink = None;
            Feed::Demo
        }
        Some(spec) => Feed::Live(spec),
    };
    if !std::io::stdout().is_terminal() {
        bail!(
            "heliostat draws on a terminal and stdout is not one; use `heliostat snapshot -o FILE` for output without a terminal"
        );
    }
    for w in &settings.warnings {
        eprintln!("heliostat: warning: {}", escape_controls(w));
    }
    let color = color_tier(settings.color);
    let theme = Theme::load(&settings.theme)
        .map_err(|e| settings.theme_error(e.to_string()))?
        .downgrade(color);
    // What the console writes (logs, saved screens) names keys, hosts and
    // users: private to the user, whatever the shell's umask.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let _log_guard = init_logging(&settings, env);
    tracing::info!(mode = ?settings.mode, context = ?settings.context, "starting");
    let opts = RunOptions {
        session: session(&settings),
        seed: settings.seed,
        refresh: settings.refresh,
        theme,
        color,
        keymap: settings.keymap,
        screens_dir: state_dir(env).join("screens"),
        declared: settings.declared,
        sink: settings.stats_sink,
        warm_rules: settings.warm_rules,
        notice: settings.warnings.first().cloned(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run(opts, feed))
}

/// The demo's history is simulated second by second: keep `--at` bounded.
const MAX_SNAPSHOT_AT: u64 = 7 * 86_400;

fn snapshot(args: &SnapshotArgs, settings: &Settings) -> anyhow::Result<()> {
    let live = live_spec(settings)?;
    let format = match args.effective_format() {
        SnapshotFormat::Txt => Format::Txt,
        SnapshotFormat::Ansi => Format::Ansi,
        SnapshotFormat::Svg => Format::Svg,
    };
    if args.at > MAX_SNAPSHOT_AT {
        bail!("--at is at most {MAX_SNAPSHOT_AT} seconds (7 days of demo time)");
    }
    // Hermetic: the tier depends on the format and --color, never on the terminal.
    let tier = if format == Format::Txt || settings.color == ColorFlag::Never {
        ColorMode::None
    } else {
        ColorMode::TrueColor
    };
    let theme = Theme::load(&settings.theme)
        .map_err(|e| settings.theme_error(e.to_string()))?
        .downgrade(tier);
    let state = match live {
        None => demo_state(
            settings.seed,
            args.at,
            args.pane,
            session(settings),
            &settings.declared,
        ),
        Some(spec) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let wait = std::time::Duration::from_secs_f64(args.wait);
            let mut state = rt.block_on(observe(
                &spec,
                wait,
                settings.refresh,
                session(settings),
                &settings.declared,
            ));
            if let Some(p) = args.pane {
                state.ui.focus = p;
                state.ui.zoomed = true;
            }
            state
        }
    };
    let chrome = chrome(&settings.keymap, state.ui.focus);
    let buf = render_buffer(&state, &theme, &chrome, args.size.width, args.size.height);
    let out = encode(&buf, &theme, format);
    match &args.output {
        Some(path) => {
            std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{out}"),
    }
    Ok(())
}
