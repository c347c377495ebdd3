//! Moving along the heatmap's time axis. A scrolled view is anchored to a
//! time (the instant its newest column holds), not to a number of columns,
//! so changing the column width keeps the place: the newest column at any
//! zoom is the one holding that instant.

use crate::engines::Timestamp;

/// Start (ms) of the `res_s`-second column holding `t`.
fn column_start(t: Timestamp, res_s: u32) -> i64 {
    let w = i64::from(res_s.max(1)) * 1000;
    t.as_millis().div_euclid(w).saturating_mul(w)
}

/// The anchor one column earlier than `end` (the last millisecond of the
/// column before the one holding `end`), or `end` itself when that column
/// would end before `oldest` (the first data: there is nothing earlier).
pub fn scroll_back(end: Timestamp, res_s: u32, oldest: Option<Timestamp>) -> Timestamp {
    let back = Timestamp(column_start(end, res_s).saturating_sub(1));
    match oldest {
        Some(o) if back < o => end,
        None => end,
        _ => back,
    }
}

/// The anchor one column later than `end` (the last millisecond of the
/// next column), or `None` (follow now) when that column holds `now` or
/// is later.
pub fn scroll_forward(end: Timestamp, res_s: u32, now: Timestamp) -> Option<Timestamp> {
    let w = i64::from(res_s.max(1)) * 1000;
    let next = column_start(end, res_s).saturating_add(w);
    if next.saturating_add(w) > now.as_millis() {
        None
    } else {
        Some(Timestamp(next.saturating_add(w - 1)))
    }
}
