//! National read models: the CPTS list and the alerts over a principal's whole scope, read in
//! a fixed number of queries (the store filters by scope in SQL), then computed in memory.

use std::cmp::Ordering;

use cpts_domain::alerts;
use cpts_domain::calendar::Alert;
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::Stage;
use cpts_domain::registry::natural_cmp;
use cpts_store::{CptsRecord, MoneyTotals, Visible};
use jiff::civil::Date;

use crate::policy::{Action, Principal};
use crate::registry::CptsSummary;
use crate::{App, AppError, Result};

/// One row of the CPTS list: the CPTS with its population and tier on the list's date, the
/// stage it had reached by then, and its money.
#[derive(Clone, Debug)]
pub struct ListEntry {
    pub cpts: CptsSummary,
    pub stage: Option<(Stage, Date)>,
    pub money: MoneyTotals,
}

/// What a list is narrowed to (empty: no condition): a text in the name or id, a région, a
/// département, a stage group (`StageGroup` code, or `aucune` for no step recorded), a tier.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub text: String,
    pub region: String,
    pub departement: String,
    pub stage: String,
    pub tier: String,
}

impl ListFilter {
    pub fn keeps(&self, e: &ListEntry) -> bool {
        use cpts_domain::geo::fold;
        let s = e.cpts.summary.as_ref().ok();
        let text = fold(self.text.trim());
        (text.is_empty() || fold(&e.cpts.record.identity.name).contains(&text) || e.cpts.record.id.as_str().contains(&text))
            && (self.region.is_empty() || s.is_some_and(|s| s.regions.contains(&self.region)))
            && (self.departement.is_empty() || s.is_some_and(|s| s.departements.contains(&self.departement)))
            && (self.tier.is_empty() || s.is_some_and(|s| s.tier.0.to_string() == self.tier))
            && (self.stage.is_empty()
                || match e.stage {
                    Some((st, _)) => crate::dashboard::StageGroup::of(st).code() == self.stage,
                    None => self.stage == "aucune",
                })
    }
}

/// What the alerts are narrowed to (empty: no condition): a text in the CPTS's name or id, an
/// urgency (`Urgency` code).
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    pub text: String,
    pub urgency: String,
}

impl AlertFilter {
    /// The alerts kept, CPTS by CPTS in the order given.
    pub fn apply<'a>(&self, all: &'a [CptsAlerts]) -> impl Iterator<Item = (&'a CptsAlerts, &'a Alert)> + use<'a> {
        use cpts_domain::geo::fold;
        let text = fold(self.text.trim());
        let urgency = self.urgency.clone();
        all.iter()
            .filter(move |c| text.is_empty() || fold(&c.record.identity.name).contains(&text) || c.record.id.as_str().contains(&text))
            .flat_map(|c| c.alerts.iter().map(move |a| (c, a)))
            .filter(move |(_, a)| urgency.is_empty() || a.urgency.code() == urgency)
    }
}

/// The alerts of one CPTS.
#[derive(Clone, Debug)]
pub struct CptsAlerts {
    pub record: CptsRecord,
    pub alerts: Vec<Alert>,
}

impl crate::cache::PerCpts for ListEntry {
    fn cpts_id(&self) -> &str {
        self.cpts.record.id.as_str()
    }
}

impl crate::cache::PerCpts for CptsAlerts {
    fn cpts_id(&self) -> &str {
        self.record.id.as_str()
    }
}

fn by_id(a: &CptsRecord, b: &CptsRecord) -> Ordering {
    natural_cmp(a.id.as_str(), b.id.as_str())
}

impl App {
    /// The CPTS the principal may read, with stage, population, tier and money, by id
    /// (« cpts-paris-9 » before « cpts-paris-10 »).
    pub async fn list(&self, p: &Principal, on: Date) -> Result<std::sync::Arc<Vec<ListEntry>>> {
        let visible = p.visible(Action::Read);
        self.cached_per_cpts(format!("list|{visible:?}|{on}"), &visible, |v| self.compute_list(v, on)).await
    }

    async fn compute_list(&self, visible: Visible, on: Date) -> Result<Vec<ListEntry>> {
        let rows = self.store.list_rows(&visible, on).await?;
        let mut out: Vec<ListEntry> = rows
            .into_iter()
            .map(|r| ListEntry {
                cpts: CptsSummary { summary: r.record.territory.summary(&self.geo, &self.rules, on, None), on, record: r.record },
                stage: r.stage,
                money: r.money,
            })
            .collect();
        out.sort_by(|a, b| by_id(&a.cpts.record, &b.cpts.record));
        Ok(out)
    }

    /// What is late or due within `days` days on `on`: for one CPTS, or every CPTS of the
    /// principal's scope. Only CPTS with alerts are returned, by id.
    pub async fn alerts(&self, p: &Principal, id: Option<&CptsId>, days: i64, on: Date) -> Result<std::sync::Arc<Vec<CptsAlerts>>> {
        let visible = match id {
            Some(id) => {
                self.authorize(p, Action::Read, id).await?;
                // The CPTS must exist: an unknown id is an error, not an empty list.
                self.store.get_cpts(id).await?;
                Visible::one(id)
            }
            None => {
                let visible = p.visible(Action::Read);
                let key = format!("alerts|{visible:?}|{days}|{on}");
                return self.cached_per_cpts(key, &visible, |v| self.compute_alerts(v, days, on)).await;
            }
        };
        self.compute_alerts(visible, days, on).await.map(std::sync::Arc::new)
    }

    pub(crate) async fn compute_alerts(&self, visible: Visible, days: i64, on: Date) -> Result<Vec<CptsAlerts>> {
        // Lines due after the horizon cannot alert: the database leaves them out.
        let until = on.checked_add(jiff::Span::new().days(days.clamp(0, 36_500))).unwrap_or(jiff::civil::date(9999, 12, 31));
        // The ledger lines are the longest read: the contracts' and reports' alerts are
        // computed while the database still builds them (polled first: its connection first).
        let lines = async { Ok::<_, AppError>(self.store.alerting_lines_in(&visible, until).await?) };
        let contracts = async {
            let mut data = self.store.scope_contracts(&visible).await?;
            let firsts: Vec<(CptsRecord, Vec<Alert>)> = std::mem::take(&mut data.records)
                .into_iter()
                .map(|record| {
                    let key = record.id.as_str();
                    let contracts: Vec<_> =
                        data.contracts.remove(key).unwrap_or_default().into_iter().map(|(a, _)| a).collect();
                    let reports = data.reports.remove(key).unwrap_or_default();
                    let alerts = alerts::contract_alerts_of(&self.rules, &contracts, &reports, days, on);
                    (record, alerts)
                })
                .collect();
            Ok::<_, AppError>((firsts, data.gates))
        };
        let (mut lines, (firsts, mut gates)) = tokio::try_join!(lines, contracts)?;
        let mut out = Vec::new();
        for (record, first) in firsts {
            let key = record.id.as_str();
            let gates = gates.remove(key).unwrap_or_default();
            let alerts =
                alerts::merged(first, alerts::line_alerts(&self.rules, &lines.remove(key).unwrap_or_default(), &gates, days, on));
            if !alerts.is_empty() {
                out.push(CptsAlerts { record, alerts });
            }
        }
        out.sort_by(|a, b| by_id(&a.record, &b.record));
        Ok(out)
    }
}
