//! The signed summary of a participant's benchmark figures for a period, as
//! `midoffice benchmark export` writes it and `midoffice benchmark import` reads it
//! (`docs/benchmark.md`, "The summary").
//!
//! A summary is two lines of UTF-8 text, each ending in `\n`:
//!
//! ```text
//! {"format":"midoffice-benchmark-summary","version":1,...}
//! ed25519 <the signature of the first line's bytes (without its \n), standard base64>
//! ```
//!
//! The first line is the canonical serialization of [`Summary`]: JSON with its fields in
//! a fixed order, no spaces, whole numbers only, metrics sorted by id and version. A
//! summary is accepted only when its signature verifies against the public key
//! configured for the participant it names and its first line is exactly the canonical
//! form of what it says, so every byte of it is covered. It carries counts only: no
//! personal data.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use midoffice_domain::Code;
use midoffice_domain::benchmark::{BenchmarkPeriod, Count, MetricRef, Participant, Registration};
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` of a summary.
pub const FORMAT: &str = "midoffice-benchmark-summary";
/// The version of the summary format this build writes and reads. Version 1 lines are
/// also kept for good as composed groups' members (`benchmark_member.line`, golden
/// sample `tests/golden/benchmark-member-v1.json`): a future version must keep a
/// reader for version 1 lines.
pub const VERSION: u32 = 1;
/// The largest summary read, in bytes (a summary of every metric is about 3 KB).
pub const MAX_SUMMARY_BYTES: usize = 64 * 1024;
/// The most metrics a summary may carry.
pub const MAX_METRICS: usize = 200;

/// A participant's benchmark figures for a period.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub participant: Code,
    pub group: Code,
    pub period: BenchmarkPeriod,
    /// The figures as known at this instant (whole seconds).
    pub as_of: DateTime<Utc>,
    /// Inhabitants, or the stated population.
    pub size: u64,
    /// Whether the participant chose to be named on public pages.
    pub named: bool,
    pub registration: Registration,
    pub counts: BTreeMap<MetricRef, Count>,
}

impl Summary {
    /// The participant as group figures take it.
    pub fn participant(&self) -> Participant {
        Participant {
            id: self.participant.clone(),
            size: self.size,
            named: self.named,
            registration: self.registration,
            counts: self.counts.clone(),
        }
    }
}

/// Why a summary is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SummaryError {
    #[error("not a benchmark summary: {0}")]
    Malformed(String),
    #[error("summary format version {0} is not known (this build reads version {VERSION})")]
    UnknownVersion(u64),
    #[error("no public key is configured for participant {0}")]
    UnknownParticipant(String),
    #[error(
        "the signature does not verify with participant {0}'s public key: the summary was changed or signed with another key"
    )]
    BadSignature(String),
    #[error("the summary is not in its canonical form")]
    NotCanonical,
    #[error("the summary's {field} {reason}")]
    Invalid { field: String, reason: String },
}

/// The private key a deployment signs its summaries with: Ed25519, PKCS#8 (v1 as
/// OpenSSL writes it, or v2 as ring does) in standard base64.
pub struct SigningKey(Ed25519KeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo, before the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

impl SigningKey {
    /// A new key, as base64 PKCS#8 v2 (what `midoffice benchmark keygen` would print).
    pub fn generate() -> Result<String, SummaryError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| SummaryError::Malformed("no key could be generated".into()))?;
        Ok(STANDARD.encode(doc.as_ref()))
    }

    /// The key from base64 PKCS#8 (surrounding white space ignored).
    pub fn from_pkcs8_base64(text: &str) -> Result<Self, SummaryError> {
        let bad = || SummaryError::Invalid {
            field: "private key".into(),
            reason: "is not an Ed25519 key in base64 PKCS#8".into(),
        };
        let der = STANDARD.decode(text.trim()).map_err(|_| bad())?;
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map(SigningKey)
            .map_err(|_| bad())
    }

    /// Its public key, 32 raw bytes in base64: what the other deployments configure.
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.0.public_key().as_ref())
    }
}

/// A participant's public key: Ed25519, 32 raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// The key from base64 of its 32 raw bytes, or of its DER SubjectPublicKeyInfo (as
    /// `openssl pkey -pubout -outform DER` writes it).
    pub fn from_base64(text: &str) -> Result<Self, SummaryError> {
        let bad = || SummaryError::Invalid {
            field: "public key".into(),
            reason:
                "is not an Ed25519 public key: 32 bytes (or its SubjectPublicKeyInfo) in base64"
                    .into(),
        };
        let bytes = STANDARD.decode(text.trim()).map_err(|_| bad())?;
        let raw = match bytes.len() {
            32 => &bytes[..],
            44 if bytes[..12] == SPKI_PREFIX => &bytes[12..],
            _ => return Err(bad()),
        };
        let mut key = [0; 32];
        key.copy_from_slice(raw);
        Ok(PublicKey(key))
    }
}

/// The wire form of a summary: the field order here is the canonical order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: String,
    version: u64,
    participant: String,
    group: String,
    period: String,
    as_of: String,
    size: u64,
    named: bool,
    registration: WireRegistration,
    metrics: Vec<WireMetric>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRegistration {
    contacts: u64,
    anonymous: u64,
    without_outcome: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMetric {
    id: String,
    version: u32,
    numerator: u64,
    denominator: u64,
    items: u64,
}

fn wire(summary: &Summary) -> Wire {
    Wire {
        format: FORMAT.into(),
        version: u64::from(VERSION),
        participant: summary.participant.as_str().into(),
        group: summary.group.as_str().into(),
        period: summary.period.key(),
        as_of: summary.as_of.to_rfc3339_opts(SecondsFormat::Secs, true),
        size: summary.size,
        named: summary.named,
        registration: WireRegistration {
            contacts: summary.registration.contacts,
            anonymous: summary.registration.anonymous,
            without_outcome: summary.registration.without_outcome,
        },
        metrics: summary
            .counts
            .iter()
            .map(|(r, c)| WireMetric {
                id: r.id.clone(),
                version: r.version,
                numerator: c.numerator,
                denominator: c.denominator,
                items: c.items,
            })
            .collect(),
    }
}

/// The canonical first line of a summary.
pub fn canonical(summary: &Summary) -> String {
    serde_json::to_string(&wire(summary))
        .unwrap_or_else(|_| unreachable!("a summary of strings and numbers serializes"))
}

/// The summary as a file: its canonical line and its signature line.
pub fn sign(summary: &Summary, key: &SigningKey) -> String {
    let line = canonical(summary);
    let signature = key.0.sign(line.as_bytes());
    format!("{line}\ned25519 {}\n", STANDARD.encode(signature.as_ref()))
}

/// The summary in `text`, once its signature verifies against the key `keys` holds for
/// the participant it names; refused otherwise, and when any byte differs from what was
/// signed or from the canonical form.
pub fn verify(text: &str, keys: &BTreeMap<Code, PublicKey>) -> Result<Summary, SummaryError> {
    if text.len() > MAX_SUMMARY_BYTES {
        return Err(SummaryError::Malformed(format!(
            "longer than {MAX_SUMMARY_BYTES} bytes"
        )));
    }
    let malformed = |what: &str| SummaryError::Malformed(what.into());
    let (line, rest) = text
        .split_once('\n')
        .ok_or_else(|| malformed("a summary line and a signature line are expected"))?;
    let signature = rest
        .strip_suffix('\n')
        .and_then(|s| s.strip_prefix("ed25519 "))
        .filter(|s| !s.contains('\n'))
        .ok_or_else(|| malformed("the second and last line must be `ed25519 <signature>`"))?;
    let signature = STANDARD
        .decode(signature)
        .map_err(|_| malformed("the signature is not standard base64"))?;
    let (participant, wire) = read_line(line)?;
    let key = keys
        .get(&participant)
        .ok_or_else(|| SummaryError::UnknownParticipant(participant.as_str().into()))?;
    UnparsedPublicKey::new(&ED25519, &key.0)
        .verify(line.as_bytes(), &signature)
        .map_err(|_| SummaryError::BadSignature(participant.as_str().into()))?;
    checked(line, participant, wire)
}

/// The summary of a canonical line the store made or kept after verifying it (a
/// composed group's members, `benchmark_member`): read as [`verify`] reads it, without
/// a signature to check.
pub fn parse_canonical(line: &str) -> Result<Summary, SummaryError> {
    let (participant, wire) = read_line(line)?;
    checked(line, participant, wire)
}

/// A summary line's wire form and participant, of the known format and version.
fn read_line(line: &str) -> Result<(Code, Wire), SummaryError> {
    let wire: Wire = serde_json::from_str(line)
        .map_err(|e| SummaryError::Malformed(format!("the summary line: {e}")))?;
    if wire.format != FORMAT {
        return Err(SummaryError::Malformed(
            "its format is not midoffice-benchmark-summary".into(),
        ));
    }
    if wire.version != u64::from(VERSION) {
        return Err(SummaryError::UnknownVersion(wire.version));
    }
    let participant = code("participant", &wire.participant)?;
    Ok((participant, wire))
}

/// The summary `wire` says, when valid and `line` is exactly its canonical form.
fn checked(line: &str, participant: Code, wire: Wire) -> Result<Summary, SummaryError> {
    let summary = from_wire(participant, wire)?;
    if canonical(&summary) != line {
        return Err(SummaryError::NotCanonical);
    }
    Ok(summary)
}

fn invalid(field: &str, reason: impl Into<String>) -> SummaryError {
    SummaryError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

fn code(field: &str, raw: &str) -> Result<Code, SummaryError> {
    Code::parse(raw).map_err(|e| invalid(field, e))
}

fn from_wire(participant: Code, wire: Wire) -> Result<Summary, SummaryError> {
    let group = code("group", &wire.group)?;
    let period = BenchmarkPeriod::parse(&wire.period).map_err(|e| invalid("period", e))?;
    let as_of = DateTime::parse_from_rfc3339(&wire.as_of)
        .map_err(|_| {
            invalid(
                "as_of",
                "must be an RFC 3339 instant such as 2026-04-01T00:00:00Z",
            )
        })?
        .with_timezone(&Utc);
    let r = wire.registration;
    if r.anonymous > r.contacts || r.without_outcome > r.contacts {
        return Err(invalid(
            "registration",
            "counts more anonymous contacts or contacts without outcome than contacts",
        ));
    }
    if wire.metrics.len() > MAX_METRICS {
        return Err(invalid("metrics", format!("must be at most {MAX_METRICS}")));
    }
    let mut counts = BTreeMap::new();
    for m in wire.metrics {
        code("metrics.id", &m.id)?;
        if m.version == 0 {
            return Err(invalid("metrics.version", "must be at least 1"));
        }
        let reference = MetricRef {
            id: m.id,
            version: m.version,
        };
        let count = Count {
            numerator: m.numerator,
            denominator: m.denominator,
            items: m.items,
        };
        if counts.insert(reference, count).is_some() {
            return Err(invalid("metrics", "names a metric and version twice"));
        }
    }
    Ok(Summary {
        participant,
        group,
        period,
        as_of,
        size: wire.size,
        named: wire.named,
        registration: Registration {
            contacts: r.contacts,
            anonymous: r.anonymous,
            without_outcome: r.without_outcome,
        },
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use midoffice_domain::benchmark::metrics;

    fn code(s: &str) -> Code {
        Code::parse(s).unwrap()
    }

    fn summary() -> Summary {
        Summary {
            participant: code("gemeente-a"),
            group: code("g4-plus"),
            period: BenchmarkPeriod::Quarter {
                year: 2026,
                quarter: 1,
            },
            as_of: Utc.with_ymd_and_hms(2026, 4, 2, 3, 0, 0).unwrap(),
            size: 81_000,
            named: true,
            registration: Registration {
                contacts: 12_000,
                anonymous: 3_000,
                without_outcome: 120,
            },
            counts: metrics()
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let n = i as u64;
                    (
                        m.reference(),
                        Count {
                            numerator: 10 * n,
                            denominator: 100 + n,
                            items: 100 + n,
                        },
                    )
                })
                .collect(),
        }
    }

    fn key() -> SigningKey {
        SigningKey::from_pkcs8_base64(&SigningKey::generate().unwrap()).unwrap()
    }

    fn keys_of(participant: &str, key: &SigningKey) -> BTreeMap<Code, PublicKey> {
        [(
            code(participant),
            PublicKey::from_base64(&key.public_key_base64()).unwrap(),
        )]
        .into_iter()
        .collect()
    }

    #[test]
    fn a_signed_summary_round_trips() {
        let key = key();
        let text = sign(&summary(), &key);
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with(
            r#"{"format":"midoffice-benchmark-summary","version":1,"participant":"gemeente-a","group":"g4-plus","period":"2026-Q1","as_of":"2026-04-02T03:00:00Z","size":81000,"named":true,"registration":{"contacts":12000,"anonymous":3000,"without_outcome":120},"metrics":[{"id":"#
        ));
        let back = verify(&text, &keys_of("gemeente-a", &key)).unwrap();
        assert_eq!(back, summary());
        assert_eq!(back.participant().counts, summary().counts);
        // The same summary signs to the same text (Ed25519 is deterministic).
        assert_eq!(sign(&back, &key), text);
    }

    #[test]
    fn a_canonical_line_parses_back_without_a_signature() {
        let line = canonical(&summary());
        assert_eq!(parse_canonical(&line), Ok(summary()));
        let spaced = line.replacen(r#""size":81000"#, r#""size": 81000"#, 1);
        assert_eq!(parse_canonical(&spaced), Err(SummaryError::NotCanonical));
        assert!(matches!(
            parse_canonical(&line.replacen("g4-plus", "G4 plus", 1)),
            Err(SummaryError::Invalid { field, .. }) if field == "group"
        ));
    }

    #[test]
    fn a_change_of_any_byte_is_refused() {
        let key = key();
        let keys = keys_of("gemeente-a", &key);
        let text = sign(&summary(), &key);
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x20] {
                let mut changed = bytes.to_vec();
                changed[i] ^= flip;
                if let Ok(changed) = String::from_utf8(changed) {
                    assert!(
                        verify(&changed, &keys).is_err(),
                        "byte {i} ^ {flip:#x} accepted"
                    );
                }
            }
        }
        // Nothing added or left out either.
        assert!(verify(&format!("{text}\n"), &keys).is_err());
        assert!(verify(&format!(" {text}"), &keys).is_err());
        assert!(verify(text.trim_end(), &keys).is_err());
    }

    #[test]
    fn a_changed_figure_names_the_signature_as_the_reason() {
        let key = key();
        let text = sign(&summary(), &key);
        let changed = text.replacen(r#""size":81000"#, r#""size":18000"#, 1);
        assert_eq!(
            verify(&changed, &keys_of("gemeente-a", &key)),
            Err(SummaryError::BadSignature("gemeente-a".into()))
        );
    }

    #[test]
    fn a_valid_signature_by_another_key_is_refused() {
        let (ours, theirs) = (key(), key());
        let text = sign(&summary(), &theirs);
        assert_eq!(
            verify(&text, &keys_of("gemeente-a", &ours)),
            Err(SummaryError::BadSignature("gemeente-a".into()))
        );
        // Signed by another participant's configured key: still not this one's.
        let mut keys = keys_of("gemeente-a", &ours);
        keys.extend(keys_of("gemeente-b", &theirs));
        assert!(matches!(
            verify(&text, &keys),
            Err(SummaryError::BadSignature(_))
        ));
        // A participant with no configured key.
        assert_eq!(
            verify(&text, &keys_of("gemeente-b", &theirs)),
            Err(SummaryError::UnknownParticipant("gemeente-a".into()))
        );
    }

    #[test]
    fn a_signed_but_not_canonical_or_invalid_summary_is_refused() {
        let key = key();
        let keys = keys_of("gemeente-a", &key);
        let signed = |line: &str| {
            format!(
                "{line}\ned25519 {}\n",
                STANDARD.encode(key.0.sign(line.as_bytes()).as_ref())
            )
        };
        let line = canonical(&summary());
        assert!(verify(&signed(&line), &keys).is_ok());
        let spaced = line.replacen(r#""size":81000"#, r#""size": 81000"#, 1);
        assert_eq!(
            verify(&signed(&spaced), &keys),
            Err(SummaryError::NotCanonical)
        );
        let later = line.replacen(r#""version":1"#, r#""version":2"#, 1);
        assert_eq!(
            verify(&signed(&later), &keys),
            Err(SummaryError::UnknownVersion(2))
        );
        let extra = line.replacen(r#""named":true"#, r#""named":true,"bsn":"1"#, 1);
        assert!(matches!(
            verify(&signed(&extra), &keys),
            Err(SummaryError::Malformed(_))
        ));
        let mut s = summary();
        s.registration.anonymous = s.registration.contacts + 1;
        assert!(matches!(
            verify(&signed(&canonical(&s)), &keys),
            Err(SummaryError::Invalid { field, .. }) if field == "registration"
        ));
        let period = line.replacen("2026-Q1", "2026-Q5", 1);
        assert!(matches!(
            verify(&signed(&period), &keys),
            Err(SummaryError::Invalid { field, .. }) if field == "period"
        ));
    }

    #[test]
    fn keys_read_as_documented() {
        let key = key();
        let public = key.public_key_base64();
        assert_eq!(STANDARD.decode(&public).unwrap().len(), 32);
        // The SubjectPublicKeyInfo form of the same key.
        let mut spki = SPKI_PREFIX.to_vec();
        spki.extend(STANDARD.decode(&public).unwrap());
        assert_eq!(
            PublicKey::from_base64(&STANDARD.encode(&spki)),
            PublicKey::from_base64(&public)
        );
        assert!(PublicKey::from_base64("AAAA").is_err());
        assert!(SigningKey::from_pkcs8_base64("not a key").is_err());
        // A PKCS#8 v1 key as OpenSSL writes it (`openssl genpkey -algorithm ed25519`,
        // then `openssl pkey -outform DER | base64`), and its public key as
        // `openssl pkey -pubout -outform DER | base64` writes it.
        let v1 = "MC4CAQAwBQYDK2VwBCIEIAUJfhFck6s8VtSxr7kHkYaq/8wwAojhJ5xWnMCjVe+K";
        let spki = "MCowBQYDK2VwAyEAr8pSGIDXZOphn6bxJCbt4NcpaZN3OolTg87LjN9Vw1s=";
        let key = SigningKey::from_pkcs8_base64(v1).unwrap();
        assert_eq!(
            PublicKey::from_base64(&key.public_key_base64()),
            PublicKey::from_base64(spki)
        );
        let text = sign(&summary(), &key);
        let keys = [(code("gemeente-a"), PublicKey::from_base64(spki).unwrap())].into();
        assert_eq!(verify(&text, &keys), Ok(summary()));
        assert_eq!(format!("{key:?}"), "SigningKey(..)");
    }
}
