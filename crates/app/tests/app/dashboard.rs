//! The tableau de bord: stages, coverage by département (a city's arrondissements counted
//! once), money, in the principal's scope only.

use cpts_app::dashboard::StageGroup;
use cpts_app::{App, Clock, Role, Scope};

use crate::common::{TODAY, admin, apps, as_role, plain_cpts, signed_cpts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_and_stages_in_scope() {
    for (engine, app) in apps().await {
        signed_cpts(&app, "cpts-paris-18", "75118", &["75118"]).await;
        plain_cpts(&app, "cpts-paris-19", &["75119"]).await;
        signed_cpts(&app, "cpts-brest", "29019", &["29019", "29075"]).await;
        let pop = |c: &str| app.geo.commune(&c.parse().unwrap()).unwrap().population.unwrap();
        let cpam = as_role(Role::AgentCpam, Scope::Departement("75".into()));
        let d = app.dashboard(&cpam, TODAY, 30).await.unwrap();
        assert_eq!(d.cpts.len(), 2, "{engine}");
        assert_eq!(d.departements.len(), 1);
        let paris = &d.departements[0];
        // Paris counts once, as the city (INSEE 75056), not its arrondissements again.
        assert_eq!((paris.code.as_str(), paris.population), ("75", pop("75056")));
        assert_eq!(paris.covered, pop("75118") + pop("75119"));
        assert_eq!(paris.cpts, 2);
        assert_eq!(d.by_stage.get(&Some(StageGroup::Signed)).map(|s| s.cpts), Some(1));
        assert_eq!(d.by_stage.get(&None).map(|s| (s.cpts, s.population)), Some((1, pop("75119"))));
        assert!(d.money.planned > 0 && d.money.paid == 0);
        // By funder and mission: the ACI's parts only, adding up to the total.
        assert!(d.by_source.iter().all(|m| m.funder == "aci" && m.component.is_some() && m.past_due <= m.planned));
        assert_eq!(d.by_source.iter().map(|m| m.planned).sum::<i64>(), d.money.planned);
        assert!(d.by_source.iter().any(|m| m.past_due > 0), "lines due since 2021");
        // Nationally: Brest's two communes too; every département of France is measured,
        // the collectivities with their own health insurance are not.
        let d = app.dashboard(&admin(), TODAY, 30).await.unwrap();
        assert_eq!(d.cpts.len(), 3);
        let finistere = d.departements.iter().find(|a| a.code == "29").unwrap();
        assert_eq!(finistere.covered, pop("29019") + pop("29075"));
        assert!(d.departements.iter().any(|a| a.code == "974") && !d.departements.iter().any(|a| a.code == "987"));
        assert_eq!(d.covered(), pop("75118") + pop("75119") + pop("29019") + pop("29075"));
        assert!(d.population() > 60_000_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reform_simulated_over_the_scope() {
    use cpts_app::simulation::Reform;
    for (engine, app) in apps().await {
        signed_cpts(&app, "cpts-paris-18", "75118", &["75118"]).await;
        signed_cpts(&app, "cpts-brest", "29019", &["29019"]).await;
        plain_cpts(&app, "cpts-paris-19", &["75119"]).await;
        let reform = Reform::Builtin("projet-cnam-2019-04".into());
        let all = app.simulate(&admin(), &reform).await.unwrap();
        assert_eq!((all.simulation.cases.len(), all.without_contract), (2, 1), "{engine}");
        assert_eq!(all.reform.as_ref().map(|r| r.id.as_str()), Some("projet-cnam-2019-04"));
        let cases: Vec<_> = all.simulation.cases.iter().map(|c| c.as_ref().unwrap()).collect();
        let sum: i64 = cases.iter().map(|c| c.diff.total.get()).sum();
        assert_eq!(all.simulation.diff.total.get(), sum);
        assert!(cases.iter().all(|c| c.baseline.total.get() > 0 && c.diff.total.get() != 0));
        // The CPAM of Paris simulates Paris only, with the same figures for it.
        let cpam = as_role(Role::AgentCpam, Scope::Departement("75".into()));
        let paris = app.simulate(&cpam, &reform).await.unwrap();
        assert_eq!(paris.simulation.cases.len(), 1);
        assert_eq!(paris.simulation.cases[0].as_ref().unwrap(), *cases.iter().find(|c| c.name.contains("paris-18")).unwrap());
        // A pasted text that is no reform: every problem, as field errors.
        let bad = Reform::Text { name: "collée".into(), text: "id: x\nparameters: 12\n".into() };
        assert!(matches!(app.simulate(&cpam, &bad).await, Err(cpts_app::AppError::Invalid(_))));
    }
}

/// The scope-wide read models are cached until the data changes: a write by this application,
/// or by another process on the same store (a second `App`), shows at the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_read_models_follow_every_write_even_from_another_process() {
    for (engine, app) in apps().await {
        signed_cpts(&app, "cpts-paris-18", "75118", &["75118"]).await;
        let other = App::new(app.store.clone(), app.rules.clone(), app.geo.clone(), Clock::on(TODAY));
        let cpam = as_role(Role::AgentCpam, Scope::Departement("75".into()));
        let before = app.dashboard(&cpam, TODAY, 30).await.unwrap();
        assert_eq!(app.dashboard(&cpam, TODAY, 30).await.unwrap().cpts.len(), before.cpts.len());
        assert_eq!(app.list(&cpam, TODAY).await.unwrap().len(), 1, "{engine}");
        let alerts_before = app.alerts(&cpam, None, 365, TODAY).await.unwrap();
        // Written through the other application: this one's cache must not answer.
        plain_cpts(&other, "cpts-paris-19", &["75119"]).await;
        assert_eq!(app.list(&cpam, TODAY).await.unwrap().len(), 2, "{engine}");
        assert_eq!(app.dashboard(&cpam, TODAY, 30).await.unwrap().cpts.len(), before.cpts.len() + 1, "{engine}");
        // A payment changes the money and the alerts.
        let book = app.book(&admin(), &"cpts-paris-18".parse().unwrap(), None).await.unwrap();
        let due = book.lines.iter().find(|l| l.planned.amount.get() > 0 && l.planned.due <= TODAY && l.waiting_for(&book.gates, TODAY).is_none()).unwrap();
        let pay = cpts_app::ledger::Pay { id: "cpts-paris-18".parse().unwrap(), line: due.id, on: due.planned.due, amount: Some(due.planned.amount), by: "CPAM".into(), reference: None };
        other.pay(&admin(), pay).await.unwrap();
        let after = app.dashboard(&cpam, TODAY, 30).await.unwrap();
        assert_eq!(after.money.paid, before.money.paid + due.planned.amount.get(), "{engine}");
        let alerts_after = app.alerts(&cpam, None, 365, TODAY).await.unwrap();
        let count = |a: &[cpts_app::national::CptsAlerts]| a.iter().map(|c| c.alerts.len()).sum::<usize>();
        assert_ne!(count(&alerts_before), count(&alerts_after), "{engine}");
        // Another scope is another answer, never a neighbour's.
        let brest = as_role(Role::AgentCpam, Scope::Departement("29".into()));
        assert!(app.list(&brest, TODAY).await.unwrap().is_empty());
    }
}

/// The list and the alerts are brought up to date CPTS by CPTS (only those written since are
/// computed again): after each kind of write, they equal the answers computed whole by an
/// application with nothing cached, in a national and a departmental scope — a CPTS created,
/// paid, moved out of the département, and a write outside any CPTS (an account).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_brought_up_to_date_piecewise_equal_answers_computed_whole() {
    use cpts_app::registry::SetTerritory;
    for (engine, app) in apps().await {
        let paris18 = signed_cpts(&app, "cpts-paris-18", "75118", &["75118"]).await;
        signed_cpts(&app, "cpts-brest", "29019", &["29019"]).await;
        let cpam = as_role(Role::AgentCpam, Scope::Departement("75".into()));
        let check = |step: &'static str| {
            let app = &app;
            let cpam = &cpam;
            async move {
                let whole = App::new(app.store.clone(), app.rules.clone(), app.geo.clone(), Clock::on(TODAY));
                for p in [admin(), cpam.clone()] {
                    let (a, b) = (app.list(&p, TODAY).await.unwrap(), whole.list(&p, TODAY).await.unwrap());
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{engine}, {step}: list");
                    let (a, b) = (app.alerts(&p, None, 365, TODAY).await.unwrap(), whole.alerts(&p, None, 365, TODAY).await.unwrap());
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{engine}, {step}: alerts");
                    let (a, b) = (app.dashboard(&p, TODAY, 30).await.unwrap(), whole.dashboard(&p, TODAY, 30).await.unwrap());
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{engine}, {step}: dashboard");
                }
            }
        };
        check("first").await;
        let paris19 = plain_cpts(&app, "cpts-paris-19", &["75119"]).await;
        check("created").await;
        assert_eq!(app.list(&cpam, TODAY).await.unwrap().len(), 2);
        let book = app.book(&admin(), &paris18, None).await.unwrap();
        let due = book.lines.iter().find(|l| l.planned.amount.get() > 0 && l.planned.due <= TODAY && l.waiting_for(&book.gates, TODAY).is_none()).unwrap();
        let pay = cpts_app::ledger::Pay { id: paris18.clone(), line: due.id, on: due.planned.due, amount: Some(due.planned.amount), by: "CPAM".into(), reference: None };
        app.pay(&admin(), pay).await.unwrap();
        check("paid").await;
        let r = app.store.get_cpts(&paris19).await.unwrap();
        let territory = app.parse_territory(&["29075".to_string()]).unwrap();
        app.set_territory(&admin(), SetTerritory { id: paris19.clone(), version: r.territory_version, territory }).await.unwrap();
        check("moved to Finistère").await;
        assert_eq!(app.list(&cpam, TODAY).await.unwrap().len(), 1, "{engine}: no longer the CPAM of Paris's");
        let new = cpts_app::accounts::NewAccount { login: "agent.cpam".into(), name: "Agent".into(), password: Some("un mot de passe assez long".into()), grants: vec![] };
        app.add_account(&admin(), new).await.unwrap();
        check("account").await;
    }
}

/// A CPTS's overview is kept until that CPTS is written: a write to another CPTS leaves it as
/// it was (the same answer, not recomputed); a payment on it shows at once; out of scope, it
/// is « introuvable » even when kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpts_overview_is_kept_until_that_cpts_is_written() {
    for (engine, app) in apps().await {
        let paris18 = signed_cpts(&app, "cpts-paris-18", "75118", &["75118"]).await;
        let cpam = as_role(Role::AgentCpam, Scope::Departement("75".into()));
        let (first, rights) = app.overview(&cpam, &paris18).await.unwrap();
        assert!(rights.may(cpts_app::Action::Read));
        assert_eq!(first.ledger.payments.len(), 0, "{engine}");
        plain_cpts(&app, "cpts-paris-19", &["75119"]).await;
        let (again, _) = app.overview(&cpam, &paris18).await.unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again), "{engine}: another CPTS's write recomputes nothing");
        let due = first.ledger.lines.iter().find(|l| l.planned.amount.get() > 0 && l.planned.due <= TODAY && l.waiting_for(&first.ledger.gates, TODAY).is_none()).unwrap();
        let pay = cpts_app::ledger::Pay { id: paris18.clone(), line: due.id, on: due.planned.due, amount: Some(due.planned.amount), by: "CPAM".into(), reference: None };
        app.pay(&admin(), pay).await.unwrap();
        let (after, _) = app.overview(&cpam, &paris18).await.unwrap();
        assert_eq!(after.ledger.payments.len(), 1, "{engine}");
        let brest = as_role(Role::AgentCpam, Scope::Departement("29".into()));
        assert!(matches!(app.overview(&brest, &paris18).await, Err(cpts_app::AppError::NotFound(_))), "{engine}");
    }
}
