//! The layering test's own tests: the scanner and each rule on inline
//! sources, so the test can fail.

use super::lex::*;
use super::*;

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
