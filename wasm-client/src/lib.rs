//! Bindings of `sync_core::Repo` for the browser: conversions only, no
//! decisions. Filled by the issue "The offline-first PWA".

pub use sync_core::PROTOCOL_VERSION;
