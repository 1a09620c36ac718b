//! The audit log: who wrote what, when, before and after. Nationally for the national level,
//! else the rows of the CPTS in the reader's scope; and per CPTS.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use cpts_app::audit::AuditQuery;
use cpts_store::AuditEntry;
use serde::Deserialize;

use super::{Chrome, cpts_id};
use crate::error::WebError;
use crate::sessions::Signed;
use crate::{Web, urls};

/// Rows shown per page of the log.
const ROWS: i64 = 200;

pub struct Row {
    pub at: String,
    pub login: String,
    pub role: String,
    pub action: String,
    pub cpts: String,
    pub before: String,
    pub after: String,
    pub batch: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    chrome: Chrome,
    title: String,
    cpts: Option<String>,
    login: String,
    since: String,
    rows: Vec<Row>,
    limit: i64,
}

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    compte: String,
    #[serde(default)]
    depuis: String,
}

fn pretty(json: Option<&String>) -> String {
    json.map(|j| serde_json::from_str::<serde_json::Value>(j).ok().and_then(|v| serde_json::to_string_pretty(&v).ok()).unwrap_or_else(|| j.clone()))
        .unwrap_or_default()
}

fn rows(entries: Vec<AuditEntry>) -> Vec<Row> {
    entries
        .into_iter()
        .map(|e| Row {
            // « 2021-10-25T08:00:00Z » → « 2021-10-25 08:00:00 UTC ».
            at: e.at.replacen('T', " ", 1).replace('Z', " UTC"),
            before: pretty(e.before.as_ref()),
            after: pretty(e.after.as_ref()),
            login: e.login,
            role: e.role,
            action: e.action,
            cpts: e.cpts.unwrap_or_default(),
            batch: e.batch,
        })
        .collect()
}

async fn view(web: &Web, s: &Signed, cpts: Option<String>, f: Filters) -> Result<AuditPage, WebError> {
    if !super::holds_any(&s.who, cpts_app::Action::ReadAudit) {
        return Err(cpts_app::AppError::forbidden(&s.who, cpts_app::Action::ReadAudit).into());
    }
    let since = match f.depuis.trim() {
        "" => None,
        d => Some(cpts_engine::dates::parse_french(d).map_err(|e| WebError::App(cpts_app::AppError::field("depuis", e)))?),
    };
    let q = AuditQuery {
        cpts: cpts.as_deref().map(cpts_id).transpose()?,
        login: Some(f.compte.trim().to_owned()).filter(|l| !l.is_empty()),
        since,
        limit: Some(ROWS),
        offset: None,
    };
    let entries = web.app.audit(&s.who, &q).await?;
    let title = match &cpts {
        Some(id) => format!("Journal d'audit — {id}"),
        None => "Journal d'audit".into(),
    };
    Ok(AuditPage { chrome: Chrome::new(s, urls::AUDIT), title, cpts, login: f.compte, since: f.depuis, rows: rows(entries), limit: ROWS })
}

pub async fn page(State(web): State<Web>, s: Signed, Query(f): Query<Filters>) -> Result<AuditPage, WebError> {
    view(&web, &s, None, f).await
}

pub async fn of_cpts(State(web): State<Web>, s: Signed, Path(id): Path<String>, Query(f): Query<Filters>) -> Result<AuditPage, WebError> {
    view(&web, &s, Some(id), f).await
}
