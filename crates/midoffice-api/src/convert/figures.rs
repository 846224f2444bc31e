//! Periods, filters, the thermometer and the dashboard figures.

use super::{date, optional_channel, optional_code, optional_instant, pb_date, take};
use crate::pb;
use midoffice_domain::figures::{Figures, Filter, NormResult, NormStatus, Period, ResponseTimes};
use midoffice_domain::limits::{MAX_PERIOD_DAYS, MAX_SERIES_POINTS};
use midoffice_domain::rollup::{Step, series_periods};
use midoffice_domain::{Instant, Violations};

/// A period: `start_date` before `end_date` (exclusive), at most three years apart;
/// `as_of` defaults to `now` and may lie ahead of it.
pub fn period(p: &pb::Period, now: Instant) -> Result<Period, Violations> {
    let mut v = Violations::default();
    let required_date = |d: Option<&pb::Date>, field: &str, v: &mut Violations| match d {
        None => {
            v.add(field, "is required");
            None
        }
        Some(d) => take(date(d), field, v),
    };
    let from = required_date(p.start_date.as_ref(), "start_date", &mut v);
    let to = required_date(p.end_date.as_ref(), "end_date", &mut v);
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            v.add(
                "end_date",
                "must lie after start_date (end_date is exclusive)",
            );
        } else if (to - from).num_days() > MAX_PERIOD_DAYS {
            v.add("end_date", "a period may span at most 3 years");
        }
    }
    // `as_of` is the moment the figures are judged at, not an event: it may lie ahead.
    let as_of = match optional_instant(p.as_of.as_ref(), "as_of", &mut v) {
        Ok(Some(t)) => t,
        _ => now,
    };
    match (from, to) {
        (Some(from), Some(to)) if v.is_empty() => Ok(Period { from, to, as_of }),
        _ => Err(v),
    }
}

/// The dashboard filters of a request (GetFigures, GetFigureSeries: the fields
/// `channel`, `topic` and `department`): UNSPECIFIED channel and empty codes are absent.
pub fn filter(channel: i32, topic: &str, department: &str) -> Result<Filter, Violations> {
    let mut v = Violations::default();
    let channel = take(optional_channel(channel), "channel", &mut v);
    let topic = optional_code(topic, "topic", &mut v);
    let department = optional_code(department, "department", &mut v);
    match (channel, topic, department) {
        (Some(channel), Ok(topic), Ok(department)) => Ok(Filter {
            channel,
            topic,
            department,
        }),
        _ => Err(v),
    }
}

/// A required series step: UNSPECIFIED and unknown values are refused.
pub fn step(raw: i32) -> Result<Step, String> {
    match pb::SeriesStep::try_from(raw) {
        Ok(pb::SeriesStep::Day) => Ok(Step::Day),
        Ok(pb::SeriesStep::Week) => Ok(Step::Week),
        Ok(pb::SeriesStep::Month) => Ok(Step::Month),
        Ok(pb::SeriesStep::Unspecified) => Err("is required: DAY, WEEK or MONTH".into()),
        Err(_) => Err("is not a known step: DAY, WEEK or MONTH".into()),
    }
}

/// The periods of a series: `period` cut by `step` ([`series_periods`]), at most
/// [`MAX_SERIES_POINTS`] of them (else a violation of `step`, the field that makes a
/// valid period too many points).
pub fn series(period: Period, step: Step) -> Result<Vec<Period>, Violations> {
    let periods = series_periods(period.from, period.to, step, period.as_of);
    if periods.len() > MAX_SERIES_POINTS {
        return Err(Violations::one(
            "step",
            format!(
                "gives {} points, more than the {MAX_SERIES_POINTS} a series may have: \
                 take a longer step or a shorter period",
                periods.len()
            ),
        ));
    }
    Ok(periods)
}

impl From<NormStatus> for pb::NormStatus {
    fn from(s: NormStatus) -> Self {
        match s {
            NormStatus::Green => pb::NormStatus::Green,
            NormStatus::Amber => pb::NormStatus::Amber,
            NormStatus::Red => pb::NormStatus::Red,
            NormStatus::NoData => pb::NormStatus::NoData,
        }
    }
}

impl From<&NormResult> for pb::NormResult {
    fn from(r: &NormResult) -> Self {
        pb::NormResult {
            norm_id: r.norm_id.to_string(),
            title: r.title.clone(),
            measure: Some(pb::Measure::from(&r.measure)),
            target_percent: r.target_percent,
            share: r.share(),
            met: r.met,
            items: r.items,
            status: pb::NormStatus::from(r.status) as i32,
            // The domain leaves it out where the status is GREEN.
            explanation: r.explanation.clone().unwrap_or_default(),
        }
    }
}

impl From<&ResponseTimes> for pb::ResponseTime {
    fn from(r: &ResponseTimes) -> Self {
        pb::ResponseTime {
            channel: pb::Channel::from(r.channel) as i32,
            answered: r.answered,
            p50_seconds: r.p50_seconds,
            p90_seconds: r.p90_seconds,
        }
    }
}

impl From<&(Period, Figures)> for pb::SeriesPoint {
    fn from((period, figures): &(Period, Figures)) -> Self {
        pb::SeriesPoint {
            start_date: Some(pb_date(period.from)),
            end_date: Some(pb_date(period.to)),
            figures: Some(pb::Figures::from(figures)),
        }
    }
}

impl From<&Figures> for pb::Figures {
    fn from(f: &Figures) -> Self {
        pb::Figures {
            contacts: f.contacts,
            cases: f.cases,
            first_contact_resolution: f.first_contact_resolution,
            repeat_contact_rate: f.repeat_contact_rate,
            referral_rate: f.referral_rate,
            cases_referred_more_than_once: f.cases_referred_more_than_once,
            repeat_story_rate: f.repeat_story_rate,
            channel_hops: f.channel_hops,
            response_times: f
                .response_times
                .iter()
                .map(pb::ResponseTime::from)
                .collect(),
            satisfaction_score: f.satisfaction_score,
            effort_score: f.effort_score,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use midoffice_domain::Code;
    use midoffice_domain::contact::Channel;
    use midoffice_domain::settings::Measure;

    fn fields(v: &Violations) -> Vec<&str> {
        v.0.iter().map(|f| f.field.as_str()).collect()
    }

    fn now() -> Instant {
        Utc.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap()
    }

    fn d(year: i32, month: i32, day: i32) -> Option<pb::Date> {
        Some(pb::Date { year, month, day })
    }

    #[test]
    fn a_period_defaults_as_of_to_now() {
        let p = pb::Period {
            start_date: d(2025, 1, 1),
            end_date: d(2025, 2, 1),
            as_of: None,
        };
        let p = period(&p, now()).unwrap();
        assert_eq!(p.from, NaiveDate::from_ymd_opt(2025, 1, 1).unwrap());
        assert_eq!(p.as_of, now());
    }

    #[test]
    fn bad_periods_are_named() {
        // As the services convert it: under the request field `period`.
        let checked =
            |p: Option<&pb::Period>, now| super::super::required("period", p, |p| period(p, now));
        assert_eq!(fields(&checked(None, now()).unwrap_err()), ["period"]);
        let p = pb::Period {
            start_date: None,
            end_date: d(2025, 13, 1),
            as_of: None,
        };
        assert_eq!(
            fields(&checked(Some(&p), now()).unwrap_err()),
            ["period.start_date", "period.end_date"]
        );
        let p = pb::Period {
            start_date: d(2025, 2, 1),
            end_date: d(2025, 2, 1),
            as_of: None,
        };
        assert_eq!(
            fields(&checked(Some(&p), now()).unwrap_err()),
            ["period.end_date"]
        );
        let p = pb::Period {
            start_date: d(2020, 1, 1),
            end_date: d(2025, 1, 1),
            as_of: None,
        };
        assert_eq!(
            fields(&checked(Some(&p), now()).unwrap_err()),
            ["period.end_date"]
        );
        let p = pb::Period {
            start_date: d(2025, 1, 1),
            end_date: d(2025, 2, 1),
            as_of: Some(prost_types::Timestamp {
                seconds: now().timestamp() + 3600,
                nanos: 0,
            }),
        };
        // A moment ahead is a moment to judge at, not an event: accepted.
        assert!(checked(Some(&p), now()).is_ok());
    }

    #[test]
    fn filters_are_checked() {
        assert_eq!(
            fields(&filter(42, "Afval", "kcc").unwrap_err()),
            ["channel", "topic"]
        );
        assert_eq!(
            filter(pb::Channel::Web as i32, "", "").unwrap(),
            Filter {
                channel: Some(Channel::Web),
                topic: None,
                department: None
            }
        );
    }

    #[test]
    fn a_step_is_required_and_known() {
        assert_eq!(step(pb::SeriesStep::Week as i32), Ok(Step::Week));
        assert!(step(pb::SeriesStep::Unspecified as i32).is_err());
        assert!(step(7).is_err());
    }

    #[test]
    fn a_series_has_at_most_400_points() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let p = |from, to| Period {
            from,
            to,
            as_of: now(),
        };
        // A trailing 13 months by day, at the longest (a leap February): 397 points.
        let thirteen = p(day(2023, 12, 1), day(2025, 1, 1));
        assert_eq!(series(thirteen, Step::Day).unwrap().len(), 397);
        let long = p(day(2023, 1, 1), day(2026, 1, 1));
        assert_eq!(fields(&series(long, Step::Day).unwrap_err()), ["step"]);
        assert_eq!(series(long, Step::Week).unwrap().len(), 158);
        assert_eq!(series(long, Step::Month).unwrap().len(), 36);
    }

    #[test]
    fn a_point_carries_its_dates() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let period = Period {
            from: day(2),
            to: day(9),
            as_of: now(),
        };
        let figures = Figures {
            contacts: 3,
            cases: 2,
            first_contact_resolution: None,
            repeat_contact_rate: None,
            referral_rate: None,
            cases_referred_more_than_once: 0,
            repeat_story_rate: None,
            channel_hops: 0,
            response_times: Vec::new(),
            satisfaction_score: None,
            effort_score: None,
            counts: Default::default(),
        };
        let point = pb::SeriesPoint::from(&(period, figures.clone()));
        assert_eq!(point.start_date, d(2026, 3, 2));
        assert_eq!(point.end_date, d(2026, 3, 9));
        assert_eq!(point.figures, Some(pb::Figures::from(&figures)));
    }

    #[test]
    fn null_ratios_stay_unset_and_the_explanation_passes_through() {
        let r = NormResult {
            norm_id: Code::parse("story-told-once").unwrap(),
            title: "t".into(),
            measure: Measure::StoryToldOnce,
            target_percent: 95,
            met: 0,
            items: 0,
            status: NormStatus::NoData,
            explanation: Some("we werken eraan".into()),
        };
        let p = pb::NormResult::from(&r);
        assert_eq!(p.share, None);
        assert_eq!(p.status, pb::NormStatus::NoData as i32);
        assert_eq!(p.explanation, "we werken eraan");
        let green = NormResult {
            met: 1,
            items: 1,
            status: NormStatus::Green,
            explanation: None,
            ..r
        };
        let p = pb::NormResult::from(&green);
        assert_eq!((p.share, p.explanation.as_str()), (Some(1.0), ""));
    }
}
