//! Throw-away databases for tests and scenario runs: a SQLite file in a temp folder,
//! or a uniquely named PostgreSQL database that is created and dropped again; and the
//! two halves, SQLite and PostgreSQL, of a test that runs on a database
//! ([`database_test!`](crate::database_test)).

use std::fmt;

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

/// Declares a test that runs once per database, as two tests: `<name>::sqlite` and
/// `<name>::postgres`, each calling `async fn <name>(TestDatabase)` of the enclosing
/// module. Options for `#[tokio::test]` may follow the name
/// (`database_test!(name, flavor = "multi_thread", worker_threads = 4)`).
///
/// libtest cannot report a test as skipped at run time, so whether the PostgreSQL half
/// runs is decided when it is compiled: without [`DATABASE_URL_VAR`] (and without
/// [`REQUIRE_POSTGRES_VAR`]`=1`) the build script `tests/build.rs` of the package sets
/// `cfg(postgres_skipped)`, and `cargo test` lists the half as
/// `<name>::postgres ... ignored, no MIDOFFICE_TEST_DATABASE_URL`. A PostgreSQL half that
/// runs never passes without PostgreSQL ([`TestDatabase::postgres`]). A package that uses
/// this macro needs that build script.
#[macro_export]
macro_rules! database_test {
    ($name:ident $(, $($option:tt)+)?) => {
        mod $name {
            #[::tokio::test($($($option)+)?)]
            async fn sqlite() {
                super::$name($crate::scratch::TestDatabase::Sqlite).await;
            }

            #[::tokio::test($($($option)+)?)]
            #[cfg_attr(postgres_skipped, ignore = "no MIDOFFICE_TEST_DATABASE_URL")]
            async fn postgres() {
                super::$name($crate::scratch::TestDatabase::postgres()).await;
            }
        }
    };
}

/// The database one half of a [`database_test!`](crate::database_test) runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestDatabase {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database on this PostgreSQL server, which lets its user create databases.
    Postgres(String),
}

impl TestDatabase {
    /// The PostgreSQL server of [`DATABASE_URL_VAR`]. Panics without it: a PostgreSQL
    /// test that runs (it was built with the variable set or required, or was asked for
    /// with `--ignored`) must fail rather than pass without PostgreSQL.
    pub fn postgres() -> TestDatabase {
        match std::env::var(DATABASE_URL_VAR) {
            Ok(url) if !url.trim().is_empty() => TestDatabase::Postgres(url.trim().to_string()),
            _ => panic!(
                "{DATABASE_URL_VAR} is not set, so this PostgreSQL test cannot run. Set it \
                 (such as postgres://postgres@127.0.0.1:5432/postgres); or build the tests \
                 with neither it nor {REQUIRE_POSTGRES_VAR}=1 set, and `cargo test` \
                 reports the PostgreSQL tests as ignored"
            ),
        }
    }

    /// The PostgreSQL server's URL, as `play_paths` takes it; `None` for SQLite.
    pub fn postgres_url(&self) -> Option<&str> {
        match self {
            TestDatabase::Sqlite => None,
            TestDatabase::Postgres(url) => Some(url),
        }
    }

    /// A fresh, empty database of this kind.
    pub async fn scratch(&self) -> Result<ScratchDb, String> {
        match self {
            TestDatabase::Sqlite => ScratchDb::sqlite().await.map_err(|e| e.to_string()),
            TestDatabase::Postgres(url) => ScratchDb::postgres(url).await,
        }
    }
}

impl fmt::Display for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestDatabase::Sqlite => f.write_str("SQLite"),
            TestDatabase::Postgres(_) => f.write_str("PostgreSQL"),
        }
    }
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
