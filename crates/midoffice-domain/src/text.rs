//! Free text a request carries and the store keeps: a story, a case reference, an
//! organisation, a comment, a norm's title and explanation, an idempotency key.
//!
//! Control characters have no place in what an agent or a citizen reads, and
//! PostgreSQL refuses NUL in text outright, so they are refused at the edge with a
//! field violation rather than failing in the database. Line breaks and tabs are text.

/// Checks free text: no control characters other than tab, line feed and carriage
/// return, and at most `max_chars` characters. The reason never repeats the value.
pub fn check_text(value: &str, max_chars: usize) -> Result<(), String> {
    check_characters(value)?;
    if value.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    Ok(())
}

/// Checks free text for control characters only, for a field whose length is checked
/// where its other rules are.
pub fn check_characters(value: &str) -> Result<(), String> {
    match value.chars().enumerate().find(|(_, c)| is_refused(*c)) {
        None => Ok(()),
        Some((at, c)) => Err(format!(
            "must not contain control characters such as NUL (found U+{:04X} at character {}); \
             only tab, line feed and carriage return are allowed",
            u32::from(c),
            at + 1
        )),
    }
}

/// C0 and C1 control characters and DEL (Unicode category Cc), except tab, line feed
/// and carriage return.
fn is_refused(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_with_line_breaks_and_tabs_passes() {
        assert_eq!(check_text("", 10), Ok(()));
        assert_eq!(
            check_text("Regel één\r\nRegel twee\tklaar — €5", 100),
            Ok(())
        );
        assert_eq!(check_characters("Zaak Z-2025-1 \u{a0}(NBSP)"), Ok(()));
    }

    #[test]
    fn nul_and_other_control_characters_are_refused() {
        for bad in [
            '\0', '\u{1}', '\u{7}', '\u{b}', '\u{c}', '\u{1b}', '\u{1f}', '\u{7f}', '\u{80}',
            '\u{85}', '\u{9f}',
        ] {
            let value = format!("ab{bad}c");
            assert!(check_text(&value, 100).is_err(), "U+{:04X}", u32::from(bad));
            assert!(
                check_characters(&value).is_err(),
                "U+{:04X}",
                u32::from(bad)
            );
        }
    }

    #[test]
    fn the_reason_names_the_character_but_never_repeats_the_value() {
        let why = check_text("geheim verhaal 999990019\0", 100).unwrap_err();
        assert!(why.contains("U+0000"), "{why}");
        assert!(why.contains("character 25"), "{why}");
        assert!(!why.contains("geheim"), "{why}");
        assert!(!why.contains("999990019"), "{why}");
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(check_text(&"é".repeat(5), 5), Ok(()));
        assert_eq!(
            check_text(&"é".repeat(6), 5),
            Err("must be at most 5 characters".into())
        );
        // Control characters are reported before length: the more useful reason.
        assert!(
            check_text(&format!("{}\0", "x".repeat(10)), 5)
                .unwrap_err()
                .contains("control")
        );
    }
}
