//! A minimal RESP2 connection for the event reader's hot path: replies are
//! scanned incrementally and entries parsed in place from the read buffer,
//! with no value tree. Building one (what a general client does) costs
//! more than everything else the reader does per event together.
//!
//! Only plain TCP and unix sockets; TLS streams use the general client.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use redis::{ConnectionAddr, ConnectionInfo};

use crate::fault::{Fault, Kind};

/// Read-buffer capacity kept between replies; more is given back.
const KEEP_BYTES: usize = 4 << 20;

/// Why the connection failed (short, secret-free).
pub type WireError = Fault;

/// A socket's failure, in its own words.
fn io_fault(e: &std::io::Error) -> Fault {
    Fault::new(Kind::from(e.kind()), e.to_string())
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A connection speaking RESP2.
pub struct Wire {
    stream: Stream,
    buf: Vec<u8>,
    timeout: Duration,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wire")
            .field("buffered", &self.buf.len())
            .finish()
    }
}

/// Whether `info` can be served by [`Wire`].
pub fn supports(info: &ConnectionInfo) -> bool {
    matches!(
        info.addr(),
        ConnectionAddr::Tcp(..) | ConnectionAddr::Unix(_)
    )
}

impl Wire {
    /// Connect, authenticate and select the database, each step bounded by
    /// `timeout`; then every reply is bounded by `timeout` plus what the
    /// caller allows for a blocking command.
    pub async fn connect(info: &ConnectionInfo, timeout: Duration) -> Result<Wire, WireError> {
        let connect = async {
            match info.addr() {
                ConnectionAddr::Tcp(host, port) => {
                    let s = TcpStream::connect((host.as_str(), *port)).await?;
                    s.set_nodelay(true)?;
                    Ok(Stream::Tcp(s))
                }
                ConnectionAddr::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
                _ => Err(std::io::Error::other("TLS is not handled here")),
            }
        };
        let stream = match tokio::time::timeout(timeout, connect).await {
            Err(_) => return Err(Fault::Timeout("timed out".into())),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Err(Fault::Refused("connection refused".into()));
            }
            Ok(Err(e)) => return Err(io_fault(&e)),
            Ok(Ok(s)) => s,
        };
        let mut w = Wire {
            stream,
            buf: Vec::with_capacity(1 << 16),
            timeout,
        };
        let r = info.redis_settings();
        if let Some(pw) = r.password() {
            let mut args = vec!["AUTH"];
            if let Some(user) = r.username() {
                args.push(user);
            }
            args.push(pw);
            w.simple(&args).await.map_err(|e| {
                // The server's words (WRONGPASS …) never hold the password.
                // A refusal of AUTH is the server's error reply (its code
                // first): that is the kind, in the server's words.
                let refused_auth = e.kind() == Kind::Server
                    && ["WRONGPASS", "invalid", "AUTH"]
                        .iter()
                        .any(|w| e.reason().contains(w));
                if refused_auth {
                    Fault::Auth(format!("authentication failed: {}", e.reason().trim()))
                } else {
                    e
                }
            })?;
        }
        if r.db() != 0 {
            let db = r.db().to_string();
            w.simple(&["SELECT", &db]).await?;
        }
        Ok(w)
    }

    /// Send a command whose reply is a status or an error.
    pub async fn simple(&mut self, args: &[&str]) -> Result<(), WireError> {
        let end = self.call(args, Duration::ZERO).await?;
        let reply = &self.buf[..end];
        let out = if reply.first() == Some(&b'-') {
            Err(Fault::Server(
                String::from_utf8_lossy(&reply[1..end.saturating_sub(2)]).into_owned(),
            ))
        } else {
            Ok(())
        };
        self.buf.drain(..end);
        out
    }

    /// Send a command and read one whole reply (allowing `extra` on top of
    /// the timeout, for blocking commands); the reply is `reply()[..len]`.
    pub async fn call(&mut self, args: &[&str], extra: Duration) -> Result<usize, WireError> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let write = async {
            match &mut self.stream {
                Stream::Tcp(s) => s.write_all(&out).await,
                Stream::Unix(s) => s.write_all(&out).await,
            }
        };
        match tokio::time::timeout(self.timeout, write).await {
            Err(_) => return Err(Fault::Timeout("timed out".into())),
            Ok(Err(e)) => return Err(io_fault(&e)),
            Ok(Ok(())) => {}
        }
        let deadline = tokio::time::Instant::now() + self.timeout + extra;
        let mut scan = Scan::default();
        loop {
            if let Some(end) = scan.advance(&self.buf)? {
                return Ok(end);
            }
            let len = self.buf.len();
            if self.buf.capacity() - len < (1 << 15) {
                self.buf.reserve(1 << 16);
            }
            let read = async {
                match &mut self.stream {
                    Stream::Tcp(s) => s.read_buf(&mut self.buf).await,
                    Stream::Unix(s) => s.read_buf(&mut self.buf).await,
                }
            };
            match tokio::time::timeout_at(deadline, read).await {
                Err(_) => return Err(Fault::Timeout("timed out".into())),
                Ok(Err(e)) => return Err(io_fault(&e)),
                Ok(Ok(0)) => return Err(Fault::Closed("connection closed by the server".into())),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The buffered bytes (a reply returned by [`Wire::call`] starts at 0).
    pub fn reply(&self) -> &[u8] {
        &self.buf
    }

    /// Drop the first `len` bytes (a reply that has been used). A buffer
    /// grown by a large reply is given back, so one burst does not keep
    /// its memory for the rest of the run.
    pub fn consume(&mut self, len: usize) {
        self.buf.drain(..len.min(self.buf.len()));
        if self.buf.capacity() > KEEP_BYTES && self.buf.len() < self.buf.capacity() / 4 {
            self.buf.shrink_to(self.buf.len().max(1 << 16));
        }
    }
}

/// Finds where a reply ends, resumably: each call continues where the last
/// one stopped, so a large reply arriving in pieces is scanned once.
#[derive(Debug, Default)]
pub struct Scan {
    pos: usize,
    open: Vec<i64>,
}

/// Where the line starting at `from` ends (its `\r`); headers are short.
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    let i = from + buf.get(from..)?.iter().position(|&b| b == b'\r')?;
    (buf.get(i + 1) == Some(&b'\n')).then_some(i)
}

fn int(bytes: &[u8]) -> Result<i64, WireError> {
    let bad = || Fault::Protocol("protocol error: bad length".to_string());
    let (neg, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 18 {
        return Err(bad());
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(bad());
        }
        n = n * 10 + i64::from(d - b'0');
    }
    Ok(if neg { -n } else { n })
}

impl Scan {
    /// `Some(len)` once a whole reply is in `buf`.
    pub fn advance(&mut self, buf: &[u8]) -> Result<Option<usize>, WireError> {
        loop {
            let Some(eol) = line_end(buf, self.pos + 1) else {
                return Ok(None);
            };
            let Some(&kind) = buf.get(self.pos) else {
                return Ok(None);
            };
            let header = &buf[self.pos + 1..eol];
            let mut next = eol + 2;
            let complete = match kind {
                b'+' | b'-' | b':' => true,
                b'$' => {
                    let n = int(header)?;
                    if n >= 0 {
                        next += usize::try_from(n).unwrap_or(usize::MAX - 2) + 2;
                        if next > buf.len() {
                            return Ok(None);
                        }
                    }
                    true
                }
                b'*' => {
                    let n = int(header)?;
                    if n > 0 {
                        self.open.push(n);
                        false
                    } else {
                        true
                    }
                }
                other => {
                    return Err(Fault::Protocol(format!(
                        "protocol error: unexpected {:?}",
                        other as char
                    )));
                }
            };
            self.pos = next;
            if complete {
                while let Some(top) = self.open.last_mut() {
                    *top -= 1;
                    if *top > 0 {
                        break;
                    }
                    self.open.pop();
                }
                if self.open.is_empty() {
                    return Ok(Some(self.pos));
                }
            }
        }
    }
}

/// Reads the parts of a whole reply in place.
#[derive(Debug, Clone, Copy)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// One part of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// An array of this many parts (they follow).
    Array(usize),
    /// A bulk or status string.
    Str(&'a [u8]),
    /// An integer.
    Int(i64),
    /// Nil (bulk or array).
    Nil,
    /// An error reply.
    Error(&'a [u8]),
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of a whole reply (checked by [`Scan`]).
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The next part, `None` at the end or on malformed input.
    pub fn next_part(&mut self) -> Option<Part<'a>> {
        let eol = line_end(self.buf, self.pos + 1)?;
        let kind = *self.buf.get(self.pos)?;
        let header = &self.buf[self.pos + 1..eol];
        self.pos = eol + 2;
        Some(match kind {
            b'+' => Part::Str(header),
            b'-' => Part::Error(header),
            b':' => Part::Int(int(header).ok()?),
            b'$' => {
                let n = int(header).ok()?;
                if n < 0 {
                    return Some(Part::Nil);
                }
                let start = self.pos;
                let end = start.checked_add(usize::try_from(n).ok()?)?;
                self.pos = end + 2;
                Part::Str(self.buf.get(start..end)?)
            }
            b'*' => match usize::try_from(int(header).ok()?) {
                Ok(n) => Part::Array(n),
                Err(_) => Part::Nil,
            },
            _ => return None,
        })
    }

    /// Skip one whole part (with everything an array holds).
    pub fn skip(&mut self) -> Option<()> {
        let mut left = 1usize;
        while left > 0 {
            left -= 1;
            if let Part::Array(n) = self.next_part()? {
                left += n;
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_arriving_in_pieces_is_found_whole_once() {
        let reply =
            b"*2\r\n*2\r\n$2\r\nev\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n$-1\r\n";
        for cut in 0..reply.len() {
            let mut scan = Scan::default();
            let first = scan.advance(&reply[..cut]).unwrap();
            assert_eq!(first, None, "cut at {cut}");
            assert_eq!(scan.advance(reply).unwrap(), Some(reply.len()));
        }
        let mut scan = Scan::default();
        assert_eq!(scan.advance(b"$-1\r\n+OK\r\n").unwrap(), Some(5));
        assert_eq!(Scan::default().advance(b"*0\r\n").unwrap(), Some(4));
        assert!(Scan::default().advance(b"?x\r\n").is_err());
    }

    #[test]
    fn the_cursor_walks_and_skips_parts() {
        let reply = b"*3\r\n*2\r\n:1\r\n+x\r\n$3\r\nabc\r\n-ERR no\r\n";
        let mut c = Cursor::new(reply);
        assert_eq!(c.next_part(), Some(Part::Array(3)));
        c.skip().unwrap();
        assert_eq!(c.next_part(), Some(Part::Str(b"abc")));
        assert_eq!(c.next_part(), Some(Part::Error(b"ERR no")));
        assert_eq!(c.next_part(), None);
        assert_eq!(Cursor::new(b"$5\r\nab\r\n").next_part(), None, "short bulk");
    }
}
