//! `cpts audit verify`, `cpts backup`, `cpts restore`: thin adapters over the application's
//! use cases (crates/app/src/audit.rs, backup.rs).

use std::path::{Path, PathBuf};

use crate::load::CliError;
use crate::session::{self, app_err};

/// Walk the audit chain: « intact » on stdout, else the first break as an error (exit 1).
pub fn verify(db: Option<&Path>, rules: Option<&Path>) -> Result<String, CliError> {
    session::run(db, rules, |ctx| async move {
        let r = ctx.app.verify_audit(&ctx.who).await.map_err(app_err)?;
        match r.broken {
            None => Ok(format!("Journal d'audit intact : {} lignes, empreinte finale {}\n", r.rows, r.last_hash)),
            Some(b) => Err(CliError::Failed(format!(
                "Journal d'audit ALTÉRÉ : {b} ({} ligne(s) intacte(s) avant, empreinte {})",
                r.rows, r.last_hash
            ))),
        }
    })
}

/// Whether `file` asks for a SQLite copy rather than the logical export.
fn sqlite_copy(file: &Path) -> bool {
    file.extension().is_some_and(|e| e.eq_ignore_ascii_case("sqlite") || e.eq_ignore_ascii_case("db"))
}

/// `cpts backup FILE`: a file ending in .sqlite or .db is a copy of the SQLite database
/// (`VACUUM INTO`); any other name gets the logical export (JSON lines), on both engines.
pub fn backup(file: PathBuf, db: Option<&Path>, rules: Option<&Path>) -> Result<String, CliError> {
    session::run(db, rules, |ctx| async move {
        if sqlite_copy(&file) {
            ctx.app.backup_sqlite_copy(&ctx.who, &file).await.map_err(app_err)?;
            return Ok(format!("Copie de la base SQLite écrite dans {}\n", file.display()));
        }
        // Written beside, then renamed: a failed backup never leaves a file that looks whole.
        let partial = file.with_extension("partiel");
        let out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(|error| CliError::Io { file: partial.clone(), error })?;
        if file.exists() {
            let _ = std::fs::remove_file(&partial);
            return Err(CliError::Usage(format!("{} existe déjà : cpts n'écrase pas un fichier", file.display())));
        }
        let mut out = std::io::BufWriter::new(out);
        let written = ctx.app.backup(&ctx.who, &mut out).await;
        let done = written.map_err(app_err).and_then(|rows| {
            let f = out.into_inner().map_err(|e| CliError::Failed(format!("écriture de la sauvegarde impossible : {e}")))?;
            f.sync_all().map_err(|error| CliError::Io { file: partial.clone(), error })?;
            std::fs::rename(&partial, &file).map_err(|error| CliError::Io { file: file.clone(), error })?;
            Ok(rows)
        });
        match done {
            Ok(rows) => Ok(format!("Sauvegarde écrite dans {} : {rows} lignes\n", file.display())),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(e)
            }
        }
    })
}

/// `cpts restore FILE [--remplacer]`: the logical export, all or nothing.
pub fn restore(file: PathBuf, replace: bool, db: Option<&Path>, rules: Option<&Path>) -> Result<String, CliError> {
    let f = std::fs::File::open(&file).map_err(|error| CliError::Io { file: file.clone(), error })?;
    let mut head = [0u8; 16];
    if std::io::Read::read(&mut &f, &mut head).is_ok_and(|n| n == 16) && head.starts_with(b"SQLite format 3\0") {
        return Err(CliError::Usage(format!(
            "{} est une copie de base SQLite, pas une sauvegarde logique : utilisez-la telle quelle (--db {}), ou remplacez le fichier de la base serveur arrêté",
            file.display(),
            file.display()
        )));
    }
    let f = std::fs::File::open(&file).map_err(|error| CliError::Io { file: file.clone(), error })?;
    session::run(db, rules, |ctx| async move {
        let r = ctx.app.restore(&ctx.who, std::io::BufReader::new(f), replace).await.map_err(app_err)?;
        Ok(format!(
            "Sauvegarde restaurée depuis {} : {} lignes (schéma {}, écrite depuis {}) ; vérifiez : cpts audit verify, cpts ledger check\n",
            file.display(),
            r.rows,
            r.schema,
            r.from
        ))
    })
}
