//! French display of numbers, money and dates, written once for every page.

use cpts_engine::money::Cents;
use jiff::civil::Date;

/// `87 500,00 €`, never broken across lines: narrow no-break spaces between thousands and a
/// no-break space before the euro sign.
pub fn money(cents: i64) -> String {
    cents_of(Cents::new(cents))
}

pub fn cents_of(c: Cents) -> String {
    c.to_string().replace(" €", "\u{a0}€").replace(' ', "\u{202f}")
}

pub fn date(d: Date) -> String {
    cpts_engine::dates::fr(d)
}

/// `1 234 567` (narrow no-break spaces between thousands, as French typography has it).
pub fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    out
}

/// `12,3 %` of `part` in `whole`; « — » when the whole is nothing.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".into();
    }
    // Tenths of a percent, rounded half up, in integers.
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{},{}\u{a0}%", tenths / 10, tenths % 10)
}

/// Tenths of a percent of `part` in `whole` (for colour classes of the map).
pub fn permille(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    u64::try_from((u128::from(part) * 1000) / u128::from(whole)).unwrap_or(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers() {
        assert_eq!(int(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(int(999), "999");
        assert_eq!(percent(1, 3), "33,3\u{a0}%");
        assert_eq!(percent(2, 3), "66,7\u{a0}%");
        assert_eq!(percent(0, 0), "—");
        assert_eq!(money(8_750_000), "87\u{202f}500,00\u{a0}€");
        assert_eq!(money(-123_456_789), "-1\u{202f}234\u{202f}567,89\u{a0}€");
    }
}
