//! Table files on disk: read with a size cap (the bytes are then read by
//! `cpts_render::read_table`), and exports written safely: a known extension, never over the
//! open database, through a temporary file renamed into place.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub use cpts_domain::table::{LineError, RawTable};

use crate::load::CliError;

/// Bytes of an imported file (CSV or XLSX): above the largest import benchmarked (2.4 M
/// values, a 95 MB CSV, docs/benchmarks.md); a bigger file is refused. A CSV of values is
/// read row by row (`table_rows`), but a table read whole (members, XLSX) is held in memory.
pub const MAX_FILE_BYTES: u64 = 128 << 20;

fn too_big() -> String {
    format!("fichier de plus de {} Mo : découpez-le en plusieurs imports", MAX_FILE_BYTES >> 20)
}

/// A reader that fails past `MAX_FILE_BYTES` (a pipe or a growing file has no size up front).
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = u64::try_from(n).unwrap_or(u64::MAX);
        if read > self.left {
            return Err(std::io::Error::other(too_big()));
        }
        self.left -= read;
        Ok(n)
    }
}

/// A CSV or XLSX file as a header then rows read on demand (a CSV row by row, an XLSX
/// whole), at most `MAX_FILE_BYTES`.
pub fn table_rows(path: &Path) -> Result<cpts_render::TableRows<'static>, LineError> {
    let file = std::fs::File::open(path).map_err(|e| LineError::new(0, "", format!("lecture impossible : {e}")))?;
    if file.metadata().is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
        return Err(LineError::new(0, "", too_big()));
    }
    cpts_render::read_table_rows(Capped { inner: file, left: MAX_FILE_BYTES })
}

/// Read a CSV or XLSX file (by content, not only by name), at most `MAX_FILE_BYTES`.
pub fn read_table(path: &Path) -> Result<RawTable, LineError> {
    let unreadable = |e: std::io::Error| LineError::new(0, "", format!("lecture impossible : {e}"));
    let too_big = || LineError::new(0, "", too_big());
    let file = std::fs::File::open(path).map_err(unreadable)?;
    if file.metadata().is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
        return Err(too_big());
    }
    // Read through the cap all the same: a pipe or a growing file has no size up front.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_FILE_BYTES {
        return Err(too_big());
    }
    cpts_render::read_table(&bytes)
}

/// The extensions of table exports.
pub const TABLES: &[&str] = &["csv", "xlsx"];

/// Write an export: refused, with nothing written, when the extension is not one of
/// `allowed` or the path is the open database (or one of its journal files). `render` gets
/// the extension (lower case) and gives the bytes; they go to a temporary file in the same
/// folder, renamed over `path` once complete, so a failed export leaves no half file.
pub fn write_export(
    path: &Path,
    store_url: &str,
    allowed: &[&str],
    render: impl FnOnce(&str) -> Result<Vec<u8>, String>,
) -> Result<(), CliError> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if !allowed.contains(&ext.as_str()) {
        let list: Vec<String> = allowed.iter().map(|a| format!(".{a}")).collect();
        let list = match list.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} ou {last}", rest.join(", ")),
            None => String::new(),
        };
        return Err(CliError::Usage(format!("{} : extension attendue {list}", path.display())));
    }
    if let Some(db) = sqlite_file(store_url)
        && ["", "-wal", "-shm", "-journal"].iter().any(|s| same_file(path, Path::new(&format!("{}{s}", db.display()))))
    {
        return Err(CliError::Usage(format!(
            "{} est la base de données ouverte (--db) : choisissez un autre nom de fichier, rien n'a été écrit",
            path.display()
        )));
    }
    let failed = |e: String| CliError::Failed(format!("{} : {e}", path.display()));
    let bytes = render(&ext).map_err(failed)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create_new(&temp)
        .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(failed(e.to_string()));
    }
    Ok(())
}

/// The SQLite file a store URL opens (as `Store::open` reads it), if it is SQLite.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    Some(PathBuf::from(path.split('?').next().unwrap_or(path)))
}

/// The same file on disk: by canonical path (symbolic links, `..`), and by device and inode
/// (hard links) where the system has them. A file that does not exist is no other file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) if x == y => true,
        (Ok(_), Ok(_)) => same_inode(a, b),
        _ => false,
    }
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &Path, _: &Path) -> bool {
    false
}

/// Write one table as CSV (`;`, UTF-8 with BOM for Excel) or XLSX, by the file's extension.
pub fn write_table(
    path: &Path,
    store_url: &str,
    sheet: &str,
    header: &[String],
    rows: &[Vec<String>],
) -> Result<(), CliError> {
    write_export(path, store_url, TABLES, |ext| match ext {
        "xlsx" => cpts_render::sheets_xlsx([(sheet, header, rows)]),
        _ => cpts_render::table_csv(header, rows),
    })
}
