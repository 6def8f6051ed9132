//! Essaim's real-IO tests, in one binary: a real relay on 127.0.0.1, real
//! SQLite files, real websocket clients, the real JavaScript automerge-repo.
//!
//! Deterministic, simulated tests of the protocol live in `sync-core`; this
//! binary holds only what needs real IO. It fills up with the relay's issue.

mod access;
mod annuaire;
mod carnet;
mod chunks;
mod cluster;
mod cluster_ha;
mod cluster_invitations;
mod crash;
mod demo;
mod essaimage;
mod feeds;
mod feeds_action;
mod fiches;
mod flux_oracle;
mod interop;
mod invitations_api;
mod memory;
mod relay;
mod reseau;
mod rythme_oracle;
mod securite_expansion;
mod securite_flux;
mod securite_http;
mod securite_pairs;
mod securite_protocole;
mod securite_ws;
mod services;
mod shaper;
mod stockage;
mod support;
mod territoires;
mod volontaires;
mod websocket;
