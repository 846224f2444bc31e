//! An admin replaces a tenant's settings (DOMAIN.md "Norms").

use crate::mask::mask_optional;
use crate::settings::TenantSettings;

/// The settings as stored, with identifiers typed into a norm's explanation masked. The
/// answer echoes what is stored. The settings were validated once, at the edge, where
/// they were built from the request ([`TenantSettings::validate`]); they are not checked
/// again here.
pub fn plan_settings(asked: TenantSettings) -> TenantSettings {
    let mut stored = asked;
    for norm in &mut stored.norms {
        norm.explanation = mask_optional(norm.explanation.take());
    }
    stored
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
        let stored = plan_settings(asked);
        assert_eq!(
            stored.norms[0].explanation.as_deref(),
            Some(format!("Vragen? Mail {EMAIL_MASK} of bel {PHONE_MASK}.").as_str())
        );
    }
}
