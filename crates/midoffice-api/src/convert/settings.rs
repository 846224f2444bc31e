//! A tenant's settings: norms with explanations, the calendar and the windows.
//!
//! Inbound field paths are relative to the settings message (`norms[0].target`,
//! `calendar.time_zone`); the service prefixes them with `settings`.

use super::{channel, collect, date, nested, pb_date, required, take};
use crate::pb;
use midoffice_domain::calendar::{Calendar, HolidaySet};
use midoffice_domain::limits::MAX_CLOSING_DAYS;
use midoffice_domain::processing::{ProcessingActivities, ProcessingKind};
use midoffice_domain::settings::{
    BenchmarkSettings, DEFAULT_CHANNEL_HOP_WINDOW_SECS, DEFAULT_REPEAT_WINDOW_SECS,
    DEFAULT_RETENTION_MONTHS, Measure, Norm, PublicPage, TenantSettings, Within, default_title,
    target_percent,
};
use midoffice_domain::text::check_characters;
use midoffice_domain::{Code, Violations};
use std::collections::BTreeSet;

impl TryFrom<&pb::TenantSettings> for TenantSettings {
    type Error = Violations;

    /// Converts and validates ([`TenantSettings::validate`]) the settings.
    fn try_from(s: &pb::TenantSettings) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let norms: Vec<Option<Norm>> = s
            .norms
            .iter()
            .enumerate()
            .map(|(i, n)| norm(n, i, &mut v))
            .collect();
        let calendar = match &s.calendar {
            None => Some(Calendar::default()),
            Some(c) => calendar(c, &mut v),
        };
        let repeat_window = take(
            window(s.repeat_window.as_ref(), DEFAULT_REPEAT_WINDOW_SECS),
            "repeat_window",
            &mut v,
        );
        let channel_hop_window = take(
            window(
                s.channel_hop_window.as_ref(),
                DEFAULT_CHANNEL_HOP_WINDOW_SECS,
            ),
            "channel_hop_window",
            &mut v,
        );
        let benchmark = match &s.benchmark {
            None => Some(BenchmarkSettings::default()),
            Some(b) => take(
                Code::parse_optional(b.peer_group.trim()),
                "benchmark.peer_group",
                &mut v,
            )
            .map(|peer_group| BenchmarkSettings {
                opted_in: b.opted_in,
                size: b.size,
                stated_population: b.stated_population,
                peer_group,
                named: b.named,
            }),
        };
        let (
            Some(calendar),
            Some(repeat_window_secs),
            Some(channel_hop_window_secs),
            Some(benchmark),
            true,
        ) = (
            calendar,
            repeat_window,
            channel_hop_window,
            benchmark,
            v.is_empty(),
        )
        else {
            return Err(v);
        };
        // Empty, or the default sent back as it was answered, is the default.
        let uri = |s: &str, kind: ProcessingKind| {
            (!s.is_empty() && s != kind.default_activity()).then(|| s.to_owned())
        };
        let processing_activities = s
            .processing_activities
            .as_ref()
            .map(|a| ProcessingActivities {
                context_read: uri(&a.context_read, ProcessingKind::ContextRead),
                contact_read: uri(&a.contact_read, ProcessingKind::ContactRead),
                erase: uri(&a.erase, ProcessingKind::Erase),
                contact_recording: uri(&a.contact_recording, ProcessingKind::ContactRecording),
                access_request: uri(&a.access_request, ProcessingKind::AccessRequest),
            })
            .unwrap_or_default();
        // Empty is unset; surrounding spaces are not part of a name or URL.
        let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let public_page = s
            .public_page
            .as_ref()
            .map(|p| PublicPage {
                published: p.published,
                display_name: text(&p.display_name),
                logo_url: text(&p.logo_url),
                accessibility_statement_url: text(&p.accessibility_statement_url),
                primary_colour: text(&p.primary_colour),
                design_tokens: p
                    .design_tokens
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            })
            .unwrap_or_default();
        let settings = TenantSettings {
            norms: norms.into_iter().flatten().collect(),
            calendar,
            repeat_window_secs,
            channel_hop_window_secs,
            processing_activities,
            // 0 is absent: the default (proto3 scalars have no presence).
            retention_months: match s.retention_months {
                0 => DEFAULT_RETENTION_MONTHS,
                m => m,
            },
            public_page,
            benchmark,
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// One norm; records violations under `norms[i]`. Title and explanation are public
/// text: no control characters here, their lengths in [`TenantSettings::validate`].
fn norm(n: &pb::Norm, i: usize, v: &mut Violations) -> Option<Norm> {
    let f = |field: &str| format!("norms[{i}].{field}");
    let id = take(Code::parse(&n.id), f("id"), v);
    let target = take(target_percent(n.target), f("target"), v);
    let measure = collect(v, required(&f("measure"), n.measure.as_ref(), measure));
    let title_ok = take(check_characters(&n.title), f("title"), v);
    let explanation_ok = take(check_characters(&n.explanation), f("explanation"), v);
    let (id, target_percent, measure, (), ()) =
        (id?, target?, measure?, title_ok?, explanation_ok?);
    let title = if n.title.trim().is_empty() {
        default_title(&measure)
    } else {
        n.title.trim().to_owned()
    };
    let explanation = (!n.explanation.trim().is_empty()).then(|| n.explanation.trim().to_owned());
    Some(Norm {
        id,
        title,
        measure,
        target_percent,
        explanation,
        // Absent is published, as a norm was before publishing was a choice.
        published: n.published.unwrap_or(true),
    })
}

/// The measure: exactly one kind, with the parts that kind has. Paths are relative to
/// the measure (`response_time.within`).
fn measure(m: &pb::Measure) -> Result<Measure, Violations> {
    use pb::measure::Kind;
    let mut v = Violations::default();
    let measure = match &m.kind {
        None => {
            v.add(
                "",
                "give one of response_time, first_contact_resolution, referred_at_most, \
                 story_told_once or commitment_on_time",
            );
            None
        }
        Some(Kind::ResponseTime(r)) => {
            let channel = take(channel(r.channel), "response_time.channel", &mut v);
            let within = collect(
                &mut v,
                required("response_time.within", r.within.as_ref(), within),
            );
            match (channel, within) {
                (Some(channel), Some(within)) => Some(Measure::ResponseTime { channel, within }),
                _ => None,
            }
        }
        Some(Kind::FirstContactResolution(_)) => Some(Measure::FirstContactResolution),
        Some(Kind::ReferredAtMost(r)) => Some(Measure::ReferredAtMost { max: r.max }),
        Some(Kind::StoryToldOnce(_)) => Some(Measure::StoryToldOnce),
        Some(Kind::CommitmentOnTime(c)) => match &c.within {
            None => Some(Measure::CommitmentOnTime { within: None }),
            Some(w) => collect(&mut v, nested("commitment_on_time.within", within(w)))
                .map(|w| Measure::CommitmentOnTime { within: Some(w) }),
        },
    };
    match measure {
        Some(m) if v.is_empty() => Ok(m),
        _ => Err(v),
    }
}

/// A threshold. Ranges are checked by [`TenantSettings::validate`].
fn within(w: &pb::Within) -> Result<Within, Violations> {
    match &w.within {
        None => Err(Violations::one("", "give elapsed or working_days")),
        Some(pb::within::Within::Elapsed(d)) => whole_seconds(d)
            .map(Within::Elapsed)
            .map_err(|why| Violations::one("elapsed", why)),
        Some(pb::within::Within::WorkingDays(n)) => Ok(Within::WorkingDays(*n)),
    }
}
fn whole_seconds(d: &prost_types::Duration) -> Result<i64, String> {
    if d.nanos != 0 {
        Err("must be a whole number of seconds".into())
    } else {
        Ok(d.seconds)
    }
}

/// A window in seconds: unset is the default. Ranges are checked by `validate`.
fn window(d: Option<&prost_types::Duration>, default: i64) -> Result<i64, String> {
    d.map_or(Ok(default), whole_seconds)
}

/// The calendar: an empty time zone is Europe/Amsterdam, UNSPECIFIED holidays are NL.
fn calendar(c: &pb::Calendar, v: &mut Violations) -> Option<Calendar> {
    let time_zone = if c.time_zone.trim().is_empty() {
        Some(chrono_tz::Europe::Amsterdam)
    } else {
        take(
            c.time_zone
                .trim()
                .parse::<chrono_tz::Tz>()
                .map_err(|_| "is not a known IANA time zone such as Europe/Amsterdam".to_owned()),
            "calendar.time_zone",
            v,
        )
    };
    let holidays = take(
        match pb::HolidaySet::try_from(c.holidays) {
            Ok(pb::HolidaySet::Unspecified | pb::HolidaySet::Nl) => Ok(HolidaySet::Nl),
            Ok(pb::HolidaySet::Be) => Ok(HolidaySet::Be),
            Err(_) => Err("is not a known holiday set: NL or BE".to_owned()),
        },
        "calendar.holidays",
        v,
    );
    if c.closing_days.len() > MAX_CLOSING_DAYS {
        v.add(
            "calendar.closing_days",
            format!("at most {MAX_CLOSING_DAYS} closing days"),
        );
        return None;
    }
    let mut closing_days = BTreeSet::new();
    let mut all_valid = true;
    for (i, d) in c.closing_days.iter().enumerate() {
        match take(date(d), format!("calendar.closing_days[{i}]"), v) {
            Some(d) => {
                closing_days.insert(d);
            }
            None => all_valid = false,
        }
    }
    Some(Calendar {
        time_zone: time_zone?,
        holidays: holidays?,
        closing_days,
    })
    .filter(|_| all_valid)
}

impl From<&TenantSettings> for pb::TenantSettings {
    fn from(s: &TenantSettings) -> Self {
        pb::TenantSettings {
            norms: s.norms.iter().map(pb::Norm::from).collect(),
            calendar: Some(pb::Calendar::from(&s.calendar)),
            repeat_window: Some(duration(s.repeat_window_secs)),
            channel_hop_window: Some(duration(s.channel_hop_window_secs)),
            processing_activities: Some(pb::ProcessingActivities {
                context_read: s.processing_activities.uri(ProcessingKind::ContextRead),
                contact_read: s.processing_activities.uri(ProcessingKind::ContactRead),
                erase: s.processing_activities.uri(ProcessingKind::Erase),
                contact_recording: s
                    .processing_activities
                    .uri(ProcessingKind::ContactRecording),
                access_request: s.processing_activities.uri(ProcessingKind::AccessRequest),
            }),
            retention_months: s.retention_months,
            public_page: Some(pb::PublicPage {
                published: s.public_page.published,
                display_name: s.public_page.display_name.clone().unwrap_or_default(),
                logo_url: s.public_page.logo_url.clone().unwrap_or_default(),
                accessibility_statement_url: s
                    .public_page
                    .accessibility_statement_url
                    .clone()
                    .unwrap_or_default(),
                primary_colour: s.public_page.primary_colour.clone().unwrap_or_default(),
                design_tokens: s
                    .public_page
                    .design_tokens
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }),
            benchmark: Some(pb::BenchmarkParticipation {
                opted_in: s.benchmark.opted_in,
                size: s.benchmark.size,
                stated_population: s.benchmark.stated_population,
                peer_group: s
                    .benchmark
                    .peer_group
                    .as_ref()
                    .map(|g| g.as_str().to_owned())
                    .unwrap_or_default(),
                named: s.benchmark.named,
            }),
        }
    }
}

fn duration(seconds: i64) -> prost_types::Duration {
    prost_types::Duration { seconds, nanos: 0 }
}

impl From<&Calendar> for pb::Calendar {
    fn from(c: &Calendar) -> Self {
        pb::Calendar {
            time_zone: c.time_zone.name().to_owned(),
            holidays: match c.holidays {
                HolidaySet::Nl => pb::HolidaySet::Nl,
                HolidaySet::Be => pb::HolidaySet::Be,
            } as i32,
            closing_days: c.closing_days.iter().copied().map(pb_date).collect(),
        }
    }
}

impl From<Within> for pb::Within {
    fn from(w: Within) -> Self {
        pb::Within {
            within: Some(match w {
                Within::Elapsed(s) => pb::within::Within::Elapsed(duration(s)),
                Within::WorkingDays(n) => pb::within::Within::WorkingDays(n),
            }),
        }
    }
}

impl From<&Measure> for pb::Measure {
    fn from(m: &Measure) -> Self {
        use pb::measure::{self as kind, Kind};
        let kind = match m {
            Measure::ResponseTime { channel, within } => Kind::ResponseTime(kind::ResponseTime {
                channel: pb::Channel::from(*channel) as i32,
                within: Some(pb::Within::from(*within)),
            }),
            Measure::FirstContactResolution => {
                Kind::FirstContactResolution(kind::FirstContactResolution {})
            }
            Measure::ReferredAtMost { max } => {
                Kind::ReferredAtMost(kind::ReferredAtMost { max: *max })
            }
            Measure::StoryToldOnce => Kind::StoryToldOnce(kind::StoryToldOnce {}),
            Measure::CommitmentOnTime { within } => {
                Kind::CommitmentOnTime(kind::CommitmentOnTime {
                    within: within.map(pb::Within::from),
                })
            }
        };
        pb::Measure { kind: Some(kind) }
    }
}

impl From<&Norm> for pb::Norm {
    fn from(n: &Norm) -> Self {
        pb::Norm {
            id: n.id.to_string(),
            title: n.title.clone(),
            measure: Some(pb::Measure::from(&n.measure)),
            target: f64::from(n.target_percent) / 100.0,
            explanation: n.explanation.clone().unwrap_or_default(),
            published: Some(n.published),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: &Violations) -> Vec<&str> {
        v.0.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn the_defaults_round_trip() {
        let defaults = TenantSettings::default();
        let proto = pb::TenantSettings::from(&defaults);
        assert_eq!(proto.norms[0].target, 0.8);
        assert_eq!(
            proto.calendar.as_ref().unwrap().time_zone,
            "Europe/Amsterdam"
        );
        assert_eq!(TenantSettings::try_from(&proto), Ok(defaults));
    }

    #[test]
    fn an_empty_message_is_the_default_calendar_and_windows_without_norms() {
        let s = TenantSettings::try_from(&pb::TenantSettings::default()).unwrap();
        assert!(s.norms.is_empty());
        assert_eq!(s.calendar, Calendar::default());
        assert_eq!(s.repeat_window_secs, DEFAULT_REPEAT_WINDOW_SECS);
        assert_eq!(s.channel_hop_window_secs, DEFAULT_CHANNEL_HOP_WINDOW_SECS);
    }

    fn response_time(channel: pb::Channel, within: Option<Within>) -> Option<pb::Measure> {
        Some(pb::Measure {
            kind: Some(pb::measure::Kind::ResponseTime(pb::measure::ResponseTime {
                channel: channel as i32,
                within: within.map(pb::Within::from),
            })),
        })
    }

    #[test]
    fn titles_default_and_targets_round() {
        let proto = pb::TenantSettings {
            norms: vec![pb::Norm {
                id: "phone".into(),
                measure: response_time(pb::Channel::Phone, Some(Within::Elapsed(30))),
                target: 0.825,
                ..Default::default()
            }],
            ..Default::default()
        };
        let s = TenantSettings::try_from(&proto).unwrap();
        assert_eq!(s.norms[0].target_percent, 83);
        assert_eq!(
            s.norms[0].title,
            "We nemen de telefoon op binnen 30 seconden"
        );
        assert_eq!(s.norms[0].explanation, None);
    }

    #[test]
    fn every_measure_round_trips_through_its_oneof() {
        let measures = [
            Measure::ResponseTime {
                channel: midoffice_domain::contact::Channel::Email,
                within: Within::WorkingDays(2),
            },
            Measure::FirstContactResolution,
            Measure::ReferredAtMost { max: 3 },
            Measure::StoryToldOnce,
            Measure::CommitmentOnTime { within: None },
            Measure::CommitmentOnTime {
                within: Some(Within::Elapsed(3600)),
            },
        ];
        for m in measures {
            let proto = pb::Measure::from(&m);
            assert_eq!(measure(&proto), Ok(m));
        }
    }

    #[test]
    fn a_norm_is_published_unless_it_says_not_and_a_page_only_when_it_says_so() {
        let mut proto = pb::TenantSettings::from(&TenantSettings::default());
        assert!(proto.norms.iter().all(|n| n.published == Some(true)));
        assert_eq!(proto.public_page.as_ref().map(|p| p.published), Some(false));
        proto.norms[0].published = None;
        proto.norms[1].published = Some(false);
        let s = TenantSettings::try_from(&proto).unwrap();
        assert!(s.norms[0].published && !s.norms[1].published && s.norms[2].published);
        assert!(!s.public_page.published);
        proto.public_page = Some(pb::PublicPage {
            published: true,
            ..Default::default()
        });
        let s = TenantSettings::try_from(&proto).unwrap();
        assert!(s.public_page.published);
        let back = pb::TenantSettings::from(&s);
        assert_eq!(back.norms[1].published, Some(false));
        assert_eq!(back.public_page.map(|p| p.published), Some(true));
        // Without a public page at all: not published.
        proto.public_page = None;
        assert!(
            !TenantSettings::try_from(&proto)
                .unwrap()
                .public_page
                .published
        );
    }

    #[test]
    fn retention_months_absent_is_the_default_and_out_of_range_is_named() {
        let mut proto = pb::TenantSettings::default();
        assert_eq!(
            TenantSettings::try_from(&proto).unwrap().retention_months,
            24
        );
        proto.retention_months = 36;
        let s = TenantSettings::try_from(&proto).unwrap();
        assert_eq!(s.retention_months, 36);
        assert_eq!(pb::TenantSettings::from(&s).retention_months, 36);
        proto.retention_months = 121;
        let v = TenantSettings::try_from(&proto).unwrap_err();
        assert_eq!(fields(&v), ["retention_months"]);
    }

    #[test]
    fn missing_parts_of_a_measure_are_named() {
        let proto = pb::TenantSettings {
            norms: vec![
                pb::Norm {
                    id: "a".into(),
                    measure: response_time(pb::Channel::Unspecified, None),
                    target: 0.8,
                    ..Default::default()
                },
                pb::Norm {
                    id: "B".into(),
                    measure: None,
                    target: 1.5,
                    ..Default::default()
                },
                pb::Norm {
                    id: "c".into(),
                    measure: Some(pb::Measure { kind: None }),
                    target: 0.9,
                    ..Default::default()
                },
                pb::Norm {
                    id: "d".into(),
                    measure: Some(pb::Measure {
                        kind: Some(pb::measure::Kind::CommitmentOnTime(
                            pb::measure::CommitmentOnTime {
                                within: Some(pb::Within {
                                    within: Some(pb::within::Within::Elapsed(
                                        prost_types::Duration {
                                            seconds: 1,
                                            nanos: 5,
                                        },
                                    )),
                                }),
                            },
                        )),
                    }),
                    target: 0.9,
                    ..Default::default()
                },
            ],
            calendar: Some(pb::Calendar {
                time_zone: "Mars/Olympus".into(),
                holidays: 7,
                closing_days: vec![pb::Date {
                    year: 2025,
                    month: 2,
                    day: 30,
                }],
            }),
            processing_activities: None,
            repeat_window: Some(prost_types::Duration {
                seconds: 3,
                nanos: 1,
            }),
            channel_hop_window: None,
            retention_months: 0,
            public_page: None,
            benchmark: None,
        };
        let v = TenantSettings::try_from(&proto).unwrap_err();
        assert_eq!(
            fields(&v),
            [
                "norms[0].measure.response_time.channel",
                "norms[0].measure.response_time.within",
                "norms[1].id",
                "norms[1].target",
                "norms[1].measure",
                "norms[2].measure",
                "norms[3].measure.commitment_on_time.within.elapsed",
                "calendar.time_zone",
                "calendar.holidays",
                "calendar.closing_days[0]",
                "repeat_window",
            ]
        );
    }

    #[test]
    fn control_characters_in_titles_and_explanations_are_named() {
        let mut proto = pb::TenantSettings::from(&TenantSettings::default());
        proto.norms[0].title = "Telefoon\0".into();
        proto.norms[1].explanation = "Drukte.\u{7}".into();
        proto.norms[2].explanation = "Drukte.\r\nWe werven.\t".into();
        let v = TenantSettings::try_from(&proto).unwrap_err();
        assert_eq!(fields(&v), ["norms[0].title", "norms[1].explanation"]);
    }

    #[test]
    fn benchmark_participation_goes_round_and_is_validated() {
        let mut proto = pb::TenantSettings::from(&TenantSettings::default());
        assert_eq!(proto.benchmark, Some(pb::BenchmarkParticipation::default()));
        proto.benchmark = None;
        assert_eq!(
            TenantSettings::try_from(&proto).unwrap().benchmark,
            BenchmarkSettings::default()
        );
        let taking_part = pb::BenchmarkParticipation {
            opted_in: true,
            size: 81_000,
            stated_population: true,
            peer_group: " g4-plus ".into(),
            named: true,
        };
        proto.benchmark = Some(taking_part.clone());
        let s = TenantSettings::try_from(&proto).unwrap();
        assert_eq!(
            s.benchmark,
            BenchmarkSettings {
                opted_in: true,
                size: 81_000,
                stated_population: true,
                peer_group: Some(Code::parse("g4-plus").unwrap()),
                named: true,
            }
        );
        assert_eq!(
            pb::TenantSettings::from(&s).benchmark,
            Some(pb::BenchmarkParticipation {
                peer_group: "g4-plus".into(),
                ..taking_part.clone()
            })
        );
        proto.benchmark = Some(pb::BenchmarkParticipation {
            peer_group: "G4 Plus".into(),
            ..taking_part.clone()
        });
        let v = TenantSettings::try_from(&proto).unwrap_err();
        assert_eq!(fields(&v), ["benchmark.peer_group"]);
        proto.benchmark = Some(pb::BenchmarkParticipation {
            opted_in: true,
            ..Default::default()
        });
        let v = TenantSettings::try_from(&proto).unwrap_err();
        assert_eq!(fields(&v), ["benchmark.size", "benchmark.peer_group"]);
        proto.benchmark = Some(pb::BenchmarkParticipation {
            size: 100_000_001,
            ..taking_part
        });
        let v = TenantSettings::try_from(&proto).unwrap_err();
        assert_eq!(fields(&v), ["benchmark.size"]);
    }

    #[test]
    fn domain_validation_is_reported_with_the_same_paths() {
        let mut proto = pb::TenantSettings::from(&TenantSettings::default());
        proto.norms[1].id = proto.norms[0].id.clone();
        proto.norms[0].measure = response_time(pb::Channel::Phone, Some(Within::WorkingDays(0)));
        proto.channel_hop_window = Some(duration(0));
        proto.public_page = Some(pb::PublicPage {
            logo_url: "javascript:alert(1)".into(),
            primary_colour: "#FFFFFF".into(),
            design_tokens: [("text-colour".to_owned(), "#000000".to_owned())].into(),
            ..Default::default()
        });
        let v = TenantSettings::try_from(&proto).unwrap_err();
        assert_eq!(
            fields(&v),
            [
                "norms[0].measure.response_time.within",
                "norms[1].id",
                "channel_hop_window",
                "public_page.logo_url",
                "public_page.primary_colour",
                "public_page.design_tokens.text-colour"
            ]
        );
    }

    #[test]
    fn design_tokens_go_both_ways() {
        let mut proto = pb::TenantSettings::from(&TenantSettings::default());
        let tokens: std::collections::HashMap<String, String> = [
            ("background-color", "#1a1a1a"),
            ("text-color", "#f5f5f5"),
            ("primary-color", "#8fcaff"),
            ("border-color", "#a0a0a0"),
            ("target-color", "#ffffff"),
            ("focus-color", "#ffdd00"),
            ("focus-background-color", "#1a1a1a"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        proto.public_page = Some(pb::PublicPage {
            published: true,
            design_tokens: tokens.clone(),
            ..Default::default()
        });
        let s = TenantSettings::try_from(&proto).unwrap();
        assert_eq!(s.public_page.token("text-color"), Some("#f5f5f5"));
        let back = pb::TenantSettings::from(&s);
        assert_eq!(back.public_page.map(|p| p.design_tokens), Some(tokens));
    }
}
