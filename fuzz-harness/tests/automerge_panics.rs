//! Chunks on which Automerge 0.12 panics (found by the `agenda_reader`
//! fuzz target, kept in `fuzz/automerge-panics/`, checksums already
//! valid), sent by a writer in a sync message: the relay refuses them with
//! an error and a close, its document and storage as they were, instead of
//! panicking with the document half-changed. Files named `new-document-*`
//! panic on a document the relay does not hold yet, `territory-*` on the
//! seed territory.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use fuzz_harness::relay::{self, Relay};
use fuzz_harness::{corpus, seeds};
use sync_core::automerge::Automerge;
use sync_core::automerge::sync::{ChunkList, Message as AmMessage, MessageVersion};
use sync_core::{Access, Message, SyncMessage};

/// The committed inputs, by file name.
fn inputs() -> Vec<(String, Vec<u8>)> {
    let dir = corpus::fuzz_dir().join("automerge-panics");
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fuzz/automerge-panics is in the repository")
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("readable")))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 4, "fuzz/automerge-panics holds {} inputs", inputs.len());
    inputs
}

/// Where the input panics: on the seed territory, or on an empty relay.
fn storage_for(name: &str) -> BTreeMap<sync_core::StorageKey, Vec<u8>> {
    if name.starts_with("territory-") { seeds::territory_storage() } else { BTreeMap::new() }
}

/// The writer's `sync` frame for the seed territory carrying `chunk`.
fn sync_frame(chunk: Vec<u8>) -> Vec<u8> {
    let data = AmMessage {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: ChunkList::from(vec![chunk]),
        flags: None,
        version: MessageVersion::V2,
    }
    .encode();
    Message::Sync(SyncMessage {
        sender: relay::CLIENT_PEER.parse().expect("peer"),
        target: relay::RELAY_PEER.parse().expect("peer"),
        document: seeds::territory_id(),
        data,
    })
    .encode()
}

// See: issue #12, Fuzzing.
#[test]
fn r12_fuzz_chunks_automerge_panics_on_are_refused_and_change_nothing() {
    for (name, chunk) in inputs() {
        let mut relay = Relay::start(storage_for(&name), Access::ReadWrite);
        let stored = relay.storage().clone();
        let conn = relay.accept();
        relay.receive(conn, relay::client_join());
        relay.take_sent(conn);
        relay.receive(conn, sync_frame(chunk));
        assert!(relay.is_closed(conn), "{name}: the writer's connection stays open");
        let errors: Vec<String> = relay
            .take_sent(conn)
            .iter()
            .filter_map(|frame| match Message::decode(frame) {
                Ok(Message::Error { message, .. }) => Some(message),
                _ => None,
            })
            .collect();
        assert_eq!(errors, ["invalid sync message: changes that Automerge cannot apply"], "{name}");
        assert!(relay.storage() == &stored, "{name}: the storage changed");
    }
}

/// The inputs still make Automerge panic: while they do, the relay's
/// containment is what the test above checks. When an Automerge upgrade
/// fixes them, this fails: find new inputs or drop the copy in
/// `sync_core::repo::receive_changes_contained`.
#[test]
fn the_inputs_still_make_automerge_panic() {
    for (name, chunk) in inputs() {
        let base = if name.starts_with("territory-") { seeds::territory_document() } else { Automerge::new() };
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let mut doc = base.clone();
            let _ = doc.load_incremental(&chunk);
        }))
        .is_err();
        assert!(panicked, "{name}: Automerge no longer panics on it");
    }
}
