//! Erasing a party on request (DOMAIN.md "Privacy"): every personal field and identifier
//! hash goes, counts stay.

use super::Write;
use crate::identifier::IdentKey;
use crate::party::{self, KnownParties, PartyChoice, Resolution};
use crate::processing::{ProcessingKind, processing};
use crate::settings::TenantSettings;
use crate::{DomainError, Instant, Missing, Precondition};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What replaces the story of a contact of an erased party: that a story existed stays
/// known, so the figures do not change.
pub const ERASED_STORY: &str = "(gewist op verzoek)";

/// A live party and everything that resolves to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Family {
    /// The party and every party merged into it (at any depth).
    pub parties: Vec<Uuid>,
    /// The contacts of those parties.
    pub contacts: Vec<Uuid>,
}

/// What an erasure needs to know, loaded in the write transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EraseFacts {
    /// The live owners of the given identifiers.
    pub known: KnownParties,
    /// The family of every party in `known`.
    pub families: BTreeMap<Uuid, Family>,
    /// The store's clock: when the erasure happens.
    pub stored_at: Instant,
    /// The tenant's settings (the processing activity of an erase).
    pub settings: TenantSettings,
}

/// What an erasure does and answers.
#[derive(Clone, Debug, PartialEq)]
pub struct ErasePlan {
    /// In order.
    pub writes: Vec<Write>,
    /// The party the identifiers lead to.
    pub party_id: Uuid,
    /// How many contacts lost their personal data.
    pub contacts_erased: u32,
}

/// Erases the party these identifiers lead to, with every party a contact with them
/// would merge in (the same person), without merging: cases are not joined, so every
/// count stays. Identifiers that find nobody (none given included) are NOT_FOUND; that
/// lead to more than one party, FAILED_PRECONDITION.
pub fn plan_erase(facts: &EraseFacts, identifiers: &[IdentKey]) -> Result<ErasePlan, DomainError> {
    let nobody = || DomainError::NotFound(Missing::Party);
    let plan = match party::resolve(identifiers, &facts.known) {
        Resolution::Anonymous => return Err(nobody()),
        Resolution::Ambiguous => {
            return Err(DomainError::FailedPrecondition(
                Precondition::PartyAmbiguous,
            ));
        }
        Resolution::Party(plan) => plan,
    };
    let PartyChoice::Existing(party_id) = plan.party else {
        return Err(nobody());
    };
    let mut parties = Vec::new();
    let mut contacts = Vec::new();
    // The data subjects: the party and the parties a contact would merge in (those
    // merged before are the same subjects, found through their family).
    let logged = processing(
        &facts.settings,
        ProcessingKind::Erase,
        std::iter::once(party_id).chain(plan.merge.iter().copied()),
    );
    for id in std::iter::once(&party_id).chain(&plan.merge) {
        let family = facts.families.get(id).cloned().unwrap_or_else(|| Family {
            parties: vec![*id],
            contacts: Vec::new(),
        });
        parties.extend(family.parties);
        contacts.extend(family.contacts);
    }
    parties.sort();
    parties.dedup();
    contacts.sort();
    contacts.dedup();
    let at = facts.stored_at;
    let mut writes = vec![
        Write::DeleteIdentifiers {
            parties: parties.clone(),
        },
        Write::MarkErased {
            parties: parties.clone(),
            at,
        },
        Write::ClearCaseReferences {
            parties: parties.clone(),
        },
        Write::ReplaceStories {
            parties: parties.clone(),
            marker: ERASED_STORY,
        },
        Write::ClearContactCaseReferences {
            parties: parties.clone(),
        },
        Write::ClearOrganisationTargets {
            parties: parties.clone(),
        },
        Write::ClearFeedbackComments {
            contacts: contacts.clone(),
        },
        // The answers kept for retries show stories, the masked BSN and comments.
        Write::EmptyIdempotentAnswers { parties, at },
    ];
    writes.extend(logged.map(Write::LogProcessing));
    Ok(ErasePlan {
        writes,
        party_id,
        contacts_erased: u32::try_from(contacts.len()).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::t;
    use crate::identifier::IdentifierKind;
    use crate::party::PartySummary;

    fn key(kind: IdentifierKind, hash: &str) -> IdentKey {
        IdentKey {
            kind,
            hash: hash.into(),
            display: None,
        }
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn the_party_and_those_it_would_merge_in_go_with_every_personal_field() {
        let bsn = key(IdentifierKind::Bsn, "b");
        let phone = key(IdentifierKind::Phone, "p");
        let mut f = EraseFacts {
            stored_at: t(100),
            ..EraseFacts::default()
        };
        for (n, strong, k) in [
            (1, Some(bsn.clone()), bsn.clone()),
            (2, None, phone.clone()),
        ] {
            f.known.owners.entry(k).or_default().push(id(n));
            f.known.parties.insert(
                id(n),
                PartySummary {
                    id: id(n),
                    created_at: t(n as i64),
                    strong,
                },
            );
        }
        f.families.insert(
            id(1),
            Family {
                parties: vec![id(1), id(5)],
                contacts: vec![id(11), id(12)],
            },
        );
        f.families.insert(
            id(2),
            Family {
                parties: vec![id(2)],
                contacts: vec![id(21)],
            },
        );
        let plan = plan_erase(&f, &[bsn.clone(), phone]).unwrap();
        assert_eq!(plan.party_id, id(1));
        assert_eq!(plan.contacts_erased, 3);
        assert_eq!(
            plan.writes[0],
            Write::DeleteIdentifiers {
                parties: vec![id(1), id(2), id(5)]
            }
        );
        assert!(plan.writes.contains(&Write::ReplaceStories {
            parties: vec![id(1), id(2), id(5)],
            marker: ERASED_STORY
        }));
        assert_eq!(plan.writes.len(), 9);
        // Logged last, under the erase activity, with the party first.
        let Some(Write::LogProcessing(logged)) = plan.writes.last() else {
            panic!("an erase is logged: {:?}", plan.writes.last());
        };
        assert_eq!(logged.kind, ProcessingKind::Erase);
        assert_eq!(logged.subjects.first(), Some(&id(1)));
        assert_eq!(logged.activity, "urn:midoffice:processing-activity:erase");

        assert!(matches!(plan_erase(&f, &[]), Err(DomainError::NotFound(_))));
        assert!(matches!(
            plan_erase(&f, &[key(IdentifierKind::Bsn, "x")]),
            Err(DomainError::NotFound(_))
        ));
    }
}
