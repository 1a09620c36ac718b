//! Contract annexes (`cpts contract sign --file annexe.yaml`): parse, build the agreement and
//! its contract, compute the schedule that signing stores as ledger lines.
#![no_main]

use cpts_domain::agreement::{Agreement, parse_annex};
use cpts_engine::compute::NoTrace;
use cpts_engine::schedule::schedule;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = cpts_fuzz::text(data) else { return };
    let rules = cpts_fuzz::rules();
    if parse_annex(text).is_err() {
        return;
    }
    if let Ok((agreement, contract)) = Agreement::new(1, "CPTS fuzz", text, "CPAM", "ARS", rules) {
        let _ = schedule(rules, &contract, &mut NoTrace);
        let _ = Agreement::end(&contract);
        let _ = agreement.case();
    }
});
