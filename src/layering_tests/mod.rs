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

mod lex;

use lex::{Scan, Target, scan};

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

#[cfg(test)]
#[path = "self_tests.rs"]
mod self_tests;
