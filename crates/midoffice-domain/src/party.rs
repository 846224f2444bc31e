//! Finding the party (DOMAIN.md "Finding the party").

use crate::Instant;
use crate::identifier::IdentKey;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A party as resolution needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartySummary {
    pub id: Uuid,
    /// When it was created; "oldest" means created first (ties: smaller id).
    pub created_at: Instant,
    /// Its strong identifier, if it has one.
    pub strong: Option<IdentKey>,
}

/// What the store knows about the identifiers of a request: for each given identifier
/// (by kind and hash), the live parties that own it; and a summary of each such party.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownParties {
    /// Keyed by `(kind, hash)` of a given identifier: its owners (empty or absent if unknown).
    pub owners: BTreeMap<IdentKey, Vec<Uuid>>,
    pub parties: BTreeMap<Uuid, PartySummary>,
}

impl KnownParties {
    /// The live owners of an identifier (matched on kind and hash only).
    fn owners_of(&self, key: &IdentKey) -> Vec<Uuid> {
        let mut owners: Vec<Uuid> = self
            .owners
            .iter()
            .filter(|(k, _)| k.kind == key.kind && k.hash == key.hash)
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|id| self.parties.contains_key(id))
            .collect();
        owners.sort();
        owners.dedup();
        owners
    }

    fn has_strong(&self, id: Uuid) -> bool {
        self.parties.get(&id).is_some_and(|p| p.strong.is_some())
    }

    /// The oldest of `ids`: created first, ties broken by the smaller id.
    fn oldest(&self, ids: impl IntoIterator<Item = Uuid>) -> Option<Uuid> {
        ids.into_iter()
            .filter_map(|id| self.parties.get(&id))
            .min_by_key(|p| (p.created_at, p.id))
            .map(|p| p.id)
    }

    fn sorted_oldest_first(&self, ids: BTreeSet<Uuid>) -> Vec<Uuid> {
        let mut parties: Vec<&PartySummary> =
            ids.iter().filter_map(|id| self.parties.get(id)).collect();
        parties.sort_by_key(|p| (p.created_at, p.id));
        parties.into_iter().map(|p| p.id).collect()
    }
}

/// The chosen party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartyChoice {
    /// An existing party.
    Existing(Uuid),
    /// A new party is to be made.
    New,
}

/// What to do with the parties of a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyPlan {
    pub party: PartyChoice,
    /// Identifiers given that the chosen party does not own yet: attach them to it.
    pub attach: Vec<IdentKey>,
    /// Parties to merge into the chosen one (their identifiers, cases and contacts
    /// move; their ids keep resolving to it). Oldest first.
    pub merge: Vec<Uuid>,
}

/// The outcome of finding the party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// No identifiers: the contact is anonymous.
    Anonymous,
    /// The identifiers do not lead to one party: stored as anonymous, the agent asks for
    /// a strong identifier.
    Ambiguous,
    /// A party (existing or new), with what to attach and merge.
    Party(PartyPlan),
}

/// Finds the party for the identifiers `given` (already valid, at most one strong).
pub fn resolve(given: &[IdentKey], known: &KnownParties) -> Resolution {
    if given.is_empty() {
        return Resolution::Anonymous;
    }
    let strong = given.iter().find(|k| k.kind.is_strong());
    let weak: Vec<&IdentKey> = given.iter().filter(|k| !k.kind.is_strong()).collect();
    let weak_owners: BTreeSet<Uuid> = weak.iter().flat_map(|k| known.owners_of(k)).collect();

    let (chosen, merge) = match strong {
        Some(strong) => {
            let chosen = match known.owners_of(strong).first() {
                Some(owner) => Some(*owner),
                // Nobody owns the strong identifier: the oldest party without a strong
                // identifier that the weak ones lead to gets it.
                None => known.oldest(
                    weak_owners
                        .iter()
                        .copied()
                        .filter(|p| !known.has_strong(*p)),
                ),
            };
            // Parties without a strong identifier that own a given weak one merge in; a
            // party with another strong identifier never does (the identifier is shared).
            let merge: BTreeSet<Uuid> = weak_owners
                .iter()
                .copied()
                .filter(|p| Some(*p) != chosen && !known.has_strong(*p))
                .collect();
            (chosen, merge)
        }
        None => {
            if weak_owners.is_empty() {
                (None, BTreeSet::new())
            } else {
                if weak.iter().any(|k| known.owners_of(k).len() > 1) {
                    return Resolution::Ambiguous;
                }
                let with_strong: Vec<Uuid> = weak_owners
                    .iter()
                    .copied()
                    .filter(|p| known.has_strong(*p))
                    .collect();
                if with_strong.len() > 1 {
                    return Resolution::Ambiguous;
                }
                let chosen = match with_strong.first() {
                    Some(p) => Some(*p),
                    None => known.oldest(weak_owners.iter().copied()),
                };
                let merge = weak_owners
                    .iter()
                    .copied()
                    .filter(|p| Some(*p) != chosen)
                    .collect();
                (chosen, merge)
            }
        }
    };

    let attach = given
        .iter()
        .filter(|k| match chosen {
            Some(p) => !known.owners_of(k).contains(&p),
            None => true,
        })
        .cloned()
        .collect();
    Resolution::Party(PartyPlan {
        party: chosen.map_or(PartyChoice::New, PartyChoice::Existing),
        attach,
        merge: known.sorted_oldest_first(merge),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identifier::IdentifierKind;
    use chrono::{TimeZone, Utc};

    fn key(kind: IdentifierKind, hash: &str) -> IdentKey {
        IdentKey {
            kind,
            hash: hash.into(),
            display: None,
        }
    }
    fn bsn(h: &str) -> IdentKey {
        key(IdentifierKind::Bsn, h)
    }
    fn kvk(h: &str) -> IdentKey {
        key(IdentifierKind::Kvk, h)
    }
    fn email(h: &str) -> IdentKey {
        key(IdentifierKind::Email, h)
    }
    fn phone(h: &str) -> IdentKey {
        key(IdentifierKind::Phone, h)
    }
    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// A world of parties: (id, minute created, strong key, owned keys).
    fn world(parties: &[(u128, i64, Option<IdentKey>, Vec<IdentKey>)]) -> KnownParties {
        let mut known = KnownParties::default();
        for (n, minute, strong, owned) in parties {
            known.parties.insert(
                id(*n),
                PartySummary {
                    id: id(*n),
                    created_at: Utc.timestamp_opt(minute * 60, 0).unwrap(),
                    strong: strong.clone(),
                },
            );
            for k in owned.iter().chain(strong.iter()) {
                known.owners.entry(k.clone()).or_default().push(id(*n));
            }
        }
        known
    }

    fn plan(r: Resolution) -> PartyPlan {
        match r {
            Resolution::Party(p) => p,
            other => panic!("expected a party, got {other:?}"),
        }
    }

    #[test]
    fn no_identifiers_is_anonymous() {
        assert_eq!(
            resolve(&[], &KnownParties::default()),
            Resolution::Anonymous
        );
    }

    #[test]
    fn unknown_identifiers_make_a_new_party_with_all_of_them() {
        let p = plan(resolve(&[bsn("b"), phone("p")], &KnownParties::default()));
        assert_eq!(p.party, PartyChoice::New);
        assert_eq!(p.attach, vec![bsn("b"), phone("p")]);
        assert!(p.merge.is_empty());
    }

    #[test]
    fn a_strong_identifier_finds_its_owner_and_attaches_new_weak_ones() {
        let known = world(&[(1, 0, Some(bsn("b")), vec![phone("p")])]);
        let p = plan(resolve(&[bsn("b"), phone("p"), email("e")], &known));
        assert_eq!(p.party, PartyChoice::Existing(id(1)));
        assert_eq!(p.attach, vec![email("e")]);
    }

    #[test]
    fn an_unknown_strong_identifier_goes_to_the_oldest_weak_party_without_one() {
        let known = world(&[
            (1, 5, None, vec![email("e")]),
            (2, 1, None, vec![phone("p")]),
        ]);
        let p = plan(resolve(&[bsn("b"), email("e"), phone("p")], &known));
        assert_eq!(p.party, PartyChoice::Existing(id(2)));
        assert_eq!(p.attach, vec![bsn("b"), email("e")]);
        assert_eq!(p.merge, vec![id(1)]);
    }

    #[test]
    fn an_unknown_strong_identifier_skips_weak_parties_with_another_strong_one() {
        let known = world(&[(1, 0, Some(bsn("other")), vec![email("e")])]);
        let p = plan(resolve(&[bsn("b"), email("e")], &known));
        assert_eq!(p.party, PartyChoice::New);
        // The e-mail address is then shared by both.
        assert_eq!(p.attach, vec![bsn("b"), email("e")]);
        assert!(p.merge.is_empty());
    }

    #[test]
    fn strong_owner_merges_weak_parties_without_strong_but_never_strong_ones() {
        let known = world(&[
            (1, 0, Some(bsn("b")), vec![]),
            (2, 1, None, vec![phone("p")]),
            (3, 2, Some(kvk("k")), vec![email("e")]),
            (4, 3, None, vec![email("e")]),
        ]);
        let p = plan(resolve(&[bsn("b"), phone("p"), email("e")], &known));
        assert_eq!(p.party, PartyChoice::Existing(id(1)));
        assert_eq!(p.merge, vec![id(2), id(4)]);
        assert_eq!(p.attach, vec![phone("p"), email("e")]);
    }

    #[test]
    fn weak_identifiers_of_one_party_find_it() {
        let known = world(&[(1, 0, None, vec![email("e"), phone("p")])]);
        let p = plan(resolve(&[phone("p")], &known));
        assert_eq!(p.party, PartyChoice::Existing(id(1)));
        assert!(p.attach.is_empty());
    }

    #[test]
    fn weak_identifiers_of_several_parties_merge_into_the_strong_one_or_the_oldest() {
        let known = world(&[
            (1, 3, None, vec![email("e")]),
            (2, 1, None, vec![phone("p")]),
        ]);
        let p = plan(resolve(&[email("e"), phone("p")], &known));
        assert_eq!(p.party, PartyChoice::Existing(id(2)));
        assert_eq!(p.merge, vec![id(1)]);
        assert_eq!(p.attach, vec![email("e")]);

        let known = world(&[
            (1, 3, Some(bsn("b")), vec![email("e")]),
            (2, 1, None, vec![phone("p")]),
        ]);
        let p = plan(resolve(&[email("e"), phone("p")], &known));
        assert_eq!(p.party, PartyChoice::Existing(id(1)));
        assert_eq!(p.merge, vec![id(2)]);
    }

    #[test]
    fn weak_identifiers_are_ambiguous_when_shared_or_leading_to_two_strong_parties() {
        let shared = world(&[
            (1, 0, Some(bsn("b1")), vec![email("e")]),
            (2, 1, None, vec![email("e")]),
        ]);
        assert_eq!(resolve(&[email("e")], &shared), Resolution::Ambiguous);
        let two = world(&[
            (1, 0, Some(bsn("b1")), vec![email("e")]),
            (2, 1, Some(bsn("b2")), vec![phone("p")]),
        ]);
        assert_eq!(
            resolve(&[email("e"), phone("p")], &two),
            Resolution::Ambiguous
        );
        // With the strong identifier the same request is clear.
        let p = plan(resolve(&[bsn("b2"), email("e"), phone("p")], &two));
        assert_eq!(p.party, PartyChoice::Existing(id(2)));
        assert!(p.merge.is_empty());
    }

    #[test]
    fn an_unknown_weak_identifier_alone_makes_a_new_party() {
        let known = world(&[(1, 0, None, vec![email("e")])]);
        let p = plan(resolve(&[phone("p")], &known));
        assert_eq!(p.party, PartyChoice::New);
    }
}
