//! The codec against bytes: hand-written CBOR for the tolerant and strict
//! paths, and golden fixtures produced by the real JavaScript implementation.

use expect_test::{Expect, expect};
use minicbor::Encoder;

use crate::wire::Value;
use crate::{DecodeError, Message};

/// Writes one CBOR value.
type Writer<'a> = &'a dyn Fn(&mut Encoder<&mut Vec<u8>>);

/// Builds a CBOR map from (key, writer) pairs.
fn cbor_map(fields: &[(&str, Writer<'_>)]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut e = Encoder::new(&mut buf);
    e.map(fields.len() as u64).expect("vec");
    for (key, write) in fields {
        e.str(key).expect("vec");
        write(&mut e);
    }
    buf
}

const DOC: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

#[track_caller]
fn check_decode(bytes: &[u8], expect: Expect) {
    let actual = match Message::decode(bytes) {
        Ok(message) => format!("{message:?}"),
        Err(e) => format!("error: {e}"),
    };
    expect.assert_eq(&actual);
}

#[test]
fn tolerant_where_javascript_is_loose() {
    // `metadata` instead of `peerMetadata`, storageId undefined, no versions.
    check_decode(
        &cbor_map(&[
            ("type", &|e| drop(e.str("join"))),
            ("senderId", &|e| drop(e.str("peer-x"))),
            ("metadata", &|e| {
                e.map(2).and_then(|e| e.str("storageId")).and_then(|e| e.undefined()).expect("vec");
                e.str("isEphemeral").and_then(|e| e.bool(true)).expect("vec");
            }),
            ("extra", &|e| drop(e.array(2).and_then(|e| e.u8(1)).and_then(|e| e.null()))),
        ]),
        expect![[
            r#"Join { sender: PeerId("peer-x"), metadata: PeerMetadata { storage_id: None, is_ephemeral: true }, supported_versions: None }"#
        ]],
    );
    // A float count, and an unknown key.
    check_decode(
        &cbor_map(&[
            ("type", &|e| drop(e.str("ephemeral"))),
            ("senderId", &|e| drop(e.str("a"))),
            ("targetId", &|e| drop(e.str("b"))),
            ("documentId", &|e| drop(e.str(DOC))),
            ("sessionId", &|e| drop(e.str("s1"))),
            ("count", &|e| drop(e.f64(4.0))),
            ("data", &|e| drop(e.bytes(&[0xa0]))),
            ("future", &|e| drop(e.str("ignored"))),
        ]),
        expect![[
            r#"Ephemeral(EphemeralMessage { sender: PeerId("a"), target: PeerId("b"), document: DocumentId("4NMNnkMhL8jXrdJ9jamS58PAVdXu"), session: "s1", count: 4, data: [160] })"#
        ]],
    );
    // An unknown message type is not an error.
    check_decode(
        &cbor_map(&[("type", &|e| drop(e.str("future-thing"))), ("senderId", &|e| drop(e.str("a")))]),
        expect![[r#"Unknown { kind: "future-thing" }"#]],
    );
}

#[test]
fn strict_everywhere_else() {
    let sync_with = |document: &str, data: Writer<'_>| {
        cbor_map(&[
            ("type", &|e| drop(e.str("sync"))),
            ("senderId", &|e| drop(e.str("a"))),
            ("targetId", &|e| drop(e.str("b"))),
            ("documentId", &|e| drop(e.str(document))),
            ("data", data),
        ])
    };
    check_decode(&[], expect!["error: empty message"]);
    check_decode(&[0xff, 0x00], expect!["error: expected a CBOR map, found break"]);
    check_decode(&[0x83, 1, 2, 3], expect!["error: expected a CBOR map, found array"]);
    check_decode(&[0xbf, 0xff], expect!["error: indefinite-length CBOR is not accepted"]);
    check_decode(&[0xa0, 0x00], expect!["error: 1 trailing bytes after the message"]);
    check_decode(&[0xa0], expect!["error: missing field `type`"]);
    check_decode(
        &sync_with("not-bs58!", &|e| drop(e.bytes(&[1]))),
        expect![
            "error: field `documentId`: not a bs58check string: provided string contained invalid character '-' at byte 3"
        ],
    );
    check_decode(
        &sync_with(DOC, &|e| drop(e.str("text, not bytes"))),
        expect!["error: field `data`: expected bytes, found text"],
    );
    check_decode(
        &cbor_map(&[
            ("type", &|e| drop(e.str("ephemeral"))),
            ("senderId", &|e| drop(e.str("a"))),
            ("targetId", &|e| drop(e.str("b"))),
            ("documentId", &|e| drop(e.str(DOC))),
            ("sessionId", &|e| drop(e.str("s1"))),
            ("count", &|e| drop(e.f64(-1.5))),
            ("data", &|e| drop(e.bytes(&[]))),
        ]),
        expect!["error: field `count`: out of range"],
    );
    check_decode(
        &cbor_map(&[("type", &|e| drop(e.str("leave"))), ("type", &|e| drop(e.str("leave")))]),
        expect!["error: invalid or duplicate key: type"],
    );
    // A key repeated far apart, unknown keys included, in a small map and
    // in one past the size where keys are hashed.
    for extra in [10, 40] {
        let names: Vec<String> = (0..extra).map(|i| format!("x{i}")).collect();
        let mut fields: Vec<(&str, Writer<'_>)> = vec![("type", &|e| drop(e.str("leave")))];
        fields.extend(
            names.iter().map(|name| (name.as_str(), &(|e: &mut Encoder<&mut Vec<u8>>| drop(e.u8(0))) as Writer<'_>)),
        );
        fields.push(("x1", &|e| drop(e.u8(1))));
        check_decode(&cbor_map(&fields), expect!["error: invalid or duplicate key: x1"]);
    }
    let mut deep = vec![0xa2, 0x64];
    deep.extend_from_slice(b"type");
    deep.extend_from_slice(&[0x64]);
    deep.extend_from_slice(b"join");
    deep.extend_from_slice(&[0x6c]);
    deep.extend_from_slice(b"peerMetadata");
    deep.extend(std::iter::repeat_n(0x81, 40));
    deep.push(0x00);
    check_decode(&deep, expect!["error: CBOR nested too deeply"]);
}

#[test]
fn every_message_type_round_trips() {
    let doc: crate::DocumentId = DOC.parse().expect("doc");
    let a: crate::PeerId = "a".parse().expect("peer");
    let b: crate::PeerId = "b".parse().expect("peer");
    let sid: crate::StorageId = "3760df37-a4c6-4f66-9ecd-732039a9385d".parse().expect("sid");
    let sync = crate::SyncMessage { sender: a.clone(), target: b.clone(), document: doc.clone(), data: vec![0x42, 0] };
    let messages = vec![
        Message::Join {
            sender: a.clone(),
            metadata: crate::PeerMetadata { storage_id: Some(sid.clone()), is_ephemeral: false },
            supported_versions: Some(vec!["1".into()]),
        },
        Message::Peer {
            sender: b.clone(),
            target: a.clone(),
            metadata: crate::PeerMetadata::default(),
            selected_version: "1".into(),
        },
        Message::Error { sender: Some(b.clone()), target: None, message: "non".into() },
        Message::Leave { sender: a.clone() },
        Message::Request(sync.clone()),
        Message::Sync(sync),
        Message::DocUnavailable { sender: b.clone(), target: a.clone(), document: doc.clone() },
        Message::Ephemeral(crate::EphemeralMessage {
            sender: a.clone(),
            target: b.clone(),
            document: doc.clone(),
            session: "s".into(),
            count: 7,
            data: vec![0xa0],
        }),
        Message::RemoteSubscriptionChange {
            sender: a.clone(),
            target: b.clone(),
            add: Some(vec![sid.clone()]),
            remove: None,
        },
        Message::RemoteHeadsChanged {
            sender: a,
            target: b,
            document: doc,
            new_heads: [(sid, crate::RemoteHeads { heads: vec!["h".into()], timestamp: 1_764_000_000_000 })].into(),
        },
    ];
    for message in messages {
        let bytes = message.encode();
        assert!(matches!(Value::decode_all(&bytes), Ok(Value::Map(_))), "{} is one CBOR map", message.kind());
        assert_eq!(Message::decode(&bytes), Ok(message));
    }
}

#[test]
fn a_frame_encoded_once_is_the_message_for_each_target() {
    let doc: crate::DocumentId = DOC.parse().expect("doc");
    let relay: crate::PeerId = "relais".parse().expect("peer");
    // Targets whose CBOR text headers take 1, 2 and 3 bytes.
    let targets = ["a".to_owned(), "p".repeat(30), "q".repeat(crate::ids::MAX_PEER_ID_BYTES)];
    for is_request in [false, true] {
        let data = vec![0x42; 300];
        let frame = crate::SyncFrame::new(is_request, &relay, &doc, &data);
        for target in &targets {
            let target: crate::PeerId = target.parse().expect("peer");
            let body = crate::SyncMessage {
                sender: relay.clone(),
                target: target.clone(),
                document: doc.clone(),
                data: data.clone(),
            };
            let message = if is_request { Message::Request(body) } else { Message::Sync(body) };
            assert_eq!(
                frame.to(&crate::Target::new(&target)).into_vec(),
                message.encode(),
                "{} to {target}",
                message.kind()
            );
        }
    }
}

#[test]
fn decode_errors_are_typed() {
    assert_eq!(Message::decode(&[]), Err(DecodeError::Empty));
    assert!(matches!(Message::decode(&[0xa1, 0x64, 0x74]), Err(DecodeError::Cbor(_))), "truncated key");
}

/// A structural form for comparing CBOR written by different encoders: maps
/// sorted by key, absent optional values dropped, integral floats as
/// integers (cbor-x writes timestamps as float64), `metadata` read as
/// `peerMetadata`, and keys the protocol does not use dropped.
fn canonical(value: Value<'_>) -> Value<'_> {
    // Keys of nested maps (`peerMetadata`, `newHeads` entries) besides the
    // message fields the decoder knows.
    const NESTED: &[&str] = &["storageId", "isEphemeral", "heads", "timestamp"];
    let known = |k: &str| crate::wire::KNOWN_FIELDS.contains(&k) || NESTED.contains(&k);
    match value {
        Value::Map(entries) => {
            let mut entries: Vec<(&str, Value<'_>)> = entries
                .into_iter()
                .filter(|(_, v)| *v != Value::Absent)
                .filter(|(k, _)| known(k) || k.contains('-'))
                .map(|(k, v)| (if k == "metadata" { "peerMetadata" } else { k }, canonical(v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Map(entries)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        Value::Float(f) if f.fract() == 0.0 && f >= 0.0 => Value::Uint(f as u64),
        other => other,
    }
}

#[derive(Debug)]
struct Fixture {
    file: String,
    kind: String,
    source: String,
}

/// The fixture files, compiled in: `sync-core` does no IO, its tests
/// included. A fixture missing from this list or from `fixtures.json` fails
/// the tests below.
macro_rules! fixture_files {
    ($($name:literal,)+) => {
        &[$(($name, include_bytes!(concat!("../../tests/fixtures/wire/", $name)))),+]
    };
}

const FIXTURE_FILES: &[(&str, &[u8])] = fixture_files!(
    "doc-unavailable.cbor",
    "ephemeral-relayed.cbor",
    "ephemeral.cbor",
    "error-unsupported-version.cbor",
    "join-ephemeral.cbor",
    "join-legacy-metadata.cbor",
    "join-no-versions.cbor",
    "join-null-storage-id.cbor",
    "join.cbor",
    "leave.cbor",
    "peer.cbor",
    "remote-heads-changed.cbor",
    "remote-subscription-change.cbor",
    "request.cbor",
    "sync-extra-keys.cbor",
    "sync-reply.cbor",
    "sync.cbor",
    "unknown-type.cbor",
);

const FIXTURE_INDEX: &str = include_str!("../../tests/fixtures/wire/fixtures.json");

fn fixtures() -> Vec<(Fixture, Vec<u8>)> {
    let index: serde_json::Value = serde_json::from_str(FIXTURE_INDEX).expect("fixtures.json is JSON");
    let entries = index.as_array().expect("an array of fixtures");
    assert_eq!(entries.len(), FIXTURE_FILES.len(), "fixtures.json and FIXTURE_FILES list the same files");
    entries
        .iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_else(|| panic!("fixture without {k}: {e}")).to_owned();
            let fixture = Fixture { file: field("file"), kind: field("type"), source: field("source") };
            let (_, bytes) = FIXTURE_FILES
                .iter()
                .find(|(name, _)| *name == fixture.file)
                .unwrap_or_else(|| panic!("{} is in fixtures.json but not in FIXTURE_FILES", fixture.file));
            (fixture, bytes.to_vec())
        })
        .collect()
}

/// Bytes produced by the real JavaScript automerge-repo (see
/// `tests/fixtures/wire/README.md`) decode, and re-encode to the same
/// structure.
#[test]
fn javascript_fixtures_decode_and_re_encode() {
    let all = fixtures();
    assert!(all.len() >= 18, "expected every fixture, found {}", all.len());
    let mut kinds = std::collections::BTreeSet::new();
    for (fixture, bytes) in all {
        let message = Message::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", fixture.file));
        assert_eq!(message.kind(), fixture.kind, "{}", fixture.file);
        kinds.insert(fixture.kind.clone());
        if matches!(message, Message::Unknown { .. }) {
            continue; // Nothing to re-encode: it is ignored.
        }
        let original = canonical(Value::decode_all(&bytes).expect("fixture is CBOR"));
        let encoded = message.encode();
        let again = canonical(Value::decode_all(&encoded).expect("our CBOR"));
        assert_eq!(again, original, "{} ({}) re-encodes to another structure", fixture.file, fixture.source);
        assert_eq!(Message::decode(&encoded).as_ref(), Ok(&message), "{}", fixture.file);
    }
    let expected = [
        "join",
        "peer",
        "error",
        "leave",
        "request",
        "sync",
        "doc-unavailable",
        "ephemeral",
        "remote-subscription-change",
        "remote-heads-changed",
        "future-thing",
    ];
    for kind in expected {
        assert!(kinds.contains(kind), "no fixture of type {kind}");
    }
}

/// The details the reference calls out, checked on the real bytes.
#[test]
fn javascript_quirks_are_read_as_the_reference_says() {
    let by_file: std::collections::BTreeMap<String, Message> =
        fixtures().into_iter().map(|(f, bytes)| (f.file.clone(), Message::decode(&bytes).expect("decodes"))).collect();
    let Some(Message::Join { metadata, .. }) = by_file.get("join-ephemeral.cbor") else { panic!("join-ephemeral") };
    assert_eq!((metadata.storage_id.as_ref(), metadata.is_ephemeral), (None, true), "storageId: undefined");
    let Some(Message::RemoteHeadsChanged { new_heads, .. }) = by_file.get("remote-heads-changed.cbor") else {
        panic!("remote-heads-changed")
    };
    let timestamp = new_heads.values().next().expect("one entry").timestamp;
    assert!(timestamp > 1_700_000_000_000, "float64 timestamp read as milliseconds: {timestamp}");
    let Some(Message::RemoteSubscriptionChange { add, remove, .. }) = by_file.get("remote-subscription-change.cbor")
    else {
        panic!("remote-subscription-change")
    };
    assert_eq!((add.as_ref().map(Vec::len), remove), (Some(1), &None), "remove: undefined");
    let (Some(Message::Ephemeral(sent)), Some(Message::Ephemeral(relayed))) =
        (by_file.get("ephemeral.cbor"), by_file.get("ephemeral-relayed.cbor"))
    else {
        panic!("ephemeral fixtures")
    };
    assert_eq!(relayed.sender, sent.sender, "a relay keeps the original sender");
    assert_eq!((relayed.count, &relayed.session, &relayed.data), (sent.count, &sent.session, &sent.data));
    let Some(Message::Join { metadata, supported_versions, .. }) = by_file.get("join-legacy-metadata.cbor") else {
        panic!("legacy join")
    };
    assert!(metadata.storage_id.is_some() && supported_versions.is_some(), "`metadata` read like `peerMetadata`");
    let Some(Message::Join { supported_versions: None, .. }) = by_file.get("join-no-versions.cbor") else {
        panic!("join without versions")
    };
    let Some(Message::Error { sender: Some(_), target: Some(_), message }) =
        by_file.get("error-unsupported-version.cbor")
    else {
        panic!("error with sender and target")
    };
    assert_eq!(message, "unsupported protocol version");
}

/// The relay answers the real JS client's frames: its join gets a `peer`, its
/// first `request` for an unknown document gets `doc-unavailable`.
#[test]
fn the_relay_answers_real_javascript_frames() {
    use crate::{AccessPolicy, Config, ConnId, Direction, Input, Output, Repo, UnixMillis};
    let by_file: std::collections::BTreeMap<String, Vec<u8>> =
        fixtures().into_iter().map(|(f, bytes)| (f.file, bytes)).collect();
    let config =
        Config::new("server-fixture".parse().expect("peer"), automerge::ActorId::from(&[7u8; 16][..]), "s".into());
    assert_eq!(config.access, AccessPolicy::AllowAll);
    let (mut relay, _) = Repo::start(config, None, [1; 16]).expect("start");
    let conn = ConnId(1);
    let now = UnixMillis(1_800_000_000_000);
    relay.handle(now, Input::Connected { conn, direction: Direction::Inbound, expected_peer: None });
    let answer = relay.handle(now, Input::Received { conn, bytes: by_file["join.cbor"].clone() });
    let [Output::Send { bytes, .. }] = &answer[..] else { panic!("{answer:?}") };
    assert!(matches!(Message::decode(&bytes.to_vec()), Ok(Message::Peer { .. })));

    // The request fixture was sent by another client: it joins on its own
    // connection (sending it on the first one is a forged sender).
    let Ok(Message::Request(request)) = Message::decode(&by_file["request.cbor"]) else { panic!("request") };
    let join = Message::Join {
        sender: request.sender.clone(),
        metadata: crate::PeerMetadata::default(),
        supported_versions: Some(vec!["1".into()]),
    };
    let conn = ConnId(2);
    relay.handle(now, Input::Connected { conn, direction: Direction::Inbound, expected_peer: None });
    relay.handle(now, Input::Received { conn, bytes: join.encode() });
    // The fixture's request targets "server-fixture", our peer id here.
    let answer = relay.handle(now, Input::Received { conn, bytes: by_file["request.cbor"].clone() });
    let [Output::Load { doc }] = &answer[..] else { panic!("{answer:?}") };
    let answer = relay.handle(now, Input::Loaded { doc: doc.clone(), entries: Vec::new() });
    let kinds: Vec<String> = answer
        .iter()
        .filter_map(|o| match o {
            Output::Send { bytes, .. } => Message::decode(&bytes.to_vec()).ok().map(|m| m.kind().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec!["doc-unavailable"], "{answer:?}");
}
