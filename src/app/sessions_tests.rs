use super::*;
use crate::action::{Action, Pane};
use crate::app::driver::DemoDriver;
use crate::app::state::SessionInfo;
use crate::engines::sessions::{ClientList, PgSessionList, PgState};
use crate::sample::Sample;

const T: Timestamp = Timestamp(1_000);

fn state(writes: bool) -> State {
    let mut st = State::new(
        SessionInfo {
            writes_allowed: writes,
            read_only_reason: (!writes).then(|| "--read-only was given".to_string()),
            ..SessionInfo::default()
        },
        1000,
    );
    let hello = |id, name: &str, kind| Sample {
        source: SourceId(id),
        generation: 1,
        at: T,
        body: Body::Hello {
            name: name.into(),
            kind,
        },
    };
    st.apply(&hello(1, "db", SourceKind::PgPrimary));
    st.apply(&hello(2, "cache", SourceKind::Redis));
    let session = |pid, own| PgSession {
        pid,
        application: if own { "heliostat" } else { "report" }.into(),
        state: PgState::Active,
        query_ms: Some(90_000),
        query: Some("SELECT pg_sleep(?)".into()),
        own,
        ..PgSession::default()
    };
    st.apply(&Sample {
        source: SourceId(1),
        generation: 1,
        at: T,
        body: Body::PgSessions(PgSessionList {
            rows: vec![session(41, false), session(42, true)],
            total: 2,
            ..PgSessionList::default()
        }),
    });
    st.apply(&Sample {
        source: SourceId(2),
        generation: 1,
        at: T,
        body: Body::RedisClients(ClientList {
            rows: vec![RedisClient {
                id: 7,
                name: "worker".into(),
                ..RedisClient::default()
            }],
            total: 1,
            ..ClientList::default()
        }),
    });
    st.handle(Action::Focus(Pane::Sessions), T);
    st.tick(T);
    st
}

fn status(st: &State) -> String {
    st.ui
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

#[test]
fn a_session_op_asks_first_and_says_what_it_will_do() {
    let mut st = state(true);
    st.handle(Action::CancelSession, T);
    let c = st.ui.confirm.clone().expect("a dialog");
    assert_eq!(c.title, "Cancel the query of pid 41 on db?");
    assert!(
        c.lines.iter().any(|l| l.contains("pg_cancel_backend")),
        "{c:?}"
    );
    // "n" keeps it.
    assert!(st.handle(Action::Deny, T).is_empty());
    st.handle(Action::EndSession, T);
    let fx = st.handle(Action::Confirm, T);
    assert_eq!(
        fx,
        vec![Effect::Session(SessionOp {
            source: SourceId(1),
            act: SessionAct::Terminate(41),
        })]
    );
    assert!(
        status(&st).starts_with("terminating pid 41 on db"),
        "{}",
        status(&st)
    );
}

#[test]
fn refused_in_read_only_on_its_own_sessions_on_groups_and_in_the_demo() {
    let mut st = state(false);
    assert!(st.handle(Action::EndSession, T).is_empty());
    assert!(st.ui.confirm.is_none());
    assert_eq!(
        status(&st),
        "read-only: ending a session acts on a server; --read-only was given"
    );

    let mut st = state(true);
    st.handle(Action::Down, T);
    st.handle(Action::CancelSession, T);
    assert!(st.ui.confirm.is_none());
    assert!(
        status(&st).contains("heliostat's own session"),
        "{}",
        status(&st)
    );

    st.handle(Action::CycleSessionsView, T);
    st.handle(Action::EndSession, T);
    assert!(st.ui.confirm.is_none());
    assert!(
        status(&st).starts_with("a group is many clients"),
        "{}",
        status(&st)
    );
    st.handle(Action::CycleSessionsView, T);
    st.handle(Action::CancelSession, T);
    assert!(
        status(&st).starts_with("a Redis client has no query"),
        "{}",
        status(&st)
    );
    st.handle(Action::EndSession, T);
    let c = st.ui.confirm.clone().expect("a dialog");
    assert_eq!(c.title, "Kill client id 7 on cache?");

    let mut d = DemoDriver::new(42, DemoDriver::demo_session(), 1000);
    d.advance(60);
    d.act(Action::Focus(Pane::Sessions));
    assert!(d.act(Action::CancelSession).is_empty());
    assert!(
        d.state
            .ui
            .status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("demo:")),
        "{:?}",
        d.state.ui.status
    );
}
