//! Throw-away databases for tests and scenario runs: a SQLite file in a temp folder,
//! or a uniquely named PostgreSQL database that is created and dropped again.

use std::io::Write;

use midoffice_store::redact_url;
use sea_orm::{ConnectionTrait, Database};

/// The environment variable that names a PostgreSQL server to test against.
pub const DATABASE_URL_VAR: &str = "MIDOFFICE_TEST_DATABASE_URL";

/// The environment variable that, set to `1`, turns a missing [`DATABASE_URL_VAR`] from
/// a skip into a failure (CI sets it, so PostgreSQL cannot silently drop out).
pub const REQUIRE_POSTGRES_VAR: &str = "MIDOFFICE_REQUIRE_POSTGRES";

/// The name of a scratch SQLite database file in its temp folder.
const SQLITE_FILE: &str = "midoffice.db";

/// A fixed 32-byte key for the pseudonymiser in tests; never use it in a deployment.
pub fn test_secret() -> Vec<u8> {
    b"midoffice-scenarios-test-secret!".to_vec()
}

/// The PostgreSQL server the tests should use, from [`DATABASE_URL_VAR`]. Without it,
/// says `skipped on PostgreSQL` on stderr and answers `None`, or panics when
/// [`REQUIRE_POSTGRES_VAR`] is `1`.
pub fn test_postgres_url() -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_string()),
        _ => {
            assert!(
                !postgres_required(),
                "{REQUIRE_POSTGRES_VAR}=1 but {DATABASE_URL_VAR} is not set: \
                 the PostgreSQL tests would be skipped"
            );
            // Straight to stderr: libtest captures `eprintln!`, and a skip nobody sees
            // looks like a pass.
            let _ = writeln!(
                std::io::stderr(),
                "skipped on PostgreSQL: {DATABASE_URL_VAR} not set"
            );
            None
        }
    }
}

/// Whether [`REQUIRE_POSTGRES_VAR`] is `1`.
fn postgres_required() -> bool {
    std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v.trim() == "1")
}

/// An empty database that lives as long as this value (SQLite) or until
/// [`ScratchDb::drop_db`] (PostgreSQL).
#[derive(Debug)]
pub struct ScratchDb {
    /// The URL to hand to `Store::connect`.
    pub url: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// The folder goes when this is dropped.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        base_url: String,
        name: String,
    },
}

impl ScratchDb {
    /// A fresh SQLite database file in a new temp folder.
    pub async fn sqlite() -> std::io::Result<ScratchDb> {
        let dir = tempfile::Builder::new()
            .prefix("midoffice-scratch-")
            .tempdir()?;
        let path = dir.path().join(SQLITE_FILE);
        let path = path
            .to_str()
            .ok_or_else(|| std::io::Error::other("the temp folder's path is not UTF-8"))?;
        Ok(ScratchDb {
            url: format!("sqlite://{path}?mode=rwc"),
            kind: Kind::Sqlite { _dir: dir },
        })
    }

    /// A fresh database `midoffice_t_<uuid>` on the server of `base_url`, which must let
    /// its user create databases.
    pub async fn postgres(base_url: &str) -> Result<ScratchDb, String> {
        let name = format!("midoffice_t_{}", uuid::Uuid::now_v7().simple());
        let url = with_database(base_url, &name)?;
        let admin = Database::connect(base_url)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", redact_url(base_url)))?;
        let created = admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await;
        let _ = admin.close().await;
        created.map_err(|e| format!("cannot create database {name}: {e}"))?;
        Ok(ScratchDb {
            url,
            kind: Kind::Postgres {
                base_url: base_url.to_string(),
                name,
            },
        })
    }

    /// The database's name on a PostgreSQL server; `None` for SQLite.
    pub fn postgres_name(&self) -> Option<&str> {
        match &self.kind {
            Kind::Postgres { name, .. } => Some(name),
            Kind::Sqlite { .. } => None,
        }
    }

    /// The SQLite database file (its -wal and -shm files lie beside it); `None` for
    /// PostgreSQL.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match &self.kind {
            Kind::Sqlite { _dir: dir } => Some(dir.path().join(SQLITE_FILE)),
            Kind::Postgres { .. } => None,
        }
    }

    /// Removes the database: drops it on PostgreSQL (closing any connection still
    /// open), deletes the folder for SQLite. A failure is printed, not returned, so
    /// test clean-up never hides the test's own result.
    pub async fn drop_db(self) {
        let Kind::Postgres { base_url, name } = self.kind else {
            return;
        };
        if let Err(e) = drop_postgres(&base_url, &name).await {
            eprintln!("warning: could not drop scratch database {name}: {e}");
        }
    }
}

async fn drop_postgres(base_url: &str, name: &str) -> Result<(), String> {
    let admin = Database::connect(base_url)
        .await
        .map_err(|e| e.to_string())?;
    // FORCE (PostgreSQL 13+) ends a pool the store may not have closed yet.
    let mut result = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    if result.is_err() {
        result = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .await;
    }
    let _ = admin.close().await;
    result.map(|_| ()).map_err(|e| e.to_string())
}

/// `base_url` with its database (the URL's path) replaced by `name`; the query stays.
fn with_database(base_url: &str, name: &str) -> Result<String, String> {
    let scheme_end = base_url
        .find("://")
        .ok_or_else(|| format!("not a database URL: {}", redact_url(base_url)))?
        + 3;
    let rest = &base_url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find(['?', '#']).map(|i| &tail[i..]).unwrap_or("");
    Ok(format!(
        "{}{authority}/{name}{query}",
        &base_url[..scheme_end]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_and_the_query_kept() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres", "x").unwrap(),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h", "x").unwrap(),
            "postgres://u@h/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h?sslmode=disable", "x").unwrap(),
            "postgres://h/x?sslmode=disable"
        );
        assert!(with_database("nonsense", "x").is_err());
    }

    #[test]
    fn the_test_secret_is_32_bytes() {
        assert_eq!(test_secret().len(), 32);
    }

    #[tokio::test]
    async fn a_sqlite_scratch_url_points_into_its_folder() {
        let db = ScratchDb::sqlite().await.unwrap();
        assert!(db.url.starts_with("sqlite://") && db.url.ends_with("/midoffice.db?mode=rwc"));
        assert!(db.postgres_name().is_none());
        let file = db.sqlite_file().unwrap();
        assert!(db.url.contains(file.to_str().unwrap()));
        db.drop_db().await;
    }
}
