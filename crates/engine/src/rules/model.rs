//! The shapes of rule data: sources, grades, dated values, parameters.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize};

use crate::money::{Cents, group_thousands};
use crate::rate::{Dec, Fraction};

/// Confidence grade of a value (see `rules/aci/README.md`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Grade {
    /// Primary or official source.
    P,
    /// Secondary source.
    S,
    /// Unknown: no value; the user supplies it.
    U,
}

impl Grade {
    pub fn label_fr(self) -> &'static str {
        match self {
            Grade::P => "source officielle",
            Grade::S => "source secondaire",
            Grade::U => "inconnu",
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grade::P => "[P]",
            Grade::S => "[S]",
            Grade::U => "[U]",
        })
    }
}

/// A text a value comes from.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub id: String,
    /// A short name for listings.
    pub short: String,
    pub title: String,
    #[serde(default)]
    pub publisher: Option<String>,
    #[serde(default)]
    pub date: Option<Date>,
    #[serde(default)]
    pub url: Option<String>,
    pub grade: Grade,
    #[serde(default)]
    pub note: Option<String>,
}

/// A version of the agreement (the ACI, an avenant).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    pub id: String,
    pub label: String,
    pub signed: Date,
    pub in_force: Date,
    pub source: String,
    pub grade: Grade,
    #[serde(default)]
    pub note: Option<String>,
}

/// Everything known about one dated value except the value itself.
#[derive(Clone, Debug, Serialize)]
pub struct ValueMeta {
    pub from: Date,
    /// Last day of validity (inclusive); `None` while in force.
    pub until: Option<Date>,
    pub grade: Grade,
    pub source: String,
    /// Article, section or page of the source.
    pub reference: Option<String>,
    pub note: Option<String>,
    /// When a person last checked this value against its source.
    pub checked: Date,
    /// Per-tier values whose grades or sources differ: one entry per tier, each value's own
    /// grade and source (empty: the grade and source above hold for every value). The grade
    /// above is then the weakest of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_tier: Vec<PartMeta>,
}

/// One value's own grade and source inside a per-tier list.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartMeta {
    pub grade: Grade,
    pub source: String,
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl ValueMeta {
    pub fn covers(&self, d: Date) -> bool {
        self.from <= d && self.until.is_none_or(|u| d <= u)
    }

    /// The grade of the value used for `tier` (the entry's grade when values share it).
    pub fn grade_for(&self, tier: Tier) -> Grade {
        self.part(tier).map_or(self.grade, |p| p.grade)
    }

    /// The tier's own grade and source, when the entry grades its values one by one.
    pub fn part(&self, tier: Tier) -> Option<&PartMeta> {
        usize::from(tier.0).checked_sub(1).and_then(|i| self.per_tier.get(i))
    }
}

/// One dated value of a parameter; `value` is `None` exactly when the grade is [U].
#[derive(Clone, Debug)]
pub struct Dated<T> {
    pub meta: ValueMeta,
    pub value: Option<T>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDated<T> {
    from: Date,
    #[serde(default)]
    until: Option<Date>,
    #[serde(default = "none")]
    value: Option<T>,
    grade: Grade,
    source: String,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    note: Option<String>,
    checked: Date,
    #[serde(default)]
    per_tier: Vec<PartMeta>,
}

fn none<T>() -> Option<T> {
    None
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Dated<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = RawDated::<T>::deserialize(d)?;
        Ok(Dated {
            meta: ValueMeta {
                from: r.from,
                until: r.until,
                grade: r.grade,
                source: r.source,
                reference: r.reference,
                note: r.note,
                checked: r.checked,
                per_tier: r.per_tier,
            },
            value: r.value,
        })
    }
}

/// A parameter: a label and its dated values, ordered, without gap or overlap.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param<T> {
    pub label: String,
    #[serde(default)]
    pub note: Option<String>,
    pub values: Vec<Dated<T>>,
}

/// The value of a parameter on a date, with where it sits in the parameter.
#[derive(Debug)]
pub struct AtDate<'a, T> {
    pub index: u16,
    pub entry: &'a Dated<T>,
}

impl<T> Param<T> {
    /// The entry covering `d`, if any.
    pub fn at(&self, d: Date) -> Option<AtDate<'_, T>> {
        // Entries are few (one per version): a reverse scan beats a search.
        self.values
            .iter()
            .enumerate()
            .rev()
            .find(|(_, v)| v.meta.covers(d))
            .and_then(|(i, entry)| u16::try_from(i).ok().map(|index| AtDate { index, entry }))
    }

    pub fn metas(&self) -> impl Iterator<Item = &ValueMeta> {
        self.values.iter().map(|v| &v.meta)
    }

    pub fn start(&self) -> Option<Date> {
        self.values.first().map(|v| v.meta.from)
    }
}

/// Values that can be shown to users, in French.
pub trait ShowValue {
    fn show(&self) -> String;

    /// The one value of `tier`, for a value given per tier.
    fn show_tier(&self, _tier: Tier) -> Option<String> {
        None
    }
}

impl ShowValue for Cents {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl ShowValue for u32 {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl ShowValue for bool {
    fn show(&self) -> String {
        if *self { "oui".into() } else { "non".into() }
    }
}

impl ShowValue for Dec {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl<T: ShowValue> ShowValue for Option<T> {
    fn show(&self) -> String {
        match self {
            Some(v) => v.show(),
            None => "inconnu".into(),
        }
    }

    fn show_tier(&self, tier: Tier) -> Option<String> {
        self.as_ref().and_then(|v| v.show_tier(tier))
    }
}

/// A percentage parameter (for example the advance rate).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Percent(pub Fraction);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let dec = Dec::deserialize(d)?;
        Fraction::from_percent(dec).map(Percent).map_err(serde::de::Error::custom)
    }
}

impl ShowValue for Percent {
    fn show(&self) -> String {
        self.0.to_string()
    }
}

/// Population thresholds between tiers, ascending (3 thresholds → 4 tiers).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Thresholds(pub Vec<u64>);

impl ShowValue for Thresholds {
    fn show(&self) -> String {
        self.0.iter().map(|t| group_thousands(*t)).collect::<Vec<_>>().join(" / ")
    }
}

/// Size tier, 1-based (taille 1 … taille 4 under the ACI).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tier(pub u8);

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "taille {}", self.0)
    }
}

/// One value per tier, listed from tier 1.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ByTier<T>(pub Vec<T>);

impl<T> ByTier<T> {
    pub fn get(&self, tier: Tier) -> Option<&T> {
        usize::from(tier.0).checked_sub(1).and_then(|i| self.0.get(i))
    }
}

impl<T: ShowValue> ShowValue for ByTier<T> {
    fn show(&self) -> String {
        self.0
            .iter()
            .enumerate()
            .map(|(i, v)| format!("taille {} : {}", i + 1, v.show()))
            .collect::<Vec<_>>()
            .join(" ; ")
    }

    fn show_tier(&self, tier: Tier) -> Option<String> {
        self.get(tier).map(|v| format!("{tier} : {}", v.show()))
    }
}

/// A deadline counted from the signature, or none (the CPTS chooses).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Delay {
    Months(u32),
    Free,
}

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Months(u32),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Months(m) => Ok(Delay::Months(m)),
            Raw::Word(w) if w == "libre" => Ok(Delay::Free),
            Raw::Word(w) => {
                Err(serde::de::Error::custom(format!("délai « {w} » : attendu un nombre de mois ou « libre »")))
            }
        }
    }
}

impl ShowValue for Delay {
    fn show(&self) -> String {
        match self {
            Delay::Months(m) => format!("{m} mois après la signature"),
            Delay::Free => "libre (au choix de la CPTS)".into(),
        }
    }
}

/// A mission's national envelopes for one tier (the grid of article 8).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub fixed: Cents,
    #[serde(default)]
    pub variable: Option<Cents>,
    #[serde(default)]
    pub activation: Option<Cents>,
}

impl ShowValue for Envelope {
    fn show(&self) -> String {
        let mut s = format!("fixe {}", self.fixed);
        if let Some(v) = self.variable {
            s.push_str(&format!(", variable {v}"));
        }
        if let Some(a) = self.activation {
            s.push_str(&format!(", activation {a}"));
        }
        s
    }
}
