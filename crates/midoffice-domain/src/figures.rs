//! Norms on the thermometer and dashboard figures (DOMAIN.md "Norms and the
//! thermometer", "Dashboard figures").

use crate::calendar::Calendar;
use crate::case::CaseFacts;
use crate::contact::{Channel, Completion, ContactFacts, Direction, Feedback, Outcome};
use crate::settings::{Measure, Norm, TenantSettings, Within};
use crate::signals::{self, Commitment, Probe, Signal};
use crate::{Code, Instant};
use chrono::NaiveDate;
use chrono::TimeDelta;
use std::collections::BTreeMap;
use std::rc::Rc;
use uuid::Uuid;

/// A range of the tenant's local dates, `to` exclusive, judged as known at `as_of`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: Instant,
}

/// The instants a store must load for a period: contacts that started in
/// `[starts_from, starts_to)`, and every case with a commitment due in
/// `(due_after, due_until]`; each case with all its contacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadWindow {
    pub starts_from: Instant,
    pub starts_to: Instant,
    pub due_after: Instant,
    pub due_until: Instant,
}

/// What the figures are computed from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FigureFacts {
    /// Contacts that started in the load window (anonymous included).
    pub contacts: Vec<ContactFacts>,
    /// Every case of those contacts, and every case with a commitment due in the window,
    /// each with all its contacts.
    pub cases: BTreeMap<Uuid, CaseFacts>,
}

/// Dashboard filters; a filter keeps the contacts started in the period that match it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub channel: Option<Channel>,
    pub topic: Option<Code>,
    pub department: Option<Code>,
}

/// Traffic-light status of a norm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormStatus {
    Green,
    Amber,
    Red,
    NoData,
}

/// What anyone without a credential sees of a tenant's thermometer: `None` when the
/// tenant does not publish its page (the same answer as for an unknown tenant, so
/// that nobody learns which tenants exist), else the results of its published norms
/// only (`TenantSettings::shows_publicly`).
pub fn shown_publicly(
    settings: &TenantSettings,
    mut results: Vec<NormResult>,
) -> Option<Vec<NormResult>> {
    if !settings.public_page.published {
        return None;
    }
    results.retain(|r| settings.shows_publicly(&r.norm_id));
    Some(results)
}

/// One norm on the thermometer.
#[derive(Clone, Debug, PartialEq)]
pub struct NormResult {
    pub norm_id: Code,
    pub title: String,
    pub measure: Measure,
    pub target_percent: u32,
    pub met: u64,
    pub items: u64,
    pub status: NormStatus,
    /// Only when the status is not GREEN.
    pub explanation: Option<String>,
}

impl NormResult {
    /// met / items, or `None` without items.
    pub fn share(&self) -> Option<f64> {
        ratio(self.met, self.items)
    }
}

/// Response times of one channel.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseTimes {
    pub channel: Channel,
    pub answered: u64,
    pub p50_seconds: u64,
    pub p90_seconds: u64,
}

/// Dashboard figures. A ratio with nothing to divide by is `None`, never 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub contacts: u64,
    pub cases: u64,
    pub first_contact_resolution: Option<f64>,
    pub repeat_contact_rate: Option<f64>,
    pub referral_rate: Option<f64>,
    pub cases_referred_more_than_once: u64,
    pub repeat_story_rate: Option<f64>,
    pub channel_hops: u64,
    pub response_times: Vec<ResponseTimes>,
    pub satisfaction_score: Option<f64>,
    pub effort_score: Option<f64>,
    /// The counts behind the ratios above (what a benchmark compares, `crate::benchmark`).
    pub counts: FigureCounts,
}

/// The whole numbers each ratio of [`Figures`] divides: a share is `met / items` of its
/// pair, a mean `sum / answers`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FigureCounts {
    /// Cases counted for first-contact resolution, and those resolved in it.
    pub first_contact_resolution: Share,
    /// Contacts with a case, and those that carry `REPEAT_CONTACT`.
    pub repeat_contacts: Share,
    /// Completed, not abandoned contacts, and those `REFERRED`.
    pub referrals: Share,
    /// Follow-ups, and those `story_repeated`.
    pub repeated_stories: Share,
    /// Satisfaction answers.
    pub answers: u64,
    /// The sum of the answers' scores (1–5 each).
    pub score_sum: u64,
    /// The sum of the answers' efforts (1–7 each).
    pub effort_sum: u64,
}

/// `met` of `items`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Share {
    pub met: u64,
    pub items: u64,
}

/// `num / den`, or `None` when `den` is 0.
pub fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The instants to load for a period in the tenant's calendar.
pub fn load_window(period: &Period, settings: &TenantSettings) -> LoadWindow {
    let from = settings.calendar.start_of_day(period.from);
    let to = settings.calendar.start_of_day(period.to);
    LoadWindow {
        starts_from: from,
        starts_to: to,
        due_after: from,
        due_until: to,
    }
}

/// An ABANDONED contact that ended less than this many seconds after its start is left
/// out of response times.
pub const SHORT_ABANDON_SECS: i64 = 5;

/// The local date whose day (from its `start_of_day` to the next one's) holds `t`: the
/// date a period counts an instant under. Equal to the local date of `t` except where a
/// clock change at midnight makes the two differ.
pub fn day_of(calendar: &Calendar, t: Instant) -> NaiveDate {
    let date = calendar.local_date(t);
    if t < calendar.start_of_day(date) {
        date.pred_opt().unwrap_or(date)
    } else if t >= calendar.end_of_day(date) {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    }
}

/// What a filter looks at of a contact, as known at a moment: its channel, its topic
/// (its own, else its case's) and its department (the handling one, else the one given
/// at start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims<'a> {
    pub channel: Channel,
    pub topic: Option<&'a Code>,
    pub department: Option<&'a Code>,
}

/// The dims of a contact on `case` (its case as known at `t`, if any).
pub fn dims<'a>(contact: &'a ContactFacts, case: Option<&'a CaseFacts>, t: Instant) -> Dims<'a> {
    Dims {
        channel: contact.channel,
        topic: contact
            .topic_at(t)
            .or_else(|| case.and_then(|c| c.topic.as_ref())),
        department: contact.department_at(t),
    }
}

impl Filter {
    /// Whether a contact with these dims matches.
    pub fn matches(&self, dims: &Dims<'_>) -> bool {
        self.channel.is_none_or(|ch| dims.channel == ch)
            && self
                .topic
                .as_ref()
                .is_none_or(|topic| dims.topic == Some(topic))
            && self
                .department
                .as_ref()
                .is_none_or(|d| dims.department == Some(d))
    }
}

/// What the dashboard counts of one contact, as known at `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ContactJudgement {
    /// On a case (the contact counts for the repeat-contact rate).
    pub has_case: bool,
    pub repeat_contact: bool,
    pub channel_hop: bool,
    /// Completed and not ABANDONED: `Some(whether REFERRED)`.
    pub referred: Option<bool>,
    /// A follow-up: `Some(whether story_repeated)`.
    pub story_repeated: Option<bool>,
}

/// Judges one contact on `case` (its case as known at `t`, if any).
pub fn judge(
    contact: &ContactFacts,
    case: Option<&CaseFacts>,
    settings: &TenantSettings,
    t: Instant,
) -> ContactJudgement {
    let signals = case
        .map(|case| signals::signals(case, &Probe::of(contact), settings))
        .unwrap_or_default();
    ContactJudgement {
        has_case: case.is_some(),
        repeat_contact: signals.contains(&Signal::RepeatContact),
        channel_hop: signals.contains(&Signal::ChannelHop),
        referred: contact
            .outcome_at(t)
            .filter(|o| *o != Outcome::Abandoned)
            .map(|o| o == Outcome::Referred),
        story_repeated: case.and_then(|case| {
            signals::is_follow_up(case, contact, t)
                .then(|| signals::story_repeated(case, contact, t))
        }),
    }
}

/// An item of a norm that may still be waiting: met or missed, or not decided yet
/// (missed once `deadline` is before `as_of`, left out before that).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Decided(bool),
    Pending { deadline: Instant },
}

impl Item {
    /// Met (`Some(true)`), missed (`Some(false)`) or left out (`None`) at `as_of`.
    pub fn at(self, as_of: Instant) -> Option<bool> {
        match self {
            Item::Decided(met) => Some(met),
            Item::Pending { deadline } => (deadline < as_of).then_some(false),
        }
    }
}

/// A response-time item of an INBOUND contact (judged as known at `t`): `None` when left
/// out whatever the moment (a short abandon).
pub fn response_item(
    contact: &ContactFacts,
    within: Within,
    calendar: &Calendar,
    t: Instant,
) -> Option<Item> {
    let deadline = within.deadline(calendar, contact.started_at);
    match contact.completion_known_at(t) {
        Some(end) if end.outcome == Outcome::Abandoned => {
            if end.ended_at - contact.started_at < TimeDelta::seconds(SHORT_ABANDON_SECS) {
                None
            } else {
                Some(Item::Decided(false))
            }
        }
        Some(Completion {
            answered_at: Some(answered),
            ..
        }) => Some(Item::Decided(*answered <= deadline)),
        _ => Some(Item::Pending { deadline }),
    }
}

/// A commitment's item: fulfilled (on time or not), or open until its due time.
pub fn commitment_item(commitment: &Commitment) -> Item {
    if commitment.fulfilment.is_some() {
        Item::Decided(commitment.on_time())
    } else {
        Item::Pending {
            deadline: commitment.due_at,
        }
    }
}

/// Seconds from start to answer of an answered INBOUND contact, as known at `t`.
pub fn answered_secs(contact: &ContactFacts, t: Instant) -> Option<u64> {
    if contact.direction != Direction::Inbound {
        return None;
    }
    let answered = contact.completion_known_at(t)?.answered_at?;
    u64::try_from((answered - contact.started_at).num_seconds()).ok()
}

/// The satisfaction answer of a contact, counted once its completion is known at `t`.
pub fn feedback_known(contact: &ContactFacts, t: Instant) -> Option<&Feedback> {
    contact.completion_known_at(t)?;
    contact.feedback.as_ref()
}

/// First-contact resolution of a case (its contacts as known at `t`): `None` when not
/// counted (no contact that was not ABANDONED, or the first is in progress), else the
/// start of that first contact and whether the case was resolved in it with no repeat
/// contact.
pub fn fcr_item(
    case: &CaseFacts,
    settings: &TenantSettings,
    t: Instant,
) -> Option<(Instant, bool)> {
    let mut contacts: Vec<&ContactFacts> = case.contacts.iter().collect();
    contacts.sort_by_key(|c| (c.started_at, c.id));
    let first = contacts
        .iter()
        .find(|c| c.outcome_at(t) != Some(Outcome::Abandoned))?;
    let outcome = first.outcome_at(t)?;
    let repeated = contacts
        .iter()
        .any(|c| signals::signals(case, &Probe::of(c), settings).contains(&Signal::RepeatContact));
    Some((first.started_at, outcome == Outcome::Resolved && !repeated))
}

/// How often a case was referred, as known at `t`.
pub fn referrals(case: &CaseFacts, t: Instant) -> usize {
    case.contacts
        .iter()
        .filter(|c| c.outcome_at(t) == Some(Outcome::Referred))
        .count()
}

/// The facts as known at `as_of`: contacts that started by then, each on the case it
/// was on by then; cases by id.
struct Known<'a> {
    as_of: Instant,
    settings: &'a TenantSettings,
    /// Contacts started in the period and by `as_of`.
    in_period: Vec<&'a ContactFacts>,
    /// Every case as known at `as_of` (shared by the periods of a series).
    cases: Rc<BTreeMap<Uuid, CaseFacts>>,
}

/// Every case of the facts as known at `as_of` ([`known_case`]).
fn known_cases(facts: &FigureFacts, as_of: Instant) -> Rc<BTreeMap<Uuid, CaseFacts>> {
    Rc::new(
        facts
            .cases
            .iter()
            .map(|(id, case)| (*id, known_case(case, as_of)))
            .collect(),
    )
}

impl<'a> Known<'a> {
    fn new(facts: &'a FigureFacts, period: &Period, settings: &'a TenantSettings) -> Self {
        Self::with_cases(facts, period, settings, known_cases(facts, period.as_of))
    }

    /// The facts of a period with the cases as known at its `as_of`, made already.
    fn with_cases(
        facts: &'a FigureFacts,
        period: &Period,
        settings: &'a TenantSettings,
        cases: Rc<BTreeMap<Uuid, CaseFacts>>,
    ) -> Self {
        let window = load_window(period, settings);
        let as_of = period.as_of;
        let in_period = facts
            .contacts
            .iter()
            .filter(|c| c.started_at >= window.starts_from && c.started_at < window.starts_to)
            .filter(|c| c.started_at <= as_of)
            .collect();
        Known {
            as_of,
            settings,
            in_period,
            cases,
        }
    }

    fn case_of(&self, contact: &ContactFacts) -> Option<&CaseFacts> {
        contact
            .case_at(self.as_of)
            .and_then(|id| self.cases.get(&id))
    }

    fn dims_of<'b>(&'b self, contact: &'b ContactFacts) -> Dims<'b> {
        dims(contact, self.case_of(contact), self.as_of)
    }

    fn judge(&self, contact: &ContactFacts) -> ContactJudgement {
        judge(contact, self.case_of(contact), self.settings, self.as_of)
    }

    /// Cases of the given contacts, by id.
    fn cases_of<'b>(&'b self, contacts: &[&'a ContactFacts]) -> BTreeMap<Uuid, &'b CaseFacts> {
        contacts
            .iter()
            .filter_map(|c| self.case_of(c))
            .map(|c| (c.id, c))
            .collect()
    }

    /// First-contact resolution of one case: `None` when it is not counted (its first
    /// contact that was not ABANDONED did not start in the period, or is in progress),
    /// else whether it was resolved in that contact with no repeat contact by `as_of`.
    fn first_contact_resolved(&self, case: &CaseFacts, window: &LoadWindow) -> Option<bool> {
        let (first, met) = fcr_item(case, self.settings, self.as_of)?;
        (first >= window.starts_from && first < window.starts_to).then_some(met)
    }
}

/// A case with the contacts on it as known at `t` (started by then, and on it by then).
pub fn known_case(case: &CaseFacts, t: Instant) -> CaseFacts {
    let mut case = case.clone();
    case.contacts
        .retain(|c| c.started_at <= t && c.case_at(t) == Some(case.id));
    case
}

pub(crate) fn status(met: u64, items: u64, target_percent: u32) -> NormStatus {
    let target = u64::from(target_percent);
    if items == 0 {
        NormStatus::NoData
    } else if 100 * met >= target * items {
        NormStatus::Green
    } else if 100 * met >= target.saturating_sub(5) * items {
        NormStatus::Amber
    } else {
        NormStatus::Red
    }
}

fn tally(results: impl IntoIterator<Item = bool>) -> (u64, u64) {
    results
        .into_iter()
        .fold((0, 0), |(met, items), ok| (met + u64::from(ok), items + 1))
}

/// A norm's line on the thermometer from its counts.
pub fn norm_result(norm: &Norm, met: u64, items: u64) -> NormResult {
    let status = status(met, items, norm.target_percent);
    NormResult {
        norm_id: norm.id.clone(),
        title: norm.title.clone(),
        measure: norm.measure.clone(),
        target_percent: norm.target_percent,
        met,
        items,
        status,
        explanation: if status == NormStatus::Green {
            None
        } else {
            norm.explanation.clone()
        },
    }
}

/// The service thermometer: every norm of the tenant over the period.
pub fn thermometer(
    facts: &FigureFacts,
    period: &Period,
    settings: &TenantSettings,
) -> Vec<NormResult> {
    let known = Known::new(facts, period, settings);
    let window = load_window(period, settings);
    let as_of = period.as_of;
    let calendar = &settings.calendar;
    let case_map = known.cases_of(&known.in_period);
    settings
        .norms
        .iter()
        .map(|norm| {
            let (met, items) = match &norm.measure {
                Measure::ResponseTime { channel, within } => tally(
                    known
                        .in_period
                        .iter()
                        .filter(|c| c.channel == *channel && c.direction == Direction::Inbound)
                        .filter_map(|c| response_item(c, *within, calendar, as_of)?.at(as_of)),
                ),
                Measure::FirstContactResolution => tally(
                    known
                        .cases
                        .values()
                        .filter_map(|case| known.first_contact_resolved(case, &window)),
                ),
                Measure::ReferredAtMost { max } => tally(
                    case_map
                        .values()
                        .map(|case| referrals(case, as_of) <= *max as usize),
                ),
                Measure::StoryToldOnce => tally(
                    known
                        .in_period
                        .iter()
                        .filter_map(|c| known.judge(c).story_repeated.map(|r| !r)),
                ),
                Measure::CommitmentOnTime { .. } => tally(known.cases.values().flat_map(|case| {
                    signals::commitments(case, as_of)
                        .into_iter()
                        .filter_map(|c| {
                            let day = calendar.due_date(c.due_at);
                            if day < period.from || day >= period.to {
                                None
                            } else {
                                commitment_item(&c).at(as_of)
                            }
                        })
                })),
            };
            norm_result(norm, met, items)
        })
        .collect()
}

/// The nearest-rank percentile `p` of sorted values.
fn nearest_rank(sorted: &[u64], p: usize) -> u64 {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0)
}

fn mean(values: &[u8]) -> Option<f64> {
    ratio(
        values.iter().map(|v| u64::from(*v)).sum(),
        values.len() as u64,
    )
}

/// The dashboard figures over the period with a filter.
pub fn figures(
    facts: &FigureFacts,
    period: &Period,
    filter: &Filter,
    settings: &TenantSettings,
) -> Figures {
    figures_known(
        &Known::new(facts, period, settings),
        period,
        filter,
        settings,
    )
}

/// The dashboard figures of each period of a series with a filter: as [`figures`] for
/// each, with the cases as known at `as_of` made once for every period that shares
/// the first one's `as_of` (a series' periods all do).
pub fn figure_series(
    facts: &FigureFacts,
    periods: &[Period],
    filter: &Filter,
    settings: &TenantSettings,
) -> Vec<Figures> {
    let Some(first) = periods.first() else {
        return Vec::new();
    };
    let cases = known_cases(facts, first.as_of);
    periods
        .iter()
        .map(|p| {
            let known = if p.as_of == first.as_of {
                Known::with_cases(facts, p, settings, cases.clone())
            } else {
                Known::new(facts, p, settings)
            };
            figures_known(&known, p, filter, settings)
        })
        .collect()
}

fn figures_known(
    known: &Known<'_>,
    period: &Period,
    filter: &Filter,
    settings: &TenantSettings,
) -> Figures {
    let window = load_window(period, settings);
    let as_of = period.as_of;
    let contacts: Vec<&ContactFacts> = known
        .in_period
        .iter()
        .copied()
        .filter(|c| filter.matches(&known.dims_of(c)))
        .collect();
    let cases = known.cases_of(&contacts);

    let (fcr_met, fcr_items) = tally(
        cases
            .values()
            .filter_map(|case| known.first_contact_resolved(case, &window)),
    );
    let judged: Vec<ContactJudgement> = contacts.iter().map(|c| known.judge(c)).collect();
    let with_case = judged.iter().filter(|j| j.has_case).count() as u64;
    let repeats = judged.iter().filter(|j| j.repeat_contact).count() as u64;
    let hops = judged.iter().filter(|j| j.channel_hop).count() as u64;
    let (referred, completed) = tally(judged.iter().filter_map(|j| j.referred));
    let (repeated_stories, follow_ups) = tally(judged.iter().filter_map(|j| j.story_repeated));
    let response_times = Channel::ALL
        .into_iter()
        .filter_map(|channel| {
            let mut secs: Vec<u64> = contacts
                .iter()
                .filter(|c| c.channel == channel)
                .filter_map(|c| answered_secs(c, as_of))
                .collect();
            if secs.is_empty() {
                return None;
            }
            secs.sort_unstable();
            Some(ResponseTimes {
                channel,
                answered: secs.len() as u64,
                p50_seconds: nearest_rank(&secs, 50),
                p90_seconds: nearest_rank(&secs, 90),
            })
        })
        .collect();
    let answers: Vec<&Feedback> = contacts
        .iter()
        .filter_map(|c| feedback_known(c, as_of))
        .collect();
    let scores: Vec<u8> = answers.iter().map(|f| f.score).collect();
    let efforts: Vec<u8> = answers.iter().map(|f| f.effort).collect();
    let sum = |v: &[u8]| v.iter().map(|x| u64::from(*x)).sum();
    let share = |met, items| Share { met, items };

    Figures {
        contacts: contacts.len() as u64,
        cases: cases.len() as u64,
        first_contact_resolution: ratio(fcr_met, fcr_items),
        repeat_contact_rate: ratio(repeats, with_case),
        referral_rate: ratio(referred, completed),
        cases_referred_more_than_once: cases.values().filter(|c| referrals(c, as_of) > 1).count()
            as u64,
        repeat_story_rate: ratio(repeated_stories, follow_ups),
        channel_hops: hops,
        response_times,
        satisfaction_score: mean(&scores),
        effort_score: mean(&efforts),
        counts: FigureCounts {
            first_contact_resolution: share(fcr_met, fcr_items),
            repeat_contacts: share(repeats, with_case),
            referrals: share(referred, completed),
            repeated_stories: share(repeated_stories, follow_ups),
            answers: scores.len() as u64,
            score_sum: sum(&scores),
            effort_sum: sum(&efforts),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::{case, contact, ended, t};

    #[test]
    fn the_public_sees_published_norms_of_a_published_page_and_nothing_else() {
        let mut s = TenantSettings::default();
        let result = |n: &Norm| NormResult {
            norm_id: n.id.clone(),
            title: n.title.clone(),
            measure: n.measure.clone(),
            target_percent: n.target_percent,
            met: 1,
            items: 2,
            status: NormStatus::Red,
            explanation: None,
        };
        let all: Vec<NormResult> = s.norms.iter().map(result).collect();
        assert!(all.len() >= 2);
        // A page not published: as an unknown tenant, not an empty page.
        assert_eq!(shown_publicly(&s, all.clone()), None);
        s.public_page.published = true;
        assert_eq!(shown_publicly(&s, all.clone()), Some(all.clone()));
        s.norms[1].published = false;
        let shown = shown_publicly(&s, all.clone()).unwrap();
        assert_eq!(shown.len(), all.len() - 1);
        assert!(shown.iter().all(|r| r.norm_id != s.norms[1].id));
        // A result of a norm no longer in the settings is not shown either.
        s.norms.remove(0);
        assert!(
            shown_publicly(&s, all)
                .unwrap()
                .iter()
                .all(|r| r.norm_id != shown[0].norm_id)
        );
    }

    const DAY: i64 = 24 * 60;

    /// March 2026 as known at 1 April.
    fn march() -> Period {
        Period {
            from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
            as_of: t(40 * DAY),
        }
    }

    fn facts(cases: Vec<CaseFacts>, anonymous: Vec<ContactFacts>) -> FigureFacts {
        let mut contacts: Vec<ContactFacts> =
            cases.iter().flat_map(|c| c.contacts.clone()).collect();
        contacts.extend(anonymous);
        FigureFacts {
            contacts,
            cases: cases.into_iter().map(|c| (c.id, c)).collect(),
        }
    }

    fn on_case(mut c: ContactFacts, case: u128) -> ContactFacts {
        c.case_id = Some(Uuid::from_u128(case));
        c
    }

    fn anonymous(mut c: ContactFacts) -> ContactFacts {
        c.case_id = None;
        c.party_id = None;
        c
    }

    fn answered_after(mut c: ContactFacts, secs: i64) -> ContactFacts {
        c.completion.as_mut().unwrap().answered_at = Some(c.started_at + TimeDelta::seconds(secs));
        c
    }

    fn norm_of(results: &[NormResult], id: &str) -> NormResult {
        results
            .iter()
            .find(|r| r.norm_id.as_str() == id)
            .cloned()
            .unwrap()
    }

    #[test]
    fn status_is_decided_exactly_in_integers() {
        assert_eq!(status(4, 5, 80), NormStatus::Green);
        assert_eq!(status(4, 5, 82), NormStatus::Amber);
        assert_eq!(status(3, 4, 80), NormStatus::Amber);
        assert_eq!(status(3, 7, 90), NormStatus::Red);
        assert_eq!(status(0, 0, 90), NormStatus::NoData);
        assert_eq!(status(0, 1, 3), NormStatus::Amber);
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[15, 40], 50), 15);
        assert_eq!(nearest_rank(&[15, 40], 90), 40);
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9);
        assert_eq!(nearest_rank(&[7], 50), 7);
    }

    #[test]
    fn ratios_without_a_denominator_are_null() {
        let f = figures(
            &FigureFacts::default(),
            &march(),
            &Filter::default(),
            &TenantSettings::default(),
        );
        assert_eq!(f.contacts, 0);
        assert_eq!(f.first_contact_resolution, None);
        assert_eq!(f.referral_rate, None);
        assert_eq!(f.repeat_story_rate, None);
        assert_eq!(f.satisfaction_score, None);
        let th = thermometer(
            &FigureFacts::default(),
            &march(),
            &TenantSettings::default(),
        );
        assert!(
            th.iter()
                .all(|r| r.status == NormStatus::NoData && r.share().is_none())
        );
    }

    #[test]
    fn first_contact_resolution_and_repeat_contacts() {
        // Case 1 resolved at once; case 2 resolved, then a repeat contact; case 3 referred.
        let c1 = case(
            1,
            "a",
            0,
            vec![on_case(
                ended(contact(1, DAY), DAY + 5, Outcome::Resolved),
                1,
            )],
        );
        let c2 = case(
            2,
            "b",
            0,
            vec![
                on_case(ended(contact(2, DAY), DAY + 5, Outcome::Resolved), 2),
                on_case(
                    ended(contact(3, 2 * DAY), 2 * DAY + 5, Outcome::Resolved),
                    2,
                ),
            ],
        );
        let c3 = case(
            3,
            "c",
            0,
            vec![
                on_case(ended(contact(4, DAY), DAY + 1, Outcome::Abandoned), 3),
                on_case(ended(contact(5, DAY + 10), DAY + 15, Outcome::Referred), 3),
            ],
        );
        let f = facts(
            vec![c1, c2, c3],
            vec![anonymous(ended(
                contact(9, DAY),
                DAY + 3,
                Outcome::Resolved,
            ))],
        );
        let s = TenantSettings::default();
        let fig = figures(&f, &march(), &Filter::default(), &s);
        assert_eq!(fig.contacts, 6);
        assert_eq!(fig.cases, 3);
        assert_eq!(fig.first_contact_resolution, Some(1.0 / 3.0));
        assert_eq!(fig.repeat_contact_rate, Some(1.0 / 5.0));
        // Completed, not abandoned: 5 (anonymous included); one referred.
        assert_eq!(fig.referral_rate, Some(1.0 / 5.0));
        let th = thermometer(&f, &march(), &s);
        let fcr = norm_of(&th, "first-contact-resolution");
        assert_eq!((fcr.met, fcr.items, fcr.status), (1, 3, NormStatus::Red));
        // As known before the repeat contact, case 2 was still a first-contact resolution.
        let early = Period {
            as_of: t(DAY + 12),
            ..march()
        };
        let fcr = norm_of(&thermometer(&f, &early, &s), "first-contact-resolution");
        assert_eq!(
            (fcr.met, fcr.items),
            (2, 2),
            "case 3's first real contact was still in progress"
        );
    }

    #[test]
    fn a_contact_in_progress_keeps_a_case_open_for_repeat_contacts_and_fcr() {
        // Resolved by phone on day 1; an e-mail on day 2 is answered (RESOLVED) on day 4;
        // a phone call on day 3, while the e-mail is unanswered, is no repeat contact.
        let mut mail = on_case(ended(contact(2, 2 * DAY), 4 * DAY, Outcome::Resolved), 1);
        mail.channel = Channel::Email;
        let c1 = case(
            1,
            "a",
            0,
            vec![
                on_case(ended(contact(1, DAY), DAY + 5, Outcome::Resolved), 1),
                mail,
                on_case(
                    ended(contact(3, 3 * DAY), 3 * DAY + 5, Outcome::Resolved),
                    1,
                ),
            ],
        );
        let f = facts(vec![c1], vec![]);
        let s = TenantSettings::default();
        let fig = figures(&f, &march(), &Filter::default(), &s);
        // Only the e-mail (the case resolved the day before) is a repeat contact.
        assert_eq!(fig.repeat_contact_rate, Some(1.0 / 3.0));
        assert_eq!(fig.first_contact_resolution, Some(0.0));
        // As known on day 2, before the e-mail: a first-contact resolution.
        let early = Period {
            as_of: t(2 * DAY - 1),
            ..march()
        };
        assert_eq!(
            figures(&f, &early, &Filter::default(), &s).first_contact_resolution,
            Some(1.0)
        );
    }

    #[test]
    fn response_time_leaves_out_short_abandons_and_unanswered_before_their_deadline() {
        let s = TenantSettings::default();
        let phone = |n, secs| {
            anonymous(answered_after(
                ended(
                    contact(n, DAY + n as i64),
                    DAY + n as i64 + 3,
                    Outcome::Resolved,
                ),
                secs,
            ))
        };
        let short = anonymous({
            let mut c = ended(contact(20, DAY), DAY, Outcome::Abandoned);
            c.completion.as_mut().unwrap().ended_at = c.started_at + TimeDelta::seconds(4);
            c
        });
        let long = anonymous({
            let mut c = ended(contact(21, DAY), DAY, Outcome::Abandoned);
            c.completion.as_mut().unwrap().ended_at = c.started_at + TimeDelta::seconds(5);
            c
        });
        let open = anonymous(contact(22, 3 * DAY));
        let mut outbound = phone(23, 60);
        outbound.direction = Direction::Outbound;
        let f = facts(
            vec![],
            vec![phone(1, 25), phone(2, 26), short, long, open, outbound],
        );
        let r = norm_of(&thermometer(&f, &march(), &s), "phone-answered");
        assert_eq!(
            (r.met, r.items),
            (1, 4),
            "25s met, 26s missed, 5s abandon missed, unanswered past deadline"
        );
        let just_after = Period {
            as_of: t(3 * DAY) + TimeDelta::seconds(10),
            ..march()
        };
        let r = norm_of(&thermometer(&f, &just_after, &s), "phone-answered");
        assert_eq!(r.items, 3, "the open call is left out before its deadline");
        let fig = figures(
            &f,
            &march(),
            &Filter {
                channel: Some(Channel::Phone),
                ..Filter::default()
            },
            &s,
        );
        assert_eq!(fig.response_times[0].p50_seconds, 25);
        assert_eq!(fig.response_times[0].answered, 2);
    }

    #[test]
    fn filters_keep_matching_contacts_and_whole_cases() {
        let mut a = on_case(ended(contact(1, DAY), DAY + 5, Outcome::Referred), 1);
        a.department = Some(Code::parse("kcc").unwrap());
        let mut b = on_case(ended(contact(2, DAY + 10), DAY + 15, Outcome::Referred), 1);
        b.department = Some(Code::parse("kcc").unwrap());
        b.completion.as_mut().unwrap().department = Some(Code::parse("wmo").unwrap());
        let mut c = on_case(ended(contact(3, DAY + 20), DAY + 25, Outcome::Resolved), 1);
        c.channel = Channel::Counter;
        let f = facts(vec![case(1, "x", 0, vec![a, b, c])], vec![]);
        let s = TenantSettings::default();
        let kcc = Filter {
            department: Some(Code::parse("kcc").unwrap()),
            ..Filter::default()
        };
        let fig = figures(&f, &march(), &kcc, &s);
        assert_eq!(
            (fig.contacts, fig.cases, fig.referral_rate),
            (1, 1, Some(1.0))
        );
        assert_eq!(
            fig.cases_referred_more_than_once, 1,
            "computed over the whole case"
        );
        let counter = Filter {
            channel: Some(Channel::Counter),
            ..Filter::default()
        };
        assert_eq!(figures(&f, &march(), &counter, &s).contacts, 1);
        let topic = Filter {
            topic: Some(Code::parse("paspoort").unwrap()),
            ..Filter::default()
        };
        assert_eq!(figures(&f, &march(), &topic, &s).contacts, 3);
        let other = Filter {
            topic: Some(Code::parse("x").unwrap()),
            ..Filter::default()
        };
        assert_eq!(
            figures(&f, &march(), &other, &s).contacts,
            0,
            "a contact's own topic comes first"
        );
        let r = norm_of(&thermometer(&f, &march(), &s), "referred-at-most-twice");
        assert_eq!((r.met, r.items), (1, 1));
    }

    #[test]
    fn commitments_count_in_the_period_they_are_due() {
        let s = TenantSettings {
            norms: vec![Norm {
                id: Code::parse("on-time").unwrap(),
                title: "t".into(),
                measure: Measure::CommitmentOnTime { within: None },
                target_percent: 90,
                explanation: Some("We bellen vaker terug.".into()),
                published: true,
            }],
            ..TenantSettings::default()
        };
        let mut promise = on_case(ended(contact(1, DAY), DAY + 5, Outcome::Callback), 1);
        promise.completion.as_mut().unwrap().due_at = Some(t(2 * DAY));
        let mut outbound = on_case(
            ended(contact(2, 3 * DAY), 3 * DAY + 5, Outcome::Resolved),
            1,
        );
        outbound.direction = Direction::Outbound;
        let f = facts(vec![case(1, "x", 0, vec![promise, outbound])], vec![]);
        let r = thermometer(&f, &march(), &s).remove(0);
        assert_eq!(
            (r.met, r.items, r.status),
            (0, 1, NormStatus::Red),
            "fulfilled late"
        );
        assert_eq!(r.explanation.as_deref(), Some("We bellen vaker terug."));
        let before_due = Period {
            as_of: t(DAY + 60),
            ..march()
        };
        assert_eq!(
            thermometer(&f, &before_due, &s)[0].items,
            0,
            "still open before its due time"
        );
    }

    #[test]
    fn a_green_norm_shows_no_explanation() {
        let mut s = TenantSettings::default();
        for norm in &mut s.norms {
            norm.explanation = Some("Wij werken eraan.".into());
        }
        let phone = anonymous(answered_after(
            ended(contact(1, DAY), DAY + 3, Outcome::Resolved),
            10,
        ));
        let th = thermometer(&facts(vec![], vec![phone]), &march(), &s);
        let green = norm_of(&th, "phone-answered");
        assert_eq!((green.status, green.explanation), (NormStatus::Green, None));
        let empty = norm_of(&th, "email-answered");
        assert_eq!(empty.status, NormStatus::NoData);
        assert_eq!(empty.explanation.as_deref(), Some("Wij werken eraan."));
    }

    #[test]
    fn stories_hops_and_satisfaction() {
        use crate::contact::Feedback;
        let s = TenantSettings::default();
        // A web form, then a phone call 2 hours later (a hop, a follow-up with a story to
        // read), then a counter visit the citizen says made them tell it again.
        let mut web = on_case(ended(contact(1, DAY), DAY + 5, Outcome::HandedOff), 1);
        web.channel = Channel::Web;
        web.completion.as_mut().unwrap().story = Some("formulier".into());
        web.completion.as_mut().unwrap().due_at = Some(t(10 * DAY));
        let mut call = on_case(
            ended(contact(2, DAY + 120), DAY + 130, Outcome::Referred),
            1,
        );
        call.feedback = Some(Feedback {
            score: 4,
            effort: 2,
            story_repeated: false,
            comment: None,
        });
        let mut visit = on_case(
            ended(contact(3, 3 * DAY), 3 * DAY + 20, Outcome::Resolved),
            1,
        );
        visit.channel = Channel::Counter;
        visit.feedback = Some(Feedback {
            score: 2,
            effort: 5,
            story_repeated: true,
            comment: None,
        });
        let f = facts(vec![case(1, "x", 0, vec![web, call, visit])], vec![]);
        let fig = figures(&f, &march(), &Filter::default(), &s);
        assert_eq!(fig.channel_hops, 1);
        assert_eq!(fig.repeat_story_rate, Some(0.5));
        assert_eq!(fig.satisfaction_score, Some(3.0));
        assert_eq!(fig.effort_score, Some(3.5));
        let once = norm_of(&thermometer(&f, &march(), &s), "story-told-once");
        assert_eq!((once.met, once.items), (1, 2));
        // Before the visit ended, its answer and its story were not known yet.
        let early = Period {
            as_of: t(3 * DAY + 10),
            ..march()
        };
        let fig = figures(&f, &early, &Filter::default(), &s);
        assert_eq!(
            (fig.repeat_story_rate, fig.satisfaction_score),
            (Some(0.0), Some(4.0))
        );
    }
}
