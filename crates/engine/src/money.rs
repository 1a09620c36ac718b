//! Money: integer euro cents, and the one rounding rule for money.
//!
//! Rounding rule (the only one for money, see `Cents::mul_ratio`): an amount
//! obtained by multiplying an amount by an exact fraction is computed from the
//! exact integers in one step and rounded to the nearest cent, halves away from
//! zero. Balances are differences, so they never round.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// An amount in euro cents. Serialised as an integer number of cents (machine
/// output); read from human input as euros (see `Deserialize`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64, example = 5000000))]
pub struct Cents(i64);

/// Money arithmetic left the range of 64-bit cents (about 92 000 billion euros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dépassement de capacité dans un calcul de montant")
    }
}

impl std::error::Error for Overflow {}

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub const fn new(cents: i64) -> Self {
        Cents(cents)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn from_euros(euros: i64) -> Result<Self, Overflow> {
        euros.checked_mul(100).map(Cents).ok_or(Overflow)
    }

    pub fn checked_add(self, other: Cents) -> Result<Cents, Overflow> {
        self.0.checked_add(other.0).map(Cents).ok_or(Overflow)
    }

    pub fn checked_sub(self, other: Cents) -> Result<Cents, Overflow> {
        self.0.checked_sub(other.0).map(Cents).ok_or(Overflow)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self × num / den`, rounded to the nearest cent, halves away from zero.
    /// This is the single rounding rule for money in cpts.
    pub fn mul_ratio(self, num: i128, den: i128) -> Result<Cents, Overflow> {
        let product = i128::from(self.0).checked_mul(num).ok_or(Overflow)?;
        let rounded = div_round_half_away(product, den).ok_or(Overflow)?;
        i64::try_from(rounded).map(Cents).map_err(|_| Overflow)
    }

    /// Sum of amounts, checked.
    pub fn sum<I: IntoIterator<Item = Cents>>(items: I) -> Result<Cents, Overflow> {
        items.into_iter().try_fold(Cents::ZERO, Cents::checked_add)
    }

    /// Parse euros as people write them: `87500`, `87500.5`, `87 500,50`, `87 500,50 €`.
    /// More than two decimals is an error, never a silent rounding.
    pub fn parse_euros(text: &str) -> Result<Cents, String> {
        let shown = crate::yaml::excerpt(text.trim());
        let dec = crate::rate::Dec::parse(text.trim().trim_end_matches('€'))
            .map_err(|e| format!("montant invalide « {shown} » : {e}"))?;
        if dec.scale() > 2 {
            return Err(format!(
                "montant invalide « {shown} » : plus de deux décimales (les montants sont au centime)"
            ));
        }
        let factor = 10_i64.pow(2 - u32::from(dec.scale()));
        dec.mantissa().checked_mul(factor).map(Cents).ok_or_else(|| format!("montant trop grand « {shown} »"))
    }
}

/// Integer division of `n` by `d` rounded to nearest, halves away from zero.
pub(crate) fn div_round_half_away(n: i128, d: i128) -> Option<i128> {
    if d == 0 {
        return None;
    }
    let (n, d) = if d < 0 { (n.checked_neg()?, d.checked_neg()?) } else { (n, d) };
    let q = n / d;
    let r = n - q * d; // one 128-bit division, not two (`%` would call the runtime again)
    // |r| * 2 >= d  <=> round away from zero
    if r.checked_abs()?.checked_mul(2)? >= d {
        if n >= 0 { q.checked_add(1) } else { q.checked_sub(1) }
    } else {
        Some(q)
    }
}

/// `1234567` → `1 234 567` (French thousands separator; a plain space for terminals).
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

impl fmt::Display for Cents {
    /// French format: `87 500,00 €` (space as thousands separator).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let euros = abs / 100;
        let cents = abs % 100;
        let grouped = group_thousands(euros);
        let text = format!("{sign}{grouped},{cents:02} €");
        f.pad(&text)
    }
}

impl Serialize for Cents {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

/// Human input is in euros, in decimal notation only: an integer, a decimal number with at
/// most two decimals, or a French string such as "131 250,00 €". The scalar's text is asked
/// for, so `0x10`, `0o17` or `1e3` (numbers to the YAML parser) are refused, not converted.
impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Cents;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("un montant en euros (par exemple 87500 ou \"87 500,00\")")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cents, E> {
                Cents::from_euros(v).map_err(|_| E::custom("montant trop grand"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cents, E> {
                let v = i64::try_from(v).map_err(|_| E::custom("montant trop grand"))?;
                self.visit_i64(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Cents, E> {
                Cents::parse_euros(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        // 1 cent × 1/2 = 0.5 → 1 ; 3 × 1/2 = 1.5 → 2 ; 1 × 1/3 → 0 ; 2 × 1/3 → 1
        assert_eq!(Cents::new(1).mul_ratio(1, 2), Ok(Cents::new(1)));
        assert_eq!(Cents::new(3).mul_ratio(1, 2), Ok(Cents::new(2)));
        assert_eq!(Cents::new(1).mul_ratio(1, 3), Ok(Cents::new(0)));
        assert_eq!(Cents::new(2).mul_ratio(1, 3), Ok(Cents::new(1)));
        assert_eq!(Cents::new(-3).mul_ratio(1, 2), Ok(Cents::new(-2)));
        assert_eq!(Cents::new(-1).mul_ratio(1, 3), Ok(Cents::new(0)));
        // 75 % of 50 000,00 € = 37 500,00 €
        assert_eq!(Cents::new(5_000_000).mul_ratio(75, 100), Ok(Cents::new(3_750_000)));
        // 40 000 € × 75 % × 92/366 = 7 540,983... € → 7 540,98 €
        assert_eq!(Cents::new(4_000_000).mul_ratio(75 * 92, 100 * 366), Ok(Cents::new(754_098)));
        assert_eq!(Cents::new(1).mul_ratio(1, 0), Err(Overflow));
        assert_eq!(Cents::new(i64::MAX).mul_ratio(2, 1), Err(Overflow));
    }

    #[test]
    fn parses_french_and_plain_euros() {
        assert_eq!(Cents::parse_euros("87500"), Ok(Cents::new(8_750_000)));
        assert_eq!(Cents::parse_euros("87 500,50 €"), Ok(Cents::new(8_750_050)));
        assert_eq!(Cents::parse_euros("131250.5"), Ok(Cents::new(13_125_050)));
        assert_eq!(Cents::parse_euros("-12,30"), Ok(Cents::new(-1230)));
        assert!(Cents::parse_euros("1,234").is_err());
        assert!(Cents::parse_euros("12a").is_err());
        assert!(Cents::parse_euros("").is_err());
    }

    #[test]
    fn displays_in_french() {
        assert_eq!(Cents::new(8_750_050).to_string(), "87 500,50 €");
        assert_eq!(Cents::new(5).to_string(), "0,05 €");
        assert_eq!(Cents::new(-123_456_789).to_string(), "-1 234 567,89 €");
        assert_eq!(Cents::new(100_000).to_string(), "1 000,00 €");
    }
}
