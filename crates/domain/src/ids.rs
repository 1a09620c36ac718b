//! Identifiers, parsed and validated once at the edge. Errors are in French.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Luhn check over ASCII digits (the last digit is the key).
fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        let d = u32::from(c.wrapping_sub(b'0'));
        sum += if i % 2 == 1 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
    }
    sum.is_multiple_of(10)
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && *c != '.' && *c != '-').collect()
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

identifier!(
    /// SIRET: 14 digits, Luhn-checked (spaces allowed on input).
    Siret
);
identifier!(
    /// RPPS: the health professional's national number, 11 digits whose last is a Luhn key.
    Rpps
);
identifier!(
    /// FINESS: 9 characters, the département (2 digits, or 2A/2B) then 7 digits. Only the format is
    /// checked: the key rule of the 9th character could not be confirmed from a source here.
    Finess
);
identifier!(
    /// RNA: W followed by 9 characters (digits, or the Corsican 2A/2B).
    Rna
);
identifier!(
    /// A CPTS's identifier in cpts: a slug (`cpts-paris-18`): lower-case letters, digits, dashes.
    CptsId
);
identifier!(
    /// Code INSEE (COG) of a commune or arrondissement: 5 characters, 2A/2B for Corsica.
    InseeCode
);

/// SIRENs of La Poste's establishments follow another key rule than Luhn.
const LA_POSTE_SIREN: &str = "356000000";

impl std::str::FromStr for Siret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let c = compact(s);
        if c.len() != 14 || !c.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("SIRET « {s} » invalide : 14 chiffres attendus"));
        }
        let la_poste = c.starts_with(LA_POSTE_SIREN) && c.bytes().map(|b| u32::from(b - b'0')).sum::<u32>() % 5 == 0;
        if !luhn_ok(&c) && !la_poste {
            return Err(format!("SIRET « {s} » invalide : clé de contrôle (Luhn) incorrecte"));
        }
        Ok(Siret(c))
    }
}

impl std::str::FromStr for Rpps {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let c = compact(s);
        if c.len() != 11 || !c.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("RPPS « {s} » invalide : 11 chiffres attendus"));
        }
        if !luhn_ok(&c) {
            return Err(format!("RPPS « {s} » invalide : clé de contrôle (Luhn) incorrecte"));
        }
        Ok(Rpps(c))
    }
}

fn departement_prefix_ok(p: &str) -> bool {
    p == "2A" || p == "2B" || (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

impl std::str::FromStr for Finess {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let c = compact(s).to_ascii_uppercase();
        let ok = c.len() == 9
            && c.get(..2).is_some_and(departement_prefix_ok)
            && c.get(2..).is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Ok(Finess(c))
        } else {
            Err(format!("FINESS « {s} » invalide : 9 caractères attendus (département puis 7 chiffres)"))
        }
    }
}

impl std::str::FromStr for Rna {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let c = compact(s).to_ascii_uppercase();
        let ok = c.len() == 10
            && c.starts_with('W')
            && c.get(1..).is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit() || b == b'A' || b == b'B'));
        if ok { Ok(Rna(c)) } else { Err(format!("RNA « {s} » invalide : W suivi de 9 caractères attendu")) }
    }
}

/// Longest CPTS identifier: it is typed in commands and shown in every table.
pub const CPTS_ID_MAX: usize = 64;

impl std::str::FromStr for CptsId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= CPTS_ID_MAX
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(CptsId(s.to_string()))
        } else {
            Err(format!(
                "identifiant « {} » invalide : de 1 à {CPTS_ID_MAX} lettres minuscules sans accent, chiffres et tirets (ex. cpts-paris-18)",
                crate::text::quoted(s)
            ))
        }
    }
}

impl CptsId {
    /// A slug from a name: « CPTS Paris 18 » → `cpts-paris-18`.
    pub fn from_name(name: &str) -> Result<CptsId, String> {
        let folded = crate::geo::fold(name);
        let slug: String = folded
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        slug.parse().map_err(|_| {
            format!(
                "le nom « {} » ne donne pas d'identifiant (il en faut un de 1 à {CPTS_ID_MAX} lettres sans accent, chiffres et tirets) : choisissez un identifiant",
                crate::text::quoted(name)
            )
        })
    }
}

impl std::str::FromStr for InseeCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let c = s.trim().to_ascii_uppercase();
        let ok = c.len() == 5
            && c.get(..2).is_some_and(departement_prefix_ok)
            && c.get(2..).is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Ok(InseeCode(c))
        } else {
            Err(format!("code INSEE « {s} » invalide : 5 caractères attendus (2A/2B pour la Corse)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siret_is_luhn_checked() {
        // A 14-digit number whose Luhn key holds, and the same with its key changed.
        assert!("123 456 789 00015".parse::<Siret>().is_ok());
        assert!("12345678900016".parse::<Siret>().is_err());
        assert!("1234567890001".parse::<Siret>().is_err());
        assert!("1234567890001A".parse::<Siret>().is_err());
    }

    #[test]
    fn rpps_is_eleven_digits_with_a_luhn_key() {
        assert!("10000000009".parse::<Rpps>().is_ok());
        assert!("10000000003".parse::<Rpps>().is_err());
        assert!("1000000000".parse::<Rpps>().is_err());
    }

    #[test]
    fn a_name_that_gives_no_identifier_says_so() {
        assert_eq!(CptsId::from_name("CPTS Paris 18").map(|i| i.to_string()), Ok("cpts-paris-18".into()));
        for name in ["★ ★ ★", "", &"Santé ".repeat(20)] {
            let e = CptsId::from_name(name).unwrap_err();
            assert!(e.contains("ne donne pas d'identifiant") && e.contains("choisissez un identifiant"), "{e}");
            assert!(!e.contains("--id"), "the domain does not know the CLI: {e}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!("2a0000001".parse::<Finess>().map(|f| f.to_string()), Ok("2A0000001".to_string()));
        assert!("750000001".parse::<Finess>().is_ok());
        assert!("7500000X1".parse::<Finess>().is_err());
        assert!("W751234567".parse::<Rna>().is_ok());
        assert!("X751234567".parse::<Rna>().is_err());
        assert!("75118".parse::<InseeCode>().is_ok());
        assert!("2B033".parse::<InseeCode>().is_ok());
        assert!("7511".parse::<InseeCode>().is_err());
    }
}
