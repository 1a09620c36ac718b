//! Reform files (`cpts funding simulate --reform FILE`): overlay on the shipped rules, then
//! simulate the example contract under them, as the command does.
#![no_main]

use cpts_engine::report::schedule_report;
use cpts_engine::simulate::simulate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = cpts_fuzz::text(data) else { return };
    let rules = cpts_fuzz::rules();
    if let Ok(reform) = rules.with_reform("reform.yaml", text) {
        let contract = cpts_fuzz::example();
        let _ = simulate(rules, &reform, std::slice::from_ref(contract));
        let _ = schedule_report(&reform, contract);
    }
});
