//! A document's stored chunks over plain HTTP, so that a first download
//! survives a weak network: whatever arrived is kept, and the rest is
//! asked for with `Range`.
//!
//! Automerge's first websocket sync sends a whole document in one message,
//! so a link that drops every few seconds never completes it. But every
//! subset of a document's chunks is valid Automerge data, and a chunk's
//! bytes never change under its key (it is content-addressed; compaction
//! may delete it, never rewrite it). A device can therefore fetch the
//! chunks one by one, resume each where it stopped, load them, and let
//! websocket sync bring only what is newer:
//!
//! - `GET /d/{doc}/chunks`: the document's snapshot and incremental chunks
//!   as committed in SQLite, `[{"type":"snapshot","name":"…","bytes":N}, …]`,
//!   snapshots first; `Cache-Control: no-cache`. 404 if it has none. The
//!   header `Essaim-Storage-Id` names the relay's store (the storage id
//!   every peer gets in the `peer` message): a device that downloaded the
//!   chunks from this store may record that the relay has their changes
//!   (`sync_core::sync_state_after_download`), so its first websocket sync
//!   sends only what is newer instead of a Bloom filter over every change.
//! - `GET /d/{doc}/chunks/{type}/{name}`: one chunk's bytes, `ETag:
//!   "{name}"`, `Accept-Ranges: bytes`, cacheable for a year. `Range:
//!   bytes=N-`, `N-M` or `-N` gives 206 with `Content-Range`; a range
//!   past the end, 416; an `If-Range` naming another validator, the whole
//!   chunk (200); a chunk compacted away, 404 (the client lists again).
//!
//! Access is `/sync`'s, through the same gate: in open mode without a
//! token, every document; otherwise `?token=a,b` opens the territories its
//! invitations grant (organiser or resident), and any other document gets
//! the same 404 as a missing one. A bad token is 401 and counts toward the
//! same rate limit (429).
//!
//! This module only reads committed data, on its own read-only connection:
//! it writes nothing, never serves sync states, and decides nothing about
//! sync (the storage id it tells is public). Chunks are not compressed
//! (Automerge already deflates them, and a compressed body would break
//! byte ranges): the router's compression layer covers only the feeds.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_core::{Access, ChunkKind, DocumentId, STORAGE_ID_HEADER, StorageId, StorageKey};

use crate::app::{AppState, SyncQuery, admit};
use crate::error::{HttpError, Source};
use crate::store::StoreError;

/// One entry of the listing.
#[derive(Debug, serde::Serialize)]
struct Listed {
    #[serde(rename = "type", serialize_with = "kind_name")]
    kind: ChunkKind,
    name: String,
    bytes: u64,
}

/// A chunk kind by its name in keys and URLs.
fn kind_name<S: serde::Serializer>(kind: &ChunkKind, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(kind.as_str())
}

/// `GET /d/{doc}/chunks`.
pub(crate) async fn list(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    UrlPath(doc): UrlPath<String>,
    Query(query): Query<SyncQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let doc = allowed(&state, from, &headers, query, &doc).await?;
    let storage = state.storage.clone();
    type Read = (Vec<Listed>, Option<StorageId>);
    let read = tokio::task::spawn_blocking(move || -> Result<Read, StoreError> {
        let mut reader = storage.reader()?;
        let mut listed: Vec<Listed> = reader
            .sizes(&doc)?
            .into_iter()
            .filter_map(|(key, bytes)| {
                let (kind, name) = key.as_chunk()?;
                Some(Listed { kind, name: name.to_owned(), bytes })
            })
            .collect();
        // Snapshots first, as a load reads them.
        listed.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        // Written once at the relay's first start, never changed.
        let store = reader.value(&StorageKey::storage_id())?;
        Ok((listed, store.and_then(|id| String::from_utf8(id).ok()?.parse().ok())))
    })
    .await;
    let (listed, store) = HttpError::or_unavailable(Source::Chunks, read)?;
    if listed.is_empty() {
        return Err(HttpError::NoSuchChunk);
    }
    let body = serde_json::to_string(&listed).unwrap_or_else(|_| "[]".to_owned());
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(store) = store {
        insert(&mut response, header::HeaderName::from_static(STORAGE_ID_HEADER), store.as_str());
    }
    Ok(response)
}

/// `GET /d/{doc}/chunks/{type}/{name}`.
pub(crate) async fn chunk(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    UrlPath((doc, kind, name)): UrlPath<(String, String, String)>,
    Query(query): Query<SyncQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let doc = allowed(&state, from, &headers, query, &doc).await?;
    let key = StorageKey::chunk_named(&doc, &kind, &name).ok_or(HttpError::NoSuchChunk)?;
    let storage = state.storage.clone();
    let read = tokio::task::spawn_blocking(move || storage.reader()?.value(&key)).await;
    let bytes = HttpError::or_unavailable(Source::Chunks, read)?.ok_or(HttpError::NoSuchChunk)?;
    let etag = format!("\"{name}\"");
    let len = bytes.len() as u64;
    let mut response = match wanted(&headers, &etag, len) {
        Wanted::Whole => bytes.into_response(),
        Wanted::Part(first, last) => {
            let part = bytes[first as usize..=last as usize].to_vec();
            let mut response = (StatusCode::PARTIAL_CONTENT, part).into_response();
            insert(&mut response, header::CONTENT_RANGE, &format!("bytes {first}-{last}/{len}"));
            response
        }
        Wanted::Unsatisfiable => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            insert(&mut response, header::CONTENT_RANGE, &format!("bytes */{len}"));
            response
        }
    };
    insert(&mut response, header::CONTENT_TYPE, "application/octet-stream");
    insert(&mut response, header::ETAG, &etag);
    insert(&mut response, header::ACCEPT_RANGES, "bytes");
    // Content-addressed: the bytes under this URL never change.
    insert(&mut response, header::CACHE_CONTROL, "private, max-age=31536000, immutable");
    Ok(response)
}

/// The document, if the request's tokens open it as they would on `/sync`
/// ([`crate::gate::access`]); else the refusal (401 or 429 from the gate,
/// 404 for a document they do not open).
async fn allowed(
    state: &AppState,
    from: SocketAddr,
    headers: &HeaderMap,
    query: SyncQuery,
    doc: &str,
) -> Result<DocumentId, HttpError> {
    let client = state.gate.client_address(from, headers);
    let pass = admit(&state.gate, client, query.token).await?;
    let doc: DocumentId = doc.parse().map_err(|_| HttpError::NoSuchChunk)?;
    match crate::gate::access(&pass, &doc) {
        Access::Denied => Err(HttpError::NoSuchChunk),
        Access::ReadOnly | Access::ReadWrite => Ok(doc),
    }
}

/// What a request's `Range` asks for, after `If-Range` (RFC 9110 §14).
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// No usable range: the whole chunk (200).
    Whole,
    /// Bytes `first..=last` (206).
    Part(u64, u64),
    /// A range starting past the end (416).
    Unsatisfiable,
}

/// Reads `Range` and `If-Range`. A range that does not parse, in another
/// unit, or with several parts is ignored (the whole chunk, as RFC 9110
/// allows); so is any `If-Range` other than this chunk's ETag (a date
/// never matches: chunks have no `Last-Modified`).
fn wanted(headers: &HeaderMap, etag: &str, len: u64) -> Wanted {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Wanted::Whole };
    if let Some(if_range) = headers.get(header::IF_RANGE)
        && if_range.as_bytes() != etag.as_bytes()
    {
        return Wanted::Whole;
    }
    let Some(spec) = range.trim().strip_prefix("bytes=") else { return Wanted::Whole };
    let Some((first, last)) = spec.split_once('-') else { return Wanted::Whole };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let (first, last) = (first.trim(), last.trim());
    let (first, last) = match (digits(first), digits(last)) {
        // `-N`: the last N bytes.
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || len == 0 {
                return Wanted::Unsatisfiable;
            }
            (len.saturating_sub(suffix), len - 1)
        }
        (Some(first), None) if last.is_empty() => (first, u64::MAX),
        (Some(first), Some(last)) if first <= last => (first, last),
        _ => return Wanted::Whole,
    };
    if first >= len { Wanted::Unsatisfiable } else { Wanted::Part(first, last.min(len - 1)) }
}

/// A decimal number made of ASCII digits only (no sign, no space).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(range: &str, if_range: Option<&str>) -> Wanted {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(range).expect("header"));
        if let Some(v) = if_range {
            headers.insert(header::IF_RANGE, HeaderValue::from_str(v).expect("header"));
        }
        wanted(&headers, "\"abc\"", 100)
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(ask("bytes=10-", None), Wanted::Part(10, 99));
        assert_eq!(ask("bytes=10-19", None), Wanted::Part(10, 19));
        assert_eq!(ask("bytes=90-500", None), Wanted::Part(90, 99));
        assert_eq!(ask("bytes=-30", None), Wanted::Part(70, 99));
        assert_eq!(ask("bytes=-300", None), Wanted::Part(0, 99));
        assert_eq!(ask("bytes=100-", None), Wanted::Unsatisfiable);
        assert_eq!(ask("bytes=-0", None), Wanted::Unsatisfiable);
        assert_eq!(ask("bytes=10-", Some("\"abc\"")), Wanted::Part(10, 99));
        // Ignored: whole chunk.
        for ignored in ["bytes=5-1", "bytes=0-1,5-6", "items=0-1", "bytes=+1-", "bytes=a-", "bytes=-", "bytes 1-2"] {
            assert_eq!(ask(ignored, None), Wanted::Whole, "{ignored}");
        }
        assert_eq!(ask("bytes=10-", Some("\"other\"")), Wanted::Whole);
        assert_eq!(ask("bytes=10-", Some("Wed, 21 Oct 2015 07:28:00 GMT")), Wanted::Whole);
        assert_eq!(wanted(&HeaderMap::new(), "\"abc\"", 100), Wanted::Whole);
    }
}
