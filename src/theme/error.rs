//! Theme errors that say which file, which line and which key is wrong.

use std::fmt;
use std::ops::Range;

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// The spec is neither a built-in name nor a readable file.
    #[error(
        "theme `{spec}` is not a built-in theme ({builtins}) and could not be read as a file: \
         {cause}; pass a built-in name or the path of a .toml theme file"
    )]
    NotFound {
        /// What the user asked for.
        spec: String,
        /// The built-in names, comma separated.
        builtins: String,
        /// Why reading it as a file failed (in the message, not a source:
        /// error chains would print it twice).
        cause: std::io::Error,
    },
    /// The file was read but something in it is wrong.
    #[error("{0}")]
    Invalid(InvalidTheme),
}

/// A mistake inside a theme file, located as precisely as the parser allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTheme {
    /// The file path (or `builtin:NAME` for an embedded theme).
    pub file: String,
    /// 1-based line of the mistake, when known.
    pub line: Option<usize>,
    /// Dotted key the mistake is in (e.g. `hot.fg`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for InvalidTheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "theme file {}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(
            f,
            ": {}; fix or remove that entry (unset keys keep the base theme's value)",
            self.reason
        )
    }
}

impl InvalidTheme {
    /// Locates a TOML error: its line from the span, its key from the text around it.
    pub fn from_toml(file: &str, input: &str, err: &toml::de::Error) -> Self {
        let reason = err.message().trim().replace('\n', " ");
        let (line, key) = match err.span() {
            Some(span) => (Some(line_of(input, span.start)), key_at(input, span)),
            None => (None, None),
        };
        Self {
            file: file.to_owned(),
            line,
            key,
            reason,
        }
    }

    /// An error about a top-level key, located by searching for that key.
    pub fn at_key(file: &str, input: &str, key: &str, reason: String) -> Self {
        Self {
            file: file.to_owned(),
            line: line_of_key(input, key),
            key: Some(key.to_owned()),
            reason,
        }
    }
}

/// 1-based line number of a byte offset.
fn line_of(input: &str, offset: usize) -> usize {
    let end = offset.min(input.len());
    input.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// 1-based line where top-level `key = …` is written, if it is.
fn line_of_key(input: &str, key: &str) -> Option<usize> {
    let mut in_table = false;
    for (i, line) in input.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_table = true;
        }
        if in_table {
            continue;
        }
        if let Some(rest) = t.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(i + 1);
        }
    }
    None
}

/// Strips quotes and whitespace from a key as written.
fn clean_key(raw: &str) -> String {
    raw.trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_owned()
}

/// The key of the nearest assignment above (within its table) whose line
/// opens more `[` than it closes: the array a continuation line belongs to.
fn open_array_key(above: &str) -> Option<String> {
    for line in above.lines().rev() {
        let t = line.trim();
        if t.starts_with('[') {
            return None;
        }
        if let Some((key, value)) = t.split_once('=') {
            let opens = value.matches('[').count();
            let closes = value.matches(']').count();
            return (opens > closes).then(|| clean_key(key));
        }
    }
    None
}

/// The dotted key an error span sits in: the enclosing `[table]` header, the
/// inline-table keys open before the span on its line, and the span itself
/// when the span *is* a key (as for an unknown field).
fn key_at(input: &str, span: Range<usize>) -> Option<String> {
    let start = span.start.min(input.len());
    let line_start = input[..start].rfind('\n').map_or(0, |i| i + 1);
    let mut path: Vec<String> = Vec::new();

    // The most recent table header above this line, e.g. `[hot]`.
    if let Some(header) = input[..line_start].lines().rev().find_map(|l| {
        let t = l.trim();
        t.strip_prefix('[')
            .and_then(|h| h.split(']').next())
            .map(|h| h.trim_start_matches('['))
    }) {
        path.extend(header.split('.').map(clean_key));
    }

    // Keys opened on this line before the span, tracking inline-table depth.
    let prefix = input.get(line_start..start).unwrap_or("");
    if prefix.trim_start().starts_with('[') {
        // The error is inside a header line: the header is the key.
        let header = prefix.trim_start().trim_start_matches('[');
        let rest = input.get(start..).unwrap_or("");
        let name = format!("{header}{}", rest.split(']').next().unwrap_or(""));
        return Some(name.split('.').map(clean_key).collect::<Vec<_>>().join("."));
    }
    let mut levels: Vec<Option<String>> = vec![None];
    let mut segment_start = 0;
    let mut quote: Option<char> = None;
    for (i, c) in prefix.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '=') => {
                if let Some(level) = levels.last_mut() {
                    *level = Some(clean_key(&prefix[segment_start..i]));
                }
            }
            (None, '{') => {
                levels.push(None);
                segment_start = i + 1;
            }
            (None, '}') => {
                levels.pop();
                segment_start = i + 1;
            }
            (None, ',') => {
                if let Some(level) = levels.last_mut() {
                    *level = None;
                }
                segment_start = i + 1;
            }
            _ => {}
        }
    }
    let on_line: Vec<String> = levels.into_iter().flatten().collect();
    if on_line.is_empty()
        && let Some(key) = open_array_key(&input[..line_start])
    {
        // Inside a multi-line array such as `heat_ramp = [` … `]`.
        path.push(key);
    }
    path.extend(on_line);

    // An unknown key: the span covers the key itself, followed by `=`.
    let spanned = input.get(span.clone()).unwrap_or("");
    let after = input.get(span.end..).unwrap_or("");
    if !spanned.trim().is_empty() && after.trim_start().starts_with('=') {
        path.push(clean_key(spanned));
    }
    (!path.is_empty()).then(|| path.join("."))
}
