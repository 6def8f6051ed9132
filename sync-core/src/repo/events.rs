//! What goes in and out of a repo: [`Input`] (what happened), [`Output`]
//! (what the driver must do, in order) and [`CloseReason`] (why a
//! connection was closed). Only data; the rooms of `repo/` produce them.

use std::collections::BTreeSet;

#[cfg(doc)]
use super::Repo;
use super::{Access, ConnId, Direction};
use crate::changes_job::{ChangesApplied, ChangesJob};
use crate::ids::{DocumentId, PeerId};
use crate::storage::{StorageKey, StorageWrite};
use crate::wire::{DecodeError, Frame};

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
    /// The driver wants to change this document itself (the relay applying
    /// a resident's request): load it from storage if it is not in memory,
    /// without opening it locally, so it is neither announced to peers nor
    /// kept longer than any idle document. The driver learns it is ready
    /// when its [`Input::Loaded`] has been fed (or at once if it was in
    /// memory: [`Repo::document`]).
    Load {
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
    /// Chunks another process committed to the storage this repo shares
    /// (another relay of a cluster, which announced them): taken into the
    /// document if it is in memory, never written again, and every peer
    /// synced. Queued while the document loads or a [`ChangesJob`] is out;
    /// ignored for a document not in memory (its next load reads them).
    /// Chunks already known are skipped, so a repair may resend them all.
    CommittedElsewhere {
        /// The document.
        doc: DocumentId,
        /// Chunk keys of that document with their bytes.
        chunks: Vec<(StorageKey, Vec<u8>)>,
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
        bytes: Frame,
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
