//! The gRPC server: the midoffice services, `grpc.health.v1.Health`, server
//! reflection (v1 and v1alpha), gRPC-Web and the pages (the public thermometer,
//! `crate::thermometer`, the public benchmark, `crate::benchmark`, and the managers'
//! dashboard, `crate::dashboard`), the JSON API
//! (`crate::json`), all on one
//! port, with limits; or the pages on an address of their own ([`Listeners::pages`]).

use crate::auth::{Access, AuthLayer};
use crate::benchmark::BenchmarkPage;
use crate::console::{Console, ConsoleLayer};
use crate::dashboard::Dashboard;
use crate::json::JsonApiLayer;
use crate::limits::{self, GuardLayer};
use crate::page::{NotFoundLayer, PageLayer};
use crate::pb;
use crate::pb::benchmark_service_server::BenchmarkServiceServer;
use crate::pb::commitment_service_server::CommitmentServiceServer;
use crate::pb::contact_service_server::ContactServiceServer;
use crate::pb::figure_service_server::FigureServiceServer;
use crate::pb::party_service_server::PartyServiceServer;
use crate::pb::processing_log_service_server::ProcessingLogServiceServer;
use crate::pb::tenant_service_server::TenantServiceServer;
use crate::service::{
    BenchmarkApi, CommitmentApi, ContactApi, FigureApi, PartyApi, ProcessingLogApi, TenantApi,
};
use crate::thermometer::Thermometer;
use midoffice_domain::identifier::Pseudonymiser;
use midoffice_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Calls over a connection's limit of streams ([`limits::STREAMS_PER_CONNECTION`]) are
/// refused at once with RESOURCE_EXHAUSTED (a client may retry with back-off) rather
/// than queued behind calls that may be slow. The server-wide budgets, deadlines and
/// memory bound are in [`crate::limits`].
const LOAD_SHED: bool = true;
/// HTTP/2 keep-alive pings find dead peers (a laptop closed mid-call).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// What every service shares: the store, the identifier-hashing secret and access.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub pseudonymiser: Pseudonymiser,
    /// How calls are authenticated and authorised.
    pub access: Access,
    /// The origins whose browsers may call the JSON API (none: no CORS).
    pub cors: crate::json::Cors,
    /// The benchmark's disclosure rules and grace (`[benchmark]` in the configuration).
    pub benchmark: crate::service::BenchmarkOptions,
}

/// The names health answers SERVING for: each midoffice service.
const SERVICE_NAMES: [&str; 7] = [
    <ContactServiceServer<ContactApi> as tonic::server::NamedService>::NAME,
    <PartyServiceServer<PartyApi> as tonic::server::NamedService>::NAME,
    <CommitmentServiceServer<CommitmentApi> as tonic::server::NamedService>::NAME,
    <TenantServiceServer<TenantApi> as tonic::server::NamedService>::NAME,
    <FigureServiceServer<FigureApi> as tonic::server::NamedService>::NAME,
    <BenchmarkServiceServer<BenchmarkApi> as tonic::server::NamedService>::NAME,
    <ProcessingLogServiceServer<ProcessingLogApi> as tonic::server::NamedService>::NAME,
];

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        reporter.set_service_status(name, status).await;
    }
}

/// TLS on the server: its certificate chain and key, and optionally the CA whose client
/// certificates are asked for (a client without one may still connect and use a key or
/// token; a client certificate is a credential only when its fingerprint is configured).
#[derive(Clone)]
pub struct Tls {
    /// The certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// The private key, PEM.
    pub key_pem: Vec<u8>,
    /// The CA of client certificates, PEM.
    pub client_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("client_ca", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl Tls {
    fn config(&self) -> tonic::transport::ServerTlsConfig {
        let identity = tonic::transport::Identity::from_pem(&self.cert_pem, &self.key_pem);
        let config = tonic::transport::ServerTlsConfig::new().identity(identity);
        match &self.client_ca_pem {
            Some(ca) => config
                .client_ca_root(tonic::transport::Certificate::from_pem(ca))
                .client_auth_optional(true),
            None => config,
        }
    }
}

/// Where the server listens.
#[derive(Debug)]
pub struct Listeners {
    /// gRPC, gRPC-Web, health, reflection; and the pages unless [`Listeners::pages`].
    pub grpc: TcpListener,
    /// The pages' own address: when given, the thermometer and the dashboard are served
    /// here (HTTP/1.1 and HTTP/2, over the server's TLS when it has TLS), every other
    /// path is `404`, and their paths on the gRPC port are `404`.
    pub pages: Option<TcpListener>,
    /// How long a client's connection lives (`server.max_connection_age_seconds`):
    /// then the server sends HTTP/2 GOAWAY, the client opens a new connection (which a
    /// load balancer may send to a replica added since) for its next calls, and the
    /// connection closes once its calls in flight have ended: each within the limit of a
    /// call ([`crate::limits`]), that is the grace. `None`: as long as the client keeps
    /// it. (tonic's own `max_connection_age_grace` is not set: in tonic 0.14.9 it
    /// replaces the GOAWAY by a hard close at age plus grace, cutting calls in flight.)
    pub max_connection_age: Option<Duration>,
}

/// A server builder whose connections live at most `age`, if set.
fn aged(builder: tonic::transport::Server, age: Option<Duration>) -> tonic::transport::Server {
    match age {
        Some(age) => builder.max_connection_age(age),
        None => builder,
    }
}

/// Serves every service on `listener` until `shutdown` completes; then health turns
/// NOT_SERVING, new connections are refused and calls in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    serve_with(listener, state, None, shutdown).await
}

/// [`serve`], over TLS when `tls` is given.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let listeners = Listeners {
        grpc: listener,
        pages: None,
        max_connection_age: None,
    };
    serve_on(listeners, state, tls, shutdown).await
}

/// [`serve_with`] on `listeners`: with the pages on their own address when it is given.
/// Both stop together, gracefully, when `shutdown` completes.
pub async fn serve_on(
    listeners: Listeners,
    state: AppState,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let auth = AuthLayer::new(state.access.clone());
    // One layer per page, each with its own budget, on whichever address serves them.
    let thermometer = PageLayer::new(Thermometer::new(
        state.store.clone(),
        state.benchmark.disclosure,
    ));
    let dashboard = PageLayer::new(Dashboard::new(state.store.clone(), state.access.clone()));
    let benchmark = PageLayer::new(BenchmarkPage::new(state.store.clone(), state.benchmark));
    let json_api = JsonApiLayer::new(state.cors.clone());
    let console = ConsoleLayer::new(Console::new(
        state.access.clone(),
        state.pseudonymiser.clone(),
    ));
    let state = Arc::new(state);
    let (reporter, health) = tonic_health::server::health_reporter();
    set_health(&reporter, ServingStatus::Serving).await;

    // The descriptor sets are compiled in, so building reflection cannot fail in
    // practice; if it ever did, serve without reflection rather than not at all.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc.ErrorInfo and BadRequest, so a client can read error details.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .inspect_err(|e| tracing::error!(error = %e, "server reflection v1 is not available"))
        .ok();
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .inspect_err(|e| tracing::error!(error = %e, "server reflection v1alpha is not available"))
        .ok();

    // One shutdown for both addresses: the gRPC port's future tells the pages'.
    let (stop, stopped) = watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        set_health(&reporter, ServingStatus::NotServing).await;
        tracing::info!("shutting down: finishing calls in flight");
        let _ = stop.send(true);
    };
    // On the gRPC port, the pages' paths are 404 when the pages are served elsewhere.
    let moved = if listeners.pages.is_some() {
        vec![
            crate::thermometer::PREFIX,
            crate::dashboard::PREFIX,
            crate::benchmark::PREFIX,
        ]
    } else {
        Vec::new()
    };
    // One connection cap for both addresses: the memory bound (`limits`) holds for all.
    let places = limits::connection_places();
    let pages = listeners.pages.map(|listener| {
        serve_pages(
            limits::capped_incoming_in(listener, places.clone()),
            thermometer.clone(),
            dashboard.clone(),
            benchmark.clone(),
            tls.clone(),
            listeners.max_connection_age,
            stopped,
        )
    });

    let mut builder = aged(
        tonic::transport::Server::builder(),
        listeners.max_connection_age,
    );
    if let Some(tls) = &tls {
        builder = builder.tls_config(tls.config())?;
    }
    let grpc = builder
        .accept_http1(true)
        .concurrency_limit_per_connection(limits::STREAMS_PER_CONNECTION as usize)
        .max_concurrent_streams(limits::STREAMS_PER_CONNECTION)
        .initial_connection_window_size(limits::CONNECTION_WINDOW)
        .initial_stream_window_size(limits::STREAM_WINDOW)
        .http2_max_header_list_size(limits::MAX_HEADER_LIST_BYTES)
        .load_shed(LOAD_SHED)
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        // Outermost: every call gets its span (continuing the caller's trace), and is
        // measured and logged, also those refused by the layers inside.
        .layer(crate::metrics::RpcMetricsLayer::default())
        // The pages' paths, when the pages have an address of their own: 404.
        .layer(NotFoundLayer::below(moved))
        // The public thermometer page: plain GETs of `/thermometer/...`, answered before
        // gRPC-Web (which refuses other HTTP/1.1 requests) and without a credential.
        .layer(thermometer)
        // The public benchmark page: `/benchmark/...`, as the thermometer.
        .layer(benchmark)
        // The managers' dashboard: plain GETs of `/dashboard/...`, before gRPC-Web; it
        // checks the `dashboard` credential itself (as GetFigureSeries does).
        .layer(dashboard)
        // The JSON API: requests below `/api/v1/` become gRPC requests to the services
        // below (through gRPC-Web, the credential check and the limits, as any call).
        .layer(json_api)
        // The reference console: `/console/...` on the gRPC port only; it checks the
        // `channel` credential itself and calls the services below through gRPC.
        .layer(console)
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(auth)
        // Budgets, deadlines (DEADLINE_EXCEEDED, not tonic's CANCELLED) and the statuses
        // about bad request bytes; the longest call is its job, not `.timeout`'s. Inside
        // the credential check, so a call without a valid credential takes no place in a
        // budget (a valid credential's role is checked by the handler, inside the budget).
        .layer(GuardLayer::default())
        .add_service(health)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(
            ContactServiceServer::new(ContactApi::new(state.clone()))
                .max_decoding_message_size(limits::MAX_MESSAGE_BYTES),
        )
        .add_service(
            PartyServiceServer::new(PartyApi::new(state.clone()))
                .max_decoding_message_size(limits::MAX_MESSAGE_BYTES),
        )
        .add_service(
            CommitmentServiceServer::new(CommitmentApi::new(state.clone()))
                .max_decoding_message_size(limits::MAX_MESSAGE_BYTES),
        )
        .add_service(
            TenantServiceServer::new(TenantApi::new(state.clone()))
                .max_decoding_message_size(limits::MAX_MESSAGE_BYTES),
        )
        .add_service(
            ProcessingLogServiceServer::new(ProcessingLogApi::new(state.clone()))
                .max_decoding_message_size(limits::MAX_MESSAGE_BYTES),
        )
        .add_service(
            BenchmarkServiceServer::new(BenchmarkApi::new(state.clone()))
                .max_decoding_message_size(limits::MAX_MESSAGE_BYTES),
        )
        .add_service(
            FigureServiceServer::new(FigureApi::new(state))
                .max_decoding_message_size(limits::MAX_MESSAGE_BYTES),
        )
        .serve_with_incoming_shutdown(limits::capped_incoming_in(listeners.grpc, places), shutdown);
    match pages {
        None => grpc.await,
        Some(pages) => tokio::try_join!(grpc, pages).map(|_| ()),
    }
}

/// Serves the pages on `incoming` until `stopped` says so (or its sender is gone): the
/// same page layers (and budgets) as the gRPC port would have, the same TLS, limits and
/// connection cap; no gRPC, every other path `404`.
async fn serve_pages(
    incoming: impl tokio_stream::Stream<Item = std::io::Result<limits::CappedStream>> + Send + 'static,
    thermometer: PageLayer<Thermometer>,
    dashboard: PageLayer<Dashboard>,
    benchmark: PageLayer<BenchmarkPage>,
    tls: Option<Tls>,
    max_connection_age: Option<Duration>,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), tonic::transport::Error> {
    let mut builder = aged(tonic::transport::Server::builder(), max_connection_age);
    if let Some(tls) = &tls {
        builder = builder.tls_config(tls.config())?;
    }
    builder
        .accept_http1(true)
        .concurrency_limit_per_connection(limits::STREAMS_PER_CONNECTION as usize)
        .max_concurrent_streams(limits::STREAMS_PER_CONNECTION)
        .initial_connection_window_size(limits::CONNECTION_WINDOW)
        .initial_stream_window_size(limits::STREAM_WINDOW)
        .http2_max_header_list_size(limits::MAX_HEADER_LIST_BYTES)
        .load_shed(LOAD_SHED)
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        // As on the gRPC port: each request's span, duration and access log line.
        .layer(crate::metrics::RpcMetricsLayer::default())
        .layer(thermometer)
        .layer(benchmark)
        .layer(dashboard)
        // Innermost: what the pages did not answer. The routes behind it are empty.
        .layer(NotFoundLayer::everything())
        .add_routes(tonic::service::Routes::default())
        .serve_with_incoming_shutdown(incoming, async move {
            // An error (the sender dropped) means the gRPC port has stopped: stop too.
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
}

/// A server serving in a background task, for tests and the scenario runner.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The pages' own address, when they have one.
    pub pages_addr: Option<SocketAddr>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl RunningServer {
    /// The URL a client connects to: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(self) {
        // The task may have ended already; then there is nobody to tell.
        let _ = self.shutdown.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the server stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "the server task failed"),
        }
    }
}

/// Binds `127.0.0.1:0` and serves in a background task.
pub async fn spawn(state: AppState) -> std::io::Result<RunningServer> {
    spawn_with(state, None).await
}

/// [`spawn`], over TLS when `tls` is given.
pub async fn spawn_with(state: AppState, tls: Option<Tls>) -> std::io::Result<RunningServer> {
    spawn_on(state, tls, false).await
}

/// [`spawn_with`], with the pages on a second address of their own (`127.0.0.1:0`,
/// [`RunningServer::pages_addr`]) when `pages_apart`.
pub async fn spawn_on(
    state: AppState,
    tls: Option<Tls>,
    pages_apart: bool,
) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let pages = match pages_apart {
        true => Some(TcpListener::bind(("127.0.0.1", 0)).await?),
        false => None,
    };
    let pages_addr = pages.as_ref().map(TcpListener::local_addr).transpose()?;
    let listeners = Listeners {
        grpc: listener,
        pages,
        max_connection_age: None,
    };
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_on(listeners, state, tls, async move {
        // A dropped sender also stops the server.
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        pages_addr,
        shutdown,
        task,
    })
}
