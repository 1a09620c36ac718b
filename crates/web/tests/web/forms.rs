//! The forms of the lifecycle and the ledger: allowed acts go through and leave their audit
//! row; refused ones write nothing; bad input comes back with its messages, what was typed kept.

use axum::http::StatusCode;

use crate::common::{MINE, NEW, audit_rows, signed, worlds};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ars_records_a_step_and_others_cannot() {
    for w in worlds().await {
        let mut ars = signed(&w, "ars").await;
        let page = ars.get(&format!("/cpts/{NEW}/cycle")).await;
        assert!(page.body.contains("Enregistrer une étape"), "{}", w.engine);
        assert!(page.body.contains("<option value=\"ars\""), "the ARS acts as the ARS");
        assert!(!page.body.contains("<option value=\"cpam\""), "not as the CPAM");
        // A bad date: 422, the summary and the field's message, the text typed kept.
        let before = audit_rows(&w.app).await;
        let fields = [("step", "declarer"), ("actor", "cpts"), ("on", "31/02/2021"), ("by", "Mme Martin"), ("note", "à garder")];
        let r = ars.post(&format!("/cpts/{NEW}/cycle"), &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("role=\"alert\"") && r.body.contains("id=\"on-err\"") && r.body.contains("aria-invalid=\"true\""));
        assert!(r.body.contains("à garder") && r.body.contains("value=\"31/02/2021\""));
        assert_eq!(audit_rows(&w.app).await, before);
        // The declaration is the CPTS's act: an ARS agent may not act as the CPTS.
        let fields = [("step", "declarer"), ("actor", "cpts"), ("on", "01/09/2021"), ("by", "Mme Martin")];
        assert_eq!(ars.post(&format!("/cpts/{NEW}/cycle"), &fields).await.status, StatusCode::FORBIDDEN);
        assert_eq!(audit_rows(&w.app).await, before);
        // As admin (all parties), then the ARS validates the letter in its name.
        let mut admin = signed(&w, "admin").await;
        admin.get(&format!("/cpts/{NEW}/cycle")).await;
        let r = admin.post(&format!("/cpts/{NEW}/cycle"), &fields).await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/cpts/cpts-paris-19/cycle?fait=1"), "{}", r.body);
        let r = admin.post(&format!("/cpts/{NEW}/cycle"), &[("step", "formaliser"), ("actor", "cpts"), ("on", "02/09/2021"), ("by", "Bureau")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        ars.get(&format!("/cpts/{NEW}/cycle")).await;
        let fields = [("step", "valider-lettre"), ("actor", "ars"), ("on", "01/10/2021"), ("by", "ARS IDF"), ("document", "courrier n° 12")];
        let r = ars.post(&format!("/cpts/{NEW}/cycle"), &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let page = ars.get(r.location()).await;
        assert!(page.body.contains("Étape enregistrée") && page.body.contains("courrier n° 12"));
        assert!(audit_rows(&w.app).await >= before + 3);
        // The coordinator of Paris 18 does not see Paris 19; its membre may not act on Paris 18.
        let mut coord = signed(&w, "coord").await;
        coord.get("/").await;
        let n = audit_rows(&w.app).await;
        assert_eq!(coord.post(&format!("/cpts/{NEW}/cycle"), &fields).await.status, StatusCode::NOT_FOUND);
        let mut membre = signed(&w, "membre").await;
        let page = membre.get(&format!("/cpts/{MINE}/cycle")).await;
        assert!(!page.body.contains("Enregistrer une étape"), "no form for a membre");
        let r = membre.post(&format!("/cpts/{MINE}/cycle"), &[("step", "echeance"), ("actor", "cpts"), ("on", "01/10/2021"), ("by", "X")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(audit_rows(&w.app).await, n);
    }
}

/// The number of the first line the payment form offers.
fn first_payable(body: &str) -> Option<String> {
    let form = &body[body.find("name=\"line\"")?..];
    let at = form.find("<option value=\"")? + "<option value=\"".len();
    Some(form[at..].split('"').next()?.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpam_records_a_payment_and_the_coordinator_cannot() {
    for w in worlds().await {
        let mut coord = signed(&w, "coord").await;
        let page = coord.get(&format!("/cpts/{MINE}/financement")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("pourquoi ce montant"));
        assert!(!page.body.contains("Enregistrer un versement"), "the coordinator pays no ACI line");
        let mut cpam = signed(&w, "cpam").await;
        let page = cpam.get(&format!("/cpts/{MINE}/financement")).await;
        let line = first_payable(&page.body).expect("a due line to pay");
        let before = audit_rows(&w.app).await;
        // The coordinator forging the form: refused, nothing written.
        let fields = [("line", line.as_str()), ("on", "25/10/2021"), ("amount", ""), ("by", "CPAM de Paris")];
        assert_eq!(coord.post(&format!("/cpts/{MINE}/financement/paiements"), &fields).await.status, StatusCode::FORBIDDEN);
        // A bad amount: 422, nothing written.
        let bad = [("line", line.as_str()), ("on", "25/10/2021"), ("amount", "douze"), ("by", "CPAM de Paris")];
        let r = cpam.post(&format!("/cpts/{MINE}/financement/paiements"), &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("id=\"pay-amount-err\"") && r.body.contains("value=\"douze\""));
        assert_eq!(audit_rows(&w.app).await, before);
        let r = cpam.post(&format!("/cpts/{MINE}/financement/paiements"), &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(audit_rows(&w.app).await, before + 1);
        let page = cpam.get(r.location()).await;
        assert!(page.body.contains(&format!("Versement enregistré sur la ligne n° {line}")));
        let detail = coord.get(&format!("/cpts/{MINE}/financement/lignes/{line}")).await;
        assert!(detail.body.contains("CPAM de Paris") && detail.body.contains("payé"), "{}", detail.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_admin_manages_accounts_and_no_one_else_can() {
    for w in worlds().await {
        let mut admin = signed(&w, "admin").await;
        admin.get("/comptes").await;
        let before = audit_rows(&w.app).await;
        // A password too short: 422, the password typed not sent back, nothing written.
        let short = [("login", "nouveau"), ("name", "Nouvel Agent"), ("password", "court"), ("role", "agent-cpam"), ("scope", "29")];
        let r = admin.post("/comptes", &short).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", w.engine);
        assert!(r.body.contains("value=\"Nouvel Agent\"") && !r.body.contains("court\""));
        assert_eq!(audit_rows(&w.app).await, before);
        let ok = [("login", "nouveau"), ("name", "Nouvel Agent"), ("password", "un mot de passe assez long"), ("role", "agent-cpam"), ("scope", "29")];
        let r = admin.post("/comptes", &ok).await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/comptes?fait=nouveau"), "{}", r.body);
        assert_eq!(audit_rows(&w.app).await, before + 1);
        // The new agent signs in and sees Brest, not Paris.
        let mut agent = crate::common::Client::new(&w);
        let r = agent.try_sign_in("nouveau", "un mot de passe assez long").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let list = agent.get("/cpts").await.body;
        assert!(list.contains("cpts-brest") && !list.contains(MINE));
        // Disabled by the admin: its session ends at once.
        assert_eq!(admin.post("/comptes/nouveau/desactiver", &[]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(agent.get("/cpts").await.status, StatusCode::SEE_OTHER);
        // Nobody else may create or change an account.
        let n = audit_rows(&w.app).await;
        for login in ["coord", "membre", "cpam", "ars"] {
            let mut c = signed(&w, login).await;
            c.get("/").await;
            assert_eq!(c.post("/comptes", &ok).await.status, StatusCode::FORBIDDEN, "{login}");
            assert_eq!(c.post("/comptes/nouveau/activer", &[]).await.status, StatusCode::FORBIDDEN, "{login}");
        }
        assert_eq!(audit_rows(&w.app).await, n);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpam_signs_from_the_annex_and_starts_nothing_it_may_not() {
    use crate::common::READY;
    let annex = cpts_app::testkit::GOLDEN_ANNEX;
    for w in worlds().await {
        let page = format!("/cpts/{READY}/contrat");
        let post = format!("/cpts/{READY}/contrat/signature");
        let fields = [("annex", annex), ("on", "01/01/2021"), ("actor", "cpam"), ("by", "Directrice CPAM")];
        // The coordinator of Paris 18 does not see Paris 20; the ARS of Île-de-France sees the form.
        let mut coord = signed(&w, "coord").await;
        coord.get("/").await;
        assert_eq!(coord.post(&post, &fields).await.status, StatusCode::NOT_FOUND, "{}", w.engine);
        let mut ars = signed(&w, "ars").await;
        assert!(ars.get(&page).await.body.contains("Signer le contrat"));
        let mut cpam = signed(&w, "cpam").await;
        let body = cpam.get(&page).await.body;
        assert!(body.contains("Signer le contrat") && !body.contains("<option value=\"ars\""), "a CPAM agent signs for the CPAM");
        let before = audit_rows(&w.app).await;
        // A date that is not the annex's: refused with the reason, the annex typed kept.
        let wrong = [("annex", annex), ("on", "02/01/2021"), ("actor", "cpam"), ("by", "Directrice CPAM")];
        let r = cpam.post(&post, &wrong).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("différente de la date de signature déclarée"), "{}", r.body);
        assert!(r.body.contains("missions:") || r.body.contains("mission"), "the annex is kept");
        assert_eq!(audit_rows(&w.app).await, before);
        let r = cpam.post(&post, &fields).await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/cpts/cpts-paris-20/contrat?fait=signature"), "{}", r.body);
        assert_eq!(audit_rows(&w.app).await, before + 1);
        let body = cpam.get(r.location()).await.body;
        assert!(body.contains("Contrat signé") && body.contains("Calendrier de déploiement") && body.contains("01/01/2021"));
        // The ledger is open: the funding page lists its lines.
        assert!(cpam.get(&format!("/cpts/{READY}/financement")).await.body.contains("ACI n° 1"));
        // Missions are the CPTS's to start: the CPAM agent gets no button and a refusal.
        assert!(!body.contains("Démarrée<span"));
        let r = cpam.post(&format!("/cpts/{READY}/contrat/mission"), &[("mission", "acces_soins"), ("act", "demarrer"), ("on", "01/03/2021")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ars_adds_its_grant_and_the_coordinator_only_other_funders() {
    for w in worlds().await {
        let post = format!("/cpts/{NEW}/conventions");
        let mut ars = signed(&w, "ars").await;
        let body = ars.get(&post).await.body;
        assert!(body.contains("<option value=\"ars\"") && !body.contains("<option value=\"collectivite\""), "{}", w.engine);
        let before = audit_rows(&w.app).await;
        let mut fields = vec![
            ("kind", "ars"),
            ("funder", "ARS Île-de-France"),
            ("purpose", "Phase 1 : diagnostic territorial"),
            ("amount", "50 000"),
            ("start", "01/09/2021"),
            ("end", "31/08/2022"),
            ("installments", "01/09/2021 = 25 000\n01/03/2022 = vingt-cinq mille"),
            ("deliverables", "Diagnostic\nProjet de santé"),
        ];
        let r = ars.post(&post, &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("échéance 2") && r.body.contains("id=\"installments-err\"") && r.body.contains("vingt-cinq mille"));
        assert_eq!(audit_rows(&w.app).await, before);
        fields[6] = ("installments", "01/09/2021 = 25 000\n01/03/2022 = 25 000,00");
        let r = ars.post(&post, &fields).await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/cpts/cpts-paris-19/conventions?fait=1"), "{}", r.body);
        assert_eq!(audit_rows(&w.app).await, before + 1);
        let body = ars.get(r.location()).await.body;
        assert!(body.contains("Convention n° 1 enregistrée") && body.contains("50\u{202f}000,00\u{a0}€") && body.contains("Projet de santé"));
        // The coordinator of Paris 18: other funders only; an ARS convention is refused.
        let mut coord = signed(&w, "coord").await;
        let body = coord.get(&format!("/cpts/{MINE}/conventions")).await.body;
        assert!(body.contains("<option value=\"collectivite\"") && !body.contains("<option value=\"ars\""));
        let r = coord.post(&format!("/cpts/{MINE}/conventions"), &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}
