//! A live console `State` with warm rules and the real warm service, driven
//! by key events through the real keymap (for `warm_console.rs` and
//! `warm_auto.rs`).

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use heliostat::app::actions::Effect;
use heliostat::app::state::{SessionInfo, State};
use heliostat::engines::Timestamp;
use heliostat::keymap::{Keymap, Resolved};
use heliostat::ops::warm::console::{JobLog, WarmCmd, spawn_warm_service};
use heliostat::ops::warm::rules::{Rule, RuleSpec};
use heliostat::ops::warm::write::Mode;
use heliostat::sample::{Body, KeyAccess, Sample, SourceId};
use heliostat::sources::redis::wall_now;
use tokio::sync::mpsc;

use crate::support::RedisServer;
use crate::support::postgres::PgServer;

/// The `users` rule: `user:${id}` from the `users` table, fill, ttl 600,
/// preload of ids up to 300.
pub fn rule(redis: &RedisServer, pg: &PgServer, rate: u64, batch: usize) -> Rule {
    Rule::from_spec(RuleSpec {
        name: "users".into(),
        key: "user:${id}".into(),
        redis: redis.url(),
        postgres: pg.url(),
        query:
            "SELECT id::text AS id, payload AS value FROM users WHERE id = ANY($1::text[]::int[])"
                .into(),
        hot_keys_query: Some("SELECT id::text AS id FROM users WHERE id <= 300".into()),
        ttl: Some(600),
        ttl_column: None,
        ttl_jitter: Some(0.1),
        mode: Mode::Fill,
        max_keys_per_s: Some(rate),
        batch: Some(batch),
        contexts: Vec::new(),
    })
    .unwrap()
}

/// A Redis and a Postgres whose `users` table has ids 1..=5000.
pub fn setup() -> (RedisServer, PgServer) {
    let pg = PgServer::start();
    pg.sql(
        "CREATE TABLE users (id int PRIMARY KEY, payload text); \
         INSERT INTO users SELECT g, 'p' || g FROM generate_series(1, 5000) g;",
    );
    (RedisServer::start(), pg)
}

pub struct Console {
    pub state: State,
    pub keymap: Keymap,
    pub rx: mpsc::Receiver<Vec<Sample>>,
    pub cmds: mpsc::Sender<WarmCmd>,
}

impl Console {
    pub fn new(rules: Vec<Rule>, writes: bool) -> Console {
        Console::with_log(rules, writes, None)
    }

    pub fn with_log(rules: Vec<Rule>, writes: bool, log: Option<JobLog>) -> Console {
        let session = SessionInfo {
            writes_allowed: writes,
            read_only_reason: (!writes).then(|| "--read-only was given".to_string()),
            ..SessionInfo::default()
        };
        Console::with_session(rules, session, log)
    }

    /// Writes allowed, and automatic warming on.
    pub fn auto(rules: Vec<Rule>) -> Console {
        let session = SessionInfo {
            writes_allowed: true,
            auto_warm: true,
            ..SessionInfo::default()
        };
        Console::with_session(rules, session, None)
    }

    pub fn with_session(rules: Vec<Rule>, session: SessionInfo, log: Option<JobLog>) -> Console {
        let mut state = State::new(session, 1000);
        state.warm.rules = rules.clone();
        let (tx, rx) = mpsc::channel(256);
        let (cmds, cmd_rx) = mpsc::channel(64);
        spawn_warm_service(rules, log, cmd_rx, tx);
        let mut c = Console {
            state,
            keymap: Keymap::default(),
            rx,
            cmds,
        };
        c.state.tick(wall_now());
        c
    }

    /// Press `key` as a terminal would deliver it; perform the effects.
    pub async fn press(&mut self, key: KeyCode) -> Vec<Effect> {
        let ev = KeyEvent::new(key, KeyModifiers::NONE);
        let Resolved::Action(a) = self
            .keymap
            .resolve(self.state.ui.mode, self.state.ui.focus, ev)
        else {
            panic!("{key:?} is not bound here");
        };
        let fx = self.state.handle(a, wall_now());
        for f in &fx {
            self.perform(f.clone()).await;
        }
        fx
    }

    pub async fn perform(&mut self, f: Effect) {
        if let Some(cmd) = f.warm_cmd() {
            self.cmds.send(cmd).await.unwrap();
        }
    }

    /// Apply samples (ticking) until `done` or 20 s.
    pub async fn until(&mut self, mut done: impl FnMut(&State) -> bool) {
        let end = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(&self.state) {
            match tokio::time::timeout_at(end, self.rx.recv()).await {
                Ok(Some(batch)) => batch.iter().for_each(|s| self.state.apply(s)),
                _ => panic!("timed out; status {:?}", self.state.ui.status),
            }
            self.state.tick(wall_now());
        }
    }

    /// Apply whatever samples arrive within `wait`.
    pub async fn drain(&mut self, wait: Duration) {
        let end = tokio::time::Instant::now() + wait;
        while let Ok(Some(batch)) = tokio::time::timeout_at(end, self.rx.recv()).await {
            batch.iter().for_each(|s| self.state.apply(s));
        }
    }

    /// Accesses to `keys` (hits and misses): they become or stay hot.
    pub fn accesses(&mut self, keys: impl Iterator<Item = String>, hits: u32, misses: u32) {
        let keys = keys
            .map(|key| KeyAccess {
                key,
                count: hits + misses,
                hits,
                misses,
            })
            .collect();
        self.state.apply(&Sample {
            source: SourceId(0),
            generation: 0,
            at: wall_now(),
            body: Body::KeyAccesses(keys),
        });
    }

    /// Hot keys missing from the cache: warming candidates.
    pub fn misses(&mut self, ids: impl Iterator<Item = u32>) {
        self.accesses(ids.map(|i| format!("user:{i}")), 0, 20);
        self.state.tick(wall_now());
    }

    /// One data tick of the live loop at `now`: tick, then the warming
    /// round; its effects performed and returned.
    pub async fn round(&mut self, now: Timestamp) -> Vec<Effect> {
        self.state.tick(now);
        let fx = self.state.warm_round(now);
        for f in &fx {
            self.perform(f.clone()).await;
        }
        fx
    }
}

/// A config file with the `users` rule (fill, ttl 600, preload of ids up
/// to 300) for the binary.
pub fn users_config(redis: &RedisServer, pg: &PgServer) -> std::path::PathBuf {
    let config = redis.dir().join("heliostat.toml");
    std::fs::write(
        &config,
        format!(
            "[[warm.rules]]\nname = \"users\"\nkey = \"user:${{id}}\"\nredis = \"{}\"\npostgres = \"{}\"\n\
             query = \"SELECT id::text AS id, payload AS value FROM users WHERE id = ANY($1::text[]::int[])\"\nttl = 600\n\
             hot_keys_query = \"SELECT id::text AS id FROM users WHERE id <= 300\"\n",
            redis.url(),
            pg.url()
        ),
    )
    .unwrap();
    config
}

/// `SET` calls the server has answered (`INFO commandstats`).
pub fn set_calls(redis: &RedisServer) -> u64 {
    calls(redis, "set")
}

/// Calls of `command` the server has answered (`INFO commandstats`).
pub fn calls(redis: &RedisServer, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:calls=");
    redis
        .info("commandstats")
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
