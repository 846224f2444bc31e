//! Identifiers typed into free text are masked before the text is stored: a story, a
//! satisfaction comment, a norm's explanation (DOMAIN.md "Identifiers"; issue 6
//! "Personal data that stays small").
//!
//! What counts, standing on its own (not glued to letters, digits or to another number by
//! a dash, dot, comma or slash):
//! - a BSN: 9 digits (or 8, the leading zero left out) that pass the eleven test, written
//!   together (`999990019`) or grouped as `9999.90.019` / `999 990 019` (a space, dot or
//!   dash between the groups). A number that fails the eleven test (a date, an amount, a
//!   zaak number) stays; so does a number right after a currency sign. One in eleven
//!   random 9-digit numbers passes the test, so such a number is masked too: that is the
//!   safe side.
//! - an e-mail address: one `@` with a name before it and a domain with a dot after it.
//! - a phone number as people write it (see the `phone` rule): Dutch national numbers of
//!   exactly 10 digits (`06-12345678`, `020 123 45 67`, `(06) 1234 5678`), international
//!   ones with `+` or `00` and 9 to 15 digits. Shorter runs starting with 0, such as the
//!   dates `01-02-2025`, are not phone numbers.
//!
//! They become [`BSN_MASK`], [`EMAIL_MASK`] and [`PHONE_MASK`]; everything else is kept
//! as it was typed. The masks contain no digit and no `@`, so masking twice changes
//! nothing.

use crate::identifier::{normalise_bsn, normalise_email, normalise_phone};

/// What a BSN in free text becomes.
pub const BSN_MASK: &str = "[bsn]";
/// What an e-mail address in free text becomes.
pub const EMAIL_MASK: &str = "[e-mail]";
/// What a phone number in free text becomes.
pub const PHONE_MASK: &str = "[telefoon]";

/// The longest phone number looked at, as written (with its spaces and brackets).
const MAX_PHONE_CHARS: usize = 32;
/// The longest e-mail address looked at: the longest an identifier may be.
const MAX_EMAIL_CHARS: usize = crate::limits::MAX_EMAIL_LEN;

/// `text` with every BSN, e-mail address and phone number in it masked (see the module
/// docs). Pure and total: any text goes in, no identifier comes out.
pub fn mask_identifiers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let found = email_at(&chars, i)
            .map(|end| (end, EMAIL_MASK))
            .or_else(|| phone_at(&chars, i).map(|end| (end, PHONE_MASK)))
            .or_else(|| bsn_at(&chars, i).map(|end| (end, BSN_MASK)));
        match found {
            Some((end, mask)) => {
                out.push_str(mask);
                i = end;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// Optional text as stored: masked.
pub fn mask_optional(text: Option<String>) -> Option<String> {
    text.map(|t| mask_identifiers(&t))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A character that glues two numbers or words into one token (`Z-2025-1`, `1.000,50`).
fn is_glue(c: char) -> bool {
    matches!(c, '-' | '.' | ',' | '/' | '+')
}

/// Whether the token starting at `i` is glued to what stands before it.
fn glued_before(chars: &[char], i: usize) -> bool {
    match i.checked_sub(1).map(|p| chars[p]) {
        None => false,
        Some(c) if is_word(c) => true,
        Some(c) if is_glue(c) => i >= 2 && is_word(chars[i - 2]),
        Some(_) => false,
    }
}

/// Whether the token ending before `end` is glued to what follows it.
fn glued_after(chars: &[char], end: usize) -> bool {
    match chars.get(end) {
        None => false,
        Some(&c) if is_word(c) => true,
        Some(&c) if is_glue(c) => chars.get(end + 1).is_some_and(|n| n.is_ascii_digit()),
        Some(_) => false,
    }
}

fn is_local(c: char) -> bool {
    is_word(c) || matches!(c, '.' | '%' | '+' | '-')
}

fn is_domain(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

/// The end of an e-mail address starting at `i`, if one does.
fn email_at(chars: &[char], i: usize) -> Option<usize> {
    if !is_local(chars[i]) || i.checked_sub(1).is_some_and(|p| is_local(chars[p])) {
        return None;
    }
    let at = i + chars[i..].iter().take_while(|c| is_local(**c)).count();
    if chars.get(at) != Some(&'@') {
        return None;
    }
    let mut end = at
        + 1
        + chars[at + 1..]
            .iter()
            .take_while(|c| is_domain(**c))
            .count();
    // A full stop or dash after the address ends the sentence, not the domain.
    while end > at + 1 && matches!(chars[end - 1], '.' | '-') {
        end -= 1;
    }
    if end - i > MAX_EMAIL_CHARS {
        return None;
    }
    let candidate: String = chars[i..end].iter().collect();
    normalise_email(&candidate).ok().map(|_| end)
}

/// The end of a phone number starting at `i`, if one does: the longest run of digits
/// and separators from `i` that is a phone number.
fn phone_at(chars: &[char], i: usize) -> Option<usize> {
    let starts = match chars[i] {
        '+' => chars.get(i + 1).is_some_and(char::is_ascii_digit),
        '0' => true,
        '(' => chars.get(i + 1) == Some(&'0'),
        _ => false,
    };
    if !starts || glued_before(chars, i) {
        return None;
    }
    let span = 1 + chars[i + 1..]
        .iter()
        .take(MAX_PHONE_CHARS - 1)
        .take_while(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .count();
    (i + 1..=i + span)
        .rev()
        .filter(|&end| chars[end - 1].is_ascii_digit() && !glued_after(chars, end))
        .find(|&end| is_phone(&chars[i..end]))
}

fn is_phone(written: &[char]) -> bool {
    let text: String = written.iter().collect();
    let Ok(e164) = normalise_phone(&text) else {
        return false;
    };
    let international = text.starts_with('+') || text.starts_with("00");
    if international {
        (9..=15).contains(&(e164.len() - 1))
    } else {
        written.iter().filter(|c| c.is_ascii_digit()).count() == 10
    }
}

/// The end of a BSN starting at `i`, if one does.
fn bsn_at(chars: &[char], i: usize) -> Option<usize> {
    if !chars[i].is_ascii_digit() || glued_before(chars, i) || after_currency(chars, i) {
        return None;
    }
    let run = |from: usize| {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let first = run(i);
    let mut candidates = vec![(i + first, chars[i..i + first].iter().collect::<String>())];
    // Grouped as 4-2-3 (the display form) or 3-3-3, one separator between groups.
    for shape in [[4usize, 2, 3], [3, 3, 3]] {
        let mut at = i;
        let mut digits = String::new();
        let mut fits = true;
        for (n, len) in shape.into_iter().enumerate() {
            if n > 0 {
                if !chars.get(at).is_some_and(|c| matches!(c, ' ' | '.' | '-')) {
                    fits = false;
                    break;
                }
                at += 1;
            }
            if at >= chars.len() || run(at) != len {
                fits = false;
                break;
            }
            digits.extend(&chars[at..at + len]);
            at += len;
        }
        if fits {
            candidates.push((at, digits));
        }
    }
    candidates.into_iter().find_map(|(end, digits)| {
        let whole = matches!(digits.len(), 8 | 9);
        (whole && !glued_after(chars, end) && normalise_bsn(&digits).is_ok()).then_some(end)
    })
}

/// Whether a currency sign stands right before `i` (spaces allowed): an amount.
fn after_currency(chars: &[char], i: usize) -> bool {
    chars[..i]
        .iter()
        .rev()
        .find(|c| **c != ' ')
        .is_some_and(|c| matches!(c, '€' | '$' | '£'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> String {
        mask_identifiers(s)
    }

    #[test]
    fn a_bsn_is_masked_in_every_way_it_is_written() {
        assert_eq!(m("BSN 999990019 gebeld"), "BSN [bsn] gebeld");
        assert_eq!(m("bsn: 9999.90.019."), "bsn: [bsn].");
        assert_eq!(m("(999 990 019)"), "([bsn])");
        assert_eq!(m("nummer 9999-90-019, klaar"), "nummer [bsn], klaar");
        // 8 digits: the leading zero left out (012345672 passes the test).
        assert_eq!(m("bsn 12345672"), "bsn [bsn]");
        assert_eq!(m("bsn 012345672"), "bsn [bsn]");
        assert_eq!(m("999990019"), "[bsn]");
    }

    #[test]
    fn numbers_that_fail_the_eleven_test_or_are_part_of_something_else_stay() {
        for kept in [
            "zaak 999990018 loopt",
            "datum 01-02-2025 en 2025-03-01",
            "bedrag € 999990019",
            "bedrag €999.990.019",
            "1.999.990.019,50 euro",
            "Z-999990019",
            "zaak Z-2025-999990019",
            "999990019a",
            "ref 1999990019",
            "000000000",
            "tussen 10 en 12 uur, 3 keer",
            "123 456 789 0",
        ] {
            assert_eq!(m(kept), kept);
        }
    }

    #[test]
    fn e_mail_addresses_are_masked() {
        assert_eq!(m("mail naar Jan.Jansen@Example.NL."), "mail naar [e-mail].");
        assert_eq!(m("<a+b_c@sub.example.org>"), "<[e-mail]>");
        assert_eq!(
            m("geen adres: jan@localhost of @x.nl"),
            "geen adres: jan@localhost of @x.nl"
        );
    }

    #[test]
    fn phone_numbers_are_masked() {
        assert_eq!(m("bel 06-12345678 terug"), "bel [telefoon] terug");
        assert_eq!(m("bel 0612345678."), "bel [telefoon].");
        assert_eq!(
            m("tel 020 123 45 67 of (06) 1234 5678"),
            "tel [telefoon] of [telefoon]"
        );
        assert_eq!(m("+31 (0)6 1234 5678 na 5 uur"), "[telefoon] na 5 uur");
        assert_eq!(m("0032 2 123 45 67"), "[telefoon]");
        assert_eq!(m("+31612345678, 2 keer"), "[telefoon], 2 keer");
        // A number followed by another number is still found.
        assert_eq!(m("06 12345678 2 keer"), "[telefoon] 2 keer");
    }

    #[test]
    fn short_numbers_with_a_leading_zero_are_not_phone_numbers() {
        for kept in [
            "01-02-2025",
            "om 09.30 uur",
            "0 of 1",
            "postcode 0123 AB",
            "06-1234",
        ] {
            assert_eq!(m(kept), kept);
        }
    }

    #[test]
    fn ordinary_text_is_kept_as_typed() {
        let text = "Regel één\r\nRegel twee\tklaar — €5, [bsn] al gemaskeerd.";
        assert_eq!(m(text), text);
        assert_eq!(mask_optional(None), None);
        assert_eq!(
            mask_optional(Some("06-12345678".into())).as_deref(),
            Some(PHONE_MASK)
        );
    }

    /// A valid BSN from 8 digits, if one exists for them.
    fn bsn_of(first8: [u8; 8]) -> Option<String> {
        let sum: i64 = first8
            .iter()
            .zip((2..=9).rev())
            .map(|(d, w)| i64::from(*d) * w)
            .sum();
        let check = sum % 11;
        let text: String = first8.iter().map(|d| char::from(b'0' + d)).collect();
        (check < 10 && first8.iter().any(|d| *d != 0)).then(|| format!("{text}{check}"))
    }

    proptest! {
        #[test]
        fn masking_never_panics_and_is_idempotent(text in "\\PC{0,80}") {
            let once = m(&text);
            prop_assert_eq!(m(&once), once.clone());
        }

        #[test]
        fn masking_twice_changes_nothing_for_number_heavy_text(
            text in "[0-9 .,()+@a-z€-]{0,60}"
        ) {
            let once = m(&text);
            prop_assert_eq!(m(&once), once.clone());
        }

        #[test]
        fn text_without_digits_or_at_signs_is_unchanged(text in "[^0-9@]{0,80}") {
            prop_assert_eq!(m(&text), text);
        }

        #[test]
        fn every_valid_bsn_between_words_is_masked(
            digits in proptest::array::uniform8(0u8..10),
            before in "[a-zA-Z ]{0,10}",
            after in "[a-zA-Z ]{0,10}",
            grouped in 0usize..3,
        ) {
            let Some(bsn) = bsn_of(digits) else { return Ok(()); };
            let written = match grouped {
                0 => bsn.clone(),
                1 => format!("{}.{}.{}", &bsn[..4], &bsn[4..6], &bsn[6..]),
                _ => format!("{} {} {}", &bsn[..3], &bsn[3..6], &bsn[6..]),
            };
            let masked = m(&format!("{before} {written} {after}"));
            prop_assert_eq!(masked, format!("{before} {BSN_MASK} {after}"));
        }

        #[test]
        fn nine_digits_that_fail_the_eleven_test_stay(
            digits in proptest::array::uniform9(0u8..10),
        ) {
            let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assume!(normalise_bsn(&text).is_err());
            prop_assume!(!(text.starts_with('0') && is_phone(&text.chars().collect::<Vec<_>>())));
            let sentence = format!("zaak {text} loopt");
            prop_assert_eq!(m(&sentence), sentence.clone());
        }

        #[test]
        fn every_mobile_number_is_masked(
            rest in "[0-9]{8}",
            sep in "[ -]?",
        ) {
            let written = format!("06{sep}{rest}");
            prop_assert_eq!(m(&format!("bel {written} terug")), format!("bel {PHONE_MASK} terug"));
        }

        #[test]
        fn every_e_mail_address_is_masked(
            local in "[a-z][a-z0-9._+-]{0,15}",
            domain in "[a-z][a-z0-9-]{0,10}",
            tld in "[a-z]{2,4}",
        ) {
            let address = format!("{local}@{domain}.{tld}");
            prop_assume!(normalise_email(&address).is_ok());
            prop_assert_eq!(m(&format!("mail {address} nu")), format!("mail {EMAIL_MASK} nu"));
        }
    }
}
