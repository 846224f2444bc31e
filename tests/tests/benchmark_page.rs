//! The benchmark over real sockets, on both backends: `BenchmarkService.GetBenchmark`
//! for the dashboard credential and the public page `/benchmark/{group}` (HTML and
//! `.json`). Ten local tenants take part in one group for the last month whose group
//! is due today (recorded after the fact through RecordContact; relative to today, so
//! the test never falls out of the window in which a group-period may be composed),
//! four in another, one does not take part.
//!
//! Checked: every group figure equals a direct computation (type 7 quartiles) over the
//! members' own counts as each sees them; a group of four shows nothing (RPC and page);
//! a participant whose value rests on 29 items is not shown nor counted, on 30 it is;
//! a flagged participant sees its values but is left out and has no position; the page
//! and its JSON agree with the RPC; a participant that did not choose to be named
//! appears nowhere on the page or in its JSON, nor does a value of its own that is not a
//! group figure; the errors (field violations, not taking part, not composed yet, too
//! late, not a member); a public request never composes a group; unknown groups are 404.

use midoffice_domain::benchmark::{BenchmarkPeriod, DEFAULT_GRACE_DAYS, latest_composable};
use midoffice_tests::http::{get, send_to};
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Backend, TestDatabase, assert_code, database_test, on_backend, request, valid_bsns,
    violated_fields,
};
use std::collections::BTreeMap;
use tonic_types::StatusExt;

const GROUP: &str = "g-proef";
const SMALL: &str = "g-klein";
/// The members of the main group that did not choose to be named.
const UNNAMED: [&str; 7] = ["bm-b", "bm-d", "bm-e", "bm-f", "bm-p", "bm-q", "bm-r"];

/// The period of the fixture: the last complete month whose group is due today (with
/// the default grace), so it stays composable whenever the test runs.
fn month() -> BenchmarkPeriod {
    latest_composable(chrono::Utc::now(), DEFAULT_GRACE_DAYS)[0]
}

/// [`month`]'s key, such as `2026-10`.
fn period() -> String {
    month().key()
}

/// One participant of the fixture.
struct Member {
    tenant: &'static str,
    size: u64,
    named: bool,
    display_name: &'static str,
    /// Contacts recorded in the fixture's month: identified unless anonymous.
    contacts: usize,
    referred: usize,
    anonymous: usize,
    abandoned: usize,
}

const fn member(tenant: &'static str, size: u64, contacts: usize, referred: usize) -> Member {
    Member {
        tenant,
        size,
        named: false,
        display_name: "",
        contacts,
        referred,
        anonymous: 0,
        abandoned: 0,
    }
}

/// The group of ten: a, c named (a with a display name); f has 30 contacts of which
/// one abandoned (29 for the referral rate, 30 for the volumes); g mostly anonymous
/// (flagged) and named; p, q, r not named, so that at least five contributors not named
/// stand beside a and c (b, d, e, p, q, r for the referral rate) and their values are
/// shown by name.
fn members() -> Vec<Member> {
    vec![
        Member {
            named: true,
            display_name: "Gemeente Aadorp",
            ..member("bm-a", 20_000, 40, 2)
        },
        member("bm-b", 30_000, 40, 5),
        Member {
            named: true,
            ..member("bm-c", 45_000, 40, 9)
        },
        member("bm-d", 25_000, 40, 14),
        member("bm-e", 12_000, 40, 20),
        Member {
            abandoned: 1,
            ..member("bm-f", 70_000, 30, 3)
        },
        Member {
            named: true,
            anonymous: 25,
            ..member("bm-g", 50_000, 40, 10)
        },
        member("bm-p", 15_000, 40, 3),
        member("bm-q", 50_000, 40, 11),
        member("bm-r", 60_000, 40, 18),
    ]
}

/// The group of four.
fn small() -> Vec<Member> {
    ["bm-k", "bm-l", "bm-m", "bm-n"]
        .into_iter()
        .enumerate()
        .map(|(i, t)| member(t, 10_000 + 1_000 * i as u64, 35, i))
        .collect()
}

async fn take_part(b: &Backend, m: &Member, group: &str) {
    b.change_settings(m.tenant, |s| {
        s.benchmark = Some(pb::BenchmarkParticipation {
            opted_in: true,
            size: m.size,
            peer_group: group.into(),
            named: m.named,
            ..Default::default()
        });
        if !m.display_name.is_empty() {
            s.public_page.get_or_insert_default().display_name = m.display_name.into();
        }
    })
    .await;
}

/// Records the member's contacts of the fixture's month: phone calls answered within 10 seconds, the
/// first `referred` REFERRED, then `abandoned` ABANDONED, the rest RESOLVED.
async fn record(b: &Backend, m: &Member, first_bsn: u32) {
    let ym = period();
    for (i, bsn) in valid_bsns(first_bsn, m.contacts).iter().enumerate() {
        let day = 1 + i % 28;
        let minute = i / 28;
        let started = format!("{ym}-{day:02}T09:{minute:02}:00Z");
        let answered = format!("{ym}-{day:02}T09:{minute:02}:10Z");
        let ended = format!("{ym}-{day:02}T09:{minute:02}:50Z");
        let ids = (i >= m.anonymous).then(|| midoffice_tests::bsn(bsn));
        let mut completion = midoffice_tests::resolved(&answered, &ended, "Vraag beantwoord.");
        if i < m.referred {
            completion.outcome = pb::Outcome::Referred as i32;
            completion.referred_to = Some(pb::ReferralTarget {
                target: Some(pb::referral_target::Target::Organisation(
                    "Belastingdienst".into(),
                )),
            });
        } else if i < m.referred + m.abandoned {
            completion.outcome = pb::Outcome::Abandoned as i32;
            completion.answered_at = None;
            completion.story = String::new();
        }
        b.record(
            m.tenant,
            pb::RecordContactRequest {
                request_id: String::new(),
                start: Some(midoffice_tests::start(
                    Channel::Phone,
                    &started,
                    ids,
                    "paspoort",
                )),
                completion: Some(completion),
                context_seen: false,
            },
        )
        .await;
    }
}

async fn fixture(b: &Backend) {
    for (k, m) in members().iter().enumerate() {
        take_part(b, m, GROUP).await;
        record(b, m, 1_000 * k as u32).await;
    }
    for (k, m) in small().iter().enumerate() {
        take_part(b, m, SMALL).await;
        record(b, m, 20_000 + 1_000 * k as u32).await;
    }
    // One that does not take part, with contacts all the same.
    record(b, &member("bm-z", 10_000, 3, 0), 40_000).await;
}

async fn benchmark(
    b: &Backend,
    tenant: &str,
    period: &str,
    group: &str,
) -> Result<pb::GetBenchmarkResponse, tonic::Status> {
    pb::benchmark_service_client::BenchmarkServiceClient::new(b.channel())
        .get_benchmark(request(
            tenant,
            pb::GetBenchmarkRequest {
                period: period.into(),
                peer_group: group.into(),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn ok(b: &Backend, tenant: &str) -> pb::GetBenchmarkResponse {
    benchmark(b, tenant, &period(), "")
        .await
        .unwrap_or_else(|s| panic!("GetBenchmark for {tenant}: {s:?}"))
}

fn figure<'a>(r: &'a pb::GetBenchmarkResponse, id: &str) -> &'a pb::BenchmarkFigure {
    r.figures
        .iter()
        .find(|f| f.metric.as_ref().is_some_and(|m| m.id == id))
        .unwrap_or_else(|| panic!("no figure {id}"))
}

fn own(f: &pb::BenchmarkFigure) -> Option<&pb::OwnValue> {
    match &f.own {
        Some(pb::benchmark_figure::Own::OwnValue(v)) => Some(v),
        _ => None,
    }
}

fn group(f: &pb::BenchmarkFigure) -> Option<&pb::GroupFigure> {
    match &f.group {
        Some(pb::benchmark_figure::Group::GroupFigure(g)) => Some(g),
        Some(pb::benchmark_figure::Group::GroupWithheld(_)) => None,
        None => panic!("a figure without a group value"),
    }
}

/// Type 7 quantile of sorted values, written out here as the docs define it.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

/// The value of counts as the metric's unit says.
fn value(unit: i32, numerator: u64, denominator: u64) -> f64 {
    let v = numerator as f64 / denominator as f64;
    if unit == pb::MetricUnit::PerThousandInhabitants as i32 {
        1000.0 * v
    } else {
        v
    }
}

database_test!(group_figures_equal_a_direct_computation_and_the_rules_hold);
async fn group_figures_equal_a_direct_computation_and_the_rules_hold(database: TestDatabase) {
    on_backend(database, |b| async move {
        fixture(&b).await;
        // Not composed yet: a public request does not compose it.
        assert_eq!(get(&b, &format!("/benchmark/{GROUP}")).await.status, 404);

        let views: BTreeMap<&str, pb::GetBenchmarkResponse> = {
            let mut v = BTreeMap::new();
            for m in members() {
                v.insert(m.tenant, ok(&b, m.tenant).await);
            }
            v
        };
        let a = &views["bm-a"];
        assert_eq!(a.peer_group, GROUP);
        assert_eq!(a.period, period());
        assert_eq!(a.participants, 10);
        assert!(a.composed_at.is_some());
        // Fixed: every member sees the same composition and the same group figures.
        for v in views.values() {
            assert_eq!(v.composed_at, a.composed_at);
            let groups = |r: &pb::GetBenchmarkResponse| -> Vec<_> {
                r.figures.iter().map(|f| f.group).collect()
            };
            assert_eq!(groups(v), groups(a));
        }

        // Every metric: the members' own counts (not flagged, shown), type 7.
        for f in &a.figures {
            let m = f.metric.as_ref().unwrap();
            let mut values: Vec<f64> = views
                .values()
                .filter(|v| v.flags.is_empty())
                .filter_map(|v| own(figure(v, &m.id)))
                .map(|o| {
                    assert!(
                        o.items >= m.min_items,
                        "{}: shown on {} items",
                        m.id,
                        o.items
                    );
                    let x = value(m.unit, o.numerator, o.denominator);
                    assert!(close(x, o.value), "{}: {x} vs {}", m.id, o.value);
                    x
                })
                .collect();
            values.sort_by(f64::total_cmp);
            match group(f) {
                Some(g) => {
                    assert!(values.len() >= 5, "{}: shown on {}", m.id, values.len());
                    assert_eq!(g.contributors as usize, values.len(), "{}", m.id);
                    assert!(close(g.q1, quantile(&values, 0.25)), "{}: q1", m.id);
                    assert!(close(g.median, quantile(&values, 0.5)), "{}: median", m.id);
                    assert!(close(g.q3, quantile(&values, 0.75)), "{}: q3", m.id);
                }
                None => assert!(values.len() < 5, "{}: withheld with {}", m.id, values.len()),
            }
        }

        // From what was recorded, not from the answers: every member's volume is its
        // contacts per its size, and every call not abandoned was answered within 10 s
        // (the norm: 20 s).
        for m in members() {
            let v = &views[m.tenant];
            let volume = own(figure(v, "contacts-per-1000")).expect("30 or more contacts");
            assert_eq!(
                (volume.numerator, volume.denominator),
                (m.contacts as u64, m.size),
                "{}",
                m.tenant
            );
            assert!(close(
                volume.value,
                m.contacts as f64 * 1000.0 / m.size as f64
            ));
            // An abandoned call (after 50 s, not within 5 s) counts, unanswered.
            let phone = own(figure(v, "phone-answered-20s")).expect("30 or more calls");
            let answered = (m.contacts - m.abandoned) as f64 / m.contacts as f64;
            assert!(
                close(phone.value, answered),
                "{}: {}",
                m.tenant,
                phone.value
            );
        }
        // The referral rate from what was recorded: all but f (29 items, not abandoned)
        // and g (mostly anonymous, flagged) contribute.
        let mut rates: Vec<f64> = members()
            .iter()
            .filter(|m| m.anonymous == 0 && m.contacts - m.abandoned >= 30)
            .map(|m| m.referred as f64 / (m.contacts - m.abandoned) as f64)
            .collect();
        rates.sort_by(f64::total_cmp);
        let rr = figure(a, "referral-rate");
        let g = group(rr).expect("the referral rate is shown");
        assert_eq!(g.contributors as usize, rates.len());
        assert_eq!(rates.len(), 8);
        assert!(close(g.q1, quantile(&rates, 0.25)), "q1 {}", g.q1);
        assert!(
            close(g.median, quantile(&rates, 0.5)),
            "median {}",
            g.median
        );
        assert!(close(g.q3, quantile(&rates, 0.75)), "q3 {}", g.q3);
        let def = rr.metric.as_ref().unwrap();
        assert_eq!((def.version, def.min_items), (1, 30));
        assert_eq!(def.direction, pb::MetricDirection::LowerIsBetter as i32);
        // a: 5% is below Q1, the best quarter of a lower-is-better metric.
        assert_eq!(own(rr).unwrap().numerator, 2);
        assert_eq!(rr.position, pb::BenchmarkQuarter::Lowest as i32);
        assert_eq!(rr.standing, pb::BenchmarkStanding::BestQuarter as i32);
        let e = figure(&views["bm-e"], "referral-rate");
        assert_eq!(e.position, pb::BenchmarkQuarter::Highest as i32);
        assert_eq!(e.standing, pb::BenchmarkStanding::WorstQuarter as i32);

        // f: 29 items for the referral rate, not shown nor counted; 30 for the volume:
        // shown and counted.
        let f = &views["bm-f"];
        assert_eq!(
            figure(f, "referral-rate").own,
            Some(pb::benchmark_figure::Own::TooFewItems(pb::TooFewItems {
                items: 29,
                min_items: 30
            }))
        );
        assert_eq!(figure(f, "referral-rate").position, 0);
        let volume = figure(f, "contacts-per-1000");
        assert_eq!(own(volume).map(|o| (o.numerator, o.items)), Some((30, 30)));
        assert_ne!(volume.position, 0);
        assert_eq!(volume.standing, 0, "neither way is better for a volume");
        // The volume rests on all but g (flagged): nine.
        assert_eq!(group(volume).unwrap().contributors, 9);

        // g: flagged, sees its values, no position anywhere, counted nowhere.
        let flagged = &views["bm-g"];
        assert_eq!(
            flagged.flags,
            [pb::RegistrationFlag::MostlyAnonymous as i32]
        );
        assert!(own(figure(flagged, "contacts-per-1000")).is_some());
        assert!(
            flagged
                .figures
                .iter()
                .all(|f| f.position == 0 && f.standing == 0)
        );

        // The group of four shows nothing, for any metric.
        let k = ok(&b, "bm-k").await;
        assert_eq!(k.participants, 4);
        assert!(k.figures.iter().all(|f| group(f).is_none()));
        assert!(k.figures.iter().all(|f| f.position == 0));
        assert!(own(figure(&k, "contacts-per-1000")).is_some());

        // The JSON API's route answers the same.
        let api = send_to(
            b.addr(),
            "GET",
            &format!("/api/v1/benchmark?period={}", period()),
            "x-tenant: bm-a\r\n",
        )
        .await;
        assert_eq!(api.status, 200, "{}", api.body);
        let api: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        assert_eq!(api["peerGroup"], GROUP);
        assert_eq!(api["participants"], 10);
        let rr_api = api["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["metric"]["id"] == "referral-rate")
            .unwrap();
        assert_eq!(rr_api["groupFigure"]["median"].as_f64(), Some(g.median));
        assert_eq!(rr_api["standing"], "BENCHMARK_STANDING_BEST_QUARTER");

        page_agrees(&b, a, &views).await;
        small_page(&b).await;
    })
    .await;
}

/// The page and its JSON say what the RPC says, name only the named participants and
/// show no value of another that is not a group figure.
async fn page_agrees(
    b: &Backend,
    a: &pb::GetBenchmarkResponse,
    views: &BTreeMap<&str, pb::GetBenchmarkResponse>,
) {
    let json = get(b, &format!("/benchmark/{GROUP}.json")).await;
    assert_eq!(json.status, 200, "{}", json.body);
    assert_eq!(json.header("access-control-allow-origin"), Some("*"));
    let data: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(data["group"], GROUP);
    assert_eq!(data["period"], period());
    assert_eq!(data["participants"], 10);
    assert_eq!(data["periods"], serde_json::json!([period()]));
    let metrics = data["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), a.figures.len());
    for (j, f) in metrics.iter().zip(&a.figures) {
        let m = f.metric.as_ref().unwrap();
        assert_eq!(j["metric"]["id"], m.id.as_str());
        assert_eq!(j["metric"]["version"], m.version);
        assert_eq!(j["metric"]["min_items"], m.min_items);
        assert_eq!(j["metric"]["numerator"], m.numerator.as_str());
        match group(f) {
            Some(g) => {
                assert_eq!(j["withheld"], false);
                assert_eq!(j["group"]["contributors"], g.contributors);
                assert_eq!(j["group"]["q1"].as_f64(), Some(g.q1));
                assert_eq!(j["group"]["median"].as_f64(), Some(g.median));
                assert_eq!(j["group"]["q3"].as_f64(), Some(g.q3));
            }
            None => {
                assert_eq!(j["withheld"], true);
                assert!(j.get("group").is_none(), "{}: withheld says more", m.id);
            }
        }
        // Named: a and c with their shown values (g is flagged: never).
        let named: BTreeMap<String, f64> = j["named"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["participant"].as_str().unwrap().to_owned(),
                    n["value"].as_f64().unwrap(),
                )
            })
            .collect();
        // A named value is shown only beside at least 5 contributors not named (the
        // quartiles would single out a smaller rest): the referral rate has b, d, e, p,
        // q, r not named and the volume b, d, e, f, p, q, r, so a's and c's are shown.
        let contributors: Vec<&str> = views
            .iter()
            .filter(|(_, v)| v.flags.is_empty() && own(figure(v, &m.id)).is_some())
            .map(|(t, _)| *t)
            .collect();
        let unnamed = contributors
            .iter()
            .filter(|t| !["bm-a", "bm-c", "bm-g"].contains(t))
            .count();
        for (tenant, v) in views {
            let shown = own(figure(v, &m.id)).map(|o| o.value);
            let expected = match (*tenant, shown) {
                ("bm-a" | "bm-c", Some(x)) if v.flags.is_empty() && unnamed >= 5 => Some(x),
                _ => None,
            };
            assert_eq!(named.get(*tenant).copied(), expected, "{} {tenant}", m.id);
            // Nobody else's own value is in the open data, unless it is a group figure.
            if expected.is_none()
                && let Some(x) = shown
            {
                let is_quartile =
                    group(f).is_some_and(|g| [g.q1, g.median, g.q3].iter().any(|q| close(*q, x)));
                let anywhere = numbers(j).iter().any(|n| close(*n, x));
                assert!(
                    is_quartile || !anywhere,
                    "{} of {tenant} ({x}) is shown",
                    m.id
                );
            }
        }
        if let Some(n) = j["named"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["participant"] == "bm-a")
        {
            assert_eq!(n["name"], "Gemeente Aadorp");
        }
    }
    for hidden in UNNAMED {
        assert!(!json.body.contains(hidden), "{hidden} in the JSON");
    }
    // a's referral rate (2 of 40) and c's (9 of 40) are named values.
    let rr_json = metrics
        .iter()
        .find(|j| j["metric"]["id"] == "referral-rate")
        .unwrap();
    let named_rr: BTreeMap<&str, f64> = rr_json["named"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["participant"].as_str().unwrap(),
                n["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        named_rr,
        BTreeMap::from([("bm-a", 2.0 / 40.0), ("bm-c", 9.0 / 40.0)]),
        "{rr_json}"
    );

    let html = get(b, &format!("/benchmark/{GROUP}")).await;
    assert_eq!(html.status, 200, "{}", html.body);
    let csp = html.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(html.header("x-frame-options"), Some("DENY"));
    assert!(html.body.contains("<html lang=\"nl\">"));
    assert!(html.body.contains("href=\"#main\""));
    for hidden in UNNAMED {
        assert!(!html.body.contains(hidden), "{hidden} on the page");
    }
    // Named, with an anchor each: a by its display name, c by its id; g (flagged) named
    // without values.
    assert!(html.body.contains("id=\"deelnemer-bm-a\""));
    assert!(html.body.contains("Gemeente Aadorp"));
    assert!(html.body.contains("id=\"deelnemer-bm-c\""));
    assert!(html.body.contains("id=\"deelnemer-bm-g\""));
    // The referral rate's median (10 of 40, between 9 and 11); a's own 5,0% and c's
    // 22,5% are shown in a table in their own sections, beside six contributors not
    // named.
    assert!(html.body.contains("25,0%"), "the median");
    let section = |id: &str| {
        html.body
            .split(&format!("id=\"deelnemer-{id}\""))
            .nth(1)
            .and_then(|rest| rest.split("</section>").next())
            .unwrap_or_else(|| panic!("no section of {id}"))
            .to_owned()
    };
    let a_section = section("bm-a");
    assert!(
        a_section.contains("<table") && shows_percent(&a_section, "5,0%"),
        "a's values are not shown: {a_section}"
    );
    let c_section = section("bm-c");
    assert!(
        c_section.contains("<table") && shows_percent(&c_section, "22,5%"),
        "c's values are not shown: {c_section}"
    );
    // e's 50,0% is nobody's group figure nor named: not shown.
    assert!(
        !html.body.contains("50,0%"),
        "e's referral rate is on the page"
    );
    // Every published definition is on the page: id, version, what is counted.
    for f in &a.figures {
        let m = f.metric.as_ref().unwrap();
        assert!(
            html.body
                .contains(&format!("<code>{}</code> v{}", m.id, m.version)),
            "{}",
            m.id
        );
        assert!(html.body.contains(&m.title_nl), "{}", m.id);
    }
    let en = get(b, &format!("/benchmark/{GROUP}?lang=en&embed=1")).await;
    assert_eq!(en.status, 200);
    assert!(en.body.contains("<html lang=\"en\">"));
    assert!(en.body.contains("25.0%"));
    assert!(
        !en.body.contains("href=\"#main\""),
        "no skip link when embedded"
    );
    assert!(en.header("x-frame-options").is_none());
    assert!(
        en.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors https:")
    );
}

/// Whether `text` holds the percentage `pct` on its own (not the tail of a larger
/// number, such as 5,0% in 25,0%).
fn shows_percent(text: &str, pct: &str) -> bool {
    text.match_indices(pct)
        .any(|(i, _)| i == 0 || !text.as_bytes()[i - 1].is_ascii_digit())
}

/// Every number in a JSON value.
fn numbers(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64().into_iter().collect(),
        serde_json::Value::Array(a) => a.iter().flat_map(numbers).collect(),
        serde_json::Value::Object(o) => o.values().flat_map(numbers).collect(),
        _ => Vec::new(),
    }
}

/// The group of four: the page says there are not enough participants and no number.
async fn small_page(b: &Backend) {
    let html = get(b, &format!("/benchmark/{SMALL}")).await;
    assert_eq!(html.status, 200);
    assert_eq!(
        html.body.matches("niet genoeg deelnemers").count(),
        pb_metric_count(),
    );
    assert!(
        !html.body.contains("Mediaan"),
        "a withheld figure says more"
    );
    assert!(!html.body.contains("<svg"), "a withheld figure is drawn");
    let json = get(b, &format!("/benchmark/{SMALL}.json")).await;
    let data: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(
        data["participants"],
        serde_json::Value::Null,
        "{}",
        json.body
    );
    for m in data["metrics"].as_array().unwrap() {
        assert_eq!(m["withheld"], true);
        assert!(m.get("group").is_none());
        assert_eq!(m["named"], serde_json::json!([]));
    }
}

fn pb_metric_count() -> usize {
    midoffice_domain::benchmark::metrics().len()
}

database_test!(refusals_say_why);
async fn refusals_say_why(database: TestDatabase) {
    on_backend(database, |b| async move {
        fixture(&b).await;
        // Field violations, every field named.
        let s = benchmark(&b, "bm-a", "2026-13", "Geen Code")
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert_eq!(violated_fields(&s), ["period", "peer_group"]);
        let s = benchmark(&b, "bm-a", "", "").await.unwrap_err();
        assert_eq!(violated_fields(&s), ["period"]);
        let api = send_to(
            b.addr(),
            "GET",
            "/api/v1/benchmark?period=2026-13",
            "x-tenant: bm-a\r\n",
        )
        .await;
        assert_eq!(api.status, 400, "{}", api.body);
        assert!(api.body.contains("INVALID_FIELDS"), "{}", api.body);
        let reason = |s: &tonic::Status| {
            s.get_error_details()
                .error_info()
                .map(|i| i.reason.clone())
                .unwrap_or_default()
        };
        // Not taking part.
        let s = assert_code(
            benchmark(&b, "bm-z", &period(), "").await,
            tonic::Code::FailedPrecondition,
            &[],
        );
        assert_eq!(reason(&s), "BENCHMARK_NOT_TAKING_PART");
        // Not over yet: says from when.
        let s = benchmark(&b, "bm-a", "2999", "").await.unwrap_err();
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
        assert_eq!(reason(&s), "BENCHMARK_NOT_COMPOSED");
        assert!(s.message().contains("3000-01"), "{}", s.message());
        // Never composed and past its window: never will be, says until when.
        let s = benchmark(&b, "bm-a", "2001", "").await.unwrap_err();
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
        assert_eq!(reason(&s), "BENCHMARK_TOO_LATE");
        assert!(s.message().contains("2002-04-11"), "{}", s.message());
        // Composed with a..g and p..r; h joins afterwards: not a member of the month's group.
        ok(&b, "bm-a").await;
        take_part(&b, &member("bm-h", 10_000, 0, 0), GROUP).await;
        let s = benchmark(&b, "bm-h", &period(), "").await.unwrap_err();
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
        assert_eq!(reason(&s), "BENCHMARK_NOT_A_MEMBER");
        // Nor of another group it names.
        let s = benchmark(&b, "bm-a", &period(), SMALL).await.unwrap_err();
        assert_eq!(reason(&s), "BENCHMARK_NOT_A_MEMBER");
        // ... and its call composed nothing: a caller composes only its own group.
        assert_eq!(
            get(&b, &format!("/benchmark/{SMALL}?period={}", period()))
                .await
                .status,
            404
        );
        // h's later membership changes nothing of the month's group.
        assert_eq!(ok(&b, "bm-b").await.participants, 10);

        // The page: unknown group, a period not composed, a bad query.
        assert_eq!(get(&b, "/benchmark/g-onbekend").await.status, 404);
        assert_eq!(get(&b, "/benchmark/Niet_Een_Code").await.status, 404);
        assert_eq!(
            get(
                &b,
                &format!("/benchmark/{GROUP}?period={}", month().previous().key())
            )
            .await
            .status,
            404
        );
        assert_eq!(
            get(&b, &format!("/benchmark/{GROUP}?period=2026-9"))
                .await
                .status,
            400
        );
        assert_eq!(
            get(&b, &format!("/benchmark/{GROUP}?period={}", period()))
                .await
                .status,
            200
        );
    })
    .await;
}

/// The browser checks of the page (axe-core, WCAG 2.1 A/AA, at 320 and 1280 px; Dutch,
/// English and embedded; no sideways scroll; the skip link by keyboard) on the
/// fixture's group. Ignored by default, as it needs Chromium and `npm ci` in
/// `tests/browser`; `.ci/run` runs it.
#[tokio::test]
#[ignore = "needs Chromium and the npm packages of tests/browser; .ci/run runs it"]
async fn browser() {
    on_backend(TestDatabase::Sqlite, |b| async move {
        fixture(&b).await;
        ok(&b, "bm-a").await;
        ok(&b, "bm-k").await;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let artifacts = std::env::var("THERMOMETER_ARTIFACTS").unwrap_or_else(|_| {
            dir.join("../target/browser-artifacts")
                .to_string_lossy()
                .into_owned()
        });
        let pages = [GROUP, SMALL].map(|g| format!("{}/benchmark/{g}", b.url()));
        let script = dir.join("browser/benchmark.mjs");
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new("node")
                .arg(script)
                .args(pages)
                .arg(artifacts)
                .status()
        })
        .await
        .expect("the browser task")
        .expect("node runs");
        assert!(status.success(), "the browser checks failed: {status}");
    })
    .await;
}
