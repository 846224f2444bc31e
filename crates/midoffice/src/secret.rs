//! The per-deployment secret that keys the identifier hashes (HMAC-SHA256).
//!
//! It comes from `MIDOFFICE_SECRET`, else from the secret file; on the first run without
//! either, 32 random bytes are generated into the file (mode 0600). Both hold the key in
//! hex (surrounding white space left out), at least 16 bytes. Losing it makes every
//! stored identifier unfindable, so it is never overwritten and never generated beside
//! an existing SQLite database.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable that may hold the secret itself.
pub const SECRET_ENV: &str = "MIDOFFICE_SECRET";
/// The shortest secret accepted, in bytes (32 hex characters).
pub const MIN_SECRET_BYTES: usize = 16;
/// Random bytes in a generated secret (written as 64 hex characters).
const GENERATED_BYTES: usize = 32;

/// Where the secret came from (for the log; never the secret itself).
#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    Env,
    File(PathBuf),
    Generated(PathBuf),
}

/// Why there is no usable secret. Never carries the secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{0} is shorter than {MIN_SECRET_BYTES} bytes ({hex} hex characters)", hex = 2 * MIN_SECRET_BYTES)]
    TooShort(String),
    #[error(
        "{0} is not hex: give the key as hexadecimal digits, such as the 64 of `openssl rand -hex 32`"
    )]
    NotHex(String),
    #[error(
        "the secret file {0} is empty (a first run may have been interrupted): remove it to \
         have a new one generated, but only if no identifiers were stored with it"
    )]
    Empty(PathBuf),
    #[error("cannot read the secret file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write a new secret file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate a random secret: {0}")]
    Random(String),
    #[error(
        "the database {database} exists but the secret file {secret} does not: restore the \
         secret file (or set {SECRET_ENV}); a new secret would make every stored identifier \
         unfindable. To start afresh, move the database away first"
    )]
    DatabaseWithoutSecret { database: PathBuf, secret: PathBuf },
    #[error(
        "in production the identifier-hashing secret may not live in the data folder {folder}: \
         a copy or backup of that folder would hold both the data and the key \
         that unlocks its identifiers. Give the secret in {SECRET_ENV} (hex, such as the \
         output of `openssl rand -hex 32`), or move the file {secret} elsewhere (such as \
         /etc/midoffice/secret.key, mode 0600) and set secret.file \
         (MIDOFFICE__SECRET__FILE, --secret-file) to it; back it up apart from the data. \
         For a local trial, set server.mode = \"development\""
    )]
    InsideDataFolder { secret: PathBuf, folder: PathBuf },
    #[error(
        "in production no identifier-hashing secret is generated, and the secret file \
         {secret} does not exist: give the secret in {SECRET_ENV} or create the file (such \
         as `openssl rand -hex 32 > {secret}; chmod 600 {secret}`) outside the data \
         folder, set secret.file (MIDOFFICE__SECRET__FILE, --secret-file) to it, and back \
         it up apart from the data. For a local trial, set server.mode = \"development\""
    )]
    Missing { secret: PathBuf },
}

/// Where the data lives, so that the secret can be kept out of it.
#[derive(Debug, Clone, Copy)]
pub struct DataPlace<'a> {
    /// The data folder.
    pub data_dir: &'a Path,
    /// The SQLite database file, if the database is one.
    pub database_file: Option<&'a Path>,
}

/// The secret as [`load`] finds it, with the rule of the mode: in development a missing
/// secret is generated (in the data folder by default, with a log line); in
/// production the secret comes from `MIDOFFICE_SECRET` or from an existing file outside
/// the data folder and the database's folder, and is never generated.
pub fn load_for_mode(
    production: bool,
    env_value: Option<&str>,
    file: &Path,
    place: DataPlace<'_>,
) -> Result<Secret, SecretError> {
    check_for_mode(production, env_value, file, place)?;
    load(env_value, file, place.database_file)
}

/// The rule of the mode [`load_for_mode`] applies before reading: in production without
/// `MIDOFFICE_SECRET`, the file must exist outside the data folder and the database's
/// folder. Reads nothing (`midoffice config check` uses it alone).
pub fn check_for_mode(
    production: bool,
    env_value: Option<&str>,
    file: &Path,
    place: DataPlace<'_>,
) -> Result<(), SecretError> {
    let from_env = env_value.filter(|v| !v.trim().is_empty());
    // Its form (hex, long enough), as `load` will judge it; the value is never shown.
    if let Some(value) = from_env {
        decode(value.trim().as_bytes(), SECRET_ENV)?;
    }
    if production && from_env.is_none() {
        let folders = std::iter::once(place.data_dir)
            .chain(place.database_file.and_then(Path::parent))
            .filter(|d| !d.as_os_str().is_empty());
        for folder in folders {
            if is_inside(file, folder) {
                return Err(SecretError::InsideDataFolder {
                    secret: file.to_path_buf(),
                    folder: folder.to_path_buf(),
                });
            }
        }
        if !file.exists() {
            return Err(SecretError::Missing {
                secret: file.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Whether `file` lies in `folder` or below it, comparing real paths: absolute, `..`
/// resolved, and symbolic links resolved as far as the path exists.
fn is_inside(file: &Path, folder: &Path) -> bool {
    let parent = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    real_path(parent).starts_with(real_path(folder))
}

fn real_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lexical = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    // The longest part that exists, with its links resolved, and the rest as written.
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(up), Some(name)) => {
                rest.push(name.to_owned());
                existing = up;
            }
            _ => return lexical,
        }
    }
}

/// The secret key and where it came from.
pub struct Secret {
    pub key: Vec<u8>,
    pub source: Source,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The secret: `env_value` (the content of `MIDOFFICE_SECRET`) if given, else the file,
/// else a newly generated file. `existing_database` is the SQLite file the server will
/// use, if any: a secret is not generated beside a database that already holds data.
pub fn load(
    env_value: Option<&str>,
    file: &Path,
    existing_database: Option<&Path>,
) -> Result<Secret, SecretError> {
    if let Some(value) = env_value.filter(|v| !v.trim().is_empty()) {
        let key = decode(value.trim().as_bytes(), SECRET_ENV)?;
        return Ok(Secret {
            key,
            source: Source::Env,
        });
    }
    match std::fs::read(file) {
        Ok(bytes) => read_file(&bytes, file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(db) = existing_database.filter(|db| holds_data(db)) {
                return Err(SecretError::DatabaseWithoutSecret {
                    database: db.to_path_buf(),
                    secret: file.to_path_buf(),
                });
            }
            generate(file)
        }
        Err(source) => Err(SecretError::Read {
            path: file.to_path_buf(),
            source,
        }),
    }
}

fn holds_data(db: &Path) -> bool {
    std::fs::metadata(db).is_ok_and(|m| m.len() > 0)
}

/// The key from its hex text; `what` names where it came from (never the value).
fn decode(text: &[u8], what: &str) -> Result<Vec<u8>, SecretError> {
    let key = hex::decode(text).map_err(|_| SecretError::NotHex(what.to_owned()))?;
    if key.len() < MIN_SECRET_BYTES {
        Err(SecretError::TooShort(what.to_owned()))
    } else {
        Ok(key)
    }
}

fn read_file(bytes: &[u8], file: &Path) -> Result<Secret, SecretError> {
    let text = bytes.trim_ascii();
    if text.is_empty() {
        return Err(SecretError::Empty(file.to_path_buf()));
    }
    let key = decode(text, &format!("the secret in {}", file.display()))?;
    warn_if_readable_by_others(file);
    Ok(Secret {
        key,
        source: Source::File(file.to_path_buf()),
    })
}

#[cfg(unix)]
fn warn_if_readable_by_others(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(file)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %file.display(),
            "the secret file can be read by other users; restrict it with chmod 600"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_file: &Path) {}

/// Writes 32 random bytes as hex into a new file only the owner can read. Never
/// overwrites: if another process created the file meanwhile, that one is used.
fn generate(file: &Path) -> Result<Secret, SecretError> {
    let write_err = |source| SecretError::Write {
        path: file.to_path_buf(),
        source,
    };
    let mut random = [0u8; GENERATED_BYTES];
    getrandom::fill(&mut random).map_err(|e| SecretError::Random(e.to_string()))?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::create_private_dir(dir).map_err(write_err)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = match options.open(file) {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let bytes = std::fs::read(file).map_err(|source| SecretError::Read {
                path: file.to_path_buf(),
                source,
            })?;
            return read_file(&bytes, file);
        }
        Err(e) => return Err(write_err(e)),
    };
    out.write_all(format!("{}\n", hex::encode(random)).as_bytes())
        .map_err(write_err)?;
    out.sync_all().map_err(write_err)?;
    tracing::warn!(
        "generated a new identifier-hashing secret at {}; keep it safe and back it up: \
         without it existing identifiers cannot be found",
        file.display()
    );
    Ok(Secret {
        key: random.to_vec(),
        source: Source::Generated(file.to_path_buf()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(data_dir: &Path) -> DataPlace<'_> {
        DataPlace {
            data_dir,
            database_file: None,
        }
    }

    #[test]
    fn in_production_a_secret_in_the_data_folder_is_refused_with_how_to_configure() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        // Even an existing secret file: a backup of the folder would hold it.
        let file = data.join("secret.key");
        std::fs::write(&file, "000102030405060708090a0b0c0d0e0f\n").unwrap();
        let err = load_for_mode(true, None, &file, place(&data)).unwrap_err();
        assert!(matches!(err, SecretError::InsideDataFolder { .. }), "{err}");
        let msg = err.to_string();
        for needed in [
            SECRET_ENV,
            "secret.file",
            "MIDOFFICE__SECRET__FILE",
            "development",
        ] {
            assert!(msg.contains(needed), "{msg}");
        }
        assert!(!msg.contains("000102"), "{msg}");
        // Below it, or reached through `..`, is inside too.
        let deeper = data.join("keys").join("secret.key");
        assert!(load_for_mode(true, None, &deeper, place(&data)).is_err());
        let dotted = dir
            .path()
            .join("other")
            .join("..")
            .join("data")
            .join("secret.key");
        assert!(matches!(
            load_for_mode(true, None, &dotted, place(&data)),
            Err(SecretError::InsideDataFolder { .. })
        ));
        // The folder of the SQLite database counts as well.
        let db_dir = dir.path().join("db");
        let beside_db = db_dir.join("secret.key");
        let with_db = DataPlace {
            data_dir: &data,
            database_file: Some(&db_dir.join("midoffice.db")),
        };
        assert!(matches!(
            load_for_mode(true, None, &beside_db, with_db),
            Err(SecretError::InsideDataFolder { .. })
        ));
    }

    #[test]
    fn in_production_a_secret_is_never_generated_but_read_from_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let file = dir.path().join("etc").join("secret.key");
        let err = load_for_mode(true, None, &file, place(&data)).unwrap_err();
        assert!(matches!(err, SecretError::Missing { .. }), "{err}");
        assert!(!file.exists(), "nothing was generated");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "000102030405060708090a0b0c0d0e0f\n").unwrap();
        let s = load_for_mode(true, None, &file, place(&data)).unwrap();
        assert_eq!(s.source, Source::File(file.clone()));
        // The environment needs no file at all.
        let inside = data.join("secret.key");
        let s = load_for_mode(
            true,
            Some("000102030405060708090a0b0c0d0e0f"),
            &inside,
            place(&data),
        )
        .unwrap();
        assert_eq!(s.source, Source::Env);
    }

    #[test]
    fn in_development_a_missing_secret_is_generated_in_the_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let file = data.join("secret.key");
        let s = load_for_mode(false, None, &file, place(&data)).unwrap();
        assert_eq!(s.source, Source::Generated(file.clone()));
        assert!(file.exists());
    }

    #[test]
    fn config_check_judges_the_environment_secret_as_loading_does() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("absent.key");
        let place = DataPlace {
            data_dir: dir.path(),
            database_file: None,
        };
        for production in [false, true] {
            let good = "ab".repeat(MIN_SECRET_BYTES);
            assert!(check_for_mode(production, Some(&good), &file, place).is_ok());
            let short = "ab".repeat(MIN_SECRET_BYTES - 1);
            assert!(matches!(
                check_for_mode(production, Some(&short), &file, place),
                Err(SecretError::TooShort(_))
            ));
            let not_hex = "zz".repeat(MIN_SECRET_BYTES);
            let e = check_for_mode(production, Some(&not_hex), &file, place).unwrap_err();
            assert!(matches!(e, SecretError::NotHex(_)));
            assert!(
                !e.to_string().contains("zz"),
                "the value is never shown: {e}"
            );
        }
    }

    #[test]
    fn the_environment_wins_and_must_be_long_enough_hex() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret.key");
        let s = load(Some(" 000102030405060708090a0b0c0d0e0F\n"), &file, None).unwrap();
        assert_eq!(s.source, Source::Env);
        assert_eq!(s.key, (0u8..16).collect::<Vec<_>>());
        assert!(!file.exists());
        assert!(matches!(
            load(Some("00ff"), &file, None),
            Err(SecretError::TooShort(_))
        ));
        let err = load(Some("not hex but long enough to pass"), &file, None).unwrap_err();
        assert!(matches!(err, SecretError::NotHex(_)));
        assert!(!err.to_string().contains("long enough"));
    }

    #[test]
    fn a_first_run_generates_a_private_secret_and_later_runs_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data").join("secret.key");
        let first = load(None, &file, None).unwrap();
        assert_eq!(first.source, Source::Generated(file.clone()));
        assert_eq!(first.key.len(), 32);
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.trim(), hex::encode(&first.key));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = load(Some(""), &file, None).unwrap();
        assert_eq!(second.source, Source::File(file.clone()));
        assert_eq!(second.key, first.key);
    }

    #[test]
    fn short_and_empty_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret.key");
        std::fs::write(&file, "abcd\n").unwrap();
        assert!(matches!(
            load(None, &file, None),
            Err(SecretError::TooShort(_))
        ));
        std::fs::write(&file, "").unwrap();
        assert!(matches!(
            load(None, &file, None),
            Err(SecretError::Empty(_))
        ));
    }

    #[test]
    fn no_secret_is_generated_beside_a_database_with_data() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret.key");
        let db = dir.path().join("midoffice.db");
        std::fs::write(&db, b"SQLite format 3\0").unwrap();
        assert!(matches!(
            load(None, &file, Some(&db)),
            Err(SecretError::DatabaseWithoutSecret { .. })
        ));
        assert!(!file.exists());
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        assert!(load(None, &file, Some(&empty)).is_ok());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let s = Secret {
            key: b"super secret value!".to_vec(),
            source: Source::Env,
        };
        assert!(!format!("{s:?}").contains("super"));
    }
}
