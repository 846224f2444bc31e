//! Figures from rollups: the same figures as [`crate::figures`], exact, without reading
//! every contact of the period.
//!
//! The figures are a sum of the contributions of independent *units*: a case with all
//! its contacts, or a contact on no case (anonymous, ambiguous, or not yet on a case).
//! A unit's contributions, as known once every stored event counts, are a multiset of
//! [`Tally`]s, computed by [`tallies`] from the unit's facts with the same rule
//! functions the reference computation (`figures::figures`, `figures::thermometer`)
//! uses. The store keeps, per tenant, the sum of every unit's tallies per day and key
//! (`figure_rollup`), the same per calendar month ([`month_row`], `figure_month`), and
//! each unit's own tallies, so a write that changes a unit applies the difference.
//!
//! Which computation answers a call is decided here ([`path`]): the rollups when they
//! were built with the current settings, `as_of` is at or after every stored event
//! (items still waiting, a contact not answered yet or a commitment still open, carry
//! their deadline and are decided at `as_of`), and the period has [`spans`]: one from
//! the first of a month that holds a whole month reads the rows of its whole months
//! and the days of a last partial month; any other of at most [`REL_DAYS`] days reads
//! its days' rows. Otherwise the facts. The rows ([`sum_period`] is what the store's query returns) become
//! figures by [`figures_from`], [`thermometer_from`] and, for a run of days, weeks or
//! months, [`series_from`].
//!
//! Distinct cases per filter: for a filter that fixes the dims of a subset `S` of
//! {channel, topic, department}, the cases with a matching contact in the period are
//! counted once each, at the first such contact: the one whose previous contact on the
//! case with the same dims in `S` started before the period (or does not exist). So each
//! contact carries, per subset, an [`TallyKind::Entry`] with that previous contact's
//! day and the day of the case's first-contact-resolution item, each as a [`relation`]
//! to the entry's own day (days up to a month back, then calendar months, so a day has
//! a bounded number of distinct keys): exact for the periods [`spans`] allows.

use crate::calendar::Calendar;
use crate::case::CaseFacts;
use crate::contact::{Channel, ContactFacts, Direction};
use crate::figures::{
    self, Dims, FigureCounts, Figures, Filter, Item, NormResult, Period, ResponseTimes, Share,
    day_of, norm_result, ratio,
};
use crate::settings::{Measure, TenantSettings};
use crate::signals;
use crate::{Code, Instant};
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    /// Per answered INBOUND contact: `a` = the [`answer_bucket`] of the seconds from
    /// start to answer.
    Answer,
    /// Per answered INBOUND contact, beside its `Answer`: `a` = the seconds from start
    /// to answer, kind by bucket (stored as `100 + bucket`), so the exact seconds of
    /// one bucket are read apart.
    Seconds(u8),
    /// Per satisfaction answer: `a` = score, `b` = effort.
    Feedback,
    /// Per commitment, on its due date: `a` as for `Response` (fulfilled on time, late,
    /// open with the due time in `b`).
    Commitment,
    /// Per contact on a case per subset of dims: `a` = subset bits + referrals of the
    /// case × 8, `b` = the [`relation`] of the previous contact with those dims (or
    /// [`NO_DAY`]), `c` = the case's first-contact item (`relation × 2 + met`, or
    /// [`NO_DAY`]).
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
            TallyKind::Seconds(bucket) => 100 + i16::from(bucket),
        }
    }

    /// The kind of a stored code.
    pub fn from_code(code: i64) -> Option<Self> {
        if (100..356).contains(&code) {
            return u8::try_from(code - 100).ok().map(TallyKind::Seconds);
        }
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
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            let bucket = answer_bucket(secs);
            self.push(
                TallyKind::Answer,
                day,
                TallyKey {
                    a: bucket,
                    ..base.clone()
                },
            );
            self.push(
                TallyKind::Seconds(u8::try_from(bucket).unwrap_or(u8::MAX)),
                day,
                TallyKey {
                    a: secs,
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
            let fcr_first = figures::fcr_item(&case, settings, t)
                .map(|(first, met)| (day_of(calendar, first), met));
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
                            b: prev.map_or(NO_DAY, |p| relation(day, p)),
                            c: fcr_first
                                .map_or(NO_DAY, |(f, met)| relation(day, f) * 2 + i64::from(met)),
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

/// Relations of an entry reach back this many days exactly.
pub const REL_DAYS: i64 = 31;
/// Beyond [`REL_DAYS`], relations reach back this many months, then "that far or more";
/// more than the longest period of figures (`limits::MAX_PERIOD_DAYS`, three years).
pub const REL_MONTHS: i64 = 40;
/// A relation of `REL_MONTH_BASE + m`: `m` months back (by calendar month).
const REL_MONTH_BASE: i64 = 1000;

/// The month number a date is stored under (months since January of year 0).
pub fn month_number(date: NaiveDate) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

/// The first day of a stored month number.
pub fn month_start(m: i64) -> Option<NaiveDate> {
    let year = i32::try_from(m.div_euclid(12)).ok()?;
    let month = u32::try_from(m.rem_euclid(12)).ok()? + 1;
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// How an entry on day `d` stores another day `x` of its case, so that the number of
/// distinct values per day and key is bounded: up to [`REL_DAYS`] back as days, further
/// back as calendar months (up to [`REL_MONTHS`]), and after `d` (rare: a first-contact
/// item after abandoned contacts) as the day itself (negative).
pub fn relation(d: NaiveDate, x: NaiveDate) -> i64 {
    let back = (d - x).num_days();
    if back < 0 {
        -day_number(x) - 1
    } else if back <= REL_DAYS {
        back
    } else {
        REL_MONTH_BASE + (month_number(d) - month_number(x)).min(REL_MONTHS)
    }
}

/// The relation of a day-row relation at day `d` in a month row: backward days become
/// calendar months.
fn month_relation(d: NaiveDate, rel: i64) -> i64 {
    if (0..=REL_DAYS).contains(&rel) {
        let x = d - chrono::TimeDelta::days(rel);
        REL_MONTH_BASE + month_number(d) - month_number(x)
    } else {
        rel
    }
}

/// A tally of the first tally rules in today's: an entry's `b` and `c` held day numbers
/// (the previous contact's day, the first-contact item's day × 2 + met) and become
/// [`relation`]s; an answer held its seconds and becomes its bucket's `Answer` and
/// `Seconds`; other tallies are unchanged. `None` for a day out of range.
pub fn from_v1(tally: &Tally) -> Option<Vec<Tally>> {
    let mut out = tally.clone();
    match tally.kind {
        TallyKind::Entry => {
            if tally.key.b != NO_DAY {
                out.key.b = relation(tally.day, day_from_number(tally.key.b)?);
            }
            if tally.key.c != NO_DAY {
                let first = day_from_number(tally.key.c.div_euclid(2))?;
                out.key.c = relation(tally.day, first) * 2 + tally.key.c.rem_euclid(2);
            }
            Some(vec![out])
        }
        TallyKind::Answer => {
            let bucket = answer_bucket(tally.key.a);
            let mut seconds = tally.clone();
            seconds.kind = TallyKind::Seconds(u8::try_from(bucket).ok()?);
            out.key.a = bucket;
            Some(vec![out, seconds])
        }
        _ => Some(vec![out]),
    }
}

/// The bucket of an answer time: each second below 16, then four buckets per power of
/// two (so a bucket holds at most a quarter of its values' size in distinct seconds).
pub fn answer_bucket(secs: i64) -> i64 {
    let secs = secs.max(0);
    if secs < 16 {
        return secs;
    }
    let k = 63 - i64::from(secs.leading_zeros());
    16 + (k - 4) * 4 + ((secs >> (k - 2)) & 3)
}

/// What a row is summed over: one day or one calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    Day,
    Month,
}

/// A run of days (day numbers) or months (month numbers), `to` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub grain: Grain,
    pub from: i64,
    pub to: i64,
}

impl Span {
    /// Whether this span holds a day or month of this grain.
    pub fn holds(&self, grain: Grain, at: i64) -> bool {
        self.grain == grain && at >= self.from && at < self.to
    }
}

/// A tally as summed into its month's row: the month number and the key, whose
/// entry relations count in calendar months.
pub fn month_row(tally: &Tally) -> (i64, TallyKey) {
    let mut key = tally.key.clone();
    if tally.kind == TallyKind::Entry {
        if key.b != NO_DAY {
            key.b = month_relation(tally.day, key.b);
        }
        if key.c != NO_DAY {
            key.c = month_relation(tally.day, key.c.div_euclid(2)) * 2 + key.c.rem_euclid(2);
        }
    }
    (month_number(tally.day), key)
}

/// The subset bits of an entry that the overall totals leave out ([`total_rows`]).
pub const NOT_IN_TOTALS: i64 = BY_TOPIC | BY_DEPARTMENT;

/// The parts of the totals (per-day and per-month sums with dims summed away, kept
/// beside the full sums so that a call reads one range of rows per day and kind, with
/// only the dims its filters fix): which dims a part's rows keep besides the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Topic and department summed away (a response item's norm stays in `topic`): for
    /// the calls no filter of which fixes either (the thermometer; the dashboard
    /// unfiltered or by channel).
    Overall,
    /// Per topic, department summed away: for calls every filter of which fixes a
    /// topic and none a department.
    Topic,
    /// Per department, topic summed away: for calls every filter of which fixes a
    /// department and none a topic.
    Department,
}

/// A tally as also counted in the totals: the rows of the parts ([`Part`]) it counts
/// in, each with the same kind, day, channel and counts.
/// - [`Part::Overall`]: every tally but an entry of a subset that fixes a topic or a
///   department, with `topic` and `department` `""` (a response item's `topic` holds
///   its norm and stays).
/// - [`Part::Topic`]: a contact's tallies (contact, answer, seconds, satisfaction) of
///   a contact with a topic, with `department` `""`; entries of the subsets that fix
///   the topic and not the department, as they are.
/// - [`Part::Department`]: the same with the roles of topic and department swapped.
///
/// Entries of the subsets that fix both are in the full sums only. The parts' rows
/// never coincide ([`in_part`] tells them apart). Applied to a day row's key or,
/// equally, to a month row's ([`month_row`] changes only an entry's relations).
pub fn total_rows(tally: &Tally) -> Vec<Tally> {
    let with = |topic: &str, department: &str| {
        let mut out = tally.clone();
        out.key.topic = topic.to_owned();
        out.key.department = department.to_owned();
        out
    };
    match tally.kind {
        TallyKind::Response => vec![with(&tally.key.topic, "")],
        TallyKind::Commitment => vec![with("", "")],
        TallyKind::Entry => match tally.key.a & NOT_IN_TOTALS {
            0 => vec![with("", "")],
            // One of the two (an or-pattern of the two bits).
            BY_TOPIC | BY_DEPARTMENT => vec![tally.clone()],
            _ => Vec::new(),
        },
        TallyKind::Contact | TallyKind::Answer | TallyKind::Seconds(_) | TallyKind::Feedback => {
            let mut out = vec![with("", "")];
            if !tally.key.topic.is_empty() {
                out.push(with(&tally.key.topic, ""));
            }
            if !tally.key.department.is_empty() {
                out.push(with("", &tally.key.department));
            }
            out
        }
    }
}

/// Whether a row of the totals of this kind and key belongs to a part: the overall
/// rows have neither topic nor department (but a response item its norm), a topic's
/// rows a topic and no department, a department's rows the reverse.
pub fn in_part(part: Part, kind: TallyKind, key: &TallyKey) -> bool {
    match part {
        Part::Overall => {
            key.department.is_empty() && (key.topic.is_empty() || kind == TallyKind::Response)
        }
        Part::Topic => {
            key.department.is_empty() && !key.topic.is_empty() && kind != TallyKind::Response
        }
        Part::Department => key.topic.is_empty() && !key.department.is_empty(),
    }
}

/// The part of the totals ([`total_rows`]) that answers a call with these filters as
/// the full rows do, or `None` (the full sums answer): [`Part::Overall`] when no filter
/// fixes a topic or a department (the thermometer has none), [`Part::Topic`] when every
/// filter fixes a topic and none a department, [`Part::Department`] the reverse.
pub fn totals_part(filters: &[Filter]) -> Option<Part> {
    let all = |f: fn(&Filter) -> bool| filters.iter().all(f);
    if all(|f| f.topic.is_none() && f.department.is_none()) {
        Some(Part::Overall)
    } else if all(|f| f.topic.is_some() && f.department.is_none()) {
        Some(Part::Topic)
    } else if all(|f| f.topic.is_none() && f.department.is_some()) {
        Some(Part::Department)
    } else {
        None
    }
}

/// Which computation answers a figure call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Path {
    /// The rollup rows of these spans.
    Rollups(Vec<Span>),
    /// The facts of the period (the reference).
    Facts,
}

/// The rows that answer a period exactly, or `None`: a period that starts on the first
/// of a month and holds a whole month reads its whole months (at most [`REL_MONTHS`])
/// and the days of a last partial month, so a calendar month is one month's rows, not
/// thirty days'; any other period of at most [`REL_DAYS`] days reads its days. Any
/// other period is computed from the facts.
pub fn spans(period: &Period) -> Option<Vec<Span>> {
    let (from, to) = (day_number(period.from), day_number(period.to));
    if to <= from {
        return Some(Vec::new());
    }
    let (fm, tm) = (month_number(period.from), month_number(period.to));
    let whole_months = period.from.day() == 1 && tm > fm;
    if !whole_months || tm - fm >= REL_MONTHS {
        return (to - from <= REL_DAYS).then(|| {
            vec![Span {
                grain: Grain::Day,
                from,
                to,
            }]
        });
    }
    let mut out = vec![Span {
        grain: Grain::Month,
        from: fm,
        to: tm,
    }];
    let floor = day_number(month_start(tm)?);
    if floor < to {
        out.push(Span {
            grain: Grain::Day,
            from: floor,
            to,
        });
    }
    Some(out)
}

/// Which computation answers a figure call for `period`: the rollups when they were
/// built with the tenant's current settings (`current`), `as_of` is at or after every
/// stored event (`latest_event`; an earlier `as_of` asks what was known then, which the
/// rollups, kept as known once every event counts, do not hold), and the period has
/// [`spans`]; otherwise the facts.
pub fn path(period: &Period, current: bool, latest_event: Option<Instant>) -> Path {
    if !current || latest_event.is_some_and(|t| t > period.as_of) {
        return Path::Facts;
    }
    spans(period).map_or(Path::Facts, Path::Rollups)
}

/// Whether the day a relation names (in a row of `grain` at `at`) is before `bound`;
/// `None` when the relation cannot tell ([`spans`] never asks such a question).
fn before(grain: Grain, at: i64, rel: i64, bound: NaiveDate) -> Option<bool> {
    if rel < 0 {
        return Some(-(rel + 1) < day_number(bound));
    }
    let b = day_number(bound);
    let month_of_at = match grain {
        Grain::Day => {
            if rel <= REL_DAYS {
                return Some(at - rel < b);
            }
            // The day is more than REL_DAYS back.
            if at - REL_DAYS <= b {
                return Some(true);
            }
            month_number(day_from_number(at)?)
        }
        Grain::Month => at,
    };
    let m = rel - REL_MONTH_BASE;
    let xm = month_of_at - m;
    let bm = month_number(bound);
    if xm < bm {
        Some(true)
    } else if m >= REL_MONTHS {
        None
    } else if xm > bm || bound.day() == 1 {
        Some(false)
    } else {
        None
    }
}

/// A period's rows, grouped by kind, key, grain and `at`. Entries keep the day or
/// month they are on (`at`), which decides whether they count; other kinds may be
/// summed over a span (then `at` is any value within it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupRow {
    pub kind: TallyKind,
    pub grain: Grain,
    pub at: i64,
    pub key: TallyKey,
    pub n: i64,
}

/// What the store's rollup query returns for these spans, computed in memory from
/// tallies: each tally in a day span as its day's row, in a month span as its month's
/// ([`month_row`]); summed per row.
pub fn sum_period<'a>(
    tallies: impl IntoIterator<Item = (&'a Tally, i64)>,
    spans: &[Span],
) -> Vec<RollupRow> {
    let mut sums: BTreeMap<(Grain, i64, TallyKind, TallyKey), i64> = BTreeMap::new();
    for (t, n) in tallies {
        let day = day_number(t.day);
        let (month, month_key) = month_row(t);
        if spans.iter().any(|s| s.holds(Grain::Day, day)) {
            *sums
                .entry((Grain::Day, day, t.kind, t.key.clone()))
                .or_insert(0) += n;
        } else if spans.iter().any(|s| s.holds(Grain::Month, month)) {
            *sums
                .entry((Grain::Month, month, t.kind, month_key))
                .or_insert(0) += n;
        }
    }
    sums.into_iter()
        .map(|((grain, at, kind, key), n)| RollupRow {
            kind,
            grain,
            at,
            key,
            n,
        })
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

/// The counted entries of a subset: (referrals per case, fcr -1/0/1, cases), or `None`
/// when a row cannot tell whether it counts in the period.
fn entries(rows: &[&RollupRow], filter: &Filter, period: &Period) -> Option<Vec<(i64, i64, u64)>> {
    let subset = subset_of(filter);
    let mut out = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.kind == TallyKind::Entry && r.key.a & 7 == subset && matches(filter, &r.key))
    {
        let counts = r.key.b == NO_DAY || before(r.grain, r.at, r.key.b, period.from)?;
        if !counts {
            continue;
        }
        let fcr = if r.key.c == NO_DAY {
            -1
        } else {
            let rel = r.key.c.div_euclid(2);
            let inside =
                !before(r.grain, r.at, rel, period.from)? && before(r.grain, r.at, rel, period.to)?;
            if inside { r.key.c.rem_euclid(2) } else { -1 }
        };
        out.push((r.key.a >> 3, fcr, count(r.n)));
    }
    Some(out)
}

/// The bucket that holds the nearest rank `p` of these bucket counts, and the rank
/// within it.
fn rank_bucket(buckets: &BTreeMap<i64, u64>, total: u64, p: u64) -> Option<(i64, u64)> {
    let rank = (p * total).div_ceil(100).max(1);
    let mut seen = 0;
    for (bucket, n) in buckets {
        if seen + n >= rank {
            return Some((*bucket, rank - seen));
        }
        seen += n;
    }
    None
}

/// The exact answer seconds [`figures_from`] needs beside a period's rows for these
/// filters: the kinds of the buckets that hold a channel's p50 or p90 (a second, narrow
/// read).
pub fn seconds_wanted(rows: &[RollupRow], filters: &[Filter]) -> BTreeSet<TallyKind> {
    seconds_of(&rows.iter().collect::<Vec<_>>(), filters)
}

/// [`seconds_wanted`] of rows by reference.
fn seconds_of(rows: &[&RollupRow], filters: &[Filter]) -> BTreeSet<TallyKind> {
    let mut out = BTreeSet::new();
    for filter in filters {
        let mut answered: BTreeMap<Channel, BTreeMap<i64, u64>> = BTreeMap::new();
        for r in rows
            .iter()
            .filter(|r| r.kind == TallyKind::Answer && matches(filter, &r.key))
        {
            if let Some(channel) = Channel::parse(&r.key.channel) {
                *answered
                    .entry(channel)
                    .or_default()
                    .entry(r.key.a)
                    .or_insert(0) += count(r.n);
            }
        }
        for buckets in answered.values() {
            let total: u64 = buckets.values().sum();
            for p in [50, 90] {
                if let Some(b) =
                    rank_bucket(buckets, total, p).and_then(|(b, _)| u8::try_from(b).ok())
                {
                    out.insert(TallyKind::Seconds(b));
                }
            }
        }
    }
    out
}

/// The dashboard figures from a period's rows ([`sum_period`] of its [`spans`]), as
/// `figures::figures` computes them from the facts when `as_of` is at or after every
/// stored event; `None` when the rows cannot answer the period.
pub fn figures_from(rows: &[RollupRow], period: &Period, filter: &Filter) -> Option<Figures> {
    figures_of(&rows.iter().collect::<Vec<_>>(), period, filter)
}

/// [`figures_from`] of rows by reference.
fn figures_of(rows: &[&RollupRow], period: &Period, filter: &Filter) -> Option<Figures> {
    let mut contacts = 0;
    let (mut with_case, mut repeats, mut hops) = (0, 0, 0);
    let (mut completed, mut referred) = (0, 0);
    let (mut follow_ups, mut repeated) = (0, 0);
    let (mut answers, mut score_sum, mut effort_sum) = (0, 0, 0);
    let mut answered: BTreeMap<Channel, BTreeMap<i64, u64>> = BTreeMap::new();
    let mut seconds: BTreeMap<(Channel, i64), BTreeMap<u64, u64>> = BTreeMap::new();
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
                        .entry(r.key.a)
                        .or_insert(0) += n;
                }
            }
            TallyKind::Seconds(bucket) => {
                if let Some(channel) = Channel::parse(&r.key.channel) {
                    *seconds
                        .entry((channel, i64::from(bucket)))
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
    for (referrals, fcr, n) in entries(rows, filter, period)? {
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
    let mut response_times = Vec::new();
    for channel in Channel::ALL {
        let Some(buckets) = answered.get(&channel) else {
            continue;
        };
        let total: u64 = buckets.values().sum();
        if total == 0 {
            continue;
        }
        let exact = |p: u64| -> Option<u64> {
            let (bucket, within) = rank_bucket(buckets, total, p)?;
            let secs: Vec<(u64, u64)> = seconds
                .get(&(channel, bucket))?
                .iter()
                .map(|(s, n)| (*s, *n))
                .filter(|(_, n)| *n > 0)
                .collect();
            // The bucket's exact seconds must be all of its answers.
            let mut seen = 0;
            for (value, n) in &secs {
                seen += n;
                if seen >= within {
                    return (secs.iter().map(|(_, n)| n).sum::<u64>() == buckets[&bucket])
                        .then_some(*value);
                }
            }
            None
        };
        response_times.push(ResponseTimes {
            channel,
            answered: total,
            p50_seconds: exact(50)?,
            p90_seconds: exact(90)?,
        });
    }
    Some(Figures {
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
        counts: FigureCounts {
            first_contact_resolution: Share {
                met: fcr_met,
                items: fcr_items,
            },
            repeat_contacts: Share {
                met: repeats,
                items: with_case,
            },
            referrals: Share {
                met: referred,
                items: completed,
            },
            repeated_stories: Share {
                met: repeated,
                items: follow_ups,
            },
            answers,
            score_sum,
            effort_sum,
        },
    })
}

/// The thermometer from a period's rows ([`sum_period`] of its [`spans`]), as
/// `figures::thermometer` computes it from the facts when `as_of` is at or after every
/// stored event; `None` when the rows cannot answer the period.
pub fn thermometer_from(
    rows: &[RollupRow],
    period: &Period,
    settings: &TenantSettings,
) -> Option<Vec<NormResult>> {
    let as_of = period.as_of;
    let everything = entries(&rows.iter().collect::<Vec<_>>(), &Filter::default(), period)?;
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
    Some(
        settings
            .norms
            .iter()
            .map(|norm| {
                let (met, total) = match &norm.measure {
                    Measure::ResponseTime { .. } => items(TallyKind::Response, Some(&norm.id)),
                    Measure::CommitmentOnTime { .. } => items(TallyKind::Commitment, None),
                    Measure::FirstContactResolution => {
                        everything
                            .iter()
                            .fold((0, 0), |(met, all), &(_, fcr, n)| match fcr {
                                1 => (met + n, all + n),
                                0 => (met, all + n),
                                _ => (met, all),
                            })
                    }
                    Measure::ReferredAtMost { max } => {
                        everything
                            .iter()
                            .fold((0, 0), |(met, all), &(referrals, _, n)| {
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
            .collect(),
    )
}

/// Until when a thermometer computed from these rows at `as_of` stays the same as
/// `as_of` moves on with no other change: the earliest deadline at or after `as_of` of
/// an item still pending (at a later `as_of` it counts as missed; `Item::at`); `None`
/// when no item is pending (the same at every later `as_of`). Dashboard figures do not
/// depend on `as_of` once the rollups answer them.
pub fn pending_until(rows: &[RollupRow], as_of: Instant) -> Option<Instant> {
    pending_deadlines(rows).filter(|d| *d >= as_of).min()
}

/// The deadlines of the items still pending among these rows (response items and
/// commitments).
fn pending_deadlines<'a>(
    rows: impl IntoIterator<Item = &'a RollupRow>,
) -> impl Iterator<Item = Instant> {
    rows.into_iter()
        .filter(|r| matches!(r.kind, TallyKind::Response | TallyKind::Commitment))
        .filter_map(|r| match item_of(r.key.a, r.key.b) {
            Some(Item::Pending { deadline }) => Some(deadline),
            _ => None,
        })
}

/// Whether a thermometer computed from a period's rows at some `as_of` is the same at
/// every later moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// An item is still pending with a deadline at or after `as_of`: once it passes, the
    /// item counts as missed.
    No,
    /// Every item was decided, or counts as missed since its deadline passed: the same
    /// at every `as_of` after this instant (the latest such deadline; `None`: no item
    /// was pending at all, the same at every `as_of`).
    After(Option<Instant>),
}

/// [`Settled`] for each period of a series, from the rows of its [`series_spans`]
/// (each row on its own day or month) and the periods' `as_of`; `None` when the rows
/// cannot answer a period.
pub fn settled_each(rows: &[RollupRow], periods: &[Period]) -> Option<Vec<Settled>> {
    Some(
        rows_per_period(rows, periods)?
            .iter()
            .zip(periods)
            .map(|(mine, p)| {
                let deadlines = pending_deadlines(mine.iter().copied());
                let (later, passed): (Vec<Instant>, Vec<Instant>) =
                    deadlines.partition(|d| *d >= p.as_of);
                if later.is_empty() {
                    Settled::After(passed.into_iter().max())
                } else {
                    Settled::No
                }
            })
            .collect(),
    )
}

/// The step of a series of figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
}

/// The periods of a series over `[from, to)`: each day, ISO week or calendar month, the
/// first and the last cut at `from` and `to`, all as known at `as_of`.
pub fn series_periods(from: NaiveDate, to: NaiveDate, step: Step, as_of: Instant) -> Vec<Period> {
    let mut out = Vec::new();
    let mut start = from;
    while start < to {
        let next = match step {
            Step::Day => start.succ_opt(),
            Step::Week => start.checked_add_days(chrono::Days::new(
                7 - u64::from(start.weekday().num_days_from_monday()),
            )),
            Step::Month => month_start(month_number(start) + 1),
        };
        let end = next.map_or(to, |n| n.min(to));
        out.push(Period {
            from: start,
            to: end,
            as_of,
        });
        start = end;
    }
    out
}

/// How many calendar months before today's a deployment keeps dashboard answers ready
/// for ([`kept_periods`]): the dashboard's links reach back a year from the current
/// month, and the month before that is its first comparison.
pub const KEPT_MONTHS: u32 = 13;

/// How many months before the current one a tenant's answers are computed ahead:
/// [`KEPT_MONTHS`], but never back to where its retention horizon is (`now` minus
/// `retention_months`), where the retention pass deletes the answers again.
pub fn kept_months(retention_months: u32) -> u32 {
    KEPT_MONTHS.min(retention_months.saturating_sub(1))
}

/// Which parts of ISO weeks [`kept_periods`] lists beside the whole weeks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeekParts {
    /// The two parts of each week a month starts in (not on its Monday): a view from
    /// the first of a month to the end of one, by week, starts and ends with them.
    AtMonths,
    /// Every part of every week that starts on its Monday or ends on its Sunday: the
    /// first and last period of any view by week, from and to any day.
    Every,
}

/// The periods whose dashboard answers are computed ahead of any reader and kept
/// (a series of any view asks them, so its first read finds them): per step, every
/// day, every ISO week and every calendar month that starts on or after the first of
/// the month `months` before `today`'s and ends by `today` (exclusive end at or before
/// it), as known at `as_of`. The weeks are the whole ones and the parts `parts` says.
/// A period holding `today` changes with nearly every write and is computed when read;
/// so is any other cut first or last period of a view (a part of one day is a day, kept
/// here). No period is listed twice.
pub fn kept_periods(
    today: NaiveDate,
    months: u32,
    as_of: Instant,
    parts: WeekParts,
) -> Vec<(Step, Vec<Period>)> {
    let first_month = month_number(today) - i64::from(months);
    let Some(from) = month_start(first_month) else {
        return Vec::new();
    };
    let days: Vec<Period> = series_periods(from, today, Step::Day, as_of);
    let months: Vec<Period> = series_periods(from, today, Step::Month, as_of)
        .into_iter()
        .filter(|p| p.to.day() == 1)
        .collect();
    let month_starts: BTreeSet<NaiveDate> = (first_month..=month_number(today))
        .filter_map(month_start)
        .collect();
    let mut weeks: BTreeSet<(NaiveDate, NaiveDate)> = BTreeSet::new();
    let first_monday = from.checked_sub_days(chrono::Days::new(u64::from(
        from.weekday().num_days_from_monday(),
    )));
    let mut monday = first_monday;
    while let Some(m) = monday
        && m < today
    {
        let day = |k: u64| m.checked_add_days(chrono::Days::new(k));
        for k in 1..7 {
            let Some(cut) = day(k) else { continue };
            let wanted = match parts {
                WeekParts::Every => true,
                WeekParts::AtMonths => month_starts.contains(&cut),
            };
            if wanted {
                // The part before the cut and the part from it, each of two days or more.
                if k >= 2 {
                    weeks.insert((m, cut));
                }
                if k <= 5
                    && let Some(next) = day(7)
                {
                    weeks.insert((cut, next));
                }
            }
        }
        if let Some(next) = day(7) {
            weeks.insert((m, next));
        }
        monday = day(7);
    }
    let weeks = weeks
        .into_iter()
        .filter(|(f, t)| *f >= from && *t <= today)
        .map(|(from, to)| Period { from, to, as_of })
        .collect();
    vec![
        (Step::Day, days),
        (Step::Week, weeks),
        (Step::Month, months),
    ]
}

/// The spans a series reads: those of each period, adjacent ones of one grain joined;
/// `None` when a period has none.
pub fn series_spans(periods: &[Period]) -> Option<Vec<Span>> {
    let mut out: Vec<Span> = Vec::new();
    let mut all = Vec::new();
    for p in periods {
        all.extend(spans(p)?);
    }
    all.sort_by_key(|s| (s.grain, s.from));
    for s in all {
        match out.last_mut() {
            Some(last) if last.grain == s.grain && last.to >= s.from => {
                last.to = last.to.max(s.to);
            }
            _ => out.push(s),
        }
    }
    Some(out)
}

/// Which computation answers a series: as [`path`], for every period at once.
pub fn series_path(periods: &[Period], current: bool, latest_event: Option<Instant>) -> Path {
    let as_of = periods.first().map(|p| p.as_of);
    if !current || latest_event.is_some_and(|t| as_of.is_some_and(|a| t > a)) {
        return Path::Facts;
    }
    series_spans(periods).map_or(Path::Facts, Path::Rollups)
}

/// The rows of each period of a series (by reference), from rows each on its own day
/// or month (`at`, for every kind); `None` when a period has no spans.
fn rows_per_period<'a>(
    rows: &'a [RollupRow],
    periods: &[Period],
) -> Option<Vec<Vec<&'a RollupRow>>> {
    let mut sorted: Vec<&RollupRow> = rows.iter().collect();
    sorted.sort_unstable_by_key(|r| (r.grain, r.at));
    periods
        .iter()
        .map(|p| {
            let mut mine = Vec::new();
            for s in spans(p)? {
                let lo = sorted.partition_point(|r| (r.grain, r.at) < (s.grain, s.from));
                let hi = sorted.partition_point(|r| (r.grain, r.at) < (s.grain, s.to));
                mine.extend_from_slice(&sorted[lo..hi]);
            }
            Some(mine)
        })
        .collect()
}

/// Which exact answer seconds to read: per bucket kind, the days and months (grain and
/// day or month number) whose rows of it are needed.
pub type SecondsAt = BTreeMap<TallyKind, BTreeSet<(Grain, i64)>>;

/// The exact seconds of these bucket kinds on every day or month of these spans.
pub fn seconds_at(kinds: &BTreeSet<TallyKind>, spans: &[Span]) -> SecondsAt {
    let ats: BTreeSet<(Grain, i64)> = spans
        .iter()
        .flat_map(|s| (s.from..s.to).map(move |at| (s.grain, at)))
        .collect();
    kinds.iter().map(|k| (*k, ats.clone())).collect()
}

/// [`seconds_wanted`] for every period of a series: each period's buckets, on that
/// period's own days or months only (a daily series reads a bucket's seconds on the
/// days whose p50 or p90 it holds, not over the whole run).
pub fn series_seconds_wanted(rows: &[RollupRow], periods: &[Period], filter: &Filter) -> SecondsAt {
    let mut out = SecondsAt::new();
    let Some(per_period) = rows_per_period(rows, periods) else {
        return out;
    };
    for (mine, p) in per_period.iter().zip(periods) {
        let kinds = seconds_of(mine, std::slice::from_ref(filter));
        if kinds.is_empty() {
            continue;
        }
        for (kind, ats) in seconds_at(&kinds, &spans(p).unwrap_or_default()) {
            out.entry(kind).or_default().extend(ats);
        }
    }
    out
}

/// The figures of each period of a series from the rows of its [`series_spans`], each
/// row on its own day or month (`at`, for every kind); `None` when the rows cannot
/// answer a period.
pub fn series_from(
    rows: &[RollupRow],
    periods: &[Period],
    filter: &Filter,
) -> Option<Vec<Figures>> {
    rows_per_period(rows, periods)?
        .iter()
        .zip(periods)
        .map(|(mine, p)| figures_of(mine, p, filter))
        .collect()
}

/// The thermometer of each period of a series (a period and those before it, for a
/// trend) from the rows of its [`series_spans`], each row on its own day or month;
/// `None` when the rows cannot answer a period.
pub fn thermometer_series_from(
    rows: &[RollupRow],
    periods: &[Period],
    settings: &TenantSettings,
) -> Option<Vec<Vec<NormResult>>> {
    rows_per_period(rows, periods)?
        .iter()
        .zip(periods)
        .map(|(mine, p)| {
            let mine: Vec<RollupRow> = mine.iter().map(|r| (*r).clone()).collect();
            thermometer_from(&mine, p, settings)
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

    #[test]
    fn answers_are_computed_ahead_only_after_the_retention_horizon() {
        assert_eq!(kept_months(24), KEPT_MONTHS);
        assert_eq!(kept_months(14), 13);
        // Six months kept: from the first of the month five months back, which is after
        // the horizon of six months back.
        assert_eq!(kept_months(6), 5);
        assert_eq!(kept_months(1), 0);
        let as_of = Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap();
        let today = as_of.date_naive();
        let first = kept_periods(today, kept_months(6), as_of, WeekParts::Every)
            .iter()
            .flat_map(|(_, p)| p)
            .map(|p| p.from)
            .min();
        assert_eq!(first, NaiveDate::from_ymd_opt(2026, 7, 1));
        assert!(first.unwrap() > (as_of - chrono::Months::new(6)).date_naive());
    }

    #[test]
    fn kept_periods_are_the_whole_days_weeks_and_months_that_ended_by_today() {
        let as_of = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let d = |m: u32, day: u32| {
            NaiveDate::from_ymd_opt(if m > 12 { 2026 } else { 2025 }, (m - 1) % 12 + 1, day)
                .unwrap()
        };
        let kept = kept_periods(today, 13, as_of, WeekParts::AtMonths);
        let steps: Vec<Step> = kept.iter().map(|(s, _)| *s).collect();
        assert_eq!(steps, [Step::Day, Step::Week, Step::Month]);
        let (days, weeks, months) = (&kept[0].1, &kept[1].1, &kept[2].1);
        // From 1 November 2025 up to and including 6 December 2026.
        assert_eq!(
            days.first().map(|p| (p.from, p.to)),
            Some((d(11, 1), d(11, 2)))
        );
        assert_eq!(days.last().map(|p| p.to), Some(today));
        assert_eq!(days.len(), 30 + 365 + 6);
        // ISO weeks: the whole ones from the first Monday on or after 1 November 2025
        // (the 3rd) to the last, which ended on Sunday 6 December 2026; and the two
        // parts of each week a month starts in (1 November 2025, a Saturday, begins
        // the first).
        assert_eq!(
            weeks.first().map(|p| (p.from, p.to)),
            Some((d(11, 1), d(11, 3)))
        );
        assert_eq!(weeks.last().map(|p| p.to), Some(today));
        let whole: Vec<&Period> = weeks
            .iter()
            .filter(|p| (p.to - p.from).num_days() == 7)
            .collect();
        assert!(
            whole
                .iter()
                .all(|p| p.from.weekday() == chrono::Weekday::Mon)
        );
        assert_eq!(whole.len(), 57);
        let cut: Vec<(NaiveDate, NaiveDate)> = weeks
            .iter()
            .filter(|p| (p.to - p.from).num_days() < 7)
            .map(|p| (p.from, p.to))
            .collect();
        // October 2026 ends on a Saturday: 26 to 31 October (1 November, a Sunday, is a
        // day).
        assert!(cut.contains(&(d(22, 26), d(23, 1))));
        // 1 December 2026 is a Tuesday: 1 to 6 December (the Monday before is a day).
        assert!(cut.contains(&(d(24, 1), today)));
        // Thirteen months start in the window after its first day; two of them
        // (December 2025, June 2026) on a Monday: two parts for each of the eleven
        // others, but for the five parts of one day, which are days (1 February, 1 March
        // and 1 November 2026 are Sundays; 31 August and 30 November 2026 Mondays); and
        // the part of the window's first week from 1 November 2025.
        assert_eq!(cut.len(), 2 * 11 - 5 + 1);
        assert!(!cut.contains(&(d(23, 1), d(23, 2))), "a day, listed once");
        let all: Vec<(NaiveDate, NaiveDate)> = kept
            .iter()
            .flat_map(|(_, p)| p)
            .map(|p| (p.from, p.to))
            .collect();
        let distinct: BTreeSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "no period twice");
        assert!(cut.iter().all(|(f, t)| (*t - *f).num_days() > 1));
        // A view of a month, a quarter or the year by week asks only kept periods.
        // (A part of one day among the days.)
        let kept_weeks: Vec<(NaiveDate, NaiveDate)> =
            weeks.iter().chain(days).map(|p| (p.from, p.to)).collect();
        for (from, to) in [
            (d(22, 1), d(23, 1)),
            (d(14, 1), d(17, 1)),
            (d(12, 1), d(24, 1)),
        ] {
            for p in series_periods(from, to, Step::Week, as_of) {
                assert!(kept_weeks.contains(&(p.from, p.to)), "{p:?}");
            }
        }
        // Thirteen whole months, November 2025 to November 2026; not December so far.
        assert_eq!(months.len(), 13);
        // Every part: any view by week from and to any day of the window (its last day
        // included, so not holding today) asks only kept periods; the parts at months
        // are among them, and nothing else is added.
        let every = kept_periods(today, 13, as_of, WeekParts::Every);
        let every_weeks: BTreeSet<(NaiveDate, NaiveDate)> = every[1]
            .1
            .iter()
            .chain(&every[0].1)
            .map(|p| (p.from, p.to))
            .collect();
        assert!(kept_weeks.iter().all(|w| every_weeks.contains(w)));
        assert_eq!((&every[0].1, &every[2].1), (days, months));
        let window: Vec<NaiveDate> = days.iter().map(|p| p.from).collect();
        for (i, from) in window.iter().enumerate().step_by(3) {
            for to in window[i..].iter().step_by(5) {
                let to = to.succ_opt().unwrap();
                for p in series_periods(*from, to, Step::Week, as_of) {
                    assert!(every_weeks.contains(&(p.from, p.to)), "{p:?}");
                }
            }
        }
        // Per week at most the whole, five parts from its Monday and five to its Sunday.
        assert!(every[1].1.len() <= 11 * 58);
        assert_eq!(months.first().map(|p| p.from), Some(d(11, 1)));
        assert_eq!(months.last().map(|p| p.to), Some(d(24, 1)));
        assert!(
            kept.iter()
                .flat_map(|(_, p)| p)
                .all(|p| p.as_of == as_of && p.to <= today)
        );
    }

    #[test]
    fn the_public_page_is_not_in_the_fingerprint() {
        // Whether and how the page is published changes no tally, so it must not make
        // rollups stale.
        let before = TenantSettings::default();
        let mut after = before.clone();
        after.public_page = crate::settings::PublicPage {
            published: true,
            display_name: Some("Gemeente Voorbeeld".into()),
            logo_url: Some("https://voorbeeld.nl/logo.svg".into()),
            accessibility_statement_url: Some("https://voorbeeld.nl/toegankelijkheid".into()),
            primary_colour: None,
            design_tokens: [("primary-color".to_owned(), "#01689b".to_owned())].into(),
        };
        assert_eq!(fingerprint(&before), fingerprint(&after));
        after.norms[0].explanation = Some("Druk".into());
        after.norms[0].title = "Anders gezegd".into();
        after.norms[1].published = false;
        assert_eq!(fingerprint(&before), fingerprint(&after));
    }

    #[test]
    fn a_thermometer_holds_until_the_first_pending_deadline_after_its_as_of() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let row = |kind, a, deadline| item_row(kind, a, deadline, 0);
        let hour = TimeDelta::hours(1);
        let rows = vec![
            // Decided, and pending with a deadline already passed: no change ahead.
            row(TallyKind::Response, MET, t0 + hour),
            row(TallyKind::Response, PENDING, t0 - hour),
            // Pending with later deadlines: the earliest counts.
            row(TallyKind::Commitment, PENDING, t0 + hour * 5),
            row(TallyKind::Response, PENDING, t0 + hour * 2),
            // Not an item.
            row(TallyKind::Contact, PENDING, t0 + hour),
        ];
        assert_eq!(pending_until(&rows, t0), Some(t0 + hour * 2));
        assert_eq!(pending_until(&rows, t0 + hour * 2), Some(t0 + hour * 2));
        assert_eq!(pending_until(&rows, t0 + hour * 3), Some(t0 + hour * 5));
        assert_eq!(pending_until(&rows, t0 + hour * 6), None);
        // The thermometer is the same at every as_of up to that instant.
        let mut settings = TenantSettings::default();
        settings
            .norms
            .retain(|n| matches!(n.measure, Measure::ResponseTime { .. }));
        let norm = settings.norms[0].id.clone();
        let rows: Vec<RollupRow> = rows
            .into_iter()
            .map(|mut r| {
                r.key.topic = norm.as_str().to_owned();
                r
            })
            .collect();
        let at = |as_of| {
            let period = Period {
                from: t0.date_naive(),
                to: t0.date_naive() + TimeDelta::days(1),
                as_of,
            };
            thermometer_from(&rows, &period, &settings)
        };
        assert_eq!(at(t0), at(t0 + hour * 2));
        assert_ne!(at(t0), at(t0 + hour * 2 + TimeDelta::microseconds(1)));
    }

    /// A day row of one item (`a`: met, missed or pending) with its deadline.
    fn item_row(kind: TallyKind, a: i64, deadline: Instant, at: i64) -> RollupRow {
        RollupRow {
            kind,
            grain: Grain::Day,
            at,
            key: TallyKey {
                a,
                b: deadline.timestamp_micros(),
                ..TallyKey::default()
            },
            n: 1,
        }
    }

    #[test]
    fn a_period_is_settled_when_no_item_is_pending_at_or_after_its_as_of() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let day = t0.date_naive();
        let row = |kind, a, deadline| item_row(kind, a, deadline, day_number(day));
        let period = |from: NaiveDate, as_of| Period {
            from,
            to: from + TimeDelta::days(1),
            as_of,
        };
        let hour = TimeDelta::hours(1);
        let rows = vec![
            row(TallyKind::Response, MET, t0 + hour),
            row(TallyKind::Response, PENDING, t0 - hour),
            row(TallyKind::Commitment, PENDING, t0 + hour * 2),
            // Not an item.
            row(TallyKind::Contact, PENDING, t0 + hour * 9),
        ];
        let settled = |as_of| settled_each(&rows, &[period(day, as_of)]).unwrap()[0];
        assert_eq!(settled(t0), Settled::No);
        // A deadline equal to `as_of` has not passed (`Item::at`).
        assert_eq!(settled(t0 + hour * 2), Settled::No);
        let just_after = t0 + hour * 2 + TimeDelta::microseconds(1);
        assert_eq!(settled(just_after), Settled::After(Some(t0 + hour * 2)));
        assert_eq!(settled(t0 + hour * 50), Settled::After(Some(t0 + hour * 2)));
        // No item pending at all: the same at every moment.
        let decided = settled_each(&rows[..1], &[period(day, t0)]).unwrap();
        assert_eq!(decided, [Settled::After(None)]);
        // Per period: another day's period holds none of these rows.
        let both = settled_each(
            &rows,
            &[period(day, t0), period(day.succ_opt().unwrap(), t0)],
        );
        assert_eq!(both, Some(vec![Settled::No, Settled::After(None)]));
    }

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
                published: true,
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

    fn contact(rng: &mut Rng, id: u128, case: Option<Uuid>, days: u64) -> ContactFacts {
        let started_at = base() + TimeDelta::seconds(rng.below(days * 86_400) as i64);
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
        // Contacts over 40 days, or over a year and a half (relations in months).
        let days = rng.pick(&[40, 40, 550]);
        let mut facts = FigureFacts::default();
        let mut next = 100u128;
        for k in 0..rng.below(7) {
            let id = Uuid::from_u128(10 + u128::from(k));
            let mut contacts = Vec::new();
            for _ in 0..1 + rng.below(7) {
                next += 1;
                contacts.push(contact(&mut rng, next, Some(id), days));
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
            facts.contacts.push(contact(&mut rng, next, None, days));
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

    /// A period, and whether it is of a shape the rollups must answer (a day, an ISO
    /// week, whole months, a first of the month to any day, up to 31 days).
    fn period(rng: &mut Rng, w: &World) -> (Period, bool) {
        let day =
            |n: u64| NaiveDate::from_ymd_opt(2026, 1, 25).unwrap() + TimeDelta::days(n as i64);
        let as_of = latest_event(w)
            + TimeDelta::seconds(rng.pick(&[0, 1, 59, 3600, 86_400, 5 * 86_400, 30 * 86_400]));
        let month = |m: u64| month_start(month_number(day(10)) + m as i64).unwrap();
        let (from, to, aligned) = match rng.below(6) {
            0 => {
                let from = day(rng.below(600));
                let to = from + TimeDelta::days(1 + rng.below(45) as i64);
                (from, to, (to - from).num_days() <= REL_DAYS)
            }
            1 => {
                let from = day(rng.below(600));
                (from, from + TimeDelta::days(1), true)
            }
            2 => {
                let d = day(rng.below(600));
                let monday = d - TimeDelta::days(i64::from(d.weekday().num_days_from_monday()));
                (monday, monday + TimeDelta::days(7), true)
            }
            3 => {
                let k = rng.below(20);
                (month(k), month(k + 1 + rng.below(18)), true)
            }
            _ => {
                let from = month(rng.below(20));
                (
                    from,
                    from + TimeDelta::days(1 + rng.below(500) as i64),
                    true,
                )
            }
        };
        (Period { from, to, as_of }, aligned)
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

    /// The rows without exact seconds, and the exact seconds `wanted` asks (of a kind,
    /// on a day or month).
    fn narrowed(
        rows: &[RollupRow],
        wanted: impl FnOnce(&[RollupRow]) -> SecondsAt,
    ) -> Vec<RollupRow> {
        let (seconds, mut base): (Vec<RollupRow>, Vec<RollupRow>) = rows
            .iter()
            .cloned()
            .partition(|r| matches!(r.kind, TallyKind::Seconds(_)));
        let wanted = wanted(&base);
        base.extend(seconds.into_iter().filter(|r| {
            wanted
                .get(&r.kind)
                .is_some_and(|ats| ats.contains(&(r.grain, r.at)))
        }));
        base
    }

    #[test]
    fn answer_buckets_hold_their_seconds_in_order() {
        let mut last = -1;
        for secs in 0..5000 {
            let b = answer_bucket(secs);
            assert!(b == last || b == last + 1, "{secs}");
            last = b;
        }
        assert_eq!(answer_bucket(15), 15);
        assert_eq!(
            (answer_bucket(16), answer_bucket(19), answer_bucket(20)),
            (16, 16, 17)
        );
        assert!(u8::try_from(answer_bucket(i64::MAX)).is_ok());
    }

    #[test]
    fn a_path_is_the_facts_for_a_past_as_of_or_stale_rollups() {
        let p = Period {
            from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            as_of: base() + TimeDelta::days(100),
        };
        assert!(matches!(path(&p, true, Some(p.as_of)), Path::Rollups(_)));
        assert!(matches!(path(&p, true, None), Path::Rollups(_)));
        assert_eq!(path(&p, false, None), Path::Facts);
        assert_eq!(
            path(&p, true, Some(p.as_of + TimeDelta::seconds(1))),
            Path::Facts
        );
        // Not from the first of a month, and longer than the days reach.
        let odd = Period {
            from: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            ..p
        };
        assert_eq!(path(&odd, true, None), Path::Facts);
        assert_eq!(
            spans(&p),
            Some(vec![Span {
                grain: Grain::Month,
                from: month_number(p.from),
                to: month_number(p.to),
            }])
        );
    }

    #[test]
    fn a_whole_month_reads_its_month_rows() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let p = |from, to| Period {
            from,
            to,
            as_of: base(),
        };
        let month = |from: NaiveDate, to: NaiveDate| Span {
            grain: Grain::Month,
            from: month_number(from),
            to: month_number(to),
        };
        let days = |from: NaiveDate, to: NaiveDate| Span {
            grain: Grain::Day,
            from: day_number(from),
            to: day_number(to),
        };
        // February (28 days) and March (31): one month each.
        for (from, to) in [
            (d(2026, 2, 1), d(2026, 3, 1)),
            (d(2026, 3, 1), d(2026, 4, 1)),
        ] {
            assert_eq!(spans(&p(from, to)), Some(vec![month(from, to)]));
        }
        // A month and ten days: the month's rows and the days'.
        assert_eq!(
            spans(&p(d(2026, 1, 1), d(2026, 2, 11))),
            Some(vec![
                month(d(2026, 1, 1), d(2026, 2, 1)),
                days(d(2026, 2, 1), d(2026, 2, 11))
            ])
        );
        // No whole month: days (from the first too), or the facts beyond 31 days.
        for (from, to) in [
            (d(2026, 3, 1), d(2026, 3, 15)),
            (d(2026, 3, 2), d(2026, 4, 2)),
        ] {
            assert_eq!(spans(&p(from, to)), Some(vec![days(from, to)]));
        }
        assert_eq!(spans(&p(d(2026, 3, 2), d(2026, 4, 3))), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn prop_rollups_give_the_figures_of_the_facts(seed in any::<u64>()) {
            let w = world(seed);
            let all = counted(all_tallies(&w));
            let totals = counted(all_tallies(&w).iter().flat_map(total_rows));
            let mut rng = Rng(seed.rotate_left(17) | 1);
            for _ in 0..6 {
                let (p, aligned) = period(&mut rng, &w);
                let Some(sp) = spans(&p) else {
                    prop_assert!(!aligned, "{:?} has no spans", p);
                    continue;
                };
                let rows = sum_period(all.iter().map(|(t, n)| (t, *n)), &sp);
                prop_assert_eq!(
                    thermometer_from(&rows, &p, &w.settings),
                    Some(figures::thermometer(&w.facts, &p, &w.settings)),
                    "{:?}", p
                );
                let f = filter(&mut rng);
                let filters: Vec<Filter> = std::iter::once(f.clone())
                    .chain(Channel::ALL.map(|channel| Filter { channel: Some(channel), ..f.clone() }))
                    .collect();
                // The exact seconds of only the buckets asked for, as the store reads them.
                let rows = narrowed(&rows, |base| seconds_at(&seconds_wanted(base, &filters), &sp));
                for f in &filters {
                    prop_assert_eq!(
                        figures_from(&rows, &p, f),
                        Some(figures::figures(&w.facts, &p, f, &w.settings)),
                        "filter {:?} {:?}", f, p
                    );
                }
                // The overall totals answer the thermometer and the filters without a
                // topic or department as the full rows do; a topic's or a department's
                // part the filters that fix only that.
                let part_rows = |part: Part| -> Vec<RollupRow> {
                    sum_period(
                        totals.iter().filter(|(t, _)| in_part(part, t.kind, &t.key)).map(|(t, n)| (t, *n)),
                        &sp,
                    )
                };
                let rows = part_rows(Part::Overall);
                prop_assert_eq!(
                    thermometer_from(&rows, &p, &w.settings),
                    Some(figures::thermometer(&w.facts, &p, &w.settings)),
                    "totals {:?}", p
                );
                let plain: Vec<Filter> = std::iter::once(Filter::default())
                    .chain(Channel::ALL.map(|channel| Filter { channel: Some(channel), ..Filter::default() }))
                    .collect();
                prop_assert_eq!(totals_part(&plain), Some(Part::Overall));
                let expected = match (&f.topic, &f.department) {
                    (None, None) => Some(Part::Overall),
                    (Some(_), None) => Some(Part::Topic),
                    (None, Some(_)) => Some(Part::Department),
                    (Some(_), Some(_)) => None,
                };
                prop_assert_eq!(totals_part(&filters), expected);
                let mut asked = vec![(Part::Overall, plain)];
                if let Some(part) = expected.filter(|p| *p != Part::Overall) {
                    asked.push((part, filters.clone()));
                }
                for (part, filters) in asked {
                    let rows = part_rows(part);
                    let rows = narrowed(&rows, |base| seconds_at(&seconds_wanted(base, &filters), &sp));
                    for f in &filters {
                        prop_assert_eq!(
                            figures_from(&rows, &p, f),
                            Some(figures::figures(&w.facts, &p, f, &w.settings)),
                            "totals {:?}, filter {:?} {:?}", part, f, p
                        );
                    }
                }
            }
            // A series: every period's figures from one read of the series' rows.
            let (p, _) = period(&mut rng, &w);
            let step = rng.pick(&[Step::Day, Step::Week, Step::Month]);
            let periods = series_periods(p.from, p.to.min(p.from + TimeDelta::days(120)), step, p.as_of);
            if let Some(sp) = series_spans(&periods) {
                let rows = sum_period(all.iter().map(|(t, n)| (t, *n)), &sp);
                let f = filter(&mut rng);
                let rows = narrowed(&rows, |base| series_seconds_wanted(base, &periods, &f));
                let expected: Vec<Figures> = periods
                    .iter()
                    .map(|q| figures::figures(&w.facts, q, &f, &w.settings))
                    .collect();
                // The reference's series (the cases as known made once) is the same.
                prop_assert_eq!(
                    &figures::figure_series(&w.facts, &periods, &f, &w.settings),
                    &expected
                );
                prop_assert_eq!(series_from(&rows, &periods, &f), Some(expected));
                // And from the part of the totals that answers the filter, if one does,
                // else by the filter's channel alone from the overall totals.
                let (part, f) = match totals_part(std::slice::from_ref(&f)) {
                    Some(part) => (part, f),
                    None => (Part::Overall, Filter { channel: f.channel, ..Filter::default() }),
                };
                let rows = sum_period(
                    totals.iter().filter(|(t, _)| in_part(part, t.kind, &t.key)).map(|(t, n)| (t, *n)),
                    &sp,
                );
                let rows = narrowed(&rows, |base| series_seconds_wanted(base, &periods, &f));
                let expected: Vec<Figures> = periods
                    .iter()
                    .map(|q| figures::figures(&w.facts, q, &f, &w.settings))
                    .collect();
                prop_assert_eq!(series_from(&rows, &periods, &f), Some(expected), "totals");
            } else {
                prop_assert!(false, "a series of {:?} has no spans", step);
            }
        }
    }

    #[test]
    fn the_totals_sum_dims_away_per_part_but_a_norm_stays() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let key = TallyKey {
            channel: "PHONE".into(),
            topic: "paspoort".into(),
            department: "kcc".into(),
            a: 3,
            b: 4,
            c: 5,
        };
        let tally = |kind, a| Tally {
            kind,
            day,
            key: TallyKey { a, ..key.clone() },
        };
        let summed = |kind, a, topic: &str, department: &str| Tally {
            kind,
            day,
            key: TallyKey {
                topic: topic.into(),
                department: department.into(),
                a,
                ..key.clone()
            },
        };
        let part_of = |t: &Tally| {
            let parts: Vec<Part> = [Part::Overall, Part::Topic, Part::Department]
                .into_iter()
                .filter(|p| in_part(*p, t.kind, &t.key))
                .collect();
            assert_eq!(parts.len(), 1, "{t:?} is in exactly one part");
            parts[0]
        };
        for kind in [
            TallyKind::Contact,
            TallyKind::Answer,
            TallyKind::Seconds(7),
            TallyKind::Feedback,
        ] {
            let rows = total_rows(&tally(kind, 3));
            assert_eq!(
                rows,
                vec![
                    summed(kind, 3, "", ""),
                    summed(kind, 3, "paspoort", ""),
                    summed(kind, 3, "", "kcc"),
                ]
            );
            assert_eq!(
                rows.iter().map(part_of).collect::<Vec<_>>(),
                [Part::Overall, Part::Topic, Part::Department]
            );
            // A contact without a topic or a department is in no such part.
            let mut bare = tally(kind, 3);
            bare.key.topic.clear();
            bare.key.department.clear();
            assert_eq!(total_rows(&bare), vec![bare.clone()]);
        }
        assert_eq!(
            total_rows(&tally(TallyKind::Commitment, MET)),
            vec![summed(TallyKind::Commitment, MET, "", "")]
        );
        let response = total_rows(&tally(TallyKind::Response, MET));
        assert_eq!(
            response,
            vec![summed(TallyKind::Response, MET, "paspoort", "")],
            "a response item keeps its norm"
        );
        assert_eq!(part_of(&response[0]), Part::Overall);
        // Entries of no filter and of a channel overall; of a topic or a department (with
        // or without the channel) in that part, as they are; of both in none.
        for subset in 0..8 {
            let a = subset + 2 * 8;
            let (topic, department) = (
                if subset & BY_TOPIC != 0 {
                    "paspoort"
                } else {
                    ""
                },
                if subset & BY_DEPARTMENT != 0 {
                    "kcc"
                } else {
                    ""
                },
            );
            let entry = summed(TallyKind::Entry, a, topic, department);
            let rows = total_rows(&entry);
            match subset & NOT_IN_TOTALS {
                0 => assert_eq!(rows, vec![summed(TallyKind::Entry, a, "", "")]),
                NOT_IN_TOTALS => assert!(rows.is_empty(), "subset {subset}"),
                _ => {
                    assert_eq!(rows, vec![entry.clone()]);
                    let expected = if subset & BY_TOPIC != 0 {
                        Part::Topic
                    } else {
                        Part::Department
                    };
                    assert_eq!(part_of(&rows[0]), expected);
                }
            }
        }
        // The same rows whether taken to their month first or after.
        let entry = Tally {
            key: TallyKey {
                b: 20,
                c: 41,
                ..tally(TallyKind::Entry, 1).key
            },
            ..tally(TallyKind::Entry, 1)
        };
        let total = total_rows(&entry);
        assert_eq!(
            total.iter().map(|t| month_row(t).1).collect::<Vec<_>>(),
            total_rows(&Tally {
                key: month_row(&entry).1,
                ..entry.clone()
            })
            .into_iter()
            .map(|t| t.key)
            .collect::<Vec<_>>()
        );
        let by = |channel, topic: Option<&str>, department: Option<&str>| Filter {
            channel,
            topic: topic.map(code),
            department: department.map(code),
        };
        assert_eq!(totals_part(&[]), Some(Part::Overall));
        assert_eq!(
            totals_part(&[by(Some(Channel::Email), None, None)]),
            Some(Part::Overall)
        );
        assert_eq!(
            totals_part(&[
                by(None, Some("a"), None),
                by(Some(Channel::Phone), Some("b"), None)
            ]),
            Some(Part::Topic)
        );
        assert_eq!(
            totals_part(&[by(None, None, Some("kcc"))]),
            Some(Part::Department)
        );
        assert_eq!(
            totals_part(&[by(None, None, None), by(None, None, Some("kcc"))]),
            None
        );
        assert_eq!(totals_part(&[by(None, Some("a"), Some("kcc"))]), None);
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
            let rows = sum_period(all.iter().map(|(t, n)| (t, *n)), &spans(&p).unwrap());
            thermometer_from(&rows, &p, &s)
                .unwrap()
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
