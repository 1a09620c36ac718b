//! Indicator values (`cpts values import FILE`, `cpts values set`): rows checked against the
//! golden contract and stored periods, aggregated into the contract year, then given to the
//! engine for the year's variable part (`cpts achievement`, report validation).
//!
//! Input: text, one row a line, cells split on `;` in the file's column order (CPTS; Indicateur;
//! Période; Valeur; Numérateur; Dénominateur). The CSV/XLSX reader has its own target (`table`):
//! here the fuzzer writes the cells directly.
#![no_main]

use std::collections::BTreeMap;

use cpts_domain::activity::achievement;
use cpts_domain::ids::CptsId;
use cpts_domain::values::{Period, RawValue, Scope, check, year_values};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = cpts_fuzz::text(data) else { return };
    let rules = cpts_fuzz::rules();
    let catalogue = cpts_fuzz::catalogue();
    let (agreement, contract) = cpts_fuzz::golden();
    let Ok(id) = cpts_fuzz::GOLDEN_CPTS.parse::<CptsId>() else { return };
    // The scope as the import builds it (name, contracts, validated years).
    let Ok(scope) = Scope::of(std::slice::from_ref(agreement), rules) else { return };
    let scopes = BTreeMap::from([(id.clone(), scope)]);
    // One stored month, so that overlaps with the store are checked too.
    let existing = BTreeMap::from([((id, "patients_sans_mt_aides".to_string()), vec![Period::Month(2021, 1)])]);
    let rows: Vec<RawValue> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut cells = line.split(';').map(str::to_string);
            let mut next = || cells.next().unwrap_or_default();
            RawValue {
                line: i + 2,
                cpts: next(),
                indicator: next(),
                period: next(),
                value: next(),
                numerator: next(),
                denominator: next(),
            }
        })
        .collect();
    let Ok(entries) = check(&rows, &scopes, &existing, catalogue) else { return };
    for year in 1..=2 {
        let yearly = year_values(contract, year, catalogue, &entries);
        let values: BTreeMap<String, _> =
            yearly.iter().filter_map(|y| Some((y.indicator.clone(), y.value?))).collect();
        for y in &yearly {
            let _ = y.coverage();
        }
        let _ = achievement(rules, catalogue, agreement, year, &values, (false, false));
    }
});
