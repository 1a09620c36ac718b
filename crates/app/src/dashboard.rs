//! The tableau de bord of a scope: its CPTS by stage, the population they cover against the
//! scope's population (per département, for the map), the money, and the alerts. One list and
//! one alerts read (set-based), then sums in memory.

use std::collections::{BTreeMap, BTreeSet};

use cpts_domain::geo::{Geo, Kind};
use cpts_domain::ids::InseeCode;
use cpts_domain::lifecycle::Stage;
use cpts_store::{MoneyRow, MoneyTotals};
use jiff::civil::Date;

use crate::national::{CptsAlerts, ListEntry};
use crate::policy::{Principal, Scope};
use crate::{App, Result};

/// The horizon of « à venir » alerts on the dashboard and the alerts lists, in days.
pub const ALERT_HORIZON_DAYS: i64 = 30;

/// The stages as the ARS follow them (their deck groups the lifecycle so).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageGroup {
    Interest,
    Formalisation,
    Phase1,
    /// Projet de santé validated: the contract is to be signed.
    Joining,
    Signed,
    Ended,
}

impl StageGroup {
    pub const ALL: [StageGroup; 6] = [
        StageGroup::Signed,
        StageGroup::Joining,
        StageGroup::Phase1,
        StageGroup::Formalisation,
        StageGroup::Interest,
        StageGroup::Ended,
    ];

    pub fn of(stage: Stage) -> StageGroup {
        match stage {
            Stage::Interest => StageGroup::Interest,
            Stage::Formalisation | Stage::LetterValidated => StageGroup::Formalisation,
            Stage::Phase1 | Stage::ProjectSubmitted => StageGroup::Phase1,
            Stage::ProjectValidated => StageGroup::Joining,
            Stage::Signed | Stage::Renewed => StageGroup::Signed,
            Stage::Terminated | Stage::Expired => StageGroup::Ended,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            StageGroup::Interest => "interet",
            StageGroup::Formalisation => "formalisation",
            StageGroup::Phase1 => "phase-1",
            StageGroup::Joining => "adhesion",
            StageGroup::Signed => "signe",
            StageGroup::Ended => "termine",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StageGroup::Interest => "déclaration d'intérêt",
            StageGroup::Formalisation => "en formalisation (lettre d'intention)",
            StageGroup::Phase1 => "phase 1 (diagnostic, projet de santé)",
            StageGroup::Joining => "projet validé, contrat à signer",
            StageGroup::Signed => "contrat ACI signé",
            StageGroup::Ended => "contrat résilié ou échu",
        }
    }

    pub fn from_code(s: &str) -> Option<StageGroup> {
        StageGroup::ALL.into_iter().find(|g| g.code() == s)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageCount {
    pub cpts: usize,
    pub population: u64,
}

/// One département of the scope: its population and how much of it the CPTS cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AreaCoverage {
    pub code: String,
    pub name: String,
    pub region: String,
    pub population: u64,
    pub covered: u64,
    pub cpts: usize,
}

#[derive(Clone, Debug)]
pub struct Dashboard {
    pub on: Date,
    pub cpts: std::sync::Arc<Vec<ListEntry>>,
    /// CPTS and their population by stage group; `None`: no lifecycle recorded.
    pub by_stage: BTreeMap<Option<StageGroup>, StageCount>,
    pub departements: Vec<AreaCoverage>,
    pub money: MoneyTotals,
    /// The money by funder and by part of the contract.
    pub by_source: Vec<MoneyRow>,
    pub alerts: std::sync::Arc<Vec<CptsAlerts>>,
}

impl Dashboard {
    pub fn population(&self) -> u64 {
        self.departements.iter().map(|d| d.population).sum()
    }

    /// Inhabitants living on a commune of at least one CPTS (counted once).
    pub fn covered(&self) -> u64 {
        self.departements.iter().map(|d| d.covered).sum()
    }
}

/// Overseas collectivities with their own health insurance (Polynésie française, Nouvelle-
/// Calédonie, Wallis-et-Futuna) and uninhabited ones (TAAF, Clipperton): outside the ACI, so
/// outside the population a national scope is measured against.
fn outside_aci(code: &str) -> bool {
    matches!(code, "984" | "986" | "987" | "988" | "989")
}

/// The départements a principal's grants look at: theirs, those of their région, those of
/// their CPTS, or all of them.
fn scope_departements(p: &Principal, geo: &Geo, cpts: &[ListEntry]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for g in &p.grants {
        match &g.scope {
            Scope::National => return geo.departements().map(|d| d.0.to_owned()).filter(|d| !outside_aci(d)).collect(),
            Scope::Departement(d) => {
                out.insert(d.clone());
            }
            Scope::Region(r) => out.extend(geo.departements().filter(|d| d.2 == r).map(|d| d.0.to_owned())),
            Scope::Cpts(id) => {
                for e in cpts.iter().filter(|e| &e.cpts.record.id == id) {
                    if let Ok(s) = &e.cpts.summary {
                        out.extend(s.departements.iter().cloned());
                    }
                }
            }
        }
    }
    out
}

/// Population and covered population per département. A city with arrondissements counts
/// once: its own population, or its covered arrondissements.
fn coverage(geo: &Geo, departements: &BTreeSet<String>, cpts: &[ListEntry]) -> Vec<AreaCoverage> {
    let mut covered: BTreeSet<&InseeCode> = BTreeSet::new();
    let mut count: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in cpts {
        for code in &e.cpts.record.territory.communes {
            covered.insert(code);
            if let Some(c) = geo.commune(code) {
                count.entry(c.departement.as_str()).or_default().insert(e.cpts.record.id.as_str());
            }
        }
    }
    let mut out: BTreeMap<&str, AreaCoverage> = geo
        .departements()
        .filter(|d| departements.contains(d.0))
        .map(|(code, name, region)| {
            let cpts = count.get(code).map_or(0, BTreeSet::len);
            (code, AreaCoverage { code: code.into(), name: name.into(), region: region.into(), population: 0, covered: 0, cpts })
        })
        .collect();
    for c in geo.communes() {
        let Some(d) = out.get_mut(c.departement.as_str()) else { continue };
        let pop = c.population.unwrap_or(0);
        match (&c.kind, &c.parent) {
            (Kind::Arrondissement, Some(city)) => {
                // Counted through its city, unless the city itself is not covered.
                if covered.contains(&c.code) && !covered.contains(city) {
                    d.covered += pop;
                }
            }
            _ => {
                d.population += pop;
                if covered.contains(&c.code) {
                    d.covered += pop;
                }
            }
        }
    }
    out.into_values().collect()
}

impl App {
    /// The tableau de bord of everything `p` may read, on `on`, with alerts within `days`.
    pub async fn dashboard(&self, p: &Principal, on: Date, days: i64) -> Result<std::sync::Arc<Dashboard>> {
        let visible = p.visible(crate::policy::Action::Read);
        self.cached(format!("dashboard|{visible:?}|{on}|{days}"), || self.compute_dashboard(p, on, days)).await
    }

    async fn compute_dashboard(&self, p: &Principal, on: Date, days: i64) -> Result<Dashboard> {
        let cpts = self.list(p, on).await?;
        let alerts = self.alerts(p, None, days, on).await?;
        let mut by_stage: BTreeMap<Option<StageGroup>, StageCount> = BTreeMap::new();
        let mut money = MoneyTotals::default();
        for e in cpts.iter() {
            let s = by_stage.entry(e.stage.map(|(s, _)| StageGroup::of(s))).or_default();
            s.cpts += 1;
            s.population += e.cpts.summary.as_ref().map_or(0, |t| t.population);
            money.planned += e.money.planned;
            money.paid += e.money.paid;
        }
        let departements = coverage(&self.geo, &scope_departements(p, &self.geo, &cpts), &cpts);
        let visible = p.visible(crate::Action::Read);
        let per_cpts = self
            .cached_per_cpts(format!("money|{visible:?}|{on}"), &visible, |v| async move { Ok(self.store.money_by_source(&v, on).await?) })
            .await?;
        let by_source = summed(&per_cpts);
        Ok(Dashboard { on, cpts, by_stage, departements, money, by_source, alerts })
    }
}

/// The money of every CPTS, summed by funder and part of the contract (in that order).
fn summed(per_cpts: &[cpts_store::CptsMoney]) -> Vec<MoneyRow> {
    let mut sums: BTreeMap<(String, Option<String>), MoneyRow> = BTreeMap::new();
    for r in per_cpts.iter().flat_map(|c| &c.rows) {
        let s = sums.entry((r.funder.clone(), r.component.clone())).or_insert_with(|| MoneyRow { planned: 0, past_due: 0, paid: 0, ..r.clone() });
        s.planned += r.planned;
        s.past_due += r.past_due;
        s.paid += r.paid;
    }
    sums.into_values().collect()
}

impl crate::cache::PerCpts for cpts_store::CptsMoney {
    fn cpts_id(&self) -> &str {
        &self.cpts_id
    }
}
