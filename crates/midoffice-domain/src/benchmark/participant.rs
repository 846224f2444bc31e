//! A participant's figures for a period: counts per metric, from the tenant's figures,
//! and how complete its registration is.

use super::metric::{Basis, MetricRef, metrics};
use crate::Code;
use crate::contact::ContactFacts;
use crate::figures::{self, Figures, NormResult, Period};
use crate::settings::TenantSettings;
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

/// A benchmark period: a calendar month, quarter or year of the participant's dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BenchmarkPeriod {
    /// Month 1–12.
    Month {
        year: i32,
        month: u32,
    },
    /// Quarter 1–4.
    Quarter {
        year: i32,
        quarter: u32,
    },
    Year {
        year: i32,
    },
}

/// The earliest and latest year of a benchmark period.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2999;

impl BenchmarkPeriod {
    /// Its dates, `to` exclusive.
    pub fn dates(self) -> (NaiveDate, NaiveDate) {
        let first = |y: i32, m: u32| {
            NaiveDate::from_ymd_opt(y, m, 1)
                .unwrap_or_else(|| unreachable!("a parsed period has a valid year and month"))
        };
        let next = |y: i32, m: u32| {
            if m == 12 {
                first(y + 1, 1)
            } else {
                first(y, m + 1)
            }
        };
        match self {
            BenchmarkPeriod::Month { year, month } => (first(year, month), next(year, month)),
            BenchmarkPeriod::Quarter { year, quarter } => {
                let m = 3 * quarter - 2;
                (first(year, m), next(year, m + 2))
            }
            BenchmarkPeriod::Year { year } => (first(year, 1), first(year + 1, 1)),
        }
    }

    /// The period's figures as known at `as_of`.
    pub fn period(self, as_of: crate::Instant) -> Period {
        let (from, to) = self.dates();
        Period { from, to, as_of }
    }

    /// `2026-03`, `2026-Q1` or `2026`.
    pub fn key(self) -> String {
        match self {
            BenchmarkPeriod::Month { year, month } => format!("{year:04}-{month:02}"),
            BenchmarkPeriod::Quarter { year, quarter } => format!("{year:04}-Q{quarter}"),
            BenchmarkPeriod::Year { year } => format!("{year:04}"),
        }
    }

    /// The period of a [`key`](Self::key), exactly as written there.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || {
            format!("must be a month (2026-03), a quarter (2026-Q1) or a year (2026), not {raw:?}")
        };
        let year = |s: &str| -> Result<i32, String> {
            if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let y: i32 = s.parse().map_err(|_| bad())?;
            YEARS.contains(&y).then_some(y).ok_or_else(bad)
        };
        let period = match raw.split_once('-') {
            None => BenchmarkPeriod::Year { year: year(raw)? },
            Some((y, rest)) => {
                let year = year(y)?;
                if let Some(q) = rest.strip_prefix('Q') {
                    match q {
                        "1" | "2" | "3" | "4" => BenchmarkPeriod::Quarter {
                            year,
                            quarter: q.parse().map_err(|_| bad())?,
                        },
                        _ => return Err(bad()),
                    }
                } else if rest.len() == 2 && rest.bytes().all(|b| b.is_ascii_digit()) {
                    let month: u32 = rest.parse().map_err(|_| bad())?;
                    if !(1..=12).contains(&month) {
                        return Err(bad());
                    }
                    BenchmarkPeriod::Month { year, month }
                } else {
                    return Err(bad());
                }
            }
        };
        Ok(period)
    }

    /// The month that holds `date`.
    pub fn month_of(date: NaiveDate) -> Self {
        BenchmarkPeriod::Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The quarter that holds `date`.
    pub fn quarter_of(date: NaiveDate) -> Self {
        BenchmarkPeriod::Quarter {
            year: date.year(),
            quarter: date.month0() / 3 + 1,
        }
    }

    /// The year that holds `date`.
    pub fn year_of(date: NaiveDate) -> Self {
        BenchmarkPeriod::Year { year: date.year() }
    }

    /// The period of the same kind just before this one.
    pub fn previous(self) -> Self {
        match self {
            BenchmarkPeriod::Month { year, month: 1 } => BenchmarkPeriod::Month {
                year: year - 1,
                month: 12,
            },
            BenchmarkPeriod::Month { year, month } => BenchmarkPeriod::Month {
                year,
                month: month - 1,
            },
            BenchmarkPeriod::Quarter { year, quarter: 1 } => BenchmarkPeriod::Quarter {
                year: year - 1,
                quarter: 4,
            },
            BenchmarkPeriod::Quarter { year, quarter } => BenchmarkPeriod::Quarter {
                year,
                quarter: quarter - 1,
            },
            BenchmarkPeriod::Year { year } => BenchmarkPeriod::Year { year: year - 1 },
        }
    }
}

/// The counts behind one metric's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    pub numerator: u64,
    pub denominator: u64,
    /// What the value rests on, checked against the metric's least items: the
    /// denominator, or for a volume per 1,000 inhabitants its numerator.
    pub items: u64,
}

/// How complete a participant's registration is over a period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registration {
    /// Contacts started in the period.
    pub contacts: u64,
    /// Of those, the anonymous ones (no party).
    pub anonymous: u64,
    /// Of those, the ones with no outcome known at `as_of`.
    pub without_outcome: u64,
}

/// A participant whose contacts are more than this percentage anonymous is flagged.
pub const MAX_ANONYMOUS_PERCENT: u64 = 50;
/// A participant with more than this percentage of its contacts without an outcome is
/// flagged.
pub const MAX_WITHOUT_OUTCOME_PERCENT: u64 = 20;

/// Why a participant is flagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    /// More than [`MAX_ANONYMOUS_PERCENT`] of its contacts are anonymous.
    MostlyAnonymous,
    /// More than [`MAX_WITHOUT_OUTCOME_PERCENT`] of its contacts have no outcome.
    WithoutOutcome,
}

impl Registration {
    /// Why the registration is too incomplete to compare, if it is (empty when not).
    pub fn flags(&self) -> Vec<Flag> {
        let over = |part: u64, percent: u64| {
            u128::from(part) * 100 > u128::from(percent) * u128::from(self.contacts)
        };
        let mut out = Vec::new();
        if over(self.anonymous, MAX_ANONYMOUS_PERCENT) {
            out.push(Flag::MostlyAnonymous);
        }
        if over(self.without_outcome, MAX_WITHOUT_OUTCOME_PERCENT) {
            out.push(Flag::WithoutOutcome);
        }
        out
    }
}

/// The registration of the contacts that started in the period (and by `as_of`).
pub fn registration<'a>(
    contacts: impl IntoIterator<Item = &'a ContactFacts>,
    period: &Period,
    settings: &TenantSettings,
) -> Registration {
    let window = figures::load_window(period, settings);
    let mut r = Registration::default();
    for c in contacts.into_iter().filter(|c| {
        c.started_at >= window.starts_from
            && c.started_at < window.starts_to
            && c.started_at <= period.as_of
    }) {
        r.contacts += 1;
        r.anonymous += u64::from(c.party_id.is_none());
        r.without_outcome += u64::from(c.outcome_at(period.as_of).is_none());
    }
    r
}

/// One participant's figures for a period.
#[derive(Clone, Debug, PartialEq)]
pub struct Participant {
    /// Its id in the benchmark (a tenant id, or a participant configured for summaries
    /// from another deployment).
    pub id: Code,
    /// Inhabitants, or the stated population of an agency.
    pub size: u64,
    /// Whether it chose to be named on public pages.
    pub named: bool,
    pub registration: Registration,
    /// Counts by metric (id and version).
    pub counts: BTreeMap<MetricRef, Count>,
}

/// The counts of every metric of the registry from a tenant's figures over the period:
/// `figures` as `figures::figures` gives them (no filter) and `norms` as
/// `figures::thermometer` gives them, both computed with `metric::settings_for`; `size`
/// is the tenant's inhabitants (or stated population).
pub fn counts(figures: &Figures, norms: &[NormResult], size: u64) -> BTreeMap<MetricRef, Count> {
    let share = |met: u64, items: u64| Count {
        numerator: met,
        denominator: items,
        items,
    };
    let c = &figures.counts;
    metrics()
        .into_iter()
        .map(|m| {
            let count = match &m.basis {
                Basis::Norm(_) => norms
                    .iter()
                    .find(|n| n.norm_id.as_str() == m.id)
                    .map(|n| share(n.met, n.items))
                    .unwrap_or_default(),
                Basis::FirstContactResolution => share(
                    c.first_contact_resolution.met,
                    c.first_contact_resolution.items,
                ),
                Basis::RepeatContacts => share(c.repeat_contacts.met, c.repeat_contacts.items),
                Basis::Referrals => share(c.referrals.met, c.referrals.items),
                Basis::RepeatedStories => share(c.repeated_stories.met, c.repeated_stories.items),
                Basis::ChannelHops => share(figures.channel_hops, figures.contacts),
                Basis::Satisfaction => share(c.score_sum, c.answers),
                Basis::ContactsPerThousand => Count {
                    numerator: figures.contacts,
                    denominator: size,
                    items: figures.contacts,
                },
                Basis::CasesPerThousand => Count {
                    numerator: figures.cases,
                    denominator: size,
                    items: figures.contacts,
                },
            };
            (m.reference(), count)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchmark::metric::settings_for;
    use crate::case::tests::{case, contact, ended, t};
    use crate::contact::Outcome;
    use crate::figures::{FigureFacts, Filter};
    use uuid::Uuid;

    #[test]
    fn periods_have_their_dates_and_keys_and_parse_back() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let cases = [
            ("2026-03", d(2026, 3, 1), d(2026, 4, 1)),
            ("2026-12", d(2026, 12, 1), d(2027, 1, 1)),
            ("2026-Q1", d(2026, 1, 1), d(2026, 4, 1)),
            ("2026-Q4", d(2026, 10, 1), d(2027, 1, 1)),
            ("2026", d(2026, 1, 1), d(2027, 1, 1)),
        ];
        for (key, from, to) in cases {
            let p = BenchmarkPeriod::parse(key).unwrap();
            assert_eq!(p.dates(), (from, to), "{key}");
            assert_eq!(p.key(), key);
        }
        for bad in [
            "",
            "26",
            "2026-3",
            "2026-13",
            "2026-00",
            "2026-Q0",
            "2026-Q5",
            "2026-q1",
            "1999",
            "+2026",
            "2026-03-01",
            "2026-Q1x",
        ] {
            assert!(BenchmarkPeriod::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(BenchmarkPeriod::month_of(d(2026, 2, 28)).key(), "2026-02");
        assert_eq!(BenchmarkPeriod::quarter_of(d(2026, 3, 31)).key(), "2026-Q1");
        assert_eq!(BenchmarkPeriod::quarter_of(d(2026, 10, 1)).key(), "2026-Q4");
        assert_eq!(BenchmarkPeriod::year_of(d(2026, 10, 1)).key(), "2026");
        for (key, before) in [
            ("2026-01", "2025-12"),
            ("2026-03", "2026-02"),
            ("2026-Q1", "2025-Q4"),
            ("2026-Q3", "2026-Q2"),
            ("2026", "2025"),
        ] {
            let p = BenchmarkPeriod::parse(key).unwrap();
            assert_eq!(p.previous().key(), before);
            assert_eq!(p.previous().dates().1, p.dates().0);
        }
    }

    #[test]
    fn a_registration_is_flagged_when_mostly_anonymous_or_without_outcome() {
        let r = |contacts, anonymous, without_outcome| Registration {
            contacts,
            anonymous,
            without_outcome,
        };
        assert!(r(100, 50, 20).flags().is_empty());
        assert_eq!(r(100, 51, 0).flags(), vec![Flag::MostlyAnonymous]);
        assert_eq!(r(100, 0, 21).flags(), vec![Flag::WithoutOutcome]);
        assert_eq!(
            r(10, 9, 9).flags(),
            vec![Flag::MostlyAnonymous, Flag::WithoutOutcome]
        );
        assert!(r(0, 0, 0).flags().is_empty());
        assert!(r(u64::MAX, u64::MAX / 2, 0).flags().is_empty());
    }

    #[test]
    fn the_registration_counts_the_periods_contacts_anonymous_and_without_outcome() {
        let settings = TenantSettings::default();
        // Minute offsets from the tests' epoch; the period is its first day.
        let known = ended(contact(1, 10), 15, Outcome::Resolved);
        let mut anonymous = ended(contact(2, 20), 21, Outcome::Abandoned);
        anonymous.party_id = None;
        let open = contact(3, 30);
        let later = contact(4, 24 * 60 + 5);
        let all = [known, anonymous, open, later];
        let from = crate::figures::day_of(&settings.calendar, t(0));
        let period = Period {
            from,
            to: from.succ_opt().unwrap(),
            as_of: t(3 * 24 * 60),
        };
        assert_eq!(
            registration(&all, &period, &settings),
            Registration {
                contacts: 3,
                anonymous: 1,
                without_outcome: 1,
            }
        );
        // As known right after the first contact ended: one contact, complete.
        let early = Period {
            as_of: t(16),
            ..period
        };
        assert_eq!(
            registration(&all, &early, &settings),
            Registration {
                contacts: 1,
                anonymous: 0,
                without_outcome: 0,
            }
        );
    }

    #[test]
    fn counts_come_from_the_figures_and_the_benchmark_norms() {
        let tenant = TenantSettings::default();
        let settings = settings_for(&tenant);
        let one = case(
            500,
            "paspoort",
            0,
            vec![
                ended(contact(1, 10), 20, Outcome::Referred),
                ended(contact(2, 60), 70, Outcome::Resolved),
            ],
        );
        let facts = FigureFacts {
            contacts: one.contacts.clone(),
            cases: [(Uuid::from_u128(500), one)].into_iter().collect(),
        };
        let from = crate::figures::day_of(&settings.calendar, t(0));
        let period = Period {
            from,
            to: from.succ_opt().unwrap(),
            as_of: t(3 * 24 * 60),
        };
        let f = figures::figures(&facts, &period, &Filter::default(), &settings);
        let norms = figures::thermometer(&facts, &period, &settings);
        let counts = counts(&f, &norms, 20_000);
        let get = |id: &str| {
            counts[&MetricRef {
                id: id.into(),
                version: 1,
            }]
        };
        assert_eq!(counts.len(), metrics().len());
        assert_eq!(
            get("contacts-per-1000"),
            Count {
                numerator: 2,
                denominator: 20_000,
                items: 2
            }
        );
        assert_eq!(
            get("cases-per-1000"),
            Count {
                numerator: 1,
                denominator: 20_000,
                items: 2
            }
        );
        assert_eq!(
            get("referral-rate"),
            Count {
                numerator: 1,
                denominator: 2,
                items: 2
            }
        );
        assert_eq!(
            get("referred-at-most-once"),
            Count {
                numerator: 1,
                denominator: 1,
                items: 1
            }
        );
        assert_eq!(get("first-contact-resolution").denominator, 1);
        assert_eq!(get("satisfaction"), Count::default());
    }
}
