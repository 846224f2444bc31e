//! Decides, when the tests are compiled, whether their PostgreSQL halves run: without
//! `MIDOFFICE_TEST_DATABASE_URL` (and without `MIDOFFICE_REQUIRE_POSTGRES=1`) it sets
//! `cfg(postgres_skipped)`, and each `database_test!` compiles its `::postgres` half as
//! `#[ignore]`, so that `cargo test` reports it `ignored` instead of a bare `ok`. libtest
//! has no way to report a skip decided while the test runs.
//!
//! The build script of every package with PostgreSQL tests (`midoffice-tests`,
//! `midoffice-store`, `midoffice-scenarios`); cargo runs it again, and rebuilds the
//! package, when either variable changes.

const DATABASE_URL_VAR: &str = "MIDOFFICE_TEST_DATABASE_URL";
const REQUIRE_POSTGRES_VAR: &str = "MIDOFFICE_REQUIRE_POSTGRES";

fn main() {
    println!("cargo::rerun-if-env-changed={DATABASE_URL_VAR}");
    println!("cargo::rerun-if-env-changed={REQUIRE_POSTGRES_VAR}");
    println!("cargo::rustc-check-cfg=cfg(postgres_skipped)");
    let has_url = std::env::var(DATABASE_URL_VAR).is_ok_and(|url| !url.trim().is_empty());
    let required = std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v.trim() == "1");
    if !has_url && !required {
        println!("cargo::rustc-cfg=postgres_skipped");
    }
}
