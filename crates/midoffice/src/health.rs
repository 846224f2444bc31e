//! `midoffice health`: the standard gRPC health check (`grpc.health.v1.Health/Check`)
//! against a running server, for a container's HEALTHCHECK or a probe that can only run
//! a command. Exits 0 when the server answers SERVING, 1 otherwise, with one line that
//! says why. It speaks plaintext gRPC, as Kubernetes' own gRPC probes do: in the
//! default deployment TLS is terminated in front of the pod (deploy/README.md).

use clap::Args;
use std::process::ExitCode;
use std::time::Duration;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long the connection and then the call may take, each.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The flags of `midoffice health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The server's gRPC address, HOST:PORT (plaintext: a server with [tls] of its own
    /// is not reached).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
    addr: String,
    /// The service to ask about, such as midoffice.v1.ContactService [default: the
    /// server as a whole].
    #[arg(
        long,
        value_name = "NAME",
        default_value = "",
        hide_default_value = true
    )]
    service: String,
}

/// Asks the server and says what it answered: stdout and 0 when SERVING, stderr and 1
/// otherwise.
pub async fn run(args: HealthArgs) -> ExitCode {
    let asked = if args.service.is_empty() {
        args.addr.clone()
    } else {
        format!("{} ({})", args.addr, args.service)
    };
    match check(&args.addr, &args.service).await {
        Ok(()) => {
            println!("{asked}: SERVING");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("midoffice health: {asked}: {why}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok` when the server at `addr` answers SERVING for `service`; otherwise why not.
async fn check(addr: &str, service: &str) -> Result<(), String> {
    if addr.contains("://") {
        return Err(
            "give the address as HOST:PORT, without a scheme (the check speaks \
                    plaintext gRPC)"
                .to_owned(),
        );
    }
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("not an address HOST:PORT ({e})"))?
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT);
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("cannot connect: {}", with_causes(&e)))?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map_err(|status| match status.code() {
            tonic::Code::NotFound => "the server does not know this service".to_owned(),
            code => format!(
                "no answer to the health check: {code:?}: {}",
                status.message()
            ),
        })?
        .into_inner();
    match ServingStatus::try_from(answer.status) {
        Ok(ServingStatus::Serving) => Ok(()),
        Ok(status) => Err(status.as_str_name().to_owned()),
        Err(_) => Err(format!("an unknown status {}", answer.status)),
    }
}

/// An error and its causes on one line (tonic's transport error alone says only
/// "transport error"), a cause that repeats the one before left out.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut last = text.clone();
    let mut cause = error.source();
    while let Some(e) = cause {
        let said = e.to_string();
        if said != last {
            text.push_str(": ");
            text.push_str(&said);
        }
        last = said;
        cause = e.source();
    }
    text
}
