//! Values, achievement and activity reports: the policy on each use case, the audit of each
//! write, an import across CPTS refused whole, validation writing the contract's outcome.

use std::collections::BTreeSet;

use cpts_app::reports::{ReportAct, ReportRef};
use cpts_app::values::ImportValues;
use cpts_app::{Action, App, AppError, Principal, Role, Scope};
use cpts_domain::activity::{Act, Status};
use cpts_domain::agreement::Agreement;
use cpts_domain::book::Book;
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::{Actor, Event, Step};
use cpts_domain::values::RawValue;
use cpts_store::Provenance;
use jiff::civil::{Date, date};

use crate::common::{Fut, Probe, admin, apps, as_role, audit_rows};

/// The golden annex (tier 1, signed 1 January 2021): year 1 with 12 months of 7 patients and
/// SNP at 65 % earns 7 040,00 € of variable part.
const ANNEX: &str = include_str!("../../../../tests/reports/golden-annex.yaml");
const DRAFT: &str = "summary: Première année.\nactions:\n  - {title: Cellule médecin traitant, mission: acces_soins, from: 2021-02-01, to: 2021-12-31, description: Orientation, professionals: 12}\nexpenses:\n  - {item: Coordination, amount: 45000}\n";

/// A CPTS seated at `seat`, its golden contract signed, written through the store (the
/// registry and contract use cases are other modules').
async fn signed(app: &App, id: &str, seat: &str) -> CptsId {
    let cid: CptsId = id.parse().unwrap();
    let identity = crate::common::identity(id, Some(seat));
    let areas = app.areas(identity.seat.as_ref(), &BTreeSet::new());
    let create = app.stamp(&admin(), Role::AdminNational, Action::CreateCpts);
    app.store.create_cpts(&create, &cid, &identity, &areas).await.unwrap();
    let (a, _) = Agreement::new(1, &identity.name, ANNEX, "CPAM", "ARS", &app.rules).unwrap();
    let plan = Book::open(&a, &app.rules).unwrap();
    let ev = Event {
        step: Step::Sign,
        date: date(2021, 1, 1),
        actor: Actor::Cpam,
        by: "CPAM".into(),
        document: Some("contrat".into()),
        note: None,
        signatories: Step::Sign.signatories().to_vec(),
    };
    let sign = app.stamp(&admin(), Role::AdminNational, Action::SignContract);
    app.store.sign_contract(&sign, &cid, &ev, 0, &a, &plan).await.unwrap();
    cid
}

fn row(cpts: &str, indicator: &str, period: &str, value: &str, num: &str, den: &str) -> RawValue {
    RawValue {
        line: 2,
        cpts: cpts.into(),
        indicator: indicator.into(),
        period: period.into(),
        value: value.into(),
        numerator: num.into(),
        denominator: den.into(),
    }
}

/// Year 1's values of the golden test: 12 months of both objectives.
fn year_rows(cpts: &str) -> Vec<RawValue> {
    (1..=12)
        .flat_map(|m| {
            let p = format!("2021-{m:02}");
            [row(cpts, "patients_sans_mt_aides", &p, "7", "", ""), row(cpts, "snp_taux_reponse", &p, "", "65", "100")]
        })
        .collect()
}

fn import(rows: Vec<RawValue>) -> ImportValues {
    ImportValues {
        rows,
        provenance: Provenance { source: "import".into(), file: Some("v.csv".into()), by: "Test".into(), role: Actor::Cpts },
    }
}

fn act(id: &CptsId, act: Act, role: Actor, on: Date, text: Option<&str>) -> ReportAct {
    ReportAct {
        target: ReportRef { cpts: id.clone(), year: 1, contract: None },
        act,
        text: text.map(str::to_string),
        source: None,
        role,
        by: "Test".into(),
        on: Some(on),
    }
}

fn coord(id: &CptsId) -> Principal {
    as_role(Role::Coordinateur, Scope::Cpts(id.clone()))
}

fn cpam(dep: &str) -> Principal {
    as_role(Role::AgentCpam, Scope::Departement(dep.into()))
}

#[tokio::test]
async fn values_are_imported_within_scope_with_one_audit_row_and_refused_whole_otherwise() {
    for (engine, app) in apps().await {
        let brest = signed(&app, "cpts-brest", "29019").await;
        let quimper = signed(&app, "cpts-quimper", "29232").await;
        let paris = signed(&app, "cpts-paris", "75118").await;
        let start = audit_rows(&app).await;

        // Out of scope: « introuvable », nothing written.
        for who in [coord(&paris), cpam("75"), as_role(Role::AgentArs, Scope::Region("11".into()))] {
            let e = app.import_values(&who, import(year_rows("cpts-brest"))).await.unwrap_err();
            assert!(matches!(&e, AppError::NotFound(m) if m.contains("cpts-brest")), "[{engine}] {e:?}");
        }
        // In scope, wrong role: « non autorisé », nothing written.
        for who in [as_role(Role::Membre, Scope::Cpts(brest.clone())), as_role(Role::AgentArs, Scope::Region("53".into()))] {
            let e = app.import_values(&who, import(year_rows("cpts-brest"))).await.unwrap_err();
            assert!(matches!(e, AppError::Forbidden(_)), "[{engine}] {e:?}");
        }
        // Two CPTS, the right on one only: refused whole.
        let mut both = year_rows("cpts-brest");
        both.extend(year_rows("cpts-quimper"));
        let mut two = coord(&brest);
        two.grants.insert(cpts_app::Grant { role: Role::Membre, scope: Scope::Cpts(quimper.clone()) });
        assert!(matches!(app.import_values(&two, import(both.clone())).await, Err(AppError::Forbidden(_))), "[{engine}]");
        let e = app.import_values(&coord(&brest), import(both.clone())).await.unwrap_err();
        assert!(matches!(&e, AppError::NotFound(m) if m.contains("cpts-quimper")), "[{engine}] {e:?}");
        assert_eq!(audit_rows(&app).await, start, "[{engine}] nothing written when refused");
        assert!(app.values(&admin(), &brest, None).await.unwrap().is_empty(), "[{engine}]");

        // The coordinator imports its own: one audit row, with what was stored.
        let done = app.import_values(&coord(&brest), import(year_rows("cpts-brest"))).await.unwrap();
        assert_eq!((done.stored, done.cpts, done.corrected), (24, 1, 0), "[{engine}]");
        let log = app.audit(&admin(), &Default::default()).await.unwrap();
        assert_eq!(log.len(), start + 1, "[{engine}]");
        let last = &log[0];
        assert_eq!((last.login.as_str(), last.role.as_str(), last.action.as_str()), ("coordinateur-test", "coordinateur", "valeurs"), "[{engine}]");
        assert_eq!(last.cpts.as_deref(), Some("cpts-brest"), "[{engine}]");
        assert!(last.before.is_none() && last.after.as_deref().is_some_and(|a| a.contains("\"valeurs\":24")), "[{engine}] {last:?}");

        // The CPAM of the Finistère imports into both of its CPTS at once: one row each.
        let done = app.import_values(&cpam("29"), import(both)).await.unwrap();
        assert_eq!((done.stored, done.cpts, done.unchanged), (24, 1, 24), "[{engine}]");
        assert_eq!(audit_rows(&app).await, start + 2, "[{engine}]");

        // Reads: in scope only.
        assert_eq!(app.values(&as_role(Role::Membre, Scope::Cpts(brest.clone())), &brest, Some("snp_taux_reponse")).await.unwrap().len(), 12);
        assert!(matches!(app.value_history(&coord(&paris), &brest, None).await, Err(AppError::NotFound(_))), "[{engine}]");
        assert_eq!(app.value_history(&cpam("29"), &quimper, None).await.unwrap().len(), 24, "[{engine}]");
        // An unknown CPTS, for who sees everything, is a line error of the file.
        let e = app.import_values(&admin(), import(vec![row("cpts-nulle-part", "patients_sans_mt_aides", "2021-01", "1", "", "")])).await.unwrap_err();
        assert!(matches!(&e, AppError::Invalid(f) if f[0].line == Some(2) && f[0].message.contains("inconnue")), "[{engine}] {e:?}");
    }
}

#[tokio::test]
async fn the_report_is_written_by_the_cpts_and_validated_by_the_cpam_with_the_outcome_in_one_write() {
    for (engine, app) in apps().await {
        let brest = signed(&app, "cpts-brest", "29019").await;
        let paris = signed(&app, "cpts-paris", "75118").await;
        app.import_values(&admin(), import(year_rows("cpts-brest"))).await.unwrap();
        let c = coord(&brest);

        // Write: the coordinator, not the CPAM, not the coordinator of another CPTS.
        let start = audit_rows(&app).await;
        let draft = || act(&brest, Act::Rediger, Actor::Cpts, date(2021, 11, 15), Some(DRAFT));
        assert!(matches!(app.report_act(&cpam("29"), draft()).await, Err(AppError::Forbidden(_))), "[{engine}]");
        assert!(matches!(app.report_act(&coord(&paris), draft()).await, Err(AppError::NotFound(_))), "[{engine}]");
        assert_eq!(audit_rows(&app).await, start, "[{engine}]");
        let done = app.report_act(&c, draft()).await.unwrap();
        assert_eq!((done.report.version, done.report.status), (1, Status::Brouillon), "[{engine}]");
        let log = app.audit(&admin(), &Default::default()).await.unwrap();
        assert_eq!(log.len(), start + 1, "[{engine}]");
        assert_eq!((log[0].action.as_str(), log[0].before.is_none()), ("rapport.redaction", true), "[{engine}]");
        app.report_act(&c, act(&brest, Act::Soumettre, Actor::Cpts, date(2022, 1, 20), None)).await.unwrap();
        let log = app.audit(&admin(), &Default::default()).await.unwrap();
        assert!(log[0].before.as_deref().is_some_and(|b| b.contains("brouillon")), "[{engine}] {:?}", log[0]);
        assert!(log[0].after.as_deref().is_some_and(|a| a.contains("soumis")), "[{engine}] {:?}", log[0]);

        // Review: the CPAM in scope; not the coordinator, not the ARS; out of scope: not found.
        let validate = || act(&brest, Act::Valider, Actor::Cpam, date(2022, 2, 1), None);
        let before = audit_rows(&app).await;
        for who in [c.clone(), as_role(Role::AgentArs, Scope::Region("53".into()))] {
            assert!(matches!(app.report_act(&who, validate()).await, Err(AppError::Forbidden(_))), "[{engine}]");
        }
        assert!(matches!(app.report_act(&cpam("75"), validate()).await, Err(AppError::NotFound(_))), "[{engine}]");
        assert_eq!(audit_rows(&app).await, before, "[{engine}]");
        let done = app.report_act(&cpam("29"), validate()).await.unwrap();
        let released = done.released.unwrap();
        assert_eq!((released.inserted, released.cancelled), (1, 1), "[{engine}]");
        assert_eq!(released.due[0].amount.get(), 704_000, "[{engine}]");
        // One audit row for the report and the contract's outcome written with it.
        let log = app.audit(&admin(), &Default::default()).await.unwrap();
        assert_eq!(log.len(), before + 1, "[{engine}]");
        assert_eq!((log[0].role.as_str(), log[0].action.as_str()), ("agent-cpam", "rapport.instruction"), "[{engine}]");
        assert!(log[0].after.as_deref().is_some_and(|a| a.contains("contrat_apres")), "[{engine}]");
        let y = app.achievement(&c, &brest, Some(1), None).await.unwrap();
        assert!(y.validated && y.achievement.total.get() == 704_000, "[{engine}] {}", y.achievement.total);

        // The national alerts after the validation equal those computed from full reads: the
        // year's balance, held until then (left out by the national read), is read again.
        let name = app.store.get_cpts(&brest).await.unwrap().identity.name;
        let contracts: Vec<_> = app.store.contracts(&brest, &name).await.unwrap().into_iter().map(|(a, _)| a).collect();
        let (reports, lines, gates) =
            (app.store.reports(&brest).await.unwrap(), app.store.ledger(&brest).await.unwrap(), app.store.gates(&brest).await.unwrap());
        for (days, on) in [(30, date(2022, 2, 1)), (365, date(2022, 6, 1)), (30, date(2022, 1, 31))] {
            let national: Vec<String> = app
                .alerts(&admin(), None, days, on)
                .await
                .unwrap()
                .iter()
                .filter(|c| c.record.id == brest)
                .flat_map(|c| c.alerts.iter())
                .map(|a| a.text.clone())
                .collect();
            let full: Vec<String> = cpts_domain::alerts::cpts_alerts(&app.rules, &contracts, &reports, &lines, &gates, days, on)
                .into_iter()
                .map(|a| a.text)
                .collect();
            assert_eq!(national, full, "[{engine}] {days} {on}");
            if on >= date(2022, 2, 1) {
                assert!(national.iter().any(|t| t.contains("année 1") && t.contains("solde")), "[{engine}] {national:?}");
            }
        }

        // The document, in scope only.
        let target = ReportRef { cpts: brest.clone(), year: 1, contract: None };
        assert_eq!(app.report_document(&c, &target, None).await.unwrap().report.status, Status::Valide, "[{engine}]");
        assert!(matches!(app.report_document(&coord(&paris), &target, None).await, Err(AppError::NotFound(_))), "[{engine}]");
        let e = app.report_document(&c, &ReportRef { year: 2, ..target.clone() }, None).await.unwrap_err();
        assert!(matches!(&e, AppError::NotFound(m) if m.starts_with(cpts_app::reports::NO_REPORT)), "[{engine}] {e:?}");

        // A validated version is frozen: two weeks later, the year's values corrected and the
        // SIRET changed leave its document as it was when validated, but for the edition date
        // (issue 12, item 1); the values as of the validation are those it was judged on.
        let edited = |d: cpts_domain::document::Document| cpts_domain::document::Document { subtitle: d.subtitle.into_iter().filter(|l| !l.starts_with("Édité le")).collect(), ..d };
        let frozen = edited(app.report_document(&c, &target, None).await.unwrap().document);
        let before_values = app.store.values(&brest).await.unwrap();
        let later = App::new(app.store.clone(), app.rules.clone(), app.geo.clone(), cpts_app::Clock::on(date(2026, 12, 15)));
        let corrected: Vec<RawValue> =
            year_rows("cpts-brest").into_iter().filter(|r| r.indicator == "patients_sans_mt_aides").map(|r| RawValue { value: "2".into(), ..r }).collect();
        assert_eq!(later.import_values(&admin(), import(corrected)).await.unwrap().corrected, 12, "[{engine}]");
        let version = later.store.get_cpts(&brest).await.unwrap().version;
        let ids = later.parse_ids(&cpts_app::registry::IdsInput { siret: Some("73282932000074".into()), ..Default::default() }).unwrap();
        later.edit_identity(&admin(), cpts_app::registry::EditIdentity { id: brest.clone(), version, name: None, ids }).await.unwrap();
        let now = edited(later.report_document(&c, &target, None).await.unwrap().document);
        assert_eq!(now, frozen, "[{engine}]");
        assert!(format!("{now:?}").contains("SIRET : non renseigné"), "[{engine}]");
        let validated_at = later.store.report_validated_at(&brest, 1, 1, 1).await.unwrap().unwrap();
        assert_eq!(later.store.values_as_of(&brest, validated_at).await.unwrap(), before_values, "[{engine}]");
        assert_ne!(later.store.values(&brest).await.unwrap(), before_values, "[{engine}]");
        // A new draft (version 2) is judged on today's identity and values.
        later.report_act(&c, act(&brest, Act::Rediger, Actor::Cpts, date(2026, 12, 15), Some(DRAFT))).await.unwrap();
        let v2 = later.report_document(&c, &target, None).await.unwrap().document;
        assert!(format!("{v2:?}").contains("SIRET : 73282932000074"), "[{engine}]");
        assert_eq!(edited(later.report_document(&c, &target, Some(1)).await.unwrap().document), frozen, "[{engine}]");
    }
}

#[tokio::test]
async fn the_report_list_holds_the_visible_cpts_only() {
    for (engine, app) in apps().await {
        let brest = signed(&app, "cpts-brest", "29019").await;
        let paris = signed(&app, "cpts-paris", "75118").await;
        for id in [&brest, &paris] {
            app.report_act(&admin(), act(id, Act::Rediger, Actor::Cpts, date(2021, 11, 15), Some(DRAFT))).await.unwrap();
        }
        let ids = |l: Vec<(CptsId, _)>| l.into_iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(app.reports(&admin(), None).await.unwrap()), ["cpts-brest", "cpts-paris"], "[{engine}]");
        assert_eq!(ids(app.reports(&cpam("29"), None).await.unwrap()), ["cpts-brest"], "[{engine}]");
        assert_eq!(ids(app.reports(&coord(&paris), None).await.unwrap()), ["cpts-paris"], "[{engine}]");
        assert!(app.reports(&as_role(Role::AgentArs, Scope::Region("84".into())), None).await.unwrap().is_empty());
        assert!(matches!(app.reports(&cpam("29"), Some(&paris)).await, Err(AppError::NotFound(_))), "[{engine}]");
    }
}

fn pinned<'a>(f: impl std::future::Future<Output = cpts_app::Result<()>> + 'a) -> Fut<'a> {
    Box::pin(f)
}

/// One probe per use case of values, achievement and reports (see `common::Probe`).
pub fn probes() -> Vec<Probe> {
    vec![
        Probe {
            name: "values.import",
            action: Action::ImportValues,
            run: |app, who, id| {
                pinned(async move {
                    let rows = vec![row(id.as_str(), "patients_sans_mt_aides", "2021-01", "1", "", "")];
                    app.import_values(who, import(rows)).await.map(|_| ())
                })
            },
        },
        Probe { name: "values.list", action: Action::Read, run: |app, who, id| pinned(async move { app.values(who, id, None).await.map(|_| ()) }) },
        Probe {
            name: "values.history",
            action: Action::Read,
            run: |app, who, id| pinned(async move { app.value_history(who, id, None).await.map(|_| ()) }),
        },
        Probe {
            name: "achievement",
            action: Action::Read,
            run: |app, who, id| pinned(async move { app.achievement(who, id, Some(1), None).await.map(|_| ()) }),
        },
        Probe {
            name: "report.draft",
            action: Action::WriteReport,
            run: |app, who, id| pinned(async move { app.report_act(who, act(id, Act::Rediger, Actor::Cpts, date(2021, 11, 15), Some(DRAFT))).await.map(|_| ()) }),
        },
        Probe {
            name: "report.submit",
            action: Action::WriteReport,
            run: |app, who, id| pinned(async move { app.report_act(who, act(id, Act::Soumettre, Actor::Cpts, date(2022, 1, 20), None)).await.map(|_| ()) }),
        },
        Probe {
            name: "report.answer",
            action: Action::WriteReport,
            run: |app, who, id| pinned(async move { app.report_act(who, act(id, Act::Repondre, Actor::Cpts, date(2022, 1, 26), Some("réponse"))).await.map(|_| ()) }),
        },
        Probe {
            name: "report.comment",
            action: Action::ReviewReport,
            run: |app, who, id| pinned(async move { app.report_act(who, act(id, Act::Commenter, Actor::Cpam, date(2022, 1, 25), Some("question"))).await.map(|_| ()) }),
        },
        Probe {
            name: "report.return",
            action: Action::ReviewReport,
            run: |app, who, id| pinned(async move { app.report_act(who, act(id, Act::DemanderCorrection, Actor::Cpam, date(2022, 1, 25), Some("à corriger"))).await.map(|_| ()) }),
        },
        Probe {
            name: "report.validate",
            action: Action::ReviewReport,
            run: |app, who, id| pinned(async move { app.report_act(who, act(id, Act::Valider, Actor::Cpam, date(2022, 2, 1), None)).await.map(|_| ()) }),
        },
        Probe { name: "report.list", action: Action::Read, run: |app, who, id| pinned(async move { app.reports(who, Some(id)).await.map(|_| ()) }) },
        Probe {
            name: "report.document",
            action: Action::Read,
            run: |app, who, id| {
                pinned(async move {
                    let target = ReportRef { cpts: id.clone(), year: 1, contract: None };
                    app.report_document(who, &target, None).await.map(|_| ())
                })
            },
        },
    ]
}

/// Rows numbered as lines of a file (the header on line 1).
fn numbered(rows: Vec<RawValue>) -> Vec<RawValue> {
    rows.into_iter().enumerate().map(|(k, r)| RawValue { line: k + 2, ..r }).collect()
}

async fn nothing_stored(app: &App, ids: &[&CptsId]) {
    for id in ids {
        assert!(app.value_history(&admin(), id, None).await.unwrap().is_empty(), "{id}");
    }
}

async fn chunked(app: &App, who: &Principal, rows: &[RawValue], chunk: usize) -> Result<cpts_app::values::ValuesImported, AppError> {
    let p = import(Vec::new()).provenance;
    let mut written = Vec::new();
    let done = app.import_values_in_chunks(who, rows.iter().cloned().map(Ok), &p, chunk, |n| written.push(n)).await;
    // Progress is told after each chunk written, growing.
    assert!(written.windows(2).all(|w| w[0] < w[1]), "{written:?}");
    done
}

#[tokio::test]
async fn a_streamed_import_with_a_bad_row_or_a_forbidden_cpts_in_a_late_chunk_stores_nothing() {
    for (engine, app) in apps().await {
        let brest = signed(&app, "cpts-brest", "29019").await;
        let quimper = signed(&app, "cpts-quimper", "29232").await;
        let start = audit_rows(&app).await;
        let mut rows = year_rows("cpts-brest");
        rows.extend(year_rows("cpts-quimper"));
        let good = numbered(rows);

        // A bad cell and a duplicate of line 2 in the last chunk, after 9 chunks written.
        let mut bad = good.clone();
        bad.push(RawValue { line: 50, ..row("cpts-quimper", "patients_sans_mt_aides", "2022-01", "trois", "", "") });
        bad.push(RawValue { line: 51, ..good[0].clone() });
        let e = chunked(&app, &cpam("29"), &bad, 5).await.unwrap_err();
        let AppError::Invalid(errors) = &e else { panic!("[{engine}] {e:?}") };
        let said: Vec<(Option<usize>, &str)> = errors.iter().map(|f| (f.line, f.field.as_str())).collect();
        assert_eq!(said, [(Some(50), "Valeur"), (Some(51), "Période")], "[{engine}] {errors:?}");
        assert!(errors[1].message.contains("que la ligne 2"), "[{engine}] {errors:?}");
        nothing_stored(&app, &[&brest, &quimper]).await;
        assert_eq!(audit_rows(&app).await, start, "[{engine}]");

        // A CPTS first named late that the principal may read but not import into: refused
        // whole, brest's chunks already written rolled back; one it cannot read: « introuvable ».
        let mut two = coord(&brest);
        two.grants.insert(cpts_app::Grant { role: Role::Membre, scope: Scope::Cpts(quimper.clone()) });
        let e = chunked(&app, &two, &good, 4).await.unwrap_err();
        assert!(matches!(e, AppError::Forbidden(_)), "[{engine}] {e:?}");
        let e = chunked(&app, &coord(&brest), &good, 4).await.unwrap_err();
        assert!(matches!(&e, AppError::NotFound(m) if m.contains("cpts-quimper")), "[{engine}] {e:?}");
        nothing_stored(&app, &[&brest, &quimper]).await;
        assert_eq!(audit_rows(&app).await, start, "[{engine}]");

        // A read error late (a file cut by an unclosed quote): nothing stored, said with
        // the errors found before it.
        let mut read = good.iter().cloned().map(Ok).collect::<Vec<_>>();
        read.insert(30, Err(cpts_domain::table::LineError::new(32, "B", "guillemet ouvert ici et jamais fermé")));
        read.insert(3, Ok(RawValue { line: 5, period: "2021-13".into(), ..good[3].clone() }));
        let p = import(Vec::new()).provenance;
        let e = app.import_values_in_chunks(&cpam("29"), read.into_iter(), &p, 4, |_| {}).await.unwrap_err();
        let AppError::Invalid(errors) = &e else { panic!("[{engine}] {e:?}") };
        assert_eq!(errors.iter().map(|f| f.line).collect::<Vec<_>>(), [Some(5), Some(32)], "[{engine}] {errors:?}");
        nothing_stored(&app, &[&brest, &quimper]).await;
        assert_eq!(audit_rows(&app).await, start, "[{engine}]");

        // The valid file goes through: one batch, one audit row per CPTS.
        let done = chunked(&app, &cpam("29"), &good, 4).await.unwrap();
        assert_eq!((done.stored, done.cpts, done.corrected, done.unchanged), (48, 2, 0, 0), "[{engine}]");
        assert_eq!(audit_rows(&app).await, start + 2, "[{engine}]");
        let history = app.value_history(&admin(), &quimper, None).await.unwrap();
        assert!(history.len() == 24 && history.iter().all(|h| Some(h.batch) == done.batch), "[{engine}]");
    }
}

#[tokio::test]
async fn chunk_boundaries_change_nothing_in_what_an_import_stores_or_says() {
    for (engine, app) in apps().await {
        signed(&app, "cpts-brest", "29019").await;
        let quimper = signed(&app, "cpts-quimper", "29232").await;
        // Round k: the first half-year of each indicator changes, the rest is as stored.
        let file = |k: usize| {
            let mut rows = Vec::new();
            for cpts in ["cpts-brest", "cpts-quimper"] {
                for m in 1..=12 {
                    let p = format!("2021-{m:02}");
                    let v = if m <= 6 { 10 + k } else { 7 };
                    rows.push(row(cpts, "patients_sans_mt_aides", &p, &v.to_string(), "", ""));
                    rows.push(row(cpts, "snp_taux_reponse", &p, "", &(40 + if m <= 6 { k } else { 0 }).to_string(), "100"));
                }
            }
            numbered(rows)
        };
        let first = chunked(&app, &admin(), &file(0), 10_000).await.unwrap();
        assert_eq!((first.stored, first.corrected, first.unchanged), (48, 0, 0), "[{engine}]");
        // A faulty file: the same errors wherever it is cut, and as the check alone says them.
        let mut faulty = file(1);
        faulty[7].value = "-1".into();
        faulty[20].period = "2021-T1".into();
        faulty.push(RawValue { line: 50, cpts: "cpts-nulle-part".into(), ..faulty[0].clone() });
        faulty.push(RawValue { line: 51, cpts: "cpts-nulle-part".into(), ..faulty[1].clone() });
        let said = match app.check_values(&admin(), &faulty).await.unwrap_err() {
            AppError::Invalid(errors) => errors,
            e => panic!("[{engine}] {e:?}"),
        };
        assert!(said.len() >= 3, "[{engine}] {said:?}");
        for (k, chunk) in [1, 2, 3, 7, 24, 25, 48, 10_000].into_iter().enumerate() {
            match chunked(&app, &admin(), &faulty, chunk).await.unwrap_err() {
                AppError::Invalid(errors) => assert_eq!(errors, said, "[{engine}] chunk {chunk}"),
                e => panic!("[{engine}] {e:?}"),
            }
            // Then a good round: 12 corrections per CPTS (the first half-year of each
            // indicator), 12 unchanged, whatever the cut.
            let done = chunked(&app, &admin(), &file(k + 1), chunk).await.unwrap();
            assert_eq!((done.stored, done.cpts, done.corrected, done.unchanged), (24, 2, 24, 24), "[{engine}] chunk {chunk}");
            let again = chunked(&app, &admin(), &file(k + 1), chunk).await.unwrap();
            assert_eq!((again.batch, again.stored, again.unchanged), (None, 0, 48), "[{engine}] chunk {chunk}");
        }
        let history = app.value_history(&admin(), &quimper, None).await.unwrap();
        assert_eq!(history.len(), 24 + 8 * 12, "[{engine}]");
    }
}
