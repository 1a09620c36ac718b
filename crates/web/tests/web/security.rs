//! Sessions, CSRF, Origin, headers and sign-in throttling.

use axum::http::StatusCode;
use cpts_app::testkit::admin;

use crate::common::{Client, ORIGIN, PASSWORD, config, signed, worlds, worlds_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_and_carry_the_security_headers() {
    for w in worlds().await {
        let mut c = Client::new(&w);
        let r = c.get("/cpts/cpts-paris-18?x=1").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", w.engine);
        assert_eq!(r.location(), "/connexion?suite=%2Fcpts%2Fcpts-paris-18%3Fx%3D1");
        let r = c.get("/connexion").await;
        assert_eq!(r.status, StatusCode::OK);
        for (h, v) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(r.headers.get(h).and_then(|v| v.to_str().ok()), Some(v), "{h}");
        }
        let csp = r.headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(r.headers.get("x-request-id").is_some());
        let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"), "{cookie}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_rotates_the_session_and_signing_out_ends_it() {
    for w in worlds().await {
        let mut c = Client::new(&w);
        c.get("/connexion?suite=%2Fcpts").await;
        let before = c.cookie.clone().unwrap();
        let r = c.post("/connexion", &[("login", "coord"), ("password", PASSWORD), ("suite", "/cpts")]).await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/cpts"), "{}", w.engine);
        let after = c.cookie.clone().unwrap();
        assert_ne!(before, after, "the session id changes at sign-in");
        assert_eq!(c.get("/").await.status, StatusCode::OK);
        // The planted id opens nothing.
        let mut planted = Client::new(&w);
        planted.cookie = Some(before);
        assert_eq!(planted.get("/").await.status, StatusCode::SEE_OTHER);
        // Sign out: the old cookie replayed opens nothing either.
        c.get("/").await;
        let r = c.post("/deconnexion", &[]).await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/connexion"));
        let mut replay = Client::new(&w);
        replay.cookie = Some(after);
        assert_eq!(replay.get("/").await.status, StatusCode::SEE_OTHER);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_after_sign_in_stays_on_the_site() {
    for w in worlds().await {
        for evil in ["//evil.example/x", "/\\evil.example", "https://evil.example/"] {
            let mut c = Client::new(&w);
            c.get("/connexion").await;
            let r = c.post("/connexion", &[("login", "coord"), ("password", PASSWORD), ("suite", evil)]).await;
            assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/"), "{evil}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_need_our_origin_and_the_session_token() {
    for w in worlds().await {
        let mut c = signed(&w, "coord").await;
        c.get("/").await;
        let token = c.csrf.clone().unwrap();
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, &'a str);
        let cases: [Case; 4] = [
            (&[], Some(ORIGIN), "no token"),
            (&[("_csrf", "0000")], Some(ORIGIN), "wrong token"),
            (&[("_csrf", token.as_str())], Some("http://evil.example"), "foreign origin"),
            (&[("_csrf", token.as_str())], None, "no origin nor referer"),
        ];
        for (fields, origin, what) in cases {
            let r = c.post_raw("/deconnexion", fields, origin).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{what} ({})", w.engine);
            assert!(r.body.contains("Demande refusée"), "{what}");
            // Still signed in: the refused request did nothing.
            assert_eq!(c.get("/").await.status, StatusCode::OK, "{what}");
        }
        // Another session's token is no good either.
        let mut other = signed(&w, "cpam").await;
        other.get("/").await;
        let theirs = other.csrf.clone().unwrap();
        let r = c.post_raw("/deconnexion", &[("_csrf", theirs.as_str())], Some(ORIGIN)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_or_a_disabled_account_ends_the_sessions() {
    for w in worlds().await {
        let mut c = signed(&w, "coord").await;
        w.app.set_password(&admin(), "coord", "un tout autre mot de passe").await.unwrap();
        assert_eq!(c.get("/").await.status, StatusCode::SEE_OTHER, "{}", w.engine);
        let mut d = signed(&w, "cpam").await;
        w.app.set_active(&admin(), "cpam", false).await.unwrap();
        assert_eq!(d.get("/cpts").await.status, StatusCode::SEE_OTHER);
        let r = Client::new(&w).try_sign_in("cpam", PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_throttled_per_account_and_per_address() {
    let mut config = crate::common::config();
    config.login = cpts_web::LoginLimits { window_seconds: 15 * 60, per_login: 3, per_address: 5 };
    for w in worlds_with(config).await {
        let mut c = Client::new(&w);
        for _ in 0..3 {
            let r = c.try_sign_in("coord", "pas le bon mot de passe").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", w.engine);
            assert!(r.body.contains("identifiant ou mot de passe incorrect"));
            assert!(r.body.contains("value=\"coord\""), "the login typed is kept");
        }
        // The right password no longer opens the account for the window.
        let r = c.try_sign_in("coord", PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(r.body.contains("Trop d&#39;essais"), "{}", r.body);
        // Another account from the same address: two more failures reach the address's limit.
        for _ in 0..2 {
            assert_eq!(c.try_sign_in("cpam", "faux").await.status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(c.try_sign_in("ars", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    }
}

/// A session ends after `idle` without a request, not `idle` after sign-in: every request keeps
/// it alive (written at most every quarter of `idle`, never at each request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_session_outlives_the_idle_delay_and_an_idle_one_ends() {
    let config = cpts_web::Config { idle: time::Duration::seconds(3), ..config() };
    let w = worlds_with(config).await.into_iter().next().unwrap();
    let mut c = signed(&w, "coord").await;
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
        let r = c.get("/").await;
        assert_eq!(r.status, StatusCode::OK, "an active session must stay open");
    }
    tokio::time::sleep(std::time::Duration::from_millis(4200)).await;
    assert_eq!(c.get("/").await.status, StatusCode::SEE_OTHER, "an idle session must end");
}
