//! SQL fingerprints: literals normalised away, tables extracted.
//!
//! A careful lexer of our own (PostgreSQL's lexical rules: `''` and `E'\''`
//! strings, dollar quoting, nested block comments, quoted identifiers) instead
//! of a full parser: fingerprinting runs on every new query text and must
//! accept anything, including truncated or non-SQL input, without panicking.

use serde::{Deserialize, Serialize};

/// A normalised query and the tables it touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The query with literals replaced by `?`, keywords upper-cased,
    /// identifiers lower-cased (unless quoted) and whitespace collapsed.
    pub text: String,
    /// Tables named after FROM / JOIN / UPDATE / INTO (deduplicated, in order).
    pub tables: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Word(&'a str),
    Quoted(&'a str),
    Literal,
    Punct(&'a str),
}

/// Keywords that are upper-cased in the normalised text and never taken for
/// a table name or an alias.
const KEYWORDS: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "cross",
    "delete",
    "desc",
    "distinct",
    "else",
    "end",
    "except",
    "exists",
    "fetch",
    "for",
    "from",
    "full",
    "group",
    "having",
    "ilike",
    "in",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "lateral",
    "left",
    "like",
    "limit",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "returning",
    "right",
    "select",
    "set",
    "share",
    "skip",
    "then",
    "union",
    "update",
    "using",
    "values",
    "when",
    "where",
    "window",
    "with",
    "conflict",
    "do",
    "nothing",
    "true",
    "false",
    "locked",
    "nowait",
    "of",
    "lock",
    "truncate",
    "table",
    "default",
];

fn is_keyword(w: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(w))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn lex(sql: &str) -> Vec<Tok<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = skip_block_comment(b, i);
        } else if c == b'\'' {
            i = skip_string(b, i + 1, false);
            out.push(Tok::Literal);
        } else if (c == b'E' || c == b'e') && b.get(i + 1) == Some(&b'\'') {
            i = skip_string(b, i + 2, true);
            out.push(Tok::Literal);
        } else if c == b'"' {
            let start = i + 1;
            i = start;
            while i < b.len() {
                if b[i] == b'"' {
                    if b.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            out.push(Tok::Quoted(&sql[start..i.min(b.len())]));
            i = (i + 1).min(b.len());
        } else if c == b'$' {
            if let Some(end) = dollar_quote_end(b, i) {
                out.push(Tok::Literal);
                i = end;
            } else if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Literal);
            } else {
                out.push(Tok::Punct(&sql[i..i + 1]));
                i += 1;
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            i = skip_number(b, i);
            out.push(Tok::Literal);
        } else if is_word_byte(c) {
            let start = i;
            while i < b.len() && is_word_byte(b[i]) {
                i += 1;
            }
            out.push(Tok::Word(&sql[start..i]));
        } else if OPERATOR.contains(&c) {
            // Multi-character operators (`<=`, `@@`, `::`, `->>`) stay one token;
            // they are ASCII, so the slice ends on a char boundary.
            let start = i;
            while i < b.len() && OPERATOR.contains(&b[i]) && !starts_comment(b, i) {
                i += 1;
            }
            out.push(Tok::Punct(&sql[start..i.max(start + 1)]));
            i = i.max(start + 1);
        } else {
            // Every other byte here is ASCII, so slicing one byte is a char boundary.
            out.push(Tok::Punct(&sql[i..i + 1]));
            i += 1;
        }
    }
    out
}

/// Characters that form operators.
const OPERATOR: &[u8] = b"+-*/<>=~!@#%^&|`?:";

fn starts_comment(b: &[u8], i: usize) -> bool {
    matches!(
        (b.get(i), b.get(i + 1)),
        (Some(b'-'), Some(b'-')) | (Some(b'/'), Some(b'*'))
    )
}

fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth = depth.saturating_sub(1);
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

fn skip_string(b: &[u8], mut i: usize, backslash: bool) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' if backslash => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

fn skip_number(b: &[u8], mut i: usize) -> usize {
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        while i < b.len() && (b[i].is_ascii_hexdigit() || b[i] == b'_') {
            i += 1;
        }
        return i;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'_') {
        i += 1;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// If a dollar-quoted string (`$$…$$`, `$tag$…$tag$`) starts at `i`, the
/// index just past its end (or the end of input when unterminated).
fn dollar_quote_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        if j == i + 1 && b[j].is_ascii_digit() {
            return None; // `$1` is a parameter
        }
        j += 1;
    }
    if b.get(j) != Some(&b'$') {
        return None;
    }
    let tag = &b[i..=j];
    let body = j + 1;
    let mut k = body;
    while k + tag.len() <= b.len() {
        if &b[k..k + tag.len()] == tag {
            return Some(k + tag.len());
        }
        k += 1;
    }
    Some(b.len())
}

/// Fingerprint one query text. Never panics, whatever the input.
/// Bytes of a query's text that are fingerprinted: a longer text is cut
/// first (its fingerprint is that of its start).
pub const MAX_QUERY_BYTES: usize = 8 << 10;

/// Tables a fingerprint names at most (the first ones in the text).
pub const MAX_QUERY_TABLES: usize = 64;

/// The fingerprint of `sql`'s first [`MAX_QUERY_BYTES`] bytes, naming at
/// most [`MAX_QUERY_TABLES`] tables.
pub fn fingerprint(sql: &str) -> Fingerprint {
    let toks = lex(crate::engines::bounded::prefix(sql, MAX_QUERY_BYTES));
    let mut tables = tables(&toks);
    tables.truncate(MAX_QUERY_TABLES);
    Fingerprint {
        text: normalise(&toks),
        tables,
    }
}

fn normalise(toks: &[Tok<'_>]) -> String {
    let mut out = String::with_capacity(64);
    let mut i = 0;
    while i < toks.len() {
        // `( ?, ?, … )` collapses to `(?)` so IN lists of any length agree.
        if toks[i] == Tok::Punct("(") {
            if let Some(end) = literal_list_end(toks, i) {
                push_sep(&mut out, "(");
                out.push_str("(?)");
                i = end;
                continue;
            }
        }
        let call = toks[i] == Tok::Punct("(")
            && i > 0
            && matches!(toks[i - 1], Tok::Word(w) if !is_keyword(w));
        if call {
            out.push('(');
            i += 1;
            continue;
        }
        match toks[i] {
            Tok::Word(w) if is_keyword(w) => push_word(&mut out, &w.to_ascii_uppercase()),
            Tok::Word(w) => push_word(&mut out, &w.to_lowercase()),
            Tok::Quoted(q) => {
                push_sep(&mut out, "\"");
                out.push('"');
                out.push_str(q);
                out.push('"');
            }
            Tok::Literal => push_word(&mut out, "?"),
            Tok::Punct(p) => {
                push_sep(&mut out, p);
                out.push_str(p);
            }
        }
        i += 1;
    }
    out
}

fn literal_list_end(toks: &[Tok<'_>], open: usize) -> Option<usize> {
    let mut j = open + 1;
    let mut n = 0;
    loop {
        if toks.get(j) != Some(&Tok::Literal) {
            return None;
        }
        n += 1;
        j += 1;
        match toks.get(j) {
            Some(Tok::Punct(",")) => j += 1,
            Some(Tok::Punct(")")) if n > 1 => return Some(j + 1),
            _ => return None,
        }
    }
}

fn push_sep(out: &mut String, next: &str) {
    let glue_after = out.ends_with('(') || out.ends_with('.') || out.is_empty();
    let glue_before = matches!(next, ")" | "," | "." | ";");
    if !glue_after && !glue_before {
        out.push(' ');
    }
}

fn push_word(out: &mut String, w: &str) {
    push_sep(out, w);
    out.push_str(w);
}

fn ident(t: Tok<'_>) -> Option<String> {
    match t {
        Tok::Word(w) if !is_keyword(w) => Some(w.to_lowercase()),
        Tok::Quoted(q) => Some(q.replace("\"\"", "\"")),
        _ => None,
    }
}

/// A possibly schema-qualified name starting at `i`: the name and the index after it.
fn qualified(toks: &[Tok<'_>], mut i: usize) -> Option<(String, usize)> {
    let mut name = ident(*toks.get(i)?)?;
    i += 1;
    while toks.get(i) == Some(&Tok::Punct(".")) {
        let Some(part) = toks.get(i + 1).and_then(|t| ident(*t)) else {
            break;
        };
        name.push('.');
        name.push_str(&part);
        i += 2;
    }
    Some((name, i))
}

fn is_kw(t: Option<&Tok<'_>>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

/// Keywords that end a FROM clause at their nesting depth.
const CLAUSE_END: &[&str] = &[
    "where",
    "group",
    "order",
    "limit",
    "having",
    "union",
    "except",
    "intersect",
    "returning",
    "set",
    "values",
    "window",
    "offset",
    "fetch",
    "for",
    "select",
];

fn tables(toks: &[Tok<'_>]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    // Per open paren: is it a function call (where `FROM` is an argument
    // keyword, as in `EXTRACT(YEAR FROM ts)`, not a clause)?
    let mut parens: Vec<bool> = Vec::new();
    // Depths at which a FROM clause is open (so `, t` after `ON …` is a table).
    let mut from_at: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let depth = parens.len();
        let in_call = parens.last().copied().unwrap_or(false);
        match toks[i] {
            Tok::Punct("(") => {
                let prev = i.checked_sub(1).and_then(|p| toks.get(p));
                let call = prev.is_some_and(|t| {
                    matches!(t, Tok::Quoted(_)) || matches!(t, Tok::Word(w) if !is_keyword(w))
                });
                parens.push(call);
            }
            Tok::Punct(")") => {
                from_at.retain(|&d| d < depth);
                parens.pop();
            }
            Tok::Punct(",") if !in_call && from_at.last() == Some(&depth) => {
                i = table_ref(toks, i + 1, true, &mut found);
                continue;
            }
            Tok::Word(w) if !in_call => {
                if w.eq_ignore_ascii_case("from") {
                    from_at.retain(|&d| d < depth);
                    from_at.push(depth);
                    i = table_ref(toks, i + 1, true, &mut found);
                    continue;
                } else if ["join", "update", "into"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
                {
                    i = table_ref(toks, i + 1, false, &mut found);
                    continue;
                } else if CLAUSE_END.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                    from_at.retain(|&d| d < depth);
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Read one table reference at `j` (after FROM, JOIN, UPDATE, INTO or a FROM
/// list comma) into `found`; returns where scanning resumes.
fn table_ref(toks: &[Tok<'_>], mut j: usize, alias: bool, found: &mut Vec<String>) -> usize {
    while is_kw(toks.get(j), "only") || is_kw(toks.get(j), "lateral") {
        j += 1;
    }
    let Some((name, next)) = qualified(toks, j) else {
        return j;
    };
    // A function in FROM (`generate_series(…)`) is not a table; INSERT INTO
    // `t (cols)` is.
    if alias && toks.get(next) == Some(&Tok::Punct("(")) {
        return next;
    }
    if !found.contains(&name) {
        found.push(name);
    }
    j = next;
    if alias {
        if is_kw(toks.get(j), "as") {
            j += 1;
        }
        if toks.get(j).and_then(|t| ident(*t)).is_some() {
            j += 1;
        }
    }
    j
}

pub use super::fingerprinter::{Fingerprinter, QueryId};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn literals_are_normalised() {
        let a = fingerprint("select * from users where id = 42 and name = 'bob'");
        let b = fingerprint("SELECT *\n  FROM Users WHERE id=7 AND name='it''s'");
        assert_eq!(a.text, "SELECT * FROM users WHERE id = ? AND name = ?");
        assert_eq!(a.text, b.text);
        assert_eq!(a.tables, vec!["users"]);
    }

    #[test]
    fn params_dollar_quotes_comments_and_in_lists() {
        let f = fingerprint(
            "/* a /* nested */ c */ SELECT $1, $$x'y$$, $t$ z $t$, E'\\'' -- trailing\n FROM t WHERE id IN (1, 2, 3)",
        );
        assert_eq!(f.text, "SELECT ?, ?, ?, ? FROM t WHERE id IN (?)");
        let h = fingerprint(
            "SELECT id FROM p WHERE to_tsvector(title) @@ q AND a::int <= 3 AND b->>'k' = $1",
        );
        assert_eq!(
            h.text,
            "SELECT id FROM p WHERE to_tsvector(title) @@ q AND a :: int <= ? AND b ->> ? = ?"
        );
        let g = fingerprint("SELECT 1 FROM t WHERE id IN ($1,$2)");
        assert_eq!(g.text, "SELECT ? FROM t WHERE id IN (?)");
    }

    #[test]
    fn tables_of_from_join_update_insert_delete() {
        let f = fingerprint(
            "SELECT * FROM public.orders o JOIN \"Line Items\" li ON li.o = o.id, users AS u \
             LEFT JOIN ONLY accounts ON true",
        );
        assert_eq!(
            f.tables,
            vec!["public.orders", "Line Items", "users", "accounts"]
        );
        assert_eq!(fingerprint("UPDATE carts SET n = 1").tables, vec!["carts"]);
        assert_eq!(
            fingerprint("INSERT INTO events (a) VALUES (1)").tables,
            vec!["events"]
        );
        assert_eq!(
            fingerprint("DELETE FROM sessions WHERE ts < 5").tables,
            vec!["sessions"]
        );
        assert_eq!(
            fingerprint("SELECT * FROM generate_series(1, 3) g, (SELECT 1 FROM x) s").tables,
            vec!["x"]
        );
        assert_eq!(
            fingerprint("SELECT EXTRACT(YEAR FROM ts), a FROM logs WHERE b IN (SELECT c FROM d)")
                .tables,
            vec!["logs", "d"]
        );
        assert_eq!(
            fingerprint("SELECT 1 FROM a WHERE x = 1, y").tables,
            vec!["a"],
            "a comma after WHERE is not a FROM list"
        );
    }

    #[test]
    fn cache_lexes_each_raw_text_once_and_merges_literals() {
        let mut fp = Fingerprinter::new(10);
        let (a, new_a) = fp.id("SELECT * FROM users WHERE id = 1");
        let (b, new_b) = fp.id("SELECT * FROM users WHERE id = 2");
        let (c, new_c) = fp.id("SELECT * FROM users WHERE id = 1");
        assert_eq!((a, b, c), (0, 0, 0));
        assert!(new_a && !new_b && !new_c);
        assert_eq!(fp.len(), 1);
        for i in 0..100 {
            fp.id(&format!("SELECT {i} FROM t"));
        }
        assert!(fp.by_raw.len() <= 10);
        assert_eq!(fp.len(), 2);
    }

    #[test]
    fn a_million_distinct_fingerprints_stay_under_the_caps() {
        let mut fp = Fingerprinter::new(1000).with_max_prints(1000, 1 << 20);
        let mut last = 0;
        for i in 0..1_000_000 {
            let (id, new) = fp.id(&format!("SELECT a FROM t_{i} WHERE id = {i}"));
            assert!(new);
            assert!((id as usize) < 1000);
            last = id;
        }
        assert!(fp.len() <= 1000);
        assert!(fp.approx_bytes() < 2 << 20, "{}", fp.approx_bytes());
        assert!(fp.evicted() >= 999_000);
        assert_eq!(
            fp.get(last).map(|f| f.text.as_str()),
            Some("SELECT a FROM t_999999 WHERE id = ?")
        );
        // The recently used survive a flood of new ones.
        let mut lru = Fingerprinter::new(100).with_max_prints(8, 1 << 20);
        let (hot, _) = lru.id("SELECT 1 FROM hot");
        for i in 0..1000 {
            lru.id(&format!("SELECT 1 FROM t{i}"));
            assert_eq!(lru.id("SELECT 1 FROM hot"), (hot, false));
        }
        // The text budget holds too: long fingerprints evict sooner.
        let mut small = Fingerprinter::new(100).with_max_prints(1000, 64 << 10);
        let columns = "a, ".repeat(300);
        for i in 0..2_000 {
            small.id(&format!("SELECT {columns} FROM t{i}"));
        }
        assert!(small.len() < 100, "{}", small.len());
        assert!(small.approx_bytes() < 200 << 10, "{}", small.approx_bytes());
    }

    #[test]
    fn long_queries_are_cut_and_name_few_tables() {
        let tables: Vec<String> = (0..20_000).map(|i| format!("t{i}")).collect();
        let q = format!("SELECT * FROM {}", tables.join(", "));
        let f = fingerprint(&q);
        assert_eq!(f.tables.len(), MAX_QUERY_TABLES);
        assert!(f.text.len() <= 3 * MAX_QUERY_BYTES, "{}", f.text.len());
        let big = format!("SELECT '{}' FROM users", "x".repeat(1 << 20));
        assert!(fingerprint(&big).text.len() < 64);
    }

    #[test]
    fn unterminated_input_is_fine() {
        for s in [
            "'",
            "E'\\",
            "\"",
            "$a$ x",
            "/* x",
            "SELECT 1e",
            "$",
            "FROM",
            "FROM .",
        ] {
            let _ = fingerprint(s);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,80}") {
            let f = fingerprint(&s);
            prop_assert!(f.text.len() <= s.len() * 4 + 8);
        }

        #[test]
        fn never_panics_on_sqlish_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("SELECT"), Just("FROM"), Just("JOIN"), Just("'"), Just("\""),
                    Just("$$"), Just("$1"), Just("/*"), Just("*/"), Just("--"), Just("\n"),
                    Just("("), Just(")"), Just(","), Just("."), Just("x"), Just("1.5e"),
                    Just("E'"), Just("\\"), Just("é"), Just(" "), Just("INTO"), Just("$t$"),
                ],
                0..40,
            )
        ) {
            let s: String = parts.concat();
            let _ = fingerprint(&s);
        }

        #[test]
        fn literal_values_never_change_the_fingerprint(n in any::<u64>(), s in "[a-z' ]{0,10}") {
            let q1 = format!("SELECT a FROM t WHERE x = {n} AND y = '{}'", s.replace('\'', "''"));
            let q2 = "SELECT a FROM t WHERE x = 0 AND y = ''";
            prop_assert_eq!(fingerprint(&q1).text, fingerprint(q2).text);
        }
    }
}
