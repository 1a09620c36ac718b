//! The registry over the API: create a CPTS, edit its identity and its territory (with the
//! optimistic versions the pages use), search communes, the overlaps of the scope. The routes
//! of the registry's neighbours (members, lifecycle, oversight) are registered here too.

use axum::extract::State;
use axum::http::StatusCode;
use cpts_app::AppError;
use cpts_app::registry::{EditIdentity, IdsInput, NewCpts, OverlapView, SetTerritory};
use cpts_domain::ids::CptsId;
use cpts_store::CptsRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::cpts::TerritoryOut;
use super::cpts_id;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Page, PageQuery, Path, Query};
use crate::Web;

/// Every route of the registry, members, lifecycle and oversight resources.
pub fn routes(r: OpenApiRouter<Web>) -> OpenApiRouter<Web> {
    r.routes(routes!(create))
        .routes(routes!(edit_identity))
        .routes(routes!(territory, set_territory))
        .routes(routes!(communes))
        .routes(routes!(overlaps))
        .routes(routes!(super::members::list))
        .routes(routes!(super::members::import).layer(axum::extract::DefaultBodyLimit::max(crate::upload::MAX_UPLOAD + (64 << 10))))
        .routes(routes!(super::members::export))
        .routes(routes!(super::members::edit, super::members::remove))
        .routes(routes!(super::members::leave))
        .routes(routes!(super::members::history))
        .routes(routes!(super::members::structures, super::members::add_structure))
        .routes(routes!(super::members::mandates, super::members::add_mandate))
        .routes(routes!(super::members::end_mandate))
        .routes(routes!(super::lifecycle::show))
        .routes(routes!(super::lifecycle::record))
        .routes(routes!(super::lifecycle::statutes))
        .routes(routes!(super::oversight::alerts))
        .routes(routes!(super::oversight::cpts_alerts))
        .routes(routes!(super::oversight::audit))
        .routes(routes!(super::oversight::cpts_audit))
        .routes(routes!(super::oversight::dashboard))
}

/// An application error whose field names are the API's (`fields`: application name → API
/// name); the others pass as they are.
pub(super) fn renamed(e: AppError, fields: &[(&str, &str)]) -> ApiError {
    match e {
        AppError::Invalid(errors) => AppError::Invalid(
            errors
                .into_iter()
                .map(|mut f| {
                    if let Some((_, to)) = fields.iter().find(|(from, _)| *from == f.field) {
                        f.field = (*to).to_owned();
                    }
                    f
                })
                .collect(),
        )
        .into(),
        e => e.into(),
    }
}

/// The identity's form fields, by the application's names.
const ID_FIELDS: [(&str, &str); 7] = [
    ("nom", "name"),
    ("identifiant", "id"),
    ("forme juridique", "legal_form"),
    ("RNA", "rna"),
    ("SIRET", "siret"),
    ("FINESS", "finess"),
    ("siège", "seat"),
];

fn opt(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A new CPTS.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIn {
    pub name: String,
    /// Identifier (`cpts-…`); derived from the name when absent.
    pub id: Option<String>,
    /// Default « association loi 1901 ».
    pub legal_form: Option<String>,
    /// RNA number (W…).
    pub rna: Option<String>,
    pub siret: Option<String>,
    pub finess: Option<String>,
    /// The seat's commune: INSEE code or name.
    pub seat: Option<String>,
}

/// A CPTS's identity, and the version an edit names.
#[derive(Serialize, ToSchema)]
pub struct IdentityOut {
    pub id: String,
    pub name: String,
    pub legal_form: String,
    pub rna: Option<String>,
    pub siret: Option<String>,
    pub finess: Option<String>,
    /// INSEE code of the seat's commune.
    pub seat: Option<String>,
    /// Version of the identity: the next edit names it.
    pub version: i64,
}

fn identity_out(id: &CptsId, i: &cpts_domain::registry::Identity, version: i64) -> IdentityOut {
    IdentityOut {
        id: id.to_string(),
        name: i.name.clone(),
        legal_form: i.legal_form.clone(),
        rna: i.rna.as_ref().map(ToString::to_string),
        siret: i.siret.as_ref().map(ToString::to_string),
        finess: i.finess.as_ref().map(ToString::to_string),
        seat: i.seat.as_ref().map(ToString::to_string),
        version,
    }
}

/// A new CPTS, its territory empty (set it with `PUT /api/v1/cpts/{id}/territory`).
#[utoipa::path(post, path = "/api/v1/cpts", tag = "registre", security(("jeton" = [])), request_body = CreateIn,
    responses((status = 201, body = IdentityOut, description = "Créée"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "Identifiant déjà pris"), (status = 422, body = ErrorBody)))]
pub async fn create(State(web): State<Web>, Caller(p): Caller, Json(b): Json<CreateIn>) -> Result<(StatusCode, axum::Json<IdentityOut>), ApiError> {
    let id = match opt(b.id.as_ref()) {
        None => None,
        Some(t) => Some(t.parse::<CptsId>().map_err(|e| ApiError::field("id", e))?),
    };
    let input = IdsInput { rna: opt(b.rna.as_ref()), siret: opt(b.siret.as_ref()), finess: opt(b.finess.as_ref()), seat: opt(b.seat.as_ref()) };
    let ids = web.app.parse_ids(&input).map_err(|e| renamed(e, &ID_FIELDS))?;
    let cmd = NewCpts { id, name: b.name.trim().to_owned(), legal_form: opt(b.legal_form.as_ref()), ids };
    let r: CptsRecord = web.app.create_cpts(&p, cmd).await.map_err(|e| renamed(e, &ID_FIELDS))?;
    Ok((StatusCode::CREATED, axum::Json(identity_out(&r.id, &r.identity, r.version))))
}

/// An identity edit: what is given replaces, the rest is kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityIn {
    /// The identity's version the edit starts from (`version` of `GET /api/v1/cpts/{id}`); a
    /// stale one is a conflict (409).
    pub version: i64,
    pub name: Option<String>,
    pub rna: Option<String>,
    pub siret: Option<String>,
    pub finess: Option<String>,
    /// INSEE code or name of the seat's commune.
    pub seat: Option<String>,
}

/// Edit a CPTS's identity (PATCH or PUT: the fields given replace).
#[utoipa::path(method(patch, put), path = "/api/v1/cpts/{id}", tag = "registre", security(("jeton" = [])), request_body = IdentityIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 200, body = IdentityOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Version périmée : relisez la CPTS"), (status = 422, body = ErrorBody)))]
pub async fn edit_identity(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Json(b): Json<IdentityIn>) -> Result<axum::Json<IdentityOut>, ApiError> {
    let id = cpts_id(&id)?;
    let input = IdsInput { rna: opt(b.rna.as_ref()), siret: opt(b.siret.as_ref()), finess: opt(b.finess.as_ref()), seat: opt(b.seat.as_ref()) };
    let ids = web.app.parse_ids(&input).map_err(|e| renamed(e, &ID_FIELDS))?;
    let cmd = EditIdentity { id, version: b.version, name: opt(b.name.as_ref()), ids };
    let done = web.app.edit_identity(&p, cmd).await.map_err(|e| renamed(e, &ID_FIELDS))?;
    Ok(axum::Json(identity_out(&done.id, &done.identity, done.version)))
}

/// A commune of the reference (INSEE, populations légales).
#[derive(Serialize, ToSchema)]
pub struct CommuneOut {
    /// INSEE code.
    pub code: String,
    pub name: String,
    pub departement: String,
    pub region: String,
    /// Population municipale; absent for communes déléguées and associées.
    pub population: Option<u64>,
}

fn commune_out(c: &cpts_domain::geo::Commune) -> CommuneOut {
    CommuneOut { code: c.code.to_string(), name: c.name.clone(), departement: c.departement.clone(), region: c.region.clone(), population: c.population }
}

/// Communes two CPTS claim.
#[derive(Serialize, ToSchema)]
pub struct OverlapOut {
    pub a: String,
    pub a_name: String,
    pub b: String,
    pub b_name: String,
    /// INSEE codes of the communes in common.
    pub communes: Vec<String>,
    /// Their population.
    pub population: u64,
}

fn overlap_out(o: &OverlapView) -> OverlapOut {
    OverlapOut {
        a: o.a.id.to_string(),
        a_name: o.a.name.clone(),
        b: o.b.id.to_string(),
        b_name: o.b.name.clone(),
        communes: o.communes.iter().map(ToString::to_string).collect(),
        population: o.population,
    }
}

/// A CPTS's territory: its communes, what they sum up to, its version.
#[derive(Serialize, ToSchema)]
pub struct TerritoryState {
    pub id: String,
    pub communes: Vec<CommuneOut>,
    /// Population, tier, départements and régions today; absent when they cannot be summed up
    /// (see `territory_error`).
    pub summary: Option<TerritoryOut>,
    pub territory_error: Option<String>,
    /// Version of the territory: the next edit names it.
    pub territory_version: i64,
    /// After an edit: the communes the new territory shares with the CPTS the caller may read.
    pub overlaps: Vec<OverlapOut>,
}

fn territory_state(web: &Web, s: &cpts_app::registry::CptsSummary, overlaps: &[OverlapView]) -> TerritoryState {
    let (summary, territory_error) = super::cpts::territory(s);
    let r = &s.record;
    TerritoryState {
        id: r.id.to_string(),
        communes: r
            .territory
            .communes
            .iter()
            .map(|c| match web.app.geo.commune(c) {
                Some(c) => commune_out(c),
                None => CommuneOut { code: c.to_string(), name: String::new(), departement: String::new(), region: String::new(), population: None },
            })
            .collect(),
        summary,
        territory_error,
        territory_version: r.territory_version,
        overlaps: overlaps.iter().map(overlap_out).collect(),
    }
}

/// A CPTS's territory.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/territory", tag = "registre", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 200, body = TerritoryState), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn territory(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>) -> Result<axum::Json<TerritoryState>, ApiError> {
    let id = cpts_id(&id)?;
    let v = web.app.show_cpts(&p, &id, None).await?;
    Ok(axum::Json(territory_state(&web, &v.cpts, &[])))
}

/// A territory: its communes replace the current ones.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerritoryIn {
    /// The territory's version the edit starts from; a stale one is a conflict (409).
    pub territory_version: i64,
    /// The communes, by INSEE code or name (an ambiguous or unknown one is an error).
    pub communes: Vec<String>,
}

/// Replace a CPTS's territory; the answer names the communes it now shares with other CPTS.
#[utoipa::path(put, path = "/api/v1/cpts/{id}/territory", tag = "registre", security(("jeton" = [])), request_body = TerritoryIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 200, body = TerritoryState), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Version périmée : relisez le territoire"), (status = 422, body = ErrorBody)))]
pub async fn set_territory(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Json(b): Json<TerritoryIn>) -> Result<axum::Json<TerritoryState>, ApiError> {
    let id = cpts_id(&id)?;
    let fields = [("territoire", "communes")];
    let lines: Vec<String> = b.communes.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).map(str::to_owned).collect();
    let territory = web.app.parse_territory(&lines).map_err(|e| renamed(e, &fields))?;
    let set = web.app.set_territory(&p, SetTerritory { id, version: b.territory_version, territory }).await.map_err(|e| renamed(e, &fields))?;
    Ok(axum::Json(territory_state(&web, &set.cpts, &set.overlaps)))
}

/// Communes found at most by a search.
const FOUND: usize = 50;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommuneQuery {
    /// The start of an INSEE code or of a name (accents and case ignored).
    pub q: String,
}

/// Communes whose code or name starts with `q` (at most 50, by code).
#[utoipa::path(get, path = "/api/v1/communes", tag = "registre", security(("jeton" = [])), params(CommuneQuery),
    responses((status = 200, body = Vec<CommuneOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn communes(State(web): State<Web>, Caller(_caller): Caller, Query(q): Query<CommuneQuery>) -> axum::Json<Vec<CommuneOut>> {
    axum::Json(web.app.search_communes(&q.q, FOUND).into_iter().map(commune_out).collect())
}

/// Every pair of CPTS of the caller's scope whose territories share communes.
#[utoipa::path(get, path = "/api/v1/overlaps", tag = "registre", security(("jeton" = [])), params(PageQuery),
    responses((status = 200, body = Page<OverlapOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn overlaps(State(web): State<Web>, Caller(p): Caller, Query(q): Query<PageQuery>) -> Result<axum::Json<Page<OverlapOut>>, ApiError> {
    let all: Vec<OverlapOut> = web.app.overlaps(&p).await?.iter().map(overlap_out).collect();
    Ok(axum::Json(q.of(all)?))
}
