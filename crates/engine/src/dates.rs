//! Civil-date helpers: the only place where day counts and month/year steps are computed.

use jiff::civil::Date;

/// Days from `a` to `b` (`b − a`, negative when `b` is earlier).
pub fn days_between(a: Date, b: Date) -> i64 {
    b.duration_since(a).as_secs() / 86_400
}

/// `d` plus `n` months; the day is clamped to the month's end (31 Aug + 6 months = 28/29 Feb).
/// Same result as jiff's span arithmetic, without its generality (this is on the hot path).
pub fn add_months(d: Date, n: u32) -> Option<Date> {
    let months = i64::from(d.year()) * 12 + i64::from(d.month()) - 1 + i64::from(n);
    let year = i16::try_from(months.div_euclid(12)).ok()?;
    let month = i8::try_from(months.rem_euclid(12) + 1).ok()?;
    let first = Date::new(year, month, 1).ok()?;
    Date::new(year, month, d.day().min(first.days_in_month())).ok()
}

/// `d` plus `n` years, counted from `d` itself (29 Feb + 1 year = 28 Feb).
pub fn add_years(d: Date, n: u32) -> Option<Date> {
    add_months(d, n.checked_mul(12)?)
}

pub fn day_before(d: Date) -> Option<Date> {
    d.yesterday().ok()
}

pub fn day_after(d: Date) -> Option<Date> {
    d.tomorrow().ok()
}

/// French display: 24/08/2019.
pub fn fr(d: Date) -> String {
    format!("{:02}/{:02}/{:04}", d.day(), d.month(), d.year())
}

/// A date as typed in France: 01/03/2021, 1/3/2021, 1.3.2021, 01-03-2021, or ISO 2021-03-01.
pub fn parse_french(s: &str) -> Result<Date, String> {
    let s = s.trim();
    if let Ok(d) = s.parse::<Date>() {
        return Ok(d);
    }
    let parts: Vec<&str> = s.split(['/', '.', '-']).collect();
    if let [d, m, y] = parts.as_slice()
        && let (Ok(d), Ok(m), Ok(y)) = (d.parse::<i8>(), m.parse::<i8>(), y.parse::<i16>())
        && y > 999
    {
        return Date::new(y, m, d).map_err(|_| format!("date impossible « {s} »"));
    }
    Err(format!("date « {s} » illisible : attendu JJ/MM/AAAA ou AAAA-MM-JJ"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn steps_and_counts() {
        assert_eq!(days_between(date(2020, 1, 15), date(2021, 1, 15)), 366);
        assert_eq!(days_between(date(2021, 1, 15), date(2020, 1, 15)), -366);
        assert_eq!(add_months(date(2021, 8, 31), 6), Some(date(2022, 2, 28)));
        assert_eq!(add_years(date(2020, 2, 29), 1), Some(date(2021, 2, 28)));
        assert_eq!(add_years(date(2020, 2, 29), 4), Some(date(2024, 2, 29)));
        assert_eq!(fr(date(2019, 8, 24)), "24/08/2019");
    }

    #[test]
    fn french_dates_as_typed() {
        for typed in ["01/03/2021", "1/3/2021", "1.3.2021", "01-03-2021", "2021-03-01", " 01/03/2021 "] {
            assert_eq!(parse_french(typed), Ok(date(2021, 3, 1)), "{typed}");
        }
        assert_eq!(parse_french("31/02/2021"), Err("date impossible « 31/02/2021 »".into()));
        for bad in ["", "mars 2021", "01/03/21", "1/3/99999", "01/03"] {
            assert!(parse_french(bad).unwrap_err().contains("illisible"), "{bad}");
        }
    }

    #[test]
    fn month_steps_match_jiff_span_arithmetic() {
        let mut d = date(2019, 1, 1);
        while d < date(2030, 1, 1) {
            for n in [0, 1, 6, 12, 18, 24, 60, 61] {
                let expected = d.checked_add(jiff::Span::new().months(n)).ok();
                assert_eq!(add_months(d, u32::try_from(n).unwrap()), expected, "{d} + {n} mois");
            }
            d = d.tomorrow().unwrap();
        }
    }
}
