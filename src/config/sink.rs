//! `[stats_sink]`: where the client statistics are flushed, checked when
//! the file loads (a mistake names the key and the line).

use std::time::Duration;

use serde::Deserialize;

use super::error::ConfigError;
use super::file::ConfigFile;
use super::secrets::{UrlKind, check_url};
use crate::ops::sink::sql::check_schema;

/// The `[stats_sink]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSink {
    url: Option<String>,
    schema: Option<String>,
    read_every: Option<f64>,
}

/// The stats sink as configured (file, then flags).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SinkFile {
    /// `postgres://…` URL.
    pub url: Option<String>,
    /// Schema of the tables [default: heliostat].
    pub schema: Option<String>,
    /// Seconds between read-backs of the shared totals (0: never) [default: 5].
    pub read_every: Option<Duration>,
}

/// Check the table.
pub(crate) fn sink(raw: RawSink, file: &ConfigFile) -> Result<SinkFile, ConfigError> {
    let bad = |key: &str, msg: String| file.error_at(&["stats_sink", key], msg);
    if let Some(url) = &raw.url {
        check_url(UrlKind::Postgres, url).map_err(|m| bad("url", m))?;
    }
    if let Some(s) = &raw.schema {
        check_schema(s).map_err(|m| bad("schema", m))?;
    }
    let read_every = raw
        .read_every
        .map(|s| {
            if s.is_finite() && (0.0..=3600.0).contains(&s) {
                Ok(Duration::from_secs_f64(s))
            } else {
                Err(bad(
                    "read_every",
                    "seconds between 0 (never) and 3600".to_string(),
                ))
            }
        })
        .transpose()?;
    Ok(SinkFile {
        url: raw.url,
        schema: raw.schema,
        read_every,
    })
}

/// The resolved sink settings.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsSink {
    /// `postgres://…` URL.
    pub url: String,
    /// Schema of the tables.
    pub schema: String,
    /// Read-back interval (`None`: never).
    pub read_every: Option<Duration>,
    /// Given as `--stats-sink` (not only in the file): the demo refuses a
    /// flag, and leaves a file's sink off (its clients are simulated).
    pub from_flag: bool,
}

/// Flags over the file: `--stats-sink`, `--stats-sink-schema`.
pub(crate) fn resolve(
    url: Option<&str>,
    schema: Option<&str>,
    file: Option<&SinkFile>,
) -> Result<Option<StatsSink>, ConfigError> {
    let arg = |origin: &str, message: String| ConfigError::Arg {
        origin: origin.to_string(),
        message,
    };
    if let Some(u) = url {
        check_url(UrlKind::Postgres, u).map_err(|m| arg("--stats-sink", m))?;
    }
    if let Some(s) = schema {
        check_schema(s).map_err(|m| arg("--stats-sink-schema", m))?;
    }
    let url_given = url.is_some();
    let Some(url) = url
        .map(str::to_string)
        .or_else(|| file.and_then(|f| f.url.clone()))
    else {
        return Ok(None);
    };
    let read_every = match file.and_then(|f| f.read_every) {
        Some(d) if d.is_zero() => None,
        Some(d) => Some(d),
        None => Some(Duration::from_secs(5)),
    };
    Ok(Some(StatsSink {
        url,
        schema: schema
            .map(str::to_string)
            .or_else(|| file.and_then(|f| f.schema.clone()))
            .unwrap_or_else(|| "heliostat".to_string()),
        read_every,
        from_flag: url_given,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::parse_config;
    use std::path::Path;

    fn parse(src: &str) -> Result<crate::config::ConfigFile, ConfigError> {
        parse_config(Path::new("/cfg/config.toml"), src, Some(0o600))
    }

    #[test]
    fn mistakes_name_the_key_and_line() {
        let src = "theme = \"default\"\n[stats_sink]\nurl = \"postgres://db/ops\"\nschema = \"Ops-Stats\"\n";
        let msg = parse(src).unwrap_err().to_string();
        assert!(msg.contains("line 4") && msg.contains("schema"), "{msg}");
        let msg = parse("[stats_sink]\nurl = \"mysql://db\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 2") && msg.contains("url"), "{msg}");
        let msg = parse("[stats_sink]\nurl = \"postgres://db/ops\"\n\nschema = \"pg_x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("line 4, key `stats_sink.schema`")
                && msg.contains("reserved for PostgreSQL's system schemas"),
            "{msg}"
        );
        // A reserved word is fine: the schema is always quoted.
        let f = parse("[stats_sink]\nurl = \"postgres://db/ops\"\nschema = \"user\"\n").unwrap();
        assert_eq!(f.stats_sink.schema.as_deref(), Some("user"));
        let msg = resolve(Some("postgres://db/ops"), Some("pg_temp"), None)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("--stats-sink-schema: schema `pg_temp`"),
            "{msg}"
        );
        let msg = parse("[stats_sink]\nread_every = -1\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("read_every"), "{msg}");
    }

    #[test]
    fn flags_win_over_the_file_and_zero_never_reads_back() {
        let f =
            parse("[stats_sink]\nurl = \"postgres://db/ops\"\nschema = \"ops\"\nread_every = 0\n")
                .unwrap()
                .stats_sink;
        let s = resolve(None, None, Some(&f)).unwrap().unwrap();
        assert_eq!(
            (s.url.as_str(), s.schema.as_str(), s.read_every),
            ("postgres://db/ops", "ops", None)
        );
        assert!(!s.from_flag, "the file's sink is not a flag");
        let s = resolve(Some("postgres://other/x"), Some("mine"), Some(&f))
            .unwrap()
            .unwrap();
        assert_eq!(
            (s.url.as_str(), s.schema.as_str()),
            ("postgres://other/x", "mine")
        );
        assert!(s.from_flag);
        assert!(resolve(None, None, None).unwrap().is_none());
        assert!(resolve(Some("redis://x"), None, None).is_err());
        let s = resolve(Some("postgres://db/ops"), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            (s.schema.as_str(), s.read_every),
            ("heliostat", Some(Duration::from_secs(5)))
        );
    }
}
