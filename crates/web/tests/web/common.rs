//! A world per engine: two signed CPTS in two régions, one account per role, the router; and
//! a client that keeps its session cookie and sends its forms as a browser would.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use cpts_app::accounts::NewAccount;
use cpts_app::testkit::{admin, plain_cpts, signed_cpts, validated_cpts};
use cpts_app::{App, Clock, Grant, Role, Scope};
use cpts_domain::geo::Geo;
use cpts_engine::rules::RuleSet;
use jiff::civil::date;
use tower::ServiceExt;

pub const ORIGIN: &str = "http://cpts.test";
pub const PASSWORD: &str = "un mot de passe de test";
/// In scope of every role but the national one's: Paris 18 (département 75, région 11).
pub const MINE: &str = "cpts-paris-18";
/// Out of every scope but the national one's: Brest (département 29, région 53).
pub const OTHER: &str = "cpts-brest";

/// In the scope of the CPAM of Paris and the ARS of Île-de-France only: no lifecycle yet.
pub const NEW: &str = "cpts-paris-19";

/// Like NEW, its projet de santé validated: to be signed.
pub const READY: &str = "cpts-paris-20";

/// The accounts of the world: (login, role).
pub const ACCOUNTS: [(&str, Role); 5] = [
    ("coord", Role::Coordinateur),
    ("membre", Role::Membre),
    ("cpam", Role::AgentCpam),
    ("ars", Role::AgentArs),
    ("admin", Role::AdminNational),
];

pub struct World {
    pub engine: &'static str,
    pub app: Arc<App>,
    pub router: Router,
}

pub fn config() -> cpts_web::Config {
    cpts_web::Config {
        origin: ORIGIN.into(),
        secure: false,
        idle: time::Duration::minutes(30),
        login: cpts_web::LoginLimits::default(),
        identity: None,
    }
}

fn scope(role: Role) -> Scope {
    match role {
        Role::Coordinateur | Role::Membre => Scope::Cpts(MINE.parse().unwrap()),
        Role::AgentCpam => Scope::Departement("75".into()),
        Role::AgentArs => Scope::Region("11".into()),
        Role::AdminNational => Scope::National,
    }
}

pub async fn worlds() -> Vec<World> {
    worlds_with(config()).await
}

pub async fn worlds_with(config: cpts_web::Config) -> Vec<World> {
    sqlx::any::install_default_drivers();
    let rules = RuleSet::builtin().unwrap();
    let geo = Geo::builtin().unwrap();
    let mut out = Vec::new();
    for (engine, store) in cpts_store::testkit::stores("web").await {
        let app = App::new(store, rules.clone(), geo.clone(), Clock::on(date(2021, 10, 25)));
        signed_cpts(&app, MINE, "75118", &["75118"]).await;
        signed_cpts(&app, OTHER, "29019", &["29019"]).await;
        plain_cpts(&app, NEW, &["75119"]).await;
        validated_cpts(&app, READY, "75120", &["75120"]).await;
        for (login, role) in ACCOUNTS {
            let new = NewAccount {
                login: login.into(),
                name: format!("Compte {login}"),
                password: Some(PASSWORD.into()),
                grants: vec![Grant { role, scope: scope(role) }],
            };
            app.add_account(&admin(), new).await.unwrap();
        }
        let app = Arc::new(app);
        let router = cpts_web::router(app.clone(), config.clone())
            .layer(MockConnectInfo(SocketAddr::from(([192, 0, 2, 1], 4242))));
        out.push(World { engine, app, router });
    }
    out
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The first CSRF token of the page's forms.
    pub fn csrf(&self) -> Option<String> {
        let at = self.body.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
        Some(self.body[at..].split('"').next()?.to_owned())
    }
}

/// A browser: its session cookie, its last CSRF token.
pub struct Client {
    pub router: Router,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Client {
    pub fn new(w: &World) -> Client {
        Client { router: w.router.clone(), cookie: None, csrf: None }
    }

    pub async fn send(&mut self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        if let Some(c) = res.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()) {
            let pair = c.split(';').next().unwrap().to_owned();
            // Max-Age=0 or an empty value: the cookie is gone.
            self.cookie = if c.contains("Max-Age=0") || pair.ends_with('=') { None } else { Some(pair) };
        }
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap();
        let reply = Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() };
        if let Some(t) = reply.csrf() {
            self.csrf = Some(t);
        }
        reply
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, "cpts.test");
        if let Some(c) = &self.cookie {
            b = b.header(header::COOKIE, c);
        }
        b
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let req = self.request("GET", path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// A form as a browser sends it: from our origin, with the session's token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let token = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, Some(ORIGIN)).await
    }

    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Reply {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut b = self.request("POST", path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        let req = b.body(Body::from(body)).unwrap();
        self.send(req).await
    }

    /// A form with a file, as a browser sends it: multipart, the session's token in the URL.
    pub async fn upload(&mut self, path: &str, name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Reply {
        let boundary = "----cpts-test-boundary";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let token = self.csrf.clone().unwrap_or_default();
        let req = self
            .request("POST", &format!("{path}?_csrf={token}"))
            .header(header::ORIGIN, ORIGIN)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Sign in through the form; panics unless it succeeds.
    pub async fn sign_in(&mut self, login: &str) {
        let r = self.try_sign_in(login, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "sign-in of {login}: {}", r.body);
    }

    pub async fn try_sign_in(&mut self, login: &str, password: &str) -> Reply {
        self.get("/connexion").await;
        self.post("/connexion", &[("login", login), ("password", password)]).await
    }
}

/// A signed-in client for each account of the world.
pub async fn signed(w: &World, login: &str) -> Client {
    let mut c = Client::new(w);
    c.sign_in(login).await;
    c
}

pub async fn audit_rows(app: &App) -> usize {
    app.audit(&admin(), &cpts_app::audit::AuditQuery { limit: Some(1_000_000), ..Default::default() }).await.unwrap().len()
}
