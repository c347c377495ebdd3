//! Where settings come from: warm rules per context, and mistakes located
//! by the line and key that made them.

use super::*;

#[test]
fn a_warm_rule_is_used_only_in_its_contexts_or_where_its_target_is_watched() {
    let src = r#"
[contexts.staging]
redis = ["redis://cache-s:6379"]
allow_writes = true

[contexts.prod]
redis = ["redis://cache-p:6379"]

[[warm.rules]]
name = "users-prod"
key = "user:${id}"
redis = "redis://cache-p:6379"
postgres = "postgres://app@db/app"
query = "SELECT id, v AS value FROM t WHERE id = ANY($1)"
ttl = 60

[[warm.rules]]
name = "users-staging"
key = "user:${id}"
redis = "redis://cache-s:6379"
postgres = "postgres://app@db/app"
query = "SELECT id, v AS value FROM t WHERE id = ANY($1)"
ttl = 60

[[warm.rules]]
name = "shared"
key = "s:${id}"
redis = "redis://other:6379"
postgres = "postgres://app@db/app"
query = "SELECT id, v AS value FROM t WHERE id = ANY($1)"
ttl = 60
contexts = ["staging"]
"#;
    let names =
        |s: &Settings| -> Vec<String> { s.warm_rules.iter().map(|r| r.name.clone()).collect() };
    let s = settle(&["--context", "staging"], &[], Some(src)).unwrap();
    assert_eq!(names(&s), ["users-staging", "shared"]);
    let (name, why) = &s.warm_rules_elsewhere[0];
    assert_eq!(name, "users-prod");
    assert!(
        why.contains("cache-p:6379") && why.contains("`staging` does not watch"),
        "{why}"
    );
    let s = settle(&["--context", "prod"], &[], Some(src)).unwrap();
    assert_eq!(names(&s), ["users-prod"]);
    assert!(
        s.warm_rules_elsewhere[1]
            .1
            .contains("for contexts staging only")
    );
    // Without a context, flags decide (and writes need --allow-writes).
    let s = settle(
        &["--redis", "redis://x"],
        &[],
        Some(
            src.replace("[contexts.staging]", "[contexts.s]")
                .replace("[contexts.prod]", "[contexts.p]")
                .replace("[\"staging\"]", "[\"s\"]")
                .as_str(),
        ),
    )
    .unwrap();
    assert_eq!(s.warm_rules.len(), 3);
    // A context that does not exist is a mistake with its line.
    let bad = src.replace("contexts = [\"staging\"]", "contexts = [\"stagin\"]");
    let msg =
        crate::config::parse_config(std::path::Path::new("/cfg/config.toml"), &bad, Some(0o600))
            .unwrap_err()
            .to_string();
    assert!(
        msg.contains("line 32") && msg.contains("contexts") && msg.contains("`stagin`"),
        "{msg}"
    );
}

#[test]
fn a_theme_chosen_in_the_file_fails_with_its_line_and_a_missing_key_with_its_table() {
    let src = "theme = \"default\"\n[contexts.a]\nredis = [\"redis://x\"]\ntheme = \"nah\"\n";
    let s = settle(&["--context", "a"], &[], Some(src)).unwrap();
    let msg = s.theme_error("no such theme".into()).to_string();
    assert!(
        msg.contains("line 4") && msg.contains("`contexts.a.theme`"),
        "{msg}"
    );
    let s = settle(&[], &[], Some(src)).unwrap();
    assert!(
        s.theme_error("x".into())
            .to_string()
            .contains("line 1, key `theme`")
    );
    let s = settle(&["--theme", "nah"], &[], Some(src)).unwrap();
    assert!(s.theme_error("x".into()).to_string().starts_with("--theme"));
    // A rule without a ttl: the line of its table.
    let rule = "refresh = 1.0\n\n[[warm.rules]]\nname = \"u\"\nkey = \"u:${id}\"\nredis = \"redis://x\"\npostgres = \"postgres://x@y/z\"\nquery = \"select $1\"\n";
    let msg = crate::config::parse_config(std::path::Path::new("/c.toml"), rule, Some(0o600))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("line 3") && msg.contains("warm.rules[0].ttl"),
        "{msg}"
    );
}

#[test]
fn automatic_warming_is_a_separate_opt_in_that_needs_writes_allowed() {
    let src = r#"
[contexts.auto]
redis = ["redis://cache-a:6379"]
allow_writes = true
auto_warm = true

[contexts.manual]
redis = ["redis://cache-m:6379"]
allow_writes = true

[contexts.locked]
redis = ["redis://cache-l:6379"]
auto_warm = true
"#;
    let on = |args: &[&str]| {
        settle(args, &[], Some(src))
            .map(|s| s.auto_warm)
            .map_err(|e| e.to_string())
    };
    // Writes allowed alone never warms by itself.
    assert_eq!(on(&["--context", "manual"]), Ok(false));
    assert_eq!(on(&["--context", "auto"]), Ok(true));
    assert_eq!(on(&["--context", "manual", "--auto-warm"]), Ok(true));
    // --read-only wins over a context's auto_warm (the header says READ-ONLY).
    assert_eq!(on(&["--context", "auto", "--read-only"]), Ok(false));
    // Asked for where writes are not allowed: refused, saying why.
    let e = on(&["--context", "locked"]).unwrap_err();
    assert!(
        e.contains("context `locked`")
            && e.contains("auto_warm = true")
            && e.contains("allow_writes = true"),
        "{e}"
    );
    assert_eq!(on(&["--context", "locked", "--allow-writes"]), Ok(true));
    let e = settle(&["--auto-warm"], &[("REDIS_URL", "redis://r")], None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--auto-warm") && e.contains("--allow-writes"),
        "{e}"
    );
    // The demo never warms by itself.
    let e = settle(&["--auto-warm"], &[], None).unwrap_err().to_string();
    assert!(e.contains("the demo never warms by itself"), "{e}");
    // Only the console warms by itself: `heliostat warm` and `snapshot` ignore it.
    let s = settle(&["--context", "auto", "snapshot"], &[], Some(src)).unwrap();
    assert!(!s.auto_warm);
    assert!(Cli::try_parse_from(["heliostat", "--read-only", "--auto-warm"]).is_err());
}
