//! Short codes: topics, departments, norm ids and tenants.

use crate::limits::MAX_CODE_LEN;

/// A short code such as `parkeervergunning` or `kcc`: lower case letters, digits and `-`,
/// starting with a letter or digit, at most 64 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(String);

impl Code {
    /// Parses a code; the error says why in plain words.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.len() > MAX_CODE_LEN {
            return Err(format!("must be at most {MAX_CODE_LEN} characters"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(
                "must be a code of lower case letters, digits and '-' (such as 'parkeervergunning')"
                    .into(),
            );
        }
        if raw.starts_with('-') || raw.ends_with('-') {
            return Err("must not start or end with '-'".into());
        }
        Ok(Code(raw.to_owned()))
    }

    /// Parses an optional code: empty means absent.
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, String> {
        if raw.is_empty() {
            Ok(None)
        } else {
            Code::parse(raw).map(Some)
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Code {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Code::parse(&value)
    }
}

impl From<Code> for String {
    fn from(value: Code) -> Self {
        value.0
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant (organisatie): a code such as `gemeente-a`. Every record belongs to one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(Code);

impl TenantId {
    /// The tenant used when a call names none.
    pub const DEFAULT: &'static str = "default";

    /// Parses a tenant id.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Code::parse(raw).map(TenantId)
    }

    /// The default tenant.
    pub fn default_tenant() -> Self {
        TenantId(Code(Self::DEFAULT.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_lower_case_letters_digits_and_dashes() {
        assert!(Code::parse("parkeervergunning").is_ok());
        assert!(Code::parse("werk-en-inkomen").is_ok());
        assert!(Code::parse("wmo2").is_ok());
        assert!(Code::parse("Paspoort Aanvragen").is_err());
        assert!(Code::parse("").is_err());
        assert!(Code::parse("-kcc").is_err());
        assert!(Code::parse("kcc_1").is_err());
        assert!(Code::parse(&"a".repeat(65)).is_err());
        assert_eq!(Code::parse_optional("").unwrap(), None);
    }
}
