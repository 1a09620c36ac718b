//! The JSON API in process: tokens (created, used, revoked, with their owner's rights now), the
//! one error shape, scope and pagination, the funding engine on a contract sent, and the
//! OpenAPI document (snapshot: any API change shows in review).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;

struct Api {
    router: axum::Router,
    token: Option<String>,
}

impl Api {
    async fn of(w: &World, login: &str) -> Api {
        let p = w.app.principal(login, "test").await.unwrap();
        let t = w.app.create_token(&p, "tests").await.unwrap();
        Api { router: w.router.clone(), token: Some(t.secret) }
    }

    fn anonymous(w: &World) -> Api {
        Api { router: w.router.clone(), token: None }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, "cpts.test");
        if let Some(t) = &self.token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())).unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let ct = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let bytes = axum::body::to_bytes(res.into_body(), 64 << 20).await.unwrap();
        assert!(ct.starts_with("application/json"), "{method} {path}: {status} answered {ct}: {}", String::from_utf8_lossy(&bytes));
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(body)).await
    }
}

/// An error answer has the one shape: status repeated, a code, a message, the errors.
fn error_shape(status: StatusCode, v: &Value, code: &str) {
    assert_eq!(v["status"], json!(status.as_u16()), "{v}");
    assert_eq!(v["code"], json!(code), "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(v["errors"].is_array(), "{v}");
}

#[tokio::test]
async fn a_token_acts_with_its_owners_rights_now_and_stops_when_revoked_or_disabled() {
    for w in worlds().await {
        let (s, v) = Api::anonymous(&w).get("/api/v1/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{}", w.engine);
        error_shape(s, &v, "unauthenticated");
        let forged = Api { router: w.router.clone(), token: Some(format!("cpts_{}", "0".repeat(64))) };
        assert_eq!(forged.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);

        let api = Api::of(&w, "cpam").await;
        let (s, me) = api.get("/api/v1/me").await;
        assert_eq!(s, StatusCode::OK, "{me}");
        assert_eq!(me["login"], "cpam");
        assert_eq!(me["grants"][0]["role"], "agent-cpam");
        assert_eq!(me["grants"][0]["scope"], "75");

        // Its use is recorded; only a hash is stored.
        let p = w.app.principal("cpam", "t").await.unwrap();
        let listed = w.app.tokens(&p).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].last_used_at.is_some(), "{listed:?}");
        let secret = api.token.clone().unwrap();
        assert!(secret.starts_with(&format!("cpts_{}", listed[0].prefix)), "the prefix shown is the secret's start");

        // The owner's rights as they are at each request: a grant revoked, the token sees less.
        let g = cpts_app::Grant { role: cpts_app::Role::AgentCpam, scope: cpts_app::Scope::Departement("75".into()) };
        w.app.revoke(&cpts_app::testkit::admin(), "cpam", &g).await.unwrap();
        let (s, v) = api.get("/api/v1/cpts").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["total"], 0, "{v}");
        w.app.grant(&cpts_app::testkit::admin(), "cpam", &g).await.unwrap();

        // Disabled account: the token opens nothing.
        w.app.set_active(&cpts_app::testkit::admin(), "cpam", false).await.unwrap();
        assert_eq!(api.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
        w.app.set_active(&cpts_app::testkit::admin(), "cpam", true).await.unwrap();
        assert_eq!(api.get("/api/v1/me").await.0, StatusCode::OK);

        // Revoked: refused, and the revocation is in the audit log with the creation.
        w.app.revoke_token(&p, &listed[0].prefix).await.unwrap();
        assert_eq!(api.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
        let log = w.app.audit(&cpts_app::testkit::admin(), &cpts_app::audit::AuditQuery { limit: Some(1000), ..Default::default() }).await.unwrap();
        assert_eq!(log.iter().filter(|e| e.action == "jetons" && e.login == "cpam").count(), 2, "{log:?}");
        // Someone else's token cannot be revoked: it is unknown to them.
        let other = Api::of(&w, "coord").await;
        let coord = w.app.principal("coord", "t").await.unwrap();
        let theirs = w.app.tokens(&coord).await.unwrap();
        assert!(matches!(w.app.revoke_token(&p, &theirs[0].prefix).await, Err(cpts_app::AppError::NotFound(_))));
        assert_eq!(other.get("/api/v1/me").await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn lists_follow_the_scope_page_by_page_and_out_of_scope_is_not_found() {
    for w in worlds().await {
        let cpam = Api::of(&w, "cpam").await;
        let (s, v) = cpam.get("/api/v1/cpts").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let ids: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [MINE, NEW, READY], "{}", w.engine);
        assert_eq!(v["total"], 3);
        let mine = &v["items"][0];
        assert_eq!(mine["territory"]["departements"], json!(["75"]));
        assert!(mine["planned_cents"].as_i64().unwrap() > 0, "{mine}");

        let (_, p2) = cpam.get("/api/v1/cpts?per_page=1&page=2").await;
        assert_eq!((p2["items"][0]["id"].as_str(), p2["total"].as_u64(), p2["per_page"].as_u64()), (Some(NEW), Some(3), Some(1)));
        let (_, far) = cpam.get("/api/v1/cpts?per_page=2&page=9").await;
        assert_eq!(far["items"], json!([]));
        let (s, bad) = cpam.get("/api/v1/cpts?per_page=0").await;
        error_shape(s, &bad, "invalid");
        assert_eq!(bad["errors"][0]["field"], "per_page");
        let (s, bad) = cpam.get("/api/v1/cpts?page=abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        error_shape(s, &bad, "bad_request");
        let (s, bad) = cpam.get("/api/v1/cpts?on=31/12/2021").await;
        error_shape(s, &bad, "invalid");
        let (_, filtered) = cpam.get("/api/v1/cpts?q=paris-19").await;
        assert_eq!(filtered["total"], 1);

        let (s, one) = cpam.get(&format!("/api/v1/cpts/{MINE}")).await;
        assert_eq!(s, StatusCode::OK, "{one}");
        assert_eq!((one["seat"].as_str(), one["cpam_departement"].as_str()), (Some("75118"), Some("75")));
        // Out of scope and unknown: the same answer.
        let (s1, out) = cpam.get(&format!("/api/v1/cpts/{OTHER}")).await;
        let (s2, none) = cpam.get("/api/v1/cpts/cpts-nulle-part").await;
        assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        error_shape(s1, &out, "not_found");
        error_shape(s2, &none, "not_found");
        let (s, _) = cpam.get("/api/v1/cpts/%C3%28").await;
        assert!(s == StatusCode::NOT_FOUND || s == StatusCode::BAD_REQUEST, "{s}");
        // An address the API does not have: JSON too.
        let (s, v) = cpam.get("/api/v1/nulle-part").await;
        error_shape(s, &v, "not_found");
    }
}

fn example() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/cpts-exemple.yaml")).unwrap()
}

#[tokio::test]
async fn the_funding_engine_computes_a_contract_sent_as_yaml_or_json_under_a_reform_by_name_or_inline() {
    let w = worlds().await.into_iter().next().unwrap();
    let api = Api::of(&w, "coord").await;
    // The same figures as `cpts funding schedule examples/cpts-exemple.yaml`.
    let (s, v) = api.post("/api/v1/funding/schedule", json!({ "case": example() })).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total_paid_cents"], 178_370_069);
    assert_eq!(v["total_entitlement_cents"], 178_370_069);
    // The case file as a JSON object gives the same.
    let object: Value = yaml_serde::from_str(&example()).unwrap();
    let (_, same) = api.post("/api/v1/funding/schedule", json!({ "case": object })).await;
    assert_eq!(same["total_paid_cents"], v["total_paid_cents"], "{same}");

    let (s, y) = api.post("/api/v1/funding/year", json!({ "case": example(), "year": 2 })).await;
    assert_eq!(s, StatusCode::OK, "{y}");
    assert_eq!(y["year"], 2);
    assert!(y["lines"].as_array().unwrap().iter().all(|l| !l["explanation"].as_str().unwrap().is_empty()));

    // A reform by name, and the same reform inline: the same simulation.
    let (s, by_name) = api.post("/api/v1/funding/simulate", json!({ "cases": [example()], "reform": { "builtin": "projet-cnam-2019-04" } })).await;
    assert_eq!(s, StatusCode::OK, "{by_name}");
    assert_eq!(by_name["baseline"]["total_cents"], 178_370_069);
    assert_ne!(by_name["diff"]["total_cents"], 0);
    let inline = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/aci/reforms/projet-cnam-2019-04.yaml")).unwrap();
    let (s, inlined) = api.post("/api/v1/funding/simulate", json!({ "cases": [example()], "reform": { "inline": inline } })).await;
    assert_eq!(s, StatusCode::OK, "{inlined}");
    assert_eq!(inlined["diff"], by_name["diff"]);

    // Errors: a wrong case names its field; a wrong body is a 400; both in the one shape.
    let (s, bad) = api.post("/api/v1/funding/year", json!({ "case": "cpts: x\ncontract: {signed: 2020-13-45}\n", "year": 1 })).await;
    error_shape(s, &bad, "invalid");
    assert!(bad["errors"][0]["field"].as_str().unwrap().starts_with("dossier"), "{bad}");
    let (s, bad) = api.post("/api/v1/funding/year", json!({ "year": 1 })).await;
    error_shape(s, &bad, "bad_request");
    let (s, bad) = api.post("/api/v1/funding/simulate", json!({ "cases": [example()], "reform": {} })).await;
    error_shape(s, &bad, "invalid");
    let (s, bad) = api.post("/api/v1/funding/year", json!({ "case": example(), "year": 9 })).await;
    error_shape(s, &bad, "refused");
}

#[tokio::test]
async fn the_api_takes_no_session_cookie_and_needs_no_csrf_token() {
    let w = worlds().await.into_iter().next().unwrap();
    // A signed-in browser's cookie opens nothing in the API (no ambient authority: no CSRF).
    let mut browser = signed(&w, "coord").await;
    let cookie = browser.cookie.clone().unwrap();
    let req = Request::builder().uri("/api/v1/me").header(header::HOST, "cpts.test").header(header::COOKIE, cookie).body(Body::empty()).unwrap();
    assert_eq!(w.router.clone().oneshot(req).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // A token's POST from anywhere, without a CSRF token, is served.
    let api = Api::of(&w, "coord").await;
    let (s, _) = api.post("/api/v1/funding/schedule", json!({ "case": example() })).await;
    assert_eq!(s, StatusCode::OK);
    // The token page: created through the form, shown once, revoked through the form.
    let page = browser.get("/compte/jetons").await;
    assert_eq!(page.status, StatusCode::OK);
    let created = browser.post("/compte/jetons", &[("label", "logiciel de la CPTS")]).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let at = created.body.find("value=\"cpts_").unwrap() + "value=\"".len();
    let secret: String = created.body[at..].chars().take_while(|c| *c != '"').collect();
    let fresh = Api { router: w.router.clone(), token: Some(secret.clone()) };
    assert_eq!(fresh.get("/api/v1/me").await.0, StatusCode::OK);
    let again = browser.get("/compte/jetons").await;
    assert!(!again.body.contains(&secret) && again.body.contains("logiciel de la CPTS"));
    let prefix = &secret["cpts_".len().."cpts_".len() + 12];
    let revoked = browser.post(&format!("/compte/jetons/{prefix}/revoquer"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(fresh.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let empty = browser.post("/compte/jetons", &[("label", "")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_openapi_document_is_served_as_generated_and_matches_its_snapshot() {
    let w = worlds().await.into_iter().next().unwrap();
    let generated = cpts_web::api::openapi().to_pretty_json().unwrap();
    let res = w.router.clone().oneshot(Request::builder().uri("/api/v1/openapi.json").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let served = String::from_utf8(axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap().to_vec()).unwrap();
    assert_eq!(served, generated);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, format!("{generated}\n")).unwrap();
    }
    let snapshot = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        snapshot.trim_end() == generated,
        "the API changed: review it, then run `UPDATE_OPENAPI=1 cargo test -p cpts-web --test web openapi` and commit crates/web/tests/openapi.json"
    );
    // The docs page: plain HTML, every operation listed.
    let res = w.router.clone().oneshot(Request::builder().uri("/api/v1/docs").body(Body::empty()).unwrap()).await.unwrap();
    let page = String::from_utf8(axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap().to_vec()).unwrap();
    let doc: Value = serde_json::from_str(&generated).unwrap();
    for path in doc["paths"].as_object().unwrap().keys() {
        assert!(page.contains(&format!(" {path}</code>")), "{path} missing from the docs page");
    }
    assert!(!page.contains("<script"));
}

/// utoipa names a schema after its type and silently keeps one of two types of the same name:
/// the document would then describe one answer with the other's fields (schemathesis found it).
#[test]
fn every_schema_type_of_the_api_has_its_own_name() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api");
    let mut seen = std::collections::BTreeMap::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let path = f.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut derives_schema = false;
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with("#[derive(") {
                derives_schema = l.contains("ToSchema");
            } else if let Some(rest) = l.strip_prefix("pub struct ").or_else(|| l.strip_prefix("pub enum ")) {
                if derives_schema {
                    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if let Some(other) = seen.insert(name.clone(), path.display().to_string()) {
                        panic!("schema {name} defined twice: {other} and {}", path.display());
                    }
                }
                derives_schema = false;
            } else if !l.starts_with("#[") && !l.starts_with("///") {
                derives_schema = false;
            }
        }
    }
    assert!(seen.len() > 50, "{seen:?}");
}
