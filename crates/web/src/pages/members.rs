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
    pub seq: i64,
    /// The id of its departure date field.
    pub left_id: String,
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
    /// A member's correction: what is typed replaces, « - » clears the RPPS.
    #[serde(default)]
    rpps: String,
    #[serde(default)]
    profession: String,
    #[serde(default)]
    member_commune: String,
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
    /// What an import did or would do (a check writes nothing).
    imported: Option<Imported>,
}

pub struct Imported {
    pub title: String,
    pub lines: Vec<String>,
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
            seq: r.seq,
            left_id: format!("left-{}", r.seq),
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
        imported: None,
    })
}

pub async fn page(State(web): State<Web>, s: Signed, Path(id): Path<String>, Query(q): Query<Done>) -> Result<MembersPage, WebError> {
    let id = cpts_id(&id)?;
    let done = match q.fait.as_deref() {
        Some("structure") => Some("Structure ajoutée."),
        Some("mandat") => Some("Mandat enregistré."),
        Some("fin-mandat") => Some("Fin de mandat enregistrée."),
        Some("depart") => Some("Départ enregistré."),
        Some("retrait") => Some("Membre retiré (saisi par erreur) ; il reste dans l'historique."),
        Some("correction") => Some("Membre corrigé ; son état précédent reste dans l'historique."),
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
        "depart" | "retrait" | "correction" => {
            let seq = f.seq.trim().parse::<i64>().map_err(|_| errors.push("seq", "membre inconnu")).ok();
            match (act.as_str(), seq) {
                (_, None) => None,
                ("depart", Some(seq)) => match forms::date(&mut errors, &format!("left-{seq}"), &f.until) {
                    Some(on) => Some(app.leave_member(&s.who, &id, seq, on).await.map(|_| ())),
                    None => None,
                },
                ("retrait", Some(seq)) => Some(app.remove_member(&s.who, &id, seq).await.map(|_| ())),
                (_, Some(seq)) => {
                    let input = cpts_app::members::MemberPatchInput {
                        profession: forms::opt(&f.profession),
                        rpps: forms::opt(&f.rpps),
                        commune: forms::opt(&f.member_commune),
                        ..Default::default()
                    };
                    match app.parse_member_patch(&input) {
                        Ok(patch) => Some(app.edit_member(&s.who, &id, seq, patch).await.map(|_| ())),
                        Err(e) => Some(Err(e)),
                    }
                }
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

/// The members as a file to download: `membres.csv` or `membres.xlsx`, the import's columns.
pub async fn export(State(web): State<Web>, s: Signed, Path((id, file)): Path<(String, String)>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let members = web.app.export_members(&s.who, &id).await?;
    let header: Vec<String> = cpts_domain::members::HEADER.iter().map(|h| (*h).to_owned()).collect();
    let rows: Vec<Vec<String>> = members.iter().map(|(n, m)| cpts_domain::members::export_row(*n, m, &web.app.geo)).collect();
    let name = format!("membres-{}", id.as_str());
    match file.as_str() {
        "membres.csv" => {
            let bytes = cpts_render::table_csv(&header, &rows).map_err(WebError::internal)?;
            Ok(super::download(bytes, "text/csv; charset=utf-8", &format!("{name}.csv")))
        }
        "membres.xlsx" => {
            let bytes = cpts_render::sheets_xlsx([("Membres", header.as_slice(), rows.as_slice())]).map_err(WebError::internal)?;
            Ok(super::download(bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &format!("{name}.xlsx")))
        }
        _ => Err(WebError::NotFound),
    }
}

/// What an import plans, line by line (the first ones: the counts are always complete).
fn plan_lines(geo: &cpts_domain::geo::Geo, plan: &cpts_domain::members::ImportPlan) -> Vec<String> {
    const SHOWN: usize = 30;
    let who = |m: &cpts_domain::registry::Member| format!("{} {} ({})", m.first_name, m.last_name, m.profession.label());
    let mut lines: Vec<String> = Vec::new();
    lines.extend(plan.added.iter().map(|(line, m)| {
        let commune = geo.commune(&m.commune).map_or(m.commune.to_string(), |c| c.name.clone());
        format!("ajout, ligne {line} : {}, {commune}", who(m))
    }));
    lines.extend(plan.changed.iter().map(|c| format!("correction du n° {} {} : {}", c.seq, who(&c.before), c.fields().join(", "))));
    lines.extend(plan.ended.iter().map(|c| {
        format!("départ du n° {} {} (absent du fichier) au {}", c.seq, who(&c.before), c.after.left.map_or(String::new(), format::date))
    }));
    let more = lines.len().saturating_sub(SHOWN);
    lines.truncate(SHOWN);
    if more > 0 {
        lines.push(format!("… et {more} autre(s)"));
    }
    lines
}

/// Import a members file (CSV or XLSX), all or nothing; « vérifier » shows the plan and writes
/// nothing.
pub async fn import(State(web): State<Web>, s: Signed, Path(id): Path<String>, form: axum::extract::Multipart) -> Result<Response, WebError> {
    use cpts_app::members::MembersImport;
    use cpts_domain::members::ImportMode;
    let id = cpts_id(&id)?;
    let app = &web.app;
    // The policy's answer before the file's.
    app.authorize(&s.who, Action::EditMembers, &id).await?;
    let (web, s, id) = (&web, &s, &id);
    let refused = |errors: Errors, status: StatusCode| async move {
        let page = view(web, s, id, PeopleForm::default(), errors, None).await?;
        Ok::<_, WebError>((status, page).into_response())
    };
    let upload = match crate::upload::file(form, "fichier").await {
        Ok(u) => u,
        Err(p) => {
            let status = p.status;
            return refused(Errors::field_message("fichier", p.message), status).await;
        }
    };
    let mut errors = Errors::default();
    let mode = ImportMode::parse(upload.field("mode").unwrap_or("ajout")).map_err(|e| errors.push("mode", e)).ok();
    let left_on = match upload.field("depart").map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => forms::date(&mut errors, "depart", d),
        None => None,
    };
    let dry_run = upload.field("verifier").is_some();
    let Some(mode) = mode.filter(|_| errors.is_empty()) else { return refused(errors, StatusCode::UNPROCESSABLE_ENTITY).await };
    let table = match crate::upload::table(upload.bytes).await? {
        Ok(t) => t,
        Err(e) => return refused(Errors::field_message("fichier", e.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let lines_of = |e: &AppError| Errors::of(e, &[]).items.into_iter().map(|i| i.message).collect::<Vec<_>>();
    let members = match app.parse_members(&table) {
        Ok(m) => m,
        Err(e @ AppError::Invalid(_)) => {
            let mut errors = Errors::default();
            for l in lines_of(&e) {
                errors.push("fichier", l);
            }
            return refused(errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(e) => return Err(e.into()),
    };
    match app.import_members(&s.who, MembersImport { id: id.clone(), members, mode, left_on, dry_run }, |_, _| {}).await {
        Ok(done) => {
            let p = &done.plan;
            let title = format!(
                "{} : {} ajout(s), {} correction(s), {} départ(s), {} ligne(s) inchangée(s).",
                if done.applied { "Import enregistré" } else { "Vérification, rien n'a été enregistré" },
                p.added.len(),
                p.changed.len(),
                p.ended.len(),
                p.unchanged
            );
            let mut page = view(web, s, id, PeopleForm::default(), Errors::default(), None).await?;
            page.imported = Some(Imported { title, lines: plan_lines(&app.geo, p) });
            Ok(page.into_response())
        }
        Err(e @ (AppError::Invalid(_) | AppError::Refused(_) | AppError::Conflict(_))) => {
            let mut errors = Errors::default();
            for l in lines_of(&e) {
                errors.push("fichier", l);
            }
            refused(errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}
