//! Checks made before a store is used, so a wrong `--db` is refused at once with what is wrong
//! (the connection pool retries failed connections until its timeout and then only says
//! « pool timed out »).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use sqlx::{AnyConnection, Connection, Row};

use crate::StoreError;

/// How long the first connection to a PostgreSQL server may take: a server that is up answers
/// well within this on any network the platform runs on; beyond it, the user waits for nothing.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request may wait for a connection of the pool (a free one, or a new one to a
/// server that refuses or does not answer): past it the request fails « indisponible » (HTTP
/// 503) instead of hanging, and the next one tries again. sqlx's default is 30 s; a request
/// that waited 5 s for the database is better answered than kept.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The first 16 bytes of every SQLite 3 database file (sqlite.org/fileformat.html, 1.3).
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The SQLite database header is the first 100 bytes of the file.
const SQLITE_HEADER_LEN: usize = 100;

/// `postgres://user:secret@host:5432/db` → `host:5432` (never the password).
pub fn server_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() { "localhost".into() } else { host.to_string() }
}

/// The URL with its password masked, to name the database in messages.
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        // Only a password is hidden; a URL without one is shown as given.
        Some((user, host)) => match user.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn refuse(m: String) -> StoreError {
    StoreError::Open(m)
}

/// Before connecting to a SQLite file: refuse what SQLite would fail on later, or silently
/// take over (a folder, a device, a file we may not read or write, a file that is not SQLite,
/// one cut short).
pub fn check_sqlite_file(path: &Path) -> Result<(), StoreError> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        // Created on first run.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refuse(format!("{shown} : accès impossible ({e})"))),
    };
    if meta.is_dir() {
        return Err(refuse(format!("{shown} est un dossier, pas une base SQLite : donnez un nom de fichier")));
    }
    if !meta.is_file() {
        return Err(refuse(format!(
            "{shown} n'est pas un fichier ordinaire (périphérique, tube…) : donnez un fichier de base SQLite"
        )));
    }
    let mut file = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            refuse(format!(
                "{shown} : droits insuffisants (lecture et écriture nécessaires) : vérifiez les permissions"
            ))
        } else {
            refuse(format!("{shown} : ouverture impossible ({e})"))
        }
    })?;
    if meta.len() == 0 {
        // An empty file is an empty database for SQLite.
        return Ok(());
    }
    let mut header = [0u8; SQLITE_HEADER_LEN];
    let read = read_up_to(&mut file, &mut header).map_err(|e| refuse(format!("{shown} : lecture impossible ({e})")))?;
    let not_sqlite = || {
        refuse(format!(
            "{shown} n'est pas une base SQLite (en-tête absent) : donnez le fichier d'une base cpts, ou un nom de fichier nouveau pour en créer une"
        ))
    };
    if header.get(..SQLITE_MAGIC.len()) != Some(SQLITE_MAGIC.as_slice()) {
        return Err(not_sqlite());
    }
    let corrupted = |why: &str| refuse(format!("{shown} : base SQLite corrompue ({why}) : restaurez une sauvegarde"));
    if read < SQLITE_HEADER_LEN {
        return Err(corrupted("en-tête incomplet"));
    }
    // Page size at offset 16 (big-endian; 1 means 65 536), page count at 28, valid when the
    // « version-valid-for » number at 92 equals the change counter at 24.
    let be16 = |at: usize| header.get(at..at + 2).and_then(|b| b.try_into().ok()).map(u16::from_be_bytes);
    let be32 = |at: usize| header.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
    let page_size = match be16(16) {
        Some(1) => 65_536u64,
        Some(p) if p >= 512 && p.is_power_of_two() => u64::from(p),
        _ => return Err(corrupted("taille de page invalide")),
    };
    if let (Some(pages), Some(counter), Some(valid_for)) = (be32(28), be32(24), be32(92))
        && pages > 0
        && counter == valid_for
        && u64::from(pages).saturating_mul(page_size) > meta.len()
    {
        return Err(corrupted(&format!(
            "fichier tronqué : {} octets au lieu de {}",
            meta.len(),
            u64::from(pages).saturating_mul(page_size)
        )));
    }
    Ok(())
}

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..) {
        if rest.is_empty() {
            break;
        }
        match file.read(rest)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// One connection, made before the pool so its first error is the one the user sees.
pub async fn first_connection(url: &str, sqlite_file: Option<&Path>) -> Result<AnyConnection, StoreError> {
    let connecting = AnyConnection::connect(url);
    let conn = match sqlite_file {
        Some(_) => connecting.await,
        None => tokio::time::timeout(CONNECT_TIMEOUT, connecting).await.map_err(|_| {
            refuse(format!(
                "pas de réponse du serveur PostgreSQL à {} en {} s : vérifiez l'adresse, le port et le réseau",
                server_of(url),
                CONNECT_TIMEOUT.as_secs()
            ))
        })?,
    };
    let mut conn = conn.map_err(|e| connect_error(url, sqlite_file, e))?;
    if let Some(file) = sqlite_file {
        // Reading the schema touches the first pages: « not a database » and « malformed » show here.
        sqlx::query("SELECT name FROM sqlite_master")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| connect_error(url, Some(file), e))?;
    }
    Ok(conn)
}

fn connect_error(url: &str, sqlite_file: Option<&Path>, e: sqlx::Error) -> StoreError {
    if let Some(file) = sqlite_file {
        let shown = file.display();
        return match &e {
            sqlx::Error::Database(d) => match d.code().as_deref() {
                // SQLITE_NOTADB
                Some("26") => refuse(format!("{shown} n'est pas une base SQLite : donnez le fichier d'une base cpts")),
                // SQLITE_CORRUPT
                Some("11") => {
                    refuse(format!("{shown} : base SQLite corrompue ({}) : restaurez une sauvegarde", d.message()))
                }
                _ => refuse(format!("{shown} : ouverture impossible ({})", d.message())),
            },
            _ => refuse(format!("{shown} : ouverture impossible ({e})")),
        };
    }
    let server = server_of(url);
    match &e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => refuse(format!(
            "connexion refusée par le serveur PostgreSQL à {server} : vérifiez qu'il est démarré, l'adresse et le port"
        )),
        sqlx::Error::Io(io) => refuse(format!("serveur PostgreSQL à {server} injoignable ({io})")),
        sqlx::Error::Tls(t) => refuse(format!("serveur PostgreSQL à {server} : échec TLS ({t})")),
        sqlx::Error::Database(d) => {
            refuse(format!("le serveur PostgreSQL à {server} refuse la connexion : {}", d.message()))
        }
        sqlx::Error::Configuration(c) => refuse(format!("adresse PostgreSQL invalide ({c})")),
        _ => refuse(format!("connexion au serveur PostgreSQL à {server} impossible ({e})")),
    }
}

/// The error means the database cannot answer now (down, restarting, unreachable, connection
/// lost, pool exhausted, disk full), not that the request is wrong: what to tell the user, in
/// French. The transaction, if any, did not commit.
pub fn unavailable(e: &sqlx::Error) -> Option<String> {
    // Said only when sure: no connection was had, or SQLite rolled the transaction back.
    const NOTHING: &str = "rien n'a été enregistré ; réessayez dans un instant";
    // A connection lost mid-request may have lost it during COMMIT: the outcome is unknown.
    const UNSURE: &str = "ce qui était en cours n'a peut-être pas été enregistré : vérifiez avant de recommencer";
    let full = || Some("disque plein sous la base de données : rien n'a été enregistré ; libérez de la place puis réessayez".to_string());
    match e {
        sqlx::Error::PoolTimedOut => Some(format!(
            "la base de données ne répond pas (aucune connexion obtenue en {} s) : {NOTHING}",
            ACQUIRE_TIMEOUT.as_secs()
        )),
        sqlx::Error::PoolClosed => Some(format!("la base de données est fermée : {NOTHING}")),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => {
            Some(format!("la connexion à la base de données a été perdue : {UNSURE}"))
        }
        sqlx::Error::Database(d) => {
            if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                let state = pg.code();
                // Class 08: connection exception; 57P01-03: server shutting down, crashed,
                // starting up; class 53: insufficient resources (53100 disk full, 53300 too
                // many connections).
                return match state {
                    "53100" => full(),
                    "57P03" => Some(format!("le serveur PostgreSQL démarre ou s'arrête : {NOTHING}")),
                    s if s.starts_with("53") => Some(format!("le serveur PostgreSQL manque de ressources ({}) : {NOTHING}", pg.message())),
                    s if s.starts_with("08") || s.starts_with("57P") => {
                        Some(format!("le serveur PostgreSQL s'est arrêté ou a coupé la connexion : {UNSURE}"))
                    }
                    _ => None,
                };
            }
            // SQLite: the primary result code is the low byte of the extended one.
            match d.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff) {
                // SQLITE_FULL: the statement failed, the transaction is rolled back.
                Some(13) => full(),
                // SQLITE_BUSY, past the busy timeout.
                Some(5) => Some(format!("la base de données est occupée par une autre écriture : {NOTHING}")),
                // SQLITE_IOERR, SQLITE_CANTOPEN.
                Some(10 | 14) => Some(format!("erreur d'entrée-sortie sur le fichier de la base de données ({}) : {UNSURE}", d.message())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Tables of the database that are not SQLite's or PostgreSQL's own.
pub async fn user_tables(conn: &mut AnyConnection, sqlite: bool) -> Result<Vec<String>, sqlx::Error> {
    let sql = if sqlite {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    } else {
        "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
    };
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| r.try_get::<String, _>("name")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_never_show_the_password() {
        assert_eq!(server_of("postgres://u:secret@db.example:5433/cpts?sslmode=require"), "db.example:5433");
        assert_eq!(server_of("postgres:///cpts"), "localhost");
        assert_eq!(masked("postgres://u:secret@h:1/x"), "postgres://u:***@h:1/x");
        assert_eq!(masked("postgres://h/x"), "postgres://h/x");
        assert_eq!(masked("postgres://u@h/x"), "postgres://u@h/x");
    }
}
