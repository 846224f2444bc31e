//! Tenant settings changed by another process on the same database (`midoffice demo`
//! beside a running server, a second server on the same PostgreSQL) are what the
//! running server uses from its next call on: here a second `Store` on the server's
//! database replaces them (and rebuilds the figures, as the demo does) after the server
//! has read them, and the server's look-ups, writes, settings and public page follow the
//! new ones; then the server changes them back and the second store follows in turn.

use midoffice_domain::TenantId;
use midoffice_domain::identifier::{Identifier, IdentifierKind, Pseudonymiser};
use midoffice_scenarios::scratch::test_secret;
use midoffice_store::Store;
use midoffice_tests::http::get;
use midoffice_tests::pb::{self, Channel, Signal};
use midoffice_tests::{TENANT, TestDatabase, bsn, database_test, on_backend, resolved, start};

const CITIZEN: &str = "999990019";
const NAME: &str = "Gemeente Elders";

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339()
}

fn signals(answer: &pb::StartContactResponse) -> Vec<Signal> {
    answer
        .context
        .as_ref()
        .and_then(|c| c.case.as_ref())
        .map(|c| c.signals().collect())
        .unwrap_or_default()
}

database_test!(settings_another_store_replaces_are_used_by_the_running_server_at_once);
async fn settings_another_store_replaces_are_used_by_the_running_server_at_once(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        // A case resolved three hours ago: active under the default repeat window of
        // seven days.
        let now = chrono::Utc::now();
        let began = now - chrono::Duration::hours(3);
        let first = b
            .start(
                TENANT,
                start(
                    Channel::Phone,
                    &rfc3339(began),
                    Some(bsn(CITIZEN)),
                    "paspoort",
                ),
            )
            .await;
        let contact = first.contact.clone().expect("the contact");
        let case_id = contact.case_id.clone();
        b.complete(
            TENANT,
            &contact.id,
            resolved(
                &rfc3339(began + chrono::Duration::seconds(20)),
                &rfc3339(began + chrono::Duration::minutes(5)),
                "Paspoort aangevraagd.",
            ),
        )
        .await;
        // The server has read the tenant's settings (and may keep them).
        let before = b.context(TENANT, bsn(CITIZEN)).await;
        assert_eq!(before.active_case_count, 1, "{before:?}");

        // Another store on the same database (as another process would) shortens the
        // repeat window to an hour, names the tenant and publishes its page.
        let tenant = TenantId::parse(TENANT).unwrap();
        let elsewhere = Store::connect(b.db_url()).await.expect("a second store");
        let mut settings = elsewhere.settings(&tenant).await.unwrap();
        settings.repeat_window_secs = 3600;
        settings.public_page.display_name = Some(NAME.to_owned());
        settings.public_page.published = true;
        elsewhere
            .replace_settings(&tenant, settings)
            .await
            .expect("the second store replaces the settings");
        // A window changes what the figures tally: the process that changed it rebuilds
        // them (as ReplaceTenantSettings and the demo do); until then the page, which
        // answers from the rollups only, says it is busy.
        elsewhere
            .rebuild_figures(&tenant)
            .await
            .expect("the second store rebuilds the figures");

        // The running server's next look-up judges with the new window: the case
        // resolved three hours ago is no longer active.
        let after = b.context(TENANT, bsn(CITIZEN)).await;
        assert_eq!(
            after.active_case_count, 0,
            "the server judged with the settings it had read before: {after:?}"
        );
        // Its next write too: a new contact on the topic opens a new case, with no
        // REPEAT_CONTACT.
        let again = b
            .start(
                TENANT,
                start(
                    Channel::Phone,
                    &rfc3339(now),
                    Some(bsn(CITIZEN)),
                    "paspoort",
                ),
            )
            .await;
        let again_case = again.contact.clone().expect("the contact").case_id;
        assert_ne!(again_case, case_id, "the old case was chosen: {again:?}");
        assert!(
            !signals(&again).contains(&Signal::RepeatContact),
            "{again:?}"
        );
        // GetTenantSettings and the public page show them.
        let shown = b.settings(TENANT).await;
        assert_eq!(
            shown.repeat_window.map(|d| d.seconds),
            Some(3600),
            "{shown:?}"
        );
        let page = get(&b, &format!("/thermometer/{TENANT}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains(NAME),
            "the page does not name the tenant"
        );

        // The other way round: the second store has looked the citizen up under the
        // hour's window (only the new case is active); the server puts the window back
        // to seven days, and the second store's next look-up has both cases again.
        // A call of the second process: each its own span (the processing log's key).
        let caller = |span: u8| midoffice_store::Caller {
            trace_id: [7; 16],
            span_id: [span; 8],
            parent_span_id: None,
            operation: "GetContext",
            actor: "a second process".into(),
            started_at: chrono::Utc::now(),
        };
        let citizen = Pseudonymiser::new(&test_secret())
            .key(&Identifier::parse(IdentifierKind::Bsn, CITIZEN).unwrap());
        let look_up = |span: u8| {
            let caller = caller(span);
            let citizen = citizen.clone();
            let (elsewhere, tenant) = (&elsewhere, &tenant);
            async move {
                elsewhere
                    .lookup_context(tenant, &caller, vec![citizen], chrono::Utc::now())
                    .await
                    .expect("the second store looks up")
            }
        };
        let seen = look_up(1).await;
        assert_eq!(seen.active_case_count, 1, "{seen:?}");
        b.change_settings(TENANT, |s| {
            s.repeat_window = Some(prost_types::Duration {
                seconds: 7 * 86_400,
                nanos: 0,
            });
        })
        .await;
        let seen = look_up(2).await;
        assert_eq!(
            seen.active_case_count, 2,
            "the second store judged with the settings it had read before: {seen:?}"
        );
    })
    .await;
}
