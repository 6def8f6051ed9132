//! A repo's settings ([`Config`]) and their defaults, each with why.
//! Only data: the rooms of `repo/` read these fields, nothing here acts.

use automerge::ActorId;

use crate::ids::PeerId;
#[cfg(doc)]
use crate::{ChangesJob, Input, Output, Repo};

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

/// Default [`Config::hold_for_answer_ms`]. A peer answers a message that
/// brought it changes as soon as it has applied them: on loopback within a
/// millisecond, on a phone's 2G link within about a second. Two seconds
/// lets a slow link's answer come back before the next message goes, while
/// bounding what a peer that says nothing (it already had those changes)
/// waits for the next ones.
pub const DEFAULT_HOLD_FOR_ANSWER_MS: u64 = 2_000;

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
    /// Relaying takes the fast path: a peer already in sync at our heads
    /// is not asked of Automerge, and peers in the same sync state share
    /// the message generated for the first of them while no document
    /// changes (`FanOut` in `peer_doc.rs`), so readers in sync cost one
    /// Automerge generation per change. Both give exactly what Automerge
    /// would; `false` asks Automerge for every message, the reference the
    /// tests compare the fast path with.
    pub fast_fan_out: bool,
    /// Coalescing: once a peer was sent changes, further messages for it
    /// wait until it answers (any message of it about the document), or
    /// this many milliseconds at most; the message then sent carries
    /// everything it lacks by then. A reader that is behind, or slower
    /// than the writer, gets a few messages per round trip, never one per
    /// change. The wait is bounded because a peer that already had the
    /// changes it was sent does not answer. `None`: every change goes at
    /// once. Default [`DEFAULT_HOLD_FOR_ANSWER_MS`], which says why.
    pub hold_for_answer_ms: Option<u64>,
}

impl Config {
    /// Defaults: persistent, allow all, 10 s handshake, unload after 60 s
    /// idle, 1,000 documents per connection, 64 MiB messages, 16 MiB and
    /// 500,000 operations per document, 4 MiB of changes waiting for
    /// their dependencies; ephemeral messages of 16 KiB, 20 a second with
    /// bursts of 50; 32 sync states per document, kept 30 days; fast
    /// fan-out; messages held 2 s at most for a peer's answer.
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
            fast_fan_out: true,
            hold_for_answer_ms: Some(DEFAULT_HOLD_FOR_ANSWER_MS),
        }
    }
}
