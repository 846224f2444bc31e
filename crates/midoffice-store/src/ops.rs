//! The work inside a write transaction: apply a party plan (new party, attach, merge),
//! choose and make cases, store contacts and their completions, erase a party.

use crate::convert::{code, contact_facts, corrupt, direction_str, micros, now, referral_columns};
use crate::db::db_err;
use crate::entity::{case, contact, feedback, identifier, party};
use crate::facts::{self, CHUNK};
use crate::{Erased, StoreError, idempotency};
use midoffice_domain::case::{self as case_rules, CaseChoice, CaseFacts, CaseRequest};
use midoffice_domain::command::{self, EndCommand, StartCommand};
use midoffice_domain::contact::{ContactFacts, Feedback};
use midoffice_domain::feedback as feedback_rules;
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::party::{self as party_rules, PartyChoice, PartyPlan, Resolution};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::signals::Probe;
use midoffice_domain::view::{self, ContactView, ContextView, PartyStatus, PartyView};
use midoffice_domain::{Code, DomainError, Instant, Missing, Precondition, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, ExprTrait,
    IntoActiveModel, QueryFilter,
};
use std::collections::BTreeSet;
use uuid::Uuid;

/// What replaces the story of a contact of an erased party: that a story existed stays
/// known, so the figures do not change.
pub const ERASED_TEXT: &str = "(gewist op verzoek)";

/// Which cases of a party merging in join which cases of the survivor
/// (`(from, into)` pairs), judged as known at `at` (the start of the contact that
/// merges; a look-up predicts the merge as of its own time): the one decision both
/// [`merge_party`] (stored) and [`join_in_memory`] (a look-up) carry out.
fn merge_pairs(
    survivor_cases: &[CaseFacts],
    merged_cases: &[CaseFacts],
    at: Instant,
) -> Vec<(Uuid, Uuid)> {
    case_rules::merge_plan(survivor_cases, merged_cases, at)
}

fn case_not_found() -> StoreError {
    DomainError::NotFound(Missing::Case).into()
}

pub(crate) fn contact_not_found() -> StoreError {
    DomainError::NotFound(Missing::Contact).into()
}

fn nobody_found() -> StoreError {
    DomainError::NotFound(Missing::Party).into()
}

/// A started contact, with the context as of its start and its case (reloaded).
pub struct StartDone {
    pub contact: ContactFacts,
    pub context: ContextView,
    pub case: Option<CaseFacts>,
}

/// An update that takes the strong identifier off parties (a merge moves it; an erasure
/// removes it).
fn clear_strong() -> sea_orm::UpdateMany<party::Entity> {
    party::Entity::update_many()
        .col_expr(
            party::Column::StrongKind,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            party::Column::StrongHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            party::Column::StrongDisplay,
            Expr::value(Option::<String>::None),
        )
}

/// Inserts a new case; returns it as stored (without contacts).
async fn insert_case(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    party_id: Uuid,
    topic: Option<Code>,
    reference: Option<String>,
) -> Result<CaseFacts, StoreError> {
    let row = case::Model {
        id: Uuid::now_v7(),
        tenant: tenant.as_str().to_owned(),
        party_id,
        topic: topic.map(String::from),
        reference,
        created_at: micros(now()),
        merged_into: None,
    };
    case::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(txn)
        .await
        .map_err(db_err)?;
    facts::case_of_row(row, Vec::new())
}

/// Gives an identifier to a party (a strong one also fills the party's strong columns).
async fn attach(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    party_id: Uuid,
    key: &IdentKey,
) -> Result<(), StoreError> {
    let pk = (
        tenant.as_str().to_owned(),
        key.kind.as_str().to_owned(),
        key.hash.clone(),
        party_id,
    );
    let exists = identifier::Entity::find_by_id(pk.clone())
        .one(txn)
        .await
        .map_err(db_err)?;
    if exists.is_none() {
        let row = identifier::Model {
            tenant: pk.0,
            kind: pk.1,
            hash: pk.2,
            party_id,
        };
        identifier::Entity::insert(row.into_active_model())
            .exec_without_returning(txn)
            .await
            .map_err(db_err)?;
    }
    if key.kind.is_strong() {
        party::Entity::update_many()
            .col_expr(party::Column::StrongKind, Expr::value(key.kind.as_str()))
            .col_expr(party::Column::StrongHash, Expr::value(key.hash.clone()))
            .col_expr(
                party::Column::StrongDisplay,
                Expr::value(key.display.clone()),
            )
            .filter(party::Column::Tenant.eq(tenant.as_str()))
            .filter(party::Column::Id.eq(party_id))
            .filter(party::Column::StrongKind.is_null())
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Merges party `from` into `into`: open cases of the same topic join (as
/// [`merge_pairs`] says), the rest of its cases, its contacts and identifiers move, and
/// its id (and every id that resolved to it) resolves to `into` from now on.
pub async fn merge_party(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    from: Uuid,
    into: Uuid,
    at: Instant,
) -> Result<(), StoreError> {
    if from == into {
        return Ok(());
    }
    let t = tenant.as_str();
    let survivor_cases = facts::party_cases(txn, tenant, into).await?;
    let merged_cases = facts::party_cases(txn, tenant, from).await?;
    for (from_case, into_case) in merge_pairs(&survivor_cases, &merged_cases, at) {
        contact::Entity::update_many()
            .col_expr(contact::Column::CaseId, Expr::value(into_case))
            .filter(contact::Column::Tenant.eq(t))
            .filter(contact::Column::CaseId.eq(from_case))
            .exec(txn)
            .await
            .map_err(db_err)?;
        case::Entity::update_many()
            .col_expr(case::Column::MergedInto, Expr::value(into_case))
            .filter(case::Column::Tenant.eq(t))
            .filter(
                case::Column::Id
                    .eq(from_case)
                    .or(case::Column::MergedInto.eq(from_case)),
            )
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    case::Entity::update_many()
        .col_expr(case::Column::PartyId, Expr::value(into))
        .filter(case::Column::Tenant.eq(t))
        .filter(case::Column::PartyId.eq(from))
        .exec(txn)
        .await
        .map_err(db_err)?;
    contact::Entity::update_many()
        .col_expr(contact::Column::PartyId, Expr::value(into))
        .filter(contact::Column::Tenant.eq(t))
        .filter(contact::Column::PartyId.eq(from))
        .exec(txn)
        .await
        .map_err(db_err)?;

    // Identifiers: move those the survivor does not have yet.
    let moving = identifier::Entity::find()
        .filter(identifier::Column::Tenant.eq(t))
        .filter(identifier::Column::PartyId.eq(from))
        .all(txn)
        .await
        .map_err(db_err)?;
    let have: BTreeSet<(String, String)> = identifier::Entity::find()
        .filter(identifier::Column::Tenant.eq(t))
        .filter(identifier::Column::PartyId.eq(into))
        .all(txn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|r| (r.kind, r.hash))
        .collect();
    identifier::Entity::delete_many()
        .filter(identifier::Column::Tenant.eq(t))
        .filter(identifier::Column::PartyId.eq(from))
        .exec(txn)
        .await
        .map_err(db_err)?;
    for r in moving {
        if !have.contains(&(r.kind.clone(), r.hash.clone())) {
            let row = identifier::Model {
                party_id: into,
                ..r
            };
            identifier::Entity::insert(row.into_active_model())
                .exec_without_returning(txn)
                .await
                .map_err(db_err)?;
        }
    }

    // A merged-in party has no strong identifier by the rules; should one ever have one,
    // the survivor keeps it rather than losing it.
    let from_row = party::Entity::find_by_id(from)
        .filter(party::Column::Tenant.eq(t))
        .one(txn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| corrupt("party to merge"))?;
    if let Some(strong) = crate::convert::strong_key(&from_row)? {
        clear_strong()
            .filter(party::Column::Tenant.eq(t))
            .filter(party::Column::Id.eq(from))
            .exec(txn)
            .await
            .map_err(db_err)?;
        attach(txn, tenant, into, &strong).await?;
    }
    party::Entity::update_many()
        .col_expr(party::Column::MergedInto, Expr::value(into))
        .filter(party::Column::Tenant.eq(t))
        .filter(
            party::Column::Id
                .eq(from)
                .or(party::Column::MergedInto.eq(from)),
        )
        .exec(txn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Carries out a party plan; returns the chosen party.
async fn apply_plan(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    plan: &PartyPlan,
    at: Instant,
) -> Result<Uuid, StoreError> {
    let id = match plan.party {
        PartyChoice::Existing(id) => id,
        PartyChoice::New => {
            let row = party::Model {
                id: Uuid::now_v7(),
                tenant: tenant.as_str().to_owned(),
                created_at: micros(now()),
                strong_kind: None,
                strong_hash: None,
                strong_display: None,
                merged_into: None,
                erased_at: None,
            };
            let id = row.id;
            party::Entity::insert(row.into_active_model())
                .exec_without_returning(txn)
                .await
                .map_err(db_err)?;
            id
        }
    };
    for q in &plan.merge {
        merge_party(txn, tenant, *q, id, at).await?;
    }
    for key in &plan.attach {
        attach(txn, tenant, id, key).await?;
    }
    Ok(id)
}

/// Chooses the case of a contact of a party, making a new one if the rule says so;
/// returns it with the party's cases as stored now (a new case included), so a caller
/// need not load them again.
async fn choose_case(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    party_id: Uuid,
    request: &CaseRequest,
    at: Instant,
    decided_at: Instant,
    settings: &TenantSettings,
) -> Result<(Option<Uuid>, Vec<CaseFacts>), StoreError> {
    let mut cases = facts::party_cases(txn, tenant, party_id).await?;
    let chosen = match case_rules::choose(request, &cases, at, decided_at, settings)? {
        CaseChoice::Existing(id) => Some(id),
        CaseChoice::New { topic, reference } => {
            let case = insert_case(txn, tenant, party_id, topic, reference).await?;
            let id = case.id;
            cases.push(case);
            Some(id)
        }
        CaseChoice::Later => None,
    };
    Ok((chosen, cases))
}

/// A contact begins: find the party (applying the plan), choose the case, store the
/// contact; the context is as of its start.
pub async fn start(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    start: &StartCommand,
    settings: &TenantSettings,
    recorded: bool,
    context_seen: bool,
) -> Result<StartDone, StoreError> {
    let at = start.started_at;
    let asked_case = match start.case_id {
        Some(id) => Some(
            facts::case_row(txn, tenant, id)
                .await?
                .ok_or_else(case_not_found)?,
        ),
        None => None,
    };

    let known = facts::known_parties(txn, tenant, &start.identifiers).await?;
    let resolution = party_rules::resolve(&start.identifiers, &known);
    let merges = matches!(&resolution, Resolution::Party(plan) if !plan.merge.is_empty());
    let (party_id, status, ambiguous) = match (resolution, &asked_case) {
        (Resolution::Anonymous | Resolution::Ambiguous, Some(k)) => {
            let owner = facts::party_row(txn, tenant, k.party_id)
                .await?
                .ok_or_else(|| corrupt("case.party_id"))?;
            (Some(owner.id), PartyStatus::Known, false)
        }
        (Resolution::Anonymous, None) => (None, PartyStatus::Anonymous, false),
        (Resolution::Ambiguous, None) => (None, PartyStatus::Ambiguous, true),
        (Resolution::Party(plan), _) => {
            let status = match plan.party {
                PartyChoice::New => PartyStatus::New,
                PartyChoice::Existing(_) => PartyStatus::Known,
            };
            (
                Some(apply_plan(txn, tenant, &plan, at).await?),
                status,
                false,
            )
        }
    };

    // The case asked for, as it is after the merges above (it may have joined another,
    // so look again when parties merged);
    // `case_rules::choose` says NOT_FOUND if it is not the party's.
    let asked_case_id = match asked_case {
        Some(k) if merges => Some(
            facts::case_row(txn, tenant, k.id)
                .await?
                .ok_or_else(case_not_found)?
                .id,
        ),
        Some(k) => Some(k.id),
        None => None,
    };

    let (case_id, mut cases) = match party_id {
        Some(p) => {
            let request = CaseRequest {
                case_id: asked_case_id,
                case_reference: start.case_reference.clone(),
                topic: start.topic.clone(),
            };
            choose_case(txn, tenant, p, &request, at, at, settings).await?
        }
        None => (None, Vec::new()),
    };

    let row = contact::Model {
        id: Uuid::now_v7(),
        tenant: tenant.as_str().to_owned(),
        party_id,
        case_id,
        ambiguous,
        channel: start.channel.as_str().to_owned(),
        direction: direction_str(start.direction).to_owned(),
        started_at: micros(at),
        topic: start.topic.clone().map(String::from),
        department: start.department.clone().map(String::from),
        case_reference: start.case_reference.clone(),
        case_chosen_at_end: false,
        recorded,
        context_seen,
        ended_at: None,
        answered_at: None,
        outcome: None,
        story: None,
        end_department: None,
        end_topic: None,
        referred_kind: None,
        referred_value: None,
        due_at: None,
        story_repeated: None,
        created_at: micros(now()),
    };
    contact::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(txn)
        .await
        .map_err(db_err)?;
    let contact = contact_facts(&row, None)?;
    let probe = Probe::of(&contact);

    let Some(party_id) = party_id else {
        let context = view::context(PartyView::without(status), &[], &probe, None, settings);
        return Ok(StartDone {
            contact,
            context,
            case: None,
        });
    };
    let party = facts::party_row(txn, tenant, party_id)
        .await?
        .ok_or_else(|| corrupt("contact.party_id"))?;
    // The party's cases as stored now: those `choose_case` loaded, with this contact.
    if let Some(k) = cases.iter_mut().find(|k| Some(k.id) == case_id) {
        k.contacts.push(contact.clone());
        k.contacts.sort_by_key(|a| (a.started_at, a.id));
    }
    cases.sort_by_key(|a| (a.created_at, a.id));
    let context = view::context(
        facts::party_view(&party, status),
        &cases,
        &probe,
        case_id,
        settings,
    );
    let case = case_id.and_then(|id| cases.into_iter().find(|k| k.id == id));
    Ok(StartDone {
        contact,
        context,
        case,
    })
}

/// A contact ends. NOT_FOUND and FAILED_PRECONDITION come before the fields; a contact
/// of a party without a case yet gets its case now, chosen as of its start.
pub async fn complete(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    row: contact::Model,
    end: EndCommand,
    now: Instant,
    settings: &TenantSettings,
) -> Result<ContactFacts, StoreError> {
    let contact = facts::contact_with_feedback(txn, tenant, &row).await?;
    command::check_not_completed(&contact)?;
    let has_party = row.party_id.is_some();
    let case_topic = match row.case_id {
        Some(id) => match facts::case_row(txn, tenant, id).await? {
            Some(k) => code(k.topic.as_deref(), "case.topic")?,
            None => None,
        },
        None => None,
    };
    command::validate_end(&contact, case_topic.as_ref(), has_party, &end, now)
        .map_err(DomainError::Invalid)?;

    let mut case_id = row.case_id;
    let mut chosen_at_end = row.case_chosen_at_end;
    if let (Some(party_id), None) = (row.party_id, row.case_id) {
        let party_id = facts::party_row(txn, tenant, party_id)
            .await?
            .map_or(party_id, |p| p.id);
        let request = CaseRequest {
            case_id: None,
            case_reference: row.case_reference.clone(),
            topic: end.topic.clone().or_else(|| contact.topic.clone()),
        };
        (case_id, _) = choose_case(
            txn,
            tenant,
            party_id,
            &request,
            contact.started_at,
            end.ended_at,
            settings,
        )
        .await?;
        chosen_at_end = case_id.is_some();
    }

    let stored = command::end_facts(&contact, has_party, end, settings);
    let (referred_kind, referred_value) = match stored.referred_to.as_ref().map(referral_columns) {
        Some((k, v)) => (Some(k.to_owned()), Some(v)),
        None => (None, None),
    };
    let changes = contact::ActiveModel {
        case_id: Set(case_id),
        case_chosen_at_end: Set(chosen_at_end),
        ended_at: Set(Some(micros(stored.ended_at))),
        answered_at: Set(stored.answered_at.map(micros)),
        outcome: Set(Some(stored.outcome.as_str().to_owned())),
        story: Set(stored.story.clone()),
        end_department: Set(stored.department.clone().map(String::from)),
        end_topic: Set(stored.topic.clone().map(String::from)),
        referred_kind: Set(referred_kind),
        referred_value: Set(referred_value),
        due_at: Set(stored.due_at.map(micros)),
        story_repeated: Set(Some(stored.story_repeated)),
        ..Default::default()
    };
    let done = contact::Entity::update_many()
        .set(changes)
        .filter(contact::Column::Tenant.eq(tenant.as_str()))
        .filter(contact::Column::Id.eq(row.id))
        .filter(contact::Column::EndedAt.is_null())
        .exec(txn)
        .await
        .map_err(db_err)?;
    if done.rows_affected != 1 {
        // Another completion won the race for this row.
        return Err(command::completed_already().into());
    }
    Ok(ContactFacts {
        case_id,
        case_chosen_at_end: chosen_at_end,
        end: Some(stored),
        ..contact
    })
}

/// The view of a contact on the case it belongs to now.
pub async fn contact_view<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    contact: &ContactFacts,
    settings: &TenantSettings,
) -> Result<ContactView, StoreError> {
    let case = match contact.case_id {
        Some(id) => facts::case_facts(c, tenant, id).await?,
        None => None,
    };
    let stored = case
        .as_ref()
        .and_then(|k| k.contacts.iter().find(|x| x.id == contact.id))
        .unwrap_or(contact);
    Ok(view::contact_view(stored, case.as_ref(), settings))
}

/// Completes a loaded contact row, or NOT_FOUND.
pub async fn complete_by_id(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    id: Uuid,
    end: EndCommand,
    now: Instant,
    settings: &TenantSettings,
) -> Result<ContactFacts, StoreError> {
    let row = facts::contact_row(txn, tenant, id)
        .await?
        .ok_or_else(contact_not_found)?;
    complete(txn, tenant, row, end, now, settings).await
}

/// Stores a satisfaction answer (NOT_FOUND for an unknown contact, then as
/// [`feedback_rules::check_feedback`] says); returns it with the contact's party.
pub async fn feedback(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contact_id: Uuid,
    answer: &Feedback,
) -> Result<(Feedback, Option<Uuid>), StoreError> {
    let row = facts::contact_row(txn, tenant, contact_id)
        .await?
        .ok_or_else(contact_not_found)?;
    let contact = facts::contact_with_feedback(txn, tenant, &row).await?;
    let answer = feedback_rules::check_feedback(&contact, answer)?;
    let stored = feedback::Model {
        contact_id,
        tenant: tenant.as_str().to_owned(),
        score: i32::from(answer.score),
        effort: i32::from(answer.effort),
        story_repeated: answer.story_repeated,
        comment: answer.comment.clone(),
        created_at: micros(now()),
    };
    feedback::Entity::insert(stored.into_active_model())
        .exec_without_returning(txn)
        .await
        .map_err(db_err)?;
    Ok((answer, row.party_id))
}

/// Every party id that resolves to `id` (itself and those merged into it).
async fn merged_family(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let mut all = vec![id];
    let mut frontier = vec![id];
    while !frontier.is_empty() && all.len() < 100_000 {
        let mut next = Vec::new();
        for chunk in frontier.chunks(CHUNK) {
            let rows = party::Entity::find()
                .filter(party::Column::Tenant.eq(tenant.as_str()))
                .filter(party::Column::MergedInto.is_in(chunk.iter().copied()))
                .all(txn)
                .await
                .map_err(db_err)?;
            next.extend(rows.into_iter().map(|r| r.id).filter(|r| !all.contains(r)));
        }
        all.extend(next.iter().copied());
        frontier = next;
    }
    Ok(all)
}

/// Erases the party these identifiers lead to: identifiers, strong columns, stories
/// (replaced by [`ERASED_TEXT`]), case references, feedback comments, referral
/// organisations and the answers kept for idempotency keys go; contacts, cases and
/// counts stay. No identifiers find nobody (NOT_FOUND).
pub async fn erase(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    identifiers: &[IdentKey],
) -> Result<Erased, StoreError> {
    let known = facts::known_parties(txn, tenant, identifiers).await?;
    let plan = match party_rules::resolve(identifiers, &known) {
        Resolution::Anonymous => return Err(nobody_found()),
        Resolution::Ambiguous => {
            return Err(DomainError::FailedPrecondition(Precondition::PartyAmbiguous).into());
        }
        Resolution::Party(plan) => plan,
    };
    let PartyChoice::Existing(party_id) = plan.party else {
        return Err(nobody_found());
    };
    let at = now();
    // The party a contact with these identifiers would belong to includes the parties it
    // would merge in: they are the same person, so they go too, without merging (cases
    // are not joined, so every count stays).
    let mut family = merged_family(txn, tenant, party_id).await?;
    for q in &plan.merge {
        family.extend(merged_family(txn, tenant, *q).await?);
    }
    family.sort();
    family.dedup();
    let t = tenant.as_str();
    let mut contact_ids = Vec::new();
    for chunk in family.chunks(CHUNK) {
        let ids = chunk.iter().copied();
        identifier::Entity::delete_many()
            .filter(identifier::Column::Tenant.eq(t))
            .filter(identifier::Column::PartyId.is_in(ids.clone()))
            .exec(txn)
            .await
            .map_err(db_err)?;
        clear_strong()
            .col_expr(party::Column::ErasedAt, Expr::value(micros(at)))
            .filter(party::Column::Tenant.eq(t))
            .filter(party::Column::Id.is_in(ids.clone()))
            .exec(txn)
            .await
            .map_err(db_err)?;
        case::Entity::update_many()
            .col_expr(case::Column::Reference, Expr::value(Option::<String>::None))
            .filter(case::Column::Tenant.eq(t))
            .filter(case::Column::PartyId.is_in(ids.clone()))
            .exec(txn)
            .await
            .map_err(db_err)?;
        contact::Entity::update_many()
            .col_expr(contact::Column::Story, Expr::value(ERASED_TEXT))
            .filter(contact::Column::Tenant.eq(t))
            .filter(contact::Column::PartyId.is_in(ids.clone()))
            .filter(contact::Column::Story.is_not_null())
            .exec(txn)
            .await
            .map_err(db_err)?;
        contact::Entity::update_many()
            .col_expr(
                contact::Column::CaseReference,
                Expr::value(Option::<String>::None),
            )
            .filter(contact::Column::Tenant.eq(t))
            .filter(contact::Column::PartyId.is_in(ids.clone()))
            .exec(txn)
            .await
            .map_err(db_err)?;
        contact::Entity::update_many()
            .col_expr(
                contact::Column::ReferredValue,
                Expr::value(Option::<String>::None),
            )
            .filter(contact::Column::Tenant.eq(t))
            .filter(contact::Column::PartyId.is_in(ids.clone()))
            .filter(contact::Column::ReferredKind.eq("ORGANISATION"))
            .exec(txn)
            .await
            .map_err(db_err)?;
        let rows = contact::Entity::find()
            .filter(contact::Column::Tenant.eq(t))
            .filter(contact::Column::PartyId.is_in(ids))
            .all(txn)
            .await
            .map_err(db_err)?;
        contact_ids.extend(rows.into_iter().map(|r| r.id));
    }
    // The answers kept for retries show stories, the masked BSN and comments.
    idempotency::erase(txn, tenant, &family, at).await?;
    for chunk in contact_ids.chunks(CHUNK) {
        feedback::Entity::update_many()
            .col_expr(
                feedback::Column::Comment,
                Expr::value(Option::<String>::None),
            )
            .filter(feedback::Column::Tenant.eq(t))
            .filter(feedback::Column::ContactId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(Erased {
        party_id,
        contacts_erased: u32::try_from(contact_ids.len()).unwrap_or(u32::MAX),
    })
}

/// The context a look-up shows: the party a contact with these identifiers would belong
/// to, with the cases of every party it would merge in joined in memory. Stores nothing.
pub async fn lookup<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    identifiers: &[IdentKey],
    probe: &Probe,
    settings: &TenantSettings,
) -> Result<ContextView, StoreError> {
    let known = facts::known_parties(c, tenant, identifiers).await?;
    let without_party = |status| {
        Ok(view::context(
            PartyView::without(status),
            &[],
            probe,
            None,
            settings,
        ))
    };
    let plan = match party_rules::resolve(identifiers, &known) {
        Resolution::Anonymous => return without_party(PartyStatus::NotFound),
        Resolution::Ambiguous => return without_party(PartyStatus::Ambiguous),
        Resolution::Party(plan) => plan,
    };
    let PartyChoice::Existing(party_id) = plan.party else {
        return without_party(PartyStatus::NotFound);
    };
    let party = facts::party_row(c, tenant, party_id)
        .await?
        .ok_or_else(|| corrupt("known party"))?;
    let mut cases = facts::party_cases(c, tenant, party.id).await?;
    // Merged as a contact starting at the look-up's time would merge them.
    for q in &plan.merge {
        let merged = facts::party_cases(c, tenant, *q).await?;
        let pairs = merge_pairs(&cases, &merged, probe.at);
        join_in_memory(&mut cases, merged, &pairs, party.id);
    }
    let mut shown = facts::party_view(&party, PartyStatus::Known);
    if shown.bsn_masked.is_none() && !shown.has_kvk {
        // A strong identifier the look-up would attach shows as it would after a contact.
        if let Some(strong) = plan.attach.iter().find(|k| k.kind.is_strong()) {
            let stored = party::Model {
                strong_kind: Some(strong.kind.as_str().to_owned()),
                strong_display: strong.display.clone(),
                ..party.clone()
            };
            shown = facts::party_view(&stored, PartyStatus::Known);
        }
    }
    Ok(view::context(shown, &cases, probe, None, settings))
}

/// Joins the cases of a party that would merge in, as `pairs` (from the merge plan) says.
fn join_in_memory(
    cases: &mut Vec<CaseFacts>,
    merged: Vec<CaseFacts>,
    pairs: &[(Uuid, Uuid)],
    party_id: Uuid,
) {
    for mut k in merged {
        for contact in &mut k.contacts {
            contact.party_id = Some(party_id);
        }
        let target = pairs
            .iter()
            .find(|(from, _)| *from == k.id)
            .and_then(|(_, into)| cases.iter_mut().find(|c| c.id == *into));
        match target {
            Some(into) => {
                for mut contact in k.contacts {
                    contact.case_id = Some(into.id);
                    into.contacts.push(contact);
                }
                into.contacts.sort_by_key(|a| (a.started_at, a.id));
            }
            None => {
                k.party_id = party_id;
                cases.push(k);
            }
        }
    }
    cases.sort_by_key(|a| (a.created_at, a.id));
}
