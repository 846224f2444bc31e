//! Identifiers (bsn, kvk, email, phone): parse, normalise, and pseudonymise.
//!
//! SKELETON: signatures are fixed; bodies to be written (with unit and property tests).

use crate::Violations;
use serde::{Deserialize, Serialize};

/// The kind of an identifier. `bsn` and `kvk` are strong; `email` and `phone` weak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IdentifierKind {
    Bsn,
    Kvk,
    Email,
    Phone,
}

impl IdentifierKind {
    /// Whether the kind is strong (bsn, kvk).
    pub fn is_strong(self) -> bool {
        matches!(self, IdentifierKind::Bsn | IdentifierKind::Kvk)
    }

    /// The lower-case name: `bsn`, `kvk`, `email`, `phone` (also the request field name).
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::Bsn => "bsn",
            IdentifierKind::Kvk => "kvk",
            IdentifierKind::Email => "email",
            IdentifierKind::Phone => "phone",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Bsn, Self::Kvk, Self::Email, Self::Phone]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

/// A valid identifier in normal form. The only constructor is [`Identifier::parse`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identifier {
    kind: IdentifierKind,
    normal: String,
}

impl std::fmt::Debug for Identifier {
    // Never print the value: a BSN must not reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identifier({}, <redacted>)", self.kind.as_str())
    }
}

impl Identifier {
    /// Parses and normalises `raw` as `kind`; the error says why, without echoing the value.
    pub fn parse(kind: IdentifierKind, raw: &str) -> Result<Self, String> {
        let _ = (kind, raw);
        todo!()
    }

    /// The kind.
    pub fn kind(&self) -> IdentifierKind {
        self.kind
    }

    /// The normal form (see DOMAIN.md); never log it.
    pub fn normal(&self) -> &str {
        &self.normal
    }

    /// For a BSN, the display form `******333`; `None` for other kinds.
    pub fn masked(&self) -> Option<String> {
        todo!()
    }
}

/// Parses the identifiers of a request (empty strings are absent). Refuses invalid
/// values and two strong identifiers, naming the field (`bsn`, `kvk`, `email`, `phone`).
pub fn parse_identifiers(
    bsn: &str,
    kvk: &str,
    email: &str,
    phone: &str,
) -> Result<Vec<Identifier>, Violations> {
    let _ = (bsn, kvk, email, phone);
    todo!()
}

/// An identifier as stored: its kind and keyed hash (hex HMAC-SHA256), and for a BSN its
/// masked display form. Carries no clear value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdentKey {
    pub kind: IdentifierKind,
    pub hash: String,
    pub display: Option<String>,
}

/// Keyed hashing of identifiers with the per-deployment secret.
#[derive(Clone)]
pub struct Pseudonymiser {
    key: Vec<u8>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(<secret>)")
    }
}

impl Pseudonymiser {
    /// A pseudonymiser with this secret key.
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// The stored form of an identifier.
    pub fn key(&self, id: &Identifier) -> IdentKey {
        let _ = (&self.key, id);
        todo!()
    }
}
