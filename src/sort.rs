//! Sort orders of the panes' tables, typed: each pane names its orders in
//! an enum, each order has the column it sorts and the direction it runs
//! unless the user flips it. A leaf module: the app keeps the choice, the
//! table marks the column.

use std::cmp::Ordering;

/// Which way a sort runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Smallest (or A) first.
    Ascending,
    /// Largest (or Z) first.
    #[default]
    Descending,
}

impl Direction {
    /// The other way.
    pub fn flip(self) -> Self {
        match self {
            Self::Ascending => Self::Descending,
            Self::Descending => Self::Ascending,
        }
    }

    /// The arrow shown beside the sorted column's header.
    pub fn arrow(self) -> &'static str {
        match self {
            Self::Ascending => "▲",
            Self::Descending => "▼",
        }
    }

    /// `ord` (smallest first) turned this way.
    pub fn apply(self, ord: Ordering) -> Ordering {
        match self {
            Self::Ascending => ord,
            Self::Descending => ord.reverse(),
        }
    }
}

/// A pane's sort orders.
pub trait SortKey: Copy + Eq + Default + std::fmt::Debug + 'static {
    /// Every order, in the order `s` cycles through them.
    const ALL: &'static [Self];
    /// The header of the column it sorts (the table marks it).
    fn column(self) -> &'static str;
    /// The direction it runs until flipped (names A–Z, rates largest first).
    fn natural(self) -> Direction;
}

/// Compare two figures that may be missing: the figures by `dir`, a
/// missing one last whichever way the sort runs (a row with no
/// measurement is not the fastest, nor the slowest).
pub fn by_figure(a: Option<f64>, b: Option<f64>, dir: Direction) -> Ordering {
    match (a.filter(|x| !x.is_nan()), b.filter(|x| !x.is_nan())) {
        (Some(x), Some(y)) => dir.apply(x.total_cmp(&y)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_figures_go_last_both_ways() {
        let mut v = [Some(2.0), None, Some(1.0), Some(f64::NAN), Some(3.0)];
        v.sort_by(|a, b| by_figure(*a, *b, Direction::Descending));
        assert_eq!(v[..3], [Some(3.0), Some(2.0), Some(1.0)]);
        assert!(v[3..].iter().all(|x| x.is_none_or(f64::is_nan)));
        v.sort_by(|a, b| by_figure(*a, *b, Direction::Ascending));
        assert_eq!(v[..3], [Some(1.0), Some(2.0), Some(3.0)]);
        assert!(v[3..].iter().all(|x| x.is_none_or(f64::is_nan)));
    }

    #[test]
    fn flip_and_arrow() {
        assert_eq!(Direction::Ascending.flip(), Direction::Descending);
        assert_eq!(Direction::Descending.arrow(), "▼");
        assert_eq!(
            Direction::Descending.apply(1.cmp(&2)),
            std::cmp::Ordering::Greater
        );
    }
}
