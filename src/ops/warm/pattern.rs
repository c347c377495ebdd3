//! Key patterns of warm rules: `user:${id}` names a key from a query row,
//! and parses the `id` back out of a key to warm. `${col}` is a column;
//! every other character is literal, braces included, so `{user}:${id}`
//! keeps a Redis Cluster hash tag. Pure.

use std::fmt;

use thiserror::Error;

/// A parsed key pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    parts: Vec<Part>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Column(String),
}

/// Why a pattern does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatternError {
    /// `${` without a closing `}`.
    #[error("`${{` at byte {0} is not closed with `}}`")]
    Unclosed(usize),
    /// `${}` or a name with characters a column alias cannot have.
    #[error("`${{{0}}}` is not a column name (letters, digits and _)")]
    BadName(String),
    /// No `${col}` at all: every row would write the same key.
    #[error("the pattern names no column (`${{id}}`): every row would write the same key")]
    NoColumn,
    /// Two placeholders side by side cannot be told apart in a key.
    #[error("`${{{0}}}${{{1}}}`: two columns need something literal between them")]
    Adjacent(String, String),
}

impl KeyPattern {
    /// Parse `text`.
    pub fn parse(text: &str) -> Result<KeyPattern, PatternError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(i) = rest.find("${") {
            lit.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                return Err(PatternError::Unclosed(offset + i));
            };
            let name = &after[..end];
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(PatternError::BadName(name.to_string()));
            }
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            } else if let Some(Part::Column(prev)) = parts.last() {
                return Err(PatternError::Adjacent(prev.clone(), name.to_string()));
            }
            parts.push(Part::Column(name.to_string()));
            offset += i + 2 + end + 1;
            rest = &after[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        if !parts.iter().any(|p| matches!(p, Part::Column(_))) {
            return Err(PatternError::NoColumn);
        }
        Ok(KeyPattern {
            parts,
            text: text.to_string(),
        })
    }

    /// The columns it names, in order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Column(c) => Some(c.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The key for a row; `value(col)` gives a column's text (`None`: the
    /// row lacks it, so no key).
    pub fn render<'a>(&self, value: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
        let mut out = String::with_capacity(self.text.len() + 16);
        for p in &self.parts {
            match p {
                Part::Literal(l) => out.push_str(l),
                Part::Column(c) => out.push_str(value(c)?),
            }
        }
        Some(out)
    }

    /// The column values a key was made from, in [`KeyPattern::columns`]
    /// order; `None` when the key does not match. A column takes everything
    /// up to the next literal's first occurrence (the last one, the rest).
    pub fn parse_key<'k>(&self, key: &'k str) -> Option<Vec<&'k str>> {
        let mut out = Vec::new();
        self.walk(key, |v| out.push(v)).then_some(out)
    }

    /// The first column's value of a key ([`KeyPattern::parse_key`] without
    /// collecting the others).
    pub fn first_value<'k>(&self, key: &'k str) -> Option<&'k str> {
        let mut first = None;
        let matched = self.walk(key, |v| {
            first.get_or_insert(v);
        });
        if matched { first } else { None }
    }

    /// Match `key`, handing each column's value to `each`; whether it matched.
    fn walk<'k>(&self, key: &'k str, mut each: impl FnMut(&'k str)) -> bool {
        let mut rest = key;
        let mut parts = self.parts.iter().peekable();
        while let Some(p) = parts.next() {
            match p {
                Part::Literal(l) => match rest.strip_prefix(l.as_str()) {
                    Some(r) => rest = r,
                    None => return false,
                },
                Part::Column(_) => {
                    let end = match parts.peek() {
                        Some(Part::Literal(next)) => match rest.find(next.as_str()) {
                            Some(e) => e,
                            None => return false,
                        },
                        _ => rest.len(),
                    };
                    if end == 0 {
                        return false;
                    }
                    each(&rest[..end]);
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty()
    }

    /// The text it was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for KeyPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_are_made_and_read_back() {
        let p = KeyPattern::parse("user:${id}").unwrap();
        assert_eq!(p.columns().collect::<Vec<_>>(), ["id"]);
        assert_eq!(
            p.render(|c| (c == "id").then_some("42")).unwrap(),
            "user:42"
        );
        assert_eq!(p.parse_key("user:42"), Some(vec!["42"]));
        assert_eq!(p.parse_key("order:42"), None);
        assert_eq!(p.parse_key("user:"), None, "an empty id is no id");
        assert_eq!(p.first_value("user:42"), Some("42"));
        assert_eq!(p.first_value("order:42"), None);
    }

    #[test]
    fn braces_stay_literal_so_hash_tags_survive() {
        let p = KeyPattern::parse("{user}:${id}:profile").unwrap();
        assert_eq!(p.render(|_| Some("7")).unwrap(), "{user}:7:profile");
        assert_eq!(p.parse_key("{user}:7:profile"), Some(vec!["7"]));
        let two = KeyPattern::parse("o:${tenant}/${id}").unwrap();
        assert_eq!(two.parse_key("o:acme/9"), Some(vec!["acme", "9"]));
        assert_eq!(two.first_value("o:acme/9"), Some("acme"));
        assert_eq!(two.first_value("o:acme"), None, "the whole key must match");
        assert_eq!(two.render(|_| None), None, "a missing column makes no key");
    }

    #[test]
    fn mistakes_are_named() {
        let e = |t: &str| KeyPattern::parse(t).unwrap_err().to_string();
        assert!(e("user:${id").contains("not closed"));
        assert!(e("user:${}").contains("not a column name"));
        assert!(e("user:${i d}").contains("not a column name"));
        assert!(e("user:all").contains("names no column"));
        assert!(e("${a}${b}").contains("something literal between"));
    }

    proptest! {
        #[test]
        fn what_is_rendered_parses_back(
            prefix in "[a-z{}]{0,6}",
            sep in "[:/|]",
            a in "[a-z0-9]{1,8}",
            b in "[a-z0-9]{1,8}",
        ) {
            let p = KeyPattern::parse(&format!("{prefix}${{a}}{sep}${{b}}")).unwrap();
            let key = p.render(|c| Some(if c == "a" { a.as_str() } else { b.as_str() })).unwrap();
            prop_assert_eq!(p.parse_key(&key), Some(vec![a.as_str(), b.as_str()]));
            prop_assert_eq!(p.first_value(&key), Some(a.as_str()));
        }

        #[test]
        fn parsing_never_panics(t in ".{0,24}", k in ".{0,24}") {
            if let Ok(p) = KeyPattern::parse(&t) {
                let _ = p.parse_key(&k);
            }
        }
    }
}
