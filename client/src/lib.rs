//! Essaim's Rust client driver, for tests and benchmarks: what a phone
//! does, without a browser.
//!
//! - [`Client`] (`websocket.rs`): a client-side `sync_core::Repo` over one
//!   tokio-tungstenite websocket to any automerge-repo relay (protocol
//!   "1"), with in-memory storage ([`MemoryStore`]) handed back on
//!   [`Client::close`] so it can reconnect, byte and message counts, and
//!   the heads the relay advertised.
//! - [`download`]: the resumable HTTP download of a document's chunks from
//!   the relay's chunk routes (`GET /d/{doc}/chunks`), into a
//!   [`MemoryStore`].
//!
//! It decides nothing about sync (the `Repo` does) and knows nothing of the
//! relay's insides: only its websocket and HTTP interfaces. The relay
//! itself is the `server` crate, which does not depend on this one.

pub mod download;
mod websocket;

pub use websocket::{
    CONNECT_TIMEOUT, Client, ClientError, ClientOptions, MemoryStore, Observed, Traffic, TrafficSnapshot, View,
};
