//! Paging (AIP-158) through a party's contacts (`ListPartyContacts`) and through the
//! commitments worklist (`ListCommitments`): `page_size` and an opaque, tamper-evident
//! `page_token`.
//!
//! A token names the last item of the page before (its instant in the list's order,
//! a contact's start or a commitment's due time, and its id) and carries a keyed MAC
//! (the deployment secret, through `Pseudonymiser::fingerprint`) over that position,
//! the list it belongs to and what the request asked for (the tenant, and the
//! identifiers' keyed hashes and the case, or the department). A token changed by
//! hand, or used with another list, other identifiers, another case or department or
//! another tenant, is INVALID_ARGUMENT on `page_token`; it never reveals an identifier.

use crate::convert::command::required_identifiers;
use crate::convert::{collect, nested, optional_code, optional_uuid};
use crate::pb;
use chrono::DateTime;
use midoffice_domain::identifier::Pseudonymiser;
use midoffice_domain::limits::{
    DEFAULT_PAGE_SIZE, DEFAULT_WORKLIST_PAGE_SIZE, MAX_PAGE_SIZE, MAX_WORKLIST_PAGE_SIZE,
};
use midoffice_domain::view::{CommitmentCursor, ContactCursor};
use midoffice_domain::{Code, Instant, TenantId, Violations};
use midoffice_store::PartyAsked;
use uuid::Uuid;

/// A `ListPartyContacts` request, checked.
#[derive(Debug)]
pub struct ContactQuery {
    pub party: PartyAsked,
    pub case_id: Option<Uuid>,
    pub size: usize,
    pub after: Option<ContactCursor>,
}

/// The purpose of the MAC of each list's tokens: a token of one list is refused by
/// another.
const CONTACTS: &str = "ListPartyContacts.page_token";
const COMMITMENTS: &str = "ListCommitments.page_token";
/// Hex characters of the MAC kept in a token: 128 bits.
const MAC_CHARS: usize = 32;

/// Checks every field of a `ListPartyContacts` request; every violation at once.
pub fn contact_query(
    req: &pb::ListPartyContactsRequest,
    tenant: &TenantId,
    pseudonymiser: &Pseudonymiser,
) -> Result<ContactQuery, Violations> {
    let mut v = Violations::default();
    let party = match optional_uuid(&req.party_id) {
        Err(why) => {
            v.add("party_id", why);
            None
        }
        Ok(Some(id)) => {
            if req.identifiers.is_some() {
                v.add("identifiers", "give identifiers or party_id, not both");
            }
            Some(PartyAsked::Id(id))
        }
        Ok(None) => collect(
            &mut v,
            nested(
                "identifiers",
                required_identifiers(req.identifiers.as_ref(), pseudonymiser),
            ),
        )
        .map(PartyAsked::Identifiers),
    };
    let case_id = match optional_uuid(&req.case_id) {
        Ok(id) => id,
        Err(why) => {
            v.add("case_id", why);
            None
        }
    };
    let size = page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, &mut v);
    let (Some(party), true) = (party, v.is_empty()) else {
        return Err(v);
    };
    let after = if req.page_token.is_empty() {
        None
    } else {
        let scope = scope(tenant, &party, case_id);
        match read_token(CONTACTS, &req.page_token, &scope, pseudonymiser) {
            Some((started_at, contact_id)) => Some(ContactCursor {
                started_at,
                contact_id,
            }),
            None => {
                return Err(Violations::one(
                    "page_token",
                    "is not a next_page_token given for this party and case_id",
                ));
            }
        }
    };
    Ok(ContactQuery {
        party,
        case_id,
        size,
        after,
    })
}

/// What a token is bound to: the tenant, the party asked for (the identifiers' keyed
/// hashes, sorted so their order in the request does not matter, or the party id) and
/// the case asked for.
fn scope(tenant: &TenantId, party: &PartyAsked, case_id: Option<Uuid>) -> String {
    let asked = match party {
        PartyAsked::Identifiers(identifiers) => {
            let mut hashes: Vec<String> = identifiers
                .iter()
                .map(|k| format!("{}:{}", k.kind.as_str(), k.hash))
                .collect();
            hashes.sort();
            hashes.join(",")
        }
        PartyAsked::Id(id) => format!("party:{id}"),
    };
    format!(
        "{}\0{}\0{}",
        tenant.as_str(),
        asked,
        case_id.map(|c| c.to_string()).unwrap_or_default()
    )
}

/// `page_size`: 0 is `default`, larger than `max` is `max`, negative is refused.
fn page_size(raw: i32, default: usize, max: usize, v: &mut Violations) -> usize {
    match usize::try_from(raw) {
        Err(_) => {
            v.add("page_size", "must not be negative");
            0
        }
        Ok(0) => default,
        Ok(n) => n.min(max),
    }
}

/// A position in a list's order: an instant and an id.
type Position = (Instant, Uuid);

fn position((at, id): Position) -> String {
    format!("{}.{}", at.timestamp_micros(), id.simple())
}

fn mac(pseudonymiser: &Pseudonymiser, purpose: &str, scope: &str, position: &str) -> String {
    let mut mac = pseudonymiser.fingerprint(purpose, format!("{scope}\0{position}").as_bytes());
    mac.truncate(MAC_CHARS);
    mac
}

/// The token of `at` in the list `purpose`, for a request of `scope`.
fn token(purpose: &str, at: Position, scope: &str, pseudonymiser: &Pseudonymiser) -> String {
    let position = position(at);
    let mac = mac(pseudonymiser, purpose, scope, &position);
    format!("{position}.{mac}")
}

/// The `next_page_token` for a page of a party's contacts that ends at `cursor`.
pub fn next_token(
    cursor: &ContactCursor,
    tenant: &TenantId,
    party: &PartyAsked,
    case_id: Option<Uuid>,
    pseudonymiser: &Pseudonymiser,
) -> String {
    token(
        CONTACTS,
        (cursor.started_at, cursor.contact_id),
        &scope(tenant, party, case_id),
        pseudonymiser,
    )
}

/// The position a token of the list `purpose` names, if this service wrote it for a
/// request of `scope`.
fn read_token(
    purpose: &str,
    token: &str,
    scope: &str,
    pseudonymiser: &Pseudonymiser,
) -> Option<Position> {
    let (given_position, given) = token.rsplit_once('.')?;
    let (micros, id) = given_position.split_once('.')?;
    let at: Position = (
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        Uuid::try_parse(id).ok()?,
    );
    // Compared on the canonical form, so only a token this service wrote passes.
    let canonical = position(at);
    let expected = mac(pseudonymiser, purpose, scope, &canonical);
    (given_position == canonical && constant_time_eq(given, &expected)).then_some(at)
}

/// A `ListCommitments` request, checked.
#[derive(Debug)]
pub struct CommitmentQuery {
    pub department: Option<Code>,
    pub size: usize,
    pub after: Option<CommitmentCursor>,
}

/// What a worklist token is bound to: the tenant and the department asked for.
fn worklist_scope(tenant: &TenantId, department: Option<&Code>) -> String {
    format!(
        "{}\0{}",
        tenant.as_str(),
        department.map(Code::as_str).unwrap_or_default()
    )
}

/// Checks every field of a `ListCommitments` request; every violation at once.
pub fn commitment_query(
    req: &pb::ListCommitmentsRequest,
    tenant: &TenantId,
    pseudonymiser: &Pseudonymiser,
) -> Result<CommitmentQuery, Violations> {
    let mut v = Violations::default();
    let department = optional_code(&req.department, "department", &mut v);
    let size = page_size(
        req.page_size,
        DEFAULT_WORKLIST_PAGE_SIZE,
        MAX_WORKLIST_PAGE_SIZE,
        &mut v,
    );
    let (Ok(department), true) = (department, v.is_empty()) else {
        return Err(v);
    };
    let after = if req.page_token.is_empty() {
        None
    } else {
        let scope = worklist_scope(tenant, department.as_ref());
        let (due_at, contact_id) = read_token(COMMITMENTS, &req.page_token, &scope, pseudonymiser)
            .ok_or_else(|| {
                Violations::one(
                    "page_token",
                    "is not a next_page_token given for this department",
                )
            })?;
        Some(CommitmentCursor { due_at, contact_id })
    };
    Ok(CommitmentQuery {
        department,
        size,
        after,
    })
}

/// The `next_page_token` for a page of the worklist that ends at `cursor`.
pub fn next_commitment_token(
    cursor: &CommitmentCursor,
    tenant: &TenantId,
    department: Option<&Code>,
    pseudonymiser: &Pseudonymiser,
) -> String {
    token(
        COMMITMENTS,
        (cursor.due_at, cursor.contact_id),
        &worklist_scope(tenant, department),
        pseudonymiser,
    )
}

/// Equality that takes as long whatever the first difference.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use midoffice_domain::identifier::{IdentKey, IdentifierKind};

    fn key(hash: &str) -> IdentKey {
        IdentKey {
            kind: IdentifierKind::Email,
            hash: hash.into(),
            display: None,
        }
    }

    fn cursor() -> ContactCursor {
        ContactCursor {
            started_at: DateTime::from_timestamp_micros(1_770_000_000_123_456).unwrap(),
            contact_id: Uuid::from_u128(42),
        }
    }

    #[test]
    fn a_token_reads_back_only_in_its_own_scope() {
        let p = Pseudonymiser::new(b"a test secret of enough length!!");
        let t = TenantId::parse("gemeente-a").unwrap();
        let ids = [key("h1")];
        let asked = |ids: &[IdentKey]| PartyAsked::Identifiers(ids.to_vec());
        let token = next_token(&cursor(), &t, &asked(&ids), None, &p);
        let scope_of = |t: &TenantId, ids: &[IdentKey], case| scope(t, &asked(ids), case);
        let read = |token: &str, scope: &str, p: &Pseudonymiser| {
            read_token(CONTACTS, token, scope, p).map(|(started_at, contact_id)| ContactCursor {
                started_at,
                contact_id,
            })
        };
        assert_eq!(read(&token, &scope_of(&t, &ids, None), &p), Some(cursor()));
        // Another party, case, tenant or secret: refused.
        assert_eq!(read(&token, &scope_of(&t, &[key("h2")], None), &p), None);
        let case = Some(Uuid::from_u128(7));
        assert_eq!(read(&token, &scope_of(&t, &ids, case), &p), None);
        let other = TenantId::parse("gemeente-b").unwrap();
        assert_eq!(read(&token, &scope_of(&other, &ids, None), &p), None);
        let q = Pseudonymiser::new(b"another secret of enough length!");
        assert_eq!(read(&token, &scope_of(&t, &ids, None), &q), None);
        // The same position for the party asked by id: refused.
        let by_id = PartyAsked::Id(Uuid::from_u128(3));
        assert_eq!(read(&token, &scope(&t, &by_id, None), &p), None);
        // The same position in another list: refused.
        assert_eq!(
            read_token(COMMITMENTS, &token, &scope_of(&t, &ids, None), &p),
            None
        );
    }

    #[test]
    fn a_worklist_token_reads_back_only_for_its_department() {
        let p = Pseudonymiser::new(b"a test secret of enough length!!");
        let t = TenantId::parse("gemeente-a").unwrap();
        let kcc = Code::parse("kcc").unwrap();
        let c = CommitmentCursor {
            due_at: cursor().started_at,
            contact_id: Uuid::from_u128(9),
        };
        let token = next_commitment_token(&c, &t, Some(&kcc), &p);
        let ask = |department: &str, token: &str| pb::ListCommitmentsRequest {
            department: department.into(),
            page_size: 0,
            page_token: token.into(),
        };
        let q = commitment_query(&ask("kcc", &token), &t, &p).unwrap();
        assert_eq!(q.after, Some(c));
        assert_eq!(q.size, DEFAULT_WORKLIST_PAGE_SIZE);
        for other in ["", "wijkteam"] {
            let e = commitment_query(&ask(other, &token), &t, &p).unwrap_err();
            assert_eq!(e.0[0].field, "page_token");
        }
    }

    #[test]
    fn a_changed_or_malformed_token_is_refused() {
        let p = Pseudonymiser::new(b"a test secret of enough length!!");
        let t = TenantId::parse("gemeente-a").unwrap();
        let ids = PartyAsked::Identifiers(vec![key("h1")]);
        let s = scope(&t, &ids, None);
        let token = next_token(&cursor(), &t, &ids, None, &p);
        let moved = token.replacen("1770000000123456", "1770000000123457", 1);
        assert_ne!(moved, token);
        for bad in [
            moved.as_str(),
            "",
            "x",
            "1.2.3",
            "..",
            &token[..token.len() - 1],
            &format!("{token}0"),
            &format!("0{token}"),
        ] {
            assert_eq!(read_token(CONTACTS, bad, &s, &p), None, "{bad:?}");
        }
    }
}
