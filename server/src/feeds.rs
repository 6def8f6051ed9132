//! Public agenda feeds over HTTP, from the relay's own copy of the
//! documents: per territory `/t/{id}/agenda.ics`, `/t/{id}/agenda-compat.ics`,
//! `/t/{id}/agenda.json` and the HTML page `/t/{id}/`; national
//! `/agenda.ics`, `/agenda.json` and `/territoires.json` over the public
//! territories created on this relay.
//!
//! The texts are `sync_core::flux`'s; this module only reads documents from
//! SQLite (what is committed, so what the relay has acknowledged), checks
//! who may read them, and does HTTP: an `ETag` from the document heads and
//! the hour (the feeds' `DTSTAMP` and 12-month window move by the hour),
//! `304 Not Modified` on `If-None-Match`, compression by the router.
//!
//! A private territory's feeds need `?token=` with an invitation to it
//! (resident or organiser), checked and rate-limited by the same gate as
//! `/sync`. Without one, or for a document that is not a territory of this
//! relay, the answer is the same 404, so nothing is disclosed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use sync_core::DocumentId;
use sync_core::agenda::{self, Agenda, VisibiliteTerritoire};
use sync_core::automerge::Automerge;
use sync_core::flux::{self, Territoire};
use sync_core::rythme::Timestamp;

use crate::gate::{Gate, Verdict};
use crate::invitations::Invitations;
use crate::store::{document_entries, open_read_only};

#[derive(Clone)]
pub(crate) struct FeedState {
    pub(crate) data_dir: PathBuf,
    pub(crate) gate: Arc<Gate>,
    pub(crate) invitations: Arc<std::sync::Mutex<Invitations>>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct FeedQuery {
    token: Option<String>,
}

/// The routes, to merge into the relay's router.
pub(crate) fn routes(state: FeedState) -> Router {
    Router::new()
        .route("/t/{id}/", get(page))
        .route("/t/{id}/{file}", get(file))
        .route("/agenda.ics", get(|s: State<FeedState>, h: HeaderMap| national(s, h, Kind::Ics)))
        .route("/agenda.json", get(|s: State<FeedState>, h: HeaderMap| national(s, h, Kind::Json)))
        .route("/territoires.json", get(|s: State<FeedState>, h: HeaderMap| national(s, h, Kind::Territories)))
        .with_state(state)
        // Phones poll these on weak networks: gzip or brotli, as asked.
        .layer(tower_http::compression::CompressionLayer::new())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ics,
    Compat,
    Json,
    Html,
    Territories,
}

impl Kind {
    fn content_type(self) -> &'static str {
        match self {
            Kind::Ics | Kind::Compat => "text/calendar; charset=utf-8",
            Kind::Json => "application/ld+json; charset=utf-8",
            Kind::Territories => "application/json; charset=utf-8",
            Kind::Html => "text/html; charset=utf-8",
        }
    }
}

/// One territory's document, read from SQLite.
struct Read {
    agenda: Agenda,
    heads: Vec<u8>,
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "aucun agenda public à cette adresse\n").into_response()
}

async fn page(
    state: State<FeedState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath(id): UrlPath<String>,
    query: Query<FeedQuery>,
    headers: HeaderMap,
) -> Response {
    territory(state, from, id, query, headers, Kind::Html).await
}

async fn file(
    state: State<FeedState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath((id, file)): UrlPath<(String, String)>,
    query: Query<FeedQuery>,
    headers: HeaderMap,
) -> Response {
    let kind = match file.as_str() {
        "agenda.ics" => Kind::Ics,
        "agenda-compat.ics" => Kind::Compat,
        "agenda.json" => Kind::Json,
        _ => return not_found(),
    };
    territory(state, from, id, query, headers, kind).await
}

async fn territory(
    State(state): State<FeedState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    id: String,
    Query(query): Query<FeedQuery>,
    headers: HeaderMap,
    kind: Kind,
) -> Response {
    let Ok(doc) = id.parse::<DocumentId>() else { return not_found() };
    let base = base_url(&headers);
    let found = tokio::task::spawn_blocking(move || -> Result<Option<(Territoire, Read)>, String> {
        let known = lock(&state.invitations).territories().map_err(|e| e.to_string())?;
        if !known.contains(&doc) {
            return Ok(None);
        }
        let Some(read) = read_document(&state.data_dir, &doc)? else { return Ok(None) };
        let public = read.agenda.profil.as_ref().is_some_and(|p| p.visibilite == VisibiliteTerritoire::Public);
        if !public {
            let now = crate::hub::now().0 as i64;
            match state.gate.admit(from.ip(), query.token.as_deref(), now) {
                Verdict::Enter(Some(grants)) if grants.iter().any(|g| g.territory == doc) => {}
                _ => return Ok(None),
            }
        }
        Ok(Some((Territoire::new(doc.to_string(), &read.agenda, base), read)))
    })
    .await;
    let (territoire, read) = match found {
        Ok(Ok(Some(found))) => found,
        Ok(Ok(None)) => return not_found(),
        Ok(Err(error)) => return unavailable(&error),
        Err(error) => return unavailable(&error.to_string()),
    };
    let (now, hour) = this_hour();
    let etag = etag(&[&read.heads], kind, hour);
    if matches(&headers, &etag) {
        return not_modified(&etag);
    }
    let body = match kind {
        Kind::Ics => flux::ics(&territoire, &read.agenda, now),
        Kind::Compat => flux::ics_compat(&territoire, &read.agenda, now),
        Kind::Json => flux::json_ld(&territoire, &read.agenda, now).to_string(),
        Kind::Html => flux::html(&territoire, &read.agenda, now),
        // Only routed nationally.
        Kind::Territories => return not_found(),
    };
    respond(kind, &etag, body)
}

async fn national(State(state): State<FeedState>, headers: HeaderMap, kind: Kind) -> Response {
    let base = base_url(&headers);
    let found = tokio::task::spawn_blocking(move || -> Result<Vec<(Territoire, Read)>, String> {
        let known = lock(&state.invitations).territories().map_err(|e| e.to_string())?;
        let mut all = Vec::new();
        for doc in known {
            if let Some(read) = read_document(&state.data_dir, &doc)? {
                // The flux functions keep only public territories.
                all.push((Territoire::new(doc.to_string(), &read.agenda, base.clone()), read));
            }
        }
        Ok(all)
    })
    .await;
    let all = match found {
        Ok(Ok(all)) => all,
        Ok(Err(error)) => return unavailable(&error),
        Err(error) => return unavailable(&error.to_string()),
    };
    let (now, hour) = this_hour();
    let heads: Vec<&[u8]> = all.iter().map(|(_, r)| r.heads.as_slice()).collect();
    let etag = etag(&heads, kind, hour);
    if matches(&headers, &etag) {
        return not_modified(&etag);
    }
    let pairs: Vec<(Territoire, Agenda)> = all.into_iter().map(|(t, r)| (t, r.agenda)).collect();
    let body = match kind {
        Kind::Ics => flux::ics_national(&pairs, now),
        Kind::Json => flux::json_ld_national(&pairs, now).to_string(),
        _ => flux::territoires_json(&pairs).to_string(),
    };
    respond(kind, &etag, body)
}

/// Loads a document from its committed chunks; `None` if there are none.
fn read_document(data_dir: &Path, doc: &DocumentId) -> Result<Option<Read>, String> {
    let conn = open_read_only(data_dir).map_err(|e| e.to_string())?;
    let entries = document_entries(&conn, doc).map_err(|e| e.to_string())?;
    let mut am = Automerge::new();
    let mut any = false;
    for (key, value) in entries {
        // An unreadable chunk is skipped here, as the repo reports and
        // keeps it: a feed shows what can be read.
        if key.as_chunk().is_some() && am.load_incremental(&value).is_ok() {
            any = true;
        }
    }
    if !any || am.get_heads().is_empty() {
        return Ok(None);
    }
    let mut heads: Vec<_> = am.get_heads();
    heads.sort();
    let heads = heads.iter().flat_map(|h| h.0).collect();
    Ok(Some(Read { agenda: agenda::lire(&am), heads }))
}

fn unavailable(error: &str) -> Response {
    tracing::error!(%error, "cannot read a feed");
    (StatusCode::SERVICE_UNAVAILABLE, "agenda indisponible\n").into_response()
}

fn lock(m: &std::sync::Mutex<Invitations>) -> std::sync::MutexGuard<'_, Invitations> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `http://host` as the client addressed the relay, for links in feeds.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:3030");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    format!("{scheme}://{host}")
}

/// The start of the current hour: the feeds' `now` and the ETag's period.
fn this_hour() -> (Timestamp, i64) {
    let hour = (crate::hub::now().0 / 3_600_000) as i64;
    let now = Timestamp::from_millisecond(hour * 3_600_000).unwrap_or(Timestamp::UNIX_EPOCH);
    (now, hour)
}

fn etag(heads: &[&[u8]], kind: Kind, hour: i64) -> String {
    let mut hash = Sha256::new();
    for h in heads {
        hash.update(h);
        hash.update([0]);
    }
    hash.update(format!("{kind:?}/{hour}"));
    let digest = hash.finalize();
    format!("\"{}\"", digest[..12].iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| candidate.trim() == etag || candidate.trim() == "*")
}

fn not_modified(etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn respond(kind: Kind, etag: &str, body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind.content_type()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300, must-revalidate"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    response
}
