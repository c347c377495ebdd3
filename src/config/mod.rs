//! Configuration: the TOML file with k9s-style contexts, the environment and
//! the command line, resolved into one [`Settings`].
//!
//! Precedence, highest first: command-line flags, environment (`REDIS_URL`,
//! `DATABASE_URL`), the selected context, the file's top-level values,
//! built-in defaults. Two refinements: an explicit `--context` beats the
//! environment (so `REDIS_URL` from a dev shell never hides a `prod`
//! context's servers), and `snapshot` reads only its arguments (no
//! environment, no default config file) so its output is reproducible.
//!
//! `REDISCLI_AUTH` (the password redis-cli reads) and `--tls-ca/--tls-cert/
//! --tls-key` are folded into each Redis URL that lacks its own.
//!
//! The environment is a parameter ([`Env`]), never read here, so tests are
//! hermetic: `resolve(&cli, &Env::from_process())` in `main`, an `Env`
//! literal in tests.

mod error;
mod file;
mod sampler;
mod secrets;
mod sink;
mod warm;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use self::error::ConfigError;
pub use self::file::{ConfigFile, ContextConfig, DeclaredBackend, DeclaredKind, parse_config};
pub use self::sampler::{BudgetSpec, SamplerFile};
use self::secrets::{UrlKind, check_url};
pub use self::sink::{SinkFile, StatsSink};
pub use crate::cli::ColorMode;
use crate::cli::{Cli, Command};
use crate::keymap::Keymap;
pub use crate::redact::{redact_url, url_has_password};
use crate::sources::redis::endpoint::{TlsFiles, with_defaults};
use crate::sources::redis::sampler::SamplerConfig;

/// Demo seed when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 1;
/// Refresh interval when nothing sets one, in seconds.
pub const DEFAULT_REFRESH_SECS: f64 = 1.0;
/// Theme when nothing sets one.
pub const DEFAULT_THEME: &str = "default";

/// The parts of the process environment heliostat reads, passed in so tests
/// can inject them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    /// Variables by name (only [`Env::VARS`] are taken from the process).
    pub vars: BTreeMap<String, String>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME`.
    pub xdg: Option<PathBuf>,
}

impl Env {
    /// The variables heliostat reads.
    pub const VARS: [&'static str; 4] = ["REDIS_URL", "DATABASE_URL", "NO_COLOR", "REDISCLI_AUTH"];

    /// The real environment (call this in `main` only).
    pub fn from_process() -> Env {
        let vars = Env::VARS
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_string(), v)))
            .collect();
        let path = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Env {
            vars,
            home: path("HOME"),
            xdg: path("XDG_CONFIG_HOME"),
        }
    }

    /// A variable's value; empty counts as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `$XDG_CONFIG_HOME/heliostat/config.toml`, else
    /// `$HOME/.config/heliostat/config.toml` (a relative XDG path is ignored,
    /// as the XDG spec says).
    pub fn default_config_path(&self) -> Option<PathBuf> {
        let base = self
            .xdg
            .clone()
            .filter(|p| p.is_absolute())
            .or_else(|| self.home.as_ref().map(|h| h.join(".config")))?;
        Some(base.join("heliostat").join("config.toml"))
    }

    /// `p` with a leading `~/` replaced by `$HOME/`.
    fn expand_home(&self, p: &str) -> String {
        match (p.strip_prefix("~/"), &self.home) {
            (Some(rest), Some(home)) => home.join(rest).to_string_lossy().into_owned(),
            _ => p.to_string(),
        }
    }
}

/// Where the data comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Mode {
    /// The built-in simulated workload.
    Demo,
    /// Real servers. URLs may hold passwords: show them with [`redact_url`].
    Live {
        /// Redis URLs.
        redis: Vec<String>,
        /// Postgres URLs.
        postgres: Vec<String>,
        /// Access-event stream on the (first) Redis source.
        events: Option<String>,
        /// Redis holding the stream, when not the first Redis source.
        events_redis: Option<String>,
        /// Read the entries already in the stream too.
        events_catch_up: bool,
    },
}

impl fmt::Debug for Mode {
    /// Redacts passwords, so `?settings` in a log is safe.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Demo => f.write_str("Demo"),
            Mode::Live {
                redis,
                postgres,
                events,
                events_redis,
                events_catch_up,
            } => {
                let r = |v: &[String]| v.iter().map(|u| redact_url(u)).collect::<Vec<_>>();
                f.debug_struct("Live")
                    .field("redis", &r(redis))
                    .field("postgres", &r(postgres))
                    .field("events", events)
                    .field("events_redis", &events_redis.as_deref().map(redact_url))
                    .field("events_catch_up", events_catch_up)
                    .finish()
            }
        }
    }
}

/// A context's banner in the header (e.g. a red PROD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// Text, 1–24 characters.
    pub label: String,
    /// Colour name or `#rrggbb` (valid for `ratatui::style::Color::from_str`);
    /// `None` leaves it to the theme.
    pub color: Option<String>,
}

/// The resolved configuration the app runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Demo or live sources.
    pub mode: Mode,
    /// What the user should know before the console starts (printed to
    /// stderr, then shown in the status line), e.g. a password in `ps`.
    pub warnings: Vec<String>,
    /// Selected context, if any.
    pub context: Option<String>,
    /// The context's banner, if any.
    pub banner: Option<Banner>,
    /// Theme name or path.
    pub theme: String,
    /// Where the file chose the theme (its message empty), `None` for a
    /// flag or the default: [`Settings::theme_error`] fills it in.
    pub theme_at: Option<Located>,
    /// When to use colours (`NO_COLOR` already folded in: it gives `Never`
    /// unless `--color` or the file says otherwise).
    pub color: ColorMode,
    /// Data tick, 0.25 s to 10 s.
    pub refresh: Duration,
    /// Whether actions that write may run.
    pub writes_allowed: bool,
    /// Whether the console warms by itself (`--auto-warm`, `auto_warm`).
    pub auto_warm: bool,
    /// `--read-only` was given.
    pub read_only: bool,
    /// Why writes are off, phrased for the status line; `None` when allowed.
    pub read_only_reason: Option<String>,
    /// Show key names only up to their prefix.
    pub redact_keys: bool,
    /// Listen to keyspace notifications: misses, expiries, evictions
    /// (`--key-events`, alias `--expiry-events`; `key_events` per context).
    pub key_events: bool,
    /// Demo seed.
    pub seed: u64,
    /// Log file, if logging is wanted.
    pub log_file: Option<PathBuf>,
    /// Key bindings with the file's overrides applied.
    pub keymap: Keymap,
    /// The config file that was read, if any.
    pub config_path: Option<PathBuf>,
    /// Backends declared with static figures (`[[backends]]`).
    pub declared: Vec<DeclaredBackend>,
    /// The Redis key sampler (flags, else `[sampler]`, else defaults).
    pub sampler: SamplerConfig,
    /// Warm rules (`[[warm.rules]]`), checked, that this context may use.
    pub warm_rules: Vec<crate::ops::warm::rules::Rule>,
    /// Rules of the file this context may not use, and why (`heliostat
    /// warm --rule` says so instead of "no such rule").
    pub warm_rules_elsewhere: Vec<(String, String)>,
    /// Where client statistics are flushed (`--stats-sink` or `[stats_sink]`).
    pub stats_sink: Option<StatsSink>,
    /// Disk the Postgres databases may use (`--pg-capacity`, a context's
    /// `pg_capacity`), in bytes.
    pub pg_capacity: Option<u64>,
}

/// Where in a config file a setting was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key path.
    pub key: Option<String>,
}

impl Settings {
    /// A theme that failed to load, said where it was chosen: the file's
    /// line and key, or `--theme`.
    pub fn theme_error(&self, message: String) -> ConfigError {
        match &self.theme_at {
            Some(at) => ConfigError::Invalid {
                path: at.path.clone(),
                line: at.line,
                key: at.key.clone(),
                message,
            },
            None => ConfigError::Arg {
                origin: "--theme".into(),
                message,
            },
        }
    }

    /// True when running the built-in demo.
    pub fn is_demo(&self) -> bool {
        self.mode == Mode::Demo
    }
}

fn is_snapshot(cli: &Cli) -> bool {
    matches!(cli.command, Some(Command::Snapshot(_)))
}

/// Loads the config file and resolves everything into [`Settings`].
pub fn resolve(cli: &Cli, env: &Env) -> Result<Settings, ConfigError> {
    let file = load(cli, env)?;
    resolve_with(cli, env, file.as_ref())
}

/// Reads the config file the command line and environment point at:
/// `--config PATH` (must exist), else the default path (may be missing).
/// `snapshot` reads the default file only when `--context` is given.
pub fn load(cli: &Cli, env: &Env) -> Result<Option<ConfigFile>, ConfigError> {
    if let Some(path) = &cli.config {
        return read_config(path, true);
    }
    if is_snapshot(cli) && cli.context.is_none() {
        return Ok(None);
    }
    match env.default_config_path() {
        Some(path) => read_config(&path, false),
        None => Ok(None),
    }
}

/// Reads and validates one config file; a missing file is `Ok(None)` unless
/// `explicit`.
pub fn read_config(path: &Path, explicit: bool) -> Result<Option<ConfigFile>, ConfigError> {
    let read_err = |cause| ConfigError::Read {
        path: path.to_path_buf(),
        cause,
    };
    use crate::files::{MAX_CONFIG_BYTES, ReadError, open_regular, read_from};
    let as_io = |e: ReadError| match e {
        ReadError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    };
    let (f, meta) = match open_regular(path) {
        Ok(x) => x,
        Err(e) if e.is_not_found() => {
            return if explicit {
                Err(ConfigError::NotFound {
                    path: path.to_path_buf(),
                })
            } else {
                Ok(None)
            };
        }
        Err(e) => return Err(read_err(as_io(e))),
    };
    let bytes = read_from(f, MAX_CONFIG_BYTES, "config").map_err(|e| read_err(as_io(e)))?;
    let src =
        String::from_utf8(bytes).map_err(|_| read_err(std::io::Error::other("not UTF-8 text")))?;
    parse_config(path, &src, file_mode(&meta)).map(Some)
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(meta.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> Option<u32> {
    None
}

/// Resolves settings from an already loaded file (no file system access).
pub fn resolve_with(
    cli: &Cli,
    env: &Env,
    file: Option<&ConfigFile>,
) -> Result<Settings, ConfigError> {
    let hermetic = is_snapshot(cli);
    let (ctx_name, ctx) = select_context(cli, env, file)?;
    let use_env = !hermetic && cli.context.is_none();
    let env_url = |name: &str| use_env.then(|| env.var(name)).flatten();
    let redis = pick_urls(
        UrlKind::Redis,
        ("--redis", &cli.redis),
        ("REDIS_URL", env_url("REDIS_URL")),
        ctx.map(|c| c.redis.as_slice()),
    )?;
    // REDISCLI_AUTH (as redis-cli reads it) and --tls-* fill in what each URL lacks.
    let tls = TlsFiles {
        ca: cli.tls_ca.clone(),
        cert: cli.tls_cert.clone(),
        key: cli.tls_key.clone(),
    };
    // Only fills URLs the user named, so a snapshot of the demo stays
    // hermetic while `snapshot --redis URL` gets the password a safe way.
    let password = env.var("REDISCLI_AUTH");
    let redis = redis
        .iter()
        .map(|u| with_defaults(u, password, &tls))
        .collect::<Vec<_>>();
    let postgres = pick_urls(
        UrlKind::Postgres,
        ("--postgres", &cli.postgres),
        ("DATABASE_URL", env_url("DATABASE_URL")),
        ctx.map(|c| c.postgres.as_slice()),
    )?;
    if cli.events.as_deref().is_some_and(|e| e.trim().is_empty()) {
        return Err(arg_err("--events", "the stream name is empty"));
    }
    let events = cli
        .events
        .clone()
        .or_else(|| ctx.and_then(|c| c.events.clone()));

    let mode = if cli.demo || (redis.is_empty() && postgres.is_empty() && events.is_none()) {
        Mode::Demo
    } else if events.is_some() && redis.is_empty() && cli.events_redis.is_none() {
        let msg = "access events are read from Redis, but no Redis source is configured";
        return Err(match (cli.events.is_some(), file, &ctx_name) {
            (false, Some(f), Some(name)) => f.error_at(
                &["contexts", name, "events"],
                format!("{msg}; add `redis = \"redis://…\"` to this context"),
            ),
            _ => arg_err("--events", &format!("{msg}; add --redis URL")),
        });
    } else {
        if let Some(url) = &cli.events_redis {
            check_url(UrlKind::Redis, url).map_err(|m| arg_err("--events-redis", &m))?;
        }
        Mode::Live {
            redis,
            postgres,
            events,
            events_redis: cli
                .events_redis
                .as_deref()
                .map(|u| with_defaults(u, password, &tls)),
            events_catch_up: cli.events_catch_up,
        }
    };

    let (writes_allowed, read_only_reason) = writes(cli, &mode, ctx_name.as_deref(), ctx);
    let named_ctx = ctx_name.as_deref().zip(ctx);
    let auto_warm = warm::auto_warm(cli, mode == Mode::Demo, named_ctx, writes_allowed)?;
    let (mut warm_rules, mut warm_rules_elsewhere) = (Vec::new(), Vec::new());
    for rule in file.map(|f| f.warm_rules.clone()).unwrap_or_default() {
        let why = match (&ctx_name, ctx) {
            (Some(name), Some(c)) => warm::not_for_context(&rule, name, c),
            _ => None,
        };
        match why {
            Some(why) => warm_rules_elsewhere.push((rule.name, why)),
            None => warm_rules.push(rule),
        }
    }
    let top = |f: fn(&ConfigFile) -> Option<String>| file.and_then(f).map(|v| env.expand_home(&v));
    let theme = cli
        .theme
        .clone()
        .or_else(|| {
            ctx.and_then(|c| c.theme.as_deref())
                .map(|t| env.expand_home(t))
        })
        .or_else(|| top(|f| f.theme.clone()))
        .unwrap_or_else(|| DEFAULT_THEME.to_string());
    // Where the theme was chosen, so a theme that fails to load names the
    // file, line and key that chose it.
    let theme_at = file
        .filter(|_| cli.theme.is_none())
        .and_then(|f| match (&ctx_name, ctx.and_then(|c| c.theme.as_ref())) {
            (Some(name), Some(_)) => Some(f.error_at(&["contexts", name, "theme"], "")),
            _ => f.theme.is_some().then(|| f.error_at(&["theme"], "")),
        })
        .and_then(|e| match e {
            ConfigError::Invalid {
                path, line, key, ..
            } => Some(Located { path, line, key }),
            _ => None,
        });
    let color = cli.color.or_else(|| file.and_then(|f| f.color)).unwrap_or(
        if !hermetic && env.var("NO_COLOR").is_some() {
            ColorMode::Never
        } else {
            ColorMode::Auto
        },
    );
    let refresh = cli
        .refresh
        .or_else(|| ctx.and_then(|c| c.refresh))
        .or_else(|| file.and_then(|f| f.refresh))
        .unwrap_or(DEFAULT_REFRESH_SECS);
    let redact_keys = cli.redact_keys
        || ctx
            .and_then(|c| c.redact_keys)
            .or_else(|| file.and_then(|f| f.redact_keys))
            .unwrap_or(false);
    let log_file = cli.log_file.clone().or_else(|| {
        top(|f| {
            f.log_file
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .map(PathBuf::from)
    });
    let mut sampler = SamplerConfig::default();
    let places: Vec<&SamplerFile> = [ctx.map(|c| &c.sampler), file.map(|f| &f.sampler)]
        .into_iter()
        .flatten()
        .collect();
    let mut budgets = vec![sampler::cli_budget(cli)];
    budgets.extend(places.iter().map(|p| p.budget));
    sampler::resolve_budget(&budgets, &mut sampler);
    sampler::resolve_rest(&places, cli, &mut sampler);
    Ok(Settings {
        mode,
        warnings: secrets::command_line_passwords(cli),
        sampler,
        banner: ctx.and_then(|c| c.banner.clone()),
        context: ctx_name,
        theme,
        theme_at,
        color,
        refresh: Duration::from_secs_f64(refresh),
        writes_allowed,
        auto_warm,
        read_only: cli.read_only,
        read_only_reason,
        redact_keys,
        key_events: cli.key_events || ctx.and_then(|c| c.key_events).unwrap_or(false),
        seed: cli.seed.unwrap_or(DEFAULT_SEED),
        log_file,
        keymap: file.map(|f| f.keymap.clone()).unwrap_or_default(),
        declared: file.map(|f| f.backends.clone()).unwrap_or_default(),
        warm_rules,
        warm_rules_elsewhere,
        pg_capacity: cli.pg_capacity.or_else(|| ctx.and_then(|c| c.pg_capacity)),
        stats_sink: sink::resolve(
            cli.stats_sink.as_deref(),
            cli.stats_sink_schema.as_deref(),
            file.map(|f| &f.stats_sink),
        )?,
        config_path: file.map(|f| f.path.clone()),
    })
}

fn arg_err(origin: &str, message: &str) -> ConfigError {
    ConfigError::Arg {
        origin: origin.to_string(),
        message: message.to_string(),
    }
}

/// The context named by `--context`, else by the file's `context` key.
fn select_context<'f>(
    cli: &Cli,
    env: &Env,
    file: Option<&'f ConfigFile>,
) -> Result<(Option<String>, Option<&'f ContextConfig>), ConfigError> {
    let Some(name) = cli
        .context
        .clone()
        .or_else(|| file.and_then(|f| f.context.clone()))
    else {
        return Ok((None, None));
    };
    match file.and_then(|f| f.contexts.get(&name)) {
        Some(ctx) => Ok((Some(name), Some(ctx))),
        None => Err(ConfigError::UnknownContext {
            name,
            path: file
                .map(|f| f.path.clone())
                .or_else(|| cli.config.clone())
                .or_else(|| env.default_config_path()),
            found: file.is_some(),
            known: file.map(ConfigFile::context_names).unwrap_or_default(),
        }),
    }
}

/// Flag values, else the environment variable, else the context's list.
fn pick_urls(
    kind: UrlKind,
    (flag, given): (&str, &[String]),
    (var, from_env): (&str, Option<&str>),
    from_ctx: Option<&[String]>,
) -> Result<Vec<String>, ConfigError> {
    let (origin, urls) = if !given.is_empty() {
        (flag, given.to_vec())
    } else if let Some(url) = from_env {
        (var, vec![url.to_string()])
    } else {
        // Context URLs were checked when the file was loaded.
        return Ok(from_ctx.map(<[String]>::to_vec).unwrap_or_default());
    };
    for url in &urls {
        check_url(kind, url).map_err(|m| arg_err(origin, &m))?;
    }
    Ok(urls)
}

/// Whether writes are allowed, and if not, why (for the status line).
fn writes(
    cli: &Cli,
    mode: &Mode,
    ctx_name: Option<&str>,
    ctx: Option<&ContextConfig>,
) -> (bool, Option<String>) {
    if cli.read_only {
        return (false, Some("read-only: started with --read-only".into()));
    }
    if cli.allow_writes || *mode == Mode::Demo || ctx.and_then(|c| c.allow_writes) == Some(true) {
        return (true, None);
    }
    let why = match ctx_name {
        Some(name) => format!(
            "read-only: context `{name}` does not allow writes (set allow_writes = true in it, \
             or start with --allow-writes)"
        ),
        None => "read-only: live servers are read-only unless started with --allow-writes \
                 (or a context sets allow_writes = true)"
            .to_string(),
    };
    (false, Some(why))
}

#[cfg(test)]
mod tests;
