//! The midoffice gRPC API: the generated code, the conversions between protobuf and the
//! domain, the service implementations, the error mapping and the server.
//!
//! Only this crate knows about protobuf. Identifiers arrive here in clear text, are
//! parsed and keyed with the deployment's secret, and only their keyed hashes go on to
//! the store: no clear identifier leaves this crate, reaches a log or an error.

/// The generated protobuf messages, clients and servers of `midoffice.v1`.
pub mod pb {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("midoffice.v1");
    /// The encoded file descriptor set of `midoffice.v1`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("midoffice_descriptor");
}

pub mod auth;
pub mod benchmark;
pub mod codec;
pub mod console;
pub mod convert;
pub mod dashboard;
pub mod error;
pub mod json;
pub mod limits;
pub mod metrics;
pub mod oidc;
pub mod page;
pub mod server;
pub mod service;
pub mod tenant;
pub mod thermometer;
pub mod trace;

pub use error::ApiError;
pub use server::{
    AppState, Listeners, RunningServer, Tls, serve, serve_on, serve_with, spawn, spawn_with,
};
