//! The bare statements (the baseline) and their `EXPLAIN QUERY PLAN`.

use std::time::Instant;

use rusqlite::types::Value;
use rusqlite::Connection;

use crate::pages::Statement;
use crate::{timing, Timing, WARMUP};

/// The tables that grow with traffic: a scan of one of them under a filter is flagged.
const BIG_TABLES: [&str; 4] = [
    "oauth2_provider_accesstoken",
    "oauth2_provider_refreshtoken",
    "oauth2_provider_grant",
    "oauth2_provider_idtoken",
];

fn bind(st: &mut rusqlite::Statement<'_>, args: &[Value]) {
    for (i, a) in args.iter().enumerate() {
        st.raw_bind_parameter(i + 1, a).expect("bind");
    }
}

/// The bare statement: prepared once, stepped `WARMUP + reps` times, every column read.
pub(crate) fn bare(c: &Connection, s: &Statement, reps: usize) -> (Timing, usize) {
    let mut st = c.prepare(&s.sql).expect("prepare");
    let columns = st.column_count();
    let mut lat = Vec::with_capacity(reps);
    let mut rows = 0usize;
    let mut bytes = 0usize;
    for i in 0..WARMUP + reps {
        let start = Instant::now();
        bind(&mut st, &s.args);
        let mut r = st.raw_query();
        rows = 0;
        while let Some(row) = r.next().expect("step") {
            rows += 1;
            for col in 0..columns {
                bytes += match row.get_ref(col).expect("column") {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        t.len()
                    }
                    _ => 8,
                };
            }
        }
        drop(r);
        if i >= WARMUP {
            lat.push(start.elapsed());
        }
    }
    std::hint::black_box(bytes);
    (timing(lat), rows)
}

/// `EXPLAIN QUERY PLAN` of `s`: the plan's lines (with a note on each `SCAN`) and what in it
/// is a problem.
pub(crate) fn plan(c: &Connection, s: &Statement) -> (Vec<String>, Vec<String>) {
    let mut st = c
        .prepare(&format!("EXPLAIN QUERY PLAN {}", s.sql))
        .expect("explain");
    bind(&mut st, &s.args);
    let mut rows = st.raw_query();
    let mut lines = Vec::new();
    let mut depth: Vec<(i64, usize)> = Vec::new();
    while let Some(r) = rows.next().expect("plan row") {
        let (id, parent, detail): (i64, i64, String) = (
            r.get(0).expect("id"),
            r.get(1).expect("parent"),
            r.get(3).expect("detail"),
        );
        let level = depth
            .iter()
            .find(|(i, _)| *i == parent)
            .map(|(_, l)| l + 1)
            .unwrap_or(0);
        depth.push((id, level));
        lines.push(format!("{}{detail}", "  ".repeat(level)));
    }
    let mut problems = Vec::new();
    for l in &mut lines {
        let d = l.trim_start().to_string();
        let big = BIG_TABLES
            .iter()
            .any(|t| d.split_whitespace().nth(1) == Some(*t));
        if d.starts_with("SCAN ") {
            if !s.filtered {
                l.push_str(
                    "   (no filter: walks the primary key from the newest row, stops at the LIMIT)",
                );
            } else if big {
                problems.push(format!(
                    "SCAN of a big table under a filter (reads every row until LIMIT rows match): `{d}`"
                ));
            } else {
                l.push_str("   (a small table: not flagged)");
            }
        }
        if d.contains("TEMP B-TREE") {
            problems.push(format!("sorts every matching row: `{d}`"));
        }
    }
    (lines, problems)
}
