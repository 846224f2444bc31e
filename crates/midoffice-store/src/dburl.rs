//! Reading database URLs: the SQLite file they name, and a form safe to show.

use std::path::PathBuf;

/// The file of a SQLite URL (`sqlite://data/x.db?mode=rwc` -> `data/x.db`); `None` for
/// other databases and in-memory SQLite.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || rest.contains("mode=memory") {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

/// The URL with its password (`user:PASSWORD@` and a `password=` query parameter)
/// replaced by `***`, for logs and messages.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let (head, rest) = url.split_at(scheme_end);
    // The last `@` ends the user part even when an unencoded password holds `/` or `@`:
    // masking too much is harmless here, showing a password is not.
    let rest = match rest.rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!("{}:***{}", &rest[..colon], &rest[at..]),
            None => rest.to_owned(),
        },
        None => rest.to_owned(),
    };
    let Some((before, query)) = rest.split_once('?') else {
        return format!("{head}{rest}");
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{head}{before}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_found_and_memory_is_none() {
        assert_eq!(
            sqlite_path("sqlite://./data/midoffice.db?mode=rwc"),
            Some(PathBuf::from("./data/midoffice.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:/tmp/x.db"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://file?mode=memory"), None);
        assert_eq!(sqlite_path("sqlite://"), None);
        assert_eq!(sqlite_path("postgres://u:p@h/db"), None);
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_url("postgres://user:pw@db:5432/mo?sslmode=disable"),
            "postgres://user:***@db:5432/mo?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://u:p/w@ss@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_url("postgres://h/db?user=u&password=secret&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("sqlite://./data/midoffice.db?mode=rwc"),
            "sqlite://./data/midoffice.db?mode=rwc"
        );
        assert_eq!(redact_url("nonsense"), "nonsense");
    }
}
