//! placeholder
pub mod pb {
    tonic::include_proto!("midoffice.v1");
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("midoffice_descriptor");
}
