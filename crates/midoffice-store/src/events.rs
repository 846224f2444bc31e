//! The event outbox (docs/api/events.md): the events a write produces
//! (`midoffice_domain::events`, decided from its plan) kept in the write's own
//! transaction, one `event` row each and one `event_delivery` row per subscriber of the
//! tenant, so an event is kept exactly when its write commits. The overdue pass inserts
//! the overdue events of open commitments past due. The dispatcher (in the binary)
//! claims due deliveries, and reports each one's end: delivered (the row is deleted),
//! to be tried again later, or given up (kept, `failed_at`).
//!
//! An event happens once per tenant, type and subject (a unique index): an insert that
//! finds it there already inserts nothing and delivers nothing.

use crate::convert::{self, micros};
use crate::db::{self, db_err};
use crate::entity::contact;
use crate::rollup::statement;
use crate::{Store, StoreError, facts, worklist};
use midoffice_domain::events::{self, Event, EventData, EventKind};
use midoffice_domain::plan::{UnitAfter, Write};
use midoffice_domain::{Instant, TenantId};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend, QueryFilter, Value};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The subscribers' names per tenant: an event of a tenant without any is not kept.
#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    by_tenant: std::sync::RwLock<BTreeMap<String, Vec<String>>>,
}

impl Subscribers {
    fn of(&self, tenant: &TenantId) -> Vec<String> {
        self.by_tenant
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant.as_str())
            .cloned()
            .unwrap_or_default()
    }
}

/// One delivery claimed by a dispatcher: the event and whom it goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub tenant: TenantId,
    pub subscriber: String,
    /// The CloudEvents `id`: the same on every attempt and for every subscriber.
    pub event_id: Uuid,
    pub kind: EventKind,
    pub subject: Uuid,
    pub time: Instant,
    /// The event's `data`, a JSON object.
    pub data: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// The JSON `data` of an event: ids, codes and instants.
fn data_json(data: &EventData) -> String {
    let at = |t: &Instant| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let code = |c: &Option<midoffice_domain::Code>| c.as_ref().map(|c| c.as_str().to_owned());
    let v = match data {
        EventData::Contact {
            contact_id,
            party_id,
            case_id,
            channel,
            direction,
            outcome,
            topic,
            department,
            ended_at,
        } => serde_json::json!({
            "contact_id": contact_id,
            "party_id": party_id,
            "case_id": case_id,
            "channel": channel.as_str(),
            "direction": direction.as_str(),
            "outcome": outcome.as_str(),
            "topic": code(topic),
            "department": code(department),
            "ended_at": at(ended_at),
        }),
        EventData::Commitment {
            commitment_id,
            party_id,
            case_id,
            kind,
            due_at,
            department,
            fulfilled_by,
            on_time,
        } => {
            let mut v = serde_json::json!({
                "commitment_id": commitment_id,
                "party_id": party_id,
                "case_id": case_id,
                "kind": kind.as_str(),
                "due_at": at(due_at),
                "department": code(department),
            });
            if let Some(f) = fulfilled_by {
                v["fulfilled_by_contact_id"] = serde_json::json!(f);
                v["on_time"] = serde_json::json!(on_time);
            }
            v
        }
    };
    v.to_string()
}

/// Keeps `events` for `subscribers` in `c`'s transaction: each event that did not
/// happen before gets its row and a delivery per subscriber, due at `now`. Answers how
/// many were new.
pub(crate) async fn keep<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    subscribers: &[String],
    list: &[Event],
    now: Instant,
) -> Result<u64, StoreError> {
    let backend = c.get_database_backend();
    let mut new = 0;
    for e in list {
        let id = Uuid::now_v7();
        let inserted = c
            .execute_raw(statement(
                backend,
                "INSERT INTO event (tenant, id, event_type, subject, time, data, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (tenant, event_type, subject) DO NOTHING",
                vec![
                    tenant.as_str().into(),
                    id.into(),
                    e.kind.type_name().into(),
                    e.subject.into(),
                    micros(e.time).into(),
                    data_json(&e.data).into(),
                    micros(now).into(),
                ],
            ))
            .await
            .map_err(db_err)?;
        if inserted.rows_affected() != 1 {
            continue;
        }
        new += 1;
        for s in subscribers {
            c.execute_raw(statement(
                backend,
                "INSERT INTO event_delivery \
                 (tenant, subscriber, event_id, attempts, next_at, claimed_until, failed_at) \
                 VALUES (?, ?, ?, 0, ?, NULL, NULL)",
                vec![
                    tenant.as_str().into(),
                    s.as_str().into(),
                    id.into(),
                    micros(now).into(),
                ],
            ))
            .await
            .map_err(db_err)?;
        }
    }
    Ok(new)
}

/// After a plan's writes are saved, in their transaction: the events they produce
/// (`events::of_writes`), from the plan's units or, when it does not hold them, the
/// completed contacts' units read back. Nothing for a tenant without subscribers.
pub(crate) async fn after_writes<C: ConnectionTrait>(
    store: &Store,
    c: &C,
    tenant: &TenantId,
    writes: &[Write],
    units: Option<&[UnitAfter]>,
) -> Result<(), StoreError> {
    if !writes
        .iter()
        .any(|w| matches!(w, Write::CompleteContact { .. }))
    {
        return Ok(());
    }
    let subscribers = store.subscribers.of(tenant);
    if subscribers.is_empty() {
        return Ok(());
    }
    let list = match units {
        Some(units) => events::of_writes(writes, units),
        None => events::of_writes(writes, &read_units(c, tenant, writes).await?),
    };
    keep(c, tenant, &subscribers, &list, convert::now()).await?;
    Ok(())
}

/// The units of the contacts `writes` complete, as stored now.
async fn read_units<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    writes: &[Write],
) -> Result<Vec<UnitAfter>, StoreError> {
    let mut out = Vec::new();
    for w in writes {
        let Write::CompleteContact { contact_id, .. } = w else {
            continue;
        };
        let Some((row, contact)) = facts::contact_row_with_facts(c, tenant, *contact_id).await?
        else {
            continue;
        };
        match row.case_id {
            Some(case) => out.extend(
                facts::cases_by_id(c, tenant, &[case])
                    .await?
                    .into_iter()
                    .map(UnitAfter::Case),
            ),
            None => out.push(UnitAfter::Contact(contact)),
        }
    }
    Ok(out)
}

/// Deletes at most `limit` of the tenant's events that happened before `before`, with
/// their deliveries (retention). Answers how many events went.
pub(crate) async fn delete_before<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    before: Instant,
    limit: u64,
) -> Result<u64, StoreError> {
    let backend = c.get_database_backend();
    let rows = c
        .query_all_raw(statement(
            backend,
            "SELECT id FROM event WHERE tenant = ? AND time < ? ORDER BY time LIMIT ?",
            vec![
                tenant.as_str().into(),
                micros(before).into(),
                (limit as i64).into(),
            ],
        ))
        .await
        .map_err(db_err)?;
    let mut n = 0;
    for r in rows {
        let id: Uuid = r.try_get("", "id").map_err(db_err)?;
        for sql in [
            "DELETE FROM event_delivery WHERE tenant = ? AND event_id = ?",
            "DELETE FROM event WHERE tenant = ? AND id = ?",
        ] {
            c.execute_raw(statement(
                backend,
                sql,
                vec![tenant.as_str().into(), id.into()],
            ))
            .await
            .map_err(db_err)?;
        }
        n += 1;
    }
    Ok(n)
}

/// Overdue candidates looked at per transaction of the overdue pass.
const OVERDUE_BATCH: u64 = 200;

impl Store {
    /// The subscribers' names of each tenant (from the configuration): from now on an
    /// event of such a tenant is kept for each of them. Tenants not named keep none.
    pub fn set_event_subscribers(&self, by_tenant: BTreeMap<String, Vec<String>>) {
        *self
            .subscribers
            .by_tenant
            .write()
            .unwrap_or_else(|e| e.into_inner()) = by_tenant;
    }

    /// The overdue pass of one tenant: an overdue event for every open commitment whose
    /// due time is before `now` (open as the worklist says: `view::open_commitments`),
    /// that has a `commitment.made` event (commitments seeded, or made while the tenant
    /// had no subscribers, have none and never fall overdue here) and no overdue one yet, a batch at a time, each batch a write transaction.
    /// Answers how many events it kept.
    pub async fn keep_overdue_events(
        &self,
        tenant: &TenantId,
        now: Instant,
    ) -> Result<u64, StoreError> {
        let subscribers = self.subscribers.of(tenant);
        if subscribers.is_empty() {
            return Ok(0);
        }
        let mut kept = 0;
        let mut after = None;
        loop {
            let (n, next) = db::bounded(async {
                let txn = self.pools.begin_write().await?;
                let result = overdue_batch(&txn, tenant, &subscribers, after, now).await;
                db::finish(txn, result).await
            })
            .await?;
            kept += n;
            match next {
                Some(position) => after = Some(position),
                None => return Ok(kept),
            }
        }
    }

    /// Claims up to `limit` deliveries of `tenant` that are due at `now` and not
    /// claimed by another dispatcher (or whose claim ran out), for `lease`: until then no
    /// other dispatcher takes them. On PostgreSQL the rows are read `FOR UPDATE SKIP
    /// LOCKED`, so two servers claiming at once never take the same one. Only the
    /// deliveries of subscribers configured now (`set_event_subscribers`) are claimed:
    /// those of a subscriber removed are left as they are (delivered if it comes back,
    /// deleted with their event by retention), and never stand in the way of the others.
    pub async fn claim_deliveries(
        &self,
        tenant: &TenantId,
        limit: u64,
        now: Instant,
        lease: std::time::Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        let subscribers = self.subscribers.of(tenant);
        if subscribers.is_empty() {
            return Ok(Vec::new());
        }
        db::bounded(async {
            let txn = self.pools.begin_write().await?;
            let result = claim(&txn, tenant, &subscribers, limit, now, lease).await;
            db::finish(txn, result).await
        })
        .await
    }

    /// A delivery answered 2xx: its row goes.
    pub async fn delivery_done(&self, d: &Delivery) -> Result<(), StoreError> {
        self.delivery_statement(
            "DELETE FROM event_delivery WHERE tenant = ? AND subscriber = ? AND event_id = ?",
            vec![],
            d,
        )
        .await
    }

    /// A delivery failed: tried again from `retry_at`, or given up at `now` (`None`),
    /// kept as failed. Either way its claim ends and its attempts grow by one.
    pub async fn delivery_failed(
        &self,
        d: &Delivery,
        retry_at: Option<Instant>,
        now: Instant,
    ) -> Result<(), StoreError> {
        let (next, failed): (Value, Value) = match retry_at {
            Some(t) => (micros(t).into(), Option::<i64>::None.into()),
            None => (micros(now).into(), Some(micros(now)).into()),
        };
        self.delivery_statement(
            "UPDATE event_delivery SET attempts = attempts + 1, next_at = ?, failed_at = ?, \
             claimed_until = NULL WHERE tenant = ? AND subscriber = ? AND event_id = ?",
            vec![next, failed],
            d,
        )
        .await
    }

    /// A claimed delivery not attempted (the dispatcher stops): free for any
    /// dispatcher at once.
    pub async fn delivery_released(&self, d: &Delivery) -> Result<(), StoreError> {
        self.delivery_statement(
            "UPDATE event_delivery SET claimed_until = NULL \
             WHERE tenant = ? AND subscriber = ? AND event_id = ?",
            vec![],
            d,
        )
        .await
    }

    /// How many deliveries of `tenant` were given up and are kept as failed.
    pub async fn failed_deliveries(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        db::bounded(async {
            let txn = self.pools.begin_read().await?;
            let result = async {
                let row = txn
                    .query_one_raw(statement(
                        txn.get_database_backend(),
                        "SELECT COUNT(*) AS n FROM event_delivery \
                         WHERE tenant = ? AND failed_at IS NOT NULL",
                        vec![tenant.as_str().into()],
                    ))
                    .await
                    .map_err(db_err)?;
                match row {
                    Some(r) => {
                        Ok(u64::try_from(r.try_get::<i64>("", "n").map_err(db_err)?).unwrap_or(0))
                    }
                    None => Ok(0),
                }
            }
            .await;
            db::finish(txn, result).await
        })
        .await
    }

    async fn delivery_statement(
        &self,
        sql: &str,
        mut values: Vec<Value>,
        d: &Delivery,
    ) -> Result<(), StoreError> {
        values.extend([
            d.tenant.as_str().into(),
            d.subscriber.as_str().into(),
            d.event_id.into(),
        ]);
        db::bounded(async {
            let txn = self.pools.begin_write().await?;
            let result = txn
                .execute_raw(statement(txn.get_database_backend(), sql, values))
                .await
                .map(|_| ())
                .map_err(db_err);
            db::finish(txn, result).await
        })
        .await
    }
}

/// One batch of the overdue pass: the tenant's commitments due before `now` after
/// `after` (in the worklist's order), not fulfilled, with a made event (made while the
/// tenant had subscribers, not seeded) and without an overdue event;
/// each case read and the domain asked which are overdue. Answers the events kept and
/// where the next batch starts (`None`: done).
async fn overdue_batch<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    subscribers: &[String],
    after: Option<midoffice_domain::view::CommitmentCursor>,
    now: Instant,
) -> Result<(u64, Option<midoffice_domain::view::CommitmentCursor>), StoreError> {
    // Whether the commitment has an event of `kind` (on `ux_event_tenant_type_subject`).
    let has = |kind: EventKind| {
        let event = sea_orm::sea_query::Alias::new("event");
        Query::select()
            .expr(Expr::val(1))
            .from(event.clone())
            .and_where(
                Expr::col((event.clone(), "tenant"))
                    .equals((contact::Entity, contact::Column::Tenant)),
            )
            .and_where(Expr::col((event.clone(), "event_type")).eq(kind.type_name()))
            .and_where(Expr::col((event, "subject")).equals((contact::Entity, contact::Column::Id)))
            .to_owned()
    };
    let rows = worklist::candidates(tenant, None, after, now, OVERDUE_BATCH)
        .filter(Expr::col(contact::Column::DueAt).lt(micros(now)))
        .filter(Expr::exists(has(EventKind::CommitmentMade)))
        .filter(Expr::exists(has(EventKind::CommitmentOverdue)).not())
        .all(c)
        .await
        .map_err(db_err)?;
    let next = match rows.last() {
        Some(last) if rows.len() as u64 == OVERDUE_BATCH => {
            Some(midoffice_domain::view::CommitmentCursor {
                due_at: convert::instant(last.due_at.unwrap_or_default())?,
                contact_id: last.id,
            })
        }
        _ => None,
    };
    let wanted: BTreeSet<Uuid> = rows.iter().map(|r| r.id).collect();
    let case_ids: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| r.case_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut list = Vec::new();
    for case in facts::cases_by_id(c, tenant, &case_ids).await? {
        list.extend(
            events::overdue(&case, now)
                .into_iter()
                .filter(|e| wanted.contains(&e.subject)),
        );
    }
    let kept = keep(c, tenant, subscribers, &list, now).await?;
    Ok((kept, next))
}

/// Claims due deliveries of `subscribers` (see [`Store::claim_deliveries`]).
async fn claim<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    subscribers: &[String],
    limit: u64,
    now: Instant,
    lease: std::time::Duration,
) -> Result<Vec<Delivery>, StoreError> {
    let backend = c.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE OF d SKIP LOCKED"
    } else {
        ""
    };
    let names = vec!["?"; subscribers.len()].join(", ");
    let mut values: Vec<Value> = vec![tenant.as_str().into()];
    values.extend(subscribers.iter().map(|s| Value::from(s.as_str())));
    values.extend([
        micros(now).into(),
        micros(now).into(),
        (limit as i64).into(),
    ]);
    let rows = c
        .query_all_raw(statement(
            backend,
            &format!(
                "SELECT d.subscriber, d.event_id, d.attempts, e.event_type, e.subject, e.time, \
                 e.data FROM event_delivery d JOIN event e \
                 ON e.tenant = d.tenant AND e.id = d.event_id \
                 WHERE d.tenant = ? AND d.subscriber IN ({names}) AND d.next_at <= ? \
                 AND d.failed_at IS NULL \
                 AND (d.claimed_until IS NULL OR d.claimed_until < ?) \
                 ORDER BY d.next_at, e.time, d.event_id LIMIT ?{lock}"
            ),
            values,
        ))
        .await
        .map_err(db_err)?;
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let subscriber: String = r.try_get("", "subscriber").map_err(db_err)?;
        let event_id: Uuid = r.try_get("", "event_id").map_err(db_err)?;
        let type_name: String = r.try_get("", "event_type").map_err(db_err)?;
        let kind = EventKind::of_type(&type_name).ok_or_else(|| convert::corrupt("event type"))?;
        c.execute_raw(statement(
            backend,
            "UPDATE event_delivery SET claimed_until = ? \
             WHERE tenant = ? AND subscriber = ? AND event_id = ?",
            vec![
                micros(until).into(),
                tenant.as_str().into(),
                subscriber.as_str().into(),
                event_id.into(),
            ],
        ))
        .await
        .map_err(db_err)?;
        out.push(Delivery {
            tenant: tenant.clone(),
            subscriber,
            event_id,
            kind,
            subject: r.try_get("", "subject").map_err(db_err)?,
            time: convert::instant(r.try_get("", "time").map_err(db_err)?)?,
            data: r.try_get("", "data").map_err(db_err)?,
            attempts: u32::try_from(r.try_get::<i32>("", "attempts").map_err(db_err)?).unwrap_or(0),
        });
    }
    Ok(out)
}
