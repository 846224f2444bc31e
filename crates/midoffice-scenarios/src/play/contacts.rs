//! `start`, `complete`, `record` and `feedback` steps: the contact service.

use midoffice_api::pb;

use super::wire::{CompletionParts, StartParts, contact_completion, contact_start, record_parts};
use super::{Checked, Known, Player, request, settle};
use crate::scenario::{CompleteStep, Expect, FeedbackStep, RecordStep, StartStep, Step};

impl Player {
    pub(super) async fn start(&mut self, s: &StartStep, step: &Step, tenant: &str) -> Checked {
        let case_id = self.case_of(&s.case_of).await?;
        let message = pb::StartContactRequest {
            request_id: s.request_id.clone().unwrap_or_default(),
            start: Some(contact_start(StartParts::from(s), case_id)),
        };
        let result = self
            .clients
            .contacts
            .start_contact(request(tenant, message)?)
            .await;
        let Some(answer) = settle(result, &step.expect)? else {
            return Ok(());
        };
        self.after_contact(
            &s.contact,
            tenant,
            answer.contact,
            answer.context,
            &step.expect,
        )
        .await
    }

    pub(super) async fn record(&mut self, s: &RecordStep, step: &Step, tenant: &str) -> Checked {
        let case_id = self.case_of(&s.case_of).await?;
        let (start, completion) = record_parts(s);
        let message = pb::RecordContactRequest {
            request_id: s.request_id.clone().unwrap_or_default(),
            start: Some(contact_start(start, case_id)),
            completion: Some(contact_completion(completion)),
            context_seen: s.context_seen,
        };
        let result = self
            .clients
            .contacts
            .record_contact(request(tenant, message)?)
            .await;
        let Some(answer) = settle(result, &step.expect)? else {
            return Ok(());
        };
        self.after_contact(
            &s.contact,
            tenant,
            answer.contact,
            answer.context,
            &step.expect,
        )
        .await
    }

    pub(super) async fn complete(
        &mut self,
        s: &CompleteStep,
        step: &Step,
        tenant: &str,
    ) -> Checked {
        let contact_id = self.known(&s.contact)?.contact_id;
        let message = pb::CompleteContactRequest {
            request_id: String::new(),
            contact_id,
            completion: Some(contact_completion(CompletionParts::from(s))),
        };
        let result = self
            .clients
            .contacts
            .complete_contact(request(tenant, message)?)
            .await;
        if let Some(answer) = settle(result, &step.expect)?
            && let Some(contact) = &answer.contact
        {
            self.observe_contact(contact);
        }
        Ok(())
    }

    pub(super) async fn feedback(
        &mut self,
        s: &FeedbackStep,
        step: &Step,
        tenant: &str,
    ) -> Checked {
        let contact_id = self.known(&s.contact)?.contact_id;
        let message = pb::SubmitFeedbackRequest {
            request_id: String::new(),
            contact_id,
            score: s.score.unwrap_or(0),
            effort: s.effort.unwrap_or(0),
            story_repeated: s.repeated_story.unwrap_or(false),
            comment: s.comment.clone().unwrap_or_default(),
        };
        let result = self
            .clients
            .contacts
            .submit_feedback(request(tenant, message)?)
            .await;
        settle(result, &step.expect).map(|_| ())
    }

    async fn after_contact(
        &mut self,
        contact_ref: &str,
        tenant: &str,
        contact: Option<pb::Contact>,
        context: Option<pb::Context>,
        expect: &Expect,
    ) -> Checked {
        let Some(contact) = contact else {
            return Err(vec!["the answer has no contact".to_string()]);
        };
        if let Expect::Contact(e) = expect {
            self.check_contact(e, &contact, context.as_ref()).await?;
        }
        if let Some(earlier) = self.refs.get(contact_ref)
            && earlier.contact_id != contact.id
        {
            return Err(vec![format!(
                "ref {contact_ref} already names contact {}, this step made contact {}",
                earlier.contact_id, contact.id
            )]);
        }
        self.refs.insert(
            contact_ref.to_string(),
            Known {
                contact_id: contact.id.clone(),
                tenant: tenant.to_string(),
            },
        );
        self.observe_contact(&contact);
        if let Some(context) = &context {
            self.observe_context(context);
        }
        Ok(())
    }
}
