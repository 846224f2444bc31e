//! The tenant's calendar: time zone, holiday set, closing days, and working-day deadlines.
//!
//! Local dates are always taken in the calendar's IANA time zone (never a fixed offset),
//! so deadlines and day boundaries follow daylight saving time.

use crate::Instant;
use chrono::{
    Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday,
};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// The holiday set of a calendar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HolidaySet {
    /// The holidays of the Algemene termijnenwet.
    #[default]
    Nl,
    /// The ten Belgian legal holidays.
    Be,
}

/// A tenant's calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    pub time_zone: Tz,
    pub holidays: HolidaySet,
    pub closing_days: BTreeSet<NaiveDate>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            time_zone: chrono_tz::Europe::Amsterdam,
            holidays: HolidaySet::Nl,
            closing_days: BTreeSet::new(),
        }
    }
}

/// Easter Sunday of a year (Gregorian computus).
pub fn easter_sunday(year: i32) -> NaiveDate {
    // The anonymous Gregorian algorithm (Meeus/Jones/Butcher).
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .expect("the computus yields a date in March or April")
}

/// The holidays of a set in a year, with their names.
pub fn holidays(set: HolidaySet, year: i32) -> Vec<(NaiveDate, &'static str)> {
    let fixed = |month: u32, day: u32| {
        NaiveDate::from_ymd_opt(year, month, day).expect("a fixed holiday is a valid date")
    };
    let easter = easter_sunday(year);
    let after_easter = |days: i64| easter + Duration::days(days);
    let mut days = match set {
        HolidaySet::Nl => {
            let kings_day = match fixed(4, 27) {
                d if d.weekday() == Weekday::Sun => fixed(4, 26),
                d => d,
            };
            vec![
                (fixed(1, 1), "Nieuwjaarsdag"),
                (after_easter(1), "tweede Paasdag"),
                (kings_day, "Koningsdag"),
                (fixed(5, 5), "Bevrijdingsdag"),
                (after_easter(39), "Hemelvaartsdag"),
                (after_easter(50), "tweede Pinksterdag"),
                (fixed(12, 25), "eerste Kerstdag"),
                (fixed(12, 26), "tweede Kerstdag"),
            ]
        }
        HolidaySet::Be => vec![
            (fixed(1, 1), "Nieuwjaar"),
            (after_easter(1), "Paasmaandag"),
            (fixed(5, 1), "Dag van de Arbeid"),
            (after_easter(39), "Onze-Lieve-Heer-Hemelvaart"),
            (after_easter(50), "Pinkstermaandag"),
            (fixed(7, 21), "Nationale feestdag"),
            (fixed(8, 15), "Onze-Lieve-Vrouw-Hemelvaart"),
            (fixed(11, 1), "Allerheiligen"),
            (fixed(11, 11), "Wapenstilstand"),
            (fixed(12, 25), "Kerstmis"),
        ],
    };
    days.sort_by_key(|(date, _)| *date);
    days
}

impl Calendar {
    /// Whether `date` is a holiday of the set.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holiday_name(date).is_some()
    }

    /// The name of the holiday on `date`, if it is one of the set.
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&'static str> {
        holidays(self.holidays, date.year())
            .into_iter()
            .find(|(d, _)| *d == date)
            .map(|(_, name)| name)
    }

    /// Whether `date` is one of the tenant's own closing days.
    pub fn is_closing_day(&self, date: NaiveDate) -> bool {
        self.closing_days.contains(&date)
    }

    /// Monday to Friday, not a holiday, not a closing day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && !self.is_closing_day(date)
            && !self.is_holiday(date)
    }

    /// The local date of an instant.
    pub fn local_date(&self, t: Instant) -> NaiveDate {
        t.with_timezone(&self.time_zone).date_naive()
    }

    /// The instant the local date begins (00:00 local; the first valid instant if a
    /// clock change skips midnight).
    pub fn start_of_day(&self, date: NaiveDate) -> Instant {
        let midnight = date.and_time(NaiveTime::MIN);
        if let Some(t) = self.earliest(midnight) {
            return t;
        }
        // Midnight falls in a gap (clocks jump forward at 00:00). The day begins at the
        // transition, which is the first valid local time after midnight: find it to the
        // minute, then to the second (some historical offsets are not whole minutes).
        let mut minute = midnight;
        let first_valid_minute = loop {
            minute += Duration::minutes(1);
            if self.earliest(minute).is_some() {
                break minute;
            }
            assert!(
                minute - midnight < Duration::days(1),
                "a time zone gap longer than a day"
            );
        };
        let mut first = first_valid_minute;
        let mut second = first_valid_minute - Duration::seconds(1);
        while second > midnight && self.earliest(second).is_some() {
            first = second;
            second -= Duration::seconds(1);
        }
        self.earliest(first)
            .expect("checked to be a valid local time")
    }

    /// The instant a local date ends (24:00 local), which is when the next one begins.
    pub fn end_of_day(&self, date: NaiveDate) -> Instant {
        self.start_of_day(next_day(date))
    }

    /// The earliest instant with this local time, if the local time exists.
    fn earliest(&self, local: NaiveDateTime) -> Option<Instant> {
        match self.time_zone.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.to_utc()),
            LocalResult::Ambiguous(a, b) => Some(a.to_utc().min(b.to_utc())),
            LocalResult::None => None,
        }
    }

    /// "Within n working days" of `from`: the end (24:00 local) of the n-th working day
    /// after the local day of `from`, as the instant the next local day begins.
    /// With n = 0, the end of the local day of `from`.
    pub fn working_days_deadline(&self, from: Instant, n: u32) -> Instant {
        let mut day = self.local_date(from);
        let mut counted = 0;
        while counted < n {
            day = next_day(day);
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        self.end_of_day(day)
    }

    /// The local date a due time belongs to: a due time of exactly 24:00 (00:00 of the
    /// next day) belongs to the day that ends then.
    pub fn due_date(&self, due: Instant) -> NaiveDate {
        let local = due.with_timezone(&self.time_zone);
        let date = local.date_naive();
        // 00:00:00 local, or the first instant of a day whose midnight was skipped by a
        // clock change, is 24:00 of the day before.
        if local.time() == NaiveTime::MIN || due == self.start_of_day(date) {
            date.pred_opt()
                .expect("a date after the first representable one")
        } else {
            date
        }
    }
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt()
        .expect("a date before the last representable one")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Timelike};
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(rfc3339: &str) -> Instant {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    fn nl() -> Calendar {
        Calendar::default()
    }

    fn be() -> Calendar {
        Calendar {
            time_zone: chrono_tz::Europe::Brussels,
            holidays: HolidaySet::Be,
            closing_days: BTreeSet::new(),
        }
    }

    #[test]
    fn default_calendar_is_amsterdam_nl() {
        let c = Calendar::default();
        assert_eq!(c.time_zone, chrono_tz::Europe::Amsterdam);
        assert_eq!(c.holidays, HolidaySet::Nl);
        assert!(c.closing_days.is_empty());
        assert_eq!(HolidaySet::default(), HolidaySet::Nl);
    }

    #[test]
    fn easter_dates() {
        for (y, m, d) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2000, 4, 23),
            (2008, 3, 23), // early
            (2011, 4, 24), // late
            (2038, 4, 25), // latest possible
            (2285, 3, 22), // earliest possible
            (1818, 3, 22),
        ] {
            assert_eq!(easter_sunday(y), date(y, m, d), "Easter {y}");
        }
        for y in 1583..2500 {
            let e = easter_sunday(y);
            assert_eq!(e.weekday(), Weekday::Sun, "{y}");
            assert!(e >= date(y, 3, 22) && e <= date(y, 4, 25), "{y}");
        }
    }

    #[test]
    fn nl_holidays_2025_and_2026() {
        let expected_2025 = vec![
            (date(2025, 1, 1), "Nieuwjaarsdag"),
            (date(2025, 4, 21), "tweede Paasdag"),
            (date(2025, 4, 26), "Koningsdag"), // 27 April 2025 is a Sunday
            (date(2025, 5, 5), "Bevrijdingsdag"),
            (date(2025, 5, 29), "Hemelvaartsdag"),
            (date(2025, 6, 9), "tweede Pinksterdag"),
            (date(2025, 12, 25), "eerste Kerstdag"),
            (date(2025, 12, 26), "tweede Kerstdag"),
        ];
        assert_eq!(holidays(HolidaySet::Nl, 2025), expected_2025);
        let expected_2026 = vec![
            (date(2026, 1, 1), "Nieuwjaarsdag"),
            (date(2026, 4, 6), "tweede Paasdag"),
            (date(2026, 4, 27), "Koningsdag"),
            (date(2026, 5, 5), "Bevrijdingsdag"),
            (date(2026, 5, 14), "Hemelvaartsdag"),
            (date(2026, 5, 25), "tweede Pinksterdag"),
            (date(2026, 12, 25), "eerste Kerstdag"),
            (date(2026, 12, 26), "tweede Kerstdag"),
        ];
        assert_eq!(holidays(HolidaySet::Nl, 2026), expected_2026);
        let expected_2024 = vec![
            (date(2024, 1, 1), "Nieuwjaarsdag"),
            (date(2024, 4, 1), "tweede Paasdag"),
            (date(2024, 4, 27), "Koningsdag"), // a Saturday: stays
            (date(2024, 5, 5), "Bevrijdingsdag"),
            (date(2024, 5, 9), "Hemelvaartsdag"),
            (date(2024, 5, 20), "tweede Pinksterdag"),
            (date(2024, 12, 25), "eerste Kerstdag"),
            (date(2024, 12, 26), "tweede Kerstdag"),
        ];
        assert_eq!(holidays(HolidaySet::Nl, 2024), expected_2024);
        let c = nl();
        for (d, _) in expected_2024
            .iter()
            .chain(&expected_2025)
            .chain(&expected_2026)
        {
            assert!(c.is_holiday(*d), "{d}");
            assert!(!c.is_working_day(*d), "{d}");
        }
        // Koningsdag on a Sunday moves to the Saturday, and the Sunday is no holiday.
        assert!(!c.is_holiday(date(2025, 4, 27)));
        assert_eq!(c.holiday_name(date(2025, 4, 26)), Some("Koningsdag"));
        assert_eq!(holidays(HolidaySet::Nl, 2031)[2].0, date(2031, 4, 26));
        // Bevrijdingsdag every year, not only each fifth.
        assert!(c.is_holiday(date(2026, 5, 5)) && c.is_holiday(date(2027, 5, 5)));
    }

    #[test]
    fn goede_vrijdag_is_not_an_nl_holiday() {
        let c = nl();
        for y in [2024, 2025, 2026] {
            let good_friday = easter_sunday(y) - Duration::days(2);
            assert!(!c.is_holiday(good_friday), "{good_friday}");
            assert!(c.is_working_day(good_friday), "{good_friday}");
        }
        // Easter Sunday and Whit Sunday are Sundays, named or not.
        assert!(!c.is_working_day(easter_sunday(2026)));
    }

    #[test]
    fn be_holidays_2025_and_2026() {
        assert_eq!(
            holidays(HolidaySet::Be, 2025),
            vec![
                (date(2025, 1, 1), "Nieuwjaar"),
                (date(2025, 4, 21), "Paasmaandag"),
                (date(2025, 5, 1), "Dag van de Arbeid"),
                (date(2025, 5, 29), "Onze-Lieve-Heer-Hemelvaart"),
                (date(2025, 6, 9), "Pinkstermaandag"),
                (date(2025, 7, 21), "Nationale feestdag"),
                (date(2025, 8, 15), "Onze-Lieve-Vrouw-Hemelvaart"),
                (date(2025, 11, 1), "Allerheiligen"),
                (date(2025, 11, 11), "Wapenstilstand"),
                (date(2025, 12, 25), "Kerstmis"),
            ]
        );
        let days_2026: Vec<NaiveDate> = holidays(HolidaySet::Be, 2026)
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        assert_eq!(
            days_2026,
            vec![
                date(2026, 1, 1),
                date(2026, 4, 6),
                date(2026, 5, 1),
                date(2026, 5, 14),
                date(2026, 5, 25),
                date(2026, 7, 21),
                date(2026, 8, 15),
                date(2026, 11, 1),
                date(2026, 11, 11),
                date(2026, 12, 25),
            ]
        );
        let c = be();
        for d in &days_2026 {
            assert!(c.is_holiday(*d) && !c.is_working_day(*d), "{d}");
        }
        // No Koningsdag, Bevrijdingsdag or 26 December in Belgium; no 21 July in NL.
        for d in [date(2026, 4, 27), date(2026, 5, 5), date(2025, 12, 26)] {
            assert!(!c.is_holiday(d), "{d}");
        }
        assert!(!nl().is_holiday(date(2025, 7, 21)));
        assert!(!nl().is_holiday(date(2025, 5, 1)));
    }

    #[test]
    fn holiday_counts_per_year() {
        for y in 2000..2100 {
            assert_eq!(holidays(HolidaySet::Nl, y).len(), 8);
            assert_eq!(holidays(HolidaySet::Be, y).len(), 10);
            let nl = holidays(HolidaySet::Nl, y);
            assert!(nl.windows(2).all(|w| w[0].0 <= w[1].0), "sorted {y}");
            let kings = nl.iter().find(|(_, n)| *n == "Koningsdag").unwrap().0;
            assert_ne!(kings.weekday(), Weekday::Sun, "{y}");
        }
    }

    #[test]
    fn working_days_and_closing_days() {
        let mut c = nl();
        assert!(c.is_working_day(date(2026, 4, 3))); // Friday
        assert!(!c.is_working_day(date(2026, 4, 4))); // Saturday
        assert!(!c.is_working_day(date(2026, 4, 5))); // Sunday
        c.closing_days.insert(date(2026, 4, 3)); // Goede Vrijdag as closing day
        assert!(!c.is_working_day(date(2026, 4, 3)));
        assert!(!c.is_holiday(date(2026, 4, 3)));
        assert!(c.is_closing_day(date(2026, 4, 3)));
        // A closing day pushes a deadline out.
        let from = at("2026-04-01T09:00:00+02:00");
        assert_eq!(
            c.working_days_deadline(from, 2),
            at("2026-04-08T00:00:00+02:00")
        );
    }

    #[test]
    fn local_date_uses_the_time_zone() {
        let c = nl();
        assert_eq!(c.local_date(at("2026-03-31T22:30:00Z")), date(2026, 4, 1));
        assert_eq!(c.local_date(at("2026-01-31T23:30:00Z")), date(2026, 2, 1));
        assert_eq!(c.local_date(at("2026-01-31T22:59:59Z")), date(2026, 1, 31));
        let utc = Calendar {
            time_zone: chrono_tz::UTC,
            ..nl()
        };
        assert_eq!(
            utc.local_date(at("2026-03-31T22:30:00Z")),
            date(2026, 3, 31)
        );
    }

    #[test]
    fn start_of_day_follows_dst() {
        let c = nl();
        assert_eq!(
            c.start_of_day(date(2026, 1, 15)),
            at("2026-01-15T00:00:00+01:00")
        );
        assert_eq!(
            c.start_of_day(date(2026, 7, 15)),
            at("2026-07-15T00:00:00+02:00")
        );
        // 29 March 2026: clocks go 02:00 -> 03:00; midnight exists, still +01:00.
        assert_eq!(
            c.start_of_day(date(2026, 3, 29)),
            at("2026-03-29T00:00:00+01:00")
        );
        assert_eq!(
            c.start_of_day(date(2026, 3, 30)),
            at("2026-03-30T00:00:00+02:00")
        );
        // The DST day is 23 hours long, the one in October 25.
        assert_eq!(
            c.end_of_day(date(2026, 3, 29)) - c.start_of_day(date(2026, 3, 29)),
            Duration::hours(23)
        );
        assert_eq!(
            c.end_of_day(date(2026, 10, 25)) - c.start_of_day(date(2026, 10, 25)),
            Duration::hours(25)
        );
    }

    #[test]
    fn start_of_day_when_midnight_is_skipped_or_repeated() {
        // São Paulo sprang forward at 00:00 -> 01:00 on 4 November 2018.
        let sp = Calendar {
            time_zone: chrono_tz::America::Sao_Paulo,
            ..nl()
        };
        let start = sp.start_of_day(date(2018, 11, 4));
        assert_eq!(start, at("2018-11-04T01:00:00-02:00"));
        assert_eq!(start, at("2018-11-04T03:00:00Z"));
        assert_eq!(sp.local_date(start), date(2018, 11, 4));
        assert_eq!(
            sp.local_date(start - Duration::seconds(1)),
            date(2018, 11, 3)
        );
        // And the due date of that instant is the day that ended.
        assert_eq!(sp.due_date(start), date(2018, 11, 3));
        // Havana fell back at 01:00 -> 00:00 on 4 November 2018: midnight occurs twice;
        // the day begins at the first.
        let havana = Calendar {
            time_zone: chrono_tz::America::Havana,
            ..nl()
        };
        assert_eq!(
            havana.start_of_day(date(2018, 11, 4)),
            at("2018-11-04T00:00:00-04:00")
        );
    }

    #[test]
    fn deadline_examples_from_the_spec() {
        let c = nl();
        let cases = [
            // Mon 27 April is Koningsdag: Fri -> Tue 28, Wed 29.
            ("2026-04-24T16:00:00+02:00", 2, "2026-04-30T00:00:00+02:00"),
            // Fri 1 May is a working day, Tue 5 May (Bevrijdingsdag) is not reached.
            ("2026-04-30T09:00:00+02:00", 2, "2026-05-05T00:00:00+02:00"),
            ("2026-04-01T09:00:00+02:00", 2, "2026-04-04T00:00:00+02:00"),
            // Goede Vrijdag counts; Easter Monday 6 April does not.
            ("2026-04-02T09:00:00+02:00", 2, "2026-04-08T00:00:00+02:00"),
            // 22:30 UTC is 00:30 on 1 April locally.
            ("2026-03-31T22:30:00Z", 2, "2026-04-04T00:00:00+02:00"),
            ("2026-03-03T10:05:00+01:00", 1, "2026-03-05T00:00:00+01:00"),
            // Across the DST change of Sunday 29 March.
            ("2026-03-23T20:10:00+01:00", 5, "2026-03-31T00:00:00+02:00"),
        ];
        for (from, n, expected) in cases {
            assert_eq!(
                c.working_days_deadline(at(from), n),
                at(expected),
                "{from} + {n}"
            );
        }
    }

    #[test]
    fn deadline_with_zero_days_is_the_end_of_the_day() {
        let c = nl();
        assert_eq!(
            c.working_days_deadline(at("2026-04-24T16:00:00+02:00"), 0),
            at("2026-04-25T00:00:00+02:00")
        );
        // Even on a holiday or at the weekend.
        assert_eq!(
            c.working_days_deadline(at("2026-04-27T10:00:00+02:00"), 0),
            at("2026-04-28T00:00:00+02:00")
        );
        // From exactly midnight: the end of that day.
        assert_eq!(
            c.working_days_deadline(at("2026-03-03T00:00:00+01:00"), 0),
            at("2026-03-04T00:00:00+01:00")
        );
    }

    #[test]
    fn deadline_around_christmas_and_new_year() {
        let c = nl();
        // Wed 24 Dec 2025 + 2: Thu 25, Fri 26 holidays, weekend, Mon 29, Tue 30.
        assert_eq!(
            c.working_days_deadline(at("2025-12-24T12:00:00+01:00"), 2),
            at("2025-12-31T00:00:00+01:00")
        );
        // Wed 31 Dec 2025 + 1: Thu 1 Jan holiday -> Fri 2 Jan.
        assert_eq!(
            c.working_days_deadline(at("2025-12-31T12:00:00+01:00"), 1),
            at("2026-01-03T00:00:00+01:00")
        );
        // Belgium: Mon 20 Jul 2026 + 1 skips Tue 21 July.
        assert_eq!(
            be().working_days_deadline(at("2026-07-20T12:00:00+02:00"), 1),
            at("2026-07-23T00:00:00+02:00")
        );
    }

    #[test]
    fn deadline_across_the_autumn_dst_change() {
        let c = nl();
        // Fri 23 Oct 2026 + 1: Mon 26 Oct, after clocks went back on Sunday 25 October.
        assert_eq!(
            c.working_days_deadline(at("2026-10-23T15:00:00+02:00"), 1),
            at("2026-10-27T00:00:00+01:00")
        );
    }

    #[test]
    fn due_date_24_00_belongs_to_the_day_that_ends() {
        let c = nl();
        assert_eq!(
            c.due_date(at("2026-04-30T00:00:00+02:00")),
            date(2026, 4, 29)
        );
        assert_eq!(
            c.due_date(at("2026-04-30T00:00:01+02:00")),
            date(2026, 4, 30)
        );
        assert_eq!(
            c.due_date(at("2026-04-29T23:59:59+02:00")),
            date(2026, 4, 29)
        );
        assert_eq!(c.due_date(at("2026-04-29T22:00:00Z")), date(2026, 4, 29));
        assert_eq!(
            c.due_date(at("2026-04-29T22:00:00.001Z")),
            date(2026, 4, 30)
        );
        assert_eq!(
            c.due_date(at("2026-04-30T12:00:00+02:00")),
            date(2026, 4, 30)
        );
        // Midnight UTC is not local midnight.
        assert_eq!(c.due_date(at("2026-04-30T00:00:00Z")), date(2026, 4, 30));
        // Every deadline is due on the last working day it counts.
        let deadline = c.working_days_deadline(at("2026-04-24T16:00:00+02:00"), 2);
        assert_eq!(c.due_date(deadline), date(2026, 4, 29));
    }

    const ZONES: [Tz; 6] = [
        chrono_tz::Europe::Amsterdam,
        chrono_tz::Europe::Brussels,
        chrono_tz::America::Sao_Paulo,
        chrono_tz::America::Santiago,
        chrono_tz::America::Havana,
        chrono_tz::Australia::Lord_Howe,
    ];

    prop_compose! {
        fn calendar()(
            zone in 0..ZONES.len(),
            be in any::<bool>(),
            closing in proptest::collection::btree_set(0i64..(365 * 12), 0..40),
        ) -> Calendar {
            let base = date(2015, 1, 1);
            Calendar {
                time_zone: ZONES[zone],
                holidays: if be { HolidaySet::Be } else { HolidaySet::Nl },
                closing_days: closing.into_iter().map(|d| base + Duration::days(d)).collect(),
            }
        }
    }

    /// Instants from 2015 to 2030.
    fn instant() -> impl Strategy<Value = Instant> {
        (1_420_070_400i64..1_893_456_000i64).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    proptest! {
        #[test]
        fn prop_deadline_properties(c in calendar(), from in instant(), n in 0u32..30) {
            let deadline = c.working_days_deadline(from, n);
            prop_assert!(deadline > from);
            // It falls at the start of a local day.
            let end_date = c.local_date(deadline);
            prop_assert_eq!(c.start_of_day(end_date), deadline);
            prop_assert_eq!(c.local_date(deadline - Duration::seconds(1)), end_date.pred_opt().unwrap());
            let from_date = c.local_date(from);
            let last = end_date.pred_opt().unwrap();
            prop_assert_eq!(c.due_date(deadline), last);
            if n == 0 {
                prop_assert_eq!(last, from_date);
            } else {
                prop_assert!(c.is_working_day(last));
            }
            // Exactly n working days strictly between the day of `from` and the deadline's.
            let between = from_date
                .iter_days()
                .skip(1)
                .take_while(|d| *d < end_date)
                .filter(|d| c.is_working_day(*d))
                .count();
            prop_assert_eq!(between, n as usize);
        }

        #[test]
        fn prop_deadline_is_monotone_in_n(c in calendar(), from in instant(), n in 0u32..25) {
            let a = c.working_days_deadline(from, n);
            let b = c.working_days_deadline(from, n + 1);
            prop_assert!(a < b);
        }

        #[test]
        fn prop_deadline_is_monotone_in_from(c in calendar(), from in instant(), later in 0i64..(3 * 86_400), n in 0u32..10) {
            let a = c.working_days_deadline(from, n);
            let b = c.working_days_deadline(from + Duration::seconds(later), n);
            prop_assert!(a <= b);
        }

        #[test]
        fn prop_start_of_day_is_the_first_instant_of_the_day(c in calendar(), day in 0i64..(365 * 15)) {
            let d = date(2015, 1, 1) + Duration::days(day);
            let start = c.start_of_day(d);
            prop_assert_eq!(c.local_date(start), d);
            prop_assert!(c.local_date(start - Duration::seconds(1)) < d);
            let local = start.with_timezone(&c.time_zone);
            // Midnight, unless a clock change skipped it.
            if local.time() != NaiveTime::MIN {
                prop_assert!(local.hour() <= 1, "{}", local);
                prop_assert!(c.time_zone.from_local_datetime(&d.and_time(NaiveTime::MIN)).single().is_none());
            }
        }

        #[test]
        fn prop_due_date_is_local_date_except_at_midnight(c in calendar(), t in instant()) {
            let local = c.local_date(t);
            let due = c.due_date(t);
            if t == c.start_of_day(local) {
                prop_assert_eq!(due, local.pred_opt().unwrap());
            } else {
                prop_assert_eq!(due, local);
            }
        }

        #[test]
        fn prop_easter_monday_is_a_holiday_in_both_sets(y in 1900i32..2200) {
            let monday = easter_sunday(y) + Duration::days(1);
            prop_assert_eq!(monday.weekday(), Weekday::Mon);
            for set in [HolidaySet::Nl, HolidaySet::Be] {
                let c = Calendar { holidays: set, ..Calendar::default() };
                prop_assert!(c.is_holiday(monday));
                prop_assert!(c.is_holiday(easter_sunday(y) + Duration::days(39)));
                prop_assert!(c.is_holiday(easter_sunday(y) + Duration::days(50)));
                prop_assert!(!c.is_holiday(easter_sunday(y) - Duration::days(2)));
            }
        }
    }
}
