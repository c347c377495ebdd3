//! Redis URLs parsed into an [`Endpoint`]: where a source connects (TCP,
//! unix socket, or the master a Sentinel names) and how (TLS files, user,
//! password, database). Pure: the connecting is `endpoint`'s.
//!
//! Forms:
//! - `redis://[user[:pass]@]host[:port][/db]`, `rediss://…` (TLS);
//! - `unix:///path/redis.sock[?db=N]`, also `redis+unix://`;
//! - `redis+sentinel://[user[:pass]@]host[:port][,host2[:port2]…]/service[/db]`
//!   (`rediss+sentinel://` for TLS to the Sentinels and the master).
//!
//! Query options, all schemes: `user`, `password` (or `pass`), `db`;
//! `tls_ca`, `tls_cert`, `tls_key` (PEM files, TLS schemes only);
//! `sentinel_user`, `sentinel_password` (Sentinel schemes; without them a
//! Sentinel that answers `NOAUTH` is asked again with the URL's credentials).
//!
//! Error messages never contain the URL, a password or a key.

use std::fmt;
use std::path::PathBuf;

/// Port when a `redis://` URL names none.
pub const DEFAULT_PORT: u16 = 6379;
/// Port when a Sentinel address names none.
pub const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// A URL heliostat cannot use; the message never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(String);

fn bad(msg: impl Into<String>) -> UrlError {
    UrlError(msg.into())
}

/// What the URL points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One node over TCP.
    Tcp {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// Port.
        port: u16,
    },
    /// One node on a unix socket.
    Unix(PathBuf),
    /// Whatever node the Sentinels name as the master of `service`.
    Sentinel {
        /// Sentinel addresses, asked in order.
        sentinels: Vec<(String, u16)>,
        /// The monitored service (`sentinel monitor NAME …`).
        service: String,
    },
}

/// PEM files for TLS: a CA to trust instead of the system's, and a client
/// certificate with its key for servers that ask for one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificate(s) that signed the server's certificate.
    pub ca: Option<PathBuf>,
    /// Client certificate (chain).
    pub cert: Option<PathBuf>,
    /// The client certificate's private key.
    pub key: Option<PathBuf>,
}

/// A user and password; `Debug` never shows the password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// ACL user (`None`: the default user).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A parsed Redis URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Where to connect.
    pub target: Target,
    /// TLS (`rediss://`, `rediss+sentinel://`).
    pub tls: bool,
    /// TLS files (only with `tls`).
    pub tls_files: TlsFiles,
    /// Credentials for the data node.
    pub auth: Credentials,
    /// Credentials for the Sentinels, when they differ.
    pub sentinel_auth: Option<Credentials>,
    /// Database number.
    pub db: i64,
}

/// `%XX` decoding; invalid escapes stay as they are.
fn pct_decode(s: &str) -> Result<String, UrlError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad("a percent-escape does not decode to UTF-8"))
}

/// `%XX` encoding of everything but unreserved characters (and `/`, for paths).
fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_port(s: &str) -> Result<u16, UrlError> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(bad(format!("`{s}` is not a port number"))),
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn parse_host(s: &str, default_port: u16) -> Result<(String, u16), UrlError> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address misses its closing `]`"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None if after.is_empty() => default_port,
            None => return Err(bad(format!("unexpected `{after}` after `[{host}]`"))),
        };
        // A bracketed host is an IPv6 address, nothing else (a typo would
        // otherwise be retried forever as a host that never resolves).
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad(format!("`[{host}]` is not an IPv6 address")));
        }
        return Ok((host.to_string(), port));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, parse_port(p)?),
        None => (s, default_port),
    };
    if host.is_empty() {
        return Err(bad("the URL names no host"));
    }
    if host.contains([':', '[', ']', ' ']) {
        return Err(bad(format!("`{host}` is not a host name")));
    }
    Ok((host.to_string(), port))
}

fn parse_db(s: &str) -> Result<i64, UrlError> {
    match s.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(bad(format!("`{s}` is not a database number"))),
    }
}

impl Endpoint {
    /// Parse a Redis URL (see the module doc for the forms).
    pub fn parse(url: &str) -> Result<Endpoint, UrlError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("not a URL (e.g. redis://host:6379)"))?;
        let scheme = scheme.to_ascii_lowercase();
        let (tls, kind) = match scheme.as_str() {
            "redis" | "valkey" => (false, "tcp"),
            "rediss" | "valkeys" => (true, "tcp"),
            "unix" | "redis+unix" | "valkey+unix" => (false, "unix"),
            "redis+sentinel" => (false, "sentinel"),
            "rediss+sentinel" => (true, "sentinel"),
            other => return Err(bad(format!("unknown scheme `{other}`"))),
        };
        let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        if !fragment.is_empty() {
            return Err(bad(format!("`#{fragment}` is not supported")));
        }
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority_end = if kind == "unix" && rest.starts_with('/') {
            0
        } else {
            rest.find('/').unwrap_or(rest.len())
        };
        let (authority, path) = rest.split_at(authority_end);
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let mut auth = Credentials::default();
        if let Some(u) = userinfo {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            auth.user = Some(pct_decode(user)?).filter(|s| !s.is_empty());
            auth.password = Some(pct_decode(pass)?).filter(|s| !s.is_empty());
        }
        let mut ep = Endpoint {
            target: Target::Unix(PathBuf::new()),
            tls,
            tls_files: TlsFiles::default(),
            auth,
            sentinel_auth: None,
            db: 0,
        };
        let mut db_in_path = false;
        match kind {
            "unix" => {
                if !hosts.is_empty() {
                    return Err(bad(
                        "a unix socket URL takes a path, not a host (unix:///path/redis.sock)",
                    ));
                }
                let path = pct_decode(path)?;
                if !path.starts_with('/') || path.len() < 2 {
                    return Err(bad(
                        "a unix socket URL needs an absolute path (unix:///path/redis.sock)",
                    ));
                }
                ep.target = Target::Unix(PathBuf::from(path));
            }
            "tcp" => {
                if hosts.contains(',') {
                    return Err(bad("one host per URL (repeat --redis for more nodes)"));
                }
                let (host, port) = parse_host(hosts, DEFAULT_PORT)?;
                ep.target = Target::Tcp { host, port };
                let p = path.trim_matches('/');
                if !p.is_empty() {
                    ep.db = parse_db(p)?;
                    db_in_path = true;
                }
            }
            _ => {
                let sentinels = hosts
                    .split(',')
                    .map(|h| parse_host(h.trim(), DEFAULT_SENTINEL_PORT))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut parts = path.trim_matches('/').splitn(2, '/');
                let service = pct_decode(parts.next().unwrap_or(""))?;
                if service.is_empty() {
                    return Err(bad(
                        "a Sentinel URL names its service: redis+sentinel://host:26379/mymaster",
                    ));
                }
                if let Some(db) = parts.next().filter(|s| !s.is_empty()) {
                    ep.db = parse_db(db)?;
                    db_in_path = true;
                }
                ep.target = Target::Sentinel { sentinels, service };
            }
        }
        ep.apply_query(query, kind, db_in_path)?;
        Ok(ep)
    }

    fn apply_query(&mut self, query: &str, kind: &str, db_in_path: bool) -> Result<(), UrlError> {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = pct_decode(v)?;
            let tls_only = |name: &str| {
                if self.tls {
                    Ok(Some(PathBuf::from(&v)))
                } else {
                    Err(bad(format!("`{name}` needs a TLS URL (rediss://)")))
                }
            };
            let sentinel_only = |name: &str| {
                if kind == "sentinel" {
                    Ok(())
                } else {
                    Err(bad(format!("`{name}` is for redis+sentinel:// URLs")))
                }
            };
            match k {
                "db" if db_in_path => return Err(bad("the database is given twice")),
                "db" => self.db = parse_db(&v)?,
                "user" | "username" => self.auth.user = Some(v).filter(|s| !s.is_empty()),
                "password" | "pass" => {
                    if self.auth.password.is_none() {
                        self.auth.password = Some(v).filter(|s| !s.is_empty());
                    }
                }
                "tls_ca" => self.tls_files.ca = tls_only(k)?,
                "tls_cert" => self.tls_files.cert = tls_only(k)?,
                "tls_key" => self.tls_files.key = tls_only(k)?,
                "sentinel_user" | "sentinel_password" => {
                    sentinel_only(k)?;
                    let a = self.sentinel_auth.get_or_insert_with(Credentials::default);
                    let v = Some(v).filter(|s| !s.is_empty());
                    if k == "sentinel_user" {
                        a.user = v;
                    } else {
                        a.password = v;
                    }
                }
                _ => return Err(bad(format!("unknown URL option `{k}`"))),
            }
        }
        if self.tls_files.cert.is_some() != self.tls_files.key.is_some() {
            return Err(bad("a client certificate needs both tls_cert and tls_key"));
        }
        Ok(())
    }

    /// True for `redis+sentinel://`: the node is whichever the Sentinels name.
    pub fn is_sentinel(&self) -> bool {
        matches!(self.target, Target::Sentinel { .. })
    }

    /// A short name for the screen: `host:port`, the socket path, or
    /// `SERVICE (sentinel)`. Never a secret.
    pub fn display_name(&self) -> String {
        match &self.target {
            Target::Tcp { host, port } => host_port(host, *port),
            Target::Unix(p) => p.display().to_string(),
            Target::Sentinel { service, .. } => format!("{service} (sentinel)"),
        }
    }
}

/// `host:port`, with brackets around an IPv6 address.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `url` with a password and TLS files filled in where it has none of its
/// own: `REDISCLI_AUTH` and `--tls-ca/--tls-cert/--tls-key` apply to every
/// `--redis` URL this way. A URL that does not parse is returned unchanged
/// (the caller reports it).
pub fn with_defaults(url: &str, password: Option<&str>, tls: &TlsFiles) -> String {
    let Ok(ep) = Endpoint::parse(url) else {
        return url.to_string();
    };
    let mut add = Vec::new();
    if let (None, Some(p)) = (&ep.auth.password, password.filter(|p| !p.is_empty())) {
        add.push(format!("password={}", pct_encode(p)));
    }
    if ep.tls {
        let path = |name: &str, mine: &Option<PathBuf>, given: &Option<PathBuf>| match (mine, given)
        {
            (None, Some(p)) => Some(format!("{name}={}", pct_encode(&p.to_string_lossy()))),
            _ => None,
        };
        add.extend(path("tls_ca", &ep.tls_files.ca, &tls.ca));
        // A client certificate comes with its key, or not at all.
        if ep.tls_files.cert.is_none() {
            add.extend(path("tls_cert", &None, &tls.cert));
            add.extend(path("tls_key", &None, &tls.key));
        }
    }
    if add.is_empty() {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", add.join("&"))
}

#[cfg(test)]
mod tests;
