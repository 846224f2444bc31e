//! The published, versioned definition of every benchmark metric: one registry, so a
//! figure always travels with its definition (its id and version).
//!
//! A definition never changes once published: a change of what is counted is a new
//! version, and figures of different versions are never compared.

use crate::Code;
use crate::contact::Channel;
use crate::settings::{Measure, Norm, TenantSettings, Within};

/// What a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// `numerator / denominator`, from 0 to 1 (shown as a percentage).
    Share,
    /// The mean of answers on a scale, `numerator / denominator` between `min` and `max`.
    Mean { min: u8, max: u8 },
    /// `1000 × numerator / denominator`: per 1,000 inhabitants (or stated population).
    PerThousandInhabitants,
}

/// Which way is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
    /// A volume: neither more nor less is better.
    Neither,
}

/// What a value's items are: the floor of the items it must rest on follows from it
/// (`crate::benchmark::Disclosure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// Contacts, cases, follow-ups or commitments: registrations of contacts.
    Contacts,
    /// Satisfaction answers.
    Answers,
}

/// Where a participant's counts come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Basis {
    /// `met / items` of a norm with this measure, computed by `figures::thermometer`
    /// with [`settings_for`] (the benchmark's norm under the metric's id).
    Norm(Measure),
    /// Cases counted for first-contact resolution / those resolved in it
    /// (`FigureCounts::first_contact_resolution`).
    FirstContactResolution,
    /// Contacts with a case / those that carry `REPEAT_CONTACT`.
    RepeatContacts,
    /// Completed, not abandoned contacts / those `REFERRED`.
    Referrals,
    /// Follow-ups / those in which the story was told again.
    RepeatedStories,
    /// Contacts / those that carry `CHANNEL_HOP`.
    ChannelHops,
    /// Satisfaction answers / the sum of their scores.
    Satisfaction,
    /// Contacts per 1,000 inhabitants.
    ContactsPerThousand,
    /// Cases per 1,000 inhabitants.
    CasesPerThousand,
}

/// One metric's published definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    /// A code, stable across versions.
    pub id: &'static str,
    /// From 1; a new version for every change of what is counted.
    pub version: u32,
    pub title_nl: &'static str,
    pub title_en: &'static str,
    /// What is counted above the line.
    pub numerator: &'static str,
    /// What is counted below the line.
    pub denominator: &'static str,
    pub unit: Unit,
    pub direction: Direction,
    pub items: ItemKind,
    /// The least items a participant's value must rest on to be shown (never below the
    /// floor of its kind; a deployment may ask for more).
    pub min_items: u64,
    pub basis: Basis,
}

/// A metric's id and version, as a figure carries it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricRef {
    pub id: String,
    pub version: u32,
}

impl Metric {
    pub fn reference(&self) -> MetricRef {
        MetricRef {
            id: self.id.to_owned(),
            version: self.version,
        }
    }

    /// The value of counts: `None` with nothing to divide by.
    pub fn value(&self, numerator: u64, denominator: u64) -> Option<f64> {
        if denominator == 0 {
            return None;
        }
        let v = numerator as f64 / denominator as f64;
        Some(match self.unit {
            Unit::PerThousandInhabitants => 1000.0 * v,
            Unit::Share | Unit::Mean { .. } => v,
        })
    }
}

/// The repeat window of every participant's benchmark figures (as the default of a
/// tenant): 7 days.
pub const REPEAT_WINDOW_SECS: i64 = 7 * 24 * 3600;
/// The channel-hop window of every participant's benchmark figures: 48 hours.
pub const CHANNEL_HOP_WINDOW_SECS: i64 = 48 * 3600;

/// Every metric, in the order they are shown. Ids are unique codes; each id appears
/// in one version only (the current one).
pub fn metrics() -> Vec<Metric> {
    use Basis::*;
    use Direction::*;
    use ItemKind::*;
    let share = Unit::Share;
    let norm = |id, title_nl, title_en, numerator, denominator, measure| Metric {
        id,
        version: 1,
        title_nl,
        title_en,
        numerator,
        denominator,
        unit: share,
        direction: HigherIsBetter,
        items: Contacts,
        min_items: MIN_CONTACTS_FLOOR,
        basis: Norm(measure),
    };
    let answered = |channel: Channel, within: Within| Measure::ResponseTime { channel, within };
    vec![
        norm(
            "phone-answered-20s",
            "Telefoon binnen 20 seconden opgenomen",
            "Phone answered within 20 seconds",
            "inbound phone contacts answered within 20 seconds of their start",
            "inbound phone contacts, less a call abandoned within 5 seconds; one not answered \
             yet counts once 20 seconds have passed",
            answered(Channel::Phone, Within::Elapsed(20)),
        ),
        norm(
            "counter-served-15m",
            "Balie binnen 15 minuten geholpen",
            "Counter served within 15 minutes",
            "inbound counter contacts answered within 15 minutes of their start",
            "inbound counter contacts, less one abandoned within 5 seconds",
            answered(Channel::Counter, Within::Elapsed(15 * 60)),
        ),
        norm(
            "email-answered-2wd",
            "E-mail binnen 2 werkdagen beantwoord",
            "E-mail answered within 2 working days",
            "inbound e-mail contacts answered within 2 working days (the participant's calendar)",
            "inbound e-mail contacts, less one abandoned within 5 seconds",
            answered(Channel::Email, Within::WorkingDays(2)),
        ),
        norm(
            "referred-at-most-once",
            "Hoogstens één keer doorverwezen",
            "Referred at most once",
            "cases with a contact in the period referred at most once in all",
            "cases with a contact in the period",
            Measure::ReferredAtMost { max: 1 },
        ),
        norm(
            "referred-at-most-twice",
            "Hoogstens twee keer doorverwezen",
            "Referred at most twice",
            "cases with a contact in the period referred at most twice in all",
            "cases with a contact in the period",
            Measure::ReferredAtMost { max: 2 },
        ),
        norm(
            "story-told-once",
            "Verhaal maar één keer verteld",
            "Story told only once",
            "follow-ups in the period in which the citizen did not have to tell the story again",
            "follow-ups in the period whose completion is known",
            Measure::StoryToldOnce,
        ),
        norm(
            "commitments-on-time",
            "Afspraken op tijd nagekomen",
            "Commitments kept on time",
            "commitments due in the period fulfilled by their due time",
            "commitments due in the period, fulfilled or overdue",
            Measure::CommitmentOnTime { within: None },
        ),
        Metric {
            id: "first-contact-resolution",
            version: 1,
            title_nl: "In één keer opgelost",
            title_en: "First-contact resolution",
            numerator: "cases resolved in their first contact that was not abandoned, with no \
                        repeat contact within 7 days",
            denominator: "cases whose first contact that was not abandoned started in the \
                          period and is complete",
            unit: share,
            direction: HigherIsBetter,
            items: Contacts,
            min_items: MIN_CONTACTS_FLOOR,
            basis: FirstContactResolution,
        },
        Metric {
            id: "repeat-contact-rate",
            version: 1,
            title_nl: "Herhaalcontact",
            title_en: "Repeat contact rate",
            numerator: "contacts on a case with an earlier contact on it within 7 days",
            denominator: "contacts started in the period that are on a case",
            unit: share,
            direction: LowerIsBetter,
            items: Contacts,
            min_items: MIN_CONTACTS_FLOOR,
            basis: RepeatContacts,
        },
        Metric {
            id: "referral-rate",
            version: 1,
            title_nl: "Doorverwezen",
            title_en: "Referral rate",
            numerator: "contacts that ended REFERRED",
            denominator: "contacts started in the period that completed with an outcome \
                          other than ABANDONED",
            unit: share,
            direction: LowerIsBetter,
            items: Contacts,
            min_items: MIN_CONTACTS_FLOOR,
            basis: Referrals,
        },
        Metric {
            id: "repeat-story-rate",
            version: 1,
            title_nl: "Verhaal opnieuw verteld",
            title_en: "Repeat-story rate",
            numerator: "follow-ups in which the citizen had to tell the story again",
            denominator: "follow-ups started in the period whose completion is known",
            unit: share,
            direction: LowerIsBetter,
            items: Contacts,
            min_items: MIN_CONTACTS_FLOOR,
            basis: RepeatedStories,
        },
        Metric {
            id: "channel-hop-rate",
            version: 1,
            title_nl: "Kanaalwissel",
            title_en: "Channel-hop rate",
            numerator: "contacts on another channel than an earlier contact on the same case \
                        within 48 hours",
            denominator: "contacts started in the period, anonymous and abandoned included",
            unit: share,
            direction: LowerIsBetter,
            items: Contacts,
            min_items: MIN_CONTACTS_FLOOR,
            basis: ChannelHops,
        },
        Metric {
            id: "satisfaction",
            version: 1,
            title_nl: "Tevredenheid",
            title_en: "Satisfaction",
            numerator: "the sum of the scores (1 to 5) of the satisfaction answers",
            denominator: "satisfaction answers for contacts started in the period",
            unit: Unit::Mean { min: 1, max: 5 },
            direction: HigherIsBetter,
            items: Answers,
            min_items: MIN_ANSWERS_FLOOR,
            basis: Satisfaction,
        },
        Metric {
            id: "contacts-per-1000",
            version: 1,
            title_nl: "Contacten per 1.000 inwoners",
            title_en: "Contacts per 1,000 inhabitants",
            numerator: "contacts started in the period, anonymous and abandoned included",
            denominator: "inhabitants (or the stated population) as registered for the period",
            unit: Unit::PerThousandInhabitants,
            direction: Neither,
            items: Contacts,
            min_items: MIN_CONTACTS_FLOOR,
            basis: ContactsPerThousand,
        },
        Metric {
            id: "cases-per-1000",
            version: 1,
            title_nl: "Zaken per 1.000 inwoners",
            title_en: "Cases per 1,000 inhabitants",
            numerator: "distinct cases with a contact started in the period",
            denominator: "inhabitants (or the stated population) as registered for the period",
            unit: Unit::PerThousandInhabitants,
            direction: Neither,
            items: Contacts,
            min_items: MIN_CONTACTS_FLOOR,
            basis: CasesPerThousand,
        },
    ]
}

/// The metric of an id and version, if it is in the registry.
pub fn metric(reference: &MetricRef) -> Option<Metric> {
    metrics()
        .into_iter()
        .find(|m| m.id == reference.id && m.version == reference.version)
}

/// The least contacts (or cases, follow-ups, commitments) a shown value rests on.
pub const MIN_CONTACTS_FLOOR: u64 = 30;
/// The least satisfaction answers a shown value rests on.
pub const MIN_ANSWERS_FLOOR: u64 = 50;

/// The norms the benchmark measures, each under its metric's id (targets play no part).
pub fn norms() -> Vec<Norm> {
    metrics()
        .into_iter()
        .filter_map(|m| match m.basis {
            Basis::Norm(measure) => Some(Norm {
                id: Code::parse(m.id)
                    .unwrap_or_else(|_| unreachable!("metric id {} is a code", m.id)),
                title: m.title_nl.to_owned(),
                measure,
                target_percent: 0,
                explanation: None,
                published: false,
            }),
            _ => None,
        })
        .collect()
}

/// The settings a participant's benchmark figures are computed with: its own calendar
/// (holidays, closing days, time zone) and everything else of its own, but the
/// benchmark's norms and windows, so that every participant counts the same way. Its
/// own rollups (built with its own settings) answer them only when these agree.
pub fn settings_for(tenant: &TenantSettings) -> TenantSettings {
    TenantSettings {
        norms: norms(),
        repeat_window_secs: REPEAT_WINDOW_SECS,
        channel_hop_window_secs: CHANNEL_HOP_WINDOW_SECS,
        ..tenant.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_codes_with_one_version_each() {
        let all = metrics();
        let ids: BTreeSet<&str> = all.iter().map(|m| m.id).collect();
        assert_eq!(ids.len(), all.len());
        for m in &all {
            assert!(Code::parse(m.id).is_ok(), "{}", m.id);
            assert!(m.version >= 1);
            assert!(!m.title_nl.is_empty() && !m.title_en.is_empty());
            assert!(!m.numerator.is_empty() && !m.denominator.is_empty());
            assert_eq!(metric(&m.reference()).as_ref(), Some(m));
        }
        assert_eq!(
            metric(&MetricRef {
                id: "satisfaction".into(),
                version: 2
            }),
            None
        );
    }

    #[test]
    fn no_metric_asks_for_fewer_items_than_the_floor_of_its_kind() {
        for m in metrics() {
            let floor = match m.items {
                ItemKind::Contacts => MIN_CONTACTS_FLOOR,
                ItemKind::Answers => MIN_ANSWERS_FLOOR,
            };
            assert!(m.min_items >= floor, "{}", m.id);
        }
        assert_eq!(
            metric(&MetricRef {
                id: "satisfaction".into(),
                version: 1
            })
            .map(|m| m.min_items),
            Some(50)
        );
    }

    #[test]
    fn values_follow_the_unit_and_a_zero_denominator_is_no_value() {
        let by_id = |id: &str| metrics().into_iter().find(|m| m.id == id).unwrap();
        assert_eq!(by_id("referral-rate").value(1, 4), Some(0.25));
        assert_eq!(by_id("satisfaction").value(180, 50), Some(3.6));
        assert_eq!(by_id("contacts-per-1000").value(500, 20_000), Some(25.0));
        assert_eq!(by_id("referral-rate").value(0, 0), None);
        assert_eq!(by_id("contacts-per-1000").value(5, 0), None);
    }

    #[test]
    fn the_benchmark_settings_keep_the_calendar_and_fix_norms_and_windows() {
        let mut tenant = TenantSettings {
            repeat_window_secs: 3 * 24 * 3600,
            channel_hop_window_secs: 3600,
            retention_months: 12,
            ..TenantSettings::default()
        };
        tenant.norms.truncate(1);
        let s = settings_for(&tenant);
        assert_eq!(s.calendar, tenant.calendar);
        assert_eq!(s.retention_months, 12);
        assert_eq!(s.repeat_window_secs, REPEAT_WINDOW_SECS);
        assert_eq!(s.channel_hop_window_secs, CHANNEL_HOP_WINDOW_SECS);
        let ids: Vec<&str> = s.norms.iter().map(|n| n.id.as_str()).collect();
        let norm_metrics: Vec<&str> = metrics()
            .into_iter()
            .filter(|m| matches!(m.basis, Basis::Norm(_)))
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, norm_metrics);
        assert!(s.validate().is_ok());
    }
}
