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
/// Changes listed per row; the rest are counted.
const CHANGES: usize = 30;
/// Characters shown of a changed value.
const VALUE_CHARS: usize = 160;

pub struct Row {
    pub at: String,
    pub login: String,
    pub role: String,
    pub action: String,
    pub cpts: String,
    /// What the write changed, value by value (at most `CHANGES`).
    pub changes: Vec<Change>,
    /// Changes not listed.
    pub more: usize,
    pub batch: String,
}

/// One value a write changed: where in the record, before, after (« — »: absent).
#[derive(Debug, PartialEq)]
pub struct Change {
    pub path: String,
    pub before: String,
    pub after: String,
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

/// The record's values, leaf by leaf, in document order: `missions.acces_soins.actions[2]`.
fn leaves<'a>(v: &'a serde_json::Value, path: String, out: &mut Vec<(String, &'a serde_json::Value)>) {
    use serde_json::Value;
    let at = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match v {
        Value::Object(m) if !m.is_empty() => m.iter().for_each(|(k, v)| leaves(v, at(k), out)),
        Value::Array(a) if !a.is_empty() => a.iter().enumerate().for_each(|(i, v)| leaves(v, format!("{path}[{i}]"), out)),
        _ => out.push((path, v)),
    }
}

fn shown(v: Option<&serde_json::Value>) -> String {
    let text = match v {
        None => return "—".into(),
        Some(serde_json::Value::String(s)) if s.is_empty() => return "(vide)".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    match text.char_indices().nth(VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// What a write changed: the values that differ between the record before and after, not the
/// two whole records (a report's draft weighs tens of kilobytes; a page shows 200 writes). The
/// whole records stay in the audit's API and command line. A detail that is not JSON is one
/// value.
fn changes(before: Option<&str>, after: Option<&str>) -> Vec<Change> {
    let parse = |j: Option<&str>| {
        j.map(|j| serde_json::from_str::<serde_json::Value>(j).unwrap_or_else(|_| serde_json::Value::String(j.to_owned())))
    };
    let (b, a) = (parse(before), parse(after));
    let mut bl = Vec::new();
    let mut al = Vec::new();
    if let Some(b) = &b {
        leaves(b, String::new(), &mut bl);
    }
    if let Some(a) = &a {
        leaves(a, String::new(), &mut al);
    }
    let old: std::collections::HashMap<&str, &serde_json::Value> = bl.iter().map(|(p, v)| (p.as_str(), *v)).collect();
    let new: std::collections::HashMap<&str, &serde_json::Value> = al.iter().map(|(p, v)| (p.as_str(), *v)).collect();
    let changed = |p: &str, b: Option<&serde_json::Value>, a: Option<&serde_json::Value>| {
        (b != a).then(|| Change { path: if p.is_empty() { "(valeur)".into() } else { p.to_owned() }, before: shown(b), after: shown(a) })
    };
    let mut out: Vec<Change> = al.iter().filter_map(|(p, v)| changed(p, old.get(p.as_str()).copied(), Some(*v))).collect();
    out.extend(bl.iter().filter(|(p, _)| !new.contains_key(p.as_str())).filter_map(|(p, v)| changed(p, Some(*v), None)));
    out
}

fn rows(entries: Vec<AuditEntry>) -> Vec<Row> {
    entries
        .into_iter()
        .map(|e| {
            let mut changes = changes(e.before.as_deref(), e.after.as_deref());
            let more = changes.len().saturating_sub(CHANGES);
            changes.truncate(CHANGES);
            Row {
                // « 2021-10-25T08:00:00Z » → « 2021-10-25 08:00:00 UTC ».
                at: e.at.replacen('T', " ", 1).replace('Z', " UTC"),
                changes,
                more,
                login: e.login,
                role: e.role,
                action: e.action,
                cpts: e.cpts.unwrap_or_default(),
                batch: e.batch,
            }
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

#[cfg(test)]
mod tests {
    use super::{Change, changes};

    fn c(path: &str, before: &str, after: &str) -> Change {
        Change { path: path.into(), before: before.into(), after: after.into() }
    }

    #[test]
    fn a_write_shows_the_values_it_changed_not_the_whole_records() {
        let before = r#"{"name":"CPTS A","seat":{"commune":"75118","street":"1 rue"},"phones":["01","02"],"n":3}"#;
        let after = r#"{"name":"CPTS A","seat":{"commune":"75119","street":"1 rue"},"phones":["01"],"n":3,"siret":null}"#;
        assert_eq!(
            changes(Some(before), Some(after)),
            vec![c("seat.commune", "75118", "75119"), c("siret", "—", "null"), c("phones[1]", "02", "—")]
        );
        // A creation lists what was written; a removal what was there; an unchanged write nothing.
        assert_eq!(changes(None, Some(r#"{"a":[],"b":{"c":1}}"#)), vec![c("a", "—", "[]"), c("b.c", "—", "1")]);
        assert_eq!(changes(Some(r#"{"a":1}"#), None), vec![c("a", "1", "—")]);
        assert_eq!(changes(Some(r#"{"a":"x"}"#), Some(r#"{"a":""}"#)), vec![c("a", "x", "(vide)")]);
        assert_eq!(changes(Some(before), Some(before)), vec![]);
        // Not JSON: one value. Long values are cut at a character boundary.
        assert_eq!(changes(None, Some("brut")), vec![c("(valeur)", "—", "brut")]);
        let long = format!("\"{}\"", "é".repeat(200));
        let shown = &changes(None, Some(&long))[0].after;
        assert_eq!(shown.chars().count(), 161);
        assert!(shown.ends_with('…'));
    }
}
