//! The annual activity report of a contract year and its review (dialogue de gestion):
//! brouillon → soumis → en revue (comments from the CPAM/ARS, answers from the CPTS) → validé,
//! or à corriger and submitted again. The CPTS writes the report (actions, expenses, crisis
//! plan) as YAML; its indicator results are frozen at submission from the values entered.
//! A validated report never changes: a correction is a new version, the old one is kept.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Deserialize;

use cpts_engine::compute::compute_year;
use cpts_engine::contract::Contract;
use cpts_engine::dates::fr;
use cpts_engine::explain::{Component, Detail, Explanation, NOT_ENTERED};
use cpts_engine::input::YearIn;
use cpts_engine::money::Cents;
use cpts_engine::rate::{Dec, Fraction};
use cpts_engine::rules::RuleSet;

use crate::agreement::Agreement;
use crate::calendar::{Alert, Urgency, calendar};
use crate::document::{Document, Table};
use crate::indicators::Catalogue;
use crate::lifecycle::Actor;
use crate::values::YearValue;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Brouillon,
    Soumis,
    EnRevue,
    ACorriger,
    Valide,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Brouillon, Status::Soumis, Status::EnRevue, Status::ACorriger, Status::Valide];

    pub fn code(self) -> &'static str {
        match self {
            Status::Brouillon => "brouillon",
            Status::Soumis => "soumis",
            Status::EnRevue => "en_revue",
            Status::ACorriger => "a_corriger",
            Status::Valide => "valide",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Brouillon => "brouillon",
            Status::Soumis => "soumis",
            Status::EnRevue => "en revue",
            Status::ACorriger => "à corriger",
            Status::Valide => "validé",
        }
    }

    pub fn from_code(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// What can be done to a report.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Act {
    /// Write or rewrite the draft (the CPTS).
    Rediger,
    Soumettre,
    Commenter,
    Repondre,
    Valider,
    DemanderCorrection,
}

impl Act {
    pub const ALL: [Act; 6] =
        [Act::Rediger, Act::Soumettre, Act::Commenter, Act::Repondre, Act::Valider, Act::DemanderCorrection];

    pub fn code(self) -> &'static str {
        match self {
            Act::Rediger => "rediger",
            Act::Soumettre => "soumettre",
            Act::Commenter => "commenter",
            Act::Repondre => "repondre",
            Act::Valider => "valider",
            Act::DemanderCorrection => "a-corriger",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Act::Rediger => "rédaction",
            Act::Soumettre => "soumission",
            Act::Commenter => "commentaire",
            Act::Repondre => "réponse",
            Act::Valider => "validation",
            Act::DemanderCorrection => "demande de correction",
        }
    }

    pub fn from_code(s: &str) -> Option<Act> {
        Act::ALL.into_iter().find(|x| x.code() == s)
    }

    /// Who may do it. The CPAM, which pays, validates; the ARS reviews with it.
    pub fn roles(self) -> &'static [Actor] {
        match self {
            Act::Rediger | Act::Soumettre | Act::Repondre => &[Actor::Cpts],
            Act::Commenter | Act::DemanderCorrection => &[Actor::Cpam, Actor::Ars],
            Act::Valider => &[Actor::Cpam],
        }
    }

    /// From which statuses, to which one.
    fn edge(self) -> (&'static [Status], Option<Status>) {
        use Status::*;
        match self {
            Act::Rediger => (&[Brouillon, ACorriger], None),
            Act::Soumettre => (&[Brouillon, ACorriger], Some(Soumis)),
            Act::Commenter => (&[Soumis, EnRevue], Some(EnRevue)),
            Act::Repondre => (&[EnRevue], None),
            Act::Valider => (&[Soumis, EnRevue], Some(Valide)),
            Act::DemanderCorrection => (&[Soumis, EnRevue], Some(ACorriger)),
        }
    }

    fn needs_text(self) -> bool {
        matches!(self, Act::Commenter | Act::Repondre | Act::DemanderCorrection)
    }
}

/// An action carried out during the year.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub title: String,
    /// Mission code (acces_soins, parcours…).
    pub mission: String,
    #[serde(deserialize_with = "cpts_engine::yaml::date")]
    pub from: Date,
    #[serde(default, deserialize_with = "cpts_engine::yaml::date_opt")]
    pub to: Option<Date>,
    #[serde(default)]
    pub description: String,
    /// Professionals involved.
    #[serde(default, deserialize_with = "cpts_engine::yaml::decimal_int")]
    pub professionals: u32,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expense {
    pub item: String,
    pub amount: Cents,
}

/// What the CPTS writes.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Content {
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub actions: Vec<Action>,
    #[serde(default)]
    pub expenses: Vec<Expense>,
    /// Crisis plan written (year 1) or updated (later years).
    #[serde(default)]
    pub crisis_plan: bool,
    /// A crisis declared by the authorities during the year.
    #[serde(default)]
    pub crisis_declared: bool,
}

impl Content {
    /// Read the draft's YAML (syntax and types only).
    pub fn read(text: &str) -> Result<Content, String> {
        if text.trim().is_empty() {
            return Ok(Content::default());
        }
        cpts_engine::yaml::from_str(text).map_err(|e| format!("rapport illisible : {e}"))
    }

    /// Parse and check the draft against the contract year: every problem at once.
    pub fn parse(text: &str, c: &Contract, year: u8, rules: &RuleSet) -> Result<Content, Vec<String>> {
        let content = Content::read(text).map_err(|e| vec![e])?;
        let mut why = Vec::new();
        let Some((start, end)) = c.year_bounds(year) else {
            return Err(vec![format!("année {year} hors du contrat")]);
        };
        for (i, a) in content.actions.iter().enumerate() {
            let at = format!("actions[{i}] « {} »", a.title);
            if a.title.trim().is_empty() {
                why.push(format!("actions[{i}] : titre manquant"));
            }
            let in_contract =
                rules.mission_by_code(&a.mission).is_some_and(|m| c.missions.iter().any(|cm| cm.mission == m));
            if !in_contract {
                why.push(format!("{at} : mission « {} » absente du contrat", a.mission));
            }
            if a.to.is_some_and(|t| t < a.from) {
                why.push(format!("{at} : fin avant le début"));
            }
            if a.from >= end || a.to.is_some_and(|t| t < start) {
                why.push(format!(
                    "{at} : hors de l'année {year} (du {} au {})",
                    fr(start),
                    fr(cpts_engine::dates::day_before(end).unwrap_or(end))
                ));
            }
        }
        let mut total = Some(Cents::ZERO);
        for (i, e) in content.expenses.iter().enumerate() {
            if e.amount.is_negative() {
                why.push(format!("expenses[{i}] « {} » : montant négatif", e.item));
            }
            // The total is printed and subtracted from what was received: it must be exact.
            if let Some(t) = total {
                total = t.checked_add(e.amount).ok();
                if total.is_none() {
                    why.push(format!(
                        "expenses[{i}] « {} » : le total des dépenses dépasse ce qu'un montant peut valoir (vérifiez les montants)",
                        e.item
                    ));
                }
            }
        }
        if why.is_empty() { Ok(content) } else { Err(why) }
    }

    /// The year's expenses added up (checked at input: an overflow is refused there).
    pub fn spent(&self) -> Result<Cents, cpts_engine::money::Overflow> {
        Cents::sum(self.expenses.iter().map(|e| e.amount))
    }
}

/// One step of a report's review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportEvent {
    pub act: Act,
    pub on: Date,
    pub role: Actor,
    pub by: String,
    pub text: Option<String>,
}

/// One version of the report of a contract year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub contract: i64,
    pub year: u8,
    pub version: i64,
    pub status: Status,
    /// The draft as written (YAML), kept verbatim.
    pub text: String,
    pub content: Content,
    /// Indicator results frozen at submission (yearly values).
    pub results: BTreeMap<String, Dec>,
    pub events: Vec<ReportEvent>,
}

/// A refused act: every reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub Vec<String>);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refusé : {}", self.0.join(" ; "))
    }
}

/// What a decision needs to know besides the report.
pub struct Context<'a> {
    pub rules: &'a RuleSet,
    pub contract: &'a Contract,
    /// The year's values per objective indicator, as they stand (frozen at submission).
    pub values: &'a [YearValue],
    pub today: Date,
}

impl Report {
    /// A new draft (version 1, or the next version after a validated one).
    pub fn draft(contract: i64, year: u8, version: i64, text: &str, ctx: &Context) -> Result<Report, Refusal> {
        let content = Content::parse(text, ctx.contract, year, ctx.rules).map_err(Refusal)?;
        Ok(Report {
            contract,
            year,
            version,
            status: Status::Brouillon,
            text: text.to_string(),
            content,
            results: BTreeMap::new(),
            events: Vec::new(),
        })
    }

    /// The next version of a validated report: a draft with the same text, to correct.
    pub fn next_version(&self, ctx: &Context) -> Result<Report, Refusal> {
        if self.status != Status::Valide {
            return Err(Refusal(vec![format!(
                "la version {} est « {} » : elle se corrige elle-même, une nouvelle version suit une validation",
                self.version,
                self.status.label()
            )]));
        }
        Report::draft(self.contract, self.year, self.version + 1, &self.text, ctx)
    }

    /// This version as it stood on `on`: its status after the steps taken by then and the last
    /// of them; None if it did not exist yet.
    pub fn as_of(&self, on: Date) -> Option<(&Report, Status, Option<&ReportEvent>)> {
        if self.events.is_empty() {
            return Some((self, self.status, None));
        }
        let mut status = None;
        let mut last = None;
        for e in self.events.iter().take_while(|e| e.on <= on) {
            status = Some(e.act.edge().1.or(status).unwrap_or(Status::Brouillon));
            last = Some(e);
        }
        status.map(|s| (self, s, last))
    }

    /// The engine's input for the year: frozen values and the crisis facts.
    pub fn year_in(&self) -> YearIn {
        YearIn {
            values: self.results.clone(),
            crisis_plan: self.content.crisis_plan,
            crisis_declared: self.content.crisis_declared,
        }
    }

    /// Decide an act; `text` is the comment, or the new draft for `Rediger`.
    pub fn act(
        &self,
        act: Act,
        role: Actor,
        by: &str,
        on: Date,
        text: Option<&str>,
        ctx: &Context,
    ) -> Result<Report, Refusal> {
        let mut why = Vec::new();
        let (from, to) = act.edge();
        if self.status == Status::Valide {
            why.push(format!(
                "la version {} du rapport est validée : elle ne change plus (une correction se fait dans une nouvelle version)",
                self.version
            ));
        } else if !from.contains(&self.status) {
            why.push(format!("{} impossible : le rapport est « {} »", act.label(), self.status.label()));
        }
        if !act.roles().contains(&role) {
            let who: Vec<&str> = act.roles().iter().map(|r| r.label()).collect();
            why.push(format!("{} réservée à {} ({} ne peut pas)", act.label(), who.join(" ou "), role.label()));
        }
        if by.trim().is_empty() {
            why.push("indiquez qui agit".into());
        }
        if on > ctx.today {
            why.push(format!("date du {} dans le futur", fr(on)));
        }
        if let Some(last) = self.events.last()
            && on < last.on
        {
            why.push(format!("date du {} avant la dernière étape ({})", fr(on), fr(last.on)));
        }
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        if act.needs_text() && text.is_none() {
            why.push(format!("{} sans texte", act.label()));
        }
        let mut next = self.clone();
        match act {
            Act::Rediger => match Content::parse(text.unwrap_or(""), ctx.contract, self.year, ctx.rules) {
                Ok(c) => {
                    next.content = c;
                    next.text = text.unwrap_or("").to_string();
                }
                Err(e) => why.extend(e),
            },
            Act::Soumettre | Act::Valider => {
                if let Some((_, end)) = ctx.contract.year_bounds(self.year) {
                    let end = ctx.contract.terminated.map_or(end, |t| t.min(end));
                    if on < end {
                        why.push(format!(
                            "{} le {} avant la fin de l'année {} (dernier jour : {}) : le rapport couvre l'année entière",
                            act.label(),
                            fr(on),
                            self.year,
                            fr(cpts_engine::dates::day_before(end).unwrap_or(end))
                        ));
                    }
                }
                if act == Act::Soumettre {
                    let missing: Vec<String> = ctx
                        .values
                        .iter()
                        .filter_map(|v| match (&v.value, &v.problem) {
                            (Some(_), _) => None,
                            (None, Some(p)) => Some(format!("« {} » ({p})", v.indicator)),
                            (None, None) => Some(format!("« {} »", v.indicator)),
                        })
                        .collect();
                    if !missing.is_empty() {
                        why.push(format!("indicateurs du contrat sans valeur pour l'année : {}", missing.join(", ")));
                    }
                    next.results =
                        ctx.values.iter().filter_map(|v| v.value.map(|x| (v.indicator.clone(), x))).collect();
                }
            }
            Act::Commenter | Act::Repondre | Act::DemanderCorrection => {}
        }
        if !why.is_empty() {
            return Err(Refusal(why));
        }
        if let Some(s) = to {
            next.status = s;
        }
        // The draft's text is kept with its step too: the history shows what was written.
        let logged = text.map(str::to_string);
        next.events.push(ReportEvent { act, on, role, by: by.trim().to_string(), text: logged });
        Ok(next)
    }
}

/// One objective's result in a contract year, as the engine computed it.
#[derive(Clone, Debug)]
pub struct ObjectiveResult {
    pub mission: String,
    pub indicator: String,
    pub label: String,
    pub unit: &'static str,
    pub baseline: Dec,
    pub target: Option<Dec>,
    /// `None`: no value (counted at the baseline, 0 %).
    pub value: Option<Dec>,
    pub achieved: Fraction,
    pub weight: Fraction,
    pub rule: String,
}

impl ObjectiveResult {
    /// The value as every table shows it, with its unit; « non saisie » when not entered.
    pub fn value_text(&self) -> String {
        let unit = if self.unit == "%" { " %" } else { "" };
        self.value.map_or_else(|| NOT_ENTERED.to_string(), |v| format!("{v}{unit}"))
    }
}

/// A year's achievement and variable part, computed by the engine from given values.
#[derive(Clone, Debug)]
pub struct Achievement {
    pub year: u8,
    pub objectives: Vec<ObjectiveResult>,
    /// Per mission with a variable part: label, amount earned, the engine's explanation.
    pub variable: Vec<(String, Cents, String)>,
    /// The same, as the figures of a table (same order).
    pub variable_rows: Vec<VariableRow>,
    pub total: Cents,
    /// The year's whole entitlement computed by the engine with these values, per component
    /// (operating allocation, each mission's fixed, variable and activation parts): its
    /// ledger code, label and amount.
    pub entitlement: Vec<(String, String, Cents)>,
}

/// A mission's variable part in figures: envelope × share of the year × weighted achievement.
#[derive(Clone, Debug)]
pub struct VariableRow {
    pub mission: String,
    pub envelope: Cents,
    /// Days counted of the year's days, when the mission ran part of the year.
    pub days: Option<(i64, i64)>,
    /// `None`: results not entered, 100 % assumed.
    pub achievement: Option<Fraction>,
    pub amount: Cents,
}

/// Compute year `year` with these values (indicators without one count at their baseline,
/// i.e. 0 %): the agreement's validated results for other years stay as they are.
pub fn achievement(
    rules: &RuleSet,
    catalogue: &Catalogue,
    agreement: &Agreement,
    year: u8,
    values: &BTreeMap<String, Dec>,
    crisis: (bool, bool),
) -> Result<Achievement, String> {
    let base = agreement.contract(rules).map_err(joined)?;
    let mut filled = values.clone();
    for o in base.missions.iter().flat_map(|m| &m.objectives) {
        filled.entry(o.indicator.clone()).or_insert(o.baseline);
    }
    let mut a = agreement.clone();
    a.results.insert(year, YearIn { values: filled, crisis_plan: crisis.0, crisis_declared: crisis.1 });
    let mut c = a.contract(rules).map_err(joined)?;
    // The reader sees the catalogue's name of an indicator the annex does not name.
    for o in c.missions.iter_mut().flat_map(|m| &mut m.objectives) {
        if o.label.is_none() {
            o.label = catalogue.get(&o.indicator).map(|i| i.label.clone());
        }
    }
    let mut ex = Explanation::default();
    compute_year(rules, &c, year, &mut ex).map_err(|e| e.to_string())?;
    // A value filled in at its baseline to compute was not entered: the explanation says so,
    // as the table does.
    let mut missing = Vec::new();
    for l in &ex.lines {
        if let (Component::Variable(m), Detail::Variable { indicators, .. }) = (l.component, &l.detail) {
            let os = c.missions.iter().find(|cm| cm.mission == m).map_or(&[][..], |cm| cm.objectives.as_slice());
            for k in indicators.clone() {
                let entered = usize::try_from(k)
                    .ok()
                    .and_then(|k| ex.indicators.get(k))
                    .and_then(|t| os.get(usize::from(t.objective)))
                    .is_none_or(|o| values.contains_key(&o.indicator));
                if !entered {
                    missing.push(k);
                }
            }
        }
    }
    for k in missing {
        if let Some(t) = usize::try_from(k).ok().and_then(|k| ex.indicators.get_mut(k)) {
            t.value = None;
        }
    }
    let mut objectives = Vec::new();
    let mut variable = Vec::new();
    let mut variable_rows = Vec::new();
    for m in &c.missions {
        let def = rules.mission(m.mission);
        let mission = def.map_or_else(String::new, |d| d.label.clone());
        for o in &m.objectives {
            objectives.push(ObjectiveResult {
                mission: mission.clone(),
                indicator: o.indicator.clone(),
                label: o
                    .label
                    .clone()
                    .or_else(|| catalogue.get(&o.indicator).map(|i| i.label.clone()))
                    .unwrap_or_else(|| o.indicator.clone()),
                unit: catalogue.get(&o.indicator).map_or("nombre", |i| i.unit.label()),
                baseline: o.baseline,
                target: o.target(year),
                value: values.get(&o.indicator).copied(),
                achieved: o.achievement(year),
                weight: o.weight,
                rule: o.rule.label_fr(),
            });
        }
        for l in ex.lines.iter().filter(|l| l.component == Component::Variable(m.mission)) {
            variable.push((mission.clone(), l.amount, l.text(&c, &ex)));
            if let Detail::Variable { envelope, prorata, achievement, hypothesis, .. } = &l.detail {
                variable_rows.push(VariableRow {
                    mission: mission.clone(),
                    envelope: *envelope,
                    days: (!prorata.is_full()).then_some((prorata.days, prorata.year_days)),
                    achievement: (!hypothesis).then_some(*achievement),
                    amount: l.amount,
                });
            }
        }
    }
    let total = Cents::sum(variable.iter().map(|v| v.1)).map_err(|e| e.to_string())?;
    let entitlement = ex.lines.iter().map(|l| (l.component.code(rules), l.component.label(rules), l.amount)).collect();
    Ok(Achievement { year, objectives, variable, variable_rows, total, entitlement })
}

fn joined(es: Vec<cpts_engine::input::InputError>) -> String {
    es.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ; ")
}

/// Money received during the year (any funder).
#[derive(Clone, Debug)]
pub struct Received {
    pub on: Date,
    pub funder: String,
    pub what: String,
    pub amount: Cents,
}

/// What the report document shows besides the report itself.
pub struct Sheet<'a> {
    pub rules: &'a RuleSet,
    pub catalogue: &'a Catalogue,
    pub agreement: &'a Agreement,
    /// The year's values as they stand (used while the report is a draft).
    pub values: &'a [YearValue],
    pub received: &'a [Received],
    /// The CPTS's ledger (every contract) and its dated payments: what was paid of the
    /// year's entitlement.
    pub ledger: &'a [crate::ledger::Line],
    pub payments: &'a [crate::ledger::Payment],
    pub today: Date,
    /// The CPTS's identifiers as the registry holds them (shown « non renseigné » when absent).
    pub identity: &'a Identity,
}

/// The CPTS's identifiers printed on its report, as text.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub siret: Option<String>,
    pub finess: Option<String>,
    /// The seat's commune, « Nom (code) ».
    pub seat: Option<String>,
}

/// The report as a document to send: header, deployment, actions, results and the variable
/// part explained, money received and spent, the review's history.
/// The achievement a report shows: on the results frozen at submission, else (a draft, or a
/// report returned for correction) provisionally on the values entered to date.
pub fn report_achievement(r: &Report, s: &Sheet) -> Result<Achievement, String> {
    let frozen = !matches!(r.status, Status::Brouillon | Status::ACorriger);
    let values: BTreeMap<String, Dec> = if frozen {
        r.results.clone()
    } else {
        s.values.iter().filter_map(|v| v.value.map(|x| (v.indicator.clone(), x))).collect()
    };
    achievement(s.rules, s.catalogue, s.agreement, r.year, &values, (r.content.crisis_plan, r.content.crisis_declared))
}

pub fn document(r: &Report, s: &Sheet) -> Result<Document, String> {
    let c = s.agreement.contract(s.rules).map_err(joined)?;
    let (start, end) = c.year_bounds(r.year).ok_or_else(|| format!("année {} hors du contrat", r.year))?;
    let end = c.terminated.map_or(end, |t| t.min(end));
    let last_day = cpts_engine::dates::day_before(end).unwrap_or(end);
    let a = s.agreement;
    let frozen = !matches!(r.status, Status::Brouillon | Status::ACorriger);
    let mut d = Document {
        title: format!("Rapport d'activité {} – année {} du contrat", a.cpts_name, r.year),
        subtitle: vec![
            format!(
                "Contrat ACI n° {} signé le {} ; année {} : du {} au {}",
                a.seq,
                fr(a.signed()),
                r.year,
                fr(start),
                fr(last_day)
            ),
            format!("Parties : {}, {}, {}", a.cpts_name, a.cpam, a.ars),
            format!("Version {} – statut : {}", r.version, r.status.label()),
            format!("Édité le {} avec cpts", fr(s.today)),
        ],
        blocks: Vec::new(),
        footer: format!(
            "{} – rapport d'activité, année {} (version {}, {})",
            a.cpts_name,
            r.year,
            r.version,
            r.status.label()
        ),
    };
    let known = |x: &Option<String>| x.clone().unwrap_or_else(|| "non renseigné".into());
    d.text(format!(
        "{} – SIRET : {} ; FINESS : {} ; siège : {}",
        a.cpts_name,
        known(&s.identity.siret),
        known(&s.identity.finess),
        known(&s.identity.seat)
    ));
    if !r.content.summary.trim().is_empty() {
        d.heading("Synthèse");
        d.text(r.content.summary.trim());
    }

    // The report covers its year: missions are judged on its last day, with what was recorded
    // by then, so a version reads the same whenever it is printed.
    let deployment = calendar(s.rules, &c, &|code| a.progress.get(code).copied().unwrap_or_default(), last_day);
    d.heading("Déploiement des missions");
    d.text(format!("Situation au {}, dernier jour de l'année du rapport.", fr(last_day)));
    let mut t = Table::new(
        "Missions",
        &[
            ("Mission", 30, false),
            ("Démarrage : échéance", 14, false),
            ("réel", 11, false),
            ("Déploiement : échéance", 14, false),
            ("réel", 11, false),
            ("Statut", 14, false),
        ],
    );
    let opt = |x: Option<Date>| x.map_or_else(|| "–".to_string(), fr);
    for m in &deployment {
        t.row(vec![
            format!("{}{}", m.label, if m.socle { " (socle)" } else { "" }),
            opt(m.start_deadline),
            opt(m.progress.started),
            opt(m.deploy_deadline),
            opt(m.progress.deployed),
            m.status.label().to_string(),
        ]);
    }
    d.table(t);

    d.heading("Actions réalisées");
    if r.content.actions.is_empty() {
        d.text("Aucune action déclarée.");
    } else {
        let mut t = Table::new(
            "Actions",
            &[
                ("Action", 24, false),
                ("Mission", 16, false),
                ("Du", 10, false),
                ("Au", 10, false),
                ("Prof.", 7, true),
                ("Description", 33, false),
            ],
        );
        for x in &r.content.actions {
            let mission = s
                .rules
                .mission_by_code(&x.mission)
                .and_then(|m| s.rules.mission(m))
                .map_or(x.mission.clone(), |m| m.short.clone());
            t.row(vec![
                x.title.clone(),
                mission,
                fr(x.from),
                opt(x.to),
                x.professionals.to_string(),
                x.description.clone(),
            ]);
        }
        d.table(t);
    }

    d.heading("Résultats des indicateurs et part variable");
    if !frozen {
        d.text(format!("Résultats provisoires : valeurs saisies à ce jour (elles seront figées à la soumission). Un indicateur dont la valeur est « {NOT_ENTERED} » compte pour sa référence (0 %)."));
    }
    let ach = report_achievement(r, s)?;
    let mut t = Table::new(
        "Indicateurs",
        &[
            ("Indicateur", 30, false),
            ("Valeur", 10, true),
            ("Référence", 10, true),
            ("Cible", 10, true),
            ("Atteinte", 10, true),
            ("Poids", 8, true),
            ("Couverture", 12, false),
        ],
    );
    for o in &ach.objectives {
        let coverage =
            s.values.iter().find(|v| v.indicator == o.indicator).map_or_else(String::new, YearValue::coverage);
        let unit = if o.unit == "%" { " %" } else { "" };
        t.row(vec![
            o.label.clone(),
            o.value_text(),
            format!("{}{unit}", o.baseline),
            o.target.map_or_else(|| "–".into(), |v| format!("{v}{unit}")),
            o.achieved.to_string(),
            o.weight.to_string(),
            coverage,
        ]);
    }
    d.table(t);
    let mut t = Table::new(
        "Part variable",
        &[
            ("Mission", 36, false),
            ("Enveloppe annuelle", 16, true),
            ("Jours de l'année", 14, true),
            ("Atteinte pondérée", 14, true),
            ("Montant", 16, true),
        ],
    );
    for v in &ach.variable_rows {
        t.row(vec![
            v.mission.clone(),
            v.envelope.to_string(),
            v.days.map_or_else(|| "année complète".into(), |(n, of)| format!("{n}/{of}")),
            v.achievement.map_or_else(|| "100 % (hypothèse)".into(), |a| a.to_string()),
            v.amount.to_string(),
        ]);
    }
    t.row(vec!["Total de la part variable".into(), String::new(), String::new(), String::new(), ach.total.to_string()]);
    d.table(t);
    d.text(format!("Part variable totale de l'année : {}.", ach.total));
    for (mission, _, text) in &ach.variable {
        d.text(format!("Détail – {mission} : {text}"));
    }
    if c.missions.iter().any(|m| s.rules.mission(m.mission).is_some_and(|x| x.code == "crises")) {
        d.text(format!(
            "Crises sanitaires graves : plan {} ; crise déclarée dans l'année : {}.",
            if r.content.crisis_plan { "rédigé ou mis à jour" } else { "non rédigé ni mis à jour" },
            if r.content.crisis_declared { "oui" } else { "non" }
        ));
    }

    entitlement(&mut d, s, r, &ach)?;

    d.heading("Financements reçus pendant l'année");
    let mut t = Table::new(
        "Recettes",
        &[("Date", 12, false), ("Financeur", 26, false), ("Objet", 46, false), ("Montant", 16, true)],
    );
    for x in s.received.iter().filter(|x| x.on >= start && x.on < end) {
        t.row(vec![fr(x.on), x.funder.clone(), x.what.clone(), x.amount.to_string()]);
    }
    let received = Cents::sum(s.received.iter().filter(|x| x.on >= start && x.on < end).map(|x| x.amount))
        .map_err(|e| e.to_string())?;
    t.row(vec![String::new(), String::new(), "Total reçu".into(), received.to_string()]);
    d.table(t);

    d.heading("Dépenses de l'année");
    let mut t = Table::new("Dépenses", &[("Poste", 70, false), ("Montant", 30, true)]);
    for e in &r.content.expenses {
        t.row(vec![e.item.clone(), e.amount.to_string()]);
    }
    let spent = r.content.spent().map_err(|e| format!("total des dépenses : {e}"))?;
    t.row(vec!["Total dépensé".into(), spent.to_string()]);
    d.table(t);
    let balance = received.checked_sub(spent).map_err(|e| e.to_string())?;
    d.text(format!("Reçu moins dépensé sur l'année : {balance}."));

    d.heading("Dialogue de gestion");
    if r.events.is_empty() {
        d.text("Pas encore d'échange : le rapport est un brouillon.");
    } else {
        let mut t = Table::new(
            "Dialogue",
            &[("Date", 12, false), ("Étape", 18, false), ("Par", 22, false), ("Texte", 48, false)],
        );
        for e in &r.events {
            let text = if e.act == Act::Rediger { String::new() } else { e.text.clone().unwrap_or_default() };
            t.row(vec![fr(e.on), e.act.label().to_string(), format!("{} ({})", e.by, e.role.code()), text]);
        }
        d.table(t);
    }

    // Where the parties sign the printed report; a validated version names its validation.
    d.heading("Signatures");
    let validated = r.events.iter().rev().find(|e| e.act == Act::Valider);
    if let Some(v) = validated {
        d.text(format!("Rapport validé le {} par {}.", fr(v.on), v.by));
    }
    let mut t = Table::new(
        "Signatures",
        &[("Partie", 34, false), ("Nom et qualité", 33, false), ("Date et signature", 33, false)],
    );
    for party in [format!("Pour la CPTS : {}", a.cpts_name), format!("Pour l'Assurance Maladie : {}", a.cpam)] {
        t.row(vec![party, String::new(), "\n\n\n".into()]);
    }
    d.table(t);
    Ok(d)
}

/// The year's ACI entitlement (operating allocation, fixed, variable and activation parts, as
/// the engine computes them with the report's results) against what was paid and what is
/// still due (negative: to repay). A validated version counts the payments dated up to its
/// validation, so it reads the same whenever it is printed; another, those up to the edition.
fn entitlement(d: &mut Document, s: &Sheet, r: &Report, ach: &Achievement) -> Result<(), String> {
    use crate::ledger::Source;
    let validated = r.events.iter().rev().find(|e| e.act == Act::Valider).map(|e| e.on);
    let (as_of, when) = match validated {
        Some(on) if r.status == Status::Valide => (on, format!("au {}, jour de la validation", fr(on))),
        _ => (s.today, "à la date d'édition".to_string()),
    };
    d.heading("Droits de l'année, payé et reste dû");
    d.text(format!(
        "Droits de l'année calculés avec les résultats de ce rapport ; payé : paiements enregistrés au grand livre {when}."
    ));
    let mut t = Table::new(
        "Droits",
        &[("Composante", 46, false), ("Droit de l'année", 18, true), ("Payé", 18, true), ("Reste dû", 18, true)],
    );
    let mut totals = [Cents::ZERO; 3];
    for (code, label, amount) in &ach.entitlement {
        let of_component = |line: i64| {
            s.ledger.iter().any(|l| {
                l.id == line
                    && matches!(&l.planned.source, Source::Aci { contract, year, component, .. }
                        if *contract == s.agreement.seq && *year == r.year && component == code)
            })
        };
        let paid = Cents::sum(s.payments.iter().filter(|p| p.on <= as_of && of_component(p.line)).map(|p| p.amount))
            .map_err(|e| e.to_string())?;
        let due = amount.checked_sub(paid).map_err(|e| e.to_string())?;
        for (total, x) in totals.iter_mut().zip([*amount, paid, due]) {
            *total = total.checked_add(x).map_err(|e| e.to_string())?;
        }
        t.row(vec![label.clone(), amount.to_string(), paid.to_string(), due.to_string()]);
    }
    let [amount, paid, due] = totals;
    t.row(vec!["Total".into(), amount.to_string(), paid.to_string(), due.to_string()]);
    d.table(t);
    Ok(())
}

/// What waits on the reports of a contract on `today`: years over without a submitted report,
/// reports in review, reports returned for corrections, as they stood that day (later steps
/// and versions are ignored). A terminated contract still awaits the reports of its years,
/// which gate its balances. No submission deadline is known nationally: none is invented,
/// so a report is « à faire », never « en retard ».
pub fn report_alerts(c: &Contract, reports: &[Report], today: Date) -> Vec<Alert> {
    let mut out = Vec::new();
    for year in 1..=c.last_year() {
        let Some((_, end)) = c.year_bounds(year) else { continue };
        let end = c.terminated.map_or(end, |t| t.min(end));
        if end > today {
            continue;
        }
        let last_day = cpts_engine::dates::day_before(end).unwrap_or(end);
        // Each version as it stood on `today`: its steps up to that day.
        let latest =
            reports.iter().filter(|r| r.year == year).filter_map(|r| r.as_of(today)).max_by_key(|x| x.0.version);
        let since = |e: Option<&ReportEvent>| fr(e.map_or(end, |e| e.on));
        let text = match latest {
            None => format!(
                "rapport d'activité de l'année {year} à rédiger et soumettre (année close le {} ; pas de délai national connu)",
                fr(last_day)
            ),
            Some((_, status, last)) => match status {
                Status::Valide => continue,
                Status::Brouillon => format!("rapport d'activité de l'année {year} en brouillon, à soumettre"),
                Status::Soumis | Status::EnRevue => format!(
                    "rapport d'activité de l'année {year} {} depuis le {} : revue CPAM/ARS en cours",
                    status.label(),
                    since(last)
                ),
                Status::ACorriger => format!(
                    "rapport d'activité de l'année {year} à corriger depuis le {} : {}",
                    since(last),
                    last.and_then(|e| e.text.clone()).unwrap_or_default()
                ),
            },
        };
        out.push(Alert { date: last_day, urgency: Urgency::ToDo, text });
    }
    out
}
