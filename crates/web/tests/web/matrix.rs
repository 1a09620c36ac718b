//! Every page × every role × (its CPTS in scope, a CPTS out of scope): the status, and that
//! nothing of a CPTS out of scope shows, not even that it exists.

use axum::http::StatusCode;
use cpts_app::Role;

use crate::common::{ACCOUNTS, MINE, OTHER, signed, worlds};

/// Pages over the whole scope: every role opens them.
const SCOPE_PAGES: [&str; 5] =
    ["/", "/cpts", "/cpts?etape=signe&q=paris", "/alertes", "/simulation?reforme=projet-cnam-2019-04"];

/// Pages of one CPTS (`{}`: its id).
const CPTS_PAGES: [&str; 10] = [
    "/cpts/{}",
    "/cpts/{}/membres",
    "/cpts/{}/cycle",
    "/cpts/{}/contrat",
    "/cpts/{}/financement",
    "/cpts/{}/financement/lignes/1",
    "/cpts/{}/conventions",
    "/cpts/{}/indicateurs",
    "/cpts/{}/rapports",
    "/cpts/{}/rapports/1/1",
];

/// Pages only some roles open: (page, roles that get 200; the others 403).
const ROLE_PAGES: [(&str, &[Role]); 3] = [
    ("/journal", &[Role::Coordinateur, Role::AgentCpam, Role::AgentArs, Role::AdminNational]),
    ("/cpts/{}/journal", &[Role::Coordinateur, Role::AgentCpam, Role::AgentArs, Role::AdminNational]),
    ("/comptes", &[Role::AdminNational]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_for_every_role_in_and_out_of_scope() {
    for w in worlds().await {
        for (login, role) in ACCOUNTS {
            let mut c = signed(&w, login).await;
            let national = role == Role::AdminNational;
            for page in SCOPE_PAGES {
                let r = c.get(page).await;
                assert_eq!(r.status, StatusCode::OK, "{login} {page} ({})", w.engine);
                // The filtered list asks for Paris: Brest never shows there.
                let filtered = page.contains("q=paris");
                assert_eq!(r.body.contains(OTHER), national && !filtered, "{login} {page}: {OTHER} shows only nationally");
                assert!(r.body.contains(MINE), "{login} {page}: {MINE} shows");
            }
            for page in CPTS_PAGES {
                let mine = c.get(&page.replace("{}", MINE)).await;
                assert_eq!(mine.status, StatusCode::OK, "{login} {page} mine");
                let other = c.get(&page.replace("{}", OTHER)).await;
                let missing = c.get(&page.replace("{}", "cpts-inexistante")).await;
                if national {
                    assert_eq!(other.status, StatusCode::OK, "{login} {page} other");
                } else {
                    // Out of scope reads exactly as a CPTS that does not exist.
                    assert_eq!(other.status, StatusCode::NOT_FOUND, "{login} {page} other");
                    // The same page but for the id asked and the request's reference.
                    let same = |b: &str, id: &str| {
                        let b = b.replace(id, "X");
                        match b.find("<code>web-") {
                            Some(i) => format!("{}{}", &b[..i], &b[i + 26..]),
                            None => b,
                        }
                    };
                    assert_eq!(same(&other.body, OTHER), same(&missing.body, "cpts-inexistante"));
                    assert!(other.body.contains("Se déconnecter"), "an error page keeps the signed-in layout");
                    assert!(!other.body.contains("Brest"));
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_for_some_roles_only() {
    for w in worlds().await {
        for (login, role) in ACCOUNTS {
            let mut c = signed(&w, login).await;
            let nav = c.get("/").await.body;
            for (page, roles) in ROLE_PAGES {
                let r = c.get(&page.replace("{}", MINE)).await;
                let allowed = roles.contains(&role);
                let want = if allowed { StatusCode::OK } else { StatusCode::FORBIDDEN };
                assert_eq!(r.status, want, "{login} {page} ({})", w.engine);
                // The navigation offers the national pages only to those who may open them.
                if !page.contains("{}") {
                    assert_eq!(nav.contains(&format!("href=\"{page}\"")), allowed, "{login}: link to {page}");
                }
            }
            // The log of a CPTS out of scope reads as missing; the national log holds no row of it.
            if role != Role::AdminNational && role != Role::Membre {
                assert_eq!(c.get(&format!("/cpts/{OTHER}/journal")).await.status, StatusCode::NOT_FOUND, "{login}");
                assert!(!c.get("/journal").await.body.contains(OTHER), "{login}");
            }
        }
    }
}
