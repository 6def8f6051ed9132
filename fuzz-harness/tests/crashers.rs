//! Replays the minimised crashing inputs of `fuzz/crashers/<target>/`: each
//! must now run to the end without a panic, an abort or a stack overflow.
//!
//! Built only with the `crashers` feature while `fuzz/crashers/` is empty
//! (the fuzz campaigns so far found no crash in our code; Automerge's own
//! panics are in `fuzz/automerge-panics/`, see `automerge_panics.rs`):
//! remove `required-features` from `fuzz-harness/Cargo.toml` with the first
//! committed crasher.

use fuzz_harness::{Target, corpus};

// See: issue #12, Fuzzing (items 1 and 2).
#[test]
fn r12_fuzz_crashers_no_longer_crash() {
    let mut replayed = 0;
    for target in Target::ALL {
        for (_, bytes) in corpus::inputs("crashers", target) {
            target.run(&bytes);
            replayed += 1;
        }
    }
    assert!(replayed > 0, "fuzz/crashers holds no input");
}
