//! Retention (DOMAIN.md "Privacy"): contacts older than the tenant's retention period
//! are deleted; figures already derived stay.
//!
//! The horizon is the tenant's local date `retention_months` before today's, at 00:00
//! local time ([`horizon`]), the one cut-off of a pass ([`schedule`]). A pass deletes,
//! as of its `now`:
//! - a case as a whole when its last contact started before the horizon (a matter's
//!   contacts explain each other, so none of them goes while the matter is alive), with
//!   the cases merged into it;
//! - a contact without a case when it started before the horizon;
//! - with them their satisfaction answers and the idempotency records kept for them;
//! - then every party left with no case and no contact, with its identifiers, the
//!   parties merged into it and the idempotency records kept for it.
//!
//! Then, by their own time and whatever they concern ([`AgedRows`], in this order):
//! - every idempotency record kept before the horizon (a retry comes within minutes,
//!   not months);
//! - every processing record that started before the horizon (with the OTLP export on,
//!   only once the collector acknowledged it, so the export never loses one): the log
//!   is kept for the same period as the contacts it accounts for, not deleted with
//!   them, since it is the account of what was done with the data while it was held;
//! - every audit record from before the horizon whose processing record has gone: an
//!   audit record says who did a processing (an employee's identity, and the contact)
//!   and serves only to answer that for its processing record, so it is kept as long
//!   as that record and no longer;
//! - every dashboard answer the store keeps for a period that ended by the horizon's
//!   day: not personal data (counts of a period), but a cache that would otherwise grow
//!   with every period ever asked; the sums it came from stay, so such a period asked
//!   again is computed again.
//!
//! The figures already derived stay: a deleted unit's per-unit tallies go with it, its
//! contributions to the per-day sums stay (`crate::rollup`), so no later refresh can
//! subtract them.

use super::Write;
use crate::Instant;
use crate::settings::TenantSettings;
use chrono::Months;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The instant before which contacts (and the records that go with them) are deleted at
/// `now`: 00:00 local time on the tenant's local date `retention_months` before today's.
/// A month back from a day the earlier month does not have is that month's last day
/// (31 March → 28 or 29 February). A date the calendar cannot go back from (the
/// first representable months) gives the first date: a pass then deletes nothing.
pub fn horizon(settings: &TenantSettings, now: Instant) -> Instant {
    let today = settings.calendar.local_date(now);
    let day = today
        .checked_sub_months(Months::new(settings.retention_months))
        .unwrap_or(chrono::NaiveDate::MIN);
    settings.calendar.start_of_day(day)
}

/// Rows a pass deletes by their own age, whatever they concern (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgedRows {
    /// Answers kept for idempotency keys, by when they were kept.
    KeptAnswers,
    /// Processing records, by their start time; with `exported_only`, only those the
    /// OTLP collector has acknowledged.
    ProcessingRecords { exported_only: bool },
    /// Audit records, by their own time, once their processing record (the same trace
    /// and span) has gone.
    AuditRecords,
    /// Dashboard figure answers kept for periods whose last day is before the horizon's
    /// local date.
    FigureAnswers,
}

/// One sweep of a pass: the rows of a kind from before an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sweep {
    pub rows: AgedRows,
    /// Rows from strictly before this instant go.
    pub before: Instant,
}

/// What a pass over a tenant deletes at one instant: first the contacts that started
/// before `contacts_before`, batch by batch as [`plan_retention`] decides, then each
/// sweep, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionSchedule {
    pub contacts_before: Instant,
    pub sweeps: Vec<Sweep>,
}

/// The schedule of a pass at `now` for a tenant with these settings; `exporting`: the
/// processing log is exported over OTLP (see the module docs for why each goes when).
pub fn schedule(settings: &TenantSettings, now: Instant, exporting: bool) -> RetentionSchedule {
    let before = horizon(settings, now);
    let sweep = |rows| Sweep { rows, before };
    RetentionSchedule {
        contacts_before: before,
        sweeps: vec![
            sweep(AgedRows::KeptAnswers),
            sweep(AgedRows::ProcessingRecords {
                exported_only: exporting,
            }),
            // After the processing records: those that just went take theirs along.
            sweep(AgedRows::AuditRecords),
            sweep(AgedRows::FigureAnswers),
        ],
    }
}

/// A case a pass looks at, as it is stored in the pass's write transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetainedCase {
    pub id: Uuid,
    pub party: Uuid,
    pub created_at: Instant,
    /// Every contact on the case: its id and start.
    pub contacts: Vec<(Uuid, Instant)>,
    /// The cases merged into this one (they have no contacts of their own).
    pub merged: Vec<Uuid>,
}

/// A contact without a case a pass looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaselessContact {
    pub id: Uuid,
    pub party: Option<Uuid>,
    pub started_at: Instant,
}

/// What a party of a case or contact a pass looks at holds, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartyHoldings {
    /// The parties merged into it (at any depth).
    pub merged: Vec<Uuid>,
    /// Its cases (not those merged into another).
    pub cases: BTreeSet<Uuid>,
    /// Its contacts, with or without a case.
    pub contacts: BTreeSet<Uuid>,
}

/// What one batch of a retention pass needs, loaded in its write transaction (so a
/// contact that joined an old case since the candidates were found keeps it).
#[derive(Clone, Debug, PartialEq)]
pub struct RetentionFacts {
    /// The instant the pass judges as of.
    pub now: Instant,
    pub settings: TenantSettings,
    /// The cases of the batch.
    pub cases: Vec<RetainedCase>,
    /// The contacts without a case of the batch.
    pub caseless: Vec<CaselessContact>,
    /// Every live party of those cases and contacts.
    pub parties: BTreeMap<Uuid, PartyHoldings>,
}

/// What one batch deletes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionCounts {
    pub cases: u64,
    pub contacts: u64,
    pub parties: u64,
}

/// The writes of one batch, in order, and what they delete.
#[derive(Clone, Debug, PartialEq)]
pub struct RetentionPlan {
    pub writes: Vec<Write>,
    pub counts: RetentionCounts,
}

/// Decides what one batch deletes at `facts.now` (see the module docs). The writes
/// delete dependants first: satisfaction answers, kept answers and per-unit figure
/// tallies (never the per-day sums: figures already derived stay), then contacts, then cases (those merged in first), then identifiers and
/// parties (those merged in first).
pub fn plan_retention(facts: &RetentionFacts) -> RetentionPlan {
    let before = horizon(&facts.settings, facts.now);
    let mut contacts: BTreeSet<Uuid> = BTreeSet::new();
    let mut cases: BTreeSet<Uuid> = BTreeSet::new();
    let mut merged_cases: BTreeSet<Uuid> = BTreeSet::new();
    for case in &facts.cases {
        // A case always has a contact; one without (never expected) goes by its age.
        let last = case
            .contacts
            .iter()
            .map(|(_, started)| *started)
            .max()
            .unwrap_or(case.created_at);
        if last < before {
            cases.insert(case.id);
            merged_cases.extend(case.merged.iter().copied());
            contacts.extend(case.contacts.iter().map(|(id, _)| *id));
        }
    }
    let caseless: BTreeSet<Uuid> = facts
        .caseless
        .iter()
        .filter(|c| c.started_at < before)
        .map(|c| c.id)
        .collect();
    contacts.extend(caseless.iter().copied());

    // Parties left with nothing: only those of what goes can be.
    let touched: BTreeSet<Uuid> = facts
        .cases
        .iter()
        .filter(|c| cases.contains(&c.id))
        .map(|c| c.party)
        .chain(
            facts
                .caseless
                .iter()
                .filter(|c| caseless.contains(&c.id))
                .filter_map(|c| c.party),
        )
        .collect();
    let mut parties: BTreeSet<Uuid> = BTreeSet::new();
    let mut merged_parties: BTreeSet<Uuid> = BTreeSet::new();
    for party in touched {
        let Some(holds) = facts.parties.get(&party) else {
            continue;
        };
        if holds.cases.is_subset(&cases) && holds.contacts.is_subset(&contacts) {
            parties.insert(party);
            merged_parties.extend(holds.merged.iter().copied());
        }
    }
    merged_parties.retain(|p| !parties.contains(p));
    merged_cases.retain(|c| !cases.contains(c));

    let counts = RetentionCounts {
        cases: cases.len() as u64,
        contacts: contacts.len() as u64,
        parties: parties.len() as u64,
    };
    let contacts: Vec<Uuid> = contacts.into_iter().collect();
    let all_parties: Vec<Uuid> = merged_parties.iter().chain(&parties).copied().collect();
    let mut writes = Vec::new();
    if !contacts.is_empty() {
        writes.push(Write::DeleteFeedback {
            contacts: contacts.clone(),
        });
    }
    if !contacts.is_empty() || !all_parties.is_empty() {
        writes.push(Write::DeleteIdempotency {
            contacts: contacts.clone(),
            parties: all_parties.clone(),
        });
    }
    if !contacts.is_empty() || !cases.is_empty() {
        // The units: a case (and the cases merged into it, which hold none since the
        // merge), a contact on no case. Their sums stay.
        writes.push(Write::DeleteFigureUnits {
            units: cases
                .iter()
                .chain(&merged_cases)
                .chain(&caseless)
                .copied()
                .collect(),
        });
    }
    if !contacts.is_empty() {
        writes.push(Write::DeleteContacts { contacts });
    }
    if !merged_cases.is_empty() {
        writes.push(Write::DeleteCases {
            cases: merged_cases.into_iter().collect(),
        });
    }
    if !cases.is_empty() {
        writes.push(Write::DeleteCases {
            cases: cases.into_iter().collect(),
        });
    }
    if !all_parties.is_empty() {
        writes.push(Write::DeleteIdentifiers {
            parties: all_parties,
        });
    }
    if !merged_parties.is_empty() {
        writes.push(Write::DeleteParties {
            parties: merged_parties.into_iter().collect(),
        });
    }
    if !parties.is_empty() {
        writes.push(Write::DeleteParties {
            parties: parties.into_iter().collect(),
        });
    }
    RetentionPlan { writes, counts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> Instant {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn the_horizon_is_local_midnight_so_many_months_back() {
        let s = TenantSettings::default();
        // 1 July 2026 00:30 in Amsterdam is 30 June 22:30 UTC: today is 1 July there.
        let now = at(2026, 6, 30, 22) + chrono::TimeDelta::minutes(30);
        // 1 July 2024 00:00 Amsterdam (summer time) is 30 June 2024 22:00 UTC.
        assert_eq!(horizon(&s, now), at(2024, 6, 30, 22));
        // A day the earlier month lacks: its last day.
        let s1 = TenantSettings {
            retention_months: 1,
            ..TenantSettings::default()
        };
        let march31 = at(2026, 3, 31, 12);
        let local = s1.calendar.local_date(horizon(&s1, march31));
        assert_eq!(local, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        // Winter time: 00:00 local is 23:00 UTC the day before.
        assert_eq!(horizon(&s1, at(2026, 12, 15, 12)), at(2026, 11, 14, 23));
    }

    #[test]
    fn one_horizon_for_everything_and_the_audit_after_its_processing_records() {
        let s = TenantSettings::default();
        let now = at(2026, 6, 30, 12);
        let h = horizon(&s, now);
        let plan = schedule(&s, now, true);
        assert_eq!(plan.contacts_before, h);
        assert!(plan.sweeps.iter().all(|w| w.before == h), "{plan:?}");
        let rows: Vec<AgedRows> = plan.sweeps.iter().map(|w| w.rows).collect();
        assert_eq!(
            rows,
            [
                AgedRows::KeptAnswers,
                AgedRows::ProcessingRecords {
                    exported_only: true
                },
                AgedRows::AuditRecords,
                AgedRows::FigureAnswers
            ]
        );
        // Without the export, every old processing record goes.
        assert!(schedule(&s, now, false).sweeps.contains(&Sweep {
            rows: AgedRows::ProcessingRecords {
                exported_only: false
            },
            before: h
        }));
    }

    fn facts(now: Instant) -> RetentionFacts {
        RetentionFacts {
            now,
            settings: TenantSettings::default(),
            cases: Vec::new(),
            caseless: Vec::new(),
            parties: BTreeMap::new(),
        }
    }

    fn holdings(cases: &[u128], contacts: &[u128], merged: &[u128]) -> PartyHoldings {
        PartyHoldings {
            merged: merged.iter().map(|n| id(*n)).collect(),
            cases: cases.iter().map(|n| id(*n)).collect(),
            contacts: contacts.iter().map(|n| id(*n)).collect(),
        }
    }

    #[test]
    fn a_case_goes_whole_only_when_its_last_contact_is_old() {
        let now = at(2026, 6, 1, 12);
        let old = at(2024, 1, 1, 9);
        let recent = at(2026, 5, 1, 9);
        let mut f = facts(now);
        // Party 1: an old case (10: contacts 100, 101, merged-in case 11) and an old
        // case that a new contact joined (20: contacts 200 old, 201 recent).
        f.cases.push(RetainedCase {
            id: id(10),
            party: id(1),
            created_at: old,
            contacts: vec![(id(100), old), (id(101), old)],
            merged: vec![id(11)],
        });
        f.cases.push(RetainedCase {
            id: id(20),
            party: id(1),
            created_at: old,
            contacts: vec![(id(200), old), (id(201), recent)],
            merged: vec![],
        });
        f.parties
            .insert(id(1), holdings(&[10, 20], &[100, 101, 200, 201], &[5]));
        let plan = plan_retention(&f);
        assert_eq!(
            plan.counts,
            RetentionCounts {
                cases: 1,
                contacts: 2,
                parties: 0
            }
        );
        assert!(plan.writes.contains(&Write::DeleteContacts {
            contacts: vec![id(100), id(101)]
        }));
        assert!(plan.writes.contains(&Write::DeleteCases {
            cases: vec![id(11)]
        }));
        assert!(plan.writes.contains(&Write::DeleteCases {
            cases: vec![id(10)]
        }));
        assert!(
            !plan
                .writes
                .iter()
                .any(|w| matches!(w, Write::DeleteParties { .. })),
            "the party still has a live case"
        );
    }

    #[test]
    fn a_party_left_with_nothing_goes_with_its_identifiers_and_merged_parties() {
        let now = at(2026, 6, 1, 12);
        let old = at(2023, 1, 1, 9);
        let mut f = facts(now);
        f.cases.push(RetainedCase {
            id: id(10),
            party: id(1),
            created_at: old,
            contacts: vec![(id(100), old)],
            merged: vec![],
        });
        // A contact of party 1 without a topic (no case), and an anonymous one.
        f.caseless.push(CaselessContact {
            id: id(102),
            party: Some(id(1)),
            started_at: old,
        });
        f.caseless.push(CaselessContact {
            id: id(300),
            party: None,
            started_at: old,
        });
        f.parties
            .insert(id(1), holdings(&[10], &[100, 102], &[5, 6]));
        let plan = plan_retention(&f);
        assert_eq!(
            plan.counts,
            RetentionCounts {
                cases: 1,
                contacts: 3,
                parties: 1
            }
        );
        let contacts = vec![id(100), id(102), id(300)];
        assert_eq!(
            plan.writes,
            vec![
                Write::DeleteFeedback {
                    contacts: contacts.clone()
                },
                Write::DeleteIdempotency {
                    contacts: contacts.clone(),
                    parties: vec![id(5), id(6), id(1)]
                },
                Write::DeleteFigureUnits {
                    units: vec![id(10), id(102), id(300)]
                },
                Write::DeleteContacts { contacts },
                Write::DeleteCases {
                    cases: vec![id(10)]
                },
                Write::DeleteIdentifiers {
                    parties: vec![id(5), id(6), id(1)]
                },
                Write::DeleteParties {
                    parties: vec![id(5), id(6)]
                },
                Write::DeleteParties {
                    parties: vec![id(1)]
                },
            ]
        );
    }

    #[test]
    fn a_party_with_a_contact_the_batch_does_not_delete_stays() {
        let now = at(2026, 6, 1, 12);
        let old = at(2023, 1, 1, 9);
        let mut f = facts(now);
        f.caseless.push(CaselessContact {
            id: id(102),
            party: Some(id(1)),
            started_at: old,
        });
        // A recent caseless contact of the same party.
        f.caseless.push(CaselessContact {
            id: id(103),
            party: Some(id(1)),
            started_at: at(2026, 5, 30, 9),
        });
        f.parties.insert(id(1), holdings(&[], &[102, 103], &[]));
        let plan = plan_retention(&f);
        assert_eq!(plan.counts.contacts, 1);
        assert_eq!(plan.counts.parties, 0);
        // Just before the horizon goes; at it stays.
        let h = horizon(&f.settings, now);
        let mut g = facts(now);
        for (n, started) in [(1, h - chrono::TimeDelta::microseconds(1)), (2, h)] {
            g.caseless.push(CaselessContact {
                id: id(n),
                party: None,
                started_at: started,
            });
        }
        let plan = plan_retention(&g);
        assert!(plan.writes.contains(&Write::DeleteContacts {
            contacts: vec![id(1)]
        }));
    }

    #[test]
    fn nothing_old_plans_nothing() {
        let now = at(2026, 6, 1, 12);
        let mut f = facts(now);
        f.caseless.push(CaselessContact {
            id: id(1),
            party: None,
            started_at: now,
        });
        assert_eq!(plan_retention(&f).writes, vec![]);
    }
}
