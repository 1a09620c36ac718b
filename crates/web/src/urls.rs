//! Every address of the application, built in one place (templates receive them built).

pub const HOME: &str = "/";
pub const SIGN_IN: &str = "/connexion";
pub const SIGN_OUT: &str = "/deconnexion";
pub const CPTS_LIST: &str = "/cpts";
pub const ALERTS: &str = "/alertes";
pub const AUDIT: &str = "/journal";
pub const SIMULATION: &str = "/simulation";
pub const ACCOUNTS: &str = "/comptes";
pub const TOKENS: &str = "/compte/jetons";
pub const STYLE: &str = "/static/style.css";

/// Percent-encode a path segment or query value (ids are ASCII; free text is not).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The sign-in page, coming back to `next` after (same-site paths only).
pub fn sign_in(next: Option<&str>) -> String {
    match next.filter(|n| safe_next(n) && *n != HOME) {
        Some(n) => format!("{SIGN_IN}?suite={}", enc(n)),
        None => SIGN_IN.into(),
    }
}

/// A path of this site: `/…` but not `//host` nor `/\host` (an open redirect otherwise).
pub fn safe_next(n: &str) -> bool {
    n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.chars().any(char::is_control)
}

pub fn cpts(id: &str) -> String {
    format!("/cpts/{}", enc(id))
}

pub fn cpts_part(id: &str, part: &str) -> String {
    format!("/cpts/{}/{part}", enc(id))
}

/// The indicator values of a CPTS (table, charts, typed entry and file import).
pub fn values(id: &str) -> String {
    cpts_part(id, "indicateurs")
}

/// Where the typed value form posts.
pub fn values_entry(id: &str) -> String {
    cpts_part(id, "indicateurs/saisie")
}

/// Where the file import posts: multipart forms carry their CSRF token in the URL.
pub fn values_import(id: &str, csrf: &str) -> String {
    format!("{}?_csrf={}", cpts_part(id, "indicateurs/import"), enc(csrf))
}

/// One indicator's series as CSV.
pub fn value_series(id: &str, indicator: &str) -> String {
    format!("{}/{}/serie.csv", values(id), enc(indicator))
}

/// The activity reports of a CPTS.
pub fn reports(id: &str) -> String {
    cpts_part(id, "rapports")
}

/// One contract year's report (its latest version).
pub fn report(id: &str, contract: i64, year: u8) -> String {
    format!("{}/{contract}/{year}", reports(id))
}

/// A version of a report (the latest when `None`).
pub fn report_version(id: &str, contract: i64, year: u8, version: Option<i64>) -> String {
    match version {
        Some(v) => format!("{}?version={v}", report(id, contract, year)),
        None => report(id, contract, year),
    }
}

/// Where an act on a report posts (`act`: the act's code, `soumettre`, `valider`…).
pub fn report_act(id: &str, contract: i64, year: u8, act: &str) -> String {
    format!("{}/{}", report(id, contract, year), enc(act))
}

/// A report as a file: `ext` is pdf, csv or xlsx.
pub fn report_file(id: &str, contract: i64, year: u8, version: i64, ext: &str) -> String {
    format!("{}/rapport-v{version}.{ext}", report(id, contract, year))
}
