//! The relay: a thin tokio + axum driver around one `sync_core::Repo`,
//! persisting to SQLite. Its Rust client, for tests and benchmarks, is the
//! `client` crate.
//!
//! Tasks and threads:
//!
//! ```text
//!  websocket reader ──Event──►  hub task (owns Repo)  ──Request──► SQLite thread
//!  websocket writer ◄─Outbound─ (holds Sends until    ◄──Event───  (group commit,
//!   (+ keepalive)                their Write commits)               loads)
//! ```
//!
//! - `listen.rs`: the accept loop, with header and idle timeouts and
//!   connection caps (global, per address).
//! - `config.rs`: [`Config`], the `essaim serve` arguments, each default
//!   written once there.
//! - `app.rs`: the one router and its one state (`/sync`, `/invitation`,
//!   the chunk routes, the feeds, `/healthz`, the web app; `/metrics` on
//!   its own address), the security headers, and the per-connection reader
//!   and writer tasks, which only move bytes.
//! - `error.rs`: every HTTP refusal and failure, turned into its response
//!   in one place.
//! - `gate.rs`: the invitation token check at the upgrade, rate-limited,
//!   and `access`, the one rule for what grants open of a document.
//! - `feeds/`: the public agenda feeds (ICS, JSON-LD, HTML) over HTTP.
//! - `chunks.rs`: a document's stored chunks over HTTP (`/d/…`), with
//!   ranges, so a first download resumes (`client::download` is its Rust
//!   client).
//! - `invitations.rs`: the invitations and territories tables.
//! - `territoires.rs`: creating a territory from the app, by the relay's
//!   policy (`--creation`); `candidatures.rs`: the candidatures table,
//!   and their acceptance or refusal.
//! - `invitations_api.rs`: a territory's invitations over HTTP, for its
//!   organisers (list, create, revoke).
//! - `volontaires.rs`: residents volunteering over HTTP, written by the hub.
//! - `essaimage_api.rs`: taking up another territory's public action over
//!   HTTP, for organisers (`essaim essaimer`), written by the hub.
//! - `fiches.rs`: experience sheets on the national list (the relay's
//!   table, `essaim fiches`, `essaim fiche admettre|retirer`).
//! - `listing.rs`: the territories of a data directory, read from SQLite
//!   (`essaim territory list`).
//! - `demo/`: `essaim demo`, the demonstration territories.
//! - `hub.rs`: the one task owning the `Repo`; the durability ordering.
//! - `store.rs`: the SQLite thread and the table layout.
//! - `metrics.rs`: counters and the Prometheus text.
//!
//! Start it with [`run`]: `main.rs` and the integration tests do the same.

pub mod candidatures;
pub mod demo;
pub mod fiches;
pub mod invitations;
pub mod invitations_api;
pub mod listing;

#[cfg(feature = "fault-injection")]
pub mod fault;

mod app;
mod attaches;
mod chunks;
#[cfg(feature = "cluster")]
mod cluster;
mod config;
mod error;
mod essaimage_api;
mod feeds;
mod frames;
mod gate;
mod hub;
mod listen;
mod metrics;
mod slots;
mod store;
mod territoires;
mod volontaires;
mod websocket;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sync_core::automerge::ActorId;
use sync_core::{IdError, PeerId, Repo, StartError, StorageId, StorageKey};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub use config::{Config, Creation, DEFAULT_DATA_DIR};
#[cfg(feature = "cluster")]
pub use store::postgres::SCHEMA_VERSION;
pub use store::{Backend, DATABASE_FILE, Entries, Reader, Storage, StoreError};

/// The protocol version the relay speaks, from `sync-core`.
pub const PROTOCOL_VERSION: &str = sync_core::PROTOCOL_VERSION;

/// Capacity of the hub's event channel: websocket readers wait (back
/// pressure) when the hub is this far behind.
const HUB_QUEUE: usize = 4096;

/// Why the relay could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The `--peer-id` given is not a valid peer id.
    #[error("invalid peer id: {0}")]
    PeerId(#[from] IdError),
    /// The stored storage id is unusable.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Storage failed, at start or while serving.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The territory could not be created (an invalid profile).
    #[error("cannot create the territory: {0}")]
    Territory(String),
    /// The OS random source failed.
    #[error("no randomness from the OS: {0}")]
    Random(String),
    /// Serving HTTP failed.
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
    /// `--url` is not an `http` or `https` URL with a valid host.
    #[error("invalid public URL {0:?}: use http(s)://host[:port][/path]")]
    PublicUrl(String),
    /// `--metrics-listen` could not be bound.
    #[error("cannot listen for metrics on {0}: {1}")]
    MetricsListen(SocketAddr, std::io::Error),
    /// A task of the relay panicked.
    #[error("a relay task panicked: {0}")]
    Panicked(String),
    /// The cluster flags do not fit together.
    #[error("{0}")]
    ClusterSettings(&'static str),
    /// Joining the cluster's NATS failed.
    #[cfg(feature = "cluster")]
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
}

/// Checks the cluster flags before anything starts.
fn check_cluster_settings(config: &Config) -> Result<(), RunError> {
    if config.relay_name.as_deref().is_some_and(|name| !config::relay_name_valid(name)) {
        return Err(RunError::ClusterSettings("--relay-name: 1 to 64 letters, digits, `_` or `-`"));
    }
    if !config::cluster_prefix_valid(&config.cluster_prefix) {
        return Err(RunError::ClusterSettings("--cluster-prefix: dot-separated letters, digits, `_` or `-`"));
    }
    if config.nats.is_some() && config.storage.as_deref().is_none_or(str::is_empty) {
        return Err(RunError::ClusterSettings(
            "--nats needs --storage postgres://…: relays share their documents there",
        ));
    }
    if config.nats.is_some() && !cfg!(feature = "cluster") {
        return Err(RunError::ClusterSettings("--nats needs a build with the `cluster` feature"));
    }
    Ok(())
}

/// On shared storage: names the relay in its metrics and, with `--nats`,
/// joins the cluster's announcements (the storage thread hands it each
/// commit's chunks; the hub gets the others'). Returns the tasks started.
async fn join_cluster(
    config: &Config,
    storage: &store::Storage,
    store: &mut store::Store,
    repo: &Repo,
    events: &mpsc::Sender<hub::Event>,
    metrics: &Arc<metrics::Metrics>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, RunError> {
    if !storage.is_shared() {
        return Ok(Vec::new());
    }
    let relay = config.relay_name.clone().unwrap_or_else(|| repo.peer_id().to_string());
    let _ = metrics.cluster.relay.set(relay.clone());
    #[cfg(feature = "cluster")]
    if let Some(url) = &config.nats {
        let cluster = Arc::new(cluster::Cluster::join(url, &config.cluster_prefix, &relay).await?);
        let (committed, announcements) = mpsc::unbounded_channel();
        store.announce_to(committed);
        let announcing = tokio::spawn(cluster.clone().announce(announcements, metrics.clone()));
        let listening = tokio::spawn(cluster.listen(events.clone(), metrics.clone()));
        tracing::info!(%relay, nats = %url, prefix = %config.cluster_prefix, "announcing commits on NATS");
        return Ok(vec![announcing, listening]);
    }
    let _ = (store, events);
    Ok(Vec::new())
}

/// Opens the storage and starts the repo on it (blocking: off the
/// runtime). On shared storage another relay starting at the same moment
/// may have written its storage id first: the stored one is the cluster's,
/// so the repo starts again with it.
fn open_storage(config: &Config) -> Result<(store::Storage, store::Store, Repo), RunError> {
    let storage = store::Storage::open(config.storage.as_deref(), &config.data_dir)?;
    let mut store = store::Store::open(&storage)?;
    let stored_id = store.get(&StorageKey::storage_id())?;
    let (mut repo, outputs) = start_repo(config, stored_id.as_deref())?;
    // At first start: the new storage id, written before anyone sees it.
    let writes = only_writes(outputs);
    if !writes.is_empty() {
        store.apply(&writes)?;
        let stored = store.get(&StorageKey::storage_id())?;
        if stored.as_deref() != repo.storage_id().map(|id| id.as_str().as_bytes()) {
            (repo, _) = start_repo(config, stored.as_deref())?;
        }
    }
    Ok((storage, store, repo))
}

/// Runs the relay on `listener` until `shutdown` completes (then flushes
/// storage and closes every connection with a reason) or storage fails.
/// `/metrics` is served on `config.metrics_listen`, if set.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let metrics = match config.metrics_listen {
        Some(address) => {
            Some(TcpListener::bind(address).await.map_err(|error| RunError::MetricsListen(address, error))?)
        }
        None => None,
    };
    run_with_metrics(listener, metrics, config, shutdown).await
}

/// [`run`], with `/metrics` served on `metrics_listener` (if any) instead
/// of `config.metrics_listen`: tests bind port 0 and keep the address.
pub async fn run_with_metrics(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let public_url = config.public_url.as_deref().map(feeds::public_url).transpose()?;
    if config.open {
        tracing::warn!(
            "--open: anyone who reaches this relay reads and writes every document without an invitation; \
             use it only on your own machine or a trusted network"
        );
    }
    check_cluster_settings(&config)?;
    let metrics = Arc::new(metrics::Metrics::default());
    let opening = config.clone();
    let (storage, mut store, repo) = tokio::task::spawn_blocking(move || open_storage(&opening))
        .await
        .map_err(|panic| RunError::Panicked(panic.to_string()))??;
    tracing::info!(
        peer = %repo.peer_id(),
        storage_id = %repo.storage_id().map(|s| s.as_str()).unwrap_or("-"),
        storage = ?storage,
        data = %config.data_dir.display(),
        "relay started"
    );

    // Where the documents are: shared by a cluster's relays, so a token
    // opens /sync on any of them and a revocation closes them all.
    let invitations = Arc::new(Mutex::new(invitations::Invitations::open_for(&storage)?));
    // The national sheets' table exists before the feeds read it.
    fiches::Nationales::open(&config.data_dir)?;
    let (events, inbox) = mpsc::channel(HUB_QUEUE);
    let cluster_tasks = join_cluster(&config, &storage, &mut store, &repo, &events, &metrics).await?;
    let repair_every = storage.is_shared().then_some(config.repair_interval);
    let (requests, store_thread) = store.spawn(events.clone(), metrics.clone())?;
    let hub = hub::Hub::new(repo, requests, metrics.clone(), events.downgrade(), repair_every);
    let mut hub_task = tokio::spawn(hub.run(inbox));

    let transport = websocket::Transport {
        max_message_bytes: config.max_message_bytes,
        message_timeout: config.message_timeout,
        max_unfinished_bytes: config.max_inbound_bytes,
        max_connections: config.max_connections,
        queue_frames: config.outbound_queue_frames.max(1),
        queue_bytes: config.outbound_queue_bytes,
        ping_interval: config.ping_interval,
        ping_timeout: config.ping_timeout,
    };
    let (alive, mut drained) = mpsc::channel::<()>(1);
    let slots = slots::Slots::new(slots::SlotLimits {
        per_address: config.max_connections_per_address,
        per_invitation: config.max_connections_per_invitation,
    });
    let local = listener.local_addr().map_err(RunError::Serve)?;
    let state = app::AppState {
        alive,
        hub: events.clone(),
        metrics: metrics.clone(),
        transport: Arc::new(transport),
        next_conn: Arc::new(AtomicU64::new(1)),
        gate: Arc::new(gate::Gate::new(config.open, invitations.clone(), config.trusted_proxies.clone())),
        data_dir: config.data_dir.clone(),
        storage: storage.clone(),
        invitations: invitations.clone(),
        feeds: Arc::new(feeds::Feeds::new(&config, public_url, local)),
        slots: Arc::new(slots),
        creations: Arc::new(territoires::Creations::new(
            config.creation,
            config.open,
            candidatures::Candidatures::open(&config.data_dir)?,
        )),
        quota: Arc::new(volontaires::Quota::new(volontaires::PAR_HEURE)),
        essaimages: Arc::new(volontaires::Quota::new(essaimage_api::PAR_HEURE)),
    };
    let revocations = tokio::spawn(watch_revocations(invitations.clone(), events.clone()));
    // Only when served: the router holds the state, whose `alive` sender
    // shutdown waits for.
    let metrics_router = metrics_listener.as_ref().map(|_| app::metrics_router(state.clone()));
    let router = app::router(state, config.web_dir.clone());
    let limits = listen::Limits {
        header_read_timeout: config.header_read_timeout,
        idle_timeout: config.http_idle_timeout,
        max_connections: listen::connection_budget(config.max_http_connections),
        max_per_address: config.max_http_connections_per_address.max(1),
        trusted_proxies: config.trusted_proxies.clone(),
    };
    if limits.max_connections < config.max_http_connections {
        tracing::warn!(
            connections = limits.max_connections,
            "the open file limit (ulimit -n) caps the connections below --max-http-connections: raise it"
        );
    }
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    if let (Some(metrics_listener), Some(metrics_router)) = (metrics_listener, metrics_router) {
        let address = metrics_listener.local_addr().map_err(RunError::Serve)?;
        tracing::info!(%address, "serving /metrics");
        let served = listen::serve(metrics_listener, metrics_router, limits.clone(), metrics.clone(), async move {
            let _ = metrics_stopped.await;
        });
        tokio::spawn(served);
    }
    let server = listen::serve(listener, router, limits, metrics.clone(), async move {
        let _ = http_stopped.await;
    });
    let mut http = tokio::spawn(server);

    let outcome = tokio::select! {
        () = shutdown => {
            tracing::info!("shutting down: flushing storage and closing connections");
            let _ = events.send(hub::Event::Shutdown).await;
            (&mut hub_task).await
        }
        outcome = &mut hub_task => outcome,
        served = &mut http => {
            let error = match served {
                Ok(Ok(())) => std::io::Error::other("the HTTP server stopped"),
                Ok(Err(e)) => e,
                Err(e) => std::io::Error::other(e.to_string()),
            };
            return Err(RunError::Serve(error));
        }
    };
    revocations.abort();
    for task in cluster_tasks {
        task.abort();
    }
    drop(events);
    let _ = stop_http.send(());
    let _ = stop_metrics.send(());
    // Upgraded websockets are not tracked by axum: this returns promptly.
    if tokio::time::timeout(Duration::from_secs(5), &mut http).await.is_err() {
        http.abort();
    }
    // Then the connections write their close frames and end (bounded: a
    // stuck write gives up after the ping timeout, a close after 2 s).
    let _ = tokio::time::timeout(config.ping_timeout + Duration::from_secs(3), drained.recv()).await;
    // The hub dropped its request sender: the thread finishes its queue.
    let _ = tokio::task::spawn_blocking(move || store_thread.join()).await;
    match outcome {
        Ok(Ok(())) => {
            tracing::info!("relay stopped");
            Ok(())
        }
        Ok(Err(error)) => Err(RunError::Store(error)),
        Err(panic) => Err(RunError::Panicked(panic.to_string())),
    }
}

fn start_repo(config: &Config, stored_id: Option<&[u8]>) -> Result<(Repo, Vec<sync_core::Output>), RunError> {
    let random = random_bytes::<16>()?;
    let actor = ActorId::from(&random_bytes::<16>()?[..]);
    let session: String = random_bytes::<8>()?.iter().map(|b| format!("{b:02x}")).collect();
    // The peer id derives from the storage id: the stored one, or the one
    // `Repo::start` mints from the same random bytes. It is in every
    // message's envelope (sender or target), so it is short: a client
    // tells relays apart by their storage id, which the handshake carries.
    let storage = match stored_id {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => StorageId::from_random(random).to_string(),
    };
    let peer_id: PeerId = match (&config.peer_id, &config.relay_name) {
        (Some(id), _) => id.parse()?,
        (None, Some(name)) => format!("essaim-relay-{name}").parse()?,
        (None, None) => format!("essaim-{}", storage.chars().take(8).collect::<String>()).parse()?,
    };
    let core = config.core(peer_id, actor, session);
    Ok(Repo::start(core, stored_id, random)?)
}

/// How often revoked and expired invitations are looked for: their live
/// connections close within this (plus the hub's turn).
const REVOCATION_POLL: Duration = Duration::from_secs(1);

/// Tells the hub, every [`REVOCATION_POLL`], which invitations no longer
/// hold (revoked by `essaim revoke`, possibly from another process, or
/// expired). A read error is logged and retried: the live connections
/// keep going meanwhile, and new ones are checked at the upgrade anyway.
async fn watch_revocations(invitations: Arc<Mutex<invitations::Invitations>>, hub: mpsc::Sender<hub::Event>) {
    let mut ticks = tokio::time::interval(REVOCATION_POLL);
    loop {
        ticks.tick().await;
        let invitations = invitations.clone();
        let now = hub::now().0 as i64;
        let found = tokio::task::spawn_blocking(move || {
            invitations.lock().unwrap_or_else(|p| p.into_inner()).no_longer_valid(now)
        })
        .await;
        match found {
            Ok(Ok(ids)) if !ids.is_empty() => {
                if hub.send(hub::Event::Revoked { invitations: ids }).await.is_err() {
                    return;
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "cannot read revoked invitations; retrying"),
            Err(panic) => tracing::error!(%panic, "the revocation check panicked"),
        }
    }
}

/// Creates a territory's document in the relay's storage (its containers and
/// profile in one change, written by a repo that shares the relay's storage id)
/// and records it as a territory of this relay. Safe while the relay runs:
/// the relay loads documents from SQLite when someone asks for them.
pub fn create_territory(
    data_dir: &std::path::Path,
    profil: sync_core::agenda::Profil,
) -> Result<sync_core::DocumentId, RunError> {
    create_territory_in(&store::Storage::Sqlite(data_dir.to_owned()), profil)
}

/// [`create_territory`] in `storage`: the document and the territories
/// table both where the relay keeps them (a cluster's PostgreSQL
/// database, say). Blocking: call it off the tokio runtime.
pub fn create_territory_in(
    storage: &store::Storage,
    profil: sync_core::agenda::Profil,
) -> Result<sync_core::DocumentId, RunError> {
    create_territory_with(storage, profil, Vec::new())
}

/// [`create_territory_in`] with `edits` applied through the core's
/// validation, in the same storage transaction (what a benchmark of the
/// feeds starts from). Blocking.
pub fn create_territory_with(
    storage: &store::Storage,
    profil: sync_core::agenda::Profil,
    edits: Vec<sync_core::agenda::Edit>,
) -> Result<sync_core::DocumentId, RunError> {
    let contenu = demo::Contenu { profil, edits, carnet: Vec::new(), fiches: Vec::new() };
    let doc = write_territory(storage, "essaim-cli", contenu)?;
    invitations::Invitations::open_for(storage)?.add_territory(&doc, hub::now().0 as i64)?;
    Ok(doc)
}

/// Writes a new territory's document into the relay's storage: created
/// with `contenu.profil`, then each of its edits applied through the core's
/// validation ([`sync_core::Repo::apply`]), and, if `carnet` holds any,
/// its organisers' notebook with those contacts, and its experience sheets,
/// all written in one storage transaction (SQLite's or PostgreSQL's).
/// Records nothing in the territories table: the caller does.
pub(crate) fn write_territory(
    storage: &store::Storage,
    auteur: &str,
    contenu: demo::Contenu,
) -> Result<sync_core::DocumentId, RunError> {
    let demo::Contenu { profil, edits, carnet, fiches } = contenu;
    let mut store = store::Store::open(storage)?;
    let stored_id = store.get(&StorageKey::storage_id())?;
    // The data directory plays no part in starting a repo: the defaults'.
    let (mut repo, started) = start_repo(&Config::new(DEFAULT_DATA_DIR), stored_id.as_deref())?;
    let now = hub::now();
    let refus = |e: &dyn std::fmt::Display, quoi: &dyn std::fmt::Debug| RunError::Territory(format!("{e}: {quoi:?}"));
    let (doc, created) = repo
        .create_territory(now, &random_bytes::<16>()?, auteur, profil)
        .map_err(|e| RunError::Territory(e.to_string()))?;
    let mut outputs: Vec<sync_core::Output> = started.into_iter().chain(created).collect();
    for edit in edits {
        outputs.extend(repo.apply(now, &doc, auteur, edit.clone()).map_err(|e| refus(&e, &edit))?);
    }
    // Private contacts go into the organisers' notebook, listed by the
    // territory (`sync_core::agenda::documents`).
    if !carnet.is_empty() {
        let (notebook, created) = repo
            .creer_carnet(now, &random_bytes::<16>()?, &doc, auteur)
            .map_err(|e| RunError::Territory(e.to_string()))?;
        outputs.extend(created);
        for edit in carnet {
            outputs.extend(repo.appliquer_carnet(now, &notebook, auteur, edit.clone()).map_err(|e| refus(&e, &edit))?);
        }
    }
    // Experience sheets, each listed by the territory; a published one is
    // reviewed by another organiser first, as the workflow asks.
    for demo::FicheDemo { mut contenu, publiee, actions } in fiches {
        contenu.actions = actions
            .into_iter()
            .map(|action| sync_core::agenda::ActionLiee { territoire: doc.to_string(), action })
            .collect();
        let (fiche, created) = repo
            .creer_fiche(now, &random_bytes::<16>()?, &doc, auteur, Some(FICHE_AUTEUR), contenu)
            .map_err(|e| RunError::Territory(e.to_string()))?;
        outputs.extend(created);
        if publiee {
            use sync_core::agenda::EditFiche;
            for (qui, nom, edit) in
                [(FICHE_RELECTEUR.0, FICHE_RELECTEUR.1, EditFiche::Relire), (auteur, FICHE_AUTEUR, EditFiche::Publier)]
            {
                let applied = repo.appliquer_fiche(now, &fiche, qui, Some(nom), edit.clone());
                outputs.extend(applied.map_err(|e| refus(&e, &edit))?);
            }
        }
    }
    let writes = only_writes(outputs);
    store.apply(&writes)?;
    Ok(doc)
}

/// Who writes a territory's sheets from the command line, by name.
const FICHE_AUTEUR: &str = "Équipe d'animation";
/// Who reviews them: another organiser (actor, name), as the workflow asks.
const FICHE_RELECTEUR: (&str, &str) = ("essaim-relecture", "Comité de relecture");

/// The storage writes among a repo's outputs (starting a repo, or writing
/// a document from the command line, sends nothing else that matters).
fn only_writes(outputs: Vec<sync_core::Output>) -> Vec<sync_core::StorageWrite> {
    outputs
        .into_iter()
        .filter_map(|o| match o {
            sync_core::Output::Write(w) => Some(w),
            _ => None,
        })
        .collect()
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], RunError> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|e| RunError::Random(e.to_string()))?;
    Ok(bytes)
}
