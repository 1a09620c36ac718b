//! The yearly report in the web app: the coordinator drafts and submits, the CPAM agent returns
//! it with a reason, the coordinator resubmits, the CPAM agent validates; the balance becomes
//! payable. And every POST of the values and report pages refused to who may not, with nothing
//! written.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::connect_info::MockConnectInfo;
use axum::http::StatusCode;
use cpts_app::accounts::NewAccount;
use cpts_app::testkit::admin;
use cpts_app::values::ImportValues;
use cpts_app::{Clock, Grant, Role, Scope};
use cpts_domain::activity::{Act, Status};
use cpts_domain::ledger::{Source, Status as LineStatus};
use cpts_engine::schedule::PaymentKind;
use cpts_domain::lifecycle::Actor;
use cpts_domain::values::RawValue;
use cpts_store::Provenance;
use jiff::civil::{Date, date};

use crate::common::{MINE, PASSWORD, World, audit_rows, config, signed, worlds};
use crate::values::{VALUES, upload};

const REPORT: &str = "/cpts/cpts-paris-18/rapports/1/1";
const DRAFT: &str = "summary: Première année.\nactions:\n  - {title: Cellule médecin traitant, mission: acces_soins, from: 2021-02-01, to: 2021-12-31, description: Orientation, professionals: 12}\nexpenses:\n  - {item: Coordination, amount: 45000}\n";
/// After year 1 (2021) ended: a report can be submitted and validated.
const LATER: Date = date(2022, 6, 30);

/// The world on a later day (same store, same accounts), year 1's values imported.
async fn later(w: &World) -> World {
    let app = Arc::new(w.app.with_clock(Clock::on(LATER)));
    let rows = (1..=12)
        .flat_map(|m| {
            let p = format!("2021-{m:02}");
            let row = |ind: &str, v: &str, n: &str, d: &str| RawValue {
                line: 2,
                cpts: MINE.into(),
                indicator: ind.into(),
                period: p.clone(),
                value: v.into(),
                numerator: n.into(),
                denominator: d.into(),
            };
            [row("patients_sans_mt_aides", "7", "", ""), row("snp_taux_reponse", "", "65", "100")]
        })
        .collect();
    let provenance = Provenance { source: "import".into(), file: None, by: "Test".into(), role: Actor::Cpts };
    app.import_values(&admin(), ImportValues { rows, provenance }).await.unwrap();
    let router = cpts_web::router(app.clone(), config()).layer(MockConnectInfo(SocketAddr::from(([192, 0, 2, 1], 4242))));
    World { engine: w.engine, app, router }
}

fn act(a: &str) -> String {
    format!("{REPORT}/{a}")
}

/// The amounts of year 1's balances payable on `LATER`.
async fn balances_due(w: &World) -> Vec<i64> {
    let v = w.app.ledger(&admin(), &MINE.parse().unwrap()).await.unwrap();
    v.lines
        .iter()
        .filter(|l| {
            matches!(l.planned.source, Source::Aci { year: 1, kind: PaymentKind::Balance, .. })
                && l.status(LATER, &v.gates) == LineStatus::Due
        })
        .map(|l| l.planned.amount.get())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_goes_from_the_coordinator_to_the_cpam_and_back_until_validated() {
    for w in worlds().await {
        let w = later(&w).await;
        let e = w.engine;
        let mut coord = signed(&w, "coord").await;
        let mut cpam = signed(&w, "cpam").await;
        assert!(balances_due(&w).await.is_empty(), "[{e}] no balance before validation");

        // No report yet: the coordinator sees the draft form, the CPAM agent no act.
        let page = coord.get(REPORT).await;
        assert_eq!(page.status, StatusCode::OK, "[{e}]");
        assert!(page.body.contains("Pas encore de rapport") && page.body.contains("Rédiger le rapport"), "[{e}]");
        assert!(!cpam.get(REPORT).await.body.contains("Vos actions"), "[{e}]");
        let list = coord.get("/cpts/cpts-paris-18/rapports").await;
        assert!(list.body.contains("pas de rapport") && list.body.contains(REPORT), "[{e}]");

        // Draft and submit.
        let start = audit_rows(&w.app).await;
        let r = coord.post(&act("rediger"), &[("texte", DRAFT)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{e}] {}", r.body);
        assert_eq!(r.location(), format!("{REPORT}?fait=rediger"));
        let page = coord.get(r.location()).await;
        assert!(page.body.contains("Brouillon enregistré") && page.body.contains("Soumettre le rapport"), "[{e}]");
        let r = coord.post(&act("soumettre"), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{e}] {}", r.body);

        // The CPAM agent returns it: without a reason, refused (422, nothing written).
        let page = cpam.get(REPORT).await;
        assert!(page.body.contains("Valider le rapport") && page.body.contains("Renvoyer « à corriger »"), "[{e}]");
        assert!(!page.body.contains("Soumettre le rapport"), "[{e}] the CPAM agent does not submit");
        let before = audit_rows(&w.app).await;
        let r = cpam.post(&act("a-corriger"), &[("texte", "  ")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{e}]");
        assert!(r.body.contains("Refusé, rien n'a été enregistré") && r.body.contains("sans texte"), "[{e}] {}", r.body);
        assert_eq!(audit_rows(&w.app).await, before, "[{e}]");
        let r = cpam.post(&act("a-corriger"), &[("texte", "Précisez les dépenses de coordination.")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{e}] {}", r.body);
        assert!(cpam.get(r.location()).await.body.contains("Rapport renvoyé à la CPTS pour correction"), "[{e}]");

        // The coordinator sees the reason, resubmits; the CPAM agent validates.
        let page = coord.get(REPORT).await;
        assert!(page.body.contains("à corriger") && page.body.contains("Précisez les dépenses de coordination."), "[{e}]");
        assert_eq!(coord.post(&act("soumettre"), &[]).await.status, StatusCode::SEE_OTHER, "[{e}]");
        // Validation is not the coordinator's: 403, nothing written.
        let before = audit_rows(&w.app).await;
        assert_eq!(coord.post(&act("valider"), &[]).await.status, StatusCode::FORBIDDEN, "[{e}]");
        assert_eq!(audit_rows(&w.app).await, before, "[{e}]");
        let r = cpam.post(&act("valider"), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{e}] {}", r.body);
        assert_eq!(audit_rows(&w.app).await, start + 5, "[{e}] one audit row per act");

        // Statuses and thread as expected.
        let reports = w.app.reports(&admin(), Some(&MINE.parse().unwrap())).await.unwrap();
        let (_, r) = reports.last().unwrap();
        assert_eq!((r.version, r.status), (1, Status::Valide), "[{e}]");
        let acts: Vec<Act> = r.events.iter().map(|e| e.act).collect();
        assert_eq!(acts, [Act::Rediger, Act::Soumettre, Act::DemanderCorrection, Act::Soumettre, Act::Valider], "[{e}]");
        assert_eq!(r.events[2].text.as_deref(), Some("Précisez les dépenses de coordination."), "[{e}]");
        let page = coord.get(REPORT).await;
        assert!(page.body.contains("<strong>validé</strong>") && page.body.contains("Nouvelle version"), "[{e}]");
        assert!(page.body.contains("Agent CPAM") || page.body.contains("Compte cpam"), "[{e}] who acted");

        // The year's balance is now payable: 7 040,00 € (the golden annex).
        assert!(balances_due(&w).await.contains(&704_000), "[{e}] {:?}", balances_due(&w).await);

        // Downloads: PDF, CSV, XLSX.
        for (ext, kind) in [("pdf", "application/pdf"), ("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats")] {
            let r = coord.get(&format!("{REPORT}/rapport-v1.{ext}")).await;
            assert_eq!(r.status, StatusCode::OK, "[{e}] {ext}");
            assert!(r.headers["content-type"].to_str().unwrap().starts_with(kind), "[{e}] {ext}");
            assert!(r.headers["content-disposition"].to_str().unwrap().contains("attachment"), "[{e}] {ext}");
        }
        assert_eq!(coord.get(&format!("{REPORT}/rapport-v9.pdf")).await.status, StatusCode::NOT_FOUND, "[{e}]");
    }
}

/// Every POST of the values and report pages.
fn posts() -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let mut v = vec![(
        format!("{VALUES}/saisie"),
        vec![("indicateur", "patients_sans_mt_aides"), ("periode", "2021-03"), ("valeur", "3")],
    )];
    for a in Act::ALL {
        v.push((act(a.code()), vec![("texte", "Un texte.")]));
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_an_ars_agent_and_another_cpam_write_nothing() {
    for w in worlds().await {
        let w = later(&w).await;
        let e = w.engine;
        let other_cpam = NewAccount {
            login: "cpam29".into(),
            name: "CPAM du Finistère".into(),
            password: Some(PASSWORD.into()),
            grants: vec![Grant { role: Role::AgentCpam, scope: Scope::Departement("29".into()) }],
        };
        w.app.add_account(&admin(), other_cpam).await.unwrap();
        // A report submitted, so that each review act could apply.
        let mut coord = signed(&w, "coord").await;
        coord.get(REPORT).await;
        assert_eq!(coord.post(&act("rediger"), &[("texte", DRAFT)]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(coord.post(&act("soumettre"), &[]).await.status, StatusCode::SEE_OTHER);
        let values = w.app.values(&admin(), &MINE.parse().unwrap(), None).await.unwrap().len();
        let start = audit_rows(&w.app).await;
        let file = "CPTS;Indicateur;Période;Valeur\ncpts-paris-18;patients_sans_mt_aides;2022-01;4\n";
        for (login, expected) in [("membre", StatusCode::FORBIDDEN), ("ars", StatusCode::FORBIDDEN), ("cpam29", StatusCode::NOT_FOUND)] {
            let mut c = signed(&w, login).await;
            c.get("/").await;
            // What they can see: no form of ours.
            let page = c.get(VALUES).await;
            if expected == StatusCode::FORBIDDEN {
                assert_eq!(page.status, StatusCode::OK, "[{e}] {login}");
                assert!(!page.body.contains("Saisir une valeur") && !page.body.contains("Importer un fichier"), "[{e}] {login}");
                assert!(!c.get(REPORT).await.body.contains("Vos actions"), "[{e}] {login}");
            } else {
                assert_eq!(page.status, StatusCode::NOT_FOUND, "[{e}] {login}");
            }
            for (path, fields) in posts() {
                let r = c.post(&path, &fields).await;
                assert_eq!(r.status, expected, "[{e}] {login} {path}: {}", r.body);
                // The policy's answer, not a token's.
                let why = if expected == StatusCode::FORBIDDEN { "<h1>Non autorisé</h1>" } else { "<h1>Introuvable</h1>" };
                assert!(r.body.contains(why), "[{e}] {login} {path}: {}", r.body);
            }
            let r = upload(&mut c, &format!("{VALUES}/import"), "v.csv", file.as_bytes()).await;
            assert_eq!(r.status, expected, "[{e}] {login} import: {}", r.body);
            assert!(!r.body.contains("Demande refusée"), "[{e}] {login} import");
        }
        // The CPAM agent in scope does not write the CPTS's report; the coordinator does not review.
        let mut cpam = signed(&w, "cpam").await;
        cpam.get("/").await;
        for a in [Act::Rediger, Act::Soumettre, Act::Repondre] {
            assert_eq!(cpam.post(&act(a.code()), &[("texte", "x")]).await.status, StatusCode::FORBIDDEN, "[{e}] cpam {a:?}");
        }
        for a in [Act::Commenter, Act::DemanderCorrection, Act::Valider] {
            assert_eq!(coord.post(&act(a.code()), &[("texte", "x")]).await.status, StatusCode::FORBIDDEN, "[{e}] coord {a:?}");
        }
        assert_eq!(audit_rows(&w.app).await, start, "[{e}] nothing written");
        assert_eq!(w.app.values(&admin(), &MINE.parse().unwrap(), None).await.unwrap().len(), values, "[{e}]");
        // An unknown act or year is a missing page.
        assert_eq!(coord.post("/cpts/cpts-paris-18/rapports/1/1/effacer", &[]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(coord.get("/cpts/cpts-paris-18/rapports/1/9").await.status, StatusCode::NOT_FOUND);
    }
}
