//! The registry's forms: create a CPTS, edit its identity (a save in between is a conflict
//! that keeps what was typed), set its territory with a commune search.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cpts_app::registry::{EditIdentity, IdsInput, NewCpts, SetTerritory};
use cpts_app::{Action, AppError};
use cpts_domain::ids::CptsId;
use serde::Deserialize;

use super::{Chrome, cpts_id, holds_any};
use crate::error::WebError;
use crate::forms::{self, Errors};
use crate::sessions::Signed;
use crate::{Web, format, urls};

/// The form fields by the application's field names.
const ID_FIELDS: [(&str, &str); 7] = [
    ("nom", "name"),
    ("identifiant", "id"),
    ("forme juridique", "legal_form"),
    ("RNA", "rna"),
    ("SIRET", "siret"),
    ("FINESS", "finess"),
    ("siège", "seat"),
];

#[derive(Deserialize, Default, Clone)]
pub struct IdentityForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    legal_form: String,
    #[serde(default)]
    rna: String,
    #[serde(default)]
    siret: String,
    #[serde(default)]
    finess: String,
    #[serde(default)]
    seat: String,
    #[serde(default)]
    version: String,
}

impl IdentityForm {
    fn ids(&self) -> IdsInput {
        IdsInput { rna: forms::opt(&self.rna), siret: forms::opt(&self.siret), finess: forms::opt(&self.finess), seat: forms::opt(&self.seat) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "identity.html")]
pub struct IdentityPage {
    chrome: Chrome,
    /// None: a new CPTS.
    id: Option<String>,
    title: String,
    form: IdentityForm,
    errors: Errors,
    /// What someone else saved in between (a conflict).
    theirs: Option<String>,
}

fn invalid(e: &AppError) -> bool {
    matches!(e, AppError::Invalid(_) | AppError::Refused(_))
}

fn again(page: IdentityPage, status: StatusCode) -> Response {
    (status, page).into_response()
}

pub async fn new_form(s: Signed) -> Result<IdentityPage, WebError> {
    if !holds_any(&s.who, Action::CreateCpts) {
        return Err(AppError::forbidden(&s.who, Action::CreateCpts).into());
    }
    let form = IdentityForm { legal_form: "association loi 1901".into(), ..IdentityForm::default() };
    Ok(IdentityPage { chrome: Chrome::new(&s, urls::CPTS_LIST), id: None, title: "Nouvelle CPTS".into(), form, errors: Errors::default(), theirs: None })
}

pub async fn create(State(web): State<Web>, s: Signed, Form(f): Form<IdentityForm>) -> Result<Response, WebError> {
    let page = |errors: Errors, f: IdentityForm| IdentityPage {
        chrome: Chrome::new(&s, urls::CPTS_LIST),
        id: None,
        title: "Nouvelle CPTS".into(),
        form: f,
        errors,
        theirs: None,
    };
    let mut errors = Errors::default();
    let id = match f.id.trim() {
        "" => None,
        t => t.parse::<CptsId>().map_err(|e| errors.push("id", e)).ok(),
    };
    let ids = match web.app.parse_ids(&f.ids()) {
        Ok(ids) => Some(ids),
        Err(e) => {
            errors.items.extend(Errors::of(&e, &ID_FIELDS).items);
            None
        }
    };
    let Some(ids) = ids.filter(|_| errors.is_empty()) else {
        return Ok(again(page(errors, f), StatusCode::UNPROCESSABLE_ENTITY));
    };
    let cmd = NewCpts { id, name: f.name.trim().to_owned(), legal_form: forms::opt(&f.legal_form), ids };
    match web.app.create_cpts(&s.who, cmd).await {
        Ok(r) => Ok(Redirect::to(&urls::cpts_part(r.id.as_str(), "territoire")).into_response()),
        Err(e @ AppError::Conflict(_)) => Ok(again(page(Errors::field_error("id", &e), f), StatusCode::CONFLICT)),
        Err(e) if invalid(&e) => Ok(again(page(Errors::of(&e, &ID_FIELDS), f), StatusCode::UNPROCESSABLE_ENTITY)),
        Err(e) => Err(e.into()),
    }
}

fn form_of(r: &cpts_store::CptsRecord) -> IdentityForm {
    let o = |x: Option<String>| x.unwrap_or_default();
    IdentityForm {
        name: r.identity.name.clone(),
        id: r.id.to_string(),
        legal_form: r.identity.legal_form.clone(),
        rna: o(r.identity.rna.as_ref().map(ToString::to_string)),
        siret: o(r.identity.siret.as_ref().map(ToString::to_string)),
        finess: o(r.identity.finess.as_ref().map(ToString::to_string)),
        seat: o(r.identity.seat.as_ref().map(ToString::to_string)),
        version: r.version.to_string(),
    }
}

pub async fn edit_form(State(web): State<Web>, s: Signed, Path(id): Path<String>) -> Result<IdentityPage, WebError> {
    let id = cpts_id(&id)?;
    let v = web.app.show_cpts(&s.who, &id, None).await?;
    web.app.authorize(&s.who, Action::EditIdentity, &id).await?;
    let r = &v.cpts.record;
    Ok(IdentityPage {
        chrome: Chrome::new(&s, urls::CPTS_LIST),
        id: Some(id.to_string()),
        title: format!("Identité — {}", r.identity.name),
        form: form_of(r),
        errors: Errors::default(),
        theirs: None,
    })
}

pub async fn edit(State(web): State<Web>, s: Signed, Path(id): Path<String>, Form(f): Form<IdentityForm>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let page = |errors: Errors, f: IdentityForm, theirs: Option<String>| IdentityPage {
        chrome: Chrome::new(&s, urls::CPTS_LIST),
        id: Some(id.to_string()),
        title: format!("Identité — {}", f.name),
        form: f,
        errors,
        theirs,
    };
    let version = f.version.trim().parse::<i64>().map_err(|_| WebError::App(AppError::field("version", "version du formulaire illisible : rechargez la page")))?;
    let ids = match web.app.parse_ids(&f.ids()) {
        Ok(ids) => ids,
        Err(e) if invalid(&e) => return Ok(again(page(Errors::of(&e, &ID_FIELDS), f, None), StatusCode::UNPROCESSABLE_ENTITY)),
        Err(e) => return Err(e.into()),
    };
    let cmd = EditIdentity { id: id.clone(), version, name: forms::opt(&f.name), ids };
    match web.app.edit_identity(&s.who, cmd).await {
        Ok(_) => Ok(Redirect::to(&format!("{}?fait=identite", urls::cpts(id.as_str()))).into_response()),
        Err(e @ AppError::Conflict(_)) => {
            // Show what is saved now; the next save starts from it, with what this user typed.
            let now = web.app.show_cpts(&s.who, &id, None).await?.cpts.record;
            let current = form_of(&now);
            let theirs = format!(
                "nom « {} », forme « {} », RNA {}, SIRET {}, FINESS {}, siège {}",
                current.name,
                current.legal_form,
                dash(&current.rna),
                dash(&current.siret),
                dash(&current.finess),
                dash(&current.seat)
            );
            let f = IdentityForm { version: current.version, ..f };
            Ok(again(page(Errors::of(&e, &[]), f, Some(theirs)), StatusCode::CONFLICT))
        }
        Err(e) if invalid(&e) => Ok(again(page(Errors::of(&e, &ID_FIELDS), f, None), StatusCode::UNPROCESSABLE_ENTITY)),
        Err(e) => Err(e.into()),
    }
}

fn dash(s: &str) -> &str {
    if s.is_empty() { "—" } else { s }
}

pub struct Found {
    pub code: String,
    pub name: String,
    pub departement: String,
    pub population: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct TerritoryForm {
    #[serde(default)]
    communes: String,
    #[serde(default)]
    version: String,
}

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    recherche: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "territory.html")]
pub struct TerritoryPage {
    chrome: Chrome,
    id: String,
    name: String,
    summary: String,
    search: String,
    found: Vec<Found>,
    form: TerritoryForm,
    errors: Errors,
    overlaps: Vec<String>,
}

/// Communes found at most by a search.
const FOUND: usize = 30;

async fn territory_view(web: &Web, s: &Signed, id: &CptsId, search: String, form: Option<TerritoryForm>, errors: Errors, overlaps: Vec<String>) -> Result<TerritoryPage, WebError> {
    let app = &web.app;
    let v = app.show_cpts(&s.who, id, None).await?;
    app.authorize(&s.who, Action::EditTerritory, id).await?;
    let r = &v.cpts.record;
    let name_of = |c: &cpts_domain::ids::InseeCode| app.geo.commune(c).map(|x| x.name.clone()).unwrap_or_default();
    let form = form.unwrap_or_else(|| TerritoryForm {
        communes: r.territory.communes.iter().map(|c| format!("{c} {}\n", name_of(c))).collect(),
        version: r.territory_version.to_string(),
    });
    let found = app
        .search_communes(&search, FOUND)
        .into_iter()
        .map(|c| Found {
            code: c.code.to_string(),
            name: c.name.clone(),
            departement: c.departement.clone(),
            population: c.population.map_or_else(|| "—".into(), format::int),
        })
        .collect();
    let summary = match &v.cpts.summary {
        Ok(t) => format!("{} communes, {} habitants, taille {}", r.territory.communes.len(), format::int(t.population), t.tier),
        Err(e) => e.clone(),
    };
    Ok(TerritoryPage { chrome: Chrome::new(s, urls::CPTS_LIST), id: id.to_string(), name: r.identity.name.clone(), summary, search, found, form, errors, overlaps })
}

pub async fn territory(State(web): State<Web>, s: Signed, Path(id): Path<String>, Query(q): Query<Search>) -> Result<TerritoryPage, WebError> {
    let id = cpts_id(&id)?;
    territory_view(&web, &s, &id, q.recherche, None, Errors::default(), Vec::new()).await
}

pub async fn set_territory(State(web): State<Web>, s: Signed, Path(id): Path<String>, Form(f): Form<TerritoryForm>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let app = &web.app;
    let version = f.version.trim().parse::<i64>().map_err(|_| WebError::App(AppError::field("version", "version du formulaire illisible : rechargez la page")))?;
    let lines: Vec<String> = f.communes.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let fields = [("territoire", "communes")];
    let territory = match app.parse_territory(&lines) {
        Ok(t) => t,
        Err(e) if invalid(&e) => {
            let page = territory_view(&web, &s, &id, String::new(), Some(f), Errors::of(&e, &fields), Vec::new()).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    match app.set_territory(&s.who, SetTerritory { id: id.clone(), version, territory }).await {
        Ok(set) => {
            // Saved: the page again, with the overlaps the new territory makes, if any.
            let overlaps: Vec<String> = set
                .overlaps
                .iter()
                .map(|o| format!("{} et {} : {} commune(s) en commun, {} habitants", o.a.name, o.b.name, o.communes.len(), format::int(o.population)))
                .collect();
            if overlaps.is_empty() {
                return Ok(Redirect::to(&format!("{}?fait=territoire", urls::cpts(id.as_str()))).into_response());
            }
            Ok(territory_view(&web, &s, &id, String::new(), None, Errors::default(), overlaps).await?.into_response())
        }
        Err(e @ AppError::Conflict(_)) => {
            // What was typed is kept; the next save starts from the territory saved in between.
            let now = app.show_cpts(&s.who, &id, None).await?.cpts.record.territory_version;
            let f = TerritoryForm { version: now.to_string(), ..f };
            let page = territory_view(&web, &s, &id, String::new(), Some(f), Errors::of(&e, &[]), Vec::new()).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) if invalid(&e) => {
            let page = territory_view(&web, &s, &id, String::new(), Some(f), Errors::of(&e, &fields), Vec::new()).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
