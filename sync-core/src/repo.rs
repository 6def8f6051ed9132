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
//! documents contain.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use automerge::sync::{self, SyncDoc};
use automerge::transaction::{CommitOptions, Transaction};
use automerge::{ActorId, Automerge, AutomergeError, ChangeHash};

use crate::agenda;
use crate::changes_job::{Applied, ChangesApplied, ChangesJob, receive_changes_contained};
use crate::ids::{DocumentId, IdError, PeerId, StorageId};
use crate::limits;
use crate::storage::{self, OnDisk, StorageKey, StorageWrite};
use crate::wire::{DecodeError, EphemeralMessage, Message, PROTOCOL_VERSION, PeerMetadata, SyncMessage};

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

/// How access is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessPolicy {
    /// Every peer may read and write every document (the reference sync
    /// server's behaviour; a client towards its relay).
    AllowAll,
    /// The repo asks the driver with [`Output::CheckAccess`] the first time a
    /// peer touches a document, and waits for [`Input::AccessDecided`].
    AskDriver,
}

/// Default [`Config::max_document_ops`]. Operations are what a document
/// costs in memory and time; compressed bytes say little (4 KB of runs and
/// deflate held 4 million operations, 2 GiB and 11 s to load, issue #12).
/// The benchmarks' large territory (10,000 changes, years of a busy
/// territory) holds 186,000 operations. A peer that re-sends a whole
/// document (sync V2 does when more than a third of it is due) is counted on
/// top of what the relay holds, so documents up to half the limit still
/// sync that way. Automerge applies one message in one go: 490,000
/// operations take about 1.7 s (release build) and a peak of 300 MiB; the
/// relay does it off its loop ([`Config::offload_changes_above_ops`]), but
/// loading such a document back from storage is still on it (about 0.4 s).
/// Lower it on a small machine; raising it lengthens both in proportion.
pub const DEFAULT_MAX_DOCUMENT_OPS: u64 = 500_000;

/// What a driver that can run [`Output::ApplyChanges`] off its event loop
/// puts in [`Config::offload_changes_above_ops`]: Automerge applies about
/// 10,000 operations in 10 to 40 ms (release build), which the loop can
/// afford; larger messages (up to seconds at the document limit) go to a
/// [`ChangesJob`].
pub const DEFAULT_OFFLOAD_CHANGES_ABOVE_OPS: u64 = 10_000;

/// Default [`Config::max_waiting_change_bytes`]. Automerge queues a change
/// whose dependencies are missing, in memory and never stored, until they
/// arrive. An honest peer leaves changes waiting only when a Bloom filter
/// false positive (about 1%) made it withhold a dependency, and sends it in
/// the next round: 4 MiB is a catch-up of thousands of changes waiting.
pub const DEFAULT_MAX_WAITING_CHANGE_BYTES: u64 = 4 * 1024 * 1024;

/// Settings of a repo. Build with [`Config::new`], then adjust fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our peer id, sent in `join` and `peer`.
    pub peer_id: PeerId,
    /// Actor id of the changes made locally (random bytes from the driver).
    pub actor: ActorId,
    /// Session id of our ephemeral broadcasts (random, per start).
    pub session_id: String,
    /// Whether this repo has storage: a persistent repo has a storage id and
    /// emits [`Output::Write`]; an ephemeral one announces `isEphemeral`.
    pub persistent: bool,
    /// How access is decided.
    pub access: AccessPolicy,
    /// A connection that has not completed the handshake by then is closed.
    pub handshake_timeout_ms: u64,
    /// A document nobody touched for this long is unloaded from memory
    /// (unless it is open locally). Everything is persisted before.
    pub unload_idle_after_ms: u64,
    /// A connection touching more documents than this is closed: each one
    /// costs a load and a sync state.
    pub max_documents_per_connection: usize,
    /// Frames larger than this close the connection. Automerge sends a whole
    /// document as one message on first sync, so this bounds document size
    /// on the wire too.
    pub max_message_bytes: usize,
    /// A sync message whose changes would take a document's stored bytes
    /// (its chunks in storage) past this is refused: `error`, close, nothing
    /// applied. The changes a message carries are counted whole, even those
    /// already known, so a document near the limit stops growing a little
    /// early. Keep it well under `max_message_bytes`: a first sync sends the
    /// whole document as changes, which take more room than the saved form.
    pub max_document_bytes: usize,
    /// A sync message whose changes would take a document past this many
    /// operations (those it holds, those waiting for dependencies, and the
    /// message's new ones, counted from the columns before Automerge
    /// expands them) is refused: `error`, close, nothing applied. It also
    /// bounds what one message may expand to. Default
    /// [`DEFAULT_MAX_DOCUMENT_OPS`], which says why.
    pub max_document_ops: u64,
    /// Bytes of a peer's changes a document may hold in memory while their
    /// dependencies are missing; a message that would pass it is refused.
    /// Default [`DEFAULT_MAX_WAITING_CHANGE_BYTES`], which says why.
    pub max_waiting_change_bytes: u64,
    /// An ephemeral message (presence, cursors) whose `data` is larger than
    /// this closes the connection. 16 KiB: presence values are a few
    /// hundred bytes; every message is copied to every peer of the
    /// document, so this is what one message may cost per peer.
    pub max_ephemeral_bytes: usize,
    /// Ephemeral messages a connection that dialled us may send per second,
    /// on average; beyond, they are dropped (not forwarded). 20 a second
    /// keeps a cursor smooth; what one peer may make the relay copy is this
    /// times `max_ephemeral_bytes` times the document's peers.
    pub ephemeral_per_second: u32,
    /// Ephemeral messages such a connection may send at once, after a quiet
    /// spell (the token bucket's size): a burst of 50 covers a page opening
    /// several documents' presence at once.
    pub ephemeral_burst: u32,
    /// Sync states persisted per document, at most. Only peers that may
    /// write the document get one (a reader's is rebuilt on its next
    /// connection at the cost of one Bloom filter), and past this count
    /// the least recently used is deleted. 32 covers every device of a
    /// territory's organisers; each one costs a row read with every load.
    pub max_sync_states_per_document: usize,
    /// A persisted sync state not written for this long is deleted at the
    /// document's next load (30 days): a device away that long syncs once
    /// from scratch, which is cheap, and stores that never come back do not
    /// stay forever.
    pub sync_state_ttl_ms: u64,
    /// A peer's sync message with more operations than this is applied
    /// through a [`ChangesJob`] ([`Output::ApplyChanges`]), which the driver
    /// runs off its event loop, rather than in [`Repo::handle`]. `None`
    /// (the default): always in place, for drivers with one thread (the
    /// browser). The relay uses [`DEFAULT_OFFLOAD_CHANGES_ABOVE_OPS`].
    pub offload_changes_above_ops: Option<u64>,
}

impl Config {
    /// Defaults: persistent, allow all, 10 s handshake, unload after 60 s
    /// idle, 1,000 documents per connection, 64 MiB messages, 16 MiB and
    /// 500,000 operations per document, 4 MiB of changes waiting for
    /// their dependencies; ephemeral messages of 16 KiB, 20 a second with
    /// bursts of 50; 32 sync states per document, kept 30 days.
    pub fn new(peer_id: PeerId, actor: ActorId, session_id: String) -> Config {
        Config {
            peer_id,
            actor,
            session_id,
            persistent: true,
            access: AccessPolicy::AllowAll,
            handshake_timeout_ms: 10_000,
            unload_idle_after_ms: 60_000,
            max_documents_per_connection: 1000,
            max_message_bytes: 64 * 1024 * 1024,
            max_document_bytes: 16 * 1024 * 1024,
            max_document_ops: DEFAULT_MAX_DOCUMENT_OPS,
            max_waiting_change_bytes: DEFAULT_MAX_WAITING_CHANGE_BYTES,
            max_ephemeral_bytes: 16 * 1024,
            ephemeral_per_second: 20,
            ephemeral_burst: 50,
            max_sync_states_per_document: 32,
            sync_state_ttl_ms: 30 * 24 * 60 * 60 * 1000,
            offload_changes_above_ops: None,
        }
    }
}

/// Something that happened, fed to [`Repo::handle`].
#[derive(Debug, Clone)]
pub enum Input {
    /// A websocket opened.
    Connected {
        /// The driver's number for it.
        conn: ConnId,
        /// Who dialled.
        direction: Direction,
        /// The peer id the driver authenticated for this connection (from a
        /// token, say): a `join` with another id is refused, so nobody can
        /// knock a peer off by joining with its id. `None` in open mode.
        expected_peer: Option<PeerId>,
    },
    /// The credentials a connection entered with, as the driver checked
    /// them (the relay: its invitations' ids). Send it right after
    /// [`Input::Connected`], before any frame; a connection never told has
    /// none. A `join` may replace another connection of the same peer id
    /// only if it holds every credential that one holds: otherwise anyone
    /// could knock a peer off by joining with its id, which every peer of a
    /// document sees. Holding more is allowed, so a device that added a
    /// territory's invitation replaces its own older connection.
    Principal {
        /// The connection.
        conn: ConnId,
        /// Opaque credential ids, compared as a set.
        credentials: BTreeSet<String>,
    },
    /// A binary frame arrived.
    Received {
        /// On which connection.
        conn: ConnId,
        /// The frame's payload.
        bytes: Vec<u8>,
    },
    /// A connection closed (by the peer, the network or the driver).
    Disconnected {
        /// Which one.
        conn: ConnId,
    },
    /// The answer to [`Output::Load`]: every entry stored under the
    /// document's prefix (possibly none).
    Loaded {
        /// The document.
        doc: DocumentId,
        /// Its stored entries.
        entries: Vec<(StorageKey, Vec<u8>)>,
    },
    /// The local application wants this document: load it, announce it to
    /// every peer, and keep it in memory.
    Open {
        /// The document.
        doc: DocumentId,
    },
    /// The driver's decision on a peer's access to a document. Sent after
    /// [`Output::CheckAccess`], or at any time to change a decision
    /// (a revoked token, say).
    AccessDecided {
        /// The peer's connection.
        conn: ConnId,
        /// The document.
        doc: DocumentId,
        /// The decision.
        access: Access,
    },
    /// Broadcast an ephemeral value to every peer of a document.
    Broadcast {
        /// The document.
        doc: DocumentId,
        /// CBOR-encoded application value.
        data: Vec<u8>,
    },
    /// Time passed: call at [`Repo::next_deadline`].
    Tick,
    /// A [`ChangesJob`] ran ([`ChangesJob::run`]).
    ChangesApplied(Box<ChangesApplied>),
}

/// Something the driver must do, returned by [`Repo::handle`], in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send one binary frame.
    Send {
        /// To which connection.
        conn: ConnId,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// Close the connection; the repo has already forgotten it.
    Close {
        /// Which one.
        conn: ConnId,
        /// Why, for logs and the close frame.
        reason: CloseReason,
    },
    /// Read every entry under the document's prefix and answer with
    /// [`Input::Loaded`].
    Load {
        /// The document.
        doc: DocumentId,
    },
    /// Apply atomically, before carrying out any later output.
    Write(StorageWrite),
    /// The document's content changed (or became available locally).
    DocumentChanged {
        /// The document.
        doc: DocumentId,
    },
    /// A document open locally is not in storage and every peer said it does
    /// not have it (it may still arrive later).
    DocumentUnavailable {
        /// The document.
        doc: DocumentId,
    },
    /// Decide this peer's access to this document and answer with
    /// [`Input::AccessDecided`]. Its messages wait until then.
    CheckAccess {
        /// The peer's connection.
        conn: ConnId,
        /// The peer's id as it asserted it (bound to the connection).
        peer: PeerId,
        /// The document.
        doc: DocumentId,
    },
    /// Run this job ([`ChangesJob::run`], blocking: off the event loop)
    /// and answer with [`Input::ChangesApplied`]. Until then the
    /// document's messages wait and local changes to it are refused.
    ApplyChanges(Box<ChangesJob>),
    /// An ephemeral value for a document open locally.
    Ephemeral {
        /// The document.
        doc: DocumentId,
        /// The original author.
        sender: PeerId,
        /// CBOR-encoded application value.
        data: Vec<u8>,
    },
}

/// Why the repo closed a connection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CloseReason {
    /// A frame that is not a valid protocol message.
    #[error("malformed message: {0}")]
    Malformed(DecodeError),
    /// A frame larger than the configured maximum.
    #[error("message too large: {len} bytes, at most {max}")]
    TooLarge {
        /// Size received.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A sync message that would take a document past its size limit.
    #[error("document {doc} would grow to {would_be} bytes, at most {max}")]
    DocumentTooLarge {
        /// The document.
        doc: DocumentId,
        /// Its stored bytes plus the changes of the message.
        would_be: usize,
        /// The bound.
        max: usize,
    },
    /// A sync message that would take a document past its operation limit.
    #[error("document {doc} would grow to {would_be} operations, at most {max}")]
    DocumentTooManyOps {
        /// The document.
        doc: DocumentId,
        /// Its operations, those waiting, plus the message's new ones.
        would_be: u64,
        /// The bound.
        max: u64,
    },
    /// A sync message whose changes would leave too many bytes waiting for
    /// dependencies the peer withholds.
    #[error("document {doc} would hold {would_be} bytes of changes waiting for dependencies, at most {max}")]
    TooManyWaitingChanges {
        /// The document.
        doc: DocumentId,
        /// Bytes waiting, plus the message's changes that would wait.
        would_be: u64,
        /// The bound.
        max: u64,
    },
    /// An ephemeral message whose data is larger than the configured maximum.
    #[error("ephemeral message too large: {len} bytes of data, at most {max}")]
    EphemeralTooLarge {
        /// Size received.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A valid message that breaks the protocol (wrong phase, forged sender…).
    #[error("protocol violation: {0}")]
    ProtocolViolation(String),
    /// The peer speaks no version we speak.
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    /// An Automerge sync message that cannot be decoded or applied.
    #[error("invalid sync message: {0}")]
    BadSyncMessage(String),
    /// The same peer joined again on another connection; the last one wins.
    #[error("replaced by a newer connection of the same peer")]
    Replaced,
    /// The peer said `leave`.
    #[error("peer left")]
    PeerLeft,
    /// The peer sent `error`.
    #[error("peer reported an error: {0}")]
    PeerError(String),
    /// No handshake within the configured time.
    #[error("handshake timed out")]
    HandshakeTimeout,
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

/// Why an agenda edit was not applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// The document is not loaded (open it and wait for it).
    #[error("document {0} is not loaded")]
    NotLoaded(DocumentId),
    /// A peer's changes to the document are being applied
    /// ([`Output::ApplyChanges`]); try again after.
    #[error("document {0} is applying a peer's changes")]
    Busy(DocumentId),
    /// The edit is invalid; nothing was written.
    #[error(transparent)]
    Invalid(#[from] agenda::EditError),
    /// The document could not be created.
    #[error("cannot create the document: {0}")]
    Create(String),
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
    /// The time of the input being handled, as the driver passed it.
    clock: UnixMillis,
    /// The id of the last [`ChangesJob`].
    last_job: u64,
}

#[derive(Debug)]
struct Conn {
    /// Who dialled: on an outbound connection (to a relay), ephemeral
    /// messages arrive relayed, with their original author.
    direction: Direction,
    /// The peer id this connection must use, when the driver bound one.
    expected_peer: Option<PeerId>,
    /// The credentials it entered with ([`Input::Principal`]).
    credentials: BTreeSet<String>,
    /// Its allowance of ephemeral messages.
    ephemeral: Bucket,
    phase: ConnPhase,
    /// Handshake deadline; `None` once handshaken.
    deadline: Option<UnixMillis>,
    docs: BTreeMap<DocumentId, PeerDoc>,
}

#[derive(Debug)]
enum ConnPhase {
    AwaitingJoin,
    AwaitingPeer,
    Ready { peer: PeerId, metadata: PeerMetadata },
}

/// What we know of one (connection, document) pair.
#[derive(Debug)]
struct PeerDoc {
    access: AccessState,
    /// Created when the document is loaded, from the persisted state when the
    /// peer has a storage id.
    sync: Option<sync::State>,
    status: PeerStatus,
    /// Shared heads last written to storage, to write only when they move.
    persisted_heads: Vec<ChangeHash>,
    /// The peer requested a document we lack while another peer had it:
    /// it is owed an answer (`sync` once the changes arrive, or
    /// `doc-unavailable` if that peer leaves first).
    awaiting_answer: bool,
}

impl PeerDoc {
    /// A pair on first contact: nothing known, nothing shared yet.
    fn new(access: AccessState) -> PeerDoc {
        PeerDoc { access, sync: None, status: PeerStatus::Unknown, persisted_heads: Vec::new(), awaiting_answer: false }
    }
}

#[derive(Debug)]
enum AccessState {
    /// Waiting for the driver; the peer's messages wait, in order.
    Pending(Vec<DocEvent>),
    Decided(Access),
}

/// A document message from a peer, validated: what waits in the queues.
#[derive(Debug)]
enum DocEvent {
    /// `request` (`is_request`) or `sync`, its payload already decoded and
    /// its changes measured.
    Sync {
        is_request: bool,
        message: sync::Message,
        expansion: limits::Expansion,
    },
    Unavailable,
    Ephemeral(EphemeralMessage),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeerStatus {
    Unknown,
    Wants,
    Has,
    Unavailable,
}

#[derive(Debug)]
struct Doc {
    phase: DocPhase,
    last_used: UnixMillis,
    locally_open: bool,
}

impl Doc {
    /// Loaded and not waiting for a [`ChangesJob`]: it may be unloaded.
    fn is_idle_ready(&self) -> bool {
        matches!(&self.phase, DocPhase::Ready(ready) if ready.busy.is_none())
    }
}

#[derive(Debug)]
enum DocPhase {
    /// Waiting for [`Input::Loaded`]; messages wait, in arrival order.
    Loading(Vec<(ConnId, DocEvent)>),
    Ready(Box<ReadyDoc>),
}

#[derive(Debug)]
struct ReadyDoc {
    am: Automerge,
    on_disk: OnDisk,
    /// Persisted sync states by the remote store, for peers that reconnect.
    sync_states: HashMap<StorageId, StoredSyncState>,
    /// Peers' changes Automerge holds while their dependencies are missing
    /// (bytes, operations), as predicted from their dependencies and
    /// confirmed after each message: they are bounded per document.
    waiting: HashMap<ChangeHash, Waiting>,
    /// A peer's changes being applied by a [`ChangesJob`]: the document
    /// stays as it was until the job is back.
    busy: Option<Busy>,
}

/// A document whose [`ChangesJob`] is out.
#[derive(Debug)]
struct Busy {
    job: u64,
    /// The changes predicted to wait for dependencies, confirmed on return.
    waiting: Vec<(ChangeHash, Waiting)>,
    /// The document's messages that came meanwhile, in arrival order.
    queue: Vec<(ConnId, DocEvent)>,
}

/// A persisted sync state, as loaded or last written.
#[derive(Debug)]
struct StoredSyncState {
    /// Encoded by Automerge.
    bytes: Vec<u8>,
    /// When it was last written or taken up by a connection: the least
    /// recently used is evicted first.
    used: UnixMillis,
}

/// A token bucket, refilled with the driver's clock: what a connection may
/// still send of a kind of message. Counted in thousandths of a message so
/// that refilling stays exact in whole milliseconds.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    millis_of_messages: u64,
    at: UnixMillis,
    /// The last message was refused: the next refusals are not logged again.
    dropping: bool,
}

impl Bucket {
    fn full(now: UnixMillis, burst: u32) -> Bucket {
        Bucket { millis_of_messages: u64::from(burst) * 1000, at: now, dropping: false }
    }

    /// Refills for the time passed, then takes one message if there is one.
    fn take(&mut self, now: UnixMillis, per_second: u32, burst: u32) -> bool {
        let elapsed = now.0.saturating_sub(self.at.0);
        let refill = elapsed.saturating_mul(u64::from(per_second));
        self.millis_of_messages = self.millis_of_messages.saturating_add(refill).min(u64::from(burst) * 1000);
        self.at = self.at.max(now);
        let available = self.millis_of_messages >= 1000;
        if available {
            self.millis_of_messages -= 1000;
        }
        available
    }
}

/// A change waiting for its dependencies: what it holds in memory.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    bytes: u64,
    ops: u64,
}

impl ReadyDoc {
    fn new(am: Automerge, on_disk: OnDisk, sync_states: HashMap<StorageId, StoredSyncState>) -> ReadyDoc {
        ReadyDoc { am, on_disk, sync_states, waiting: HashMap::new(), busy: None }
    }

    /// After Automerge took a message: what really waits is the predicted
    /// changes, and earlier ones, that Automerge has not applied.
    fn confirm_waiting(&mut self, predicted: Vec<(ChangeHash, Waiting)>) {
        self.waiting.extend(predicted);
        let am = &self.am;
        self.waiting.retain(|hash, _| automerge::ReadDoc::get_change_by_hash(am, hash).is_none());
    }

    /// Bytes and operations of the changes waiting for dependencies.
    fn waiting_totals(&self) -> (u64, u64) {
        self.waiting.values().fold((0, 0), |(b, o), w| (b.saturating_add(w.bytes), o.saturating_add(w.ops)))
    }
}

/// Passes over a message's changes to find those whose dependencies arrive
/// in the same message. Automerge sends changes in causal order, so one
/// pass suffices; changes still unresolved after these count as waiting.
const DEPENDENCY_PASSES: usize = 4;

/// Largest frame accepted before the handshake completes.
const MAX_HANDSHAKE_BYTES: usize = 64 * 1024;

/// Messages that may wait for one access decision or one load, per
/// connection, before the connection is closed as abusive.
const MAX_QUEUED: usize = 1024;

/// Queues a connection's document message behind `what` (a load, a
/// [`ChangesJob`]); refused once that connection has [`MAX_QUEUED`] there.
fn queue_behind(
    queue: &mut Vec<(ConnId, DocEvent)>,
    conn: ConnId,
    event: DocEvent,
    what: &str,
) -> Result<(), CloseReason> {
    if queue.iter().filter(|(c, _)| *c == conn).count() >= MAX_QUEUED {
        return Err(CloseReason::ProtocolViolation(format!("too many messages waiting for {what}")));
    }
    queue.push((conn, event));
    Ok(())
}

/// Beyond this many (document, author, session) entries, the dedup table is
/// cleared: at worst one duplicate gets through, memory stays bounded.
const MAX_EPHEMERAL_SESSIONS: usize = 16 * 1024;

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
            clock: UnixMillis::default(),
            last_job: 0,
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

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// When the driver must send [`Input::Tick`] next, if ever.
    pub fn next_deadline(&self) -> Option<UnixMillis> {
        let handshakes = self.conns.values().filter_map(|c| c.deadline);
        let unloads = self
            .docs
            .values()
            .filter(|d| self.config.persistent && !d.locally_open && d.is_idle_ready())
            .map(|d| d.last_used.plus(self.config.unload_idle_after_ms));
        handshakes.chain(unloads).min()
    }

    /// Feeds one event in; returns what to do, in order. Never fails and
    /// never panics on peer input: bad input closes that connection.
    pub fn handle(&mut self, now: UnixMillis, input: Input) -> Vec<Output> {
        self.clock = self.clock.max(now);
        let mut out = Vec::new();
        self.dispatch(now, input, &mut out);
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
        self.deferred = Some(Vec::new());
        for input in inputs {
            if let Input::Received { conn, .. } = &input {
                self.answer_before_next(*conn, &mut out);
            }
            self.dispatch(now, input, &mut out);
        }
        for (conn, doc) in self.deferred.take().unwrap_or_default() {
            self.sync_peer(conn, &doc, &mut out);
        }
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
            Input::AccessDecided { conn, doc, access } => self.on_access_decided(now, conn, doc, access, out),
            Input::Broadcast { doc, data } => self.on_broadcast(doc, data, out),
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
        let id = DocumentId::from_bytes(id_bytes)?;
        if self.docs.contains_key(&id) {
            return Err(ChangeError::AlreadyExists(id));
        }
        let mut am = Automerge::new().with_actor(self.config.actor.clone());
        am.empty_commit(commit_options(now));
        let ready = ReadyDoc::new(am, OnDisk::default(), HashMap::new());
        let doc = Doc { phase: DocPhase::Ready(Box::new(ready)), last_used: now, locally_open: true };
        self.docs.insert(id.clone(), doc);
        let mut out = Vec::new();
        self.after_local_change(&id, &mut out);
        self.announce(now, &id, &mut out);
        Ok((id, out))
    }

    /// Makes a local change in one Automerge transaction, committed with
    /// `now` as its time. On error nothing is committed.
    pub fn change_document<F>(&mut self, now: UnixMillis, doc: &DocumentId, f: F) -> Result<Vec<Output>, ChangeError>
    where
        F: FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    {
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(doc).map(|d| &mut d.phase) else {
            return Err(ChangeError::NotLoaded(doc.clone()));
        };
        if ready.busy.is_some() {
            return Err(ChangeError::Busy(doc.clone()));
        }
        ready.am.transact_with(|_| commit_options(now), f).map_err(|failure| failure.error)?;
        let mut out = Vec::new();
        self.after_local_change(doc, &mut out);
        Ok(out)
    }

    /// Applies an agenda edit made by `auteur` (an actor id) in one
    /// Automerge change carrying the author and `now`. An invalid edit
    /// changes nothing and returns why.
    pub fn apply(
        &mut self,
        now: UnixMillis,
        doc: &DocumentId,
        auteur: &str,
        edit: agenda::Edit,
    ) -> Result<Vec<Output>, ApplyError> {
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(doc).map(|d| &mut d.phase) else {
            return Err(ApplyError::NotLoaded(doc.clone()));
        };
        if ready.busy.is_some() {
            return Err(ApplyError::Busy(doc.clone()));
        }
        agenda::modifier(&mut ready.am, i64::try_from(now.0).unwrap_or(i64::MAX), auteur, edit)?;
        let mut out = Vec::new();
        self.after_local_change(doc, &mut out);
        Ok(out)
    }

    /// Creates a territory document: like [`Repo::create_document`], with
    /// the agenda's containers in its first change, then the profile set by
    /// `auteur`.
    pub fn create_territory(
        &mut self,
        now: UnixMillis,
        id_bytes: &[u8],
        auteur: &str,
        profil: agenda::Profil,
    ) -> Result<(DocumentId, Vec<Output>), ApplyError> {
        let (id, mut out) = self.create_document(now, id_bytes).map_err(|e| ApplyError::Create(e.to_string()))?;
        out.extend(self.change_document(now, &id, agenda::initialiser).map_err(|e| ApplyError::Create(e.to_string()))?);
        let champs = match serde_json::to_value(&profil) {
            Ok(serde_json::Value::Object(champs)) => champs,
            _ => serde_json::Map::new(),
        };
        let champs = champs.into_iter().filter(|(k, v)| !v.is_null() && !agenda::SUIVI.contains(&k.as_str())).collect();
        out.extend(self.apply(now, &id, auteur, agenda::Edit::ModifierProfil { champs })?);
        Ok((id, out))
    }

    /// The agenda read model of a loaded territory document.
    pub fn agenda(&self, doc: &DocumentId) -> Option<agenda::Agenda> {
        self.document(doc).map(agenda::lire)
    }

    fn after_local_change(&mut self, doc: &DocumentId, out: &mut Vec<Output>) {
        self.persist_document(doc, out);
        self.sync_all_peers(doc, None, out);
        out.push(Output::DocumentChanged { doc: doc.clone() });
    }

    // ----- connections and handshake -----

    fn on_connected(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        direction: Direction,
        expected_peer: Option<PeerId>,
        out: &mut Vec<Output>,
    ) {
        let phase = match direction {
            Direction::Inbound => ConnPhase::AwaitingJoin,
            Direction::Outbound => {
                let join = Message::Join {
                    sender: self.config.peer_id.clone(),
                    metadata: self.metadata(),
                    supported_versions: Some(vec![PROTOCOL_VERSION.to_owned()]),
                };
                out.push(Output::Send { conn, bytes: join.encode() });
                ConnPhase::AwaitingPeer
            }
        };
        let deadline = Some(now.plus(self.config.handshake_timeout_ms));
        let ephemeral = Bucket::full(now, self.config.ephemeral_burst);
        let state = Conn {
            direction,
            phase,
            deadline,
            expected_peer,
            credentials: BTreeSet::new(),
            ephemeral,
            docs: BTreeMap::new(),
        };
        self.conns.insert(conn, state);
    }

    fn metadata(&self) -> PeerMetadata {
        PeerMetadata { storage_id: self.storage_id.clone(), is_ephemeral: !self.config.persistent }
    }

    fn on_received(&mut self, now: UnixMillis, conn: ConnId, bytes: &[u8], out: &mut Vec<Output>) {
        let Some(state) = self.conns.get(&conn) else {
            return; // Already closed: frames still in flight are dropped.
        };
        // Before the handshake only a small `join` or `peer` is expected.
        let max = match state.phase {
            ConnPhase::Ready { .. } => self.config.max_message_bytes,
            _ => MAX_HANDSHAKE_BYTES,
        };
        if bytes.len() > max {
            return self.fail(conn, CloseReason::TooLarge { len: bytes.len(), max }, out);
        }
        let message = match Message::decode(bytes) {
            Ok(message) => message,
            Err(e) => return self.fail(conn, CloseReason::Malformed(e), out),
        };
        match (&state.phase, message) {
            (_, Message::Error { message, .. }) => self.close(conn, CloseReason::PeerError(message), out),
            (ConnPhase::AwaitingJoin, Message::Join { sender, metadata, supported_versions }) => {
                self.on_join(now, conn, sender, metadata, supported_versions, out)
            }
            (ConnPhase::AwaitingPeer, Message::Peer { sender, target, metadata, .. }) => {
                self.on_peer(now, conn, sender, target, metadata, out)
            }
            (ConnPhase::Ready { .. }, Message::Leave { .. }) => self.close(conn, CloseReason::PeerLeft, out),
            (ConnPhase::Ready { peer, .. }, message) => {
                let peer = peer.clone();
                self.on_ready_message(now, conn, &peer, message, out)
            }
            (_, message) => {
                let reason = format!("unexpected `{}` before the handshake completed", message.kind());
                self.fail(conn, CloseReason::ProtocolViolation(reason), out)
            }
        }
    }

    fn on_join(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        sender: PeerId,
        metadata: PeerMetadata,
        versions: Option<Vec<String>>,
        out: &mut Vec<Output>,
    ) {
        // Absent means a peer from before versioning, which spoke "1".
        let speaks_ours = versions.is_none_or(|v| v.iter().any(|v| v == PROTOCOL_VERSION));
        if !speaks_ours {
            return self.fail(conn, CloseReason::UnsupportedVersion, out);
        }
        let expected = self.conns.get(&conn).and_then(|c| c.expected_peer.as_ref());
        if let Some(expected) = expected.filter(|e| **e != sender) {
            let reason = format!("joined as {sender}, but this connection belongs to {expected}");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        if sender == self.config.peer_id {
            let reason = format!("joined as {sender}, which is this relay's own peer id");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        // The last connection of a peer id wins only against a connection
        // whose credentials it holds: peer ids are public, invitations not.
        let older = self.peers.get(&sender).copied().filter(|older| *older != conn);
        if let Some(older) = older {
            let holds = match (self.conns.get(&older), self.conns.get(&conn)) {
                (Some(older), Some(new)) => older.credentials.is_subset(&new.credentials),
                _ => true,
            };
            if !holds {
                let reason = format!("peer id {sender} is in use by a connection with other invitations");
                return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
            }
        }
        // Registered only now that the handshake succeeded (no ghost peers).
        self.bind_peer(conn, sender.clone(), metadata, out);
        let answer = Message::Peer {
            sender: self.config.peer_id.clone(),
            target: sender,
            metadata: self.metadata(),
            selected_version: PROTOCOL_VERSION.to_owned(),
        };
        out.push(Output::Send { conn, bytes: answer.encode() });
        self.announce_all(now, conn, out);
    }

    fn on_peer(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        sender: PeerId,
        target: PeerId,
        metadata: PeerMetadata,
        out: &mut Vec<Output>,
    ) {
        if target != self.config.peer_id {
            let reason = format!("`peer` addressed to {target}, not to us");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        self.bind_peer(conn, sender, metadata, out);
        self.announce_all(now, conn, out);
    }

    /// The last connection of a peer id wins: an older one is closed and its
    /// sync states dropped (automerge-repo PR #206); persisted ones are kept.
    fn bind_peer(&mut self, conn: ConnId, peer: PeerId, metadata: PeerMetadata, out: &mut Vec<Output>) {
        if let Some(older) = self.peers.get(&peer).copied().filter(|older| *older != conn) {
            self.close(older, CloseReason::Replaced, out);
        }
        self.peers.insert(peer.clone(), conn);
        if let Some(state) = self.conns.get_mut(&conn) {
            state.phase = ConnPhase::Ready { peer, metadata };
            state.deadline = None;
        }
    }

    /// Sends `error` (the protocol's rule before closing), then closes.
    fn fail(&mut self, conn: ConnId, reason: CloseReason, out: &mut Vec<Output>) {
        tracing::warn!(%conn, %reason, "closing connection");
        let target = match self.conns.get(&conn).map(|c| &c.phase) {
            Some(ConnPhase::Ready { peer, .. }) => Some(peer.clone()),
            _ => None,
        };
        let error = Message::Error { sender: Some(self.config.peer_id.clone()), target, message: reason.to_string() };
        out.push(Output::Send { conn, bytes: error.encode() });
        self.close(conn, reason, out);
    }

    fn close(&mut self, conn: ConnId, reason: CloseReason, out: &mut Vec<Output>) {
        out.push(Output::Close { conn, reason });
        self.forget_conn(conn, out);
    }

    /// Drops everything about a connection. Persisted sync states stay.
    /// Requesters that were waiting for this peer's copy of a document get
    /// their answer.
    fn forget_conn(&mut self, conn: ConnId, out: &mut Vec<Output>) {
        let Some(state) = self.conns.remove(&conn) else { return };
        let had: Vec<DocumentId> =
            state.docs.iter().filter(|(_, p)| p.status == PeerStatus::Has).map(|(d, _)| d.clone()).collect();
        if let ConnPhase::Ready { peer, .. } = &state.phase
            && self.peers.get(peer) == Some(&conn)
        {
            self.peers.remove(peer);
        }
        for doc in state.docs.keys() {
            if let Some(set) = self.doc_conns.get_mut(doc) {
                set.remove(&conn);
                if set.is_empty() {
                    self.doc_conns.remove(doc);
                }
            }
        }
        for doc in had {
            self.answer_waiting_requesters(&doc, out);
        }
    }

    /// Tells requesters still owed an answer that the document is
    /// unavailable, once no peer that has it is left.
    fn answer_waiting_requesters(&mut self, doc: &DocumentId, out: &mut Vec<Output>) {
        if !self.is_empty(doc) || self.a_peer_has(doc, None) {
            return;
        }
        let Some(conns) = self.doc_conns.get(doc).cloned() else { return };
        for conn in conns {
            let owed = self.peer_doc(conn, doc).is_some_and(|p| std::mem::take(&mut p.awaiting_answer));
            if owed {
                self.send_unavailable(conn, doc, out);
            }
        }
    }

    // ----- document messages -----

    fn on_ready_message(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        peer: &PeerId,
        message: Message,
        out: &mut Vec<Output>,
    ) {
        // Presence from a peer that dialled us is bounded before anything
        // else looks at it: it would be copied to every peer of the document.
        let inbound = self.conns.get(&conn).is_some_and(|c| c.direction == Direction::Inbound);
        if let Message::Ephemeral(m) = &message
            && inbound
            && m.data.len() > self.config.max_ephemeral_bytes
        {
            let reason = CloseReason::EphemeralTooLarge { len: m.data.len(), max: self.config.max_ephemeral_bytes };
            return self.fail(conn, reason, out);
        }
        let addressed = match &message {
            Message::Request(m) | Message::Sync(m) => Some((&m.sender, &m.target, &m.document)),
            Message::DocUnavailable { sender, target, document } => Some((sender, target, document)),
            Message::Ephemeral(m) => Some((&m.sender, &m.target, &m.document)),
            Message::Join { .. } | Message::Peer { .. } => {
                let reason = format!("`{}` after the handshake", message.kind());
                return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
            }
            // Remote-heads gossip and unknown types are ignored (samod does
            // the same); `error` and `leave` are handled by the caller.
            _ => None,
        };
        let Some((sender, target, document)) = addressed else {
            tracing::debug!(%conn, kind = message.kind(), "ignored message");
            return;
        };
        // An ephemeral message keeps its original author when relayed, so
        // only its target is checked; every other sender must be the peer
        // bound to this connection.
        // A relay forwards ephemeral messages with their original author,
        // so only what a client receives from its relay may name another
        // sender; a peer's own messages, on the relay side, must be its own.
        let relayed = matches!(message, Message::Ephemeral(_))
            && self.conns.get(&conn).is_some_and(|c| c.direction == Direction::Outbound);
        // automerge-repo JS clients re-send every ephemeral message they
        // receive to their other peers, original author kept, so the relay
        // gets its own relayed messages back. Drop such an echo quietly: it
        // is never forwarded, so nobody can impersonate another author.
        if matches!(message, Message::Ephemeral(_)) && !relayed && sender != peer && *target == self.config.peer_id {
            tracing::debug!(%conn, %sender, "dropped an ephemeral message echoed by another peer");
            return;
        }
        let forged = !relayed && sender != peer;
        if forged || *target != self.config.peer_id {
            let reason = format!("message from {sender} to {target} on the connection of {peer}");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        if matches!(message, Message::Ephemeral(_)) && inbound && !self.ephemeral_allowed(now, conn) {
            return;
        }
        let document = document.clone();
        let is_request = matches!(message, Message::Request(_));
        let event = match message {
            // Validated before Automerge uses it: its layout before it is
            // decoded (counts Automerge would allocate for), a hostile Bloom
            // filter would make it panic or stall when it answers this
            // peer, and changes are measured before they are expanded.
            Message::Request(m) | Message::Sync(m) => {
                let bounds = limits::ExpansionLimits {
                    max_ops: self.config.max_document_ops,
                    max_inflated_bytes: u64::try_from(self.config.max_message_bytes).unwrap_or(u64::MAX),
                };
                let checked = limits::scan_sync_message(&m.data)
                    .map_err(|e| e.to_string())
                    .and_then(|()| sync::Message::decode(&m.data).map_err(|e| e.to_string()))
                    .and_then(|message| {
                        limits::check_sync_message(&message).map_err(|e| e.to_string())?;
                        let expansion = limits::measure_changes(message.changes.iter(), bounds);
                        Ok((message, expansion.map_err(|e| e.to_string())?))
                    });
                match checked {
                    Ok((message, expansion)) => DocEvent::Sync { is_request, message, expansion },
                    Err(e) => return self.fail(conn, CloseReason::BadSyncMessage(e), out),
                }
            }
            Message::Ephemeral(m) => DocEvent::Ephemeral(m),
            _ => DocEvent::Unavailable,
        };
        self.route(now, conn, document, event, out);
    }

    /// Checks access, then hands the message to the document, in order.
    fn route(&mut self, now: UnixMillis, conn: ConnId, doc: DocumentId, message: DocEvent, out: &mut Vec<Output>) {
        let max_docs = self.config.max_documents_per_connection;
        let known = self.conns.get(&conn).is_some_and(|c| c.docs.len() < max_docs || c.docs.contains_key(&doc));
        if !known {
            let reason = format!("more than {max_docs} documents on one connection");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        let Some(access) = self.peer_doc_access(conn, &doc, out) else {
            if let Some(AccessState::Pending(queue)) = self.peer_doc(conn, &doc).map(|p| &mut p.access) {
                if queue.len() >= MAX_QUEUED {
                    let reason = "too many messages waiting for an access decision".to_owned();
                    return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
                }
                queue.push(message);
            }
            return;
        };
        if access == Access::Denied {
            if matches!(message, DocEvent::Sync { .. }) {
                self.send_unavailable(conn, &doc, out);
            }
            return;
        }
        // Presence is not document content: it never waits for a load,
        // which would reorder it against the author's other documents.
        let message = match message {
            DocEvent::Ephemeral(m) => return self.on_ephemeral(conn, &doc, m, out),
            other => other,
        };
        match self.docs.get_mut(&doc).map(|d| &mut d.phase) {
            Some(DocPhase::Ready(_)) => self.on_doc_message(now, conn, &doc, message, out),
            Some(DocPhase::Loading(queue)) => {
                if let Err(reason) = queue_behind(queue, conn, message, "a document to load") {
                    self.fail(conn, reason, out);
                }
            }
            None => {
                let loading =
                    Doc { phase: DocPhase::Loading(vec![(conn, message)]), last_used: now, locally_open: false };
                self.docs.insert(doc.clone(), loading);
                out.push(Output::Load { doc });
            }
        }
    }

    /// The decided access of a (connection, document) pair, creating the
    /// pair on first contact. `None` while the driver has not decided.
    fn peer_doc_access(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) -> Option<Access> {
        let policy = self.config.access;
        let state = self.conns.get_mut(&conn)?;
        let ConnPhase::Ready { peer, .. } = &state.phase else { return None };
        let entry = state.docs.entry(doc.clone()).or_insert_with(|| {
            let access = match policy {
                AccessPolicy::AllowAll => AccessState::Decided(Access::ReadWrite),
                AccessPolicy::AskDriver => {
                    out.push(Output::CheckAccess { conn, peer: peer.clone(), doc: doc.clone() });
                    AccessState::Pending(Vec::new())
                }
            };
            PeerDoc::new(access)
        });
        self.doc_conns.entry(doc.clone()).or_default().insert(conn);
        match entry.access {
            AccessState::Decided(access) => Some(access),
            AccessState::Pending(_) => None,
        }
    }

    fn peer_doc(&mut self, conn: ConnId, doc: &DocumentId) -> Option<&mut PeerDoc> {
        self.conns.get_mut(&conn)?.docs.get_mut(doc)
    }

    /// A message for a loaded document from a peer allowed to see it.
    fn on_doc_message(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        doc: &DocumentId,
        event: DocEvent,
        out: &mut Vec<Output>,
    ) {
        if let Some(d) = self.docs.get_mut(doc) {
            d.last_used = now;
            if let DocPhase::Ready(ready) = &mut d.phase
                && let Some(busy) = ready.busy.as_mut()
            {
                if let Err(reason) = queue_behind(&mut busy.queue, conn, event, "a document's changes to be applied") {
                    self.fail(conn, reason, out);
                }
                return;
            }
        }
        match event {
            DocEvent::Sync { is_request, message, expansion } => {
                self.on_sync(conn, doc, message, &expansion, is_request, out)
            }
            DocEvent::Unavailable => self.on_unavailable(conn, doc, out),
            DocEvent::Ephemeral(m) => self.on_ephemeral(conn, doc, m, out),
        }
    }

    fn on_sync(
        &mut self,
        conn: ConnId,
        doc: &DocumentId,
        message: sync::Message,
        expansion: &limits::Expansion,
        is_request: bool,
        out: &mut Vec<Output>,
    ) {
        let their_heads_empty = message.heads.is_empty();
        self.ensure_sync_state(conn, doc);
        let (Some(state), Some(DocPhase::Ready(ready))) =
            (self.conns.get_mut(&conn).and_then(|c| c.docs.get_mut(doc)), self.docs.get_mut(doc).map(|d| &mut d.phase))
        else {
            return;
        };
        // A read-only peer's changes are ignored, so its having the
        // document does not mean we will get it.
        let writer = matches!(state.access, AccessState::Decided(Access::ReadWrite));
        if is_request {
            state.status = PeerStatus::Wants;
        } else if !their_heads_empty && writer {
            state.status = PeerStatus::Has;
        }
        let Some(sync) = state.sync.as_mut() else { return };
        let incoming: usize = message.changes.iter().map(<[u8]>::len).sum();
        let would_be = ready.on_disk.stored_bytes().saturating_add(incoming);
        if incoming > 0 && would_be > self.config.max_document_bytes {
            let max = self.config.max_document_bytes;
            return self.fail(conn, CloseReason::DocumentTooLarge { doc: doc.clone(), would_be, max }, out);
        }
        // Automerge ignores a read-only peer's changes: they cost nothing.
        let waiting = if sync.read_only {
            Vec::new()
        } else {
            match check_document_growth(doc, ready, expansion, &self.config) {
                Ok(waiting) => waiting,
                Err(reason) => return self.fail(conn, reason, out),
            }
        };
        let offload = self.config.offload_changes_above_ops.is_some_and(|above| expansion.ops > above);
        if offload && !sync.read_only {
            self.last_job += 1;
            let job = ChangesJob {
                id: self.last_job,
                doc: doc.clone(),
                conn,
                am: ready.am.clone(),
                sync: sync.clone(),
                message,
                on_disk: self.config.persistent.then(|| ready.on_disk.clone()),
            };
            ready.busy = Some(Busy { job: job.id, waiting, queue: Vec::new() });
            out.push(Output::ApplyChanges(Box::new(job)));
            return;
        }
        let before = ready.am.get_heads();
        let received = if sync.read_only || message.changes.is_empty() {
            ready.am.receive_sync_message(sync, message).map_err(|e| e.to_string())
        } else {
            receive_changes_contained(&mut ready.am, sync, message)
        };
        if let Err(e) = received {
            return self.fail(conn, CloseReason::BadSyncMessage(e), out);
        }
        ready.confirm_waiting(waiting);
        let changed = ready.am.get_heads() != before;
        if changed {
            self.persist_document(doc, out);
        }
        self.persist_sync_state(conn, doc, out);
        if changed {
            self.sync_all_peers(doc, Some(conn), out);
            out.push(Output::DocumentChanged { doc: doc.clone() });
        }
        // Neither side has the document: say so, unless another peer has
        // advertised it and its changes are on their way.
        if self.is_empty(doc) && their_heads_empty {
            if is_request && !self.a_peer_has(doc, Some(conn)) {
                self.send_unavailable(conn, doc, out);
            } else if let Some(pair) = self.peer_doc(conn, doc) {
                pair.awaiting_answer = is_request;
            }
            return;
        }
        self.sync_peer(conn, doc, out);
    }

    /// A [`ChangesJob`] is back: its document takes the result (or the
    /// peer is refused), every peer of the document is synced, and the
    /// messages that waited are handled in order.
    fn on_changes_applied(&mut self, now: UnixMillis, done: ChangesApplied, out: &mut Vec<Output>) {
        let ChangesApplied { id, doc, conn, outcome } = done;
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(&doc).map(|d| &mut d.phase) else { return };
        let Some(Busy { waiting, queue, .. }) = ready.busy.take_if(|busy| busy.job == id) else { return };
        match outcome {
            Ok(Applied { am, sync, on_disk, write }) => {
                let changed = am.get_heads() != ready.am.get_heads();
                ready.am = am;
                if let Some(on_disk) = on_disk {
                    ready.on_disk = on_disk;
                }
                ready.confirm_waiting(waiting);
                if let Some(write) = write {
                    out.push(Output::Write(write));
                }
                if let Some(pair) = self.peer_doc(conn, &doc) {
                    pair.sync = Some(sync);
                    self.persist_sync_state(conn, &doc, out);
                }
                if changed {
                    out.push(Output::DocumentChanged { doc: doc.clone() });
                }
            }
            Err(e) => {
                if self.conns.contains_key(&conn) {
                    self.fail(conn, CloseReason::BadSyncMessage(e), out);
                }
            }
        }
        // Syncs skipped while the job was out are due now.
        self.sync_all_peers(&doc, None, out);
        for (from, event) in queue {
            if self.conns.contains_key(&from) {
                self.on_doc_message(now, from, &doc, event, out);
            }
        }
    }

    fn on_unavailable(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        if let Some(state) = self.peer_doc(conn, doc) {
            state.status = PeerStatus::Unavailable;
        }
        self.answer_waiting_requesters(doc, out);
        let locally_open = self.docs.get(doc).is_some_and(|d| d.locally_open);
        let nobody_has = self.doc_conns.get(doc).is_none_or(|conns| {
            conns.iter().all(|c| {
                let status = self.conns.get(c).and_then(|s| s.docs.get(doc)).map(|p| p.status);
                status == Some(PeerStatus::Unavailable)
            })
        });
        if locally_open && self.is_empty(doc) && nobody_has {
            out.push(Output::DocumentUnavailable { doc: doc.clone() });
        }
    }

    fn on_ephemeral(&mut self, from: ConnId, doc: &DocumentId, m: EphemeralMessage, out: &mut Vec<Output>) {
        if self.ephemeral_seen.len() >= MAX_EPHEMERAL_SESSIONS {
            self.ephemeral_seen.clear();
        }
        let last = self.ephemeral_seen.entry((doc.clone(), m.sender.clone(), m.session.clone())).or_insert(0);
        if m.count <= *last && *last != 0 {
            return; // Seen already (it reached us by two paths).
        }
        *last = m.count;
        if self.docs.get(doc).is_some_and(|d| d.locally_open) {
            out.push(Output::Ephemeral { doc: doc.clone(), sender: m.sender.clone(), data: m.data.clone() });
        }
        for (conn, peer) in self.allowed_peers(doc).into_iter().filter(|(c, _)| *c != from) {
            let forwarded = EphemeralMessage { target: peer, ..m.clone() };
            out.push(Output::Send { conn, bytes: Message::Ephemeral(forwarded).encode() });
        }
    }

    /// Takes one ephemeral message from the connection's allowance; `false`
    /// means drop it. The first drop after an accepted message is logged as
    /// a warning, the others at debug level, so a flood does not flood logs.
    fn ephemeral_allowed(&mut self, now: UnixMillis, conn: ConnId) -> bool {
        let (per_second, burst) = (self.config.ephemeral_per_second, self.config.ephemeral_burst);
        let Some(state) = self.conns.get_mut(&conn) else { return false };
        if state.ephemeral.take(now, per_second, burst) {
            state.ephemeral.dropping = false;
            return true;
        }
        if !std::mem::replace(&mut state.ephemeral.dropping, true) {
            tracing::warn!(%conn, per_second, burst, "ephemeral messages over the rate; dropping them");
        } else {
            tracing::debug!(%conn, "ephemeral message dropped (rate)");
        }
        false
    }

    fn on_broadcast(&mut self, doc: DocumentId, data: Vec<u8>, out: &mut Vec<Output>) {
        self.ephemeral_count += 1;
        for (conn, peer) in self.allowed_peers(&doc) {
            let message = EphemeralMessage {
                sender: self.config.peer_id.clone(),
                target: peer,
                document: doc.clone(),
                session: self.config.session_id.clone(),
                count: self.ephemeral_count,
                data: data.clone(),
            };
            out.push(Output::Send { conn, bytes: Message::Ephemeral(message).encode() });
        }
    }

    /// Handshaken connections that touched the document and may see it.
    fn allowed_peers(&self, doc: &DocumentId) -> Vec<(ConnId, PeerId)> {
        let Some(conns) = self.doc_conns.get(doc) else { return Vec::new() };
        conns
            .iter()
            .filter_map(|c| {
                let state = self.conns.get(c)?;
                let ConnPhase::Ready { peer, .. } = &state.phase else { return None };
                let allowed =
                    matches!(state.docs.get(doc)?.access, AccessState::Decided(Access::ReadOnly | Access::ReadWrite));
                allowed.then(|| (*c, peer.clone()))
            })
            .collect()
    }

    fn is_empty(&self, doc: &DocumentId) -> bool {
        match self.docs.get(doc).map(|d| &d.phase) {
            Some(DocPhase::Ready(ready)) => ready.am.get_heads().is_empty(),
            _ => true,
        }
    }

    /// Whether a writer peer (other than `except`) has the document.
    fn a_peer_has(&self, doc: &DocumentId, except: Option<ConnId>) -> bool {
        self.doc_conns.get(doc).is_some_and(|conns| {
            conns.iter().filter(|c| Some(**c) != except).any(|c| {
                let status = self.conns.get(c).and_then(|s| s.docs.get(doc)).map(|p| p.status);
                status == Some(PeerStatus::Has)
            })
        })
    }

    fn send_unavailable(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        let Some(ConnPhase::Ready { peer, .. }) = self.conns.get(&conn).map(|c| &c.phase) else { return };
        let message = Message::DocUnavailable {
            sender: self.config.peer_id.clone(),
            target: peer.clone(),
            document: doc.clone(),
        };
        out.push(Output::Send { conn, bytes: message.encode() });
    }

    // ----- sync states -----

    /// Creates the pair's sync state if needed: the persisted one when the
    /// peer has a durable store, otherwise a fresh one; read-only if its
    /// access is. Taking up a persisted state counts as using it.
    fn ensure_sync_state(&mut self, conn: ConnId, doc: &DocumentId) {
        let Some(state) = self.conns.get(&conn) else { return };
        let Some(pair) = state.docs.get(doc) else { return };
        let allowed = matches!(pair.access, AccessState::Decided(Access::ReadOnly | Access::ReadWrite));
        if pair.sync.is_some() || !allowed {
            return;
        }
        let store = match &state.phase {
            ConnPhase::Ready { metadata, .. } if !metadata.is_ephemeral => metadata.storage_id.clone(),
            _ => None,
        };
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(doc).map(|d| &mut d.phase) else { return };
        let clock = self.clock;
        let stored = store.and_then(|s| ready.sync_states.get_mut(&s)).and_then(|stored| {
            stored.used = stored.used.max(clock);
            sync::State::decode(&stored.bytes).ok()
        });
        let Some(pair) = self.conns.get_mut(&conn).and_then(|c| c.docs.get_mut(doc)) else { return };
        let mut sync = stored.unwrap_or_default();
        pair.persisted_heads = sync.shared_heads.clone();
        sync.set_read_only(matches!(pair.access, AccessState::Decided(Access::ReadOnly)));
        pair.sync = Some(sync);
    }

    /// Writes the pair's shared heads when they moved, the peer has a
    /// durable store and may write the document, so that its next
    /// connection exchanges only news. A reader's state is never persisted:
    /// anyone holding a resident link could otherwise leave a row per
    /// storage id it makes up, loaded with every load of the document. Past
    /// [`Config::max_sync_states_per_document`], the least recently used
    /// state is deleted in the same write.
    fn persist_sync_state(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        if !self.config.persistent {
            return;
        }
        let Some(state) = self.conns.get_mut(&conn) else { return };
        let ConnPhase::Ready { metadata, .. } = &state.phase else { return };
        let (Some(store), false) = (&metadata.storage_id, metadata.is_ephemeral) else { return };
        let store = store.clone();
        let Some(pair) = state.docs.get_mut(doc) else { return };
        if !matches!(pair.access, AccessState::Decided(Access::ReadWrite)) {
            return;
        }
        let Some(sync) = &pair.sync else { return };
        if sync.shared_heads == pair.persisted_heads {
            return;
        }
        pair.persisted_heads = sync.shared_heads.clone();
        let encoded = sync.encode();
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(doc).map(|d| &mut d.phase) else { return };
        let mut delete = Vec::new();
        let max = self.config.max_sync_states_per_document;
        if !ready.sync_states.contains_key(&store) && ready.sync_states.len() >= max {
            let mut by_age: Vec<(UnixMillis, StorageId)> =
                ready.sync_states.iter().map(|(id, s)| (s.used, id.clone())).collect();
            by_age.sort();
            let evicted = by_age.len() + 1 - max.max(1);
            for (_, id) in by_age.into_iter().take(evicted) {
                tracing::debug!(%doc, store = %id, "sync state evicted: least recently used");
                ready.sync_states.remove(&id);
                delete.extend([StorageKey::sync_state(doc, &id), StorageKey::sync_state_used(doc, &id)]);
            }
        }
        if max == 0 {
            return out.push(Output::Write(StorageWrite { put: Vec::new(), delete }));
        }
        let used = self.clock;
        ready.sync_states.insert(store.clone(), StoredSyncState { bytes: encoded.clone(), used });
        out.push(Output::Write(StorageWrite {
            put: vec![
                (StorageKey::sync_state(doc, &store), encoded),
                (StorageKey::sync_state_used(doc, &store), used.0.to_string().into_bytes()),
            ],
            delete,
        }));
    }

    fn persist_document(&mut self, doc: &DocumentId, out: &mut Vec<Output>) {
        if !self.config.persistent {
            return;
        }
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(doc).map(|d| &mut d.phase) else { return };
        if let Some(write) = ready.on_disk.save(doc, &ready.am) {
            out.push(Output::Write(write));
        }
    }

    /// Generates the next sync message for one pair, if any is due.
    fn sync_peer(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        if let Some(deferred) = self.deferred.as_mut() {
            if !deferred.iter().any(|(c, d)| *c == conn && d == doc) {
                deferred.push((conn, doc.clone()));
            }
            return;
        }
        self.ensure_sync_state(conn, doc);
        let Some(DocPhase::Ready(ready)) = self.docs.get(doc).map(|d| &d.phase) else { return };
        // Every peer is synced again when the job is back.
        if ready.busy.is_some() {
            return;
        }
        let Some(state) = self.conns.get_mut(&conn) else { return };
        let ConnPhase::Ready { peer, .. } = &state.phase else { return };
        let Some(pair) = state.docs.get_mut(doc) else { return };
        if !matches!(pair.access, AccessState::Decided(Access::ReadOnly | Access::ReadWrite)) {
            return;
        }
        let Some(sync) = pair.sync.as_mut() else { return };
        let Some(message) = ready.am.generate_sync_message(sync) else { return };
        pair.awaiting_answer = false;
        // `request` says "I do not have it": nothing here, nothing shared,
        // and the peer has not told us anything yet.
        let is_request =
            ready.am.get_heads().is_empty() && sync.shared_heads.is_empty() && pair.status == PeerStatus::Unknown;
        let body = SyncMessage {
            sender: self.config.peer_id.clone(),
            target: peer.clone(),
            document: doc.clone(),
            data: message.encode(),
        };
        let message = if is_request { Message::Request(body) } else { Message::Sync(body) };
        out.push(Output::Send { conn, bytes: message.encode() });
    }

    /// After the document changed: every peer that touched it hears of it.
    /// This is how the relay relays.
    fn sync_all_peers(&mut self, doc: &DocumentId, except: Option<ConnId>, out: &mut Vec<Output>) {
        let conns: Vec<ConnId> = self.doc_conns.get(doc).map(|s| s.iter().copied().collect()).unwrap_or_default();
        for conn in conns.into_iter().filter(|c| Some(*c) != except) {
            self.sync_peer(conn, doc, out);
        }
    }

    /// Offers a locally open document to a peer (clients announce; the
    /// relay opens nothing locally, so it never announces).
    fn announce(&mut self, now: UnixMillis, doc: &DocumentId, out: &mut Vec<Output>) {
        let ready: Vec<ConnId> =
            self.conns.iter().filter(|(_, c)| matches!(c.phase, ConnPhase::Ready { .. })).map(|(id, _)| *id).collect();
        for conn in ready {
            self.announce_to(now, conn, doc, out);
        }
    }

    fn announce_all(&mut self, now: UnixMillis, conn: ConnId, out: &mut Vec<Output>) {
        let open: Vec<DocumentId> =
            self.docs.iter().filter(|(_, d)| d.locally_open).map(|(id, _)| id.clone()).collect();
        for doc in open {
            self.announce_to(now, conn, &doc, out);
        }
    }

    fn announce_to(&mut self, _now: UnixMillis, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        let loaded = matches!(self.docs.get(doc).map(|d| &d.phase), Some(DocPhase::Ready(_)));
        if loaded && self.peer_doc_access(conn, doc, out).is_some() {
            self.sync_peer(conn, doc, out);
        }
    }

    // ----- loading, opening, access, time -----

    fn on_loaded(
        &mut self,
        now: UnixMillis,
        doc: DocumentId,
        entries: Vec<(StorageKey, Vec<u8>)>,
        out: &mut Vec<Output>,
    ) {
        let Some(d) = self.docs.get_mut(&doc) else { return };
        let DocPhase::Loading(queue) = &mut d.phase else { return };
        let queue = std::mem::take(queue);
        let mut loaded = storage::load_document(&doc, entries);
        loaded.doc.set_actor(self.config.actor.clone());
        for key in &loaded.unreadable {
            tracing::error!(key = %key, "stored chunk unreadable; kept on disk, not loaded");
        }
        let (sync_states, pruned) =
            keep_sync_states(&doc, loaded.sync_states, loaded.sync_states_used, now, &self.config);
        if let Some(pruned) = pruned {
            out.push(Output::Write(pruned));
        }
        let ready = ReadyDoc::new(loaded.doc, loaded.on_disk, sync_states);
        d.phase = DocPhase::Ready(Box::new(ready));
        d.last_used = now;
        let locally_open = d.locally_open;
        for (conn, message) in queue {
            // Access may have changed while the document was loading.
            match self.peer_doc(conn, &doc).map(|p| &p.access) {
                Some(AccessState::Decided(Access::ReadOnly | Access::ReadWrite)) => {
                    self.on_doc_message(now, conn, &doc, message, out)
                }
                Some(AccessState::Decided(Access::Denied)) if matches!(message, DocEvent::Sync { .. }) => {
                    self.send_unavailable(conn, &doc, out)
                }
                _ => {}
            }
        }
        if locally_open {
            if !self.is_empty(&doc) {
                out.push(Output::DocumentChanged { doc: doc.clone() });
            }
            self.announce(now, &doc, out);
        }
    }

    fn on_open(&mut self, now: UnixMillis, doc: DocumentId, out: &mut Vec<Output>) {
        match self.docs.get_mut(&doc) {
            Some(d) => {
                d.locally_open = true;
                d.last_used = now;
                if matches!(d.phase, DocPhase::Ready(_)) {
                    if !self.is_empty(&doc) {
                        out.push(Output::DocumentChanged { doc: doc.clone() });
                    }
                    self.announce(now, &doc, out);
                }
            }
            None => {
                let loading = Doc { phase: DocPhase::Loading(Vec::new()), last_used: now, locally_open: true };
                self.docs.insert(doc.clone(), loading);
                out.push(Output::Load { doc });
            }
        }
    }

    fn on_access_decided(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        doc: DocumentId,
        access: Access,
        out: &mut Vec<Output>,
    ) {
        let Some(state) = self.conns.get_mut(&conn) else { return };
        let pair = state.docs.entry(doc.clone()).or_insert_with(|| PeerDoc::new(AccessState::Pending(Vec::new())));
        self.doc_conns.entry(doc.clone()).or_default().insert(conn);
        match std::mem::replace(&mut pair.access, AccessState::Decided(access)) {
            AccessState::Pending(queue) => {
                for message in queue {
                    self.route(now, conn, doc.clone(), message, out);
                }
                if self.docs.get(&doc).is_some_and(|d| d.locally_open) {
                    self.announce_to(now, conn, &doc, out);
                }
            }
            AccessState::Decided(previous) if previous == access => {}
            AccessState::Decided(_) => {
                // Start the pair over under the new access; a peer that lost
                // access is told the document is unavailable.
                pair.sync = None;
                pair.status = PeerStatus::Unknown;
                if access == Access::Denied {
                    self.send_unavailable(conn, &doc, out);
                } else {
                    self.sync_peer(conn, &doc, out);
                }
            }
        }
    }

    fn on_tick(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        let late: Vec<ConnId> =
            self.conns.iter().filter(|(_, c)| c.deadline.is_some_and(|d| d <= now)).map(|(id, _)| *id).collect();
        for conn in late {
            self.fail(conn, CloseReason::HandshakeTimeout, out);
        }
        // Everything is persisted as it happens, so an idle document can be
        // dropped at once; sync states live with the connections.
        let idle_after = self.config.unload_idle_after_ms;
        // Without storage, memory is the only copy: never unload.
        let persistent = self.config.persistent;
        self.docs.retain(|id, d| {
            let idle = persistent && !d.locally_open && d.is_idle_ready() && d.last_used.plus(idle_after) <= now;
            if idle {
                tracing::debug!(doc = %id, "unloading idle document");
            }
            !idle
        });
    }
}
/// Checks what a peer's changes would add to a document before Automerge
/// applies them: its operations (held, waiting, and the message's new
/// ones) within `max_document_ops`, and the bytes of changes that would wait
/// for dependencies within `max_waiting_change_bytes`. Returns the changes
/// predicted to wait, with their bytes and operations.
fn check_document_growth(
    doc: &DocumentId,
    ready: &ReadyDoc,
    expansion: &limits::Expansion,
    config: &Config,
) -> Result<Vec<(ChangeHash, Waiting)>, CloseReason> {
    let am = &ready.am;
    let has = |hash: &ChangeHash| automerge::ReadDoc::get_change_by_hash(am, hash).is_some();
    // Automerge skips a document chunk whose heads it has, and a change it
    // has; everything else is counted whole.
    let document_ops: u64 =
        expansion.documents.iter().filter(|d| !d.heads.iter().all(has)).map(|d| d.ops).fold(0, u64::saturating_add);
    let mut pending: Vec<&limits::ChangeChunk> = expansion.changes.iter().filter(|c| !has(&c.hash)).collect();
    let new_ops = pending.iter().map(|c| c.ops).fold(document_ops, u64::saturating_add);
    let (waiting_bytes, waiting_ops) = ready.waiting_totals();
    let held = automerge::ReadDoc::stats(am).num_ops.saturating_add(waiting_ops);
    let would_be = held.saturating_add(new_ops);
    if new_ops > 0 && would_be > config.max_document_ops {
        return Err(CloseReason::DocumentTooManyOps { doc: doc.clone(), would_be, max: config.max_document_ops });
    }
    // A change waits unless each dependency is in the document or arrives
    // ready in the same message (a document chunk's heads count as ready).
    let mut arriving: BTreeSet<ChangeHash> = expansion.documents.iter().flat_map(|d| d.heads.iter().copied()).collect();
    for _ in 0..DEPENDENCY_PASSES {
        let before = pending.len();
        pending.retain(|c| {
            let resolved = c.deps.iter().all(|d| has(d) || arriving.contains(d));
            if resolved {
                arriving.insert(c.hash);
            }
            !resolved
        });
        if pending.len() == before {
            break;
        }
    }
    let added: u64 =
        pending.iter().filter(|c| !ready.waiting.contains_key(&c.hash)).map(|c| c.bytes).fold(0, u64::saturating_add);
    let would_wait = waiting_bytes.saturating_add(added);
    if added > 0 && would_wait > config.max_waiting_change_bytes {
        let max = config.max_waiting_change_bytes;
        return Err(CloseReason::TooManyWaitingChanges { doc: doc.clone(), would_be: would_wait, max });
    }
    Ok(pending.into_iter().map(|c| (c.hash, Waiting { bytes: c.bytes, ops: c.ops })).collect())
}

/// The persisted sync states a document keeps when it loads, and the write
/// that deletes the others: states not used for
/// [`Config::sync_state_ttl_ms`], times left without their state, and the
/// least recently used beyond [`Config::max_sync_states_per_document`].
/// A state without a time (written before times were, or seeded after a
/// download) gets the load time, written once, so that it expires too.
fn keep_sync_states(
    doc: &DocumentId,
    states: Vec<(StorageId, Vec<u8>)>,
    used: Vec<(StorageId, u64)>,
    now: UnixMillis,
    config: &Config,
) -> (HashMap<StorageId, StoredSyncState>, Option<StorageWrite>) {
    let mut used: HashMap<StorageId, u64> = used.into_iter().collect();
    let mut write = StorageWrite::default();
    let mut kept: Vec<(StorageId, StoredSyncState)> = Vec::new();
    for (store, bytes) in states {
        let at = match used.remove(&store) {
            Some(at) => UnixMillis(at),
            None => {
                write.put.push((StorageKey::sync_state_used(doc, &store), now.0.to_string().into_bytes()));
                now
            }
        };
        if at.plus(config.sync_state_ttl_ms) <= now {
            write.delete.extend([StorageKey::sync_state(doc, &store), StorageKey::sync_state_used(doc, &store)]);
        } else {
            kept.push((store, StoredSyncState { bytes, used: at }));
        }
    }
    write.delete.extend(used.keys().map(|store| StorageKey::sync_state_used(doc, store)));
    // Most recently used first; ties in a stable order.
    kept.sort_by(|(a, x), (b, y)| y.used.cmp(&x.used).then_with(|| a.cmp(b)));
    for (store, _) in kept.drain(config.max_sync_states_per_document.min(kept.len())..) {
        write.put.retain(|(key, _)| *key != StorageKey::sync_state_used(doc, &store));
        write.delete.extend([StorageKey::sync_state(doc, &store), StorageKey::sync_state_used(doc, &store)]);
    }
    if !write.delete.is_empty() {
        tracing::info!(%doc, deleted = write.delete.len(), "expired or surplus sync states deleted");
    }
    let write = (!write.put.is_empty() || !write.delete.is_empty()).then_some(write);
    (kept.into_iter().collect(), write)
}

fn commit_options(now: UnixMillis) -> CommitOptions {
    // Automerge stores change times in seconds since the epoch.
    CommitOptions::default().with_time(i64::try_from(now.0 / 1000).unwrap_or(i64::MAX))
}
