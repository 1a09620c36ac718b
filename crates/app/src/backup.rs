//! Backups of the whole store and their restore (national: the admin, the local operator).
//! The format and its guarantees: cpts_store::backup, docs/operations.md.

use std::io::{BufRead, Write};
use std::path::Path;

use cpts_store::Restored;

use crate::policy::{Action, Principal};
use crate::{App, Result};

impl App {
    /// The logical export of every table to `out` (the same on both engines), from one
    /// consistent snapshot while others write. Returns the rows written.
    pub async fn backup(&self, p: &Principal, out: impl Write) -> Result<u64> {
        self.authorize_national(p, Action::Backup)?;
        Ok(self.store.export(out).await?)
    }

    /// On SQLite: a consistent copy of the database file at `to`, itself a store.
    pub async fn backup_sqlite_copy(&self, p: &Principal, to: &Path) -> Result<()> {
        self.authorize_national(p, Action::Backup)?;
        Ok(self.store.copy_sqlite(to).await?)
    }

    /// Restore a logical export, all or nothing; a store holding data only if `replace`. The
    /// restore is audited after the restored rows, chained on them.
    pub async fn restore(&self, p: &Principal, input: impl BufRead, replace: bool) -> Result<Restored> {
        let stamp = self.authorize_national(p, Action::Restore)?;
        Ok(self.store.restore(input, replace, &stamp).await?)
    }
}
