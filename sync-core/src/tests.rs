//! Tests of the whole core: codec golden files, scenarios through the
//! deterministic simulator, the convergence property, and the tidy check.

mod agenda;
mod convergence;
mod golden;
mod hostile;
mod regressions;
mod scenarios;
mod sim;
mod tidy;
