//! HTTP and websocket: the routes, and the upgrade of `/sync` to a
//! websocket served by [`crate::websocket`] (one task per connection that
//! only moves bytes between the socket and the hub).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use sync_core::ConnId;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tower_http::services::ServeDir;

use crate::error::{HttpError, Source};
use crate::feeds::Feeds;
use crate::gate::{Gate, Pass, Refusal, Verdict};
use crate::hub::{ConnHandle, Event};
use crate::invitations::{Grant, Invitations};
use crate::metrics::Metrics;
use crate::slots::{Slot, SlotRefusal, Slots};
use crate::websocket::{self, Outbox, OutboxHandle, Transport};

/// The one state the whole router is built from (`/sync`, `/invitation`,
/// the chunk routes, the feeds, `/healthz`, `/metrics`).
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) hub: mpsc::Sender<Event>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) transport: Arc<Transport>,
    pub(crate) next_conn: Arc<AtomicU64>,
    /// Each connection holds a clone until it ends: shutdown waits for
    /// every clone to drop, so close frames get written.
    pub(crate) alive: mpsc::Sender<()>,
    /// Checks invitation tokens at the upgrade (and for the chunk routes).
    pub(crate) gate: Arc<Gate>,
    /// The SQLite file's directory: the relay's own tables (territories,
    /// invitations, candidatures, national sheets).
    pub(crate) data_dir: PathBuf,
    /// Where documents are, read (committed data only) by the chunk routes
    /// and the feeds.
    pub(crate) storage: crate::store::Storage,
    /// The territories and invitations tables (the gate holds them too).
    pub(crate) invitations: Arc<Mutex<Invitations>>,
    /// The feeds' links, cache and render slots.
    pub(crate) feeds: Arc<Feeds>,
    /// Websocket connections per address and per invitation.
    pub(crate) slots: Arc<Slots>,
    /// The creation policy, the candidatures, recent creations.
    pub(crate) creations: Arc<crate::territoires::Creations>,
    /// Residents' requests per invitation ([`crate::volontaires`]).
    pub(crate) quota: Arc<crate::volontaires::Quota>,
    /// Essaimages per invitation ([`crate::essaimage_api`]).
    pub(crate) essaimages: Arc<crate::volontaires::Quota>,
}

/// The query string of `/sync`, `/invitation`, the chunk routes and the
/// feeds.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct SyncQuery {
    /// Invitation tokens, `<id>.<secret>`, comma-separated.
    pub(crate) token: Option<String>,
}

/// The routes: `/sync`, `/invitation`, the documents' chunks under `/d/`
/// (see [`crate::chunks`]), the feeds (see [`crate::feeds`]), `/healthz`,
/// and the web app at `/`, all with the security headers ([`secured`]).
/// `/metrics` is not among them: see [`metrics_router`].
pub(crate) fn router(state: AppState, web: Option<PathBuf>) -> Router {
    let router = Router::new()
        .route("/sync", get(sync))
        .route("/invitation", get(check_invitation))
        .route("/d/{doc}/chunks", get(crate::chunks::list))
        .route("/d/{doc}/chunks/{kind}/{name}", get(crate::chunks::chunk))
        .route("/healthz", get(healthz))
        .merge(crate::feeds::routes())
        .merge(crate::territoires::routes())
        .merge(crate::invitations_api::routes())
        .merge(crate::volontaires::routes())
        .merge(crate::essaimage_api::routes())
        .with_state(state);
    match web {
        Some(dir) => {
            let app = Router::new()
                .fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip())
                .layer(axum::middleware::from_fn(cache_headers));
            secured(router.fallback_service(app))
        }
        None => secured(router),
    }
}

/// Built files under `/assets/` have content hashes in their names: cached
/// for a year. Everything else (the shell, `sw.js`, the manifest) is
/// revalidated on each visit, so a new version is picked up at once; the
/// service worker serves them offline anyway.
async fn cache_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let immutable = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let value = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static(value));
    response
}

/// `GET /metrics` alone, for the separate metrics address
/// (`--metrics-listen`): the counters tell load, errors and connection
/// counts, which the public has no need of.
pub(crate) fn metrics_router(state: AppState) -> Router {
    secured(Router::new().route("/metrics", get(metrics)).with_state(state))
}

/// The Content-Security-Policy of everything the relay serves that sets
/// none of its own: the PWA's needs and nothing more. Scripts and styles
/// from the relay's origin only (no inline script can run, so an injected
/// link or markup cannot run script where the app keeps every territory's
/// tokens); `'wasm-unsafe-eval'` lets the app compile its own WebAssembly;
/// `connect-src 'self'` covers `fetch` and the websocket to the same host;
/// the service worker and the manifest come from the origin; nothing may
/// frame the relay's pages (clickjacking), plugins are off, and `<base>`
/// and form targets cannot be redirected.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; \
     manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response of `router`: the
/// [`CONTENT_SECURITY_POLICY`] unless the handler set a stricter one (the
/// feeds do), `X-Content-Type-Options: nosniff` (a feed or a chunk is never
/// taken for a script or a page), `Referrer-Policy: no-referrer` (feed
/// URLs carry tokens), `X-Frame-Options: DENY` for browsers without
/// `frame-ancestors`, and `Cross-Origin-Opener-Policy: same-origin`.
fn secured(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(security_headers))
}

async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::HeaderValue;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    response
}

/// `ok`, or 503 while the relay stops or cannot reach its storage (a load
/// balancer then sends devices to another relay).
async fn healthz(State(state): State<AppState>) -> Response {
    if state.hub.is_closed() {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response()
    } else if !state.storage.is_reachable() {
        (StatusCode::SERVICE_UNAVAILABLE, "storage unreachable\n").into_response()
    } else {
        "ok\n".into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let (reply, answer) = oneshot::channel();
    let gauges = match state.hub.send(Event::Gauges { reply }).await {
        Ok(()) => tokio::time::timeout(Duration::from_secs(5), answer).await.ok().and_then(Result::ok),
        Err(_) => None,
    };
    let body = state.metrics.render(gauges);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Decrements the open-connection gauge when the connection ends.
struct OpenSlot {
    metrics: Arc<Metrics>,
    _alive: mpsc::Sender<()>,
}

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `GET /invitation?token=…`: 204 if the token opens the door, else what
/// `/sync` would answer (401 with the reason, also in `Essaim-Refusal`;
/// 429). Browsers cannot read why a websocket upgrade failed; the app asks
/// here to tell its user.
async fn check_invitation(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Query(query): Query<SyncQuery>,
) -> Result<StatusCode, HttpError> {
    let client = state.gate.client_address(from, &headers);
    admit(&state.gate, client, query.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The gate's verdict on a request's tokens (its [`Pass`]), or the refusal: what `/sync` answers, and the
/// chunk routes and the feeds too. `client` is the request's
/// [`crate::gate::client_address`].
pub(crate) async fn admit(
    gate: &Arc<Gate>,
    client: std::net::IpAddr,
    token: Option<String>,
) -> Result<Pass, HttpError> {
    let gate = gate.clone();
    let now = crate::hub::now().0 as i64;
    let verdict = tokio::task::spawn_blocking(move || gate.admit(client, token.as_deref(), now)).await;
    match verdict {
        Ok(Verdict::Enter(pass)) => Ok(pass),
        Ok(Verdict::Unauthorized(refusal)) => Err(HttpError::Unauthorized(refusal)),
        Ok(Verdict::TooManyAttempts) => Err(HttpError::TooManyAttempts),
        Ok(Verdict::Unavailable(error)) => Err(HttpError::Unavailable(Source::Invitations, error.to_string())),
        Err(panic) => Err(HttpError::Internal(panic.to_string())),
    }
}

/// Refuses a request body that does not say it is JSON
/// (`Content-Type: application/json`, any parameters): 415.
pub(crate) fn exiger_json(headers: &HeaderMap) -> Result<(), HttpError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if json { Ok(()) } else { Err(HttpError::PasDuJson) }
}

/// The one grant an API request (`/t/{doc}/…` writes and invitation
/// management) holds on `doc`: its `Authorization: Bearer <token>` checked
/// by the same door as `/sync` (same failure count and lockout), keeping
/// the strongest grant for `doc`. Open mode does not matter here: the API
/// always needs a token, so no token is 401 `required`, and a token for
/// another territory is 401 `unknown`, exactly like a wrong one.
pub(crate) async fn admit_bearer(
    state: &AppState,
    from: std::net::SocketAddr,
    headers: &axum::http::HeaderMap,
    doc: &sync_core::DocumentId,
) -> Result<Grant, HttpError> {
    let client = state.gate.client_address(from, headers);
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty() && !token.contains(','));
    let Some(token) = token else { return Err(HttpError::Unauthorized(Refusal::Required)) };
    let grants = admit(&state.gate, client, Some(token)).await?.grants;
    // A demonstration territory's grant is anyone's, not the token's.
    let mut grants: Vec<Grant> = grants.into_iter().filter(|g| g.territory == *doc && !g.is_demonstration()).collect();
    grants.sort_by_key(|g| g.role != crate::invitations::Role::Organisateur);
    grants.into_iter().next().ok_or(HttpError::Unauthorized(Refusal::Unknown))
}

/// `GET /sync`: the websocket upgrade, done here rather than by axum's
/// `WebSocketUpgrade` so that the socket is read through
/// [`frames::Inbound`], which bounds what unfinished messages hold. In
/// order: the upgrade headers, the tokens, the global connection limit,
/// then the slots per address and per invitation ([`crate::slots`]).
async fn sync(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Query(query): Query<SyncQuery>,
    request: Request,
) -> Result<Response, HttpError> {
    let accept = websocket_accept(&request)?;
    let client = state.gate.client_address(from, &headers);
    let pass = admit(&state.gate, client, query.token).await?;
    let open = state.metrics.connections_open.fetch_add(1, Ordering::Relaxed);
    let slot = OpenSlot { metrics: state.metrics.clone(), _alive: state.alive.clone() };
    if open >= state.transport.max_connections as u64 {
        state.metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
        return Err(HttpError::TooManyConnections);
    }
    // Demonstration grants are everyone's: no slot per invitation for them.
    let invitations: Vec<String> =
        pass.grants.iter().filter(|g| !g.is_demonstration()).map(|g| g.invitation.clone()).collect();
    let place = match state.slots.take(client, &invitations) {
        Ok(place) => place,
        Err(refusal) => {
            let counter = match refusal {
                SlotRefusal::Address => &state.metrics.connections_refused_address,
                SlotRefusal::Invitation => &state.metrics.connections_refused_invitation,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%client, %refusal, "websocket upgrade refused");
            return Err(HttpError::TooManyOpen(refusal));
        }
    };
    let upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => connection(TokioIo::new(upgraded), state, slot, place, pass).await,
            Err(error) => tracing::debug!(%error, "websocket upgrade failed"),
        }
    });
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    Ok(response)
}

/// Checks a websocket upgrade request (RFC 6455 §4.2.1: HTTP/1.1,
/// `Connection: upgrade`, `Upgrade: websocket`, version 13, a key) and
/// returns its `Sec-WebSocket-Accept` value, or the 400 refusing it.
fn websocket_accept(request: &Request) -> Result<HeaderValue, HttpError> {
    let headers = request.headers();
    let lists = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    };
    if request.version() != Version::HTTP_11 {
        return Err(HttpError::NotWebsocket("HTTP/1.1 needed"));
    }
    if !lists(header::CONNECTION, "upgrade") || !lists(header::UPGRADE, "websocket") {
        return Err(HttpError::NotWebsocket("`Connection: upgrade` and `Upgrade: websocket` needed"));
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v.as_bytes() != b"13") {
        return Err(HttpError::NotWebsocket("`Sec-WebSocket-Version: 13` needed"));
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err(HttpError::NotWebsocket("`Sec-WebSocket-Key` missing"));
    };
    let accept = derive_accept_key(key.as_bytes());
    HeaderValue::from_str(&accept).map_err(|_| HttpError::NotWebsocket("bad key"))
}

/// What a websocket connection holds until it ends: its places in the
/// connection counts.
pub(crate) struct Held {
    _open: OpenSlot,
    _place: Slot,
}

/// Makes the upgraded socket known to the hub, then serves it as its own
/// task ([`websocket::Connection`]), which holds only what the connection
/// needs.
async fn connection(io: TokioIo<Upgraded>, state: AppState, open: OpenSlot, place: Slot, pass: Pass) {
    let conn = ConnId(state.next_conn.fetch_add(1, Ordering::Relaxed));
    state.metrics.connections_total.fetch_add(1, Ordering::Relaxed);
    let outbox = Outbox::new(&state.transport);
    let handle = ConnHandle { outbox: OutboxHandle(outbox.clone()), pass };
    if state.hub.send(Event::Connected { conn, handle }).await.is_err() {
        return;
    }
    let held = Held { _open: open, _place: place };
    let (hub, transport, metrics) = (state.hub.clone(), state.transport.clone(), state.metrics.clone());
    tokio::spawn(websocket::Connection::new(io, conn, hub, outbox, transport, metrics, held));
}
