//! The people and structures of a CPTS: its members (professionals; no patient data), its
//! member structures, its governance (mandates), with the forms the policy allows.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cpts_app::registry::StructureInput;
use cpts_app::{Action, AppError};
use cpts_domain::ids::CptsId;
use cpts_domain::registry::{Mandate, Role as Office, StructureKind};
use serde::Deserialize;

use super::{Chrome, Choice, cpts_id};
use crate::error::WebError;
use crate::forms::{self, Errors};
use crate::sessions::Signed;
use crate::{Web, format, urls};

pub struct MemberRow {
    pub name: String,
    pub profession: &'static str,
    pub rpps: String,
    pub commune: String,
    pub joined: String,
    pub left: String,
}

pub struct StructureRow {
    pub name: String,
    pub kind: &'static str,
    pub commune: String,
    pub finess: String,
    pub joined: String,
}

pub struct MandateRow {
    pub seq: i64,
    pub office: &'static str,
    pub person: String,
    pub from: String,
    pub until: String,
    pub active: bool,
}

#[derive(Deserialize, Default, Clone)]
pub struct PeopleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    commune: String,
    #[serde(default)]
    finess: String,
    #[serde(default)]
    joined: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    seq: String,
    #[serde(default)]
    until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "members.html")]
pub struct MembersPage {
    chrome: Chrome,
    id: String,
    name: String,
    on: String,
    active: usize,
    members: Vec<MemberRow>,
    structures: Vec<StructureRow>,
    mandates: Vec<MandateRow>,
    kinds: Vec<Choice>,
    offices: Vec<Choice>,
    may_members: bool,
    may_governance: bool,
    form: PeopleForm,
    errors: Errors,
    done: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct Done {
    fait: Option<String>,
}

async fn view(web: &Web, s: &Signed, id: &CptsId, form: PeopleForm, errors: Errors, done: Option<&'static str>) -> Result<MembersPage, WebError> {
    let app = &web.app;
    let commune = |c: &cpts_domain::ids::InseeCode| app.geo.commune(c).map_or_else(|| c.to_string(), |x| x.name.clone());
    let m = app.members(&s.who, id).await?;
    let members = m
        .members
        .iter()
        .map(|r| MemberRow {
            name: format!("{} {}", r.member.first_name, r.member.last_name),
            profession: r.member.profession.label(),
            rpps: r.member.rpps.as_ref().map(ToString::to_string).unwrap_or_default(),
            commune: commune(&r.member.commune),
            joined: format::date(r.member.joined),
            left: r.member.left.map(format::date).unwrap_or_default(),
        })
        .collect();
    let structures = app
        .structures(&s.who, id)
        .await?
        .into_iter()
        .map(|(_, st)| StructureRow {
            name: st.name.clone(),
            kind: st.kind.label(),
            commune: commune(&st.commune),
            finess: st.finess.as_ref().map(ToString::to_string).unwrap_or_default(),
            joined: format::date(st.joined),
        })
        .collect();
    let mandates = app
        .mandates(&s.who, id, None)
        .await?
        .mandates
        .into_iter()
        .map(|r| MandateRow {
            seq: r.seq,
            office: r.mandate.role.label(),
            person: r.mandate.person.clone(),
            from: format::date(r.mandate.from),
            until: r.mandate.until.map(format::date).unwrap_or_default(),
            active: r.active,
        })
        .collect();
    let rights = app.rights(&s.who, id).await?;
    Ok(MembersPage {
        chrome: Chrome::new(s, urls::CPTS_LIST),
        id: id.to_string(),
        name: m.cpts.name.clone(),
        on: format::date(m.on),
        active: m.active,
        members,
        structures,
        mandates,
        kinds: StructureKind::ALL.iter().map(|k| Choice::new(k.code(), k.label(), form.kind == k.code())).collect(),
        offices: Office::ALL.iter().map(|k| Choice::new(k.code(), k.label(), form.office == k.code())).collect(),
        may_members: rights.may(Action::EditMembers),
        may_governance: rights.may(Action::EditGovernance),
        form,
        errors,
        done,
    })
}

pub async fn page(State(web): State<Web>, s: Signed, Path(id): Path<String>, Query(q): Query<Done>) -> Result<MembersPage, WebError> {
    let id = cpts_id(&id)?;
    let done = match q.fait.as_deref() {
        Some("structure") => Some("Structure ajoutée."),
        Some("mandat") => Some("Mandat enregistré."),
        Some("fin-mandat") => Some("Fin de mandat enregistrée."),
        _ => None,
    };
    let today = format::date(web.app.clock.today());
    let form = PeopleForm { joined: today.clone(), from: today.clone(), until: today, ..PeopleForm::default() };
    view(&web, &s, &id, form, Errors::default(), done).await
}

/// The acts of the page: `structure`, `mandat`, `fin-mandat`.
pub async fn act(State(web): State<Web>, s: Signed, Path((id, act)): Path<(String, String)>, Form(f): Form<PeopleForm>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let app = &web.app;
    let mut errors = Errors::default();
    let done = match act.as_str() {
        "structure" => {
            let input = StructureInput {
                name: f.name.trim().to_owned(),
                kind: f.kind.clone(),
                commune: f.commune.clone(),
                finess: forms::opt(&f.finess),
                joined: f.joined.clone(),
            };
            match app.parse_structure(&input) {
                Ok(st) => Some(app.add_structure(&s.who, &id, &st).await.map(|_| ())),
                Err(e) => Some(Err(e)),
            }
        }
        "mandat" => {
            let office = Office::parse(&f.office).map_err(|e| errors.push("office", e)).ok();
            let from = forms::date(&mut errors, "from", &f.from);
            match (office, from) {
                (Some(role), Some(from)) => {
                    let m = Mandate { role, person: f.person.trim().to_owned(), from, until: None };
                    Some(app.add_mandate(&s.who, &id, &m).await.map(|_| ()))
                }
                _ => None,
            }
        }
        "fin-mandat" => {
            let seq = f.seq.trim().parse::<i64>().map_err(|_| errors.push("seq", "mandat inconnu")).ok();
            let until = forms::date(&mut errors, &format!("until-{}", f.seq.trim()), &f.until);
            match (seq, until) {
                (Some(seq), Some(until)) => Some(app.end_mandate(&s.who, &id, seq, until).await),
                _ => None,
            }
        }
        _ => return Err(WebError::NotFound),
    };
    let fields = [("nom", "name"), ("type", "kind"), ("commune", "commune"), ("FINESS", "finess"), ("adhésion", "joined"), ("titulaire", "person")];
    let errors = match done {
        Some(Ok(())) => return Ok(Redirect::to(&format!("{}?fait={act}", urls::cpts_part(id.as_str(), "membres"))).into_response()),
        Some(Err(e @ (AppError::Invalid(_) | AppError::Refused(_) | AppError::Conflict(_)))) => Errors::of(&e, &fields),
        Some(Err(e)) => return Err(e.into()),
        None => errors,
    };
    let page = view(&web, &s, &id, f, errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
