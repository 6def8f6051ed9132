//! Tests of the whole core: codec golden files, scenarios through the
//! deterministic simulator, the convergence property. No IO here either:
//! fixtures are compiled in; the tidy check lives in `sync-core/tests/`.

mod agenda;
mod cluster;
mod coalescing;
mod convergence;
mod essaimage;
mod fan_out;
mod golden;
mod hostile;
mod lecture_suivie;
mod regressions;
mod scenarios;
#[cfg(feature = "flux")]
mod securite_agenda;
mod securite_expansion;
mod securite_pairs;
pub(crate) mod sim;
mod sim_cluster;
