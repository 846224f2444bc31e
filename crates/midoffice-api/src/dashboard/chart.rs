//! Line charts drawn on the server as SVG: no script, no crate. Each chart has a
//! `<title>` and `<desc>` and `role="img"` with an `aria-label`; the page puts a table
//! with the same figures beside it (the text alternative that holds every value).

use crate::thermometer::html::escape;
use std::fmt::Write;

/// One line: its name and a value per point (`None`: no figure, the line breaks).
#[derive(Clone, Debug)]
pub struct Line {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;
/// Line classes, so that the style block colours them (`.l0` .. `.l5`).
const CLASSES: usize = 6;

/// A chart of `lines` over the `labels` of the points; `unit` follows each axis value
/// (`%` for shares, ` s` for seconds). `percent`: values are shares 0..1, shown 0..100.
pub fn svg(title: &str, labels: &[String], lines: &[Line], percent: bool, unit: &str) -> String {
    let scale = if percent { 100.0 } else { 1.0 };
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .map(|v| v * scale)
        .fold(0.0_f64, f64::max);
    let top = if percent { 100.0 } else { nice(max) };
    let n = labels.len();
    let x = |i: usize| {
        if n <= 1 {
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - (v * scale / top).clamp(0.0, 1.0));
    let title = escape(title);
    let names: Vec<String> = lines.iter().map(|l| escape(&l.name)).collect();
    let desc = match (labels.first(), labels.last()) {
        (Some(first), Some(last)) => {
            format!("{}: {} – {}", names.join(", "), escape(first), escape(last))
        }
        _ => names.join(", "),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"{title}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title>{title}</title><desc>{desc}</desc>"
    );
    // Axes and three grid lines with their values.
    for k in 0..=2 {
        let v = top * f64::from(k) / 2.0;
        let gy = TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - f64::from(k) / 2.0);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{gy:.1}\" x2=\"{:.1}\" y2=\"{gy:.1}\"/>\
             <text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            gy + 4.0,
            number(v),
            escape(unit)
        );
    }
    // At most about eight labels on the x axis; the table has them all.
    let every = n.div_ceil(8).max(1);
    for (i, label) in labels.iter().enumerate() {
        if i % every == 0 || i + 1 == n {
            let _ = write!(
                out,
                "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x(i),
                HEIGHT - BOTTOM + 16.0,
                escape(label)
            );
        }
    }
    for (k, line) in lines.iter().enumerate() {
        // A missing figure breaks the line into separate polylines.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (i, v) in line.values.iter().enumerate().take(n) {
            match v {
                Some(v) => {
                    if let Some(run) = runs.last_mut() {
                        run.push((x(i), y(*v)));
                    }
                }
                None => runs.push(Vec::new()),
            }
        }
        let class = k % CLASSES;
        for run in runs.iter().filter(|r| !r.is_empty()) {
            let points: Vec<String> = run.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
            let _ = write!(
                out,
                "<polyline class=\"line l{class}\" points=\"{}\"/>",
                points.join(" ")
            );
            for (a, b) in run {
                let _ = write!(
                    out,
                    "<circle class=\"dot l{class}\" cx=\"{a:.1}\" cy=\"{b:.1}\" r=\"3\"/>"
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// The smallest of 1, 2, 5 × 10ⁿ at least `max` (at least 1).
fn nice(max: f64) -> f64 {
    let mut step = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * step >= max {
                return m * step;
            }
        }
        step *= 10.0;
    }
}

/// A value on an axis: whole numbers without decimals.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_escapes_its_text_and_breaks_at_missing_figures() {
        let labels = vec!["w1".to_owned(), "w2".to_owned(), "w3".to_owned()];
        let lines = [Line {
            name: "<b>".to_owned(),
            values: vec![Some(0.5), None, Some(1.0)],
        }];
        let s = svg("a & b", &labels, &lines, true, "%");
        assert!(s.contains("<title>a &amp; b</title>"), "{s}");
        assert!(s.contains("role=\"img\""));
        assert!(!s.contains("<b>"));
        assert_eq!(s.matches("<polyline").count(), 2);
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(37.0), 50.0);
        assert_eq!(nice(120.0), 200.0);
    }
}
