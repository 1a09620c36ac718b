//! Identifiers (SIRET, RPPS, FINESS, RNA, INSEE code, CPTS id from text and from a name).
//! Property: what parses prints as its canonical form, which parses back to the same value.
#![no_main]

use std::fmt::Debug;
use std::str::FromStr;

use cpts_domain::ids::{CptsId, Finess, InseeCode, Rna, Rpps, Siret};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: FromStr<Err = String> + ToString + PartialEq + Debug>(text: &str) {
    if let Ok(v) = text.parse::<T>() {
        let shown = v.to_string();
        assert_eq!(shown.parse::<T>().as_ref(), Ok(&v), "« {shown} » does not parse back");
    }
}

fuzz_target!(|data: &[u8]| {
    // Identifiers come from form fields and table cells, which may be any text.
    let text = String::from_utf8_lossy(data);
    round_trip::<Siret>(&text);
    round_trip::<Rpps>(&text);
    round_trip::<Finess>(&text);
    round_trip::<Rna>(&text);
    round_trip::<InseeCode>(&text);
    round_trip::<CptsId>(&text);
    if let Ok(id) = CptsId::from_name(&text) {
        // A slug is its own slug, and a valid id.
        assert_eq!(CptsId::from_name(id.as_str()).as_ref(), Ok(&id));
        assert_eq!(id.as_str().parse::<CptsId>().as_ref(), Ok(&id));
    }
});
