//! Regressions found by reviewing the core against the protocol reference,
//! and by benchmarking the relay (batching). Each test
//! failed before its fix.

use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;

use super::sim::{RELAY, Sim};
use crate::{
    Access, CloseReason, ConnId, DecodeError, Direction, EphemeralMessage, Input, Message, Output, PeerMetadata,
    SyncMessage, UnixMillis,
};

fn feed(sim: &mut Sim, input: Input) -> Vec<Output> {
    sim.now.0 += 10;
    let now = sim.now;
    sim.nodes[RELAY].repo.handle(now, input)
}

fn raw_join(sim: &mut Sim, conn: ConnId, name: &str) {
    let join = Message::Join {
        sender: name.parse().expect("peer"),
        metadata: PeerMetadata::default(),
        supported_versions: Some(vec!["1".into()]),
    };
    feed(sim, Input::Connected { conn, direction: Direction::Inbound, expected_peer: None });
    let out = feed(sim, Input::Received { conn, bytes: join.encode() });
    assert!(matches!(&out[..], [Output::Send { .. }]), "{out:?}");
}

/// Answers access checks (read-write) and loads (empty) like a driver.
fn drive(sim: &mut Sim, mut out: Vec<Output>) -> Vec<Output> {
    let mut rest = Vec::new();
    for _ in 0..10 {
        let mut more = Vec::new();
        for o in out {
            match o {
                Output::CheckAccess { conn, doc, .. } => {
                    more.extend(feed(sim, Input::AccessDecided { conn, doc, access: Access::ReadWrite }))
                }
                Output::Load { doc } => more.extend(feed(sim, Input::Loaded { doc, entries: vec![] })),
                other => rest.push(other),
            }
        }
        if more.is_empty() {
            break;
        }
        out = more;
    }
    rest
}

fn sync_body(sender: &str, doc: &crate::DocumentId, data: Vec<u8>) -> SyncMessage {
    SyncMessage {
        sender: sender.parse().expect("peer"),
        target: "relay".parse().expect("peer"),
        document: doc.clone(),
        data,
    }
}

fn first_message(with_change: bool) -> Vec<u8> {
    let mut doc = automerge::Automerge::new();
    if with_change {
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "k", "v").expect("put");
        tx.commit();
    }
    doc.generate_sync_message(&mut automerge::sync::State::new()).expect("first message").encode()
}

#[test]
fn nested_maps_are_bounded_and_decode_in_linear_time() {
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(3).and_then(|e| e.str("type")).and_then(|e| e.str("join")).expect("vec");
    e.str("senderId").and_then(|e| e.str("eve")).expect("vec");
    e.str("peerMetadata").and_then(|e| e.map(20_000)).expect("vec");
    for i in 0..20_000 {
        e.str(&format!("k{i}")).and_then(|e| e.u8(0)).expect("vec");
    }
    assert_eq!(Message::decode(&e.into_writer()), Err(DecodeError::TooManyEntries(20_000)));

    // Before the handshake, frames are small.
    let mut sim = Sim::new(&[]);
    let conn = ConnId(900);
    feed(&mut sim, Input::Connected { conn, direction: Direction::Inbound, expected_peer: None });
    let out = feed(&mut sim, Input::Received { conn, bytes: vec![0xa0; 100_000] });
    assert!(matches!(out.last(), Some(Output::Close { reason: CloseReason::TooLarge { .. }, .. })), "{out:?}");
}

#[test]
fn a_relay_without_storage_never_unloads_its_only_copy() {
    let mut sim = Sim::new(&["alice", "bob"]);
    sim.reconfigure_relay(|config| config.persistent = false);
    let agenda = sim.create(1, "agenda");
    sim.put(1, &agenda, "titre", "Marché");
    sim.run_until_quiet();
    sim.disconnect(1);
    sim.now = UnixMillis(sim.now.0 + 3_600_000);
    sim.input(RELAY, Input::Tick);
    sim.open(2, &agenda);
    sim.run_until_quiet();
    assert_eq!(sim.nodes[2].content(&agenda), Some(vec!["titre=Marché".to_owned()]));
}

#[test]
fn a_requester_is_answered_when_the_only_peer_that_had_the_document_leaves() {
    let mut sim = Sim::new(&[]);
    let agenda = Sim::doc_id("agenda");
    let (e1, e2) = (ConnId(901), ConnId(902));
    raw_join(&mut sim, e1, "eve1");
    raw_join(&mut sim, e2, "eve2");
    let out = feed(
        &mut sim,
        Input::Received { conn: e1, bytes: Message::Sync(sync_body("eve1", &agenda, first_message(true))).encode() },
    );
    drive(&mut sim, out);
    let out = feed(
        &mut sim,
        Input::Received {
            conn: e2,
            bytes: Message::Request(sync_body("eve2", &agenda, first_message(false))).encode(),
        },
    );
    let answered = drive(&mut sim, out);
    assert!(!answered.iter().any(|o| matches!(o, Output::Send { conn, .. } if *conn == e2)), "{answered:?}");
    let out = feed(&mut sim, Input::Disconnected { conn: e1 });
    let sent: Vec<String> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { conn, bytes } if *conn == e2 => {
                Message::decode(&bytes.to_vec()).ok().map(|m| m.kind().to_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec!["doc-unavailable"]);
}

#[test]
fn a_read_only_peer_having_the_document_does_not_keep_others_waiting() {
    let mut sim = Sim::new(&["bob", "carol"]);
    let agenda = Sim::doc_id("agenda");
    sim.nodes[RELAY].grants.insert(("bob".into(), agenda.clone()), Access::ReadOnly);
    sim.create(1, "agenda");
    sim.put(1, &agenda, "titre", "x");
    sim.run_until_quiet();
    sim.open(2, &agenda);
    sim.run_until_quiet();
    assert!(sim.nodes[2].events.iter().any(|e| e.starts_with("unavailable")), "{:?}", sim.nodes[2].events);
}

#[test]
fn a_peer_may_not_forge_the_author_of_an_ephemeral_message() {
    let mut sim = Sim::new(&["alice", "bob"]);
    let agenda = sim.create(1, "agenda");
    sim.open(2, &agenda);
    sim.run_until_quiet();
    let eve = ConnId(900);
    raw_join(&mut sim, eve, "eve");
    let forged = Message::Ephemeral(EphemeralMessage {
        sender: "alice".parse().expect("peer"),
        target: "relay".parse().expect("peer"),
        document: agenda.clone(),
        session: "session-alice-0".into(),
        count: u64::MAX,
        data: b"forged".to_vec(),
    });
    let out = feed(&mut sim, Input::Received { conn: eve, bytes: forged.encode() });
    // Dropped unread (JS clients echo relayed ephemeral messages this way):
    // neither forwarded nor counted for deduplication.
    assert!(out.is_empty(), "{out:?}");
    sim.input(1, Input::Broadcast { doc: agenda, data: b"salut".to_vec() });
    sim.run_until_quiet();
    assert!(sim.nodes[2].events.iter().any(|e| e.contains("salut")), "{:?}", sim.nodes[2].events);
    assert!(!sim.nodes[2].events.iter().any(|e| e.contains("forged")));
}

#[test]
fn a_connection_cannot_touch_unbounded_documents() {
    let mut sim = Sim::new(&[]);
    let eve = ConnId(900);
    raw_join(&mut sim, eve, "eve");
    let mut closed = None;
    for i in 0..2_000u32 {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&i.to_be_bytes());
        let doc = crate::DocumentId::from_bytes(&id).expect("id");
        let out = feed(
            &mut sim,
            Input::Received {
                conn: eve,
                bytes: Message::Request(sync_body("eve", &doc, first_message(false))).encode(),
            },
        );
        if let Some(Output::Close { reason, .. }) = out.last() {
            closed = Some((i, reason.clone()));
            break;
        }
    }
    let (at, reason) = closed.expect("closed");
    assert_eq!(at, 1000);
    assert_eq!(reason.to_string(), "protocol violation: more than 1000 documents on one connection");
}

#[test]
fn a_change_queued_during_a_load_is_dropped_if_access_is_revoked_meanwhile() {
    let mut sim = Sim::new(&["alice", "bob"]);
    let agenda = sim.create(1, "agenda");
    sim.open(2, &agenda);
    sim.run_until_quiet();
    sim.now = UnixMillis(sim.now.0 + 3_600_000);
    sim.input(RELAY, Input::Tick);
    assert_eq!(sim.nodes[RELAY].repo.documents_in_memory().count(), 0);
    sim.put(1, &agenda, "lieu", "Halle");
    let frame = sim.links[0].to_relay.pop_front().expect("alice's sync");
    let conn = sim.links[0].relay_conn;
    sim.input(RELAY, Input::Received { conn, bytes: frame });
    sim.input(RELAY, Input::AccessDecided { conn, doc: agenda.clone(), access: Access::Denied });
    sim.settle(RELAY);
    sim.run_until_quiet();
    assert_eq!(sim.nodes[2].content(&agenda), Some(vec![]));
    assert_eq!(sim.nodes[RELAY].content(&agenda), Some(vec![]));
}

#[test]
fn a_join_with_another_peer_id_than_the_one_bound_is_refused() {
    let mut sim = Sim::new(&["alice"]);
    let conn = ConnId(900);
    let expected_peer = Some("eve".parse().expect("peer"));
    feed(&mut sim, Input::Connected { conn, direction: Direction::Inbound, expected_peer });
    let join = Message::Join {
        sender: "alice".parse().expect("peer"),
        metadata: PeerMetadata::default(),
        supported_versions: Some(vec!["1".into()]),
    };
    let out = feed(&mut sim, Input::Received { conn, bytes: join.encode() });
    assert!(matches!(out.last(), Some(Output::Close { reason: CloseReason::ProtocolViolation(_), .. })), "{out:?}");
    assert!(sim.nodes[RELAY].closed.is_empty() && sim.links[0].up, "alice was not knocked off");
}

#[test]
fn hostile_have_and_need_lists_do_not_break_the_relay() {
    let mut sim = Sim::new(&["alice"]);
    let agenda = sim.create(1, "agenda");
    for i in 0..20 {
        sim.put(1, &agenda, &format!("k{i}"), "v");
    }
    sim.run_until_quiet();
    let eve = ConnId(900);
    raw_join(&mut sim, eve, "eve");
    let real = sim.heads(RELAY, &agenda).expect("loaded");
    let base = automerge::Automerge::new().generate_sync_message(&mut automerge::sync::State::new()).expect("first");
    let good = base.have[0].clone();
    let bad = automerge::sync::Have { last_sync: vec![automerge::ChangeHash([7; 32])], bloom: good.bloom.clone() };
    let mut variants = Vec::new();
    let mut m = base.clone();
    m.have = vec![good.clone(), bad.clone()];
    variants.push(m);
    let mut m = base.clone();
    m.have = vec![automerge::sync::Have { last_sync: real, bloom: good.bloom.clone() }, bad];
    variants.push(m);
    let mut m = base;
    m.heads = (0..1000u32)
        .map(|i| {
            let mut h = [0u8; 32];
            h[..4].copy_from_slice(&i.to_be_bytes());
            automerge::ChangeHash(h)
        })
        .collect();
    m.need = m.heads.clone();
    variants.push(m);
    for v in variants {
        let out = feed(
            &mut sim,
            Input::Received { conn: eve, bytes: Message::Sync(sync_body("eve", &agenda, v.encode())).encode() },
        );
        drive(&mut sim, out);
    }
    sim.put(1, &agenda, "après", "oui");
    sim.run_until_quiet();
    assert_eq!(sim.heads(RELAY, &agenda), sim.heads(1, &agenda), "the relay still serves alice");
}

/// A relay fed a burst as one batch (`Repo::handle_batch`, what the hub
/// does with the frames waiting in its queue) sends each reader one sync
/// message carrying every change of the burst, instead of one per change,
/// and the readers end up with the writer's document.
#[test]
fn a_batching_relay_sends_each_reader_one_message_per_burst() {
    use super::sim::{RELAY, Sim};

    let mut sim = Sim::new(&["alice", "bob", "carol"]);
    let (alice, bob, carol) = (sim.node("alice"), sim.node("bob"), sim.node("carol"));
    let doc = sim.create(alice, "rafale");
    sim.run_until_quiet();
    sim.open(bob, &doc);
    sim.open(carol, &doc);
    sim.run_until_quiet();
    sim.batch_relay = true;

    // Alice's five changes are queued towards the relay before it reads any.
    for i in 0..5 {
        sim.put(alice, &doc, &format!("k{i}"), "v");
    }
    sim.steps(1);
    for reader in [bob, carol] {
        let queued = &sim.links.iter().find(|l| l.client == reader).expect("a link").to_client;
        assert_eq!(queued.len(), 1, "one sync message for the burst, not one per change");
    }
    sim.run_until_quiet();
    let heads = sim.heads(alice, &doc);
    assert_eq!(sim.heads(bob, &doc), heads);
    assert_eq!(sim.heads(carol, &doc), heads);

    // Without batching, nor holding messages for the readers' answers
    // (`coalescing.rs`), the same burst costs a message per change.
    sim.batch_relay = false;
    sim.reconfigure_relay(|c| c.hold_for_answer_ms = None);
    sim.nodes[alice].config.hold_for_answer_ms = None;
    sim.restart(alice);
    sim.run_until_quiet();
    for i in 5..10 {
        sim.put(alice, &doc, &format!("k{i}"), "v");
    }
    let before = sim.kinds(RELAY, bob).len();
    sim.run_until_quiet();
    let sent = sim.kinds(RELAY, bob).len() - before;
    assert!(sent >= 5, "one message per change without batching: {sent}");
    assert_eq!(sim.heads(bob, &doc), sim.heads(alice, &doc));
}
