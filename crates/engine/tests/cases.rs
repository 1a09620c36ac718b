//! Runs every OpenFisca-style case file of `tests/funding/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

use std::path::Path;

use cpts_engine::rules::RuleSet;
use cpts_engine::testcase::run_file;

#[test]
fn funding_case_files() {
    let rules = RuleSet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/funding");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    assert!(files.len() >= 6, "case files missing in {}", dir.display());
    let (mut passed, mut failed) = (0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let outcomes = run_file(&text, &rules).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for o in outcomes {
            if o.failures.is_empty() {
                passed += 1;
            } else {
                failed.push(format!("{} — {}:\n  {}", f.display(), o.name, o.failures.join("\n  ")));
            }
        }
    }
    assert!(failed.is_empty(), "{} case(s) failed, {passed} passed:\n{}", failed.len(), failed.join("\n"));
    assert!(passed >= 60, "only {passed} cases ran");
}

/// One contract, one total: the schedule, the sum of its years plus the lettre d'intention
/// payment, and the simulation's baseline all agree, the letter's payment said apart.
#[test]
fn schedule_years_and_simulation_give_one_total() {
    use cpts_engine::explain::Explanation;
    use cpts_engine::input::{parse_case, validate};
    use cpts_engine::money::Cents;
    use cpts_engine::schedule::schedule;
    use cpts_engine::simulate::simulate;
    let rules = RuleSet::builtin().unwrap();
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cpts-exemple.yaml")).unwrap();
    let c = validate(&parse_case(&text).unwrap(), &rules).unwrap();
    let s = schedule(&rules, &c, &mut Explanation::default()).unwrap();
    assert_eq!(s.total_entitlement, Cents::new(178_370_069));
    assert_eq!(s.lettre_intention, Cents::new(1_750_000));
    let years = Cents::sum(s.years.iter().map(|y| y.total)).unwrap();
    assert_eq!(years.checked_add(s.lettre_intention).unwrap(), s.total_entitlement);
    let sim = simulate(&rules, &rules, std::slice::from_ref(&c)).unwrap();
    assert_eq!(sim.baseline.total, s.total_entitlement, "simulate and schedule disagree");
    assert_eq!(sim.baseline.lettre_intention, s.lettre_intention);
}
