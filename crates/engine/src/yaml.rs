//! The one door for YAML input (case files, rules, reforms, test cases, annexes, amendments,
//! reports, the indicator catalogue): the text is bounded before the parser sees it, and the
//! parser's and serde's English messages are said in French, naming the field and the line.
//!
//! Why bound first: the YAML parser takes worse than quadratic time in the nesting depth
//! (80 000 `[` in a 160 KB file: 25 s), before any limit of the deserializer applies.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeOwned};

use crate::rate::Dec;

use crate::input::InputError;

/// Largest YAML text accepted, in bytes. cpts' largest YAML file (the missions of the rules)
/// is about 8 KB and a rich activity report a few tens of KB: 1 MiB leaves ample room while
/// bounding the parser's time and memory.
pub const MAX_BYTES: usize = 1 << 20;

/// Deepest nesting accepted: flow brackets plus block levels (indentation and compact `- -`).
/// cpts' files nest at most 7 levels (rules: parameter, values, entry, per-tier list…); 64
/// refuses nothing real, and a 1 MiB file nested 60 deep parses in well under a second.
pub const MAX_DEPTH: usize = 64;

/// Longest piece of the input quoted back in a message: enough to recognise a value, never
/// the content of a file that is not ours.
pub const MAX_QUOTE: usize = 60;

fn refusal(line: Option<usize>, message: String) -> InputError {
    InputError { field: String::new(), message, line }
}

/// Check the size and the nesting depth of a YAML text, in one linear pass.
pub fn check_bounds(text: &str) -> Result<(), InputError> {
    if text.len() > MAX_BYTES {
        return Err(refusal(
            None,
            format!(
                "fichier trop grand ({} octets, au plus {} Kio) : un fichier cpts tient en quelques dizaines de Kio",
                text.len(),
                MAX_BYTES / 1024
            ),
        ));
    }
    let mut s = Scanner::default();
    // A lone `\r` also breaks lines for the parser: count it so, or nesting would hide on one line.
    let lines =
        text.split('\n').enumerate().flat_map(|(i, l)| l.trim_end_matches('\r').split('\r').map(move |p| (i, p)));
    for (i, line) in lines {
        s.line(line).map_err(|()| {
            refusal(
                Some(i + 1),
                format!(
                    "imbrication trop profonde (plus de {MAX_DEPTH} niveaux de listes ou de sections) : ce n'est pas un fichier cpts"
                ),
            )
        })?;
    }
    Ok(())
}

/// A conservative YAML lexer that only tracks nesting: block indentation levels, compact
/// nested entries (`- - x`), flow brackets outside quotes and comments, block scalars skipped.
/// Where it may misread, it counts more levels than the parser would, never fewer.
#[derive(Default)]
struct Scanner {
    /// Columns of the open block levels.
    indents: Vec<usize>,
    /// Open flow brackets.
    flow: usize,
    /// Inside a quoted scalar spanning lines: its quote character.
    quote: Option<char>,
    /// Inside a block scalar (`|`, `>`): lines indented more than this column belong to it.
    block_scalar: Option<usize>,
    /// In flow context, whether a node may start here (a quote there opens a quoted scalar).
    flow_start: bool,
}

impl Scanner {
    fn depth_ok(&self) -> Result<(), ()> {
        if self.indents.len().saturating_add(self.flow) > MAX_DEPTH { Err(()) } else { Ok(()) }
    }

    fn line(&mut self, line: &str) -> Result<(), ()> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = line.get(indent..).unwrap_or("");
        if let Some(parent) = self.block_scalar {
            if rest.is_empty() || indent > parent {
                return Ok(());
            }
            self.block_scalar = None;
        }
        if self.quote.is_some() || self.flow > 0 {
            return self.rest_of_line(line, self.flow_start);
        }
        if rest.is_empty() || rest.starts_with('#') {
            return Ok(());
        }
        while self.indents.last().is_some_and(|&c| c > indent) {
            self.indents.pop();
        }
        if self.indents.last() != Some(&indent) {
            self.indents.push(indent);
        }
        // Compact nesting on one line: `- - x`, `? - x`: each indicator opens a level.
        let mut col = indent;
        let mut body = rest;
        while let Some(after) = ["- ", "? ", ": "].iter().find_map(|p| body.strip_prefix(p)) {
            let trimmed = after.trim_start_matches(' ');
            col = col.saturating_add(body.len() - trimmed.len());
            body = trimmed;
            self.indents.push(col);
            self.depth_ok()?;
        }
        self.depth_ok()?;
        self.rest_of_line(body, true)
    }

    /// Scan text where a node may start (`at_start`), in the current context (block when no
    /// flow bracket is open). One pass, no recursion.
    fn rest_of_line(&mut self, text: &str, mut at_start: bool) -> Result<(), ()> {
        let mut text = text;
        let mut prev_space = true;
        'restart: loop {
            if self.quote.is_some() {
                match self.end_of_quote(text) {
                    Some(after) => text = after,
                    None => return Ok(()),
                }
                at_start = false;
                prev_space = false;
            }
            let mut chars = text.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                let next_is_space = chars.peek().is_none_or(|(_, n)| *n == ' ' || *n == '\t');
                if self.flow == 0 {
                    if at_start {
                        match c {
                            ' ' => continue,
                            '[' | '{' => {
                                self.flow = self.flow.saturating_add(1);
                                self.depth_ok()?;
                                self.flow_start = true;
                                at_start = true;
                                continue;
                            }
                            '"' | '\'' => {
                                self.quote = Some(c);
                                text = text.get(i + 1..).unwrap_or("");
                                continue 'restart;
                            }
                            '|' | '>' => {
                                self.block_scalar = self.indents.last().copied();
                                return Ok(());
                            }
                            '#' => return Ok(()),
                            '&' | '!' => {
                                // An anchor or a tag: the node starts after it.
                                while chars.peek().is_some_and(|(_, c)| *c != ' ') {
                                    chars.next();
                                }
                                continue;
                            }
                            _ => at_start = false,
                        }
                    }
                    match c {
                        '#' if prev_space => return Ok(()),
                        ':' if next_is_space => at_start = true,
                        _ => {}
                    }
                } else {
                    match c {
                        '[' | '{' => {
                            self.flow = self.flow.saturating_add(1);
                            self.depth_ok()?;
                            at_start = true;
                        }
                        ']' | '}' => {
                            self.flow = self.flow.saturating_sub(1);
                            at_start = false;
                        }
                        ',' => at_start = true,
                        '?' | ':' if next_is_space => at_start = true,
                        '"' | '\'' if at_start => {
                            self.quote = Some(c);
                            text = text.get(i + 1..).unwrap_or("");
                            continue 'restart;
                        }
                        '#' if prev_space => {
                            self.flow_start = at_start;
                            return Ok(());
                        }
                        ' ' | '\t' => {}
                        _ => at_start = false,
                    }
                    self.flow_start = at_start;
                }
                prev_space = c == ' ' || c == '\t';
            }
            return Ok(());
        }
    }

    /// Where a quoted scalar (opened before `text`) ends: the text after the closing quote.
    fn end_of_quote<'t>(&mut self, text: &'t str) -> Option<&'t str> {
        let q = self.quote?;
        let mut chars = text.char_indices();
        while let Some((i, c)) = chars.next() {
            if q == '"' && c == '\\' {
                chars.next();
            } else if c == q {
                // `''` inside single quotes is an escaped quote.
                if q == '\'' && text.get(i + 1..).is_some_and(|r| r.starts_with('\'')) {
                    chars.next();
                    continue;
                }
                self.quote = None;
                return text.get(i + 1..);
            }
        }
        None
    }
}

/// Deserialize YAML text, bounded first; errors name the field and line, in French.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, InputError> {
    check_bounds(text)?;
    let de = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.location().map(|l| l.line());
        let raw = inner.to_string();
        let mut message = translate(&raw);
        // A key that is no name of ours (a line of some other file): name the place, not the key.
        if let Some(name) = unknown_field_name(&raw)
            && !looks_like_a_name(name)
        {
            path = match path.strip_suffix(name).map(|p| p.trim_end_matches('.')) {
                Some("") | None => ".".to_string(),
                Some(parent) => parent.to_string(),
            };
            message = "clé inconnue, qui n'est pas un nom de champ : ce n'est pas un fichier cpts de ce type".into();
        }
        InputError { field: path, message, line }
    })
}

fn unknown_field_name(raw: &str) -> Option<&str> {
    let rest = raw.split("unknown field `").nth(1)?;
    rest.rsplit_once("`, expected").map(|(name, _)| name).or_else(|| rest.strip_suffix('`'))
}

/// A field name as cpts writes them: short, letters, digits and `_`.
fn looks_like_a_name(name: &str) -> bool {
    name.chars().count() <= MAX_QUOTE && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// A YAML text as a generic value (bounded first), e.g. to apply merge keys before typing it.
pub fn value(text: &str) -> Result<yaml_serde::Value, InputError> {
    from_str(text)
}

/// A generic value typed, through its text, so numbers keep the reading rules of text input.
pub fn from_value<T: DeserializeOwned>(v: &yaml_serde::Value) -> Result<T, InputError> {
    let text = yaml_serde::to_string(v).map_err(|e| refusal(None, translate(&e.to_string())))?;
    // Lines of the rewritten text would mislead: the field names the place.
    from_str(&text).map_err(|e| InputError { line: None, ..e })
}

/// A whole number in decimal notation (`38000`, `38 000`), for `#[serde(deserialize_with)]`:
/// the scalar's text is asked for, so `0x10` or `0o17` are refused, not converted.
pub fn decimal_int<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    struct V<T>(std::marker::PhantomData<T>);
    impl<T: TryFrom<i64>> de::Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("un nombre entier (par exemple 38000)")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            T::try_from(v).map_err(|_| E::custom(format!("{v} hors limites")))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            let v = i64::try_from(v).map_err(|_| E::custom(format!("{v} hors limites")))?;
            self.visit_i64(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            let d = Dec::parse(v).map_err(E::custom)?;
            if d.scale() > 0 {
                return Err(E::custom(format!("« {} » : attendu un nombre entier", excerpt(v.trim()))));
            }
            self.visit_i64(d.mantissa())
        }
    }
    d.deserialize_str(V(std::marker::PhantomData))
}

/// `decimal_int` for an optional field (with `#[serde(default)]`).
pub fn decimal_int_opt<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: TryFrom<i64>> de::Visitor<'de> for V<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("un nombre entier (par exemple 38000)")
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            decimal_int(d).map(Some)
        }
    }
    d.deserialize_option(V(std::marker::PhantomData))
}

/// At most `MAX_QUOTE` characters of a piece of input, to quote it back.
pub fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX_QUOTE).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

/// The French name of what serde expected or found.
fn noun(w: &str) -> String {
    let w = w.trim();
    match w {
        w if w.starts_with("struct") || w == "map" || w.starts_with("a map") || w == "mapping" => {
            "une section (clés et valeurs)".into()
        }
        w if w.starts_with("sequence") || w.starts_with("a sequence") || w.starts_with("tuple") => "une liste".into(),
        w if w.starts_with("string") || w == "a string" || w.starts_with("a borrowed str") || w == "char" => {
            "un texte".into()
        }
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "integer" => "un nombre entier".into(),
        w if w.starts_with("integer") => "un nombre entier".into(),
        w if w.starts_with("floating point") || w == "f64" || w == "f32" => "un nombre à virgule".into(),
        "a boolean" | "boolean" | "bool" => "true ou false".into(),
        w if w.starts_with("boolean") => "true ou false".into(),
        "unit value" | "unit" | "null" => "une valeur vide".into(),
        w if w.starts_with("enum") => "une valeur de la liste".into(),
        w if w.starts_with("a ") && w.contains("date") => "une date AAAA-MM-JJ".into(),
        // Our own visitors already say what they expect in French.
        w => w.to_string(),
    }
}

/// The range of an integer type, said for users.
fn int_range(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "u8" => "un nombre entier de 0 à 255",
        "u16" => "un nombre entier de 0 à 65 535",
        "u32" => "un nombre entier de 0 à 4 294 967 295",
        "u64" | "usize" => "un nombre entier positif",
        "i64" => "un nombre entier",
        _ => return None,
    })
}

/// The YAML parser's and serde's English messages said in French for users; our own
/// (French) messages pass through. Nothing longer than `MAX_QUOTE` characters of the input
/// is quoted back.
pub fn translate(msg: &str) -> String {
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    let msg = msg.split(" at position ").next().unwrap_or(msg);
    // The YAML deserializer prefixes the path, which the error already names.
    let msg = match msg.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') && !head.is_empty() => rest,
        _ => msg,
    };
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("champ obligatoire manquant : {rest}");
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let (name, known) = rest.split_once(", expected").unwrap_or((rest, ""));
        let known = known.trim_start_matches(" one of").trim();
        let known = if known.is_empty() { String::new() } else { format!(" (attendu : {known})") };
        return format!("champ inconnu : {}{known}", excerpt(name));
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let (name, known) = rest.split_once(", expected").unwrap_or((rest, ""));
        let known = known.trim_start_matches(" one of").trim();
        let known = if known.is_empty() { String::new() } else { format!(" (valeurs possibles : {known})") };
        return format!("valeur inconnue : {}{known}", excerpt(name));
    }
    if let Some(rest) = msg.strip_prefix("duplicate field ") {
        return format!("champ donné deux fois : {rest}");
    }
    if let Some(rest) = msg.strip_prefix("invalid length ") {
        let (n, want) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        return format!("{n} éléments, attendu {want}");
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ").or_else(|| msg.strip_prefix("invalid value: ")) {
        let invalid_value = msg.starts_with("invalid value");
        let (got, want) = rest.rsplit_once(", expected ").unwrap_or((rest, "?"));
        let got_word = got.split([' ', '"', '`']).next().unwrap_or(got);
        let want_word = want.trim();
        // An integer outside the range of the field: both are integers, say the range.
        if got_word == "integer" && (invalid_value || int_range(want_word).is_some()) {
            let number: String = got.chars().filter(|c| c.is_ascii_digit() || *c == '-').take(MAX_QUOTE).collect();
            let range = int_range(want_word).map_or_else(|| noun(want), str::to_string);
            return format!("{number} hors limites : attendu {range}");
        }
        // Never the text found: it may be the whole content of a file that is not ours.
        return format!("attendu {}, trouvé {}", noun(want), noun(got_word));
    }
    if msg.contains("civil date") || msg.contains("failed to parse") {
        return "date invalide, attendu AAAA-MM-JJ (par exemple 2024-03-01)".into();
    }
    let known: &[(&str, &str)] = &[
        ("recursion limit exceeded", "imbrication trop profonde"),
        ("repetition limit exceeded", "trop de répétitions d'alias (&, *) : écrivez les valeurs en toutes lettres"),
        ("unknown anchor", "alias (*) vers une ancre (&) inconnue"),
        ("found undefined alias", "alias (*) vers une ancre (&) inconnue"),
        ("EOF while parsing", "fichier tronqué"),
        ("more than one document", "un seul document YAML par fichier (pas de séparateur ---)"),
        ("found character that cannot start any token", "caractère inattendu : le texte n'est pas du YAML valide"),
        ("found a tab character", "tabulation dans l'indentation : indentez avec des espaces"),
        (
            "mapping values are not allowed",
            "« : » inattendu (mettez le texte entre guillemets, ou vérifiez l'indentation)",
        ),
        ("did not find expected key", "indentation incohérente ou clé manquante"),
        ("did not find expected ',' or ']'", "liste entre crochets non fermée (« ] » manquant)"),
        ("did not find expected ',' or '}'", "section entre accolades non fermée (« } » manquant)"),
        ("did not find expected node content", "valeur manquante ou caractère inattendu"),
        ("did not find expected '-' indicator", "indentation incohérente dans une liste (« - » attendu)"),
        ("could not find expected ':'", "« : » manquant après une clé"),
        ("found unexpected end of stream", "fichier tronqué (guillemet ou crochet non fermé ?)"),
        ("found unknown escape character", "séquence d'échappement inconnue après « \\ » entre guillemets"),
        ("control characters are not allowed", "caractère de contrôle interdit"),
        ("UTF-8 octet", "encodage invalide : enregistrez le fichier en UTF-8"),
        ("UTF-8 sequence", "encodage invalide : enregistrez le fichier en UTF-8"),
        ("incomplete UTF", "encodage invalide : enregistrez le fichier en UTF-8"),
        ("invalid Unicode character", "caractère Unicode invalide"),
        ("found duplicate anchor", "ancre (&) définie deux fois"),
        ("duplicate entry", "clé donnée deux fois"),
        ("expected a mapping", "fusion (<<) : attendu une section"),
        ("expected a mapping or list of mappings", "fusion (<<) : attendu une section"),
    ];
    for (en, fr) in known {
        if msg.contains(en) {
            return (*fr).to_string();
        }
    }
    // A YAML syntax problem not listed above: say so in French, with the parser's words.
    if msg.starts_with("did not find")
        || msg.starts_with("found ")
        || msg.starts_with("while ")
        || msg.starts_with("could not")
        || msg.starts_with("expected ")
        || msg.starts_with("block ")
    {
        return format!("YAML invalide ({})", excerpt(msg));
    }
    msg.to_string()
}

/// A date as users write it, JJ/MM/AAAA or AAAA-MM-JJ (`crate::dates::parse_french`), for
/// `#[serde(deserialize_with)]` on the dates of the files people edit (case files, annexes,
/// report files).
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<jiff::civil::Date, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = jiff::civil::Date;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("une date JJ/MM/AAAA ou AAAA-MM-JJ")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<jiff::civil::Date, E> {
            crate::dates::parse_french(v).map_err(E::custom)
        }
    }
    d.deserialize_str(V)
}

/// An optional `date`: absent (with `#[serde(default)]`) or `null` is none.
pub fn date_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<jiff::civil::Date>, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Option<jiff::civil::Date>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("une date JJ/MM/AAAA ou AAAA-MM-JJ")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            date(d).map(Some)
        }
    }
    d.deserialize_option(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_refused(text: &str) -> bool {
        check_bounds(text).is_err_and(|e| e.message.contains("imbrication"))
    }

    #[test]
    fn deep_nesting_is_refused_quickly_with_its_line() {
        let deep = format!("a: 1\nb: {}", "[".repeat(80_000));
        let started = std::time::Instant::now();
        let e = check_bounds(&deep).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(from_str::<yaml_serde::Value>(&deep).is_err());
        assert!(started.elapsed().as_secs() < 2);
        assert!(depth_refused(&"- ".repeat(1000)));
        assert!(depth_refused(&"{a: ".repeat(100)));
        let stairs: String = (0..100).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert!(depth_refused(&stairs));
        let old_mac: String = (0..100).map(|i| format!("{}- \r", " ".repeat(2 * i))).collect();
        assert!(depth_refused(&old_mac));
        assert!(check_bounds(&" ".repeat(MAX_BYTES + 1)).is_err_and(|e| e.message.contains("trop grand")));
    }

    #[test]
    fn ordinary_text_is_not_mistaken_for_nesting() {
        let brackets = "[".repeat(100);
        let text = format!(
            "summary: |\n  {brackets}\n  text\ntitle: \"{brackets}\"\nnote: '{brackets}'\nplain: a {brackets}\n# {brackets}\nlist: [a, \"]\", '[', b] # {brackets}\nx: 1\n"
        );
        assert_eq!(check_bounds(&text), Ok(()));
        for f in [
            include_str!("../../../rules/aci/missions.yaml"),
            include_str!("../../../rules/aci/parameters.yaml"),
            include_str!("../../../tests/funding/missions.yaml"),
            include_str!("../../../examples/cpts-exemple.yaml"),
        ] {
            assert_eq!(check_bounds(f), Ok(()));
        }
    }

    #[test]
    fn messages_are_french_and_quote_little() {
        assert_eq!(
            translate("invalid value: integer `300`, expected u8"),
            "300 hors limites : attendu un nombre entier de 0 à 255"
        );
        let passwd = "invalid type: string \"root:$6$secret:0:0\", expected struct ReformFile";
        assert_eq!(translate(passwd), "attendu une section (clés et valeurs), trouvé un texte");
        assert!(!translate("found character that cannot start any token at line 1 column 1").contains("found"));
        assert!(translate("repetition limit exceeded").contains("alias"));
        assert!(translate(&format!("unknown variant `{}`, expected `lower` or `upper`", "x".repeat(500))).len() < 200);
    }
}

