//! Migrations that run unchanged on SQLite and PostgreSQL: foreign keys are declared
//! inside `CREATE TABLE` (sea-query cannot add them to an SQLite table later) and
//! every later change must be one change per `ALTER TABLE`.

use sea_orm_migration::prelude::*;

/// All migrations, oldest first.
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m0001_initial::Migration)]
    }
}

mod m0001_initial {
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
    fn text(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).string().not_null().to_owned()
    }
    fn text_null(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).string().null().to_owned()
    }
    fn long_text_null(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).text().null().to_owned()
    }
    fn micros(name: &'static str) -> ColumnDef {
        ColumnDef::new(name).big_integer().not_null().to_owned()
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

    fn index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
        let mut ix = Index::create();
        ix.name(name).table(table);
        for c in cols {
            ix.col(*c);
        }
        ix.to_owned()
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
