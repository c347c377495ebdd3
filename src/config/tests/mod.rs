use std::path::{Path, PathBuf};

use clap::Parser as _;

use super::*;
use crate::action::{Action, Pane};
use crate::keymap::{InputMode, Resolved};

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("heliostat").chain(args.iter().copied())).unwrap()
}

fn env(vars: &[(&str, &str)]) -> Env {
    Env {
        vars: vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        home: Some(PathBuf::from("/home/op")),
        xdg: None,
    }
}

fn file(src: &str) -> ConfigFile {
    parse_config(Path::new("/cfg/config.toml"), src, Some(0o600)).unwrap()
}

fn settle(
    args: &[&str],
    vars: &[(&str, &str)],
    src: Option<&str>,
) -> Result<Settings, ConfigError> {
    let f = src.map(file);
    resolve_with(&cli(args), &env(vars), f.as_ref())
}

fn live(s: &Settings) -> (&[String], &[String], Option<&str>) {
    match &s.mode {
        Mode::Live {
            redis,
            postgres,
            events,
            ..
        } => (redis, postgres, events.as_deref()),
        Mode::Demo => panic!("expected live mode, got demo"),
    }
}

const FULL: &str = include_str!("../../../tests/fixtures/config/valid/full.toml");

// ---- fixtures (bottom style): every valid file loads, every invalid file fails as its header says.

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Header comments: `# expect: FRAGMENT` (any number) and `# mode: OCTAL`
/// (permission bits to check against; default 644, a typical checkout).
fn header(src: &str) -> (Vec<&str>, u32) {
    let mut expect = Vec::new();
    let mut mode = 0o644;
    for line in src.lines().take_while(|l| l.starts_with('#')) {
        if let Some(e) = line.strip_prefix("# expect:") {
            expect.push(e.trim());
        } else if let Some(m) = line.strip_prefix("# mode:") {
            mode = u32::from_str_radix(m.trim(), 8).unwrap();
        }
    }
    (expect, mode)
}

#[test]
fn valid_fixtures_load() {
    let files = fixtures("valid");
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        let (expect, mode) = header(&src);
        assert!(
            expect.is_empty(),
            "{}: valid fixtures expect nothing",
            path.display()
        );
        if let Err(e) = parse_config(&path, &src, Some(mode)) {
            panic!("{} should load: {e}", path.display());
        }
    }
}

#[test]
fn invalid_fixtures_fail_with_the_expected_message() {
    let files = fixtures("invalid");
    assert!(files.len() >= 8, "{files:?}");
    let mut failures = Vec::new();
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        let (expect, mode) = header(&src);
        assert!(
            !expect.is_empty(),
            "{}: add a `# expect:` line",
            path.display()
        );
        let msg = match parse_config(&path, &src, Some(mode)) {
            Ok(_) => {
                failures.push(format!("{}: loaded, should fail", path.display()));
                continue;
            }
            Err(e) => e.to_string(),
        };
        assert!(
            msg.starts_with(&format!("config file {}", path.display())),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "a password leaked: {msg}");
        for fragment in expect.iter().filter(|f| !msg.contains(**f)) {
            failures.push(format!(
                "{}:\n  message: {msg}\n  missing: {fragment}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- resolution and precedence

#[test]
fn nothing_configured_is_the_demo_with_defaults() {
    let s = settle(&[], &[], None).unwrap();
    assert!(s.is_demo());
    assert!(s.writes_allowed && !s.read_only && s.read_only_reason.is_none());
    assert_eq!(s.theme, "default");
    assert_eq!(s.color, ColorMode::Auto);
    assert_eq!(s.refresh, Duration::from_secs(1));
    assert_eq!(s.seed, DEFAULT_SEED);
    assert_eq!(s.context, None);
    assert_eq!(s.banner, None);
    assert!(!s.redact_keys);
    assert_eq!(s.log_file, None);
    assert_eq!(s.keymap, Keymap::default());
    assert_eq!(s.config_path, None);
}

#[test]
fn env_urls_make_a_read_only_live_session() {
    let s = settle(
        &[],
        &[
            ("REDIS_URL", "redis://r:6379"),
            ("DATABASE_URL", "postgres://db/app"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(
        live(&s),
        (
            &["redis://r:6379".to_string()][..],
            &["postgres://db/app".to_string()][..],
            None
        )
    );
    assert!(!s.writes_allowed);
    assert!(
        s.read_only_reason
            .as_deref()
            .unwrap()
            .contains("--allow-writes")
    );
    assert!(!s.read_only);
}

#[test]
fn flags_beat_env() {
    let s = settle(
        &["--redis", "redis://a", "--redis", "redis://b"],
        &[
            ("REDIS_URL", "redis://env"),
            ("DATABASE_URL", "postgres://env/db"),
        ],
        None,
    )
    .unwrap();
    let (redis, postgres, _) = live(&s);
    assert_eq!(redis, ["redis://a", "redis://b"]);
    assert_eq!(
        postgres,
        ["postgres://env/db"],
        "each source kind resolves on its own"
    );
}

#[test]
fn default_context_from_the_file() {
    let s = settle(&[], &[], Some(FULL)).unwrap();
    assert_eq!(s.context.as_deref(), Some("local"));
    let (redis, postgres, events) = live(&s);
    assert_eq!(redis, ["redis://localhost:6379"]);
    assert_eq!(postgres, ["postgres://app@localhost/app"]);
    assert_eq!(events, None);
    assert!(s.writes_allowed, "context local allows writes");
    assert_eq!(s.config_path, Some(PathBuf::from("/cfg/config.toml")));
    assert_eq!(
        s.log_file,
        Some(PathBuf::from(
            "/home/op/.local/state/heliostat/heliostat.log"
        ))
    );
}

#[test]
fn env_beats_the_default_context_but_not_an_explicit_one() {
    let vars = [("REDIS_URL", "redis://dev-box")];
    let s = settle(&[], &vars, Some(FULL)).unwrap();
    assert_eq!(live(&s).0, ["redis://dev-box"]);
    assert_eq!(live(&s).1, ["postgres://app@localhost/app"]);
    let s = settle(&["--context", "prod"], &vars, Some(FULL)).unwrap();
    assert_eq!(live(&s).0.len(), 3, "--context prod keeps prod's servers");
    // Flags still beat an explicit context.
    let s = settle(
        &["--context", "prod", "--redis", "redis://x"],
        &vars,
        Some(FULL),
    )
    .unwrap();
    assert_eq!(live(&s).0, ["redis://x"]);
}

#[test]
fn prod_context_settings() {
    let s = settle(&["--context", "prod"], &[], Some(FULL)).unwrap();
    assert_eq!(s.context.as_deref(), Some("prod"));
    let (redis, postgres, events) = live(&s);
    assert_eq!(redis.len(), 3);
    assert_eq!(postgres.len(), 2);
    assert_eq!(events, Some("heliostat:events"));
    assert_eq!(s.refresh, Duration::from_secs(2));
    assert_eq!(s.theme, "high-contrast");
    assert_eq!(
        s.banner,
        Some(Banner {
            label: "PROD".into(),
            color: Some("red".into())
        })
    );
    assert!(s.redact_keys);
    assert!(!s.writes_allowed);
    assert!(
        s.read_only_reason
            .as_deref()
            .unwrap()
            .contains("context `prod` does not allow writes")
    );
}

#[test]
fn value_precedence_flag_context_top_default() {
    let src =
        "theme = \"top\"\nrefresh = 3\n[contexts.c]\ntheme = \"ctx\"\nrefresh = 4\n[contexts.d]\n";
    let s = settle(
        &["--context", "c", "--theme", "flag", "--refresh", "5"],
        &[],
        Some(src),
    )
    .unwrap();
    assert_eq!(
        (s.theme.as_str(), s.refresh),
        ("flag", Duration::from_secs(5))
    );
    let s = settle(&["--context", "c"], &[], Some(src)).unwrap();
    assert_eq!(
        (s.theme.as_str(), s.refresh),
        ("ctx", Duration::from_secs(4))
    );
    let s = settle(&["--context", "d"], &[], Some(src)).unwrap();
    assert_eq!(
        (s.theme.as_str(), s.refresh),
        ("top", Duration::from_secs(3))
    );
    let s = settle(&[], &[], Some("[contexts.d]\n")).unwrap();
    assert_eq!(
        (s.theme.as_str(), s.refresh),
        ("default", Duration::from_secs(1))
    );
}

#[test]
fn sampler_settings_flags_then_file_then_defaults() {
    let d = settle(&[], &[], None).unwrap().sampler;
    assert_eq!(d, SamplerConfig::default());
    assert_eq!(
        (d.budget, d.delimiter.as_str(), d.memory),
        (1000, ":", false)
    );
    let src = "[sampler]\nbudget = 250\ndelimiter = \"/\"\nelements = \"on\"\n";
    let s = settle(&[], &[], Some(src)).unwrap().sampler;
    assert_eq!(
        (s.budget, s.delimiter.as_str(), s.memory),
        (250, "/", false)
    );
    assert_eq!(
        s.elements,
        crate::sources::redis::sampler::ElementCounts::On
    );
    let args = [
        "--sample-budget",
        "0",
        "--key-delimiter",
        "::",
        "--sample-memory",
    ];
    let s = settle(&args, &[], Some(src)).unwrap().sampler;
    assert_eq!((s.budget, s.delimiter.as_str(), s.memory), (0, "::", true));
}

#[test]
fn the_sampler_budget_follows_the_node_unless_fixed_per_context() {
    use crate::sources::redis::sampler::Follow;
    let d = settle(&[], &[], None).unwrap().sampler;
    assert_eq!((d.budget, d.follow), (1000, Some(Follow::default())));
    let src = "[sampler]\nbudget = 250\n[contexts.busy.sampler]\nshare = \"2%\"\ncap = 400\n\
               [contexts.fixed.sampler]\nbudget = 50\n[contexts.plain]\n";
    let top = settle(&[], &[], Some(src)).unwrap().sampler;
    assert_eq!((top.budget, top.follow), (250, None));
    let plain = settle(&["--context", "plain"], &[], Some(src))
        .unwrap()
        .sampler;
    assert_eq!((plain.budget, plain.follow), (250, None));
    let busy = settle(&["--context", "busy"], &[], Some(src))
        .unwrap()
        .sampler;
    let f = busy.follow.unwrap();
    assert_eq!((busy.budget, f.share, f.floor), (400, 0.02, 20));
    let fixed = settle(&["--context", "fixed"], &[], Some(src))
        .unwrap()
        .sampler;
    assert_eq!((fixed.budget, fixed.follow), (50, None));
    // A flag wins over the context: a share there follows, a number fixes.
    let args = [
        "--context",
        "fixed",
        "--sample-budget",
        "1%",
        "--sample-floor",
        "5",
    ];
    let s = settle(&args, &[], Some(src)).unwrap().sampler;
    let f = s.follow.unwrap();
    assert_eq!((s.budget, f.share, f.floor), (1000, 0.01, 5));
    let s = settle(
        &["--context", "busy", "--sample-budget", "70"],
        &[],
        Some(src),
    )
    .unwrap()
    .sampler;
    assert_eq!((s.budget, s.follow), (70, None));
    // Both ways in one table, a floor above the cap, a bad share: refused, named.
    for (bad, key) in [
        ("[sampler]\nbudget = 10\nshare = \"5%\"\n", "budget"),
        ("[sampler]\nfloor = 100\ncap = 10\n", "floor"),
        ("[sampler]\nshare = \"5\"\n", "share"),
        ("[contexts.x.sampler]\nshare = \"90%\"\n", "share"),
    ] {
        let e = parse_config(Path::new("/cfg/config.toml"), bad, Some(0o600))
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{bad}: {e}");
    }
}

#[test]
fn redact_keys_precedence() {
    let src = "redact_keys = true\n[contexts.open]\nredact_keys = false\n[contexts.plain]\n";
    assert!(settle(&[], &[], Some(src)).unwrap().redact_keys);
    assert!(
        !settle(&["--context", "open"], &[], Some(src))
            .unwrap()
            .redact_keys
    );
    assert!(
        settle(&["--context", "plain"], &[], Some(src))
            .unwrap()
            .redact_keys
    );
    assert!(
        settle(&["--context", "open", "--redact-keys"], &[], Some(src))
            .unwrap()
            .redact_keys
    );
}

#[test]
fn read_only_always_wins() {
    // Over a context that allows writes…
    let s = settle(&["--read-only"], &[], Some(FULL)).unwrap();
    assert!(!s.writes_allowed && s.read_only);
    assert!(
        s.read_only_reason
            .as_deref()
            .unwrap()
            .contains("--read-only")
    );
    // …and over the demo.
    let s = settle(&["--read-only"], &[], None).unwrap();
    assert!(s.is_demo() && !s.writes_allowed);
}

#[test]
fn allow_writes_turns_writes_on() {
    let s = settle(&["--context", "prod", "--allow-writes"], &[], Some(FULL)).unwrap();
    assert!(s.writes_allowed && s.read_only_reason.is_none());
    let s = settle(&["--allow-writes"], &[("REDIS_URL", "redis://r")], None).unwrap();
    assert!(s.writes_allowed);
}

#[test]
fn demo_flag_overrides_sources() {
    let s = settle(
        &["--demo", "--seed", "7"],
        &[("REDIS_URL", "redis://r")],
        Some(FULL),
    )
    .unwrap();
    assert!(s.is_demo() && s.writes_allowed);
    assert_eq!(s.seed, 7);
}

#[test]
fn no_color_folds_into_auto_only() {
    let nc = [("NO_COLOR", "1")];
    assert_eq!(settle(&[], &nc, None).unwrap().color, ColorMode::Never);
    assert_eq!(
        settle(&[], &[("NO_COLOR", "")], None).unwrap().color,
        ColorMode::Auto
    );
    assert_eq!(
        settle(&["--color", "always"], &nc, None).unwrap().color,
        ColorMode::Always
    );
    assert_eq!(
        settle(&[], &nc, Some("color = \"always\"")).unwrap().color,
        ColorMode::Always
    );
}

#[test]
fn unknown_context_lists_the_known_ones() {
    let e = settle(&["--context", "qa"], &[], Some(FULL))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown context `qa`"), "{e}");
    assert!(
        e.contains("/cfg/config.toml defines `local`, `prod`, `staging`"),
        "{e}"
    );
    let e = settle(&["--context", "qa"], &[], None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no config file at /home/op/.config/heliostat/config.toml"),
        "{e}"
    );
    let e = settle(&["--context", "qa"], &[], Some(""))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("defines no contexts; add a [contexts.qa] table"),
        "{e}"
    );
}

#[test]
fn bad_urls_from_flags_and_env_name_their_origin_redacted() {
    let e = settle(&["--redis", "http://u:pw@h"], &[], None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--redis: `http://u:***@h` has scheme `http`"),
        "{e}"
    );
    let e = settle(&[], &[("DATABASE_URL", "db.example:5432")], None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("DATABASE_URL: `db.example:5432` is not a URL"),
        "{e}"
    );
}

#[test]
fn events_need_a_redis_source() {
    let e = settle(&["--events", "s", "--postgres", "postgres://db"], &[], None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--events: access events are read from Redis"),
        "{e}"
    );
    let src = "[contexts.p]\npostgres = \"postgres://db\"\nevents = \"s\"\n";
    let e = settle(&["--context", "p"], &[], Some(src))
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 3, key `contexts.p.events`"), "{e}");
    // A Redis source from the command line satisfies a context's stream.
    let s = settle(&["--context", "p", "--redis", "redis://r"], &[], Some(src)).unwrap();
    assert_eq!(live(&s).2, Some("s"));
    assert!(settle(&["--events", " "], &[], None).is_err());
}

#[test]
fn snapshot_reads_only_its_arguments() {
    let vars = [("REDIS_URL", "redis://r"), ("NO_COLOR", "1")];
    let s = settle(&["snapshot", "--seed", "3"], &vars, None).unwrap();
    assert!(s.is_demo());
    assert_eq!(s.color, ColorMode::Auto);
    assert_eq!(s.seed, 3);
    let s = settle(&["snapshot", "--redis", "redis://x"], &vars, None).unwrap();
    assert_eq!(live(&s).0, ["redis://x"]);
    // The default file is not even opened.
    let home = Env {
        home: Some(PathBuf::from("/nonexistent")),
        ..env(&[])
    };
    assert!(load(&cli(&["snapshot"]), &home).unwrap().is_none());
}

#[test]
fn key_overrides_reach_the_settings() {
    let s = settle(&[], &[], Some("[keys.warming]\nmark = \"x\"\n")).unwrap();
    let ev = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('x'),
        crossterm::event::KeyModifiers::NONE,
    );
    assert_eq!(
        s.keymap.resolve(InputMode::Normal, Pane::Warming, ev),
        Resolved::Action(Action::Mark)
    );
}

#[test]
fn debug_output_redacts_passwords() {
    let s = settle(&["--redis", "redis://:hunter2@h"], &[], None).unwrap();
    let dbg = format!("{s:?}");
    assert!(
        !dbg.contains("hunter2") && dbg.contains("redis://:***@h"),
        "{dbg}"
    );
    let f = file("[contexts.p]\nredis = \"redis://:hunter2@h\"\n");
    assert!(!format!("{f:?}").contains("hunter2"));
}

mod env;

mod located;

#[test]
fn key_events_per_context_and_the_old_flag_still_works() {
    let src = "[contexts.prod]\nredis = \"redis://cache:6379\"\nkey_events = true\n[contexts.plain]\nredis = \"redis://cache:6379\"\n";
    let on = |args: &[&str]| settle(args, &[], Some(src)).unwrap().key_events;
    assert!(on(&["--context", "prod"]));
    assert!(!on(&["--context", "plain"]));
    assert!(on(&["--context", "plain", "--key-events"]));
    assert!(
        on(&["--context", "plain", "--expiry-events"]),
        "the old name is an alias"
    );
}

#[test]
fn a_context_capacity_is_checked() {
    let p = std::path::Path::new("/cfg/c.toml");
    let f = parse_config(p, "[contexts.prod]\npg_capacity = \"2TiB\"\n", Some(0o600)).unwrap();
    assert_eq!(f.contexts["prod"].pg_capacity, Some(2 << 40));
    let e = parse_config(
        p,
        "[contexts.prod]\n\npg_capacity = \"lots\"\n",
        Some(0o600),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 3") && e.contains("pg_capacity"), "{e}");
}
