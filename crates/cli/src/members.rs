//! Member exports: the import's columns (`cpts_domain::members`), so an export reads back; the
//! member numbers let a re-imported, edited export correct members instead of adding them.

use std::path::Path;

use cpts_domain::geo::Geo;
use cpts_domain::members::{HEADER, export_row};
use cpts_domain::registry::Member;

use crate::load::CliError;

/// Write members as CSV (UTF-8 with BOM for Excel, `;`) or XLSX, by the file's extension.
pub fn export(path: &Path, store_url: &str, members: &[(i64, Member)], geo: &Geo) -> Result<(), CliError> {
    let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    let rows: Vec<Vec<String>> = members.iter().map(|(n, m)| export_row(*n, m, geo)).collect();
    crate::files::write_table(path, store_url, "Membres", &header, &rows)
}
