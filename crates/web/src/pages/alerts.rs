//! Every alert of the scope, filtered: what the dashboard's counts open onto. Nationally they
//! are thousands: the page says how many match and shows the first ones.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use cpts_domain::calendar::Urgency;
use serde::Deserialize;

use super::{Chrome, Choice};
use crate::error::WebError;
use crate::sessions::Signed;
use crate::{Web, format, urls};

/// Rows shown at most (the count says how many match).
const SHOWN: usize = 500;

pub fn urgency_code(u: Urgency) -> &'static str {
    u.code()
}

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    urgence: String,
    #[serde(default)]
    q: String,
}

pub struct Row {
    pub cpts: String,
    pub href: String,
    pub date: String,
    pub urgency: &'static str,
    pub class: &'static str,
    pub text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "alerts.html")]
pub struct AlertsPage {
    chrome: Chrome,
    q: String,
    urgencies: Vec<Choice>,
    rows: Vec<Row>,
    matching: usize,
    total: usize,
    shown: usize,
    horizon: i64,
}

pub async fn page(State(web): State<Web>, s: Signed, Query(f): Query<Filters>) -> Result<AlertsPage, WebError> {
    let horizon = super::dashboard::HORIZON;
    let all = web.app.alerts(&s.who, None, horizon, web.app.clock.today()).await?;
    let total = all.iter().map(|c| c.alerts.len()).sum();
    let filter = cpts_app::national::AlertFilter { text: f.q.clone(), urgency: f.urgence.clone() };
    let matching: Vec<Row> = filter
        .apply(&all)
        .map(|(c, a)| Row {
            cpts: c.record.identity.name.clone(),
            href: urls::cpts(c.record.id.as_str()),
            date: format::date(a.date),
            urgency: a.urgency.label(),
            class: super::cpts::urgency_class(a.urgency),
            text: a.text.clone(),
        })
        .collect();
    let matching_n = matching.len();
    let rows: Vec<Row> = matching.into_iter().take(SHOWN).collect();
    let mut urgencies = vec![Choice::new("", "toutes", f.urgence.is_empty())];
    urgencies.extend([Urgency::Late, Urgency::Soon, Urgency::ToDo].map(|u| Choice::new(urgency_code(u), u.label(), f.urgence == urgency_code(u))));
    Ok(AlertsPage { chrome: Chrome::new(&s, urls::ALERTS), q: f.q, urgencies, shown: rows.len(), rows, matching: matching_n, total, horizon })
}
