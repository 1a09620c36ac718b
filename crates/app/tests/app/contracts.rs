//! Lifecycle, contracts, ledger and conventions: the policy asked before each act (the step's
//! declared actor, the payment's line and funder), one audit row per write, nothing written
//! when refused.

use cpts_app::contracts::{SignContract, Terminate};
use cpts_app::ledger::Pay;
use cpts_app::lifecycle::StepBy;
use cpts_app::{Action, App, AppError, Principal, Role, Scope};
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind, Source};
use cpts_domain::lifecycle::{Actor, Step};
use cpts_domain::registry::Territory;
use cpts_engine::money::Cents;
use jiff::civil::{Date, date};

use crate::common::{Fut, Probe, admin, apps, as_role, audit_rows};

const ANNEX: &str = "signed: 2024-01-15\npopulation: 38000\nmissions:\n  - {code: acces_soins, fixed: 20000, variable: 10000, objectives: [{indicator: mt, target: 100, weight: 100}]}\n  - {code: parcours, fixed: 15000, variable: 0}\n  - {code: prevention, fixed: 12345.67, variable: 0}\n  - {code: crises, fixed: 35000, activation: 52500}\n";

fn by(actor: Actor, on: Date) -> StepBy {
    StepBy { on, actor, by: "Test".into(), document: None, note: None }
}

fn cid(s: &str) -> CptsId {
    s.parse().unwrap()
}

/// A CPTS on Paris 18 (département 75, région 11), its projet de santé validated and its
/// statutes checked: ready to sign.
async fn ready(app: &App, id: &str) -> CptsId {
    let id = cid(id);
    let identity = crate::common::identity(id.as_str(), None);
    let territory = Territory { communes: ["75118".parse().unwrap()].into() };
    let areas = app.areas(None, &territory.communes);
    let stamp = app.stamp(&admin(), Role::AdminNational, Action::CreateCpts);
    let r = app.store.create_cpts(&stamp, &id, &identity, &areas).await.unwrap();
    app.store.set_territory(&stamp, &id, r.version, &territory, &areas).await.unwrap();
    let steps = [
        (Step::Declare, Actor::Cpts, date(2023, 1, 10)),
        (Step::Formalise, Actor::Cpts, date(2023, 2, 1)),
        (Step::ValidateLetter, Actor::Ars, date(2023, 3, 1)),
        (Step::StartPhase1, Actor::Ars, date(2023, 3, 2)),
        (Step::SubmitProject, Actor::Cpts, date(2023, 9, 1)),
        (Step::ValidateProject, Actor::Ars, date(2023, 10, 1)),
    ];
    for (step, actor, on) in steps {
        app.record_step(&admin(), &id, step, &by(actor, on)).await.unwrap();
    }
    app.set_statutes(&admin(), &id, date(2023, 11, 1), Some("statuts")).await.unwrap();
    id
}

fn sign(id: &CptsId) -> SignContract {
    SignContract { id: id.clone(), annex: ANNEX.into(), by: by(Actor::Cpam, date(2024, 1, 15)), cosigner: Actor::Ars }
}

fn convention(kind: FunderKind) -> Convention {
    Convention {
        kind,
        funder: "Financeur".into(),
        purpose: "Objet".into(),
        amount: Cents::new(3_000_000),
        start: date(2024, 3, 1),
        end: date(2025, 3, 1),
        deliverables: vec![],
        installments: vec![(date(2024, 3, 1), Cents::new(1_500_000)), (date(2025, 3, 1), Cents::new(1_500_000))],
    }
}

fn cpam(d: &str) -> Principal {
    as_role(Role::AgentCpam, Scope::Departement(d.into()))
}

fn ars(r: &str) -> Principal {
    as_role(Role::AgentArs, Scope::Region(r.into()))
}

fn coord(id: &CptsId) -> Principal {
    as_role(Role::Coordinateur, Scope::Cpts(id.clone()))
}

fn membre(id: &CptsId) -> Principal {
    as_role(Role::Membre, Scope::Cpts(id.clone()))
}

/// « Introuvable » for the CPTS itself (not for a line or a contract of it).
fn cpts_not_found<T>(r: &cpts_app::Result<T>) -> bool {
    matches!(r, Err(AppError::NotFound(m)) if m.starts_with("CPTS «"))
}

fn forbidden<T>(r: &cpts_app::Result<T>) -> bool {
    matches!(r, Err(AppError::Forbidden(_)))
}

/// The newest audit row.
async fn last_audit(app: &App) -> cpts_store::AuditEntry {
    app.audit(&admin(), &Default::default()).await.unwrap().into_iter().next().unwrap()
}

/// The first line of `id`'s ledger paid by `action` (ACI lines, ARS or other conventions).
async fn line_for(app: &App, id: &CptsId, action: Action) -> i64 {
    let (Ok(v), Ok(conventions)) = (app.ledger(&admin(), id).await, app.conventions(&admin(), id).await) else {
        return 0;
    };
    let action_of = |s: &Source| match s {
        Source::Aci { .. } => Some(Action::PayAci),
        Source::Convention { convention, .. } => {
            conventions.iter().find(|(n, _)| n == convention).map(|(_, c)| cpts_app::ledger::convention_action(c.kind))
        }
    };
    v.lines
        .iter()
        .find(|l| l.cancelled.is_none() && l.paid == Cents::ZERO && action_of(&l.planned.source) == Some(action))
        .map_or(0, |l| l.id)
}

#[tokio::test]
async fn signing_and_every_change_of_the_contract_leave_one_audit_row_with_before_and_after() {
    for (engine, app) in apps().await {
        let id = ready(&app, "cpts-audit").await;
        // The CPAM of the département signs; the ARS of the région could too.
        let n = audit_rows(&app).await;
        let s = app.sign_contract(&cpam("75"), sign(&id)).await.unwrap();
        assert_eq!((s.agreement.seq, s.agreement.cpam.as_str()), (1, "CPAM Paris (75)"), "[{engine}]");
        assert!(!s.lines.is_empty() && s.total.get() > 0, "[{engine}]");
        assert_eq!(audit_rows(&app).await, n + 1, "[{engine}]");
        let row = last_audit(&app).await;
        assert_eq!((row.action.as_str(), row.role.as_str()), ("contrat.signature", "agent-cpam"), "[{engine}]");
        assert!(row.after.unwrap().contains("lignes_ajoutees"), "[{engine}]");
        // The coordinateur starts a mission: one row, the contract before and after.
        let d = app.start_mission(&coord(&id), &id, "acces_soins", date(2024, 2, 1)).await.unwrap();
        assert!(d.outcome.agreement.progress.contains_key("acces_soins"), "[{engine}]");
        assert_eq!(audit_rows(&app).await, n + 2, "[{engine}]");
        let row = last_audit(&app).await;
        assert_eq!((row.action.as_str(), row.role.as_str()), ("contrat.missions", "coordinateur"), "[{engine}]");
        assert!(row.before.is_some() && row.after.is_some(), "[{engine}]");
        // The CPAM pays an ACI line (whole, by default): one row.
        let line = line_for(&app, &id, Action::PayAci).await;
        let paid = app
            .pay(
                &cpam("75"),
                Pay { id: id.clone(), line, on: date(2024, 2, 1), amount: None, by: "CPAM".into(), reference: None },
            )
            .await
            .unwrap();
        assert_eq!(paid.payment.amount, paid.line.planned.amount, "[{engine}]");
        assert_eq!(audit_rows(&app).await, n + 3, "[{engine}]");
        assert_eq!(last_audit(&app).await.action, "paiement.aci", "[{engine}]");
        // Terminated by the CPAM: its lifecycle step with it, the excess to repay.
        let t = Terminate {
            id: id.clone(),
            reason: "missions non mises en œuvre".into(),
            by: by(Actor::Cpam, date(2024, 7, 1)),
        };
        let d = app.terminate_contract(&cpam("75"), t).await.unwrap();
        assert_eq!(d.outcome.agreement.terminated, Some(date(2024, 7, 1)), "[{engine}]");
        assert_eq!(audit_rows(&app).await, n + 4, "[{engine}]");
        let v = app.lifecycle(&membre(&id), &id, None).await.unwrap();
        assert_eq!(v.now, Some(cpts_domain::lifecycle::Stage::Terminated), "[{engine}]");
        // A refusal of the domain writes nothing either.
        let r = app.start_mission(&admin(), &id, "parcours", date(2024, 8, 1)).await;
        assert!(matches!(r, Err(AppError::Refused(_))), "[{engine}] {r:?}");
        assert_eq!(audit_rows(&app).await, n + 4, "[{engine}]");
    }
}

#[tokio::test]
async fn out_of_scope_is_not_found_and_the_wrong_role_is_forbidden_and_nothing_is_written() {
    for (engine, app) in apps().await {
        let id = ready(&app, "cpts-scope").await;
        let n = audit_rows(&app).await;
        // Another département's CPAM, another région's ARS, another CPTS's coordinateur: as if
        // the CPTS did not exist, for reads and writes.
        for who in [cpam("29"), ars("53"), coord(&cid("cpts-autre"))] {
            assert!(cpts_not_found(&app.sign_contract(&who, sign(&id)).await), "[{engine}] {}", who.login);
            assert!(cpts_not_found(&app.lifecycle(&who, &id, None).await), "[{engine}] {}", who.login);
            assert!(cpts_not_found(&app.ledger(&who, &id).await), "[{engine}] {}", who.login);
        }
        // In scope but not allowed: the coordinateur and the member do not sign; the member
        // takes no step; the ARS does not record the CPTS's steps (the declared actor decides).
        assert!(forbidden(&app.sign_contract(&coord(&id), sign(&id)).await), "[{engine}]");
        assert!(forbidden(&app.sign_contract(&membre(&id), sign(&id)).await), "[{engine}]");
        let step = by(Actor::Cpts, date(2023, 12, 1));
        assert!(forbidden(&app.record_step(&membre(&id), &id, Step::Expire, &step).await), "[{engine}]");
        assert!(forbidden(&app.record_step(&ars("11"), &id, Step::Expire, &step).await), "[{engine}]");
        assert!(forbidden(&app.set_statutes(&cpam("75"), &id, date(2023, 11, 2), None).await), "[{engine}]");
        assert_eq!(audit_rows(&app).await, n, "[{engine}] nothing written");
        assert!(app.store.contracts(&id, "x").await.unwrap().is_empty(), "[{engine}]");
        // The ARS co-signs: allowed.
        app.sign_contract(&ars("11"), sign(&id)).await.unwrap();
        assert!(forbidden(&app.amend_contract(&coord(&id), &id, "effective: 2024-06-01\npopulation: 45000\n").await));
        assert!(forbidden(
            &app.terminate_contract(
                &ars("11"),
                Terminate { id: id.clone(), reason: "x".into(), by: by(Actor::Ars, date(2024, 7, 1)) }
            )
            .await
        ));
        assert_eq!(audit_rows(&app).await, n + 1, "[{engine}]");
    }
}

#[tokio::test]
async fn a_payment_asks_the_policy_for_its_line_aci_ars_or_other_funder() {
    for (engine, app) in apps().await {
        let id = ready(&app, "cpts-paie").await;
        app.sign_contract(&admin(), sign(&id)).await.unwrap();
        // Conventions: the ARS's by the ARS, a local authority's by the coordinateur.
        assert!(forbidden(&app.add_convention(&coord(&id), &id, &convention(FunderKind::Ars)).await), "[{engine}]");
        assert!(
            forbidden(&app.add_convention(&ars("11"), &id, &convention(FunderKind::Collectivite)).await),
            "[{engine}]"
        );
        app.add_convention(&ars("11"), &id, &convention(FunderKind::Ars)).await.unwrap();
        app.add_convention(&coord(&id), &id, &convention(FunderKind::Collectivite)).await.unwrap();
        let pay = |line: i64| Pay {
            id: id.clone(),
            line,
            on: date(2024, 3, 10),
            amount: None,
            by: "Payeur".into(),
            reference: None,
        };
        let (aci, fir, other) = (
            line_for(&app, &id, Action::PayAci).await,
            line_for(&app, &id, Action::ConventionArs).await,
            line_for(&app, &id, Action::ConventionOther).await,
        );
        assert!(aci > 0 && fir > 0 && other > 0, "[{engine}] {aci} {fir} {other}");
        let n = audit_rows(&app).await;
        for (who, line) in [
            (cpam("75"), fir),
            (cpam("75"), other),
            (ars("11"), aci),
            (ars("11"), other),
            (coord(&id), aci),
            (coord(&id), fir),
        ] {
            let r = app.pay(&who, pay(line)).await;
            assert!(forbidden(&r), "[{engine}] {} line {line}: {r:?}", who.login);
        }
        assert!(forbidden(&app.pay(&membre(&id), pay(aci)).await), "[{engine}]");
        // An unknown line, for someone who may pay: « introuvable », of the line.
        let r = app.pay(&cpam("75"), pay(9_999)).await;
        assert!(matches!(&r, Err(AppError::NotFound(m)) if m.contains("ligne n° 9999")), "[{engine}] {r:?}");
        assert_eq!(audit_rows(&app).await, n, "[{engine}] nothing written");
        for (who, line, code) in [
            (cpam("75"), aci, "paiement.aci"),
            (ars("11"), fir, "convention.ars"),
            (coord(&id), other, "convention.autre"),
        ] {
            let paid = app.pay(&who, pay(line)).await.unwrap();
            assert!(paid.summary.contains(&format!("ligne n° {line}")), "[{engine}] {}", paid.summary);
            assert_eq!(last_audit(&app).await.action, code, "[{engine}]");
        }
        assert_eq!(audit_rows(&app).await, n + 3, "[{engine}]");
        let l = app.ledger_line(&membre(&id), &id, fir).await.unwrap();
        assert_eq!(l.payments.len(), 1, "[{engine}]");
    }
}

fn probe(name: &'static str, action: Action, run: for<'a> fn(&'a App, &'a Principal, &'a CptsId) -> Fut<'a>) -> Probe {
    Probe { name, action, run }
}

fn ok<T>(r: cpts_app::Result<T>) -> cpts_app::Result<()> {
    r.map(|_| ())
}

/// One probe per use case of the area, with arguments valid for a signed CPTS (writes that
/// would end its contract are dated so the domain refuses them after the policy let them by).
pub fn probes() -> Vec<Probe> {
    vec![
        probe("lifecycle show", Action::Read, |a, p, id| Box::pin(async move { ok(a.lifecycle(p, id, None).await) })),
        probe("lifecycle step (cpts)", Action::StepCpts, |a, p, id| {
            Box::pin(async move { ok(a.record_step(p, id, Step::Declare, &by(Actor::Cpts, date(2024, 1, 1))).await) })
        }),
        probe("lifecycle step (ars)", Action::StepArs, |a, p, id| {
            Box::pin(
                async move { ok(a.record_step(p, id, Step::ValidateProject, &by(Actor::Ars, date(2024, 1, 1))).await) },
            )
        }),
        probe("lifecycle step (cpam)", Action::StepCpam, |a, p, id| {
            Box::pin(async move { ok(a.record_step(p, id, Step::Expire, &by(Actor::Cpam, date(2024, 1, 1))).await) })
        }),
        probe("lifecycle statutes", Action::EditGovernance, |a, p, id| {
            Box::pin(async move { ok(a.set_statutes(p, id, date(2023, 11, 1), Some("statuts")).await) })
        }),
        probe("contract sign", Action::SignContract, |a, p, id| {
            Box::pin(async move { ok(a.sign_contract(p, sign(id)).await) })
        }),
        probe("contract show", Action::Read, |a, p, id| {
            Box::pin(async move { ok(a.contract(p, id, None, None).await) })
        }),
        probe("contract list", Action::Read, |a, p, id| Box::pin(async move { ok(a.contracts(p, id).await) })),
        probe("contract calendar", Action::Read, |a, p, id| Box::pin(async move { ok(a.calendar(p, id, None).await) })),
        probe("contract book", Action::Read, |a, p, id| Box::pin(async move { ok(a.book(p, id, None).await) })),
        probe("contract start", Action::MissionProgress, |a, p, id| {
            Box::pin(async move { ok(a.start_mission(p, id, "parcours", date(2024, 6, 1)).await) })
        }),
        probe("contract deploy", Action::MissionProgress, |a, p, id| {
            Box::pin(async move { ok(a.deploy_mission(p, id, "acces_soins", date(2024, 6, 1)).await) })
        }),
        probe("contract amend", Action::AmendContract, |a, p, id| {
            Box::pin(async move {
                ok(a.amend_contract(p, id, "effective: 2025-01-15\npopulation: 39000\nreason: test\n").await)
            })
        }),
        probe("contract terminate", Action::TerminateContract, |a, p, id| {
            Box::pin(async move {
                // Dated before the signature: refused by the rules once the policy said yes.
                let t = Terminate { id: id.clone(), reason: "test".into(), by: by(Actor::Cpam, date(2020, 1, 1)) };
                ok(a.terminate_contract(p, t).await)
            })
        }),
        probe("ledger show", Action::Read, |a, p, id| Box::pin(async move { ok(a.ledger(p, id).await) })),
        probe("ledger explain", Action::Read, |a, p, id| Box::pin(async move { ok(a.ledger_line(p, id, 1).await) })),
        probe("ledger pay (ACI)", Action::PayAci, |a, p, id| Box::pin(pay_probe(a, p, id, Action::PayAci))),
        probe("ledger pay (ARS)", Action::ConventionArs, |a, p, id| {
            Box::pin(pay_probe(a, p, id, Action::ConventionArs))
        }),
        probe("ledger pay (autre financeur)", Action::ConventionOther, |a, p, id| {
            Box::pin(pay_probe(a, p, id, Action::ConventionOther))
        }),
        probe("convention add (ARS)", Action::ConventionArs, |a, p, id| {
            Box::pin(async move { ok(a.add_convention(p, id, &convention(FunderKind::Ars)).await) })
        }),
        probe("convention add (autre financeur)", Action::ConventionOther, |a, p, id| {
            Box::pin(async move { ok(a.add_convention(p, id, &convention(FunderKind::Prive)).await) })
        }),
        probe("convention list", Action::Read, |a, p, id| Box::pin(async move { ok(a.conventions(p, id).await) })),
    ]
}

/// Pay the first unpaid line paid under `action` (found by the national admin).
async fn pay_probe(app: &App, who: &Principal, id: &CptsId, action: Action) -> cpts_app::Result<()> {
    let line = line_for(app, id, action).await;
    let pay = Pay { id: id.clone(), line, on: date(2024, 3, 10), amount: None, by: "Payeur".into(), reference: None };
    ok(app.pay(who, pay).await)
}

/// The ledger check compares every contract's live lines with the domain's plan: silent on a
/// sound store, it names the contract, year and component of a line changed behind its back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_check_finds_a_line_changed_behind_the_applications_back() {
    for (engine, app) in crate::common::apps().await {
        crate::common::signed_cpts(&app, "cpts-paris-18", "75118", &["75118"]).await;
        crate::common::signed_cpts(&app, "cpts-brest", "29019", &["29019"]).await;
        let ok = app.check_ledgers(&crate::common::admin()).await.unwrap();
        assert_eq!((ok.cpts, ok.contracts, ok.differences.len()), (2, 2, 0), "{engine}: {:?}", ok.differences);
        app.store.execute_raw_for_tests("UPDATE ledger_line SET amount = amount + 1 WHERE id = 1 AND cpts_id = 'cpts-brest'").await.unwrap();
        let bad = app.check_ledgers(&crate::common::admin()).await.unwrap();
        assert_eq!(bad.differences.len(), 1, "{engine}: {:?}", bad.differences);
        assert!(bad.differences[0].starts_with("cpts-brest, contrat n° 1, année 1"), "{:?}", bad.differences);
        // A scope sees only its own ledgers.
        let cpam75 = crate::common::as_role(cpts_app::Role::AgentCpam, cpts_app::Scope::Departement("75".into()));
        assert!(app.check_ledgers(&cpam75).await.unwrap().differences.is_empty());
    }
}
