//! Charts as SVG, drawn on the server with plotters: daily bars, a line over the same
//! days, and a dashed limit (quota or cap) with its label.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::components::format::thousands;

/// One day's figure: `day` is the Unix time (seconds) of that day's 00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayValue {
    pub day: i64,
    pub value: i64,
}

/// What one chart shows.
pub struct Chart<'a> {
    /// Accessible name of the chart (the SVG's `<title>` and `aria-label`).
    pub title: &'a str,
    /// The unit on the y axis ("calls", "seats", "instances").
    pub unit: &'a str,
    /// Daily figures drawn as bars (may be empty).
    pub bars: &'a [DayValue],
    /// A second series drawn as a line over the same days (may be empty).
    pub line: &'a [DayValue],
    /// A horizontal limit drawn dashed, with its label, e.g. (10_000, "Quota 10,000 a month").
    pub limit: Option<(i64, &'a str)>,
}

const WIDTH: u32 = 720;
const HEIGHT: u32 = 280;
// The site's colours (style/main.css :root).
const MUTED: RGBColor = RGBColor(0x5c, 0x66, 0x7a);
const LINE: RGBColor = RGBColor(0xdf, 0xe3, 0xec);
const BRAND: RGBColor = RGBColor(0x3b, 0x5b, 0xdb);
const BRAND_SOFT: RGBColor = RGBColor(0xa9, 0xb8, 0xf0);
const WARN: RGBColor = RGBColor(0xb3, 0x5c, 0x00);
const FONT: &str = "system-ui, sans-serif";
/// Plotters scales font sizes by 0.8 in SVG: 15 comes out as 12 px.
const FONT_SIZE: f64 = 15.0;

/// Renders the chart as a standalone SVG document (720 × 280 with a viewBox, so CSS can
/// scale it), with `role="img"`, an `aria-label` and a `<title>`. Never panics: an
/// empty chart is a frame with axes; should drawing fail, a minimal SVG carries the title.
pub fn render_chart(chart: &Chart) -> String {
    let mut svg = String::new();
    if draw(chart, &mut svg).is_err() || !svg.starts_with("<svg") {
        svg = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"></svg>"#);
    }
    label(svg, chart.title)
}

/// The days the chart spans: from the first to the last day of either series.
fn span(chart: &Chart) -> (i64, i64) {
    let days = chart.bars.iter().chain(chart.line).map(|d| d.day);
    let first = days.clone().min().unwrap_or(0);
    let last = days.max().unwrap_or(first);
    (first, last)
}

fn draw(chart: &Chart, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    const DAY: i64 = 86_400;
    let (first, last) = span(chart);
    let n = ((last - first) / DAY + 1).clamp(1, 3_660);
    let index = |day: i64| (day - first) / DAY;
    let clamp = |v: i64| v.clamp(0, i64::MAX / 4);
    let top = chart.bars.iter().chain(chart.line).map(|d| clamp(d.value)).chain(chart.limit.map(|(l, _)| clamp(l))).max().unwrap_or(0);
    // Headroom above the highest figure, and never an empty range.
    let y_max = (top + top / 10).max(4);

    {
        let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut cc = ChartBuilder::on(&root)
            .margin(14)
            .margin_right(20)
            .x_label_area_size(30)
            .y_label_area_size(72)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0..y_max)?;
        // Day i is centred on x = i: its bar around it, its point of the line on it. Only
        // whole positions inside the window get a date.
        let date_of = |x: &f64| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 || i >= n as f64 {
                return String::new();
            }
            chrono::DateTime::from_timestamp(first + i as i64 * DAY, 0).map(|t| t.format("%b %-d").to_string()).unwrap_or_default()
        };
        let value_of = |v: &i64| thousands(*v);
        cc.configure_mesh()
            .disable_x_mesh()
            .x_labels(8.min(n as usize).max(2))
            .x_label_formatter(&date_of)
            .y_labels(5)
            .y_label_formatter(&value_of)
            .y_desc(chart.unit)
            .label_style((FONT, FONT_SIZE).into_font().color(&MUTED))
            .axis_desc_style((FONT, FONT_SIZE).into_font().color(&MUTED))
            .axis_style(MUTED.stroke_width(1))
            .bold_line_style(LINE.stroke_width(1))
            .light_line_style(TRANSPARENT)
            .draw()?;

        cc.draw_series(chart.bars.iter().map(|d| {
            let x = index(d.day) as f64;
            Rectangle::new([(x - 0.42, 0), (x + 0.42, clamp(d.value))], BRAND_SOFT.filled())
        }))?;
        if !chart.line.is_empty() {
            cc.draw_series(LineSeries::new(chart.line.iter().map(|d| (index(d.day) as f64, clamp(d.value))), BRAND.stroke_width(2)))?;
        }
        if let Some((limit, text)) = chart.limit {
            let limit = clamp(limit);
            let (left, right) = (-0.5, n as f64 - 0.5);
            cc.draw_series(DashedLineSeries::new([(left, limit), (right, limit)], 6, 4, WARN.stroke_width(2)))?;
            let style = (FONT, FONT_SIZE).into_font().color(&WARN).pos(Pos::new(HPos::Right, VPos::Bottom));
            cc.draw_series(std::iter::once(Text::new(text.to_owned(), (right, limit), style)))?;
        }
        root.present()?;
    }
    Ok(())
}

/// Gives the SVG root its accessible name and a viewBox, so that it scales.
fn label(svg: String, title: &str) -> String {
    let title = escape(title);
    let Some(end) = svg.find('>') else { return svg };
    let (open, rest) = svg.split_at(end);
    let mut open = open.to_owned();
    if !open.contains("viewBox") {
        open.push_str(&format!(r#" viewBox="0 0 {WIDTH} {HEIGHT}""#));
    }
    format!(r#"{open} role="img" aria-label="{title}"><title>{title}</title>{}"#, &rest[1..])
}

/// Escapes text for XML attributes and content.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_3: i64 = 1_793_664_000; // 2026-11-03 00:00 UTC

    fn days(values: &[i64]) -> Vec<DayValue> {
        values.iter().enumerate().map(|(i, v)| DayValue { day: NOV_3 + i as i64 * 86_400, value: *v }).collect()
    }

    #[test]
    fn a_chart_is_an_svg_with_its_title_dates_limit_and_thousands() {
        let bars = days(&[120, 400, 380, 90, 0, 510, 620]);
        let line = days(&[120, 520, 900, 990, 990, 1_500, 2_120]);
        let svg = render_chart(&Chart {
            title: "API calls: last 7 days",
            unit: "calls",
            bars: &bars,
            line: &line,
            limit: Some((10_000, "Quota 10,000 a month")),
        });
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(svg.contains(r#"aria-label="API calls: last 7 days""#) && svg.contains("<title>API calls: last 7 days</title>"));
        assert!(svg.contains(r#"role="img""#) && svg.contains("viewBox"));
        assert!(svg.contains("Quota 10,000 a month"));
        assert!(svg.contains("Nov 3"), "the first day is labelled");
        assert!(svg.contains("10,000") || svg.contains("8,000"), "y labels with thousands separators");
        assert!(svg.contains("\ncalls\n</text>"), "the unit names the y axis");
    }

    #[test]
    fn every_day_with_a_figure_gets_a_bar() {
        let empty = render_chart(&Chart { title: "t", unit: "u", bars: &[], line: &[], limit: None });
        let baseline = empty.matches("<rect").count();
        let bars = days(&[3, 5, 8, 13]);
        let svg = render_chart(&Chart { title: "t", unit: "u", bars: &bars, line: &[], limit: None });
        assert_eq!(svg.matches("<rect").count() - baseline, 4);
    }

    #[test]
    fn an_empty_chart_still_has_axes_and_a_hostile_title_is_escaped() {
        let svg = render_chart(&Chart { title: "<script>&\"", unit: "seats", bars: &[], line: &[], limit: None });
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("&lt;script&gt;&amp;&quot;") && !svg.contains("<script>"));
        assert!(svg.contains("<line") || svg.contains("<polyline"), "axes are drawn");
    }

    #[test]
    fn huge_and_negative_figures_do_not_break_the_chart() {
        let bars = days(&[-5, i64::MAX, 7]);
        let svg = render_chart(&Chart { title: "t", unit: "u", bars: &bars, line: &bars, limit: Some((i64::MIN, "low")) });
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
    }
}
