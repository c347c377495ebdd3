//! Units, formatted for the screen and parsed from what people write:
//! rates and counts (`1.2k`), bytes in binary units, percentages,
//! milliseconds, durations (`4m05s`), and sizes (`500GiB`).
//!
//! A leaf module: it imports nothing from the crate, so the app's detail
//! text, the UI and the command line share one wording without importing
//! each other.

/// A rate or count, or `–` when there is none (no current figure).
pub fn si_or_dash(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), si)
}

/// 1234 → "1.2k", 5_600_000 → "5.6M".
pub fn si(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "–".into()
    } else if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Bytes in binary units.
pub fn bytes(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// A ratio as a percentage, "n/a" when undefined.
pub fn pct(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() => format!("{:.1}%", r * 100.0),
        _ => "n/a".into(),
    }
}

/// Milliseconds with sensible precision.
pub fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() && v < 10.0 => format!("{v:.2}ms"),
        Some(v) if v.is_finite() && v < 1000.0 => format!("{v:.0}ms"),
        Some(v) if v.is_finite() => format!("{:.1}s", v / 1000.0),
        _ => "–".into(),
    }
}

/// A duration in ms as "4m05s", "12s", "1h02m".
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Sizes written by people: `500GiB`, `500G`, `2T`, `1.5 TiB`, `1048576`.
/// Units are binary (a G is 2^30 bytes), as `df -h` and PostgreSQL's
/// `pg_size_pretty` use them.
///
/// Bytes in `text`, or why it is not a size.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 500GiB, 2T, 1048576)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        "p" | "pb" | "pib" => 50,
        other => return Err(format!("unknown size unit `{other}` (use K, M, G, T or P)")),
    };
    let bytes = n * (1u64 << shift) as f64;
    if bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64 {
        Ok(bytes as u64)
    } else {
        Err(format!("`{text}` is not a usable size"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(si(2450.0), "2.5k");
        assert_eq!(si(3.25), "3.2");
        assert_eq!(si(f64::NAN), "–");
        assert_eq!(si_or_dash(None), "–");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(12), "12 B");
        assert_eq!(pct(None), "n/a");
        assert_eq!(pct(Some(0.9312)), "93.1%");
        assert_eq!(ms(Some(2.5)), "2.50ms");
        assert_eq!(ms(Some(1500.0)), "1.5s");
        assert_eq!(duration(65_000), "1m05s");
        assert_eq!(duration(3_720_000), "1h02m");
    }

    #[test]
    fn sizes_read_as_df_writes_them() {
        assert_eq!(parse_size("500GiB"), Ok(500 << 30));
        assert_eq!(parse_size("500G"), Ok(500 << 30));
        assert_eq!(parse_size(" 2 t "), Ok(2 << 40));
        assert_eq!(parse_size("1.5TiB"), Ok(3 << 39));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        for bad in ["", "G", "12X", "-3G", "0", "1e999"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
