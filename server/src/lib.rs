//! The relay: an axum + tokio websocket server that drives one
//! `sync_core::Repo` and persists to SQLite.
//!
//! Not built yet: see the issue "The relay server". Until then this crate
//! only proves the workspace links `sync-core` natively.

/// The protocol version the relay will speak, from `sync-core`.
pub const PROTOCOL_VERSION: &str = sync_core::PROTOCOL_VERSION;
