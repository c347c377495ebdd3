//! The Sessions pane's sources and ops against real, throw-away servers:
//! a blocked Postgres session and its blocker, an idle-in-transaction
//! session, a Redis client with a big output buffer, heliostat's own
//! connections marked; cancel, terminate and `CLIENT KILL ID` end what
//! they should, refuse heliostat's own sessions and say when a session is
//! gone. Reads go through the pollers' own functions (`activity::read`,
//! `clients::read`, and the pollers themselves).

use std::io::Write;
use std::net::TcpStream;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::postgres::PgServer;
use crate::support::{RedisServer, runtime};
use heliostat::engines::sessions::{PgSessionList, PgState};
use heliostat::ops::sessions::{SessionOpError, pg_cancel, pg_terminate, redis_kill};
use heliostat::sample::{Body, SourceId};
use heliostat::sources::postgres::{PgConfig, activity, connect_options, spawn_postgres};
use heliostat::sources::redis::clients::{self, ClientsReader, SKIP_ABOVE};
use heliostat::sources::redis::{NodeConfig, OwnLoad, endpoint, spawn_node};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(2);

/// A connection that is not heliostat's: `application_name` is `app`.
async fn app_conn(url: &str, app: &str) -> PgConnection {
    PgConnectOptions::from_str(url)
        .unwrap()
        .application_name(app)
        .connect()
        .await
        .unwrap()
}

/// A pool of one connection that is not heliostat's (it can go into a task).
async fn app_pool(url: &str, app: &str) -> sqlx::PgPool {
    let opts = PgConnectOptions::from_str(url)
        .unwrap()
        .application_name(app);
    PgPoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .unwrap()
}

async fn pid_of<'c>(c: impl sqlx::PgExecutor<'c>) -> u32 {
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(c)
        .await
        .unwrap();
    u32::try_from(pid).unwrap()
}

/// Read through the poller's function until `ok` holds (5 s at most).
async fn read_until(
    pool: &sqlx::PgPool,
    what: &str,
    ok: impl Fn(&PgSessionList) -> bool,
) -> PgSessionList {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let list = activity::read(pool, WAIT).await.unwrap();
        if ok(&list) {
            return list;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn postgres_sessions_show_blockers_idle_transactions_and_heliostat_and_ops_act() {
    let pg = PgServer::start();
    pg.sql("CREATE TABLE accounts (id int PRIMARY KEY, owner text); INSERT INTO accounts VALUES (1, 'x')");
    pg.sql("CREATE ROLE weak LOGIN PASSWORD 'weakpw'");
    let url = pg.url();
    runtime().block_on(async {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(connect_options(&url).unwrap())
            .await
            .unwrap();
        // One transaction holds the row lock and goes idle; another waits on it.
        let mut holder = app_conn(&url, "ledger").await;
        let holder_pid = pid_of(&mut holder).await;
        sqlx::raw_sql("BEGIN; UPDATE accounts SET owner = 'alice-secret' WHERE id = 1")
            .execute(&mut holder)
            .await
            .unwrap();
        let waiter = app_pool(&url, "checkout").await;
        let waiter_pid = pid_of(&waiter).await;
        let w2 = waiter.clone();
        let blocked = tokio::spawn(async move {
            let r = sqlx::raw_sql("UPDATE accounts SET owner = 'bob-secret-literal' WHERE id = 1")
                .execute(&w2)
                .await;
            r.map(|_| ())
        });
        let list = read_until(&pool, "the blocked session", |l| {
            l.rows.iter().any(|r| r.pid == waiter_pid && r.blocked())
        })
        .await;
        let w = list.rows.iter().find(|r| r.pid == waiter_pid).unwrap();
        assert_eq!(w.blocked_by, [holder_pid], "blocked by the holder");
        assert_eq!(w.state, PgState::Active);
        assert_eq!(w.wait.as_ref().map(|(t, _)| t.as_str()), Some("Lock"));
        assert_eq!(w.application, "checkout");
        let q = w.query.clone().unwrap();
        assert!(q.starts_with("UPDATE accounts SET owner = ?"), "{q}");
        let h = list.rows.iter().find(|r| r.pid == holder_pid).unwrap();
        assert!(h.state.idle_in_transaction() && !h.blocked(), "{h:?}");
        assert!(h.xact_ms.is_some() && h.duration_ms() == h.xact_ms);
        // The longest running lead; the reading connection is heliostat's own.
        assert_eq!(list.rows[0].pid, holder_pid, "{:#?}", list.rows);
        assert!(
            list.rows
                .iter()
                .any(|r| r.own && r.application == "heliostat")
        );
        assert!(
            list.rows
                .iter()
                .filter(|r| r.own)
                .all(|r| r.application.starts_with("heliostat"))
        );
        assert!(
            !list
                .rows
                .iter()
                .any(|r| r.own && (r.pid == holder_pid || r.pid == waiter_pid))
        );
        let all = format!("{list:?}");
        assert!(
            !all.contains("secret"),
            "no literal leaves the source: {all}"
        );
        assert_eq!((list.total as usize, list.cut), (list.rows.len(), 0));

        // Refused: heliostat's own session, whatever its pid.
        let own_pid = list.rows.iter().find(|r| r.own).unwrap().pid;
        let r = pg_terminate(&url, own_pid, WAIT).await;
        assert!(matches!(r, Err(SessionOpError::OwnSession(_))), "{r:?}");
        // A role without pg_signal_backend: the server's words (15: "must be
        // a superuser to cancel superuser query"; 16: "permission denied to
        // cancel query" and why).
        let weak = format!(
            "postgres://weak:weakpw@127.0.0.1:{}/postgres?sslmode=disable",
            pg.port
        );
        let r = pg_cancel(&weak, waiter_pid, WAIT).await;
        match r {
            Err(SessionOpError::Permission(m)) => {
                assert!(
                    m.contains("superuser") || m.contains("permission denied"),
                    "{m}"
                );
            }
            other => panic!("{other:?}"),
        }
        // That role sees other roles' sessions without their queries: the
        // list says so, and its own reading connection is still marked.
        let weak_pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(connect_options(&weak).unwrap())
            .await
            .unwrap();
        let seen = activity::read(&weak_pool, WAIT).await.unwrap();
        let other = seen.rows.iter().find(|r| r.pid == waiter_pid).unwrap();
        assert_eq!(
            (other.query.as_deref(), other.state),
            (None, PgState::Unknown)
        );
        let note = seen.note.clone().unwrap_or_default();
        assert!(
            note.ends_with("sessions of other roles hidden (the role lacks pg_read_all_stats)"),
            "{note}"
        );
        assert!(
            seen.rows
                .iter()
                .any(|r| r.own && r.user.as_deref() == Some("weak"))
        );
        weak_pool.close().await;

        // Cancel the waiting statement: it ends with 57014, the session stays.
        let words = pg_cancel(&url, waiter_pid, WAIT).await.unwrap();
        assert!(
            words.starts_with(&format!(
                "cancelled pid {waiter_pid} (query UPDATE accounts"
            )),
            "{words}"
        );
        let r = tokio::time::timeout(WAIT, blocked).await.unwrap().unwrap();
        let e = r.unwrap_err().to_string();
        assert!(e.contains("canceling statement"), "{e}");
        assert_eq!(pid_of(&waiter).await, waiter_pid, "the session lives on");

        // A running pg_sleep is cancelled too.
        let sleeping = tokio::spawn(async move {
            let r = sqlx::raw_sql("SELECT pg_sleep(60)").execute(&waiter).await;
            r.map(|_| ())
        });
        read_until(&pool, "the sleeping query", |l| {
            l.rows
                .iter()
                .any(|r| r.pid == waiter_pid && r.state == PgState::Active)
        })
        .await;
        let started = Instant::now();
        pg_cancel(&url, waiter_pid, WAIT).await.unwrap();
        let r = tokio::time::timeout(WAIT, sleeping).await.unwrap().unwrap();
        assert!(r.is_err() && started.elapsed() < WAIT);

        // Terminate the idle transaction: the session ends, its lock goes.
        let words = pg_terminate(&url, holder_pid, WAIT).await.unwrap();
        assert!(
            words.starts_with(&format!("terminated pid {holder_pid}")),
            "{words}"
        );
        read_until(&pool, "the holder to be gone", |l| {
            !l.rows.iter().any(|r| r.pid == holder_pid)
        })
        .await;
        assert!(
            sqlx::raw_sql("SELECT 1")
                .execute(&mut holder)
                .await
                .is_err()
        );
        // Gone: not found, for either signal.
        let r = pg_terminate(&url, holder_pid, WAIT).await;
        assert_eq!(
            r,
            Err(SessionOpError::NotFound(format!("pid {holder_pid}")))
        );
        let r = pg_cancel(&url, 999_999, WAIT).await;
        assert!(matches!(r, Err(SessionOpError::NotFound(_))), "{r:?}");
    });
}

#[test]
fn the_postgres_poller_sends_its_sessions() {
    let pg = PgServer::start();
    runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let task = spawn_postgres(PgConfig::new(SourceId(4), &pg.url()), tx);
        let end = Instant::now() + Duration::from_secs(10);
        let list = loop {
            let batch = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap();
            if let Some(l) = batch.iter().find_map(|s| match &s.body {
                Body::PgSessions(l) => Some(l.clone()),
                _ => None,
            }) {
                break l;
            }
            assert!(Instant::now() < end, "no PgSessions sample");
        };
        task.abort();
        assert!(list.rows.iter().any(|r| r.own), "{list:?}");
    });
}

/// A client that subscribes and never reads: what the server cannot send
/// piles up in its output buffer.
fn stalled_subscriber(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"CLIENT SETNAME fanout\r\nSUBSCRIBE ch\r\n")
        .unwrap();
    s
}

#[test]
fn redis_clients_show_a_big_output_buffer_and_kill_ends_the_client() {
    // No pub/sub output limit: the buffer grows as long as the test publishes.
    let server = RedisServer::start_with(&["--client-output-buffer-limit", "pubsub 0 0 0"]);
    let _sub = stalled_subscriber(server.port);
    support::wait_for("the subscription", WAIT, || {
        server
            .cmd::<(String, i64)>(&["PUBSUB", "NUMSUB", "ch"])
            .is_ok_and(|(_, n)| n == 1)
    });
    let mut publisher = server.client();
    let big = vec![b'x'; 1 << 20];
    for _ in 0..24 {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("ch")
            .arg(&big)
            .query(&mut publisher)
            .unwrap();
    }
    let cfg = NodeConfig::new(SourceId(0), &server.url());
    runtime().block_on(async {
        let mut conn = endpoint::open(&cfg).await.unwrap();
        let own = OwnLoad::default();
        let list = clients::read(&mut conn, &own).await.unwrap();
        assert_eq!(
            own.totals().0,
            1,
            "CLIENT LIST is counted as the console's own"
        );
        let fan = list.rows.iter().find(|c| c.name == "fanout").unwrap();
        assert!(fan.omem > 8 << 20, "output buffer {} B", fan.omem);
        assert!(fan.tot_mem.unwrap() >= fan.omem);
        assert_eq!(
            (fan.sub, fan.flags.as_str(), fan.cmd.as_str()),
            (1, "P", "subscribe")
        );
        assert!(!fan.own);
        let me = list.rows.iter().find(|c| c.cmd == "client|list").unwrap();
        assert!(me.own && me.name == "heliostat", "{me:?}");

        // Above the limit it is not sent, and the note says why.
        let mut reader = ClientsReader::default();
        let skipped = reader
            .poll(&mut conn, &own, SKIP_ABOVE + 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(own.totals().0, 1, "nothing sent");
        assert_eq!(
            skipped.note.as_deref(),
            Some(
                format!(
                    "{} clients > {SKIP_ABOVE}, CLIENT LIST skipped",
                    SKIP_ABOVE + 1
                )
                .as_str()
            )
        );
        assert!(
            reader.poll(&mut conn, &own, 3).await.unwrap().is_none(),
            "not due for 5 s"
        );

        // Kill: heliostat's own refused, the subscriber ended, then not found.
        let r = redis_kill(&cfg, me.id).await;
        assert!(matches!(r, Err(SessionOpError::OwnSession(_))), "{r:?}");
        let words = redis_kill(&cfg, fan.id).await.unwrap();
        assert!(
            words.starts_with(&format!("killed client id {} (fanout, subscribe", fan.id)),
            "{words}"
        );
        let after = clients::read(&mut conn, &own).await.unwrap();
        assert!(!after.rows.iter().any(|c| c.id == fan.id));
        let r = redis_kill(&cfg, fan.id).await;
        assert_eq!(
            r,
            Err(SessionOpError::NotFound(format!("client id {}", fan.id)))
        );
    });
}

#[test]
fn the_redis_poller_sends_its_client_list() {
    let server = RedisServer::start();
    runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let tasks = spawn_node(NodeConfig::new(SourceId(2), &server.url()), tx);
        let own: Arc<OwnLoad> = Arc::clone(tasks.own());
        let end = Instant::now() + Duration::from_secs(10);
        let list = loop {
            let batch = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap();
            if let Some(l) = batch.iter().find_map(|s| match &s.body {
                Body::RedisClients(l) => Some(l.clone()),
                _ => None,
            }) {
                break l;
            }
            assert!(Instant::now() < end, "no RedisClients sample");
        };
        tasks.stop().await;
        assert!(list.rows.iter().any(|c| c.own), "{list:?}");
        assert!(own.totals().0 > 0);
    });
}

/// The console's whole path: the live sources list a running query, `c`
/// on its row asks y/n, "y" hands the op to the loop, which reaches the
/// endpoint through the registry the sources filled; the answer arrives
/// as a sample and shows in the status line. Then `x` on a Redis client.
#[test]
fn the_console_cancels_and_kills_through_its_registry() {
    use heliostat::action::{Action, Pane};
    use heliostat::app::actions::Effect;
    use heliostat::app::live::{LiveSpec, spawn_live};
    use heliostat::app::panes::SessionsList;
    use heliostat::app::sessions::SessionOps;
    use heliostat::app::state::{SessionInfo, State};
    use heliostat::engines::Timestamp;
    use heliostat::sources::pace::Pace;

    let pg = PgServer::start();
    let redis = RedisServer::start();
    let url = pg.url();
    runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel(1024);
        let spec = LiveSpec {
            redis: vec![redis.url()],
            postgres: vec![url.clone()],
            ..LiveSpec::default()
        };
        let registry = spawn_live(&spec, &Pace::fixed(Duration::from_millis(250)), &tx);
        let ops = SessionOps { registry, tx };
        let session = SessionInfo {
            writes_allowed: true,
            ..SessionInfo::default()
        };
        let mut st = State::new(session, 250);
        let sleeper = app_pool(&url, "nightly-report").await;
        let sleeping = tokio::spawn(async move {
            sqlx::query("SELECT pg_sleep(60)")
                .execute(&sleeper)
                .await
                .map(|_| ())
        });
        let mut t = 0;
        // Feed the state until `ok` holds (the lists come every 5 s).
        macro_rules! until {
            ($what:expr, $ok:expr) => {{
                let end = Instant::now() + Duration::from_secs(15);
                loop {
                    while let Ok(batch) = rx.try_recv() {
                        batch.iter().for_each(|s| st.apply(s));
                    }
                    t += 100;
                    st.tick(Timestamp(t));
                    if $ok(&st) {
                        break;
                    }
                    assert!(Instant::now() < end, "timed out waiting for {}", $what);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }};
        }
        let now = Timestamp(0);
        st.handle(Action::Focus(Pane::Sessions), now);
        let row = |st: &State| {
            st.derived
                .sessions
                .pg
                .iter()
                .position(|(_, s)| s.application == "nightly-report" && s.query.is_some())
        };
        until!("the sleeping query in the list", |st: &State| row(st)
            .is_some());
        st.ui.panes.sessions.pg.selected = row(&st).unwrap();
        assert!(st.handle(Action::CancelSession, now).is_empty());
        let dialog = st.ui.confirm.clone().expect("a y/n dialog");
        assert!(
            dialog.title.starts_with("Cancel the query of pid"),
            "{dialog:?}"
        );
        let fx = st.handle(Action::Confirm, now);
        let [Effect::Session(op)] = fx.as_slice() else {
            panic!("{fx:?}")
        };
        ops.start(op.clone());
        until!("the answer in the status line", |st: &State| st
            .ui
            .status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("cancelled pid")));
        let r = tokio::time::timeout(WAIT, sleeping).await.unwrap().unwrap();
        assert!(r.is_err(), "the query was cancelled");

        // Redis: a client one by one, x, y: killed; heliostat's own refused.
        let mut victim = redis.client();
        let _: () = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg("victim")
            .query(&mut victim)
            .unwrap();
        st.handle(Action::CycleSessionsView, now);
        st.handle(Action::CycleSessionsView, now);
        assert_eq!(st.ui.panes.sessions.list, SessionsList::RedisClients);
        let client = |st: &State, name: &str| {
            st.derived
                .sessions
                .clients
                .iter()
                .position(|(_, c)| c.name == name)
        };
        until!("the victim in the client list", |st: &State| client(
            st, "victim"
        )
        .is_some());
        let own = st
            .derived
            .sessions
            .clients
            .iter()
            .position(|(_, c)| c.own)
            .expect("heliostat's own connection is listed");
        st.ui.panes.sessions.clients.selected = own;
        st.handle(Action::EndSession, now);
        assert!(
            st.ui.confirm.is_none(),
            "never offered on its own connection"
        );
        let why = st
            .ui
            .status
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default();
        assert!(why.contains("heliostat's own connection"), "{why}");
        st.ui.panes.sessions.clients.selected = client(&st, "victim").unwrap();
        st.handle(Action::EndSession, now);
        let fx = st.handle(Action::Confirm, now);
        let [Effect::Session(op)] = fx.as_slice() else {
            panic!("{fx:?}")
        };
        ops.start(op.clone());
        until!("the kill in the status line", |st: &State| st
            .ui
            .status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("killed client id")));
        let ping: redis::RedisResult<String> = redis::cmd("PING").query(&mut victim);
        assert!(ping.is_err(), "the victim's connection is closed");
    });
}
