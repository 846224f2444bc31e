//! A contact starts, or a party is looked up: finding the party (DOMAIN.md "Finding the
//! party"), the cases that join when parties merge, and choosing the case ("Finding the
//! case"). A look-up is the same plan, not saved.

use super::{UnitAfter, Write, units_after};
use crate::case::{self, CaseChoice, CaseFacts, CaseRequest, OnCase, status_is_active, status_of};
use crate::command::StartCommand;
use crate::contact::{ContactFacts, Direction};
use crate::identifier::IdentKey;
use crate::party::{self, KnownParties, PartyChoice, PartyPlan, PartySummary, Resolution};
use crate::processing::{Processing, ProcessingKind, processing};
use crate::settings::TenantSettings;
use crate::signals::Probe;
use crate::view::{self, ContactView, ContextView, PartyStatus, PartyView};
use crate::{DomainError, Instant, Missing, Precondition};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The instant at which a merge made at `at` judges which cases are OPEN (DOMAIN.md
/// "Finding the party", rule 4): as known at the start of the contact that merges; a
/// look-up predicts the merge as of the instant it is shown at. Never the wall clock.
pub fn merge_judged_at(at: Instant) -> Instant {
    at
}

/// Ids the store generated (UUIDv7) for what a start may create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreshIds {
    pub party: Uuid,
    pub case: Uuid,
    pub contact: Uuid,
}

/// The case asked for by id (`case_id`), as it resolves today.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AskedCase {
    /// No case was asked for.
    NotAsked,
    /// No such case in this tenant.
    Unknown,
    /// The case (after following joins) and its party today.
    Found { case_id: Uuid, party: PartySummary },
}

/// Which of a party's cases a start, a recording, a completion or a look-up at `at`
/// needs in full; of the others it cannot decide or show anything (DOMAIN.md "Finding
/// the party" rule 4, "Finding the case", the context):
///
/// - the case asked for by id, and the cases with the reference given;
/// - the cases active at `at` (open, or resolved less than `repeat_window` before it):
///   the only ones choosing the case by topic may take among those opened before `at`,
///   the only ones a merge may join (those OPEN), the only ones the context shows;
/// - the cases with a contact that starts or ends from `at` on: a case opened since
///   then, which a case chosen at completion may take.
///
/// So a start costs what the citizen's active cases hold, not their whole history. The
/// store reads every case's status ([`crate::case::ContactStatus`] of its contacts),
/// asks [`Needs::wants`], and loads only those cases in full; a plan given more cases
/// (a caller that loads more) selects the same ones itself, so both decide alike; the
/// seed asks [`Needs::wants`] as the store does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needs {
    pub at: Instant,
    pub case_id: Option<Uuid>,
    pub reference: Option<String>,
}

impl Needs {
    /// What a contact starting (or recorded) as `start` says needs.
    pub fn of_start(start: &StartCommand) -> Needs {
        Needs {
            at: start.started_at,
            case_id: start.case_id,
            reference: start.case_reference.clone(),
        }
    }

    /// What a look-up as of `as_of` needs.
    pub fn of_lookup(as_of: Instant) -> Needs {
        Needs {
            at: as_of,
            case_id: None,
            reference: None,
        }
    }

    /// What completing this contact needs: its case, and what its start needed (a case
    /// chosen at completion is chosen as of its start).
    pub fn of_completion(contact: &ContactFacts, case_reference: Option<&str>) -> Needs {
        Needs {
            at: contact.started_at,
            case_id: contact.case_id,
            reference: case_reference.map(str::to_owned),
        }
    }

    /// Whether the case `id` (with this reference and these contacts) is needed in full.
    pub fn wants<C: OnCase>(
        &self,
        id: Uuid,
        reference: Option<&str>,
        contacts: &[C],
        settings: &TenantSettings,
    ) -> bool {
        let at = self.at;
        if self.case_id == Some(id)
            || (self.reference.is_some() && reference == self.reference.as_deref())
        {
            return true;
        }
        let since = |c: &C| c.started_at() >= at || c.end().is_some_and(|(end, _)| end >= at);
        if contacts.iter().any(since) {
            return true;
        }
        // As a choice sees it (every contact), and as the context does (those before).
        let earlier = contacts
            .iter()
            .filter(|c| c.started_at() < at && c.on_case_at(at));
        status_is_active(status_of(contacts, at), at, settings)
            || status_is_active(status_of(earlier, at), at, settings)
    }

    /// Of these cases, those needed in full (see [`Needs::wants`]).
    pub fn select(&self, cases: &[CaseFacts], settings: &TenantSettings) -> Vec<CaseFacts> {
        cases
            .iter()
            .filter(|k| self.wants(k.id, k.reference.as_deref(), &k.contacts, settings))
            .cloned()
            .collect()
    }
}

/// Which cases of the facts a plan looks at: those it [`Needs`] (every plan), or all of
/// them (a page of contacts; and the tests, which check that both decide alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum History {
    Needed,
    All,
}

impl History {
    /// `needs` when only the needed cases are looked at.
    fn needs(self, needs: Needs) -> Option<Needs> {
        (self == History::Needed).then_some(needs)
    }
}

/// What a start (or a look-up) needs to know, loaded in the write transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct StartFacts {
    /// The live owners of the given identifiers.
    pub known: KnownParties,
    /// The case asked for by id.
    pub asked_case: AskedCase,
    /// Today's cases of every party in `known` and of the asked case's party, by party,
    /// each with all its contacts: at least those the plan [`Needs`] (the store loads
    /// those only), or all of them (a page of a party's contacts needs all).
    pub cases: BTreeMap<Uuid, Vec<CaseFacts>>,
    pub settings: TenantSettings,
    pub fresh: FreshIds,
    /// The store's clock: when new rows are made.
    pub stored_at: Instant,
}

/// What a start does and answers.
#[derive(Clone, Debug, PartialEq)]
pub struct StartPlan {
    /// In order.
    pub writes: Vec<Write>,
    /// The new contact, on the case it was given.
    pub contact: ContactView,
    /// The context as of its start.
    pub context: ContextView,
    /// The party the start concerns (the data subject), if any.
    pub subject: Option<Uuid>,
    /// The units of the figures its writes change, as it leaves them
    /// ([`super::units_after`]; `None`: the store reads them).
    pub units: Option<Vec<UnitAfter>>,
}

/// The party of a contact (or a look-up), with the merges and attachments that make it,
/// and its cases as the merges leave them.
pub(crate) struct FoundParty {
    pub writes: Vec<Write>,
    pub party: Option<PartySummary>,
    pub status: PartyStatus,
    /// The party's cases (after merges), oldest first.
    pub cases: Vec<CaseFacts>,
    /// The case asked for by id, as the merges leave it.
    pub asked_case: Option<Uuid>,
}

fn case_not_found() -> DomainError {
    DomainError::NotFound(Missing::Case)
}

/// Finds the party, for a contact starting at `at` (`look_up` false) or a look-up shown
/// at `at`, in this order: the
/// party (a new one, or found), the parties merged in (with the cases that join), the
/// identifiers attached.
fn find_party(
    facts: &StartFacts,
    identifiers: &[IdentKey],
    case_id: Option<Uuid>,
    at: Instant,
    look_up: bool,
    needs: Option<&Needs>,
) -> Result<FoundParty, DomainError> {
    // The cases of a party this plan looks at: those it needs, or all.
    let cases_of = |party: &Uuid| -> Vec<CaseFacts> {
        let all = facts.cases.get(party).map_or(&[][..], Vec::as_slice);
        match needs {
            Some(needs) => needs.select(all, &facts.settings),
            None => all.to_vec(),
        }
    };
    let asked = match (case_id, &facts.asked_case) {
        (None, _) => None,
        (Some(_), AskedCase::Found { case_id, party }) => Some((*case_id, party)),
        (Some(_), _) => return Err(case_not_found()),
    };
    let without = |status| FoundParty {
        writes: Vec::new(),
        party: None,
        status,
        cases: Vec::new(),
        asked_case: None,
    };
    let plan = match (party::resolve(identifiers, &facts.known), asked) {
        // With a case and no (or ambiguous) identifiers, the contact belongs to the
        // case's party (an outbound callback started from the case).
        (Resolution::Anonymous | Resolution::Ambiguous, Some((case_id, owner))) => {
            return Ok(FoundParty {
                writes: Vec::new(),
                party: Some(owner.clone()),
                status: PartyStatus::Known,
                cases: cases_of(&owner.id),
                asked_case: Some(case_id),
            });
        }
        (Resolution::Anonymous, None) if look_up => return Ok(without(PartyStatus::NotFound)),
        (Resolution::Anonymous, None) => return Ok(without(PartyStatus::Anonymous)),
        (Resolution::Ambiguous, None) => return Ok(without(PartyStatus::Ambiguous)),
        // An unknown identifier alone finds nothing.
        (
            Resolution::Party(PartyPlan {
                party: PartyChoice::New,
                ..
            }),
            _,
        ) if look_up => {
            return Ok(without(PartyStatus::NotFound));
        }
        (Resolution::Party(plan), _) => plan,
    };

    let mut writes = Vec::new();
    let (mut party, status) = match plan.party {
        PartyChoice::Existing(id) => {
            // `resolve` chooses among the known parties only.
            let found = facts
                .known
                .parties
                .get(&id)
                .ok_or(DomainError::NotFound(Missing::Party))?;
            (found.clone(), PartyStatus::Known)
        }
        PartyChoice::New => {
            let made = PartySummary {
                id: facts.fresh.party,
                created_at: facts.stored_at,
                strong: None,
            };
            writes.push(Write::CreateParty {
                id: made.id,
                created_at: made.created_at,
                strong: None,
            });
            (made, PartyStatus::New)
        }
    };

    let mut cases = cases_of(&party.id);
    let mut asked_case = asked.map(|(id, _)| id);
    for from in &plan.merge {
        let merged = cases_of(from);
        let joins = case::merge_plan(&cases, &merged, merge_judged_at(at));
        if let Some(id) = asked_case {
            asked_case = Some(joined(id, &joins));
        }
        join(&mut cases, merged, &joins, party.id);
        writes.push(Write::MergeParty {
            from: *from,
            into: party.id,
            joins,
        });
    }

    for key in &plan.attach {
        // An identifier of a party merged in moved with it.
        if owned_by_any(&facts.known, key, &plan.merge) {
            continue;
        }
        writes.push(Write::Attach {
            party: party.id,
            key: key.clone(),
        });
        if key.kind.is_strong() && party.strong.is_none() {
            party.strong = Some(key.clone());
            // A party this plan makes gets its strong identifier as it is made (one
            // write less); a known party has its columns filled.
            match writes.first_mut() {
                Some(Write::CreateParty { id, strong, .. }) if *id == party.id => {
                    *strong = Some(key.clone());
                }
                _ => writes.push(Write::SetStrong {
                    party: party.id,
                    key: key.clone(),
                }),
            }
        }
    }
    Ok(FoundParty {
        writes,
        party: Some(party),
        status,
        cases,
        asked_case,
    })
}

/// Whether one of `parties` owns `key` (matched on kind and hash).
fn owned_by_any(known: &KnownParties, key: &IdentKey, parties: &[Uuid]) -> bool {
    known
        .owners
        .iter()
        .filter(|(k, _)| k.kind == key.kind && k.hash == key.hash)
        .flat_map(|(_, owners)| owners)
        .any(|o| parties.contains(o))
}

/// The case `id` resolves to after these joins.
fn joined(id: Uuid, joins: &[(Uuid, Uuid)]) -> Uuid {
    joins
        .iter()
        .find(|(from, _)| *from == id)
        .map_or(id, |(_, into)| *into)
}

/// Joins the cases of a party merging in, as `joins` says; the rest become the
/// survivor's.
fn join(cases: &mut Vec<CaseFacts>, merged: Vec<CaseFacts>, joins: &[(Uuid, Uuid)], party: Uuid) {
    for mut k in merged {
        for contact in &mut k.contacts {
            contact.party_id = Some(party);
        }
        let target = joins
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
                k.party_id = party;
                cases.push(k);
            }
        }
    }
    cases.sort_by_key(|a| (a.created_at, a.id));
}

/// A started contact with the party's cases as the plan leaves them.
pub(crate) struct Started {
    pub plan: StartPlan,
    pub contact: ContactFacts,
    pub case_reference: Option<String>,
    pub cases: Vec<CaseFacts>,
}

/// The processing of showing the context of this party: the party, and every party it
/// merges in (their contacts and cases are shown with it), one record each.
fn shown_context(facts: &StartFacts, found: &FoundParty) -> Option<Processing> {
    let merged = found.writes.iter().filter_map(|w| match w {
        Write::MergeParty { from, .. } => Some(*from),
        _ => None,
    });
    processing(
        &facts.settings,
        ProcessingKind::ContextRead,
        found.party.iter().map(|p| p.id).chain(merged),
    )
}

/// The processing of showing what these identifiers lead to as of `as_of` (a page of a
/// party's contacts, which is a context read too): the party and every party it would
/// merge in, as [`plan_lookup`] logs them; none when they find nobody.
pub fn shown_processing(
    facts: &StartFacts,
    identifiers: &[IdentKey],
    as_of: Instant,
) -> Result<Option<Processing>, DomainError> {
    let found = find_party(
        facts,
        identifiers,
        None,
        as_of,
        true,
        Some(&Needs::of_lookup(as_of)),
    )?;
    Ok(shown_context(facts, &found))
}

/// What a look-up shows, and its processing (none when it found nobody).
#[derive(Clone, Debug, PartialEq)]
pub struct LookupPlan {
    /// The context as of the look-up.
    pub context: ContextView,
    /// [`Write::LogProcessing`] of the parties shown, or nothing: a look-up saves
    /// nothing else.
    pub writes: Vec<Write>,
}

/// A contact begins: the party (as [`find_party`]), then its case, then the contact.
pub(crate) fn start(
    facts: &StartFacts,
    start: &StartCommand,
    recorded: bool,
    context_seen: bool,
    history: History,
) -> Result<Started, DomainError> {
    let found = find_party(
        facts,
        &start.identifiers,
        start.case_id,
        start.started_at,
        false,
        history.needs(Needs::of_start(start)).as_ref(),
    )?;
    let logged = shown_context(facts, &found);
    let FoundParty {
        mut writes,
        party,
        status,
        mut cases,
        asked_case,
    } = found;
    let at = start.started_at;
    let case_id = match &party {
        None => None,
        Some(party) => {
            let request = CaseRequest {
                case_id: asked_case,
                case_reference: start.case_reference.clone(),
                topic: start.topic.clone(),
            };
            match case::choose(&request, &cases, at, at, &facts.settings)? {
                CaseChoice::Existing(id) => Some(id),
                CaseChoice::New { topic, reference } => {
                    let made = CaseFacts {
                        id: facts.fresh.case,
                        party_id: party.id,
                        topic,
                        reference,
                        created_at: facts.stored_at,
                        contacts: Vec::new(),
                    };
                    writes.push(Write::CreateCase {
                        id: made.id,
                        party: made.party_id,
                        topic: made.topic.clone(),
                        reference: made.reference.clone(),
                        created_at: made.created_at,
                    });
                    cases.push(made);
                    Some(facts.fresh.case)
                }
                CaseChoice::Later => None,
            }
        }
    };

    let contact = ContactFacts {
        id: facts.fresh.contact,
        party_id: party.as_ref().map(|p| p.id),
        case_id,
        channel: start.channel,
        direction: start.direction,
        started_at: at,
        topic: start.topic.clone(),
        department: start.department.clone(),
        case_chosen_at_completion: false,
        recorded,
        context_seen,
        ambiguous: status == PartyStatus::Ambiguous,
        completion: None,
        feedback: None,
    };
    writes.push(Write::InsertContact {
        contact: Box::new(contact.clone()),
        case_reference: start.case_reference.clone(),
        created_at: facts.stored_at,
    });
    if let Some(k) = cases.iter_mut().find(|k| Some(k.id) == case_id) {
        k.contacts.push(contact.clone());
        k.contacts.sort_by_key(|a| (a.started_at, a.id));
    }
    cases.sort_by_key(|a| (a.created_at, a.id));

    let shown = match &party {
        Some(p) => PartyView::of(p, status),
        None => PartyView::without(status),
    };
    let probe = Probe::of(&contact);
    let context = view::context(shown, &cases, &probe, case_id, &facts.settings);
    let case = case_id.and_then(|id| cases.iter().find(|k| k.id == id));
    let view = view::contact_view(&contact, case, &facts.settings);
    writes.extend(logged.map(|p| Write::LogProcessing(p.for_contact(contact.id))));
    let units = units_after(&writes, &cases, &[&contact]);
    Ok(Started {
        plan: StartPlan {
            writes,
            contact: view,
            context,
            subject: contact.party_id,
            units,
        },
        contact,
        case_reference: start.case_reference.clone(),
        cases,
    })
}

/// A contact begins: the plan of its start (see [`start`]).
pub fn plan_start(
    facts: &StartFacts,
    start: &StartCommand,
    recorded: bool,
    context_seen: bool,
) -> Result<StartPlan, DomainError> {
    self::start(facts, start, recorded, context_seen, History::Needed).map(|s| s.plan)
}

/// The context a look-up shows as of `as_of`: the party a contact with these
/// identifiers would belong to, found by the same plan as a start, with the cases of
/// every party it would merge in joined as that merge would leave them. Nothing of the
/// plan is saved.
pub fn plan_lookup(
    facts: &StartFacts,
    identifiers: &[IdentKey],
    as_of: Instant,
) -> Result<LookupPlan, DomainError> {
    lookup(facts, identifiers, as_of, History::Needed)
}

/// A look-up (see [`plan_lookup`]), looking at `history`.
pub(crate) fn lookup(
    facts: &StartFacts,
    identifiers: &[IdentKey],
    as_of: Instant,
    history: History,
) -> Result<LookupPlan, DomainError> {
    let found = find_party(
        facts,
        identifiers,
        None,
        as_of,
        true,
        history.needs(Needs::of_lookup(as_of)).as_ref(),
    )?;
    let writes = shown_context(facts, &found)
        .map(Write::LogProcessing)
        .into_iter()
        .collect();
    let shown = match &found.party {
        Some(p) => PartyView::of(p, found.status),
        None => PartyView::without(found.status),
    };
    let probe = Probe {
        contact_id: None,
        at: as_of,
        channel: None,
        direction: Direction::Inbound,
        department: None,
    };
    let context = view::context(shown, &found.cases, &probe, None, &facts.settings);
    Ok(LookupPlan { context, writes })
}

/// A page of the contacts of the party these identifiers lead to (found as a look-up at
/// `as_of` finds it), on one of its cases if `case_id` is given, newest first. A case
/// that is not one of the party's cases today is NOT_FOUND; no party is NOT_FOUND; weak
/// identifiers shared by more than one party are FAILED_PRECONDITION (as for erasure:
/// give a strong one).
pub fn plan_contact_page(
    facts: &StartFacts,
    identifiers: &[IdentKey],
    case_id: Option<Uuid>,
    after: Option<view::ContactCursor>,
    size: usize,
    as_of: Instant,
) -> Result<view::ContactPage, DomainError> {
    // Every case: a page may reach back to the first contact.
    let found = find_party(
        facts,
        identifiers,
        None,
        as_of,
        true,
        History::All.needs(Needs::of_lookup(as_of)).as_ref(),
    )?;
    let Some(party) = &found.party else {
        return Err(match found.status {
            PartyStatus::Ambiguous => DomainError::FailedPrecondition(Precondition::PartyAmbiguous),
            _ => DomainError::NotFound(Missing::Party),
        });
    };
    page_of(
        PartyView::of(party, found.status),
        &found.cases,
        case_id,
        after,
        size,
        &facts.settings,
    )
}

/// A page of the contacts of `party`, asked by its id (the party as stored today, with
/// today's `cases`), as [`plan_contact_page`] answers it for identifiers: on one of its
/// cases if `case_id` is given (another case is NOT_FOUND), newest first.
pub fn plan_party_page(
    party: &PartySummary,
    cases: &[CaseFacts],
    case_id: Option<Uuid>,
    after: Option<view::ContactCursor>,
    size: usize,
    settings: &TenantSettings,
) -> Result<view::ContactPage, DomainError> {
    page_of(
        PartyView::of(party, PartyStatus::Known),
        cases,
        case_id,
        after,
        size,
        settings,
    )
}

/// The page of a found party: all its cases, or the one asked (NOT_FOUND otherwise).
fn page_of(
    party: PartyView,
    cases: &[CaseFacts],
    case_id: Option<Uuid>,
    after: Option<view::ContactCursor>,
    size: usize,
    settings: &TenantSettings,
) -> Result<view::ContactPage, DomainError> {
    let cases: Vec<&CaseFacts> = match case_id {
        None => cases.iter().collect(),
        Some(id) => vec![
            cases
                .iter()
                .find(|c| c.id == id)
                .ok_or_else(case_not_found)?,
        ],
    };
    Ok(view::contact_page(party, &cases, after, size, settings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::case::ContactStatus;
    use crate::case::tests::{case, contact, ended, t};
    use crate::contact::{Channel, Outcome};
    use crate::identifier::IdentifierKind;

    fn key(kind: IdentifierKind, hash: &str) -> IdentKey {
        IdentKey {
            kind,
            hash: hash.into(),
            display: (kind == IdentifierKind::Bsn).then(|| "******333".into()),
        }
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn summary(n: u128, minute: i64, strong: Option<IdentKey>) -> PartySummary {
        PartySummary {
            id: id(n),
            created_at: t(minute),
            strong,
        }
    }

    fn facts() -> StartFacts {
        StartFacts {
            known: KnownParties::default(),
            asked_case: AskedCase::NotAsked,
            cases: BTreeMap::new(),
            settings: TenantSettings::default(),
            fresh: FreshIds {
                party: id(9001),
                case: id(9002),
                contact: id(9003),
            },
            stored_at: t(1000),
        }
    }

    /// Party `n` owns `keys` and has `cases`.
    fn own(f: &mut StartFacts, p: PartySummary, keys: Vec<IdentKey>, cases: Vec<CaseFacts>) {
        for k in keys.iter().chain(p.strong.iter()) {
            f.known.owners.entry(k.clone()).or_default().push(p.id);
        }
        f.cases.insert(
            p.id,
            cases
                .into_iter()
                .map(|mut k| {
                    k.party_id = p.id;
                    for c in &mut k.contacts {
                        c.party_id = Some(p.id);
                        c.case_id = Some(k.id);
                    }
                    k
                })
                .collect(),
        );
        f.known.parties.insert(p.id, p);
    }

    fn cmd(ids: Vec<IdentKey>, topic: Option<&str>, minute: i64) -> StartCommand {
        StartCommand {
            channel: Channel::Phone,
            direction: Direction::Inbound,
            started_at: t(minute),
            identifiers: ids,
            topic: topic.map(|s| Code::parse(s).unwrap()),
            case_id: None,
            case_reference: None,
            department: None,
        }
    }

    #[test]
    fn a_new_party_is_made_with_its_bsn_then_given_its_identifiers_then_a_case_then_the_contact() {
        let f = facts();
        let bsn = key(IdentifierKind::Bsn, "b");
        let plan = plan_start(
            &f,
            &cmd(vec![bsn.clone()], Some("paspoort"), 0),
            false,
            true,
        )
        .unwrap();
        let kinds: Vec<&str> = plan
            .writes
            .iter()
            .map(|w| match w {
                Write::CreateParty { strong, .. } if strong.as_ref() == Some(&bsn) => {
                    "party with its BSN"
                }
                Write::Attach { .. } => "attach",
                Write::CreateCase { .. } => "case",
                Write::InsertContact { .. } => "contact",
                Write::LogProcessing(p) if p.subjects == [id(9001)] => "log",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            ["party with its BSN", "attach", "case", "contact", "log"]
        );
        assert_eq!(plan.context.party.status, PartyStatus::New);
        assert_eq!(plan.context.party.bsn_masked.as_deref(), Some("******333"));
        assert_eq!(plan.contact.contact.case_id, Some(id(9002)));
        assert_eq!(plan.context.case.as_ref().map(|k| k.id), Some(id(9002)));
        assert_eq!(plan.subject, Some(id(9001)));
    }

    #[test]
    fn merging_joins_open_cases_moves_the_rest_and_attaches_only_what_did_not_move() {
        let mut f = facts();
        let email = key(IdentifierKind::Email, "e");
        let phone = key(IdentifierKind::Phone, "p");
        let bsn = key(IdentifierKind::Bsn, "b");
        own(
            &mut f,
            summary(1, 0, None),
            vec![email.clone()],
            vec![case(10, "afval", 0, vec![contact(1, 0)])],
        );
        own(
            &mut f,
            summary(2, 5, None),
            vec![phone.clone()],
            vec![
                case(20, "afval", 5, vec![contact(2, 5)]),
                case(21, "paspoort", 6, vec![contact(3, 6)]),
            ],
        );
        let ids = vec![bsn.clone(), email, phone];
        let plan = plan_start(&f, &cmd(ids.clone(), Some("afval"), 20), false, true).unwrap();
        assert_eq!(
            plan.writes[0],
            Write::MergeParty {
                from: id(2),
                into: id(1),
                joins: vec![(id(20), id(10))],
            }
        );
        let attached: Vec<&IdentKey> = plan
            .writes
            .iter()
            .filter_map(|w| match w {
                Write::Attach { key, .. } => Some(key),
                _ => None,
            })
            .collect();
        assert_eq!(attached, [&bsn], "the phone moved with its party");
        assert_eq!(plan.contact.contact.case_id, Some(id(10)));
        assert_eq!(plan.context.party.id, Some(id(1)));
        let mut active: Vec<Uuid> = plan.context.active_cases.iter().map(|k| k.id).collect();
        active.sort();
        assert_eq!(
            active,
            [id(21)],
            "the chosen case (10) is sent once, as `case`"
        );
        assert_eq!(plan.context.active_case_count, 2);
        assert_eq!(plan.context.case.as_ref().map(|c| c.id), Some(id(10)));

        // The look-up is the same plan, not saved: the same party and cases.
        let seen = plan_lookup(&f, &ids, t(20)).unwrap().context;
        assert_eq!(seen.party.id, Some(id(1)));
        assert_eq!(seen.party.bsn_masked.as_deref(), Some("******333"));
        assert_eq!(seen.party.status, PartyStatus::Known);
        let mut shown: Vec<Uuid> = seen.active_cases.iter().map(|k| k.id).collect();
        shown.sort();
        assert_eq!(
            shown,
            [id(10), id(21)],
            "a look-up chooses no case: both listed"
        );
    }

    #[test]
    fn a_merge_judges_open_as_known_at_the_start_of_the_contact_that_merges() {
        let mut f = facts();
        let email = key(IdentifierKind::Email, "e");
        let phone = key(IdentifierKind::Phone, "p");
        own(
            &mut f,
            summary(1, 0, None),
            vec![email.clone()],
            vec![case(
                10,
                "afval",
                0,
                vec![ended(contact(1, 0), 10, Outcome::Resolved)],
            )],
        );
        own(
            &mut f,
            summary(2, 5, None),
            vec![phone.clone()],
            vec![case(20, "afval", 5, vec![contact(2, 5)])],
        );
        // Started before the resolution at minute 10 was known: the case is OPEN, so
        // the cases join; a look-up at that instant predicts it.
        let ids = vec![email, phone];
        let plan = plan_start(&f, &cmd(ids.clone(), None, 7), false, true).unwrap();
        assert!(matches!(
            &plan.writes[0],
            Write::MergeParty { joins, .. } if joins == &[(id(20), id(10))]
        ));
        assert_eq!(
            plan_lookup(&f, &ids, t(7))
                .unwrap()
                .context
                .active_cases
                .len(),
            1
        );
        // Started after it: resolved, no join.
        let plan = plan_start(&f, &cmd(ids.clone(), None, 11), false, true).unwrap();
        assert!(matches!(
            &plan.writes[0],
            Write::MergeParty { joins, .. } if joins.is_empty()
        ));
        assert_eq!(
            plan_lookup(&f, &ids, t(11))
                .unwrap()
                .context
                .active_cases
                .len(),
            2
        );
    }

    #[test]
    fn a_case_asked_for_without_identifiers_belongs_to_its_party_and_an_unknown_one_is_not_found() {
        let mut f = facts();
        own(
            &mut f,
            summary(1, 0, Some(key(IdentifierKind::Bsn, "b"))),
            vec![],
            vec![case(10, "afval", 0, vec![contact(1, 0)])],
        );
        let mut s = cmd(vec![], None, 30);
        s.case_id = Some(id(77));
        assert!(matches!(
            plan_start(&f, &s, false, true),
            Err(DomainError::NotFound(_))
        ));
        f.asked_case = AskedCase::Found {
            case_id: id(10),
            party: f.known.parties[&id(1)].clone(),
        };
        let plan = plan_start(&f, &s, false, true).unwrap();
        assert_eq!(plan.contact.contact.case_id, Some(id(10)));
        assert_eq!(plan.context.party.status, PartyStatus::Known);
        assert_eq!(plan.writes.len(), 2, "only the contact, and its log");
        // With identifiers of another party, the case is not theirs.
        let mut other = cmd(vec![key(IdentifierKind::Bsn, "x")], None, 30);
        other.case_id = Some(id(10));
        assert!(matches!(
            plan_start(&f, &other, false, true),
            Err(DomainError::NotFound(_))
        ));
    }

    #[test]
    fn a_look_up_finds_nothing_for_unknown_or_no_identifiers() {
        let f = facts();
        let seen = plan_lookup(&f, &[key(IdentifierKind::Email, "e")], t(0))
            .unwrap()
            .context;
        assert_eq!(seen.party.status, PartyStatus::NotFound);
        assert_eq!(
            plan_lookup(&f, &[], t(0)).unwrap().context.party.status,
            PartyStatus::NotFound
        );
        let anonymous = plan_start(&f, &cmd(vec![], Some("afval"), 0), false, true).unwrap();
        assert_eq!(anonymous.context.party.status, PartyStatus::Anonymous);
        assert_eq!(anonymous.writes.len(), 1);
        assert_eq!(anonymous.subject, None);
    }

    #[test]
    fn a_page_of_contacts_needs_one_party_and_a_case_of_it() {
        let mut f = facts();
        let mail = key(IdentifierKind::Email, "mail");
        let shared = key(IdentifierKind::Email, "gedeeld");
        let a = case(10, "paspoort", 0, vec![contact(1, 0), contact(2, 5)]);
        own(
            &mut f,
            summary(1, 0, None),
            vec![mail.clone(), shared.clone()],
            vec![a],
        );
        own(&mut f, summary(2, 0, None), vec![shared.clone()], vec![]);
        let page =
            plan_contact_page(&f, std::slice::from_ref(&mail), None, None, 10, t(20)).unwrap();
        let ids: Vec<Uuid> = page.contacts.iter().map(|c| c.contact.id).collect();
        assert_eq!(ids, [id(2), id(1)], "newest first");
        assert_eq!(page.party.id, Some(id(1)));
        let one = plan_contact_page(
            &f,
            std::slice::from_ref(&mail),
            Some(id(10)),
            None,
            10,
            t(20),
        );
        assert_eq!(one.unwrap().contacts.len(), 2);
        assert_eq!(
            plan_contact_page(&f, &[mail], Some(id(99)), None, 10, t(20)),
            Err(DomainError::NotFound(Missing::Case))
        );
        assert_eq!(
            plan_contact_page(&f, &[shared], None, None, 10, t(20)),
            Err(DomainError::FailedPrecondition(
                Precondition::PartyAmbiguous
            ))
        );
        let nobody = key(IdentifierKind::Email, "niemand");
        assert_eq!(
            plan_contact_page(&f, &[nobody], None, None, 10, t(20)),
            Err(DomainError::NotFound(Missing::Party))
        );
    }

    /// A history as the property test draws it: per party, its cases; per case, its
    /// topic (none, paspoort, afval), whether it has the reference `zaak-1`, and its
    /// contacts as (start in minutes, completion, chosen at completion, web, outbound),
    /// a completion as (length in minutes, outcome, story, due after minutes).
    type DrawnContact = (i64, Option<(i64, usize, bool, i64)>, bool, bool, bool);
    type DrawnCase = (usize, bool, Vec<DrawnContact>);

    fn drawn_contact() -> impl Strategy<Value = DrawnContact> {
        (
            0i64..60 * DAY,
            proptest::option::weighted(
                0.8,
                (
                    prop::sample::select(vec![0i64, 1, 5, 60, DAY, 3 * DAY, 10 * DAY]),
                    0..Outcome::ALL.len(),
                    any::<bool>(),
                    prop::sample::select(vec![30i64, DAY, 4 * DAY]),
                ),
            ),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.25),
            prop::bool::weighted(0.2),
        )
    }

    fn drawn_cases() -> impl Strategy<Value = Vec<DrawnCase>> {
        prop::collection::vec(
            (
                0usize..3,
                prop::bool::weighted(0.15),
                prop::collection::vec(drawn_contact(), 0..7),
            ),
            0..8,
        )
    }

    const DAY: i64 = 24 * 60;
    const TOPICS: [Option<&str>; 3] = [None, Some("paspoort"), Some("afval")];

    fn topic(i: usize) -> Option<Code> {
        TOPICS[i % TOPICS.len()].map(|t| Code::parse(t).unwrap())
    }

    /// A completed (or not) contact of a party, on a case, from what was drawn.
    fn contact_of(
        n: u128,
        party: Uuid,
        case_id: Option<Uuid>,
        (start, end, chosen, web, outbound): &DrawnContact,
    ) -> ContactFacts {
        let completion = end.map(|(length, outcome, story, due)| {
            let outcome = Outcome::ALL[outcome];
            let ended_at = t(start + length);
            crate::contact::Completion {
                ended_at,
                answered_at: (outcome != Outcome::Abandoned).then(|| t(*start)),
                outcome,
                story: (story && outcome != Outcome::Abandoned).then(|| "verhaal".into()),
                department: Some(Code::parse("kcc").unwrap()),
                topic: None,
                referred_to: None,
                due_at: outcome.is_commitment().then(|| t(start + length + due)),
                story_repeated: false,
            }
        });
        ContactFacts {
            id: id(n),
            party_id: Some(party),
            case_id,
            channel: if *web { Channel::Web } else { Channel::Phone },
            direction: if *outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            started_at: t(*start),
            topic: None,
            department: Some(Code::parse("kcc").unwrap()),
            case_chosen_at_completion: *chosen && completion.is_some(),
            recorded: false,
            context_seen: true,
            ambiguous: false,
            completion,
            feedback: None,
        }
    }

    fn cases_of(party: Uuid, drawn: &[DrawnCase], next: &mut u128) -> Vec<CaseFacts> {
        drawn
            .iter()
            .map(|(topic_i, referenced, contacts)| {
                *next += 1;
                let case_id = id(*next);
                let mut contacts: Vec<ContactFacts> = contacts
                    .iter()
                    .map(|c| {
                        *next += 1;
                        contact_of(*next, party, Some(case_id), c)
                    })
                    .collect();
                contacts.sort_by_key(|c| (c.started_at, c.id));
                CaseFacts {
                    id: case_id,
                    party_id: party,
                    topic: topic(*topic_i),
                    reference: referenced.then(|| "zaak-1".into()),
                    created_at: contacts.first().map_or(t(0), |c| c.started_at),
                    contacts,
                }
            })
            .collect()
    }

    /// Both ways of looking at the history: the same plans, the same answers.
    fn alike<T: PartialEq + std::fmt::Debug>(
        what: &str,
        plan: impl Fn(History) -> Result<T, DomainError>,
    ) -> Result<(), TestCaseError> {
        let needed = plan(History::Needed);
        let all = plan(History::All);
        prop_assert_eq!(needed, all, "{}", what);
        Ok(())
    }

    use crate::contact::Outcome as O;
    use proptest::prelude::*;

    proptest! {
        /// A start, a look-up, a recording and a completion that look only at the cases
        /// they need decide and answer exactly as they do looking at the whole history,
        /// and the store's status-only reading selects the same cases.
        #[test]
        fn looking_at_the_needed_cases_decides_as_the_whole_history(
            strong_cases in drawn_cases(),
            weak_cases in drawn_cases(),
            at in 0i64..70 * DAY,
            identifiers in 0usize..5,
            topic_i in 0usize..3,
            referenced in prop::bool::weighted(0.2),
            asked in proptest::option::weighted(0.15, any::<prop::sample::Index>()),
            repeat_window in prop::sample::select(vec![3600i64, 86_400, 7 * 86_400]),
            end in (0..O::ALL.len(), 0i64..2 * DAY, any::<bool>()),
        ) {
            let mut f = facts();
            f.settings.repeat_window_secs = repeat_window;
            let bsn = key(IdentifierKind::Bsn, "b");
            let email = key(IdentifierKind::Email, "e");
            let mut next = 100;
            let strong = cases_of(id(1), &strong_cases, &mut next);
            let weak = cases_of(id(2), &weak_cases, &mut next);
            own(&mut f, summary(1, 0, Some(bsn.clone())), vec![], strong.clone());
            own(&mut f, summary(2, 5, None), vec![email.clone()], weak);
            let ids = match identifiers {
                0 => vec![bsn.clone()],
                1 => vec![email.clone()],
                2 => vec![email.clone(), bsn.clone()],
                3 => vec![key(IdentifierKind::Phone, "p")],
                _ => vec![],
            };
            let mut command = cmd(ids.clone(), TOPICS[topic_i], at);
            command.case_reference = referenced.then(|| "zaak-1".into());
            if let Some(i) = asked.filter(|_| !strong.is_empty()) {
                let k = &strong[i.index(strong.len())];
                command.case_id = Some(k.id);
                f.asked_case = AskedCase::Found {
                    case_id: k.id,
                    party: f.known.parties[&id(1)].clone(),
                };
            }

            // The store reads only the status of the contacts of a case to choose.
            for cases in f.cases.values() {
                for k in cases {
                    let statuses: Vec<ContactStatus> =
                        k.contacts.iter().map(ContactStatus::from).collect();
                    let needs = Needs::of_start(&command);
                    prop_assert_eq!(
                        needs.wants(k.id, k.reference.as_deref(), &k.contacts, &f.settings),
                        needs.wants(k.id, k.reference.as_deref(), &statuses, &f.settings)
                    );
                }
            }

            alike("start", |h| start(&f, &command, false, true, h).map(|s| s.plan))?;
            alike("look-up", |h| lookup(&f, &ids, t(at), h))?;
            let (outcome, length, story) = end;
            let outcome = O::ALL[outcome];
            let completion = crate::command::CompletionCommand {
                ended_at: t(at + length),
                answered_at: (outcome != O::Abandoned).then(|| t(at)),
                outcome,
                story: story.then(|| "verhaal".into()),
                department: None,
                topic: TOPICS[(topic_i + 1) % 3].map(|c| Code::parse(c).unwrap()),
                referred_to: (outcome == O::Referred).then(|| {
                    crate::contact::ReferralTarget::Department(Code::parse("wmo").unwrap())
                }),
                due_at: None,
                story_repeated: false,
            };
            let recording = crate::plan::completion::RecordFacts {
                start: f.clone(),
                fresh_case: id(9004),
                now: t(at + length + DAY),
            };
            alike("record", |h| {
                crate::plan::completion::record(
                    &recording,
                    &command,
                    completion.clone(),
                    true,
                    h,
                )
            })?;
            // A contact of the strong party in progress, on no case yet or on one.
            let mut in_progress = contact_of(
                99,
                id(1),
                None,
                &(at, None, false, false, false),
            );
            in_progress.topic = topic(topic_i);
            let mut party_cases = strong.clone();
            if let Some(i) = asked.filter(|_| !party_cases.is_empty()) {
                let k = &mut party_cases[i.index(strong.len())];
                in_progress.case_id = Some(k.id);
                k.contacts.push(in_progress.clone());
                k.contacts.sort_by_key(|c| (c.started_at, c.id));
            }
            let completing = crate::plan::completion::CompletionFacts {
                contact: Some(crate::plan::completion::StoredContact {
                    facts: in_progress,
                    case_reference: command.case_reference.clone(),
                }),
                party_cases,
                settings: f.settings.clone(),
                fresh_case: id(9005),
                now: t(at + length + DAY),
                stored_at: t(at + length + DAY),
            };
            alike("completion", |h| {
                crate::plan::completion::completion(&completing, Ok(completion.clone()), h)
                    .map(|c| c.plan)
            })?;
        }
    }
}
