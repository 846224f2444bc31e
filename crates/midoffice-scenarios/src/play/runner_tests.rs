//! The runner against the real server and store, over a real socket: each test on SQLite
//! and on PostgreSQL (`database_test!`). Each story gets an empty store of its own; the
//! expected answers follow the rules in `docs/rules.md`. They prove the
//! runner's wiring (tenant metadata, refs, ids, expectations, failure messages).

use midoffice_api::pb;
use midoffice_api::server::{AppState, RunningServer, spawn};
use midoffice_domain::identifier::Pseudonymiser;
use midoffice_store::Store;
use tonic::transport::Endpoint;

use super::{Clients, Failure, play, request};
use crate::scratch::{ScratchDb, TestDatabase, test_secret};

/// A real server on an empty store of its own, and the runner's clients connected to it.
struct Served {
    db: ScratchDb,
    server: RunningServer,
    clients: Clients,
}

impl Served {
    /// The one place the tests start a server: a fresh scratch database, the store on
    /// it (through the migrations), the server on a free port, clients over a socket.
    async fn start(backend: &TestDatabase) -> Served {
        let db = backend
            .scratch()
            .await
            .unwrap_or_else(|e| panic!("a scratch database on {backend}: {e}"));
        let store = Store::connect(&db.url).await.expect("the store opens");
        let server = spawn(AppState {
            store,
            pseudonymiser: Pseudonymiser::new(&test_secret()),
            access: midoffice_api::auth::Access::development(),
            cors: Default::default(),
            benchmark: Default::default(),
        })
        .await
        .expect("the server starts");
        let channel = Endpoint::from_shared(server.url())
            .expect("the server's URL")
            .connect()
            .await
            .expect("a connection to the server");
        Served {
            db,
            server,
            clients: Clients::new(channel),
        }
    }

    async fn play(&self, text: &str) -> Result<usize, Failure> {
        let scenario = crate::scenario::parse(text).expect("the story parses");
        play(&scenario, self.clients.clone()).await
    }

    /// The context of the party with this BSN, as the server has it now.
    async fn context(&self, tenant: &str, bsn: &str) -> pb::Context {
        let message = pb::GetContextRequest {
            identifiers: Some(pb::Identifiers {
                bsn: bsn.into(),
                ..Default::default()
            }),
            as_of: None,
        };
        self.clients
            .parties
            .clone()
            .get_context(request(tenant, message).unwrap())
            .await
            .expect("GetContext")
            .into_inner()
            .context
            .expect("a context")
    }

    async fn contact(&self, tenant: &str, contact_id: &str) -> pb::Contact {
        let message = pb::GetContactRequest {
            contact_id: contact_id.into(),
        };
        self.clients
            .contacts
            .clone()
            .get_contact(request(tenant, message).unwrap())
            .await
            .expect("GetContact")
            .into_inner()
            .contact
            .expect("a contact")
    }

    async fn settings(&self, tenant: &str) -> pb::TenantSettings {
        self.clients
            .tenants
            .clone()
            .get_tenant_settings(request(tenant, pb::GetTenantSettingsRequest {}).unwrap())
            .await
            .expect("GetTenantSettings")
            .into_inner()
            .settings
            .expect("settings")
    }

    /// Stops the server and removes its database.
    async fn stop(self) {
        drop(self.clients);
        self.server.stop().await;
        self.db.drop_db().await;
    }
}

/// Plays one story on a server of its own.
async fn run(backend: &TestDatabase, text: &str) -> Result<usize, Failure> {
    let served = Served::start(backend).await;
    let result = served.play(text).await;
    served.stop().await;
    result
}

const T: &str = "\"2026-03-02T09:00:00+01:00\"";

/// A story whose first step is contact c1 of the party with BSN 999990019 on topic
/// `paspoort` at [`T`], followed by `steps`.
fn story(steps: &str) -> String {
    format!(
        "name: runner\nsteps:\n  - start: {{ref: c1, at: {T}, channel: PHONE, bsn: \"999990019\", topic: paspoort}}\n{steps}"
    )
}

/// Where the story stopped; panics when every step passed.
async fn first_failure(
    backend: &TestDatabase,
    text: &str,
) -> (Option<(usize, String)>, Vec<String>) {
    match run(backend, text).await {
        Ok(n) => panic!("on {backend}: expected a failure, all {n} steps passed"),
        Err(failure) => (failure.step, failure.messages),
    }
}

crate::database_test!(a_story_that_matches_passes);
async fn a_story_that_matches_passes(backend: TestDatabase) {
    let text = r#"
name: runner
tenant: t1
norms:
  - {id: phone-answered, measure: response_time, channel: PHONE, within: 25s, target: 0.8}
calendar: {time_zone: Europe/Brussels, holidays: BE, closing_days: ["2026-04-03"]}
steps:
  - start: {ref: c1, at: "2026-03-02T09:00:00+01:00", channel: PHONE, bsn: "999990019", topic: paspoort, department: kcc, request_id: r1}
    expect: {party: new, case: new, signals: [], referral_count: 0, stories: 0, active_cases: 0}
  - start: {ref: c1, at: "2026-03-02T09:00:00+01:00", channel: PHONE, bsn: "999990019", topic: paspoort, department: kcc, request_id: r1}
    expect: {contact: same_as c1, party: same_as c1, case: same_as c1}
  - complete: {ref: c1, at: "2026-03-02T09:05:00+01:00", answered_at: "2026-03-02T09:00:15+01:00", outcome: REFERRED, referred_to: {department: burgerzaken}, story: "Wil een paspoort aanvragen."}
  - complete: {ref: c1, at: "2026-03-02T09:06:00+01:00", answered_at: "2026-03-02T09:00:15+01:00", outcome: RESOLVED}
    expect: {error: FAILED_PRECONDITION}
  - start: {ref: c2, at: "2026-03-02T10:00:00+01:00", channel: PHONE, bsn: "999990019", topic: paspoort, department: burgerzaken}
    expect: {party: same_as c1, case: same_as c1, signals: [REFERRED_AGAIN, STORY_ALREADY_TOLD], referral_count: 1, stories: 1, active_cases: 1}
  - complete: {ref: c2, at: "2026-03-02T10:06:00+01:00", answered_at: "2026-03-02T10:00:20+01:00", outcome: CALLBACK, due: "2026-03-03T17:00:00+01:00", story: "Afspraak nodig; wordt teruggebeld."}
  - start: {ref: c3, at: "2026-03-02T11:00:00+01:00", channel: PHONE, bsn: "999990019", topic: afvalinzameling}
    expect: {party: same_as c1, case: new, signals: [], stories: 0, active_cases: 1}
  - complete: {ref: c3, at: "2026-03-02T11:05:00+01:00", answered_at: "2026-03-02T11:00:10+01:00", outcome: HANDED_OFF, story: "Container kapot; doorgezet naar de vakafdeling."}
  - start: {ref: x1, at: "2026-03-02T11:30:00+01:00", channel: PHONE, bsn: "999990018", topic: paspoort}
    expect: {error: INVALID_ARGUMENT}
  - record: {ref: a1, started_at: "2026-03-02T12:00:00+01:00", at: "2026-03-02T12:03:00+01:00", channel: WEB, topic: afvalinzameling, outcome: RESOLVED, story: "Ophaaldagen opgezocht."}
    expect: {party: anonymous, case: none}
  - start: {ref: c4, at: "2026-03-03T09:00:00+01:00", channel: PHONE, direction: OUTBOUND, case_of: c2, department: burgerzaken}
    expect: {party: same_as c1, case: same_as c1, signals: [REFERRED_AGAIN, STORY_ALREADY_TOLD, COMMITMENT_PENDING], referral_count: 1, stories: 2}
  - complete: {ref: c4, at: "2026-03-03T09:10:00+01:00", answered_at: "2026-03-03T09:00:05+01:00", outcome: RESOLVED, story: "Teruggebeld; afspraak gemaakt."}
  - start: {ref: d1, at: "2026-03-03T10:00:00+01:00", channel: COUNTER, bsn: "999990032", topic: parkeervergunning}
    expect: {party: new, case: new, signals: [], active_cases: 0}
  - context: {at: "2026-03-03T12:00:00+01:00", bsn: "999990019"}
    expect: {party: same_as c1, open_cases: 1, active_cases: 2, commitments_pending: 1, commitments_overdue: 0}
  - context: {at: "2026-03-03T12:00:00+01:00", bsn: "999990044"}
    expect: {party: none}
  - feedback: {ref: c1, score: 6, effort: 2}
    expect: {error: INVALID_ARGUMENT}
  - feedback: {ref: c1, score: 4, effort: 2, repeated_story: false}
  - feedback: {ref: c1, score: 5, effort: 1}
    expect: {error: ALREADY_EXISTS}
  - erase: {bsn: "999990032"}
  - context: {at: "2026-03-03T12:00:00+01:00", bsn: "999990032"}
    expect: {party: none}
  - metrics: {from: "2026-03-01", to: "2026-04-01", as_of: "2026-04-01T00:00:00+02:00"}
    expect:
      contacts: 6
      cases: 3
      first_contact_resolution: 0.0
      repeat_contact_rate: 0.0
      referral_rate: 0.2
      cases_referred_more_than_once: 0
      repeat_story_rate: 0.0
      channel_hops: 0
      satisfaction_score: 4.0
      effort_score: 2.0
      response_time_p50: {PHONE: 15}
      response_time_p90: {PHONE: 20}
  - metrics: {to: "2026-04-01"}
    expect: {error: INVALID_ARGUMENT}
  - thermometer: {from: "2026-03-01", to: "2026-04-01", as_of: "2026-04-01T00:00:00+02:00"}
    expect: {phone-answered: {status: GREEN, share: 1.0, items: 3}}
  - thermometer: {from: "2026-03-01", to: "2026-04-01", as_of: "2026-04-01T00:00:00+02:00"}
    tenant: t2
    expect: {phone-answered: {status: NO_DATA, items: 0, share: null}, story-told-once: {status: NO_DATA, items: 0}}
  - start: {ref: e1, at: "2026-03-04T09:00:00+01:00", channel: PHONE, bsn: "999990019", topic: paspoort}
    tenant: t2
    expect: {party: new, case: new, signals: [], stories: 0, active_cases: 0}
"#;
    match run(&backend, text).await {
        Ok(steps) => assert_eq!(steps, 25, "on {backend}"),
        Err(failure) => panic!("on {backend}: {failure:?}"),
    }
}

crate::database_test!(a_differing_answer_names_the_step_and_the_key_and_stops_the_file);
async fn a_differing_answer_names_the_step_and_the_key_and_stops_the_file(backend: TestDatabase) {
    let text = story(
        "  - complete: {ref: c1, at: \"2026-03-02T09:05:00+01:00\", answered_at: \"2026-03-02T09:00:15+01:00\", outcome: RESOLVED, story: \"Wil een paspoort aanvragen.\"}
  - start: {ref: c2, at: \"2026-03-02T10:00:00+01:00\", channel: PHONE, bsn: \"999990019\", topic: paspoort}
    expect: {signals: [REFERRED_AGAIN, STORY_ALREADY_TOLD], stories: 1, referral_count: 1}
  - start: {ref: c3, at: \"2026-03-02T11:00:00+01:00\", channel: PHONE, bsn: \"999990018\"}
",
    );
    let (step, messages) = first_failure(&backend, &text).await;
    assert_eq!(step, Some((3, "start c2".to_string())), "on {backend}");
    assert_eq!(
        messages,
        [
            "signals: expected [REFERRED_AGAIN, STORY_ALREADY_TOLD], got [STORY_ALREADY_TOLD, REPEAT_CONTACT]",
            "referral_count: expected 1, got 0"
        ],
        "on {backend}"
    );
}

crate::database_test!(new_refuses_an_id_seen_before);
async fn new_refuses_an_id_seen_before(backend: TestDatabase) {
    let text = story(&format!(
        "  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: \"999990019\", topic: paspoort}}\n    expect: {{party: new, case: new}}\n"
    ));
    let served = Served::start(&backend).await;
    let result = served.play(&text).await;
    let context = served.context("default", "999990019").await;
    served.stop().await;
    let failure = result.expect_err("c2 has the party and case of c1");
    let party = context.party.expect("a party").id;
    let cases: Vec<String> = context.active_cases.into_iter().map(|c| c.id).collect();
    assert_eq!(cases.len(), 1, "on {backend}: {cases:?}");
    assert_eq!(
        failure.step,
        Some((2, "start c2".to_string())),
        "on {backend}"
    );
    assert_eq!(
        failure.messages,
        [
            format!("party: expected new, got {party} which an earlier step already had"),
            format!(
                "case: expected new, got {} which an earlier step already had",
                cases[0]
            ),
        ],
        "on {backend}"
    );
}

crate::database_test!(errors_are_judged_both_ways);
async fn errors_are_judged_both_ways(backend: TestDatabase) {
    let (_, messages) = first_failure(
        &backend,
        &story(&format!(
            "  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: \"999990032\", topic: paspoort}}\n    expect: {{error: INVALID_ARGUMENT}}\n"
        )),
    )
    .await;
    assert_eq!(
        messages,
        ["error: expected INVALID_ARGUMENT, but the call succeeded"],
        "on {backend}"
    );

    let (_, messages) = first_failure(
        &backend,
        &story(&format!(
            "  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: \"999990018\"}}\n"
        )),
    )
    .await;
    assert_eq!(messages.len(), 1, "on {backend}: {messages:?}");
    assert!(
        messages[0].starts_with("the call failed: INVALID_ARGUMENT: ")
            && messages[0].contains("bsn"),
        "on {backend}: {messages:?}"
    );

    let (step, messages) = first_failure(
        &backend,
        &story(
            "  - complete: {ref: c1, at: \"2026-03-02T09:05:00+01:00\", answered_at: \"2026-03-02T09:00:15+01:00\", outcome: RESOLVED, story: \"Uitgelegd.\"}
  - complete: {ref: c1, at: \"2026-03-02T09:06:00+01:00\", answered_at: \"2026-03-02T09:00:15+01:00\", outcome: RESOLVED}
    expect: {error: NOT_FOUND}
",
        ),
    )
    .await;
    assert_eq!(step, Some((3, "complete c1".to_string())), "on {backend}");
    assert_eq!(messages.len(), 1, "on {backend}: {messages:?}");
    assert!(
        messages[0].starts_with("error: expected NOT_FOUND, got FAILED_PRECONDITION: "),
        "on {backend}: {messages:?}"
    );
}

crate::database_test!(a_failed_start_registers_nothing_and_unknown_refs_fail);
async fn a_failed_start_registers_nothing_and_unknown_refs_fail(backend: TestDatabase) {
    let (step, messages) = first_failure(
        &backend,
        &story(&format!(
            "  - start: {{ref: x1, at: {T}, channel: PHONE, bsn: \"999990018\"}}\n    expect: {{error: INVALID_ARGUMENT}}\n  - complete: {{ref: x1, at: {T}, outcome: ABANDONED}}\n"
        )),
    )
    .await;
    assert_eq!(step, Some((3, "complete x1".to_string())), "on {backend}");
    assert_eq!(
        messages,
        ["unknown ref `x1`: no earlier start or record step made that contact"],
        "on {backend}"
    );

    let (step, messages) = first_failure(
        &backend,
        &story(&format!(
            "  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: \"999990019\", topic: paspoort}}\n    expect: {{party: same_as nobody}}\n"
        )),
    )
    .await;
    assert_eq!(step, Some((2, "start c2".to_string())), "on {backend}");
    assert_eq!(
        messages,
        ["party: unknown ref `nobody`: no earlier start or record step made that contact"],
        "on {backend}"
    );
}

crate::database_test!(a_missing_norm_and_a_wrong_figure_fail);
async fn a_missing_norm_and_a_wrong_figure_fail(backend: TestDatabase) {
    let thermometer = "name: runner
norms:
  - {id: phone-answered, measure: response_time, channel: PHONE, within: 25s, target: 0.8}
steps:
  - thermometer: {from: \"2026-03-01\", to: \"2026-04-01\"}
    expect: {phone-answered: {status: NO_DATA}, story-told-once: {status: GREEN}}
";
    let metrics = story(
        "  - complete: {ref: c1, at: \"2026-03-02T09:05:00+01:00\", answered_at: \"2026-03-02T09:00:15+01:00\", outcome: REFERRED, referred_to: {department: burgerzaken}, story: \"Wil een paspoort.\"}
  - start: {ref: c2, at: \"2026-03-02T10:00:00+01:00\", channel: PHONE, bsn: \"999990019\", topic: paspoort}
  - complete: {ref: c2, at: \"2026-03-02T10:05:00+01:00\", answered_at: \"2026-03-02T10:00:22+01:00\", outcome: RESOLVED, story: \"Uitgelegd.\"}
  - start: {ref: c3, at: \"2026-03-02T11:00:00+01:00\", channel: PHONE, bsn: \"999990032\", topic: afvalinzameling}
  - complete: {ref: c3, at: \"2026-03-02T11:05:00+01:00\", answered_at: \"2026-03-02T11:00:10+01:00\", outcome: RESOLVED, story: \"Uitgelegd.\"}
  - metrics: {from: \"2026-03-01\", to: \"2026-04-01\", as_of: \"2026-04-01T00:00:00+02:00\"}
    expect: {contacts: 2, referral_rate: 0.33, response_time_p90: {PHONE: 22, EMAIL: 9}}
",
    );
    let (step, messages) = first_failure(&backend, thermometer).await;
    assert_eq!(step, Some((1, "thermometer".to_string())), "on {backend}");
    assert_eq!(
        messages,
        ["story-told-once: the thermometer has no such norm (it has: phone-answered)"],
        "on {backend}"
    );

    let (step, messages) = first_failure(&backend, &metrics).await;
    assert_eq!(step, Some((7, "metrics".to_string())), "on {backend}");
    assert_eq!(
        messages,
        [
            "contacts: expected 2, got 3",
            "referral_rate: expected 0.33, got 0.3333333333333333",
            "response_time_p90: EMAIL: expected 9, but the figures have no response time for EMAIL"
        ],
        "on {backend}"
    );
}

crate::database_test!(a_ref_cannot_name_two_contacts);
async fn a_ref_cannot_name_two_contacts(backend: TestDatabase) {
    let text = story(&format!(
        "  - start: {{ref: c1, at: {T}, channel: PHONE, bsn: \"999990032\", topic: paspoort}}\n"
    ));
    let served = Served::start(&backend).await;
    let result = served.play(&text).await;
    let (step, messages) = match result {
        Ok(n) => panic!("on {backend}: expected a failure, all {n} steps passed"),
        Err(failure) => (failure.step, failure.messages),
    };
    // Which contacts the message names, and whose they are.
    let named = messages.first().and_then(|m| {
        let rest = m.strip_prefix("ref c1 already names contact ")?;
        let (first, second) = rest.split_once(", this step made contact ")?;
        Some((first.to_string(), second.to_string()))
    });
    let owners = match &named {
        Some((first, second)) => Some((
            served.contact("default", first).await.party_id,
            served.contact("default", second).await.party_id,
        )),
        None => None,
    };
    let parties = (
        served
            .context("default", "999990019")
            .await
            .party
            .unwrap()
            .id,
        served
            .context("default", "999990032")
            .await
            .party
            .unwrap()
            .id,
    );
    served.stop().await;
    assert_eq!(step, Some((2, "start c1".to_string())), "on {backend}");
    assert_eq!(messages.len(), 1, "on {backend}: {messages:?}");
    assert!(named.is_some(), "on {backend}: {messages:?}");
    assert_eq!(owners, Some(parties), "on {backend}: {messages:?}");
}

crate::database_test!(settings_reach_the_files_tenant_only);
async fn settings_reach_the_files_tenant_only(backend: TestDatabase) {
    let calendar_only = "name: runner\ntenant: t1\ncalendar: {time_zone: Europe/Brussels}\nsteps:\n  - thermometer: {from: \"2026-03-01\", to: \"2026-04-01\"}\n    expect: {phone-answered: {status: NO_DATA, items: 0}}\n";
    let norms_only = "name: runner\ntenant: t1\nnorms:\n  - {id: phone-answered, measure: response_time, channel: PHONE, within: 20s, target: 0.9}\nsteps:\n  - thermometer: {from: \"2026-03-01\", to: \"2026-04-01\"}\n    expect: {phone-answered: {status: NO_DATA, items: 0}}\n";
    let served = Served::start(&backend).await;
    let before = served.settings("t1").await;
    let calendar_played = served.play(calendar_only).await;
    let after_calendar = served.settings("t1").await;
    let norms_played = served.play(norms_only).await;
    let after_norms = served.settings("t1").await;
    let other = served.settings("default").await;
    served.stop().await;

    assert_eq!(calendar_played.map_err(|f| format!("{f:?}")), Ok(1));
    assert_eq!(norms_played.map_err(|f| format!("{f:?}")), Ok(1));
    let zone = |s: &pb::TenantSettings| s.calendar.clone().unwrap_or_default().time_zone;
    let ids = |s: &pb::TenantSettings| s.norms.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
    assert_eq!(zone(&before), "Europe/Amsterdam", "on {backend}");
    // Only the calendar was given: the norms stay the tenant's own.
    assert_eq!(zone(&after_calendar), "Europe/Brussels", "on {backend}");
    assert_eq!(ids(&after_calendar), ids(&before), "on {backend}");
    assert_eq!(ids(&before).len(), 8, "on {backend}: {:?}", ids(&before));
    // Only norms were given: the calendar stays.
    assert_eq!(zone(&after_norms), "Europe/Brussels", "on {backend}");
    assert_eq!(ids(&after_norms), ["phone-answered"], "on {backend}");
    // Another tenant keeps its defaults.
    assert_eq!(zone(&other), "Europe/Amsterdam", "on {backend}");
    assert_eq!(ids(&other), ids(&before), "on {backend}");
}
