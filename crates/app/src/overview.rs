//! A CPTS's page at a glance: identity and territory, lifecycle, alerts, ledger and reports,
//! read together under one policy question and kept until that CPTS is written (the page is
//! the most visited after the dashboards, and reads a score of tables).

use std::sync::Arc;

use cpts_domain::activity::Report;
use cpts_domain::ids::CptsId;

use crate::ledger::LedgerView;
use crate::lifecycle::LifecycleView;
use crate::national::CptsAlerts;
use crate::registry::CptsView;
use crate::{Action, App, Principal, Result, Rights};

/// Alerts shown on a CPTS's page: what is late or due within this many days.
pub const ALERT_DAYS: i64 = 30;

/// Everything a CPTS's page shows, as of today.
#[derive(Debug)]
pub struct Overview {
    pub view: CptsView,
    pub life: LifecycleView,
    /// What is late or due within `ALERT_DAYS` days (the CPTS's, if any).
    pub alerts: Vec<CptsAlerts>,
    pub ledger: LedgerView,
    /// Every version of every report, by contract, year and version.
    pub reports: Vec<Report>,
}

impl App {
    /// The CPTS's overview and what `p` may do there (one read of its areas for both).
    pub async fn overview(&self, p: &Principal, id: &CptsId) -> Result<(Arc<Overview>, Rights)> {
        let areas = self.store.areas(id).await?;
        self.authorize_in(p, Action::Read, id, &areas)?;
        let rights = Rights { principal: p.clone(), id: id.clone(), areas };
        let on = self.clock.today();
        let overview = self
            .cached_for_cpts(id, format!("overview|{id}|{on}"), || async {
                let record = self.store.get_cpts(id).await?;
                let (life, alerts, ledger, reports) = tokio::try_join!(
                    self.lifecycle_of(&record, on),
                    self.compute_alerts(cpts_store::Visible::one(id), ALERT_DAYS, on),
                    self.ledger_of(id, record.clone()),
                    async { Ok(self.store.reports(id).await?) },
                )?;
                Ok(Overview { view: self.cpts_view(record, on), life, alerts, ledger, reports })
            })
            .await?;
        Ok((overview, rights))
    }
}
