//! Group figures (median and quartiles), disclosure control and a participant's
//! position, over a peer group whose membership is fixed per period.

use super::metric::{
    Direction, ItemKind, MIN_ANSWERS_FLOOR, MIN_CONTACTS_FLOOR, Metric, MetricRef, metrics,
};
use super::participant::{BenchmarkPeriod, Count, Flag, Participant};
use crate::{Code, Violations};
use std::collections::{BTreeMap, BTreeSet};

/// The fewest participants a group figure may rest on, whatever is configured.
pub const MIN_PARTICIPANTS_FLOOR: usize = 5;

/// The rules of disclosure of a deployment: never below the floors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disclosure {
    min_participants: usize,
    min_contacts: u64,
    min_answers: u64,
}

impl Default for Disclosure {
    /// The floors: 5 participants, 30 contacts, 50 answers.
    fn default() -> Self {
        Disclosure {
            min_participants: MIN_PARTICIPANTS_FLOOR,
            min_contacts: MIN_CONTACTS_FLOOR,
            min_answers: MIN_ANSWERS_FLOOR,
        }
    }
}

impl Disclosure {
    /// Rules asking for at least these; a number below its floor is refused (fields
    /// `min_participants`, `min_contacts`, `min_answers`).
    pub fn new(
        min_participants: usize,
        min_contacts: u64,
        min_answers: u64,
    ) -> Result<Self, Violations> {
        let mut v = Violations::default();
        if min_participants < MIN_PARTICIPANTS_FLOOR {
            v.add(
                "min_participants",
                format!("must be at least {MIN_PARTICIPANTS_FLOOR}"),
            );
        }
        if min_contacts < MIN_CONTACTS_FLOOR {
            v.add(
                "min_contacts",
                format!("must be at least {MIN_CONTACTS_FLOOR}"),
            );
        }
        if min_answers < MIN_ANSWERS_FLOOR {
            v.add(
                "min_answers",
                format!("must be at least {MIN_ANSWERS_FLOOR}"),
            );
        }
        if v.is_empty() {
            Ok(Disclosure {
                min_participants,
                min_contacts,
                min_answers,
            })
        } else {
            Err(v)
        }
    }

    pub fn min_participants(&self) -> usize {
        self.min_participants
    }

    /// The least contacts (cases, follow-ups, commitments) a value rests on.
    pub fn min_contacts(&self) -> u64 {
        self.min_contacts
    }

    /// The least satisfaction answers a value rests on.
    pub fn min_answers(&self) -> u64 {
        self.min_answers
    }

    /// The least items a value of `metric` must rest on to be shown.
    pub fn min_items(&self, metric: &Metric) -> u64 {
        let configured = match metric.items {
            ItemKind::Contacts => self.min_contacts,
            ItemKind::Answers => self.min_answers,
        };
        configured.max(metric.min_items)
    }
}

/// A peer group's membership for one period: fixed when the period's group is
/// composed, and the only way to ask for group figures, so that no query can compose
/// a group of its own (and single a participant out by differencing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupPeriod {
    group: Code,
    period: BenchmarkPeriod,
    members: BTreeSet<Code>,
}

impl GroupPeriod {
    /// The membership as stored for the period.
    pub fn fixed(group: Code, period: BenchmarkPeriod, members: BTreeSet<Code>) -> Self {
        GroupPeriod {
            group,
            period,
            members,
        }
    }

    pub fn group(&self) -> &Code {
        &self.group
    }

    pub fn period(&self) -> BenchmarkPeriod {
        self.period
    }

    pub fn members(&self) -> &BTreeSet<Code> {
        &self.members
    }
}

/// The most days a deployment may wait for other deployments' summaries before a
/// group-period is composed.
pub const MAX_GRACE_DAYS: u32 = 366;
/// The days a deployment waits after a period before composing its groups, unless
/// configured (`[benchmark] compose_after_days`).
pub const DEFAULT_GRACE_DAYS: u32 = 7;

/// The first instant a group's membership for `period` may be composed: once the
/// period is over everywhere (participants count in their own calendars, the last of
/// which to finish a day is UTC−12), at 00:00 UTC of the day after its exclusive end
/// date (2 April for the first quarter, whose exclusive end is 1 April), plus
/// `grace_days` days for other deployments' summaries to arrive.
pub fn composable_from(period: BenchmarkPeriod, grace_days: u32) -> crate::Instant {
    let after = period.dates().1 + chrono::Days::new(1 + u64::from(grace_days));
    after.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// How long after [`composable_from`] a group-period not composed yet may still be
/// composed: a quarter of a year and a day (92 days). Its members are the tenants
/// taking part when it is composed, so composing long after the period would fill it
/// with today's members (a never-composed 2001 composed now); 92 days lets a
/// deployment that was down, or a group whose first member joined late in a quarter,
/// catch up on the months of the last quarter, while the membership stays close to
/// the period's.
pub const COMPOSE_WINDOW_DAYS: u64 = 92;

/// The instant from which a group-period not composed yet is never composed:
/// [`composable_from`] plus [`COMPOSE_WINDOW_DAYS`].
pub fn compose_deadline(period: BenchmarkPeriod, grace_days: u32) -> crate::Instant {
    composable_from(period, grace_days) + chrono::Days::new(COMPOSE_WINDOW_DAYS)
}

/// Every month, quarter and year whose group may be composed at `now`: from its
/// [`composable_from`] on and before its [`compose_deadline`]; newest first, by kind
/// (months, then quarters, then years).
pub fn composable_periods(now: crate::Instant, grace_days: u32) -> Vec<BenchmarkPeriod> {
    let mut out = Vec::new();
    for mut p in latest_composable(now, grace_days) {
        while now < compose_deadline(p, grace_days) {
            out.push(p);
            p = p.previous();
        }
    }
    out
}

/// The latest month, quarter and year whose groups may be composed at `now`
/// ([`composable_from`]): what a deployment composes by itself.
pub fn latest_composable(now: crate::Instant, grace_days: u32) -> [BenchmarkPeriod; 3] {
    let today = now.date_naive();
    [
        BenchmarkPeriod::month_of(today),
        BenchmarkPeriod::quarter_of(today),
        BenchmarkPeriod::year_of(today),
    ]
    .map(|mut p| {
        while composable_from(p, grace_days) > now {
            p = p.previous();
        }
        p
    })
}

/// Median and quartiles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quartiles {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
}

/// The `p`-quantile (0 ≤ p ≤ 1) of sorted values by linear interpolation between the
/// closest ranks (Hyndman and Fan's type 7, the default of R, NumPy and spreadsheets'
/// QUARTILE.INC): at position `h = (n − 1) · p`, `x[⌊h⌋] + (h − ⌊h⌋) · (x[⌊h⌋+1] − x[⌊h⌋])`.
pub fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(last);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Median and quartiles of values (in any order), `None` without values.
pub fn quartiles(values: &[f64]) -> Option<Quartiles> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Quartiles {
        q1: quantile(&sorted, 0.25)?,
        median: quantile(&sorted, 0.5)?,
        q3: quantile(&sorted, 0.75)?,
    })
}

/// Where a value stands against a group's quartiles, counted from the lowest values:
/// below Q1, from Q1 to below the median, from the median to Q3, above Q3. Which end is
/// better follows from the metric's direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quarter {
    Lowest,
    LowerMiddle,
    UpperMiddle,
    Highest,
}

impl Quartiles {
    pub fn quarter_of(&self, value: f64) -> Quarter {
        if value < self.q1 {
            Quarter::Lowest
        } else if value < self.median {
            Quarter::LowerMiddle
        } else if value <= self.q3 {
            Quarter::UpperMiddle
        } else {
            Quarter::Highest
        }
    }
}

impl Quarter {
    /// The quarter counted from the better end (1 the best, 4 the worst), by the
    /// metric's direction; `None` for a volume, where neither way is better.
    pub fn from_better_end(self, direction: Direction) -> Option<u8> {
        let from_lowest = match self {
            Quarter::Lowest => 1,
            Quarter::LowerMiddle => 2,
            Quarter::UpperMiddle => 3,
            Quarter::Highest => 4,
        };
        match direction {
            Direction::LowerIsBetter => Some(from_lowest),
            Direction::HigherIsBetter => Some(5 - from_lowest),
            Direction::Neither => None,
        }
    }
}

/// A participant's value of one metric, as it may be shown.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Own {
    /// Shown: its value and what it rests on.
    Shown { value: f64, count: Count },
    /// Not shown: fewer items than the least (`min`), or nothing to divide by.
    TooFewItems { items: u64, min: u64 },
}

/// The value of a participant for a metric: shown only when it rests on enough items.
pub fn own(metric: &Metric, count: Count, rules: &Disclosure) -> Own {
    let min = rules.min_items(metric);
    match metric.value(count.numerator, count.denominator) {
        Some(value) if count.items >= min => Own::Shown { value, count },
        _ => Own::TooFewItems {
            items: count.items,
            min,
        },
    }
}

/// A group's figure of one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GroupValue {
    /// Rests on `contributors` participants, at least the least allowed.
    Shown {
        contributors: usize,
        quartiles: Quartiles,
    },
    /// Fewer participants contribute than the least allowed; nothing more is said.
    Withheld,
}

/// One metric's line for a group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupFigure {
    pub metric: Metric,
    pub value: GroupValue,
}

/// The figures of a group for its period.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupFigures {
    pub group: Code,
    pub period: BenchmarkPeriod,
    /// Members of the group for the period (contributing or not).
    pub participants: usize,
    pub figures: Vec<GroupFigure>,
}

/// The values that contribute to a group figure of `metric`: of the group's members
/// (others are ignored), not flagged, each shown on its own items.
fn contributions(
    group: &GroupPeriod,
    participants: &[Participant],
    metric: &Metric,
    rules: &Disclosure,
) -> BTreeMap<Code, f64> {
    participants
        .iter()
        .filter(|p| group.members.contains(&p.id))
        .filter(|p| p.registration.flags().is_empty())
        .filter_map(|p| {
            let count = p.counts.get(&metric.reference()).copied()?;
            match own(metric, count, rules) {
                Own::Shown { value, .. } => Some((p.id.clone(), value)),
                Own::TooFewItems { .. } => None,
            }
        })
        .collect()
}

fn group_value(values: &BTreeMap<Code, f64>, rules: &Disclosure) -> GroupValue {
    let values: Vec<f64> = values.values().copied().collect();
    match quartiles(&values) {
        Some(quartiles) if values.len() >= rules.min_participants => GroupValue::Shown {
            contributors: values.len(),
            quartiles,
        },
        _ => GroupValue::Withheld,
    }
}

/// A group's figures for its period: for every metric the median and quartiles of its
/// contributing members' values, when at least `rules.min_participants` contribute.
/// `participants` are the figures at hand for the period (one per id); those not in the
/// group are ignored.
pub fn group_figures(
    group: &GroupPeriod,
    participants: &[Participant],
    rules: &Disclosure,
) -> GroupFigures {
    GroupFigures {
        group: group.group.clone(),
        period: group.period,
        participants: group.members.len(),
        figures: metrics()
            .into_iter()
            .map(|metric| {
                let value = group_value(&contributions(group, participants, &metric, rules), rules);
                GroupFigure { metric, value }
            })
            .collect(),
    }
}

/// One metric as a participant sees it: its own value, the group's figure, and its
/// position when both are shown and it is not flagged.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnFigure {
    pub metric: Metric,
    pub own: Own,
    pub group: GroupValue,
    pub position: Option<Quarter>,
}

/// What a member sees of its group: its own figures, flags and position.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnView {
    pub participant: Code,
    /// Why it is left out of the group's figures, if it is.
    pub flags: Vec<Flag>,
    pub participants: usize,
    pub figures: Vec<OwnFigure>,
}

/// What participant `me` sees of its group for the period; `None` when it is not a
/// member or has no figures.
pub fn own_view(
    group: &GroupPeriod,
    participants: &[Participant],
    rules: &Disclosure,
    me: &Code,
) -> Option<OwnView> {
    if !group.members.contains(me) {
        return None;
    }
    let mine = participants.iter().find(|p| p.id == *me)?;
    let flags = mine.registration.flags();
    let figures = group_figures(group, participants, rules)
        .figures
        .into_iter()
        .map(|GroupFigure { metric, value }| {
            let count = mine
                .counts
                .get(&metric.reference())
                .copied()
                .unwrap_or_default();
            let own = own(&metric, count, rules);
            let position = match (own, value) {
                (Own::Shown { value, .. }, GroupValue::Shown { quartiles, .. })
                    if flags.is_empty() =>
                {
                    Some(quartiles.quarter_of(value))
                }
                _ => None,
            };
            OwnFigure {
                metric,
                own,
                group: value,
                position,
            }
        })
        .collect();
    Some(OwnView {
        participant: me.clone(),
        flags,
        participants: group.members.len(),
        figures,
    })
}

/// What the public sees of a group: its figures, and the values of members that chose
/// to be named (not flagged, each on enough items); nobody else's.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicView {
    pub figures: GroupFigures,
    /// How many members the group has for the period, when at least the least allowed
    /// (`None` for a smaller group: nothing is said of it).
    pub participants: Option<usize>,
    /// By metric id and version: the named members' shown values.
    pub named: BTreeMap<MetricRef, BTreeMap<Code, f64>>,
}

/// What the public sees of `group`. A named member's value of a metric is shown only
/// when at least `rules.min_participants` contributors to that metric are NOT named:
/// the quartiles are (or lie between) members' values, so with the named values beside
/// them a small rest could be told apart (of 5 contributors with 2 named, Q1 and Q3 are
/// the values of two of the other three).
pub fn public_view(
    group: &GroupPeriod,
    participants: &[Participant],
    rules: &Disclosure,
) -> PublicView {
    let named_ids: BTreeSet<&Code> = participants
        .iter()
        .filter(|p| p.named)
        .map(|p| &p.id)
        .collect();
    let named = metrics()
        .iter()
        .map(|metric| {
            let mut values = contributions(group, participants, metric, rules);
            let unnamed = values.keys().filter(|id| !named_ids.contains(id)).count();
            if unnamed < rules.min_participants {
                values.clear();
            }
            values.retain(|id, _| named_ids.contains(id));
            (metric.reference(), values)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let members = group.members.len();
    PublicView {
        figures: group_figures(group, participants, rules),
        participants: (members >= rules.min_participants).then_some(members),
        named,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchmark::participant::Registration;
    use proptest::prelude::*;

    fn code(s: &str) -> Code {
        Code::parse(s).unwrap()
    }

    fn metric_of(id: &str) -> Metric {
        metrics().into_iter().find(|m| m.id == id).unwrap()
    }

    const COMPLETE: Registration = Registration {
        contacts: 1000,
        anonymous: 100,
        without_outcome: 10,
    };

    /// A participant `p{n}` with the referral rate `met / items`.
    fn referrals(n: usize, met: u64, items: u64) -> Participant {
        let mut counts = BTreeMap::new();
        counts.insert(
            metric_of("referral-rate").reference(),
            Count {
                numerator: met,
                denominator: items,
                items,
            },
        );
        Participant {
            id: code(&format!("p{n}")),
            size: 10_000,
            named: false,
            registration: COMPLETE,
            counts,
        }
    }

    fn group_of(participants: &[Participant]) -> GroupPeriod {
        GroupPeriod::fixed(
            code("g"),
            BenchmarkPeriod::Quarter {
                year: 2026,
                quarter: 1,
            },
            participants.iter().map(|p| p.id.clone()).collect(),
        )
    }

    fn referral_figure(figures: &GroupFigures) -> GroupValue {
        figures
            .figures
            .iter()
            .find(|f| f.metric.id == "referral-rate")
            .unwrap()
            .value
    }

    #[test]
    fn a_group_period_is_composable_the_day_after_its_end_plus_the_grace() {
        let at = |y, m, d| {
            chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
        };
        let q1 = BenchmarkPeriod::Quarter {
            year: 2026,
            quarter: 1,
        };
        // Q1 ends (exclusive) on 1 April; over everywhere on 2 April 00:00 UTC.
        assert_eq!(composable_from(q1, 0), at(2026, 4, 2));
        assert_eq!(composable_from(q1, 7), at(2026, 4, 9));
        let december = BenchmarkPeriod::Month {
            year: 2026,
            month: 12,
        };
        assert_eq!(composable_from(december, 7), at(2027, 1, 9));
        let year = BenchmarkPeriod::Year { year: 2026 };
        assert_eq!(composable_from(year, 30), at(2027, 2, 1));
        assert_eq!(
            composable_from(BenchmarkPeriod::Year { year: 2999 }, MAX_GRACE_DAYS),
            at(3001, 1, 3)
        );
        // Never before the period is over in the last calendar to finish a day (UTC−12):
        // its exclusive end (1 March) at 00:00 there is 1 March 12:00 UTC.
        let feb = BenchmarkPeriod::Month {
            year: 2026,
            month: 2,
        };
        assert!(composable_from(feb, 0) >= at(2026, 3, 1) + chrono::TimeDelta::hours(12));
    }

    #[test]
    fn a_group_period_is_composable_for_92_days_and_every_one_in_that_window_is_listed() {
        let at = |y, m, d| {
            chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
        };
        let march = BenchmarkPeriod::Month {
            year: 2026,
            month: 3,
        };
        assert_eq!(composable_from(march, 7), at(2026, 4, 9));
        assert_eq!(compose_deadline(march, 7), at(2026, 7, 10));
        let keys = |now, grace| {
            composable_periods(now, grace)
                .into_iter()
                .map(|p| p.key())
                .collect::<Vec<_>>()
        };
        // 9 July: June and Q2 are due from today; March (deadline 10 July) is still in
        // its window, February (9 June) is not; 2025's window ended on 9 April.
        assert_eq!(
            keys(at(2026, 7, 9), 7),
            [
                "2026-06", "2026-05", "2026-04", "2026-03", "2026-Q2", "2026-Q1"
            ]
        );
        // A day later March and the first quarter (both from 9 April) are out of it.
        assert_eq!(
            keys(at(2026, 7, 10), 7),
            ["2026-06", "2026-05", "2026-04", "2026-Q2"]
        );
        assert_eq!(
            keys(at(2027, 1, 20), 7),
            ["2026-12", "2026-11", "2026-10", "2026-Q4", "2026"]
        );
        // Every period listed is due and not past its deadline; the one before each
        // kind's oldest is past it.
        for grace in [0, 7, 31, MAX_GRACE_DAYS] {
            let now = at(2026, 6, 15);
            let listed = composable_periods(now, grace);
            for p in &listed {
                assert!(composable_from(*p, grace) <= now && now < compose_deadline(*p, grace));
            }
            for latest in latest_composable(now, grace) {
                let mut p = latest;
                while listed.contains(&p) {
                    p = p.previous();
                }
                assert!(now >= compose_deadline(p, grace), "{}", p.key());
            }
        }
    }

    #[test]
    fn the_latest_composable_periods_are_the_last_ones_over_and_past_the_grace() {
        let at = |y, m, d, h| {
            chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
                .and_utc()
        };
        let keys = |now, grace| latest_composable(now, grace).map(|p| p.key());
        assert_eq!(keys(at(2026, 4, 9, 0), 7), ["2026-03", "2026-Q1", "2025"]);
        assert_eq!(keys(at(2026, 4, 8, 23), 7), ["2026-02", "2025-Q4", "2025"]);
        assert_eq!(keys(at(2026, 1, 5, 12), 0), ["2025-12", "2025-Q4", "2025"]);
        assert_eq!(keys(at(2026, 1, 1, 12), 0), ["2025-11", "2025-Q3", "2024"]);
        // A long grace reaches further back.
        assert_eq!(keys(at(2026, 4, 9, 0), 366), ["2025-03", "2025-Q1", "2024"]);
        let next = |p: BenchmarkPeriod| {
            let end = p.dates().1;
            match p {
                BenchmarkPeriod::Month { .. } => BenchmarkPeriod::month_of(end),
                BenchmarkPeriod::Quarter { .. } => BenchmarkPeriod::quarter_of(end),
                BenchmarkPeriod::Year { .. } => BenchmarkPeriod::year_of(end),
            }
        };
        for grace in [0, 7, 31, MAX_GRACE_DAYS] {
            let now = at(2026, 6, 15, 8);
            for p in latest_composable(now, grace) {
                assert!(composable_from(p, grace) <= now);
                assert!(composable_from(next(p), grace) > now, "{}", p.key());
            }
        }
    }

    #[test]
    fn quantiles_interpolate_between_the_closest_ranks() {
        let q = |v: &[f64]| quartiles(v).unwrap();
        assert_eq!(
            q(&[5.0, 1.0, 3.0, 2.0, 4.0]),
            Quartiles {
                q1: 2.0,
                median: 3.0,
                q3: 4.0
            }
        );
        assert_eq!(
            q(&[1.0, 2.0, 3.0, 4.0]),
            Quartiles {
                q1: 1.75,
                median: 2.5,
                q3: 3.25
            }
        );
        assert_eq!(
            q(&[7.0]),
            Quartiles {
                q1: 7.0,
                median: 7.0,
                q3: 7.0
            }
        );
        assert_eq!(quartiles(&[]), None);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.25), Some(2.25));
    }

    #[test]
    fn a_position_is_a_quarter_with_the_median_in_the_upper_middle() {
        let q = Quartiles {
            q1: 2.0,
            median: 3.0,
            q3: 4.0,
        };
        assert_eq!(q.quarter_of(1.9), Quarter::Lowest);
        assert_eq!(q.quarter_of(2.0), Quarter::LowerMiddle);
        assert_eq!(q.quarter_of(2.9), Quarter::LowerMiddle);
        assert_eq!(q.quarter_of(3.0), Quarter::UpperMiddle);
        assert_eq!(q.quarter_of(4.0), Quarter::UpperMiddle);
        assert_eq!(q.quarter_of(4.1), Quarter::Highest);
    }

    #[test]
    fn the_better_end_follows_the_direction() {
        use Direction::*;
        assert_eq!(Quarter::Highest.from_better_end(HigherIsBetter), Some(1));
        assert_eq!(Quarter::Lowest.from_better_end(HigherIsBetter), Some(4));
        assert_eq!(Quarter::Lowest.from_better_end(LowerIsBetter), Some(1));
        assert_eq!(Quarter::UpperMiddle.from_better_end(LowerIsBetter), Some(3));
        assert_eq!(Quarter::LowerMiddle.from_better_end(Neither), None);
    }

    #[test]
    fn rules_never_go_below_the_floors() {
        assert_eq!(Disclosure::new(5, 30, 50), Ok(Disclosure::default()));
        let err = Disclosure::new(4, 29, 49).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["min_participants", "min_contacts", "min_answers"]);
        let strict = Disclosure::new(10, 100, 200).unwrap();
        assert_eq!(strict.min_items(&metric_of("referral-rate")), 100);
        assert_eq!(strict.min_items(&metric_of("satisfaction")), 200);
        assert_eq!(
            Disclosure::default().min_items(&metric_of("satisfaction")),
            50
        );
    }

    #[test]
    fn a_group_of_four_shows_nothing_and_of_five_its_quartiles() {
        let five: Vec<Participant> = (0..5).map(|n| referrals(n, 10 * n as u64, 100)).collect();
        let shown = group_figures(&group_of(&five), &five, &Disclosure::default());
        assert_eq!(shown.participants, 5);
        assert_eq!(
            referral_figure(&shown),
            GroupValue::Shown {
                contributors: 5,
                quartiles: Quartiles {
                    q1: 0.1,
                    median: 0.2,
                    q3: 0.3
                }
            }
        );
        let four = &five[..4];
        let withheld = group_figures(&group_of(four), four, &Disclosure::default());
        assert_eq!(referral_figure(&withheld), GroupValue::Withheld);
        // No metric at all of a group of four.
        assert!(
            withheld
                .figures
                .iter()
                .all(|f| f.value == GroupValue::Withheld)
        );
        // A stricter deployment withholds the group of five too.
        let strict = Disclosure::new(6, 30, 50).unwrap();
        assert_eq!(
            referral_figure(&group_figures(&group_of(&five), &five, &strict)),
            GroupValue::Withheld
        );
    }

    #[test]
    fn a_participant_on_29_items_is_not_shown_nor_counted() {
        let mut six: Vec<Participant> = (0..5).map(|n| referrals(n, 10, 100)).collect();
        six.push(referrals(5, 29, 29));
        let group = group_of(&six);
        let rules = Disclosure::default();
        let view = own_view(&group, &six, &rules, &code("p5")).unwrap();
        let line = view
            .figures
            .iter()
            .find(|f| f.metric.id == "referral-rate")
            .unwrap();
        assert_eq!(line.own, Own::TooFewItems { items: 29, min: 30 });
        assert_eq!(line.position, None);
        // The group's figure rests on the other five: its median is theirs.
        assert_eq!(
            line.group,
            GroupValue::Shown {
                contributors: 5,
                quartiles: Quartiles {
                    q1: 0.1,
                    median: 0.1,
                    q3: 0.1
                }
            }
        );
        // With 30 items it is shown and counted.
        six[5] = referrals(5, 30, 30);
        let view = own_view(&group, &six, &rules, &code("p5")).unwrap();
        let line = view
            .figures
            .iter()
            .find(|f| f.metric.id == "referral-rate")
            .unwrap();
        assert!(matches!(line.own, Own::Shown { value, .. } if value == 1.0));
        assert_eq!(line.position, Some(Quarter::Highest));
        assert!(matches!(
            line.group,
            GroupValue::Shown {
                contributors: 6,
                ..
            }
        ));
    }

    #[test]
    fn a_flagged_participant_sees_its_values_but_is_left_out_and_has_no_position() {
        let mut six: Vec<Participant> = (0..6).map(|n| referrals(n, 10 * n as u64, 100)).collect();
        six[0].registration.anonymous = 600;
        let group = group_of(&six);
        let rules = Disclosure::default();
        let view = own_view(&group, &six, &rules, &code("p0")).unwrap();
        assert_eq!(view.flags, vec![Flag::MostlyAnonymous]);
        let line = view
            .figures
            .iter()
            .find(|f| f.metric.id == "referral-rate")
            .unwrap();
        assert!(matches!(line.own, Own::Shown { value, .. } if value == 0.0));
        assert_eq!(line.position, None);
        assert_eq!(
            line.group,
            GroupValue::Shown {
                contributors: 5,
                quartiles: quartiles(&[0.1, 0.2, 0.3, 0.4, 0.5]).unwrap()
            }
        );
        // Flagged a second one, the group falls below five: withheld.
        six[1].registration.without_outcome = 300;
        assert_eq!(
            referral_figure(&group_figures(&group, &six, &rules)),
            GroupValue::Withheld
        );
    }

    #[test]
    fn only_members_count_and_only_members_see_their_view() {
        let five: Vec<Participant> = (0..5).map(|n| referrals(n, 10 * n as u64, 100)).collect();
        let group = group_of(&five);
        let mut more = five.clone();
        more.push(referrals(9, 100, 100));
        assert_eq!(
            group_figures(&group, &more, &Disclosure::default()),
            group_figures(&group, &five, &Disclosure::default())
        );
        assert_eq!(
            own_view(&group, &more, &Disclosure::default(), &code("p9")),
            None
        );
    }

    #[test]
    fn the_public_sees_group_figures_and_named_participants_only() {
        // Seven members, one flagged: 6 contributors, 1 named, so 5 not named.
        let mut seven: Vec<Participant> =
            (0..7).map(|n| referrals(n, 10 * n as u64, 100)).collect();
        seven[2].named = true;
        seven[3].named = true;
        seven[3].registration.anonymous = 999;
        let view = public_view(&group_of(&seven), &seven, &Disclosure::default());
        let rr = metric_of("referral-rate").reference();
        assert_eq!(view.participants, Some(7));
        assert_eq!(view.named.len(), 1);
        assert_eq!(
            view.named[&rr],
            [(code("p2"), 0.2)].into_iter().collect::<BTreeMap<_, _>>()
        );
        assert!(matches!(
            referral_figure(&view.figures),
            GroupValue::Shown {
                contributors: 6,
                ..
            }
        ));
        // Five contributors, two named: Q1 and Q3 (type 7 of five values: the second
        // and fourth) would be two of the other three's values, told apart by the named
        // ones beside them. No named value is shown; the group figure is.
        let mut five: Vec<Participant> = (0..5).map(|n| referrals(n, 10 * n as u64, 100)).collect();
        five[0].named = true;
        five[2].named = true;
        let view = public_view(&group_of(&five), &five, &Disclosure::default());
        assert!(view.named.is_empty(), "{:?}", view.named);
        assert!(matches!(
            referral_figure(&view.figures),
            GroupValue::Shown { .. }
        ));
        // Six contributors, one named: 5 not named, shown.
        let mut six: Vec<Participant> = (0..6).map(|n| referrals(n, 10 * n as u64, 100)).collect();
        six[4].named = true;
        let view = public_view(&group_of(&six), &six, &Disclosure::default());
        assert_eq!(view.named[&rr].len(), 1);
        // A group of four: no count, no figure, no named value.
        let mut four: Vec<Participant> = (0..4).map(|n| referrals(n, 10 * n as u64, 100)).collect();
        four[1].named = true;
        let view = public_view(&group_of(&four), &four, &Disclosure::default());
        assert_eq!(view.participants, None);
        assert!(view.named.is_empty());
        assert_eq!(referral_figure(&view.figures), GroupValue::Withheld);
    }

    /// One arbitrary participant: counts of every metric, a registration, maybe named.
    fn participant(n: usize) -> impl Strategy<Value = Participant> {
        let metrics = metrics();
        (
            proptest::collection::vec((0u64..200, 0u64..200), metrics.len()),
            0u64..400,
            0u64..100,
            0u64..100,
            any::<bool>(),
        )
            .prop_map(move |(pairs, contacts, anon, open, named)| Participant {
                id: Code::parse(&format!("p{n}")).unwrap(),
                size: 10_000,
                named,
                registration: Registration {
                    contacts,
                    anonymous: anon.min(contacts),
                    without_outcome: open.min(contacts),
                },
                counts: metrics
                    .iter()
                    .zip(pairs)
                    .map(|(m, (a, b))| {
                        let den = a.max(b);
                        let num = if m.unit == super::super::metric::Unit::Share {
                            a.min(b)
                        } else {
                            a
                        };
                        (
                            m.reference(),
                            Count {
                                numerator: num,
                                denominator: den,
                                items: den,
                            },
                        )
                    })
                    .collect(),
            })
    }

    fn participants() -> impl Strategy<Value = (Vec<Participant>, Vec<bool>)> {
        (0usize..12).prop_flat_map(|n| {
            (
                (0..n).map(participant).collect::<Vec<_>>(),
                proptest::collection::vec(any::<bool>(), n),
            )
        })
    }

    proptest! {
        #[test]
        fn group_figures_equal_a_direct_computation((all, member) in participants()) {
            let rules = Disclosure::default();
            let group = GroupPeriod::fixed(
                Code::parse("g").unwrap(),
                BenchmarkPeriod::Year { year: 2026 },
                all.iter().zip(&member).filter(|(_, m)| **m).map(|(p, _)| p.id.clone()).collect(),
            );
            let figures = group_figures(&group, &all, &rules);
            for f in &figures.figures {
                // Directly: the members not flagged with enough items, sorted; type 7.
                let mut values: Vec<f64> = all
                    .iter()
                    .zip(&member)
                    .filter(|(p, m)| **m && p.registration.flags().is_empty())
                    .filter_map(|(p, _)| {
                        let c = p.counts[&f.metric.reference()];
                        (c.items >= f.metric.min_items && c.denominator > 0)
                            .then(|| f.metric.value(c.numerator, c.denominator).unwrap())
                    })
                    .collect();
                values.sort_by(f64::total_cmp);
                let at = |p: f64| {
                    let h = (values.len() - 1) as f64 * p;
                    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
                    values[lo] + (h - h.floor()) * (values[hi] - values[lo])
                };
                if values.len() >= 5 {
                    prop_assert_eq!(f.value, GroupValue::Shown {
                        contributors: values.len(),
                        quartiles: Quartiles { q1: at(0.25), median: at(0.5), q3: at(0.75) },
                    });
                } else {
                    prop_assert_eq!(f.value, GroupValue::Withheld);
                }
            }
        }

        #[test]
        fn no_answer_discloses_a_group_below_the_minimum(
            (all, member) in participants(),
            min_participants in 5usize..8,
            min_contacts in 30u64..60,
        ) {
            let rules = Disclosure::new(min_participants, min_contacts, 50).unwrap();
            let group = GroupPeriod::fixed(
                Code::parse("g").unwrap(),
                BenchmarkPeriod::Month { year: 2026, month: 3 },
                all.iter().zip(&member).filter(|(_, m)| **m).map(|(p, _)| p.id.clone()).collect(),
            );
            let eligible = |metric: &Metric| -> usize {
                all.iter()
                    .filter(|p| group.members().contains(&p.id) && p.registration.flags().is_empty())
                    .filter(|p| p.counts[&metric.reference()].items >= rules.min_items(metric))
                    .count()
            };
            let public = public_view(&group, &all, &rules);
            let mut answers = vec![group_figures(&group, &all, &rules), public.figures.clone()];
            for p in &all {
                if let Some(view) = own_view(&group, &all, &rules, &p.id) {
                    prop_assert!(view.figures.iter().all(|f| f.position.is_none() || view.flags.is_empty()));
                    answers.push(GroupFigures {
                        group: group.group().clone(),
                        period: group.period(),
                        participants: view.participants,
                        figures: view.figures.into_iter().map(|f| GroupFigure { metric: f.metric, value: f.group }).collect(),
                    });
                } else {
                    prop_assert!(!group.members().contains(&p.id));
                }
            }
            for answer in answers {
                for f in answer.figures {
                    if let GroupValue::Shown { contributors, .. } = f.value {
                        prop_assert!(contributors >= min_participants);
                        prop_assert!(eligible(&f.metric) >= contributors);
                    }
                }
            }
            for (metric, values) in &public.named {
                let metric = super::super::metric::metric(metric).unwrap();
                for id in values.keys() {
                    let p = all.iter().find(|p| p.id == *id).unwrap();
                    prop_assert!(p.named && group.members().contains(id));
                    prop_assert!(p.registration.flags().is_empty());
                    prop_assert!(p.counts[&metric.reference()].items >= rules.min_items(&metric));
                }
            }
        }
    }
}
