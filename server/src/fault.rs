//! Test-only fault injection, compiled only with the `fault-injection`
//! feature, which only the `tests` crate turns on (as a dev-dependency
//! feature, so no build of the `essaim` binary has it).
//!
//! It makes a panic reachable from peer input on purpose, so that the
//! integration tests can check that the hub contains it, even once every
//! known panic is fixed. It does nothing else.

use sync_core::Input;

/// A binary frame with exactly these bytes makes the hub panic while it
/// handles the batch holding it, as a bug reached by peer input would.
pub const PANIC_FRAME: &[u8] = b"essaim fault injection: panic in the hub";

/// Panics if one of `batch`'s frames is [`PANIC_FRAME`].
pub(crate) fn panic_if_asked(batch: &[Input]) {
    let asked = batch.iter().any(|input| matches!(input, Input::Received { bytes, .. } if bytes == PANIC_FRAME));
    assert!(!asked, "fault injection: a peer sent the panic frame");
}
