//! A CPTS's indicator values: the values stored, by indicator, with their provenance and a
//! chart over time against the contract's target; a value typed in a form, or a CSV/XLSX file
//! imported, all or nothing, through the same use case as `cpts values set|import`.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use cpts_app::values::{ImportValues, value_rows};
use cpts_app::{Action, AppError, FieldError, Principal};
use cpts_domain::ids::CptsId;
use cpts_domain::indicators::{Catalogue, Unit};
use cpts_domain::lifecycle::Actor;
use cpts_domain::table::LineError;
use cpts_domain::values::{Period, RawValue};
use cpts_engine::contract::Contract;
use cpts_engine::rate::Dec;
use cpts_store::{Provenance, StoredValue};
use serde::Deserialize;

use super::{Chrome, actor_of, cpts_id};
use crate::chart::{self, Chart};
use crate::error::WebError;
use crate::sessions::Signed;
use crate::{Web, format, urls};

/// The typed value form, as submitted (kept when refused).
#[derive(Deserialize, Default, Clone)]
pub struct EntryForm {
    #[serde(default)]
    pub indicateur: String,
    #[serde(default)]
    pub periode: String,
    #[serde(default)]
    pub valeur: String,
    #[serde(default)]
    pub numerateur: String,
    #[serde(default)]
    pub denominateur: String,
}

/// What the last import or entry stored (after the redirect).
#[derive(Deserialize, Default)]
pub struct Done {
    enregistre: Option<usize>,
    inchangees: Option<usize>,
}

/// An input of the typed form: its id (also its name), label, hint, value and error.
pub struct Input {
    pub id: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: String,
    pub error: Option<String>,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Group {
    pub label: String,
    pub choices: Vec<Choice>,
}

/// An error of the summary: the field it links to, its text.
pub struct Problem {
    pub href: String,
    pub text: String,
}

pub struct ValueRow {
    pub period: String,
    pub value: String,
    pub numerator: String,
    pub denominator: String,
    pub cumulated: String,
    pub target: String,
    pub source: String,
    pub by: String,
    pub recorded: String,
}

pub struct IndicatorBlock {
    pub code: String,
    pub anchor: String,
    pub label: String,
    pub unit: String,
    /// Counts are compared with a yearly target through their running total.
    pub cumulative: bool,
    pub note: String,
    pub rows: Vec<ValueRow>,
    pub chart: Option<Chart>,
    pub csv: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "values.html")]
pub struct ValuesPage {
    chrome: Chrome,
    name: String,
    id: String,
    cpts_href: String,
    on: String,
    may_import: bool,
    entry_action: String,
    import_action: String,
    max_upload: String,
    groups: Vec<Group>,
    inputs: Vec<Input>,
    indicator_error: Option<String>,
    /// Errors of the typed form (summary), of the import (each line).
    entry_problems: Vec<Problem>,
    import_problems: Vec<String>,
    import_file: String,
    done: Option<String>,
    blocks: Vec<IndicatorBlock>,
}

/// What a refused form or import brings back to the page.
#[derive(Default)]
struct Refusal {
    form: EntryForm,
    entry: Vec<FieldError>,
    import: Vec<String>,
    file: String,
}

/// The contract year a period counts in, among the CPTS's contracts: (contract index, year).
fn year_of(contracts: &[Contract], p: Period) -> Option<(usize, u8)> {
    contracts.iter().enumerate().rev().find_map(|(i, c)| c.year_of(p.first_day()).map(|y| (i, y)))
}

fn target_of(contracts: &[Contract], key: Option<(usize, u8)>, code: &str) -> Option<Dec> {
    let (i, year) = key?;
    let c = contracts.get(i)?;
    c.missions.iter().flat_map(|m| &m.objectives).find(|o| o.indicator == code)?.target(year)
}

/// A value of a series: the stored value, its contract year, the running total over that
/// year, the year's target.
type SeriesRow<'a> = (&'a StoredValue, Option<(usize, u8)>, Dec, Option<Dec>);

/// One indicator's current values in period order, with the running total over each contract
/// year (for counts) and that year's target.
struct Series<'a> {
    code: String,
    rows: Vec<SeriesRow<'a>>,
    cumulative: bool,
}

fn series<'a>(code: &str, values: Vec<&'a StoredValue>, contracts: &[Contract], catalogue: &Catalogue) -> Series<'a> {
    let mut values = values;
    values.sort_by_key(|v| (v.entry.period.first_day(), v.entry.period.end()));
    let unit = cpts_domain::values::kind(catalogue, code).unit;
    let has_target = values.iter().any(|v| target_of(contracts, year_of(contracts, v.entry.period), code).is_some());
    let cumulative = has_target && unit == Unit::Nombre;
    let mut rows = Vec::with_capacity(values.len());
    let mut running: (Option<(usize, u8)>, i128) = (None, 0);
    for v in values {
        let key = year_of(contracts, v.entry.period);
        if key != running.0 || key.is_none() {
            running = (key, 0);
        }
        running.1 = running.1.saturating_add(v.entry.reading.value.to_nano_units());
        let cum = Dec::from_nano_units(running.1).unwrap_or(v.entry.reading.value);
        rows.push((v, key, cum, target_of(contracts, key, code)));
    }
    Series { code: code.to_owned(), rows, cumulative }
}

fn recorded(at: &str) -> String {
    at.get(..10).and_then(|d| d.parse::<jiff::civil::Date>().ok()).map_or_else(|| at.to_owned(), format::date)
}

/// What an indicator is called: the catalogue's label, else (an indicator of the contract only)
/// its objective's label in the annex, else its code.
fn indicator_label(code: &str, contracts: &[Contract], catalogue: &Catalogue) -> String {
    catalogue.get(code).map(|i| i.label.clone()).unwrap_or_else(|| {
        contracts
            .iter()
            .flat_map(|c| &c.missions)
            .flat_map(|m| &m.objectives)
            .find(|o| o.indicator == code)
            .and_then(|o| o.label.clone())
            .unwrap_or_else(|| code.to_owned())
    })
}

fn block(id: &CptsId, s: &Series<'_>, contracts: &[Contract], catalogue: &Catalogue) -> IndicatorBlock {
    let label = indicator_label(&s.code, contracts, catalogue);
    let unit = cpts_domain::values::kind(catalogue, &s.code).unit.label();
    let opt = |d: Option<Dec>| d.map_or_else(String::new, |d| d.to_string());
    let rows: Vec<ValueRow> = s
        .rows
        .iter()
        .map(|(v, _, cum, target)| ValueRow {
            period: v.entry.period.label(),
            value: v.entry.reading.value.to_string(),
            numerator: opt(v.entry.reading.numerator),
            denominator: opt(v.entry.reading.denominator),
            cumulated: cum.to_string(),
            target: opt(*target),
            source: match &v.provenance.file {
                Some(f) => format!("{} ({f})", v.provenance.source),
                None => v.provenance.source.clone(),
            },
            by: format!("{} pour {}", v.provenance.by, v.provenance.role.label()),
            recorded: recorded(&v.recorded_at),
        })
        .collect();
    let points: Vec<chart::Point> = s
        .rows
        .iter()
        .map(|(v, _, cum, _)| chart::Point {
            label: v.entry.period.to_string(),
            value: if s.cumulative { *cum } else { v.entry.reading.value },
        })
        .collect();
    // One level per contract year, over the points of that year.
    let mut targets: Vec<chart::Target> = Vec::new();
    for (i, (_, key, _, target)) in s.rows.iter().enumerate() {
        let Some(t) = target else { continue };
        match targets.last_mut() {
            Some(last) if last.to + 1 == i && last.value == *t && s.rows.get(last.to).is_some_and(|r| r.1 == *key) => {
                last.to = i;
            }
            _ => targets.push(chart::Target {
                from: i,
                to: i,
                value: *t,
                label: format!("cible de l'année {} du contrat : {t}", key.map_or(0, |k| k.1)),
            }),
        }
    }
    let what = if s.cumulative { "cumul sur l'année du contrat" } else { "valeur par période" };
    let first = s.rows.first().map(|r| r.0.entry.period.label()).unwrap_or_default();
    let last = s.rows.last().map(|r| r.0.entry.period.label()).unwrap_or_default();
    let target_text = if targets.is_empty() {
        "sans cible au contrat".to_owned()
    } else {
        targets.iter().map(|t| t.label.clone()).collect::<Vec<_>>().join(", ")
    };
    let desc = format!("{label} ({what}), de {first} à {last}, {} valeur(s) ; {target_text}. Le détail est dans le tableau qui suit.", rows.len());
    let anchor = format!("ind-{}", s.code);
    let chart = chart::line(format!("graphique-{}", s.code), format!("{label} : {what}"), desc, &points, &targets);
    let note = if s.cumulative {
        "Indicateur de volume : la cible est annuelle, la courbe montre donc le cumul des valeurs depuis le début de chaque année du contrat.".to_owned()
    } else if targets.is_empty() {
        "Pas de cible pour cet indicateur dans le contrat.".to_owned()
    } else {
        "La ligne en tirets est la cible de l'année du contrat.".to_owned()
    };
    IndicatorBlock {
        csv: urls::value_series(id.as_str(), &s.code),
        code: s.code.clone(),
        anchor,
        label,
        unit: unit.to_owned(),
        cumulative: s.cumulative,
        note,
        rows,
        chart,
    }
}

/// Everything the page reads: values with provenance, the contracts' targets, the catalogue.
struct Loaded {
    name: String,
    history: Vec<StoredValue>,
    contracts: Vec<Contract>,
    catalogue: Catalogue,
}

async fn load(web: &Web, who: &Principal, id: &CptsId) -> Result<Loaded, WebError> {
    let app = &web.app;
    let view = app.show_cpts(who, id, None).await?;
    let history = app.value_history(who, id, None).await?;
    let contracts = app
        .contracts(who, id)
        .await?
        .into_iter()
        .filter_map(|(a, _)| a.contract(&app.rules).ok())
        .collect();
    let catalogue = Catalogue::builtin(&app.rules).map_err(WebError::internal)?;
    Ok(Loaded { name: view.cpts.record.identity.name.clone(), history, contracts, catalogue })
}

fn current_series<'a>(l: &'a Loaded) -> Vec<Series<'a>> {
    let mut by: BTreeMap<&str, Vec<&StoredValue>> = BTreeMap::new();
    for v in l.history.iter().filter(|v| v.replaced_by.is_none()) {
        by.entry(v.entry.indicator.as_str()).or_default().push(v);
    }
    by.into_iter().map(|(code, vs)| series(code, vs, &l.contracts, &l.catalogue)).collect()
}

/// The typed form's field for a column of the values table.
fn field_id(column: &str) -> Option<&'static str> {
    match column {
        "Indicateur" => Some("indicateur"),
        "Période" => Some("periode"),
        "Valeur" => Some("valeur"),
        "Numérateur" => Some("numerateur"),
        "Dénominateur" => Some("denominateur"),
        _ => None,
    }
}

async fn render(web: &Web, s: &Signed, id: &CptsId, refusal: Refusal, done: Option<String>) -> Result<ValuesPage, WebError> {
    let l = load(web, &s.who, id).await?;
    let may_import = web.app.rights(&s.who, id).await?.may(Action::ImportValues);
    let blocks = current_series(&l).iter().map(|x| block(id, x, &l.contracts, &l.catalogue)).collect();
    let form = &refusal.form;
    let error_for = |field: &str| -> Option<String> {
        let msgs: Vec<&str> =
            refusal.entry.iter().filter(|e| field_id(&e.field) == Some(field)).map(|e| e.message.as_str()).collect();
        (!msgs.is_empty()).then(|| msgs.join(" ; "))
    };
    let input = |id: &'static str, label: &'static str, hint: &'static str, value: &str| Input {
        id,
        label,
        hint,
        value: value.to_owned(),
        error: error_for(id),
    };
    let inputs = vec![
        input("periode", "Période", "mois (2021-03), trimestre (2021-T1) ou année (2021)", &form.periode),
        input("valeur", "Valeur", "virgule décimale acceptée (12,5) ; pour un taux, facultative si numérateur et dénominateur sont donnés", &form.valeur),
        input("numerateur", "Numérateur (taux)", "facultatif", &form.numerateur),
        input("denominateur", "Dénominateur (taux)", "facultatif", &form.denominateur),
    ];
    let entry_problems = refusal
        .entry
        .iter()
        .map(|e| Problem {
            href: format!("#{}", field_id(&e.field).unwrap_or("indicateur")),
            text: if e.field.is_empty() { e.message.clone() } else { format!("{} : {}", e.field, e.message) },
        })
        .collect();
    // The catalogue by mission; the contract's objectives first.
    let objectives: Vec<&str> =
        l.contracts.iter().flat_map(|c| &c.missions).flat_map(|m| &m.objectives).map(|o| o.indicator.as_str()).collect();
    let choice = |i: &cpts_domain::indicators::Indicator| Choice {
        value: i.code.clone(),
        label: format!("{} ({}, {})", i.label, i.code, i.unit.label()),
        selected: form.indicateur == i.code,
    };
    // Contract-specific indicators are not in the catalogue: named by their objective.
    let mut own: Vec<Choice> = Vec::new();
    for o in l.contracts.iter().flat_map(|c| &c.missions).flat_map(|m| &m.objectives) {
        if own.iter().any(|c| c.value == o.indicator) {
            continue;
        }
        own.push(match l.catalogue.get(&o.indicator) {
            Some(i) => choice(i),
            None => Choice {
                value: o.indicator.clone(),
                label: format!("{} ({}, nombre)", indicator_label(&o.indicator, &l.contracts, &l.catalogue), o.indicator),
                selected: form.indicateur == o.indicator,
            },
        });
    }
    let mut groups = vec![Group { label: "Objectifs du contrat".into(), choices: own }];
    let mut missions: BTreeMap<&str, Vec<Choice>> = BTreeMap::new();
    for i in l.catalogue.indicators.iter().filter(|i| !objectives.contains(&i.code.as_str())) {
        missions.entry(i.mission.as_str()).or_default().push(choice(i));
    }
    groups.extend(missions.into_iter().map(|(m, choices)| Group { label: format!("Mission {m}"), choices }));
    groups.retain(|g| !g.choices.is_empty());
    Ok(ValuesPage {
        chrome: Chrome::new(s, urls::CPTS_LIST),
        name: l.name.clone(),
        id: id.to_string(),
        cpts_href: urls::cpts(id.as_str()),
        on: format::date(web.app.clock.today()),
        may_import,
        entry_action: urls::values_entry(id.as_str()),
        import_action: urls::values_import(id.as_str(), &s.csrf),
        max_upload: format!("{} Mo", crate::upload::MAX_UPLOAD >> 20),
        groups,
        inputs,
        indicator_error: error_for("indicateur"),
        entry_problems,
        import_problems: refusal.import,
        import_file: refusal.file,
        done,
        blocks,
    })
}

pub async fn page(State(web): State<Web>, s: Signed, Path(id): Path<String>, Query(d): Query<Done>) -> Result<ValuesPage, WebError> {
    let id = cpts_id(&id)?;
    let done = d.enregistre.map(|n| match (n, d.inchangees.unwrap_or(0)) {
        (0, u) => format!("Aucune valeur enregistrée : {u} valeur(s) identique(s) aux valeurs actuelles."),
        (n, 0) => format!("{n} valeur(s) enregistrée(s)."),
        (n, u) => format!("{n} valeur(s) enregistrée(s) ; {u} identique(s) aux valeurs actuelles, non enregistrée(s)."),
    });
    render(&web, &s, &id, Refusal::default(), done).await
}

async fn provenance(web: &Web, s: &Signed, id: &CptsId, source: &str, file: Option<String>) -> Result<Provenance, WebError> {
    let role = web.app.rights(&s.who, id).await?.role(Action::ImportValues);
    Ok(Provenance { source: source.into(), file, by: s.who.name.clone(), role: actor_of(role, Actor::Cpts) })
}

fn stored(id: &CptsId, done: &cpts_app::values::ValuesImported) -> Response {
    Redirect::to(&format!("{}?enregistre={}&inchangees={}", urls::values(id.as_str()), done.stored, done.unchanged)).into_response()
}

async fn refused(web: &Web, s: &Signed, id: &CptsId, status: StatusCode, r: Refusal) -> Result<Response, WebError> {
    Ok((status, render(web, s, id, r, None).await?).into_response())
}

/// One value typed in the form: checked and stored as `cpts values set` does.
pub async fn enter(State(web): State<Web>, s: Signed, Path(id): Path<String>, Form(f): Form<EntryForm>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let row = RawValue {
        line: 0,
        cpts: id.to_string(),
        indicator: f.indicateur.trim().to_owned(),
        period: f.periode.clone(),
        value: f.valeur.clone(),
        numerator: f.numerateur.clone(),
        denominator: f.denominateur.clone(),
    };
    let provenance = provenance(&web, &s, &id, "saisie", None).await?;
    match web.app.import_values(&s.who, ImportValues { rows: vec![row], provenance }).await {
        Ok(done) => Ok(stored(&id, &done)),
        Err(AppError::Invalid(entry)) => {
            refused(&web, &s, &id, StatusCode::UNPROCESSABLE_ENTITY, Refusal { form: f, entry, ..Refusal::default() }).await
        }
        Err(e) => Err(e.into()),
    }
}

fn line_texts(errors: &[LineError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

/// A CSV (`;`) or XLSX file: read as `cpts values import` reads it, all or nothing.
pub async fn import(State(web): State<Web>, s: Signed, Path(id): Path<String>, form: Multipart) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    // Refused before the file is read: the policy's answer (not found, not allowed), not the
    // file's errors.
    web.app.authorize(&s.who, Action::ImportValues, &id).await?;
    let (name, bytes) = match crate::upload::file(form, "fichier").await {
        Ok(u) => (u.name, u.bytes),
        Err(p) => {
            let r = Refusal { import: vec![p.message], file: p.name.unwrap_or_default(), ..Refusal::default() };
            return refused(&web, &s, &id, p.status, r).await;
        }
    };
    let shown = name.clone().unwrap_or_default();
    let unprocessable = |import: Vec<String>| Refusal { import, file: shown.clone(), ..Refusal::default() };
    let table = crate::upload::table(bytes).await?;
    let rows = match table.map_err(|e| vec![e]).and_then(|t| value_rows(&t)) {
        Ok(rows) => rows,
        Err(errors) => return refused(&web, &s, &id, StatusCode::UNPROCESSABLE_ENTITY, unprocessable(line_texts(&errors))).await,
    };
    let provenance = provenance(&web, &s, &id, "import", name).await?;
    match web.app.import_values(&s.who, ImportValues { rows, provenance }).await {
        Ok(done) => Ok(stored(&id, &done)),
        Err(AppError::Invalid(errors)) => {
            let lines: Vec<LineError> = errors
                .into_iter()
                .map(|f| LineError { line: f.line.unwrap_or(0), column: f.field, message: f.message })
                .collect();
            refused(&web, &s, &id, StatusCode::UNPROCESSABLE_ENTITY, unprocessable(line_texts(&lines))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// One indicator's series as CSV: the chart's data.
pub async fn series_csv(State(web): State<Web>, s: Signed, Path((id, code)): Path<(String, String)>) -> Result<Response, WebError> {
    let id = cpts_id(&id)?;
    let l = load(&web, &s.who, &id).await?;
    let all = current_series(&l);
    let x = all.iter().find(|x| x.code == code).ok_or(WebError::NotFound)?;
    let opt = |d: Option<Dec>| d.map_or_else(String::new, |d| d.to_string());
    let mut header: Vec<String> = ["Période", "Valeur", "Numérateur", "Dénominateur"].map(String::from).to_vec();
    if x.cumulative {
        header.push("Cumul de l'année du contrat".into());
    }
    header.extend(["Année du contrat", "Cible de l'année"].map(String::from));
    let rows: Vec<Vec<String>> = x
        .rows
        .iter()
        .map(|(v, key, cum, target)| {
            let r = &v.entry.reading;
            let mut row = vec![v.entry.period.to_string(), r.value.to_string(), opt(r.numerator), opt(r.denominator)];
            if x.cumulative {
                row.push(cum.to_string());
            }
            row.push(key.map_or_else(String::new, |k| k.1.to_string()));
            row.push(opt(*target));
            row
        })
        .collect();
    let bytes = cpts_render::table_csv(&header, &rows).map_err(WebError::internal)?;
    let name = format!("{}-{}.csv", id.as_str(), code.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>());
    Ok(super::download(bytes, "text/csv; charset=utf-8", &name))
}
