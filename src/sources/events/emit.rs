//! Publishing access events (`heliostat emit`, and applications that link
//! the library): pipelined `XADD` with an approximate cap, so a stream never
//! grows without bound.

use redis::aio::ConnectionLike;

use crate::sources::demo::rng::DemoRng;

use super::schema::Event;

/// Publish `events` to `stream` in one pipeline. With `maxlen`, each `XADD`
/// trims with `MAXLEN ~ maxlen` (cheap, approximate).
pub async fn publish<C: ConnectionLike>(
    conn: &mut C,
    stream: &str,
    maxlen: Option<u64>,
    events: &[Event],
) -> redis::RedisResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for e in events {
        let cmd = pipe.cmd("XADD").arg(stream);
        if let Some(n) = maxlen {
            cmd.arg("MAXLEN").arg("~").arg(n);
        }
        cmd.arg("*");
        for (f, v) in e.fields() {
            cmd.arg(f).arg(v);
        }
        cmd.ignore();
    }
    pipe.query_async(conn).await
}

/// Pipelines a second a paced publisher aims for: often enough that a
/// rate reads as steady from one second to the next.
pub const PIPELINES_PER_SEC: u64 = 20;

/// Events per pipeline when publishing at `rate` events a second (0: as
/// fast as the server takes them, `max` a pipeline): about a twentieth of
/// the rate, at least one, at most `max`. A pipeline is sent at once, so
/// pacing is only as fine as it: 600 events at 10/s go one by one, every
/// 100 ms, never in one burst.
pub fn pipeline_len(rate: u64, max: u64) -> u64 {
    let max = max.max(1);
    if rate == 0 {
        max
    } else {
        (rate / PIPELINES_PER_SEC).clamp(1, max)
    }
}

/// When, after the start, the events after the first `sent` may go at
/// `rate` a second (0: now).
pub fn due(sent: u64, rate: u64) -> std::time::Duration {
    if rate == 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::from_secs_f64(sent as f64 / rate as f64)
}

/// A made-up but plausible workload for trying the reader (and measuring
/// it): a few clients, tables with skewed key popularity, 80 % hits.
#[derive(Debug, Clone)]
pub struct Synthetic {
    rng: DemoRng,
}

const CLIENTS: [&str; 4] = ["api", "web", "worker", "reports"];
const TABLES: [(&str, &str, u64); 5] = [
    ("users", "user", 5_000),
    ("orders", "order", 40_000),
    ("products", "product", 2_000),
    ("sessions", "session", 20_000),
    ("carts", "cart", 8_000),
];

impl Synthetic {
    /// A generator; the same seed gives the same events.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: DemoRng::new(seed),
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }

    /// The next event.
    pub fn next_event(&mut self) -> Event {
        let client = CLIENTS[self.below(CLIENTS.len() as u64) as usize];
        let (table, prefix, keys) = TABLES[self.below(TABLES.len() as u64) as usize];
        // Squaring a uniform draw skews popularity towards low ids.
        let u = self.below(1 << 20) as f64 / f64::from(1 << 20);
        let id = ((u * u) * keys as f64) as u64;
        let write = self.below(20) == 0;
        let hit = !write && self.below(10) < 8;
        Event {
            client: client.to_string(),
            tables: vec![table.to_string()],
            query: Some(format!("SELECT * FROM {table} WHERE id = {id}")),
            key: Some(format!("{prefix}:{id}")),
            op: if write { "set" } else { "get" }.to_string(),
            hit: (!write).then_some(hit),
            latency_us: if hit { 150 } else { 2_000 } + self.below(200),
            saved_us: if hit { 1_800 + self.below(400) } else { 0 },
            error: self.below(1000) == 0,
            sample_rate: 1.0,
        }
    }

    /// Event number `i` of a workload where nothing repeats: its client,
    /// table, query and key are named after `i`, so every event is new to
    /// every map keyed by names (what `scripts/measure-memory` feeds).
    pub fn distinct_event(&mut self, i: u64) -> Event {
        let mut e = self.next_event();
        let table = format!("t_{i}");
        e.client = format!("client-{i}");
        e.query = Some(format!("SELECT * FROM {table} WHERE id = {i}"));
        e.key = Some(format!("k{i}:{i}"));
        e.tables = vec![table];
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::heatmap::fingerprint::fingerprint;

    #[test]
    fn synthetic_events_are_valid_and_reproducible() {
        let (mut a, mut b) = (Synthetic::new(7), Synthetic::new(7));
        for _ in 0..1000 {
            let e = a.next_event();
            assert_eq!(e, b.next_event());
            let f = e.fields();
            let back = Event::parse(f.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())));
            assert_eq!(back.as_ref(), Ok(&e));
        }
    }

    #[test]
    fn pipelines_follow_the_rate_below_a_thousand_a_second() {
        assert_eq!(pipeline_len(10, 1000), 1);
        assert_eq!(pipeline_len(1, 1000), 1);
        assert_eq!(pipeline_len(100, 1000), 5);
        assert_eq!(pipeline_len(20_000, 1000), 1000);
        assert_eq!(pipeline_len(0, 1000), 1000);
        assert_eq!(pipeline_len(0, 0), 1);
        // 600 events at 10/s: the last pipeline goes after 59.9 s.
        assert_eq!(due(599, 10), std::time::Duration::from_millis(59_900));
        assert_eq!(due(5, 0), std::time::Duration::ZERO);
    }

    #[test]
    fn distinct_events_share_no_name() {
        let mut s = Synthetic::new(7);
        let (a, b) = (s.distinct_event(1), s.distinct_event(2));
        assert_ne!(a.client, b.client);
        assert_ne!(a.tables, b.tables);
        assert_ne!(a.key, b.key);
        let print = |e: &Event| fingerprint(e.query.as_deref().unwrap_or_default()).text;
        assert_ne!(print(&a), print(&b), "the fingerprints differ too");
        let f = a.fields();
        let back = Event::parse(f.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())));
        assert_eq!(back.as_ref(), Ok(&a));
    }
}
