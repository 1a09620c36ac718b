//! National read models: the list and the alerts over a scope equal what is computed CPTS by
//! CPTS from full reads, on both engines, and never show a CPTS out of scope.

use cpts_app::contracts::SignContract;
use cpts_app::lifecycle::StepBy;
use cpts_app::{Action, App, AppError, Role, Scope};
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::{Actor, Step};
use cpts_domain::registry::Territory;
use jiff::civil::{Date, date};

use crate::common::{TODAY, admin, apps, as_role};

fn by(actor: Actor, on: Date) -> StepBy {
    StepBy { on, actor, by: "Test".into(), document: None, note: None }
}

/// A CPTS on `commune`, signed on `signed` with three socle missions.
async fn signed(app: &App, id: &str, commune: &str, signed: Date) -> CptsId {
    let id: CptsId = id.parse().unwrap();
    let identity = crate::common::identity(id.as_str(), Some(commune));
    let territory = Territory { communes: [commune.parse().unwrap()].into() };
    let areas = app.areas(identity.seat.as_ref(), &territory.communes);
    let stamp = app.stamp(&admin(), Role::AdminNational, Action::CreateCpts);
    let r = app.store.create_cpts(&stamp, &id, &identity, &areas).await.unwrap();
    app.store.set_territory(&stamp, &id, r.territory_version, &territory, &areas).await.unwrap();
    let before = signed.checked_sub(jiff::Span::new().days(200)).unwrap();
    for (k, (step, actor)) in [
        (Step::Declare, Actor::Cpts),
        (Step::Formalise, Actor::Cpts),
        (Step::ValidateLetter, Actor::Ars),
        (Step::StartPhase1, Actor::Ars),
        (Step::SubmitProject, Actor::Cpts),
        (Step::ValidateProject, Actor::Ars),
    ]
    .into_iter()
    .enumerate()
    {
        let on = before.checked_add(jiff::Span::new().days(i64::try_from(k).unwrap() * 10)).unwrap();
        app.record_step(&admin(), &id, step, &by(actor, on)).await.unwrap();
    }
    app.set_statutes(&admin(), &id, before, Some("statuts")).await.unwrap();
    let annex = format!(
        "signed: {signed}\npopulation: 38000\nmissions:\n  - {{code: acces_soins, start: {signed}, fixed: 20000, variable: 10000, objectives: [{{indicator: mt, target: 100, weight: 100}}]}}\n  - {{code: parcours, fixed: 15000, variable: 0}}\n  - {{code: prevention, fixed: 12345.67, variable: 0}}\n  - {{code: crises, fixed: 35000, activation: 52500}}\n"
    );
    app.sign_contract(&admin(), SignContract { id: id.clone(), annex, by: by(Actor::Cpam, signed), cosigner: Actor::Ars })
        .await
        .unwrap();
    id
}

/// The alerts of one CPTS computed from full reads (no scope query, no line filter).
async fn reference(app: &App, id: &CptsId, days: i64, on: Date) -> Vec<String> {
    let r = app.store.get_cpts(id).await.unwrap();
    let contracts: Vec<_> = app.store.contracts(id, &r.identity.name).await.unwrap().into_iter().map(|(a, _)| a).collect();
    let reports = app.store.reports(id).await.unwrap();
    let lines = app.store.ledger(id).await.unwrap();
    let gates = app.store.gates(id).await.unwrap();
    cpts_domain::alerts::cpts_alerts(&app.rules, &contracts, &reports, &lines, &gates, days, on)
        .into_iter()
        .map(|a| a.text)
        .collect()
}

#[tokio::test]
async fn national_lists_and_alerts_match_full_reads_and_stay_in_scope() {
    for (engine, app) in apps().await {
        let brest = signed(&app, "cpts-brest", "29019", date(2022, 3, 1)).await;
        let paris = signed(&app, "cpts-paris-18", "75118", date(2024, 6, 1)).await;
        // The CPAM pays Brest's first due line.
        let book = app.book(&admin(), &brest, None).await.unwrap();
        let first = book.lines.iter().find(|l| l.planned.due <= TODAY && l.planned.amount.get() > 0).unwrap();
        app.pay(
            &admin(),
            cpts_app::ledger::Pay { id: brest.clone(), line: first.id, on: first.planned.due, amount: None, by: "CPAM".into(), reference: None },
        )
        .await
        .unwrap();

        // The list: both CPTS nationally, money summed by the database = the ledger's sums.
        let list = app.list(&admin(), TODAY).await.unwrap();
        assert_eq!(list.len(), 2, "[{engine}]");
        for e in list.iter() {
            let lines = app.store.ledger(&e.cpts.record.id).await.unwrap();
            let live: Vec<_> = lines.iter().filter(|l| l.cancelled.is_none()).collect();
            assert_eq!(e.money.planned, live.iter().map(|l| l.planned.amount.get()).sum::<i64>(), "[{engine}]");
            assert_eq!(e.money.paid, live.iter().map(|l| l.paid.get()).sum::<i64>(), "[{engine}]");
            assert!(e.stage.is_some() && e.cpts.summary.is_ok(), "[{engine}] {e:?}");
        }
        assert!(list.iter().any(|e| e.money.paid > 0), "[{engine}]");

        // The alerts over France equal the CPTS-by-CPTS computation, for several horizons.
        for (days, on) in [(30, TODAY), (0, TODAY), (365, date(2024, 12, 1)), (30, date(2022, 2, 1))] {
            let all = app.alerts(&admin(), None, days, on).await.unwrap();
            for id in [&brest, &paris] {
                let fast: Vec<String> = all
                    .iter()
                    .find(|c| &c.record.id == id)
                    .map(|c| c.alerts.iter().map(|a| a.text.clone()).collect())
                    .unwrap_or_default();
                assert_eq!(fast, reference(&app, id, days, on).await, "[{engine}] {id} {days} {on}");
            }
            let one = app.alerts(&admin(), Some(&brest), days, on).await.unwrap();
            assert!(one.iter().all(|c| c.record.id == brest), "[{engine}]");
        }
        assert!(!app.alerts(&admin(), None, 30, TODAY).await.unwrap().is_empty(), "[{engine}]");

        // Scopes: the CPAM of Finistère and the ARS of Bretagne see Brest only.
        for who in [as_role(Role::AgentCpam, Scope::Departement("29".into())), as_role(Role::AgentArs, Scope::Region("53".into()))] {
            let list = app.list(&who, TODAY).await.unwrap();
            assert_eq!(list.iter().map(|e| e.cpts.record.id.clone()).collect::<Vec<_>>(), vec![brest.clone()], "[{engine}]");
            let alerts = app.alerts(&who, None, 365, TODAY).await.unwrap();
            assert!(alerts.iter().all(|c| c.record.id == brest), "[{engine}]");
            assert!(matches!(app.alerts(&who, Some(&paris), 30, TODAY).await, Err(AppError::NotFound(_))), "[{engine}]");
        }
        let nobody = as_role(Role::Coordinateur, Scope::Cpts("cpts-ailleurs".parse().unwrap()));
        assert!(app.list(&nobody, TODAY).await.unwrap().is_empty(), "[{engine}]");
        assert!(app.alerts(&nobody, None, 30, TODAY).await.unwrap().is_empty(), "[{engine}]");
    }
}
