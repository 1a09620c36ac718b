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

/// Input sanity bounds (not ACI rules: no amount, threshold or delay of the agreement).
/// Largest population a contract may cover: France counts about 68 million inhabitants and a
/// CPTS covers part of one territory, so 100 million refuses only typing errors and overflow.
pub const MAX_POPULATION: u64 = 100_000_000;

/// Largest indicator value, baseline or target (a count or a rate): a territory's yearly counts
/// of patients, slots or meetings stay far below one billion; the bound keeps yearly sums and
/// rate arithmetic exact.
pub const MAX_INDICATOR_VALUE: i64 = 1_000_000_000;

/// An indicator value within [0, MAX_INDICATOR_VALUE], or why not (in French).
pub fn check_indicator_value(v: Dec) -> Result<Dec, String> {
    if v.is_negative() {
        Err(format!("valeur négative ({v}) : un indicateur se compte à partir de 0"))
    } else if v.to_nano_units() > Dec::from_int(MAX_INDICATOR_VALUE).to_nano_units() {
        Err(format!(
            "valeur {v} hors limites (au plus {})",
            crate::money::group_thousands(MAX_INDICATOR_VALUE.unsigned_abs())
        ))
    } else {
        Ok(v)
    }
}

/// A population within ]0, MAX_POPULATION], or why not (in French).
pub fn check_population(p: i64) -> Result<u64, String> {
    match u64::try_from(p) {
        Ok(0) => Err("population nulle : une CPTS couvre des habitants".into()),
        Ok(p) if p > MAX_POPULATION => Err(format!(
            "population {} hors limites : au plus {} habitants (plus que la France entière)",
            crate::money::group_thousands(p),
            crate::money::group_thousands(MAX_POPULATION)
        )),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("population négative ({p}) : attendu un nombre d'habitants positif")),
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
    #[serde(default, deserialize_with = "year_keys")]
    pub years: BTreeMap<u8, YearIn>,
}

/// Years keyed by number, written `1:` in YAML or `"1":` in JSON (whose keys are always text).
fn year_keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<u8, YearIn>, D::Error> {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct Key(u8);
    impl<'de> Deserialize<'de> for Key {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Key;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("un numéro d'année de contrat (1, 2, ...)")
                }
                fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Key, E> {
                    u8::try_from(v).map(Key).map_err(|_| E::custom(format!("{v} hors limites : attendu un nombre entier de 0 à 255")))
                }
                fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Key, E> {
                    u8::try_from(v).map(Key).map_err(|_| E::custom(format!("{v} hors limites : attendu un nombre entier de 0 à 255")))
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key, E> {
                    v.trim().parse::<u8>().map(Key).map_err(|_| E::custom("attendu un numéro d'année de contrat (1, 2, ...)"))
                }
            }
            d.deserialize_any(V)
        }
    }
    let m: BTreeMap<Key, YearIn> = Deserialize::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (k.0, v)).collect())
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ContractIn {
    #[serde(deserialize_with = "crate::yaml::date")]
    pub signed: Date,
    #[serde(deserialize_with = "crate::yaml::decimal_int")]
    pub population: i64,
    #[serde(default)]
    pub population_source: Option<String>,
    #[serde(default)]
    pub tier_at_boundary: Option<BoundarySide>,
    #[serde(default, deserialize_with = "crate::yaml::date_opt")]
    pub lettre_intention_validated: Option<Date>,
    pub missions: Vec<MissionIn>,
    #[serde(default, deserialize_with = "crate::yaml::date_opt")]
    pub terminated: Option<Date>,
    /// Amendments to the contract (avenants), each from its effective date.
    #[serde(default)]
    pub amendments: Vec<AmendmentIn>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AmendmentIn {
    #[serde(deserialize_with = "crate::yaml::date")]
    pub effective: Date,
    #[serde(default)]
    pub reason: Option<String>,
    /// New population covered (a change of tier follows from it).
    #[serde(default, deserialize_with = "crate::yaml::decimal_int_opt")]
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
    #[serde(default, deserialize_with = "crate::yaml::date_opt")]
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
    crate::yaml::from_str(text).map_err(|mut e| {
        // The whole file is not a mapping: it is not a case file (say so, quote nothing).
        if e.field == "." && (e.message.starts_with("attendu une section") || e.message.starts_with("clé inconnue")) {
            e.message = format!(
                "ce fichier n'est pas un dossier de contrat cpts (attendu les sections cpts, contract, years) : {}",
                e.message
            );
        }
        e
    })
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
    let population = check_population(c.population).unwrap_or_else(|e| {
        errors.push(err("contract.population", e));
        0
    });

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
        let before = errors.len();
        let objectives = objectives_of(m, &at, n_years, &mut errors);
        // A bad objective is reported once: no sum of weights nor "no objective" on top of it.
        let objectives_ok = errors.len() == before;
        if objectives_ok && def.variable_part && m.variable.is_some_and(|v| v.get() > 0) && objectives.is_empty() {
            errors.push(err(
                format!("{at}.objectives"),
                "part variable sans objectif : donnez les indicateurs, cibles et poids du contrat",
            ));
        }
        if objectives_ok && !objectives.is_empty() {
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

    let declared: BTreeSet<&str> =
        c.missions.iter().flat_map(|m| m.objectives.iter().map(|o| o.indicator.as_str())).collect();
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
            if let Err(e) = check_indicator_value(*v) {
                errors.push(err(format!("{at}.values.{ind}"), e));
                continue;
            }
            match indicators.get(ind) {
                // Its objective was refused, and reported: nothing more to say here.
                None if declared.contains(ind.as_str()) => {}
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
            match check_population(p) {
                Ok(population) => out.push(PopulationChange {
                    effective: a.effective,
                    population,
                    tier_at_boundary: a.tier_at_boundary,
                }),
                Err(e) => errors.push(err(format!("{at}.population"), e)),
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
        if let Some(b) = o.baseline
            && let Err(e) = check_indicator_value(b)
        {
            errors.push(err(format!("{at}.baseline"), e));
        }
        for (ti, t) in o.target.iter().chain(o.targets.iter().flatten()).enumerate() {
            if let Err(e) = check_indicator_value(*t) {
                let field = if o.target.is_some() { format!("{at}.target") } else { format!("{at}.targets[{ti}]") };
                errors.push(err(field, e));
            }
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    const CASE: &str = include_str!("../../../examples/cpts-2020.yaml");

    fn errors(text: &str) -> Vec<String> {
        let rules = RuleSet::builtin().unwrap();
        match load_case(text, &rules) {
            Ok(_) => Vec::new(),
            Err(es) => es.iter().map(ToString::to_string).collect(),
        }
    }

    fn has(es: &[String], part: &str) -> bool {
        es.iter().any(|e| e.contains(part))
    }

    #[test]
    fn the_example_loads() {
        assert_eq!(errors(CASE), Vec::<String>::new());
    }

    #[test]
    fn dates_are_read_as_french_users_write_them_too() {
        let rules = RuleSet::builtin().unwrap();
        let iso = load_case(CASE, &rules).unwrap();
        let fr = CASE.replace("signed: 2020-03-02", "signed: 02/03/2020").replace("start: 2020-06-01", "start: \"01/06/2020\"");
        assert_ne!(fr, CASE);
        let french = load_case(&fr, &rules).unwrap();
        assert_eq!((french.signed, french.missions.len()), (iso.signed, iso.missions.len()));
        assert_eq!(french.missions.iter().map(|m| m.start).collect::<Vec<_>>(), iso.missions.iter().map(|m| m.start).collect::<Vec<_>>());
        let es = errors(&CASE.replace("signed: 2020-03-02", "signed: 31/02/2020"));
        assert!(has(&es, "contract.signed") && has(&es, "date impossible"), "{es:?}");
    }

    #[test]
    fn amounts_and_values_in_hex_or_octal_are_refused() {
        let es = errors(&CASE.replace("fixed: 40000", "fixed: 0x10"));
        assert!(has(&es, "contract.missions[0].fixed") && has(&es, "« 0x10 »"), "{es:?}");
        let es = errors(&CASE.replace("patients_sans_mt: 180", "patients_sans_mt: 0o17"));
        assert!(has(&es, "years.1.values.patients_sans_mt") && has(&es, "« 0o17 »"), "{es:?}");
        let es = errors(&CASE.replace("target: 300", "target: 1e3"));
        assert!(has(&es, "« 1e3 »"), "{es:?}");
        // Decimal notation, with a comma or a point, stays accepted.
        assert_eq!(errors(&CASE.replace("fixed: 40000", "fixed: \"40 000,50\"")), Vec::<String>::new());
        assert_eq!(errors(&CASE.replace("fixed: 40000", "fixed: 40000.5")), Vec::<String>::new());
    }

    #[test]
    fn populations_and_indicator_values_have_explicit_ranges() {
        let es = errors(&CASE.replace("population: 75000", "population: 9223372036854775807"));
        assert!(has(&es, "contract.population` : population 9 223 372 036 854 775 807 hors limites"), "{es:?}");
        let es = errors(&CASE.replace("population: 75000", "population: 9223372036854775808"));
        assert!(has(&es, "contract.population") && has(&es, "trop grand"), "{es:?}");
        let es = errors(&CASE.replace("population: 75000", "population: 0x10"));
        assert!(has(&es, "contract.population") && has(&es, "« 0x10 »"), "{es:?}");
        assert_eq!(errors(&CASE.replace("population: 75000", "population: 75 000")), Vec::<String>::new());
        // French digit grouping, quoted or not, with the spaces a word processor puts there.
        for grouped in ["\"75 000\"", "75\u{a0}000", "\"75\u{202f}000\""] {
            assert_eq!(
                errors(&CASE.replace("population: 75000", &format!("population: {grouped}"))),
                Vec::<String>::new()
            );
        }
        let amended = CASE.replace(
            "  missions:\n",
            "  amendments: [{effective: 2021-01-01, population: 9223372036854775807}]\n  missions:\n",
        );
        assert!(has(&errors(&amended), "contract.amendments[0].population` : population 9 223"));
        let es = errors(&CASE.replace("patients_sans_mt: 180", "patients_sans_mt: -180"));
        assert!(has(&es, "years.1.values.patients_sans_mt` : valeur négative"), "{es:?}");
        let es = errors(&CASE.replace("patients_sans_mt: 180", "patients_sans_mt: 9223372036854775807"));
        assert!(has(&es, "years.1.values.patients_sans_mt` : valeur 9223372036854775807 hors limites"), "{es:?}");
        let es = errors(&CASE.replace("target: 300", "target: -300"));
        assert!(has(&es, "objectives[0].target` : valeur négative"), "{es:?}");
        let es = errors(&CASE.replace("target: 300,", "target: 300, baseline: -1,"));
        assert!(has(&es, "objectives[0].baseline` : valeur négative"), "{es:?}");
    }

    #[test]
    fn one_bad_weight_is_reported_alone() {
        let es = errors(&CASE.replace("weight: 70", "weight: 170"));
        assert_eq!(es.len(), 1, "{es:?}");
        assert!(has(&es, "objectives[0].weight` : poids 170 % hors de ]0, 100]"), "{es:?}");
        let es = errors(&CASE.replace("weight: 70", "weight: beaucoup"));
        assert_eq!(es.len(), 1, "{es:?}");
        assert!(has(&es, "objectives[0].weight") && !has(&es, "expected"), "{es:?}");
    }

    #[test]
    fn parser_messages_are_french_and_name_the_line() {
        let es = errors(&CASE.replace("years:\n  1:", "years:\n  300:"));
        assert!(has(&es, "300 hors limites : attendu un nombre entier de 0 à 255"), "{es:?}");
        let es = errors(&CASE.replace("cpts: CPTS", "cpts: @CPTS"));
        assert!(has(&es, "ligne 3") && has(&es, "caractère inattendu"), "{es:?}");
        assert!(!es.iter().any(|e| e.contains("found") || e.contains("expected")), "{es:?}");
        let es = errors(&CASE.replace("population: 75000", "population: [1]"));
        assert!(has(&es, "attendu un nombre entier") && has(&es, "trouvé une liste"), "{es:?}");
        let es = errors(&CASE.replace("population: 75000", "population: 75000.5"));
        assert!(!has(&es, "trouvé un nombre entier"), "{es:?}");
    }

    #[test]
    fn a_file_that_is_not_a_case_is_named_without_quoting_it() {
        let es = errors("root:$6$Zx8secret:19000:0:99999:7:::\n");
        assert!(has(&es, "n'est pas un dossier de contrat cpts"), "{es:?}");
        assert!(!has(&es, "Zx8secret"), "{es:?}");
    }

    #[test]
    fn deep_nesting_in_a_case_file_is_refused_quickly() {
        let started = std::time::Instant::now();
        let es = errors(&format!("{CASE}description: {}\n", "[".repeat(80_000)));
        assert!(has(&es, "ligne 20") && has(&es, "imbrication trop profonde"), "{es:?}");
        assert!(started.elapsed().as_secs() < 2);
    }
}
