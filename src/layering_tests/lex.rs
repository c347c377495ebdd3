//! The layering test's scanner: a small Rust lexer (comments, strings and
//! char literals skipped) and the crate-internal paths, external crates
//! and `mod` declarations it finds in a file.

use std::collections::BTreeSet;

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
    Str(String),
    /// Numbers, lifetimes, char literals: nothing a path is made of.
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) line: usize,
}

pub(super) fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

pub(super) fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokens of Rust source, comments (line, nested block, doc) left out;
/// string, raw string, byte and char literals kept as one token each, so
/// `crate::` inside them is never a path.
pub(super) fn lex(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let n = c.len();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < n {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < n && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < n {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if let Some(skip) = string_prefix(&c, i) {
            // `"…"`, `b"…"`, `c"…"`, `r#"…"#`, `br"…"`.
            let start_line = line;
            let mut j = i + skip;
            let raw = c[i..j].contains(&'r');
            let hashes = c[i..j].iter().filter(|&&x| x == '#').count();
            let mut text = String::new();
            // `j` is at the opening quote.
            j += 1;
            while j < n {
                if c[j] == '\n' {
                    line += 1;
                }
                if !raw && c[j] == '\\' {
                    text.push(c[j]);
                    text.push(at(j + 1));
                    if at(j + 1) == '\n' {
                        line += 1;
                    }
                    j += 2;
                    continue;
                }
                if c[j] == '"' && (0..hashes).all(|k| at(j + 1 + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                text.push(c[j]);
                j += 1;
            }
            out.push(Token {
                tok: Tok::Str(text),
                line: start_line,
            });
            i = j;
        } else if ch == '\'' || (ch == 'b' && at(i + 1) == '\'') {
            // A char literal (`'{'`, `'\''`, `b'x'`) or a lifetime / label.
            let q = if ch == 'b' { i + 1 } else { i };
            if at(q + 1) == '\\' {
                let mut j = q + 2;
                while j < n && c[j] != '\'' {
                    j += if c[j] == '\\' { 2 } else { 1 };
                }
                i = j + 1;
            } else if at(q + 2) == '\'' {
                i = q + 3;
            } else {
                let mut j = q + 1;
                while j < n && is_ident_char(c[j]) {
                    j += 1;
                }
                i = j;
            }
            out.push(Token {
                tok: Tok::Other,
                line,
            });
        } else if is_ident_start(ch) {
            let mut j = i;
            if ch == 'r' && at(i + 1) == '#' && is_ident_start(at(i + 2)) {
                j += 2;
            }
            let s = j;
            while j < n && is_ident_char(c[j]) {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Ident(c[s..j].iter().collect()),
                line,
            });
            i = j;
        } else if ch.is_ascii_digit() {
            let mut j = i;
            while j < n && (is_ident_char(c[j]) || (c[j] == '.' && at(j + 1).is_ascii_digit())) {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Other,
                line,
            });
            i = j;
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    out
}

/// How many characters before the opening quote, if a string literal
/// starts at `i` (`"`, `b"`, `c"`, `r"`, `r#"`, `br#"`, `cr"`).
pub(super) fn string_prefix(c: &[char], i: usize) -> Option<usize> {
    if i > 0 && is_ident_char(c[i - 1]) {
        return None;
    }
    let mut j = i;
    if matches!(c.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if c.get(j) == Some(&'r') {
        j += 1;
        while c.get(j) == Some(&'#') {
            j += 1;
        }
    }
    (c.get(j) == Some(&'"')).then_some(j - i)
}

// ---------------------------------------------------------------- scanning

/// One path found in a file.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Target {
    /// A path in the crate, absolute (`["sources", "redis", "wall_now"]`).
    Crate(Vec<String>),
    /// An external crate by name.
    Extern(String),
}

#[derive(Debug, Clone)]
pub(super) struct Use {
    pub(super) line: usize,
    /// The module the path is written in (inline modules included).
    pub(super) from: Vec<String>,
    pub(super) test: bool,
    pub(super) target: Target,
}

/// A `mod name;` declaration.
#[derive(Debug, Clone)]
pub(super) struct ModDecl {
    pub(super) name: String,
    pub(super) path_attr: Option<String>,
    /// Inline modules it is declared in, inside its file.
    pub(super) inline: Vec<String>,
    pub(super) test: bool,
}

#[derive(Debug, Default)]
pub(super) struct Scan {
    pub(super) uses: Vec<Use>,
    pub(super) mods: Vec<ModDecl>,
}

pub(super) fn ident(t: &Token) -> Option<&str> {
    match &t.tok {
        Tok::Ident(s) => Some(s),
        _ => None,
    }
}

pub(super) fn punct(t: Option<&Token>, p: char) -> bool {
    t.is_some_and(|t| t.tok == Tok::Punct(p))
}

pub(super) fn sep(t: Option<&Token>) -> bool {
    t.is_some_and(|t| t.tok == Tok::PathSep)
}

/// Which tokens belong to `#[cfg(test)]` items (and everything, for a
/// `#![cfg(test)]` file).
pub(super) fn test_mask(toks: &[Token]) -> Vec<bool> {
    let mut mask = vec![false; toks.len()];
    let is_cfg_test = |i: usize| {
        let words: Vec<&Tok> = toks[i..].iter().take(6).map(|t| &t.tok).collect();
        words
            == [
                &Tok::Punct('['),
                &Tok::Ident("cfg".into()),
                &Tok::Punct('('),
                &Tok::Ident("test".into()),
                &Tok::Punct(')'),
                &Tok::Punct(']'),
            ]
    };
    let mut i = 0;
    while i < toks.len() {
        if punct(toks.get(i), '#') && punct(toks.get(i + 1), '!') && is_cfg_test(i + 2) {
            return vec![true; toks.len()];
        }
        if punct(toks.get(i), '#') && is_cfg_test(i + 1) {
            let end = item_end(toks, i + 7);
            for m in &mut mask[i..=end.min(toks.len() - 1)] {
                *m = true;
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    mask
}

/// The last token of the item starting at `i` (after its attributes).
pub(super) fn item_end(toks: &[Token], mut i: usize) -> usize {
    // Further attributes.
    while punct(toks.get(i), '#') && punct(toks.get(i + 1), '[') {
        let mut depth = 0;
        i += 1;
        while i < toks.len() {
            match toks[i].tok {
                Tok::Punct('[') => depth += 1,
                Tok::Punct(']') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    // The item's keyword, after `pub`, `pub(…)`, `async`, `unsafe`.
    let mut k = i;
    if toks.get(k).and_then(ident) == Some("pub") {
        k += 1;
        if punct(toks.get(k), '(') {
            while k < toks.len() && !punct(toks.get(k), ')') {
                k += 1;
            }
            k += 1;
        }
    }
    while matches!(toks.get(k).and_then(ident), Some("async" | "unsafe")) {
        k += 1;
    }
    let semicolon_item = matches!(
        toks.get(k).and_then(ident),
        Some("use" | "const" | "static" | "type" | "let" | "extern")
    );
    let mut depth = 0i32;
    while i < toks.len() {
        match toks[i].tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']') => depth -= 1,
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 && !semicolon_item {
                    return i;
                }
            }
            Tok::Punct(';') if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    toks.len().saturating_sub(1)
}

/// The paths of a use tree or path expression starting at `i` (just after
/// `crate::` or the last `super::`), each prefixed with `base`.
pub(super) fn path_tree(
    toks: &[Token],
    mut i: usize,
    base: &[String],
    out: &mut Vec<Vec<String>>,
) -> usize {
    let mut path = base.to_vec();
    loop {
        match toks.get(i).map(|t| &t.tok) {
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                i += 1;
                if sep(toks.get(i)) {
                    i += 1;
                    continue;
                }
                out.push(path);
                return i;
            }
            Some(Tok::Punct('*')) => {
                path.push("*".into());
                out.push(path);
                return i + 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    if punct(toks.get(i), '}') || i >= toks.len() {
                        return i + 1;
                    }
                    i = path_tree(toks, i, &path, out);
                    // `as name`, and anything else up to the item's end.
                    let mut depth = 0;
                    while let Some(t) = toks.get(i) {
                        match t.tok {
                            Tok::Punct('{') => depth += 1,
                            Tok::Punct('}') if depth == 0 => break,
                            Tok::Punct('}') => depth -= 1,
                            Tok::Punct(',') if depth == 0 => {
                                i += 1;
                                break;
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                }
            }
            _ => {
                if path.len() > base.len() || !base.is_empty() {
                    out.push(path);
                }
                return i;
            }
        }
    }
}

/// Paths and `mod` declarations of one file whose module is `module`;
/// `crates` are the external crates' names.
pub(super) fn scan(
    src: &str,
    module: &[String],
    crates: &BTreeSet<String>,
) -> Result<Scan, String> {
    let toks = lex(src);
    let test = test_mask(&toks);
    let mut scan = Scan::default();
    // Open braces: `Some(name)` for an inline module's.
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut pending_mod: Option<String> = None;
    let here = |stack: &[Option<String>]| {
        let mut m = module.to_vec();
        m.extend(stack.iter().flatten().cloned());
        m
    };
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        let after_sep = sep(prev);
        let after_dollar = punct(prev, '$');
        match &t.tok {
            Tok::Punct('{') => {
                stack.push(pending_mod.take());
            }
            Tok::Punct('}') => {
                stack.pop();
            }
            Tok::Punct(';') => pending_mod = None,
            Tok::Ident(w) if w == "mod" && !after_sep => {
                if let Some(name) = toks.get(i + 1).and_then(ident) {
                    if punct(toks.get(i + 2), ';') {
                        scan.mods.push(ModDecl {
                            name: name.to_string(),
                            path_attr: path_attr(&toks, i),
                            inline: stack.iter().flatten().cloned().collect(),
                            test: test[i],
                        });
                    } else if punct(toks.get(i + 2), '{') {
                        pending_mod = Some(name.to_string());
                    }
                }
            }
            Tok::Ident(w)
                if w == "crate" && !after_sep && !after_dollar && sep(toks.get(i + 1)) =>
            {
                let mut paths = Vec::new();
                let is_test = test[i];
                i = path_tree(&toks, i + 2, &[], &mut paths);
                for p in paths {
                    scan.uses.push(Use {
                        line: t.line,
                        from: here(&stack),
                        test: is_test,
                        target: Target::Crate(p),
                    });
                }
                continue;
            }
            Tok::Ident(w) if w == "super" && !after_sep && sep(toks.get(i + 1)) => {
                let mut base = here(&stack);
                let mut j = i;
                while toks.get(j).and_then(ident) == Some("super") && sep(toks.get(j + 1)) {
                    if base.pop().is_none() {
                        return Err(format!("line {}: `super` above the crate root", t.line));
                    }
                    j += 2;
                }
                let mut paths = Vec::new();
                i = path_tree(&toks, j, &base, &mut paths);
                for p in paths {
                    scan.uses.push(Use {
                        line: t.line,
                        from: here(&stack),
                        test: test[j.saturating_sub(1)],
                        target: Target::Crate(p),
                    });
                }
                continue;
            }
            Tok::Ident(w) if !after_sep && sep(toks.get(i + 1)) && crates.contains(w.as_str()) => {
                scan.uses.push(Use {
                    line: t.line,
                    from: here(&stack),
                    test: test[i],
                    target: Target::Extern(w.clone()),
                });
            }
            _ => {}
        }
        i += 1;
    }
    Ok(scan)
}

/// The `#[path = "…"]` among the attributes of the `mod` at token `at`.
pub(super) fn path_attr(toks: &[Token], at: usize) -> Option<String> {
    let mut j = at;
    // `pub(crate)`, `pub(in …)`, then `pub`.
    if j > 0 && punct(toks.get(j - 1), ')') {
        while j > 0 && !punct(toks.get(j - 1), '(') {
            j -= 1;
        }
        j = j.saturating_sub(1);
    }
    if j > 0 && toks.get(j - 1).and_then(ident) == Some("pub") {
        j -= 1;
    }
    let mut found = None;
    while j > 1 && punct(toks.get(j - 1), ']') {
        let end = j - 1;
        let mut k = end;
        while k > 0 && !(punct(toks.get(k), '[') && punct(toks.get(k - 1), '#')) {
            k -= 1;
        }
        if let [name, eq, value] = &toks[(k + 1).min(end)..end]
            && ident(name) == Some("path")
            && eq.tok == Tok::Punct('=')
            && let Tok::Str(s) = &value.tok
        {
            found = Some(s.clone());
        }
        j = k.saturating_sub(1);
    }
    found
}
