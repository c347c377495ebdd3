//! `heliostat warm`: run a warm rule without the console, with the same
//! executor, progress on standard error (the ETA from the measured rate,
//! unknown while a preload's keys still arrive), a summary counted and
//! worded as the console's job list counts them (`Tally::describe`), and a
//! non-zero exit when anything failed.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use heliostat::engines::warming::RateWindow;
use rustc_hash::FxHashSet;

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
    searched: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    if args.watch.is_some() && !args.from_queue {
        bail!("--watch is how long --from-queue watches the servers; it needs --from-queue");
    }
    if settings.config_path.is_none() {
        let searched = searched.map_or_else(
            || "no default path ($XDG_CONFIG_HOME and $HOME are unset)".to_string(),
            |p| format!("looked for {}", p.display()),
        );
        bail!(
            "warm rules live in the config file, and there is none ({searched}); \
             write [[warm.rules]] there or pass --config PATH"
        );
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
        let tty = std::io::stderr().is_terminal();
        let mut last = Instant::now();
        let cancel = Arc::new(AtomicBool::new(false));
        let mut meter = Meter::new(keys.iter().collect::<FxHashSet<_>>().len() as u64);
        meter.streaming.store(hot.is_some(), Ordering::Relaxed);
        // The keys given, then the hot keys as their query streams them: the
        // job starts on the first batch while the rest still arrive (counted
        // on the way, so the ETA knows the total once the query is done).
        let (tx, feed) = tokio::sync::mpsc::unbounded_channel();
        if !keys.is_empty() {
            let _ = tx.send(Ok(keys));
        }
        let (hot_tx, mut hot_rx) = tokio::sync::mpsc::unbounded_channel();
        let hot_rows = rows.clone();
        let preload = async move {
            if let Some(q) = hot {
                hot_rows.send_keys(q, &rule.key, rule.batch, &hot_tx).await;
            }
            drop(hot_tx);
        };
        let (sent, streaming) = (meter.sent.clone(), meter.streaming.clone());
        let forward = async move {
            while let Some(chunk) = hot_rx.recv().await {
                if let Ok(k) = &chunk {
                    sent.fetch_add(k.len() as u64, Ordering::Relaxed);
                }
                let _ = tx.send(chunk);
            }
            streaming.store(false, Ordering::Relaxed);
            drop(tx);
        };
        let job = run_feed(rule, feed, &mut rows, &mut target, &cancel, |r| {
            if last.elapsed().as_millis() >= 500 {
                last = Instant::now();
                meter.show(r, tty);
            }
        });
        let ((), (), report) = tokio::join!(preload, forward, job);
        meter.show(&report, tty);
        if tty {
            eprintln!();
        }
        summary(rule, &report, meter.started);
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
        event_stream: crate::event_stream(settings),
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

/// The progress line's figures: the rate measured over recent progress, and
/// the keys there are (the ones given, and the hot keys counted as they
/// stream: unknown until their query is done).
struct Meter {
    started: Instant,
    window: RateWindow,
    given: u64,
    sent: Arc<AtomicU64>,
    streaming: Arc<AtomicBool>,
}

impl Meter {
    fn new(given: u64) -> Meter {
        Meter {
            started: Instant::now(),
            window: RateWindow::starting(0),
            given,
            sent: Arc::default(),
            streaming: Arc::default(),
        }
    }

    fn show(&mut self, r: &Report, tty: bool) {
        let ms = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.window.record(ms, r.done());
        let so_far = self.given + self.sent.load(Ordering::Relaxed);
        let total = (!self.streaming.load(Ordering::Relaxed)).then_some(so_far);
        let eta = match (self.window.eta_ms(ms, total), total) {
            (Some(left), _) => format!("{:.0}s", left as f64 / 1e3),
            (None, None) => format!("? (keys still coming: {so_far} so far)"),
            (None, Some(_)) => "–".to_string(),
        };
        let line = format!(
            "warming: {}/{} keys · {:.0} keys/s · ETA {eta} · {}",
            r.done(),
            total.map_or("?".to_string(), |t| t.to_string()),
            self.window.rate(ms).unwrap_or(0.0),
            r.tally().describe(),
        );
        if tty {
            eprint!("\r{line}   ");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{line}");
        }
    }
}

fn summary(rule: &Rule, r: &Report, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    let mut out = format!(
        "rule `{}`: {} keys in {secs:.2} s ({:.0} keys/s): {}",
        rule.name,
        r.keys,
        r.done() as f64 / secs.max(1e-6),
        r.tally().describe(),
    );
    if r.query_errors + r.redis_errors > 0 {
        out.push_str(&format!(
            "\n  failed batches: query {}, redis {}",
            r.query_errors, r.redis_errors
        ));
    }
    if let Some(n) = r.keys.checked_sub(r.done()).filter(|n| *n > 0) {
        out.push_str(&format!("\n  not tried {n}"));
    }
    if r.cancelled {
        out.push_str("\n  cancelled");
    }
    if let Some(p) = &r.paused {
        out.push_str(&format!("\n  paused: {p}"));
    }
    println!("{out}");
}
