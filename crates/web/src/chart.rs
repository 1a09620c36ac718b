//! Line charts drawn by the server as SVG (no script): integer coordinates computed here,
//! the markup written by the template (`chart.html`), which escapes every text. Values are in
//! nano-units (`Dec::to_nano_units`), so no float is needed.

use cpts_engine::rate::Dec;

const WIDTH: i64 = 640;
const HEIGHT: i64 = 240;
const LEFT: i64 = 64;
const RIGHT: i64 = 32;
const TOP: i64 = 16;
const BOTTOM: i64 = 44;
/// Period labels shown under the axis at most (every period stays in the table below).
const MAX_LABELS: usize = 8;
const UNIT: i128 = 1_000_000_000;

pub struct Dot {
    pub x: i64,
    pub y: i64,
    pub label: String,
}

/// A target over a contract year: a horizontal segment.
pub struct Segment {
    pub x1: i64,
    pub x2: i64,
    pub y: i64,
    pub label: String,
}

pub struct Tick {
    pub y: i64,
    pub label: String,
}

pub struct XLabel {
    pub x: i64,
    pub label: String,
}

/// What `chart.html` draws.
pub struct Chart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: i64,
    pub height: i64,
    pub left: i64,
    pub right: i64,
    pub top: i64,
    pub bottom: i64,
    pub line: String,
    pub dots: Vec<Dot>,
    pub targets: Vec<Segment>,
    pub ticks: Vec<Tick>,
    pub xlabels: Vec<XLabel>,
}

/// A point: its period label and value.
pub struct Point {
    pub label: String,
    pub value: Dec,
}

/// A target drawn from point `from` to point `to` (indices, inclusive).
pub struct Target {
    pub from: usize,
    pub to: usize,
    pub value: Dec,
    pub label: String,
}

fn px(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(0)
}

/// A tick's value, rounded to what the range needs.
fn tick_label(v: i128, range: i128) -> String {
    let step = if range >= 5 * UNIT { UNIT } else { UNIT / 100 };
    let rounded = (v + step / 2).div_euclid(step) * step;
    Dec::from_nano_units(rounded).map_or_else(String::new, |d| d.to_string())
}

/// The chart of `points` (in order) with `targets`; None without a point.
pub fn line(id: String, title: String, desc: String, points: &[Point], targets: &[Target]) -> Option<Chart> {
    if points.is_empty() {
        return None;
    }
    let values: Vec<i128> = points.iter().map(|p| p.value.to_nano_units()).collect();
    let all = values.iter().copied().chain(targets.iter().map(|t| t.value.to_nano_units()));
    let (mut lo, mut hi) = all.fold((0_i128, 0_i128), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi == lo {
        hi = lo + UNIT;
    }
    // Headroom above the highest value, so its dot is not on the frame.
    hi += (hi - lo) / 10;
    lo -= if lo < 0 { (hi - lo) / 10 } else { 0 };
    let range = hi - lo;
    let (pw, ph) = (i128::from(WIDTH - LEFT - RIGHT), i128::from(HEIGHT - TOP - BOTTOM));
    let n = i128::try_from(points.len()).unwrap_or(1);
    let x = |i: usize| -> i64 {
        let i = i128::try_from(i).unwrap_or(0);
        if n == 1 { LEFT + px(pw / 2) } else { LEFT + px(i * pw / (n - 1)) }
    };
    let y = |v: i128| -> i64 { TOP + px((hi - v) * ph / range) };
    let dots: Vec<Dot> = points
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, (p, v))| Dot { x: x(i), y: y(*v), label: format!("{} : {}", p.label, p.value) })
        .collect();
    let line = dots.iter().map(|d| format!("{},{}", d.x, d.y)).collect::<Vec<_>>().join(" ");
    let targets = targets
        .iter()
        .map(|t| {
            let (mut x1, mut x2) = (x(t.from), x(t.to));
            if x1 == x2 {
                // One period in the year: a short segment around its dot.
                x1 = (x1 - 12).max(LEFT);
                x2 = (x2 + 12).min(WIDTH - RIGHT);
            }
            Segment { x1, x2, y: y(t.value.to_nano_units()), label: t.label.clone() }
        })
        .collect();
    let ticks = (0..=4_i128)
        .map(|k| {
            let v = lo + range * k / 4;
            Tick { y: y(v), label: tick_label(v, range) }
        })
        .collect();
    let every = points.len().div_ceil(MAX_LABELS).max(1);
    let xlabels = points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, p)| XLabel { x: x(i), label: p.label.clone() })
        .collect();
    Some(Chart {
        id,
        title,
        desc,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: WIDTH - RIGHT,
        top: TOP,
        bottom: HEIGHT - BOTTOM,
        line,
        dots,
        targets,
        ticks,
        xlabels,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn p(label: &str, v: &str) -> Point {
        Point { label: label.into(), value: Dec::parse(v).unwrap() }
    }

    #[test]
    fn points_fill_the_plot_and_the_target_is_a_level() {
        let pts = [p("01/2021", "50"), p("02/2021", "65"), p("03/2021", "80")];
        let t = [Target { from: 0, to: 2, value: Dec::parse("80").unwrap(), label: "cible".into() }];
        let c = line("g".into(), "t".into(), "d".into(), &pts, &t).unwrap();
        assert_eq!((c.dots[0].x, c.dots[2].x), (LEFT, WIDTH - RIGHT));
        // Higher values are higher up; the target sits at the last dot's height.
        assert!(c.dots[0].y > c.dots[1].y && c.dots[1].y > c.dots[2].y);
        assert_eq!(c.targets[0].y, c.dots[2].y);
        assert!(c.dots.iter().all(|d| d.y >= TOP && d.y <= HEIGHT - BOTTOM));
        assert_eq!(c.ticks.len(), 5);
        assert!(line("g".into(), "t".into(), "d".into(), &[], &[]).is_none());
    }
}
