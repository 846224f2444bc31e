//! The pages on an address of their own (`server.pages_listen`), over real sockets on
//! both backends: the thermometer and the dashboard answer there (HTTP/1.1, and HTTP/2
//! for a client that speaks it) and nothing else does (404, plain text, also for gRPC);
//! on the gRPC port their paths are 404 while gRPC works as before; the dashboard keeps
//! its credential there (a key, or a TLS client certificate over the server's TLS, which
//! the pages' address speaks too); both addresses stop with the server.

use midoffice_api::auth::{Access, AccessConfig, ApiKey, Grant, Role, key_hash, new_key};
use midoffice_domain::TenantId;
use midoffice_tests::http::{Answer, get, get_with, send, send_to};
use midoffice_tests::pb;
use midoffice_tests::{
    Backend, Setup, TENANT, TestDatabase, database_test, date, on_backend_with, request,
};

fn apart() -> Setup {
    Setup {
        pages_apart: true,
        ..Setup::default()
    }
}

/// The tenant publishes its thermometer (a page is off until it does), through a
/// second store on the server's database: the tests with configured access have no
/// admin credential, and the server sees settings changed elsewhere.
async fn publish(b: &Backend) {
    let tenant = TenantId::parse(TENANT).unwrap();
    let elsewhere = midoffice_store::Store::connect(b.db_url())
        .await
        .expect("a second store");
    let mut settings = elsewhere.settings(&tenant).await.unwrap();
    settings.public_page.published = true;
    elsewhere.replace_settings(&tenant, settings).await.unwrap();
}

/// A plain-text 404 that shows nothing of a page.
fn assert_not_found(a: &Answer, what: &str) {
    assert_eq!(a.status, 404, "{what}: {}", a.body);
    assert_eq!(
        a.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{what}"
    );
    assert!(a.body.contains("Not found"), "{what}: {}", a.body);
    assert!(!a.body.contains('<'), "{what}: {}", a.body);
}

/// GetThermometer of October 2026 on `b`'s gRPC port.
async fn get_thermometer(b: &Backend) -> Result<pb::GetThermometerResponse, tonic::Status> {
    b.figures()
        .get_thermometer(request(
            TENANT,
            pb::GetThermometerRequest {
                period: Some(pb::Period {
                    start_date: Some(date(2026, 10, 1)),
                    end_date: Some(date(2026, 11, 1)),
                    as_of: None,
                }),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

database_test!(the_pages_answer_on_their_own_address_and_not_on_the_grpc_port);
async fn the_pages_answer_on_their_own_address_and_not_on_the_grpc_port(database: TestDatabase) {
    on_backend_with(database, apart(), |b| async move {
        publish(&b).await;
        assert_ne!(b.pages_addr(), b.addr(), "a second address");
        let october = "from=2026-10-01&to=2026-10-31";

        // The pages, on their address (`get` goes there).
        let a = get(&b, &format!("/thermometer/{TENANT}?{october}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(a.body.contains("<html"), "{}", a.body);
        let a = get(&b, &format!("/thermometer/{TENANT}.json?{october}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let json: serde_json::Value = serde_json::from_str(&a.body).expect("JSON");
        assert_eq!(json["tenant"], TENANT);
        let norms = get_thermometer(&b).await.expect("GetThermometer").norms;
        assert_eq!(json["norms"].as_array().map(Vec::len), Some(norms.len()));
        // Development: the dashboard is open to this loopback peer.
        let a = get(&b, &format!("/dashboard/{TENANT}?{october}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.body.contains("<svg"), "charts");
        // The pages' own refusals are unchanged there.
        let a = get(&b, "/thermometer/Not-A-Tenant").await;
        assert_eq!(a.status, 404);
        assert!(
            a.body.contains("/thermometer/"),
            "the page's own 404: {}",
            a.body
        );
        let a = get(&b, &format!("/thermometer/{TENANT}?from=2026-10-01")).await;
        assert_eq!(a.status, 400, "{}", a.body);
        let a = send(&b, "POST", &format!("/thermometer/{TENANT}")).await;
        assert_eq!(a.status, 405);

        // Nothing else on the pages' address.
        for target in [
            "/",
            "/thermometerx",
            "/index.html",
            "/midoffice.v1.FigureService/GetThermometer",
            "/grpc.health.v1.Health/Check",
        ] {
            assert_not_found(&get(&b, target).await, target);
            assert_not_found(&send(&b, "POST", target).await, target);
        }

        // On the gRPC port the pages' paths are 404 and show no figure.
        for target in [
            format!("/thermometer/{TENANT}?{october}"),
            format!("/thermometer/{TENANT}.json"),
            format!("/dashboard/{TENANT}"),
            "/thermometer".to_owned(),
        ] {
            let a = send_to(b.addr(), "GET", &target, "").await;
            assert_not_found(&a, &target);
        }

        // gRPC works on the gRPC port as before.
        assert_eq!(get_thermometer(&b).await.expect("gRPC").norms, norms);
        let mut health = tonic_health::pb::health_client::HealthClient::new(b.channel());
        let serving = health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("health");
        assert_eq!(
            serving.into_inner().status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );

        // An HTTP/2 (gRPC) client reaches the pages' address, and finds no service.
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", b.pages_addr()))
            .expect("a URL")
            .connect()
            .await
            .expect("an HTTP/2 connection to the pages' address");
        let status = pb::figure_service_client::FigureServiceClient::new(channel)
            .get_figures(request(TENANT, pb::GetFiguresRequest::default()))
            .await
            .expect_err("gRPC on the pages' address");
        // Plain text, not a gRPC status: tonic reports the HTTP answer it could not read.
        assert!(status.message().contains("404 Not Found"), "{status:?}");
        assert_eq!(
            status
                .metadata()
                .get("content-type")
                .map(|v| v.to_str().unwrap()),
            Some("text/plain; charset=utf-8")
        );

        // Both addresses stop with the server.
        let pages = b.pages_addr().to_owned();
        b.stop_server().await;
        assert!(
            tokio::net::TcpStream::connect(&pages).await.is_err(),
            "the pages' address still accepts connections"
        );
    })
    .await;
}

database_test!(the_dashboard_needs_its_credential_on_the_pages_address);
async fn the_dashboard_needs_its_credential_on_the_pages_address(database: TestDatabase) {
    let dash = new_key().unwrap();
    let channel = new_key().unwrap();
    let grant = |roles: &[Role]| Grant {
        tenants: vec![TenantId::parse(TENANT).unwrap()],
        roles: roles.to_vec(),
        channels: None,
    };
    let access = Access::configured(AccessConfig {
        keys: vec![
            ApiKey {
                name: "dash".into(),
                sha256: key_hash(&dash),
                grant: grant(&[Role::Dashboard]),
            },
            ApiKey {
                name: "channel".into(),
                sha256: key_hash(&channel),
                grant: grant(&[Role::Channel]),
            },
        ],
        ..Default::default()
    });
    let setup = Setup { access, ..apart() };
    on_backend_with(database, setup, move |b| async move {
        publish(&b).await;
        let page = format!("/dashboard/{TENANT}?from=2026-07-01&to=2026-10-31");
        let a = get(&b, &page).await;
        assert_eq!(a.status, 401, "{}", a.body);
        assert!(a.header("www-authenticate").is_some());
        let a = get_with(&b, &page, &format!("Authorization: Bearer {channel}\r\n")).await;
        assert_eq!(a.status, 403, "{}", a.body);
        let a = get_with(&b, &page, &format!("Authorization: Bearer {dash}\r\n")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.body.contains("<svg"), "charts");
        // The public page needs none.
        let a = get(&b, &format!("/thermometer/{TENANT}.json")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        // With the credential, the gRPC port still has no dashboard.
        let a = send_to(
            b.addr(),
            "GET",
            &page,
            &format!("Authorization: Bearer {dash}\r\n"),
        )
        .await;
        assert_not_found(&a, &page);
    })
    .await;
}

/// A CA, a server certificate for `localhost` and a client certificate, PEM; and the
/// client certificate's SHA-256.
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
    client_sha256: [u8; 32],
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    use sha2::Digest;
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "midoffice test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server.signed_by(&server_key, &ca).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, "dashboard proxy");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client.signed_by(&client_key, &ca).unwrap();
    Pki {
        ca: ca.pem(),
        server: (server.pem(), server_key.serialize_pem()),
        client_sha256: sha2::Sha256::digest(client.der()).into(),
        client: (client.pem(), client_key.serialize_pem()),
    }
}

/// One HTTP/1.1 GET over TLS (no ALPN offered, so HTTP/1.1 it is), with the client
/// certificate when `identity`; the status, or `None` when the connection failed.
async fn tls_get(addr: &str, target: &str, pki: &Pki, identity: bool) -> Option<u16> {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = if identity {
        let chain = vec![CertificateDer::from_pem_slice(pki.client.0.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(pki.client.1.as_bytes()).unwrap();
        builder.with_client_auth_cert(chain, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.ok()?;
    let text = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(text.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    // The answer is complete before the peer closes, with or without close_notify.
    let _ = tls.read_to_end(&mut raw).await;
    let head = String::from_utf8_lossy(&raw);
    head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

database_test!(the_pages_address_speaks_the_servers_tls_and_takes_its_client_certificates);
async fn the_pages_address_speaks_the_servers_tls_and_takes_its_client_certificates(
    database: TestDatabase,
) {
    let pki = pki();
    let access = Access::configured(AccessConfig {
        client_certs: vec![midoffice_api::auth::ClientCert {
            name: "dashboard proxy".into(),
            sha256: pki.client_sha256,
            grant: Grant {
                tenants: vec![TenantId::parse(TENANT).unwrap()],
                roles: vec![Role::Dashboard],
                channels: None,
            },
        }],
        ..Default::default()
    });
    let setup = Setup {
        access,
        tls: Some(midoffice_tests::Tls {
            cert_pem: pki.server.0.clone().into_bytes(),
            key_pem: pki.server.1.clone().into_bytes(),
            client_ca_pem: Some(pki.ca.clone().into_bytes()),
        }),
        client_tls: Some(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(&pki.ca))
                .domain_name("localhost"),
        ),
        pages_apart: true,
        cors: Default::default(),
    };
    on_backend_with(database, setup, move |b| async move {
        publish(&b).await;
        let pages = b.pages_addr().to_owned();
        let dashboard = format!("/dashboard/{TENANT}");
        let thermometer = format!("/thermometer/{TENANT}.json");
        // The public page over TLS, no certificate needed.
        assert_eq!(tls_get(&pages, &thermometer, &pki, false).await, Some(200));
        // The dashboard: its client certificate is the credential there.
        assert_eq!(tls_get(&pages, &dashboard, &pki, false).await, Some(401));
        assert_eq!(tls_get(&pages, &dashboard, &pki, true).await, Some(200));
        assert_eq!(tls_get(&pages, "/", &pki, true).await, Some(404));
        // On the gRPC port, over the same TLS: 404.
        assert_eq!(tls_get(b.addr(), &dashboard, &pki, true).await, Some(404));
        // No plain HTTP on the pages' address.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut plain = tokio::net::TcpStream::connect(&pages).await.unwrap();
        let text = format!("GET {thermometer} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let _ = plain.write_all(text.as_bytes()).await;
        let mut raw = Vec::new();
        let _ = plain.read_to_end(&mut raw).await;
        assert!(
            !raw.starts_with(b"HTTP/1.1 200"),
            "a plain connection was served"
        );
    })
    .await;
}
