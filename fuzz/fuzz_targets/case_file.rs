//! Case files (`cpts funding schedule|year|simulate FILE`) and test files (`cpts funding test`):
//! parse, validate against the shipped rules, compute the schedule, every year and a reform
//! simulation. Errors are fine; a panic (overflow included) is a finding.
#![no_main]

use cpts_engine::input::load_case;
use cpts_engine::report::{schedule_report, year_report};
use cpts_engine::simulate::simulate;
use cpts_engine::testcase::run_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = cpts_fuzz::text(data) else { return };
    let rules = cpts_fuzz::rules();
    if let Ok(contract) = load_case(text, rules) {
        let _ = schedule_report(rules, &contract);
        // Year 0 and one past the term: the edges of `year_report`'s range.
        for year in 0..=6 {
            let _ = year_report(rules, &contract, year);
        }
        if let Some(Ok(reform)) = rules.builtin_reform("projet-cnam-2019-04") {
            let _ = simulate(rules, &reform, std::slice::from_ref(&contract));
        }
    }
    // The same bytes as an OpenFisca-style test file.
    let _ = run_file(text, rules);
});
