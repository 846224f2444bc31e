//! The look-ups of a start, a completion, a context and a satisfaction answer stay
//! searches by the primary key or by an index that leads with the tenant when the store
//! is large: none reads all of a tenant's identifiers, parties, cases or contacts, so a
//! write costs the same at ten thousand contacts as at ten million. Asked of the
//! database's own planner (`EXPLAIN QUERY PLAN` / `EXPLAIN`) through the store's
//! connection, over a store filled with 50,000 identifiers of one tenant.

mod common;

use common::*;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// Parties of the tenant; each has a BSN and an e-mail address, a case, a contact on
/// it and feedback on that.
const PARTIES: u32 = 25_000;

/// Fills the tables directly (the store's own writes would take minutes for this).
async fn fill(db: &TestDb, backend: Backend, tenant: &str) {
    let raw = db.raw().await;
    let n = PARTIES;
    let statements: Vec<String> = match backend {
        Backend::Postgres => vec![
            format!(
                "INSERT INTO party (id, tenant, created_at) \
                 SELECT md5('p' || i)::uuid, '{tenant}', i FROM generate_series(1, {n}) i"
            ),
            format!(
                "INSERT INTO identifier (tenant, kind, hash, party_id) \
                 SELECT '{tenant}', k, md5(k || i), md5('p' || i)::uuid \
                 FROM generate_series(1, {n}) i, (VALUES ('bsn'), ('email')) v(k)"
            ),
            format!(
                "INSERT INTO \"case\" (id, tenant, party_id, topic, created_at) \
                 SELECT md5('c' || i)::uuid, '{tenant}', md5('p' || i)::uuid, 'paspoort', i \
                 FROM generate_series(1, {n}) i"
            ),
            format!(
                "INSERT INTO contact (id, tenant, party_id, case_id, ambiguous, channel, \
                 direction, started_at, case_chosen_at_end, recorded, context_seen, created_at) \
                 SELECT md5('k' || i)::uuid, '{tenant}', md5('p' || i)::uuid, \
                 md5('c' || i)::uuid, false, 'phone', 'inbound', i, false, false, false, i \
                 FROM generate_series(1, {n}) i"
            ),
            format!(
                "INSERT INTO feedback (contact_id, tenant, score, effort, story_repeated, \
                 created_at) SELECT md5('k' || i)::uuid, '{tenant}', 5, 1, false, i \
                 FROM generate_series(1, {n}) i"
            ),
            // What autovacuum does after such a load; the planner needs the sizes.
            "ANALYZE".to_owned(),
        ],
        Backend::Sqlite => {
            // Ids are 16-byte blobs, as the store writes UUIDs on SQLite. No ANALYZE:
            // SQLite never gathers statistics by itself, and the plans must hold
            // without them.
            let series = format!(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})"
            );
            let id = |prefix: &str| format!("CAST(printf('{prefix}%015d', i) AS BLOB)");
            vec![
                format!(
                    "{series} INSERT INTO party (id, tenant, created_at) \
                     SELECT {}, '{tenant}', i FROM s",
                    id("p")
                ),
                format!(
                    "{series} INSERT INTO identifier (tenant, kind, hash, party_id) \
                     SELECT '{tenant}', k, k || i, {} FROM s, \
                     (SELECT 'bsn' AS k UNION ALL SELECT 'email')",
                    id("p")
                ),
                format!(
                    "{series} INSERT INTO \"case\" (id, tenant, party_id, topic, created_at) \
                     SELECT {}, '{tenant}', {}, 'paspoort', i FROM s",
                    id("c"),
                    id("p")
                ),
                format!(
                    "{series} INSERT INTO contact (id, tenant, party_id, case_id, ambiguous, \
                     channel, direction, started_at, case_chosen_at_end, recorded, \
                     context_seen, created_at) SELECT {}, '{tenant}', {}, {}, 0, 'phone', \
                     'inbound', i, 0, 0, 0, i FROM s",
                    id("k"),
                    id("p"),
                    id("c")
                ),
                format!(
                    "{series} INSERT INTO feedback (contact_id, tenant, score, effort, \
                     story_repeated, created_at) SELECT {}, '{tenant}', 5, 1, 0, i FROM s",
                    id("k")
                ),
            ]
        }
    };
    for s in statements {
        raw.execute_unprepared(&s)
            .await
            .unwrap_or_else(|e| panic!("filling the store failed: {e}\n{s}"));
    }
    raw.close().await.expect("close");
}

database_test!(every_look_up_of_a_write_searches_an_index_in_a_large_store);
async fn every_look_up_of_a_write_searches_an_index_in_a_large_store(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        fill(&db, backend, t.as_str()).await;
        // A BSN and an e-mail address together: the look-up that read every identifier
        // of the tenant when it was one OR of the two.
        let given = [bsn(BSN_A), email(EMAIL)];
        let plans = store
            .query_plans(&t, &given, Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7())
            .await
            .expect("the plans");
        assert_eq!(plans.len(), 12, "every look-up has its plan");
        for (name, plan) in &plans {
            eprintln!("{name}:\n{plan}\n");
            let steps: Vec<&str> = plan
                .lines()
                .map(|l| l.trim_start_matches(['|', '`', '-', ' ']))
                .collect();
            match backend {
                Backend::Sqlite => {
                    for step in &steps {
                        // A SCAN reads a whole table (or index); only the compound
                        // query's own header lines and constant rows may appear.
                        assert!(
                            !step.starts_with("SCAN") || step.contains("CONSTANT ROW"),
                            "{name} reads a whole table:\n{plan}"
                        );
                        // A search of "not merged" reads every live row of the table.
                        assert!(
                            *name == "parties merged in" || !step.contains("merged_into"),
                            "{name} searches the rows not merged:\n{plan}"
                        );
                        // A search on the tenant alone reads all the tenant's rows.
                        assert!(
                            !step.ends_with("(tenant=?)"),
                            "{name} searches the tenant's prefix only:\n{plan}"
                        );
                    }
                    assert!(
                        steps.iter().any(|s| s.starts_with("SEARCH")),
                        "{name} is no search:\n{plan}"
                    );
                }
                Backend::Postgres => {
                    assert!(
                        !plan.contains("Seq Scan"),
                        "{name} reads a whole table:\n{plan}"
                    );
                    assert!(
                        plan.contains("Index Cond"),
                        "{name} is no index search:\n{plan}"
                    );
                    for step in &steps {
                        assert!(
                            !(step.starts_with("Index Cond") && step.contains("IS NULL")),
                            "{name} searches the rows not merged:\n{plan}"
                        );
                        assert!(
                            !(step.starts_with("Index Cond")
                                && step.contains("tenant")
                                && !step.contains(" AND ")),
                            "{name} searches the tenant's prefix only:\n{plan}"
                        );
                    }
                }
            }
        }
        // The worklist's walk: the tenant's commitments by due time, and for each
        // only the contacts of its case.
        for (name, plan) in plans
            .iter()
            .filter(|(n, _)| n.starts_with("open commitments"))
        {
            assert!(plan.contains("ix_contact_tenant_due_id"), "{name}:\n{plan}");
            assert!(
                plan.contains("ix_contact_tenant_case_started"),
                "{name}:\n{plan}"
            );
            // In the index's order: a page stops early, no commitment is sorted.
            assert!(
                !plan.contains("TEMP B-TREE") && !plan.contains("Sort"),
                "{name}:\n{plan}"
            );
        }
        // The identifiers: one search of the primary key per identifier.
        let owners = &plans[0].1;
        match backend {
            Backend::Sqlite => assert_eq!(
                owners.matches("(tenant=? AND kind=? AND hash=?)").count(),
                2,
                "{owners}"
            ),
            Backend::Postgres => assert_eq!(
                owners
                    .lines()
                    .filter(|l| l.contains("Index Cond") && l.contains("hash"))
                    .count(),
                2,
                "{owners}"
            ),
        }
    });
}

database_test!(a_look_up_by_several_identifiers_finds_each_owner);
async fn a_look_up_by_several_identifiers_finds_each_owner(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        // A citizen by BSN and e-mail, then a look-up with the BSN, the e-mail and an
        // unknown phone number: the UNION ALL of three searches finds the party once.
        let first = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A), email(EMAIL)], Some("paspoort"), 0),
                None,
            )
            .await
            .expect("a start");
        let party = first.context.party.id.expect("a party");
        let context = store
            .lookup_context(
                &t,
                &caller(),
                vec![bsn(BSN_A), email(EMAIL), phone(PHONE)],
                at(10),
            )
            .await
            .expect("a look-up");
        assert_eq!(context.party.id, Some(party));
        drop(db);
    });
}
