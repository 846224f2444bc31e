//! The file's norms and calendar, set through the tenant service before the steps.

use midoffice_api::pb;

use super::wire::{calendar, norm};
use super::{Checked, Player, failed, request};
use crate::scenario::Scenario;

impl Player {
    pub(super) async fn apply_settings(&mut self, scenario: &Scenario) -> Checked {
        if scenario.norms.is_none() && scenario.calendar.is_none() {
            return Ok(());
        }
        let tenant = &scenario.tenant;
        // Start from what the tenant has, so a file that gives only norms keeps the
        // default calendar and windows, and one that gives only a calendar the norms.
        let mut settings = self
            .clients
            .tenants
            .get_tenant_settings(request(tenant, pb::GetTenantSettingsRequest {})?)
            .await
            .map_err(|s| vec![format!("GetTenantSettings failed: {}", failed(&s))])?
            .into_inner()
            .settings
            .unwrap_or_default();
        if let Some(norms) = &scenario.norms {
            settings.norms = norms.iter().map(norm).collect();
        }
        if let Some(spec) = &scenario.calendar {
            settings.calendar = Some(calendar(spec));
        }
        let replace = pb::ReplaceTenantSettingsRequest {
            settings: Some(settings),
        };
        self.clients
            .tenants
            .replace_tenant_settings(request(tenant, replace)?)
            .await
            .map_err(|s| vec![format!("ReplaceTenantSettings failed: {}", failed(&s))])?;
        Ok(())
    }
}
