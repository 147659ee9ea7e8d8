//! File uploads, as Discord takes them (message.md, Create Message: "Files
//! must be attached using a `multipart/form-data` body"; receiving-and-
//! responding.md, Create Interaction Response: "This endpoint also supports
//! file attachments similar to the webhook endpoints").
//!
//! A multipart body has a `payload_json` part (the JSON body of the request,
//! "JSON-encoded body of non-file params, only for `multipart/form-data`
//! requests") and one `files[n]` part per file; the payload's `attachments`
//! array gives each new file's metadata, its `id` matching the `n` of its
//! part (message.md, Attachment Request Structure). Other form fields are
//! the body's other parameters ("with other parameters as form fields in the
//! multipart body", channel.md).

use crate::world::ApiError;
use serde_json::{Map, Value};

/// Discord's largest request when sending a message (message.md, Create
/// Message, Limitations: "The maximum request size when sending a message is
/// **25 MiB**").
pub const MAX_REQUEST_BYTES: usize = 25 * 1024 * 1024;

/// At most 10 files a message (the spec's multipart schemas list
/// `files[0]` to `files[9]`; the `attachments` array has `maxItems: 10`).
pub const MAX_FILES: usize = 10;

/// One `files[n]` part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePart {
    /// The `n` of `files[n]`.
    pub index: u64,
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A multipart body, read.
#[derive(Clone, Debug, Default)]
pub struct Multipart {
    /// `payload_json` merged with the other text fields.
    pub payload: Value,
    pub files: Vec<FilePart>,
}

/// Whether a request's `Content-Type` is multipart/form-data.
pub fn is_multipart(content_type: &str) -> bool {
    content_type.trim_start().to_ascii_lowercase().starts_with("multipart/form-data")
}

/// Read a multipart/form-data body. A malformed body, a `payload_json` that
/// is not a JSON object, a file part without a filename or named other than
/// `files[n]` is Discord's 50035 Invalid Form Body ("returned for both
/// `application/json` and `multipart/form-data` bodies").
pub async fn parse(content_type: &str, body: axum::body::Bytes) -> Result<Multipart, ApiError> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| invalid(&format!("Content-Type: {e}")))?;
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut payload: Option<Value> = None;
    let mut fields = Map::new();
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| invalid(&format!("multipart body: {e}")))? {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|m| m.essence_str().to_string());
        let bytes = field.bytes().await.map_err(|e| invalid(&format!("part {name}: {e}")))?;
        if let Some(n) = file_index(&name) {
            let filename =
                filename.filter(|f| !f.is_empty()).ok_or_else(|| invalid(&format!("{name}: no filename")))?;
            if files.iter().any(|f: &FilePart| f.index == n) {
                return Err(invalid(&format!("{name}: sent twice")));
            }
            let content_type = content_type.unwrap_or_else(|| "application/octet-stream".to_string());
            files.push(FilePart { index: n, filename, content_type, bytes: bytes.to_vec() });
        } else if name == "payload_json" {
            let v: Value = serde_json::from_slice(&bytes).map_err(|_| invalid("payload_json: not JSON"))?;
            if !v.is_object() {
                return Err(invalid("payload_json: not a JSON object"));
            }
            payload = Some(v);
        } else if filename.is_some() {
            return Err(invalid(&format!("{name}: a file part must be named files[n]")));
        } else {
            fields.insert(name, Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    let mut payload = payload.unwrap_or_else(|| Value::Object(Map::new()));
    if let Some(o) = payload.as_object_mut() {
        for (k, v) in fields {
            o.entry(k).or_insert(v);
        }
    }
    files.sort_by_key(|f| f.index);
    Ok(Multipart { payload, files })
}

/// `files[n]` -> `n`.
fn file_index(name: &str) -> Option<u64> {
    name.strip_prefix("files[")?.strip_suffix(']')?.parse().ok()
}

fn invalid(what: &str) -> ApiError {
    ApiError::invalid_form(what)
}

/// The object a multipart body is validated as against the operation's
/// `multipart/form-data` schema: the payload's fields and each `files[n]`
/// part as a string (the spec types them `{"type": "string",
/// "contentEncoding": "binary"}`; `contentEncoding` is an annotation).
pub fn as_form_object(payload: &Value, files: &[FilePart]) -> Value {
    let mut v = payload.clone();
    if v.is_null() {
        v = Value::Object(Map::new());
    }
    if let Some(o) = v.as_object_mut() {
        for f in files {
            o.insert(format!("files[{}]", f.index), Value::String(format!("<{} bytes>", f.bytes.len())));
        }
    }
    v
}

/// The new attachments a request makes, checked as Discord checks them:
/// - every `files[n]` part becomes an attachment; its metadata
///   (`filename`, `description`) comes from the `attachments` entry whose
///   `id` is `n`, if any ("for new attachments this must match the `n` in
///   `files[n]`");
/// - an `attachments` entry that names neither a file part nor, when
///   `existing` lists them, a kept attachment of the message is refused
///   (400 50035): there is no file for it;
/// - at most `MAX_FILES` attachments;
/// - a file larger than `limit` (the server's `attachment_size_limit`,
///   receiving-and-responding.md) is refused with 413 and code 40005
///   ("Request entity too large", opcodes-and-status-codes.md).
///
/// Returns the new files (with their metadata) and the ids of the existing
/// attachments to keep (`None` when the body has no `attachments` array:
/// on an edit, every existing attachment stays, message.md, Edit Message).
pub fn check(
    body: &Value,
    files: &[FilePart],
    existing: &[u64],
    limit: u64,
) -> Result<(Vec<NewFile>, Option<Vec<u64>>), ApiError> {
    let listed = body.get("attachments").and_then(Value::as_array);
    let mut keep: Option<Vec<u64>> = listed.map(|_| Vec::new());
    let mut described: Vec<(u64, &Value)> = Vec::new();
    for (i, a) in listed.into_iter().flatten().enumerate() {
        let id = match &a["id"] {
            Value::String(s) => s.parse::<u64>().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
        .ok_or_else(|| invalid(&format!("attachments.{i}.id: required")))?;
        if files.iter().any(|f| f.index == id) {
            described.push((id, a));
        } else if existing.contains(&id) {
            keep.get_or_insert_with(Vec::new).push(id);
        } else {
            return Err(invalid(&format!("attachments.{i}.id: no files[{id}] part and no such attachment")));
        }
    }
    let kept = keep.as_ref().map_or(existing.len(), Vec::len);
    if files.len() + kept > MAX_FILES {
        return Err(invalid(&format!("attachments: Must be {MAX_FILES} or fewer in length.")));
    }
    let mut out = Vec::new();
    for f in files {
        if f.bytes.len() as u64 > limit {
            return Err(ApiError::new(413, 40005, "Request entity too large"));
        }
        let meta = described.iter().find(|(id, _)| *id == f.index).map(|(_, a)| *a);
        let filename =
            meta.and_then(|a| a["filename"].as_str()).filter(|s| !s.is_empty()).unwrap_or(&f.filename).to_string();
        let description = meta.and_then(|a| a["description"].as_str()).map(str::to_string);
        out.push(NewFile { filename, description, content_type: f.content_type.clone(), bytes: f.bytes.clone() });
    }
    Ok((out, keep))
}

/// A file a request attaches, with its metadata.
#[derive(Clone, Debug)]
pub struct NewFile {
    pub filename: String,
    pub description: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn part(index: u64, len: usize) -> FilePart {
        FilePart { index, filename: format!("f{index}.csv"), content_type: "text/csv".into(), bytes: vec![b'x'; len] }
    }

    fn body(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> axum::body::Bytes {
        let mut b = Vec::new();
        for (name, filename, data) in parts {
            b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match filename {
                Some(f) => b.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/png\r\n\r\n")
                        .as_bytes(),
                ),
                None => b.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            b.extend_from_slice(data);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        b.into()
    }

    /// message.md, Create Message: `payload_json` is the "JSON-encoded body
    /// of non-file params", `files[n]` the "Contents of the file being sent".
    #[tokio::test]
    async fn payload_json_and_file_parts_are_read() {
        let ct = "multipart/form-data; boundary=XyZ";
        let payload = br#"{"content":"hi","attachments":[{"id":0,"filename":"a.png"}]}"#;
        let m = parse(ct, body("XyZ", &[("files[0]", Some("a.png"), b"\x89PNG"), ("payload_json", None, payload)]))
            .await
            .unwrap();
        assert_eq!(m.payload["content"], "hi");
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].index, 0);
        assert_eq!(m.files[0].filename, "a.png");
        assert_eq!(m.files[0].content_type, "image/png");
        assert_eq!(m.files[0].bytes, b"\x89PNG");
        let form = as_form_object(&m.payload, &m.files);
        assert!(form["files[0]"].is_string(), "file parts are validated as the spec's binary strings");
    }

    /// opcodes-and-status-codes.md, 50035: "Invalid form body (returned for
    /// both `application/json` and `multipart/form-data` bodies)".
    #[tokio::test]
    async fn malformed_multipart_bodies_are_invalid_form_bodies() {
        let ct = "multipart/form-data; boundary=XyZ";
        let not_json = parse(ct, body("XyZ", &[("payload_json", None, b"{nope")])).await.unwrap_err();
        assert_eq!((not_json.status, not_json.code), (400, 50035));
        let stray_file = parse(ct, body("XyZ", &[("file", Some("a.png"), b"x")])).await.unwrap_err();
        assert_eq!(stray_file.code, 50035);
        let nameless = parse(ct, body("XyZ", &[("files[0]", Some(""), b"x")])).await.unwrap_err();
        assert_eq!(nameless.code, 50035);
        assert_eq!(parse("multipart/form-data", axum::body::Bytes::new()).await.unwrap_err().code, 50035);
    }

    /// message.md, Attachment Request Structure: "for new attachments this
    /// must match the `n` in `files[n]`"; an entry naming no file part (and
    /// no attachment the message keeps) has no file: refused.
    #[test]
    fn attachments_entries_must_name_a_file_part_or_a_kept_attachment() {
        let b = json!({"attachments": [{"id": 0, "filename": "stats.png", "description": "chart"}]});
        let (files, keep) = check(&b, &[part(0, 3)], &[], 100).unwrap();
        assert_eq!(files[0].filename, "stats.png");
        assert_eq!(files[0].description.as_deref(), Some("chart"));
        assert_eq!(keep, Some(vec![]));
        let missing = json!({"attachments": [{"id": 1}]});
        assert_eq!(check(&missing, &[part(0, 3)], &[], 100).unwrap_err().code, 50035);
        // Edit Message: "you must provide the `id` of each file to keep".
        let kept = json!({"attachments": [{"id": "777"}, {"id": 0}]});
        let (_, keep) = check(&kept, &[part(0, 3)], &[777, 778], 100).unwrap();
        assert_eq!(keep, Some(vec![777]));
        // No array: on an edit every attachment stays.
        assert_eq!(check(&json!({}), &[part(0, 3)], &[777], 100).unwrap().1, None);
    }

    /// receiving-and-responding.md: `attachment_size_limit`, "Attachment
    /// size limit in bytes"; opcodes-and-status-codes.md 40005: "Request
    /// entity too large".
    #[test]
    fn a_file_over_the_servers_limit_is_request_entity_too_large() {
        let e = check(&json!({}), &[part(0, 101)], &[], 100).unwrap_err();
        assert_eq!((e.status, e.code), (413, 40005));
        check(&json!({}), &[part(0, 100)], &[], 100).expect("at the limit is fine");
        let eleven: Vec<FilePart> = (0..11).map(|i| part(i, 1)).collect();
        assert_eq!(check(&json!({}), &eleven, &[], 100).unwrap_err().code, 50035, "at most 10 files");
    }
}
