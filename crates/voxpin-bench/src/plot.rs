//! The S2 plot: a PNG of lateness and CPU against the number of concurrent
//! calls, drawn from the rows the bench writes to its CSV.
//!
//! Two panels share the x axis (N, the `calls` figure of each S2 row):
//!
//! - (a) send-slot lateness p50 / p99 / p99.9 / max (`lateness_*_ms`) and,
//!   when the rows carry it, the receiver-side gap p99 (`rx_gap_p99_ms`),
//!   on a log scale, with the targets as dashed lines: p99 ≤ 1 ms and
//!   max ≤ 10 ms;
//! - (b) voxpin's CPU % (`voxpin_cpu_pct`, left axis) and its CPU per packet
//!   relative to the floor pump (the `ratio` of the `floor` row with the
//!   same parameter, right axis), with the 1.5× target.
//!
//! Pure Rust: plotters draws into a memory buffer, the `png` crate encodes
//! it, and the text comes from a DejaVu Sans subset embedded in the binary
//! (`fonts/`), so no system font or library is needed.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::report::Row;

/// Width of the PNG the bench writes, in pixels.
pub const WIDTH: u32 = 1200;
/// Height of the PNG the bench writes, in pixels.
pub const HEIGHT: u32 = 1000;

/// Smallest size the layout fits in.
const MIN_SIZE: (u32, u32) = (640, 480);
/// Largest size accepted (keeps the pixel buffer under about 100 MB).
const MAX_SIZE: (u32, u32) = (8000, 4000);

/// The p99 lateness target (ms).
const P99_TARGET_MS: f64 = 1.0;
/// The max lateness target (ms).
const MAX_TARGET_MS: f64 = 10.0;
/// The target for voxpin's CPU per packet over the floor pump's.
const RATIO_TARGET: f64 = 1.5;

/// DejaVu Sans, printable ASCII and a few symbols (see `fonts/README.md`).
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");

/// Why no plot was drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The rows hold no S2 step, so there is nothing to plot.
    #[error("no S2 rows to plot (run the s2 step: `--steps s2` or the default)")]
    NoS2Rows,
    /// An S2 row whose call count is neither a `calls` figure nor `calls=N`.
    #[error("S2 row `{param}` has no call count (no `calls` figure, param not `calls=N`)")]
    NoCallCount {
        /// The row's parameter.
        param: String,
    },
    /// The requested image is too small for the layout or too large.
    #[error(
        "image size {width}x{height} outside {}x{} ..= {}x{}",
        MIN_SIZE.0, MIN_SIZE.1, MAX_SIZE.0, MAX_SIZE.1
    )]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// The embedded font did not load (a corrupt build).
    #[error("the embedded font does not load")]
    Font,
    /// plotters failed to draw; its message.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
}

/// One S2 step as the plot reads it (`None`: absent or `-`).
#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// Concurrent calls.
    calls: f64,
    /// Send-slot lateness p50, p99, p99.9, max (ms).
    lateness: [Option<f64>; 4],
    /// Receiver-side inter-arrival gap p99 (ms).
    rx_gap_p99: Option<f64>,
    /// voxpin's CPU % (100 = one core).
    cpu_pct: Option<f64>,
    /// voxpin µs per packet ÷ the floor pump's.
    ratio: Option<f64>,
}

/// Renders the S2 rows of `rows` as a `width` × `height` RGB PNG, titled
/// with the machine and versions from `meta` (the CSV's `#` lines).
pub fn render_png(
    meta: &[(String, String)],
    rows: &[Row],
    width: u32,
    height: u32,
) -> Result<Vec<u8>, PlotError> {
    if !(MIN_SIZE.0..=MAX_SIZE.0).contains(&width) || !(MIN_SIZE.1..=MAX_SIZE.1).contains(&height) {
        return Err(PlotError::Size { width, height });
    }
    let steps = s2_steps(rows)?;
    if steps.is_empty() {
        return Err(PlotError::NoS2Rows);
    }
    load_font()?;
    // Sizes are bounded above, so the product fits in usize.
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let (top, panels) = root.split_vertically(90);
        draw_title(&top, meta)?;
        let (a, b) = panels.split_vertically(panels.dim_in_pixel().1 / 2);
        draw_lateness(&a, &steps)?;
        draw_cpu(&b, &steps)?;
        root.present().map_err(draw_error)?;
    }
    encode(&pixels, width, height)
}

/// The S2 rows as steps, sorted by call count, each with the `ratio` of the
/// `floor` row that has the same parameter.
fn s2_steps(rows: &[Row]) -> Result<Vec<Step>, PlotError> {
    let mut steps = Vec::new();
    for row in rows.iter().filter(|r| r.step == "S2") {
        let calls = figure(row, "calls")
            .or_else(|| row.param.strip_prefix("calls=")?.parse().ok())
            .ok_or_else(|| PlotError::NoCallCount {
                param: row.param.clone(),
            })?;
        let ratio = rows
            .iter()
            .find(|r| r.step == "floor" && r.param == row.param)
            .and_then(|r| figure(r, "ratio"));
        steps.push(Step {
            calls,
            lateness: [
                figure(row, "lateness_p50_ms"),
                figure(row, "lateness_p99_ms"),
                figure(row, "lateness_p999_ms"),
                figure(row, "lateness_max_ms"),
            ],
            rx_gap_p99: figure(row, "rx_gap_p99_ms"),
            cpu_pct: figure(row, "voxpin_cpu_pct"),
            ratio,
        });
    }
    steps.sort_by(|a, b| a.calls.total_cmp(&b.calls));
    Ok(steps)
}

/// Magnitudes past this are no measurement (a hand-edited CSV): dropped, so
/// that every axis range stays finite.
const LARGEST_FIGURE: f64 = 1e12;

/// The figure `name` of `row` as a number (`-`, text, NaN, ±inf and
/// absurd magnitudes: `None`).
fn figure(row: &Row, name: &str) -> Option<f64> {
    let (_, value) = row.figures.iter().find(|(n, _)| n == name)?;
    let value = value.trim().parse::<f64>().ok()?;
    (value.abs() <= LARGEST_FIGURE).then_some(value)
}

/// Registers the embedded font as plotters' `sans-serif` once per process.
fn load_font() -> Result<(), PlotError> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    let ok = *LOADED.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

fn draw_error(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// The meta value of `key`, if present and not empty.
fn meta_value<'a>(meta: &'a [(String, String)], key: &str) -> Option<&'a str> {
    meta.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The title and two lines of machine, versions and settings.
fn draw_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    meta: &[(String, String)],
) -> Result<(), PlotError> {
    let m = |k| meta_value(meta, k);
    let mut machine = Vec::new();
    if let Some(v) = m("voxpin") {
        machine.push(v.to_owned());
    }
    if let Some(v) = m("sipp") {
        machine.push(v.to_owned());
    }
    if let Some(v) = m("nproc") {
        machine.push(format!("{v} CPU"));
    }
    if let Some(v) = m("cpu") {
        machine.push(v.to_owned());
    }
    if let Some(v) = m("kernel") {
        machine.push(format!("Linux {v}"));
    }
    let mut settings = Vec::new();
    for (key, label, none) in [
        ("realtime_priority", "realtime priority", "off"),
        ("pacing_phases", "pacing phases", "default"),
        (
            "s2_calls_with_p99_le_1ms_and_0_failed",
            "largest N with p99 ≤ 1 ms, 0 failed",
            "none",
        ),
        ("s2_calls_with_0_failed", "largest N with 0 failed", "none"),
    ] {
        if let Some(v) = m(key) {
            settings.push(format!("{label}: {}", option_text(v, none)));
        }
    }
    let width = area.dim_in_pixel().0;
    let lines = [
        (
            "voxpin-bench S2: RTP lateness and CPU against concurrent calls".to_owned(),
            26,
        ),
        (machine.join("  ·  "), 16),
        (settings.join("  ·  "), 16),
    ];
    let mut y = 8;
    for (text, size) in lines {
        let style = TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
        let text = fit(area, &text, &style, width.saturating_sub(24))?;
        area.draw_text(&text, &style, (12, y)).map_err(draw_error)?;
        y += size + 10;
    }
    Ok(())
}

/// A meta value the bench wrote with `{:?}` of an `Option`: `Some(x)` as
/// `x`, `None` as `none`; anything else as it is.
fn option_text<'a>(value: &'a str, none: &'a str) -> &'a str {
    match value
        .strip_prefix("Some(")
        .and_then(|v| v.strip_suffix(')'))
    {
        Some(inner) => inner,
        None if value == "None" => none,
        None => value,
    }
}

/// `text`, cut with `...` until it is at most `max` pixels wide.
fn fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    max: u32,
) -> Result<String, PlotError> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut out = text.to_owned();
    while !chars.is_empty() && area.estimate_text_size(&out, style).map_err(draw_error)?.0 > max {
        chars.pop();
        out = chars.iter().collect::<String>() + "...";
    }
    Ok(out)
}

/// A line through the steps that have a value, with point markers.
fn series(steps: &[Step], value: impl Fn(&Step) -> Option<f64>) -> Vec<(f64, f64)> {
    steps
        .iter()
        .filter_map(|s| Some((s.calls, value(s)?)))
        .collect()
}

/// The x range: 0 to a little past the largest N.
fn x_range(steps: &[Step]) -> std::ops::Range<f64> {
    let max = steps.iter().map(|s| s.calls).fold(0.0, f64::max);
    0.0..(max * 1.08).max(1.0)
}

/// One legend line: a stroke sample and its text (`\n` breaks the text).
struct LegendEntry {
    text: String,
    color: RGBColor,
    dashed: bool,
}

impl LegendEntry {
    fn solid(text: impl Into<String>, color: RGBColor) -> Self {
        Self {
            text: text.into(),
            color,
            dashed: false,
        }
    }

    fn dashed(text: impl Into<String>, color: RGBColor) -> Self {
        Self {
            text: text.into(),
            color,
            dashed: true,
        }
    }
}

/// Width of the legend column right of each panel, in pixels.
const LEGEND_WIDTH: u32 = 280;

/// Splits a panel into the chart (left) and its legend column (right).
fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let width = area.dim_in_pixel().0;
    area.split_horizontally(width.saturating_sub(LEGEND_WIDTH))
}

/// Draws `entries` top-down in the legend column, beside the plot area.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> Result<(), PlotError> {
    let style = TextStyle::from(("sans-serif", 15).into_font()).color(&BLACK);
    let mut y = 60;
    for entry in entries {
        let line_y = y + 8;
        let stroke = entry.color.stroke_width(if entry.dashed { 1 } else { 3 });
        if entry.dashed {
            for x in [4, 16, 28] {
                area.draw(&PathElement::new([(x, line_y), (x + 8, line_y)], stroke))
                    .map_err(draw_error)?;
            }
        } else {
            area.draw(&PathElement::new([(4, line_y), (36, line_y)], stroke))
                .map_err(draw_error)?;
            area.draw(&Circle::new((20, line_y), 4, entry.color.stroke_width(2)))
                .map_err(draw_error)?;
        }
        for text in entry.text.split('\n') {
            let text = fit(area, text, &style, LEGEND_WIDTH - 56)?;
            area.draw_text(&text, &style, (46, y)).map_err(draw_error)?;
            y += 19;
        }
        y += 8;
    }
    Ok(())
}

/// Panel (a): lateness percentiles and the receiver gap p99, log y.
fn draw_lateness<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    steps: &[Step],
) -> Result<(), PlotError> {
    const NAMES: [&str; 4] = ["p50", "p99", "p99.9", "max"];
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(60, 60, 60),
    ];
    let gap = RGBColor(44, 160, 44);
    // Log scale: only positive values are drawn.
    let positive = |v: Option<f64>| v.filter(|v| *v > 0.0);
    let values: Vec<f64> = steps
        .iter()
        .flat_map(|s| s.lateness.iter().copied().chain([s.rx_gap_p99]))
        .filter_map(positive)
        .collect();
    let low = values
        .iter()
        .copied()
        .fold(P99_TARGET_MS, f64::min)
        .max(1e-4)
        / 2.0;
    let high = values.iter().copied().fold(MAX_TARGET_MS, f64::max) * 2.0;
    let x = x_range(steps);
    let (plot, legend) = with_legend(area);
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            "(a) RTP send-slot lateness (voxpin's histogram) and receiver-side gaps",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .right_y_label_area_size(72)
        .build_cartesian_2d(x.clone(), (low..high).log_scale())
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("concurrent calls (N)")
        .y_desc("ms (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format_ms(*v))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_error)?;
    let mut entries = Vec::new();
    for (target, text, color) in [
        (MAX_TARGET_MS, "target: max ≤ 10 ms", colors[3]),
        (P99_TARGET_MS, "target: p99 ≤ 1 ms", colors[1]),
    ] {
        chart
            .draw_series(DashedLineSeries::new(
                [(x.start, target), (x.end, target)],
                10,
                6,
                color.stroke_width(1),
            ))
            .map_err(draw_error)?;
        entries.push(LegendEntry::dashed(text, color));
    }
    let gaps = series(steps, |s| positive(s.rx_gap_p99));
    if !gaps.is_empty() {
        chart
            .draw_series(LineSeries::new(gaps, gap.stroke_width(2)).point_size(4))
            .map_err(draw_error)?;
        entries.push(LegendEntry::solid(
            "receiver gap p99\n(sampled calls, arrival to arrival)",
            gap,
        ));
    }
    // Top-down in the order the lines usually stack.
    for i in (0..NAMES.len()).rev() {
        let points = series(steps, |s| positive(s.lateness[i]));
        chart
            .draw_series(LineSeries::new(points, colors[i].stroke_width(2)).point_size(4))
            .map_err(draw_error)?;
        entries.push(LegendEntry::solid(
            format!("send-slot lateness {}", NAMES[i]),
            colors[i],
        ));
    }
    draw_legend(&legend, &entries)
}

/// A log-axis tick in ms: as many decimals as it needs.
fn format_ms(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else if v >= 0.1 {
        format!("{v:.1}")
    } else if v >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Panel (b): voxpin CPU % (left) and its CPU per packet over the floor
/// pump's (right).
fn draw_cpu<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    steps: &[Step],
) -> Result<(), PlotError> {
    let cpu_color = RGBColor(31, 119, 180);
    let ratio_color = RGBColor(255, 127, 14);
    let cpu = series(steps, |s| s.cpu_pct);
    let ratio = series(steps, |s| s.ratio);
    let cpu_high = cpu.iter().map(|p| p.1).fold(100.0, f64::max) * 1.15;
    let ratio_high = ratio.iter().map(|p| p.1).fold(RATIO_TARGET, f64::max) * 1.3;
    let x = x_range(steps);
    let (plot, legend) = with_legend(area);
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            "(b) voxpin CPU, and CPU per packet relative to the floor pump",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .right_y_label_area_size(72)
        .build_cartesian_2d(x.clone(), 0.0..cpu_high)
        .map_err(draw_error)?
        .set_secondary_coord(x.clone(), 0.0..ratio_high);
    chart
        .configure_mesh()
        .x_desc("concurrent calls (N)")
        .y_desc("voxpin CPU % (100 = one core)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_error)?;
    chart
        .configure_secondary_axes()
        .y_desc("CPU per packet: voxpin ÷ floor pump")
        .y_label_formatter(&|v| format!("{v:.1}×"))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(draw_error)?;
    chart
        .draw_secondary_series(DashedLineSeries::new(
            [(x.start, RATIO_TARGET), (x.end, RATIO_TARGET)],
            10,
            6,
            ratio_color.stroke_width(1),
        ))
        .map_err(draw_error)?;
    let no_floor = ratio.is_empty();
    chart
        .draw_secondary_series(LineSeries::new(ratio, ratio_color.stroke_width(2)).point_size(4))
        .map_err(draw_error)?;
    chart
        .draw_series(LineSeries::new(cpu, cpu_color.stroke_width(2)).point_size(4))
        .map_err(draw_error)?;
    let ratio_text = if no_floor {
        "CPU µs per packet, voxpin ÷\nfloor pump (right axis):\nno floor rows in this run"
    } else {
        "CPU µs per packet, voxpin ÷\nfloor pump (right axis)"
    };
    draw_legend(
        &legend,
        &[
            LegendEntry::dashed("target: ratio ≤ 1.5×", ratio_color),
            LegendEntry::solid(ratio_text, ratio_color),
            LegendEntry::solid("voxpin CPU % (left axis)", cpu_color),
        ],
    )
}

/// `pixels` (RGB, 8 bits per channel, row by row) as a PNG file.
fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{from_csv, to_csv};

    /// An S2 row at `calls` and its floor row.
    fn s2(calls: u32, p99: &str, cpu: &str, ratio: &str) -> [Row; 2] {
        let mut r = Row::new("S2", format!("calls={calls}"));
        r.set("calls", calls);
        r.set("failed", 0);
        r.set("voxpin_cpu_pct", cpu);
        r.set("lateness_p50_ms", "0.061");
        r.set("lateness_p99_ms", p99);
        r.set("lateness_p999_ms", "2.175");
        r.set("lateness_max_ms", "7.074");
        r.set("rx_gap_p99_ms", "20.511");
        let mut f = Row::new("floor", format!("calls={calls}"));
        f.set("ratio", ratio);
        [r, f]
    }

    fn meta() -> Vec<(String, String)> {
        vec![
            ("nproc".into(), "2".into()),
            ("kernel".into(), "6.18.0".into()),
            ("cpu".into(), "Intel(R) Xeon(R) Processor @ 2.20GHz".into()),
            ("voxpin".into(), "voxpin 0.1.0".into()),
            ("sipp".into(), "SIPp v3.7.3".into()),
            ("realtime_priority".into(), "Some(10)".into()),
        ]
    }

    /// The width and height in a PNG's IHDR, after checking the signature
    /// and that IHDR is the first chunk.
    fn png_size(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&png[12..16], b"IHDR", "first chunk");
        let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
        (be(16), be(20))
    }

    #[test]
    fn s2_rows_render_to_a_png_of_the_requested_size() {
        let rows: Vec<Row> = [
            s2(1000, "0.447", "38.5", "1.31"),
            s2(500, "0.175", "20.1", "1.22"),
            s2(2000, "-", "80.0", "-"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let png = render_png(&meta(), &rows, 900, 700).expect("renders");
        assert_eq!(png_size(&png), (900, 700));
        // The file decodes, and something other than the background is drawn.
        let mut reader = png::Decoder::new(std::io::Cursor::new(&png))
            .read_info()
            .expect("decodes");
        let mut pixels = vec![0; reader.output_buffer_size().expect("fits")];
        let info = reader.next_frame(&mut pixels).expect("one frame");
        assert_eq!((info.width, info.height), (900, 700));
        assert!(pixels.iter().filter(|&&b| b < 128).count() > 10_000);
    }

    #[test]
    fn a_csv_renders_the_same_as_its_rows() {
        let rows: Vec<Row> = s2(250, "0.3", "10.0", "1.1").into_iter().collect();
        let meta = meta();
        let back = from_csv(&to_csv(&meta, &rows)).expect("parses");
        assert_eq!(
            render_png(&back.meta, &back.rows, WIDTH, HEIGHT).expect("renders"),
            render_png(&meta, &rows, WIDTH, HEIGHT).expect("renders")
        );
    }

    #[test]
    fn steps_read_the_s2_figures_and_the_floor_ratio() {
        let rows: Vec<Row> = [s2(1000, "0.447", "38.5", "1.31"), s2(500, "-", "x", "1.2")]
            .into_iter()
            .flatten()
            .collect();
        let steps = s2_steps(&rows).expect("call counts");
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].calls, 500.0);
        assert_eq!(steps[0].lateness[1], None);
        assert_eq!(steps[0].cpu_pct, None);
        assert_eq!(steps[0].ratio, Some(1.2));
        assert_eq!(
            steps[1].lateness,
            [Some(0.061), Some(0.447), Some(2.175), Some(7.074)]
        );
        assert_eq!(steps[1].rx_gap_p99, Some(20.511));
    }

    #[test]
    fn odd_values_from_a_hand_edited_csv_draw_without_panicking() {
        let mut rows = Vec::new();
        for (calls, value) in [
            ("-5", "0"),
            ("0", "-3"),
            ("7", "NaN"),
            ("8", "inf"),
            ("9", "1e300"),
            ("10", "1e11"),
            ("11", "1e-300"),
        ] {
            let mut r = Row::new("S2", format!("calls={calls}"));
            r.set("calls", calls);
            for name in ["lateness_p50_ms", "lateness_max_ms", "voxpin_cpu_pct"] {
                r.set(name, value);
            }
            rows.push(r);
        }
        let png = render_png(&[], &rows, WIDTH, HEIGHT).expect("renders");
        assert_eq!(png_size(&png), (WIDTH, HEIGHT));
        // A single step with no figure at all still draws (empty lines).
        let png = render_png(&[], &[Row::new("S2", "calls=1")], WIDTH, HEIGHT).expect("renders");
        assert_eq!(png_size(&png), (WIDTH, HEIGHT));
    }

    #[test]
    fn option_meta_values_read_plainly() {
        assert_eq!(option_text("Some(10)", "off"), "10");
        assert_eq!(option_text("None", "off"), "off");
        assert_eq!(option_text("2", "off"), "2");
    }

    #[test]
    fn no_s2_rows_is_a_clear_error() {
        let mut s1 = Row::new("S1", "rate=50");
        s1.set("calls", 250);
        let err = render_png(&meta(), &[s1], WIDTH, HEIGHT).expect_err("nothing to plot");
        assert!(matches!(err, PlotError::NoS2Rows));
        assert!(err.to_string().starts_with("no S2 rows to plot"), "{err}");
        assert!(matches!(
            render_png(&[], &[], WIDTH, HEIGHT),
            Err(PlotError::NoS2Rows)
        ));
    }

    #[test]
    fn sizes_outside_the_layout_are_refused() {
        let rows: Vec<Row> = s2(250, "0.3", "10.0", "1.1").into_iter().collect();
        let png = render_png(&meta(), &rows, MIN_SIZE.0, MIN_SIZE.1).expect("smallest fits");
        assert_eq!(png_size(&png), MIN_SIZE);
        for (w, h) in [
            (10, 10),
            (WIDTH, 0),
            (MIN_SIZE.0 - 1, HEIGHT),
            (100_000, HEIGHT),
        ] {
            assert!(matches!(
                render_png(&meta(), &rows, w, h),
                Err(PlotError::Size { .. })
            ));
        }
    }
}
