//! Expired-key notifications (`--expiry-events`), only when asked for: on a
//! busy node the pub/sub stream can be large enough to overflow the
//! connection's output buffer on the server, so it is never on by default.
//! The server must have them enabled (`notify-keyspace-events` with `E` and
//! `x`); heliostat never changes server configuration, it says what is
//! missing instead.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{NodeConfig, OwnLoad, describe};
use crate::sample::{Body, ExpiredKeys, Sample};

/// Most keys handed over per flush; the rest are counted, not named.
const MAX_PER_FLUSH: usize = 10_000;
/// How often keys are handed to the app.
const FLUSH: Duration = Duration::from_millis(500);
const PATTERN: &str = "__keyevent@*__:expired";

/// Whether a `notify-keyspace-events` value publishes expired-key events.
pub fn enabled(flags: &str) -> bool {
    flags.contains('E') && (flags.contains('x') || flags.contains('A'))
}

/// Listen until the receiver goes away, reconnecting after failures.
pub async fn run_expiry(
    cfg: NodeConfig,
    own: std::sync::Arc<OwnLoad>,
    tx: mpsc::Sender<Vec<Sample>>,
) {
    let out = crate::sources::Reporter::new(cfg.id, tx.clone());
    let send = |body: Body| out.one(body);
    loop {
        let outcome = match super::endpoint::node_client(&cfg).await {
            Ok(client) => listen(&client, &cfg, &own, &send).await,
            Err(e) => Err(e),
        };
        let note = match outcome {
            Ok(()) => return,
            Err(e) => e,
        };
        tracing::warn!(error = %note, "expired-key notifications unavailable");
        let body = Body::Expired(ExpiredKeys {
            keys: Vec::new(),
            dropped: 0,
            note: Some(note),
        });
        if !send(body).await {
            return;
        }
        tokio::time::sleep(cfg.retry.max(Duration::from_secs(1))).await;
    }
}

async fn listen<F, Fut>(
    client: &redis::Client,
    cfg: &NodeConfig,
    own: &OwnLoad,
    send: &F,
) -> Result<(), String>
where
    F: Fn(Body) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // Whether the server publishes them; a restricted ACL may not allow
    // CONFIG, in which case listening is all that can be done.
    let note = match super::endpoint::open(cfg).await {
        Ok(mut c) => {
            own.add(1, 0, 0);
            match redis::cmd("CONFIG")
                .arg("GET")
                .arg("notify-keyspace-events")
                .query_async::<Vec<String>>(&mut c)
                .await
            {
                Ok(v) if v.get(1).is_some_and(|f| !enabled(f)) => Some(
                    "the server does not publish expired-key events (notify-keyspace-events needs Ex)"
                        .to_string(),
                ),
                _ => None,
            }
        }
        Err(e) => return Err(e),
    };
    let mut pubsub = match tokio::time::timeout(cfg.timeout, client.get_async_pubsub()).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(describe(&e)),
        Err(_) => return Err("timed out".into()),
    };
    own.add(1, 0, 0);
    pubsub.psubscribe(PATTERN).await.map_err(|e| describe(&e))?;
    if note.is_some() {
        let body = Body::Expired(ExpiredKeys {
            keys: Vec::new(),
            dropped: 0,
            note,
        });
        if !send(body).await {
            return Ok(());
        }
    }
    let mut messages = pubsub.on_message();
    let mut tick = tokio::time::interval(FLUSH);
    let (mut keys, mut dropped) = (Vec::new(), 0u64);
    loop {
        tokio::select! {
            msg = messages.next() => {
                let Some(msg) = msg else {
                    return Err("notification connection closed".into());
                };
                if keys.len() < MAX_PER_FLUSH {
                    if let Ok(k) = msg.get_payload::<String>() {
                        keys.push(k);
                    }
                } else {
                    dropped += 1;
                }
            }
            _ = tick.tick() => {
                if keys.is_empty() && dropped == 0 {
                    continue;
                }
                let body = Body::Expired(ExpiredKeys {
                    keys: std::mem::take(&mut keys),
                    dropped: std::mem::take(&mut dropped),
                    note: None,
                });
                if !send(body).await {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_events_need_e_and_x_or_a() {
        assert!(enabled("Ex"));
        assert!(enabled("xE"));
        assert!(enabled("AKE"));
        assert!(!enabled("Kx"), "keyspace (K) but not keyevent (E) channels");
        assert!(!enabled(""));
    }
}
