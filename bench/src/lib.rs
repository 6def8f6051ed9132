//! Essaim's load generator: workloads run by [`client::Client`]s
//! against any automerge-repo websocket server, so the same run measures
//! Essaim's relay and the reference JavaScript sync server side by side.
//!
//! `territoire` builds realistic territory documents; `services` starts
//! the real PostgreSQL, NATS and HAProxy the cluster tests and benchmarks
//! use; the benchmarks are in
//! the binary `essaim-bench` (see `main.rs`).

pub mod cluster;
pub mod light_reader;
pub mod servers;
pub mod services;
pub mod territoire;
pub mod workloads;
