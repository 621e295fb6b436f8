//! ROC curve plots (PNG, plotters), FAR on a log axis.

use std::path::Path;

use plotters::prelude::*;

use super::metrics::RocPoint;

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {reason}")]
pub struct PlotError {
    path: String,
    reason: String,
}

const FONT_FILES: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

fn register_font() -> Result<(), String> {
    let bytes = FONT_FILES
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .ok_or("no DejaVu Sans font found (apt-get install fonts-dejavu-core)")?;
    let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, leaked)
        .map_err(|_| "the DejaVu Sans font file is invalid".to_string())
}

/// Draws `curves` (label, points) as an ROC plot into a PNG at `path`.
pub fn draw_roc(
    path: &Path,
    title: &str,
    curves: &[(String, Vec<RocPoint>)],
) -> Result<(), PlotError> {
    let err = |reason: String| PlotError {
        path: path.display().to_string(),
        reason,
    };
    register_font().map_err(err)?;
    let lowest = curves
        .iter()
        .flat_map(|(_, points)| points.iter().filter(|p| p.far >= 1e-4).map(|p| p.tar))
        .fold(1.0f64, f64::min);
    let y_min = ((lowest - 0.02) * 20.0).floor().clamp(0.0, 19.0) / 20.0;
    let root = BitMapBackend::new(path, (800, 600)).into_drawing_area();
    let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d((1e-4f64..1.0f64).log_scale(), y_min..1.0f64)?;
        chart
            .configure_mesh()
            .x_desc("false accept rate")
            .y_desc("true accept rate")
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .draw()?;
        for (i, (label, points)) in curves.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let series = points
                .iter()
                .filter(|p| p.far > 0.0)
                .map(|p| (p.far.max(1e-4), p.tar));
            chart
                .draw_series(LineSeries::new(series, colour.stroke_width(2)))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| err(e.to_string()))
}

/// One panel of a line plot: title, axis names, x range and labelled curves.
pub struct Panel<'a> {
    /// Caption above the panel.
    pub title: &'a str,
    /// Name of the x axis.
    pub x_desc: &'a str,
    /// Name of the y axis.
    pub y_desc: &'a str,
    /// Range of the x axis.
    pub x_range: (f64, f64),
    /// Curves: label and points.
    pub curves: &'a [(String, Vec<(f64, f64)>)],
}

/// Draws panels side by side (y from 0 to 1) into a PNG at `path`: the OTB
/// success and precision plots.
pub fn draw_panels(path: &Path, panels: &[Panel<'_>]) -> Result<(), PlotError> {
    let err = |reason: String| PlotError {
        path: path.display().to_string(),
        reason,
    };
    register_font().map_err(err)?;
    let width = 640 * panels.len().max(1) as u32;
    let root = BitMapBackend::new(path, (width, 520)).into_drawing_area();
    let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
        root.fill(&WHITE)?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (area, panel) in areas.iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(panel.title, ("sans-serif", 20))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(panel.x_range.0..panel.x_range.1, 0.0f64..1.0f64)?;
            chart
                .configure_mesh()
                .x_desc(panel.x_desc)
                .y_desc(panel.y_desc)
                .draw()?;
            for (i, (label, points)) in panel.curves.iter().enumerate() {
                let colour = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        colour.stroke_width(2),
                    ))?
                    .label(label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerLeft)
                .border_style(BLACK)
                .background_style(WHITE)
                .draw()?;
        }
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| err(e.to_string()))
}
