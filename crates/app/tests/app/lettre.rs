//! The lettre d'intention payment (avenant 2) enters the ledger when the ARS validates the
//! letter, not back-dated at the signature; the signed annex must agree with it.

use cpts_app::contracts::SignContract;
use cpts_app::lifecycle::StepBy;
use cpts_app::{Action, AppError, Role};
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::{Actor, Step};
use cpts_domain::registry::{Identity, Territory};
use cpts_engine::compute::NoTrace;
use jiff::civil::{Date, date};

use crate::common::{admin, apps};

fn by(actor: Actor, on: Date) -> StepBy {
    StepBy { on, actor, by: "Test".into(), document: None, note: None }
}

const LETTER: Date = date(2023, 3, 1);
const SIGNED: Date = date(2024, 1, 15);

fn annex(lettre: Option<Date>) -> String {
    let mut a = format!(
        "signed: {SIGNED}\nmissions:\n  - {{code: acces_soins, fixed: 20000, variable: 10000, objectives: [{{indicator: mt, target: 100, weight: 100}}]}}\n  - {{code: parcours, fixed: 15000, variable: 0}}\n  - {{code: prevention, fixed: 12345.67, variable: 0}}\n  - {{code: crises, fixed: 35000, activation: 52500}}\n"
    );
    if let Some(d) = lettre {
        a.push_str(&format!("lettre_intention_validated: {d}\n"));
    }
    a
}

#[tokio::test]
async fn the_lettre_d_intention_line_is_written_at_validation_and_kept_at_signature() {
    for (engine, app) in apps().await {
        let id: CptsId = "cpts-brest".parse().unwrap();
        let identity = Identity {
            name: "CPTS Brest".into(),
            legal_form: "association loi 1901".into(),
            rna: None,
            siret: None,
            finess: None,
            seat: Some("29019".parse().unwrap()),
        };
        let territory = Territory { communes: ["29019".parse().unwrap()].into() };
        let areas = app.areas(identity.seat.as_ref(), &territory.communes);
        let stamp = app.stamp(&admin(), Role::AdminNational, Action::CreateCpts);
        let r = app.store.create_cpts(&stamp, &id, &identity, &areas).await.unwrap();
        app.store.set_territory(&stamp, &id, r.territory_version, &territory, &areas).await.unwrap();
        for (step, actor, on) in [
            (Step::Declare, Actor::Cpts, date(2023, 1, 10)),
            (Step::Formalise, Actor::Cpts, date(2023, 2, 1)),
            (Step::ValidateLetter, Actor::Ars, LETTER),
        ] {
            app.record_step(&admin(), &id, step, &by(actor, on)).await.unwrap();
        }
        // Validated: one line, due that day, of the amount of the CPTS's tier then.
        let lines = app.store.ledger(&id).await.unwrap();
        assert_eq!(lines.len(), 1, "[{engine}] {lines:?}");
        let l = &lines[0];
        let summary = territory.summary(&app.geo, &app.rules, LETTER, None).unwrap();
        let expected =
            cpts_engine::schedule::lettre_intention_amount(&app.rules, summary.population, LETTER, None, &mut NoTrace)
                .unwrap()
                .unwrap();
        assert_eq!((l.planned.due, l.planned.amount), (LETTER, expected.amount), "[{engine}]");
        assert!(l.planned.funder.contains("Finistère") && l.planned.funder.ends_with("ACI"), "[{engine}] {}", l.planned.funder);
        // The CPAM pays it before any contract exists.
        let pay = cpts_app::ledger::Pay { id: id.clone(), line: l.id, on: date(2023, 3, 20), amount: None, by: "CPAM 29".into(), reference: None };
        app.pay(&admin(), pay).await.unwrap();
        for (step, actor, on) in [
            (Step::StartPhase1, Actor::Ars, date(2023, 3, 2)),
            (Step::SubmitProject, Actor::Cpts, date(2023, 9, 1)),
            (Step::ValidateProject, Actor::Ars, date(2023, 10, 1)),
        ] {
            app.record_step(&admin(), &id, step, &by(actor, on)).await.unwrap();
        }
        app.set_statutes(&admin(), &id, date(2023, 11, 1), Some("statuts")).await.unwrap();
        // The annex must not contradict the recorded validation.
        let sign = |lettre| SignContract { id: id.clone(), annex: annex(lettre), by: by(Actor::Cpam, SIGNED), cosigner: Actor::Ars };
        let e = app.sign_contract(&admin(), sign(Some(date(2023, 3, 5)))).await.unwrap_err();
        assert!(matches!(&e, AppError::Refused(_)), "[{engine}] {e}");
        assert!(e.to_string().contains("05/03/2023") && e.to_string().contains("01/03/2023"), "[{engine}] {e}");
        assert_eq!(app.store.ledger(&id).await.unwrap().len(), 1, "[{engine}] nothing written when refused");
        // Signed: one lettre line still (the one of the validation), and the ledger holds
        // exactly the contract's entitlement.
        // An annex silent on the date takes the recorded one (and keeps it).
        let silent = if engine == "sqlite" { None } else { Some(LETTER) };
        let signed = app.sign_contract(&admin(), sign(silent)).await.unwrap();
        assert_eq!(signed.contract.lettre_intention, Some(LETTER), "[{engine}]");
        assert!(app.store.agreement(&id, "CPTS Brest", None).await.unwrap().0.annex.contains("lettre_intention_validated"), "[{engine}]");
        let lines = app.store.ledger(&id).await.unwrap();
        let lettre: Vec<_> = lines.iter().filter(|x| x.planned.due == LETTER).collect();
        assert_eq!(lettre.len(), 1, "[{engine}] {lines:?}");
        assert_eq!((lettre[0].id, lettre[0].paid), (l.id, expected.amount), "[{engine}]");
        let mut ex = cpts_engine::explain::Explanation::default();
        let schedule = cpts_engine::schedule::schedule(&app.rules, &signed.contract, &mut ex).unwrap();
        let total: i64 = lines.iter().map(|x| x.planned.amount.get()).sum();
        assert_eq!(total, schedule.total_entitlement.get(), "[{engine}]");
    }
}
