//! Validation of incoming requests against Discord's official OpenAPI 3.1 description of API v10
//! (`spec/openapi.json`).
//!
//! [`Spec::check`] answers two questions for every request the fake receives:
//! - is `METHOD /path` a documented route, and
//! - does the JSON body match the operation's `requestBody` `application/json` schema?
//!
//! Bodies are validated with the `jsonschema` crate under JSON Schema 2020-12 (the dialect of
//! OpenAPI 3.1). The whole spec is registered once as a schema resource under `SPEC_URI`, and
//! each operation's validator is a tiny `{"$ref": "<SPEC_URI>#/paths/.../schema"}` compiled lazily
//! on first use and cached, so internal `#/components/schemas/...` references resolve against the
//! spec itself. Nothing is ever fetched over the network (the crate is built without its
//! `resolve-http`/`resolve-file` features, and every reference is internal). `format` keywords are
//! annotations only, as 2020-12 says, and `contentEncoding` is not checked either.
//!
//! A multipart/form-data body (a file upload) is checked with [`Spec::check_multipart`] against
//! the operation's `multipart/form-data` schema: the fields of its `payload_json` plus one string
//! per `files[n]` part (the spec types file parts as binary strings). An operation that documents
//! no multipart body refuses one.
//!
//! Two known differences between the spec and what Discord accepts are normalised before
//! validating: the spec types permission bitfields as integers, while Discord documents them, and
//! serenity's `Permissions` serializes them, as decimal strings (see `normalize_permissions`); and
//! the spec types an attachment request's `id` as a snowflake string, while Discord documents it
//! as "snowflake or number" ("for new attachments this must match the `n` in `files[n]`",
//! message.md, Attachment Request Structure) and serenity sends the number (see
//! `normalize_attachment_ids`).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use jsonschema::{BasicOutput, Draft, Registry, Validator};
use serde_json::Value;

/// The spec, embedded at compile time.
const SPEC_JSON: &str = include_str!("../spec/openapi.json");

/// The URI under which the spec document is registered as a JSON Schema resource.
const SPEC_URI: &str = "urn:fake-discord:discord-openapi-v10";

/// How many validation errors an error message lists at most.
const MAX_ERRORS: usize = 5;

/// How many characters of one validation error message are kept.
const MAX_ERROR_CHARS: usize = 300;

/// Object keys whose decimal-string values are permission bitfields, typed as integers by the spec.
const PERMISSION_KEYS: [&str; 4] = ["allow", "deny", "permissions", "default_member_permissions"];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Discord's API v10 as described by its OpenAPI spec: routes plus request body schemas.
pub struct Spec {
    /// Path templates grouped by their number of segments.
    routes_by_len: HashMap<usize, Vec<Route>>,
    /// Every operation; `Route::methods` holds indexes into it.
    operations: Vec<Operation>,
    /// The spec registered as a schema resource; cloning it is cheap (documents are shared).
    registry: Registry,
    /// The spec document, for naming schema locations in error messages.
    doc: Value,
}

struct Route {
    template: String,
    segments: Vec<Segment>,
    /// Upper-case method -> index into `Spec::operations`.
    methods: HashMap<String, usize>,
}

enum Segment {
    Literal(String),
    Param,
}

struct Operation {
    body: RequestBody,
    /// Compiled lazily; `Err` holds the compile error so it is reported, not retried.
    validator: OnceLock<Result<Validator, String>>,
    /// The JSON pointer of the operation's `multipart/form-data` schema, if it documents one.
    multipart: Option<String>,
    multipart_validator: OnceLock<Result<Validator, String>>,
}

enum RequestBody {
    /// The operation documents no request body.
    None,
    /// A request body with an `application/json` schema, at this JSON pointer into the spec.
    Json { pointer: String, required: bool },
    /// A request body in other media types only (multipart/form-data uploads).
    Other,
}

impl Spec {
    /// Parsed once, shared.
    pub fn global() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| {
            let doc: Value = serde_json::from_str(SPEC_JSON).expect("spec/openapi.json is valid JSON");
            Spec::from_document(doc).expect("spec/openapi.json is a usable OpenAPI document")
        })
    }

    fn from_document(doc: Value) -> Result<Spec, String> {
        let paths = doc.get("paths").and_then(Value::as_object).ok_or("the spec has no `paths` object")?;

        let mut routes_by_len: HashMap<usize, Vec<Route>> = HashMap::new();
        let mut operations = Vec::new();
        for (template, item) in paths {
            let segments = split_path(template)
                .map(|seg| {
                    if seg.starts_with('{') && seg.ends_with('}') {
                        Segment::Param
                    } else {
                        Segment::Literal(seg.to_owned())
                    }
                })
                .collect::<Vec<_>>();
            let mut methods = HashMap::new();
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let op_pointer = format!("/paths/{}/{method}", escape_token(template));
                let body = request_body(op, &op_pointer);
                let multipart = op
                    .pointer("/requestBody/content/multipart~1form-data/schema")
                    .map(|_| format!("{op_pointer}/requestBody/content/multipart~1form-data/schema"));
                methods.insert(method.to_ascii_uppercase(), operations.len());
                operations.push(Operation {
                    body,
                    validator: OnceLock::new(),
                    multipart,
                    multipart_validator: OnceLock::new(),
                });
            }
            routes_by_len.entry(segments.len()).or_default().push(Route {
                template: template.clone(),
                segments,
                methods,
            });
        }
        // Most specific first: compared segment by segment from the left, a literal beats a
        // parameter. The first matching route that has the method wins.
        for routes in routes_by_len.values_mut() {
            routes.sort_by(|a, b| {
                let key = |r: &Route| r.segments.iter().map(|s| matches!(s, Segment::Param)).collect::<Vec<bool>>();
                key(a).cmp(&key(b)).then_with(|| a.template.cmp(&b.template))
            });
        }

        let resource = Draft::Draft202012.create_resource(doc.clone());
        let registry = Registry::options()
            .draft(Draft::Draft202012)
            .build([(SPEC_URI, resource)])
            .map_err(|e| format!("cannot register the spec as a schema resource: {e}"))?;

        Ok(Spec { routes_by_len, operations, registry, doc })
    }

    /// method: "GET"/"POST"/...; path: the raw request path as received, e.g. "/api/v10/guilds/2000/roles?with_counts=true" (strip "/api/v10" prefix and the query string);
    /// body: the parsed JSON body, None when the request had no body.
    /// Ok(()) when the route exists in the spec for that method and the body validates against the operation's requestBody application/json schema.
    pub fn check(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(), String> {
        let method = method.to_ascii_uppercase();
        let path = route_path(path);
        let (route, op_index) =
            self.find(&method, path).ok_or_else(|| format!("no documented route: {method} {path}"))?;
        let op = &self.operations[op_index];
        let what = || format!("{method} {path} (spec route {method} {})", route.template);

        match (&op.body, body) {
            (RequestBody::Json { required: true, .. }, None) => {
                Err(format!("{}: the spec requires a JSON request body, but the request had none", what()))
            }
            (RequestBody::Json { .. } | RequestBody::Other, None) | (RequestBody::None, None) => Ok(()),
            (RequestBody::None | RequestBody::Other, Some(body)) => {
                if body.is_null() || body.as_object().is_some_and(|o| o.is_empty()) {
                    Ok(())
                } else {
                    Err(format!(
                        "{}: the spec documents no JSON request body, but the request had one: {}",
                        what(),
                        truncate(&body.to_string(), MAX_ERROR_CHARS)
                    ))
                }
            }
            (RequestBody::Json { pointer, .. }, Some(body)) => {
                let validator = op
                    .validator
                    .get_or_init(|| self.compile(pointer))
                    .as_ref()
                    .map_err(|e| format!("{}: {e}", what()))?;
                let mut body = body.clone();
                normalize_permissions(&mut body);
                normalize_attachment_ids(&mut body);
                if validator.is_valid(&body) {
                    return Ok(());
                }
                let errors = describe_errors(&self.doc, pointer, validator, &body);
                let shown = errors.len().min(MAX_ERRORS);
                let mut msg =
                    format!("{}: request body does not match the spec: {}", what(), errors[..shown].join("; "));
                if errors.len() > shown {
                    msg.push_str(&format!("; and {} more", errors.len() - shown));
                }
                Err(msg)
            }
        }
    }

    /// Like `check`, for a multipart/form-data body: `form` is the object its parts make
    /// (`payload_json`'s fields and a string per `files[n]` part), validated against the
    /// operation's `multipart/form-data` schema. An operation without one refuses the upload.
    pub fn check_multipart(&self, method: &str, path: &str, form: &Value) -> Result<(), String> {
        let method = method.to_ascii_uppercase();
        let path = route_path(path);
        let (route, op_index) =
            self.find(&method, path).ok_or_else(|| format!("no documented route: {method} {path}"))?;
        let op = &self.operations[op_index];
        let what = || format!("{method} {path} (spec route {method} {})", route.template);
        let Some(pointer) = &op.multipart else {
            return Err(format!("{}: the spec documents no multipart/form-data body for it", what()));
        };
        let validator = op
            .multipart_validator
            .get_or_init(|| self.compile(pointer))
            .as_ref()
            .map_err(|e| format!("{}: {e}", what()))?;
        let mut form = form.clone();
        normalize_permissions(&mut form);
        normalize_attachment_ids(&mut form);
        if validator.is_valid(&form) {
            return Ok(());
        }
        let errors = describe_errors(&self.doc, pointer, validator, &form);
        let shown = errors.len().min(MAX_ERRORS);
        let mut msg = format!("{}: multipart body does not match the spec: {}", what(), errors[..shown].join("; "));
        if errors.len() > shown {
            msg.push_str(&format!("; and {} more", errors.len() - shown));
        }
        Err(msg)
    }

    /// The most specific route matching `path` that documents `method`.
    fn find(&self, method: &str, path: &str) -> Option<(&Route, usize)> {
        let segments: Vec<String> = split_path(path).map(percent_decode).collect();
        self.routes_by_len.get(&segments.len())?.iter().find_map(|route| {
            let matches = route.segments.iter().zip(&segments).all(|(t, s)| match t {
                Segment::Literal(lit) => lit == s,
                Segment::Param => !s.is_empty(),
            });
            if !matches {
                return None;
            }
            route.methods.get(method).map(|&i| (route, i))
        })
    }

    fn compile(&self, pointer: &str) -> Result<Validator, String> {
        let schema = serde_json::json!({ "$ref": format!("{SPEC_URI}#{}", percent_encode_pointer(pointer)) });
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(false)
            .with_registry(self.registry.clone())
            .build(&schema)
            .map_err(|e| format!("cannot compile the spec schema at {pointer}: {e}"))
    }
}

/// Human-readable validation errors, most relevant first.
///
/// A failing `oneOf`/`anyOf` yields errors from every alternative. Alternatives that the instance
/// plainly was not meant to be (its `type` property is not the alternative's `enum`/`const`
/// discriminator, or it is not even of the alternative's JSON type, e.g. a `{"type": "null"}`
/// branch) are dropped, which leaves the errors of the alternative the sender meant. If every
/// alternative is dropped, the discriminator mismatches themselves are reported.
fn describe_errors(spec_doc: &Value, op_pointer: &str, validator: &Validator, body: &Value) -> Vec<String> {
    let BasicOutput::Invalid(units) = validator.apply(body).basic() else {
        return vec!["the validator reported errors but its detailed output found none".to_owned()];
    };
    let units: Vec<(String, String)> = units
        .iter()
        .map(|u| {
            let keyword = u.keyword_location().to_string();
            let instance = u.instance_location().to_string();
            let message = format!(
                "at {} (schema {}): {}",
                if instance.is_empty() { "/" } else { &instance },
                schema_location(spec_doc, op_pointer, &keyword),
                truncate(&u.error_description().to_string(), MAX_ERROR_CHARS)
            );
            (keyword, message)
        })
        .collect();
    let ruled_out: HashSet<&str> = units.iter().filter_map(|(keyword, _)| discriminator_miss(keyword)).collect();
    let mut chosen: Vec<&String> = units
        .iter()
        .filter(|(keyword, _)| !branches(keyword).iter().any(|b| ruled_out.contains(b)))
        .map(|(_, msg)| msg)
        .collect();
    if chosen.is_empty() {
        // every alternative was ruled out: report why, at the outermost level that ruled out any
        chosen = units
            .iter()
            .filter(|(keyword, _)| {
                let all = branches(keyword);
                discriminator_miss(keyword).is_some() && !all[..all.len() - 1].iter().any(|b| ruled_out.contains(b))
            })
            .map(|(_, msg)| msg)
            .collect();
    }
    if chosen.is_empty() {
        chosen = units.iter().map(|(_, msg)| msg).collect();
    }
    let mut seen = HashSet::new();
    chosen.into_iter().filter(|msg| seen.insert(*msg)).cloned().collect()
}

/// A keyword location (`/$ref/$ref/properties/color/type`) named after the last component schema
/// it went through (`CreateRoleRequest/properties/color/type`).
fn schema_location(spec_doc: &Value, op_pointer: &str, keyword: &str) -> String {
    let mut current = spec_doc.pointer(op_pointer);
    let mut name = "requestBody".to_owned();
    let mut rel: Vec<String> = Vec::new();
    // the first segment is the `$ref` of the wrapper schema, which leads to the operation's schema
    for seg in keyword.split('/').skip(2) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        let Some(node) = current else { break };
        if seg == "$ref" {
            if let Some(target) = node.get("$ref").and_then(Value::as_str) {
                let target = target.strip_prefix('#').unwrap_or(target);
                current = spec_doc.pointer(target);
                name = target.rsplit('/').next().unwrap_or(target).to_owned();
                rel.clear();
                continue;
            }
        }
        current = match node {
            Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => node.get(&seg),
        };
        rel.push(seg);
    }
    if current.is_none() {
        return keyword.to_owned();
    }
    std::iter::once(name).chain(rel).collect::<Vec<_>>().join("/")
}

/// The `oneOf`/`anyOf` alternatives a keyword location passes through, outermost first, each as
/// the prefix of `keyword` ending at the alternative's index.
fn branches(keyword: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut end = 0;
    let mut prev = "";
    for (i, part) in keyword.split('/').enumerate() {
        end += part.len() + usize::from(i > 0);
        if (prev == "oneOf" || prev == "anyOf") && part.parse::<usize>().is_ok() {
            out.push(&keyword[..end]);
        }
        prev = part;
    }
    out
}

/// The innermost alternative that this error's keyword location rules out: the instance is not of
/// the alternative's JSON type, or its `type` property misses the alternative's `enum`/`const`.
fn discriminator_miss(keyword: &str) -> Option<&str> {
    let branch = *branches(keyword).last()?;
    let mut rest = &keyword[branch.len()..];
    while let Some(r) = rest.strip_prefix("/$ref") {
        rest = r;
    }
    matches!(rest, "/type" | "/properties/type/enum" | "/properties/type/const").then_some(branch)
}

/// The request body description of one operation; `op_pointer` is its JSON pointer in the spec.
fn request_body(op: &Value, op_pointer: &str) -> RequestBody {
    let Some(rb) = op.get("requestBody") else {
        return RequestBody::None;
    };
    let required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
    match rb.get("content").and_then(|c| c.get("application/json")) {
        Some(media) if media.get("schema").is_some() => RequestBody::Json {
            pointer: format!("{op_pointer}/requestBody/content/application~1json/schema"),
            required,
        },
        _ => RequestBody::Other,
    }
}

/// The path as routed by the spec: without the query string, fragment and `/api/v10` prefix.
fn route_path(raw: &str) -> &str {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    if let Some(rest) = path.strip_prefix("/api/v10") {
        if rest.is_empty() || rest.starts_with('/') {
            return rest;
        }
    }
    path
}

/// The segments of a path; one trailing slash is ignored.
fn split_path(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/').filter(move |_| !path.is_empty())
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    if !bytes.contains(&b'%') {
        return segment.to_owned();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One JSON pointer reference token, escaped (RFC 6901).
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer made safe for a URI fragment: every byte but unreserved ones and `/` is
/// percent-encoded (the resolver percent-decodes the fragment before walking it).
fn percent_encode_pointer(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len() * 2);
    for &b in pointer.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Replaces, anywhere in `value`, the decimal-string values of permission bitfield keys
/// (`allow`, `deny`, `permissions`, `default_member_permissions`) with the integer they spell,
/// which is how the spec types them. Strings that are not all ASCII digits, or whose number does
/// not fit a u64, are left alone; nothing else is converted.
pub(crate) fn normalize_permissions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if PERMISSION_KEYS.contains(&key.as_str()) {
                    if let Value::String(s) = v {
                        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                            if let Ok(n) = s.parse::<u64>() {
                                *v = Value::from(n);
                                continue;
                            }
                        }
                    }
                }
                normalize_permissions(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_permissions),
        _ => {}
    }
}

/// Replaces, in every `attachments` array (at the top level or under `data`, as interaction
/// callbacks nest it), an entry's integer `id` with its decimal string: Discord takes "snowflake
/// or number" there, the spec only the string. Nothing else is converted.
pub(crate) fn normalize_attachment_ids(value: &mut Value) {
    let fix = |v: &mut Value| {
        if let Some(items) = v.get_mut("attachments").and_then(Value::as_array_mut) {
            for a in items {
                if let Some(n) = a.get("id").and_then(Value::as_u64) {
                    a["id"] = Value::String(n.to_string());
                }
            }
        }
    };
    fix(value);
    if let Some(data) = value.get_mut("data") {
        fix(data);
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((idx, _)) => format!("{}…", &s[..idx]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(method: &str, path: &str, body: Option<Value>) {
        if let Err(e) = Spec::global().check(method, path, body.as_ref()) {
            panic!("expected {method} {path} to pass, got: {e}");
        }
    }

    fn err(method: &str, path: &str, body: Option<Value>) -> String {
        match Spec::global().check(method, path, body.as_ref()) {
            Ok(()) => panic!("expected {method} {path} with {body:?} to fail"),
            Err(e) => e,
        }
    }

    #[test]
    fn role_create_with_string_permissions_passes() {
        ok(
            "POST",
            "/api/v10/guilds/2000/roles",
            Some(json!({"name": "Rustaceans", "permissions": "0", "color": 0, "hoist": false, "mentionable": true})),
        );
    }

    #[test]
    fn role_create_with_string_color_fails() {
        let e = err("POST", "/api/v10/guilds/2000/roles", Some(json!({"name": "x", "color": "red"})));
        assert!(e.contains("POST /guilds/2000/roles"), "{e}");
        assert!(e.contains("/color"), "{e}");
    }

    #[test]
    fn unknown_route_fails() {
        let e = err("GET", "/api/v10/nonsense/1", None);
        assert_eq!(e, "no documented route: GET /nonsense/1");
        let e = err("POST", "/api/v10/guilds/1/members/2/roles/3", None);
        assert!(e.starts_with("no documented route: POST "), "{e}");
    }

    #[test]
    fn add_member_role_without_body_passes() {
        ok("PUT", "/api/v10/guilds/1/members/2/roles/3", None);
        ok("DELETE", "/api/v10/guilds/1/members/2/roles/3", None);
        // serenity sometimes sends an empty object
        ok("PUT", "/api/v10/guilds/1/members/2/roles/3", Some(json!({})));
        err("PUT", "/api/v10/guilds/1/members/2/roles/3", Some(json!({"x": 1})));
    }

    #[test]
    fn query_string_and_trailing_slash_are_ignored() {
        ok("GET", "/api/v10/guilds/2000/roles?with_counts=true", None);
        ok("GET", "/api/v10/guilds/2000/roles/", None);
        ok("get", "/guilds/2000", None);
    }

    #[test]
    fn interaction_callback() {
        let path = "/api/v10/interactions/1/tok/callback";
        ok(
            "POST",
            path,
            Some(json!({"type": 4, "data": {"content": "hi", "flags": 64, "allowed_mentions": {"parse": []}}})),
        );
        ok("POST", path, Some(json!({"type": 5})));
        ok("POST", &format!("{path}?with_response=true"), Some(json!({"type": 6})));
        err("POST", path, Some(json!({"type": 99})));
        let e = err("POST", path, None);
        assert!(e.contains("requires a JSON request body"), "{e}");
    }

    /// receiving-and-responding.md, Create Interaction Response: "This endpoint also supports
    /// file attachments"; message.md, Attachment Request Structure: `id` is a "snowflake or
    /// number" that "must match the `n` in `files[n]`".
    #[test]
    fn multipart_bodies_are_checked_against_the_multipart_schema() {
        let spec = Spec::global();
        let callback = "/api/v10/interactions/1/tok/callback";
        let form = json!({"type": 4, "data": {"content": "Stats", "flags": 64,
            "attachments": [{"id": 0, "filename": "stats.png", "description": null}]}, "files[0]": "<3 bytes>"});
        spec.check_multipart("POST", callback, &form).expect("an upload in a callback");
        let bad = json!({"type": 4, "data": {"content": 5}, "files[0]": "<3 bytes>"});
        let e = spec.check_multipart("POST", callback, &bad).unwrap_err();
        assert!(e.contains("multipart body does not match"), "{e}");
        let followup = "/api/v10/webhooks/1/tok";
        spec.check_multipart(
            "POST",
            followup,
            &json!({"content": "x", "attachments": [{"id": 0}], "files[0]": "<1 bytes>"}),
        )
        .expect("a follow-up with a file");
        let edit = "/api/v10/webhooks/1/tok/messages/@original";
        spec.check_multipart("PATCH", edit, &json!({"attachments": [{"id": "12"}], "files[0]": "<1 bytes>"}))
            .expect("an edit that keeps one file and adds one");
        spec.check_multipart("POST", "/api/v10/channels/1/messages", &json!({"content": "x", "files[0]": "<1 bytes>"}))
            .expect("a channel message with a file");
        // A route without a multipart body refuses one.
        let e = spec.check_multipart("PUT", "/api/v10/guilds/1/members/2/roles/3", &json!({})).unwrap_err();
        assert!(e.contains("no multipart/form-data body"), "{e}");
        // An attachment id that is neither a number nor a snowflake string is refused.
        let e = spec
            .check_multipart("POST", followup, &json!({"attachments": [{"id": "zero"}], "files[0]": "<1 bytes>"}))
            .unwrap_err();
        assert!(e.contains("attachments"), "{e}");
    }

    #[test]
    fn message_with_button_components_passes() {
        ok(
            "POST",
            "/api/v10/channels/1/messages",
            Some(json!({
                "content": "Join a group",
                "tts": false,
                "embeds": [{"title": "Groups", "description": "pick one", "color": 3447003,
                            "fields": [{"name": "a", "value": "b", "inline": true}]}],
                "components": [{"type": 1, "components": [
                    {"type": 2, "style": 1, "label": "Join", "custom_id": "join:1"},
                    {"type": 2, "style": 5, "label": "Docs", "url": "https://example.com/docs"}
                ]}],
                "allowed_mentions": {"parse": []}
            })),
        );
        // an action row needs at least one component
        err("POST", "/api/v10/channels/1/messages", Some(json!({"components": [{"type": 1, "components": []}]})));
    }

    #[test]
    fn webhook_original_message_edit_passes() {
        ok("PATCH", "/api/v10/webhooks/1/tok/messages/@original", Some(json!({"content": "x"})));
        ok("PATCH", "/api/v10/webhooks/1/tok/messages/%40original", Some(json!({"content": "x"})));
        ok("PATCH", "/api/v10/webhooks/1/tok/messages/3", Some(json!({"content": "x"})));
        ok("DELETE", "/api/v10/webhooks/1/tok/messages/@original", None);
        let (route, _) = Spec::global().find("PATCH", "/webhooks/1/tok/messages/@original").unwrap();
        assert_eq!(route.template, "/webhooks/{webhook_id}/{webhook_token}/messages/@original");
        let (route, _) = Spec::global().find("PATCH", "/webhooks/1/tok/messages/7").unwrap();
        assert_eq!(route.template, "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}");
        // a literal segment beats a parameter only where the literal route has the method
        let (route, _) = Spec::global().find("PATCH", "/guilds/1/members/@me").unwrap();
        assert_eq!(route.template, "/guilds/{guild_id}/members/@me");
    }

    #[test]
    fn forum_channel_create_with_string_overwrites_passes() {
        ok(
            "POST",
            "/api/v10/guilds/1/channels",
            Some(json!({"name": "rust", "type": 15, "parent_id": "5",
                        "permission_overwrites": [{"id": "1", "type": 0, "allow": "1024", "deny": "0"}]})),
        );
        let e = err(
            "POST",
            "/api/v10/guilds/1/channels",
            Some(json!({"name": "rust", "permission_overwrites": [{"id": "1", "type": 0, "allow": "lots"}]})),
        );
        assert!(e.contains("/permission_overwrites/0/allow"), "{e}");
    }

    #[test]
    fn bulk_overwrite_guild_commands_passes() {
        let commands = json!([
            {
                "name": "group",
                "description": "Manage community groups",
                "type": 1,
                "default_member_permissions": "32",
                "options": [
                    {"type": 1, "name": "join", "description": "Join a group", "options": [
                        {"type": 3, "name": "name", "description": "The group", "required": true,
                         "autocomplete": false,
                         "choices": [{"name": "Rust", "value": "rust"}, {"name": "Go", "value": "go"}]}
                    ]},
                    {"type": 1, "name": "list", "description": "List groups", "options": []}
                ]
            },
            {
                "name": "ping",
                "description": "Pong",
                "options": [],
                "default_member_permissions": null,
                "contexts": [0],
                "integration_types": [0],
                "name_localizations": {},
                "description_localizations": {}
            }
        ]);
        ok("PUT", "/api/v10/applications/1/guilds/2/commands", Some(commands.clone()));
        ok("PUT", "/api/v10/applications/1/commands", Some(commands));
        err(
            "PUT",
            "/api/v10/applications/1/guilds/2/commands",
            Some(json!([{"name": "x", "description": "y", "options": [{"type": 3, "name": "s"}]}])),
        );
    }

    #[test]
    fn formats_are_annotations_only() {
        // "url" has format "uri", snowflakes have format "snowflake", nonce "nonce"
        ok(
            "POST",
            "/api/v10/channels/1/messages",
            Some(json!({"content": "x", "nonce": "abc",
                        "components": [{"type": 1, "components": [
                            {"type": 2, "style": 5, "label": "L", "url": "not a uri at all"}]}]})),
        );
    }

    #[test]
    fn normalize_only_touches_permission_keys() {
        let mut v = json!({
            "permissions": "8",
            "deny": "18446744073709551616",
            "allow": "12a",
            "name": "123",
            "nested": [{"allow": "1024", "default_member_permissions": "32", "id": "5"}],
            "permissions_list": "7"
        });
        normalize_permissions(&mut v);
        assert_eq!(
            v,
            json!({
                "permissions": 8,
                "deny": "18446744073709551616",
                "allow": "12a",
                "name": "123",
                "nested": [{"allow": 1024, "default_member_permissions": 32, "id": "5"}],
                "permissions_list": "7"
            })
        );
    }

    #[test]
    fn body_on_route_without_json_body() {
        ok("POST", "/api/v10/channels/1/typing", None);
        ok("POST", "/api/v10/channels/1/typing", Some(Value::Null));
        err("POST", "/api/v10/channels/1/typing", Some(json!({"a": 1})));
    }

    #[test]
    fn error_lists_instance_paths_and_is_capped() {
        let e = err(
            "POST",
            "/api/v10/guilds/1/roles",
            Some(json!({"name": 1, "color": "a", "hoist": "b", "mentionable": "c", "unicode_emoji": 2,
                        "icon": 3, "permissions": "x"})),
        );
        assert!(e.contains("and 2 more"), "{e}");
        assert!(e.contains("at /"), "{e}");
    }

    #[test]
    fn error_messages_name_the_alternative_meant() {
        let e = err("POST", "/api/v10/interactions/1/tok/callback", Some(json!({"type": 4, "data": {"content": 5}})));
        assert!(
            e.contains("at /data/content (schema IncomingWebhookInteractionRequest/properties/content/type)"),
            "{e}"
        );
        assert!(!e.contains("Modal"), "{e}");
        let e = err(
            "PUT",
            "/api/v10/applications/1/guilds/2/commands",
            Some(json!([{"name": "x", "description": "y", "options": [{"type": 3, "name": "s"}]}])),
        );
        assert!(e.contains("at /0/options/0 (schema ApplicationCommandStringOption/required)"), "{e}");
        assert!(e.contains("\"description\""), "{e}");
        let e = err("POST", "/api/v10/interactions/1/tok/callback", Some(json!({"type": 99})));
        assert!(e.contains("at /type"), "{e}");
        assert!(e.contains("99 is not one of"), "{e}");
    }

    #[test]
    fn helpers() {
        assert_eq!(route_path("/api/v10/guilds/1?x=y"), "/guilds/1");
        assert_eq!(route_path("/api/v100/guilds"), "/api/v100/guilds");
        assert_eq!(percent_decode("%F0%9F%91%8D"), "👍");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_encode_pointer("/paths/~1a~1{b}/post"), "/paths/~1a~1%7Bb%7D/post");
        assert_eq!(split_path("/").count(), 0);
        assert_eq!(split_path("/a/b/").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn every_json_request_schema_compiles() {
        let spec = Spec::global();
        for op in &spec.operations {
            if let RequestBody::Json { pointer, .. } = &op.body {
                spec.compile(pointer).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}

/// The bodies serenity 0.12 actually serializes for the calls guildhall makes.
#[cfg(test)]
mod serenity_bodies {
    use super::Spec;
    use serde_json::Value;
    use serenity::all::{
        ButtonStyle, ChannelId, ChannelType, CommandOptionType, CreateActionRow, CreateAllowedMentions, CreateButton,
        CreateChannel, CreateCommand, CreateCommandOption, CreateEmbed, CreateEmbedFooter, CreateInteractionResponse,
        CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage, EditInteractionResponse,
        EditRole, PermissionOverwrite, PermissionOverwriteType, Permissions, RoleId, UserId,
    };

    fn ok(method: &str, path: &str, body: impl serde::Serialize) {
        let body: Value = serde_json::to_value(body).unwrap();
        if let Err(e) = Spec::global().check(method, path, Some(&body)) {
            panic!("serenity's body for {method} {path} fails the spec: {e}\nbody: {body}");
        }
    }

    fn overwrites() -> Vec<PermissionOverwrite> {
        vec![
            PermissionOverwrite {
                allow: Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY,
                deny: Permissions::SEND_MESSAGES | Permissions::CREATE_PUBLIC_THREADS,
                kind: PermissionOverwriteType::Role(RoleId::new(2000)),
            },
            PermissionOverwrite {
                allow: Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES,
                deny: Permissions::empty(),
                kind: PermissionOverwriteType::Member(UserId::new(4000)),
            },
        ]
    }

    fn message() -> CreateInteractionResponseMessage {
        CreateInteractionResponseMessage::new()
            .content("Groups")
            .embed(
                CreateEmbed::new()
                    .title("Directory")
                    .description("- **Rust**: crabs")
                    .field("Members", "3", true)
                    .footer(CreateEmbedFooter::new("page 1/2"))
                    .colour(0x5865F2),
            )
            .components(vec![CreateActionRow::Buttons(vec![
                CreateButton::new("dir:0:0").label("Previous").style(ButtonStyle::Secondary).disabled(true),
                CreateButton::new("dir:0:1").label("Next").style(ButtonStyle::Primary),
                CreateButton::new_link("https://example.com").label("Docs"),
            ])])
            .allowed_mentions(CreateAllowedMentions::new())
            .ephemeral(true)
    }

    #[test]
    fn create_channel() {
        ok("POST", "/api/v10/guilds/2000/channels", CreateChannel::new("groups").kind(ChannelType::Category));
        for kind in [ChannelType::Forum, ChannelType::Text] {
            ok(
                "POST",
                "/api/v10/guilds/2000/channels",
                CreateChannel::new("rust")
                    .kind(kind)
                    .category(ChannelId::new(3000))
                    .permissions(overwrites())
                    .topic("All about Rust"),
            );
        }
    }

    #[test]
    fn create_role() {
        ok(
            "POST",
            "/api/v10/guilds/2000/roles",
            EditRole::new().name("Rust").permissions(Permissions::empty()).mentionable(false).hoist(false),
        );
        ok("PATCH", "/api/v10/guilds/2000/roles/5000", EditRole::new().name("Rust 2").colour(0xff0000));
    }

    #[test]
    fn interaction_responses() {
        let path = "/api/v10/interactions/1/tok/callback";
        ok("POST", path, CreateInteractionResponse::Message(message()));
        ok("POST", path, CreateInteractionResponse::UpdateMessage(message()));
        ok("POST", path, CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true)));
        ok("POST", path, CreateInteractionResponse::Acknowledge);
        ok(
            "PATCH",
            "/api/v10/webhooks/1/tok/messages/@original",
            EditInteractionResponse::new().content("done").components(vec![]).embeds(vec![]),
        );
        ok("POST", "/api/v10/webhooks/1/tok", CreateInteractionResponseFollowup::new().content("more").ephemeral(true));
    }

    #[test]
    fn channel_message() {
        ok(
            "POST",
            "/api/v10/channels/1/messages",
            CreateMessage::new()
                .content("hello")
                .embed(CreateEmbed::new().title("t"))
                .components(vec![CreateActionRow::Buttons(vec![CreateButton::new("x").label("X")])]),
        );
    }

    #[test]
    fn register_commands() {
        let commands = vec![
            CreateCommand::new("group")
                .description("Community groups")
                .default_member_permissions(Permissions::MANAGE_GUILD)
                .add_option(
                    CreateCommandOption::new(CommandOptionType::SubCommand, "join", "Join a group")
                        .add_sub_option(
                            CreateCommandOption::new(CommandOptionType::String, "name", "The group")
                                .required(true)
                                .add_string_choice("Rust", "rust")
                                .add_string_choice("Go", "go"),
                        )
                        .add_sub_option(
                            CreateCommandOption::new(CommandOptionType::Integer, "page", "Page")
                                .min_int_value(1)
                                .max_int_value(100),
                        ),
                )
                .add_option(CreateCommandOption::new(CommandOptionType::SubCommand, "list", "List groups")),
            CreateCommand::new("groups").description("The directory").dm_permission(false),
        ];
        ok("PUT", "/api/v10/applications/1/guilds/2/commands", &commands);
        ok("PUT", "/api/v10/applications/1/commands", &commands);
        ok("POST", "/api/v10/applications/1/guilds/2/commands", &commands[0]);
    }

    #[test]
    fn bodiless_calls() {
        let spec = Spec::global();
        for (method, path) in [
            ("PUT", "/api/v10/guilds/2000/members/4000/roles/5000"),
            ("DELETE", "/api/v10/guilds/2000/members/4000/roles/5000"),
            ("DELETE", "/api/v10/guilds/2000/roles/5000"),
            ("DELETE", "/api/v10/channels/3000"),
            ("GET", "/api/v10/channels/3000"),
            ("GET", "/api/v10/guilds/2000/channels"),
            ("GET", "/api/v10/guilds/2000/roles"),
            ("GET", "/api/v10/guilds/2000/members/4000"),
            ("GET", "/api/v10/users/@me"),
            ("GET", "/api/v10/gateway/bot"),
            ("GET", "/api/v10/applications/@me"),
            ("GET", "/api/v10/webhooks/1/tok/messages/@original"),
            ("DELETE", "/api/v10/webhooks/1/tok/messages/@original"),
        ] {
            spec.check(method, path, None).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
