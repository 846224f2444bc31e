//! Generates the gRPC code from `proto/` with protox, so no system `protoc` is needed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        // Vendored from googleapis: the `field_behavior` annotation on every field.
        "google/api/field_behavior.proto",
        "midoffice/v1/types.proto",
        "midoffice/v1/contacts.proto",
        "midoffice/v1/parties.proto",
        "midoffice/v1/tenants.proto",
        "midoffice/v1/figures.proto",
    ];
    // tonic-prost-build does not print these itself (grpc-rust #2511).
    for file in &files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    // Also includes the imported files (field_behavior, the well-known types), so
    // reflection can describe every type and annotation the services use.
    let fds = protox::compile(files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_path = out.join("midoffice_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
