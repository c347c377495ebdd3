//! Throw-away servers for integration tests: started on free loopback ports
//! in a temporary directory, killed on drop, and any left over from a killed
//! test run are reaped at the next start. Never touches anyone's data.
//!
//! `RedisServer` is one process (a data node, a cluster node or a Sentinel);
//! `cluster` forms a Redis Cluster of them, `sentinel` a master, a replica
//! and a Sentinel watching them; `tls` makes throw-away certificates;
//! `postgres` runs throw-away PostgreSQL clusters (`PgServer`) and a
//! PgBouncer in front of one (`PgBouncer`); `console` runs the live
//! sources into a real state and renders it; `warm_console` drives a
//! console with warm rules and the real warm service by key events.

pub mod cluster;
pub mod console;
pub mod postgres;
pub mod sentinel;
pub mod tls;
pub mod valkey;
pub mod warm_console;

/// Poll `ok` every 50 ms until it holds; panic naming `what` after `limit`.
pub fn wait_for(what: &str, limit: std::time::Duration, mut ok: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// A current-thread runtime with IO and timers, as each test drives its own.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn registry() -> PathBuf {
    let dir = std::env::temp_dir().join("heliostat-test-servers");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// True while process `pid` runs (a zombie — killed, not yet reaped — is gone).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
        // "pid (comm) S …": the state follows the last ')'.
        st.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
}

/// Kill servers whose test process is gone (a run that was killed).
fn reap_leftovers() {
    let Ok(entries) = std::fs::read_dir(registry()) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Some(server) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let owner: u32 = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if owner != 0 && alive(owner) {
            continue;
        }
        let cmdline =
            std::fs::read_to_string(format!("/proc/{server}/cmdline")).unwrap_or_default();
        // Sentinels run as `redis-server … --sentinel` (their title says
        // `[sentinel]`) or as `redis-sentinel`.
        if cmdline.contains("postgres") && cmdline.contains("heliostat-pg-") {
            // A postmaster (`postgres -D …/heliostat-pg-…`): its immediate
            // shutdown takes its backends along.
            let _ = Command::new("kill")
                .arg("-QUIT")
                .arg(server.to_string())
                .status();
        } else if cmdline.contains("pgbouncer") && cmdline.contains("heliostat-pg-") {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(server.to_string())
                .status();
        } else if cmdline.contains("redis-server")
            || cmdline.contains("redis-sentinel")
            || cmdline.contains("valkey-server")
        {
            let _ = Command::new("kill")
                .arg("-9")
                .arg(server.to_string())
                .status();
        }
        let _ = std::fs::remove_file(path);
    }
}

/// A port nobody listens on right now (the caller must still expect races).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// What a [`RedisServer`] process is.
#[derive(Debug, Clone)]
enum Role {
    /// A data node (`--cluster-port` chosen per start when `cluster`).
    Data { cluster: bool },
    /// A Sentinel with this configuration (the port line is added).
    Sentinel(String),
}

/// A `redis-server` of our own.
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
    role: Role,
    /// Cluster bus port (cluster nodes).
    pub bus_port: Option<u16>,
    /// The server program (`redis-server`, or a `valkey-server`).
    binary: PathBuf,
}

impl RedisServer {
    fn new_in(role: Role, extra: &[&str]) -> Self {
        reap_leftovers();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("heliostat-redis-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self {
            port: free_port(),
            dir,
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            role,
            bus_port: None,
            binary: PathBuf::from("redis-server"),
        }
    }

    /// Start a Valkey 8.1 server ([`valkey::server`]) with extra
    /// arguments; a cluster node owning every slot when `cluster`.
    pub fn start_valkey(extra: &[&str], cluster: bool) -> Self {
        let mut args: Vec<&str> = Vec::new();
        if cluster {
            args.extend([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ]);
        }
        args.extend_from_slice(extra);
        let mut s = Self::new_in(Role::Data { cluster }, &args);
        s.binary = valkey::server();
        s.spawn();
        if cluster {
            let () = s.cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]).unwrap();
            wait_for(
                "the one-node cluster to be up",
                Duration::from_secs(10),
                || {
                    s.info("cluster").contains("cluster_enabled:1")
                        && s.cmd::<String>(&["CLUSTER", "INFO"])
                            .is_ok_and(|i| i.contains("cluster_state:ok"))
                },
            );
        }
        s
    }

    /// Start one (no persistence), with extra `--option value` arguments.
    pub fn start_with(extra: &[&str]) -> Self {
        let mut s = Self::new_in(Role::Data { cluster: false }, extra);
        s.spawn();
        s
    }

    /// Start one listening on a unix socket too (see [`RedisServer::socket`]).
    pub fn start_with_socket(extra: &[&str]) -> Self {
        let mut s = Self::new_in(Role::Data { cluster: false }, extra);
        let sock = s.socket();
        s.extra.push("--unixsocket".into());
        s.extra.push(sock.to_string_lossy().into_owned());
        s.extra.push("--unixsocketperm".into());
        s.extra.push("700".into());
        s.spawn();
        s
    }

    /// The unix socket path (listening only if started with one).
    pub fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// Start a cluster-enabled node (not yet in any cluster): its nodes.conf
    /// lives in its own temp dir, its bus on a free port of its own.
    pub fn start_cluster_node(extra: &[&str]) -> Self {
        let mut args = vec![
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
        ];
        args.extend_from_slice(extra);
        let mut s = Self::new_in(Role::Data { cluster: true }, &args);
        s.spawn();
        s
    }

    /// Start a Sentinel with `conf` (without its `port` line; `sentinel
    /// monitor …` and friends). Sentinels rewrite their file, so it lives
    /// in the temp dir.
    pub fn start_sentinel(conf: &str) -> Self {
        let mut s = Self::new_in(Role::Sentinel(conf.to_string()), &[]);
        s.spawn();
        s
    }

    /// The server's own temp dir (for a unix socket, certificates, …).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn command(&mut self) -> Command {
        let mut c = Command::new(&self.binary);
        match &self.role {
            Role::Sentinel(conf) => {
                let path = self.dir.join("sentinel.conf");
                let text = format!(
                    "port {}\nbind 127.0.0.1\ndir {}\n{conf}\n",
                    self.port,
                    self.dir.display()
                );
                std::fs::write(&path, text).expect("sentinel.conf");
                c.arg(&path).arg("--sentinel");
            }
            Role::Data { cluster } => {
                c.args([
                    "--port",
                    &self.port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(&self.dir);
                if *cluster {
                    let bus = *self.bus_port.get_or_insert_with(free_port);
                    c.args(["--cluster-port", &bus.to_string()]);
                }
                c.args(&self.extra);
            }
        }
        c
    }

    /// Start one with default settings.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Start the process; when another process won the race for the port
    /// (the child exits, or someone else answers), pick a new port and retry.
    fn spawn(&mut self) {
        for _ in 0..10 {
            let child = self
                .command()
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "{} could not start ({e}); scripts/test installs redis-server",
                        self.binary.display()
                    )
                });
            let _ = std::fs::write(
                registry().join(child.id().to_string()),
                std::process::id().to_string(),
            );
            let pid = child.id();
            self.child = Some(child);
            if self.wait_ready(pid) {
                return;
            }
            self.kill();
            self.port = free_port();
            if self.bus_port.is_some() {
                self.bus_port = Some(free_port());
            }
        }
        panic!("could not start redis-server on a free port");
    }

    /// True once the server answering on our port is our own process.
    fn wait_ready(&mut self, pid: u32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                return false; // exited: the port was taken
            }
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = vec![0u8; 4096];
                if c.write_all(b"INFO server\r\n").is_ok() {
                    let n = c.read(&mut buf).unwrap_or(0);
                    let text = String::from_utf8_lossy(&buf[..n]);
                    if text.contains("process_id:") {
                        return text.contains(&format!("process_id:{pid}\r\n"));
                    }
                    if text.starts_with("-NOAUTH") {
                        // A password is set, so INFO cannot say whose server
                        // this is: ours if our process is still up (a failed
                        // bind makes it exit at once).
                        std::thread::sleep(Duration::from_millis(200));
                        return matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)));
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Kill it hard (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            let _ = std::fs::remove_file(registry().join(c.id().to_string()));
        }
    }

    /// Start it again on the same port (a restart: new run id, empty cache).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// A plain client for the test's own traffic.
    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c
    }

    /// Run one command on the server and return its reply.
    pub fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> redis::RedisResult<T> {
        let mut c = self.client();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut c)
    }

    /// `INFO section` as text ("" when the server does not answer).
    pub fn info(&self, section: &str) -> String {
        self.cmd(&["INFO", section]).unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
