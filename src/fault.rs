//! Why talking to a server failed: a kind callers match on and a reason
//! people read. Redis and Postgres errors map to the same kinds
//! (`sources::redis::fault`, `sources::postgres::fault`), so the screen,
//! the retry logic and the warm executor decide by kind, never by
//! searching message text.
//!
//! The reason is what the screen shows: plain words, the server's own
//! where they are safe, never a password or a URL with credentials (the
//! mappings build it from the error's kind and the server's message, and
//! quote URLs through `redact`). A leaf module: it imports nothing from
//! the crate.

use std::fmt::Display;

/// What kind of failure, without its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Credentials refused, or a password the server asks for is missing.
    Auth,
    /// The role or ACL user may not do this (NOPERM, SQLSTATE 42501).
    Permission,
    /// Nothing to talk to: connection refused, unknown host, unreachable.
    Refused,
    /// No answer in time.
    Timeout,
    /// The server ended the connection (reset, end of file, shutting down).
    Closed,
    /// Certificates or the TLS handshake.
    Tls,
    /// Heliostat's own settings: a bad URL, an unreadable TLS file.
    Config,
    /// A reply heliostat did not expect (wrong type, wrong shape).
    Protocol,
    /// Any other local I/O failure.
    Io,
    /// The server refused the command for a reason of its own (its words).
    Server,
}

impl From<std::io::ErrorKind> for Kind {
    /// The kind of a socket's failure.
    fn from(k: std::io::ErrorKind) -> Self {
        use std::io::ErrorKind as E;
        match k {
            E::ConnectionRefused | E::HostUnreachable | E::NetworkUnreachable => Kind::Refused,
            E::TimedOut | E::WouldBlock => Kind::Timeout,
            E::ConnectionReset | E::ConnectionAborted | E::BrokenPipe | E::UnexpectedEof => {
                Kind::Closed
            }
            _ => Kind::Io,
        }
    }
}

/// A failure with its kind and a secret-free reason (the `Display`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// See [`Kind::Auth`].
    #[error("{0}")]
    Auth(String),
    /// See [`Kind::Permission`].
    #[error("{0}")]
    Permission(String),
    /// See [`Kind::Refused`].
    #[error("{0}")]
    Refused(String),
    /// See [`Kind::Timeout`].
    #[error("{0}")]
    Timeout(String),
    /// See [`Kind::Closed`].
    #[error("{0}")]
    Closed(String),
    /// See [`Kind::Tls`].
    #[error("{0}")]
    Tls(String),
    /// See [`Kind::Config`].
    #[error("{0}")]
    Config(String),
    /// See [`Kind::Protocol`].
    #[error("{0}")]
    Protocol(String),
    /// See [`Kind::Io`].
    #[error("{0}")]
    Io(String),
    /// See [`Kind::Server`]: the server's own words.
    #[error("{0}")]
    Server(String),
}

impl Fault {
    /// A fault of `kind` with `reason` (which must hold no secret).
    pub fn new(kind: Kind, reason: impl Into<String>) -> Self {
        let r = reason.into();
        match kind {
            Kind::Auth => Fault::Auth(r),
            Kind::Permission => Fault::Permission(r),
            Kind::Refused => Fault::Refused(r),
            Kind::Timeout => Fault::Timeout(r),
            Kind::Closed => Fault::Closed(r),
            Kind::Tls => Fault::Tls(r),
            Kind::Config => Fault::Config(r),
            Kind::Protocol => Fault::Protocol(r),
            Kind::Io => Fault::Io(r),
            Kind::Server => Fault::Server(r),
        }
    }

    /// Its kind.
    pub const fn kind(&self) -> Kind {
        match self {
            Fault::Auth(_) => Kind::Auth,
            Fault::Permission(_) => Kind::Permission,
            Fault::Refused(_) => Kind::Refused,
            Fault::Timeout(_) => Kind::Timeout,
            Fault::Closed(_) => Kind::Closed,
            Fault::Tls(_) => Kind::Tls,
            Fault::Config(_) => Kind::Config,
            Fault::Protocol(_) => Kind::Protocol,
            Fault::Io(_) => Kind::Io,
            Fault::Server(_) => Kind::Server,
        }
    }

    /// Its reason, as shown.
    pub fn reason(&self) -> &str {
        match self {
            Fault::Auth(r)
            | Fault::Permission(r)
            | Fault::Refused(r)
            | Fault::Timeout(r)
            | Fault::Closed(r)
            | Fault::Tls(r)
            | Fault::Config(r)
            | Fault::Protocol(r)
            | Fault::Io(r)
            | Fault::Server(r) => r,
        }
    }

    /// The same kind, the reason rewritten (e.g. a hint appended).
    #[must_use]
    pub fn map_reason(self, f: impl FnOnce(String) -> String) -> Self {
        Fault::new(self.kind(), f(self.reason().to_string()))
    }

    /// The same kind, the reason prefixed with what failed: `what: reason`.
    #[must_use]
    pub fn context(self, what: impl Display) -> Self {
        self.map_reason(|r| format!("{what}: {r}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [Kind; 10] = [
        Kind::Auth,
        Kind::Permission,
        Kind::Refused,
        Kind::Timeout,
        Kind::Closed,
        Kind::Tls,
        Kind::Config,
        Kind::Protocol,
        Kind::Io,
        Kind::Server,
    ];

    #[test]
    fn every_kind_round_trips_and_shows_its_reason_only() {
        for kind in KINDS {
            let f = Fault::new(kind, "why");
            assert_eq!(f.kind(), kind);
            assert_eq!(f.to_string(), "why");
            assert_eq!(f.reason(), "why");
        }
    }

    #[test]
    fn context_keeps_the_kind() {
        let f = Fault::Auth("wrong password".into()).context("sentinel s1:26379");
        assert_eq!(f.kind(), Kind::Auth);
        assert_eq!(f.to_string(), "sentinel s1:26379: wrong password");
        let f = Fault::Timeout("timed out".into()).map_reason(|r| format!("{r} (3 s)"));
        assert_eq!(f, Fault::Timeout("timed out (3 s)".into()));
    }

    #[test]
    fn socket_errors_have_kinds() {
        use std::io::ErrorKind as E;
        assert_eq!(Kind::from(E::ConnectionRefused), Kind::Refused);
        assert_eq!(Kind::from(E::TimedOut), Kind::Timeout);
        assert_eq!(Kind::from(E::UnexpectedEof), Kind::Closed);
        assert_eq!(Kind::from(E::PermissionDenied), Kind::Io);
    }
}
