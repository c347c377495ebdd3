//! `[[warm.rules]]`: checked when the file loads, each mistake reported
//! with the rule's name, its key and the line.

use serde::Deserialize;

use super::error::ConfigError;
use super::file::{ConfigFile, ContextConfig};
use super::secrets::{UrlKind, check_url};
use crate::ops::warm::rules::{Rule, RuleSpec};
use crate::sources::redis::display_name;

/// The `[warm]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWarm {
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

/// Why `rule` may not be used in context `name` (`None`: it may). A rule
/// that names its contexts is used only in those; one that does not, only
/// where the context watches the server it writes to, so a rule for one
/// environment never writes into another's Redis from the wrong context.
pub(crate) fn not_for_context(rule: &Rule, name: &str, ctx: &ContextConfig) -> Option<String> {
    if !rule.contexts.is_empty() {
        return (!rule.contexts.iter().any(|c| c == name)).then(|| {
            format!(
                "rule `{}` is for contexts {} only, not `{name}`",
                rule.name,
                rule.contexts.join(", ")
            )
        });
    }
    let target = display_name(&rule.redis);
    if ctx.redis.iter().any(|u| display_name(u) == target) {
        return None;
    }
    Some(format!(
        "rule `{}` writes to {target}, which context `{name}` does not watch; \
         add contexts = [\"{name}\"] to the rule to use it here",
        rule.name
    ))
}

/// Whether the console warms by itself: `--auto-warm` or the context's
/// `auto_warm = true`, and never without writes allowed. Asked for where
/// writes are not allowed, it is refused with the reason (unless
/// `--read-only` was given: that always wins, and says so on screen). The
/// demo never warms by itself; only the console (no subcommand) warms at
/// all.
pub(crate) fn auto_warm(
    cli: &crate::cli::Cli,
    demo: bool,
    ctx: Option<(&str, &ContextConfig)>,
    writes_allowed: bool,
) -> Result<bool, ConfigError> {
    let by_ctx = ctx.filter(|(_, c)| c.auto_warm == Some(true));
    if cli.command.is_some() || !(cli.auto_warm || by_ctx.is_some()) {
        return Ok(false);
    }
    let arg = |m: &str| ConfigError::Arg {
        origin: "--auto-warm".into(),
        message: m.into(),
    };
    if demo {
        return match cli.auto_warm {
            true => Err(arg(
                "the demo never warms by itself (its jobs start on y); --auto-warm is for live servers",
            )),
            false => Ok(false),
        };
    }
    if writes_allowed || cli.read_only {
        return Ok(writes_allowed);
    }
    let why = "automatic warming writes to Redis by itself, so it needs writes allowed";
    match (cli.auto_warm, by_ctx) {
        (true, _) => Err(arg(&format!(
            "{why}: add --allow-writes (or use a context with allow_writes = true)"
        ))),
        (false, Some((name, _))) => Err(ConfigError::Arg {
            origin: format!("context `{name}`"),
            message: format!(
                "auto_warm = true, but {why}: set allow_writes = true in it, or start with --allow-writes"
            ),
        }),
        (false, None) => Ok(false),
    }
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
        if let Some(c) = spec
            .contexts
            .iter()
            .find(|c| !file.contexts.contains_key(*c))
        {
            let known = file.context_names().join(", ");
            return Err(bad(
                "contexts",
                format!("context `{c}` is not defined (defined: {known})"),
            ));
        }
        out.push(Rule::from_spec(spec).map_err(|(field, msg)| bad(field, msg))?);
    }
    Ok(out)
}
