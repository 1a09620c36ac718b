//! Every form of the web pages (and the query strings of the pages that read them), sent by a
//! signed-in national admin through the whole router: session, Origin and CSRF checks, form
//! parsing, the use case and its store. Input: a byte choosing the form, a byte choosing the
//! CPTS (and report year), then the body (urlencoded, or multipart for the two uploads) or
//! the query string. No answer may be a 5xx, nothing may panic.
#![no_main]

use std::sync::Mutex;

use cpts_fuzz::server::{Call, IDS, Server};
use libfuzzer_sys::fuzz_target;

#[derive(Clone, Copy)]
enum Kind {
    Form,
    Upload,
    Query,
}

/// Every form action of crates/web/templates (POST), then the pages taking a query (GET).
const ROUTES: &[(&str, Kind)] = &[
    ("/cpts/nouvelle", Kind::Form),
    ("/cpts/{id}/identite", Kind::Form),
    ("/cpts/{id}/territoire", Kind::Form),
    ("/cpts/{id}/contrat/signature", Kind::Form),
    ("/cpts/{id}/contrat/avenant", Kind::Form),
    ("/cpts/{id}/contrat/mission", Kind::Form),
    ("/cpts/{id}/contrat/resiliation", Kind::Form),
    ("/cpts/{id}/conventions", Kind::Form),
    ("/cpts/{id}/cycle", Kind::Form),
    ("/cpts/{id}/cycle/statuts", Kind::Form),
    ("/cpts/{id}/financement/paiements", Kind::Form),
    ("/cpts/{id}/membres/correction", Kind::Form),
    ("/cpts/{id}/membres/depart", Kind::Form),
    ("/cpts/{id}/membres/fin-mandat", Kind::Form),
    ("/cpts/{id}/membres/mandat", Kind::Form),
    ("/cpts/{id}/membres/retrait", Kind::Form),
    ("/cpts/{id}/membres/structure", Kind::Form),
    ("/cpts/{id}/membres/fichier", Kind::Upload),
    ("/cpts/{id}/indicateurs/saisie", Kind::Form),
    ("/cpts/{id}/indicateurs/import", Kind::Upload),
    ("/cpts/{id}/rapports/1/{year}/rediger", Kind::Form),
    ("/cpts/{id}/rapports/1/{year}/a-corriger", Kind::Form),
    ("/cpts/{id}/rapports/1/{year}/soumettre", Kind::Form),
    ("/cpts/{id}/rapports/1/{year}/commenter", Kind::Form),
    ("/cpts/{id}/rapports/1/{year}/repondre", Kind::Form),
    ("/cpts/{id}/rapports/1/{year}/valider", Kind::Form),
    ("/simulation", Kind::Form),
    ("/comptes", Kind::Form),
    ("/comptes/coord/role", Kind::Form),
    ("/comptes/coord/retrait", Kind::Form),
    ("/comptes/coord/mot-de-passe", Kind::Form),
    ("/comptes/coord/desactiver", Kind::Form),
    ("/comptes/coord/activer", Kind::Form),
    ("/compte/jetons", Kind::Form),
    ("/", Kind::Query),
    ("/cpts", Kind::Query),
    ("/alertes", Kind::Query),
    ("/journal", Kind::Query),
    ("/simulation", Kind::Query),
    ("/cpts/{id}/journal", Kind::Query),
    ("/cpts/{id}/financement", Kind::Query),
    ("/cpts/{id}/indicateurs", Kind::Query),
    ("/cpts/{id}/membres", Kind::Query),
    ("/cpts/{id}/cycle", Kind::Query),
    ("/cpts/{id}/rapports/1/{year}", Kind::Query),
];

const BOUNDARY: &str = "cptsfuzz";

static SERVER: Mutex<Option<Server>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let [route, pick, body @ ..] = data else { return };
    let Some(&(template, kind)) = ROUTES.get(usize::from(*route) % ROUTES.len()) else { return };
    let path = template
        .replace("{id}", IDS[usize::from(pick & 3)])
        .replace("{year}", &(1 + u32::from(pick >> 2) % 3).to_string());
    let mut guard = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = guard.get_or_insert_with(Server::new);
    let csrf = server.csrf().to_owned();
    let call = match kind {
        Kind::Form => {
            let mut form = format!("_csrf={csrf}&").into_bytes();
            form.extend_from_slice(body);
            server.call(Call {
                method: "POST",
                path,
                content_type: Some("application/x-www-form-urlencoded".into()),
                body: &form,
                api: false,
            });
            return;
        }
        Kind::Upload => Call {
            method: "POST",
            path: format!("{path}?_csrf={csrf}"),
            content_type: Some(format!("multipart/form-data; boundary={BOUNDARY}")),
            body,
            api: false,
        },
        Kind::Query => Call { method: "GET", path: format!("{path}?{}", cpts_fuzz::server::query(body)), content_type: None, body: &[], api: false },
    };
    server.call(call);
});
