//! Replays the minimised crashing inputs of `fuzz/crashers/<target>/`: each
//! must now run to the end without a panic, an abort or a stack overflow.
//!
//! Built only with the `crashers` feature until the fixes of issue 12 items
//! 1 and 2 are merged (on older code these inputs take the test process
//! down); the merge enables it by removing `required-features` from
//! `fuzz/harness/Cargo.toml`.

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
