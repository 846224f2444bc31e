//! Migrations that run unchanged on SQLite and PostgreSQL: foreign keys are declared
//! inside `CREATE TABLE` (sea-query cannot add them to an SQLite table later) and
//! every later change must be one change per `ALTER TABLE`.

use sea_orm_migration::prelude::*;

/// All migrations, oldest first.
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_versioned_rows::Migration),
            Box::new(m0003_processing_log::Migration),
            Box::new(m0004_audit_contact::Migration),
            Box::new(m0005_figure_rollups::Migration),
            Box::new(m0006_retention::Migration),
            Box::new(m0007_identifier_party_cover::Migration),
            Box::new(m0008_figure_months::Migration),
            Box::new(m0009_figure_shards::Migration),
            Box::new(m0010_figure_totals::Migration),
            Box::new(m0011_figure_total_parts::Migration),
            Box::new(m0012_figure_day_versions::Migration),
            Box::new(m0013_contact_case_started::Migration),
            Box::new(m0014_event_outbox::Migration),
            Box::new(m0015_benchmark_import::Migration),
            Box::new(m0016_benchmark_group::Migration),
            Box::new(m0017_figure_answers::Migration),
        ]
    }
}

mod shared {
    //! What several migrations build alike.

    use sea_orm::{ConnectionTrait, DbBackend};
    use sea_orm_migration::prelude::*;

    /// A text column, not null.
    pub(super) fn text(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).string().not_null().to_owned()
    }

    /// A 64-bit integer column (counts, microseconds), not null.
    pub(super) fn long(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).big_integer().not_null().to_owned()
    }

    /// An index of these columns.
    pub(super) fn index(
        name: &str,
        table: &'static str,
        cols: &[&'static str],
    ) -> IndexCreateStatement {
        let mut ix = Index::create();
        ix.name(name).table(table);
        for c in cols {
            ix.col(*c);
        }
        ix.to_owned()
    }

    /// A table of figure sums (`crate::rollup::add_sums`) named `name`, with its day or
    /// month column, keyed by tenant, that column, kind, channel, topic, department, a,
    /// b, c and (from m0009 on) the shard.
    pub(super) fn sum_table(name: &str, column: &'static str, shard: bool) -> TableCreateStatement {
        sum_table_keyed(name, column, shard, ["channel", "topic", "department"])
    }

    /// [`sum_table`] with the dims in the key in this order (after tenant, day or month
    /// and kind): an index seeks only by the columns up to the first one a read leaves
    /// open.
    pub(super) fn sum_table_keyed(
        name: &str,
        column: &'static str,
        shard: bool,
        dims: [&'static str; 3],
    ) -> TableCreateStatement {
        let mut key = Index::create();
        key.col("tenant").col(column).col("kind");
        for dim in dims {
            key.col(dim);
        }
        key.col("a").col("b").col("c");
        let mut table = Table::create();
        table
            .table(Alias::new(name))
            .col(text("tenant"))
            .col(ColumnDef::new(column).integer().not_null())
            .col(ColumnDef::new("kind").small_integer().not_null())
            .col(text("channel"))
            .col(text("topic"))
            .col(text("department"))
            .col(long("a"))
            .col(long("b"))
            .col(long("c"));
        if shard {
            table.col(ColumnDef::new("shard").small_integer().not_null());
            key.col("shard");
        }
        table.col(long("n")).primary_key(&mut key).to_owned()
    }

    /// On PostgreSQL, for the running migration's transaction only: no statement
    /// timeout and a 60 s lock wait. A migration that rewrites or sums the figure
    /// tables of a large store may take longer than a serving statement may (10 s) and
    /// wait longer for them than a serving lock wait (5 s); rolled back, it would keep
    /// the service from starting.
    pub(super) async fn without_serving_timeouts(
        db: &SchemaManagerConnection<'_>,
    ) -> Result<(), DbErr> {
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("SET LOCAL statement_timeout = 0")
                .await?;
            db.execute_unprepared("SET LOCAL lock_timeout = '60s'")
                .await?;
        }
        Ok(())
    }
}

mod m0001_initial {
    use super::shared::{index, long as micros, text};
    use sea_orm_migration::prelude::*;

    /// The first schema.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0001_initial"
        }
    }

    fn id(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).uuid().not_null().to_owned()
    }
    fn uuid_null(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).uuid().null().to_owned()
    }
    fn text_null(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).string().null().to_owned()
    }
    fn long_text_null(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).text().null().to_owned()
    }
    fn micros_null(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).big_integer().null().to_owned()
    }
    fn flag(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).boolean().not_null().to_owned()
    }

    fn fk(
        name: &str,
        from: (&'static str, &'static str),
        to: (&'static str, &'static str),
    ) -> ForeignKeyCreateStatement {
        ForeignKey::create()
            .name(name)
            .from(from.0, from.1)
            .to(to.0, to.1)
            .on_delete(ForeignKeyAction::NoAction)
            .on_update(ForeignKeyAction::NoAction)
            .to_owned()
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table("tenant_settings")
                        .col(ColumnDef::new("tenant").string().not_null().primary_key())
                        .col(ColumnDef::new("settings").text().not_null())
                        .col(micros("updated_at"))
                        .to_owned(),
                )
                .await?;

            manager
                .create_table(
                    Table::create()
                        .table("party")
                        .col(ColumnDef::new("id").uuid().not_null().primary_key())
                        .col(text("tenant"))
                        .col(micros("created_at"))
                        .col(text_null("strong_kind"))
                        .col(text_null("strong_hash"))
                        .col(text_null("strong_display"))
                        .col(uuid_null("merged_into"))
                        .col(micros_null("erased_at"))
                        .foreign_key(&mut fk(
                            "fk_party_merged_into",
                            ("party", "merged_into"),
                            ("party", "id"),
                        ))
                        .to_owned(),
                )
                .await?;

            manager
                .create_table(
                    Table::create()
                        .table("identifier")
                        .col(text("tenant"))
                        .col(text("kind"))
                        .col(text("hash"))
                        .col(id("party_id"))
                        .primary_key(
                            Index::create()
                                .col("tenant")
                                .col("kind")
                                .col("hash")
                                .col("party_id"),
                        )
                        .foreign_key(&mut fk(
                            "fk_identifier_party",
                            ("identifier", "party_id"),
                            ("party", "id"),
                        ))
                        .to_owned(),
                )
                .await?;

            manager
                .create_table(
                    Table::create()
                        .table("case")
                        .col(ColumnDef::new("id").uuid().not_null().primary_key())
                        .col(text("tenant"))
                        .col(id("party_id"))
                        .col(text_null("topic"))
                        .col(text_null("reference"))
                        .col(micros("created_at"))
                        .col(uuid_null("merged_into"))
                        .foreign_key(&mut fk(
                            "fk_case_party",
                            ("case", "party_id"),
                            ("party", "id"),
                        ))
                        .foreign_key(&mut fk(
                            "fk_case_merged_into",
                            ("case", "merged_into"),
                            ("case", "id"),
                        ))
                        .to_owned(),
                )
                .await?;

            manager
                .create_table(
                    Table::create()
                        .table("contact")
                        .col(ColumnDef::new("id").uuid().not_null().primary_key())
                        .col(text("tenant"))
                        .col(uuid_null("party_id"))
                        .col(uuid_null("case_id"))
                        .col(flag("ambiguous"))
                        .col(text("channel"))
                        .col(text("direction"))
                        .col(micros("started_at"))
                        .col(text_null("topic"))
                        .col(text_null("department"))
                        .col(text_null("case_reference"))
                        .col(flag("case_chosen_at_end"))
                        .col(flag("recorded"))
                        .col(flag("context_seen"))
                        .col(micros_null("ended_at"))
                        .col(micros_null("answered_at"))
                        .col(text_null("outcome"))
                        .col(long_text_null("story"))
                        .col(text_null("end_department"))
                        .col(text_null("end_topic"))
                        .col(text_null("referred_kind"))
                        .col(text_null("referred_value"))
                        .col(micros_null("due_at"))
                        .col(ColumnDef::new("story_repeated").boolean().null())
                        .col(micros("created_at"))
                        .foreign_key(&mut fk(
                            "fk_contact_party",
                            ("contact", "party_id"),
                            ("party", "id"),
                        ))
                        .foreign_key(&mut fk(
                            "fk_contact_case",
                            ("contact", "case_id"),
                            ("case", "id"),
                        ))
                        .to_owned(),
                )
                .await?;

            manager
                .create_table(
                    Table::create()
                        .table("feedback")
                        .col(ColumnDef::new("contact_id").uuid().not_null().primary_key())
                        .col(text("tenant"))
                        .col(ColumnDef::new("score").integer().not_null())
                        .col(ColumnDef::new("effort").integer().not_null())
                        .col(flag("story_repeated"))
                        .col(long_text_null("comment"))
                        .col(micros("created_at"))
                        .foreign_key(&mut fk(
                            "fk_feedback_contact",
                            ("feedback", "contact_id"),
                            ("contact", "id"),
                        ))
                        .to_owned(),
                )
                .await?;

            manager
                .create_table(
                    Table::create()
                        .table("idempotency")
                        .col(text("tenant"))
                        .col(text("operation"))
                        .col(text("key"))
                        .col(text("fingerprint"))
                        .col(ColumnDef::new("response").text().not_null())
                        .col(micros("created_at"))
                        // The party the answer concerns, so erasing it can find the answer.
                        .col(uuid_null("party_id"))
                        // Set when that party was erased: the answer and fingerprint are gone.
                        .col(micros_null("erased_at"))
                        .primary_key(Index::create().col("tenant").col("operation").col("key"))
                        .to_owned(),
                )
                .await?;

            for ix in [
                index(
                    "ix_contact_tenant_started",
                    "contact",
                    &["tenant", "started_at"],
                ),
                index("ix_contact_tenant_case", "contact", &["tenant", "case_id"]),
                index(
                    "ix_contact_tenant_party",
                    "contact",
                    &["tenant", "party_id"],
                ),
                index("ix_contact_tenant_due", "contact", &["tenant", "due_at"]),
                index("ix_case_tenant_party", "case", &["tenant", "party_id"]),
                index(
                    "ix_identifier_tenant_party",
                    "identifier",
                    &["tenant", "party_id"],
                ),
                index("ix_party_merged_into", "party", &["merged_into"]),
                index("ix_case_merged_into", "case", &["merged_into"]),
                index("ix_idempotency_created", "idempotency", &["created_at"]),
                index(
                    "ix_idempotency_tenant_party",
                    "idempotency",
                    &["tenant", "party_id"],
                ),
            ] {
                manager.create_index(ix).await?;
            }

            // A strong identifier can never belong to two parties. Partial indexes are not
            // expressible in sea-query for both backends; this SQL is the same on both.
            manager
                .get_connection()
                .execute_unprepared(
                    "CREATE UNIQUE INDEX ux_identifier_strong ON identifier (tenant, kind, hash) \
                     WHERE kind IN ('bsn', 'kvk')",
                )
                .await?;
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            // SQLite has transactional DDL too: a failed first migration leaves nothing behind.
            Some(true)
        }
    }
}

mod m0002_versioned_rows {
    //! Tenant settings and kept answers that the first release wrote as serde JSON of
    //! its domain types (version 0) are rewritten in the store's own versioned rows
    //! (version 1). Reading accepts version 0 as well (a row written by an instance of
    //! the first release during a rolling upgrade), so a row this migration cannot
    //! read is left as it is, logged, and reads as INTERNAL exactly as it did before.
    //!
    //! Uses only the frozen row types of versions 0 and 1, never the entities or the
    //! domain, so it does the same thing in every later release.

    use crate::rows::answers::{self, AnswerKind};
    use crate::rows::settings;
    use sea_orm_migration::prelude::*;
    use sea_orm_migration::sea_orm::ConnectionTrait;

    /// Answers read per page.
    const PAGE: u64 = 500;

    /// Rewrites version 0 rows in version 1.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0002_versioned_rows"
        }
    }

    /// The answer the first release kept per operation (its rows do not say).
    fn kind_of(operation: &str) -> Option<AnswerKind> {
        match operation {
            "start" | "record" => Some(AnswerKind::Started),
            "complete" => Some(AnswerKind::Contact),
            "feedback" => Some(AnswerKind::Feedback),
            _ => None,
        }
    }

    async fn settings_rows(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
        let rows = db
            .query_all(
                Query::select()
                    .columns(["tenant", "settings"])
                    .from("tenant_settings")
                    .order_by("tenant", Order::Asc),
            )
            .await?;
        let (mut rewritten, mut left) = (0u64, 0u64);
        for row in rows {
            let tenant: String = row.try_get("", "tenant")?;
            let text: String = row.try_get("", "settings")?;
            match settings::upgrade_v0(&text) {
                Ok(Some(v1)) => {
                    db.execute(
                        Query::update()
                            .table("tenant_settings")
                            .value("settings", v1)
                            .and_where(Expr::col("tenant").eq(tenant)),
                    )
                    .await?;
                    rewritten += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(tenant, error = %e, "settings row left as it is: unreadable");
                    left += 1;
                }
            }
        }
        tracing::info!(rewritten, left, "settings rows in version 1");
        Ok(())
    }

    async fn answer_rows(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
        let (mut rewritten, mut left) = (0u64, 0u64);
        let mut after: Option<(String, String, String)> = None;
        loop {
            let mut page = Query::select();
            page.columns(["tenant", "operation", "key", "response"])
                .from("idempotency")
                // An erased answer is empty: nothing to rewrite.
                .and_where(Expr::col("erased_at").is_null())
                .order_by("tenant", Order::Asc)
                .order_by("operation", Order::Asc)
                .order_by("key", Order::Asc)
                .limit(PAGE);
            if let Some((t, o, k)) = after.take() {
                page.and_where(
                    Expr::tuple([
                        Expr::col("tenant"),
                        Expr::col("operation"),
                        Expr::col("key"),
                    ])
                    .gt(Expr::tuple([
                        Expr::val(t),
                        Expr::val(o),
                        Expr::val(k),
                    ])),
                );
            }
            let rows = db.query_all(&page).await?;
            let last_page = (rows.len() as u64) < PAGE;
            for row in rows {
                let tenant: String = row.try_get("", "tenant")?;
                let operation: String = row.try_get("", "operation")?;
                let key: String = row.try_get("", "key")?;
                let text: String = row.try_get("", "response")?;
                let upgraded = match kind_of(&operation) {
                    Some(kind) => answers::upgrade_v0(&text, kind),
                    None => Ok(None),
                };
                match upgraded {
                    Ok(Some(v1)) => {
                        db.execute(
                            Query::update()
                                .table("idempotency")
                                .value("response", v1)
                                .and_where(Expr::col("tenant").eq(tenant.as_str()))
                                .and_where(Expr::col("operation").eq(operation.as_str()))
                                .and_where(Expr::col("key").eq(key.as_str())),
                        )
                        .await?;
                        rewritten += 1;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // The key is the client's request id, not personal data.
                        tracing::warn!(
                            tenant, operation, error = %e,
                            "kept answer left as it is: unreadable"
                        );
                        left += 1;
                    }
                }
                after = Some((tenant, operation, key));
            }
            if last_page {
                break;
            }
        }
        tracing::info!(rewritten, left, "kept answers in version 1");
        Ok(())
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let db = manager.get_connection();
            settings_rows(db).await?;
            answer_rows(db).await
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Err(DbErr::Migration(
                "m0002_versioned_rows cannot be undone: the first release cannot read \
                 version 1 rows"
                    .into(),
            ))
        }

        fn use_transaction(&self) -> Option<bool> {
            // All rows or none: a failure leaves the database as the first release left it.
            Some(true)
        }
    }
}

mod m0003_processing_log {
    //! The processing log (Logboek Dataverwerkingen): one `processing_record` per data
    //! subject of each processing, and the separate `audit_record` of who did it, linked
    //! by trace and span id. Ids of traces and spans are lower-case hex, as in
    //! `traceparent`; instants are microseconds like everywhere else.

    use super::shared::{index, long as micros, text};
    use sea_orm_migration::prelude::*;

    /// The two tables and their indexes.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0003_processing_log"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table("processing_record")
                        .col(text("tenant"))
                        .col(text("trace_id"))
                        .col(text("span_id"))
                        .col(ColumnDef::new("parent_span_id").string().null())
                        .col(text("name"))
                        .col(micros("start_time"))
                        .col(micros("end_time"))
                        .col(text("status"))
                        .col(text("activity_id"))
                        .col(ColumnDef::new("data_subject_id").uuid().not_null())
                        .col(text("data_subject_id_type"))
                        .col(text("service_name"))
                        .col(text("service_version"))
                        // The outbox mark: set once the OTLP collector acknowledged it.
                        .col(ColumnDef::new("exported_at").big_integer().null())
                        .primary_key(Index::create().col("tenant").col("trace_id").col("span_id"))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table("audit_record")
                        .col(text("tenant"))
                        .col(text("trace_id"))
                        .col(text("span_id"))
                        .col(text("operation"))
                        .col(text("actor"))
                        .col(micros("at"))
                        .primary_key(Index::create().col("tenant").col("trace_id").col("span_id"))
                        .to_owned(),
                )
                .await?;
            for ix in [
                index(
                    "ix_processing_record_tenant_subject",
                    "processing_record",
                    &["tenant", "data_subject_id", "start_time"],
                ),
                index(
                    "ix_processing_record_tenant_start",
                    "processing_record",
                    &["tenant", "start_time"],
                ),
                index(
                    "ix_audit_record_tenant_at",
                    "audit_record",
                    &["tenant", "at"],
                ),
            ] {
                manager.create_index(ix).await?;
            }
            // The outbox: only records not yet exported, so it stays small. The same SQL
            // on both backends (sea-query cannot express a partial index for both).
            manager
                .get_connection()
                .execute_unprepared(
                    "CREATE INDEX ix_processing_record_unexported \
                     ON processing_record (tenant, start_time) WHERE exported_at IS NULL",
                )
                .await?;
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0004_audit_contact {
    //! The audit record says for which contact a processing was (DOMAIN.md, Privacy):
    //! `audit_record.contact_id`, empty for a call about a party rather than a contact
    //! and for every record written before. A processing record says whether it is the
    //! call's own span or a child of it (`span_kind`), and a child the call span's
    //! parent (`call_parent_span_id`), so the export can send the call span too.

    use sea_orm_migration::prelude::*;

    /// Nullable columns, one `ALTER TABLE` each.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0004_audit_contact"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table("audit_record")
                        .add_column(ColumnDef::new("contact_id").uuid().null())
                        .to_owned(),
                )
                .await?;
            for column in ["span_kind", "call_parent_span_id"] {
                manager
                    .alter_table(
                        Table::alter()
                            .table("processing_record")
                            .add_column(ColumnDef::new(column).string().null())
                            .to_owned(),
                    )
                    .await?;
            }
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0005_figure_rollups {
    //! Figures that need not read every contact (`midoffice_domain::rollup`): per tenant
    //! and day the sum of every unit's tallies (`figure_rollup`), each unit's own tallies
    //! (`figure_unit`, a versioned row, `crate::rows::figures`), and the settings
    //! fingerprint the rollups were built with (`figure_state`, `''` while stale, with a
    //! generation that every change of the fingerprint raises). The rollups of a store
    //! from before this migration are derived by the rebuild at start-up.
    //! `ix_contact_tenant_ended` finds the latest completion of a tenant (the fast path
    //! holds only for an `as_of` after every stored event).

    use super::shared::{long, sum_table, text, without_serving_timeouts};
    use sea_orm_migration::prelude::*;

    /// Three tables and one index.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0005_figure_rollups"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            without_serving_timeouts(manager.get_connection()).await?;
            manager
                .create_table(sum_table("figure_rollup", "day", false))
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table("figure_unit")
                        .col(text("tenant"))
                        .col(ColumnDef::new("unit_id").uuid().not_null())
                        .col(ColumnDef::new("tallies").text().not_null())
                        .primary_key(Index::create().col("tenant").col("unit_id"))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table("figure_state")
                        .col(ColumnDef::new("tenant").string().not_null().primary_key())
                        .col(text("fingerprint"))
                        .col(long("generation"))
                        .col(long("rebuilt_at"))
                        .to_owned(),
                )
                .await?;
            // Every tenant with contacts from before: stale (no fingerprint), so the
            // rebuild at start-up derives its units. A tenant without a row has had
            // every contact counted as it was written.
            manager
                .get_connection()
                .execute_unprepared(
                    "INSERT INTO figure_state (tenant, fingerprint, generation, rebuilt_at) \
                     SELECT DISTINCT tenant, '', 0, 0 FROM contact",
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("ix_contact_tenant_ended")
                        .table("contact")
                        .col("tenant")
                        .col("ended_at")
                        .to_owned(),
                )
                .await?;
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0006_retention {
    //! Retention (DOMAIN.md "Privacy"): an idempotency record says which contact its
    //! answer is about (`idempotency.contact_id`, empty in rows written before, which
    //! go with their party or at the horizon), so the record goes with the contact;
    //! and the records are found by age per tenant (`ix_idempotency_tenant_created`,
    //! replacing the index on `created_at` alone, which did not lead with the tenant).

    use sea_orm_migration::prelude::*;

    /// One nullable column and two indexes.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0006_retention"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table("idempotency")
                        .add_column(ColumnDef::new("contact_id").uuid().null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("ix_idempotency_tenant_contact")
                        .table("idempotency")
                        .col("tenant")
                        .col("contact_id")
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("ix_idempotency_tenant_created")
                        .table("idempotency")
                        .col("tenant")
                        .col("created_at")
                        .to_owned(),
                )
                .await?;
            manager
                .drop_index(
                    Index::drop()
                        .name("ix_idempotency_created")
                        .table("idempotency")
                        .to_owned(),
                )
                .await?;
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0007_identifier_party_cover {
    //! A party's identifiers (moved on a merge, deleted on an erasure) are found by
    //! `tenant = ? AND party_id = ?`. SQLite without planner statistics took the primary
    //! key's tenant prefix for that (it covers every column, the party index did not):
    //! a scan of all the tenant's identifiers, so a merge grew slower with the store.
    //! The party index now holds every column of the row too, so it is the better plan
    //! with or without statistics; it replaces the old one.

    use sea_orm_migration::prelude::*;

    /// Creates the covering index, then drops the one it replaces.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0007_identifier_party_cover"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_index(
                    Index::create()
                        .name("ix_identifier_tenant_party_kind_hash")
                        .table("identifier")
                        .col("tenant")
                        .col("party_id")
                        .col("kind")
                        .col("hash")
                        .to_owned(),
                )
                .await?;
            manager
                .drop_index(
                    Index::drop()
                        .name("ix_identifier_tenant_party")
                        .table("identifier")
                        .to_owned(),
                )
                .await
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0008_figure_months {
    //! Rollups bounded per day (`midoffice_domain::rollup`): an entry keeps its previous
    //! contact and its case's first-contact item as a relation to its own day
    //! (`rollup::relation`: days up to a month back, then calendar months) instead of
    //! their day numbers, and beside the per-day sums there are per-month sums
    //! (`figure_month`, each per-day row as `rollup::month_row` sums it). The stored
    //! per-day entries and answers (an answer's seconds become its bucket's `Answer` and
    //! `Seconds` tallies) are converted here (`rollup::from_v1`; their days and seconds
    //! are known, so the conversion is exact, also for the sums of units retention
    //! deleted) and the per-month sums are summed from the per-day rows; unit rows of
    //! version 1 are converted when they are read (`crate::rows::figures`).

    use super::shared::{sum_table, without_serving_timeouts};
    use crate::rollup::{Sharded, Sums, add_sums, month_sums};
    use midoffice_domain::rollup::{
        self, Grain, Tally, TallyKey, TallyKind, day_from_number, day_number,
    };
    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm_migration::prelude::*;
    use std::collections::BTreeMap;

    /// One table, and the per-day entries converted.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0008_figure_months"
        }
    }

    fn err(e: impl std::fmt::Display) -> DbErr {
        DbErr::Migration(format!("m0008_figure_months: {e}"))
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let db = manager.get_connection();
            without_serving_timeouts(db).await?;
            manager
                .create_table(sum_table("figure_month", "month", false))
                .await?;
            let backend = db.get_database_backend();
            let tenants: Vec<String> = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT DISTINCT tenant FROM figure_rollup",
                ))
                .await?
                .into_iter()
                .map(|r| r.try_get_by_index(0))
                .collect::<Result<_, _>>()?;
            let (entry, answer) = (TallyKind::Entry.code(), TallyKind::Answer.code());
            for tenant in tenants {
                let rows = db
                    .query_all_raw(crate::rollup::statement(
                        backend,
                        "SELECT CAST(day AS BIGINT), CAST(kind AS BIGINT), channel, topic, \
                         department, a, b, c, n FROM figure_rollup WHERE tenant = ? AND n <> 0",
                        vec![tenant.clone().into()],
                    ))
                    .await?;
                let mut all: BTreeMap<Tally, i64> = BTreeMap::new();
                let mut converted: BTreeMap<Tally, i64> = BTreeMap::new();
                for r in rows {
                    let day: i64 = r.try_get_by_index(0)?;
                    let kind: i64 = r.try_get_by_index(1)?;
                    let tally = Tally {
                        kind: TallyKind::from_code(kind).ok_or_else(|| err("a tally kind"))?,
                        day: day_from_number(day).ok_or_else(|| err("a tally day"))?,
                        key: TallyKey {
                            channel: r.try_get_by_index(2)?,
                            topic: r.try_get_by_index(3)?,
                            department: r.try_get_by_index(4)?,
                            a: r.try_get_by_index(5)?,
                            b: r.try_get_by_index(6)?,
                            c: r.try_get_by_index(7)?,
                        },
                    };
                    let n: i64 = r.try_get_by_index(8)?;
                    if matches!(tally.kind, TallyKind::Entry | TallyKind::Answer) {
                        for t in rollup::from_v1(&tally).ok_or_else(|| err("a tally day"))? {
                            *converted.entry(t.clone()).or_insert(0) += n;
                            *all.entry(t).or_insert(0) += n;
                        }
                    } else {
                        *all.entry(tally).or_insert(0) += n;
                    }
                }
                db.execute_raw(crate::rollup::statement(
                    backend,
                    &format!(
                        "DELETE FROM figure_rollup WHERE tenant = ? AND kind IN ({entry}, {answer})"
                    ),
                    vec![tenant.clone().into()],
                ))
                .await?;
                // The tables have no shard yet (m0009 adds it, every row in shard 0).
                let days: Vec<_> = converted
                    .into_iter()
                    .filter(|(_, n)| *n != 0)
                    .map(|(t, n)| (0, day_number(t.day), t.kind, t.key, n))
                    .collect();
                add_sums(
                    db,
                    &tenant,
                    Grain::Day,
                    Sums::All,
                    &days,
                    Sharded::BeforeM0009,
                )
                .await
                .map_err(err)?;
                add_sums(
                    db,
                    &tenant,
                    Grain::Month,
                    Sums::All,
                    &month_sums(all.iter().map(|(t, n)| (0, t, *n))),
                    Sharded::BeforeM0009,
                )
                .await
                .map_err(err)?;
            }
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0009_figure_shards {
    //! PostgreSQL writes of one tenant and day upserted the same few sum rows, so a
    //! second writer waited for the first to commit (`Lock:transactionid`). The sums
    //! (`figure_rollup`, `figure_month`) get a `shard` at the end of their key: a unit
    //! adds to the rows of its own shard (`rollup::shard_of`: 8 on PostgreSQL, always 0
    //! on SQLite) and the reads sum over the shards. Every stored row goes to shard 0.
    //! SQLite cannot change a primary key: each table is made anew, copied, dropped and
    //! renamed (the sums have no other index); PostgreSQL adds the column and swaps the
    //! key.

    use super::shared::{sum_table, without_serving_timeouts};
    use sea_orm::{ConnectionTrait, DbBackend};
    use sea_orm_migration::prelude::*;

    /// One column in the key of two tables.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0009_figure_shards"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let db = manager.get_connection();
            // Rebuilding the sum tables' keys may take longer than a serving statement.
            without_serving_timeouts(db).await?;
            for (table, column) in [("figure_rollup", "day"), ("figure_month", "month")] {
                let key = format!("tenant, {column}, kind, channel, topic, department, a, b, c");
                if db.get_database_backend() == DbBackend::Postgres {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} ALTER COLUMN shard DROP DEFAULT"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} DROP CONSTRAINT {table}_pkey"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} ADD CONSTRAINT {table}_pkey \
                         PRIMARY KEY ({key}, shard)"
                    ))
                    .await?;
                } else {
                    let new = format!("{table}_sharded");
                    manager.create_table(sum_table(&new, column, true)).await?;
                    db.execute_unprepared(&format!(
                        "INSERT INTO {new} ({key}, shard, n) SELECT {key}, 0, n FROM {table}"
                    ))
                    .await?;
                    db.execute_unprepared(&format!("DROP TABLE {table}"))
                        .await?;
                    db.execute_unprepared(&format!("ALTER TABLE {new} RENAME TO {table}"))
                        .await?;
                }
            }
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0010_figure_totals {
    //! Figures of the calls no filter of which fixes a topic or a department (the
    //! thermometer; the dashboard and its series unfiltered or by channel) read
    //! per-day and per-month totals (`figure_day_total`, `figure_month_total`): the
    //! sum tables' columns and key, shard included, each tally as the overall part of
    //! `rollup::total_rows` counts it (topic and department summed away, a response
    //! item's norm kept; entries only of the subsets that fix neither), so a day holds
    //! tens of rows where the sums hold thousands. Every write adds to both
    //! (`crate::rollup::add_sums`); here they are summed from the stored sums, so a
    //! store from before answers the same at once, with no rebuild.

    use super::shared::{sum_table, without_serving_timeouts};
    use midoffice_domain::rollup::{NOT_IN_TOTALS, TallyKind};
    use sea_orm_migration::prelude::*;

    /// Two tables, summed from the sums.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0010_figure_totals"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let db = manager.get_connection();
            // Summing the figure tables of a large store may take longer than a
            // serving statement.
            without_serving_timeouts(db).await?;
            let (response, entry) = (TallyKind::Response.code(), TallyKind::Entry.code());
            // The overall part of `rollup::total_rows` in SQL (the store tests compare
            // it with the totals the writes make).
            let topic = format!("CASE WHEN kind = {response} THEN topic ELSE '' END");
            for (sums, totals, column) in [
                ("figure_rollup", "figure_day_total", "day"),
                ("figure_month", "figure_month_total", "month"),
            ] {
                manager
                    .create_table(sum_table(totals, column, true))
                    .await?;
                db.execute_unprepared(&format!(
                    "INSERT INTO {totals} \
                     (tenant, {column}, kind, channel, topic, department, a, b, c, shard, n) \
                     SELECT tenant, {column}, kind, channel, {topic}, '', a, b, c, shard, SUM(n) \
                     FROM {sums} WHERE kind <> {entry} OR (a & {NOT_IN_TOTALS}) = 0 \
                     GROUP BY tenant, {column}, kind, channel, {topic}, a, b, c, shard \
                     HAVING SUM(n) <> 0"
                ))
                .await?;
            }
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0011_figure_total_parts {
    //! The totals get a part per topic and a part per department (`rollup::Part`,
    //! `rollup::total_rows`): a call every filter of which fixes a topic (or a
    //! department) and not the other reads that part instead of the full sums. The
    //! parts share the totals' tables.
    //!
    //! Every sum table is made anew with topic and department before the channel in
    //! its key, so each part (and within it one topic or department, or in the full
    //! sums one pair) is a range of the key per day and kind; on SQLite as a `WITHOUT
    //! ROWID` table, the rows stored in the key's order, so a read finds `n` beside the
    //! key and a write changes one B-tree instead of a table and its key's index. The
    //! rows are copied, and the two parts summed from the full sums, shards kept.

    use super::shared::{sum_table_keyed, without_serving_timeouts};
    use midoffice_domain::rollup::{BY_DEPARTMENT, BY_TOPIC, NOT_IN_TOTALS, TallyKind};
    use sea_orm::{ConnectionTrait, DbBackend};
    use sea_orm_migration::prelude::*;

    /// Four tables made anew and filled.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0011_figure_total_parts"
        }
    }

    const COLUMNS: &str = "kind, channel, topic, department, a, b, c, shard, n";

    /// Creates a sum table with the new key order (`WITHOUT ROWID` on SQLite).
    async fn create(
        manager: &SchemaManager<'_>,
        name: &str,
        column: &'static str,
    ) -> Result<(), DbErr> {
        let table = sum_table_keyed(name, column, true, ["topic", "department", "channel"]);
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared(&format!(
                "{} WITHOUT ROWID",
                table.to_string(SqliteQueryBuilder)
            ))
            .await?;
            Ok(())
        } else {
            manager.create_table(table).await
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let db = manager.get_connection();
            // Copying the figure tables of a large store may take longer than a
            // serving statement.
            without_serving_timeouts(db).await?;
            let code = |k: TallyKind| k.code();
            // A contact's own tallies (contact, answer, satisfaction, exact seconds) and
            // the entries of a subset: `rollup::total_rows` in SQL (the store tests
            // compare it with the totals the writes make).
            let contact_kinds = format!(
                "(kind IN ({}, {}, {}) OR kind >= {})",
                code(TallyKind::Contact),
                code(TallyKind::Answer),
                code(TallyKind::Feedback),
                code(TallyKind::Seconds(0)),
            );
            let entry = code(TallyKind::Entry);
            for (sums, totals, column) in [
                ("figure_rollup", "figure_day_total", "day"),
                ("figure_month", "figure_month_total", "month"),
            ] {
                for table in [sums, totals] {
                    let new = format!("{table}_m0011");
                    create(manager, &new, column).await?;
                    db.execute_unprepared(&format!(
                        "INSERT INTO {new} (tenant, {column}, {COLUMNS}) \
                         SELECT tenant, {column}, {COLUMNS} FROM {table}"
                    ))
                    .await?;
                }
                let new = format!("{totals}_m0011");
                for (kept, summed, subset) in [
                    ("topic", "department", BY_TOPIC),
                    ("department", "topic", BY_DEPARTMENT),
                ] {
                    db.execute_unprepared(&format!(
                        "INSERT INTO {new} \
                         (tenant, {column}, kind, channel, {kept}, {summed}, a, b, c, shard, n) \
                         SELECT tenant, {column}, kind, channel, {kept}, '', a, b, c, shard, \
                           SUM(n) \
                         FROM {sums} \
                         WHERE {kept} <> '' AND ({contact_kinds} \
                           OR (kind = {entry} AND (a & {NOT_IN_TOTALS}) = {subset})) \
                         GROUP BY tenant, {column}, kind, channel, {kept}, a, b, c, shard \
                         HAVING SUM(n) <> 0"
                    ))
                    .await?;
                }
                for table in [sums, totals] {
                    manager
                        .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                        .await?;
                    manager
                        .rename_table(
                            Table::rename()
                                .table(Alias::new(format!("{table}_m0011")), Alias::new(table))
                                .to_owned(),
                        )
                        .await?;
                    // PostgreSQL names a primary key after its table when it is made:
                    // the name a table made under its own name has (m0009 relies on it).
                    if db.get_database_backend() == DbBackend::Postgres {
                        db.execute_unprepared(&format!(
                            "ALTER TABLE {table} RENAME CONSTRAINT {table}_m0011_pkey \
                             TO {table}_pkey"
                        ))
                        .await?;
                    }
                }
            }
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0012_figure_day_versions {
    //! A change counter per tenant, day and shard (`figure_day_version`): every write
    //! that changes a day's figure sums (`crate::rollup::add_to_rollups`) adds one to
    //! the counter of that day in the same transaction, on the shard of its sum rows (so
    //! writers of one tenant do not meet on one row). A figure answer kept in memory for
    //! a run of days (`crate::figure_cache`) stays exact while the counters of its days
    //! are unchanged. A new table, empty: nothing kept from before counts. A later
    //! migration that rewrites the sums of a served store must also raise each tenant's
    //! figure generation (`figure_state`), or kept answers would outlive it.

    use super::shared::{long, text};
    use sea_orm::{ConnectionTrait, DbBackend};
    use sea_orm_migration::prelude::*;

    /// One table.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0012_figure_day_versions"
        }
    }

    fn table() -> TableCreateStatement {
        let mut key = Index::create();
        key.col("tenant").col("day").col("shard");
        Table::create()
            .table(Alias::new("figure_day_version"))
            .col(text("tenant"))
            .col(ColumnDef::new("day").integer().not_null())
            .col(ColumnDef::new("shard").small_integer().not_null())
            .col(long("version"))
            .primary_key(&mut key)
            .to_owned()
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let db = manager.get_connection();
            if db.get_database_backend() == DbBackend::Sqlite {
                db.execute_unprepared(&format!(
                    "{} WITHOUT ROWID",
                    table().to_string(SqliteQueryBuilder)
                ))
                .await?;
                Ok(())
            } else {
                manager.create_table(table()).await
            }
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(
                    Table::drop()
                        .table(Alias::new("figure_day_version"))
                        .to_owned(),
                )
                .await
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0013_contact_case_started {
    //! The commitments worklist asks, per open commitment, whether a contact on its case
    //! started after the promise (`tenant = ? AND case_id = ? AND started_at > ?`):
    //! with the start in the index the case's own contacts are the plan. And it walks
    //! the commitments in the order (due time, id): with the id in the index of the due
    //! time, the walk stops after a page instead of sorting every commitment first.
    //! Each new index replaces the one that was its prefix (`(tenant, case_id)`,
    //! `(tenant, due_at)`), whose every search it serves.

    use sea_orm_migration::prelude::*;

    /// Creates the indexes, then drops those they replace.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0013_contact_case_started"
        }
    }

    /// Each new index: its name, its columns, and the index it replaces.
    const REPLACED: [(&str, &[&str], &str); 2] = [
        (
            "ix_contact_tenant_case_started",
            &["tenant", "case_id", "started_at"],
            "ix_contact_tenant_case",
        ),
        (
            "ix_contact_tenant_due_id",
            &["tenant", "due_at", "id"],
            "ix_contact_tenant_due",
        ),
    ];

    fn create(name: &str, cols: &[&str]) -> IndexCreateStatement {
        let mut ix = Index::create();
        ix.name(name).table("contact");
        for c in cols {
            ix.col(Alias::new(*c));
        }
        ix.to_owned()
    }

    fn drop(name: &str) -> IndexDropStatement {
        Index::drop().name(name).table("contact").to_owned()
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for (new, cols, old) in REPLACED {
                manager.create_index(create(new, cols)).await?;
                manager.drop_index(drop(old)).await?;
            }
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for (new, cols, old) in REPLACED {
                manager
                    .create_index(create(old, &cols[..cols.len() - 1]))
                    .await?;
                manager.drop_index(drop(new)).await?;
            }
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0014_event_outbox {
    //! The event outbox (docs/api/events.md). `event`: one row per event a write or the
    //! overdue pass produced (ids, codes and instants only), unique per tenant, type and
    //! subject, so an event happens once (the overdue pass inserts again and again, and
    //! only the first stays). `event_delivery`: one row per event and subscriber still
    //! to deliver, inserted in the same transaction as the event; the dispatcher deletes
    //! it once delivered, and marks it failed (`failed_at`) when it gives up. The
    //! retention pass deletes events older than the tenant's horizon (`time`, indexed)
    //! with their deliveries. Both are keyed by tenant first.

    use super::shared::{index, long, text};
    use sea_orm_migration::prelude::*;

    /// Two tables.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0014_event_outbox"
        }
    }

    fn id(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).uuid().not_null().to_owned()
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let mut key = Index::create();
            key.col("tenant").col("id");
            manager
                .create_table(
                    Table::create()
                        .table("event")
                        .col(text("tenant"))
                        .col(id("id"))
                        .col(text("event_type"))
                        .col(id("subject"))
                        .col(long("time"))
                        .col(ColumnDef::new("data").text().not_null())
                        .col(long("created_at"))
                        .primary_key(&mut key)
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    index(
                        "ux_event_tenant_type_subject",
                        "event",
                        &["tenant", "event_type", "subject"],
                    )
                    .unique()
                    .to_owned(),
                )
                .await?;
            manager
                .create_index(index("ix_event_tenant_time", "event", &["tenant", "time"]))
                .await?;
            let mut key = Index::create();
            key.col("tenant").col("subscriber").col("event_id");
            manager
                .create_table(
                    Table::create()
                        .table("event_delivery")
                        .col(text("tenant"))
                        .col(text("subscriber"))
                        .col(id("event_id"))
                        .col(ColumnDef::new("attempts").integer().not_null())
                        .col(long("next_at"))
                        .col(ColumnDef::new("claimed_until").big_integer().null())
                        .col(ColumnDef::new("failed_at").big_integer().null())
                        .primary_key(&mut key)
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(index(
                    "ix_event_delivery_tenant_next",
                    "event_delivery",
                    &["tenant", "next_at"],
                ))
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for t in ["event_delivery", "event"] {
                manager
                    .drop_table(Table::drop().table(Alias::new(t)).to_owned())
                    .await?;
            }
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0015_benchmark_import {
    //! Benchmark summaries imported from other deployments (`benchmark_import`,
    //! `crate::benchmark`): one row per peer group, period and participant, holding the
    //! summary's canonical line and signature as verified. A group's rows, not a
    //! tenant's: the group code leads the key. A new table, empty.

    use super::shared::{long, text};
    use sea_orm_migration::prelude::*;

    /// One table.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0015_benchmark_import"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let mut key = Index::create();
            key.col("peer_group").col("period").col("participant");
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("benchmark_import"))
                        .col(text("peer_group"))
                        .col(text("period"))
                        .col(text("participant"))
                        .col(long("as_of"))
                        .col(ColumnDef::new("line").text().not_null())
                        .col(text("signature"))
                        .col(long("imported_at"))
                        .primary_key(&mut key)
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(
                    Table::drop()
                        .table(Alias::new("benchmark_import"))
                        .to_owned(),
                )
                .await
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0016_benchmark_group {
    //! The fixed membership of a benchmark peer group per period (`crate::benchmark`,
    //! docs/benchmark.md "Composing a group"). `benchmark_group`: one row per peer group
    //! and period once composed, with when and how many members; the key makes the
    //! composition happen once (a second composer's insert finds it and does nothing).
    //! `benchmark_member`: one row per member, with its figures frozen at composition
    //! as a canonical summary line (`benchmark_summary::canonical`) and whether it was a
    //! local tenant or an imported summary. Like `benchmark_import`, these tables span
    //! tenants on purpose (a group's rows, not a tenant's): the group code leads the key;
    //! a local member's participant id is its tenant id. New tables, empty.

    use super::shared::{long, text};
    use sea_orm_migration::prelude::*;

    /// Two tables.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0016_benchmark_group"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let mut key = Index::create();
            key.col("peer_group").col("period");
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("benchmark_group"))
                        .col(text("peer_group"))
                        .col(text("period"))
                        .col(long("composed_at"))
                        .col(ColumnDef::new("members").integer().not_null())
                        .primary_key(&mut key)
                        .to_owned(),
                )
                .await?;
            let mut key = Index::create();
            key.col("peer_group").col("period").col("participant");
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("benchmark_member"))
                        .col(text("peer_group"))
                        .col(text("period"))
                        .col(text("participant"))
                        .col(text("origin"))
                        .col(ColumnDef::new("line").text().not_null())
                        .primary_key(&mut key)
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for t in ["benchmark_member", "benchmark_group"] {
                manager
                    .drop_table(Table::drop().table(Alias::new(t)).to_owned())
                    .await?;
            }
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

mod m0017_figure_answers {
    //! Dashboard figure answers kept per period (`figure_answer`, `crate::figure_cache`):
    //! one row per tenant, filter (`what`: channel, topic and department joined by `/`,
    //! empty where open), first day and day after the last (day numbers), with what it
    //! was computed under (the rollups' fingerprint and generation, the sum of the
    //! period's day change counters) and the answer (`crate::rows::figure_answer`). A
    //! row is used only while that basis holds; anything else is computed again. A new
    //! table, empty: nothing kept from before counts.

    use super::shared::{long, text};
    use sea_orm::{ConnectionTrait, DbBackend};
    use sea_orm_migration::prelude::*;

    /// One table.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0017_figure_answers"
        }
    }

    fn table() -> TableCreateStatement {
        let mut key = Index::create();
        key.col("tenant").col("what").col("from_day").col("to_day");
        Table::create()
            .table(Alias::new("figure_answer"))
            .col(text("tenant"))
            .col(text("what"))
            .col(ColumnDef::new("from_day").integer().not_null())
            .col(ColumnDef::new("to_day").integer().not_null())
            .col(text("fingerprint"))
            .col(long("generation"))
            .col(long("versions"))
            .col(ColumnDef::new("body").text().not_null())
            .col(long("computed_at"))
            .primary_key(&mut key)
            .to_owned()
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let db = manager.get_connection();
            if db.get_database_backend() == DbBackend::Sqlite {
                db.execute_unprepared(&format!(
                    "{} WITHOUT ROWID",
                    table().to_string(SqliteQueryBuilder)
                ))
                .await?;
                Ok(())
            } else {
                manager.create_table(table()).await
            }
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(Alias::new("figure_answer")).to_owned())
                .await
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}
