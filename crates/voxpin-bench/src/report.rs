//! The results: one row per step, printed as an aligned table and written as
//! CSV (with the machine and command lines as leading `#` comment lines),
//! and read back from that CSV ([`from_csv`]) to plot a finished run again.

use std::fmt::Write as _;

/// One measured step: its scenario, its parameter and named figures.
#[derive(Debug, Clone, Default, PartialEq)]
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

/// The header line of the CSV's table.
const CSV_HEADER: &str = "step,param,figure,value";

/// A CSV written by [`to_csv`], read back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The `# key: value` lines, in file order.
    pub meta: Vec<(String, String)>,
    /// The rows, in file order.
    pub rows: Vec<Row>,
}

/// Why a CSV could not be read back; every variant names the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// A `#` line before the header that is not `# key: value`.
    #[error("line {line}: a `#` line must read `# key: value`")]
    Meta {
        /// The offending line.
        line: usize,
    },
    /// The first line that is neither blank nor `#` is not the header.
    #[error("line {line}: expected the header `{CSV_HEADER}`, found `{found}`")]
    Header {
        /// The offending line.
        line: usize,
        /// What the line holds instead.
        found: String,
    },
    /// The text ends before the header.
    #[error("line {line}: the file ends before the header `{CSV_HEADER}`")]
    NoHeader {
        /// The last line of the file.
        line: usize,
    },
    /// A record with other than four fields.
    #[error("line {line}: {found} field(s), expected 4 ({CSV_HEADER})")]
    FieldCount {
        /// The line the record starts on.
        line: usize,
        /// How many fields it has.
        found: usize,
    },
    /// A quoted field that the file ends inside.
    #[error("line {line}: a quoted field opened here is never closed")]
    Unclosed {
        /// The line the field opens on.
        line: usize,
    },
    /// A `"` inside a field that does not start with one.
    #[error(
        "line {line}: a `\"` inside an unquoted field (quote the whole field and double the quote)"
    )]
    StrayQuote {
        /// The offending line.
        line: usize,
    },
    /// Something other than `,` or the line's end after a closing quote.
    #[error(
        "line {line}: text after a closing `\"` (a quote inside a quoted field is written `\"\"`)"
    )]
    AfterQuote {
        /// The offending line.
        line: usize,
    },
}

/// Reads back a CSV written by [`to_csv`]: the `# key: value` lines, the
/// header, then one record per figure (fields quoted as [`csv_field`] quotes
/// them, so a quoted field may hold commas, doubled quotes and line breaks).
/// Consecutive records with the same step and parameter form one row, and a
/// figure name seen again starts a new row. Blank lines and `\r\n` line ends
/// are accepted. Meta values come back as written: `to_csv` has already
/// turned their line breaks into spaces.
pub fn from_csv(text: &str) -> Result<Report, CsvError> {
    let mut cursor = Cursor {
        rest: text,
        line: 1,
    };
    let mut report = Report::default();
    loop {
        let line = cursor.line;
        let Some(content) = cursor.next_line() else {
            return Err(CsvError::NoHeader {
                line: cursor.line.saturating_sub(1).max(1),
            });
        };
        if content.is_empty() {
            continue;
        }
        if let Some(meta) = content.strip_prefix('#') {
            let (key, value) = meta.split_once(':').ok_or(CsvError::Meta { line })?;
            let value = value.strip_prefix(' ').unwrap_or(value);
            report.meta.push((key.trim().to_owned(), value.to_owned()));
            continue;
        }
        if content != CSV_HEADER {
            return Err(CsvError::Header {
                line,
                found: content.to_owned(),
            });
        }
        break;
    }
    while let Some((line, fields)) = cursor.record()? {
        if fields.len() == 1 && fields[0].is_empty() {
            continue; // a blank line
        }
        let [step, param, name, value] = match <[String; 4]>::try_from(fields) {
            Ok(fields) => fields,
            Err(fields) => {
                return Err(CsvError::FieldCount {
                    line,
                    found: fields.len(),
                })
            }
        };
        let same_row = report.rows.last().is_some_and(|r| {
            r.step == step && r.param == param && !r.figures.iter().any(|(n, _)| *n == name)
        });
        if !same_row {
            report.rows.push(Row::new(&step, param));
        }
        if let Some(row) = report.rows.last_mut() {
            row.figures.push((name, value));
        }
    }
    Ok(report)
}

/// The unread part of a CSV text and the line it starts on.
struct Cursor<'a> {
    rest: &'a str,
    /// The 1-based line of `rest`'s first character.
    line: usize,
}

impl<'a> Cursor<'a> {
    /// The next line without its line end, or `None` at the end of the text.
    fn next_line(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = self.rest.split_once('\n').unwrap_or((self.rest, ""));
        self.rest = rest;
        self.line += 1;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    /// The next record's first line and fields, or `None` at the end of the
    /// text. A quoted field's line breaks are part of the record.
    fn record(&mut self) -> Result<Option<(usize, Vec<String>)>, CsvError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let start = self.line;
        let mut fields = Vec::new();
        let mut chars = self.rest.char_indices().peekable();
        let end = loop {
            let mut field = String::new();
            if chars.next_if(|&(_, c)| c == '"').is_some() {
                let opened = self.line;
                loop {
                    match chars.next() {
                        None => return Err(CsvError::Unclosed { line: opened }),
                        Some((_, '"')) => {
                            if chars.next_if(|&(_, c)| c == '"').is_some() {
                                field.push('"');
                            } else {
                                break;
                            }
                        }
                        Some((_, c)) => {
                            if c == '\n' {
                                self.line += 1;
                            }
                            field.push(c);
                        }
                    }
                }
                chars.next_if(|&(_, c)| c == '\r');
                match chars.peek() {
                    None | Some((_, ',' | '\n')) => {}
                    Some(_) => return Err(CsvError::AfterQuote { line: self.line }),
                }
            } else {
                while let Some(&(_, c)) = chars.peek() {
                    match c {
                        ',' | '\n' => break,
                        '"' => return Err(CsvError::StrayQuote { line: self.line }),
                        _ => {
                            field.push(c);
                            chars.next();
                        }
                    }
                }
                if field.ends_with('\r') && chars.peek().is_none_or(|&(_, c)| c == '\n') {
                    field.pop();
                }
            }
            fields.push(field);
            match chars.next() {
                Some((_, ',')) => continue,
                Some((i, _)) => break i + 1, // the '\n'
                None => break self.rest.len(),
            }
        };
        self.rest = &self.rest[end..];
        self.line += 1;
        Ok(Some((start, fields)))
    }
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

    /// A row with `figures`.
    fn row(step: &str, param: &str, figures: &[(&str, &str)]) -> Row {
        let mut r = Row::new(step, param);
        for (n, v) in figures {
            r.set(n, v);
        }
        r
    }

    #[test]
    fn csv_reads_back_what_it_wrote() {
        let meta = vec![
            ("voxpin".to_owned(), "voxpin 0.1.0".to_owned()),
            ("cpu".to_owned(), "Xeon, \"2.2 GHz\": fast".to_owned()),
            ("command".to_owned(), "voxpin-bench\n--quick".to_owned()),
            ("empty".to_owned(), String::new()),
        ];
        let rows = vec![
            row(
                "S2",
                "calls=500",
                &[("calls", "500"), ("lateness_p99_ms", "-")],
            ),
            row("floor", "calls=500", &[("ratio", "1.40")]),
            row(
                "we,ird",
                "say \"hi\"",
                &[("multi\nline", "a,\"b\"\r\nc"), ("", ""), ("q", "\"")],
            ),
            // Same step and parameter twice in a row: the repeated figure
            // name starts the second row.
            row("S1", "rate=50", &[("calls", "250")]),
            row("S1", "rate=50", &[("calls", "250")]),
        ];
        let back = from_csv(&to_csv(&meta, &rows)).expect("our own CSV parses");
        let mut expected_meta = meta.clone();
        expected_meta[2].1 = "voxpin-bench --quick".to_owned();
        assert_eq!(back.meta, expected_meta);
        assert_eq!(back.rows, rows);
    }

    #[test]
    fn csv_accepts_crlf_and_blank_lines() {
        let text = "# a: b\r\n\r\nstep,param,figure,value\r\nS2,calls=1,p99,\"1,5\"\r\n\r\nS2,calls=1,p50,0.5\r\n";
        let back = from_csv(text).expect("parses");
        assert_eq!(back.meta, vec![("a".to_owned(), "b".to_owned())]);
        assert_eq!(
            back.rows,
            vec![row("S2", "calls=1", &[("p99", "1,5"), ("p50", "0.5")])]
        );
    }

    #[test]
    fn malformed_csv_names_the_line() {
        let h = "step,param,figure,value\n";
        let cases: Vec<(String, CsvError, &str)> = vec![
            (
                format!("# a: b\n{h}S2,calls=1,p99\n"),
                CsvError::FieldCount { line: 3, found: 3 },
                "line 3: 3 field(s), expected 4",
            ),
            (
                format!("{h}S2,\"calls=1,p99,1\nS2,calls=1,p50,2\n"),
                CsvError::Unclosed { line: 2 },
                "line 2: a quoted field opened here is never closed",
            ),
            (
                format!("{h}S2,\"a\nb\",p99,1\nS2,ca\"lls,p,1\n"),
                CsvError::StrayQuote { line: 4 },
                "line 4: a `\"` inside an unquoted field",
            ),
            (
                format!("{h}S2,\"calls\"=1,p99,1\n"),
                CsvError::AfterQuote { line: 2 },
                "line 2: text after a closing `\"`",
            ),
            (
                "# a: b\nstep,param,name\n".to_owned(),
                CsvError::Header {
                    line: 2,
                    found: "step,param,name".to_owned(),
                },
                "line 2: expected the header",
            ),
            (
                "# a: b\n# c: d\n".to_owned(),
                CsvError::NoHeader { line: 2 },
                "line 2: the file ends before the header",
            ),
            (
                format!("# a: b\n# no colon\n{h}"),
                CsvError::Meta { line: 2 },
                "line 2: a `#` line must read `# key: value`",
            ),
        ];
        for (text, error, message) in cases {
            let got = from_csv(&text).expect_err(&text);
            assert_eq!(got, error, "{text:?}");
            assert!(got.to_string().starts_with(message), "{got} for {text:?}");
        }
    }

    #[test]
    fn every_truncation_parses_or_errs_without_panicking() {
        let rows = vec![row("S2", "a,\"b\"\nc", &[("µs", "1\r\n2"), ("x", "-")])];
        let text = to_csv(&[("k".into(), "v".into())], &rows);
        for (i, _) in text.char_indices() {
            let _ = from_csv(&text[..i]);
        }
        assert!(from_csv("").is_err());
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
