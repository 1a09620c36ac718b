//! Indicator values → yearly results → achievement and variable part (the engine's) → activity
//! report workflow → balance in the ledger. Golden figures computed by hand below.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

#[path = "../../../tests/reports/golden.rs"]
mod golden;

use std::collections::BTreeMap;

use golden::{ANNEX, live, row, year_one};

use cpts_domain::activity::{Act, Context, Report, Sheet, Status, document, report_alerts};
use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Book, Op};
use cpts_domain::calendar::Urgency;
use cpts_domain::document::{Block, Document};
use cpts_domain::ids::CptsId;
use cpts_domain::indicators::Catalogue;
use cpts_domain::ledger::{Gates, Line, Status as LineStatus};
use cpts_domain::lifecycle::Actor;
use cpts_domain::values::{Entry, Period, RawValue, Scope, check, validated_warnings, without_unchanged, year_values};
use cpts_engine::compute::{NoTrace, compute_year};
use cpts_engine::money::Cents;
use cpts_engine::rules::RuleSet;
use jiff::civil::date;

fn setup() -> (RuleSet, Catalogue, Agreement, BTreeMap<CptsId, Scope>) {
    let rules = RuleSet::builtin().unwrap();
    let catalogue = Catalogue::builtin(&rules).unwrap();
    let (a, _) = Agreement::new(1, "CPTS test", ANNEX, "CPAM test", "ARS test", &rules).unwrap();
    let scope = Scope::of(std::slice::from_ref(&a), &rules).unwrap();
    let scopes = [("cpts-test".parse::<CptsId>().unwrap(), scope)].into();
    (rules, catalogue, a, scopes)
}

#[test]
fn values_aggregate_into_the_contract_year_and_the_engine_pays_the_variable_part() {
    let (rules, catalogue, a, scopes) = setup();
    let entries = check(&year_one(), &scopes, &BTreeMap::new(), &catalogue).unwrap();
    assert_eq!(entries.len(), 24);
    let c = a.contract(&rules).unwrap();
    let yv = year_values(&c, 1, &catalogue, &entries);
    let by: BTreeMap<&str, _> = yv.iter().map(|v| (v.indicator.as_str(), v)).collect();
    assert_eq!(by["patients_sans_mt_aides"].value.unwrap().to_string(), "84");
    assert_eq!(by["snp_taux_reponse"].value.unwrap().to_string(), "65");
    assert_eq!(by["snp_taux_reponse"].denominator.unwrap().to_string(), "1200");
    assert!(by["patients_sans_mt_aides"].missing.is_empty());
    assert_eq!(by["patients_sans_mt_aides"].coverage(), "12/12 mois");

    // 0.6 × 84 % + 0.4 × (65 − 50)/(80 − 50) = 0.504 + 0.2 = 70.4 % of 10 000 € = 7 040 €.
    let mut with = a.clone();
    with.results.insert(
        1,
        cpts_engine::input::YearIn {
            values: yv.iter().map(|v| (v.indicator.clone(), v.value.unwrap())).collect(),
            ..Default::default()
        },
    );
    let c = with.contract(&rules).unwrap();
    let y1 = compute_year(&rules, &c, 1, &mut NoTrace).unwrap();
    assert_eq!(y1.variable, Cents::new(704_000));
    // Year 2 not reported: the 100 % hypothesis.
    assert_eq!(compute_year(&rules, &c, 2, &mut NoTrace).unwrap().variable, Cents::new(1_000_000));
}

#[test]
fn bad_values_are_all_reported_and_nothing_is_kept() {
    let (_, catalogue, _, scopes) = setup();
    let rows = vec![
        row(2, "couverture_vaccinale", "2021", "50", "", ""), // not in this contract
        row(3, "patients_sans_mt_aides", "2020-12", "3", "", ""), // before signature
        row(4, "patients_sans_mt_aides", "2021-02", "trois", "", ""),
        row(5, "snp_taux_reponse", "2021-03", "120", "", ""),
        row(6, "snp_taux_reponse", "2021-04", "", "70", "50"),
        row(7, "patients_sans_mt_aides", "2021-T1", "9", "", ""),
        row(8, "patients_sans_mt_aides", "2021-01", "3", "", ""), // overlaps line 7
        row(9, "patients_sans_mt_aides", "2021-05", "-2", "", ""),
        row(10, "patients_sans_mt_aides", "2021-05", "2", "", ""),
        row(11, "patients_sans_mt_aides", "2021-05", "2", "", ""), // duplicate of line 10
        RawValue { cpts: "cpts-inconnue".into(), ..row(12, "patients_sans_mt_aides", "2021-06", "1", "", "") },
        row(13, "snp_taux_reponse", "2021-06", "80", "60", "100"), // inconsistent
        row(14, "patients_sans_mt_aides", "2026-01", "1", "", ""), // after the end
        row(15, "patients_sans_mt_aides", "2021-08", "7,5", "", ""),
    ];
    let errors = check(&rows, &scopes, &BTreeMap::new(), &catalogue).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let all = text.join("\n");
    for (line, part) in [
        (2, "absent des objectifs du contrat n° 1"),
        (3, "avant le contrat signé le 01/01/2021"),
        (4, "n'est pas un nombre"),
        (5, "supérieur à 100"),
        (6, "supérieur au dénominateur"),
        (8, "chevauche 2021-T1 (ligne 7)"),
        (9, "négatif"),
        (11, "que la ligne 10"),
        (12, "inconnue"),
        (13, "incohérent"),
        (14, "hors de tout contrat"),
        (15, "nombre entier"),
    ] {
        assert!(
            text.iter().any(|t| t.starts_with(&format!("ligne {line},")) && t.contains(part)),
            "{line} {part}:\n{all}"
        );
    }
    // Stored periods count too: a quarter over a stored month is refused.
    let existing =
        [(("cpts-test".parse().unwrap(), "patients_sans_mt_aides".to_string()), vec![Period::Month(2021, 2)])].into();
    let e =
        check(&[row(2, "patients_sans_mt_aides", "2021-T1", "9", "", "")], &scopes, &existing, &catalogue).unwrap_err();
    assert!(e[0].message.contains("chevauche 2021-02, déjà enregistrée"), "{e:?}");
    // The same period corrects the stored value.
    assert!(check(&[row(2, "patients_sans_mt_aides", "2021-02", "9", "", "")], &scopes, &existing, &catalogue).is_ok());
}

#[test]
fn values_name_their_cpts_by_name_and_report_an_unknown_one_once() {
    let (_, catalogue, _, scopes) = setup();
    // The CPTS's exact name stands for its identifier.
    let named = RawValue { cpts: " CPTS test ".into(), ..row(2, "patients_sans_mt_aides", "2021-03", "7", "", "") };
    let entries = check(std::slice::from_ref(&named), &scopes, &BTreeMap::new(), &catalogue).unwrap();
    assert_eq!(entries[0].cpts.as_str(), "cpts-test");
    // Named both ways for the same period: one CPTS, a duplicate.
    let e = check(
        &[row(2, "patients_sans_mt_aides", "2021-03", "7", "", ""), RawValue { line: 3, ..named }],
        &scopes,
        &BTreeMap::new(),
        &catalogue,
    )
    .unwrap_err();
    assert!(e[0].message.contains("que la ligne 2"), "{e:?}");
    // 29 lines with an unknown name: one error, on the first line, saying what to write.
    let rows: Vec<RawValue> = (2..=30)
        .map(|l| RawValue { cpts: "Paris Nord".into(), ..row(l, "patients_sans_mt_aides", "2021-03", "7", "", "") })
        .collect();
    let e = check(&rows, &scopes, &BTreeMap::new(), &catalogue).unwrap_err();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        e[0].to_string(),
        "ligne 2, colonne « CPTS » : CPTS « Paris Nord » inconnue : indiquez l'identifiant de la CPTS (ex. cpts-paris-18) ou son nom exact (et 28 autres lignes)"
    );
    // A name off by case or spacing: its identifier is given.
    let near = RawValue { cpts: "cpts  TEST".into(), ..row(2, "patients_sans_mt_aides", "2021-03", "7", "", "") };
    let e = check(&[near], &scopes, &BTreeMap::new(), &catalogue).unwrap_err();
    assert!(e[0].message.contains("indiquez son identifiant « cpts-test » ou son nom exact « CPTS test »"), "{e:?}");
    // An indicator in neither the contract nor the catalogue: refused, the contract's codes listed.
    let e = check(&[row(2, "patients_sans_mt_aide", "2021-03", "7", "", "")], &scopes, &BTreeMap::new(), &catalogue)
        .unwrap_err();
    assert!(
        e[0].message.contains(
            "(code inconnu du catalogue national) ; indicateurs du contrat : patients_sans_mt_aides, snp_taux_reponse"
        ),
        "{e:?}"
    );
}

#[test]
fn unchanged_values_are_not_corrections_and_a_validated_year_is_said() {
    let (_, catalogue, _, mut scopes) = setup();
    let stored = check(&year_one(), &scopes, &BTreeMap::new(), &catalogue).unwrap();
    // The same figures written otherwise (7,0; 65 of 100 again) are unchanged; one real change.
    let mut again = year_one();
    again[0].value = "7,0".into();
    again[2].value = "8".into();
    let entries = check(&again, &scopes, &BTreeMap::new(), &catalogue).unwrap();
    let (changed, unchanged) = without_unchanged(entries, &stored);
    assert_eq!(unchanged, 23);
    assert_eq!(changed.len(), 1);
    assert_eq!((changed[0].period, changed[0].reading.value.to_string()), (Period::Month(2021, 2), "8".to_string()));
    // Nothing said while year 1 is open; once its report is validated, one warning.
    assert!(validated_warnings(&changed, &scopes).is_empty());
    scopes.values_mut().for_each(|s| {
        s.validated.insert((1, 1));
    });
    assert_eq!(
        validated_warnings(&changed, &scopes),
        ["Attention : 1 valeur(s) de cpts-test comptent dans l'année 1 du contrat n° 1, dont le rapport est validé : \
          elles sont enregistrées, mais le rapport validé garde ses résultats et le grand livre ses montants."]
    );
}

#[test]
fn a_report_goes_from_draft_to_validation_and_releases_the_balance() {
    let (rules, catalogue, a, scopes) = setup();
    let c = a.contract(&rules).unwrap();
    let plan = Book::open(&a, &rules).unwrap();
    let lines = plan.into_iter().zip(1..).map(|(p, id)| Line { id, planned: p, paid: Cents::ZERO, cancelled: None });
    let mut book = Book { agreement: a.clone(), lines: lines.collect(), gates: Gates::default() };
    let today = date(2022, 2, 15);
    let draft = "summary: Première année.
actions:
  - {title: Cellule médecin traitant, mission: acces_soins, from: 2021-02-01, professionals: 12}
expenses:
  - {item: Coordination, amount: 45000}
";
    let empty: Vec<Entry> = Vec::new();
    let none = year_values(&c, 1, &catalogue, &empty);
    let ctx = Context { rules: &rules, contract: &c, values: &none, today };
    let r = Report::draft(1, 1, 1, draft, &ctx).unwrap();
    assert_eq!(r.content.spent(), Ok(Cents::new(4_500_000)));
    // Dates as French users write them read the same; an impossible one is named.
    let french = draft.replace("from: 2021-02-01", "from: 01/02/2021, to: \"30/06/2021\"");
    let fr = Report::draft(1, 1, 1, &french, &ctx).unwrap();
    assert_eq!(fr.content.actions[0].from, r.content.actions[0].from);
    assert_eq!(fr.content.actions[0].to, Some(date(2021, 6, 30)));
    let e = Report::draft(1, 1, 1, &draft.replace("from: 2021-02-01", "from: 31/02/2021"), &ctx).unwrap_err();
    assert!(e.0.iter().any(|m| m.contains("actions[0].from") && m.contains("date impossible")), "{e:?}");
    // An action on a mission outside the contract, and one after the year, are refused.
    let bad = "actions:\n  - {title: X, mission: qualite, from: 2021-02-01}\n  - {title: Y, mission: parcours, from: 2022-03-01}\n";
    let e = Report::draft(1, 1, 1, bad, &ctx).unwrap_err();
    assert_eq!(e.0.len(), 2, "{e:?}");
    assert!(e.0[1].contains("hors de l'année 1 (du 01/01/2021 au 31/12/2021)"), "{e:?}");

    // Submitting without values: refused, naming the indicators.
    let e = r.act(Act::Soumettre, Actor::Cpts, "Coordinatrice", today, None, &ctx).unwrap_err();
    assert!(e.0[0].contains("patients_sans_mt_aides"), "{e:?}");
    // Submitting before the year's end: refused.
    let entries = check(&year_one(), &scopes, &BTreeMap::new(), &catalogue).unwrap();
    let values = year_values(&c, 1, &catalogue, &entries);
    let ctx = Context { rules: &rules, contract: &c, values: &values, today };
    let e = r.act(Act::Soumettre, Actor::Cpts, "Coordinatrice", date(2021, 12, 1), None, &ctx).unwrap_err();
    assert!(e.0[0].contains("avant la fin de l'année 1"), "{e:?}");
    // The ARS may not submit.
    assert!(r.act(Act::Soumettre, Actor::Ars, "Agent", today, None, &ctx).is_err());

    let r = r.act(Act::Soumettre, Actor::Cpts, "Coordinatrice", date(2022, 1, 20), None, &ctx).unwrap();
    assert_eq!(r.status, Status::Soumis);
    assert_eq!(r.results["patients_sans_mt_aides"].to_string(), "84");
    let r =
        r.act(Act::Commenter, Actor::Ars, "Agent ARS", date(2022, 1, 25), Some("Détail des créneaux ?"), &ctx).unwrap();
    assert_eq!(r.status, Status::EnRevue);
    let r = r.act(Act::Repondre, Actor::Cpts, "Coordinatrice", date(2022, 1, 26), Some("Voir annexe."), &ctx).unwrap();
    // The ARS and the CPTS may not validate; a comment needs text.
    let e = r.act(Act::Valider, Actor::Ars, "Agent ARS", date(2022, 2, 1), None, &ctx).unwrap_err();
    assert!(e.0[0].contains("réservée à la CPAM"), "{e:?}");
    assert!(r.act(Act::Valider, Actor::Cpts, "Coordinatrice", date(2022, 2, 1), None, &ctx).is_err());
    assert!(r.act(Act::Commenter, Actor::Cpam, "Agent", date(2022, 2, 1), Some("  "), &ctx).is_err());

    let v = r.act(Act::Valider, Actor::Cpam, "Agent CPAM", date(2022, 2, 1), None, &ctx).unwrap();
    assert_eq!(v.status, Status::Valide);
    assert_eq!(v.events.len(), 4);
    // Immutable once validated.
    let e = v.act(Act::Commenter, Actor::Cpam, "Agent", date(2022, 2, 2), Some("x"), &ctx).unwrap_err();
    assert!(e.0[0].contains("ne change plus"), "{e:?}");
    let v2 = v.next_version(&ctx).unwrap();
    assert_eq!((v2.version, v2.status, v2.text.as_str()), (2, Status::Brouillon, v.text.as_str()));

    // Before validation the variable balance waits; after, it is due with its amount:
    // 7 040 € earned, 0 advanced on the variable part → a 7 040 € balance.
    let before = live(&book.lines, 1, "acces_soins.variable");
    assert_eq!(before.iter().map(|l| l.planned.amount.get()).sum::<i64>(), 1_000_000);
    assert_eq!(before[0].status(today, &book.gates), LineStatus::Planned);
    let o = book.decide(&Op::Release { year: 1, on: date(2022, 2, 1), results: v.year_in() }, &rules, today).unwrap();
    book.apply(o);
    let after = live(&book.lines, 1, "acces_soins.variable");
    assert_eq!(after.iter().map(|l| l.planned.amount.get()).sum::<i64>(), 704_000);
    assert!(after.iter().all(|l| l.status(today, &book.gates) == LineStatus::Due), "{after:?}");
}

/// The mission deployment of a report version is judged on the last day of its year, with what
/// was recorded by then: printed years later, after a later deployment, it reads the same.
#[test]
fn a_validated_report_shows_its_year_and_never_changes() {
    let (rules, catalogue, a, scopes) = setup();
    let c = a.contract(&rules).unwrap();
    let entries = check(&year_one(), &scopes, &BTreeMap::new(), &catalogue).unwrap();
    let values = year_values(&c, 1, &catalogue, &entries);
    let ctx = Context { rules: &rules, contract: &c, values: &values, today: date(2022, 2, 1) };
    let mut r = Report::draft(1, 1, 1, "summary: x\n", &ctx).unwrap();
    for (act, role, on, text) in [
        (Act::Rediger, Actor::Cpts, date(2021, 11, 15), Some("summary: x\n")),
        (Act::Soumettre, Actor::Cpts, date(2022, 1, 20), None),
        (Act::Valider, Actor::Cpam, date(2022, 2, 1), None),
    ] {
        r = r.act(act, role, "x", on, text, &ctx).unwrap();
    }
    let print = |agreement: &Agreement, today| {
        let identity = cpts_domain::activity::Identity::default();
        let sheet = Sheet {
            rules: &rules,
            catalogue: &catalogue,
            agreement,
            values: &values,
            received: &[],
            ledger: &[],
            payments: &[],
            today,
            identity: &identity,
        };
        document(&r, &sheet).unwrap()
    };
    let at_validation = print(&a, date(2022, 2, 1));
    let deployment = |d: &Document| match d.blocks.iter().find(|b| matches!(b, Block::Table(t) if t.name == "Missions"))
    {
        Some(Block::Table(t)) => t.rows.clone(),
        _ => panic!("no deployment table"),
    };
    // Started at signature, deployment deadline not passed on 31/12/2021: « démarrée ».
    let rows = deployment(&at_validation);
    assert!(rows.iter().all(|row| row.last().unwrap() == "démarrée"), "{rows:?}");
    assert!(
        at_validation
            .blocks
            .contains(&Block::Text("Situation au 31/12/2021, dernier jour de l'année du rapport.".into()))
    );
    // Years later, after a deployment in year 2: the same document but for its edition date.
    let (later, _) = a.deploy_mission("parcours", date(2022, 6, 1), &rules).unwrap();
    let mut reprinted = print(&later, date(2026, 11, 30));
    assert_eq!(reprinted.subtitle.iter().filter(|l| l.starts_with("Édité le 30/11/2026")).count(), 1);
    reprinted.subtitle.retain(|l| !l.starts_with("Édité le"));
    let mut original = at_validation.clone();
    original.subtitle.retain(|l| !l.starts_with("Édité le"));
    assert_eq!(reprinted, original);
}

/// No national deadline for the activity report: an awaited report is « à faire », never late,
/// dated on the last day of its year; a view as of a date ignores later steps.
#[test]
fn report_alerts_invent_no_deadline_and_ignore_later_steps() {
    let (rules, catalogue, a, scopes) = setup();
    let c = a.contract(&rules).unwrap();
    let entries = check(&year_one(), &scopes, &BTreeMap::new(), &catalogue).unwrap();
    let values = year_values(&c, 1, &catalogue, &entries);
    let ctx = Context { rules: &rules, contract: &c, values: &values, today: date(2022, 3, 1) };
    let none = report_alerts(&c, &[], date(2022, 3, 1));
    assert_eq!(none.len(), 1, "{none:?}");
    assert_eq!((none[0].date, none[0].urgency), (date(2021, 12, 31), Urgency::ToDo));
    assert!(none[0].text.contains("année close le 31/12/2021"), "{none:?}");
    let r = Report::draft(1, 1, 1, "summary: x\n", &ctx)
        .unwrap()
        .act(Act::Rediger, Actor::Cpts, "x", date(2022, 1, 10), Some("summary: x\n"), &ctx)
        .unwrap()
        .act(Act::Soumettre, Actor::Cpts, "x", date(2022, 1, 20), None, &ctx)
        .unwrap();
    let on = |d| report_alerts(&c, std::slice::from_ref(&r), d).into_iter().map(|x| x.text).collect::<Vec<_>>();
    assert!(on(date(2022, 1, 5))[0].contains("à rédiger et soumettre"));
    assert!(on(date(2022, 1, 15))[0].contains("en brouillon, à soumettre"));
    assert!(on(date(2022, 2, 1))[0].contains("soumis depuis le 20/01/2022"));
    let v = r.act(Act::Valider, Actor::Cpam, "x", date(2022, 2, 1), None, &ctx).unwrap();
    assert!(report_alerts(&c, &[v], date(2022, 3, 1)).is_empty());
}

#[test]
fn indicator_values_have_a_range_and_yearly_sums_are_checked() {
    let (rules, catalogue, a, scopes) = setup();
    let max = "9223372036854775807";
    let rows = vec![
        row(2, "patients_sans_mt_aides", "2021-01", max, "", ""),
        row(3, "patients_sans_mt_aides", "2021-02", max, "", ""),
        row(4, "snp_taux_reponse", "2021-01", "", max, max),
    ];
    let errors = check(&rows, &scopes, &BTreeMap::new(), &catalogue).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for at in ["ligne 2, colonne « Valeur »", "ligne 3, colonne « Valeur »", "ligne 4, colonne « Numérateur »"] {
        assert!(text.iter().any(|t| t.starts_with(at) && t.contains("hors limites")), "{at}: {text:?}");
    }
    // Twelve months at the bound each: the year's sum is refused as a value, never paid on 0.
    let mut rows = year_one();
    for r in rows.iter_mut().filter(|r| r.indicator == "patients_sans_mt_aides") {
        r.value = "1000000000".into();
    }
    let entries = check(&rows, &scopes, &BTreeMap::new(), &catalogue).unwrap();
    let c = a.contract(&rules).unwrap();
    let yv = year_values(&c, 1, &catalogue, &entries);
    let p = yv.iter().find(|v| v.indicator == "patients_sans_mt_aides").unwrap();
    assert_eq!(p.value, None);
    assert!(p.problem.as_deref().is_some_and(|p| p.contains("somme de l'année au-delà de 1 000 000 000")), "{p:?}");
}

#[test]
fn report_expenses_are_decimal_and_their_total_is_checked() {
    let (rules, catalogue, a, scopes) = setup();
    let entries = check(&year_one(), &scopes, &BTreeMap::new(), &catalogue).unwrap();
    let c = a.contract(&rules).unwrap();
    let yv = year_values(&c, 1, &catalogue, &entries);
    let ctx = Context { rules: &rules, contract: &c, values: &yv, today: date(2022, 2, 15) };
    let overflow = "expenses:\n  - {item: Coordination, amount: 92233720368547758}\n  - {item: Locaux, amount: 1}\n";
    let e = Report::draft(1, 1, 1, overflow, &ctx).unwrap_err();
    assert!(e.0.iter().any(|m| m.starts_with("expenses[1] « Locaux »") && m.contains("total des dépenses")), "{e:?}");
    let hex = "expenses:\n  - {item: Coordination, amount: 0x10}\n";
    let e = Report::draft(1, 1, 1, hex, &ctx).unwrap_err().to_string();
    assert!(e.contains("expenses[0].amount") && e.contains("« 0x10 »"), "{e}");
    let deep = format!("summary: x\nactions: {}\n", "[".repeat(80_000));
    let e = Report::draft(1, 1, 1, &deep, &ctx).unwrap_err().to_string();
    assert!(e.contains("ligne 2") && e.contains("imbrication trop profonde"), "{e}");
    let e = Report::draft(
        1,
        1,
        1,
        "actions:\n  - {title: X, mission: acces_soins, from: 2021-02-01, professionals: -3}\n",
        &ctx,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("actions[0].professionals") && !e.contains("expected"), "{e}");
}

#[test]
fn annexes_and_amendments_refuse_out_of_range_populations_in_french() {
    let (rules, _, a, _) = setup();
    let big = ANNEX.replacen("population: ", "population: 9223372036854775807 #", 1);
    let e = Agreement::new(1, "CPTS test", &big, "CPAM", "ARS", &rules).unwrap_err();
    assert!(e.iter().any(|e| e.to_string().contains("population 9 223 372 036 854 775 807 hors limites")), "{e:?}");
    let e = a.amend("effective: 2022-01-01\npopulation: 9223372036854775807\n", &rules).unwrap_err();
    assert!(e.iter().any(|e| e.field == "population" && e.message.contains("hors limites")), "{e:?}");
    let e = a.amend("effective: 2022-01-01\npopulation: 0x10\n", &rules).unwrap_err();
    assert!(e.iter().any(|e| e.field == "population" && !e.message.contains("expected")), "{e:?}");
}

#[test]
fn explanations_name_indicators_read_missing_values_and_rates_as_the_table_does() {
    let (rules, catalogue, a, _) = setup();
    // 84 patients entered; the SNP rate not entered (counted at its baseline, 50).
    let values = [("patients_sans_mt_aides".to_string(), cpts_engine::rate::Dec::from_int(84))].into();
    let ach = cpts_domain::activity::achievement(&rules, &catalogue, &a, 1, &values, (false, false)).unwrap();
    let snp = ach.objectives.iter().find(|o| o.indicator == "snp_taux_reponse").unwrap();
    assert_eq!(snp.value_text(), "non saisie");
    let (_, _, text) = &ach.variable[0];
    // The annex names no indicator: the catalogue's labels, never the raw codes.
    assert!(text.contains("« Patients sans médecin traitant aidés à en trouver un » : valeur 84"), "{text}");
    assert!(!text.contains("« snp_taux_reponse »") && !text.contains("« patients_sans_mt_aides »"), "{text}");
    // Not « valeur 50 » (its baseline) where the table says « non saisie ».
    assert!(text.contains("valeur non saisie (comptée à sa référence), référence 50"), "{text}");
    assert!(!text.contains("valeur 50"), "{text}");
    // 0.6 × 84 % = 50,4 %.
    assert!(text.contains("taux d'atteinte pondéré 50,4 %"), "{text}");
}

#[test]
fn the_annex_is_read_as_a_contract_section_or_a_whole_case_file_and_the_examples_hold() {
    let rules = RuleSet::builtin().unwrap();
    let read = |p: &str| std::fs::read_to_string(format!("{}/../../{p}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    // A whole case file: only its `contract:` section is read.
    let whole = read("examples/cpts-exemple.yaml");
    let section: String = whole
        .lines()
        .skip_while(|l| !l.starts_with("contract:"))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' ') || l.starts_with('#'))
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    let (a, ca) = Agreement::new(1, "CPTS", &whole, "CPAM", "ARS", &rules).unwrap();
    let (b, cb) = Agreement::new(1, "CPTS", &section, "CPAM", "ARS", &rules).unwrap();
    assert_eq!((a.terms.signed, a.terms.population), (b.terms.signed, b.terms.population));
    assert_eq!(a.progress, b.progress);
    assert_eq!(ca.missions.len(), cb.missions.len());
    assert_eq!(format!("{:?}", ca.missions), format!("{:?}", cb.missions));
    // A case file's errors still name their field.
    let bad = whole.replacen("population: 62000", "population: beaucoup", 1);
    let e = Agreement::new(1, "CPTS", &bad, "CPAM", "ARS", &rules).unwrap_err();
    assert!(e.iter().any(|e| e.field.contains("population")), "{e:?}");

    // The documented examples: the annex signs, the report reads against its first year.
    let (_, c) =
        Agreement::new(1, "CPTS", &read("examples/fichiers/annexe-exemple.yaml"), "CPAM", "ARS", &rules).unwrap();
    let content =
        cpts_domain::activity::Content::parse(&read("examples/fichiers/rapport-exemple.yaml"), &c, 1, &rules).unwrap();
    assert_eq!(content.actions.len(), 2);
    assert_eq!(content.spent().unwrap().to_string(), "63 600,50 €");
    assert!(content.crisis_plan && !content.crisis_declared);
}

mod chunked {
    use super::*;
    use cpts_domain::values::Checker;
    use proptest::prelude::*;

    /// A row among few choices, so that duplicates, overlaps, unknown CPTS and bad cells
    /// come often.
    fn any_row() -> impl Strategy<Value = (usize, usize, usize, usize)> {
        (0..3usize, 0..3usize, 0..8usize, 0..4usize)
    }

    fn make(line: usize, (c, i, p, v): (usize, usize, usize, usize)) -> RawValue {
        let cpts = ["cpts-test", "CPTS test", "cpts-autre"][c];
        let indicator = ["patients_sans_mt_aides", "snp_taux_reponse", "inconnu"][i];
        let period = ["2021-01", "2021-02", "2021-03", "2021-T1", "2021-T2", "2022", "2020-12", "x"][p];
        let (value, num, den) = match (i, v) {
            (1, 0) => ("", "60", "100"),
            (1, 1) => ("", "70", "50"),
            (_, 2) => ("trois", "", ""),
            (_, 3) => ("", "", ""),
            _ => ("7", "", ""),
        };
        RawValue { cpts: cpts.into(), ..row(line, indicator, period, value, num, den) }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Checking a file chunk by chunk finds the same entries and the same errors as
        /// checking it whole, wherever the chunks are cut.
        #[test]
        fn chunks_check_as_the_whole_file(picks in proptest::collection::vec(any_row(), 0..40), cut in 1usize..12) {
            let (_, catalogue, _, scopes) = setup();
            let rows: Vec<RawValue> = picks.into_iter().enumerate().map(|(k, p)| make(k + 2, p)).collect();
            let existing: BTreeMap<(CptsId, String), Vec<Period>> =
                [(("cpts-test".parse().unwrap(), "patients_sans_mt_aides".to_string()), vec![Period::Month(2021, 2), Period::Quarter(2021, 2)])].into();
            let whole = check(&rows, &scopes, &existing, &catalogue);
            let mut checker = Checker::new(&catalogue);
            let mut entries = Vec::new();
            for chunk in rows.chunks(cut) {
                entries.extend(checker.rows(chunk, &scopes));
            }
            let chunked = checker.finish(&existing).map(|()| entries);
            prop_assert_eq!(whole, chunked);
        }
    }
}
