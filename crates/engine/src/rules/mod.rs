//! ACI rules as data: the rule files are parsed, checked (sources, grades,
//! coverage) and turned into a `RuleSet`. Reforms overlay parameters.

mod model;

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

pub use model::*;

use crate::dates;
use crate::money::Cents;

/// Which tier a population exactly equal to a threshold belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundarySide {
    Lower,
    Upper,
}

impl ShowValue for BoundarySide {
    fn show(&self) -> String {
        match self {
            BoundarySide::Lower => "la taille inférieure".into(),
            BoundarySide::Upper => "la taille supérieure".into(),
        }
    }
}

/// Declares the national parameters once: the struct, its reform patch, the
/// key enum used by explanations, and the generic walks over all of them.
macro_rules! national_params {
    ($( $field:ident : $ty:ty ),* $(,)?) => {
        /// The national parameters of the ACI, each a dated series.
        #[derive(Clone, Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Params { $( pub $field: Param<$ty>, )* }

        /// A reform's replacement values, per parameter.
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ParamsPatch { $( #[serde(default)] pub $field: Option<Vec<Dated<$ty>>>, )* }

        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types)]
        pub enum ParamKey { $( $field, )* }

        impl ParamKey {
            pub fn name(self) -> &'static str {
                match self { $( ParamKey::$field => stringify!($field), )* }
            }
        }

        impl Params {
            fn view(&self, key: ParamKey, index: u16, tier: Option<Tier>) -> Option<(&str, String, &ValueMeta)> {
                match key { $( ParamKey::$field => view_of(&self.$field, index, tier), )* }
            }

            fn check(&self, sources: &[Source], problems: &mut Vec<String>) {
                $( check_param(stringify!($field), &self.$field, sources, problems); )*
            }

            /// Every parameter with its label and the metadata of its values.
            #[allow(clippy::type_complexity)]
            pub fn listing(&self) -> Vec<(&'static str, &str, Vec<(&ValueMeta, String)>)> {
                vec![ $( (stringify!($field), self.$field.label.as_str(), values_of(&self.$field)), )* ]
            }

            fn apply(&mut self, patch: ParamsPatch) -> Vec<&'static str> {
                let mut changed = Vec::new();
                $( if let Some(values) = patch.$field {
                    overlay(&mut self.$field, values);
                    changed.push(stringify!($field));
                } )*
                changed
            }
        }
    };
}

national_params! {
    tier_thresholds: Thresholds,
    tier_at_boundary: BoundarySide,
    operating_allocation: ByTier<Cents>,
    lettre_intention_payment: ByTier<Cents>,
    contract_years: u32,
    advance_rate: Percent,
    max_total: ByTier<Option<Cents>>,
}

/// A dated value's label, its text (only the tier's value when a tier is named) and metadata.
fn view_of<T: ShowValue>(p: &Param<T>, index: u16, tier: Option<Tier>) -> Option<(&str, String, &ValueMeta)> {
    let d = p.values.get(usize::from(index))?;
    let value = tier.and_then(|t| d.value.show_tier(t)).unwrap_or_else(|| d.value.show());
    Some((p.label.as_str(), value, &d.meta))
}

fn values_of<T: ShowValue>(p: &Param<T>) -> Vec<(&ValueMeta, String)> {
    p.values.iter().map(|d| (&d.meta, d.value.show())).collect()
}

/// Replace `p`'s values from the patch's first date on by the patch's values.
fn overlay<T>(p: &mut Param<T>, patch: Vec<Dated<T>>) {
    let Some(from) = patch.first().map(|d| d.meta.from) else { return };
    let cut = dates::day_before(from);
    p.values.retain(|d| d.meta.from < from);
    if let Some(last) = p.values.last_mut()
        && last.meta.until.is_none_or(|u| u >= from)
    {
        last.meta.until = cut;
    }
    p.values.extend(patch);
}

/// Coverage and consistency of one parameter: ordered, no gap, no overlap,
/// open-ended, a value exactly when the grade is not [U], a known source.
fn check_param<T>(name: &str, p: &Param<T>, sources: &[Source], problems: &mut Vec<String>) {
    if p.values.is_empty() {
        problems.push(format!("{name} : aucune valeur datée (un montant inconnu s'écrit avec grade U)"));
    }
    for (i, d) in p.values.iter().enumerate() {
        let m = &d.meta;
        let at = format!("{name}, valeur du {}", dates::fr(m.from));
        if m.until.is_some_and(|u| u < m.from) {
            problems.push(format!("{at} : fin avant le début"));
        }
        match (m.grade, d.value.is_some()) {
            (Grade::U, true) => problems.push(format!("{at} : grade U mais une valeur est donnée")),
            (Grade::P | Grade::S, false) => problems.push(format!("{at} : grade {} sans valeur", m.grade)),
            _ => {}
        }
        if !sources.iter().any(|s| s.id == m.source) {
            problems.push(format!("{at} : source inconnue « {} »", m.source));
        }
        // Per-tier grades: the entry says the weakest, so a reader of the entry alone is not misled.
        if let Some(weakest) = m.per_tier.iter().map(|x| x.grade).max()
            && weakest != m.grade
        {
            problems.push(format!("{at} : grade {} alors que le plus faible de ses valeurs par taille est {weakest}", m.grade));
        }
        for (x, t) in m.per_tier.iter().zip(1u8..) {
            if x.grade == Grade::U {
                problems.push(format!("{at}, taille {t} : grade U pour une valeur donnée (une valeur inconnue ne s'écrit pas)"));
            }
            if !sources.iter().any(|s| s.id == x.source) {
                problems.push(format!("{at}, taille {t} : source inconnue « {} »", x.source));
            }
        }
        match p.values.get(i + 1) {
            Some(next) => match m.until {
                None => problems.push(format!("{at} : sans date de fin alors qu'une valeur suit (chevauchement)")),
                Some(u) => {
                    let expected = dates::day_after(u);
                    if expected != Some(next.meta.from) {
                        let kind = if next.meta.from <= u { "chevauchement" } else { "trou" };
                        problems.push(format!(
                            "{at} : {kind} entre le {} et la valeur suivante du {}",
                            dates::fr(u),
                            dates::fr(next.meta.from)
                        ));
                    }
                }
            },
            None => {
                if let Some(u) = m.until {
                    problems.push(format!(
                        "{at} : dernière valeur close au {} : les dates suivantes n'ont pas de valeur (trou)",
                        dates::fr(u)
                    ));
                }
            }
        }
    }
}

/// A parameter that is not given per tier has no per-tier grades.
fn single<T>(name: &str, p: &Param<T>, problems: &mut Vec<String>) {
    for d in p.values.iter().filter(|d| !d.meta.per_tier.is_empty()) {
        problems.push(format!("{name} du {} : grades par taille pour une valeur unique", dates::fr(d.meta.from)));
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissionKind {
    Socle,
    Optional,
}

/// A mission of the catalogue, with its dated parameters.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissionDef {
    pub code: String,
    /// A short name for tables.
    pub short: String,
    pub label: String,
    pub kind: MissionKind,
    /// Whether the mission has a variable part paid on indicators.
    pub variable_part: bool,
    /// Whether the mission pays an extra amount when a crisis is declared.
    #[serde(default)]
    pub activation_part: bool,
    pub available: Param<bool>,
    pub start_delay: Param<Delay>,
    pub deployment_delay: Param<Delay>,
    /// National fixed/variable amounts per tier (article 8): unknown so far.
    pub envelopes: Param<ByTier<Envelope>>,
}

impl MissionDef {
    pub fn available_on(&self, d: Date) -> bool {
        self.available.at(d).and_then(|a| a.entry.value).unwrap_or(false)
    }

    /// First day the mission exists in the texts.
    pub fn available_from(&self) -> Option<Date> {
        self.available.values.iter().find(|v| v.value == Some(true)).map(|v| v.meta.from)
    }
}

/// Every parameter: key, label, and each dated value with its text.
pub type Listing<'a> = Vec<(String, &'a str, Vec<(&'a ValueMeta, String)>)>;

/// Index of a mission in the catalogue.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MissionIdx(pub u8);

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MissionParam {
    Available,
    StartDelay,
    DeploymentDelay,
    Envelopes,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ParamId {
    National(ParamKey),
    Mission(MissionIdx, MissionParam),
}

/// A reference to one dated value used by a computation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParamRef {
    pub id: ParamId,
    pub index: u16,
    /// For a value given per tier, the tier whose value was used (its own grade and source).
    pub tier: Option<Tier>,
}

impl ParamRef {
    pub fn new(id: ParamId, index: u16) -> ParamRef {
        ParamRef { id, index, tier: None }
    }

    /// The same value, only `tier`'s part of it.
    pub fn for_tier(self, tier: Tier) -> ParamRef {
        ParamRef { tier: Some(tier), ..self }
    }
}

/// The (at most two) dated values one explained amount used; no allocation.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Refs([Option<ParamRef>; 2]);

impl Refs {
    pub fn one(r: ParamRef) -> Self {
        Refs([Some(r), None])
    }

    pub fn push(&mut self, r: ParamRef) {
        if let Some(slot) = self.0.iter_mut().find(|s| s.is_none()) {
            *slot = Some(r);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = ParamRef> + '_ {
        self.0.iter().flatten().copied()
    }
}

impl From<Option<ParamRef>> for Refs {
    fn from(r: Option<ParamRef>) -> Self {
        Refs([r, None])
    }
}

/// A dated value as shown to a user: for one tier's value of a per-tier list, that value's
/// own grade, source, reference and note.
#[derive(Debug, Serialize)]
pub struct ParamView<'a> {
    pub key: String,
    pub label: &'a str,
    pub value: String,
    pub meta: &'a ValueMeta,
    pub grade: Grade,
    pub source_id: &'a str,
    pub reference: Option<&'a str>,
    pub note: Option<&'a str>,
    pub source: Option<&'a Source>,
}

/// What a reform file says about itself.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReformInfo {
    pub id: String,
    pub label: String,
    pub grade: Grade,
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReformFile {
    id: String,
    label: String,
    grade: Grade,
    source: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    sources: Vec<Source>,
    parameters: ParamsPatch,
}

/// Rules that failed to load, with every problem found.
#[derive(Debug)]
pub struct RulesError {
    pub file: String,
    pub problems: Vec<String>,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "règles invalides ({}) :", self.file)?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RulesError {}

/// The texts of one rule set: one YAML document per file.
pub struct RuleTexts<'a> {
    pub sources: &'a str,
    pub versions: &'a str,
    pub parameters: &'a str,
    pub missions: &'a str,
}

/// The rule files shipped with cpts (`rules/aci/`), compiled in.
pub const BUILTIN: RuleTexts<'static> = RuleTexts {
    sources: include_str!("../../../../rules/aci/sources.yaml"),
    versions: include_str!("../../../../rules/aci/versions.yaml"),
    parameters: include_str!("../../../../rules/aci/parameters.yaml"),
    missions: include_str!("../../../../rules/aci/missions.yaml"),
};

/// Reform scenarios shipped with cpts (`rules/aci/reforms/`), by id.
pub const BUILTIN_REFORMS: &[(&str, &str)] =
    &[("projet-cnam-2019-04", include_str!("../../../../rules/aci/reforms/projet-cnam-2019-04.yaml"))];

/// A complete, checked set of rules.
#[derive(Clone, Debug)]
pub struct RuleSet {
    pub sources: Vec<Source>,
    pub versions: Vec<Version>,
    pub params: Params,
    pub missions: Vec<MissionDef>,
    /// Set when a reform overlays the rules in force.
    pub reform: Option<ReformInfo>,
    pub reformed: Vec<&'static str>,
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, RulesError> {
    crate::yaml::from_str(text).map_err(|e| RulesError { file: file.to_string(), problems: vec![e.to_string()] })
}

impl RuleSet {
    /// The rules shipped with cpts.
    pub fn builtin() -> Result<RuleSet, RulesError> {
        RuleSet::from_texts(&BUILTIN)
    }

    pub fn from_texts(t: &RuleTexts<'_>) -> Result<RuleSet, RulesError> {
        let rules = RuleSet {
            sources: parse("sources.yaml", t.sources)?,
            versions: parse("versions.yaml", t.versions)?,
            params: parse("parameters.yaml", t.parameters)?,
            missions: parse("missions.yaml", t.missions)?,
            reform: None,
            reformed: Vec::new(),
        };
        rules.validated("rules/aci")
    }

    fn validated(self, file: &str) -> Result<RuleSet, RulesError> {
        let problems = self.check();
        if problems.is_empty() { Ok(self) } else { Err(RulesError { file: file.to_string(), problems }) }
    }

    /// These rules with a reform file's values overlaid.
    pub fn with_reform(&self, file: &str, text: &str) -> Result<RuleSet, RulesError> {
        let reform: ReformFile = parse(file, text).map_err(|mut e| {
            // Not a reform at all (e.g. a system file): name the problem, quote nothing of it.
            if let Some(p) = e.problems.first_mut()
                && (p.contains("attendu une section") || p.contains("clé inconnue"))
                && !p.contains("champ `")
            {
                *p = format!(
                    "ce fichier n'est pas une réforme cpts (attendu id, label, grade, source, parameters) : {p}"
                );
            }
            e
        })?;
        let info = ReformInfo {
            id: reform.id,
            label: reform.label,
            grade: reform.grade,
            source: reform.source,
            note: reform.note,
        };
        let mut rules = self.clone();
        rules.sources.extend(reform.sources);
        if !rules.sources.iter().any(|s| s.id == info.source) {
            return Err(RulesError {
                file: file.to_string(),
                problems: vec![format!("source de la réforme inconnue « {} »", info.source)],
            });
        }
        rules.reformed = rules.params.apply(reform.parameters);
        rules.reform = Some(info);
        rules.validated(file)
    }

    pub fn builtin_reform(&self, id: &str) -> Option<Result<RuleSet, RulesError>> {
        BUILTIN_REFORMS.iter().find(|(i, _)| *i == id).map(|(i, text)| self.with_reform(i, text))
    }

    /// Every problem of the rule data: coverage (no gap, no overlap, open-ended),
    /// grades against values, sources, per-tier lists against the thresholds.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, s) in self.sources.iter().enumerate() {
            if self.sources.iter().skip(i + 1).any(|o| o.id == s.id) {
                problems.push(format!("source « {} » définie deux fois", s.id));
            }
        }
        for v in &self.versions {
            if !self.sources.iter().any(|s| s.id == v.source) {
                problems.push(format!("version {} : source inconnue « {} »", v.id, v.source));
            }
        }
        if !self.versions.windows(2).all(|w| matches!(w, [a, b] if a.in_force < b.in_force)) {
            problems.push("versions : pas dans l'ordre de leur entrée en vigueur".into());
        }
        self.params.check(&self.sources, &mut problems);
        let p = &self.params;
        self.check_tiers("operating_allocation", &p.operating_allocation, &mut problems);
        self.check_tiers("lettre_intention_payment", &p.lettre_intention_payment, &mut problems);
        self.check_tiers("max_total", &p.max_total, &mut problems);
        single("tier_thresholds", &p.tier_thresholds, &mut problems);
        single("tier_at_boundary", &p.tier_at_boundary, &mut problems);
        single("contract_years", &p.contract_years, &mut problems);
        single("advance_rate", &p.advance_rate, &mut problems);
        for t in &p.tier_thresholds.values {
            if let Some(v) = &t.value
                && !v.0.windows(2).all(|w| matches!(w, [a, b] if a < b))
            {
                problems.push(format!("tier_thresholds du {} : seuils non croissants", dates::fr(t.meta.from)));
            }
        }
        for (i, m) in self.missions.iter().enumerate() {
            if self.missions.iter().skip(i + 1).any(|o| o.code == m.code) {
                problems.push(format!("mission « {} » définie deux fois", m.code));
            }
            let name = |p: &str| format!("missions.{}.{p}", m.code);
            check_param(&name("available"), &m.available, &self.sources, &mut problems);
            check_param(&name("start_delay"), &m.start_delay, &self.sources, &mut problems);
            check_param(&name("deployment_delay"), &m.deployment_delay, &self.sources, &mut problems);
            check_param(&name("envelopes"), &m.envelopes, &self.sources, &mut problems);
            self.check_tiers(&name("envelopes"), &m.envelopes, &mut problems);
            single(&name("available"), &m.available, &mut problems);
            single(&name("start_delay"), &m.start_delay, &mut problems);
            single(&name("deployment_delay"), &m.deployment_delay, &mut problems);
        }
        if self.missions.len() > usize::from(u8::MAX) {
            problems.push("trop de missions".into());
        }
        problems
    }

    fn check_tiers<T>(&self, name: &str, p: &Param<ByTier<T>>, problems: &mut Vec<String>) {
        for d in &p.values {
            let Some(v) = &d.value else { continue };
            let tiers =
                self.params.tier_thresholds.at(d.meta.from).and_then(|t| t.entry.value.as_ref()).map(|t| t.0.len() + 1);
            if tiers != Some(v.0.len()) {
                problems.push(format!(
                    "{name} du {} : {} valeurs pour {} tailles",
                    dates::fr(d.meta.from),
                    v.0.len(),
                    tiers.map_or("?".into(), |t| t.to_string())
                ));
            }
            if !d.meta.per_tier.is_empty() && d.meta.per_tier.len() != v.0.len() {
                problems.push(format!(
                    "{name} du {} : {} grades par taille pour {} valeurs",
                    dates::fr(d.meta.from),
                    d.meta.per_tier.len(),
                    v.0.len()
                ));
            }
        }
    }

    /// First day of the ACI (the earliest version in force).
    pub fn aci_start(&self) -> Option<Date> {
        self.versions.first().map(|v| v.in_force)
    }

    pub fn version_at(&self, d: Date) -> Option<&Version> {
        self.versions.iter().rev().find(|v| v.in_force <= d)
    }

    pub fn mission(&self, idx: MissionIdx) -> Option<&MissionDef> {
        self.missions.get(usize::from(idx.0))
    }

    pub fn mission_by_code(&self, code: &str) -> Option<MissionIdx> {
        self.missions.iter().position(|m| m.code == code).and_then(|i| u8::try_from(i).ok()).map(MissionIdx)
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// The dated value behind a reference, for display.
    pub fn view(&self, r: ParamRef) -> Option<ParamView<'_>> {
        let (key, (label, value, meta)) = match r.id {
            ParamId::National(k) => (k.name().to_string(), self.params.view(k, r.index, r.tier)?),
            ParamId::Mission(m, which) => {
                let def = self.mission(m)?;
                let (name, v) = match which {
                    MissionParam::Available => ("available", view_of(&def.available, r.index, r.tier)),
                    MissionParam::StartDelay => ("start_delay", view_of(&def.start_delay, r.index, r.tier)),
                    MissionParam::DeploymentDelay => ("deployment_delay", view_of(&def.deployment_delay, r.index, r.tier)),
                    MissionParam::Envelopes => ("envelopes", view_of(&def.envelopes, r.index, r.tier)),
                };
                (format!("missions.{}.{name}", def.code), v?)
            }
        };
        let part = r.tier.and_then(|t| meta.part(t));
        let source_id = part.map_or(meta.source.as_str(), |p| p.source.as_str());
        Some(ParamView {
            key,
            label,
            value,
            meta,
            grade: part.map_or(meta.grade, |p| p.grade),
            source_id,
            // A tier's own source has its own reference (the entry's names a place in another text).
            reference: part.map_or(meta.reference.as_deref(), |p| p.reference.as_deref()),
            note: part.and_then(|p| p.note.as_deref()).or(meta.note.as_deref()),
            source: self.source(source_id),
        })
    }

    /// Every dated value of the rules, for listings (`cpts funding rules`).
    pub fn listing(&self) -> Listing<'_> {
        let mut out: Vec<_> = self.params.listing().into_iter().map(|(k, l, v)| (k.to_string(), l, v)).collect();
        for m in &self.missions {
            out.push((format!("missions.{}.available", m.code), &m.available.label, values_of(&m.available)));
            out.push((format!("missions.{}.start_delay", m.code), &m.start_delay.label, values_of(&m.start_delay)));
            out.push((
                format!("missions.{}.deployment_delay", m.code),
                &m.deployment_delay.label,
                values_of(&m.deployment_delay),
            ));
            out.push((format!("missions.{}.envelopes", m.code), &m.envelopes.label, values_of(&m.envelopes)));
        }
        out
    }
}
