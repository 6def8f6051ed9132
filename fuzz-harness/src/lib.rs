//! The bodies of Essaim's fuzz targets, one `pub fn` per target.
//!
//! The cargo-fuzz crate in `fuzz/` (nightly, libFuzzer, its own workspace)
//! calls these functions from its `fuzz_targets/`, and this crate's tests
//! replay the committed seed corpus (`fuzz/seeds/<target>/`) and the
//! minimised crashing inputs (`fuzz/crashers/<target>/`) through the very
//! same functions on stable, under `cargo test`. So a target is written
//! once, and what the fuzzer found stays a regression test.
//!
//! The targets, by [`Target`]:
//! - `wire_decode`: the frame decoder, [`sync_core::Message::decode`], and
//!   that what it accepts encodes back to the same message.
//! - `repo_empty`, `repo_territory`: a relay [`sync_core::Repo`] (the
//!   server's configuration: persistent, access asked of the driver) fed
//!   arbitrary frames, ticks and reconnections after a valid handshake,
//!   with no document stored or with a territory stored, towards a
//!   read-write or a read-only peer (see [`relay`]).
//! - `agenda_reader`: arbitrary bytes loaded as an Automerge document,
//!   read by [`sync_core::agenda::lire`], rendered by every feed of
//!   [`sync_core::flux`], and edited (see [`agenda`]).
//!
//! A body panics only on a genuine bug: inputs are never unwrapped, every
//! loop is bounded, and inputs over [`MAX_INPUT_BYTES`] are skipped so that
//! a timeout reports slow code, not a large input.
//!
//! [`seeds`] generates the seed corpus from real exchanges between real
//! repos (run `cargo run -p fuzz-harness --bin seeds`); [`corpus`] reads the
//! committed directories.
//!
//! Does not: fuzz by itself, or depend on the server, so the fuzz build
//! instruments only `sync-core` and Automerge.

pub mod agenda;
pub mod corpus;
pub mod relay;
pub mod seeds;

/// Inputs longer than this are skipped by every target: 1 MiB is far above
/// any seed (a few KiB) and keeps one execution in milliseconds, so that a
/// libFuzzer timeout means slow code rather than a large input.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// One fuzz target: its name (the cargo-fuzz target and the corpus
/// directories) and its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The frame decoder.
    WireDecode,
    /// A relay with nothing stored.
    RepoEmpty,
    /// A relay with a territory stored.
    RepoTerritory,
    /// The agenda reader and the feeds.
    AgendaReader,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 4] = [Target::WireDecode, Target::RepoEmpty, Target::RepoTerritory, Target::AgendaReader];

    /// The cargo-fuzz target name, also the name of its corpus directories.
    pub fn name(self) -> &'static str {
        match self {
            Target::WireDecode => "wire_decode",
            Target::RepoEmpty => "repo_empty",
            Target::RepoTerritory => "repo_territory",
            Target::AgendaReader => "agenda_reader",
        }
    }

    /// Runs the target's body on one input.
    pub fn run(self, data: &[u8]) {
        match self {
            Target::WireDecode => wire_decode(data),
            Target::RepoEmpty => relay::repo_empty(data),
            Target::RepoTerritory => relay::repo_territory(data),
            Target::AgendaReader => agenda::agenda_reader(data),
        }
    }
}

/// Target `wire_decode`: decodes one frame; a frame that decodes must
/// encode to bytes that decode to the same message (the relay re-encodes
/// what it forwards).
pub fn wire_decode(data: &[u8]) {
    if data.len() > MAX_INPUT_BYTES {
        return;
    }
    let Ok(message) = sync_core::Message::decode(data) else { return };
    let encoded = message.encode();
    match sync_core::Message::decode(&encoded) {
        Ok(again) => assert_eq!(again, message, "a decoded message re-encodes to another message"),
        Err(error) => panic!("a decoded message re-encodes to an undecodable frame: {error}"),
    }
}
