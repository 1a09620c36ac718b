//! Member exports: the import's columns (`cpts_domain::members`), so an export reads back; the
//! member numbers let a re-imported, edited export correct members instead of adding them.

use std::path::Path;

use cpts_domain::geo::Geo;
use cpts_domain::members::HEADER;
use cpts_domain::registry::Member;
use cpts_engine::dates::fr;

use crate::load::CliError;

fn row(n: i64, m: &Member, geo: &Geo) -> Vec<String> {
    let commune = geo.commune(&m.commune).map_or(m.commune.to_string(), |c| format!("{} ({})", c.name, c.code));
    vec![
        m.last_name.clone(),
        m.first_name.clone(),
        m.profession.label().to_string(),
        m.rpps.as_ref().map_or(String::new(), ToString::to_string),
        commune,
        fr(m.joined),
        m.left.map_or(String::new(), fr),
        n.to_string(),
    ]
}

/// Write members as CSV (UTF-8 with BOM for Excel, `;`) or XLSX, by the file's extension.
pub fn export(path: &Path, store_url: &str, members: &[(i64, Member)], geo: &Geo) -> Result<(), CliError> {
    let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    let rows: Vec<Vec<String>> = members.iter().map(|(n, m)| row(*n, m, geo)).collect();
    crate::files::write_table(path, store_url, "Membres", &header, &rows)
}
