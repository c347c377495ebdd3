//! The columns the sink's SQL names, checked against the database at
//! start: `CREATE TABLE IF NOT EXISTS` leaves a table made by an earlier
//! build as it is, and a missing column (every flush fails with `42703`) or
//! an extra `NOT NULL` column without a default (every insert fails with
//! `23502`) would otherwise fail forever with only the server's message.
//!
//! What is safe is repaired (a missing column that is nullable or has a
//! default is added; a column an earlier heliostat made `NOT NULL` and no
//! longer writes is made nullable); anything else is named, with the
//! statement an owner can run.

/// A column heliostat writes or reads.
struct Col {
    table: &'static str,
    name: &'static str,
    /// How it is added when missing (as in the migration's `CREATE TABLE`),
    /// or `None` when it cannot be added to a table that has rows (a key,
    /// or `NOT NULL` without a default).
    add: Option<&'static str>,
}

const fn col(table: &'static str, name: &'static str, add: Option<&'static str>) -> Col {
    Col { table, name, add }
}

const COUNTER: Option<&str> = Some("bigint NOT NULL DEFAULT 0");
const STAMP: Option<&str> = Some("timestamptz");
const UPDATED: Option<&str> = Some("timestamptz NOT NULL DEFAULT now()");

/// Every column `sql.rs` names, by table.
const COLUMNS: [Col; 33] = [
    col("client_statistics", "client_name", None),
    col("client_statistics", "total_requests", COUNTER),
    col("client_statistics", "successful_requests", COUNTER),
    col("client_statistics", "failed_requests", COUNTER),
    col("client_statistics", "total_cached_requests", COUNTER),
    col("client_statistics", "total_operations", COUNTER),
    col("client_statistics", "last_request_at", STAMP),
    col("client_statistics", "last_operation_at", STAMP),
    col("client_statistics", "last_seen_at", STAMP),
    col("client_statistics", "updated_at", UPDATED),
    col("client_table_statistics", "client_name", None),
    col("client_table_statistics", "table_name", None),
    col("client_table_statistics", "operation", None),
    col("client_table_statistics", "total_operations", COUNTER),
    col("client_table_statistics", "error_operations", COUNTER),
    col("client_table_statistics", "last_operation_at", STAMP),
    col("client_table_statistics", "updated_at", UPDATED),
    col("heliostat_sink_batches", "sink_id", None),
    col("heliostat_sink_batches", "last_seq", None),
    col("heliostat_sink_batches", "updated_at", UPDATED),
    col("warm_jobs", "sink_id", None),
    col("warm_jobs", "job", None),
    col("warm_jobs", "context", Some("text")),
    col("warm_jobs", "rule", None),
    col("warm_jobs", "started_at", None),
    col("warm_jobs", "keys", None),
    col("warm_jobs", "written", None),
    col("warm_jobs", "left_alone", None),
    col("warm_jobs", "no_row", None),
    col("warm_jobs", "errors", None),
    col("warm_jobs", "outcome", None),
    col("warm_jobs", "reason", Some("text")),
    col("warm_jobs", "id", None),
];

/// Columns an earlier heliostat created `NOT NULL` without a default and
/// this one never writes: made nullable (old rows keep their values).
const RETIRED: [(&str, &str); 1] = [("warm_jobs", "overwritten")];

/// The columns of the sink's tables in schema `$1` (`$2`: the table
/// names), read from the catalog rather than `information_schema`, which
/// hides the columns of tables the role has no privilege on.
pub(super) const CATALOG_SQL: &str = "\
SELECT c.relname::text, a.attname::text, a.attnotnull, (a.atthasdef OR a.attidentity <> '')
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = ANY($2) AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped";

/// One column as found: table, name, `NOT NULL`, has a default (or is an
/// identity or generated column).
pub(super) type Found = (String, String, bool, bool);

/// What the check found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Plan {
    /// Statements that repair what is safe to repair.
    pub repairs: Vec<String>,
    /// What each repair fixes, to name it if the repair is refused.
    pub repaired: Vec<String>,
    /// What cannot be repaired here, each with what to do.
    pub problems: Vec<String>,
}

/// Compare the columns found in `schema` (already quoted as `q`) with the
/// ones heliostat names.
pub(super) fn plan(schema: &str, q: &str, found: &[Found]) -> Plan {
    let has = |t: &str, c: &str| found.iter().any(|f| f.0 == t && f.1 == c);
    let mut p = Plan::default();
    for c in COLUMNS.iter().filter(|c| c.name != "id") {
        if has(c.table, c.name) {
            continue;
        }
        let (t, n) = (c.table, c.name);
        match c.add {
            Some(def) => {
                p.repairs.push(format!(
                    "ALTER TABLE {q}.{t} ADD COLUMN IF NOT EXISTS {n} {def}"
                ));
                p.repaired.push(format!("{schema}.{t} lacks column {n}"));
            }
            None => p.problems.push(format!(
                "{schema}.{t} lacks column {n}, which heliostat writes \
                 (move the table aside: heliostat creates it again)"
            )),
        }
    }
    for (t, n, not_null, has_default) in found {
        let ours = COLUMNS.iter().any(|c| c.table == t && c.name == n);
        if ours || !*not_null || *has_default {
            continue;
        }
        let fix = format!("ALTER TABLE {q}.{t} ALTER COLUMN {n} DROP NOT NULL");
        if RETIRED.contains(&(t.as_str(), n.as_str())) {
            p.repaired.push(format!(
                "{schema}.{t}.{n} is NOT NULL without a default \
                 (an earlier heliostat's; no longer written)"
            ));
            p.repairs.push(fix);
        } else {
            p.problems.push(format!(
                "{schema}.{t}.{n} is NOT NULL without a default and heliostat does not \
                 write it (give it a default, or run: {fix})"
            ));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(cols: &[(&str, &str, bool, bool)]) -> Vec<Found> {
        cols.iter()
            .map(|(t, c, nn, d)| (t.to_string(), c.to_string(), *nn, *d))
            .collect()
    }

    /// Everything heliostat names, as its own migration makes it.
    fn complete() -> Vec<Found> {
        COLUMNS
            .iter()
            .map(|c| (c.table.to_string(), c.name.to_string(), true, true))
            .collect()
    }

    #[test]
    fn the_migration_creates_every_column_as_the_check_adds_it() {
        let ddl = super::super::sql::migration_for_tests("heliostat");
        for c in &COLUMNS {
            let want = match c.add {
                Some(def) => format!("    {} {def}", c.name),
                None => format!("    {} ", c.name),
            };
            assert!(ddl.contains(&want), "{}.{}: {want}", c.table, c.name);
        }
    }

    #[test]
    fn a_complete_schema_needs_nothing() {
        assert_eq!(plan("h", "\"h\"", &complete()), Plan::default());
        // Extra columns that may be left out of an insert are fine.
        let mut f = complete();
        f.extend(found(&[
            ("warm_jobs", "note", false, false),
            ("warm_jobs", "tag", true, true),
        ]));
        assert_eq!(plan("h", "\"h\"", &f), Plan::default());
    }

    #[test]
    fn safe_repairs_are_planned_and_the_rest_is_named() {
        let mut f: Vec<Found> = complete()
            .into_iter()
            .filter(|c| c.1 != "last_seen_at" && !(c.0 == "warm_jobs" && c.1 == "keys"))
            .collect();
        f.extend(found(&[
            ("warm_jobs", "overwritten", true, false),
            ("client_statistics", "region", true, false),
        ]));
        let p = plan("user", "\"user\"", &f);
        assert_eq!(
            p.repairs,
            vec![
                "ALTER TABLE \"user\".client_statistics ADD COLUMN IF NOT EXISTS last_seen_at timestamptz",
                "ALTER TABLE \"user\".warm_jobs ALTER COLUMN overwritten DROP NOT NULL",
            ]
        );
        assert_eq!(p.repaired.len(), 2);
        assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
        assert!(p.problems[0].starts_with("user.warm_jobs lacks column keys"));
        assert!(
            p.problems[1]
                .starts_with("user.client_statistics.region is NOT NULL without a default")
                && p.problems[1].contains(
                    "ALTER TABLE \"user\".client_statistics ALTER COLUMN region DROP NOT NULL"
                ),
            "{}",
            p.problems[1]
        );
    }
}
