//! The CSV/XLSX table reader of every import (`cpts members import`, `cpts values import`):
//! any bytes, CSV or XLSX by content. Needs `cpts_render::read_table`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = cpts_render::read_table(data) {
        // Every row keeps a line number past the header's.
        for (line, _) in &table.rows {
            assert!(*line >= 2, "row numbered {line}");
        }
    }
});
