//! Coalescing (`Config::hold_for_answer_ms`): once a peer was sent changes,
//! what follows waits for its answer, so a reader slower than the writer
//! gets a message per round trip carrying everything new, not one per
//! change. That holding never loses or strands a change is the convergence
//! property (`convergence.rs`, which runs with it on); here, that it is
//! taken, and that a peer that says nothing still gets what was held.

use super::sim::{NodeId, RELAY, Sim};
use crate::{ConnId, Input, Message, Output, SyncMessage};

const BURST: usize = 10;

/// Alice writes `BURST` changes, sent one message each (she does not hold,
/// like a peer built on another implementation); the relay takes them all
/// before Bob's link delivers anything. Returns the sync messages the relay
/// sent Bob for the burst.
fn burst_to_a_reader_behind(relay_holds: bool) -> usize {
    let mut sim = Sim::new(&["alice", "bob"]);
    let (alice, bob) = (sim.node("alice"), sim.node("bob"));
    sim.nodes[alice].config.hold_for_answer_ms = None;
    sim.restart(alice);
    if !relay_holds {
        sim.reconfigure_relay(|c| c.hold_for_answer_ms = None);
    }
    let doc = sim.create(alice, "rafale");
    sim.open(bob, &doc);
    sim.run_until_quiet();

    for i in 0..BURST {
        sim.put(alice, &doc, &format!("k{i}"), "v");
    }
    let frames: Vec<Vec<u8>> = link(&mut sim, alice).to_relay.drain(..).collect();
    assert_eq!(frames.len(), BURST, "alice sends one message per change");
    let relay_conn = link(&mut sim, alice).relay_conn;
    for bytes in frames {
        sim.input(RELAY, Input::Received { conn: relay_conn, bytes });
    }
    let queued = link(&mut sim, bob).to_client.len();
    let before = sync_messages(&sim, bob);
    sim.run_until_quiet();
    assert_eq!(sim.heads(bob, &doc), sim.heads(alice, &doc), "bob has the whole burst");
    if relay_holds {
        assert_eq!(queued, 1, "while bob has not answered the first change, the rest waits");
    }
    // Frames enter the trace when delivered: the queued ones are counted.
    sync_messages(&sim, bob) - before
}

fn link(sim: &mut Sim, client: NodeId) -> &mut super::sim::Link {
    sim.links.iter_mut().find(|l| l.client == client).expect("a link")
}

fn sync_messages(sim: &Sim, to: NodeId) -> usize {
    sim.kinds(RELAY, to).iter().filter(|k| *k == "sync").count()
}

#[test]
fn a_reader_behind_gets_a_burst_in_two_messages_not_one_per_change() {
    assert_eq!(burst_to_a_reader_behind(true), 2, "the first change, then the rest in one message");
    let alone = burst_to_a_reader_behind(false);
    assert!(alone >= BURST, "without holding, one message per change at least: {alone}");
}

/// A hand-driven peer gets a document the relay creates, then a second
/// change: it waits for the peer's answer to the first, at most
/// `hold_for_answer_ms`. A peer that says nothing (as one that already had
/// the changes) gets it at the deadline; one that answers, at once.
#[test]
fn a_held_message_goes_at_its_deadline_when_the_peer_says_nothing() {
    use automerge::sync::SyncDoc;
    for answers in [false, true] {
        let config = crate::Config::new("relais".parse().expect("id"), automerge::ActorId::from([1; 16]), "s".into());
        let hold = config.hold_for_answer_ms.expect("holding is the default");
        let mut relay = crate::Repo::start(config, None, [1; 16]).expect("start").0;
        let conn = crate::ConnId(1);
        let peer: crate::PeerId = "lectrice".parse().expect("id");
        let connected = Input::Connected { conn, direction: crate::Direction::Inbound, expected_peer: None };
        relay.handle(crate::UnixMillis(0), connected);
        let metadata = crate::PeerMetadata { storage_id: None, is_ephemeral: true };
        let versions = Some(vec![crate::PROTOCOL_VERSION.into()]);
        let join = Message::Join { sender: peer.clone(), metadata, supported_versions: versions };
        relay.handle(crate::UnixMillis(0), Input::Received { conn, bytes: join.encode() });

        // The relay announces the document; the peer, which has nothing,
        // answers; the relay sends the document's changes.
        let (doc, created) = relay.create_document(crate::UnixMillis(500), &[7; 16]).expect("created");
        let mut am = automerge::Automerge::new();
        let mut state = automerge::sync::State::new();
        let mut answer = |relay: &mut crate::Repo, at: u64, data: &[u8]| {
            let message = automerge::sync::Message::decode(data).expect("sync message");
            am.receive_sync_message(&mut state, message).expect("applied");
            let data = am.generate_sync_message(&mut state).expect("an answer").encode();
            let body =
                SyncMessage { sender: peer.clone(), target: relay.peer_id().clone(), document: doc.clone(), data };
            relay.handle(crate::UnixMillis(at), Input::Received { conn, bytes: Message::Sync(body).encode() })
        };
        let announced = sent(&created, conn);
        assert_eq!(announced.len(), 1, "the document is announced");
        let t0 = 1_000;
        let first = sent(&answer(&mut relay, t0, &announced[0]), conn);
        assert_eq!(first.len(), 1, "its changes go at once");
        let second = relay
            .change_document(crate::UnixMillis(t0 + 10), &doc, |tx| {
                automerge::transaction::Transactable::put(tx, automerge::ROOT, "titre", "Repair café").map(drop)
            })
            .expect("change");
        assert!(sent(&second, conn).is_empty(), "the change waits for the peer's answer");
        assert_eq!(relay.held_messages(), 1);
        assert_eq!(relay.next_deadline(), Some(crate::UnixMillis(t0 + hold)));
        let released = if answers {
            // The peer applies the document and answers with its heads.
            answer(&mut relay, t0 + 20, &first[0])
        } else {
            let early = relay.handle(crate::UnixMillis(t0 + hold - 1), Input::Tick);
            assert!(sent(&early, conn).is_empty(), "not before the deadline");
            relay.handle(crate::UnixMillis(t0 + hold), Input::Tick)
        };
        let released = sent(&released, conn);
        assert_eq!(released.len(), 1, "the held change goes (answered: {answers})");
        let message = automerge::sync::Message::decode(&released[0]).expect("sync message");
        assert_eq!(message.changes.len(), 1, "it carries the change");
        assert_eq!(relay.held_messages(), 0);
    }
}

/// The payloads of the sync messages sent on `to`.
fn sent(out: &[Output], to: ConnId) -> Vec<Vec<u8>> {
    let payload = |o: &Output| match o {
        Output::Send { conn, bytes } if *conn == to => match Message::decode(&bytes.to_vec()) {
            Ok(Message::Sync(body) | Message::Request(body)) => Some(body.data),
            _ => None,
        },
        _ => None,
    };
    out.iter().filter_map(payload).collect()
}
