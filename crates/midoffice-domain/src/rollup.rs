//! Figures from per-day rollups: the same figures as [`crate::figures`], exact, without
//! reading every contact of the period.
//!
//! The figures are a sum of the contributions of independent *units*: a case with all
//! its contacts, or a contact on no case (anonymous, ambiguous, or not yet on a case).
//! A unit's contributions, as known once every stored event counts, are a multiset of
//! [`Tally`]s, computed by [`tallies`] from the unit's facts with the same rule
//! functions the reference computation (`figures::figures`, `figures::thermometer`)
//! uses. The store keeps, per tenant, the sum of every unit's tallies per day and key
//! (`figure_rollup`) and each unit's own tallies, so a write that changes a unit applies
//! the difference. A period is answered from the rows of its days ([`sum_period`] is
//! what the store's query returns), turned into figures by [`figures_from`] and
//! [`thermometer_from`]. This holds only when `as_of` is at or after every stored event:
//! items that were still waiting (a contact not answered yet, a commitment still open)
//! carry their deadline, and are decided at `as_of`.
//!
//! Distinct cases per filter: for a filter that fixes the dims of a subset `S` of
//! {channel, topic, department}, the cases with a matching contact in the period are
//! counted once each, at the first such contact: the one whose previous contact on the
//! case with the same dims in `S` started before the period (or does not exist). So each
//! contact carries, per subset, an [`TallyKind::Entry`] with that previous contact's
//! day, the case's referral count and its first-contact-resolution item.

use crate::calendar::Calendar;
use crate::case::CaseFacts;
use crate::contact::{Channel, ContactFacts, Direction};
use crate::figures::{
    self, Dims, Figures, Filter, Item, NormResult, Period, ResponseTimes, day_of,
    nearest_rank_counted, norm_result, ratio,
};
use crate::settings::{Measure, TenantSettings};
use crate::signals;
use crate::{Code, Instant};
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// The version of the tally rules: part of the settings fingerprint, so rollups built by
/// other rules are rebuilt.
pub const TALLY_VERSION: u32 = 1;

/// `b` of an entry without a previous contact, `c` of one without a first-contact item.
pub const NO_DAY: i64 = i64::MIN;

/// The kinds of tallies (stored as their code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TallyKind {
    /// One per contact: `a` holds the `FLAG_` bits.
    Contact,
    /// Per response-time norm (its id in `topic`) per INBOUND contact on its channel:
    /// `a` = [`MISSED`], [`MET`] or [`PENDING`] with the deadline in `b` (microseconds).
    Response,
    /// Per answered INBOUND contact: `a` = seconds from start to answer.
    Answer,
    /// Per satisfaction answer: `a` = score, `b` = effort.
    Feedback,
    /// Per commitment, on its due date: `a` as for `Response` (fulfilled on time, late,
    /// open with the due time in `b`).
    Commitment,
    /// Per contact on a case per subset of dims: `a` = subset bits + referrals of the
    /// case × 8, `b` = the day of the previous contact with those dims (or [`NO_DAY`]),
    /// `c` = the case's first-contact item (`day × 2 + met`, or [`NO_DAY`]).
    Entry,
}

impl TallyKind {
    /// Every kind.
    pub const ALL: [TallyKind; 6] = [
        TallyKind::Contact,
        TallyKind::Response,
        TallyKind::Answer,
        TallyKind::Feedback,
        TallyKind::Commitment,
        TallyKind::Entry,
    ];

    /// The stored code.
    pub fn code(self) -> i16 {
        match self {
            TallyKind::Contact => 1,
            TallyKind::Response => 2,
            TallyKind::Answer => 3,
            TallyKind::Feedback => 4,
            TallyKind::Commitment => 5,
            TallyKind::Entry => 6,
        }
    }

    /// The kind of a stored code.
    pub fn from_code(code: i64) -> Option<Self> {
        TallyKind::ALL
            .into_iter()
            .find(|k| i64::from(k.code()) == code)
    }
}

/// Contact flags (`a` of a [`TallyKind::Contact`]).
pub const FLAG_HAS_CASE: i64 = 1;
pub const FLAG_REPEAT_CONTACT: i64 = 2;
pub const FLAG_CHANNEL_HOP: i64 = 4;
pub const FLAG_COMPLETED: i64 = 8;
pub const FLAG_REFERRED: i64 = 16;
pub const FLAG_FOLLOW_UP: i64 = 32;
pub const FLAG_STORY_REPEATED: i64 = 64;

/// Item states (`a` of a `Response` or `Commitment`).
pub const MISSED: i64 = 0;
pub const MET: i64 = 1;
pub const PENDING: i64 = 2;

/// Subset bits of an entry.
pub const BY_CHANNEL: i64 = 1;
pub const BY_TOPIC: i64 = 2;
pub const BY_DEPARTMENT: i64 = 4;

/// The key of a tally apart from its kind and day. Absent dims are `""`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TallyKey {
    pub channel: String,
    pub topic: String,
    pub department: String,
    pub a: i64,
    pub b: i64,
    pub c: i64,
}

/// One contribution of a unit: counts 1.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tally {
    pub kind: TallyKind,
    pub day: NaiveDate,
    pub key: TallyKey,
}

/// Tallies summed over the days of a period (see [`sum_period`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupRow {
    pub kind: TallyKind,
    pub key: TallyKey,
    pub n: i64,
}

/// A unit of the figures.
#[derive(Clone, Copy, Debug)]
pub enum UnitFacts<'a> {
    /// A case with all its contacts.
    Case(&'a CaseFacts),
    /// A contact on no case.
    Contact(&'a ContactFacts),
}

/// The day number a date is stored under.
pub fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

/// The date of a stored day number.
pub fn day_from_number(n: i64) -> Option<NaiveDate> {
    i32::try_from(n)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

fn micros(t: Instant) -> i64 {
    t.timestamp_micros()
}

fn item_key(item: Item) -> (i64, i64) {
    match item {
        Item::Decided(true) => (MET, 0),
        Item::Decided(false) => (MISSED, 0),
        Item::Pending { deadline } => (PENDING, micros(deadline)),
    }
}

fn item_of(a: i64, b: i64) -> Option<Item> {
    match a {
        MET => Some(Item::Decided(true)),
        MISSED => Some(Item::Decided(false)),
        PENDING => {
            chrono::DateTime::from_timestamp_micros(b).map(|deadline| Item::Pending { deadline })
        }
        _ => None,
    }
}

fn code_str(code: Option<&Code>) -> String {
    code.map(|c| c.as_str().to_owned()).unwrap_or_default()
}

/// The instant by which everything of these contacts is known.
fn latest<'a>(contacts: impl IntoIterator<Item = &'a ContactFacts>) -> Option<Instant> {
    contacts
        .into_iter()
        .flat_map(|c| {
            [
                Some(c.started_at),
                c.completion.as_ref().map(|e| e.ended_at),
            ]
        })
        .flatten()
        .max()
}

struct Ctx<'a> {
    settings: &'a TenantSettings,
    calendar: &'a Calendar,
    t: Instant,
    out: Vec<Tally>,
}

impl Ctx<'_> {
    fn push(&mut self, kind: TallyKind, day: NaiveDate, key: TallyKey) {
        self.out.push(Tally { kind, day, key });
    }

    /// The tallies of one contact that do not depend on the rest of its case.
    fn contact(&mut self, contact: &ContactFacts, case: Option<&CaseFacts>) {
        let t = self.t;
        let day = day_of(self.calendar, contact.started_at);
        let d = figures::dims(contact, case, t);
        let base = TallyKey {
            channel: d.channel.as_str().to_owned(),
            topic: code_str(d.topic),
            department: code_str(d.department),
            ..TallyKey::default()
        };
        let j = figures::judge(contact, case, self.settings, t);
        let mut flags = 0;
        for (on, flag) in [
            (j.has_case, FLAG_HAS_CASE),
            (j.repeat_contact, FLAG_REPEAT_CONTACT),
            (j.channel_hop, FLAG_CHANNEL_HOP),
            (j.referred.is_some(), FLAG_COMPLETED),
            (j.referred == Some(true), FLAG_REFERRED),
            (j.story_repeated.is_some(), FLAG_FOLLOW_UP),
            (j.story_repeated == Some(true), FLAG_STORY_REPEATED),
        ] {
            if on {
                flags |= flag;
            }
        }
        self.push(
            TallyKind::Contact,
            day,
            TallyKey {
                a: flags,
                ..base.clone()
            },
        );
        if contact.direction == Direction::Inbound {
            for norm in &self.settings.norms {
                if let Measure::ResponseTime { channel, within } = &norm.measure
                    && *channel == contact.channel
                    && let Some(item) = figures::response_item(contact, *within, self.calendar, t)
                {
                    let (a, b) = item_key(item);
                    self.push(
                        TallyKind::Response,
                        day,
                        TallyKey {
                            channel: channel.as_str().to_owned(),
                            topic: norm.id.as_str().to_owned(),
                            a,
                            b,
                            ..TallyKey::default()
                        },
                    );
                }
            }
        }
        if let Some(secs) = figures::answered_secs(contact, t) {
            self.push(
                TallyKind::Answer,
                day,
                TallyKey {
                    a: i64::try_from(secs).unwrap_or(i64::MAX),
                    ..base.clone()
                },
            );
        }
        if let Some(f) = figures::feedback_known(contact, t) {
            self.push(
                TallyKind::Feedback,
                day,
                TallyKey {
                    a: i64::from(f.score),
                    b: i64::from(f.effort),
                    ..base
                },
            );
        }
    }
}

/// The dims of a contact kept by a subset, `None` when a filter on this subset can never
/// match it (a topic or department it does not have).
fn restricted(d: &Dims<'_>, subset: i64) -> Option<(String, String, String)> {
    let channel = if subset & BY_CHANNEL != 0 {
        d.channel.as_str().to_owned()
    } else {
        String::new()
    };
    let topic = if subset & BY_TOPIC != 0 {
        d.topic?.as_str().to_owned()
    } else {
        String::new()
    };
    let department = if subset & BY_DEPARTMENT != 0 {
        d.department?.as_str().to_owned()
    } else {
        String::new()
    };
    Some((channel, topic, department))
}

/// The subset of dims a filter fixes.
pub fn subset_of(filter: &Filter) -> i64 {
    let mut s = 0;
    if filter.channel.is_some() {
        s |= BY_CHANNEL;
    }
    if filter.topic.is_some() {
        s |= BY_TOPIC;
    }
    if filter.department.is_some() {
        s |= BY_DEPARTMENT;
    }
    s
}

/// A unit's contributions as known once all its events count (every stored event).
pub fn tallies(unit: UnitFacts<'_>, settings: &TenantSettings) -> Vec<Tally> {
    let calendar = &settings.calendar;
    match unit {
        UnitFacts::Contact(contact) => {
            let Some(t) = latest([contact]) else {
                return Vec::new();
            };
            let mut ctx = Ctx {
                settings,
                calendar,
                t,
                out: Vec::new(),
            };
            ctx.contact(contact, None);
            ctx.out
        }
        UnitFacts::Case(case) => {
            let Some(t) = latest(&case.contacts) else {
                return Vec::new();
            };
            let case = figures::known_case(case, t);
            let mut ctx = Ctx {
                settings,
                calendar,
                t,
                out: Vec::new(),
            };
            let mut contacts: Vec<&ContactFacts> = case.contacts.iter().collect();
            contacts.sort_by_key(|c| (c.started_at, c.id));
            for c in &contacts {
                ctx.contact(c, Some(&case));
            }
            let referrals = i64::try_from(figures::referrals(&case, t)).unwrap_or(i64::MAX >> 4);
            let fcr = figures::fcr_item(&case, settings, t).map_or(NO_DAY, |(first, met)| {
                day_number(day_of(calendar, first)) * 2 + i64::from(met)
            });
            for subset in 0..8 {
                let mut last: HashMap<(String, String, String), NaiveDate> = HashMap::new();
                for c in &contacts {
                    let d = figures::dims(c, Some(&case), t);
                    let Some(dims) = restricted(&d, subset) else {
                        continue;
                    };
                    let day = day_of(calendar, c.started_at);
                    let prev = last.insert(dims.clone(), day);
                    if prev == Some(day) {
                        // Never the first in a period: its previous one is in it too.
                        continue;
                    }
                    let (channel, topic, department) = dims;
                    ctx.push(
                        TallyKind::Entry,
                        day,
                        TallyKey {
                            channel,
                            topic,
                            department,
                            a: subset + referrals * 8,
                            b: prev.map_or(NO_DAY, day_number),
                            c: fcr,
                        },
                    );
                }
            }
            for commitment in signals::commitments(&case, t) {
                let (a, b) = item_key(figures::commitment_item(&commitment));
                ctx.push(
                    TallyKind::Commitment,
                    calendar.due_date(commitment.due_at),
                    TallyKey {
                        a,
                        b,
                        ..TallyKey::default()
                    },
                );
            }
            ctx.out
        }
    }
}

/// Tallies as a multiset: count per tally.
pub fn counted(tallies: impl IntoIterator<Item = Tally>) -> BTreeMap<Tally, i64> {
    let mut out = BTreeMap::new();
    for t in tallies {
        *out.entry(t).or_insert(0) += 1;
    }
    out
}

/// What changes in the rollups when a unit's tallies go from `old` to `new`: count
/// differences, without zeros.
pub fn difference(old: &BTreeMap<Tally, i64>, new: &BTreeMap<Tally, i64>) -> Vec<(Tally, i64)> {
    let mut delta: BTreeMap<&Tally, i64> = BTreeMap::new();
    for (t, n) in new {
        *delta.entry(t).or_insert(0) += n;
    }
    for (t, n) in old {
        *delta.entry(t).or_insert(0) -= n;
    }
    delta
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|(t, n)| (t.clone(), n))
        .collect()
}

/// The bounds a period's query uses, as stored numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeriodBounds {
    /// Day numbers `[from, to)`.
    pub from: i64,
    pub to: i64,
}

impl PeriodBounds {
    /// The bounds of a period.
    pub fn of(period: &Period) -> Self {
        PeriodBounds {
            from: day_number(period.from),
            to: day_number(period.to),
        }
    }

    /// Whether an entry's key counts: its previous contact is before the period.
    pub fn entry_counts(&self, b: i64) -> bool {
        b < self.from
    }

    /// An entry's first-contact item reduced to the period: 1 met, 0 not met, -1 none
    /// (no item, or its first contact is not in the period).
    pub fn entry_fcr(&self, c: i64) -> i64 {
        if c >= self.from * 2 && c < self.to * 2 {
            c % 2
        } else {
            -1
        }
    }
}

/// What the store's rollup query returns for a period, computed in memory: the tallies
/// of the days in `[from, to)`, summed over the days; entries only when they count
/// (`b` dropped to 0, `c` reduced by [`PeriodBounds::entry_fcr`]).
pub fn sum_period<'a>(
    tallies: impl IntoIterator<Item = (&'a Tally, i64)>,
    period: &Period,
) -> Vec<RollupRow> {
    let bounds = PeriodBounds::of(period);
    let mut sums: BTreeMap<(TallyKind, TallyKey), i64> = BTreeMap::new();
    for (t, n) in tallies {
        if t.day < period.from || t.day >= period.to {
            continue;
        }
        let mut key = t.key.clone();
        if t.kind == TallyKind::Entry {
            if !bounds.entry_counts(key.b) {
                continue;
            }
            key.b = 0;
            key.c = bounds.entry_fcr(key.c);
        }
        *sums.entry((t.kind, key)).or_insert(0) += n;
    }
    sums.into_iter()
        .map(|((kind, key), n)| RollupRow { kind, key, n })
        .collect()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn matches(filter: &Filter, key: &TallyKey) -> bool {
    filter.channel.is_none_or(|c| key.channel == c.as_str())
        && filter
            .topic
            .as_ref()
            .is_none_or(|t| key.topic == t.as_str())
        && filter
            .department
            .as_ref()
            .is_none_or(|d| key.department == d.as_str())
}

/// The counted entries of a subset: (cases, referrals per case, fcr -1/0/1) rows.
fn entries<'a>(
    rows: &'a [RollupRow],
    filter: &'a Filter,
) -> impl Iterator<Item = (i64, i64, u64)> + 'a {
    let subset = subset_of(filter);
    rows.iter()
        .filter(move |r| {
            r.kind == TallyKind::Entry && r.key.a & 7 == subset && matches(filter, &r.key)
        })
        .map(|r| (r.key.a >> 3, r.key.c, count(r.n)))
}

/// The dashboard figures from a period's rows ([`sum_period`]), as `figures::figures`
/// computes them from the facts when `as_of` is at or after every stored event.
pub fn figures_from(rows: &[RollupRow], filter: &Filter) -> Figures {
    let mut contacts = 0;
    let (mut with_case, mut repeats, mut hops) = (0, 0, 0);
    let (mut completed, mut referred) = (0, 0);
    let (mut follow_ups, mut repeated) = (0, 0);
    let (mut answers, mut score_sum, mut effort_sum) = (0, 0, 0);
    let mut answered: BTreeMap<Channel, BTreeMap<u64, u64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| matches(filter, &r.key)) {
        let n = count(r.n);
        match r.kind {
            TallyKind::Contact => {
                let f = r.key.a;
                let has = |flag| if f & flag != 0 { n } else { 0 };
                contacts += n;
                with_case += has(FLAG_HAS_CASE);
                repeats += has(FLAG_REPEAT_CONTACT);
                hops += has(FLAG_CHANNEL_HOP);
                completed += has(FLAG_COMPLETED);
                referred += has(FLAG_REFERRED);
                follow_ups += has(FLAG_FOLLOW_UP);
                repeated += has(FLAG_STORY_REPEATED);
            }
            TallyKind::Answer => {
                if let Some(channel) = Channel::parse(&r.key.channel) {
                    *answered
                        .entry(channel)
                        .or_default()
                        .entry(count(r.key.a))
                        .or_insert(0) += n;
                }
            }
            TallyKind::Feedback => {
                answers += n;
                score_sum += count(r.key.a) * n;
                effort_sum += count(r.key.b) * n;
            }
            _ => {}
        }
    }
    let (mut cases, mut more_than_once, mut fcr_items, mut fcr_met) = (0, 0, 0, 0);
    for (referrals, fcr, n) in entries(rows, filter) {
        cases += n;
        if referrals > 1 {
            more_than_once += n;
        }
        if fcr >= 0 {
            fcr_items += n;
            if fcr == 1 {
                fcr_met += n;
            }
        }
    }
    let response_times = Channel::ALL
        .into_iter()
        .filter_map(|channel| {
            let secs: Vec<(u64, u64)> = answered
                .get(&channel)?
                .iter()
                .map(|(s, n)| (*s, *n))
                .filter(|(_, n)| *n > 0)
                .collect();
            let total: u64 = secs.iter().map(|(_, n)| n).sum();
            if total == 0 {
                return None;
            }
            Some(ResponseTimes {
                channel,
                answered: total,
                p50_seconds: nearest_rank_counted(&secs, 50),
                p90_seconds: nearest_rank_counted(&secs, 90),
            })
        })
        .collect();
    Figures {
        contacts,
        cases,
        first_contact_resolution: ratio(fcr_met, fcr_items),
        repeat_contact_rate: ratio(repeats, with_case),
        referral_rate: ratio(referred, completed),
        cases_referred_more_than_once: more_than_once,
        repeat_story_rate: ratio(repeated, follow_ups),
        channel_hops: hops,
        response_times,
        satisfaction_score: ratio(score_sum, answers),
        effort_score: ratio(effort_sum, answers),
    }
}

/// The thermometer from a period's rows ([`sum_period`]), as `figures::thermometer`
/// computes it from the facts when `as_of` is at or after every stored event.
pub fn thermometer_from(
    rows: &[RollupRow],
    period: &Period,
    settings: &TenantSettings,
) -> Vec<NormResult> {
    let as_of = period.as_of;
    let everything = Filter::default();
    let items = |kind: TallyKind, norm: Option<&Code>| -> (u64, u64) {
        let (mut met, mut items) = (0, 0);
        for r in rows
            .iter()
            .filter(|r| r.kind == kind && norm.is_none_or(|id| r.key.topic == id.as_str()))
        {
            if let Some(ok) = item_of(r.key.a, r.key.b).and_then(|i| i.at(as_of)) {
                items += count(r.n);
                if ok {
                    met += count(r.n);
                }
            }
        }
        (met, items)
    };
    settings
        .norms
        .iter()
        .map(|norm| {
            let (met, total) = match &norm.measure {
                Measure::ResponseTime { .. } => items(TallyKind::Response, Some(&norm.id)),
                Measure::CommitmentOnTime { .. } => items(TallyKind::Commitment, None),
                Measure::FirstContactResolution => {
                    entries(rows, &everything).fold((0, 0), |(met, all), (_, fcr, n)| match fcr {
                        1 => (met + n, all + n),
                        0 => (met, all + n),
                        _ => (met, all),
                    })
                }
                Measure::ReferredAtMost { max } => {
                    entries(rows, &everything).fold((0, 0), |(met, all), (referrals, _, n)| {
                        let ok = referrals <= i64::from(*max);
                        (met + if ok { n } else { 0 }, all + n)
                    })
                }
                Measure::StoryToldOnce => rows
                    .iter()
                    .filter(|r| r.kind == TallyKind::Contact && r.key.a & FLAG_FOLLOW_UP != 0)
                    .fold((0, 0), |(met, all), r| {
                        let n = count(r.n);
                        let ok = r.key.a & FLAG_STORY_REPEATED == 0;
                        (met + if ok { n } else { 0 }, all + n)
                    }),
            };
            norm_result(norm, met, total)
        })
        .collect()
}

/// A fingerprint of what the tallies depend on in a tenant's settings (norms' ids and
/// measures, calendar, windows) and of the tally rules: rollups built under another
/// fingerprint are stale.
pub fn fingerprint(settings: &TenantSettings) -> String {
    let norms: Vec<(&str, &Measure)> = settings
        .norms
        .iter()
        .map(|n| (n.id.as_str(), &n.measure))
        .collect();
    let text = format!(
        "tallies v{TALLY_VERSION}|{norms:?}|{:?}|{}|{}",
        settings.calendar, settings.repeat_window_secs, settings.channel_hop_window_secs
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{Completion, Feedback, Outcome};
    use crate::figures::{FigureFacts, NormStatus};
    use crate::settings::{Norm, Within};
    use chrono::{TimeDelta, TimeZone, Utc};
    use proptest::prelude::*;
    use uuid::Uuid;

    /// A small deterministic generator: the proptest input is its seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
        fn pick<T: Clone>(&mut self, items: &[T]) -> T {
            items[self.below(items.len() as u64) as usize].clone()
        }
    }

    fn code(s: &str) -> Code {
        Code::parse(s).unwrap()
    }

    fn base() -> Instant {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
    }

    fn within(rng: &mut Rng) -> Within {
        if rng.chance(50) {
            Within::Elapsed(rng.pick(&[10, 25, 60, 900, 3600, 86_400]))
        } else {
            Within::WorkingDays(1 + rng.below(4) as u32)
        }
    }

    fn settings(rng: &mut Rng) -> TenantSettings {
        let mut s = TenantSettings::default();
        s.calendar.time_zone = rng.pick(&[
            chrono_tz::Europe::Amsterdam,
            chrono_tz::UTC,
            chrono_tz::America::Sao_Paulo,
            chrono_tz::Pacific::Chatham,
            chrono_tz::America::Havana,
        ]);
        s.repeat_window_secs = rng.pick(&[3600, 86_400, 7 * 86_400]);
        s.channel_hop_window_secs = rng.pick(&[3600, 48 * 3600]);
        s.norms.retain(|_| rng.chance(80));
        for i in 0..rng.below(3) {
            let measure = match rng.below(5) {
                0 => Measure::ReferredAtMost {
                    max: rng.below(4) as u32,
                },
                1 => Measure::CommitmentOnTime {
                    within: Some(within(rng)),
                },
                _ => Measure::ResponseTime {
                    channel: rng.pick(&Channel::ALL),
                    within: within(rng),
                },
            };
            s.norms.push(Norm {
                id: code(&format!("extra-{i}")),
                title: "t".into(),
                measure,
                target_percent: rng.below(101) as u32,
                explanation: None,
            });
        }
        s
    }

    fn maybe_code(rng: &mut Rng, options: &[&str]) -> Option<Code> {
        if rng.chance(30) {
            None
        } else {
            Some(code(rng.pick(options)))
        }
    }

    fn contact(rng: &mut Rng, id: u128, case: Option<Uuid>) -> ContactFacts {
        let started_at = base() + TimeDelta::seconds(rng.below(40 * 86_400) as i64);
        let channel = rng.pick(&Channel::ALL);
        let completion = rng.chance(80).then(|| {
            let outcome = rng.pick(&Outcome::ALL);
            let length = rng.pick(&[0, 3, 4, 5, 30, 600, 90_000, 400_000]);
            let ended_at = started_at + TimeDelta::seconds(length);
            let answered_at = (outcome != Outcome::Abandoned && rng.chance(85))
                .then(|| started_at + TimeDelta::seconds(rng.below(length as u64 + 1) as i64));
            Completion {
                ended_at,
                answered_at,
                outcome,
                story: (outcome != Outcome::Abandoned && rng.chance(50))
                    .then(|| "verhaal".to_owned()),
                department: maybe_code(rng, &["kcc", "wmo"]),
                topic: maybe_code(rng, &["paspoort", "afval"]),
                referred_to: None,
                due_at: (outcome.is_commitment() && rng.chance(90)).then(|| {
                    ended_at + TimeDelta::seconds(rng.pick(&[60, 3600, 86_400, 3 * 86_400]))
                }),
                story_repeated: rng.chance(20),
            }
        });
        let recorded = rng.chance(20);
        let feedback = (completion.is_some() && rng.chance(30)).then(|| Feedback {
            score: 1 + rng.below(5) as u8,
            effort: 1 + rng.below(7) as u8,
            story_repeated: rng.chance(30),
            comment: None,
        });
        ContactFacts {
            id: Uuid::from_u128(id),
            party_id: case.map(|_| Uuid::from_u128(1)),
            case_id: case,
            channel,
            direction: if rng.chance(80) {
                Direction::Inbound
            } else {
                Direction::Outbound
            },
            started_at,
            topic: if rng.chance(50) {
                None
            } else {
                maybe_code(rng, &["paspoort", "afval", "wmo"])
            },
            department: maybe_code(rng, &["kcc", "wmo", "burgerzaken"]),
            case_chosen_at_completion: case.is_some() && completion.is_some() && rng.chance(20),
            recorded,
            context_seen: !recorded || rng.chance(50),
            ambiguous: false,
            completion,
            feedback,
        }
    }

    struct World {
        settings: TenantSettings,
        facts: FigureFacts,
    }

    fn world(seed: u64) -> World {
        let mut rng = Rng(seed | 1);
        let settings = settings(&mut rng);
        let mut facts = FigureFacts::default();
        let mut next = 100u128;
        for k in 0..rng.below(7) {
            let id = Uuid::from_u128(10 + u128::from(k));
            let mut contacts = Vec::new();
            for _ in 0..1 + rng.below(7) {
                next += 1;
                contacts.push(contact(&mut rng, next, Some(id)));
            }
            let created_at = contacts.iter().map(|c| c.started_at).min().unwrap();
            facts.contacts.extend(contacts.iter().cloned());
            facts.cases.insert(
                id,
                CaseFacts {
                    id,
                    party_id: Uuid::from_u128(1),
                    topic: maybe_code(&mut rng, &["paspoort", "afval"]),
                    reference: None,
                    created_at,
                    contacts,
                },
            );
        }
        for _ in 0..rng.below(5) {
            next += 1;
            facts.contacts.push(contact(&mut rng, next, None));
        }
        World { settings, facts }
    }

    fn all_tallies(w: &World) -> Vec<Tally> {
        let mut out = Vec::new();
        for case in w.facts.cases.values() {
            out.extend(tallies(UnitFacts::Case(case), &w.settings));
        }
        for c in w.facts.contacts.iter().filter(|c| c.case_id.is_none()) {
            out.extend(tallies(UnitFacts::Contact(c), &w.settings));
        }
        out
    }

    fn latest_event(w: &World) -> Instant {
        latest(&w.facts.contacts).unwrap_or_else(base)
    }

    fn period(rng: &mut Rng, w: &World) -> Period {
        let day =
            |n: u64| NaiveDate::from_ymd_opt(2026, 2, 25).unwrap() + TimeDelta::days(n as i64);
        let from = day(rng.below(50));
        let to = from + TimeDelta::days(1 + rng.below(40) as i64);
        let as_of = latest_event(w)
            + TimeDelta::seconds(rng.pick(&[0, 1, 59, 3600, 86_400, 5 * 86_400, 30 * 86_400]));
        Period { from, to, as_of }
    }

    fn filter(rng: &mut Rng) -> Filter {
        Filter {
            channel: rng.chance(40).then(|| rng.pick(&Channel::ALL)),
            topic: rng
                .chance(40)
                .then(|| code(rng.pick(&["paspoort", "afval", "wmo"]))),
            department: rng
                .chance(40)
                .then(|| code(rng.pick(&["kcc", "wmo", "burgerzaken"]))),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn prop_rollups_give_the_figures_of_the_facts(seed in any::<u64>()) {
            let w = world(seed);
            let all = counted(all_tallies(&w));
            let mut rng = Rng(seed.rotate_left(17) | 1);
            for _ in 0..6 {
                let p = period(&mut rng, &w);
                let rows = sum_period(all.iter().map(|(t, n)| (t, *n)), &p);
                prop_assert_eq!(
                    thermometer_from(&rows, &p, &w.settings),
                    figures::thermometer(&w.facts, &p, &w.settings)
                );
                let f = filter(&mut rng);
                prop_assert_eq!(
                    figures_from(&rows, &f),
                    figures::figures(&w.facts, &p, &f, &w.settings),
                    "filter {:?}", f
                );
                for channel in Channel::ALL {
                    let f = Filter { channel: Some(channel), ..f.clone() };
                    prop_assert_eq!(
                        figures_from(&rows, &f),
                        figures::figures(&w.facts, &p, &f, &w.settings)
                    );
                }
            }
        }
    }

    #[test]
    fn the_difference_of_a_unit_is_what_changed() {
        let w = (1..)
            .map(world)
            .find(|w| !w.facts.cases.is_empty())
            .unwrap();
        let case = w.facts.cases.values().next().unwrap();
        let before = counted(tallies(UnitFacts::Case(case), &w.settings));
        assert!(difference(&before, &before).is_empty());
        let gone = difference(&before, &BTreeMap::new());
        assert_eq!(
            gone.iter().map(|(_, n)| -n).sum::<i64>(),
            before.values().sum::<i64>()
        );
    }

    #[test]
    fn a_pending_answer_is_missed_only_after_its_deadline() {
        let s = TenantSettings::default();
        let start = base() + TimeDelta::days(2);
        let open = ContactFacts {
            id: Uuid::from_u128(1),
            party_id: None,
            case_id: None,
            channel: Channel::Phone,
            direction: Direction::Inbound,
            started_at: start,
            topic: None,
            department: None,
            case_chosen_at_completion: false,
            recorded: false,
            context_seen: true,
            ambiguous: false,
            completion: None,
            feedback: None,
        };
        let all = counted(tallies(UnitFacts::Contact(&open), &s));
        let phone = |as_of| {
            let p = Period {
                from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                as_of,
            };
            let rows = sum_period(all.iter().map(|(t, n)| (t, *n)), &p);
            thermometer_from(&rows, &p, &s)
                .into_iter()
                .find(|r| r.norm_id.as_str() == "phone-answered")
                .unwrap()
        };
        assert_eq!(
            phone(start + TimeDelta::seconds(25)).status,
            NormStatus::NoData
        );
        let late = phone(start + TimeDelta::seconds(26));
        assert_eq!((late.met, late.items), (0, 1));
    }
}
