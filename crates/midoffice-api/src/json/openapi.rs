//! The OpenAPI 3.0 document of the JSON API, made from the route table
//! ([`super::routes::ROUTES`]) and the compiled-in descriptors: one operation per route,
//! a schema per message (fields by their JSON names, the proto comments as
//! descriptions, `REQUIRED` and `OUTPUT_ONLY` from `google.api.field_behavior`), enums
//! as string enums, the problem answer, the `API-Version` header and the credentials.

use super::routes::{Input, Route};
use super::{API_VERSION, BASE};
use prost_reflect::{
    DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    Value as PValue,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const REQUIRED: i32 = 2;
const OUTPUT_ONLY: i32 = 3;

/// The leading comment of the element at `path` in `file`, trimmed.
fn comment(file: &prost_reflect::FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let loc = info.location.iter().find(|l| l.path == path)?;
    let text = loc.leading_comments.as_deref()?.trim();
    (!text.is_empty()).then(|| text.lines().map(str::trim).collect::<Vec<_>>().join(" "))
}

/// The schema name of a message or enum: its full name without `midoffice.v1.`.
fn schema_name(full: &str) -> String {
    full.strip_prefix("midoffice.v1.")
        .unwrap_or(full)
        .to_owned()
}

fn reference(full: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", schema_name(full)) })
}

struct Schemas<'a> {
    pool: &'a DescriptorPool,
    out: BTreeMap<String, Value>,
}

impl Schemas<'_> {
    fn behaviors(&self, field: &FieldDescriptor) -> Vec<i32> {
        let Some(ext) = self.pool.get_extension_by_name("google.api.field_behavior") else {
            return Vec::new();
        };
        let options = field.options();
        if !options.has_extension(&ext) {
            return Vec::new();
        }
        match &*options.get_extension(&ext) {
            PValue::List(items) => items.iter().filter_map(PValue::as_enum_number).collect(),
            _ => Vec::new(),
        }
    }

    /// The schema of one value of `kind` (a list's item, a map's value).
    fn kind(&mut self, kind: Kind) -> Value {
        match kind {
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => json!({"type": "string", "format": "byte"}),
            Kind::Double => json!({"type": "number", "format": "double"}),
            Kind::Float => json!({"type": "number", "format": "float"}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({"type": "integer", "format": "int32"})
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": 4294967295u64})
            }
            // proto3 JSON writes 64-bit integers as strings.
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({"type": "string", "format": "int64"})
            }
            Kind::Uint64 | Kind::Fixed64 => json!({"type": "string", "format": "uint64"}),
            Kind::Enum(e) => {
                self.enumeration(&e);
                reference(e.full_name())
            }
            Kind::Message(m) => match m.full_name() {
                "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
                "google.protobuf.Duration" => json!({
                    "type": "string",
                    "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
                    "example": "3600s"
                }),
                _ => {
                    self.message(&m);
                    reference(m.full_name())
                }
            },
        }
    }

    fn field(&mut self, field: &FieldDescriptor) -> Value {
        let mut schema = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return json!({"type": "object"});
            };
            let value = entry.map_entry_value_field();
            json!({"type": "object", "additionalProperties": self.kind(value.kind())})
        } else if field.is_list() {
            json!({"type": "array", "items": self.kind(field.kind())})
        } else {
            self.kind(field.kind())
        };
        let description = comment(&field.parent_file(), field.path());
        let output_only = self.behaviors(field).contains(&OUTPUT_ONLY);
        if schema.get("$ref").is_some() && (description.is_some() || output_only) {
            // A `$ref` takes no siblings in OpenAPI 3.0.
            schema = json!({"allOf": [schema]});
        }
        if let Some(d) = description {
            schema["description"] = json!(d);
        }
        if output_only {
            schema["readOnly"] = json!(true);
        }
        schema
    }

    fn enumeration(&mut self, e: &EnumDescriptor) {
        let name = schema_name(e.full_name());
        if self.out.contains_key(&name) {
            return;
        }
        let mut schema = json!({
            "type": "string",
            "enum": e.values().map(|v| v.name().to_owned()).collect::<Vec<_>>(),
        });
        if let Some(d) = comment(&e.parent_file(), e.path()) {
            schema["description"] = json!(d);
        }
        self.out.insert(name, schema);
    }

    /// Adds the schema of `m` (and of what it uses), leaving out the fields `skip`
    /// (the path parameters) under the name `as_name` when given.
    fn message_as(&mut self, m: &MessageDescriptor, as_name: Option<&str>, skip: &[&str]) {
        let name = as_name
            .map(str::to_owned)
            .unwrap_or_else(|| schema_name(m.full_name()));
        if self.out.contains_key(&name) {
            return;
        }
        // Placed first, so a message that refers to itself ends.
        self.out.insert(name.clone(), json!({"type": "object"}));
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in m.fields() {
            if skip.contains(&field.json_name()) {
                continue;
            }
            if self.behaviors(&field).contains(&REQUIRED) {
                required.push(field.json_name().to_owned());
            }
            properties.insert(field.json_name().to_owned(), self.field(&field));
        }
        let mut schema = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            schema["required"] = json!(required);
        }
        if let Some(d) = comment(&m.parent_file(), m.path()) {
            schema["description"] = json!(d);
        }
        self.out.insert(name, schema);
    }

    fn message(&mut self, m: &MessageDescriptor) {
        self.message_as(m, None, &[]);
    }
}

/// The query parameters of a GET: every scalar field of the request, nested fields
/// dotted, except the path parameters.
fn query_parameters(
    schemas: &mut Schemas<'_>,
    m: &MessageDescriptor,
    prefix: &str,
    skip: &[&str],
    out: &mut Vec<Value>,
    depth: usize,
) {
    for field in m.fields() {
        if prefix.is_empty() && skip.contains(&field.json_name()) {
            continue;
        }
        let name = if prefix.is_empty() {
            field.json_name().to_owned()
        } else {
            format!("{prefix}.{}", field.json_name())
        };
        match field.kind() {
            Kind::Message(sub)
                if !field.is_list()
                    && !field.is_map()
                    && !sub.full_name().starts_with("google.protobuf.")
                    && depth < 4 =>
            {
                query_parameters(schemas, &sub, &name, skip, out, depth + 1);
            }
            _ => {
                let mut p = json!({
                    "name": name,
                    "in": "query",
                    "required": false,
                    "schema": schemas.field(&field),
                });
                if field.is_list() {
                    p["explode"] = json!(true);
                }
                out.push(p);
            }
        }
    }
}

/// The tag of a service: its name without `Service`.
fn tag(service: &str) -> &str {
    let name = service.rsplit('.').next().unwrap_or(service);
    name.strip_suffix("Service").unwrap_or(name)
}

/// The OpenAPI document of `routes`.
pub fn document(pool: &DescriptorPool, routes: &[(&Route, &MethodDescriptor)]) -> Value {
    let mut schemas = Schemas {
        pool,
        out: BTreeMap::new(),
    };
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let problems = [
        ("400", "BadRequest"),
        ("401", "Unauthorized"),
        ("403", "Forbidden"),
        ("404", "NotFound"),
        ("409", "Conflict"),
        ("413", "PayloadTooLarge"),
        ("429", "TooManyRequests"),
        ("503", "ServiceUnavailable"),
        ("504", "GatewayTimeout"),
    ];
    for (route, method) in routes {
        let input = method.input();
        let output = method.output();
        let params: Vec<&str> = route.params().collect();
        let mut parameters: Vec<Value> = params
            .iter()
            .map(|p| {
                let field = input.get_field_by_json_name(p);
                let schema = field
                    .as_ref()
                    .map(|f| schemas.field(f))
                    .unwrap_or_else(|| json!({"type": "string"}));
                json!({"name": p, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        parameters.push(json!({"$ref": "#/components/parameters/Tenant"}));
        let mut op = json!({
            "operationId": route.operation_id(),
            "summary": route.summary,
            "tags": [tag(route.service)],
            "x-grpc-method": format!("{}/{}", route.service, route.rpc),
        });
        if let Some(d) = comment(&method.parent_file(), method.path()) {
            op["description"] = json!(d);
        }
        match route.input {
            Input::Query => {
                let mut query = Vec::new();
                query_parameters(&mut schemas, &input, "", &params, &mut query, 0);
                parameters.extend(query);
            }
            Input::Body => {
                let name = if params.is_empty() {
                    schema_name(input.full_name())
                } else {
                    format!("{}Body", schema_name(input.full_name()))
                };
                schemas.message_as(&input, Some(&name), &params);
                op["requestBody"] = json!({
                    "required": true,
                    "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}
                });
            }
            Input::BodyField(field) => {
                let schema = input
                    .get_field_by_name(field)
                    .map(|f| schemas.kind(f.kind()))
                    .unwrap_or_else(|| json!({"type": "object"}));
                op["requestBody"] = json!({
                    "required": true,
                    "content": {"application/json": {"schema": schema}}
                });
            }
        }
        op["parameters"] = json!(parameters);
        schemas.message(&output);
        let mut responses = Map::new();
        responses.insert(
            "200".into(),
            json!({
                "description": "OK",
                "headers": {"API-Version": {"$ref": "#/components/headers/API-Version"}},
                "content": {"application/json": {"schema": reference(output.full_name())}}
            }),
        );
        for (status, name) in problems {
            if route.public && (status == "401" || status == "403") {
                continue;
            }
            responses.insert(
                status.into(),
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
        op["responses"] = Value::Object(responses);
        if route.public {
            op["security"] = json!([]);
        }
        paths
            .entry(format!("{BASE}{}", route.path))
            .or_default()
            .insert(route.method.as_str().to_ascii_lowercase(), op);
    }
    paths
        .entry(super::OPENAPI_PATH.to_owned())
        .or_default()
        .insert(
            "get".into(),
            json!({
                "operationId": "getOpenapi",
                "summary": "This document",
                "tags": ["OpenAPI"],
                "security": [],
                "responses": {"200": {
                    "description": "The OpenAPI document",
                    "headers": {"API-Version": {"$ref": "#/components/headers/API-Version"}},
                    "content": {"application/json": {"schema": {"type": "object"}}}
                }}
            }),
        );
    let mut responses = Map::new();
    for (status, name) in problems {
        responses.insert(
            name.into(),
            json!({
                "description": http::StatusCode::from_bytes(status.as_bytes())
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or(name),
                "headers": {"API-Version": {"$ref": "#/components/headers/API-Version"}},
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            }),
        );
    }
    schemas.out.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "An error (RFC 9457, problem details).",
            "properties": {
                "type": {"type": "string", "description": "about:blank: the status says what happened."},
                "title": {"type": "string"},
                "status": {"type": "integer", "format": "int32"},
                "detail": {"type": "string", "description": "What went wrong, in words (never an identifier's value)."},
                "code": {"type": "string", "description": "The reason of the gRPC ErrorInfo, such as INVALID_FIELDS or ROLE_NOT_GRANTED."},
                "invalidParams": {
                    "type": "array",
                    "description": "The fields that are not valid, by their JSON names (nested fields dotted).",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "reason": {"type": "string"}
                        },
                        "required": ["name", "reason"]
                    }
                }
            },
            "required": ["type", "title", "status"]
        }),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "midoffice",
            "description": "One record per citizen across the channels of a municipal contact centre: the JSON form of the midoffice.v1 gRPC services (the same calls, credentials and errors).",
            "version": API_VERSION,
            "contact": {"name": "midoffice"},
            "license": {"name": "EUPL-1.2"}
        },
        "servers": [{"url": "/", "description": "this server"}],
        "tags": routes.iter().map(|(r, _)| tag(r.service)).collect::<std::collections::BTreeSet<_>>()
            .into_iter().map(|t| json!({"name": t})).chain(std::iter::once(json!({"name": "OpenAPI"}))).collect::<Vec<_>>(),
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas.out,
            "responses": responses,
            "parameters": {
                "Tenant": {
                    "name": "x-tenant",
                    "in": "header",
                    "required": false,
                    "description": "The tenant the call acts for (default: default).",
                    "schema": {"type": "string", "pattern": "^[a-z0-9-]+$"}
                }
            },
            "headers": {
                "API-Version": {
                    "description": "The version of the API that answered (semantic versioning).",
                    "schema": {"type": "string", "example": API_VERSION}
                }
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (mo_…) or an OpenID Connect access token."
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}
            }
        }
    })
}
