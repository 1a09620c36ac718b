//! The whole web application in process, for the `web_forms` and `api_bodies` targets: the
//! router over a SQLite store (in /dev/shm when there is one: a commit's fsync costs nothing
//! there) holding two signed CPTS, a CPTS without contract, a national admin signed in (session
//! cookie and CSRF token, as a browser) and an API token. Every answer must be below 500: a
//! 5xx, like a panic, is a finding.
//!
//! The store grows with what the inputs create; it is rebuilt from nothing every `REBUILD`
//! inputs so that an input's cost does not drift with the run's length. (At 20 000, the audit
//! page grew to hundreds of report drafts of 20–44 KB each and `web_forms` fell from 267 to 21
//! inputs a second.)

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use cpts_app::accounts::NewAccount;
use cpts_app::testkit::{admin, plain_cpts, signed_cpts};
use cpts_app::{App, Clock, Grant, Role, Scope};
use tower::ServiceExt;

const ORIGIN: &str = "http://cpts.fuzz";
const PASSWORD: &str = "un mot de passe de fuzzing";
/// The CPTS ids a path may name: two signed contracts, one without, one unknown.
pub const IDS: [&str; 4] = ["cpts-paris-18", "cpts-brest", "cpts-paris-19", "cpts-inconnue"];
const REBUILD: usize = 2_000;

pub struct Server {
    rt: tokio::runtime::Runtime,
    router: Router,
    cookie: String,
    csrf: String,
    /// « Bearer cpts_… » of the admin's API token.
    bearer: String,
    inputs: usize,
    dir: PathBuf,
    generation: usize,
}

/// What an input asks: a method, a path (query included), a content type and a body.
pub struct Call<'a> {
    pub method: &'static str,
    pub path: String,
    pub content_type: Option<String>,
    pub body: &'a [u8],
    /// Through the API (bearer token) rather than the pages (cookie, Origin, CSRF token).
    pub api: bool,
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("fuzz fixture: {what}: {e}")
}

impl Server {
    pub fn new() -> Server {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| fail("tokio", e));
        let shm = PathBuf::from("/dev/shm");
        let base = if shm.is_dir() { shm } else { std::env::temp_dir() };
        let dir = base.join(format!("cpts-fuzz-{}", std::process::id()));
        let (router, cookie, csrf, bearer) = rt.block_on(world(&dir, 0));
        Server { rt, router, cookie, csrf, bearer, inputs: 0, dir, generation: 0 }
    }

    /// The session's CSRF token (the targets put it where a browser would).
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Send the call; panics on a 5xx answer, with what was sent.
    pub fn call(&mut self, c: Call<'_>) {
        self.inputs += 1;
        if self.inputs % REBUILD == 0 {
            self.generation += 1;
            let (router, cookie, csrf, bearer) = self.rt.block_on(world(&self.dir, self.generation));
            (self.router, self.cookie, self.csrf, self.bearer) = (router, cookie, csrf, bearer);
        }
        let mut b = Request::builder().method(c.method).uri(&c.path).header(header::HOST, "cpts.fuzz");
        if c.api {
            b = b.header(header::AUTHORIZATION, &self.bearer);
        } else {
            b = b.header(header::COOKIE, &self.cookie).header(header::ORIGIN, ORIGIN);
        }
        if let Some(t) = &c.content_type {
            b = b.header(header::CONTENT_TYPE, t);
        }
        let Ok(req) = b.body(Body::from(c.body.to_vec())) else { return };
        let router = self.router.clone();
        let (status, text) = self.rt.block_on(async move {
            let res = router.oneshot(req).await.unwrap_or_else(|e| match e {});
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), 64 << 20).await.unwrap_or_default();
            (status, String::from_utf8_lossy(&bytes).chars().take(2000).collect::<String>())
        });
        assert!(
            status < StatusCode::INTERNAL_SERVER_ERROR,
            "{} {} ({:?}) → {status}\n{text}\nbody: {:?}",
            c.method,
            c.path,
            c.content_type,
            String::from_utf8_lossy(c.body)
        );
    }
}

impl Default for Server {
    fn default() -> Server {
        Server::new()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new store and router; the admin signed in through the login form.
async fn world(dir: &std::path::Path, generation: usize) -> (Router, String, String, String) {
    sqlx::any::install_default_drivers();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| fail("dossier", e));
    let path = dir.join(format!("fuzz-{generation}.sqlite"));
    let store = cpts_store::Store::open(&path.display().to_string()).await.unwrap_or_else(|e| fail("store", e));
    let app = App::new(store, crate::rules().clone(), crate::geo().clone(), Clock::on(jiff::civil::date(2021, 10, 25)));
    signed_cpts(&app, IDS[0], "75118", &["75118"]).await;
    signed_cpts(&app, IDS[1], "29019", &["29019"]).await;
    plain_cpts(&app, IDS[2], &["75119"]).await;
    for (login, role, scope) in [
        ("admin", Role::AdminNational, Scope::National),
        ("coord", Role::Coordinateur, Scope::Cpts(IDS[0].parse().unwrap_or_else(|e| fail("id", e)))),
    ] {
        let new = NewAccount { login: login.into(), name: login.into(), password: Some(PASSWORD.into()), grants: vec![Grant { role, scope }] };
        app.add_account(&admin(), new).await.unwrap_or_else(|e| fail("compte", e));
    }
    let p = app.principal("admin", "fuzz").await.unwrap_or_else(|e| fail("principal", e));
    let token = app.create_token(&p, "fuzz").await.unwrap_or_else(|e| fail("jeton", e)).secret;
    let app = Arc::new(app);
    let config = cpts_web::Config {
        origin: ORIGIN.into(),
        secure: false,
        idle: time::Duration::hours(12),
        login: cpts_web::LoginLimits::default(),
        identity: None,
    };
    let router = cpts_web::router(app, config).layer(MockConnectInfo(SocketAddr::from(([192, 0, 2, 1], 4242))));
    // Sign in as a browser: the form's token, then the form.
    let send = |req: Request<Body>| {
        let router = router.clone();
        async move {
            let res = router.oneshot(req).await.unwrap_or_else(|e| match e {});
            let cookie = res.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).and_then(|c| c.split(';').next()).map(str::to_owned);
            let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap_or_default();
            (cookie, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let csrf_of = |page: &str| -> String {
        let mark = "name=\"_csrf\" value=\"";
        let at = page.find(mark).map_or(0, |i| i + mark.len());
        page.get(at..).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned()
    };
    let get = |path: &str, cookie: Option<&str>| {
        let mut b = Request::builder().uri(path).header(header::HOST, "cpts.fuzz");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        b.body(Body::empty()).unwrap_or_else(|e| fail("requête", e))
    };
    let (cookie, page) = send(get("/connexion", None)).await;
    let cookie = cookie.unwrap_or_else(|| fail("connexion", "pas de cookie"));
    let form = format!("_csrf={}&login=admin&password={}", csrf_of(&page), PASSWORD.replace(' ', "+"));
    let req = Request::builder()
        .method("POST")
        .uri("/connexion")
        .header(header::HOST, "cpts.fuzz")
        .header(header::ORIGIN, ORIGIN)
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap_or_else(|e| fail("requête", e));
    let (signed, _) = send(req).await;
    let cookie = signed.unwrap_or(cookie);
    let (_, home) = send(get("/", Some(&cookie))).await;
    let csrf = csrf_of(&home);
    if csrf.is_empty() {
        fail("connexion", "pas de jeton CSRF sur le tableau de bord : connexion refusée ?");
    }
    (router, cookie, csrf, format!("Bearer {token}"))
}

/// Bytes as a query string: kept where a URI allows them, percent-encoded elsewhere (a URI
/// that cannot be built is no input the server could receive).
pub fn query(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One operation of the API document.
pub struct Operation {
    pub method: &'static str,
    pub path: String,
    /// The body's declared content types (none: the operation takes its input in the query).
    pub content_types: Vec<String>,
}

/// The API's operations, read from its OpenAPI snapshot (crates/web/tests/openapi.json).
pub fn operations() -> &'static [Operation] {
    static OPS: std::sync::OnceLock<Vec<Operation>> = std::sync::OnceLock::new();
    OPS.get_or_init(|| {
        let doc: serde_json::Value = serde_json::from_str(include_str!("../../crates/web/tests/openapi.json"))
            .unwrap_or_else(|e| fail("openapi.json", e));
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let method = match method.as_str() {
                    "get" => "GET",
                    "post" => "POST",
                    "put" => "PUT",
                    "patch" => "PATCH",
                    "delete" => "DELETE",
                    _ => continue,
                };
                let mut content_types: Vec<String> =
                    op["requestBody"]["content"].as_object().map(|c| c.keys().cloned().collect()).unwrap_or_default();
                content_types.sort();
                out.push(Operation { method, path: path.clone(), content_types });
            }
        }
        // In the order of the seeds (fuzz/make-corpus.py): their first byte names the operation.
        out.sort_by(|a, b| (&a.path, a.method).cmp(&(&b.path, b.method)));
        out
    })
}
