//! Reading the audit log, within the reader's scope.

use cpts_domain::ids::CptsId;
use cpts_store::{AuditEntry, AuditFilter};
use jiff::civil::Date;

use crate::policy::{Action, Principal};
use crate::{App, AppError, Clock, Result};

/// Which rows to read.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub cpts: Option<CptsId>,
    pub login: Option<String>,
    pub since: Option<Date>,
    /// At most this many rows, newest first (default 200).
    pub limit: Option<i64>,
    /// Rows skipped first, newest first (a page of the log; default none).
    pub offset: Option<i64>,
}

/// A page of the log, and how many rows the query keeps in all.
#[derive(Clone, Debug)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
}

impl App {
    /// The audit rows the principal may read: national readers see everything (accounts
    /// included); others the rows of the CPTS in their scope.
    pub async fn audit(&self, p: &Principal, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let filter = self.audit_filter(p, q).await?;
        Ok(self.store.audit_log(&filter).await?)
    }

    /// As `audit`, with the number of rows the query keeps beyond its page. A principal with
    /// no grant that reads the log is refused (not answered an empty log).
    pub async fn audit_page(&self, p: &Principal, q: &AuditQuery) -> Result<AuditPage> {
        if !p.grants.iter().any(|g| crate::policy::roles(Action::ReadAudit).contains(&g.role)) {
            return Err(AppError::forbidden(p, Action::ReadAudit));
        }
        let filter = self.audit_filter(p, q).await?;
        let (entries, total) = tokio::try_join!(self.store.audit_log(&filter), self.store.audit_count(&filter))?;
        Ok(AuditPage { entries, total })
    }

    async fn audit_filter(&self, p: &Principal, q: &AuditQuery) -> Result<AuditFilter> {
        let within = if self.authorize_national(p, Action::ReadAudit).is_ok() {
            None
        } else {
            if let Some(id) = &q.cpts {
                self.authorize(p, Action::ReadAudit, id).await?;
            }
            Some(p.visible(Action::ReadAudit))
        };
        Ok(AuditFilter {
            cpts: q.cpts.as_ref().map(ToString::to_string),
            login: q.login.clone(),
            since: q.since.map(|d| Clock::start_of(d).to_string()),
            within,
            limit: q.limit.unwrap_or(200),
            offset: q.offset.unwrap_or(0),
        })
    }
}
