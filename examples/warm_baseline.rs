//! The baseline for `heliostat warm`: a one-key-at-a-time loader, as a
//! typical application warmer does it (one awaited `SET` per key). It takes
//! the same rule from the same config file and reads the same rows (the
//! rule's `hot_keys_query`, then the rule's query for all of them at once,
//! which favours the baseline), then writes each key with the rule's
//! `SET … NX PX ttl`, waiting for each reply before sending the next.
//!
//! `cargo run --release --example warm_baseline -- CONFIG RULE`
//! (`scripts/measure-warm` sets up throw-away servers and a table.)

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use heliostat::config::read_config;
use heliostat::ops::warm::job::Rows;
use heliostat::ops::warm::pg::PgRows;
use heliostat::ops::warm::rules::Ttl;

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut args = std::env::args().skip(1);
    let (Some(config), Some(name)) = (args.next(), args.next()) else {
        bail!("usage: warm_baseline CONFIG RULE");
    };
    let file = read_config(Path::new(&config), true)?.context("no config file")?;
    let Some(rule) = file.warm_rules.iter().find(|r| r.name == name) else {
        bail!("no rule named {name} in {config}");
    };
    let Some(hot) = &rule.hot_keys_query else {
        bail!("rule {name} has no hot_keys_query");
    };
    let Ttl::Fixed(ttl_s) = rule.ttl else {
        bail!("the baseline takes a fixed ttl");
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut rows = PgRows::connect(&rule.postgres)
            .await
            .map_err(anyhow::Error::msg)?;
        let ids: Vec<String> = rows
            .all(hot)
            .await
            .map_err(anyhow::Error::msg)?
            .into_iter()
            .filter_map(|r| r.get("id").map(str::to_string))
            .collect();
        let found = rows.fetch(rule, &ids).await.map_err(anyhow::Error::msg)?;
        let mut conn = redis::Client::open(rule.redis.as_str())?
            .get_multiplexed_async_connection()
            .await?;
        let mut written = 0u64;
        for row in &found {
            let (Some(key), Some(value)) = (rule.key.render(|c| row.get(c)), &row.value) else {
                continue;
            };
            let reply: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&value[..])
                .arg("NX")
                .arg("PX")
                .arg(rule.ttl_ms(&key, ttl_s))
                .query_async(&mut conn)
                .await?;
            written += u64::from(reply.is_some());
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "baseline: {} rows, {written} written in {secs:.2} s ({:.0} keys/s)",
            found.len(),
            found.len() as f64 / secs
        );
        Ok(())
    })
}
