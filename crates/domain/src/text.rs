//! User text: the one check every constructor of user text goes through (length and
//! characters), and the escaping of text shown back (messages, terminal).
//!
//! These are input sanity limits, not ACI rules. They are generous for any real name or text,
//! and small enough that one field cannot fill a table, a terminal or the store.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Names: CPTS, structures, people, funders, legal forms, who acted. Official names of health
/// associations and establishments are far shorter; beyond this a table column is unreadable.
pub const NAME_MAX: usize = 200;
/// One-line texts: document references, purposes, reasons, titles, deliverables.
pub const LINE_MAX: usize = 1_000;
/// Multi-line free texts: report summaries, descriptions, comments and answers (about ten
/// printed pages: a review comment or a summary never needs more).
pub const TEXT_MAX: usize = 20_000;
/// Whole documents given as files and stored verbatim: annexes, amendments, activity reports
/// (the example annex is about 3 KB). They are YAML, so the YAML reader's own bound is theirs.
pub const DOCUMENT_MAX: usize = cpts_engine::yaml::MAX_BYTES;

/// What kind of text a field holds: its length limit and whether it may span lines.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Name,
    Line,
    /// May hold line feeds and tabs.
    Text,
    /// A whole file (YAML): line feeds and tabs allowed.
    Document,
}

impl Kind {
    pub fn max(self) -> usize {
        match self {
            Kind::Name => NAME_MAX,
            Kind::Line => LINE_MAX,
            Kind::Text => TEXT_MAX,
            Kind::Document => DOCUMENT_MAX,
        }
    }

    fn multiline(self) -> bool {
        matches!(self, Kind::Text | Kind::Document)
    }
}

/// Bidirectional embeddings, overrides and isolates: they make a terminal or a PDF show text in
/// another order than it is stored (« Trojan Source »).
fn bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that must never be stored nor printed raw: C0 and C1 controls (terminal escapes,
/// OSC 52 clipboard writes, NUL, BEL), DEL, and bidi overrides.
pub fn is_forbidden(c: char) -> bool {
    c.is_control() || bidi_control(c)
}

/// The check of one user text field: refused beyond its kind's length (in characters) or with
/// a control character (line feed and tab only in multi-line texts). `field` names the field
/// in French (« nom », « commentaire »).
pub fn check(field: &str, value: &str, kind: Kind) -> Result<(), String> {
    let max = kind.max();
    // Counting stops just past the limit: a 50 MB value costs no more than a long one.
    let n = value.chars().take(max.saturating_add(1)).count();
    if n > max {
        let total = value.chars().count();
        return Err(format!("{field} : {total} caractères, {max} au plus ; raccourcissez-le"));
    }
    let allowed = |c: char| kind.multiline() && (c == '\n' || c == '\t');
    if let Some((at, c)) = value.chars().enumerate().find(|&(_, c)| is_forbidden(c) && !allowed(c)) {
        return Err(format!(
            "{field} : caractère de contrôle {} interdit (caractère {}) ; retirez-le{}",
            code_point(c),
            at.saturating_add(1),
            if c == '\n' || c == '\t' { " (une seule ligne attendue)" } else { "" }
        ));
    }
    Ok(())
}

/// As `check`, for an optional field.
pub fn check_opt(field: &str, value: Option<&str>, kind: Kind) -> Result<(), String> {
    value.map_or(Ok(()), |v| check(field, v, kind))
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Text made safe to print: every forbidden character shown as a Rust-style escape
/// (`\u{1b}`), so nothing stored (older stores may hold anything) can drive the terminal.
/// Line feeds and tabs are kept when `multiline`.
pub fn escape(s: &str, multiline: bool) -> Cow<'_, str> {
    let keep = |c: char| !is_forbidden(c) || (multiline && (c == '\n' || c == '\t'));
    if s.chars().all(keep) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().saturating_add(8));
    for c in s.chars() {
        if keep(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// User text quoted back in a message: cut like every quotation (`cpts_engine::yaml::excerpt`)
/// and escaped.
pub fn quoted(s: &str) -> String {
    escape(&cpts_engine::yaml::excerpt(s), false).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_counted_in_characters_and_refused_with_the_figures() {
        assert!(check("nom", &"é".repeat(NAME_MAX), Kind::Name).is_ok());
        assert_eq!(
            check("nom", &"é".repeat(320), Kind::Name),
            Err("nom : 320 caractères, 200 au plus ; raccourcissez-le".into())
        );
        assert!(check("commentaire", &"x".repeat(TEXT_MAX + 1), Kind::Text).unwrap_err().contains("20000 au plus"));
    }

    #[test]
    fn control_characters_are_refused_but_lines_are_allowed_in_texts() {
        for bad in ["a\u{1b}[31mrouge", "\u{1b}]52;c;ZWNobw==\u{7}", "nul\0", "c1\u{9b}", "bidi\u{202e}", "iso\u{2066}"]
        {
            assert!(check("nom", bad, Kind::Name).unwrap_err().contains("caractère de contrôle"), "{bad:?}");
            assert!(check("commentaire", bad, Kind::Text).is_err(), "{bad:?}");
        }
        let e = check("nom", "Dr\nExemple", Kind::Name).unwrap_err();
        assert!(e.contains("U+000A") && e.contains("caractère 3") && e.contains("une seule ligne"), "{e}");
        assert!(check("commentaire", "ligne 1\n\tligne 2", Kind::Text).is_ok());
        assert!(check("nom", "CPTS Paris 18 — Montmartre (l'Est)", Kind::Name).is_ok());
    }

    #[test]
    fn printing_escapes_what_could_drive_a_terminal() {
        assert_eq!(escape("Martin", false), "Martin");
        assert_eq!(escape("a\u{1b}[2Jb", false), "a\\u{1b}[2Jb");
        assert_eq!(escape("x\u{202e}y\u{9b}\0", false), "x\\u{202e}y\\u{9b}\\u{0}");
        assert_eq!(escape("l1\nl2", true), "l1\nl2");
        assert_eq!(escape("l1\nl2", false), "l1\\u{a}l2");
        assert_eq!(quoted(&"a".repeat(100)), format!("{}…", "a".repeat(cpts_engine::yaml::MAX_QUOTE)));
    }
}
