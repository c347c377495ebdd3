//! A throw-away Sentinel setup: a master, a replica of it, and one Sentinel
//! monitoring them as `mymaster` with quorum 1 and short timeouts, so a
//! failover takes a second or two. Killed on drop.

use std::time::Duration;

use super::{RedisServer, wait_for};

/// The service name the Sentinel monitors.
pub const SERVICE: &str = "mymaster";

/// A master, its replica and a Sentinel.
pub struct SentinelSet {
    /// The master at start (held: it runs as long as the set).
    #[allow(dead_code)]
    pub master: RedisServer,
    /// Its replica at start.
    pub replica: RedisServer,
    /// The Sentinel.
    pub sentinel: RedisServer,
}

impl SentinelSet {
    /// Start all three; returns once the Sentinel knows the replica (so a
    /// failover can pick it).
    pub fn start() -> Self {
        let master = RedisServer::start();
        let replica =
            RedisServer::start_with(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
        wait_for("the replica to sync", Duration::from_secs(20), || {
            replica
                .info("replication")
                .contains("master_link_status:up")
        });
        let conf = format!(
            "sentinel monitor {SERVICE} 127.0.0.1 {} 1\n\
             sentinel down-after-milliseconds {SERVICE} 1000\n\
             sentinel failover-timeout {SERVICE} 4000\n\
             sentinel parallel-syncs {SERVICE} 1\n",
            master.port
        );
        let sentinel = RedisServer::start_sentinel(&conf);
        // A failover needs a replica the Sentinel itself has pinged and read
        // INFO from lately (not just seen in the master's INFO).
        let port = replica.port.to_string();
        wait_for(
            "the Sentinel to know the replica",
            Duration::from_secs(20),
            || {
                let r: redis::RedisResult<Vec<Vec<String>>> =
                    sentinel.cmd(&["SENTINEL", "REPLICAS", SERVICE]);
                r.is_ok_and(|list| {
                    list.iter().any(|fields| {
                        let f: std::collections::HashMap<&str, &str> = fields
                            .chunks_exact(2)
                            .map(|kv| (kv[0].as_str(), kv[1].as_str()))
                            .collect();
                        let ms = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
                        f.get("port") == Some(&port.as_str())
                            && f.get("flags") == Some(&"slave")
                            && ms("info-refresh").is_some_and(|t| t < 5_000)
                            && ms("last-ok-ping-reply").is_some_and(|t| t < 5_000)
                    })
                })
            },
        );
        SentinelSet {
            master,
            replica,
            sentinel,
        }
    }

    /// `redis+sentinel://127.0.0.1:PORT/mymaster`.
    pub fn url(&self) -> String {
        format!(
            "redis+sentinel://127.0.0.1:{}/{SERVICE}",
            self.sentinel.port
        )
    }

    /// The master's port as the Sentinel names it now.
    pub fn master_port(&self) -> Option<u16> {
        let r: redis::RedisResult<Option<(String, String)>> =
            self.sentinel
                .cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE]);
        r.ok().flatten().and_then(|(_, p)| p.parse().ok())
    }

    /// Ask the Sentinel for a failover now (no agreement needed).
    pub fn failover(&self) {
        let _: () = self
            .sentinel
            .cmd(&["SENTINEL", "FAILOVER", SERVICE])
            .unwrap();
    }
}
