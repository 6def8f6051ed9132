//! Public agenda feeds over HTTP, from the relay's own copy of the
//! documents: per territory `/t/{id}/agenda.ics`, `/t/{id}/agenda-compat.ics`,
//! `/t/{id}/agenda.json` and the HTML page `/t/{id}/`; `/t/{id}/apercu.json`,
//! the next few rendez-vous in the same JSON-LD, which the app shows on a
//! first visit before its core arrives; one public action as
//! a calendar of its own, `/t/{id}/actions/{action}.ics`, or one of its
//! occurrences with `?occurrence=<original local start>` ("add to my
//! calendar"), and as what another territory may take up,
//! `/t/{id}/actions/{action}.json` (`agenda::ActionPublique`, with the
//! document's heads); national
//! `/agenda.ics`, `/agenda.json`, `/territoires.json`, the directory page
//! `/territoires/` and the agenda page `/agenda/` (both filtered by their
//! query string) over the public
//! territories created on this relay; experience sheets, per territory and
//! national (`fiches.rs`).
//!
//! The texts are `sync_core::flux`'s; this module only reads documents from
//! SQLite (what is committed, so what the relay has acknowledged), checks
//! who may read them, and does HTTP: an `ETag`, `304 Not Modified` on
//! `If-None-Match`, compression by the router (large bodies compressed once
//! and kept, `compresse.rs`).
//!
//! Anyone on the internet can ask for these, so a request costs little
//! unless a document changed:
//!
//! - A document's version is the set of its stored chunks (names are
//!   content hashes), listed without reading a byte of them. The `ETag` is
//!   that version, the feed, the hour (the feeds' `DTSTAMP` and 12-month
//!   window move by the hour) and the base URL.
//! - The read model of each version (the decoded `Agenda`, its visibility)
//!   and the bodies rendered from it are cached ([`Cache`], least recently
//!   used out beyond `feed_cache_documents` territories), and concurrent
//!   requests for the same version wait for one load. Each territory's
//!   visibility at its version is remembered apart, so the national feeds'
//!   `ETag` and an already rendered national body need no read model, however
//!   many territories there are.
//! - Access and the 304 are decided before any load whenever the request
//!   holds a token of the territory or its visibility is cached; otherwise
//!   the one load also serves every later request.
//! - Loads and renders run at most `feed_renders` at once; at most
//!   `feed_queue` requests wait for one, the next get 503 with
//!   `Retry-After`.
//!
//! A private territory's feeds need `?token=` with an invitation to it
//! (resident or organiser), checked and rate-limited by the same gate as
//! `/sync`: a bad token is 401 and counts as a failed attempt, an address
//! over the limit gets 429 (never disguised as 404). Without a token, a
//! private territory, a document that is not a territory of this relay and
//! an unknown id get the same 404 (status, body, headers, and the same
//! queries), and nothing is counted against the address. Feeds read with a
//! token are `Cache-Control: private`; so are those whose links come from
//! the request's `Host` (no `--url`), which a shared cache must not hand to
//! another host's users.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use sync_core::agenda::{self, Agenda, VisibiliteTerritoire};
use sync_core::flux::{self, Filtre, Territoire};
use sync_core::rythme::Timestamp;
use sync_core::{Access, DocumentId};
use tokio::sync::{OnceCell, Semaphore};

use crate::app::{AppState, SyncQuery, admit};
use crate::error::{HttpError, Source};
use crate::invitations::Invitations;
use crate::store::{Reader, Storage};

mod compresse;
mod fiches;
mod links;

pub(crate) use links::public_url;
use links::{Base, Site};

/// The Content-Security-Policy of every feed: no script at all, the HTML
/// page's own inline stylesheet, and nothing loaded from elsewhere.
const FEED_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Bodies kept per cached territory (feeds × hours × base URLs).
const BODIES_PER_DOCUMENT: usize = 8;

/// One-action calendars kept per cached territory.
const ACTION_BODIES_PER_DOCUMENT: usize = 16;

/// Longest `?occurrence=`: a local start is `AAAA-MM-JJTHH:MM:SS`.
const ORIGIN_MAX: usize = 19;

/// National bodies kept.
const NATIONAL_BODIES: usize = 8;

/// What the feeds keep besides the relay's state: where links point, the
/// cache of read models and bodies, the bound on renders, the directory's
/// map.
pub(crate) struct Feeds {
    site: Site,
    cache: Cache,
    renders: Renders,
    carte: Option<Arc<CarteChargee>>,
    /// Experience sheets' read models and bodies (`fiches.rs`).
    fiches: fiches::Cache,
    /// Large bodies, compressed once (`compresse.rs`).
    compresses: compresse::Compresses,
}

/// The map of départements the web app's build wrote, and a digest of it
/// for the directory's `ETag` (a new build changes the page).
struct CarteChargee {
    carte: flux::Carte,
    /// What `/carte-departements.json` answers.
    json: Arc<String>,
    empreinte: Vec<u8>,
}

/// Where the web app's build writes the map, in `--web`'s directory.
const CARTE_FICHIER: &str = "carte-departements.json";

/// The map from `--web`'s directory: none without `--web` or without the
/// file (the directory lists the counts as text only), none either if it
/// is too big or not a valid map (logged).
fn charger_carte(web_dir: Option<&Path>) -> Option<Arc<CarteChargee>> {
    let chemin = web_dir?.join(CARTE_FICHIER);
    let lire = || -> Result<CarteChargee, String> {
        let taille = std::fs::metadata(&chemin).map_err(|e| e.to_string())?.len();
        if taille > flux::CARTE_MAX_OCTETS as u64 {
            return Err(flux::CarteError::TropGrande(taille as usize).to_string());
        }
        let texte = std::fs::read_to_string(&chemin).map_err(|e| e.to_string())?;
        let carte = flux::Carte::lire(&texte).map_err(|e| e.to_string())?;
        let json = carte.json();
        Ok(CarteChargee { carte, empreinte: Sha256::digest(json.as_bytes()).to_vec(), json: Arc::new(json) })
    };
    match lire() {
        Ok(carte) => Some(Arc::new(carte)),
        Err(e) => {
            tracing::warn!(path = %chemin.display(), "no map of départements in /territoires/: {e}");
            None
        }
    }
}

impl Feeds {
    /// From the relay's settings; `public_url` is `--url` once validated
    /// ([`public_url`]), `local` the listening address.
    pub(crate) fn new(config: &crate::Config, public_url: Option<String>, local: SocketAddr) -> Feeds {
        Feeds {
            site: Site { public_url, fallback: format!("http://{local}") },
            cache: Cache::new(config.feed_cache_documents.max(1)),
            renders: Renders {
                running: Arc::new(Semaphore::new(config.feed_renders.max(1))),
                admitted: Arc::new(Semaphore::new(config.feed_renders.max(1) + config.feed_queue)),
            },
            carte: charger_carte(config.web_dir.as_deref()),
            fiches: fiches::Cache::new(config.feed_cache_documents),
            compresses: Mutex::new(Vec::new()),
        }
    }
}

/// The routes, to merge into the relay's router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{id}/", get(page))
        .route("/t/{id}/{file}", get(file))
        .route("/t/{id}/actions/{file}", get(action))
        .route("/t/{id}/actions/{action}/", get(action_page))
        .route("/agenda.ics", get(|s: State<AppState>, h: HeaderMap| national(s, h, Kind::Ics, Filtre::default())))
        .route("/agenda.json", get(|s: State<AppState>, h: HeaderMap| national(s, h, Kind::Json, Filtre::default())))
        .route(
            "/territoires.json",
            get(|s: State<AppState>, h: HeaderMap| national(s, h, Kind::Territories, Filtre::default())),
        )
        .route("/territoires/", get(|s, h, q| filtered(s, h, q, Kind::Annuaire)))
        .route("/carte-departements.json", get(carte))
        .route("/agenda/", get(|s, h, q| filtered(s, h, q, Kind::AgendaNational)))
        .merge(fiches::routes())
        // Phones poll these on weak networks: gzip or brotli, as asked.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn(feed_headers))
}

/// Every feed response, refusals included, gets the feeds' policy.
async fn feed_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(FEED_CSP));
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Ics,
    Compat,
    Json,
    /// The next few rendez-vous (`flux::apercu_json`).
    Apercu,
    Html,
    Territories,
    /// The directory page (`flux::annuaire_html`).
    Annuaire,
    /// The national agenda page (`flux::agenda_national_html`).
    AgendaNational,
    /// One action, or one occurrence (`flux::ics_action`).
    Action,
    /// One public action for other territories to take up
    /// (`agenda::ActionPublique`).
    ActionJson,
    /// One public action's page (`flux::action_html`).
    ActionPage,
    /// The map of départements (`flux::Carte::json`).
    Carte,
}

impl Kind {
    fn content_type(self) -> &'static str {
        match self {
            Kind::Ics | Kind::Compat | Kind::Action => "text/calendar; charset=utf-8",
            Kind::Json | Kind::Apercu => "application/ld+json; charset=utf-8",
            Kind::Territories | Kind::ActionJson | Kind::Carte => "application/json; charset=utf-8",
            Kind::Html | Kind::Annuaire | Kind::AgendaNational | Kind::ActionPage => "text/html; charset=utf-8",
        }
    }
}

// ---------------------------------------------------------------------------
// The cache of read models and bodies.

/// A document's stored version: the hash of its chunk names and sizes.
type Version = [u8; 32];

/// A digest of a document's heads: its content, whatever chunks hold it.
type Empreinte = [u8; 32];

/// What the national feeds need of a territory at a version, kept apart
/// from the bounded read models.
#[derive(Debug, Clone, Copy)]
struct Etat {
    public: bool,
    empreinte: Empreinte,
}

/// One territory's read model, as the feeds need it.
struct Read {
    agenda: Agenda,
    public: bool,
    /// The document's heads (hex), which a public action's JSON carries.
    tetes: Vec<String>,
    /// A digest of those heads: what the national feeds' bodies and
    /// `ETag`s depend on (a compaction changes the version, not the heads).
    empreinte: Empreinte,
    /// The experience sheets it lists (`fiches.rs`), at most
    /// `DOCUMENTS_MAX`.
    fiches: Vec<DocumentId>,
}

/// What one request may render, by (feed, hour, base URL).
type BodyKey = (Kind, i64, String);

/// What one request for one action may render: (action, occurrence,
/// feed, hour, base URL and, for its page, the other territories'
/// versions).
type ActionKey = (String, Option<String>, Kind, i64, String);

/// A body rendered once, by the first request that needs it.
type BodySlot<V = Arc<String>> = Arc<OnceCell<V>>;

/// Bodies by key, oldest first.
type Bodies<K, V = Arc<String>> = Mutex<Vec<(K, BodySlot<V>)>>;

/// A cached version of one territory.
struct Entry {
    /// Loaded once, by the first request that needs it; `None` when no
    /// chunk of the version could be read.
    read: OnceCell<Option<Arc<Read>>>,
    bodies: Bodies<BodyKey>,
    /// One-action calendars by (action, occurrence, hour, base URL), apart
    /// from the feeds' so that asking for many never evicts those.
    actions: Bodies<ActionKey>,
}

/// The territories' cached versions and the national bodies.
struct Cache {
    territoires: CacheDeVersions<Entry>,
    /// Whether each territory is public, and its heads' digest, at the
    /// version its read model was last loaded: the national feeds need
    /// them of every territory on every request, for their `ETag`, so they
    /// are kept apart from the bounded read models (a few bytes per
    /// territory of this relay, pruned to those still listed). A warm
    /// national request loads no read model, and a national body is
    /// rendered once per set of heads, not once per set of chunks.
    etats: Mutex<HashMap<DocumentId, (Version, Etat)>>,
    national: Bodies<String>,
}

impl Cache {
    fn new(max: usize) -> Cache {
        Cache {
            territoires: CacheDeVersions::new(max),
            etats: Mutex::new(HashMap::new()),
            national: Mutex::new(Vec::new()),
        }
    }

    /// What is known of `doc` at `version`, if anything.
    fn etat(&self, doc: &DocumentId, version: &Version) -> Option<Etat> {
        let known = self.etats.lock().unwrap_or_else(|p| p.into_inner());
        known.get(doc).filter(|(v, _)| v == version).map(|(_, etat)| *etat)
    }

    /// Remembers what `doc`'s read model at `version` says.
    fn retenir(&self, doc: &DocumentId, version: Version, etat: Etat) {
        self.etats.lock().unwrap_or_else(|p| p.into_inner()).insert(doc.clone(), (version, etat));
    }

    /// Forgets what is known of documents that are no longer territories
    /// listed with chunks.
    fn oublier_sauf(&self, listed: &[(DocumentId, Version)]) {
        let mut known = self.etats.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() > listed.len() {
            let listed: std::collections::HashSet<&DocumentId> = listed.iter().map(|(doc, _)| doc).collect();
            known.retain(|doc, _| listed.contains(doc));
        }
    }

    /// The entry of `doc` at `version`, a fresh one if the version changed.
    fn entry(&self, doc: &DocumentId, version: Version) -> Arc<Entry> {
        self.territoires.entree(doc, version, || Entry {
            read: OnceCell::new(),
            bodies: Mutex::new(Vec::new()),
            actions: Mutex::new(Vec::new()),
        })
    }
}

/// What is cached of documents, one entry per document at its stored
/// version, at most `max`; the least recently used goes first. The
/// territories' feeds and the sheets' pages each keep one.
pub(super) struct CacheDeVersions<E> {
    entries: Mutex<HashMap<DocumentId, EntreeDeVersion<E>>>,
    max: usize,
    clock: AtomicU64,
}

/// A document's cached version, when it was last used, and what is kept
/// of it.
type EntreeDeVersion<E> = (Version, AtomicU64, Arc<E>);

impl<E> CacheDeVersions<E> {
    pub(super) fn new(max: usize) -> CacheDeVersions<E> {
        CacheDeVersions { entries: Mutex::new(HashMap::new()), max: max.max(1), clock: AtomicU64::new(0) }
    }

    /// The entry of `doc` at `version`, made by `nouvelle` if there is
    /// none or the version changed.
    pub(super) fn entree(&self, doc: &DocumentId, version: Version, nouvelle: impl FnOnce() -> E) -> Arc<E> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((v, dernier_usage, e)) = entries.get(doc)
            && *v == version
        {
            dernier_usage.store(now, Ordering::Relaxed);
            return e.clone();
        }
        let e = Arc::new(nouvelle());
        entries.insert(doc.clone(), (version, AtomicU64::new(now), e.clone()));
        while entries.len() > self.max {
            let oldest = entries.iter().min_by_key(|(_, (_, u, _))| u.load(Ordering::Relaxed)).map(|(d, _)| d.clone());
            match oldest {
                Some(oldest) => entries.remove(&oldest),
                None => break,
            };
        }
        e
    }
}

/// A body slot in a bounded list: the existing one for `key`, or a new one
/// (the oldest dropped beyond `max`).
fn body_slot<K: PartialEq, V>(list: &Bodies<K, V>, key: K, max: usize) -> BodySlot<V> {
    let mut list = list.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, slot)) = list.iter().find(|(k, _)| *k == key) {
        return slot.clone();
    }
    let slot = Arc::new(OnceCell::new());
    list.push((key, slot.clone()));
    if list.len() > max {
        list.remove(0);
    }
    slot
}

/// The bound on concurrent loads and renders.
struct Renders {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
}

/// Runs `work` on the blocking pool once a render slot is free;
/// [`HttpError::FeedsBusy`] at once (and counted) if too many requests
/// already wait for one.
async fn render<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HttpError> {
    let renders = &state.feeds.renders;
    let Ok(_admitted) = renders.admitted.clone().try_acquire_owned() else {
        state.metrics.feeds_busy.fetch_add(1, Ordering::Relaxed);
        return Err(HttpError::FeedsBusy);
    };
    let _running = renders
        .running
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| HttpError::Unavailable(Source::Feed, e.to_string()))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| HttpError::Unavailable(Source::Feed, e.to_string()))
}

/// The read model of `doc` at `entry`'s version: cached, or loaded once.
async fn read(state: &AppState, entry: &Entry, doc: &DocumentId) -> Result<Option<Arc<Read>>, HttpError> {
    let read = entry
        .read
        .get_or_try_init(|| async {
            let storage = state.storage.clone();
            let doc = doc.clone();
            state.metrics.feed_documents_read.fetch_add(1, Ordering::Relaxed);
            let loaded = render(state, move || read_document(&storage, &doc)).await?;
            loaded.map(|read| read.map(Arc::new)).map_err(|error| HttpError::Unavailable(Source::Feed, error))
        })
        .await?;
    Ok(read.clone())
}

/// Action `action` of territory `doc` as `/t/{id}/actions/{action}.json`
/// serves it to anyone (no token: a public territory's public, published
/// actions only), from the same cache and bound on loads; a private or
/// missing territory or action is the feeds' 404. For the essaimage API.
pub(crate) async fn action_publique(
    state: &AppState,
    doc: &DocumentId,
    action: &str,
) -> Result<agenda::ActionPublique, HttpError> {
    let version = stored_version(state, doc).await?;
    let entry = state.feeds.cache.entry(doc, version);
    let read = read(state, &entry, doc).await?.filter(|r| r.public).ok_or(HttpError::NoFeed)?;
    agenda::ActionPublique::de(&read.agenda, &doc.to_string(), &read.tetes, action).map_err(|_| HttpError::NoFeed)
}

/// The version of territory `doc` (off the async threads), or the feeds'
/// 404 if it is none of this relay's territories with stored chunks.
async fn stored_version(state: &AppState, doc: &DocumentId) -> Result<Version, HttpError> {
    let probe = {
        let (storage, invitations, doc) = (state.storage.clone(), state.invitations.clone(), doc.clone());
        tokio::task::spawn_blocking(move || version(&storage, &invitations, &doc)).await
    };
    HttpError::or_unavailable(Source::Feed, probe)?.ok_or(HttpError::NoFeed)
}

/// A body from `slot`, rendered once by `work`.
async fn body(
    state: &AppState,
    slot: &OnceCell<Arc<String>>,
    work: impl FnOnce() -> String + Send + 'static,
) -> Result<Arc<String>, HttpError> {
    let body = slot
        .get_or_try_init(|| async {
            state.metrics.feed_renders.fetch_add(1, Ordering::Relaxed);
            render(state, work).await.map(Arc::new)
        })
        .await?;
    Ok(body.clone())
}

// ---------------------------------------------------------------------------
// The routes.

async fn page(
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath(id): UrlPath<String>,
    query: Query<SyncQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    territory(state, from, id, query.0.token, headers, Kind::Html, None).await
}

async fn file(
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath((id, file)): UrlPath<(String, String)>,
    query: Query<SyncQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let kind = match file.as_str() {
        "agenda.ics" => Kind::Ics,
        "agenda-compat.ics" => Kind::Compat,
        "agenda.json" => Kind::Json,
        "apercu.json" => Kind::Apercu,
        _ => return Err(HttpError::NoFeed),
    };
    territory(state, from, id, query.0.token, headers, kind, None).await
}

/// The query string of `/t/{id}/actions/{action}.ics`.
#[derive(Debug, serde::Deserialize)]
struct ActionQuery {
    /// As the feeds'.
    token: Option<String>,
    /// The occurrence's original local start (`Occurrence::origine`).
    occurrence: Option<String>,
}

/// One action as a calendar, or one occurrence of it. The action id and
/// the occurrence are checked before anything else: a malformed action id
/// is the feeds' 404, a malformed occurrence a 400; either costs no token
/// check, no query and no load.
async fn action(
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath((id, file)): UrlPath<(String, String)>,
    Query(query): Query<ActionQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (action, kind) = match (file.strip_suffix(".ics"), file.strip_suffix(".json")) {
        (Some(a), _) => (a, Kind::Action),
        (_, Some(a)) if query.occurrence.is_none() => (a, Kind::ActionJson),
        _ => return Err(HttpError::NoFeed),
    };
    let action = Some(action).filter(|a| agenda::identifiant_valide(a)).ok_or(HttpError::NoFeed)?.to_owned();
    let occurrence = match query.occurrence {
        Some(o) if o.len() > ORIGIN_MAX || o.parse::<sync_core::rythme::DateHeure>().is_err() => {
            return Err(HttpError::Invalide("occurrence\u{a0}: une date locale AAAA-MM-JJTHH:MM:SS".into()));
        }
        o => o,
    };
    territory(state, from, id, query.token, headers, kind, Some((action, occurrence))).await
}

/// One public action's page. A malformed action id is the feeds' 404,
/// before anything else.
async fn action_page(
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath((id, action)): UrlPath<(String, String)>,
    query: Query<SyncQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let action = Some(action).filter(|a| agenda::identifiant_valide(a)).ok_or(HttpError::NoFeed)?;
    territory(state, from, id, query.0.token, headers, Kind::ActionPage, Some((action, None))).await
}

async fn territory(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    id: String,
    token: Option<String>,
    headers: HeaderMap,
    kind: Kind,
    action: Option<(String, Option<String>)>,
) -> Result<Response, HttpError> {
    // A token is checked whatever the id: its answer (401, 429) says
    // nothing about the territory.
    let token = token.filter(|t| !t.is_empty());
    let with_token = token.is_some();
    let grants = match token {
        Some(token) => {
            let client = state.gate.client_address(from, &headers);
            admit(&state.gate, client, Some(token)).await?.grants
        }
        None => Vec::new(),
    };
    let doc = id.parse::<DocumentId>().map_err(|_| HttpError::NoFeed)?;
    // The same queries for a missing id as for a private territory.
    let version = stored_version(&state, &doc).await?;
    // Open mode opens no private feed: only the request's own tokens do.
    let granted = crate::gate::access(&crate::gate::Pass::granted(grants), &doc) != Access::Denied;
    let feeds = &state.feeds;
    let entry = feeds.cache.entry(&doc, version);
    let base = feeds.site.base(&headers);
    let (now, hour) = this_hour();
    let what = match &action {
        Some((a, o)) => format!("{a}\0{}", o.as_deref().unwrap_or("")),
        None => String::new(),
    };
    let mut etag = etag(&[&version, what.as_bytes()], kind, hour, &base.url);
    // Access, then 304, with no load when the token or the cache decides.
    let cached_public = entry.read.get().map(|read| read.as_ref().is_some_and(|r| r.public));
    let read = match (granted, cached_public) {
        (true, _) | (false, Some(true)) if matches(&headers, &etag) => {
            return Ok(not_modified(&etag, cache_control(with_token, &base)));
        }
        (false, Some(false)) => return Err(HttpError::NoFeed),
        _ => read(&state, &entry, &doc).await?.ok_or(HttpError::NoFeed)?,
    };
    if !granted && !read.public {
        return Err(HttpError::NoFeed);
    }
    // The pages say which of its actions other territories took up, and
    // which of its copies' sources changed: the other territories'
    // versions are part of their ETag and of their cached body's key.
    let pages = matches!(kind, Kind::Html | Kind::ActionPage);
    let (essaimage, autres) =
        if pages { essaimage(&state, &doc, &read.agenda).await? } else { (flux::Essaimage::default(), String::new()) };
    if pages {
        etag = self::etag(&[&version, what.as_bytes(), autres.as_bytes()], kind, hour, &base.url);
    }
    if matches(&headers, &etag) {
        return Ok(not_modified(&etag, cache_control(with_token, &base)));
    }
    let territoire = Territoire::new(doc.to_string(), &read.agenda, base.url.clone());
    if let Some((action, occurrence)) = action {
        // An action that is not public, or an occurrence it does not
        // have, renders as empty: the feeds' 404, cached like a body.
        let key = (action.clone(), occurrence.clone(), kind, hour, format!("{}{autres}", base.url));
        let slot = body_slot(&entry.actions, key, ACTION_BODIES_PER_DOCUMENT);
        let body = body(&state, &slot, move || match kind {
            Kind::ActionJson => agenda::ActionPublique::de(&read.agenda, &territoire.document, &read.tetes, &action)
                .ok()
                .and_then(|a| serde_json::to_string(&a).ok())
                .unwrap_or_default(),
            Kind::ActionPage => {
                flux::action_html(&territoire, &read.agenda, &action, now, &essaimage).unwrap_or_default()
            }
            _ => flux::ics_action(&territoire, &read.agenda, &action, occurrence.as_deref(), now).unwrap_or_default(),
        })
        .await?;
        if body.is_empty() {
            return Err(HttpError::NoFeed);
        }
        return respond_compressed(&state, &headers, kind, &etag, cache_control(with_token, &base), &body).await;
    }
    let slot = body_slot(&entry.bodies, (kind, hour, format!("{}{autres}", base.url)), BODIES_PER_DOCUMENT);
    let body = body(&state, &slot, move || match kind {
        Kind::Ics => flux::ics(&territoire, &read.agenda, now),
        Kind::Compat => flux::ics_compat(&territoire, &read.agenda, now),
        Kind::Json => flux::json_ld(&territoire, &read.agenda, now).to_string(),
        Kind::Apercu => flux::apercu_json(&territoire, &read.agenda, now).to_string(),
        Kind::Html
        | Kind::Territories
        | Kind::Annuaire
        | Kind::AgendaNational
        | Kind::Action
        | Kind::ActionJson
        | Kind::ActionPage
        | Kind::Carte => flux::html_avec_essaimage(&territoire, &read.agenda, now, &essaimage),
    })
    .await?;
    respond_compressed(&state, &headers, kind, &etag, cache_control(with_token, &base), &body).await
}

/// Every territory of this relay with stored chunks, with its version and
/// read model (from the cache, or loaded once), and which ones are
/// demonstrations.
async fn territories(state: &AppState) -> Result<(Vec<(DocumentId, Version, Arc<Read>)>, Vec<DocumentId>), HttpError> {
    let (known, demonstrations) = listed_versions(state).await?;
    let mut all = Vec::with_capacity(known.len());
    for (doc, version) in known {
        if let Some(read) = read_at(state, &doc, version).await? {
            all.push((doc, version, read));
        }
    }
    Ok((all, demonstrations))
}

/// Every territory of this relay with stored chunks, its version, and the
/// demonstration territories (off the async threads).
async fn listed_versions(state: &AppState) -> Result<Versions, HttpError> {
    let probe = {
        let (storage, invitations) = (state.storage.clone(), state.invitations.clone());
        tokio::task::spawn_blocking(move || versions(&storage, &invitations)).await
    };
    HttpError::or_unavailable(Source::Feed, probe)
}

impl Read {
    /// What the national feeds keep of it.
    fn etat(&self) -> Etat {
        Etat { public: self.public, empreinte: self.empreinte }
    }
}

/// `doc`'s read model at `version`, through the cache, remembering its
/// visibility and heads.
async fn read_at(state: &AppState, doc: &DocumentId, version: Version) -> Result<Option<Arc<Read>>, HttpError> {
    let entry = state.feeds.cache.entry(doc, version);
    let read = read(state, &entry, doc).await?;
    if let Some(read) = &read {
        state.feeds.cache.retenir(doc, version, read.etat());
    }
    Ok(read)
}

/// A public territory as the national feeds see it: its id, its stored
/// version (to load it), its heads' digest (what its content is), and its
/// read model if finding that out loaded it (so that a render does not
/// load it again once the bounded cache has let it go).
type Publique = (DocumentId, Version, Empreinte, Option<Arc<Read>>);

/// The public territories among `listed`, by what is remembered of them
/// where their version is unchanged, else by loading their read model.
async fn public_versions(state: &AppState, listed: Vec<(DocumentId, Version)>) -> Result<Vec<Publique>, HttpError> {
    state.feeds.cache.oublier_sauf(&listed);
    let mut public = Vec::with_capacity(listed.len());
    for (doc, version) in listed {
        let (etat, loaded) = match state.feeds.cache.etat(&doc, &version) {
            Some(etat) => (Some(etat), None),
            None => {
                let read = read_at(state, &doc, version).await?;
                (read.as_deref().map(Read::etat), read)
            }
        };
        if let Some(Etat { public: true, empreinte }) = etat {
            public.push((doc, version, empreinte, loaded));
        }
    }
    Ok(public)
}

/// `doc`'s links with the relay's other territories: the copies of its
/// actions there (their live actions whose `inspire_de` names `doc`), each
/// territory named only if public; its own copies whose source, in a
/// public territory here, was edited after the copy was made or is no
/// longer public; and a digest of the versions read, for the page's ETag.
async fn essaimage(
    state: &AppState,
    doc: &DocumentId,
    agenda: &Agenda,
) -> Result<(flux::Essaimage, String), HttpError> {
    let (all, _) = territories(state).await?;
    let source = doc.to_string();
    let mut essaimage = flux::Essaimage::default();
    let mut digest = Sha256::new();
    for (other, version, read) in all.iter().filter(|(other, _, _)| other != doc) {
        digest.update(version);
        let nom = read.agenda.profil.as_ref().filter(|_| read.public).map(|p| p.nom.clone());
        for a in read.agenda.actions.values().filter(|a| !a.suivi.supprime) {
            if let Some(p) = a.inspire_de.as_ref().filter(|p| p.territoire == source) {
                essaimage.reprises.push(flux::Reprise { action: p.action.clone(), territoire: nom.clone() });
            }
        }
        // This territory's copies of that one's actions, if it is public.
        let other = other.to_string();
        for (id, copie) in agenda.actions.iter().filter(|(_, a)| !a.suivi.supprime) {
            let Some(p) = copie.inspire_de.as_ref().filter(|p| p.territoire == other && read.public) else { continue };
            // The rule of what may be taken up is the core's.
            let changement = if agenda::ActionPublique::de(&read.agenda, &other, &[], &p.action).is_err() {
                Some(flux::Changement::Retiree)
            } else if read.agenda.actions.get(&p.action).is_some_and(|a| a.suivi.modifie_le > copie.suivi.cree_le) {
                Some(flux::Changement::Modifiee)
            } else {
                None
            };
            if let Some(c) = changement {
                essaimage.sources_changees.push((id.clone(), c));
            }
        }
    }
    let digest: [u8; 32] = digest.finalize().into();
    Ok((essaimage, digest.iter().map(|b| format!("{b:02x}")).collect()))
}

/// The map of départements for the app's « Découvrir » (`flux::Carte::json`:
/// the checked map with sync-core's names); 404 when the relay has none.
async fn carte(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let carte = state.feeds.carte.clone().ok_or(HttpError::NoFeed)?;
    let etag = format!("\"{}\"", carte.empreinte[..12].iter().map(|b| format!("{b:02x}")).collect::<String>());
    if matches(&headers, &etag) {
        return Ok(not_modified(&etag, "no-cache"));
    }
    Ok(respond(Kind::Carte, &etag, "no-cache", &carte.json))
}

/// `/territoires/` and `/agenda/`: national pages narrowed by the query
/// string (an unknown filter is a 400 saying which, in French).
async fn filtered(
    state: State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    kind: Kind,
) -> Result<Response, HttpError> {
    let Query(paires) = query.map_err(|_| HttpError::Invalide("adresse illisible\u{a0}: filtres attendus".into()))?;
    let filtre = Filtre::depuis(&paires).map_err(|e| HttpError::Invalide(e.to_string()))?;
    national(state, headers, kind, filtre).await
}

async fn national(
    State(state): State<AppState>,
    headers: HeaderMap,
    kind: Kind,
    filtre: Filtre,
) -> Result<Response, HttpError> {
    // Only the public territories count, for the ETag as for the body.
    let (listed, demonstrations) = listed_versions(&state).await?;
    let public = public_versions(&state, listed).await?;
    let feeds = &state.feeds;
    let base = feeds.site.base(&headers);
    let (now, hour) = this_hour();
    // The relay's table, not the document, says which are demonstrations
    // (anyone may read those): a profile cannot claim it.
    let demonstration = |doc: &DocumentId| demonstrations.contains(doc);
    let carte = feeds.carte.clone().filter(|_| kind == Kind::Annuaire);
    // The territories' heads, not their chunks: a compaction renders nothing.
    let ids: Vec<Vec<u8>> = public
        .iter()
        .map(|(doc, _, tetes, _)| [doc.to_string().as_bytes(), &tetes[..], &[u8::from(demonstration(doc))]].concat())
        .chain(carte.iter().map(|c| c.empreinte.clone()))
        .collect();
    let refs: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
    // One body per filter: its canonical query string is part of the ETag.
    let etag = etag(&refs, kind, hour, &format!("{}{}", base.url, filtre.requete()));
    if matches(&headers, &etag) {
        return Ok(not_modified(&etag, cache_control(false, &base)));
    }
    let slot = body_slot(&feeds.cache.national, etag.clone(), NATIONAL_BODIES);
    if let Some(body) = slot.get() {
        return respond_compressed(&state, &headers, kind, &etag, cache_control(false, &base), body).await;
    }
    // Rendered once per ETag: only then are the read models needed.
    let mut reads = Vec::with_capacity(public.len());
    for (doc, version, _, loaded) in public {
        let read = match loaded {
            Some(read) => Some(read),
            None => read_at(&state, &doc, version).await?,
        };
        if let Some(read) = read.filter(|read| read.public) {
            reads.push((doc, read));
        }
    }
    let url = base.url.clone();
    let body = body(&state, &slot, move || {
        let pairs: Vec<(Territoire, Agenda)> = reads
            .iter()
            .map(|(doc, read)| {
                let mut agenda = read.agenda.clone();
                if let Some(profil) = agenda.profil.as_mut() {
                    profil.demonstration = demonstrations.contains(doc);
                }
                (Territoire::new(doc.to_string(), &agenda, url.clone()), agenda)
            })
            .collect();
        match kind {
            Kind::Ics => flux::ics_national(&pairs, now),
            Kind::Json => flux::json_ld_national(&pairs, now).to_string(),
            Kind::Annuaire => flux::annuaire_html(&pairs, &filtre, now, carte.as_ref().map(|c| &c.carte)),
            Kind::AgendaNational => flux::agenda_national_html(&pairs, &filtre, now),
            _ => flux::territoires_json(&pairs, now).to_string(),
        }
    })
    .await?;
    respond_compressed(&state, &headers, kind, &etag, cache_control(false, &base), &body).await
}

// ---------------------------------------------------------------------------
// Storage.

/// The version of `doc` if it is a territory of this relay with stored
/// chunks. Lists keys and sizes only: no chunk is read. Runs the same
/// queries whether or not `doc` is a territory.
fn version(storage: &Storage, invitations: &Mutex<Invitations>, doc: &DocumentId) -> Result<Option<Version>, String> {
    let known = lock(invitations).territories().map_err(|e| e.to_string())?.contains(doc);
    let mut reader = storage.reader().map_err(|e| e.to_string())?;
    let version = chunk_version(reader.as_mut(), doc)?;
    Ok(version.filter(|_| known))
}

/// Every territory of this relay with stored chunks, and its version; and
/// the demonstration territories.
type Versions = (Vec<(DocumentId, Version)>, Vec<DocumentId>);

fn versions(storage: &Storage, invitations: &Mutex<Invitations>) -> Result<Versions, String> {
    let (known, demonstrations) = {
        let invitations = lock(invitations);
        let known = invitations.territories().map_err(|e| e.to_string())?;
        (known, invitations.demonstrations().map_err(|e| e.to_string())?)
    };
    let mut reader = storage.reader().map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    for doc in known {
        if let Some(version) = chunk_version(reader.as_mut(), &doc)? {
            all.push((doc, version));
        }
    }
    Ok((all, demonstrations))
}

pub(crate) fn chunk_version(reader: &mut dyn Reader, doc: &DocumentId) -> Result<Option<Version>, String> {
    let mut hash = Sha256::new();
    let mut any = false;
    for (key, size) in reader.sizes(doc).map_err(|e| e.to_string())? {
        // Sync states change with every peer's sync: not the content.
        if let Some((kind, name)) = key.as_chunk() {
            hash.update(kind.as_str());
            hash.update([0]);
            hash.update(name);
            hash.update(size.to_le_bytes());
            any = true;
        }
    }
    Ok(any.then(|| hash.finalize().into()))
}

/// Loads a document from its committed chunks, as the repo does
/// (`sync_core::load_chunks`: an unreadable chunk is skipped whole, so a
/// feed shows what can be read); `None` if none loads.
fn read_document(storage: &Storage, doc: &DocumentId) -> Result<Option<Read>, String> {
    let entries = storage.reader().and_then(|mut reader| reader.entries(doc)).map_err(|e| e.to_string())?;
    let am = sync_core::load_chunks(doc, entries);
    if am.get_heads().is_empty() {
        return Ok(None);
    }
    let agenda = agenda::lire(&am);
    let public = agenda.profil.as_ref().is_some_and(|p| p.visibilite == VisibiliteTerritoire::Public);
    let heads = am.get_heads();
    let empreinte = heads.iter().fold(Sha256::new(), |hash, head| hash.chain_update(head.0)).finalize().into();
    let tetes = heads.iter().map(|h| h.to_string()).collect();
    let fiches = agenda::documents_attaches(&am)
        .into_iter()
        .filter(|(_, genre)| *genre == agenda::GenreDocument::Fiche)
        .map(|(doc, _)| doc)
        .collect();
    Ok(Some(Read { agenda, public, tetes, empreinte, fiches }))
}

fn lock(m: &Mutex<Invitations>) -> std::sync::MutexGuard<'_, Invitations> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------------------
// HTTP details.

/// A cached body lent to a response.
struct Texte(Arc<String>);

impl AsRef<[u8]> for Texte {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// [`respond`], a large body compressed once per `ETag` ([`compresse`]).
async fn respond_compressed(
    state: &AppState,
    headers: &HeaderMap,
    kind: Kind,
    etag: &str,
    cache: &'static str,
    body: &Arc<String>,
) -> Result<Response, HttpError> {
    compresse::compresser(state, headers, etag, body, respond(kind, etag, cache, body)).await
}

/// The start of the current hour: the feeds' `now` and the ETag's period.
fn this_hour() -> (Timestamp, i64) {
    let hour = (crate::hub::now().0 / 3_600_000) as i64;
    let now = Timestamp::from_millisecond(hour * 3_600_000).unwrap_or(Timestamp::UNIX_EPOCH);
    (now, hour)
}

fn etag(versions: &[&[u8]], kind: Kind, hour: i64, base: &str) -> String {
    let mut hash = Sha256::new();
    for v in versions {
        hash.update(v);
        hash.update([0]);
    }
    hash.update(format!("{kind:?}/{hour}/{base}"));
    let digest = hash.finalize();
    format!("\"{}\"", digest[..12].iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Who may keep a copy: only the client when a token opened the feed or
/// its links come from the request; any cache otherwise.
fn cache_control(with_token: bool, base: &Base) -> &'static str {
    if with_token {
        "private, no-cache"
    } else if base.reflected {
        "private, max-age=300, must-revalidate"
    } else {
        "public, max-age=300, must-revalidate"
    }
}

fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| candidate.trim() == etag || candidate.trim() == "*")
}

fn not_modified(etag: &str, cache: &'static str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

fn respond(kind: Kind, etag: &str, cache: &'static str, body: &Arc<String>) -> Response {
    // The cached body itself, not a copy (national bodies are megabytes).
    let mut response = axum::body::Body::from(axum::body::Bytes::from_owner(Texte(body.clone()))).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind.content_type()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    response
}
