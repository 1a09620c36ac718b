//! Today's date: the civil date in Europe/Paris (where CPAM and ARS count their delays), from
//! one clock the application is given. Tests fix it.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

#[derive(Clone, Debug)]
pub enum Clock {
    System,
    /// Always this instant.
    Fixed(Timestamp),
}

impl Clock {
    pub fn system() -> Clock {
        Clock::System
    }

    /// A clock stopped at noon, Paris time, on `day`.
    pub fn on(day: Date) -> Clock {
        let noon = day.at(12, 0, 0, 0);
        Clock::Fixed(noon.to_zoned(paris()).map_or_else(|_| Timestamp::UNIX_EPOCH, |z| z.timestamp()))
    }

    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(t) => *t,
        }
    }

    /// Today in Europe/Paris.
    pub fn today(&self) -> Date {
        Zoned::new(self.now(), paris()).date()
    }

    /// The first instant of `day` in Europe/Paris (to read what was recorded before a date).
    pub fn start_of(day: Date) -> Timestamp {
        day.to_zoned(paris()).map_or(Timestamp::UNIX_EPOCH, |z| z.timestamp())
    }
}

fn paris() -> TimeZone {
    // Bundled time zone data: the same answer on every machine, whatever its own zone.
    TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn today_is_the_paris_date_not_the_utc_one() {
        // 23:30 UTC on 31 December is already 1 January in Paris (UTC+1 in winter).
        let t: Timestamp = "2025-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(Clock::Fixed(t).today(), jiff::civil::date(2026, 1, 1));
        // 22:30 UTC on 30 June is 00:30 on 1 July in Paris (UTC+2 in summer).
        let t: Timestamp = "2026-06-30T22:30:00Z".parse().unwrap();
        assert_eq!(Clock::Fixed(t).today(), jiff::civil::date(2026, 7, 1));
        assert_eq!(Clock::on(jiff::civil::date(2026, 3, 29)).today(), jiff::civil::date(2026, 3, 29));
        assert_eq!(Clock::start_of(jiff::civil::date(2026, 1, 1)).to_string(), "2025-12-31T23:00:00Z");
    }
}
