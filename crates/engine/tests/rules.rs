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

#[test]
fn grades_hold_per_tier_value_and_a_secondary_tier_value_is_marked() {
    use cpts_engine::input::{parse_case, validate};
    use cpts_engine::report::year_report;
    use cpts_engine::rules::{Grade, Tier};
    let rules = RuleSet::builtin().unwrap();
    // 2019 operating allocation: the Senate report gives only the range 50 000 – 90 000 €.
    let op2019 = &rules.params.operating_allocation.values[0].meta;
    let grades: Vec<Grade> = (1..=4).map(|t| op2019.grade_for(Tier(t))).collect();
    assert_eq!(grades, vec![Grade::P, Grade::S, Grade::S, Grade::P]);
    assert_eq!(op2019.grade, Grade::S, "the entry says its weakest value's grade");
    let year1 = |population: u32| {
        let text = format!(
            "cpts: CPTS test\ncontract:\n  signed: 2020-01-15\n  population: {population}\n  missions:\n    - {{code: acces_soins, start: 2020-01-15, fixed: 10000, variable: 0}}\n"
        );
        let c = validate(&parse_case(&text).unwrap(), &rules).unwrap();
        year_report(&rules, &c, 1).unwrap()
    };
    for (population, tier, secondary, source) in [
        (30_000, 1, false, "senat-r25-032"),
        (60_000, 2, true, "concours-medical-2020"),
        (100_000, 3, true, "concours-medical-2020"),
        (200_000, 4, false, "senat-r25-032"),
    ] {
        let r = year1(population);
        assert_eq!(r.tier, tier);
        let op = r.lines.iter().find(|l| l.component == "operating").unwrap();
        let marked = op.flags.iter().any(|f| f.starts_with("source secondaire"));
        assert_eq!(marked, secondary, "tier {tier}: {:?}", op.flags);
        assert_eq!(op.sources[0].source, source, "tier {tier}");
        assert_eq!(op.sources[0].grade, if secondary { Grade::S } else { Grade::P }, "tier {tier}");
        assert!(op.sources[0].value.starts_with(&format!("taille {tier} : ")), "{}", op.sources[0].value);
        let any = r.lines.iter().any(|l| l.flags.iter().any(|f| f.starts_with("source secondaire")));
        assert_eq!(any, secondary, "tier {tier}");
    }
}

#[test]
fn per_tier_grades_are_checked() {
    let grades = "      per_tier:\n        - {grade: P, source: senat-r25-032}\n        - {grade: S, source: concours-medical-2020}\n        - {grade: S, source: concours-medical-2020}\n        - {grade: P, source: senat-r25-032}\n";
    let at = "      checked: 2026-11-29\n      per_tier:\n";
    // The entry's grade is its weakest value's.
    let strong = with_parameters(|p| {
        p.replacen("      value: [50000, 60000, 75000, 90000]\n      grade: S", "      value: [50000, 60000, 75000, 90000]\n      grade: P", 1)
    });
    assert!(strong.unwrap_err().contains("le plus faible de ses valeurs par taille est [S]"));
    // One grade per tier.
    let short = with_parameters(|p| p.replacen("        - {grade: P, source: senat-r25-032, note: \"borne haute", "        - {grade: P, source: nulle-part, note: \"borne haute", 1));
    assert!(short.unwrap_err().contains("taille 4 : source inconnue « nulle-part »"));
    let three = with_parameters(|p| {
        let start = p.find(at).unwrap() + at.len();
        let end = p[start..].find("\n\n").unwrap() + start;
        format!("{}{}{}", &p[..start], grades.lines().skip(1).take(3).collect::<Vec<_>>().join("\n"), &p[end..])
    });
    assert!(three.unwrap_err().contains("3 grades par taille pour 4 valeurs"));
    // Not on a single value.
    let single = with_parameters(|p| p.replacen("      value: 5\n", &format!("      value: 5\n{grades}"), 1));
    assert!(single.unwrap_err().contains("contract_years du 24/08/2019 : grades par taille pour une valeur unique"));
}
