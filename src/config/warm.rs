//! `[[warm.rules]]`: checked when the file loads, each mistake reported
//! with the rule's name, its key and the line.

use serde::Deserialize;

use super::error::ConfigError;
use super::file::ConfigFile;
use super::secrets::{UrlKind, check_url};
use crate::ops::warm::rules::{Rule, RuleSpec};

/// The `[warm]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWarm {
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

/// Check every rule.
pub(crate) fn rules(raw: RawWarm, file: &ConfigFile) -> Result<Vec<Rule>, ConfigError> {
    let mut out: Vec<Rule> = Vec::with_capacity(raw.rules.len());
    for (i, spec) in raw.rules.into_iter().enumerate() {
        let at = format!("[{i}]");
        let name = spec.name.clone();
        let bad = |field: &str, msg: String| {
            file.error_at(
                &["warm", "rules", &at, field],
                format!("rule `{name}`: {msg}"),
            )
        };
        if out.iter().any(|r| r.name == spec.name) {
            return Err(bad("name", "another rule has this name".into()));
        }
        check_url(UrlKind::Redis, &spec.redis).map_err(|m| bad("redis", m))?;
        check_url(UrlKind::Postgres, &spec.postgres).map_err(|m| bad("postgres", m))?;
        out.push(Rule::from_spec(spec).map_err(|(field, msg)| bad(field, msg))?);
    }
    Ok(out)
}
