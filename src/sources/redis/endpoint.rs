//! Connecting: [`open`] / [`connect`] are the one place that turns a
//! [`NodeConfig`] into a live connection (TCP, TLS via rustls, unix socket,
//! or the master a Sentinel names; user, password, database), so the
//! poller, the key sampler and the topology supervisor all connect the same
//! way, with the same timeouts and the same secret-free error messages.
//! URLs are parsed by `url` (re-exported here).

use std::path::PathBuf;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, ClientTlsConfig, ConnectionAddr, IntoConnectionInfo,
    RedisConnectionInfo, TlsCertificates, Value,
};

use super::info::Info;
pub use super::url::{
    Credentials, DEFAULT_PORT, DEFAULT_SENTINEL_PORT, Endpoint, Target, TlsFiles, UrlError,
    host_port, with_defaults,
};
use super::{NodeConfig, fault, sentinel};
use crate::fault::{Fault, Kind};
use crate::sample::RedisRole;

/// How a server runs, as it says itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServerMode {
    /// A single node (possibly a replica).
    #[default]
    Standalone,
    /// A Redis Cluster node.
    Cluster,
    /// A Sentinel, not a data node.
    Sentinel,
}

/// What the console learned about a server while opening a connection:
/// features are detected by asking (`HELLO`, `INFO`, trying `CLIENT
/// NO-TOUCH`), not inferred from version numbers.
#[derive(Debug, Clone, Default)]
pub struct Server {
    /// `INFO` (default sections) at connect time.
    pub info: Info,
    /// `HELLO` answered (Redis ≥ 6, Valkey).
    pub hello: bool,
    /// Server software (`HELLO` `server`, or `INFO` `server_name`; "redis" when neither says).
    pub software: String,
    /// Version (`HELLO` `version`, else `INFO` `redis_version`).
    pub version: String,
    /// Standalone, cluster node or Sentinel.
    pub mode: ServerMode,
    /// Primary or replica.
    pub role: Option<RedisRole>,
    /// `CLIENT NO-TOUCH ON` was accepted: the console's reads do not
    /// change the keys' LRU/LFU statistics on this connection.
    pub no_touch: bool,
    /// Where the connection went (`host:port` or socket path; for a
    /// Sentinel URL, the master it named).
    pub addr: String,
    /// Commands the server executed for the console while opening (AUTH,
    /// SELECT, HELLO, INFO, CLIENT …): part of the console's own load.
    pub commands: u64,
}

/// Where to open a data connection, once any Sentinel has answered.
#[derive(Debug, Clone)]
pub(crate) enum Addr {
    Tcp(String, u16),
    Unix(PathBuf),
}

impl Addr {
    fn label(&self) -> String {
        match self {
            Addr::Tcp(h, p) => host_port(h, *p),
            Addr::Unix(p) => p.display().to_string(),
        }
    }
}

fn read_pem(what: &str, path: &std::path::Path) -> Result<Vec<u8>, Fault> {
    crate::files::read_capped(path, crate::files::MAX_PEM_BYTES, "PEM")
        .map_err(|e| Fault::Config(format!("TLS {what} file {}: {e}", path.display())))
}

/// A client for `addr` with the endpoint's TLS settings and `auth`/`db`.
fn client(ep: &Endpoint, addr: &Addr, auth: &Credentials, db: i64) -> Result<redis::Client, Fault> {
    let conn_addr = match addr {
        Addr::Unix(p) => ConnectionAddr::Unix(p.clone()),
        Addr::Tcp(h, p) if ep.tls => ConnectionAddr::TcpTls {
            host: h.clone(),
            port: *p,
            insecure: false,
            tls_params: None,
        },
        Addr::Tcp(h, p) => ConnectionAddr::Tcp(h.clone(), *p),
    };
    let mut settings = RedisConnectionInfo::default()
        .set_db(db)
        .set_skip_set_lib_name();
    if let Some(u) = &auth.user {
        settings = settings.set_username(u);
    }
    if let Some(p) = &auth.password {
        settings = settings.set_password(p);
    }
    let info = conn_addr
        .into_connection_info()
        .map_err(|e| fault(&e))?
        .set_redis_settings(settings);
    let tls_given = ep.tls_files.ca.is_some() || ep.tls_files.cert.is_some();
    if ep.tls {
        // rustls needs a process-wide crypto provider; ring is the one built in.
        // (Already installed is fine.)
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    if ep.tls && tls_given {
        let root_cert = match &ep.tls_files.ca {
            Some(p) => Some(read_pem("CA", p)?),
            None => None,
        };
        let client_tls = match (&ep.tls_files.cert, &ep.tls_files.key) {
            (Some(c), Some(k)) => Some(ClientTlsConfig {
                client_cert: read_pem("certificate", c)?,
                client_key: read_pem("key", k)?,
            }),
            _ => None,
        };
        redis::Client::build_with_tls(
            info,
            TlsCertificates {
                client_tls,
                root_cert,
            },
        )
        .map_err(|e| Fault::Tls(format!("TLS setup: {}", fault(&e))))
    } else {
        redis::Client::open(info).map_err(|e| fault(&e))
    }
}

/// Open a multiplexed connection with explicit connect and response
/// timeouts (the whole attempt, TLS handshake and AUTH included, is bounded).
pub(crate) async fn raw_connect(
    ep: &Endpoint,
    addr: &Addr,
    auth: &Credentials,
    db: i64,
    timeout: Duration,
) -> Result<MultiplexedConnection, Fault> {
    let client = client(ep, addr, auth, db)?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    match tokio::time::timeout(
        timeout.saturating_mul(3),
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    {
        Ok(r) => r.map_err(|e| fault(&e)),
        Err(_) => Err(Fault::Timeout("timed out".to_string())),
    }
}

/// Open a connection for `cfg`'s node (see [`connect`]), for tasks that need
/// only the connection.
pub async fn open(cfg: &NodeConfig) -> Result<MultiplexedConnection, Fault> {
    connect(cfg).await.map(|(c, _)| c)
}

/// Open a connection for `cfg`'s node: ask the Sentinels for the master
/// when the URL says so, connect (TLS, unix socket, auth, database), then
/// learn what the server is (`HELLO`, `INFO`), name the connection
/// (`CLIENT SETNAME heliostat`) and ask for `CLIENT NO-TOUCH`. A Sentinel
/// given as a plain node, or a Sentinel-named master that turns out to be a
/// replica, is an error with a plain reason.
pub async fn connect(cfg: &NodeConfig) -> Result<(MultiplexedConnection, Server), Fault> {
    let (ep, addr) = resolve(cfg).await?;
    let via = |e: Fault| {
        // A TLS server that requires a client certificate just hangs up on
        // a client without one: say what is likely missing.
        let hung_up = e.kind() == Kind::Closed
            || ["broken pipe", "connection reset", "end of file"]
                .iter()
                .any(|m| e.reason().to_ascii_lowercase().contains(m));
        let e = if ep.tls && ep.tls_files.cert.is_none() && hung_up {
            e.map_reason(|e| format!(
                "{e}: closed during TLS setup (does it require a client certificate? tls_cert/tls_key, --tls-cert/--tls-key)"
            ))
        } else {
            e
        };
        if ep.is_sentinel() {
            e.context(format_args!("master {} (from Sentinel)", addr.label()))
        } else {
            e
        }
    };
    let mut conn = raw_connect(&ep, &addr, &ep.auth, ep.db, cfg.timeout)
        .await
        .map_err(via)?;
    let mut server = handshake(&mut conn).await.map_err(|e| via(fault(&e)))?;
    server.addr = addr.label();
    server.commands += u64::from(ep.auth.password.is_some()) + u64::from(ep.db != 0);
    if server.mode == ServerMode::Sentinel {
        return Err(Fault::Config(
            "this is a Sentinel, not a data node: use redis+sentinel://HOST:PORT/SERVICE".into(),
        ));
    }
    if ep.is_sentinel() && server.role == Some(RedisRole::Replica) {
        return Err(via(Fault::Server(
            "named as master but it is a replica (failover under way?)".into(),
        )));
    }
    Ok((conn, server))
}

/// The node's endpoint and address (asking the Sentinels when the URL says so).
async fn resolve(cfg: &NodeConfig) -> Result<(Endpoint, Addr), Fault> {
    let ep = Endpoint::parse(&cfg.url).map_err(|e| Fault::Config(format!("bad Redis URL: {e}")))?;
    let addr = match (&cfg.addr, &ep.target) {
        (Some((h, p)), _) => Addr::Tcp(h.clone(), *p),
        (None, Target::Tcp { host, port }) => Addr::Tcp(host.clone(), *port),
        (None, Target::Unix(p)) => Addr::Unix(p.clone()),
        (None, Target::Sentinel { .. }) => {
            let (h, p) = sentinel::master_addr(&ep, cfg.timeout).await?;
            Addr::Tcp(h, p)
        }
    };
    Ok((ep, addr))
}

/// A client for `cfg`'s node, for connections other than the multiplexed
/// one (pub/sub): same address, TLS, credentials and database.
pub async fn node_client(cfg: &NodeConfig) -> Result<redis::Client, Fault> {
    let (ep, addr) = resolve(cfg).await?;
    client(&ep, &addr, &ep.auth, ep.db)
}

/// Text of a simple or bulk reply.
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Key/value pairs of a RESP3 map or a RESP2 flat array.
pub(crate) fn pairs(v: &Value) -> Vec<(String, &Value)> {
    match v {
        Value::Map(m) => m
            .iter()
            .filter_map(|(k, v)| text(k).map(|k| (k, v)))
            .collect(),
        Value::Array(a) => a
            .chunks_exact(2)
            .filter_map(|kv| text(&kv[0]).map(|k| (k, &kv[1])))
            .collect(),
        _ => Vec::new(),
    }
}

async fn handshake(conn: &mut MultiplexedConnection) -> Result<Server, redis::RedisError> {
    let mut s = Server::default();
    // HELLO without a protocol version changes nothing and describes the server.
    if let Ok(v) = redis::cmd("HELLO").query_async::<Value>(conn).await {
        s.hello = true;
        s.commands += 1;
        for (k, v) in pairs(&v) {
            let t = text(v).unwrap_or_default();
            match k.as_str() {
                "server" => s.software = t,
                "version" => s.version = t,
                "mode" => {
                    s.mode = match t.as_str() {
                        "cluster" => ServerMode::Cluster,
                        "sentinel" => ServerMode::Sentinel,
                        _ => ServerMode::Standalone,
                    }
                }
                "role" => {
                    s.role = match t.as_str() {
                        "master" => Some(RedisRole::Primary),
                        "replica" | "slave" => Some(RedisRole::Replica),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
    }
    let text: String = redis::cmd("INFO").query_async(conn).await?;
    s.commands += 1;
    s.info = Info::parse(&text);
    if !s.hello {
        s.software = s.info.server_name.clone().unwrap_or_else(|| "redis".into());
        s.version = s.info.version.clone();
        s.mode = match s.info.mode.as_str() {
            "sentinel" => ServerMode::Sentinel,
            _ if s.info.cluster_enabled => ServerMode::Cluster,
            "cluster" => ServerMode::Cluster,
            _ => ServerMode::Standalone,
        };
    }
    s.role = s.role.or_else(|| s.info.redis_role());
    if s.mode == ServerMode::Sentinel {
        return Ok(s);
    }
    // Naming and NO-TOUCH are courtesies: a restricted ACL may refuse them.
    let named: Result<(), _> = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("heliostat")
        .query_async(conn)
        .await;
    s.commands += u64::from(named.is_ok());
    // Tried rather than inferred from the version: forks and backports differ.
    let touched: Result<(), _> = redis::cmd("CLIENT")
        .arg("NO-TOUCH")
        .arg("ON")
        .query_async(conn)
        .await;
    s.no_touch = touched.is_ok();
    s.commands += u64::from(s.no_touch);
    Ok(s)
}
