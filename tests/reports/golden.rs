//! The golden case of the indicator and activity report tests, shared by the domain's and the
//! store's test suites (`#[path]` module): the annex and a year of values for « cpts-test ».

use cpts_domain::ledger::{Line, Source};
use cpts_domain::values::RawValue;

/// Tier 1 annex, access mission variable 10 000 € (figures in the file's comments).
pub const ANNEX: &str = include_str!("golden-annex.yaml");

/// One value row of « cpts-test », cells as typed.
pub fn row(line: usize, ind: &str, period: &str, value: &str, num: &str, den: &str) -> RawValue {
    RawValue {
        line,
        cpts: "cpts-test".into(),
        indicator: ind.into(),
        period: period.into(),
        value: value.into(),
        numerator: num.into(),
        denominator: den.into(),
    }
}

/// A year of monthly values: 7 patients a month (84), SNP 65 answered of 100 requests a month.
pub fn year_one() -> Vec<RawValue> {
    let mut rows = Vec::new();
    for m in 1..=12 {
        rows.push(row(rows.len() + 2, "patients_sans_mt_aides", &format!("2021-{m:02}"), "7", "", ""));
        rows.push(row(rows.len() + 2, "snp_taux_reponse", &format!("{m:02}/2021"), "", "65", "100"));
    }
    rows
}

/// Live (not cancelled) ACI lines of a contract year and component.
pub fn live(lines: &[Line], year: u8, component: &str) -> Vec<Line> {
    lines
        .iter()
        .filter(|l| {
            l.cancelled.is_none()
                && matches!(&l.planned.source, Source::Aci { year: y, component: c, .. } if *y == year && c == component)
        })
        .cloned()
        .collect()
}
