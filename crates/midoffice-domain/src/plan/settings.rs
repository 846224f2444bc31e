//! An admin replaces a tenant's settings (DOMAIN.md "Norms").

use crate::DomainError;
use crate::mask::mask_optional;
use crate::settings::TenantSettings;

/// The settings as stored: checked (violations under `settings.`), with identifiers
/// typed into a norm's explanation masked. The answer echoes what is stored.
pub fn plan_settings(asked: TenantSettings) -> Result<TenantSettings, DomainError> {
    asked
        .validate()
        .map_err(|v| DomainError::Invalid(v.prefixed("settings")))?;
    let mut stored = asked;
    for norm in &mut stored.norms {
        norm.explanation = mask_optional(norm.explanation.take());
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::{EMAIL_MASK, PHONE_MASK};

    #[test]
    fn an_explanation_is_stored_with_identifiers_masked() {
        let mut asked = TenantSettings::default();
        assert!(!asked.norms.is_empty(), "the defaults have norms");
        asked.norms[0].explanation =
            Some("Vragen? Mail kcc@gemeente.nl of bel 06-12345678.".into());
        let stored = plan_settings(asked).expect("valid settings");
        assert_eq!(
            stored.norms[0].explanation.as_deref(),
            Some(format!("Vragen? Mail {EMAIL_MASK} of bel {PHONE_MASK}.").as_str())
        );
    }

    #[test]
    fn invalid_settings_are_refused_under_settings() {
        let asked = TenantSettings {
            repeat_window_secs: 0,
            ..TenantSettings::default()
        };
        let Err(DomainError::Invalid(v)) = plan_settings(asked) else {
            panic!("refused");
        };
        assert!(format!("{v:?}").contains("settings.repeat_window"), "{v:?}");
    }
}
