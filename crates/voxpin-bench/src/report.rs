//! The results: one row per step, printed as an aligned table and written as
//! CSV (with the machine and command lines as leading `#` comment lines).

use std::fmt::Write as _;

/// One measured step: its scenario, its parameter and named figures.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// `S1`, `S2`, `S3` or `floor`.
    pub step: String,
    /// The step's parameter (`rate=500`, `calls=2000`, …).
    pub param: String,
    /// `(name, value)` pairs, in print order.
    pub figures: Vec<(String, String)>,
}

impl Row {
    /// A row for `step` at `param`.
    pub fn new(step: &str, param: impl Into<String>) -> Self {
        Self {
            step: step.to_owned(),
            param: param.into(),
            figures: Vec::new(),
        }
    }

    /// Adds a figure.
    pub fn set(&mut self, name: &str, value: impl ToString) {
        self.figures.push((name.to_owned(), value.to_string()));
    }

    /// Adds a figure in milliseconds with three decimals, or `-` when absent.
    pub fn set_ms(&mut self, name: &str, seconds: Option<f64>) {
        self.set(name, fmt_opt(seconds.map(|s| s * 1e3), 3));
    }
}

/// `v` with `decimals`, or `-`.
pub fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

/// Quotes a CSV field when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The CSV text: `# key: value` lines for `meta`, then a long-form table
/// `step,param,figure,value` (one line per figure, so steps with different
/// figures share one file).
pub fn to_csv(meta: &[(String, String)], rows: &[Row]) -> String {
    let mut out = String::new();
    for (k, v) in meta {
        let _ = writeln!(out, "# {k}: {}", v.replace(['\n', '\r'], " "));
    }
    out.push_str("step,param,figure,value\n");
    for r in rows {
        for (name, value) in &r.figures {
            let _ = writeln!(
                out,
                "{},{},{},{}",
                csv_field(&r.step),
                csv_field(&r.param),
                csv_field(name),
                csv_field(value)
            );
        }
    }
    out
}

/// An aligned text table per step kind (rows of one kind share columns).
pub fn to_table(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut kinds: Vec<&str> = Vec::new();
    for r in rows {
        if !kinds.contains(&r.step.as_str()) {
            kinds.push(&r.step);
        }
    }
    for kind in kinds {
        let group: Vec<&Row> = rows.iter().filter(|r| r.step == kind).collect();
        let mut header = vec!["step".to_owned(), "param".to_owned()];
        for r in &group {
            for (name, _) in &r.figures {
                if !header.contains(name) {
                    header.push(name.clone());
                }
            }
        }
        let mut lines: Vec<Vec<String>> = vec![header.clone()];
        for r in &group {
            let mut line = vec![r.step.clone(), r.param.clone()];
            for name in header.iter().skip(2) {
                let v = r.figures.iter().find(|(n, _)| n == name);
                line.push(v.map_or_else(|| "-".to_owned(), |(_, v)| v.clone()));
            }
            lines.push(line);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                lines
                    .iter()
                    .map(|l| l.get(i).map_or(0, String::len))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for line in lines {
            let cells: Vec<String> = line
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        let mut r = Row::new("S1", "rate=50");
        r.set("calls", 500);
        r.set_ms("p99", Some(0.0012));
        r.set_ms("p50", None);
        let csv = to_csv(&[("cmd".into(), "voxpin-bench --quick\nx".into())], &[r]);
        assert_eq!(
            csv,
            "# cmd: voxpin-bench --quick x\n\
             step,param,figure,value\n\
             S1,rate=50,calls,500\n\
             S1,rate=50,p99,1.200\n\
             S1,rate=50,p50,-\n"
        );
    }

    #[test]
    fn table_aligns_columns_per_step_kind() {
        let mut a = Row::new("S2", "calls=500");
        a.set("failed", 0);
        let mut b = Row::new("S2", "calls=1000");
        b.set("failed", 12);
        b.set("cpu_pct", "55.0");
        let t = to_table(&[a, b]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "step       param  failed  cpu_pct");
        assert_eq!(lines[1], "  S2   calls=500       0        -");
        assert_eq!(lines[2], "  S2  calls=1000      12     55.0");
    }
}
