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

/// What a walk of the audit chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows walked and found sound (up to the break, if any).
    pub rows: u64,
    /// The hash of the last sound row: written down elsewhere, it anchors the log.
    pub last_hash: String,
    /// The first place the chain does not hold.
    pub broken: Option<cpts_domain::audit::Break>,
}

/// Rows read at a time: the log of a national store is never loaded whole.
const CHAIN_PAGE: i64 = 2_000;

impl App {
    /// Walk the whole audit log in id order, page by page, recomputing each row's hash and
    /// checking it chains onto the one before, then compare the end with the head. National
    /// (the admin, the local operator): the chain is one for the whole store.
    pub async fn verify_audit(&self, p: &Principal) -> Result<ChainReport> {
        self.authorize_national(p, Action::VerifyAudit)?;
        let mut walk = cpts_domain::audit::Walk::default();
        let report = |walk: &cpts_domain::audit::Walk, broken| ChainReport {
            rows: walk.rows(),
            last_hash: walk.last_hash().to_string(),
            broken,
        };
        loop {
            let page = self.store.audit_chain_page(walk.last_id(), CHAIN_PAGE).await?;
            for row in &page {
                if let Err(b) = walk.push(row) {
                    return Ok(report(&walk, Some(b)));
                }
            }
            if usize::try_from(CHAIN_PAGE).is_ok_and(|n| page.len() < n) {
                // The head is read after the last page; a write committed in between shows
                // as rows beyond what was walked: walk them too, then look again.
                let head = self.store.audit_head().await?;
                if head.last_id > walk.last_id() && !self.store.audit_chain_page(walk.last_id(), 1).await?.is_empty() {
                    continue;
                }
                return Ok(report(&walk, walk.finish(&head).err()));
            }
        }
    }
}
