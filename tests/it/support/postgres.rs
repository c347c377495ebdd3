//! Throw-away PostgreSQL clusters: `initdb` into a temp dir, a free
//! loopback port, the socket inside the temp dir, trust for `postgres` on
//! loopback and passwords for every other role. PostgreSQL refuses to run
//! as root: as root, `initdb` and the server run as the `postgres` user
//! (`runuser`) on a directory it owns. The postmaster's pid goes in the
//! shared registry, so a killed test run's servers are reaped at the next
//! start. [`PgServer::replica_of`] makes a streaming replica with
//! `pg_basebackup`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{COUNTER, alive, free_port, reap_leftovers, registry};

/// `/usr/lib/postgresql/<newest>/bin` (Debian keeps them off PATH).
pub fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/test installs it)")
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql")
        .1
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A command for a PostgreSQL binary, as the `postgres` user when we are root.
fn pg_command(bin: &str) -> Command {
    let path = bin_dir().join(bin);
    if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

/// A PostgreSQL cluster of our own.
pub struct PgServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    pid: Option<u32>,
}

impl PgServer {
    /// A fresh cluster, started, with `extra` lines in `postgresql.conf`
    /// (e.g. `shared_preload_libraries = 'pg_stat_statements'`).
    pub fn start_with(extra: &[&str]) -> Self {
        let mut s = Self::init(extra);
        s.spawn();
        s
    }

    /// A fresh cluster serving TLS with this certificate and key (PEM files,
    /// copied into the cluster's directory for the `postgres` user).
    pub fn start_tls(cert: &Path, key: &Path) -> Self {
        let mut s = Self::init(&["ssl = on"]);
        for (src, name) in [(cert, "server.crt"), (key, "server.key")] {
            let text = std::fs::read_to_string(src).expect("a PEM file");
            let dst = s.data().join(name);
            write_as_owner(&dst, &text);
            let _ = Command::new("chmod").arg("600").arg(&dst).status();
        }
        s.spawn();
        s
    }

    /// A streaming replica of `primary`: `pg_basebackup -R` (the WAL
    /// streamed alongside) into a new temp dir, started on a free port with
    /// the primary's extra settings and the `primary_conninfo` written by
    /// `-R`; with `slot`, through a physical slot of that name that
    /// `pg_basebackup` creates on the primary.
    pub fn replica_of(primary: &PgServer, slot: Option<&str>) -> Self {
        let dir = cluster_dir();
        let mut cmd = pg_command("pg_basebackup");
        cmd.arg("-D")
            .arg(dir.join("data"))
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
            .args(["-U", "postgres", "-R", "-X", "stream", "-c", "fast"])
            .arg("--no-sync")
            .env_remove("PGPASSWORD");
        if let Some(name) = slot {
            cmd.args(["-C", "-S", name]);
        }
        let out = cmd.output().expect("pg_basebackup runs");
        assert!(out.status.success(), "pg_basebackup: {}", text(&out));
        // `-R` wrote the connection into postgresql.auto.conf, which
        // `write_conf` replaces: carry it over.
        let auto = std::fs::read_to_string(dir.join("data/postgresql.auto.conf"))
            .expect("postgresql.auto.conf from -R");
        let mut extra = primary.extra.clone();
        extra.extend(
            auto.lines()
                .filter(|l| l.starts_with("primary_conninfo") || l.starts_with("primary_slot_name"))
                .map(str::to_string),
        );
        assert!(
            dir.join("data/standby.signal").exists() && extra.len() > primary.extra.len(),
            "pg_basebackup -R made a standby: {auto}"
        );
        let mut s = Self {
            port: free_port(),
            dir,
            extra,
            pid: None,
        };
        s.spawn();
        s
    }

    fn init(extra: &[&str]) -> Self {
        let dir = cluster_dir();
        let out = pg_command("initdb")
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .output()
            .expect("initdb runs");
        assert!(out.status.success(), "initdb: {}", text(&out));
        let hba = "local all all trust\n\
                   host all postgres 127.0.0.1/32 trust\n\
                   host replication postgres 127.0.0.1/32 trust\n\
                   host all all 127.0.0.1/32 scram-sha-256\n";
        write_as_owner(&dir.join("data/pg_hba.conf"), hba);
        Self {
            port: free_port(),
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            pid: None,
        }
    }

    /// A fresh cluster with default settings.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn write_conf(&self) {
        let mut conf = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             shared_buffers = 16MB\nmax_connections = 30\nlogging_collector = off\n",
            self.port,
            self.dir.join("sock").display()
        );
        for l in &self.extra {
            conf.push_str(l);
            conf.push('\n');
        }
        write_as_owner(&self.data().join("postgresql.auto.conf"), &conf);
    }

    /// Start the server; when another process won the race for the port,
    /// pick a new one and retry.
    fn spawn(&mut self) {
        for _ in 0..5 {
            self.write_conf();
            let out = pg_command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.join("server.log"))
                .args(["-w", "-t", "30", "start"])
                .stdin(Stdio::null())
                .output()
                .expect("pg_ctl runs");
            let pid = std::fs::read_to_string(self.data().join("postmaster.pid"))
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()));
            if out.status.success()
                && let Some(pid) = pid
            {
                let _ = std::fs::write(
                    registry().join(pid.to_string()),
                    std::process::id().to_string(),
                );
                self.pid = Some(pid);
                return;
            }
            self.port = free_port();
        }
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        panic!("could not start postgres: {log}");
    }

    /// Stop it at once (SIGQUIT, PostgreSQL's immediate shutdown: no
    /// checkpoint, crash recovery at the next start), as a crash would.
    pub fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if alive(pid) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            let _ = std::fs::remove_file(registry().join(pid.to_string()));
            // The backends follow their postmaster; wait for the pid file.
            let pidfile = self.data().join("postmaster.pid");
            while pidfile.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_file(pidfile);
        }
    }

    /// Start it again after [`PgServer::kill`].
    pub fn start_again(&mut self) {
        self.spawn();
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable`.
    pub fn url(&self) -> String {
        self.url_for("postgres", "postgres")
    }

    /// A URL for `user` (without password) and `db`.
    pub fn url_for(&self, user: &str, db: &str) -> String {
        format!(
            "postgres://{user}@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// Run SQL as `postgres` on `db` with `psql` and return its unaligned
    /// output (panics on failure).
    pub fn sql_on(&self, db: &str, sql: &str) -> String {
        let out = self.psql(db, sql);
        assert!(out.status.success(), "psql {sql}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// [`PgServer::sql_on`] the `postgres` database.
    pub fn sql(&self, sql: &str) -> String {
        self.sql_on("postgres", sql)
    }

    fn psql(&self, db: &str, sql: &str) -> Output {
        Command::new("psql")
            .args([
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-d", db])
            .args(["-c", sql])
            .env_remove("PGPASSWORD")
            .env_remove("DATABASE_URL")
            .output()
            .expect("psql runs")
    }

    /// Put `line` first in `pg_hba.conf` and reload (e.g. `host all
    /// nobody 127.0.0.1/32 trust`, so a missing role is refused as such
    /// rather than by a failed password check).
    pub fn hba_first(&self, line: &str) {
        let path = self.data().join("pg_hba.conf");
        let old = std::fs::read_to_string(&path).expect("pg_hba.conf");
        write_as_owner(&path, &format!("{line}\n{old}"));
        self.sql("SELECT pg_reload_conf()");
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new temp dir for a cluster (with its socket dir), owned by
/// `postgres` when we are root; leftovers of dead test runs go first.
fn cluster_dir() -> PathBuf {
    reap_leftovers();
    remove_stale_dirs();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("heliostat-pg-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sock")).expect("temp dir");
    if as_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown {} to postgres", dir.display());
    }
    dir
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Write a file the server (running as `postgres`) can read and rewrite.
fn write_as_owner(path: &Path, contents: &str) {
    std::fs::write(path, contents).expect("write a cluster file");
    if as_root() {
        let _ = Command::new("chown")
            .arg("postgres:postgres")
            .arg(path)
            .status();
    }
}

/// Remove the cluster directories of test processes that are gone (their
/// servers were reaped by the registry).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix("heliostat-pg-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let pidfile = e.path().join("data/postmaster.pid");
        let running = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
            .is_some_and(alive);
        if !alive(owner) && !running {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A PgBouncer of our own in front of a [`PgServer`], with PgBouncer's
/// defaults where they matter (unknown startup parameters refused, no
/// `max_prepared_statements` on 1.18): database `tx` is the server's
/// `postgres` database in transaction pooling, `session` the same in
/// session pooling; one server connection per pool, so consecutive
/// transactions of different clients share it.
pub struct PgBouncer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    pid: Option<u32>,
}

impl PgBouncer {
    /// Start one in front of `server` (`pgbouncer` must be installed:
    /// scripts/test installs it).
    pub fn start(server: &PgServer) -> Self {
        let dir = cluster_dir();
        let bin = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("pgbouncer is installed (scripts/test installs it)");
        write_as_owner(&dir.join("users.txt"), "\"postgres\" \"\"\n");
        for _ in 0..5 {
            let port = free_port();
            let db = format!("host=127.0.0.1 port={} dbname=postgres", server.port);
            let ini = format!(
                "[databases]\ntx = {db} pool_mode=transaction\nsession = {db} pool_mode=session\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {d}/users.txt\npool_mode = transaction\n\
                 default_pool_size = 1\nlogfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n",
                d = dir.display()
            );
            let conf = dir.join("pgbouncer.ini");
            write_as_owner(&conf, &ini);
            let mut cmd = if as_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--", bin]);
                c
            } else {
                Command::new(bin)
            };
            let out = cmd
                .arg("-d")
                .arg(&conf)
                .stdin(Stdio::null())
                .output()
                .expect("pgbouncer runs");
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut pid = None;
            while pid.is_none() && Instant::now() < deadline {
                pid = std::fs::read_to_string(dir.join("pgbouncer.pid"))
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok())
                    .filter(|p| alive(*p));
                if pid.is_none() {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            let Some(pid) = pid.filter(|_| out.status.success()) else {
                continue;
            };
            let _ = std::fs::write(
                registry().join(pid.to_string()),
                std::process::id().to_string(),
            );
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            return Self {
                port,
                dir,
                pid: Some(pid),
            };
        }
        let log = std::fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
        panic!("could not start pgbouncer: {log}");
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB?sslmode=disable` (`tx` or
    /// `session`).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// Its log (what it refused and why).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_file(registry().join(pid.to_string()));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
