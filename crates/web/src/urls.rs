//! Every address of the application, built in one place (templates receive them built).

pub const HOME: &str = "/";
pub const SIGN_IN: &str = "/connexion";
pub const SIGN_OUT: &str = "/deconnexion";
pub const CPTS_LIST: &str = "/cpts";
pub const ALERTS: &str = "/alertes";
pub const AUDIT: &str = "/journal";
pub const SIMULATION: &str = "/simulation";
pub const ACCOUNTS: &str = "/comptes";
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
