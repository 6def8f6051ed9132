//! Essaim's sync core: the automerge-repo protocol as a pure state machine.
//!
//! `sync-core` decides everything about syncing Automerge documents with the
//! automerge-repo websocket protocol (version "1"): the handshake, one sync
//! state per (document, peer), what to send to whom, what to persist, when to
//! compact and when to unload. The relay (`server`, async + SQLite) and the
//! browser (`wasm-client` + TypeScript + IndexedDB) drive the same [`Repo`].
//!
//! # Does not do
//!
//! No IO: no sockets, no files, no IndexedDB. No clock: `now` is passed in.
//! No randomness drawn here: actor ids, storage ids, session ids and document
//! ids come from the driver (automerge itself draws a throwaway default actor
//! id, always replaced). No threads, no async. It builds for
//! `wasm32-unknown-unknown` (checked by CI) and a tidy test keeps it so.
//!
//! # How to drive it
//!
//! ```text
//!            Input (now, event)                  Output, in order
//!  socket ──► Connected/Received/Disconnected ──► Send / Close        ──► socket
//!  storage ─► Loaded                          ──► Load / Write        ──► storage
//!  app ─────► Open/Broadcast/AccessDecided    ──► DocumentChanged /   ──► app, UI
//!  timer ───► Tick (at next_deadline())           CheckAccess / …
//! ```
//!
//! 1. Start: read `["storage-adapter-id"]` and call [`Repo::start`] with it
//!    and 16 random bytes; carry out the returned outputs.
//! 2. Loop: wait for the next event (a frame, a closed socket, a finished
//!    load, the deadline from [`Repo::next_deadline`]); call
//!    [`Repo::handle`] with the current time; carry out every [`Output`] in
//!    order. A [`StorageWrite`] is applied atomically, and before any later
//!    `Send`: that is how nothing is advertised before it is stored.
//! 3. Local changes go through [`Repo::create_document`] and
//!    [`Repo::change_document`] (a territory's through
//!    [`Repo::create_territory`] and [`Repo::apply`]), which return outputs
//!    the same way.
//!
//! # Two halves, one way
//!
//! The crate is protocol plus domain, kept in one crate but apart:
//!
//! - **Protocol** (English): `ids`, `wire`, `limits`,
//!   `storage`, `changes_job`, `repo/`. It syncs any Automerge document and
//!   knows nothing of what a territory holds.
//! - **Domain** (French): [`agenda`] (the territory document, its edits and
//!   read model), [`rythme`] (recurrences), [`flux`] (public feeds).
//!
//! The dependency runs one way: the domain uses the protocol (`agenda/repo.rs`
//! adds [`Repo::apply`], [`Repo::create_territory`] and [`Repo::agenda`] on
//! top of the repo's document methods); no protocol module names a domain
//! module. `tests/tidy.rs` fails if one does.
//!
//! # Invariants
//!
//! - [`Repo::handle`] never fails and never panics on peer or storage
//!   input: malformed or hostile input closes that connection
//!   ([`Output::Close`], after an `error` frame), and unreadable stored
//!   chunks are left on disk and reported.
//! - A storage write that holds a change precedes, in the output list, every
//!   message that advertises that change.
//! - Only chunks this repo loaded or wrote are ever deleted.
//! - Given the same inputs, a repo produces the same outputs.

#![warn(missing_docs, unreachable_pub)]

// Protocol: never names the domain modules below.
mod changes_job;
mod ids;
mod limits;
mod repo;
mod storage;
mod wire;

// Domain: builds on the protocol's public types.
pub mod agenda;
// The public feeds: the relay's, not the browser's (feature `flux`).
#[cfg(feature = "flux")]
pub mod flux;
pub mod rythme;

#[cfg(test)]
mod tests;

pub use agenda::ApplyError;
pub use automerge;
pub use changes_job::{ChangesApplied, ChangesJob};
pub use ids::{
    AutomergeUrl, DocumentId, IdError, MAX_DOCUMENT_ID_BYTES, MAX_PEER_ID_BYTES, MAX_STORAGE_ID_BYTES, PeerId,
    StorageId, URL_SCHEME,
};
pub use limits::PeerInputError;
pub use repo::{
    Access, AccessPolicy, ChangeError, CloseReason, Config, ConnId, DEFAULT_HOLD_FOR_ANSWER_MS,
    DEFAULT_MAX_DOCUMENT_OPS, DEFAULT_MAX_WAITING_CHANGE_BYTES, DEFAULT_OFFLOAD_CHANGES_ABOVE_OPS, Direction, Input,
    Output, Repo, StartError, SyncMessageCounts, UnixMillis,
};
pub use storage::{ChunkKind, STORAGE_ID_HEADER, StorageKey, StorageWrite, load_chunks, sync_state_after_download};
pub use wire::{
    DecodeError, EphemeralMessage, Frame, Message, PROTOCOL_VERSION, PeerMetadata, RemoteHeads, SyncFrame, SyncMessage,
    Target,
};
