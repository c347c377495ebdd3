//! Key-sampler figures as the panes show them: a node's sampler and
//! observer-effect lines and per-prefix table (Backends), a prefix's
//! estimate (Heatmap detail), TTL cliffs (Warming). Every estimate is shown
//! with its interval and the share of the keyspace it rests on.

use ratatui::text::{Line, Span};

use crate::engines::Timestamp;
use crate::engines::keyspace::{
    Basis, Cliff, Estimate, HeatMode, KeyHeat, KeyspaceView, PrefixView, TTL_LABELS, row_name,
};
use crate::theme::Theme;
use crate::ui::widgets::{bytes, duration, fit, key_label, si};

/// "4.1k (3.9k–4.3k)", or just "2.0k" when exact.
pub fn est(e: &Estimate) -> String {
    if (e.hi - e.lo).abs() < 0.5 {
        si(e.value.round())
    } else {
        format!(
            "{} ({}–{})",
            si(e.value.round()),
            si(e.lo.round()),
            si(e.hi.round())
        )
    }
}

fn mem(e: Option<&Estimate>) -> String {
    match e {
        None => "–".to_string(),
        Some(e) if (e.hi - e.lo).abs() < 1.0 => bytes(e.value.max(0.0) as u64),
        Some(e) => format!(
            "{} ±{}",
            bytes(e.value.max(0.0) as u64),
            bytes(e.half_width().max(0.0) as u64)
        ),
    }
}

fn heat_label(h: KeyHeat) -> String {
    match h {
        KeyHeat::LfuFreq(c) => format!("LFU {c}"),
        KeyHeat::IdleSecs(s) => format!("idle {}", duration(s.saturating_mul(1000))),
    }
}

/// What the estimates rest on: "pass 2 complete 41s ago (took 12s)" or
/// "pass 1 in progress".
fn basis(v: &KeyspaceView, now: Timestamp) -> String {
    match v.basis {
        Basis::Nothing => "nothing sampled yet".to_string(),
        // Without DBSIZE the share seen is unknown: only what was seen.
        Basis::Partial if v.size_unknown => format!(
            "pass {} in progress: {} keys seen, coverage unknown",
            v.pass,
            si(v.sampled as f64)
        ),
        Basis::Partial => format!(
            "pass {} in progress: {:.0}% of {} keys seen",
            v.pass,
            v.coverage * 100.0,
            si(v.db_keys as f64)
        ),
        Basis::Complete { done_at, took_ms } => format!(
            "last complete pass {} ago (took {})",
            duration(now.millis_since(done_at)),
            duration(took_ms)
        ),
    }
}

/// The observer effect: the console's own command rate and its share of
/// everything the node ran.
pub fn own_line(name: &str, own: f64, ops: f64, theme: &Theme) -> Line<'static> {
    let total = own + ops;
    let share = if total > 0.0 {
        own / total * 100.0
    } else {
        0.0
    };
    Line::from(vec![
        Span::styled(format!(" {name} "), theme.title),
        Span::styled(
            format!(
                "console {} cmd/s = {share:.1}% of the node's commands (taken out of every figure)",
                si(own)
            ),
            theme.dim,
        ),
    ])
}

/// The sampler: progress, actual rate and its share of the node's commands
/// (`node`: the node's command rate, the console's included), the budget
/// and how it is set, what the estimates rest on, and what the heat is:
/// "pass 2 at 38% of 100k keys · 12 cmd/s = 1.9% of node · budget 20 cmd/s
/// (5% of node, 20–1.0k) · …".
pub fn sampler_line(
    v: &KeyspaceView,
    node: Option<f64>,
    now: Timestamp,
    theme: &Theme,
) -> Line<'static> {
    let rate = v.command_rate.map_or("–".to_string(), si);
    let of_node = match (v.command_rate, node) {
        (Some(r), Some(n)) if n > 0.0 => format!(" = {:.1}% of node", r / n * 100.0),
        _ => String::new(),
    };
    let rule = match v.rule {
        Some(r) => format!(
            " ({}% of node, {}–{})",
            pct_bp(r.share_bp),
            si(f64::from(r.floor)),
            si(f64::from(r.cap))
        ),
        None => " (fixed)".to_string(),
    };
    let heat = match v.heat {
        Some(HeatMode::LfuCounter) => " · heat: LFU counter (log, decaying)",
        Some(HeatMode::IdleTime) => " · heat: idle time",
        None => "",
    };
    // A pass in progress is what the estimates rest on: said once.
    let (progress, basis) = if v.basis == Basis::Partial || v.size_unknown {
        (basis(v, now), String::new())
    } else {
        (
            format!(
                "pass {} at {:.0}% of {} keys",
                v.pass,
                v.pass_progress * 100.0,
                si(v.db_keys as f64)
            ),
            format!(" · {}", basis(v, now)),
        )
    };
    let head = Span::styled(format!(" key sampler: {progress}"), theme.dim);
    let tail = Span::styled(
        format!(
            " · {rate} cmd/s{of_node} · budget {} cmd/s{rule}{basis}{heat}",
            si(f64::from(v.budget)),
        ),
        theme.dim,
    );
    if v.refused.is_empty() {
        return Line::from(vec![head, tail]);
    }
    // What the server refused, in its words: the reason a figure is
    // missing, next to the figure (before the budget, so a narrow pane
    // cuts the budget, not the reason).
    Line::from(vec![
        head,
        Span::styled(format!(" · refused {}", v.refused.join("; ")), theme.warn),
        tail,
    ])
}

/// A share in basis points as a percentage: `5`, `2.5`.
fn pct_bp(bp: u32) -> String {
    if bp % 100 == 0 {
        format!("{}", bp / 100)
    } else {
        format!("{:.1}", f64::from(bp) / 100.0)
    }
}

const NAME_W: usize = 18;
const KEYS_W: usize = 22;
const MEM_W: usize = 20;
const TTL_W: usize = 6;

/// Header of the per-prefix table.
pub fn prefix_header(theme: &Theme) -> Line<'static> {
    let mut s = format!(
        "  {}{:<KEYS_W$}{:<MEM_W$}",
        fit("prefix", NAME_W),
        "keys (95% interval)",
        "memory"
    );
    for l in TTL_LABELS {
        s.push_str(&format!("{l:>TTL_W$}"));
    }
    s.push_str("  est/s");
    Line::from(Span::styled(s, theme.dim))
}

/// One prefix row: estimated keys, memory, keys per TTL bucket, accesses.
pub fn prefix_row(p: &PrefixView, delim: &str, theme: &Theme) -> Line<'static> {
    let mut s = format!(
        "  {}{:<KEYS_W$}{:<MEM_W$}",
        fit(&row_name(&p.name, delim), NAME_W),
        fit(&est(&p.keys), KEYS_W - 1),
        fit(&mem(p.memory.as_ref()), MEM_W - 1)
    );
    for e in &p.ttl {
        let v = e.value.round();
        let cell = if v > 0.0 { si(v) } else { "·".to_string() };
        s.push_str(&format!("{cell:>TTL_W$}"));
    }
    s.push_str(&format!("{:>7}", si(p.est_rate)));
    Line::from(Span::styled(s, theme.text))
}

/// Hot and big keys of a node, one line.
pub fn keys_line(v: &KeyspaceView, redact: bool, theme: &Theme) -> Line<'static> {
    let hot: Vec<String> = v
        .hot
        .iter()
        .take(3)
        .map(|h| {
            format!(
                "{} ({})",
                key_label(&h.key, redact, &v.delimiter),
                heat_label(h.heat)
            )
        })
        .collect();
    let big: Vec<String> = v
        .big
        .iter()
        .take(3)
        .map(|b| {
            let size = match (b.memory, b.elements) {
                (Some(m), _) => bytes(m),
                (None, Some(e)) => format!("{} {}", si(e as f64), b.kind.label()),
                (None, None) => "–".to_string(),
            };
            format!("{} ({size})", key_label(&b.key, redact, &v.delimiter))
        })
        .collect();
    let or_none = |v: Vec<String>| {
        if v.is_empty() {
            "none seen".to_string()
        } else {
            v.join(", ")
        }
    };
    Line::from(vec![
        Span::styled("  hot: ", theme.dim),
        Span::styled(or_none(hot), theme.hot),
        Span::styled(" · big: ", theme.dim),
        Span::styled(or_none(big), theme.text),
    ])
}

/// A TTL cliff, one line.
pub fn cliff_line(
    node: &str,
    c: &Cliff,
    delim: &str,
    now: Timestamp,
    theme: &Theme,
) -> Line<'static> {
    let when = if c.at.as_millis() <= now.as_millis() {
        "now".to_string()
    } else {
        format!("in {}", duration(c.at.millis_since(now)))
    };
    Line::from(vec![
        Span::styled(" ▼ TTL cliff ", theme.warn),
        Span::styled(
            format!(
                "{} on {node}: {} keys expire within {} minute{}, {when} ({} sampled)",
                row_name(&c.prefix, delim),
                est(&c.keys),
                c.minutes,
                if c.minutes == 1 { "" } else { "s" },
                c.sampled
            ),
            theme.text,
        ),
    ])
}

/// A heatmap prefix row's estimate summed over the sampled nodes, with
/// the coverage it rests on; `None` when no node has that prefix.
pub fn prefix_summary(
    views: &[(&str, &KeyspaceView)],
    row: &str,
    theme: &Theme,
) -> Option<Line<'static>> {
    let mut keys = Estimate::default();
    let mut memory: Option<Estimate> = None;
    let mut ttl = [0.0f64; TTL_LABELS.len()];
    let (mut nodes, mut sampled, mut db) = (0usize, 0u64, 0u64);
    for (_, v) in views {
        let Some(p) = v
            .prefixes
            .iter()
            .find(|p| row_name(&p.name, &v.delimiter) == row)
        else {
            continue;
        };
        nodes += 1;
        keys = keys.add(&p.keys);
        if let Some(m) = &p.memory {
            memory = Some(memory.unwrap_or_default().add(m));
        }
        for (t, e) in ttl.iter_mut().zip(&p.ttl) {
            *t += e.value;
        }
        sampled += v.sampled;
        db += v.db_keys;
    }
    if nodes == 0 {
        return None;
    }
    let coverage = if db > 0 {
        (sampled as f64 / db as f64).min(1.0) * 100.0
    } else {
        100.0
    };
    let total = keys.value.max(1.0);
    let hist: Vec<String> = TTL_LABELS
        .iter()
        .zip(ttl)
        .filter(|(_, v)| *v >= 0.5)
        .map(|(l, v)| format!("{l} {:.0}%", v / total * 100.0))
        .collect();
    Some(Line::from(vec![
        Span::styled(" sampled: ", theme.dim),
        Span::styled(
            format!(
                "~{} keys on {nodes} node{} ({coverage:.0}% of the keyspace seen) · memory {} · TTL {}",
                est(&keys),
                if nodes == 1 { "" } else { "s" },
                mem(memory.as_ref()),
                hist.join(" ")
            ),
            theme.text,
        ),
    ]))
}
