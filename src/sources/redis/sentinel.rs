//! Redis Sentinel, by hand: ask each Sentinel in turn for the address of the
//! named master (`SENTINEL get-master-addr-by-name`), with the source's own
//! timeouts. A failover is followed three ways: the poller asks again on
//! every reconnect; it reconnects when its node's `INFO` says `role:slave`;
//! and while it polls, [`until_moved`] keeps asking a Sentinel (one
//! connection, one command per poll interval) and ends the connection as
//! soon as the Sentinels name another master — an old master that is still
//! up is only demoted by the Sentinels some seconds after a failover.
//!
//! Sentinel credentials: `sentinel_user` / `sentinel_password` from the URL
//! when given; otherwise none, and once more with the master's credentials
//! when a Sentinel answers `NOAUTH` (Sentinels often share the data nodes'
//! password).

use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::endpoint::{Addr, Endpoint, Target, host_port, raw_connect};
use super::fault;
use crate::fault::{Fault, Kind};

/// The master's `(host, port)` as the first Sentinel that answers says.
pub(crate) async fn master_addr(ep: &Endpoint, timeout: Duration) -> Result<(String, u16), Fault> {
    ask_any(ep, timeout).await.map(|(_, addr)| addr)
}

/// Ask the Sentinels in order; the connection to the one that answered
/// comes back with its answer.
async fn ask_any(
    ep: &Endpoint,
    timeout: Duration,
) -> Result<(MultiplexedConnection, (String, u16)), Fault> {
    let Target::Sentinel { sentinels, service } = &ep.target else {
        return Err(Fault::Config("not a Sentinel URL".into()));
    };
    let mut reasons = Vec::new();
    for (host, port) in sentinels {
        let answer = match open(ep, host, *port, timeout).await {
            Ok(mut conn) => get_master(&mut conn, service).await.map(|a| (conn, a)),
            Err(e) => Err(e),
        };
        match answer {
            Ok(r) => return Ok(r),
            Err(e) => {
                tracing::debug!(sentinel = %host_port(host, *port), error = %e, "sentinel did not answer");
                reasons.push(e.context(format_args!("sentinel {}", host_port(host, *port))));
            }
        }
    }
    // One Sentinel: its fault. Several: the first one's kind (they are
    // usually alike), every reason named.
    Err(match reasons.len() {
        1 => reasons.remove(0),
        _ => {
            let all: Vec<String> = reasons.iter().map(ToString::to_string).collect();
            let kind = reasons.first().map_or(Kind::Refused, Fault::kind);
            Fault::new(kind, format!("no Sentinel answered ({})", all.join("; ")))
        }
    })
}

/// A connection to one Sentinel, authenticated as it requires.
async fn open(
    ep: &Endpoint,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<MultiplexedConnection, Fault> {
    let addr = Addr::Tcp(host.to_string(), port);
    let explicit = ep.sentinel_auth.clone();
    let mut conn =
        raw_connect(ep, &addr, &explicit.clone().unwrap_or_default(), 0, timeout).await?;
    let ping: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
    match ping {
        Ok(_) => Ok(conn),
        Err(e) if e.code() == Some("NOAUTH") => {
            if explicit.is_some() || ep.auth.password.is_none() {
                return Err(Fault::Auth("authentication failed".into()));
            }
            let mut conn = raw_connect(ep, &addr, &ep.auth, 0, timeout).await?;
            let _: String = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(|e| fault(&e))?;
            Ok(conn)
        }
        Err(e) => Err(fault(&e)),
    }
}

async fn get_master(
    conn: &mut MultiplexedConnection,
    service: &str,
) -> Result<(String, u16), Fault> {
    let reply: Option<(String, String)> = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(service)
        .query_async(conn)
        .await
        .map_err(|e| fault(&e))?;
    let (h, p) =
        reply.ok_or_else(|| Fault::Server(format!("knows no master named `{service}`")))?;
    let p = p
        .parse::<u16>()
        .map_err(|_| Fault::Protocol(format!("answered a bad port `{p}`")))?;
    Ok((h, p))
}

/// Ask a Sentinel every `every` which node is master, and return (with the
/// reason) once it names one other than `current` (`host:port`). Sentinels
/// that cannot be reached change nothing: the node polled may be fine.
pub(crate) async fn until_moved(
    ep: &Endpoint,
    current: &str,
    every: Duration,
    timeout: Duration,
) -> Fault {
    let Target::Sentinel { service, .. } = &ep.target else {
        return std::future::pending().await;
    };
    let mut conn: Option<MultiplexedConnection> = None;
    loop {
        tokio::time::sleep(every).await;
        let answer = match conn.as_mut() {
            Some(c) => get_master(c, service).await,
            None => match ask_any(ep, timeout).await {
                Ok((c, a)) => {
                    conn = Some(c);
                    Ok(a)
                }
                Err(e) => Err(e),
            },
        };
        match answer {
            Ok((h, p)) if host_port(&h, p) != current => {
                return Fault::Server(format!(
                    "Sentinel now names {} as master (failover)",
                    host_port(&h, p)
                ));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "sentinel check failed");
                conn = None;
            }
        }
    }
}
