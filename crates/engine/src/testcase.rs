//! Test cases in the style of OpenFisca's YAML tests: a case, the period to compute,
//! and the expected amounts. Pure: the caller reads the files.
//!
//! A test file is a list of tests, or a mapping with a `tests:` list (its other keys
//! can hold YAML anchors shared by the tests; `<<:` merge keys are applied).

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Deserialize;

use crate::compute::{EngineError, year_core};
use crate::contract::Contract;
use crate::explain::Explanation;
use crate::input::{CaseFile, validate};
use crate::money::Cents;
use crate::rules::RuleSet;
use crate::schedule::{PaymentKind, schedule};
use crate::yaml;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestIn {
    name: String,
    /// Contract year to compute…
    #[serde(default)]
    year: Option<u8>,
    /// …or the whole schedule.
    #[serde(default)]
    schedule: bool,
    /// A reform id (`rules/aci/reforms/`) to compute under instead of the rules in force.
    #[serde(default)]
    reform: Option<String>,
    input: yaml_serde::Value,
    #[serde(default)]
    output: BTreeMap<String, yaml_serde::Value>,
    #[serde(default)]
    payments: Option<Vec<PaymentIn>>,
    #[serde(default)]
    warnings: Vec<String>,
    /// The computation must fail with a message containing this text.
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentIn {
    date: Date,
    component: String,
    kind: PaymentKind,
    amount: Cents,
}

/// One test's result: no failures means it passed.
#[derive(Debug)]
pub struct Outcome {
    pub name: String,
    pub failures: Vec<String>,
}

/// Parse a test file and run every test in it.
pub fn run_file(text: &str, rules: &RuleSet) -> Result<Vec<Outcome>, String> {
    let mut doc = yaml::value(text).map_err(|e| e.to_string())?;
    doc.apply_merge().map_err(|e| yaml::translate(&e.to_string()))?;
    let list = match doc {
        yaml_serde::Value::Mapping(mut m) => m.remove("tests").ok_or("clé `tests` manquante")?,
        other => other,
    };
    // Typed through the text, so amounts keep the reading rules of a case file.
    let tests: Vec<TestIn> = yaml::from_value(&list).map_err(|e| e.to_string())?;
    Ok(tests.into_iter().map(|t| run_one(t, rules)).collect())
}

fn run_one(t: TestIn, base: &RuleSet) -> Outcome {
    let mut failures = Vec::new();
    let reformed;
    let rules = match &t.reform {
        None => base,
        Some(id) => match base.builtin_reform(id) {
            Some(Ok(r)) => {
                reformed = r;
                &reformed
            }
            _ => return Outcome { name: t.name, failures: vec![format!("réforme inconnue « {id} »")] },
        },
    };
    let result = yaml::from_value::<CaseFile>(&t.input)
        .map_err(|e| e.to_string())
        .and_then(|case| {
            validate(&case, rules).map_err(|es| es.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ; "))
        })
        .and_then(|c| check(&t, rules, &c, &mut failures).map_err(|e| e.to_string()));
    match (&t.error, result) {
        (Some(expected), Err(msg)) if msg.contains(expected.as_str()) => {}
        (Some(expected), Err(msg)) => {
            failures.push(format!("erreur attendue contenant « {expected} », obtenu « {msg} »"))
        }
        (Some(expected), Ok(())) => failures.push(format!("erreur attendue « {expected} », mais le calcul a réussi")),
        (None, Err(msg)) => failures.push(format!("erreur inattendue : {msg}")),
        (None, Ok(())) => {}
    }
    Outcome { name: t.name, failures }
}

fn check(t: &TestIn, rules: &RuleSet, c: &Contract, failures: &mut Vec<String>) -> Result<(), EngineError> {
    let mut ex = Explanation::default();
    let mut got: BTreeMap<String, Cents> = BTreeMap::new();
    let mut tier = None;
    if let Some(n) = t.year {
        let y = year_core(rules, c, n, &mut ex, |cm, my| {
            if let Some(code) = rules.mission(cm.mission).map(|d| d.code.clone()) {
                got.insert(format!("{code}.fixed"), my.fixed);
                got.insert(format!("{code}.variable"), my.variable);
                got.insert(format!("{code}.activation"), my.activation);
            }
        })?;
        tier = Some(y.tier.0);
        for (k, v) in [
            ("operating", y.operating),
            ("fixed", y.fixed),
            ("variable", y.variable),
            ("activation", y.activation),
            ("total", y.total),
        ] {
            got.insert(k.into(), v);
        }
        let lines = Cents::sum(ex.lines.iter().filter(|l| l.year == n).map(|l| l.amount))?;
        if lines != y.total {
            failures.push(format!("les lignes expliquées font {lines}, le total {}", y.total));
        }
    }
    if t.schedule {
        let s = schedule(rules, c, &mut ex)?;
        if s.total_paid != s.total_entitlement {
            failures.push(format!("versements {} ≠ droits {}", s.total_paid, s.total_entitlement));
        }
        got.insert("total_paid".into(), s.total_paid);
        got.insert("total_entitlement".into(), s.total_entitlement);
        got.insert("repaid".into(), s.repaid);
        got.insert("lettre_intention".into(), s.lettre_intention);
        for y in &s.years {
            got.insert(format!("year{}.total", y.year), y.total);
            tier.get_or_insert(y.tier.0);
        }
        if let Some(expected) = &t.payments {
            let actual: Vec<(Date, String, PaymentKind, Cents)> =
                s.payments.iter().map(|p| (p.date, p.component.code(rules), p.kind, p.amount)).collect();
            let wanted: Vec<(Date, String, PaymentKind, Cents)> =
                expected.iter().map(|p| (p.date, p.component.clone(), p.kind, p.amount)).collect();
            if actual != wanted {
                failures.push(format!(
                    "échéancier différent :\n    attendu {}\n    obtenu  {}",
                    show_payments(&wanted),
                    show_payments(&actual)
                ));
            }
        }
    }
    for (key, want) in &t.output {
        if key == "tier" {
            let w = want.as_u64();
            if w != tier.map(u64::from) {
                failures.push(format!("tier : attendu {w:?}, obtenu {tier:?}"));
            }
            continue;
        }
        let want: Cents = match yaml::from_value(want) {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("{key} : valeur attendue illisible ({e})"));
                continue;
            }
        };
        match got.get(key) {
            Some(g) if *g == want => {}
            Some(g) => failures.push(format!("{key} : attendu {want}, obtenu {g}")),
            None => failures.push(format!(
                "{key} : clé inconnue (connues : {})",
                got.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }
    let texts: Vec<String> = ex.warnings.iter().map(|w| w.text(rules)).collect();
    for w in &t.warnings {
        if !texts.iter().any(|x| x.contains(w.as_str())) {
            failures.push(format!("avertissement attendu « {w} » absent (obtenus : {texts:?})"));
        }
    }
    Ok(())
}

fn show_payments(p: &[(Date, String, PaymentKind, Cents)]) -> String {
    p.iter().map(|(d, c, k, a)| format!("{d} {c} {k:?} {a}")).collect::<Vec<_>>().join(" | ")
}
