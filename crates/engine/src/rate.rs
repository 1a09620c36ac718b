//! Exact decimals read from input, and fractions of one.
//!
//! Rounding rule for rates (the only one): an indicator's achievement is the
//! exact quotient truncated to nine decimals (`Fraction`), then capped to [0, 1].
//! Truncation never pays more than the exact rule would. A rate computed from counts
//! (numerator and denominator of an indicator) is truncated to 0.01 point (`Dec::percent`).
//!
//! Display rule for rates (the only one, `Fraction`'s `Display`): a percentage rounded to the
//! nearest 0.01 point, trailing zeros dropped (`80 %`, `62,5 %`, `33,33 %`), so that a reader sees
//! 80 % and not the computation's 79,9999999 %; a rate below one never reads `100 %` (it shows
//! `99,99 %`). Amounts are computed from the exact fraction, never from the text.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

/// Largest number of decimals accepted in input numbers.
pub const MAX_SCALE: u8 = 9;

/// An exact decimal as typed by a user: `mantissa × 10^-scale`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dec {
    mantissa: i64,
    scale: u8,
}

impl Dec {
    pub const fn from_int(v: i64) -> Self {
        Dec { mantissa: v, scale: 0 }
    }

    pub fn mantissa(self) -> i64 {
        self.mantissa
    }

    pub fn scale(self) -> u8 {
        self.scale
    }

    /// Parse `12`, `-12.5`, `12,5` (decimal comma), `1 234,5` (spaces as
    /// thousands separators), `12.5 %` (a trailing percent sign is dropped:
    /// the field says whether it is a percentage).
    pub fn parse(text: &str) -> Result<Dec, String> {
        let cleaned: String =
            text.trim().trim_end_matches('%').chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
        let (negative, digits) = match cleaned.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
        };
        if digits.is_empty() {
            return Err("nombre vide".into());
        }
        let (int_part, frac_part) = match digits.split_once([',', '.']) {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty()
            || !int_part.chars().all(|c| c.is_ascii_digit())
            || !frac_part.chars().all(|c| c.is_ascii_digit())
        {
            return Err(format!(
                "« {} » n'est pas un nombre (notation décimale attendue, par exemple 12 ou 12,5)",
                crate::yaml::excerpt(text.trim())
            ));
        }
        let frac_part = frac_part.trim_end_matches('0');
        let scale = u8::try_from(frac_part.len())
            .ok()
            .filter(|s| *s <= MAX_SCALE)
            .ok_or_else(|| format!("« {} » : plus de {MAX_SCALE} décimales", crate::yaml::excerpt(text.trim())))?;
        let mut mantissa: i64 = 0;
        for ch in int_part.chars().chain(frac_part.chars()) {
            let d = i64::from(ch.to_digit(10).unwrap_or(0));
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(d))
                .ok_or_else(|| format!("« {} » : nombre trop grand", crate::yaml::excerpt(text.trim())))?;
        }
        Ok(Dec { mantissa: if negative { -mantissa } else { mantissa }, scale })
    }

    /// The value scaled to `10^-MAX_SCALE` units, exact.
    pub fn to_nano_units(self) -> i128 {
        const POW10: [i128; 10] =
            [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];
        let factor = POW10.get(usize::from(MAX_SCALE.saturating_sub(self.scale))).copied().unwrap_or(1);
        i128::from(self.mantissa) * factor
    }

    pub fn is_negative(self) -> bool {
        self.mantissa < 0
    }

    /// A value given in `10^-MAX_SCALE` units, trailing zeros dropped; `None` when too large.
    pub fn from_nano_units(n: i128) -> Option<Dec> {
        // Trailing zeros go first, so a large whole number fits the 64-bit mantissa.
        let mut n = n;
        let mut scale = MAX_SCALE;
        while scale > 0 && n % 10 == 0 {
            n /= 10;
            scale -= 1;
        }
        Some(Dec { mantissa: i64::try_from(n).ok()?, scale })
    }

    /// `100 × num / den` truncated to 0.01 point: the rate of an indicator given by its counts
    /// (both in `10^-MAX_SCALE` units). `None` for a zero or negative denominator.
    pub fn percent(num: i128, den: i128) -> Option<Dec> {
        if den <= 0 {
            return None;
        }
        let hundredths = num.checked_mul(10_000)? / den;
        Dec::from_nano_units(hundredths.checked_mul(10_000_000)?)
    }
}

impl fmt::Display for Dec {
    /// French decimal comma.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let abs = self.mantissa.unsigned_abs();
        let scale = usize::from(self.scale);
        if scale == 0 {
            return f.pad(&format!("{sign}{abs}"));
        }
        let digits = format!("{abs:0>width$}", width = scale + 1);
        let (i, d) = digits.split_at(digits.len() - scale);
        f.pad(&format!("{sign}{i},{d}"))
    }
}

/// Decimal notation only: the scalar's text is asked for, so `0x10`, `0o17` or `1e3` (numbers
/// to the YAML parser) are refused, not converted.
impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("un nombre (par exemple 12 ou \"12,5\")")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dec, E> {
                Ok(Dec::from_int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dec, E> {
                i64::try_from(v).map(Dec::from_int).map_err(|_| E::custom("nombre trop grand"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dec, E> {
                Dec::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A fraction of one in units of 10^-9 (0 ..= 1 000 000 000 for rates in [0, 1]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fraction(i64);

impl Fraction {
    pub const DENOM: i64 = 1_000_000_000;
    pub const ZERO: Fraction = Fraction(0);
    pub const ONE: Fraction = Fraction(Self::DENOM);

    pub const fn from_nano(n: i64) -> Self {
        Fraction(n)
    }

    pub const fn nano(self) -> i64 {
        self.0
    }

    /// A percentage typed by a user (`75` → 0.75). Exact or an error.
    pub fn from_percent(p: Dec) -> Result<Fraction, String> {
        // p % = p/100; in 1e-9 units: p × 1e7, exact when p has ≤ 7 decimals.
        let units = p.to_nano_units(); // p × 1e9
        if units % 100 != 0 {
            return Err(format!("« {p} % » : plus de 7 décimales"));
        }
        i64::try_from(units / 100).map(Fraction).map_err(|_| format!("« {p} % » : trop grand"))
    }

    /// `(num / den)` truncated to 10^-9 then capped to [0, 1]: the rate rule.
    pub fn ratio_capped(num: i128, den: i128) -> Fraction {
        if den == 0 {
            return Fraction::ZERO;
        }
        let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
        if num <= 0 {
            return Fraction::ZERO;
        }
        if num >= den {
            return Fraction::ONE;
        }
        // 0 < num < den: num × 1e9 / den fits, result < 1e9.
        let q = num.saturating_mul(i128::from(Self::DENOM)) / den;
        Fraction(i64::try_from(q).unwrap_or(Self::DENOM))
    }
}

impl fmt::Display for Fraction {
    /// As a French percentage rounded to 0.01 point, trailing zeros removed: `62,5 %` (see the
    /// module's display rule).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 1 point = 1e7 nano; a hundredth of a point = 1e5 nano; round half away from zero.
        const HUNDREDTH: i64 = 100_000;
        let half = if self.0 < 0 { -HUNDREDTH / 2 } else { HUNDREDTH / 2 };
        let mut hundredths = self.0.saturating_add(half) / HUNDREDTH;
        if hundredths == 10_000 && self.0 < Self::DENOM {
            hundredths = 9_999;
        }
        let d = Dec { mantissa: hundredths, scale: 2 };
        let trimmed = Dec::parse(&d.to_string()).unwrap_or(d);
        f.pad(&format!("{trimmed} %"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(Dec::parse("12,5"), Ok(Dec { mantissa: 125, scale: 1 }));
        assert_eq!(Dec::parse("1 234.50"), Ok(Dec { mantissa: 12345, scale: 1 }));
        assert_eq!(Dec::parse("-0,001"), Ok(Dec { mantissa: -1, scale: 3 }));
        assert_eq!(Dec::parse("75 %"), Ok(Dec { mantissa: 75, scale: 0 }));
        assert!(Dec::parse("abc").is_err());
        assert!(Dec::parse("1,2,3").is_err());
        assert!(Dec::parse(",").is_err());
        assert!(Dec::parse("0,0000000001").is_err());
        assert_eq!(Dec::parse("12,5").map(|d| d.to_string()), Ok("12,5".to_string()));
    }

    #[test]
    fn rate_rule_truncates_and_caps() {
        assert_eq!(Fraction::ratio_capped(1, 3), Fraction(333_333_333));
        assert_eq!(Fraction::ratio_capped(2, 3), Fraction(666_666_666));
        assert_eq!(Fraction::ratio_capped(5, 4), Fraction::ONE);
        assert_eq!(Fraction::ratio_capped(-1, 4), Fraction::ZERO);
        assert_eq!(Fraction::ratio_capped(-1, -4), Fraction(250_000_000));
        assert_eq!(Fraction::from_percent(Dec::from_int(75)), Ok(Fraction(750_000_000)));
        assert_eq!(Fraction(625_000_000).to_string(), "62,5 %");
        assert_eq!(Fraction(333_333_333).to_string(), "33,33 %");
    }

    #[test]
    fn rates_read_as_a_reader_expects() {
        assert_eq!(Fraction(799_999_999).to_string(), "80 %");
        assert_eq!(Fraction(706_679_999).to_string(), "70,67 %");
        assert_eq!(Fraction(666_666_666).to_string(), "66,67 %");
        assert_eq!(Fraction(758_333_333).to_string(), "75,83 %");
        assert_eq!(Fraction(629_200_000).to_string(), "62,92 %");
        assert_eq!(Fraction::ONE.to_string(), "100 %");
        assert_eq!(Fraction::ZERO.to_string(), "0 %");
        // Not reached is never shown as reached.
        assert_eq!(Fraction(999_999_999).to_string(), "99,99 %");
    }

    #[test]
    fn a_rate_from_counts_is_truncated_to_a_hundredth_of_a_point() {
        let n = |v: i64| Dec::from_int(v).to_nano_units();
        assert_eq!(Dec::percent(n(2), n(3)).map(|d| d.to_string()), Some("66,66".into()));
        assert_eq!(Dec::percent(n(1), n(4)).map(|d| d.to_string()), Some("25".into()));
        assert_eq!(Dec::percent(n(7), n(7)).map(|d| d.to_string()), Some("100".into()));
        assert_eq!(Dec::percent(n(1), 0), None);
        assert_eq!(Dec::from_nano_units(1_500_000_000).map(|d| d.to_string()), Some("1,5".into()));
        // Twelve months of a billion: the sum is whole, it fits.
        assert_eq!(Dec::from_nano_units(12_000_000_000_000_000_000).map(|d| d.to_string()), Some("12000000000".into()));
        assert_eq!(Dec::from_nano_units(i128::MAX), None);
    }
}
