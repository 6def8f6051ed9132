//! What one peer may cost or claim (issue #12, items 8, 10, 11 and 15),
//! against a relay repo driven by hand: the test answers access checks and
//! loads like the relay's hub, from a storage map it keeps.

use std::collections::BTreeMap;

use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge};

use crate::{
    Access, AccessPolicy, CloseReason, Config, ConnId, DecodeError, Direction, DocumentId, EphemeralMessage, Input,
    Message, Output, PeerMetadata, Repo, StorageKey, SyncMessage, UnixMillis,
};

/// A relay repo, its storage, its clock and the access each connection gets.
struct Relay {
    repo: Repo,
    storage: BTreeMap<StorageKey, Vec<u8>>,
    now: UnixMillis,
    access: BTreeMap<ConnId, Access>,
    doc: DocumentId,
}

impl Relay {
    /// A relay holding one document with one change.
    fn new(change: impl FnOnce(&mut Config)) -> Relay {
        let mut config = Config::new("relay".parse().expect("peer"), ActorId::from(&[7u8; 16][..]), "s".into());
        config.access = AccessPolicy::AskDriver;
        change(&mut config);
        let (repo, out) = Repo::start(config, None, [1; 16]).expect("start");
        let mut relay = Relay {
            repo,
            storage: BTreeMap::new(),
            now: UnixMillis(1_000_000),
            access: BTreeMap::new(),
            doc: DocumentId::from_bytes(&[3; 16]).expect("id"),
        };
        relay.carry_out(out);
        let mut am = Automerge::new().with_actor(ActorId::from(&[9u8; 16][..]));
        let mut tx = am.transaction();
        tx.put(automerge::ROOT, "titre", "Marché").expect("put");
        tx.commit();
        relay.storage.insert(StorageKey::chunk(&relay.doc, crate::ChunkKind::Snapshot, "s"), am.save());
        relay
    }

    /// Feeds one input 10 ms after the previous one and carries out what
    /// the driver answers (access, loads, writes); returns the rest.
    fn feed(&mut self, input: Input) -> Vec<Output> {
        self.now.0 += 10;
        let out = self.repo.handle(self.now, input);
        self.carry_out(out)
    }

    fn carry_out(&mut self, mut out: Vec<Output>) -> Vec<Output> {
        let mut rest = Vec::new();
        for _ in 0..20 {
            let mut more = Vec::new();
            for o in out {
                match o {
                    Output::CheckAccess { conn, doc, .. } => {
                        let access = self.access.get(&conn).copied().unwrap_or(Access::ReadWrite);
                        more.extend(self.repo.handle(self.now, Input::AccessDecided { conn, doc, access }));
                    }
                    Output::Load { doc } => {
                        let prefix = StorageKey::document_prefix(&doc);
                        let entries = self
                            .storage
                            .iter()
                            .filter(|(k, _)| k.starts_with(&prefix))
                            .map(|(k, v)| (k.clone(), v.clone()));
                        let entries = entries.collect();
                        more.extend(self.repo.handle(self.now, Input::Loaded { doc, entries }));
                    }
                    Output::Write(write) => {
                        for key in &write.delete {
                            self.storage.remove(key);
                        }
                        self.storage.extend(write.put);
                    }
                    other => rest.push(other),
                }
            }
            if more.is_empty() {
                return rest;
            }
            out = more;
        }
        panic!("the driver loop did not settle")
    }

    /// Opens a connection (with a principal, if any) and joins as `peer`
    /// with `store`; returns what the relay answered.
    fn join(&mut self, conn: ConnId, credentials: &[&str], peer: &str, store: Option<&str>) -> Vec<Output> {
        self.feed(Input::Connected { conn, direction: Direction::Inbound, expected_peer: None });
        if !credentials.is_empty() {
            let credentials = credentials.iter().map(|c| (*c).to_owned()).collect();
            self.feed(Input::Principal { conn, credentials });
        }
        let join = Message::Join {
            sender: peer.parse().expect("peer"),
            metadata: PeerMetadata { storage_id: store.map(|s| s.parse().expect("store")), is_ephemeral: false },
            supported_versions: Some(vec!["1".into()]),
        };
        self.feed(Input::Received { conn, bytes: join.encode() })
    }

    /// A peer that has nothing syncs the document: request, answer, ack.
    fn sync_once(&mut self, conn: ConnId, peer: &str) {
        let mut am = Automerge::new();
        let mut state = automerge::sync::State::new();
        let mut kind_request = true;
        for _ in 0..6 {
            let Some(message) = am.generate_sync_message(&mut state) else { break };
            let body = SyncMessage {
                sender: peer.parse().expect("peer"),
                target: "relay".parse().expect("peer"),
                document: self.doc.clone(),
                data: message.encode(),
            };
            let message = if kind_request { Message::Request(body) } else { Message::Sync(body) };
            kind_request = false;
            let out = self.feed(Input::Received { conn, bytes: message.encode() });
            for o in out {
                if let Output::Send { conn: to, bytes } = o
                    && to == conn
                    && let Ok(Message::Sync(m)) = Message::decode(&bytes.to_vec())
                {
                    let message = automerge::sync::Message::decode(&m.data).expect("sync message");
                    am.receive_sync_message(&mut state, message).expect("receive");
                }
            }
        }
        assert!(!am.get_heads().is_empty(), "{peer} got the document");
    }

    fn ephemeral(&self, conn_peer: &str, count: u64, data: Vec<u8>) -> Vec<u8> {
        Message::Ephemeral(EphemeralMessage {
            sender: conn_peer.parse().expect("peer"),
            target: "relay".parse().expect("peer"),
            document: self.doc.clone(),
            session: "session".into(),
            count,
            data,
        })
        .encode()
    }

    fn sync_state_rows(&self) -> usize {
        self.rows("sync-state").count()
    }

    /// Stored keys of one kind (second component).
    fn rows(&self, kind: &str) -> impl Iterator<Item = &StorageKey> {
        self.storage.keys().filter(move |k| k.components().get(1).is_some_and(|c| c == kind))
    }
}

fn closes(out: &[Output], conn: ConnId) -> Option<&CloseReason> {
    out.iter().find_map(|o| match o {
        Output::Close { conn: c, reason } if *c == conn => Some(reason),
        _ => None,
    })
}

fn sends_to(out: &[Output], conn: ConnId) -> usize {
    out.iter().filter(|o| matches!(o, Output::Send { conn: c, .. } if *c == conn)).count()
}

const ALICE: ConnId = ConnId(1);
const EVE: ConnId = ConnId(2);

#[test]
fn r12_08_an_oversized_ephemeral_message_closes_its_sender_and_reaches_nobody() {
    // See: issue #12, item 8. Ephemeral messages up to the frame limit were
    // copied to every peer of the territory.
    let mut relay = Relay::new(|_| {});
    relay.join(ALICE, &[], "alice", None);
    relay.sync_once(ALICE, "alice");
    relay.access.insert(EVE, Access::ReadOnly);
    relay.join(EVE, &[], "eve", None);
    relay.sync_once(EVE, "eve");
    let small = relay.feed(Input::Received { conn: EVE, bytes: relay.ephemeral("eve", 1, vec![1; 100]) });
    assert_eq!(sends_to(&small, ALICE), 1, "a small presence message is relayed: {small:?}");
    let big = relay.feed(Input::Received { conn: EVE, bytes: relay.ephemeral("eve", 2, vec![1; 16 * 1024 + 1]) });
    assert_eq!(sends_to(&big, ALICE), 0, "{big:?}");
    assert_eq!(closes(&big, EVE), Some(&CloseReason::EphemeralTooLarge { len: 16 * 1024 + 1, max: 16 * 1024 }));
}

#[test]
fn r12_08_ephemeral_messages_beyond_the_rate_are_dropped() {
    // See: issue #12, item 8. A flood of small ephemeral messages was copied
    // to every peer, as fast as it came.
    let mut relay = Relay::new(|_| {});
    relay.join(ALICE, &[], "alice", None);
    relay.sync_once(ALICE, "alice");
    relay.join(EVE, &[], "eve", None);
    relay.sync_once(EVE, "eve");
    // 1,000 messages 10 ms apart: 10 s, so 50 at once plus 20 a second.
    let mut relayed = 0;
    for count in 1..=1000 {
        let out = relay.feed(Input::Received { conn: EVE, bytes: relay.ephemeral("eve", count, vec![1; 10]) });
        assert_eq!(closes(&out, EVE), None, "dropping closes nothing");
        relayed += sends_to(&out, ALICE);
    }
    assert!((240..=252).contains(&relayed), "{relayed} of 1000 relayed");
    // After a quiet spell the allowance is back.
    relay.now.0 += 60_000;
    let out = relay.feed(Input::Received { conn: EVE, bytes: relay.ephemeral("eve", 1001, vec![1; 10]) });
    assert_eq!(sends_to(&out, ALICE), 1);
}

#[test]
fn r12_10_skipping_unknown_keys_is_bounded() {
    // See: issue #12, item 10. Unknown keys were skipped with minicbor's
    // `skip`, which keeps a stack entry per nested indefinite-length item.
    let frame = |value: &[u8]| {
        let mut bytes = vec![0xa2, 0x64];
        bytes.extend(b"type");
        bytes.push(0x63);
        bytes.extend(b"foo");
        bytes.push(0x62);
        bytes.extend(b"zz");
        bytes.extend(value);
        bytes
    };
    let n = 100_000;
    let nested_indefinite: Vec<u8> = std::iter::repeat_n(0x9f, n).chain(std::iter::repeat_n(0xff, n)).collect();
    assert_eq!(Message::decode(&frame(&nested_indefinite)), Err(DecodeError::IndefiniteLength));
    // Two-item arrays whose first item is an indefinite array: what made
    // minicbor push stack entries, level after level.
    let mixed: Vec<u8> = [0x82, 0x9f].repeat(n).into_iter().chain([0x00]).chain([0xff, 0x00].repeat(n)).collect();
    assert_eq!(Message::decode(&frame(&mixed)), Err(DecodeError::IndefiniteLength));
    let nested_definite: Vec<u8> = std::iter::repeat_n(0x81, n).chain([0x00]).collect();
    assert_eq!(Message::decode(&frame(&nested_definite)), Err(DecodeError::TooDeep));
    let nested_tags: Vec<u8> = std::iter::repeat_n(0xc6, n).chain([0x00]).collect();
    assert_eq!(Message::decode(&frame(&nested_tags)), Err(DecodeError::TooDeep));
    let wide = [0x9b, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
    assert_eq!(Message::decode(&frame(&wide)), Err(DecodeError::TooManyEntries(0xffff)));
    // What a future peer may add is still skipped: maps, arrays, tags,
    // chunked strings, floats.
    let fine = [0xa2, 0x61, b'a', 0x82, 0xc1, 0x1a, 0, 0, 0, 1, 0x7f, 0x61, b'x', 0xff, 0x61, b'b', 0xf9, 0x3c, 0x00];
    assert_eq!(Message::decode(&frame(&fine)), Ok(Message::Unknown { kind: "foo".into() }));
}

#[test]
fn r12_11_readers_leave_no_sync_state_and_writers_at_most_the_cap() {
    // See: issue #12, item 11. Every peer's sync state was persisted under
    // any storage id it claimed: one row per reconnect with a new id.
    let mut relay = Relay::new(|c| c.max_sync_states_per_document = 8);
    for i in 0..20u64 {
        let conn = ConnId(100 + i);
        relay.access.insert(conn, Access::ReadOnly);
        relay.join(conn, &[], &format!("lecteur{i}"), Some(&format!("store-lecteur-{i}")));
        relay.sync_once(conn, &format!("lecteur{i}"));
        relay.feed(Input::Disconnected { conn });
    }
    assert_eq!(relay.sync_state_rows(), 0, "a reader's sync state was persisted");
    for i in 0..20u64 {
        let conn = ConnId(200 + i);
        relay.join(conn, &[], &format!("orga{i}"), Some(&format!("store-orga-{i}")));
        relay.sync_once(conn, &format!("orga{i}"));
        relay.feed(Input::Disconnected { conn });
        assert!(relay.sync_state_rows() <= 8, "{} rows after {i}", relay.sync_state_rows());
    }
    assert_eq!(relay.sync_state_rows(), 8);
    let used_rows = relay.rows("sync-state-used").count();
    assert_eq!(used_rows, 8, "each state has its time, and no time outlives its state");
    // The most recent ones were kept.
    let kept: Vec<&str> = relay.rows("sync-state").map(|k| k.components()[2].as_str()).collect();
    assert!(kept.iter().all(|s| s["store-orga-".len()..].parse::<u32>().is_ok_and(|n| n >= 12)), "{kept:?}");
}

#[test]
fn r12_11_old_and_surplus_sync_states_are_deleted_when_the_document_loads() {
    // See: issue #12, item 11. Rows written before this fix (no time) are
    // trimmed to the cap at the next load, and stale ones expire.
    let mut relay = Relay::new(|c| {
        c.max_sync_states_per_document = 8;
        c.sync_state_ttl_ms = 1_000_000;
    });
    let state = automerge::sync::State::new().encode();
    for i in 0..30 {
        let store = format!("legacy-{i:02}").parse().expect("store");
        relay.storage.insert(StorageKey::sync_state(&relay.doc, &store), state.clone());
    }
    let orphan = "orphan".parse().expect("store");
    relay.storage.insert(StorageKey::sync_state_used(&relay.doc, &orphan), b"5".to_vec());
    relay.join(ALICE, &[], "alice", None);
    relay.sync_once(ALICE, "alice");
    assert_eq!(relay.sync_state_rows(), 8);
    let used = relay.rows("sync-state-used").count();
    assert_eq!(used, 8, "times written for the kept ones, the orphan deleted");
    // Unloaded, then loaded again after the time to live: all expire.
    relay.feed(Input::Disconnected { conn: ALICE });
    relay.now.0 += 2_000_000;
    relay.feed(Input::Tick);
    assert!(relay.repo.document(&relay.doc).is_none(), "the document was unloaded");
    relay.join(EVE, &[], "eve", None);
    relay.sync_once(EVE, "eve");
    assert_eq!(relay.sync_state_rows(), 0);
    assert_eq!(relay.rows("sync-state-used").count(), 0);
}

#[test]
fn r12_15_a_join_replaces_only_a_connection_whose_invitations_it_holds() {
    // See: issue #12, item 15. Any peer could disconnect another by joining
    // with its (public) peer id, or join under the relay's own id.
    let mut relay = Relay::new(|_| {});
    relay.join(ALICE, &["inv-organiser-a"], "orga", None);
    relay.sync_once(ALICE, "orga");
    let hijack = relay.join(EVE, &["inv-resident-b"], "orga", None);
    assert!(
        matches!(closes(&hijack, EVE), Some(CloseReason::ProtocolViolation(m)) if m.contains("other invitations")),
        "{hijack:?}"
    );
    assert_eq!(closes(&hijack, ALICE), None, "the organiser was disconnected");
    // Without invitations (open mode) neither.
    let anonymous = relay.join(ConnId(3), &[], "orga", None);
    assert!(closes(&anonymous, ConnId(3)).is_some() && closes(&anonymous, ALICE).is_none(), "{anonymous:?}");
    // The organiser's own new connection still wins, as before.
    let again = relay.join(ConnId(4), &["inv-organiser-a"], "orga", None);
    assert_eq!(closes(&again, ALICE), Some(&CloseReason::Replaced));
    assert_eq!(closes(&again, ConnId(4)), None);
    // So does one of the same device holding one more invitation (it added
    // a territory), but not the other way round.
    let more = relay.join(ConnId(6), &["inv-organiser-a", "inv-resident-b"], "orga", None);
    assert_eq!(closes(&more, ConnId(4)), Some(&CloseReason::Replaced));
    let fewer = relay.join(ConnId(7), &["inv-organiser-a"], "orga", None);
    assert!(closes(&fewer, ConnId(7)).is_some() && closes(&fewer, ConnId(6)).is_none(), "{fewer:?}");
    // Nobody joins as the relay.
    let relay_id = relay.join(ConnId(5), &[], "relay", None);
    assert!(
        matches!(closes(&relay_id, ConnId(5)), Some(CloseReason::ProtocolViolation(m)) if m.contains("own peer id")),
        "{relay_id:?}"
    );
}
