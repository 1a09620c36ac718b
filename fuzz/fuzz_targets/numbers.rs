//! Numbers as typed: amounts in euros, exact decimals, periods and dates in French notation.
//! Property: a parsed value prints in a form that parses back to the same value.
#![no_main]

use cpts_domain::values::Period;
use cpts_engine::money::Cents;
use cpts_engine::rate::Dec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Cells and form fields: any text.
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = Cents::parse_euros(&text) {
        let shown = c.to_string();
        assert_eq!(Cents::parse_euros(&shown), Ok(c), "« {shown} »");
    }
    if let Ok(d) = Dec::parse(&text) {
        let shown = d.to_string();
        assert_eq!(Dec::parse(&shown), Ok(d), "« {shown} »");
        let _ = d.to_nano_units();
    }
    if let Ok(p) = Period::parse(&text) {
        let shown = p.to_string();
        assert_eq!(Period::parse(&shown), Ok(p), "« {shown} »");
        // Every derived date must exist (these build dates without checks).
        assert!(p.first_day() < p.end());
        let _ = (p.label(), p.months());
    }
    if let Ok(d) = cpts_engine::dates::parse_french(&text) {
        // JJ/MM/AAAA: four-digit years only (a shorter year is refused as ambiguous).
        if (1000..=9999).contains(&d.year()) {
            let shown = cpts_engine::dates::fr(d);
            assert_eq!(cpts_engine::dates::parse_french(&shown), Ok(d), "« {shown} »");
        }
        assert_eq!(cpts_engine::dates::parse_french(&d.to_string()), Ok(d), "{d}");
    }
});
