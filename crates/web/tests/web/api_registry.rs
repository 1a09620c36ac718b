//! The registry, members, lifecycle, alerts, audit and dashboard over the JSON API: each
//! endpoint's happy path with real values, the scope (out of scope is « introuvable » like an
//! unknown CPTS, in scope but not allowed is 403), a write's audit row, the one error shape
//! with its field or line errors, and the optimistic versions (a stale one is a 409).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;

struct Api {
    router: axum::Router,
    token: String,
}

struct Raw {
    status: StatusCode,
    content_type: String,
    bytes: Vec<u8>,
}

impl Api {
    async fn of(w: &World, login: &str) -> Api {
        let p = w.app.principal(login, "test").await.unwrap();
        let t = w.app.create_token(&p, "tests").await.unwrap();
        Api { router: w.router.clone(), token: t.secret }
    }

    async fn raw(&self, method: &str, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Raw {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "cpts.test")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        let res = self.router.clone().oneshot(b.body(Body::from(body)).unwrap()).await.unwrap();
        let status = res.status();
        let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let bytes = axum::body::to_bytes(res.into_body(), 64 << 20).await.unwrap().to_vec();
        Raw { status, content_type, bytes }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let r = match body {
            Some(v) => self.raw(method, path, Some("application/json"), v.to_string().into_bytes()).await,
            None => self.raw(method, path, None, Vec::new()).await,
        };
        if r.status == StatusCode::NO_CONTENT {
            return (r.status, Value::Null);
        }
        assert!(r.content_type.starts_with("application/json"), "{method} {path}: {} answered {}: {}", r.status, r.content_type, String::from_utf8_lossy(&r.bytes));
        (r.status, serde_json::from_slice(&r.bytes).unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, None).await
    }

    async fn send(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(method, path, Some(body)).await
    }
}

/// An error answer has the one shape: status repeated, a code, a message, the errors.
fn error_shape(status: StatusCode, v: &Value, code: &str) {
    assert_eq!(v["status"], json!(status.as_u16()), "{v}");
    assert_eq!(v["code"], json!(code), "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(v["errors"].is_array(), "{v}");
}

fn fields(v: &Value) -> Vec<&str> {
    v["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect()
}

/// The audit rows of a CPTS, newest first, as the national admin reads them.
async fn last_action(w: &World, id: &str) -> (String, String) {
    let q = cpts_app::audit::AuditQuery { cpts: Some(id.parse().unwrap()), limit: Some(1), ..Default::default() };
    let rows = w.app.audit(&cpts_app::testkit::admin(), &q).await.unwrap();
    (rows[0].login.clone(), rows[0].action.clone())
}

#[tokio::test]
async fn a_cpts_is_created_its_identity_and_territory_edited_with_their_versions() {
    for w in worlds().await {
        let ars = Api::of(&w, "ars").await;
        let coord = Api::of(&w, "coord").await;
        let membre = Api::of(&w, "membre").await;
        let e = w.engine;

        // Created by the ARS of Île-de-France, seated in Paris 12e.
        let (s, v) = ars.send("POST", "/api/v1/cpts", json!({ "name": "CPTS Paris 12", "seat": "75112" })).await;
        assert_eq!(s, StatusCode::CREATED, "{e} {v}");
        assert_eq!((v["id"].as_str(), v["seat"].as_str(), v["legal_form"].as_str()), (Some("cpts-paris-12"), Some("75112"), Some("association loi 1901")));
        assert_eq!(last_action(&w, "cpts-paris-12").await, ("ars".to_owned(), "cpts.creation".to_owned()));
        let (s, v) = ars.send("POST", "/api/v1/cpts", json!({ "name": "CPTS Paris 12", "seat": "75112" })).await;
        error_shape(s, &v, "conflict");
        assert_eq!(s, StatusCode::CONFLICT);
        // A coordinator may not create; a wrong SIRET and seat are named by their fields.
        let (s, v) = coord.send("POST", "/api/v1/cpts", json!({ "name": "CPTS Nouvelle", "seat": "75118" })).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        error_shape(s, &v, "forbidden");
        let (s, v) = ars.send("POST", "/api/v1/cpts", json!({ "name": "CPTS Nouvelle", "siret": "123", "seat": "Atlantide" })).await;
        error_shape(s, &v, "invalid");
        assert_eq!(fields(&v), ["siret", "seat"], "{v}");
        let (s, v) = ars.send("POST", "/api/v1/cpts", json!({ "name": "CPTS Nouvelle", "couleur": "bleu" })).await;
        error_shape(s, &v, "bad_request");

        // The identity, from its version; the same version again is stale.
        let (_, one) = coord.get(&format!("/api/v1/cpts/{MINE}")).await;
        let version = one["version"].as_i64().unwrap();
        let (s, v) = coord.send("PATCH", &format!("/api/v1/cpts/{MINE}"), json!({ "version": version, "name": "CPTS Paris 18 Nord", "finess": "750000010" })).await;
        assert_eq!(s, StatusCode::OK, "{e} {v}");
        assert_eq!((v["name"].as_str(), v["version"].as_i64(), v["seat"].as_str()), (Some("CPTS Paris 18 Nord"), Some(version + 1), Some("75118")));
        assert_eq!(last_action(&w, MINE).await, ("coord".to_owned(), "cpts.identite".to_owned()));
        let (s, v) = coord.send("PUT", &format!("/api/v1/cpts/{MINE}"), json!({ "version": version, "name": "CPTS autre" })).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        error_shape(s, &v, "conflict");
        let (s, v) = coord.send("PUT", &format!("/api/v1/cpts/{MINE}"), json!({ "version": version + 1, "rna": "X" })).await;
        error_shape(s, &v, "invalid");
        assert_eq!(fields(&v), ["rna"]);
        // In scope but not allowed; out of scope like unknown.
        let (s, _) = membre.send("PATCH", &format!("/api/v1/cpts/{MINE}"), json!({ "version": version + 1, "name": "X" })).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s1, v) = coord.send("PATCH", &format!("/api/v1/cpts/{OTHER}"), json!({ "version": 1, "name": "X" })).await;
        let (s2, _) = coord.send("PATCH", "/api/v1/cpts/cpts-nulle-part", json!({ "version": 1, "name": "X" })).await;
        assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        error_shape(s1, &v, "not_found");

        // The territory of Paris 19 (ARS), extended onto Paris 18: the answer names the overlap.
        let (s, t) = ars.get(&format!("/api/v1/cpts/{NEW}/territory")).await;
        assert_eq!(s, StatusCode::OK, "{t}");
        assert_eq!(t["communes"][0]["code"], "75119");
        assert_eq!(t["summary"]["departements"], json!(["75"]));
        let tv = t["territory_version"].as_i64().unwrap();
        let (s, v) = ars.send("PUT", &format!("/api/v1/cpts/{NEW}/territory"), json!({ "territory_version": tv, "communes": ["75119", "Paris 18e Arrondissement"] })).await;
        assert_eq!(s, StatusCode::OK, "{e} {v}");
        assert_eq!(v["territory_version"], tv + 1);
        assert_eq!(v["communes"].as_array().unwrap().len(), 2);
        assert_eq!(v["overlaps"][0]["communes"], json!(["75118"]), "{v}");
        assert!(v["overlaps"][0]["population"].as_u64().unwrap() > 150_000, "{v}");
        assert_eq!(last_action(&w, NEW).await, ("ars".to_owned(), "cpts.territoire".to_owned()));
        let (s, v) = ars.send("PUT", &format!("/api/v1/cpts/{NEW}/territory"), json!({ "territory_version": tv, "communes": ["75119"] })).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        let (s, v) = ars.send("PUT", &format!("/api/v1/cpts/{NEW}/territory"), json!({ "territory_version": tv + 1, "communes": ["Atlantide"] })).await;
        error_shape(s, &v, "invalid");
        assert!(!fields(&v).is_empty() && fields(&v).iter().all(|f| *f == "communes"), "{v}");
        let (s, _) = coord.get(&format!("/api/v1/cpts/{NEW}/territory")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = membre.send("PUT", &format!("/api/v1/cpts/{MINE}/territory"), json!({ "territory_version": 1, "communes": ["75118"] })).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The overlaps of the scope; the communes search.
        let (s, o) = Api::of(&w, "cpam").await.get("/api/v1/overlaps").await;
        assert_eq!(s, StatusCode::OK, "{o}");
        assert_eq!(o["total"], 1, "{o}");
        assert_eq!((o["items"][0]["a"].as_str(), o["items"][0]["b"].as_str()), (Some(MINE), Some(NEW)));
        let (s, c) = coord.get("/api/v1/communes?q=brest").await;
        assert_eq!(s, StatusCode::OK);
        assert!(c.as_array().unwrap().iter().any(|c| c["code"] == "29019" && c["population"].as_u64().unwrap() > 100_000), "{c}");
        let (s, v) = coord.get("/api/v1/communes").await;
        error_shape(s, &v, "bad_request");
    }
}

const CSV: &str = "Nom;Prénom;Profession;RPPS;Commune d'exercice;Date d'adhésion\n\
                   Durand;Claire;médecin généraliste;;75118;01/09/2021\n\
                   Martin;Paul;infirmier;;Paris 18e;15/09/2021\n";

#[tokio::test]
async fn members_are_imported_as_rows_or_a_file_planned_first_then_left_corrected_removed_and_exported() {
    for w in worlds().await {
        let coord = Api::of(&w, "coord").await;
        let cpam = Api::of(&w, "cpam").await;
        let e = w.engine;
        let import = format!("/api/v1/cpts/{MINE}/members/import");
        let rows = json!({ "rows": [
            { "last_name": "Durand", "first_name": "Claire", "profession": "médecin généraliste", "commune": "75118", "joined": "01/09/2021" },
            { "last_name": "Martin", "first_name": "Paul", "profession": "infirmier", "commune": "Paris 18e", "joined": "2021-09-15" },
        ] });
        // The plan only: nothing written.
        let before = audit_rows(&w.app).await;
        let (s, v) = coord.send("POST", &format!("{import}?dry_run=true"), rows.clone()).await;
        assert_eq!(s, StatusCode::OK, "{e} {v}");
        assert_eq!((v["applied"].as_bool(), v["added"].as_array().unwrap().len(), v["mode"].as_str()), (Some(false), 2, Some("ajout")));
        assert_eq!(v["added"][1]["member"]["commune"], "75118");
        assert_eq!(audit_rows(&w.app).await, before);
        // Bad rows: every bad cell by row and field, nothing written.
        let bad = json!({ "rows": [
            { "last_name": "Petit", "first_name": "Léa", "profession": "astronaute", "commune": "75118", "joined": "32/13/2021" },
        ] });
        let (s, v) = coord.send("POST", &import, bad).await;
        error_shape(s, &v, "invalid");
        let errs = v["errors"].as_array().unwrap();
        assert!(errs.iter().any(|e| e["field"] == "profession" && e["line"] == 1), "{v}");
        assert!(errs.iter().any(|e| e["field"] == "joined" && e["line"] == 1), "{v}");
        assert_eq!(audit_rows(&w.app).await, before);
        // Imported; the list has them.
        let (s, v) = coord.send("POST", &import, rows).await;
        assert_eq!((s, v["applied"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
        assert_eq!(last_action(&w, MINE).await, ("coord".to_owned(), "membres".to_owned()));
        let (s, list) = cpam.get(&format!("/api/v1/cpts/{MINE}/members")).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list["total"], 2);
        assert_eq!((list["items"][0]["seq"].as_i64(), list["items"][0]["last_name"].as_str()), (Some(1), Some("Durand")));
        assert_eq!(list["items"][0]["profession_label"], "médecin généraliste");
        assert_eq!(list["items"][0]["joined"], "2021-09-01");

        // The same file as CSV, in replacement without Martin: Martin leaves on the day given.
        let file = "Nom;Prénom;Profession;RPPS;Commune d'exercice;Date d'adhésion\nDurand;Claire;médecin généraliste;;75118;01/09/2021\n";
        let r = coord.raw("POST", &format!("{import}?mode=remplacement&left_on=2021-10-01&dry_run=true"), Some("text/csv"), file.as_bytes().to_vec()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
        let v: Value = serde_json::from_slice(&r.bytes).unwrap();
        assert_eq!((v["unchanged"].as_u64(), v["ended"][0]["seq"].as_i64(), v["ended"][0]["after"]["left"].as_str()), (Some(1), Some(2), Some("2021-10-01")), "{v}");
        // A bad file: its line named.
        let r = coord.raw("POST", &import, Some("text/csv"), format!("{CSV}Petit;Léa;astronaute;;75118;01/09/2021\n").into_bytes()).await;
        let v: Value = serde_json::from_slice(&r.bytes).unwrap();
        error_shape(r.status, &v, "invalid");
        assert_eq!(v["errors"][0]["line"], 4, "{v}");
        let r = coord.raw("POST", &format!("{import}?mode=tout"), Some("text/csv"), CSV.as_bytes().to_vec()).await;
        let v: Value = serde_json::from_slice(&r.bytes).unwrap();
        assert_eq!(fields(&v), ["mode"]);
        // The CPAM reads and may not import; out of scope is unknown.
        let r = cpam.raw("POST", &import, Some("text/csv"), CSV.as_bytes().to_vec()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let (s, _) = coord.get(&format!("/api/v1/cpts/{OTHER}/members")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The export, read back: the same file again changes nothing.
        let r = coord.raw("GET", &format!("/api/v1/cpts/{MINE}/members/export"), None, Vec::new()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.content_type.starts_with("text/csv"), "{}", r.content_type);
        assert!(String::from_utf8_lossy(&r.bytes).contains("Durand;Claire"));
        let again = coord.raw("POST", &import, Some("text/csv"), r.bytes.clone()).await;
        let v: Value = serde_json::from_slice(&again.bytes).unwrap();
        assert_eq!((v["added"].as_array().unwrap().len(), v["unchanged"].as_u64()), (0, Some(2)), "{v}");
        let x = cpam.raw("GET", &format!("/api/v1/cpts/{MINE}/members/export?format=xlsx"), None, Vec::new()).await;
        assert_eq!(x.status, StatusCode::OK);
        assert!(x.bytes.starts_with(b"PK"));
        // The workbook imports too (as the page's file).
        let r = coord.raw("POST", &format!("{import}?dry_run=true"), Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), x.bytes).await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));

        // One leaves, one is corrected, one removed: each kept in the history.
        let m = format!("/api/v1/cpts/{MINE}/members");
        let (s, v) = coord.send("POST", &format!("{m}/1/leave"), json!({ "on": "2021-10-15" })).await;
        assert_eq!((s, v["member"]["left"].as_str()), (StatusCode::OK, Some("2021-10-15")), "{v}");
        let (s, v) = coord.send("POST", &format!("{m}/1/leave"), json!({ "on": "31/02/2021" })).await;
        error_shape(s, &v, "invalid");
        assert_eq!(fields(&v), ["on"]);
        let (s, v) = coord.send("PATCH", &format!("{m}/1"), json!({ "rpps": "10000000009" })).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!((v["fields"].clone(), v["member"]["rpps"].as_str()), (json!(["RPPS"]), Some("10000000009")));
        let (s, v) = coord.send("PATCH", &format!("{m}/1"), json!({ "rpps": "10000000003", "joined": "hier" })).await;
        error_shape(s, &v, "invalid");
        assert_eq!(fields(&v), ["rpps", "joined"]);
        let (s, v) = coord.call("DELETE", &format!("{m}/2"), None).await;
        assert_eq!((s, v["member"]["last_name"].as_str()), (StatusCode::OK, Some("Martin")), "{v}");
        let (s, _) = cpam.call("DELETE", &format!("{m}/1"), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (_, list) = coord.get(&format!("{m}?status=current")).await;
        assert_eq!(list["total"], 0, "{list}");
        let (_, list) = coord.get(&format!("{m}?status=former")).await;
        assert_eq!(list["total"], 1, "{list}");
        let (s, v) = coord.get(&format!("{m}?status=tous")).await;
        error_shape(s, &v, "invalid");
        let (s, h) = coord.get(&format!("{m}/1/history")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h.as_array().unwrap().len(), 2, "{h}");
        assert_eq!((h[0]["removed"].as_bool(), h[0]["before"]["left"].clone()), (Some(false), Value::Null), "{h}");
        let (_, h) = coord.get(&format!("{m}/2/history")).await;
        assert_eq!(h[0]["removed"], true, "{h}");
        let (s, v) = coord.get(&format!("{m}/abc/history")).await;
        error_shape(s, &v, "bad_request");
    }
}

#[tokio::test]
async fn structures_mandates_statutes_and_the_lifecycle_with_the_parties_the_caller_may_act_for() {
    for w in worlds().await {
        let coord = Api::of(&w, "coord").await;
        let ars = Api::of(&w, "ars").await;
        let admin = Api::of(&w, "admin").await;
        let e = w.engine;
        let base = format!("/api/v1/cpts/{MINE}");

        let (s, v) = coord.send("POST", &format!("{base}/structures"), json!({ "name": "MSP Marcadet", "kind": "msp", "commune": "75118", "joined": "2021-09-01" })).await;
        assert_eq!(s, StatusCode::CREATED, "{e} {v}");
        assert_eq!((v["seq"].as_i64(), v["commune_name"].as_str()), (Some(1), Some("Paris 18e Arrondissement")));
        let (s, v) = coord.send("POST", &format!("{base}/structures"), json!({ "name": "X", "kind": "fusée", "commune": "Atlantide", "joined": "1er mai" })).await;
        error_shape(s, &v, "invalid");
        assert_eq!(fields(&v), ["kind", "commune", "joined"]);
        let (s, _) = ars.send("POST", &format!("{base}/structures"), json!({ "name": "MSP", "kind": "msp", "commune": "75118", "joined": "2021-09-01" })).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = ars.get(&format!("{base}/structures")).await;
        assert_eq!((s, v[0]["name"].as_str()), (StatusCode::OK, Some("MSP Marcadet")));

        let (s, v) = coord.send("POST", &format!("{base}/mandates"), json!({ "office": "président", "person": "Dr Claire Durand", "from": "2021-06-01" })).await;
        assert_eq!(s, StatusCode::CREATED, "{e} {v}");
        assert_eq!((v["active"].as_bool(), v["office"].as_str()), (Some(true), Some("President")), "{v}");
        let (s, v) = coord.send("POST", &format!("{base}/mandates"), json!({ "office": "présidente", "person": "Dr Autre", "from": "2021-07-01" })).await;
        error_shape(s, &v, "refused");
        let (s, v) = coord.send("POST", &format!("{base}/mandates/1/end"), json!({ "until": "2021-09-30" })).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (_, v) = coord.get(&format!("{base}/mandates?on=2021-08-01")).await;
        assert_eq!((v["mandates"][0]["active"].as_bool(), v["mandates"][0]["until"].as_str()), (Some(true), Some("2021-09-30")), "{v}");
        let (_, v) = coord.get(&format!("{base}/mandates")).await;
        assert_eq!(v["mandates"][0]["active"], false);
        assert_eq!(last_action(&w, MINE).await, ("coord".to_owned(), "gouvernance".to_owned()));

        let (s, v) = coord.send("PUT", &format!("{base}/statutes"), json!({ "checked_on": "2020-11-02", "document": "statuts 2020" })).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (s, v) = coord.send("PUT", &format!("{base}/statutes"), json!({ "checked_on": "2030-01-01" })).await;
        error_shape(s, &v, "invalid");
        let (s, _) = ars.send("PUT", &format!("{base}/statutes"), json!({ "checked_on": "2020-11-02" })).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The lifecycle: signed; what may follow; the parties each caller may act for.
        let (s, life) = coord.get(&format!("{base}/lifecycle")).await;
        assert_eq!(s, StatusCode::OK, "{life}");
        assert_eq!((life["stage"].as_str(), life["statutes"]["document"].as_str()), (Some("contrat-signe"), Some("statuts 2020")), "{life}");
        assert_eq!(life["history"].as_array().unwrap().len(), 7);
        assert_eq!(life["may_act_as"], json!(["cpts"]));
        assert!(life["next"].as_array().unwrap().iter().any(|n| n["step"] == "resilier" && n["recordable"] == false), "{life}");
        let (_, life) = ars.get(&format!("/api/v1/cpts/{NEW}/lifecycle")).await;
        assert_eq!((life["stage"].clone(), life["may_act_as"].clone()), (Value::Null, json!(["ars"])), "{life}");
        assert_eq!(life["next"][0]["step"], "declarer");
        // Recorded as the CPTS by the national admin; the ARS may not act as the CPTS.
        let step = json!({ "step": "declarer", "actor": "cpts", "on": "2021-10-01", "by": "porteurs du projet" });
        let (s, _) = ars.send("POST", &format!("/api/v1/cpts/{NEW}/lifecycle/steps"), step.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = admin.send("POST", &format!("/api/v1/cpts/{NEW}/lifecycle/steps"), step).await;
        assert_eq!(s, StatusCode::CREATED, "{e} {v}");
        assert_eq!((v["stage"].as_str(), v["event"]["by"].as_str()), (Some("interet"), Some("porteurs du projet")), "{v}");
        assert_eq!(last_action(&w, NEW).await.0, "admin");
        // Refused by the rules, said in the one shape; a wrong step or date named by its field.
        let (s, v) = ars.send("POST", &format!("/api/v1/cpts/{NEW}/lifecycle/steps"), json!({ "step": "valider-projet", "actor": "ars", "on": "2021-10-02" })).await;
        error_shape(s, &v, "refused");
        let (s, v) = ars.send("POST", &format!("/api/v1/cpts/{NEW}/lifecycle/steps"), json!({ "step": "danser", "actor": "ars", "on": "2021-10-02" })).await;
        assert_eq!(fields(&v), ["step"]);
        error_shape(s, &v, "invalid");
        let (s, v) = ars.send("POST", &format!("/api/v1/cpts/{NEW}/lifecycle/steps"), json!({ "step": "formaliser", "actor": "cpts", "on": "demain" })).await;
        assert_eq!((s, fields(&v)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["on"]));
        let (s, _) = coord.get(&format!("/api/v1/cpts/{OTHER}/lifecycle")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn alerts_audit_and_dashboard_follow_the_scope_with_the_pages_filters() {
    for w in worlds().await {
        let cpam = Api::of(&w, "cpam").await;
        let coord = Api::of(&w, "coord").await;
        let membre = Api::of(&w, "membre").await;
        let admin = Api::of(&w, "admin").await;
        let e = w.engine;

        // Alerts: the scope's, filtered by urgency and text as on /alertes.
        let (s, all) = cpam.get("/api/v1/alerts?per_page=500").await;
        assert_eq!(s, StatusCode::OK, "{e} {all}");
        let total = all["total"].as_u64().unwrap();
        assert!(total > 0, "{all}");
        let items = all["items"].as_array().unwrap();
        assert!(items.iter().all(|a| a["cpts"] != OTHER), "{all}");
        let late = items.iter().filter(|a| a["urgency"] == "retard").count();
        let (_, only) = cpam.get("/api/v1/alerts?urgency=retard&per_page=500").await;
        assert_eq!(only["total"].as_u64(), Some(u64::try_from(late).unwrap()), "{only}");
        assert!(only["items"].as_array().unwrap().iter().all(|a| a["urgency_label"] == "en retard"));
        let (_, mine) = cpam.get(&format!("/api/v1/alerts?q={MINE}&per_page=500")).await;
        let (_, one) = cpam.get(&format!("/api/v1/cpts/{MINE}/alerts?per_page=500")).await;
        assert_eq!(mine["total"], one["total"], "{one}");
        assert!(one["items"].as_array().unwrap().iter().all(|a| a["cpts"] == MINE));
        let (s, v) = cpam.get("/api/v1/alerts?urgency=bientot").await;
        error_shape(s, &v, "invalid");
        assert_eq!(fields(&v), ["urgency"]);
        let (s, _) = cpam.get(&format!("/api/v1/cpts/{OTHER}/alerts")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The audit log: the coordinator sees their CPTS's rows only; a member none (403).
        let (s, log) = coord.get("/api/v1/audit?per_page=500").await;
        assert_eq!(s, StatusCode::OK, "{log}");
        assert!(log["total"].as_u64().unwrap() > 0);
        assert!(log["items"].as_array().unwrap().iter().all(|r| r["cpts"] == MINE), "{log}");
        assert!(log["items"][0]["after"].is_object() || log["items"][0]["after"].is_null(), "{log}");
        let (s, v) = membre.get("/api/v1/audit").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        error_shape(s, &v, "forbidden");
        let (s, _) = coord.get(&format!("/api/v1/cpts/{OTHER}/audit")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = membre.get(&format!("/api/v1/cpts/{MINE}/audit")).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Nationally, page by page, newest first, with the whole count.
        let (_, p1) = admin.get("/api/v1/audit?per_page=2").await;
        let (_, p2) = admin.get("/api/v1/audit?per_page=2&page=2").await;
        assert_eq!(p1["total"], p2["total"]);
        assert_eq!(p1["total"].as_u64(), Some(u64::try_from(audit_rows(&w.app).await).unwrap()));
        assert!(p1["items"][1]["id"].as_i64() > p2["items"][0]["id"].as_i64(), "{p1} {p2}");
        let (_, by) = admin.get(&format!("/api/v1/cpts/{OTHER}/audit?login=admin-national-test&since=2021-10-25")).await;
        assert!(by["total"].as_u64().unwrap() > 0, "{by}");
        assert!(by["items"].as_array().unwrap().iter().all(|r| r["cpts"] == OTHER && r["login"] == "admin-national-test"));
        let (s, v) = admin.get("/api/v1/audit?since=25/10/2021").await;
        assert_eq!(fields(&v), ["since"]);
        error_shape(s, &v, "invalid");

        // The dashboard's figures: the CPAM of Paris, three CPTS, one département.
        let (s, d) = cpam.get("/api/v1/dashboard").await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert_eq!((d["cpts"].as_u64(), d["departements"][0]["code"].as_str()), (Some(3), Some("75")), "{d}");
        assert_eq!(d["departements"].as_array().unwrap().len(), 1);
        assert!(d["covered"].as_u64().unwrap() > 0 && d["covered"].as_u64() < d["population"].as_u64());
        assert!(d["stages"].as_array().unwrap().iter().any(|st| st["stage"] == "signe" && st["cpts"] == 1), "{d}");
        assert!(d["planned_cents"].as_i64().unwrap() > 0);
        let by_source: i64 = d["money"].as_array().unwrap().iter().map(|m| m["planned_cents"].as_i64().unwrap()).sum();
        assert_eq!(by_source, d["planned_cents"].as_i64().unwrap());
        let counted = d["alerts"]["late"].as_u64().unwrap() + d["alerts"]["soon"].as_u64().unwrap() + d["alerts"]["todo"].as_u64().unwrap();
        assert_eq!(counted, total);
        let (_, national) = admin.get("/api/v1/dashboard?on=2021-10-25").await;
        assert_eq!(national["cpts"], 4);
        assert!(national["departements"].as_array().unwrap().len() > 90);
        let (s, v) = admin.get("/api/v1/dashboard?on=hier").await;
        error_shape(s, &v, "invalid");
    }
}
