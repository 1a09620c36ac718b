//! Sign-in with Pro Santé Connect, end to end against a real OpenID Connect provider:
//! oidc-provider from npm (crates/web/tests/browser/oidc-provider.mjs, configured with PSC's
//! claim shapes, PKCE required, signed userinfo, back-channel logout) on a free port, and the
//! server on a real socket, driven by an HTTP client that keeps cookies and follows redirects
//! across both as a browser does.
//!
//! Needs node and `npm ci` in crates/web/tests/browser (`.ci/run` does it). Without them the
//! test says « skipped: … » and passes, except under CI (CI set), where it fails.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use cpts_app::identities::Provider;
use cpts_app::testkit::admin;
use cpts_web::oidc::{Identity, IdentityConfig};

use crate::common::{MINE, worlds};

/// Linked by the administrator to the account « coord » (coordinateur of MINE).
const KNOWN: &str = "10000000017";
/// A genuine identity no account is linked to.
const UNKNOWN: &str = "10000000025";
const CLIENT_SECRET: &str = "secret-de-test";

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The provider, killed when dropped.
struct Op {
    child: Child,
    issuer: String,
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider(base: &str, provider: Provider, clock_offset: i64) -> Op {
    let code = provider.code();
    let mut child = Command::new("node")
        .arg("oidc-provider.mjs")
        .current_dir(scripts())
        .env("PROFILE", code)
        .env("REDIRECT_URI", format!("{base}/connexion/{code}/retour"))
        .env("POST_LOGOUT_REDIRECT_URI", format!("{base}/connexion"))
        .env("BACKCHANNEL_LOGOUT_URI", format!("{base}/oidc/{code}/backchannel-logout"))
        .env("CLIENT_ID", "cpts")
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("CLOCK_OFFSET_SECONDS", clock_offset.to_string())
        .env("ID_TOKEN_TTL", "120")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node");
    // The first line is the issuer; the rest is drained (a closed pipe would kill node).
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("provider said {line:?}: {e}"));
    Op { issuer: v["issuer"].as_str().unwrap().to_owned(), child }
}

/// Our server on a real socket, configured with one provider.
struct Rig {
    base: String,
    op: Op,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn rig(app: Arc<cpts_app::App>, clock_offset: i64) -> Rig {
    rig_for(app, Provider::Psc, clock_offset).await
}

async fn rig_for(app: Arc<cpts_app::App>, provider: Provider, clock_offset: i64) -> Rig {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let op = start_provider(&base, provider, clock_offset);
    let code = provider.code();
    let (scopes, auth) = match provider {
        Provider::Psc => ("openid scope_all", "client_secret_basic"),
        Provider::ProConnect => ("openid email given_name usual_name uid siret", "client_secret_post"),
    };
    let yaml = format!(
        "{code}:\n  issuer: {}\n  client_id: cpts\n  client_secret: {CLIENT_SECRET}\n  token_auth: {auth}\n  scopes: {scopes}\n  acr_values: eidas1\n  \
         redirect_uri: {base}/connexion/{code}/retour\n  post_logout_redirect_uri: {base}/connexion\n  clock_skew_seconds: 5\n",
        op.issuer
    );
    let identity = Identity::new(&IdentityConfig::from_yaml(&yaml).unwrap()).unwrap().unwrap();
    let mut config = cpts_web::Config::local(listener.local_addr().unwrap());
    config.identity = Some(Arc::new(identity));
    let router = cpts_web::router(app, config);
    let server = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    Rig { base, op, server }
}

/// A browser: cookies kept per host, redirects followed by hand (to see each hop).
struct Browser {
    http: reqwest::Client,
}

struct Page {
    url: String,
    status: u16,
    body: String,
}

fn resolve(from: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    // An absolute path on the same origin.
    let origin_end = from.find("://").map(|i| i + 3).and_then(|i| from[i..].find('/').map(|j| i + j)).unwrap_or(from.len());
    format!("{}{location}", &from[..origin_end])
}

fn origin_of(url: &str) -> String {
    resolve(url, "/").trim_end_matches('/').to_owned()
}

impl Browser {
    fn new() -> Browser {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http }
    }

    /// GET, or POST a form (with the page's origin, as a browser sends it), then follow redirects.
    async fn go(&self, url: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut url = url.to_owned();
        let first = match form {
            Some(f) => self.http.post(&url).header("origin", origin_of(&url)).form(f).send().await.unwrap(),
            None => self.http.get(&url).send().await.unwrap(),
        };
        let mut res = first;
        for _ in 0..12 {
            if !res.status().is_redirection() {
                break;
            }
            let loc = res.headers().get("location").unwrap().to_str().unwrap().to_owned();
            url = resolve(&url, &loc);
            res = self.http.get(&url).send().await.unwrap();
        }
        let status = res.status().as_u16();
        Page { url, status, body: res.text().await.unwrap() }
    }

    /// One request, no redirect followed: the status and the Location.
    async fn hop(&self, url: &str) -> (u16, String) {
        let res = self.http.get(url).send().await.unwrap();
        let loc = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        (res.status().as_u16(), resolve(url, &loc))
    }

    /// At the provider's sign-in page: give the RPPS (the simulated CPS card), follow on.
    async fn card(&self, page: &Page, rpps: &str) -> Page {
        assert_eq!(page.status, 200, "provider's sign-in page: {}", page.body);
        let action = attr(&page.body, "action=\"").expect("sign-in form");
        self.go(&resolve(&page.url, &action), Some(&[("login", rpps)])).await
    }

    /// Sign in through the provider from our sign-in link; the last page reached.
    async fn sign_in(&self, rig: &Rig, rpps: &str, next: &str) -> Page {
        let at_provider = self.go(&format!("{}/connexion/psc?suite={}", rig.base, next), None).await;
        assert!(at_provider.url.starts_with(&rig.op.issuer), "sent to the provider: {}", at_provider.url);
        self.card(&at_provider, rpps).await
    }

    /// The session's CSRF token, from any of our pages with a form.
    async fn csrf(&self, rig: &Rig) -> String {
        let p = self.go(&format!("{}/", rig.base), None).await;
        attr(&p.body, "name=\"_csrf\" value=\"").expect("a form with a CSRF token")
    }

    async fn signed_in(&self, rig: &Rig) -> bool {
        let (status, to) = self.hop(&format!("{}/cpts/{MINE}", rig.base)).await;
        match status {
            200 => true,
            303 if to.contains("/connexion") => false,
            s => panic!("unexpected {s} → {to}"),
        }
    }
}

/// The value after `marker` up to the next double quote, HTML entities for & undone.
fn attr(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)? + marker.len();
    Some(html[at..].split('"').next()?.replace("&amp;", "&").replace("&#x2F;", "/").replace("&#38;", "&"))
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()?.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn with_param(url: &str, key: &str, value: &str) -> String {
    let (path, q) = url.split_once('?').unwrap();
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
    for (k, v) in &mut pairs {
        if k == key {
            *v = value.to_owned();
        }
    }
    format!("{path}?{}", serde_urlencoded::to_string(&pairs).unwrap())
}

/// Node and the npm packages, or a reason to skip (a failure under CI).
fn ready() -> bool {
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let modules = scripts().join("node_modules/oidc-provider").is_dir();
    if node && modules {
        return true;
    }
    let why = if node { "npm ci not run in crates/web/tests/browser" } else { "node not found" };
    assert!(std::env::var_os("CI").is_none(), "OIDC end-to-end test needs node and oidc-provider: {why}");
    eprintln!("skipped: {why}");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pro_sante_connect_end_to_end() {
    if !ready() {
        return;
    }
    for w in worlds().await {
        let engine = w.engine;
        w.app.link_identity(&admin(), "coord", Provider::Psc, KNOWN).await.unwrap();
        let rig = rig(w.app.clone(), 0).await;

        // The sign-in page offers the provider beside the password form.
        let b = Browser::new();
        let login = b.go(&format!("{}/connexion", rig.base), None).await;
        assert!(login.body.contains("Se connecter avec Pro Santé Connect"), "{engine}");
        assert!(login.body.contains("name=\"password\""), "{engine}");

        // A linked RPPS opens the linked account, with its rights and no more.
        let home = b.sign_in(&rig, KNOWN, &format!("/cpts/{MINE}")).await;
        assert_eq!(home.status, 200, "{engine}: {}", home.body);
        assert_eq!(home.url, format!("{}/cpts/{MINE}", rig.base), "{engine}: back where the user was going");
        assert!(home.body.contains("Compte coord"), "{engine}: signed in as the linked account");
        let members = b.go(&format!("{}/cpts/{MINE}/membres", rig.base), None).await;
        assert_eq!(members.status, 200, "{engine}: the coordinator's page");
        let accounts = b.go(&format!("{}/comptes", rig.base), None).await;
        assert_eq!(accounts.status, 403, "{engine}: not an administrator");

        // RP-initiated logout: our session ends, the browser is sent to the provider's
        // end_session endpoint with the ID token as hint, and back to our sign-in page.
        let token = b.csrf(&rig).await;
        let out = b.go(&format!("{}/deconnexion", rig.base), Some(&[("_csrf", token.as_str())])).await;
        assert_eq!(out.status, 200, "{engine}: {}", out.body);
        let end = attr(&out.body, "url=").expect("a refresh to the provider");
        assert!(end.starts_with(&format!("{}/session/end?", rig.op.issuer)), "{engine}: {end}");
        assert!(query_param(&end, "id_token_hint").is_some_and(|t| t.split('.').count() == 3), "{engine}: {end}");
        assert!(!b.signed_in(&rig).await, "{engine}: signed out of cpts");
        let confirm = b.go(&end, None).await;
        let xsrf = attr(&confirm.body, "name=\"xsrf\" value=\"").expect("the provider's logout confirmation");
        let action = attr(&confirm.body, "action=\"").unwrap();
        let back = b.go(&resolve(&confirm.url, &action), Some(&[("xsrf", xsrf.as_str()), ("logout", "yes")])).await;
        assert_eq!(back.url, format!("{}/connexion", rig.base), "{engine}: back to our sign-in page");

        // The callback replayed (same code, same state): refused, the flow was used once.
        let b = Browser::new();
        let at_provider = b.go(&format!("{}/connexion/psc", rig.base), None).await;
        let action = attr(&at_provider.body, "action=\"").unwrap();
        let res = b.http.post(resolve(&at_provider.url, &action)).form(&[("login", KNOWN)]).send().await.unwrap();
        let mut to = resolve(&at_provider.url, res.headers()["location"].to_str().unwrap());
        while !to.starts_with(&rig.base) {
            to = b.hop(&to).await.1;
        }
        let callback = to;
        assert!(callback.contains("/connexion/psc/retour?"), "{engine}: {callback}");
        assert_eq!(b.go(&callback, None).await.status, 200, "{engine}: first use signs in");
        let again = b.go(&callback, None).await;
        assert_eq!(again.status, 400, "{engine}: {}", again.body);
        assert!(again.body.contains("aucune demande de connexion en cours"), "{engine}");

        // Back-channel logout: the user signs out at the provider; it tells us; the session ends.
        assert!(b.signed_in(&rig).await, "{engine}");
        let confirm = b.go(&format!("{}/session/end", rig.op.issuer), None).await;
        let xsrf = attr(&confirm.body, "name=\"xsrf\" value=\"").expect("the provider's logout confirmation");
        let action = attr(&confirm.body, "action=\"").unwrap();
        b.go(&resolve(&confirm.url, &action), Some(&[("xsrf", xsrf.as_str()), ("logout", "yes")])).await;
        assert!(!b.signed_in(&rig).await, "{engine}: the provider's back-channel logout ended the session");

        // A forged logout token is refused.
        let forged = b.http.post(format!("{}/oidc/psc/backchannel-logout", rig.base)).form(&[("logout_token", "e30.e30.AAAA")]).send().await.unwrap();
        assert_eq!(forged.status().as_u16(), 400, "{engine}");

        // A bad state: refused, no session.
        let b = Browser::new();
        let at_provider = b.go(&format!("{}/connexion/psc", rig.base), None).await;
        let action = attr(&at_provider.body, "action=\"").unwrap();
        let res = b.http.post(resolve(&at_provider.url, &action)).form(&[("login", KNOWN)]).send().await.unwrap();
        let mut to = resolve(&at_provider.url, res.headers()["location"].to_str().unwrap());
        while !to.starts_with(&rig.base) {
            to = b.hop(&to).await.1;
        }
        let forged = with_param(&to, "state", "un-autre-etat");
        let refused = b.go(&forged, None).await;
        assert_eq!(refused.status, 400, "{engine}: {}", refused.body);
        assert!(!b.signed_in(&rig).await, "{engine}: a bad state opens nothing");

        // A nonce other than the session's (an authorization request not ours, its code
        // brought back under our state): the ID token is refused.
        let b = Browser::new();
        let (_, authorize) = b.hop(&format!("{}/connexion/psc", rig.base)).await;
        let foreign = with_param(&authorize, "nonce", "nonce-d-une-autre-demande");
        let at_provider = b.go(&foreign, None).await;
        let refused = b.card(&at_provider, KNOWN).await;
        assert_eq!(refused.status, 403, "{engine}: {}", refused.body);
        assert!(refused.body.contains("nonce"), "{engine}: {}", refused.body);
        assert!(!b.signed_in(&rig).await, "{engine}");

        // A genuine identity linked to no account: told so, in French, and no session.
        let b = Browser::new();
        let unknown = b.sign_in(&rig, UNKNOWN, "/").await;
        assert_eq!(unknown.status, 403, "{engine}: {}", unknown.body);
        assert!(unknown.body.contains("aucun compte cpts n&#39;y est rattaché") || unknown.body.contains("aucun compte cpts n'y est rattaché"), "{engine}: {}", unknown.body);
        assert!(unknown.body.contains(&format!("RPPS {UNKNOWN}")), "{engine}");
        assert!(!b.signed_in(&rig).await, "{engine}");

        // Unlinked by the administrator: the RPPS no longer opens the account.
        w.app.unlink_identity(&admin(), Provider::Psc, KNOWN).await.unwrap();
        let b = Browser::new();
        assert_eq!(b.sign_in(&rig, KNOWN, "/").await.status, 403, "{engine}");
        w.app.link_identity(&admin(), "coord", Provider::Psc, KNOWN).await.unwrap();
        drop(rig);

        // A provider whose clock is ten minutes behind: its ID token is already expired.
        let late = rig_late(w.app.clone()).await;
        let b = Browser::new();
        let expired = b.sign_in(&late, KNOWN, "/").await;
        assert_eq!(expired.status, 403, "{engine}: {}", expired.body);
        assert!(expired.body.contains("jeton expiré"), "{engine}: {}", expired.body);
        assert!(!b.signed_in(&late).await, "{engine}");
    }
}

async fn rig_late(app: Arc<cpts_app::App>) -> Rig {
    rig(app, -600).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proconnect_end_to_end() {
    if !ready() {
        return;
    }
    for w in worlds().await {
        let engine = w.engine;
        // The ARS agent's account, linked by the e-mail the administrator typed.
        w.app.link_identity(&admin(), "ars", Provider::ProConnect, "Agent.ARS@ars.sante.fr").await.unwrap();
        let rig = rig_for(w.app.clone(), Provider::ProConnect, 0).await;
        let b = Browser::new();
        let login = b.go(&format!("{}/connexion", rig.base), None).await;
        assert!(login.body.contains("Se connecter avec ProConnect") && !login.body.contains("Pro Santé Connect</a>"), "{engine}: {}", login.body);
        let at_provider = b.go(&format!("{}/connexion/proconnect?suite=/cpts/{MINE}", rig.base), None).await;
        let page = b.card(&at_provider, "agent.ars@ars.sante.fr").await;
        assert_eq!(page.status, 200, "{engine}: {}", page.body);
        assert!(page.body.contains("Compte ars"), "{engine}: signed in as the linked account");
        // An agent whose e-mail is linked to no account.
        let b = Browser::new();
        let at_provider = b.go(&format!("{}/connexion/proconnect", rig.base), None).await;
        let refused = b.card(&at_provider, "inconnu@cpam.fr").await;
        assert_eq!(refused.status, 403, "{engine}: {}", refused.body);
        assert!(refused.body.contains("inconnu@cpam.fr") && refused.body.contains("adresse électronique"), "{engine}: {}", refused.body);
        assert!(!b.signed_in(&rig).await, "{engine}");
    }
}
