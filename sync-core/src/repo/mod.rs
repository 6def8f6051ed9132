//! The repo: automerge-repo's protocol as one deterministic state machine.
//!
//! A [`Repo`] owns the documents in memory and, for every connection, the
//! handshake state and one Automerge sync state per document. The driver
//! feeds it [`Input`]s with the current time and carries out the
//! [`Output`]s it returns, in order. The same code runs as the relay (it
//! answers `join`, never announces documents, and relays changes between all
//! peers of a document) and as a client (it sends `join` and announces the
//! documents opened locally).
//!
//! What it decides: handshake and version negotiation, which peer may see
//! which document (as told by the driver), `request` versus `sync`, when to
//! say `doc-unavailable`, what to persist and when to compact, ephemeral
//! forwarding and deduplication, unloading idle documents. What it does not
//! do: any IO, reading a clock, drawing randomness, or knowing what the
//! documents contain (the domain side, `agenda/`, builds on the public
//! methods here; nothing here names it).
//!
//! This file holds the state, the entry points (`handle`, `handle_batch`,
//! the local changes, the timer) and the dispatch to the rooms:
//! `connection.rs` (handshake, framing, closing), `peer_doc.rs` (one
//! (connection, document) pair: access, its sync state, generating and
//! receiving sync messages), `document.rs` (loading, opening, persisting,
//! unloading a document), `ephemeral.rs` (presence relaying), `timers.rs`
//! (the deadlines), `config.rs` and `events.rs` (the types a driver uses).

mod config;
mod connection;
mod document;
mod ephemeral;
mod events;
mod peer_doc;
mod timers;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use automerge::sync;
use automerge::transaction::{CommitOptions, Transaction};
use automerge::{Automerge, AutomergeError, ChangeHash};

pub use config::{
    AccessPolicy, Config, DEFAULT_HOLD_FOR_ANSWER_MS, DEFAULT_MAX_DOCUMENT_OPS, DEFAULT_MAX_WAITING_CHANGE_BYTES,
    DEFAULT_OFFLOAD_CHANGES_ABOVE_OPS,
};
pub use events::{CloseReason, Input, Output};

use crate::ids::{DocumentId, IdError, PeerId, StorageId};
use crate::storage::{OnDisk, StorageKey, StorageWrite};
use connection::Conn;
use document::{Doc, DocPhase, ReadyDoc};
use peer_doc::FanOut;
pub use peer_doc::SyncMessageCounts;
use timers::Timers;

/// Milliseconds since the Unix epoch, as read by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    fn plus(self, ms: u64) -> UnixMillis {
        UnixMillis(self.0.saturating_add(ms))
    }
}

/// A connection, numbered by the driver. Never reused while open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// Who opened the connection, which decides who sends `join`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We dialled: we send `join` and wait for `peer` (a client).
    Outbound,
    /// They dialled: we wait for `join` and answer `peer` (the relay).
    Inbound,
}

/// What a peer may do with a document, as decided by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Answered `doc-unavailable`; the document's existence is not disclosed.
    Denied,
    /// Receives changes; its own changes are never applied (Automerge's
    /// read-only sync state).
    ReadOnly,
    /// Full sync both ways.
    ReadWrite,
}

/// Why a local change could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The document is not loaded (open it and wait for it).
    #[error("document {0} is not loaded")]
    NotLoaded(DocumentId),
    /// A peer's changes to the document are being applied
    /// ([`Output::ApplyChanges`]); try again after.
    #[error("document {0} is applying a peer's changes")]
    Busy(DocumentId),
    /// A document with this id already exists.
    #[error("document {0} already exists")]
    AlreadyExists(DocumentId),
    /// The id bytes given for a new document are invalid.
    #[error("invalid document id: {0}")]
    BadId(#[from] IdError),
    /// Automerge refused the change; nothing was committed.
    #[error(transparent)]
    Automerge(#[from] AutomergeError),
}

/// Why a repo could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The stored `storage-adapter-id` is not a valid storage id.
    #[error("stored storage id is invalid; refusing to replace it: {0}")]
    CorruptStorageId(String),
}

/// The state machine. See the module documentation.
#[derive(Debug)]
pub struct Repo {
    config: Config,
    /// Our store's identity; `None` for an ephemeral repo.
    storage_id: Option<StorageId>,
    /// Open connections. A `BTreeMap` so that outputs come in a stable order.
    conns: BTreeMap<ConnId, Conn>,
    /// Which connection each handshaken peer is bound to (last join wins).
    peers: HashMap<PeerId, ConnId>,
    /// Documents in memory, loaded or loading.
    docs: BTreeMap<DocumentId, Doc>,
    /// Connections that touched each document, in memory or not, so relaying
    /// survives unloading.
    doc_conns: HashMap<DocumentId, BTreeSet<ConnId>>,
    /// Count of our ephemeral broadcasts, increasing per session.
    ephemeral_count: u64,
    /// Highest ephemeral count seen per (document, author, session).
    ephemeral_seen: HashMap<(DocumentId, PeerId, String), u64>,
    /// During [`Repo::handle_batch`]: the (connection, document) pairs to
    /// sync once the batch ends, in the order they were first due.
    deferred: Option<Vec<(ConnId, DocumentId)>>,
    /// While peers are synced with no document changing: the messages
    /// generated so far, shared with peers in the same sync state.
    fan_out: Option<FanOut>,
    /// Sync messages generated and shared since the repo started.
    sync_message_counts: SyncMessageCounts,
    /// The time of the input being handled, as the driver passed it.
    clock: UnixMillis,
    /// The id of the last [`ChangesJob`].
    last_job: u64,
    /// Handshake timeouts and idle unloads, earliest first.
    timers: Timers,
}

impl Repo {
    /// Starts a repo. `stored_storage_id` is the value stored under
    /// [`StorageKey::storage_id`], if any; `random` is 16 random bytes from
    /// the driver, used to mint a storage id the first time (the returned
    /// outputs then hold the write that keeps it stable across restarts).
    pub fn start(
        config: Config,
        stored_storage_id: Option<&[u8]>,
        random: [u8; 16],
    ) -> Result<(Repo, Vec<Output>), StartError> {
        let mut out = Vec::new();
        let storage_id = match (config.persistent, stored_storage_id) {
            (false, _) => None,
            (true, Some(bytes)) => {
                let text = std::str::from_utf8(bytes).map_err(|e| StartError::CorruptStorageId(e.to_string()))?;
                Some(text.parse().map_err(|e: IdError| StartError::CorruptStorageId(e.to_string()))?)
            }
            (true, None) => {
                let id = StorageId::from_random(random);
                out.push(Output::Write(StorageWrite {
                    put: vec![(StorageKey::storage_id(), id.as_str().as_bytes().to_vec())],
                    delete: Vec::new(),
                }));
                Some(id)
            }
        };
        let repo = Repo {
            config,
            storage_id,
            conns: BTreeMap::new(),
            peers: HashMap::new(),
            docs: BTreeMap::new(),
            doc_conns: HashMap::new(),
            ephemeral_count: 0,
            ephemeral_seen: HashMap::new(),
            deferred: None,
            fan_out: None,
            sync_message_counts: SyncMessageCounts::default(),
            clock: UnixMillis::default(),
            last_job: 0,
            timers: Timers::default(),
        };
        Ok((repo, out))
    }

    /// Our peer id.
    pub fn peer_id(&self) -> &PeerId {
        &self.config.peer_id
    }

    /// Our store's identity, stable across restarts; `None` if ephemeral.
    pub fn storage_id(&self) -> Option<&StorageId> {
        self.storage_id.as_ref()
    }

    /// A loaded document, for reading.
    pub fn document(&self, doc: &DocumentId) -> Option<&Automerge> {
        match &self.docs.get(doc)?.phase {
            DocPhase::Ready(ready) => Some(&ready.am),
            DocPhase::Loading(_) => None,
        }
    }

    /// How many changes of the document no peer is known to have: those
    /// that are not ancestors of the heads shared with some peer, live or
    /// remembered from a persisted sync state. On a client that syncs only
    /// with its relay, these are the local edits the relay has not
    /// acknowledged yet. `None` if the document is not loaded.
    pub fn unacknowledged_changes(&self, doc: &DocumentId) -> Option<usize> {
        let Some(DocPhase::Ready(ready)) = self.docs.get(doc).map(|d| &d.phase) else { return None };
        let live = self.conns.values().filter_map(|c| c.docs.get(doc)?.sync.as_ref()).map(|s| s.shared_heads.clone());
        let remembered =
            ready.sync_states.values().filter_map(|s| sync::State::decode(&s.bytes).ok()).map(|s| s.shared_heads);
        let mut shared: Vec<ChangeHash> = live.chain(remembered).flatten().collect();
        shared.sort_unstable();
        shared.dedup();
        shared.retain(|h| automerge::ReadDoc::get_change_by_hash(&ready.am, h).is_some());
        Some(ready.am.get_changes(&shared).len())
    }

    /// Ids of the documents in memory (loaded or loading).
    pub fn documents_in_memory(&self) -> impl Iterator<Item = &DocumentId> {
        self.docs.keys()
    }

    /// Whether the document is in memory (loaded or loading).
    pub fn holds(&self, doc: &DocumentId) -> bool {
        self.docs.contains_key(doc)
    }

    /// Sync messages generated with Automerge, and shared between peers in
    /// the same sync state, since the repo started.
    pub fn sync_message_counts(&self) -> SyncMessageCounts {
        self.sync_message_counts
    }

    /// (Connection, document) pairs whose next message waits for the
    /// peer's answer to the changes it was last sent
    /// ([`Config::hold_for_answer_ms`]).
    pub fn held_messages(&self) -> usize {
        self.timers.held_messages()
    }

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// When the driver must send [`Input::Tick`] next, if ever.
    pub fn next_deadline(&self) -> Option<UnixMillis> {
        self.timers.next()
    }

    /// Feeds one event in; returns what to do, in order. Never fails and
    /// never panics on peer input: bad input closes that connection.
    pub fn handle(&mut self, now: UnixMillis, input: Input) -> Vec<Output> {
        self.clock = self.clock.max(now);
        self.fan_out = None;
        let mut out = Vec::new();
        self.dispatch(now, input, &mut out);
        #[cfg(test)]
        self.check_timers();
        out
    }

    /// Feeds several events in, as [`Repo::handle`] would one after the
    /// other, except that each (peer, document) pair gets at most one sync
    /// message, generated once the last event is handled (or before that
    /// peer's next message is read), carrying everything it lacks by then. A relay fed a burst (one writer's
    /// changes, many readers' acknowledgements) generates one message per
    /// reader instead of one per reader and change; writes still come
    /// before any message that advertises what they hold.
    pub fn handle_batch(&mut self, now: UnixMillis, inputs: Vec<Input>) -> Vec<Output> {
        self.clock = self.clock.max(now);
        let mut out = Vec::new();
        self.fan_out = None;
        self.deferred = Some(Vec::new());
        for input in inputs {
            if let Input::Received { conn, .. } = &input {
                self.answer_before_next(*conn, &mut out);
            }
            self.dispatch(now, input, &mut out);
        }
        let owed = self.deferred.take().unwrap_or_default();
        self.with_fan_out(|repo| {
            for (conn, doc) in owed {
                repo.sync_peer(conn, &doc, &mut out);
            }
        });
        #[cfg(test)]
        self.check_timers();
        out
    }

    /// In a batch, a peer's next message is read only once what it is owed
    /// so far has been generated: Automerge takes a message with no changes
    /// at our heads as proof the peer is in sync and would then say nothing,
    /// so a writer whose acknowledgement of an earlier message shares a
    /// batch with its last change would never hear that the relay has it.
    fn answer_before_next(&mut self, conn: ConnId, out: &mut Vec<Output>) {
        let Some(deferred) = self.deferred.as_mut() else { return };
        let owed: Vec<DocumentId> = deferred.iter().filter(|(c, _)| *c == conn).map(|(_, d)| d.clone()).collect();
        if owed.is_empty() {
            return;
        }
        deferred.retain(|(c, _)| *c != conn);
        let saved = self.deferred.take();
        for doc in owed {
            self.sync_peer(conn, &doc, out);
        }
        self.deferred = saved;
    }

    fn dispatch(&mut self, now: UnixMillis, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Connected { conn, direction, expected_peer } => {
                self.on_connected(now, conn, direction, expected_peer, out)
            }
            Input::Principal { conn, credentials } => {
                if let Some(state) = self.conns.get_mut(&conn) {
                    state.credentials = credentials;
                }
            }
            Input::Received { conn, bytes } => self.on_received(now, conn, &bytes, out),
            Input::Disconnected { conn } => self.forget_conn(conn, out),
            Input::Loaded { doc, entries } => self.on_loaded(now, doc, entries, out),
            Input::Open { doc } => self.on_open(now, doc, out),
            Input::Load { doc } => self.on_load(now, doc, out),
            Input::AccessDecided { conn, doc, access } => self.on_access_decided(now, conn, doc, access, out),
            Input::Broadcast { doc, data } => self.on_broadcast(doc, data, out),
            Input::CommittedElsewhere { doc, chunks } => self.on_committed_elsewhere(now, doc, chunks, out),
            Input::Tick => self.on_tick(now, out),
            Input::ChangesApplied(done) => self.on_changes_applied(now, *done, out),
        }
    }

    /// Creates a new document from random id bytes passed in by the driver,
    /// with one empty change so that it has heads and can be synced. The
    /// document is open locally.
    pub fn create_document(
        &mut self,
        now: UnixMillis,
        id_bytes: &[u8],
    ) -> Result<(DocumentId, Vec<Output>), ChangeError> {
        self.create_document_with(now, id_bytes, |am| {
            am.empty_commit(commit_options(now));
            Ok(())
        })
    }

    /// Creates a new document, open locally, whose first change `first`
    /// makes on the empty document (with our actor id): it must commit one,
    /// so that the document has heads and can be synced. If `first` fails
    /// nothing is created. How the domain side creates its documents in
    /// one change (the territories of `agenda/`).
    pub(crate) fn create_document_with<E: From<ChangeError>>(
        &mut self,
        now: UnixMillis,
        id_bytes: &[u8],
        first: impl FnOnce(&mut Automerge) -> Result<(), E>,
    ) -> Result<(DocumentId, Vec<Output>), E> {
        let id = DocumentId::from_bytes(id_bytes).map_err(ChangeError::from)?;
        if self.docs.contains_key(&id) {
            return Err(ChangeError::AlreadyExists(id).into());
        }
        let mut am = Automerge::new().with_actor(self.config.actor.clone());
        first(&mut am)?;
        let ready = ReadyDoc::new(am, OnDisk::default(), HashMap::new());
        let doc =
            Doc { phase: DocPhase::Ready(Box::new(ready)), last_used: now, locally_open: true, elsewhere: Vec::new() };
        self.docs.insert(id.clone(), doc);
        let mut out = Vec::new();
        self.after_local_change(&id, &mut out);
        self.announce(now, &id, &mut out);
        #[cfg(test)]
        self.check_timers();
        Ok((id, out))
    }

    /// Makes a local change in one Automerge transaction, committed with
    /// `now` as its time. On error nothing is committed.
    pub fn change_document<F>(&mut self, now: UnixMillis, doc: &DocumentId, f: F) -> Result<Vec<Output>, ChangeError>
    where
        F: FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    {
        self.change_document_with(doc, |am| {
            am.transact_with(|_| commit_options(now), f).map_err(|failure| ChangeError::from(failure.error))?;
            Ok(())
        })
    }

    /// Lets `change` make local changes to a loaded document that no
    /// [`ChangesJob`] holds, then persists them and syncs every peer. On
    /// error `change` must have committed nothing (Automerge transactions
    /// roll back). How the domain side commits its changes with their own
    /// message (`modifier` in `agenda/`).
    pub(crate) fn change_document_with<E: From<ChangeError>>(
        &mut self,
        doc: &DocumentId,
        change: impl FnOnce(&mut Automerge) -> Result<(), E>,
    ) -> Result<Vec<Output>, E> {
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(doc).map(|d| &mut d.phase) else {
            return Err(ChangeError::NotLoaded(doc.clone()).into());
        };
        if ready.busy.is_some() {
            return Err(ChangeError::Busy(doc.clone()).into());
        }
        change(&mut ready.am)?;
        let mut out = Vec::new();
        self.after_local_change(doc, &mut out);
        #[cfg(test)]
        self.check_timers();
        Ok(out)
    }

    fn after_local_change(&mut self, doc: &DocumentId, out: &mut Vec<Output>) {
        self.persist_document(doc, out);
        self.sync_all_peers(doc, None, out);
        out.push(Output::DocumentChanged { doc: doc.clone() });
    }
}

fn commit_options(now: UnixMillis) -> CommitOptions {
    // Automerge stores change times in seconds since the epoch.
    CommitOptions::default().with_time(i64::try_from(now.0 / 1000).unwrap_or(i64::MAX))
}
