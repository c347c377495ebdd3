//! The access-event stream heliostat reads is heliostat's input, not the
//! application's data. When it lives in a Redis the key sampler walks, its
//! key (`app:events`) would count as one more application key: an `app:*`
//! row in the heatmap warmed by the producers' `XADD`s and the reader's
//! `XREAD`s, a share of the census and a candidate for warming. It is left
//! out of every sampler batch here, before any engine sees it, and the
//! heatmap says so.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::state::State;
use crate::engines::keyspace::KeyspaceSample;
use crate::sample::SourceId;

/// Where the sampler met the event stream's key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnStream {
    /// Nodes whose sampler met it: their key counts leave it out too.
    pub seen_on: BTreeSet<SourceId>,
    /// Sightings left out so far.
    pub left_out: u64,
}

impl State {
    /// Node `id`'s sampler batch without the key of the event stream this
    /// console reads (`--events`), and on a node known to hold it, with
    /// the keyspace's size one key smaller, so the estimates spread over
    /// the application's keys only.
    pub(crate) fn without_own_stream<'a>(
        &mut self,
        id: SourceId,
        k: &'a KeyspaceSample,
    ) -> Cow<'a, KeyspaceSample> {
        let Some(stream) = self.session.event_stream.as_deref() else {
            return Cow::Borrowed(k);
        };
        let own = &mut self.keyspace.own_stream;
        let seen = k.keys.iter().filter(|key| key.key == stream).count();
        if seen > 0 {
            own.seen_on.insert(id);
            own.left_out = own.left_out.saturating_add(seen as u64);
        }
        if !own.seen_on.contains(&id) {
            return Cow::Borrowed(k);
        }
        let mut k = k.clone();
        k.keys.retain(|key| key.key != stream);
        k.db_keys = k.db_keys.saturating_sub(1);
        Cow::Owned(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::SessionInfo;
    use crate::engines::Timestamp;
    use crate::engines::heatmap::RowKind;
    use crate::engines::keyspace::{KeyHeat, KeyKind, SampledKey};
    use crate::sample::{Body, Sample, SourceKind};

    fn key(name: &str) -> SampledKey {
        SampledKey {
            key: name.into(),
            kind: KeyKind::String,
            // No expiry.
            ttl_ms: Some(-1),
            heat: Some(KeyHeat::LfuFreq(200)),
            memory: None,
            elements: None,
        }
    }

    fn batch(keys: &[&str]) -> KeyspaceSample {
        KeyspaceSample {
            pass: 1,
            pass_done: true,
            db_keys: keys.len() as u64,
            budget: 100,
            rule: None,
            sent: 10,
            delimiter: ":".into(),
            keys: keys.iter().map(|k| key(k)).collect(),
            refused: Vec::new(),
        }
    }

    fn run(stream: Option<&str>) -> State {
        let session = SessionInfo {
            event_stream: stream.map(str::to_string),
            ..SessionInfo::default()
        };
        let mut st = State::new(session, 1000);
        let node = SourceId(1);
        let hello = Body::Hello {
            name: "127.0.0.1:6379".into(),
            kind: SourceKind::Redis,
        };
        for s in 0..30 {
            let at = Timestamp::from_secs(1_700_000_000 + s);
            let body = if s == 0 {
                hello.clone()
            } else {
                Body::Keyspace(batch(&["app:events", "user:1", "user:2"]))
            };
            st.apply(&Sample {
                source: node,
                generation: 0,
                at,
                body,
            });
            st.tick(at);
        }
        st
    }

    fn prefix_rows(st: &State) -> Vec<String> {
        let now = st.now;
        st.heatmap
            .view(now, 10, 6)
            .rows
            .into_iter()
            .filter(|r| r.kind == RowKind::Prefix)
            .map(|r| r.name)
            .collect()
    }

    #[test]
    fn the_stream_heliostat_reads_is_no_application_key() {
        let st = run(Some("app:events"));
        assert_eq!(prefix_rows(&st), vec!["user:*".to_string()]);
        assert_eq!(st.keyspace.own_stream.left_out, 29);
        assert!(st.keyspace.own_stream.seen_on.contains(&SourceId(1)));
        // Without --events the same key is application data.
        let st = run(None);
        let mut rows = prefix_rows(&st);
        rows.sort();
        assert_eq!(rows, vec!["app:*".to_string(), "user:*".to_string()]);
    }
}
