//! A satisfaction answer (DOMAIN.md "Satisfaction").

use super::completion::contact_not_found;
use super::{UnitAfter, Write, units_after};
use crate::contact::{ContactFacts, Feedback};
use crate::feedback::check_feedback;
use crate::{DomainError, Instant};
use uuid::Uuid;

/// What a satisfaction answer needs to know.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackFacts {
    /// The contact (with its feedback), or none: unknown.
    pub contact: Option<ContactFacts>,
    /// The store's clock.
    pub stored_at: Instant,
}

/// What a satisfaction answer does and answers.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackPlan {
    pub writes: Vec<Write>,
    /// The answer as kept.
    pub answer: Feedback,
    /// The party of the contact (the data subject), if any.
    pub subject: Option<Uuid>,
    /// The unit of the figures it changes, as it leaves it ([`super::units_after`]: a
    /// contact on no case; `None` for one on a case, which the store reads).
    pub units: Option<Vec<UnitAfter>>,
}

/// An answer for a contact: NOT_FOUND for an unknown contact, then as [`check_feedback`]
/// says.
pub fn plan_feedback(
    facts: &FeedbackFacts,
    answer: &Feedback,
) -> Result<FeedbackPlan, DomainError> {
    let contact = facts.contact.as_ref().ok_or_else(contact_not_found)?;
    let answer = check_feedback(contact, answer)?;
    let writes = vec![Write::InsertFeedback {
        contact_id: contact.id,
        answer: answer.clone(),
        created_at: facts.stored_at,
    }];
    let answered = ContactFacts {
        feedback: Some(answer.clone()),
        ..contact.clone()
    };
    Ok(FeedbackPlan {
        units: units_after(&writes, &[], &[&answered]),
        writes,
        answer,
        subject: contact.party_id,
    })
}
