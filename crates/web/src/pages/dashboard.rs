//! Tableau de bord: the scope's CPTS by stage, coverage by département (map and table), money
//! and alerts, counted by urgency and by CPTS (lists open from the counts).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use cpts_app::dashboard::{Dashboard, StageGroup};
use cpts_domain::calendar::Urgency;
use serde::Deserialize;

use super::Chrome;
use crate::error::WebError;
use crate::sessions::Signed;
use crate::{Web, format, urls};

/// The horizon of « à venir » alerts, in days.
pub const HORIZON: i64 = cpts_app::dashboard::ALERT_HORIZON_DAYS;

/// CPTS listed by alerts on the dashboard (the alerts page has them all).
const TOP: usize = 15;

pub struct StageRow {
    pub label: &'static str,
    pub href: String,
    pub cpts: usize,
    pub population: String,
}

pub struct AreaRow {
    /// The list of the CPTS of this département.
    pub href: String,
    pub code: String,
    pub name: String,
    pub population: String,
    pub covered: String,
    pub rate: String,
    pub cpts: usize,
    /// Colour class of the map: 0 (none) to 4 (most covered).
    pub class: u8,
}

pub struct MoneyLine {
    pub funder: String,
    pub part: String,
    pub planned: String,
    pub past_due: String,
    pub paid: String,
    pub left: String,
}

pub struct AlertCount {
    pub label: &'static str,
    pub href: String,
    pub count: usize,
    pub class: &'static str,
}

pub struct CptsAlertRow {
    pub name: String,
    pub href: String,
    pub late: usize,
    pub soon: usize,
    pub todo: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    chrome: Chrome,
    on: String,
    cpts: usize,
    population: String,
    covered: String,
    rate: String,
    stages: Vec<StageRow>,
    areas: Vec<AreaRow>,
    map: Option<crate::map::Map>,
    planned: String,
    paid: String,
    to_pay: String,
    money: Vec<MoneyLine>,
    alerts: Vec<AlertCount>,
    by_cpts: Vec<CptsAlertRow>,
    alerting: usize,
    /// A scope of a few CPTS: links to each.
    mine: Vec<(String, String)>,
    top: usize,
    horizon: i64,
}

fn class(permille: u64) -> u8 {
    match permille {
        0 => 0,
        1..=249 => 1,
        250..=499 => 2,
        500..=749 => 3,
        _ => 4,
    }
}

fn alerts_of(u: Urgency) -> String {
    format!("{}?urgence={}", urls::ALERTS, super::alerts::urgency_code(u))
}

fn money_lines(rules: &cpts_engine::rules::RuleSet, d: &Dashboard) -> Vec<MoneyLine> {
    d.by_source
        .iter()
        .map(|m| MoneyLine {
            funder: match m.funder.as_str() {
                "aci" => "Assurance Maladie (ACI)".to_owned(),
                kind => cpts_domain::ledger::FunderKind::parse(kind).map_or_else(|_| kind.to_owned(), |k| k.label().to_owned()),
            },
            part: m.component.as_deref().map_or_else(|| "convention".to_owned(), |c| cpts_domain::ledger::component_label(rules, c)),
            planned: format::money(m.planned),
            past_due: format::money(m.past_due),
            paid: format::money(m.paid),
            left: format::money(m.planned - m.paid),
        })
        .collect()
}

fn view(chrome: Chrome, d: &Dashboard, rules: &cpts_engine::rules::RuleSet) -> DashboardPage {
    let stages = StageGroup::ALL
        .into_iter()
        .map(Some)
        .chain([None])
        .filter_map(|g| {
            let c = d.by_stage.get(&g)?;
            Some(StageRow {
                label: g.map_or("aucune étape enregistrée", StageGroup::label),
                href: format!("{}?etape={}", urls::CPTS_LIST, g.map_or("aucune", StageGroup::code)),
                cpts: c.cpts,
                population: format::int(c.population),
            })
        })
        .collect();
    let areas: Vec<AreaRow> = d
        .departements
        .iter()
        .map(|a| AreaRow {
            href: format!("{}?departement={}", urls::CPTS_LIST, urls::enc(&a.code)),
            code: a.code.clone(),
            name: a.name.clone(),
            population: format::int(a.population),
            covered: format::int(a.covered),
            rate: format::percent(a.covered, a.population),
            cpts: a.cpts,
            class: class(format::permille(a.covered, a.population)),
        })
        .collect();
    let count = |u: Urgency| d.alerts.iter().flat_map(|c| &c.alerts).filter(|a| a.urgency == u).count();
    let alerts = vec![
        AlertCount { label: "en retard", href: alerts_of(Urgency::Late), count: count(Urgency::Late), class: "late" },
        AlertCount { label: "à venir", href: alerts_of(Urgency::Soon), count: count(Urgency::Soon), class: "soon" },
        AlertCount {
            label: "à faire (sans échéance connue)",
            href: alerts_of(Urgency::ToDo),
            count: count(Urgency::ToDo),
            class: "todo",
        },
    ];
    // The CPTS with most late alerts first; the full list is on the alerts page.
    let mut ranked: Vec<&cpts_app::national::CptsAlerts> = d.alerts.iter().collect();
    let late = |c: &cpts_app::national::CptsAlerts, u: Urgency| c.alerts.iter().filter(|a| a.urgency == u).count();
    ranked.sort_by_key(|c| (std::cmp::Reverse(late(c, Urgency::Late)), std::cmp::Reverse(late(c, Urgency::Soon))));
    let by_cpts = ranked
        .into_iter()
        .take(TOP)
        .map(|c| {
            let n = |u: Urgency| c.alerts.iter().filter(|a| a.urgency == u).count();
            CptsAlertRow {
                name: c.record.identity.name.clone(),
                href: format!("{}?q={}", urls::ALERTS, urls::enc(c.record.id.as_str())),
                late: n(Urgency::Late),
                soon: n(Urgency::Soon),
                todo: n(Urgency::ToDo),
            }
        })
        .collect();
    // One département is no map: the table says it all.
    let map = (areas.len() > 2).then(|| crate::map::map(areas.iter().map(|a| {
        let title = format!("{} {} : {} de la population couverte, {} CPTS", a.code, a.name, a.rate, a.cpts);
        (a.code.clone(), format!("r{}", a.class), title)
    })))
    .flatten();
    DashboardPage {
        chrome,
        map,
        on: format::date(d.on),
        cpts: d.cpts.len(),
        population: format::int(d.population()),
        covered: format::int(d.covered()),
        rate: format::percent(d.covered(), d.population()),
        stages,
        areas,
        planned: format::money(d.money.planned),
        paid: format::money(d.money.paid),
        to_pay: format::money(d.money.planned - d.money.paid),
        money: money_lines(rules, d),
        alerts,
        by_cpts,
        alerting: d.alerts.len(),
        mine: if d.cpts.len() <= 3 {
            d.cpts.iter().map(|e| (e.cpts.record.identity.name.clone(), urls::cpts(e.cpts.record.id.as_str()))).collect()
        } else {
            Vec::new()
        },
        top: TOP,
        horizon: HORIZON,
    }
}

#[derive(Deserialize)]
pub struct Filters {}

pub async fn page(State(web): State<Web>, s: Signed, Query(_f): Query<Filters>) -> Result<DashboardPage, WebError> {
    let today = web.app.clock.today();
    let d = web.app.dashboard(&s.who, today, HORIZON).await?;
    Ok(view(Chrome::new(&s, urls::HOME), &d, &web.app.rules))
}
