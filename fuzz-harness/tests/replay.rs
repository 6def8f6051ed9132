//! Replays the committed seed corpus through every fuzz target's body: what
//! `cargo test` runs instead of fuzzing (fast, deterministic).

use std::time::{Duration, Instant};

use fuzz_harness::{Target, corpus};

/// The whole replay takes well under a second in a debug build; this
/// bound only catches a seed that became pathologically slow.
const BUDGET: Duration = Duration::from_secs(60);

#[test]
fn every_target_replays_its_seed_corpus() {
    let started = Instant::now();
    for target in Target::ALL {
        let inputs = corpus::inputs("seeds", target);
        assert!(inputs.len() >= 4, "fuzz/seeds/{} holds {} seeds", target.name(), inputs.len());
        for (_, bytes) in inputs {
            target.run(&bytes);
        }
    }
    assert!(started.elapsed() < BUDGET, "replay took {:?}", started.elapsed());
}

#[test]
fn agenda_seeds_are_documents_the_reader_loads() {
    for (path, bytes) in corpus::inputs("seeds", Target::AgendaReader) {
        assert!(fuzz_harness::agenda::loads(&bytes), "{} does not load", path.display());
    }
}

#[test]
fn committed_seeds_are_what_the_generator_makes() {
    for (target, name, bytes) in fuzz_harness::seeds::all() {
        let path = corpus::fuzz_dir().join("seeds").join(target.name()).join(&name);
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(committed == bytes, "{} is stale: run `cargo run -p fuzz-harness --bin seeds`", path.display());
    }
}
