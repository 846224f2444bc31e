//! A retried request (AIP-155 `request_id`, DOMAIN.md "Starting, completing and
//! recording a contact"): a repeated key returns the first answer unchanged; the same key
//! with a different request is INVALID_ARGUMENT. After the party the answer concerned was
//! erased, the answer (which held personal data) is gone, and running the request again
//! would store the erased person anew and count the contact twice: it is refused.

use crate::{DomainError, Precondition};

/// What is kept under a request's key, as the store loaded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeptKey<'a> {
    /// The first answer, with the fingerprint of the request it came with.
    Answer { fingerprint: &'a str },
    /// The answer concerned a party that was erased since.
    Erased,
    /// The answer showed contacts that retention deleted since (their stories cannot be
    /// read back): like an erased answer, it is not given and not carried out again.
    Expired,
}

/// What to do with a request that carries a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// The key is new: carry the request out and keep its answer.
    Run,
    /// The same request came before: answer with the kept answer.
    Replay,
}

/// Decides a request with a key, given what is kept under that key and the fingerprint of
/// this request.
pub fn plan_retry(kept: Option<KeptKey<'_>>, fingerprint: &str) -> Result<Retry, DomainError> {
    match kept {
        None => Ok(Retry::Run),
        Some(KeptKey::Erased) => Err(DomainError::FailedPrecondition(Precondition::PartyErased)),
        Some(KeptKey::Expired) => Err(DomainError::FailedPrecondition(Precondition::AnswerExpired)),
        Some(KeptKey::Answer { fingerprint: first }) if first == fingerprint => Ok(Retry::Replay),
        Some(KeptKey::Answer { .. }) => Err(DomainError::RequestIdReused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_runs() {
        assert_eq!(plan_retry(None, "f1"), Ok(Retry::Run));
    }

    #[test]
    fn the_same_request_replays() {
        let kept = KeptKey::Answer { fingerprint: "f1" };
        assert_eq!(plan_retry(Some(kept), "f1"), Ok(Retry::Replay));
    }

    #[test]
    fn another_request_with_the_key_is_refused() {
        let kept = KeptKey::Answer { fingerprint: "f1" };
        assert_eq!(
            plan_retry(Some(kept), "f2"),
            Err(DomainError::RequestIdReused)
        );
    }

    #[test]
    fn a_retry_whose_answer_showed_deleted_contacts_is_refused() {
        assert_eq!(
            plan_retry(Some(KeptKey::Expired), "f1"),
            Err(DomainError::FailedPrecondition(Precondition::AnswerExpired))
        );
    }

    #[test]
    fn a_retry_after_erasure_is_refused_whatever_the_request() {
        for fingerprint in ["", "f1"] {
            assert_eq!(
                plan_retry(Some(KeptKey::Erased), fingerprint),
                Err(DomainError::FailedPrecondition(Precondition::PartyErased))
            );
        }
    }
}
