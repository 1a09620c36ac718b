//! Case files (YAML): a contract and its yearly facts, parsed and validated at the
//! edge into a `Contract`. Errors name the field and say what is wrong, in French.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;
use serde::Deserialize;

use crate::contract::{Contract, ContractMission, EnvelopeChange, Objective, PayoutRule, PopulationChange, YearFacts};
use crate::dates;
use crate::money::Cents;
use crate::rate::{Dec, Fraction};
use crate::rules::{BoundarySide, MissionIdx, MissionKind, RuleSet};

/// One problem in an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// Path of the field, e.g. `contract.missions[1].code`.
    pub field: String,
    pub message: String,
    /// Line in the file, where the parser knows it.
    pub line: Option<usize>,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line {
            write!(f, "ligne {l}, ")?;
        }
        if self.field.is_empty() || self.field == "." {
            write!(f, "{}", self.message)
        } else {
            write!(f, "champ `{}` : {}", self.field, self.message)
        }
    }
}

fn err(field: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError { field: field.into(), message: message.into(), line: None }
}

/// The case file as written.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// Name of the CPTS.
    pub cpts: String,
    #[serde(default)]
    pub description: Option<String>,
    pub contract: ContractIn,
    /// Facts per contract year (1 = first year).
    #[serde(default)]
    pub years: BTreeMap<u8, YearIn>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ContractIn {
    pub signed: Date,
    pub population: i64,
    #[serde(default)]
    pub population_source: Option<String>,
    #[serde(default)]
    pub tier_at_boundary: Option<BoundarySide>,
    #[serde(default)]
    pub lettre_intention_validated: Option<Date>,
    pub missions: Vec<MissionIn>,
    #[serde(default)]
    pub terminated: Option<Date>,
    /// Amendments to the contract (avenants), each from its effective date.
    #[serde(default)]
    pub amendments: Vec<AmendmentIn>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AmendmentIn {
    pub effective: Date,
    #[serde(default)]
    pub reason: Option<String>,
    /// New population covered (a change of tier follows from it).
    #[serde(default)]
    pub population: Option<i64>,
    #[serde(default)]
    pub tier_at_boundary: Option<BoundarySide>,
    /// New yearly envelopes of some missions.
    #[serde(default)]
    pub missions: Vec<EnvelopesIn>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct EnvelopesIn {
    pub code: String,
    #[serde(default)]
    pub fixed: Option<Cents>,
    #[serde(default)]
    pub variable: Option<Cents>,
    #[serde(default)]
    pub activation: Option<Cents>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct MissionIn {
    pub code: String,
    #[serde(default)]
    pub start: Option<Date>,
    #[serde(default)]
    pub fixed: Option<Cents>,
    #[serde(default)]
    pub variable: Option<Cents>,
    #[serde(default)]
    pub activation: Option<Cents>,
    #[serde(default)]
    pub objectives: Vec<ObjectiveIn>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RuleIn {
    #[default]
    Linear,
    Threshold,
    AllOrNothing,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveIn {
    pub indicator: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub baseline: Option<Dec>,
    /// The same target every year…
    #[serde(default)]
    pub target: Option<Dec>,
    /// …or one target per contract year.
    #[serde(default)]
    pub targets: Option<Vec<Dec>>,
    /// Percentage of the mission's variable envelope.
    pub weight: Dec,
    #[serde(default)]
    pub rule: RuleIn,
    /// For `threshold`: the share of the way to the target below which nothing is paid (percent).
    #[serde(default)]
    pub floor: Option<Dec>,
}

#[derive(Debug, Deserialize, Clone, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct YearIn {
    /// Observed value per indicator.
    #[serde(default)]
    pub values: BTreeMap<String, Dec>,
    #[serde(default)]
    pub crisis_plan: bool,
    #[serde(default)]
    pub crisis_declared: bool,
}

/// Parse a case file's text (no validation against the rules yet).
pub fn parse_case(text: &str) -> Result<CaseFile, InputError> {
    let de = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.location().map(|l| l.line());
        let message = translate_serde(&inner.to_string());
        InputError { field: path, message, line }
    })
}

/// serde's English messages, said in French for users; the rest is kept as is.
fn translate_serde(msg: &str) -> String {
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    // The YAML parser prefixes the path, which the error already names.
    let msg = match msg.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') => rest,
        _ => msg,
    };
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("champ obligatoire manquant : {rest}");
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        return format!("champ inconnu : {rest}");
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        return format!("valeur inconnue : {rest}");
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let (got, want) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        let noun = |w: &str| -> String {
            match w {
                w if w.starts_with("struct") || w == "map" || w.starts_with("a map") => {
                    "une section (clés et valeurs)".into()
                }
                w if w.starts_with("sequence") || w.starts_with("a sequence") => "une liste".into(),
                w if w.starts_with("string") || w == "a string" => "un texte".into(),
                "i64" | "u64" | "u8" | "u32" | "integer" => "un nombre entier".into(),
                "a boolean" | "boolean" => "true ou false".into(),
                w => w.to_string(),
            }
        };
        let got_word = got.split([' ', '"']).next().unwrap_or(got);
        return format!("attendu {}, trouvé {} ({got})", noun(want), noun(got_word));
    }
    if msg.contains("civil date") || msg.contains("failed to parse") {
        return format!("date invalide, attendu AAAA-MM-JJ ({msg})");
    }
    msg.to_string()
}

/// Parse and validate a case file against the rules. Every problem found is reported.
pub fn load_case(text: &str, rules: &RuleSet) -> Result<Contract, Vec<InputError>> {
    let case = parse_case(text).map_err(|e| vec![e])?;
    validate(&case, rules)
}

/// Validate a parsed case against the rules into a `Contract`.
pub fn validate(case: &CaseFile, rules: &RuleSet) -> Result<Contract, Vec<InputError>> {
    let mut errors = Vec::new();
    let c = &case.contract;

    let aci_start = rules.aci_start();
    if let Some(start) = aci_start
        && c.signed < start
    {
        errors.push(err(
            "contract.signed",
            format!(
                "date de signature {} antérieure à l'entrée en vigueur de l'ACI CPTS ({})",
                dates::fr(c.signed),
                dates::fr(start)
            ),
        ));
    }
    let population = match u64::try_from(c.population) {
        Ok(0) => {
            errors.push(err("contract.population", "population nulle : une CPTS couvre des habitants"));
            0
        }
        Ok(p) => p,
        Err(_) => {
            errors.push(err(
                "contract.population",
                format!("population négative ({}) : attendu un nombre d'habitants positif", c.population),
            ));
            0
        }
    };

    let years = rules.params.contract_years.at(c.signed).and_then(|v| v.entry.value).filter(|y| *y > 0 && *y < 100);
    let anniversaries: Vec<Date> = match years {
        Some(n) => (0..=n).filter_map(|i| dates::add_years(c.signed, i)).collect(),
        None => {
            if errors.is_empty() {
                errors.push(err("contract.signed", "durée du contrat inconnue à cette date dans les règles"));
            }
            Vec::new()
        }
    };
    let n_years = u8::try_from(anniversaries.len().saturating_sub(1)).unwrap_or(0);
    let end = anniversaries.last().copied();

    if let Some(t) = c.terminated {
        if t <= c.signed {
            errors.push(err("contract.terminated", "résiliation à la signature ou avant : date impossible"));
        } else if end.is_some_and(|e| t >= e) {
            errors.push(err(
                "contract.terminated",
                "résiliation après la fin du contrat : le contrat est arrivé à échéance",
            ));
        }
    }
    if let Some(li) = c.lettre_intention_validated
        && li > c.signed
    {
        errors.push(err(
            "contract.lettre_intention_validated",
            "validation de la lettre d'intention après la signature du contrat",
        ));
    }

    let mut missions: Vec<ContractMission> = Vec::new();
    let mut indicators: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (mi, m) in c.missions.iter().enumerate() {
        let at = format!("contract.missions[{mi}]");
        let Some(idx) = rules.mission_by_code(&m.code) else {
            let known: Vec<&str> = rules.missions.iter().map(|d| d.code.as_str()).collect();
            errors.push(err(
                format!("{at}.code"),
                format!("code de mission inconnu « {} » (codes connus : {})", m.code, known.join(", ")),
            ));
            continue;
        };
        let Some(def) = rules.mission(idx) else { continue };
        if missions.iter().any(|x| x.mission == idx) {
            errors.push(err(format!("{at}.code"), format!("mission « {} » présente deux fois", m.code)));
        }
        if let Some(s) = m.start {
            if s < c.signed {
                errors.push(err(format!("{at}.start"), "démarrage avant la signature du contrat"));
            } else if end.is_some_and(|e| s >= e) {
                errors.push(err(format!("{at}.start"), "démarrage après la fin du contrat"));
            } else if !def.available_on(s) {
                let since = def.available_from().map(dates::fr).unwrap_or_else(|| "jamais".into());
                errors.push(err(
                    format!("{at}.start"),
                    format!(
                        "la mission « {} » n'existe pas dans l'ACI en vigueur au {} (prévue à partir du {since})",
                        def.code,
                        dates::fr(s)
                    ),
                ));
            }
        }
        if !def.variable_part && (m.variable.is_some() || !m.objectives.is_empty()) {
            errors.push(err(
                format!("{at}.variable"),
                format!("la mission « {} » n'a pas de part variable (pas d'indicateur de résultat)", def.code),
            ));
        }
        if !def.activation_part && m.activation.is_some() {
            errors.push(err(
                format!("{at}.activation"),
                format!("seule la mission crises a un montant d'activation ; pas « {} »", def.code),
            ));
        }
        for (field, v) in [("fixed", m.fixed), ("variable", m.variable), ("activation", m.activation)] {
            if v.is_some_and(Cents::is_negative) {
                errors.push(err(format!("{at}.{field}"), "montant négatif"));
            }
        }
        let objectives = objectives_of(m, &at, n_years, &mut errors);
        if def.variable_part && m.variable.is_some_and(|v| v.get() > 0) && objectives.is_empty() {
            errors.push(err(
                format!("{at}.objectives"),
                "part variable sans objectif : donnez les indicateurs, cibles et poids du contrat",
            ));
        }
        if !objectives.is_empty() {
            let total: i64 = objectives.iter().map(|o| o.weight.nano()).sum();
            if total != Fraction::ONE.nano() {
                errors.push(err(
                    format!("{at}.objectives"),
                    format!("les poids des indicateurs font {} au lieu de 100 %", Fraction::from_nano(total)),
                ));
            }
        }
        for (oi, o) in objectives.iter().enumerate() {
            if let Some((pm, _)) = indicators.insert(o.indicator.clone(), (missions.len(), oi)) {
                errors.push(err(
                    format!("{at}.objectives[{oi}].indicator"),
                    format!("indicateur « {} » déjà utilisé (mission n° {})", o.indicator, pm + 1),
                ));
            }
        }
        missions.push(ContractMission {
            mission: idx,
            start: m.start,
            fixed: m.fixed,
            variable: m.variable,
            activation: m.activation,
            objectives,
            amended: Vec::new(),
            weighted: Vec::new(),
        });
    }
    let population_changes = amendments(c, end, rules, &mut missions, &mut errors);
    if c.missions.is_empty() {
        errors.push(err("contract.missions", "aucune mission : un contrat comporte au moins les missions socles"));
    }

    let mut facts = vec![YearFacts::default(); usize::from(n_years)];
    // Without a duration (signature before the ACI, already reported) years cannot be placed.
    let placed_years = if n_years == 0 { None } else { Some(&case.years) };
    for (year, y) in placed_years.into_iter().flatten() {
        let at = format!("years.{year}");
        let Some(f) = usize::from(*year).checked_sub(1).and_then(|i| facts.get_mut(i)) else {
            errors.push(err(at, format!("année de contrat {year} hors du contrat (1 à {n_years})")));
            continue;
        };
        f.reported = !y.values.is_empty();
        f.crisis_plan = y.crisis_plan;
        f.crisis_declared = y.crisis_declared;
        let mut seen = BTreeSet::new();
        for (ind, v) in &y.values {
            seen.insert(ind.as_str());
            match indicators.get(ind) {
                None => errors.push(err(
                    format!("{at}.values.{ind}"),
                    format!("indicateur « {ind} » absent des objectifs du contrat"),
                )),
                Some((mi, oi)) => {
                    if let Some(o) = missions.get_mut(*mi).and_then(|m| m.objectives.get_mut(*oi))
                        && let Some(slot) = usize::from(*year).checked_sub(1).and_then(|i| o.values.get_mut(i))
                    {
                        *slot = Some(*v);
                    }
                }
            }
        }
        if f.reported {
            let missing: Vec<&str> = indicators.keys().map(String::as_str).filter(|k| !seen.contains(k)).collect();
            if !missing.is_empty() {
                errors.push(err(
                    format!("{at}.values"),
                    format!("valeurs manquantes pour : {} (une année est déclarée en entier)", missing.join(", ")),
                ));
            }
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    let mut contract = Contract {
        name: case.cpts.clone(),
        signed: c.signed,
        anniversaries,
        population,
        population_source: c.population_source.clone(),
        tier_at_boundary: c.tier_at_boundary,
        population_changes,
        lettre_intention: c.lettre_intention_validated,
        missions,
        terminated: c.terminated,
        years: facts,
    };
    contract.refresh();
    Ok(contract)
}

/// Validate the amendments: each after the signature and within the contract, about missions
/// of the contract, in date order; envelope changes are attached to their missions.
fn amendments(
    c: &ContractIn,
    end: Option<Date>,
    rules: &RuleSet,
    missions: &mut [ContractMission],
    errors: &mut Vec<InputError>,
) -> Vec<PopulationChange> {
    let mut out = Vec::new();
    let mut previous: Option<Date> = None;
    for (ai, a) in c.amendments.iter().enumerate() {
        let at = format!("contract.amendments[{ai}]");
        if a.effective <= c.signed {
            errors.push(err(
                format!("{at}.effective"),
                format!(
                    "avenant effectif le {}, pas après la signature du contrat ({}) : un avenant modifie un contrat signé",
                    dates::fr(a.effective),
                    dates::fr(c.signed)
                ),
            ));
        } else if end.is_some_and(|e| a.effective >= e) || c.terminated.is_some_and(|t| a.effective >= t) {
            errors.push(err(format!("{at}.effective"), "avenant effectif après la fin du contrat"));
        }
        if previous.is_some_and(|p| a.effective <= p) {
            errors.push(err(
                format!("{at}.effective"),
                "avenants à donner dans l'ordre de leurs dates d'effet, une date chacun",
            ));
        }
        previous = Some(a.effective);
        if a.population.is_none() && a.missions.is_empty() {
            errors.push(err(at.clone(), "avenant vide : donnez une population ou des enveloppes de missions"));
        }
        if let Some(p) = a.population {
            match u64::try_from(p) {
                Ok(population) if population > 0 => out.push(PopulationChange {
                    effective: a.effective,
                    population,
                    tier_at_boundary: a.tier_at_boundary,
                }),
                _ => errors.push(err(
                    format!("{at}.population"),
                    format!("population {p} : attendu un nombre d'habitants positif"),
                )),
            }
        }
        for (ei, e) in a.missions.iter().enumerate() {
            let here = format!("{at}.missions[{ei}]");
            let Some(m) = rules.mission_by_code(&e.code).and_then(|idx| missions.iter_mut().find(|m| m.mission == idx))
            else {
                errors.push(err(format!("{here}.code"), format!("mission « {} » absente du contrat", e.code)));
                continue;
            };
            for (field, v) in [("fixed", e.fixed), ("variable", e.variable), ("activation", e.activation)] {
                if v.is_some_and(Cents::is_negative) {
                    errors.push(err(format!("{here}.{field}"), "montant négatif"));
                }
            }
            if e.fixed.is_none() && e.variable.is_none() && e.activation.is_none() {
                errors.push(err(here.clone(), "aucune enveloppe modifiée (fixed, variable ou activation)"));
            }
            m.amended.push(EnvelopeChange {
                effective: a.effective,
                fixed: e.fixed,
                variable: e.variable,
                activation: e.activation,
            });
        }
    }
    out
}

fn objectives_of(m: &MissionIn, at: &str, n_years: u8, errors: &mut Vec<InputError>) -> Vec<Objective> {
    let mut out = Vec::new();
    for (oi, o) in m.objectives.iter().enumerate() {
        let at = format!("{at}.objectives[{oi}]");
        let before = errors.len();
        let baseline = o.baseline.unwrap_or(Dec::from_int(0));
        let targets: Vec<Dec> = match (&o.target, &o.targets) {
            (Some(t), None) => vec![*t; usize::from(n_years)],
            (None, Some(ts)) if ts.len() == usize::from(n_years) => ts.clone(),
            (None, Some(ts)) => {
                errors.push(err(
                    format!("{at}.targets"),
                    format!("{} cibles pour {n_years} années de contrat", ts.len()),
                ));
                Vec::new()
            }
            (Some(_), Some(_)) => {
                errors.push(err(
                    format!("{at}.target"),
                    "donnez `target` (toutes les années) ou `targets` (une par année), pas les deux",
                ));
                Vec::new()
            }
            (None, None) => {
                errors.push(err(format!("{at}.target"), "cible manquante"));
                Vec::new()
            }
        };
        if targets.contains(&baseline) {
            errors.push(err(
                format!("{at}.target"),
                "cible égale à la valeur de référence : l'atteinte n'est pas mesurable",
            ));
        }
        let weight = match Fraction::from_percent(o.weight) {
            Ok(w) if w > Fraction::ZERO && w <= Fraction::ONE => w,
            Ok(_) => {
                errors.push(err(format!("{at}.weight"), format!("poids {} % hors de ]0, 100]", o.weight)));
                Fraction::ZERO
            }
            Err(e) => {
                errors.push(err(format!("{at}.weight"), e));
                Fraction::ZERO
            }
        };
        let rule = match (o.rule, o.floor) {
            (RuleIn::Linear, None) => PayoutRule::Linear,
            (RuleIn::AllOrNothing, None) => PayoutRule::AllOrNothing,
            (RuleIn::Threshold, Some(f)) => match Fraction::from_percent(f) {
                Ok(floor) if floor > Fraction::ZERO && floor <= Fraction::ONE => PayoutRule::Threshold { floor },
                _ => {
                    errors.push(err(format!("{at}.floor"), format!("seuil {f} % hors de ]0, 100]")));
                    PayoutRule::Linear
                }
            },
            (RuleIn::Threshold, None) => {
                errors.push(err(format!("{at}.floor"), "la règle `threshold` demande un seuil `floor` (en %)"));
                PayoutRule::Linear
            }
            (_, Some(_)) => {
                errors.push(err(format!("{at}.floor"), "`floor` ne sert qu'avec la règle `threshold`"));
                PayoutRule::Linear
            }
        };
        if errors.len() == before {
            out.push(Objective {
                indicator: o.indicator.clone(),
                label: o.label.clone(),
                baseline,
                targets,
                weight,
                rule,
                values: vec![None; usize::from(n_years)],
                achieved: Vec::new(),
            });
        }
    }
    out
}

/// Missions of the kind `socle` in force on `d` that a contract lacks.
pub fn missing_socles<'a>(
    rules: &'a RuleSet,
    contract: &'a Contract,
    d: Date,
) -> impl Iterator<Item = MissionIdx> + 'a {
    rules
        .missions
        .iter()
        .zip(0u8..)
        .filter(move |(m, _)| m.kind == MissionKind::Socle && m.available_on(d))
        .map(|(_, i)| MissionIdx(i))
        .filter(|i| !contract.missions.iter().any(|cm| cm.mission == *i))
}
