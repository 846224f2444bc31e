//! Credentials over real sockets, on both backends: API keys (good, wrong, unknown, in
//! `x-api-key`, several tenants and `x-tenant`, channel limits), OIDC tokens against a
//! JWKS served on loopback (good, expired, another issuer or audience, an algorithm not
//! configured, `alg: none`, HMAC with the public key, a rolled key fetched on its unknown
//! `kid`, at most one fetch for a burst of unknown ones, tenant and role claims), and TLS
//! (plain refused, a configured client certificate accepted, another one refused).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use midoffice_api::auth::{AccessConfig, ApiKey, ClientCert, Grant, Role, key_hash, new_key};
use midoffice_api::oidc::{Algorithm, OidcConfig};
use midoffice_domain::TenantId;
use midoffice_domain::contact::Channel as DomainChannel;
use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::figure_service_client::FigureServiceClient;
use midoffice_tests::pb::party_service_client::PartyServiceClient;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Access, Backend, Setup, TENANT, TestDatabase, Tls, bsn, database_test, on_backend_with,
    period_2026, resolved, start,
};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use tonic_types::StatusExt;

const B: &str = "gemeente-b";

fn tenants(list: &[&str]) -> Vec<TenantId> {
    list.iter().map(|t| TenantId::parse(t).unwrap()).collect()
}

fn grant(list: &[&str], roles: &[Role], channels: Option<Vec<DomainChannel>>) -> Grant {
    Grant {
        tenants: tenants(list),
        roles: roles.to_vec(),
        channels,
    }
}

fn key_entry(name: &str, key: &str, grant: Grant) -> ApiKey {
    ApiKey {
        name: name.to_owned(),
        sha256: key_hash(key),
        grant,
    }
}

/// A request with `authorization: Bearer <credential>` (if any) and `x-tenant` (if any).
fn req<T>(credential: Option<&str>, tenant: Option<&str>, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(c) = credential {
        r.metadata_mut()
            .insert("authorization", format!("Bearer {c}").parse().unwrap());
    }
    if let Some(t) = tenant {
        r.metadata_mut().insert("x-tenant", t.parse().unwrap());
    }
    r
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

fn assert_refused<T: std::fmt::Debug>(
    got: Result<T, tonic::Status>,
    code: Code,
    why: &str,
    never_shown: &[&str],
) {
    let s = got.expect_err("the call was not refused");
    assert_eq!((s.code(), reason(&s).as_str()), (code, why), "{s:?}");
    for secret in never_shown {
        assert!(
            !s.message().contains(secret),
            "the error shows a credential"
        );
        assert!(
            !format!("{:?}", s.details()).contains(secret),
            "the error details show a credential"
        );
    }
}

fn figures_request(
    credential: Option<&str>,
    tenant: Option<&str>,
) -> tonic::Request<pb::GetFiguresRequest> {
    req(
        credential,
        tenant,
        pb::GetFiguresRequest {
            period: Some(period_2026()),
            ..Default::default()
        },
    )
}

fn start_request(channel: Channel, at: &str, id: &str) -> pb::StartContactRequest {
    pb::StartContactRequest {
        request_id: String::new(),
        start: Some(start(channel, at, Some(bsn(id)), "paspoort")),
    }
}

database_test!(api_keys_authenticate_and_choose_the_tenant);
async fn api_keys_authenticate_and_choose_the_tenant(database: TestDatabase) {
    let one = new_key().unwrap();
    let both = new_key().unwrap();
    let phone = new_key().unwrap();
    let unknown = new_key().unwrap();
    let access = Access::configured(AccessConfig {
        keys: vec![
            key_entry(
                "one",
                &one,
                grant(&[TENANT], &[Role::Channel, Role::Dashboard], None),
            ),
            key_entry(
                "both",
                &both,
                grant(&[TENANT, B], &[Role::Channel, Role::Dashboard], None),
            ),
            key_entry(
                "phone",
                &phone,
                grant(
                    &[TENANT],
                    &[Role::Channel],
                    Some(vec![DomainChannel::Phone]),
                ),
            ),
        ],
        ..Default::default()
    });
    let setup = Setup {
        access,
        ..Setup::default()
    };
    on_backend_with(database, setup, move |b| async move {
        let mut figures = b.figures();
        let mut contacts = b.contacts();
        let secrets = [
            one.as_str(),
            both.as_str(),
            phone.as_str(),
            unknown.as_str(),
        ];

        // A good key, with and without naming its one tenant.
        figures
            .get_figures(figures_request(Some(&one), None))
            .await
            .unwrap();
        figures
            .get_figures(figures_request(Some(&one), Some(TENANT)))
            .await
            .unwrap();
        // The same key in x-api-key.
        let mut r = figures_request(None, None);
        r.metadata_mut().insert("x-api-key", one.parse().unwrap());
        figures.get_figures(r).await.unwrap();

        // No key, a wrong one, an unknown (never configured, or revoked) one.
        assert_refused(
            figures
                .get_figures(figures_request(None, Some(TENANT)))
                .await,
            Code::Unauthenticated,
            "CREDENTIAL_MISSING",
            &secrets,
        );
        // The key with its last hex digit changed (to another digit, whatever it was).
        let last = if one.ends_with('0') { '1' } else { '0' };
        let wrong = format!("{}{last}", &one[..one.len() - 1]);
        assert_ne!(wrong, one);
        for bad in [wrong.as_str(), unknown.as_str(), "not-a-key"] {
            assert_refused(
                figures
                    .get_figures(figures_request(Some(bad), Some(TENANT)))
                    .await,
                Code::Unauthenticated,
                "CREDENTIAL_INVALID",
                &[&wrong, &unknown],
            );
        }
        let mut r = figures_request(None, Some(TENANT));
        r.metadata_mut()
            .insert("authorization", format!("Basic {one}").parse().unwrap());
        assert_refused(
            figures.get_figures(r).await,
            Code::Unauthenticated,
            "CREDENTIAL_INVALID",
            &secrets,
        );

        // A one-tenant key naming another tenant.
        assert_refused(
            figures
                .get_figures(figures_request(Some(&one), Some(B)))
                .await,
            Code::PermissionDenied,
            "TENANT_NOT_GRANTED",
            &secrets,
        );

        // A key of two tenants must name one, and acts for the one it names.
        let s = figures
            .get_figures(figures_request(Some(&both), None))
            .await
            .expect_err("no tenant named");
        assert_eq!(s.code(), Code::InvalidArgument);
        let fields: Vec<String> = s
            .get_error_details()
            .bad_request()
            .map(|b| b.field_violations.iter().map(|f| f.field.clone()).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["x-tenant"]);
        assert_refused(
            figures
                .get_figures(figures_request(Some(&both), Some("gemeente-c")))
                .await,
            Code::PermissionDenied,
            "TENANT_NOT_GRANTED",
            &secrets,
        );
        contacts
            .start_contact(req(
                Some(&both),
                Some(B),
                start_request(Channel::Phone, "2026-03-02T09:00:00+01:00", "999990019"),
            ))
            .await
            .unwrap();
        let count = |f: pb::GetFiguresResponse| f.figures.unwrap().contacts;
        let in_b = figures
            .get_figures(figures_request(Some(&both), Some(B)))
            .await
            .unwrap();
        let in_a = figures
            .get_figures(figures_request(Some(&both), Some(TENANT)))
            .await
            .unwrap();
        assert_eq!((count(in_a.into_inner()), count(in_b.into_inner())), (0, 1));

        // A key limited to the phone: not for the web, nor a web contact's details.
        assert_refused(
            contacts
                .start_contact(req(
                    Some(&phone),
                    None,
                    start_request(Channel::Web, "2026-03-02T10:00:00+01:00", "999990032"),
                ))
                .await,
            Code::PermissionDenied,
            "CHANNEL_NOT_GRANTED",
            &secrets,
        );
        let web = contacts
            .start_contact(req(
                Some(&one),
                None,
                start_request(Channel::Web, "2026-03-02T10:00:00+01:00", "999990032"),
            ))
            .await
            .unwrap()
            .into_inner()
            .contact
            .unwrap()
            .id;
        assert_refused(
            contacts
                .get_contact(req(
                    Some(&phone),
                    None,
                    pb::GetContactRequest {
                        contact_id: web.clone(),
                    },
                ))
                .await,
            Code::PermissionDenied,
            "CHANNEL_NOT_GRANTED",
            &secrets,
        );
        // Nor complete a web contact by its id (the answer would show it), nor answer
        // feedback on one: refused before anything changes.
        let web_done = resolved(
            "2026-03-02T10:00:10+01:00",
            "2026-03-02T10:04:00+01:00",
            "Paspoort aangevraagd.",
        );
        let complete = |credential: &str, request_id: &str| {
            req(
                Some(credential),
                None,
                pb::CompleteContactRequest {
                    request_id: request_id.to_owned(),
                    contact_id: web.clone(),
                    completion: Some(web_done.clone()),
                },
            )
        };
        assert_refused(
            contacts.complete_contact(complete(&phone, "")).await,
            Code::PermissionDenied,
            "CHANNEL_NOT_GRANTED",
            &secrets,
        );
        let read = |credential: &str| {
            req(
                Some(credential),
                None,
                pb::GetContactRequest {
                    contact_id: web.clone(),
                },
            )
        };
        let stored = contacts.get_contact(read(&one)).await.unwrap().into_inner();
        assert_eq!(stored.contact.unwrap().completion, None, "completed anyway");
        let feedback = |credential: &str| {
            req(
                Some(credential),
                None,
                pb::SubmitFeedbackRequest {
                    contact_id: web.clone(),
                    score: 4,
                    effort: 2,
                    ..Default::default()
                },
            )
        };
        // The same with an idempotency key the granted key used: no replayed answer.
        contacts
            .complete_contact(complete(&one, "complete-web"))
            .await
            .unwrap();
        assert_refused(
            contacts
                .complete_contact(complete(&phone, "complete-web"))
                .await,
            Code::PermissionDenied,
            "CHANNEL_NOT_GRANTED",
            &secrets,
        );
        assert_refused(
            contacts.submit_feedback(feedback(&phone)).await,
            Code::PermissionDenied,
            "CHANNEL_NOT_GRANTED",
            &secrets,
        );
        // One answer per contact: this one is accepted, so the refused one left nothing.
        contacts.submit_feedback(feedback(&one)).await.unwrap();
        contacts
            .start_contact(req(
                Some(&phone),
                None,
                start_request(Channel::Phone, "2026-03-02T11:00:00+01:00", "999990032"),
            ))
            .await
            .unwrap();

        // The public thermometer needs no credential, but names its tenant; of a tenant
        // that publishes nothing, an anonymous caller learns no more than of an unknown
        // one, while a dashboard credential for it sees its norms.
        let thermometer = |t: Option<&str>| {
            req(
                None,
                t,
                pb::GetThermometerRequest {
                    period: Some(period_2026()),
                },
            )
        };
        let unpublished = figures
            .get_thermometer(thermometer(Some(TENANT)))
            .await
            .unwrap_err();
        let unknown = figures
            .get_thermometer(thermometer(Some("gemeente-onbekend")))
            .await
            .unwrap_err();
        for s in [&unpublished, &unknown] {
            assert_eq!(s.code(), Code::Unauthenticated, "{s:?}");
            assert_eq!(s.message(), unpublished.message());
            assert!(s.message().contains("publishes no thermometer"), "{s:?}");
        }
        let seen = figures
            .get_thermometer(req(
                Some(&one),
                Some(TENANT),
                pb::GetThermometerRequest {
                    period: Some(period_2026()),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            !seen.norms.is_empty(),
            "a dashboard credential sees every norm"
        );
        let s = figures
            .get_thermometer(thermometer(None))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument);
    })
    .await;
}

/// A JWKS served on loopback over plain HTTP, counting the fetches.
struct Issuer {
    jwks: Arc<Mutex<serde_json::Value>>,
    fetches: Arc<AtomicUsize>,
    url: String,
    rng: SystemRandom,
}

struct SigningKey {
    kid: String,
    pair: EcdsaKeyPair,
}

impl SigningKey {
    fn new(kid: &str, rng: &SystemRandom) -> SigningKey {
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng).unwrap();
        SigningKey {
            kid: kid.to_owned(),
            pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref(), rng)
                .unwrap(),
        }
    }

    fn jwk(&self) -> serde_json::Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// A token with this header and claims, signed with this key.
    fn sign(
        &self,
        header: serde_json::Value,
        claims: &serde_json::Value,
        rng: &SystemRandom,
    ) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.pair.sign(rng, signed.as_bytes()).unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn token(&self, claims: &serde_json::Value, rng: &SystemRandom) -> String {
        self.sign(
            json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
            claims,
            rng,
        )
    }
}

impl Issuer {
    /// Serves the keys over plain HTTP, or over TLS with `tls` (certificate, key; PEM).
    async fn start(keys: &[&SigningKey], tls: Option<(&str, &str)>) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = match tls {
            Some(_) => format!("https://localhost:{port}/keys"),
            None => format!("http://127.0.0.1:{port}/keys"),
        };
        let acceptor = tls.map(|(cert, key)| {
            use tokio_rustls::rustls;
            use tokio_rustls::rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        let jwks = Arc::new(Mutex::new(
            json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() }),
        ));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (jwks.clone(), fetches.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (served, counted) = (served.clone(), counted.clone());
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(socket).await {
                                answer(stream, served, counted).await;
                            }
                        }
                        None => answer(socket, served, counted).await,
                    }
                });
            }
        });
        Issuer {
            jwks,
            fetches,
            url,
            rng: SystemRandom::new(),
        }
    }

    fn config(&self, min_refetch: Duration) -> OidcConfig {
        OidcConfig {
            issuer: "https://login.gemeente-a.example".to_owned(),
            audience: "midoffice".to_owned(),
            jwks_url: self.url.clone(),
            algorithms: vec![Algorithm::ES256],
            leeway: Duration::from_secs(30),
            tenants_claim: "midoffice_tenants".to_owned(),
            roles_claim: "midoffice_roles".to_owned(),
            channels_claim: Some("midoffice_channels".to_owned()),
            refresh: Duration::from_secs(3600),
            max_key_age: Duration::from_secs(24 * 3600),
            min_refetch,
            jwks_ca_pem: None,
        }
    }
}

/// Answers one HTTP request with the JWKS.
async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut socket: S,
    served: Arc<Mutex<serde_json::Value>>,
    counted: Arc<AtomicUsize>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    counted.fetch_add(1, Ordering::SeqCst);
    let body = served.lock().await.to_string();
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(answer.as_bytes()).await;
    let _ = socket.shutdown().await;
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(roles: &[&str], tenants: &[&str]) -> serde_json::Value {
    json!({
        "iss": "https://login.gemeente-a.example",
        "aud": ["midoffice", "other"],
        "sub": "medewerker-17",
        "exp": now() + 300,
        "nbf": now() - 10,
        "midoffice_roles": roles,
        "midoffice_tenants": tenants,
    })
}

/// How long an unknown `kid` waits before the keys are fetched again, in the test.
const MIN_REFETCH: Duration = Duration::from_secs(2);

database_test!(oidc_tokens_are_checked_against_the_issuer);
async fn oidc_tokens_are_checked_against_the_issuer(database: TestDatabase) {
    let rng = SystemRandom::new();
    let first = SigningKey::new("key-1", &rng);
    let issuer = Issuer::start(&[&first], None).await;
    let access = Access::configured(AccessConfig {
        oidc: Some(issuer.config(MIN_REFETCH)),
        ..Default::default()
    });
    let setup = Setup {
        access,
        ..Setup::default()
    };
    on_backend_with(database, setup, move |b| async move {
        let rng = &issuer.rng;
        let mut figures = b.figures();
        let mut contacts = b.contacts();
        let dashboard = claims(&["dashboard", "unknown-role"], &[TENANT]);
        let good = first.token(&dashboard, rng);
        figures
            .get_figures(figures_request(Some(&good), None))
            .await
            .unwrap();
        assert_eq!(
            issuer.fetches.load(Ordering::SeqCst),
            1,
            "the keys are cached"
        );
        // A type, when named, is a JWT or an access token, in any case.
        for typ in [
            Some("at+jwt"),
            Some("application/AT+JWT"),
            Some("jwt"),
            None,
        ] {
            let mut header = json!({"alg": "ES256", "kid": "key-1"});
            if let Some(typ) = typ {
                header["typ"] = json!(typ);
            }
            let token = first.sign(header, &dashboard, rng);
            figures
                .get_figures(figures_request(Some(&token), None))
                .await
                .unwrap_or_else(|s| panic!("typ {typ:?}: {s:?}"));
        }
        figures
            .get_figures(figures_request(Some(&good), Some(TENANT)))
            .await
            .unwrap();
        assert_eq!(
            issuer.fetches.load(Ordering::SeqCst),
            1,
            "the keys are cached"
        );

        // Role and tenant claims.
        assert_refused(
            contacts
                .start_contact(req(
                    Some(&good),
                    None,
                    start_request(Channel::Phone, "2026-03-02T09:00:00+01:00", "999990019"),
                ))
                .await,
            Code::PermissionDenied,
            "ROLE_NOT_GRANTED",
            &[&good],
        );
        assert_refused(
            figures
                .get_figures(figures_request(Some(&good), Some(B)))
                .await,
            Code::PermissionDenied,
            "TENANT_NOT_GRANTED",
            &[&good],
        );
        let two = first.token(&claims(&["channel"], &[TENANT, B]), rng);
        let s = figures
            .get_figures(figures_request(Some(&two), Some(B)))
            .await
            .unwrap_err();
        assert_eq!(reason(&s), "ROLE_NOT_GRANTED");
        let mut web_only = claims(&["channel"], &[TENANT, B]);
        web_only["midoffice_channels"] = json!(["web"]);
        let web_only = first.token(&web_only, rng);
        contacts
            .start_contact(req(
                Some(&web_only),
                Some(B),
                start_request(Channel::Web, "2026-03-02T09:00:00+01:00", "999990019"),
            ))
            .await
            .unwrap();
        assert_refused(
            contacts
                .start_contact(req(
                    Some(&web_only),
                    Some(B),
                    start_request(Channel::Phone, "2026-03-02T09:00:00+01:00", "999990019"),
                ))
                .await,
            Code::PermissionDenied,
            "CHANNEL_NOT_GRANTED",
            &[&web_only],
        );

        // Tokens that must be refused.
        let mut bad: Vec<(&str, String)> = Vec::new();
        let mut c = dashboard.clone();
        c["exp"] = json!(now() - 120);
        bad.push(("expired", first.token(&c, rng)));
        let mut c = dashboard.clone();
        c["iss"] = json!("https://login.elders.example");
        bad.push(("another issuer", first.token(&c, rng)));
        let mut c = dashboard.clone();
        c["aud"] = json!("another-service");
        bad.push(("another audience", first.token(&c, rng)));
        let mut c = dashboard.clone();
        c.as_object_mut().unwrap().remove("exp");
        bad.push(("no expiry", first.token(&c, rng)));
        let mut c = dashboard.clone();
        c["nbf"] = json!(now() + 3600);
        bad.push(("not yet valid", first.token(&c, rng)));
        bad.push((
            "an algorithm not configured",
            first.sign(json!({"alg": "ES384", "kid": "key-1"}), &dashboard, rng),
        ));
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": "key-1"}).to_string()),
            URL_SAFE_NO_PAD.encode(dashboard.to_string())
        );
        bad.push(("alg none", unsigned));
        // HMAC with the issuer's public key as the secret.
        let hs_signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": "key-1"}).to_string()),
            URL_SAFE_NO_PAD.encode(dashboard.to_string())
        );
        let hmac_key =
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, first.pair.public_key().as_ref());
        let tag = ring::hmac::sign(&hmac_key, hs_signed.as_bytes());
        bad.push((
            "HS256 with the public key",
            format!("{hs_signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref())),
        ));
        // Claims changed after signing.
        let good_parts: Vec<&str> = good.split('.').collect();
        let mut c = dashboard.clone();
        c["midoffice_tenants"] = json!([B]);
        bad.push((
            "claims changed after signing",
            format!(
                "{}.{}.{}",
                good_parts[0],
                URL_SAFE_NO_PAD.encode(c.to_string()),
                good_parts[2]
            ),
        ));
        bad.push((
            "a critical header parameter",
            first.sign(
                json!({"alg": "ES256", "kid": "key-1", "crit": ["b64"], "b64": false}),
                &dashboard,
                rng,
            ),
        ));
        bad.push((
            "an empty crit",
            first.sign(
                json!({"alg": "ES256", "kid": "key-1", "crit": []}),
                &dashboard,
                rng,
            ),
        ));
        bad.push((
            "a type that is no JWT",
            first.sign(
                json!({"alg": "ES256", "kid": "key-1", "typ": "dpop+jwt"}),
                &dashboard,
                rng,
            ),
        ));
        let stranger = SigningKey::new("key-1", rng);
        bad.push((
            "signed by another key with the same kid",
            stranger.token(&dashboard, rng),
        ));
        for (what, token) in &bad {
            let got = figures
                .get_figures(figures_request(Some(token), Some(TENANT)))
                .await;
            let s = got.expect_err(what);
            assert_eq!(
                (s.code(), reason(&s).as_str()),
                (Code::Unauthenticated, "CREDENTIAL_INVALID"),
                "{what}: {s:?}"
            );
            assert!(
                !s.message().contains(token.as_str()),
                "{what}: the token is echoed"
            );
        }

        // The issuer rolls its key: a token with the new kid makes the keys be fetched
        // again (once the minimum gap since the last fetch has passed).
        let second = SigningKey::new("key-2", rng);
        *issuer.jwks.lock().await = json!({"keys": [first.jwk(), second.jwk()]});
        tokio::time::sleep(MIN_REFETCH + Duration::from_millis(200)).await;
        let before = issuer.fetches.load(Ordering::SeqCst);
        let rolled = second.token(&dashboard, rng);
        figures
            .get_figures(figures_request(Some(&rolled), None))
            .await
            .unwrap();
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), before + 1);

        // A burst of unknown kids right after: at most one more fetch (the gap is two
        // seconds; a slow machine may pass it once), not one per token.
        let mut burst = Vec::new();
        for i in 0..6 {
            let unknown = SigningKey::new(&format!("unknown-{i}"), rng);
            let token = unknown.token(&dashboard, rng);
            let mut figures = figures.clone();
            burst.push(tokio::spawn(async move {
                figures
                    .get_figures(figures_request(Some(&token), None))
                    .await
            }));
        }
        for call in burst {
            let s = call.await.unwrap().expect_err("a token of an unknown key");
            assert_eq!(reason(&s), "CREDENTIAL_INVALID");
        }
        assert!(issuer.fetches.load(Ordering::SeqCst) <= before + 2);
    })
    .await;
}

database_test!(keys_that_cannot_be_refreshed_for_too_long_verify_nothing);
async fn keys_that_cannot_be_refreshed_for_too_long_verify_nothing(database: TestDatabase) {
    let rng = SystemRandom::new();
    let key = SigningKey::new("key-1", &rng);
    let issuer = Issuer::start(&[&key], None).await;
    let max_key_age = Duration::from_secs(3);
    let config = OidcConfig {
        refresh: Duration::from_secs(1),
        max_key_age,
        ..issuer.config(Duration::ZERO)
    };
    let access = Access::configured(AccessConfig {
        oidc: Some(config),
        ..Default::default()
    });
    let setup = Setup {
        access,
        ..Setup::default()
    };
    on_backend_with(database, setup, move |b| async move {
        let mut figures = b.figures();
        let token = key.token(&claims(&["dashboard"], &[TENANT]), &issuer.rng);
        figures
            .get_figures(figures_request(Some(&token), None))
            .await
            .unwrap();
        // The issuer stops answering with keys; past the maximum age the cached key
        // verifies nothing.
        let served = std::mem::replace(&mut *issuer.jwks.lock().await, json!("down"));
        tokio::time::sleep(max_key_age + Duration::from_millis(500)).await;
        let s = figures
            .get_figures(figures_request(Some(&token), None))
            .await
            .expect_err("a stale key verified a token");
        assert_eq!(
            (s.code(), reason(&s).as_str()),
            (Code::Unauthenticated, "CREDENTIAL_INVALID"),
            "{s:?}"
        );
        assert!(s.message().contains("refreshed"), "{s:?}");
        // Back: the keys are fetched again and the same token works.
        *issuer.jwks.lock().await = served;
        figures
            .get_figures(figures_request(Some(&token), None))
            .await
            .unwrap();
    })
    .await;
}

/// A CA, a server certificate for `localhost`, and client certificates it signed.
struct Pki {
    ca_pem: String,
    server_cert: String,
    server_key: String,
    clients: Vec<(String, String, [u8; 32])>,
}

fn pki(clients: usize) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    use sha2::Digest;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "midoffice test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();
    let clients = (0..clients)
        .map(|i| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, format!("channel adapter {i}"));
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            let cert = params.signed_by(&key, &ca).unwrap();
            let fingerprint: [u8; 32] = sha2::Sha256::digest(cert.der()).into();
            (cert.pem(), key.serialize_pem(), fingerprint)
        })
        .collect();
    Pki {
        ca_pem: ca.pem(),
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
        clients,
    }
}

fn client_tls(pki: &Pki, client: Option<usize>) -> ClientTlsConfig {
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    match client {
        Some(i) => config.identity(Identity::from_pem(&pki.clients[i].0, &pki.clients[i].1)),
        None => config,
    }
}

async fn tls_channel(b: &Backend, tls: ClientTlsConfig) -> tonic::transport::Channel {
    Endpoint::from_shared(b.url().to_owned())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

database_test!(tls_with_client_certificates_for_channel_adapters);
async fn tls_with_client_certificates_for_channel_adapters(database: TestDatabase) {
    let pki = pki(2);
    let key = new_key().unwrap();
    let access = Access::configured(AccessConfig {
        keys: vec![key_entry(
            "dashboard",
            &key,
            grant(&[TENANT], &[Role::Dashboard], None),
        )],
        client_certs: vec![ClientCert {
            name: "adapter-0".to_owned(),
            sha256: pki.clients[0].2,
            grant: grant(
                &[TENANT],
                &[Role::Channel],
                Some(vec![DomainChannel::Phone]),
            ),
        }],
        ..Default::default()
    });
    let setup = Setup {
        access,
        tls: Some(Tls {
            cert_pem: pki.server_cert.clone().into_bytes(),
            key_pem: pki.server_key.clone().into_bytes(),
            client_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
        }),
        client_tls: Some(client_tls(&pki, None)),
        ..Setup::default()
    };
    on_backend_with(database, setup, move |b| async move {
        // Plain HTTP/2 to the TLS port gets nowhere.
        let plain = format!("http://{}", b.addr());
        let refused = match Endpoint::from_shared(plain).unwrap().connect().await {
            Err(_) => true,
            Ok(channel) => FigureServiceClient::new(channel)
                .get_figures(figures_request(Some(&key), None))
                .await
                .is_err(),
        };
        assert!(refused, "a plain connection was served");

        // TLS without a client certificate, with a key.
        FigureServiceClient::new(b.channel())
            .get_figures(figures_request(Some(&key), None))
            .await
            .unwrap();

        // The configured client certificate is the credential: no key needed.
        let adapter = tls_channel(&b, client_tls(&pki, Some(0))).await;
        let started = ContactServiceClient::new(adapter.clone())
            .start_contact(req(
                None,
                None,
                start_request(Channel::Phone, "2026-03-02T09:00:00+01:00", "999990019"),
            ))
            .await
            .unwrap();
        assert!(started.into_inner().contact.is_some());
        PartyServiceClient::new(adapter.clone())
            .get_context(req(
                None,
                None,
                pb::GetContextRequest {
                    identifiers: Some(bsn("999990019")),
                    as_of: None,
                },
            ))
            .await
            .unwrap();
        assert_refused(
            FigureServiceClient::new(adapter)
                .get_figures(figures_request(None, None))
                .await,
            Code::PermissionDenied,
            "ROLE_NOT_GRANTED",
            &[],
        );

        // A certificate of the same CA that is not configured is no credential.
        let stranger = tls_channel(&b, client_tls(&pki, Some(1))).await;
        assert_refused(
            ContactServiceClient::new(stranger)
                .start_contact(req(
                    None,
                    None,
                    start_request(Channel::Phone, "2026-03-02T10:00:00+01:00", "999990032"),
                ))
                .await,
            Code::Unauthenticated,
            "CREDENTIAL_INVALID",
            &[],
        );
    })
    .await;
}

database_test!(oidc_keys_come_over_https_from_a_trusted_ca_only);
async fn oidc_keys_come_over_https_from_a_trusted_ca_only(database: TestDatabase) {
    let rng = SystemRandom::new();
    let key = SigningKey::new("key-1", &rng);
    let issuer_pki = pki(0);
    let other_pki = pki(0);
    let issuer = Issuer::start(
        &[&key],
        Some((&issuer_pki.server_cert, &issuer_pki.server_key)),
    )
    .await;
    let trusting = |ca: &str| {
        let mut config = issuer.config(MIN_REFETCH);
        config.jwks_ca_pem = Some(ca.as_bytes().to_vec());
        config
    };
    let right = Access::configured(AccessConfig {
        oidc: Some(trusting(&issuer_pki.ca_pem)),
        ..Default::default()
    });
    let wrong = Access::configured(AccessConfig {
        oidc: Some(trusting(&other_pki.ca_pem)),
        ..Default::default()
    });
    let token = key.token(&claims(&["dashboard"], &[TENANT]), &rng);
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    // An issuer whose certificate the configured CA did not sign is not believed.
    assert!(matches!(
        wrong.authenticate(&headers, None).await,
        midoffice_api::auth::Authenticated::Refused(_)
    ));
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 0);
    let setup = Setup {
        access: right,
        ..Setup::default()
    };
    on_backend_with(database, setup, move |b| async move {
        b.figures()
            .get_figures(figures_request(Some(&token), None))
            .await
            .unwrap();
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
    })
    .await;
}
