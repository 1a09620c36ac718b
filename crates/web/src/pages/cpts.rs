//! The CPTS of the user's scope: the list with its filters, and one CPTS's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use cpts_app::dashboard::StageGroup;
use cpts_app::national::ListFilter;
use serde::Deserialize;

use super::{Chrome, Choice, cpts_id};
use crate::error::WebError;
use crate::sessions::Signed;
use crate::{Web, format, urls};

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    departement: String,
    #[serde(default)]
    etape: String,
    #[serde(default)]
    taille: String,
}

pub struct Row {
    pub name: String,
    pub id: String,
    pub href: String,
    pub departements: String,
    pub population: String,
    pub tier: String,
    pub stage: String,
    pub since: String,
    pub planned: String,
    pub paid: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "cpts_list.html")]
pub struct ListPage {
    chrome: Chrome,
    q: String,
    regions: Vec<Choice>,
    departements: Vec<Choice>,
    stages: Vec<Choice>,
    tiers: Vec<Choice>,
    rows: Vec<Row>,
    total: usize,
    on: String,
    may_create: bool,
}

fn choices(items: impl IntoIterator<Item = (String, String)>, chosen: &str) -> Vec<Choice> {
    let mut v: Vec<Choice> = vec![Choice::new("", "toutes", chosen.is_empty())];
    v.extend(items.into_iter().map(|(value, label)| Choice { selected: value == chosen, value, label }));
    v
}

impl Filters {
    fn filter(&self) -> ListFilter {
        ListFilter {
            text: self.q.clone(),
            region: self.region.clone(),
            departement: self.departement.clone(),
            stage: self.etape.clone(),
            tier: self.taille.clone(),
        }
    }
}

pub async fn list(State(web): State<Web>, s: Signed, Query(f): Query<Filters>) -> Result<ListPage, WebError> {
    let on = web.app.clock.today();
    let all = web.app.list(&s.who, on).await?;
    let geo = &web.app.geo;
    // The filters offer what the scope holds, not all of France.
    let mut regions = std::collections::BTreeSet::new();
    let mut deps = std::collections::BTreeSet::new();
    for e in all.iter() {
        if let Ok(t) = &e.cpts.summary {
            regions.extend(t.regions.iter().cloned());
            deps.extend(t.departements.iter().cloned());
        }
    }
    let named = |c: String, name: Option<&str>| {
        let label = format!("{c} {}", name.unwrap_or(""));
        (c, label.trim().to_owned())
    };
    let filter = f.filter();
    let rows: Vec<Row> = all
        .iter()
        .filter(|e| filter.keeps(e))
        .map(|e| {
            let t = e.cpts.summary.as_ref().ok();
            Row {
                name: e.cpts.record.identity.name.clone(),
                id: e.cpts.record.id.to_string(),
                href: urls::cpts(e.cpts.record.id.as_str()),
                departements: t.map(|t| t.departements.iter().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default(),
                population: t.map_or_else(|| "—".into(), |t| format::int(t.population)),
                tier: t.map_or_else(|| "—".into(), |t| t.tier.to_string()),
                stage: e.stage.map_or("aucune étape".into(), |(st, _)| StageGroup::of(st).label().to_owned()),
                since: e.stage.map(|(_, d)| format::date(d)).unwrap_or_default(),
                planned: format::money(e.money.planned),
                paid: format::money(e.money.paid),
            }
        })
        .collect();
    Ok(ListPage {
        chrome: Chrome::new(&s, urls::CPTS_LIST),
        q: f.q.clone(),
        regions: choices(regions.into_iter().map(|c| { let n = geo.region_name(&c).map(str::to_owned); named(c, n.as_deref()) }), &f.region),
        departements: choices(deps.into_iter().map(|c| { let n = geo.departement_name(&c).map(str::to_owned); named(c, n.as_deref()) }), &f.departement),
        stages: choices(
            StageGroup::ALL.into_iter().map(|g| (g.code().to_owned(), g.label().to_owned())).chain([("aucune".to_owned(), "aucune étape enregistrée".to_owned())]),
            &f.etape,
        ),
        tiers: choices((1..=4).map(|t| (t.to_string(), format!("taille {t}"))), &f.taille),
        total: all.len(),
        may_create: super::holds_any(&s.who, cpts_app::Action::CreateCpts),
        rows,
        on: format::date(on),
    })
}

pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

pub struct Commune {
    pub code: String,
    pub name: String,
    pub population: String,
}

pub struct AlertRow {
    pub date: String,
    pub urgency: &'static str,
    pub class: &'static str,
    pub text: String,
}

pub struct ReportRow {
    pub what: String,
    pub status: &'static str,
    pub version: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "cpts.html")]
pub struct CptsPage {
    chrome: Chrome,
    name: String,
    id: String,
    identity: Vec<Fact>,
    territory: Vec<Fact>,
    communes: Vec<Commune>,
    stage: String,
    history: Vec<super::lifecycle::StepRow>,
    alerts: Vec<AlertRow>,
    funders: Vec<super::ledger::FunderRow>,
    /// The next lines still to pay.
    next: Vec<super::ledger::LineRow>,
    open_lines: usize,
    reports: Vec<ReportRow>,
    on: String,
    may_audit: bool,
    may_identity: bool,
    may_territory: bool,
    done: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct Done {
    fait: Option<String>,
}

pub fn urgency_class(u: cpts_domain::calendar::Urgency) -> &'static str {
    match u {
        cpts_domain::calendar::Urgency::Late => "late",
        cpts_domain::calendar::Urgency::Soon => "soon",
        cpts_domain::calendar::Urgency::ToDo => "todo",
    }
}

/// The next lines to pay shown on a CPTS's page (the funding page has them all).
const NEXT_LINES: usize = 5;

pub async fn page(State(web): State<Web>, s: Signed, Path(id): Path<String>, Query(q): Query<Done>) -> Result<CptsPage, WebError> {
    let app = &web.app;
    let id = cpts_id(&id)?;
    let on = app.clock.today();
    let (overview, rights) = app.overview(&s.who, &id).await?;
    let cpts_app::overview::Overview { view, life, alerts, ledger, reports } = &*overview;
    let rec = &view.cpts.record;
    let opt = |o: Option<String>| o.unwrap_or_else(|| "—".into());
    let identity = vec![
        Fact { label: "Forme juridique", value: rec.identity.legal_form.clone() },
        Fact { label: "RNA", value: opt(rec.identity.rna.as_ref().map(ToString::to_string)) },
        Fact { label: "SIRET", value: opt(rec.identity.siret.as_ref().map(ToString::to_string)) },
        Fact { label: "FINESS", value: opt(rec.identity.finess.as_ref().map(ToString::to_string)) },
        Fact {
            label: "Siège",
            value: opt(rec.identity.seat.as_ref().map(|c| {
                app.geo.commune(c).map_or_else(|| c.to_string(), |x| format!("{} ({})", x.name, c))
            })),
        },
    ];
    let territory = match &view.cpts.summary {
        Ok(t) => vec![
            Fact { label: "Population", value: format!("{} habitants", format::int(t.population)) },
            Fact { label: "Taille", value: t.tier.to_string() },
            Fact { label: "Départements", value: t.departements.iter().cloned().collect::<Vec<_>>().join(", ") },
        ],
        Err(e) => vec![Fact { label: "Territoire", value: e.clone() }],
    };
    let communes = rec
        .territory
        .communes
        .iter()
        .map(|c| {
            let x = app.geo.commune(c);
            Commune {
                code: c.to_string(),
                name: x.map(|x| x.name.clone()).unwrap_or_default(),
                population: x.and_then(|x| x.population).map_or_else(|| "—".into(), format::int),
            }
        })
        .collect();
    let history = super::lifecycle::history_rows(&life.history);
    let alerts = alerts
        .iter()
        .flat_map(|c| &c.alerts)
        .map(|a| AlertRow { date: format::date(a.date), urgency: a.urgency.label(), class: urgency_class(a.urgency), text: a.text.clone() })
        .collect();
    let (funders, lines) = super::ledger::rows(app, &id, ledger, on, false, false);
    let open: Vec<super::ledger::LineRow> = lines.into_iter().filter(|l| l.open).collect();
    let open_lines = open.len();
    let next = open.into_iter().take(NEXT_LINES).collect();
    let reports = reports
        .iter()
        .map(|r| ReportRow {
            what: format!("contrat n° {}, année {}", r.contract, r.year),
            status: r.status.label(),
            version: r.version,
        })
        .collect();
    Ok(CptsPage {
        chrome: Chrome::new(&s, urls::CPTS_LIST),
        name: rec.identity.name.clone(),
        id: rec.id.to_string(),
        identity,
        territory,
        communes,
        stage: life.now.map_or_else(|| "aucune étape enregistrée".into(), |st| st.label().to_owned()),
        history,
        alerts,
        funders,
        next,
        open_lines,
        reports,
        on: format::date(on),
        may_audit: rights.may(cpts_app::Action::ReadAudit),
        may_identity: rights.may(cpts_app::Action::EditIdentity),
        may_territory: rights.may(cpts_app::Action::EditTerritory),
        done: match q.fait.as_deref() {
            Some("identite") => Some("Identité enregistrée."),
            Some("territoire") => Some("Territoire enregistré."),
            _ => None,
        },
    })
}
