//! A tenant's settings as stored in `tenant_settings.settings`.
//!
//! Version 1: `{"v": 1, "norms": [...], "calendar": {...}, "repeat_window_secs": ..,
//! "channel_hop_window_secs": ..}`; a norm's measure is tagged by `"kind"`, a threshold
//! is `{"seconds": n}` or `{"working_days": n}`. Fields added compatibly within version
//! 1 are optional and absent when they hold their default: `processing_activities`,
//! `retention_months`, `public_page` (with its `published`, absent is false), a
//! norm's `published` (absent is true, so every norm stored before it stays public)
//! and `benchmark` (absent is not taking part).

use super::names_v1::ChannelV1;
use super::{RowError, Tag, code, from_value, legacy, parse, stored_names, to_text, version_of};
use chrono::NaiveDate;
use chrono_tz::Tz;
use midoffice_domain::calendar::Calendar;
use midoffice_domain::processing::ProcessingActivities;
use midoffice_domain::settings::{
    BenchmarkSettings, DEFAULT_RETENTION_MONTHS, Measure, Norm, PublicPage, TenantSettings, Within,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every version a settings row was ever written in, oldest first; the last is written.
pub const VERSIONS: [u64; 2] = [0, 1];

/// Reads a settings row of any version.
pub fn decode(text: &str) -> Result<TenantSettings, RowError> {
    TenantSettings::try_from(read(text)?)
}

/// The row to store for these settings, in the current version.
pub fn encode(settings: &TenantSettings) -> Result<String, RowError> {
    to_text(&SettingsRowV1::from(settings))
}

/// A row of any version as a row of the current version.
fn read(text: &str) -> Result<SettingsRowV1, RowError> {
    let value = parse(text)?;
    match version_of(&value)? {
        0 => Ok(from_value::<legacy::SettingsV0>(value)?.into()),
        1 => from_value(value),
        v => Err(RowError::new(format!(
            "settings of version {v}, which this release does not know"
        ))),
    }
}

/// A row of version 0 rewritten in version 1; `None` if the row is not of version 0.
/// For the migration `m0002_versioned_rows`: it never writes a later version.
pub(crate) fn upgrade_v0(text: &str) -> Result<Option<String>, RowError> {
    let value = parse(text)?;
    if version_of(&value)? != 0 {
        return Ok(None);
    }
    let row: SettingsRowV1 = from_value::<legacy::SettingsV0>(value)?.into();
    to_text(&row).map(Some)
}

/// Settings, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsRowV1 {
    #[serde(rename = "v")]
    pub version: Tag<1>,
    #[serde(rename = "norms")]
    pub norms: Vec<NormV1>,
    #[serde(rename = "calendar")]
    pub calendar: CalendarV1,
    #[serde(rename = "repeat_window_secs")]
    pub repeat_window_secs: i64,
    #[serde(rename = "channel_hop_window_secs")]
    pub channel_hop_window_secs: i64,
    /// Added compatibly within version 1: absent in rows written before the processing
    /// log, and absent when no kind has a URI configured.
    #[serde(
        rename = "processing_activities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub processing_activities: Option<ProcessingActivitiesV1>,
    /// Added compatibly within version 1, with retention: absent in rows written
    /// before it, and absent for the default (24 months).
    #[serde(
        rename = "retention_months",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub retention_months: Option<u32>,
    /// Added compatibly within version 1, with the public thermometer page: absent in
    /// rows written before it, and absent when no field of it is set.
    #[serde(
        rename = "public_page",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub public_page: Option<PublicPageV1>,
    /// Added compatibly within version 1, with the benchmark between organisations:
    /// absent in rows written before it, and absent when no field of it is set.
    #[serde(rename = "benchmark", default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<BenchmarkV1>,
}

/// Taking part in the benchmark, version 1 (each absent when false, 0 or unset).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BenchmarkV1 {
    #[serde(
        rename = "opted_in",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub opted_in: bool,
    #[serde(rename = "size", default, skip_serializing_if = "is_zero")]
    pub size: u64,
    #[serde(
        rename = "stated_population",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub stated_population: bool,
    #[serde(
        rename = "peer_group",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub peer_group: Option<String>,
    #[serde(rename = "named", default, skip_serializing_if = "std::ops::Not::not")]
    pub named: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How the public thermometer page presents the tenant, version 1 (each absent when
/// unset).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublicPageV1 {
    /// Added compatibly within version 1, with opt-in publishing: absent (rows written
    /// before it, and a page not published) is false.
    #[serde(
        rename = "published",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub published: bool,
    #[serde(
        rename = "display_name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    #[serde(rename = "logo_url", default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(
        rename = "accessibility_statement_url",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub accessibility_statement_url: Option<String>,
    #[serde(
        rename = "primary_colour",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_colour: Option<String>,
    /// Added to version 1 (absent: none set).
    #[serde(
        rename = "design_tokens",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub design_tokens: BTreeMap<String, String>,
}

/// The tenant's processing-activity URIs, version 1 (each absent for the default).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProcessingActivitiesV1 {
    #[serde(
        rename = "context_read",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub context_read: Option<String>,
    #[serde(
        rename = "contact_read",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_read: Option<String>,
    #[serde(rename = "erase", default, skip_serializing_if = "Option::is_none")]
    pub erase: Option<String>,
    /// Added compatibly (optional): rows without it read as the default.
    #[serde(
        rename = "contact_recording",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_recording: Option<String>,
    /// Added compatibly (optional), as `contact_recording`.
    #[serde(
        rename = "access_request",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub access_request: Option<String>,
}

/// A norm, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NormV1 {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "title")]
    pub title: String,
    #[serde(rename = "measure")]
    pub measure: MeasureV1,
    #[serde(rename = "target_percent")]
    pub target_percent: u32,
    #[serde(rename = "explanation")]
    pub explanation: Option<String>,
    /// Added compatibly within version 1, with opt-in publishing: absent (rows written
    /// before it, and a published norm) is true; only `false` is written.
    #[serde(rename = "published", default, skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
}

/// What a norm measures, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub(crate) enum MeasureV1 {
    #[serde(rename = "RESPONSE_TIME")]
    ResponseTime {
        #[serde(rename = "channel")]
        channel: ChannelV1,
        #[serde(rename = "within")]
        within: WithinV1,
    },
    // Empty struct variants, not unit variants: serde refuses unknown fields only there.
    #[serde(rename = "FIRST_CONTACT_RESOLUTION")]
    FirstContactResolution {},
    #[serde(rename = "REFERRED_AT_MOST")]
    ReferredAtMost {
        #[serde(rename = "max")]
        max: u32,
    },
    #[serde(rename = "STORY_TOLD_ONCE")]
    StoryToldOnce {},
    #[serde(rename = "COMMITMENT_ON_TIME")]
    CommitmentOnTime {
        #[serde(rename = "within")]
        within: Option<WithinV1>,
    },
}

/// A threshold, version 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) enum WithinV1 {
    #[serde(rename = "seconds")]
    Seconds(i64),
    #[serde(rename = "working_days")]
    WorkingDays(u32),
}

/// A calendar, version 1: an IANA time zone name and closing days as `YYYY-MM-DD`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CalendarV1 {
    #[serde(rename = "time_zone")]
    pub time_zone: String,
    #[serde(rename = "holidays")]
    pub holidays: HolidaysV1,
    #[serde(rename = "closing_days")]
    pub closing_days: Vec<String>,
}

stored_names! {
    /// A holiday set, version 1.
    HolidaysV1 <=> midoffice_domain::calendar::HolidaySet {
        Nl = "NL",
        Be = "BE",
    }
}

const DATE: &str = "%Y-%m-%d";

impl From<Within> for WithinV1 {
    fn from(w: Within) -> Self {
        match w {
            Within::Elapsed(s) => WithinV1::Seconds(s),
            Within::WorkingDays(d) => WithinV1::WorkingDays(d),
        }
    }
}

impl From<WithinV1> for Within {
    fn from(w: WithinV1) -> Self {
        match w {
            WithinV1::Seconds(s) => Within::Elapsed(s),
            WithinV1::WorkingDays(d) => Within::WorkingDays(d),
        }
    }
}

impl From<&Measure> for MeasureV1 {
    fn from(m: &Measure) -> Self {
        match *m {
            Measure::ResponseTime { channel, within } => MeasureV1::ResponseTime {
                channel: channel.into(),
                within: within.into(),
            },
            Measure::FirstContactResolution => MeasureV1::FirstContactResolution {},
            Measure::ReferredAtMost { max } => MeasureV1::ReferredAtMost { max },
            Measure::StoryToldOnce => MeasureV1::StoryToldOnce {},
            Measure::CommitmentOnTime { within } => MeasureV1::CommitmentOnTime {
                within: within.map(Into::into),
            },
        }
    }
}

impl From<MeasureV1> for Measure {
    fn from(m: MeasureV1) -> Self {
        match m {
            MeasureV1::ResponseTime { channel, within } => Measure::ResponseTime {
                channel: channel.into(),
                within: within.into(),
            },
            MeasureV1::FirstContactResolution {} => Measure::FirstContactResolution,
            MeasureV1::ReferredAtMost { max } => Measure::ReferredAtMost { max },
            MeasureV1::StoryToldOnce {} => Measure::StoryToldOnce,
            MeasureV1::CommitmentOnTime { within } => Measure::CommitmentOnTime {
                within: within.map(Into::into),
            },
        }
    }
}

impl From<&TenantSettings> for SettingsRowV1 {
    fn from(s: &TenantSettings) -> Self {
        SettingsRowV1 {
            version: Tag,
            norms: s
                .norms
                .iter()
                .map(|n| NormV1 {
                    id: n.id.as_str().to_owned(),
                    title: n.title.clone(),
                    measure: (&n.measure).into(),
                    target_percent: n.target_percent,
                    explanation: n.explanation.clone(),
                    published: (!n.published).then_some(false),
                })
                .collect(),
            calendar: CalendarV1 {
                time_zone: s.calendar.time_zone.name().to_owned(),
                holidays: s.calendar.holidays.into(),
                closing_days: s
                    .calendar
                    .closing_days
                    .iter()
                    .map(|d| d.format(DATE).to_string())
                    .collect(),
            },
            repeat_window_secs: s.repeat_window_secs,
            channel_hop_window_secs: s.channel_hop_window_secs,
            processing_activities: {
                let a = &s.processing_activities;
                (*a != ProcessingActivities::default()).then(|| ProcessingActivitiesV1 {
                    context_read: a.context_read.clone(),
                    contact_read: a.contact_read.clone(),
                    erase: a.erase.clone(),
                    contact_recording: a.contact_recording.clone(),
                    access_request: a.access_request.clone(),
                })
            },
            retention_months: (s.retention_months != DEFAULT_RETENTION_MONTHS)
                .then_some(s.retention_months),
            public_page: {
                let p = &s.public_page;
                (*p != PublicPage::default()).then(|| PublicPageV1 {
                    published: p.published,
                    display_name: p.display_name.clone(),
                    logo_url: p.logo_url.clone(),
                    accessibility_statement_url: p.accessibility_statement_url.clone(),
                    primary_colour: p.primary_colour.clone(),
                    design_tokens: p.design_tokens.clone(),
                })
            },
            benchmark: {
                let b = &s.benchmark;
                (*b != BenchmarkSettings::default()).then(|| BenchmarkV1 {
                    opted_in: b.opted_in,
                    size: b.size,
                    stated_population: b.stated_population,
                    peer_group: b.peer_group.as_ref().map(|g| g.as_str().to_owned()),
                    named: b.named,
                })
            },
        }
    }
}

impl TryFrom<SettingsRowV1> for TenantSettings {
    type Error = RowError;

    fn try_from(row: SettingsRowV1) -> Result<Self, RowError> {
        let norms = row
            .norms
            .into_iter()
            .map(|n| {
                Ok(Norm {
                    id: code(n.id, "norms.id")?,
                    title: n.title,
                    measure: n.measure.into(),
                    target_percent: n.target_percent,
                    explanation: n.explanation,
                    published: n.published.unwrap_or(true),
                })
            })
            .collect::<Result<_, RowError>>()?;
        let time_zone: Tz = row
            .calendar
            .time_zone
            .parse()
            .map_err(|_| RowError::new("calendar.time_zone is not a known time zone"))?;
        let closing_days = row
            .calendar
            .closing_days
            .iter()
            .map(|d| {
                NaiveDate::parse_from_str(d, DATE).map_err(|_| {
                    RowError::new("calendar.closing_days holds a day that is not YYYY-MM-DD")
                })
            })
            .collect::<Result<_, RowError>>()?;
        Ok(TenantSettings {
            norms,
            calendar: Calendar {
                time_zone,
                holidays: row.calendar.holidays.into(),
                closing_days,
            },
            repeat_window_secs: row.repeat_window_secs,
            channel_hop_window_secs: row.channel_hop_window_secs,
            processing_activities: row
                .processing_activities
                .map(|a| ProcessingActivities {
                    context_read: a.context_read,
                    contact_read: a.contact_read,
                    erase: a.erase,
                    contact_recording: a.contact_recording,
                    access_request: a.access_request,
                })
                .unwrap_or_default(),
            retention_months: row.retention_months.unwrap_or(DEFAULT_RETENTION_MONTHS),
            public_page: row
                .public_page
                .map(|p| PublicPage {
                    published: p.published,
                    display_name: p.display_name,
                    logo_url: p.logo_url,
                    accessibility_statement_url: p.accessibility_statement_url,
                    primary_colour: p.primary_colour,
                    design_tokens: p.design_tokens,
                })
                .unwrap_or_default(),
            benchmark: match row.benchmark {
                None => BenchmarkSettings::default(),
                Some(b) => BenchmarkSettings {
                    opted_in: b.opted_in,
                    size: b.size,
                    stated_population: b.stated_population,
                    peer_group: b
                        .peer_group
                        .map(|g| code(g, "benchmark.peer_group"))
                        .transpose()?,
                    named: b.named,
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_go_round_and_carry_the_version() {
        let s = TenantSettings::default();
        let text = encode(&s).unwrap();
        assert!(text.starts_with(r#"{"v":1,"#), "{text}");
        assert_eq!(decode(&text).unwrap(), s);
        assert_eq!(upgrade_v0(&text).unwrap(), None);
    }

    #[test]
    fn an_unknown_field_or_version_is_refused() {
        let text = encode(&TenantSettings::default()).unwrap();
        let extra = text.replacen(r#"{"v":1,"#, r#"{"v":1,"extra":true,"#, 1);
        assert!(decode(&extra).is_err());
        let later = text.replacen(r#"{"v":1,"#, r#"{"v":2,"#, 1);
        assert!(
            decode(&later)
                .unwrap_err()
                .to_string()
                .contains("version 2")
        );
        let renamed = text.replace("repeat_window_secs", "repeat_window_seconds");
        assert!(decode(&renamed).is_err());
    }

    #[test]
    fn a_measure_without_its_fields_or_with_others_is_refused() {
        let base = encode(&TenantSettings::default()).unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&base).unwrap();
        value["norms"][0]["measure"] = serde_json::json!({"kind": "REFERRED_AT_MOST"});
        assert!(decode(&value.to_string()).is_err());
        value["norms"][0]["measure"] = serde_json::json!({"kind": "STORY_TOLD_ONCE", "max": 1});
        assert!(decode(&value.to_string()).is_err());
    }
}
