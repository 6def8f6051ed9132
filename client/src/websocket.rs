//! A Rust client driver: a client-side [`Repo`] over one tokio-tungstenite
//! websocket to any automerge-repo relay (protocol "1"), for tests and
//! benchmarks.
//!
//! One task owns the `Repo` and the socket, like the relay's hub; a
//! [`Client`] talks to it over a channel. Storage is an in-memory map
//! ([`MemoryStore`]) that [`Client::close`] hands back, so that a client can
//! reconnect with the same storage id and sync states (what a phone does).
//! Every frame is counted ([`Traffic`]), and the heads the relay advertised
//! in its sync messages are recorded ([`Client::relay_heads`]): a relay
//! advertises only what it has stored.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use sync_core::automerge::transaction::Transaction;
use sync_core::automerge::{ActorId, Automerge, AutomergeError, ChangeHash};
use sync_core::{ConnId, Direction, DocumentId, Input, Message, Output, PeerId, Repo, StorageKey, UnixMillis};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The one connection of a client.
const CONN: ConnId = ConnId(1);

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The websocket could not be opened.
    #[error("cannot connect: {0}")]
    Connect(#[from] tokio_tungstenite::tungstenite::Error),
    /// The client's task has stopped.
    #[error("the client task has stopped")]
    Stopped,
    /// A condition did not hold in time.
    #[error("timed out after {0:?} waiting for: {1}")]
    Timeout(Duration, &'static str),
    /// The repo refused a local change.
    #[error(transparent)]
    Change(#[from] sync_core::ChangeError),
    /// An agenda edit was refused; nothing was written.
    #[error(transparent)]
    Apply(#[from] sync_core::ApplyError),
    /// The repo could not start from the given store.
    #[error(transparent)]
    Start(#[from] sync_core::StartError),
    /// An id given is invalid.
    #[error(transparent)]
    Id(#[from] sync_core::IdError),
    /// The OS random source failed.
    #[error("no randomness from the OS: {0}")]
    Random(String),
}

/// How long [`Client::connect`] waits for the websocket to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The client's storage: what a browser keeps in IndexedDB.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    entries: BTreeMap<StorageKey, Vec<u8>>,
}

impl MemoryStore {
    fn apply(&mut self, write: sync_core::StorageWrite) {
        for key in write.delete {
            self.entries.remove(&key);
        }
        self.entries.extend(write.put);
    }

    fn load(&self, doc: &DocumentId) -> Vec<(StorageKey, Vec<u8>)> {
        let prefix = StorageKey::document_prefix(doc);
        self.entries.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Keeps only the documents' chunks: forgets every sync state (and its
    /// time) and the storage id, as a client that has the documents but
    /// never synced them would (the relay then has no sync state for its
    /// new storage id either).
    pub fn forget_sync_states(&mut self) {
        self.entries.retain(|key, _| key.as_chunk().is_some());
    }

    /// Stores an entry, as a driver's write would.
    pub fn put(&mut self, key: StorageKey, bytes: Vec<u8>) {
        self.entries.insert(key, bytes);
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&StorageKey, &[u8])> {
        self.entries.iter().map(|(k, v)| (k, v.as_slice()))
    }

    /// Number of entries stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// How to connect.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Peer id; default `essaim-client-<random>`.
    pub peer_id: Option<String>,
    /// Storage from a previous [`Client::close`]; default empty (a new
    /// storage id is minted).
    pub store: Option<MemoryStore>,
    /// Documents to open as soon as connected (they are loaded from the
    /// store and announced to the relay).
    pub open: Vec<DocumentId>,
}

/// Bytes and frames in each direction, counted on the websocket payloads.
#[derive(Debug, Default)]
pub struct Traffic {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
}

/// A reading of [`Traffic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrafficSnapshot {
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// Binary frames received.
    pub messages_in: u64,
    /// Binary frames sent.
    pub messages_out: u64,
}

impl TrafficSnapshot {
    /// Bytes in both directions.
    pub fn bytes(&self) -> u64 {
        self.bytes_in + self.bytes_out
    }
}

/// What the client task observed, besides the repo.
#[derive(Debug, Default)]
pub struct Observed {
    /// Documents the relay said it does not have.
    pub unavailable: HashSet<DocumentId>,
    /// Per document, the heads of the relay's latest sync message.
    pub relay_heads: HashMap<DocumentId, Vec<ChangeHash>>,
    /// The relay's peer id, once the handshake completed.
    pub relay_peer: Option<PeerId>,
    /// `error` messages received.
    pub errors: Vec<String>,
    /// Whether the websocket is still open.
    pub connected: bool,
}

/// A view of the client for queries: its repo and what it observed.
pub struct View<'a> {
    /// The client's repo.
    pub repo: &'a Repo,
    /// What it observed on the wire.
    pub observed: &'a Observed,
}

type Query = Box<dyn FnOnce(&View<'_>) + Send>;
type ChangeFn = Box<dyn FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError> + Send>;

enum Command {
    Create {
        reply: oneshot::Sender<Result<DocumentId, ClientError>>,
    },
    Change {
        doc: DocumentId,
        f: ChangeFn,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Apply {
        doc: DocumentId,
        edit: Box<sync_core::agenda::Edit>,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    CreerFiche {
        territoire: DocumentId,
        nom: Option<String>,
        contenu: Box<sync_core::agenda::ContenuFiche>,
        reply: oneshot::Sender<Result<DocumentId, ClientError>>,
    },
    AppliquerFiche {
        fiche: DocumentId,
        nom: Option<String>,
        edit: Box<sync_core::agenda::EditFiche>,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Open {
        doc: DocumentId,
    },
    Query(Query),
    Close,
}

/// A connected client. Dropping it stops its task.
pub struct Client {
    commands: mpsc::Sender<Command>,
    version: watch::Receiver<u64>,
    traffic: Arc<Traffic>,
    task: JoinHandle<MemoryStore>,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl Client {
    /// Connects to `url` (say `ws://127.0.0.1:3030/sync`) and joins; gives up
    /// after [`CONNECT_TIMEOUT`] if the websocket does not open.
    pub async fn connect(url: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let config = WebSocketConfig::default().max_message_size(Some(64 << 20)).max_frame_size(Some(64 << 20));
        let connecting = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
        let (socket, _) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| ClientError::Timeout(CONNECT_TIMEOUT, "the websocket to open"))??;
        let store = options.store.unwrap_or_default();
        let peer = match options.peer_id {
            Some(peer) => peer,
            None => format!("essaim-client-{}", hex(&random::<8>()?)),
        };
        let stored = store.entries.get(&StorageKey::storage_id()).cloned();
        let actor = ActorId::from(&random::<16>()?[..]);
        let auteur = actor.to_hex_string();
        let config = sync_core::Config::new(peer.parse()?, actor, hex(&random::<8>()?));
        let (repo, outputs) = Repo::start(config, stored.as_deref(), random::<16>()?)?;
        let (commands, inbox) = mpsc::channel(64);
        let (bump, version) = watch::channel(0);
        let traffic = Arc::new(Traffic::default());
        let driver = Driver {
            repo,
            auteur,
            store,
            socket: Some(socket),
            observed: Observed { connected: true, ..Observed::default() },
            traffic: traffic.clone(),
            inputs: Vec::new(),
            bump,
        };
        let task = tokio::spawn(driver.run(outputs, options.open, inbox));
        Ok(Client { commands, version, traffic, task })
    }

    /// Creates a document (open locally, announced to the relay).
    pub async fn create(&self) -> Result<DocumentId, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Create { reply }).await?;
        answer.await.map_err(|_| ClientError::Stopped)?
    }

    /// Changes a loaded document in one Automerge transaction.
    pub async fn change(
        &self,
        doc: &DocumentId,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError> + Send + 'static,
    ) -> Result<(), ClientError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Change { doc: doc.clone(), f: Box::new(f), reply }).await?;
        answer.await.map_err(|_| ClientError::Stopped)?
    }

    /// Applies an agenda edit to a loaded territory, as this client's actor.
    pub async fn apply(&self, doc: &DocumentId, edit: sync_core::agenda::Edit) -> Result<(), ClientError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Apply { doc: doc.clone(), edit: Box::new(edit), reply }).await?;
        answer.await.map_err(|_| ClientError::Stopped)?
    }

    /// Creates an experience sheet listed by the loaded territory
    /// `territoire` (`Repo::creer_fiche`), as this client's actor named
    /// `nom`.
    pub async fn creer_fiche(
        &self,
        territoire: &DocumentId,
        nom: Option<&str>,
        contenu: sync_core::agenda::ContenuFiche,
    ) -> Result<DocumentId, ClientError> {
        let (reply, answer) = oneshot::channel();
        let (territoire, nom, contenu) = (territoire.clone(), nom.map(str::to_owned), Box::new(contenu));
        self.send(Command::CreerFiche { territoire, nom, contenu, reply }).await?;
        answer.await.map_err(|_| ClientError::Stopped)?
    }

    /// Applies a sheet edit to the loaded sheet `fiche`
    /// (`Repo::appliquer_fiche`), as this client's actor named `nom`.
    pub async fn appliquer_fiche(
        &self,
        fiche: &DocumentId,
        nom: Option<&str>,
        edit: sync_core::agenda::EditFiche,
    ) -> Result<(), ClientError> {
        let (reply, answer) = oneshot::channel();
        let (fiche, nom, edit) = (fiche.clone(), nom.map(str::to_owned), Box::new(edit));
        self.send(Command::AppliquerFiche { fiche, nom, edit, reply }).await?;
        answer.await.map_err(|_| ClientError::Stopped)?
    }

    /// Asks for a document: loaded from the store, requested from the relay.
    pub async fn open(&self, doc: &DocumentId) -> Result<(), ClientError> {
        self.send(Command::Open { doc: doc.clone() }).await
    }

    /// Runs `f` on the client's state.
    pub async fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&View<'_>) -> R + Send + 'static,
    ) -> Result<R, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Query(Box::new(move |view| {
            let _ = reply.send(f(view));
        })))
        .await?;
        answer.await.map_err(|_| ClientError::Stopped)
    }

    /// Runs `f` on a loaded document; `None` if it is not loaded.
    pub async fn read<R: Send + 'static>(
        &self,
        doc: &DocumentId,
        f: impl FnOnce(&Automerge) -> R + Send + 'static,
    ) -> Result<Option<R>, ClientError> {
        let doc = doc.clone();
        self.query(move |view| view.repo.document(&doc).map(f)).await
    }

    /// The document's heads (empty if not loaded).
    pub async fn heads(&self, doc: &DocumentId) -> Result<Vec<ChangeHash>, ClientError> {
        Ok(self.read(doc, Automerge::get_heads).await?.unwrap_or_default())
    }

    /// The heads of the relay's latest sync message for the document.
    pub async fn relay_heads(&self, doc: &DocumentId) -> Result<Vec<ChangeHash>, ClientError> {
        let doc = doc.clone();
        self.query(move |view| view.observed.relay_heads.get(&doc).cloned().unwrap_or_default()).await
    }

    /// Waits until `condition` holds on the client's state, re-checking
    /// after every event the client task handles, for at most `timeout`.
    pub async fn wait_for<R: Send + 'static>(
        &self,
        what: &'static str,
        timeout: Duration,
        condition: impl Fn(&View<'_>) -> Option<R> + Send + Sync + 'static,
    ) -> Result<R, ClientError> {
        let condition = Arc::new(condition);
        let mut version = self.version.clone();
        let give_up = tokio::time::Instant::now() + timeout;
        loop {
            version.borrow_and_update();
            let check = condition.clone();
            if let Some(found) = self.query(move |view| check(view)).await? {
                return Ok(found);
            }
            match tokio::time::timeout_at(give_up, version.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(ClientError::Stopped),
                Err(_) => return Err(ClientError::Timeout(timeout, what)),
            }
        }
    }

    /// Waits until the document is loaded and `condition` holds on it.
    pub async fn wait_until(
        &self,
        doc: &DocumentId,
        timeout: Duration,
        condition: impl Fn(&Automerge) -> bool + Send + Sync + 'static,
    ) -> Result<(), ClientError> {
        let doc = doc.clone();
        self.wait_for("a document condition", timeout, move |view| {
            view.repo.document(&doc).filter(|am| condition(am)).map(|_| ())
        })
        .await
    }

    /// Waits until the handshake with the relay completed.
    pub async fn wait_joined(&self, timeout: Duration) -> Result<PeerId, ClientError> {
        self.wait_for("the handshake", timeout, |view| view.observed.relay_peer.clone()).await
    }

    /// Waits until the relay said it does not have the document.
    pub async fn wait_unavailable(&self, doc: &DocumentId, timeout: Duration) -> Result<(), ClientError> {
        let doc = doc.clone();
        self.wait_for("doc-unavailable", timeout, move |view| view.observed.unavailable.contains(&doc).then_some(()))
            .await
    }

    /// Waits until the relay advertised heads that include every given
    /// change (so it has stored them).
    pub async fn wait_relay_has(
        &self,
        doc: &DocumentId,
        heads: Vec<ChangeHash>,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let doc = doc.clone();
        self.wait_for("the relay's heads", timeout, move |view| {
            let relay = view.observed.relay_heads.get(&doc)?;
            let am = view.repo.document(&doc)?;
            // The relay has a change if it is one of its heads or an
            // ancestor of one of them.
            let covered =
                heads.iter().all(|h| relay.contains(h) || am.get_changes(relay).iter().all(|c| c.hash() != *h));
            covered.then_some(())
        })
        .await
    }

    /// Bytes and messages so far.
    pub fn traffic(&self) -> TrafficSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TrafficSnapshot {
            bytes_in: get(&self.traffic.bytes_in),
            bytes_out: get(&self.traffic.bytes_out),
            messages_in: get(&self.traffic.messages_in),
            messages_out: get(&self.traffic.messages_out),
        }
    }

    /// Closes the websocket and returns the client's storage, to reconnect
    /// with later.
    pub async fn close(self) -> Result<MemoryStore, ClientError> {
        let _ = self.commands.send(Command::Close).await;
        drop(self.commands);
        self.task.await.map_err(|_| ClientError::Stopped)
    }

    async fn send(&self, command: Command) -> Result<(), ClientError> {
        self.commands.send(command).await.map_err(|_| ClientError::Stopped)
    }
}

/// The task that owns the client's repo and socket.
struct Driver {
    repo: Repo,
    /// Hex actor id: the `auteur` of agenda edits.
    auteur: String,
    store: MemoryStore,
    /// `None` once the socket closed: the task still answers queries.
    socket: Option<Socket>,
    observed: Observed,
    traffic: Arc<Traffic>,
    /// Inputs produced by carrying out outputs (loads answered at once).
    inputs: Vec<Input>,
    bump: watch::Sender<u64>,
}

impl Driver {
    async fn run(
        mut self,
        start: Vec<Output>,
        open: Vec<DocumentId>,
        mut commands: mpsc::Receiver<Command>,
    ) -> MemoryStore {
        self.carry_out(start).await;
        self.feed(Input::Connected { conn: CONN, direction: Direction::Outbound, expected_peer: None }).await;
        for doc in open {
            self.feed(Input::Open { doc }).await;
        }
        loop {
            let deadline = self.repo.next_deadline().map(|d| Duration::from_millis(d.0.saturating_sub(now().0)));
            tokio::select! {
                frame = next_frame(&mut self.socket) => self.on_frame(frame).await,
                command = commands.recv() => match command {
                    Some(Command::Close) | None => break,
                    // A read changes nothing, so it wakes no waiter: waking
                    // them would make `wait_for` re-query forever and never
                    // reach its timeout.
                    Some(Command::Query(f)) => {
                        f(&View { repo: &self.repo, observed: &self.observed });
                        continue;
                    }
                    Some(command) => self.on_command(command).await,
                },
                () = sleep(deadline) => self.feed(Input::Tick).await,
            }
            self.bump.send_modify(|v| *v += 1);
        }
        if let Some(mut socket) = self.socket.take() {
            let _ = socket.close(None).await;
        }
        self.store
    }

    async fn on_frame(&mut self, frame: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>) {
        match frame {
            Some(Ok(WsMessage::Binary(bytes))) => {
                self.traffic.messages_in.fetch_add(1, Ordering::Relaxed);
                self.traffic.bytes_in.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                self.observe(&bytes);
                self.feed(Input::Received { conn: CONN, bytes: bytes.to_vec() }).await;
            }
            Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => {
                self.socket = None;
                self.observed.connected = false;
                self.feed(Input::Disconnected { conn: CONN }).await;
            }
            Some(Ok(_)) => {}
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Create { reply } => {
                let created = match random::<16>() {
                    Ok(id) => self.repo.create_document(now(), &id).map_err(ClientError::from),
                    Err(e) => Err(e),
                };
                let answer = match created {
                    Ok((doc, outputs)) => {
                        self.carry_out(outputs).await;
                        Ok(doc)
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(answer);
            }
            Command::Change { doc, f, reply } => {
                let answer = match self.repo.change_document(now(), &doc, f) {
                    Ok(outputs) => {
                        self.carry_out(outputs).await;
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                };
                let _ = reply.send(answer);
            }
            Command::Apply { doc, edit, reply } => {
                let answer = match self.repo.apply(now(), &doc, &self.auteur, *edit) {
                    Ok(outputs) => {
                        self.carry_out(outputs).await;
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                };
                let _ = reply.send(answer);
            }
            Command::CreerFiche { territoire, nom, contenu, reply } => {
                let created = match random::<16>() {
                    Ok(id) => self
                        .repo
                        .creer_fiche(now(), &id, &territoire, &self.auteur, nom.as_deref(), *contenu)
                        .map_err(ClientError::from),
                    Err(e) => Err(e),
                };
                let answer = match created {
                    Ok((doc, outputs)) => {
                        self.carry_out(outputs).await;
                        Ok(doc)
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(answer);
            }
            Command::AppliquerFiche { fiche, nom, edit, reply } => {
                let answer = match self.repo.appliquer_fiche(now(), &fiche, &self.auteur, nom.as_deref(), *edit) {
                    Ok(outputs) => {
                        self.carry_out(outputs).await;
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                };
                let _ = reply.send(answer);
            }
            Command::Open { doc } => self.feed(Input::Open { doc }).await,
            // Handled by the loop, which must not wake waiters for them.
            Command::Query(_) | Command::Close => {}
        }
    }

    /// Records what the relay says about itself and its documents.
    fn observe(&mut self, bytes: &[u8]) {
        match Message::decode(bytes) {
            Ok(Message::Peer { sender, .. }) => self.observed.relay_peer = Some(sender),
            Ok(Message::Sync(m) | Message::Request(m)) => {
                if let Ok(sync) = sync_core::automerge::sync::Message::decode(&m.data) {
                    self.observed.relay_heads.insert(m.document, sync.heads);
                }
            }
            Ok(Message::DocUnavailable { document, .. }) => {
                self.observed.unavailable.insert(document);
            }
            Ok(Message::Error { message, .. }) => self.observed.errors.push(message),
            _ => {}
        }
    }

    async fn feed(&mut self, input: Input) {
        self.inputs.push(input);
        while !self.inputs.is_empty() {
            let input = self.inputs.remove(0);
            let outputs = self.repo.handle(now(), input);
            self.carry_out(outputs).await;
        }
    }

    async fn carry_out(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send { bytes, .. } => {
                    let len = bytes.len() as u64;
                    let Some(socket) = self.socket.as_mut() else { continue };
                    if socket.send(WsMessage::Binary(bytes.into_vec().into())).await.is_ok() {
                        self.traffic.messages_out.fetch_add(1, Ordering::Relaxed);
                        self.traffic.bytes_out.fetch_add(len, Ordering::Relaxed);
                    }
                }
                Output::Close { .. } => {
                    if let Some(mut socket) = self.socket.take() {
                        let _ = socket.close(None).await;
                    }
                    self.observed.connected = false;
                }
                Output::Write(write) => self.store.apply(write),
                Output::Load { doc } => {
                    let entries = self.store.load(&doc);
                    self.inputs.push(Input::Loaded { doc, entries });
                }
                // Only with `offload_changes_above_ops`, which a client
                // does not set; run in turn if ever.
                Output::ApplyChanges(job) => self.inputs.push(Input::ChangesApplied(Box::new(job.run()))),
                Output::DocumentUnavailable { doc } => {
                    self.observed.unavailable.insert(doc);
                }
                Output::CheckAccess { conn, doc, .. } => {
                    self.inputs.push(Input::AccessDecided { conn, doc, access: sync_core::Access::ReadWrite })
                }
                Output::DocumentChanged { .. } | Output::Ephemeral { .. } => {}
            }
        }
    }
}

async fn next_frame(socket: &mut Option<Socket>) -> Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>> {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep(after: Option<Duration>) {
    match after {
        Some(after) => tokio::time::sleep(after).await,
        None => std::future::pending().await,
    }
}

fn random<const N: usize>() -> Result<[u8; N], ClientError> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|e| ClientError::Random(e.to_string()))?;
    Ok(bytes)
}

/// The wall clock, the client repo's one time source.
fn now() -> UnixMillis {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    UnixMillis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
