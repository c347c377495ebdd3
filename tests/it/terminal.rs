//! The real binary on a real terminal (tmux): signals give the terminal
//! back, Ctrl-Z suspends and `fg` (SIGCONT) redraws, the files it writes are
//! private and never overwritten, and hostile paths are refused before the
//! console starts.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::wait_for;

const BIN: &str = env!("CARGO_BIN_EXE_heliostat");

/// A tmux server of its own running the console in one pane.
struct Tmux {
    socket: String,
    dir: PathBuf,
}

impl Tmux {
    /// An interactive shell with job control, the console started from it:
    /// a process tmux started itself would be continued by tmux at once.
    fn start_in_shell(args: &[&str]) -> (Tmux, u32) {
        let t = Tmux::start(&[]);
        let shell = t.pid();
        let line = std::iter::once(BIN)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        t.tmux(&["send-keys", &line, "Enter"]);
        let mut pid = None;
        wait_for("the console starts", Duration::from_secs(15), || {
            pid = child_named(shell, "heliostat");
            pid.is_some()
        });
        (t, pid.unwrap_or_default())
    }

    /// The command in the pane: the console, or with no arguments a shell.
    fn start(args: &[&str]) -> Tmux {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("heliostat-test-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(&socket);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let t = Tmux { socket, dir };
        let mut cmd = vec![
            "new-session".to_string(),
            "-d".into(),
            "-x".into(),
            "120".into(),
            "-y".into(),
            "40".into(),
            "-e".into(),
            format!("XDG_STATE_HOME={}", t.dir.join("state").display()),
            "-e".into(),
            "NO_COLOR=1".into(),
        ];
        if args.is_empty() {
            cmd.extend(["bash", "--norc", "--noprofile", "-i"].map(String::from));
        } else {
            cmd.push(BIN.into());
            cmd.extend(args.iter().map(|a| a.to_string()));
        }
        let out = Command::new("tmux")
            .args(["-L", &t.socket, "-f", "/dev/null"])
            .args(&cmd)
            .output()
            .expect("tmux runs (scripts/test installs it)");
        assert!(out.status.success(), "tmux new-session: {out:?}");
        t.tmux(&["set-option", "-g", "remain-on-exit", "on"]);
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let v: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        self.tmux_owned(&v)
    }

    fn tmux_owned(&self, args: &[String]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs (scripts/test installs it)");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn show(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", format])
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    fn pid(&self) -> u32 {
        self.show("#{pane_pid}").parse().expect("a pane pid")
    }

    /// The pane's terminal settings (`stty -a`), split in words.
    fn stty(&self) -> Vec<String> {
        let tty = self.show("#{pane_tty}");
        let out = Command::new("stty")
            .args(["-F", &tty, "-a"])
            .output()
            .expect("stty");
        let words: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert!(words.len() > 10, "stty -F {tty}: {out:?}");
        words
    }

    /// Raw mode turns signal keys off (`-isig`); the shell's line editor,
    /// like a plain cooked terminal, keeps them on.
    fn tty_is_raw(&self) -> bool {
        self.stty().iter().any(|w| w == "-isig")
    }

    fn wait_screen(&self, text: &str) {
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while !self.screen().contains(text) {
            assert!(
                std::time::Instant::now() < end,
                "`{text}` not on screen after 20 s:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `stty -a` as the shell in the pane sees the terminal now.
    fn stty_from_shell(&self) -> String {
        let out = self.dir.join("stty.txt");
        let _ = std::fs::remove_file(&out);
        self.tmux(&[
            "send-keys",
            &format!("stty -a > {}", out.display()),
            "Enter",
        ]);
        let mut text = String::new();
        wait_for("stty's answer", Duration::from_secs(10), || {
            text = std::fs::read_to_string(&out).unwrap_or_default();
            text.contains("isig")
        });
        text
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A child of `parent` running `name`.
fn child_named(parent: u32, name: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, rest) = stat.rsplit_once(") ")?;
        let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent && head.ends_with(&format!("({name}"))).then_some(pid)
    })
}

fn state_of(pid: u32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(") ")?.1.chars().next()
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn ctrl_z_and_sigtstp_give_the_terminal_back_and_fg_redraws() {
    let (t, pid) = Tmux::start_in_shell(&["--demo"]);
    t.wait_screen("DEMO");
    assert_eq!(t.show("#{alternate_on}"), "1");
    assert!(t.tty_is_raw(), "raw while drawing");
    for stop in ["key", "TSTP"] {
        if stop == "key" {
            t.tmux(&["send-keys", "C-z"]);
        } else {
            signal(pid, "TSTP");
        }
        wait_for("the process stops", Duration::from_secs(10), || {
            state_of(pid) == Some('T')
        });
        t.wait_screen("Stopped");
        assert_eq!(t.show("#{alternate_on}"), "0", "{stop}: normal screen");
        assert!(!t.tty_is_raw(), "{stop}: not raw while stopped");
        t.tmux(&["send-keys", "clear; fg", "Enter"]);
        wait_for("raw mode again", Duration::from_secs(10), || {
            t.show("#{alternate_on}") == "1" && t.tty_is_raw()
        });
        t.wait_screen("DEMO");
        assert_ne!(state_of(pid), Some('T'));
    }
    // Still alive and answering keys.
    t.tmux(&["send-keys", "?"]);
    t.wait_screen("help · ? or Esc to close");
}

#[test]
fn sigquit_restores_the_terminal_before_exiting() {
    let (t, pid) = Tmux::start_in_shell(&["--demo"]);
    t.wait_screen("DEMO");
    assert_eq!(t.show("#{cursor_flag}"), "0", "hidden while drawing");
    signal(pid, "QUIT");
    wait_for("the console ends", Duration::from_secs(10), || {
        state_of(pid).is_none()
    });
    assert_eq!(t.show("#{alternate_on}"), "0");
    assert_eq!(t.show("#{cursor_flag}"), "1", "the cursor is shown again");
    let stty = t.stty_from_shell();
    assert!(
        stty.split_whitespace().any(|w| w == "isig") && stty.contains(" icanon"),
        "the terminal is not left raw: {stty}"
    );
}

#[test]
fn saved_screens_and_logs_are_private_and_never_overwritten() {
    let t = Tmux::start(&["--demo"]);
    t.wait_screen("DEMO");
    for _ in 0..3 {
        t.tmux(&["send-keys", "S"]);
    }
    let dir = t.dir.join("state/heliostat/screens");
    let files = || -> Vec<PathBuf> {
        std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };
    wait_for("six saved files", Duration::from_secs(10), || {
        files().len() == 6
    });
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&t.dir.join("state/heliostat")), 0o700);
    for f in files() {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    let logs: Vec<PathBuf> = std::fs::read_dir(t.dir.join("state/heliostat"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(mode(&logs[0]), 0o600);
    // Ctrl-C quits even when a dialog or the filter box has the keys.
    t.tmux(&["send-keys", "/"]);
    t.tmux(&["send-keys", "C-c"]);
    wait_for("Ctrl-C quits", Duration::from_secs(10), || {
        t.show("#{pane_dead}") == "1"
    });
}

/// The binary with `args`, no terminal: its exit code and stderr.
fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn hostile_paths_are_refused_before_anything_is_read_or_made() {
    let (code, err) = run(&["--config", "/dev/zero"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a regular file (it is a device)"), "{err}");
    let (code, err) = run(&["snapshot", "--theme", "/dev/zero"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a regular file"), "{err}");
    let (code, err) = run(&["--demo", "--log-file", "/nonexistent-heliostat/dir/x.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
    assert!(
        !Path::new("/nonexistent-heliostat").exists(),
        "nothing made"
    );
    let (code, err) = run(&["--demo", "--log-file", "/dev/full"]);
    assert_eq!(code, 2);
    assert!(err.contains("is a device"), "{err}");
    // A control sequence in an argument is echoed as text, not sent to the terminal.
    let (code, err) = run(&["--context", "x\x1b]52;c;aGk=\x07"]);
    assert_eq!(code, 2);
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(err.contains("\\x1b]52;c;aGk=\\x07"), "{err}");
}

#[test]
fn warm_without_a_config_says_where_it_looked() {
    let home = std::env::temp_dir().join(format!("heliostat-home-{}", std::process::id()));
    let out = Command::new(BIN)
        .args(["warm", "--rule", "users", "--keys", "user:1"])
        .env("HOME", &home)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let want = format!(
        "looked for {}",
        home.join(".config/heliostat/config.toml").display()
    );
    assert!(err.contains(&want), "{err}");
}
