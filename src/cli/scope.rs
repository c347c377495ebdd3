//! Which global options a subcommand takes. The console's options are
//! global so they may come before or after a subcommand's name, but most do
//! not apply to every subcommand: those are left out of its `--help` and
//! refused on its command line, instead of being accepted and ignored.

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::Cli;

/// Global options (by id) that do not apply to a subcommand.
const NOT_FOR: &[(&str, &[&str])] = &[
    // A frame of the demo or of live sources: nothing is written.
    (
        "snapshot",
        &[
            "read_only",
            "allow_writes",
            "stats_sink",
            "stats_sink_schema",
        ],
    ),
    // A warm job prints text; with --from-queue it watches the servers
    // like the console, so the source and sampler options stay.
    (
        "warm",
        &[
            "theme",
            "color",
            "demo",
            "seed",
            "pg_capacity",
            "stats_sink",
            "stats_sink_schema",
            "sample_memory",
            "sample_elements",
        ],
    ),
    // Writes events to one stream on one Redis.
    (
        "emit",
        &[
            "postgres",
            "events_redis",
            "events_catch_up",
            "key_events",
            "theme",
            "color",
            "refresh",
            "read_only",
            "allow_writes",
            "redact_keys",
            "demo",
            "seed",
            "sample_budget",
            "key_delimiter",
            "sample_memory",
            "sample_elements",
            "pg_capacity",
            "stats_sink",
            "stats_sink_schema",
        ],
    ),
];

/// The command with each subcommand's inapplicable options hidden.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    // Global options reach the subcommands only when the command is built.
    cmd.build();
    for (sub, ids) in NOT_FOR {
        // `mut_args` keeps the order the built command's key map relies
        // on (`mut_arg` would move the argument to the end).
        cmd = cmd.mut_subcommand(*sub, |s| {
            s.mut_args(|a| {
                if ids.contains(&a.get_id().as_str()) {
                    a.hide(true)
                } else {
                    a
                }
            })
        });
    }
    cmd
}

/// Parses `args` (the program name first), refusing an option its
/// subcommand does not take.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    if let Some(msg) = misplaced(&matches) {
        return Err(cmd.error(ErrorKind::ArgumentConflict, msg));
    }
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

fn misplaced(matches: &ArgMatches) -> Option<String> {
    let (sub, sm) = matches.subcommand()?;
    let (_, ids) = NOT_FOR.iter().find(|(name, _)| *name == sub)?;
    let id = ids
        .iter()
        .find(|id| sm.value_source(id) == Some(ValueSource::CommandLine))?;
    Some(format!(
        "--{} does not apply to `heliostat {sub}` (see heliostat {sub} --help)",
        id.replace('_', "-")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help(sub: &str) -> String {
        let mut cmd = command();
        cmd.find_subcommand_mut(sub)
            .map(|s| s.render_long_help().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn every_listed_option_exists() {
        let cmd = command();
        for (sub, ids) in NOT_FOR {
            let s = cmd.find_subcommand(sub).unwrap();
            for id in *ids {
                assert!(s.get_arguments().any(|a| a.get_id() == *id), "{sub} {id}");
            }
        }
    }

    #[test]
    fn a_subcommand_help_lists_only_what_applies() {
        let emit = help("emit");
        assert!(emit.contains("--events"), "{emit}");
        assert!(emit.contains("--count"), "{emit}");
        for absent in ["--theme", "--postgres", "--sample-budget", "--seed"] {
            assert!(!emit.contains(absent), "{absent} in {emit}");
        }
        let warm = help("warm");
        assert!(warm.contains("--allow-writes") && !warm.contains("--theme"));
        let snap = help("snapshot");
        assert!(snap.contains("--theme") && !snap.contains("--allow-writes"));
        // The console itself keeps every option.
        let top = command().render_long_help().to_string();
        assert!(top.contains("--theme") && top.contains("--stats-sink"));
    }

    #[test]
    fn an_option_that_does_not_apply_is_refused_before_or_after_the_name() {
        for args in [
            &["heliostat", "emit", "--events", "s", "--theme", "mono"][..],
            &["heliostat", "--theme", "mono", "emit", "--events", "s"][..],
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ArgumentConflict);
            assert!(
                e.to_string()
                    .contains("--theme does not apply to `heliostat emit`"),
                "{e}"
            );
        }
        let ok = parse(["heliostat", "--seed", "3", "snapshot", "--at", "10"]).unwrap();
        assert_eq!(ok.seed, Some(3));
        assert!(parse(["heliostat", "--theme", "mono"]).is_ok());
    }
}
