//! The shipped rule files: they load, and the coverage check holds and can fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

use cpts_engine::rules::{BUILTIN, RuleSet, RuleTexts};

#[test]
fn builtin_rules_load_and_cover_every_date() {
    let rules = RuleSet::builtin().unwrap_or_else(|e| panic!("{e}"));
    assert!(rules.check().is_empty(), "{:?}", rules.check());
    assert_eq!(rules.missions.len(), 6);
    let reformed = rules.builtin_reform("projet-cnam-2019-04").unwrap().unwrap_or_else(|e| panic!("{e}"));
    assert!(reformed.check().is_empty());
    assert_eq!(reformed.reformed, vec!["tier_thresholds", "operating_allocation", "max_total"]);
}

fn with_parameters(edit: impl Fn(&str) -> String) -> Result<RuleSet, String> {
    let params = edit(BUILTIN.parameters);
    RuleSet::from_texts(&RuleTexts { parameters: &params, ..BUILTIN }).map_err(|e| e.to_string())
}

#[test]
fn coverage_check_finds_gaps_overlaps_and_bad_grades() {
    // A gap: the 2019 operating value ends two days before avenant 2.
    let gap = with_parameters(|p| {
        p.replacen("until: 2022-03-30\n      value: [50000", "until: 2022-03-28\n      value: [50000", 1)
    });
    assert!(gap.unwrap_err().contains("trou"));
    // An overlap.
    let overlap = with_parameters(|p| {
        p.replacen("until: 2022-03-30\n      value: [50000", "until: 2022-04-30\n      value: [50000", 1)
    });
    assert!(overlap.unwrap_err().contains("chevauchement"));
    // A [U] value with a figure.
    let u = with_parameters(|p| {
        p.replacen(
            "    - from: 2019-08-24\n      grade: U",
            "    - from: 2019-08-24\n      value: upper\n      grade: U",
            1,
        )
    });
    assert!(u.unwrap_err().contains("grade U mais une valeur"));
    // A per-tier list of the wrong length.
    let tiers = with_parameters(|p| p.replacen("[87500, 105000, 131250, 157500]", "[87500, 105000, 131250]", 1));
    assert!(tiers.unwrap_err().contains("3 valeurs pour 4 tailles"));
    // An unknown source.
    let src = with_parameters(|p| p.replacen("source: avenant-2-montants", "source: nulle-part", 1));
    assert!(src.unwrap_err().contains("source inconnue"));
}
