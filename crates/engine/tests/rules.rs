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

#[test]
fn a_file_that_is_not_a_reform_is_named_without_quoting_it() {
    let rules = RuleSet::builtin().unwrap();
    for text in [
        "root:$6$Zx8secret$hash:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n",
        "root:$6$Zx8secret:19000:0:99999:7:::\n",
        "[section]\nsecret=Zx8secret\n",
    ] {
        let e = rules.with_reform("/etc/passwd", text).unwrap_err().to_string();
        assert!(e.contains("/etc/passwd") && !e.contains("Zx8secret"), "{e}");
    }
    let e = rules.with_reform("x.yaml", "root:$6$Zx8secret:0:0\n").unwrap_err().to_string();
    assert!(e.contains("n'est pas une réforme cpts"), "{e}");
}

#[test]
fn rule_files_in_hex_or_too_deep_are_refused_in_french() {
    let hex = with_parameters(|p| p.replacen("value: [50000", "value: [0x10", 1)).unwrap_err();
    assert!(hex.contains("« 0x10 »") && hex.contains("notation décimale"), "{hex}");
    let deep = with_parameters(|p| format!("{p}\n{}", "[".repeat(50_000))).unwrap_err();
    assert!(deep.contains("imbrication trop profonde"), "{deep}");
}
