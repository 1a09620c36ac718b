//! A year's achievement (the variable part computed and explained) and the activity report
//! with its review: drafted, submitted and answered by the CPTS (`WriteReport`), commented,
//! returned and validated by the CPAM (`ReviewReport`). Validation releases the year's
//! balances: the contract's outcome is written in the same transaction as the report.

use std::collections::BTreeMap;

use cpts_domain::activity::{self, Act, Achievement, Context, Received, Report, Sheet, Status};
use cpts_domain::agreement::Agreement;
use cpts_domain::book::Op;
use cpts_domain::document::Document;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Planned, Source, component_label};
use cpts_domain::lifecycle::Actor;
use cpts_domain::text::Kind;
use cpts_domain::values::{Entry, YearValue, year_values};
use cpts_engine::contract::Contract;
use cpts_engine::rules::RuleSet;
use jiff::civil::Date;

use crate::policy::{Action, Principal};
use crate::{App, AppError, FieldError, Result};

/// The start of the message when a year has no report yet (an adapter may add how to start one).
pub const NO_REPORT: &str = "pas de rapport pour l'année";

/// A ledger line's component, as the report and the ledger name it.
pub fn line_label(rules: &RuleSet, p: &Planned) -> String {
    match &p.source {
        Source::Aci { year, component, kind, .. } => {
            format!("année {year}, {}, {}", component_label(rules, component), kind.label_fr())
        }
        Source::Convention { installment, .. } => format!("versement {installment}"),
    }
}

/// The action of the policy each report act needs.
pub fn action_of(act: Act) -> Action {
    match act {
        Act::Rediger | Act::Soumettre | Act::Repondre => Action::WriteReport,
        Act::Commenter | Act::DemanderCorrection | Act::Valider => Action::ReviewReport,
    }
}

/// Which report: a CPTS's contract year, of its latest contract unless one is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRef {
    pub cpts: CptsId,
    pub year: u8,
    pub contract: Option<i64>,
}

/// One act on a report.
#[derive(Clone, Debug)]
pub struct ReportAct {
    pub target: ReportRef,
    pub act: Act,
    /// The draft's YAML text (`Act::Rediger`), or the comment, answer or correction asked.
    pub text: Option<String>,
    /// The name of the file the draft comes from, said in its refusals.
    pub source: Option<String>,
    /// The declared domain role (CPTS, CPAM, ARS) and the person or service.
    pub role: Actor,
    pub by: String,
    /// The act's date (today by default).
    pub on: Option<Date>,
}

/// The ledger after a validation.
#[derive(Clone, Debug)]
pub struct Released {
    pub inserted: usize,
    pub cancelled: usize,
    /// The year's ACI lines inserted (its balances, now due).
    pub due: Vec<Planned>,
}

/// An act recorded.
#[derive(Clone, Debug)]
pub struct ReportActed {
    pub report: Report,
    pub act: Act,
    pub on: Date,
    /// On validation: what changed in the ledger.
    pub released: Option<Released>,
    /// On submission: the objectives whose year is not fully covered by values.
    pub incomplete: Vec<YearValue>,
}

/// A year's variable part as computed today, explained.
#[derive(Clone, Debug)]
pub struct YearAchievement {
    pub cpts_name: String,
    pub contract: i64,
    pub year: u8,
    pub start: Date,
    /// The year's last day.
    pub last_day: Option<Date>,
    /// Computed on the validated report's results (else provisional, on the values entered).
    pub validated: bool,
    pub achievement: Achievement,
    /// Each objective's values over the year, with their coverage.
    pub values: Vec<YearValue>,
}

/// A report version with the document that shows it (rendered by the adapter: text, PDF,
/// CSV, XLSX).
#[derive(Clone, Debug)]
pub struct ReportDocument {
    pub report: Report,
    pub document: Document,
    /// The year's results and variable part as the document shows them (frozen at submission).
    pub achievement: Achievement,
}

/// A CPTS's contract with everything a report needs.
struct Loaded {
    cid: CptsId,
    agreement: Agreement,
    contract: Contract,
    values: Vec<Entry>,
    reports: Vec<Report>,
}

impl Loaded {
    fn latest(&self, year: u8) -> Option<&Report> {
        self.reports.iter().filter(|r| r.year == year).max_by_key(|r| r.version)
    }

    fn version(&self, year: u8, v: Option<i64>) -> Result<&Report> {
        let found = match v {
            Some(v) => self.reports.iter().find(|r| r.year == year && r.version == v),
            None => self.latest(year),
        };
        found.ok_or_else(|| AppError::NotFound(format!("{NO_REPORT} {year} du contrat n° {}", self.agreement.seq)))
    }

    fn check_year(&self, year: u8) -> Result<()> {
        let last = self.contract.last_year();
        if year == 0 || year > last {
            return Err(AppError::refused(format!("année {year} hors du contrat n° {} (1 à {last})", self.agreement.seq)));
        }
        Ok(())
    }
}

/// A draft's texts, each through the domain's text check (YAML escapes such as `\e` make
/// control characters the raw file does not show); fields named after the file.
fn check_draft(name: &str, text: &str) -> Result<()> {
    let mut fields = vec![(name.to_string(), text.to_string(), Kind::Document)];
    // Unreadable content is reported by the draft's own parsing, with its line.
    if let Ok(c) = activity::Content::read(text) {
        fields.push((format!("{name} : summary"), c.summary.clone(), Kind::Text));
        for (i, a) in c.actions.iter().enumerate() {
            fields.push((format!("{name} : actions[{i}].title"), a.title.clone(), Kind::Line));
            fields.push((format!("{name} : actions[{i}].mission"), a.mission.clone(), Kind::Line));
            fields.push((format!("{name} : actions[{i}].description"), a.description.clone(), Kind::Text));
        }
        for (i, e) in c.expenses.iter().enumerate() {
            fields.push((format!("{name} : expenses[{i}].item"), e.item.clone(), Kind::Line));
        }
    }
    let errors: Vec<FieldError> = fields
        .iter()
        .filter_map(|(f, v, k)| cpts_domain::text::check(f, v, *k).err())
        .map(|message| FieldError { field: String::new(), line: None, message })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(AppError::Invalid(errors)) }
}

impl App {
    async fn load(&self, id: &CptsId, seq: Option<i64>) -> Result<Loaded> {
        let r = self.store.get_cpts(id).await?;
        let (agreement, _) = self.store.agreement(id, &r.identity.name, seq).await?;
        let contract = agreement
            .contract(&self.rules)
            .map_err(|es| AppError::Internal(format!("contrat stocké invalide : {es:?}")))?;
        let values = self.store.values(id).await?;
        let seq = agreement.seq;
        let reports = self.store.reports(id).await?.into_iter().filter(|x| x.contract == seq).collect();
        Ok(Loaded { cid: id.clone(), agreement, contract, values, reports })
    }

    /// Year `year` of a contract (the current one by default), computed on the validated
    /// report's results, else provisionally on the values entered to date.
    pub async fn achievement(&self, p: &Principal, id: &CptsId, year: Option<u8>, contract: Option<i64>) -> Result<YearAchievement> {
        self.authorize(p, Action::Read, id).await?;
        let l = self.load(id, contract).await?;
        let today = self.clock.today();
        let year = year.or_else(|| l.contract.year_of(today)).unwrap_or_else(|| l.contract.last_year());
        l.check_year(year)?;
        let catalogue = self.catalogue()?;
        let yv = year_values(&l.contract, year, &catalogue, &l.values);
        let result = l.agreement.results.get(&year);
        let values: BTreeMap<String, _> = match result {
            Some(r) => r.values.clone(),
            None => yv.iter().filter_map(|v| v.value.map(|x| (v.indicator.clone(), x))).collect(),
        };
        let crisis = result.map_or((false, false), |r| (r.crisis_plan, r.crisis_declared));
        let achievement = activity::achievement(&self.rules, &catalogue, &l.agreement, year, &values, crisis)
            .map_err(AppError::Internal)?;
        let (start, end) = l.contract.year_bounds(year).unwrap_or((today, today));
        Ok(YearAchievement {
            cpts_name: l.agreement.cpts_name.clone(),
            contract: l.agreement.seq,
            year,
            start,
            last_day: cpts_engine::dates::day_before(end),
            validated: result.is_some(),
            achievement,
            values: yv,
        })
    }

    /// Draft, submit or answer (`WriteReport`); comment, return or validate (`ReviewReport`).
    /// The domain decides; a draft after a validation starts a new version; validation
    /// releases the year's balances in the same transaction.
    pub async fn report_act(&self, p: &Principal, cmd: ReportAct) -> Result<ReportActed> {
        let ReportAct { target, act, text, source, role, by, on } = cmd;
        let stamp = self.authorize(p, action_of(act), &target.cpts).await?;
        let l = self.load(&target.cpts, target.contract).await?;
        l.check_year(target.year)?;
        let comment = if act == Act::Rediger { None } else { text.as_deref() };
        let mut errors: Vec<FieldError> = [("par", Some(by.as_str()), Kind::Name), ("texte", comment, Kind::Text)]
            .into_iter()
            .filter_map(|(f, v, k)| cpts_domain::text::check_opt(f, v, k).err())
            .map(|message| FieldError { field: String::new(), line: None, message })
            .collect();
        if by.trim().is_empty() {
            errors.push(FieldError { field: "par".into(), line: None, message: "indiquez qui agit".into() });
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        if act == Act::Rediger {
            check_draft(source.as_deref().unwrap_or("rapport"), text.as_deref().unwrap_or_default())?;
        }
        let today = self.clock.today();
        let on = on.unwrap_or(today);
        let catalogue = self.catalogue()?;
        let yv = year_values(&l.contract, target.year, &catalogue, &l.values);
        let ctx = Context { rules: &self.rules, contract: &l.contract, values: &yv, today };
        // A draft's refusal names its file, like every import's.
        let refused = |e: activity::Refusal| match &source {
            Some(file) => AppError::refused(format!("{file} : {e}")),
            None => AppError::refused(e.to_string()),
        };
        let before = l.latest(target.year);
        let (base, is_new) = match (before, act) {
            (None, Act::Rediger) => (Report::draft(l.agreement.seq, target.year, 1, "", &ctx).map_err(refused)?, true),
            (Some(r), Act::Rediger) if r.status == Status::Valide => (r.next_version(&ctx).map_err(refused)?, true),
            (Some(r), _) => (r.clone(), false),
            (None, _) => return Err(AppError::NotFound(format!("{NO_REPORT} {}", target.year))),
        };
        let next = base.act(act, role, &by, on, text.as_deref(), &ctx).map_err(refused)?;
        let prev = if is_new { None } else { Some(&base) };
        let mut released = None;
        if act == Act::Valider {
            let (book, version) = self.store.book(&l.cid, &l.agreement.cpts_name, Some(l.agreement.seq)).await?;
            let outcome = book
                .decide(&Op::Release { year: target.year, on, results: next.year_in() }, &self.rules, today)
                .map_err(AppError::refused)?;
            self.store
                .save_report(&stamp, &l.cid, prev, &next, Some((version, &book.agreement, &outcome)))
                .await?;
            let due = outcome
                .changes
                .insert
                .iter()
                .filter(|p| matches!(&p.source, Source::Aci { year, .. } if *year == target.year))
                .cloned()
                .collect();
            released = Some(Released {
                inserted: outcome.changes.insert.len(),
                cancelled: outcome.changes.cancel.len(),
                due,
            });
        } else {
            self.store.save_report(&stamp, &l.cid, prev, &next, None).await?;
        }
        let incomplete =
            if act == Act::Soumettre { yv.into_iter().filter(|v| !v.missing.is_empty()).collect() } else { Vec::new() };
        Ok(ReportActed { report: next, act, on, released, incomplete })
    }

    /// Every version of every report: of one CPTS, or of every CPTS the principal may read
    /// (filtered in the database), by CPTS, contract, year and version.
    pub async fn reports(&self, p: &Principal, id: Option<&CptsId>) -> Result<Vec<(CptsId, Report)>> {
        match id {
            Some(id) => {
                self.authorize(p, Action::Read, id).await?;
                Ok(self.store.reports(id).await?.into_iter().map(|r| (id.clone(), r)).collect())
            }
            None => Ok(self.store.reports_in(&p.visible(Action::Read)).await?),
        }
    }

    /// A report version (the latest by default) and its document: the report, the year's
    /// values and results, the money received and spent, the review's history.
    pub async fn report_document(&self, p: &Principal, target: &ReportRef, version: Option<i64>) -> Result<ReportDocument> {
        self.authorize(p, Action::Read, &target.cpts).await?;
        let l = self.load(&target.cpts, target.contract).await?;
        l.check_year(target.year)?;
        let report = l.version(target.year, version)?.clone();
        let catalogue = self.catalogue()?;
        // A validated version is frozen: its values and the CPTS's identity as they stood when
        // it was validated, whatever was corrected since.
        let validated = match report.status {
            Status::Valide => self.store.report_validated_at(&l.cid, report.contract, report.year, report.version).await?,
            _ => None,
        };
        let values = match validated {
            Some(at) => self.store.values_as_of(&l.cid, at).await?,
            None => l.values.clone(),
        };
        let yv = year_values(&l.contract, target.year, &catalogue, &values);
        let ledger = self.store.ledger(&l.cid).await?;
        let payments = self.store.payment_records(&l.cid).await?;
        let received = self.received(&l.cid, &ledger, &payments).await?;
        let record = match validated {
            Some(at) => self.store.cpts_as_of(&l.cid, at).await?,
            None => None,
        };
        let record = match record {
            Some(r) => r,
            None => self.store.get_cpts(&l.cid).await?,
        };
        let identity = activity::Identity {
            siret: record.identity.siret.as_ref().map(ToString::to_string),
            finess: record.identity.finess.as_ref().map(ToString::to_string),
            seat: record
                .identity
                .seat
                .as_ref()
                .and_then(|s| self.geo.commune(s))
                .map(|c| format!("{} ({})", c.name, c.code)),
        };
        let sheet = Sheet {
            rules: &self.rules,
            catalogue: &catalogue,
            agreement: &l.agreement,
            values: &yv,
            received: &received,
            ledger: &ledger,
            payments: &payments,
            today: self.clock.today(),
            identity: &identity,
        };
        let document = activity::document(&report, &sheet).map_err(AppError::Internal)?;
        let achievement = activity::report_achievement(&report, &sheet).map_err(AppError::Internal)?;
        Ok(ReportDocument { report, document, achievement })
    }

    /// The money received by the CPTS, each payment named by its line.
    async fn received(
        &self,
        id: &CptsId,
        lines: &[cpts_domain::ledger::Line],
        payments: &[cpts_domain::ledger::Payment],
    ) -> Result<Vec<Received>> {
        let convs = self.store.conventions(id).await?;
        Ok(payments
            .iter()
            .filter_map(|cpts_domain::ledger::Payment { line, on, amount, .. }| {
                let l = lines.iter().find(|l| l.id == *line)?;
                let what = match &l.planned.source {
                    Source::Convention { convention, installment } => {
                        let purpose = convs
                            .iter()
                            .find(|(n, _)| n == convention)
                            .map_or_else(String::new, |(_, c)| c.purpose.clone());
                        format!("{purpose} – versement {installment}")
                    }
                    _ => line_label(&self.rules, &l.planned),
                };
                Some(Received { on: *on, funder: l.planned.funder.clone(), what, amount: *amount })
            })
            .collect())
    }
}
