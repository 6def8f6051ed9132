//! Hostile peers against the real relay (issue #12, sync protocol items):
//! a resident's raw websocket sends what no honest client sends, and the
//! relay refuses it, stays up, and keeps serving the other clients.

use std::time::{SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use futures_util::SinkExt;
use server::invitations::{Invitations, Role};
use sync_core::automerge::ROOT;
use sync_core::automerge::transaction::Transactable;
use sync_core::{DocumentId, Message, SyncMessage, agenda};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::{
    Relay, WAIT, expect_error_and_close, http_get, raw_join, raw_socket_with, start_relay_with, stored_rows,
};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

/// A closed relay holding one territory, with an organiser's and a
/// resident's token to it.
async fn relay_with_territory() -> (Relay, DocumentId, String, String) {
    let data = TempDir::new().expect("temp dir");
    let profil = agenda::Profil { nom: "Territoire".into(), ..agenda::Profil::default() };
    let doc = server::create_territory(data.path(), profil).expect("territory created");
    let invitations = Invitations::open(data.path()).expect("invitations");
    let (_, organiser) = invitations.create(&doc, Role::Organisateur, None, None, now(), [1; 24]).expect("organiser");
    let (_, resident) = invitations.create(&doc, Role::Habitant, None, None, now(), [2; 24]).expect("resident");
    let relay = start_relay_with(data, |config| config.open = false).await;
    (relay, doc, organiser, resident)
}

/// The relay still answers `/healthz` and relays an organiser's change.
async fn assert_relay_serves(relay: &Relay, doc: &DocumentId, organiser: &str, key: &str) {
    let (status, _) = http_get(relay.addr, "/healthz").await;
    assert_eq!(status, 200, "the relay is down");
    let url = format!("{}?token={organiser}", relay.url());
    let client = Client::connect(&url, ClientOptions::default()).await.expect("organiser connects");
    client.open(doc).await.expect("open");
    let key = key.to_owned();
    client.change(doc, move |tx| tx.put(ROOT, key.as_str(), "oui").map(|_| ())).await.expect("change");
    let heads = client.heads(doc).await.expect("heads");
    client.wait_relay_has(doc, heads, WAIT).await.expect("the relay took the organiser's change");
    let doc = doc.clone();
    let read = client.query(move |v| v.repo.document(&doc).map(|d| d.get_heads().len())).await;
    assert!(matches!(read, Ok(Some(n)) if n > 0), "{read:?}");
}

#[tokio::test]
async fn r12_01_bloom_without_bits_is_refused() {
    // See: issue #12, item 1. A read-only resident sends the 10-byte sync
    // message whose Bloom filter has one entry and no bits: Automerge would
    // compute `x % 0` answering it, on the hub task, and the process exited.
    let (relay, doc, organiser, resident) = relay_with_territory().await;
    let stored = stored_rows(relay.data.path());
    let mut socket = raw_socket_with(&relay, &resident).await;
    let relay_id = raw_join(&mut socket, "eve").await;
    let payload = vec![0x42, 0x00, 0x00, 0x01, 0x00, 0x03, 0x01, 0x00, 0x01, 0x00];
    let sync = Message::Sync(SyncMessage {
        sender: "eve".parse().expect("peer"),
        target: relay_id,
        document: doc.clone(),
        data: payload,
    });
    socket.send(WsMessage::Binary(sync.encode().into())).await.expect("send");
    let (error, code) = tokio::time::timeout(WAIT, expect_error_and_close(&mut socket)).await.expect("in time");
    assert!(error.contains("Bloom filter"), "{error}");
    assert_eq!(code, Some(1002));
    assert_eq!(stored_rows(relay.data.path()), stored, "a refused message changed storage");
    assert_relay_serves(&relay, &doc, &organiser, "apres_bloom").await;
    relay.stop().await;
}
