//! Explanations: what the engine records for every amount (structured, cheap),
//! and their rendering in French for users (only when shown).

use std::fmt;

use jiff::civil::Date;
use serde::Serialize;

use crate::contract::{Contract, PayoutRule};
use crate::dates::{self, fr};
use crate::money::Cents;
use crate::money::group_thousands;
use crate::rate::{Dec, Fraction};
use crate::rules::{Grade, MissionIdx, Refs, RuleSet, Tier};

/// How a result that was not entered reads, in every table and explanation: it counts at its
/// baseline (0 %), and is never shown as if the baseline had been reported.
pub const NOT_ENTERED: &str = "non saisie";

/// What an amount is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    LettreIntention,
    Operating,
    Fixed(MissionIdx),
    Variable(MissionIdx),
    Activation(MissionIdx),
}

impl Component {
    /// Stable machine code, e.g. `operating`, `acces_soins.fixed`.
    pub fn code(self, rules: &RuleSet) -> String {
        let m = |i: MissionIdx| rules.mission(i).map_or("?", |d| d.code.as_str()).to_string();
        match self {
            Component::LettreIntention => "lettre_intention".into(),
            Component::Operating => "operating".into(),
            Component::Fixed(i) => format!("{}.fixed", m(i)),
            Component::Variable(i) => format!("{}.variable", m(i)),
            Component::Activation(i) => format!("{}.activation", m(i)),
        }
    }

    /// The component of a `code` (its inverse), without building every code to compare.
    pub fn from_code(rules: &RuleSet, code: &str) -> Option<Component> {
        match code {
            "lettre_intention" => Some(Component::LettreIntention),
            "operating" => Some(Component::Operating),
            _ => {
                let (mission, part) = code.rsplit_once('.')?;
                let i = MissionIdx(u8::try_from(rules.missions.iter().position(|d| d.code == mission)?).ok()?);
                match part {
                    "fixed" => Some(Component::Fixed(i)),
                    "variable" => Some(Component::Variable(i)),
                    "activation" => Some(Component::Activation(i)),
                    _ => None,
                }
            }
        }
    }

    pub fn label(self, rules: &RuleSet) -> String {
        let m = |i: MissionIdx| rules.mission(i).map_or("?", |d| d.short.as_str()).to_string();
        match self {
            Component::LettreIntention => "Validation de la lettre d'intention".into(),
            Component::Operating => "Fonctionnement".into(),
            Component::Fixed(i) => format!("{} – part fixe", m(i)),
            Component::Variable(i) => format!("{} – part variable", m(i)),
            Component::Activation(i) => format!("{} – activation (crise déclarée)", m(i)),
        }
    }
}

/// A part of a year counted in days.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Prorata {
    pub from: Date,
    /// End, exclusive.
    pub to: Date,
    pub days: i64,
    pub year_days: i64,
}

impl Prorata {
    pub fn is_full(&self) -> bool {
        self.days == self.year_days
    }
}

/// Why a component's envelope has the amount it has.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EnvelopeOrigin {
    /// Typed from the signed contract (the national figure is unknown).
    Contract,
    /// The national grid.
    National,
    /// Changed by an amendment to the contract, effective on that date.
    Amendment { effective: Date },
}

impl EnvelopeOrigin {
    /// Typed from the signed contract or one of its amendments (not the national grid).
    pub fn is_contract(self) -> bool {
        !matches!(self, EnvelopeOrigin::National)
    }
}

#[derive(Clone, Debug)]
pub struct IndicatorTrace {
    /// Index of the objective in the contract mission (names are read when rendering).
    pub objective: u16,
    pub baseline: Dec,
    pub target: Dec,
    pub value: Option<Dec>,
    pub rule: PayoutRule,
    pub weight: Fraction,
    pub achievement: Fraction,
    pub amount: Cents,
}

/// The numbers behind an amount.
#[derive(Clone, Debug)]
pub enum Detail {
    /// A yearly amount, possibly pro-rated (operating allocation, fixed part).
    Yearly { annual: Cents, origin: EnvelopeOrigin, prorata: Prorata, tier: Tier },
    /// The mission has not started (yet) in this year.
    NotStarted { deadline: Option<Date> },
    /// Envelope × weighted achievement (× pro-rata).
    Variable {
        envelope: Cents,
        origin: EnvelopeOrigin,
        prorata: Prorata,
        /// Σ weight × achievement, in 10⁻⁹.
        achievement: Fraction,
        hypothesis: bool,
        /// Range of this line's records in `Explanation::indicators`.
        indicators: std::ops::Range<u32>,
    },
    /// Crisis activation: paid when a crisis is declared and the plan exists.
    Activation { envelope: Option<Cents>, origin: EnvelopeOrigin, plan: bool, declared: bool },
    /// One-off amount on a date.
    OneOff { date: Date, tier: Tier },
}

/// Marks users must see next to an amount.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Flags {
    /// A value from a secondary source [S] was used.
    pub secondary: bool,
    /// A figure unknown nationally [U] was taken from the contract.
    pub contract_typed: bool,
    /// A convention of cpts where the texts are silent.
    pub convention: bool,
    /// A hypothesis (results not yet reported: 100 % assumed).
    pub hypothesis: bool,
}

impl Flags {
    pub fn merge(self, o: Flags) -> Flags {
        Flags {
            secondary: self.secondary || o.secondary,
            contract_typed: self.contract_typed || o.contract_typed,
            convention: self.convention || o.convention,
            hypothesis: self.hypothesis || o.hypothesis,
        }
    }

    pub fn labels(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.secondary {
            v.push("source secondaire [S]");
        }
        if self.contract_typed {
            v.push("montant du contrat (national inconnu [U])");
        }
        if self.convention {
            v.push("convention cpts");
        }
        if self.hypothesis {
            v.push("hypothèse");
        }
        v
    }
}

/// One explained amount.
#[derive(Clone, Debug)]
pub struct Line {
    pub year: u8,
    pub component: Component,
    pub amount: Cents,
    pub detail: Detail,
    pub params: Refs,
    pub flags: Flags,
}

/// Something a user should know that is not an amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    LateStart {
        mission: MissionIdx,
        start: Date,
        deadline: Date,
    },
    NotStartedPastDeadline {
        mission: MissionIdx,
        deadline: Date,
    },
    MissingSocle {
        mission: MissionIdx,
        on: Date,
    },
    AboveNationalMaximum {
        year: u8,
        tier: Tier,
        total: Cents,
        maximum: Cents,
    },
    NationalMaximumUnknown {
        year: u8,
        tier: Tier,
    },
    Hypothesis {
        year: u8,
    },
    ContractEnvelopeDiffers {
        mission: MissionIdx,
        contract: Cents,
        national: Cents,
    },
    CrisisWithoutPlan {
        year: u8,
    },
    /// A value used changes during the year; the year keeps the value of its first day.
    RuleChangesWithinYear {
        year: u8,
        on: Date,
    },
    /// A contract amendment takes effect during the year; it applies from the next year.
    AmendmentWithinYear {
        year: u8,
        on: Date,
    },
}

impl Warning {
    pub fn text(&self, rules: &RuleSet) -> String {
        let m = |i: &MissionIdx| rules.mission(*i).map_or("?", |d| d.label.as_str()).to_string();
        match self {
            Warning::LateStart { mission, start, deadline } => format!(
                "Démarrage tardif : « {} » a démarré le {}, après l'échéance du {} (risque de résiliation ; la part fixe n'est due qu'à partir du démarrage).",
                m(mission),
                fr(*start),
                fr(*deadline)
            ),
            Warning::NotStartedPastDeadline { mission, deadline } => {
                format!("« {} » n'a pas démarré alors que l'échéance du {} est passée.", m(mission), fr(*deadline))
            }
            Warning::MissingSocle { mission, on } => format!(
                "Mission socle « {} » absente du contrat (obligatoire dans l'ACI en vigueur au {}).",
                rules.mission(*mission).map_or("?", |d| d.code.as_str()),
                fr(*on)
            ),
            Warning::AboveNationalMaximum { year, tier, total, maximum } => format!(
                "Année {year} : à 100 % des objectifs, le contrat atteindrait {total}, au-delà du maximum national connu pour la {tier} ({maximum}). Vérifiez les enveloppes saisies."
            ),
            Warning::NationalMaximumUnknown { year, tier } => format!(
                "Année {year} : pas de maximum national connu pour la {tier} à cette date [U] ; les enveloppes du contrat ne peuvent pas être contrôlées."
            ),
            Warning::Hypothesis { year } => format!(
                "Année {year} : résultats des indicateurs non saisis ; la part variable est calculée dans l'hypothèse de 100 % des objectifs atteints."
            ),
            Warning::ContractEnvelopeDiffers { mission, contract, national } => format!(
                "« {} » : l'enveloppe du contrat ({contract}) diffère du montant national ({national}).",
                m(mission)
            ),
            Warning::RuleChangesWithinYear { year, on } => format!(
                "Année {year} : la dotation de fonctionnement change le {} ; l'année garde la valeur en vigueur à son premier jour (convention cpts, à confirmer avec la CPAM).",
                fr(*on)
            ),
            Warning::AmendmentWithinYear { year, on } => format!(
                "Année {year} : un avenant au contrat prend effet le {} ; l'année garde les termes en vigueur à son premier jour, l'avenant s'applique à partir de l'année suivante (convention cpts, à confirmer avec la CPAM).",
                fr(*on)
            ),
            Warning::CrisisWithoutPlan { year } => format!(
                "Année {year} : crise déclarée mais pas de plan de crise : le montant d'activation n'est pas dû."
            ),
        }
    }
}

/// How the tier was found.
#[derive(Clone, Debug)]
pub struct TierTrace {
    pub population: u64,
    pub tier: Tier,
    /// Index of the thresholds' dated value (read when rendering).
    pub thresholds: u16,
    pub at_boundary: bool,
    pub params: Refs,
    pub date: Date,
}

impl TierTrace {
    pub fn text(&self, rules: &RuleSet, contract: &Contract) -> String {
        let th: Vec<String> = rules
            .params
            .tier_thresholds
            .values
            .get(usize::from(self.thresholds))
            .and_then(|v| v.value.as_ref())
            .map(|t| t.0.iter().map(|x| group_thousands(*x)).collect())
            .unwrap_or_default();
        let mut s = format!(
            "Population couverte {} habitants{} ; seuils en vigueur au {} : {} → {}.",
            group_thousands(self.population),
            contract.population_source.as_deref().map(|p| format!(" ({p})")).unwrap_or_default(),
            fr(self.date),
            th.join(" / "),
            self.tier
        );
        if self.at_boundary {
            s.push_str(
                " Population égale à un seuil : taille choisie d'après le contrat (règle nationale inconnue [U]).",
            );
        }
        s
    }
}

/// The full explanation of a computation: flat records, so that a buffer reused
/// with `clear` explains year after year without allocating.
#[derive(Clone, Debug, Default)]
pub struct Explanation {
    pub tiers: Vec<TierTrace>,
    pub lines: Vec<Line>,
    pub indicators: Vec<IndicatorTrace>,
    pub warnings: Vec<Warning>,
}

impl Explanation {
    /// Empty the records, keeping the memory.
    pub fn clear(&mut self) {
        self.tiers.clear();
        self.lines.clear();
        self.indicators.clear();
        self.warnings.clear();
    }

    pub fn indicators_of(&self, r: &std::ops::Range<u32>) -> &[IndicatorTrace] {
        let (a, b) = (usize::try_from(r.start).unwrap_or(0), usize::try_from(r.end).unwrap_or(0));
        self.indicators.get(a..b).unwrap_or(&[])
    }
}

fn prorata_text(p: &Prorata) -> String {
    format!(
        " × {}/{} jours (du {} au {})",
        p.days,
        p.year_days,
        fr(p.from),
        dates::day_before(p.to).map(fr).unwrap_or_default()
    )
}

fn origin_text(o: EnvelopeOrigin) -> String {
    match o {
        EnvelopeOrigin::Contract => "enveloppe annuelle du contrat signé".into(),
        EnvelopeOrigin::National => "montant national".into(),
        EnvelopeOrigin::Amendment { effective } => {
            format!("enveloppe annuelle de l'avenant au contrat du {}", fr(effective))
        }
    }
}

impl Line {
    /// The formula in words, in French (names of indicators come from the contract).
    pub fn text(&self, contract: &Contract, ex: &Explanation) -> String {
        match &self.detail {
            Detail::Yearly { annual, origin, prorata, tier } => {
                let what = match self.component {
                    Component::Operating => format!("Dotation annuelle de fonctionnement de la {tier} : {annual}"),
                    _ => format!("Part fixe, {} : {annual} par an", origin_text(*origin)),
                };
                if prorata.is_full() {
                    format!("{what}, année complète = {}.", self.amount)
                } else {
                    format!("{what}{} = {}.", prorata_text(prorata), self.amount)
                }
            }
            Detail::NotStarted { deadline } => match deadline {
                Some(d) => format!(
                    "Mission non démarrée sur cette année : rien n'est dû (échéance de démarrage : {}).",
                    fr(*d)
                ),
                None => "Mission non démarrée sur cette année : rien n'est dû (calendrier libre).".into(),
            },
            Detail::Variable { envelope, origin, prorata, achievement, hypothesis, indicators } => {
                let mut s = format!("Part variable, {} : {envelope}", origin_text(*origin));
                if !prorata.is_full() {
                    s.push_str(&prorata_text(prorata));
                }
                if *hypothesis {
                    s.push_str(&format!(" × 100 % (hypothèse : résultats non saisis) = {}.", self.amount));
                    return s;
                }
                s.push_str(&format!(" × taux d'atteinte pondéré {achievement} = {}.", self.amount));
                let objectives = match self.component {
                    Component::Variable(m) => {
                        contract.missions.iter().find(|cm| cm.mission == m).map(|cm| cm.objectives.as_slice())
                    }
                    _ => None,
                };
                for i in ex.indicators_of(indicators) {
                    let o = objectives.and_then(|os| os.get(usize::from(i.objective)));
                    let name = o.map_or("?", |o| o.label.as_deref().unwrap_or(&o.indicator));
                    let value =
                        i.value.map_or_else(|| format!("{NOT_ENTERED} (comptée à sa référence)"), |v| v.to_string());
                    s.push_str(&format!(
                        " « {name} » : valeur {value}, référence {}, cible {} ({}) → atteinte {}, poids {} → {}.",
                        i.baseline,
                        i.target,
                        i.rule.label_fr(),
                        i.achievement,
                        i.weight,
                        i.amount
                    ));
                }
                s
            }
            Detail::Activation { envelope, plan, declared, .. } => match (declared, plan, envelope) {
                (false, _, _) => "Pas de crise déclarée cette année : pas de montant d'activation.".into(),
                (true, false, _) => "Crise déclarée, mais pas de plan de crise : pas de montant d'activation.".into(),
                (true, true, Some(e)) => format!(
                    "Crise déclarée et plan de crise en place : montant d'activation du contrat {e}, versé en entier = {}.",
                    self.amount
                ),
                (true, true, None) => "Crise déclarée : montant d'activation inconnu.".into(),
            },
            Detail::OneOff { date, tier } => format!(
                "Versement unique à la validation de la lettre d'intention par l'ARS le {} ({tier}) = {}.",
                fr(*date),
                self.amount
            ),
        }
    }
}

/// A used value, as shown.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceView {
    pub parameter: String,
    pub label: String,
    pub value: String,
    pub grade: Grade,
    pub from: Date,
    pub until: Option<Date>,
    pub source: String,
    pub source_title: Option<String>,
    pub source_short: Option<String>,
    pub reference: Option<String>,
    pub url: Option<String>,
    pub note: Option<String>,
    pub checked: Date,
}

impl SourceView {
    pub fn collect(rules: &RuleSet, refs: &Refs) -> Vec<SourceView> {
        refs.iter()
            .filter_map(|r| rules.view(r))
            .map(|v| SourceView {
                parameter: v.key,
                label: v.label.to_string(),
                value: v.value,
                grade: v.grade,
                from: v.meta.from,
                until: v.meta.until,
                source: v.source_id.to_string(),
                source_title: v.source.map(|s| s.title.clone()),
                source_short: v.source.map(|s| s.short.clone()),
                reference: v.reference.map(str::to_string),
                url: v.source.and_then(|s| s.url.clone()),
                note: v.note.map(str::to_string),
                checked: v.meta.checked,
            })
            .collect()
    }
}

impl fmt::Display for SourceView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} = {} — {}",
            self.grade,
            self.label,
            self.value,
            self.source_short.as_deref().unwrap_or(&self.source)
        )?;
        if let Some(r) = &self.reference {
            write!(f, ", {r}")?;
        }
        write!(f, " (en vigueur du {}", fr(self.from))?;
        if let Some(u) = self.until {
            write!(f, " au {}", fr(u))?;
        }
        write!(f, ", vérifié le {})", fr(self.checked))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_component_code_reads_back_to_its_component() {
        let rules = RuleSet::builtin().unwrap();
        let mut all = vec![Component::LettreIntention, Component::Operating];
        for i in 0..u8::try_from(rules.missions.len()).unwrap() {
            let m = MissionIdx(i);
            all.extend([Component::Fixed(m), Component::Variable(m), Component::Activation(m)]);
        }
        for c in all {
            assert_eq!(Component::from_code(&rules, &c.code(&rules)), Some(c), "{}", c.code(&rules));
        }
        assert_eq!(Component::from_code(&rules, "inconnu.fixed"), None);
        assert_eq!(Component::from_code(&rules, "acces_soins.autre"), None);
    }
}
