//! Member files (`cpts members import ID FILE`): the table reader, then the member rows checked
//! against the INSEE communes. Needs `cpts_render::read_table` and
//! `cpts_domain::registry::members_from`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = cpts_render::read_table(data) {
        let _ = cpts_domain::registry::members_from(&table, cpts_fuzz::geo());
    }
});
