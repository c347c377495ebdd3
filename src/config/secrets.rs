//! Passwords in URLs: detection (a config file holding one must be private),
//! redaction (for the screen, logs and error messages) and scheme checks.

use toml::de::{DeTable, DeValue};

use crate::redact::{redact_url, scrub, split_url, url_has_password};

/// What a URL is for; decides the schemes it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlKind {
    /// A Redis node.
    Redis,
    /// A PostgreSQL endpoint.
    Postgres,
}

impl UrlKind {
    fn schemes(self) -> &'static [&'static str] {
        match self {
            UrlKind::Redis => &[
                "redis",
                "rediss",
                "unix",
                "redis+unix",
                "redis+sentinel",
                "rediss+sentinel",
                "valkey",
                "valkeys",
                "valkey+unix",
            ],
            UrlKind::Postgres => &["postgres", "postgresql"],
        }
    }

    fn example(self) -> &'static str {
        match self {
            UrlKind::Redis => "redis://host:6379",
            UrlKind::Postgres => "postgres://user@host/db",
        }
    }
}

/// Checks that `url` uses a scheme heliostat can connect with. The error
/// message shows the URL redacted.
pub(crate) fn check_url(kind: UrlKind, url: &str) -> Result<(), String> {
    let schemes = kind.schemes();
    let expected = schemes
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(parts) = split_url(url) else {
        return Err(format!(
            "`{}` is not a URL; expected one starting with {expected} (e.g. {})",
            redact_url(url),
            kind.example()
        ));
    };
    if !schemes.contains(&parts.scheme) {
        return Err(format!(
            "`{}` has scheme `{}`; expected one of {expected}",
            redact_url(url),
            parts.scheme
        ));
    }
    if parts.rest.is_empty() {
        return Err(format!(
            "`{}` names no host (e.g. {})",
            redact_url(url),
            kind.example()
        ));
    }
    // Parsed here as the connection will parse it, so a bad port or option
    // is a load error naming the file and line (or the flag), not a
    // source's, sink's or warm job's error later.
    match kind {
        UrlKind::Redis => crate::sources::redis::endpoint::Endpoint::parse(url)
            .map(drop)
            .map_err(|e| format!("`{}`: {e}", redact_url(url))),
        UrlKind::Postgres => check_postgres(url),
    }
}

/// What sqlx says of a Postgres URL, with the URL redacted and any password
/// that found its way into the message hidden too.
fn check_postgres(url: &str) -> Result<(), String> {
    use std::str::FromStr as _;
    let Err(e) = sqlx::postgres::PgConnectOptions::from_str(url) else {
        return postgres_strict(url).map_err(|why| format!("`{}`: {why}", redact_url(url)));
    };
    // sqlx wraps some of its configuration errors twice: drop every prefix.
    let text = e.to_string();
    let mut why = text
        .trim_start_matches("error with configuration: ")
        .to_string();
    if why.contains("ssl_mode") {
        why.push_str("; sslmode is one of disable, allow, prefer, require, verify-ca, verify-full");
    }
    Err(format!("`{}`: {}", redact_url(url), scrub(&why, url)))
}

/// The URL options sqlx acts on; it ignores any other silently.
const PG_OPTIONS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// What sqlx lets through but would not do as written: port 0, a broken
/// percent escape in the user or password (kept literally), an option it
/// ignores (`connect_timeout=abc` would look accepted).
fn postgres_strict(url: &str) -> Result<(), String> {
    let Ok(u) = url::Url::parse(url) else {
        return Ok(());
    };
    if u.port() == Some(0) {
        return Err("port 0 is not a port number".into());
    }
    for (what, part) in [
        ("user name", u.username()),
        ("password", u.password().unwrap_or("")),
    ] {
        let b = part.as_bytes();
        let broken = b.iter().enumerate().any(|(i, &c)| {
            c == b'%'
                && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        });
        if broken {
            return Err(format!(
                "the {what} has a `%` that is not a percent escape (write %25 for a literal %)"
            ));
        }
    }
    for (k, _) in u.query_pairs() {
        if !PG_OPTIONS.contains(&&*k) && !k.starts_with("options[") {
            let extra = if k == "connect_timeout" {
                " (heliostat waits 3 s for a connection)"
            } else {
                ""
            };
            return Err(format!(
                "unknown URL option `{k}`{extra}; options: {}",
                PG_OPTIONS.join(", ")
            ));
        }
    }
    Ok(())
}

/// `password`, `redis_password`, `pg-password`…
fn is_password_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "password" || k.ends_with("_password") || k.ends_with("-password")
}

/// First key holding a secret: a URL with a password, or a `password` key.
pub(crate) fn first_secret(table: &DeTable<'_>) -> Option<Vec<String>> {
    fn in_value(path: &mut Vec<String>, v: &DeValue<'_>) -> bool {
        if let Some(s) = v.as_str() {
            return url_has_password(s);
        }
        if let Some(t) = v.as_table() {
            return in_table(path, t);
        }
        if let Some(items) = v.as_array() {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                if in_value(path, item.get_ref()) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    fn in_table(path: &mut Vec<String>, t: &DeTable<'_>) -> bool {
        for (k, v) in t.iter() {
            path.push(k.get_ref().to_string());
            if is_password_key(k.get_ref()) || in_value(path, v.get_ref()) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = Vec::new();
    in_table(&mut path, table).then_some(path)
}

/// A password inside a URL on the command line is in `ps` and
/// `/proc/PID/cmdline` for every local user: say so once, with the safe ways.
pub(super) fn command_line_passwords(cli: &crate::cli::Cli) -> Vec<String> {
    let flags = [
        ("--redis", cli.redis.iter().collect::<Vec<_>>()),
        ("--postgres", cli.postgres.iter().collect()),
        ("--events-redis", cli.events_redis.iter().collect()),
        ("--stats-sink", cli.stats_sink.iter().collect()),
    ];
    let named: Vec<&str> = flags
        .iter()
        .filter(|(_, urls)| urls.iter().any(|u| url_has_password(u)))
        .map(|(flag, _)| *flag)
        .collect();
    if named.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "the password in {} is visible to every local user (ps); use REDISCLI_AUTH, \
         PGPASSWORD or ~/.pgpass, or a config file only you can read",
        named.join(", ")
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        for ok in [
            "redis://h:6379",
            "rediss://h",
            "unix:///tmp/r.sock",
            "redis+sentinel://s1,s2/mymaster",
            "redis+unix:///tmp/r.sock",
            "rediss+sentinel://s1/m/2",
        ] {
            assert_eq!(check_url(UrlKind::Redis, ok), Ok(()), "{ok}");
        }
        for ok in ["postgres://app@db/app", "postgresql://db"] {
            assert_eq!(check_url(UrlKind::Postgres, ok), Ok(()), "{ok}");
        }
        let e = check_url(UrlKind::Redis, "http://u:pw@h").unwrap_err();
        assert!(
            e.contains("scheme `http`") && e.contains("rediss://") && !e.contains("pw"),
            "{e}"
        );
        let e = check_url(UrlKind::Postgres, "redis://h").unwrap_err();
        assert!(e.contains("postgresql://"), "{e}");
        let e = check_url(UrlKind::Redis, "cache-1:6379").unwrap_err();
        assert!(
            e.contains("not a URL") && e.contains("redis://host:6379"),
            "{e}"
        );
        assert!(
            check_url(UrlKind::Redis, "redis://")
                .unwrap_err()
                .contains("no host")
        );
        let e = check_url(UrlKind::Postgres, "postgres://u:pw@db:notaport/x").unwrap_err();
        assert!(
            e == "`postgres://u:***@db:notaport/x`: invalid port number",
            "{e}"
        );
        let e = check_url(UrlKind::Postgres, "postgres://db/x?sslmode=bogus").unwrap_err();
        assert!(e.contains("sslmode is one of disable"), "{e}");
        // A password that sqlx repeats (here as the sslmode) is hidden too.
        let e = check_url(
            UrlKind::Postgres,
            "postgres://db/x?password=s3cr3t&sslmode=s3cr3t",
        )
        .unwrap_err();
        assert!(e.contains("unknown value \"***\" for `ssl_mode`"), "{e}");
        let e = check_url(UrlKind::Redis, "redis://:pw@h?colour=red").unwrap_err();
        assert!(
            e.contains("unknown URL option `colour`") && !e.contains("pw@"),
            "{e}"
        );
    }
}
