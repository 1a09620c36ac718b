//! The pages, one module per resource. Each handler: extract, call one use case, render.

mod accounts;
mod alerts;
mod audit;
mod contract;
mod conventions;
mod cpts;
mod dashboard;
mod ledger;
mod lifecycle;
mod login;
mod members;
mod registry;
mod reports;
mod simulation;
mod tokens;
mod values;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use cpts_app::{Action, Principal, Role};
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::Actor;

use crate::error::WebError;

use crate::sessions::Signed;
use crate::{Web, urls};

pub use login::backchannel_logout;

pub fn routes() -> Router<Web> {
    Router::new()
        .route(urls::HOME, get(dashboard::page))
        .route(urls::SIGN_IN, get(login::form).post(login::submit))
        .route(urls::SIGN_OUT, axum::routing::post(login::sign_out))
        .route("/connexion/{provider}", get(login::provider_start))
        .route("/connexion/{provider}/retour", get(login::provider_callback))
        .route(urls::CPTS_LIST, get(cpts::list))
        .route(urls::ALERTS, get(alerts::page))
        .route(urls::AUDIT, get(audit::page))
        .route(urls::SIMULATION, get(simulation::page).post(simulation::pasted))
        .route(urls::ACCOUNTS, get(accounts::page).post(accounts::create))
        .route("/comptes/{login}/{act}", axum::routing::post(accounts::act))
        .route(urls::TOKENS, get(tokens::page).post(tokens::create))
        .route("/compte/jetons/{prefix}/revoquer", axum::routing::post(tokens::revoke))
        .route("/cpts/{id}/journal", get(audit::of_cpts))
        .route("/cpts/nouvelle", get(registry::new_form).post(registry::create))
        .route("/cpts/{id}", get(cpts::page))
        .route("/cpts/{id}/identite", get(registry::edit_form).post(registry::edit))
        .route("/cpts/{id}/territoire", get(registry::territory).post(registry::set_territory))
        .route("/cpts/{id}/contrat", get(contract::page))
        .route("/cpts/{id}/contrat/{act}", axum::routing::post(contract::act))
        .route("/cpts/{id}/conventions", get(conventions::page).post(conventions::add))
        .route("/cpts/{id}/membres", get(members::page))
        .route("/cpts/{id}/membres/{act}", axum::routing::post(members::act))
        .route(
            "/cpts/{id}/membres/fichier",
            axum::routing::post(members::import).layer(DefaultBodyLimit::max(crate::upload::MAX_UPLOAD + (64 << 10))),
        )
        .route("/cpts/{id}/membres/liste/{file}", get(members::export))
        .route("/cpts/{id}/cycle", get(lifecycle::page).post(lifecycle::record))
        .route("/cpts/{id}/cycle/statuts", axum::routing::post(lifecycle::statutes))
        .route("/cpts/{id}/financement", get(ledger::page))
        .route("/cpts/{id}/financement/lignes/{line}", get(ledger::line))
        .route("/cpts/{id}/financement/paiements", axum::routing::post(ledger::pay))
        .route("/cpts/{id}/indicateurs", get(values::page))
        .route("/cpts/{id}/indicateurs/saisie", post(values::enter))
        .route(
            "/cpts/{id}/indicateurs/import",
            // The file's own cap is checked while reading; this bounds the whole request.
            post(values::import).layer(DefaultBodyLimit::max(crate::upload::MAX_UPLOAD + (64 << 10))),
        )
        .route("/cpts/{id}/indicateurs/{code}/serie.csv", get(values::series_csv))
        .route("/cpts/{id}/rapports", get(reports::list))
        .route("/cpts/{id}/rapports/{contract}/{year}", get(reports::page))
        .route("/cpts/{id}/rapports/{contract}/{year}/{part}", get(reports::download).post(reports::act))
        .route(urls::STYLE, get(style))
        .fallback(|| async { crate::error::WebError::NotFound })
}

async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], include_str!("../../static/style.css"))
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What the layout shows around every signed-in page: who, their roles, the navigation (only
/// what they may open), the CSRF token for the sign-out form.
pub struct Chrome {
    pub name: String,
    pub login: String,
    pub roles: Vec<String>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
}

impl Chrome {
    pub fn new(s: &Signed, current: &str) -> Chrome {
        let p = &s.who;
        let mut nav = vec![
            NavItem { href: urls::HOME, label: "Tableau de bord", current: false },
            NavItem { href: urls::CPTS_LIST, label: "CPTS", current: false },
            NavItem { href: urls::ALERTS, label: "Alertes", current: false },
            NavItem { href: urls::SIMULATION, label: "Simulation", current: false },
        ];
        if holds_any(p, Action::ReadAudit) {
            nav.push(NavItem { href: urls::AUDIT, label: "Journal", current: false });
        }
        if may_nationally(p, Action::ManageAccounts) {
            nav.push(NavItem { href: urls::ACCOUNTS, label: "Comptes", current: false });
        }
        if holds_any(p, Action::OwnTokens) {
            nav.push(NavItem { href: urls::TOKENS, label: "Jetons d'API", current: false });
        }
        for n in &mut nav {
            n.current = n.href == current;
        }
        Chrome {
            name: p.name.clone(),
            login: p.login.clone(),
            roles: p.grants.iter().map(|g| format!("{} ({})", g.role.label(), g.scope)).collect(),
            csrf: s.csrf.clone(),
            nav,
        }
    }
}

/// Whether some grant of `p` allows `action` somewhere (to offer a page at all).
pub fn holds_any(p: &Principal, action: Action) -> bool {
    p.allowed_somewhere(action).is_some()
}

pub fn may_nationally(p: &Principal, action: Action) -> bool {
    p.allowed_nationally(action).is_some()
}

/// One option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: &str, label: &str, selected: bool) -> Choice {
        Choice { value: value.into(), label: label.into(), selected }
    }
}

/// A CPTS id from a URL; a malformed one is a page that does not exist.
pub fn cpts_id(s: &str) -> Result<CptsId, WebError> {
    s.parse().map_err(|_| WebError::NotFound)
}

/// The party a role acts for in a CPTS's business (provenance of values, report acts);
/// `otherwise` for the national admin, who may act for any.
pub fn actor_of(role: Option<Role>, otherwise: Actor) -> Actor {
    match role {
        Some(Role::Coordinateur | Role::Membre) => Actor::Cpts,
        Some(Role::AgentCpam) => Actor::Cpam,
        Some(Role::AgentArs) => Actor::Ars,
        Some(Role::AdminNational) | None => otherwise,
    }
}

/// A file to download: its type and name (`attachment`), not cached.
pub fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> axum::response::Response {
    let disposition = format!("attachment; filename=\"{}\"", name.replace(['"', '\\', '\r', '\n'], "_"));
    let mut res = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}
