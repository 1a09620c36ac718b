//! Who the caller is; the CPTS of their scope, listed and one by one.

use axum::Json;
use axum::extract::State;
use cpts_app::dashboard::StageGroup;
use cpts_app::national::{ListEntry, ListFilter};
use cpts_app::registry::{CpamOf, CptsSummary};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::{Caller, Page, PageQuery, Path, Query};
use super::{cpts_id, date_param};
use crate::Web;

#[derive(Serialize, ToSchema)]
pub struct GrantOut {
    /// `coordinateur`, `membre`, `agent-cpam`, `agent-ars` or `admin-national`.
    pub role: String,
    /// A CPTS id, a département or région code; empty for the national level.
    pub scope: String,
    /// The grant as a reader says it.
    pub label: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub login: String,
    pub name: String,
    pub grants: Vec<GrantOut>,
}

/// The caller: the token's owner and the rights the token carries now.
#[utoipa::path(get, path = "/api/v1/me", tag = "compte", security(("jeton" = [])),
    responses((status = 200, body = Me), (status = 401, body = super::error::ErrorBody)))]
pub async fn me(Caller(p): Caller) -> Json<Me> {
    Json(Me {
        grants: p
            .grants
            .iter()
            .map(|g| GrantOut { role: g.role.code().into(), scope: g.scope.code().into(), label: format!("{} ({})", g.role.label(), g.scope) })
            .collect(),
        login: p.login,
        name: p.name,
    })
}

/// A CPTS's territory in figures, on a date.
#[derive(Serialize, ToSchema)]
pub struct TerritoryOut {
    /// INSEE population municipale of its communes.
    pub population: u64,
    /// ACI population tier (1 to 4).
    pub tier: u8,
    pub departements: Vec<String>,
    pub regions: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CptsItem {
    pub id: String,
    pub name: String,
    /// The territory on the list's date; absent when it cannot be summed up (see `territory_error`).
    pub territory: Option<TerritoryOut>,
    pub territory_error: Option<String>,
    /// Stage group reached (code), absent if no lifecycle step is recorded.
    pub stage: Option<String>,
    pub stage_label: Option<String>,
    /// Date of the step that reached it.
    pub stage_since: Option<Date>,
    /// Money planned in its ledgers, all funders, in cents.
    pub planned_cents: i64,
    /// Money paid, in cents.
    pub paid_cents: i64,
}

pub(super) fn territory(s: &CptsSummary) -> (Option<TerritoryOut>, Option<String>) {
    match &s.summary {
        Ok(t) => (
            Some(TerritoryOut {
                population: t.population,
                tier: t.tier.0,
                departements: t.departements.iter().cloned().collect(),
                regions: t.regions.iter().cloned().collect(),
            }),
            None,
        ),
        Err(e) => (None, Some(e.clone())),
    }
}

fn item(e: &ListEntry) -> CptsItem {
    let (territory, territory_error) = territory(&e.cpts);
    let group = e.stage.map(|(s, d)| (StageGroup::of(s), d));
    CptsItem {
        id: e.cpts.record.id.to_string(),
        name: e.cpts.record.identity.name.clone(),
        territory,
        territory_error,
        stage: group.map(|(g, _)| g.code().into()),
        stage_label: group.map(|(g, _)| g.label().into()),
        stage_since: group.map(|(_, d)| d),
        planned_cents: e.money.planned,
        paid_cents: e.money.paid,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Part of the name or of the id.
    pub q: Option<String>,
    /// INSEE région code.
    pub region: Option<String>,
    /// Département code.
    pub departement: Option<String>,
    /// Stage group code (`projet`, `contrat`...) or `aucune`.
    pub stage: Option<String>,
    /// Population tier, 1 to 4.
    pub tier: Option<String>,
    /// The list as of this date (YYYY-MM-DD; default today).
    pub on: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// The CPTS of the caller's scope, filtered, by id in natural order.
#[utoipa::path(get, path = "/api/v1/cpts", tag = "cpts", security(("jeton" = [])), params(ListQuery),
    responses((status = 200, body = Page<CptsItem>), (status = 400, body = super::error::ErrorBody),
        (status = 401, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn list(State(web): State<Web>, Caller(p): Caller, Query(q): Query<ListQuery>) -> Result<Json<Page<CptsItem>>, ApiError> {
    let on = date_param("on", q.on.as_deref())?.unwrap_or_else(|| web.app.clock.today());
    let filter = ListFilter {
        text: q.q.unwrap_or_default(),
        region: q.region.unwrap_or_default(),
        departement: q.departement.unwrap_or_default(),
        stage: q.stage.unwrap_or_default(),
        tier: q.tier.unwrap_or_default(),
    };
    let all = web.app.list(&p, on).await?;
    // Only the page asked for is turned into its JSON items.
    let kept: Vec<&ListEntry> = all.iter().filter(|e| filter.keeps(e)).collect();
    Ok(Json(PageQuery { page: q.page, per_page: q.per_page }.of(kept)?.map(item)))
}

#[derive(Serialize, ToSchema)]
pub struct CptsOut {
    pub id: String,
    pub name: String,
    pub legal_form: String,
    pub rna: Option<String>,
    pub siret: Option<String>,
    pub finess: Option<String>,
    /// INSEE code of the seat's commune.
    pub seat: Option<String>,
    /// INSEE codes of the territory's communes.
    pub communes: Vec<String>,
    pub territory: Option<TerritoryOut>,
    pub territory_error: Option<String>,
    /// The département whose CPAM the CPTS deals with, when known.
    pub cpam_departement: Option<String>,
    /// Version of the identity: an identity edit names it.
    pub version: i64,
    /// Version of the territory: a territory edit names it.
    pub territory_version: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnQuery {
    /// As of this date (YYYY-MM-DD; default today).
    pub on: Option<String>,
}

/// One CPTS: identity, territory, versions.
#[utoipa::path(get, path = "/api/v1/cpts/{id}", tag = "cpts", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), OnQuery),
    responses((status = 200, body = CptsOut), (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn show(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<OnQuery>) -> Result<Json<CptsOut>, ApiError> {
    let id = cpts_id(&id)?;
    let on = date_param("on", q.on.as_deref())?;
    let v = web.app.show_cpts(&p, &id, on).await?;
    let (territory, territory_error) = territory(&v.cpts);
    let r = v.cpts.record;
    Ok(Json(CptsOut {
        id: r.id.to_string(),
        name: r.identity.name,
        legal_form: r.identity.legal_form,
        rna: r.identity.rna.map(|x| x.to_string()),
        siret: r.identity.siret.map(|x| x.to_string()),
        finess: r.identity.finess.map(|x| x.to_string()),
        seat: r.identity.seat.map(|x| x.to_string()),
        communes: r.territory.communes.iter().map(ToString::to_string).collect(),
        territory,
        territory_error,
        cpam_departement: match v.cpam {
            CpamOf::Seat(d) | CpamOf::OnlyDepartement(d) => Some(d),
            CpamOf::Unknown => None,
        },
        version: r.version,
        territory_version: r.territory_version,
    }))
}
