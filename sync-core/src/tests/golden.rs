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
        expect!["error: field `count`: not a non-negative integer"],
    );
    check_decode(
        &cbor_map(&[("type", &|e| drop(e.str("leave"))), ("type", &|e| drop(e.str("leave")))]),
        expect!["error: invalid or duplicate key: type"],
    );
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
fn decode_errors_are_typed() {
    assert_eq!(Message::decode(&[]), Err(DecodeError::Empty));
    assert!(matches!(Message::decode(&[0xa1, 0x64, 0x74]), Err(DecodeError::Cbor(_))), "truncated key");
}
