//! Sizes written by people: `500GiB`, `500G`, `2T`, `1.5 TiB`, `1048576`.
//! Units are binary (a G is 2^30 bytes), as `df -h` and PostgreSQL's
//! `pg_size_pretty` use them.

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

    #[test]
    fn a_context_capacity_is_checked_and_a_flag_wins() {
        use crate::config::parse_config;
        let p = std::path::Path::new("/cfg/c.toml");
        let f = parse_config(p, "[contexts.prod]\npg_capacity = \"2TiB\"\n", Some(0o600)).unwrap();
        assert_eq!(f.contexts["prod"].pg_capacity, Some(2 << 40));
        let e = parse_config(
            p,
            "[contexts.prod]\n\npg_capacity = \"lots\"\n",
            Some(0o600),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 3") && e.contains("pg_capacity"), "{e}");
    }
}
