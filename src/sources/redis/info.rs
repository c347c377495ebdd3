//! `INFO` parsed into typed fields. Pure: the text in, figures out, so it is
//! tested on captured replies as well as against a real server.

use rustc_hash::FxHashMap;

use crate::engines::intern::key_hash;
use crate::sample::RedisRole;

/// The `INFO` fields heliostat uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    /// `redis_version` (Valkey reports one too).
    pub version: String,
    /// `valkey_version` or `server_name`, when the server is not Redis.
    pub server_name: Option<String>,
    /// Hash of `run_id`: a new one means a restart.
    pub run_id: u64,
    /// `uptime_in_seconds`.
    pub uptime_s: u64,
    /// `role` (master / slave).
    pub role: String,
    /// `redis_mode` (standalone / cluster / sentinel).
    pub mode: String,
    /// `cluster_enabled:1` (`# Cluster`).
    pub cluster_enabled: bool,
    /// `master_link_status` on replicas.
    pub master_link_up: Option<bool>,
    /// `keyspace_hits`.
    pub keyspace_hits: u64,
    /// `keyspace_misses`.
    pub keyspace_misses: u64,
    /// `total_commands_processed`.
    pub commands: u64,
    /// `evicted_keys`.
    pub evicted_keys: u64,
    /// `expired_keys`.
    pub expired_keys: u64,
    /// `used_memory`.
    pub used_memory: u64,
    /// `used_memory_rss`.
    pub used_memory_rss: u64,
    /// `maxmemory` (0 = unlimited).
    pub maxmemory: u64,
    /// `maxmemory_policy`.
    pub maxmemory_policy: String,
    /// `mem_fragmentation_ratio`.
    pub fragmentation: Option<f64>,
    /// `connected_clients`.
    pub connected_clients: u64,
    /// `blocked_clients`.
    pub blocked_clients: u64,
    /// `rejected_connections`.
    pub rejected_connections: u64,
    /// Keys over all databases (`# Keyspace`).
    pub keys: u64,
    /// Per-command calls and µs (`# Commandstats`).
    pub commandstats: FxHashMap<String, (u64, u64)>,
    /// Per-command latency percentiles p50, p99, p99.9 in ns (`# Latencystats`, Redis ≥ 7).
    pub latencystats: FxHashMap<String, [u64; 3]>,
    /// `master_repl_offset`.
    pub repl_offset: u64,
    /// Replicas' acknowledged offsets (`slaveN:…,offset=…`), on a primary.
    pub replica_offsets: Vec<u64>,
    /// Commands past [`MAX_COMMANDS`] left out of `commandstats` and
    /// `latencystats`.
    pub commands_dropped: u64,
}

/// Commands whose stats one `INFO` may add (Redis has a few hundred, with
/// subcommands); further ones are counted in `commands_dropped`.
pub const MAX_COMMANDS: usize = 1_000;

/// Longest command name kept, in bytes.
pub const COMMAND_BYTES: usize = 64;

/// Put a command's figures into `map` if there is room for it.
fn per_command<V>(map: &mut FxHashMap<String, V>, dropped: &mut u64, name: &str, v: V) {
    let name = crate::engines::bounded::name(name, COMMAND_BYTES);
    if let Some(slot) = map.get_mut(&*name) {
        *slot = v;
    } else if map.len() < MAX_COMMANDS {
        map.insert(name.into_owned(), v);
    } else {
        *dropped += 1;
    }
}

impl Info {
    /// Parse a reply to `INFO` (any sections). Unknown fields are ignored,
    /// malformed lines are skipped: a monitor must not fail on a new field.
    pub fn parse(text: &str) -> Info {
        let mut info = Info::default();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let n = || v.parse::<u64>().unwrap_or(0);
            match k {
                "redis_version" => info.version = v.to_string(),
                "valkey_version" => info.server_name = Some(format!("valkey {v}")),
                "server_name" => info.server_name = Some(v.to_string()),
                "run_id" => info.run_id = key_hash(v),
                "uptime_in_seconds" => info.uptime_s = n(),
                "role" => info.role = v.to_string(),
                "redis_mode" | "server_mode" => info.mode = v.to_string(),
                "cluster_enabled" => info.cluster_enabled = v == "1",
                "master_link_status" => info.master_link_up = Some(v == "up"),
                "keyspace_hits" => info.keyspace_hits = n(),
                "keyspace_misses" => info.keyspace_misses = n(),
                "total_commands_processed" => info.commands = n(),
                "evicted_keys" => info.evicted_keys = n(),
                "expired_keys" => info.expired_keys = n(),
                "used_memory" => info.used_memory = n(),
                "used_memory_rss" => info.used_memory_rss = n(),
                "maxmemory" => info.maxmemory = n(),
                "maxmemory_policy" => info.maxmemory_policy = v.to_string(),
                "mem_fragmentation_ratio" => info.fragmentation = v.parse().ok(),
                "connected_clients" => info.connected_clients = n(),
                "blocked_clients" => info.blocked_clients = n(),
                "rejected_connections" => info.rejected_connections = n(),
                _ if k.starts_with("db") && k[2..].bytes().all(|b| b.is_ascii_digit()) => {
                    info.keys += field(v, "keys").unwrap_or(0);
                }
                "master_repl_offset" => info.repl_offset = n(),
                _ if k.starts_with("slave") && k[5..].bytes().all(|b| b.is_ascii_digit()) => {
                    if let Some(off) = field(v, "offset") {
                        info.replica_offsets.push(off);
                    }
                }
                _ if k.starts_with("latency_percentiles_usec_") => {
                    let pct = |name: &str| {
                        v.split(',')
                            .filter_map(|kv| kv.split_once('='))
                            .find(|(k, _)| *k == name)
                            .and_then(|(_, x)| x.parse::<f64>().ok())
                            .map_or(0, |us| (us * 1000.0).round().max(0.0) as u64)
                    };
                    per_command(
                        &mut info.latencystats,
                        &mut info.commands_dropped,
                        &k["latency_percentiles_usec_".len()..],
                        [pct("p50"), pct("p99"), pct("p99.9")],
                    );
                }
                _ if k.starts_with("cmdstat_") => {
                    let calls = field(v, "calls").unwrap_or(0);
                    let usec = field(v, "usec").unwrap_or(0);
                    per_command(
                        &mut info.commandstats,
                        &mut info.commands_dropped,
                        &k["cmdstat_".len()..],
                        (calls, usec),
                    );
                }
                _ => {}
            }
        }
        info
    }

    /// The server version as (major, minor), `(0, 0)` when unknown.
    pub fn version_tuple(&self) -> (u32, u32) {
        let mut it = self
            .version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    }

    /// `CLIENT NO-TOUCH` exists from Redis 7.2 (a guess from the version:
    /// connections try the command and record the answer in
    /// `endpoint::Server::no_touch`, which is what counts).
    pub fn has_no_touch(&self) -> bool {
        self.server_name.is_none() && self.version_tuple() >= (7, 2)
    }

    /// Bytes the slowest replica is behind (primary with replicas only).
    pub fn replica_lag_bytes(&self) -> Option<u64> {
        self.replica_offsets
            .iter()
            .map(|&o| self.repl_offset.saturating_sub(o))
            .max()
    }

    /// The node's role, when `INFO` said (`replication` section).
    pub fn redis_role(&self) -> Option<RedisRole> {
        match self.role.as_str() {
            "master" => Some(RedisRole::Primary),
            "slave" | "replica" => Some(RedisRole::Replica),
            _ => None,
        }
    }

    /// An LFU policy is set, so `OBJECT FREQ` works.
    pub fn lfu(&self) -> bool {
        self.maxmemory_policy.contains("lfu")
    }
}

/// `name=value` out of a comma-separated INFO value (`keys=3,expires=0`).
fn field(v: &str, name: &str) -> Option<u64> {
    v.split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, x)| x.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_past_the_cap_are_counted_not_kept() {
        let mut text = String::from("# Commandstats\r\n");
        for i in 0..1_000_000 {
            text.push_str(&format!(
                "cmdstat_c{i}:calls={i},usec=1,usec_per_call=1\r\n"
            ));
        }
        text.push_str(&format!(
            "cmdstat_{}:calls=1,usec=1\r\n",
            "x".repeat(10_000)
        ));
        let info = Info::parse(&text);
        assert_eq!(info.commandstats.len(), MAX_COMMANDS);
        assert_eq!(info.commands_dropped, 1_000_000 - MAX_COMMANDS as u64 + 1);
        assert!(info.commandstats.keys().all(|k| k.len() <= COMMAND_BYTES));
    }

    const SAMPLE: &str = "# Server\r\nredis_version:7.0.15\r\nrun_id:787498175b83f6222d70a848ceaad1fa683a8b05\r\nuptime_in_seconds:5433\r\n\r\n# Clients\r\nconnected_clients:3\r\nblocked_clients:1\r\n\r\n# Memory\r\nused_memory:1048576\r\nused_memory_rss:2097152\r\nmaxmemory:0\r\nmaxmemory_policy:allkeys-lfu\r\nmem_fragmentation_ratio:2.00\r\n\r\n# Stats\r\ntotal_commands_processed:120\r\nkeyspace_hits:90\r\nkeyspace_misses:10\r\nevicted_keys:0\r\nexpired_keys:4\r\nrejected_connections:0\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=10.0.0.2,port=6379,state=online,offset=900,lag=0\r\nslave1:ip=10.0.0.3,port=6379,state=online,offset=1000,lag=1\r\nmaster_repl_offset:1000\r\n\r\n# Latencystats\r\nlatency_percentiles_usec_get:p50=1.003,p99=2.007,p99.9=3.007\r\n\r\n# Commandstats\r\ncmdstat_get:calls=100,usec=250,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=100\r\ndb2:keys=4,expires=0,avg_ttl=0\r\n";

    #[test]
    fn parses_the_fields_heliostat_uses() {
        let i = Info::parse(SAMPLE);
        assert_eq!(i.version_tuple(), (7, 0));
        assert_eq!(
            (i.keyspace_hits, i.keyspace_misses, i.commands),
            (90, 10, 120)
        );
        assert_eq!(i.keys, 7);
        assert_eq!(i.used_memory, 1_048_576);
        assert_eq!(i.fragmentation, Some(2.0));
        assert_eq!(i.commandstats.get("get"), Some(&(100, 250)));
        assert_eq!(i.role, "master");
        assert_eq!(i.replica_lag_bytes(), Some(100));
        assert_eq!(i.latencystats.get("get"), Some(&[1_003, 2_007, 3_007]));
        assert_eq!(i.redis_role(), Some(RedisRole::Primary));
        assert!(i.lfu());
        assert!(!i.has_no_touch());
        assert_ne!(i.run_id, 0);
    }

    #[test]
    fn garbage_is_ignored_not_fatal() {
        let i = Info::parse("nonsense\nkeyspace_hits:abc\ndb:keys=x\ncmdstat_:calls\n:\n");
        assert_eq!(i.keyspace_hits, 0);
        assert_eq!(i.keys, 0);
    }

    #[test]
    fn valkey_is_not_taken_for_redis_7_2() {
        let i = Info::parse("redis_version:7.2.4\nserver_name:valkey\n");
        assert!(!i.has_no_touch());
        assert!(Info::parse("redis_version:7.2.0\n").has_no_touch());
    }

    #[test]
    fn mode_and_cluster_flag() {
        let i =
            Info::parse("redis_mode:cluster\r\nrole:slave\r\n# Cluster\r\ncluster_enabled:1\r\n");
        assert_eq!(i.mode, "cluster");
        assert!(i.cluster_enabled);
        assert_eq!(i.redis_role(), Some(RedisRole::Replica));
        assert_eq!(Info::parse("").redis_role(), None);
    }
}
