//! Reading the audit log, within the reader's scope.

use cpts_domain::ids::CptsId;
use cpts_store::{AuditEntry, AuditFilter};
use jiff::civil::Date;

use crate::policy::{Action, Principal};
use crate::{App, Clock, Result};

/// Which rows to read.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub cpts: Option<CptsId>,
    pub login: Option<String>,
    pub since: Option<Date>,
    /// At most this many rows, newest first (default 200).
    pub limit: Option<i64>,
}

impl App {
    /// The audit rows the principal may read: national readers see everything (accounts
    /// included); others the rows of the CPTS in their scope.
    pub async fn audit(&self, p: &Principal, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let within = if self.authorize_national(p, Action::ReadAudit).is_ok() {
            None
        } else {
            if let Some(id) = &q.cpts {
                self.authorize(p, Action::ReadAudit, id).await?;
            }
            Some(p.visible(Action::ReadAudit))
        };
        let filter = AuditFilter {
            cpts: q.cpts.as_ref().map(ToString::to_string),
            login: q.login.clone(),
            since: q.since.map(|d| Clock::start_of(d).to_string()),
            within,
            limit: q.limit.unwrap_or(200),
        };
        Ok(self.store.audit_log(&filter).await?)
    }
}
