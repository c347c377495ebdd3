//! The command line. Environment variables (`REDIS_URL`, `DATABASE_URL`) are
//! deliberately not read by clap: `config::resolve` takes them from an
//! injected `Env`, so tests stay hermetic.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::action::Pane;
use crate::sources::redis::sampler::budget::MAX_SHARE;
use crate::sources::redis::sampler::{ElementCounts, MAX_BUDGET};

const AFTER_HELP: &str = "\
Examples:
  heliostat                                    run the built-in demo (no server needed)
  heliostat --redis redis://cache-1:6379 --postgres postgres://app@db/app
  heliostat --context prod --allow-writes      a context from the config file, writes on
  heliostat snapshot --at 900 --pane heatmap --format svg -o heatmap.svg

Environment:
  REDIS_URL, DATABASE_URL  sources when no --redis / --postgres is given
  REDISCLI_AUTH            Redis password for URLs that carry none
  NO_COLOR                 no colours unless --color or the config file asks for them

Config file: $XDG_CONFIG_HOME/heliostat/config.toml (or ~/.config/heliostat/config.toml).
Keys: press ? in the console.";

const SNAPSHOT_AFTER_HELP: &str = "\
Only the arguments count: REDIS_URL, DATABASE_URL and the default config file are
not read, so the same arguments give the same bytes (pass --config or --redis to
use them).

Examples:
  heliostat snapshot                                   full screen, 120x40, text
  heliostat snapshot --seed 7 --at 3600 --size 200x50 --format ansi
  heliostat snapshot --pane warming -o warming.svg     format from the file name";

/// Smallest refresh interval accepted, in seconds.
pub const REFRESH_MIN: f64 = 0.25;
/// Largest refresh interval accepted, in seconds.
pub const REFRESH_MAX: f64 = 10.0;

/// heliostat: a terminal console for a cache layer (Redis in front of PostgreSQL).
///
/// With no server configured it runs a built-in demo workload.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(name = "heliostat", version, after_help = AFTER_HELP)]
// Listed apart from a subcommand's own options in its --help.
#[command(next_help_heading = "Global options")]
pub struct Cli {
    /// Context from the config file: sources, theme, banner, writes
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// Config file [default: $XDG_CONFIG_HOME/heliostat/config.toml]
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Redis node to watch (repeatable; redis://, rediss://, unix://, redis+sentinel://);
    /// `warm` writes only to its rule's redis
    #[arg(long, value_name = "URL", global = true)]
    pub redis: Vec<String>,
    /// TLS: CA certificate (PEM) to trust for rediss:// URLs instead of the system's
    #[arg(long, value_name = "FILE", global = true)]
    pub tls_ca: Option<PathBuf>,
    /// TLS: client certificate (PEM) for rediss:// URLs, with --tls-key
    #[arg(long, value_name = "FILE", global = true, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS: the client certificate's private key (PEM)
    #[arg(long, value_name = "FILE", global = true, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PostgreSQL endpoint to watch (repeatable; postgres:// or postgresql://)
    #[arg(long, value_name = "URL", global = true)]
    pub postgres: Vec<String>,
    /// Redis stream of access events [e.g. heliostat:events]
    #[arg(long, value_name = "STREAM", global = true)]
    pub events: Option<String>,
    /// Redis holding the event stream [default: the first --redis]
    #[arg(long, value_name = "URL", global = true, requires = "events")]
    pub events_redis: Option<String>,
    /// Read the events already in the stream too (default: only new ones)
    #[arg(long, global = true, requires = "events")]
    pub events_catch_up: bool,
    /// Listen to keyspace notifications: key misses, expiries, evictions
    /// (the server must publish them; heliostat never changes that setting)
    #[arg(long, global = true, alias = "expiry-events")]
    pub key_events: bool,
    /// Theme name (default, light, high-contrast, mono, …) or path to a theme file
    #[arg(long, value_name = "NAME|PATH", global = true)]
    pub theme: Option<String>,
    /// When to use colours [default: auto]
    #[arg(long, value_name = "WHEN", global = true)]
    pub color: Option<ColorMode>,
    /// Data refresh interval in seconds, 0.25 to 10 [default: 1]
    #[arg(long, value_name = "SECS", value_parser = parse_refresh, global = true)]
    pub refresh: Option<f64>,
    /// Never write to a server, whatever the context says
    #[arg(long, global = true, conflicts_with = "allow_writes")]
    pub read_only: bool,
    /// Allow actions that write against live servers (warming; cancelling, terminating or killing a session)
    #[arg(long, global = true)]
    pub allow_writes: bool,
    /// Let the warming strategies start jobs by themselves (preload at
    /// start, background refresh, predictive); needs writes allowed
    #[arg(long, conflicts_with_all = ["read_only", "demo"])]
    pub auto_warm: bool,
    /// Show key names only up to their prefix (screen, screenshots, logs)
    #[arg(long, global = true)]
    pub redact_keys: bool,
    /// Run the built-in demo workload even if sources are configured
    #[arg(long, global = true, conflicts_with_all = ["redis", "postgres", "events"])]
    pub demo: bool,
    /// Seed of the demo workload [default: 1]
    #[arg(long, value_name = "N", global = true)]
    pub seed: Option<u64>,
    /// Write logs to this file (logs never go to the terminal)
    #[arg(long, value_name = "PATH", global = true)]
    pub log_file: Option<PathBuf>,
    /// Key sampler budget per Redis node: a share of the node's commands (e.g. 5%), or a fixed N commands/s, SCAN included (0 turns it off) [default: 5%]
    #[arg(long, value_name = "N|P%", value_parser = parse_budget, global = true)]
    pub sample_budget: Option<SampleBudget>,
    /// Key sampler: least budget when it follows the node, commands/s [default: 20]
    #[arg(long, value_name = "N", value_parser = parse_budget_n, global = true)]
    pub sample_floor: Option<u32>,
    /// Key sampler: greatest budget when it follows the node, commands/s [default: 1000]
    #[arg(long, value_name = "N", value_parser = parse_budget_n, global = true)]
    pub sample_cap: Option<u32>,
    /// Key prefix delimiter: `user:42:profile` belongs to `user` [default: ":"]
    #[arg(long, value_name = "STR", value_parser = parse_delimiter, global = true)]
    pub key_delimiter: Option<String>,
    /// Key sampler: also ask MEMORY USAGE (SAMPLES 5) of each key, for byte estimates
    #[arg(long, global = true)]
    pub sample_memory: bool,
    /// Key sampler: ask each key's length or element count; auto = only where CLIENT NO-TOUCH exists (Redis ≥ 7.2), since before it these reads update the key's LRU/LFU data [default: auto]
    #[arg(long, value_name = "WHEN", global = true)]
    pub sample_elements: Option<ElementCounts>,
    /// Disk the Postgres databases may use (e.g. 500GiB): their size is shown against it
    #[arg(long, value_name = "SIZE", value_parser = parse_capacity, global = true)]
    pub pg_capacity: Option<u64>,
    /// Flush client statistics to PostgreSQL tables (created if missing) and show the totals every console stored
    #[arg(long, value_name = "URL", global = true)]
    pub stats_sink: Option<String>,
    /// Schema of the stats sink's tables [default: heliostat]
    #[arg(long, value_name = "NAME", global = true, requires = "stats_sink")]
    pub stats_sink_schema: Option<String>,
    /// What to do instead of running the console
    #[command(subcommand)]
    pub command: Option<Command>,
}

mod scope;

impl Cli {
    /// Parses the process arguments, exiting with clap's message on error;
    /// an option the subcommand does not take is refused.
    pub fn parse() -> Cli {
        scope::parse(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Like [`Cli::parse`], from `args` (the program name first).
    pub fn parse_scoped<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        scope::parse(args)
    }
}

/// Subcommands.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// Render one frame without a terminal (reproducible for the demo)
    #[command(after_help = SNAPSHOT_AFTER_HELP)]
    Snapshot(SnapshotArgs),
    /// Warm the cache with a rule from the config file, without the console
    Warm(WarmArgs),
    /// Publish access events to a stream (--redis, --events; see docs/EVENTS.md)
    #[command(after_help = EMIT_AFTER_HELP)]
    Emit(EmitArgs),
}

const EMIT_AFTER_HELP: &str = "\
Examples:
  heliostat emit --redis redis://localhost:6379 --events heliostat:events \\
      client=api table=users key=user:42 op=get hit=1 latency_us=180 saved_us=2400
  heliostat emit --redis redis://localhost:6379 --events heliostat:events --count 100000
      (no FIELD=VALUE: a synthetic workload of plausible events)
  heliostat emit --redis redis://localhost:6379 --events bench --count 1000000 --distinct
      (every event names a new client, table, query and key)";

/// Arguments of `heliostat warm`.
#[derive(Debug, Clone, PartialEq, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["keys", "keys_file", "preload", "from_queue"])))]
pub struct WarmArgs {
    /// The rule (`[[warm.rules]]` name)
    #[arg(long, value_name = "NAME")]
    pub rule: String,
    /// Keys to warm, comma-separated
    #[arg(long, value_name = "K1,K2,…", value_delimiter = ',')]
    pub keys: Vec<String>,
    /// Keys to warm, one per line, spaces included ("-": standard input)
    #[arg(long, value_name = "FILE")]
    pub keys_file: Option<PathBuf>,
    /// The keys the rule's hot_keys_query lists
    #[arg(long)]
    pub preload: bool,
    /// The warming queue's keys that match the rule, after watching the servers (--redis, --events) for --watch seconds
    #[arg(long)]
    pub from_queue: bool,
    /// With --from-queue: how long to watch before warming [default: 10]
    // Checked by `warm`: clap's `requires` counts a bool flag as always
    // present (it defaults to false).
    #[arg(long, value_name = "SECS")]
    pub watch: Option<u64>,
    /// Read everything, write nothing, print what would happen
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `heliostat emit`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct EmitArgs {
    /// How many events to publish
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u64,
    /// Events per second at most (0 = as fast as the server takes them)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rate: u64,
    /// Cap the stream with XADD MAXLEN ~ N (0 = no cap)
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub maxlen: u64,
    /// Synthetic events whose client, table, query and key are new in every
    /// event (to measure memory against unbounded names)
    #[arg(long, conflicts_with = "fields")]
    pub distinct: bool,
    /// The event's fields (schema in docs/EVENTS.md); none: synthetic events
    #[arg(value_name = "FIELD=VALUE")]
    pub fields: Vec<String>,
}

/// Arguments of `heliostat snapshot` (the global flags such as --seed and
/// --theme apply too).
#[derive(Debug, Clone, PartialEq, Args)]
pub struct SnapshotArgs {
    /// Demo: virtual time of the frame, seconds after the demo's fixed UTC epoch
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub at: u64,
    /// Live sources: seconds to poll before rendering (0 to 300)
    #[arg(long, value_name = "SECS", default_value = "3", value_parser = parse_wait)]
    pub wait: f64,
    /// Screen size in cells, at least 20x5
    #[arg(long, value_name = "WxH", default_value = "120x40")]
    pub size: TermSize,
    /// Render one pane instead of the full screen
    #[arg(long, value_name = "NAME")]
    pub pane: Option<Pane>,
    /// Output format [default: from the -o extension, else txt]
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<SnapshotFormat>,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl SnapshotArgs {
    /// The format asked for, else the one the output file's extension names
    /// (`.svg`, `.ansi`), else text.
    pub fn effective_format(&self) -> SnapshotFormat {
        if let Some(f) = self.format {
            return f;
        }
        let ext = self
            .output
            .as_deref()
            .and_then(Path::extension)
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => SnapshotFormat::Svg,
            Some("ansi") => SnapshotFormat::Ansi,
            _ => SnapshotFormat::Txt,
        }
    }
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    /// Colours if the terminal supports them and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Colours even when not detected.
    Always,
    /// No colours.
    Never,
}

/// Output format of `snapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SnapshotFormat {
    /// Plain text.
    Txt,
    /// Text with ANSI colour escapes.
    Ansi,
    /// An SVG image.
    Svg,
}

impl ValueEnum for Pane {
    fn value_variants<'a>() -> &'a [Self] {
        &Pane::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

/// Smallest snapshot size accepted.
pub const MIN_SIZE: TermSize = TermSize {
    width: 20,
    height: 5,
};

/// A screen size in cells, written `WxH` (e.g. `120x40`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TermSize {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

impl fmt::Display for TermSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl FromStr for TermSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a size; write WIDTHxHEIGHT, e.g. 120x40");
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        // Digits that overflow are a size too large, not "not a size".
        let dim = |d: &str| -> Result<u16, String> {
            let d = d.trim();
            if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) {
                Ok(d.parse().unwrap_or(u16::MAX))
            } else {
                Err(bad())
            }
        };
        let (width, height) = (dim(w)?, dim(h)?);
        if width < MIN_SIZE.width || height < MIN_SIZE.height {
            return Err(format!("size {s} is too small; the minimum is {MIN_SIZE}"));
        }
        if width > 1000 || height > 1000 {
            return Err(format!("size {s} is too large; at most 1000x1000"));
        }
        Ok(TermSize { width, height })
    }
}

/// Checks a refresh interval (shared with the config file).
pub fn check_refresh(secs: f64) -> Result<f64, String> {
    if secs.is_finite() && (REFRESH_MIN..=REFRESH_MAX).contains(&secs) {
        Ok(secs)
    } else {
        // `{secs}` of 1e-320 would print 320 digits: at most 6 significant.
        let got = if secs.is_finite() && secs != 0.0 && !(1e-3..1e6).contains(&secs.abs()) {
            format!("{secs:.3e}")
        } else {
            format!("{secs}")
        };
        Err(format!(
            "refresh must be between {REFRESH_MIN} and {REFRESH_MAX} seconds, got {got}"
        ))
    }
}

fn parse_refresh(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    check_refresh(secs)
}

/// Checks a key-sampler budget (shared with the config file).
pub fn check_budget(n: u64) -> Result<u32, String> {
    u32::try_from(n)
        .ok()
        .filter(|&b| b <= MAX_BUDGET)
        .ok_or_else(|| {
            format!("the sample budget is 0 to {MAX_BUDGET} commands per second, got {n}")
        })
}

fn parse_capacity(s: &str) -> Result<u64, String> {
    crate::units::parse_size(s)
}

/// `--sample-budget`: a fixed rate or a share of the node's commands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleBudget {
    /// Commands per second (0 = off).
    Fixed(u32),
    /// Share of the node's commands (0..=0.5).
    Share(f64),
}

fn parse_budget(s: &str) -> Result<SampleBudget, String> {
    if s.trim_end().ends_with('%') {
        return parse_share(s).map(SampleBudget::Share);
    }
    parse_budget_n(s).map(SampleBudget::Fixed)
}

/// A share as written: `"5%"`, `"2.5%"` (0 < share ≤ 50 %); shared with
/// the config file.
pub fn parse_share(s: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "`{s}` is not a share of the node's commands; write a percentage like \"5%\" \
             (above 0, at most {:.0}%)",
            MAX_SHARE * 100.0
        )
    };
    let pct: f64 = s
        .trim()
        .strip_suffix('%')
        .ok_or_else(bad)?
        .trim()
        .parse()
        .map_err(|_| bad())?;
    let share = pct / 100.0;
    if share.is_finite() && share > 0.0 && share <= MAX_SHARE {
        Ok(share)
    } else {
        Err(bad())
    }
}

fn parse_budget_n(s: &str) -> Result<u32, String> {
    let n: u64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of commands per second"))?;
    check_budget(n)
}

/// Checks a key delimiter (shared with the config file): 1 to 8 characters.
pub fn check_delimiter(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if (1..=8).contains(&n) {
        Ok(s.to_string())
    } else {
        Err(format!("the key delimiter is 1 to 8 characters, got {n}"))
    }
}

fn parse_delimiter(s: &str) -> Result<String, String> {
    check_delimiter(s)
}

fn parse_wait(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if secs.is_finite() && (0.0..=300.0).contains(&secs) {
        Ok(secs)
    } else {
        Err(format!(
            "wait must be between 0 and 300 seconds, got {secs}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::parse_scoped(std::iter::once("heliostat").chain(args.iter().copied()))
    }

    fn snap(args: &[&str]) -> SnapshotArgs {
        match parse(args).unwrap().command {
            Some(Command::Snapshot(s)) => s,
            other => panic!("not a snapshot: {other:?}"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_arguments_is_the_demo_console() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.command, None);
        assert!(cli.redis.is_empty() && cli.postgres.is_empty());
        assert!(!cli.demo && !cli.read_only && !cli.allow_writes);
        assert_eq!(cli.refresh, None);
    }

    #[test]
    fn all_console_flags() {
        let cli = parse(&[
            "--context",
            "prod",
            "--config",
            "/etc/h.toml",
            "--redis",
            "redis://a:6379",
            "--redis",
            "rediss://b:6380",
            "--postgres",
            "postgres://app@db/app",
            "--events",
            "h:ev",
            "--theme",
            "light",
            "--color",
            "never",
            "--refresh",
            "2.5",
            "--read-only",
            "--redact-keys",
            "--seed",
            "42",
            "--log-file",
            "/tmp/h.log",
        ])
        .unwrap();
        assert_eq!(cli.context.as_deref(), Some("prod"));
        assert_eq!(cli.config, Some(PathBuf::from("/etc/h.toml")));
        assert_eq!(cli.redis, ["redis://a:6379", "rediss://b:6380"]);
        assert_eq!(cli.postgres, ["postgres://app@db/app"]);
        assert_eq!(cli.events.as_deref(), Some("h:ev"));
        assert_eq!(cli.theme.as_deref(), Some("light"));
        assert_eq!(cli.color, Some(ColorMode::Never));
        assert_eq!(cli.refresh, Some(2.5));
        assert!(cli.read_only && cli.redact_keys);
        assert_eq!(cli.seed, Some(42));
        assert_eq!(cli.log_file, Some(PathBuf::from("/tmp/h.log")));
    }

    #[test]
    fn key_sampler_flags() {
        let cli = parse(&[]).unwrap();
        assert_eq!((cli.sample_budget, cli.key_delimiter.clone()), (None, None));
        assert!(!cli.sample_memory && cli.sample_elements.is_none());
        let cli = parse(&[
            "--sample-budget",
            "0",
            "--key-delimiter",
            "/",
            "--sample-memory",
            "--sample-elements",
            "off",
        ])
        .unwrap();
        assert_eq!(cli.sample_budget, Some(SampleBudget::Fixed(0)));
        assert_eq!(cli.key_delimiter.as_deref(), Some("/"));
        assert!(cli.sample_memory);
        assert_eq!(cli.sample_elements, Some(ElementCounts::Off));
        let cli = parse(&["--sample-budget", "2.5%", "--sample-floor", "5"]).unwrap();
        assert_eq!(cli.sample_budget, Some(SampleBudget::Share(0.025)));
        assert_eq!((cli.sample_floor, cli.sample_cap), (Some(5), None));
        for bad in [
            &["--sample-budget", "-1"][..],
            &["--sample-budget", "2000000"],
            &["--sample-budget", "0%"],
            &["--sample-budget", "60%"],
            &["--sample-cap", "x"],
            &["--key-delimiter", ""],
            &["--key-delimiter", "123456789"],
            &["--sample-elements", "sometimes"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn read_only_and_allow_writes_conflict() {
        let e = parse(&["--read-only", "--allow-writes"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ArgumentConflict);
        assert!(parse(&["--allow-writes"]).unwrap().allow_writes);
    }

    #[test]
    fn demo_conflicts_with_sources() {
        let e = parse(&["--demo", "--redis", "redis://x"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ArgumentConflict);
        assert!(parse(&["--demo", "--seed", "3"]).unwrap().demo);
    }

    #[test]
    fn refresh_range_is_checked() {
        for ok in ["0.25", "1", "10"] {
            assert!(parse(&["--refresh", ok]).is_ok(), "{ok}");
        }
        for bad in ["0.1", "10.5", "NaN", "inf", "fast"] {
            let e = parse(&["--refresh", bad]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ValueValidation, "{bad}");
        }
        let msg = parse(&["--refresh", "20"]).unwrap_err().to_string();
        assert!(msg.contains("between 0.25 and 10"), "{msg}");
        let msg = parse(&["--refresh", "1e-320"]).unwrap_err().to_string();
        assert!(msg.contains("got 1.000e-320"), "{msg}");
        assert!(msg.len() < 200, "{msg}");
    }

    #[test]
    fn bad_color_lists_choices() {
        let msg = parse(&["--color", "sometimes"]).unwrap_err().to_string();
        assert!(msg.contains("auto") && msg.contains("never"), "{msg}");
    }

    #[test]
    fn snapshot_defaults() {
        let s = snap(&["snapshot"]);
        assert_eq!(s.at, 600);
        assert_eq!(s.wait, 3.0);
        assert_eq!(
            s.size,
            TermSize {
                width: 120,
                height: 40
            }
        );
        assert_eq!(s.pane, None);
        assert_eq!(s.effective_format(), SnapshotFormat::Txt);
        assert_eq!(s.output, None);
    }

    #[test]
    fn snapshot_flags_and_global_flags_after_subcommand() {
        let cli = parse(&[
            "snapshot", "--seed", "9", "--at", "3600", "--wait", "0.5", "--size", "200x50",
            "--pane", "warming", "--format", "svg", "--theme", "mono", "-o", "out.txt",
        ])
        .unwrap();
        assert_eq!(cli.seed, Some(9));
        assert_eq!(cli.theme.as_deref(), Some("mono"));
        let Some(Command::Snapshot(s)) = cli.command else {
            panic!()
        };
        assert_eq!(s.at, 3600);
        assert_eq!(s.wait, 0.5);
        assert_eq!(s.size.to_string(), "200x50");
        assert_eq!(s.pane, Some(Pane::Warming));
        assert_eq!(
            s.effective_format(),
            SnapshotFormat::Svg,
            "explicit format wins"
        );
        assert_eq!(s.output, Some(PathBuf::from("out.txt")));
    }

    #[test]
    fn snapshot_format_from_extension() {
        assert_eq!(
            snap(&["snapshot", "-o", "a.SVG"]).effective_format(),
            SnapshotFormat::Svg
        );
        assert_eq!(
            snap(&["snapshot", "-o", "a.ansi"]).effective_format(),
            SnapshotFormat::Ansi
        );
        assert_eq!(
            snap(&["snapshot", "-o", "a.txt"]).effective_format(),
            SnapshotFormat::Txt
        );
    }

    #[test]
    fn snapshot_rejects_bad_values() {
        for args in [
            ["snapshot", "--size", "19x5"],
            ["snapshot", "--size", "20x4"],
            ["snapshot", "--size", "120"],
            ["snapshot", "--size", "axb"],
            ["snapshot", "--pane", "Heatmap"],
            ["snapshot", "--pane", "header"],
            ["snapshot", "--format", "png"],
            ["snapshot", "--wait", "-1"],
            ["snapshot", "--at", "-5"],
        ] {
            assert!(parse(&args).is_err(), "{args:?}");
        }
        let msg = parse(&["snapshot", "--pane", "x"]).unwrap_err().to_string();
        assert!(msg.contains("heatmap") && msg.contains("clients"), "{msg}");
        let msg = parse(&["snapshot", "--size", "10x10"])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("minimum is 20x5"), "{msg}");
        assert_eq!("20X5".parse::<TermSize>(), Ok(MIN_SIZE));
        let e = "99999x99999".parse::<TermSize>().unwrap_err();
        assert!(e.contains("too large"), "{e}");
        let e = "12ax40".parse::<TermSize>().unwrap_err();
        assert!(e.contains("not a size"), "{e}");
    }

    #[test]
    fn help_has_examples() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Examples:"), "{help}");
        assert!(help.contains("heliostat --context prod"), "{help}");
        assert!(help.contains("REDIS_URL"), "{help}");
        let mut cmd = Cli::command();
        let snap = cmd
            .find_subcommand_mut("snapshot")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(snap.contains("--size <WxH>"), "{snap}");
        assert!(snap.contains("heliostat snapshot --pane warming"), "{snap}");
    }
}
