//! Relaying one change to many readers (`FanOut` in `repo/peer_doc.rs`):
//! readers in the same sync state share one generated message. That the
//! shared path puts the same bytes on the wire as generating each message
//! alone is the property in `convergence.rs`; here, that it is taken.

use super::sim::{RELAY, Sim};

const READERS: usize = 20;

fn writer_and_readers(batch_relay: bool) -> (Sim, crate::DocumentId) {
    let names: Vec<String> =
        std::iter::once("alice".to_owned()).chain((1..=READERS).map(|i| format!("lecteur{i}"))).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut sim = Sim::new(&names);
    sim.batch_relay = batch_relay;
    let doc = sim.create(1, "agenda");
    for reader in 2..=READERS + 1 {
        sim.open(reader, &doc);
    }
    sim.run_until_quiet();
    (sim, doc)
}

/// One change from the writer reaches every reader for a single Automerge
/// generation on the relay, however many readers there are.
fn one_change_costs_one_generation(batch_relay: bool) {
    let (mut sim, doc) = writer_and_readers(batch_relay);
    let before = sim.nodes[RELAY].repo.sync_message_counts();
    sim.put(1, &doc, "titre", "Repair café");
    sim.run_until_quiet();
    let after = sim.nodes[RELAY].repo.sync_message_counts();
    for reader in 2..=READERS + 1 {
        assert_eq!(sim.heads(reader, &doc), sim.heads(1, &doc), "{} has the change", sim.nodes[reader].name);
    }
    let (generated, shared) = (after.generated - before.generated, after.shared - before.shared);
    // The readers' copy of the change is generated once and shared with
    // the other nineteen; the writer's answer is the other generation. The
    // readers' acknowledgements leave them in sync: Automerge is not asked.
    assert_eq!(shared, READERS as u64 - 1, "generated {generated}");
    assert!(generated <= 2, "generated {generated}, shared {shared}");
}

#[test]
fn one_change_to_twenty_readers_is_generated_once() {
    one_change_costs_one_generation(false);
}

#[test]
fn one_change_to_twenty_readers_is_generated_once_in_batches() {
    one_change_costs_one_generation(true);
}

#[test]
fn without_sharing_each_reader_costs_a_generation() {
    let (mut sim, doc) = writer_and_readers(false);
    sim.reconfigure_relay(|c| c.fast_fan_out = false);
    for reader in 2..=READERS + 1 {
        sim.open(reader, &doc);
    }
    sim.run_until_quiet();
    let before = sim.nodes[RELAY].repo.sync_message_counts();
    sim.put(1, &doc, "titre", "Repair café");
    sim.run_until_quiet();
    let after = sim.nodes[RELAY].repo.sync_message_counts();
    assert_eq!(after.shared, 0);
    assert!(after.generated - before.generated >= 2 * READERS as u64, "{after:?} after {before:?}");
}
