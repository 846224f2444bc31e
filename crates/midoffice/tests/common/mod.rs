//! What the tests of the real binary share: the server as a child process, and a real
//! OTLP receiver (the trace and metrics services) on loopback for it to export to.

use midoffice_scenarios::ScratchDb;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::transport::Endpoint;

/// A free port on the loopback interface (nothing listens there once this returns).
#[allow(dead_code)] // Each test binary compiles this module; not every one uses each.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").port()
}

/// The server as a child process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` on `database_url` and waits until it answers.
#[allow(dead_code)] // Each test binary compiles this module; not every one uses each.
pub async fn launch(binary: &Path, database_url: &str, dir: &Path) -> Server {
    launch_with_env(binary, database_url, dir, &[]).await
}

/// [`launch`] with these environment variables set too.
pub async fn launch_with_env(
    binary: &Path,
    database_url: &str,
    dir: &Path,
    vars: &[(&str, &str)],
) -> Server {
    let port = free_port();
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MIDOFFICE") {
            command.env_remove(name);
        }
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("a log file");
    let child = command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        // On loopback without credentials (PostgreSQL alone would infer production,
        // which refuses to serve without them).
        .args(["--mode", "development"])
        .arg("--database-url")
        .arg(database_url)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("MIDOFFICE_SECRET", "ab".repeat(32))
        .envs(vars.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("a log file"))
        .stderr(log)
        .spawn()
        .expect("the midoffice binary starts");
    let mut server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..600 {
        if let Some(status) = server.child.try_wait().expect("the child's state") {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("the server exited ({status}) while starting:\n{log}");
        }
        if let Ok(channel) = Endpoint::from_shared(server.url.clone())
            .expect("a URL")
            .connect()
            .await
        {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            if health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .is_ok()
            {
                return server;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.child.kill().ok();
    panic!("the server did not answer within a minute");
}

#[allow(dead_code)] // As `launch`: not every test binary uses it.
pub async fn channel(url: &str) -> tonic::transport::Channel {
    Endpoint::from_shared(url.to_owned())
        .expect("a URL")
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// What a finished command printed, stdout then stderr.
#[allow(dead_code)] // As `launch`: not every test binary uses it.
pub fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir`, at any depth, whose name ends in `.EXT` for one of
/// `extensions`, sorted.
#[allow(dead_code)] // As `launch`: not every test binary uses it.
pub fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path
                .extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// What an OTLP receiver got, export call by export call.
#[derive(Clone)]
pub struct Received<T> {
    pub requests: Arc<Mutex<Vec<T>>>,
}

impl<T> Default for Received<T> {
    fn default() -> Self {
        Received {
            requests: Arc::default(),
        }
    }
}

impl<T: Clone> Received<T> {
    /// Every export request received so far.
    #[allow(dead_code)] // As `launch`: not every test binary uses it.
    pub fn all(&self) -> Vec<T> {
        self.requests.lock().expect("the receiver's lock").clone()
    }

    fn push(&self, request: T) {
        self.requests
            .lock()
            .expect("the receiver's lock")
            .push(request);
    }
}

#[tonic::async_trait]
impl MetricsService for Received<ExportMetricsServiceRequest> {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl TraceService for Received<ExportTraceServiceRequest> {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A real OTLP/gRPC receiver on loopback: the metrics and the trace service, each
/// keeping what it gets. Stops when dropped.
#[allow(dead_code)] // Each test binary reads the service it tests, or none.
pub struct OtlpReceiver {
    /// `http://127.0.0.1:PORT`, the endpoint to configure.
    pub endpoint: String,
    pub metrics: Received<ExportMetricsServiceRequest>,
    pub traces: Received<ExportTraceServiceRequest>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts an [`OtlpReceiver`] on `127.0.0.1:0`.
#[allow(dead_code)] // As `launch`: not every test binary uses it.
pub async fn otlp_receiver() -> OtlpReceiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for the receiver");
    let addr = listener.local_addr().expect("the receiver's address");
    let metrics = Received::default();
    let traces = Received::default();
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(MetricsServiceServer::new(metrics.clone()))
            .add_service(TraceServiceServer::new(traces.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    OtlpReceiver {
        endpoint: format!("http://{addr}"),
        metrics,
        traces,
        task,
    }
}

/// Runs `test` with the URL and the name of a fresh database on the PostgreSQL server
/// of `base_url`, on a task of its own, then drops the database, also when the test
/// panicked (the panic is passed on).
#[allow(dead_code)] // As `launch`: not every test binary uses it.
pub async fn on_scratch_postgres<F, Fut>(base_url: &str, test: F)
where
    F: FnOnce(String, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = ScratchDb::postgres(base_url)
        .await
        .unwrap_or_else(|e| panic!("a scratch database: {e}"));
    let name = db
        .postgres_name()
        .expect("a PostgreSQL database")
        .to_owned();
    let outcome = tokio::spawn(test(db.url.clone(), name)).await;
    db.drop_db().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("the test did not finish: {e}"),
        }
    }
}

/// The contacts of each month from January to June 2026 (GetFigureSeries by month, all
/// channels) of `tenant`, asked over `channel`.
#[allow(dead_code)] // As `launch`: not every test binary uses it.
pub async fn monthly_contacts(channel: tonic::transport::Channel, tenant: &str) -> Vec<u64> {
    use midoffice_tests::pb;
    pb::figure_service_client::FigureServiceClient::new(channel)
        .get_figure_series(midoffice_tests::request(
            tenant,
            pb::GetFigureSeriesRequest {
                period: Some(pb::Period {
                    start_date: Some(midoffice_tests::date(2026, 1, 1)),
                    end_date: Some(midoffice_tests::date(2026, 7, 1)),
                    as_of: None,
                }),
                step: pb::SeriesStep::Month as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetFigureSeries failed: {s:?}"))
        .into_inner()
        .points
        .iter()
        .map(|p| p.figures.as_ref().map_or(0, |f| f.contacts))
        .collect()
}
