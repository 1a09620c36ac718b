//! Creating a CPTS, editing its identity (a save in between is a conflict that keeps what was
//! typed), setting its territory with the commune search.

use axum::http::StatusCode;

use crate::common::{MINE, audit_rows, signed, worlds};

/// The value of the first hidden `version` field of a page.
fn version(body: &str) -> String {
    let at = body.find("name=\"version\" value=\"").unwrap() + "name=\"version\" value=\"".len();
    body[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ars_creates_a_cpts_in_its_region_and_sets_its_territory() {
    for w in worlds().await {
        let mut coord = signed(&w, "coord").await;
        assert_eq!(coord.get("/cpts/nouvelle").await.status, StatusCode::FORBIDDEN, "{}", w.engine);
        let mut ars = signed(&w, "ars").await;
        assert!(ars.get("/cpts").await.body.contains("href=\"/cpts/nouvelle\""));
        ars.get("/cpts/nouvelle").await;
        let before = audit_rows(&w.app).await;
        // Seated in Brest: out of the ARS Île-de-France's région.
        let brest = [("name", "CPTS du Ponant"), ("legal_form", "association loi 1901"), ("seat", "29019")];
        assert_eq!(ars.post("/cpts/nouvelle", &brest).await.status, StatusCode::FORBIDDEN);
        // A bad SIRET: 422 beside the field, the name kept.
        let bad = [("name", "CPTS Paris 7"), ("siret", "123"), ("seat", "75107")];
        let r = ars.post("/cpts/nouvelle", &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("id=\"siret-err\"") && r.body.contains("value=\"CPTS Paris 7\""));
        assert_eq!(audit_rows(&w.app).await, before);
        let r = ars.post("/cpts/nouvelle", &[("name", "CPTS Paris 7"), ("seat", "75107")]).await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/cpts/cpts-paris-7/territoire"), "{}", r.body);
        // The commune search, then the territory: an unknown commune is named, nothing saved.
        let page = ars.get("/cpts/cpts-paris-7/territoire?recherche=paris%207").await.body;
        assert!(page.contains("75107"), "{page}");
        let v = version(&page);
        let r = ars.post("/cpts/cpts-paris-7/territoire", &[("communes", "75107\nAtlantide"), ("version", &v)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("Atlantide") && r.body.contains("id=\"communes-err\""));
        let r = ars.post("/cpts/cpts-paris-7/territoire", &[("communes", "75107 Paris 7e Arrondissement"), ("version", &v)]).await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/cpts/cpts-paris-7?fait=territoire"), "{}", r.body);
        let page = ars.get(r.location()).await.body;
        assert!(page.contains("Territoire enregistré") && page.contains("75107"));
        assert_eq!(audit_rows(&w.app).await, before + 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_in_between_is_a_conflict_that_keeps_what_was_typed() {
    for w in worlds().await {
        let mut a = signed(&w, "coord").await;
        let mut b = signed(&w, "admin").await;
        let form = format!("/cpts/{MINE}/identite");
        let va = version(&a.get(&form).await.body);
        let vb = version(&b.get(&form).await.body);
        assert_eq!(va, vb);
        let r = b.post(&form, &[("name", "CPTS Paris Dix-Huit"), ("version", &vb)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{} {}", w.engine, r.body);
        let before = audit_rows(&w.app).await;
        let r = a.post(&form, &[("name", "CPTS Paris 18e"), ("siret", ""), ("version", &va)]).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert!(r.body.contains("Enregistré entre-temps") && r.body.contains("CPTS Paris Dix-Huit"));
        assert!(r.body.contains("value=\"CPTS Paris 18e\""), "what was typed is kept");
        assert_eq!(audit_rows(&w.app).await, before);
        // Sent again as it stands, from the version now saved: it goes through.
        let v = version(&r.body);
        assert_ne!(v, va);
        let r = a.post(&form, &[("name", "CPTS Paris 18e"), ("version", &v)]).await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/cpts/cpts-paris-18?fait=identite"));
        assert!(a.get(r.location()).await.body.contains("<h1>CPTS Paris 18e</h1>"));
        // The membre may not edit: no link, and 403.
        let mut m = signed(&w, "membre").await;
        assert!(!m.get(&format!("/cpts/{MINE}")).await.body.contains("Modifier l&#39;identité"));
        assert_eq!(m.get(&form).await.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_records_structures_and_mandates() {
    for w in worlds().await {
        let page = format!("/cpts/{MINE}/membres");
        let mut coord = signed(&w, "coord").await;
        assert!(coord.get(&page).await.body.contains("Ajouter une structure"), "{}", w.engine);
        let before = audit_rows(&w.app).await;
        let bad = [("name", "MSP Marcadet"), ("kind", "Msp"), ("commune", "Atlantide"), ("joined", "01/09/2021")];
        let r = coord.post(&format!("{page}/structure"), &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("id=\"commune-err\"") && r.body.contains("value=\"MSP Marcadet\""));
        let ok = [("name", "MSP Marcadet"), ("kind", "Msp"), ("commune", "75118"), ("joined", "01/09/2021")];
        let r = coord.post(&format!("{page}/structure"), &ok).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = coord.post(&format!("{page}/mandat"), &[("office", "President"), ("person", "Dr Claire Durand"), ("from", "01/01/2021")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let body = coord.get(&page).await.body;
        assert!(body.contains("MSP Marcadet") && body.contains("Dr Claire Durand"));
        assert_eq!(audit_rows(&w.app).await, before + 2);
        // The CPAM agent reads, and may not write here.
        let mut cpam = signed(&w, "cpam").await;
        let body = cpam.get(&page).await.body;
        assert!(body.contains("MSP Marcadet") && !body.contains("Ajouter une structure"));
        assert_eq!(cpam.post(&format!("{page}/structure"), &ok).await.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_imported_from_a_file_checked_first_and_exported_back() {
    let csv = "Nom;Prénom;Profession;RPPS;Commune d'exercice;Date d'adhésion\n\
               Durand;Claire;médecin généraliste;;75118;01/09/2021\n\
               Martin;Paul;infirmier;;Paris 18e;15/09/2021\n";
    for w in worlds().await {
        let post = format!("/cpts/{MINE}/membres/fichier");
        let mut coord = signed(&w, "coord").await;
        assert!(coord.get(&format!("/cpts/{MINE}/membres")).await.body.contains("Importer la liste"));
        let before = audit_rows(&w.app).await;
        // Checked only: the plan, nothing written.
        let r = coord.upload(&post, "membres.csv", csv.as_bytes(), &[("mode", "ajout"), ("verifier", "1")]).await;
        assert_eq!(r.status, StatusCode::OK, "{} {}", w.engine, r.body);
        assert!(r.body.contains("rien n&#39;a été enregistré : 2 ajout(s)") && r.body.contains("Claire Durand"), "{}", r.body);
        assert_eq!(audit_rows(&w.app).await, before);
        // A bad line: every bad cell named, nothing written.
        let bad = format!("{csv}Petit;Léa;astronaute;;75118;32/13/2021\n");
        let r = coord.upload(&post, "membres.csv", bad.as_bytes(), &[("mode", "ajout")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("ligne 4") && r.body.contains("id=\"fichier-err\""), "{}", r.body);
        assert_eq!(audit_rows(&w.app).await, before);
        // Imported.
        let r = coord.upload(&post, "membres.csv", csv.as_bytes(), &[("mode", "ajout")]).await;
        assert!(r.body.contains("Import enregistré : 2 ajout(s)"), "{}", r.body);
        assert!(audit_rows(&w.app).await > before);
        // The export reads back: the same file again adds nothing.
        let export = coord.get(&format!("/cpts/{MINE}/membres/liste/membres.csv")).await;
        assert_eq!(export.status, StatusCode::OK);
        assert!(export.headers.get("content-disposition").unwrap().to_str().unwrap().contains("membres-cpts-paris-18.csv"));
        assert!(export.body.contains("Durand;Claire"));
        let r = coord.upload(&post, "export.csv", export.body.as_bytes(), &[("mode", "ajout")]).await;
        assert!(r.body.contains("0 ajout(s), 0 correction(s), 0 départ(s), 2 ligne(s) inchangée(s)"), "{}", r.body);
        let xlsx = coord.get(&format!("/cpts/{MINE}/membres/liste/membres.xlsx")).await;
        assert_eq!(xlsx.status, StatusCode::OK);
        // One leaves, one was entered by mistake, one is corrected: each kept in the history.
        let page = format!("/cpts/{MINE}/membres");
        coord.get(&page).await;
        let r = coord.post(&format!("{page}/depart"), &[("seq", "1"), ("until", "31/12/2021")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = coord.post(&format!("{page}/correction"), &[("seq", "1"), ("rpps", "10000000009")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = coord.post(&format!("{page}/depart"), &[("seq", "2"), ("until", "31/02/2021")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("id=\"left-2-err\""));
        let r = coord.post(&format!("{page}/retrait"), &[("seq", "2")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let body = coord.get(&page).await.body;
        assert!(body.contains("31/12/2021") && body.contains("10000000009") && !body.contains("Martin"), "{body}");
        assert_eq!(w.app.member_history(&cpts_app::testkit::admin(), &MINE.parse().unwrap()).await.unwrap().len(), 3);
        // The CPAM agent reads the list, and may not import.
        let mut cpam = signed(&w, "cpam").await;
        cpam.get("/").await;
        assert_eq!(cpam.upload(&post, "membres.csv", csv.as_bytes(), &[("mode", "ajout")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(cpam.get(&format!("/cpts/{MINE}/membres/liste/membres.csv")).await.status, StatusCode::OK);
        assert_eq!(cpam.post(&format!("{page}/retrait"), &[("seq", "1")]).await.status, StatusCode::FORBIDDEN);
        // The statutes checked, on the lifecycle page.
        let r = coord.post(&format!("/cpts/{MINE}/cycle/statuts"), &[("on", "02/11/2020"), ("document", "statuts 2020")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(coord.get(r.location()).await.body.contains("Statuts vérifiés le 02/11/2020 (statuts 2020)"));
    }
}
