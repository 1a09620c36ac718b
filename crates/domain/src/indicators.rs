//! The catalogue of national indicators per mission (`rules/indicators/catalogue.yaml`), checked
//! at load against the missions of the rules. Targets and weights are contract data; indicators a
//! contract defines itself (not in the catalogue) are contract-specific.

use std::collections::BTreeSet;

use serde::Deserialize;

use cpts_engine::rules::RuleSet;

const BUILTIN: &str = include_str!("../../../rules/indicators/catalogue.yaml");

#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Nombre,
    Pourcentage,
}

impl Unit {
    pub fn label(self) -> &'static str {
        match self {
            Unit::Nombre => "nombre",
            Unit::Pourcentage => "%",
        }
    }
}

/// The finest period values are entered for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Periodicity {
    Mois,
    Trimestre,
    Annee,
}

impl Periodicity {
    pub fn label(self) -> &'static str {
        match self {
            Periodicity::Mois => "mois",
            Periodicity::Trimestre => "trimestre",
            Periodicity::Annee => "année",
        }
    }
}

/// Which way is better.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Hausse,
    Baisse,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ratio {
    pub numerator: String,
    pub denominator: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub code: String,
    pub mission: String,
    pub label: String,
    pub definition: String,
    pub unit: Unit,
    pub periodicity: Periodicity,
    pub direction: Direction,
    #[serde(default)]
    pub ratio: Option<Ratio>,
    /// A breakdown of another indicator (e.g. patients aged 70+ among those helped).
    #[serde(default)]
    pub part_of: Option<String>,
    pub source: String,
    pub grade: cpts_engine::rules::Grade,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub indicators: Vec<Indicator>,
}

/// The national catalogue's label of an indicator, for texts that would otherwise show its
/// code (an annex names an objective by code only). The catalogue's text is built in: parsed
/// once per process.
pub fn builtin_label(code: &str) -> Option<&'static str> {
    static LABELS: std::sync::LazyLock<std::collections::BTreeMap<String, String>> = std::sync::LazyLock::new(|| {
        cpts_engine::yaml::from_str::<Catalogue>(BUILTIN)
            .map(|c| c.indicators.into_iter().map(|i| (i.code, i.label)).collect())
            .unwrap_or_default()
    });
    LABELS.get(code).map(String::as_str)
}

impl Catalogue {
    /// Parse and check a catalogue against the missions of `rules`.
    pub fn parse(text: &str, rules: &RuleSet) -> Result<Catalogue, String> {
        let c: Catalogue = cpts_engine::yaml::from_str(text).map_err(|e| format!("catalogue des indicateurs : {e}"))?;
        let mut why = Vec::new();
        let mut seen = BTreeSet::new();
        for i in &c.indicators {
            if !seen.insert(i.code.as_str()) {
                why.push(format!("indicateur « {} » en double", i.code));
            }
            match rules.mission_by_code(&i.mission).and_then(|m| rules.mission(m)) {
                None => why.push(format!("« {} » : mission inconnue « {} »", i.code, i.mission)),
                Some(m) if !m.variable_part => {
                    why.push(format!("« {} » : la mission « {} » n'a pas d'indicateur de résultat", i.code, i.mission))
                }
                _ => {}
            }
            if i.ratio.is_some() != (i.unit == Unit::Pourcentage) {
                why.push(format!("« {} » : un pourcentage se déclare avec son numérateur et son dénominateur", i.code));
            }
            if let Some(p) = &i.part_of {
                match c.indicators.iter().find(|x| &x.code == p) {
                    Some(x) if x.mission == i.mission && x.unit == i.unit => {}
                    _ => why.push(format!("« {} » : part_of « {p} » inconnu ou d'une autre mission/unité", i.code)),
                }
            }
        }
        if why.is_empty() { Ok(c) } else { Err(why.join(" ; ")) }
    }

    pub fn builtin(rules: &RuleSet) -> Result<Catalogue, String> {
        Catalogue::parse(BUILTIN, rules)
    }

    pub fn get(&self, code: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.code == code)
    }

    pub fn of_mission<'a>(&'a self, mission: &'a str) -> impl Iterator<Item = &'a Indicator> + 'a {
        self.indicators.iter().filter(move |i| i.mission == mission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_is_consistent_and_covers_the_reference() {
        let rules = RuleSet::builtin().unwrap();
        let c = Catalogue::builtin(&rules).unwrap();
        for code in [
            "patients_sans_mt_aides",
            "patients_sans_mt_aides_70",
            "patients_sans_mt_aides_ald",
            "snp_creneaux",
            "snp_taux_reponse",
            "urgences_sans_hospitalisation",
            "participation_campagnes",
            "couverture_vaccinale",
            "reunions_pluripro",
            "protocoles_pluripro",
            "projets_pluripro",
            "hospitalisations_evitables",
        ] {
            assert!(c.get(code).is_some(), "{code}");
        }
        // The crisis mission has no result indicator.
        assert_eq!(c.of_mission("crises").count(), 0);
        assert_eq!(c.get("hospitalisations_evitables").unwrap().direction, Direction::Baisse);
        assert!(c.get("couverture_vaccinale").unwrap().ratio.is_some());
    }

    #[test]
    fn a_bad_catalogue_is_refused_with_reasons() {
        let rules = RuleSet::builtin().unwrap();
        let text = "indicators:
  - {code: a, mission: crises, label: A, definition: d, unit: nombre, periodicity: mois, direction: hausse, source: s, grade: S}
  - {code: a, mission: nulle, label: A, definition: d, unit: pourcentage, periodicity: mois, direction: hausse, source: s, grade: S}
  - {code: b, mission: parcours, label: B, definition: d, unit: nombre, periodicity: annee, direction: baisse, part_of: zz, source: s, grade: S}
";
        let e = Catalogue::parse(text, &rules).unwrap_err();
        for part in ["en double", "mission inconnue", "pas d'indicateur de résultat", "numérateur", "part_of « zz »"]
        {
            assert!(e.contains(part), "{part}: {e}");
        }
    }
}
