//! Every failure says why, on screen: against real, throw-away servers,
//! the reason is read from the rendered screen (the header, the Backends
//! row's detail, `snapshot` output), in the server's words where safe and
//! never with a secret: a refused connection, a wrong password (Redis and
//! Postgres), a missing role, privileges revoked while watching (noticed
//! at the next poll, not the next reconnect), and a key sampler whose ACL
//! lacks `+dbsize`.

use std::process::Command;
use std::time::Duration;

use crate::support::console::Console;
use crate::support::postgres::PgServer;
use crate::support::{RedisServer, free_port};
use heliostat::action::Pane;
use heliostat::app::live::LiveSpec;
use heliostat::sample::SourceStatus;

const REFRESH: Duration = Duration::from_millis(500);

fn redis_spec(url: &str, sampler: bool) -> LiveSpec {
    let mut spec = LiveSpec {
        redis: vec![url.to_string()],
        ..LiveSpec::default()
    };
    if !sampler {
        spec.sampler.budget = 0;
    }
    spec
}

fn pg_spec(urls: &[String]) -> LiveSpec {
    let mut spec = LiveSpec {
        postgres: urls.to_vec(),
        ..LiveSpec::default()
    };
    spec.sampler.budget = 0;
    spec
}

fn down_reason(c: &Console, name: &str) -> Option<String> {
    down_reason_of(&c.state, name)
}

fn snapshot(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_heliostat"))
        .arg("snapshot")
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("heliostat-no-config"),
        )
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_refused_connection_says_so_in_the_header_the_detail_and_a_snapshot() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let name = format!("127.0.0.1:{port}");
    let mut c = Console::start(&redis_spec(&url, true), REFRESH);
    c.until("the refusal", Duration::from_secs(10), |st| {
        st.sources
            .iter()
            .any(|s| matches!(&s.status, SourceStatus::Retrying { .. }))
    });
    c.run_for(REFRESH);
    let header = c.header();
    assert!(
        header.contains(&format!("{name} down: connection refused · retry in")),
        "{header}"
    );
    assert!(header.contains("cache ops/s –"), "no figure: {header}");
    let detail = c.pane(Pane::Backends, 0, 160, 30);
    assert!(
        detail.contains(&format!(
            "{name}: down: connection refused · next attempt in"
        )),
        "{detail}"
    );
    let out = snapshot(&["--redis", &url, "--wait", "1.5", "--size", "160x30"]);
    assert!(
        out.contains(&format!("{name} down: connection refused")),
        "{out}"
    );
}

#[test]
fn a_wrong_redis_password_says_so_without_a_secret() {
    let server = RedisServer::start_with(&["--requirepass", "right-pw"]);
    let url = format!("redis://:wrong-pw@127.0.0.1:{}", server.port);
    let name = format!("127.0.0.1:{}", server.port);
    let mut c = Console::start(&redis_spec(&url, true), REFRESH);
    c.until("the refusal", Duration::from_secs(10), |st| {
        st.sources
            .iter()
            .any(|s| matches!(&s.status, SourceStatus::Retrying { .. }))
    });
    let reason = down_reason(&c, &name).expect("down");
    // What the server said (WRONGPASS), never the password.
    assert_eq!(
        reason,
        "authentication failed: wrong user or password (WRONGPASS)"
    );
    let screen = c.screen(200, 50);
    assert!(
        screen.contains(&format!("{name} down: authentication failed")),
        "{screen}"
    );
    let detail = c.pane(Pane::Backends, 0, 200, 30);
    assert!(detail.contains(&reason), "{detail}");
    for s in [&screen, &detail] {
        assert!(!s.contains("wrong-pw") && !s.contains("right-pw"), "{s}");
    }
    let out = snapshot(&["--redis", &url, "--wait", "1.5", "--size", "200x30"]);
    assert!(out.contains("down: authentication failed"), "{out}");
    assert!(!out.contains("wrong-pw"), "{out}");
}

#[test]
fn postgres_says_a_wrong_password_and_a_missing_role_in_its_words() {
    let pg = PgServer::start();
    pg.sql("CREATE ROLE app LOGIN PASSWORD 'right-pw'");
    // Trusted, so the refusal is the missing role, not a password check.
    pg.hba_first("host all nobody 127.0.0.1/32 trust");
    let wrong = format!(
        "postgres://app:wrong-pw@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port
    );
    let nobody = pg.url_for("nobody", "postgres");
    let mut c = Console::start(&pg_spec(&[wrong, nobody]), REFRESH);
    c.until("both refusals", Duration::from_secs(20), |st| {
        st.sources
            .iter()
            .filter(|s| matches!(&s.status, SourceStatus::Retrying { .. }))
            .count()
            == 2
    });
    let name = format!("127.0.0.1:{}/postgres", pg.port);
    let rows = c.state.derived.backends.len();
    assert_eq!(rows, 2, "both endpoints listed");
    let details: Vec<String> = (0..rows)
        .map(|i| c.pane(Pane::Backends, i, 200, 30))
        .collect();
    let all = details.join("\n");
    assert!(
        all.contains(&format!(
            "{name}: down: authentication failed (wrong password)"
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "{name}: down: not authorized: role \"nobody\" does not exist"
        )),
        "{all}"
    );
    let header = c.header();
    assert!(header.contains("down: authentication failed"), "{header}");
    assert!(!all.contains("wrong-pw") && !header.contains("wrong-pw"));
}

/// Postgres: a revoked `pg_read_all_stats` is said at the next refresh (the
/// session figures become partial), and a revoked `CONNECT` ends the
/// connection at the next refresh, the reconnect showing the server's
/// refusal; neither waits for a reconnect to be noticed.
#[test]
fn postgres_privileges_revoked_mid_run_are_noticed_at_the_next_refresh() {
    let pg = PgServer::start();
    pg.sql("CREATE ROLE watcher LOGIN PASSWORD 'w-pw'; GRANT pg_read_all_stats TO watcher");
    let url = format!(
        "postgres://watcher:w-pw@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port
    );
    let name = format!("127.0.0.1:{}/postgres", pg.port);
    let mut c = Console::start(&pg_spec(&[url]), REFRESH);
    c.until("figures", Duration::from_secs(20), |st| {
        st.sources.first().is_some_and(|s| s.rates_at.is_some())
    });
    let detail = c.pane(Pane::Backends, 0, 200, 30);
    assert!(!detail.contains("cannot see"), "{detail}");

    pg.sql("REVOKE pg_read_all_stats FROM watcher");
    let took = c.until("the lost privilege", Duration::from_secs(10), |st| {
        st.sources
            .first()
            .is_some_and(|s| s.pg_privilege_note.is_some())
    });
    assert!(
        took < Duration::from_secs(3),
        "at the next refresh: {took:?}"
    );
    let detail = c.pane(Pane::Backends, 0, 200, 30);
    assert!(
        detail.contains("this role cannot see other roles' sessions or statements"),
        "{detail}"
    );
    // The header says it for the selected source.
    assert!(
        c.header().contains("cannot see other roles"),
        "{}",
        c.header()
    );

    pg.sql("REVOKE CONNECT ON DATABASE postgres FROM PUBLIC");
    let took = c.until("the revoked CONNECT", Duration::from_secs(15), |st| {
        st.sources.first().is_some_and(|s| {
            matches!(&s.status, SourceStatus::Retrying { reason, .. }
                if reason.contains("permission denied for database"))
        })
    });
    assert!(
        took < Duration::from_secs(8),
        "without a reconnect: {took:?}"
    );
    let header = c.header();
    assert!(
        header.contains(&format!(
            "{name} down: permission denied for database \"postgres\""
        )),
        "{header}"
    );
    pg.sql("GRANT CONNECT ON DATABASE postgres TO PUBLIC");
}

/// Redis: `ACL SETUSER … -info` while watching fails the next poll, with
/// the server's words on screen.
#[test]
fn a_redis_acl_revoked_mid_run_is_noticed_at_the_next_poll() {
    let server = RedisServer::start();
    let _: () = server
        .cmd(&[
            "ACL",
            "SETUSER",
            "watcher",
            "on",
            ">acl-pw",
            "-@all",
            "+ping",
            "+info",
            "+hello",
            "+client|setname",
        ])
        .unwrap();
    let url = format!("redis://watcher:acl-pw@127.0.0.1:{}", server.port);
    let name = format!("127.0.0.1:{}", server.port);
    let mut c = Console::start(&redis_spec(&url, false), REFRESH);
    c.until("figures", Duration::from_secs(10), |st| {
        st.sources.first().is_some_and(|s| s.rates_at.is_some())
    });
    // The refused diagnostics (SLOWLOG, LATENCY) are skipped, not failures.
    c.run_for(Duration::from_secs(3));
    let src = c.state.sources.first().expect("a source");
    assert_eq!(src.errors, 0, "{}", c.screen(200, 30));
    assert_eq!(src.status, SourceStatus::Connected);
    let _: () = server.cmd(&["ACL", "SETUSER", "watcher", "-info"]).unwrap();
    let took = c.until("the refusal", Duration::from_secs(10), |st| {
        st.sources
            .first()
            .is_some_and(|s| matches!(&s.status, SourceStatus::Retrying { .. }))
    });
    assert!(took < Duration::from_secs(3), "at the next poll: {took:?}");
    let reason = down_reason(&c, &name).expect("down");
    assert_eq!(
        reason,
        "permission denied (ACL): this user has no permissions to run the 'info' command"
    );
    let detail = c.pane(Pane::Backends, 0, 200, 30);
    assert!(
        detail.contains(&format!("{name}: down: {reason}")),
        "{detail}"
    );
    assert!(!detail.contains("acl-pw"), "{detail}");
}

/// An ACL without `+dbsize`: the sampler's coverage line says which command
/// was refused, in the server's words, instead of "0% of 0 keys".
#[test]
fn a_sampler_refused_dbsize_says_so_instead_of_a_coverage() {
    let server = RedisServer::start();
    let mut conn = server.client();
    let _: () = redis::cmd("EVAL")
        .arg("for i=1,200 do redis.call('set','user:'..i,'x') end")
        .arg(0)
        .query(&mut conn)
        .unwrap();
    let perms =
        "+ping +info +hello +client|setname +scan +pttl +type +object|freq +object|idletime";
    let mut acl = vec!["ACL", "SETUSER", "sampler", "on", ">s-pw", "-@all", "~*"];
    acl.extend(perms.split_whitespace());
    let _: () = server.cmd(&acl).unwrap();
    let url = format!("redis://sampler:s-pw@127.0.0.1:{}", server.port);
    let mut c = Console::start(&redis_spec(&url, true), REFRESH);
    c.until("a sampled batch", Duration::from_secs(15), |st| {
        st.derived.keyspace.iter().any(|k| k.view.sampled > 0)
    });
    let detail = c.pane(Pane::Backends, 0, 200, 40);
    assert!(
        detail.contains("refused DBSIZE: NOPERM") && detail.contains("'dbsize'"),
        "{detail}"
    );
    assert!(!detail.contains("of 0 keys"), "{detail}");
    assert!(
        detail.contains("keys seen, coverage unknown") || detail.contains("last complete pass"),
        "{detail}"
    );
}

/// The event stream's key holds a string: the reader says so.
#[test]
fn an_event_key_of_the_wrong_type_says_so() {
    let server = RedisServer::start();
    let _: () = server.cmd(&["SET", "ev", "not a stream"]).unwrap();
    let mut spec = redis_spec(&server.url(), false);
    spec.events = Some(heliostat::app::live::EventsSpec {
        url: server.url(),
        stream: "ev".into(),
        catch_up: false,
    });
    let mut c = Console::start(&spec, REFRESH);
    c.until("the refusal", Duration::from_secs(10), |st| {
        down_reason_of(st, "events ev").is_some()
    });
    let header = c.header();
    assert!(
        header.contains("events ev down: ev is not a stream · retry in"),
        "{header}"
    );
}

fn down_reason_of(st: &heliostat::app::state::State, name: &str) -> Option<String> {
    st.sources
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| match &s.status {
            SourceStatus::Retrying { reason, .. } => Some(reason.clone()),
            _ => None,
        })
}
