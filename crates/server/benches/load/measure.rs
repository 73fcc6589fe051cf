//! Measuring a scenario: requests, latency, CPU and statements per request, and the table.

use std::process::Command;

use common::{ms, Stats};

use crate::*;

pub(crate) struct Settings {
    pub(crate) concurrency: usize,
    pub(crate) secs: f64,
    pub(crate) max_ops: usize,
    pub(crate) runs: usize,
}

/// Counters of a server process read around a scenario.
pub(crate) struct Probe {
    pub(crate) pid: u32,
    pub(crate) stats_url: Option<String>,
}

pub(crate) struct Snapshot {
    pub(crate) statements: Option<u64>,
    pub(crate) cpu_ticks: u64,
}

impl Probe {
    pub(crate) async fn snapshot(&self) -> Snapshot {
        let statements = match &self.stats_url {
            None => None,
            Some(url) => {
                let v: serde_json::Value = reqwest::get(url)
                    .await
                    .expect("stats")
                    .json()
                    .await
                    .expect("stats json");
                v["db_statements"].as_u64()
            }
        };
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime is the 14th field.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Snapshot {
            statements,
            cpu_ticks: ticks(11) + ticks(12),
        }
    }

    /// Reset the peak RSS (Linux ≥ 4.0).
    pub(crate) fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
    }

    pub(crate) fn peak_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(0.0)
    }
}

pub(crate) struct Measured {
    pub(crate) stats: Stats,
    pub(crate) statements_per_op: Option<f64>,
    pub(crate) cpu_ms_per_op: f64,
    pub(crate) peak_mib: f64,
}

/// Run `scenario` `runs` times against the server behind `probe`; keep the median run.
pub(crate) async fn measure<F, Fut>(s: &Settings, probe: &Probe, scenario: F) -> Measured
where
    F: Fn(f64) -> Fut,
    Fut: std::future::Future<Output = Stats>,
{
    let tick_ms = 1000.0 / clock_ticks_per_second();
    let mut runs = Vec::new();
    for _ in 0..s.runs.max(1) {
        // Warm-up (connections, caches, statement caches), then the measured window.
        scenario(0.5).await;
        probe.reset_peak();
        let before = probe.snapshot().await;
        let stats = scenario(s.secs).await;
        let after = probe.snapshot().await;
        let ops = stats.ops.max(1) as f64;
        // Only the measured window is counted; the stats GET itself sends no statement.
        let statements_per_op = match (before.statements, after.statements) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / ops),
            _ => None,
        };
        runs.push(Measured {
            stats,
            statements_per_op,
            cpu_ms_per_op: (after.cpu_ticks - before.cpu_ticks) as f64 * tick_ms / ops,
            peak_mib: probe.peak_mib(),
        });
    }
    runs.sort_by(|a, b| a.stats.rps.total_cmp(&b.stats.rps));
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

pub(crate) fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

pub(crate) fn header() {
    println!(
        "| {:<8} | {:<44} | {:>9} | {:>9} | {:>9} | {:>6} | {:>9} | {:>8} | {:>8} | {:>11} | {:>9} |",
        "backend",
        "scenario",
        "ops/s",
        "p50",
        "p99",
        "errors",
        "db st/op",
        "CPU ms/op",
        "peak RSS",
        "÷ baseline",
        "p99 ÷ base"
    );
    println!(
        "|{:-<10}|{:-<46}|{:->11}|{:->11}|{:->11}|{:->8}|{:->11}|{:->10}|{:->10}|{:->13}|{:->11}|",
        "", "", "", "", "", "", "", "", "", "", ""
    );
}

pub(crate) fn row(backend: &str, name: &str, m: &Measured, base: Option<&Measured>) {
    let st = m
        .statements_per_op
        .map(|v| format!("{v:.2}"))
        .unwrap_or_else(|| "–".into());
    let (ratio, p99) = match base {
        Some(b) => (
            format!("{:.2}", m.stats.rps / b.stats.rps),
            format!(
                "{:.2}",
                m.stats.p99.as_secs_f64() / b.stats.p99.as_secs_f64()
            ),
        ),
        None => ("–".into(), "–".into()),
    };
    println!(
        "| {backend:<8} | {name:<44} | {:>9.0} | {:>9} | {:>9} | {:>6} | {st:>9} | {:>8.3} | {:>5.1} MiB | {ratio:>11} | {p99:>9} |",
        m.stats.rps,
        ms(m.stats.p50),
        ms(m.stats.p99),
        m.stats.errors,
        m.cpu_ms_per_op,
        m.peak_mib,
    );
}
