//! The JSON API under `/api/v1`: the same use cases as the pages, for machine clients (a
//! CPAM's payment tools, an ARS's dashboards, a CPTS's software). A client authenticates with
//! an API token its user created on the « Jetons d'API » page; the token carries that user's
//! rights. Amounts are integer cents, dates ISO 8601, errors one JSON shape (`ErrorBody`).
//!
//! The OpenAPI document is generated from the handlers themselves (utoipa-axum registers each
//! route and its documentation together: they cannot drift), served at
//! `/api/v1/openapi.json` and shown at `/api/v1/docs` as a plain HTML page.

mod contracts;
mod cpts;
mod docs;
pub(crate) mod error;
mod extract;
mod funding;
mod ledger;
mod reports;
mod values;
mod lifecycle;
mod members;
mod oversight;
mod registry;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use cpts_domain::ids::CptsId;
use jiff::civil::Date;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Web;
use error::ApiError;

pub const PREFIX: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cpts — API",
        version = "1",
        description = "API JSON de cpts : CPTS, territoires, membres, cycle de vie, contrats ACI, grand livre, valeurs d'indicateurs, rapports d'activité, alertes, journal, et le moteur de financement sur un contrat envoyé. Authentification par jeton d'API (en-tête `Authorization: Bearer <jeton>`), créé par un utilisateur sur la page « Jetons d'API » et portant ses droits. Montants en centimes entiers, dates ISO 8601, erreurs au format `ErrorBody`.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&Security),
    tags(
        (name = "compte", description = "Le titulaire du jeton et ses droits"),
        (name = "cpts", description = "Les CPTS du périmètre"),
        (name = "financement", description = "Le moteur de financement ACI sur un contrat envoyé, et les simulations de réforme"),
        (name = "contrats", description = "Les contrats ACI d'une CPTS : contrat en vigueur, calendrier des missions, signature, avenants, résiliation"),
        (name = "grand-livre", description = "Le grand livre d'une CPTS : lignes par financeur, « pourquoi ce montant », versements, conventions"),
        (name = "indicateurs", description = "Les valeurs d'indicateurs d'une CPTS : liste, saisie, import, historique, atteinte"),
        (name = "rapports", description = "Les rapports d'activité : versions, actes de l'instruction, documents PDF, CSV, XLSX"),
        (name = "registre", description = "Créer une CPTS, son identité, son territoire ; recherche de communes ; chevauchements"),
        (name = "membres", description = "Les membres d'une CPTS (liste, import, départs, corrections, historique, export), ses structures et sa gouvernance"),
        (name = "cycle", description = "Le cycle de vie d'une CPTS : étapes enregistrées et possibles, vérification des statuts"),
        (name = "alertes", description = "Les alertes du périmètre : en retard, à venir, à faire"),
        (name = "journal", description = "Le journal d'audit : qui a écrit quoi, quand, avant et après"),
        (name = "tableau-de-bord", description = "Les chiffres du tableau de bord du périmètre"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some("Jeton d'API (cpts_…), créé sur la page « Jetons d'API » de l'application web".into());
        components.add_security_scheme("jeton", SecurityScheme::Http(bearer));
    }
}

fn api() -> OpenApiRouter<Web> {
    let r = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(cpts::me))
        .routes(routes!(cpts::list))
        .routes(routes!(cpts::show))
        .routes(routes!(funding::year))
        .routes(routes!(funding::schedule))
        .routes(routes!(funding::simulate))
        .routes(routes!(funding::scope));
    // Each resource module registers its own routes.
    let r = registry::routes(r);
    let r = contracts::routes(r);
    let r = ledger::routes(r);
    let r = values::routes(r);
    reports::routes(r)
}

/// The OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

/// The API's routes, with its document and its docs page.
pub fn routes() -> Router<Web> {
    let (router, doc) = api().split_for_parts();
    let json: Arc<str> = doc.to_pretty_json().unwrap_or_default().into();
    let page: Arc<str> = docs::page(&doc).into();
    router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json.to_string()).into_response() }
            }),
        )
        .route(
            "/api/v1/docs",
            get(move || {
                let page = page.clone();
                async move { axum::response::Html(page.to_string()) }
            }),
        )
        .route("/api", get(|| async { ApiError::not_found() }))
        .route("/api/{*rest}", axum::routing::any(|| async { ApiError::not_found() }))
}

/// A CPTS id from a path; a malformed one is a resource that does not exist.
fn cpts_id(s: &str) -> Result<CptsId, ApiError> {
    s.parse().map_err(|_| ApiError::from(cpts_app::AppError::NotFound(format!("CPTS « {} » introuvable", cpts_domain::text::quoted(s)))))
}

/// An optional date parameter, ISO 8601 (YYYY-MM-DD).
fn date_param(name: &str, v: Option<&str>) -> Result<Option<Date>, ApiError> {
    v.filter(|s| !s.is_empty())
        .map(|s| s.parse::<Date>().map_err(|_| ApiError::field(name, format!("date attendue au format AAAA-MM-JJ (reçu « {} »)", cpts_domain::text::quoted(s)))))
        .transpose()
}
