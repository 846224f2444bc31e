//! Where the tests find scenario files: the project's own, `tests/scenarios` of this
//! repository, always; and the shared acceptance scenarios when they are there, in
//! `../shared/scenarios` beside the repository or in the folder [`SCENARIOS_VAR`] names.
//!
//! A clone alone has no shared folder: its tests play the project's scenarios and say
//! on stderr that the shared ones were skipped. CI sets [`REQUIRE_SHARED_VAR`]`=1`, which
//! makes a missing shared folder a failure, as `MIDOFFICE_REQUIRE_POSTGRES=1` does for
//! PostgreSQL.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable that names the folder of shared scenarios, instead of
/// `../shared/scenarios` beside the repository. A relative path is taken from the
/// directory `cargo test` was run in.
pub const SCENARIOS_VAR: &str = "MIDOFFICE_SCENARIOS";

/// The environment variable that, set to `1`, turns a missing shared scenario folder
/// from a skip into a failure.
pub const REQUIRE_SHARED_VAR: &str = "MIDOFFICE_REQUIRE_SHARED_SCENARIOS";

/// The repository this crate was built from (its manifest is `crates/<name>/Cargo.toml`).
fn repository() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// The project's own scenarios, `tests/scenarios` of the repository.
pub fn project_folder() -> PathBuf {
    repository().join("tests").join("scenarios")
}

/// The shared scenarios: the folder [`SCENARIOS_VAR`] names, else `../shared/scenarios`
/// beside the repository when that is a folder. Without either, says so on stderr, for
/// the test running now, and answers `None`.
///
/// # Panics
/// When [`SCENARIOS_VAR`] names no folder, or when no shared folder is found and
/// [`REQUIRE_SHARED_VAR`] is `1`: a folder asked for must not be skipped.
pub fn shared_folder() -> Option<PathBuf> {
    let named = std::env::var_os(SCENARIOS_VAR).filter(|v| !v.is_empty());
    if let Some(named) = named {
        let folder = from_user_directory(Path::new(&named), std::env::var_os("PWD"))
            .unwrap_or_else(|reason| panic!("{SCENARIOS_VAR}: {reason}"));
        assert!(
            folder.is_dir(),
            "{SCENARIOS_VAR} names {}, which is not a folder",
            folder.display()
        );
        return Some(folder);
    }
    let beside = repository().join("..").join("shared").join("scenarios");
    if beside.is_dir() {
        return Some(beside);
    }
    assert!(
        !shared_required(),
        "{REQUIRE_SHARED_VAR}=1 but there is no folder {} (nor {SCENARIOS_VAR}): \
         the shared scenarios would be skipped",
        beside.display()
    );
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    // Straight to stderr: libtest captures `eprintln!`, and a skip nobody sees looks
    // like a pass.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED (no ../shared/scenarios beside the repository, no {SCENARIOS_VAR}): \
         the shared scenarios in {test}"
    );
    None
}

/// Every scenario folder: the project's own, and the shared one when it is there.
pub fn scenario_folders() -> Vec<PathBuf> {
    let mut folders = vec![project_folder()];
    folders.extend(shared_folder());
    folders
}

/// The scenario files (`*.yaml`, `*.yml`) of `folders`, in name order per folder.
///
/// # Panics
/// When a folder cannot be read or holds no scenario file.
pub fn scenario_files(folders: &[PathBuf]) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for folder in folders {
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", folder.display()))
            .map(|entry| {
                entry
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", folder.display()))
                    .path()
            })
            .filter(|path| path.is_file() && crate::is_scenario_file(path))
            .collect();
        assert!(
            !files.is_empty(),
            "no scenario files in {}",
            folder.display()
        );
        files.sort();
        all.extend(files);
    }
    all
}

/// Whether [`REQUIRE_SHARED_VAR`] is `1`.
fn shared_required() -> bool {
    std::env::var(REQUIRE_SHARED_VAR).is_ok_and(|v| v.trim() == "1")
}

/// `path` as the user meant it: a relative path from the directory they ran the
/// command in. Cargo runs each test in its package's folder, so the process's own
/// directory is not that one; the shell's `PWD` (inherited through cargo) is.
fn from_user_directory(path: &Path, pwd: Option<std::ffi::OsString>) -> Result<PathBuf, String> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    match pwd.map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => Ok(dir.join(path)),
        _ => Err(format!(
            "{} is relative, and without PWD the directory it is relative to is not known: \
             give an absolute path",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_folder_is_taken_from_the_users_directory() {
        assert_eq!(
            from_user_directory(
                Path::new("../shared/scenarios"),
                Some("/home/a/midoffice".into())
            ),
            Ok(PathBuf::from("/home/a/midoffice/../shared/scenarios"))
        );
        assert_eq!(
            from_user_directory(Path::new("/srv/scenarios"), Some("/home/a".into())),
            Ok(PathBuf::from("/srv/scenarios"))
        );
        assert_eq!(
            from_user_directory(Path::new("/srv/scenarios"), None),
            Ok(PathBuf::from("/srv/scenarios"))
        );
        assert!(from_user_directory(Path::new("scenarios"), None).is_err());
        assert!(from_user_directory(Path::new("scenarios"), Some("relative".into())).is_err());
    }

    #[test]
    fn the_project_folder_is_in_this_repository() {
        let folder = project_folder();
        assert!(folder.ends_with("tests/scenarios"), "{}", folder.display());
        assert!(
            folder.join("../../Cargo.toml").is_file(),
            "{}",
            folder.display()
        );
        assert!(!scenario_files(&[folder]).is_empty());
    }
}
