//! The standard services beside the API: gRPC health, server reflection, and gRPC-Web
//! over plain HTTP/1.1 for browsers.

use midoffice_tests::pb::{self, NormStatus};
use midoffice_tests::{Backend, TENANT, TestDatabase, at, database_test, date, on_backend};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

const SERVICES: [&str; 4] = [
    "midoffice.v1.ContactService",
    "midoffice.v1.PartyService",
    "midoffice.v1.TenantService",
    "midoffice.v1.FigureService",
];

database_test!(health_check_says_serving);
async fn health_check_says_serving(database: TestDatabase) {
    on_backend(database, |b| async move {
        let answer = HealthClient::new(b.channel())
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("grpc.health.v1.Health/Check")
            .into_inner();
        assert_eq!(answer.status, ServingStatus::Serving as i32);
    })
    .await;
}

async fn reflect(b: &Backend, request: MessageRequest) -> MessageResponse {
    let mut stream = ServerReflectionClient::new(b.channel())
        .server_reflection_info(tokio_stream::iter([ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        }]))
        .await
        .expect("grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
        .into_inner();
    let answer: ServerReflectionResponse = stream
        .message()
        .await
        .expect("a reflection answer")
        .expect("the stream ended without an answer");
    answer
        .message_response
        .expect("an answer without a response")
}

database_test!(reflection_lists_and_describes_the_services);
async fn reflection_lists_and_describes_the_services(database: TestDatabase) {
    on_backend(database, |b| async move {
        let MessageResponse::ListServicesResponse(list) =
            reflect(&b, MessageRequest::ListServices(String::new())).await
        else {
            panic!("ListServices did not answer with a list");
        };
        let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
        for service in SERVICES {
            assert!(
                names.iter().any(|n| n == service),
                "{service} is not listed: {names:?}"
            );
        }

        let MessageResponse::FileDescriptorResponse(files) = reflect(
            &b,
            MessageRequest::FileContainingSymbol("midoffice.v1.ContactService".into()),
        )
        .await
        else {
            panic!("FileContainingSymbol did not answer with a file");
        };
        let methods: Vec<String> = files
            .file_descriptor_proto
            .iter()
            .map(|bytes| {
                prost_types::FileDescriptorProto::decode(bytes.as_slice())
                    .expect("a file descriptor")
            })
            .flat_map(|file| file.service)
            .filter(|s| s.name() == "ContactService")
            .flat_map(|s| s.method)
            .map(|m| m.name().to_owned())
            .collect();
        assert!(
            methods.iter().any(|m| m == "StartContact"),
            "ContactService methods: {methods:?}"
        );
    })
    .await;
}

/// A gRPC-Web (and gRPC) frame: flag, big-endian length, payload.
fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend(
        u32::try_from(payload.len())
            .expect("a small message")
            .to_be_bytes(),
    );
    out.extend(payload);
    out
}

/// The body of a chunked HTTP/1.1 message.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = find(body, b"\r\n").expect("a chunk size line");
        let size_text = std::str::from_utf8(&body[..line_end]).expect("an ASCII chunk size");
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).expect("a hexadecimal chunk size");
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend(&body[..size]);
        body = &body[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

database_test!(grpc_web_answers_a_plain_http1_post);
async fn grpc_web_answers_a_plain_http1_post(database: TestDatabase) {
    on_backend(database, |b| async move {
        let message = pb::GetThermometerRequest {
            period: Some(pb::Period {
                from: Some(date(2026, 3, 1)),
                to: Some(date(2026, 4, 1)),
                as_of: Some(at("2026-04-01T00:00:00+02:00")),
            }),
        };
        let body = frame(0, &message.encode_to_vec());
        let head = format!(
            "POST /midoffice.v1.FigureService/GetThermometer HTTP/1.1\r\n\
             Host: {}\r\n\
             Content-Type: application/grpc-web+proto\r\n\
             Accept: application/grpc-web+proto\r\n\
             X-Grpc-Web: 1\r\n\
             X-Tenant: {TENANT}\r\n\
             Content-Length: {}\r\n\
             Connection: close\r\n\r\n",
            b.addr(),
            body.len()
        );
        let mut socket = tokio::net::TcpStream::connect(b.addr())
            .await
            .expect("connect");
        socket
            .write_all(head.as_bytes())
            .await
            .expect("send the head");
        socket.write_all(&body).await.expect("send the body");
        let mut answer = Vec::new();
        socket
            .read_to_end(&mut answer)
            .await
            .expect("read the answer");

        let split = find(&answer, b"\r\n\r\n").expect("an HTTP answer with a head");
        let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
        let raw_body = &answer[split + 4..];
        assert!(head.starts_with("http/1.1 200"), "not 200 OK: {head}");
        assert!(
            head.contains("content-type: application/grpc-web"),
            "not gRPC-Web: {head}"
        );
        let body = if head.contains("transfer-encoding: chunked") {
            dechunk(raw_body)
        } else {
            raw_body.to_vec()
        };

        // Frames: the message (flag 0), then the trailers (flag 0x80).
        let mut rest = body.as_slice();
        let mut thermometer = None;
        let mut trailers = String::new();
        while rest.len() >= 5 {
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            let payload = &rest[5..5 + len];
            if rest[0] & 0x80 == 0 {
                thermometer =
                    Some(pb::GetThermometerResponse::decode(payload).expect("a thermometer"));
            } else {
                trailers.push_str(&String::from_utf8_lossy(payload).to_ascii_lowercase());
            }
            rest = &rest[5 + len..];
        }
        let grpc_status_ok = trailers.contains("grpc-status:0") || head.contains("grpc-status: 0");
        assert!(
            grpc_status_ok,
            "no grpc-status 0: head {head}, trailers {trailers}"
        );
        let thermometer = thermometer.expect("no message frame in the answer");
        // A new tenant has the eight default norms, and no contacts to judge them by.
        assert_eq!(thermometer.norms.len(), 8, "{thermometer:?}");
        assert!(
            thermometer
                .norms
                .iter()
                .any(|n| n.norm_id == "phone-answered")
        );
        assert!(
            thermometer
                .norms
                .iter()
                .all(|n| n.status == NormStatus::NoData as i32 && n.items == 0)
        );
    })
    .await;
}
