//! What a warm job did with its keys, counted the same way and told in the
//! same words everywhere: the console's job list and status line, and the
//! headless `heliostat warm` summary. A key with no row is not an error
//! (the database has nothing to cache for it); a key Redis refused, or whose
//! row has no usable TTL, is.

use serde::{Deserialize, Serialize};

/// Keys a job dealt with, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Written (new in fill mode, overwritten in refresh mode).
    pub written: u64,
    /// Already there (fill), or absent and not created (refresh).
    pub left_alone: u64,
    /// Refresh: the key holds another type, left alone.
    pub type_conflict: u64,
    /// The query returned no row for the key.
    pub no_row: u64,
    /// The row's value is NULL: nothing to cache.
    pub null_value: u64,
    /// The row has no usable TTL: not written, an error.
    pub no_ttl: u64,
    /// No warm rule's pattern matches the key.
    pub no_rule: u64,
    /// Redis refused the write (OOM, READONLY, …): an error.
    pub refused: u64,
}

impl Tally {
    /// Keys dealt with (written or not).
    pub fn handled(&self) -> u64 {
        self.written
            + self.left_alone
            + self.type_conflict
            + self.no_row
            + self.null_value
            + self.no_ttl
            + self.no_rule
            + self.refused
    }

    /// Keys that failed: refused by Redis, or without a usable TTL.
    pub fn errors(&self) -> u64 {
        self.refused + self.no_ttl
    }

    /// Add another tally's counts.
    pub fn add(&mut self, o: &Tally) {
        self.written += o.written;
        self.left_alone += o.left_alone;
        self.type_conflict += o.type_conflict;
        self.no_row += o.no_row;
        self.null_value += o.null_value;
        self.no_ttl += o.no_ttl;
        self.no_rule += o.no_rule;
        self.refused += o.refused;
    }

    /// The counts in words: written, left alone, no row and errors always,
    /// the rarer kinds only when they occur (errors less those without a
    /// usable TTL are the keys Redis refused).
    pub fn describe(&self) -> String {
        let mut s = format!(
            "written {} · left alone {} · no row {} · errors {}",
            self.written,
            self.left_alone,
            self.no_row,
            self.errors()
        );
        for (n, what) in [
            (self.type_conflict, "type conflict"),
            (self.null_value, "null value"),
            (self.no_ttl, "no usable TTL"),
            (self.no_rule, "no rule match"),
        ] {
            if n > 0 {
                s.push_str(&format!(" · {what} {n}"));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_row_is_not_an_error_and_rare_kinds_show_only_when_they_occur() {
        let t = Tally {
            left_alone: 20_000,
            ..Tally::default()
        };
        assert_eq!(
            t.describe(),
            "written 0 · left alone 20000 · no row 0 · errors 0"
        );
        let t = Tally {
            written: 39,
            left_alone: 1,
            no_row: 5,
            no_ttl: 2,
            refused: 1,
            no_rule: 3,
            ..Tally::default()
        };
        assert_eq!(t.errors(), 3, "refused + no usable TTL, not no row");
        assert_eq!(t.handled(), 51);
        assert_eq!(
            t.describe(),
            "written 39 · left alone 1 · no row 5 · errors 3 · no usable TTL 2 · no rule match 3"
        );
        let mut sum = t;
        sum.add(&t);
        assert_eq!(sum.handled(), 102);
    }
}
