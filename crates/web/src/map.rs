//! The map of France by département, drawn on the server: each département's path from the
//! shipped SVG (see assets/README.md), coloured by a class the page chooses, with its title. An
//! image, not a control: the table beside it carries the links (no hundred tab stops). The view
//! box is fitted to the départements drawn (a région's agent sees its région).

use std::sync::LazyLock;

const SVG: &str = include_str!("../assets/france-departements.svg");

pub struct Shape {
    pub code: String,
    pub d: String,
    /// (min x, min y, max x, max y)
    pub bbox: (f64, f64, f64, f64),
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=\"");
    // The attribute itself, not the end of another one's name (`d` in `id`).
    let at = tag.match_indices(&key).find(|(i, _)| tag.get(..*i).is_some_and(|b| b.ends_with(char::is_whitespace)))?.0 + key.len();
    tag.get(at..)?.split('"').next()
}

/// The bounding box of a path made of relative moves and lines (`m x,y dx,dy … z`), the only
/// commands the shipped map uses.
fn bbox(d: &str) -> Option<(f64, f64, f64, f64)> {
    let (mut x, mut y, mut start) = (0.0_f64, 0.0_f64, (0.0_f64, 0.0_f64));
    let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    let mut first = true;
    let mut moving = false;
    for token in d.split_whitespace() {
        match token {
            "m" => moving = true,
            "z" | "Z" => (x, y) = start,
            pair => {
                let (dx, dy) = pair.split_once(',')?;
                let (dx, dy): (f64, f64) = (dx.parse().ok()?, dy.parse().ok()?);
                // The first move of a path is absolute; every other pair is relative.
                if first {
                    (x, y) = (dx, dy);
                    first = false;
                } else {
                    (x, y) = (x + dx, y + dy);
                }
                if moving {
                    start = (x, y);
                    moving = false;
                }
                b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
            }
        }
    }
    (!first).then_some(b)
}

pub static DEPARTEMENTS: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    SVG.split("<path")
        .skip(1)
        .filter_map(|tag| {
            let d = attr(tag, "d")?;
            Some(Shape { code: attr(tag, "id")?.to_owned(), d: d.to_owned(), bbox: bbox(d)? })
        })
        .collect()
});

/// One département as drawn.
pub struct Drawn {
    pub d: &'static str,
    pub class: String,
    pub title: String,
}

pub struct Map {
    pub view_box: String,
    pub shapes: Vec<Drawn>,
}

/// The map of these départements (code → (class, title)); those not on the shipped map
/// (overseas) are left to the table.
pub fn map(items: impl IntoIterator<Item = (String, String, String)>) -> Option<Map> {
    let mut shapes = Vec::new();
    let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (code, class, title) in items {
        let Some(s) = DEPARTEMENTS.iter().find(|s| s.code == code) else { continue };
        b = (b.0.min(s.bbox.0), b.1.min(s.bbox.1), b.2.max(s.bbox.2), b.3.max(s.bbox.3));
        shapes.push(Drawn { d: &s.d, class, title });
    }
    if shapes.is_empty() {
        return None;
    }
    let pad = 4.0;
    let view_box = format!("{:.0} {:.0} {:.0} {:.0}", b.0 - pad, b.1 - pad, b.2 - b.0 + 2.0 * pad, b.3 - b.1 + 2.0 * pad);
    Some(Map { view_box, shapes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_map_has_every_metropolitan_departement_within_its_frame() {
        assert_eq!(DEPARTEMENTS.len(), 96);
        for s in DEPARTEMENTS.iter() {
            let (x0, y0, x1, y1) = s.bbox;
            // The SVG's view box is 0 0 613 585.
            assert!(x0 >= 0.0 && y0 >= 0.0 && x1 <= 613.0 && y1 <= 585.0 && x0 < x1 && y0 < y1, "{} {:?}", s.code, s.bbox);
        }
        let paris = DEPARTEMENTS.iter().find(|s| s.code == "75").unwrap();
        // Paris is small and north of the centre.
        assert!(paris.bbox.2 - paris.bbox.0 < 15.0 && paris.bbox.1 < 200.0, "{:?}", paris.bbox);
    }
}
