//! The database's plans of the look-ups on the paths of a start, a completion, a
//! context and a satisfaction answer, and of the commitments worklist's walk, so a test (or an operator) can check that each
//! is a search by the primary key or by an index that leads with the tenant, and none
//! reads all of a tenant's rows: the cost of a write must not grow with the store.

use crate::entity::{case, contact, party};
use crate::facts::query;
use crate::{Store, StoreError, convert, db, worklist};
use midoffice_domain::Code;
use midoffice_domain::TenantId;
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::view::CommitmentCursor;
use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement};
use uuid::Uuid;

impl Store {
    /// The plan of each look-up (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on
    /// PostgreSQL), by name, for these identifiers (at least one) and ids, one line per
    /// step of the plan. Changes nothing.
    pub async fn query_plans(
        &self,
        tenant: &TenantId,
        identifiers: &[IdentKey],
        party_id: Uuid,
        case_id: Uuid,
        contact_id: Uuid,
    ) -> Result<Vec<(&'static str, String)>, StoreError> {
        let b = self.pools.backend;
        let now = convert::now();
        let department = Code::parse("kcc").map_err(StoreError::Internal)?;
        let statements: Vec<(&'static str, Statement)> = vec![
            ("identifier owners", query::owners(b, tenant, identifiers)),
            (
                "contact with its answer and party",
                query::contact_answer_party(b, tenant, contact_id),
            ),
            (
                "party by id",
                query::by_id::<party::Entity>(party::Column::Tenant, tenant, party_id).build(b),
            ),
            (
                "case by id",
                query::by_id::<case::Entity>(case::Column::Tenant, tenant, case_id).build(b),
            ),
            (
                "contact by id",
                query::by_id::<contact::Entity>(contact::Column::Tenant, tenant, contact_id)
                    .build(b),
            ),
            (
                "cases of a party",
                query::party_cases(tenant, party_id).build(b),
            ),
            (
                "contacts of cases",
                query::case_contacts(tenant, &[case_id]).build(b),
            ),
            (
                "feedback of contacts",
                query::feedback(tenant, &[contact_id]).build(b),
            ),
            (
                "parties merged in",
                query::merged_into(tenant, &[party_id]).build(b),
            ),
            (
                "contacts of parties",
                query::party_contacts(tenant, &[party_id]).build(b),
            ),
            (
                "open commitments",
                worklist::candidates(tenant, None, None, now, 51).build(b),
            ),
            (
                "open commitments of a department after a position",
                worklist::candidates(
                    tenant,
                    Some(&department),
                    Some(CommitmentCursor {
                        due_at: now,
                        contact_id,
                    }),
                    now,
                    51,
                )
                .build(b),
            ),
        ];
        db::bounded(async {
            let mut out = Vec::new();
            for (name, s) in statements {
                let explain = match b {
                    DbBackend::Postgres => format!("EXPLAIN {}", s.sql),
                    _ => format!("EXPLAIN QUERY PLAN {}", s.sql),
                };
                let stmt = Statement { sql: explain, ..s };
                let rows = self
                    .pools
                    .reader
                    .query_all_raw(stmt)
                    .await
                    .map_err(db::db_err)?;
                let lines = rows
                    .iter()
                    .map(|r| match b {
                        DbBackend::Postgres => r.try_get_by_index::<String>(0),
                        _ => r.try_get::<String>("", "detail"),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(db::db_err)?;
                out.push((name, lines.join("\n")));
            }
            Ok(out)
        })
        .await
    }
}
