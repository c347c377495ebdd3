//! `heliostat emit`: publish access events, one given on the command line
//! (repeated `--count` times) or a synthetic workload.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use heliostat::cli::EmitArgs;
use heliostat::config::{Mode, Settings, redact_url};
use heliostat::sources::events::emit::{Synthetic, due, pipeline_len, publish};
use heliostat::sources::events::schema::Event;

/// Most events per pipeline: enough to amortise round trips. Below 20 000
/// events/s a pipeline is a twentieth of `--rate` (`pipeline_len`).
const BATCH: u64 = 1_000;

pub fn emit(args: &EmitArgs, settings: &Settings) -> anyhow::Result<()> {
    let (url, stream) = match &settings.mode {
        Mode::Live {
            redis,
            events: Some(stream),
            events_redis,
            ..
        } => match events_redis.as_ref().or(redis.first()) {
            Some(url) => (url.clone(), stream.clone()),
            None => bail!("emit needs a Redis: add --redis URL"),
        },
        _ => bail!(
            "emit needs --redis URL and --events STREAM (e.g. heliostat emit --redis redis://localhost:6379 --events heliostat:events)"
        ),
    };
    let given = parse_fields(&args.fields)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let client = redis::Client::open(url.as_str())
            .with_context(|| format!("bad Redis URL {}", redact_url(&url)))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .with_context(|| format!("connecting to {}", redact_url(&url)))?;
        let mut synth = Synthetic::new(settings.seed);
        let maxlen = (args.maxlen > 0).then_some(args.maxlen);
        let started = Instant::now();
        let mut sent = 0u64;
        let batch = pipeline_len(args.rate, BATCH);
        while sent < args.count {
            // Each pipeline waits for its time: the first goes at once.
            if let Some(wait) = due(sent, args.rate).checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            let n = (args.count - sent).min(batch);
            let batch: Vec<Event> = (sent..sent + n)
                .map(|i| match &given {
                    Some(e) => e.clone(),
                    None if args.distinct => synth.distinct_event(i),
                    None => synth.next_event(),
                })
                .collect();
            publish(&mut conn, &stream, maxlen, &batch)
                .await
                .with_context(|| format!("XADD to {stream}"))?;
            sent += n;
        }
        let secs = started.elapsed().as_secs_f64().max(1e-6);
        eprintln!(
            "published {sent} events to {} in {secs:.2} s ({:.0}/s)",
            heliostat::text::escape_controls(&stream),
            sent as f64 / secs
        );
        Ok(())
    })
}

/// `FIELD=VALUE` arguments, checked against the schema the reader applies.
fn parse_fields(fields: &[String]) -> anyhow::Result<Option<Event>> {
    if fields.is_empty() {
        return Ok(None);
    }
    let mut pairs = Vec::with_capacity(fields.len());
    for f in fields {
        let Some((k, v)) = f.split_once('=') else {
            bail!("{f:?} is not FIELD=VALUE (e.g. table=users)");
        };
        pairs.push((k, v));
    }
    let event = Event::parse(pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())))
        .context("the event would be skipped as malformed")?;
    Ok(Some(event))
}
