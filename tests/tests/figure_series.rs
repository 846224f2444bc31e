//! GetFigureSeries over a real socket, on both backends: each point of a daily, weekly
//! or monthly series is what GetFigures answers for that point's dates, with the same
//! filter and `as_of` (from the rollups at the present, from the facts in the past); the
//! points cover the period without gaps; a refused request names its field
//! (INVALID_ARGUMENT, never INTERNAL), `step` included, and a series has at most 400
//! points.

use midoffice_tests::pb::{self, Channel, Outcome, SeriesStep, referral_target};
use midoffice_tests::{
    Backend, TENANT, TestDatabase, assert_invalid, assert_invalid_including, at, bsn,
    database_test, date, on_backend, request, resolved, start,
};

/// The citizens of the fixture (valid BSNs): few, so cases get several contacts.
const CITIZENS: [&str; 5] = [
    "999990019",
    "999990032",
    "999990044",
    "999990056",
    "999990068",
];
const TOPICS: [&str; 3] = ["paspoort", "afval", "parkeren"];
const DEPARTMENTS: [&str; 2] = ["kcc", "burgerzaken"];
const CHANNELS: [Channel; 4] = [
    Channel::Phone,
    Channel::Counter,
    Channel::Web,
    Channel::Email,
];

/// The fixture's first day, a Sunday: the first week of a weekly series is cut.
fn first_day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 9, 20).unwrap()
}
/// The fixture's days: 20 September to 14 November 2026 (across the end of summer
/// time, three calendar months, nine ISO weeks).
const DAYS: u64 = 56;

/// Records a spread of contacts over [`DAYS`]: every channel, topic and department,
/// anonymous and known citizens, resolved and referred, some with a satisfaction answer.
async fn fixture(b: &Backend) -> u64 {
    let mut recorded = 0;
    for i in 0..70u64 {
        let day = first_day() + chrono::Days::new((i * 7 + i * i) % DAYS);
        let started = format!("{day}T{:02}:{:02}:00Z", 8 + i % 8, (i * 13) % 60);
        let answered = format!(
            "{day}T{:02}:{:02}:{:02}Z",
            8 + i % 8,
            (i * 13) % 60,
            5 + i % 50
        );
        let ended = format!("{day}T{:02}:{:02}:00Z", 9 + i % 8, (i * 13) % 60);
        let i_us = usize::try_from(i).unwrap();
        let ids = (i % 7 != 0).then(|| bsn(CITIZENS[i_us % CITIZENS.len()]));
        let mut contact = start(
            CHANNELS[i_us % CHANNELS.len()],
            &started,
            ids,
            TOPICS[i_us % TOPICS.len()],
        );
        contact.department = DEPARTMENTS[i_us % DEPARTMENTS.len()].to_owned();
        let mut completion = resolved(&answered, &ended, "Vraag beantwoord.");
        if i % 5 == 0 {
            completion.outcome = Outcome::Referred as i32;
            completion.referred_to = Some(pb::ReferralTarget {
                target: Some(referral_target::Target::Department("burgerzaken".into())),
            });
        }
        let contact = b
            .record(
                TENANT,
                pb::RecordContactRequest {
                    request_id: String::new(),
                    start: Some(contact),
                    completion: Some(completion),
                    context_seen: i % 4 != 0,
                },
            )
            .await;
        if i % 3 == 0 {
            b.contacts()
                .submit_feedback(request(
                    TENANT,
                    pb::SubmitFeedbackRequest {
                        contact_id: contact.id,
                        score: u32::try_from(1 + i % 5).unwrap(),
                        effort: u32::try_from(1 + i % 7).unwrap(),
                        ..Default::default()
                    },
                ))
                .await
                .unwrap_or_else(|s| panic!("SubmitFeedback failed: {s:?}"));
        }
        recorded += 1;
    }
    recorded
}

/// A filter of GetFigures and GetFigureSeries: (channel, topic, department).
type Filter = (Channel, &'static str, &'static str);

fn pb_date(d: chrono::NaiveDate) -> pb::Date {
    use chrono::Datelike;
    date(
        d.year(),
        i32::try_from(d.month()).unwrap(),
        i32::try_from(d.day()).unwrap(),
    )
}

fn period(from: pb::Date, to: pb::Date, as_of: &prost_types::Timestamp) -> pb::Period {
    pb::Period {
        start_date: Some(from),
        end_date: Some(to),
        as_of: Some(*as_of),
    }
}

async fn get_figures(
    b: &Backend,
    period: pb::Period,
    (channel, topic, department): Filter,
) -> pb::Figures {
    b.figures()
        .get_figures(request(
            TENANT,
            pb::GetFiguresRequest {
                period: Some(period),
                channel: channel as i32,
                topic: topic.to_owned(),
                department: department.to_owned(),
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetFigures failed: {s:?}"))
        .into_inner()
        .figures
        .expect("GetFigures answered without figures")
}

fn series_request(
    period: pb::Period,
    step: SeriesStep,
    (channel, topic, department): Filter,
) -> pb::GetFigureSeriesRequest {
    pb::GetFigureSeriesRequest {
        period: Some(period),
        step: step as i32,
        channel: channel as i32,
        topic: topic.to_owned(),
        department: department.to_owned(),
    }
}

async fn get_series(
    b: &Backend,
    period: pb::Period,
    step: SeriesStep,
    filter: Filter,
) -> Vec<pb::SeriesPoint> {
    b.figures()
        .get_figure_series(request(TENANT, series_request(period, step, filter)))
        .await
        .unwrap_or_else(|s| panic!("GetFigureSeries {step:?} {filter:?} failed: {s:?}"))
        .into_inner()
        .points
}

fn naive(d: Option<&pb::Date>) -> chrono::NaiveDate {
    let d = d.expect("a point without its dates");
    chrono::NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).unwrap(),
        u32::try_from(d.day).unwrap(),
    )
    .expect("a real date")
}

database_test!(each_point_of_a_series_is_what_get_figures_answers_for_its_dates);
async fn each_point_of_a_series_is_what_get_figures_answers_for_its_dates(database: TestDatabase) {
    use chrono::Datelike;
    on_backend(database, |b| async move {
        let recorded = fixture(&b).await;
        let from = first_day();
        let to = from + chrono::Days::new(DAYS);
        // The present (after every event: the rollups answer) and a moment in the
        // middle of the period (the facts answer, and later events do not count yet).
        let now = at(&chrono::Utc::now().to_rfc3339());
        let past = at("2026-10-20T12:00:00Z");
        let none: Filter = (Channel::Unspecified, "", "");
        let phone: Filter = (Channel::Phone, "", "");
        let topic: Filter = (Channel::Unspecified, "paspoort", "");
        let department: Filter = (Channel::Email, "", "kcc");
        let mut counted = 0;
        for as_of in [now, past] {
            let whole = period(pb_date(from), pb_date(to), &as_of);
            for (step, filters, points) in [
                (SeriesStep::Day, vec![none, phone, department], 56),
                (SeriesStep::Week, vec![none, topic, department], 9),
                (SeriesStep::Month, vec![none, phone, topic, department], 3),
            ] {
                for filter in filters {
                    let series = get_series(&b, whole, step, filter).await;
                    let what = format!("{step:?} {filter:?} as of {as_of:?}");
                    assert_eq!(series.len(), points, "{what}");
                    // The points cover the period in order, without gaps or overlaps.
                    assert_eq!(naive(series[0].start_date.as_ref()), from, "{what}");
                    assert_eq!(naive(series[points - 1].end_date.as_ref()), to, "{what}");
                    for pair in series.windows(2) {
                        assert_eq!(pair[0].end_date, pair[1].start_date, "{what}");
                    }
                    for point in &series {
                        let start = naive(point.start_date.as_ref());
                        let end = naive(point.end_date.as_ref());
                        assert!(start < end, "{what}: {point:?}");
                        match step {
                            SeriesStep::Day => assert_eq!(start.succ_opt(), Some(end)),
                            SeriesStep::Week if start != from => {
                                assert_eq!(start.weekday(), chrono::Weekday::Mon, "{what}")
                            }
                            SeriesStep::Month if start != from => assert_eq!(start.day(), 1),
                            _ => {}
                        }
                        let expected =
                            get_figures(&b, period(pb_date(start), pb_date(end), &as_of), filter)
                                .await;
                        assert_eq!(
                            point.figures.as_ref(),
                            Some(&expected),
                            "{what}: the point {start} to {end}"
                        );
                        counted += expected.contacts;
                    }
                }
            }
        }
        // Not a comparison of empty figures: the unfiltered daily series of the present
        // counts every recorded contact (and so does each other unfiltered one).
        let whole = period(pb_date(from), pb_date(to), &now);
        let days = get_series(&b, whole, SeriesStep::Day, none).await;
        let sum: u64 = days
            .iter()
            .map(|p| p.figures.as_ref().map_or(0, |f| f.contacts))
            .sum();
        assert_eq!(sum, recorded);
        assert_eq!(get_figures(&b, whole, none).await.contacts, recorded);
        assert!(counted > 3 * recorded, "{counted} contacts counted in all");
    })
    .await;
}

database_test!(a_refused_series_names_its_field);
async fn a_refused_series_names_its_field(database: TestDatabase) {
    on_backend(database, |b| async move {
        let as_of = at("2026-11-01T12:00:00Z");
        let march = period(date(2026, 3, 1), date(2026, 4, 1), &as_of);
        let month =
            |p: pb::Period| series_request(p, SeriesStep::Month, (Channel::Unspecified, "", ""));
        let filtered = |channel: Channel, topic: &'static str, department: &'static str| {
            series_request(march, SeriesStep::Day, (channel, topic, department))
        };
        let refused: Vec<(&str, pb::GetFigureSeriesRequest)> = vec![
            (
                "period",
                pb::GetFigureSeriesRequest {
                    period: None,
                    ..month(march)
                },
            ),
            (
                "period.end_date",
                month(period(date(2026, 4, 1), date(2026, 3, 1), &as_of)),
            ),
            (
                "period.end_date",
                month(period(date(2026, 3, 1), date(2026, 3, 1), &as_of)),
            ),
            (
                "period.end_date",
                month(period(date(2020, 1, 1), date(2026, 1, 1), &as_of)),
            ),
            (
                "period.start_date",
                month(period(date(2026, 2, 30), date(2026, 4, 1), &as_of)),
            ),
            (
                "step",
                pb::GetFigureSeriesRequest {
                    step: SeriesStep::Unspecified as i32,
                    ..month(march)
                },
            ),
            (
                "step",
                pb::GetFigureSeriesRequest {
                    step: 9,
                    ..month(march)
                },
            ),
            // A valid period that a daily step cuts into more than 400 points.
            (
                "step",
                series_request(
                    period(date(2025, 1, 1), date(2026, 3, 1), &as_of),
                    SeriesStep::Day,
                    (Channel::Unspecified, "", ""),
                ),
            ),
            (
                "channel",
                pb::GetFigureSeriesRequest {
                    channel: 42,
                    ..filtered(Channel::Unspecified, "", "")
                },
            ),
            ("topic", filtered(Channel::Unspecified, "Paspoort!", "")),
            ("department", filtered(Channel::Phone, "paspoort", "KCC")),
        ];
        for (field, refused) in refused {
            assert_invalid(
                b.figures()
                    .get_figure_series(request(TENANT, refused))
                    .await,
                field,
                &[],
            );
        }
        // Everything wrong at once: every field is named in one answer.
        let all_wrong = pb::GetFigureSeriesRequest {
            period: Some(period(date(2026, 4, 1), date(2026, 3, 1), &as_of)),
            step: SeriesStep::Unspecified as i32,
            channel: -1,
            topic: "Afval".into(),
            department: "kcc_1".into(),
        };
        let got = b
            .figures()
            .get_figure_series(request(TENANT, all_wrong))
            .await;
        let status = assert_invalid_including(got, "step", &[]);
        let mut fields = midoffice_tests::violated_fields(&status);
        fields.sort();
        assert_eq!(
            fields,
            ["channel", "department", "period.end_date", "step", "topic"]
        );
    })
    .await;
}

database_test!(a_daily_series_of_400_days_is_answered);
async fn a_daily_series_of_400_days_is_answered(database: TestDatabase) {
    on_backend(database, |b| async move {
        let from = chrono::NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
        let to = from + chrono::Days::new(400);
        let whole = period(pb_date(from), pb_date(to), &at("2026-11-30T12:00:00Z"));
        let days = get_series(&b, whole, SeriesStep::Day, (Channel::Unspecified, "", "")).await;
        assert_eq!(days.len(), 400);
        assert!(
            days.iter()
                .all(|p| p.figures.as_ref().is_some_and(|f| f.contacts == 0))
        );
        let over = period(
            pb_date(from),
            pb_date(to + chrono::Days::new(1)),
            &at("2026-11-30T12:00:00Z"),
        );
        assert_invalid(
            b.figures()
                .get_figure_series(request(
                    TENANT,
                    series_request(over, SeriesStep::Day, (Channel::Unspecified, "", "")),
                ))
                .await,
            "step",
            &[],
        );
        // The same period by week is answered.
        let weeks = get_series(&b, over, SeriesStep::Week, (Channel::Unspecified, "", "")).await;
        assert_eq!(weeks.len(), 58);
    })
    .await;
}
