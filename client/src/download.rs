//! The client side of the relay's chunk routes (`server/src/chunks.rs`): a
//! resumable download of one document's stored chunks over HTTP/1.1, for
//! tests and benchmarks (the PWA does the same in TypeScript).
//!
//! [`download_document`] lists the document's chunks (once, and again
//! whenever one has been compacted away), then fetches every chunk not yet
//! complete, asking for the missing end only (`Range: bytes={have}-` with
//! `If-Range`). Everything received is kept in a [`Download`], body frame
//! by body frame, so when the connection drops mid-chunk the caller calls
//! again and loses nothing. Completed chunks are kept even when a later
//! listing no longer has them: each is valid Automerge data on its own.
//! [`Download::into_store`] turns the completed chunks into a client store
//! under their storage keys; websocket sync then brings what is newer.
//! Once the download is complete, the store also gets a sync state with the
//! relay's store, named by the listing's `Essaim-Storage-Id` header
//! (`sync_core::sync_state_after_download`): the relay has every change of
//! the chunks it served, so that sync does not begin with a Bloom filter
//! over all of them. Every listing must name the same store, else no sync
//! state is written.
//!
//! It does not retry by itself, nor decide anything about sync; it speaks
//! plain `http://` only (no TLS), through hyper 1's client connection API,
//! one keep-alive connection per call.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use sync_core::{ChunkKind, DocumentId, STORAGE_ID_HEADER, StorageId, StorageKey, sync_state_after_download};
use tokio::net::TcpStream;

use crate::MemoryStore;

/// How long connecting, a response head, or any body frame may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Listings in one call: each one after the first follows a chunk that was
/// compacted away, which should not happen many times in a row.
const MAX_LISTINGS: usize = 4;
/// Requests in one call, whatever the relay answers.
const MAX_REQUESTS: usize = 10_000;

/// Why a call to [`download_document`] stopped. What was received before
/// stays in the [`Download`]: call again to resume.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The base is not `http://host[:port][/prefix]`.
    #[error("unsupported relay address {0:?}: expected http://host[:port]")]
    Url(String),
    /// The progress given belongs to another document.
    #[error("this download is for document {0}")]
    OtherDocument(DocumentId),
    /// Connecting, sending or receiving failed (a dropped link).
    #[error("connection to the relay failed: {0}")]
    Connection(String),
    /// The relay stayed silent for [`TIMEOUT`].
    #[error("the relay did not answer within {TIMEOUT:?}")]
    Timeout,
    /// The relay refused or failed a request (401, 404 for the listing, 429, 503…).
    #[error("the relay answered {status} to {what}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Which request.
        what: String,
        /// The start of the relay's explanation.
        body: String,
    },
    /// The listing is not the relay's JSON.
    #[error("invalid chunk listing: {0}")]
    Listing(String),
    /// A chunk response does not fit what was asked; that chunk starts over.
    #[error("invalid response for chunk {name}: {why}")]
    Invalid {
        /// The chunk.
        name: String,
        /// What was wrong.
        why: String,
    },
    /// Chunks kept disappearing between listing and fetching.
    #[error("the document's chunks kept changing ({MAX_LISTINGS} listings in one call)")]
    Unstable,
}

/// One chunk as the relay listed it, and what arrived of it.
#[derive(Debug, Clone)]
struct Chunk {
    kind: ChunkKind,
    name: String,
    size: u64,
    bytes: Vec<u8>,
}

impl Chunk {
    fn complete(&self) -> bool {
        self.bytes.len() as u64 == self.size
    }
}

/// A chunk's progress, for reports and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkProgress {
    /// Snapshot or incremental.
    pub kind: ChunkKind,
    /// Its name (a hash in hex).
    pub name: String,
    /// Bytes received.
    pub received: u64,
    /// Its size, from the listing.
    pub size: u64,
}

/// A download in progress: what has been received of one document's
/// chunks. Keep it across calls to [`download_document`].
#[derive(Debug, Clone, Default)]
pub struct Download {
    doc: Option<DocumentId>,
    chunks: Vec<Chunk>,
    /// Whether `chunks` holds a listing still worth following.
    listed: bool,
    /// The relay's store as the listings named it: `None` before the first
    /// listing, `Some(None)` once one did not name it, or named another.
    relay_store: Option<Option<StorageId>>,
    received: u64,
    requests: u64,
}

impl Download {
    /// True once every listed chunk is complete.
    pub fn is_complete(&self) -> bool {
        self.listed && self.chunks.iter().all(Chunk::complete)
    }

    /// Each known chunk: listed ones, and completed ones a later listing
    /// dropped.
    pub fn chunks(&self) -> Vec<ChunkProgress> {
        let progress = |c: &Chunk| ChunkProgress {
            kind: c.kind,
            name: c.name.clone(),
            received: c.bytes.len() as u64,
            size: c.size,
        };
        self.chunks.iter().map(progress).collect()
    }

    /// Body bytes received over every call, retransmissions included.
    pub fn received_bytes(&self) -> u64 {
        self.received
    }

    /// HTTP requests sent over every call.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Bytes of the known chunks (complete or not).
    pub fn total_bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.size).sum()
    }

    /// Bytes held of the known chunks.
    pub fn held_bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.bytes.len() as u64).sum()
    }

    /// The relay's storage id, if every listing named the same one.
    pub fn relay_storage_id(&self) -> Option<&StorageId> {
        self.relay_store.as_ref()?.as_ref()
    }

    /// Adds every completed chunk to `store`, under its storage key (what
    /// the relay stores it under); incomplete ones are left out. When the
    /// download is complete and the relay named its store, also the sync
    /// state saying that store has those chunks' changes.
    pub fn add_to(&self, store: &mut MemoryStore) {
        let Some(doc) = &self.doc else { return };
        let chunks: Vec<(StorageKey, Vec<u8>)> = self
            .chunks
            .iter()
            .filter(|c| c.complete())
            .map(|c| (StorageKey::chunk(doc, c.kind, &c.name), c.bytes.clone()))
            .collect();
        let seeded = match self.relay_storage_id() {
            Some(remote) if self.is_complete() => sync_state_after_download(doc, remote, &chunks),
            _ => None,
        };
        for (key, bytes) in chunks.into_iter().chain(seeded) {
            store.put(key, bytes);
        }
    }

    /// A client store holding the completed chunks, to open the document
    /// from (see [`crate::ClientOptions::store`]).
    pub fn into_store(self) -> MemoryStore {
        let mut store = MemoryStore::default();
        self.add_to(&mut store);
        store
    }

    /// Follows a new listing from the store `relay`: listed chunks keep
    /// what arrived of them, unlisted ones are kept only if complete.
    fn follow(&mut self, listed: Vec<(ChunkKind, String, u64)>, relay: Option<StorageId>) {
        self.relay_store = match self.relay_store.take() {
            None => Some(relay),
            Some(known) => Some(known.filter(|k| relay.as_ref() == Some(k))),
        };
        let mut old = std::mem::take(&mut self.chunks);
        for (kind, name, size) in listed {
            let bytes = match old.iter().position(|c| c.kind == kind && c.name == name) {
                Some(i) => old.swap_remove(i).bytes,
                None => Vec::new(),
            };
            let bytes = if bytes.len() as u64 > size { Vec::new() } else { bytes };
            self.chunks.push(Chunk { kind, name, size, bytes });
        }
        self.chunks.extend(old.into_iter().filter(Chunk::complete));
        self.listed = true;
    }
}

/// Downloads what `progress` lacks of `doc` from the relay at `base`
/// (`http://host:port`), with invitation tokens (`a,b`) if any. Returns
/// once every listed chunk is complete; on error, call again to resume.
pub async fn download_document(
    base: &str,
    doc: &DocumentId,
    token: Option<&str>,
    progress: &mut Download,
) -> Result<(), DownloadError> {
    match &progress.doc {
        Some(other) if other != doc => return Err(DownloadError::OtherDocument(other.clone())),
        _ => progress.doc = Some(doc.clone()),
    }
    let mut http = Http::new(base)?;
    let query = token.map(|t| format!("?token={}", encode(t))).unwrap_or_default();
    let mut listings = 0;
    for _ in 0..MAX_REQUESTS {
        if !progress.listed {
            if listings == MAX_LISTINGS {
                return Err(DownloadError::Unstable);
            }
            listings += 1;
            let (listed, relay) = list(&mut http, progress, doc, &query).await?;
            progress.follow(listed, relay);
        }
        let Some(i) = progress.chunks.iter().position(|c| !c.complete()) else { return Ok(()) };
        if !fetch(&mut http, progress, i, doc, &query).await? {
            // Compacted away: what is there now?
            progress.listed = false;
        }
    }
    Err(DownloadError::Unstable)
}

/// `GET /d/{doc}/chunks`: the chunks listed, and the relay's store if the
/// listing names a valid one.
async fn list(
    http: &mut Http,
    progress: &mut Download,
    doc: &DocumentId,
    query: &str,
) -> Result<(Vec<(ChunkKind, String, u64)>, Option<StorageId>), DownloadError> {
    let what = format!("/d/{doc}/chunks");
    progress.requests += 1;
    let response = http.get(&format!("{what}{query}"), None).await?;
    let status = response.status();
    let relay = response.headers().get(STORAGE_ID_HEADER).and_then(|v| v.to_str().ok()?.parse().ok());
    let body = http.read_all(response).await?;
    progress.received += body.len() as u64;
    if status != StatusCode::OK {
        return Err(status_error(status, what, &body));
    }
    #[derive(serde::Deserialize)]
    struct Listed {
        #[serde(rename = "type")]
        kind: String,
        name: String,
        bytes: u64,
    }
    let listed: Vec<Listed> = serde_json::from_slice(&body).map_err(|e| DownloadError::Listing(e.to_string()))?;
    let listed = listed
        .into_iter()
        .map(|l| {
            let kind = ChunkKind::parse(&l.kind).ok_or_else(|| DownloadError::Listing(format!("type {:?}", l.kind)))?;
            if !StorageKey::is_chunk_name(&l.name) {
                return Err(DownloadError::Listing(format!("name {:?}", l.name)));
            }
            Ok((kind, l.name, l.bytes))
        })
        .collect::<Result<_, _>>()?;
    Ok((listed, relay))
}

/// Fetches the rest of chunk `i`; false if the relay no longer has it.
async fn fetch(
    http: &mut Http,
    progress: &mut Download,
    i: usize,
    doc: &DocumentId,
    query: &str,
) -> Result<bool, DownloadError> {
    let chunk = &progress.chunks[i];
    let what = format!("/d/{doc}/chunks/{}/{}", chunk.kind.as_str(), chunk.name);
    let have = chunk.bytes.len();
    let range = (have > 0).then(|| (format!("bytes={have}-"), format!("\"{}\"", chunk.name)));
    progress.requests += 1;
    let response = http.get(&format!("{what}{query}"), range).await?;
    let status = response.status();
    let chunk = &mut progress.chunks[i];
    let invalid = |chunk: &mut Chunk, why: String| {
        chunk.bytes.clear();
        DownloadError::Invalid { name: chunk.name.clone(), why }
    };
    match status {
        StatusCode::OK => chunk.bytes.clear(),
        StatusCode::PARTIAL_CONTENT => {
            let range = response.headers().get(header::CONTENT_RANGE).and_then(|v| v.to_str().ok());
            let expected = format!("bytes {have}-");
            let total = format!("/{}", chunk.size);
            if !range.is_some_and(|r| r.starts_with(&expected) && r.ends_with(&total)) {
                http.drop_connection();
                return Err(invalid(chunk, format!("Content-Range {range:?} for {expected}{total}")));
            }
        }
        StatusCode::NOT_FOUND => {
            http.read_all(response).await?;
            // An unfinished chunk that is gone is of no use.
            chunk.bytes.clear();
            return Ok(false);
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            http.read_all(response).await?;
            return Err(invalid(chunk, "range not satisfiable".into()));
        }
        _ => {
            let body = http.read_all(response).await?;
            return Err(status_error(status, what, &body));
        }
    }
    let mut body = response.into_body();
    loop {
        let frame = match tokio::time::timeout(TIMEOUT, body.frame()).await {
            Err(_) => {
                http.drop_connection();
                return Err(DownloadError::Timeout);
            }
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                http.drop_connection();
                return Err(DownloadError::Connection(error.to_string()));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            progress.received += data.len() as u64;
            chunk.bytes.extend_from_slice(&data);
            if chunk.bytes.len() as u64 > chunk.size {
                http.drop_connection();
                return Err(invalid(chunk, format!("more than the {} bytes listed", chunk.size)));
            }
        }
    }
    // An incremental chunk is named by the SHA-256 of its bytes: check it.
    // (A snapshot is named by its heads, which only a load would tell.)
    if chunk.complete() && chunk.kind == ChunkKind::Incremental {
        let digest: String = Sha256::digest(&chunk.bytes).iter().map(|b| format!("{b:02x}")).collect();
        if digest != chunk.name {
            return Err(invalid(chunk, "its bytes do not hash to its name".into()));
        }
    }
    Ok(true)
}

fn status_error(status: StatusCode, what: String, body: &[u8]) -> DownloadError {
    let body = String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_owned();
    DownloadError::Status { status: status.as_u16(), what, body }
}

/// Percent-encodes what a query value must not hold raw (tokens are hex,
/// `.` and `,`, which pass as they are).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One keep-alive HTTP/1.1 connection to the relay, opened on demand and
/// dropped after any error.
struct Http {
    /// `host:port` as given, for `Host`.
    authority: String,
    /// Where to connect.
    address: String,
    /// A path the relay is served under, without a trailing `/`.
    prefix: String,
    sender: Option<http1::SendRequest<Empty<Bytes>>>,
}

impl Http {
    fn new(base: &str) -> Result<Http, DownloadError> {
        let bad = || DownloadError::Url(base.to_owned());
        let rest = base.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, prefix) = match rest.split_once('/') {
            Some((authority, path)) => (authority, path.trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains(['@', '?', '#']) {
            return Err(bad());
        }
        // A port, unless the authority ends with one (`[::1]` has colons).
        let has_port = authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok());
        let address = if has_port { authority.to_owned() } else { format!("{authority}:80") };
        let prefix = if prefix.is_empty() { String::new() } else { format!("/{prefix}") };
        Ok(Http { authority: authority.to_owned(), address, prefix, sender: None })
    }

    /// Sends `GET path` (with `Range` and `If-Range` if given) and returns
    /// the response head; the body is read by the caller.
    async fn get(&mut self, path: &str, range: Option<(String, String)>) -> Result<Response<Incoming>, DownloadError> {
        let sent = async {
            let sender = match &mut self.sender {
                Some(sender) if !sender.is_closed() => sender,
                _ => self.sender.insert(connect(&self.address).await?),
            };
            sender.ready().await.map_err(|e| DownloadError::Connection(e.to_string()))?;
            let mut request = Request::get(format!("{}{path}", self.prefix)).header(header::HOST, &self.authority);
            if let Some((range, if_range)) = range {
                request = request.header(header::RANGE, range).header(header::IF_RANGE, if_range);
            }
            let request = request.body(Empty::new()).map_err(|_| DownloadError::Url(path.to_owned()))?;
            sender.send_request(request).await.map_err(|e| DownloadError::Connection(e.to_string()))
        };
        let answer = match tokio::time::timeout(TIMEOUT, sent).await {
            Ok(answer) => answer,
            Err(_) => Err(DownloadError::Timeout),
        };
        if answer.is_err() {
            self.drop_connection();
        }
        answer
    }

    /// A whole (small) body: a listing or an error's explanation.
    async fn read_all(&mut self, response: Response<Incoming>) -> Result<Bytes, DownloadError> {
        let read = match tokio::time::timeout(TIMEOUT, response.into_body().collect()).await {
            Ok(Ok(body)) => return Ok(body.to_bytes()),
            Ok(Err(error)) => DownloadError::Connection(error.to_string()),
            Err(_) => DownloadError::Timeout,
        };
        self.drop_connection();
        Err(read)
    }

    fn drop_connection(&mut self) {
        self.sender = None;
    }
}

async fn connect(address: &str) -> Result<http1::SendRequest<Empty<Bytes>>, DownloadError> {
    let stream = TcpStream::connect(address).await.map_err(|e| DownloadError::Connection(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) =
        http1::handshake(TokioIo::new(stream)).await.map_err(|e| DownloadError::Connection(e.to_string()))?;
    // The connection task ends when the sender is dropped or the peer closes.
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "download connection ended");
        }
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_addresses() {
        let http = Http::new("http://127.0.0.1:3030").expect("valid");
        assert_eq!((http.address.as_str(), http.prefix.as_str()), ("127.0.0.1:3030", ""));
        let http = Http::new("http://relais.example/essaim/").expect("valid");
        assert_eq!((http.address.as_str(), http.authority.as_str()), ("relais.example:80", "relais.example"));
        assert_eq!(http.prefix, "/essaim");
        assert_eq!(Http::new("http://[::1]:8080").expect("valid").address, "[::1]:8080");
        for bad in ["https://relais.example", "127.0.0.1:3030", "http://", "http://u@h/"] {
            assert!(matches!(Http::new(bad), Err(DownloadError::Url(_))), "{bad}");
        }
        assert_eq!(encode("ab.cd,ef"), "ab.cd,ef");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
