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
        "midoffice/v1/processing_log.proto",
        "midoffice/v1/commitments.proto",
        "midoffice/v1/benchmark.proto",
    ];
    // tonic-prost-build does not print these itself (grpc-rust #2511).
    for file in &files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    // With the imported files (field_behavior, the well-known types), so reflection can
    // describe every type and annotation the services use.
    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(files)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // Encoded by protox itself: re-encoding its prost-types copy would drop the options'
    // extensions, such as every `google.api.field_behavior`.
    std::fs::write(
        out.join("midoffice_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let fds = compiler.file_descriptor_set();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // tonic_prost's codec, but invalid protobuf is INVALID_ARGUMENT (see codec.rs).
        .codec_path("crate::codec::MidofficeCodec")
        .compile_fds(fds)?;
    Ok(())
}
