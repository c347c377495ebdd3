//! The config file: serde shapes (all fields optional, unknown keys refused),
//! a locator that maps key paths and toml spans to lines, and the checks that
//! turn a parsed file into a validated [`ConfigFile`].

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::de::{DeTable, DeValue};

use super::Banner;
use super::error::ConfigError;
use super::sampler::{RawSampler, SamplerFile};
use super::secrets::{UrlKind, check_url, first_secret};
use crate::cli::{ColorMode, check_refresh};
use crate::keymap::{Keymap, KeysConfig};

/// A string or a list of strings (`redis = "…"` or `redis = ["…", "…"]`).
#[derive(Debug, Default)]
struct StringList(Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                Ok(StringList(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(StringList(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    context: Option<String>,
    theme: Option<String>,
    refresh: Option<f64>,
    color: Option<ColorMode>,
    log_file: Option<PathBuf>,
    redact_keys: Option<bool>,
    #[serde(default)]
    contexts: BTreeMap<String, RawContext>,
    #[serde(default)]
    keys: BTreeMap<String, BTreeMap<String, StringList>>,
    #[serde(default)]
    backends: Vec<DeclaredBackend>,
    sampler: Option<RawSampler>,
    warm: Option<super::warm::RawWarm>,
    stats_sink: Option<super::sink::RawSink>,
}

/// A backend kind heliostat does not monitor, declared with static figures
/// (`[[backends]]`) so the Optimizer pane can rank it beside the measured
/// instances.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredBackend {
    /// Display name.
    pub name: String,
    /// One of kafka, nats, pulsar, kinesis, memory, redis.
    pub kind: DeclaredKind,
    /// Typical latency (ms).
    pub latency_ms: f64,
    /// Tail latency (ms), if known.
    pub p99_ms: Option<f64>,
    /// Sustainable throughput (events/s).
    pub throughput_eps: f64,
    /// Fraction of successful requests, 0..=1.
    pub reliability: f64,
    /// Hourly cost, if known (replaces the kind's baseline).
    pub cost_per_hour: Option<f64>,
}

/// Kinds a user may declare (the seed's backend kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeclaredKind {
    /// Apache Kafka.
    Kafka,
    /// NATS.
    Nats,
    /// Apache Pulsar.
    Pulsar,
    /// AWS Kinesis.
    Kinesis,
    /// In-process memory.
    Memory,
    /// A Redis the console does not poll.
    Redis,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    redis: Option<StringList>,
    postgres: Option<StringList>,
    events: Option<String>,
    refresh: Option<f64>,
    theme: Option<String>,
    banner: Option<RawBanner>,
    allow_writes: Option<bool>,
    auto_warm: Option<bool>,
    redact_keys: Option<bool>,
    key_events: Option<bool>,
    pg_capacity: Option<String>,
    sampler: Option<RawSampler>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { label = \"PROD\", color = \"red\" }"
)]
struct RawBanner {
    label: String,
    color: Option<String>,
}

/// A validated config file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The context used when `--context` is not given.
    pub context: Option<String>,
    /// Theme name or path.
    pub theme: Option<String>,
    /// Refresh interval in seconds.
    pub refresh: Option<f64>,
    /// When to use colours.
    pub color: Option<ColorMode>,
    /// Log file.
    pub log_file: Option<PathBuf>,
    /// Show key names only up to their prefix.
    pub redact_keys: Option<bool>,
    /// Named contexts.
    pub contexts: BTreeMap<String, ContextConfig>,
    /// Default keys patched with the file's `[keys.*]` tables.
    pub keymap: Keymap,
    /// `[[backends]]` declared with static figures.
    pub backends: Vec<DeclaredBackend>,
    /// `[sampler]`.
    pub sampler: SamplerFile,
    /// `[[warm.rules]]`, checked.
    pub warm_rules: Vec<crate::ops::warm::rules::Rule>,
    /// `[stats_sink]`, checked.
    pub stats_sink: super::sink::SinkFile,
    locator: Locator,
}

/// One `[contexts.NAME]` table. Debug output redacts passwords.
#[derive(Clone, Default, PartialEq)]
pub struct ContextConfig {
    /// Redis URLs.
    pub redis: Vec<String>,
    /// Postgres URLs.
    pub postgres: Vec<String>,
    /// Access-event stream.
    pub events: Option<String>,
    /// Refresh interval in seconds.
    pub refresh: Option<f64>,
    /// Theme name or path.
    pub theme: Option<String>,
    /// Banner shown in the header.
    pub banner: Option<Banner>,
    /// Whether actions that write are allowed against these servers.
    pub allow_writes: Option<bool>,
    /// Whether the console warms by itself (needs writes allowed).
    pub auto_warm: Option<bool>,
    /// Show key names only up to their prefix.
    pub redact_keys: Option<bool>,
    /// Listen to keyspace notifications (misses, expiries, evictions).
    pub key_events: Option<bool>,
    /// Disk the Postgres databases may use, in bytes.
    pub pg_capacity: Option<u64>,
    /// `[contexts.NAME.sampler]`: the key sampler's settings here.
    pub sampler: SamplerFile,
}

impl fmt::Debug for ContextConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &[String]| {
            v.iter()
                .map(|u| crate::redact::redact_url(u))
                .collect::<Vec<_>>()
        };
        f.debug_struct("ContextConfig")
            .field("redis", &redact(&self.redis))
            .field("postgres", &redact(&self.postgres))
            .field("events", &self.events)
            .field("refresh", &self.refresh)
            .field("theme", &self.theme)
            .field("banner", &self.banner)
            .field("allow_writes", &self.allow_writes)
            .field("auto_warm", &self.auto_warm)
            .field("redact_keys", &self.redact_keys)
            .field("key_events", &self.key_events)
            .finish()
    }
}

impl ConfigFile {
    /// Context names, sorted.
    pub fn context_names(&self) -> Vec<String> {
        self.contexts.keys().cloned().collect()
    }

    /// An error about `path` (key segments; `[i]` for array elements), with
    /// its line when the file has that key.
    pub(crate) fn error_at(&self, path: &[&str], message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            line: self.locator.line_near(path),
            key: Some(key_name(path)),
            message: message.into(),
        }
    }
}

/// Key paths of the document with the spans of their keys and values.
#[derive(Debug, Clone, Default)]
struct Locator {
    /// Line starts, for span → line.
    line_starts: Vec<usize>,
    /// (path, key span, value span) for every key and array element.
    entries: Vec<(Vec<String>, Range<usize>, Range<usize>)>,
}

impl Locator {
    fn new(src: &str, table: &DeTable<'_>) -> Locator {
        let mut loc = Locator {
            line_starts: std::iter::once(0)
                .chain(src.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            entries: Vec::new(),
        };
        loc.walk_table(&mut Vec::new(), table);
        loc
    }

    fn walk_table(&mut self, path: &mut Vec<String>, table: &DeTable<'_>) {
        for (k, v) in table.iter() {
            path.push(k.get_ref().to_string());
            self.entries.push((path.clone(), k.span(), v.span()));
            self.walk_value(path, v.get_ref());
            path.pop();
        }
    }

    fn walk_value(&mut self, path: &mut Vec<String>, v: &DeValue<'_>) {
        if let Some(t) = v.as_table() {
            self.walk_table(path, t);
        } else if let Some(items) = v.as_array() {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                self.entries.push((path.clone(), item.span(), item.span()));
                self.walk_value(path, item.get_ref());
                path.pop();
            }
        }
    }

    /// 1-based line of byte offset `at`.
    fn line(&self, at: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= at).max(1)
    }

    fn line_of(&self, path: &[&str]) -> Option<usize> {
        self.entries
            .iter()
            .find(|(p, _, _)| p.iter().map(String::as_str).eq(path.iter().copied()))
            .map(|(_, k, _)| self.line(k.start))
    }

    /// The line of `path`, or of the nearest enclosing table that is in
    /// the file (a key that is missing is reported where it belongs).
    fn line_near(&self, path: &[&str]) -> Option<usize> {
        (1..=path.len())
            .rev()
            .find_map(|n| self.line_of(&path[..n]))
    }

    /// The narrowest key whose key or value span holds `at`.
    fn key_at(&self, at: usize) -> Option<String> {
        let holds =
            |r: &Range<usize>| r.start <= at && (at < r.end || r.is_empty() && at == r.start);
        self.entries
            .iter()
            .flat_map(|(p, k, v)| [(p, k), (p, v)])
            .filter(|(_, r)| holds(r))
            .min_by_key(|(_, r)| r.len())
            .map(|(p, _)| key_name(&p.iter().map(String::as_str).collect::<Vec<_>>()))
    }
}

/// `contexts.prod.redis[1]` from its segments.
fn key_name(path: &[&str]) -> String {
    let mut s = String::new();
    for seg in path {
        if !s.is_empty() && !seg.starts_with('[') {
            s.push('.');
        }
        s.push_str(seg);
    }
    s
}

/// Parses and validates the config file at `path` whose text is `src`.
/// `mode` is the file's unix permission bits (`None` where unknown): a file
/// holding a password must not be readable by group or others.
pub fn parse_config(path: &Path, src: &str, mode: Option<u32>) -> Result<ConfigFile, ConfigError> {
    let invalid = |line, key, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        key,
        message,
    };
    let doc = DeTable::parse(src).map_err(|e| {
        let line = e.span().map(|s| line_in(src, s.start));
        invalid(line, None, format!("invalid TOML: {}", e.message()))
    })?;
    let locator = Locator::new(src, doc.get_ref());
    if let Some(mode) = mode.filter(|m| m & 0o077 != 0)
        && let Some(secret) = first_secret(doc.get_ref())
    {
        let segs: Vec<&str> = secret.iter().map(String::as_str).collect();
        return Err(ConfigError::InsecureFile {
            path: path.to_path_buf(),
            line: locator.line_of(&segs).unwrap_or(1),
            key: key_name(&segs),
            mode: mode & 0o7777,
        });
    }
    let raw: RawConfig = toml::from_str(src).map_err(|e| {
        let span = e.span();
        let line = span.as_ref().map(|s| locator.line(s.start));
        let key = span.and_then(|s| locator.key_at(s.start));
        invalid(
            line,
            key,
            e.message().replace("expected f64", "expected a number"),
        )
    })?;
    let mut file = ConfigFile {
        path: path.to_path_buf(),
        context: raw.context,
        theme: raw.theme,
        refresh: raw.refresh,
        color: raw.color,
        log_file: raw.log_file,
        redact_keys: raw.redact_keys,
        contexts: BTreeMap::new(),
        keymap: Keymap::default(),
        backends: Vec::new(),
        sampler: SamplerFile::default(),
        warm_rules: Vec::new(),
        stats_sink: super::sink::SinkFile::default(),
        locator,
    };
    validate_top(&file)?;
    if let Some(sm) = raw.sampler {
        file.sampler =
            super::sampler::check(sm).map_err(|(k, m)| file.error_at(&["sampler", k], m))?;
    }
    for (i, b) in raw.backends.iter().enumerate() {
        let at = format!("[{i}]");
        let bad = |key: &str, what: &str| {
            file.error_at(&["backends", &at, key], format!("`{}`: {what}", b.name))
        };
        if b.name.trim().is_empty() {
            return Err(bad("name", "name is empty"));
        }
        let nums = [
            ("latency_ms", Some(b.latency_ms)),
            ("p99_ms", b.p99_ms),
            ("throughput_eps", Some(b.throughput_eps)),
            ("cost_per_hour", b.cost_per_hour),
        ];
        if let Some((key, _)) = nums
            .iter()
            .find(|(_, v)| v.is_some_and(|v| !v.is_finite() || v < 0.0))
        {
            return Err(bad(key, "must be a number ≥ 0"));
        }
        if !(0.0..=1.0).contains(&b.reliability) {
            return Err(bad(
                "reliability",
                "reliability is a fraction between 0 and 1 (e.g. 0.999)",
            ));
        }
    }
    file.backends = raw.backends;
    let warm = raw.warm;
    if let Some(sk) = raw.stats_sink {
        file.stats_sink = super::sink::sink(sk, &file)?;
    }
    for (name, ctx) in raw.contexts {
        let ctx = validate_context(&file, &name, ctx)?;
        file.contexts.insert(name, ctx);
    }
    // After the contexts: a rule names the contexts it belongs to.
    if let Some(w) = warm {
        file.warm_rules = super::warm::rules(w, &file)?;
    }
    if let Some(name) = &file.context
        && !file.contexts.contains_key(name)
    {
        let known = file.context_names().join(", ");
        let known = if known.is_empty() {
            "none".to_string()
        } else {
            known
        };
        return Err(file.error_at(
            &["context"],
            format!("context `{name}` is not defined; defined contexts: {known}"),
        ));
    }
    let keys = KeysConfig(
        raw.keys
            .into_iter()
            .map(|(scope, actions)| (scope, actions.into_iter().map(|(a, k)| (a, k.0)).collect()))
            .collect(),
    );
    file.keymap = Keymap::with_overrides(&keys).map_err(|e| {
        let (scope, actions) = e.location();
        let found = actions
            .iter()
            .map(|a| vec!["keys", scope, a])
            .find(|p| file.locator.line_of(p).is_some())
            .unwrap_or_else(|| vec!["keys", scope]);
        file.error_at(&found, e.to_string())
    })?;
    Ok(file)
}

/// 1-based line of `at` in `src` (for errors before a locator exists).
fn line_in(src: &str, at: usize) -> usize {
    src.get(..at).map_or(1, |s| s.matches('\n').count() + 1)
}

fn validate_top(file: &ConfigFile) -> Result<(), ConfigError> {
    if let Some(r) = file.refresh {
        check_refresh(r).map_err(|m| file.error_at(&["refresh"], m))?;
    }
    check_theme(file, &["theme"], file.theme.as_deref())?;
    if file
        .log_file
        .as_ref()
        .is_some_and(|p| p.as_os_str().is_empty())
    {
        return Err(file.error_at(
            &["log_file"],
            "log_file is empty; give a path or leave it out",
        ));
    }
    Ok(())
}

fn check_theme(file: &ConfigFile, path: &[&str], theme: Option<&str>) -> Result<(), ConfigError> {
    if theme.is_some_and(|t| t.trim().is_empty()) {
        return Err(file.error_at(
            path,
            "theme is empty; give a theme name (e.g. \"default\") or a path",
        ));
    }
    Ok(())
}

fn validate_context(
    file: &ConfigFile,
    name: &str,
    raw: RawContext,
) -> Result<ContextConfig, ConfigError> {
    let err = |key: &str, m: String| file.error_at(&["contexts", name, key], m);
    let urls = |key: &str, kind: UrlKind, list: Option<StringList>| {
        let list = list.map(|l| l.0).unwrap_or_default();
        for (i, url) in list.iter().enumerate() {
            check_url(kind, url).map_err(|m| {
                // A single string has no `[i]` entry: point at the key.
                let idx = format!("[{i}]");
                let element = ["contexts", name, key, &idx];
                match file.locator.line_of(&element) {
                    Some(_) => file.error_at(&element, m),
                    None => err(key, m),
                }
            })?;
        }
        Ok::<_, ConfigError>(list)
    };
    let redis = urls("redis", UrlKind::Redis, raw.redis)?;
    let postgres = urls("postgres", UrlKind::Postgres, raw.postgres)?;
    if raw.events.as_deref().is_some_and(|e| e.trim().is_empty()) {
        let m = "events is empty; name a Redis stream (e.g. \"heliostat:events\") or leave it out";
        return Err(err("events", m.into()));
    }
    if let Some(r) = raw.refresh {
        check_refresh(r).map_err(|m| err("refresh", m))?;
    }
    check_theme(file, &["contexts", name, "theme"], raw.theme.as_deref())?;
    let banner = raw
        .banner
        .map(|b| check_banner(file, name, b))
        .transpose()?;
    let pg_capacity = raw
        .pg_capacity
        .as_deref()
        .map(crate::units::parse_size)
        .transpose()
        .map_err(|m| err("pg_capacity", m))?;
    let sampler = raw
        .sampler
        .map(super::sampler::check)
        .transpose()
        .map_err(|(k, m)| file.error_at(&["contexts", name, "sampler", k], m))?
        .unwrap_or_default();
    Ok(ContextConfig {
        redis,
        postgres,
        events: raw.events,
        refresh: raw.refresh,
        theme: raw.theme,
        banner,
        allow_writes: raw.allow_writes,
        auto_warm: raw.auto_warm,
        redact_keys: raw.redact_keys,
        key_events: raw.key_events,
        pg_capacity,
        sampler,
    })
}

fn check_banner(file: &ConfigFile, name: &str, b: RawBanner) -> Result<Banner, ConfigError> {
    if b.label.trim().is_empty() || b.label.chars().count() > 24 {
        let m = "banner label must be 1 to 24 characters (e.g. \"PROD\")";
        return Err(file.error_at(&["contexts", name, "banner", "label"], m));
    }
    if let Some(c) = &b.color
        && ratatui::style::Color::from_str(c).is_err()
    {
        let m = format!(
            "`{c}` is not a colour; use a name like \"red\", \"yellow\", \"lightblue\" \
             or a hex value like \"#d70000\""
        );
        return Err(file.error_at(&["contexts", name, "banner", "color"], m));
    }
    Ok(Banner {
        label: b.label,
        color: b.color,
    })
}
