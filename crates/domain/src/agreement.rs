//! A CPTS's signed ACI contract as the platform keeps it: the annex as typed from the signed
//! document (YAML, kept verbatim), then what happens to it: mission starts and full
//! deployment, amendments, termination, and the years whose balance is released after the
//! activity report. Every change is validated by rebuilding the engine's contract from the
//! whole record, so a stored agreement is always one the engine can compute.

use std::collections::BTreeMap;

use jiff::civil::Date;

use cpts_engine::contract::Contract;
use cpts_engine::dates::fr;
use cpts_engine::input::{AmendmentIn, CaseFile, ContractIn, InputError, YearIn, parse_case, validate};
use cpts_engine::rules::RuleSet;

/// Actual dates of a mission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub started: Option<Date>,
    pub deployed: Option<Date>,
}

/// An amendment as typed (YAML) and parsed.
#[derive(Clone, Debug)]
pub struct AmendmentRecord {
    pub text: String,
    pub parsed: AmendmentIn,
}

#[derive(Clone, Debug)]
pub struct Agreement {
    /// Number of the contract for its CPTS (1, then 2 after a renewal…).
    pub seq: i64,
    pub cpts_name: String,
    /// The annex as typed from the signed contract.
    pub annex: String,
    pub terms: ContractIn,
    /// The parties besides the CPTS.
    pub cpam: String,
    pub ars: String,
    pub progress: BTreeMap<String, Progress>,
    pub amendments: Vec<AmendmentRecord>,
    pub terminated: Option<Date>,
    pub termination_reason: Option<String>,
    /// Contract years whose activity report is validated, with the date: their balances are due.
    pub released: BTreeMap<u8, Date>,
    /// The results of each validated year (indicator values, crisis plan), as the engine takes them.
    pub results: BTreeMap<u8, YearIn>,
}

fn one(field: &str, message: impl Into<String>) -> Vec<InputError> {
    vec![InputError { field: field.into(), message: message.into(), line: None }]
}

/// Parse the annex: the `contract:` section of a case file (wrapped to reuse its parser), or a
/// whole case file, of which only `contract:` is read (its `years:` are results, which come
/// from the activity reports). Mission start dates written in it are returned as progress.
pub fn parse_annex(annex: &str) -> Result<(ContractIn, BTreeMap<String, Progress>), Vec<InputError>> {
    // A whole case file has a top-level `contract:` key; the section alone never has one.
    let whole = annex.lines().any(|l| l.strip_prefix("contract").is_some_and(|r| r.trim_start().starts_with(':')));
    let mut terms = if whole {
        parse_case(annex).map_err(|e| vec![e])?.contract
    } else {
        parse_inside("cpts: x\ncontract:\n", "  ", annex, "contract.")?.contract
    };
    if terms.terminated.is_some() || !terms.amendments.is_empty() {
        return Err(one(
            "terminated",
            "l'annexe décrit le contrat signé : avenants et résiliation s'enregistrent ensuite, chacun à sa date",
        ));
    }
    let mut progress = BTreeMap::new();
    for m in &mut terms.missions {
        if let Some(s) = m.start.take() {
            progress.insert(m.code.clone(), Progress { started: Some(s), deployed: None });
        }
    }
    Ok((terms, progress))
}

impl AmendmentRecord {
    pub fn parse(text: &str) -> Result<AmendmentRecord, Vec<InputError>> {
        Ok(AmendmentRecord { text: text.to_string(), parsed: parse_amendment(text)? })
    }
}

impl Agreement {
    /// A new agreement from the annex text. Mission start dates written in the annex become
    /// progress; amendments and termination are recorded later, not in the annex.
    pub fn new(
        seq: i64,
        cpts_name: &str,
        annex: &str,
        cpam: &str,
        ars: &str,
        rules: &RuleSet,
    ) -> Result<(Agreement, Contract), Vec<InputError>> {
        let (terms, progress) = parse_annex(annex)?;
        let a = Agreement {
            seq,
            cpts_name: cpts_name.to_string(),
            annex: annex.to_string(),
            terms,
            cpam: cpam.to_string(),
            ars: ars.to_string(),
            progress,
            amendments: Vec::new(),
            terminated: None,
            termination_reason: None,
            released: BTreeMap::new(),
            results: BTreeMap::new(),
        };
        let c = a.contract(rules)?;
        Ok((a, c))
    }

    /// The whole record as a case file for the engine.
    pub fn case(&self) -> CaseFile {
        let mut contract = self.terms.clone();
        for m in &mut contract.missions {
            m.start = self.progress.get(&m.code).and_then(|p| p.started);
        }
        contract.amendments = self.amendments.iter().map(|a| a.parsed.clone()).collect();
        contract.terminated = self.terminated;
        CaseFile { cpts: self.cpts_name.clone(), description: None, contract, years: self.results.clone() }
    }

    /// The engine's contract, or every reason the record is not a valid contract.
    /// The engine's contract. An objective the annex names by code only gets the national
    /// catalogue's label, so that explanations read « Patients sans médecin traitant… », not a
    /// code.
    pub fn contract(&self, rules: &RuleSet) -> Result<Contract, Vec<InputError>> {
        let mut c = validate(&self.case(), rules)?;
        for o in c.missions.iter_mut().flat_map(|m| m.objectives.iter_mut()).filter(|o| o.label.is_none()) {
            o.label = crate::indicators::builtin_label(&o.indicator).map(str::to_owned);
        }
        Ok(c)
    }

    pub fn signed(&self) -> Date {
        self.terms.signed
    }

    /// End of the term (exclusive): the last anniversary, or the termination date.
    pub fn end(c: &Contract) -> Option<Date> {
        c.terminated.or_else(|| c.anniversaries.last().copied())
    }

    fn mission_known(&self, code: &str) -> Result<(), Vec<InputError>> {
        if self.terms.missions.iter().any(|m| m.code == code) {
            Ok(())
        } else {
            let known: Vec<&str> = self.terms.missions.iter().map(|m| m.code.as_str()).collect();
            Err(one("mission", format!("mission « {code} » absente du contrat (missions : {})", known.join(", "))))
        }
    }

    fn checked(self, rules: &RuleSet) -> Result<(Agreement, Contract), Vec<InputError>> {
        let c = self.contract(rules)?;
        Ok((self, c))
    }

    fn not_terminated(&self) -> Result<(), Vec<InputError>> {
        match self.terminated {
            Some(t) => Err(one("terminated", format!("contrat résilié le {} : plus de modification possible", fr(t)))),
            None => Ok(()),
        }
    }

    /// Change a mission's progress on a copy, then check the whole record.
    fn with_progress(
        &self,
        code: &str,
        rules: &RuleSet,
        edit: impl FnOnce(&mut Progress) -> Result<(), Vec<InputError>>,
    ) -> Result<(Agreement, Contract), Vec<InputError>> {
        self.mission_known(code)?;
        self.not_terminated()?;
        let mut a = self.clone();
        edit(a.progress.entry(code.to_string()).or_default())?;
        a.checked(rules)
    }

    /// Record a mission's actual start. A start cannot move once recorded (payments follow from it).
    pub fn start_mission(
        &self,
        code: &str,
        on: Date,
        rules: &RuleSet,
    ) -> Result<(Agreement, Contract), Vec<InputError>> {
        let signed = self.signed();
        self.with_progress(code, rules, |p| {
            if let Some(s) = p.started {
                return Err(one("start", format!("mission « {code} » déjà démarrée le {}", fr(s))));
            }
            if on < signed {
                return Err(one(
                    "start",
                    format!("démarrage le {} avant la signature du contrat ({})", fr(on), fr(signed)),
                ));
            }
            p.started = Some(on);
            Ok(())
        })
    }

    /// Record a mission's full deployment (after its start, before the end of the contract).
    pub fn deploy_mission(
        &self,
        code: &str,
        on: Date,
        rules: &RuleSet,
    ) -> Result<(Agreement, Contract), Vec<InputError>> {
        let (a, c) = self.with_progress(code, rules, |p| {
            match p.started {
                None => return Err(one("deployed", format!("mission « {code} » pas encore démarrée"))),
                Some(s) if on < s => {
                    return Err(one("deployed", format!("déploiement le {} avant le démarrage ({})", fr(on), fr(s))));
                }
                _ => {}
            }
            if let Some(d) = p.deployed {
                return Err(one("deployed", format!("mission « {code} » déjà déployée le {}", fr(d))));
            }
            p.deployed = Some(on);
            Ok(())
        })?;
        if Agreement::end(&c).is_some_and(|e| on >= e) {
            return Err(one("deployed", "déploiement après la fin du contrat"));
        }
        Ok((a, c))
    }

    /// Record an amendment (YAML: effective, reason, population, tier_at_boundary, missions).
    pub fn amend(&self, text: &str, rules: &RuleSet) -> Result<(Agreement, Contract), Vec<InputError>> {
        self.not_terminated()?;
        let parsed = AmendmentRecord::parse(text)?.parsed;
        if let Some(last) = self.amendments.last()
            && parsed.effective <= last.parsed.effective
        {
            return Err(one(
                "effective",
                format!(
                    "un avenant est déjà effectif le {} : les avenants s'enregistrent dans l'ordre de leurs dates d'effet",
                    fr(last.parsed.effective)
                ),
            ));
        }
        let mut a = self.clone();
        a.amendments.push(AmendmentRecord { text: text.to_string(), parsed });
        a.checked(rules).map_err(|es| {
            es.into_iter()
                .map(|mut e| {
                    // Name the field inside the amendment the user typed.
                    if let Some(rest) = e.field.split_once("].").map(|(_, r)| r.to_string())
                        && e.field.starts_with("contract.amendments[")
                    {
                        e.field = rest;
                    }
                    e
                })
                .collect()
        })
    }

    /// Terminate the contract on a date (the last day counted is the day before).
    pub fn terminate(&self, on: Date, reason: &str, rules: &RuleSet) -> Result<(Agreement, Contract), Vec<InputError>> {
        self.not_terminated()?;
        if reason.trim().is_empty() {
            return Err(one("reason", "motif de résiliation manquant"));
        }
        if let Some(am) = self.amendments.iter().find(|am| am.parsed.effective >= on) {
            return Err(one(
                "terminated",
                format!(
                    "un avenant prend effet le {}, après la date de résiliation du {}",
                    fr(am.parsed.effective),
                    fr(on)
                ),
            ));
        }
        let mut a = self.clone();
        a.terminated = Some(on);
        a.termination_reason = Some(reason.trim().to_string());
        let (a, c) = a.checked(rules)?;
        if let Some(y) = a.released.keys().find(|y| c.year_bounds(**y).is_some_and(|(start, _)| start >= on)) {
            return Err(one(
                "terminated",
                format!("l'année {y} a déjà un rapport validé : résiliation avant impossible"),
            ));
        }
        Ok((a, c))
    }

    /// Release the balance of a contract year with its results: its activity report is
    /// validated. A later version of the report validated again replaces the results.
    pub fn release_year(
        &self,
        year: u8,
        on: Date,
        results: YearIn,
        rules: &RuleSet,
    ) -> Result<(Agreement, Contract), Vec<InputError>> {
        let c = self.contract(rules)?;
        if year == 0 || year > c.last_year() {
            return Err(one("year", format!("année {year} hors du contrat (1 à {})", c.last_year())));
        }
        // The report covers the whole year: it is validated once the year has ended.
        if let Some((_, end)) = c.year_bounds(year) {
            let end = c.terminated.map_or(end, |t| t.min(end));
            if on < end {
                return Err(one(
                    "date",
                    format!(
                        "validation le {} avant la fin de l'année {year} (dernier jour : {}) : le rapport couvre l'année entière",
                        fr(on),
                        // `end` is the first day after the year (its next anniversary).
                        cpts_engine::dates::day_before(end).map_or_else(|| fr(end), fr)
                    ),
                ));
            }
        }
        let mut a = self.clone();
        a.released.insert(year, on);
        a.results.insert(year, results);
        let c = a.contract(rules)?;
        Ok((a, c))
    }
}

/// Parse `text` placed under `header` (a case file's opening) with the case file's parser, so
/// fragments get the same messages; fields and lines are said relative to the fragment.
fn parse_inside(header: &str, indent: &str, text: &str, field_prefix: &str) -> Result<CaseFile, Vec<InputError>> {
    let body: String = text.lines().map(|l| format!("{indent}{l}\n")).collect();
    parse_case(&format!("{header}{body}")).map_err(|mut e| {
        e.field = e.field.strip_prefix(field_prefix).unwrap_or(&e.field).to_string();
        e.line = e.line.and_then(|l| l.checked_sub(header.lines().count()));
        vec![e]
    })
}

/// An amendment given as a mapping (effective, population…), parsed with the case file's parser.
fn parse_amendment(text: &str) -> Result<AmendmentIn, Vec<InputError>> {
    let header = "cpts: x\ncontract:\n  signed: 2000-01-01\n  population: 1\n  missions: []\n  amendments:\n  -\n";
    let case = parse_inside(header, "    ", text, "contract.amendments[0].")?;
    case.contract.amendments.into_iter().next().ok_or_else(|| one("", "avenant vide"))
}
