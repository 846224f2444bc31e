//! Loading the facts a rule needs, in few queries (IN lists, chunked).

use crate::StoreError;
use crate::convert::{
    self, code, contact_facts, corrupt, feedback_facts, instant, now, party_summary,
};
use crate::db::db_err;
use crate::entity::{case, contact, feedback, identifier, party};
use midoffice_domain::case::{CaseFacts, ContactStatus};
use midoffice_domain::contact::{ContactFacts, Feedback};
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::party::KnownParties;
use midoffice_domain::plan::completion::{CompletionFacts, StoredContact};
use midoffice_domain::plan::erase::{EraseFacts, Family};
use midoffice_domain::plan::feedback::FeedbackFacts;
use midoffice_domain::plan::retention::{
    CaselessContact as RetentionCaseless, PartyHoldings, RetainedCase, RetentionFacts,
};
use midoffice_domain::plan::start::{AskedCase, FreshIds, Needs, StartFacts};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::{Instant, TenantId};
use sea_orm::sea_query::{Condition as QueryCondition, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QuerySelect,
    RelationDef,
};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The most values in one IN list.
pub const CHUNK: usize = 500;
/// The longest `merged_into` chain followed (merges keep chains short; this is a guard).
const MAX_HOPS: usize = 64;

/// A row that a merge may point elsewhere (party or case).
trait Merged {
    fn merged_into(&self) -> Option<Uuid>;
}

impl Merged for party::Model {
    fn merged_into(&self) -> Option<Uuid> {
        self.merged_into
    }
}

impl Merged for case::Model {
    fn merged_into(&self) -> Option<Uuid> {
        self.merged_into
    }
}

/// The statements of the look-ups on the paths of a start, a completion, a context and
/// a satisfaction answer, each built in one place so its plan can be checked
/// ([`crate::Store::query_plans`]): every one is a search by the primary key or by an
/// index that leads with the tenant, whatever the size of the store.
pub mod query {
    use super::*;
    use sea_orm::sea_query::{Query, SelectStatement, UnionType};
    use sea_orm::{DbBackend, QueryTrait, Select, SelectTwo, Statement};

    /// A row by id, in the tenant.
    pub fn by_id<E>(tenant_column: E::Column, tenant: &TenantId, id: Uuid) -> Select<E>
    where
        E: EntityTrait,
        E::Column: ColumnTrait,
        <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
    {
        E::find_by_id(id).filter(tenant_column.eq(tenant.as_str()))
    }

    /// The identifier rows of these identifiers, each with its party's columns when that
    /// party is live (not merged, not erased; NULL otherwise), in one statement: one
    /// search of the primary key (tenant, kind, hash, party) per identifier, as a UNION
    /// ALL, each joined to its party by the party's primary key. (Written as `tenant = ?
    /// AND ((kind = ? AND hash = ?) OR ...)`, SQLite searches the tenant's prefix only
    /// and reads every identifier of the tenant.) `given` is not empty. Read with
    /// [`Owner`].
    pub fn owners(backend: DbBackend, tenant: &TenantId, given: &[IdentKey]) -> Statement {
        let live = QueryCondition::all()
            .add(
                Expr::col((party::Entity, party::Column::Tenant))
                    .equals((identifier::Entity, identifier::Column::Tenant)),
            )
            .add(
                Expr::col((party::Entity, party::Column::Id))
                    .equals((identifier::Entity, identifier::Column::PartyId)),
            )
            .add(Expr::col((party::Entity, party::Column::MergedInto)).is_null())
            .add(Expr::col((party::Entity, party::Column::ErasedAt)).is_null());
        let one = |k: &IdentKey| -> SelectStatement {
            Query::select()
                .column((identifier::Entity, identifier::Column::Kind))
                .column((identifier::Entity, identifier::Column::Hash))
                .column((identifier::Entity, identifier::Column::PartyId))
                .expr_as(
                    Expr::col((party::Entity, party::Column::Id)),
                    Owner::LIVE_ID,
                )
                .column((party::Entity, party::Column::CreatedAt))
                .column((party::Entity, party::Column::StrongKind))
                .column((party::Entity, party::Column::StrongHash))
                .column((party::Entity, party::Column::StrongDisplay))
                .from(identifier::Entity)
                .join(
                    sea_orm::sea_query::JoinType::LeftJoin,
                    party::Entity,
                    live.clone(),
                )
                .and_where(
                    Expr::col((identifier::Entity, identifier::Column::Tenant)).eq(tenant.as_str()),
                )
                .and_where(
                    Expr::col((identifier::Entity, identifier::Column::Kind)).eq(k.kind.as_str()),
                )
                .and_where(
                    Expr::col((identifier::Entity, identifier::Column::Hash)).eq(k.hash.as_str()),
                )
                .to_owned()
        };
        let mut q = one(&given[0]);
        for k in &given[1..] {
            q.union(UnionType::All, one(k));
        }
        backend.build(&q)
    }

    /// A row of [`owners`]: an identifier, and its party if that is live.
    #[derive(Debug, FromQueryResult)]
    pub struct Owner {
        pub kind: String,
        pub hash: String,
        pub party_id: Uuid,
        pub live_party_id: Option<Uuid>,
        pub created_at: Option<i64>,
        pub strong_kind: Option<String>,
        pub strong_hash: Option<String>,
        pub strong_display: Option<String>,
    }

    impl Owner {
        /// The column that holds the party's id when the party is live.
        const LIVE_ID: &str = "live_party_id";

        /// The owner's party row (its columns this statement reads), if it is live.
        pub fn live_party(&self, tenant: &TenantId) -> Option<party::Model> {
            Some(party::Model {
                id: self.live_party_id?,
                tenant: tenant.as_str().to_owned(),
                created_at: self.created_at?,
                strong_kind: self.strong_kind.clone(),
                strong_hash: self.strong_hash.clone(),
                strong_display: self.strong_display.clone(),
                merged_into: None,
                erased_at: None,
            })
        }
    }

    /// The cases of a party, those merged into another too: the caller leaves those
    /// out. (With `merged_into IS NULL` in the statement SQLite's planner, whose
    /// sampled statistics see few rows per `merged_into`, chose `ix_case_merged_into`
    /// and read every live case of the store: a start cost grew with the store.)
    pub fn party_cases(tenant: &TenantId, party_id: Uuid) -> Select<case::Entity> {
        case::Entity::find()
            .filter(case::Column::Tenant.eq(tenant.as_str()))
            .filter(case::Column::PartyId.eq(party_id))
    }

    /// The cases of a party, each row joined with the status of one of its contacts
    /// (start, end, outcome, chosen at completion; none for a case without contacts),
    /// and the case's `merged_into` (the caller leaves merged cases out, as for
    /// [`party_cases`]): what decides which cases a write needs in full
    /// (`start::Needs`).
    pub fn party_case_status(backend: DbBackend, tenant: &TenantId, party_id: Uuid) -> Statement {
        let on = QueryCondition::all()
            .add(
                Expr::col((contact::Entity, contact::Column::Tenant))
                    .equals((case::Entity, case::Column::Tenant)),
            )
            .add(
                Expr::col((contact::Entity, contact::Column::CaseId))
                    .equals((case::Entity, case::Column::Id)),
            );
        let q = Query::select()
            .column((case::Entity, case::Column::Id))
            .column((case::Entity, case::Column::Topic))
            .column((case::Entity, case::Column::Reference))
            .column((case::Entity, case::Column::CreatedAt))
            .column((contact::Entity, contact::Column::StartedAt))
            .column((contact::Entity, contact::Column::EndedAt))
            .column((contact::Entity, contact::Column::Outcome))
            .column((contact::Entity, contact::Column::CaseChosenAtCompletion))
            .column((case::Entity, case::Column::MergedInto))
            .from(case::Entity)
            .join(sea_orm::sea_query::JoinType::LeftJoin, contact::Entity, on)
            .and_where(Expr::col((case::Entity, case::Column::Tenant)).eq(tenant.as_str()))
            .and_where(Expr::col((case::Entity, case::Column::PartyId)).eq(party_id))
            .to_owned();
        backend.build(&q)
    }

    /// The contacts of these cases, each with its satisfaction answer (a LEFT JOIN on
    /// the answer's primary key: one statement, not a second one for the answers).
    pub fn case_contacts(
        tenant: &TenantId,
        cases: &[Uuid],
    ) -> SelectTwo<contact::Entity, feedback::Entity> {
        contact::Entity::find()
            .select_also(feedback::Entity)
            .join(JoinType::LeftJoin, contact_feedback())
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::CaseId.is_in(cases.iter().copied()))
    }

    /// A contact with its satisfaction answer (columns `A_*` and `B_*`, as sea-orm's
    /// `select_also` names them) and `party_merged_into`, the `merged_into` of its
    /// party's row: what a completion reads first, in one statement (the party row is
    /// read on its own only when that party was merged into another).
    pub fn contact_answer_party(backend: DbBackend, tenant: &TenantId, id: Uuid) -> Statement {
        let party_on = QueryCondition::all()
            .add(
                Expr::col((party::Entity, party::Column::Tenant))
                    .equals((contact::Entity, contact::Column::Tenant)),
            )
            .add(
                Expr::col((party::Entity, party::Column::Id))
                    .equals((contact::Entity, contact::Column::PartyId)),
            );
        let mut q = contact::Entity::find()
            .select_also(feedback::Entity)
            .join(JoinType::LeftJoin, contact_feedback())
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::Id.eq(id))
            .expr_as(
                Expr::col((party::Entity, party::Column::MergedInto)),
                PARTY_MERGED_INTO,
            )
            .into_query();
        q.join(
            sea_orm::sea_query::JoinType::LeftJoin,
            party::Entity,
            party_on,
        );
        backend.build(&q)
    }

    /// The column of [`contact_answer_party`] that holds the party's `merged_into`.
    pub const PARTY_MERGED_INTO: &str = "party_merged_into";

    /// The feedback of these contacts.
    pub fn feedback(tenant: &TenantId, contacts: &[Uuid]) -> Select<feedback::Entity> {
        feedback::Entity::find()
            .filter(feedback::Column::Tenant.eq(tenant.as_str()))
            .filter(feedback::Column::ContactId.is_in(contacts.iter().copied()))
    }

    /// The parties merged into these.
    pub fn merged_into(tenant: &TenantId, ids: &[Uuid]) -> Select<party::Entity> {
        party::Entity::find()
            .filter(party::Column::Tenant.eq(tenant.as_str()))
            .filter(party::Column::MergedInto.is_in(ids.iter().copied()))
    }

    /// The contacts of these parties.
    pub fn party_contacts(tenant: &TenantId, parties: &[Uuid]) -> Select<contact::Entity> {
        contact::Entity::find()
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::PartyId.is_in(parties.iter().copied()))
    }
}

use query::by_id;

/// A row by id, following `merged_into` to the one it was merged into.
async fn follow_merged<E, C>(
    c: &C,
    tenant: (E::Column, &TenantId),
    id: Uuid,
    what: &str,
) -> Result<Option<E::Model>, StoreError>
where
    E: EntityTrait,
    E::Model: Merged,
    E::Column: ColumnTrait,
    C: ConnectionTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    let mut id = id;
    for _ in 0..MAX_HOPS {
        let row = by_id::<E>(tenant.0, tenant.1, id)
            .one(c)
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => match r.merged_into() {
                Some(next) => id = next,
                None => return Ok(Some(r)),
            },
            None => return Ok(None),
        }
    }
    Err(corrupt(&format!("{what}.merged_into chain too long")))
}

/// A party by id, following `merged_into` to the surviving party.
pub async fn party_row<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Option<party::Model>, StoreError> {
    follow_merged::<party::Entity, _>(c, (party::Column::Tenant, tenant), id, "party").await
}

/// A case by id, following `merged_into` to the case it joined.
pub async fn case_row<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Option<case::Model>, StoreError> {
    follow_merged::<case::Entity, _>(c, (case::Column::Tenant, tenant), id, "case").await
}

/// A contact row.
pub async fn contact_row<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Option<contact::Model>, StoreError> {
    by_id::<contact::Entity>(contact::Column::Tenant, tenant, id)
        .one(c)
        .await
        .map_err(db_err)
}

/// The feedback of these contacts.
pub async fn feedback_of<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    contact_ids: &[Uuid],
) -> Result<BTreeMap<Uuid, Feedback>, StoreError> {
    let mut out = BTreeMap::new();
    for chunk in contact_ids.chunks(CHUNK) {
        let rows = query::feedback(tenant, chunk)
            .all(c)
            .await
            .map_err(db_err)?;
        for r in rows {
            out.insert(r.contact_id, feedback_facts(&r)?);
        }
    }
    Ok(out)
}

/// The join of a contact to its satisfaction answer (at most one, of the same tenant).
fn contact_feedback() -> RelationDef {
    let mut rel: RelationDef = feedback::Entity::belongs_to(contact::Entity)
        .from(feedback::Column::ContactId)
        .to(contact::Column::Id)
        .into();
    rel = rel.rev();
    rel.on_condition(|contact_table, feedback_table| {
        QueryCondition::all().add(
            Expr::col((feedback_table, feedback::Column::Tenant))
                .equals((contact_table, contact::Column::Tenant)),
        )
    })
}

/// A contact row read with the row of its satisfaction answer (if any), as facts.
fn answered(
    row: &contact::Model,
    answer: Option<&feedback::Model>,
) -> Result<ContactFacts, StoreError> {
    contact_facts(row, answer.map(feedback_facts).transpose()?)
}

/// A contact: its row with its facts (and its satisfaction answer), and its party as
/// merges left it (followed from the party row only when that party was merged), in
/// one query when it was not (a LEFT JOIN instead of a second query for the answer: on
/// SQLite every statement costs its own building and decoding). What a completion and
/// a satisfaction answer read first.
pub async fn contact_row_with_facts<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Option<(contact::Model, ContactFacts)>, StoreError> {
    let row = c
        .query_one_raw(query::contact_answer_party(
            c.get_database_backend(),
            tenant,
            id,
        ))
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let contact = contact::Model::from_query_result(&row, "A_").map_err(db_err)?;
    let answer = feedback::Model::from_query_result_optional(&row, "B_").map_err(db_err)?;
    let merged_into: Option<Uuid> = row.try_get("", query::PARTY_MERGED_INTO).map_err(db_err)?;
    let mut facts = answered(&contact, answer.as_ref())?;
    // Merges keep a contact's party current; follow them all the same.
    if let Some(next) = merged_into
        && let Some(p) = party_row(c, tenant, next).await?
    {
        facts.party_id = Some(p.id);
    }
    Ok(Some((contact, facts)))
}

/// Contact rows as facts, with their feedback, oldest first.
pub async fn contacts_as_facts<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    rows: &[contact::Model],
) -> Result<Vec<ContactFacts>, StoreError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut feedback = feedback_of(c, tenant, &ids).await?;
    let mut out = rows
        .iter()
        .map(|r| contact_facts(r, feedback.remove(&r.id)))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|a| (a.started_at, a.id));
    Ok(out)
}

/// One contact as facts, with its feedback.
pub async fn contact_with_feedback<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    row: &contact::Model,
) -> Result<ContactFacts, StoreError> {
    let mut feedback = feedback_of(c, tenant, &[row.id]).await?;
    contact_facts(row, feedback.remove(&row.id))
}

/// These case rows with all their contacts (and feedback), oldest case first.
pub async fn cases_with_contacts<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    cases: Vec<case::Model>,
) -> Result<Vec<CaseFacts>, StoreError> {
    let ids: Vec<Uuid> = cases.iter().map(|k| k.id).collect();
    let mut contacts = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        for (row, answer) in query::case_contacts(tenant, chunk)
            .all(c)
            .await
            .map_err(db_err)?
        {
            contacts.push(answered(&row, answer.as_ref())?);
        }
    }
    contacts.sort_by_key(|a| (a.started_at, a.id));
    let mut by_case: BTreeMap<Uuid, Vec<ContactFacts>> = BTreeMap::new();
    for f in contacts {
        if let Some(id) = f.case_id {
            by_case.entry(id).or_default().push(f);
        }
    }
    let mut out = cases
        .into_iter()
        .map(|k| {
            let contacts = by_case.remove(&k.id).unwrap_or_default();
            case_of_row(k, contacts)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    out.sort_by_key(|a| (a.created_at, a.id));
    Ok(out)
}

/// A case row as facts, with these contacts.
pub fn case_of_row(row: case::Model, contacts: Vec<ContactFacts>) -> Result<CaseFacts, StoreError> {
    Ok(CaseFacts {
        id: row.id,
        party_id: row.party_id,
        topic: code(row.topic.as_deref(), "case.topic")?,
        reference: row.reference,
        created_at: instant(row.created_at)?,
        contacts,
    })
}

/// Cases by id (as stored, not following merges), each with all its contacts.
pub async fn cases_by_id<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    ids: &[Uuid],
) -> Result<Vec<CaseFacts>, StoreError> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        rows.extend(
            case::Entity::find()
                .filter(case::Column::Tenant.eq(tenant.as_str()))
                .filter(case::Column::Id.is_in(chunk.iter().copied()))
                .all(c)
                .await
                .map_err(db_err)?,
        );
    }
    cases_with_contacts(c, tenant, rows).await
}

/// One case (as stored) with all its contacts.
pub async fn case_facts<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Option<CaseFacts>, StoreError> {
    Ok(cases_by_id(c, tenant, &[id]).await?.into_iter().next())
}

/// All of today's cases of a party, each with all its contacts.
pub async fn party_cases<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    party_id: Uuid,
) -> Result<Vec<CaseFacts>, StoreError> {
    let mut rows = query::party_cases(tenant, party_id)
        .all(c)
        .await
        .map_err(db_err)?;
    rows.retain(|k| k.merged_into.is_none());
    cases_with_contacts(c, tenant, rows).await
}

/// Today's cases of a party that `needs` names (see [`Needs`]), each with all its
/// contacts; `None`: all of them. The status of every case is read in one statement
/// (a few columns of each contact), and only the cases needed are read in full.
pub async fn needed_cases<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    party_id: Uuid,
    needs: Option<&Needs>,
    settings: &TenantSettings,
) -> Result<Vec<CaseFacts>, StoreError> {
    let Some(needs) = needs else {
        return party_cases(c, tenant, party_id).await;
    };
    let rows = c
        .query_all_raw(query::party_case_status(
            c.get_database_backend(),
            tenant,
            party_id,
        ))
        .await
        .map_err(db_err)?;
    // The case rows, each with its contacts' status.
    let mut heads: Vec<(case::Model, Vec<ContactStatus>)> = Vec::new();
    let mut index: BTreeMap<Uuid, usize> = BTreeMap::new();
    for r in &rows {
        let merged: Option<Uuid> = r.try_get_by_index(8).map_err(db_err)?;
        if merged.is_some() {
            continue;
        }
        let id: Uuid = r.try_get_by_index(0).map_err(db_err)?;
        let i = match index.get(&id) {
            Some(i) => *i,
            None => {
                heads.push((
                    case::Model {
                        id,
                        tenant: tenant.as_str().to_owned(),
                        party_id,
                        topic: r.try_get_by_index(1).map_err(db_err)?,
                        reference: r.try_get_by_index(2).map_err(db_err)?,
                        created_at: r.try_get_by_index(3).map_err(db_err)?,
                        merged_into: None,
                    },
                    Vec::new(),
                ));
                index.insert(id, heads.len() - 1);
                heads.len() - 1
            }
        };
        let started: Option<i64> = r.try_get_by_index(4).map_err(db_err)?;
        let Some(started) = started else { continue };
        let ended: Option<i64> = r.try_get_by_index(5).map_err(db_err)?;
        let outcome: Option<String> = r.try_get_by_index(6).map_err(db_err)?;
        let chosen: bool = r.try_get_by_index(7).map_err(db_err)?;
        heads[i]
            .1
            .push(contact_status(started, ended, outcome.as_deref(), chosen)?);
    }
    let wanted: Vec<case::Model> = heads
        .into_iter()
        .filter(|(k, contacts)| needs.wants(k.id, k.reference.as_deref(), contacts, settings))
        .map(|(k, _)| k)
        .collect();
    cases_with_contacts(c, tenant, wanted).await
}

/// A contact's status from its stored start, end, outcome and whether its case was
/// chosen at completion: what [`Needs`] looks at.
pub fn contact_status(
    started_at: i64,
    ended_at: Option<i64>,
    outcome: Option<&str>,
    case_chosen_at_completion: bool,
) -> Result<ContactStatus, StoreError> {
    let end = match (ended_at, outcome) {
        (Some(e), Some(o)) => Some((instant(e)?, convert::outcome(o)?)),
        (None, None) => None,
        _ => return Err(corrupt("contact.outcome")),
    };
    Ok(ContactStatus {
        started_at: instant(started_at)?,
        end,
        case_chosen_at_completion,
    })
}

/// The live (not merged, not erased) owners of the given identifiers, with a summary of
/// each owner.
pub async fn known_parties<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    given: &[IdentKey],
) -> Result<KnownParties, StoreError> {
    let mut known = KnownParties::default();
    if given.is_empty() {
        return Ok(known);
    }
    let mut rows = Vec::new();
    // A request names a few identifiers (one per kind); the chunks keep a compound
    // statement far below SQLite's limit of 500 parts.
    for chunk in given.chunks(64) {
        rows.extend(
            query::Owner::find_by_statement(query::owners(c.get_database_backend(), tenant, chunk))
                .all(c)
                .await
                .map_err(db_err)?,
        );
    }
    let mut live = BTreeMap::new();
    for r in &rows {
        if let Some(p) = r.live_party(tenant) {
            live.insert(p.id, party_summary(&p)?);
        }
    }
    for k in given {
        let mut owners: Vec<Uuid> = rows
            .iter()
            .filter(|r| {
                r.kind == k.kind.as_str() && r.hash == k.hash && live.contains_key(&r.party_id)
            })
            .map(|r| r.party_id)
            .collect();
        owners.sort();
        owners.dedup();
        known.owners.insert(k.clone(), owners);
    }
    known.parties = live;
    Ok(known)
}

/// Every party id that resolves to `id` (itself and those merged into it, at any depth).
pub async fn merged_family<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let mut all = vec![id];
    let mut frontier = vec![id];
    while !frontier.is_empty() && all.len() < 100_000 {
        let mut next = Vec::new();
        for chunk in frontier.chunks(CHUNK) {
            let rows = query::merged_into(tenant, chunk)
                .all(c)
                .await
                .map_err(db_err)?;
            next.extend(rows.into_iter().map(|r| r.id).filter(|r| !all.contains(r)));
        }
        all.extend(next.iter().copied());
        frontier = next;
    }
    Ok(all)
}

/// The ids of the contacts of these parties.
async fn contact_ids_of<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    let mut out = Vec::new();
    for chunk in parties.chunks(CHUNK) {
        let ids: Vec<Uuid> = query::party_contacts(tenant, chunk)
            .select_only()
            .column(contact::Column::Id)
            .into_tuple()
            .all(c)
            .await
            .map_err(db_err)?;
        out.extend(ids);
    }
    Ok(out)
}

/// What a start or a look-up needs: the owners of the identifiers, the case asked for
/// (following joins) and its party, and today's cases of all of those parties that
/// `needs` names (`None`: all of them, as a page of a party's contacts needs).
pub async fn load_start<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    identifiers: &[IdentKey],
    case_id: Option<Uuid>,
    needs: Option<&Needs>,
    settings: TenantSettings,
) -> Result<StartFacts, StoreError> {
    let known = known_parties(c, tenant, identifiers).await?;
    let asked_case = match case_id {
        None => AskedCase::NotAsked,
        Some(id) => match case_row(c, tenant, id).await? {
            None => AskedCase::Unknown,
            Some(k) => {
                let owner = party_row(c, tenant, k.party_id)
                    .await?
                    .ok_or_else(|| corrupt("case.party_id"))?;
                AskedCase::Found {
                    case_id: k.id,
                    party: party_summary(&owner)?,
                }
            }
        },
    };
    let mut parties: BTreeSet<Uuid> = known.parties.keys().copied().collect();
    if let AskedCase::Found { party, .. } = &asked_case {
        parties.insert(party.id);
    }
    let mut cases = BTreeMap::new();
    for p in parties {
        cases.insert(p, needed_cases(c, tenant, p, needs, &settings).await?);
    }
    Ok(StartFacts {
        known,
        asked_case,
        cases,
        settings,
        fresh: FreshIds {
            party: Uuid::now_v7(),
            case: Uuid::now_v7(),
            contact: Uuid::now_v7(),
        },
        stored_at: now(),
    })
}

/// What a completion needs: the contact (with its feedback and the case reference it
/// started with) and today's cases of its party.
pub async fn load_completion<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    contact_id: Uuid,
    settings: TenantSettings,
    server_now: Instant,
) -> Result<CompletionFacts, StoreError> {
    let (contact, party_cases) = match contact_row_with_facts(c, tenant, contact_id).await? {
        None => (None, Vec::new()),
        Some((row, facts)) => {
            let needs = Needs::of_completion(&facts, row.case_reference.as_deref());
            let cases = match facts.party_id {
                Some(p) => needed_cases(c, tenant, p, Some(&needs), &settings).await?,
                None => Vec::new(),
            };
            let stored = StoredContact {
                facts,
                case_reference: row.case_reference,
            };
            (Some(stored), cases)
        }
    };
    Ok(CompletionFacts {
        contact,
        party_cases,
        settings,
        fresh_case: Uuid::now_v7(),
        now: server_now,
        stored_at: now(),
    })
}

/// What an erasure needs: the owners of the identifiers and the family (parties merged
/// in, contacts) of each.
pub async fn load_erase<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    identifiers: &[IdentKey],
    settings: TenantSettings,
) -> Result<EraseFacts, StoreError> {
    let known = known_parties(c, tenant, identifiers).await?;
    let mut families = BTreeMap::new();
    for p in known.parties.keys() {
        let parties = merged_family(c, tenant, *p).await?;
        let contacts = contact_ids_of(c, tenant, &parties).await?;
        families.insert(*p, Family { parties, contacts });
    }
    Ok(EraseFacts {
        known,
        families,
        stored_at: now(),
        settings,
    })
}

/// What a satisfaction answer needs: the contact with its feedback.
pub async fn load_feedback<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    contact_id: Uuid,
) -> Result<FeedbackFacts, StoreError> {
    let contact = contact_row_with_facts(c, tenant, contact_id)
        .await?
        .map(|(_, facts)| facts);
    Ok(FeedbackFacts {
        contact,
        stored_at: now(),
    })
}

/// What one retention batch needs, loaded in its write transaction: the candidate
/// contacts as they are now (one may have got a case since), their cases with every
/// contact's start and the cases merged into them, their contacts without a case, and
/// what each of their live parties holds.
pub async fn load_retention<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    candidates: &[Uuid],
    settings: TenantSettings,
    now: Instant,
) -> Result<RetentionFacts, StoreError> {
    let t = tenant.as_str();
    let mut case_ids = BTreeSet::new();
    let mut caseless = Vec::new();
    for chunk in candidates.chunks(CHUNK) {
        let rows: Vec<(Uuid, Option<Uuid>, Option<Uuid>, i64)> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .column(contact::Column::CaseId)
            .column(contact::Column::PartyId)
            .column(contact::Column::StartedAt)
            .filter(contact::Column::Tenant.eq(t))
            .filter(contact::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(c)
            .await
            .map_err(db_err)?;
        for (id, case_id, party_id, started_at) in rows {
            match case_id {
                Some(case_id) => {
                    case_ids.insert(case_id);
                }
                None => caseless.push(RetentionCaseless {
                    id,
                    party: party_id,
                    started_at: instant(started_at)?,
                }),
            }
        }
    }
    let case_ids: Vec<Uuid> = case_ids.into_iter().collect();
    let mut cases: BTreeMap<Uuid, RetainedCase> = BTreeMap::new();
    for chunk in case_ids.chunks(CHUNK) {
        let rows = case::Entity::find()
            .filter(case::Column::Tenant.eq(t))
            .filter(case::Column::Id.is_in(chunk.iter().copied()))
            .filter(case::Column::MergedInto.is_null())
            .all(c)
            .await
            .map_err(db_err)?;
        for r in rows {
            cases.insert(
                r.id,
                RetainedCase {
                    id: r.id,
                    party: r.party_id,
                    created_at: instant(r.created_at)?,
                    contacts: Vec::new(),
                    merged: Vec::new(),
                },
            );
        }
        let contacts: Vec<(Uuid, Option<Uuid>, i64)> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .column(contact::Column::CaseId)
            .column(contact::Column::StartedAt)
            .filter(contact::Column::Tenant.eq(t))
            .filter(contact::Column::CaseId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(c)
            .await
            .map_err(db_err)?;
        for (id, case_id, started_at) in contacts {
            if let Some(case) = case_id.and_then(|k| cases.get_mut(&k)) {
                case.contacts.push((id, instant(started_at)?));
            }
        }
        let merged: Vec<(Uuid, Option<Uuid>)> = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .column(case::Column::MergedInto)
            .filter(case::Column::Tenant.eq(t))
            .filter(case::Column::MergedInto.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(c)
            .await
            .map_err(db_err)?;
        for (id, into) in merged {
            if let Some(case) = into.and_then(|k| cases.get_mut(&k)) {
                case.merged.push(id);
            }
        }
    }
    // The live parties of those cases and contacts, with what they hold.
    let party_ids: BTreeSet<Uuid> = cases
        .values()
        .map(|k| k.party)
        .chain(caseless.iter().filter_map(|k| k.party))
        .collect();
    let party_ids: Vec<Uuid> = party_ids.into_iter().collect();
    let mut parties: BTreeMap<Uuid, PartyHoldings> = BTreeMap::new();
    for chunk in party_ids.chunks(CHUNK) {
        let live: Vec<Uuid> = party::Entity::find()
            .select_only()
            .column(party::Column::Id)
            .filter(party::Column::Tenant.eq(t))
            .filter(party::Column::Id.is_in(chunk.iter().copied()))
            .filter(party::Column::MergedInto.is_null())
            .into_tuple()
            .all(c)
            .await
            .map_err(db_err)?;
        for p in live {
            parties.insert(p, PartyHoldings::default());
        }
        // Merged cases are left out here, not in SQL (see `query::party_cases`).
        let held: Vec<(Uuid, Uuid, Option<Uuid>)> = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .column(case::Column::PartyId)
            .column(case::Column::MergedInto)
            .filter(case::Column::Tenant.eq(t))
            .filter(case::Column::PartyId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(c)
            .await
            .map_err(db_err)?;
        for (id, p, _) in held.into_iter().filter(|(_, _, merged)| merged.is_none()) {
            if let Some(h) = parties.get_mut(&p) {
                h.cases.insert(id);
            }
        }
        let held: Vec<(Uuid, Option<Uuid>)> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .column(contact::Column::PartyId)
            .filter(contact::Column::Tenant.eq(t))
            .filter(contact::Column::PartyId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(c)
            .await
            .map_err(db_err)?;
        for (id, p) in held {
            if let Some(h) = p.and_then(|p| parties.get_mut(&p)) {
                h.contacts.insert(id);
            }
        }
    }
    // The parties merged into each (a merge points every one at the survivor, so one
    // round is the rule; further rounds are a guard), for all of them at once.
    let mut root: BTreeMap<Uuid, Uuid> = parties.keys().map(|p| (*p, *p)).collect();
    let mut frontier: Vec<Uuid> = parties.keys().copied().collect();
    while !frontier.is_empty() && root.len() < 100_000 {
        let mut next = Vec::new();
        for chunk in frontier.chunks(CHUNK) {
            let rows: Vec<(Uuid, Option<Uuid>)> = party::Entity::find()
                .select_only()
                .column(party::Column::Id)
                .column(party::Column::MergedInto)
                .filter(party::Column::Tenant.eq(t))
                .filter(party::Column::MergedInto.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(c)
                .await
                .map_err(db_err)?;
            for (id, into) in rows {
                let Some(top) = into.and_then(|i| root.get(&i).copied()) else {
                    continue;
                };
                if root.contains_key(&id) {
                    continue;
                }
                root.insert(id, top);
                if let Some(h) = parties.get_mut(&top) {
                    h.merged.push(id);
                }
                next.push(id);
            }
        }
        frontier = next;
    }
    Ok(RetentionFacts {
        now,
        settings,
        cases: cases.into_values().collect(),
        caseless,
        parties,
    })
}
