//! Fixtures shared by the fuzz targets: the shipped rules, the golden contract of the report
//! tests, the indicator catalogue and the INSEE communes, each built once per process.
//!
//! A fixture that cannot be built is a broken build, not a finding: it panics at once with the
//! reason, before any fuzz input runs.

use std::sync::OnceLock;

use cpts_domain::agreement::Agreement;
use cpts_domain::geo::Geo;
use cpts_domain::indicators::Catalogue;
use cpts_engine::contract::Contract;
use cpts_engine::input::load_case;
use cpts_engine::rules::RuleSet;

/// The golden annex of the report tests: tier 1, signed 2021-01-01, two objectives.
pub const GOLDEN_ANNEX: &str = include_str!("../../tests/reports/golden-annex.yaml");
/// A whole 5-year contract (the README's example), for the reform target.
pub const EXAMPLE_CASE: &str = include_str!("../../examples/cpts-exemple.yaml");
/// The CPTS id the `values` target's golden scope knows.
pub const GOLDEN_CPTS: &str = "cpts-test";

/// Outside text as the CLI reads it (`load::read`): UTF-8 only (anything else is refused before
/// any parser sees it), a leading byte-order mark dropped.
pub fn text(data: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(data).ok()?;
    Some(s.strip_prefix('\u{feff}').unwrap_or(s))
}

fn fixture<T>(cell: &'static OnceLock<T>, build: impl FnOnce() -> Result<T, String>) -> &'static T {
    cell.get_or_init(|| match build() {
        Ok(v) => v,
        Err(e) => panic!("fuzz fixture: {e}"),
    })
}

pub fn rules() -> &'static RuleSet {
    static R: OnceLock<RuleSet> = OnceLock::new();
    fixture(&R, || RuleSet::builtin().map_err(|e| e.to_string()))
}

pub fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    fixture(&C, || Catalogue::builtin(rules()))
}

pub fn geo() -> &'static Geo {
    static G: OnceLock<Geo> = OnceLock::new();
    fixture(&G, Geo::builtin)
}

/// The golden agreement and its contract (« cpts-test »).
pub fn golden() -> &'static (Agreement, Contract) {
    static A: OnceLock<(Agreement, Contract)> = OnceLock::new();
    fixture(&A, || {
        Agreement::new(1, "CPTS test", GOLDEN_ANNEX, "CPAM test", "ARS test", rules()).map_err(|e| format!("{e:?}"))
    })
}

/// The example contract under the rules in force.
pub fn example() -> &'static Contract {
    static E: OnceLock<Contract> = OnceLock::new();
    fixture(&E, || load_case(EXAMPLE_CASE, rules()).map_err(|e| format!("{e:?}")))
}

pub mod server;
