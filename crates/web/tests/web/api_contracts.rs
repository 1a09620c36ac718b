//! The JSON API over contracts, the ledger, indicator values and activity reports: each
//! endpoint's happy path with the golden contract's figures, the scope (out of scope = not
//! found, in scope but not allowed = forbidden), the audit row of a write, and the error shape.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cpts_app::audit::AuditQuery;
use cpts_app::testkit::{GOLDEN_ANNEX, admin};
use cpts_app::{Action, Clock};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;

struct Api {
    router: axum::Router,
    token: String,
}

struct Raw {
    status: StatusCode,
    kind: String,
    bytes: Vec<u8>,
}

impl Api {
    async fn of(w: &World, login: &str) -> Api {
        let p = w.app.principal(login, "test").await.unwrap();
        let t = w.app.create_token(&p, "tests").await.unwrap();
        Api { router: w.router.clone(), token: t.secret }
    }

    async fn raw(&self, method: &str, path: &str, kind: &str, body: Vec<u8>) -> Raw {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "cpts.test")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, kind)
            .body(Body::from(body))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let kind = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        Raw { status, kind, bytes: axum::body::to_bytes(res.into_body(), 64 << 20).await.unwrap().to_vec() }
    }

    async fn call(&self, method: &str, path: &str, kind: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let r = self.raw(method, path, kind, body).await;
        assert!(r.kind.starts_with("application/json"), "{method} {path}: {} answered {}: {}", r.status, r.kind, String::from_utf8_lossy(&r.bytes));
        (r.status, serde_json::from_slice(&r.bytes).unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, "application/json", vec![]).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, "application/json", body.to_string().into_bytes()).await
    }
}

fn error_shape(status: StatusCode, v: &Value, code: &str) {
    assert_eq!(v["status"], json!(status.as_u16()), "{v}");
    assert_eq!(v["code"], json!(code), "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(v["errors"].is_array(), "{v}");
}

/// The audit rows of an action by a login on a CPTS.
async fn audited(w: &World, login: &str, action: Action, cpts: &str) -> usize {
    let q = AuditQuery { limit: Some(10_000), ..Default::default() };
    let log = w.app.audit(&admin(), &q).await.unwrap();
    log.iter().filter(|e| e.login == login && e.action == action.code() && e.cpts.as_deref() == Some(cpts)).count()
}

#[tokio::test]
async fn contracts_are_read_signed_amended_progressed_and_terminated_over_the_api() {
    for w in worlds().await {
        let e = w.engine;
        let (cpam, coord) = (Api::of(&w, "cpam").await, Api::of(&w, "coord").await);
        let (s, list) = coord.get(&format!("/api/v1/cpts/{MINE}/contracts")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {list}");
        assert_eq!((list[0]["seq"].as_i64(), list[0]["signed"].as_str()), (Some(1), Some("2021-01-01")), "[{e}] {list}");

        // The golden annex: access mission 20 000 € fixed, 10 000 € variable on two objectives.
        let (s, c) = coord.get(&format!("/api/v1/cpts/{MINE}/contract?on=2021-10-25")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {c}");
        assert_eq!((c["year"].as_u64(), c["population"].as_u64()), (Some(1), Some(38_000)), "[{e}] {c}");
        let access = c["missions"].as_array().unwrap().iter().find(|m| m["code"] == "acces_soins").unwrap();
        assert_eq!((access["envelopes"]["fixed_cents"].as_i64(), access["envelopes"]["variable_cents"].as_i64()), (Some(2_000_000), Some(1_000_000)), "[{e}] {access}");
        assert_eq!(access["objectives"][0]["weight_nano"], 600_000_000);
        assert_eq!(access["objectives"][1]["targets"][0], "80");

        let (s, cal) = coord.get(&format!("/api/v1/cpts/{MINE}/contract/calendar?on=2021-10-25")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {cal}");
        let m = cal["missions"].as_array().unwrap().iter().find(|m| m["code"] == "acces_soins").unwrap().clone();
        assert_eq!((m["started"].as_str(), m["status"].as_str()), (Some("2021-01-01"), Some("started")), "[{e}] {m}");

        // The coordinator records a deployment; the CPAM may not (in scope: forbidden).
        let deploy = format!("/api/v1/cpts/{MINE}/contract/missions/acces_soins/deploy");
        let (s, v) = cpam.post(&deploy, json!({ "on": "2021-09-01" })).await;
        error_shape(s, &v, "forbidden");
        let (s, v) = coord.post(&deploy, json!({ "on": "2021-09-01" })).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {v}");
        let (_, cal) = coord.get(&format!("/api/v1/cpts/{MINE}/contract/calendar")).await;
        let m = cal["missions"].as_array().unwrap().iter().find(|m| m["code"] == "acces_soins").unwrap().clone();
        assert_eq!((m["deployed"].as_str(), m["status"].as_str()), (Some("2021-09-01"), Some("deployed")), "[{e}] {m}");
        assert_eq!(audited(&w, "coord", Action::MissionProgress, MINE).await, 1, "[{e}]");
        let (s, v) = coord.post(&format!("/api/v1/cpts/{MINE}/contract/missions/acces_soins/fly"), json!({ "on": "2021-09-01" })).await;
        error_shape(s, &v, "not_found");

        // Out of scope and unknown: the same 404.
        let (s1, _) = cpam.get(&format!("/api/v1/cpts/{OTHER}/contract")).await;
        let (s2, v) = cpam.get("/api/v1/cpts/cpts-nulle-part/contracts").await;
        assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND), "[{e}]");
        error_shape(s2, &v, "not_found");

        // Signature of READY by the CPAM, the annex as a JSON object; the coordinator may not sign.
        let annex: Value = yaml_serde::from_str(GOLDEN_ANNEX).unwrap();
        let sign = json!({ "annex": annex, "on": "2021-01-01", "by": "Directrice de la CPAM" });
        let (s, v) = coord.post(&format!("/api/v1/cpts/{MINE}/contract"), sign.clone()).await;
        error_shape(s, &v, "forbidden");
        let bad = json!({ "annex": "signed: 2021-01-01\nmissions: 12\n", "on": "2021-01-01", "by": "CPAM" });
        let (s, v) = cpam.post(&format!("/api/v1/cpts/{READY}/contract"), bad).await;
        error_shape(s, &v, "invalid");
        assert!(!v["errors"].as_array().unwrap().is_empty(), "[{e}] {v}");
        let (s, v) = cpam.post(&format!("/api/v1/cpts/{READY}/contract"), json!({ "annex": "x", "on": "2021-01-01", "by": "CPAM", "extra": 1 })).await;
        error_shape(s, &v, "bad_request");
        let (s, signed) = cpam.post(&format!("/api/v1/cpts/{READY}/contract"), sign).await;
        assert_eq!(s, StatusCode::CREATED, "[{e}] {signed}");
        assert_eq!(signed["seq"], 1);
        assert!(signed["lines"].as_u64().unwrap() > 0 && signed["total_cents"].as_i64().unwrap() > 0, "[{e}] {signed}");
        assert_eq!(audited(&w, "cpam", Action::SignContract, READY).await, 1, "[{e}]");

        // An amendment, then the termination, by the CPAM.
        let (s, v) = cpam.post(&format!("/api/v1/cpts/{READY}/contract/amendments"), json!({ "amendment": "effective: 2021-07-01\npopulation: 39000\nreason: extension\n" })).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {v}");
        let (_, c) = cpam.get(&format!("/api/v1/cpts/{READY}/contract")).await;
        assert_eq!(c["amendments"].as_array().unwrap().len(), 1, "[{e}] {c}");
        let (s, v) = cpam.post(&format!("/api/v1/cpts/{READY}/contract/termination"), json!({ "on": "2021-10-01", "reason": "dissolution", "by": "CPAM" })).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {v}");
        assert!(!v["summary"].as_str().unwrap().is_empty());
        let (_, list) = cpam.get(&format!("/api/v1/cpts/{READY}/contracts")).await;
        assert_eq!(list[0]["terminated"], "2021-10-01", "[{e}] {list}");
        assert_eq!(audited(&w, "cpam", Action::TerminateContract, READY).await, 1, "[{e}]");
        // Terminated: no second termination (refused by the rules, reasons said).
        let (s, v) = cpam.post(&format!("/api/v1/cpts/{READY}/contract/termination"), json!({ "on": "2021-10-02", "reason": "encore", "by": "CPAM" })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "[{e}] {v}");
    }
}

#[tokio::test]
async fn the_ledger_explains_its_lines_and_takes_payments_and_conventions_over_the_api() {
    for w in worlds().await {
        let e = w.engine;
        let (cpam, coord, ars) = (Api::of(&w, "cpam").await, Api::of(&w, "coord").await, Api::of(&w, "ars").await);
        let (s, book) = cpam.get(&format!("/api/v1/cpts/{MINE}/ledger")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {book}");
        let aci = &book["funders"][0];
        assert!(aci["planned_cents"].as_i64().unwrap() > 0 && aci["due_lines"].as_u64().unwrap() > 0, "[{e}] {book}");

        // Year 1's balances wait for their report.
        let (s, planned) = cpam.get(&format!("/api/v1/cpts/{MINE}/ledger/lines?status=planned&per_page=500")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {planned}");
        let held: Vec<&Value> = planned["items"].as_array().unwrap().iter().filter(|l| l["held_by"]["year"] == 1).collect();
        assert!(!held.is_empty() && held.iter().all(|l| l["kind"] == "balance"), "[{e}] {planned}");
        assert!(held[0]["waiting_for"].as_str().unwrap().contains("rapport"), "[{e}] {}", held[0]);
        let (s, bad) = cpam.get(&format!("/api/v1/cpts/{MINE}/ledger/lines?status=vert")).await;
        error_shape(s, &bad, "invalid");
        assert_eq!(bad["errors"][0]["field"], "status");

        let (_, due) = cpam.get(&format!("/api/v1/cpts/{MINE}/ledger/lines?status=due")).await;
        let line = due["items"][0].clone();
        let n = line["line"].as_i64().unwrap();
        let (s, one) = cpam.get(&format!("/api/v1/cpts/{MINE}/ledger/lines/{n}")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {one}");
        assert!(one["explanation"].as_str().unwrap().len() > 20, "[{e}] {one}");
        assert_eq!(one["amount_cents"], line["amount_cents"]);

        // The CPAM pays it (the default amount: what remains); the coordinator may not.
        let pay = json!({ "line": n, "on": "2021-10-25", "by": "CPAM de Paris", "reference": "VIR-2021-1" });
        let (s, v) = coord.post(&format!("/api/v1/cpts/{MINE}/ledger/payments"), pay.clone()).await;
        error_shape(s, &v, "forbidden");
        let (s, paid) = cpam.post(&format!("/api/v1/cpts/{MINE}/ledger/payments"), pay.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "[{e}] {paid}");
        assert_eq!(paid["payment"]["amount_cents"], line["remaining_cents"], "[{e}] {paid}");
        let (_, one) = cpam.get(&format!("/api/v1/cpts/{MINE}/ledger/lines/{n}")).await;
        assert_eq!((one["status"].as_str(), one["payments"][0]["reference"].as_str()), (Some("paid"), Some("VIR-2021-1")), "[{e}] {one}");
        assert_eq!(audited(&w, "cpam", Action::PayAci, MINE).await, 1, "[{e}]");
        let (s, v) = cpam.post(&format!("/api/v1/cpts/{MINE}/ledger/payments"), pay).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "[{e}] {v}");
        let (s, v) = cpam.post(&format!("/api/v1/cpts/{MINE}/ledger/payments"), json!({ "line": 999_999, "on": "2021-10-25", "by": "CPAM" })).await;
        error_shape(s, &v, "not_found");
        let (s, _) = cpam.get(&format!("/api/v1/cpts/{OTHER}/ledger")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // An ARS convention: added by the ARS (not by the coordinator), its installment paid.
        let conv = json!({
            "kind": "ars", "funder": "ARS Île-de-France", "purpose": "Amorçage", "amount_cents": 1_500_000,
            "start": "2021-01-01", "end": "2021-12-31",
            "installments": [{ "on": "2021-03-01", "amount_cents": 1_000_000 }, { "on": "2021-09-01", "amount_cents": 500_000 }]
        });
        let (s, v) = coord.post(&format!("/api/v1/cpts/{MINE}/conventions"), conv.clone()).await;
        error_shape(s, &v, "forbidden");
        let (s, v) = ars.post(&format!("/api/v1/cpts/{MINE}/conventions"), json!({ "kind": "banque", "funder": "x", "purpose": "y", "amount_cents": 1, "start": "2021-01-01", "end": "2021-12-31", "installments": [] })).await;
        error_shape(s, &v, "invalid");
        assert_eq!(v["errors"][0]["field"], "kind");
        let (s, added) = ars.post(&format!("/api/v1/cpts/{MINE}/conventions"), conv).await;
        assert_eq!(s, StatusCode::CREATED, "[{e}] {added}");
        let number = added["number"].as_i64().unwrap();
        assert_eq!(audited(&w, "ars", Action::ConventionArs, MINE).await, 1, "[{e}]");
        let (_, list) = coord.get(&format!("/api/v1/cpts/{MINE}/conventions")).await;
        assert_eq!((list[0]["kind"].as_str(), list[0]["installments"][1]["amount_cents"].as_i64()), (Some("ars"), Some(500_000)), "[{e}] {list}");
        let (_, lines) = ars.get(&format!("/api/v1/cpts/{MINE}/ledger/lines?status=due&per_page=500")).await;
        let theirs: Vec<&Value> = lines["items"].as_array().unwrap().iter().filter(|l| l["convention"] == number).collect();
        assert_eq!(theirs.len(), 2, "[{e}] {lines}");
        let first = theirs[0]["line"].as_i64().unwrap();
        let funder = theirs[0]["funder"].as_str().unwrap().replace(' ', "%20");
        let (_, only) = ars.get(&format!("/api/v1/cpts/{MINE}/ledger/lines?funder={funder}")).await;
        assert_eq!(only["total"], 2, "[{e}] {only}");
        let (s, v) = ars.post(&format!("/api/v1/cpts/{MINE}/ledger/payments"), json!({ "line": first, "on": "2021-03-05", "amount_cents": 400_000, "by": "ARS" })).await;
        assert_eq!(s, StatusCode::CREATED, "[{e}] {v}");
        let (s, payments) = ars.get(&format!("/api/v1/cpts/{MINE}/conventions/{number}/payments")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {payments}");
        assert_eq!((payments[0]["line"].as_i64(), payments[0]["amount_cents"].as_i64()), (Some(first), Some(400_000)), "[{e}] {payments}");
        let (s, _) = ars.get(&format!("/api/v1/cpts/{MINE}/conventions/99/payments")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn values_are_entered_imported_listed_with_their_history_and_achievement_over_the_api() {
    for w in worlds().await {
        let e = w.engine;
        let (coord, membre, cpam) = (Api::of(&w, "coord").await, Api::of(&w, "membre").await, Api::of(&w, "cpam").await);
        let values = format!("/api/v1/cpts/{MINE}/values");
        let entry = json!({ "rows": [{ "indicator": "patients_sans_mt_aides", "period": "2021-01", "value": "7" }] });
        let (s, v) = membre.post(&values, entry.clone()).await;
        error_shape(s, &v, "forbidden");
        let (s, v) = coord.post(&values, entry).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {v}");
        assert_eq!((v["stored"].as_u64(), v["corrected"].as_u64()), (Some(1), Some(0)), "[{e}] {v}");
        assert_eq!(audited(&w, "coord", Action::ImportValues, MINE).await, 1, "[{e}]");
        // Corrected: the previous value stays in its history.
        let (_, v) = coord.post(&values, json!({ "rows": [{ "indicator": "patients_sans_mt_aides", "period": "2021-01", "value": "8" }] })).await;
        assert_eq!(v["corrected"], 1, "[{e}] {v}");
        let (s, h) = membre.get(&format!("{values}/patients_sans_mt_aides/2021-01")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {h}");
        assert_eq!((h[0]["value"].as_str(), h[1]["value"].as_str()), (Some("7"), Some("8")), "[{e}] {h}");
        assert!(h[0]["replaced_by"].is_i64() && h[1]["replaced_by"].is_null(), "[{e}] {h}");
        assert_eq!(h[1]["source"], "saisie");
        let (s, _) = membre.get(&format!("{values}/patients_sans_mt_aides/2021-02")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // An entry's errors name their row and column.
        let (s, bad) = coord.post(&values, json!({ "rows": [{ "indicator": "patients_sans_mt_aides", "period": "2021-02", "value": "3" }, { "indicator": "patients_sans_mt_aides", "period": "2021-13", "value": "9" }] })).await;
        error_shape(s, &bad, "invalid");
        assert_eq!((bad["errors"][0]["line"].as_u64(), bad["errors"][0]["field"].as_str()), (Some(2), Some("Période")), "[{e}] {bad}");

        // The file itself as the body (CSV), then JSON rows naming their CPTS.
        let csv = "CPTS;Indicateur;Période;Valeur;Numérateur;Dénominateur\ncpts-paris-18;patients_sans_mt_aides;2021-02;7;;\ncpts-paris-18;snp_taux_reponse;2021-02;;65;100\n";
        let (s, v) = coord.call("POST", &format!("{values}/import?file=valeurs.csv"), "text/csv", csv.as_bytes().to_vec()).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {v}");
        assert_eq!(v["stored"], 2, "[{e}] {v}");
        let bad_csv = "CPTS;Indicateur;Période;Valeur\ncpts-paris-18;patients_sans_mt_aides;2021-03;9\ncpts-paris-18;indicateur_inconnu;2021-03;1\n";
        let (s, bad) = coord.call("POST", &format!("{values}/import"), "text/csv", bad_csv.as_bytes().to_vec()).await;
        error_shape(s, &bad, "invalid");
        assert_eq!((bad["errors"][0]["line"].as_u64(), bad["errors"][0]["field"].as_str()), (Some(3), Some("Indicateur")), "[{e}] {bad}");
        let rows = json!({ "rows": [{ "cpts": MINE, "indicator": "patients_sans_mt_aides", "period": "2021-03", "value": "6" }], "file": "logiciel" });
        let (s, v) = coord.post(&format!("{values}/import"), rows.clone()).await;
        assert_eq!((s, v["stored"].as_u64()), (StatusCode::OK, Some(1)), "[{e}] {v}");
        let (s, v) = coord.call("POST", &format!("{values}/import"), "text/plain", b"x".to_vec()).await;
        error_shape(s, &v, "bad_request");
        // A row naming a CPTS out of scope: unknown, nothing stored.
        let (s, v) = cpam.post(&format!("{values}/import"), json!({ "rows": [{ "cpts": OTHER, "indicator": "patients_sans_mt_aides", "period": "2021-03", "value": "6" }] })).await;
        error_shape(s, &v, "not_found");

        let (s, page) = membre.get(&format!("{values}?indicator=patients_sans_mt_aides&per_page=2")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {page}");
        assert_eq!(page["total"], 3, "[{e}] {page}");
        assert_eq!(page["items"][0]["period"], "2021-01");
        let (_, march) = membre.get(&format!("{values}?period=2021-03")).await;
        assert_eq!((march["total"].as_u64(), march["items"][0]["file"].as_str()), (Some(1), Some("logiciel")), "[{e}] {march}");
        let (s, bad) = membre.get(&format!("{values}?period=mars")).await;
        error_shape(s, &bad, "invalid");

        let (s, a) = membre.get(&format!("/api/v1/cpts/{MINE}/achievement?year=1")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {a}");
        let objectives = a["achievement"]["objectives"].as_array().unwrap();
        assert_eq!(objectives.len(), 2, "[{e}] {a}");
        assert_eq!((objectives[0]["indicator"].as_str(), objectives[0]["value"].as_str()), (Some("patients_sans_mt_aides"), Some("21")), "[{e}] {a}");
        assert_eq!(a["validated"], false);
        let (s, _) = cpam.get(&format!("/api/v1/cpts/{OTHER}/achievement")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn reports_are_drafted_reviewed_validated_and_downloaded_over_the_api() {
    for w in worlds().await {
        let e = w.engine;
        // After year 1 ended, its values entered: the report can be submitted and validated.
        let app = Arc::new(w.app.with_clock(Clock::on(jiff::civil::date(2022, 6, 30))));
        let router = cpts_web::router(app.clone(), config()).layer(axum::extract::connect_info::MockConnectInfo(std::net::SocketAddr::from(([192, 0, 2, 1], 4242))));
        let w = World { engine: e, app, router };
        let (coord, cpam) = (Api::of(&w, "coord").await, Api::of(&w, "cpam").await);
        let csv: String = std::iter::once("CPTS;Indicateur;Période;Valeur;Numérateur;Dénominateur\n".to_owned())
            .chain((1..=12).map(|m| format!("{MINE};patients_sans_mt_aides;2021-{m:02};7;;\n{MINE};snp_taux_reponse;2021-{m:02};;65;100\n")))
            .collect();
        let (s, v) = coord.call("POST", &format!("/api/v1/cpts/{MINE}/values/import"), "text/csv", csv.into_bytes()).await;
        assert_eq!((s, v["stored"].as_u64()), (StatusCode::OK, Some(24)), "[{e}] {v}");

        let acts = format!("/api/v1/cpts/{MINE}/reports/1/1/acts");
        let draft = "summary: Première année.\nactions:\n  - {title: Cellule médecin traitant, mission: acces_soins, from: 2021-02-01, to: 2021-12-31, description: Orientation, professionals: 12}\nexpenses:\n  - {item: Coordination, amount: 45000}\n";
        let (s, v) = cpam.post(&acts, json!({ "act": "rediger", "text": draft })).await;
        error_shape(s, &v, "forbidden");
        let (s, v) = coord.post(&acts, json!({ "act": "voler" })).await;
        error_shape(s, &v, "invalid");
        assert_eq!(v["errors"][0]["field"], "act");
        let (s, v) = coord.post(&acts, json!({ "act": "soumettre" })).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "[{e}] {v}");
        let (s, v) = coord.post(&acts, json!({ "act": "rediger", "text": draft })).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {v}");
        assert_eq!((v["report"]["status"].as_str(), v["report"]["version"].as_i64()), (Some("brouillon"), Some(1)), "[{e}] {v}");
        assert_eq!(audited(&w, "coord", Action::WriteReport, MINE).await, 1, "[{e}]");
        let (s, v) = coord.post(&acts, json!({ "act": "soumettre" })).await;
        assert_eq!((s, v["report"]["status"].as_str()), (StatusCode::OK, Some("soumis")), "[{e}] {v}");
        let (s, v) = cpam.post(&acts, json!({ "act": "a-corriger", "text": "  " })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "[{e}] {v}");

        // The report as the CPAM reads it: sections, frozen results, the golden 7 040,00 €.
        let (s, r) = cpam.get(&format!("/api/v1/cpts/{MINE}/reports/1/1")).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {r}");
        assert_eq!(r["status"], "soumis");
        assert!(r["results"]["snp_taux_reponse"].as_str().unwrap().starts_with("65"), "[{e}] {r}");
        assert_eq!(r["achievement"]["variable_total_cents"], 704_000, "[{e}] {r}");
        assert!(r["sections"].as_array().unwrap().iter().any(|s| s["heading"] == "Résultats des indicateurs et part variable"), "[{e}] {r}");
        let (s, v) = cpam.post(&acts, json!({ "act": "valider" })).await;
        assert_eq!(s, StatusCode::OK, "[{e}] {v}");
        assert_eq!(v["report"]["status"], "valide");
        let (_, due) = coord.get(&format!("/api/v1/cpts/{MINE}/ledger/lines?status=due&per_page=500")).await;
        let balances: Vec<i64> = due["items"].as_array().unwrap().iter().filter(|l| l["kind"] == "balance" && l["year"] == 1).map(|l| l["amount_cents"].as_i64().unwrap()).collect();
        assert!(balances.contains(&704_000), "[{e}] {balances:?} {v}");
        assert_eq!(audited(&w, "cpam", Action::ReviewReport, MINE).await, 1, "[{e}]");

        let (s, list) = coord.get(&format!("/api/v1/cpts/{MINE}/reports")).await;
        assert_eq!((s, list["total"].as_u64()), (StatusCode::OK, Some(1)), "[{e}] {list}");
        assert_eq!(list["items"][0]["last"]["act"], "valider");
        for (format, kind) in [("pdf", "application/pdf"), ("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats")] {
            let r = coord.raw("GET", &format!("/api/v1/cpts/{MINE}/reports/1/1/versions/1/{format}"), "application/json", vec![]).await;
            assert_eq!(r.status, StatusCode::OK, "[{e}] {format}");
            assert!(r.kind.starts_with(kind) && r.bytes.len() > 100, "[{e}] {format}: {}", r.kind);
        }
        assert!(coord.raw("GET", &format!("/api/v1/cpts/{MINE}/reports/1/1/versions/1/pdf"), "", vec![]).await.bytes.starts_with(b"%PDF"));
        let (s, _) = coord.get(&format!("/api/v1/cpts/{MINE}/reports/1/1/versions/9/pdf")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = coord.get(&format!("/api/v1/cpts/{MINE}/reports/1/1/versions/1/doc")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = cpam.get(&format!("/api/v1/cpts/{OTHER}/reports")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}
