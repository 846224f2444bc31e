//! The shape of a seeded store: who the citizens are, what they ask about, on which
//! channel, when, and how each contact ends. Nothing here decides a rule: a planned
//! contact is only what a channel would send; `play` puts it through the domain's plans.

use super::rng::Rng;
use chrono::{Datelike, NaiveDate, TimeDelta, Timelike, Weekday};
use midoffice_domain::calendar::Calendar;
use midoffice_domain::contact::{Channel, Direction, Feedback, Outcome, ReferralTarget};
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::{Code, Instant};

/// Topics, each with the department that handles it and a weight.
pub const TOPICS: &[(&str, &str, u32)] = &[
    ("paspoort", "burgerzaken", 14),
    ("identiteitskaart", "burgerzaken", 8),
    ("rijbewijs", "burgerzaken", 7),
    ("verhuizing", "burgerzaken", 9),
    ("uittreksel-brp", "burgerzaken", 5),
    ("parkeervergunning", "parkeren", 8),
    ("afvalcontainer", "afval", 7),
    ("grofvuil", "afval", 6),
    ("melding-openbare-ruimte", "buitenruimte", 8),
    ("gemeentelijke-belastingen", "belastingen", 7),
    ("kwijtschelding", "belastingen", 3),
    ("wmo-hulpmiddel", "wmo", 4),
    ("bijstand", "werk-en-inkomen", 4),
    ("omgevingsvergunning", "vergunningen", 4),
    ("huwelijk", "burgerzaken", 2),
];

/// Organisations a citizen is referred to.
const ORGANISATIONS: &[&str] = &[
    "UWV",
    "Belastingdienst",
    "SVB",
    "RDW",
    "Woningcorporatie",
    "Juridisch Loket",
];

/// What agents write down (never an identifier).
const STORIES: &[&str] = &[
    "Vraagt naar de status van de aanvraag.",
    "Uitleg gegeven over de benodigde documenten.",
    "Afspraak ingepland aan de balie.",
    "Wil bezwaar maken tegen het besluit, uitgelegd hoe dat gaat.",
    "Melding doorgegeven, burger wil graag teruggebeld worden.",
    "Heeft de brief niet begrepen, samen doorgenomen.",
    "Betaling nog niet ontvangen, navraag gedaan.",
    "Formulier online lukt niet, stappen uitgelegd.",
    "Klacht over de afhandeling tot nu toe.",
    "Vraagt of de termijn verlengd kan worden.",
];

const COMMENTS: &[&str] = &[
    "Snel geholpen, dank.",
    "Moest alles opnieuw uitleggen.",
    "Lang gewacht aan de telefoon.",
    "Vriendelijke medewerker.",
    "Nog steeds geen antwoord.",
];

/// How a citizen makes itself known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Has a BSN; gives it where a channel asks for it.
    Bsn,
    /// Never gives more than a phone number or an e-mail address.
    WeakOnly,
    /// Weak only until `join`, then gives the BSN with the rest (merges).
    JoinedLater,
}

/// The identifiers of one citizen, keyed with the deployment's secret.
#[derive(Clone, Debug)]
pub struct Citizen {
    pub identity: Identity,
    pub bsn: Option<IdentKey>,
    pub phone: IdentKey,
    pub email: IdentKey,
    /// For `JoinedLater`: from when the BSN is given.
    pub join: Option<Instant>,
}

/// A planned contact: what the channel sends when it starts and when it completes.
#[derive(Clone, Debug)]
pub struct Planned {
    pub channel: Channel,
    pub direction: Direction,
    pub start: Instant,
    pub answered: Option<Instant>,
    pub end: Instant,
    pub identifiers: Vec<IdentKey>,
    /// Started from the case of this earlier planned contact (an outbound contact).
    pub case_of: Option<usize>,
    pub case_reference: Option<String>,
    pub topic_at_start: Option<Code>,
    pub topic_at_end: Option<Code>,
    pub department_at_start: Option<Code>,
    pub department: Option<Code>,
    pub outcome: Outcome,
    pub story: Option<String>,
    pub referred_to: Option<ReferralTarget>,
    pub story_repeated: bool,
    /// Registered after the fact: when, and whether the agent saw the context.
    pub recorded: Option<(Instant, bool)>,
    pub feedback: Option<(Instant, Feedback)>,
}

impl Planned {
    /// The last instant of any of its events.
    pub fn last_event(&self) -> Instant {
        let mut t = self.end;
        if let Some((r, _)) = self.recorded {
            t = t.max(r);
        }
        if let Some((f, _)) = &self.feedback {
            t = t.max(*f);
        }
        t
    }
}

fn code(raw: &str) -> Code {
    Code::parse(raw).unwrap_or_else(|_| unreachable!("the seed's own codes are valid"))
}

/// The days, hours and horizon of a seed.
pub struct Clock {
    pub calendar: Calendar,
    pub from: NaiveDate,
    /// The last day a contact may start on.
    pub last_day: NaiveDate,
    /// Nothing happens at or after this instant (the end of the period, or now).
    pub horizon: Instant,
}

impl Clock {
    fn at(&self, day: NaiveDate, seconds: i64) -> Instant {
        self.calendar.start_of_day(day) + TimeDelta::seconds(seconds)
    }

    fn seconds_of_day(&self, t: Instant) -> i64 {
        let local = t.with_timezone(&self.calendar.time_zone);
        i64::from(local.num_seconds_from_midnight())
    }

    /// Opening hours of an assisted channel, in seconds from local midnight.
    fn hours(channel: Channel) -> (i64, i64) {
        match channel {
            Channel::Counter => (9 * 3600, 16 * 3600 + 1800),
            _ => (8 * 3600, 17 * 3600),
        }
    }

    /// A day for a new matter: working days for the phone and the counter, and fewer
    /// written contacts at weekends and on holidays; Mondays busiest.
    fn matter_day(&self, rng: &mut Rng, channel: Channel) -> NaiveDate {
        let span = (self.last_day - self.from).num_days().max(0);
        loop {
            let day = self.from + TimeDelta::days(rng.range(0, span));
            let working = self.calendar.is_working_day(day);
            let keep = match (
                matches!(channel, Channel::Phone | Channel::Counter),
                working,
            ) {
                (true, false) => false,
                (false, false) => rng.chance(0.3),
                _ => day.weekday() != Weekday::Fri || rng.chance(0.8),
            };
            let monday_extra = day.weekday() == Weekday::Mon && rng.chance(0.25);
            if keep || monday_extra && working {
                return day;
            }
        }
    }

    /// A time of day on `day` for `channel`: office hours with a morning peak for the
    /// phone and the counter, mostly daytime for written channels.
    fn time_on(&self, rng: &mut Rng, day: NaiveDate, channel: Channel) -> Instant {
        let seconds = match channel {
            Channel::Phone | Channel::Counter => {
                let (open, close) = Self::hours(channel);
                // Two thirds in the morning.
                if rng.chance(0.66) {
                    rng.range(open, 12 * 3600)
                } else {
                    rng.range(12 * 3600, close - 600)
                }
            }
            _ => rng.range(7 * 3600, 23 * 3600),
        };
        self.at(day, seconds)
    }

    /// The first moment at or after `t` the channel is open (the phone and the counter
    /// keep office hours on working days; written channels are always open).
    fn open_at(&self, rng: &mut Rng, t: Instant, channel: Channel) -> Instant {
        if !matches!(channel, Channel::Phone | Channel::Counter) {
            return t;
        }
        let (open, close) = Self::hours(channel);
        let mut day = self.calendar.local_date(t);
        let s = self.seconds_of_day(t);
        if self.calendar.is_working_day(day) && s >= open && s < close - 300 {
            return t;
        }
        if !(self.calendar.is_working_day(day) && s < open) {
            day = day.succ_opt().unwrap_or(day);
        }
        for _ in 0..30 {
            if self.calendar.is_working_day(day) {
                break;
            }
            day = day.succ_opt().unwrap_or(day);
        }
        self.at(day, open + rng.range(0, 5400))
    }
}

/// Contacts per citizen: many one-off, some frequent (a heavy tail), `named` in all.
pub fn contacts_per_citizen(rng: &mut Rng, citizens: usize, named: usize, cap: usize) -> Vec<u32> {
    let mut counts = vec![1u32; citizens];
    if citizens == 0 {
        return counts;
    }
    let extra = named.saturating_sub(citizens);
    // 40 % one-off; the rest draw a Pareto weight (alpha 1.3).
    let weights: Vec<f64> = (0..citizens)
        .map(|_| {
            if rng.chance(0.4) {
                0.0
            } else {
                (1.0 - rng.unit()).powf(-1.0 / 1.3)
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let cap = cap as u32;
    let mut given = 0usize;
    if total > 0.0 {
        for (c, w) in counts.iter_mut().zip(&weights) {
            let share = ((extra as f64) * w / total).floor() as u32;
            let add = share.min(cap - 1);
            *c += add;
            given += add as usize;
        }
    }
    // The rounding rest, one at a time, to citizens who come back already.
    let mut guard = 0usize;
    while given < extra && guard < extra * 50 + 1000 {
        let i = rng.below(citizens);
        guard += 1;
        if counts[i] < cap && (weights[i] > 0.0 || guard > extra * 20) {
            counts[i] += 1;
            given += 1;
        }
    }
    counts
}

/// The planner of one citizen's history.
pub struct Planner<'a> {
    pub rng: &'a mut Rng,
    pub clock: &'a Clock,
    /// A counter for e-mail thread references, unique per citizen.
    pub citizen: usize,
}

/// What a contact ends with, by channel.
fn outcome_for(rng: &mut Rng, channel: Channel, direction: Direction, party: bool) -> Outcome {
    use Outcome::*;
    if direction == Direction::Outbound {
        return rng.weighted(&[(Resolved, 85), (HandedOff, 5), (Abandoned, 10)]);
    }
    let callback = if party { 8 } else { 0 };
    match channel {
        Channel::Phone => rng.weighted(&[
            (Resolved, 55),
            (Referred, 12),
            (HandedOff, 9),
            (Callback, callback),
            (Abandoned, 14),
        ]),
        Channel::Counter => rng.weighted(&[
            (Resolved, 66),
            (Referred, 13),
            (HandedOff, 14),
            (Callback, callback / 3),
            (Abandoned, 4),
        ]),
        Channel::Email => rng.weighted(&[
            (Resolved, 62),
            (Referred, 14),
            (HandedOff, 16),
            (Callback, callback / 2),
            (Abandoned, 1),
        ]),
        Channel::Web => rng.weighted(&[
            (Resolved, 58),
            (Referred, 16),
            (HandedOff, 14),
            (Abandoned, 12),
        ]),
    }
}

/// The first channel of a matter: the phone most, then the counter, e-mail and web.
fn first_channel(rng: &mut Rng) -> Channel {
    rng.weighted(&[
        (Channel::Phone, 45),
        (Channel::Counter, 20),
        (Channel::Email, 20),
        (Channel::Web, 15),
    ])
}

impl Planner<'_> {
    /// The identifiers a citizen gives on `channel` at `t`.
    fn identifiers(&mut self, who: &Citizen, channel: Channel, t: Instant) -> Vec<IdentKey> {
        let rng = &mut *self.rng;
        let bsn = match (who.identity, &who.bsn, who.join) {
            (Identity::Bsn, Some(b), _) => Some(b.clone()),
            (Identity::JoinedLater, Some(b), Some(join)) if t >= join => Some(b.clone()),
            _ => None,
        };
        let phone = who.phone.clone();
        let email = who.email.clone();
        let mut out = match (channel, bsn) {
            (Channel::Phone, Some(b)) => match rng.range(0, 99) {
                0..=39 => vec![b, phone],
                40..=84 => vec![phone],
                _ => vec![b],
            },
            (Channel::Counter, Some(b)) => {
                if rng.chance(0.8) {
                    vec![b]
                } else {
                    vec![b, phone]
                }
            }
            (Channel::Email, Some(b)) => {
                if rng.chance(0.75) {
                    vec![email]
                } else {
                    vec![email, b]
                }
            }
            (Channel::Web, Some(b)) => {
                if rng.chance(0.7) {
                    vec![b, email]
                } else {
                    vec![email]
                }
            }
            (Channel::Phone | Channel::Counter, None) => {
                if rng.chance(0.15) {
                    vec![phone, email]
                } else {
                    vec![phone]
                }
            }
            (Channel::Email | Channel::Web, None) => {
                if rng.chance(0.1) {
                    vec![email, phone]
                } else {
                    vec![email]
                }
            }
        };
        // The first contact after a weak-only citizen gives its BSN names everything it
        // gave before: the parties it made join.
        if who.identity == Identity::JoinedLater
            && who
                .join
                .is_some_and(|j| t >= j && t < j + TimeDelta::days(3))
            && let Some(b) = &who.bsn
        {
            out = vec![b.clone(), who.phone.clone(), who.email.clone()];
        }
        out
    }

    /// The whole history of one citizen: `budget` contacts, in start order, every
    /// event before the horizon.
    pub fn history(&mut self, who: &Citizen, budget: usize) -> Vec<Planned> {
        let mut out: Vec<Planned> = Vec::new();
        let mut attempts = 0;
        while out.len() < budget && attempts < budget * 20 + 20 {
            attempts += 1;
            let left = budget - out.len();
            let matter = self.matter(who, left, out.len());
            out.extend(matter);
        }
        // Case links point into `out` by position: sort by start, then renumber.
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_by_key(|&i| (out[i].start, i));
        let mut position = vec![0usize; out.len()];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let mut sorted: Vec<Planned> = order.iter().map(|&i| out[i].clone()).collect();
        for p in &mut sorted {
            p.case_of = p.case_of.map(|i| position[i]);
        }
        sorted
    }

    /// One matter: its first contact and the follow-ups its outcomes lead to, at most
    /// `left` contacts; `base` is the position of its first contact in the history.
    fn matter(&mut self, who: &Citizen, left: usize, base: usize) -> Vec<Planned> {
        let weighted: Vec<(usize, u32)> = TOPICS
            .iter()
            .enumerate()
            .map(|(i, (_, _, w))| (i, *w))
            .collect();
        let (topic_raw, dept_raw, _) = TOPICS[self.rng.weighted(&weighted)];
        let topic = code(topic_raw);
        let back_office = code(dept_raw);
        let kcc = code("kcc");
        let mut channel = first_channel(self.rng);
        let day = self.clock.matter_day(self.rng, channel);
        let mut start = self.clock.time_on(self.rng, day, channel);
        let mut direction = Direction::Inbound;
        let mut department = if self.rng.chance(0.8) {
            kcc.clone()
        } else {
            back_office.clone()
        };
        let mut case_of: Option<usize> = None;
        let mut refer_back: Option<Code> = None;
        let reference = (channel == Channel::Email && self.rng.chance(0.3))
            .then(|| format!("mail-{}-{}", self.citizen, base));
        let mut out: Vec<Planned> = Vec::new();
        for _ in 0..8 {
            if out.len() >= left {
                break;
            }
            start = self.clock.open_at(self.rng, start, channel);
            let mut p = self.contact(who, channel, direction, start, &topic, &department);
            if let (Outcome::Referred, Some(back)) = (p.outcome, refer_back.take()) {
                // Sent back where the citizen came from: the next contact there loops.
                p.referred_to = Some(ReferralTarget::Department(back));
            }
            if let Some(i) = case_of {
                // Started from the case (the identifiers and topic serve only if the
                // case is not known yet when it starts).
                p.case_of = Some(base + i);
            }
            if channel == Channel::Email {
                p.case_reference = reference.clone();
            }
            if p.last_event() >= self.clock.horizon {
                break;
            }
            let end = p.end;
            let outcome = p.outcome;
            let this = out.len();
            let referred_to = p.referred_to.clone();
            let was_web = channel == Channel::Web;
            out.push(p);
            // What follows, as the outcome leads a citizen or the organisation to act.
            let r = self.rng.unit();
            let hours =
                |rng: &mut Rng, lo: i64, hi: i64| TimeDelta::minutes(rng.range(lo * 60, hi * 60));
            case_of = None;
            direction = Direction::Inbound;
            match outcome {
                Outcome::Resolved if was_web && r < 0.2 => {
                    // Self-service did not really help: the citizen phones (a hop).
                    channel = Channel::Phone;
                    start = end + hours(self.rng, 1, 40);
                }
                Outcome::Resolved if r < 0.08 => {
                    // Back within the repeat window.
                    channel = first_channel(self.rng);
                    start = end + hours(self.rng, 12, 140);
                }
                Outcome::Resolved => break,
                Outcome::Referred => {
                    if r > 0.65 {
                        break;
                    }
                    match referred_to {
                        Some(ReferralTarget::Department(d)) => {
                            // Sent on; there, sometimes sent back: a loop.
                            refer_back = self.rng.chance(0.6).then(|| department.clone());
                            department = d;
                        }
                        Some(ReferralTarget::Channel(c)) => channel = c,
                        _ => {}
                    }
                    if !matches!(channel, Channel::Web) && self.rng.chance(0.5) {
                        channel = Channel::Phone;
                    }
                    start = end + hours(self.rng, 0, 72);
                }
                Outcome::Callback => {
                    case_of = Some(this);
                    direction = Direction::Outbound;
                    channel = Channel::Phone;
                    start = if r < 0.75 {
                        // Kept: within the working day it was promised for.
                        end + hours(self.rng, 1, 6)
                    } else if r < 0.85 {
                        // Missed: called back days late.
                        end + hours(self.rng, 40, 120)
                    } else {
                        // Never called back: the citizen calls again.
                        case_of = None;
                        direction = Direction::Inbound;
                        end + hours(self.rng, 26, 96)
                    };
                }
                Outcome::HandedOff => {
                    if r < 0.55 {
                        case_of = Some(this);
                        direction = Direction::Outbound;
                        channel = if self.rng.chance(0.6) {
                            Channel::Phone
                        } else {
                            Channel::Email
                        };
                        department = back_office.clone();
                        start = end + hours(self.rng, 20, 160);
                    } else if r < 0.75 {
                        channel = first_channel(self.rng);
                        start = end + hours(self.rng, 48, 240);
                    } else {
                        break;
                    }
                }
                Outcome::Abandoned => {
                    if r > 0.7 {
                        break;
                    }
                    start = end + TimeDelta::minutes(self.rng.range(2, 90));
                }
            }
        }
        out
    }

    /// One contact as its channel would report it.
    fn contact(
        &mut self,
        who: &Citizen,
        channel: Channel,
        direction: Direction,
        start: Instant,
        topic: &Code,
        department: &Code,
    ) -> Planned {
        let rng = &mut *self.rng;
        let outcome = outcome_for(rng, channel, direction, true);
        let abandoned = outcome == Outcome::Abandoned;
        let secs = |rng: &mut Rng, lo: i64, hi: i64| TimeDelta::seconds(rng.range(lo, hi));
        let (answered, end) = match (channel, abandoned) {
            (Channel::Phone, true) => (None, start + secs(rng, 2, 240)),
            (Channel::Counter, true) => (None, start + secs(rng, 300, 2400)),
            (Channel::Phone, false) => {
                let wait = match rng.range(0, 99) {
                    0..=69 => secs(rng, 3, 25),
                    70..=94 => secs(rng, 26, 180),
                    _ => secs(rng, 181, 900),
                };
                let wait = if direction == Direction::Outbound {
                    secs(rng, 3, 20)
                } else {
                    wait
                };
                let answered = start + wait;
                (Some(answered), answered + secs(rng, 60, 900))
            }
            (Channel::Counter, false) => {
                let wait = if rng.chance(0.8) {
                    secs(rng, 30, 900)
                } else {
                    secs(rng, 901, 2700)
                };
                let answered = start + wait;
                (Some(answered), answered + secs(rng, 240, 1500))
            }
            // Written channels: answered when the reply goes out.
            (_, _) => {
                let reply = match rng.range(0, 99) {
                    0..=59 => secs(rng, 600, 8 * 3600),
                    60..=89 => secs(rng, 8 * 3600, 48 * 3600),
                    _ => secs(rng, 48 * 3600, 9 * 24 * 3600),
                };
                (None, start + reply)
            }
        };
        let topic_known_at_start = match channel {
            Channel::Phone => rng.chance(0.4),
            Channel::Counter => rng.chance(0.8),
            Channel::Email => rng.chance(0.3),
            Channel::Web => true,
        };
        let topic_at_start = topic_known_at_start.then(|| topic.clone());
        let topic_at_end =
            (!topic_known_at_start && (!abandoned || rng.chance(0.2))).then(|| topic.clone());
        let department_at_start = match channel {
            Channel::Phone | Channel::Counter => Some(department.clone()),
            _ => rng.chance(0.5).then(|| department.clone()),
        };
        let handling = (!abandoned).then(|| department.clone());
        let story = (!abandoned && rng.chance(0.75)).then(|| rng.pick(STORIES).to_string());
        let referred_to = (outcome == Outcome::Referred).then(|| match rng.range(0, 99) {
            0..=69 => {
                let (_, d, _) = *rng.pick(TOPICS);
                let d = code(d);
                if &d == department {
                    ReferralTarget::Department(code("kcc"))
                } else {
                    ReferralTarget::Department(d)
                }
            }
            70..=84 => ReferralTarget::Organisation(rng.pick(ORGANISATIONS).to_string()),
            _ => ReferralTarget::Channel(if channel == Channel::Web {
                Channel::Phone
            } else {
                Channel::Web
            }),
        });
        let recorded = (matches!(channel, Channel::Phone | Channel::Counter)
            && direction == Direction::Inbound
            && rng.chance(0.06))
        .then(|| (end + secs(rng, 300, 86_400), rng.chance(0.6)));
        let feedback = (!abandoned && rng.chance(0.12)).then(|| {
            let score = rng.weighted(&[(5u8, 35), (4, 35), (3, 15), (2, 8), (1, 7)]);
            let effort =
                rng.weighted(&[(1u8, 25), (2, 25), (3, 18), (4, 12), (5, 9), (6, 6), (7, 5)]);
            let comment = rng.chance(0.2).then(|| rng.pick(COMMENTS).to_string());
            let at = recorded.map_or(end, |(r, _)| r) + secs(rng, 600, 2 * 86_400);
            (
                at,
                Feedback {
                    score,
                    effort,
                    story_repeated: rng.chance(0.1),
                    comment,
                },
            )
        });
        let story_repeated = rng.chance(0.08);
        let identifiers = self.identifiers(who, channel, start);
        Planned {
            channel,
            direction,
            start,
            answered,
            end,
            identifiers,
            case_of: None,
            case_reference: None,
            topic_at_start,
            topic_at_end,
            department_at_start,
            department: handling,
            outcome,
            story,
            referred_to,
            story_repeated,
            recorded,
            feedback,
        }
    }

    /// A contact without identifiers (a passer-by at the counter, a caller who gives no
    /// name).
    pub fn anonymous(&mut self) -> Option<Planned> {
        let rng = &mut *self.rng;
        let channel = rng.weighted(&[
            (Channel::Phone, 50),
            (Channel::Counter, 30),
            (Channel::Web, 10),
            (Channel::Email, 10),
        ]);
        let (topic_raw, dept_raw, _) = *rng.pick(TOPICS);
        let topic = code(topic_raw);
        let department = if rng.chance(0.8) {
            code("kcc")
        } else {
            code(dept_raw)
        };
        let day = self.clock.matter_day(self.rng, channel);
        let start = self.clock.time_on(self.rng, day, channel);
        let who = Citizen {
            identity: Identity::WeakOnly,
            bsn: None,
            phone: IdentKey {
                kind: midoffice_domain::identifier::IdentifierKind::Phone,
                hash: String::new(),
                display: None,
            },
            email: IdentKey {
                kind: midoffice_domain::identifier::IdentifierKind::Email,
                hash: String::new(),
                display: None,
            },
            join: None,
        };
        let mut p = self.contact(
            &who,
            channel,
            Direction::Inbound,
            start,
            &topic,
            &department,
        );
        p.identifiers.clear();
        p.feedback = None;
        if p.outcome == Outcome::Callback {
            // A callback needs someone to call.
            p.outcome = Outcome::Resolved;
        }
        (p.last_event() < self.clock.horizon).then_some(p)
    }
}
