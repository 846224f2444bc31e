//! The reference console over a real socket, on both backends: plain HTTP/1.1 on the
//! gRPC port. Access is the `channel` credential's (401 without, 403 for another role
//! or tenant; in development mode loopback only, not through a proxy); a POST from
//! another site, or without the page's token, is refused and writes nothing; a BSN
//! typed into the look-up never appears in a URL or a response header; and a referral
//! and a return visit walk through the screens: look up, start, a refused completion
//! shown with its field violation and the values kept, complete as referred, look up
//! again, start again, and the contact shows "referred before" and the story told.

use midoffice_api::auth::{Access, AccessConfig, ApiKey, Grant, Role, key_hash, new_key};
use midoffice_domain::TenantId;
use midoffice_tests::http::{Answer, post_form, send_to};
use midoffice_tests::{
    Backend, Setup, TENANT, TestDatabase, database_test, on_backend, on_backend_with, valid_bsns,
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

/// A browser's same-origin headers for a POST to `b`.
fn same_origin(b: &Backend) -> String {
    format!(
        "Origin: http://{}\r\nSec-Fetch-Site: same-origin\r\n",
        b.addr()
    )
}

/// The `n`th form token of a page.
fn token(page: &str, n: usize) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = page
        .match_indices(marker)
        .nth(n)
        .unwrap_or_else(|| panic!("no form token {n} in {page}"))
        .0
        + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

/// The console cookie an answer sets, as a `Cookie:` header line.
fn cookie(a: &Answer) -> String {
    let set = a
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no cookie: {:?}", a.headers));
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let pair = set.split(';').next().unwrap();
    format!("Cookie: {pair}\r\n")
}

/// No BSN in any header of an answer (its `Location` included).
fn no_bsn_in_headers(a: &Answer, bsn: &str) {
    for (n, v) in &a.headers {
        assert!(!v.contains(bsn), "the BSN in the header {n}: {v}");
    }
}

async fn get(b: &Backend, target: &str, extra: &str) -> Answer {
    send_to(b.addr(), "GET", target, extra).await
}

/// Form-encodes `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| {
            let enc = |s: &str| {
                s.bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect::<String>()
            };
            format!("{}={}", enc(n), enc(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

database_test!(the_console_needs_the_channel_credential);
async fn the_console_needs_the_channel_credential(database: TestDatabase) {
    let channel = new_key().unwrap();
    let dash = new_key().unwrap();
    let other = new_key().unwrap();
    let access = Access::configured(AccessConfig {
        keys: vec![
            key_entry("channel", &channel, &[TENANT], &[Role::Channel]),
            key_entry("dash", &dash, &[TENANT], &[Role::Dashboard]),
            key_entry("other", &other, &["gemeente-b"], &[Role::Channel]),
        ],
        ..Default::default()
    });
    let setup = Setup {
        access,
        ..Default::default()
    };
    on_backend_with(database, setup, |b| async move {
        let page = format!("/console/{TENANT}");
        for extra in ["", "Authorization: Bearer mo_00\r\n"] {
            let a = get(&b, &page, extra).await;
            assert_eq!(a.status, 401, "{extra}: {}", a.body);
            assert!(
                a.header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Bearer")),
                "{:?}",
                a.headers
            );
            assert!(!a.body.contains("<form"));
            // A POST is refused before its form is read.
            let a = post_form(b.addr(), &format!("{page}/lookup"), extra, "x=1").await;
            assert_eq!(a.status, 401, "{}", a.body);
        }
        for key in [&dash, &other] {
            let a = get(&b, &page, &format!("Authorization: Bearer {key}\r\n")).await;
            assert_eq!(a.status, 403, "{}", a.body);
            assert!(!a.body.contains("<form"));
        }
        let auth = format!("x-api-key: {channel}\r\n");
        let a = get(&b, &page, &auth).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.body.contains("Burger opzoeken"), "{}", a.body);
        let csp = a.header("content-security-policy").unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("script-src"), "{csp}");
        assert_eq!(a.header("cache-control"), Some("no-store"));
        // The look-up goes through gRPC with the page's credential: it works.
        let bsn = &valid_bsns(300, 1)[0];
        let body = form(&[("csrf", &token(&a.body, 0)), ("identifiers.bsn", bsn)]);
        let extra = format!("{auth}{}", same_origin(&b));
        let a = post_form(b.addr(), &format!("{page}/lookup"), &extra, &body).await;
        assert_eq!(a.status, 303, "{}", a.body);
        assert_eq!(
            a.header("location"),
            Some(format!("/console/{TENANT}/new").as_str())
        );
        // With credentials the console is not loopback development: the cookie is
        // `Secure` (a proxy in front ends TLS).
        assert!(
            a.header("set-cookie")
                .is_some_and(|c| c.contains("; Secure")),
            "{:?}",
            a.headers
        );
        no_bsn_in_headers(&a, bsn);
        // The other tenant's console is another tenant's: its key sees only its own.
        let a = get(&b, "/console/gemeente-b", &auth).await;
        assert_eq!(a.status, 403, "{}", a.body);
    })
    .await;
}

database_test!(in_development_the_console_is_for_local_clients_not_through_a_proxy);
async fn in_development_the_console_is_for_local_clients_not_through_a_proxy(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let page = format!("/console/{TENANT}");
        for header in [
            "X-Forwarded-For: 203.0.113.9\r\n",
            "Forwarded: for=203.0.113.9\r\n",
            "X-Real-IP: 203.0.113.9\r\n",
        ] {
            let a = get(&b, &page, header).await;
            assert_eq!(a.status, 401, "{header}: {}", a.body);
        }
        let a = get(&b, &page, "").await;
        assert_eq!(a.status, 200, "{}", a.body);
        // Unknown paths and tenants that are not codes are 404; a wrong method is 405.
        assert_eq!(get(&b, &format!("{page}/nothing"), "").await.status, 404);
        assert_eq!(get(&b, "/console/Not%20A%20Code", "").await.status, 404);
        let a = get(&b, &format!("{page}/lookup"), "").await;
        assert_eq!(a.status, 405, "{}", a.body);
        let a = post_form(b.addr(), &page, "", "").await;
        assert_eq!(a.status, 405, "{}", a.body);
    })
    .await;
}

database_test!(posts_from_elsewhere_or_without_the_token_are_refused_and_write_nothing);
async fn posts_from_elsewhere_or_without_the_token_are_refused_and_write_nothing(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let base = format!("/console/{TENANT}");
        let bsn = &valid_bsns(400, 1)[0];
        let home = get(&b, &base, "").await;
        let good = token(&home.body, 0);
        let lookup = form(&[("csrf", &good), ("identifiers.bsn", bsn)]);
        let a = post_form(
            b.addr(),
            &format!("{base}/lookup"),
            &same_origin(&b),
            &lookup,
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        let jar = cookie(&a);
        let new = get(&b, &format!("{base}/new"), &jar).await;
        let start_token = token(&new.body, 0);
        let start = |t: &str| {
            form(&[
                ("csrf", t),
                ("start.channel", "CHANNEL_PHONE"),
                ("start.topic", "paspoort"),
            ])
        };
        let other_tenant = token(&get(&b, "/console/gemeente-b", "").await.body, 0);
        let mut changed = start_token.clone();
        changed.pop();
        changed.push(if start_token.ends_with('0') { '1' } else { '0' });
        let origin = same_origin(&b);
        for (extra, body) in [
            (
                format!("{jar}Sec-Fetch-Site: cross-site\r\n"),
                start(&start_token),
            ),
            (
                format!("{jar}Origin: http://evil.example\r\n"),
                start(&start_token),
            ),
            (format!("{jar}Origin: null\r\n"), start(&start_token)),
            (format!("{jar}{origin}"), start("")),
            (format!("{jar}{origin}"), start(&changed)),
            (format!("{jar}{origin}"), start(&other_tenant)),
            (
                format!("{jar}{origin}"),
                form(&[("start.channel", "CHANNEL_PHONE")]),
            ),
        ] {
            let a = post_form(b.addr(), &format!("{base}/start"), &extra, &body).await;
            assert_eq!(a.status, 403, "{extra} {body}: {}", a.body);
        }
        assert_eq!(b.contact_count(TENANT).await, 0, "a refused form wrote");
        // The same form from this console's page is taken, once: sent twice, it
        // writes one contact (its token's nonce is the request id).
        let extra = format!("{jar}{origin}");
        let a = post_form(
            b.addr(),
            &format!("{base}/start"),
            &extra,
            &start(&start_token),
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        let again = post_form(
            b.addr(),
            &format!("{base}/start"),
            &extra,
            &start(&start_token),
        )
        .await;
        assert_eq!(again.status, 303, "{}", again.body);
        // The first went to the new contact, the second (which wrote nothing) to the
        // citizen's klantbeeld.
        let first = a.header("location").unwrap();
        assert!(first.starts_with(&format!("{base}/contact/")), "{first}");
        let second = again.header("location").unwrap();
        assert!(second.starts_with(&format!("{base}/party/")), "{second}");
        assert_eq!(b.contact_count(TENANT).await, 1);
        // Without the cookie nobody is looked up: the start is refused with a notice.
        let a = post_form(b.addr(), &format!("{base}/start"), &origin, &start(&good)).await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.body.contains("Zoek de burger eerst op"), "{}", a.body);
        // A cookie sealed for another tenant is not this tenant's.
        let b_home = get(&b, "/console/gemeente-b", "").await;
        let a = post_form(
            b.addr(),
            "/console/gemeente-b/start",
            &format!("{jar}{origin}"),
            &start(&token(&b_home.body, 0)),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
    })
    .await;
}

database_test!(a_referral_and_a_return_visit_walk_through_the_console);
async fn a_referral_and_a_return_visit_walk_through_the_console(database: TestDatabase) {
    on_backend(database, |b| async move {
        let base = format!("/console/{TENANT}");
        let bsn = valid_bsns(500, 1)[0].clone();
        let origin = same_origin(&b);
        let mut answers: Vec<Answer> = Vec::new();

        // A bad BSN: the field violation next to the field, and the BSN not sent back.
        let home = get(&b, &base, "").await;
        let body = form(&[
            ("csrf", &token(&home.body, 0)),
            ("identifiers.bsn", "123456789"),
        ]);
        let a = post_form(b.addr(), &format!("{base}/lookup"), &origin, &body).await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(
            a.body.contains("id=\"identifiers-bsn-error\""),
            "{}",
            a.body
        );
        assert!(a.body.contains("aria-invalid=\"true\""), "{}", a.body);
        assert!(a.body.contains("href=\"#identifiers-bsn\""), "{}", a.body);
        assert!(!a.body.contains("123456789"), "the typed BSN is echoed");

        // Look up: nobody yet.
        let body = form(&[("csrf", &token(&home.body, 0)), ("identifiers.bsn", &bsn)]);
        let a = post_form(b.addr(), &format!("{base}/lookup"), &origin, &body).await;
        assert_eq!(a.status, 303, "{}", a.body);
        assert_eq!(a.header("location"), Some(format!("{base}/new").as_str()));
        // Plain HTTP from loopback in development: no `Secure` (the browser would drop
        // the cookie on `http://` elsewhere than localhost).
        assert!(
            a.header("set-cookie")
                .is_some_and(|c| !c.contains("Secure")),
            "{:?}",
            a.headers
        );
        let jar = cookie(&a);
        answers.push(a);
        let with = format!("{jar}{origin}");

        // Start a phone contact about a parking permit.
        let new = get(&b, &format!("{base}/new"), &jar).await;
        assert_eq!(new.status, 200, "{}", new.body);
        assert!(new.body.contains("Niemand gevonden"), "{}", new.body);
        let start = |t: String| {
            form(&[
                ("csrf", &t),
                ("start.channel", "CHANNEL_PHONE"),
                ("start.topic", "parkeervergunning"),
            ])
        };
        let a = post_form(
            b.addr(),
            &format!("{base}/start"),
            &with,
            &start(token(&new.body, 0)),
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        let contact_path = a.header("location").unwrap().to_owned();
        assert!(contact_path.starts_with(&format!("{base}/contact/")));
        answers.push(a);
        let contact = get(&b, &contact_path, &jar).await;
        assert_eq!(contact.status, 200, "{}", contact.body);
        assert!(
            contact.body.contains("Contact afronden"),
            "{}",
            contact.body
        );

        // Referred without saying where: refused, the violation beside the referral
        // field, the story kept.
        let story = "Wil een parkeervergunning voor de tweede auto";
        let complete = |t: String, target: &str| {
            form(&[
                ("csrf", &t),
                ("completion.outcome", "OUTCOME_REFERRED"),
                ("completion.story", story),
                ("completion.referred_to.department", target),
            ])
        };
        let a = post_form(
            b.addr(),
            &format!("{contact_path}/complete"),
            &with,
            &complete(token(&contact.body, 0), ""),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(
            a.body
                .contains("id=\"completion-referred_to-department-error\""),
            "{}",
            a.body
        );
        assert!(a.body.contains(story), "the story is kept: {}", a.body);
        assert!(
            a.body.contains("value=\"OUTCOME_REFERRED\" selected"),
            "{}",
            a.body
        );
        // Again, with the department, from the form shown with the violation.
        let a = post_form(
            b.addr(),
            &format!("{contact_path}/complete"),
            &with,
            &complete(token(&a.body, 0), "parkeren"),
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        assert_eq!(a.header("location"), Some(contact_path.as_str()));
        answers.push(a);
        let done = get(&b, &contact_path, &jar).await;
        assert!(done.body.contains("Afgerond op"), "{}", done.body);
        // Answered when it started (the agent took it), not when it was completed.
        let id = contact_path.rsplit('/').next().unwrap();
        let c = b.contact(TENANT, id).await;
        let completion = c.completion.clone().expect("completed");
        assert!(c.started_at.is_some());
        assert_eq!(completion.answered_at, c.started_at, "{c:?}");
        assert!(!done.body.contains("Contact afronden"), "{}", done.body);

        // The return visit: looked up again by BSN, now known.
        let home = get(&b, &base, &jar).await;
        let body = form(&[("csrf", &token(&home.body, 0)), ("identifiers.bsn", &bsn)]);
        let a = post_form(b.addr(), &format!("{base}/lookup"), &origin, &body).await;
        assert_eq!(a.status, 303, "{}", a.body);
        let party_path = a.header("location").unwrap().to_owned();
        assert!(
            party_path.starts_with(&format!("{base}/party/")),
            "{party_path}"
        );
        let jar = cookie(&a);
        let with = format!("{jar}{origin}");
        answers.push(a);
        let party = get(&b, &party_path, &jar).await;
        assert_eq!(party.status, 200, "{}", party.body);
        assert!(party.body.contains("Lopende zaken"), "{}", party.body);
        assert!(party.body.contains("parkeervergunning"), "{}", party.body);
        assert!(
            party.body.contains("Doorverwezen: 1 keer"),
            "{}",
            party.body
        );
        assert!(
            party.body.contains(story),
            "the story to read: {}",
            party.body
        );
        assert!(
            party.body.contains("******"),
            "the masked BSN: {}",
            party.body
        );
        assert!(!party.body.contains(&bsn), "the BSN in the page");
        // Without the cookie the klantbeeld is the history only.
        let bare = get(&b, &party_path, "").await;
        assert_eq!(bare.status, 200, "{}", bare.body);
        assert!(!bare.body.contains("Contact starten"), "{}", bare.body);
        assert!(bare.body.contains(story), "{}", bare.body);

        // Start again on the same topic: the contact shows the signals.
        let a = post_form(
            b.addr(),
            &format!("{base}/start"),
            &with,
            &start(token(&party.body, 0)),
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        let second = a.header("location").unwrap().to_owned();
        assert_ne!(second, contact_path);
        answers.push(a);
        let page = get(&b, &second, &jar).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("eerder doorverwezen (1 keer)"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Verhaal al verteld"), "{}", page.body);
        assert!(page.body.contains(story), "{}", page.body);

        // Complete it as a callback for the parking department: it is on the worklist.
        let body = form(&[
            ("csrf", &token(&page.body, 0)),
            ("completion.outcome", "OUTCOME_CALLBACK"),
            ("completion.story", "Belt terug over de tweede auto"),
            ("completion.department", "parkeren"),
            ("completion.due_at", "2099-01-05T10:00"),
        ]);
        let a = post_form(b.addr(), &format!("{second}/complete"), &with, &body).await;
        assert_eq!(a.status, 303, "{}", a.body);
        answers.push(a);
        let w = get(&b, &format!("{base}/worklist?department=parkeren"), &jar).await;
        assert_eq!(w.status, 200, "{}", w.body);
        assert!(w.body.contains("Terugbellen"), "{}", w.body);
        assert!(w.body.contains("05-01-2099 10:00"), "{}", w.body);
        assert!(
            w.body.contains(&party_path),
            "a link to the klantbeeld: {}",
            w.body
        );
        assert!(!w.body.contains(&bsn));
        // Call back from the worklist: an outbound contact on the commitment's case.
        let marker = "name=\"start.case_id\" value=\"";
        let at = w.body.find(marker).expect("a call-back form") + marker.len();
        let case_id = w.body[at..at + w.body[at..].find('"').unwrap()].to_owned();
        let body = form(&[
            ("csrf", &token(&w.body, 0)),
            ("start.case_id", &case_id),
            ("start.department", "parkeren"),
        ]);
        let a = post_form(b.addr(), &format!("{base}/callback"), &with, &body).await;
        assert_eq!(a.status, 303, "{}", a.body);
        let id = a.header("location").unwrap().rsplit('/').next().unwrap();
        let c = b.contact(TENANT, id).await;
        assert_eq!(
            c.direction,
            midoffice_api::pb::Direction::Outbound as i32,
            "{c:?}"
        );
        assert_eq!(c.case_id, case_id);
        answers.push(a);
        let w = get(
            &b,
            &format!("{base}/worklist?department=Not%20a%20code"),
            "",
        )
        .await;
        assert_eq!(w.status, 400, "{}", w.body);
        assert!(w.body.contains("id=\"department-error\""), "{}", w.body);

        // The history pages with tokens that hold no identifier.
        let party = get(&b, &party_path, &jar).await;
        assert!(party.body.contains("Terugbelverzoek"), "{}", party.body);

        // Record whole contacts from the klantbeeld (its second form), until the history
        // has a second page.
        for i in 0..11 {
            let party = get(&b, &party_path, &jar).await;
            let body = form(&[
                ("csrf", &token(&party.body, 1)),
                ("start.channel", "CHANNEL_EMAIL"),
                ("start.topic", "afval"),
                ("completion.outcome", "OUTCOME_RESOLVED"),
                ("completion.story", &format!("Vraag {i} over de container")),
            ]);
            let a = post_form(b.addr(), &format!("{base}/record"), &with, &body).await;
            assert_eq!(a.status, 303, "{}", a.body);
            let recorded = get(&b, a.header("location").unwrap(), &jar).await;
            assert!(recorded.body.contains("Afgerond op"), "{}", recorded.body);
            answers.push(a);
        }
        // 13 contacts: the first page has the newest 10, the second the 3 first.
        let first = get(&b, &party_path, &jar).await;
        assert!(!first.body.contains(&contact_path), "{}", first.body);
        let marker = "?page=";
        let at = first.body.find(marker).expect("a link to the next page") + marker.len();
        let next = &first.body[at..at + first.body[at..].find('#').unwrap()];
        assert!(!next.contains(&bsn));
        let older = get(&b, &format!("{party_path}?page={next}"), &jar).await;
        assert_eq!(older.status, 200, "{}", older.body);
        assert!(older.body.contains(&contact_path), "{}", older.body);
        assert!(older.body.contains("Nieuwste contacten"), "{}", older.body);
        assert!(!older.body.contains(marker), "a third page: {}", older.body);
        // A page token changed by hand is the API's INVALID_ARGUMENT: 400.
        let bad = get(&b, &format!("{party_path}?page=x{next}"), &jar).await;
        assert_eq!(bad.status, 400, "{}", bad.body);

        // A contact recorded afterwards with its own times (Amsterdam time, CET on
        // 2 March 2026): kept as given, answered at its start, the klantbeeld not seen
        // unless ticked. An end before the start is the API's violation beside the end.
        let party = get(&b, &party_path, &jar).await;
        assert!(
            party.body.contains("id=\"start-started_at\""),
            "{}",
            party.body
        );
        assert!(
            party.body.contains("name=\"context_seen\""),
            "{}",
            party.body
        );
        let record = |t: String, end: &str, seen: Option<&str>| {
            let mut pairs = vec![
                ("csrf", t),
                ("start.channel", "CHANNEL_PHONE".to_owned()),
                ("start.topic", "afval".to_owned()),
                ("start.started_at", "2026-03-02T09:15".to_owned()),
                ("completion.ended_at", end.to_owned()),
                ("completion.outcome", "OUTCOME_RESOLVED".to_owned()),
                ("completion.story", "Vroeg naar de ophaaldag".to_owned()),
            ];
            if let Some(v) = seen {
                pairs.push(("context_seen", v.to_owned()));
            }
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            form(&pairs)
        };
        let a = post_form(
            b.addr(),
            &format!("{base}/record"),
            &with,
            &record(token(&party.body, 1), "2026-03-02T09:00", None),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(
            a.body.contains("id=\"completion-ended_at-error\""),
            "{}",
            a.body
        );
        assert!(a.body.contains("value=\"2026-03-02T09:00\""), "{}", a.body);
        let a = post_form(
            b.addr(),
            &format!("{base}/record"),
            &with,
            &record(token(&a.body, 0), "2026-03-02T09:40", None),
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        let id = a.header("location").unwrap().rsplit('/').next().unwrap();
        let c = b.contact(TENANT, id).await;
        let completion = c.completion.clone().expect("completed");
        assert_eq!(
            c.started_at,
            Some(midoffice_tests::at("2026-03-02T08:15:00Z")),
            "{c:?}"
        );
        assert_eq!(
            completion.ended_at,
            Some(midoffice_tests::at("2026-03-02T08:40:00Z"))
        );
        assert_eq!(completion.answered_at, c.started_at);
        assert!(!c.context_seen, "not ticked: {c:?}");
        answers.push(a);
        let party = get(&b, &party_path, &jar).await;
        let a = post_form(
            b.addr(),
            &format!("{base}/record"),
            &with,
            &record(token(&party.body, 1), "2026-03-02T09:40", Some("on")),
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        let id = a.header("location").unwrap().rsplit('/').next().unwrap();
        assert!(b.contact(TENANT, id).await.context_seen);
        answers.push(a);

        for a in &answers {
            no_bsn_in_headers(a, &bsn);
            assert!(!a.body.contains(&bsn));
        }
    })
    .await;
}

/// The console in headless Chromium with axe-core (`tests/browser/console.mjs`): a
/// referral and a return visit walked with the keyboard alone, no WCAG 2.1 A/AA
/// violation on any screen, no sideways scrolling at 320 px, the BSN in no URL or
/// request header; screenshots go to `target/browser-artifacts` (or
/// `THERMOMETER_ARTIFACTS`). Ignored by default, as it needs Chromium (`CHROMIUM`,
/// default `/usr/bin/chromium`) and `npm ci` in `tests/browser`; `.ci/run` runs it.
#[tokio::test]
#[ignore = "needs Chromium and the npm packages of tests/browser; .ci/run runs it"]
async fn browser() {
    on_backend(TestDatabase::Sqlite, |b| async move {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let artifacts = std::env::var("THERMOMETER_ARTIFACTS").unwrap_or_else(|_| {
            dir.join("../target/browser-artifacts")
                .to_string_lossy()
                .into_owned()
        });
        let script = dir.join("browser/console.mjs");
        let url = b.url().to_owned();
        let bsn = valid_bsns(700, 1)[0].clone();
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new("node")
                .arg(script)
                .arg(url)
                .arg(TENANT)
                .arg(bsn)
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
