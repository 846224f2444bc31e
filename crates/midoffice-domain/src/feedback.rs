//! Satisfaction answers (DOMAIN.md "Satisfaction"): one per completed contact, score
//! 1–5, effort 1–7, an optional comment.

use crate::contact::{ContactFacts, Feedback};
use crate::{DomainError, Violations};

use crate::limits::MAX_COMMENT_CHARS;

/// Checks a satisfaction answer for a stored contact and returns it as it is to be
/// kept (a blank comment is none). The contact's state comes before the fields:
/// FAILED_PRECONDITION before it is completed, then ALREADY_EXISTS if it has an answer,
/// then INVALID_ARGUMENT naming `score`, `effort` and `comment`. An unknown contact
/// (NOT_FOUND) is the caller's to say, before this.
pub fn check_feedback(
    contact: &ContactFacts,
    feedback: &Feedback,
) -> Result<Feedback, DomainError> {
    if contact.completion.is_none() {
        return Err(DomainError::FailedPrecondition(
            crate::Precondition::ContactNotCompleted,
        ));
    }
    if contact.feedback.is_some() {
        return Err(DomainError::AlreadyExists(crate::Duplicate::Feedback));
    }
    let mut v = Violations::default();
    if !(1..=5).contains(&feedback.score) {
        v.add("score", "must be 1 to 5");
    }
    if !(1..=7).contains(&feedback.effort) {
        v.add("effort", "must be 1 to 7");
    }
    if feedback
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        v.add(
            "comment",
            format!("must be at most {MAX_COMMENT_CHARS} characters"),
        );
    }
    v.into_result(Feedback {
        // Identifiers typed into the comment are masked before it is stored.
        comment: crate::mask::mask_optional(
            feedback.comment.clone().filter(|c| !c.trim().is_empty()),
        ),
        ..feedback.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::{contact, ended};
    use crate::contact::Outcome;

    fn answer(score: u8, effort: u8, comment: Option<&str>) -> Feedback {
        Feedback {
            score,
            effort,
            story_repeated: true,
            comment: comment.map(str::to_owned),
        }
    }

    fn completed() -> ContactFacts {
        ended(contact(1, 0), 5, Outcome::Resolved)
    }

    fn fields(e: DomainError) -> Vec<String> {
        match e {
            DomainError::Invalid(v) => v.0.into_iter().map(|f| f.field).collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_answer_for_a_completed_contact_is_kept_with_a_blank_comment_as_none() {
        let c = completed();
        assert_eq!(
            check_feedback(&c, &answer(5, 1, Some("Snel geholpen"))),
            Ok(answer(5, 1, Some("Snel geholpen")))
        );
        assert_eq!(
            check_feedback(&c, &answer(1, 7, Some("  \n"))),
            Ok(answer(1, 7, None))
        );
        let longest = "é".repeat(MAX_COMMENT_CHARS);
        assert!(check_feedback(&c, &answer(3, 4, Some(&longest))).is_ok());
    }

    #[test]
    fn scores_efforts_and_comments_out_of_range_name_every_field() {
        let c = completed();
        for (score, effort, bad) in [
            (0, 1, "score"),
            (6, 1, "score"),
            (3, 0, "effort"),
            (3, 8, "effort"),
        ] {
            assert_eq!(
                fields(check_feedback(&c, &answer(score, effort, None)).unwrap_err()),
                [bad],
                "score {score}, effort {effort}"
            );
        }
        let too_long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            fields(check_feedback(&c, &answer(0, 255, Some(&too_long))).unwrap_err()),
            ["score", "effort", "comment"]
        );
    }

    #[test]
    fn the_contact_state_comes_before_the_fields() {
        let bad = answer(0, 0, None);
        // Not completed: FAILED_PRECONDITION, even with invalid fields.
        assert!(matches!(
            check_feedback(&contact(1, 0), &bad),
            Err(DomainError::FailedPrecondition(_))
        ));
        // An answer already: ALREADY_EXISTS, even with invalid fields.
        let mut answered = completed();
        answered.feedback = Some(answer(4, 2, None));
        assert!(matches!(
            check_feedback(&answered, &bad),
            Err(DomainError::AlreadyExists(_))
        ));
        // Not completed wins over an answer already given (which cannot happen, but the
        // order is fixed).
        let mut odd = contact(1, 0);
        odd.feedback = Some(answer(4, 2, None));
        assert!(matches!(
            check_feedback(&odd, &answer(4, 2, None)),
            Err(DomainError::FailedPrecondition(_))
        ));
    }
}
