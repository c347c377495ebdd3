//! The layering of `src/`, checked: every `.rs` file of the library is read
//! (the module tree followed from `lib.rs`, `#[path]` included), its
//! crate-internal paths (`crate::…`, `use crate::{…}` groups, `super::`
//! paths that climb out of a top-level module) and external crates found
//! by a small lexer that skips comments, strings and char literals, and the
//! rules of docs/ARCHITECTURE.md ("Layering") applied:
//!
//! - a top-level module imports only modules of its own layer or below
//!   (`LAYERS`), and the top-level modules import each other without a
//!   cycle (test code excepted: nothing imports a test);
//! - `engines` imports nothing else from the crate and only the external
//!   crates of `ENGINES_CRATES` (tests also `ENGINES_TEST_CRATES`);
//! - `ui` imports neither `sources` nor `ops`;
//! - a leaf imports nothing from the crate;
//! - inside `sources`, `ops` and `engines` the sub-modules import each other
//!   without a cycle.
//!
//! `EXCEPTIONS` lists the accepted edges, each with its reason.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The layers, bottom first: a module may import modules of its own layer
/// (without a cycle) or of a lower one.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &["text", "files", "redact", "units", "fault", "sort"],
    ),
    ("engines", &["engines"]),
    ("sample", &["sample"]),
    ("sources", &["sources"]),
    ("ops", &["ops"]),
    (
        "interface",
        &["action", "cli", "keymap", "theme", "terminal", "export"],
    ),
    ("config", &["config"]),
    ("app", &["app"]),
    ("ui", &["ui", "snapshot"]),
];

/// Modules that import nothing from the crate.
const LEAVES: &[&str] = &["text", "files", "redact", "units", "fault", "sort"];

/// External crates `engines` may use. The engines are pure state machines
/// fed samples with `now` as a parameter: no runtime or timers (`tokio`,
/// `futures_util`), no clock (`chrono`), no servers or URLs (`redis`,
/// `sqlx`, `rustls`, `url`), no terminal (`ratatui`, `crossterm`, or the
/// display width of `unicode_segmentation`, which is the UI's business),
/// and no logging (`tracing`: what an engine decides is in its return
/// values, so it stays deterministic and silent in benches).
const ENGINES_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "serde",
    "thiserror",
    "rustc_hash",
    "xxhash_rust",
];

/// External crates `engines`' tests may use besides.
const ENGINES_TEST_CRATES: &[&str] = &["proptest", "rand", "rand_distr"];

/// Accepted edges that break a layer rule: (file, imported top-level
/// module, why).
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "src/app/run.rs",
        "ui",
        "the live loop draws frames (ui::render); it sits above ui but lives \
         in app until the pane restructure of issue 15 moves it out",
    ),
    (
        "src/app/run.rs",
        "snapshot",
        "the live loop saves the screen on `S` (snapshot::render_buffer); \
         same as its ui edge",
    ),
];

/// Top-level modules whose sub-modules must not import each other in a
/// cycle.
const ACYCLIC_INSIDE: &[&str] = &["sources", "ops", "engines"];

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
    Str(String),
    /// Numbers, lifetimes, char literals: nothing a path is made of.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokens of Rust source, comments (line, nested block, doc) left out;
/// string, raw string, byte and char literals kept as one token each, so
/// `crate::` inside them is never a path.
fn lex(src: &str) -> Vec<Token> {
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
fn string_prefix(c: &[char], i: usize) -> Option<usize> {
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
enum Target {
    /// A path in the crate, absolute (`["sources", "redis", "wall_now"]`).
    Crate(Vec<String>),
    /// An external crate by name.
    Extern(String),
}

#[derive(Debug, Clone)]
struct Use {
    line: usize,
    /// The module the path is written in (inline modules included).
    from: Vec<String>,
    test: bool,
    target: Target,
}

/// A `mod name;` declaration.
#[derive(Debug, Clone)]
struct ModDecl {
    name: String,
    path_attr: Option<String>,
    /// Inline modules it is declared in, inside its file.
    inline: Vec<String>,
    test: bool,
}

#[derive(Debug, Default)]
struct Scan {
    uses: Vec<Use>,
    mods: Vec<ModDecl>,
}

fn ident(t: &Token) -> Option<&str> {
    match &t.tok {
        Tok::Ident(s) => Some(s),
        _ => None,
    }
}

fn punct(t: Option<&Token>, p: char) -> bool {
    t.is_some_and(|t| t.tok == Tok::Punct(p))
}

fn sep(t: Option<&Token>) -> bool {
    t.is_some_and(|t| t.tok == Tok::PathSep)
}

/// Which tokens belong to `#[cfg(test)]` items (and everything, for a
/// `#![cfg(test)]` file).
fn test_mask(toks: &[Token]) -> Vec<bool> {
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
fn item_end(toks: &[Token], mut i: usize) -> usize {
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
fn path_tree(toks: &[Token], mut i: usize, base: &[String], out: &mut Vec<Vec<String>>) -> usize {
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
fn scan(src: &str, module: &[String], crates: &BTreeSet<String>) -> Result<Scan, String> {
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
fn path_attr(toks: &[Token], at: usize) -> Option<String> {
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

// ---------------------------------------------------------------- the tree

/// A file of the library and its place in the module tree.
#[derive(Debug)]
struct SrcFile {
    /// Relative to the package (`src/app/run.rs`).
    rel: String,
    module: Vec<String>,
    /// Declared under `#[cfg(test)]` (itself or an ancestor).
    test: bool,
    scan: Scan,
}

/// Names of the package's dependencies (`-` as `_`), from Cargo.toml.
fn dependency_names(cargo_toml: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_deps = false;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[') {
            let section = section.trim_end_matches(']');
            in_deps = section.ends_with("dependencies");
            if let Some(name) = section.rsplit_once("dependencies.").map(|(_, name)| name) {
                names.insert(name.replace('-', "_"));
            }
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.insert(name.replace('-', "_"));
            }
        }
    }
    names
}

/// Every file reached from `src/<root>` through `mod` declarations.
fn module_tree(pkg: &Path, root: &str, crates: &BTreeSet<String>) -> Result<Vec<SrcFile>, String> {
    let mut files = Vec::new();
    let mut todo = vec![(pkg.join("src").join(root), Vec::<String>::new(), false)];
    while let Some((path, module, test)) = todo.pop() {
        let rel = path
            .strip_prefix(pkg)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let src = std::fs::read_to_string(&path).map_err(|e| format!("{rel}: {e}"))?;
        let scan = scan(&src, &module, crates).map_err(|e| format!("{rel}: {e}"))?;
        let dir = path.parent().unwrap_or(pkg).to_path_buf();
        let mod_rs = matches!(
            path.file_name().and_then(|f| f.to_str()),
            Some("mod.rs" | "lib.rs" | "main.rs")
        );
        let children_dir = if mod_rs {
            dir.clone()
        } else {
            dir.join(path.file_stem().unwrap_or_default())
        };
        for decl in &scan.mods {
            let mut child_module = module.clone();
            child_module.extend(decl.inline.iter().cloned());
            child_module.push(decl.name.clone());
            let child = match &decl.path_attr {
                Some(p) => dir.join(p),
                None => {
                    let mut base: PathBuf = children_dir.clone();
                    for m in &decl.inline {
                        base.push(m);
                    }
                    let flat = base.join(format!("{}.rs", decl.name));
                    if flat.exists() {
                        flat
                    } else {
                        base.join(&decl.name).join("mod.rs")
                    }
                }
            };
            todo.push((child, child_module, test || decl.test));
        }
        files.push(SrcFile {
            rel,
            module,
            test,
            scan,
        });
    }
    Ok(files)
}

// ---------------------------------------------------------------- the rules

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

fn excepted(rel: &str, to: &str) -> bool {
    EXCEPTIONS.iter().any(|(f, t, _)| *f == rel && *t == to)
}

/// A cycle in `edges` (module → modules), as its modules in order.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node.as_str()) {
            let mut path = Vec::new();
            if let Some(c) = visit(node, edges, &mut state, &mut path) {
                return Some(c);
            }
        }
    }
    None
}

/// Every broken rule, one line each: file, line, the forbidden edge, why.
fn violations(files: &[SrcFile]) -> Vec<String> {
    let mut out = Vec::new();
    // (level prefix, from, to) → an example "file:line".
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut inner: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut example: BTreeMap<(String, String), String> = BTreeMap::new();
    for f in files {
        for u in &f.scan.uses {
            let Some(from) = u.from.first() else {
                continue;
            };
            let test = f.test || u.test;
            let at = format!("{}:{}", f.rel, u.line);
            match &u.target {
                Target::Extern(name) => {
                    if from == "engines"
                        && !ENGINES_CRATES.contains(&name.as_str())
                        && !(test && ENGINES_TEST_CRATES.contains(&name.as_str()))
                    {
                        out.push(format!(
                            "{at}: engines -> crate `{name}`: engines may use only {ENGINES_CRATES:?} \
                             (tests also {ENGINES_TEST_CRATES:?})"
                        ));
                    }
                }
                Target::Crate(path) => {
                    let Some(to) = path.first() else { continue };
                    if to == from {
                        if ACYCLIC_INSIDE.contains(&from.as_str())
                            && !test
                            && let (Some(a), Some(b)) = (u.from.get(1), path.get(1))
                            && a != b
                        {
                            let (a, b) = (format!("{from}::{a}"), format!("{from}::{b}"));
                            example.entry((a.clone(), b.clone())).or_insert(at);
                            inner.entry(a).or_default().insert(b);
                        }
                        continue;
                    }
                    let edge = format!("{from} -> {to} (`crate::{}`)", path.join("::"));
                    if LEAVES.contains(&from.as_str()) {
                        out.push(format!(
                            "{at}: {edge}: a leaf imports nothing from the crate"
                        ));
                        continue;
                    }
                    if from == "engines" {
                        out.push(format!(
                            "{at}: {edge}: engines import nothing outside engines"
                        ));
                        continue;
                    }
                    if from == "ui" && (to == "sources" || to == "ops") {
                        out.push(format!(
                            "{at}: {edge}: ui renders from app state, never from sources or ops"
                        ));
                        continue;
                    }
                    if test || excepted(&f.rel, to) {
                        continue;
                    }
                    match (layer_of(from), layer_of(to)) {
                        (None, _) => out.push(format!(
                            "{at}: top-level module `{from}` is in no layer: add it to LAYERS \
                             and to docs/ARCHITECTURE.md"
                        )),
                        (_, None) => out.push(format!(
                            "{at}: {edge}: `{to}` is in no layer (or no module): add it to LAYERS"
                        )),
                        (Some(a), Some(b)) if b > a => out.push(format!(
                            "{at}: {edge}: layer `{}` imports the higher layer `{}`",
                            LAYERS[a].0, LAYERS[b].0
                        )),
                        _ => {
                            example.entry((from.clone(), to.clone())).or_insert(at);
                            top.entry(from.clone()).or_default().insert(to.clone());
                        }
                    }
                }
            }
        }
    }
    for edges in [&top, &inner] {
        if let Some(cycle) = find_cycle(edges) {
            let mut msg = String::from("import cycle:");
            for pair in cycle.windows(2) {
                let at = example
                    .get(&(pair[0].clone(), pair[1].clone()))
                    .map_or("?", String::as_str);
                let _ = write!(msg, " {} -> {} ({at});", pair[0], pair[1]);
            }
            out.push(msg);
        }
    }
    out
}

fn package() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn crates() -> BTreeSet<String> {
    let toml = std::fs::read_to_string(package().join("Cargo.toml")).unwrap_or_default();
    let mut names = dependency_names(&toml);
    names.extend(["std", "core", "alloc"].map(String::from));
    names
}

#[test]
fn the_layers_hold() {
    let pkg = package();
    let crates = crates();
    assert!(
        crates.contains("tokio") && crates.contains("serde"),
        "Cargo.toml's dependencies were not read: {crates:?}"
    );
    let lib = module_tree(&pkg, "lib.rs", &crates).unwrap();
    let bin = module_tree(&pkg, "main.rs", &crates).unwrap();

    // Every file is part of the library or the binary: none is skipped.
    let known: BTreeSet<&str> = lib.iter().chain(&bin).map(|f| f.rel.as_str()).collect();
    let mut stray = Vec::new();
    let mut dirs = vec![pkg.join("src")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(&pkg).unwrap().to_string_lossy().into_owned();
                if !known.contains(rel.as_str()) {
                    stray.push(rel);
                }
            }
        }
    }
    assert!(stray.is_empty(), "files in no module tree: {stray:?}");
    assert!(lib.len() > 100, "only {} library files found", lib.len());

    // Every layer's modules exist, and every top-level module has a layer.
    let tops: BTreeSet<&str> = lib
        .iter()
        .filter_map(|f| f.module.first().map(String::as_str))
        .collect();
    for (_, ms) in LAYERS {
        for m in *ms {
            assert!(tops.contains(m), "LAYERS names `{m}`, which is no module");
        }
    }
    for (file, to, _) in EXCEPTIONS {
        assert!(
            lib.iter().any(|f| f.rel == *file
                && f.scan.uses.iter().any(|u| matches!(
                    &u.target,
                    Target::Crate(p) if p.first().map(String::as_str) == Some(*to)
                ))),
            "the exception {file} -> {to} is no longer needed: remove it"
        );
    }

    let v = violations(&lib);
    assert!(v.is_empty(), "layering broken:\n{}", v.join("\n"));
}

// ---------------------------------------------------------------- self-tests

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn crate_targets(scan: &Scan) -> Vec<(usize, String, bool)> {
    scan.uses
        .iter()
        .filter_map(|u| match &u.target {
            Target::Crate(p) => Some((u.line, p.join("::"), u.test)),
            Target::Extern(_) => None,
        })
        .collect()
}

const SAMPLE: &str = r##"//! crate::app in a doc comment
use crate::{
    engines::Timestamp, // crate::ui in a comment
    sample::{Body, Sample as S},
};
fn f() {
    let s = "crate::ops \" crate::cli";
    let c = '{';
    let q = '\'';
    let r = r#"crate::sources "quoted" "#;
    let l: &'static str = crate::units::si(1.0);
}
/* crate::config /* nested */ crate::cli */
mod inner {
    use super::super::config::X;
    use super::helper;
}
macro_rules! m { () => { $crate::ignored::X } }
#[cfg(test)]
mod tests {
    use crate::app::State;
    use tokio::time;
}
#[cfg(test)]
use crate::theme::{A, B};
pub(crate) fn g() -> tracing::Level { crate::redact::url() }
"##;

#[test]
fn the_scanner_finds_paths_and_skips_comments_and_strings() {
    let crates: BTreeSet<String> = names(&["tokio", "tracing", "serde"]).into_iter().collect();
    let s = scan(SAMPLE, &names(&["engines", "keyevents"]), &crates).unwrap();
    assert_eq!(
        crate_targets(&s),
        vec![
            (2, "engines::Timestamp".into(), false),
            (2, "sample::Body".into(), false),
            (2, "sample::Sample".into(), false),
            (11, "units::si".into(), false),
            (15, "engines::config::X".into(), false),
            (16, "engines::keyevents::helper".into(), false),
            (21, "app::State".into(), true),
            (25, "theme::A".into(), true),
            (25, "theme::B".into(), true),
            (26, "redact::url".into(), false),
        ]
    );
    let externs: Vec<(usize, String, bool)> = s
        .uses
        .iter()
        .filter_map(|u| match &u.target {
            Target::Extern(n) => Some((u.line, n.clone(), u.test)),
            Target::Crate(_) => None,
        })
        .collect();
    assert_eq!(
        externs,
        vec![(22, "tokio".into(), true), (26, "tracing".into(), false)]
    );
    // From a top-level module, `super::super` climbs to the root.
    let s = scan(
        "mod a { use super::super::ops::X; }",
        &names(&["ui"]),
        &crates,
    )
    .unwrap();
    assert_eq!(crate_targets(&s), vec![(1, "ops::X".into(), false)]);
    assert!(scan("use super::super::x;", &names(&["ui"]), &crates).is_err());
}

#[test]
fn mod_declarations_are_found_with_their_paths() {
    let src =
        "pub mod a;\n#[cfg(test)]\n#[path = \"b_tests.rs\"]\nmod b;\nmod c { pub(crate) mod d; }\n";
    let s = scan(src, &[], &BTreeSet::new()).unwrap();
    let got: Vec<(String, Option<String>, Vec<String>, bool)> = s
        .mods
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                m.path_attr.clone(),
                m.inline.clone(),
                m.test,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".into(), None, vec![], false),
            ("b".into(), Some("b_tests.rs".into()), vec![], true),
            ("d".into(), None, names(&["c"]), false),
        ]
    );
}

fn fake(rel: &str, module: &[&str], src: &str) -> SrcFile {
    let crates: BTreeSet<String> = names(&["tokio", "serde", "proptest"]).into_iter().collect();
    SrcFile {
        rel: rel.into(),
        module: names(module),
        test: false,
        scan: scan(src, &names(module), &crates).unwrap(),
    }
}

#[test]
fn each_rule_fails_on_a_forbidden_edge() {
    let cases = [
        (
            fake(
                "src/engines/a.rs",
                &["engines", "a"],
                "use crate::sample::X;",
            ),
            "src/engines/a.rs:1: engines -> sample",
        ),
        (
            fake(
                "src/engines/b.rs",
                &["engines", "b"],
                "\n\nfn f() { tokio::spawn(); }",
            ),
            "src/engines/b.rs:3: engines -> crate `tokio`",
        ),
        (
            fake(
                "src/ui/p.rs",
                &["ui", "p"],
                "use crate::{app::State,\n ops::warm};",
            ),
            "src/ui/p.rs:1: ui -> ops",
        ),
        (
            fake("src/units.rs", &["units"], "fn f() { crate::engines::x() }"),
            "src/units.rs:1: units -> engines (`crate::engines::x`): a leaf",
        ),
        (
            fake(
                "src/sources/a.rs",
                &["sources", "a"],
                "use crate::config::Thing;",
            ),
            "src/sources/a.rs:1: sources -> config (`crate::config::Thing`): layer `sources` imports the higher layer `config`",
        ),
        (
            fake("src/newmod.rs", &["newmod"], "use crate::engines::X;"),
            "top-level module `newmod` is in no layer",
        ),
    ];
    for (file, expected) in cases {
        let v = violations(std::slice::from_ref(&file));
        assert!(
            v.iter().any(|m| m.contains(expected)),
            "expected `{expected}` in {v:?}"
        );
    }
    // Allowed: engines' own modules, serde, proptest in a test; a lower
    // layer; a test importing upwards.
    let ok = [
        fake(
            "src/engines/c.rs",
            &["engines", "c"],
            "use super::Timestamp; use serde::Serialize;\n#[cfg(test)] mod t { use proptest::x; }",
        ),
        fake(
            "src/app/x.rs",
            &["app", "x"],
            "use crate::{engines::X, sources::Y};",
        ),
        fake(
            "src/sources/t.rs",
            &["sources", "t"],
            "#[cfg(test)]\nmod t { use crate::app::S; }",
        ),
    ];
    assert_eq!(violations(&ok), Vec::<String>::new());
}

#[test]
fn cycles_are_found_in_a_layer_and_inside_a_module() {
    let files = [
        fake("src/action.rs", &["action"], "use crate::cli::X;"),
        fake("src/cli.rs", &["cli"], "use crate::action::Y;"),
    ];
    let v = violations(&files);
    assert!(
        v.iter().any(|m| m.starts_with("import cycle:")
            && m.contains("action -> cli (src/action.rs:1)")
            && m.contains("cli -> action (src/cli.rs:1)")),
        "{v:?}"
    );
    let files = [
        fake(
            "src/ops/sink/sql.rs",
            &["ops", "sink", "sql"],
            "use crate::ops::warm::Report;",
        ),
        fake(
            "src/ops/warm/console.rs",
            &["ops", "warm", "console"],
            "use super::super::sink::Rec;",
        ),
    ];
    let v = violations(&files);
    assert!(
        v.iter()
            .any(|m| m.contains("ops::sink -> ops::warm (src/ops/sink/sql.rs:1)")),
        "{v:?}"
    );
}

#[test]
fn dependency_names_come_from_every_dependency_table() {
    let toml = "[package]\nname = \"x\"\n[dependencies]\nrustc-hash = \"2\"\nserde = { version = \"1\" }\n# comment = 1\n[dev-dependencies]\nproptest = \"1\"\n[dependencies.tokio]\nversion = \"1\"\n[profile.release]\nlto = true\n";
    let got: Vec<String> = dependency_names(toml).into_iter().collect();
    assert_eq!(got, names(&["proptest", "rustc_hash", "serde", "tokio"]));
}
