//! Latency recording per request type, and the final report (table and JSON).
//!
//! Every finished request is recorded, failed ones included (their latency is what the
//! server or the network cost). Throughput of a request type is its count divided by the
//! wall time from the start of its first request to the end of its last one.

use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histograms track exactly, in microseconds (10 minutes); longer ones
/// are clamped to it.
const MAX_TRACKED_MICROS: u64 = 600_000_000;
/// Longest error body kept in a sample.
const MAX_DETAIL_CHARS: usize = 600;

/// One failed request, kept for printing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorSample {
    pub operation: String,
    /// HTTP status; `None` for a transport error (refused, reset, timeout).
    pub status: Option<u16>,
    pub detail: String,
}

impl ErrorSample {
    pub fn new(operation: &str, status: Option<u16>, detail: &str) -> Self {
        let detail = detail.trim();
        let detail = match detail.char_indices().nth(MAX_DETAIL_CHARS) {
            Some((cut, _)) => format!("{}…", &detail[..cut]),
            None => detail.to_owned(),
        };
        Self {
            operation: operation.to_owned(),
            status,
            detail,
        }
    }
}

struct OpStats {
    name: String,
    histogram: Histogram<u64>,
    count: u64,
    errors: u64,
    first_start: Instant,
    last_end: Instant,
}

#[derive(Default)]
struct State {
    /// In order of first use, so the table follows the run.
    ops: Vec<OpStats>,
    samples: Vec<ErrorSample>,
}

/// Thread-safe collector shared by all in-flight requests.
pub struct Recorder {
    state: Mutex<State>,
    max_samples: usize,
}

impl Recorder {
    pub fn new(max_samples: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            max_samples,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the counters half-written in a way
        // that matters for a report; keep going.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one finished request of type `operation` that ran from `start` to `end`.
    pub fn record(&self, operation: &str, start: Instant, end: Instant, ok: bool) {
        let micros = u64::try_from(end.saturating_duration_since(start).as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, MAX_TRACKED_MICROS);
        let mut state = self.lock();
        let index = match state.ops.iter().position(|op| op.name == operation) {
            Some(index) => index,
            None => {
                let Ok(histogram) = Histogram::new_with_bounds(1, MAX_TRACKED_MICROS, 3) else {
                    return;
                };
                state.ops.push(OpStats {
                    name: operation.to_owned(),
                    histogram,
                    count: 0,
                    errors: 0,
                    first_start: start,
                    last_end: end,
                });
                state.ops.len() - 1
            }
        };
        let op = &mut state.ops[index];
        op.histogram.saturating_record(micros);
        op.count += 1;
        if !ok {
            op.errors += 1;
        }
        op.first_start = op.first_start.min(start);
        op.last_end = op.last_end.max(end);
    }

    /// Counts an error for an already recorded request of type `operation` that answered
    /// 2xx but not what the run needed.
    pub fn mark_error(&self, operation: &str) {
        let mut state = self.lock();
        if let Some(op) = state.ops.iter_mut().find(|op| op.name == operation) {
            op.errors += 1;
        }
    }

    /// Keeps `sample` if fewer than the configured number are kept yet.
    pub fn sample_error(&self, sample: ErrorSample) {
        let mut state = self.lock();
        if state.samples.len() < self.max_samples {
            state.samples.push(sample);
        }
    }

    pub fn rows(&self) -> Vec<OpRow> {
        self.lock().ops.iter().map(OpRow::from_stats).collect()
    }

    pub fn error_samples(&self) -> Vec<ErrorSample> {
        self.lock().samples.clone()
    }

    pub fn total_errors(&self) -> u64 {
        self.lock().ops.iter().map(|op| op.errors).sum()
    }
}

/// Summary of one request type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpRow {
    pub operation: String,
    pub count: u64,
    pub errors: u64,
    /// Requests per second over the span from the first request's start to the last one's end.
    pub throughput_rps: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

impl OpRow {
    fn from_stats(op: &OpStats) -> Self {
        let span = op.last_end.saturating_duration_since(op.first_start);
        Self {
            operation: op.name.clone(),
            count: op.count,
            errors: op.errors,
            throughput_rps: throughput(op.count, span),
            mean_ms: op.histogram.mean() / 1000.0,
            p50_ms: ms(op.histogram.value_at_quantile(0.50)),
            p95_ms: ms(op.histogram.value_at_quantile(0.95)),
            p99_ms: ms(op.histogram.value_at_quantile(0.99)),
            max_ms: ms(op.histogram.max()),
        }
    }
}

fn throughput(count: u64, span: Duration) -> f64 {
    let secs = span.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// Everything a run reports; `--json` writes exactly this.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: String,
    pub base_url: String,
    pub prefix: String,
    pub concurrency: u32,
    /// Start of the run, milliseconds since the Unix epoch.
    pub started_unix_ms: u128,
    pub elapsed_s: f64,
    /// The mode's own parameters (sizes, counts, percentages).
    pub params: serde_json::Value,
    pub operations: Vec<OpRow>,
    pub total_requests: u64,
    pub total_errors: u64,
    pub error_samples: Vec<ErrorSample>,
    /// Observations of the mode (what it found, skipped or built).
    pub notes: Vec<String>,
    /// CPU seconds per process during the run (`--cpu`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<crate::cpu::CpuUsage>,
}

impl Report {
    /// The human-readable summary: header line, table, notes and error samples.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} against {} (prefix {}, concurrency {}): {} requests, {} errors in {:.1} s",
            self.mode,
            self.base_url,
            self.prefix,
            self.concurrency,
            self.total_requests,
            self.total_errors,
            self.elapsed_s
        );
        out.push('\n');
        out.push_str(&render_table(&self.operations));
        if let Some(cpu) = &self.cpu {
            out.push('\n');
            let users = self.params.get("users").and_then(serde_json::Value::as_u64);
            match users {
                Some(users) if self.mode == "initial-sync" => {
                    out.push_str(&cpu.render("provisioned user", users));
                }
                _ => out.push_str(&cpu.render("request", self.total_requests)),
            }
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "note: {note}");
            }
        }
        if !self.error_samples.is_empty() {
            let _ = writeln!(
                out,
                "\nfirst {} error(s) of {}:",
                self.error_samples.len(),
                self.total_errors
            );
            for sample in &self.error_samples {
                let status = sample
                    .status
                    .map_or_else(|| "transport".to_owned(), |s| s.to_string());
                let _ = writeln!(
                    out,
                    "  {} [{}]: {}",
                    sample.operation, status, sample.detail
                );
            }
        }
        out
    }
}

/// One line per request type: count, errors, req/s and latency percentiles in ms.
pub fn render_table(rows: &[OpRow]) -> String {
    const HEADERS: [&str; 8] = [
        "count", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms",
    ];
    let name_width = rows
        .iter()
        .map(|r| r.operation.chars().count())
        .chain(std::iter::once("operation".len()))
        .max()
        .unwrap_or(9);
    let mut out = format!("{:<name_width$}", "operation");
    for header in HEADERS {
        let _ = write!(out, " {header:>9}");
    }
    out.push('\n');
    let _ = writeln!(out, "{}", "-".repeat(name_width + HEADERS.len() * 10));
    for r in rows {
        let _ = writeln!(
            out,
            "{:<name_width$} {:>9} {:>9} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            r.operation,
            r.count,
            r.errors,
            r.throughput_rps,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.max_ms,
            r.mean_ms
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn aggregates_per_operation_in_order_of_first_use() {
        let rec = Recorder::new(2);
        let t0 = Instant::now();
        // 100 user.create requests of 1..=100 ms, back to back over one second.
        for i in 1..=100u64 {
            let start = at(t0, (i - 1) * 10);
            rec.record(
                "user.create",
                start,
                start + Duration::from_millis(i),
                i != 7,
            );
        }
        rec.record("group.patch", at(t0, 0), at(t0, 500), true);
        rec.record("user.lookup", at(t0, 0), at(t0, 2), false);
        rec.mark_error("group.patch");
        rec.mark_error("never.recorded");

        let rows = rec.rows();
        let names: Vec<_> = rows.iter().map(|r| r.operation.as_str()).collect();
        assert_eq!(names, ["user.create", "group.patch", "user.lookup"]);

        let create = &rows[0];
        assert_eq!(create.count, 100);
        assert_eq!(create.errors, 1);
        // Histograms keep 3 significant digits.
        assert!((create.p50_ms - 50.0).abs() < 0.1, "{}", create.p50_ms);
        assert!((create.p95_ms - 95.0).abs() < 0.1, "{}", create.p95_ms);
        assert!((create.p99_ms - 99.0).abs() < 0.1, "{}", create.p99_ms);
        assert!((create.max_ms - 100.0).abs() < 0.1, "{}", create.max_ms);
        assert!((create.mean_ms - 50.5).abs() < 0.1, "{}", create.mean_ms);
        // First start 0 ms, last end 990 + 100 = 1090 ms.
        assert!((create.throughput_rps - 100.0 / 1.09).abs() < 0.01);

        assert_eq!(rows[1].count, 1);
        assert_eq!(rows[1].errors, 1);
        assert!((rows[1].throughput_rps - 2.0).abs() < 1e-9);
        assert_eq!(rec.total_errors(), 3);
    }

    #[test]
    fn keeps_only_the_first_error_samples_and_truncates_them() {
        let rec = Recorder::new(2);
        rec.sample_error(ErrorSample::new("a", Some(500), "  boom  "));
        rec.sample_error(ErrorSample::new("b", None, &"x".repeat(5000)));
        rec.sample_error(ErrorSample::new("c", Some(503), "late"));
        let samples = rec.error_samples();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].detail, "boom");
        assert_eq!(samples[1].detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(samples[1].detail.ends_with('…'));
    }

    #[test]
    fn zero_length_spans_do_not_divide_by_zero() {
        assert_eq!(throughput(5, Duration::ZERO), 0.0);
        let rec = Recorder::new(0);
        let t = Instant::now();
        rec.record("x", t, t, true);
        let row = &rec.rows()[0];
        assert_eq!(row.throughput_rps, 0.0);
        // Clamped to the 1 µs floor of the histogram.
        assert_eq!(row.max_ms, 0.001);
    }

    fn report() -> Report {
        let rec = Recorder::new(5);
        let t0 = Instant::now();
        rec.record("user.lookup", t0, at(t0, 3), true);
        rec.record("group.member_add[size=100000]", t0, at(t0, 40), false);
        rec.sample_error(ErrorSample::new(
            "group.member_add[size=100000]",
            Some(503),
            "{\"detail\":\"retry\"}",
        ));
        Report {
            mode: "big-group".into(),
            base_url: "http://127.0.0.1:8080/scim/v2".into(),
            prefix: "abc".into(),
            concurrency: 64,
            started_unix_ms: 1,
            elapsed_s: 1.5,
            params: serde_json::json!({"sizes": [10, 100000]}),
            operations: rec.rows(),
            total_requests: 2,
            total_errors: rec.total_errors(),
            error_samples: rec.error_samples(),
            notes: vec!["built 2 groups".into()],
            cpu: None,
        }
    }

    #[test]
    fn a_cpu_measurement_is_rendered_per_provisioned_user_for_initial_sync() {
        let mut cpu = crate::cpu::CpuUsage::default();
        cpu.seconds.insert("postgres".into(), 3.0);
        cpu.seconds.insert("scim-bench (load)".into(), 1.0);
        let mut sync = Report {
            mode: "initial-sync".into(),
            params: serde_json::json!({"users": 1000}),
            cpu: Some(cpu),
            ..report()
        };
        let text = sync.render();
        assert!(text.contains("3.000 ms per provisioned user"), "{text}");
        sync.mode = "lookup".into();
        let text = sync.render();
        assert!(text.contains("1500.000 ms per request"), "{text}");
    }

    #[test]
    fn table_has_a_header_and_one_aligned_line_per_operation() {
        let text = report().render();
        let lines: Vec<_> = text.lines().collect();
        assert!(lines[0].starts_with("big-group against http://127.0.0.1:8080/scim/v2"));
        let header = lines
            .iter()
            .position(|l| l.starts_with("operation"))
            .unwrap();
        assert!(lines[header].contains("p99 ms"));
        let lookup = lines[header + 2];
        let add = lines[header + 3];
        assert!(lookup.starts_with("user.lookup "), "{lookup}");
        assert!(add.starts_with("group.member_add[size=100000] "), "{add}");
        assert_eq!(lookup.len(), add.len());
        assert_eq!(lines[header].len(), lookup.len());
        assert!(text.contains("note: built 2 groups"));
        assert!(text.contains("group.member_add[size=100000] [503]: {\"detail\":\"retry\"}"));
    }

    #[test]
    fn json_report_carries_the_same_rows() {
        let report = report();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["mode"], "big-group");
        assert_eq!(json["total_errors"], 1);
        let ops = json["operations"].as_array().unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0]["operation"], "user.lookup");
        assert_eq!(ops[0]["count"], 1);
        assert!((ops[0]["p50_ms"].as_f64().unwrap() - 3.0).abs() < 0.01);
        for key in ["throughput_rps", "p95_ms", "p99_ms", "max_ms", "errors"] {
            assert!(ops[1].get(key).is_some(), "{key}");
        }
        assert_eq!(json["error_samples"][0]["status"], 503);
        assert_eq!(json["params"]["sizes"][1], 100000);
    }
}
