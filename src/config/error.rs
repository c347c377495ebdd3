//! Configuration errors. Each one says what is wrong, where (file, line,
//! key, or the flag / variable it came from) and, where it helps, what to do.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Why the configuration could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config PATH` names a file that does not exist.
    #[error("config file {} not found (given with --config)", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("config file {}: cannot read it: {cause}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error (in the message; a `source` would print it twice).
        cause: std::io::Error,
    },
    /// Something in the file is wrong: syntax, an unknown key, a wrong type,
    /// a value out of range, a bad URL or key binding.
    #[error("{}", located(path, *line, key.as_deref(), message))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// Dotted key path (e.g. `contexts.prod.refresh`), when known.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The file holds a password and others can read it.
    #[error(
        "{}: the file holds a password but is readable by group or others (mode {mode:04o}); \
         run `chmod 600 {}`, or keep the password out of the file (REDISCLI_AUTH, PGPASSWORD, ~/.pgpass)",
        located(path, Some(*line), Some(key), "refusing to load it"),
        path.display()
    )]
    InsecureFile {
        /// The file.
        path: PathBuf,
        /// Line of the first secret.
        line: usize,
        /// Key holding the first secret.
        key: String,
        /// The file's permission bits.
        mode: u32,
    },
    /// `--context NAME` names no context of the config file.
    #[error("{}", unknown_context(name, path.as_ref(), *found, known))]
    UnknownContext {
        /// The name given.
        name: String,
        /// The config file looked at (or for), if any.
        path: Option<PathBuf>,
        /// Whether that file exists.
        found: bool,
        /// Contexts the file defines.
        known: Vec<String>,
    },
    /// A command-line flag or environment variable has a bad value.
    #[error("{origin}: {message}")]
    Arg {
        /// The flag or variable, e.g. `--redis` or `REDIS_URL`.
        origin: String,
        /// What is wrong (URLs redacted).
        message: String,
    },
}

fn located(path: &std::path::Path, line: Option<usize>, key: Option<&str>, msg: &str) -> String {
    let mut s = format!("config file {}", path.display());
    if let Some(line) = line {
        let _ = write!(s, ", line {line}");
    }
    if let Some(key) = key {
        let _ = write!(s, ", key `{key}`");
    }
    let _ = write!(s, ": {msg}");
    s
}

fn unknown_context(name: &str, path: Option<&PathBuf>, found: bool, known: &[String]) -> String {
    let head = format!("unknown context `{name}` (given with --context)");
    match path {
        None => format!(
            "{head}: no config file; create one with a [contexts.{name}] table and pass --config"
        ),
        Some(p) if !found => format!(
            "{head}: there is no config file at {}; create it with a [contexts.{name}] table",
            p.display()
        ),
        Some(p) if known.is_empty() => format!(
            "{head}: {} defines no contexts; add a [contexts.{name}] table",
            p.display()
        ),
        Some(p) => format!(
            "{head}: {} defines {}",
            p.display(),
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
