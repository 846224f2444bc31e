//! The managers' dashboard over a real socket, on both backends: plain HTTP/1.1 GETs on
//! the gRPC port answer `/dashboard/{tenant}` (HTML with SVG charts and tables) and
//! `.csv`; the page needs the dashboard credential when credentials are configured
//! (401 with `WWW-Authenticate` without one, 403 for another role or tenant); the CSV
//! equals GetFigureSeries for the same query, filters included; a bad query is a 400;
//! tenant-provided text is escaped.

use midoffice_api::auth::{Access, AccessConfig, ApiKey, Grant, Role, key_hash, new_key};
use midoffice_domain::TenantId;
use midoffice_tests::http::{get, get_with};
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Backend, Setup, TENANT, TestDatabase, database_test, date, on_backend, on_backend_with, request,
};

fn key_entry(name: &str, key: &str, tenants: &[&str], roles: &[Role]) -> ApiKey {
    ApiKey {
        name: name.to_owned(),
        sha256: key_hash(key),
        grant: Grant {
            tenants: tenants
                .iter()
                .map(|t| TenantId::parse(t).unwrap())
                .collect(),
            roles: roles.to_vec(),
            channels: None,
        },
    }
}

const PERIOD: &str = "from=2026-07-01&to=2026-10-31";

database_test!(the_dashboard_needs_the_dashboard_credential);
async fn the_dashboard_needs_the_dashboard_credential(database: TestDatabase) {
    let dash = new_key().unwrap();
    let channel = new_key().unwrap();
    let other = new_key().unwrap();
    let access = Access::configured(AccessConfig {
        keys: vec![
            key_entry("dash", &dash, &[TENANT], &[Role::Dashboard]),
            key_entry("channel", &channel, &[TENANT], &[Role::Channel]),
            key_entry("other", &other, &["gemeente-b"], &[Role::Dashboard]),
        ],
        ..Default::default()
    });
    let setup = Setup {
        access,
        ..Default::default()
    };
    on_backend_with(database, setup, |b| async move {
        let page = format!("/dashboard/{TENANT}?{PERIOD}");
        for (target, extra) in [
            (page.as_str(), String::new()),
            (page.as_str(), "Authorization: Bearer mo_00\r\n".to_owned()),
            (page.as_str(), "Authorization: Basic eDp5\r\n".to_owned()),
            // A bad query tells a stranger nothing either.
            ("/dashboard/gemeente-a?step=year", String::new()),
            ("/dashboard/gemeente-a.csv", String::new()),
        ] {
            let a = get_with(&b, target, &extra).await;
            assert_eq!(a.status, 401, "{target} {extra}: {}", a.body);
            assert!(
                a.header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Bearer")),
                "{:?}",
                a.headers
            );
            assert!(!a.body.contains("<svg") && !a.body.contains("contacts"));
            assert!(!a.body.contains("mo_00"), "the credential is echoed");
        }
        for key in [&channel, &other] {
            let a = get_with(&b, &page, &format!("Authorization: Bearer {key}\r\n")).await;
            assert_eq!(a.status, 403, "{}", a.body);
            assert!(!a.body.contains("<svg"));
        }
        let a = get_with(&b, &page, &format!("Authorization: Bearer {dash}\r\n")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.body.contains("<svg"), "charts");
        // No display name in its settings: the heading names the tenant by its code.
        assert!(a.body.contains(&format!(" – {TENANT}</h1>")), "{}", a.body);
        assert_eq!(a.header("cache-control"), Some("no-store"));
        let a = get_with(
            &b,
            &format!("/dashboard/{TENANT}.csv?{PERIOD}"),
            &format!("x-api-key: {dash}\r\n"),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.body.starts_with("period_from,period_to,contacts,"));
        // The other tenant's key sees its own tenant.
        let a = get_with(
            &b,
            &format!("/dashboard/gemeente-b?{PERIOD}"),
            &format!("Authorization: Bearer {other}\r\n"),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
    })
    .await;
}

/// Phone and web contacts from July to October 2026, on two topics.
async fn fixture(b: &Backend) {
    for month in 7..=10 {
        for i in 0..6 {
            let day = 1 + i * 3;
            let started = format!("2026-{month:02}-{day:02}T09:00:00Z");
            let answered = format!(
                "2026-{month:02}-{day:02}T09:00:{:02}Z",
                (10 + i * month) % 60
            );
            let ended = format!("2026-{month:02}-{day:02}T09:10:00Z");
            let (channel, topic) = if i % 3 == 0 {
                (Channel::Web, "paspoort")
            } else {
                (Channel::Phone, "afval")
            };
            let mut contact = midoffice_tests::start(channel, &started, None, topic);
            contact.department = "kcc".into();
            b.record(
                TENANT,
                pb::RecordContactRequest {
                    request_id: String::new(),
                    start: Some(contact),
                    completion: Some(midoffice_tests::resolved(&answered, &ended, "Vraag.")),
                    context_seen: false,
                },
            )
            .await;
        }
    }
}

/// Parses RFC 4180 CSV without quoted fields (the dashboard's fields are numbers and
/// dates).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    assert!(text.ends_with("\r\n"), "CRLF row ends");
    text.split_terminator("\r\n")
        .map(|row| row.split(',').map(str::to_owned).collect())
        .collect()
}

async fn series(
    b: &Backend,
    step: pb::SeriesStep,
    channel: Channel,
    topic: &str,
) -> Vec<pb::SeriesPoint> {
    b.figures()
        .get_figure_series(request(
            TENANT,
            pb::GetFigureSeriesRequest {
                period: Some(pb::Period {
                    start_date: Some(date(2026, 7, 1)),
                    end_date: Some(date(2026, 11, 1)),
                    as_of: None,
                }),
                step: step as i32,
                channel: channel as i32,
                topic: topic.into(),
                department: String::new(),
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetFigureSeries failed: {s:?}"))
        .into_inner()
        .points
}

fn day(d: &pb::Date) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32).unwrap()
}

/// Each CSV row equals the series point of its period.
fn assert_equal(rows: &[Vec<String>], points: &[pb::SeriesPoint]) {
    let header = &rows[0];
    assert_eq!(rows.len(), 1 + points.len(), "a row per period");
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let ratio = |r: Option<f64>| r.map(|v| v.to_string()).unwrap_or_default();
    for (row, p) in rows[1..].iter().zip(points) {
        let f = p.figures.as_ref().unwrap();
        let from = day(p.start_date.as_ref().unwrap());
        let last = day(p.end_date.as_ref().unwrap()).pred_opt().unwrap();
        assert_eq!(row[col("period_from")], from.to_string());
        assert_eq!(row[col("period_to")], last.to_string());
        assert_eq!(row[col("contacts")], f.contacts.to_string(), "{from}");
        assert_eq!(row[col("cases")], f.cases.to_string(), "{from}");
        for (name, v) in [
            ("first_contact_resolution", f.first_contact_resolution),
            ("repeat_contact_rate", f.repeat_contact_rate),
            ("referral_rate", f.referral_rate),
            ("repeat_story_rate", f.repeat_story_rate),
            ("satisfaction_score", f.satisfaction_score),
            ("effort_score", f.effort_score),
        ] {
            assert_eq!(row[col(name)], ratio(v), "{name} {from}");
        }
        assert_eq!(
            row[col("cases_referred_more_than_once")],
            f.cases_referred_more_than_once.to_string()
        );
        assert_eq!(row[col("channel_hops")], f.channel_hops.to_string());
        for rt in &f.response_times {
            let c = Channel::try_from(rt.channel).unwrap();
            let name = c
                .as_str_name()
                .trim_start_matches("CHANNEL_")
                .to_lowercase();
            assert_eq!(
                row[col(&format!("response_p50_seconds_{name}"))],
                rt.p50_seconds.to_string(),
                "{name} {from}"
            );
        }
    }
}

database_test!(the_csv_equals_get_figure_series_for_the_same_query);
async fn the_csv_equals_get_figure_series_for_the_same_query(database: TestDatabase) {
    on_backend(database, |b| async move {
        fixture(&b).await;
        // A citizen who tried the web in August and phoned the next day: a channel hop
        // to the phone (the fixture's contacts are anonymous, so they hop nowhere).
        for (channel, started, ended, outcome) in [
            (
                Channel::Web,
                "2026-08-20T20:00:00Z",
                "2026-08-20T20:05:00Z",
                pb::Outcome::Referred,
            ),
            (
                Channel::Phone,
                "2026-08-21T09:00:00Z",
                "2026-08-21T09:10:00Z",
                pb::Outcome::Resolved,
            ),
        ] {
            let mut contact = midoffice_tests::start(
                channel,
                started,
                Some(midoffice_tests::bsn("999990019")),
                "afval",
            );
            contact.department = "kcc".into();
            let mut completion = midoffice_tests::resolved(started, ended, "Vraag over afval.");
            completion.outcome = outcome as i32;
            completion.department = "kcc".into();
            if outcome == pb::Outcome::Referred {
                completion.referred_to = Some(pb::ReferralTarget {
                    target: Some(pb::referral_target::Target::Department(
                        "burgerzaken".into(),
                    )),
                });
            }
            b.record(
                TENANT,
                pb::RecordContactRequest {
                    request_id: String::new(),
                    start: Some(contact),
                    completion: Some(completion),
                    context_seen: false,
                },
            )
            .await;
        }
        // Monthly, unfiltered: the channel mix adds a column per channel.
        let a = get(&b, &format!("/dashboard/{TENANT}.csv?{PERIOD}&step=month")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(
            a.header("content-type"),
            Some("text/csv; charset=utf-8; header=present")
        );
        let rows = parse_csv(&a.body);
        let points = series(&b, pb::SeriesStep::Month, Channel::Unspecified, "").await;
        assert_eq!(points.len(), 4);
        assert_equal(&rows, &points);
        let phone = rows[0].iter().position(|h| h == "contacts_phone").unwrap();
        let web = rows[0].iter().position(|h| h == "contacts_web").unwrap();
        assert_eq!((rows[1][phone].as_str(), rows[1][web].as_str()), ("4", "2"));
        assert_eq!(rows[1][2], "6");
        // The hops by the assisted channel they went to add up to the hops.
        let at = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
        assert!(!rows[0].iter().any(|h| h == "channel_hops_web"));
        for row in &rows[1..] {
            let by_channel: u64 = ["phone", "counter", "email"]
                .iter()
                .map(|c| {
                    row[at(&format!("channel_hops_{c}"))]
                        .parse::<u64>()
                        .unwrap()
                })
                .sum();
            assert_eq!(by_channel.to_string(), row[at("channel_hops")]);
        }
        // August holds the one hop, to the phone.
        assert_eq!(rows[2][0], "2026-08-01", "{:?}", rows[2]);
        assert_eq!(rows[2][at("channel_hops_phone")], "1", "{:?}", rows[2]);
        assert_eq!(rows[2][at("channel_hops")], "1", "{:?}", rows[2]);

        // Filtered by channel and topic, weekly (the default for four months is monthly).
        let a = get(
            &b,
            &format!("/dashboard/{TENANT}.csv?{PERIOD}&step=week&channel=phone&topic=afval"),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        let rows = parse_csv(&a.body);
        let points = series(&b, pb::SeriesStep::Week, Channel::Phone, "afval").await;
        assert_equal(&rows, &points);
        assert!(!rows[0].iter().any(|h| h == "contacts_phone"));
        let total: u64 = rows[1..].iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
        assert_eq!(total, 17, "phone contacts on afval (16 and the hop)");

        // A topic nobody asked about.
        let a = get(
            &b,
            &format!("/dashboard/{TENANT}.csv?{PERIOD}&topic=parkeren"),
        )
        .await;
        let rows = parse_csv(&a.body);
        assert_eq!(rows.len(), 5, "monthly by default for four months");
        assert!(rows[1..].iter().all(|r| r[2] == "0"));
    })
    .await;
}

database_test!(the_page_draws_charts_with_tables_and_escapes_text);
async fn the_page_draws_charts_with_tables_and_escapes_text(database: TestDatabase) {
    on_backend(database, |b| async move {
        fixture(&b).await;
        b.change_settings(TENANT, |s| {
            s.norms[0].title = "Snel <script>alert(1)</script> & \"zo\"".into();
        })
        .await;
        let a = get(
            &b,
            &format!("/dashboard/{TENANT}?{PERIOD}&channel=web&department=kcc&lang=en"),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(a.header("x-frame-options"), Some("DENY"));
        let csp = a.header("content-security-policy").unwrap();
        assert!(!csp.contains("script-src") && csp.contains("style-src 'sha256-"));
        let html = &a.body;
        assert!(html.contains("<html lang=\"en\">"));
        assert!(!html.to_lowercase().contains("<script"), "raw script");
        assert!(html.contains("Snel &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;zo&quot;"));
        // Nine chart families, each an SVG with a text alternative and a table.
        assert_eq!(html.matches("<svg").count(), 9, "{html}");
        assert_eq!(html.matches("role=\"img\"").count(), 9);
        assert_eq!(html.matches("<table>").count(), 9);
        assert!(html.contains("First-contact resolution"));
        // The form keeps the filter.
        assert!(html.contains("<option value=\"web\" selected>"));
        assert!(html.contains("name=\"department\" value=\"kcc\""));
        assert!(html.contains("<option value=\"month\" selected>"));

        // Bad queries: 400 with a plain list.
        for q in [
            "step=year",
            "channel=fax",
            "topic=%3Cb%3E",
            "from=2026-01-01",
            "from=2026-02-30&to=2026-03-01",
            "from=2020-01-01&to=2026-01-01",
            "from=2026-01-01&to=2026-12-31&step=day&step=week",
        ] {
            let a = get(&b, &format!("/dashboard/{TENANT}?{q}")).await;
            assert_eq!(a.status, 400, "{q}: {}", a.body);
            assert!(a.header("content-type").unwrap().starts_with("text/plain"));
            assert!(!a.body.contains("<b>"), "{q}");
        }
        // Too many points for the step.
        let a = get(
            &b,
            &format!("/dashboard/{TENANT}?from=2024-01-01&to=2026-01-01&step=day"),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert_eq!(get(&b, "/dashboard/Not-A-Tenant").await.status, 404);
    })
    .await;
}
