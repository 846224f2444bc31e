//! The tenant a call acts for: metadata `x-tenant`, default `default`.

use crate::error::ApiError;
use midoffice_domain::TenantId;
use tonic::metadata::MetadataMap;

/// The metadata key naming the tenant.
pub const TENANT_KEY: &str = "x-tenant";

/// The tenant of a call. Without `x-tenant` it is the default tenant; an invalid value,
/// or more than one, is INVALID_ARGUMENT on `x-tenant` (never silently the default: a
/// mistyped tenant must not write into another one).
pub fn tenant_of(metadata: &MetadataMap) -> Result<TenantId, ApiError> {
    let mut values = metadata.get_all(TENANT_KEY).iter();
    let Some(value) = values.next() else {
        return Ok(TenantId::default_tenant());
    };
    if values.next().is_some() {
        return Err(ApiError::invalid(
            TENANT_KEY,
            "give one tenant, not several",
        ));
    }
    let raw = value.to_str().map_err(|_| {
        ApiError::invalid(
            TENANT_KEY,
            "must be a code of lower case letters, digits and '-'",
        )
    })?;
    TenantId::parse(raw).map_err(|why| ApiError::invalid(TENANT_KEY, why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::metadata::MetadataValue;

    #[test]
    fn absent_is_the_default_tenant() {
        assert_eq!(tenant_of(&MetadataMap::new()).unwrap().as_str(), "default");
    }

    #[test]
    fn a_valid_tenant_is_used() {
        let mut m = MetadataMap::new();
        m.insert(TENANT_KEY, MetadataValue::from_static("gemeente-a"));
        assert_eq!(tenant_of(&m).unwrap().as_str(), "gemeente-a");
    }

    #[test]
    fn invalid_empty_and_repeated_tenants_are_refused() {
        for raw in ["Gemeente A", "", "a_b"] {
            let mut m = MetadataMap::new();
            m.insert(TENANT_KEY, MetadataValue::try_from(raw).unwrap());
            let status = tonic::Status::from(tenant_of(&m).unwrap_err());
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
        }
        let mut m = MetadataMap::new();
        m.append(TENANT_KEY, MetadataValue::from_static("a"));
        m.append(TENANT_KEY, MetadataValue::from_static("b"));
        assert!(tenant_of(&m).is_err());
    }
}
