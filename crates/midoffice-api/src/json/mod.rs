//! The JSON API: HTTP/JSON below [`BASE`] over the same gRPC services, for REST-minded
//! frontends (`docs/api/json.md`).
//!
//! [`JsonApiLayer`] sits on the gRPC port where the pages do, above gRPC-Web and the
//! credential check. A request below [`BASE`] is matched against the one table of
//! [`routes::ROUTES`], its JSON (body, path and query) is transcoded by the compiled-in
//! descriptors into the method's protobuf request (the proto3 JSON mapping), and a real
//! gRPC request (one length-prefixed frame, `application/grpc`, the caller's credential,
//! tenant and trace headers, the original request's extensions) is handed to the
//! services below. So access, budgets, deadlines, validation, the processing log and the
//! errors are the gRPC call's own; the answer's frame is transcoded back to JSON, and a
//! gRPC status becomes an HTTP status with an `application/problem+json` body (RFC
//! 9457) carrying the field violations as `invalidParams` and the ErrorInfo reason as
//! `code`. Every other path passes on untouched.
//!
//! `GET /api/v1/openapi.json` answers the OpenAPI 3 document ([`openapi`]), made from
//! the same table and descriptors, without a credential. CORS ([`Cors`]) is off unless
//! origins are configured.

pub mod openapi;
pub mod routes;

use crate::limits::MAX_MESSAGE_BYTES;
use crate::pb;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, MethodDescriptor};
use routes::{Input, ROUTES, Route};
use serde_json::{Map, Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::Code;
use tonic::body::Body;
use tonic::codegen::Bytes;
use tonic_types::StatusExt;

/// The JSON API's paths are below this.
pub const BASE: &str = "/api/v1";
/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// The version of the JSON API (semantic versioning; the major is the `v1` of the
/// path), answered in the `API-Version` header of every answer and in the document.
/// Raise the minor when fields or routes are added.
pub const API_VERSION: &str = "1.0.0";
/// The header naming [`API_VERSION`].
pub const API_VERSION_HEADER: &str = "api-version";
/// The largest JSON body read. JSON spells out field names, so it is allowed twice the
/// largest protobuf message; the protobuf it becomes is bounded by the gRPC limit itself
/// ([`MAX_MESSAGE_BYTES`]).
pub const MAX_BODY_BYTES: usize = 2 * MAX_MESSAGE_BYTES;
/// JSON calls transcoded at one time: as many as the gRPC budgets run
/// ([`crate::limits`]), so the bodies read and their decoded forms stay within the
/// server's memory bound; more wait at most [`crate::limits::OTHER_WAIT`], then 429.
pub const JSON_CALLS: usize = crate::limits::OTHER_CALLS + crate::limits::FIGURE_CALLS;
/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request headers handed on to the gRPC call: the credentials, the tenant and the
/// trace context. Nothing else of the HTTP request reaches the services.
const HANDED_ON: [&str; 5] = [
    "authorization",
    crate::auth::API_KEY_HEADER,
    crate::tenant::TENANT_KEY,
    "traceparent",
    "tracestate",
];

/// Cross-origin requests (CORS): the origins whose browsers may call the JSON API.
/// Empty (the default): no CORS headers at all, so a browser on another origin cannot
/// read an answer, and preflights are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cors {
    /// Exact origins (`https://kcc.gemeente.nl`: scheme, host and port if not the
    /// default), compared byte for byte; `*` is not accepted.
    pub allowed_origins: Vec<String>,
}

impl Cors {
    /// Checks configured origins: each `scheme://host[:port]`, no path, no `*`.
    pub fn new(allowed_origins: Vec<String>) -> Result<Self, String> {
        for o in &allowed_origins {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            let ok = rest.is_some_and(|r| {
                !r.is_empty()
                    && r.chars().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
                    })
            });
            if !ok {
                return Err(format!(
                    "{o:?} is not an origin: give scheme://host[:port], without a path or '*'"
                ));
            }
        }
        Ok(Self { allowed_origins })
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o.as_bytes() == origin.as_bytes())
    }
}

/// One route with its gRPC method's descriptor.
struct Bound {
    route: Route,
    method: MethodDescriptor,
}

struct Shared {
    routes: Vec<Bound>,
    /// [`JSON_CALLS`] places.
    budget: tokio::sync::Semaphore,
    cors: Cors,
    openapi: Bytes,
}

/// The tower layer of the JSON API (see the module docs).
#[derive(Clone)]
pub struct JsonApiLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for JsonApiLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonApiLayer")
            .field("routes", &self.shared.routes.len())
            .field("cors", &self.shared.cors)
            .finish()
    }
}

/// The descriptors of `midoffice.v1` (compiled in, with their imports).
pub fn descriptor_pool() -> DescriptorPool {
    // Compiled in by build.rs; a failure here is a build defect, caught by every test.
    DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("the compiled-in descriptor set")
}

impl JsonApiLayer {
    /// The JSON API with `cors`.
    pub fn new(cors: Cors) -> Self {
        let pool = descriptor_pool();
        let routes: Vec<Bound> = ROUTES
            .iter()
            .map(|route| {
                let method = pool
                    .get_service_by_name(route.service)
                    .and_then(|s| s.methods().find(|m| m.name() == route.rpc))
                    .unwrap_or_else(|| {
                        panic!("the route table names {}/{}", route.service, route.rpc)
                    });
                Bound {
                    route: route.clone(),
                    method,
                }
            })
            .collect();
        let doc = openapi::document(
            &pool,
            &routes
                .iter()
                .map(|b| (&b.route, &b.method))
                .collect::<Vec<_>>(),
        );
        let openapi = Bytes::from(serde_json::to_vec_pretty(&doc).unwrap_or_default());
        Self {
            shared: Arc::new(Shared {
                routes,
                budget: tokio::sync::Semaphore::new(JSON_CALLS),
                cors,
                openapi,
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for JsonApiLayer {
    type Service = JsonApi<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JsonApi {
            shared: self.shared.clone(),
            inner,
        }
    }
}

/// See [`JsonApiLayer`].
#[derive(Clone)]
pub struct JsonApi<S> {
    shared: Arc<Shared>,
    inner: S,
}

impl<S> std::fmt::Debug for JsonApi<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonApi").finish_non_exhaustive()
    }
}

impl<S> tower_service::Service<Request<Body>> for JsonApi<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The service that was ready is the one that is called (tower's contract).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        if crate::page::below(request.uri().path(), BASE).is_none() {
            let mut inner = inner;
            return Box::pin(inner.call(request));
        }
        let shared = self.shared.clone();
        Box::pin(async move {
            let origin = request.headers().get(header::ORIGIN).cloned();
            let mut answer = match answer(&shared, inner, request).await {
                Ok(a) => a,
                Err(e) => return Err(e),
            };
            let h = answer.headers_mut();
            h.insert(
                HeaderName::from_static(API_VERSION_HEADER),
                HeaderValue::from_static(API_VERSION),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            if !h.contains_key(header::CACHE_CONTROL) {
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            if !shared.cors.allowed_origins.is_empty() {
                h.append(header::VARY, HeaderValue::from_static("Origin"));
                if let Some(origin) = origin.filter(|o| shared.cors.allows(o)) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                    h.insert(
                        header::ACCESS_CONTROL_EXPOSE_HEADERS,
                        HeaderValue::from_static("API-Version"),
                    );
                }
            }
            Ok(answer)
        })
    }
}

/// A JSON answer.
fn json_response(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut r = Response::new(Body::new(http_body_util::Full::new(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// An invalid parameter of a problem: the field (JSON name, dotted) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidParam {
    pub name: String,
    pub reason: String,
}

/// A problem answer (RFC 9457).
fn problem(
    status: StatusCode,
    detail: &str,
    code: Option<&str>,
    invalid: &[InvalidParam],
) -> Response<Body> {
    let mut body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    if !invalid.is_empty() {
        body["invalidParams"] = invalid
            .iter()
            .map(|p| json!({"name": p.name, "reason": p.reason}))
            .collect();
    }
    json_response(
        status,
        "application/problem+json",
        Bytes::from(body.to_string()),
    )
}

fn invalid(name: &str, reason: &str) -> InvalidParam {
    InvalidParam {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A 400 naming one field.
fn bad(name: impl Into<String>, reason: impl Into<String>) -> Response<Body> {
    problem(
        StatusCode::BAD_REQUEST,
        "the request is not valid",
        Some(crate::error::INVALID_FIELDS),
        &[InvalidParam {
            name: name.into(),
            reason: reason.into(),
        }],
    )
}

/// The answer to a request below [`BASE`].
async fn answer<S>(
    shared: &Shared,
    inner: S,
    request: Request<Body>,
) -> Result<Response<Body>, S::Error>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>>,
{
    let path = request.uri().path().to_owned();
    let rest = &path[BASE.len()..];
    let method = request.method().clone();

    if method == Method::OPTIONS {
        return Ok(preflight(&shared.cors, request.headers()));
    }
    if path == OPENAPI_PATH {
        if method != Method::GET && method != Method::HEAD {
            return Ok(not_allowed("GET, HEAD"));
        }
        let mut r = json_response(StatusCode::OK, "application/json", shared.openapi.clone());
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return Ok(r);
    }
    let mut allowed = Vec::new();
    let mut found = None;
    for bound in &shared.routes {
        if let Some(params) = bound.route.matches(rest) {
            if bound.route.method == method {
                found = Some((bound, params));
                break;
            }
            allowed.push(bound.route.method.as_str());
        }
    }
    let Some((bound, params)) = found else {
        if allowed.is_empty() {
            return Ok(problem(
                StatusCode::NOT_FOUND,
                "no resource at this path (see /api/v1/openapi.json)",
                None,
                &[],
            ));
        }
        return Ok(not_allowed(&allowed.join(", ")));
    };
    let params: Vec<(&'static str, String)> = params
        .into_iter()
        .map(|(n, v)| (n, percent_decode(v)))
        .collect();
    let query = request.uri().query().map(str::to_owned);
    // A place before the body is read: what JSON calls hold is bounded.
    let wait = tokio::time::timeout(crate::limits::OTHER_WAIT, shared.budget.acquire()).await;
    let Ok(Ok(_place)) = wait else {
        let mut r = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "the server is busy; try again shortly",
            Some(crate::error::SERVER_BUSY),
            &[],
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        return Ok(r);
    };
    let (parts, body) = request.into_parts();

    // The request message, from the path, the query or the body.
    let input = bound.method.input();
    let mut fields = Map::new();
    match bound.route.input {
        Input::Query => {
            if let Err(p) = read_query(&input, query.as_deref().unwrap_or(""), &mut fields) {
                return Ok(bad(p.name, p.reason));
            }
        }
        Input::Body | Input::BodyField(_) => {
            let json = match read_body(&parts.headers, body).await {
                Ok(json) => json,
                Err(r) => return Ok(r),
            };
            match bound.route.input {
                Input::BodyField(name) => {
                    let json_name = input
                        .get_field_by_name(name)
                        .map(|f| f.json_name().to_owned())
                        .unwrap_or_else(|| name.to_owned());
                    fields.insert(json_name, json);
                }
                _ => match json {
                    Value::Object(map) => fields = map,
                    _ => return Ok(bad("body", "must be a JSON object")),
                },
            }
        }
    }
    for (name, value) in params {
        if fields.contains_key(name) {
            return Ok(bad(name, "is given in the path; leave it out of the body"));
        }
        fields.insert(name.to_owned(), Value::String(value));
    }
    let message = match from_json(&input, Value::Object(fields)) {
        Ok(m) => m,
        Err(p) => {
            return Ok(problem(
                StatusCode::BAD_REQUEST,
                "the request is not valid",
                Some(crate::error::INVALID_FIELDS),
                &[p],
            ));
        }
    };

    // The gRPC request, as a client would send it.
    let encoded = message.encode_to_vec();
    let mut frame = Vec::with_capacity(encoded.len() + 5);
    frame.push(0);
    frame.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
    frame.extend_from_slice(&encoded);
    let uri = format!("/{}/{}", bound.route.service, bound.route.rpc);
    let mut grpc = Request::new(Body::new(http_body_util::Full::new(Bytes::from(frame))));
    *grpc.method_mut() = Method::POST;
    *grpc.version_mut() = http::Version::HTTP_2;
    *grpc.uri_mut() = match uri.parse() {
        Ok(u) => u,
        Err(_) => return Ok(internal()),
    };
    let h = grpc.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    h.insert(header::TE, HeaderValue::from_static("trailers"));
    for name in HANDED_ON {
        for v in parts.headers.get_all(name) {
            h.append(HeaderName::from_static(name), v.clone());
        }
    }
    // The peer address, TLS certificates and the call's trace context go with it.
    *grpc.extensions_mut() = parts.extensions;

    let mut inner = inner;
    let response = inner.call(grpc).await?;
    Ok(grpc_answer(&bound.method.output(), response).await)
}

fn not_allowed(allow: &str) -> Response<Body> {
    let mut r = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "this method is not allowed here",
        None,
        &[],
    );
    if let Ok(v) = HeaderValue::from_str(allow) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

fn internal() -> Response<Body> {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the request could not be handled",
        None,
        &[],
    )
}

/// The answer to a preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`): allowed for a configured origin, else 403.
fn preflight(cors: &Cors, headers: &http::HeaderMap) -> Response<Body> {
    let origin = headers.get(header::ORIGIN);
    let asks = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD);
    match (origin, asks) {
        (Some(origin), Some(_)) if cors.allows(origin) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            let h = r.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "authorization, content-type, x-api-key, x-tenant, traceparent, tracestate",
                ),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(PREFLIGHT_MAX_AGE),
            );
            r
        }
        (Some(_), Some(_)) => problem(
            StatusCode::FORBIDDEN,
            "this origin may not call the API",
            Some("ORIGIN_NOT_ALLOWED"),
            &[],
        ),
        _ => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, POST, PUT, OPTIONS"),
            );
            r
        }
    }
}

/// `%XX` decoded (a path parameter); a malformed escape is kept as it is.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The JSON body, at most [`MAX_BODY_BYTES`]; an empty body is `{}`.
async fn read_body(headers: &http::HeaderMap, body: Body) -> Result<Value, Response<Body>> {
    let bytes = match http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                Some(crate::error::MESSAGE_TOO_LARGE),
                &[],
            ));
        }
        Err(_) => return Err(bad("body", "could not be read")),
    };
    if bytes.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|t| t == "application/json" || t.ends_with("+json"));
    if !json_type {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as application/json",
            None,
            &[],
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        // The parser's own message may quote the body: only where it stopped.
        bad(
            "body",
            format!(
                "is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// Fills `fields` from the query: each parameter is a field of the request by its
/// JSON name, nested fields dotted (`period.startDate.year`); a repeated field may be
/// given more than once.
fn read_query(
    input: &MessageDescriptor,
    query: &str,
    fields: &mut Map<String, Value>,
) -> Result<(), InvalidParam> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(&raw_name.replace('+', " "));
        let value = percent_decode(&raw_value.replace('+', " "));
        let mut desc = input.clone();
        let mut map = &mut *fields;
        let segments: Vec<&str> = name.split('.').collect();
        for (i, seg) in segments.iter().enumerate() {
            let Some(field) = desc
                .get_field_by_json_name(seg)
                .or_else(|| desc.get_field_by_name(seg))
            else {
                return Err(invalid(&name, "is not a parameter of this operation"));
            };
            let key = field.json_name().to_owned();
            let last = i + 1 == segments.len();
            match field.kind() {
                Kind::Message(m) if !last && !field.is_list() && !field.is_map() => {
                    let entry = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    let Value::Object(next) = entry else {
                        return Err(invalid(&name, "is given twice"));
                    };
                    map = next;
                    desc = m;
                }
                _ if !last => {
                    return Err(invalid(&name, "is not a parameter of this operation"));
                }
                kind => {
                    let v = match kind {
                        Kind::Bool => match value.as_str() {
                            "true" => Value::Bool(true),
                            "false" => Value::Bool(false),
                            _ => return Err(invalid(&name, "must be true or false")),
                        },
                        _ => Value::String(value.clone()),
                    };
                    if field.is_list() {
                        let entry = map.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                        match entry {
                            Value::Array(a) => a.push(v),
                            _ => return Err(invalid(&name, "is given twice")),
                        }
                    } else if map.insert(key, v).is_some() {
                        return Err(invalid(&name, "is given twice"));
                    }
                }
            }
        }
    }
    Ok(())
}

fn deserialize_options() -> prost_reflect::DeserializeOptions {
    prost_reflect::DeserializeOptions::new().deny_unknown_fields(true)
}

/// The message of `desc` from `json` (proto3 JSON mapping; unknown fields refused); on
/// failure, the field that does not fit and why, without quoting its value.
fn from_json(desc: &MessageDescriptor, json: Value) -> Result<DynamicMessage, InvalidParam> {
    match DynamicMessage::deserialize_with_options(desc.clone(), &json, &deserialize_options()) {
        Ok(m) => Ok(m),
        Err(_) => Err(locate(desc, &json, "").unwrap_or(InvalidParam {
            name: "body".into(),
            reason: "does not fit the request message".into(),
        })),
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The first field of `json` that does not deserialize as part of `desc`.
fn locate(desc: &MessageDescriptor, json: &Value, at: &str) -> Option<InvalidParam> {
    let Value::Object(map) = json else {
        return Some(InvalidParam {
            name: if at.is_empty() {
                "body".into()
            } else {
                at.into()
            },
            reason: "must be a JSON object".into(),
        });
    };
    for (key, value) in map {
        let path = join(at, key);
        let Some(field) = desc
            .get_field_by_json_name(key)
            .or_else(|| desc.get_field_by_name(key))
        else {
            return Some(InvalidParam {
                name: path,
                reason: "is not a field of this request".into(),
            });
        };
        let mut alone = Map::new();
        alone.insert(key.clone(), value.clone());
        let alone = Value::Object(alone);
        if DynamicMessage::deserialize_with_options(desc.clone(), &alone, &deserialize_options())
            .is_ok()
        {
            continue;
        }
        if let Kind::Message(m) = field.kind()
            && !field.is_map()
            && !m.full_name().starts_with("google.protobuf.")
        {
            if field.is_list() {
                if let Value::Array(items) = value {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(p) = locate(&m, item, &format!("{path}[{i}]")) {
                            return Some(p);
                        }
                    }
                }
            } else if let Some(p) = locate(&m, value, &path) {
                return Some(p);
            }
        }
        return Some(InvalidParam {
            name: path,
            reason: expected(&field),
        });
    }
    None
}

/// What a field's JSON value must be, in words.
fn expected(field: &prost_reflect::FieldDescriptor) -> String {
    let one = match field.kind() {
        Kind::Bool => "true or false".to_owned(),
        Kind::String => "a string".to_owned(),
        Kind::Bytes => "base64 text".to_owned(),
        Kind::Double | Kind::Float => "a number".to_owned(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "a whole number".to_owned(),
        Kind::Uint32 | Kind::Fixed32 => "a whole number, not negative".to_owned(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            "a whole number (or a string of one)".to_owned()
        }
        Kind::Enum(e) => format!(
            "one of {}",
            e.values()
                .map(|v| v.name().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.Timestamp" => "an RFC 3339 time (2026-01-31T09:00:00Z)".to_owned(),
            "google.protobuf.Duration" => "a duration in seconds (\"3600s\")".to_owned(),
            _ => "an object".to_owned(),
        },
    };
    if field.is_list() {
        format!("must be a list, each {one}")
    } else if field.is_map() {
        "must be an object".to_owned()
    } else {
        format!("must be {one}")
    }
}

/// A gRPC field path (`start.identifiers.bsn`) in the JSON names (`start.identifiers.bsn`,
/// `completion.answeredAt`): each `snake_case` segment in lowerCamelCase.
pub fn json_field_path(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
            continue;
        }
        if upper && c.is_ascii_lowercase() {
            out.push(c.to_ascii_uppercase());
        } else {
            if upper {
                out.push('_');
            }
            out.push(c);
        }
        upper = false;
    }
    out
}

/// The HTTP status of a gRPC status code.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The JSON answer to the services' gRPC answer.
async fn grpc_answer(output: &MessageDescriptor, response: Response<Body>) -> Response<Body> {
    let (parts, body) = response.into_parts();
    // A trailers-only answer (an error) has its status in the headers.
    if let Some(status) = tonic::Status::from_header_map(&parts.headers)
        && status.code() != Code::Ok
    {
        return status_problem(&status);
    }
    let collected = match body.collect().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "the JSON API could not read a gRPC answer");
            return internal();
        }
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let bytes = collected.to_bytes();
    match tonic::Status::from_header_map(&trailers) {
        Some(status) if status.code() == Code::Ok => {}
        Some(status) => return status_problem(&status),
        None => {
            tracing::warn!("the JSON API got a gRPC answer without a status");
            return internal();
        }
    }
    // One uncompressed frame: flag, length, message.
    if bytes.len() < 5 || bytes[0] != 0 {
        tracing::warn!("the JSON API got a gRPC answer it cannot read");
        return internal();
    }
    let len = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
    let Some(message) = bytes.get(5..5 + len) else {
        return internal();
    };
    let message = match DynamicMessage::decode(output.clone(), message) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "the JSON API could not decode a gRPC answer");
            return internal();
        }
    };
    match serde_json::to_vec(&message) {
        Ok(json) => json_response(StatusCode::OK, "application/json", Bytes::from(json)),
        Err(e) => {
            tracing::warn!(error = %e, "the JSON API could not write an answer");
            internal()
        }
    }
}

/// The problem of a gRPC error: its message, ErrorInfo reason and field violations.
fn status_problem(status: &tonic::Status) -> Response<Body> {
    let details = status.get_error_details();
    let code = details.error_info().map(|i| i.reason.clone());
    let invalid: Vec<InvalidParam> = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| InvalidParam {
                    name: json_field_path(&v.field),
                    reason: v.description.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut http = http_status(status.code());
    if code.as_deref() == Some(crate::error::MESSAGE_TOO_LARGE) {
        http = StatusCode::PAYLOAD_TOO_LARGE;
    }
    let mut r = problem(http, status.message(), code.as_deref(), &invalid);
    if matches!(
        http,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    if http == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_become_json_names() {
        assert_eq!(
            json_field_path("start.identifiers.bsn"),
            "start.identifiers.bsn"
        );
        assert_eq!(
            json_field_path("completion.answered_at"),
            "completion.answeredAt"
        );
        assert_eq!(json_field_path("norms[2].norm_id"), "norms[2].normId");
        assert_eq!(json_field_path("x-tenant"), "x-tenant");
    }

    #[test]
    fn unknown_and_mistyped_fields_are_named_without_their_value() {
        let pool = descriptor_pool();
        let start = pool
            .get_message_by_name("midoffice.v1.StartContactRequest")
            .unwrap();
        let e = from_json(&start, json!({"start": {"chanel": "PHONE"}})).unwrap_err();
        assert_eq!(e.name, "start.chanel");
        let e = from_json(
            &start,
            json!({"start": {"identifiers": {"bsn": 123456782}}}),
        )
        .unwrap_err();
        assert_eq!(e.name, "start.identifiers.bsn");
        assert!(!e.reason.contains("123456782"), "{}", e.reason);
        let e = from_json(&start, json!({"start": {"channel": "FAX"}})).unwrap_err();
        assert_eq!(e.name, "start.channel");
        assert!(e.reason.contains("CHANNEL_PHONE"), "{}", e.reason);
        assert!(
            from_json(
                &start,
                json!({"requestId": "a", "start": {"channel": "CHANNEL_PHONE"}})
            )
            .is_ok()
        );
    }

    #[test]
    fn query_parameters_fill_nested_fields() {
        let pool = descriptor_pool();
        let figures = pool
            .get_message_by_name("midoffice.v1.GetFiguresRequest")
            .unwrap();
        let mut fields = Map::new();
        read_query(
            &figures,
            "period.startDate.year=2026&period.startDate.month=1&period.startDate.day=1&channel=CHANNEL_PHONE&topic=a%20b",
            &mut fields,
        )
        .unwrap();
        let m = from_json(&figures, Value::Object(fields)).unwrap();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["period"]["startDate"]["year"], 2026);
        assert_eq!(json["topic"], "a b");
        let mut fields = Map::new();
        assert!(read_query(&figures, "perod.x=1", &mut fields).is_err());
    }

    #[test]
    fn origins_are_checked() {
        assert!(
            Cors::new(vec![
                "https://kcc.example.nl".into(),
                "http://localhost:5173".into()
            ])
            .is_ok()
        );
        for bad in ["*", "kcc.example.nl", "https://a/b", "https://"] {
            assert!(Cors::new(vec![bad.into()]).is_err(), "{bad}");
        }
    }
}
