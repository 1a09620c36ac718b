//! Activity report drafts (`cpts report draft --file rapport.yaml`): parse and check against the
//! golden contract, for its first year and for a year out of the contract.
#![no_main]

use cpts_domain::activity::Content;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = cpts_fuzz::text(data) else { return };
    let rules = cpts_fuzz::rules();
    let (_, contract) = cpts_fuzz::golden();
    if let Ok(content) = Content::parse(text, contract, 1, rules) {
        let _ = content.spent();
    }
    let _ = Content::parse(text, contract, 9, rules);
});
