//! Paging through a party's contacts (AIP-158): `page_size` and an opaque, tamper-evident
//! `page_token`.
//!
//! A token names the last contact of the page before (its start and id) and carries a
//! keyed MAC (the deployment secret, through `Pseudonymiser::fingerprint`) over that
//! position, the tenant, the identifiers' keyed hashes and the case asked for. A token
//! changed by hand, or used with other identifiers, another case or another tenant, is
//! INVALID_ARGUMENT on `page_token`; it never reveals an identifier.

use crate::convert::command::required_identifiers;
use crate::convert::{collect, nested, optional_uuid};
use crate::pb;
use chrono::DateTime;
use midoffice_domain::identifier::{IdentKey, Pseudonymiser};
use midoffice_domain::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use midoffice_domain::view::ContactCursor;
use midoffice_domain::{TenantId, Violations};
use uuid::Uuid;

/// A `ListPartyContacts` request, checked.
#[derive(Debug)]
pub struct ContactQuery {
    pub identifiers: Vec<IdentKey>,
    pub case_id: Option<Uuid>,
    pub size: usize,
    pub after: Option<ContactCursor>,
}

const TOKEN_PURPOSE: &str = "ListPartyContacts.page_token";
/// Hex characters of the MAC kept in a token: 128 bits.
const MAC_CHARS: usize = 32;

/// Checks every field of a `ListPartyContacts` request; every violation at once.
pub fn contact_query(
    req: &pb::ListPartyContactsRequest,
    tenant: &TenantId,
    pseudonymiser: &Pseudonymiser,
) -> Result<ContactQuery, Violations> {
    let mut v = Violations::default();
    let identifiers = collect(
        &mut v,
        nested(
            "identifiers",
            required_identifiers(req.identifiers.as_ref(), pseudonymiser),
        ),
    );
    let case_id = match optional_uuid(&req.case_id) {
        Ok(id) => id,
        Err(why) => {
            v.add("case_id", why);
            None
        }
    };
    let size = match usize::try_from(req.page_size) {
        Err(_) => {
            v.add("page_size", "must not be negative");
            0
        }
        Ok(0) => DEFAULT_PAGE_SIZE,
        Ok(n) => n.min(MAX_PAGE_SIZE),
    };
    let (Some(identifiers), true) = (identifiers, v.is_empty()) else {
        return Err(v);
    };
    let after = if req.page_token.is_empty() {
        None
    } else {
        let scope = scope(tenant, &identifiers, case_id);
        match read_token(&req.page_token, &scope, pseudonymiser) {
            Some(cursor) => Some(cursor),
            None => {
                return Err(Violations::one(
                    "page_token",
                    "is not a next_page_token given for these identifiers and case_id",
                ));
            }
        }
    };
    Ok(ContactQuery {
        identifiers,
        case_id,
        size,
        after,
    })
}

/// What a token is bound to: the tenant, the identifiers' keyed hashes (sorted, so their
/// order in the request does not matter) and the case asked for.
fn scope(tenant: &TenantId, identifiers: &[IdentKey], case_id: Option<Uuid>) -> String {
    let mut hashes: Vec<String> = identifiers
        .iter()
        .map(|k| format!("{}:{}", k.kind.as_str(), k.hash))
        .collect();
    hashes.sort();
    format!(
        "{}\0{}\0{}",
        tenant.as_str(),
        hashes.join(","),
        case_id.map(|c| c.to_string()).unwrap_or_default()
    )
}

fn position(cursor: &ContactCursor) -> String {
    format!(
        "{}.{}",
        cursor.started_at.timestamp_micros(),
        cursor.contact_id.simple()
    )
}

fn mac(pseudonymiser: &Pseudonymiser, scope: &str, position: &str) -> String {
    let mut mac =
        pseudonymiser.fingerprint(TOKEN_PURPOSE, format!("{scope}\0{position}").as_bytes());
    mac.truncate(MAC_CHARS);
    mac
}

/// The `next_page_token` for a page that ends at `cursor`.
pub fn next_token(
    cursor: &ContactCursor,
    tenant: &TenantId,
    identifiers: &[IdentKey],
    case_id: Option<Uuid>,
    pseudonymiser: &Pseudonymiser,
) -> String {
    let position = position(cursor);
    let mac = mac(
        pseudonymiser,
        &scope(tenant, identifiers, case_id),
        &position,
    );
    format!("{position}.{mac}")
}

fn read_token(token: &str, scope: &str, pseudonymiser: &Pseudonymiser) -> Option<ContactCursor> {
    let (given_position, given) = token.rsplit_once('.')?;
    let (micros, id) = given_position.split_once('.')?;
    let cursor = ContactCursor {
        started_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        contact_id: Uuid::try_parse(id).ok()?,
    };
    // Compared on the canonical form, so only a token this service wrote passes.
    let canonical = position(&cursor);
    let expected = mac(pseudonymiser, scope, &canonical);
    (given_position == canonical && constant_time_eq(given, &expected)).then_some(cursor)
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
    use midoffice_domain::identifier::IdentifierKind;

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
        let token = next_token(&cursor(), &t, &ids, None, &p);
        let scope_of = |t: &TenantId, ids: &[IdentKey], case| scope(t, ids, case);
        assert_eq!(
            read_token(&token, &scope_of(&t, &ids, None), &p),
            Some(cursor())
        );
        // Another party, case, tenant or secret: refused.
        assert_eq!(
            read_token(&token, &scope_of(&t, &[key("h2")], None), &p),
            None
        );
        let case = Some(Uuid::from_u128(7));
        assert_eq!(read_token(&token, &scope_of(&t, &ids, case), &p), None);
        let other = TenantId::parse("gemeente-b").unwrap();
        assert_eq!(read_token(&token, &scope_of(&other, &ids, None), &p), None);
        let q = Pseudonymiser::new(b"another secret of enough length!");
        assert_eq!(read_token(&token, &scope_of(&t, &ids, None), &q), None);
    }

    #[test]
    fn a_changed_or_malformed_token_is_refused() {
        let p = Pseudonymiser::new(b"a test secret of enough length!!");
        let t = TenantId::parse("gemeente-a").unwrap();
        let ids = [key("h1")];
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
            assert_eq!(read_token(bad, &s, &p), None, "{bad:?}");
        }
    }
}
