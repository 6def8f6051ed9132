//! Bad input from a peer: each case gets an `error` frame then a close with a
//! clear reason, and changes nothing stored.

use expect_test::{Expect, expect};

use super::sim::{RELAY, Sim};
use crate::{ConnId, Direction, Input, Message, Output, PeerMetadata, SyncMessage};

const RAW: ConnId = ConnId(900);

/// A relay holding one document, and a raw connection from "eve".
fn relay_with_document() -> Sim {
    let mut sim = Sim::new(&["alice"]);
    let agenda = sim.create(1, "agenda");
    sim.put(1, &agenda, "titre", "Marché");
    sim.run_until_quiet();
    sim
}

fn feed(sim: &mut Sim, input: Input) -> Vec<Output> {
    sim.now.0 += 10;
    let now = sim.now;
    sim.nodes[RELAY].repo.handle(now, input)
}

fn join(sim: &mut Sim, sender: &str) {
    let join = Message::Join {
        sender: sender.parse().expect("peer"),
        metadata: PeerMetadata::default(),
        supported_versions: Some(vec!["1".into()]),
    };
    feed(sim, Input::Connected { conn: RAW, direction: Direction::Inbound, expected_peer: None });
    let answer = feed(sim, Input::Received { conn: RAW, bytes: join.encode() });
    assert!(matches!(&answer[..], [Output::Send { .. }]), "{answer:?}");
}

/// Renders what the relay did: frames sent (decoded) and closes.
fn render(outputs: &[Output]) -> String {
    outputs
        .iter()
        .map(|o| match o {
            Output::Send { conn, bytes } => match Message::decode(&bytes.to_vec()) {
                Ok(Message::Error { message, .. }) => format!("{conn} <- error: {message}"),
                Ok(m) => format!("{conn} <- {}", m.kind()),
                Err(e) => format!("{conn} <- undecodable: {e}"),
            },
            Output::Close { conn, reason } => format!("close {conn}: {reason}"),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
fn check(after_join: bool, bytes: Vec<u8>, expect: Expect) {
    let mut sim = relay_with_document();
    if after_join {
        join(&mut sim, "eve");
    } else {
        feed(&mut sim, Input::Connected { conn: RAW, direction: Direction::Inbound, expected_peer: None });
    }
    let stored = sim.nodes[RELAY].storage.clone();
    let outputs = feed(&mut sim, Input::Received { conn: RAW, bytes });
    expect.assert_eq(&render(&outputs));
    assert_eq!(sim.nodes[RELAY].storage, stored, "bad input changed storage");
    // The connection is forgotten: later frames are ignored.
    assert!(feed(&mut sim, Input::Received { conn: RAW, bytes: vec![0xa0] }).is_empty());
    // The honest client still works.
    sim.put(1, &Sim::doc_id("agenda"), "lieu", "Halle");
    sim.run_until_quiet();
    assert_eq!(sim.heads(RELAY, &Sim::doc_id("agenda")), sim.heads(1, &Sim::doc_id("agenda")));
}

fn sync_from(sender: &str, target: &str, document: &str, data: Vec<u8>) -> Vec<u8> {
    let mut bytes = Message::Sync(SyncMessage {
        sender: sender.parse().expect("peer"),
        target: target.parse().expect("peer"),
        document: Sim::doc_id("agenda"),
        data,
    })
    .encode();
    if document != "agenda" {
        let good = Sim::doc_id("agenda").to_string();
        let at = bytes.windows(good.len()).position(|w| w == good.as_bytes()).expect("id in frame");
        bytes[at..at + good.len()].copy_from_slice(&document.as_bytes()[..good.len()]);
    }
    bytes
}

/// A valid first sync message (empty document) from automerge itself.
fn hello() -> Vec<u8> {
    use automerge::sync::SyncDoc;
    let doc = automerge::Automerge::new();
    doc.generate_sync_message(&mut automerge::sync::State::new()).expect("first message").encode()
}

#[test]
fn malformed_cbor() {
    check(
        true,
        vec![0xa3, 0x64, 0x74],
        expect![[r#"
            conn#900 <- error: malformed message: malformed CBOR: end of input bytes
            close conn#900: malformed message: malformed CBOR: end of input bytes"#]],
    );
}

#[test]
fn oversized_frame() {
    check(
        true,
        vec![0; 64 * 1024 * 1024 + 1],
        expect![[r#"
            conn#900 <- error: message too large: 67108865 bytes, at most 67108864
            close conn#900: message too large: 67108865 bytes, at most 67108864"#]],
    );
}

#[test]
fn invalid_document_id() {
    // Same length as a real id, one character changed: the checksum fails.
    let mut id = Sim::doc_id("agenda").to_string();
    id.replace_range(0..1, if id.starts_with('2') { "3" } else { "2" });
    check(
        true,
        sync_from("eve", "relay", &id, hello()),
        expect![[r#"
            conn#900 <- error: malformed message: field `documentId`: not a bs58check string: invalid checksum, calculated checksum: '[150, 209, 228, 19]', expected checksum: [199, 136, 54, 38]
            close conn#900: malformed message: field `documentId`: not a bs58check string: invalid checksum, calculated checksum: '[150, 209, 228, 19]', expected checksum: [199, 136, 54, 38]"#]],
    );
}

#[test]
fn forged_sender() {
    check(
        true,
        sync_from("alice", "relay", "agenda", hello()),
        expect![[r#"
            conn#900 <- error: protocol violation: message from alice to relay on the connection of eve
            close conn#900: protocol violation: message from alice to relay on the connection of eve"#]],
    );
}

#[test]
fn garbage_sync_payload() {
    check(
        true,
        sync_from("eve", "relay", "agenda", vec![0x42, 0xff, 0xff, 0xff]),
        expect![[r#"
            conn#900 <- error: invalid sync message: unreadable sync message: heads
            close conn#900: invalid sync message: unreadable sync message: heads"#]],
    );
}

#[test]
fn sync_before_join() {
    check(
        false,
        sync_from("eve", "relay", "agenda", hello()),
        expect![[r#"
            conn#900 <- error: protocol violation: unexpected `sync` before the handshake completed
            close conn#900: protocol violation: unexpected `sync` before the handshake completed"#]],
    );
}

#[test]
fn unsupported_protocol_version() {
    let join = Message::Join {
        sender: "eve".parse().expect("peer"),
        metadata: PeerMetadata::default(),
        supported_versions: Some(vec!["2".into()]),
    };
    check(
        false,
        join.encode(),
        expect![[r#"
            conn#900 <- error: unsupported protocol version
            close conn#900: unsupported protocol version"#]],
    );
}

#[test]
fn a_rejected_join_leaves_no_ghost_peer() {
    let mut sim = relay_with_document();
    feed(&mut sim, Input::Connected { conn: RAW, direction: Direction::Inbound, expected_peer: None });
    let join = Message::Join {
        sender: "alice".parse().expect("peer"),
        metadata: PeerMetadata::default(),
        supported_versions: Some(vec!["2".into()]),
    };
    feed(&mut sim, Input::Received { conn: RAW, bytes: join.encode() });
    // Alice's real connection was not replaced by the refused one.
    assert!(sim.nodes[RELAY].closed.is_empty());
    sim.put(1, &Sim::doc_id("agenda"), "lieu", "Halle");
    sim.run_until_quiet();
    assert_eq!(sim.heads(RELAY, &Sim::doc_id("agenda")), sim.heads(1, &Sim::doc_id("agenda")));
}

#[test]
fn second_join_on_the_same_connection() {
    let join = Message::Join {
        sender: "eve".parse().expect("peer"),
        metadata: PeerMetadata::default(),
        supported_versions: Some(vec!["1".into()]),
    };
    check(
        true,
        join.encode(),
        expect![[r#"
            conn#900 <- error: protocol violation: `join` after the handshake
            close conn#900: protocol violation: `join` after the handshake"#]],
    );
}

#[test]
fn handshake_timeout() {
    let mut sim = relay_with_document();
    feed(&mut sim, Input::Connected { conn: RAW, direction: Direction::Inbound, expected_peer: None });
    let deadline = sim.nodes[RELAY].repo.next_deadline().expect("handshake deadline");
    sim.now = deadline;
    let outputs = sim.nodes[RELAY].repo.handle(deadline, Input::Tick);
    expect![[r#"
        conn#900 <- error: handshake timed out
        close conn#900: handshake timed out"#]]
    .assert_eq(&render(&outputs));
}

#[test]
fn ignored_messages_close_nothing() {
    let mut sim = relay_with_document();
    join(&mut sim, "eve");
    let gossip = Message::RemoteSubscriptionChange {
        sender: "eve".parse().expect("peer"),
        target: "relay".parse().expect("peer"),
        add: None,
        remove: None,
    };
    assert!(feed(&mut sim, Input::Received { conn: RAW, bytes: gossip.encode() }).is_empty());
    let unknown = Message::Unknown { kind: "future-thing".into() };
    assert!(feed(&mut sim, Input::Received { conn: RAW, bytes: unknown.encode() }).is_empty());
}

#[test]
fn a_change_that_would_grow_a_document_past_its_limit_is_refused() {
    let mut sim = Sim::new(&["alice", "bob"]);
    let agenda = sim.create(1, "agenda");
    sim.put(1, &agenda, "titre", "Marché");
    sim.open(2, &agenda);
    sim.run_until_quiet();
    // The relay restarts with room for small edits only.
    sim.nodes[RELAY].config.max_document_bytes = 4_000;
    sim.restart(RELAY);
    sim.run_until_quiet();
    let stored = sim.nodes[RELAY].storage.clone();
    let before = sim.heads(RELAY, &agenda);

    // Incompressible, so that no encoding shrinks it under the limit.
    let big: String = (0..5_000u32).map(|i| char::from(b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8)).collect();
    sim.put(1, &agenda, "description", &big);
    sim.run_until_quiet();
    let closed: Vec<String> = sim.nodes[RELAY].closed.iter().map(|(_, r)| r.to_string()).collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert!(closed[0].starts_with(&format!("document {agenda} would grow to ")), "{closed:?}");
    assert!(closed[0].ends_with("bytes, at most 4000"), "{closed:?}");
    assert_eq!(sim.nodes[RELAY].storage, stored, "the refused change was stored");
    assert_eq!(sim.heads(RELAY, &agenda), before);
    assert_eq!(sim.heads(2, &agenda), before, "bob got a change the relay refused");

    // Bob's small edit still goes through.
    sim.put(2, &agenda, "lieu", "Halle");
    sim.run_until_quiet();
    assert_eq!(sim.heads(RELAY, &agenda), sim.heads(2, &agenda));
    assert_ne!(sim.heads(RELAY, &agenda), before);
}

/// The 10-byte Automerge sync message of issue #12, item 1: no heads, no
/// need, one `have` with an empty `lastSync` and the 3-byte Bloom filter
/// `01 00 01` (one entry, no bits, one probe), no changes.
const BLOOM_WITHOUT_BITS: [u8; 10] = [0x42, 0x00, 0x00, 0x01, 0x00, 0x03, 0x01, 0x00, 0x01, 0x00];

#[test]
fn r12_01_bloom_without_bits_is_refused() {
    // See: issue #12, item 1.
    check(
        true,
        sync_from("eve", "relay", "agenda", BLOOM_WITHOUT_BITS.to_vec()),
        expect![[r#"
            conn#900 <- error: invalid sync message: Bloom filter with 1 entries, 0 bits per entry and 1 probes refused
            close conn#900: invalid sync message: Bloom filter with 1 entries, 0 bits per entry and 1 probes refused"#]],
    );
}

#[test]
fn r12_01_a_reader_with_a_bloom_without_bits_does_not_crash_the_relay() {
    // See: issue #12, item 1. Before the fix the relay's answer to this
    // read-only peer computed `x % 0` inside Automerge and panicked.
    let mut sim = relay_with_document();
    join(&mut sim, "eve");
    let agenda = Sim::doc_id("agenda");
    let stored = sim.nodes[RELAY].storage.clone();
    let bytes = sync_from("eve", "relay", "agenda", BLOOM_WITHOUT_BITS.to_vec());
    let mut outputs = feed(&mut sim, Input::Received { conn: RAW, bytes });
    // A driver grants the resident read-only access if the relay asks.
    if outputs.iter().any(|o| matches!(o, Output::CheckAccess { .. })) {
        let access = crate::Access::ReadOnly;
        outputs.extend(feed(&mut sim, Input::AccessDecided { conn: RAW, doc: agenda.clone(), access }));
    }
    assert!(outputs.iter().any(|o| matches!(o, Output::Close { conn: RAW, .. })), "{}", render(&outputs));
    assert_eq!(sim.nodes[RELAY].storage, stored);
    // 2^26 probes per hash: refused as well, without the seconds of work.
    join(&mut sim, "eve");
    let probes = vec![0x42, 0, 0, 1, 0, 8, 1, 10, 0x80, 0x80, 0x80, 0x20, 0, 0, 0];
    let outputs = feed(&mut sim, Input::Received { conn: RAW, bytes: sync_from("eve", "relay", "agenda", probes) });
    assert!(outputs.iter().any(|o| matches!(o, Output::Close { conn: RAW, .. })), "{}", render(&outputs));
    sim.put(1, &agenda, "lieu", "Halle");
    sim.run_until_quiet();
    assert_eq!(sim.heads(RELAY, &agenda), sim.heads(1, &agenda));
}
