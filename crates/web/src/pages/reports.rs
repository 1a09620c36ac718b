//! A CPTS's activity reports: the contract years with their report's status, and one report
//! with its content, frozen results, review thread and the acts the policy allows to the
//! viewer (the coordinator drafts, submits and answers; the CPAM comments, returns and
//! validates), each a POST through `App::report_act`, as `cpts report …` does. Downloads:
//! PDF, CSV and XLSX of the document `cpts report export` writes.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use cpts_app::reports::{NO_REPORT, ReportAct, ReportRef, action_of};
use cpts_app::{Action, AppError, Principal};
use cpts_domain::activity::{Act, Report, Status};
use cpts_domain::document::{Block, Document};
use cpts_domain::ids::CptsId;
use cpts_engine::contract::Contract;
use serde::Deserialize;

use super::{Chrome, actor_of, cpts_id};
use crate::error::WebError;
use crate::sessions::Signed;
use crate::{Web, format, urls};

/// A skeleton for a first draft of a year (the YAML the CLI's `report draft --file` reads).
fn skeleton(start: jiff::civil::Date, last: jiff::civil::Date) -> String {
    format!(
        "summary: |\n  Bilan de l'année.\nactions:\n  - {{title: Titre de l'action, mission: acces_soins, from: {start}, to: {last}, description: Description, professionals: 10}}\nexpenses:\n  - {{item: Coordination, amount: 10000}}\ncrisis_plan: false\ncrisis_declared: false\n"
    )
}

pub struct YearRow {
    pub contract: i64,
    pub year: u8,
    pub period: String,
    pub status: String,
    pub version: String,
    pub last: String,
    pub href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "reports.html")]
pub struct ListPage {
    chrome: Chrome,
    name: String,
    id: String,
    cpts_href: String,
    rows: Vec<YearRow>,
    on: String,
}

/// The CPTS's contracts, as the engine reads them: (number, contract).
async fn contracts(web: &Web, who: &Principal, id: &CptsId) -> Result<Vec<(i64, Contract)>, WebError> {
    Ok(web
        .app
        .contracts(who, id)
        .await?
        .into_iter()
        .filter_map(|(a, _)| a.contract(&web.app.rules).ok().map(|c| (a.seq, c)))
        .collect())
}

fn last_step(r: &Report) -> String {
    r.events.last().map_or_else(String::new, |e| format!("{} le {} par {}", e.act.label(), format::date(e.on), e.by))
}

fn latest(reports: &[(CptsId, Report)], contract: i64, year: u8) -> Option<&Report> {
    reports.iter().map(|(_, r)| r).filter(|r| r.contract == contract && r.year == year).max_by_key(|r| r.version)
}

pub async fn list(State(web): State<Web>, s: Signed, Path(id): Path<String>) -> Result<ListPage, WebError> {
    let id = cpts_id(&id)?;
    let view = web.app.show_cpts(&s.who, &id, None).await?;
    let reports = web.app.reports(&s.who, Some(&id)).await?;
    let today = web.app.clock.today();
    let mut rows = Vec::new();
    for (seq, c) in contracts(&web, &s.who, &id).await? {
        for year in 1..=c.last_year() {
            let Some((start, end)) = c.year_bounds(year) else { continue };
            let r = latest(&reports, seq, year);
            // Years not begun yet have nothing to report.
            if start > today && r.is_none() {
                continue;
            }
            rows.push(YearRow {
                contract: seq,
                year,
                period: format!(
                    "du {} au {}",
                    format::date(start),
                    format::date(cpts_engine::dates::day_before(end).unwrap_or(end))
                ),
                status: r.map_or_else(|| "pas de rapport".into(), |r| r.status.label().to_owned()),
                version: r.map_or_else(String::new, |r| r.version.to_string()),
                last: r.map(last_step).unwrap_or_default(),
                href: urls::report(id.as_str(), seq, year),
            });
        }
    }
    Ok(ListPage {
        chrome: Chrome::new(&s, urls::CPTS_LIST),
        name: view.cpts.record.identity.name.clone(),
        id: id.to_string(),
        cpts_href: urls::cpts(id.as_str()),
        rows,
        on: format::date(today),
    })
}

pub struct Cell {
    pub text: String,
    pub num: bool,
}

pub struct DocTable {
    pub name: String,
    pub header: Vec<Cell>,
    pub rows: Vec<Vec<Cell>>,
}

/// A block of the document: one of the three is set.
pub struct DocBlock {
    pub heading: Option<String>,
    pub text: Option<String>,
    pub table: Option<DocTable>,
}

fn blocks(doc: &Document) -> Vec<DocBlock> {
    let none = || DocBlock { heading: None, text: None, table: None };
    doc.blocks
        .iter()
        .map(|b| match b {
            Block::Heading(h) => DocBlock { heading: Some(h.clone()), ..none() },
            Block::Text(t) => DocBlock { text: Some(t.clone()), ..none() },
            Block::Table(t) => {
                let cell = |i: usize, text: &String| Cell { text: text.clone(), num: t.right.get(i).copied().unwrap_or(false) };
                DocBlock {
                    table: Some(DocTable {
                        name: t.name.clone(),
                        header: t.header.iter().enumerate().map(|(i, h)| cell(i, h)).collect(),
                        rows: t.rows.iter().map(|r| r.iter().enumerate().map(|(i, c)| cell(i, c)).collect()).collect(),
                    }),
                    ..none()
                }
            }
        })
        .collect()
}

pub struct EventRow {
    pub act: &'static str,
    pub on: String,
    pub by: String,
    pub text: String,
    /// The draft's YAML (shown folded), rather than a comment.
    pub draft: bool,
}

/// A form of an act the viewer may take.
pub struct ActForm {
    pub code: &'static str,
    pub title: &'static str,
    pub action: String,
    pub button: &'static str,
    /// The text area's label, when the act takes a text.
    pub text_label: Option<&'static str>,
    pub text: String,
    pub yaml: bool,
    pub error: bool,
}

pub struct Link {
    pub href: String,
    pub label: String,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "report.html")]
pub struct ReportPage {
    chrome: Chrome,
    name: String,
    id: String,
    cpts_href: String,
    reports_href: String,
    contract: i64,
    year: u8,
    period: String,
    /// None: no report yet for the year.
    status: Option<String>,
    version: i64,
    latest: bool,
    title: String,
    subtitle: Vec<String>,
    blocks: Vec<DocBlock>,
    events: Vec<EventRow>,
    versions: Vec<Link>,
    acts: Vec<ActForm>,
    downloads: Vec<Link>,
    done: Option<&'static str>,
    /// Why the last act was refused (422), with the act's form kept.
    refused: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct Shown {
    version: Option<i64>,
    fait: Option<String>,
}

fn confirmation(act: Act) -> &'static str {
    match act {
        Act::Rediger => "Brouillon enregistré.",
        Act::Soumettre => "Rapport soumis : les résultats des indicateurs sont figés pour l'instruction.",
        Act::Commenter => "Commentaire enregistré : le rapport est en revue.",
        Act::Repondre => "Réponse enregistrée.",
        Act::DemanderCorrection => "Rapport renvoyé à la CPTS pour correction.",
        Act::Valider => "Rapport validé : les soldes de l'année deviennent exigibles à l'échéancier.",
    }
}

/// The acts that make sense from a status (the domain decides in the end).
fn acts_from(status: Option<Status>) -> &'static [Act] {
    match status {
        None | Some(Status::Valide) => &[Act::Rediger],
        Some(Status::Brouillon | Status::ACorriger) => &[Act::Rediger, Act::Soumettre],
        Some(Status::Soumis) => &[Act::Commenter, Act::DemanderCorrection, Act::Valider],
        Some(Status::EnRevue) => &[Act::Repondre, Act::Commenter, Act::DemanderCorrection, Act::Valider],
    }
}

const DRAFT_LABEL: &str = "Rapport (YAML : summary, actions, expenses, crisis_plan, crisis_declared)";

fn act_form(id: &CptsId, contract: i64, year: u8, act: Act, status: Option<Status>, text: String, error: bool) -> ActForm {
    let action = urls::report_act(id.as_str(), contract, year, act.code());
    let (title, button, text_label) = match (act, status) {
        (Act::Rediger, Some(Status::Valide)) => ("Nouvelle version (correction du rapport validé)", "Créer la nouvelle version", Some(DRAFT_LABEL)),
        (Act::Rediger, None) => ("Rédiger le rapport", "Enregistrer le brouillon", Some(DRAFT_LABEL)),
        (Act::Rediger, _) => ("Modifier le brouillon", "Enregistrer le brouillon", Some(DRAFT_LABEL)),
        (Act::Soumettre, _) => ("Soumettre", "Soumettre le rapport", None),
        (Act::Commenter, _) => ("Commenter", "Envoyer le commentaire", Some("Commentaire")),
        (Act::Repondre, _) => ("Répondre", "Envoyer la réponse", Some("Réponse aux commentaires")),
        (Act::DemanderCorrection, _) => ("Demander une correction", "Renvoyer « à corriger »", Some("Ce qui est à corriger")),
        (Act::Valider, _) => ("Valider", "Valider le rapport", None),
    };
    ActForm { code: act.code(), title, action, button, text_label, yaml: act == Act::Rediger, text, error }
}

/// What a refused act brings back: its code, its text, the reasons.
struct Kept {
    act: Act,
    text: String,
    reasons: Vec<String>,
}

fn parse_year(contract: &str, year: &str) -> Result<(i64, u8), WebError> {
    Ok((contract.parse().map_err(|_| WebError::NotFound)?, year.parse().map_err(|_| WebError::NotFound)?))
}

fn no_report(e: &AppError) -> bool {
    matches!(e, AppError::NotFound(m) if m.starts_with(NO_REPORT))
}

async fn render(
    web: &Web,
    s: &Signed,
    id: &CptsId,
    (contract, year): (i64, u8),
    shown: Shown,
    kept: Option<Kept>,
) -> Result<ReportPage, WebError> {
    let app = &web.app;
    let view = app.show_cpts(&s.who, id, None).await?;
    let all = contracts(web, &s.who, id).await?;
    let c = all.iter().find(|(seq, _)| *seq == contract).map(|(_, c)| c).ok_or(WebError::NotFound)?;
    let (start, end) = c.year_bounds(year).ok_or(WebError::NotFound)?;
    let last = cpts_engine::dates::day_before(end).unwrap_or(end);
    let target = ReportRef { cpts: id.clone(), year, contract: Some(contract) };
    let doc = match app.report_document(&s.who, &target, shown.version).await {
        Ok(d) => Some(d),
        Err(e) if no_report(&e) && shown.version.is_none() => None,
        Err(e) => return Err(e.into()),
    };
    let reports = app.reports(&s.who, Some(id)).await?;
    let newest = latest(&reports, contract, year).map(|r| r.version);
    let report = doc.as_ref().map(|d| &d.report);
    let is_latest = report.map(|r| r.version) == newest;
    let status = report.map(|r| r.status);
    // Acts on the latest version only, those the policy allows to this viewer.
    let mut acts = Vec::new();
    if is_latest {
        let rights = app.rights(&s.who, id).await?;
        let (may_write, may_review) = (rights.may(Action::WriteReport), rights.may(Action::ReviewReport));
        for act in acts_from(status) {
            let ok = match action_of(*act) {
                Action::WriteReport => may_write,
                _ => may_review,
            };
            if !ok {
                continue;
            }
            let (text, error) = match &kept {
                Some(k) if k.act == *act => (k.text.clone(), true),
                _ if *act == Act::Rediger => (report.map_or_else(|| skeleton(start, last), |r| r.text.clone()), false),
                _ => (String::new(), false),
            };
            acts.push(act_form(id, contract, year, *act, status, text, error));
        }
    }
    let events = report
        .map(|r| {
            r.events
                .iter()
                .map(|e| EventRow {
                    act: e.act.label(),
                    on: format::date(e.on),
                    by: format!("{} pour {}", e.by, e.role.label()),
                    text: e.text.clone().unwrap_or_default(),
                    draft: e.act == Act::Rediger,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut versions: Vec<Link> = reports
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.contract == contract && r.year == year)
        .map(|r| Link {
            href: urls::report_version(id.as_str(), contract, year, Some(r.version)),
            label: format!("version {} ({})", r.version, r.status.label()),
            current: report.is_some_and(|x| x.version == r.version),
        })
        .collect();
    versions.sort_by(|a, b| a.label.cmp(&b.label));
    let downloads = report
        .map(|r| {
            [("pdf", "PDF"), ("csv", "CSV"), ("xlsx", "XLSX")]
                .into_iter()
                .map(|(ext, label)| Link {
                    href: urls::report_file(id.as_str(), contract, year, r.version, ext),
                    label: format!("Télécharger la version {} en {label}", r.version),
                    current: false,
                })
                .collect()
        })
        .unwrap_or_default();
    let done = shown.fait.as_deref().and_then(Act::from_code).map(confirmation);
    Ok(ReportPage {
        chrome: Chrome::new(s, urls::CPTS_LIST),
        name: view.cpts.record.identity.name.clone(),
        id: id.to_string(),
        cpts_href: urls::cpts(id.as_str()),
        reports_href: urls::reports(id.as_str()),
        contract,
        year,
        period: format!("du {} au {}", format::date(start), format::date(last)),
        status: status.map(|st| st.label().to_owned()),
        version: report.map_or(0, |r| r.version),
        latest: is_latest,
        title: doc.as_ref().map(|d| d.document.title.clone()).unwrap_or_default(),
        subtitle: doc.as_ref().map(|d| d.document.subtitle.clone()).unwrap_or_default(),
        blocks: doc.as_ref().map(|d| blocks(&d.document)).unwrap_or_default(),
        events,
        versions,
        acts,
        downloads,
        done,
        refused: kept.map(|k| k.reasons).unwrap_or_default(),
    })
}

pub async fn page(
    State(web): State<Web>,
    s: Signed,
    Path((id, contract, year)): Path<(String, String, String)>,
    Query(shown): Query<Shown>,
) -> Result<ReportPage, WebError> {
    let id = cpts_id(&id)?;
    render(&web, &s, &id, parse_year(&contract, &year)?, shown, None).await
}

#[derive(Deserialize, Default)]
pub struct ActInput {
    #[serde(default)]
    texte: String,
}

/// One act on the report: 303 back to the report with its confirmation; refused, the page
/// again (422) with the reasons and the text kept.
pub async fn act(
    State(web): State<Web>,
    s: Signed,
    Path((id, contract, year, part)): Path<(String, String, String, String)>,
    Form(input): Form<ActInput>,
) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let (contract, year) = parse_year(&contract, &year)?;
    let act = Act::from_code(&part).ok_or(WebError::NotFound)?;
    let role = web.app.rights(&s.who, &id).await?.role(action_of(act));
    let otherwise = act.roles().first().copied().unwrap_or(cpts_domain::lifecycle::Actor::Cpts);
    let text = Some(input.texte.replace("\r\n", "\n")).filter(|t| !t.trim().is_empty());
    let cmd = ReportAct {
        target: ReportRef { cpts: id.clone(), year, contract: Some(contract) },
        act,
        text: text.clone(),
        source: None,
        role: actor_of(role, otherwise),
        by: s.who.name.clone(),
        on: None,
    };
    let reasons = match web.app.report_act(&s.who, cmd).await {
        Ok(_) => {
            let to = format!("{}?fait={}", urls::report(id.as_str(), contract, year), act.code());
            return Ok(Redirect::to(&to).into_response());
        }
        Err(AppError::Refused(reasons)) => reasons,
        Err(AppError::Invalid(errors)) => errors.iter().map(ToString::to_string).collect(),
        Err(e) if no_report(&e) => vec![format!("{e} : commencez par rédiger le brouillon")],
        Err(e) => return Err(e.into()),
    };
    let kept = Kept { act, text: text.unwrap_or_default(), reasons };
    let page = render(&web, &s, &id, (contract, year), Shown::default(), Some(kept)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// `rapport-v2.pdf`: version 2 as PDF (or CSV, XLSX), the document `cpts report export` writes.
pub async fn download(
    State(web): State<Web>,
    s: Signed,
    Path((id, contract, year, part)): Path<(String, String, String, String)>,
) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let (contract, year) = parse_year(&contract, &year)?;
    let (stem, ext) = part.rsplit_once('.').ok_or(WebError::NotFound)?;
    let version: i64 = stem.strip_prefix("rapport-v").and_then(|v| v.parse().ok()).ok_or(WebError::NotFound)?;
    let target = ReportRef { cpts: id.clone(), year, contract: Some(contract) };
    let d = web.app.report_document(&s.who, &target, Some(version)).await?;
    let name = format!("{}-contrat{contract}-annee{year}-v{version}.{ext}", id.as_str());
    let (bytes, kind) = match ext {
        "pdf" => (cpts_render::pdf(&d.document), "application/pdf"),
        "csv" => (cpts_render::csv(&d.document).map_err(WebError::internal)?, "text/csv; charset=utf-8"),
        "xlsx" => (
            cpts_render::xlsx(&d.document).map_err(WebError::internal)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => return Err(WebError::NotFound),
    };
    Ok(super::download(bytes, kind, &name))
}
