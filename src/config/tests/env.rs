//! The environment and the file system: default paths, XDG, permissions, secrets.

use super::*;

// ---- environment and file system

#[test]
fn default_config_path() {
    let mut e = Env {
        vars: Default::default(),
        home: Some("/home/op".into()),
        xdg: Some("/xdg".into()),
    };
    assert_eq!(
        e.default_config_path(),
        Some(PathBuf::from("/xdg/heliostat/config.toml"))
    );
    e.xdg = Some("relative/xdg".into());
    assert_eq!(
        e.default_config_path(),
        Some(PathBuf::from("/home/op/.config/heliostat/config.toml"))
    );
    e.xdg = None;
    assert_eq!(
        e.default_config_path(),
        Some(PathBuf::from("/home/op/.config/heliostat/config.toml"))
    );
    e.home = None;
    assert_eq!(e.default_config_path(), None);
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("heliostat-config-{}-{tag}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, rel: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn missing_default_file_is_fine_missing_explicit_file_is_not() {
    let dir = TempDir::new("missing");
    let e = Env {
        home: Some(dir.0.clone()),
        ..env(&[])
    };
    assert!(resolve(&cli(&[]), &e).unwrap().is_demo());
    let missing = dir.0.join("nope.toml");
    let err = resolve(&cli(&["--config", missing.to_str().unwrap()]), &e).unwrap_err();
    assert!(matches!(err, ConfigError::NotFound { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("nope.toml not found (given with --config)"),
        "{err}"
    );
}

#[test]
fn default_file_is_found_via_xdg_then_home() {
    let dir = TempDir::new("xdg");
    dir.write("xdg/heliostat/config.toml", "theme = \"from-xdg\"\n", 0o644);
    dir.write(
        "home/.config/heliostat/config.toml",
        "theme = \"from-home\"\n",
        0o644,
    );
    let mut e = Env {
        home: Some(dir.0.join("home")),
        xdg: Some(dir.0.join("xdg")),
        vars: Default::default(),
    };
    assert_eq!(resolve(&cli(&[]), &e).unwrap().theme, "from-xdg");
    e.xdg = None;
    assert_eq!(resolve(&cli(&[]), &e).unwrap().theme, "from-home");
}

#[test]
fn directory_as_config_is_a_read_error() {
    let dir = TempDir::new("dir");
    let err = read_config(&dir.0, true).unwrap_err();
    assert!(err.to_string().contains("cannot read it"), "{err}");
}

#[cfg(unix)]
#[test]
fn secret_file_must_be_private() {
    let dir = TempDir::new("perm");
    let text = "context = \"p\"\n[contexts.p]\nredis = \"redis://:hunter2@h\"\n";
    let path = dir.write("config.toml", text, 0o640);
    let args = ["--config", path.to_str().unwrap()];
    let err = resolve(&cli(&args), &env(&[])).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            ConfigError::InsecureFile {
                line: 3,
                mode: 0o640,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("run `chmod 600 {}`", path.display())),
        "{msg}"
    );
    assert!(
        msg.contains("key `contexts.p.redis`") && !msg.contains("hunter2"),
        "{msg}"
    );
    dir.write("config.toml", text, 0o600);
    let s = resolve(&cli(&args), &env(&[])).unwrap();
    assert_eq!(live(&s).0, ["redis://:hunter2@h"]);
    // Without a secret, a readable file is fine.
    dir.write(
        "config.toml",
        "[contexts.p]\nredis = \"redis://h\"\n",
        0o644,
    );
    assert!(resolve(&cli(&args), &env(&[])).is_ok());
}

#[test]
fn secret_detection_in_memory() {
    let readable = |src: &str| parse_config(Path::new("c.toml"), src, Some(0o604));
    let e = readable("[contexts.a]\npostgres = [\"postgres://db\", \"postgres://u:pw@db\"]\n")
        .unwrap_err();
    assert!(
        matches!(&e, ConfigError::InsecureFile { line: 2, key, mode: 0o604, .. } if key == "contexts.a.postgres[1]"),
        "{e}"
    );
    let e = readable("[contexts.a]\nredis_password = \"x\"\n").unwrap_err();
    assert!(matches!(e, ConfigError::InsecureFile { .. }), "{e}");
    // Not secrets: a context named like one, a password-free URL, unknown permissions.
    assert!(readable("[contexts.passwordless]\nredis = \"redis://u@h\"\n").is_ok());
    assert!(
        parse_config(
            Path::new("c.toml"),
            "[contexts.a]\nredis = \"redis://:pw@h\"\n",
            None
        )
        .is_ok()
    );
}

#[test]
fn syntax_error_line_is_right_without_a_comment_header() {
    let e = parse_config(Path::new("c.toml"), "a = 1\n\n[x\n", None).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Invalid {
                line: Some(3),
                key: None,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn rediscli_auth_and_tls_flags_fill_in_what_redis_urls_lack() {
    let vars = [("REDISCLI_AUTH", "s3 cr&t")];
    let s = settle(
        &[
            "--redis",
            "redis://h",
            "--redis",
            "redis://:own@h2",
            "--redis",
            "rediss://h3",
            "--tls-ca",
            "/etc/ca.pem",
        ],
        &vars,
        None,
    )
    .unwrap();
    assert_eq!(
        live(&s).0,
        [
            "redis://h?password=s3%20cr%26t",
            "redis://:own@h2",
            "rediss://h3?password=s3%20cr%26t&tls_ca=/etc/ca.pem",
        ]
    );
    assert!(
        !format!("{s:?}").contains("s3%20"),
        "the password is redacted"
    );
    // Context URLs get it too, and so does a live snapshot's: the demo
    // reads no environment, but a server named on the command line needs
    // the password a safe way in too.
    let s = settle(
        &["--context", "p"],
        &vars,
        Some("[contexts.p]\nredis = \"redis://h\"\n"),
    )
    .unwrap();
    assert_eq!(live(&s).0, ["redis://h?password=s3%20cr%26t"]);
    let s = settle(&["snapshot", "--redis", "redis://x"], &vars, None).unwrap();
    assert_eq!(live(&s).0, ["redis://x?password=s3%20cr%26t"]);
    // The events connection too.
    let s = settle(
        &[
            "--redis",
            "redis://h",
            "--events",
            "ev",
            "--events-redis",
            "rediss://e",
            "--tls-ca",
            "/etc/ca.pem",
        ],
        &vars,
        None,
    )
    .unwrap();
    match &s.mode {
        Mode::Live { events_redis, .. } => assert_eq!(
            events_redis.as_deref(),
            Some("rediss://e?password=s3%20cr%26t&tls_ca=/etc/ca.pem")
        ),
        m => panic!("{m:?}"),
    }
    // A certificate needs its key.
    assert!(Cli::try_parse_from(["heliostat", "--tls-cert", "/c.pem"]).is_err());
}

#[test]
fn redis_urls_are_checked_in_full_at_start() {
    let e = settle(&["--redis", "redis://:hunter2@h?colour=red"], &[], None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown URL option `colour`") && !e.contains("hunter2"),
        "{e}"
    );
    assert!(settle(&["--redis", "redis+unix:///run/r.sock"], &[], None).is_ok());
}

#[test]
fn postgres_urls_sqlx_would_misread_are_refused() {
    for (url, want) in [
        ("postgres://h:0/x", "port 0 is not a port number"),
        ("postgres://us%zzer:hunter2@h/x", "user name has a `%`"),
        ("postgres://u:hunter2%@h/x", "password has a `%`"),
        (
            "postgres://u:hunter2@h/x?connect_timeout=abc",
            "unknown URL option `connect_timeout` (heliostat waits 3 s",
        ),
        (
            "postgres://h/x?sslmod=require",
            "unknown URL option `sslmod`",
        ),
    ] {
        let e = settle(&["--postgres", url], &[], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{url}: {e}");
        assert!(!e.contains("hunter2"), "{url}: {e}");
    }
    for ok in [
        "postgres://u:p%40ss@h:5432/x?sslmode=require&application_name=a",
        "postgres://h/x?options[statement_timeout]=5s",
    ] {
        assert!(settle(&["--postgres", ok], &[], None).is_ok(), "{ok}");
    }
}

#[test]
fn postgres_urls_are_checked_in_full_at_load() {
    // From the file: the line and the key, the password hidden.
    let src = "[contexts.p]\nredis = \"redis://r\"\npostgres = \"postgres://app:hunter2@db:notaport/x\"\n";
    let e = parse_config(Path::new("/cfg/config.toml"), src, Some(0o600))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 3, key `contexts.p.postgres`")
            && e.contains("`postgres://app:***@db:notaport/x`: invalid port number")
            && !e.contains("hunter2"),
        "{e}"
    );
    let src = "[contexts.p]\npostgres = [\"postgres://db/app\", \"postgres://:hunter2@db/app?sslmode=bogus\"]\n";
    let e = parse_config(Path::new("/cfg/config.toml"), src, Some(0o600))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 2, key `contexts.p.postgres[1]`")
            && e.contains("sslmode is one of disable, allow, prefer")
            && !e.contains("hunter2"),
        "{e}"
    );
    // From a flag or a variable: the origin.
    let bad_port = "postgres://app:hunter2@db:notaport/x";
    let bad_mode = "postgres://app:hunter2@db/x?sslmode=bogus";
    for (args, vars, origin) in [
        (vec!["--postgres", bad_port], vec![], "--postgres: "),
        (vec![], vec![("DATABASE_URL", bad_mode)], "DATABASE_URL: "),
        (
            vec!["--redis", "redis://r", "--stats-sink", bad_mode],
            vec![],
            "--stats-sink: ",
        ),
    ] {
        let e = settle(&args, &vars, None).unwrap_err().to_string();
        assert!(
            e.starts_with(origin) && e.contains("`postgres://app:***@db") && !e.contains("hunter2"),
            "{e}"
        );
        assert!(
            e.contains("invalid port number")
                || e.contains("unknown value \"bogus\" for `ssl_mode`"),
            "{e}"
        );
    }
    assert!(
        settle(
            &["--postgres", "postgres://app@db:6432/x?sslmode=verify-full"],
            &[],
            None
        )
        .is_ok()
    );
}

#[test]
fn a_password_on_the_command_line_is_warned_about_once() {
    let s = settle(
        &[
            "--redis",
            "redis://:hunter2@h",
            "--redis",
            "redis://:again@h2",
            "--postgres",
            "postgres://u:pw@db/x",
        ],
        &[],
        None,
    )
    .unwrap();
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    let w = &s.warnings[0];
    assert!(
        w.contains("--redis, --postgres") && w.contains("REDISCLI_AUTH"),
        "{w}"
    );
    assert!(!w.contains("hunter2"), "{w}");
    // The same password from the environment is not in `ps`.
    let s = settle(&["--redis", "redis://h"], &[("REDISCLI_AUTH", "x")], None).unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}
