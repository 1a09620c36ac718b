//! Civil-date helpers: the only place where day counts and month/year steps are computed.

use jiff::{Span, civil::Date};

/// Days from `a` to `b` (`b − a`, negative when `b` is earlier).
pub fn days_between(a: Date, b: Date) -> i64 {
    b.duration_since(a).as_secs() / 86_400
}

/// `d` plus `n` months; the day is clamped to the month's end (31 Aug + 6 months = 28/29 Feb).
pub fn add_months(d: Date, n: u32) -> Option<Date> {
    d.checked_add(Span::new().months(i64::from(n))).ok()
}

/// `d` plus `n` years, counted from `d` itself (29 Feb + 1 year = 28 Feb).
pub fn add_years(d: Date, n: u32) -> Option<Date> {
    d.checked_add(Span::new().years(i64::from(n))).ok()
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
}
