//! `heliostat warm`: run a warm rule without the console, with the same
//! executor, progress on standard error, a summary, and a non-zero exit
//! when anything failed.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use std::time::Duration;

use anyhow::{Context, bail};
use heliostat::app::live::{LiveSpec, observe};
use heliostat::app::state::SessionInfo;
use heliostat::cli::WarmArgs;
use heliostat::config::Settings;
use heliostat::ops::warm::dry::dry_run;
use heliostat::ops::warm::job::{Report, run_feed};
use heliostat::ops::warm::pg::PgRows;
use heliostat::ops::warm::rules::Rule;

/// Seconds `--from-queue` watches the servers unless `--watch` says.
const DEFAULT_WATCH_S: u64 = 10;
use heliostat::ops::warm::target::Target;

pub fn warm(
    args: &WarmArgs,
    settings: &Settings,
    live: Option<LiveSpec>,
    allow_writes_flag: bool,
) -> anyhow::Result<()> {
    if args.watch.is_some() && !args.from_queue {
        bail!("--watch is how long --from-queue watches the servers; it needs --from-queue");
    }
    if let Some((_, why)) = settings
        .warm_rules_elsewhere
        .iter()
        .find(|(name, _)| *name == args.rule)
    {
        bail!("{why}");
    }
    let Some(rule) = settings.warm_rules.iter().find(|r| r.name == args.rule) else {
        let known: Vec<&str> = settings
            .warm_rules
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        bail!(
            "no warm rule named `{}` (rules in the config file: {})",
            args.rule,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    // Writing needs an explicit yes: --allow-writes, or a context that allows it.
    let allowed = !settings.read_only
        && (allow_writes_flag || (settings.writes_allowed && !settings.is_demo()));
    if !args.dry_run && !allowed {
        bail!(
            "read-only: warming writes to Redis; pass --allow-writes (or use a context with allow_writes = true), or --dry-run to only look"
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let mut rows = PgRows::connect(&rule.postgres)
            .await
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("rule `{}`: database", rule.name))?;
        let mut keys = given_keys(args)?;
        if args.from_queue {
            keys.extend(from_queue(args, rule, settings, live.as_ref()).await?);
            if keys.is_empty() {
                println!(
                    "nothing to warm: no key in the warming queue matches rule `{}`",
                    rule.name
                );
                return Ok(());
            }
        }
        let hot = match (&rule.hot_keys_query, args.preload) {
            (Some(q), true) => Some(q),
            (None, true) => bail!("rule `{}` has no hot_keys_query to preload from", rule.name),
            (_, false) => None,
        };
        let mut target = Target::open(&rule.redis)
            .await
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("rule `{}`: Redis", rule.name))?;
        if args.dry_run {
            if let Some(q) = hot {
                keys.extend(rows.keys(q, &rule.key).await.map_err(|e| {
                    anyhow::anyhow!("rule `{}`: hot_keys_query: {e}", rule.name)
                })?);
            }
            let d = dry_run(rule, &keys, &mut rows, &mut target)
                .await
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("rule `{}`: dry run", rule.name))?;
            let s = d.scaled();
            let how = if d.looked_at < d.keys {
                format!(" (estimated from an even sample of {})", d.looked_at)
            } else {
                String::new()
            };
            println!(
                "dry run of rule `{}` ({:?} mode) for {} keys{how}:\n  new {}\n  overwrite {}\n  left alone {}\n  type conflict {}\n  no row {}\n  null value {}\n  no usable TTL {}\n  no rule match {}",
                rule.name, rule.mode, s.keys, s.new, s.overwrite, s.skipped, s.type_conflict, s.no_row, s.null_value, s.no_ttl, s.no_rule
            );
            return Ok(());
        }
        let started = Instant::now();
        let tty = std::io::stderr().is_terminal();
        let mut last = Instant::now();
        let cancel = Arc::new(AtomicBool::new(false));
        // The keys given, then the hot keys as their query streams them: the
        // job starts on the first batch while the rest still arrive.
        let (tx, feed) = tokio::sync::mpsc::unbounded_channel();
        if !keys.is_empty() {
            let _ = tx.send(Ok(keys));
        }
        let hot_rows = rows.clone();
        let preload = async move {
            if let Some(q) = hot {
                hot_rows.send_keys(q, &rule.key, rule.batch, &tx).await;
            }
            drop(tx);
        };
        let job = run_feed(rule, feed, &mut rows, &mut target, &cancel, |r| {
            if last.elapsed().as_millis() >= 500 {
                last = Instant::now();
                progress(r, started, tty);
            }
        });
        let ((), report) = tokio::join!(preload, job);
        progress(&report, started, tty);
        if tty {
            eprintln!();
        }
        summary(rule, &report, started);
        if report.failed() {
            bail!(
                "warm job failed: {}",
                report
                    .reason()
                    .unwrap_or_else(|| "see the counts above".into())
            );
        }
        Ok(())
    })
}

/// The keys of `--keys` and `--keys-file`.
fn given_keys(args: &WarmArgs) -> anyhow::Result<Vec<String>> {
    let mut keys: Vec<String> = args
        .keys
        .iter()
        .filter(|k| !k.is_empty())
        .cloned()
        .collect();
    if let Some(path) = &args.keys_file {
        let lines: Vec<String> = if path.as_os_str() == "-" {
            std::io::stdin().lock().lines().collect::<Result<_, _>>()?
        } else {
            use heliostat::files::{MAX_KEYS_FILE_BYTES, read_text};
            read_text(path, MAX_KEYS_FILE_BYTES, "keys")
                .with_context(|| format!("reading {}", path.display()))?
                .split('\n')
                .map(str::to_string)
                .collect()
        };
        keys.extend(
            lines
                .into_iter()
                // A key is the whole line: spaces are part of it (only a
                // Windows line end is not).
                .map(|l| l.strip_suffix('\r').map_or(l.clone(), str::to_string))
                .filter(|l| !l.is_empty()),
        );
    }
    Ok(keys)
}

/// The warming queue after watching the servers, limited to the rule's keys.
async fn from_queue(
    args: &WarmArgs,
    rule: &Rule,
    settings: &Settings,
    live: Option<&LiveSpec>,
) -> anyhow::Result<Vec<String>> {
    let Some(spec) = live else {
        bail!(
            "--from-queue watches the servers to build the warming queue: give --redis and --events (or a context with them)"
        );
    };
    let watch = args.watch.unwrap_or(DEFAULT_WATCH_S);
    eprintln!("watching for {watch} s to build the warming queue…");
    let session = SessionInfo {
        context: settings.context.clone(),
        key_delimiter: settings.sampler.delimiter.clone(),
        ..SessionInfo::default()
    };
    let state = observe(
        spec,
        Duration::from_secs(watch),
        settings.refresh,
        session,
        &[],
    )
    .await;
    let queue = state.warming.plan(state.now);
    let total = queue.len();
    let keys: Vec<String> = queue
        .into_iter()
        .filter_map(|c| c.name)
        .filter(|k| rule.key.parse_key(k).is_some_and(|v| !v.is_empty()))
        .collect();
    eprintln!(
        "warming queue: {total} candidates, {} match rule `{}` ({})",
        keys.len(),
        rule.name,
        rule.key
    );
    Ok(keys)
}

fn progress(r: &Report, started: Instant, tty: bool) {
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    let rate = r.done() as f64 / secs;
    let left = r.keys.saturating_sub(r.done()) as f64;
    let eta = if rate > 0.0 { left / rate } else { 0.0 };
    let line = format!(
        "warming: {}/{} keys, {:.0} keys/s, {} errors, ETA {:.0}s",
        r.done(),
        r.keys,
        rate,
        r.written.errors + r.query_errors + r.redis_errors + r.no_ttl,
        eta
    );
    if tty {
        eprint!("\r{line}   ");
        let _ = std::io::stderr().flush();
    } else {
        eprintln!("{line}");
    }
}

fn summary(rule: &Rule, r: &Report, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rule `{}`: {} keys in {secs:.2} s ({:.0} keys/s)\n  written {}\n  already there {}\n  absent (refresh) {}\n  type conflict {}\n  no row {}\n  null value {}\n  no usable TTL {}\n  no rule match {}\n  write errors {}\n  failed batches: query {}, redis {}{}{}",
        rule.name,
        r.keys,
        r.done() as f64 / secs.max(1e-6),
        r.written.written,
        r.written.existed,
        r.written.absent,
        r.written.type_conflict,
        r.no_row,
        r.null_value,
        r.no_ttl,
        r.no_rule,
        r.written.errors,
        r.query_errors,
        r.redis_errors,
        if r.cancelled { "\n  cancelled" } else { "" },
        r.paused
            .as_deref()
            .map(|p| format!("\n  paused: {p}"))
            .unwrap_or_default(),
    );
}
