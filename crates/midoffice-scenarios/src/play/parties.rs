//! `context` and `erase` steps: the party service.

use midoffice_api::pb;

use super::wire::{identifiers, opt_timestamp};
use super::{Checked, Player, request, settle};
use crate::scenario::{ContextStep, EraseStep, Expect, Step};

impl Player {
    pub(super) async fn context(&mut self, s: &ContextStep, step: &Step, tenant: &str) -> Checked {
        let message = pb::GetContextRequest {
            identifiers: Some(identifiers(&s.bsn, &s.kvk, &s.email, &s.phone)),
            as_of: opt_timestamp(&s.at),
        };
        let result = self
            .clients
            .parties
            .get_context(request(tenant, message)?)
            .await;
        let Some(answer) = settle(result, &step.expect)? else {
            return Ok(());
        };
        let Some(context) = answer.context else {
            return match step.expect {
                Expect::Context(_) => Err(vec!["the answer has no context".to_string()]),
                _ => Ok(()),
            };
        };
        if let Expect::Context(e) = &step.expect {
            self.check_context(e, &context).await?;
        }
        self.observe_context(&context);
        Ok(())
    }

    pub(super) async fn erase(&mut self, s: &EraseStep, step: &Step, tenant: &str) -> Checked {
        let message = pb::ErasePartyRequest {
            identifiers: Some(identifiers(&s.bsn, &s.kvk, &s.email, &s.phone)),
        };
        let result = self
            .clients
            .parties
            .erase_party(request(tenant, message)?)
            .await;
        if let Some(answer) = settle(result, &step.expect)? {
            self.observe_party(&answer.party_id);
        }
        Ok(())
    }
}
