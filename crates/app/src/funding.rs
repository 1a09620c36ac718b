//! The funding engine on a contract given in the request (a case file's text, YAML or JSON):
//! one year explained, the whole schedule, a reform compared with the rules in force. Nothing
//! is read from nor written to the store: the what-if of a draft contract or avenant.

use cpts_engine::contract::Contract;
use cpts_engine::input::load_case;
use cpts_engine::report::{ScheduleReport, YearReport, schedule_report, year_report};
use cpts_engine::rules::RuleSet;
use cpts_engine::simulate::{Simulation, simulate};

use crate::policy::{Action, Principal};
use crate::simulation::Reform;
use crate::{App, AppError, FieldError, Result};

/// Contracts compared in one simulation request, at most (each is computed twice, every year).
pub const MAX_CASES: usize = 1000;

fn engine(e: cpts_engine::compute::EngineError) -> AppError {
    AppError::refused(e.to_string())
}

impl App {
    /// The rules in force, or under a reform (shipped, by id; or given as a reform file's text).
    pub fn rules_under(&self, reform: Option<&Reform>) -> Result<RuleSet> {
        let Some(reform) = reform else { return Ok(self.rules.clone()) };
        match reform {
            Reform::Builtin(id) => self
                .rules
                .builtin_reform(id)
                .ok_or_else(|| AppError::field("réforme", format!("réforme livrée inconnue « {} »", cpts_domain::text::quoted(id))))?,
            Reform::Text { name, text } => self.rules.with_reform(name, text),
        }
        .map_err(|e| AppError::Invalid(e.problems.into_iter().map(|m| FieldError { field: "réforme".into(), line: None, message: m }).collect()))
    }

    /// A case file's text as a contract; its errors by field and line, under `field`.
    fn case(rules: &RuleSet, text: &str, field: &str) -> Result<Contract> {
        load_case(text, rules).map_err(|errors| {
            AppError::Invalid(
                errors
                    .into_iter()
                    .map(|e| FieldError { field: format!("{field}.{}", e.field).trim_end_matches('.').to_owned(), line: e.line, message: e.message })
                    .collect(),
            )
        })
    }

    /// Anyone holding a role may compute: nothing of the store is read.
    fn may_compute(&self, p: &Principal) -> Result<()> {
        self.authorize_anywhere(p, Action::Read).map(|_| ())
    }

    /// One contract year, every amount explained.
    pub fn funding_year(&self, p: &Principal, case: &str, year: u8, reform: Option<&Reform>) -> Result<YearReport> {
        self.may_compute(p)?;
        let rules = self.rules_under(reform)?;
        let c = App::case(&rules, case, "dossier")?;
        year_report(&rules, &c, year).map_err(engine)
    }

    /// The dated schedule of payments over the whole contract.
    pub fn funding_schedule(&self, p: &Principal, case: &str, reform: Option<&Reform>) -> Result<ScheduleReport> {
        self.may_compute(p)?;
        let rules = self.rules_under(reform)?;
        let c = App::case(&rules, case, "dossier")?;
        schedule_report(&rules, &c).map_err(engine)
    }

    /// A reform against the rules in force on these contracts (case files' texts).
    pub fn funding_simulate(&self, p: &Principal, cases: &[String], reform: &Reform) -> Result<(RuleSet, Simulation)> {
        self.may_compute(p)?;
        if cases.is_empty() || cases.len() > MAX_CASES {
            return Err(AppError::field("dossiers", format!("1 à {MAX_CASES} dossiers de contrat (reçu : {})", cases.len())));
        }
        let reformed = self.rules_under(Some(reform))?;
        let mut contracts = Vec::with_capacity(cases.len());
        let mut errors = Vec::new();
        for (i, text) in cases.iter().enumerate() {
            match App::case(&self.rules, text, &format!("dossiers[{i}]")) {
                Ok(c) => contracts.push(c),
                Err(AppError::Invalid(e)) => errors.extend(e),
                Err(e) => return Err(e),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let sim = simulate(&self.rules, &reformed, &contracts).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok((reformed, sim))
    }
}
