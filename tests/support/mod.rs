//! Throw-away servers for integration tests: started on free loopback ports
//! in a temporary directory, killed on drop, and any left over from a killed
//! test run are reaped at the next start. Never touches anyone's data.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn registry() -> PathBuf {
    let dir = std::env::temp_dir().join("heliostat-test-servers");
    let _ = std::fs::create_dir_all(&dir);
    dir
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
        if owner != 0 && std::path::Path::new(&format!("/proc/{owner}")).exists() {
            continue;
        }
        let cmdline =
            std::fs::read_to_string(format!("/proc/{server}/cmdline")).unwrap_or_default();
        if cmdline.contains("redis-server") {
            let _ = Command::new("kill")
                .arg("-9")
                .arg(server.to_string())
                .status();
        }
        let _ = std::fs::remove_file(path);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` of our own.
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
}

impl RedisServer {
    /// Start one (no persistence), with extra `--option value` arguments.
    pub fn start_with(extra: &[&str]) -> Self {
        reap_leftovers();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("heliostat-redis-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut s = Self {
            port: free_port(),
            dir,
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        s.spawn();
        s
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
            let child = Command::new("redis-server")
                .args([
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
                .arg(&self.dir)
                .args(&self.extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is installed (scripts/test installs it)");
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
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
