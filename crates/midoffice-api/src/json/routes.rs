//! The one table of the JSON API: which HTTP method and path (below [`super::BASE`])
//! calls which gRPC method, and where the request message's fields come from.
//!
//! Path parameters (`{contactId}`) name a field of the request by its JSON name; a GET
//! fills the other fields from the query (`period.startDate.year=2026`); a POST or
//! PUT reads them from its JSON body (the whole request, or one field of it). Reads
//! that take an identifier (a BSN, an e-mail address, a phone number) are POSTs to a
//! `_zoek` resource, so no identifier is ever part of a URL (which proxies and access
//! logs keep).

use http::Method;

/// Where a request's fields come from besides the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// The query string (GET).
    Query,
    /// The JSON body is the request message.
    Body,
    /// The JSON body is this field of the request message (its proto name).
    BodyField(&'static str),
}

/// One route: an HTTP method and path template, and the gRPC method it calls.
#[derive(Clone, Debug)]
pub struct Route {
    pub method: Method,
    /// Below [`super::BASE`], starting with `/`; `{name}` is a path parameter named by
    /// the request field's JSON name.
    pub path: &'static str,
    /// The gRPC service, fully qualified (`midoffice.v1.ContactService`).
    pub service: &'static str,
    /// The gRPC method (`StartContact`).
    pub rpc: &'static str,
    pub input: Input,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// Callable without a credential (the public thermometer).
    pub public: bool,
}

const CONTACTS: &str = "midoffice.v1.ContactService";
const PARTIES: &str = "midoffice.v1.PartyService";
const COMMITMENTS: &str = "midoffice.v1.CommitmentService";
const TENANTS: &str = "midoffice.v1.TenantService";
const FIGURES: &str = "midoffice.v1.FigureService";
const PROCESSING: &str = "midoffice.v1.ProcessingLogService";
const BENCHMARK: &str = "midoffice.v1.BenchmarkService";

const fn route(
    method: Method,
    path: &'static str,
    service: &'static str,
    rpc: &'static str,
    input: Input,
    summary: &'static str,
) -> Route {
    Route {
        method,
        path,
        service,
        rpc,
        input,
        summary,
        public: false,
    }
}

/// `r`, callable without a credential.
const fn public(mut r: Route) -> Route {
    r.public = true;
    r
}

/// Every unary RPC of the public services, once.
pub static ROUTES: [Route; 17] = [
    route(
        Method::POST,
        "/contacts",
        CONTACTS,
        "StartContact",
        Input::Body,
        "Start a contact: the party found, its case and the context the agent sees",
    ),
    route(
        Method::GET,
        "/contacts/{contactId}",
        CONTACTS,
        "GetContact",
        Input::Query,
        "Read one contact",
    ),
    route(
        Method::POST,
        "/contacts/{contactId}/completion",
        CONTACTS,
        "CompleteContact",
        Input::Body,
        "Complete a started contact",
    ),
    route(
        Method::POST,
        "/contacts/{contactId}/feedback",
        CONTACTS,
        "SubmitFeedback",
        Input::Body,
        "Record the citizen's satisfaction answer about a contact",
    ),
    route(
        Method::POST,
        "/recorded-contacts",
        CONTACTS,
        "RecordContact",
        Input::Body,
        "Record a contact that already ended: a start and its completion at once",
    ),
    route(
        Method::POST,
        "/contexts/_zoek",
        PARTIES,
        "GetContext",
        Input::Body,
        "The context of a citizen, found by identifiers (in the body, never in the URL)",
    ),
    route(
        Method::POST,
        "/party-contacts/_zoek",
        PARTIES,
        "ListPartyContacts",
        Input::Body,
        "A page of a party's contacts across channels, newest first",
    ),
    route(
        Method::POST,
        "/party-erasures",
        PARTIES,
        "EraseParty",
        Input::Body,
        "Erase a party and everything that concerns it",
    ),
    route(
        Method::GET,
        "/commitments",
        COMMITMENTS,
        "ListCommitments",
        Input::Query,
        "The open commitments (callbacks, hand-offs), soonest due first",
    ),
    route(
        Method::GET,
        "/tenant-settings",
        TENANTS,
        "GetTenantSettings",
        Input::Query,
        "The tenant's settings",
    ),
    route(
        Method::PUT,
        "/tenant-settings",
        TENANTS,
        "ReplaceTenantSettings",
        Input::BodyField("settings"),
        "Replace the tenant's settings (the body is the settings)",
    ),
    public(route(
        Method::GET,
        "/thermometer",
        FIGURES,
        "GetThermometer",
        Input::Query,
        "The public thermometer over a period (no credential needed when published)",
    )),
    route(
        Method::GET,
        "/figures",
        FIGURES,
        "GetFigures",
        Input::Query,
        "The dashboard figures over a period",
    ),
    route(
        Method::GET,
        "/figure-series",
        FIGURES,
        "GetFigureSeries",
        Input::Query,
        "The dashboard figures per day, week or month of a period",
    ),
    route(
        Method::GET,
        "/benchmark",
        BENCHMARK,
        "GetBenchmark",
        Input::Query,
        "The tenant's figures beside its peer group's, for a period whose group is composed",
    ),
    route(
        Method::POST,
        "/processing-records/_zoek",
        PROCESSING,
        "ListProcessingRecords",
        Input::Body,
        "The processing log of a data subject (found by identifiers in the body)",
    ),
    route(
        Method::GET,
        "/audit-records",
        PROCESSING,
        "ListAuditRecords",
        Input::Query,
        "The audit records of a trace or time window",
    ),
];

impl Route {
    /// The path parameters' names, in order.
    pub fn params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }

    /// The path parameters' values when `path` (below the base) matches the template.
    pub fn matches<'a>(&self, path: &'a str) -> Option<Vec<(&'static str, &'a str)>> {
        let mut template = self.path.split('/');
        let mut given = path.split('/');
        let mut found = Vec::new();
        loop {
            match (template.next(), given.next()) {
                (None, None) => return Some(found),
                (Some(t), Some(g)) => match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    Some(name) if !g.is_empty() => found.push((name, g)),
                    Some(_) => return None,
                    None if t == g => {}
                    None => return None,
                },
                _ => return None,
            }
        }
    }

    /// The operation id in the OpenAPI document: the RPC's name, lowerCamelCase.
    pub fn operation_id(&self) -> String {
        let mut chars = self.rpc.chars();
        match chars.next() {
            Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_exactly() {
        let r = &ROUTES[2];
        assert_eq!(
            r.matches("/contacts/abc/completion"),
            Some(vec![("contactId", "abc")])
        );
        assert_eq!(r.matches("/contacts//completion"), None);
        assert_eq!(r.matches("/contacts/abc/completion/"), None);
        assert_eq!(r.matches("/contacts/abc"), None);
        assert_eq!(ROUTES[0].matches("/contacts"), Some(vec![]));
        assert_eq!(r.params().collect::<Vec<_>>(), ["contactId"]);
    }

    /// Every method of every `midoffice.v1` service has its route (a new RPC without one
    /// fails here), and every route names a method that exists, unary both ways.
    #[test]
    fn every_rpc_of_the_api_has_a_route() {
        let pool = super::super::descriptor_pool();
        let mut methods: Vec<(String, String)> = Vec::new();
        for service in pool.services() {
            if service.package_name() != "midoffice.v1" {
                continue;
            }
            for m in service.methods() {
                assert!(
                    !m.is_client_streaming() && !m.is_server_streaming(),
                    "{}",
                    m.full_name()
                );
                methods.push((service.full_name().to_owned(), m.name().to_owned()));
            }
        }
        methods.sort();
        let mut routed: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.service.to_owned(), r.rpc.to_owned()))
            .collect();
        routed.sort();
        assert_eq!(routed, methods, "the routes vs the API's methods");
    }

    #[test]
    fn every_route_is_one_rpc_and_one_method_and_path() {
        let mut rpcs: Vec<_> = ROUTES.iter().map(|r| (r.service, r.rpc)).collect();
        rpcs.sort();
        rpcs.dedup();
        assert_eq!(rpcs.len(), ROUTES.len());
        let mut keys: Vec<_> = ROUTES.iter().map(|r| (r.method.as_str(), r.path)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len());
        for r in &ROUTES {
            assert!(!r.path.ends_with('/'), "{}", r.path);
            // Plural, kebab-case resource names: lower case letters, digits and '-'.
            for seg in r.path.split('/').skip(1) {
                let ok = seg.starts_with('{')
                    || seg == "_zoek"
                    || seg
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                assert!(ok, "{}", r.path);
            }
        }
    }
}
