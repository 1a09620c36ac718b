//! The people and structures of a CPTS over the API: its members (list, import as JSON rows or
//! a CSV/XLSX file, departure, correction, removal, history, export), its member structures
//! and its governance (mandates).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use cpts_app::members::{MemberPatchInput, MembersImport};
use cpts_app::registry::StructureInput;
use cpts_domain::members::{HEADER, ImportMode, MemberChange};
use cpts_domain::registry::{Mandate, Member, Role as Office, Structure};
use cpts_domain::table::RawTable;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Page, Path, Query};
use super::registry::renamed;
use super::{cpts_id, date_param};
use crate::Web;

/// A required date field, ISO 8601.
pub(super) fn date_field(name: &str, v: &str) -> Result<Date, ApiError> {
    date_param(name, Some(v))?.ok_or_else(|| ApiError::field(name, "date obligatoire (AAAA-MM-JJ)"))
}

/// A member, as stored.
#[derive(Serialize, ToSchema)]
pub struct MemberData {
    pub last_name: String,
    pub first_name: String,
    /// Profession code (`MedecinGeneraliste`, `Infirmier`…).
    pub profession: String,
    pub profession_label: String,
    pub rpps: Option<String>,
    /// INSEE code of the commune where they practise.
    pub commune: String,
    pub commune_name: String,
    pub joined: Date,
    /// Departure; absent for a current member.
    pub left: Option<Date>,
}

fn member_data(web: &Web, m: &Member) -> MemberData {
    MemberData {
        last_name: m.last_name.clone(),
        first_name: m.first_name.clone(),
        profession: m.profession.code().into(),
        profession_label: m.profession.label().into(),
        rpps: m.rpps.as_ref().map(ToString::to_string),
        commune: m.commune.to_string(),
        commune_name: web.app.geo.commune(&m.commune).map(|c| c.name.clone()).unwrap_or_default(),
        joined: m.joined,
        left: m.left,
    }
}

/// A member of the list.
#[derive(Serialize, ToSchema)]
pub struct MemberOut {
    /// The member's number in the CPTS.
    pub seq: i64,
    /// A member today (else a former member).
    pub active: bool,
    /// Practises outside the CPTS's territory.
    pub outside: bool,
    #[serde(flatten)]
    pub member: MemberData,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// `current` (members today) or `former`; default both.
    pub status: Option<String>,
    /// From 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

/// The members of a CPTS, current and former, by number.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/members", tag = "membres", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), MembersQuery),
    responses((status = 200, body = Page<MemberOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<MembersQuery>) -> Result<axum::Json<Page<MemberOut>>, ApiError> {
    let id = cpts_id(&id)?;
    let keep_active = match q.status.as_deref().unwrap_or_default() {
        "" => None,
        "current" => Some(true),
        "former" => Some(false),
        other => return Err(ApiError::field("status", format!("« {} » : `current` ou `former`", cpts_domain::text::quoted(other)))),
    };
    let v = web.app.members(&p, &id).await?;
    let all: Vec<MemberOut> = v
        .members
        .iter()
        .map(|r| MemberOut { seq: r.seq, active: r.member.active_on(v.on), outside: r.outside, member: member_data(&web, &r.member) })
        .filter(|m| keep_active.is_none_or(|a| a == m.active))
        .collect();
    Ok(axum::Json(super::extract::PageQuery { page: q.page, per_page: q.per_page }.of(all)?))
}

/// A row of a members import: the columns of the CSV file, as text.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRowIn {
    /// « Nom ».
    pub last_name: String,
    /// « Prénom ».
    pub first_name: String,
    /// « Profession »: a label (« Médecin généraliste », « infirmière »…) or a code.
    pub profession: String,
    /// « RPPS ».
    pub rpps: Option<String>,
    /// « Commune d'exercice »: INSEE code or name.
    pub commune: String,
    /// « Date d'adhésion »: JJ/MM/AAAA or AAAA-MM-JJ.
    pub joined: String,
    /// « Date de départ ».
    pub left: Option<String>,
    /// « N° »: the member's number (an export carries it): the row corrects that member.
    pub number: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersImportIn {
    /// The rows; an error's `line` is the row's position, from 1.
    pub rows: Vec<MemberRowIn>,
}

/// The JSON rows' names of the file's columns.
const COLUMN_FIELDS: [(&str, &str); 8] = [
    ("Nom", "last_name"),
    ("Prénom", "first_name"),
    ("Profession", "profession"),
    ("RPPS", "rpps"),
    ("Commune d'exercice", "commune"),
    ("Date d'adhésion", "joined"),
    ("Date de départ", "left"),
    ("N°", "number"),
];

fn table_of(rows: Vec<MemberRowIn>) -> RawTable {
    RawTable {
        header: HEADER.iter().map(|h| (*h).to_owned()).collect(),
        rows: rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let o = Option::unwrap_or_default;
                (i + 1, vec![r.last_name, r.first_name, r.profession, o(r.rpps), r.commune, r.joined, o(r.left), o(r.number)])
            })
            .collect(),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `ajout` (default: new members added, a stored member the file changes is refused) or
    /// `remplacement` (the file is the whole list: members absent from it leave).
    pub mode: Option<String>,
    /// `true`: the plan only, nothing written.
    pub dry_run: Option<bool>,
    /// In replacement, the departure date of the members absent from the file (default today).
    pub left_on: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AddedOut {
    /// Line of the file (row of the JSON rows, from 1).
    pub line: u64,
    pub member: MemberData,
}

#[derive(Serialize, ToSchema)]
pub struct ChangeOut {
    pub seq: i64,
    /// The columns that differ.
    pub fields: Vec<String>,
    pub before: MemberData,
    pub after: MemberData,
}

/// What an import did, or would do (`applied` false: a dry run, nothing written).
#[derive(Serialize, ToSchema)]
pub struct ImportOut {
    pub applied: bool,
    /// `ajout` or `remplacement`.
    pub mode: String,
    pub added: Vec<AddedOut>,
    pub changed: Vec<ChangeOut>,
    /// Members absent from the file whose membership ends (replacement).
    pub ended: Vec<ChangeOut>,
    /// Lines identical to a stored member.
    pub unchanged: u64,
    /// Added members practising outside the territory (reported, not refused).
    pub outside: u64,
}

fn change_out(web: &Web, c: &MemberChange) -> ChangeOut {
    ChangeOut {
        seq: c.seq,
        fields: c.fields().into_iter().map(str::to_owned).collect(),
        before: member_data(web, &c.before),
        after: member_data(web, &c.after),
    }
}

/// A request body read whole, up to the route's limit (413 beyond, in the one error shape).
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Body, ApiError> {
        Bytes::from_request(req, state).await.map(Body).map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("le corps dépasse {} Mo : découpez l'import", crate::upload::MAX_UPLOAD >> 20))
            } else {
                ApiError::bad_request(format!("corps illisible : {}", e.body_text()))
            }
        })
    }
}

/// A file's bytes (a binary body or answer).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code, reason = "a schema only: the bytes are read and written as such")]
pub struct FileBytes(pub Vec<u8>);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Import members, all or nothing: JSON rows, or the file itself as the body (`text/csv`, or
/// an XLSX workbook), as the members page imports it. `dry_run` gives the plan and writes
/// nothing.
#[utoipa::path(post, path = "/api/v1/cpts/{id}/members/import", tag = "membres", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ImportQuery),
    request_body(description = "Les lignes en JSON, ou le fichier CSV (en-tête : Nom;Prénom;Profession;RPPS;Commune d'exercice;Date d'adhésion;Date de départ;N°) ou XLSX des membres", content(
        (MembersImportIn = "application/json"),
        (String = "text/csv"),
        (FileBytes = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "Erreurs du fichier, par ligne et colonne")))]
pub async fn import(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<ImportQuery>, headers: HeaderMap, Body(body): Body) -> Result<axum::Json<ImportOut>, ApiError> {
    let id = cpts_id(&id)?;
    let app = &web.app;
    // The policy's answer before the file's.
    app.authorize(&p, cpts_app::Action::EditMembers, &id).await?;
    let mode = ImportMode::parse(q.mode.as_deref().unwrap_or("ajout")).map_err(|e| ApiError::field("mode", e))?;
    let left_on = date_param("left_on", q.left_on.as_deref())?;
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim_start().starts_with("application/json"));
    let (table, fields): (RawTable, &[(&str, &str)]) = if json {
        let rows: MembersImportIn = serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("corps JSON refusé : {e}")))?;
        (table_of(rows.rows), &COLUMN_FIELDS)
    } else {
        if body.is_empty() {
            return Err(ApiError::field("file", "envoyez le fichier CSV ou XLSX des membres comme corps de la requête"));
        }
        let t = crate::upload::table(body.to_vec()).await.map_err(|_| ApiError::from(cpts_app::AppError::Internal("lecture du fichier interrompue".into())))?;
        (t.map_err(|e| renamed(cpts_app::members::line_errors(vec![e]), &[("", "file")]))?, &[])
    };
    let members = app.parse_members(&table).map_err(|e| renamed(e, fields))?;
    let done = app
        .import_members(&p, MembersImport { id, members, mode, left_on, dry_run: q.dry_run.unwrap_or(false) }, |_, _| {})
        .await
        .map_err(|e| renamed(e, fields))?;
    let plan = &done.plan;
    let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
    Ok(axum::Json(ImportOut {
        applied: done.applied,
        mode: match done.mode {
            ImportMode::Add => "ajout".into(),
            ImportMode::Replace => "remplacement".into(),
        },
        added: plan.added.iter().map(|(line, m)| AddedOut { line: n(*line), member: member_data(&web, m) }).collect(),
        changed: plan.changed.iter().map(|c| change_out(&web, c)).collect(),
        ended: plan.ended.iter().map(|c| change_out(&web, c)).collect(),
        unchanged: n(plan.unchanged),
        outside: n(done.outside),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The members as a file, with the import's columns (and the members' numbers: a re-import
/// corrects).
#[utoipa::path(get, path = "/api/v1/cpts/{id}/members/export", tag = "membres", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ExportQuery),
    responses((status = 200, description = "Le fichier des membres", content(
            (String = "text/csv"),
            (FileBytes = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<ExportQuery>) -> Result<Response, ApiError> {
    let id = cpts_id(&id)?;
    let xlsx = match q.format.as_deref().unwrap_or("csv") {
        "csv" => false,
        "xlsx" => true,
        other => return Err(ApiError::field("format", format!("« {} » : `csv` ou `xlsx`", cpts_domain::text::quoted(other)))),
    };
    let members = web.app.export_members(&p, &id).await?;
    let head: Vec<String> = HEADER.iter().map(|h| (*h).to_owned()).collect();
    let rows: Vec<Vec<String>> = members.iter().map(|(n, m)| cpts_domain::members::export_row(*n, m, &web.app.geo)).collect();
    let internal = |e: String| ApiError::from(cpts_app::AppError::Internal(e));
    let name = format!("membres-{}", id.as_str());
    if xlsx {
        let bytes = cpts_render::sheets_xlsx([("Membres", head.as_slice(), rows.as_slice())]).map_err(|e| internal(e.to_string()))?;
        Ok(crate::pages::download(bytes, XLSX, &format!("{name}.xlsx")))
    } else {
        let bytes = cpts_render::table_csv(&head, &rows).map_err(|e| internal(e.to_string()))?;
        Ok(crate::pages::download(bytes, "text/csv; charset=utf-8", &format!("{name}.csv")))
    }
}

/// A member correction: what is given replaces; for `rpps` and `left`, « - » or "" clears.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MemberPatchIn {
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub profession: Option<String>,
    pub rpps: Option<String>,
    /// INSEE code or name.
    pub commune: Option<String>,
    /// JJ/MM/AAAA or AAAA-MM-JJ.
    pub joined: Option<String>,
    pub left: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberEditedOut {
    pub seq: i64,
    pub member: MemberData,
    /// The columns changed; empty: nothing changed, nothing written.
    pub fields: Vec<String>,
}

const PATCH_FIELDS: [(&str, &str); 5] = [("profession", "profession"), ("RPPS", "rpps"), ("commune", "commune"), ("adhésion", "joined"), ("départ", "left")];

/// Correct a member; the previous state stays in its history.
#[utoipa::path(patch, path = "/api/v1/cpts/{id}/members/{seq}", tag = "membres", security(("jeton" = [])), request_body = MemberPatchIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("seq" = i64, Path, description = "Numéro du membre")),
    responses((status = 200, body = MemberEditedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit(State(web): State<Web>, Caller(p): Caller, Path((id, seq)): Path<(String, i64)>, Json(b): Json<MemberPatchIn>) -> Result<axum::Json<MemberEditedOut>, ApiError> {
    let id = cpts_id(&id)?;
    let input = MemberPatchInput {
        last_name: b.last_name.map(|s| s.trim().to_owned()),
        first_name: b.first_name.map(|s| s.trim().to_owned()),
        profession: b.profession,
        rpps: b.rpps,
        commune: b.commune,
        joined: b.joined,
        left: b.left,
    };
    let patch = web.app.parse_member_patch(&input).map_err(|e| renamed(e, &PATCH_FIELDS))?;
    let done = web.app.edit_member(&p, &id, seq, patch).await?;
    Ok(axum::Json(MemberEditedOut { seq, member: member_data(&web, &done.member), fields: done.fields.into_iter().map(str::to_owned).collect() }))
}

#[derive(Serialize, ToSchema)]
pub struct MemberSeqOut {
    pub seq: i64,
    pub member: MemberData,
}

/// Remove a member entered by mistake (a departure is `…/leave`); it stays in the history.
#[utoipa::path(delete, path = "/api/v1/cpts/{id}/members/{seq}", tag = "membres", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("seq" = i64, Path, description = "Numéro du membre")),
    responses((status = 200, body = MemberSeqOut, description = "Le membre retiré"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn remove(State(web): State<Web>, Caller(p): Caller, Path((id, seq)): Path<(String, i64)>) -> Result<axum::Json<MemberSeqOut>, ApiError> {
    let id = cpts_id(&id)?;
    let m = web.app.remove_member(&p, &id, seq).await?;
    Ok(axum::Json(MemberSeqOut { seq, member: member_data(&web, &m) }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveIn {
    /// The departure date.
    #[schema(format = Date, example = "2021-10-25")]
    pub on: String,
}

/// Record a member's departure (they stay listed, as a former member).
#[utoipa::path(post, path = "/api/v1/cpts/{id}/members/{seq}/leave", tag = "membres", security(("jeton" = [])), request_body = LeaveIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("seq" = i64, Path, description = "Numéro du membre")),
    responses((status = 200, body = MemberSeqOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn leave(State(web): State<Web>, Caller(p): Caller, Path((id, seq)): Path<(String, i64)>, Json(b): Json<LeaveIn>) -> Result<axum::Json<MemberSeqOut>, ApiError> {
    let id = cpts_id(&id)?;
    let on = date_field("on", &b.on)?;
    let m = web.app.leave_member(&p, &id, seq, on).await?;
    Ok(axum::Json(MemberSeqOut { seq, member: member_data(&web, &m) }))
}

#[derive(Serialize, ToSchema)]
pub struct RevisionOut {
    pub seq: i64,
    /// Removed (else corrected) then.
    pub removed: bool,
    /// When (RFC 3339).
    pub recorded_at: String,
    /// The state before.
    pub before: MemberData,
}

/// A member's previous states (corrections and removal), oldest first.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/members/{seq}/history", tag = "membres", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("seq" = i64, Path, description = "Numéro du membre")),
    responses((status = 200, body = Vec<RevisionOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(State(web): State<Web>, Caller(p): Caller, Path((id, seq)): Path<(String, i64)>) -> Result<axum::Json<Vec<RevisionOut>>, ApiError> {
    let id = cpts_id(&id)?;
    let all = web.app.member_history(&p, &id).await?;
    Ok(axum::Json(
        all.into_iter()
            .filter(|r| r.seq == seq)
            .map(|r| RevisionOut { seq: r.seq, removed: r.removed, before: member_data(&web, &r.before), recorded_at: r.recorded_at })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct StructureOut {
    pub seq: i64,
    pub name: String,
    /// Structure kind code.
    pub kind: String,
    pub kind_label: String,
    /// INSEE code.
    pub commune: String,
    pub commune_name: String,
    pub finess: Option<String>,
    pub joined: Date,
    pub left: Option<Date>,
}

fn structure_out(web: &Web, seq: i64, s: &Structure) -> StructureOut {
    StructureOut {
        seq,
        name: s.name.clone(),
        kind: s.kind.code().into(),
        kind_label: s.kind.label().into(),
        commune: s.commune.to_string(),
        commune_name: web.app.geo.commune(&s.commune).map(|c| c.name.clone()).unwrap_or_default(),
        finess: s.finess.as_ref().map(ToString::to_string),
        joined: s.joined,
        left: s.left,
    }
}

/// The member structures of a CPTS.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/structures", tag = "membres", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 200, body = Vec<StructureOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn structures(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>) -> Result<axum::Json<Vec<StructureOut>>, ApiError> {
    let id = cpts_id(&id)?;
    Ok(axum::Json(web.app.structures(&p, &id).await?.iter().map(|(seq, s)| structure_out(&web, *seq, s)).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StructureIn {
    pub name: String,
    /// Structure kind: code or label (« maison de santé pluriprofessionnelle »…).
    pub kind: String,
    /// INSEE code or name.
    pub commune: String,
    pub finess: Option<String>,
    /// JJ/MM/AAAA or AAAA-MM-JJ.
    pub joined: String,
}

/// Add a member structure.
#[utoipa::path(post, path = "/api/v1/cpts/{id}/structures", tag = "membres", security(("jeton" = [])), request_body = StructureIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 201, body = StructureOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_structure(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Json(b): Json<StructureIn>) -> Result<(StatusCode, axum::Json<StructureOut>), ApiError> {
    let id = cpts_id(&id)?;
    let input = StructureInput { name: b.name.trim().to_owned(), kind: b.kind, commune: b.commune, finess: b.finess.filter(|f| !f.trim().is_empty()), joined: b.joined };
    let fields = [("type", "kind"), ("commune", "commune"), ("FINESS", "finess"), ("adhésion", "joined")];
    let s = web.app.parse_structure(&input).map_err(|e| renamed(e, &fields))?;
    let seq = web.app.add_structure(&p, &id, &s).await?;
    Ok((StatusCode::CREATED, axum::Json(structure_out(&web, seq, &s))))
}

#[derive(Serialize, ToSchema)]
pub struct MandateOut {
    pub seq: i64,
    /// Office code (`President`, `Tresorier`…).
    pub office: String,
    pub office_label: String,
    pub person: String,
    pub from: Date,
    pub until: Option<Date>,
    /// In office on the view's date.
    pub active: bool,
}

fn mandate_out(seq: i64, m: &Mandate, active: bool) -> MandateOut {
    MandateOut {
        seq,
        office: m.role.code().into(),
        office_label: m.role.label().into(),
        person: m.person.clone(),
        from: m.from,
        until: m.until,
        active,
    }
}

#[derive(Serialize, ToSchema)]
pub struct MandatesOut {
    /// The day `active` is said of.
    pub on: Date,
    /// Every mandate, in the order they started.
    pub mandates: Vec<MandateOut>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnQuery {
    /// Who is in office on this date (YYYY-MM-DD; default today).
    pub on: Option<String>,
}

/// The governance of a CPTS: its mandates, and who is in office on a date.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/mandates", tag = "membres", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), OnQuery),
    responses((status = 200, body = MandatesOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mandates(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<OnQuery>) -> Result<axum::Json<MandatesOut>, ApiError> {
    let id = cpts_id(&id)?;
    let on = date_param("on", q.on.as_deref())?;
    let v = web.app.mandates(&p, &id, on).await?;
    Ok(axum::Json(MandatesOut { on: v.on, mandates: v.mandates.iter().map(|r| mandate_out(r.seq, &r.mandate, r.active)).collect() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MandateIn {
    /// Office: code or label (« président », « trésorière »…).
    pub office: String,
    pub person: String,
    /// Start of the mandate.
    #[schema(format = Date, example = "2021-10-25")]
    pub from: String,
}

/// Add a mandate; refused if it breaks the governance rules (two presidents at once…).
#[utoipa::path(post, path = "/api/v1/cpts/{id}/mandates", tag = "membres", security(("jeton" = [])), request_body = MandateIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 201, body = MandateOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_mandate(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Json(b): Json<MandateIn>) -> Result<(StatusCode, axum::Json<MandateOut>), ApiError> {
    let id = cpts_id(&id)?;
    let role = Office::parse(&b.office).map_err(|e| ApiError::field("office", e))?;
    let from = date_field("from", &b.from)?;
    let m = Mandate { role, person: b.person.trim().to_owned(), from, until: None };
    let seq = web.app.add_mandate(&p, &id, &m).await?;
    let active = m.active_on(web.app.clock.today());
    Ok((StatusCode::CREATED, axum::Json(mandate_out(seq, &m, active))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndIn {
    /// Last day of the mandate.
    #[schema(format = Date, example = "2021-10-25")]
    pub until: String,
}

/// Close a mandate (it stays in the history).
#[utoipa::path(post, path = "/api/v1/cpts/{id}/mandates/{seq}/end", tag = "membres", security(("jeton" = [])), request_body = EndIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("seq" = i64, Path, description = "Numéro du mandat")),
    responses((status = 204, description = "Mandat clos"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn end_mandate(State(web): State<Web>, Caller(p): Caller, Path((id, seq)): Path<(String, i64)>, Json(b): Json<EndIn>) -> Result<StatusCode, ApiError> {
    let id = cpts_id(&id)?;
    let until = date_field("until", &b.until)?;
    web.app.end_mandate(&p, &id, seq, until).await?;
    Ok(StatusCode::NO_CONTENT)
}
