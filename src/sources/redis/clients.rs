//! `CLIENT LIST`, read by a node's poller for the Sessions pane: at most
//! every [`EVERY`], and not at all while `INFO` counts more than
//! [`SKIP_ABOVE`] clients (the list then says so in its note). The command
//! is counted in the node's [`OwnLoad`], so it is taken out of the node's
//! figures as the console's own load.
//!
//! The parser is bounded: every field is cut ([`NAME_BYTES`]), control
//! bytes never pass, numbers saturate, and at most [`MAX_CLIENTS`] rows
//! are kept (those using the most memory), the rest counted.

use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use super::OwnLoad;
use crate::engines::bounded;
use crate::engines::sessions::{ClientList, MAX_CLIENTS, NAME_BYTES, RedisClient, is_own_name};

/// `CLIENT LIST` is asked at most this often.
pub const EVERY: Duration = Duration::from_secs(5);
/// Above this many connected clients `CLIENT LIST` is not sent: the server
/// builds the whole reply on its main thread (measured on Redis 7.0: about
/// 0.7 µs and 280 bytes per client), so at 5 000 clients every other
/// command already waits 3.4 ms and 1.4 MB goes over the wire, every round.
pub const SKIP_ABOVE: u64 = 5_000;

/// When the node's `CLIENT LIST` is due, and whether the server refuses it.
#[derive(Debug, Default)]
pub struct ClientsReader {
    last: Option<Instant>,
    refused: Option<String>,
}

impl ClientsReader {
    /// Read the list if it is due: `None` when it is not; a list with only
    /// a note when skipped (`connected` above [`SKIP_ABOVE`]) or refused
    /// (an ACL without `CLIENT LIST`: asked once per connection).
    pub async fn poll(
        &mut self,
        conn: &mut MultiplexedConnection,
        own: &OwnLoad,
        connected: u64,
    ) -> Result<Option<ClientList>, redis::RedisError> {
        if self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return Ok(None);
        }
        self.last = Some(Instant::now());
        if let Some(why) = &self.refused {
            return Ok(Some(noted(connected, why.clone())));
        }
        if connected > SKIP_ABOVE {
            let note = format!("{connected} clients > {SKIP_ABOVE}, CLIENT LIST skipped");
            return Ok(Some(noted(connected, note)));
        }
        match read(conn, own).await {
            Ok(list) => Ok(Some(list)),
            Err(e) if super::diag::refused(&e) => {
                let why = format!("CLIENT LIST refused: {}", super::describe(&e));
                self.refused = Some(why.clone());
                Ok(Some(noted(connected, why)))
            }
            Err(e) => Err(e),
        }
    }
}

fn noted(connected: u64, note: String) -> ClientList {
    ClientList {
        total: u32::try_from(connected).unwrap_or(u32::MAX),
        note: Some(note),
        ..ClientList::default()
    }
}

/// Send `CLIENT LIST` (counted in `own`) and parse the reply.
pub async fn read(
    conn: &mut MultiplexedConnection,
    own: &OwnLoad,
) -> Result<ClientList, redis::RedisError> {
    own.add(1, 0, 0);
    let text: String = redis::cmd("CLIENT").arg("LIST").query_async(conn).await?;
    Ok(parse(&text))
}

/// A `CLIENT LIST` reply: one client per line, `key=value` fields split
/// by spaces. Lines without an `id` are skipped; at most [`MAX_CLIENTS`]
/// rows are kept, those using the most memory.
pub fn parse(text: &str) -> ClientList {
    let mut rows: Vec<RedisClient> = text.lines().filter_map(parse_line).collect();
    let total = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    let mut cut = 0;
    if rows.len() > MAX_CLIENTS {
        rows.select_nth_unstable_by(MAX_CLIENTS - 1, |a, b| {
            b.memory().cmp(&a.memory()).then(a.id.cmp(&b.id))
        });
        cut = u32::try_from(rows.len() - MAX_CLIENTS).unwrap_or(u32::MAX);
        rows.truncate(MAX_CLIENTS);
    }
    rows.sort_by_key(|c| c.id);
    ClientList {
        rows,
        total,
        cut,
        note: None,
    }
}

/// `s` with control characters shown as `?` (a name never moves the
/// cursor on screen), cut to [`NAME_BYTES`].
fn clean(s: &str) -> String {
    let s = bounded::prefix(s, 4 * NAME_BYTES);
    let shown: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    bounded::name(&shown, NAME_BYTES).into_owned()
}

/// A count; digits past `u64` saturate, anything else is 0.
fn num(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            u64::MAX
        } else {
            0
        }
    })
}

fn num32(s: &str) -> u32 {
    u32::try_from(num(s)).unwrap_or(u32::MAX)
}

/// One line, or `None` without an `id`.
fn parse_line(line: &str) -> Option<RedisClient> {
    let mut c = RedisClient::default();
    let mut id = None;
    // A token without `=` continues the previous value (a server that let
    // a space into a name); fields are applied once the value is whole.
    let mut fields: Vec<(&str, String)> = Vec::new();
    for tok in line.split(' ').filter(|t| !t.is_empty()) {
        match tok.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') =>
            {
                fields.push((k, v.to_string()));
            }
            _ => {
                if let Some((_, v)) = fields.last_mut() {
                    if v.len() < 4 * NAME_BYTES {
                        v.push(' ');
                        v.push_str(tok);
                    }
                }
            }
        }
    }
    for (k, v) in &fields {
        match *k {
            "id" => id = v.parse::<u64>().ok(),
            "addr" => c.addr = clean(v),
            "laddr" => c.laddr = Some(clean(v)),
            "name" => c.name = clean(v),
            "user" => c.user = Some(clean(v)),
            "age" => c.age_s = num(v),
            "idle" => c.idle_s = num(v),
            "flags" => c.flags = clean(v),
            "db" => c.db = num32(v),
            "cmd" => c.cmd = clean(v),
            "omem" => c.omem = num(v),
            "tot-mem" => c.tot_mem = Some(num(v)),
            "qbuf" => c.qbuf = num(v),
            "multi" => {
                c.multi = v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
            }
            "sub" => c.sub = num32(v),
            "psub" => c.psub = num32(v),
            _ => {}
        }
    }
    c.id = id?;
    c.own = is_own_name(&c.name);
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REDIS_7: &str = "id=3 addr=127.0.0.1:52555 laddr=127.0.0.1:6379 fd=8 name=heliostat age=120 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd=client|list user=default redir=-1 resp=2\n\
id=7 addr=10.0.0.9:40112 laddr=10.0.0.1:6379 fd=11 name=orders-api age=3600 idle=12 flags=P db=0 sub=1 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=16384 obl=0 oll=880 omem=18022400 tot-mem=18060000 events=rw cmd=subscribe user=app redir=-1 resp=2\n\
id=9 addr=[::1]:40200 laddr=[::1]:6379 fd=12 name= age=5 idle=5 flags=x db=2 sub=0 psub=0 multi=3 qbuf=0 omem=0 tot-mem=1024 cmd=exec user=default\n";

    #[test]
    fn redis_7_lines_parse_into_rows() {
        let l = parse(REDIS_7);
        assert_eq!((l.total, l.cut, l.rows.len()), (3, 0, 3));
        let own = &l.rows[0];
        assert!(own.own, "heliostat's own connection is marked");
        assert_eq!(own.cmd, "client|list");
        assert_eq!(own.laddr.as_deref(), Some("127.0.0.1:6379"));
        let sub = &l.rows[1];
        assert_eq!(
            (
                sub.id,
                sub.name.as_str(),
                sub.omem,
                sub.tot_mem,
                sub.sub,
                sub.idle_s,
                sub.age_s
            ),
            (7, "orders-api", 18_022_400, Some(18_060_000), 1, 12, 3600)
        );
        assert_eq!(
            (sub.flags.as_str(), sub.user.as_deref(), sub.multi),
            ("P", Some("app"), None)
        );
        assert!(!sub.own);
        let m = &l.rows[2];
        assert_eq!(
            (m.multi, m.db, m.name.as_str(), m.group()),
            (Some(3), 2, "", "::1")
        );
    }

    #[test]
    fn older_servers_lack_tot_mem_and_laddr() {
        // Redis 5: no laddr, user, tot-mem.
        let l = parse(
            "id=4 addr=10.1.1.1:5000 fd=7 name=w age=9 idle=1 flags=N db=0 sub=0 psub=0 multi=-1 qbuf=100 qbuf-free=0 obl=0 oll=0 omem=400 events=r cmd=get\n",
        );
        let c = &l.rows[0];
        assert_eq!(
            (c.tot_mem, c.laddr.clone(), c.user.clone()),
            (None, None, None)
        );
        assert_eq!(c.memory(), 500, "without tot-mem: omem + qbuf");
    }

    #[test]
    fn hostile_values_stay_bounded_and_harmless() {
        let long = "n".repeat(10_000);
        let text = format!(
            "id=1 addr=1.1.1.1:1 name=evil\x1b[2Jname age=99999999999999999999999 idle=-5 omem=18446744073709551616 tot-mem=x flags=N cmd=get multi=99999999999\n\
             id=2 addr=2.2.2.2:2 name=with spaces=and more age=1\n\
             id=3 addr=3.3.3.3:3 name={long} cmd={long}\n\
             garbage without an id\n\
             id=notanumber addr=x\n\
             \n"
        );
        let l = parse(&text);
        assert_eq!(l.rows.len(), 3);
        let evil = &l.rows[0];
        assert!(!evil.name.chars().any(char::is_control), "{:?}", evil.name);
        assert_eq!(evil.name, "evil?[2Jname");
        assert_eq!(
            (evil.age_s, evil.idle_s, evil.omem),
            (u64::MAX, 0, u64::MAX)
        );
        assert_eq!((evil.tot_mem, evil.multi), (Some(0), Some(u32::MAX)));
        // `spaces=and` is not a field Redis has; `more` continues it.
        assert_eq!(l.rows[1].name, "with");
        assert_eq!(l.rows[1].age_s, 1);
        let long_one = &l.rows[2];
        assert!(long_one.name.len() <= NAME_BYTES && long_one.cmd.len() <= NAME_BYTES);
        assert!(bounded::is_cut(&long_one.name));
    }

    #[test]
    fn a_name_with_a_space_continues_its_value() {
        let l = parse("id=5 addr=a:1 name=two words age=3\n");
        assert_eq!((l.rows[0].name.as_str(), l.rows[0].age_s), ("two words", 3));
    }

    #[test]
    fn past_the_cap_the_biggest_clients_are_kept_and_the_rest_counted() {
        let n = MAX_CLIENTS + 500;
        let text: String = (0..n)
            .map(|i| format!("id={i} addr=h:{i} name=c omem={i} tot-mem={i} cmd=get\n"))
            .collect();
        let l = parse(&text);
        assert_eq!(
            (l.total as usize, l.cut, l.rows.len()),
            (n, 500, MAX_CLIENTS)
        );
        assert!(
            l.rows.iter().all(|c| c.omem >= 500),
            "the smallest were cut"
        );
        assert!(l.rows.windows(2).all(|w| w[0].id < w[1].id));
    }
}
