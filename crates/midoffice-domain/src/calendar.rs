//! The tenant's calendar: time zone, holiday set, closing days, and working-day deadlines.
//!
//! SKELETON: signatures are fixed; bodies to be written (with unit and property tests).

use crate::Instant;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The holiday set of a calendar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HolidaySet {
    /// The holidays of the Algemene termijnenwet.
    #[default]
    Nl,
    /// The ten Belgian legal holidays.
    Be,
}

/// A tenant's calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    let _ = year;
    todo!()
}

/// The holidays of a set in a year, with their names.
pub fn holidays(set: HolidaySet, year: i32) -> Vec<(NaiveDate, &'static str)> {
    let _ = (set, year);
    todo!()
}

impl Calendar {
    /// Whether `date` is a holiday of the set.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        let _ = date;
        todo!()
    }

    /// Monday to Friday, not a holiday, not a closing day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        let _ = date;
        todo!()
    }

    /// The local date of an instant.
    pub fn local_date(&self, t: Instant) -> NaiveDate {
        let _ = t;
        todo!()
    }

    /// The instant the local date begins (00:00 local; the first valid instant if a
    /// clock change skips midnight).
    pub fn start_of_day(&self, date: NaiveDate) -> Instant {
        let _ = date;
        todo!()
    }

    /// "Within n working days" of `from`: the end (24:00 local) of the n-th working day
    /// after the local day of `from`, as the instant the next local day begins.
    /// With n = 0, the end of the local day of `from`.
    pub fn working_days_deadline(&self, from: Instant, n: u32) -> Instant {
        let _ = (from, n);
        todo!()
    }

    /// The local date a due time belongs to: a due time of exactly 24:00 (00:00 of the
    /// next day) belongs to the day that ends then.
    pub fn due_date(&self, due: Instant) -> NaiveDate {
        let _ = due;
        todo!()
    }
}
