//! Amendments (`cpts contract amend --file avenant.yaml`): parse, apply to the golden
//! agreement, recompute the schedule the ledger is reconciled with.
#![no_main]

use cpts_domain::agreement::{Agreement, AmendmentRecord};
use cpts_engine::compute::NoTrace;
use cpts_engine::schedule::schedule;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = cpts_fuzz::text(data) else { return };
    let rules = cpts_fuzz::rules();
    // `amend` parses with `AmendmentRecord::parse` first; its errors are fine.
    let _ = AmendmentRecord::parse(text).map(|r| r.parsed);
    let (agreement, _) = cpts_fuzz::golden();
    if let Ok((amended, contract)) = agreement.amend(text, rules) {
        let _ = schedule(rules, &contract, &mut NoTrace);
        let _ = Agreement::end(&contract);
        // A second amendment on top of the first, as a contract's life goes.
        if let Ok((_, c2)) = amended.amend(text, rules) {
            let _ = schedule(rules, &c2, &mut NoTrace);
        }
    }
});
