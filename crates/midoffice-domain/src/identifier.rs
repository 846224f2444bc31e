//! Identifiers (bsn, kvk, email, phone): parse, normalise, and pseudonymise.
//!
//! Errors say why a value is refused in plain words and never echo the value: a BSN
//! must not reach an error message or a log.

use crate::Violations;
use crate::limits::MAX_EMAIL_LEN;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The kind of an identifier. `bsn` and `kvk` are strong; `email` and `phone` weak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
        let raw = raw.trim();
        let normal = match kind {
            IdentifierKind::Bsn => normalise_bsn(raw)?,
            IdentifierKind::Kvk => normalise_kvk(raw)?,
            IdentifierKind::Email => normalise_email(raw)?,
            IdentifierKind::Phone => normalise_phone(raw)?,
        };
        Ok(Identifier { kind, normal })
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
        match self.kind {
            IdentifierKind::Bsn => {
                let tail = &self.normal[self.normal.len().saturating_sub(3)..];
                Some(format!("******{tail}"))
            }
            _ => None,
        }
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
    let mut violations = Violations::default();
    let mut found = Vec::new();
    let fields = [
        (IdentifierKind::Bsn, bsn),
        (IdentifierKind::Kvk, kvk),
        (IdentifierKind::Email, email),
        (IdentifierKind::Phone, phone),
    ];
    for (kind, raw) in fields {
        if is_absent(raw) {
            continue;
        }
        match Identifier::parse(kind, raw) {
            Ok(id) => found.push(id),
            Err(why) => violations.add(kind.as_str(), why),
        }
    }
    if !is_absent(bsn) && !is_absent(kvk) {
        violations.add(
            IdentifierKind::Kvk.as_str(),
            "only one strong identifier (bsn or kvk) may be given",
        );
    }
    if violations.is_empty() {
        Ok(found)
    } else {
        Err(violations)
    }
}

/// An empty (or blank) request field is an absent identifier.
fn is_absent(raw: &str) -> bool {
    raw.trim().is_empty()
}

fn all_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn normalise_bsn(raw: &str) -> Result<String, String> {
    if !all_ascii_digits(raw) {
        return Err("a bsn must consist of 9 digits only".into());
    }
    let normal = match raw.len() {
        9 => raw.to_string(),
        8 => format!("0{raw}"),
        _ => return Err("a bsn must have 9 digits (or 8 with the leading zero left out)".into()),
    };
    let digits: Vec<i64> = normal.bytes().map(|b| i64::from(b - b'0')).collect();
    if digits.iter().all(|&d| d == 0) {
        return Err("a bsn may not be all zeros".into());
    }
    let sum: i64 = digits[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(d, w)| d * w)
        .sum::<i64>()
        - digits[8];
    if sum % 11 != 0 {
        return Err("not a valid bsn: it fails the eleven test".into());
    }
    Ok(normal)
}

fn normalise_kvk(raw: &str) -> Result<String, String> {
    if !all_ascii_digits(raw) || raw.len() != 8 {
        return Err("a kvk number must consist of exactly 8 digits".into());
    }
    Ok(raw.to_string())
}

pub(crate) fn normalise_email(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("an e-mail address may not be empty".into());
    }
    if raw.len() > MAX_EMAIL_LEN {
        return Err(format!(
            "an e-mail address may be at most {MAX_EMAIL_LEN} characters long"
        ));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("an e-mail address may not contain spaces".into());
    }
    let mut parts = raw.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("an e-mail address must contain exactly one @".into());
    };
    if local.is_empty() {
        return Err("an e-mail address needs a name before the @".into());
    }
    if !domain.contains('.') {
        return Err("the domain of an e-mail address must contain a dot".into());
    }
    if domain.split('.').any(str::is_empty) {
        return Err(
            "the domain of an e-mail address may not start or end with a dot or have two dots in a row"
                .into(),
        );
    }
    Ok(raw.to_lowercase())
}

/// Why a text is not a phone number, in general.
const PHONE_SHAPE: &str = "a phone number must start with +, 00 or 0 and contain only digits, \
                           with spaces, dashes, dots or round brackets between them";

/// The most digits a country code has (E.164).
const MAX_COUNTRY_CODE_DIGITS: usize = 3;

/// A run of digits in a phone number as written, and whether it stood in round brackets.
struct DigitGroup {
    digits: String,
    bracketed: bool,
}

/// Splits a phone number as people write it into its digit groups, refusing what is not
/// one: it starts with `+` and a digit, with a digit, or with a bracket group; it ends
/// with a digit; between groups stand spaces with at most one dash or dot; a bracket
/// group holds only digits, is not empty and does not nest. Returns whether it began
/// with `+`, and the groups.
fn phone_groups(raw: &str) -> Result<(bool, Vec<DigitGroup>), String> {
    const DOUBLED: &str = "a phone number may have only one dash or dot between two digits";
    const BRACKETS: &str = "a phone number has unbalanced or empty round brackets";
    let (plus, body) = match raw.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    // After a `+` comes the country code itself, not a separator or a bracket.
    if !body.starts_with(|c: char| c.is_ascii_digit() || (!plus && c == '(')) {
        return Err(PHONE_SHAPE.into());
    }
    if !body.ends_with(|c: char| c.is_ascii_digit()) {
        return Err(PHONE_SHAPE.into());
    }
    let mut groups: Vec<DigitGroup> = Vec::new();
    let mut open = false;
    // Since the last digit or bracket: whether a separator came, and a dash or dot.
    let mut separated = true;
    let mut punctuation = false;
    for c in body.chars() {
        match c {
            '0'..='9' => {
                match groups.last_mut() {
                    Some(g) if open || (!g.bracketed && !separated) => g.digits.push(c),
                    _ => groups.push(DigitGroup {
                        digits: c.to_string(),
                        bracketed: false,
                    }),
                }
                separated = false;
                punctuation = false;
            }
            '(' if open => return Err("a phone number may not nest round brackets".into()),
            '(' => {
                open = true;
                groups.push(DigitGroup {
                    digits: String::new(),
                    bracketed: true,
                });
            }
            ')' if !open || groups.last().is_none_or(|g| g.digits.is_empty()) => {
                return Err(BRACKETS.into());
            }
            ')' => {
                open = false;
                // What follows a bracket group starts a new group.
                separated = true;
                punctuation = false;
            }
            ' ' | '-' | '.' if open => {
                return Err("a phone number may only have digits between round brackets".into());
            }
            ' ' => separated = true,
            '-' | '.' if punctuation => return Err(DOUBLED.into()),
            '-' | '.' => {
                separated = true;
                punctuation = true;
            }
            _ => return Err(PHONE_SHAPE.into()),
        }
    }
    if open {
        return Err(BRACKETS.into());
    }
    Ok((plus, groups))
}

pub(crate) fn normalise_phone(raw: &str) -> Result<String, String> {
    let (plus, groups) = phone_groups(raw)?;
    let all: String = groups.iter().map(|g| g.digits.as_str()).collect();
    let e164 = if plus {
        international_digits(&groups, 0)
    } else if all.starts_with("00") {
        international_digits(&groups, 2)
    } else if let Some(national) = all.strip_prefix('0') {
        // A leading single 0 is the Dutch trunk prefix.
        format!("31{national}")
    } else {
        return Err(PHONE_SHAPE.into());
    };
    if !(8..=15).contains(&e164.len()) {
        return Err("a phone number must have 8 to 15 digits in international form".into());
    }
    Ok(format!("+{e164}"))
}

/// The digits of an international number after its prefix (`prefix` digits: none after
/// `+`, two for `00`). A `(0)` right after the country code (1 to 3 digits written
/// together, as in `+31 (0)6` or `0031(0)6`) is the national trunk prefix, which is not
/// dialled from abroad: it is left out.
fn international_digits(groups: &[DigitGroup], prefix: usize) -> String {
    let mut out = String::new();
    let mut trunk_dropped = false;
    for (i, g) in groups.iter().enumerate() {
        let trunk = !trunk_dropped
            && g.bracketed
            && g.digits == "0"
            && i > 0
            && follows_country_code(&groups[..i], prefix);
        if trunk {
            trunk_dropped = true;
        } else {
            out.push_str(&g.digits);
        }
    }
    // The prefix digits come first in `out` (a dropped trunk comes after them).
    out.split_off(prefix.min(out.len()))
}

/// Whether `before` (the groups before a bracket group) ends with the country code
/// written as one run: after the `prefix` digits, 1 to 3 digits, all in the last group.
fn follows_country_code(before: &[DigitGroup], prefix: usize) -> bool {
    let written: usize = before.iter().map(|g| g.digits.len()).sum();
    let country_code = written.saturating_sub(prefix);
    before.last().is_some_and(|last| {
        !last.bracketed
            && written > prefix
            && country_code <= MAX_COUNTRY_CODE_DIGITS
            && last.digits.len() >= country_code
    })
}

/// An identifier as stored: its kind and keyed hash (hex HMAC-SHA256), and for a BSN its
/// masked display form. Carries no clear value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdentKey {
    pub kind: IdentifierKind,
    pub hash: String,
    pub display: Option<String>,
}

/// Keyed hashing of identifiers (and of requests holding them) with the per-deployment
/// secret: an unkeyed hash of a BSN can be brute-forced, a keyed one cannot.
#[derive(Clone)]
pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(<secret>)")
    }
}

impl Pseudonymiser {
    /// A pseudonymiser with this secret key.
    pub fn new(key: &[u8]) -> Self {
        // HMAC accepts a key of any length; this runs once, at start-up.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts a key of any length"));
        Self { mac }
    }

    /// The stored form of an identifier.
    pub fn key(&self, id: &Identifier) -> IdentKey {
        IdentKey {
            kind: id.kind,
            hash: self.hash(&[id.kind.as_str().as_bytes(), b":", id.normal.as_bytes()]),
            display: id.masked(),
        }
    }

    /// A keyed fingerprint of a request (for idempotency), which may hold identifiers:
    /// hex HMAC-SHA256 over `fingerprint:<operation>\0<bytes>`.
    pub fn fingerprint(&self, operation: &str, bytes: &[u8]) -> String {
        self.hash(&[b"fingerprint:", operation.as_bytes(), &[0], bytes])
    }

    /// Hex HMAC-SHA256 over the parts, in order.
    fn hash(&self, parts: &[&[u8]]) -> String {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(kind: IdentifierKind, raw: &str) -> Result<Identifier, String> {
        Identifier::parse(kind, raw)
    }

    fn normal(kind: IdentifierKind, raw: &str) -> String {
        parse(kind, raw)
            .unwrap_or_else(|e| panic!("{} should be valid: {e}", kind.as_str()))
            .normal()
            .to_string()
    }

    /// Asserts `raw` is refused as `kind` and the error does not echo it.
    fn refused(kind: IdentifierKind, raw: &str) -> String {
        let err = parse(kind, raw).expect_err("should be invalid");
        let trimmed = raw.trim();
        if trimmed.len() >= 3 {
            assert!(!err.contains(trimmed), "error echoes the value: {err}");
        }
        assert!(!err.is_empty());
        err
    }

    /// A valid 9-digit BSN for the first eight digits, if one exists.
    fn complete_bsn(first8: &str) -> Option<String> {
        let sum: u32 = first8
            .bytes()
            .zip((2..=9).rev())
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        let check = sum % 11;
        (check <= 9).then(|| format!("{first8}{check}"))
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in [
            IdentifierKind::Bsn,
            IdentifierKind::Kvk,
            IdentifierKind::Email,
            IdentifierKind::Phone,
        ] {
            assert_eq!(IdentifierKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(IdentifierKind::parse("BSN"), None);
        assert!(IdentifierKind::Bsn.is_strong() && IdentifierKind::Kvk.is_strong());
        assert!(!IdentifierKind::Email.is_strong() && !IdentifierKind::Phone.is_strong());
    }

    #[test]
    fn bsn_valid_examples() {
        for raw in [
            "999990019",
            "999990032",
            "999990044",
            "999990056",
            "999990068",
            "999990081",
            "999990093",
            "999990111",
            "999990123",
        ] {
            assert_eq!(normal(IdentifierKind::Bsn, raw), raw);
        }
    }

    #[test]
    fn bsn_is_trimmed() {
        assert_eq!(normal(IdentifierKind::Bsn, "  999990019\n"), "999990019");
    }

    #[test]
    fn bsn_of_eight_digits_gets_a_leading_zero() {
        // A valid BSN that begins with 0, written without it.
        let nine = complete_bsn("01122334").expect("a valid check digit exists");
        let eight = &nine[1..];
        assert_eq!(eight.len(), 8);
        assert_eq!(normal(IdentifierKind::Bsn, eight), nine);
        assert_eq!(normal(IdentifierKind::Bsn, &nine), nine);
    }

    #[test]
    fn bsn_invalid_examples() {
        let err = refused(IdentifierKind::Bsn, "999990018");
        assert!(err.contains("eleven test"), "{err}");
        assert!(refused(IdentifierKind::Bsn, "000000000").contains("zeros"));
        assert!(refused(IdentifierKind::Bsn, "00000000").contains("zeros"));
        refused(IdentifierKind::Bsn, "");
        refused(IdentifierKind::Bsn, "1234567");
        refused(IdentifierKind::Bsn, "9999900190");
        refused(IdentifierKind::Bsn, "99999001a");
        refused(IdentifierKind::Bsn, "9999 90019");
        refused(IdentifierKind::Bsn, "-99990019");
        refused(IdentifierKind::Bsn, "+99990019");
        refused(IdentifierKind::Bsn, "９99990019"); // a full-width digit
    }

    #[test]
    fn kvk_rules() {
        assert_eq!(normal(IdentifierKind::Kvk, "12345678"), "12345678");
        assert_eq!(normal(IdentifierKind::Kvk, " 69599084 "), "69599084");
        for raw in ["1234567", "123456789", "1234567a", "1234 5678", ""] {
            refused(IdentifierKind::Kvk, raw);
        }
    }

    #[test]
    fn email_rules() {
        assert_eq!(
            normal(IdentifierKind::Email, " j.jansen@example.nl"),
            "j.jansen@example.nl"
        );
        assert_eq!(
            normal(IdentifierKind::Email, "J.Jansen@Example.NL"),
            normal(IdentifierKind::Email, " j.jansen@example.nl")
        );
        assert_eq!(normal(IdentifierKind::Email, "a@b.c"), "a@b.c");
        assert_eq!(
            normal(IdentifierKind::Email, "info+kcc@sub.gemeente.nl\t"),
            "info+kcc@sub.gemeente.nl"
        );
        assert!(refused(IdentifierKind::Email, "jan@@example").contains('@'));
        for raw in [
            "",
            "jan",
            "jan@example",
            "@example.nl",
            "jan@example.nl@x.nl",
            "jan jansen@example.nl",
            "jan@exam ple.nl",
            "jan@.example.nl",
            "jan@example.nl.",
            "jan@example..nl",
            "jan@.",
        ] {
            refused(IdentifierKind::Email, raw);
        }
        let long = format!("{}@example.nl", "a".repeat(254 - "@example.nl".len()));
        assert_eq!(long.len(), 254);
        assert!(parse(IdentifierKind::Email, &long).is_ok());
        let too_long = format!("a{long}");
        assert!(refused(IdentifierKind::Email, &too_long).contains("254"));
    }

    #[test]
    fn phone_rules() {
        for (raw, e164) in [
            ("06-12345678", "+31612345678"),
            ("06 2222 3333", "+31622223333"),
            ("0622223333", "+31622223333"),
            ("+31612345678", "+31612345678"),
            ("0031 6 12345678", "+31612345678"),
            ("+31 (0)6 1234 5678", "+31612345678"),
            ("020-555.12.34", "+31205551234"),
            ("  +32 2 123 45 67 ", "+3221234567"),
            ("+1 (555) 123-4567", "+15551234567"),
            ("0123456", "+31123456"), // 8 digits: the minimum
            ("+123456789012345", "+123456789012345"), // 15 digits: the maximum
            // As people write them (DOMAIN.md "Identifiers").
            ("(06) 1234 5678", "+31612345678"),
            ("(020) 123 45 67", "+31201234567"),
            ("(020) 555 1234", "+31205551234"),
            ("020-123 45 67", "+31201234567"),
            ("0032 2 123 45 67", "+3221234567"),
            // The trunk prefix `(0)` right after the country code, after + or 00.
            ("0031 (0)6-12 34 56 78", "+31612345678"),
            ("0031(0)612345678", "+31612345678"),
            ("+31(0)612345678", "+31612345678"),
            ("+31 (0) 6 1234 5678", "+31612345678"),
            ("00 31 (0)20 123 45 67", "+31201234567"),
            ("+358 (0)9 123 4567", "+35891234567"),
            ("0032 (0)2 123 45 67", "+3221234567"),
            // Elsewhere a bracketed 0 is an ordinary digit.
            ("+3120 (0) 1234567", "+312001234567"),
            ("+31 6 (0) 1234 5678", "+316012345678"),
            ("+3 1 (0)6 1234 5678", "+310612345678"),
            ("(0)6 1234 5678", "+31612345678"),
            // Spaces around one dash or dot.
            ("020 - 123 45 67", "+31201234567"),
            ("06  1234  5678", "+31612345678"),
            ("(06)-1234 5678", "+31612345678"),
        ] {
            assert_eq!(normal(IdentifierKind::Phone, raw), e164, "{raw}");
        }
    }

    #[test]
    fn phone_invalid() {
        for raw in [
            "12345",
            "612345678",
            "",
            "+",
            "00",
            "0",
            "012345",            // +3112345: 7 digits
            "+1234567",          // 7 digits
            "+1234567890123456", // 16 digits
            "06-1234567a",
            "06/12345678",
            "06 12345678 ext 2",
            "06-12345678-",
            "06 (1234 5678",
            "06 1234) 5678",
            "06 ((12)) 345678",
            "06 () 12345678",
            "+31 ( 6) 12345678",
            "++31612345678",
            "+31 6+12345678",
            "06 12345678+",
            "(6) 12345678",
            "-06 12345678",
            "(20) 555 1234", // the first digit is not 0
            "(+31) 6 1234 5678",
            "+ 31612345678",
            "+(31)612345678",
            "06 1234 (5678)",
            "0６12345678", // a full-width digit
            // Separators doubled or at the ends.
            "06--12345678",
            "06 - - 12345678",
            "06.-12345678",
            "020..1234567",
            ".0612345678",
            "0612345678.",
            "06 12345678 (",
            "(06 12345678",
            ") 0612345678",
            "()0612345678",
            "+31 (0)",
            "+31 (0)6 1234 5678)",
            "0031 ((0))6 12345678",
            "0031 (0 6) 12345678",
            "+31 (0-6) 12345678",
            "0031\t612345678",
            "00 (0)", // nothing after the prefix
        ] {
            refused(IdentifierKind::Phone, raw);
        }
    }

    #[test]
    fn masked_shows_only_the_last_three_digits_of_a_bsn() {
        let bsn = parse(IdentifierKind::Bsn, "999990019").unwrap();
        assert_eq!(bsn.masked().as_deref(), Some("******019"));
        for (kind, raw) in [
            (IdentifierKind::Kvk, "12345678"),
            (IdentifierKind::Email, "a@b.nl"),
            (IdentifierKind::Phone, "0612345678"),
        ] {
            assert_eq!(parse(kind, raw).unwrap().masked(), None);
        }
    }

    #[test]
    fn debug_never_shows_the_value() {
        let bsn = parse(IdentifierKind::Bsn, "999990019").unwrap();
        let debug = format!("{bsn:?}");
        assert!(
            !debug.contains("999990019") && !debug.contains("019"),
            "{debug}"
        );
        assert!(debug.contains("bsn"));
        let p = Pseudonymiser::new(b"hunter2");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn parse_identifiers_absent_and_order() {
        assert_eq!(parse_identifiers("", "", "", ""), Ok(vec![]));
        assert_eq!(parse_identifiers("  ", "", "", ""), Ok(vec![]));
        let ids = parse_identifiers("999990019", "", "Jan@Example.nl", "06-12345678").unwrap();
        let got: Vec<(IdentifierKind, &str)> = ids.iter().map(|i| (i.kind(), i.normal())).collect();
        assert_eq!(
            got,
            vec![
                (IdentifierKind::Bsn, "999990019"),
                (IdentifierKind::Email, "jan@example.nl"),
                (IdentifierKind::Phone, "+31612345678"),
            ]
        );
        let ids = parse_identifiers("", "12345678", "", "0622223333").unwrap();
        assert_eq!(ids[0].kind(), IdentifierKind::Kvk);
        assert_eq!(ids[1].kind(), IdentifierKind::Phone);
    }

    #[test]
    fn parse_identifiers_names_each_invalid_field_without_the_value() {
        let v = parse_identifiers("999990018", "1234", "jan@@example", "12345").unwrap_err();
        let fields: Vec<&str> = v.0.iter().map(|f| f.field.as_str()).collect();
        assert!(fields.contains(&"bsn"));
        assert!(fields.contains(&"email"));
        assert!(fields.contains(&"phone"));
        assert!(fields.contains(&"kvk"));
        let text = v.to_string();
        for raw in ["999990018", "jan@@example", "12345"] {
            assert!(!text.contains(raw), "{text}");
        }
        let v = parse_identifiers("", "", "", "12345").unwrap_err();
        assert_eq!(v.0.len(), 1);
        assert_eq!(v.0[0].field, "phone");
    }

    #[test]
    fn two_strong_identifiers_are_refused_on_kvk() {
        let v = parse_identifiers("999990019", "12345678", "", "").unwrap_err();
        assert_eq!(v.0.len(), 1);
        assert_eq!(v.0[0].field, "kvk");
        assert!(v.0[0].description.contains("only one strong identifier"));
        assert!(!v.to_string().contains("999990019"));
        assert!(!v.to_string().contains("12345678"));
        // Also when the bsn itself is invalid: both are reported.
        let v = parse_identifiers("999990018", "12345678", "", "").unwrap_err();
        let fields: Vec<&str> = v.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["bsn", "kvk"]);
    }

    #[test]
    fn pseudonymiser_is_keyed_hmac_sha256_of_kind_and_normal_form() {
        let p = Pseudonymiser::new(b"deployment-secret");
        let bsn = parse(IdentifierKind::Bsn, "999990019").unwrap();
        let key = p.key(&bsn);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"deployment-secret").unwrap();
        mac.update(b"bsn:999990019");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(key.hash, expected);
        assert_eq!(key.hash.len(), 64);
        assert!(key.hash.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(key.kind, IdentifierKind::Bsn);
        assert_eq!(key.display.as_deref(), Some("******019"));

        // Equal normal forms hash equal; other key, other kind or other value differ.
        let e1 = parse(IdentifierKind::Email, " j.jansen@example.nl").unwrap();
        let e2 = parse(IdentifierKind::Email, "J.Jansen@Example.NL").unwrap();
        assert_eq!(p.key(&e1), p.key(&e2));
        assert_eq!(p.key(&e1).display, None);
        assert_ne!(Pseudonymiser::new(b"other").key(&e1).hash, p.key(&e1).hash);
        let kvk = parse(IdentifierKind::Kvk, "99999001").unwrap();
        let bsn8 = parse(IdentifierKind::Bsn, "999990019").unwrap();
        assert_ne!(p.key(&kvk).hash, p.key(&bsn8).hash);
        // The stored form carries no clear value.
        let shown = format!("{key:?}");
        assert!(!shown.contains("999990019"), "{shown}");
    }

    /// Strategy: a valid BSN in normal form.
    fn valid_bsn() -> impl Strategy<Value = String> {
        "[0-9]{8}".prop_filter_map("no check digit", |first8| {
            complete_bsn(&first8).filter(|b| b != "000000000")
        })
    }

    /// Strategy: separators that may go between digits.
    fn separator() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just(""),
            Just(" "),
            Just("-"),
            Just("."),
            Just("  "),
            Just(" - ")
        ]
    }

    proptest! {
        #[test]
        fn prop_bsn_normal_form_is_stable(bsn in valid_bsn(), pad in "[ \t]{0,3}") {
            let n = normal(IdentifierKind::Bsn, &format!("{pad}{bsn}{pad}"));
            prop_assert_eq!(&n, &bsn);
            prop_assert_eq!(normal(IdentifierKind::Bsn, &n), n);
        }

        #[test]
        fn prop_bsn_eight_digits_pad(first7 in "[0-9]{7}") {
            // Any 8-digit string whose zero padding is a valid BSN is accepted as that BSN.
            if let Some(nine) = complete_bsn(&format!("0{first7}"))
                && nine != "000000000"
            {
                prop_assert_eq!(normal(IdentifierKind::Bsn, &nine[1..]), nine);
            }
        }

        #[test]
        fn prop_eight_digits_accepted_iff_padding_is_valid(eight in "[0-9]{8}") {
            let padded = format!("0{eight}");
            let valid_padded = Identifier::parse(IdentifierKind::Bsn, &padded).is_ok();
            let result = Identifier::parse(IdentifierKind::Bsn, &eight);
            prop_assert_eq!(result.is_ok(), valid_padded);
            if let Ok(id) = result {
                prop_assert_eq!(id.normal(), padded.as_str());
            } else if let Err(e) = result {
                prop_assert!(!e.contains(&eight));
            }
        }

        #[test]
        fn prop_bsn_single_digit_change_is_caught(bsn in valid_bsn(), pos in 0usize..9, delta in 1u8..10) {
            // The eleven test catches every single-digit error.
            let mut bytes = bsn.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            let err = Identifier::parse(IdentifierKind::Bsn, &changed);
            prop_assert!(err.is_err());
            prop_assert!(!err.unwrap_err().contains(&changed));
        }

        #[test]
        fn prop_any_string_errors_never_echo(kind in 0usize..4, raw in "\\PC{3,40}") {
            let kind = [IdentifierKind::Bsn, IdentifierKind::Kvk, IdentifierKind::Email, IdentifierKind::Phone][kind];
            if let Err(e) = Identifier::parse(kind, &raw) {
                let t = raw.trim();
                if t.chars().count() >= 4 {
                    prop_assert!(!e.contains(t), "{} echoed in {}", t, e);
                }
            }
        }

        #[test]
        fn prop_kvk_normal_form_is_stable(kvk in "[0-9]{8}", pad in " {0,2}") {
            let n = normal(IdentifierKind::Kvk, &format!("{pad}{kvk}{pad}"));
            prop_assert_eq!(&n, &kvk);
            prop_assert_eq!(normal(IdentifierKind::Kvk, &n), n);
        }

        #[test]
        fn prop_email_variants_normalise_equal(
            local in "[a-z0-9][a-z0-9._+-]{0,20}",
            domain in "[a-z0-9-]{1,12}(\\.[a-z0-9-]{1,8}){1,3}",
            upper in proptest::collection::vec(any::<bool>(), 60),
            pad_l in "[ \t\n]{0,3}",
            pad_r in "[ \t\n]{0,3}",
        ) {
            let plain = format!("{local}@{domain}");
            let varied: String = plain
                .chars()
                .zip(upper.iter().cycle())
                .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                .collect();
            let a = normal(IdentifierKind::Email, &plain);
            let b = normal(IdentifierKind::Email, &format!("{pad_l}{varied}{pad_r}"));
            prop_assert_eq!(&a, &plain);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(normal(IdentifierKind::Email, &a), a);
        }

        #[test]
        fn prop_phone_formatting_does_not_matter(
            national in "[1-9][0-9]{6,8}",
            prefix in 0usize..4,
            seps in proptest::collection::vec(separator(), 12),
            bracket in any::<bool>(),
        ) {
            // The same Dutch number written in many ways.
            let digits: Vec<char> = national.chars().collect();
            let mut body = String::new();
            for (i, c) in digits.iter().enumerate() {
                if i > 0 {
                    body.push_str(seps[i % seps.len()]);
                }
                body.push(*c);
            }
            let written = match prefix {
                0 => format!("0{body}"),
                1 => format!("+31{}{body}", seps[0]),
                2 => format!("0031{}{body}", seps[1]),
                _ if bracket => format!("+31 (0){}{body}", seps[2]),
                _ => {
                    // An area code in brackets: "0{d0} ({d1}) {rest}".
                    let rest: String = digits[2..]
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("{}{c}", if i > 0 { seps[i % seps.len()] } else { "" }))
                        .collect();
                    format!("0{} ({}){}{rest}", digits[0], digits[1], seps[3])
                }
            };
            let expected = format!("+31{national}");
            let n = normal(IdentifierKind::Phone, &written);
            prop_assert_eq!(&n, &expected, "{}", written);
            prop_assert_eq!(normal(IdentifierKind::Phone, &n), n);
        }

        #[test]
        fn prop_phone_area_code_in_brackets(
            area in "[1-9][0-9]{0,3}",
            rest in "[0-9]{5,8}",
            seps in proptest::collection::vec(separator(), 8),
        ) {
            // "(020) 123 45 67": the area code with its trunk 0 in brackets.
            let mut body = String::new();
            for (i, c) in rest.chars().enumerate() {
                if i > 0 {
                    body.push_str(seps[i % seps.len()]);
                }
                body.push(c);
            }
            let written = format!("(0{area}){}{body}", seps[0]);
            let expected = format!("+31{area}{rest}");
            if (8..=15).contains(&(expected.len() - 1)) {
                prop_assert_eq!(normal(IdentifierKind::Phone, &written), expected);
            } else {
                refused(IdentifierKind::Phone, &written);
            }
        }

        #[test]
        fn prop_trunk_zero_after_the_country_code_is_dropped_after_plus_and_00(
            cc in "[1-9][0-9]{0,2}",
            national in "[1-9][0-9]{6,9}",
            sep_a in separator(),
            sep_b in separator(),
        ) {
            // "+31 (0)6 1234 5678" and "0031 (0)6-12 34 56 78" are the same number.
            let expected = format!("+{cc}{national}");
            prop_assume!((8..=15).contains(&(expected.len() - 1)));
            let plus = format!("+{cc}{sep_a}(0){sep_b}{national}");
            let zeros = format!("00{cc}{sep_a}(0){sep_b}{national}");
            prop_assert_eq!(normal(IdentifierKind::Phone, &plus), expected.clone());
            prop_assert_eq!(normal(IdentifierKind::Phone, &zeros), expected.clone());
            prop_assert_eq!(normal(IdentifierKind::Phone, &expected), expected);
        }

        #[test]
        fn prop_phone_accepted_means_e164_and_stable(raw in "[0-9 ().+-]{1,24}") {
            // Whatever is accepted normalises to + and 8 to 15 digits, which parses to
            // itself; brackets that do not balance are always refused.
            match Identifier::parse(IdentifierKind::Phone, &raw) {
                Ok(id) => {
                    let n = id.normal().to_string();
                    prop_assert!(n.starts_with('+'));
                    prop_assert!((9..=16).contains(&n.len()), "{}", n);
                    prop_assert!(n[1..].bytes().all(|b| b.is_ascii_digit()));
                    prop_assert_eq!(normal(IdentifierKind::Phone, &n), n.clone());
                    prop_assert_eq!(raw.matches('(').count(), raw.matches(')').count());
                    let t = raw.trim();
                    prop_assert!(t.starts_with(['+', '0', '(']), "{}", raw);
                    prop_assert!(t.ends_with(|c: char| c.is_ascii_digit()), "{}", raw);
                    prop_assert!(!raw.contains("--") && !raw.contains("..") && !raw.contains("()"));
                }
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }

        #[test]
        fn prop_doubled_punctuation_is_refused(
            national in "[1-9][0-9]{8}",
            at in 1usize..9,
            doubled in prop_oneof![Just("--"), Just(".."), Just("-."), Just(" - -"), Just(". .")],
        ) {
            let written = format!("0{}{doubled}{}", &national[..at], &national[at..]);
            refused(IdentifierKind::Phone, &written);
        }

        #[test]
        fn prop_international_phone_normal_form_is_stable(e164 in "\\+[1-9][0-9]{7,14}") {
            prop_assert_eq!(normal(IdentifierKind::Phone, &e164), e164.clone());
            let double_zero = format!("00{}", &e164[1..]);
            prop_assert_eq!(normal(IdentifierKind::Phone, &double_zero), e164);
        }

        #[test]
        fn prop_debug_never_contains_the_value(bsn in valid_bsn(), kvk in "[0-9]{8}", local in "[a-z]{3,10}") {
            let email = format!("{local}@example.nl");
            for id in [
                Identifier::parse(IdentifierKind::Bsn, &bsn).unwrap(),
                Identifier::parse(IdentifierKind::Kvk, &kvk).unwrap(),
                Identifier::parse(IdentifierKind::Email, &email).unwrap(),
                Identifier::parse(IdentifierKind::Phone, "06 1234 5678").unwrap(),
            ] {
                let debug = format!("{id:?} {:#?}", id);
                prop_assert!(!debug.contains(id.normal()), "{}", debug);
                prop_assert!(!debug.contains(&bsn) && !debug.contains(&kvk));
                prop_assert!(!debug.contains("612345678"));
                // Exactly the kind and a placeholder: nothing of the value.
                prop_assert_eq!(
                    format!("{id:?}"),
                    format!("Identifier({}, <redacted>)", id.kind().as_str())
                );
            }
        }

        #[test]
        fn prop_masked_bsn_keeps_only_the_last_three(bsn in valid_bsn()) {
            let id = Identifier::parse(IdentifierKind::Bsn, &bsn).unwrap();
            let masked = id.masked().unwrap();
            prop_assert_eq!(masked.len(), 9);
            prop_assert!(masked.starts_with("******"));
            prop_assert!(masked.ends_with(&bsn[6..]));
        }
    }
}

#[cfg(test)]
mod fingerprint_tests {
    use super::Pseudonymiser;

    #[test]
    fn fingerprints_are_keyed_and_separate_operations() {
        let a = Pseudonymiser::new(b"secret-a");
        let b = Pseudonymiser::new(b"secret-b");
        let request = b"bsn 999990019";
        assert_eq!(
            a.fingerprint("start", request),
            a.fingerprint("start", request)
        );
        assert_ne!(
            a.fingerprint("start", request),
            b.fingerprint("start", request)
        );
        assert_ne!(
            a.fingerprint("start", request),
            a.fingerprint("record", request)
        );
        assert!(!a.fingerprint("start", request).contains("999990019"));
    }
}
