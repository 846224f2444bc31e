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

const SERVICES: [&str; 5] = [
    "midoffice.v1.ContactService",
    "midoffice.v1.PartyService",
    "midoffice.v1.TenantService",
    "midoffice.v1.FigureService",
    "midoffice.v1.BenchmarkService",
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

        // The error details are described too, so a client can read an ErrorInfo.
        for symbol in ["google.rpc.ErrorInfo", "google.rpc.BadRequest"] {
            let answer = reflect(&b, MessageRequest::FileContainingSymbol(symbol.into())).await;
            assert!(
                matches!(answer, MessageResponse::FileDescriptorResponse(_)),
                "{symbol}: {answer:?}"
            );
        }
    })
    .await;
}

database_test!(reflection_shows_a_field_behavior_on_every_field);
/// Every field of every message the services use, as reflection describes them,
/// carries a `google.api.field_behavior`: OUTPUT_ONLY on every field of a response,
/// REQUIRED or OPTIONAL on every field of a request.
async fn reflection_shows_a_field_behavior_on_every_field(database: TestDatabase) {
    use prost_reflect::{DescriptorPool, MessageDescriptor, Value};
    on_backend(database, |b| async move {
        // Each service's file, then every file it imports, by name, as a client does.
        // The raw bytes go into the pool: prost-types would drop the options' extensions.
        let mut files: Vec<(prost_types::FileDescriptorProto, Vec<u8>)> = Vec::new();
        let mut wanted: Vec<MessageRequest> = SERVICES
            .iter()
            .map(|s| MessageRequest::FileContainingSymbol((*s).into()))
            .collect();
        while let Some(ask) = wanted.pop() {
            let MessageResponse::FileDescriptorResponse(answer) = reflect(&b, ask.clone()).await
            else {
                panic!("{ask:?} did not answer with files");
            };
            for bytes in answer.file_descriptor_proto {
                let file = prost_types::FileDescriptorProto::decode(bytes.as_slice())
                    .expect("a file descriptor");
                if files.iter().any(|(f, _)| f.name == file.name) {
                    continue;
                }
                for dependency in &file.dependency {
                    wanted.push(MessageRequest::FileByFilename(dependency.clone()));
                }
                files.push((file, bytes));
            }
        }
        // Into the pool, each file after the files it imports.
        let mut pool = DescriptorPool::new();
        while !files.is_empty() {
            let ready = files
                .iter()
                .position(|(f, _)| {
                    f.dependency
                        .iter()
                        .all(|d| pool.get_file_by_name(d).is_some())
                })
                .expect("reflection serves every file the services import");
            let (_, bytes) = files.remove(ready);
            pool.decode_file_descriptor_proto(bytes.as_slice())
                .expect("a file the pool accepts");
        }
        let behavior = pool
            .get_extension_by_name("google.api.field_behavior")
            .expect("the field_behavior extension");
        let name_of = |n: i32| {
            pool.get_enum_by_name("google.api.FieldBehavior")
                .and_then(|e| e.get_value(n))
                .map(|v| v.name().to_owned())
                .unwrap_or_else(|| n.to_string())
        };

        fn all(m: MessageDescriptor, out: &mut Vec<MessageDescriptor>) {
            for nested in m.child_messages() {
                all(nested, out);
            }
            out.push(m);
        }
        let mut messages = Vec::new();
        for m in pool
            .all_messages()
            .filter(|m| m.package_name() == "midoffice.v1")
        {
            if m.parent_message().is_none() {
                all(m, &mut messages);
            }
        }
        assert!(messages.len() > 30, "{} messages", messages.len());
        let mut fields = 0;
        let mut missing = Vec::new();
        // A map's entry is a message protoc makes for it (key and value): its field
        // carries the behavior.
        for m in messages.iter().filter(|m| !m.is_map_entry()) {
            for field in m.fields() {
                fields += 1;
                let options = field.options();
                let behaviors: Vec<String> = match options.get_extension(&behavior).as_ref() {
                    Value::List(values) => values
                        .iter()
                        .filter_map(Value::as_enum_number)
                        .map(name_of)
                        .collect(),
                    _ => Vec::new(),
                };
                let ok = match behaviors.as_slice() {
                    [one] if m.name().ends_with("Response") => one == "OUTPUT_ONLY",
                    [one] if m.name().ends_with("Request") => {
                        one == "REQUIRED" || one == "OPTIONAL"
                    }
                    [one] => ["REQUIRED", "OPTIONAL", "OUTPUT_ONLY"].contains(&one.as_str()),
                    _ => false,
                };
                if !ok {
                    missing.push(format!("{}: {behaviors:?}", field.full_name()));
                }
            }
        }
        assert!(fields > 100, "{fields} fields");
        assert!(
            missing.is_empty(),
            "fields without a fitting behavior: {missing:#?}"
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
                start_date: Some(date(2026, 3, 1)),
                end_date: Some(date(2026, 4, 1)),
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
