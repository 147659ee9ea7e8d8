//! The `/stats` and `/group stats` chart: members over time, requests per
//! week, the median time to a decision, notifications delivered by mode,
//! drawn with plotters' bitmap backend in memory and encoded as PNG. Text
//! goes through an embedded font (DejaVu Sans, by ab_glyph), so no system
//! font library is needed.

use crate::domain::stats::Figures;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::sync::OnceLock;

/// The chart's size in pixels.
pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 900;

const FONT: &str = "sans-serif";

/// One colour per line, told apart without relying on red against green.
const LINES: [RGBColor; 4] =
    [RGBColor(0, 114, 178), RGBColor(230, 159, 0), RGBColor(0, 158, 115), RGBColor(204, 121, 167)];
const BARS: RGBColor = RGBColor(88, 101, 242);
const MEDIAN: RGBColor = RGBColor(213, 94, 0);

fn font() {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid font"));
        plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans Bold is a valid font"));
    });
}

#[derive(Debug, thiserror::Error)]
#[error("drawing the chart failed: {0}")]
pub struct ChartError(String);

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// The chart of `f`, titled `title`, as a PNG of `WIDTH` × `HEIGHT`.
pub fn png(title: &str, f: &Figures) -> Result<Vec<u8>, ChartError> {
    font();
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut rgb = vec![255u8; w * h * 3];
    draw(&mut rgb, title, f).map_err(err)?;
    encode(&rgb).map_err(err)
}

fn draw(rgb: &mut [u8], title: &str, f: &Figures) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(56);
    head.draw(&Text::new(title.to_string(), (24, 14), (FONT, 28, FontStyle::Bold).into_font().color(&BLACK)))?;
    let (top, bottom) = body.split_vertically((HEIGHT as i32 - 56) / 2);
    members(&top, f)?;
    let panels = bottom.split_evenly((1, 3));
    requests(&panels[0], f)?;
    median(&panels[1], f)?;
    deliveries(&panels[2], f)?;
    root.present()?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn members(area: &Area<'_>, f: &Figures) -> Result<(), Box<dyn std::error::Error>> {
    let days = f.period.days() as f64;
    let top = f.members.iter().flat_map(|s| s.points.iter()).copied().max().unwrap_or(0).max(1) as f64 * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption("Members", (FONT, 22))
        .margin(14)
        .x_label_area_size(34)
        .y_label_area_size(52)
        .build_cartesian_2d(0f64..days, 0f64..top)?;
    let from = f.until - chrono::Duration::days(f.period.days());
    chart
        .configure_mesh()
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&|x| (from + chrono::Duration::seconds((*x * 86400.0) as i64)).format("%b %-d").to_string())
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((FONT, 15))
        .draw()?;
    let at = |i: usize| (f.samples[i] - from).num_seconds() as f64 / 86400.0;
    for (n, s) in f.members.iter().enumerate() {
        let color = LINES[n % LINES.len()];
        let points: Vec<(f64, f64)> = s.points.iter().enumerate().map(|(i, v)| (at(i), *v as f64)).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

fn requests(area: &Area<'_>, f: &Figures) -> Result<(), Box<dyn std::error::Error>> {
    let n = f.weeks.len().max(1) as f64;
    let top = f.weeks.iter().map(|w| w.requests).max().unwrap_or(0).max(1) as f64 * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption("Requests per week", (FONT, 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(44)
        .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..top)?;
    let weeks = f.weeks.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(weeks.len().min(6))
        .y_labels(5)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            weeks.get(i as usize).map(|w| w.start.format("%b %-d").to_string()).unwrap_or_default()
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((FONT, 13))
        .draw()?;
    chart.draw_series(f.weeks.iter().enumerate().map(|(i, w)| {
        let x = i as f64;
        Rectangle::new([(x - 0.35, 0.0), (x + 0.35, w.requests as f64)], BARS.filled())
    }))?;
    Ok(())
}

fn median(area: &Area<'_>, f: &Figures) -> Result<(), Box<dyn std::error::Error>> {
    let n = f.weeks.len().max(1) as f64;
    let top = f.weeks.iter().filter_map(|w| w.median_hours).fold(1.0f64, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption("Median time to a decision (hours)", (FONT, 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(44)
        .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..top)?;
    let weeks = f.weeks.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(weeks.len().min(6))
        .y_labels(5)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            weeks.get(i as usize).map(|w| w.start.format("%b %-d").to_string()).unwrap_or_default()
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((FONT, 13))
        .draw()?;
    let points: Vec<(f64, f64)> =
        f.weeks.iter().enumerate().filter_map(|(i, w)| w.median_hours.map(|h| (i as f64, h))).collect();
    chart.draw_series(LineSeries::new(points.clone(), MEDIAN.stroke_width(3)))?;
    chart.draw_series(points.into_iter().map(|p| Circle::new(p, 5, MEDIAN.filled())))?;
    Ok(())
}

fn deliveries(area: &Area<'_>, f: &Figures) -> Result<(), Box<dyn std::error::Error>> {
    let d = f.deliveries;
    let bars = [("Mention", d.mention), ("DM", d.dm), ("Digest", d.digest)];
    let top = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64 * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption("Notifications delivered", (FONT, 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(44)
        .build_cartesian_2d(-0.5f64..2.5, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(3)
        .y_labels(5)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || !(0.0..=2.0).contains(&i) {
                return String::new();
            }
            bars[i as usize].0.to_string()
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((FONT, 14))
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
        let x = i as f64;
        Rectangle::new([(x - 0.3, 0.0), (x + 0.3, *v as f64)], LINES[i].filled())
    }))?;
    Ok(())
}

fn encode(rgb: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(rgb)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stats::{Deliveries, Period, Series, Week};

    fn figures() -> Figures {
        let until = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let samples = Period::Days30.samples(until);
        Figures {
            period: Period::Days30,
            until,
            members: vec![
                Series { name: "Interest".into(), points: vec![0, 1, 3, 3, 4, 6, 9] },
                Series { name: "Identity".into(), points: vec![0; 7] },
            ],
            samples,
            weeks: (0..5)
                .map(|i| Week {
                    start: chrono::NaiveDate::from_ymd_opt(2026, 1, 26).unwrap() + chrono::Duration::weeks(i),
                    requests: i,
                    decided: i / 2,
                    median_hours: (i > 1).then_some(i as f64 * 1.5),
                })
                .collect(),
            deliveries: Deliveries { mention: 4, dm: 10, digest: 2 },
        }
    }

    #[test]
    fn the_chart_is_a_png_of_the_expected_size_with_something_drawn() {
        let png = png("Stats · Test", &figures()).unwrap();
        if let Ok(dir) = std::env::var("GUILDHALL_CHART_OUT") {
            std::fs::write(std::path::Path::new(&dir).join("stats.png"), &png).unwrap();
        }
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let colored = buf.chunks(3).filter(|p| p[0] != p[1] || p[1] != p[2]).count();
        assert!(colored > 5_000, "lines and bars in colour: {colored} pixels");
        let dark = buf.chunks(3).filter(|p| p[0] < 80 && p[1] < 80 && p[2] < 80).count();
        assert!(dark > 2_000, "text and axes: {dark} pixels");
    }

    #[test]
    fn an_empty_server_still_draws_its_axes() {
        let mut f = figures();
        f.members.iter_mut().for_each(|s| s.points.iter_mut().for_each(|p| *p = 0));
        f.weeks.iter_mut().for_each(|w| {
            w.requests = 0;
            w.median_hours = None
        });
        f.deliveries = Deliveries::default();
        assert!(png("Stats", &f).is_ok());
    }
}
