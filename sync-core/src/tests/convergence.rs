//! The core promise as a property: whatever the edits, partitions and
//! restarts, once the network heals every replica holds the same document,
//! and nothing any client wrote is lost.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::sim::{NodeId, RELAY, Sim};

const CLIENTS: usize = 3;
const DOCS: [&str; 2] = ["agenda", "profil"];

#[derive(Debug, Clone)]
enum Action {
    /// A client writes a key of its own (must survive) and the shared key
    /// (a concurrent conflict that must converge).
    Write {
        client: usize,
        doc: usize,
        shared: bool,
    },
    Cut {
        client: usize,
    },
    Heal {
        client: usize,
    },
    RestartClient {
        client: usize,
    },
    RestartRelay,
    /// Deliver a few rounds of frames only, leaving the rest in flight.
    Deliver {
        rounds: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let client = 1..=CLIENTS;
    prop_oneof![
        4 => (client.clone(), 0..DOCS.len(), any::<bool>())
            .prop_map(|(client, doc, shared)| Action::Write { client, doc, shared }),
        1 => client.clone().prop_map(|client| Action::Cut { client }),
        1 => client.clone().prop_map(|client| Action::Heal { client }),
        1 => client.prop_map(|client| Action::RestartClient { client }),
        1 => Just(Action::RestartRelay),
        2 => (1..12usize).prop_map(|rounds| Action::Deliver { rounds }),
    ]
}

fn run(actions: &[Action], batch_relay: bool, offload: bool) -> Result<(), TestCaseError> {
    simulate(actions, batch_relay, offload, true).map(drop)
}

/// Runs the actions, heals everything and checks the promise; returns the
/// simulation for what else a property compares. `share` is the relay's
/// `Config::fast_fan_out`.
fn simulate(actions: &[Action], batch_relay: bool, offload: bool, share: bool) -> Result<Sim, TestCaseError> {
    let names = ["alice", "bob", "carol"];
    let mut sim = Sim::new(&names[..CLIENTS]);
    sim.reconfigure_relay(|c| {
        c.offload_changes_above_ops = offload.then_some(0);
        c.fast_fan_out = share;
    });
    sim.batch_relay = batch_relay;
    let docs: Vec<_> = DOCS.iter().map(|d| sim.create(1, d)).collect();
    for client in 2..=CLIENTS {
        for doc in &docs {
            sim.open(client, doc);
        }
    }
    sim.run_until_quiet();

    let mut written: Vec<BTreeSet<String>> = vec![BTreeSet::new(); DOCS.len()];
    for (n, action) in actions.iter().enumerate() {
        match *action {
            Action::Write { client, doc, shared } => {
                sim.settle(client);
                let key = format!("{}-{n}", names[client - 1]);
                sim.put(client, &docs[doc], &key, "écrit");
                written[doc].insert(format!("{key}=écrit"));
                if shared {
                    sim.put(client, &docs[doc], "partagé", names[client - 1]);
                }
            }
            Action::Cut { client } => sim.disconnect(client),
            Action::Heal { client } => sim.connect(client),
            Action::RestartClient { client } => sim.restart(client),
            Action::RestartRelay => sim.restart(RELAY),
            Action::Deliver { rounds } => sim.steps(rounds),
        }
    }
    for client in 1..=CLIENTS {
        sim.connect(client);
    }
    sim.run_until_quiet();

    let nodes: Vec<NodeId> = (0..=CLIENTS).collect();
    for (d, doc) in docs.iter().enumerate() {
        let relay_heads = sim.heads(RELAY, doc);
        prop_assert!(relay_heads.is_some(), "relay lost {}", DOCS[d]);
        let relay_content = sim.nodes[RELAY].content(doc).expect("loaded");
        for &node in &nodes {
            prop_assert_eq!(&sim.heads(node, doc), &relay_heads, "heads of {} on {}", DOCS[d], sim.nodes[node].name);
            let content = sim.nodes[node].content(doc).expect("loaded");
            prop_assert_eq!(&content, &relay_content, "content of {} on {}", DOCS[d], sim.nodes[node].name);
        }
        // Every client knows the relay has its changes (what the PWA shows
        // as "aucune modification en attente").
        for client in 1..=CLIENTS {
            let pending = sim.nodes[client].repo.unacknowledged_changes(doc);
            prop_assert_eq!(pending, Some(0), "{} unacknowledged on {}", DOCS[d], sim.nodes[client].name);
        }
        let present: BTreeSet<String> = relay_content.into_iter().collect();
        let lost: Vec<&String> = written[d].difference(&present).collect();
        prop_assert!(lost.is_empty(), "lost writes in {}: {:?}", DOCS[d], lost);
    }
    for node in &sim.nodes {
        prop_assert!(node.closed.is_empty(), "{} closed a connection: {:?}", node.name, node.closed);
    }
    Ok(sim)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_and_lose_nothing(actions in proptest::collection::vec(action(), 0..40)) {
        run(&actions, false, false)?;
    }

    /// The same with the relay taking each round's frames as one batch
    /// (`Repo::handle_batch`, what the hub does under load).
    #[test]
    fn replicas_converge_and_lose_nothing_with_a_batching_relay(
        actions in proptest::collection::vec(action(), 0..40),
    ) {
        run(&actions, true, false)?;
    }

    /// The same with the relay applying every peer's changes through a
    /// `ChangesJob`, handed back a round later like a load: the document's
    /// messages wait meanwhile (what the hub does with large messages).
    #[test]
    fn replicas_converge_and_lose_nothing_with_changes_applied_through_jobs(
        actions in proptest::collection::vec(action(), 0..40),
        batch_relay in any::<bool>(),
    ) {
        run(&actions, batch_relay, true)?;
    }

    /// Sharing a sync message between peers in the same state changes
    /// nothing a peer sees: the same frames, byte for byte and in the same
    /// order, as generating each peer's message on its own.
    #[test]
    fn shared_sync_messages_put_the_same_bytes_on_the_wire(
        actions in proptest::collection::vec(action(), 0..40),
        batch_relay in any::<bool>(),
    ) {
        let shared = simulate(&actions, batch_relay, false, true)?;
        let alone = simulate(&actions, batch_relay, false, false)?;
        prop_assert_eq!(&shared.trace, &alone.trace);
        prop_assert_eq!(shared.wire_digest, alone.wire_digest);
        let counts = |sim: &Sim| sim.nodes[RELAY].repo.sync_message_counts();
        prop_assert_eq!(counts(&alone).shared, 0);
    }
}
