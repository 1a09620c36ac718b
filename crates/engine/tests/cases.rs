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
